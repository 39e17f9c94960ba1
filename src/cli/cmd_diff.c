/* `alexscope diff`: runs two sides that differ in one thing (weights, spec,
 * device, or a folder of reference activations) on one input and compares
 * them layer by layer, naming the first divergent layer and, when it can,
 * the conversion bug; or, with a folder of images, compares their top-k. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alexscope/cpu.h"
#include "alexscope/analysis.h"
#include "alexscope/compare.h"
#include "alexscope/weights.h"
#include "alexscope/text.h"
#include "cli.h"
#include "alexscope/clock.h"

/* A reference folder holds at most this many bytes of tensors. */
#define REF_MAX_BYTES ((size_t)2 << 30)
#define MAX_DIAG 64

typedef struct {
    char kind;                  /* 'w', 'm', 'd' or 'r' */
    ax_cli_opts opts;           /* for a run */
    const char *reference;      /* for 'r' */
    char label[AX_PATH_MAX + 32];
} side;

static const char *kind_option(char k)
{
    return k == 'w' ? "--weights" : k == 'm' ? "--model" : k == 'd' ? "--device" : "--reference";
}

/* Splits the side options into two sides; prints and returns 2 on misuse. */
static int make_sides(side *a, side *b, const ax_cli_opts *o)
{
    int count[4] = {0};
    const char *first[4] = {0}, *second[4] = {0};
    static const char kinds[5] = "wmdr";
    for (int i = 0; i < o->nsides; i++) {
        int k = (int)(strchr(kinds, o->sides[i].kind) - kinds);
        if (count[k] == 0) first[k] = o->sides[i].value;
        else if (count[k] == 1) second[k] = o->sides[i].value;
        count[k]++;
    }
    int twice = -1, n_twice = 0;
    for (int k = 0; k < 4; k++) {
        if (count[k] > 2 || (k == 3 && count[k] > 1)) {
            fprintf(stderr, "alexscope: diff: %s given %d times; a diff has two sides\n", kind_option(kinds[k]), count[k]);
            return 2;
        }
        if (count[k] == 2) { twice = k; n_twice++; }
    }
    if (count[3] && n_twice) {
        fprintf(stderr, "alexscope: diff: with --reference, side A is the one run; give %s once\n",
                kind_option(kinds[twice]));
        return 2;
    }
    if (!count[3] && n_twice != 1) {
        fprintf(stderr, "alexscope: diff: %s; give one of --weights, --model, --device twice (side A, then side B), "
                "or --reference DIR once (see alexscope --help)\n",
                n_twice ? "the two sides must differ in one thing only" : "needs two sides");
        return 2;
    }
    ax_cli_opts base = *o;
    base.model = count[1] && twice != 1 ? first[1] : "caffe";
    base.weights = count[0] && twice != 0 ? first[0] : NULL;
    base.device = count[2] && twice != 2 ? first[2] : "cpu";
    a->opts = base;
    b->opts = base;
    a->kind = b->kind = count[3] ? 'r' : kinds[twice];
    if (count[3]) {
        a->kind = 0;
        b->reference = first[3];
    } else if (twice == 0) {
        a->opts.weights = first[0]; b->opts.weights = second[0];
    } else if (twice == 1) {
        a->opts.model = first[1]; b->opts.model = second[1];
    } else {
        a->opts.device = first[2]; b->opts.device = second[2];
    }
    side *s[2] = { a, b };
    for (int i = 0; i < 2; i++) {
        if (s[i]->reference) snprintf(s[i]->label, sizeof s[i]->label, "reference %s", s[i]->reference);
        else snprintf(s[i]->label, sizeof s[i]->label, "model %s, weights %s, device %s", s[i]->opts.model,
                      s[i]->opts.weights ? s[i]->opts.weights : "UNTRAINED seeded", s[i]->opts.device);
    }
    return 0;
}

static ax_tolerance tolerance_of(const ax_cli_opts *o)
{
    ax_tolerance t = { 0.0, AX_DIFF_ATOL_OF_MAX, AX_DIFF_RTOL };
    if (o->atol_set) {
        t.atol = o->atol_of_max ? 0.0 : o->atol;
        t.atol_of_max = o->atol_of_max ? o->atol : 0.0;
    }
    if (o->rtol_set) t.rtol = o->rtol;
    return t;
}

static void print_tolerance(const ax_tolerance *t)
{
    if (t->atol_of_max > 0) printf("tolerance  atol %g x max|B| of each tensor, rtol %g", t->atol_of_max, t->rtol);
    else printf("tolerance  atol %g, rtol %g", t->atol, t->rtol);
    printf(" (an element fails when |A-B| > atol and > rtol*|B|)\n");
}

static int is_dir(const char *path)
{
    struct stat st;
    return path && !stat(path, &st) && S_ISDIR(st.st_mode);
}

/* ---- progress and --format json ------------------------------------------ */

/* One line per phase on stderr when it is a terminal, erased by the next one
 * (or by phase_end), so the results below start on a clean line; never on
 * stdout, which may be a JSON document. */
static void phase(int tty, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void phase(int tty, const char *fmt, ...)
{
    if (!tty) return;
    char line[AX_PATH_MAX * 2 + 64];
    va_list ap;
    va_start(ap, fmt);
    int len = snprintf(line, sizeof line, "alexscope: diff: ");
    vsnprintf(line + len, sizeof line - (size_t)len, fmt, ap);
    va_end(ap);
    /* one row only: a wrapped line would not be erased by the next */
    struct winsize ws;
    size_t width = !ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) && ws.ws_col > 8 ? ws.ws_col : 80;
    size_t n = strlen(line);
    if (n + 4 >= width) n = width - 8;
    fprintf(stderr, "\r\033[K%.*s ...", (int)n, line);
    fflush(stderr);
}

/* What loading a side reads, for its phase line: the thing the sides differ
 * in first ("weights good.safetensors"), then the model. */
static const char *side_what(char *buf, size_t size, const side *sd)
{
    const char *v = sd->kind == 'm' ? sd->opts.model : sd->kind == 'd' ? sd->opts.device
                  : sd->opts.weights ? sd->opts.weights : sd->opts.model;
    const char *what = sd->kind == 'm' || (sd->kind != 'd' && !sd->opts.weights) ? "model"
                     : sd->kind == 'd' ? "device" : "weights";
    const char *slash = strrchr(v, '/');
    snprintf(buf, size, "%s %s", what, slash && slash[1] ? slash + 1 : v);
    return buf;
}

static void phase_end(int tty)
{
    if (!tty) return;
    fputs("\r\033[K", stderr);
    fflush(stderr);
}

/* JSON has no inf or NaN: a non-finite figure is null. */
static void jnum(cJSON *o, const char *key, double v)
{
    cJSON_AddItemToObject(o, key, isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull());
}

/* Length of the valid UTF-8 sequence at s, 0 when it is not one. */
static int utf8_len(const unsigned char *s)
{
    int n = s[0] < 0x80 ? 1 : (s[0] & 0xe0) == 0xc0 && s[0] >= 0xc2 ? 2 : (s[0] & 0xf0) == 0xe0 ? 3
          : (s[0] & 0xf8) == 0xf0 && s[0] <= 0xf4 ? 4 : 0;
    for (int i = 1; i < n; i++)
        if ((s[i] & 0xc0) != 0x80) return 0;
    if (n == 3 && ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] >= 0xa0))) return 0;
    if (n == 4 && ((s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] >= 0x90))) return 0;
    return n;
}

/* File names and labels come from the user's files: bytes that are not
 * UTF-8 become '?' so that the document stays valid JSON. */
static void jstr(cJSON *o, const char *key, const char *v)
{
    if (!v) {
        cJSON_AddItemToObject(o, key, cJSON_CreateNull());
        return;
    }
    size_t len = strlen(v);
    char *t = malloc(len + 1);
    if (!t) return;
    size_t j = 0;
    for (size_t i = 0; i < len;) {
        int n = utf8_len((const unsigned char *)v + i);
        if (!n) {
            t[j++] = '?';
            i++;
            continue;
        }
        memcpy(t + j, v + i, (size_t)n);
        i += (size_t)n;
        j += (size_t)n;
    }
    t[j] = 0;
    cJSON_AddItemToObject(o, key, cJSON_CreateString(t));
    free(t);
}

