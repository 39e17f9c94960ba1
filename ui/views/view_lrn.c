/* View 4, LRN: on a local response normalisation layer, the selected channel
 * before and after side by side on one scale, how much LRN damped every
 * channel (ax_lrn_suppression), and the formula with the constants in use. */
#include "core.h"

#include <math.h>

#include "alexscope/layer_kind.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    int top;          /* first row of the suppression list; -1: bring the channel into view */
    int by_supp;      /* most damped first */
} lrn_state;

static lrn_state *state_of(const ax_ui *u) { return ax_ui_view_state(u, AX_V_LRN); }

static void reset(ax_ui *u)
{
    lrn_state *S = state_of(u);
    S->top = 0;
    S->by_supp = 0;
}

void ax_ui_lrn_formula(const ax_ui *u, const ax_layer_spec *l, char *general, char *constants, char *actual,
                       size_t size)
{
    const char *sum = ax_ui_sym(u, AX_S_SUM), *sq = ax_ui_sym(u, AX_S_SQ);
    int half = (l->lrn_size - 1) / 2;
    switch (l->lrn_convention) {
    case AX_LRN_TF:
        snprintf(general, size, "b = a / (bias + alpha * %s a%s)^beta over 2*depth_radius+1 channels (alpha not divided)",
                 sum, sq);
        snprintf(constants, size, "convention tf: depth_radius=%d (window %d) alpha=%g beta=%g bias=%g", half,
                 l->lrn_size, l->lrn_alpha, l->lrn_beta, l->lrn_k);
        break;
    case AX_LRN_DARKNET:
        snprintf(general, size, "b = a / (kappa + alpha * %s a%s)^beta over size channels (alpha not divided)", sum,
                 sq);
        snprintf(constants, size, "convention darknet: size=%d alpha=%g beta=%g kappa=%g", l->lrn_size,
                 l->lrn_alpha, l->lrn_beta, l->lrn_k);
        break;
    default:
        snprintf(general, size, "b = a / (k + alpha/n * %s a%s)^beta over n channels (Caffe, PyTorch)", sum, sq);
        snprintf(constants, size, "convention caffe: n=%d alpha=%g beta=%g k=%g", l->lrn_size, l->lrn_alpha,
                 l->lrn_beta, l->lrn_k);
        break;
    }
    snprintf(actual, size, "b[c] = a[c] / (%g + %g * %s(c-%d..c+%d) a%s)^%g", l->lrn_k, ax_lrn_sum_scale(l), sum, half,
             half, sq, l->lrn_beta);
}

/* order[0..n-1] by supp[] ascending (most damped first), ties by channel:
 * an insertion sort, as the lists are a few hundred channels long. */
static void sort_by_supp(int *order, int n, const float *supp)
{
    for (int i = 1; i < n; i++) {
        int o = order[i], j = i;
        while (j > 0 && (supp[order[j - 1]] > supp[o] || (supp[order[j - 1]] == supp[o] && order[j - 1] > o))) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = o;
    }
}

static void lrn_list(ax_ui *u, char *buf, size_t size)
{
    size_t p = 0;
    buf[0] = 0;
    for (int i = 0; i < u->net->nlayers && p + 40 < size; i++)
        if (u->net->layers[i].spec.type == AX_L_LRN)
            p += (size_t)snprintf(buf + p, size - p, "%s%s (layer %d)", p ? ", " : "", u->net->layers[i].spec.name,
                                  i + 1);
}

