/* CPU pooling backward: max pool (the gradient goes to the window's first
 * maximum in row-major order, as PyTorch's CPU kernel chooses it) and the
 * adaptive average pool. Planes are split over the CPU pool; no allocation. */
#include "alexscope/grad.h"
#include "core/parallel.h"

#include <math.h>
#include <string.h>

typedef struct {
    float *dx;
    const float *dy, *x, *y;
    const ax_window *g;
} maxpool_job;

static void maxpool_planes(void *arg, int p0, int p1)
{
    const maxpool_job *j = arg;
    const ax_window *g = j->g;
    const int h = g->h, w = g->w, oh = g->oh, ow = g->ow;
    for (int p = p0; p < p1; p++) {
        const float *src = j->x + (size_t)p * h * w;     // (H, W)
        const float *dy = j->dy + (size_t)p * oh * ow;   // (OH, OW)
        float *dx = j->dx + (size_t)p * h * w;
        memset(dx, 0, sizeof(float) * (size_t)h * w);
        for (int oy = 0; oy < oh; oy++) {
            int y0 = oy * g->sh - g->pad_t, y1 = y0 + g->kh;
            if (y0 < 0) y0 = 0;
            if (y1 > h) y1 = h;
            for (int ox = 0; ox < ow; ox++) {
                int x0 = ox * g->sw - g->pad_l, x1 = x0 + g->kw;
                if (x0 < 0) x0 = 0;
                if (x1 > w) x1 = w;
                if (y0 >= y1 || x0 >= x1) continue;
                /* PyTorch's scan: strictly greater, or NaN, replaces. */
                /* The forward pass's maximum is in the window: its first
                 * occurrence in row-major order is PyTorch's pick. A NaN
                 * window takes PyTorch's scan (the last NaN wins). */
                const float m = j->y[(size_t)p * oh * ow + oy * ow + ox];
                int best = -1;
                if (m == m) {
                    for (int y = y0; y < y1 && best < 0; y++)
                        for (int x = x0; x < x1; x++)
                            if (src[y * w + x] == m) { best = y * w + x; break; }
                }
                if (best < 0) {
                    float mm = -INFINITY;
                    best = y0 * w + x0;
                    for (int y = y0; y < y1; y++)
                        for (int x = x0; x < x1; x++) {
                            float v = src[y * w + x];
                            if (v > mm || v != v) { mm = v; best = y * w + x; }
                        }
                }
                dx[best] += dy[oy * ow + ox];
            }
        }
    }
}

void ax_maxpool_bwd(float *dx, const float *dy, const float *x, const float *y, const ax_window *g)
{
    int planes = g->n * g->c;
    maxpool_job j = {dx, dy, x, y, g};
    if ((double)planes * g->h * g->w >= 1e5) ax_parallel_for(planes, maxpool_planes, &j);
    else maxpool_planes(&j, 0, planes);
}

void ax_avgpool_adaptive_bwd(float *dx, const float *dy, int n, int c, int h, int w, int oh, int ow)
{
    const size_t planes = (size_t)n * c;
    for (size_t p = 0; p < planes; p++) {
        float *d = dx + p * h * w;
        const float *g = dy + p * oh * ow;
        memset(d, 0, sizeof(float) * (size_t)h * w);
        for (int oy = 0; oy < oh; oy++) {
            int y0 = (int)(((long)oy * h) / oh);
            int y1 = (int)(((long)(oy + 1) * h + oh - 1) / oh);
            for (int ox = 0; ox < ow; ox++) {
                int x0 = (int)(((long)ox * w) / ow);
                int x1 = (int)(((long)(ox + 1) * w + ow - 1) / ow);
                int cnt = (y1 - y0) * (x1 - x0);
                if (cnt <= 0) continue;
                float v = g[oy * ow + ox] / (float)cnt;
                for (int y = y0; y < y1; y++)
                    for (int x = x0; x < x1; x++) d[(size_t)y * w + x] += v;
            }
        }
    }
}
