/* `alexscope inspect FILE`: every tensor of a weight file with its statistics,
 * the format's header facts, and which model the file fits with which
 * conversions (or what is missing, extra or misshaped for the closest one).
 * It reads the file only; it never writes one. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "alexscope/text.h"
#include "cli.h"

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

static int inspect_fits(ax_fit_file *ff, const ax_cli_opts *o)
{
    char found[AX_FIT_MODELS_MAX][AX_NAME_MAX];
    const char *names[AX_FIT_MODELS_MAX];
    int n;
    if (o->model_given) {
        names[0] = o->model;
        n = 1;
    } else {
        n = ax_fit_models(found, AX_FIT_MODELS_MAX);
        for (int i = 0; i < n; i++) names[i] = found[i];
    }
    ax_fit *fits = n > 0 ? calloc((size_t)n, sizeof *fits) : NULL;
    if (!fits) {
        return ax_cli_error(1, "out of memory");
    }
    int best = -1, nfit = 0;
    ax_error err = {0};
    printf("\n");
    for (int i = 0; i < n; i++) {
        if (ax_fit_model(&fits[i], ff, names[i], 1, NULL, &err)) {
            if (o->model_given) {
                ax_cli_fail(&err);
                free(fits);
                return 1;
            }
            /* a spec that cannot be loaded is reported, not fatal, unless none can (below) */
            snprintf(fits[i].model, sizeof fits[i].model, "%s", names[i]);
            snprintf(fits[i].refused, sizeof fits[i].refused, "cannot use this model: %.990s", err.msg);
        }
        if (fits[i].fits) nfit++;
        if (best < 0 || score(&fits[i]) > score(&fits[best])) best = i;
    }
    /* No built-in spec readable: the data folder is missing, which is this
     * program's problem, not the file's; said as such, exit 1. */
    int loaded = 0;
    for (int i = 0; i < n; i++) loaded += !fits[i].refused[0] || strncmp(fits[i].refused, "cannot use this model: ", 23);
    if (!o->model_given && n && !loaded) {
        fflush(stdout);
        fprintf(stderr, "alexscope: cannot tell which models %s fits: %s\n", ff->path, fits[0].refused + 23);
        free(fits);
        return 1;
    }
    int shown = -1;   /* the model whose view of the file is printed below */
    if (o->model_given) {
        print_fit(&fits[0], 0);
        if (!fits[0].fits && !fits[0].refused[0]) print_problems(&fits[0]);
        if (fits[0].fits) shown = 0;
    } else {
        printf("models\n");
        for (int i = 0; i < n; i++) print_fit(&fits[i], 1);
        if (nfit) {
            printf("fits    ");
            for (int i = 0; i < n; i++)
                if (fits[i].fits) {
                    printf(" %s", fits[i].model);
                    if (shown < 0) shown = i;
                }
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
    /* A file whose entries the model slices or renames (Darknet's stream,
     * Keras layers) is shown again as that model reads it. */
    if (shown >= 0 && fits[shown].renamed) {
        ax_fit again;
        if (!ax_fit_model(&again, ff, names[shown], 0, NULL, &err) && again.renamed) {
            printf("\nas the %s model reads it:\n", fits[shown].model);
            print_table(ff->f);
        }
    }
    free(fits);
    return 0;
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
