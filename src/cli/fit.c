/* Which net spec a weight file fits, tensor by tensor, for `inspect` and
 * `convert`. It follows ax_net_load_weights' naming and layout rules but only
 * compares names and shapes; the loader itself has the last word (verify). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alexscope/text.h"
#include "cli.h"

static void copy_shape(ax_fit_tensor *t, const ax_wentry *e)
{
    snprintf(t->src_name, sizeof t->src_name, "%s", e->name);
    t->src_dtype = e->dtype;
    t->src_ndim = e->ndim;
    for (int i = 0; i < e->ndim && i < AX_WMAX_DIMS; i++) t->src_shape[i] = e->shape[i];
}

/* The loader's order of tests: a TensorFlow-layout entry ("<layer>.0") is
 * transposed when its shape allows, before a same-shape copy is considered. */
static ax_fit_kind classify(const ax_tensor *dst, const ax_wentry *e, int tf_layout, const ax_layer *L)
{
    if (tf_layout && dst->ndim == 4 && e->ndim == 4 && e->shape[0] == dst->shape[2] &&
        e->shape[1] == dst->shape[3] && e->shape[2] == dst->shape[1] && e->shape[3] == dst->shape[0])
        return AX_FIT_HWIO;
    if (tf_layout && dst->ndim == 2 && e->ndim == 2 && e->shape[0] == dst->shape[1] &&
        e->shape[1] == dst->shape[0])
        return L->spec.type == AX_L_FC && L->in_h * L->in_w > 1 ? AX_FIT_INOUT_HWC : AX_FIT_INOUT;
    int same = e->ndim == dst->ndim;
    for (int i = 0; same && i < dst->ndim; i++) same = e->shape[i] == dst->shape[i];
    return same ? AX_FIT_SAME : AX_FIT_MISSHAPED;
}

static void match(ax_fit *fit, const ax_net *net, const ax_wfile *f)
{
    char *used = calloc((size_t)f->count + 1, 1);
    for (int i = 0; i < net->nlayers; i++) {
        const ax_layer *L = &net->layers[i];
        const ax_tensor *parts[2] = {&L->weight, &L->bias};
        for (int p = 0; p < 2; p++) {
            const ax_tensor *dst = parts[p];
            if (!dst->ndim || fit->count >= AX_FIT_MAX) continue;
            ax_fit_tensor *t = &fit->t[fit->count++];
            memset(t, 0, sizeof *t);
            t->layer = i;
            t->part = p;
            snprintf(t->layer_name, sizeof t->layer_name, "%s", L->spec.name);
            snprintf(t->target, sizeof t->target, "%s.%s", L->spec.name, p ? "bias" : "weight");
            t->ndim = dst->ndim;
            for (int d = 0; d < dst->ndim; d++) t->shape[d] = dst->shape[d];
            const ax_wentry *e = ax_wfile_find(f, t->target);
            int tf_layout = 0;
            if (!e) {
                char alt[AX_NAME_MAX + 8];
                snprintf(alt, sizeof alt, "%s.%d", L->spec.name, p);
                e = ax_wfile_find(f, alt);
                tf_layout = e != NULL;
            }
            if (!e) {
                t->kind = AX_FIT_MISSING;
                fit->missing++;
                continue;
            }
            if (used) used[e - f->entries] = 1;
            copy_shape(t, e);
            t->tf_layout = tf_layout;
            t->kind = classify(dst, e, tf_layout, L);
            switch (t->kind) {
            case AX_FIT_SAME: fit->same++; break;
            case AX_FIT_HWIO: fit->hwio++; break;
            case AX_FIT_INOUT: fit->inout++; break;
            case AX_FIT_INOUT_HWC: fit->inout++; fit->rows++; break;
            default: fit->misshaped++; break;
            }
            if (t->kind != AX_FIT_MISSHAPED && e->dtype != AX_DT_F32) fit->dtype++;
        }
    }
    for (int i = 0; i < f->count; i++) {
        if (used && used[i]) continue;
        if (fit->extra < AX_FIT_EXTRA_KEPT) {
            ax_fit_tensor *x = &fit->extras[fit->extra];
            memset(x, 0, sizeof *x);
            copy_shape(x, &f->entries[i]);
        }
        fit->extra++;
    }
    free(used);
}

/* A fresh copy of the file when an earlier binding renamed its entries. */
static ax_status ensure_fresh(ax_fit_file *ff, ax_error *err)
{
    if (ff->f && !ff->bound) return AX_OK;
    ax_wfile_close(ff->f);
    ff->f = NULL;
    ff->bound = 0;
    return ax_wfile_open(&ff->f, ff->path, err);
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(a, b);
}

