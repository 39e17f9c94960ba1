/* Check suite "analysis": statistics, histograms, top-k, heatmap levels and
 * colours, differences and LRN suppression on small buffers whose expected
 * figures are worked out by hand in the comments. */
#include "check_util.h"

#include "alexscope/analysis.h"
#include "alexscope/layers.h"

#include <math.h>
#include <string.h>

#define EXACT 1e-12

/* ---- whole-buffer statistics ---- */

START_TEST(test_stats_small)
{
    const float x[] = { 0, 1, 2, -3 };
    ax_stats s;
    ax_stats_compute(&s, x, 4);
    /* sum 0, sum of squares 14: variance 14/4 */
    ck_assert_float_eq(s.min, -3.0f);
    ck_assert_float_eq(s.max, 2.0f);
    ck_assert_double_eq_tol(s.mean, 0.0, EXACT);
    ck_assert_double_eq_tol(s.std, sqrt(3.5), EXACT);
    ck_assert_double_eq_tol(s.zero_frac, 0.25, EXACT);
    ck_assert_uint_eq(s.count, 4);
    ck_assert_uint_eq(s.nonfinite, 0);
}
END_TEST

START_TEST(test_stats_large_offset)
{
    /* the same spread around 1e6: float holds these exactly, and the figures
     * must not lose the variance to cancellation */
    const float x[] = { 1e6f, 1e6f + 1, 1e6f + 2, 1e6f - 3, 1e6f, 1e6f + 1, 1e6f + 2, 1e6f - 3, 1e6f };
    ax_stats s;
    ax_stats_compute(&s, x, 8);
    ck_assert_double_eq_tol(s.mean, 1e6, 1e-9);
    ck_assert_double_eq_tol(s.std, sqrt(3.5), 1e-9);
    ck_assert_double_eq_tol(s.zero_frac, 0.0, EXACT);
    /* nine: one value past the four-wide lanes */
    ax_stats_compute(&s, x, 9);
    /* deviations 0,1,2,-3 twice and 0: sum 0, squares 28 over 9 */
    ck_assert_double_eq_tol(s.mean, 1e6, 1e-9);
    ck_assert_double_eq_tol(s.std, sqrt(28.0 / 9.0), 1e-9);
}
END_TEST

START_TEST(test_stats_nonfinite)
{
    /* 1..20 with NaN first (so the first value is not finite), +Inf inside and
     * -Inf last: count 20, mean 10.5, variance (20^2 - 1) / 12 = 33.25 */
    float x[23];
    int k = 0;
    x[k++] = NAN;
    for (int v = 1; v <= 10; v++) x[k++] = (float)v;
    x[k++] = INFINITY;
    for (int v = 11; v <= 20; v++) x[k++] = (float)v;
    x[k++] = -INFINITY;
    ax_stats s;
    ax_stats_compute(&s, x, 23);
    ck_assert_uint_eq(s.count, 20);
    ck_assert_uint_eq(s.nonfinite, 3);
    ck_assert_float_eq(s.min, 1.0f);
    ck_assert_float_eq(s.max, 20.0f);
    ck_assert_double_eq_tol(s.mean, 10.5, EXACT);
    ck_assert_double_eq_tol(s.std, sqrt(33.25), EXACT);
    ck_assert_double_eq_tol(s.zero_frac, 0.0, EXACT);

    /* -0.0 is an exact zero; the NaN is out of the count */
    const float z[] = { 0.0f, -0.0f, 5.0f, NAN };
    ax_stats_compute(&s, z, 4);
    ck_assert_uint_eq(s.count, 3);
    ck_assert_uint_eq(s.nonfinite, 1);
    ck_assert_double_eq_tol(s.zero_frac, 2.0 / 3.0, EXACT);
    ck_assert_double_eq_tol(s.mean, 5.0 / 3.0, EXACT);

    const float bad[] = { NAN, INFINITY, -INFINITY };
    ax_stats_compute(&s, bad, 3);
    ck_assert_uint_eq(s.count, 0);
    ck_assert_uint_eq(s.nonfinite, 3);
    ck_assert_float_eq(s.min, 0.0f);
    ck_assert_float_eq(s.max, 0.0f);
    ck_assert_double_eq(s.mean, 0.0);
    ck_assert_double_eq(s.std, 0.0);
    ck_assert(!ax_stats_dead(&s));

    ax_stats_compute(&s, bad, 0);
    ck_assert_uint_eq(s.count, 0);
    ck_assert_uint_eq(s.nonfinite, 0);
}
END_TEST

