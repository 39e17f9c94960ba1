/* `alexscope inspect FILE`: every tensor of a weight file with its statistics,
 * the format's header facts, and which model the file fits with which
 * conversions (or what is missing, extra or misshaped for the closest one).
 * It reads the file only; it never writes one. --format json gives the same
 * facts, from the same computations, as one document on stdout. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "alexscope/text.h"
#include "cli.h"
#include "json.h"

typedef struct {
    double min, max, mean, std;
    size_t finite, nonfinite;
} wstats;

#define CHUNK 4096

/* Elements [at, at+n) of e as doubles (entry data may be unaligned). */
static void chunk_values(const ax_wentry *e, size_t at, size_t n, double *out)
{
    const unsigned char *p = (const unsigned char *)e->data + at * ax_dtype_size(e->dtype);
    switch (e->dtype) {
    case AX_DT_F32: {
        float v[CHUNK];
        memcpy(v, p, n * sizeof(float));
        for (size_t i = 0; i < n; i++) out[i] = v[i];
        break;
    }
    case AX_DT_F64:
        memcpy(out, p, n * sizeof(double));
        break;
    case AX_DT_F16:
    case AX_DT_BF16:
        for (size_t i = 0; i < n; i++) {
            uint16_t h;
            memcpy(&h, p + 2 * i, 2);
            out[i] = e->dtype == AX_DT_F16 ? ax_half_to_float(h) : ax_bf16_to_float(h);
        }
        break;
    }
}

/* Two passes in double: the mean first, then squared deviations from it, so
 * a large mean does not swamp a small spread. Non-finite values are counted
 * and left out. */
static void entry_stats(const ax_wentry *e, wstats *s)
{
    memset(s, 0, sizeof *s);
    size_t n = ax_wentry_numel(e);
    double v[CHUNK], sum = 0;
    s->min = INFINITY;
    s->max = -INFINITY;
    for (size_t at = 0; at < n; at += CHUNK) {
        size_t m = n - at < CHUNK ? n - at : CHUNK;
        chunk_values(e, at, m, v);
        for (size_t i = 0; i < m; i++) {
            if (!isfinite(v[i])) {
                s->nonfinite++;
                continue;
            }
            if (v[i] < s->min) s->min = v[i];
            if (v[i] > s->max) s->max = v[i];
            sum += v[i];
            s->finite++;
        }
    }
    if (!s->finite) return;
    s->mean = sum / (double)s->finite;
    double sq = 0;
    for (size_t at = 0; at < n; at += CHUNK) {
        size_t m = n - at < CHUNK ? n - at : CHUNK;
        chunk_values(e, at, m, v);
        for (size_t i = 0; i < m; i++)
            if (isfinite(v[i])) sq += (v[i] - s->mean) * (v[i] - s->mean);
    }
    s->std = sqrt(sq / (double)s->finite);
}

static void print_table(const ax_wfile *f)
{
    int w = 4;
    for (int i = 0; i < f->count; i++) {
        int len = (int)strlen(f->entries[i].name);
        if (len > w) w = len;
    }
    if (w > 48) w = 48;
    printf("%4s  %-*s %-5s %-22s %12s %11s %11s %11s %11s\n", "#", w, "name", "dtype", "shape", "bytes", "min",
           "mean", "max", "std");
    size_t values = 0, bytes = 0;
    for (int i = 0; i < f->count; i++) {
        const ax_wentry *e = &f->entries[i];
        char shape[160];
        ax_shape_str(shape, sizeof shape, e->ndim, e->shape);
        wstats s;
        entry_stats(e, &s);
        printf("%4d  %-*s %-5s %-22s %12zu ", i, w, ax_text_safe(e->name), ax_dtype_name(e->dtype), shape, e->nbytes);
        if (s.finite) printf("%11.4g %11.4g %11.4g %11.4g", s.min, s.mean, s.max, s.std);
        else printf("%11s %11s %11s %11s", "-", "-", "-", "-");
        if (s.nonfinite) printf("  %zu NON-FINITE VALUES", s.nonfinite);
        printf("\n");
        values += ax_wentry_numel(e);
        bytes += e->nbytes;
    }
    printf("%4s  %d tensor%s, %zu values, %zu bytes\n", "", f->count, f->count == 1 ? "" : "s", values, bytes);
}

