/* Check suite "image": image decoding, bilinear resize, the preprocessing
 * pipeline (resize, centre crop, channel order, mean/std), .npy inputs and
 * label lists. Expected numbers are worked out independently of src/image.c. */
#include "check_util.h"

#include "alexscope/image.h"
#include "alexscope/weights.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define STB_IMAGE_WRITE_IMPLEMENTATION
#if defined(__has_include) && !__has_include(<stb_image_write.h>)
#include <stb/stb_image_write.h>
#else
#include <stb_image_write.h>
#endif

/* ---- helpers ----------------------------------------------------------- */

static const char *src_path(const char *rel)
{
    static char buf[4][4096];
    static int next;
    const char *root = getenv("AX_SRCDIR");
    char *s = buf[next++ % 4];
    snprintf(s, sizeof buf[0], "%s/%s", root && *root ? root : ".", rel);
    return s;
}

/* A private temp folder per test; files are removed by tmp_cleanup. */
typedef struct {
    char dir[256];
    char files[16][512];
    int nfiles;
} tmpdir;

static void tmp_init(tmpdir *t)
{
    memset(t, 0, sizeof *t);
    snprintf(t->dir, sizeof t->dir, "/tmp/ax_check_image_XXXXXX");
    ck_assert_msg(mkdtemp(t->dir) != NULL, "mkdtemp failed");
}

static const char *tmp_file(tmpdir *t, const char *name)
{
    ck_assert_int_lt(t->nfiles, 16);
    char dir[sizeof t->dir];
    memcpy(dir, t->dir, sizeof dir);
    char *p = t->files[t->nfiles++];
    snprintf(p, sizeof t->files[0], "%s/%s", dir, name);
    return p;
}

static void tmp_cleanup(tmpdir *t)
{
    for (int i = 0; i < t->nfiles; i++) unlink(t->files[i]);
    rmdir(t->dir);
}

static void write_bytes(const char *path, const void *data, size_t n)
{
    FILE *fp = fopen(path, "wb");
    ck_assert_msg(fp != NULL, "cannot create %s", path);
    ck_assert_uint_eq(fwrite(data, 1, n, fp), n);
    fclose(fp);
}

static unsigned char *read_bytes(const char *path, size_t *n)
{
    FILE *fp = fopen(path, "rb");
    ck_assert_msg(fp != NULL, "cannot open %s", path);
    fseek(fp, 0, SEEK_END);
    long size = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    unsigned char *buf = malloc((size_t)size);
    ck_assert_ptr_nonnull(buf);
    ck_assert_uint_eq(fread(buf, 1, (size_t)size, fp), (size_t)size);
    fclose(fp);
    *n = (size_t)size;
    return buf;
}

/* A spec with only what preprocessing reads. */
static ax_spec small_spec(ax_resize_mode mode, int rw, int rh, int cw, int ch, int bgr,
                          float scale, const float mean[3], const float sd[3])
{
    ax_spec s;
    memset(&s, 0, sizeof s);
    snprintf(s.name, sizeof s.name, "test-spec");
    s.in_c = 3; s.in_h = ch; s.in_w = cw;
    s.pre.resize_mode = mode;
    s.pre.resize_w = rw; s.pre.resize_h = rh;
    s.pre.crop_w = cw; s.pre.crop_h = ch;
    s.pre.bgr = bgr;
    s.pre.scale = scale;
    for (int c = 0; c < 3; c++) { s.pre.mean[c] = mean[c]; s.pre.std[c] = sd[c]; }
    return s;
}

static const float zero3[3] = { 0, 0, 0 }, one3[3] = { 1, 1, 1 };

/* Reference bilinear resize written as a normalised triangle filter: output
 * pixel i is centred at (i + 0.5) * src/dst - 0.5 in source index units, and
 * source pixel j has weight max(0, 1 - |j - centre|), summed over in-range j only
 * (which is what clamping the edges means). Only j within 1 of the centre
 * can have a weight, so the loops look at those alone. */
static void naive_resize(float *dst, int dw, int dh, const unsigned char *src, int sw, int sh)
{
    for (int y = 0; y < dh; y++) {
        double cy = (y + 0.5) * sh / dh - 0.5;
        for (int x = 0; x < dw; x++) {
            double cx = (x + 0.5) * sw / dw - 0.5;
            for (int c = 0; c < 3; c++) {
                double acc = 0, wsum = 0;
                for (int j = (int)floor(cy) - 1; j <= (int)floor(cy) + 2; j++) {
                    double wy = 1.0 - fabs(j - cy);
                    if (j < 0 || j >= sh || wy <= 0) continue;
                    for (int i = (int)floor(cx) - 1; i <= (int)floor(cx) + 2; i++) {
                        if (i < 0 || i >= sw) continue;
                        double wx = 1.0 - fabs(i - cx);
                        if (wx <= 0) continue;
                        acc += wy * wx * src[((size_t)j * sw + i) * 3 + c];
                        wsum += wy * wx;
                    }
                }
                dst[((size_t)y * dw + x) * 3 + c] = (float)(acc / wsum);
            }
        }
    }
}

static unsigned char *random_rgb(int w, int h, uint64_t seed)
{
    float *f = malloc((size_t)w * h * 3 * sizeof *f);
    unsigned char *p = malloc((size_t)w * h * 3);
    ax_fill_uniform(f, (size_t)w * h * 3, 0.0f, 256.0f, seed);
    for (size_t i = 0; i < (size_t)w * h * 3; i++) p[i] = (unsigned char)f[i];
    free(f);
    return p;
}

/* ---- loading ----------------------------------------------------------- */

START_TEST(test_load_samples)
{
    static const struct { const char *file; int w, h; } samples[] = {
        { "samples/chelsea.png", 451, 300 },
        { "samples/coffee.png", 480, 320 },
        { "samples/astronaut.png", 384, 384 },
        { "samples/rocket.jpg", 640, 427 },
    };
    for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++) {
        ax_image img;
        ax_error err = { 0 };
        const char *path = src_path(samples[i].file);
        ax_status st = ax_image_load(&img, path, &err);
        ck_assert_msg(st == AX_OK, "%s: %s", path, err.msg);
        ck_assert_int_eq(img.w, samples[i].w);
        ck_assert_int_eq(img.h, samples[i].h);
        ck_assert_ptr_nonnull(img.rgb);
        /* a photo, not a flat or blank buffer: the channels differ somewhere */
        size_t n = (size_t)img.w * img.h, differ = 0;
        for (size_t k = 0; k < n; k++)
            differ += img.rgb[3 * k] != img.rgb[3 * k + 2];
        ck_assert_msg(differ > n / 10, "%s: looks grey (%zu of %zu pixels)", path, differ, n);
        ax_image_free(&img);
        ck_assert_ptr_null(img.rgb);
    }
}
END_TEST

/* Encodes known pixels as PNG, BMP and binary PPM, grey PNG too, and reads
 * them back: lossless formats must give the exact bytes. */
