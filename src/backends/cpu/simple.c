/* CPU element-wise and reshaping layers (relu, pad, flatten, softmax). No
 * allocation, no shape checks: sizes come resolved (window geometry lives
 * with the shape resolver, src/model/layer_kinds.c). */
#include "alexscope/layers.h"
#include "backends/softmax_row.h"

#include <math.h>
#include <string.h>

#include "core/parallel.h"

typedef struct {
    float *out;
    const float *in;
    size_t n;
} relu_job;

/* Blocks of 16384 elements; the last one takes the remainder. NaN stays NaN
 * (x < 0 is false for it), so a bad input remains visible. */
static void relu_part(void *arg, int b0, int b1)
{
    const relu_job *j = arg;
    float *out = j->out;
    const float *in = j->in;
    size_t end = (size_t)b1 * 16384 < j->n ? (size_t)b1 * 16384 : j->n;
    for (size_t i = (size_t)b0 * 16384; i < end; i++) out[i] = in[i] < 0.0f ? 0.0f : in[i];
}

/* Split over the pool from 8 blocks on (128K elements: below that a pool
 * job's wake-up costs about what the split saves). In place is fine: each
 * element is read before it is written, by one thread. */
void ax_relu(float *out, const float *in, size_t n)
{
    relu_job j = {out, in, n};
    int blocks = (int)((n + 16383) / 16384);
    if (blocks >= 8) ax_parallel_for(blocks, relu_part, &j);
    else relu_part(&j, 0, blocks);
}

/* in (N, C, H, W) -> out (N, C, H+t+b, W+l+r). */
void ax_pad(float *out, const float *in, int n, int c, int h, int w,
            int pad_t, int pad_l, int pad_b, int pad_r)
{
    const int oh = h + pad_t + pad_b, ow = w + pad_l + pad_r;
    const size_t planes = (size_t)n * c;
    for (size_t p = 0; p < planes; p++) {
        const float *src = in + p * h * w;
        float *dst = out + p * oh * ow;
        memset(dst, 0, sizeof(float) * (size_t)pad_t * ow);
        for (int y = 0; y < h; y++) {
            float *row = dst + (size_t)(y + pad_t) * ow;
            memset(row, 0, sizeof(float) * pad_l);
            memcpy(row + pad_l, src + (size_t)y * w, sizeof(float) * w);
            memset(row + pad_l + w, 0, sizeof(float) * pad_r);
        }
        memset(dst + (size_t)(h + pad_t) * ow, 0, sizeof(float) * (size_t)pad_b * ow);
    }
}

/* (N, C, H, W) -> (N, C*H*W). CHW keeps the memory order; HWC puts the
 * channels innermost, element (y, x, ch) at (y*W + x)*C + ch, as a
 * channels-last framework flattens. */
void ax_flatten(float *out, const float *in, int n, int c, int h, int w, int hwc)
{
    const size_t hw = (size_t)h * w, per = hw * c;
    if (!hwc) {
        if (out != in) memmove(out, in, sizeof(float) * per * n);
        return;
    }
    for (int img = 0; img < n; img++) {
        const float *src = in + img * per;   // (C, H*W)
        float *dst = out + img * per;        // (H*W, C)
        for (int ch = 0; ch < c; ch++) {
            const float *s = src + ch * hw;
            for (size_t i = 0; i < hw; i++) dst[i * c + ch] = s[i];
        }
    }
}

/* (N, C) -> (N, C), row by row (src/softmax_row.h). */
void ax_softmax(float *out, const float *in, int n, int c)
{
    for (int r = 0; r < n; r++) ax_softmax_row(out + (size_t)r * c, in + (size_t)r * c, c);
}