/* Plain two-pass reference over the non-NaN values of x. */
static void two_pass(ax_stats *r, const float *x, size_t n)
{
    memset(r, 0, sizeof *r);
    double sum = 0.0, sq = 0.0, zeros = 0.0;
    r->min = INFINITY;
    r->max = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        if (isnan(x[i])) { r->nonfinite++; continue; }
        sum += x[i];
        zeros += x[i] == 0.0f;
        r->count++;
        r->min = fminf(r->min, x[i]);
        r->max = fmaxf(r->max, x[i]);
    }
    r->mean = sum / r->count;
    for (size_t i = 0; i < n; i++)
        if (!isnan(x[i])) sq += (x[i] - r->mean) * (x[i] - r->mean);
    r->std = sqrt(sq / r->count);
    r->zero_frac = zeros / r->count;
}

START_TEST(test_stats_against_two_pass)
{
    enum { N = 1003 };
    float x[N];
    ax_fill_uniform(x, N, -2.0f, 7.0f, 11);
    for (int i = 0; i < N; i += 5) x[i] = 0.0f;
    x[17] = NAN;
    /* also one float off alignment, and a length that leaves a tail */
    for (int off = 0; off < 3; off++) {
        ax_stats s, r;
        ax_stats_compute(&s, x + off, N - 2 * off);
        two_pass(&r, x + off, N - 2 * off);
        ck_assert_uint_eq(s.count, r.count);
        ck_assert_uint_eq(s.nonfinite, 1);
        ck_assert_double_eq_tol(s.mean, r.mean, 1e-12);
        ck_assert_double_eq_tol(s.std, r.std, 1e-12);
        ck_assert_double_eq_tol(s.zero_frac, r.zero_frac, EXACT);
        ck_assert_float_eq(s.min, r.min);
        ck_assert_float_eq(s.max, r.max);
    }
}
END_TEST

/* ---- per-channel statistics ---- */

START_TEST(test_channel_stats_batch)
{
    /* (N=2, C=3, HW=3): channel 0 pools 1..6, channel 1 is all zeros, channel
     * 2 is zeros with one NaN */
    const float x[] = {
        1, 2, 3,   0, 0, 0,   0, NAN, 0,
        4, 5, 6,   0, 0, 0,   0, 0, 0,
    };
    ax_stats s[3];
    ax_channel_stats(s, x, 2, 3, 3);
    ck_assert_uint_eq(s[0].count, 6);
    ck_assert_float_eq(s[0].min, 1.0f);
    ck_assert_float_eq(s[0].max, 6.0f);
    ck_assert_double_eq_tol(s[0].mean, 3.5, EXACT);
    ck_assert_double_eq_tol(s[0].std, sqrt(35.0 / 12.0), EXACT);
    ck_assert_double_eq_tol(s[0].zero_frac, 0.0, EXACT);

    ck_assert_uint_eq(s[1].count, 6);
    ck_assert_double_eq_tol(s[1].zero_frac, 1.0, EXACT);

    ck_assert_uint_eq(s[2].count, 5);
    ck_assert_uint_eq(s[2].nonfinite, 1);
    ck_assert_double_eq_tol(s[2].zero_frac, 1.0, EXACT);

    ck_assert(!ax_stats_dead(&s[0]));
    ck_assert(ax_stats_dead(&s[1]));
    ck_assert(!ax_stats_dead(&s[2]));

    /* a single image: channel 0 is 1, 2, 3 */
    ax_channel_stats(s, x, 1, 3, 3);
    ck_assert_double_eq_tol(s[0].mean, 2.0, EXACT);
    ck_assert_double_eq_tol(s[0].std, sqrt(2.0 / 3.0), EXACT);
    ck_assert(ax_stats_dead(&s[1]));
}
END_TEST

/* A softmax whose logits spread by hundreds underflows to exact zeros: those
 * classes are improbable, not dead, and are not counted; after a ReLU the
 * same all-zero channels are. */
