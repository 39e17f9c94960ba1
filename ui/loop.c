/* The event loop: keys, stepping (a worker thread calls ax_net_step one layer
 * at a time while the screen keeps redrawing), saving the view to text files,
 * signal handling that always ends curses, and the redraw benchmark. */
#include "draw.h"

#include <ctype.h>
#include <errno.h>
#include <langinfo.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <wchar.h>

const ax_view *const ax_views[AX_V_COUNT] = {
    &ax_view_tensor, &ax_view_channels, &ax_view_heatmap, &ax_view_lrn,
    &ax_view_groups, &ax_view_topk, &ax_view_filters, &ax_view_input,
};

const ax_keyhelp ax_global_keys[] = {
    { "n Space", "next layer (computes it if needed)" },
    { "p Backspace", "previous layer (never recomputes)" },
    { "g", "run to a layer: type name or number" },
    { "a", "run all layers" },
    { "x Esc", "stop after the layer being computed" },
    { "1 ... 8", "Tensor Channels Heatmap LRN Groups" },
    { "", "Top-k Filters Input views" },
    { "Tab Shift-Tab", "next / previous view" },
    { "m", "colours on / off" },
    { "s", "save view: .txt plain, .ans colours" },
    { "Ctrl-L", "redraw the screen" },
    { "? F1", "this help" },
    { "q", "quit" },
    { NULL, NULL },
};

/* ---- signals: whatever happens, curses is ended ------------------------- */

static volatile sig_atomic_t g_signal;
static volatile sig_atomic_t g_curses_on;

static void on_stop_signal(int sig)
{
    if (g_signal) {
        /* a second Ctrl-C while the loop is stuck: leave now, terminal restored */
        if (g_curses_on) endwin();
        _exit(128 + sig);
    }
    g_signal = sig;
}