/* The same as an element of an array. */
static void jstr_item(cJSON *a, const char *v)
{
    cJSON *tmp = cJSON_CreateObject();
    jstr(tmp, "v", v);
    cJSON *item = tmp ? cJSON_DetachItemFromObject(tmp, "v") : NULL;
    if (item) cJSON_AddItemToArray(a, item);
    cJSON_Delete(tmp);
}

static cJSON *jshape(int ndim, const int *s)
{
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; i < ndim; i++) cJSON_AddItemToArray(a, cJSON_CreateNumber(s[i]));
    return a;
}

static cJSON *jtolerance(const ax_tolerance *t)
{
    cJSON *o = cJSON_CreateObject();
    jnum(o, "atol", t->atol_of_max > 0 ? 0.0 : t->atol);
    jnum(o, "atol_of_max", t->atol_of_max);
    jnum(o, "rtol", t->rtol);
    jstr(o, "rule", t->atol_of_max > 0 ? "an element fails when |A-B| > atol_of_max*max|B| of its tensor and > rtol*|B|"
                                       : "an element fails when |A-B| > atol and > rtol*|B|");
    return o;
}

static cJSON *jside(const side *s)
{
    cJSON *o = cJSON_CreateObject();
    jstr(o, "label", s->label);
    if (s->reference) {
        jstr(o, "reference", s->reference);
        return o;
    }
    jstr(o, "model", s->opts.model);
    jstr(o, "weights", s->opts.weights);   /* null: seeded, untrained */
    jstr(o, "device", s->opts.device);
    return o;
}

/* Prints the document on stdout; 1 when it could not be written. */
static int json_emit(cJSON *doc)
{
    char *text = doc ? cJSON_Print(doc) : NULL;
    if (!text) {
        fprintf(stderr, "alexscope: diff: out of memory writing the JSON document\n");
        return 1;
    }
    fputs(text, stdout);
    fputc('\n', stdout);
    free(text);
    return fflush(stdout) ? 1 : 0;
}

/* A probability or score with four significant digits, so that saturated
 * (1e-30 beside 1.0) and near-uniform outputs do not all print 0.0000. */
static const char *fmt_p(char *buf, size_t size, double v)
{
    double a = fabs(v);
    if (!isfinite(v)) snprintf(buf, size, "%s", isnan(v) ? "nan" : v > 0 ? "inf" : "-inf");
    else if (v == 0) snprintf(buf, size, "0");
    else if (a >= 0.1) snprintf(buf, size, "%.4f", v);
    else if (a >= 1e-4) snprintf(buf, size, "%.4g", v);
    else snprintf(buf, size, "%.3e", v);
    return buf;
}

/* ---- one input, layer by layer ------------------------------------------ */

static void shape_str(char *buf, size_t size, int ndim, const int *s)
{
    size_t len = snprintf(buf, size, "(");
    for (int i = 0; i < ndim && len < size; i++) len += snprintf(buf + len, size - len, "%s%d", i ? ", " : "", s[i]);
    if (len < size) snprintf(buf + len, size - len, ")");
}

/* (n, c, y, x) of flat index i in an (N, C, H, W) or (N, F) tensor. */
static void where_str(char *buf, size_t size, const ax_tensor *t, size_t i)
{
    int n, c, h, w;
    ax_tensor_nchw(t, &n, &c, &h, &w);
    size_t hw = (size_t)h * w, chw = (size_t)c * hw;
    if (t->ndim == 2) snprintf(buf, size, "(%zu, %zu)", i / chw, i % chw);
    else snprintf(buf, size, "(%zu, %zu, %zu, %zu)", i / chw, (i % chw) / hw, (i % hw) / w, i % w);
}

static void fmt_g(char *buf, size_t size, double v)
{
    if (isinf(v)) snprintf(buf, size, "%s", v > 0 ? "inf" : "-inf");
    else snprintf(buf, size, "%.3g", v);
}

static void print_row(const ax_cmp_row *r, int idx, int status)
{
    char shape[48], ma[24], mr[24], snr[24];
    ax_tensor_shape_str(r->a, shape, sizeof shape);
    static const char *const tags[] = { "ok", "<< FIRST DIVERGENCE", "downstream", "" };
    if (!r->b) {
        printf("%3d  %-14s %-18s %s\n", idx, r->name, shape, "(not on side B)");
        return;
    }
    if (!r->shape_ok) {
        char bs[48];
        shape_str(bs, sizeof bs, r->b_ndim, r->b_shape);
        printf("%3d  %-14s %-18s side B has %s%*s%s\n", idx, r->name, shape, bs, (int)(60 - strlen(bs)), "",
               tags[status]);
        return;
    }
    const ax_diff *d = &r->d;
    fmt_g(ma, sizeof ma, d->max_abs);
    fmt_g(mr, sizeof mr, d->min_rtol);
    if (isinf(d->snr_db)) snprintf(snr, sizeof snr, "%s", d->snr_db > 0 ? "inf" : "-inf");
    else snprintf(snr, sizeof snr, "%.1f", d->snr_db);
    size_t n = ax_tensor_numel(r->a);
    char where[96];
    where_str(where, sizeof where, r->a, d->worst);
    char note[AX_NAME_MAX + 200] = "";
    if (r->ref_name)
        snprintf(note, sizeof note, "  <- %s.npy%s%s%s", ax_text_safe(r->ref_name),
                 r->ref.how == AX_REF_BY_MAP ? " (map)" : r->ref.how == AX_REF_BY_ORDER ? " (by order and shape)" : "",
                 r->ref.channels_last ? " channels-last, compared transposed" : "",
                 !r->ref.batch_axis && r->a->shape[0] == 1 ? " (no batch axis)" : "");
    printf("%3d  %-14s %-18s %9s %9s %9.6f %7s %7.3f%%  %-17s %10.4g %10.4g  %s%s\n", idx, r->name, shape, ma, mr,
           d->cosine, snr, n ? 100.0 * d->fail / n : 0.0, where, d->worst_a, d->worst_b, tags[status], note);
}

static const char *const status_names[] = { "ok", "first divergence", "downstream" };

static const char *how_name(ax_ref_how h)
{
    return h == AX_REF_BY_MAP ? "map" : h == AX_REF_BY_NAME ? "name" : h == AX_REF_BY_ORDER ? "order and shape" : NULL;
}

/* The figures of print_row as one object of the "layers" array. */
static cJSON *row_json(const ax_cmp_row *r, int idx, int status)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "index", idx);
    jstr(o, "name", r->name);
    cJSON_AddItemToObject(o, "shape", jshape(r->a->ndim, r->a->shape));
    cJSON_AddBoolToObject(o, "on_b", r->b != NULL);
    if (r->ref_name) {
        char file[AX_NAME_MAX + 80];
        snprintf(file, sizeof file, "%s.npy", r->ref_name);
        cJSON *ref = cJSON_AddObjectToObject(o, "reference");
        jstr(ref, "file", file);
        jstr(ref, "matched_by", how_name(r->ref.how));
        cJSON_AddBoolToObject(ref, "channels_last", r->ref.channels_last);
        cJSON_AddBoolToObject(ref, "batch_axis", r->ref.batch_axis);
    }
    if (!r->b) {
        jstr(o, "status", "not on side B");
        return o;
    }
    cJSON_AddItemToObject(o, "b_shape", jshape(r->b_ndim, r->b_shape));
    cJSON_AddBoolToObject(o, "shape_ok", r->shape_ok);
    jstr(o, "status", status_names[status]);
    if (!r->shape_ok) return o;
    const ax_diff *d = &r->d;
    size_t n = ax_tensor_numel(r->a);
    jnum(o, "max_abs", d->max_abs);
    jnum(o, "max_rel", d->min_rtol);
    jnum(o, "mean_abs", d->mean_abs);
    jnum(o, "cosine", d->cosine);
    jnum(o, "snr_db", d->snr_db);
    cJSON_AddNumberToObject(o, "elements", (double)n);
    cJSON_AddNumberToObject(o, "out_of_tolerance", (double)d->fail);
    jnum(o, "out_of_tolerance_fraction", n ? (double)d->fail / n : 0.0);
    int nn, c, h, w;
    ax_tensor_nchw(r->a, &nn, &c, &h, &w);
    size_t hw = (size_t)h * w, chw = (size_t)c * hw, i = d->worst;
    int at[4] = { (int)(i / chw), (int)((i % chw) / hw), (int)((i % hw) / w), (int)(i % w) };
    if (r->a->ndim == 2) at[1] = (int)(i % chw);
    cJSON *worst = cJSON_AddObjectToObject(o, "worst");
    cJSON_AddItemToObject(worst, "at", jshape(r->a->ndim == 2 ? 2 : 4, at));
    jnum(worst, "a", d->worst_a);
    jnum(worst, "b", d->worst_b);
    return o;
}

