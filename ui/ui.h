/* The ncurses workbench: the two entry points the program calls. The UI only
 * draws; layers are computed through ax_net_step, analysis comes from src/.
 * Curses is always ended before these return, also on signals. */
#ifndef ALEXSCOPE_UI_H
#define ALEXSCOPE_UI_H

#include "alexscope/compare.h"
#include "alexscope/image.h"
#include "alexscope/net.h"

typedef struct {
    const char *image_path;   /* NULL when the input came from --input X.npy */
    const char *input_path;   /* that .npy (NULL for an image) */
    const char *model_name;
    const char *device_name;
    const ax_labels *labels;  /* NULL or empty: classes shown as "class N" */
    int topk;                 /* rows of the Top-k view (0: 5) */
    int mono;                 /* 1: no colours (NO_COLOR set or --mono) */
    int bench_frames;         /* ax_ui_bench: frames per view (0: 40) */
    int tour;                 /* 1: the guided tour starts with the workbench (--tour) */
    const char *maxact_dir;   /* the Top images view's folder (--maxact-dir; NULL: the image's, or samples) */
    const char *messages;     /* what loading said, one "note: ..." or "warning: ..."
                                 a line (NULL: nothing); shown in the workbench */
    /* Diff mode from the start (alexscope diff --ui): side B as a net whose
     * input is set (the workbench computes it) or a folder of reference
     * activations; the caller frees them after ax_ui_run. */
    ax_net *diff_net;
    const ax_refdir *diff_ref;
    const char *diff_map;     /* --map of the reference folder, or NULL */
    const char *diff_label;   /* how side B is named on screen */
    ax_tolerance diff_tol;    /* all zero: alexscope's defaults */
    /* W: opens side B from a weights file or a spec on another thread (NULL:
     * W says it is not offered). *handle goes to side_close. */
    ax_status (*side_open)(void *ctx, const char *what, ax_net **net, void **handle, char *label,
                           size_t label_size, ax_error *err);
    void (*side_close)(void *handle);
    void *side_ctx;
} ax_ui_config;

/* 0 when stdin and stdout are a terminal the workbench can draw on (its
 * terminfo entry moves the cursor), else 1 with err saying why and pointing
 * to `alexscope dump`. Reads terminfo only; the screen is left untouched. */
int ax_ui_terminal_check(ax_error *err);

/* Runs the workbench on a net whose input is set (nothing needs to be
 * computed). Returns 0 when the user quits, 128 + signal number after SIGINT,
 * SIGTERM or SIGHUP (err says which; Ctrl-C read as a key counts as SIGINT),
 * 1 with err filled when the terminal cannot be used. */
int ax_ui_run(ax_net *net, const ax_ui_config *cfg, ax_error *err);

/* Redraw timing: computes every layer (if not done), then renders each view on
 * its most demanding layer into a cols x rows xterm-256color screen written to
 * /dev/null, repainting the whole screen every frame, and prints per-view
 * first/mean/max milliseconds to stdout. Returns 0, or 1 with err filled. */
int ax_ui_bench(ax_net *net, const ax_ui_config *cfg, int cols, int rows, ax_error *err);

#endif
