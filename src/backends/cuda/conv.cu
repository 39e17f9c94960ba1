/* CUDA im2col for the convolutions that run as GEMMs (no cuDNN, or
 * --no-cudnn): the layout src/cpu/conv.c uses, so the weights multiply it
 * from the left. */
#include "kernels.h"

#include <math.h>

/* col row (ci, ky, kx), column (oy, ox): the weight layout (OC, C, KH, KW)
 * read as a (OC, C*KH*KW) matrix multiplies it from the left. */
__global__ void k_im2col(float *col, const float *in, int n, int c, int h, int w, int kh, int kw, int sh, int sw,
                         int pad_t, int pad_l, int oh, int ow)
{
    size_t npix = (size_t)oh * ow, rows = (size_t)c * kh * kw;
    size_t total = (size_t)n * rows * npix;
    AX_CU_FOR(i, total) {
        int ox = (int)(i % (size_t)ow);
        int oy = (int)((i / (size_t)ow) % (size_t)oh);
        size_t r = (i / npix) % rows;
        size_t img = i / (npix * rows);
        int kx = (int)(r % (size_t)kw), ky = (int)((r / (size_t)kw) % (size_t)kh);
        size_t ci = r / ((size_t)kw * kh);
        int y = oy * sh - pad_t + ky, x = ox * sw - pad_l + kx;
        col[i] = (y >= 0 && y < h && x >= 0 && x < w) ? in[((img * c + ci) * h + y) * (size_t)w + x] : 0.0f;
    }
}

void ax_cu_im2col(cudaStream_t s, float *col, const float *in, int n, int c, int h, int w, int kh, int kw, int sh,
                  int sw, int pad_t, int pad_l, int oh, int ow)
{
    size_t total = (size_t)n * c * kh * kw * oh * ow;
    AX_LAUNCH(k_im2col, ax_cu_grid(total), AX_CU_BLOCK, s, col, in, n, c, h, w, kh, kw, sh, sw, pad_t, pad_l, oh,
              ow);
}