START_TEST(test_load_roundtrip)
{
    tmpdir t;
    tmp_init(&t);
    enum { W = 5, H = 3 };
    unsigned char px[W * H * 3], grey[W * H];
    for (int i = 0; i < W * H * 3; i++) px[i] = (unsigned char)(i * 17 + 3);
    for (int i = 0; i < W * H; i++) grey[i] = (unsigned char)(i * 11);

    const char *png = tmp_file(&t, "a.png"), *bmp = tmp_file(&t, "a.bmp");
    const char *ppm = tmp_file(&t, "a.ppm"), *gpng = tmp_file(&t, "grey.png");
    ck_assert(stbi_write_png(png, W, H, 3, px, W * 3));
    ck_assert(stbi_write_bmp(bmp, W, H, 3, px));
    ck_assert(stbi_write_png(gpng, W, H, 1, grey, W));
    char head[32];
    int hl = snprintf(head, sizeof head, "P6\n%d %d\n255\n", W, H);
    unsigned char ppm_bytes[64 + W * H * 3];
    memcpy(ppm_bytes, head, (size_t)hl);
    memcpy(ppm_bytes + hl, px, sizeof px);
    write_bytes(ppm, ppm_bytes, (size_t)hl + sizeof px);

    const char *rgb_files[] = { png, bmp, ppm };
    for (int f = 0; f < 3; f++) {
        ax_image img;
        ax_error err = { 0 };
        ck_assert_msg(ax_image_load(&img, rgb_files[f], &err) == AX_OK, "%s", err.msg);
        ck_assert_int_eq(img.w, W);
        ck_assert_int_eq(img.h, H);
        ck_assert_msg(memcmp(img.rgb, px, sizeof px) == 0, "%s: pixels differ", rgb_files[f]);
        ax_image_free(&img);
    }
    ax_image img;
    ax_error err = { 0 };
    ck_assert_msg(ax_image_load(&img, gpng, &err) == AX_OK, "%s", err.msg);
    for (int i = 0; i < W * H; i++)
        for (int c = 0; c < 3; c++)
            ck_assert_int_eq(img.rgb[i * 3 + c], grey[i]);
    ax_image_free(&img);
    tmp_cleanup(&t);
}
END_TEST

/* The one list of image names (ax_image_name_ok, ax_image_list_dir, used by
 * diff, maxact and train): a file of each listed extension holding an image
 * in that format decodes, other names are left out, and the folder comes
 * back sorted by name. */
START_TEST(test_list_images)
{
    tmpdir t;
    tmp_init(&t);
    enum { W = 4, H = 3 };
    unsigned char px[W * H * 3];
    for (int i = 0; i < W * H * 3; i++) px[i] = (unsigned char)(i * 19 + 5);
    ck_assert(stbi_write_png(tmp_file(&t, "b.png"), W, H, 3, px, W * 3));
    ck_assert(stbi_write_png(tmp_file(&t, "a.PNG"), W, H, 3, px, W * 3));
    ck_assert(stbi_write_jpg(tmp_file(&t, "c.jpg"), W, H, 3, px, 90));
    ck_assert(stbi_write_jpg(tmp_file(&t, "d.jpeg"), W, H, 3, px, 90));
    ck_assert(stbi_write_jpg(tmp_file(&t, "e.jpe"), W, H, 3, px, 90));
    ck_assert(stbi_write_bmp(tmp_file(&t, "f.bmp"), W, H, 3, px));
    size_t gn = 0;
    unsigned char *gif = read_bytes(src_path("tests/fuzz/corpus/image/tiny.gif"), &gn);
    write_bytes(tmp_file(&t, "g.gif"), gif, gn);
    free(gif);
    char head[32];
    unsigned char pnm[64 + W * H * 3];
    int hl = snprintf(head, sizeof head, "P6\n%d %d\n255\n", W, H);
    memcpy(pnm, head, (size_t)hl);
    memcpy(pnm + hl, px, sizeof px);
    write_bytes(tmp_file(&t, "h.ppm"), pnm, (size_t)hl + sizeof px);
    write_bytes(tmp_file(&t, "j.pnm"), pnm, (size_t)hl + sizeof px);
    hl = snprintf(head, sizeof head, "P5\n%d %d\n255\n", W, H);
    memcpy(pnm, head, (size_t)hl);
    memcpy(pnm + hl, px, W * H);
    write_bytes(tmp_file(&t, "i.pgm"), pnm, (size_t)hl + W * H);
    /* left out: formats the reader does not decode, other files, hidden ones */
    const char *others[] = { "k.tga", "l.psd", "m.txt", "n", ".hidden.png", "o.png.bak" };
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) write_bytes(tmp_file(&t, others[i]), "x", 1);

    char **files = NULL;
    int count = 0;
    ax_error err = { 0 };
    ck_assert_msg(ax_image_list_dir(&files, &count, t.dir, &err) == AX_OK, "%s", err.msg);
    const char *want[] = { "a.PNG", "b.png", "c.jpg", "d.jpeg", "e.jpe", "f.bmp", "g.gif", "h.ppm", "i.pgm", "j.pnm" };
    ck_assert_int_eq(count, (int)(sizeof want / sizeof want[0]));
    for (int i = 0; i < count; i++) {
        char path[600];
        snprintf(path, sizeof path, "%s/%s", t.dir, want[i]);
        ck_assert_str_eq(files[i], path);
        ck_assert(ax_image_name_ok(files[i]));
        ax_image img;
        ck_assert_msg(ax_image_load(&img, files[i], &err) == AX_OK, "a listed %s does not decode: %s", want[i], err.msg);
        ax_image_free(&img);
    }
    ax_image_list_free(files, count);
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++)
        ck_assert_msg(!ax_image_name_ok(others[i]), "%s is taken as an image name", others[i]);
    ck_assert(ax_image_name_ok("DIR/x.JPEG") && !ax_image_name_ok("a.png/.b.png"));
    for (int i = 0; i < t.nfiles; i++) unlink(t.files[i]);

    /* an empty folder names itself and the list; a missing one says why */
    ck_assert_int_eq(ax_image_list_dir(&files, &count, t.dir, &err), AX_ERR_MISSING);
    ck_assert_msg(strstr(err.msg, t.dir) && strstr(err.msg, ax_image_exts()), "%s", err.msg);
    ck_assert_ptr_null(files);
    ck_assert_int_eq(count, 0);
    rmdir(t.dir);
    ck_assert_int_eq(ax_image_list_dir(&files, &count, t.dir, &err), AX_ERR_IO);
    ck_assert_msg(strstr(err.msg, "cannot read the folder"), "%s", err.msg);
    t.nfiles = 0;
}
END_TEST

static void expect_load_error(const char *path, ax_status want)
{
    ax_image img;
    memset(&img, 0x5a, sizeof img);
    ax_error err = { 0 };
    ax_status st = ax_image_load(&img, path, &err);
    ck_assert_msg(st == want, "%s: got %s (%s), expected %s", path, ax_status_name(st), err.msg,
                  ax_status_name(want));
    ck_assert_int_eq(err.code, want);
    ck_assert_msg(strstr(err.msg, path) != NULL, "message does not name %s: %s", path, err.msg);
    ck_assert_ptr_null(img.rgb);
    ck_assert_int_eq(img.w, 0);
    ax_image_free(&img);   /* harmless on a failed load */
}

START_TEST(test_load_errors)
{
    size_t n;
    unsigned char *bytes = read_bytes(src_path("samples/chelsea.png"), &n);
    tmpdir t;
    tmp_init(&t);
    const char *missing = tmp_file(&t, "no-such-image.png");
    expect_load_error(missing, AX_ERR_IO);

    const char *text = tmp_file(&t, "notes.png");
    const char *words = "this is a text file, not a picture\n";
    write_bytes(text, words, strlen(words));
    expect_load_error(text, AX_ERR_FORMAT);

    const char *empty = tmp_file(&t, "empty.jpg");
    write_bytes(empty, "", 0);
    expect_load_error(empty, AX_ERR_FORMAT);

    /* A real PNG cut short: the header survives, the pixel data does not. */
    const char *cut = tmp_file(&t, "cut.png");
    write_bytes(cut, bytes, n / 3);
    expect_load_error(cut, AX_ERR_FORMAT);
    const char *header_only = tmp_file(&t, "header-only.png");
    write_bytes(header_only, bytes, 40);
    expect_load_error(header_only, AX_ERR_FORMAT);
    free(bytes);

    const char *folder = t.dir;
    ax_image img;
    ax_error err = { 0 };
    ck_assert_int_ne(ax_image_load(&img, folder, &err), AX_OK);
    ck_assert_ptr_nonnull(strstr(err.msg, folder));
    tmp_cleanup(&t);
}
END_TEST

