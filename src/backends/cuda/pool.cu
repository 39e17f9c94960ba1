/* CUDA max pool (padding never wins; a NaN wins, as in PyTorch) and PyTorch's
 * adaptive average pool, as src/cpu/pool.c computes them. */
#include "kernels.h"

#include <math.h>

__global__ void k_maxpool(float *out, const float *in, int planes, int h, int w, int oh, int ow, int kh, int kw,
                          int sh, int sw, int pad_t, int pad_l)
{
    size_t total = (size_t)planes * oh * ow;
    AX_CU_FOR(i, total) {
        int ox = (int)(i % (size_t)ow);
        int oy = (int)((i / (size_t)ow) % (size_t)oh);
        size_t p = i / ((size_t)ow * oh);
        int y0 = oy * sh - pad_t, x0 = ox * sw - pad_l;
        int y1 = y0 + kh > h ? h : y0 + kh, x1 = x0 + kw > w ? w : x0 + kw;
        if (y0 < 0) y0 = 0;
        if (x0 < 0) x0 = 0;
        const float *src = in + p * (size_t)h * w;
        float m = 0.0f;
        int first = 1;
        for (int y = y0; y < y1; y++)
            for (int x = x0; x < x1; x++) {
                float v = src[(size_t)y * w + x];
                /* the larger; a NaN wins and stays, as in PyTorch */
                if (first || v > m || v != v) m = v;
                first = 0;
            }
        out[i] = m;
    }
}

void ax_cu_maxpool(cudaStream_t s, float *out, const float *in, int planes, int h, int w, int oh, int ow, int kh,
                   int kw, int sh, int sw, int pad_t, int pad_l)
{
    size_t total = (size_t)planes * oh * ow;
    AX_LAUNCH(k_maxpool, ax_cu_grid(total), AX_CU_BLOCK, s, out, in, planes, h, w, oh, ow, kh, kw, sh, sw, pad_t,
              pad_l);
}

/* PyTorch's bins: [floor(o*H/OH), ceil((o+1)*H/OH)), summed in row order. */
__global__ void k_avgpool(float *out, const float *in, int planes, int h, int w, int oh, int ow)
{
    size_t total = (size_t)planes * oh * ow;
    AX_CU_FOR(i, total) {
        int ox = (int)(i % (size_t)ow);
        int oy = (int)((i / (size_t)ow) % (size_t)oh);
        size_t p = i / ((size_t)ow * oh);
        int y0 = (int)(((long long)oy * h) / oh), y1 = (int)(((long long)(oy + 1) * h + oh - 1) / oh);
        int x0 = (int)(((long long)ox * w) / ow), x1 = (int)(((long long)(ox + 1) * w + ow - 1) / ow);
        const float *src = in + p * (size_t)h * w;
        float sum = 0.0f;
        for (int y = y0; y < y1; y++)
            for (int x = x0; x < x1; x++) sum += src[(size_t)y * w + x];
        int cnt = (y1 - y0) * (x1 - x0);
        out[i] = cnt > 0 ? sum / (float)cnt : 0.0f;
    }
}

void ax_cu_avgpool_adaptive(cudaStream_t s, float *out, const float *in, int planes, int h, int w, int oh, int ow)
{
    size_t total = (size_t)planes * oh * ow;
    AX_LAUNCH(k_avgpool, ax_cu_grid(total), AX_CU_BLOCK, s, out, in, planes, h, w, oh, ow);
}

