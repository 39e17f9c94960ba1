/* The Diff view (D): the current layer of side A against side B, with the
 * layer's agreement, the diagnosis of the first divergent layer, side A, side
 * B and A-B of the selected channel as heatmaps, and a per-channel error
 * table sortable like the Channels view. Figures come from ax_diff_tol. */
#include "modes/diffmode.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One channel of the image on show: A against B. */
typedef struct {
    int ch;
    double max_abs, mean_abs, out_frac, cosine;
    float a_max, b_max;
    double key;               /* the sort column's value, negated for descending */
} chan;

enum { C_CH, C_MAX, C_MEAN, C_OUT, C_COS, C_AMAX, C_BMAX, NCOLS };
static const struct { const char *name; int width; } columns[NCOLS] = {
    { "ch", 6 }, { "max|A-B|", 11 }, { "mean|A-B|", 11 }, { "out tol%", 10 }, { "cosine", 10 }, { "A max", 11 },
    { "B max", 11 },
};

typedef struct {
    int col, desc, top;
    chan *rows;               /* (c) in sort order */
    size_t cap;
    int c, layer, image, valid, s_col, s_desc;
    int shown_layer, shown_col, shown_desc;   /* the table's last start: a new one begins at its top row */
    int sel_row;                              /* the selected channel's row, for the footer */
} diff_state;

static diff_state *state_of(const ax_ui *u) { return ax_ui_view_state(u, AX_V_DIFF); }

static void reset(ax_ui *u)
{
    diff_state *S = state_of(u);
    free(S->rows);
    memset(S, 0, sizeof *S);
    S->col = C_MAX;
    S->desc = 1;
    S->shown_layer = -2;
    /* alexscope diff --ui opens here */
    if (u->cfg->diff_net || u->cfg->diff_ref) u->view = AX_V_DIFF;
}

static void release(ax_ui *u)
{
    diff_state *S = state_of(u);
    free(S->rows);
}

static double key_of(const chan *c, int col)
{
    switch (col) {
    case C_CH: return c->ch;
    case C_MAX: return c->max_abs;
    case C_MEAN: return c->mean_abs;
    case C_OUT: return c->out_frac;
    case C_COS: return c->cosine;
    case C_AMAX: return c->a_max;
    default: return c->b_max;
    }
}

static int by_key(const void *x, const void *y)
{
    const chan *a = x, *b = y;
    /* NaN sorts last either way; ties keep the lower channel first */
    if (isnan(a->key) != isnan(b->key)) return isnan(a->key) ? 1 : -1;
    if (a->key != b->key && !isnan(a->key)) return a->key < b->key ? -1 : 1;
    return a->ch - b->ch;
}

/* The rows in the order of column col, descending or not. */
static void sort_rows(chan *rows, int c, int col, int desc)
{
    for (int i = 0; i < c; i++) rows[i].key = desc ? -key_of(&rows[i], col) : key_of(&rows[i], col);
    qsort(rows, (size_t)c, sizeof *rows, by_key);
}

/* The channel table of row r for the image on show, sorted; NULL when out of memory. */
static const chan *table(ax_ui *u, const ax_comparison *cmp, const ax_cmp_row *r)
{
    diff_state *S = state_of(u);
    int n, c, h, w;
    ax_tensor_nchw(r->a, &n, &c, &h, &w);
    if (S->valid && S->layer == u->cur && S->image == u->image && S->c == c) {
        if (S->s_col != S->col || S->s_desc != S->desc) {
            sort_rows(S->rows, c, S->col, S->desc);
            S->s_col = S->col;
            S->s_desc = S->desc;
        }
        return S->rows;
    }
    if ((size_t)c > S->cap) {
        chan *p = realloc(S->rows, (size_t)c * sizeof *p);
        if (!p) return NULL;
        S->rows = p;
        S->cap = (size_t)c;
    }
    size_t hw = (size_t)h * w, img = (size_t)(u->image < n ? u->image : 0) * c * hw;
    double atol = ax_tolerance_atol(&cmp->tol, r->b, ax_tensor_numel(r->a));
    for (int ch = 0; ch < c; ch++) {
        const float *a = r->a->data + img + ch * hw, *b = r->b + img + ch * hw;
        ax_diff d;
        ax_diff_tol(&d, a, b, hw, atol, cmp->tol.rtol);
        ax_stats sa, sb;
        ax_stats_compute(&sa, a, hw);
        ax_stats_compute(&sb, b, hw);
        S->rows[ch] = (chan){ ch, d.max_abs, d.mean_abs, hw ? (double)d.fail / hw : 0.0, d.cosine, sa.max, sb.max, 0 };
    }
    sort_rows(S->rows, c, S->col, S->desc);
    S->c = c;
    S->layer = u->cur;
    S->image = u->image;
    S->s_col = S->col;
    S->s_desc = S->desc;
    S->valid = 1;
    return S->rows;
}

