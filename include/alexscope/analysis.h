/* Analysis of plain host buffers: statistics, histograms, top-k, heatmap
 * rasterising, differences. Knows nothing of curses or of the net. */
#ifndef ALEXSCOPE_ANALYSIS_H
#define ALEXSCOPE_ANALYSIS_H

#include <stddef.h>

#include "alexscope/spec.h"

/* NaN and +-Inf elements are counted in `nonfinite` and left out of every other
 * figure: count is the number of finite elements (count + nonfinite = n), and
 * min, max, mean, std, zero_frac are over those. With no finite element all
 * figures are 0. std is the population standard deviation. */
typedef struct {
    float min, max;
    double mean, std;
    double zero_frac;     /* fraction of exact zeros */
    size_t count;
    size_t nonfinite;     /* NaN or Inf elements (left out of the other figures) */
} ax_stats;

void ax_stats_compute(ax_stats *s, const float *x, size_t n);

/* Per-channel statistics of (N, C, HW) activations; `out` has c entries.
 * For a batch, channel ch of every image is pooled together. */
void ax_channel_stats(ax_stats *out, const float *x, int n, int c, int hw);

/* A channel is dead when it is zero everywhere (after a ReLU): at least one
 * element, all of them exact zeros, none nonfinite. */
int ax_stats_dead(const ax_stats *s);

/* Dead channels among c channel statistics of a layer of this type. Always 0
 * for softmax: its exact zeros are probabilities below float's range, not
 * units that never fire. What the UI and the CLI report as "dead". */
int ax_dead_count(const ax_stats *ch, int c, ax_layer_type type);

/* Columns of the channel table, the keys ax_channel_order sorts by. */
typedef enum {
    AX_STATS_INDEX,
    AX_STATS_MIN,
    AX_STATS_MAX,
    AX_STATS_MEAN,
    AX_STATS_STD,
    AX_STATS_ZERO_FRAC,
    AX_STATS_NONFINITE
} ax_stats_column;

/* Fills order (c) with the channel indices sorted by `column` of s (c),
 * descending or ascending; ties keep the lower channel first. No allocation. */
void ax_channel_order(int *order, const ax_stats *s, int c, ax_stats_column column, int descending);

/* Histogram of x into `bins` equal bins over [lo, hi]; counts are overwritten.
 * Bins are half-open [edge_i, edge_i+1) except the last, which takes hi.
 * Finite values outside are clamped into the first or last bin; NaN and Inf
 * are not counted (ax_stats reports them). hi <= lo puts every finite value in
 * bin 0. */
void ax_histogram(size_t *counts, int bins, const float *x, size_t n, float lo, float hi);

/* Robust range for normalising a heatmap: with k = floor(p * count) over the
 * finite values of x (p in [0, 0.5), e.g. 0.01), lo is the k-th smallest and hi
 * the k-th largest, so a fraction p is cut off at each end. Found by narrowing
 * fixed-size stack histograms over a few passes (no sorting, no allocation);
 * exact unless the values around the rank differ by less than about 2^-90 of
 * max - min, when a bracket edge within that distance is returned. Always
 * inside [min, max]; p <= 0 gives min and max; no finite values gives 0, 0. */
void ax_percentile_range(float *lo, float *hi, const float *x, size_t n, float p);

/* Indices of the k largest values of x (n), largest first; ties keep the lower
 * index; NaN ranks below every number. k is clipped to n; returns the number of
 * indices written (0 when k <= 0 or n <= 0). O(n log k), no allocation. */
int ax_topk(int *idx, int k, const float *x, int n);

/* Heatmap: samples an (h, w) map into an (rows, cols) grid of levels 0..levels-1.
 * Along an axis where the grid is smaller than the map, a grid cell is the
 * area-weighted average of the source cells it covers (partly covered cells count
 * by the covered fraction); where it is larger, the nearest source cell is taken.
 * Values are normalised by [lo, hi] into equal steps and clamped: level =
 * floor((v - lo) / (hi - lo) * levels), hi itself is the top level. hi <= lo maps
 * everything to level 0; a grid cell whose sources include a NaN is level 0. */
void ax_heatmap_levels(int *levels_out, int rows, int cols, const float *map, int h, int w,
                       float lo, float hi, int levels);

/* The mono ramp, darkest to brightest: " .:-=+*#%@" (10 levels). */
extern const char ax_ascii_ramp[];
#define AX_ASCII_LEVELS 10

/* Renders a map as rows of ASCII text, each row cols chars + '\n', into buf
 * (size >= rows*(cols+1)+1, NUL-terminated), with the levels of ax_heatmap_levels. */
void ax_heatmap_ascii(char *buf, int rows, int cols, const float *map, int h, int w, float lo, float hi);

/* Maps a level 0..23 of a 24-step scale to an xterm-256 colour index (16..255):
 * an "inferno"-like ramp black -> deep purple -> red -> orange -> yellow -> white
 * from the 6x6x6 cube and the grey ramp, strictly increasing in luminance.
 * Levels outside 0..23 are clamped. */
int ax_heat_color256(int level);
#define AX_HEAT_LEVELS 24

