/* View 1, Tensor: what the current layer is (name, shape, bytes, parameters,
 * parameter count, FLOPs, time) and what its output holds (global statistics
 * and a histogram with one bin per column it has). Reads the analysis cache
 * (the histogram is binned there once per width); computes no layer. */
#include "core.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "alexscope/layer_kind.h"

typedef struct {
    int hist_linear;   /* counts on a linear scale instead of log */
} tensor_state;

static tensor_state *state_of(const ax_ui *u) { return ax_ui_view_state(u, AX_V_TENSOR); }

static void reset(ax_ui *u)
{
    tensor_state *S = state_of(u);
    S->hist_linear = 0;
}

/* What the layer's operation count counts, as its kind says. */
static const char *ops_text(ax_layer_type t, const char **key)
{
    const ax_layer_kind *k = ax_layer_kind_of(t);
    *key = k && k->ops_name ? k->ops_name : "ops";
    return k && k->ops_what ? k->ops_what : "none: the values are only moved";
}

static void pad_text(const ax_layer *l, char *buf, size_t size)
{
    snprintf(buf, size, "top %d left %d bottom %d right %d%s", l->win.pad_t, l->win.pad_l, l->pad_b,
             l->pad_r, l->spec.pad_mode == AX_PAD_SAME ? " (SAME)" : "");
}

/* A key and a text wrapped at spaces under its value column (the arithmetic
 * lines run longer than a pane is wide); at most `max` lines. */
static int kv_wrapped(ax_ui *u, int y, int x, int w, const char *key, const char *text, int max)
{
    if (w - 12 < 16) return ax_ui_kv(u, y, x, w, key, "%s", text);
    ax_ui_put(u, y, x, w, AX_R_ACCENT, key);
    return ax_ui_wrap(u, y, x + 12, w - 12, AX_R_NORMAL, text, max);
}

/* One or two lines describing the layer's own parameters. */
static int params_rows(ax_ui *u, int y, int x, int w, int i)
{
    const ax_layer *l = &u->net->layers[i];
    const ax_layer_spec *s = &l->spec;
    char pad[96], a[256], b[256], c[256];
    switch (s->type) {
    case AX_L_CONV:
        pad_text(l, pad, sizeof pad);
        y = ax_ui_kv(u, y, x, w, "kernel", "%dx%d  stride %dx%d  groups %d  bias %s", s->kh, s->kw, s->sh,
                     s->sw, s->groups > 1 ? s->groups : 1, s->bias ? "yes" : "no");
        y = ax_ui_kv(u, y, x, w, "padding", "%s", pad);
        break;
    case AX_L_MAXPOOL:
        pad_text(l, pad, sizeof pad);
        y = ax_ui_kv(u, y, x, w, "window", "%dx%d  stride %dx%d  output size rounded %s", s->kh, s->kw, s->sh,
                     s->sw, s->rounding == AX_ROUND_CEIL ? "up (Caffe)" : "down");
        y = ax_ui_kv(u, y, x, w, "padding", "%s", pad);
        break;
    case AX_L_LRN:
        ax_ui_lrn_formula(u, s, a, b, c, sizeof a);
        y = ax_ui_kv(u, y, x, w, "LRN", "%s", a);
        y = ax_ui_kv(u, y, x, w, "constants", "%s", b);
        y = ax_ui_kv(u, y, x, w, "in numbers", "%s", c);
        break;
    case AX_L_AVGPOOL:
        y = ax_ui_kv(u, y, x, w, "pool", "adaptive average to %dx%d", s->out_h, s->out_w);
        break;
    case AX_L_PAD:
        y = ax_ui_kv(u, y, x, w, "zero pad", "top %d left %d bottom %d right %d", s->pad_t, s->pad_l, s->pad_b,
                     s->pad_r);
        break;
    case AX_L_FLATTEN:
        y = ax_ui_kv(u, y, x, w, "order", "%s", s->order == AX_FLATTEN_HWC ? "H, W, C (channels last, Keras/TF)"
                                                                          : "C, H, W (Caffe/PyTorch)");
        break;
    case AX_L_FC:
        y = ax_ui_kv(u, y, x, w, "features", "%d in, %d out  bias %s", l->in_c * l->in_h * l->in_w, s->out_c,
                     s->bias ? "yes" : "no");
        break;
    case AX_L_DROPOUT:
        y = ax_ui_kv(u, y, x, w, "dropout", "p = %g (identity at inference)", s->p);
        break;
    default:
        break;
    }
    return y;
}

