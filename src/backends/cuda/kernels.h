/* The CUDA backend's own kernels (lrn.cu, pool.cu, simple.cu, conv.cu), for
 * what no library does the way the CPU backend does: LRN in one convention-free form, max pool with PyTorch's NaN
 * rule and Caffe's ceil windows, adaptive average pool, zero padding, the
 * channels-last flatten, bias, softmax, im2col. Each launcher enqueues on
 * `stream` and returns at once. Every kernel computes what the CPU kernel of
 * the same name (include/alexscope/layers.h) computes, element for element.
 * One thread per output element, striding over the grid, and no shared
 * memory: the host emulation (tests/cuda_emu/) runs them as they are. */
#ifndef AX_CUDA_KERNELS_H
#define AX_CUDA_KERNELS_H

#include "cuda_api.h"

void ax_cu_relu(cudaStream_t s, float *out, const float *in, size_t n);

/* out = in / (k + scale * sum_{c' in [c-size/2, c+size/2]} in[c']^2)^beta */
void ax_cu_lrn(cudaStream_t s, float *out, const float *in, float scale, float beta, float k, int size,
               int n, int c, int hw);

/* planes = N*C; windows clipped to the input, an empty one gives 0. */
void ax_cu_maxpool(cudaStream_t s, float *out, const float *in, int planes, int h, int w, int oh, int ow,
                   int kh, int kw, int sh, int sw, int pad_t, int pad_l);

void ax_cu_avgpool_adaptive(cudaStream_t s, float *out, const float *in, int planes, int h, int w, int oh, int ow);

void ax_cu_pad(cudaStream_t s, float *out, const float *in, int n, int c, int h, int w, int pad_t, int pad_l,
               int pad_b, int pad_r);

/* (N, C, H*W) -> (N, H*W, C) */
void ax_cu_flatten_hwc(cudaStream_t s, float *out, const float *in, int n, int c, int hw);

/* out (N, C, HW) += b[c] */
void ax_cu_bias_nchw(cudaStream_t s, float *out, const float *b, int n, int c, int hw);

/* out (N, F) += b[f] */
void ax_cu_bias_rows(cudaStream_t s, float *out, const float *b, int n, int f);

void ax_cu_softmax(cudaStream_t s, float *out, const float *in, int n, int c);

/* col (C*KH*KW, OH*OW) of images [0, n) of in (n, C, H, W), one after the
 * other (image i at col + i * C*KH*KW*OH*OW). */
void ax_cu_im2col(cudaStream_t s, float *col, const float *in, int n, int c, int h, int w, int kh, int kw,
                  int sh, int sw, int pad_t, int pad_l, int oh, int ow);

void ax_cu_fill(cudaStream_t s, float *p, float v, size_t n);

#endif
