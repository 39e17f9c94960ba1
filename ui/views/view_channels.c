/* View 2, Channels: per-channel statistics of the current layer as a table,
 * sortable by any column and scrollable; Enter opens a channel's heatmap.
 * The statistics and the sort order come from src/stats.c. */
#include "core.h"
#include "teach.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* This view's own state; the selected channel is shared (u->ch). */
typedef struct {
    int col, desc, top;           /* sort column and order, first row on screen */
    int *order;                   /* (c) channels in sort order */
    size_t cap;
    int o_layer, o_col, o_desc, o_image, o_valid;
} channels_state;

static channels_state *state_of(const ax_ui *u) { return ax_ui_view_state(u, AX_V_CHANNELS); }

static void reset(ax_ui *u)
{
    channels_state *S = state_of(u);
    free(S->order);
    memset(S, 0, sizeof *S);
}

static void release(ax_ui *u)
{
    channels_state *S = state_of(u);
    free(S->order);
}

/* width is the wide layout's; narrow panes (80 columns) use narrow. Every
 * value is right-aligned under the right end of its heading. */
static const struct { const char *name; ax_stats_column col; int width, narrow; } columns[] = {
    { "ch", AX_STATS_INDEX, 6, 5 },
    { "min", AX_STATS_MIN, 11, 9 },
    { "max", AX_STATS_MAX, 11, 9 },
    { "mean", AX_STATS_MEAN, 11, 9 },
    { "std", AX_STATS_STD, 11, 9 },
    { "zero%", AX_STATS_ZERO_FRAC, 8, 7 },
    { "NaN", AX_STATS_NONFINITE, 6, 5 },
};
#define DEAD_W 5   /* "dead" after the numbers (narrow: "D") */
#define NCOLS ((int)(sizeof columns / sizeof columns[0]))

/* The sort order of the current layer, recomputed only when it changes. */
static const int *order_of(ax_ui *u, ax_layer_cache *lc)
{
    channels_state *S = state_of(u);
    if ((size_t)lc->c > S->cap) {
        int *p = realloc(S->order, (size_t)lc->c * sizeof *p);
        if (!p) return NULL;
        S->order = p;
        S->cap = (size_t)lc->c;
        S->o_valid = 0;
    }
    if (!S->o_valid || S->o_layer != u->cur || S->o_col != S->col || S->o_desc != S->desc || S->o_image != u->image) {
        ax_channel_order(S->order, lc->ch, lc->c, columns[S->col].col, S->desc);
        S->o_layer = u->cur;
        S->o_col = S->col;
        S->o_desc = S->desc;
        S->o_image = u->image;
        S->o_valid = 1;
    }
    return S->order;
}

static int row_of(const int *order, int c, int ch)
{
    for (int r = 0; r < c; r++)
        if (order[r] == ch) return r;
    return 0;
}

static int visible_rows(ax_rect r)
{
    return r.h - 4;
}