START_TEST(test_dead_not_softmax)
{
    float logits[8], prob[8];
    for (int i = 0; i < 8; i++) logits[i] = i == 3 ? 200.0f : -200.0f * i;
    ax_softmax(prob, logits, 1, 8);
    ax_stats s[8];
    ax_channel_stats(s, prob, 1, 8, 1);
    ck_assert(ax_stats_dead(&s[0]));
    ck_assert_int_eq(ax_dead_count(s, 8, AX_L_SOFTMAX), 0);
    ck_assert_int_eq(ax_dead_count(s, 8, AX_L_RELU), 7);
    ck_assert_int_eq(ax_dead_count(s, 8, AX_L_MAXPOOL), 7);
}
END_TEST

START_TEST(test_channel_order)
{
    ax_stats s[4];
    memset(s, 0, sizeof s);
    const double means[4] = { 2, -1, 2, 5 };
    const double stds[4] = { 0.5, 0.25, 0.125, 0.5 };
    for (int i = 0; i < 4; i++) {
        s[i].mean = means[i];
        s[i].std = stds[i];
    }
    int order[4];
    const int mean_desc[] = { 3, 0, 2, 1 }, mean_asc[] = { 1, 0, 2, 3 };
    const int std_desc[] = { 0, 3, 1, 2 }, index_desc[] = { 3, 2, 1, 0 };
    ax_channel_order(order, s, 4, AX_STATS_MEAN, 1);
    ck_assert_mem_eq(order, mean_desc, sizeof order);
    ax_channel_order(order, s, 4, AX_STATS_MEAN, 0);
    ck_assert_mem_eq(order, mean_asc, sizeof order);
    ax_channel_order(order, s, 4, AX_STATS_STD, 1);
    ck_assert_mem_eq(order, std_desc, sizeof order);
    ax_channel_order(order, s, 4, AX_STATS_INDEX, 1);
    ck_assert_mem_eq(order, index_desc, sizeof order);
}
END_TEST

/* ---- histogram and robust range ---- */

START_TEST(test_histogram_edges)
{
    /* 4 bins over [0, 1]: edges 0, .25, .5, .75, 1; an edge value opens its bin,
     * 1 closes the last; -1 and 2 clamp; NaN and Inf are not counted */
    const float x[] = { -1, 0, 0.25f, 0.5f, 0.74f, 0.75f, 1, 2, NAN, INFINITY, -INFINITY };
    size_t counts[4] = { 99, 99, 99, 99 };
    ax_histogram(counts, 4, x, 11, 0.0f, 1.0f);
    const size_t expect[4] = { 2, 1, 2, 3 };
    ck_assert_mem_eq(counts, expect, sizeof counts);

    /* an empty range puts every finite value in bin 0 */
    const float y[] = { 1, 2, NAN };
    size_t c3[3] = { 5, 5, 5 };
    ax_histogram(c3, 3, y, 3, 1.0f, 1.0f);
    const size_t e3[3] = { 2, 0, 0 };
    ck_assert_mem_eq(c3, e3, sizeof c3);
}
END_TEST

START_TEST(test_percentile_range)
{
    /* 0..999 in a scrambled order: with p = 0.01 the 10 smallest and 10 largest
     * are cut, leaving [10, 989] */
    enum { N = 1000 };
    float x[N + 1];
    for (int i = 0; i < N; i++) x[i] = (float)((i * 7) % N);
    x[N] = NAN;
    float lo, hi;
    ax_percentile_range(&lo, &hi, x, N + 1, 0.01f);
    ck_assert_float_eq(lo, 10.0f);
    ck_assert_float_eq(hi, 989.0f);
    ax_percentile_range(&lo, &hi, x, N + 1, 0.0f);
    ck_assert_float_eq(lo, 0.0f);
    ck_assert_float_eq(hi, 999.0f);

    /* one far outlier must not stretch the range: 0, 0.001, ... 0.998 and 1e6;
     * the 10th smallest is 0.010 and the 10th largest 0.989 */
    for (int i = 0; i < N - 1; i++) x[i] = (float)((i * 7) % (N - 1)) / 1000.0f;
    x[N - 1] = 1e6f;
    ax_percentile_range(&lo, &hi, x, N, 0.01f);
    ck_assert_float_eq(lo, 10.0f / 1000.0f);
    ck_assert_float_eq(hi, 989.0f / 1000.0f);

    const float bad[] = { NAN, INFINITY };
    ax_percentile_range(&lo, &hi, bad, 2, 0.01f);
    ck_assert_float_eq(lo, 0.0f);
    ck_assert_float_eq(hi, 0.0f);
}
END_TEST

/* ---- top-k ---- */