/* The built-in names first, then any other .net in the data folder (a model
 * a user dropped there is tried too). */
int ax_fit_models(char (*names)[AX_NAME_MAX], int max)
{
    const char *builtin[AX_FIT_MODELS_MAX];
    int nb = ax_spec_builtin_names(builtin, AX_FIT_MODELS_MAX), n = 0;
    for (int i = 0; i < nb && i < AX_FIT_MODELS_MAX && n < max; i++)
        snprintf(names[n++], AX_NAME_MAX, "%s", builtin[i]);
    DIR *d = opendir(ax_data_dir());
    if (!d) return n;
    char found[AX_FIT_MODELS_MAX][AX_NAME_MAX];
    int nf = 0;
    struct dirent *de;
    while ((de = readdir(d)) && nf < AX_FIT_MODELS_MAX) {
        size_t len = strlen(de->d_name);
        if (len <= 4 || len - 4 >= AX_NAME_MAX || strcmp(de->d_name + len - 4, ".net") || de->d_name[0] == '.')
            continue;
        char stem[AX_NAME_MAX];
        snprintf(stem, sizeof stem, "%.*s", (int)(len - 4), de->d_name);
        int dup = 0;
        for (int i = 0; i < n && !dup; i++) dup = !strcmp(names[i], stem);
        if (!dup) snprintf(found[nf++], AX_NAME_MAX, "%s", stem);
    }
    closedir(d);
    qsort(found, (size_t)nf, sizeof found[0], name_cmp);
    for (int i = 0; i < nf && n < max; i++) memcpy(names[n++], found[i], AX_NAME_MAX);
    return n;
}

ax_status ax_fit_file_open(ax_fit_file *ff, const char *path, ax_error *err)
{
    memset(ff, 0, sizeof *ff);
    ff->path = path;
    return ensure_fresh(ff, err);
}

void ax_fit_file_close(ax_fit_file *ff)
{
    ax_wfile_close(ff->f);
    ff->f = NULL;
}

/* The class count the file's last fc gives when it alone differs from the
 * model (a classifier fine-tuned to other classes): every other tensor fits,
 * and the last fc's weight and bias are the model's with another number of
 * outputs, in either layout. 0 otherwise. */
static int fine_tuned_classes(const ax_fit *fit, const ax_net *net)
{
    int last = -1;
    for (int i = 0; i < net->nlayers; i++)
        if (net->layers[i].weight.ndim) last = i;
    if (last < 0 || net->layers[last].spec.type != AX_L_FC || fit->missing) return 0;
    int classes = 0, in = net->layers[last].weight.shape[1];
    for (int i = 0; i < fit->count; i++) {
        const ax_fit_tensor *t = &fit->t[i];
        if (t->kind != AX_FIT_MISSHAPED) continue;
        if (t->layer != last) return 0;
        int64_t c;
        if (t->part == 1 && t->src_ndim == 1) c = t->src_shape[0];
        else if (t->part == 0 && t->src_ndim == 2 && t->tf_layout && t->src_shape[0] == in) c = t->src_shape[1];
        else if (t->part == 0 && t->src_ndim == 2 && !t->tf_layout && t->src_shape[1] == in) c = t->src_shape[0];
        else return 0;
        if (c < 1 || c > 1000000 || (classes && c != classes)) return 0;
        classes = (int)c;
    }
    return classes;
}

int ax_fit_resize_classes(ax_spec *spec, int classes)
{
    int last = -1;
    for (int i = 0; i < spec->nlayers; i++)
        if (ax_layer_has_weights(&spec->layers[i])) last = i;
    if (last < 0 || spec->layers[last].type != AX_L_FC || classes < 1) return -1;
    spec->layers[last].out_c = classes;
    spec->labels[0] = 0;   /* the model's labels name other classes: numbered instead */
    return last;
}