/* ---- bilinear resize --------------------------------------------------- */

START_TEST(test_resize_2x2_to_4x4)
{
    /* Channel 0 of the source is   0  40     channel 1 is 255 minus it,
     *                             80 120     channel 2 is 7 everywhere.
     * Scale 2 puts output centres at source x = (i + 0.5) / 2 - 0.5 =
     * -0.25, 0.25, 0.75, 1.25, clamped to 0, 0.25, 0.75, 1. Row 0 becomes
     * 0, 10, 30, 40 and row 1 becomes 80, 90, 110, 120; the same weights down
     * the columns mix them as 1:0, 3/4:1/4, 1/4:3/4, 0:1. */
    const unsigned char src[2 * 2 * 3] = {
        0, 255, 7,   40, 215, 7,
        80, 175, 7,  120, 135, 7,
    };
    const float want0[16] = {
        0, 10, 30, 40,
        20, 30, 50, 60,
        60, 70, 90, 100,
        80, 90, 110, 120,
    };
    float got[4 * 4 * 3], ch[3][16], want[3][16];
    ax_resize_bilinear(got, 4, 4, src, 2, 2);
    for (int i = 0; i < 16; i++) {
        for (int c = 0; c < 3; c++) ch[c][i] = got[i * 3 + c];
        want[0][i] = want0[i];
        want[1][i] = 255 - want0[i];
        want[2][i] = 7;
    }
    check_close(ch[0], want[0], 16, 0, 0, "resize 2x2->4x4 channel 0");
    check_close(ch[1], want[1], 16, 0, 0, "resize 2x2->4x4 channel 1");
    check_close(ch[2], want[2], 16, 0, 0, "resize 2x2->4x4 channel 2");
}
END_TEST

START_TEST(test_resize_identity)
{
    enum { W = 7, H = 5 };
    unsigned char *src = random_rgb(W, H, 11);
    float got[W * H * 3], want[W * H * 3];
    ax_resize_bilinear(got, W, H, src, W, H);
    for (int i = 0; i < W * H * 3; i++) want[i] = src[i];
    check_close(got, want, W * H * 3, 0, 0, "resize to the same size");
    free(src);
}
END_TEST

START_TEST(test_resize_vs_naive)
{
    static const int cases[][4] = {   /* sw, sh, dw, dh */
        { 5, 3, 11, 7 }, { 9, 8, 4, 3 }, { 1, 1, 3, 2 }, { 6, 1, 13, 4 },
        { 31, 17, 31, 40 }, { 40, 30, 227, 227 }, { 451, 300, 256, 256 },
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        int sw = cases[k][0], sh = cases[k][1], dw = cases[k][2], dh = cases[k][3];
        unsigned char *src = random_rgb(sw, sh, 100 + k);
        size_t n = (size_t)dw * dh * 3;
        float *got = malloc(n * sizeof *got), *want = malloc(n * sizeof *want);
        ax_resize_bilinear(got, dw, dh, src, sw, sh);
        naive_resize(want, dw, dh, src, sw, sh);
        char label[64];
        snprintf(label, sizeof label, "resize %dx%d->%dx%d", sw, sh, dw, dh);
        check_close(got, want, n, 1e-4, 1e-6, label);
        free(got); free(want); free(src);
    }
}
END_TEST

/* ---- preprocessing ----------------------------------------------------- */

/* Pixel (x, y) of the synthetic images: every channel different, every
 * value distinct enough that a wrong offset or channel shows. */
static unsigned char syn(int x, int y, int c)
{
    return (unsigned char)(c == 0 ? 10 * x + y : c == 1 ? 100 + 3 * x + 2 * y : 250 - 7 * y - x);
}

static ax_image synthetic(int w, int h)
{
    ax_image img = { w, h, malloc((size_t)w * h * 3) };
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int c = 0; c < 3; c++)
                img.rgb[((size_t)y * w + x) * 3 + c] = syn(x, y, c);
    return img;
}

START_TEST(test_preprocess_caffe_like)
{
    /* 6x4 image, EXACT resize to its own size (no interpolation), crop 4x2 at
     * offset ((6-4)/2, (4-2)/2) = (1, 1), BGR, 0..255, mean 104, 117, 123. */
    ax_image img = synthetic(6, 4);
    const float mean[3] = { 104, 117, 123 };
    ax_spec s = small_spec(AX_RESIZE_EXACT, 6, 4, 4, 2, 1, 255.0f, mean, one3);
    float got[3 * 2 * 4], want[3 * 2 * 4];
    ax_error err = { 0 };
    ck_assert_msg(ax_preprocess_image(got, &img, &s, &err) == AX_OK, "%s", err.msg);
    for (int y = 0; y < 2; y++)
        for (int x = 0; x < 4; x++) {
            want[0 * 8 + y * 4 + x] = (float)syn(x + 1, y + 1, 2) - 104;   /* blue */
            want[1 * 8 + y * 4 + x] = (float)syn(x + 1, y + 1, 1) - 117;   /* green */
            want[2 * 8 + y * 4 + x] = (float)syn(x + 1, y + 1, 0) - 123;   /* red */
        }
    check_close(got, want, 24, 0, 0, "caffe-like preprocess");
    /* spot value: blue at crop (0, 0) is source (1, 1): 250 - 7 - 1 - 104 */
    ck_assert_float_eq(got[0], 138.0f);
    free(img.rgb);
}
END_TEST

START_TEST(test_preprocess_torchvision_like)
{
    /* 8x6 image, shorter side to 6 keeps it 8x6 (int(6 * 8 / 6) = 8), crop 4x4
     * at (round(4 / 2), round(2 / 2)) = (2, 1), RGB, 0..1, ImageNet mean/std. */
    ax_image img = synthetic(8, 6);
    const float mean[3] = { 0.485f, 0.456f, 0.406f }, sd[3] = { 0.229f, 0.224f, 0.225f };
    ax_spec s = small_spec(AX_RESIZE_SHORT, 6, 0, 4, 4, 0, 1.0f, mean, sd);
    float got[3 * 16], want[3 * 16];
    ax_error err = { 0 };
    ck_assert_msg(ax_preprocess_image(got, &img, &s, &err) == AX_OK, "%s", err.msg);
    for (int c = 0; c < 3; c++)
        for (int y = 0; y < 4; y++)
            for (int x = 0; x < 4; x++)
                want[c * 16 + y * 4 + x] =
                    (float)((syn(x + 2, y + 1, c) / 255.0 - mean[c]) / sd[c]);
    check_close(got, want, 48, 1e-6, 1e-6, "torchvision-like preprocess");
    /* spot value: red at crop (0, 0) is source (2, 1) = 21, and
     * (21/255 - 0.485) / 0.229 = -1.758284 */
    ck_assert_float_eq_tol(got[0], -1.758284f, 1e-5f);
    free(img.rgb);
}
END_TEST