/* 1-based rank of class c in p (classes above it, ties by index). */
static int rank_of(const float *p, int classes, int c)
{
    int r = 1;
    for (int q = 0; q < classes; q++) r += p[q] > p[c] || (p[q] == p[c] && q < c);
    return r;
}

static cJSON *class_json(int c, const ax_labels *labels, const float *pa, const float *pb, const float *la,
                         const float *lb, int ra, int rb)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "class", c);
    jstr(o, "label", ax_label(labels, c));
    jnum(o, "a", pa[c]);
    jnum(o, "b", pb[c]);
    jnum(o, "b_minus_a", (double)pb[c] - pa[c]);
    cJSON_AddNumberToObject(o, "rank_a", ra);
    cJSON_AddNumberToObject(o, "rank_b", rb);
    if (la && lb) {
        jnum(o, "logit_a", la[c]);
        jnum(o, "logit_b", lb[c]);
    }
    return o;
}

/* The top-k of both sides, A's ranks first, with each class's rank on both
 * sides ("A #1 -> B #759"); then B's top-k that A's lacks. With la and lb
 * (the scores before a softmax, or NULL) the logits are shown too when a
 * probability is exactly 0, where no number of digits tells them apart.
 * With jimages (JSON) it appends one object per image instead of printing. */
static void print_topk(const ax_tensor *ta, const float *pb, const float *la, const float *lb,
                       const ax_labels *labels, int k, int is_prob, cJSON *jimages)
{
    int classes = ta->shape[1], n = ta->shape[0];
    if (k > classes) k = classes;
    int *ia = malloc((size_t)k * sizeof *ia), *ib = malloc((size_t)k * sizeof *ib);
    if (!ia || !ib) { free(ia); free(ib); return; }
    for (int img = 0; img < n && (jimages || img < 4); img++) {
        const float *pa = ta->data + (size_t)img * classes, *qb = pb + (size_t)img * classes;
        const float *za = la ? la + (size_t)img * classes : NULL, *zb = lb ? lb + (size_t)img * classes : NULL;
        ax_topk(ia, k, pa, classes);
        ax_topk(ib, k, qb, classes);
        if (jimages) {
            cJSON *o = cJSON_CreateObject(), *ja = cJSON_CreateArray(), *jb = cJSON_CreateArray();
            cJSON_AddNumberToObject(o, "image", img);
            for (int j = 0; j < k; j++) {
                cJSON_AddItemToArray(ja, class_json(ia[j], labels, pa, qb, za, zb, j + 1, rank_of(qb, classes, ia[j])));
                cJSON_AddItemToArray(jb, class_json(ib[j], labels, pa, qb, za, zb, rank_of(pa, classes, ib[j]), j + 1));
            }
            cJSON_AddItemToObject(o, "a", ja);
            cJSON_AddItemToObject(o, "b", jb);
            cJSON_AddItemToArray(jimages, o);
            continue;
        }
        int logits = 0;
        for (int j = 0; j < k && za && zb && is_prob; j++)
            logits |= pa[ia[j]] == 0 || qb[ia[j]] == 0 || pa[ib[j]] == 0 || qb[ib[j]] == 0;
        char title[64];
        snprintf(title, sizeof title, "%stop-%d (%s)", n > 1 ? "image " : "", k, is_prob ? "probability" : "score");
        printf("\n%-44s %10s  %10s  %10s  %-*s", title, "side A", "side B", "B - A", logits ? 16 : 0, "rank (A -> B)");
        if (logits) printf(" %10s %10s", "logit A", "logit B");
        printf("\n");
        if (n > 1) printf("  image %d\n", img);
        for (int pass = 0; pass < 2; pass++) {
            for (int j = 0; j < k; j++) {
                int c = pass ? ib[j] : ia[j], in_a = 0;
                for (int q = 0; q < k; q++) in_a |= ia[q] == c;
                if (pass && in_a) continue;
                int ra = pass ? rank_of(pa, classes, c) : j + 1, rb = pass ? j + 1 : rank_of(qb, classes, c);
                char va[24], vb[24], rank[40], lead[16];
                snprintf(rank, sizeof rank, "A #%d -> B #%d", ra, rb);
                if (pass) snprintf(lead, sizeof lead, "B #%d:", j + 1);
                else snprintf(lead, sizeof lead, "%2d.", j + 1);
                /* no trailing blanks when the rank ends the line */
                printf("  %-6s %4d %-30.30s %10s  %10s  %+10.2e  %-*s", lead, c, ax_label(labels, c),
                       fmt_p(va, sizeof va, pa[c]), fmt_p(vb, sizeof vb, qb[c]), (double)qb[c] - pa[c],
                       logits || pass ? 16 : 0, rank);
                if (logits) printf(" %10.4g %10.4g", za[c], zb[c]);
                if (pass) printf("  (not in A's top-%d)", k);
                printf("\n");
            }
        }
    }
    free(ia);
    free(ib);
}

static ax_status save_error(const char *dir, const ax_cmp_row *r, ax_error *err)
{
    size_t n = ax_tensor_numel(r->a);
    float *e = malloc((n ? n : 1) * sizeof(float));
    if (!e) return ax_fail(err, AX_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) e[i] = r->a->data[i] - r->b[i];
    char name[AX_FILE_NAME_MAX], path[AX_PATH_MAX + AX_FILE_NAME_MAX + 8];
    snprintf(path, sizeof path, "%s/%s.npy", dir, ax_name_to_file(name, sizeof name, r->name));
    int64_t shape[4];
    for (int i = 0; i < r->a->ndim; i++) shape[i] = r->a->shape[i];
    ax_status st = ax_npy_write(path, e, r->a->ndim, shape, err);
    free(e);
    return st;
}

/* Per-channel largest error as a short table with bars, worst first; with
 * jdiag (JSON) the channels go into it as "channels" instead. */
static void print_channel_map(const ax_cmp_row *r, double atol, cJSON *jdiag)
{
    int n, c, h, w;
    ax_tensor_nchw(r->a, &n, &c, &h, &w);
    float *m = malloc((size_t)c * sizeof *m);
    int *order = malloc((size_t)c * sizeof *order);
    if (!m || !order) { free(m); free(order); return; }
    ax_diff_channels(m, r->a->data, r->b, n, c, h * w);
    int bad = 0;
    float top = 0;
    for (int i = 0; i < c; i++) {
        order[i] = i;
        bad += m[i] > atol;
        if (m[i] > top) top = m[i];
    }
    for (int i = 1; i < c; i++) {   /* insertion sort, largest first */
        int v = order[i], j = i;
        while (j > 0 && m[order[j - 1]] < m[v]) { order[j] = order[j - 1]; j--; }
        order[j] = v;
    }
    if (jdiag) {
        cJSON *o = cJSON_AddObjectToObject(jdiag, "channels");
        jnum(o, "atol", atol);
        cJSON_AddNumberToObject(o, "beyond_atol", bad);
        cJSON_AddNumberToObject(o, "count", c);
        cJSON *worst = cJSON_AddArrayToObject(o, "worst_first");
        for (int i = 0; i < c; i++) {
            cJSON *e = cJSON_CreateObject();
            cJSON_AddNumberToObject(e, "channel", order[i]);
            jnum(e, "max_abs", m[order[i]]);
            cJSON_AddItemToArray(worst, e);
        }
        free(m);
        free(order);
        return;
    }
    printf("  per-channel largest |A-B| of %s: %d of %d channels beyond atol %.3g\n", r->name, bad, c, atol);
    int show = c < 16 ? c : 16;
    for (int i = 0; i < show; i++) {
        int ch = order[i];
        int len = top > 0 && isfinite(top) ? (int)(40.0 * m[ch] / top + 0.5) : 0;
        printf("    ch %4d %10.4g  %.*s\n", ch, m[ch], len, "########################################");
    }
    if (c > show) printf("    ... %d more channels\n", c - show);
    free(m);
    free(order);
}

