/* View 3, Heatmap: one channel's feature map (fit to the pane or 1:1, per-channel
 * or per-layer normalisation, a cursor reading the value at (y, x)), or a tile
 * grid of many channels. Rasterising is ax_heatmap_levels (src/heatmap.c); a map
 * with both signs at the chosen scale is drawn on the diverging scale. */
#include "core.h"
#include "teach.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* This view's own state; the selected channel is shared (u->ch). */
typedef struct {
    int one;          /* 1:1 instead of fit */
    int layer_norm;   /* one scale for the layer */
    int tiles;        /* the tile grid */
    int from_tiles;   /* the map was opened from the tiles: back goes there */
    int tile_w;
} heatmap_state;

static heatmap_state *state_of(const ax_ui *u) { return ax_ui_view_state(u, AX_V_HEATMAP); }

static void reset(ax_ui *u)
{
    heatmap_state *S = state_of(u);
    memset(S, 0, sizeof *S);
    S->tile_w = 12;
}

/* The cursor inside the map on show (vectors: their near-square layout). */
static void clamp_cursor(ax_ui *u)
{
    const ax_tensor *t = ax_ui_shape_of(u, u->cur);
    int n, c, h, w;
    ax_tensor_nchw(t, &n, &c, &h, &w);
    if (h * w == 1) {
        w = (int)ceil(sqrt((double)c));
        h = (c + w - 1) / w;
    }
    if (u->cur_y >= h) u->cur_y = h - 1;
    if (u->cur_x >= w) u->cur_x = w - 1;
    if (u->cur_y < 0) u->cur_y = 0;
    if (u->cur_x < 0) u->cur_x = 0;
}

/* The map on show: a channel, or a whole vector laid out near-square. */
typedef struct {
    const float *map;
    int h, w;
    float lo, hi;
    int vec;
} source;

/* The current layer's activation, or what a mode shows in its place (G: the
 * gradient of the chosen class). */
static ax_layer_cache *layer_cache(ax_ui *u)
{
    ax_ui_shown sh;
    ax_ui_shown_layer(u, u->cur, &sh);
    return sh.cache;
}

static int get_source(ax_ui *u, ax_layer_cache *lc, int ch, source *s)
{
    heatmap_state *S = state_of(u);
    ax_ui_shown sh;
    ax_ui_shown_layer(u, u->cur, &sh);
    const float *data = sh.data;
    if (!data || !lc) return 0;
    if (lc->h * lc->w == 1) {
        int c = lc->c, w = (int)ceil(sqrt((double)c)), h = (c + w - 1) / w;
        float *buf = ax_ui_fbuf(u, (size_t)h * w);
        if (!buf) return 0;
        memcpy(buf, data, (size_t)c * sizeof *buf);
        /* past the last value: blank on either scale (zero on the signed one) */
        float pad = ax_heatmap_is_signed(lc->all.min, lc->all.max) ? 0.0f : lc->all.min;
        for (int i = c; i < h * w; i++) buf[i] = pad;
        *s = (source){ buf, h, w, lc->all.min, lc->all.max, 1 };
        return 1;
    }
    const ax_stats *cs = S->layer_norm ? &lc->all : &lc->ch[ch];
    *s = (source){ data + (size_t)ch * lc->h * lc->w, lc->h, lc->w, cs->min, cs->max, 0 };
    return 1;
}

/* Tile geometry of the grid mode. */
typedef struct { int tw, th, ncols, nrows, page, first; } tiling;

static tiling tiles_of(const ax_ui *u, ax_rect r, int c)
{
    heatmap_state *S = state_of(u);
    tiling g;
    g.tw = S->tile_w;
    g.th = g.tw / 2 > 0 ? g.tw / 2 : 1;
    g.ncols = (r.w - 1) / (g.tw + 1);
    g.nrows = (r.h - 3) / (g.th + 1);
    if (g.ncols < 1) g.ncols = 1;
    if (g.nrows < 1) g.nrows = 1;
    g.page = g.ncols * g.nrows;
    g.first = (u->ch / g.page) * g.page;
    (void)c;
    return g;
}