static void src_shape_str(char *buf, size_t size, const ax_fit_tensor *t)
{
    ax_shape_str(buf, size, t->src_ndim, t->src_shape);
}

static void target_shape_str(char *buf, size_t size, const ax_fit_tensor *t)
{
    int64_t d[4];
    for (int i = 0; i < t->ndim; i++) d[i] = t->shape[i];
    ax_shape_str(buf, size, t->ndim, d);
}

/* One line: "fits (converted: ...)" or "no: ...". */
static void verdict(char *buf, size_t size, const ax_fit *fit)
{
    if (fit->refused[0]) {
        snprintf(buf, size, "no: %s", fit->refused);
        return;
    }
    if (fit->fits) {
        char sum[600];
        ax_fit_summary(sum, sizeof sum, fit);
        size_t len = (size_t)snprintf(buf, size, "yes (%s%s)", sum[0] ? "converted: " : "as stored",
                                      sum);
        if (fit->extra && len < size)
            snprintf(buf + len, size - len, " with --lenient: %d tensor%s unused", fit->extra,
                     fit->extra == 1 ? "" : "s");
        return;
    }
    int good = fit->count - fit->missing - fit->misshaped;
    size_t len = (size_t)snprintf(buf, size, "no: %d of %d tensors fit", good, fit->count);
    if (fit->missing && len < size) len += (size_t)snprintf(buf + len, size - len, ", %d missing", fit->missing);
    if (fit->misshaped && len < size)
        len += (size_t)snprintf(buf + len, size - len, ", %d misshaped", fit->misshaped);
    if (fit->extra && len < size) snprintf(buf + len, size - len, ", %d extra", fit->extra);
}

/* What stands between the file and the model, tensor by tensor. */
static void print_problems(const ax_fit *fit)
{
    int shown = 0, problems = fit->missing + fit->misshaped + fit->extra;
    char a[160], b[160];
    for (int i = 0; i < fit->count && shown < 12; i++) {
        const ax_fit_tensor *t = &fit->t[i];
        if (t->kind != AX_FIT_MISSING && t->kind != AX_FIT_MISSHAPED) continue;
        target_shape_str(a, sizeof a, t);
        if (t->kind == AX_FIT_MISSING) {
            printf("         missing    %s %s\n", ax_text_safe(t->target), a);
        } else {
            src_shape_str(b, sizeof b, t);
            printf("         misshaped  %s: expected %s", ax_text_safe(t->target), a);
            if (t->tf_layout && t->ndim == 4)
                printf(" or HWIO (%d, %d, %d, %d)", t->shape[2], t->shape[3], t->shape[1], t->shape[0]);
            else if (t->tf_layout && t->ndim == 2)
                printf(" or (in, out) (%d, %d)", t->shape[1], t->shape[0]);
            printf(", found %s %s\n", ax_text_safe(t->src_name), b);
        }
        shown++;
    }
    for (int i = 0; i < fit->extra && i < AX_FIT_EXTRA_KEPT && shown < 12; i++, shown++) {
        src_shape_str(b, sizeof b, &fit->extras[i]);
        printf("         extra      %s %s\n", ax_text_safe(fit->extras[i].src_name), b);
    }
    if (problems > shown) printf("         ... and %d more\n", problems - shown);
}

static int score(const ax_fit *fit)
{
    if (fit->refused[0] && !fit->count) return -1000000;
    return 2 * (fit->count - fit->missing - fit->misshaped) - fit->missing - fit->misshaped - fit->extra;
}

