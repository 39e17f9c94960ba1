/* Images in (stb_image, forced to RGB8), bilinear resizing, and the
 * resize -> centre crop -> channel order -> mean/std pipeline a spec asks for.
 * Also exact input tensors from .npy. No net and no printing here. */
#include "alexscope/image.h"
#include "alexscope/weights.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include "alexscope/fileio.h"

#if defined(__has_include) && !__has_include(<stb_image.h>)
#include <stb/stb_image.h>
#else
#include <stb_image.h>
#endif

/* stb_image before 2.28 (Debian 12 ships 2.27) writes past its Huffman
 * tables when a JPEG's DHT code counts sum past 256, and reads past the
 * pixels of a 16-bit PGM (CVE-2021-42716). configure reads the header's
 * version; when it is older or unknown, those inputs are refused here before
 * stb sees them. */
#if !defined(AX_STB_IMAGE_VERSION) || AX_STB_IMAGE_VERSION < 228
#define STB_NEEDS_GUARDS 1
#else
#define STB_NEEDS_GUARDS 0
#endif

/* JPEG: every FF C4 pair is taken as a DHT segment and its tables checked.
 * Entropy-coded data never holds FF C4 (FF is followed by 00 or a restart
 * marker there), so this finds every DHT stb could reach, wherever the scans
 * end; bytes inside other segments that happen to look like one are checked
 * too, which can only refuse more. */
static ax_status check_jpeg_dht(const uint8_t *b, size_t n, const char *name, ax_error *err)
{
    for (size_t i = 0; i + 1 < n; i++) {
        if (b[i] != 0xFF || b[i + 1] != 0xC4) continue;
        size_t p = i + 2;
        if (p + 2 > n) break;
        long len = (long)(b[p] << 8 | b[p + 1]) - 2;
        p += 2;
        int table = 0;
        /* stb reads zeros past the end of the data, which add nothing */
        while (len > 0 && p < n) {
            int q = b[p];
            if (q >> 4 > 1 || (q & 15) > 3) break;   /* stb stops at a bad table class/id */
            unsigned sum = 0;
            for (size_t k = 0; k < 16 && p + 1 + k < n; k++) sum += b[p + 1 + k];
            if (sum > 256)
                return ax_fail(err, AX_ERR_FORMAT, "%s: corrupt JPEG: Huffman table %d of the DHT segment at "
                               "byte %zu has %u codes; at most 256 exist", name, table, i, sum);
            len -= 17 + (long)sum;
            p += 17 + sum;
            table++;
        }
    }
    return AX_OK;
}

/* JPEG: a scan that decodes with a Huffman table no DHT defined has stb read
 * past the end of its (never built) table: every table a scan uses must come
 * from an earlier DHT. The markers are walked as a decoder walks them (a
 * scan's entropy-coded data runs to the next FF that is neither a stuffed
 * 00 nor a restart marker, and bytes between segments are skipped as stb
 * skips them); a stream that breaks off is left to stb. */
