/* CUDA across-channel LRN, the CPU kernel's convention-free form (src/cpu/lrn.c):
 * one thread per output sums its window of squares directly. */
#include "kernels.h"

#include <math.h>

/* The CPU kernel's finish: for beta 0.75, in / (r * sqrt(r)) with r = sqrt(x). */
__device__ static inline float lrn_value(float v, float sum, float scale, float beta, float k)
{
    if (beta == 0.0f) return v;
    float x = k + scale * sum;
    if (beta == 0.75f) {
        float r = sqrtf(x);
        return v / (r * sqrtf(r));
    }
    return v * powf(x, -beta);
}

__global__ void k_lrn(float *out, const float *in, float scale, float beta, float k, int half, int n, int c,
                      int hw)
{
    size_t total = (size_t)n * c * hw;
    AX_CU_FOR(i, total) {
        int p = (int)(i % (size_t)hw);
        int ch = (int)((i / (size_t)hw) % (size_t)c);
        size_t img = i / ((size_t)hw * c);
        int lo = ch - half < 0 ? 0 : ch - half, hi = ch + half > c - 1 ? c - 1 : ch + half;
        const float *base = in + img * (size_t)c * hw + p;
        float sum = 0.0f;
        for (int j = lo; j <= hi; j++) {
            float a = base[(size_t)j * hw];
            sum += a * a;
        }
        out[i] = lrn_value(in[i], sum, scale, beta, k);
    }
}

void ax_cu_lrn(cudaStream_t s, float *out, const float *in, float scale, float beta, float k, int size, int n,
               int c, int hw)
{
    size_t total = (size_t)n * c * hw;
    AX_LAUNCH(k_lrn, ax_cu_grid(total), AX_CU_BLOCK, s, out, in, scale, beta, k, size / 2, n, c, hw);
}

