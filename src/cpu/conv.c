/* CPU convolution: im2col into caller-provided scratch, then one OpenBLAS sgemm
 * per image and group. Never allocates, never prints; the caller sizes scratch
 * with ax_conv2d_scratch and checks shapes before calling. */
#include "alexscope/layers.h"

#include <cblas.h>
#include <string.h>

size_t ax_conv2d_scratch(const ax_window *g)
{
    int cg = g->c / (g->groups > 0 ? g->groups : 1);
    return (size_t)cg * g->kh * g->kw * (size_t)g->oh * g->ow;
}

/* First output column whose input column ox*sw - pad_l + kj is >= 0, and one past
 * the last whose input column is < w; both clamped to [0, ow]. */
static void valid_cols(int kj, const ax_window *g, int *lo, int *hi)
{
    int off = g->pad_l - kj;                 /* ix = ox*sw - off */
    int a = off > 0 ? (off + g->sw - 1) / g->sw : 0;
    int last = g->w - 1 + off;               /* ix <= w-1  <=>  ox*sw <= last */
    int b = last >= 0 ? last / g->sw + 1 : 0;
    if (b > g->ow) b = g->ow;
    if (a > b) a = b;
    *lo = a;
    *hi = b;
}

/* col (Cg*KH*KW, OH*OW) from img (Cg, H, W). Each output row is a run of zeros,
 * a copied run (memcpy when sw == 1) and zeros again; the bounds are worked out
 * once per (kj) so the copy loops carry no branch. */
static void im2col(float *col, const float *img, int cg, const ax_window *g)
{
    const int h = g->h, w = g->w, oh = g->oh, ow = g->ow;
    const int sh = g->sh, sw = g->sw;
    const size_t ohw = (size_t)oh * ow;

    for (int ci = 0; ci < cg; ci++) {
        const float *plane = img + (size_t)ci * h * w;
        for (int ki = 0; ki < g->kh; ki++) {
            for (int kj = 0; kj < g->kw; kj++) {
                float *row = col + ((size_t)(ci * g->kh + ki) * g->kw + kj) * ohw;
                int lo, hi;
                valid_cols(kj, g, &lo, &hi);
                const int ix0 = lo * sw - g->pad_l + kj;
                for (int oy = 0; oy < oh; oy++) {
                    float *dst = row + (size_t)oy * ow;
                    int iy = oy * sh - g->pad_t + ki;
                    if (iy < 0 || iy >= h || lo == hi) {
                        memset(dst, 0, sizeof(float) * ow);
                        continue;
                    }
                    const float *src = plane + (size_t)iy * w + ix0;
                    if (lo > 0) memset(dst, 0, sizeof(float) * lo);
                    if (sw == 1) {
                        memcpy(dst + lo, src, sizeof(float) * (hi - lo));
                    } else {
                        float *d = dst + lo;
                        for (int i = 0, n = hi - lo; i < n; i++) d[i] = src[(size_t)i * sw];
                    }
                    if (hi < ow) memset(dst + hi, 0, sizeof(float) * (ow - hi));
                }
            }
        }
    }
}

void ax_conv2d(float *out, const float *in, const float *w, const float *b,
               float *scratch, const ax_window *g)
{
    const int groups = g->groups > 0 ? g->groups : 1;
    const int cg = g->c / groups, ocg = g->oc / groups;
    const int kdim = cg * g->kh * g->kw;                 /* sgemm K */
    const int ohw = g->oh * g->ow;                       /* sgemm N */
    const size_t in_plane = (size_t)g->h * g->w;
    if (g->n <= 0 || ocg <= 0 || ohw <= 0) return;

    /* A 1x1, stride-1, unpadded convolution reads the image as its own im2col. */
    const int direct = g->kh == 1 && g->kw == 1 && g->sh == 1 && g->sw == 1 &&
                       g->pad_t == 0 && g->pad_l == 0 && g->oh == g->h && g->ow == g->w;

    for (int n = 0; n < g->n; n++) {
        for (int gi = 0; gi < groups; gi++) {
            const float *img = in + ((size_t)n * g->c + (size_t)gi * cg) * in_plane; // (Cg, H, W)
            const float *wg = w + (size_t)gi * ocg * kdim;                           // (OCg, K)
            float *og = out + ((size_t)n * g->oc + (size_t)gi * ocg) * ohw;          // (OCg, OH*OW)
            const float *col = img;
            if (!direct) {
                im2col(scratch, img, cg, g);
                col = scratch;                                                       // (K, OH*OW)
            }
            /* Bias goes in first and sgemm adds onto it (beta = 1), which spares
             * OpenBLAS its own pass over C. */
            float beta = 0.0f;
            if (b) {
                for (int o = 0; o < ocg; o++) {
                    float v = b[gi * ocg + o];
                    float *dst = og + (size_t)o * ohw;
                    for (int i = 0; i < ohw; i++) dst[i] = v;
                }
                beta = 1.0f;
            }
            if (kdim == 0) {
                if (!b) memset(og, 0, sizeof(float) * (size_t)ocg * ohw);
                continue;
            }
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, ocg, ohw, kdim,
                        1.0f, wg, kdim, col, ohw, beta, og, ohw);
        }
    }
}
