/* Statistics of plain host float buffers: whole-buffer and per-channel figures,
 * histograms, robust ranges, top-k and channel ordering for the UI and the CLI.
 * Never allocates, prints or touches the net; NaN/Inf are counted apart. */
#include "alexscope/analysis.h"

#include <float.h>
#include <math.h>
#include <string.h>

/* Running figures over one or more spans. Values enter relative to `shift` (the
 * first finite value seen) so that the sum of squares does not cancel when the
 * mean is large next to the spread. */
typedef struct {
    float shift;
    int shifted;
    double sum, sq;
    float min, max;
    size_t finite, zeros, total;
} stats_acc;

static void acc_init(stats_acc *a)
{
    memset(a, 0, sizeof *a);
    a->min = INFINITY;
    a->max = -INFINITY;
}

static int is_finite(float v)
{
    return fabsf(v) <= FLT_MAX;
}

/* Four float lanes with double sums per lane (GCC/Clang vector extensions):
 * branch-free at -O2, and no double sum is reassociated. Lanes that hold NaN or
 * Inf are replaced by neutral values through the `ok` mask. */
typedef float v4f __attribute__((vector_size(16)));
typedef int v4i __attribute__((vector_size(16)));
typedef double v4d __attribute__((vector_size(32)));

#define FINITE_BITS 0x7f800000  /* |v| bits below this are finite */
#define LANE_FLUSH ((size_t)1 << 24)  /* vectors before int lane counts are flushed */

static v4f select4(v4i m, v4f a, v4f b)
{
    return (v4f)(((v4i)a & m) | ((v4i)b & ~m));
}

static void acc_lanes(stats_acc *a, const float *x, size_t nvec)
{
    const v4f inf = { INFINITY, INFINITY, INFINITY, INFINITY };
    const v4f shf = { a->shift, a->shift, a->shift, a->shift };
    const v4d shd = { a->shift, a->shift, a->shift, a->shift };
    v4d s = { 0 }, q = { 0 };
    v4f mn = inf, mx = -inf;
    while (nvec) {
        size_t m = nvec < LANE_FLUSH ? nvec : LANE_FLUSH;
        v4i fin = { 0 }, zer = { 0 };
        for (size_t i = 0; i < m; i++, x += 4) {
            v4f v;
            memcpy(&v, x, sizeof v);
            v4i ok = ((v4i)v & 0x7fffffff) < FINITE_BITS;
            v4d d = __builtin_convertvector(select4(ok, v, shf), v4d) - shd;
            s += d;
            q += d * d;
            v4f lo = select4(ok, v, inf), hi = select4(ok, v, -inf);
            mn = select4(lo < mn, lo, mn);
            mx = select4(hi > mx, hi, mx);
            fin -= ok;
            zer -= v == 0.0f;
        }
        for (int j = 0; j < 4; j++) {
            a->finite += (size_t)fin[j];
            a->zeros += (size_t)zer[j];
        }
        nvec -= m;
    }
    for (int j = 0; j < 4; j++) {
        a->sum += s[j];
        a->sq += q[j];
        if (mn[j] < a->min) a->min = mn[j];
        if (mx[j] > a->max) a->max = mx[j];
    }
}

static void acc_span(stats_acc *a, const float *x, size_t n)
{
    size_t i = 0;
    a->total += n;
    if (!a->shifted) {
        while (i < n && !is_finite(x[i]))
            i++;
        if (i == n)
            return;
        a->shift = x[i];
        a->shifted = 1;
    }
    size_t nvec = (n - i) / 4;
    acc_lanes(a, x + i, nvec);
    const double sh = a->shift;
    for (i += nvec * 4; i < n; i++) {
        float v = x[i];
        if (!is_finite(v))
            continue;
        double d = (double)v - sh;
        a->sum += d;
        a->sq += d * d;
        if (v < a->min) a->min = v;
        if (v > a->max) a->max = v;
        a->finite++;
        a->zeros += (size_t)(v == 0.0f);
    }
}

static void acc_finish(ax_stats *s, const stats_acc *a)
{
    memset(s, 0, sizeof *s);
    s->count = a->finite;
    s->nonfinite = a->total - a->finite;
    if (!a->finite)
        return;
    double inv = 1.0 / (double)a->finite;
    double m = a->sum * inv;
    double var = a->sq * inv - m * m;
    s->min = a->min;
    s->max = a->max;
    s->mean = (double)a->shift + m;
    s->std = var > 0.0 ? sqrt(var) : 0.0;
    s->zero_frac = (double)a->zeros * inv;
}

void ax_stats_compute(ax_stats *s, const float *x, size_t n)
{
    stats_acc a;
    acc_init(&a);
    acc_span(&a, x, n);
    acc_finish(s, &a);
}

