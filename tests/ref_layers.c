/* Naive reference layers (see ref_layers.h). Slow on purpose: every loop is the
 * textbook definition, sums are in double, and nothing is shared with src/cpu. */
#include "ref_layers.h"

#include <math.h>
#include <stddef.h>

void ref_conv2d(float *out, const float *in, const float *w, const float *b,
                int n, int c, int h, int wd, int oc, int kh, int kw, int sh, int sw,
                int pad_t, int pad_l, int pad_b, int pad_r, int groups, int *oh, int *ow)
{
    const int OH = (h + pad_t + pad_b - kh) / sh + 1;
    const int OW = (wd + pad_l + pad_r - kw) / sw + 1;
    const int cin_g = c / groups, cout_g = oc / groups;
    *oh = OH;
    *ow = OW;
    for (int i = 0; i < n; i++)
        for (int o = 0; o < oc; o++) {
            const int grp = o / cout_g;
            for (int y = 0; y < OH; y++)
                for (int x = 0; x < OW; x++) {
                    double acc = b ? b[o] : 0.0;
                    for (int ci = 0; ci < cin_g; ci++)
                        for (int u = 0; u < kh; u++)
                            for (int v = 0; v < kw; v++) {
                                int iy = y * sh + u - pad_t, ix = x * sw + v - pad_l;
                                if (iy < 0 || iy >= h || ix < 0 || ix >= wd) continue;
                                int cin = grp * cin_g + ci;
                                double a = in[(((size_t)i * c + cin) * h + iy) * wd + ix];
                                double k = w[(((size_t)o * cin_g + ci) * kh + u) * kw + v];
                                acc += a * k;
                            }
                    out[(((size_t)i * oc + o) * OH + y) * OW + x] = (float)acc;
                }
        }
}

/* Shared by the three conventions below: out = in * (base + mult * sum)^-beta,
 * the sum over channels lo..hi around each channel, clipped to [0, C). */
static void lrn_window(float *out, const float *in, int n, int c, int hw,
                       int below, int above, double base, double mult, double beta)
{
    for (int i = 0; i < n; i++)
        for (int ch = 0; ch < c; ch++)
            for (int p = 0; p < hw; p++) {
                double sum = 0.0;
                for (int j = ch - below; j <= ch + above; j++) {
                    if (j < 0 || j >= c) continue;
                    double a = in[((size_t)i * c + j) * hw + p];
                    sum += a * a;
                }
                size_t at = ((size_t)i * c + ch) * hw + p;
                out[at] = (float)(in[at] / pow(base + mult * sum, beta));
            }
}

void ref_lrn_caffe(float *out, const float *in, int n, int c, int hw,
                   int size, double alpha, double beta, double k)
{
    int pre = (size - 1) / 2;
    lrn_window(out, in, n, c, hw, pre, size - 1 - pre, k, alpha / size, beta);
}

void ref_lrn_tf(float *out, const float *in, int n, int c, int hw,
                int depth_radius, double bias, double alpha, double beta)
{
    lrn_window(out, in, n, c, hw, depth_radius, depth_radius, bias, alpha, beta);
}

void ref_lrn_darknet(float *out, const float *in, int n, int c, int hw,
                     int size, double alpha, double beta, double kappa)
{
    lrn_window(out, in, n, c, hw, size / 2, size / 2, kappa, alpha, beta);
}

/* Number of windows along one axis, counted one by one (see the header). */
static int pool_count(int len, int k, int s, int pad_before, int pad_after, int ceil_mode)
{
    int padded = len + pad_before + pad_after, count = 0;
    for (int start = 0; start < len + pad_before; start += s) {
        int fits = start + k <= padded;
        int prev_short = start == 0 || start - s + k < padded;
        if (ceil_mode ? prev_short : fits) count++;
        else break;
    }
    return count;
}