static void draw(ax_ui *u, ax_rect r)
{
    lrn_state *S = state_of(u);
    int i = u->cur;
    const char *name = ax_ui_layer_name(u, i);
    if (i < 0 || u->net->layers[i].spec.type != AX_L_LRN) {
        char list[400], text[600];
        lrn_list(u, list, sizeof list);
        ax_ui_title(u, r, "LRN", "%s is not a normalisation layer", name);
        if (list[0])
            snprintf(text, sizeof text, "This view shows what Local Response Normalization did. The LRN layers of %s are: "
                     "%s. Press g and type a name to go there.", u->net->spec.name, list);
        else
            snprintf(text, sizeof text, "The %s net has no LRN layer (it normalises nothing between channels).",
                     u->net->spec.name);
        ax_ui_notice(u, r, r.y + 2, text);
        return;
    }
    const ax_layer_spec *l = &u->net->layers[i].spec;
    char g[200], k[200], a[200];
    ax_ui_lrn_formula(u, l, g, k, a, sizeof g);
    ax_ui_title(u, r, "LRN", "%s %s %s convention", name, ax_ui_sym(u, AX_S_DOT), ax_lrn_convention_name(l->lrn_convention));
    int x0 = r.x + 1, w = r.w - 2, y = r.y + 1;
    ax_ui_put(u, y++, x0, w, AX_R_NORMAL, g);
    ax_ui_put(u, y++, x0, w, AX_R_NORMAL, k);
    ax_ui_put(u, y++, x0, w, AX_R_ACCENT, a);
    {
        /* how large the inputs must be for the division to matter: the sum
         * of squares over the window has to reach the order of k / scale */
        const ax_layer *L = &u->net->layers[i];
        ax_layer_op op;
        ax_layer_op_of(&op, L, i ? &u->net->layers[i - 1].out : &u->net->input);
        if (op.lrn_scale > 0 && op.lrn_size > 0) {
            double sum = op.lrn_k / op.lrn_scale, each = sqrt(sum / op.lrn_size);
            char v1[32], v2[32];
            ax_ui_printf(u, y++, x0, w, AX_R_DIM, "it acts once the window's sum of x^2 nears k / scale = %s (values "
                         "near %s each); much smaller inputs pass almost untouched", ax_ui_num(v1, sizeof v1, sum),
                         ax_ui_num(v2, sizeof v2, each));
        }
    }

    ax_layer_cache *after = ax_ui_cache(u, i), *before = ax_ui_cache(u, i - 1);
    if (!after || !before) {
        ax_ui_notice(u, r, y + 1, "Not computed yet. Press n to compute this layer.");
        return;
    }
    const float *tb = ax_ui_data(u, i - 1), *ta = ax_ui_data(u, i);
    int hw = after->h * after->w;
    if (!after->supp) {
        after->supp = malloc((size_t)after->c * sizeof *after->supp);
        if (!after->supp) return;
        ax_lrn_suppression(after->supp, tb, ta, 1, after->c, hw);
    }
    int ch = u->ch;
    y++;
    /* before and after on the scale of "before", so the damping shows as darkening */
    int rest = r.y + r.h - y;
    int maps_h = rest / 2 - 1;
    if (maps_h < 3) maps_h = 3;
    int colw = (w - 3) / 2;
    float lo = before->ch[ch].min, hi = before->ch[ch].max;
    ax_ui_printf(u, y, x0, colw, AX_R_HEADER, "before (%s) ch %d", ax_ui_layer_name(u, i - 1), ch);
    ax_ui_printf(u, y, x0 + colw + 3, colw, AX_R_HEADER, "after (%s) ch %d", name, ch);
    int rows, cols, half = ax_ui_heat_on(u);
    ax_ui_fit(half, after->h, after->w, maps_h, colw, &rows, &cols);
    ax_ui_heat_map(u, y + 1, x0, rows, cols, tb + (size_t)ch * hw, after->h, after->w, lo, hi);
    ax_ui_heat_map(u, y + 1, x0 + colw + 3, rows, cols, ta + (size_t)ch * hw, after->h, after->w, lo, hi);
    y += rows + 1;
    ax_ui_legend(u, y++, x0, colw, lo, hi);
    char m1[32], m2[32];
    float s = after->supp[ch];
    ax_ui_printf(u, y++, x0, w, AX_R_NORMAL, "channel %d: mean %s before, %s after; after/before %.3f (%.1f %% damped)",
                 ch, ax_ui_num(m1, sizeof m1, before->ch[ch].mean), ax_ui_num(m2, sizeof m2, after->ch[ch].mean), s,
                 100.0 * (1.0 - s));

    /* the suppression of every channel, in columns */
    int c = after->c;
    int *order = ax_ui_order(u, (size_t)c);
    if (!order) return;
    for (int j = 0; j < c; j++) order[j] = j;
    if (S->by_supp) sort_by_supp(order, c, after->supp);
    float smin = 1e30f, smax = -1e30f;
    double ssum = 0;
    int imin = 0, imax = 0;
    for (int j = 0; j < c; j++) {
        float v = after->supp[j];
        if (v < smin) smin = v, imin = j;
        if (v > smax) smax = v, imax = j;
        ssum += v;
    }
    ax_ui_printf(u, y++, x0, w, AX_R_HEADER, "after/before per channel (1 = untouched): min %.3f (ch %d) mean %.3f max %.3f (ch %d)",
                 smin, imin, ssum / c, smax, imax);
    ax_ui_printf(u, y++, x0, w, AX_R_DIM, "bars: damping 1 - after/before, full = the most damped channel%s",
                 S->by_supp ? "; most damped first" : "");
    double dmax = 1.0 - smin > 1e-12 ? 1.0 - smin : 1.0;
    int ew = 22, ncol = (w + 2) / ew, nrow = r.y + r.h - y;
    if (ncol < 1) ncol = 1;
    if (nrow < 1) return;
    int total_rows = (c + ncol - 1) / ncol;
    if (S->top < 0) {
        /* the selected channel changed: bring its entry into view */
        int pos = 0;
        while (pos < c && order[pos] != ch) pos++;
        S->top = pos / ncol - nrow / 2;
    }
    if (S->top > total_rows - nrow) S->top = total_rows - nrow;
    if (S->top < 0) S->top = 0;
    for (int rr = 0; rr < nrow; rr++)
        for (int cc = 0; cc < ncol; cc++) {
            int j = (S->top + rr) * ncol + cc;
            if (j >= c) break;
            int chj = order[j], ex = x0 + cc * ew;
            float v = after->supp[chj];
            ax_ui_printf(u, y + rr, ex, 11, chj == ch ? AX_R_SELECT : AX_R_NORMAL, "%4d %5.3f ", chj, v);
            ax_ui_bar(u, y + rr, ex + 11, ew - 13, (1.0 - v) / dmax, AX_R_BAR);
        }
}