static int row_of(const chan *rows, int c, int ch)
{
    for (int i = 0; i < c; i++)
        if (rows[i].ch == ch) return i;
    return 0;
}

/* One map with its caption: (h, w) of a channel, or a vector laid out in rows of 64. */
static void map_at(ax_ui *u, int y, int x, int rows, int cols, const float *src, int h, int w, float lo, float hi)
{
    ax_ui_heat_map(u, y, x, rows, cols, src, h, w, lo, hi);
}

/* A vector (fc) as a near-square grid, padded with pad: returns the buffer. */
static float *grid(ax_ui *u, const float *v, int c, int *gh, int *gw, float pad)
{
    int gw_ = 1;
    while (gw_ * gw_ < c) gw_++;
    int gh_ = (c + gw_ - 1) / gw_;
    float *g = ax_ui_fbuf(u, (size_t)gh_ * gw_);
    if (!g) return NULL;
    for (int i = 0; i < gh_ * gw_; i++) g[i] = i < c ? v[i] : pad;
    *gh = gh_;
    *gw = gw_;
    return g;
}

static void draw_maps(ax_ui *u, int y, int x0, int w, int avail, const ax_cmp_row *r)
{
    int n, c, h, wd;
    ax_tensor_nchw(r->a, &n, &c, &h, &wd);
    size_t hw = (size_t)h * wd, img = (size_t)(u->image < n ? u->image : 0) * c * hw;
    int vector = hw == 1;
    const float *a, *b;
    size_t len;
    if (vector) {
        a = r->a->data + img;
        b = r->b + img;
        len = (size_t)c;
    } else {
        a = r->a->data + img + (size_t)u->ch * hw;
        b = r->b + img + (size_t)u->ch * hw;
        len = hw;
    }
    /* A and B on one scale, A-B on a scale symmetric about 0 */
    ax_stats sa, sb;
    ax_stats_compute(&sa, a, len);
    ax_stats_compute(&sb, b, len);
    float lo = sa.min < sb.min ? sa.min : sb.min, hi = sa.max > sb.max ? sa.max : sb.max;
    float *e = malloc(len * sizeof *e);
    if (!e) return;
    float m = 0;
    for (size_t i = 0; i < len; i++) {
        e[i] = a[i] - b[i];
        if (isfinite(e[i]) && fabsf(e[i]) > m) m = fabsf(e[i]);
    }
    int mw = (w - 4) / 3, mh = avail - 2;
    if (mw < 6 || mh < 1) {
        free(e);
        return;
    }
    char cap[3][96];
    if (vector) {
        snprintf(cap[0], sizeof cap[0], "side A: all %d", c);
        snprintf(cap[1], sizeof cap[1], "side B");
    } else {
        snprintf(cap[0], sizeof cap[0], "side A: channel %d", u->ch);
        snprintf(cap[1], sizeof cap[1], "side B: channel %d", u->ch);
    }
    snprintf(cap[2], sizeof cap[2], "A-B: max |A-B| %.3g", m);
    const float *src[3] = { a, b, e };
    for (int k = 0; k < 3; k++) {
        int x = x0 + k * (mw + 2);
        ax_ui_put(u, y, x, mw, AX_R_HEADER, cap[k]);
        int gh = h, gw = wd;
        const float *map = src[k];
        if (vector) {
            map = grid(u, src[k], c, &gh, &gw, k == 2 || ax_heatmap_is_signed(lo, hi) ? 0.0f : lo);
            if (!map) break;
        }
        int rows, cols;
        ax_ui_fit(ax_ui_heat_on(u), gh, gw, mh, mw, &rows, &cols);
        if (k < 2) map_at(u, y + 1, x, rows, cols, map, gh, gw, lo, hi);
        else map_at(u, y + 1, x, rows, cols, map, gh, gw, -m, m > 0 ? m : 1e-30f);
        ax_ui_legend(u, y + 1 + mh, x, mw, k < 2 ? lo : -m, k < 2 ? hi : m);
    }
    free(e);
}

