/* The event loop: the workbench's state, keys (global ones here, a view's own
 * in its file), going back from drilled-in views, the mouse on the layer
 * list, switching images of a batch, and the messages log. Terminal and
 * signals live in term.c, computing in worker.c, the prompts in prompt.c. */
#include "loop.h"
#include "modes/diffmode.h"
#include "modes/gradmode.h"
#include "modes/modes.h"
#include "views/views.h"
#include "teach.h"

#include <locale.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const ax_view *const ax_views[AX_V_COUNT] = {
    &ax_view_tensor, &ax_view_channels, &ax_view_heatmap, &ax_view_lrn, &ax_view_groups,
    &ax_view_topk, &ax_view_filters, &ax_view_input, &ax_view_messages,
    [AX_V_DIFF] = &ax_view_diff,
    [AX_V_SUMMARY] = &ax_view_summary, [AX_V_EXPLAIN] = &ax_view_explain,
    [AX_V_SALIENCY] = &ax_view_saliency,
    [AX_V_MAXACT] = &ax_view_maxact,
};


/* What loading said, one line each ("note: ...", "warning: ..."). */
static void load_messages(ax_ui *u, const char *text)
{
    if (!text) return;
    int first = 1;
    while (*text) {
        const char *nl = strchr(text, '\n');
        int len = nl ? (int)(nl - text) : (int)strlen(text);
        if (len > 0) {
            char line[sizeof u->log[0]];
            snprintf(line, sizeof line, "%.*s", len, text);
            ax_role r = !strncmp(line, "warning", 7) ? AX_R_WARN : !strncmp(line, "error", 5) ? AX_R_BAD : AX_R_ACCENT;
            ax_ui_log(u, r, line);
            if (first) {
                snprintf(u->msg, sizeof u->msg, "%.300s", line);
                u->msg_role = r;
                first = 0;
            }
        }
        text += len + (nl != NULL);
    }
}

/* ---- state -------------------------------------------------------------- */

int ax_ui_state_init(ax_ui *u, ax_net *net, const ax_ui_config *cfg, ax_error *err)
{
    memset(u, 0, sizeof *u);
    u->net = net;
    u->cfg = cfg;
    u->ready = net->computed;
    u->cur = u->ready - 1;
    u->view = AX_V_TENSOR;
    u->nimages = net->input.ndim >= 1 && net->input.shape[0] > 0 ? net->input.shape[0] : 1;
    u->utf8 = ax_ui_locale_utf8();
    u->dirty = 1;
    u->views = ax_views;
    u->modes = ax_modes;
    u->keys = ax_global_keys;
    pthread_mutex_init(&u->mu, NULL);
    pthread_mutex_init(&u->compute_mu, NULL);
    u->cache = calloc((size_t)net->nlayers + 1, sizeof *u->cache);
    u->wstats = calloc((size_t)net->nlayers, sizeof *u->wstats);
    u->bstats = calloc((size_t)net->nlayers, sizeof *u->bstats);
    if (!u->cache || !u->wstats || !u->bstats) return ax_fail(err, AX_ERR_NOMEM, "ui: out of memory for %d layers", net->nlayers);
    if (net->backend && net->backend->describe) net->backend->describe(net, u->backend_desc, sizeof u->backend_desc);
    else snprintf(u->backend_desc, sizeof u->backend_desc, "%s", net->backend ? net->backend->name : "?");
    for (int m = 0; m < AX_M_COUNT; m++) {
        u->mode_state[m] = calloc(1, ax_modes[m]->state ? ax_modes[m]->state : 1);
        if (!u->mode_state[m]) return ax_fail(err, AX_ERR_NOMEM, "ui: out of memory for the %s mode", ax_modes[m]->name);
        if (ax_modes[m]->init) ax_modes[m]->init(u);
    }
    for (int v = 0; v < AX_V_COUNT; v++) {
        u->view_state[v] = calloc(1, ax_views[v]->state ? ax_views[v]->state : 1);
        if (!u->view_state[v]) return ax_fail(err, AX_ERR_NOMEM, "ui: out of memory for the %s view", ax_views[v]->name);
        if (ax_views[v]->reset) ax_views[v]->reset(u);
    }
    ax_ui_worker_reset(u);
    load_messages(u, cfg->messages);
    return 0;
}

