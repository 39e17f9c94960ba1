/* Command-line front end: option parsing shared by every command, and the
 * commands themselves. The only place (with main) that prints or exits. */
#ifndef AX_CLI_H
#define AX_CLI_H

#include <stdio.h>

#include "config.h"
#include "alexscope/image.h"
#include "alexscope/net.h"
#include "../../ui/ui.h"

typedef struct {
    const char *command;      /* "ui", "dump", "bench" */
    const char *model;        /* name or .net path */
    const char *weights;
    const char *device;
    const char *image;
    const char *input_npy;
    const char *save_dir;
    int lenient;
    int threads;              /* 0: all cores */
    int topk;
    int batch;                /* bench only; dump takes the batch of its input */
    int runs;                 /* bench repetitions */
    int mono;
    int ui_bench;             /* bench --ui */
} ax_cli_opts;

/* Parses argv after the command word. Prints the error and returns 2 on bad
 * usage, 1 when --help was printed, 0 otherwise. */
int ax_cli_parse(ax_cli_opts *o, int argc, char **argv, int first);

/* Spec + backend + net + weights + labels (+ input, when one is given). */
typedef struct {
    ax_spec spec;
    ax_net *net;
    ax_labels labels;
    char warn[600];
} ax_cli_session;

ax_status ax_cli_open(ax_cli_session *s, const ax_cli_opts *o, int need_input, ax_error *err);
void ax_cli_close(ax_cli_session *s);

/* The workbench's settings from the options and an open session. */
void ax_cli_ui_config(ax_ui_config *cfg, const ax_cli_opts *o, const ax_cli_session *s);

/* "bvlc AlexNet ..." / weights path or "UNTRAINED seeded weights". */
const char *ax_cli_weights_label(const ax_net *net);

void ax_cli_usage(FILE *f);

int ax_cmd_dump(const ax_cli_opts *o);
int ax_cmd_bench(const ax_cli_opts *o);
int ax_cmd_ui(const ax_cli_opts *o);

#endif
