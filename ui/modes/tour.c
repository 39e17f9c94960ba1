/* The guided tour (O in the workbench, or alexscope --tour IMAGE): about a
 * dozen stops through the net, each putting the workbench in the state it
 * talks about (view, layer, channel) and saying two to five lines that use
 * the numbers on screen. n or Space goes on, p or Backspace back, Esc leaves
 * the tour where it is; any other key works as usual meanwhile. A stop that
 * does not apply to the model (LRN in torchvision, towers where nothing is
 * grouped) is left out, so N is the model's own count. */
#include "modes.h"
#include "teach.h"
#include "gradmode.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alexscope/layer_kind.h"
#include "alexscope/teach.h"

enum { TOUR_LINES = 5, TOUR_W = 200 };

typedef enum {
    S_INPUT, S_FILTERS, S_MAP, S_RELU, S_LRN, S_POOL, S_TOWERS, S_FIELD, S_FC, S_SOFTMAX, S_SALIENCY, S_COUNT
} stop_kind;

typedef struct {
    int active;
    int starting;               /* --tour: begin once the workbench runs */
    int ran;                    /* the layers were asked for */
    int stops[S_COUNT], nstops, at;
    int shown;                  /* the stop whose state was set (-1: none yet) */
    char lines[TOUR_LINES][TOUR_W];
    int nlines;
} tour;

static tour *state_of(const ax_ui *u) { return ax_ui_mode_state(u, AX_M_TOUR); }

static int find(const ax_net *net, ax_layer_type t, int grouped)
{
    for (int i = 0; i < net->nlayers; i++)
        if (net->layers[i].spec.type == t && (!grouped || net->layers[i].spec.groups > 1)) return i;
    return -1;
}

static int last_of(const ax_net *net, ax_layer_type t)
{
    for (int i = net->nlayers - 1; i >= 0; i--)
        if (net->layers[i].spec.type == t) return i;
    return -1;
}

/* The stops this model has. */
static void plan(ax_ui *u)
{
    tour *T = state_of(u);
    const ax_net *net = u->net;
    const ax_layer *last = &net->layers[net->nlayers - 1];
    int have[S_COUNT] = {
        [S_INPUT] = 1,
        [S_FILTERS] = find(net, AX_L_CONV, 0) >= 0,
        [S_MAP] = find(net, AX_L_CONV, 0) >= 0,
        [S_RELU] = find(net, AX_L_RELU, 0) >= 0,
        [S_LRN] = find(net, AX_L_LRN, 0) >= 0,
        [S_POOL] = find(net, AX_L_MAXPOOL, 0) >= 0,
        [S_TOWERS] = find(net, AX_L_CONV, 1) >= 0,
        [S_FIELD] = last_of(net, AX_L_CONV) >= 0,
        [S_FC] = find(net, AX_L_FC, 0) >= 0,
        [S_SOFTMAX] = last->spec.type == AX_L_SOFTMAX,
        [S_SALIENCY] = last->spec.type == AX_L_SOFTMAX || last->spec.type == AX_L_FC,
    };
    T->nstops = 0;
    for (int s = 0; s < S_COUNT; s++)
        if (have[s]) T->stops[T->nstops++] = s;
}

