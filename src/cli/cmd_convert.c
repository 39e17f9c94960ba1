/* `alexscope convert IN OUT.safetensors|OUT.onnx`: loads IN into the model's
 * net as the workbench does (ax_net_load_weights binds and converts), then
 * writes every weight and bias under the model's names in alexscope's
 * layouts, with the source and each transform recorded in the safetensors
 * __metadata__; or, for OUT.onnx, the whole net as a graph that runs it, the
 * same records in its metadata_props. The extension picks the writer. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alexscope/text.h"
#include "cli.h"
#include "alexscope/clock.h"

/* Progress for large files: one line on stderr, only when it is a terminal. */
static void progress(const char *fmt, const char *arg)
{
    if (!isatty(STDERR_FILENO)) return;
    fprintf(stderr, "\r\033[K");
    if (fmt) fprintf(stderr, fmt, arg);
}

/* Picks the model: the one asked for, or the only built-in one IN fits. On
 * success *net is created (seeded) for it and fit describes every tensor.
 * *facts gets a copy of the file's header facts (may be NULL; free it). */
static int choose_model(ax_fit *fit, ax_net **net, const ax_cli_opts *o, char *format, size_t format_size,
                        char **facts)
{
    ax_fit_file ff;
    ax_error err = {0};
    if (ax_fit_file_open(&ff, o->image, &err)) {
        return ax_cli_fail(&err);
    }
    snprintf(format, format_size, "%s", ff.f->format ? ff.f->format : "?");
    *facts = ff.f->facts ? strdup(ff.f->facts) : NULL;
    char why[1600];
    if (o->model_given) {
        ax_status st = ax_fit_model(fit, &ff, o->model, 0, net, &err);
        ax_fit_file_close(&ff);
        if (st) {
            return ax_cli_fail(&err);
        }
        if (!fit->fits) {
            ax_fit_failure(why, sizeof why, fit);
            return ax_cli_error(1, "%s: does not fit the %s model: %s (alexscope inspect --model %s %s "
                    "lists every tensor)", o->image, o->model, why, o->model, o->image);
        }
        return 0;
    }
    /* the only model it fits, then a net made for it (seeded until loaded) */
    ax_fit chosen;
    ax_status st = ax_fit_choose(&chosen, &ff, &err);
    if (!st) st = ax_fit_model(fit, &ff, chosen.model, 0, net, &err);
    ax_fit_file_close(&ff);
    if (st) return ax_cli_fail(&err);
    return 0;
}

/* Peak and current resident memory from /proc (Linux), for --load-only. */
static void print_memory(void)
{
    FILE *fp = fopen("/proc/self/status", "r");
    if (!fp) return;
    char line[256], out[256] = "";
    while (fgets(line, sizeof line, fp)) {
        const char *keys[] = {"VmHWM:", "RssAnon:", "RssFile:"};
        for (int k = 0; k < 3; k++) {
            size_t kl = strlen(keys[k]);
            if (strncmp(line, keys[k], kl)) continue;
            long kb = strtol(line + kl, NULL, 10);
            snprintf(out + strlen(out), sizeof out - strlen(out), "%s %s %.1f MiB", out[0] ? "," : "",
                     k == 0 ? "peak RSS" : k == 1 ? "anonymous" : "file-backed", kb / 1024.0);
        }
    }
    fclose(fp);
    if (out[0]) printf("memory  %s\n", out);
}

/* Creates the model's net and times ax_net_load_weights alone (a benchmark). */
static int load_only(const ax_cli_opts *o)
{
    ax_spec spec;
    ax_error err = {0};
    ax_net *net = NULL;
    ax_backend_options bo = ax_cli_backend_options(o);
    bo.weights_follow = 1;   /* the load replaces every seeded value: no fill to wait for */
    const ax_backend *be = ax_backend_find(o->device, &err);
    ax_status st = be ? ax_spec_load(&spec, o->model, &err) : err.code;
    if (!st) st = ax_net_create_with(&net, &spec, 1, be, &bo, &err);
    char warn[600] = "";
    double t0 = ax_clock_ms();
    if (!st) st = ax_net_load_weights(net, o->image, o->lenient, warn, sizeof warn, &err);
    double ms = ax_clock_ms() - t0;
    if (st) {
        ax_cli_fail(&err);
        ax_net_free(net);
        return 1;
    }
    ax_cli_print_notes(stderr, warn);
    printf("loaded  %s into %s: %zu values (%.1f MB as float32) in %.1f ms\n", o->image, spec.name, net->wcount,
           net->wcount * 4.0 / 1e6, ms);
    print_memory();
    ax_net_free(net);
    return 0;
}

