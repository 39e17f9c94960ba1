/* What the three bench files share: cmd_bench.c dispatches to the backward
 * and device benchmarks; all three take their input and median from
 * bench_common.c, so none calls back into another. */
#ifndef AX_CLI_BENCH_H
#define AX_CLI_BENCH_H

#include "cli.h"

int ax_cmd_bench_backward(const ax_cli_opts *o);
/* bench --floor: the machine's limits and the forward pass against them */
int ax_cmd_bench_floor(const ax_cli_opts *o);
/* bench on a backend with memory of its own (src/cli/cmd_bench_device.c) */
int ax_cmd_bench_device(const ax_cli_opts *o);
/* bench's input: seeded values in the range a preprocessed image has,
 * written into the net's input and sent to its backend. */
ax_status ax_cli_seeded_input(ax_net *net, ax_error *err);
/* ax_cli_open without an input image; on failure prints the error, closes
 * the session and returns 1 (the command's exit status). */
int ax_bench_open(ax_cli_session *se, const ax_cli_opts *o);
/* The median of v[0..n) (sorts v). */
double ax_cli_median(double *v, int n);

#endif