static void say(tour *T, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(tour *T, const char *fmt, ...)
{
    if (T->nlines >= TOUR_LINES) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(T->lines[T->nlines++], TOUR_W, fmt, ap);
    va_end(ap);
}

static void go(ax_ui *u, int view, int layer)
{
    u->follow = 0;
    u->cur = layer;
    ax_ui_open_view(u, view, 0);
}

/* The channel of layer i with the largest mean (the filter that matched most). */
static int busiest(ax_ui *u, int i)
{
    ax_layer_cache *lc = ax_ui_cache(u, i);
    if (!lc) return 0;
    int best = 0;
    for (int c = 1; c < lc->c; c++)
        if (lc->ch[c].mean > lc->ch[best].mean) best = c;
    return best;
}

/* Puts the workbench where stop k talks and writes its lines; 0 while the
 * layers it needs are not computed yet (it is tried again). */
static int show(ax_ui *u, int k)
{
    tour *T = state_of(u);
    const ax_net *net = u->net;
    T->nlines = 0;
    char what[320], size[320], v1[32], v2[32];
    int s = T->stops[k];
    int conv = find(net, AX_L_CONV, 0), last = net->nlayers - 1;
    const ax_preprocess *p = &net->spec.pre;
    switch (s) {
    case S_INPUT:
        go(u, AX_V_INPUT, -1);
        say(T, "The input: the picture made into %d x %d x %d numbers, as the model was trained to see it.",
            net->spec.in_c, net->spec.in_h, net->spec.in_w);
        say(T, "Here: channels in %s order, each value (pixel x %g - mean) / std with means %g, %g, %g.",
            p->bgr ? "B, G, R" : "R, G, B", p->scale, p->mean[0], p->mean[1], p->mean[2]);
        say(T, "Everything after this works on those numbers, never on the picture itself.");
        if (find(net, AX_L_LRN, 0) < 0 || find(net, AX_L_CONV, 1) < 0)
            say(T, "%s has %s: the tour leaves %s out.", net->spec.name,
                find(net, AX_L_LRN, 0) < 0 && find(net, AX_L_CONV, 1) < 0 ? "no LRN and no groups"
                : find(net, AX_L_LRN, 0) < 0 ? "no LRN" : "no grouped layer",
                find(net, AX_L_LRN, 0) < 0 && find(net, AX_L_CONV, 1) < 0 ? "those stops" : "that stop");
        return 1;
    case S_FILTERS: {
        const ax_layer *L = &net->layers[conv];
        go(u, AX_V_FILTERS, conv);
        say(T, "%s: %d filters, each %d x %d x %d weights, slide over the input with stride %d.", L->spec.name,
            L->spec.out_c, L->weight.shape[1], L->spec.kh, L->spec.kw, L->spec.sh);
        ax_layer_kind_of(L->spec.type)->arith(what, size, sizeof what, L);
        say(T, "Output size: %s.", size);
        say(T, "Each tile here is one filter's weights: what pattern it answers to.");
        return 1;
    }
    case S_MAP: {
        if (u->ready <= conv) return 0;
        const ax_layer *L = &net->layers[conv];
        go(u, AX_V_HEATMAP, conv);
        u->ch = busiest(u, conv);
        ax_layer_cache *lc = ax_ui_cache(u, conv);
        say(T, "One feature map: channel %d of %s, the filter that answered most on this picture.", u->ch,
            L->spec.name);
        if (lc)
            say(T, "Its %d x %d values range from %s to %s: bright where the filter's pattern is in the image.",
                lc->h, lc->w, ax_ui_num(v1, sizeof v1, lc->ch[u->ch].min), ax_ui_num(v2, sizeof v2, lc->ch[u->ch].max));
        say(T, "Left/Right or [ ] pick other channels; the map is one filter's answer at every position.");
        return 1;
    }
    case S_RELU: {
        int i = find(net, AX_L_RELU, 0);
        if (u->ready <= i) return 0;
        go(u, AX_V_TENSOR, i);
        ax_layer_cache *lc = ax_ui_cache(u, i);
        say(T, "%s: y = max(0, x). Every negative answer becomes 0.", net->layers[i].spec.name);
        if (lc) say(T, "Here %.1f %% of its values are exactly 0: about half the filters' answers were negative.",
                    100.0 * lc->all.zero_frac);
        say(T, "That is all a ReLU does, and it is what lets the layers build on one another.");
        return 1;
    }
    case S_LRN: {
        int i = find(net, AX_L_LRN, 0);
        if (u->ready <= i) return 0;
        go(u, AX_V_LRN, i);
        u->ch = 0;
        const ax_layer_spec *l = &net->layers[i].spec;
        ax_layer_cache *after = ax_ui_cache(u, i);
        say(T, "%s: each value divided by (k + scale x sum of squares over %d neighbouring channels)^%g.", l->name,
            l->lrn_size, l->lrn_beta);
        if (after) {
            if (!after->supp) {
                after->supp = malloc((size_t)after->c * sizeof *after->supp);
                if (after->supp) ax_lrn_suppression(after->supp, ax_ui_data(u, i - 1), ax_ui_data(u, i), 1, after->c,
                                                    after->h * after->w);
            }
            if (after->supp) {
                double m = 0, lo = 1;
                for (int c = 0; c < after->c; c++) {
                    m += after->supp[c];
                    if (after->supp[c] < lo) lo = after->supp[c];
                }
                say(T, "Here it damps the channels by %.1f %% on average, up to %.1f %%: strong answers quiet their "
                    "neighbours.", 100.0 * (1 - m / after->c), 100.0 * (1 - lo));
            }
        }
        say(T, "Left: before, right: after, on one scale. Later nets dropped LRN; torchvision's AlexNet has none.");
        return 1;
    }
    case S_POOL: {
        int i = find(net, AX_L_MAXPOOL, 0);
        go(u, AX_V_TENSOR, i);
        const ax_layer *L = &net->layers[i];
        ax_layer_kind_of(L->spec.type)->arith(what, size, sizeof what, L);
        say(T, "%s: the largest value of each %d x %d window, stride %d: %d comparisons per output.", L->spec.name,
            L->spec.kh, L->spec.kw, L->spec.sh, L->spec.kh * L->spec.kw - 1);
        say(T, "Output size: %s.", size);
        say(T, "%s", L->spec.kh > L->spec.sh ? "The windows overlap (3 wide, 2 apart), as AlexNet introduced."
                                             : "The windows do not overlap.");
        return 1;
    }
    case S_TOWERS: {
        int i = find(net, AX_L_CONV, 1);
        if (u->ready <= i) return 0;
        const ax_layer *L = &net->layers[i];
        go(u, AX_V_GROUPS, i);
        int g = L->spec.groups, cin = L->in_c / g;
        double taps = (double)L->spec.kh * L->spec.kw, ungrouped = (double)L->spec.out_c * L->in_c * taps;
        say(T, "%s has %d groups: two towers, as AlexNet was split over two GPUs.", L->spec.name, g);
        say(T, "Each tower's %d filters see only %d of the %d input channels (its own tower's).", L->spec.out_c / g,
            cin, L->in_c);
        say(T, "That halves the weights: %s instead of %s.", ax_ui_count(v1, sizeof v1, ungrouped / g),
            ax_ui_count(v2, sizeof v2, ungrouped));
        return 1;
    }
    case S_FIELD: {
        int i = last_of(net, AX_L_CONV);
        ax_rfield rf[AX_MAX_LAYERS];
        ax_receptive_fields(net->layers, net->nlayers, net->spec.in_h, net->spec.in_w, rf);
        go(u, AX_V_INPUT, i);
        say(T, "The receptive field: one cell of %s depends on %d x %d input pixels (cells %d pixels apart).",
            net->layers[i].spec.name, rf[i].size_h, rf[i].size_w, rf[i].jump_h);
        say(T, "For %s it was %d x %d: each layer sees a wider part of the picture.", net->layers[conv].spec.name,
            rf[conv].size_h, rf[conv].size_w);
        say(T, "The box on the picture is the field of the selected cell; arrows move it.");
        return 1;
    }
    case S_FC: {
        int i = find(net, AX_L_FC, 0);
        const ax_layer *L = &net->layers[i];
        go(u, AX_V_TENSOR, i);
        say(T, "%s: every one of its %d outputs is a weighted sum of all %d inputs.", L->spec.name, L->spec.out_c,
            L->in_c * L->in_h * L->in_w);
        /* the map it reads: its own input, or the one a flatten before it turned into a row */
        const ax_layer *map = L;
        for (int j = i - 1; j >= 0 && map == L; j--) {
            ax_layer_type t = net->layers[j].spec.type;
            if (t == AX_L_FLATTEN) map = &net->layers[j];
            else if (t != AX_L_DROPOUT) break;
        }
        if (map->in_h * map->in_w > 1)
            say(T, "The input is %s's %d x %d x %d map read as one row: %d x %d x %d = %d.",
                map->index > 0 ? net->layers[map->index - 1].spec.name : "input", map->in_c, map->in_h, map->in_w,
                map->in_c, map->in_h, map->in_w, map->in_c * map->in_h * map->in_w);
        size_t all = 0;
        for (int j = 0; j < net->nlayers; j++) all += net->layers[j].params;
        say(T, "Its weights are %s of the net's %s parameters.", ax_ui_count(v1, sizeof v1, (double)L->params),
            ax_ui_count(v2, sizeof v2, (double)all));
        return 1;
    }
    case S_SOFTMAX: {
        if (u->ready <= last) return 0;
        go(u, AX_V_TOPK, last);
        const float *pr = ax_ui_data(u, last);
        int c = net->layers[last].out.shape[1], top = 0;
        for (int j = 1; j < c; j++)
            if (pr[j] > pr[top]) top = j;
        say(T, "The last fc gives %d scores (logits); softmax turns them into probabilities: exp(z) / sum exp(z).", c);
        say(T, "Top class here: %d %s with %.4g%s.", top, u->cfg->labels ? ax_label(u->cfg->labels, top) : "",
            pr[top], net->untrained ? " (UNTRAINED weights: near 1/classes, meaningless)" : "");
        say(T, "e on a row explains how its score was summed.");
        return 1;
    }
    case S_SALIENCY:
        if (u->ready <= last) return 0;
        ax_ui_saliency_open(u, -1);
        say(T, "Saliency: how much each input pixel moves the top class's score (the gradient of the logit).");
        say(T, "Bright pixels are the ones the class depends on; with untrained weights it is noise.");
        say(T, "The end of the tour: Esc leaves it here, p goes back.");
        return 1;
    }
    return 1;
}

static void start(ax_ui *u)
{
    tour *T = state_of(u);
    plan(u);
    T->active = 1;
    T->at = 0;
    T->shown = -1;
    if (!T->ran && u->ready < u->net->nlayers) ax_ui_worker_run_to(u, u->net->nlayers - 1);
    T->ran = 1;
}

static int key_tour(ax_ui *u, int k)
{
    (void)k;
    start(u);
    return 1;
}

static void init(ax_ui *u)
{
    state_of(u)->starting = u->cfg->tour;
}

/* each turn: --tour begins, and a stop waiting for its layers is shown once they are there */
static int sync(ax_ui *u)
{
    tour *T = state_of(u);
    if (T->starting) {
        T->starting = 0;
        start(u);
    }
    if (T->active && T->shown != T->at && show(u, T->at)) T->shown = T->at;
    return 0;
}

/* While it is on, n Space p Backspace Esc are the tour's; every other key
 * works as usual (the tour stays open over it). */
static int key_first(ax_ui *u, int k)
{
    tour *T = state_of(u);
    if (!T->active) return 0;
    if (k == 'n' || k == ' ') {
        if (T->at + 1 < T->nstops) T->at++;
        /* (the bottom line says it is the last stop) */
    } else if (k == 'p' || k == KEY_BACKSPACE || k == 127 || k == 8) {
        if (T->at > 0) T->at--;
    } else if (k == 27) {
        T->active = 0;   /* the workbench stays where the stop put it */
        ax_ui_say(u, AX_R_DIM, "left the tour at stop %d of %d (O starts it again)", T->at + 1, T->nstops);
    } else {
        return 0;
    }
    return 1;
}

/* The stop's lines over the foot of the pane, and the tour's keys below. */
static int bottom(ax_ui *u, int y)
{
    tour *T = state_of(u);
    if (!T->active) return 0;
    ax_rect r = ax_ui_pane(u);
    int ready = T->shown == T->at, w = r.w - 2, rows = 0;
    const char *waiting = "computing the layers this stop needs ...";
    for (int i = 0; i < (ready ? T->nlines : 1); i++) rows += ax_ui_wrap_rows(ready ? T->lines[i] : waiting, w);
    if (rows > r.h - 2) rows = r.h - 2;
    int top = r.y + r.h - rows - 1;
    if (top < r.y) top = r.y;
    ax_ui_fill(u, top, r.x, r.w, AX_R_TITLE);
    ax_ui_printf(u, top, r.x + 1, w, AX_R_TITLE, "tour: stop %d of %d", T->at + 1, T->nstops);
    for (int yy = top + 1; yy < r.y + r.h; yy++) ax_ui_fill(u, yy, r.x, r.w, AX_R_ACCENT);
    int yy = top + 1;
    for (int i = 0; i < (ready ? T->nlines : 1) && yy < r.y + r.h; i++)
        yy = ax_ui_wrap(u, yy, r.x + 1, w, AX_R_ACCENT, ready ? T->lines[i] : waiting, r.y + r.h - yy);
    if (T->at + 1 == T->nstops)
        ax_ui_printf(u, y, 0, COLS, AX_R_ACCENT, "tour %d/%d, the last stop  p Backspace back  Esc leave  (other "
                     "keys work as usual)", T->at + 1, T->nstops);
    else
        ax_ui_printf(u, y, 0, COLS, AX_R_ACCENT, "tour %d/%d  n Space next  p Backspace back  Esc leave  (other keys "
                     "work as usual)", T->at + 1, T->nstops);
    return 1;
}

static const ax_key keys[] = {
    { { 'O' }, "O", "the guided tour: a dozen stops through the net (n next, p back, Esc leaves)", key_tour, NULL, NULL,
      0, 0, 0 },
    { { 0 }, NULL, NULL, NULL, NULL, NULL, 0, 0, 0 },
};

const ax_mode ax_mode_tour = {
    .name = "tour",
    .keys = keys,
    .state = sizeof(tour),
    .init = init,
    .sync = sync,
    .bottom = bottom,
    .key_first = key_first,
};