int ax_cmd_convert(const ax_cli_opts *o)
{
    if (o->load_only) {
        if (!o->image) {
            return ax_cli_error(2, "convert --load-only needs a weight file IN (see alexscope --help)");
        }
        return load_only(o);
    }
    if (!o->image || !o->output) {
        return ax_cli_error(2, "convert needs IN and OUT.safetensors or OUT.onnx (see alexscope --help)");
    }
    /* a model given as a file is read too (a .net, an .onnx) */
    const char *inputs[] = {o->image, o->model_given ? o->model : NULL, NULL};
    int bad = ax_cli_check_output(o->output, "convert", inputs, ".safetensors .onnx");
    if (bad) return bad;
    const char *dot = strrchr(o->output, '.'), *slash = strrchr(o->output, '/');
    int to_onnx = dot && (!slash || dot > slash) && !strcasecmp(dot, ".onnx");
    ax_fit *fit = calloc(1, sizeof *fit);
    if (!fit) {
        return ax_cli_error(1, "out of memory");
    }
    ax_net *net = NULL;
    char format[64], *facts = NULL;
    progress("reading %s ...", o->image);
    int rc = choose_model(fit, &net, o, format, sizeof format, &facts);
    progress(NULL, NULL);
    if (rc) {
        free(facts);
        free(fit);
        return rc;
    }

    ax_error err = {0};
    /* a layer ONNX cannot express is said before seconds of loading */
    if (to_onnx && ax_onnx_write_check(o->output, net, &err)) {
        ax_cli_fail(&err);
        ax_net_free(net);
        free(facts);
        free(fit);
        return 1;
    }
    char warn[600] = "";
    progress("loading %s ...", o->image);
    ax_status st = ax_net_load_weights(net, o->image, o->lenient, warn, sizeof warn, &err);
    progress(NULL, NULL);
    if (st) {
        ax_cli_fail(&err);
        ax_net_free(net);
        free(facts);
        free(fit);
        return 1;
    }
    /* the notes about conversions and bindings are in the table below; warnings are not */
    for (const char *p = warn; *p;) {
        const char *nl = strchr(p, '\n');
        int len = nl ? (int)(nl - p) : (int)strlen(p);
        if (!strncmp(p, "warning:", 8)) ax_cli_error(1, "%.*s", len, p);
        p += len + (nl != NULL);
    }

    char summary[600];
    ax_fit_summary(summary, sizeof summary, fit);
    printf("source  %s (%s)\n", o->image, format);
    for (const char *p = facts; p && *p;) {
        const char *nl = strchr(p, '\n');
        int len = nl ? (int)(nl - p) : (int)strlen(p);
        printf("        %.*s\n", len, p);
        p += len + (nl != NULL);
    }
    printf("model   %s (%s)\n", o->model_given ? o->model : fit->model, net->spec.name);
    if (fit->bind_notes[0]) printf("binding %s\n", ax_text_safe(fit->bind_notes));
    printf("\n");

    /* One output tensor per net tensor; per-tensor metadata records its source. */
    int n = fit->count;
    ax_wout *outs = calloc((size_t)n + 1, sizeof *outs);
    char *joined = NULL;
    int nmeta_max = 8 + n;
    const char **meta = calloc(2 * (size_t)nmeta_max, sizeof *meta);
    char (*keys)[AX_NAME_MAX + 16] = calloc((size_t)n + 1, sizeof *keys);
    char (*vals)[512] = calloc((size_t)n + 1, sizeof *vals);
    if (!outs || !meta || !keys || !vals) {
        ax_cli_error(1, "out of memory");
        rc = 1;
        goto done;
    }
    int w = 4;
    for (int i = 0; i < n; i++)
        if ((int)strlen(fit->t[i].src_name) > w) w = (int)strlen(fit->t[i].src_name);
    if (w > 40) w = 40;
    size_t bytes = 0;
    for (int i = 0; i < n; i++) {
        const ax_fit_tensor *t = &fit->t[i];
        const ax_layer *L = &net->layers[t->layer];
        const ax_tensor *src = t->part ? &L->bias : &L->weight;
        ax_wout *out = &outs[i];
        out->name = t->target;
        out->data = src->data;
        out->ndim = src->ndim;
        for (int d = 0; d < src->ndim; d++) out->shape[d] = src->shape[d];
        bytes += ax_tensor_numel(src) * sizeof(float);

        char from[160], to[96], how[160];
        ax_shape_str(from, sizeof from, t->src_ndim, t->src_shape);
        ax_shape_str(to, sizeof to, out->ndim, out->shape);
        snprintf(how, sizeof how, "%s%s%s", ax_fit_kind_text(t->kind), t->src_dtype != AX_DT_F32 ? ", " : "",
                 t->src_dtype != AX_DT_F32 ? (t->src_dtype == AX_DT_F64 ? "F64 -> F32" :
                                              t->src_dtype == AX_DT_F16 ? "F16 -> F32" : "BF16 -> F32") : "");
        printf("  %-*s %-5s %-20s -> %-18s %-20s %s\n", w, ax_text_safe(t->src_name), ax_dtype_name(t->src_dtype), from,
               ax_text_safe(t->target), to, how);
        snprintf(keys[i], sizeof keys[i], "from:%s", t->target);
        snprintf(vals[i], sizeof vals[i], "%s %s %s: %s", t->src_name, ax_dtype_name(t->src_dtype), from, how);
    }
    int m = 0;
#define META(k, v) do { meta[2 * m] = (k); meta[2 * m + 1] = (v); m++; } while (0)
    char model_desc[AX_PATH_MAX + AX_NAME_MAX + 8];
    snprintf(model_desc, sizeof model_desc, "%s (%s)", o->model_given ? o->model : fit->model, net->spec.name);
    META("converted_by", "alexscope " PACKAGE_VERSION);
    META("source", o->image);
    META("source_format", format);
    META("model", model_desc);
    META("transforms", summary[0] ? summary : "none (every tensor as stored)");
    if (fit->bind_notes[0]) META("binding", fit->bind_notes);
    char unused[600] = "";
    for (int i = 0; i < fit->extra && i < AX_FIT_EXTRA_KEPT; i++)
        snprintf(unused + strlen(unused), sizeof unused - strlen(unused), "%s%.60s", i ? ", " : "",
                 fit->extras[i].src_name);
    if (fit->extra > AX_FIT_EXTRA_KEPT)
        snprintf(unused + strlen(unused), sizeof unused - strlen(unused), ", and %d more",
                 fit->extra - AX_FIT_EXTRA_KEPT);
    if (fit->extra) META("left_out", unused);
    /* one line in the header: "fact; fact; ..." */
    joined = facts && facts[0] ? malloc(2 * strlen(facts) + 1) : NULL;
    if (joined) {
        size_t k = 0;
        for (const char *p = facts; *p; p++) {
            if (*p != '\n') joined[k++] = *p;
            else if (p[1]) joined[k++] = ';', joined[k++] = ' ';
        }
        joined[k] = 0;
        META("source_facts", joined);
    }
    for (int i = 0; i < n; i++) META(keys[i], vals[i]);
#undef META

    struct stat sb;
    int existed = stat(o->output, &sb) == 0;
    progress("writing %s ...", o->output);
    st = to_onnx ? ax_onnx_write(o->output, net, meta, m, &err)
                 : ax_safetensors_write_meta(o->output, outs, n, meta, m, &err);
    progress(NULL, NULL);
    if (st) {
        ax_cli_fail(&err);
        if (!existed && stat(o->output, &sb) == 0 && S_ISREG(sb.st_mode)) unlink(o->output);   /* no half-written file */
        rc = 1;
        goto done;
    }
    if (to_onnx)
        printf("\nwrote   %s: a graph of the %d layers of %s (ONNX opset 13, input 'input' (N, %d, %d, %d)), its "
               "%d weight tensors, %zu bytes of float32%s%s%s\n", o->output, net->nlayers, net->spec.name,
               net->spec.in_c, net->spec.in_h, net->spec.in_w, n, bytes,
               summary[0] ? " (converted: " : ", every tensor as stored", summary, summary[0] ? ")" : "");
    else
        printf("\nwrote   %s: %d tensors, %zu bytes of float32%s%s%s\n", o->output, n, bytes,
               summary[0] ? " (converted: " : ", every tensor as stored", summary, summary[0] ? ")" : "");
done:
    free(joined);
    free(outs);
    free(meta);
    free(keys);
    free(vals);
    ax_net_free(net);
    free(facts);
    free(fit);
    return rc;
}