START_TEST(test_topk_ties)
{
    const float x[] = { 3, 5, 5, 1, 5, NAN, 2 };
    int idx[10];
    ck_assert_int_eq(ax_topk(idx, 3, x, 7), 3);
    const int top3[] = { 1, 2, 4 };
    ck_assert_mem_eq(idx, top3, sizeof top3);

    /* k > n: all of them, NaN last */
    ck_assert_int_eq(ax_topk(idx, 10, x, 7), 7);
    const int all[] = { 1, 2, 4, 0, 6, 3, 5 };
    ck_assert_mem_eq(idx, all, sizeof all);

    ck_assert_int_eq(ax_topk(idx, 0, x, 7), 0);
    ck_assert_int_eq(ax_topk(idx, 3, x, 0), 0);
}
END_TEST

START_TEST(test_topk_against_scan)
{
    /* values on a coarse grid so that ties are common; the reference takes the
     * first maximum among those not taken yet */
    enum { N = 500, K = 40 };
    float x[N];
    ax_fill_uniform(x, N, 0.0f, 30.0f, 5);
    for (int i = 0; i < N; i++) x[i] = floorf(x[i]);
    int idx[K], taken[N] = { 0 };
    ck_assert_int_eq(ax_topk(idx, K, x, N), K);
    for (int r = 0; r < K; r++) {
        int best = -1;
        for (int i = 0; i < N; i++)
            if (!taken[i] && (best < 0 || x[i] > x[best])) best = i;
        taken[best] = 1;
        ck_assert_msg(idx[r] == best, "rank %d: got %d, expected %d", r, idx[r], best);
    }
}
END_TEST

/* ---- heatmaps ---- */

START_TEST(test_heatmap_average)
{
    /* 4x4 of 0..15 into 2x2: block means 2.5, 4.5, 10.5, 12.5; over [0, 16] in 8
     * levels (2 per level) these are levels 1, 2, 5, 6 */
    float map[16];
    for (int i = 0; i < 16; i++) map[i] = (float)i;
    int lv[4];
    ax_heatmap_levels(lv, 2, 2, map, 4, 4, 0.0f, 16.0f, 8);
    const int expect[] = { 1, 2, 5, 6 };
    ck_assert_mem_eq(lv, expect, sizeof expect);

    /* 1x3 {0, 3, 6} into 2 rows x 2 cols: rows repeat the single row (nearest);
     * each column covers 1.5 cells: (0 + 3*0.5)/1.5 = 1, (3*0.5 + 6)/1.5 = 5 */
    const float row[] = { 0, 3, 6 };
    int lv2[4];
    ax_heatmap_levels(lv2, 2, 2, row, 1, 3, 0.0f, 8.0f, 8);
    const int expect2[] = { 1, 5, 1, 5 };
    ck_assert_mem_eq(lv2, expect2, sizeof expect2);
}
END_TEST

START_TEST(test_heatmap_nearest)
{
    const float map[] = { 0, 1, 2, 3 };
    int lv[16];
    ax_heatmap_levels(lv, 4, 4, map, 2, 2, 0.0f, 4.0f, 4);
    const int expect[] = {
        0, 0, 1, 1,
        0, 0, 1, 1,
        2, 2, 3, 3,
        2, 2, 3, 3,
    };
    ck_assert_mem_eq(lv, expect, sizeof expect);

    /* 1x3 {0, 1, 2} into 1x5: each grid cell takes the source under its centre,
     * at 0.3, 0.9, 1.5, 2.1, 2.7 source cells -> 0, 0, 1, 2, 2 (symmetric) */
    const float row[] = { 0, 1, 2 };
    int lv5[5];
    ax_heatmap_levels(lv5, 1, 5, row, 1, 3, 0.0f, 3.0f, 3);
    const int expect5[] = { 0, 0, 1, 2, 2 };
    ck_assert_mem_eq(lv5, expect5, sizeof expect5);
}
END_TEST

