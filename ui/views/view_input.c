/* View 8, Input: the preprocessed input tensor turned back into a picture (mean,
 * std, scale and channel order undone) next to the preprocessing that made it.
 * It shows what the net sees, not the original image file. */
#include "core.h"
#include "teach.h"

#include <stdio.h>

static int all_equal(const float *v, float x)
{
    return v[0] == x && v[1] == x && v[2] == x;
}

/* The preprocessing as a formula in the spec's own terms: 0..255 pixels
 * minus a mean, or 0..1 pixels normalised by mean and std, or in general. */
static void formula(const ax_preprocess *p, char *buf, size_t size)
{
    int no_std = all_equal(p->std, 1.0f), no_mean = all_equal(p->mean, 0.0f);
    double s = p->scale > 0 ? p->scale : 255.0;
    char px[48];
    if (s == 255.0) snprintf(px, sizeof px, "pixel[c]");
    else if (s == 1.0) snprintf(px, sizeof px, "pixel[c] / 255");
    else snprintf(px, sizeof px, "pixel[c] / 255 * %g", s);
    char unit[64];
    if (s == 255.0) snprintf(unit, sizeof unit, "pixel in 0..255");
    else snprintf(unit, sizeof unit, "pixel in 0..255, scaled to 0..%g", s);
    if (no_mean && no_std) snprintf(buf, size, "x[c] = %s   (%s)", px, unit);
    else if (no_std) snprintf(buf, size, "x[c] = %s - mean[c]   (%s)", px, unit);
    else if (no_mean) snprintf(buf, size, "x[c] = %s / std[c]   (%s)", px, unit);
    else snprintf(buf, size, "x[c] = (%s - mean[c]) / std[c]   (%s)", px, unit);
}

static const char *resize_text(const ax_preprocess *p, char *buf, size_t size)
{
    switch (p->resize_mode) {
    case AX_RESIZE_SHORT: snprintf(buf, size, "shorter side to %d (aspect kept)", p->resize_w); break;
    case AX_RESIZE_EXACT: snprintf(buf, size, "to %dx%d exactly", p->resize_w, p->resize_h); break;
    default: snprintf(buf, size, "none"); break;
    }
    return buf;
}

/* Undoes the normalisation of net channel c: back to 0..255. */
static double pixel_of(const ax_preprocess *p, int c, float x)
{
    double s = p->scale > 0 ? p->scale : 255.0;
    return ((double)x * p->std[c] + p->mean[c]) * 255.0 / s;
}

static unsigned char clamp255(double v)
{
    return (unsigned char)(v < 0 ? 0 : v > 255 ? 255 : v + 0.5);
}

/* Box-filtered picture of (3, H, W) into rows x cols cells, two pixels a cell. */
static void picture(ax_ui *u, int y, int x, int rows, int cols, const float *img, int H, int W)
{
    const ax_preprocess *p = &u->net->spec.pre;
    int prow = 2 * rows;
    size_t plane = (size_t)H * W;
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++) {
            unsigned char px[2][3];
            int x0 = (int)((long)c * W / cols), x1 = (int)((long)(c + 1) * W / cols);
            if (x1 <= x0) x1 = x0 + 1;
            for (int half = 0; half < 2; half++) {
                int pr = 2 * r + half;
                int y0 = (int)((long)pr * H / prow), y1 = (int)((long)(pr + 1) * H / prow);
                if (y1 <= y0) y1 = y0 + 1;
                for (int d = 0; d < 3; d++) {
                    int nc = p->bgr ? 2 - d : d;
                    const float *pl = img + nc * plane;
                    double sum = 0;
                    for (int yy = y0; yy < y1; yy++)
                        for (int xx = x0; xx < x1; xx++) sum += pl[(size_t)yy * W + xx];
                    px[half][d] = clamp255(pixel_of(p, nc, (float)(sum / ((y1 - y0) * (x1 - x0)))));
                }
            }
            ax_ui_rgb_cell(u, y + r, x + c, px[0], px[1]);
        }
}

