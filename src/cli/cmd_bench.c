/* `alexscope bench`: per-layer time and GFLOP/s, median of several runs after
 * a warm-up, and for every convolution the rate cblas_sgemm alone reaches on
 * the same GEMM shape (for every FC layer at batch 1, the layer through
 * cblas_sgemv), measured in the same run, as the peer to compare with. */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alexscope/cpu.h"
#include "bench.h"
#include "alexscope/clock.h"

/* The GEMMs a grouped convolution makes, timed alone: batch x groups calls of
 * (M = OC/g) x (N = OH*OW) x (K = C/g*KH*KW). Returns the median ms. */
static double time_sgemm_alone(const ax_window *g, int runs, float *a, float *b, float *c)
{
    int M = g->oc / g->groups, N = g->oh * g->ow, K = g->c / g->groups * g->kh * g->kw;
    double *t = malloc((size_t)(runs + 1) * sizeof *t);
    if (!t) return 0;
    for (int r = -1; r < runs; r++) {
        double t0 = ax_clock_ms();
        for (int i = 0; i < g->n * g->groups; i++)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0f, a, K, b, N, 0.0f, c, N);
        if (r >= 0) t[r] = ax_clock_ms() - t0;
    }
    double m = ax_cli_median(t, runs);
    free(t);
    return m;
}

static int bench_ui(const ax_cli_opts *o)
{
    ax_cli_session se;
    ax_error err = {0};
    if (ax_cli_open(&se, o, 1, &err)) {
        ax_cli_fail(&err);
        ax_cli_close(&se);
        return 1;
    }
    ax_ui_config cfg;
    ax_cli_ui_config(&cfg, o, &se);
    int rc = 0;
    static const int sizes[][2] = {{120, 40}, {80, 24}};
    for (int i = 0; i < 2 && !rc; i++)
        if (ax_ui_bench(se.net, &cfg, sizes[i][0], sizes[i][1], &err)) {
            ax_cli_fail(&err);
            rc = 1;
        }
    ax_cli_close(&se);
    return rc;
}