static void print_fit(const ax_fit *fit, int with_name)
{
    char line[1200];
    verdict(line, sizeof line, fit);
    if (with_name) {
        printf("         %-12s %s\n", fit->model, line);
    } else {
        printf("model    %s (%s)\n", fit->model, fit->spec_name[0] ? fit->spec_name : "?");
        printf("fits     %s\n", line);
    }
    if (fit->bind_notes[0]) printf("         %*s(%s)\n", with_name ? 13 : 0, "", ax_text_safe(fit->bind_notes));
}

/* Every model the file is tried against, with the best of them by score. */
typedef struct {
    char found[AX_FIT_MODELS_MAX][AX_NAME_MAX];
    const char *names[AX_FIT_MODELS_MAX];
    int n, best, nfit;
    ax_fit *fits;
    int shown;                /* the first model that fits (its view of the file is shown), or -1 */
} fit_set;

/* Tries the file against --model, or every model; 0, or the exit status
 * after printing why (--model's spec cannot be used, no memory). */
static int fits_compute(fit_set *fs, ax_fit_file *ff, const ax_cli_opts *o)
{
    if (o->model_given) {
        fs->names[0] = o->model;
        fs->n = 1;
    } else {
        fs->n = ax_fit_models(fs->found, AX_FIT_MODELS_MAX);
        for (int i = 0; i < fs->n; i++) fs->names[i] = fs->found[i];
    }
    fs->fits = fs->n > 0 ? calloc((size_t)fs->n, sizeof *fs->fits) : NULL;
    if (!fs->fits) {
        return ax_cli_error(1, "out of memory");
    }
    fs->best = -1;
    fs->nfit = 0;
    fs->shown = -1;
    ax_error err = {0};
    for (int i = 0; i < fs->n; i++) {
        ax_fit *fit = &fs->fits[i];
        if (ax_fit_model(fit, ff, fs->names[i], 1, NULL, &err)) {
            if (o->model_given) return ax_cli_fail(&err);
            /* a spec that cannot be loaded is reported, not fatal, unless none can (below) */
            snprintf(fit->model, sizeof fit->model, "%s", fs->names[i]);
            snprintf(fit->refused, sizeof fit->refused, "cannot use this model: %.990s", err.msg);
        }
        if (fit->fits) {
            fs->nfit++;
            if (fs->shown < 0) fs->shown = i;
        }
        if (fs->best < 0 || score(fit) > score(&fs->fits[fs->best])) fs->best = i;
    }
    /* No built-in spec readable: the data folder is missing, which is this
     * program's problem, not the file's; said as such, exit 1. */
    int loaded = 0;
    for (int i = 0; i < fs->n; i++)
        loaded += !fs->fits[i].refused[0] || strncmp(fs->fits[i].refused, "cannot use this model: ", 23);
    if (!o->model_given && fs->n && !loaded) {
        fflush(stdout);
        fprintf(stderr, "alexscope: cannot tell which models %s fits: %s\n", ff->path, fs->fits[0].refused + 23);
        return 1;
    }
    return 0;
}

/* A file whose entries the model slices or renames (Darknet's stream, Keras
 * layers) is shown again as that model reads it: 1 when ff->f now holds
 * that view, else 0. */
static int reread_as_shown(ax_fit_file *ff, const fit_set *fs)
{
    if (fs->shown < 0 || !fs->fits[fs->shown].renamed) return 0;
    ax_fit again;
    ax_error err = {0};
    return !ax_fit_model(&again, ff, fs->names[fs->shown], 0, NULL, &err) && again.renamed;
}