static void draw_table(ax_ui *u, int y, int x0, int w, int rows, const ax_comparison *cmp, const ax_cmp_row *r)
{
    diff_state *S = state_of(u);
    const chan *t = table(u, cmp, r);
    if (!t || rows < 2) return;
    int c = S->c;
    int x = x0;
    for (int k = 0; k < NCOLS && x < x0 + w; k++) {
        char hd[32];
        int cw = columns[k].width;
        snprintf(hd, sizeof hd, "%s%s", columns[k].name, k == S->col ? ax_ui_sym(u, S->desc ? AX_S_DOWN : AX_S_UP) : "");
        ax_role hr = k == S->col ? AX_R_SELECT : AX_R_HEADER;
        ax_ui_printf(u, y, x, cw, hr, "%*s", cw - 1, "");
        int hl = (int)strlen(columns[k].name);
        ax_ui_put(u, y, x + cw - 1 - hl, hl + 1, hr, hd);
        x += cw;
    }
    y++;
    rows--;
    int sel = row_of(t, c, u->ch);
    S->sel_row = sel;
    if (sel < S->top) S->top = sel;
    if (sel >= S->top + rows) S->top = sel - rows + 1;
    if (S->top > c - rows) S->top = c - rows;
    if (S->top < 0) S->top = 0;
    for (int k = 0; k < rows && S->top + k < c; k++) {
        const chan *ch = &t[S->top + k];
        ax_role role = ch->ch == u->ch ? AX_R_SELECT : ch->out_frac > 0 ? AX_R_WARN : AX_R_NORMAL;
        char line[200], v[7][32];
        snprintf(v[0], sizeof v[0], "%d", ch->ch);
        ax_ui_num(v[1], sizeof v[1], ch->max_abs);
        ax_ui_num(v[2], sizeof v[2], ch->mean_abs);
        snprintf(v[3], sizeof v[3], "%.1f", 100.0 * ch->out_frac);
        snprintf(v[4], sizeof v[4], "%.6f", ch->cosine);
        ax_ui_num(v[5], sizeof v[5], ch->a_max);
        ax_ui_num(v[6], sizeof v[6], ch->b_max);
        int p = 0;
        for (int j = 0; j < NCOLS; j++)
            p += snprintf(line + p, sizeof line - (size_t)p, "%*.*s ", columns[j].width - 1, columns[j].width - 1, v[j]);
        ax_ui_fill(u, y + k, x0, x - x0, role);
        ax_ui_put(u, y + k, x0, w, role, line);
    }
}

