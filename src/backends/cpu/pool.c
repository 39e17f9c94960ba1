/* CPU pooling: windowed max pool (padding never wins) and PyTorch's adaptive
 * average pool. Output sizes come from the caller (ax_window_out); nothing
 * here allocates or checks shapes; both split by planes over the core pool. */
#include "alexscope/layers.h"

#include <math.h>
#include <stddef.h>

#include "core/parallel.h"

/* Clips the window [o*s - pad, o*s - pad + k) to [0, len). */
static void clip(int o, int k, int s, int pad, int len, int *lo, int *hi)
{
    int a = o * s - pad, b = a + k;
    *lo = a < 0 ? 0 : a;
    *hi = b > len ? len : b;
}

/* in (N, C, H, W) -> out (N, C, OH, OW); g->oc is not used (channels are kept).
 * A window lying wholly in padding has nothing to take the max of and gives 0;
 * ax_window_out's ceil rule never makes one. */
/* The larger of a and b; a NaN in either wins, as in PyTorch. Written as a
 * select so that the row loops below vectorise. */
static inline float max_nan(float a, float b)
{
    return (b > a || b != b) ? b : a;
}

/* Rows up to this width are reduced through a stack buffer; wider ones take
 * the direct path. */
#define ROW_MAX 4096

typedef struct {
    float *out;
    const float *in;
    const ax_window *g;
} maxpool_job;

/* Planes [p0, p1): each is computed alone, so a split gives the same bits. */
static void maxpool_planes(void *arg, int p0, int p1)
{
    const maxpool_job *j = arg;
    const ax_window *g = j->g;
    const float *in = j->in;
    float *out = j->out;
    const int h = g->h, w = g->w, oh = g->oh, ow = g->ow;
    float row[w <= ROW_MAX ? w : 1];

    for (size_t p = (size_t)p0; p < (size_t)p1; p++) {
        const float *src = in + p * h * w;      // (H, W)
        float *dst = out + p * oh * ow;         // (OH, OW)
        for (int oy = 0; oy < oh; oy++) {
            int y0, y1;
            clip(oy, g->kh, g->sh, g->pad_t, h, &y0, &y1);
            if (y0 >= y1) {
                for (int ox = 0; ox < ow; ox++) dst[oy * ow + ox] = 0.0f;
                continue;
            }
            /* Separable: the max over the window's rows first (one vector
             * pass per row), then over each window's columns. */
            const float *rowp = src + (size_t)y0 * w;
            if (w <= ROW_MAX && y1 - y0 > 1) {
                const float *r1 = src + (size_t)(y0 + 1) * w;
                for (int x = 0; x < w; x++) row[x] = max_nan(rowp[x], r1[x]);
                for (int y = y0 + 2; y < y1; y++) {
                    const float *r = src + (size_t)y * w;
                    for (int x = 0; x < w; x++) row[x] = max_nan(row[x], r[x]);
                }
                rowp = row;
            }
            if (rowp == row || y1 - y0 == 1) {
                /* Windows wholly inside the row need no clipping. */
                int lo = (g->pad_l + g->sw - 1) / g->sw, hi = (w - g->kw + g->pad_l) / g->sw + 1;
                if (lo > ow) lo = ow;
                if (hi > ow) hi = ow;
                if (hi < lo) hi = lo;
                float *d = dst + oy * ow;
                /* Plain max (maxss, no branch to mispredict on real data);
                 * a NaN is carried by the sum, which it always poisons. */
                if (g->kw == 3) {
                    for (int ox = lo; ox < hi; ox++) {
                        const float *r = rowp + ox * g->sw - g->pad_l;
                        float m = r[0] > r[1] ? r[0] : r[1];
                        m = m > r[2] ? m : r[2];
                        int nan = (r[0] != r[0]) | (r[1] != r[1]) | (r[2] != r[2]);
                        d[ox] = nan ? r[0] + r[1] + r[2] : m;
                    }
                } else {
                    for (int ox = lo; ox < hi; ox++) {
                        const float *r = rowp + ox * g->sw - g->pad_l;
                        float m = r[0];
                        int nan = r[0] != r[0];
                        for (int k = 1; k < g->kw; k++) {
                            m = r[k] > m ? r[k] : m;
                            nan |= r[k] != r[k];
                        }
                        d[ox] = nan ? (float)NAN : m;
                    }
                }
                for (int ox = 0; ox < ow; ox++) {
                    if (ox == lo) ox = hi;
                    if (ox >= ow) break;
                    int x0, x1;
                    clip(ox, g->kw, g->sw, g->pad_l, w, &x0, &x1);
                    float m = 0.0f;
                    if (x0 < x1) {
                        m = rowp[x0];
                        for (int x = x0 + 1; x < x1; x++) m = max_nan(m, rowp[x]);
                    }
                    d[ox] = m;
                }
                continue;
            }
            for (int ox = 0; ox < ow; ox++) {
                int x0, x1;
                clip(ox, g->kw, g->sw, g->pad_l, w, &x0, &x1);
                if (x0 >= x1) {
                    dst[oy * ow + ox] = 0.0f;
                    continue;
                }
                float m = rowp[x0];
                for (int y = y0; y < y1; y++) {
                    const float *r = src + (size_t)y * w;
                    for (int x = x0; x < x1; x++) m = max_nan(m, r[x]);
                }
                dst[oy * ow + ox] = m;
            }
        }
    }
}

