/* View 7, Filters: the weight statistics of every layer that has weights, and
 * the first convolution's kernels as colour tiles (RGB when it reads three
 * channels). Statistics are filled by a helper thread (worker.c). */
#include "core.h"

#include <math.h>
#include <stdio.h>

typedef struct {
    int top;            /* first row of kernels on screen */
    int kernel_norm;    /* each kernel on its own scale */
    int split;          /* the two halves of the kernels side by side (AlexNet's two GPUs) */
} filters_state;

static filters_state *state_of(const ax_ui *u) { return ax_ui_view_state(u, AX_V_FILTERS); }

static void reset(ax_ui *u)
{
    filters_state *S = state_of(u);
    S->top = 0;
    S->kernel_norm = 0;
    S->split = 0;
}

static int first_conv(const ax_net *net)
{
    for (int i = 0; i < net->nlayers; i++)
        if (net->layers[i].spec.type == AX_L_CONV && net->layers[i].weight.data) return i;
    return -1;
}

static int stats_table(ax_ui *u, ax_rect r, int y)
{
    int x0 = r.x + 1, w = r.w - 2, narrow = w < 80, wide = w >= 104;
    if (!ax_ui_wstats_ready(u)) {
        ax_ui_put(u, y++, x0, w, AX_R_DIM, "computing weight statistics...");
        return y;
    }
    if (narrow)
        ax_ui_printf(u, y++, x0, w, AX_R_HEADER, "%-8.8s %-11s %8s %8s %8s %8s", "layer", "weight", "min", "max",
                     "mean", "std");
    else if (wide)
        ax_ui_printf(u, y++, x0, w, AX_R_HEADER, "%-12.12s %-20s %12s %10s %10s %10s %10s %10s", "layer", "weight",
                     "params", "min", "max", "mean", "std", "bias mean");
    else
        ax_ui_printf(u, y++, x0, w, AX_R_HEADER, "%-10.10s %-18s %11s %9s %9s %9s %9s", "layer", "weight", "params",
                     "min", "max", "mean", "std");
    for (int i = 0; i < u->net->nlayers && y < r.y + r.h; i++) {
        const ax_layer *l = &u->net->layers[i];
        if (!l->weight.data) continue;
        const ax_stats *s = &u->wstats[i];
        char sh[48], p[32], a[32], b[32], m[32], d[32], bm[32] = "-";
        ax_tensor_shape_str(&l->weight, sh, sizeof sh);
        if (l->bias.data) ax_ui_num(bm, sizeof bm, u->bstats[i].mean);
        if (!wide) {
            snprintf(a, sizeof a, "%.3g", s->min);
            snprintf(b, sizeof b, "%.3g", s->max);
            snprintf(m, sizeof m, "%.3g", s->mean);
            snprintf(d, sizeof d, "%.3g", s->std);
        }
        if (narrow) {
            const ax_tensor *wt = &l->weight;
            int q = snprintf(sh, sizeof sh, "%d", wt->shape[0]);
            for (int k = 1; k < wt->ndim && q < (int)sizeof sh; k++)
                q += snprintf(sh + q, sizeof sh - (size_t)q, "x%d", wt->shape[k]);
            snprintf(a, sizeof a, "%.2g", s->min);
            snprintf(b, sizeof b, "%.2g", s->max);
            snprintf(m, sizeof m, "%.2g", s->mean);
            snprintf(d, sizeof d, "%.2g", s->std);
            char nm[48], shc[48];
            ax_ui_printf(u, y++, x0, w, AX_R_NORMAL, "%s %s %8s %8s %8s %8s",
                         ax_ui_cell(u, nm, sizeof nm, l->spec.name, 8), ax_ui_cell(u, shc, sizeof shc, sh, 11), a,
                         b, m, d);
        } else if (!wide) {
            char nm[48], shc[48];
            ax_ui_printf(u, y++, x0, w, AX_R_NORMAL, "%s %s %11s %9s %9s %9s %9s",
                         ax_ui_cell(u, nm, sizeof nm, l->spec.name, 10), ax_ui_cell(u, shc, sizeof shc, sh, 18),
                         ax_ui_count(p, sizeof p, (double)l->params), a, b, m, d);
        } else {
            char nm[48], shc[48];
            ax_ui_printf(u, y++, x0, w, AX_R_NORMAL, "%s %s %12s %10s %10s %10s %10s %10s",
                         ax_ui_cell(u, nm, sizeof nm, l->spec.name, 12), ax_ui_cell(u, shc, sizeof shc, sh, 20),
                         ax_ui_count(p, sizeof p, (double)l->params), ax_ui_num(a, sizeof a, s->min),
                         ax_ui_num(b, sizeof b, s->max), ax_ui_num(m, sizeof m, s->mean),
                         ax_ui_num(d, sizeof d, s->std), bm);
        }
        if (s->nonfinite) ax_ui_put(u, y - 1, x0 + w - 8, 8, AX_R_BAD, "NaN/Inf!");
    }
    return y;
}

