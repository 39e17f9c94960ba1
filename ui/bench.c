/* `alexscope bench --ui`: the redraw time of every view on its most demanding
 * layer, drawn into an xterm-256color screen written to /dev/null. Uses the
 * same state and views as the workbench; computes the layers first. */
#include "loop.h"

#include <errno.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *label;
    int view, layer;
    int setup;        /* a key sent to the view before timing (0: none) */
    int ka, kb;       /* keys sent on odd and even frames (0: none) */
} bench_case;

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
        grp = find_type(net, AX_L_CONV, 1), last = net->nlayers - 1;
    if (conv < 0) conv = 0;
    const bench_case cases[] = {
        { "tensor", AX_V_TENSOR, conv, 0, 'h', 'h' },
        { "channels", AX_V_CHANNELS, conv, 0, KEY_DOWN, KEY_UP },
        { "heatmap", AX_V_HEATMAP, conv, 0, ']', '[' },
        { "heatmap tiles", AX_V_HEATMAP, conv, 't', KEY_RIGHT, KEY_LEFT },
        { "lrn", AX_V_LRN, lrn >= 0 ? lrn : conv, 0, ']', '[' },
        { "groups", AX_V_GROUPS, grp >= 0 ? grp : conv, 0, KEY_DOWN, KEY_UP },
        { "top-k", AX_V_TOPK, last, 0, '+', '-' },
        { "filters", AX_V_FILTERS, conv, 0, KEY_DOWN, KEY_UP },
        { "input", AX_V_INPUT, -1, 0, 0, 0 },
        { "messages", AX_V_MESSAGES, conv, 0, KEY_DOWN, KEY_UP },
        { "summary", AX_V_SUMMARY, conv, 0, KEY_DOWN, KEY_UP },
        { "explain", AX_V_HEATMAP, conv, 'e', KEY_DOWN, KEY_UP },   /* e opens it on the heatmap's cell */
        { "help", AX_V_TENSOR, conv, 0, 0, 0 },
    };
    int ncase = (int)(sizeof cases / sizeof cases[0]);
    double res[2][16][3];
    int passes = u->can_colour ? 2 : 1;
    for (int pass = 0; pass < passes; pass++) {
        u->colour = pass == 0 && u->can_colour;
        for (int c = 0; c < ncase; c++) {
            const bench_case *bc = &cases[c];
            for (int v = 0; v < AX_V_COUNT; v++)
                if (u->views[v]->reset) u->views[v]->reset(u);
            u->cur = bc->layer;
            u->view = bc->view;
            u->help = !strcmp(bc->label, "help");
            u->ch = 0;
            if (bc->setup) ax_ui_view_key(u, bc->setup);
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
    ax_ui_state_free(u);
    return 0;
}