START_TEST(test_heatmap_clamp_nan)
{
    /* below lo -> 0, NaN -> 0, above hi -> top, 2 of [0, 4] in 4 levels -> 2 */
    const float map[] = { -5, NAN, 100, 2 };
    int lv[4];
    ax_heatmap_levels(lv, 2, 2, map, 2, 2, 0.0f, 4.0f, 4);
    const int expect[] = { 0, 0, 3, 2 };
    ck_assert_mem_eq(lv, expect, sizeof expect);

    /* hi itself is the top level */
    const float top[] = { 4 };
    ax_heatmap_levels(lv, 1, 1, top, 1, 1, 0.0f, 4.0f, 4);
    ck_assert_int_eq(lv[0], 3);

    /* an empty range maps everything to 0 */
    const float m2[] = { 1, 2, 3, 4 };
    ax_heatmap_levels(lv, 2, 2, m2, 2, 2, 1.0f, 1.0f, 4);
    const int zeros[] = { 0, 0, 0, 0 };
    ck_assert_mem_eq(lv, zeros, sizeof zeros);

    /* a NaN inside a downsampled block blanks the block */
    const float m3[] = { 8, 8, NAN, 8 };
    ax_heatmap_levels(lv, 1, 1, m3, 2, 2, 0.0f, 4.0f, 4);
    ck_assert_int_eq(lv[0], 0);
}
END_TEST

START_TEST(test_heatmap_ascii)
{
    /* 2x5 of 0..9 over [0, 10]: one ramp step per value */
    float map[10];
    for (int i = 0; i < 10; i++) map[i] = (float)i;
    char buf[2 * 6 + 1];
    memset(buf, 'X', sizeof buf);
    ax_heatmap_ascii(buf, 2, 5, map, 2, 5, 0.0f, 10.0f);
    ck_assert_str_eq(buf, " .:-=\n+*#%@\n");

    /* 4x4 of 0..15 into 2x2 over [0, 16]: means 2.5, 4.5, 10.5, 12.5 scaled by
     * 10/16 are 1.56, 2.81, 6.56, 7.81 -> '.', ':', '*', '#' */
    float m4[16];
    for (int i = 0; i < 16; i++) m4[i] = (float)i;
    char b2[2 * 3 + 1];
    ax_heatmap_ascii(b2, 2, 2, m4, 4, 4, 0.0f, 16.0f);
    ck_assert_str_eq(b2, ".:\n*#\n");

    ck_assert_str_eq(ax_ascii_ramp, " .:-=+*#%@");
    ck_assert_int_eq((int)strlen(ax_ascii_ramp), AX_ASCII_LEVELS);
}
END_TEST

/* xterm-256 colours 16..231 are a 6x6x6 cube with channel levels 0, 95, 135,
 * 175, 215, 255; 232..255 are greys 8, 18, ..., 238. */
static void xterm_rgb(int idx, int rgb[3])
{
    static const int cube[6] = { 0, 95, 135, 175, 215, 255 };
    if (idx >= 232) {
        rgb[0] = rgb[1] = rgb[2] = 8 + 10 * (idx - 232);
        return;
    }
    idx -= 16;
    rgb[0] = cube[idx / 36];
    rgb[1] = cube[(idx / 6) % 6];
    rgb[2] = cube[idx % 6];
}

/* Relative luminance (sRGB decoded to linear light, Rec. 709 weights). */
static double luminance(int idx)
{
    int rgb[3];
    xterm_rgb(idx, rgb);
    double lin[3];
    for (int i = 0; i < 3; i++) {
        double c = rgb[i] / 255.0;
        lin[i] = c <= 0.04045 ? c / 12.92 : pow((c + 0.055) / 1.055, 2.4);
    }
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2];
}

START_TEST(test_heat_colours)
{
    double prev = -1.0;
    int reddest = 0;
    for (int l = 0; l < AX_HEAT_LEVELS; l++) {
        int c = ax_heat_color256(l);
        ck_assert_msg(c >= 16 && c <= 255, "level %d: colour %d outside 16..255", l, c);
        double y = luminance(c);
        ck_assert_msg(y > prev, "level %d: colour %d luminance %g not above %g", l, c, y, prev);
        prev = y;
        int rgb[3];
        xterm_rgb(c, rgb);
        if (rgb[0] >= 215 && rgb[1] == 0 && rgb[2] <= 95) reddest = 1;
    }
    ck_assert_double_eq(luminance(ax_heat_color256(0)), 0.0);    /* black */
    ck_assert(luminance(ax_heat_color256(AX_HEAT_LEVELS - 1)) > 0.9);  /* near white */
    ck_assert_msg(reddest, "the ramp passes no strong red");
    ck_assert_int_eq(ax_heat_color256(-3), ax_heat_color256(0));
    ck_assert_int_eq(ax_heat_color256(AX_HEAT_LEVELS + 5), ax_heat_color256(AX_HEAT_LEVELS - 1));
}
END_TEST