void ax_channel_stats(ax_stats *out, const float *x, int n, int c, int hw)
{
    // x: (N, C, HW)
    for (int ch = 0; ch < c; ch++) {
        stats_acc a;
        acc_init(&a);
        for (int b = 0; b < n && hw > 0; b++)
            acc_span(&a, x + ((size_t)b * c + ch) * hw, (size_t)hw);
        acc_finish(&out[ch], &a);
    }
}

int ax_stats_dead(const ax_stats *s)
{
    return s->count > 0 && s->nonfinite == 0 && s->zero_frac == 1.0;
}

int ax_dead_count(const ax_stats *ch, int c, ax_layer_type type)
{
    if (type == AX_L_SOFTMAX)
        return 0;
    int dead = 0;
    for (int i = 0; i < c; i++)
        dead += ax_stats_dead(&ch[i]);
    return dead;
}

/* Bin of a finite value; `scale` is bins / (hi - lo), 0 when the range is empty. */
static int bin_of(float v, double lo, double scale, int bins)
{
    double t = ((double)v - lo) * scale;
    if (!(t > 0.0))
        return 0;
    if (t >= (double)bins)
        return bins - 1;
    return (int)t;
}

void ax_histogram(size_t *counts, int bins, const float *x, size_t n, float lo, float hi)
{
    if (bins <= 0)
        return;
    memset(counts, 0, (size_t)bins * sizeof *counts);
    double scale = hi > lo ? (double)bins / ((double)hi - (double)lo) : 0.0;
    for (size_t i = 0; i < n; i++) {
        if (is_finite(x[i]))
            counts[bin_of(x[i], lo, scale, bins)]++;
    }
}

/* A search for the finite value of rank k (0-based, ascending) by narrowing a
 * bracket [lo, hi] with one histogram per pass; values in the bracket that sit at
 * its ends are known exactly, so most searches end on the value itself. */
#define QUANTILE_BINS 256
#define QUANTILE_PASSES 12

typedef struct {
    size_t k, below, inside;
    double lo, hi;
    int closed, done, exact;
    float vmin, vmax, value;
    size_t counts[QUANTILE_BINS];
} quantile_search;

static void quantile_start(quantile_search *q, size_t k, float min, float max)
{
    q->k = k;
    q->lo = min;
    q->hi = max;
    q->closed = 1;
    q->done = 0;
    q->exact = 1;
    q->value = min;
}

/* One pass over x for up to two open searches, then narrow or finish each. */
static void quantile_pass(quantile_search *qs, int nq, const float *x, size_t n, int last_pass)
{
    double scale[2];
    for (int j = 0; j < nq; j++) {
        quantile_search *q = &qs[j];
        memset(q->counts, 0, sizeof q->counts);
        q->below = q->inside = 0;
        q->vmin = INFINITY;
        q->vmax = -INFINITY;
        scale[j] = QUANTILE_BINS / (q->hi - q->lo);
    }
    for (size_t i = 0; i < n; i++) {
        float v = x[i];
        if (!is_finite(v))
            continue;
        for (int j = 0; j < nq; j++) {
            quantile_search *q = &qs[j];
            if (q->done)
                continue;
            if (v < q->lo) {
                q->below++;
            } else if (v < q->hi || (q->closed && v == q->hi)) {
                q->inside++;
                q->counts[bin_of(v, q->lo, scale[j], QUANTILE_BINS)]++;
                if (v < q->vmin) q->vmin = v;
                if (v > q->vmax) q->vmax = v;
            }
        }
    }
    for (int j = 0; j < nq; j++) {
        quantile_search *q = &qs[j];
        if (q->done)
            continue;
        q->done = 1;
        /* the first two cases only arise from rounding at a bin edge */
        if (q->k < q->below)                        { q->value = (float)q->lo; continue; }
        if (q->k >= q->below + q->inside)           { q->value = (float)q->hi; continue; }
        if (q->k == q->below || q->vmin == q->vmax) { q->value = q->vmin; continue; }
        if (q->k == q->below + q->inside - 1)       { q->value = q->vmax; continue; }
        size_t cum = q->below;
        int b = 0;
        while (b < QUANTILE_BINS - 1 && (cum += q->counts[b]) <= q->k)
            b++;
        double width = (q->hi - q->lo) / QUANTILE_BINS;
        double lo = q->lo + width * b;
        if (b < QUANTILE_BINS - 1) {
            q->hi = q->lo + width * (b + 1);
            q->closed = 0;
        }
        q->lo = lo;
        if (q->hi > q->lo && !last_pass)
            q->done = 0;
        else
            q->exact = 0;
    }
}