/* The diagnosis of the first divergent row: printed, or with doc (JSON) set
 * as its "diagnosis" object. */
static void diagnose_row(ax_comparison *cmp, int first, cJSON *doc, int tty)
{
    const ax_cmp_row *r = &cmp->rows[first];
    const ax_tolerance *tol = &cmp->tol;
    ax_diag_case c;
    ax_comparison_case(&c, cmp, first);
    const ax_net *net = cmp->a;
    int layer = c.layer, fused = c.fused_relu;
    const char *from = cmp->from;
    ax_diag_result *res = calloc(MAX_DIAG, sizeof *res);
    if (!res) return;
    ax_error err = {0};
    fflush(stdout);
    phase(tty, "diagnosing %s", r->name);
    int n = ax_diagnose(res, MAX_DIAG, &c, &err);
    phase_end(tty);
    cJSON *jd = doc ? cJSON_AddObjectToObject(doc, "diagnosis") : NULL;
    if (jd) {
        jstr(jd, "layer", layer >= 0 ? net->layers[layer].spec.name : "input");
        jstr(jd, "row", r->name);
        cJSON_AddBoolToObject(jd, "with_relu", fused);
        jstr(jd, "rerun_on", layer < 0 ? NULL : from[0] ? from : "side A's own input");
    } else if (layer >= 0) {
        printf("\ndiagnosis of %s%s%s%s: re-run on %s with each classic conversion bug undone on side A\n",
               net->layers[layer].spec.name, fused ? " (with its ReLU: side B's " : "", fused ? r->name : "",
               fused ? " has no tensor before the ReLU)" : "",
               from[0] ? from : "side A's own input (side B has no tensor before it)");
    } else {
        printf("\ndiagnosis of the input: side B fitted from side A per channel\n");
    }
    if (n < 0) {
        if (jd) jstr(jd, "error", err.msg);
        else printf("  (diagnosis failed: %s)\n", err.msg);
        free(res);
        return;
    }
    int explained = 0;
    cJSON *jexp = jd ? cJSON_AddArrayToObject(jd, "explained_by") : NULL;
    for (int i = 0; i < n && res[i].explains; i++) {
        explained++;
        ax_diag_result *d = &res[i];
        if (jd) {
            cJSON *e = cJSON_CreateObject();
            jstr(e, "what", d->what);
            jstr(e, "fix", d->fix[0] ? d->fix : NULL);
            jnum(e, "max_abs_before", d->before);   /* null: the shapes differed */
            jnum(e, "max_abs_after", d->after);
            cJSON_AddNumberToObject(e, "out_of_tolerance_before", (double)d->fail_before);
            cJSON_AddNumberToObject(e, "out_of_tolerance_after", (double)d->fail_after);
            cJSON_AddItemToArray(jexp, e);
            continue;
        }
        printf("  %s\n", d->what);
        if (!isfinite(d->before) && isfinite(d->after))
            printf("      the shapes differ -> max |A-B| %.3g with the fix, all elements within tolerance\n", d->after);
        else if (isfinite(d->before) && d->fail_before)
            printf("      max |A-B| %.3g -> %.3g; elements out of tolerance %zu -> %zu\n", d->before, d->after,
                   d->fail_before, d->fail_after);
        if (d->fix[0]) printf("      fix: %s\n", d->fix);
    }
    if (jd) {
        cJSON_AddBoolToObject(jd, "explained", explained > 0);
        cJSON_AddNumberToObject(jd, "tried", n);
        if (explained) jstr(jd, "fix", res[0].fix[0] ? res[0].fix : NULL);
    }
    if (!explained) {
        if (jd) {
            cJSON *cl = n > 0 ? cJSON_AddObjectToObject(jd, "closest") : NULL;
            if (cl) {
                jstr(cl, "what", res[0].what);
                jnum(cl, "max_abs_after", res[0].after);
            }
        } else {
            printf("  none of the classic conversion bugs explains %s (%d tried", r->name, n);
            if (n > 0) printf("; closest: \"%s\" leaves max |A-B| %.3g", res[0].what, res[0].after);
            printf(")\n");
        }
        if (r->shape_ok && r->a->ndim >= 2) {
            double atol = ax_tolerance_atol(tol, r->b, ax_tensor_numel(r->a));
            print_channel_map(r, atol, jd);
        }
    }
    free(res);
}

static int is_classifier(const ax_net *net)
{
    const ax_layer *last = &net->layers[net->nlayers - 1];
    return last->out.ndim == 2 && (last->spec.type == AX_L_SOFTMAX || last->spec.type == AX_L_FC);
}

/* ---- the workbench's diff mode --------------------------------------------- */

ax_status ax_cli_side_open(void *ctx, const char *what, ax_net **net, void **handle, char *label, size_t size,
                           ax_error *err)
{
    ax_cli_opts o = *(const ax_cli_opts *)ctx;
    o.quiet = 1;   /* the screen belongs to curses */
    size_t len = strlen(what);
    /* a spec file or a built-in name (no dot, no slash) is a model; anything else weights */
    int model = (len > 4 && !strcmp(what + len - 4, ".net")) || (!strchr(what, '.') && !strchr(what, '/'));
    if (model) o.model = what;
    else o.weights = what;
    ax_cli_session *s = calloc(1, sizeof *s);
    if (!s) return ax_fail(err, AX_ERR_NOMEM, "out of memory");
    ax_status st = ax_cli_open(s, &o, 1, err);
    if (st) {
        ax_cli_close(s);
        free(s);
        return st;
    }
    const char *slash = strrchr(what, '/');
    snprintf(label, size, "%s %s", model ? "model" : "weights", slash && slash[1] ? slash + 1 : what);
    *net = s->net;
    *handle = s;
    return AX_OK;
}

void ax_cli_side_close(void *handle)
{
    ax_cli_close(handle);
    free(handle);
}

/* diff --ui: both sides opened (not computed) and handed to the workbench,
 * which computes them and opens in its Diff view. */
static int diff_ui(const ax_cli_opts *o, side *sa, side *sb)
{
    ax_error err = {0};
    if (ax_ui_terminal_check(&err)) {
        return ax_cli_fail(&err);
    }
    ax_cli_session A, B;
    ax_refdir ref = {0};
    int have_b = 0, rc = 1;
    ax_status st = ax_cli_open(&A, &sa->opts, 1, &err);
    if (!st && !sb->reference) {
        st = ax_cli_open(&B, &sb->opts, 1, &err);
        have_b = 1;
    }
    if (!st && sb->reference) st = ax_refdir_open(&ref, sb->reference, REF_MAX_BYTES, &err);
    if (!st) {
        ax_ui_config cfg;
        ax_cli_ui_config(&cfg, &sa->opts, &A);
        cfg.side_ctx = &sa->opts;
        cfg.diff_net = have_b ? B.net : NULL;
        cfg.diff_ref = have_b ? NULL : &ref;
        cfg.diff_map = o->map_file;
        /* on screen side B is named by what differs */
        char label[AX_PATH_MAX + 32];
        const char *what = sb->reference ? sb->reference : sb->kind == 'w' ? sb->opts.weights
                         : sb->kind == 'm' ? sb->opts.model : sb->opts.device;
        const char *slash = strrchr(what, '/');
        snprintf(label, sizeof label, "%s %s", sb->reference ? "reference" : kind_option(sb->kind) + 2,
                 slash && slash[1] ? slash + 1 : what);
        cfg.diff_label = label;
        cfg.diff_tol = tolerance_of(o);
        char messages[2 * sizeof A.warn + 8];
        snprintf(messages, sizeof messages, "%s%s%s", A.warn, A.warn[0] && have_b && B.warn[0] ? "\n" : "",
                 have_b ? B.warn : "");
        if (messages[0]) cfg.messages = messages;
        rc = ax_ui_run(A.net, &cfg, &err);
        if (rc == 1) ax_cli_fail(&err);
    } else {
        ax_cli_fail(&err);
    }
    ax_refdir_close(&ref);
    ax_cli_close(&A);
    if (have_b) ax_cli_close(&B);
    return rc;
}

