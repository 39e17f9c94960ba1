/* View 5, Groups: on a grouped convolution (conv2/4/5 of bvlc AlexNet) and the
 * layers that keep its channel split, the halves ("the two GPUs") side by side
 * as towers, each with its own statistics and its channels as tiles. */
#include "core.h"

#include <stdio.h>
#include <string.h>

typedef struct {
    int top;   /* first row of tiles on screen */
} groups_state;

static groups_state *state_of(const ax_ui *u) { return ax_ui_view_state(u, AX_V_GROUPS); }

static void reset(ax_ui *u)
{
    groups_state *S = state_of(u);
    S->top = 0;
}

/* The grouped convolution whose split layer i still carries, or -1. Layers
 * that work channel by channel keep the split; LRN mixes only neighbours. */
static int grouped_source(const ax_net *net, int i)
{
    for (int j = i; j >= 0; j--) {
        ax_layer_type t = net->layers[j].spec.type;
        if (t == AX_L_CONV) return net->layers[j].spec.groups > 1 ? j : -1;
        if (t != AX_L_RELU && t != AX_L_LRN && t != AX_L_MAXPOOL && t != AX_L_DROPOUT && t != AX_L_PAD) return -1;
    }
    return -1;
}

static void grouped_list(const ax_net *net, char *buf, size_t size)
{
    size_t p = 0;
    buf[0] = 0;
    for (int i = 0; i < net->nlayers && p + 40 < size; i++)
        if (net->layers[i].spec.type == AX_L_CONV && net->layers[i].spec.groups > 1)
            p += (size_t)snprintf(buf + p, size - p, "%s%s (groups %d)", p ? ", " : "", net->layers[i].spec.name,
                                  net->layers[i].spec.groups);
}