static ax_status check_jpeg_tables(const uint8_t *b, size_t n, const char *name, ax_error *err)
{
    unsigned defined = 0;   /* bit class*4 + id */
    int progressive = 0;
    size_t p = 2;
    while (p + 1 < n) {
        /* stb skips bytes between segments until the next FF: so does this walk */
        while (p < n && b[p] != 0xFF) p++;
        while (p < n && b[p] == 0xFF) p++;
        if (p >= n) return AX_OK;
        uint8_t m = b[p++];
        if (m == 0xD9) return AX_OK;
        if ((m >= 0xD0 && m <= 0xD7) || m == 0x01) continue;
        if (p + 2 > n) return AX_OK;
        size_t len = (size_t)(b[p] << 8 | b[p + 1]);
        if (len < 2 || p + len > n) return AX_OK;
        const uint8_t *seg = b + p + 2;
        size_t sl = len - 2;
        if (m == 0xC2) progressive = 1;
        /* arithmetic-coded, lossless or hierarchical frames: stb refuses them itself */
        if ((m >= 0xC3 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC)) return AX_OK;
        if (m == 0xC4) {
            for (size_t q = 0; q + 17 <= sl;) {
                int tc = seg[q] >> 4, th = seg[q] & 15;
                if (tc > 1 || th > 3) break;
                size_t count = 0;
                for (int k = 1; k <= 16; k++) count += seg[q + k];
                defined |= 1u << (tc * 4 + th);
                q += 17 + count;
            }
        }
        p += len;
        if (m != 0xDA) continue;
        /* SOS: Ns, then (component, DC<<4|AC) each, then Ss, Se, Ah<<4|Al */
        int ns = sl ? seg[0] : 0;
        if (sl < (size_t)(1 + 2 * ns + 3)) return AX_OK;
        int ss = seg[1 + 2 * ns], ah = seg[3 + 2 * ns] >> 4;
        int need_dc = !progressive || (ss == 0 && ah == 0), need_ac = !progressive || ss > 0;
        for (int c = 0; c < ns; c++) {
            int dc = seg[2 + 2 * c] >> 4, ac = seg[2 + 2 * c] & 15;
            if ((need_dc && (dc > 3 || !(defined >> dc & 1))) || (need_ac && (ac > 3 || !(defined >> (4 + ac) & 1))))
                return ax_fail(err, AX_ERR_FORMAT, "%s: corrupt JPEG: the scan at byte %zu decodes component %d "
                               "with a Huffman table no DHT segment defines (%s table %d)", name, p - len - 2,
                               seg[1 + 2 * c], need_dc && (dc > 3 || !(defined >> dc & 1)) ? "DC" : "AC",
                               need_dc && (dc > 3 || !(defined >> dc & 1)) ? dc : ac);
        }
        /* the entropy-coded data, to the next real marker */
        while (p + 1 < n && !(b[p] == 0xFF && b[p + 1] != 0x00 && !(b[p + 1] >= 0xD0 && b[p + 1] <= 0xD7))) p++;
    }
    return AX_OK;
}

/* Binary PNM (P5/P6): stb reads the header numbers into an int without an
 * overflow check; 16-bit samples (maxval > 255) hit the stb 2.27 bug. The
 * header is walked the way stb walks it (whitespace, '#' comments). */
static ax_status check_pnm(const uint8_t *b, size_t n, const char *name, ax_error *err)
{
    static const char *const what[3] = {"width", "height", "maxval"};
    size_t p = 2;
    unsigned long v[3] = {0, 0, 0};
    for (int k = 0; k < 3; k++) {
        for (;;) {
            while (p < n && (b[p] == ' ' || (b[p] >= '\t' && b[p] <= '\r'))) p++;
            if (p >= n || b[p] != '#') break;
            while (p < n && b[p] != '\n' && b[p] != '\r') p++;
        }
        int digits = 0;
        while (p < n && b[p] >= '0' && b[p] <= '9') {
            if (++digits > 9)
                return ax_fail(err, AX_ERR_FORMAT, "%s: corrupt PNM header: the %s has more than 9 digits",
                               name, what[k]);
            v[k] = v[k] * 10 + (unsigned long)(b[p++] - '0');
        }
    }
    if (STB_NEEDS_GUARDS && v[2] > 255)
        return ax_fail(err, AX_ERR_UNSUPPORTED, "%s: 16-bit PNM (maxval %lu) is not read with this "
                       "stb_image (older than 2.28, CVE-2021-42716); convert it to 8 bits or PNG",
                       name, v[2]);
    return AX_OK;
}

/* Refuses inputs that reach known stb_image bugs, before stb sees them. */
static ax_status check_stb_hazards(const uint8_t *b, size_t n, const char *name, ax_error *err)
{
    /* stb's JPEG test: FF fill bytes, then the SOI marker D8 */
    size_t i = 0;
    while (i < n && b[i] == 0xFF) i++;
    if (i > 0 && i < n && b[i] == 0xD8) {
        ax_status st = STB_NEEDS_GUARDS ? check_jpeg_dht(b, n, name, err) : AX_OK;
        return st ? st : check_jpeg_tables(b + i - 1, n - (i - 1), name, err);
    }
    if (n >= 2 && b[0] == 'P' && (b[1] == '5' || b[1] == '6')) return check_pnm(b, n, name, err);
    return AX_OK;
}