static void on_fatal_signal(int sig)
{
    if (g_curses_on) {
        g_curses_on = 0;
        endwin();
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

static void end_curses_at_exit(void)
{
    if (g_curses_on) {
        g_curses_on = 0;
        endwin();
    }
}

static const int stop_signals[] = { SIGINT, SIGTERM, SIGHUP };
static const int fatal_signals[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT };
#define NSTOP ((int)(sizeof stop_signals / sizeof stop_signals[0]))
#define NFATAL ((int)(sizeof fatal_signals / sizeof fatal_signals[0]))

static void install_handlers(struct sigaction *old_stop, struct sigaction *old_fatal)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on_stop_signal;   /* no SA_RESTART: getch returns at once */
    for (int i = 0; i < NSTOP; i++) sigaction(stop_signals[i], &sa, &old_stop[i]);
    sa.sa_handler = on_fatal_signal;
    sa.sa_flags = SA_RESETHAND;
    for (int i = 0; i < NFATAL; i++) sigaction(fatal_signals[i], &sa, &old_fatal[i]);
}

static void restore_handlers(const struct sigaction *old_stop, const struct sigaction *old_fatal)
{
    for (int i = 0; i < NSTOP; i++) sigaction(stop_signals[i], &old_stop[i], NULL);
    for (int i = 0; i < NFATAL; i++) sigaction(fatal_signals[i], &old_fatal[i], NULL);
}

/* ---- state -------------------------------------------------------------- */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int locale_is_utf8(void)
{
    const char *cs = nl_langinfo(CODESET);
    return cs && (!strcmp(cs, "UTF-8") || !strcmp(cs, "utf8"));
}

/* Starts a helper thread with the stop signals blocked, so that they reach
 * the main thread and wake getch at once. */
static int start_thread(pthread_t *t, void *(*fn)(void *), void *arg)
{
    sigset_t block, old;
    sigemptyset(&block);
    for (int i = 0; i < NSTOP; i++) sigaddset(&block, stop_signals[i]);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    int rc = pthread_create(t, NULL, fn, arg);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc;
}

static int ui_init(ax_ui *u, ax_net *net, const ax_ui_config *cfg, ax_error *err)
{
    memset(u, 0, sizeof *u);
    u->net = net;
    u->cfg = cfg;
    u->ready = net->computed;
    u->cur = u->ready - 1;
    u->view = AX_V_TENSOR;
    u->tile_w = 12;
    u->topk = cfg->topk > 0 ? cfg->topk : 5;
    u->hist_log = 1;
    u->chan_col = 0;
    u->utf8 = locale_is_utf8();
    u->w_computing = -1;
    u->w_ready = u->ready;
    u->dirty = 1;
    pthread_mutex_init(&u->mu, NULL);
    u->cache = calloc((size_t)net->nlayers + 1, sizeof *u->cache);
    u->wstats = calloc((size_t)net->nlayers, sizeof *u->wstats);
    u->bstats = calloc((size_t)net->nlayers, sizeof *u->bstats);
    if (!u->cache || !u->wstats || !u->bstats) return ax_fail(err, AX_ERR_NOMEM, "ui: out of memory for %d layers", net->nlayers);
    if (net->backend && net->backend->describe) net->backend->describe(net, u->backend_desc, sizeof u->backend_desc);
    else snprintf(u->backend_desc, sizeof u->backend_desc, "%s", net->backend ? net->backend->name : "?");
    return 0;
}

static void ui_free(ax_ui *u)
{
    for (int i = 0; u->cache && i <= u->net->nlayers; i++) {
        free(u->cache[i].ch);
        free(u->cache[i].supp);
    }
    free(u->cache);
    free(u->wstats);
    free(u->bstats);
    free(u->lev);
    free(u->fbuf);
    free(u->order);
    free(u->rgb_pair);
    pthread_mutex_destroy(&u->mu);
}

/* ---- helper threads ----------------------------------------------------- */

static void *wstats_main(void *arg)
{
    ax_ui *u = arg;
    for (int i = 0; i < u->net->nlayers; i++) {
        const ax_layer *l = &u->net->layers[i];
        if (l->weight.data) ax_stats_compute(&u->wstats[i], l->weight.data, ax_tensor_numel(&l->weight));
        if (l->bias.data) ax_stats_compute(&u->bstats[i], l->bias.data, ax_tensor_numel(&l->bias));
    }
    pthread_mutex_lock(&u->mu);
    u->w_stats_done = 1;
    pthread_mutex_unlock(&u->mu);
    return NULL;
}

/* Computes layers w_ready..w_target one by one; the target may move meanwhile. */
static void *worker_main(void *arg)
{
    ax_ui *u = arg;
    for (;;) {
        pthread_mutex_lock(&u->mu);
        int i = u->w_ready;
        if (u->w_cancel || i > u->w_target || i >= u->net->nlayers) {
            u->w_busy = 0;
            u->w_computing = -1;
            pthread_mutex_unlock(&u->mu);
            return NULL;
        }
        u->w_computing = i;
        u->w_t0 = now_s();
        pthread_mutex_unlock(&u->mu);

        ax_error e = { 0 };
        ax_status st = ax_net_step(u->net, i, &e);

        pthread_mutex_lock(&u->mu);
        if (st != AX_OK) {
            u->w_failed = 1;
            u->w_err = e;
            u->w_busy = 0;
            u->w_computing = -1;
            pthread_mutex_unlock(&u->mu);
            return NULL;
        }
        u->w_ready = i + 1;
        pthread_mutex_unlock(&u->mu);
    }
}

static int sync_worker(ax_ui *u);

static void run_to(ax_ui *u, int target)
{
    /* a run that just ended must be seen first, or its layers would be computed again */
    sync_worker(u);
    if (target >= u->net->nlayers) target = u->net->nlayers - 1;
    if (target < u->ready) {
        u->cur = target;
        return;
    }
    u->follow = 1;
    pthread_mutex_lock(&u->mu);
    if (u->w_busy) {
        u->w_target = target;
        u->w_cancel = 0;   /* a request after x still runs */
        pthread_mutex_unlock(&u->mu);
        return;
    }
    pthread_mutex_unlock(&u->mu);
    if (u->worker_live) {
        /* the run ended since the look above: its layers are not to be computed again */
        sync_worker(u);
        if (target < u->ready) {
            u->cur = target;
            return;
        }
        u->follow = 1;
    }
    pthread_mutex_lock(&u->mu);
    u->w_busy = 1;
    u->w_target = target;
    u->w_cancel = 0;
    u->w_failed = 0;
    u->w_ready = u->ready;
    pthread_mutex_unlock(&u->mu);
    u->run_from = u->ready;
    u->run_t0 = now_s();
    if (start_thread(&u->worker, worker_main, u)) {
        pthread_mutex_lock(&u->mu);
        u->w_busy = 0;
        pthread_mutex_unlock(&u->mu);
        snprintf(u->msg, sizeof u->msg, "cannot start the compute thread: %s", strerror(errno));
        u->msg_role = AX_R_BAD;
        return;
    }
    u->worker_live = 1;
}

/* Picks up what the worker did since the last look. Returns 1 while busy. */
static int sync_worker(ax_ui *u)
{
    pthread_mutex_lock(&u->mu);
    int wr = u->w_ready, busy = u->w_busy, failed = u->w_failed, cancel = u->w_cancel;
    ax_error e = u->w_err;
    pthread_mutex_unlock(&u->mu);
    if (wr != u->ready) {
        u->ready = wr;
        if (u->follow) u->cur = wr - 1;
        u->dirty = 1;
    }
    if (!busy && u->worker_live) {
        pthread_join(u->worker, NULL);
        u->worker_live = 0;
        u->dirty = 1;
        u->follow = 0;
        if (failed) {
            snprintf(u->msg, sizeof u->msg, "error: %.300s", e.msg);
            u->msg_role = AX_R_BAD;
        } else if (u->ready > u->run_from) {
            snprintf(u->msg, sizeof u->msg, "%s %s .. %s: %d layer%s in %.2f s", cancel ? "stopped after" : "computed",
                     u->net->layers[u->run_from].spec.name, u->net->layers[u->ready - 1].spec.name,
                     u->ready - u->run_from, u->ready - u->run_from == 1 ? "" : "s", now_s() - u->run_t0);
            u->msg_role = AX_R_GOOD;
        }
    }
    return busy;
}

static void stop_worker(ax_ui *u)
{
    pthread_mutex_lock(&u->mu);
    u->w_cancel = 1;
    pthread_mutex_unlock(&u->mu);
}

/* ---- the run-to prompt -------------------------------------------------- */

static int resolve_layer(const ax_ui *u, const char *s)
{
    int nl = u->net->nlayers;
    if (!*s) return -2;
    int digits = 1;
    for (const char *p = s; *p; p++) digits &= isdigit((unsigned char)*p) != 0;
    if (digits) {
        int n = atoi(s);
        return n <= nl ? n - 1 : -2;
    }
    if (!strcasecmp(s, "input")) return -1;
    int i = ax_net_find(u->net, s);
    if (i >= 0) return i;
    int found = -2;
    for (i = 0; i < nl; i++)
        if (!strncasecmp(u->net->layers[i].spec.name, s, strlen(s))) {
            if (found != -2) return -2;
            found = i;
        }
    return found;
}

static void prompt_key(ax_ui *u, int k)
{
    if (k == 27) {
        u->prompting = 0;
        return;
    }
    if (k == '\n' || k == '\r' || k == KEY_ENTER) {
        u->prompting = 0;
        int i = resolve_layer(u, u->prompt);
        if (i == -2) {
            snprintf(u->msg, sizeof u->msg, "no layer \"%s\" (a name such as %s, or a number 0-%d)", u->prompt,
                     u->net->layers[0].spec.name, u->net->nlayers);
            u->msg_role = AX_R_BAD;
            return;
        }
        if (i < u->ready) u->follow = 0;
        run_to(u, i);
        return;
    }
    if (k == KEY_BACKSPACE || k == 127 || k == 8) {
        if (u->plen) u->prompt[--u->plen] = 0;
        return;
    }
    if (k >= 32 && k < 127 && u->plen < (int)sizeof u->prompt - 1) {
        u->prompt[u->plen++] = (char)k;
        u->prompt[u->plen] = 0;
    }
}

/* ---- saving the view ---------------------------------------------------- */

static void ansi_colour(FILE *f, int c, int bg)
{
    if (c < 0) fprintf(f, ";%d", bg ? 49 : 39);
    else if (c < 8) fprintf(f, ";%d", (bg ? 40 : 30) + c);
    else if (c < 16) fprintf(f, ";%d", (bg ? 100 : 90) + c - 8);
    else fprintf(f, ";%d;5;%d", bg ? 48 : 38, c);
}

/* Writes screen rows [y, y+h) as text read back from the screen cells. */
static void write_region(FILE *f, int y, int h, int x, int w, int ansi)
{
    char line[8192];
    for (int r = y; r < y + h && r < LINES; r++) {
        size_t p = 0, keep = 0;
        int cf = -1, cb = -1;
        attr_t ca = 0;
        mbstate_t mbs;
        memset(&mbs, 0, sizeof mbs);
        for (int c = x; c < x + w && c < COLS && p + 64 < sizeof line; c++) {
            cchar_t cc;
            wchar_t wc[CCHARW_MAX + 1] = { 0 };
            attr_t a = 0;
            short ps = 0;
            int pair = 0, fg = -1, bg = -1;
            if (mvwin_wch(stdscr, r, c, &cc) == ERR) continue;
            getcchar(&cc, wc, &a, &ps, &pair);
            if (ansi) {
                if (pair > 0) extended_pair_content(pair, &fg, &bg);
                attr_t style = a & (A_BOLD | A_DIM | A_UNDERLINE | A_REVERSE);
                if (fg != cf || bg != cb || style != ca) {
                    /* one escape per change of style, all from a reset */
                    line[p] = 0;
                    fputs(line, f);
                    p = 0;
                    fputs("\x1b[0", f);
                    if (style & A_BOLD) fputs(";1", f);
                    if (style & A_DIM) fputs(";2", f);
                    if (style & A_UNDERLINE) fputs(";4", f);
                    if (style & A_REVERSE) fputs(";7", f);
                    if (fg >= 0) ansi_colour(f, fg, 0);
                    if (bg >= 0) ansi_colour(f, bg, 1);
                    fputc('m', f);
                    cf = fg, cb = bg, ca = style;
                }
            }
            wchar_t ch = wc[0] ? wc[0] : L' ';
            size_t n = wcrtomb(line + p, ch, &mbs);
            if (n == (size_t)-1) {
                line[p] = '?';
                n = 1;
                memset(&mbs, 0, sizeof mbs);
            }
            p += n;
            if (ch != L' ') keep = p;
        }
        if (!ansi) p = keep;   /* trailing blanks carry nothing in plain text */
        line[p] = 0;
        fputs(line, f);
        if (ansi && (cf >= 0 || cb >= 0 || ca)) fputs("\x1b[0m", f);
        fputc('\n', f);
    }
}

static void file_name_part(char *dst, size_t size, const char *src)
{
    size_t p = 0;
    for (; *src && p + 1 < size; src++) {
        unsigned char c = (unsigned char)*src;
        dst[p++] = (char)(isalnum(c) || c == '-' || c == '.' ? tolower(c) : '_');
    }
    dst[p] = 0;
}

static void save_view(ax_ui *u)
{
    char layer[64], view[24], base[128], txt[160], ans[160];
    file_name_part(layer, sizeof layer, ax_ui_layer_name(u, u->cur));
    file_name_part(view, sizeof view, ax_views[u->view]->name);
    snprintf(base, sizeof base, "alexscope-%s-%s", layer, view);
    int k;
    for (k = 1; k < 1000; k++) {
        if (k == 1) {
            snprintf(txt, sizeof txt, "%s.txt", base);
            snprintf(ans, sizeof ans, "%s.ans", base);
        } else {
            snprintf(txt, sizeof txt, "%s-%d.txt", base, k);
            snprintf(ans, sizeof ans, "%s-%d.ans", base, k);
        }
        if (access(txt, F_OK) && access(ans, F_OK)) break;
    }
    FILE *ft = fopen(txt, "w"), *fa = ft ? fopen(ans, "w") : NULL;
    if (!ft || !fa) {
        snprintf(u->msg, sizeof u->msg, "cannot save %.160s: %.100s", ft ? ans : txt, strerror(errno));
        u->msg_role = AX_R_BAD;
        if (ft) fclose(ft);
        return;
    }
    char shape[48];
    ax_tensor_shape_str(u->cur < 0 ? &u->net->input : &u->net->layers[u->cur].out, shape, sizeof shape);
    char head[1600];
    snprintf(head, sizeof head, "alexscope %s, %s %s, %s view, %s\n", u->net->spec.name, ax_ui_layer_name(u, u->cur),
             shape, ax_views[u->view]->name,
             u->net->untrained ? "UNTRAINED seeded weights" : u->net->weights_path);
    fputs(head, ft);
    fputs(head, fa);
    /* the plain file is drawn in mono (ASCII ramps instead of colours), the ANSI one in colour */
    int colour = u->colour, help = u->help;
    u->help = 0;
    ax_rect pane = ax_ui_pane(u);
    u->colour = 0;
    ax_ui_draw_all(u);
    write_region(ft, pane.y, pane.h, pane.x, pane.w, 0);
    u->colour = u->can_colour;
    ax_ui_draw_all(u);
    write_region(fa, pane.y, pane.h, pane.x, pane.w, 1);
    u->colour = colour;
    u->help = help;
    int bad = ferror(ft) || ferror(fa);
    bad |= fclose(ft) != 0;
    bad |= fclose(fa) != 0;
    if (bad) {
        snprintf(u->msg, sizeof u->msg, "writing %.160s or %.140s failed", txt, ans);
        u->msg_role = AX_R_BAD;
        return;
    }
    snprintf(u->msg, sizeof u->msg, "saved %.140s (plain) and %.140s (ANSI colours)", txt, ans);
    u->msg_role = AX_R_GOOD;
}

/* ---- keys --------------------------------------------------------------- */

static void next_layer(ax_ui *u)
{
    int nl = u->net->nlayers;
    if (u->cur + 1 >= nl) {
        snprintf(u->msg, sizeof u->msg, "%s is the last layer", ax_ui_layer_name(u, u->cur));
        u->msg_role = AX_R_DIM;
        return;
    }
    if (u->cur + 1 < u->ready) {
        u->cur++;
        /* back at the frontier while computing: follow the computation again */
        if (u->worker_live && u->cur == u->ready - 1) u->follow = 1;
        return;
    }
    pthread_mutex_lock(&u->mu);
    int busy = u->w_busy;
    if (busy && u->w_cancel) {
        /* after x, n asks for the next layer only, not the rest of the stopped run */
        u->w_cancel = 0;
        u->w_target = u->cur + 1;
    } else if (busy && u->w_target < nl - 1) {
        u->w_target++;
    }
    pthread_mutex_unlock(&u->mu);
    if (busy) {
        u->follow = 1;
        return;
    }
    run_to(u, u->cur + 1);
}

static void handle_key(ax_ui *u, int k)
{
    if (k == KEY_RESIZE) return;
    u->msg[0] = 0;
    if (u->prompting) {
        prompt_key(u, k);
        return;
    }
    if (u->help) {
        switch (k) {
        case KEY_UP: u->help_top--; break;
        case KEY_DOWN: u->help_top++; break;
        case KEY_PPAGE: u->help_top -= 10; break;
        case KEY_NPAGE: u->help_top += 10; break;
        default: u->help = 0; break;
        }
        return;
    }
    switch (k) {
    case 'q': case 'Q': u->quit = 1; return;
    case '?': case KEY_F(1): u->help = 1; u->help_top = 0; return;
    case 'n': case ' ': next_layer(u); return;
    case 'p': case KEY_BACKSPACE: case 127: case 8:
        u->follow = 0;
        if (u->cur >= 0) u->cur--;
        return;
    case 'g':
        u->prompting = 1;
        u->plen = 0;
        u->prompt[0] = 0;
        return;
    case 'a': run_to(u, u->net->nlayers - 1); return;
    case 'x': case 27: stop_worker(u); return;
    case '\t': u->view = (u->view + 1) % AX_V_COUNT; return;
    case KEY_BTAB: u->view = (u->view + AX_V_COUNT - 1) % AX_V_COUNT; return;
    case 'm':
        if (u->can_colour) u->colour = !u->colour;
        else {
            snprintf(u->msg, sizeof u->msg, "no colours here (%s)",
                     u->cfg->mono ? "--mono or NO_COLOR" : "the terminal has none");
            u->msg_role = AX_R_DIM;
        }
        return;
    case 's': save_view(u); return;
    case 12: clearok(curscr, TRUE); return;
    default: break;
    }
    if (k >= '1' && k < '1' + AX_V_COUNT) {
        u->view = k - '1';
        return;
    }
    const ax_view *v = ax_views[u->view];
    if (v->key) v->key(u, k);
}

/* ---- entry points ------------------------------------------------------- */

int ax_ui_run(ax_net *net, const ax_ui_config *cfg, ax_error *err)
{
    setlocale(LC_ALL, "");
    if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
        ax_fail(err, AX_ERR_ARG, "the workbench needs a terminal on stdin and stdout (use `alexscope dump` in scripts)");
        return 1;
    }
    static ax_ui ui;
    ax_ui *u = &ui;
    if (ui_init(u, net, cfg, err)) {
        ui_free(u);
        return 1;
    }
    SCREEN *scr = newterm(NULL, stdout, stdin);
    if (!scr) {
        const char *term = getenv("TERM");
        ax_fail(err, AX_ERR_UNSUPPORTED, "cannot drive the terminal (TERM=%s): curses could not start",
                term ? term : "(unset)");
        ui_free(u);
        return 1;
    }
    static int at_exit_set;
    if (!at_exit_set && !atexit(end_curses_at_exit)) at_exit_set = 1;
    g_signal = 0;
    g_curses_on = 1;
    struct sigaction old_stop[NSTOP], old_fatal[NFATAL];
    install_handlers(old_stop, old_fatal);

    cbreak();
    noecho();
    keypad(stdscr, TRUE);
    curs_set(0);
    set_escdelay(25);
    ax_ui_colours_init(u);
    u->wthread_live = !start_thread(&u->wthread, wstats_main, u);
    if (!u->wthread_live) wstats_main(u);

    int was_busy = 0;
    while (!u->quit && !g_signal) {
        int busy = sync_worker(u);
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
        if (k == 3) break;   /* Ctrl-C arriving as a key (raw terminals) */
        handle_key(u, k);
        u->dirty = 1;
    }

    stop_worker(u);
    if (u->worker_live) pthread_join(u->worker, NULL);
    if (u->wthread_live) pthread_join(u->wthread, NULL);
    endwin();
    g_curses_on = 0;
    delscreen(scr);
    restore_handlers(old_stop, old_fatal);
    int sig = g_signal;
    ui_free(u);
    if (sig) {
        ax_fail(err, AX_ERR_ARG, "interrupted by %s", sig == SIGINT ? "SIGINT (Ctrl-C)" : sig == SIGTERM ? "SIGTERM" : "SIGHUP");
        return 128 + sig;
    }
    return 0;
}

