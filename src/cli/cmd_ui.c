/* The default command: check the terminal and set everything up before curses
 * starts, so that any error is printed on a clean terminal, then hand the net
 * and what loading said to the workbench. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* What loading said as "note: ..." / "warning: ..." lines: a conversion made
 * correctly is a note, tensors left unused are a warning. Lines that carry
 * their kind already are kept as they are. */
static void load_messages(char *out, size_t size, const char *warn)
{
    size_t p = 0;
    out[0] = 0;
    while (*warn && p + 1 < size) {
        size_t len = strcspn(warn, "\n");
        int kind = !strncmp(warn, "note: ", 6) || !strncmp(warn, "warning: ", 9);
        const char *k = kind ? "" : strstr(warn, ": converted ") ? "note: " : "warning: ";
        p += (size_t)snprintf(out + p, size - p, "%s%s%.*s", p ? "\n" : "", k, (int)len, warn);
        warn += len + (warn[len] == '\n');
    }
}

int ax_cmd_ui(const ax_cli_opts *o)
{
    ax_error err = {0};
    if (ax_ui_terminal_check(&err)) {
        return ax_cli_fail(&err);
    }
    ax_cli_session se;
    if (ax_cli_open(&se, o, 1, &err)) {
        ax_cli_fail(&err);
        ax_cli_close(&se);
        return 1;
    }
    ax_ui_config cfg;
    ax_cli_ui_config(&cfg, o, &se);
    char messages[sizeof se.warn + 64];
    load_messages(messages, sizeof messages, se.warn);
    if (messages[0]) cfg.messages = messages;
    /* 0 on quit, 1 on an error, 128 + N after signal N (the shell's convention). */
    int rc = ax_ui_run(se.net, &cfg, &err);
    if (rc == 1) ax_cli_fail(&err);
    /* what loading said stays readable once the screen is gone */
    for (const char *m = messages; rc != 1 && *m;) {
        size_t len = strcspn(m, "\n");
        ax_cli_error(1, "%.*s", (int)len, m);
        m += len + (m[len] == '\n');
    }
    ax_cli_close(&se);
    return rc;
}
