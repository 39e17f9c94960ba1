/* The default command: set everything up before curses starts, so that any
 * error is printed on a clean terminal, then hand the net to the workbench. */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

int ax_cmd_ui(const ax_cli_opts *o)
{
    ax_cli_session se;
    ax_error err = {0};
    if (ax_cli_open(&se, o, 1, &err)) {
        fprintf(stderr, "alexscope: %s\n", err.msg);
        ax_cli_close(&se);
        return 1;
    }
    if (se.warn[0]) fprintf(stderr, "alexscope: warning: %s\n", se.warn);
    ax_ui_config cfg;
    ax_cli_ui_config(&cfg, o, &se);
    /* 0 on quit, 1 on an error, 128 + N after signal N (the shell's convention). */
    int rc = ax_ui_run(se.net, &cfg, &err);
    if (rc == 1) fprintf(stderr, "alexscope: %s\n", err.msg);
    ax_cli_close(&se);
    return rc;
}