static void draw(ax_ui *u, ax_rect r)
{
    diff_state *S = state_of(u);
    const char *name = ax_ui_layer_name(u, u->cur);
    const ax_comparison *cmp = ax_ui_diff_cmp(u);
    const char *label = ax_ui_diff_label(u);
    int x0 = r.x + 1, w = r.w - 2, y = r.y + 1;
    if (!cmp) {
        ax_ui_title(u, r, "Diff", "%s", name);
        ax_ui_notice(u, r, r.y + 2, label[0] ? "Side B is being loaded, computed and compared; the layers are marked "
                                               "= agree, X first divergence, ! downstream once it is done."
                                             : "No second side to compare with. Press W and give a weights file or a "
                                               ".net spec; `alexscope diff SIDE_A SIDE_B IMAGE --ui` opens here.");
        return;
    }
    ax_ui_title(u, r, "Diff", "%s %s B: %s", name, ax_ui_sym(u, AX_S_DOT), label);
    const ax_cmp_row *row = ax_ui_diff_row(u, u->cur);
    /* the first divergence and its diagnosis stay on top whatever the layer */
    if (cmp->first < 0) {
        char atol[48];
        if (cmp->tol.atol_of_max > 0) snprintf(atol, sizeof atol, "%g x max|B|", cmp->tol.atol_of_max);
        else snprintf(atol, sizeof atol, "%g", cmp->tol.atol);
        ax_ui_printf(u, y++, x0, w, AX_R_GOOD, "all %d compared tensors agree (atol %s, rtol %g)", cmp->compared,
                     atol, cmp->tol.rtol);
    } else {
        const ax_cmp_row *f = &cmp->rows[cmp->first];
        ax_ui_printf(u, y++, x0, w, AX_R_BAD, "first divergence: %s (] jumps there)", f->name);
        /* the whole diagnosis and its fix, wrapped (the Messages view keeps it too) */
        char diag[700];
        snprintf(diag, sizeof diag, "diagnosis: %s", ax_ui_diff_diagnosis(u));
        y = ax_ui_wrap(u, y, x0, w, AX_R_ACCENT, diag, 4);
    }
    if (!row || !row->b) {
        ax_ui_notice(u, r, y + 1, "Side B has no tensor for this layer.");
        return;
    }
    if (!row->shape_ok) {
        char bs[64] = "";
        size_t p = 0;
        for (int i = 0; i < row->b_ndim && p < sizeof bs; i++)
            p += (size_t)snprintf(bs + p, sizeof bs - p, "%s%d", i ? "x" : "", row->b_shape[i]);
        ax_ui_printf(u, y++, x0, w, AX_R_BAD, "%s: side B's tensor is %s, side A's has another shape", row->name, bs);
        return;
    }
    const ax_diff *d = &row->d;
    size_t n = ax_tensor_numel(row->a);
    const char *state = row->diverges ? (cmp->first == u->cur + 1 ? "FIRST DIVERGENCE" : "downstream, out of tolerance")
                                      : "agrees";
    char snr[24];
    if (isinf(d->snr_db)) snprintf(snr, sizeof snr, "%s", d->snr_db > 0 ? "inf" : "-inf");
    else snprintf(snr, sizeof snr, "%.1f", d->snr_db);
    ax_ui_printf(u, y++, x0, w, row->diverges ? (cmp->first == u->cur + 1 ? AX_R_BAD : AX_R_WARN) : AX_R_GOOD,
                 "%s %s: max|A-B| %.3g  cosine %.6f  SNR %s dB  %.3g%% out of tolerance", name, state, d->max_abs,
                 d->cosine, snr, n ? 100.0 * d->fail / n : 0.0);
    y++;
    /* another layer (] included) or another order: the table starts at its
     * top row, the worst channel by the sort, and selects it (before the
     * maps are drawn), so the first row agrees with the figures above it */
    if (S->shown_layer != u->cur || S->shown_col != S->col || S->shown_desc != S->desc) {
        const chan *t = table(u, cmp, row);
        if (t && S->c > 0) {
            S->shown_layer = u->cur;
            S->shown_col = S->col;
            S->shown_desc = S->desc;
            S->top = 0;
            u->ch = t[0].ch;
        }
    }
    int left = r.y + r.h - y;
    int maps = left * 2 / 5;
    if (maps > 18) maps = 18;
    if (maps >= 4) {
        draw_maps(u, y, x0, w, maps, row);
        y += maps + 1;
    }
    draw_table(u, y, x0, w, r.y + r.h - 1 - y, cmp, row);
    ax_ui_printf(u, r.y + r.h - 1, x0, w, AX_R_DIM, "row %d of %d %s sorted by %s %s %s / finds a channel %s list: = "
                 "agree  X first divergence  ! downstream  - not on B", S->sel_row + 1, S->c, ax_ui_sym(u, AX_S_DOT),
                 columns[S->col].name, S->desc ? "desc" : "asc", ax_ui_sym(u, AX_S_DOT), ax_ui_sym(u, AX_S_DOT));
}

static int key_sort(ax_ui *u, int k)
{
    diff_state *S = state_of(u);
    if (k == 'o') S->desc = !S->desc;
    else S->col = (S->col + (k == KEY_LEFT ? NCOLS - 1 : 1)) % NCOLS;
    S->top = 0;
    return 1;
}

/* Moving in the table and Enter, on a layer both sides computed alike. */
static int key_list(ax_ui *u, int k)
{
    diff_state *S = state_of(u);
    const ax_comparison *cmp = ax_ui_diff_cmp(u);
    const ax_cmp_row *row = ax_ui_diff_row(u, u->cur);
    if (!cmp || !row || !row->b || !row->shape_ok) return 0;
    const chan *t = table(u, cmp, row);
    if (!t) return 0;
    if (k == '\n' || k == '\r' || k == KEY_ENTER) {
        /* the selected channel full size (side A); Esc comes back here */
        ax_ui_open_view(u, AX_V_HEATMAP, 1);
        return 1;
    }
    int sel = ax_ui_list_key(k, row_of(t, S->c, u->ch), S->c, ax_ui_pane(u).h / 3);
    if (sel < 0) return 0;
    u->ch = t[sel].ch;
    return 1;
}

static const ax_key keys[] = {
    { .codes = { KEY_UP, KEY_DOWN, 'j', 'k' }, .keys = "Up Down j k", .what = "select a channel", .fn = key_list,
      .bar = "Up/Down channel" },
    { .codes = { KEY_PPAGE, KEY_NPAGE, KEY_HOME, KEY_END }, .keys = "PgUp PgDn Home End", .what = "page / first / last row",
      .fn = key_list },
    { .codes = { KEY_LEFT, KEY_RIGHT }, .keys = "Left Right", .what = "choose the sort column", .fn = key_sort,
      .bar = "Left/Right sort" },
    { .codes = { 'o' }, .keys = "o", .what = "sort ascending / descending", .fn = key_sort, .bar = "o order" },
    { .codes = { '\n', '\r', KEY_ENTER }, .keys = "Enter", .what = "the selected channel's heatmap (side A; Esc back)",
      .fn = key_list, .bar = "Enter heatmap" },
    { .codes = { 0 }, .keys = "] W", .what = "first divergence, side B (Everywhere)", .bar = "] first divergence  W side B" },
    { .codes = { 0 }, .keys = NULL },
};

