/* CPU LRN backward for out = in * d^-beta, d = k + scale * (window sum of in^2):
 *   dx_c = dy_c d_c^-beta - 2 beta scale x_c sum_{i in window(c)} dy_i y_i / d_i
 * (the window is symmetric, so c is in i's window exactly when i is in c's).
 * Blocks of pixels are split over slots of the CPU pool; no allocation. */
#include "alexscope/grad.h"
#include "core/parallel.h"

#include <math.h>
#include <string.h>

#if defined(__AVX512F__) || defined(__AVX__) || defined(__SSE2__)
#include <immintrin.h>
#endif

/* Pixels per block: each slot keeps two (C, BLOCK) planes of scratch. */
#define BLOCK 256

size_t ax_lrn_bwd_scratch(int c)
{
    return (2 * (size_t)(c > 0 ? c : 0) + 1) * BLOCK;
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

/* d = k + scale * sum; p = d^-0.75 as 1 / (sqrt(d) sqrt(sqrt(d))), t = dy * y / d,
 * in explicit vectors (sqrtf in a loop does not vectorise while it may set
 * errno). Returns how many elements it did; the caller does the rest. */
static int finish_075(float *p, float *t, const float *sum, const float *dy, const float *y, float k, float scale,
                      int m)
{
    int i = 0;
#if defined(__AVX512F__)
    const __m512 vk = _mm512_set1_ps(k), vs = _mm512_set1_ps(scale), one = _mm512_set1_ps(1.0f);
    for (; i + 16 <= m; i += 16) {
        __m512 d = _mm512_add_ps(vk, _mm512_mul_ps(vs, _mm512_loadu_ps(sum + i)));
        __m512 r = _mm512_sqrt_ps(d);
        _mm512_storeu_ps(p + i, _mm512_div_ps(one, _mm512_mul_ps(r, _mm512_sqrt_ps(r))));
        _mm512_storeu_ps(t + i, _mm512_div_ps(_mm512_mul_ps(_mm512_loadu_ps(dy + i), _mm512_loadu_ps(y + i)), d));
    }
#elif defined(__AVX__)
    const __m256 vk = _mm256_set1_ps(k), vs = _mm256_set1_ps(scale), one = _mm256_set1_ps(1.0f);
    for (; i + 8 <= m; i += 8) {
        __m256 d = _mm256_add_ps(vk, _mm256_mul_ps(vs, _mm256_loadu_ps(sum + i)));
        __m256 r = _mm256_sqrt_ps(d);
        _mm256_storeu_ps(p + i, _mm256_div_ps(one, _mm256_mul_ps(r, _mm256_sqrt_ps(r))));
        _mm256_storeu_ps(t + i, _mm256_div_ps(_mm256_mul_ps(_mm256_loadu_ps(dy + i), _mm256_loadu_ps(y + i)), d));
    }
#elif defined(__SSE2__)
    const __m128 vk = _mm_set1_ps(k), vs = _mm_set1_ps(scale), one = _mm_set1_ps(1.0f);
    for (; i + 4 <= m; i += 4) {
        __m128 d = _mm_add_ps(vk, _mm_mul_ps(vs, _mm_loadu_ps(sum + i)));
        __m128 r = _mm_sqrt_ps(d);
        _mm_storeu_ps(p + i, _mm_div_ps(one, _mm_mul_ps(r, _mm_sqrt_ps(r))));
        _mm_storeu_ps(t + i, _mm_div_ps(_mm_mul_ps(_mm_loadu_ps(dy + i), _mm_loadu_ps(y + i)), d));
    }
#endif
    (void)k; (void)scale; (void)sum; (void)dy; (void)y; (void)p; (void)t; (void)m;
    return i;
}

/* One block of pixels [p0, p0+m) of image img. pw (C, m) gets d^-beta and
 * tt (C, m) gets dy * y / d; every loop runs along the pixels. */
static void lrn_block(const lrn_job *j, float *pw, float *tt, float *sum, int img, int p0, int m)
{
    const int c = j->c, half = j->size / 2;
    const size_t plane = (size_t)j->hw, base = (size_t)img * c * plane + p0;
    const float *x = j->x + base, *y = j->y + base, *dy = j->dy + base;
    float *dx = j->dx + base;
    for (int ch = 0; ch < c; ch++) {
        int lo = ch - half < 0 ? 0 : ch - half, hi = ch + half > c - 1 ? c - 1 : ch + half;
        for (int i = 0; i < m; i++) sum[i] = 0.0f;
        for (int q = lo; q <= hi; q++) {
            const float *xq = x + (size_t)q * plane;
            for (int i = 0; i < m; i++) sum[i] += xq[i] * xq[i];
        }
        const float *yc = y + (size_t)ch * plane, *dyc = dy + (size_t)ch * plane;
        float *p = pw + (size_t)ch * m, *t = tt + (size_t)ch * m;
        int i = 0;
        if (j->beta == 0.75f) i = finish_075(p, t, sum, dyc, yc, j->k, j->scale, m);
        for (; i < m; i++) {
            float d = j->k + j->scale * sum[i];
            p[i] = pow_neg(d, j->beta);
            t[i] = dyc[i] * yc[i] / d;
        }
    }
    const float f = 2.0f * j->beta * j->scale;
    for (int ch = 0; ch < c; ch++) {
        int lo = ch - half < 0 ? 0 : ch - half, hi = ch + half > c - 1 ? c - 1 : ch + half;
        for (int i = 0; i < m; i++) sum[i] = 0.0f;
        for (int q = lo; q <= hi; q++) {
            const float *tq = tt + (size_t)q * m;
            for (int i = 0; i < m; i++) sum[i] += tq[i];
        }
        const float *p = pw + (size_t)ch * m, *xc = x + (size_t)ch * plane, *dyc = dy + (size_t)ch * plane;
        float *dxc = dx + (size_t)ch * plane;
        for (int i = 0; i < m; i++) dxc[i] = dyc[i] * p[i] - f * xc[i] * sum[i];
    }
}

static void lrn_slots(void *arg, int s0, int s1)
{
    const lrn_job *j = arg;
    const int tasks = j->n * j->nblk;
    for (int s = s0; s < s1; s++) {
        float *pw = j->scratch + (size_t)s * ax_lrn_bwd_scratch(j->c), *tt = pw + (size_t)j->c * BLOCK;
        float *sum = tt + (size_t)j->c * BLOCK;
        int t0 = (int)((long long)tasks * s / j->slots), t1 = (int)((long long)tasks * (s + 1) / j->slots);
        for (int t = t0; t < t1; t++) {
            int img = t / j->nblk, p0 = (t % j->nblk) * BLOCK;
            int m = j->hw - p0 < BLOCK ? j->hw - p0 : BLOCK;
            lrn_block(j, pw, tt, sum, img, p0, m);
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