void ax_percentile_range(float *lo, float *hi, const float *x, size_t n, float p)
{
    ax_stats s;
    ax_stats_compute(&s, x, n);
    *lo = s.min;
    *hi = s.max;
    if (!(p > 0.0f) || s.count == 0 || !(s.max > s.min))
        return;
    /* p arrives as a float (0.01f is a hair under 0.01): allow for its rounding
     * so that p * count on a whole number is not floored one below */
    size_t k = (size_t)((double)p * (1.0 + FLT_EPSILON) * (double)s.count);
    if (k > (s.count - 1) / 2)
        k = (s.count - 1) / 2;
    if (k == 0)
        return;

    quantile_search q[2];
    quantile_start(&q[0], k, s.min, s.max);
    quantile_start(&q[1], s.count - 1 - k, s.min, s.max);
    for (int pass = 0; pass < QUANTILE_PASSES && !(q[0].done && q[1].done); pass++)
        quantile_pass(q, 2, x, n, pass == QUANTILE_PASSES - 1);
    /* a search cut short leaves its bracket: the low end may sit a little below
     * its rank and the high end a little above, never outside [min, max] */
    *lo = fmaxf(q[0].exact ? q[0].value : (float)q[0].lo, s.min);
    *hi = fminf(q[1].exact ? q[1].value : (float)q[1].hi, s.max);
}

/* Selection over indices by a strict total order `before` (a ranks ahead of b):
 * a heap whose root is the last-ranked kept index, then sorted in place. */
typedef int (*rank_fn)(const void *ctx, int a, int b);

static void heap_down(int *h, int len, int at, rank_fn before, const void *ctx)
{
    for (;;) {
        int worst = at, l = 2 * at + 1, r = l + 1;
        if (l < len && before(ctx, h[worst], h[l])) worst = l;
        if (r < len && before(ctx, h[worst], h[r])) worst = r;
        if (worst == at)
            return;
        int t = h[at]; h[at] = h[worst]; h[worst] = t;
        at = worst;
    }
}

static void heap_up(int *h, int at, rank_fn before, const void *ctx)
{
    while (at > 0) {
        int p = (at - 1) / 2;
        if (!before(ctx, h[p], h[at]))
            return;
        int t = h[at]; h[at] = h[p]; h[p] = t;
        at = p;
    }
}

static int select_first(int *out, int k, int n, rank_fn before, const void *ctx)
{
    if (k > n) k = n;
    if (k <= 0)
        return 0;
    int len = 0;
    for (int i = 0; i < n; i++) {
        if (len < k) {
            out[len] = i;
            heap_up(out, len++, before, ctx);
        } else if (before(ctx, i, out[0])) {
            out[0] = i;
            heap_down(out, len, 0, before, ctx);
        }
    }
    for (int end = len - 1; end > 0; end--) {
        int t = out[0]; out[0] = out[end]; out[end] = t;
        heap_down(out, end, 0, before, ctx);
    }
    return len;
}

/* Larger first, NaN last, lower index first among equals. */
static int rank_values(double va, double vb, int a, int b, int descending)
{
    int na = isnan(va), nb = isnan(vb);
    if (na || nb)
        return na == nb ? a < b : nb;
    if (va != vb)
        return descending ? va > vb : va < vb;
    return a < b;
}

static int topk_before(const void *ctx, int a, int b)
{
    const float *x = ctx;
    return rank_values(x[a], x[b], a, b, 1);
}

int ax_topk(int *idx, int k, const float *x, int n)
{
    return select_first(idx, k, n, topk_before, x);
}

typedef struct {
    const ax_stats *s;
    ax_stats_column column;
    int descending;
} order_ctx;

static double column_key(const ax_stats *s, int i, ax_stats_column column)
{
    switch (column) {
    case AX_STATS_MIN:       return s[i].min;
    case AX_STATS_MAX:       return s[i].max;
    case AX_STATS_MEAN:      return s[i].mean;
    case AX_STATS_STD:       return s[i].std;
    case AX_STATS_ZERO_FRAC: return s[i].zero_frac;
    case AX_STATS_NONFINITE: return (double)s[i].nonfinite;
    case AX_STATS_INDEX:
    default:                 return i;
    }
}

static int order_before(const void *ctx, int a, int b)
{
    const order_ctx *o = ctx;
    return rank_values(column_key(o->s, a, o->column), column_key(o->s, b, o->column), a, b,
                       o->descending);
}

void ax_channel_order(int *order, const ax_stats *s, int c, ax_stats_column column, int descending)
{
    order_ctx o = { s, column, descending };
    select_first(order, c, c, order_before, &o);
}
