/* `alexscope bench --backward`: the classic TensorFlow AlexNet benchmark.
 * Per-layer forward and backward times, then `forward` and
 * `forward-backward` in ms per batch (mean +- sd over the runs). The loss is
 * softmax cross-entropy on seeded labels for a classifier, TF's l2 loss
 * (sum(last^2)/2) otherwise; every weight and bias gets its gradient. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alexscope/grad.h"
#include "alexscope/cpu.h"
#include "bench.h"
#include "alexscope/clock.h"

static void mean_sd(const double *v, int n, double *mean, double *sd)
{
    double s = 0, q = 0;
    for (int i = 0; i < n; i++) s += v[i];
    *mean = n ? s / n : 0;
    for (int i = 0; i < n; i++) q += (v[i] - *mean) * (v[i] - *mean);
    *sd = n > 1 ? sqrt(q / (n - 1)) : 0;
}

/* One training step's work without the update: forward (dropout on), the
 * loss's gradient, backward to every weight. */
static ax_status fwd_bwd(ax_grad *g, int *labels, float *dlogit_prob, int classifier, ax_error *err)
{
    ax_net *net = g->net;
    ax_status st = ax_grad_forward(g, 1, 0x5eed, err);
    if (st) return st;
    int top;
    if (classifier) {
        top = ax_grad_logit_layer(net);
        const ax_tensor *logits = ax_net_output(net, top);
        if (!logits) return ax_fail(err, AX_ERR_ARG, "the logits of '%s' could not be read back", net->layers[top].spec.name);
        int c = (int)(ax_tensor_numel(logits) / (size_t)net->batch);
        ax_softmax_xent(g->d_out[top].data, dlogit_prob, logits->data, labels, net->batch, c);
    } else {
        top = ax_grad_seed_l2(g, NULL);
        if (top < 0) return ax_fail(err, AX_ERR_ARG, "the last layer of the %s model could not be read back", net->spec.name);
    }
    return ax_grad_backward(g, top, 0, err);
}

int ax_cmd_bench_backward(const ax_cli_opts *o)
{
    ax_cli_session se;
    ax_error err = {0};
    ax_grad *g = NULL;
    int rc = 1, R = o->runs;
    double *tf = NULL, *tfb = NULL, *lf = NULL, *lb = NULL;
    int *labels = NULL;
    float *prob = NULL;
    if (ax_cli_open(&se, o, 0, &err)) goto fail;
    ax_net *net = se.net;
    int L = net->nlayers;
    if (ax_cli_seeded_input(net, &err)) goto fail;
    if (ax_grad_create(&g, net, &err)) goto fail;
    int classifier = L > 1 && net->layers[L - 1].spec.type == AX_L_SOFTMAX;
    int top = ax_grad_logit_layer(net);
    size_t nlog = ax_tensor_numel(&net->layers[top].out);
    int classes = (int)(nlog / (size_t)net->batch);
    tf = calloc((size_t)R, sizeof *tf);
    tfb = calloc((size_t)R, sizeof *tfb);
    lf = calloc((size_t)L * R, sizeof *lf);
    lb = calloc((size_t)L * R, sizeof *lb);
    labels = calloc((size_t)net->batch, sizeof *labels);
    prob = malloc(nlog * sizeof *prob);
    if (!tf || !tfb || !lf || !lb || !labels || !prob) { ax_fail(&err, AX_ERR_NOMEM, "out of memory"); goto fail; }
    for (int i = 0; i < net->batch; i++) labels[i] = (int)((i * 7919u) % (unsigned)classes);

    char desc[256];
    net->backend->describe(net, desc, sizeof desc);
    printf("model %s, batch %d, %s\n", net->spec.name, net->batch, desc);
    ax_conv_describe(desc, sizeof desc);
    printf("conv: %s\n", desc);
    printf("weights %s; loss %s; 2 warm-up runs, mean +- sd of %d\n", ax_cli_weights_label(net),
           classifier ? "softmax cross-entropy" : "l2 = sum(last^2)/2", R);
    fflush(stdout);
    int tty = isatty(STDERR_FILENO);
    /* Forward-only runs first (inference: dropout off), as TF's script does. */
    for (int r = -2; r < R; r++) {
        if (tty) fprintf(stderr, "\rforward %s %d of %d ...", r < 0 ? "warm-up" : "run", r < 0 ? r + 3 : r + 1, r < 0 ? 2 : R);
        double t0 = ax_clock_ms();
        if (ax_grad_forward(g, 0, 0, &err)) goto fail;
        if (r >= 0) tf[r] = ax_clock_ms() - t0;
    }
    for (int r = -2; r < R; r++) {
        if (tty) fprintf(stderr, "\rforward-backward %s %d of %d ...", r < 0 ? "warm-up" : "run", r < 0 ? r + 3 : r + 1,
                         r < 0 ? 2 : R);
        double t0 = ax_clock_ms();
        if (fwd_bwd(g, labels, prob, classifier, &err)) goto fail;
        if (r < 0) continue;
        tfb[r] = ax_clock_ms() - t0;
        for (int i = 0; i < L; i++) {
            lf[(size_t)i * R + r] = net->layers[i].ms;
            lb[(size_t)i * R + r] = g->ms[i];
        }
    }
    if (tty) fprintf(stderr, "\r\033[K");

    printf("\n%3s  %-14s %-8s %-20s %12s %12s\n", "#", "layer", "type", "shape", "forward ms", "backward ms");
    for (int i = 0; i < L; i++) {
        const ax_layer *ly = &net->layers[i];
        double fm, fs, bm, bs;
        mean_sd(&lf[(size_t)i * R], R, &fm, &fs);
        mean_sd(&lb[(size_t)i * R], R, &bm, &bs);
        char shape[64];
        ax_tensor_shape_str(&ly->out, shape, sizeof shape);
        printf("%3d  %-14s %-8s %-20s %12.3f %12.3f\n", i, ly->spec.name, ax_layer_type_name(ly->spec.type), shape, fm,
               bm);
    }
    double fm, fs, bm, bs;
    mean_sd(tf, R, &fm, &fs);
    mean_sd(tfb, R, &bm, &bs);
    printf("\nforward           %10.3f +- %.3f ms per batch of %d\n", fm, fs, net->batch);
    printf("forward-backward  %10.3f +- %.3f ms per batch of %d\n", bm, bs, net->batch);
    rc = 0;
fail:
    if (rc) ax_cli_fail(&err);
    free(tf); free(tfb); free(lf); free(lb); free(labels); free(prob);
    ax_grad_free(g);
    ax_cli_close(&se);
    return rc;
}