static void draw_tiles(ax_ui *u, ax_rect r, ax_layer_cache *lc)
{
    heatmap_state *S = state_of(u);
    tiling g = tiles_of(u, r, lc->c);
    int last = g.first + g.page;
    if (last > lc->c) last = lc->c;
    ax_ui_title(u, r, "Heatmap", "%s %s tiles: channels %d-%d of %d %s %s", ax_ui_layer_name(u, u->cur),
                ax_ui_sym(u, AX_S_DOT), g.first, last - 1, lc->c, ax_ui_sym(u, AX_S_DOT),
                S->layer_norm ? "per-layer scale" : "per-channel scale");
    for (int ch = g.first; ch < last; ch++) {
        int k = ch - g.first, ty = r.y + 1 + (k / g.ncols) * (g.th + 1), tx = r.x + 1 + (k % g.ncols) * (g.tw + 1);
        source s;
        if (!get_source(u, lc, ch, &s)) return;
        ax_ui_printf(u, ty, tx, g.tw, ch == u->ch ? AX_R_SELECT : AX_R_DIM, "%-*d", g.tw, ch);
        ax_ui_heat_map(u, ty + 1, tx, g.th, g.tw, s.map, s.h, s.w, s.lo, s.hi);
    }
    source s;
    if (get_source(u, lc, u->ch, &s)) {
        char a[32], b[32], m[32];
        ax_ui_printf(u, r.y + r.h - 2, r.x + 1, r.w - 2, AX_R_NORMAL, "channel %d: min %s max %s mean %s", u->ch,
                     ax_ui_num(a, sizeof a, lc->ch[u->ch].min), ax_ui_num(b, sizeof b, lc->ch[u->ch].max),
                     ax_ui_num(m, sizeof m, lc->ch[u->ch].mean));
        ax_ui_legend(u, r.y + r.h - 1, r.x + 1, r.w - 2, s.lo, s.hi);
    }
}

static void draw(ax_ui *u, ax_rect r)
{
    heatmap_state *S = state_of(u);
    ax_ui_shown sh;
    ax_ui_shown_layer(u, u->cur, &sh);
    ax_layer_cache *lc = sh.cache;
    const char *name = sh.what;
    if (!lc) {
        ax_ui_title(u, r, "Heatmap", "%s", name);
        ax_ui_shown_notice(u, &sh, r, r.y + 2, u->cur);
        return;
    }
    source s;
    if (!get_source(u, lc, u->ch, &s)) return;
    if (S->tiles && !s.vec) {
        draw_tiles(u, r, lc);
        return;
    }
    int half = ax_ui_heat_on(u);
    if (s.vec)
        ax_ui_title(u, r, "Heatmap", "%s %s %d values as %dx%d %s %s", name, ax_ui_sym(u, AX_S_DOT), lc->c, s.h,
                    s.w, ax_ui_sym(u, AX_S_DOT), S->one ? "1:1" : "fit");
    else
        ax_ui_title(u, r, "Heatmap", "%s %s channel %d of %d (%dx%d) %s %s %s %s", name, ax_ui_sym(u, AX_S_DOT),
                    u->ch, lc->c, s.h, s.w, ax_ui_sym(u, AX_S_DOT), S->one ? "1:1" : "fit",
                    ax_ui_sym(u, AX_S_DOT), S->layer_norm ? "per-layer scale" : "per-channel scale");
    int avail_r = r.h - 4, avail_c = r.w - 2;
    int y0 = r.y + 2, x0 = r.x + 1;
    int rows, cols, oy = 0, ox = 0;
    clamp_cursor(u);
    int hy = u->cur_y, hx = u->cur_x, cy, cx;
    if (!S->one) {
        ax_ui_fit(half, s.h, s.w, avail_r, avail_c, &rows, &cols);
        ax_ui_heat_map(u, y0, x0, rows, cols, s.map, s.h, s.w, s.lo, s.hi);
        cx = (int)((long)hx * cols / s.w);
        cy = half ? (int)((long)hy * 2 * rows / s.h) / 2 : (int)((long)hy * rows / s.h);
    } else {
        /* one map pixel per text cell, or per half cell; the window follows the cursor */
        int vw = s.w < avail_c ? s.w : avail_c;
        int vh = half ? (s.h < 2 * avail_r ? s.h : 2 * avail_r) : (s.h < avail_r ? s.h : avail_r);
        ox = hx - vw / 2;
        if (ox > s.w - vw) ox = s.w - vw;
        if (ox < 0) ox = 0;
        oy = hy - vh / 2;
        if (half) oy &= ~1;
        if (oy > s.h - vh) oy = s.h - vh;
        if (oy < 0) oy = 0;
        int prow = half ? (vh + 1) & ~1 : vh;
        float *win = ax_ui_fbuf(u, (size_t)prow * vw + (s.vec ? (size_t)s.h * s.w : 0));
        if (!win) return;
        if (s.vec) {
            /* the vector itself lives in the same scratch: keep it, work behind it */
            memmove(win + (size_t)prow * vw, win, (size_t)s.h * s.w * sizeof *win);
            s.map = win + (size_t)prow * vw;
        }
        for (int yy = 0; yy < prow; yy++)
            for (int xx = 0; xx < vw; xx++)
                win[(size_t)yy * vw + xx] = oy + yy < s.h ? s.map[(size_t)(oy + yy) * s.w + ox + xx] : s.lo;
        rows = half ? prow / 2 : prow;
        cols = vw;
        int *lev;
        int sgn = ax_ui_heat_levels(u, &lev, prow, vw, win, prow, vw, s.lo, s.hi);
        if (sgn < 0) return;
        if (prow > vh)
            for (int xx = 0; xx < vw; xx++) lev[(size_t)vh * vw + xx] = -1;
        ax_ui_heat_cells_scale(u, y0, x0, rows, cols, lev, sgn);
        cx = hx - ox;
        cy = half ? (hy - oy) / 2 : hy - oy;
    }
    ax_ui_put(u, y0 + cy, x0 + cx, 1, AX_R_SELECT, ax_ui_sym(u, AX_S_CURSOR));

    char v[32], a[32], b[32];
    float val = s.map[(size_t)hy * s.w + hx];
    if (s.vec) {
        int idx = hy * s.w + hx;
        if (idx < lc->c)
            ax_ui_printf(u, r.y + 1, x0, avail_c, AX_R_ACCENT, "value %d = %s", idx, ax_ui_num(v, sizeof v, val));
        else
            ax_ui_printf(u, r.y + 1, x0, avail_c, AX_R_DIM, "(past the last value)");
    } else {
        ax_ui_printf(u, r.y + 1, x0, avail_c, AX_R_ACCENT, "(y %d, x %d) = %s   channel min %s max %s", hy, hx,
                     ax_ui_num(v, sizeof v, val), ax_ui_num(a, sizeof a, lc->ch[u->ch].min),
                     ax_ui_num(b, sizeof b, lc->ch[u->ch].max));
    }
    if (S->one && (s.w > cols || s.h > (half ? 2 * rows : rows)))
        ax_ui_printf(u, r.y + r.h - 2, x0, avail_c, AX_R_DIM, "showing y %d-%d, x %d-%d", oy,
                     oy + (half ? 2 * rows : rows) - 1, ox, ox + cols - 1);
    ax_ui_legend(u, r.y + r.h - 1, x0, avail_c, s.lo, s.hi);
}

