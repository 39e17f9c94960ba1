/* An ONNX graph becomes a .net spec: a chain of nodes from the one input to
 * the one output, each node a layer named after its output tensor, with its
 * attributes read as the ONNX operator spec defines them (opsets 1 to 17),
 * and the jobs that give the layers their initializers in alexscope's layouts.
 * Anything it cannot run exactly is refused naming the node and operator:
 * never a net that gives other numbers than the graph. */
#include "alexscope/text.h"
#include "onnx.h"
#include "alexscope/layers.h"
#include "alexscope/spec.h"
#include "alexscope/weights.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_OPSET 17
/* A folded shape's batch size (see shape_op); shapes of at most 8 values */
#define AX_BATCH_DIM (INT64_MIN + 7)
#define SHAPE_MAX 8

/* ---- names: initializers and constants by tensor name ------------------- */

typedef struct {
    const char *name;
    const Onnx__TensorProto *t;
} slot;

typedef struct {
    slot *s;
    size_t cap;
} table;

static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static int table_init(table *t, size_t n)
{
    t->cap = 16;
    while (t->cap < 2 * n + 16) t->cap *= 2;
    t->s = calloc(t->cap, sizeof *t->s);
    return t->s != NULL;
}

static void table_put(table *t, const char *name, const Onnx__TensorProto *v)
{
    for (size_t i = hash(name) & (t->cap - 1);; i = (i + 1) & (t->cap - 1)) {
        if (!t->s[i].name || !strcmp(t->s[i].name, name)) {
            t->s[i].name = name;
            t->s[i].t = v;
            return;
        }
    }
}

static const Onnx__TensorProto *table_get(const table *t, const char *name)
{
    if (!name || !name[0]) return NULL;
    for (size_t i = hash(name) & (t->cap - 1); t->s[i].name; i = (i + 1) & (t->cap - 1))
        if (!strcmp(t->s[i].name, name)) return t->s[i].t;
    return NULL;
}

/* ---- the converter's state ------------------------------------------------ */

typedef struct {
    int rank;                /* 2: (N, K); 4: (N, C, H, W) */
    int64_t d[4];
} shape;

typedef struct {
    const Onnx__GraphProto *g;
    const char *file;
    int64_t opset;
    table consts;            /* initializers and Constant outputs */
    ax_onnx_net *out;
    FILE *body;              /* the layer lines */
    char *body_text;
    size_t body_len;
    const char *head;        /* the chain's current tensor */
    shape sh;
    char names[AX_MAX_LAYERS][AX_NAME_MAX];
    int has_lrn, first_conv_out, last_fc_out;
    int nconv, nfc, conv1_k, conv1_s, conv1_p;   /* what recognises AlexNet */
    ax_error *err;
    ax_status status;        /* an error (not a refusal) met on the way */
} conv;

static const char *node_label(const Onnx__NodeProto *n, int i, char *buf, size_t size)
{
    if (n->name && n->name[0]) snprintf(buf, size, "%.80s", n->name);
    else if (n->n_output && n->output[0] && n->output[0][0]) snprintf(buf, size, "%.80s", n->output[0]);
    else snprintf(buf, size, "#%d", i);
    return buf;
}

