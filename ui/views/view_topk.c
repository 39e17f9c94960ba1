/* View 6, Top-k: the classes the net ranks highest, with labels, probabilities
 * and bars. Uses the last layer once it is computed (else the current layer
 * when it is a vector); ranking is ax_topk. */
#include "modes/diffmode.h"
#include "core.h"
#include "modes/gradmode.h"
#include "teach.h"

#include <stdio.h>

typedef struct {
    int rows;   /* classes to show */
    int sel;    /* the selected row (rank - 1) */
} topk_state;

static topk_state *state_of(const ax_ui *u) { return ax_ui_view_state(u, AX_V_TOPK); }

static void reset(ax_ui *u)
{
    topk_state *S = state_of(u);
    S->rows = u->cfg->topk > 0 ? u->cfg->topk : 5;
}

static const char *label_of(const ax_ui *u, int i, char *buf, size_t size)
{
    const ax_labels *l = u->cfg->labels;
    if (l && i < l->count && l->names && l->names[i]) return l->names[i];
    snprintf(buf, size, "class %d", i);
    return buf;
}

static void draw(ax_ui *u, ax_rect r)
{
    topk_state *S = state_of(u);
    /* diff mode: both sides */
    if (ax_ui_diff_topk(u, r, S->rows)) return;
    int last = u->net->nlayers - 1, src = -1;
    ax_layer_cache *lc = ax_ui_cache(u, last);
    if (lc && lc->h * lc->w == 1) src = last;
    else {
        lc = ax_ui_cache(u, u->cur);
        if (lc && u->cur >= 0 && lc->h * lc->w == 1) src = u->cur;
    }
    if (src < 0) {
        ax_ui_title(u, r, "Top-k", "classes at the end of the net");
        char text[400], shape[48];
        const ax_tensor *lt = ax_ui_shape_of(u, last);
        if (lt->ndim == 4 && lt->shape[2] * lt->shape[3] > 1)
            snprintf(text, sizeof text, "The %s net ends at %s (%s) without a classifier, so there are no classes "
                     "to rank.", u->net->spec.name, u->net->layers[last].spec.name,
                     ax_ui_shape_short(lt, shape, sizeof shape));
        else
            snprintf(text, sizeof text, "The classes appear once the last layer (%s) is computed. Press a to run "
                     "all layers, or step with n to watch the image travel there.", u->net->layers[last].spec.name);
        ax_ui_notice(u, r, r.y + 2, text);
        return;
    }
    const float *data = ax_ui_data(u, src);
    int probs = u->net->layers[src].spec.type == AX_L_SOFTMAX;
    int c = lc->c;
    int x0 = r.x + 1, w = r.w - 2, y = r.y + 1;
    int maxk = r.h - 5;
    if (maxk < 1) maxk = 1;
    int k = S->rows < maxk ? S->rows : maxk;
    if (k > c) k = c;
    ax_ui_title(u, r, "Top-k", "top %d of %d %s from %s", k, c, probs ? "probabilities" : "scores (not probabilities)",
                u->net->layers[src].spec.name);
    if (u->net->untrained)
        ax_ui_put(u, y++, x0, w, AX_R_BAD, "UNTRAINED seeded weights: these classes mean nothing yet");
    char wt[100];
    if (ax_ui_whatif_text(u, wt, sizeof wt))
        ax_ui_printf(u, y++, x0, w, AX_R_WARN, "what-if: %s (not the net as specified; L or T again undoes it)", wt);
    const ax_labels *l = u->cfg->labels;
    if (l && l->count && l->count != c)
        ax_ui_printf(u, y++, x0, w, AX_R_WARN, "the label list has %d names, the layer %d outputs", l->count, c);
    int *idx = ax_ui_order(u, (size_t)k);
    if (!idx) return;
    k = ax_topk(idx, k, data, c);
    /* the label keeps at least 22 cells; the bar gets what is left */
    int barw = w - 23 - 22;
    if (barw > 40) barw = 40;
    if (barw < 6) barw = 6;
    ax_ui_printf(u, y++, x0, w, AX_R_HEADER, "%4s %9s  %-*s %5s %s", "rank", probs ? "prob" : "score", barw, "",
                 "class", "label");
    double sum = 0;
    float top = data[idx[0]], bottom = lc->all.min;
    for (int j = 0; j < k && y < r.y + r.h - 1; j++, y++) {
        float v = data[idx[j]];
        char buf[32], lb[32];
        if (probs) {
            sum += v;
            ax_ui_printf(u, y, x0, w, AX_R_NORMAL, "%4d %8.2f%%", j + 1, 100.0 * v);
        } else {
            ax_ui_printf(u, y, x0, w, AX_R_NORMAL, "%4d %9s", j + 1, ax_ui_num(buf, sizeof buf, v));
        }
        if (j == S->sel) ax_ui_put(u, y, x0, 1, AX_R_SELECT, ">");
        double frac = probs ? v : (top > bottom ? (v - bottom) / (top - bottom) : 0.0);
        ax_ui_bar(u, y, x0 + 16, barw, frac, j == 0 ? AX_R_GOOD : AX_R_BAR);
        ax_ui_printf(u, y, x0 + 17 + barw, w - 17 - barw, j == S->sel ? AX_R_SELECT : j == 0 ? AX_R_GOOD : AX_R_NORMAL,
                     "%5d %s", idx[j], label_of(u, idx[j], lb, sizeof lb));
    }
    if (probs)
        ax_ui_printf(u, r.y + r.h - 1, x0, w, AX_R_DIM, "the top %d hold %.1f %% of the probability", k, 100.0 * sum);
}