/* ---- signed maps: the diverging scale ---- */

START_TEST(test_heatmap_signed)
{
    /* choosing: both signs -> signed, one sign (or touching zero) -> sequential */
    ck_assert_int_eq(ax_heatmap_is_signed(-1.0f, 2.0f), 1);
    ck_assert_int_eq(ax_heatmap_is_signed(0.0f, 2.0f), 0);
    ck_assert_int_eq(ax_heatmap_is_signed(-3.0f, 0.0f), 0);
    ck_assert_int_eq(ax_heatmap_is_signed(1.0f, 2.0f), 0);

    /* 11 levels, K = 5: zero is the middle, +-scale the ends, m = floor(|t| * 6) */
    ck_assert_int_eq(ax_signed_level(0.0, 4.0, 11), 5);
    ck_assert_int_eq(ax_signed_level(4.0, 4.0, 11), 10);
    ck_assert_int_eq(ax_signed_level(-4.0, 4.0, 11), 0);
    ck_assert_int_eq(ax_signed_level(100.0, 4.0, 11), 10);
    ck_assert_int_eq(ax_signed_level(-100.0, 4.0, 11), 0);
    ck_assert_int_eq(ax_signed_level(1.0, 4.0, 11), 6);    /* 1.5 steps */
    ck_assert_int_eq(ax_signed_level(-1.0, 4.0, 11), 4);
    ck_assert_int_eq(ax_signed_level(0.5, 4.0, 11), 5);    /* 0.75 of a step: still zero */
    ck_assert_int_eq(ax_signed_level(NAN, 4.0, 11), 5);
    ck_assert_int_eq(ax_signed_level(3.0, 0.0, 11), 5);
    /* symmetric and sign-preserving over a sweep */
    for (int i = -400; i <= 400; i++) {
        double v = i / 100.0;
        int a = ax_signed_level(v, 4.0, 11), b = ax_signed_level(-v, 4.0, 11);
        ck_assert_msg(a + b == 10, "v %g: levels %d and %d not symmetric", v, a, b);
        if (v > 0) ck_assert_int_ge(a, 5);
        if (v < 0) ck_assert_int_le(a, 5);
        if (fabs(v) >= 4.0 / 6.0) ck_assert_msg(v > 0 ? a > 5 : a < 5, "v %g: level %d lost its sign", v, a);
    }

    /* the auto choice on a signed map: scale = max |v| = 6, so -2 is 2 steps down */
    const float m[] = { -2, 0, 3, 6 };
    int lv[4];
    ck_assert_int_eq(ax_heatmap_levels_auto(lv, 1, 4, m, 1, 4, -2.0f, 6.0f, 10, 11), 1);
    const int expect[] = { 3, 5, 8, 10 };
    ck_assert_mem_eq(lv, expect, sizeof expect);
    /* a one-signed map keeps the sequential levels of ax_heatmap_levels */
    const float p[] = { 0, 2, 4, 6 };
    int lp[4], lq[4];
    ck_assert_int_eq(ax_heatmap_levels_auto(lp, 1, 4, p, 1, 4, 0.0f, 6.0f, 10, 11), 0);
    ax_heatmap_levels(lq, 1, 4, p, 1, 4, 0.0f, 6.0f, 10);
    ck_assert_mem_eq(lp, lq, sizeof lq);
    /* block averaging as in the sequential levels: {-4, 4} averages to zero */
    const float pair[] = { -4, 4 };
    ax_heatmap_levels_signed(lv, 1, 1, pair, 1, 2, 4.0f, 11);
    ck_assert_int_eq(lv[0], 5);
}
END_TEST

