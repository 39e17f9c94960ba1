/* `alexscope bench --ui`: the redraw time of every view on its most demanding
 * layer, drawn into an xterm-256color screen written to /dev/null. Uses the
 * same state and views as the workbench; computes the layers first. */
#include "loop.h"
#include "modes/diffmode.h"
#include "modes/gradmode.h"
#include "modes/maxact.h"

#include <errno.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
    const char *label;
    int view, layer;
    int setup;        /* a key sent to the view before timing (0: none) */
    int ka, kb;       /* keys sent on odd and even frames (0: none) */
    int wait;         /* what is computed in the background before timing (WAIT_*) */
} bench_case;

/* Views whose content a thread computes: the timing starts once it is there,
 * so that a frame is the redraw alone. */
enum { WAIT_NONE, WAIT_SALIENCY, WAIT_MAXACT, WAIT_DIFF };

/* Runs the loop's sync until ready(u) (at most 120 s). 0 when it got there. */
static int settle(ax_ui *u, int (*ready)(ax_ui *u))
{
    for (int i = 0; i < 24000; i++) {
        ax_ui_sync(u);
        if (ready(u)) return 0;
        nanosleep(&(struct timespec){ 0, 5000000 }, NULL);
    }
    return 1;
}

static int saliency_ready(ax_ui *u) { return ax_ui_grad_data(u, -1) != NULL; }
static int maxact_ready(ax_ui *u) { return ax_ui_maxact_settled(u); }
static int diff_ready(ax_ui *u) { return ax_ui_diff_cmp(u) != NULL; }

/* The workbench's state made again for cfg (the Diff case's, and back). */
static int restate(ax_ui *u, ax_net *net, const ax_ui_config *cfg, int pass, ax_error *err)
{
    ax_ui_state_free(u);
    if (ax_ui_state_init(u, net, cfg, err)) return 1;
    ax_ui_wstats_start(u, 0);
    ax_ui_colours_init(u);
    u->colour = pass == 0 && u->can_colour;
    return 0;
}

/* Side B of the Diff view's timing: the same net again (spec, weights,
 * input), so every layer is compared and the view has all its rows. */
static ax_status side_b(ax_net **b, const ax_net *net, ax_error *err)
{
    ax_backend_options bo = net->options;
    bo.weights_follow = 1;   /* copied below: no seeded fill */
    ax_status st = ax_net_create_with(b, &net->spec, net->batch, net->backend, &bo, err);
    if (st) return st;
    memcpy((*b)->wblock, net->wblock, net->wcount * sizeof(float));
    (*b)->untrained = net->untrained;
    st = ax_net_weights_changed(*b, -1, err);
    const ax_tensor *in = &net->input;
    if (!st) st = ax_net_set_input(*b, in->data, in->shape[0], in->shape[1], in->shape[2], in->shape[3], err);
    if (st) {
        ax_net_free(*b);
        *b = NULL;
    }
    return st;
}

static int find_type(const ax_net *net, ax_layer_type t, int grouped)
{
    for (int i = 0; i < net->nlayers; i++)
        if (net->layers[i].spec.type == t && (!grouped || net->layers[i].spec.groups > 1)) return i;
    return -1;
}

/* A screen of cols x rows on /dev/null; NULL with err filled. */
static SCREEN *bench_screen(int cols, int rows, FILE **out, FILE **in, const char **term, ax_error *err)
{
    *out = fopen("/dev/null", "w");
    *in = fopen("/dev/null", "r");
    if (!*out || !*in) {
        if (*out) fclose(*out);
        if (*in) fclose(*in);
        ax_fail(err, AX_ERR_IO, "bench-ui: cannot open /dev/null: %s", strerror(errno));
        return NULL;
    }
    char cs[16], rs[16];
    snprintf(cs, sizeof cs, "%d", cols);
    snprintf(rs, sizeof rs, "%d", rows);
    char *old_c = getenv("COLUMNS") ? strdup(getenv("COLUMNS")) : NULL;
    char *old_l = getenv("LINES") ? strdup(getenv("LINES")) : NULL;
    setenv("COLUMNS", cs, 1);
    setenv("LINES", rs, 1);
    *term = "xterm-256color";
    SCREEN *scr = newterm(*term, *out, *in);
    if (!scr) scr = newterm(*term = "xterm", *out, *in);
    if (old_c) setenv("COLUMNS", old_c, 1); else unsetenv("COLUMNS");
    if (old_l) setenv("LINES", old_l, 1); else unsetenv("LINES");
    free(old_c);
    free(old_l);
    if (!scr) {
        fclose(*out);
        fclose(*in);
        ax_fail(err, AX_ERR_UNSUPPORTED, "bench-ui: no terminfo entry for xterm-256color or xterm");
    }
    return scr;
}