/* With a real resize, preprocessing is the bilinear resize followed by the crop. */
START_TEST(test_preprocess_resize_then_crop)
{
    /* landscape 12x7, shorter side to 5: width int(5 * 12 / 7) = int(8.57) = 8
     * (truncated, not rounded), so 8x5; crop 5x3 at (round(1.5), 1) = (2, 1) */
    ax_image img = { 12, 7, random_rgb(12, 7, 5) };
    ax_spec s = small_spec(AX_RESIZE_SHORT, 5, 0, 5, 3, 0, 255.0f, zero3, one3);
    float got[3 * 15], want[3 * 15], full[8 * 5 * 3];
    ax_error err = { 0 };
    ck_assert_msg(ax_preprocess_image(got, &img, &s, &err) == AX_OK, "%s", err.msg);
    naive_resize(full, 8, 5, img.rgb, 12, 7);
    for (int c = 0; c < 3; c++)
        for (int y = 0; y < 3; y++)
            for (int x = 0; x < 5; x++)
                want[c * 15 + y * 5 + x] = full[((y + 1) * 8 + (x + 2)) * 3 + c];
    check_close(got, want, 45, 1e-4, 1e-6, "short resize 12x7->8x5, crop 5x3");

    /* an 8x5 crop is the whole resized image; 9x5 does not fit */
    s = small_spec(AX_RESIZE_SHORT, 5, 0, 8, 5, 0, 255.0f, zero3, one3);
    float big[3 * 9 * 5];
    ck_assert_int_eq(ax_preprocess_image(big, &img, &s, &err), AX_OK);
    s = small_spec(AX_RESIZE_SHORT, 5, 0, 9, 5, 0, 255.0f, zero3, one3);
    ck_assert_int_eq(ax_preprocess_image(big, &img, &s, &err), AX_ERR_SHAPE);
    free(img.rgb);

    /* portrait 7x12: the width is the shorter side, the height becomes 8 */
    ax_image tall = { 7, 12, random_rgb(7, 12, 6) };
    s = small_spec(AX_RESIZE_SHORT, 5, 0, 5, 8, 0, 255.0f, zero3, one3);
    float tall_got[3 * 40], tall_want[3 * 40], tall_full[5 * 8 * 3];
    ck_assert_msg(ax_preprocess_image(tall_got, &tall, &s, &err) == AX_OK, "%s", err.msg);
    naive_resize(tall_full, 5, 8, tall.rgb, 7, 12);
    for (int c = 0; c < 3; c++)
        for (int i = 0; i < 40; i++)
            tall_want[c * 40 + i] = tall_full[i * 3 + c];
    check_close(tall_got, tall_want, 120, 1e-4, 1e-6, "short resize 7x12->5x8");
    s = small_spec(AX_RESIZE_SHORT, 5, 0, 5, 9, 0, 255.0f, zero3, one3);
    ck_assert_int_eq(ax_preprocess_image(big, &tall, &s, &err), AX_ERR_SHAPE);
    free(tall.rgb);
}
END_TEST

START_TEST(test_center_crop_offset)
{
    /* torchvision: int(round((size - crop) / 2.0)) with Python's round-half-even.
     * Offsets worked out by hand: (4-1)/2 = 1.5 -> 2, (6-1)/2 = 2.5 -> 2,
     * (8-1)/2 = 3.5 -> 4, (256-227)/2 = 14.5 -> 14, (258-227)/2 = 15.5 -> 16,
     * (5-3)/2 = 1 -> 1. The red channel holds x and green holds y, so the first
     * output values are the offsets themselves. */
    static const int cases[][3] = {   /* size, crop, offset */
        { 4, 1, 2 }, { 6, 1, 2 }, { 8, 1, 4 }, { 256, 227, 14 }, { 258, 227, 16 }, { 5, 3, 1 },
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        int size = cases[k][0], crop = cases[k][1], off = cases[k][2];
        ax_image img = { size, size, malloc((size_t)size * size * 3) };
        for (int y = 0; y < size; y++)
            for (int x = 0; x < size; x++) {
                unsigned char *p = img.rgb + ((size_t)y * size + x) * 3;
                p[0] = (unsigned char)x; p[1] = (unsigned char)y; p[2] = 0;
            }
        ax_spec s = small_spec(AX_RESIZE_NONE, 0, 0, crop, crop, 0, 255.0f, zero3, one3);
        float *out = malloc((size_t)3 * crop * crop * sizeof *out);
        ax_error err = { 0 };
        ck_assert_msg(ax_preprocess_image(out, &img, &s, &err) == AX_OK, "%s", err.msg);
        ck_assert_msg(out[0] == (float)off && out[(size_t)crop * crop] == (float)off,
                      "size %d crop %d: offset (%g, %g), expected %d", size, crop,
                      (double)out[0], (double)out[(size_t)crop * crop], off);
        /* the last column is the crop's far edge */
        ck_assert_float_eq(out[crop - 1], (float)(off + crop - 1));
        free(out);
        free(img.rgb);
    }
}
END_TEST

START_TEST(test_preprocess_errors)
{
    ax_image img = synthetic(6, 4);
    float out[3 * 8 * 8];
    ax_error err = { 0 };

    ax_spec s = small_spec(AX_RESIZE_NONE, 0, 0, 4, 2, 0, 1.0f, zero3, one3);
    s.in_c = 1;
    ck_assert_int_eq(ax_preprocess_image(out, &img, &s, &err), AX_ERR_SHAPE);
    ck_assert_ptr_nonnull(strstr(err.msg, "test-spec"));

    s = small_spec(AX_RESIZE_NONE, 0, 0, 4, 2, 0, 1.0f, zero3, one3);
    s.in_h = 3;
    ck_assert_int_eq(ax_preprocess_image(out, &img, &s, &err), AX_ERR_SHAPE);

    /* crop larger than the image after resizing */
    s = small_spec(AX_RESIZE_NONE, 0, 0, 7, 2, 0, 1.0f, zero3, one3);
    ck_assert_int_eq(ax_preprocess_image(out, &img, &s, &err), AX_ERR_SHAPE);
    ck_assert_ptr_nonnull(strstr(err.msg, "6x4"));
    s = small_spec(AX_RESIZE_EXACT, 8, 3, 8, 4, 0, 1.0f, zero3, one3);
    ck_assert_int_eq(ax_preprocess_image(out, &img, &s, &err), AX_ERR_SHAPE);

    /* but an EXACT upscale to the crop works */
    s = small_spec(AX_RESIZE_EXACT, 8, 4, 8, 4, 0, 1.0f, zero3, one3);
    ck_assert_int_eq(ax_preprocess_image(out, &img, &s, &err), AX_OK);

    const float bad_std[3] = { 1, 0, 1 };
    s = small_spec(AX_RESIZE_NONE, 0, 0, 4, 2, 0, 1.0f, zero3, bad_std);
    ck_assert_int_ne(ax_preprocess_image(out, &img, &s, &err), AX_OK);
    free(img.rgb);
}
END_TEST

