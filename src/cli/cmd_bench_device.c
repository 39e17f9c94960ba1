/* `alexscope bench --device cuda` (any backend computing in its own memory):
 * per-layer kernel time from the device's own timer, how each convolution
 * runs and, measured in the same run, the library's fastest way to do that
 * convolution alone; the copy of each output to the host; a workbench step
 * (one layer plus the host copy a view reads); then images per second at
 * batch 1, 32 and 256, copies included. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "alexscope/clock.h"

static void progress(int tty, const char *what, int k, int n)
{
    if (tty) fprintf(stderr, "\r\033[K%s %d of %d ...", what, k, n);
}

/* One timed forward pass as a user of the net sees it: the input sent, every
 * layer run, the last layer's output brought back. */
static ax_status timed_pass(ax_net *net, const float *x, double *ms, ax_error *err)
{
    double t0 = ax_clock_ms();
    ax_status st = ax_net_set_input(net, x, net->input.shape[0], net->input.shape[1], net->input.shape[2],
                                    net->input.shape[3], err);
    if (!st) st = ax_net_forward(net, err);
    if (!st) st = ax_net_fetch(net, net->nlayers - 1, err);
    *ms = ax_clock_ms() - t0;
    return st;
}

/* Images per second at one batch size, on a net of its own. */
static void throughput(const ax_net *like, int batch, int runs, int tty)
{
    ax_error err;
    ax_net *net = NULL;
    if (tty) fprintf(stderr, "\r\033[Kbatch %d: creating the net ...", batch);
    if (ax_net_create_with(&net, &like->spec, batch, like->backend, &like->options, &err)) {
        if (tty) fprintf(stderr, "\r\033[K");
        printf("batch %4d: not run: %s\n", batch, err.msg);
        return;
    }
    size_t n = ax_tensor_numel(&net->input);
    float *x = malloc(n * sizeof *x);
    double *t = calloc((size_t)runs, sizeof *t), *k = calloc((size_t)runs, sizeof *k);
    double *up = calloc((size_t)runs, sizeof *up), *down = calloc((size_t)runs, sizeof *down);
    ax_status st = x && t && k && up && down ? ax_cli_seeded_input(net, &err) : ax_fail(&err, AX_ERR_NOMEM, "out of memory");
    if (!st) memcpy(x, net->input.data, n * sizeof *x);
    for (int r = -2; r < runs && !st; r++) {
        progress(tty, r < 0 ? "warm-up" : "run", r < 0 ? r + 3 : r + 1, r < 0 ? 2 : runs);
        double ms;
        st = timed_pass(net, x, &ms, &err);
        if (st || r < 0) continue;
        t[r] = ms;
        double kern = 0;
        for (int i = 0; i < net->nlayers; i++) kern += net->layers[i].ms;
        k[r] = kern;
        up[r] = net->upload_ms;
        down[r] = net->layers[net->nlayers - 1].xfer_ms;
    }
    if (tty) fprintf(stderr, "\r\033[K");
    if (st) {
        printf("batch %4d: failed: %s\n", batch, err.msg);
    } else {
        double tm = ax_cli_median(t, runs);
        printf("batch %4d: %10.1f images/s   %9.3f ms per batch (kernels %.3f ms, input copy %.3f ms, output copy "
               "%.3f ms)\n", batch, batch / (tm * 1e-3), tm, ax_cli_median(k, runs), ax_cli_median(up, runs), ax_cli_median(down, runs));
    }
    fflush(stdout);
    free(x); free(t); free(k); free(up); free(down);
    ax_net_free(net);
}