/* Split by planes over the pool from 128K input elements on (pool1 and
 * pool2 of AlexNet at batch 1; pool5's 43K take less than a pool job's
 * wake-up saves). */
void ax_maxpool(float *out, const float *in, const ax_window *g)
{
    int planes = g->n * g->c;
    maxpool_job j = {out, in, g};
    if ((double)planes * g->h * g->w >= 131072) ax_parallel_for(planes, maxpool_planes, &j);
    else maxpool_planes(&j, 0, planes);
}

typedef struct {
    float *out;
    const float *in;
    int h, w, oh, ow;
} avgpool_job;

/* in (N, C, H, W) -> out (N, C, OH, OW). Bin i covers [floor(i*H/OH),
 * ceil((i+1)*H/OH)), so bins may overlap, and repeat cells when OH > H. */
static void avgpool_planes(void *arg, int p0, int p1)
{
    const avgpool_job *j = arg;
    const int h = j->h, w = j->w, oh = j->oh, ow = j->ow;
    const float *in = j->in;
    float *out = j->out;
    for (size_t p = (size_t)p0; p < (size_t)p1; p++) {
        const float *src = in + p * h * w;
        float *dst = out + p * oh * ow;
        for (int oy = 0; oy < oh; oy++) {
            int y0 = (int)(((long)oy * h) / oh);
            int y1 = (int)(((long)(oy + 1) * h + oh - 1) / oh);
            for (int ox = 0; ox < ow; ox++) {
                int x0 = (int)(((long)ox * w) / ow);
                int x1 = (int)(((long)(ox + 1) * w + ow - 1) / ow);
                float sum = 0.0f;
                for (int y = y0; y < y1; y++)
                    for (int x = x0; x < x1; x++) sum += src[(size_t)y * w + x];
                int cnt = (y1 - y0) * (x1 - x0);
                dst[oy * ow + ox] = cnt > 0 ? sum / (float)cnt : 0.0f;
            }
        }
    }
}

void ax_avgpool_adaptive(float *out, const float *in, int n, int c, int h, int w, int oh, int ow)
{
    int planes = n * c;
    avgpool_job j = {out, in, h, w, oh, ow};
    if ((double)planes * h * w >= 131072) ax_parallel_for(planes, avgpool_planes, &j);   /* as max pool */
    else avgpool_planes(&j, 0, planes);
}