static void draw(ax_ui *u, ax_rect r)
{
    groups_state *S = state_of(u);
    int i = u->cur;
    const char *name = ax_ui_layer_name(u, i);
    int src = i < 0 ? -1 : grouped_source(u->net, i);
    if (src < 0) {
        char list[300], text[700];
        grouped_list(u->net, list, sizeof list);
        ax_ui_title(u, r, "Groups", "%s is not grouped", name);
        if (list[0])
            snprintf(text, sizeof text, "Grouped convolutions split channels and filters into halves that never see "
                     "each other (AlexNet's two GPUs). In %s: %s, and the ReLU, LRN and pooling layers after "
                     "them. %s mixes all channels, so the towers meet here.", u->net->spec.name, list, name);
        else
            snprintf(text, sizeof text, "The %s net has no grouped convolution: every filter sees every input "
                     "channel, so there are no towers to compare.", u->net->spec.name);
        ax_ui_notice(u, r, r.y + 2, text);
        return;
    }
    const ax_layer *conv = &u->net->layers[src];
    int G = conv->spec.groups > 8 ? 8 : conv->spec.groups;
    ax_ui_title(u, r, "Groups", "%s %s %d towers from %s%s", name, ax_ui_sym(u, AX_S_DOT), conv->spec.groups,
                conv->spec.name, G < conv->spec.groups ? " (first 8 shown)" : "");
    ax_layer_cache *lc = ax_ui_cache(u, i);
    if (!lc) {
        ax_ui_notice(u, r, r.y + 2, "Not computed yet. Press n to compute this layer.");
        return;
    }
    const float *data = ax_ui_data(u, i);
    int hw = lc->h * lc->w, per = lc->c / conv->spec.groups;
    if (lc->towers != G) {
        for (int g = 0; g < G; g++) ax_stats_compute(&lc->tower[g], data + (size_t)g * per * hw, (size_t)per * hw);
        lc->towers = G;
    }
    int colw = (r.w - 1 - (G - 1) * 2) / G;
    /* a tile is never smaller than 8x4 cells (at 80x24 a 3x1 map shows
     * nothing): fewer tiles per row then, and the rest scroll */
    int tw = colw / 6 - 1;
    if (tw > 12) tw = 12;
    if (tw < 8) tw = colw >= 8 ? 8 : colw;
    int th = tw / 2 > 0 ? tw / 2 : 1;
    int per_row = (colw + 1) / (tw + 1);
    if (per_row < 1) per_row = 1;
    int ytiles = r.y + 1 + (src == i ? 7 : 6);   /* below the stats, A - B and the savings line */
    int step = th + 2;                          /* the channel's number above each tile */
    int nrows_vis = (r.y + r.h - 1 - ytiles) / step;
    if (nrows_vis < 1) nrows_vis = 1;
    int total_rows = (per + per_row - 1) / per_row;
    if (S->top > total_rows - nrows_vis) S->top = total_rows - nrows_vis;
    if (S->top < 0) S->top = 0;
    for (int g = 0; g < G; g++) {
        int x = r.x + 1 + g * (colw + 2), y = r.y + 1;
        const ax_stats *s = &lc->tower[g];
        char a[32], b[32], m[32], d[32];
        ax_ui_printf(u, y++, x, colw, AX_R_HEADER, "tower %c: channels %d-%d", 'A' + g, g * per, (g + 1) * per - 1);
        ax_ui_printf(u, y++, x, colw, AX_R_NORMAL, "mean %s  std %s", ax_ui_num(m, sizeof m, s->mean),
                     ax_ui_num(d, sizeof d, s->std));
        ax_ui_printf(u, y++, x, colw, AX_R_NORMAL, "min %s  max %s", ax_ui_num(a, sizeof a, s->min),
                     ax_ui_num(b, sizeof b, s->max));
        int dead = 0;
        for (int c = g * per; c < (g + 1) * per; c++) dead += ax_stats_dead(&lc->ch[c]);
        ax_ui_printf(u, y++, x, colw, AX_R_NORMAL, "zero %.1f %%  dead %d", 100.0 * s->zero_frac, dead);
        if (src == i && conv->weight.data) {
            int cin = conv->in_c / conv->spec.groups;
            ax_ui_printf(u, y++, x, colw, AX_R_DIM, "sees %s channels %d-%d", ax_ui_layer_name(u, src - 1), g * cin,
                         (g + 1) * cin - 1);
        }
        for (int k = 0; k < nrows_vis * per_row; k++) {
            int c = (S->top * per_row) + k;
            if (c >= per) break;
            int ty = ytiles + (k / per_row) * step, tx = x + (k % per_row) * (tw + 1);
            int ch = g * per + c;
            if (ty + 1 + th > r.y + r.h) break;
            ax_ui_printf(u, ty++, tx, tw, ch == u->ch ? AX_R_SELECT : AX_R_DIM, "%d", ch);
            if (hw > 1)
                ax_ui_heat_map(u, ty, tx, th, tw, data + (size_t)ch * hw, lc->h, lc->w, lc->all.min, lc->all.max);
            else
                ax_ui_heat_map(u, ty, tx, 1, tw, data + ch, 1, 1, lc->all.min, lc->all.max);
        }
    }
    if (G == 2) {
        char a[32];
        double diff = lc->tower[0].mean - lc->tower[1].mean;
        ax_ui_printf(u, r.y + 1 + (src == i ? 5 : 4), r.x + 1, r.w - 2, AX_R_ACCENT,
                     "mean A - mean B = %s   (tiles: one scale for both towers, rows %d-%d of %d)",
                     ax_ui_num(a, sizeof a, diff), S->top + 1,
                     S->top + (nrows_vis < total_rows ? nrows_vis : total_rows), total_rows);
    }
    {
        /* what grouping saves: the same layer with groups=1 sees every input channel */
        double taps = (double)conv->spec.kh * conv->spec.kw;
        double ungrouped = (double)conv->spec.out_c * conv->in_c * taps + (conv->spec.bias ? conv->spec.out_c : 0);
        char p1[32], p2[32], f1[32], f2[32];
        ax_ui_printf(u, r.y + 1 + (src == i ? 6 : 5), r.x + 1, r.w - 2, AX_R_DIM,
                     "grouping saves %s of %s parameters and %s of %s FLOPs",
                     ax_ui_count(p1, sizeof p1, ungrouped - (double)conv->params), ax_ui_count(p2, sizeof p2, ungrouped),
                     ax_ui_count(f1, sizeof f1, conv->flops * (conv->spec.groups - 1)),
                     ax_ui_count(f2, sizeof f2, conv->flops * conv->spec.groups));
    }
    ax_ui_legend(u, r.y + r.h - 1, r.x + 1, r.w - 2, lc->all.min, lc->all.max);
}

static int key_scroll(ax_ui *u, int k)
{
    ax_ui_scroll_key(&state_of(u)->top, k, 4);
    return 1;
}

static const ax_key keys[] = {
    { .codes = { KEY_UP, KEY_DOWN, KEY_PPAGE, KEY_NPAGE }, .keys = "Up Down PgUp PgDn", .what = "scroll the towers' tiles",
      .fn = key_scroll, .bar = "Up/Down PgUp/PgDn Home/End scroll the tiles" },
    { .codes = { KEY_HOME, KEY_END }, .keys = "Home End", .what = "first / last row of tiles", .fn = key_scroll },
    { .codes = { 0 }, .keys = NULL },
};

const ax_view ax_view_groups = {
    .name = "Groups", .draw = draw, .keys = keys, .state = sizeof(groups_state), .reset = reset,
};
