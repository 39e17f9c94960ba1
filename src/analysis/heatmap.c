/* Rasterises a feature map into a grid of intensity levels (for the ASCII and
 * colour heatmaps) and maps levels to characters and xterm-256 colours.
 * Knows nothing of curses: it fills plain int and char buffers. */
#include "alexscope/analysis.h"

#include <math.h>

const char ax_ascii_ramp[] = " .:-=+*#%@";

/* Source cells [i0, i1] behind one grid index along one axis, with the covered
 * fractions of the two end cells (the cells between are covered whole). */
typedef struct {
    int i0, i1;
    double w0, w1;
} axis_span;

static axis_span span_of(int r, int rows, int h)
{
    axis_span s;
    if (rows > h) {
        /* enlarging: the source cell under the grid cell's centre */
        s.i0 = s.i1 = (int)(((2 * (long long)r + 1) * h) / (2 * (long long)rows));
        s.w0 = s.w1 = 1.0;
        return s;
    }
    /* r*h and (r+1)*h are exact, so whole-cell bounds stay exact integers */
    double a = (double)((long long)r * h) / rows;
    double b = (double)((long long)(r + 1) * h) / rows;
    s.i0 = (int)a;
    s.i1 = (int)ceil(b) - 1;
    if (s.i0 == s.i1) {
        s.w0 = s.w1 = b - a;
    } else {
        s.w0 = (double)(s.i0 + 1) - a;
        s.w1 = b - (double)s.i1;
    }
    return s;
}

static double span_weight(const axis_span *s, int i)
{
    return i == s->i0 ? s->w0 : i == s->i1 ? s->w1 : 1.0;
}

/* Area-weighted mean of map (h, w) over the rs x cs block; NaN in, NaN out. */
static double block_mean(const float *map, int w, const axis_span *rs, const axis_span *cs)
{
    double sum = 0.0, wsum = 0.0;
    for (int i = rs->i0; i <= rs->i1; i++) {
        const float *row = map + (size_t)i * w;
        double rsum = 0.0, rw = 0.0;
        for (int j = cs->i0; j <= cs->i1; j++) {
            double wj = span_weight(cs, j);
            rsum += wj * row[j];
            rw += wj;
        }
        double wi = span_weight(rs, i);
        sum += wi * rsum;
        wsum += wi * rw;
    }
    return sum / wsum;
}

/* scale = levels / (hi - lo), 0 for an empty range (everything level 0). */
static int level_of(double v, double lo, double scale, int levels)
{
    double t = (v - lo) * scale;
    if (!(t > 0.0))
        return 0;
    if (t >= (double)levels)
        return levels - 1;
    return (int)t;
}

static double level_scale(float lo, float hi, int levels)
{
    return hi > lo ? (double)levels / ((double)hi - (double)lo) : 0.0;
}

void ax_heatmap_levels(int *levels_out, int rows, int cols, const float *map, int h, int w,
                       float lo, float hi, int levels)
{
    // levels_out: (rows, cols); map: (h, w)
    if (rows <= 0 || cols <= 0)
        return;
    if (h <= 0 || w <= 0 || levels <= 1) {
        for (size_t i = 0; i < (size_t)rows * cols; i++)
            levels_out[i] = 0;
        return;
    }
    double scale = level_scale(lo, hi, levels);
    for (int r = 0; r < rows; r++) {
        axis_span rs = span_of(r, rows, h);
        for (int c = 0; c < cols; c++) {
            axis_span cs = span_of(c, cols, w);
            levels_out[(size_t)r * cols + c] = level_of(block_mean(map, w, &rs, &cs), lo, scale, levels);
        }
    }
}

void ax_heatmap_ascii(char *buf, int rows, int cols, const float *map, int h, int w, float lo, float hi)
{
    size_t p = 0;
    double scale = level_scale(lo, hi, AX_ASCII_LEVELS);
    for (int r = 0; r < rows && cols > 0; r++) {
        axis_span rs = h > 0 ? span_of(r, rows, h) : (axis_span){ 0 };
        for (int c = 0; c < cols; c++) {
            int lv = 0;
            if (h > 0 && w > 0) {
                axis_span cs = span_of(c, cols, w);
                lv = level_of(block_mean(map, w, &rs, &cs), lo, scale, AX_ASCII_LEVELS);
            }
            buf[p++] = ax_ascii_ramp[lv];
        }
        buf[p++] = '\n';
    }
    buf[p] = '\0';
}

/* Black through deep blue-purple, magenta and crimson to red, then orange and
 * gold to yellow and white. Relative luminance (sRGB-linear) of each entry is
 * strictly above the one before; tests/check_analysis.c verifies it. */