static int inspect_fits(ax_fit_file *ff, const ax_cli_opts *o)
{
    fit_set fs;
    int rc = fits_compute(&fs, ff, o);
    if (rc) {
        free(fs.fits);
        return rc;
    }
    const ax_fit *fits = fs.fits;
    int n = fs.n, best = fs.best;
    printf("\n");
    if (o->model_given) {
        print_fit(&fits[0], 0);
        if (!fits[0].fits && !fits[0].refused[0]) print_problems(&fits[0]);
    } else {
        printf("models\n");
        for (int i = 0; i < n; i++) print_fit(&fits[i], 1);
        if (fs.nfit) {
            printf("fits    ");
            for (int i = 0; i < n; i++)
                if (fits[i].fits) printf(" %s", fits[i].model);
            printf("\n");
        } else {
            printf("fits     none of the built-in models");
            if (best >= 0 && !fits[best].refused[0]) {
                printf("; closest: %s\n", fits[best].model);
                print_problems(&fits[best]);
            } else {
                printf("\n");
            }
        }
    }
    if (reread_as_shown(ff, &fs)) {
        printf("\nas the %s model reads it:\n", fits[fs.shown].model);
        print_table(ff->f);
    }
    free(fs.fits);
    return 0;
}

/* ---- --format json ------------------------------------------------------ */

/* "tensors" (the table's rows) and "total" (its last line) into obj. */
static void json_table(cJSON *obj, const ax_wfile *f)
{
    cJSON *rows = ax_cli_json_arr(obj, "tensors");
    size_t values = 0, bytes = 0;
    for (int i = 0; rows && i < f->count; i++) {
        const ax_wentry *e = &f->entries[i];
        wstats s;
        entry_stats(e, &s);
        cJSON *r = ax_cli_json_obj(rows, NULL);
        ax_cli_json_num(r, "index", i);
        ax_cli_json_str(r, "name", e->name);
        ax_cli_json_str(r, "dtype", ax_dtype_name(e->dtype));
        ax_cli_json_shape(r, "shape", e->ndim, e->shape);
        ax_cli_json_num(r, "bytes", (double)e->nbytes);
        /* the text's "-": no finite value to take figures of */
        const char *keys[4] = {"min", "mean", "max", "std"};
        double v[4] = {s.min, s.mean, s.max, s.std};
        for (int k = 0; k < 4; k++) {
            if (s.finite) ax_cli_json_num(r, keys[k], v[k]);
            else ax_cli_json_null(r, keys[k]);
        }
        ax_cli_json_num(r, "nonfinite", (double)s.nonfinite);
        values += ax_wentry_numel(e);
        bytes += e->nbytes;
    }
    cJSON *t = ax_cli_json_obj(obj, "total");
    ax_cli_json_num(t, "tensors", f->count);
    ax_cli_json_num(t, "values", (double)values);
    ax_cli_json_num(t, "bytes", (double)bytes);
}

static void json_src(cJSON *obj, const char *key_name, const char *key_shape, const ax_fit_tensor *t)
{
    ax_cli_json_str(obj, key_name, t->src_name);
    ax_cli_json_shape(obj, key_shape, t->src_ndim, t->src_shape);
}

/* One model's verdict: the text's line, its counts and, by name, every
 * missing and misshaped tensor and the first extras fit.c keeps. */