/* Names the reference folder's skipped files on stderr, one a line. */
static void print_skipped(const ax_refdir *ref)
{
    for (int i = 0; i < ref->nskipped; i++)
        fprintf(stderr, "alexscope: note: skipping %s/%s: %s\n", ref->dir, ref->skipped[i].name, ref->skipped[i].why);
}

/* Appends ", name" to a list (or the first name). */
static void list_add(char *buf, size_t size, const char *name, const char *suffix)
{
    size_t len = strlen(buf);
    if (len < size) snprintf(buf + len, size - len, "%s%s%s", len ? ", " : "", name, suffix);
}

static int diff_one(const ax_cli_opts *o, side *sa, side *sb, int json)
{
    ax_tolerance tol = tolerance_of(o);
    ax_error err = {0};
    ax_cli_session A, B;
    int have_b = 0, rc = 1, tty = isatty(STDERR_FILENO);
    ax_refdir ref = {0};
    ax_comparison cmp = {0};
    cJSON *doc = NULL;
    char *used = NULL;
    /* the phases below say what loads; ax_cli_open's own line would break them */
    sa->opts.quiet = sb->opts.quiet = 1;
    char what[AX_PATH_MAX + 16];
    phase(tty, "loading side A (%s)", side_what(what, sizeof what, sa));
    ax_status st = ax_cli_open(&A, &sa->opts, 1, &err);
    if (!st && !sb->reference) {
        phase(tty, "loading side B (%s)", side_what(what, sizeof what, sb));
        st = ax_cli_open(&B, &sb->opts, 1, &err);
        have_b = 1;
    }
    if (!st && sb->reference) {
        phase(tty, "reading the reference folder %s", sb->reference);
        st = ax_refdir_open(&ref, sb->reference, REF_MAX_BYTES, &err);
    }
    if (!st) phase(tty, "running side A (%d layers)", A.net->nlayers);
    if (!st) st = ax_net_forward(A.net, &err);
    if (!st && have_b) phase(tty, "running side B (%d layers)", B.net->nlayers);
    if (!st && have_b) st = ax_net_forward(B.net, &err);
    if (!st) phase(tty, "comparing");
    if (!st && have_b) st = ax_compare_nets(&cmp, A.net, B.net, &tol, &err);
    if (!st && !have_b) st = ax_compare_refdir(&cmp, A.net, &ref, o->map_file, &tol, &err);
    phase_end(tty);
    if (st) goto fail;
    ax_cli_print_notes(stderr, A.warn);
    if (have_b) ax_cli_print_notes(stderr, B.warn);
    if (!have_b) print_skipped(&ref);

    ax_net *na = A.net;
    int nrows = cmp.nrows, first = cmp.first;
    int channels_last = 0, by_order = 0, by_map = 0;
    for (int i = 0; i < nrows; i++) {
        channels_last += cmp.rows[i].ref.channels_last;
        by_order += cmp.rows[i].ref.how == AX_REF_BY_ORDER;
        by_map += cmp.rows[i].ref.how == AX_REF_BY_MAP;
    }
    if (json) {
        doc = cJSON_CreateObject();
        jstr(doc, "command", "diff");
        jstr(doc, "form", "layers");
        cJSON_AddItemToObject(doc, "side_a", jside(sa));
        cJSON_AddItemToObject(doc, "side_b", jside(sb));
        cJSON *in = cJSON_AddObjectToObject(doc, "input");
        jstr(in, "path", o->input_npy ? o->input_npy : o->image);
        jstr(in, "kind", o->input_npy ? "tensor" : "image");
        cJSON_AddItemToObject(in, "shape", jshape(na->input.ndim, na->input.shape));
        cJSON_AddItemToObject(doc, "tolerance", jtolerance(&tol));
    } else {
        char shape[64];
        printf("side A     %s\n", sa->label);
        printf("side B     %s%s\n", sb->label, " (the reference)");
        printf("input      %s %s\n", o->input_npy ? o->input_npy : o->image,
               ax_tensor_shape_str(&na->input, shape, sizeof shape));
        print_tolerance(&tol);
    }
    if (!have_b) {
        /* The reference tensors no layer took and the layers no reference fits, by name. */
        used = calloc((size_t)ref.count + 1, 1);
        if (!used) { st = ax_fail(&err, AX_ERR_NOMEM, "out of memory"); goto fail; }
        char unused_files[1024] = "", missing[1024] = "";
        int n_unused = 0, n_missing = 0;
        for (int i = 0; i < nrows; i++) {
            if (cmp.rows[i].ref.entry >= 0) used[cmp.rows[i].ref.entry] = 1;
            else if (n_missing++ < 12) list_add(missing, sizeof missing, cmp.rows[i].name, "");
        }
        for (int e = 0; e < ref.count; e++)
            if (!used[e] && n_unused++ < 12) list_add(unused_files, sizeof unused_files, ref.e[e].name, ".npy");
        if (json) {
            cJSON *jr = cJSON_AddObjectToObject(doc, "reference");
            jstr(jr, "dir", ref.dir);
            cJSON_AddNumberToObject(jr, "arrays", ref.count);
            cJSON_AddNumberToObject(jr, "matched", cmp.compared);
            cJSON_AddNumberToObject(jr, "tensors", nrows);
            jstr(jr, "map", o->map_file);
            cJSON *js = cJSON_AddArrayToObject(jr, "skipped");
            for (int i = 0; i < ref.nskipped; i++) {
                cJSON *e = cJSON_CreateObject();
                jstr(e, "file", ref.skipped[i].name);
                jstr(e, "why", ref.skipped[i].why);
                cJSON_AddItemToArray(js, e);
            }
            cJSON *ju = cJSON_AddArrayToObject(jr, "unmatched_files");
            for (int e = 0; e < ref.count; e++) {
                char f[AX_NAME_MAX + 80];
                snprintf(f, sizeof f, "%s.npy", ref.e[e].name);
                if (!used[e]) jstr_item(ju, f);
            }
            cJSON *jm = cJSON_AddArrayToObject(jr, "layers_without_reference");
            for (int i = 0; i < nrows; i++)
                if (cmp.rows[i].ref.entry < 0) jstr_item(jm, cmp.rows[i].name);
        } else {
            printf("matched    %d of %d tensors with %d .npy files%s%s%s\n", cmp.compared, nrows, ref.count,
                   by_map ? ", some by the map file" : "", by_order ? ", some by order and shape" : "",
                   channels_last ? ", channels-last ones transposed to NCHW" : "");
            if (n_missing)
                printf("no match   %d of side A's tensors: %s%s\n", n_missing, missing, n_missing > 12 ? ", ..." : "");
            if (n_unused)
                printf("unused     %d reference file%s no tensor of side A took: %s%s (see --map)\n", n_unused,
                       n_unused > 1 ? "s" : "", unused_files, n_unused > 12 ? ", ..." : "");
            if (ref.nskipped)
                printf("skipped    %d file%s that %s not one array (named on stderr)\n", ref.nskipped,
                       ref.nskipped > 1 ? "s" : "", ref.nskipped > 1 ? "are" : "is");
        }
    }
    cJSON *jrows = json ? cJSON_AddArrayToObject(doc, "layers") : NULL;
    if (!json) {
        printf("\nmax abs and max rel are the smallest atol (with rtol 0) and rtol (with atol 0) that would pass\n");
        printf("%3s  %-14s %-18s %9s %9s %9s %7s %8s  %-17s %10s %10s\n", "#", "layer", "shape", "max abs", "max rel",
               "cosine", "SNR dB", "out tol", "worst (n,c,y,x)", "A", "B");
    }
    for (int i = 0; i < nrows; i++) {
        int status = first < 0 || i < first ? 0 : i == first ? 1 : 2;
        if (json) cJSON_AddItemToArray(jrows, row_json(&cmp.rows[i], i - 1, status));
        else print_row(&cmp.rows[i], i - 1, status);
    }
    if (have_b) {
        /* Layers side B has and side A has not (no row above). */
        char only[512] = "";
        int count = 0;
        cJSON *jonly = json ? cJSON_AddArrayToObject(doc, "side_b_only") : NULL;
        for (int j = 0; j < B.net->nlayers; j++) {
            if (ax_net_find(na, B.net->layers[j].spec.name) >= 0) continue;
            if (jonly) {
                cJSON *e = cJSON_CreateObject();
                jstr(e, "name", B.net->layers[j].spec.name);
                jstr(e, "type", ax_layer_type_name(B.net->layers[j].spec.type));
                cJSON_AddItemToArray(jonly, e);
            }
            size_t len = strlen(only);
            if (count++ < 8 && len < sizeof only)
                snprintf(only + len, sizeof only - len, "%s'%s' (%s)", len ? ", " : "", B.net->layers[j].spec.name,
                         ax_layer_type_name(B.net->layers[j].spec.type));
        }
        if (count && !json) printf("  (side B only: %s%s)\n", only, count > 8 ? ", ..." : "");
    }
    const ax_cmp_row *fr = first >= 0 ? &cmp.rows[first] : NULL;
    if (json) {
        cJSON_AddNumberToObject(doc, "compared", cmp.compared);
        cJSON_AddBoolToObject(doc, "agree", cmp.compared > 0 && !fr);
        jstr(doc, "first_divergent_layer", fr ? fr->name : NULL);
        cJSON *jf = fr ? cJSON_AddObjectToObject(doc, "first_divergence") : NULL;
        if (!jf) cJSON_AddNullToObject(doc, "first_divergence");
        else {
            jstr(jf, "name", fr->name);
            cJSON_AddNumberToObject(jf, "index", first - 1);
            cJSON_AddBoolToObject(jf, "shapes_differ", !fr->shape_ok);
            if (fr->shape_ok) {
                jnum(jf, "out_of_tolerance_fraction", (double)fr->d.fail / ax_tensor_numel(fr->a));
                jnum(jf, "max_abs", fr->d.max_abs);
            }
        }
    }
    if (cmp.compared == 0) {
        if (json) {
            jstr(doc, "note", "nothing to compare: side B has none of side A's tensors (try --map FILE)");
            cJSON_AddNullToObject(doc, "topk");
            cJSON_AddNullToObject(doc, "diagnosis");
            json_emit(doc);
        } else {
            printf("\nnothing to compare: side B has none of side A's tensors (try --map FILE)\n");
        }
        rc = 1;
        goto done;
    }
    if (!json) {
        if (!fr)
            printf("all %d compared tensors agree\n", cmp.compared);
        else if (!fr->shape_ok)
            printf("first divergent layer: %s (#%d): the shapes differ\n", fr->name, first - 1);
        else
            printf("first divergent layer: %s (#%d): %.3g%% of its elements out of tolerance, max |A-B| %.3g\n",
                   fr->name, first - 1, 100.0 * fr->d.fail / ax_tensor_numel(fr->a), fr->d.max_abs);
    }

    /* The top-k of both sides, with the scores before a softmax when both sides have them. */
    const ax_cmp_row *last = &cmp.rows[nrows - 1];
    const ax_layer *ll = &na->layers[na->nlayers - 1];
    int is_prob = ll->spec.type == AX_L_SOFTMAX;
    const ax_cmp_row *pre = nrows >= 2 ? &cmp.rows[nrows - 2] : NULL;
    const float *la = NULL, *lb = NULL;
    if (is_prob && pre && pre->layer >= 0 && pre->b && pre->shape_ok && pre->a->ndim == 2 &&
        ax_tensor_numel(pre->a) == ax_tensor_numel(last->a)) {
        la = pre->a->data;
        lb = pre->b;
    }
    const char *no_topk = NULL;
    char why[AX_NAME_MAX * 2 + 128];
    if (is_classifier(na) && last->b && last->shape_ok) {
        cJSON *jt = NULL, *jimgs = NULL;
        if (json) {
            jt = cJSON_AddObjectToObject(doc, "topk");
            jstr(jt, "of", is_prob ? "probability" : "score");
            cJSON_AddNumberToObject(jt, "k", o->topk < last->a->shape[1] ? o->topk : last->a->shape[1]);
            jstr(jt, "logits_from", la ? pre->name : NULL);
            jimgs = cJSON_AddArrayToObject(jt, "images");
        }
        print_topk(last->a, last->b, la, lb, &A.labels, o->topk, is_prob, jimgs);
    } else if (!is_classifier(na)) {
        snprintf(why, sizeof why, "no top-k: the %s model ends in %s '%s', not a classifier", na->spec.name,
                 ax_layer_type_name(ll->spec.type), ll->spec.name);
        no_topk = why;
    } else {
        snprintf(why, sizeof why, "no top-k: side B has no %s of side A's shape", last->name);
        no_topk = why;
    }
    if (no_topk && json) {
        cJSON_AddNullToObject(doc, "topk");
        jstr(doc, "topk_note", no_topk);
    } else if (no_topk) {
        printf("\n%s\n", no_topk);
    }

    if (have_b && memcmp(&A.spec.pre, &B.spec.pre, sizeof A.spec.pre)) {
        char note[2 * AX_PATH_MAX + 80];
        snprintf(note, sizeof note, "the two specs preprocess images differently (%s vs %s)", A.spec.path, B.spec.path);
        if (json) jstr(doc, "note", note);
        else printf("\nnote: %s\n", note);
    }
    if (first >= 0) {
        diagnose_row(&cmp, first, doc, tty);
    } else if (json) {
        cJSON_AddNullToObject(doc, "diagnosis");
    }

    if (o->diff_save) {
        if (mkdir(o->diff_save, 0777) && errno != EEXIST) {
            st = ax_fail(&err, AX_ERR_IO, "%s: cannot create the folder: %s", o->diff_save, strerror(errno));
            goto fail;
        }
        int saved = 0;
        for (int i = 0; i < nrows && !st; i++)
            if (cmp.rows[i].b && cmp.rows[i].shape_ok) st = save_error(o->diff_save, &cmp.rows[i], &err), saved++;
        if (st) goto fail;
        if (json) {
            cJSON *js = cJSON_AddObjectToObject(doc, "saved");
            jstr(js, "dir", o->diff_save);
            cJSON_AddNumberToObject(js, "tensors", saved);
        } else {
            printf("\nwrote %d error tensors (A - B) to %s/<layer>.npy\n", saved, o->diff_save);
        }
    }
    rc = first < 0 ? 0 : 1;
    if (json && json_emit(doc)) rc = 1;
    goto done;
fail:
    phase_end(tty);
    fflush(stdout);
    ax_cli_fail(&err);
    rc = 1;
done:
    cJSON_Delete(doc);
    free(used);
    ax_comparison_free(&cmp);
    ax_refdir_close(&ref);
    ax_cli_close(&A);
    if (have_b) ax_cli_close(&B);
    return rc;
}