/* One bin per column of the pane, up to AX_HIST_MAX. */
static void histogram(ax_ui *u, ax_layer_cache *lc, int y, int x, int w, int h)
{
    tensor_state *S = state_of(u);
    int cols = w - 2 < AX_HIST_MAX ? w - 2 : AX_HIST_MAX;
    if (cols < 4) return;
    if (lc->hist_bins != cols) {
        ax_histogram(lc->hist, cols, ax_ui_data(u, u->cur), (size_t)lc->c * lc->h * lc->w, lc->all.min, lc->all.max);
        lc->hist_bins = cols;
    }
    const size_t *counts = lc->hist;
    size_t top = 0;
    for (int b = 0; b < cols; b++)
        if (counts[b] > top) top = counts[b];
    char cnt[32], tall[32];
    ax_ui_printf(u, y++, x, w, AX_R_DIM, "histogram of %s values, %s counts (tallest bin %s)",
                 ax_ui_count(cnt, sizeof cnt, (double)(lc->all.count)), S->hist_linear ? "linear" : "log",
                 ax_ui_count(tall, sizeof tall, (double)top));
    h -= 2;
    if (h < 2 || top == 0) return;
    static const char *const eighths[9] = {
        " ", "\u2581", "\u2582", "\u2583", "\u2584", "\u2585", "\u2586", "\u2587", "\u2588"
    };
    for (int b = 0; b < cols; b++) {
        double f = !S->hist_linear ? log1p((double)counts[b]) / log1p((double)top) : (double)counts[b] / top;
        int units = (int)lround(f * h * 8);
        if (counts[b] > 0 && units == 0) units = 1;
        for (int r = 0; r < h; r++) {
            int level = units - (h - 1 - r) * 8;
            if (level <= 0) continue;
            if (level > 8) level = 8;
            const char *s = u->utf8 ? eighths[level] : (level >= 4 ? "#" : (r == h - 1 ? "_" : " "));
            ax_ui_put(u, y + r, x + b, 1, AX_R_BAR, s);
        }
    }
    char lo[32], hi[32];
    ax_ui_num(lo, sizeof lo, lc->all.min);
    ax_ui_num(hi, sizeof hi, lc->all.max);
    ax_ui_put(u, y + h, x, w, AX_R_DIM, lo);
    int hl = (int)strlen(hi);
    if (cols - hl > (int)strlen(lo)) ax_ui_put(u, y + h, x + cols - hl, hl, AX_R_DIM, hi);
    if (lc->all.min < 0 && lc->all.max > 0) {
        int zx = (int)(-lc->all.min / (lc->all.max - lc->all.min) * cols);
        if (zx > (int)strlen(lo) && zx < cols - hl - 1) ax_ui_put(u, y + h, x + zx, 1, AX_R_DIM, "0");
    }
}

