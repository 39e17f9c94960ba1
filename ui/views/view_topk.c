/* View 6, Top-k: the classes the net ranks highest, with labels, probabilities
 * and bars. Uses the last layer once it is computed (else the current layer
 * when it is a vector); ranking is ax_topk. */
#include "modes/diffmode.h"
#include "core.h"
#include "modes/gradmode.h"
#include "teach.h"

#include <stdio.h>

static const ax_keyhelp keys[] = {
    { "+ -", "more / fewer classes" },
    { "Up Down Home End", "previous / next / first / last layer" },
    { "e", "explain the selected class's value" },
    { "j k", "select a class row" },
    { "Enter", "explain this class: its Saliency view" },
    { NULL, NULL },
};

static int rows;   /* classes to show */
static int sel;    /* the selected row (rank - 1) */

static void reset(ax_ui *u)
{
    rows = u->cfg->topk > 0 ? u->cfg->topk : 5;
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
    /* diff mode: both sides */
    if (ax_ui_diff_topk(u, r, rows)) return;
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
    int k = rows < maxk ? rows : maxk;
    if (k > c) k = c;
    ax_ui_title(u, r, "Top-k", "top %d of %d %s from %s", k, c, probs ? "probabilities" : "scores (not probabilities)",
                u->net->layers[src].spec.name);
    if (u->net->untrained)
        ax_ui_put(u, y++, x0, w, AX_R_BAD, "UNTRAINED seeded weights: these classes mean nothing yet");
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
        if (j == sel) ax_ui_put(u, y, x0, 1, AX_R_SELECT, ">");
        double frac = probs ? v : (top > bottom ? (v - bottom) / (top - bottom) : 0.0);
        ax_ui_bar(u, y, x0 + 16, barw, frac, j == 0 ? AX_R_GOOD : AX_R_BAR);
        ax_ui_printf(u, y, x0 + 17 + barw, w - 17 - barw, j == sel ? AX_R_SELECT : j == 0 ? AX_R_GOOD : AX_R_NORMAL,
                     "%5d %s", idx[j], label_of(u, idx[j], lb, sizeof lb));
    }
    if (probs)
        ax_ui_printf(u, r.y + r.h - 1, x0, w, AX_R_DIM, "the top %d hold %.1f %% of the probability", k, 100.0 * sum);
}

/* The class on the selected row of the layer the view ranks (-1: none yet). */
static int selected_class(ax_ui *u, int *src_out)
{
    int last = u->net->nlayers - 1, src = ax_ui_tensor(u, last) ? last : u->cur;
    const float *d = ax_ui_data(u, src);
    int c = src >= 0 ? ax_ui_channels(u, src) : 0;
    int *idx = ax_ui_order(u, (size_t)sel + 1);
    *src_out = src;
    if (!d || !idx || ax_topk(idx, sel + 1, d, c) <= sel) return -1;
    return idx[sel];
}

static int key(ax_ui *u, int k)
{
    if (k == 'e' || k == '\n' || k == '\r' || k == KEY_ENTER) {
        int src, cls = selected_class(u, &src);
        if (cls < 0) {
            ax_ui_say(u, AX_R_DIM, "no class on that row yet: a runs all layers");
            return 1;
        }
        if (k == 'e') ax_ui_explain_open(u, src, cls, 0, 0);   /* how its value was computed */
        else ax_ui_saliency_open(u, sel == 0 ? -1 : cls);     /* where the image makes it */
        return 1;
    }
    if (k == 'j' || k == 'k') {
        sel += k == 'j' ? 1 : -1;
        if (sel >= rows) sel = rows - 1;
        if (sel < 0) sel = 0;
        return 1;
    }
    if (k == '+' || k == '=') {
        if (rows < 100) rows++;
        return 1;
    }
    if (k == '-') {
        if (rows > 1) rows--;
        if (sel >= rows) sel = rows - 1;
        return 1;
    }
    return 0;
}

const ax_view ax_view_topk = {
    "Top-k", draw, key, keys, "+ - more/fewer classes  j k Enter explain a class  Up/Down layer", reset, NULL,
};