int ax_cmd_bench(const ax_cli_opts *o)
{
    if (o->ui_bench) return bench_ui(o);
    if (o->backward && o->floor) {
        fprintf(stderr, "alexscope: bench --floor times the forward pass; it does not go with --backward\n");
        return 2;
    }
    if (o->backward) return ax_cmd_bench_backward(o);
    if (o->image || o->input_npy) {
        fprintf(stderr, "alexscope: bench runs on seeded random input; it takes no IMAGE (use dump)\n");
        return 2;
    }
    if (o->floor) return ax_cmd_bench_floor(o);
    ax_error be_err;
    const ax_backend *be = ax_backend_find(o->device, &be_err);
    if (be && !be->host_memory) return ax_cmd_bench_device(o);
    ax_cli_session se;
    ax_error err = {0};
    if (ax_bench_open(&se, o)) return 1;
    ax_net *net = se.net;
    if (ax_cli_seeded_input(net, &err)) {
        ax_cli_fail(&err);
        ax_cli_close(&se);
        return 1;
    }

    int L = net->nlayers, R = o->runs;
    double *t = calloc((size_t)L * R, sizeof *t), *tot = calloc((size_t)R, sizeof *tot);
    double *sg = calloc((size_t)L, sizeof *sg);
    if (!t || !tot || !sg) {
        ax_cli_error(1, "out of memory");
        free(t); free(tot); free(sg);
        ax_cli_close(&se);
        return 1;
    }

    char desc[256];
    net->backend->describe(net, desc, sizeof desc);
    printf("model %s, batch %d, %s\n", net->spec.name, net->batch, desc);
    ax_conv_describe(desc, sizeof desc);
    printf("conv: %s\n", desc);
    printf("weights %s; %d warm-up run%s, median of %d\n", ax_cli_weights_label(net), 2, "s", R);
    fflush(stdout);
    int rc = 0;
    int tty = isatty(STDERR_FILENO);
    for (int r = -2; r < R && !rc; r++) {
        if (tty) fprintf(stderr, "\r%s %d of %d ...", r < 0 ? "warm-up" : "run", r < 0 ? r + 3 : r + 1, r < 0 ? 2 : R);
        ax_net_reset(net);
        double t0 = ax_clock_ms();
        if (ax_net_forward(net, &err)) { ax_cli_fail(&err); rc = 1; break; }
        if (r < 0) continue;
        tot[r] = ax_clock_ms() - t0;
        for (int i = 0; i < L; i++) t[(size_t)i * R + r] = net->layers[i].ms;
    }
    if (tty) fprintf(stderr, "\r\033[K");
    if (!rc) {
        /* The peer: the same GEMM shapes through cblas_sgemm alone. */
        size_t big = 0;
        for (int i = 0; i < L; i++) {
            const ax_window *g = &net->layers[i].win;
            if (net->layers[i].spec.type != AX_L_CONV) continue;
            size_t M = g->oc / g->groups, N = (size_t)g->oh * g->ow, K = (size_t)g->c / g->groups * g->kh * g->kw;
            size_t need = M * K > K * N ? M * K : K * N;
            if (M * N > need) need = M * N;
            if (need > big) big = need;
        }
        float *a = calloc(big + 1, sizeof *a), *b = calloc(big + 1, sizeof *b), *c = calloc(big + 1, sizeof *c);
        for (size_t i = 0; a && b && i < big; i++) { a[i] = 0.001f * (float)(i % 97); b[i] = 0.002f * (float)(i % 89); }
        /* The peer gets OpenBLAS's own threading over the whole GEMM (the
         * engine runs OpenBLAS single-threaded inside its own parts). */
        ax_cpu_blas_threads(ax_cpu_threads());
        for (int i = 0; i < L && a && b && c; i++)
            if (net->layers[i].spec.type == AX_L_CONV) sg[i] = time_sgemm_alone(&net->layers[i].win, R, a, b, c);
        ax_cpu_blas_threads(1);
        free(a); free(b); free(c);
        /* At batch 1 the FC layers run our own GEMV; the peer is the same
         * layer through cblas_sgemv (split over the pool the same way),
         * the FC layers in turn each run, as in the forward pass, so that
         * none finds its weights left in cache by its own last run. */
        float *fo = NULL;
        if (net->batch == 1) {
            size_t most = 0;
            for (int i = 0; i < L; i++)
                if (net->layers[i].spec.type == AX_L_FC && ax_tensor_numel(&net->layers[i].out) > most)
                    most = ax_tensor_numel(&net->layers[i].out);
            if (most) fo = malloc(most * sizeof *fo);
        }
        double *ft = fo ? calloc((size_t)L * R, sizeof *ft) : NULL;
        for (int r = 0; r < R && ft; r++)
            for (int i = 0; i < L; i++) {
                const ax_layer *ly = &net->layers[i];
                if (ly->spec.type != AX_L_FC) continue;
                const ax_tensor *x = ax_net_layer_input(net, i);
                int in_f = (int)(ax_tensor_numel(x) / (size_t)net->batch);
                double t0 = ax_clock_ms();
                ax_fc_blas(fo, x->data, ly->weight.data, ly->bias.ndim ? ly->bias.data : NULL, 1, in_f,
                           (int)ax_tensor_numel(&ly->out));
                ft[(size_t)i * R + r] = ax_clock_ms() - t0;
            }
        for (int i = 0; i < L && ft; i++)
            if (net->layers[i].spec.type == AX_L_FC) sg[i] = ax_cli_median(&ft[(size_t)i * R], R);
        free(ft);
        free(fo);

        printf("\n%3s  %-14s %-8s %-20s %10s %10s %14s %7s\n", "#", "layer", "type", "shape", "ms", "GFLOP/s",
               "BLAS GFLOP/s", "ratio");
        double flops_all = 0;
        for (int i = 0; i < L; i++) {
            const ax_layer *ly = &net->layers[i];
            double ms = ax_cli_median(&t[(size_t)i * R], R);
            double gf = ly->flops * net->batch / (ms * 1e6);
            flops_all += ly->flops * net->batch;
            char shape[64];
            ax_tensor_shape_str(&ly->out, shape, sizeof shape);
            printf("%3d  %-14s %-8s %-20s %10.3f %10.1f", i, ly->spec.name, ax_layer_type_name(ly->spec.type), shape,
                   ms, gf);
            if (sg[i] > 0) {
                double sgf = ly->flops * net->batch / (sg[i] * 1e6);
                printf(" %14.1f %6.0f%%", sgf, 100.0 * gf / sgf);
            }
            printf("\n");
        }
        double tm = ax_cli_median(tot, R);
        printf("%3s  %-14s %-8s %-20s %10.3f %10.1f\n", "", "total", "", "", tm, flops_all / (tm * 1e6));
        printf("\ntotal %.3f ms per batch of %d (%.3f ms per image)\n", tm, net->batch, tm / net->batch);
    }
    free(t); free(tot); free(sg);
    ax_cli_close(&se);
    return rc;
}