/* A real photo through the caffe-shaped pipeline: finite, the right spread. */
START_TEST(test_preprocess_sample)
{
    ax_image img;
    ax_error err = { 0 };
    const char *path = src_path("samples/chelsea.png");
    ck_assert_msg(ax_image_load(&img, path, &err) == AX_OK, "%s", err.msg);
    const float mean[3] = { 104, 117, 123 };
    ax_spec s = small_spec(AX_RESIZE_EXACT, 256, 256, 227, 227, 1, 255.0f, mean, one3);
    size_t n = (size_t)3 * 227 * 227;
    float *out = malloc(n * sizeof *out);
    ck_assert_msg(ax_preprocess_image(out, &img, &s, &err) == AX_OK, "%s", err.msg);
    for (size_t i = 0; i < n; i++) {
        ck_assert_msg(isfinite(out[i]), "element %zu is %g", i, (double)out[i]);
        ck_assert_msg(out[i] >= -123.0f - 1e-3f && out[i] <= 255.0f - 104.0f + 1e-3f,
                      "element %zu = %g out of range", i, (double)out[i]);
    }
    /* the crop's corner pixel equals the full resize at (14, 14) minus the mean */
    float *full = malloc((size_t)256 * 256 * 3 * sizeof *full);
    naive_resize(full, 256, 256, img.rgb, img.w, img.h);
    float corner[3] = { out[0], out[227 * 227], out[2 * 227 * 227] };
    const float *p = full + ((size_t)14 * 256 + 14) * 3;
    float want[3] = { p[2] - 104, p[1] - 117, p[0] - 123 };
    check_close(corner, want, 3, 1e-3, 1e-6, "chelsea crop corner");
    free(full);
    free(out);
    ax_image_free(&img);
}
END_TEST

/* ---- .npy inputs ------------------------------------------------------- */

/* An .npy v1.0 file with the given header dict and raw little-endian data. */
static void write_npy_raw(const char *path, const char *dict, const void *data, size_t n)
{
    char header[256];
    size_t dl = strlen(dict);
    size_t total = 10 + dl + 1;
    size_t padded = (total + 63) / 64 * 64;
    memcpy(header, "\x93NUMPY\x01\x00", 8);
    header[8] = (char)((padded - 10) & 0xff);
    header[9] = (char)((padded - 10) >> 8);
    memcpy(header + 10, dict, dl);
    memset(header + 10 + dl, ' ', padded - total);
    header[padded - 1] = '\n';
    unsigned char *buf = malloc(padded + n);
    memcpy(buf, header, padded);
    memcpy(buf + padded, data, n);
    write_bytes(path, buf, padded + n);
    free(buf);
}

START_TEST(test_input_npy)
{
    tmpdir t;
    tmp_init(&t);
    ax_error err = { 0 };
    float x[48];
    ax_fill_uniform(x, 48, -3.0f, 3.0f, 42);

    const char *p4 = tmp_file(&t, "in4.npy");
    const int64_t shape4[4] = { 1, 3, 4, 4 };
    ck_assert_msg(ax_npy_write(p4, x, 4, shape4, &err) == AX_OK, "%s", err.msg);
    float *data = NULL;
    int n = 0, c = 0, h = 0, w = 0;
    ck_assert_msg(ax_input_npy_load(&data, &n, &c, &h, &w, p4, &err) == AX_OK, "%s", err.msg);
    ck_assert_int_eq(n, 1); ck_assert_int_eq(c, 3); ck_assert_int_eq(h, 4); ck_assert_int_eq(w, 4);
    check_close(data, x, 48, 0, 0, "(1, 3, 4, 4) npy input");
    free(data);

    /* (C, H, W) is taken as N = 1 */
    const char *p3 = tmp_file(&t, "in3.npy");
    const int64_t shape3[3] = { 3, 2, 8 };
    ck_assert_int_eq(ax_npy_write(p3, x, 3, shape3, &err), AX_OK);
    ck_assert_msg(ax_input_npy_load(&data, &n, &c, &h, &w, p3, &err) == AX_OK, "%s", err.msg);
    ck_assert_int_eq(n, 1); ck_assert_int_eq(c, 3); ck_assert_int_eq(h, 2); ck_assert_int_eq(w, 8);
    check_close(data, x, 48, 0, 0, "(3, 2, 8) npy input");
    free(data);

    /* float64 is converted */
    const char *p64 = tmp_file(&t, "in64.npy");
    double xd[48];
    float xf[48];
    for (int i = 0; i < 48; i++) { xd[i] = x[i] * 1.25; xf[i] = (float)xd[i]; }
    write_npy_raw(p64, "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3, 2, 4), }",
                  xd, sizeof xd);
    ck_assert_msg(ax_input_npy_load(&data, &n, &c, &h, &w, p64, &err) == AX_OK, "%s", err.msg);
    ck_assert_int_eq(n, 2); ck_assert_int_eq(c, 3); ck_assert_int_eq(h, 2); ck_assert_int_eq(w, 4);
    check_close(data, xf, 48, 0, 0, "float64 npy input");
    free(data);

    /* wrong number of dimensions */
    const char *p2 = tmp_file(&t, "in2.npy");
    const int64_t shape2[2] = { 3, 16 };
    ck_assert_int_eq(ax_npy_write(p2, x, 2, shape2, &err), AX_OK);
    data = (float *)&err;   /* must be reset on failure */
    ax_status st = ax_input_npy_load(&data, &n, &c, &h, &w, p2, &err);
    ck_assert_int_eq(st, AX_ERR_SHAPE);
    ck_assert_ptr_null(data);
    ck_assert_ptr_nonnull(strstr(err.msg, p2));

    /* wrong dtype: int32 */
    const char *pi = tmp_file(&t, "int.npy");
    int32_t xi[48] = { 0 };
    write_npy_raw(pi, "{'descr': '<i4', 'fortran_order': False, 'shape': (1, 3, 4, 4), }",
                  xi, sizeof xi);
    st = ax_input_npy_load(&data, &n, &c, &h, &w, pi, &err);
    ck_assert_msg(st != AX_OK, "an int32 npy was accepted");
    ck_assert_ptr_null(data);
    ck_assert_ptr_nonnull(strstr(err.msg, pi));

    /* missing file */
    const char *pm = tmp_file(&t, "missing.npy");
    ck_assert_int_eq(ax_input_npy_load(&data, &n, &c, &h, &w, pm, &err), AX_ERR_IO);
    ck_assert_ptr_nonnull(strstr(err.msg, "missing.npy"));
    tmp_cleanup(&t);
}
END_TEST

/* ---- labels ------------------------------------------------------------ */

START_TEST(test_labels_imagenet)
{
    ax_labels l;
    ax_error err = { 0 };
    const char *path = src_path("weights/imagenet_classes.txt");
    ck_assert_msg(ax_labels_load(&l, path, &err) == AX_OK, "%s", err.msg);
    ck_assert_int_eq(l.count, 1000);
    ck_assert_str_eq(ax_label(&l, 0), "tench");
    ck_assert_str_eq(ax_label(&l, 1), "goldfish");
    ck_assert_str_eq(ax_label(&l, 281), "tabby");
    ck_assert_str_eq(ax_label(&l, 285), "Egyptian cat");
    ck_assert_str_eq(ax_label(&l, 999), "toilet tissue");
    ck_assert_str_eq(ax_label(&l, 1000), "class 1000");
    ck_assert_str_eq(ax_label(&l, -1), "class -1");
    for (int i = 0; i < l.count; i++) {
        size_t len = strlen(l.names[i]);
        ck_assert_msg(len > 0 && l.names[i][len - 1] != ' ' && l.names[i][len - 1] != '\r',
                      "label %d is \"%s\"", i, l.names[i]);
    }
    ax_labels_free(&l);
    ck_assert_ptr_null(l.names);
    ck_assert_int_eq(l.count, 0);
}
END_TEST

