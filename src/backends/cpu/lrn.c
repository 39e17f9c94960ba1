/* CPU across-channel local response normalisation in one convention-free form:
 * out = in / (k + scale * sum_window in^2)^beta. The caller maps its
 * convention's constants to `scale` (ax_lrn_sum_scale). No allocation. */
#include "alexscope/layers.h"

#include <math.h>
#include <stddef.h>

#include "core/parallel.h"

#if defined(__AVX512F__) || defined(__AVX__) || defined(__SSE2__)
#include <immintrin.h>
#endif

/* out[i] = in[i] * (k + scale*s[i])^-0.75, computed as in / (sqrt(x) * sqrt(sqrt(x))):
 * within about two ulp of powf and several times faster. Explicit vectors
 * because sqrtf inside a loop does not vectorise while it may set errno. */
static void finish_075(float *out, const float *in, const float *s, float scale, float k,
                       size_t n)
{
    size_t i = 0;
#if defined(__AVX512F__)
    const __m512 vs = _mm512_set1_ps(scale), vk = _mm512_set1_ps(k);
    for (; i + 16 <= n; i += 16) {
        __m512 x = _mm512_add_ps(vk, _mm512_mul_ps(vs, _mm512_loadu_ps(s + i)));
        __m512 r = _mm512_sqrt_ps(x);
        __m512 d = _mm512_mul_ps(r, _mm512_sqrt_ps(r));
        _mm512_storeu_ps(out + i, _mm512_div_ps(_mm512_loadu_ps(in + i), d));
    }
#elif defined(__AVX__)
    const __m256 vs = _mm256_set1_ps(scale), vk = _mm256_set1_ps(k);
    for (; i + 8 <= n; i += 8) {
        __m256 x = _mm256_add_ps(vk, _mm256_mul_ps(vs, _mm256_loadu_ps(s + i)));
        __m256 r = _mm256_sqrt_ps(x);
        __m256 d = _mm256_mul_ps(r, _mm256_sqrt_ps(r));
        _mm256_storeu_ps(out + i, _mm256_div_ps(_mm256_loadu_ps(in + i), d));
    }
#elif defined(__SSE2__)
    const __m128 vs = _mm_set1_ps(scale), vk = _mm_set1_ps(k);
    for (; i + 4 <= n; i += 4) {
        __m128 x = _mm_add_ps(vk, _mm_mul_ps(vs, _mm_loadu_ps(s + i)));
        __m128 r = _mm_sqrt_ps(x);
        __m128 d = _mm_mul_ps(r, _mm_sqrt_ps(r));
        _mm_storeu_ps(out + i, _mm_div_ps(_mm_loadu_ps(in + i), d));
    }
#endif
    for (; i < n; i++) {
        float r = sqrtf(k + scale * s[i]);
        out[i] = in[i] / (r * sqrtf(r));
    }
}

/* Turns channel c's raw window sum (held in out) into its normalised value. */
static void finish(float *out, const float *in, float scale, float beta, float k, size_t hw)
{
    if (beta == 0.75f) {
        finish_075(out, in, out, scale, k, hw);
    } else if (beta == 0.0f) {
        for (size_t i = 0; i < hw; i++) out[i] = in[i];
    } else {
        for (size_t i = 0; i < hw; i++) out[i] = in[i] * powf(k + scale * out[i], -beta);
    }
}

/* cur = prev + add^2 - sub^2, where add or sub is NULL when the window edge
 * falls outside the channels. The branch sits outside the loops. Subtracting
 * can leave a rounding residue below zero where the true sum is 0; it is
 * clamped so that k = 0 cannot produce a NaN from it (a NaN input still shows). */