/* Binds ff's file to a net of spec and matches it (fit's tensors and counts). */
static ax_status fit_spec(ax_fit *fit, ax_fit_file *ff, const ax_spec *spec, int keep, ax_net **out,
                          ax_error *err)
{
    const ax_backend *be = ax_backend_find("cpu", err);
    if (!be) return err->code;
    ax_net *net = NULL;
    /* a net only for its shapes is made in microseconds; a kept one is seeded */
    ax_backend_options bo = { .shapes_only = !keep };
    ax_status st = ax_net_create_with(&net, spec, 1, be, &bo, err);
    if (st) return st;
    st = ensure_fresh(ff, err);
    if (st) {
        ax_net_free(net);
        return st;
    }
    /* names before binding, to tell whether it renamed or sliced the entries */
    int before = ff->f->count;
    char (*names)[sizeof ff->f->entries[0].name] = calloc((size_t)before + 1, sizeof *names);
    if (!names) {
        ax_net_free(net);
        return ax_fail(err, AX_ERR_NOMEM, "%s: out of memory", ff->path);
    }
    for (int i = 0; i < before; i++) memcpy(names[i], ff->f->entries[i].name, sizeof names[i]);
    ax_error berr = {0};
    fit->count = fit->same = fit->hwio = fit->inout = fit->rows = fit->dtype = 0;
    fit->missing = fit->misshaped = fit->extra = 0;
    fit->bind_notes[0] = 0;
    if (ax_wfile_bind(ff->f, net, fit->bind_notes, sizeof fit->bind_notes, &berr)) {
        /* the file does not fit this net's layers at all (a Darknet stream too short, ...) */
        ff->bound = 1;
        snprintf(fit->refused, sizeof fit->refused, "%s", berr.msg);
        free(names);
        *out = net;
        return AX_OK;
    }
    fit->renamed = ff->f->count != before;
    for (int i = 0; i < before && !fit->renamed; i++) fit->renamed = strcmp(names[i], ff->f->entries[i].name) != 0;
    free(names);
    if (fit->bind_notes[0] || fit->renamed) ff->bound = 1;
    match(fit, net, ff->f);
    fit->fits = fit->missing == 0 && fit->misshaped == 0;
    *out = net;
    return AX_OK;
}

ax_status ax_fit_model(ax_fit *fit, ax_fit_file *ff, const char *model, int verify, ax_net **keep,
                       ax_error *err)
{
    memset(fit, 0, sizeof *fit);
    if (keep) *keep = NULL;
    snprintf(fit->model, sizeof fit->model, "%s", model);
    ax_spec spec;
    ax_status st = ax_spec_load(&spec, model, err);
    if (st) return st;
    snprintf(fit->spec_name, sizeof fit->spec_name, "%s", spec.name);
    ax_net *net = NULL;
    st = fit_spec(fit, ff, &spec, keep != NULL, &net, err);
    if (st) return st;
    int classes = fit->refused[0] || fit->fits ? 0 : fine_tuned_classes(fit, net);
    if (classes) {
        /* the model with that many outputs, as train --classes makes it */
        ax_fit first = *fit;
        ax_net_free(net);
        net = NULL;
        int last = ax_fit_resize_classes(&spec, classes);
        st = fit_spec(fit, ff, &spec, keep != NULL, &net, err);
        if (st) return st;
        if (fit->fits) {
            fit->classes = classes;
            snprintf(fit->classes_layer, sizeof fit->classes_layer, "%s", spec.layers[last].name);
        } else {
            *fit = first;   /* not that after all: the first verdict stands */
        }
    }
    if (fit->refused[0]) {
        ax_net_free(net);
        return AX_OK;
    }
    if (fit->fits && verify) {
        /* The loader is the authority: a disagreement is reported, not hidden. */
        ax_error lerr = {0};
        char warn[600];
        if (ax_net_load_weights(net, ff->path, fit->extra > 0, warn, sizeof warn, &lerr)) {
            fit->fits = 0;
            snprintf(fit->refused, sizeof fit->refused, "%s", lerr.msg);
        }
    }
    if (keep && fit->fits) *keep = net;
    else ax_net_free(net);
    return AX_OK;
}

const char *ax_fit_kind_text(ax_fit_kind k)
{
    switch (k) {
    case AX_FIT_SAME: return "as stored";
    case AX_FIT_HWIO: return "HWIO -> OIHW";
    case AX_FIT_INOUT: return "(in, out) -> (out, in)";
    case AX_FIT_INOUT_HWC: return "(in, out) -> (out, in), rows H,W,C -> C,H,W";
    case AX_FIT_MISSHAPED: return "misshaped";
    case AX_FIT_MISSING: return "missing";
    }
    return "?";
}

char *ax_fit_summary(char *buf, size_t size, const ax_fit *fit)
{
    size_t len = 0;
    buf[0] = 0;
#define ADD(...) do { if (len < size) len += (size_t)snprintf(buf + len, size - len, __VA_ARGS__); } while (0)
    if (fit->hwio) ADD("HWIO->OIHW for %d conv", fit->hwio);
    if (fit->inout) ADD("%s(in,out)->(out,in) for %d fc", len ? ", " : "", fit->inout);
    for (int i = 0; i < fit->count; i++)
        if (fit->t[i].kind == AX_FIT_INOUT_HWC) ADD("%s%s rows H,W,C->C,H,W", len ? ", " : "", fit->t[i].layer_name);
    if (fit->dtype) ADD("%s%d tensors widened to F32", len ? ", " : "", fit->dtype);
    if (fit->classes) ADD("%s%s resized to %d classes", len ? ", " : "", fit->classes_layer, fit->classes);
    int renamed = 0;
    for (int i = 0; i < fit->count; i++)
        if (fit->t[i].kind != AX_FIT_MISSING && strcmp(fit->t[i].src_name, fit->t[i].target)) renamed++;
    if (renamed) ADD("%s%d names mapped", len ? ", " : "", renamed);
#undef ADD
    return buf;
}