/* A refusal: one line naming the node and its operator. Returns 1. */
static int refuse(conv *c, const Onnx__NodeProto *n, int i, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int refuse(conv *c, const Onnx__NodeProto *n, int i, const char *fmt, ...)
{
    char label[100], why[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    if (n) snprintf(c->out->why, sizeof c->out->why, "node '%s' (%.40s): %s", node_label(n, i, label, sizeof label),
                    n->op_type ? n->op_type : "?", why);
    else snprintf(c->out->why, sizeof c->out->why, "%s", why);
    return 1;
}

static const char *shape_text(const shape *s, char *buf, size_t size)
{
    int64_t d[4];
    for (int i = 0; i < s->rank; i++) d[i] = s->d[i];
    return ax_shape_str(buf, size, s->rank, d);
}

/* A layer name from a tensor name: the name itself where a spec line can
 * carry it, else with whitespace, '=', '#' and control bytes made '_'; a
 * name too long keeps its end; a name met twice gets ~2, ~3, ... */
static int layer_name(conv *c, const char *tensor, char *name)
{
    char buf[AX_NAME_MAX];
    size_t n = strlen(tensor), keep = n < AX_NAME_MAX - 4 ? n : AX_NAME_MAX - 4;
    const char *src = tensor + (n - keep);
    size_t j = 0;
    for (size_t i = 0; i < keep; i++) {
        unsigned char ch = (unsigned char)src[i];
        /* (bytes >= 0x80 too: a spec is UTF-8, and a tensor name's bytes need not be) */
        buf[j++] = ch <= ' ' || ch == '=' || ch == '#' || ch >= 0x7f ? '_' : (char)ch;
    }
    buf[j] = 0;
    if (!j) snprintf(buf, sizeof buf, "layer%d", c->out->layers % 1000);
    snprintf(name, AX_NAME_MAX, "%s", buf);
    for (int k = 2;; k++) {
        int clash = 0;
        for (int i = 0; i < c->out->layers && !clash; i++) clash = !strcmp(c->names[i], name);
        if (!clash) break;
        snprintf(name, AX_NAME_MAX, "%.*s~%d", AX_NAME_MAX - 12, buf, k);
    }
    if (c->out->layers >= AX_MAX_LAYERS) return 0;
    snprintf(c->names[c->out->layers++], AX_NAME_MAX, "%s", name);
    return 1;
}

static int add_job(conv *c, const char *layer, const char *part, const Onnx__TensorProto *src, int ndim,
                   const int64_t *shape, int transpose, float scale, int broadcast)
{
    ax_onnx_job *j = realloc(c->out->jobs, (size_t)(c->out->njobs + 1) * sizeof *j);
    if (!j) {
        c->status = ax_fail(c->err, AX_ERR_NOMEM, "%s: out of memory", c->file);
        return 0;
    }
    c->out->jobs = j;
    j += c->out->njobs++;
    memset(j, 0, sizeof *j);
    snprintf(j->entry, sizeof j->entry, "%s.%s", layer, part);
    j->src = src;
    j->ndim = ndim;
    for (int d = 0; d < ndim; d++) j->shape[d] = shape[d];
    j->transpose = transpose;
    j->scale = scale;
    j->broadcast = broadcast;
    return 1;
}

/* ---- attributes -------------------------------------------------------------- */

static const Onnx__AttributeProto *attr(const Onnx__NodeProto *n, const char *name)
{
    for (size_t i = 0; i < n->n_attribute; i++)
        if (n->attribute[i]->name && !strcmp(n->attribute[i]->name, name)) return n->attribute[i];
    return NULL;
}

/* Every attribute of n is one the operator's row knows (" a b c "). */
static int check_attrs(conv *c, const Onnx__NodeProto *n, int i, const char *known)
{
    for (size_t k = 0; k < n->n_attribute; k++) {
        const char *a = n->attribute[k]->name ? n->attribute[k]->name : "";
        char probe[80];
        snprintf(probe, sizeof probe, " %.60s ", a);
        if (!strstr(known, probe)) return !refuse(c, n, i, "attribute '%.60s' is not supported", a);
    }
    return 1;
}

static int64_t attr_int(const Onnx__NodeProto *n, const char *name, int64_t def)
{
    const Onnx__AttributeProto *a = attr(n, name);
    return a && a->has_i ? a->i : def;
}

static float attr_float(const Onnx__NodeProto *n, const char *name, float def)
{
    const Onnx__AttributeProto *a = attr(n, name);
    return a && a->has_f ? a->f : def;
}

/* A string attribute compared with want (def when absent). */
static const char *attr_str(const Onnx__NodeProto *n, const char *name, const char *def, char *buf, size_t size)
{
    const Onnx__AttributeProto *a = attr(n, name);
    if (!a || !a->has_s) return def;
    size_t len = a->s.len < size - 1 ? a->s.len : size - 1;
    memcpy(buf, a->s.data, len);
    buf[len] = 0;
    return buf;
}

/* An ints attribute of exactly `count` values (absent: defaults stay); 0
 * when present with another count. */
static int attr_ints(const Onnx__NodeProto *n, const char *name, int64_t *v, size_t count, int *present)
{
    const Onnx__AttributeProto *a = attr(n, name);
    if (present) *present = a != NULL;
    if (!a) return 1;
    if (a->n_ints != count) return 0;
    for (size_t i = 0; i < count; i++) v[i] = a->ints[i];
    return 1;
}

/* The constant (initializer or Constant output) named by input k of n. */
static const Onnx__TensorProto *const_input(conv *c, const Onnx__NodeProto *n, size_t k)
{
    return k < n->n_input ? table_get(&c->consts, n->input[k]) : NULL;
}

static int has_input(const Onnx__NodeProto *n, size_t k)
{
    return k < n->n_input && n->input[k] && n->input[k][0];
}

static int is_op(const Onnx__NodeProto *n, const char *op)
{
    return n->op_type && !strcmp(n->op_type, op);
}

/* How many later nodes and graph outputs use tensor `name` (Shape nodes
 * not counted: shape_op folds them). */
static int uses(const conv *c, const char *name, int after)
{
    int u = 0;
    if (!name || !name[0]) return 0;
    for (size_t i = (size_t)after + 1; i < c->g->n_node; i++)
        /* a Shape node reads only the shape, which the chain knows */
        for (size_t k = 0; k < c->g->node[i]->n_input && !is_op(c->g->node[i], "Shape"); k++)
            u += c->g->node[i]->input[k] && !strcmp(c->g->node[i]->input[k], name);
    for (size_t k = 0; k < c->g->n_output; k++) u += c->g->output[k]->name && !strcmp(c->g->output[k]->name, name);
    return u;
}

/* Reads a small int64 constant (shape, pads); 0 with a refusal. */
static int small_ints(conv *c, const Onnx__NodeProto *n, int i, const Onnx__TensorProto *t, const char *what,
                      int64_t *v, size_t max, size_t *count)
{
    ax_onnx_values vals;
    ax_error e;
    if (ax_onnx_values_of(t, 1, c->file, &vals, &e)) return !refuse(c, n, i, "%s: %s", what, e.msg);
    if (vals.numel > (int64_t)max) {
        free(vals.owned);
        return !refuse(c, n, i, "%s has %lld values (at most %zu are read)", what, (long long)vals.numel, max);
    }
    for (int64_t k = 0; k < vals.numel; k++) v[k] = vals.i[k];
    *count = (size_t)vals.numel;
    free(vals.owned);
    return 1;
}

static int scalar_float(conv *c, const Onnx__NodeProto *n, int i, const Onnx__TensorProto *t, const char *what,
                        float *v)
{
    ax_onnx_values vals;
    ax_error e;
    if (ax_onnx_values_of(t, 0, c->file, &vals, &e)) return !refuse(c, n, i, "%s: %s", what, e.msg);
    int ok = vals.numel == 1;
    if (ok) *v = vals.f[0];
    free(vals.owned);
    return ok ? 1 : !refuse(c, n, i, "%s has %lld values, expected one", what, (long long)vals.numel);
}

/* ---- windows ---------------------------------------------------------------- */

typedef struct {
    int64_t k[2], s[2], p[4], d[2];   /* kernel, strides, pads t,l,b,r, dilations */
    int ceil;
} window;

/* kernel_shape, strides, pads, dilations and auto_pad of a 2-D window on
 * input (H, W); the pads resolved as ONNX defines SAME_UPPER, SAME_LOWER
 * and VALID. */
static int read_window(conv *c, const Onnx__NodeProto *n, int i, const int64_t *hw, const int64_t *kdef, window *w)
{
    int present, need_kernel = kdef == NULL;
    w->k[0] = kdef ? kdef[0] : 0;
    w->k[1] = kdef ? kdef[1] : 0;
    w->s[0] = w->s[1] = 1;
    w->d[0] = w->d[1] = 1;
    memset(w->p, 0, sizeof w->p);
    if (!attr_ints(n, "kernel_shape", w->k, 2, &present))
        return !refuse(c, n, i, "kernel_shape has %zu values: only 2-D windows are supported",
                       attr(n, "kernel_shape")->n_ints);
    if (need_kernel && !present) return !refuse(c, n, i, "kernel_shape is missing");
    if (!attr_ints(n, "strides", w->s, 2, NULL)) return !refuse(c, n, i, "strides must have 2 values");
    if (!attr_ints(n, "dilations", w->d, 2, NULL)) return !refuse(c, n, i, "dilations must have 2 values");
    int have_pads;
    if (!attr_ints(n, "pads", w->p, 4, &have_pads)) return !refuse(c, n, i, "pads must have 4 values");
    w->ceil = (int)attr_int(n, "ceil_mode", 0);
    for (int a = 0; a < 2; a++) {
        if (w->k[a] < 1 || w->k[a] > 1024) return !refuse(c, n, i, "kernel size %lld is out of range", (long long)w->k[a]);
        if (w->s[a] < 1 || w->s[a] > 1024) return !refuse(c, n, i, "stride %lld is out of range", (long long)w->s[a]);
        if (w->d[a] != 1)
            return !refuse(c, n, i, "dilations (%lld, %lld) are not supported (only 1)", (long long)w->d[0],
                           (long long)w->d[1]);
    }
    for (int a = 0; a < 4; a++)
        if (w->p[a] < 0 || w->p[a] > 1024) return !refuse(c, n, i, "pad %lld is out of range", (long long)w->p[a]);
    if (w->ceil != 0 && w->ceil != 1) return !refuse(c, n, i, "ceil_mode=%d is not 0 or 1", w->ceil);
    char buf[32];
    const char *ap = attr_str(n, "auto_pad", "NOTSET", buf, sizeof buf);
    if (!strcmp(ap, "NOTSET")) return 1;
    if (have_pads && (w->p[0] || w->p[1] || w->p[2] || w->p[3]))
        return !refuse(c, n, i, "auto_pad=%s and explicit pads are given together", ap);
    if (!strcmp(ap, "VALID")) return 1;
    int lower = !strcmp(ap, "SAME_LOWER");
    if (!lower && strcmp(ap, "SAME_UPPER")) return !refuse(c, n, i, "auto_pad=%.20s is not supported", ap);
    for (int a = 0; a < 2; a++) {
        int64_t out = (hw[a] + w->s[a] - 1) / w->s[a];
        int64_t total = (out - 1) * w->s[a] + w->k[a] - hw[a];
        if (total < 0) total = 0;
        int64_t before = lower ? total - total / 2 : total / 2;
        w->p[a] = before;
        w->p[a + 2] = total - before;
    }
    return 1;
}

/* The output size ONNX gives (floor or ceil of the window count, pads in). */
static int64_t onnx_out(int64_t in, int64_t k, int64_t s, int64_t pb, int64_t pa, int ceil_mode)
{
    int64_t span = in + pb + pa - k;
    if (span < 0) return 0;
    return (ceil_mode ? (span + s - 1) / s : span / s) + 1;
}

/* ---- the operators ------------------------------------------------------------ */

static int need_rank(conv *c, const Onnx__NodeProto *n, int i, int rank)
{
    char b[80];
    if (c->sh.rank == rank) return 1;
    return !refuse(c, n, i, "its input %s has rank %d; it is supported on rank %d", shape_text(&c->sh, b, sizeof b),
                   c->sh.rank, rank);
}

static int op_conv(conv *c, const Onnx__NodeProto *n, int i, const char *name)
{
    if (!check_attrs(c, n, i, " kernel_shape strides pads dilations group auto_pad ") || !need_rank(c, n, i, 4))
        return 0;
    const Onnx__TensorProto *W = const_input(c, n, 1), *B = has_input(n, 2) ? const_input(c, n, 2) : NULL;
    if (!W) return !refuse(c, n, i, "its weights '%.60s' are not an initializer", n->n_input > 1 ? n->input[1] : "");
    if (has_input(n, 2) && !B) return !refuse(c, n, i, "its bias '%.60s' is not an initializer", n->input[2]);
    if (W->n_dims != 4) return !refuse(c, n, i, "weights of %zu dims: only 2-D convolutions are supported", W->n_dims);
    int64_t O = W->dims[0], Ig = W->dims[1], KH = W->dims[2], KW = W->dims[3], g = attr_int(n, "group", 1);
    int64_t C = c->sh.d[1], H = c->sh.d[2], Wd = c->sh.d[3];
    if (g < 1 || O < 1 || Ig < 1 || O % g || Ig * g != C)
        return !refuse(c, n, i, "weights (%lld, %lld, %lld, %lld) with group=%lld do not fit %lld input channels",
                       (long long)O, (long long)Ig, (long long)KH, (long long)KW, (long long)g, (long long)C);
    window w;
    int64_t hw[2] = {H, Wd}, kdef[2] = {KH, KW};
    if (!read_window(c, n, i, hw, kdef, &w)) return 0;
    if (w.k[0] != KH || w.k[1] != KW)
        return !refuse(c, n, i, "kernel_shape (%lld, %lld) differs from its weights' (%lld, %lld)",
                       (long long)w.k[0], (long long)w.k[1], (long long)KH, (long long)KW);
    if (KH > 1024 || KW > 1024 || KH < 1 || KW < 1) return !refuse(c, n, i, "kernel size out of range");
    if (B && (B->n_dims != 1 || B->dims[0] != O))
        return !refuse(c, n, i, "its bias has %zu dims, expected (%lld)", B->n_dims, (long long)O);
    int64_t oh = onnx_out(H, KH, w.s[0], w.p[0], w.p[2], 0), ow = onnx_out(Wd, KW, w.s[1], w.p[1], w.p[3], 0);
    if (oh < 1 || ow < 1) return !refuse(c, n, i, "its window does not fit its %lldx%lld input", (long long)H, (long long)Wd);
    fprintf(c->body, "conv     %s out=%lld kh=%lld kw=%lld sh=%lld sw=%lld pad=%lld,%lld,%lld,%lld groups=%lld bias=%d\n",
            name, (long long)O, (long long)KH, (long long)KW, (long long)w.s[0], (long long)w.s[1],
            (long long)w.p[0], (long long)w.p[1], (long long)w.p[2], (long long)w.p[3], (long long)g, B != NULL);
    int64_t ws[4] = {O, Ig, KH, KW};
    if (!add_job(c, name, "weight", W, 4, ws, 0, 1.0f, 0)) return 0;
    if (B && !add_job(c, name, "bias", B, 1, &O, 0, 1.0f, 0)) return 0;
    if (!c->first_conv_out) {
        c->first_conv_out = (int)O;
        c->conv1_k = KH == KW ? (int)KH : 0;
        c->conv1_s = w.s[0] == w.s[1] ? (int)w.s[0] : 0;
        c->conv1_p = w.p[0] == w.p[1] && w.p[1] == w.p[2] && w.p[2] == w.p[3] ? (int)w.p[0] : -1;
    }
    c->nconv++;
    c->sh.d[1] = O; c->sh.d[2] = oh; c->sh.d[3] = ow;
    return 1;
}

static int op_maxpool(conv *c, const Onnx__NodeProto *n, int i, const char *name)
{
    if (!check_attrs(c, n, i, " kernel_shape strides pads dilations ceil_mode auto_pad storage_order ") ||
        !need_rank(c, n, i, 4))
        return 0;
    if (n->n_output > 1 && uses(c, n->output[1], i))
        return !refuse(c, n, i, "its Indices output '%.60s' is used: not supported", n->output[1]);
    window w;
    int64_t hw[2] = {c->sh.d[2], c->sh.d[3]}, out[2];
    if (!read_window(c, n, i, hw, NULL, &w)) return 0;
    for (int a = 0; a < 2; a++) {
        out[a] = onnx_out(hw[a], w.k[a], w.s[a], w.p[a], w.p[a + 2], w.ceil);
        int engine = ax_window_out((int)hw[a], (int)w.k[a], (int)w.s[a], (int)w.p[a], (int)w.p[a + 2], w.ceil);
        if (out[a] < 1) return !refuse(c, n, i, "its window does not fit its input");
        /* Caffe's and PyTorch's ceil drops a last window that starts in the
         * padding, ONNX's keeps it: such a pool is refused, not run shorter */
        if (engine != out[a])
            return !refuse(c, n, i, "ceil_mode with these pads gives a last window that starts inside the padding "
                           "(%lld outputs by ONNX, %d by alexscope's pool): not supported", (long long)out[a], engine);
    }
    /* a window wholly inside the padding would take no value */
    for (int a = 0; a < 2; a++)
        if (w.p[a] >= w.k[a] || w.p[a + 2] >= w.k[a])
            return !refuse(c, n, i, "pads as large as its window are not supported");
    fprintf(c->body, "maxpool  %s kh=%lld kw=%lld sh=%lld sw=%lld pad=%lld,%lld,%lld,%lld round=%s\n", name,
            (long long)w.k[0], (long long)w.k[1], (long long)w.s[0], (long long)w.s[1], (long long)w.p[0],
            (long long)w.p[1], (long long)w.p[2], (long long)w.p[3], w.ceil ? "ceil" : "floor");
    c->sh.d[2] = out[0]; c->sh.d[3] = out[1];
    return 1;
}

static int op_avgpool(conv *c, const Onnx__NodeProto *n, int i, const char *name, int global)
{
    if (!check_attrs(c, n, i, global ? " " : " kernel_shape strides pads ceil_mode auto_pad count_include_pad ") ||
        !need_rank(c, n, i, 4))
        return 0;
    int64_t H = c->sh.d[2], W = c->sh.d[3], oh = 1, ow = 1;
    if (!global) {
        window w;
        int64_t hw[2] = {H, W};
        if (!read_window(c, n, i, hw, NULL, &w)) return 0;
        /* alexscope's avgpool has bins that tile the input: a window equal
         * to its stride, dividing the input, without padding */
        if (w.p[0] || w.p[1] || w.p[2] || w.p[3] || w.k[0] != w.s[0] || w.k[1] != w.s[1] || H % w.k[0] ||
            W % w.k[1])
            return !refuse(c, n, i, "a %lldx%lld window with strides %lldx%lld and pads %lld,%lld,%lld,%lld on a "
                           "%lldx%lld input is not supported (only windows that tile the input)",
                           (long long)w.k[0], (long long)w.k[1], (long long)w.s[0], (long long)w.s[1],
                           (long long)w.p[0], (long long)w.p[1], (long long)w.p[2], (long long)w.p[3],
                           (long long)H, (long long)W);
        oh = H / w.k[0];
        ow = W / w.k[1];
    }
    fprintf(c->body, "avgpool  %s size=%lldx%lld\n", name, (long long)oh, (long long)ow);
    c->sh.d[2] = oh; c->sh.d[3] = ow;
    return 1;
}

static int op_lrn(conv *c, const Onnx__NodeProto *n, int i, const char *name)
{
    if (!check_attrs(c, n, i, " size alpha beta bias ")) return 0;
    if (c->sh.rank != 4) return need_rank(c, n, i, 4);
    int64_t size = attr_int(n, "size", 0);
    if (!attr(n, "size")) return !refuse(c, n, i, "the size attribute is missing");
    /* ONNX's window runs floor((size-1)/2) channels before and ceil after:
     * centred only when size is odd, which is what alexscope's LRN does */
    if (size < 1 || size > 1023 || size % 2 == 0)
        return !refuse(c, n, i, "size=%lld is not supported (only odd sizes: a window centred on the channel)",
                       (long long)size);
    fprintf(c->body, "lrn      %s convention=caffe size=%lld alpha=%.9g beta=%.9g k=%.9g\n", name, (long long)size,
            (double)attr_float(n, "alpha", 1e-4f), (double)attr_float(n, "beta", 0.75f),
            (double)attr_float(n, "bias", 1.0f));
    c->has_lrn = 1;
    return 1;
}

/* The fully connected layer of Gemm, or of MatMul followed by an Add of a
 * bias (fused: the layer is named after the Add's output). */
static int op_fc(conv *c, const Onnx__NodeProto *n, int i, const char *name, const Onnx__TensorProto *W,
                 int trans_b, float alpha, const Onnx__TensorProto *C, float beta)
{
    char b[80];
    if (c->sh.rank != 2)
        return !refuse(c, n, i, "its input %s is not 2-D (N, K)", shape_text(&c->sh, b, sizeof b));
    if (!W || W->n_dims != 2) return !refuse(c, n, i, "its weights are not a 2-D initializer");
    int64_t K = c->sh.d[1], in = trans_b ? W->dims[1] : W->dims[0], out = trans_b ? W->dims[0] : W->dims[1];
    if (in != K || out < 1)
        return !refuse(c, n, i, "weights (%lld, %lld)%s do not fit its %lld inputs", (long long)W->dims[0],
                       (long long)W->dims[1], trans_b ? " with transB=1" : "", (long long)K);
    if (out > (1 << 20)) return !refuse(c, n, i, "%lld outputs are too many", (long long)out);
    int bias = C != NULL, bcast = 0;
    if (C) {
        int64_t cn = ax_onnx_numel(C);
        /* a bias is one value, (out), (1, out): one for every row; (M, out)
         * with M > 1 would add a different one to each row */
        int row = (C->n_dims == 1 && C->dims[0] == out) || (C->n_dims == 2 && C->dims[0] == 1 && C->dims[1] == out);
        if (cn == 1 && !row) bcast = 1;
        else if (!row) {
            int64_t d[AX_WMAX_DIMS] = {0};
            for (size_t k = 0; k < C->n_dims && k < AX_WMAX_DIMS; k++) d[k] = C->dims[k];
            return !refuse(c, n, i, "a bias of shape %s is not one row of %lld values", 
                           ax_shape_str(b, sizeof b, (int)(C->n_dims < AX_WMAX_DIMS ? C->n_dims : AX_WMAX_DIMS), d),
                           (long long)out);
        }
    }
    fprintf(c->body, "fc       %s out=%lld bias=%d\n", name, (long long)out, bias);
    int64_t ws[2] = {out, K};
    if (!add_job(c, name, "weight", W, 2, ws, !trans_b, alpha, 0)) return 0;
    if (C && !add_job(c, name, "bias", C, 1, &out, 0, beta, bcast)) return 0;
    c->last_fc_out = (int)out;
    c->nfc++;
    c->sh.d[1] = out;
    return 1;
}

static int op_gemm(conv *c, const Onnx__NodeProto *n, int i, const char *name)
{
    if (!check_attrs(c, n, i, " alpha beta transA transB broadcast ")) return 0;
    if (attr_int(n, "transA", 0)) return !refuse(c, n, i, "transA=1 is not supported (the input is (N, K))");
    const Onnx__TensorProto *W = const_input(c, n, 1), *C = has_input(n, 2) ? const_input(c, n, 2) : NULL;
    if (!W) return !refuse(c, n, i, "its B '%.60s' is not an initializer", n->n_input > 1 ? n->input[1] : "");
    if (has_input(n, 2) && !C) return !refuse(c, n, i, "its C '%.60s' is not an initializer", n->input[2]);
    float beta = attr_float(n, "beta", 1.0f);
    if (beta == 0.0f) C = NULL;
    return op_fc(c, n, i, name, W, (int)attr_int(n, "transB", 0), attr_float(n, "alpha", 1.0f), C, beta);
}

static int write_flatten(conv *c, const char *name)
{
    fprintf(c->body, "flatten  %s order=chw\n", name);
    int64_t k = 1;
    for (int d = 1; d < c->sh.rank; d++) k *= c->sh.d[d];
    c->sh.rank = 2;
    c->sh.d[1] = k;
    return 1;
}

/* Flatten, and a Reshape to (N, K) (its attributes read by op_reshape). */
static int op_flatten(conv *c, const Onnx__NodeProto *n, int i, const char *name)
{
    if (!is_op(n, "Flatten")) return write_flatten(c, name);   /* a Reshape's attributes were read there */
    if (!check_attrs(c, n, i, " axis ")) return 0;
    int64_t axis = attr_int(n, "axis", 1);
    if (axis < 0) axis += c->sh.rank;
    if (axis != 1)
        return !refuse(c, n, i, "axis=%lld is not supported (only 1: each image flattened on its own)",
                       (long long)attr_int(n, "axis", 1));
    return write_flatten(c, name);
}

/* Reshape by a constant shape: to (N, K) a C,H,W flatten, to the same
 * shape nothing; 0 copies a dim (unless allowzero), -1 takes the rest. */
static int op_reshape(conv *c, const Onnx__NodeProto *n, int i, const char *name, int *alias)
{
    if (!check_attrs(c, n, i, " shape allowzero consumed_inputs ")) return 0;
    int64_t t[8];
    size_t rank = 0;
    if (c->opset < 5) {
        const Onnx__AttributeProto *a = attr(n, "shape");
        if (!a || a->n_ints > 8) return !refuse(c, n, i, "the shape attribute is missing or over 8 dims");
        for (size_t k = 0; k < a->n_ints; k++) t[k] = a->ints[k];
        rank = a->n_ints;
    } else {
        const Onnx__TensorProto *s = const_input(c, n, 1);
        if (!s) return !refuse(c, n, i, "its shape '%.60s' is not a constant", n->n_input > 1 ? n->input[1] : "");
        if (!small_ints(c, n, i, s, "its shape", t, 8, &rank)) return 0;
    }
    int allowzero = (int)attr_int(n, "allowzero", 0);
    int64_t total = 1, known = 1;
    for (int d = 0; d < c->sh.rank; d++) total *= c->sh.d[d];
    int infer = -1;
    for (size_t k = 0; k < rank; k++) {
        if (t[k] == AX_BATCH_DIM) {
            /* the batch size from a folded Shape: only as the first dim */
            if (k) return !refuse(c, n, i, "its shape puts the batch size at dim %zu: not supported", k);
            t[k] = c->sh.d[0];
        }
        if (t[k] == 0 && !allowzero) {
            if ((int)k >= c->sh.rank) return !refuse(c, n, i, "shape entry %zu is 0 past the input's rank", k);
            t[k] = c->sh.d[k];
        }
        if (t[k] == -1) {
            if (infer >= 0) return !refuse(c, n, i, "its shape has two -1 entries");
            infer = (int)k;
            continue;
        }
        if (t[k] < 1) return !refuse(c, n, i, "shape entry %zu is %lld", k, (long long)t[k]);
        if (known > total / t[k] + 1) return !refuse(c, n, i, "its shape's product overflows");
        known *= t[k];
    }
    if (infer >= 0) {
        if (!known || total % known) return !refuse(c, n, i, "no size for its -1 entry fits %lld values", (long long)total);
        t[infer] = total / known;
        known = total;
    }
    if (known != total) return !refuse(c, n, i, "reshaping %lld values to %lld", (long long)total, (long long)known);
    int same = (int)rank == c->sh.rank;
    for (size_t k = 0; same && k < rank; k++) same = t[k] == c->sh.d[k];
    if (same) { *alias = 1; return 1; }
    if (rank == 2 && t[0] == c->sh.d[0]) return op_flatten(c, n, i, name);
    char b[80];
    return !refuse(c, n, i, "reshaping %s to a shape of %zu dims other than (N, K) is not supported",
                   shape_text(&c->sh, b, sizeof b), rank);
}

static int op_dropout(conv *c, const Onnx__NodeProto *n, int i, const char *name)
{
    if (!check_attrs(c, n, i, " ratio is_test seed consumed_inputs ")) return 0;
    if (n->n_output > 1 && uses(c, n->output[1], i))
        return !refuse(c, n, i, "its mask output '%.60s' is used: not supported", n->output[1]);
    if (has_input(n, 2)) return !refuse(c, n, i, "a training_mode input is not supported (inference only)");
    float p = attr_float(n, "ratio", 0.5f);
    if (has_input(n, 1)) {
        const Onnx__TensorProto *r = const_input(c, n, 1);
        if (!r) return !refuse(c, n, i, "its ratio '%.60s' is not a constant", n->input[1]);
        if (!scalar_float(c, n, i, r, "its ratio", &p)) return 0;
    }
    if (!(p >= 0 && p < 1)) return !refuse(c, n, i, "ratio=%g is not in [0, 1)", (double)p);
    fprintf(c->body, "dropout  %s p=%.9g\n", name, (double)p);
    return 1;
}

/* Before opset 13 Softmax flattens from axis (default 1) and normalises each
 * row; from 13 on it normalises along one axis (default -1). alexscope's
 * softmax normalises all of each image: the same only where the dims it
 * would keep apart are 1. */
static int op_softmax(conv *c, const Onnx__NodeProto *n, int i, const char *name)
{
    if (!check_attrs(c, n, i, " axis ")) return 0;
    int64_t axis = attr_int(n, "axis", c->opset < 13 ? 1 : -1), a = axis < 0 ? axis + c->sh.rank : axis;
    int ok = a >= 1 && a < c->sh.rank;
    for (int d = 1; ok && d < c->sh.rank; d++)
        if (c->opset < 13 ? d < a : d != a) ok = c->sh.d[d] == 1;
    char b[80];
    if (!ok)
        return !refuse(c, n, i, "axis=%lld on %s (opset %lld) is not supported: alexscope's softmax normalises all "
                       "values of each image", (long long)axis, shape_text(&c->sh, b, sizeof b), (long long)c->opset);
    fprintf(c->body, "softmax  %s\n", name);
    return 1;
}

static int op_pad(conv *c, const Onnx__NodeProto *n, int i, const char *name)
{
    if (!check_attrs(c, n, i, " mode pads paddings value ") || !need_rank(c, n, i, 4)) return 0;
    char buf[32];
    const char *mode = attr_str(n, "mode", "constant", buf, sizeof buf);
    if (strcmp(mode, "constant")) return !refuse(c, n, i, "mode=%.20s is not supported (only constant)", mode);
    int64_t p[8] = {0};
    size_t np = 0;
    float value = attr_float(n, "value", 0.0f);
    if (c->opset < 11) {
        const Onnx__AttributeProto *a = attr(n, "pads");
        if (!a) a = attr(n, "paddings");
        if (!a || a->n_ints > 8) return !refuse(c, n, i, "the pads attribute is missing or too long");
        for (size_t k = 0; k < a->n_ints; k++) p[k] = a->ints[k];
        np = a->n_ints;
    } else {
        const Onnx__TensorProto *t = const_input(c, n, 1);
        if (!t) return !refuse(c, n, i, "its pads '%.60s' are not a constant", n->n_input > 1 ? n->input[1] : "");
        if (!small_ints(c, n, i, t, "its pads", p, 8, &np)) return 0;
        if (has_input(n, 2)) {
            const Onnx__TensorProto *v = const_input(c, n, 2);
            if (!v) return !refuse(c, n, i, "its constant_value is not a constant");
            if (!scalar_float(c, n, i, v, "its constant_value", &value)) return 0;
        }
        if (has_input(n, 3)) return !refuse(c, n, i, "an axes input is not supported");
    }
    if (np != 8) return !refuse(c, n, i, "%zu pads for a rank-4 input (expected 8)", np);
    if (value != 0.0f) return !refuse(c, n, i, "padding with %g is not supported (only 0)", (double)value);
    if (p[0] || p[1] || p[4] || p[5]) return !refuse(c, n, i, "padding the batch or channel axis is not supported");
    for (int k = 0; k < 8; k++)
        if (p[k] < 0 || p[k] > 1024) return !refuse(c, n, i, "pad %lld is not supported (0 to 1024)", (long long)p[k]);
    fprintf(c->body, "pad      %s pad=%lld,%lld,%lld,%lld\n", name, (long long)p[2], (long long)p[3],
            (long long)p[6], (long long)p[7]);
    c->sh.d[2] += p[2] + p[6];
    c->sh.d[3] += p[3] + p[7];
    return 1;
}

/* A tensor made here for node n's output, kept with the net (ax_onnx_net_free
 * frees it and its dims); NULL with c->status set when out of memory. */
static Onnx__TensorProto *synth_tensor(conv *c, const Onnx__NodeProto *n)
{
    Onnx__TensorProto *t = calloc(1, sizeof *t);
    Onnx__TensorProto **grown = t ? realloc(c->out->synth, (size_t)(c->out->nsynth + 1) * sizeof *grown) : NULL;
    if (!grown) {
        free(t);
        c->status = ax_fail(c->err, AX_ERR_NOMEM, "%s: out of memory", c->file);
        return NULL;
    }
    c->out->synth = grown;
    c->out->synth[c->out->nsynth++] = t;
    onnx__tensor_proto__init(t);
    t->name = n->output[0];
    t->has_data_type = 1;
    return t;
}

/* A Constant node's value as a tensor (value; value_float(s), value_int(s)). */
static int op_constant(conv *c, const Onnx__NodeProto *n, int i)
{
    if (!check_attrs(c, n, i, " value value_float value_floats value_int value_ints ")) return 0;
    if (!n->n_output || !n->output[0]) return !refuse(c, n, i, "it has no output");
    const Onnx__AttributeProto *a = attr(n, "value");
    if (a && a->t) {
        table_put(&c->consts, n->output[0], a->t);
        return 1;
    }
    a = n->n_attribute ? n->attribute[0] : NULL;
    if (!a) return !refuse(c, n, i, "it has no value");
    Onnx__TensorProto *t = synth_tensor(c, n);
    if (!t) return 0;
    if (a->has_f && !strcmp(a->name, "value_float")) { t->data_type = AX_ONNX_FLOAT; t->n_float_data = 1; t->float_data = (float *)&a->f; }
    else if (!strcmp(a->name, "value_floats")) { t->data_type = AX_ONNX_FLOAT; t->n_float_data = a->n_floats; t->float_data = a->floats; t->n_dims = 1; }
    else if (a->has_i && !strcmp(a->name, "value_int")) { t->data_type = AX_ONNX_INT64; t->n_int64_data = 1; t->int64_data = (int64_t *)&a->i; }
    else if (!strcmp(a->name, "value_ints")) { t->data_type = AX_ONNX_INT64; t->n_int64_data = a->n_ints; t->int64_data = a->ints; t->n_dims = 1; }
    else return !refuse(c, n, i, "its value attribute '%.40s' has no value", a->name);
    if (t->n_dims) {
        int64_t *d = malloc(sizeof *d);
        if (!d) { c->status = ax_fail(c->err, AX_ERR_NOMEM, "%s: out of memory", c->file); return 0; }
        *d = (int64_t)(t->data_type == AX_ONNX_FLOAT ? t->n_float_data : t->n_int64_data);
        t->dims = d;
    }
    table_put(&c->consts, n->output[0], t);
    return 1;
}

/* ---- shapes: Shape, Gather, Unsqueeze, Squeeze, Concat, Cast ------------------
 * Exporters compute a Reshape's target from the tensor's own shape
 * (x.view(x.size(0), -1) in PyTorch is Shape -> Gather -> Unsqueeze ->
 * Concat). The chain's shapes are known, so such nodes are folded into
 * constants here; the batch size, which the net learns only when it runs,
 * is the value AX_BATCH_DIM, which Reshape reads back as "the batch". */


/* A folded integer tensor of rank 0 or 1, kept with the net (its dims and
 * values in one block that ax_onnx_net_free frees with the dims). */
static int put_ints(conv *c, const Onnx__NodeProto *n, const int64_t *v, size_t count, int rank)
{
    int64_t *block = malloc((1 + (count ? count : 1)) * sizeof *block);
    Onnx__TensorProto *t = block ? synth_tensor(c, n) : NULL;
    if (!t) {
        free(block);
        if (!c->status) c->status = ax_fail(c->err, AX_ERR_NOMEM, "%s: out of memory", c->file);
        return 0;
    }
    t->data_type = AX_ONNX_INT64;
    block[0] = (int64_t)count;
    memcpy(block + 1, v, count * sizeof *v);
    t->dims = block;
    t->n_dims = (size_t)rank;
    t->int64_data = block + 1;
    t->n_int64_data = count;
    table_put(&c->consts, n->output[0], t);
    return 1;
}

/* Input k of a shape node: a small integer constant of rank 0 or 1. */
static int shape_input(conv *c, const Onnx__NodeProto *n, int i, size_t k, int64_t *v, size_t *count, int *rank)
{
    const Onnx__TensorProto *t = const_input(c, n, k);
    if (!t)
        return !refuse(c, n, i, "its input '%.60s' is not a constant: %s is read only where it computes a shape "
                       "from constants and known shapes", k < n->n_input ? n->input[k] : "", n->op_type);
    if (t->n_dims > 1) return !refuse(c, n, i, "its input '%.60s' has rank %zu: shapes have rank 0 or 1", n->input[k], t->n_dims);
    char what[80];
    snprintf(what, sizeof what, "its input '%.40s'", n->input[k]);
    if (!small_ints(c, n, i, t, what, v, SHAPE_MAX, count)) return 0;
    *rank = (int)t->n_dims;
    return 1;
}

static int shape_op(conv *c, const Onnx__NodeProto *n, int i, const char *op)
{
    int64_t v[SHAPE_MAX], out[SHAPE_MAX];
    size_t count = 0, m = 0;
    int rank = 0, out_rank = 1;
    if (!n->n_output || !n->output[0] || !n->output[0][0]) return !refuse(c, n, i, "it has no output");
    if (!strcmp(op, "Shape")) {
        if (!check_attrs(c, n, i, " start end ")) return 0;
        if (!n->n_input || !n->input[0] || strcmp(n->input[0], c->head))
            return !refuse(c, n, i, "it reads '%.60s', not the chain's current tensor '%.60s': not supported",
                           n->n_input && n->input[0] ? n->input[0] : "", c->head);
        int64_t r = c->sh.rank, start = attr_int(n, "start", 0), end = attr_int(n, "end", r);
        if (start < 0) start += r;
        if (end < 0) end += r;
        if (start < 0) start = 0;
        if (end > r) end = r;
        for (int64_t d = start; d < end; d++) out[m++] = d ? c->sh.d[d] : AX_BATCH_DIM;
    } else if (!strcmp(op, "Gather")) {
        int64_t idx[SHAPE_MAX];
        size_t ni;
        int irank;
        if (!check_attrs(c, n, i, " axis ") || !shape_input(c, n, i, 0, v, &count, &rank) ||
            !shape_input(c, n, i, 1, idx, &ni, &irank))
            return 0;
        if (rank != 1 || attr_int(n, "axis", 0) != 0)
            return !refuse(c, n, i, "only Gather along axis 0 of a 1-D shape is supported");
        for (size_t k = 0; k < ni; k++) {
            int64_t j = idx[k] < 0 ? idx[k] + (int64_t)count : idx[k];
            if (j < 0 || j >= (int64_t)count)
                return !refuse(c, n, i, "index %lld is outside its %zu values", (long long)idx[k], count);
            out[m++] = v[j];
        }
        out_rank = irank;
    } else if (!strcmp(op, "Unsqueeze") || !strcmp(op, "Squeeze")) {
        int sq = op[0] == 'S';
        if (!check_attrs(c, n, i, " axes ") || !shape_input(c, n, i, 0, v, &count, &rank)) return 0;
        int64_t axes[SHAPE_MAX];
        size_t na = 0;
        const Onnx__AttributeProto *a = attr(n, "axes");
        if (a) {
            if (a->n_ints > SHAPE_MAX) return !refuse(c, n, i, "too many axes");
            for (size_t k = 0; k < a->n_ints; k++) axes[na++] = a->ints[k];
        } else if (has_input(n, 1)) {
            int ar;
            if (!shape_input(c, n, i, 1, axes, &na, &ar)) return 0;
        }
        /* a scalar made a 1-value vector, or back: the only forms a shape takes */
        int ok = sq ? rank == 1 && count == 1 && (na == 0 || (na == 1 && (axes[0] == 0 || axes[0] == -1)))
                    : rank == 0 && na == 1 && (axes[0] == 0 || axes[0] == -1);
        if (!ok) return !refuse(c, n, i, "only a scalar made a vector of one value (or back) is supported");
        memcpy(out, v, count * sizeof *v);
        m = count;
        out_rank = sq ? 0 : 1;
    } else if (!strcmp(op, "Concat")) {
        if (!check_attrs(c, n, i, " axis ")) return 0;
        int64_t axis = attr_int(n, "axis", 0);
        if (axis != 0 && axis != -1) return !refuse(c, n, i, "axis=%lld: shapes are joined along axis 0", (long long)axis);
        for (size_t k = 0; k < n->n_input; k++) {
            if (!shape_input(c, n, i, k, v, &count, &rank)) return 0;
            if (rank != 1) return !refuse(c, n, i, "its input '%.60s' is a scalar: Concat takes vectors", n->input[k]);
            if (m + count > SHAPE_MAX) return !refuse(c, n, i, "the joined shape has over %d values", SHAPE_MAX);
            memcpy(out + m, v, count * sizeof *v);
            m += count;
        }
    } else {   /* Cast to an integer type: the values stay */
        if (!check_attrs(c, n, i, " to saturate ") || !shape_input(c, n, i, 0, v, &count, &rank)) return 0;
        int64_t to = attr_int(n, "to", 0);
        if (to != AX_ONNX_INT64 && to != AX_ONNX_INT32)
            return !refuse(c, n, i, "a cast to type %lld is supported only to INT64 or INT32 on shapes", (long long)to);
        memcpy(out, v, count * sizeof *v);
        m = count;
        out_rank = rank;
    }
    if (out_rank == 0 && m != 1) return !refuse(c, n, i, "a scalar of %zu values", m);
    return put_ints(c, n, out, m, out_rank);
}

static int is_shape_op(const char *op)
{
    return !strcmp(op, "Shape") || !strcmp(op, "Gather") || !strcmp(op, "Unsqueeze") || !strcmp(op, "Squeeze") ||
           !strcmp(op, "Concat") || !strcmp(op, "Cast");
}

/* ---- the graph ---------------------------------------------------------------- */

static const char *const supported =
    "Conv, Relu, LRN, MaxPool, AveragePool, GlobalAveragePool, Gemm, MatMul (+ Add), Flatten, Reshape, Dropout, "
    "Softmax, Pad, Identity, Constant; Shape, Gather, Unsqueeze, Squeeze, Concat and Cast where they compute a shape";

/* The graph's one real input: IR v3 files list initializers among the inputs. */
static int find_input(conv *c)
{
    const Onnx__GraphProto *g = c->g;
    const Onnx__ValueInfoProto *in = NULL;
    char names[200] = "";
    int count = 0;
    for (size_t k = 0; k < g->n_input; k++) {
        const Onnx__ValueInfoProto *v = g->input[k];
        if (!v->name || table_get(&c->consts, v->name)) continue;
        if (!in) in = v;
        if (count++ < 4)
            snprintf(names + strlen(names), sizeof names - strlen(names), "%s'%.40s'", count > 1 ? ", " : "", v->name);
    }
    if (!in) return !refuse(c, NULL, 0, "the graph has no input that is not an initializer");
    if (count > 1)
        return !refuse(c, NULL, 0, "the graph has %d inputs that are not initializers (%s%s): alexscope runs nets "
                       "with one input", count, names, count > 4 ? ", ..." : "");
    const Onnx__TypeProto *tp = in->type;
    if (!tp || tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !tp->tensor_type ||
        !tp->tensor_type->shape)
        return !refuse(c, NULL, 0, "input '%.60s' is no tensor of known shape", in->name);
    if (tp->tensor_type->has_elem_type && tp->tensor_type->elem_type != AX_ONNX_FLOAT)
        return !refuse(c, NULL, 0, "input '%.60s' has element type %d (only FLOAT, 1)", in->name,
                       tp->tensor_type->elem_type);
    const Onnx__TensorShapeProto *s = tp->tensor_type->shape;
    if (s->n_dim != 2 && s->n_dim != 4)
        return !refuse(c, NULL, 0, "input '%.60s' has rank %zu: alexscope takes (N, C, H, W) or (N, K)", in->name,
                       s->n_dim);
    c->sh.rank = (int)s->n_dim;
    for (size_t d = 0; d < s->n_dim; d++) {
        const Onnx__TensorShapeProto__Dimension *dm = s->dim[d];
        int known = dm->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE && dm->dim_value > 0;
        if (!known && d > 0)
            return !refuse(c, NULL, 0, "input '%.60s': dim %zu is not a fixed size", in->name, d);
        int64_t v = known ? dm->dim_value : 1;
        if (v > (d ? 1 << 20 : 4096))
            return !refuse(c, NULL, 0, "input '%.60s': dim %zu is %lld, too large", in->name, d, (long long)v);
        c->sh.d[d] = v;
    }
    if (c->sh.rank == 2) c->sh.d[2] = c->sh.d[3] = 1;
    c->head = in->name;
    snprintf(c->out->input, sizeof c->out->input, "%.*s", AX_NAME_MAX - 1, in->name);
    return 1;
}

static int walk_nodes(conv *c)
{
    const Onnx__GraphProto *g = c->g;
    for (size_t ui = 0; ui < g->n_node; ui++) {
        int i = (int)ui;
        const Onnx__NodeProto *n = g->node[ui];
        const char *op = n->op_type ? n->op_type : "";
        if (n->domain && n->domain[0] && strcmp(n->domain, "ai.onnx"))
            return !refuse(c, n, i, "operator domain '%.40s' is not supported", n->domain);
        if (!strcmp(op, "Constant")) {
            if (!op_constant(c, n, i)) return 0;
            continue;
        }
        if (is_shape_op(op)) {
            if (!shape_op(c, n, i, op)) return 0;
            continue;
        }
        if (!n->n_output || !n->output[0] || !n->output[0][0]) return !refuse(c, n, i, "it has no output");
        int known = !strcmp(op, "Conv") || !strcmp(op, "Relu") || !strcmp(op, "LRN") || !strcmp(op, "MaxPool") ||
                    !strcmp(op, "AveragePool") || !strcmp(op, "GlobalAveragePool") || !strcmp(op, "Gemm") ||
                    !strcmp(op, "MatMul") || !strcmp(op, "Flatten") || !strcmp(op, "Reshape") ||
                    !strcmp(op, "Dropout") || !strcmp(op, "Softmax") || !strcmp(op, "Pad") || !strcmp(op, "Identity");
        if (!known) return !refuse(c, n, i, "operator %.40s is not supported (alexscope runs %s)", op, supported);
        /* the data input is the chain's head; every other input a constant */
        if (!n->n_input || !n->input[0] || strcmp(n->input[0], c->head)) {
            const char *x = n->n_input && n->input[0] ? n->input[0] : "";
            if (table_get(&c->consts, x)) return !refuse(c, n, i, "its data input '%.60s' is a constant", x);
            int later = 0;
            for (size_t j = ui + 1; j < g->n_node && !later; j++)
                for (size_t k = 0; k < g->node[j]->n_output && !later; k++)
                    later = g->node[j]->output[k] && !strcmp(g->node[j]->output[k], x);
            if (later)
                return !refuse(c, n, i, "its input '%.60s' comes from a later node: the nodes are out of order or "
                               "form a cycle", x);
            return !refuse(c, n, i, "its input '%.60s' is not the output of the node before it ('%.60s'): the graph "
                           "branches, and alexscope runs chains", x, c->head);
        }
        for (size_t k = 1; k < n->n_input; k++)
            if (n->input[k] && n->input[k][0] && !table_get(&c->consts, n->input[k]))
                return !refuse(c, n, i, "its input %zu '%.60s' is neither an initializer nor a constant: the graph "
                               "branches", k, n->input[k]);
        if (uses(c, c->head, i - 1) > 1)
            return !refuse(c, n, i, "its input '%.60s' is used %d times: the graph branches", c->head,
                           uses(c, c->head, i - 1));
        if (!strcmp(op, "Identity")) {
            if (!check_attrs(c, n, i, " ")) return 0;
            c->head = n->output[0];
            continue;
        }
        /* MatMul then Add of a row is one fully connected layer */
        const Onnx__NodeProto *add = NULL;
        const Onnx__TensorProto *addb = NULL;
        if (!strcmp(op, "MatMul") && ui + 1 < g->n_node) {
            const Onnx__NodeProto *nx = g->node[ui + 1];
            if (nx->op_type && !strcmp(nx->op_type, "Add") && nx->n_input == 2 && nx->n_output >= 1 &&
                uses(c, n->output[0], i) == 1 && (!nx->domain || !nx->domain[0])) {
                int k = nx->input[0] && !strcmp(nx->input[0], n->output[0]) ? 1
                      : nx->input[1] && !strcmp(nx->input[1], n->output[0]) ? 0 : -1;
                if (k >= 0) {
                    add = nx;
                    addb = table_get(&c->consts, nx->input[k]);
                    if (!addb)
                        return !refuse(c, nx, i + 1, "it adds '%.60s', which is not an initializer", nx->input[k]);
                    if (!check_attrs(c, nx, i + 1, " ")) return 0;
                }
            }
        }
        const char *tensor = add ? add->output[0] : n->output[0];
        char name[AX_NAME_MAX];
        if (!layer_name(c, tensor, name))
            return !refuse(c, n, i, "the net would have more than %d layers", AX_MAX_LAYERS);
        int ok, alias = 0;
        if (!strcmp(op, "Conv")) ok = op_conv(c, n, i, name);
        else if (!strcmp(op, "Relu")) {
            ok = check_attrs(c, n, i, " consumed_inputs ");
            if (ok) fprintf(c->body, "relu     %s\n", name);
        } else if (!strcmp(op, "LRN")) ok = op_lrn(c, n, i, name);
        else if (!strcmp(op, "MaxPool")) ok = op_maxpool(c, n, i, name);
        else if (!strcmp(op, "AveragePool")) ok = op_avgpool(c, n, i, name, 0);
        else if (!strcmp(op, "GlobalAveragePool")) ok = op_avgpool(c, n, i, name, 1);
        else if (!strcmp(op, "Gemm")) ok = op_gemm(c, n, i, name);
        else if (!strcmp(op, "MatMul")) {
            ok = check_attrs(c, n, i, " ") && op_fc(c, n, i, name, const_input(c, n, 1), 0, 1.0f, addb, 1.0f);
        } else if (!strcmp(op, "Flatten")) ok = op_flatten(c, n, i, name);
        else if (!strcmp(op, "Reshape")) ok = op_reshape(c, n, i, name, &alias);
        else if (!strcmp(op, "Dropout")) ok = op_dropout(c, n, i, name);
        else if (!strcmp(op, "Softmax")) ok = op_softmax(c, n, i, name);
        else ok = op_pad(c, n, i, name);
        if (!ok) return 0;
        if (alias) c->out->layers--;   /* no layer: the name goes back */
        c->head = tensor;
        if (add) ui++;
    }
    return 1;
}

/* Text from the file (its name, the producer) as a spec line may carry it:
 * printable ASCII, every other byte '?' (a spec is plain UTF-8 text, and a
 * control byte or a lone 0x8b would make it one the parser refuses). */
static void plain_text(char *dst, size_t size, const char *src)
{
    size_t o = 0;
    for (; src && *src && o + 1 < size; src++) dst[o++] = (unsigned char)*src >= ' ' && (unsigned char)*src < 0x7f ? *src : '?';
    dst[o] = 0;
}

static void write_header(conv *c, FILE *out, const Onnx__ModelProto *m, const char *known)
{
    const char *slash = strrchr(c->file, '/');
    char base[120];
    plain_text(base, sizeof base, slash ? slash + 1 : c->file);
    char stem[AX_NAME_MAX];
    size_t j = 0;
    for (const char *p = base; *p && j < sizeof stem - 1; p++)
        stem[j++] = isalnum((unsigned char)*p) || *p == '-' || *p == '_' || *p == '.' ? *p : '_';
    stem[j] = 0;
    char *dot = strrchr(stem, '.');
    if (dot && dot != stem) *dot = 0;
    fprintf(out, "# Net spec printed by `alexscope inspect --spec` from %s: the graph's own\n"
                 "# operators, each layer named after its node's output tensor.\n", ax_text_safe(base));
    fprintf(out, "name        %s\n", stem);
    char producer[80], shown_base[160];
    plain_text(producer, sizeof producer, m->producer_name);
    plain_text(shown_base, sizeof shown_base, base);
    fprintf(out, "description ONNX graph (IR %lld, opset %lld%s%s) read from %s%s%s\n", (long long)m->ir_version,
            (long long)c->opset, producer[0] ? ", by " : "", producer, shown_base,
            !known ? "" : !strcmp(known, "torchvision") ? ": torchvision's AlexNet, preprocessing "
                        : ": bvlc AlexNet/CaffeNet, preprocessing ", known ? known : "");
}

/* The preprocessing of a graph recognised as AlexNet by its shape (five
 * convolutions, the first 11x11 at stride 4, three fully connected layers):
 * with LRN it is bvlc AlexNet/CaffeNet, at 224x224 as the ONNX model zoo
 * converted it from Caffe2 (the whole image resized, no crop, BGR 0..255
 * minus the ILSVRC mean), at 227x227 as Caffe runs it; without LRN and with
 * torchvision's first convolution (pad 2) it is torchvision's. Each line is
 * what `--preprocess NAME` sets for that input (src/input/preprocess.c). */
static const char *recognise(const conv *c, int64_t C, int64_t H, int64_t W)
{
    int alexnet = C == 3 && c->nconv == 5 && c->nfc == 3 && c->conv1_k == 11 && c->conv1_s == 4;
    if (alexnet && c->has_lrn && H == 224 && W == 224) return "zoo";
    if (alexnet && c->has_lrn && H == 227 && W == 227) return "caffe";
    if (alexnet && !c->has_lrn && c->conv1_p == 2 && H == 224 && W == 224) return "torchvision";
    return NULL;
}

static void write_preprocess(FILE *t, const char *known, int64_t H, int64_t W)
{
    if (!known) known = "";
    if (!strcmp(known, "zoo")) {
        fprintf(t, "# recognised: bvlc AlexNet/CaffeNet as the ONNX model zoo converted it (bvlcalexnet,\n"
                   "# caffenet): preprocessing zoo, the whole image resized to 224x224 with no crop,\n"
                   "# BGR, 0..255 minus the ILSVRC mean (B 103.939, G 116.779, R 123.68)\n");
        fprintf(t, "preprocess  resize=224x224 crop=224 order=bgr scale=255 mean=103.939,116.779,123.68 "
                   "std=1,1,1\n");
    } else if (!strcmp(known, "caffe")) {
        fprintf(t, "# recognised: bvlc AlexNet/CaffeNet at Caffe's 227x227: preprocessing caffe, resized\n"
                   "# to 256x256, centre crop 227, BGR, 0..255 minus the mean (104, 117, 123)\n");
        fprintf(t, "preprocess  resize=256x256 crop=227 order=bgr scale=255 mean=104,117,123 std=1,1,1\n");
    } else if (!strcmp(known, "torchvision")) {
        fprintf(t, "# recognised: torchvision's AlexNet: preprocessing torchvision, shorter side\n"
                   "# resized to 256, centre crop 224, RGB, 0..1 normalised by ImageNet's mean and std\n");
        fprintf(t, "preprocess  resize=256 crop=224 order=rgb scale=1 mean=0.485,0.456,0.406 "
                   "std=0.229,0.224,0.225\n");
    } else {
        fprintf(t, "# not recognised as an AlexNet: preprocessing none, an image resized to the input\n"
                   "# and scaled to 0..1, RGB (--preprocess chooses another)\n");
        /* the spec's sizes are HxW */
        fprintf(t, "preprocess  resize=%lldx%lld crop=%lldx%lld order=rgb scale=1 mean=0,0,0 std=1,1,1\n",
                (long long)H, (long long)W, (long long)H, (long long)W);
    }
}

ax_status ax_onnx_to_net(const Onnx__ModelProto *m, const char *file, ax_onnx_net *out, ax_error *err)
{
    memset(out, 0, sizeof *out);
    conv c = {.g = m->graph, .file = file, .out = out, .err = err};
    out->ir = m->ir_version;
    c.opset = 0;
    for (size_t k = 0; k < m->n_opset_import; k++) {
        const Onnx__OperatorSetIdProto *o = m->opset_import[k];
        if (!o->domain || !o->domain[0] || !strcmp(o->domain, "ai.onnx")) c.opset = o->has_version ? o->version : 1;
    }
    if (!m->n_opset_import) c.opset = 1;   /* IR v1/v2 files before opset_import */
    out->opset = c.opset;
    out->nodes = (int)c.g->n_node;
    if (!c.opset) { refuse(&c, NULL, 0, "the model imports no opset of the ai.onnx domain"); return AX_OK; }
    if (c.opset > MAX_OPSET) {
        refuse(&c, NULL, 0, "opset %lld is newer than the opsets 1 to %d alexscope reads", (long long)c.opset, MAX_OPSET);
        return AX_OK;
    }
    if (!table_init(&c.consts, c.g->n_initializer + c.g->n_node))
        return ax_fail(err, AX_ERR_NOMEM, "%s: out of memory", file);
    for (size_t k = 0; k < c.g->n_initializer; k++)
        if (c.g->initializer[k]->name && c.g->initializer[k]->name[0])
            table_put(&c.consts, c.g->initializer[k]->name, c.g->initializer[k]);
    c.body = open_memstream(&c.body_text, &c.body_len);
    if (!c.body) {
        free(c.consts.s);
        return ax_fail(err, AX_ERR_NOMEM, "%s: out of memory", file);
    }
    shape in = {0};
    int ok = find_input(&c);
    if (ok) in = c.sh;
    ok = ok && walk_nodes(&c);
    if (ok && !c.out->layers) ok = !refuse(&c, NULL, 0, "the graph has no node alexscope runs as a layer");
    if (ok) {
        int outs = 0;
        for (size_t k = 0; k < c.g->n_output; k++) outs += c.g->output[k]->name != NULL;
        if (outs != 1 || strcmp(c.g->output[0]->name, c.head))
            ok = !refuse(&c, NULL, 0, "the graph's outputs (%zu, the first '%.60s') are not the one end of its chain "
                         "('%.60s')", c.g->n_output, c.g->n_output ? c.g->output[0]->name : "", c.head);
    }
    fclose(c.body);
    if (ok && !c.status) {
        snprintf(out->output, sizeof out->output, "%.*s", AX_NAME_MAX - 1, c.head);
        FILE *t = open_memstream(&out->text, &out->len);
        if (!t) c.status = ax_fail(err, AX_ERR_NOMEM, "%s: out of memory", file);
        else {
            int64_t C = in.d[1], H = in.rank == 4 ? in.d[2] : 1, W = in.rank == 4 ? in.d[3] : 1;
            const char *known = recognise(&c, C, H, W);
            snprintf(out->preprocess, sizeof out->preprocess, "%s", known ? known : "none");
            write_header(&c, t, m, known);
            fprintf(t, "input       %lld %lld %lld\n", (long long)C, (long long)H, (long long)W);
            write_preprocess(t, known, H, W);
            if (c.last_fc_out == 1000 && C == 3) fprintf(t, "labels      %s/imagenet_classes.txt\n", ax_data_dir());
            fprintf(t, "\n%s", c.body_text ? c.body_text : "");
            if (fclose(t)) c.status = ax_fail(err, AX_ERR_NOMEM, "%s: out of memory", file);
        }
    }
    free(c.body_text);
    free(c.consts.s);
    if (c.status || !ok) {
        /* a refusal keeps why; the jobs point at tensors that stay valid
         * only with the net, which is not made */
        free(out->text);
        out->text = NULL;
        out->len = 0;
        free(out->jobs);
        out->jobs = NULL;
        out->njobs = 0;
    }
    if (c.status) ax_onnx_net_free(out);
    return c.status;
}

void ax_onnx_net_free(ax_onnx_net *n)
{
    free(n->text);
    free(n->jobs);
    for (int k = 0; k < n->nsynth; k++) {
        free(n->synth[k]->dims);   /* NULL for a scalar Constant; a folded shape's values share the block */
        free(n->synth[k]);
    }
    free(n->synth);
    n->text = NULL;
    n->jobs = NULL;
    n->synth = NULL;
    n->nsynth = 0;
}
