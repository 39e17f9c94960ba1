/* `alexscope dump`: runs the whole net and prints one row per layer, then the
 * top-k; optionally writes every layer's output as DIR/<layer>.npy. Outputs
 * are read through ax_net_output (a device backend copies them over). With
 * --format json the same facts are one document on stdout (notes: stderr). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "alexscope/analysis.h"
#include "alexscope/weights.h"
#include "alexscope/text.h"
#include "cli.h"
#include "json.h"

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
        /* four significant digits, so that near-uniform or saturated
         * probabilities (0.001213, 2.979e-13) never all read 0.0000 */
        for (int j = 0; j < got; j++)
            printf("  %2d. %4d  %-32s %#10.4g\n", j + 1, idx[j], ax_label(&se->labels, idx[j]), p[idx[j]]);
    }
    free(idx);
    if (net->untrained) printf("  (UNTRAINED seeded weights: these classes mean nothing)\n");
}

/* ---- --format json: the same facts as the rows and the top-k above ----- */

/* The observer of a JSON run: one object per layer into the array `user`. */
static void json_row(const ax_net *net, int i, void *user)
{
    const ax_layer *L = &net->layers[i];
    const ax_tensor *t = ax_net_output(net, i);
    cJSON *r = ax_cli_json_obj(user, NULL);
    if (!r) return;
    ax_cli_json_num(r, "index", i);
    ax_cli_json_str(r, "name", L->spec.name);
    ax_cli_json_str(r, "type", ax_layer_type_name(L->spec.type));
    ax_cli_json_ishape(r, "shape", L->out.ndim, L->out.shape);
    ax_stats s = {0};
    if (t) ax_stats_compute(&s, t->data, ax_tensor_numel(t));
    /* no finite element: the figures are undefined, not 0 */
    int have = t && s.count > 0;
    const char *keys[4] = {"min", "mean", "max", "std"};
    double v[4] = {s.min, s.mean, s.max, s.std};
    for (int k = 0; k < 4; k++) {
        if (have) ax_cli_json_num(r, keys[k], v[k]);
        else ax_cli_json_null(r, keys[k]);
    }
    if (have) ax_cli_json_num(r, "zeros_percent", 100.0 * s.zero_frac);
    else ax_cli_json_null(r, "zeros_percent");
    if (t) ax_cli_json_num(r, "nonfinite", (double)s.nonfinite);
    else ax_cli_json_null(r, "nonfinite");
    ax_cli_json_num(r, "ms", L->ms);
    ax_cli_json_str(r, "error", t ? NULL : "its output could not be read back from the device");
}

/* "topk": per image the ranks print_topk prints, with the logit beside a
 * softmax's probability (the layer before it, when of the same shape). A net
 * with no classifier output gets null and the text's reason in notes. */
static void json_topk(cJSON *doc, cJSON *notes, const ax_cli_session *se, int k)
{
    const ax_net *net = se->net;
    const ax_layer *last = &net->layers[net->nlayers - 1];
    char why[512];
    if (last->out.ndim != 2 || (last->spec.type != AX_L_SOFTMAX && last->spec.type != AX_L_FC)) {
        snprintf(why, sizeof why, "no top-k: the %s model ends in %s '%s', not a classifier", net->spec.name,
                 ax_layer_type_name(last->spec.type), last->spec.name);
        ax_cli_json_null(doc, "topk");
        ax_cli_json_str(notes, NULL, why);
        return;
    }
    int classes = last->out.shape[1], prob = last->spec.type == AX_L_SOFTMAX;
    if (k > classes) k = classes;
    const ax_tensor *out = ax_net_output(net, net->nlayers - 1);
    int *idx = out ? malloc((size_t)k * sizeof *idx) : NULL;
    if (!idx) {
        snprintf(why, sizeof why, out ? "no top-k: out of memory"
                                      : "no top-k: the output of '%s' could not be read back from the device",
                 last->spec.name);
        ax_cli_json_null(doc, "topk");
        ax_cli_json_str(notes, NULL, why);
        return;
    }
    const ax_tensor *logits = NULL;
    if (prob && net->nlayers > 1) {
        const ax_layer *before = &net->layers[net->nlayers - 2];
        if (before->out.ndim == 2 && before->out.shape[1] == classes) logits = ax_net_output(net, net->nlayers - 2);
    }
    cJSON *tk = ax_cli_json_obj(doc, "topk");
    ax_cli_json_str(tk, "kind", prob ? "probability" : "score");
    ax_cli_json_num(tk, "k", k);
    ax_cli_json_str(tk, "layer", last->spec.name);
    cJSON *images = ax_cli_json_arr(tk, "images");
    for (int b = 0; b < net->batch; b++) {
        const float *p = out->data + (size_t)b * classes;
        int got = ax_topk(idx, k, p, classes);
        cJSON *img = ax_cli_json_obj(images, NULL);
        ax_cli_json_num(img, "image", b);
        cJSON *ranks = ax_cli_json_arr(img, "classes");
        for (int j = 0; j < got; j++) {
            cJSON *c = ax_cli_json_obj(ranks, NULL);
            ax_cli_json_num(c, "rank", j + 1);
            ax_cli_json_num(c, "class", idx[j]);
            ax_cli_json_str(c, "label", ax_label(&se->labels, idx[j]));
            /* a score is the logit itself */
            ax_cli_json_num(c, prob ? "probability" : "score", p[idx[j]]);
            if (!prob) ax_cli_json_num(c, "logit", p[idx[j]]);
            else if (logits) ax_cli_json_num(c, "logit", logits->data[(size_t)b * classes + idx[j]]);
        }
    }
    free(idx);
    if (net->untrained) ax_cli_json_str(notes, NULL, "UNTRAINED seeded weights: these classes mean nothing");
}