/* A PNG's empty IDAT chunks carry nothing, but one before any data has
 * stb_image add 0 to its still-NULL buffer (undefined behaviour that
 * sanitizers report), also when the file ends before the chunk's CRC. A
 * copy without them (chunks after one that runs off the end are left as
 * they are, for stb to judge), or NULL when there is none. */
static int empty_idat(const uint8_t *c)
{
    return !c[0] && !c[1] && !c[2] && !c[3] && !memcmp(c + 4, "IDAT", 4);
}

static unsigned char *png_without_empty_idat(const uint8_t *b, size_t n, size_t *out_n)
{
    if (n < 8 || memcmp(b, "\x89PNG\r\n\x1a\n", 8)) return NULL;
    int empty = 0;
    for (size_t at = 8; at + 8 <= n;) {
        uint32_t len = (uint32_t)b[at] << 24 | (uint32_t)b[at + 1] << 16 | (uint32_t)b[at + 2] << 8 | b[at + 3];
        empty |= empty_idat(b + at);
        if (at + 12 > n || len > n - at - 12) break;
        at += 12 + (size_t)len;
    }
    if (!empty) return NULL;
    unsigned char *copy = malloc(n);
    if (!copy) return NULL;
    memcpy(copy, b, 8);
    size_t w = 8, at = 8;
    while (at + 8 <= n) {
        uint32_t len = (uint32_t)b[at] << 24 | (uint32_t)b[at + 1] << 16 | (uint32_t)b[at + 2] << 8 | b[at + 3];
        if (empty_idat(b + at)) {   /* dropped, with its CRC where the file has one */
            at = at + 12 <= n ? at + 12 : n;
            continue;
        }
        if (at + 12 > n || len > n - at - 12) break;
        memcpy(copy + w, b + at, 12 + (size_t)len);
        w += 12 + (size_t)len;
        at += 12 + (size_t)len;
    }
    memcpy(copy + w, b + at, n - at);   /* whatever follows the last chunk */
    *out_n = w + (n - at);
    return copy;
}

static ax_status decode(ax_image *img, const void *buf, size_t size, const char *name, ax_error *err);

ax_status ax_image_decode(ax_image *img, const void *buf, size_t size, const char *name, ax_error *err)
{
    size_t clean_n = 0;
    unsigned char *clean = png_without_empty_idat(buf, size, &clean_n);
    ax_status st = clean ? decode(img, clean, clean_n, name, err) : decode(img, buf, size, name, err);
    free(clean);
    return st;
}