START_TEST(test_labels_edge_cases)
{
    tmpdir t;
    tmp_init(&t);
    ax_labels l;
    ax_error err = { 0 };

    /* CRLF line ends, trailing blanks, no final newline */
    const char *crlf = tmp_file(&t, "crlf.txt");
    const char *text = "daisy\r\ndandelion  \r\nroses\t\r\nsunflowers\r\ntulips";
    write_bytes(crlf, text, strlen(text));
    ck_assert_msg(ax_labels_load(&l, crlf, &err) == AX_OK, "%s", err.msg);
    ck_assert_int_eq(l.count, 5);
    ck_assert_str_eq(ax_label(&l, 0), "daisy");
    ck_assert_str_eq(ax_label(&l, 1), "dandelion");
    ck_assert_str_eq(ax_label(&l, 2), "roses");
    ck_assert_str_eq(ax_label(&l, 4), "tulips");
    ax_labels_free(&l);

    /* blank lines at the end are not classes */
    const char *tail = tmp_file(&t, "tail.txt");
    text = "a\nb\n\n  \n";
    write_bytes(tail, text, strlen(text));
    ck_assert_msg(ax_labels_load(&l, tail, &err) == AX_OK, "%s", err.msg);
    ck_assert_int_eq(l.count, 2);
    ck_assert_str_eq(ax_label(&l, 1), "b");
    ax_labels_free(&l);

    const char *empty = tmp_file(&t, "empty.txt");
    write_bytes(empty, "\n \n", 3);
    ck_assert_int_eq(ax_labels_load(&l, empty, &err), AX_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(err.msg, empty));
    ck_assert_int_eq(l.count, 0);

    const char *missing = tmp_file(&t, "missing.txt");
    ck_assert_int_eq(ax_labels_load(&l, missing, &err), AX_ERR_IO);
    ck_assert_ptr_nonnull(strstr(err.msg, missing));

    /* no labels at all: every index falls back, and two fallbacks can be
     * used in one expression */
    ax_labels none = { 0, NULL };
    const char *a = ax_label(&none, 3), *b = ax_label(&none, 17);
    ck_assert_str_eq(a, "class 3");
    ck_assert_str_eq(b, "class 17");
    tmp_cleanup(&t);
}
END_TEST

/* ---- hostile input ----------------------------------------------------- */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

/* stb_image older than 2.28 needs the loader's guards (configure's check). */
static int stb_guarded(void)
{
#if defined(AX_STB_IMAGE_VERSION) && AX_STB_IMAGE_VERSION >= 228
    return 0;
#else
    return 1;
#endif
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* A FIFO nobody writes to: opening it for reading would block forever, so
 * every loader must refuse it at once (the suite's timeout catches a hang). */
START_TEST(test_fifo_refused)
{
    tmpdir t;
    tmp_init(&t);
    const char *fifo = tmp_file(&t, "pipe.png");
    ck_assert_int_eq(mkfifo(fifo, 0600), 0);
    ax_error err = { 0 };

    ax_image img;
    ck_assert_int_eq(ax_image_load(&img, fifo, &err), AX_ERR_IO);
    ck_assert_ptr_nonnull(strstr(err.msg, fifo));
    ck_assert_msg(strstr(err.msg, "FIFO") != NULL, "%s", err.msg);

    ax_labels l;
    ck_assert_int_eq(ax_labels_load(&l, fifo, &err), AX_ERR_IO);
    ck_assert_ptr_nonnull(strstr(err.msg, fifo));
    ck_assert_msg(strstr(err.msg, "FIFO") != NULL, "%s", err.msg);

    float *data = NULL;
    int n, c, h, w;
    ck_assert_int_eq(ax_input_npy_load(&data, &n, &c, &h, &w, fifo, &err), AX_ERR_IO);
    ck_assert_ptr_nonnull(strstr(err.msg, fifo));
    ck_assert_ptr_null(data);
    tmp_cleanup(&t);
}
END_TEST

/* The tiny flat-grey baseline JPEG of tests/fuzz/make_corpus.py, with its
 * DHT segment given by the caller (tc/th byte, 16 counts, values). */
static size_t jpeg_with_dht(unsigned char *out, const unsigned char *dht, size_t dht_len)
{
    static const unsigned char head[] = {
        0xFF, 0xD8,
        0xFF, 0xC0, 0x00, 0x0B, 8, 0x00, 0x08, 0x00, 0x08, 1, 1, 0x11, 0,   /* SOF0 8x8 grey */
    };
    static const unsigned char tail[] = {
        0xFF, 0xDA, 0x00, 0x08, 1, 1, 0x00, 0x00, 0x3F, 0x00,   /* SOS */
        0x3F, 0xFF, 0xD9,
    };
    size_t n = 0;
    memcpy(out + n, head, sizeof head);
    n += sizeof head;
    out[n++] = 0xFF;   /* DQT: all ones */
    out[n++] = 0xDB;
    out[n++] = 0;
    out[n++] = 67;
    out[n++] = 0;
    memset(out + n, 1, 64);
    n += 64;
    out[n++] = 0xFF;
    out[n++] = 0xC4;
    out[n++] = (unsigned char)((dht_len + 2) >> 8);
    out[n++] = (unsigned char)(dht_len + 2);
    memcpy(out + n, dht, dht_len);
    n += dht_len;
    memcpy(out + n, tail, sizeof tail);
    return n + sizeof tail;
}

/* stb_image 2.27 writes past its 257-entry code-size table when the 16
 * counts of a Huffman table sum past 256 (fixed in 2.28). */
START_TEST(test_jpeg_dht_overflow)
{
    unsigned char dht[2 * 18 + 17 + 300];
    size_t d = 0;
    /* a valid DC and AC table with one code each first */
    dht[d++] = 0x00; dht[d++] = 1; memset(dht + d, 0, 15); d += 15; dht[d++] = 0;
    dht[d++] = 0x10; dht[d++] = 1; memset(dht + d, 0, 15); d += 15; dht[d++] = 0;
    unsigned char good[256];
    size_t gn = jpeg_with_dht(good, dht, d);
    ax_image img;
    ax_error err = { 0 };
    ck_assert_msg(ax_image_decode(&img, good, gn, "good.jpg", &err) == AX_OK, "%s", err.msg);
    ck_assert_int_eq(img.w, 8);
    ck_assert_int_eq(img.rgb[0], 128);
    ax_image_free(&img);

    /* then an AC table whose counts sum to 300: 0 + ... + 45 (15 bits) + 255 (16 bits) */
    size_t d2 = d;
    dht[d2++] = 0x11;
    memset(dht + d2, 0, 14);
    d2 += 14;
    dht[d2++] = 45;
    dht[d2++] = 255;
    memset(dht + d2, 0, 300);
    d2 += 300;
    unsigned char *bad = malloc(d2 + 200);
    size_t bn = jpeg_with_dht(bad, dht, d2);
    ck_assert_int_ne(ax_image_decode(&img, bad, bn, "huffman.jpg", &err), AX_OK);
    ck_assert_ptr_nonnull(strstr(err.msg, "huffman.jpg"));
    if (stb_guarded()) ck_assert_msg(strstr(err.msg, "300 codes") != NULL, "%s", err.msg);
    free(bad);
}
END_TEST

/* 16-bit binary PGM: stb_image 2.27 reads past its buffer converting it
 * (CVE-2021-42716). Refused with a reason there; decoded when fixed. */
START_TEST(test_pgm_16bit)
{
    static const unsigned char pgm[] = "P5 2 1 65535\n\x12\x34\xff\xff";
    ax_image img;
    ax_error err = { 0 };
    ax_status st = ax_image_decode(&img, pgm, sizeof pgm - 1, "deep.pgm", &err);
    if (stb_guarded()) {
        ck_assert_int_eq(st, AX_ERR_UNSUPPORTED);
        ck_assert_ptr_nonnull(strstr(err.msg, "deep.pgm"));
        ck_assert_msg(strstr(err.msg, "16-bit") != NULL, "%s", err.msg);
    } else {
        ck_assert_msg(st == AX_OK, "%s", err.msg);
        ck_assert_int_eq(img.rgb[0], 0x12);
        ck_assert_int_eq(img.rgb[3], 0xff);
        ax_image_free(&img);
    }
    /* 8-bit PGM with a comment still works; a header number stb would
     * overflow is refused */
    static const unsigned char ok[] = "P5\n# two pixels\n2 1\n255\n\x00\x80";
    ck_assert_msg(ax_image_decode(&img, ok, sizeof ok - 1, "ok.pgm", &err) == AX_OK, "%s", err.msg);
    ck_assert_int_eq(img.w, 2);
    ck_assert_int_eq(img.rgb[3], 0x80);
    ax_image_free(&img);
    static const unsigned char huge[] = "P6 99999999999 1 255\n\x00\x00\x00";
    ck_assert_int_eq(ax_image_decode(&img, huge, sizeof huge - 1, "huge.ppm", &err), AX_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(err.msg, "huge.ppm"));
}
END_TEST

static void put_le16(unsigned char *p, unsigned v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
}

static void put_be32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (24 - 8 * i));
}

