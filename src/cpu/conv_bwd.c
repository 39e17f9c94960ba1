/* CPU convolution backward: dW = dY x im2col(X)^T and dX = col2im(W^T x dY)
 * through OpenBLAS sgemm, one image at a time, the batch split over slots
 * of the CPU pool, each slot with its own scratch and private dW/db sums.
 * Never allocates; the caller sizes scratch with ax_conv2d_bwd_scratch. */
#include "alexscope/grad.h"
#include "parallel.h"

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

/* col (Cg*KH*KW, OH*OW) from one group's image (Cg, H, W); padding reads 0. */
static void im2col(float *col, const float *img, int cg, const ax_window *g)
{
    const int ow = g->ow, ohw = g->oh * g->ow;
    for (int ci = 0; ci < cg; ci++)
        for (int ki = 0; ki < g->kh; ki++)
            for (int kj = 0; kj < g->kw; kj++) {
                float *row = col + (((size_t)ci * g->kh + ki) * g->kw + kj) * ohw;
                const float *plane = img + (size_t)ci * g->h * g->w;
                int lo, hi;
                col_range(kj, g, &lo, &hi);
                for (int oy = 0; oy < g->oh; oy++) {
                    float *d = row + (size_t)oy * ow;
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

/* The transpose of im2col: img (Cg, H, W) = sum of col's entries over the
 * windows each input cell appears in; cells in padding are dropped. */
static void col2im(float *img, const float *col, int cg, const ax_window *g)
{
    const int ow = g->ow, ohw = g->oh * g->ow;
    memset(img, 0, sizeof(float) * (size_t)cg * g->h * g->w);
    for (int ci = 0; ci < cg; ci++)
        for (int ki = 0; ki < g->kh; ki++)
            for (int kj = 0; kj < g->kw; kj++) {
                const float *row = col + (((size_t)ci * g->kh + ki) * g->kw + kj) * ohw;
                float *plane = img + (size_t)ci * g->h * g->w;
                int lo, hi;
                col_range(kj, g, &lo, &hi);
                if (lo >= hi) continue;
                for (int oy = 0; oy < g->oh; oy++) {
                    int iy = oy * g->sh - g->pad_t + ki;
                    if (iy < 0 || iy >= g->h) continue;
                    const float *s = row + (size_t)oy * ow;
                    float *d = plane + (size_t)iy * g->w + lo * g->sw - g->pad_l + kj;
                    if (g->sw == 1) for (int x = lo; x < hi; x++) d[x - lo] += s[x];
                    else for (int x = lo; x < hi; x++) d[(size_t)(x - lo) * g->sw] += s[x];
                }
            }
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
                if (j->dw && kdim > 0) {
                    im2col(col, img, cg, g);
                    /* dW_g (OCg, K) += dY_g (OCg, OHW) x col^T (OHW, K) */
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, ocg, kdim, ohw, 1.0f, dyg, ohw,
                                col, ohw, 1.0f, dw + (size_t)gi * ocg * kdim, kdim);
                }
                if (j->dx) {
                    float *dxg = j->dx + ((size_t)n * g->c + (size_t)gi * cg) * in_plane;
                    if (kdim == 0) continue;
                    /* col (K, OHW) = W_g^T (K, OCg) x dY_g (OCg, OHW) */
                    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, kdim, ohw, ocg, 1.0f, wg, kdim,
                                dyg, ohw, 0.0f, col, ohw);
                    col2im(dxg, col, cg, g);
                }
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

void ax_conv2d_bwd(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w,
                   float *scratch, int slots, const ax_window *g)
{
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
    if (slots > 1) ax_parallel_for(slots, bwd_slots, &job);
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