int ax_cmd_bench_device(const ax_cli_opts *o)
{
    ax_cli_session se;
    ax_error err = {0};
    if (ax_bench_open(&se, o)) return 1;
    ax_net *net = se.net;
    const ax_backend *be = net->backend;
    int L = net->nlayers, R = o->runs, tty = isatty(STDERR_FILENO), rc = 0;
    double *t = calloc((size_t)L * R, sizeof *t), *step = calloc((size_t)L, sizeof *step);
    double *peer = calloc((size_t)L, sizeof *peer), *d2h = calloc((size_t)L, sizeof *d2h);
    char (*peer_name)[64] = calloc((size_t)L, sizeof *peer_name);
    if (!t || !step || !peer || !d2h || !peer_name || ax_cli_seeded_input(net, &err)) {
        ax_cli_error(1, "%s", err.msg[0] ? err.msg : "out of memory");
        rc = 1;
        goto done;
    }
    char desc[400];
    be->describe(net, desc, sizeof desc);
    printf("model %s, batch %d, %s\n", net->spec.name, net->batch, desc);
    printf("weights %s; 2 warm-up runs, median of %d; times from the device's own clock\n",
           ax_cli_weights_label(net), R);
    fflush(stdout);

    for (int r = -2; r < R && !rc; r++) {
        progress(tty, r < 0 ? "warm-up" : "run", r < 0 ? r + 3 : r + 1, r < 0 ? 2 : R);
        ax_net_reset(net);
        if (ax_net_forward(net, &err)) { rc = 1; break; }
        for (int i = 0; r >= 0 && i < L; i++) t[(size_t)i * R + r] = net->layers[i].ms;
    }
    /* A workbench step: layer i alone, then the host copy its view reads. */
    for (int i = 0; i < L && !rc; i++) {
        progress(tty, "workbench step", i + 1, L);
        double best = 1e30;
        if (i > 0 && ax_net_run_to(net, i - 1, &err)) { rc = 1; break; }
        for (int r = 0; r < 3 && !rc; r++) {
            /* stepping a computed layer again runs it again */
            double t0 = ax_clock_ms();
            if (ax_net_step(net, i, &err)) { rc = 1; break; }
            if (!ax_net_output(net, i)) { rc = 1; ax_net_fetch(net, i, &err); break; }
            double ms = ax_clock_ms() - t0;
            if (ms < best) best = ms;
        }
        step[i] = best;
    }
    for (int i = 0; i < L && !rc; i++) {
        double h2d = 0, dd = 0;
        if (be->copy_ms && !be->copy_ms(net, i, &h2d, &dd)) d2h[i] = dd;
        if (be->conv_peer_ms && net->layers[i].spec.type == AX_L_CONV) {
            progress(tty, "peer of layer", i + 1, L);
            peer[i] = be->conv_peer_ms(net, i, R, peer_name[i], sizeof peer_name[i]);
        }
    }
    ax_net_reset(net);
    if (tty) fprintf(stderr, "\r\033[K");
    if (rc) {
        ax_cli_fail(&err);
        goto done;
    }

    printf("\n%3s  %-12s %-8s %-18s %9s %9s  %-22s %9s %6s %9s %9s\n", "#", "layer", "type", "shape", "kernel ms",
           "GFLOP/s", "method", "peer ms", "ratio", "copy ms", "step ms");
    double kern_all = 0, flops_all = 0;
    for (int i = 0; i < L; i++) {
        const ax_layer *ly = &net->layers[i];
        double ms = ax_cli_median(&t[(size_t)i * R], R);
        kern_all += ms;
        flops_all += ly->flops * net->batch;
        char shape[64];
        ax_tensor_shape_str(&ly->out, shape, sizeof shape);
        printf("%3d  %-12.12s %-8s %-18s %9.4f %9.1f  %-22.22s", i, ly->spec.name, ax_layer_type_name(ly->spec.type),
               shape, ms, ms > 0 ? ly->flops * net->batch / (ms * 1e6) : 0.0,
               be->layer_method ? be->layer_method(net, i) : "");
        if (peer[i] > 0) printf(" %9.4f %5.2fx", peer[i], ms / peer[i]);
        else printf(" %9s %6s", "", "");
        printf(" %9.4f %9.4f\n", d2h[i], step[i]);
    }
    printf("%3s  %-12s %-8s %-18s %9.4f %9.1f\n", "", "total", "", "", kern_all,
           kern_all > 0 ? flops_all / (kern_all * 1e6) : 0.0);
    for (int i = 0; i < L; i++)
        if (peer_name[i][0]) {
            printf("\npeer: %s, on the layer's shape and buffers; ratio = kernel / peer\n", peer_name[i]);
            break;
        }
    double worst = 0;
    int worst_i = 0;
    for (int i = 0; i < L; i++)
        if (step[i] > worst) { worst = step[i]; worst_i = i; }
    printf("copy ms: the layer's output to the host; step ms: a workbench step (the layer run, then that copy), "
           "best of 3\n");
    printf("slowest workbench step: %s, %.3f ms\n\n", net->layers[worst_i].spec.name, worst);
    fflush(stdout);

    static const int sizes[] = {1, 32, 256};
    for (int b = 0; b < 3; b++) throughput(net, sizes[b], R, tty);
done:
    free(t); free(step); free(peer); free(d2h); free(peer_name);
    ax_cli_close(&se);
    return rc;
}
