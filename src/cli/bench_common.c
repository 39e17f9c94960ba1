/* The helpers every bench file uses (seeded input, median); it calls no
 * benchmark itself. */
#include <stdlib.h>

#include "bench.h"

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

ax_status ax_cli_seeded_input(ax_net *net, ax_error *err)
{
    size_t n = ax_tensor_numel(&net->input);
    uint64_t s = 42;
    for (size_t i = 0; i < n; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        net->input.data[i] = (float)((s >> 40) / 16777216.0 * 2.0 - 1.0);
    }
    return ax_net_output_changed(net, -1, err);   /* the backend gets the host input */
}

double ax_cli_median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

int ax_bench_open(ax_cli_session *se, const ax_cli_opts *o)
{
    ax_error err = {0};
    if (!ax_cli_open(se, o, 0, &err)) return 0;
    ax_cli_fail(&err);
    ax_cli_close(se);
    return 1;
}