void ax_ui_state_free(ax_ui *u)
{
    for (int v = 0; v < AX_V_COUNT; v++) {
        if (u->view_state[v] && ax_views[v]->release) ax_views[v]->release(u);
        free(u->view_state[v]);
    }
    for (int m = 0; m < AX_M_COUNT; m++) {
        if (u->mode_state[m] && ax_modes[m]->release) ax_modes[m]->release(u);
        free(u->mode_state[m]);
    }
    ax_ui_cache_drop(u);
    free(u->cache);
    free(u->wstats);
    free(u->bstats);
    free(u->lev);
    free(u->fbuf);
    free(u->order);
    free(u->rgb_pair);
    pthread_mutex_destroy(&u->mu);
    pthread_mutex_destroy(&u->compute_mu);
    memset(u, 0, sizeof *u);
}

/* ---- going back ---------------------------------------------------------- */

/* Esc, Backspace, q: a step back inside the view, else to the view drilled
 * in from. Returns 0 at the top. */
static int go_back(ax_ui *u)
{
    const ax_view *v = ax_ui_view_on_show(u);
    if (v->back && v->back(u)) return 1;
    if (u->nback > 0) {
        u->view = u->back[--u->nback];
        return 1;
    }
    return 0;
}

static void prev_layer(ax_ui *u)
{
    u->follow = 0;
    if (u->cur >= 0) u->cur--;
}

static void switch_image(ax_ui *u, int d)
{
    if (u->nimages < 2) {
        ax_ui_say(u, AX_R_DIM, "one image: --input X.npy of shape (N, C, H, W) with N > 1 gives a batch to switch");
        return;
    }
    int i = u->image + d;
    if (i < 0) i = 0;
    if (i >= u->nimages) i = u->nimages - 1;
    if (i == u->image) {
        ax_ui_say(u, AX_R_DIM, "image %d is the %s of the batch", i + 1, d < 0 ? "first" : "last");
        return;
    }
    u->image = i;
    ax_ui_cache_drop(u);
    ax_ui_say(u, AX_R_DIM, "image %d of %d", i + 1, u->nimages);
}

static void mouse(ax_ui *u)
{
    MEVENT ev;
    if (getmouse(&ev) != OK) return;
    int in_list = ev.x < ax_ui_list_width(u) && ev.y >= 1 && ev.y < LINES - 2;
    if (ev.bstate & BUTTON4_PRESSED) {
        if (in_list) prev_layer(u);
        else ax_ui_view_key(u, KEY_UP);
        return;
    }
#ifdef BUTTON5_PRESSED
    if (ev.bstate & BUTTON5_PRESSED) {
        if (in_list) ax_ui_worker_step(u);
        else ax_ui_view_key(u, KEY_DOWN);
        return;
    }
#endif
    if (in_list && (ev.bstate & (BUTTON1_PRESSED | BUTTON1_CLICKED))) {
        int i = ax_ui_list_hit(u, ev.y);
        if (i >= -1 && i != u->cur) ax_ui_worker_run_to(u, i);
    }
}

/* Keys a view left unused that move through the layer list. */
static int list_key(ax_ui *u, int k)
{
    switch (k) {
    case KEY_UP: prev_layer(u); return 1;
    case KEY_DOWN: ax_ui_worker_step(u); return 1;
    case KEY_HOME: u->follow = 0; u->cur = -1; return 1;
    case KEY_END: u->follow = 0; u->cur = u->ready - 1; return 1;
    default: return 0;
    }
}

/* The mode whose keys take k, and the row; NULL when none. */
static const ax_key *mode_key(const ax_ui *u, int k)
{
    for (int m = 0; m < AX_M_COUNT; m++) {
        const ax_key *r = ax_ui_key_find(u->modes[m]->keys, k);
        if (r) return r;
    }
    return NULL;
}

/* ---- the global map ------------------------------------------------------ */

