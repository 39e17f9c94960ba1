/* CPU convolution: im2col into caller-provided scratch, then one OpenBLAS sgemm
 * per image and group. Never allocates, never prints; the caller sizes scratch
 * with ax_conv2d_scratch and checks shapes before calling. */
#include "alexscope/layers.h"
#include "parallel.h"

#include <cblas.h>
#include <string.h>

size_t ax_conv2d_scratch(const ax_window *g)
{
    int cg = g->c / (g->groups > 0 ? g->groups : 1);
    return (size_t)cg * g->kh * g->kw * (size_t)g->oh * g->ow;
}

/* First output column whose input column ox*sw - pad_l + kj is >= 0, and one past
 * the last whose input column is < w; both clamped to [0, ow]. */
static void valid_cols(int kj, const ax_window *g, int *lo, int *hi)
{
    int off = g->pad_l - kj;                 /* ix = ox*sw - off */
    int a = off > 0 ? (off + g->sw - 1) / g->sw : 0;
    int last = g->w - 1 + off;               /* ix <= w-1  <=>  ox*sw <= last */
    int b = last >= 0 ? last / g->sw + 1 : 0;
    if (b > g->ow) b = g->ow;
    if (a > b) a = b;
    *lo = a;
    *hi = b;
}

/* dst[i] = src[i*sw]; the common strides get their own loops so the compiler
 * can vectorise them with a constant stride. */
static void copy_strided(float *restrict dst, const float *restrict src, int n, int sw)
{
    switch (sw) {
    case 1: memcpy(dst, src, sizeof(float) * n); break;
    case 2: for (int i = 0; i < n; i++) dst[i] = src[2 * i]; break;
    case 4: for (int i = 0; i < n; i++) dst[i] = src[4 * i]; break;
    default: for (int i = 0; i < n; i++) dst[i] = src[(size_t)i * sw]; break;
    }
}

/* One im2col row, general case: for each output row a run of zeros, a copied
 * run and zeros again, the bounds worked out once per row (not per element). */
static void im2col_row(float *row, const float *plane, int ki, int kj, const ax_window *g)
{
    const int ow = g->ow;
    int lo, hi;
    valid_cols(kj, g, &lo, &hi);
    const int ix0 = lo * g->sw - g->pad_l + kj;
    for (int oy = 0; oy < g->oh; oy++) {
        float *dst = row + (size_t)oy * ow;
        int iy = oy * g->sh - g->pad_t + ki;
        if (iy < 0 || iy >= g->h || lo == hi) {
            memset(dst, 0, sizeof(float) * ow);
            continue;
        }
        if (lo > 0) memset(dst, 0, sizeof(float) * lo);
        copy_strided(dst + lo, plane + (size_t)iy * g->w + ix0, hi - lo, g->sw);
        if (hi < ow) memset(dst + hi, 0, sizeof(float) * (ow - hi));
    }
}

/* One im2col row when stride is 1 and OW == W (SAME-style padding): output
 * element j then reads input element j + (ki-pad_t)*W + (kj-pad_l), so the
 * rows that see the image are one memcpy; the few cells that wrapped into a
 * neighbouring image row are padding and are zeroed afterwards. */
static void im2col_row_same(float *row, const float *plane, int ki, int kj, const ax_window *g)
{
    const int ow = g->ow, oh = g->oh;
    int oy0 = g->pad_t - ki, oy1 = g->h + g->pad_t - ki;   /* rows with 0 <= iy < H */
    if (oy0 < 0) oy0 = 0;
    if (oy1 > oh) oy1 = oh;
    int lo, hi;
    valid_cols(kj, g, &lo, &hi);
    if (oy0 >= oy1 || lo >= hi) {
        memset(row, 0, sizeof(float) * (size_t)oh * ow);
        return;
    }
    const size_t j0 = (size_t)oy0 * ow + lo, j1 = (size_t)(oy1 - 1) * ow + hi;
    const ptrdiff_t shift = (ptrdiff_t)(ki - g->pad_t) * g->w + (kj - g->pad_l);
    memset(row, 0, sizeof(float) * j0);
    memcpy(row + j0, plane + (ptrdiff_t)j0 + shift, sizeof(float) * (j1 - j0));
    memset(row + j1, 0, sizeof(float) * ((size_t)oh * ow - j1));
    for (int oy = oy0; oy < oy1; oy++) {
        float *r = row + (size_t)oy * ow;
        for (int x = 0; x < lo; x++) r[x] = 0.0f;
        for (int x = hi; x < ow; x++) r[x] = 0.0f;
    }
}