/* The class on the selected row of the layer the view ranks (-1: none yet). */
static int selected_class(ax_ui *u, int *src_out)
{
    topk_state *S = state_of(u);
    int last = u->net->nlayers - 1, src = ax_ui_tensor(u, last) ? last : u->cur;
    const float *d = ax_ui_data(u, src);
    int c = src >= 0 ? ax_ui_channels(u, src) : 0;
    int *idx = ax_ui_order(u, (size_t)S->sel + 1);
    *src_out = src;
    if (!d || !idx || ax_topk(idx, S->sel + 1, d, c) <= S->sel) return -1;
    return idx[S->sel];
}

/* e: how the selected class's value was computed; Enter: where the image
 * makes it (its Saliency view). */
static int key_explain(ax_ui *u, int k)
{
    topk_state *S = state_of(u);
    int src, cls = selected_class(u, &src);
    if (cls < 0) {
        ax_ui_say(u, AX_R_DIM, "no class on that row yet: a runs all layers");
        return 1;
    }
    if (k == 'e') ax_ui_explain_open(u, src, cls, 0, 0);
    else ax_ui_saliency_open(u, S->sel == 0 ? -1 : cls);
    return 1;
}

static int key_select(ax_ui *u, int k)
{
    topk_state *S = state_of(u);
    S->sel += k == 'j' ? 1 : -1;
    if (S->sel >= S->rows) S->sel = S->rows - 1;
    if (S->sel < 0) S->sel = 0;
    return 1;
}

static int key_rows(ax_ui *u, int k)
{
    topk_state *S = state_of(u);
    if (k != '-') {
        if (S->rows < 100) S->rows++;
    } else if (S->rows > 1) {
        S->rows--;
        if (S->sel >= S->rows) S->sel = S->rows - 1;
    }
    return 1;
}

static const ax_key keys[] = {
    { .codes = { '+', '=', '-' }, .keys = "+ -", .what = "more / fewer classes", .fn = key_rows,
      .bar = "+ - more/fewer classes" },
    { .codes = { 0 }, .keys = "Up Down Home End", .what = "previous / next / first / last layer" },
    { .codes = { 'e' }, .keys = "e", .what = "explain the selected class's value", .fn = key_explain },
    { .codes = { 'j', 'k' }, .keys = "j k", .what = "select a class row", .fn = key_select, .bar = "j k Enter explain a class" },
    { .codes = { '\n', '\r', KEY_ENTER }, .keys = "Enter", .what = "explain this class: its Saliency view",
      .fn = key_explain, .bar = "Up/Down layer" },
    { .codes = { 0 }, .keys = NULL },
};

const ax_view ax_view_topk = {
    .name = "Top-k", .draw = draw, .keys = keys, .state = sizeof(topk_state), .reset = reset,
};