/* ---- a folder of images: top-k agreement ---------------------------------- */

typedef struct {
    const char *name;
    double kl;            /* KL(B || A) of the probabilities */
    double overlap;       /* share of A's top-5 in B's top-5 */
    int top_a, top_b;
    float pa, pb;         /* their probabilities */
    int agree;            /* top-1 equal and every probability within tolerance */
} image_result;

/* Probabilities of the last layer: as they are after a softmax, else softmax
 * of the scores. Read through ax_net_output (copied from a device backend). */
static ax_status probabilities(float *p, const ax_net *net, ax_error *err)
{
    const ax_layer *last = &net->layers[net->nlayers - 1];
    const ax_tensor *t = ax_net_output(net, net->nlayers - 1);
    if (!t) return ax_fail(err, AX_ERR_ARG, "%s: the output of '%s' could not be read back from the %s backend",
                           net->spec.name, last->spec.name, net->backend->name);
    size_t n = ax_tensor_numel(t);
    if (last->spec.type == AX_L_SOFTMAX) memcpy(p, t->data, n * sizeof(float));
    else ax_softmax(p, t->data, t->shape[0], t->shape[1]);
    return AX_OK;
}

static void progress(int done, int total, int tty)
{
    if (!tty) return;
    int width = 30, fill = total ? done * width / total : width;
    fprintf(stderr, "\r[%.*s%*s] %d/%d images", fill, "##############################", width - fill, "", done, total);
    if (done == total) fprintf(stderr, "\r\033[K");
    fflush(stderr);
}

