/* The Explain view (e on a value in the Heatmap, Channels or Top-k view): the
 * arithmetic behind one output value, recomputed in double by
 * ax_explain_value, beside the engine's float and their difference; and the
 * receptive field of that cell in the input's pixels. */
#include "teach.h"

#include <stdio.h>
#include <string.h>

#include "alexscope/teach.h"

typedef struct {
    int set;
    int layer, c, y, x;
    int top;
} explain_state;

static explain_state *state_of(const ax_ui *u) { return ax_ui_view_state(u, AX_V_EXPLAIN); }

void ax_ui_explain_open(ax_ui *u, int i, int c, int y, int x)
{
    explain_state *S = state_of(u);
    if (i < 0 || !ax_ui_tensor(u, i)) {
        ax_ui_say(u, AX_R_DIM, "e explains a value of a computed layer (the input is given, not computed)");
        return;
    }
    S->set = 1;
    S->layer = i; S->c = c; S->y = y; S->x = x;
    S->top = 0;
    if (ax_ui_tensor(u, i)->ndim == 4) u->cur_y = y, u->cur_x = x;   /* the Input view boxes this cell */
    ax_ui_open_view(u, AX_V_EXPLAIN, 1);
}

void ax_ui_explain_channel_max(ax_ui *u, int i, int c)
{
    const ax_tensor *t = ax_ui_tensor(u, i);
    const float *d = ax_ui_data(u, i);
    if (i < 0 || !t || !d) {
        ax_ui_explain_open(u, i, c, 0, 0);
        return;
    }
    int n, ch, h, w;
    ax_tensor_nchw(t, &n, &ch, &h, &w);
    if (h * w == 1) {
        ax_ui_explain_open(u, i, c, 0, 0);
        return;
    }
    const float *m = d + (size_t)c * h * w;
    int best = 0;
    for (int k = 1; k < h * w; k++)
        if (m[k] > m[best]) best = k;
    ax_ui_explain_open(u, i, c, best / w, best % w);
}

static void reset(ax_ui *u)
{
    explain_state *S = state_of(u);
    memset(S, 0, sizeof *S);
}

static void draw(ax_ui *u, ax_rect r)
{
    explain_state *S = state_of(u);
    if (!S->set) {
        ax_ui_title(u, r, "Explain", "no value chosen");
        ax_ui_notice(u, r, r.y + 2, "Press e on a value in the Heatmap, Channels or Top-k view to see the "
                     "arithmetic that made it.");
        return;
    }
    if (!ax_ui_tensor(u, S->layer)) {
        ax_ui_title(u, r, "Explain", "%s", ax_ui_layer_name(u, S->layer));
        ax_ui_notice(u, r, r.y + 2, "This layer is not computed (a what-if switch is recomputing it): press a.");
        return;
    }
    ax_explain ex;
    ax_error err = { 0 };
    int img = u->image;
    if (ax_explain_value(&ex, u->net, S->layer, img, S->c, S->y, S->x, &err)) {
        ax_ui_title(u, r, "Explain", "%s", ax_ui_layer_name(u, S->layer));
        ax_ui_notice(u, r, r.y + 2, err.msg);
        return;
    }
    const ax_layer *L = &u->net->layers[S->layer];
    if (ax_ui_shape_of(u, S->layer)->ndim == 4)
        ax_ui_title(u, r, "Explain", "%s %s channel %d, y %d, x %d", L->spec.name, ax_ui_sym(u, AX_S_DOT), S->c, S->y,
                    S->x);
    else
        ax_ui_title(u, r, "Explain", "%s %s output %d", L->spec.name, ax_ui_sym(u, AX_S_DOT), S->c);
    int x0 = r.x + 1, w = r.w - 2, y = r.y + 1;
    /* where it looks in the input image */
    ax_layer *layers = u->net->layers;
    ax_rfield rf[AX_MAX_LAYERS];
    ax_receptive_fields(layers, u->net->nlayers, u->net->spec.in_h, u->net->spec.in_w, rf);
    const ax_rfield *f = &rf[S->layer];
    int y0, xa, y1, xb;
    ax_rfield_box(f, S->y, S->x, u->net->spec.in_h, u->net->spec.in_w, &y0, &xa, &y1, &xb);
    if (f->global)
        ax_ui_put(u, y++, x0, w, AX_R_DIM, "receptive field: the whole input image");
    else
        ax_ui_printf(u, y++, x0, w, AX_R_DIM, "receptive field %dx%d px, jump %d px: input rows %d..%d, cols %d..%d "
                     "(Input view draws it)", f->size_h, f->size_w, f->jump_h, y0, y1, xa, xb);
    int avail = r.y + r.h - y;
    if (S->top > ex.nlines - avail) S->top = ex.nlines - avail;
    if (S->top < 0) S->top = 0;
    for (int i = S->top; i < ex.nlines && y < r.y + r.h; i++, y++) {
        int last = i >= ex.nlines - 2;
        ax_ui_put(u, y, x0, w, last ? AX_R_ACCENT : i == 0 ? AX_R_HEADER : AX_R_NORMAL, ex.lines[i]);
    }
}

static int key_scroll(ax_ui *u, int k)
{
    explain_state *S = state_of(u);
    S->top += k == KEY_UP ? -1 : k == KEY_DOWN ? 1 : k == KEY_PPAGE ? -10 : 10;
    return 1;
}

/* [ ] the channel, h j k l (and shifted arrows) the cell, within the layer. */
static int key_cell(ax_ui *u, int k)
{
    explain_state *S = state_of(u);
    const ax_tensor *t = S->set ? ax_ui_tensor(u, S->layer) : NULL;
    int n = 1, c = 1, h = 1, w = 1;
    if (t) ax_tensor_nchw(t, &n, &c, &h, &w);
    switch (k) {
    case '[': if (S->c > 0) S->c--; return 1;
    case ']': if (S->c < c - 1) S->c++; return 1;
    case 'h': case KEY_SLEFT: if (S->x > 0) S->x--; break;
    case 'l': case KEY_SRIGHT: if (S->x < w - 1) S->x++; break;
    case 'k': case KEY_SR: if (S->y > 0) S->y--; break;
    default: if (S->y < h - 1) S->y++; break;   /* j, Shift-Down */
    }
    if (h * w > 1) u->cur_y = S->y, u->cur_x = S->x;
    return 1;
}

static const ax_key keys[] = {
    { .codes = { KEY_UP, KEY_DOWN, KEY_PPAGE, KEY_NPAGE }, .keys = "Up Down PgUp PgDn", .what = "scroll the explanation",
      .fn = key_scroll, .bar = "Up/Down scroll" },
    { .codes = { '[', ']', 'h', 'j', 'k', 'l', KEY_SLEFT, KEY_SRIGHT, KEY_SR, KEY_SF }, .keys = "[ ]  h j k l",
      .what = "channel / move the cell", .fn = key_cell, .bar = "[ ] channel  h j k l cell" },
    { .codes = { 0 }, .keys = "Esc Backspace q", .what = "back to the view it was opened from", .bar = "Esc back" },
    { .codes = { 0 }, .keys = NULL },
};

const ax_view ax_view_explain = {
    .name = "Explain", .draw = draw, .keys = keys, .state = sizeof(explain_state), .reset = reset,
};