static int key_quit(ax_ui *u, int k) { (void)k; u->quit = 1; return 1; }
static int key_q(ax_ui *u, int k)
{
    (void)k;
    if (!go_back(u)) u->quit = 1;
    return 1;
}
static int key_back(ax_ui *u, int k)
{
    if (go_back(u)) return 1;
    if (k == 27) ax_ui_worker_stop(u);
    else prev_layer(u);
    return 1;
}
static int key_help(ax_ui *u, int k) { (void)k; u->help = 1; ax_ui_help_key(u, KEY_HOME); return 1; }
static int key_next(ax_ui *u, int k) { (void)k; ax_ui_worker_step(u); return 1; }
static int key_prev(ax_ui *u, int k) { (void)k; prev_layer(u); return 1; }
static int key_all(ax_ui *u, int k) { (void)k; ax_ui_worker_run_to(u, u->net->nlayers - 1); return 1; }
static int key_stop(ax_ui *u, int k) { (void)k; ax_ui_worker_stop(u); return 1; }
static int key_image(ax_ui *u, int k) { switch_image(u, k == '<' || k == ',' ? -1 : 1); return 1; }
static int key_tab(ax_ui *u, int k)
{
    ax_ui_open_view(u, (u->view + (k == '\t' ? 1 : AX_V_COUNT - 1)) % AX_V_COUNT, 0);
    return 1;
}
static int key_colour(ax_ui *u, int k)
{
    (void)k;
    if (u->can_colour) u->colour = !u->colour;
    else ax_ui_say(u, AX_R_DIM, "no colours here (%s)", u->cfg->mono ? "--mono or NO_COLOR" : "the terminal has none");
    return 1;
}
static int key_save(ax_ui *u, int k) { ax_ui_save_view(u, k); return 1; }
static int key_summary(ax_ui *u, int k) { (void)k; ax_ui_open_view(u, AX_V_SUMMARY, 1); return 1; }
static int key_redraw(ax_ui *u, int k) { (void)k; clearok(curscr, TRUE); return 1; }
static int key_mouse(ax_ui *u, int k) { (void)k; mouse(u); return 1; }
static int key_view(ax_ui *u, int k) { ax_ui_open_view(u, k - '1', 0); return 1; }

/* The keys that work everywhere, in the order they are tried and shown in
 * the help. Rows with frame set are taken before the view's own keys; the
 * row with modes set is where each mode's keys go (and their help lines). */
const ax_key ax_global_keys[] = {
    { .codes = { 'n', ' ' }, .keys = "n Space", .what = "next layer (computes it if needed)", .fn = key_next },
    { .codes = { 'p' }, .keys = "p", .what = "previous layer (never recomputes)", .fn = key_prev },
    { .codes = { KEY_UP, KEY_DOWN, KEY_HOME, KEY_END }, .keys = "Up Down Home End", .what = "layer list (views that don't scroll)", .fn = list_key },
    { .codes = { KEY_MOUSE }, .keys = "click", .what = "layer list row: go to that layer", .fn = key_mouse, .frame = 1 },
    { .codes = { 'a' }, .keys = "a", .what = "run all layers", .fn = key_all },
    { .codes = { 'x' }, .keys = "x", .what = "stop after the layer being computed", .fn = key_stop },
    { .codes = { '<', ',', '>', '.' }, .keys = "< >", .what = "previous / next image of a batch", .fn = key_image },
    { .codes = { '1', '2', '3', '4', '5', '6', '7', '8', '9' }, .keys = "1 ... 9", .what = "Tensor Channels Heatmap LRN Groups", .fn = key_view },
    { .codes = { 0 }, .keys = "", .what = "Top-k Filters Input Messages views" },
    { .codes = { 0 }, .keys = NULL, .what = NULL, .fn = NULL, .modes = 1 },
    { .codes = { '\t', KEY_BTAB }, .keys = "Tab Shift-Tab", .what = "next / previous view", .fn = key_tab, .frame = 1 },
    { .codes = { 27, KEY_BACKSPACE, 127, 8 }, .keys = "Esc Backspace", .what = "back to the view drilled in from", .fn = key_back, .frame = 1 },
    { .codes = { 0 }, .keys = "", .what = "(top view: Esc stops, Backspace = p)" },
    { .codes = { 'q' }, .keys = "q", .what = "back from a drilled-in view,", .fn = key_q, .frame = 1 },
    { .codes = { 0 }, .keys = "", .what = "quits at the top view" },
    { .codes = { 'Q' }, .keys = "Q", .what = "quit from anywhere", .fn = key_quit, .frame = 1 },
    { .codes = { 'S' }, .keys = "S", .what = "Summary view: the model's layers, totals, diagram", .fn = key_summary },
    { .codes = { 'm' }, .keys = "m", .what = "colours on / off", .fn = key_colour },
    { .codes = { 's' }, .keys = "s", .what = "save view: .txt plain, .ans colours", .fn = key_save },
    { .codes = { 12 }, .keys = "Ctrl-L", .what = "redraw the screen", .fn = key_redraw },
    { .codes = { KEY_F(1), '?' }, .keys = "? F1", .what = "this help", .fn = key_help, .frame = 1 },
    { .codes = { 0 }, .keys = NULL, .what = NULL, .fn = NULL },
};

