/* Gradients in the workbench: asks the worker for a forward pass to the
 * logits when one is missing, then runs the backward of the chosen class on
 * the worker (ax_saliency_backward) and keeps what it gives: the gradient
 * with respect to the input and every layer's output up to the logits; while
 * G is on, what the Heatmap shows and the Channels view's gradient table,
 * which stands in for that view. Nothing here draws a map. */
#include "gradmode.h"
#include "modes.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alexscope/saliency.h"
#include "alexscope/teach.h"

/* The job's fields are written by the worker thread while `running`; the
 * main thread reads them only after `done` (under u->mu) says it finished. */
typedef struct {
    int cls;                  /* asked for (-1: each image's top class) */
    int *classes;             /* (batch) the class each image got */
    float *buf;               /* input gradient, then each layer's, whole batch */
    size_t *off;              /* (nlayers + 1) offsets into buf, [0] the input */
    int top;                  /* the logit layer, -1 on failure */
    double ms;
    ax_error err;
    int done;                 /* (u->mu) */
} grad_job;

typedef struct {
    int on;                   /* G: gradients in place of activations */
    int want;                 /* the class asked for (-1: top) */
    int pending;              /* a backward waits for the forward or the worker */
    int fwd_started;          /* the pending backward asked for the forward pass */
    int running;              /* the job is on the worker */
    int valid;                /* J's results are the ones on show */
    int failed;               /* the last ask failed: no retry until the next ask */
    char why[320];
    char what[200];
    ax_layer_cache *cache;    /* (ncache) statistics of the gradients, image on show */
    int ncache;
    int cache_image;
    /* the Channels table */
    int col, desc, top_row;
    int *order; size_t cap;
    ax_grad_channel *fig;
    int f_layer, f_image, f_col, f_desc, f_valid;
} grad_mode;

typedef struct {
    grad_job job;
    grad_mode mode;
} grad_state;

static grad_job *job_of(const ax_ui *u)
{
    return &((grad_state *)ax_ui_mode_state(u, AX_M_GRAD))->job;
}

static grad_mode *mode_of(const ax_ui *u)
{
    return &((grad_state *)ax_ui_mode_state(u, AX_M_GRAD))->mode;
}

static void init(ax_ui *u)
{
    grad_mode *G = mode_of(u);
    G->want = -1;
    G->desc = 1;
    G->col = AX_GRAD_COL_ABS_MEAN;
}

static void cache_drop(ax_ui *u)
{
    grad_mode *G = mode_of(u);
    for (int i = 0; G->cache && i < G->ncache; i++) {
        free(G->cache[i].ch);
        memset(&G->cache[i], 0, sizeof G->cache[i]);
    }
    G->f_valid = 0;
}

static void release(ax_ui *u)
{
    grad_mode *G = mode_of(u);
    grad_job *J = job_of(u);
    /* the worker is joined before views are released */
    free(J->classes);
    free(J->buf);
    free(J->off);
    free(G->order);
    free(G->fig);
    cache_drop(u);
    free(G->cache);
    memset(J, 0, sizeof *J);
    memset(G, 0, sizeof *G);
    init(u);
}

/* ---- the job on the worker thread ------------------------------------------------ */

static void job(ax_ui *u, void *arg)
{
    grad_job *J = job_of(u);
    (void)arg;
    ax_net *net = u->net;
    ax_grad *g = NULL;
    ax_error e = { 0 };
    double t0 = ax_ui_now();
    int top = -1;
    if (ax_grad_create_activations(&g, net, &e) == AX_OK) {
        top = ax_saliency_backward(g, J->cls, J->classes, &e);
        if (top >= 0) {
            memcpy(J->buf + J->off[0], g->d_input.data, ax_tensor_numel(&g->d_input) * sizeof(float));
            for (int i = 0; i <= top; i++)
                memcpy(J->buf + J->off[i + 1], g->d_out[i].data, ax_tensor_numel(&g->d_out[i]) * sizeof(float));
        }
    }
    ax_grad_free(g);
    pthread_mutex_lock(&u->mu);
    J->top = top;
    J->err = e;
    J->ms = 1e3 * (ax_ui_now() - t0);
    J->done = 1;
    pthread_mutex_unlock(&u->mu);
}