static const unsigned char heat_ramp[AX_HEAT_LEVELS] = {
    16,  /* 0,0,0       */
    232, /* grey 8      */
    17,  /* 0,0,95      */
    18,  /* 0,0,135     */
    53,  /* 95,0,95     */
    54,  /* 95,0,135    */
    90,  /* 135,0,135   */
    126, /* 175,0,135   */
    161, /* 215,0,95    */
    196, /* 255,0,0     */
    166, /* 215,95,0    */
    202, /* 255,95,0    */
    172, /* 215,135,0   */
    208, /* 255,135,0   */
    178, /* 215,175,0   */
    214, /* 255,175,0   */
    184, /* 215,215,0   */
    220, /* 255,215,0   */
    226, /* 255,255,0   */
    227, /* 255,255,95  */
    228, /* 255,255,135 */
    229, /* 255,255,175 */
    230, /* 255,255,215 */
    231, /* 255,255,255 */
};

int ax_heat_color256(int level)
{
    if (level < 0) level = 0;
    if (level >= AX_HEAT_LEVELS) level = AX_HEAT_LEVELS - 1;
    return heat_ramp[level];
}

/* ---- diverging scale for signed maps ------------------------------------ */

const char ax_signed_ramp[] = "@%o=- .:+*#";

int ax_heatmap_is_signed(float lo, float hi)
{
    return lo < 0.0f && hi > 0.0f;
}

int ax_signed_level(double v, double scale, int levels)
{
    int k = (levels - 1) / 2;
    if (!(scale > 0.0) || isnan(v) || k <= 0)
        return k > 0 ? k : 0;
    double t = fabs(v) / scale * (k + 1);
    int m = t >= (double)k ? k : (int)t;
    return v < 0.0 ? k - m : k + m;
}

static double signed_scale(float lo, float hi)
{
    double a = fabs((double)lo), b = fabs((double)hi);
    return a > b ? a : b;
}

void ax_heatmap_levels_signed(int *levels_out, int rows, int cols, const float *map, int h, int w,
                              float scale, int levels)
{
    // levels_out: (rows, cols); map: (h, w)
    if (rows <= 0 || cols <= 0)
        return;
    int mid = levels > 1 ? (levels - 1) / 2 : 0;
    if (h <= 0 || w <= 0 || levels <= 1) {
        for (size_t i = 0; i < (size_t)rows * cols; i++)
            levels_out[i] = mid;
        return;
    }
    for (int r = 0; r < rows; r++) {
        axis_span rs = span_of(r, rows, h);
        for (int c = 0; c < cols; c++) {
            axis_span cs = span_of(c, cols, w);
            levels_out[(size_t)r * cols + c] = ax_signed_level(block_mean(map, w, &rs, &cs), scale, levels);
        }
    }
}

int ax_heatmap_levels_auto(int *levels_out, int rows, int cols, const float *map, int h, int w,
                           float lo, float hi, int seq_levels, int signed_levels)
{
    if (!ax_heatmap_is_signed(lo, hi)) {
        ax_heatmap_levels(levels_out, rows, cols, map, h, w, lo, hi, seq_levels);
        return 0;
    }
    ax_heatmap_levels_signed(levels_out, rows, cols, map, h, w, (float)signed_scale(lo, hi), signed_levels);
    return 1;
}

int ax_heatmap_ascii_auto(char *buf, int rows, int cols, const float *map, int h, int w, float lo, float hi)
{
    if (!ax_heatmap_is_signed(lo, hi)) {
        ax_heatmap_ascii(buf, rows, cols, map, h, w, lo, hi);
        return 0;
    }
    double scale = signed_scale(lo, hi);
    size_t p = 0;
    for (int r = 0; r < rows && cols > 0; r++) {
        axis_span rs = h > 0 ? span_of(r, rows, h) : (axis_span){ 0 };
        for (int c = 0; c < cols; c++) {
            int lv = AX_SIGNED_LEVELS / 2;
            if (h > 0 && w > 0) {
                axis_span cs = span_of(c, cols, w);
                lv = ax_signed_level(block_mean(map, w, &rs, &cs), scale, AX_SIGNED_LEVELS);
            }
            buf[p++] = ax_signed_ramp[lv];
        }
        buf[p++] = '\n';
    }
    buf[p] = '\0';
    return 1;
}

/* Dark to light blue, light grey at zero, light to dark red: each side's
 * luminance falls as |v| grows; tests/check_analysis.c verifies it. */
static const unsigned char signed_ramp256[AX_SIGNED_HEAT_LEVELS] = {
    17,  /* 0,0,95      */
    19,  /* 0,0,175     */
    21,  /* 0,0,255     */
    27,  /* 0,95,255    */
    69,  /* 95,135,255  */
    111, /* 135,175,255 */
    153, /* 175,215,255 */
    254, /* grey 228    */
    224, /* 255,215,215 */
    217, /* 255,175,175 */
    210, /* 255,135,135 */
    203, /* 255,95,95   */
    196, /* 255,0,0     */
    160, /* 215,0,0     */
    88,  /* 135,0,0     */
};

int ax_signed_color256(int level)
{
    if (level < 0) level = 0;
    if (level >= AX_SIGNED_HEAT_LEVELS) level = AX_SIGNED_HEAT_LEVELS - 1;
    return signed_ramp256[level];
}