static int key_order(ax_ui *u, int k)
{
    (void)k;
    lrn_state *S = state_of(u);
    S->by_supp = !S->by_supp;
    S->top = 0;
    return 1;
}

static int key_scroll(ax_ui *u, int k)
{
    lrn_state *S = state_of(u);
    switch (k) {
    case KEY_UP: if (S->top > 0) S->top--; return 1;
    case KEY_DOWN: S->top++; return 1;
    case KEY_PPAGE: S->top = S->top > 8 ? S->top - 8 : 0; return 1;
    case KEY_NPAGE: S->top += 8; return 1;
    case KEY_HOME: S->top = 0; return 1;
    default: S->top = 1 << 20; return 1;   /* End */
    }
}

/* [ ] { }: on an LRN layer computed; elsewhere the keys are left to others. */
static int key_channel(ax_ui *u, int k)
{
    lrn_state *S = state_of(u);
    ax_layer_cache *lc = ax_ui_cache(u, u->cur);
    if (!lc) return 0;
    S->top = -1;
    u->ch += k == '[' ? -1 : k == ']' ? 1 : k == '{' ? -10 : 10;
    if (u->ch < 0) u->ch = 0;
    if (u->ch >= lc->c) u->ch = lc->c - 1;
    return 1;
}

static const ax_key keys[] = {
    { .codes = { '[', ']', '{', '}' }, .keys = "[ ] { }", .what = "channel -1 / +1 / -10 / +10", .fn = key_channel,
      .bar = "[ ] channel" },
    { .codes = { KEY_UP, KEY_DOWN, KEY_PPAGE, KEY_NPAGE }, .keys = "Up Down PgUp PgDn",
      .what = "scroll the suppression list", .fn = key_scroll, .bar = "Up/Down scroll" },
    { .codes = { KEY_HOME, KEY_END }, .keys = "Home End", .what = "its top / bottom", .fn = key_scroll },
    { .codes = { 'o' }, .keys = "o", .what = "list by channel / most damped first", .fn = key_order,
      .bar = "o most damped first" },
    { .codes = { 0 }, .keys = NULL },
};

const ax_view ax_view_lrn = {
    .name = "LRN", .draw = draw, .keys = keys, .state = sizeof(lrn_state), .reset = reset,
};
