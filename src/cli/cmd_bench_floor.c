/* `alexscope bench --floor`: how far the forward pass is from what this
 * machine allows. Measures the read bandwidth and the fp32 FMA peak on the
 * --threads threads, takes each conv and FC layer's floor as the longer of
 * its FLOPs at peak and its weights streamed at that bandwidth, and sets the
 * forward pass's best time beside it, per layer, per kind and in total. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "alexscope/clock.h"
#include "alexscope/cpu.h"
#include "bench.h"

/* Eight times the largest last-level cache this is likely to meet, and more
 * than caffe's FC weights (234 MB), so that nothing is served from cache. */
#define STREAM_BYTES ((size_t)512 << 20)

typedef struct {
    const char *name;
    int layers;
    double work, floor_ms, best_ms;
} kind_row;

static double floor_of(const ax_layer *ly, int batch, double gflops, double gbps, int *memory_bound)
{
    double compute = ly->flops * batch / (gflops * 1e6);              /* ms */
    double stream = (double)ly->params * sizeof(float) / (gbps * 1e6); /* ms */
    *memory_bound = stream > compute;
    return stream > compute ? stream : compute;
}

int ax_cmd_bench_floor(const ax_cli_opts *o)
{
    ax_cli_session se;
    ax_error err = {0};
    if (ax_bench_open(&se, o)) return 1;
    ax_net *net = se.net;
    if (!ax_net_on_host(net)) {
        ax_cli_close(&se);
        return ax_cli_error(2, "bench --floor measures this machine's CPU: it runs with --device cpu only");
    }
    if (ax_cli_seeded_input(net, &err)) {
        ax_cli_fail(&err);
        ax_cli_close(&se);
        return 1;
    }
    int L = net->nlayers, R = o->runs, T = ax_cpu_threads();
    double *best = malloc((size_t)L * sizeof *best);
    if (!best) {
        ax_cli_close(&se);
        return ax_cli_error(1, "out of memory");
    }
    for (int i = 0; i < L; i++) best[i] = 1e300;
    double best_total = 1e300;

    char desc[256];
    net->backend->describe(net, desc, sizeof desc);
    printf("model %s, batch %d, %s\n", net->spec.name, net->batch, desc);
    fflush(stdout);
    int tty = isatty(STDERR_FILENO);
    /* The machine is measured between the forward passes, each part once a
     * round and the best kept, so that a busy moment on a shared machine
     * weighs on the floor and the forward pass alike. */
    unsigned char *buf = malloc(STREAM_BYTES);
    if (!buf) {
        free(best);
        ax_cli_close(&se);
        return ax_cli_error(1, "bench --floor: out of memory for the %zu MiB read buffer", STREAM_BYTES >> 20);
    }
    for (size_t i = 0; i < STREAM_BYTES; i++) buf[i] = (unsigned char)(i * 131u >> 3);
    double gbps = 0, peak1 = 0, peak = 0;
    const char *isa = "";
    int rc = 0;
    for (int r = -2; r < R && !rc; r++) {
        if (tty) fprintf(stderr, "\r\033[K%s %d of %d ...", r < 0 ? "warm-up" : "run", r < 0 ? r + 3 : r + 1, r < 0 ? 2 : R);
        double g = ax_cpu_read_gbps(buf, STREAM_BYTES, T);
        double p1 = ax_cpu_fma_gflops(1, &isa);
        double pt = T > 1 ? ax_cpu_fma_gflops(T, &isa) : p1;
        ax_net_reset(net);
        double t0 = ax_clock_ms();
        if (ax_net_forward(net, &err)) { ax_cli_fail(&err); rc = 1; break; }
        if (r < 0) continue;
        double tm = ax_clock_ms() - t0;
        if (g > gbps) gbps = g;
        if (p1 > peak1) peak1 = p1;
        if (pt > peak) peak = pt;
        if (tm < best_total) best_total = tm;
        for (int i = 0; i < L; i++)
            if (net->layers[i].ms < best[i]) best[i] = net->layers[i].ms;
    }
    free(buf);
    if (tty) fprintf(stderr, "\r\033[K");
    if (rc) {
        free(best);
        ax_cli_close(&se);
        return rc;
    }

    printf("machine, %d thread%s, best of %d rounds after 2 warm-ups, interleaved with the forward passes:\n", T,
           T == 1 ? "" : "s", R);
    printf("  read bandwidth   %7.1f GB/s     (%zu MiB streamed on %d thread%s)\n", gbps, STREAM_BYTES >> 20, T,
           T == 1 ? "" : "s");
    printf("  fp32 FMA peak    %7.1f GFLOP/s  per core, %.1f GFLOP/s on %d thread%s at once (%s)\n", peak1, peak, T,
           T == 1 ? "" : "s", isa);
    printf("floor of a layer: the longer of its FLOPs at %.1f GFLOP/s and its weights read once at %.1f GB/s\n", peak,
           gbps);

    kind_row kinds[3] = {{"conv", 0, 0, 0, 0}, {"fc", 0, 0, 0, 0}, {"other", 0, 0, 0, 0}};
    printf("\n%3s  %-14s %-8s %18s %10s %10s %7s\n", "#", "layer", "type", "bound by", "floor ms", "best ms", "ratio");
    for (int i = 0; i < L; i++) {
        const ax_layer *ly = &net->layers[i];
        int t = ly->spec.type;
        if (t != AX_L_CONV && t != AX_L_FC) {
            kinds[2].layers++;
            kinds[2].best_ms += best[i];
            kinds[2].work += (double)ax_tensor_numel(&ly->out) * sizeof(float);
            continue;
        }
        int mem;
        double f = floor_of(ly, net->batch, peak, gbps, &mem);
        kind_row *k = &kinds[t == AX_L_CONV ? 0 : 1];
        k->layers++;
        k->floor_ms += f;
        k->best_ms += best[i];
        k->work += mem ? (double)ly->params * sizeof(float) : ly->flops * net->batch;
        char bound[32];
        if (mem) snprintf(bound, sizeof bound, "%.1f MB read", (double)ly->params * sizeof(float) / 1e6);
        else snprintf(bound, sizeof bound, "%.3f GFLOP", ly->flops * net->batch / 1e9);
        printf("%3d  %-14s %-8s %18s %10.3f %10.3f %6.2fx\n", i, ly->spec.name, ax_layer_type_name(t), bound, f,
               best[i], best[i] / f);
    }
    printf("\n%-8s %6s %10s %10s %7s\n", "kind", "layers", "floor ms", "best ms", "ratio");
    double floor_total = 0;
    for (int k = 0; k < 2; k++) {
        if (!kinds[k].layers) continue;
        floor_total += kinds[k].floor_ms;
        printf("%-8s %6d %10.3f %10.3f %6.2fx\n", kinds[k].name, kinds[k].layers, kinds[k].floor_ms, kinds[k].best_ms,
               kinds[k].best_ms / kinds[k].floor_ms);
    }
    /* The other layers' tensors (at most a few MB at batch 1) stay in cache,
     * so DRAM bandwidth says nothing of them: they count 0 in the floor. */
    printf("%-8s %6d %10s %10.3f %7s   (%.1f MB of outputs, cache-resident: not in the floor)\n", kinds[2].name,
           kinds[2].layers, "-", kinds[2].best_ms, "", kinds[2].work / 1e6);
    if (floor_total > 0) {
        printf("%-8s %6s %10.3f %10.3f %6.2fx\n", "forward", "", floor_total, best_total, best_total / floor_total);
        printf("\nforward %.3f ms per batch of %d against a floor of %.3f ms: %.2fx\n", best_total, net->batch,
               floor_total, best_total / floor_total);
    } else {
        printf("\nforward %.3f ms per batch of %d; the %s model has no conv or fc layer to set a floor\n", best_total,
               net->batch, net->spec.name);
    }
    free(best);
    ax_cli_close(&se);
    return 0;
}
