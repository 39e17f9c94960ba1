/* `alexscope grad`: one forward and backward pass for an image or tensor,
 * the gradient of a class's logit (or of TensorFlow's l2 loss) with respect
 * to the input, every layer output up to the logits and every weight and
 * bias, written as .npy files, with one summary row per layer. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "alexscope/grad.h"
#include "alexscope/text.h"
#include "cli.h"

static ax_status save_grad(const char *dir, const char *name, const char *suffix, const ax_tensor *t,
                           ax_error *err)
{
    char path[AX_PATH_MAX + AX_FILE_NAME_MAX + 32], fname[AX_FILE_NAME_MAX];
    int64_t shape[4];
    for (int d = 0; d < t->ndim; d++) shape[d] = t->shape[d];
    snprintf(path, sizeof path, "%s/%s%s.grad.npy", dir, ax_name_to_file(fname, sizeof fname, name), suffix);
    return ax_npy_write(path, t->data, t->ndim, shape, err);
}

static void abs_stats(const ax_tensor *t, double *mx, double *mean)
{
    size_t n = ax_tensor_numel(t);
    double m = 0, s = 0;
    for (size_t i = 0; i < n; i++) {
        double v = fabs(t->data[i]);
        if (v > m) m = v;
        s += v;
    }
    *mx = m;
    *mean = n ? s / n : 0;
}

static void row(const char *idx, const char *name, const char *what, const ax_tensor *t)
{
    char shape[64];
    double mx, mean;
    abs_stats(t, &mx, &mean);
    printf("%4s  %-16s %-7s %-20s %12.4g %12.4g\n", idx, name, what, ax_tensor_shape_str(t, shape, sizeof shape), mx,
           mean);
}

int ax_cmd_grad(const ax_cli_opts *o)
{
    const char *dir = o->diff_save;
    if (!dir) {
        fprintf(stderr, "alexscope: grad needs --save DIR (where the .npy files go; see alexscope --help)\n");
        return 2;
    }
    if (!o->image && !o->input_npy) {
        return ax_cli_error(2, "grad needs an IMAGE or --input X.npy (see alexscope --help)");
    }
    ax_cli_session se;
    ax_error err = {0};
    ax_grad *g = NULL;
    int *classes = NULL, rc = 1;
    if (ax_cli_open(&se, o, 1, &err)) goto fail;
    ax_cli_print_notes(stderr, se.warn);
    ax_net *net = se.net;
    if (mkdir(dir, 0777) && errno != EEXIST) {
        ax_cli_error(1, "%s: cannot create the folder: %s", dir, strerror(errno));
        ax_cli_close(&se);
        return 1;
    }
    if (ax_grad_create(&g, net, &err) || ax_grad_forward(g, 0, 0, &err)) goto fail;
    classes = calloc((size_t)net->batch, sizeof *classes);
    if (!classes) { ax_fail(&err, AX_ERR_NOMEM, "out of memory"); goto fail; }
    int top;
    double loss = 0;
    if (o->loss) {
        top = ax_grad_seed_l2(g, &loss);
        if (top < 0) {
            ax_fail(&err, AX_ERR_ARG, "the last layer of the %s model could not be read back", net->spec.name);
            goto fail;
        }
    } else {
        for (int i = 0; i < net->batch; i++) classes[i] = o->grad_class;
        top = ax_grad_seed_logit(g, o->grad_class >= 0 ? classes : NULL, classes, &err);
        if (top < 0) goto fail;
    }
    if (ax_grad_backward(g, top, 1, &err)) goto fail;

    printf("model    %s (%s)\n", net->spec.name, net->spec.description);
    printf("weights  %s\n", ax_cli_weights_label(net));
    if (o->loss) {
        printf("of       l2 = sum(%s^2) / 2 = %.6g\n", net->layers[top].spec.name, loss);
    } else {
        const ax_tensor *logits = ax_net_output(net, top);
        if (!logits) {
            ax_fail(&err, AX_ERR_ARG, "the logits of '%s' could not be read back", net->layers[top].spec.name);
            goto fail;
        }
        size_t per = ax_tensor_numel(logits) / (size_t)net->batch;
        for (int i = 0; i < net->batch; i++)
            printf("of       image %d: logit %d of '%s' (%s) = %.6g%s\n", i, classes[i], net->layers[top].spec.name,
                   ax_label(&se.labels, classes[i]), logits->data[(size_t)i * per + classes[i]],
                   o->grad_class >= 0 ? "" : ", the top class");
    }
    printf("\n%4s  %-16s %-7s %-20s %12s %12s\n", "#", "tensor", "grad of", "shape", "max|grad|", "mean|grad|");
    ax_status st = save_grad(dir, "input", "", &g->d_input, &err);
    row("", "input", "output", &g->d_input);
    int files = 1;
    for (int i = 0; i <= top && !st; i++) {
        const char *name = net->layers[i].spec.name;
        char idx[16];
        snprintf(idx, sizeof idx, "%d", i);
        row(idx, name, "output", &g->d_out[i]);
        st = save_grad(dir, name, "", &g->d_out[i], &err);
        files++;
        if (!st && g->d_weight[i].data) {
            row("", "", "weight", &g->d_weight[i]);
            st = save_grad(dir, name, ".weight", &g->d_weight[i], &err);
            files++;
        }
        if (!st && g->d_bias[i].data) {
            row("", "", "bias", &g->d_bias[i]);
            st = save_grad(dir, name, ".bias", &g->d_bias[i], &err);
            files++;
        }
    }
    if (st) goto fail;
    printf("\nwrote %d gradients to %s/<tensor>.grad.npy\n", files, dir);
    rc = 0;
fail:
    if (rc) ax_cli_fail(&err);
    free(classes);
    ax_grad_free(g);
    ax_cli_close(&se);
    return rc;
}