/* Kernel value to 0..255 with 0 at mid grey. */
static unsigned char shade(float v, float m)
{
    double t = m > 0 ? 127.5 + 127.5 * v / m : 127.5;
    return (unsigned char)(t < 0 ? 0 : t > 255 ? 255 : t);
}

static void kernel_tile(ax_ui *u, const ax_layer *l, int k, float m, int y, int x, int bgr)
{
    filters_state *S = state_of(u);
    int C = l->weight.shape[1], kh = l->weight.shape[2], kw = l->weight.shape[3];
    const float *wk = l->weight.data + (size_t)k * C * kh * kw;
    if (S->kernel_norm) {
        m = 0;
        for (int j = 0; j < C * kh * kw; j++) m = fmaxf(m, fabsf(wk[j]));
    }
    int rows = (kh + 1) / 2;
    for (int rr = 0; rr < rows; rr++)
        for (int cc = 0; cc < kw; cc++) {
            unsigned char px[2][3];
            for (int half = 0; half < 2; half++) {
                int yy = 2 * rr + half;
                for (int d = 0; d < 3; d++) {
                    if (yy >= kh) continue;
                    /* C == 3: display channel d from net channel (BGR nets reversed); else the mean */
                    float v = 0;
                    if (C == 3) v = wk[((size_t)(bgr ? 2 - d : d) * kh + yy) * kw + cc];
                    else {
                        for (int c = 0; c < C; c++) v += wk[((size_t)c * kh + yy) * kw + cc];
                        v /= (float)C;
                    }
                    px[half][d] = shade(v, m);
                }
            }
            ax_ui_rgb_cell(u, y + rr, x + cc, px[0], 2 * rr + 1 < kh ? px[1] : NULL);
        }
}