static void draw(ax_ui *u, ax_rect r)
{
    channels_state *S = state_of(u);
    ax_layer_cache *lc = ax_ui_cache(u, u->cur);
    const char *name = ax_ui_layer_name(u, u->cur);
    if (!lc) {
        ax_ui_title(u, r, "Channels", "%s", name);
        ax_ui_notice(u, r, r.y + 2, "Not computed yet. Press n to compute this layer, or a to run all.");
        return;
    }
    ax_ui_title(u, r, "Channels", "%s %s %d channels of %dx%d %s %d dead", name, ax_ui_sym(u, AX_S_DOT), lc->c,
                lc->h, lc->w, ax_ui_sym(u, AX_S_DOT), lc->dead);
    const int *order = order_of(u, lc);
    if (!order) return;
    int x0 = r.x + 1, w = r.w - 2;
    int y = r.y + 1;
    /* header: the sort column carries an arrow */
    int narrow = w < 70;
    int x = x0;
    for (int c = 0; c < NCOLS && x < x0 + w; c++) {
        char h[32];
        snprintf(h, sizeof h, "%s%s", columns[c].name, c == S->col ? ax_ui_sym(u, S->desc ? AX_S_DOWN : AX_S_UP) : "");
        int cw = narrow ? columns[c].narrow : columns[c].width;
        ax_role hr = c == S->col ? AX_R_SELECT : AX_R_HEADER;
        ax_ui_printf(u, y, x, cw, hr, "%*s", cw - 1, "");
        /* the arrow hangs into the gap after the column, the name ends where the values end */
        int hl = (int)strlen(columns[c].name);
        ax_ui_put(u, y, x + cw - 1 - hl, hl + 1, hr, h);
        x += cw;
    }
    int dw = narrow ? 2 : DEAD_W;
    x += dw;
    int map_x = x + 1, map_w = x0 + w - map_x;
    if (map_w > 16) map_w = 16;
    int spatial = lc->h * lc->w > 1 && map_w >= 4;
    if (spatial) ax_ui_put(u, y, map_x, map_w, AX_R_HEADER, "map");
    y++;

    int rows = visible_rows(r);
    int sel = row_of(order, lc->c, u->ch);
    if (sel < S->top) S->top = sel;
    if (sel >= S->top + rows) S->top = sel - rows + 1;
    if (S->top > lc->c - rows) S->top = lc->c - rows;
    if (S->top < 0) S->top = 0;
    const float *data = ax_ui_data(u, u->cur);
    int hw = lc->h * lc->w;
    for (int k = 0; k < rows && S->top + k < lc->c; k++) {
        int ch = order[S->top + k];
        const ax_stats *s = &lc->ch[ch];
        int dead = lc->dead && ax_stats_dead(s);   /* lc->dead is 0 where "dead" means nothing */
        ax_role role = ch == u->ch ? AX_R_SELECT : dead ? AX_R_DIM : AX_R_NORMAL;
        const double vals[4] = { s->min, s->max, s->mean, s->std };
        char line[160], v[32];
        int p = 0;
        for (int c = 0; c < NCOLS; c++) {
            int cw = narrow ? columns[c].narrow : columns[c].width;
            if (c == 0) snprintf(v, sizeof v, "%d", ch);
            else if (c <= 4 && narrow) {
                /* as many digits as fit the narrow column */
                for (int prec = 3; prec >= 1; prec--)
                    if (snprintf(v, sizeof v, "%.*g", prec, vals[c - 1]) <= cw - 1) break;
            }
            else if (c <= 4) ax_ui_num(v, sizeof v, vals[c - 1]);
            else if (c == 5) snprintf(v, sizeof v, "%.1f", 100.0 * s->zero_frac);
            else snprintf(v, sizeof v, "%zu", s->nonfinite);
            p += snprintf(line + p, sizeof line - (size_t)p, "%*.*s ", cw - 1, cw - 1, v);
        }
        p += snprintf(line + p, sizeof line - (size_t)p, "%-*s", dw, dead ? (narrow ? "D" : "dead") : "");
        ax_ui_fill(u, y + k, x0, x - x0, role);
        ax_ui_put(u, y + k, x0, x - x0, s->nonfinite && ch != u->ch ? AX_R_BAD : role, line);
        if (spatial)
            ax_ui_heat_map(u, y + k, map_x, 1, map_w, data + (size_t)ch * hw, lc->h, lc->w, s->min, s->max);
    }
    char pos[64];
    snprintf(pos, sizeof pos, "row %d of %d", sel + 1, lc->c);
    if (narrow) {
        ax_ui_printf(u, r.y + r.h - 1, x0, w, AX_R_DIM, "%s, by %s %s, D = dead, Enter: heatmap", pos,
                     columns[S->col].name, S->desc ? "desc" : "asc");
        return;
    }
    ax_ui_printf(u, r.y + r.h - 1, x0, w, AX_R_DIM, "%s %s sorted by %s, %s %s Enter: heatmap of channel %d", pos,
                 ax_ui_sym(u, AX_S_DOT), columns[S->col].name, S->desc ? "descending" : "ascending",
                 ax_ui_sym(u, AX_S_DOT), u->ch);
}

/* A new sort order starts at its top row. */
static void resorted(ax_ui *u)
{
    channels_state *S = state_of(u);
    S->top = 0;
    ax_layer_cache *lc = ax_ui_cache(u, u->cur);
    const int *order = lc ? order_of(u, lc) : NULL;
    if (order) u->ch = order[0];
}

static int key_sort(ax_ui *u, int k)
{
    channels_state *S = state_of(u);
    if (k == 'o') S->desc = !S->desc;
    else S->col = (S->col + (k == KEY_LEFT ? NCOLS - 1 : 1)) % NCOLS;
    resorted(u);
    return 1;
}

static int key_explain(ax_ui *u, int k)
{
    (void)k;
    ax_ui_explain_channel_max(u, u->cur, u->ch);
    return 1;
}

/* Moving in the table and Enter, on a computed layer. */
static int key_list(ax_ui *u, int k)
{
    ax_layer_cache *lc = ax_ui_cache(u, u->cur);
    const int *order = lc ? order_of(u, lc) : NULL;
    if (!order) return 0;
    if (k == '\n' || k == '\r' || k == KEY_ENTER) {
        ax_ui_open_view(u, AX_V_HEATMAP, 1);
        return 1;
    }
    int sel = ax_ui_list_key(k, row_of(order, lc->c, u->ch), lc->c, visible_rows(ax_ui_pane(u)));
    if (sel < 0) return 0;
    u->ch = order[sel];
    return 1;
}

static const ax_key keys[] = {
    { .codes = { KEY_UP, KEY_DOWN, 'j', 'k' }, .keys = "Up Down j k", .what = "select a channel", .fn = key_list,
      .bar = "Up/Down select" },
    { .codes = { KEY_PPAGE, KEY_NPAGE, KEY_HOME, KEY_END }, .keys = "PgUp PgDn Home End", .what = "page / first / last row",
      .fn = key_list },
    { .codes = { KEY_LEFT, KEY_RIGHT }, .keys = "Left Right", .what = "choose the sort column", .fn = key_sort,
      .bar = "Left/Right sort column" },
    { .codes = { 'o' }, .keys = "o", .what = "sort ascending / descending", .fn = key_sort, .bar = "o order" },
    { .codes = { '\n', '\r', KEY_ENTER }, .keys = "Enter", .what = "heatmap of the selected channel", .fn = key_list,
      .bar = "Enter heatmap" },
    { .codes = { 0 }, .keys = "/ NUMBER", .what = "select a channel by number" },
    { .codes = { 'e' }, .keys = "e", .what = "explain the channel's largest value", .fn = key_explain },
    { .codes = { 0 }, .keys = NULL },
};

const ax_view ax_view_channels = {
    .name = "Channels", .draw = draw, .keys = keys, .state = sizeof(channels_state), .reset = reset,
    .release = release,
};
