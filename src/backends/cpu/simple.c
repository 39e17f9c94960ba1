/* CPU element-wise and reshaping layers (relu, pad, flatten, softmax) and the
 * output-size arithmetic of window operations. No allocation, no shape checks
 * beyond what the size helpers compute. */
#include "alexscope/layers.h"
#include "backends/softmax_row.h"

#include <math.h>
#include <string.h>

/* NaN stays NaN (x < 0 is false for it), so a bad input remains visible. */
void ax_relu(float *out, const float *in, size_t n)
{
    for (size_t i = 0; i < n; i++) out[i] = in[i] < 0.0f ? 0.0f : in[i];
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

/* Output length along one axis. Floor mode counts the windows that fit in the
 * padded input. Ceil mode lets the last window run past the end, but, as Caffe
 * and PyTorch do, drops it when it would start inside the after-padding. */
int ax_window_out(int in, int k, int s, int pad_before, int pad_after, int ceil_mode)
{
    if (s <= 0 || k <= 0) return 0;
    int span = in + pad_before + pad_after - k;
    if (span < 0) return 0;
    int out = (ceil_mode ? (span + s - 1) / s : span / s) + 1;
    if (ceil_mode && out > 1 && (out - 1) * s >= in + pad_before) out--;
    return out;
}

/* TensorFlow SAME: out = ceil(in / s); the total padding needed for that is
 * split with the odd cell after (bottom/right). */
void ax_same_padding(int in, int k, int s, int *out, int *pad_before, int *pad_after)
{
    int o = s > 0 ? (in + s - 1) / s : 0;
    int total = (o - 1) * s + k - in;
    if (total < 0) total = 0;
    if (out) *out = o;
    if (pad_before) *pad_before = total / 2;
    if (pad_after) *pad_after = total - total / 2;
}
