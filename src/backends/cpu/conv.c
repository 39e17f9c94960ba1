/* CPU convolution: im2col into caller-provided scratch, then OpenBLAS sgemm,
 * per image and group, split by output rows across the CPU pool. Never
 * allocates, never prints; the caller sizes scratch with ax_conv2d_scratch
 * and checks shapes before calling. */
#include "alexscope/layers.h"
#include "core/parallel.h"
#include "backends/cpu/threads.h"

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

/* One im2col row over output rows [oy0, oy1), general case: for each output
 * row a run of zeros, a copied run and zeros again, the bounds worked out once
 * per row (not per element). */
static void im2col_row(float *row, const float *plane, int ki, int kj, int oy0, int oy1, const ax_window *g)
{
    const int ow = g->ow;
    int lo, hi;
    valid_cols(kj, g, &lo, &hi);
    const int ix0 = lo * g->sw - g->pad_l + kj;
    for (int oy = oy0; oy < oy1; oy++) {
        float *dst = row + (size_t)(oy - oy0) * ow;
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

/* The same when stride is 1 and OW == W (SAME-style padding): output element
 * j then reads input element j + (ki-pad_t)*W + (kj-pad_l), so the rows that
 * see the image are one memcpy; the few cells that wrapped into a neighbouring
 * image row are padding and are zeroed afterwards. */
static void im2col_row_same(float *row, const float *plane, int ki, int kj, int oy0, int oy1, const ax_window *g)
{
    const int ow = g->ow;
    const size_t J0 = (size_t)oy0 * ow, J1 = (size_t)oy1 * ow;   /* this part's columns */
    int vy0 = g->pad_t - ki, vy1 = g->h + g->pad_t - ki;         /* rows with 0 <= iy < H */
    if (vy0 < oy0) vy0 = oy0;
    if (vy1 > oy1) vy1 = oy1;
    int lo, hi;
    valid_cols(kj, g, &lo, &hi);
    if (vy0 >= vy1 || lo >= hi) {
        memset(row, 0, sizeof(float) * (J1 - J0));
        return;
    }
    const size_t j0 = (size_t)vy0 * ow + lo, j1 = (size_t)(vy1 - 1) * ow + hi;
    const ptrdiff_t shift = (ptrdiff_t)(ki - g->pad_t) * g->w + (kj - g->pad_l);
    memset(row, 0, sizeof(float) * (j0 - J0));
    memcpy(row + (j0 - J0), plane + (ptrdiff_t)j0 + shift, sizeof(float) * (j1 - j0));
    memset(row + (j1 - J0), 0, sizeof(float) * (J1 - j1));
    for (int oy = vy0; oy < vy1; oy++) {
        float *r = row + (size_t)(oy - oy0) * ow;
        for (int x = 0; x < lo; x++) r[x] = 0.0f;
        for (int x = hi; x < ow; x++) r[x] = 0.0f;
    }
}

/* One image and group, split by output rows across the pool: each part
 * writes the im2col columns of its rows into its own block of scratch and
 * multiplies them at once, so the GEMM reads what the same core just wrote. */
typedef struct {
    float *og;             /* (OCg, OH*OW) */
    const float *img;      /* (Cg, H, W) */
    const float *wg;       /* (OCg, K) */
    const float *bg;       /* (OCg) or NULL */
    float *scratch;        /* K x OH*OW, one block of K x rows*OW per part */
    const ax_window *g;
    int cg, ocg, kdim, direct;
} conv_job;

/* im2col rows (ci, ki) in [r0, r1) of Cg*KH, output rows [oy0, oy1), into the
 * (K, (oy1-oy0)*OW) block c. */
static void im2col_block(const conv_job *j, float *c, int r0, int r1, int oy0, int oy1)
{
    const ax_window *g = j->g;
    const size_t ncols = (size_t)(oy1 - oy0) * g->ow;
    const int same = g->sh == 1 && g->sw == 1 && g->ow == g->w;
    for (int r = r0; r < r1; r++) {
        int ci = r / g->kh, ki = r % g->kh;
        const float *plane = j->img + (size_t)ci * g->h * g->w;
        for (int kj = 0; kj < g->kw; kj++) {
            float *row = c + ((size_t)r * g->kw + kj) * ncols;
            if (same) im2col_row_same(row, plane, ki, kj, oy0, oy1, g);
            else im2col_row(row, plane, ki, kj, oy0, oy1, g);
        }
    }
}

/* out rows [oy0, oy1) = bias + wg x col, col being (K, ncols) with stride ldb. */
static void gemm_block(const conv_job *j, const float *col, int ldb, int oy0, int oy1)
{
    const int ow = j->g->ow, ohw = j->g->oh * ow, ncols = (oy1 - oy0) * ow;
    float *out = j->og + (size_t)oy0 * ow;
    /* Bias goes in first and sgemm adds onto it (beta = 1), which spares
     * OpenBLAS its own pass over C. */
    float beta = 0.0f;
    if (j->bg) {
        for (int o = 0; o < j->ocg; o++) {
            float v = j->bg[o], *dst = out + (size_t)o * ohw;
            for (int i = 0; i < ncols; i++) dst[i] = v;
        }
        beta = 1.0f;
    }
    if (j->kdim == 0) {
        if (!j->bg)
            for (int o = 0; o < j->ocg; o++) memset(out + (size_t)o * ohw, 0, sizeof(float) * ncols);
        return;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, j->ocg, ncols, j->kdim,
                1.0f, j->wg, j->kdim, col, ldb, beta, out, ohw);
}

#ifndef AX_CONV_BLOCK_FLOATS
#define AX_CONV_BLOCK_FLOATS (1u << 18)   /* 1 MiB */
#endif

static void conv_rows(void *arg, int oy0, int oy1)
{
    const conv_job *j = arg;
    if (j->direct) {
        gemm_block(j, j->img + (size_t)oy0 * j->g->ow, j->g->oh * j->g->ow, oy0, oy1);
        return;
    }
    /* Blocks of rows whose im2col stays in this core's L2 until the GEMM
     * reads it back; every block of this part reuses the part's own region. */
    int step = (int)(AX_CONV_BLOCK_FLOATS / ((size_t)j->kdim * j->g->ow));
    if (step < 1) step = 1;
    for (int y = oy0; y < oy1; y += step) {
        int y1 = y + step < oy1 ? y + step : oy1;
        float *c = j->scratch + (size_t)j->kdim * oy0 * j->g->ow;
        im2col_block(j, c, 0, j->cg * j->g->kh, y, y1);
        gemm_block(j, c, (y1 - y) * j->g->ow, y, y1);
    }
}

/* Filters [o0, o1) over every output position, from the shared im2col. */
static void gemm_filters(void *arg, int o0, int o1)
{
    conv_job j = *(const conv_job *)arg;
    const int ohw = j.g->oh * j.g->ow;
    const float *col = j.direct ? j.img : j.scratch;
    j.og += (size_t)o0 * ohw;
    j.wg += (size_t)o0 * j.kdim;
    if (j.bg) j.bg += o0;
    j.ocg = o1 - o0;
    gemm_block(&j, col, ohw, 0, j.g->oh);
}

static void im2col_krows(void *arg, int r0, int r1)
{
    const conv_job *j = arg;
    im2col_block(j, j->scratch, r0, r1, 0, j->g->oh);
}

void ax_conv2d_im2col(float *out, const float *in, const float *w, const float *b,
                      float *scratch, const ax_window *g)
{
    ax_cpu_blas_single();
    const int groups = g->groups > 0 ? g->groups : 1;
    const int cg = g->c / groups, ocg = g->oc / groups;
    const int kdim = cg * g->kh * g->kw;                 /* sgemm K */
    const int ohw = g->oh * g->ow;                       /* sgemm N */
    const size_t in_plane = (size_t)g->h * g->w;
    if (g->n <= 0 || ocg <= 0 || ohw <= 0) return;

    /* A 1x1, stride-1, unpadded convolution reads the image as its own im2col. */
    const int direct = g->kh == 1 && g->kw == 1 && g->sh == 1 && g->sw == 1 &&
                       g->pad_t == 0 && g->pad_l == 0 && g->oh == g->h && g->ow == g->w;
    /* Small layers are not worth waking the pool for. */
    const int parallel = (double)ocg * ohw * kdim >= 4e6;

    for (int n = 0; n < g->n; n++) {
        for (int gi = 0; gi < groups; gi++) {
            conv_job job = {
                .og = out + ((size_t)n * g->oc + (size_t)gi * ocg) * ohw,
                .img = in + ((size_t)n * g->c + (size_t)gi * cg) * in_plane,
                .wg = w + (size_t)gi * ocg * kdim,
                .bg = b ? b + (size_t)gi * ocg : NULL,
                .scratch = scratch, .g = g, .cg = cg, .ocg = ocg, .kdim = kdim, .direct = direct,
            };
            if (!parallel) {
                conv_rows(&job, 0, g->oh);
            } else if (ocg <= ohw) {
                ax_parallel_for(g->oh, conv_rows, &job);
            } else {
                /* More filters than output positions (conv3, conv4 at 13x13):
                 * splitting the positions would make every core stream all
                 * the filters, so the parts share one im2col and split the
                 * filters instead. */
                if (!direct) ax_parallel_for(cg * g->kh, im2col_krows, &job);
                ax_parallel_for(ocg, gemm_filters, &job);
            }
        }
    }
}