/* The head of the document: what the text's first four lines say. */
static cJSON *json_head(const ax_cli_opts *o, const ax_cli_session *se)
{
    const ax_net *net = se->net;
    char desc[256];
    net->backend->describe(net, desc, sizeof desc);
    cJSON *doc = cJSON_CreateObject();
    if (!doc) return NULL;
    ax_cli_json_str(doc, "command", "dump");
    cJSON *m = ax_cli_json_obj(doc, "model");
    ax_cli_json_str(m, "name", net->spec.name);
    ax_cli_json_str(m, "description", net->spec.description);
    ax_cli_json_str(doc, "weights", net->untrained ? "UNTRAINED" : net->weights_path);
    ax_cli_json_bool(doc, "untrained", net->untrained);
    ax_cli_json_str(doc, "device", desc);
    cJSON *in = ax_cli_json_obj(doc, "input");
    ax_cli_json_str(in, "path", o->input_npy ? o->input_npy : o->image);
    ax_cli_json_str(in, "kind", o->input_npy ? "tensor" : "image");
    ax_cli_json_ishape(in, "shape", net->input.ndim, net->input.shape);
    return doc;
}

/* Every layer, then (with a folder) the input and every output as .npy. */
static ax_status run_and_save(ax_net *net, const char *save_dir, ax_error *err)
{
    ax_status st = ax_net_forward(net, err);
    if (!st && save_dir) {
        st = save_tensor(save_dir, "input", &net->input, err);
        for (int i = 0; i < net->nlayers && !st; i++)
            st = save_tensor(save_dir, net->layers[i].spec.name, ax_net_output(net, i), err);
    }
    return st;
}

/* The JSON run: nothing reaches stdout until the document is whole, so an
 * error leaves stdout empty and its message on stderr (exit 1). */
static int dump_json(const ax_cli_opts *o, ax_cli_session *se)
{
    ax_net *net = se->net;
    ax_error err = {0};
    cJSON *doc = json_head(o, se);
    cJSON *layers = ax_cli_json_arr(doc, "layers");
    if (!layers) {
        cJSON_Delete(doc);
        return ax_cli_error(1, "out of memory");
    }
    net->observer = json_row;
    net->observer_user = layers;
    ax_status st = run_and_save(net, o->save_dir, &err);
    net->observer = NULL;
    net->observer_user = NULL;
    if (st) {
        cJSON_Delete(doc);
        return ax_cli_fail(&err);
    }
    double total = 0, down = 0;
    for (int i = 0; i < net->nlayers; i++) {
        total += net->layers[i].ms;
        down += net->layers[i].xfer_ms;
    }
    ax_cli_json_num(doc, "total_ms", total);
    if (ax_net_on_host(net)) {
        ax_cli_json_null(doc, "device_time");
    } else {
        cJSON *dt = ax_cli_json_obj(doc, "device_time");
        ax_cli_json_num(dt, "kernels_ms", total);
        ax_cli_json_num(dt, "upload_ms", net->upload_ms);
        ax_cli_json_num(dt, "downloads", net->nlayers);
        ax_cli_json_num(dt, "download_ms", down);
    }
    /* notes: what loading said (also on stderr), then what the text adds below its top-k */
    cJSON *notes = ax_cli_json_lines(doc, "notes", se->warn);
    json_topk(doc, notes, se, o->topk);
    if (o->save_dir) {
        cJSON *sv = ax_cli_json_obj(doc, "saved");
        ax_cli_json_str(sv, "dir", o->save_dir);
        ax_cli_json_num(sv, "activations", net->nlayers);
        ax_cli_json_bool(sv, "input", 1);
    } else {
        ax_cli_json_null(doc, "saved");
    }
    return ax_cli_json_print(doc);
}

int ax_cmd_dump(const ax_cli_opts *o)
{
    int json = ax_cli_json_format(o->format);
    if (json < 0) return 2;
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
    if (json) {
        int rc = dump_json(o, &se);
        ax_cli_close(&se);
        return rc;
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
    st = run_and_save(net, o->save_dir, &err);
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