static void json_fit(cJSON *arr, const ax_fit *fit)
{
    cJSON *m = ax_cli_json_obj(arr, NULL);
    if (!m) return;
    char line[1200], sum[600];
    verdict(line, sizeof line, fit);
    ax_fit_summary(sum, sizeof sum, fit);
    ax_cli_json_str(m, "model", fit->model);
    ax_cli_json_str(m, "spec", fit->spec_name[0] ? fit->spec_name : NULL);
    ax_cli_json_bool(m, "fits", fit->fits);
    ax_cli_json_str(m, "verdict", line);
    /* "" when the file loads as stored */
    ax_cli_json_str(m, "conversion", fit->fits ? sum : NULL);
    ax_cli_json_bool(m, "needs_lenient", fit->fits && fit->extra > 0);
    ax_cli_json_str(m, "refused", fit->refused[0] ? fit->refused : NULL);
    ax_cli_json_str(m, "bind_notes", fit->bind_notes[0] ? fit->bind_notes : NULL);
    ax_cli_json_num(m, "tensors", fit->count);
    ax_cli_json_num(m, "matching", fit->count - fit->missing - fit->misshaped);
    ax_cli_json_num(m, "missing", fit->missing);
    ax_cli_json_num(m, "misshaped", fit->misshaped);
    ax_cli_json_num(m, "extra", fit->extra);
    cJSON *conv = ax_cli_json_obj(m, "converted");
    ax_cli_json_num(conv, "hwio_to_oihw", fit->hwio);
    ax_cli_json_num(conv, "inout_to_outin", fit->inout);
    ax_cli_json_num(conv, "rows_hwc_to_chw", fit->rows);
    ax_cli_json_num(conv, "widened_to_f32", fit->dtype);
    cJSON *miss = ax_cli_json_arr(m, "missing_tensors");
    cJSON *bad = ax_cli_json_arr(m, "misshaped_tensors");
    for (int i = 0; i < fit->count; i++) {
        const ax_fit_tensor *t = &fit->t[i];
        if (t->kind != AX_FIT_MISSING && t->kind != AX_FIT_MISSHAPED) continue;
        cJSON *x = ax_cli_json_obj(t->kind == AX_FIT_MISSING ? miss : bad, NULL);
        ax_cli_json_str(x, "name", t->target);
        ax_cli_json_ishape(x, "expected", t->ndim, t->shape);
        if (t->kind == AX_FIT_MISSING) continue;
        /* a TensorFlow-named entry may also be in its own layout */
        int tf[4] = {0};
        if (t->tf_layout && t->ndim == 4) {
            tf[0] = t->shape[2], tf[1] = t->shape[3], tf[2] = t->shape[1], tf[3] = t->shape[0];
            ax_cli_json_ishape(x, "expected_tf", 4, tf);
        } else if (t->tf_layout && t->ndim == 2) {
            tf[0] = t->shape[1], tf[1] = t->shape[0];
            ax_cli_json_ishape(x, "expected_tf", 2, tf);
        } else {
            ax_cli_json_null(x, "expected_tf");
        }
        json_src(x, "found", "found_shape", t);
    }
    cJSON *extra = ax_cli_json_arr(m, "extra_tensors");
    for (int i = 0; i < fit->extra && i < AX_FIT_EXTRA_KEPT; i++) {
        cJSON *x = ax_cli_json_obj(extra, NULL);
        json_src(x, "name", "shape", &fit->extras[i]);
    }
}

/* The whole document; stdout stays empty until it is complete. */
static int inspect_json(ax_fit_file *ff, const ax_cli_opts *o)
{
    const ax_wfile *f = ff->f;
    cJSON *doc = cJSON_CreateObject();
    if (!doc) return ax_cli_error(1, "out of memory");
    ax_cli_json_str(doc, "command", "inspect");
    cJSON *file = ax_cli_json_obj(doc, "file");
    ax_cli_json_str(file, "path", o->image);
    struct stat st;
    if (stat(o->image, &st) == 0) ax_cli_json_num(file, "bytes", (double)st.st_size);
    else ax_cli_json_null(file, "bytes");
    const ax_wformat *w = ax_wformat_find(f->format);
    cJSON *fmt = ax_cli_json_obj(doc, "format");
    ax_cli_json_str(fmt, "name", f->format ? f->format : "?");
    ax_cli_json_str(fmt, "what", w ? w->what : NULL);
    ax_cli_json_lines(fmt, "facts", f->facts);
    json_table(doc, f);

    fit_set fs;
    int rc = fits_compute(&fs, ff, o);
    if (rc) {
        free(fs.fits);
        cJSON_Delete(doc);
        return rc;
    }
    ax_cli_json_bool(doc, "model_given", o->model_given);
    cJSON *models = ax_cli_json_arr(doc, "models");
    for (int i = 0; i < fs.n; i++) json_fit(models, &fs.fits[i]);
    cJSON *fits = ax_cli_json_arr(doc, "fits");
    for (int i = 0; i < fs.n; i++)
        if (fs.fits[i].fits) ax_cli_json_str(fits, NULL, fs.fits[i].model);
    /* the text names the closest model only when none fits */
    const ax_fit *closest = !fs.nfit && fs.best >= 0 && !fs.fits[fs.best].refused[0] ? &fs.fits[fs.best] : NULL;
    ax_cli_json_str(doc, "closest", closest ? closest->model : NULL);
    if (reread_as_shown(ff, &fs)) {
        cJSON *as = ax_cli_json_obj(doc, "read_as");
        ax_cli_json_str(as, "model", fs.fits[fs.shown].model);
        json_table(as, ff->f);
    } else {
        ax_cli_json_null(doc, "read_as");
    }
    free(fs.fits);
    return ax_cli_json_print(doc);
}