/* Diverging scale for signed maps (convolution outputs before ReLU, errors,
 * gradients): used when lo < 0 < hi, symmetric about zero with
 * scale = max(|lo|, |hi|). With K = (levels - 1) / 2 (levels odd), zero is
 * level K, negatives below it and positives above, m = floor(|v| / scale *
 * (K + 1)) steps from the middle, clamped to K, so level(-v) = 2K - level(v).
 * NaN and a scale <= 0 give the middle level. */
int ax_heatmap_is_signed(float lo, float hi);
int ax_signed_level(double v, double scale, int levels);
/* ax_heatmap_levels with the diverging levels 0..levels-1 (levels odd). */
void ax_heatmap_levels_signed(int *levels_out, int rows, int cols, const float *map, int h, int w,
                              float scale, int levels);
/* Chooses: signed levels (signed_levels of them) when ax_heatmap_is_signed(lo,
 * hi), else the sequential ones (seq_levels). Returns 1 when it chose signed. */
int ax_heatmap_levels_auto(int *levels_out, int rows, int cols, const float *map, int h, int w,
                           float lo, float hi, int seq_levels, int signed_levels);

/* The signed mono ramp, most negative to most positive: "@%o=- .:+*#" (11
 * levels): negatives @ % o = -, zero blank, positives . : + * #. */
extern const char ax_signed_ramp[];
#define AX_SIGNED_LEVELS 11

/* ax_heatmap_ascii, choosing the signed ramp when lo < 0 < hi; returns 1 then. */
int ax_heatmap_ascii_auto(char *buf, int rows, int cols, const float *map, int h, int w, float lo, float hi);

/* Maps a level 0..14 of the 15-step diverging scale to an xterm-256 colour:
 * dark blue (most negative) through lighter blues to a light grey (zero), then
 * light reds to dark red (most positive); luminance falls with |level - 7| on
 * both sides. Levels outside 0..14 are clamped. */
int ax_signed_color256(int level);
#define AX_SIGNED_HEAT_LEVELS 15

/* Element-wise comparison of a buffer against a reference b. Per element the
 * difference is |a - b|, 0 where both are NaN or both the same infinity, and +Inf
 * where only one side is NaN or the infinities differ. max_rel is the largest
 * |a - b| / max(|b|, 1e-12). worst is the lowest index of the largest difference.
 * cosine = a.b / (|a| |b|) in double; 1 when both are all zeros, 0 when only one
 * is, NaN when a nonfinite value takes part. n = 0 gives zeros and cosine 1. */
typedef struct {
    double max_abs, mean_abs, max_rel;
    size_t worst;         /* index of the largest absolute difference */
    float worst_a, worst_b;
    double cosine;        /* cosine similarity */
    /* Filled by ax_diff_tol (ax_diff_compute: as for atol = rtol = 0). */
    double max_ref;       /* largest finite |b| */
    double snr_db;        /* 10 log10(sum b^2 / sum (a - b)^2) over the finite pairs: +Inf when
                             they are equal, -Inf when only one side is nonfinite somewhere or
                             b is all zeros and a is not */
    size_t fail;          /* elements beyond both atol and rtol * |b| (nonfinite mismatches fail) */
    double min_atol;      /* smallest atol that passes with rtol = 0 (= max_abs) */
    double min_rtol;      /* smallest rtol that passes with atol = 0: max |a - b| / |b|, +Inf when
                             a differing element has b = 0 */
    size_t nonfinite;     /* pairs where one side is NaN or Inf and they do not match */
} ax_diff;

void ax_diff_compute(ax_diff *d, const float *a, const float *b, size_t n);

/* ax_diff_compute plus the tolerance check, Polygraphy's rule: element i fails
 * only when |a - b| > atol AND |a - b| > rtol * |b| (b is the reference). */
void ax_diff_tol(ax_diff *d, const float *a, const float *b, size_t n, double atol, double rtol);

/* Tolerances for comparing float32 runs. atol_of_max > 0 makes the absolute
 * tolerance of a tensor atol_of_max * max|b| (scale-aware); otherwise atol. */
typedef struct { double atol, atol_of_max, rtol; } ax_tolerance;

/* alexscope's defaults: atol 1e-4 * max|b| of the tensor, rtol 1e-3 (see README). */
#define AX_DIFF_ATOL_OF_MAX 1e-4
#define AX_DIFF_RTOL 1e-3

/* The absolute tolerance tol means for a reference b (n). */
double ax_tolerance_atol(const ax_tolerance *tol, const float *b, size_t n);

/* Per-channel largest |a - b| of two (N, C, HW) buffers; out has c entries
 * (nonfinite mismatches count as +Inf, matching NaNs as 0). */
void ax_diff_channels(float *out, const float *a, const float *b, int n, int c, int hw);

/* Softmax probabilities compared: KL(p || q) = sum p log(p / q) in nats, with q
 * floored at 1e-12 so a zero never gives +Inf; p is the reference. Equal
 * vectors give exactly 0 and the result is never negative (rounding). */
double ax_kl_divergence(const float *p, const float *q, int n);

/* How much LRN damped each channel: mean over (H, W) and batch of after / before
 * taken where |before| > 0 (NaN before is skipped); 1 = untouched, and 1 for a
 * channel with no such element. before and after are (N, C, HW); out has c entries. */
void ax_lrn_suppression(float *out, const float *before, const float *after, int n, int c, int hw);

#endif