/* ---- asking and picking up ---------------------------------------------------------- */

static const char *label_of(const ax_ui *u, int k, char *buf, size_t size)
{
    const ax_labels *l = u->cfg->labels;
    if (l && k >= 0 && k < l->count && l->names && l->names[k]) snprintf(buf, size, "%d %s", k, l->names[k]);
    else snprintf(buf, size, "%d", k);
    return buf;
}

static void fail(ax_ui *u, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(ax_ui *u, const char *fmt, ...)
{
    grad_mode *G = mode_of(u);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(G->why, sizeof G->why, fmt, ap);
    va_end(ap);
    G->failed = 1;
    G->pending = 0;
    ax_ui_say(u, AX_R_BAD, "gradient: %s", G->why);
}

static int results_ok(const ax_ui *u);

/* A new ask: the backward for class cls once the forward reaches the logits. */
static void ask(ax_ui *u, int cls)
{
    grad_mode *G = mode_of(u);
    grad_job *J = job_of(u);
    G->failed = 0;
    if (G->running || G->pending) {
        G->want = cls;
        G->pending = 1;
        return;
    }
    G->want = cls;
    if (results_ok(u) && J->cls == cls) return;
    G->pending = 1;
    G->fwd_started = 0;
}

static int results_ok(const ax_ui *u)
{
    const grad_mode *G = mode_of(u);
    const grad_job *J = job_of(u);
    return G->valid && J->top >= 0 && u->ready > J->top && ax_whatif_first(u->net) < 0;
}

/* Buffers for the job, sized for the net's batch once. */
static int job_buffers(ax_ui *u)
{
    grad_mode *G = mode_of(u);
    grad_job *J = job_of(u);
    ax_net *net = u->net;
    if (J->buf) return 0;
    J->off = calloc((size_t)net->nlayers + 1, sizeof *J->off);
    J->classes = calloc((size_t)net->batch, sizeof *J->classes);
    size_t total = ax_tensor_numel(&net->input);
    for (int i = 0; i < net->nlayers && J->off; i++) {
        J->off[i + 1] = total;
        total += ax_tensor_numel(ax_ui_shape_of(u, i));
    }
    J->buf = malloc(total * sizeof(float));
    G->cache = calloc((size_t)net->nlayers + 1, sizeof *G->cache);
    G->ncache = G->cache ? net->nlayers + 1 : 0;
    if (J->off && J->classes && J->buf && G->cache) return 0;
    free(J->off), free(J->classes), free(J->buf), free(G->cache);
    J->off = NULL, J->classes = NULL, J->buf = NULL, G->cache = NULL;
    G->ncache = 0;
    return -1;
}

static int sync(ax_ui *u)
{
    grad_mode *G = mode_of(u);
    grad_job *J = job_of(u);
    ax_net *net = u->net;
    if (G->running) {
        pthread_mutex_lock(&u->mu);
        int done = J->done;
        pthread_mutex_unlock(&u->mu);
        if (!done) return 1;
        G->running = 0;
        J->done = 0;
        u->dirty = 1;
        cache_drop(u);
        if (J->top < 0) {
            G->valid = 0;
            fail(u, "%.300s", J->err.msg);
        } else {
            G->valid = 1;
            G->failed = 0;
            char lb[96];
            if (J->cls == G->want) G->pending = 0;
            ax_ui_say(u, AX_R_GOOD, "gradient of logit %s: backward %s .. input in %.0f ms",
                      label_of(u, J->classes[u->image], lb, sizeof lb), net->layers[J->top].spec.name, J->ms);
        }
    }
    if (!G->pending) return 0;
    if (ax_whatif_first(net) >= 0) {
        fail(u, "a what-if (L, T) is on and has no backward; switch it off for gradients");
        return 0;
    }
    int L = ax_grad_logit_layer(net);
    const ax_tensor *lt = ax_ui_shape_of(u, L);
    if (lt->ndim == 4 && lt->shape[2] * lt->shape[3] > 1) {
        fail(u, "the net ends at %s without a classifier: no class to take the gradient of",
             net->layers[L].spec.name);
        return 0;
    }
    if (ax_ui_worker_sync(u)) return 1;
    if (u->ready <= L) {
        if (G->fwd_started) {
            fail(u, "the forward pass stopped before %s: no logits to take the gradient of", net->layers[L].spec.name);
            return 0;
        }
        /* the forward pass to the end (the probabilities too), without
         * moving the layer on show */
        int cur = u->cur;
        G->fwd_started = 1;
        ax_ui_worker_run_to(u, net->nlayers - 1);
        u->follow = 0;
        u->cur = cur;
        return 1;
    }
    if (job_buffers(u)) {
        fail(u, "out of memory for the gradients of the %s model (%d images)", net->spec.name, net->batch);
        return 0;
    }
    J->cls = G->want;
    J->done = 0;
    snprintf(G->what, sizeof G->what, "the backward pass (d logit / d every layer)");
    int st = ax_ui_worker_job(u, job, NULL, G->what);
    if (st > 0) return 1;
    if (st < 0) {
        fail(u, "the compute thread did not start");
        return 0;
    }
    G->running = 1;
    G->valid = 0;
    G->pending = 0;
    return 1;
}

void ax_ui_saliency_open(ax_ui *u, int cls)
{
    ask(u, cls);
    if (u->view != AX_V_SALIENCY) ax_ui_open_view(u, AX_V_SALIENCY, u->view == AX_V_TOPK);
}

void ax_ui_grad_toggle(ax_ui *u)
{
    grad_mode *G = mode_of(u);
    G->on = !G->on;
    if (G->on) {
        G->failed = 0;
        if (!results_ok(u)) ask(u, G->want);
        ax_ui_say(u, AX_R_ACCENT, "G: the gradient of the %s in place of the activation (G again: back)",
                  G->want < 0 ? "top class" : "chosen class");
    } else {
        ax_ui_say(u, AX_R_DIM, "G: activations again");
    }
}

/* The results, asked for again when they are stale (a what-if came and went,
 * the forward pass was redone). */
static int usable(ax_ui *u, int i)
{
    grad_mode *G = mode_of(u);
    grad_job *J = job_of(u);
    if (!results_ok(u)) {
        if (!G->pending && !G->running && !G->failed) ask(u, G->want);
        return 0;
    }
    return i <= J->top;
}

const float *ax_ui_grad_data(ax_ui *u, int i)
{
    grad_job *J = job_of(u);
    if (!usable(u, i)) return NULL;
    const ax_tensor *t = ax_ui_shape_of(u, i);
    size_t per = ax_tensor_numel(t) / (size_t)u->net->batch;
    return J->buf + J->off[i + 1] + (size_t)u->image * per;
}

ax_layer_cache *ax_ui_grad_cache(ax_ui *u, int i)
{
    grad_mode *G = mode_of(u);
    const float *x = ax_ui_grad_data(u, i);
    if (!x) return NULL;
    if (G->cache_image != u->image) {
        cache_drop(u);
        G->cache_image = u->image;
    }
    ax_layer_cache *lc = &G->cache[i + 1];
    if (lc->valid) return lc;
    const ax_tensor *t = ax_ui_shape_of(u, i);
    ax_tensor_nchw(t, &lc->n, &lc->c, &lc->h, &lc->w);
    ax_stats_compute(&lc->all, x, (size_t)lc->c * lc->h * lc->w);
    if (!lc->ch) lc->ch = calloc((size_t)lc->c, sizeof *lc->ch);
    if (!lc->ch) return NULL;
    ax_channel_stats(lc->ch, x, 1, lc->c, lc->h * lc->w);
    lc->valid = 1;
    return lc;
}

int ax_ui_grad_class(ax_ui *u)
{
    grad_mode *G = mode_of(u);
    grad_job *J = job_of(u);
    return results_ok(u) ? J->classes[u->image] : G->want;
}

int ax_ui_grad_wanted(const ax_ui *u)
{
    return mode_of(u)->want;
}

const char *ax_ui_grad_what(ax_ui *u, int i)
{
    grad_mode *G = mode_of(u);
    char lb[96];
    int k = ax_ui_grad_class(u);
    if (k < 0) snprintf(G->what, sizeof G->what, "d logit[top class] / d %s", ax_ui_layer_name(u, i));
    else snprintf(G->what, sizeof G->what, "d logit[%s] / d %s", label_of(u, k, lb, sizeof lb), ax_ui_layer_name(u, i));
    return G->what;
}

void ax_ui_grad_notice(ax_ui *u, ax_rect r, int y, int i)
{
    grad_mode *G = mode_of(u);
    grad_job *J = job_of(u);
    char text[400];
    if (G->failed) {
        snprintf(text, sizeof text, "No gradient: %s. G or 0 asks again.", G->why);
    } else if (G->running || G->pending) {
        snprintf(text, sizeof text, "Computing the gradient of the %s: the forward pass to the logits, then the "
                 "backward pass...", G->want < 0 ? "top class" : "chosen class");
    } else if (results_ok(u) && i > J->top) {
        snprintf(text, sizeof text, "%s comes after the logits (%s): the gradient of a logit does not reach it. "
                 "Go to %s or below.", ax_ui_layer_name(u, i), u->net->layers[J->top].spec.name,
                 u->net->layers[J->top].spec.name);
    } else {
        snprintf(text, sizeof text, "No gradient yet.");
    }
    ax_ui_notice(u, r, y, text);
}

/* ---- the Channels view with G on ---------------------------------------------------- */

static const struct { const char *name; int width; } gcols[AX_GRAD_COL_COUNT] = {
    { "ch", 6 }, { "mean|g|", 11 }, { "max|g|", 11 }, { "mean g", 11 }, { "sum g*a", 12 },
};

/* The figures and sort order of layer i, recomputed when something changes. */
static int figures(ax_ui *u, int i, int c, int hw)
{
    grad_mode *G = mode_of(u);
    if ((size_t)c > G->cap) {
        int *o = realloc(G->order, (size_t)c * sizeof *o);
        if (!o) return -1;
        G->order = o;
        ax_grad_channel *f = realloc(G->fig, (size_t)c * sizeof *f);
        if (!f) return -1;
        G->fig = f;
        G->cap = (size_t)c;
        G->f_valid = 0;
    }
    if (G->f_valid && G->f_layer == i && G->f_image == u->image && G->f_col == G->col && G->f_desc == G->desc) return 0;
    ax_saliency_channels(G->fig, ax_ui_grad_data(u, i), ax_ui_data(u, i), c, hw);
    ax_saliency_order(G->order, G->fig, c, (ax_grad_column)G->col, G->desc);
    G->f_layer = i;
    G->f_image = u->image;
    G->f_col = G->col;
    G->f_desc = G->desc;
    G->f_valid = 1;
    return 0;
}

static int row_of(const ax_ui *u, int c, int ch)
{
    grad_mode *G = mode_of(u);
    for (int r = 0; r < c; r++)
        if (G->order[r] == ch) return r;
    return 0;
}

static void channels_draw(ax_ui *u, ax_rect r)
{
    grad_mode *G = mode_of(u);
    ax_layer_cache *lc = ax_ui_grad_cache(u, u->cur);
    if (!lc) {
        ax_ui_title(u, r, "Channels", "%s %s gradient", ax_ui_layer_name(u, u->cur), ax_ui_sym(u, AX_S_DOT));
        ax_ui_grad_notice(u, r, r.y + 2, u->cur);
        return;
    }
    int hw = lc->h * lc->w;
    if (figures(u, u->cur, lc->c, hw)) return;
    ax_ui_title(u, r, "Channels", "%s %s %d channels %s G: gradient", ax_ui_grad_what(u, u->cur),
                ax_ui_sym(u, AX_S_DOT), lc->c, ax_ui_sym(u, AX_S_DOT));
    int x0 = r.x + 1, w = r.w - 2, y = r.y + 1, x = x0;
    for (int c = 0; c < AX_GRAD_COL_COUNT; c++) {
        char h[32];
        snprintf(h, sizeof h, "%s%s", gcols[c].name, c == G->col ? ax_ui_sym(u, G->desc ? AX_S_DOWN : AX_S_UP) : "");
        ax_role hr = c == G->col ? AX_R_SELECT : AX_R_HEADER;
        int hl = (int)strlen(gcols[c].name);
        ax_ui_printf(u, y, x, gcols[c].width, hr, "%*s", gcols[c].width - 1, "");
        ax_ui_put(u, y, x + gcols[c].width - 1 - hl, hl + 1, hr, h);
        x += gcols[c].width;
    }
    int map_x = x + 1, map_w = x0 + w - map_x;
    if (map_w > 16) map_w = 16;
    int spatial = hw > 1 && map_w >= 4;
    if (spatial) ax_ui_put(u, y, map_x, map_w, AX_R_HEADER, "|g| map");
    y++;
    int rows = r.h - 4;
    int sel = row_of(u, lc->c, u->ch);
    if (sel < G->top_row) G->top_row = sel;
    if (sel >= G->top_row + rows) G->top_row = sel - rows + 1;
    if (G->top_row > lc->c - rows) G->top_row = lc->c - rows;
    if (G->top_row < 0) G->top_row = 0;
    const float *g = ax_ui_grad_data(u, u->cur);
    float *absmap = spatial ? ax_ui_fbuf(u, (size_t)hw) : NULL;
    for (int k = 0; k < rows && G->top_row + k < lc->c; k++) {
        int ch = G->order[G->top_row + k];
        const ax_grad_channel *f = &G->fig[ch];
        ax_role role = ch == u->ch ? AX_R_SELECT : f->abs_max == 0 ? AX_R_DIM : AX_R_NORMAL;
        char a[32], b[32], m[32], s[32];
        ax_ui_fill(u, y + k, x0, x - x0, role);
        ax_ui_printf(u, y + k, x0, x - x0, role, "%5d %10s %10s %10s %11s", ch, ax_ui_num(a, sizeof a, f->abs_mean),
                     ax_ui_num(b, sizeof b, f->abs_max), ax_ui_num(m, sizeof m, f->mean),
                     ax_ui_num(s, sizeof s, f->grad_act));
        if (absmap) {
            ax_saliency_map(absmap, NULL, g + (size_t)ch * hw, 1, lc->h, lc->w);
            ax_ui_heat_map(u, y + k, map_x, 1, map_w, absmap, lc->h, lc->w, 0, f->abs_max);
        }
    }
    ax_ui_printf(u, r.y + r.h - 1, x0, w, AX_R_DIM, "row %d of %d %s sorted by %s %s %s sum g*a: the logit's "
                 "first-order share of the channel %s G: activations", sel + 1, lc->c, ax_ui_sym(u, AX_S_DOT),
                 gcols[G->col].name, G->desc ? "descending" : "ascending", ax_ui_sym(u, AX_S_DOT),
                 ax_ui_sym(u, AX_S_DOT));
}

static int channels_sort_key(ax_ui *u, int k)
{
    grad_mode *G = mode_of(u);
    switch (k) {
    case KEY_LEFT: case KEY_RIGHT: case 'o':
        if (k == 'o') G->desc = !G->desc;
        else G->col = (G->col + (k == KEY_LEFT ? AX_GRAD_COL_COUNT - 1 : 1)) % AX_GRAD_COL_COUNT;
        G->top_row = 0;
        {
            ax_layer_cache *lc = ax_ui_grad_cache(u, u->cur);
            if (lc && !figures(u, u->cur, lc->c, lc->h * lc->w)) u->ch = G->order[0];
        }
        return 1;
    default:
        return 0;
    }
}

static int channels_list_key(ax_ui *u, int k)
{
    grad_mode *G = mode_of(u);
    ax_layer_cache *lc = ax_ui_grad_cache(u, u->cur);
    if (!lc || figures(u, u->cur, lc->c, lc->h * lc->w)) return 0;
    if (k == '\n' || k == '\r' || k == KEY_ENTER) {
        ax_ui_open_view(u, AX_V_HEATMAP, 1);
        return 1;
    }
    int sel = ax_ui_list_key(k, row_of(u, lc->c, u->ch), lc->c, ax_ui_pane(u).h - 4);
    if (sel < 0) return 0;
    u->ch = G->order[sel];
    return 1;
}

/* 0: the Saliency view of the class last asked for. */
static int open_key(ax_ui *u, int k)
{
    (void)k;
    ax_ui_saliency_open(u, mode_of(u)->want);
    return 1;
}

/* G: gradients in place of activations where a view shows them. */
static int toggle_key(ax_ui *u, int k)
{
    (void)k;
    if (u->view != AX_V_CHANNELS && u->view != AX_V_HEATMAP) {
        ax_ui_say(u, AX_R_DIM, "G shows the gradient of the class in the Channels (2) and Heatmap (3) views");
        return 1;
    }
    ax_ui_grad_toggle(u);
    return 1;
}

static const ax_key channels_keys[] = {
    { .codes = { KEY_UP, KEY_DOWN, 'j', 'k' }, .keys = "Up Down j k", .what = "select a channel", .fn = channels_list_key,
      .bar = "Up/Down select" },
    { .codes = { KEY_PPAGE, KEY_NPAGE, KEY_HOME, KEY_END }, .keys = "PgUp PgDn Home End", .what = "page / first / last row",
      .fn = channels_list_key },
    { .codes = { KEY_LEFT, KEY_RIGHT }, .keys = "Left Right", .what = "choose the sort column", .fn = channels_sort_key,
      .bar = "Left/Right sort column" },
    { .codes = { 'o' }, .keys = "o", .what = "sort ascending / descending", .fn = channels_sort_key, .bar = "o order" },
    { .codes = { '\n', '\r', KEY_ENTER }, .keys = "Enter", .what = "heatmap of the selected channel's gradient",
      .fn = channels_list_key, .bar = "Enter heatmap  G activations" },
    { .codes = { 0 }, .keys = NULL },
};

/* The Channels view while G is on: the gradient's per-channel figures. */
static const ax_view channels_view = {
    .name = "Channels", .draw = channels_draw, .keys = channels_keys,
};

static const ax_view *stand_in(const ax_ui *u, int v)
{
    return v == AX_V_CHANNELS && mode_of(u)->on ? &channels_view : NULL;
}

static int shows(ax_ui *u, int i, ax_ui_shown *out)
{
    if (!mode_of(u)->on) return 0;
    *out = (ax_ui_shown){ ax_ui_grad_data(u, i), ax_ui_grad_cache(u, i), ax_ui_grad_what(u, i), -1 };
    return 1;
}

static const ax_key keys[] = {
    { .codes = { '0' }, .keys = "0", .what = "Saliency view: |d logit / d input| of a class", .fn = open_key },
    { .codes = { 'G' }, .keys = "G", .what = "Channels, Heatmap: the class's gradient / activations", .fn = toggle_key },
    { .codes = { 0 }, .keys = NULL },
};

const ax_mode ax_mode_grad = {
    .name = "gradients",
    .keys = keys,
    .state = sizeof(grad_state),
    .init = init,
    .release = release,
    .sync = sync,
    .stand_in = stand_in,
    .shows = shows,
    .notice = ax_ui_grad_notice,
};