/* col (Cg*KH*KW, OH*OW) from img (Cg, H, W); row (ci, ki, kj) holds the input
 * value each output position sees through kernel tap (ki, kj) of channel ci.
 * This part does the (ci, ki) row blocks [r0, r1) of Cg*KH. */
typedef struct {
    float *col;
    const float *img;
    const ax_window *g;
} im2col_job;

static void im2col_rows(void *arg, int r0, int r1)
{
    const im2col_job *j = arg;
    const ax_window *g = j->g;
    const size_t ohw = (size_t)g->oh * g->ow;
    const int same = g->sh == 1 && g->sw == 1 && g->ow == g->w;
    for (int r = r0; r < r1; r++) {
        int ci = r / g->kh, ki = r % g->kh;
        const float *plane = j->img + (size_t)ci * g->h * g->w;
        for (int kj = 0; kj < g->kw; kj++) {
            float *row = j->col + ((size_t)r * g->kw + kj) * ohw;
            if (same) im2col_row_same(row, plane, ki, kj, g);
            else im2col_row(row, plane, ki, kj, g);
        }
    }
}

/* Below this many floats of im2col, waking other threads costs more than it saves. */
#define IM2COL_PARALLEL_MIN (1u << 17)

static void im2col(float *col, const float *img, int cg, const ax_window *g)
{
    im2col_job job = {col, img, g};
    size_t size = (size_t)cg * g->kh * g->kw * g->oh * g->ow;
    if (size >= IM2COL_PARALLEL_MIN) ax_parallel_for(cg * g->kh, im2col_rows, &job);
    else im2col_rows(&job, 0, cg * g->kh);
}

void ax_conv2d(float *out, const float *in, const float *w, const float *b,
               float *scratch, const ax_window *g)
{
    const int groups = g->groups > 0 ? g->groups : 1;
    const int cg = g->c / groups, ocg = g->oc / groups;
    const int kdim = cg * g->kh * g->kw;                 /* sgemm K */
    const int ohw = g->oh * g->ow;                       /* sgemm N */
    const size_t in_plane = (size_t)g->h * g->w;
    if (g->n <= 0 || ocg <= 0 || ohw <= 0) return;

    /* A 1x1, stride-1, unpadded convolution reads the image as its own im2col. */
    const int direct = g->kh == 1 && g->kw == 1 && g->sh == 1 && g->sw == 1 &&
                       g->pad_t == 0 && g->pad_l == 0 && g->oh == g->h && g->ow == g->w;

    for (int n = 0; n < g->n; n++) {
        for (int gi = 0; gi < groups; gi++) {
            const float *img = in + ((size_t)n * g->c + (size_t)gi * cg) * in_plane; // (Cg, H, W)
            const float *wg = w + (size_t)gi * ocg * kdim;                           // (OCg, K)
            float *og = out + ((size_t)n * g->oc + (size_t)gi * ocg) * ohw;          // (OCg, OH*OW)
            const float *col = img;
            if (!direct) {
                im2col(scratch, img, cg, g);
                col = scratch;                                                       // (K, OH*OW)
            }
            /* Bias goes in first and sgemm adds onto it (beta = 1), which spares
             * OpenBLAS its own pass over C. */
            float beta = 0.0f;
            if (b) {
                for (int o = 0; o < ocg; o++) {
                    float v = b[gi * ocg + o];
                    float *dst = og + (size_t)o * ohw;
                    for (int i = 0; i < ohw; i++) dst[i] = v;
                }
                beta = 1.0f;
            }
            if (kdim == 0) {
                if (!b) memset(og, 0, sizeof(float) * (size_t)ocg * ohw);
                continue;
            }
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, ocg, ohw, kdim,
                        1.0f, wg, kdim, col, ohw, beta, og, ohw);
        }
    }
}
