/* One row of the softmax, the same code for the CPU kernel (src/cpu/simple.c)
 * and the CUDA kernel (src/cuda/simple.cu), so that both round alike:
 * exp(x - max) keeps every exponent <= 0, so large logits neither overflow
 * nor lose the winner; the sum is kept in double; one multiply by its
 * inverse. y may be x. */
#ifndef AX_SOFTMAX_ROW_H
#define AX_SOFTMAX_ROW_H

#include <math.h>

#ifdef __CUDACC__
#define AX_HOST_DEVICE __host__ __device__
#else
#define AX_HOST_DEVICE
#endif

static inline AX_HOST_DEVICE void ax_softmax_row(float *y, const float *x, int c)
{
    if (c <= 0) return;
    float m = x[0];
    for (int i = 1; i < c; i++)
        if (x[i] > m) m = x[i];
    double sum = 0.0;
    for (int i = 0; i < c; i++) {
        y[i] = expf(x[i] - m);
        sum += y[i];
    }
    float inv = (float)(1.0 / sum);
    for (int i = 0; i < c; i++) y[i] *= inv;
}

#endif