static void change_channel(ax_ui *u, ax_layer_cache *lc, int d)
{
    u->ch += d;
    if (u->ch < 0) u->ch = 0;
    if (u->ch >= lc->c) u->ch = lc->c - 1;
}

/* e: the value under the cursor (tiles: the selected channel's largest). */
static void explain_cursor(ax_ui *u)
{
    heatmap_state *S = state_of(u);
    ax_layer_cache *lc = ax_ui_cache(u, u->cur);
    if (!lc) {
        ax_ui_explain_open(u, u->cur, 0, 0, 0);
        return;
    }
    clamp_cursor(u);
    if (lc->h * lc->w == 1) {
        int w = (int)ceil(sqrt((double)lc->c)), idx = u->cur_y * w + u->cur_x;
        ax_ui_explain_open(u, u->cur, idx < lc->c ? idx : lc->c - 1, 0, 0);
    } else if (S->tiles) {
        ax_ui_explain_channel_max(u, u->cur, u->ch);
    } else {
        ax_ui_explain_open(u, u->cur, u->ch, u->cur_y, u->cur_x);
    }
}

static int key_explain(ax_ui *u, int k)
{
    (void)k;
    explain_cursor(u);
    return 1;
}

static void open_view(ax_ui *u)
{
    heatmap_state *S = state_of(u);
    S->tiles = 0;
    S->from_tiles = 0;
}

/* From a map opened from the tiles, back to the tiles. */
static int back(ax_ui *u)
{
    heatmap_state *S = state_of(u);
    if (S->tiles || !S->from_tiles) return 0;
    S->tiles = 1;
    S->from_tiles = 0;
    return 1;
}

static int key_toggle(ax_ui *u, int k)
{
    heatmap_state *S = state_of(u);
    switch (k) {
    case 'f': S->one = !S->one; return 1;
    case 'l': S->layer_norm = !S->layer_norm; return 1;
    default: S->tiles = !S->tiles; S->from_tiles = 0; return 1;   /* t */
    }
}