static ax_status decode(ax_image *img, const void *buf, size_t size, const char *name, ax_error *err)
{
    memset(img, 0, sizeof *img);
    if (size == 0)
        return ax_fail(err, AX_ERR_FORMAT, "%s: empty file (0 bytes), expected an image", name);
    if (size > AX_IMAGE_MAX_BYTES)
        return ax_fail(err, AX_ERR_FORMAT, "%s: the image file is %zu bytes; at most %d MiB are read",
                       name, size, AX_IMAGE_MAX_BYTES >> 20);
    ax_status st = check_stb_hazards(buf, size, name, err);
    if (st) return st;

    /* Only the header is read first: a small file may declare a huge image
     * (a decompression bomb), which is refused before anything is decoded. */
    int w = 0, h = 0, channels_in_file = 0;
    if (!stbi_info_from_memory(buf, (int)size, &w, &h, &channels_in_file)) {
        const char *why = stbi_failure_reason();
        return ax_fail(err, AX_ERR_FORMAT,
                       "%s: cannot decode the image (stb_image: %s); formats read: png, jpeg, "
                       "bmp, gif, ppm/pgm, up to %d Mpixel and %d pixels a side", name, why ? why : "unknown reason",
                       AX_IMAGE_MAX_PIXELS >> 20, AX_IMAGE_MAX_PIXELS);
    }
    if (w <= 0 || h <= 0)
        return ax_fail(err, AX_ERR_FORMAT, "%s: image has size %dx%d", name, w, h);
    if ((uint64_t)w * (uint64_t)h > AX_IMAGE_MAX_PIXELS)
        return ax_fail(err, AX_ERR_FORMAT, "%s: the image declares %dx%d pixels (%.0f Mpixel); at most "
                       "%d Mpixel are decoded", name, w, h, (double)w * h / (1 << 20),
                       AX_IMAGE_MAX_PIXELS >> 20);

    unsigned char *rgb = stbi_load_from_memory(buf, (int)size, &w, &h, &channels_in_file, 3);
    if (!rgb) {
        const char *why = stbi_failure_reason();
        if (why && !strcmp(why, "outofmem"))
            return ax_fail(err, AX_ERR_FORMAT, "%s: corrupt image: decoding it would take more memory than a "
                           "%dx%d image may (a chunk or stream longer than the file?)", name, w, h);
        return ax_fail(err, AX_ERR_FORMAT,
                       "%s: cannot decode the image (stb_image: %s); formats read: png, jpeg, "
                       "bmp, gif, ppm/pgm", name, why ? why : "unknown reason");
    }
    if (w <= 0 || h <= 0 || (uint64_t)w * (uint64_t)h > AX_IMAGE_MAX_PIXELS) {
        stbi_image_free(rgb);
        return ax_fail(err, AX_ERR_FORMAT, "%s: image decoded to %dx%d pixels", name, w, h);
    }
    img->w = w;
    img->h = h;
    img->rgb = rgb;
    return AX_OK;
}

ax_status ax_image_load(ax_image *img, const char *path, ax_error *err)
{
    memset(img, 0, sizeof *img);
    char *buf;
    size_t size;
    ax_status st = ax_file_slurp(path, "image", AX_IMAGE_MAX_BYTES, &buf, &size, err);
    if (st) return st;
    st = ax_image_decode(img, buf, size, path, err);
    free(buf);
    return st;
}

void ax_image_free(ax_image *img)
{
    if (!img) return;
    stbi_image_free(img->rgb);
    img->rgb = NULL;
    img->w = img->h = 0;
}

/* Where output index i of an n_dst-long axis samples an n_src-long axis:
 * half-pixel centres, clamped to the edge pixels. */
static void bilinear_tap(int i, int n_dst, int n_src, int *i0, int *i1, float *frac)
{
    double s = ((double)i + 0.5) * (double)n_src / (double)n_dst - 0.5;
    if (s < 0.0) s = 0.0;
    if (s > (double)(n_src - 1)) s = (double)(n_src - 1);
    int lo = (int)s;
    *i0 = lo;
    *i1 = lo + 1 < n_src ? lo + 1 : lo;
    *frac = (float)(s - (double)lo);
}

/* Bilinear resize of src (sh, sw, 3) to a virtual (dh, dw, 3) image, writing
 * only the window [y_off, y_off + ch) x [x_off, x_off + cw) into dst (ch, cw, 3).
 * Preprocessing resizes only the crop it keeps, so it needs no scratch buffer. */
static void resize_window(float *dst, int x_off, int y_off, int cw, int ch, int dw, int dh,
                          const unsigned char *src, int sw, int sh)
{
    for (int y = 0; y < ch; y++) {
        int y0, y1;
        float fy;
        bilinear_tap(y + y_off, dh, sh, &y0, &y1, &fy);
        const unsigned char *r0 = src + (size_t)y0 * sw * 3;
        const unsigned char *r1 = src + (size_t)y1 * sw * 3;
        float *out = dst + (size_t)y * cw * 3;
        for (int x = 0; x < cw; x++) {
            int x0, x1;
            float fx;
            bilinear_tap(x + x_off, dw, sw, &x0, &x1, &fx);
            for (int c = 0; c < 3; c++) {
                float top = r0[x0 * 3 + c] + fx * (float)(r0[x1 * 3 + c] - r0[x0 * 3 + c]);
                float bot = r1[x0 * 3 + c] + fx * (float)(r1[x1 * 3 + c] - r1[x0 * 3 + c]);
                out[x * 3 + c] = top + fy * (bot - top);
            }
        }
    }
}