START_TEST(test_heatmap_signed_ascii)
{
    ck_assert_str_eq(ax_signed_ramp, "@%o=- .:+*#");
    ck_assert_int_eq((int)strlen(ax_signed_ramp), AX_SIGNED_LEVELS);
    /* -6..6 in steps of 1.2 over scale 6: one ramp step per value (m = floor(|v|)) */
    float map[11];
    for (int i = 0; i < 11; i++) map[i] = (float)(i - 5) * 1.2f;
    char buf[12 + 1];
    ck_assert_int_eq(ax_heatmap_ascii_auto(buf, 1, 11, map, 1, 11, -6.0f, 6.0f), 1);
    ck_assert_str_eq(buf, "@%o=- .:+*#\n");
    /* unequal ends: scale 8, so -2 is one step (1.5 -> '-'), 8 the top '#' */
    const float m2[] = { -2, -8, 0, 8, 4, 3 };
    char b2[2 * 4 + 1];
    ck_assert_int_eq(ax_heatmap_ascii_auto(b2, 2, 3, m2, 2, 3, -2.0f, 8.0f), 1);
    ck_assert_str_eq(b2, "-@ \n#+:\n");
    /* one-signed: the sequential ramp, exactly as ax_heatmap_ascii */
    float seq[10];
    for (int i = 0; i < 10; i++) seq[i] = (float)i;
    char b3[2 * 6 + 1];
    ck_assert_int_eq(ax_heatmap_ascii_auto(b3, 2, 5, seq, 2, 5, 0.0f, 10.0f), 0);
    ck_assert_str_eq(b3, " .:-=\n+*#%@\n");
}
END_TEST

START_TEST(test_signed_colours)
{
    /* zero is a light neutral grey; each side darkens with |level - middle|,
     * blue below, red above */
    int mid = AX_SIGNED_HEAT_LEVELS / 2;
    int rgb[3];
    xterm_rgb(ax_signed_color256(mid), rgb);
    ck_assert(rgb[0] == rgb[1] && rgb[1] == rgb[2] && rgb[0] > 180);
    for (int d = 1; d <= mid; d++) {
        int lo = ax_signed_color256(mid - d), hi = ax_signed_color256(mid + d);
        ck_assert_msg(luminance(lo) < luminance(ax_signed_color256(mid - d + 1)), "level %d", mid - d);
        ck_assert_msg(luminance(hi) < luminance(ax_signed_color256(mid + d - 1)), "level %d", mid + d);
        xterm_rgb(lo, rgb);
        ck_assert_msg(rgb[2] > rgb[0], "level %d (colour %d) is not blue", mid - d, lo);
        xterm_rgb(hi, rgb);
        ck_assert_msg(rgb[0] > rgb[2], "level %d (colour %d) is not red", mid + d, hi);
    }
    ck_assert_int_eq(ax_signed_color256(-1), ax_signed_color256(0));
    ck_assert_int_eq(ax_signed_color256(99), ax_signed_color256(AX_SIGNED_HEAT_LEVELS - 1));
}
END_TEST

/* ---- differences ---- */

START_TEST(test_diff_known)
{
    /* |a - b| = 0, 0.5, 1, 0: max 1 at [2], mean 0.375; relative 0.5/2.5 and
     * 1/2 -> 0.5; a.b = 28, |a|^2 = 30, |b|^2 = 27.25 */
    const float a[] = { 1, 2, 3, 4 }, b[] = { 1, 2.5f, 2, 4 };
    ax_diff d;
    ax_diff_compute(&d, a, b, 4);
    ck_assert_double_eq_tol(d.max_abs, 1.0, EXACT);
    ck_assert_double_eq_tol(d.mean_abs, 0.375, EXACT);
    ck_assert_double_eq_tol(d.max_rel, 0.5, EXACT);
    ck_assert_uint_eq(d.worst, 2);
    ck_assert_float_eq(d.worst_a, 3.0f);
    ck_assert_float_eq(d.worst_b, 2.0f);
    ck_assert_double_eq_tol(d.cosine, 28.0 / sqrt(30.0 * 27.25), EXACT);

    /* ties keep the first index */
    const float t[] = { 0, 1, -1 }, z[] = { 0, 0, 0 };
    ax_diff_compute(&d, t, z, 3);
    ck_assert_uint_eq(d.worst, 1);
    ck_assert_double_eq_tol(d.cosine, 0.0, EXACT);   /* only one side all zeros */
    /* a zero reference divides by the 1e-12 floor */
    ck_assert_double_eq_tol(d.max_rel, 1e12, 1.0);

    ax_diff_compute(&d, z, z, 3);
    ck_assert_double_eq(d.max_abs, 0.0);
    ck_assert_double_eq(d.cosine, 1.0);
}
END_TEST