static int kl_desc(const void *a, const void *b)
{
    const image_result *x = a, *y = b;
    int dx = x->top_a != x->top_b, dy = y->top_a != y->top_b;
    if (dx != dy) return dy - dx;
    return x->kl < y->kl ? 1 : x->kl > y->kl ? -1 : 0;
}

/* One image decoded and preprocessed for both sides, on a decoding thread
 * (alexscope/image.h's queue): side A's input, then side B's, in one buffer. */
typedef struct {
    char **files;
    size_t one_a, one_b;
    const ax_spec *spec_a, *spec_b;
    int same_pre;
} decode_ctx;

static ax_status decode_image(void *user, int i, float *buf, ax_error *err)
{
    const decode_ctx *d = user;
    ax_image img;
    ax_status st = ax_image_load(&img, d->files[i], err);
    if (st) return st;
    st = ax_preprocess_image(buf, &img, d->spec_a, err);
    if (!st && !d->same_pre) st = ax_preprocess_image(buf + d->one_a, &img, d->spec_b, err);
    else if (!st) memcpy(buf + d->one_a, buf, d->one_a * sizeof(float));
    ax_image_free(&img);
    return st;
}

static int diff_folder(const ax_cli_opts *o, side *sa, side *sb, int json)
{
    ax_tolerance tol = tolerance_of(o);
    ax_error err = {0};
    char **files = NULL;
    int nfiles = 0, rc = 1;
    ax_status st = ax_image_list_dir(&files, &nfiles, o->image, &err);
    if (st) {
        return ax_cli_fail(&err);
    }
    int batch = o->batch_given ? o->batch : 8;
    if (batch > nfiles) batch = nfiles;
    sa->opts.batch = sb->opts.batch = batch;
    ax_cli_session A, B;
    int open_b = 0;
    float *in_a = NULL, *in_b = NULL, *pa = NULL, *pb = NULL;
    image_result *res = NULL;
    ax_decode_queue *q = NULL;
    int tty = isatty(STDERR_FILENO);
    cJSON *doc = NULL, *jskipped = json ? cJSON_CreateArray() : NULL;
    sa->opts.quiet = sb->opts.quiet = 1;
    char what[AX_PATH_MAX + 16];
    phase(tty, "loading side A (%s)", side_what(what, sizeof what, sa));
    st = ax_cli_open(&A, &sa->opts, 0, &err);
    if (!st) {
        phase(tty, "loading side B (%s)", side_what(what, sizeof what, sb));
        st = ax_cli_open(&B, &sb->opts, 0, &err);
        open_b = 1;
    }
    phase_end(tty);
    if (st) goto fail;
    ax_cli_print_notes(stderr, A.warn);
    ax_cli_print_notes(stderr, B.warn);
    ax_net *na = A.net, *nb = B.net;
    if (!is_classifier(na) || !is_classifier(nb)) {
        st = ax_fail(&err, AX_ERR_ARG, "a folder diff compares classes, and the %s model does not end in a classifier",
                     is_classifier(na) ? nb->spec.name : na->spec.name);
        goto fail;
    }
    int classes = na->layers[na->nlayers - 1].out.shape[1];
    if (nb->layers[nb->nlayers - 1].out.shape[1] != classes) {
        st = ax_fail(&err, AX_ERR_SHAPE, "side A has %d classes, side B %d", classes,
                     nb->layers[nb->nlayers - 1].out.shape[1]);
        goto fail;
    }
    size_t one_a = (size_t)na->spec.in_c * na->spec.in_h * na->spec.in_w;
    size_t one_b = (size_t)nb->spec.in_c * nb->spec.in_h * nb->spec.in_w;
    int same_pre = !memcmp(&na->spec.pre, &nb->spec.pre, sizeof na->spec.pre) && one_a == one_b &&
                   na->spec.in_h == nb->spec.in_h;
    in_a = malloc(one_a * batch * sizeof(float));
    in_b = malloc(one_b * batch * sizeof(float));
    pa = malloc((size_t)classes * batch * sizeof(float));
    pb = malloc((size_t)classes * batch * sizeof(float));
    res = calloc((size_t)nfiles, sizeof *res);
    if (!in_a || !in_b || !pa || !pb || !res) { st = ax_fail(&err, AX_ERR_NOMEM, "out of memory"); goto fail; }

    int done = 0, nres = 0, skipped = 0;
    double t_decode = 0, t_wait = 0, t_fa = 0, t_fb = 0, t_cmp = 0, t0 = ax_clock_ms() * 1e-3, t3 = t0;
    int k5 = classes < 5 ? classes : 5;
    /* Decoding runs ahead on --threads threads of its own while the two
     * forward passes run here: a batch and two images a thread ahead (at
     * most 64). The batches are the same as decoding batch by batch made
     * them (the folder's images in order, `batch` at a time, the unreadable
     * ones left out), so the results are too. */
    decode_ctx dc = { files, one_a, one_b, &na->spec, &nb->spec, same_pre };
    int depth = batch + 2 * ax_cpu_threads();
    st = ax_decode_queue_start(&q, nfiles, ax_cpu_threads(), depth < 64 ? depth : 64, one_a + one_b, decode_image,
                               &dc, &err);
    if (st) goto fail;
    int nt = ax_decode_queue_threads(q);
    progress(0, nfiles, tty);
    for (int start = 0; start < nfiles && !st; start += batch) {
        int count = nfiles - start < batch ? nfiles - start : batch, got = 0;
        int idx[4096];
        for (int j = 0; j < count; j++) {
            ax_error ierr = {0};
            const float *buf = ax_decode_queue_take(q, start + j, &ierr);
            if (!buf) {
                if (tty) fprintf(stderr, "\r\033[K");
                ax_cli_error(1, "warning: skipping %s", ierr.msg);
                if (jskipped) {
                    cJSON *e = cJSON_CreateObject();
                    jstr(e, "file", files[start + j]);
                    jstr(e, "why", ierr.msg);
                    cJSON_AddItemToArray(jskipped, e);
                }
                skipped++;
                ax_decode_queue_release(q, start + j);
                continue;
            }
            /* Readable images fill the batch in order. */
            memcpy(in_a + one_a * got, buf, one_a * sizeof(float));
            memcpy(in_b + one_b * got, buf + one_a, one_b * sizeof(float));
            ax_decode_queue_release(q, start + j);
            idx[got++] = start + j;
        }
        done += start + batch < nfiles ? batch : nfiles - start;
        if (!got) { progress(done, nfiles, tty); continue; }
        /* A short last batch repeats its last image; the copies are not counted. */
        for (int j = got; j < batch; j++) {
            memcpy(in_a + one_a * j, in_a + one_a * (got - 1), one_a * sizeof(float));
            memcpy(in_b + one_b * j, in_b + one_b * (got - 1), one_b * sizeof(float));
        }
        double t1 = ax_clock_ms() * 1e-3;
        st = ax_net_set_input(na, in_a, batch, na->spec.in_c, na->spec.in_h, na->spec.in_w, &err);
        if (!st) st = ax_net_forward(na, &err);
        double t2 = ax_clock_ms() * 1e-3;
        if (!st) st = ax_net_set_input(nb, in_b, batch, nb->spec.in_c, nb->spec.in_h, nb->spec.in_w, &err);
        if (!st) st = ax_net_forward(nb, &err);
        t3 = ax_clock_ms() * 1e-3;
        t_fa += t2 - t1;
        t_fb += t3 - t2;
        if (!st) st = probabilities(pa, na, &err);
        if (!st) st = probabilities(pb, nb, &err);
        if (st) break;
        for (int j = 0; j < got; j++) {
            const float *qa = pa + (size_t)j * classes, *qb = pb + (size_t)j * classes;
            image_result *r = &res[nres++];
            const char *slash = strrchr(files[idx[j]], '/');
            r->name = slash ? slash + 1 : files[idx[j]];
            int ta[5], tb[5], overlap = 0;
            ax_topk(ta, k5, qa, classes);
            ax_topk(tb, k5, qb, classes);
            for (int x = 0; x < k5; x++)
                for (int y = 0; y < k5; y++) overlap += ta[x] == tb[y];
            r->overlap = (double)overlap / k5;
            r->top_a = ta[0];
            r->top_b = tb[0];
            r->pa = qa[ta[0]];
            r->pb = qb[tb[0]];
            r->kl = ax_kl_divergence(qb, qa, classes);
            ax_diff d;
            ax_diff_tol(&d, qa, qb, (size_t)classes, ax_tolerance_atol(&tol, qb, (size_t)classes), tol.rtol);
            r->agree = !d.fail && r->top_a == r->top_b;
        }
        t_cmp += ax_clock_ms() * 1e-3 - t3;
        progress(done, nfiles, tty);
    }
    ax_decode_queue_stop(q, &t_decode, &t_wait);
    q = NULL;
    if (st) goto fail;
    if (!nres) {
        st = ax_fail(&err, AX_ERR_FORMAT, "%s: none of the %d images could be read", o->image, nfiles);
        goto fail;
    }
    double wall = ax_clock_ms() * 1e-3 - t0;
    int top1 = 0, agree = 0;
    double overlap = 0, kl = 0;
    for (int i = 0; i < nres; i++) {
        top1 += res[i].top_a == res[i].top_b;
        agree += res[i].agree;
        overlap += res[i].overlap;
        kl += res[i].kl;
    }
    double fwd = t_fa + t_fb;
    qsort(res, (size_t)nres, sizeof *res, kl_desc);
    if (json) {
        doc = cJSON_CreateObject();
        jstr(doc, "command", "diff");
        jstr(doc, "form", "folder");
        cJSON_AddItemToObject(doc, "side_a", jside(sa));
        cJSON_AddItemToObject(doc, "side_b", jside(sb));
        cJSON *ji = cJSON_AddObjectToObject(doc, "images");
        jstr(ji, "dir", o->image);
        cJSON_AddNumberToObject(ji, "compared", nres);
        cJSON_AddNumberToObject(ji, "batch", batch);
        cJSON_AddItemToObject(ji, "skipped", jskipped);
        jskipped = NULL;
        cJSON_AddItemToObject(doc, "tolerance", jtolerance(&tol));
        cJSON *js = cJSON_AddObjectToObject(doc, "statistics");
        cJSON_AddNumberToObject(js, "top1_agree", top1);
        jnum(js, "top1_agreement", (double)top1 / nres);
        cJSON_AddNumberToObject(js, "k", k5);
        jnum(js, "mean_topk_overlap", overlap / nres);
        jnum(js, "mean_kl_b_a", kl / nres);
        cJSON_AddNumberToObject(js, "within_tolerance", agree);
        cJSON *jr = cJSON_AddArrayToObject(doc, "results");
        for (int i = 0; i < nres; i++) {
            cJSON *e = cJSON_CreateObject();
            jstr(e, "image", res[i].name);
            jnum(e, "kl_b_a", res[i].kl);
            jnum(e, "topk_overlap", res[i].overlap);
            cJSON_AddBoolToObject(e, "top1_differs", res[i].top_a != res[i].top_b);
            cJSON_AddBoolToObject(e, "within_tolerance", res[i].agree);
            for (int sd = 0; sd < 2; sd++) {
                cJSON *t = cJSON_AddObjectToObject(e, sd ? "top1_b" : "top1_a");
                int c = sd ? res[i].top_b : res[i].top_a;
                cJSON_AddNumberToObject(t, "class", c);
                jstr(t, "label", ax_label(&A.labels, c));
                jnum(t, "p", sd ? res[i].pb : res[i].pa);
            }
            cJSON_AddItemToArray(jr, e);
        }
        cJSON *jt = cJSON_AddObjectToObject(doc, "time_s");
        jnum(jt, "total", wall);
        jnum(jt, "decode", t_decode);
        jnum(jt, "decode_wait", t_wait);
        jnum(jt, "forward_a", t_fa);
        jnum(jt, "forward_b", t_fb);
        jnum(jt, "compare", t_cmp);
        jnum(doc, "images_per_s", wall > 0 ? nres / wall : NAN);
        rc = agree == nres && !skipped ? 0 : 1;
        if (json_emit(doc)) rc = 1;
        goto out;
    }
    printf("side A     %s\n", sa->label);
    printf("side B     %s (the reference)\n", sb->label);
    printf("images     %d in %s, batch %d%s\n", nres, o->image, batch, skipped ? " (some skipped, see above)" : "");
    print_tolerance(&tol);
    printf("\ntop-1 agreement      %.1f%% (%d of %d)\n", 100.0 * top1 / nres, top1, nres);
    printf("mean top-%d overlap   %.1f%%\n", k5, 100.0 * overlap / nres);
    printf("mean KL(B || A)      %.3g nats\n", kl / nres);
    printf("within tolerance     %d of %d images (every probability)\n", agree, nres);
    int show = nres < 5 ? nres : 5;
    printf("\nmost different images (top-1 disagreements first, then by KL):\n");
    printf("  %-28s %10s  %-30s %-30s\n", "image", "KL", "side A top-1", "side B top-1");
    for (int i = 0; i < show; i++) {
        char ca[64], cb[64], pa_s[24], pb_s[24];
        snprintf(ca, sizeof ca, "%d %.18s (%s)", res[i].top_a, ax_label(&A.labels, res[i].top_a),
                 fmt_p(pa_s, sizeof pa_s, res[i].pa));
        snprintf(cb, sizeof cb, "%d %.18s (%s)", res[i].top_b, ax_label(&A.labels, res[i].top_b),
                 fmt_p(pb_s, sizeof pb_s, res[i].pb));
        printf("  %-28.28s %10.3g  %-30s %-30s%s\n", res[i].name, res[i].kl, ca, cb,
               res[i].top_a != res[i].top_b ? "  top-1 differs" : "");
    }
    printf("\ntime       %.2f s: forward A %.2f s, forward B %.2f s, compare %.3f s; decode+preprocess %.2f s "
           "on %d thread%s beside them\n", wall, t_fa, t_fb, t_cmp, t_decode, nt, nt == 1 ? "" : "s");
    printf("speed      %.1f images/s; %.1f%% of the time waiting for decoding (%.2f s), the two forward passes "
           "%.1f%%\n", nres / wall, wall > 0 ? 100.0 * t_wait / wall : 0.0, t_wait, wall > 0 ? 100.0 * fwd / wall : 0.0);
    rc = agree == nres && !skipped ? 0 : 1;
    goto out;
fail:
    if (st) {
        fflush(stdout);
        ax_cli_fail(&err);
        rc = 1;
    }
out:
    cJSON_Delete(doc);
    cJSON_Delete(jskipped);
    ax_decode_queue_stop(q, NULL, NULL);
    free(in_a); free(in_b); free(pa); free(pb); free(res);
    for (int i = 0; i < nfiles; i++) free(files[i]);
    free(files);
    ax_cli_close(&A);
    if (open_b) ax_cli_close(&B);
    return rc;
}