int ax_ui_bench(ax_net *net, const ax_ui_config *cfg, int cols, int rows, ax_error *err)
{
    setlocale(LC_ALL, "");
    if (!ax_ui_locale_utf8()) setlocale(LC_CTYPE, "C.UTF-8");
    if (net->computed < net->nlayers && ax_net_run_to(net, net->nlayers - 1, err) != AX_OK) return 1;
    static ax_ui ui;
    ax_ui *u = &ui;
    if (ax_ui_state_init(u, net, cfg, err)) {
        ax_ui_state_free(u);
        return 1;
    }
    ax_ui_wstats_start(u, 0);
    int frames = cfg->bench_frames > 0 ? cfg->bench_frames : 40;
    FILE *out, *in;
    const char *term;
    SCREEN *scr = bench_screen(cols, rows, &out, &in, &term, err);
    if (!scr) {
        ax_ui_state_free(u);
        return 1;
    }
    set_term(scr);
    resize_term(rows, cols);
    keypad(stdscr, TRUE);
    ax_ui_colours_init(u);

    int conv = find_type(net, AX_L_CONV, 0), lrn = find_type(net, AX_L_LRN, 0),
        grp = find_type(net, AX_L_CONV, 1), last = net->nlayers - 1, last_conv = -1;
    if (conv < 0) conv = 0;
    for (int i = 0; i < net->nlayers; i++)
        if (net->layers[i].spec.type == AX_L_CONV) last_conv = i;
    if (last_conv < 0) last_conv = conv;
    /* side B for the Diff view; its workbench state is made for that case only,
     * so that no other view is timed with a comparison on */
    ax_net *b = NULL;
    ax_ui_config diff_cfg = *cfg;
    if (!cfg->diff_net && !cfg->diff_ref) {
        if (side_b(&b, net, err)) {
            endwin();
            delscreen(scr);
            fclose(out);
            fclose(in);
            ax_ui_state_free(u);
            return 1;
        }
        diff_cfg.diff_net = b;
        diff_cfg.diff_label = "the same net again";
    }
    const bench_case cases[] = {
        { "tensor", AX_V_TENSOR, conv, 0, 'h', 'h', WAIT_NONE },
        { "channels", AX_V_CHANNELS, conv, 0, KEY_DOWN, KEY_UP, WAIT_NONE },
        { "heatmap", AX_V_HEATMAP, conv, 0, ']', '[', WAIT_NONE },
        { "heatmap tiles", AX_V_HEATMAP, conv, 't', KEY_RIGHT, KEY_LEFT, WAIT_NONE },
        { "lrn", AX_V_LRN, lrn >= 0 ? lrn : conv, 0, ']', '[', WAIT_NONE },
        { "groups", AX_V_GROUPS, grp >= 0 ? grp : conv, 0, KEY_DOWN, KEY_UP, WAIT_NONE },
        { "top-k", AX_V_TOPK, last, 0, '+', '-', WAIT_NONE },
        { "filters", AX_V_FILTERS, conv, 0, KEY_DOWN, KEY_UP, WAIT_NONE },
        { "input", AX_V_INPUT, -1, 0, 0, 0, WAIT_NONE },
        { "messages", AX_V_MESSAGES, conv, 0, KEY_DOWN, KEY_UP, WAIT_NONE },
        { "summary", AX_V_SUMMARY, conv, 0, KEY_DOWN, KEY_UP, WAIT_NONE },
        { "explain", AX_V_HEATMAP, conv, 'e', KEY_DOWN, KEY_UP, WAIT_NONE },   /* e opens it on the heatmap's cell */
        { "help", AX_V_TENSOR, conv, 0, 0, 0, WAIT_NONE },
        /* the largest crops (the last conv's receptive field), redrawn once
         * the pass over the image's folder and the channel's crops are in */
        { "top images", AX_V_MAXACT, last_conv, 0, 0, 0, WAIT_MAXACT },
        { "saliency", AX_V_SALIENCY, -1, 0, ']', '[', WAIT_SALIENCY },
        { "diff", AX_V_DIFF, conv, 0, KEY_DOWN, KEY_UP, WAIT_DIFF },
    };
    int ncase = (int)(sizeof cases / sizeof cases[0]);
    double res[2][24][3];
    int untimed[24] = { 0 };
    int passes = u->can_colour ? 2 : 1, failed = 0;
    for (int pass = 0; pass < passes && !failed; pass++) {
        u->colour = pass == 0 && u->can_colour;
        for (int c = 0; c < ncase && !failed; c++) {
            const bench_case *bc = &cases[c];
            if (bc->wait == WAIT_DIFF && restate(u, net, &diff_cfg, pass, err)) {
                failed = 1;
                break;
            }
            for (int v = 0; v < AX_V_COUNT; v++)
                if (u->views[v]->reset) u->views[v]->reset(u);
            u->cur = bc->layer;
            u->view = bc->view;
            u->help = !strcmp(bc->label, "help");
            u->ch = 0;
            if (bc->setup) ax_ui_view_key(u, bc->setup);
            int late = 0;
            if (bc->wait == WAIT_SALIENCY) {
                ax_ui_saliency_open(u, -1);
                u->view = bc->view;
                late = settle(u, saliency_ready);
            } else if (bc->wait == WAIT_MAXACT) {
                late = settle(u, maxact_ready);
            } else if (bc->wait == WAIT_DIFF) {
                late = settle(u, diff_ready);
            }
            if (late && bc->wait == WAIT_MAXACT) {
                /* a large folder beside the image: the other views are still timed */
                untimed[c] = 1;
                continue;
            }
            if (late) {
                ax_fail(err, AX_ERR_UNSUPPORTED, "bench-ui: the %s view's background work did not finish in 120 s",
                        bc->label);
                failed = 1;
                break;
            }
            /* cold caches for the first frame, as after stepping onto the layer */
            ax_ui_cache_drop(u);
            double sum = 0, mx = 0, first = 0;
            for (int f = 0; f < frames; f++) {
                double t0 = ax_ui_now();
                if (f > 0 && bc->ka) ax_ui_view_key(u, f % 2 ? bc->ka : bc->kb);
                ax_ui_draw_all(u);
                clearok(curscr, TRUE);
                wnoutrefresh(stdscr);
                doupdate();
                double ms = (ax_ui_now() - t0) * 1e3;
                if (f == 0) first = ms;
                sum += ms;
                if (ms > mx) mx = ms;
            }
            res[pass][c][0] = first;
            res[pass][c][1] = sum / frames;
            res[pass][c][2] = mx;
            if (bc->wait == WAIT_DIFF && restate(u, net, cfg, pass, err)) failed = 1;
        }
    }
    endwin();
    delscreen(scr);
    fclose(out);
    fclose(in);
    if (failed) {
        ax_ui_state_free(u);
        ax_net_free(b);
        return 1;
    }

    printf("bench-ui: %s, %dx%d %s, %d frames per view, each frame redraws and repaints the whole screen\n",
           net->spec.name, cols, rows, term, frames);
    printf("  first frame includes the layer's analysis (caches cold); target: under 16 ms per key press\n");
    printf("  %-14s %-12s", "view", "layer");
    for (int pass = 0; pass < passes; pass++)
        printf(" | %-6s %6s %6s %6s", pass == 0 && u->can_colour ? "colour" : "mono", "first", "mean", "max");
    printf("   (ms)\n");
    for (int c = 0; c < ncase; c++) {
        printf("  %-14s %-12.12s", cases[c].label, cases[c].layer < 0 ? "input" : net->layers[cases[c].layer].spec.name);
        if (untimed[c]) {
            printf(" | not timed: its pass over the image's folder took over 120 s (--maxact-dir: a smaller one)\n");
            continue;
        }
        for (int pass = 0; pass < passes; pass++)
            printf(" | %-6s %6.2f %6.2f %6.2f", "", res[pass][c][0], res[pass][c][1], res[pass][c][2]);
        printf("\n");
    }
    fflush(stdout);
    ax_ui_state_free(u);
    ax_net_free(b);
    return 0;
}