const ax_view ax_view_diff = {
    .name = "Diff", .draw = draw, .keys = keys, .state = sizeof(diff_state), .reset = reset, .release = release,
};

/* ---- the Top-k view with two sides ---------------------------------------- */

static const char *label_of(const ax_ui *u, int i, char *buf, size_t size)
{
    const ax_labels *l = u->cfg->labels;
    if (l && i < l->count && l->names && l->names[i]) return l->names[i];
    snprintf(buf, size, "class %d", i);
    return buf;
}

/* Rank of class i in x (n): how many rank above it (ties: lower index first). */
static int rank_of(const float *x, int n, int i)
{
    int r = 0;
    for (int q = 0; q < n; q++) r += x[q] > x[i] || (x[q] == x[i] && q < i);
    return r;
}

int ax_ui_diff_topk(ax_ui *u, ax_rect r, int rows)
{
    const ax_comparison *cmp = ax_ui_diff_cmp(u);
    int last = u->net->nlayers - 1;
    const ax_cmp_row *row = ax_ui_diff_row(u, last);
    if (!cmp || !row || !row->b || !row->shape_ok || row->a->ndim != 2) return 0;
    int n = row->a->shape[0], c = row->a->shape[1];
    size_t off = (size_t)(u->image < n ? u->image : 0) * c;
    const float *a = row->a->data + off, *b = row->b + off;
    int probs = u->net->layers[last].spec.type == AX_L_SOFTMAX;
    int x0 = r.x + 1, w = r.w - 2, y = r.y + 1;
    int k = rows < r.h - 6 ? rows : r.h - 6;
    if (k < 1) k = 1;
    if (k > c) k = c;
    ax_ui_title(u, r, "Top-k", "top %d of %d %s from %s %s side A vs side B (%s)", k, c,
                probs ? "probabilities" : "scores", u->net->layers[last].spec.name, ax_ui_sym(u, AX_S_DOT),
                ax_ui_diff_label(u));
    int *ia = ax_ui_order(u, (size_t)k * 2);
    if (!ia) return 1;
    int *ib = ia + k;
    k = ax_topk(ia, k, a, c);
    ax_topk(ib, k, b, c);
    ax_ui_printf(u, y++, x0, w, AX_R_HEADER, "%4s %5s %-24s %10s %10s %10s  %s", "rank", "class", "label",
                 probs ? "A prob" : "A score", probs ? "B prob" : "B score", "B - A", "B rank");
    char lb[32];
    for (int j = 0; j < k && y < r.y + r.h - 2; j++, y++) {
        int cl = ia[j], rb = rank_of(b, c, cl);
        char change[32];
        if (rb == j) snprintf(change, sizeof change, "#%d =", rb + 1);
        else snprintf(change, sizeof change, "#%d %s%d", rb + 1, rb < j ? "+" : "-", abs(rb - j));
        ax_role role = rb != j ? AX_R_WARN : j == 0 ? AX_R_GOOD : AX_R_NORMAL;
        ax_ui_printf(u, y, x0, w, role, "%4d %5d %-24.24s %10.4f %10.4f %+10.2e  %s", j + 1, cl,
                     label_of(u, cl, lb, sizeof lb), a[cl], b[cl], (double)b[cl] - a[cl], change);
    }
    /* B's top classes that A's top-k lacks */
    for (int j = 0; j < k && y < r.y + r.h - 1; j++) {
        int in_a = 0;
        for (int q = 0; q < k; q++) in_a |= ia[q] == ib[j];
        if (in_a) continue;
        int cl = ib[j];
        ax_ui_printf(u, y++, x0, w, AX_R_WARN, "  B #%d: %5d %-24.24s %10.4f %10.4f  (A #%d)", j + 1, cl,
                     label_of(u, cl, lb, sizeof lb), a[cl], b[cl], rank_of(a, c, cl) + 1);
    }
    ax_ui_printf(u, r.y + r.h - 1, x0, w, AX_R_DIM, "top-1: %s", ia[0] == ib[0] ? "both sides agree" : "the sides differ");
    return 1;
}