static int key_tile_size(ax_ui *u, int k)
{
    heatmap_state *S = state_of(u);
    if (k == '-') {
        if (S->tile_w > 4) S->tile_w -= 2;
    } else if (S->tile_w < 40) {
        S->tile_w += 2;
    }
    return 1;
}

static int key_channel(ax_ui *u, int k)
{
    ax_layer_cache *lc = layer_cache(u);
    if (!lc) return 0;
    change_channel(u, lc, k == '[' ? -1 : k == ']' ? 1 : k == '{' ? -10 : 10);
    return 1;
}

/* Arrows, PgUp PgDn, Home End, Enter: the selection in the tiles, else the
 * cursor in the map (Enter: nothing). */
static int key_move(ax_ui *u, int k)
{
    heatmap_state *S = state_of(u);
    ax_layer_cache *lc = layer_cache(u);
    if (!lc) return 0;
    if (S->tiles && lc->h * lc->w > 1) {
        tiling g = tiles_of(u, ax_ui_pane(u), lc->c);
        switch (k) {
        case KEY_LEFT: change_channel(u, lc, -1); return 1;
        case KEY_RIGHT: change_channel(u, lc, 1); return 1;
        case KEY_UP: change_channel(u, lc, -g.ncols); return 1;
        case KEY_DOWN: change_channel(u, lc, g.ncols); return 1;
        case KEY_PPAGE: change_channel(u, lc, -g.page); return 1;
        case KEY_NPAGE: change_channel(u, lc, g.page); return 1;
        case KEY_HOME: u->ch = 0; return 1;
        case KEY_END: u->ch = lc->c - 1; return 1;
        default: S->tiles = 0; S->from_tiles = 1; return 1;   /* Enter */
        }
    }
    switch (k) {
    case KEY_LEFT: u->cur_x--; break;
    case KEY_RIGHT: u->cur_x++; break;
    case KEY_UP: u->cur_y--; break;
    case KEY_DOWN: u->cur_y++; break;
    case KEY_PPAGE: u->cur_y -= 8; break;
    case KEY_NPAGE: u->cur_y += 8; break;
    case KEY_HOME: u->cur_y = 0; u->cur_x = 0; break;
    case KEY_END: u->cur_y = 1 << 30; u->cur_x = 1 << 30; break;
    default: explain_cursor(u); return 1;   /* Enter on a map: its value explained */
    }
    clamp_cursor(u);
    return 1;
}

static const ax_key keys[] = {
    { .codes = { KEY_LEFT, KEY_RIGHT, KEY_UP, KEY_DOWN }, .keys = "Arrows", .what = "move cursor (tiles: selection)",
      .fn = key_move, .bar = "Arrows cursor" },
    { .codes = { '[', ']' }, .keys = "[ ]", .what = "previous / next channel", .fn = key_channel, .bar = "[ ] channel" },
    { .codes = { '{', '}' }, .keys = "{ }", .what = "10 channels back / on", .fn = key_channel },
    { .codes = { 'f' }, .keys = "f", .what = "fit to pane / 1:1", .fn = key_toggle, .bar = "t tiles  f fit/1:1" },
    { .codes = { 'l' }, .keys = "l", .what = "normalise per channel / per layer", .fn = key_toggle, .bar = "l scale" },
    { .codes = { 't' }, .keys = "t", .what = "tile grid of channels / one map", .fn = key_toggle },
    { .codes = { '+', '=', '-' }, .keys = "+ -", .what = "bigger / smaller tiles", .fn = key_tile_size },
    { .codes = { KEY_PPAGE, KEY_NPAGE }, .keys = "PgUp PgDn", .what = "8 rows up / down (tiles: a page)", .fn = key_move },
    { .codes = { KEY_HOME, KEY_END }, .keys = "Home End", .what = "top-left / bottom-right corner", .fn = key_move },
    { .codes = { '\n', '\r', KEY_ENTER }, .keys = "Enter", .what = "tiles: open the channel; map: e", .fn = key_move },
    { .codes = { 'e' }, .keys = "e", .what = "explain the value under the cursor", .fn = key_explain },
    { .codes = { 0 }, .keys = "Esc Backspace q", .what = "back to the tiles or to Channels", .bar = "Esc back" },
    { .codes = { 0 }, .keys = NULL },
};

const ax_view ax_view_heatmap = {
    .name = "Heatmap", .draw = draw, .keys = keys, .state = sizeof(heatmap_state), .reset = reset,
    .back = back, .open = open_view,
};