void ax_resize_bilinear(float *dst, int dw, int dh, const unsigned char *src, int sw, int sh)
{
    if (dw <= 0 || dh <= 0 || sw <= 0 || sh <= 0) return;
    resize_window(dst, 0, 0, dw, dh, dw, dh, src, sw, sh);
}

/* torchvision's centre-crop offset: int(round((size - crop) / 2.0)), and
 * Python's round() sends halves to the even neighbour (14.5 -> 14, 15.5 -> 16). */
static int crop_offset(int size, int crop)
{
    int d = size - crop;
    int half = d / 2;
    if (d % 2 == 0) return half;
    return half % 2 == 0 ? half : half + 1;
}

ax_status ax_preprocess_image(float *out, const ax_image *img, const ax_spec *spec, ax_error *err)
{
    const ax_preprocess *p = &spec->pre;
    const char *who = spec->path[0] ? spec->path : spec->name;

    if (!img || !img->rgb || img->w <= 0 || img->h <= 0)
        return ax_fail(err, AX_ERR_ARG, "preprocess for %s: no image loaded", who);
    if (p->crop_w <= 0 || p->crop_h <= 0)
        return ax_fail(err, AX_ERR_SPEC, "%s: crop size %dx%d must be positive",
                       who, p->crop_w, p->crop_h);
    if (spec->in_c != 3 || spec->in_h != p->crop_h || spec->in_w != p->crop_w)
        return ax_fail(err, AX_ERR_SHAPE,
                       "%s: an image gives a (3, %d, %d) input after the crop, but the net "
                       "expects (%d, %d, %d)",
                       who, p->crop_h, p->crop_w, spec->in_c, spec->in_h, spec->in_w);
    for (int c = 0; c < 3; c++)
        if (p->std[c] == 0.0f || !isfinite(p->std[c]))
            return ax_fail(err, AX_ERR_SPEC, "%s: std[%d] is %g; it must be finite and non-zero",
                           who, c, (double)p->std[c]);

    int rw = img->w, rh = img->h;
    switch (p->resize_mode) {
    case AX_RESIZE_NONE:
        break;
    case AX_RESIZE_SHORT: {
        if (p->resize_w <= 0)
            return ax_fail(err, AX_ERR_SPEC,
                           "%s: shorter-side resize to %d pixels; it must be positive",
                           who, p->resize_w);
        /* torchvision: new_long = int(short_target * long / short) (true division,
         * then truncation) */
        int sh_side = img->w <= img->h ? img->w : img->h;
        int lg_side = img->w <= img->h ? img->h : img->w;
        double lg = (double)((int64_t)p->resize_w * lg_side) / (double)sh_side;
        if (lg > (double)INT_MAX / 4)
            return ax_fail(err, AX_ERR_ARG, "%s: resizing a %dx%d image to a shorter side of %d "
                           "is too large", who, img->w, img->h, p->resize_w);
        int new_lg = (int)lg;
        if (img->w <= img->h) { rw = p->resize_w; rh = new_lg; }
        else { rh = p->resize_w; rw = new_lg; }
        break;
    }
    case AX_RESIZE_EXACT:
        if (p->resize_w <= 0 || p->resize_h <= 0)
            return ax_fail(err, AX_ERR_SPEC, "%s: resize to %dx%d; both sides must be positive",
                           who, p->resize_w, p->resize_h);
        rw = p->resize_w;
        rh = p->resize_h;
        break;
    default:
        return ax_fail(err, AX_ERR_SPEC, "%s: unknown resize mode %d", who, (int)p->resize_mode);
    }

    if (rw < p->crop_w || rh < p->crop_h)
        return ax_fail(err, AX_ERR_SHAPE,
                       "%s: the %dx%d image is %dx%d after resizing, smaller than the %dx%d crop",
                       who, img->w, img->h, rw, rh, p->crop_w, p->crop_h);

    int cw = p->crop_w, ch = p->crop_h;
    int x_off = crop_offset(rw, cw), y_off = crop_offset(rh, ch);
    size_t plane = (size_t)cw * ch;

    /* The crop is resized a strip of up to CHUNK pixels at a time into an
     * interleaved (1, CHUNK, 3) stack buffer, then split into the planes. */
    enum { CHUNK = 256 };
    float strip[CHUNK * 3];
    /* out channel k takes source channel src_ch[k] */
    const int src_ch[3] = { p->bgr ? 2 : 0, 1, p->bgr ? 0 : 2 };
    double mul = (double)p->scale / 255.0;
    for (int y = 0; y < ch; y++) {
        for (int x0 = 0; x0 < cw; x0 += CHUNK) {
            int len = cw - x0 < CHUNK ? cw - x0 : CHUNK;
            resize_window(strip, x_off + x0, y_off + y, len, 1, rw, rh, img->rgb, img->w, img->h);
            for (int k = 0; k < 3; k++) {
                float *o = out + k * plane + (size_t)y * cw + x0;
                double mean = p->mean[k], sd = p->std[k];
                for (int x = 0; x < len; x++)
                    o[x] = (float)(((double)strip[x * 3 + src_ch[k]] * mul - mean) / sd);
            }
        }
    }
    return AX_OK;
}

