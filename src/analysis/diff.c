/* Element-wise comparison of two host buffers (for `diff` and the reference
 * check): errors, tolerance rule, SNR, per-channel error, KL divergence; and
 * the per-channel damping that LRN applied. No allocation, no I/O; sums and the
 * cosine are taken in double. */
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
    ax_diff_tol(d, a, b, n, 0.0, 0.0);
}

void ax_diff_tol(ax_diff *d, const float *a, const float *b, size_t n, double atol, double rtol)
{
    memset(d, 0, sizeof *d);
    d->snr_db = INFINITY;
    if (n == 0) {
        d->cosine = 1.0;
        return;
    }
    double sum = 0.0, dot = 0.0, aa = 0.0, bb = 0.0, worst = -1.0, worst_rel = 0.0;
    double sig = 0.0, noise = 0.0, min_rtol = 0.0, max_ref = 0.0;
    size_t at = 0, fail = 0, nonfinite = 0;
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
        if (e > 0.0) {
            /* the rtol this element needs with atol = 0: none will do for a zero reference */
            double need = ref > 0.0 && isfinite(ref) ? e / ref : INFINITY;
            if (need > min_rtol)
                min_rtol = need;
        }
        /* a nonfinite mismatch fails whatever the tolerance (rtol * Inf would pass it) */
        if (isinf(e) || (e > atol && e > rtol * ref))
            fail++;
        if (isfinite(a[i]) && isfinite(b[i])) {
            double r = (double)a[i] - b[i];
            sig += ref * ref;
            noise += r * r;
            if (ref > max_ref)
                max_ref = ref;
        } else if (isinf(e)) {
            nonfinite++;
        }
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
    d->max_ref = max_ref;
    d->fail = fail;
    d->min_atol = worst;
    d->min_rtol = min_rtol;
    d->nonfinite = nonfinite;
    if (nonfinite)
        d->snr_db = -INFINITY;
    else if (noise == 0.0)
        d->snr_db = INFINITY;
    else if (sig == 0.0)
        d->snr_db = -INFINITY;
    else
        d->snr_db = 10.0 * log10(sig / noise);
    if (!isfinite(aa) || !isfinite(bb))
        d->cosine = NAN;
    else if (aa == 0.0 && bb == 0.0)
        d->cosine = 1.0;
    else if (aa == 0.0 || bb == 0.0)
        d->cosine = 0.0;
    else
        d->cosine = dot / (sqrt(aa) * sqrt(bb));
}

double ax_tolerance_atol(const ax_tolerance *tol, const float *b, size_t n)
{
    if (tol->atol_of_max <= 0.0)
        return tol->atol;
    double m = 0.0;
    for (size_t i = 0; i < n; i++) {
        double v = fabs((double)b[i]);
        if (isfinite(v) && v > m)
            m = v;
    }
    return tol->atol_of_max * m;
}

void ax_diff_channels(float *out, const float *a, const float *b, int n, int c, int hw)
{
    // a, b: (N, C, HW); out: (C)
    for (int ch = 0; ch < c; ch++) {
        double m = 0.0;
        for (int img = 0; img < n; img++) {
            size_t off = ((size_t)img * c + ch) * hw;
            for (int i = 0; i < hw; i++) {
                double e = abs_diff(a[off + i], b[off + i]);
                if (e > m)
                    m = e;
            }
        }
        out[ch] = (float)m;
    }
}

double ax_kl_divergence(const float *p, const float *q, int n)
{
    double kl = 0.0;
    for (int i = 0; i < n; i++) {
        /* equal terms add exactly 0 (a floor on q alone made tiny equal
         * probabilities, 1e-20 beside 1e-20, count as negative) */
        if (!(p[i] > 0.0f) || p[i] == q[i]) continue;
        double pi = p[i], qi = q[i] > 1e-12f ? q[i] : 1e-12;
        kl += pi * log(pi / qi);
    }
    /* KL is >= 0 for two distributions; a sum below 0 is rounding (p and q
     * sum to 1 only within float precision) */
    return kl > 0.0 ? kl : 0.0;
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
