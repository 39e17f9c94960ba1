/* Element-wise comparison of two host buffers (for `diff` and the reference
 * check) and the per-channel damping that LRN applied. No allocation, no I/O;
 * sums and the cosine are taken in double. */
#include "alexscope/analysis.h"

#include <math.h>
#include <string.h>

/* Floor of the reference magnitude in the relative error, so that a zero in b
 * gives a large but finite figure instead of a division by zero. */
#define REL_FLOOR 1e-12

/* |a - b|, treating matching NaNs and equal infinities as agreement and any
 * other NaN as the worst possible difference. */
static double abs_diff(float a, float b)
{
    if (a == b)
        return 0.0;
    int na = isnan(a), nb = isnan(b);
    if (na && nb)
        return 0.0;
    double d = fabs((double)a - (double)b);
    return isnan(d) ? INFINITY : d;
}

void ax_diff_compute(ax_diff *d, const float *a, const float *b, size_t n)
{
    memset(d, 0, sizeof *d);
    if (n == 0) {
        d->cosine = 1.0;
        return;
    }
    double sum = 0.0, dot = 0.0, aa = 0.0, bb = 0.0, worst = -1.0, worst_rel = 0.0;
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        double e = abs_diff(a[i], b[i]);
        sum += e;
        if (e > worst) {
            worst = e;
            at = i;
        }
        double ref = fabs((double)b[i]);
        double rel = e / (ref > REL_FLOOR ? ref : REL_FLOOR);
        if (rel > worst_rel)
            worst_rel = rel;
        dot += (double)a[i] * b[i];
        aa += (double)a[i] * a[i];
        bb += (double)b[i] * b[i];
    }
    d->max_abs = worst;
    d->mean_abs = sum / (double)n;
    d->max_rel = worst_rel;
    d->worst = at;
    d->worst_a = a[at];
    d->worst_b = b[at];
    if (!isfinite(aa) || !isfinite(bb))
        d->cosine = NAN;
    else if (aa == 0.0 && bb == 0.0)
        d->cosine = 1.0;
    else if (aa == 0.0 || bb == 0.0)
        d->cosine = 0.0;
    else
        d->cosine = dot / (sqrt(aa) * sqrt(bb));
}

void ax_lrn_suppression(float *out, const float *before, const float *after, int n, int c, int hw)
{
    // before, after: (N, C, HW); out: (C)
    for (int ch = 0; ch < c; ch++) {
        double sum = 0.0;
        size_t used = 0;
        for (int img = 0; img < n; img++) {
            size_t off = ((size_t)img * c + ch) * hw;
            const float *x = before + off, *y = after + off;
            for (int i = 0; i < hw; i++) {
                if (fabsf(x[i]) > 0.0f) {
                    sum += (double)y[i] / x[i];
                    used++;
                }
            }
        }
        out[ch] = used ? (float)(sum / (double)used) : 1.0f;
    }
}