static void draw(ax_ui *u, ax_rect r)
{
    const ax_tensor *t = &u->net->input;
    const ax_preprocess *p = &u->net->spec.pre;
    int N, C, H, W;
    ax_tensor_nchw(t, &N, &C, &H, &W);
    const float *data = ax_ui_data(u, -1);
    if (N > 1)
        ax_ui_title(u, r, "Input", "image %d of %d, %dx%dx%d as the net sees it", u->image + 1, N, C, H, W);
    else
        ax_ui_title(u, r, "Input", "%dx%dx%d as the net sees it", C, H, W);
    int x0 = r.x + 1, w = r.w - 2, y = r.y + 1;
    char rs[80];
    if (u->cfg->image_path) {
        y = ax_ui_kv(u, y, x0, w, "image", "%s", u->cfg->image_path);
        y = ax_ui_kv(u, y, x0, w, "preprocess", "%s", ax_preprocess_name(p, p->crop_h, p->crop_w));
        y = ax_ui_kv(u, y, x0, w, "resize", "%s, then centre crop %dx%d", resize_text(p, rs, sizeof rs), p->crop_w,
                     p->crop_h);
    } else {
        y = ax_ui_kv(u, y, x0, w, "tensor", "%s (exact)", u->cfg->input_path ? u->cfg->input_path : "?");
        y = ax_ui_kv(u, y, x0, w, "resize", "none: the tensor is used as given; the picture assumes the model's "
                     "normalisation below");
    }
    y = ax_ui_kv(u, y, x0, w, "channels", "%s, pixel values scaled to 0..%g",
                 p->bgr ? "BGR (channel 0 is blue)" : "RGB", p->scale);
    y = ax_ui_kv(u, y, x0, w, "normalise", "mean (%g, %g, %g), std (%g, %g, %g) in the net's channel order",
                 p->mean[0], p->mean[1], p->mean[2], p->std[0], p->std[1], p->std[2]);
    char f[160];
    formula(p, f, sizeof f);
    y = ax_ui_kv(u, y, x0, w, "formula", "%s", f);
    if (C != 3) {
        ax_layer_cache *lc = ax_ui_cache(u, -1);
        if (!lc) return;
        int rows, cols;
        ax_ui_fit(ax_ui_heat_on(u), H, W, r.y + r.h - y - 2, w, &rows, &cols);
        ax_ui_heat_map(u, y + 1, x0, rows, cols, data, H, W, lc->ch[0].min, lc->ch[0].max);
        ax_ui_put(u, r.y + r.h - 1, x0, w, AX_R_DIM, "not three channels: channel 0 shown as a heatmap");
        return;
    }
    int avail = r.y + r.h - y - 2, rows, cols;   /* a line below for the receptive field */
    int colour = u->colour && u->cube;
    ax_ui_fit(1, H, W, avail, w, &rows, &cols);
    if (colour) {
        picture(u, y + 1, x0, rows, cols, data, H, W);
        ax_ui_teach_input_overlay(u, y + 1, x0, rows, cols, H, W, 1, w);
        return;
    }
    /* no colours: luminance on the ASCII ramp, two columns per pixel */
    ax_ui_fit(0, H, W, avail, w, &rows, &cols);
    float *lum = ax_ui_fbuf(u, (size_t)H * W);
    if (!lum) return;
    size_t plane = (size_t)H * W;
    static const double wts[3] = { 0.2126, 0.7152, 0.0722 };
    for (size_t i = 0; i < plane; i++) {
        double v = 0;
        for (int d = 0; d < 3; d++) {
            int nc = p->bgr ? 2 - d : d;
            v += wts[d] * pixel_of(p, nc, data[nc * plane + i]);
        }
        lum[i] = (float)v;
    }
    ax_ui_heat_map(u, y + 1, x0, rows, cols, lum, H, W, 0.0f, 255.0f);
    ax_ui_teach_input_overlay(u, y + 1, x0, rows, cols, H, W, 0, w);
}

static const ax_key keys[] = {
    { .codes = { 0 }, .keys = "< >", .what = "previous / next image of a batch", .bar = "< > image" },
    { .codes = { 0 }, .keys = "Up Down Home End", .what = "previous / next / first / last layer", .bar = "Up/Down layer" },
    { .codes = { 'h', 'j', 'k', 'l' }, .keys = "h j k l", .what = "move the cell whose receptive field is boxed",
      .fn = ax_ui_teach_input_move, .bar = "h j k l cell" },
    { .codes = { 'b' }, .keys = "b", .what = "blend a channel over the image", .fn = ax_ui_teach_input_blend,
      .bar = "b blend" },
    { .codes = { '[', ']' }, .keys = "[ ]", .what = "which channel is blended", .fn = ax_ui_teach_input_move,
      .bar = "[ ] channel" },
    { .codes = { 0 }, .keys = NULL },
};

const ax_view ax_view_input = {
    .name = "Input", .draw = draw, .keys = keys, .state = sizeof(ax_ui_input_state),
};