/* Decompression bombs: a few hundred bytes that declare a huge picture are
 * refused from the header, before anything is allocated or decoded. */
START_TEST(test_decompression_bombs)
{
    ax_image img;
    ax_error err = { 0 };
    /* GIF: a 20617x18254 logical screen holding one 1x1 frame (stb would
     * decode it, allocating the whole screen several times over) */
    unsigned char gif[] = "GIF89a\0\0\0\0\x80\x00\x00\x00\x00\x00\xff\xff\xff"
                          ",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02\x44\x01\x00;";
    size_t gn = sizeof gif - 1;
    put_le16(gif + 6, 1);
    put_le16(gif + 8, 1);
    ck_assert_msg(ax_image_decode(&img, gif, gn, "one.gif", &err) == AX_OK, "%s", err.msg);
    ax_image_free(&img);
    put_le16(gif + 6, 20617);
    put_le16(gif + 8, 18254);
    double t0 = now_s();
    ck_assert_int_eq(ax_image_decode(&img, gif, gn, "bomb.gif", &err), AX_ERR_FORMAT);
    printf("bomb.gif refused in %.3f s: %s\n", now_s() - t0, err.msg);
    ck_assert_ptr_nonnull(strstr(err.msg, "bomb.gif"));
    ck_assert_msg(strstr(err.msg, "20617x18254") && strstr(err.msg, "Mpixel"), "%s", err.msg);

    /* PNG: the IHDR of an 18000x18000 greyscale picture */
    unsigned char png[8 + 25] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R' };
    put_be32(png + 16, 18000);
    put_be32(png + 20, 18000);
    png[24] = 8;   /* depth; colour type, compression, filter, interlace 0 */
    uint32_t crc = 0xffffffffu;   /* CRC-32 of type and data */
    for (int i = 12; i < 29; i++) {
        crc ^= png[i];
        for (int k = 0; k < 8; k++) crc = crc >> 1 ^ (0xedb88320u & -(crc & 1));
    }
    put_be32(png + 29, ~crc);
    ck_assert_int_eq(ax_image_decode(&img, png, sizeof png, "bomb.png", &err), AX_ERR_FORMAT);
    ck_assert_msg(strstr(err.msg, "bomb.png") && strstr(err.msg, "18000x18000"), "%s", err.msg);

    /* just past the limit in one side: 8192 x 8193 */
    put_be32(png + 16, 8192);
    put_be32(png + 20, 8193);
    crc = 0xffffffffu;
    for (int i = 12; i < 29; i++) {
        crc ^= png[i];
        for (int k = 0; k < 8; k++) crc = crc >> 1 ^ (0xedb88320u & -(crc & 1));
    }
    put_be32(png + 29, ~crc);
    ck_assert_int_eq(ax_image_decode(&img, png, sizeof png, "edge.png", &err), AX_ERR_FORMAT);
    ck_assert_msg(strstr(err.msg, "Mpixel"), "%s", err.msg);
}
END_TEST

/* Label lists: a size limit checked before reading (a sparse file costs
 * nothing to make), devices refused, and no stale errno in the message. */
START_TEST(test_labels_hostile)
{
    tmpdir t;
    tmp_init(&t);
    ax_labels l;
    ax_error err = { 0 };
    const char *big = tmp_file(&t, "big.txt");
    FILE *fp = fopen(big, "wb");
    ck_assert_ptr_nonnull(fp);
    ck_assert_int_eq(ftruncate(fileno(fp), (off_t)AX_LABELS_MAX_BYTES + 1), 0);
    fclose(fp);
    ck_assert_int_eq(ax_labels_load(&l, big, &err), AX_ERR_FORMAT);
    ck_assert_msg(strstr(err.msg, big) && strstr(err.msg, "at most"), "%s", err.msg);

    ck_assert_int_eq(ax_labels_load(&l, "/dev/zero", &err), AX_ERR_IO);
    ck_assert_msg(strstr(err.msg, "/dev/zero") && strstr(err.msg, "character device"), "%s", err.msg);
    ck_assert_msg(!strstr(err.msg, "Inappropriate ioctl"), "%s", err.msg);

    ck_assert_int_eq(ax_labels_load(&l, t.dir, &err), AX_ERR_IO);
    ck_assert_msg(strstr(err.msg, "directory"), "%s", err.msg);
    ck_assert_msg(!strstr(err.msg, "Inappropriate ioctl"), "%s", err.msg);

    /* the in-memory parser agrees with the file loader */
    ck_assert_int_eq(ax_labels_parse(&l, "x\ny\n", 4, "mem", &err), AX_OK);
    ck_assert_int_eq(l.count, 2);
    ck_assert_str_eq(ax_label(&l, 1), "y");
    ax_labels_free(&l);
    tmp_cleanup(&t);
}
END_TEST

/* Found by fuzzing: a 124-byte PNG whose chunk lengths lie made stb_image
 * reserve 2 GiB before finding the data missing; every stb allocation is
 * now capped by what an image within the pixel limit can need. */
START_TEST(test_png_chunk_length_lie)
{
    static const unsigned char png[] = {
        0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d,
        0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x02,
        0x08, 0x02, 0x00, 0x00, 0x00, 0xfd, 0xd4, 0x9a, 0x73, 0x00, 0x00, 0x00,
        0x16, 0x49, 0x44, 0x41, 0x54, 0x78, 0x30, 0x9c, 0x00, 0x0d, 0x49, 0x48,
        0x44, 0x52, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x02, 0x08, 0x02,
        0x00, 0x00, 0x00, 0xfd, 0xd4, 0x9a, 0x73, 0x00, 0x00, 0x00, 0x16, 0x49,
        0x44, 0x41, 0x54, 0x78, 0x63, 0x44, 0x9c, 0x60, 0x60, 0x30, 0x64, 0x52,
        0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x02, 0x08, 0x02, 0x00, 0x00,
        0x60, 0xc0, 0x00, 0x00, 0x06, 0x50, 0x00, 0x00, 0x16, 0x49, 0x44, 0x41,
        0x54, 0x78, 0x30, 0x9c, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44,
        0xae, 0x42, 0x60, 0x82
    };
    ax_image img;
    ax_error err = { 0 };
    ck_assert_int_eq(ax_image_decode(&img, png, sizeof png, "lie.png", &err), AX_ERR_FORMAT);
    ck_assert_msg(strstr(err.msg, "lie.png") && strstr(err.msg, "more memory"), "%s", err.msg);
}
END_TEST

