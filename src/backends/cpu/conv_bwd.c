/* CPU convolution backward: dW = dY x im2col(X)^T and dX = col2im(W^T x dY)
 * through OpenBLAS sgemm, one image at a time, the batch split over slots
 * of the CPU pool, each slot with its own scratch and private dW/db sums.
 * Never allocates; the caller sizes scratch with ax_conv2d_bwd_scratch. */
#include "alexscope/cpu.h"
#include "alexscope/backend.h"
#include "alexscope/grad.h"
#include "core/parallel.h"
#include "backends/cpu/threads.h"

#include <cblas.h>
#include <string.h>

static size_t col_floats(const ax_window *g)
{
    int cg = g->c / (g->groups > 0 ? g->groups : 1);
    return (size_t)cg * g->kh * g->kw * (size_t)g->oh * g->ow;
}

static size_t w_floats(const ax_window *g)
{
    int cg = g->c / (g->groups > 0 ? g->groups : 1);
    return (size_t)g->oc * cg * g->kh * g->kw;
}

size_t ax_conv2d_bwd_scratch(const ax_window *g)
{
    return col_floats(g) + w_floats(g) + (size_t)g->oc;
}

/* Output columns ox whose input column ox*sw - pad_l + kj lies in [0, w). */
static void col_range(int kj, const ax_window *g, int *lo, int *hi)
{
    int off = g->pad_l - kj;
    int a = off > 0 ? (off + g->sw - 1) / g->sw : 0;
    int last = g->w - 1 + off;
    int b = last >= 0 ? last / g->sw + 1 : 0;
    if (b > g->ow) b = g->ow;
    if (a > b) a = b;
    *lo = a;
    *hi = b;
}

/* col (Cg*KH*KW, (oy1-oy0)*OW): the im2col columns of output rows [oy0,
 * oy1) of one group's image (Cg, H, W), the rows of channels [c0, c1) only;
 * padding reads 0. */
static void im2col(float *col, const float *img, int c0, int c1, int oy0, int oy1, const ax_window *g)
{
    const int ow = g->ow;
    const size_t ncols = (size_t)(oy1 - oy0) * ow;
    for (int ci = c0; ci < c1; ci++)
        for (int ki = 0; ki < g->kh; ki++)
            for (int kj = 0; kj < g->kw; kj++) {
                float *row = col + (((size_t)ci * g->kh + ki) * g->kw + kj) * ncols;
                const float *plane = img + (size_t)ci * g->h * g->w;
                int lo, hi;
                col_range(kj, g, &lo, &hi);
                for (int oy = oy0; oy < oy1; oy++) {
                    float *d = row + (size_t)(oy - oy0) * ow;
                    int iy = oy * g->sh - g->pad_t + ki;
                    if (iy < 0 || iy >= g->h || lo >= hi) {
                        memset(d, 0, sizeof(float) * ow);
                        continue;
                    }
                    const float *s = plane + (size_t)iy * g->w + lo * g->sw - g->pad_l + kj;
                    memset(d, 0, sizeof(float) * lo);
                    if (g->sw == 1) memcpy(d + lo, s, sizeof(float) * (hi - lo));
                    else for (int x = lo; x < hi; x++) d[x] = s[(size_t)(x - lo) * g->sw];
                    memset(d + hi, 0, sizeof(float) * (ow - hi));
                }
            }
}

/* The transpose of im2col for output rows [oy0, oy1) and channels [c0, c1):
 * adds col's entries into img (Cg, H, W) at the cells they were read from;
 * padding is dropped. Channels are disjoint planes of img. */
static void col2im(float *img, const float *col, int c0, int c1, int oy0, int oy1, const ax_window *g)
{
    const int ow = g->ow;
    const size_t ncols = (size_t)(oy1 - oy0) * ow;
    for (int ci = c0; ci < c1; ci++)
        for (int ki = 0; ki < g->kh; ki++)
            for (int kj = 0; kj < g->kw; kj++) {
                const float *row = col + (((size_t)ci * g->kh + ki) * g->kw + kj) * ncols;
                float *plane = img + (size_t)ci * g->h * g->w;
                int lo, hi;
                col_range(kj, g, &lo, &hi);
                if (lo >= hi) continue;
                for (int oy = oy0; oy < oy1; oy++) {
                    int iy = oy * g->sh - g->pad_t + ki;
                    if (iy < 0 || iy >= g->h) continue;
                    const float *src = row + (size_t)(oy - oy0) * ow;
                    float *d = plane + (size_t)iy * g->w + lo * g->sw - g->pad_l + kj;
                    if (g->sw == 1) for (int x = lo; x < hi; x++) d[x - lo] += src[x];
                    else for (int x = lo; x < hi; x++) d[(size_t)(x - lo) * g->sw] += src[x];
                }
            }
}

/* Output rows per block: a block's im2col stays in the core's L2 between
 * being written and being multiplied. */
#define BLOCK_FLOATS (1u << 18)
#define MIN_COLS 512

/* Multiply-adds of one image and group above which one slot splits its
 * image over the pool (a compile-time knob for the tests). */