static void slide(float *restrict cur, const float *restrict prev, const float *restrict add,
                  const float *restrict sub, size_t hw)
{
    if (add && sub) {
        for (size_t i = 0; i < hw; i++) {
            float v = prev[i] + add[i] * add[i] - sub[i] * sub[i];
            cur[i] = v < 0.0f ? 0.0f : v;
        }
    } else if (add) {
        for (size_t i = 0; i < hw; i++) cur[i] = prev[i] + add[i] * add[i];
    } else if (sub) {
        for (size_t i = 0; i < hw; i++) {
            float v = prev[i] - sub[i] * sub[i];
            cur[i] = v < 0.0f ? 0.0f : v;
        }
    } else {
        for (size_t i = 0; i < hw; i++) cur[i] = prev[i];
    }
}

/* Pixels [i0, i1) of one image: x, y (C, HW). `y` first holds the running
 * window sum of squares of channel c, which is turned into channel c's result
 * as soon as channel c+1's sum has been derived from it. Every pixel's sums
 * run down the channels on their own, so a range gives the same bits as the
 * whole plane when it starts on a multiple of 16 (the vector loops' width). */
static void lrn_range(float *y, const float *x, float scale, float beta, float k, int size, int c, size_t plane,
                      size_t i0, size_t i1)
{
    const int half = size / 2;
    const size_t len = i1 - i0;
    x += i0;
    y += i0;

    /* Channel 0's window is channels 0..half (clipped to C). */
    int top = half < c - 1 ? half : c - 1;
    for (size_t i = 0; i < len; i++) y[i] = x[i] * x[i];
    for (int j = 1; j <= top; j++) {
        const float *xj = x + (size_t)j * plane;
        for (size_t i = 0; i < len; i++) y[i] += xj[i] * xj[i];
    }

    for (int ch = 1; ch < c; ch++) {
        int a = ch + half, s = ch - half - 1;
        slide(y + (size_t)ch * plane, y + (size_t)(ch - 1) * plane, a < c ? x + (size_t)a * plane : NULL,
              s >= 0 ? x + (size_t)s * plane : NULL, len);
        finish(y + (size_t)(ch - 1) * plane, x + (size_t)(ch - 1) * plane, scale, beta, k, len);
    }
    finish(y + (size_t)(c - 1) * plane, x + (size_t)(c - 1) * plane, scale, beta, k, len);
}

typedef struct {
    float *out;
    const float *in;
    float scale, beta, k;
    int size, c, chunks;
    size_t plane, chunk;
} lrn_job;

/* Items are (image, pixel chunk) pairs, image-major. */
static void lrn_part(void *arg, int b0, int b1)
{
    const lrn_job *j = arg;
    for (int b = b0; b < b1; b++) {
        size_t img = (size_t)(b / j->chunks), i0 = (size_t)(b % j->chunks) * j->chunk;
        size_t i1 = i0 + j->chunk < j->plane ? i0 + j->chunk : j->plane;
        size_t off = img * (size_t)j->c * j->plane;
        lrn_range(j->out + off, j->in + off, j->scale, j->beta, j->k, j->size, j->c, j->plane, i0, i1);
    }
}

/* in, out (N, C, HW); out must not overlap in. Split over the pool by
 * images and by chunks of pixels (multiples of 16), so any thread count
 * gives the bits one thread gives. */
void ax_lrn(float *out, const float *in, float scale, float beta, float k,
            int size, int n, int c, int hw)
{
    if (n <= 0 || c <= 0 || hw <= 0) return;
    const size_t plane = (size_t)hw;
    lrn_job j = {out, in, scale, beta, k, size, c, 1, plane, plane};
    if ((double)n * c * hw < 131072) {
        lrn_part(&j, 0, n);
        return;
    }
    /* About four items per thread, chunks of at least 64 pixels. */
    int want = 4 * ax_pool_threads() / n;
    if (want < 1) want = 1;
    size_t chunk = (plane + (size_t)want - 1) / (size_t)want;
    chunk = (chunk + 15) / 16 * 16;
    if (chunk < 64) chunk = 64;
    if (chunk > plane) chunk = plane;
    j.chunk = chunk;
    j.chunks = (int)((plane + chunk - 1) / chunk);
    ax_parallel_for(n * j.chunks, lrn_part, &j);
}
