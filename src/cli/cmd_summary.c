/* `alexscope summary [--model M] [--format text|json]`: the model summary
 * table, totals and the ASCII net diagram, from the spec alone (no image, no
 * weights). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alexscope/teach.h"
#include "cli.h"

int ax_cmd_summary(const ax_cli_opts *o)
{
    if (o->image) return ax_cli_error(2, "summary reads the net spec only: it takes no IMAGE");
    int json = 0;
    if (o->format && !strcmp(o->format, "json")) json = 1;
    else if (o->format && strcmp(o->format, "text")) {
        return ax_cli_error(2, "--format %s: expected text or json", o->format);
    }
    ax_error err = {0};
    ax_spec spec;
    ax_summary *s = calloc(1, sizeof *s);
    if (!s) { fprintf(stderr, "alexscope: out of memory\n"); return 1; }
    ax_status st = ax_spec_load(&spec, o->model ? o->model : "caffe", &err);
    if (!st) st = ax_summary_build(s, &spec, &err);
    if (st) {
        ax_cli_fail(&err);
        free(s);
        return 1;
    }
    size_t (*parts[2])(const ax_summary *, char *, size_t) = {json ? ax_summary_json : ax_summary_table,
                                                              json ? NULL : ax_summary_diagram};
    int rc = 0;
    for (int p = 0; p < 2 && parts[p]; p++) {
        size_t need = parts[p](s, NULL, 0) + 1;
        char *text = malloc(need);
        if (!text) { fprintf(stderr, "alexscope: out of memory\n"); rc = 1; break; }
        parts[p](s, text, need);
        if (p) fputs("\n", stdout);
        fputs(text, stdout);
        free(text);
    }
    free(s);
    if (fflush(stdout)) rc = 1;
    return rc;
}