int ax_ui_sync(ax_ui *u)
{
    int busy = ax_ui_worker_sync(u);
    for (int m = 0; m < AX_M_COUNT; m++)
        if (u->modes[m]->sync) busy |= u->modes[m]->sync(u);
    return busy;
}

void ax_ui_handle_key(ax_ui *u, int k)
{
    if (k == KEY_RESIZE) return;
    u->msg[0] = 0;
    u->last_key = NULL;
    for (int m = 0; m < AX_M_COUNT; m++)
        if (u->modes[m]->prompt_active && u->modes[m]->prompt_active(u)) {
            u->modes[m]->prompt_key(u, k);
            return;
        }
    for (int m = 0; m < AX_M_COUNT; m++)
        if (u->modes[m]->key_first && u->modes[m]->key_first(u, k)) return;
    if (u->help) {
        if (k == 'Q') u->quit = 1;
        else u->help = ax_ui_help_key(u, k);
        return;
    }
    /* the frame rows come first, then the view's own keys (Saliency's p is
     * its scale), then the rest of the global map in its order */
    const ax_key *r = ax_ui_key_find(u->keys, k);
    if (!(r && r->frame)) {
        const ax_key *own = ax_ui_view_key(u, k);
        if (own) {
            u->last_key = own;
            return;
        }
    }
    if (!r) r = mode_key(u, k);   /* the modes row: codes of its own it has none */
    if (r && r->fn && r->fn(u, k)) u->last_key = r;
}

/* ---- the loop ----------------------------------------------------------- */

int ax_ui_run(ax_net *net, const ax_ui_config *cfg, ax_error *err)
{
    setlocale(LC_ALL, "");
    if (ax_ui_terminal_check(err)) return 1;
    static ax_ui ui;
    ax_ui *u = &ui;
    if (ax_ui_state_init(u, net, cfg, err)) {
        ax_ui_state_free(u);
        return 1;
    }
    SCREEN *scr = newterm(NULL, stdout, stdin);
    if (!scr) {
        const char *term = getenv("TERM");
        ax_fail(err, AX_ERR_UNSUPPORTED, "cannot drive the terminal (TERM=%s): curses could not start; "
                "`alexscope dump IMAGE` prints the same facts as text", term ? term : "(unset)");
        ax_ui_state_free(u);
        return 1;
    }
    ax_ui_signals_on();
    cbreak();
    noecho();
    keypad(stdscr, TRUE);
    curs_set(0);
    set_escdelay(25);
    /* releases are asked for too: one left out makes getch wait for the next key */
    mousemask(BUTTON1_PRESSED | BUTTON1_RELEASED | BUTTON1_CLICKED | BUTTON4_PRESSED
#ifdef BUTTON5_PRESSED
              | BUTTON5_PRESSED
#endif
              , NULL);
    mouseinterval(0);
    ax_ui_colours_init(u);
    ax_ui_wstats_start(u, 1);

    int was_busy = 0;
    while (!u->quit && !ax_ui_signal_caught()) {
        int busy = ax_ui_sync(u);
        if (u->dirty || busy || was_busy) {
            ax_ui_draw_all(u);
            refresh();
            u->dirty = 0;
        }
        was_busy = busy;
        timeout(busy ? 60 : 400);
        int k = getch();
        if (k == ERR) {
            if (!u->wstats_seen && ax_ui_wstats_ready(u)) {
                u->wstats_seen = 1;
                u->dirty = 1;
            }
            continue;
        }
        if (k == 3) {
            /* Ctrl-C arriving as a key (raw terminals): the same as SIGINT */
            ax_ui_signal_set(SIGINT);
            break;
        }
        ax_ui_handle_key(u, k);
        u->dirty = 1;
    }

    ax_ui_worker_join(u);
    ax_ui_wstats_join(u);
    endwin();
    ax_ui_signals_off();
    delscreen(scr);
    int sig = ax_ui_signal_caught();
    ax_ui_state_free(u);
    if (sig) {
        ax_fail(err, AX_ERR_ARG, "interrupted by %s", sig == SIGINT ? "SIGINT (Ctrl-C)" : sig == SIGTERM ? "SIGTERM" : "SIGHUP");
        return 128 + sig;
    }
    return 0;
}