ax_status ax_input_npy_load(float **data, int *n, int *c, int *h, int *w,
                            const char *path, ax_error *err)
{
    *data = NULL;
    ax_wfile *f = NULL;
    ax_status st = ax_wfile_open(&f, path, err);
    if (st != AX_OK) return st;

    /* A plain .npy holds one array; a file with several must name it "input". */
    const ax_wentry *e = f->count == 1 ? &f->entries[0] : ax_wfile_find(f, "input");
    if (!e) {
        st = ax_fail(err, AX_ERR_FORMAT, "%s: holds %d arrays; expected one input array "
                     "(N, C, H, W) or (C, H, W), or one named \"input\"", path, f->count);
        goto done;
    }
    if (e->dtype != AX_DT_F32 && e->dtype != AX_DT_F64) {
        st = ax_fail(err, AX_ERR_SHAPE, "%s: input array has dtype %s; expected float32 "
                     "(or float64)", path, ax_dtype_name(e->dtype));
        goto done;
    }
    if (e->ndim != 3 && e->ndim != 4) {
        st = ax_fail(err, AX_ERR_SHAPE, "%s: input array has %d dimensions; expected 4 "
                     "(N, C, H, W) or 3 (C, H, W)", path, e->ndim);
        goto done;
    }
    int64_t dims[4] = { 1, 1, 1, 1 };
    int first = 4 - e->ndim;
    for (int i = 0; i < e->ndim; i++) {
        if (e->shape[i] <= 0 || e->shape[i] > INT_MAX) {
            st = ax_fail(err, AX_ERR_SHAPE, "%s: input array dimension %d is %lld",
                         path, i, (long long)e->shape[i]);
            goto done;
        }
        dims[first + i] = e->shape[i];
    }
    size_t numel = ax_wentry_numel(e);
    if (numel == 0 || numel > SIZE_MAX / sizeof(float)
        || e->nbytes < numel * ax_dtype_size(e->dtype)) {
        st = ax_fail(err, AX_ERR_FORMAT, "%s: input array holds %zu bytes, too few for "
                     "%zu elements", path, e->nbytes, numel);
        goto done;
    }
    float *buf = malloc(numel * sizeof *buf);
    if (!buf) {
        st = ax_fail(err, AX_ERR_NOMEM, "%s: no memory for %zu input values", path, numel);
        goto done;
    }
    ax_wentry_to_f32(e, buf);
    *data = buf;
    *n = (int)dims[0];
    *c = (int)dims[1];
    *h = (int)dims[2];
    *w = (int)dims[3];
done:
    ax_wfile_close(f);
    return st;
}