typedef struct {
    const char *label;
    int view, layer, tiles, ka, kb;
} bench_case;

static int find_type(const ax_net *net, ax_layer_type t, int grouped)
{
    for (int i = 0; i < net->nlayers; i++)
        if (net->layers[i].spec.type == t && (!grouped || net->layers[i].spec.groups > 1)) return i;
    return -1;
}

int ax_ui_bench(ax_net *net, const ax_ui_config *cfg, int cols, int rows, ax_error *err)
{
    setlocale(LC_ALL, "");
    if (!locale_is_utf8()) setlocale(LC_CTYPE, "C.UTF-8");
    if (net->computed < net->nlayers && ax_net_run_to(net, net->nlayers - 1, err) != AX_OK) return 1;
    static ax_ui ui;
    ax_ui *u = &ui;
    if (ui_init(u, net, cfg, err)) {
        ui_free(u);
        return 1;
    }
    wstats_main(u);
    int frames = cfg->bench_frames > 0 ? cfg->bench_frames : 40;

    FILE *out = fopen("/dev/null", "w"), *in = fopen("/dev/null", "r");
    if (!out || !in) {
        if (out) fclose(out);
        if (in) fclose(in);
        ui_free(u);
        ax_fail(err, AX_ERR_IO, "bench-ui: cannot open /dev/null: %s", strerror(errno));
        return 1;
    }
    char cs[16], rs[16];
    snprintf(cs, sizeof cs, "%d", cols);
    snprintf(rs, sizeof rs, "%d", rows);
    char *old_c = getenv("COLUMNS") ? strdup(getenv("COLUMNS")) : NULL;
    char *old_l = getenv("LINES") ? strdup(getenv("LINES")) : NULL;
    setenv("COLUMNS", cs, 1);
    setenv("LINES", rs, 1);
    const char *term = "xterm-256color";
    SCREEN *scr = newterm(term, out, in);
    if (!scr) scr = newterm(term = "xterm", out, in);
    if (old_c) setenv("COLUMNS", old_c, 1); else unsetenv("COLUMNS");
    if (old_l) setenv("LINES", old_l, 1); else unsetenv("LINES");
    free(old_c);
    free(old_l);
    if (!scr) {
        fclose(out);
        fclose(in);
        ui_free(u);
        ax_fail(err, AX_ERR_UNSUPPORTED, "bench-ui: no terminfo entry for xterm-256color or xterm");
        return 1;
    }
    set_term(scr);
    resize_term(rows, cols);
    keypad(stdscr, TRUE);
    ax_ui_colours_init(u);

    int conv = find_type(net, AX_L_CONV, 0), lrn = find_type(net, AX_L_LRN, 0),
        grp = find_type(net, AX_L_CONV, 1), last = net->nlayers - 1;
    if (conv < 0) conv = 0;
    const bench_case cases[] = {
        { "tensor", AX_V_TENSOR, conv, 0, 'h', 'h' },
        { "channels", AX_V_CHANNELS, conv, 0, KEY_DOWN, KEY_UP },
        { "heatmap", AX_V_HEATMAP, conv, 0, ']', '[' },
        { "heatmap tiles", AX_V_HEATMAP, conv, 1, KEY_RIGHT, KEY_LEFT },
        { "lrn", AX_V_LRN, lrn >= 0 ? lrn : conv, 0, ']', '[' },
        { "groups", AX_V_GROUPS, grp >= 0 ? grp : conv, 0, KEY_DOWN, KEY_UP },
        { "top-k", AX_V_TOPK, last, 0, '+', '-' },
        { "filters", AX_V_FILTERS, conv, 0, KEY_DOWN, KEY_UP },
        { "input", AX_V_INPUT, -1, 0, 0, 0 },
        { "help", AX_V_TENSOR, conv, 0, 0, 0 },
    };
    int ncase = (int)(sizeof cases / sizeof cases[0]);
    double res[2][16][3];
    int passes = u->can_colour ? 2 : 1;
    for (int pass = 0; pass < passes; pass++) {
        u->colour = pass == 0 && u->can_colour;
        for (int c = 0; c < ncase; c++) {
            const bench_case *bc = &cases[c];
            u->cur = bc->layer;
            u->view = bc->view;
            u->heat_tiles = bc->tiles;
            u->help = !strcmp(bc->label, "help");
            u->ch = 0;
            u->hy = u->hx = 0;
            u->order_valid = 0;
            /* cold caches for the first frame, as after stepping onto the layer */
            for (int i = bc->layer; i >= bc->layer - 1 && i >= -1; i--) u->cache[i + 1].valid = 0;
            double sum = 0, mx = 0, first = 0;
            for (int f = 0; f < frames; f++) {
                double t0 = now_s();
                if (f > 0 && bc->ka && ax_views[u->view]->key) ax_views[u->view]->key(u, f % 2 ? bc->ka : bc->kb);
                ax_ui_draw_all(u);
                clearok(curscr, TRUE);
                wnoutrefresh(stdscr);
                doupdate();
                double ms = (now_s() - t0) * 1e3;
                if (f == 0) first = ms;
                sum += ms;
                if (ms > mx) mx = ms;
            }
            res[pass][c][0] = first;
            res[pass][c][1] = sum / frames;
            res[pass][c][2] = mx;
        }
    }
    endwin();
    delscreen(scr);
    fclose(out);
    fclose(in);

    printf("bench-ui: %s, %dx%d %s, %d frames per view, each frame redraws and repaints the whole screen\n",
           net->spec.name, cols, rows, term, frames);
    printf("  first frame includes the layer's analysis (caches cold); target: under 16 ms per key press\n");
    printf("  %-14s %-12s", "view", "layer");
    for (int pass = 0; pass < passes; pass++)
        printf(" | %-6s %6s %6s %6s", pass == 0 && u->can_colour ? "colour" : "mono", "first", "mean", "max");
    printf("   (ms)\n");
    for (int c = 0; c < ncase; c++) {
        printf("  %-14s %-12.12s", cases[c].label, cases[c].layer < 0 ? "input" : net->layers[cases[c].layer].spec.name);
        for (int pass = 0; pass < passes; pass++)
            printf(" | %-6s %6.2f %6.2f %6.2f", "", res[pass][c][0], res[pass][c][1], res[pass][c][2]);
        printf("\n");
    }
    fflush(stdout);
    ui_free(u);
    return 0;
}
