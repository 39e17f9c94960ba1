/* CPU LRN backward for out = in * d^-beta, d = k + scale * (window sum of in^2):
 *   dx_c = dy_c d_c^-beta - 2 beta scale x_c sum_{i in window(c)} dy_i y_i / d_i
 * (the window is symmetric, so c is in i's window exactly when i is in c's).
 * Blocks of pixels are split over slots of the CPU pool; no allocation. */
#include "alexscope/grad.h"
#include "parallel.h"

#include <math.h>
#include <string.h>

/* Pixels per block: each slot keeps two (C, BLOCK) planes of scratch. */
#define BLOCK 256

size_t ax_lrn_bwd_scratch(int c)
{
    return 2 * (size_t)(c > 0 ? c : 0) * BLOCK;
}

typedef struct {
    float *dx;
    const float *dy, *x, *y;
    float scale, beta, k;
    int size, n, c, hw, nblk, slots;
    float *scratch;
} lrn_job;

static inline float pow_neg(float d, float beta)
{
    if (beta == 0.75f) {
        float r = sqrtf(d);
        return 1.0f / (r * sqrtf(r));
    }
    return powf(d, -beta);
}

/* One block of pixels [p0, p0+m) of image img. */
static void lrn_block(const lrn_job *j, float *dd, float *tt, int img, int p0, int m)
{
    const int c = j->c, half = j->size / 2;
    const size_t plane = (size_t)j->hw, base = (size_t)img * c * plane + p0;
    const float *x = j->x + base, *y = j->y + base, *dy = j->dy + base;
    float *dx = j->dx + base;
    for (int ch = 0; ch < c; ch++) {
        float *d = dd + (size_t)ch * m;
        int lo = ch - half < 0 ? 0 : ch - half, hi = ch + half > c - 1 ? c - 1 : ch + half;
        for (int i = 0; i < m; i++) d[i] = 0.0f;
        for (int q = lo; q <= hi; q++) {
            const float *xq = x + (size_t)q * plane;
            for (int i = 0; i < m; i++) d[i] += xq[i] * xq[i];
        }
        const float *yc = y + (size_t)ch * plane, *dyc = dy + (size_t)ch * plane;
        float *t = tt + (size_t)ch * m;
        for (int i = 0; i < m; i++) {
            d[i] = j->k + j->scale * d[i];
            t[i] = dyc[i] * yc[i] / d[i];
        }
    }
    const float f = 2.0f * j->beta * j->scale;
    for (int ch = 0; ch < c; ch++) {
        int lo = ch - half < 0 ? 0 : ch - half, hi = ch + half > c - 1 ? c - 1 : ch + half;
        const float *d = dd + (size_t)ch * m, *xc = x + (size_t)ch * plane, *dyc = dy + (size_t)ch * plane;
        float *dxc = dx + (size_t)ch * plane;
        for (int i = 0; i < m; i++) {
            float sum = 0.0f;
            for (int q = lo; q <= hi; q++) sum += tt[(size_t)q * m + i];
            dxc[i] = dyc[i] * pow_neg(d[i], j->beta) - f * xc[i] * sum;
        }
    }
}

static void lrn_slots(void *arg, int s0, int s1)
{
    const lrn_job *j = arg;
    const int tasks = j->n * j->nblk;
    for (int s = s0; s < s1; s++) {
        float *dd = j->scratch + (size_t)s * ax_lrn_bwd_scratch(j->c), *tt = dd + (size_t)j->c * BLOCK;
        int t0 = (int)((long long)tasks * s / j->slots), t1 = (int)((long long)tasks * (s + 1) / j->slots);
        for (int t = t0; t < t1; t++) {
            int img = t / j->nblk, p0 = (t % j->nblk) * BLOCK;
            int m = j->hw - p0 < BLOCK ? j->hw - p0 : BLOCK;
            lrn_block(j, dd, tt, img, p0, m);
        }
    }
}

void ax_lrn_bwd(float *dx, const float *dy, const float *x, const float *y, float scale, float beta,
                float k, int size, int n, int c, int hw, float *scratch, int slots)
{
    if (n <= 0 || c <= 0 || hw <= 0) return;
    lrn_job j = {dx, dy, x, y, scale, beta, k, size, n, c, hw, (hw + BLOCK - 1) / BLOCK, slots < 1 ? 1 : slots,
                 scratch};
    if (j.slots > n * j.nblk) j.slots = n * j.nblk;
    if (j.slots > 1) ax_parallel_for(j.slots, lrn_slots, &j);
    else lrn_slots(&j, 0, 1);
}