#ifndef AX_CONV_BWD_SPLIT
#define AX_CONV_BWD_SPLIT 4e6
#endif

/* ... but never so few columns that the GEMMs run short. */
static int block_rows(int kdim, const ax_window *g)
{
    int step = (int)(BLOCK_FLOATS / ((size_t)kdim * g->ow));
    if (step * g->ow < MIN_COLS) step = (MIN_COLS + g->ow - 1) / g->ow;
    return step > 0 ? step : 1;
}

typedef struct {
    float *dx, *dw, *db;
    const float *dy, *x, *w;
    float *scratch;
    int slots;
    const ax_window *g;
} bwd_job;

/* Slot s: images [s*N/slots, (s+1)*N/slots), its own im2col and dW/db sums. */
static void bwd_slots(void *arg, int s0, int s1)
{
    const bwd_job *j = arg;
    const ax_window *g = j->g;
    const int groups = g->groups > 0 ? g->groups : 1;
    const int cg = g->c / groups, ocg = g->oc / groups;
    const int kdim = cg * g->kh * g->kw, ohw = g->oh * g->ow;
    const size_t in_plane = (size_t)g->h * g->w;
    for (int s = s0; s < s1; s++) {
        float *col = j->scratch + (size_t)s * ax_conv2d_bwd_scratch(g);
        float *dw = col + col_floats(g), *db = dw + w_floats(g);
        if (j->dw) memset(dw, 0, sizeof(float) * w_floats(g));
        if (j->db) memset(db, 0, sizeof(float) * g->oc);
        int n0 = (int)((long long)g->n * s / j->slots), n1 = (int)((long long)g->n * (s + 1) / j->slots);
        for (int n = n0; n < n1; n++)
            for (int gi = 0; gi < groups; gi++) {
                const float *dyg = j->dy + ((size_t)n * g->oc + (size_t)gi * ocg) * ohw;   // (OCg, OHW)
                const float *img = j->x + ((size_t)n * g->c + (size_t)gi * cg) * in_plane; // (Cg, H, W)
                const float *wg = j->w + (size_t)gi * ocg * kdim;                          // (OCg, K)
                if (j->db)
                    for (int o = 0; o < ocg; o++) {
                        const float *r = dyg + (size_t)o * ohw;
                        double sum = 0;
                        for (int i = 0; i < ohw; i++) sum += r[i];
                        db[gi * ocg + o] += (float)sum;
                    }
                if (kdim == 0) {
                    if (j->dx) memset(j->dx + ((size_t)n * g->c + (size_t)gi * cg) * in_plane, 0,
                                      sizeof(float) * cg * in_plane);
                    continue;
                }
                float *dxg = j->dx ? j->dx + ((size_t)n * g->c + (size_t)gi * cg) * in_plane : NULL;
                if (dxg) memset(dxg, 0, sizeof(float) * cg * in_plane);
                int step = block_rows(kdim, g);
                for (int y0 = 0; y0 < g->oh; y0 += step) {
                    int y1 = y0 + step < g->oh ? y0 + step : g->oh, ncols = (y1 - y0) * g->ow;
                    const float *dyb = dyg + (size_t)y0 * g->ow;   // (OCg, ncols), row stride OHW
                    if (j->dw) {
                        im2col(col, img, 0, cg, y0, y1, g);
                        /* dW_g (OCg, K) += dY_g[:, block] x col^T (ncols, K) */
                        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, ocg, kdim, ncols, 1.0f, dyb, ohw,
                                    col, ncols, 1.0f, dw + (size_t)gi * ocg * kdim, kdim);
                    }
                    if (dxg) {
                        /* col (K, ncols) = W_g^T (K, OCg) x dY_g[:, block] */
                        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, kdim, ncols, ocg, 1.0f, wg, kdim,
                                    dyb, ohw, 0.0f, col, ncols);
                        col2im(dxg, col, 0, cg, y0, y1, g);
                    }
                }
            }
    }
}

/* One image and group, one block of output rows, split over the CPU pool
 * (for a batch smaller than the pool): im2col and dX by input channels
 * (col2im of a channel writes only its own plane), dW by filters. */
typedef struct {
    float *col, *dwg, *dxg;
    const float *img, *wg, *dyb;
    int cg, ocg, kdim, khw, ohw, y0, y1, ncols;
    const ax_window *g;
} img_job;

static void im2col_part(void *arg, int c0, int c1)
{
    const img_job *j = arg;
    im2col(j->col, j->img, c0, c1, j->y0, j->y1, j->g);
}

static void dw_part(void *arg, int o0, int o1)
{
    const img_job *j = arg;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, o1 - o0, j->kdim, j->ncols, 1.0f, j->dyb + (size_t)o0 * j->ohw,
                j->ohw, j->col, j->ncols, 1.0f, j->dwg + (size_t)o0 * j->kdim, j->kdim);
}

