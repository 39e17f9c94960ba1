/* CPU backward of the element-wise and reshaping layers (relu, pad, flatten,
 * dropout, softmax) and the softmax cross-entropy loss. No allocation. */
#include "alexscope/grad.h"
#include "core/parallel.h"

#include <math.h>
#include <string.h>

typedef struct {
    float *dx;
    const float *dy, *x;
    size_t n;
} relu_job;

/* Blocks of 16384 elements; the last one takes the remainder. */
static void relu_part(void *arg, int b0, int b1)
{
    const relu_job *j = arg;
    size_t end = (size_t)b1 * 16384 < j->n ? (size_t)b1 * 16384 : j->n;
    for (size_t i = (size_t)b0 * 16384; i < end; i++) j->dx[i] = j->x[i] > 0.0f ? j->dy[i] : 0.0f;
}

void ax_relu_bwd(float *dx, const float *dy, const float *x, size_t n)
{
    relu_job j = {dx, dy, x, n};
    int blocks = (int)((n + 16383) / 16384);
    if (blocks >= 16) ax_parallel_for(blocks, relu_part, &j);
    else relu_part(&j, 0, blocks);
}

void ax_pad_bwd(float *dx, const float *dy, int n, int c, int h, int w, int pad_t, int pad_l, int pad_b,
                int pad_r)
{
    const int oh = h + pad_t + pad_b, ow = w + pad_l + pad_r;
    const size_t planes = (size_t)n * c;
    for (size_t p = 0; p < planes; p++)
        for (int y = 0; y < h; y++)
            memcpy(dx + (p * h + y) * w, dy + (p * oh + y + pad_t) * ow + pad_l, sizeof(float) * w);
}

void ax_flatten_bwd(float *dx, const float *dy, int n, int c, int h, int w, int hwc)
{
    const size_t hw = (size_t)h * w, per = hw * c;
    if (!hwc) {
        if (dx != dy) memmove(dx, dy, sizeof(float) * per * n);
        return;
    }
    for (int img = 0; img < n; img++) {
        const float *src = dy + img * per;   // (H*W, C)
        float *dst = dx + img * per;         // (C, H*W)
        for (int ch = 0; ch < c; ch++)
            for (size_t i = 0; i < hw; i++) dst[ch * hw + i] = src[i * c + ch];
    }
}

/* Uniform in [0, 1) from (seed, i): splitmix64 of their mix, 24 bits. */
static float mask_uniform(uint64_t seed, size_t i)
{
    uint64_t z = seed + 0x9E3779B97F4A7C15ull * (i + 1);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return (float)(z >> 40) * (1.0f / 16777216.0f);
}

void ax_dropout_train(float *y, const float *x, float p, uint64_t seed, size_t n)
{
    float keep = p < 1.0f ? 1.0f / (1.0f - p) : 0.0f;
    for (size_t i = 0; i < n; i++) y[i] = mask_uniform(seed, i) < p ? 0.0f : x[i] * keep;
}

void ax_dropout_bwd(float *dx, const float *dy, float p, uint64_t seed, size_t n)
{
    ax_dropout_train(dx, dy, p, seed, n);
}

void ax_softmax_bwd(float *dx, const float *dy, const float *y, int n, int c)
{
    for (int r = 0; r < n; r++) {
        const float *yr = y + (size_t)r * c, *g = dy + (size_t)r * c;
        float *d = dx + (size_t)r * c;
        double dot = 0;
        for (int i = 0; i < c; i++) dot += (double)g[i] * yr[i];
        for (int i = 0; i < c; i++) d[i] = yr[i] * (g[i] - (float)dot);
    }
}

double ax_softmax_xent(float *dlogits, float *prob, const float *logits, const int *labels, int n, int c)
{
    double loss = 0;
    for (int r = 0; r < n; r++) {
        const float *x = logits + (size_t)r * c;
        float *d = dlogits + (size_t)r * c;
        if (c <= 0) continue;
        float m = x[0];
        for (int i = 1; i < c; i++)
            if (x[i] > m) m = x[i];
        double sum = 0;
        for (int i = 0; i < c; i++) sum += exp((double)x[i] - m);
        double lse = m + log(sum);
        int lab = labels[r];
        int ok = lab >= 0 && lab < c;
        for (int i = 0; i < c; i++) {
            double pr = exp((double)x[i] - lse);
            if (prob) prob[(size_t)r * c + i] = (float)pr;
            d[i] = ok ? (float)((pr - (i == lab)) / n) : 0.0f;
        }
        if (ok) loss += lse - x[lab];
    }
    return n > 0 ? loss / n : 0;
}