static void draw(ax_ui *u, ax_rect r)
{
    int i = u->cur;
    const ax_tensor *t = ax_ui_shape_of(u, i);
    char shape[64], a[64], b[64];
    ax_tensor_shape_str(t, shape, sizeof shape);
    ax_ui_title(u, r, "Tensor", "%s %s", ax_ui_layer_name(u, i), shape);
    int x = r.x + 1, w = r.w - 2, y = r.y + 1, bottom = r.y + r.h;
    size_t numel = ax_tensor_numel(t);

    if (i < 0)
        y = ax_ui_kv(u, y, x, w, "name", "input  (what layer 1 reads)");
    else
        y = ax_ui_kv(u, y, x, w, "name", "%s  (%s, layer %d of %d)", t->name[0] ? t->name : ax_ui_layer_name(u, i),
                     ax_layer_type_name(u->net->layers[i].spec.type), i + 1, u->net->nlayers);
    double mib = (double)numel * sizeof(float) / 1048576.0;
    y = ax_ui_kv(u, y, x, w, "shape", "%s  %s values, %s bytes (%.2f MiB)", shape,
                 ax_ui_count(a, sizeof a, (double)numel), ax_ui_count(b, sizeof b, (double)numel * sizeof(float)),
                 mib);
    if (i >= 0) {
        const ax_layer *l = &u->net->layers[i];
        /* the input as the layer before made it: (1, 4096) after an fc, not (1, 4096, 1, 1) */
        const ax_tensor *prev = i > 0 ? &u->net->layers[i - 1].out : &u->net->input;
        if (prev->ndim == 2)
            y = ax_ui_kv(u, y, x, w, "input", "(%d, %d) from %s", t->shape[0], l->in_c * l->in_h * l->in_w,
                         ax_ui_layer_name(u, i - 1));
        else
            y = ax_ui_kv(u, y, x, w, "input", "(%d, %d, %d, %d) from %s", t->shape[0], l->in_c, l->in_h, l->in_w,
                         ax_ui_layer_name(u, i - 1));
        y = params_rows(u, y, x, w, i);
        const ax_layer_kind *kind = ax_layer_kind_of(l->spec.type);
        if (kind && kind->arith) {
            char what[320], size[320];
            kind->arith(what, size, sizeof what, l);
            y = kv_wrapped(u, y, x, w, "computes", what, 3);
            y = kv_wrapped(u, y, x, w, "out size", size, 2);
        }
        if (l->weight.data) {
            char ws[64], bs[64];
            ax_tensor_shape_str(&l->weight, ws, sizeof ws);
            if (l->bias.data) ax_tensor_shape_str(&l->bias, bs, sizeof bs);
            y = ax_ui_kv(u, y, x, w, "params", "%s  weight %s%s%s", ax_ui_count(a, sizeof a, (double)l->params), ws,
                         l->bias.data ? " + bias " : "", l->bias.data ? bs : "");
        } else {
            y = ax_ui_kv(u, y, x, w, "params", "none");
        }
        const char *ops_key, *ops = ops_text(l->spec.type, &ops_key);
        y = ax_ui_kv(u, y, x, w, ops_key, "%s  (%s)", ax_ui_count(a, sizeof a, l->flops), ops);
        if (i < u->ready)
            y = ax_ui_kv(u, y, x, w, "time", "%.3f ms on %s", l->ms, u->backend_desc);
    } else {
        const ax_preprocess *p = &u->net->spec.pre;
        y = ax_ui_kv(u, y, x, w, "order", "%s, mean (%g, %g, %g), std (%g, %g, %g)", p->bgr ? "BGR" : "RGB",
                     p->mean[0], p->mean[1], p->mean[2], p->std[0], p->std[1], p->std[2]);
    }
    y++;

    ax_layer_cache *lc = ax_ui_cache(u, i);
    if (!lc) {
        ax_ui_notice(u, r, y, "Not computed yet. Press n to compute it, a to run every layer, "
                              "or g to run to a layer by name or number.");
        return;
    }
    char mn[32], mx[32], me[32], sd[32];
    y = ax_ui_kv(u, y, x, w, "min / max", "%s / %s", ax_ui_num(mn, sizeof mn, lc->all.min),
                 ax_ui_num(mx, sizeof mx, lc->all.max));
    y = ax_ui_kv(u, y, x, w, "mean / std", "%s / %s", ax_ui_num(me, sizeof me, lc->all.mean),
                 ax_ui_num(sd, sizeof sd, lc->all.std));
    y = ax_ui_kv(u, y, x, w, "zeros", "%.1f %%   non-finite %zu   dead channels %d of %d", 100.0 * lc->all.zero_frac,
                 lc->all.nonfinite, lc->dead, lc->c);
    if (lc->all.nonfinite) ax_ui_put(u, y - 1, x + w - 12, 12, AX_R_BAD, "NaN/Inf!");
    y++;
    int hh = bottom - y;
    if (hh > 14) hh = 14;
    if (hh >= 4) histogram(u, lc, y, x, w, hh);
}

static int key_hist(ax_ui *u, int k)
{
    (void)k;
    tensor_state *S = state_of(u);
    S->hist_linear = !S->hist_linear;
    return 1;
}

static const ax_key keys[] = {
    { .codes = { 'h' }, .keys = "h", .what = "histogram counts: log / linear", .fn = key_hist, .bar = "h histogram log/linear" },
    { .codes = { 0 }, .keys = "Up Down Home End", .what = "previous / next / first / last layer", .bar = "Up/Down layer" },
    { .codes = { 0 }, .keys = NULL },
};

const ax_view ax_view_tensor = {
    .name = "Tensor", .draw = draw, .keys = keys, .state = sizeof(tensor_state), .reset = reset,
};