/* "(first: conv1.weight: expected (96, 3, 11, 11), found conv1.0 (11, 11, 3, 8))" */
static void first_problem(char *buf, size_t size, const ax_fit *fit)
{
    buf[0] = 0;
    for (int i = 0; i < fit->count; i++) {
        const ax_fit_tensor *t = &fit->t[i];
        if (t->kind != AX_FIT_MISSING && t->kind != AX_FIT_MISSHAPED) continue;
        int64_t d[4];
        for (int k = 0; k < t->ndim; k++) d[k] = t->shape[k];
        char want[96], got[160];
        ax_shape_str(want, sizeof want, t->ndim, d);
        if (t->kind == AX_FIT_MISSING) snprintf(buf, size, "; first: %s %s is missing", ax_text_safe(t->target), want);
        else
            snprintf(buf, size, "; first: %s: expected %s, found %s %s", ax_text_safe(t->target), want,
                     ax_text_safe(t->src_name),
                     ax_shape_str(got, sizeof got, t->src_ndim, t->src_shape));
        return;
    }
}

char *ax_fit_failure(char *buf, size_t size, const ax_fit *fit)
{
    if (fit->refused[0]) {
        snprintf(buf, size, "%s", fit->refused);
        return buf;
    }
    char first[400];
    first_problem(first, sizeof first, fit);
    snprintf(buf, size, "%d of %d tensors fit (%d missing, %d misshaped, %d extra%s)",
             fit->count - fit->missing - fit->misshaped, fit->count, fit->missing, fit->misshaped, fit->extra,
             first);
    return buf;
}

ax_status ax_fit_choose(ax_fit *fit, ax_fit_file *ff, ax_error *err)
{
    char names[AX_FIT_MODELS_MAX][AX_NAME_MAX];
    int n = ax_fit_models(names, AX_FIT_MODELS_MAX);
    ax_fit *all = calloc((size_t)n + 1, sizeof *all);
    if (!all) return ax_fail(err, AX_ERR_NOMEM, "%s: out of memory", ff->path);
    int found = -1, nfit = 0, best = -1;
    char fitting[256] = "";
    const char *builtin[AX_FIT_MODELS_MAX];
    int nb = ax_spec_builtin_names(builtin, AX_FIT_MODELS_MAX);
    int builtin_ok = 0;
    ax_error first_err = {0};
    for (int i = 0; i < n; i++) {
        ax_error merr = {0};
        int is_builtin = 0;
        for (int b = 0; b < nb && b < AX_FIT_MODELS_MAX; b++) is_builtin |= !strcmp(builtin[b], names[i]);
        if (ax_fit_model(&all[i], ff, names[i], 0, NULL, &merr)) {
            if (is_builtin && !first_err.code) first_err = merr;
            continue;   /* that model is left out; a data folder with none is the program's problem */
        }
        builtin_ok += is_builtin;
        if (all[i].fits) {
            if (found < 0) found = i;
            nfit++;
            snprintf(fitting + strlen(fitting), sizeof fitting - strlen(fitting), "%s%s", nfit > 1 ? ", " : "",
                     names[i]);
        }
        int good = all[i].count - all[i].missing - all[i].misshaped;
        if (!all[i].refused[0] && (best < 0 || good > all[best].count - all[best].missing - all[best].misshaped))
            best = i;
    }
    ax_status st = AX_OK;
    if (!builtin_ok && first_err.code) {
        st = ax_fail(err, first_err.code, "cannot tell which model %s fits: %s", ff->path, first_err.msg);
    } else if (nfit == 1) {
        *fit = all[found];
    } else if (nfit > 1) {
        st = ax_fail(err, AX_ERR_ARG, "%s fits several built-in models (%s); choose one with --model", ff->path,
                     fitting);
    } else {
        char why[1600] = "";
        if (best >= 0) ax_fit_failure(why, sizeof why, &all[best]);
        st = ax_fail(err, AX_ERR_SHAPE, "%s: fits none of the built-in models%s%s%s%s%s; give --model FILE.net "
                     "for another net (alexscope inspect %s lists every tensor)", ff->path,
                     best >= 0 ? " (closest: " : "", best >= 0 ? names[best] : "", best >= 0 ? ", " : "",
                     best >= 0 ? why : "", best >= 0 ? ")" : "", ff->path);
    }
    free(all);
    return st;
}
