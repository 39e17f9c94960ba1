/* The named preprocessings (--preprocess caffe|torchvision|zoo|none) for a
 * net's input size, the name a spec's preprocessing goes by, and the line
 * that describes it. Values only: image.c makes the input from them. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "alexscope/image.h"

static const char *const names[] = {"caffe", "torchvision", "zoo", "none"};

const char *ax_preprocess_names(void)
{
    return "caffe|torchvision|zoo|none";
}

int ax_preprocess_preset(ax_preprocess *p, const char *name, int in_h, int in_w)
{
    static const float imagenet_mean[3] = {0.485f, 0.456f, 0.406f}, imagenet_std[3] = {0.229f, 0.224f, 0.225f};
    ax_preprocess q;
    memset(&q, 0, sizeof q);
    q.crop_h = in_h;
    q.crop_w = in_w;
    for (int c = 0; c < 3; c++) q.std[c] = 1.0f;
    if (!strcmp(name, "caffe")) {
        /* Caffe's deploy: the 256x256 image of its training set, centre crop;
         * BGR 0..255 minus the ILSVRC 2012 mean (104, 117, 123) */
        q.resize_mode = AX_RESIZE_EXACT;
        q.resize_h = in_h > 256 ? in_h : 256;
        q.resize_w = in_w > 256 ? in_w : 256;
        q.bgr = 1;
        q.scale = 255.0f;
        q.mean[0] = 104.0f, q.mean[1] = 117.0f, q.mean[2] = 123.0f;
    } else if (!strcmp(name, "zoo")) {
        /* the ONNX model zoo's bvlcalexnet and caffenet: the whole image to
         * the input size, no crop, BGR 0..255 minus B 103.939, G 116.779, R 123.68 */
        q.resize_mode = AX_RESIZE_EXACT;
        q.resize_h = in_h;
        q.resize_w = in_w;
        q.bgr = 1;
        q.scale = 255.0f;
        q.mean[0] = 103.939f, q.mean[1] = 116.779f, q.mean[2] = 123.68f;
    } else if (!strcmp(name, "torchvision")) {
        /* shorter side 256 for a 224 crop (in proportion for other sizes),
         * RGB 0..1, ImageNet's mean and std */
        int side = in_h < in_w ? in_h : in_w;
        q.resize_mode = AX_RESIZE_SHORT;
        q.resize_w = q.resize_h = (int)lround(side * 256.0 / 224.0);
        q.scale = 1.0f;
        memcpy(q.mean, imagenet_mean, sizeof q.mean);
        memcpy(q.std, imagenet_std, sizeof q.std);
    } else if (!strcmp(name, "none")) {
        /* the image resized to the input, RGB 0..1, nothing subtracted */
        q.resize_mode = AX_RESIZE_EXACT;
        q.resize_h = in_h;
        q.resize_w = in_w;
        q.scale = 1.0f;
    } else {
        return -1;
    }
    *p = q;
    return 0;
}

static int close_to(float a, float b)
{
    return fabsf(a - b) <= 1e-5f * (fabsf(b) > 1.0f ? fabsf(b) : 1.0f);
}

const char *ax_preprocess_name(const ax_preprocess *p, int in_h, int in_w)
{
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        ax_preprocess q;
        ax_preprocess_preset(&q, names[k], in_h, in_w);
        int same = q.resize_mode == p->resize_mode && q.crop_w == p->crop_w && q.crop_h == p->crop_h &&
                   q.bgr == p->bgr && close_to(p->scale, q.scale);
        /* a crop as large as an exact resize is no crop: resize=224x224 crop=224 */
        if (same && q.resize_mode == AX_RESIZE_EXACT) same = q.resize_w == p->resize_w && q.resize_h == p->resize_h;
        if (same && q.resize_mode == AX_RESIZE_SHORT) same = q.resize_w == p->resize_w;
        for (int c = 0; same && c < 3; c++) same = close_to(p->mean[c], q.mean[c]) && close_to(p->std[c], q.std[c]);
        if (same) return names[k];
    }
    return "custom";
}

char *ax_preprocess_text(char *buf, size_t size, const ax_preprocess *p)
{
    char rs[64], norm[160];
    int whole = p->resize_mode == AX_RESIZE_EXACT && p->resize_w == p->crop_w && p->resize_h == p->crop_h;
    if (p->resize_mode == AX_RESIZE_NONE) snprintf(rs, sizeof rs, "no resize, centre crop %dx%d", p->crop_w, p->crop_h);
    else if (whole) snprintf(rs, sizeof rs, "the whole image resized to %dx%d, no crop", p->resize_w, p->resize_h);
    else if (p->resize_mode == AX_RESIZE_EXACT)
        snprintf(rs, sizeof rs, "resized to %dx%d, centre crop %dx%d", p->resize_w, p->resize_h, p->crop_w, p->crop_h);
    else snprintf(rs, sizeof rs, "shorter side resized to %d, centre crop %dx%d", p->resize_w, p->crop_w, p->crop_h);
    int no_mean = p->mean[0] == 0 && p->mean[1] == 0 && p->mean[2] == 0;
    int no_std = p->std[0] == 1 && p->std[1] == 1 && p->std[2] == 1;
    size_t n = (size_t)snprintf(norm, sizeof norm, "%s", "");
    if (!no_mean)
        n += (size_t)snprintf(norm + n, sizeof norm - n, ", minus mean (%g, %g, %g)", p->mean[0], p->mean[1], p->mean[2]);
    if (!no_std && n < sizeof norm)
        snprintf(norm + n, sizeof norm - n, ", divided by std (%g, %g, %g)", p->std[0], p->std[1], p->std[2]);
    char scale[32];
    if (p->scale == 255.0f) snprintf(scale, sizeof scale, "0..255");
    else if (p->scale == 1.0f) snprintf(scale, sizeof scale, "0..1");
    else snprintf(scale, sizeof scale, "0..%g", p->scale);
    snprintf(buf, size, "%s, %s, %s%s", rs, p->bgr ? "BGR" : "RGB", scale, norm);
    return buf;
}

char *ax_preprocess_line(char *buf, size_t size, const ax_preprocess *p)
{
    char rs[40];
    if (p->resize_mode == AX_RESIZE_NONE) snprintf(rs, sizeof rs, "none");
    else if (p->resize_mode == AX_RESIZE_SHORT) snprintf(rs, sizeof rs, "%d", p->resize_w);
    else snprintf(rs, sizeof rs, "%dx%d", p->resize_h, p->resize_w);
    snprintf(buf, size, "resize=%s crop=%dx%d order=%s scale=%.9g mean=%.9g,%.9g,%.9g std=%.9g,%.9g,%.9g", rs,
             p->crop_h, p->crop_w, p->bgr ? "bgr" : "rgb", p->scale, p->mean[0], p->mean[1], p->mean[2], p->std[0],
             p->std[1], p->std[2]);
    return buf;
}
