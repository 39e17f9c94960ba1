/* Entry point: picks the command from the table (src/cli/commands.c) and
 * maps its result to the exit status. The only place the program exits. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "alexscope/cpu.h"
#include "cli.h"

/* A first word that is no command: an existing file or anything that looks
 * like a path is an IMAGE for the workbench; a near miss of a command is a typo. */
static int typo(const char *word)
{
    struct stat st;
    if (word[0] == '-' || strchr(word, '/') || strchr(word, '.') || stat(word, &st) == 0) return 0;
    const ax_cli_command *near = ax_cli_command_nearest(word);
    if (!near) return 0;
    ax_cli_error(2, "'%s' is not a command; did you mean %s?", word, near->name);
    return 1;
}

int main(int argc, char **argv)
{
    ax_cpu_blas_tune(argc, argv);
    ax_cpu_blas_quiet();

    ax_cli_opts o = {0};
    int first = 1;
    const ax_cli_command *cmd = ax_cli_command_find("ui");
    if (argc > 1) {
        const char *word = argv[1];
        const ax_cli_command *c = ax_cli_command_find(word);
        if (c) {
            cmd = c;
            first = 2;
        } else if (!strcmp(word, "help")) {
            c = argc > 2 ? ax_cli_command_find(argv[2]) : NULL;
            if (argc > 2 && !c) {
                if (!typo(argv[2])) ax_cli_error(2, "'%s' is not a command (see alexscope --help)", argv[2]);
                return 2;
            }
            if (c) ax_cli_command_help(stdout, c);
            else ax_cli_usage(stdout, ax_cli_commands());
            return 0;
        } else if (typo(word)) {
            return 2;
        }
    }
    /* a mistyped ALEXSCOPE_CONV is said at once, not silently replaced */
    if (ax_conv_path_problem()) return ax_cli_error(2, "%s", ax_conv_path_problem());
    o.command = cmd->name;
    int rc = ax_cli_parse(&o, argc, argv, first);
    if (rc == 3) {
        if (first == 2) ax_cli_command_help(stdout, cmd);
        else ax_cli_usage(stdout, ax_cli_commands());
        return 0;
    }
    if (rc == 1) return 0;
    if (rc) return rc;
    if (o.ui_bench && strcmp(o.command, "bench") && strcmp(o.command, "diff"))
        return ax_cli_error(2, "--ui belongs to the bench and diff commands");
    if (!strcmp(cmd->name, "ui") && !o.image && !o.input_npy) {
        ax_cli_short_usage(stderr, ax_cli_commands());
        return 2;
    }
    /* output folders are checked before any load: a mistyped path is said
     * at once, not after seconds of work */
    const char *dirs[] = {o.save_dir, o.diff_save};
    for (int i = 0; i < 2; i++)
        if (dirs[i] && ax_cli_check_output_dir(dirs[i])) return 1;
    return cmd->run(&o);
}