/* An empty IDAT chunk (legal, and carrying nothing) before the data: the
 * image decodes to the same pixels as without it, and none of stb's code
 * sees it (under UBSan it would add 0 to a NULL buffer). */
START_TEST(test_png_empty_idat)
{
    size_t n;
    unsigned char *bytes = read_bytes(src_path("samples/chelsea.png"), &n);
    ck_assert_uint_gt(n, 33);
    /* after the signature (8) and IHDR (12 + 13) */
    static const unsigned char empty_idat[12] = {0, 0, 0, 0, 'I', 'D', 'A', 'T', 0x35, 0xaf, 0x06, 0x1e};
    unsigned char *with = malloc(n + 12);
    ck_assert_ptr_nonnull(with);
    memcpy(with, bytes, 33);
    memcpy(with + 33, empty_idat, 12);
    memcpy(with + 45, bytes + 33, n - 33);
    ax_image a, b;
    ax_error err = { 0 };
    ck_assert_msg(ax_image_decode(&a, bytes, n, "plain.png", &err) == AX_OK, "%s", err.msg);
    ck_assert_msg(ax_image_decode(&b, with, n + 12, "empty-idat.png", &err) == AX_OK, "%s", err.msg);
    ck_assert_int_eq(a.w, b.w);
    ck_assert_int_eq(a.h, b.h);
    ck_assert(!memcmp(a.rgb, b.rgb, (size_t)a.w * a.h * 3));
    ax_image_free(&a);
    ax_image_free(&b);
    free(with);
    free(bytes);
}
END_TEST

/* A file that ends in an empty IDAT's header, before its CRC (fuzz_maxact's
 * finding): that chunk is dropped as well before stb sees it, and the file
 * is refused as corrupt. */
START_TEST(test_png_empty_idat_cut)
{
    size_t n;
    unsigned char *bytes = read_bytes(src_path("samples/chelsea.png"), &n);
    ck_assert_uint_gt(n, 33);
    unsigned char cut[41];
    memcpy(cut, bytes, 33);   /* the signature and IHDR */
    memcpy(cut + 33, "\0\0\0\0IDAT", 8);
    ax_image img;
    ax_error err = { 0 };
    ck_assert_int_eq(ax_image_decode(&img, cut, sizeof cut, "cut.png", &err), AX_ERR_FORMAT);
    ck_assert_msg(strstr(err.msg, "cut.png"), "%s", err.msg);
    free(bytes);
}
END_TEST

/* JPEGs as libjpeg-turbo writes them (make_jpeg_fixtures.sh): progressive,
 * grey progressive, restart markers and optimized tables all pass the
 * guards and decode to their source within JPEG's loss; a scan that uses a
 * Huffman table no DHT defined (fuzz_image's finding: stb read past the
 * unbuilt table) is refused by name. */
START_TEST(test_jpeg_variants)
{
    ax_image src;
    ax_error err = { 0 };
    ck_assert_msg(ax_image_load(&src, src_path("tests/fixtures/image/source.ppm"), &err) == AX_OK, "%s", err.msg);
    static const char *const files[] = {"progressive.jpg", "grey_progressive.jpg", "restart.jpg", "optimized.jpg"};
    for (size_t f = 0; f < sizeof files / sizeof *files; f++) {
        char rel[128];
        snprintf(rel, sizeof rel, "tests/fixtures/image/%s", files[f]);
        ax_image img;
        ck_assert_msg(ax_image_load(&img, src_path(rel), &err) == AX_OK, "%s: %s", files[f], err.msg);
        ck_assert_int_eq(img.w, src.w);
        ck_assert_int_eq(img.h, src.h);
        int grey = strstr(files[f], "grey") != NULL;
        double diff = 0;
        size_t n = (size_t)src.w * src.h;
        for (size_t i = 0; i < n; i++) {
            const unsigned char *a = src.rgb + 3 * i, *b = img.rgb + 3 * i;
            if (grey) diff += fabs((0.299 * a[0] + 0.587 * a[1] + 0.114 * a[2]) - b[0]);
            else for (int c = 0; c < 3; c++) diff += fabs((double)a[c] - b[c]) / 3;
        }
        ck_assert_msg(diff / n < 6.0, "%s: mean difference %.2f levels from its source", files[f], diff / n);
        ax_image_free(&img);
    }
    ax_image_free(&src);
    ax_image img;
    ck_assert_int_eq(ax_image_load(&img, src_path("tests/fuzz/regress/image/jpeg_scan_undefined_ac_table.jpg"), &err),
                     AX_ERR_FORMAT);
    ck_assert_msg(strstr(err.msg, "Huffman table no DHT segment defines (AC table 0)"), "%s", err.msg);
    /* the same after bytes between segments, which stb skips (so the walk must too) */
    ck_assert_int_eq(ax_image_load(&img, src_path("tests/fuzz/regress/image/jpeg_padding_then_undefined_table.jpg"),
                                   &err), AX_ERR_FORMAT);
    ck_assert_msg(strstr(err.msg, "Huffman table no DHT segment defines"), "%s", err.msg);
}
END_TEST

static Suite *image_suite(void)
{
    Suite *s = suite_create("image");
    TCase *load = tcase_create("load");
    tcase_add_test(load, test_load_samples);
    tcase_add_test(load, test_load_roundtrip);
    tcase_add_test(load, test_load_errors);
    tcase_add_test(load, test_list_images);
    suite_add_tcase(s, load);

    TCase *resize = tcase_create("resize");
    tcase_add_test(resize, test_resize_2x2_to_4x4);
    tcase_add_test(resize, test_resize_identity);
    tcase_add_test(resize, test_resize_vs_naive);
    suite_add_tcase(s, resize);

    TCase *pre = tcase_create("preprocess");
    tcase_add_test(pre, test_preprocess_caffe_like);
    tcase_add_test(pre, test_preprocess_torchvision_like);
    tcase_add_test(pre, test_preprocess_resize_then_crop);
    tcase_add_test(pre, test_center_crop_offset);
    tcase_add_test(pre, test_preprocess_errors);
    tcase_add_test(pre, test_preprocess_sample);
    suite_add_tcase(s, pre);

    TCase *npy = tcase_create("npy");
    tcase_add_test(npy, test_input_npy);
    suite_add_tcase(s, npy);

    TCase *labels = tcase_create("labels");
    tcase_add_test(labels, test_labels_imagenet);
    tcase_add_test(labels, test_labels_edge_cases);
    suite_add_tcase(s, labels);

    TCase *hostile = tcase_create("hostile");
    tcase_add_test(hostile, test_fifo_refused);
    tcase_add_test(hostile, test_jpeg_dht_overflow);
    tcase_add_test(hostile, test_pgm_16bit);
    tcase_add_test(hostile, test_decompression_bombs);
    tcase_add_test(hostile, test_labels_hostile);
    tcase_add_test(hostile, test_png_chunk_length_lie);
    tcase_add_test(hostile, test_png_empty_idat);
    tcase_add_test(hostile, test_png_empty_idat_cut);
    tcase_add_test(hostile, test_jpeg_variants);
    suite_add_tcase(s, hostile);
    return s;
}

int main(void)
{
    return ax_run_suite(image_suite());
}
