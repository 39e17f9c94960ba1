/* CUDA element-wise and reshaping kernels (relu, zero padding, the
 * channels-last flatten, bias, softmax, fill), as src/cpu/simple.c computes
 * them. One thread per output element, striding over the grid. */
#include "kernels.h"
#include "backends/softmax_row.h"

#include <math.h>

__global__ void k_relu(float *out, const float *in, size_t n)
{
    AX_CU_FOR(i, n) {
        float v = in[i];
        out[i] = v < 0.0f ? 0.0f : v;   /* a NaN stays NaN, as in PyTorch */
    }
}

void ax_cu_relu(cudaStream_t s, float *out, const float *in, size_t n)
{
    AX_LAUNCH(k_relu, ax_cu_grid(n), AX_CU_BLOCK, s, out, in, n);
}

__global__ void k_pad(float *out, const float *in, int planes, int h, int w, int pad_t, int pad_l, int ph, int pw)
{
    size_t total = (size_t)planes * ph * pw;
    AX_CU_FOR(i, total) {
        int x = (int)(i % (size_t)pw) - pad_l;
        int y = (int)((i / (size_t)pw) % (size_t)ph) - pad_t;
        size_t p = i / ((size_t)pw * ph);
        out[i] = (y >= 0 && y < h && x >= 0 && x < w) ? in[(p * h + y) * (size_t)w + x] : 0.0f;
    }
}

void ax_cu_pad(cudaStream_t s, float *out, const float *in, int n, int c, int h, int w, int pad_t, int pad_l,
               int pad_b, int pad_r)
{
    int ph = h + pad_t + pad_b, pw = w + pad_l + pad_r;
    size_t total = (size_t)n * c * ph * pw;
    AX_LAUNCH(k_pad, ax_cu_grid(total), AX_CU_BLOCK, s, out, in, n * c, h, w, pad_t, pad_l, ph, pw);
}

/* out[img][p * C + ch] = in[img][ch][p] */
__global__ void k_flatten_hwc(float *out, const float *in, int n, int c, int hw)
{
    size_t total = (size_t)n * c * hw;
    AX_CU_FOR(i, total) {
        int ch = (int)(i % (size_t)c);
        int p = (int)((i / (size_t)c) % (size_t)hw);
        size_t img = i / ((size_t)c * hw);
        out[i] = in[(img * c + ch) * (size_t)hw + p];
    }
}

void ax_cu_flatten_hwc(cudaStream_t s, float *out, const float *in, int n, int c, int hw)
{
    size_t total = (size_t)n * c * hw;
    AX_LAUNCH(k_flatten_hwc, ax_cu_grid(total), AX_CU_BLOCK, s, out, in, n, c, hw);
}

__global__ void k_bias_nchw(float *out, const float *b, int n, int c, int hw)
{
    size_t total = (size_t)n * c * hw;
    AX_CU_FOR(i, total) out[i] += b[(i / (size_t)hw) % (size_t)c];
}

void ax_cu_bias_nchw(cudaStream_t s, float *out, const float *b, int n, int c, int hw)
{
    size_t total = (size_t)n * c * hw;
    AX_LAUNCH(k_bias_nchw, ax_cu_grid(total), AX_CU_BLOCK, s, out, b, n, c, hw);
}

__global__ void k_bias_rows(float *out, const float *b, int n, int f)
{
    size_t total = (size_t)n * f;
    AX_CU_FOR(i, total) out[i] += b[i % (size_t)f];
}

void ax_cu_bias_rows(cudaStream_t s, float *out, const float *b, int n, int f)
{
    size_t total = (size_t)n * f;
    AX_LAUNCH(k_bias_rows, ax_cu_grid(total), AX_CU_BLOCK, s, out, b, n, f);
}

/* One thread a row, with the CPU kernel's own row code (softmax_row.h).
 * Rows are few (the batch). */
__global__ void k_softmax(float *out, const float *in, int n, int c)
{
    AX_CU_FOR(r, (size_t)n) ax_softmax_row(out + r * (size_t)c, in + r * (size_t)c, c);
}

void ax_cu_softmax(cudaStream_t s, float *out, const float *in, int n, int c)
{
    /* small blocks: one thread does a whole row */
    unsigned grid = (unsigned)((n + 31) / 32);
    AX_LAUNCH(k_softmax, grid ? grid : 1, 32, s, out, in, n, c);
}

__global__ void k_fill(float *p, float v, size_t n)
{
    AX_CU_FOR(i, n) p[i] = v;
}

void ax_cu_fill(cudaStream_t s, float *p, float v, size_t n)
{
    AX_LAUNCH(k_fill, ax_cu_grid(n), AX_CU_BLOCK, s, p, v, n);
}