int ax_cmd_diff(const ax_cli_opts *o)
{
    side a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    int json = 0;
    if (o->format && !strcmp(o->format, "json")) json = 1;
    else if (o->format && strcmp(o->format, "text"))
        return ax_cli_error(2, "diff: --format %s: expected text or json", o->format);
    int rc = make_sides(&a, &b, o);
    if (rc) return rc;
    if (json && o->ui_bench) return ax_cli_error(2, "diff: --format json writes to stdout; leave out --ui");
    if (o->map_file && !b.reference) {
        return ax_cli_error(2, "diff: --map belongs to --reference DIR");
    }
    if (!o->image && !o->input_npy) {
        return ax_cli_error(2, "diff: no input: give an IMAGE, a folder of images or --input X.npy");
    }
    if (is_dir(o->image)) {
        if (b.reference) {
            return ax_cli_error(2, "diff: a folder of images needs two runs, not --reference");
        }
        if (o->diff_save) {
            fprintf(stderr, "alexscope: diff: --save writes one input's layers; it does not take a folder\n");
            return 2;
        }
        if (o->ui_bench) {
            return ax_cli_error(2, "diff: --ui compares one input, not a folder");
        }
        return diff_folder(o, &a, &b, json);
    }
    if (o->ui_bench) {
        if (o->diff_save) {
            fprintf(stderr, "alexscope: diff: --save writes files from the command line; leave out --ui\n");
            return 2;
        }
        return diff_ui(o, &a, &b);
    }
    return diff_one(o, &a, &b, json);
}
