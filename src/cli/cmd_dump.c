/* `alexscope dump`: runs the whole net and prints one row per layer, then the
 * top-k; optionally writes every layer's output as DIR/<layer>.npy. Outputs
 * are read through ax_net_output (a device backend copies them over). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "alexscope/analysis.h"
#include "alexscope/weights.h"
#include "alexscope/text.h"
#include "cli.h"

static ax_status save_tensor(const char *dir, const char *name, const ax_tensor *t, ax_error *err)
{
    if (!t) return ax_fail(err, AX_ERR_ARG, "%s: its output could not be read back from the device", name);
    char path[AX_PATH_MAX + AX_FILE_NAME_MAX + 8], fname[AX_FILE_NAME_MAX];
    snprintf(path, sizeof path, "%s/%s.npy", dir, ax_name_to_file(fname, sizeof fname, name));
    int64_t shape[4];
    for (int i = 0; i < t->ndim; i++) shape[i] = t->shape[i];
    return ax_npy_write(path, t->data, t->ndim, shape, err);
}

static void print_row(const ax_net *net, int i, void *user)
{
    (void)user;
    const ax_layer *L = &net->layers[i];
    const ax_tensor *t = ax_net_output(net, i);
    char shape[64];
    ax_tensor_shape_str(&L->out, shape, sizeof shape);
    if (!t) {
        printf("%3d  %-14s %-8s %-18s  (its output could not be read back from the device)\n", i, L->spec.name,
               ax_layer_type_name(L->spec.type), shape);
        return;
    }
    ax_stats s;
    ax_stats_compute(&s, t->data, ax_tensor_numel(t));
    printf("%3d  %-14s %-8s %-18s %11.4g %11.4g %11.4g %11.4g %6.1f%% %8.2f%s\n", i, L->spec.name,
           ax_layer_type_name(L->spec.type), shape, s.min, s.mean, s.max, s.std, 100.0 * s.zero_frac, L->ms,
           s.nonfinite ? "  NON-FINITE VALUES" : "");
}

/* Top-k of every image when the last layer is a classifier output. */
static void print_topk(const ax_cli_session *se, int k)
{
    const ax_net *net = se->net;
    const ax_layer *last = &net->layers[net->nlayers - 1];
    if (last->out.ndim != 2 || (last->spec.type != AX_L_SOFTMAX && last->spec.type != AX_L_FC)) {
        printf("\nno top-k: the %s model ends in %s '%s', not a classifier\n", net->spec.name,
               ax_layer_type_name(last->spec.type), last->spec.name);
        return;
    }
    int classes = last->out.shape[1];
    if (k > classes) k = classes;
    const ax_tensor *out = ax_net_output(net, net->nlayers - 1);
    if (!out) {
        printf("\nno top-k: the output of '%s' could not be read back from the device\n", last->spec.name);
        return;
    }
    int *idx = malloc((size_t)k * sizeof *idx);
    if (!idx) return;
    for (int b = 0; b < net->batch; b++) {
        const float *p = out->data + (size_t)b * classes;
        int got = ax_topk(idx, k, p, classes);
        if (net->batch > 1) printf("\nimage %d: top-%d (%s):\n", b, k, last->spec.type == AX_L_SOFTMAX ? "probability" : "score");
        else printf("\ntop-%d (%s):\n", k, last->spec.type == AX_L_SOFTMAX ? "probability" : "score");
        for (int j = 0; j < got; j++)
            printf("  %2d. %4d  %-32s %8.4f\n", j + 1, idx[j], ax_label(&se->labels, idx[j]), p[idx[j]]);
    }
    free(idx);
    if (net->untrained) printf("  (UNTRAINED seeded weights: these classes mean nothing)\n");
}

int ax_cmd_dump(const ax_cli_opts *o)
{
    if (!o->image && !o->input_npy) {
        return ax_cli_error(2, "dump needs an IMAGE or --input X.npy (see alexscope --help)");
    }
    ax_cli_session se;
    ax_error err = {0};
    ax_status st = ax_cli_open(&se, o, 1, &err);
    if (st) {
        ax_cli_fail(&err);
        ax_cli_close(&se);
        return 1;
    }
    ax_cli_print_notes(stderr, se.warn);
    if (o->save_dir && mkdir(o->save_dir, 0777) && errno != EEXIST) {
        ax_cli_error(1, "%s: cannot create the folder: %s", o->save_dir, strerror(errno));
        ax_cli_close(&se);
        return 1;
    }

    ax_net *net = se.net;
    char desc[256], shape[64];
    net->backend->describe(net, desc, sizeof desc);
    printf("model    %s (%s)\n", net->spec.name, net->spec.description);
    printf("weights  %s\n", ax_cli_weights_label(net));
    printf("device   %s\n", desc);
    printf("input    %s %s\n", o->input_npy ? o->input_npy : o->image, ax_tensor_shape_str(&net->input, shape, sizeof shape));
    const char *pre_name = ax_preprocess_name(&net->spec.pre, net->spec.in_h, net->spec.in_w);
    char pre_text[300];
    if (o->input_npy)
        printf("preprocess none: the tensor is the net's input as it is (an image would get %s)\n", pre_name);
    else
        printf("preprocess %s: %s (%s)\n", pre_name, ax_preprocess_text(pre_text, sizeof pre_text, &net->spec.pre),
               o->preprocess ? "--preprocess" : "the model's");
    printf("\n%3s  %-14s %-8s %-18s %11s %11s %11s %11s %7s %8s\n", "#", "layer", "type", "shape", "min", "mean",
           "max", "std", "zeros", "ms");
    fflush(stdout);

    net->observer = print_row;
    st = ax_net_forward(net, &err);
    if (!st && o->save_dir) {
        st = save_tensor(o->save_dir, "input", &net->input, &err);
        for (int i = 0; i < net->nlayers && !st; i++)
            st = save_tensor(o->save_dir, net->layers[i].spec.name, ax_net_output(net, i), &err);
    }
    if (st) {
        fflush(stdout);
        ax_cli_fail(&err);
        ax_cli_close(&se);
        return 1;
    }
    double total = 0;
    for (int i = 0; i < net->nlayers; i++) total += net->layers[i].ms;
    printf("%3s  %-14s %-8s %-18s %11s %11s %11s %11s %7s %8.2f\n", "", "total", "", "", "", "", "", "", "", total);
    if (!ax_net_on_host(net)) {
        /* the ms column is kernel time; the copies that carried the data are apart */
        double down = 0;
        for (int i = 0; i < net->nlayers; i++) down += net->layers[i].xfer_ms;
        printf("\ndevice time  kernels %.2f ms, input upload %.2f ms, %d output downloads %.2f ms\n", total,
               net->upload_ms, net->nlayers, down);
    }
    print_topk(&se, o->topk);
    if (o->save_dir) printf("\nwrote %d activations to %s/<layer>.npy (and input.npy)\n", net->nlayers, o->save_dir);
    ax_cli_close(&se);
    return 0;
}