static void draw(ax_ui *u, ax_rect r)
{
    filters_state *S = state_of(u);
    int f = first_conv(u->net), nw = 0;
    for (int i = 0; i < u->net->nlayers; i++) nw += u->net->layers[i].weight.data != NULL;
    ax_ui_title(u, r, "Filters", "weights of %d layers%s%s", nw, f >= 0 ? ", kernels of " : "",
                f >= 0 ? u->net->layers[f].spec.name : "");
    int y = stats_table(u, r, r.y + 1);
    if (f < 0) return;
    const ax_layer *l = &u->net->layers[f];
    int OC = l->weight.shape[0], C = l->weight.shape[1], kh = l->weight.shape[2], kw = l->weight.shape[3];
    float m = 0;
    size_t n = ax_tensor_numel(&l->weight);
    for (size_t j = 0; j < n; j++) m = fmaxf(m, fabsf(l->weight.data[j]));
    y++;
    ax_ui_printf(u, y++, r.x + 1, r.w - 2, AX_R_HEADER, "%s: %d kernels of %dx%dx%d, %s, scaled per %s, grey = 0",
                 l->spec.name, OC, C, kh, kw, C == 3 ? "as RGB" : "mean over input channels",
                 S->kernel_norm ? "kernel" : "layer");
    int th = (kh + 1) / 2, tw = kw;
    if (S->split && OC >= 2) {
        /* two columns, each row labelled with its first kernel's number */
        int half = OC / 2, colw = (r.w - 3) / 2, gut = 4;
        int per = (colw - gut) / (tw + 1);
        if (per < 1) per = 1;
        for (int g = 0; g < 2; g++)
            ax_ui_printf(u, y, r.x + 1 + g * (colw + 2), colw, AX_R_ACCENT, "tower %d: kernels %d-%d", g, g * half,
                         g * half + half - 1);
        y++;
        int vis = (r.y + r.h - y) / (th + 1), rows_all = (half + per - 1) / per;
        if (vis < 1) return;
        if (S->top > rows_all - vis) S->top = rows_all - vis;
        if (S->top < 0) S->top = 0;
        for (int rr = 0; rr < vis && S->top + rr < rows_all; rr++)
            for (int g = 0; g < 2; g++) {
                int x = r.x + 1 + g * (colw + 2), first = (S->top + rr) * per;
                ax_ui_printf(u, y + rr * (th + 1), x, gut - 1, AX_R_DIM, "%3d", g * half + first);
                for (int cc = 0; cc < per && first + cc < half; cc++)
                    kernel_tile(u, l, g * half + first + cc, m, y + rr * (th + 1), x + gut + cc * (tw + 1),
                                u->net->spec.pre.bgr);
            }
        return;
    }
    int per_row = (r.w - 1) / (tw + 1);
    if (per_row < 1) per_row = 1;
    int vis_rows = (r.y + r.h - y) / (th + 1);
    int total = (OC + per_row - 1) / per_row;
    if (vis_rows < 1) {
        if (y < r.y + r.h)
            ax_ui_printf(u, y, r.x + 1, r.w - 2, AX_R_DIM, "(a taller window shows the %d kernels)", OC);
        return;
    }
    if (S->top > total - vis_rows) S->top = total - vis_rows;
    if (S->top < 0) S->top = 0;
    for (int rr = 0; rr < vis_rows; rr++)
        for (int cc = 0; cc < per_row; cc++) {
            int k = (S->top + rr) * per_row + cc;
            if (k >= OC) break;
            kernel_tile(u, l, k, m, y + rr * (th + 1), r.x + 1 + cc * (tw + 1), u->net->spec.pre.bgr);
        }
    if (vis_rows < total)
        ax_ui_printf(u, r.y + r.h - 1, r.x + 1, r.w - 2, AX_R_DIM, "kernel rows %d-%d of %d (Up/Down scroll)",
                     S->top + 1, S->top + vis_rows, total);
}

static int key_scroll(ax_ui *u, int k)
{
    ax_ui_scroll_key(&state_of(u)->top, k, 4);
    return 1;
}

static int key_scale(ax_ui *u, int k)
{
    (void)k;
    filters_state *S = state_of(u);
    S->kernel_norm = !S->kernel_norm;
    return 1;
}

static int key_split(ax_ui *u, int k)
{
    (void)k;
    filters_state *S = state_of(u);
    S->split = !S->split;
    S->top = 0;
    return 1;
}

static const ax_key keys[] = {
    { .codes = { KEY_UP, KEY_DOWN, KEY_PPAGE, KEY_NPAGE }, .keys = "Up Down PgUp PgDn", .what = "scroll the kernels",
      .fn = key_scroll, .bar = "Up/Down PgUp/PgDn Home/End scroll the kernels" },
    { .codes = { KEY_HOME, KEY_END }, .keys = "Home End", .what = "first / last row of kernels", .fn = key_scroll },
    { .codes = { 'l' }, .keys = "l", .what = "scale per layer / per kernel", .fn = key_scale, .bar = "l scale" },
    { .codes = { 'h' }, .keys = "h", .what = "the two towers apart (conv1: 0-47 | 48-95)", .fn = key_split, .bar = "h towers" },
    { .codes = { 0 }, .keys = NULL },
};

const ax_view ax_view_filters = {
    .name = "Filters", .draw = draw, .keys = keys, .state = sizeof(filters_state), .reset = reset,
};