START_TEST(test_diff_cosine)
{
    const float a[] = { 1, 0, 2, 0 }, b[] = { 0, 3, 0, -1 };
    ax_diff d;
    ax_diff_compute(&d, a, b, 4);
    ck_assert_double_eq_tol(d.cosine, 0.0, EXACT);

    const float c[] = { 1, -2, 3.5f, 1e-3f };
    ax_diff_compute(&d, c, c, 4);
    ck_assert_double_eq_tol(d.cosine, 1.0, EXACT);
    ck_assert_double_eq(d.max_abs, 0.0);
    ck_assert_double_eq(d.max_rel, 0.0);
    ck_assert_uint_eq(d.worst, 0);

    /* opposite vectors */
    const float m[] = { -1, 2, -3.5f, -1e-3f };
    ax_diff_compute(&d, m, c, 4);
    ck_assert_double_eq_tol(d.cosine, -1.0, EXACT);
}
END_TEST

START_TEST(test_diff_nonfinite)
{
    /* matching NaNs agree, so the worst is the plain difference at [2] */
    const float a[] = { 1, NAN, 3 }, b[] = { 1, NAN, 4 };
    ax_diff d;
    ax_diff_compute(&d, a, b, 3);
    ck_assert_double_eq_tol(d.max_abs, 1.0, EXACT);
    ck_assert_uint_eq(d.worst, 2);
    ck_assert(isnan(d.cosine));

    /* a NaN against a number is the worst possible difference */
    const float c[] = { 1, NAN }, e[] = { 5, 2 };
    ax_diff_compute(&d, c, e, 2);
    ck_assert(isinf(d.max_abs));
    ck_assert_uint_eq(d.worst, 1);

    const float p[] = { INFINITY, 1 }, q[] = { INFINITY, 1 };
    ax_diff_compute(&d, p, q, 2);
    ck_assert_double_eq(d.max_abs, 0.0);
}
END_TEST

START_TEST(test_lrn_suppression)
{
    /* (N=2, C=2, HW=2). Channel 0: before {2, 0} after {1, 5} in image 0 and
     * {4, -2} / {3, -1} in image 1: ratios 0.5, 0.75, 0.5 (the zero is skipped)
     * -> 1.75 / 3. Channel 1 has no nonzero input -> 1. */
    const float before[] = { 2, 0,  0, 0,   4, -2,  0, 0 };
    const float after[]  = { 1, 5,  7, 7,   3, -1,  0, 0 };
    float out[2];
    ax_lrn_suppression(out, before, after, 2, 2, 2);
    const float expect[] = { 1.75f / 3.0f, 1.0f };
    check_close(out, expect, 2, 1e-7, 1e-6, "lrn suppression");
}
END_TEST

static Suite *analysis_suite(void)
{
    Suite *s = suite_create("analysis");
    TCase *stats = tcase_create("stats");
    tcase_set_timeout(stats, AX_CHECK_TIMEOUT);
    tcase_add_test(stats, test_stats_small);
    tcase_add_test(stats, test_stats_large_offset);
    tcase_add_test(stats, test_stats_nonfinite);
    tcase_add_test(stats, test_stats_against_two_pass);
    tcase_add_test(stats, test_channel_stats_batch);
    tcase_add_test(stats, test_dead_not_softmax);
    tcase_add_test(stats, test_channel_order);
    tcase_add_test(stats, test_histogram_edges);
    tcase_add_test(stats, test_percentile_range);
    tcase_add_test(stats, test_topk_ties);
    tcase_add_test(stats, test_topk_against_scan);
    suite_add_tcase(s, stats);

    TCase *heat = tcase_create("heatmap");
    tcase_set_timeout(heat, AX_CHECK_TIMEOUT);
    tcase_add_test(heat, test_heatmap_average);
    tcase_add_test(heat, test_heatmap_nearest);
    tcase_add_test(heat, test_heatmap_clamp_nan);
    tcase_add_test(heat, test_heatmap_ascii);
    tcase_add_test(heat, test_heat_colours);
    tcase_add_test(heat, test_heatmap_signed);
    tcase_add_test(heat, test_heatmap_signed_ascii);
    tcase_add_test(heat, test_signed_colours);
    suite_add_tcase(s, heat);

    TCase *diff = tcase_create("diff");
    tcase_set_timeout(diff, AX_CHECK_TIMEOUT);
    tcase_add_test(diff, test_diff_known);
    tcase_add_test(diff, test_diff_cosine);
    tcase_add_test(diff, test_diff_nonfinite);
    tcase_add_test(diff, test_lrn_suppression);
    suite_add_tcase(s, diff);
    return s;
}

int main(void)
{
    return ax_run_suite(analysis_suite());
}