static void dx_part(void *arg, int c0, int c1)
{
    const img_job *j = arg;
    int k0 = c0 * j->khw, k1 = c1 * j->khw;
    /* col rows [k0, k1) = W_g[:, k0:k1]^T x dY_g[:, block] */
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, k1 - k0, j->ncols, j->ocg, 1.0f, j->wg + k0, j->kdim,
                j->dyb, j->ohw, 0.0f, j->col + (size_t)k0 * j->ncols, j->ncols);
    col2im(j->dxg, j->col, c0, c1, j->y0, j->y1, j->g);
}

static void bwd_pool(const bwd_job *b)
{
    const ax_window *g = b->g;
    const int groups = g->groups > 0 ? g->groups : 1;
    const int cg = g->c / groups, ocg = g->oc / groups, khw = g->kh * g->kw;
    const int kdim = cg * khw, ohw = g->oh * g->ow;
    const size_t in_plane = (size_t)g->h * g->w;
    float *col = b->scratch, *dw = col + col_floats(g), *db = dw + w_floats(g);
    if (b->dw) memset(dw, 0, sizeof(float) * w_floats(g));
    if (b->db) memset(db, 0, sizeof(float) * g->oc);
    for (int n = 0; n < g->n; n++)
        for (int gi = 0; gi < groups; gi++) {
            img_job j = {.col = col, .dwg = dw + (size_t)gi * ocg * kdim,
                         .dxg = b->dx ? b->dx + ((size_t)n * g->c + (size_t)gi * cg) * in_plane : NULL,
                         .img = b->x + ((size_t)n * g->c + (size_t)gi * cg) * in_plane,
                         .wg = b->w + (size_t)gi * ocg * kdim, .cg = cg, .ocg = ocg, .kdim = kdim, .khw = khw,
                         .ohw = ohw, .g = g};
            const float *dyg = b->dy + ((size_t)n * g->oc + (size_t)gi * ocg) * ohw;
            if (b->db)
                for (int o = 0; o < ocg; o++) {
                    double sum = 0;
                    for (int i = 0; i < ohw; i++) sum += dyg[(size_t)o * ohw + i];
                    db[gi * ocg + o] += (float)sum;
                }
            if (j.dxg) memset(j.dxg, 0, sizeof(float) * cg * in_plane);
            int step = block_rows(kdim, g);
            for (int y0 = 0; y0 < g->oh; y0 += step) {
                j.y0 = y0;
                j.y1 = y0 + step < g->oh ? y0 + step : g->oh;
                j.ncols = (j.y1 - y0) * g->ow;
                j.dyb = dyg + (size_t)y0 * g->ow;
                if (b->dw) {
                    ax_parallel_for(cg, im2col_part, &j);
                    ax_parallel_for(ocg, dw_part, &j);
                }
                if (j.dxg) ax_parallel_for(cg, dx_part, &j);
            }
        }
}

typedef struct {
    float *dst;
    const float *scratch;
    size_t stride, offset;
    int slots;
} sum_job;

/* dst[i] = sum over slots of their private sums, in slot order. */
static void sum_slots(void *arg, int i0, int i1)
{
    const sum_job *j = arg;
    for (int i = i0; i < i1; i++) {
        float v = 0;
        for (int s = 0; s < j->slots; s++) v += j->scratch[(size_t)s * j->stride + j->offset + i];
        j->dst[i] = v;
    }
}

void ax_conv2d_bwd_im2col(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w,
                          float *scratch, int slots, const ax_window *g)
{
    ax_cpu_blas_single();
    if (g->n <= 0 || g->oc <= 0) return;
    if (slots < 1) slots = 1;
    if (slots > g->n) slots = g->n;
    if (g->oh * g->ow <= 0) {
        if (dx) memset(dx, 0, sizeof(float) * (size_t)g->n * g->c * g->h * g->w);
        if (dw) memset(dw, 0, sizeof(float) * w_floats(g));
        if (db) memset(db, 0, sizeof(float) * g->oc);
        return;
    }
    bwd_job job = {dx, dw, db, dy, x, w, scratch, slots, g};
    const int groups = g->groups > 0 ? g->groups : 1;
    const int kdim = g->c / groups * g->kh * g->kw;
    /* One slot on a pool of several: the work of each image is split instead
     * (when there is enough of it to pay for waking the pool). */
    if (slots > 1) ax_parallel_for(slots, bwd_slots, &job);
    else if (kdim > 0 && ax_cpu_threads() > 1 && (double)g->oc / groups * g->oh * g->ow * kdim >= AX_CONV_BWD_SPLIT)
        bwd_pool(&job);
    else bwd_slots(&job, 0, 1);
    const size_t stride = ax_conv2d_bwd_scratch(g);
    if (dw) {
        sum_job sj = {dw, scratch, stride, col_floats(g), slots};
        int count = (int)w_floats(g);
        if (slots > 1 && count >= 65536) ax_parallel_for(count, sum_slots, &sj);
        else sum_slots(&sj, 0, count);
    }
    if (db) {
        sum_job sj = {db, scratch, stride, col_floats(g) + w_floats(g), slots};
        sum_slots(&sj, 0, g->oc);
    }
}