/* --spec: only formats whose registry row prints a spec describe a net (a
 * .caffemodel carries the layers' parameters); their names are extensions. */
static int inspect_spec(const ax_fit_file *ff)
{
    const char *format = ff->f->format ? ff->f->format : "weight";
    const ax_wformat *w = ax_wformat_find(ff->f->format);
    if (!w || !w->spec_text) {
        char which[256] = "";
        size_t len = 0;
        for (int i = 0; ax_wformat_at(i); i++)
            if (ax_wformat_at(i)->spec_text && len < sizeof which)
                len += (size_t)snprintf(which + len, sizeof which - len, "%s.%s", len ? " or a " : "",
                                        ax_wformat_at(i)->name);
        fprintf(stderr, "alexscope: %s: this is a %s file; only a %s describes a net, so --spec needs one\n",
                ff->path, format, which);
        return 1;
    }
    ax_error err = {0};
    if (w->spec_text(ff->path, stdout, &err)) {
        fflush(stdout);
        return ax_cli_fail(&err);
    }
    return fflush(stdout) == 0 ? 0 : 1;
}

int ax_cmd_inspect(const ax_cli_opts *o)
{
    int json = ax_cli_json_format(o->format);
    if (json < 0) return 2;
    if (json && o->spec_text) {
        return ax_cli_error(2, "--spec prints a .net spec, which has no JSON form: give one of --spec and --format json");
    }
    if (!o->image) {
        return ax_cli_error(2, "inspect needs a weight FILE (see alexscope --help)");
    }
    ax_fit_file ff;
    ax_error err = {0};
    if (ax_fit_file_open(&ff, o->image, &err)) {
        return ax_cli_fail(&err);
    }
    if (o->spec_text) {
        int rc = inspect_spec(&ff);
        ax_fit_file_close(&ff);
        return rc;
    }
    if (json) {
        int rc = inspect_json(&ff, o);
        ax_fit_file_close(&ff);
        return rc;
    }
    const ax_wfile *f = ff.f;
    struct stat st;
    if (stat(o->image, &st) == 0) printf("file     %s (%lld bytes)\n", o->image, (long long)st.st_size);
    else printf("file     %s\n", o->image);
    const ax_wformat *w = ax_wformat_find(f->format);
    printf("format   %s", f->format ? f->format : "?");
    if (w) printf(" (%s)", w->what);
    printf("\n");
    for (const char *p = f->facts; p && *p;) {
        const char *nl = strchr(p, '\n');
        int len = nl ? (int)(nl - p) : (int)strlen(p);
        printf("         %.*s\n", len, p);
        p += len + (nl != NULL);
    }
    printf("\n");
    print_table(f);
    fflush(stdout);
    int rc = inspect_fits(&ff, o);
    ax_fit_file_close(&ff);
    return rc;
}
