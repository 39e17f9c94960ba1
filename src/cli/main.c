/* Entry point: picks the command and maps its result to the exit status.
 * The only place the program exits. */
#include <stdio.h>
#include <string.h>

#include "alexscope/cpu.h"
#include "cli.h"

int main(int argc, char **argv)
{
    ax_cpu_blas_tune(argc, argv);

    ax_cli_opts o = {0};
    int first = 1;
    o.command = "ui";
    if (argc > 1) {
        const char *word = argv[1];
        if (!strcmp(word, "dump") || !strcmp(word, "bench") || !strcmp(word, "ui") || !strcmp(word, "diff") ||
            !strcmp(word, "grad") || !strcmp(word, "train") ||
            !strcmp(word, "inspect") || !strcmp(word, "convert") || !strcmp(word, "summary")) {
            o.command = word;
            first = 2;
        } else if (!strcmp(word, "help")) {
            ax_cli_usage(stdout);
            return 0;
        }
    }
    int rc = ax_cli_parse(&o, argc, argv, first);
    if (rc == 1) return 0;
    if (rc) return rc;
    if (o.ui_bench && strcmp(o.command, "bench") && strcmp(o.command, "diff")) {
        return ax_cli_error(2, "--ui belongs to the bench and diff commands");
    }

    if (!strcmp(o.command, "dump")) return ax_cmd_dump(&o);
    if (!strcmp(o.command, "bench")) return ax_cmd_bench(&o);
    if (!strcmp(o.command, "diff")) return ax_cmd_diff(&o);
    if (!strcmp(o.command, "grad")) return ax_cmd_grad(&o);
    if (!strcmp(o.command, "train")) return ax_cmd_train(&o);
    if (!strcmp(o.command, "inspect")) return ax_cmd_inspect(&o);
    if (!strcmp(o.command, "convert")) return ax_cmd_convert(&o);
    if (!strcmp(o.command, "summary")) return ax_cmd_summary(&o);
    if (!o.image && !o.input_npy) {
        ax_cli_usage(stderr);
        return 2;
    }
    return ax_cmd_ui(&o);
}
