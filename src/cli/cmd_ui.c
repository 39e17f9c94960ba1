/* The default command: check the terminal and set everything up before curses
 * starts, so that any error is printed on a clean terminal, then hand the net
 * and what loading said to the workbench. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* A conversion that was made correctly is a note; tensors left unused are a
 * warning. One line each, as the workbench lists them. */
static const char *load_kind(const char *warn)
{
    return strstr(warn, ": converted ") ? "note" : "warning";
}

int ax_cmd_ui(const ax_cli_opts *o)
{
    ax_error err = {0};
    if (ax_ui_terminal_check(&err)) {
        fprintf(stderr, "alexscope: %s\n", err.msg);
        return 1;
    }
    ax_cli_session se;
    if (ax_cli_open(&se, o, 1, &err)) {
        fprintf(stderr, "alexscope: %s\n", err.msg);
        ax_cli_close(&se);
        return 1;
    }
    ax_ui_config cfg;
    ax_cli_ui_config(&cfg, o, &se);
    char messages[sizeof se.warn + 16] = "";
    if (se.warn[0]) {
        snprintf(messages, sizeof messages, "%s: %s", load_kind(se.warn), se.warn);
        cfg.messages = messages;
    }
    /* 0 on quit, 1 on an error, 128 + N after signal N (the shell's convention). */
    int rc = ax_ui_run(se.net, &cfg, &err);
    if (rc == 1) fprintf(stderr, "alexscope: %s\n", err.msg);
    /* what loading said stays readable after the screen is gone */
    if (se.warn[0] && rc != 1) fprintf(stderr, "alexscope: %s: %s\n", load_kind(se.warn), se.warn);
    ax_cli_close(&se);
    return rc;
}