void ref_maxpool(float *out, const float *in, int n, int c, int h, int w,
                 int kh, int kw, int sh, int sw, int pad_t, int pad_l, int pad_b, int pad_r,
                 int ceil_mode, int *oh, int *ow)
{
    const int OH = pool_count(h, kh, sh, pad_t, pad_b, ceil_mode);
    const int OW = pool_count(w, kw, sw, pad_l, pad_r, ceil_mode);
    *oh = OH;
    *ow = OW;
    for (int p = 0; p < n * c; p++)
        for (int y = 0; y < OH; y++)
            for (int x = 0; x < OW; x++) {
                double m = -INFINITY;
                for (int u = 0; u < kh; u++)
                    for (int v = 0; v < kw; v++) {
                        int iy = y * sh + u - pad_t, ix = x * sw + v - pad_l;
                        if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                        double a = in[((size_t)p * h + iy) * w + ix];
                        if (a > m) m = a;
                    }
                out[((size_t)p * OH + y) * OW + x] = (float)m;
            }
}

void ref_avgpool_adaptive(float *out, const float *in, int n, int c, int h, int w,
                          int oh, int ow)
{
    for (int p = 0; p < n * c; p++)
        for (int y = 0; y < oh; y++)
            for (int x = 0; x < ow; x++) {
                double sum = 0.0;
                int cnt = 0;
                for (int r = 0; r < h; r++) {
                    /* [r, r+1) overlaps [y*h/oh, (y+1)*h/oh), scaled by oh */
                    if (!((long)r * oh < (long)(y + 1) * h && (long)(r + 1) * oh > (long)y * h))
                        continue;
                    for (int q = 0; q < w; q++) {
                        if (!((long)q * ow < (long)(x + 1) * w && (long)(q + 1) * ow > (long)x * w))
                            continue;
                        sum += in[((size_t)p * h + r) * w + q];
                        cnt++;
                    }
                }
                out[((size_t)p * oh + y) * ow + x] = (float)(sum / cnt);
            }
}

void ref_pad(float *out, const float *in, int n, int c, int h, int w,
             int pad_t, int pad_l, int pad_b, int pad_r)
{
    const int OH = h + pad_t + pad_b, OW = w + pad_l + pad_r;
    for (int p = 0; p < n * c; p++)
        for (int y = 0; y < OH; y++)
            for (int x = 0; x < OW; x++) {
                int iy = y - pad_t, ix = x - pad_l;
                int inside = iy >= 0 && iy < h && ix >= 0 && ix < w;
                out[((size_t)p * OH + y) * OW + x] =
                    inside ? in[((size_t)p * h + iy) * w + ix] : 0.0f;
            }
}

void ref_flatten(float *out, const float *in, int n, int c, int h, int w, int hwc)
{
    const size_t f = (size_t)c * h * w;
    for (int i = 0; i < n; i++)
        for (int ch = 0; ch < c; ch++)
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++) {
                    size_t dst = hwc ? ((size_t)y * w + x) * c + ch : ((size_t)ch * h + y) * w + x;
                    out[i * f + dst] = in[(((size_t)i * c + ch) * h + y) * w + x];
                }
}

void ref_fc(float *out, const float *in, const float *w, const float *b,
            int n, int in_f, int out_f)
{
    for (int i = 0; i < n; i++)
        for (int o = 0; o < out_f; o++) {
            double acc = b ? b[o] : 0.0;
            for (int j = 0; j < in_f; j++)
                acc += (double)in[(size_t)i * in_f + j] * w[(size_t)o * in_f + j];
            out[(size_t)i * out_f + o] = (float)acc;
        }
}

void ref_softmax(float *out, const float *in, int n, int c)
{
    for (int i = 0; i < n; i++) {
        const float *x = in + (size_t)i * c;
        double m = x[0], sum = 0.0;
        for (int j = 1; j < c; j++) m = fmax(m, x[j]);
        for (int j = 0; j < c; j++) sum += exp((double)x[j] - m);
        for (int j = 0; j < c; j++) out[(size_t)i * c + j] = (float)(exp((double)x[j] - m) / sum);
    }
}

void ref_relu(float *out, const float *in, int n)
{
    for (int i = 0; i < n; i++) out[i] = in[i] > 0.0f ? in[i] : 0.0f;
}
