/* The ONNX writer: a net (its resolved layers and their weights) as one
 * ModelProto, opset 13, IR 7, whose graph runs the net from an input named
 * `input` to its last layer, every layer's output tensor named after the
 * layer. It never writes a graph that would give other numbers than the net:
 * a layer ONNX cannot express is refused naming it. It never changes the net. */
#include "config.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx.h"
#include "alexscope/fileio.h"
#include "alexscope/layers.h"
#include "alexscope/net.h"
#include "alexscope/weights.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "raw_data is little endian: the ONNX writer hands the weights over as they lie in memory"
#endif

#define OPSET 13
#define IR_VERSION 7
/* protobuf's own limit on one message; past it ONNX needs external data */
#define MAX_MODEL_BYTES ((size_t)INT32_MAX)

/* ---- the builder: every message and string it makes is freed by free_all ---- */

typedef struct {
    const ax_net *net;
    const char *path;
    ax_error *err;
    ax_status status;
    void **owned;
    size_t nowned, cap_owned;
    Onnx__NodeProto **node;
    size_t nnode, cap_node;
    Onnx__TensorProto **init;
    size_t ninit, cap_init;
    Onnx__ValueInfoProto **vi;
    size_t nvi, cap_vi;
    const char **names;      /* every tensor name given so far, for uniqueness */
    size_t nnames, cap_names;
    const char *head;        /* the tensor the next layer reads */
    int rank;                /* of head: 4 (N, C, H, W) or 2 (N, K) */
    int64_t d[4];            /* head's dims, d[0] the batch (dynamic in the file) */
} builder;

static int grow(builder *b, void **arr, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap) return 1;
    size_t nc = *cap ? 2 * *cap : 32;
    void *p = realloc(*arr, nc * elem);
    if (!p) {
        if (!b->status) b->status = ax_fail(b->err, AX_ERR_NOMEM, "%s: out of memory", b->path);
        return 0;
    }
    *arr = p;
    *cap = nc;
    return 1;
}

/* Keeps p to be freed with the builder; NULL (out of memory) is recorded. */
static void *own(builder *b, void *p)
{
    if (!p) {
        if (!b->status) b->status = ax_fail(b->err, AX_ERR_NOMEM, "%s: out of memory", b->path);
        return NULL;
    }
    if (!grow(b, (void **)&b->owned, &b->cap_owned, b->nowned, sizeof *b->owned)) {
        free(p);
        return NULL;
    }
    b->owned[b->nowned++] = p;
    return p;
}

static void *alloc(builder *b, size_t size)
{
    return own(b, calloc(1, size ? size : 1));
}

static char *strf(builder *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static char *strf(builder *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = n < 0 ? NULL : malloc((size_t)n + 1);
    if (s) {
        va_start(ap, fmt);
        vsnprintf(s, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    return own(b, s);
}

static int name_taken(const builder *b, const char *name)
{
    for (size_t i = 0; i < b->nnames; i++)
        if (!strcmp(b->names[i], name)) return 1;
    /* a layer's own name is kept for its output, whenever that comes */
    for (int i = 0; i < b->net->nlayers; i++)
        if (!strcmp(b->net->layers[i].spec.name, name)) return 1;
    return 0;
}

/* A tensor name: `want` itself for a layer's output, else `want` or, when a
 * layer or an earlier tensor has it, want~2, want~3, ... */
static const char *tensor_name(builder *b, const char *want, int is_layer)
{
    char *name = strf(b, "%s", want);
    for (int k = 2; name && !is_layer && name_taken(b, name); k++) name = strf(b, "%s~%d", want, k);
    if (!name || !grow(b, (void **)&b->names, &b->cap_names, b->nnames, sizeof *b->names)) return NULL;
    b->names[b->nnames++] = name;
    return name;
}

/* ---- messages ---------------------------------------------------------------- */

static Onnx__NodeProto *add_node(builder *b, const char *op, const char *out, const char *in0, const char *in1,
                                 const char *in2)
{
    Onnx__NodeProto *n = alloc(b, sizeof *n);
    char **ins = alloc(b, 3 * sizeof *ins), **outs = alloc(b, sizeof *outs);
    if (!n || !ins || !outs || !out || !in0 ||
        !grow(b, (void **)&b->node, &b->cap_node, b->nnode, sizeof *b->node))
        return NULL;
    onnx__node_proto__init(n);
    n->op_type = strf(b, "%s", op);
    n->name = (char *)out;
    ins[0] = (char *)in0;
    n->n_input = 1;
    if (in1) ins[n->n_input++] = (char *)in1;
    if (in2) ins[n->n_input++] = (char *)in2;
    n->input = ins;
    outs[0] = (char *)out;
    n->output = outs;
    n->n_output = 1;
    b->node[b->nnode++] = n;
    return n;
}

static Onnx__AttributeProto *add_attr(builder *b, Onnx__NodeProto *n, const char *name,
                                      Onnx__AttributeProto__AttributeType type)
{
    if (!n) return NULL;
    Onnx__AttributeProto *a = alloc(b, sizeof *a);
    Onnx__AttributeProto **arr = alloc(b, (n->n_attribute + 1) * sizeof *arr);
    if (!a || !arr) return NULL;
    onnx__attribute_proto__init(a);
    a->name = strf(b, "%s", name);
    a->has_type = 1;
    a->type = type;
    if (n->n_attribute) memcpy(arr, n->attribute, n->n_attribute * sizeof *arr);
    arr[n->n_attribute++] = a;
    n->attribute = arr;   /* the old array stays owned until the end */
    return a;
}

static void attr_int(builder *b, Onnx__NodeProto *n, const char *name, int64_t v)
{
    Onnx__AttributeProto *a = add_attr(b, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
    if (a) a->has_i = 1, a->i = v;
}

static void attr_float(builder *b, Onnx__NodeProto *n, const char *name, float v)
{
    Onnx__AttributeProto *a = add_attr(b, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
    if (a) a->has_f = 1, a->f = v;
}

static void attr_ints(builder *b, Onnx__NodeProto *n, const char *name, const int64_t *v, size_t count)
{
    Onnx__AttributeProto *a = add_attr(b, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
    int64_t *copy = a ? alloc(b, count * sizeof *copy) : NULL;
    if (!copy) return;
    memcpy(copy, v, count * sizeof *copy);
    a->ints = copy;
    a->n_ints = count;
}

/* An initializer whose raw_data are `bytes` as they lie (little endian). */
static const char *add_init(builder *b, const char *want, int32_t type, const void *bytes, size_t nbytes, int ndim,
                            const int64_t *dims)
{
    const char *name = tensor_name(b, want, 0);
    Onnx__TensorProto *t = alloc(b, sizeof *t);
    int64_t *d = alloc(b, (size_t)(ndim ? ndim : 1) * sizeof *d);
    if (!name || !t || !d || !grow(b, (void **)&b->init, &b->cap_init, b->ninit, sizeof *b->init)) return NULL;
    onnx__tensor_proto__init(t);
    t->name = (char *)name;
    t->has_data_type = 1;
    t->data_type = type;
    memcpy(d, dims, (size_t)ndim * sizeof *d);
    t->dims = d;
    t->n_dims = (size_t)ndim;
    t->has_raw_data = 1;
    t->raw_data.len = nbytes;
    t->raw_data.data = (uint8_t *)bytes;   /* read only: the pack copies it out */
    b->init[b->ninit++] = t;
    return name;
}

static const char *add_weights(builder *b, const char *layer, const char *part, const ax_tensor *t)
{
    int64_t dims[4];
    for (int k = 0; k < t->ndim; k++) dims[k] = t->shape[k];
    char want[AX_NAME_MAX + 16];
    snprintf(want, sizeof want, "%s.%s", layer, part);
    return add_init(b, want, AX_ONNX_FLOAT, t->data, ax_tensor_numel(t) * sizeof(float), t->ndim, dims);
}

static const char *add_ints(builder *b, const char *want, const int64_t *v, int count)
{
    int64_t *copy = alloc(b, (size_t)count * sizeof *copy), dim = count;
    if (!copy) return NULL;
    memcpy(copy, v, (size_t)count * sizeof *copy);
    return add_init(b, want, AX_ONNX_INT64, copy, (size_t)count * sizeof *copy, 1, &dim);
}

/* A float tensor type of rank dims, dim 0 the dynamic batch "N". */
static Onnx__ValueInfoProto *value_info(builder *b, const char *name, int rank, const int64_t *d)
{
    Onnx__ValueInfoProto *v = alloc(b, sizeof *v);
    Onnx__TypeProto *tp = alloc(b, sizeof *tp);
    Onnx__TypeProto__Tensor *tt = alloc(b, sizeof *tt);
    Onnx__TensorShapeProto *sh = alloc(b, sizeof *sh);
    Onnx__TensorShapeProto__Dimension **dims = alloc(b, (size_t)rank * sizeof *dims);
    if (!v || !tp || !tt || !sh || !dims) return NULL;
    onnx__value_info_proto__init(v);
    onnx__type_proto__init(tp);
    onnx__type_proto__tensor__init(tt);
    onnx__tensor_shape_proto__init(sh);
    for (int k = 0; k < rank; k++) {
        Onnx__TensorShapeProto__Dimension *dm = alloc(b, sizeof *dm);
        if (!dm) return NULL;
        onnx__tensor_shape_proto__dimension__init(dm);
        if (k == 0) {
            dm->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
            dm->dim_param = strf(b, "N");
        } else {
            dm->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
            dm->dim_value = d[k];
        }
        dims[k] = dm;
    }
    sh->dim = dims;
    sh->n_dim = (size_t)rank;
    tt->has_elem_type = 1;
    tt->elem_type = AX_ONNX_FLOAT;
    tt->shape = sh;
    tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    tp->tensor_type = tt;
    v->name = (char *)name;
    v->type = tp;
    return v;
}

/* The node just added made `out` of rank and dims: the chain's new head, its
 * shape stated in value_info so that a checker compares it with its own. */
static void advance(builder *b, const char *out, int rank, const int64_t *d)
{
    if (!out) return;
    b->head = out;
    b->rank = rank;
    memcpy(b->d, d, (size_t)rank * sizeof *d);
    Onnx__ValueInfoProto *v = value_info(b, out, rank, d);
    if (v && grow(b, (void **)&b->vi, &b->cap_vi, b->nvi, sizeof *b->vi)) b->vi[b->nvi++] = v;
}

/* ---- the layers ---------------------------------------------------------------- */

static ax_status refuse(builder *b, const ax_layer *L, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static ax_status refuse(builder *b, const ax_layer *L, const char *fmt, ...)
{
    char why[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    return ax_fail(b->err, AX_ERR_UNSUPPORTED, "%s: layer '%s' (%s): %s; ONNX cannot express it, so no .onnx is "
                   "written (a .safetensors output takes every net)", b->path, L->spec.name,
                   ax_layer_type_name(L->spec.type), why);
}

/* ONNX's output length: floor or ceil of the window count, pads included,
 * without Caffe's rule that drops a last window starting in the padding. */
static int64_t onnx_out(int64_t in, int64_t k, int64_t s, int64_t before, int64_t after, int ceil_mode)
{
    int64_t span = in + before + after - k;
    if (span < 0) return 0;
    return (ceil_mode ? (span + s - 1) / s : span / s) + 1;
}

/* The padding after the input that gives ONNX's rounding the net's `want`
 * outputs along one axis. The windows start where the net's do whatever the
 * after-padding is (it only decides how many there are), and padding never
 * wins a max nor adds to a convolution: so any after-padding up to the
 * net's gives the same values once the count matches. 0 when none does. */
static int fit_axis(int64_t in, int64_t k, int64_t s, int64_t before, int64_t after, int want, int ceil_mode,
                    int64_t *after_out)
{
    for (int64_t a = after; a >= 0; a--)
        if (onnx_out(in, k, s, before, a, ceil_mode) == want) {
            *after_out = a;
            return 1;
        }
    return 0;
}

/* The window of a conv or maxpool as ONNX attributes: kernel_shape, strides,
 * pads (t, l, b, r) and, for a pool, ceil_mode (one for both axes: the
 * spec's rounding when it fits, else the other). */
static ax_status window_attrs(builder *b, const ax_layer *L, Onnx__NodeProto *n, int is_pool)
{
    const ax_window *w = &L->win;
    int64_t pads[4] = {w->pad_t, w->pad_l, L->pad_b, L->pad_r};
    int prefer = is_pool && L->spec.rounding == AX_ROUND_CEIL, found = 0, ceil_mode = 0;
    for (int pass = 0; pass < (is_pool ? 2 : 1) && !found; pass++) {
        ceil_mode = pass ? !prefer : prefer;
        found = fit_axis(w->h, w->kh, w->sh, pads[0], L->pad_b, w->oh, ceil_mode, &pads[2]) &&
                fit_axis(w->w, w->kw, w->sw, pads[1], L->pad_r, w->ow, ceil_mode, &pads[3]);
    }
    if (!found)
        return refuse(b, L, "no padding and rounding of ONNX's give its %dx%d outputs of a %dx%d input", w->oh, w->ow,
                      w->h, w->w);
    /* a window lying wholly in the padding would have no value to take */
    if (is_pool && (pads[0] >= w->kh || pads[1] >= w->kw || pads[2] >= w->kh || pads[3] >= w->kw))
        return refuse(b, L, "padding as large as its window");
    int64_t k[2] = {w->kh, w->kw}, s[2] = {w->sh, w->sw};
    attr_ints(b, n, "kernel_shape", k, 2);
    attr_ints(b, n, "strides", s, 2);
    attr_ints(b, n, "pads", pads, 4);
    if (is_pool) attr_int(b, n, "ceil_mode", ceil_mode);
    return AX_OK;
}

/* A 4-D head made (N, K) in C,H,W order, as fc and softmax read it. */
static void flatten_first(builder *b, const ax_layer *L)
{
    if (b->rank != 4) return;
    char want[AX_NAME_MAX + 16];
    snprintf(want, sizeof want, "%s/flatten", L->spec.name);
    const char *out = tensor_name(b, want, 0);
    Onnx__NodeProto *n = add_node(b, "Flatten", out, b->head, NULL, NULL);
    attr_int(b, n, "axis", 1);
    int64_t d[2] = {b->d[0], b->d[1] * b->d[2] * b->d[3]};
    advance(b, out, 2, d);
}

/* The adaptive average pool as one AveragePool: PyTorch's bins (start
 * floor(i*H/OH), end ceil((i+1)*H/OH)) must all be one size k at a stride s. */
static int uniform_bins(int in, int out, int64_t *k, int64_t *s)
{
    if (out < 1 || in < 1) return 0;
    *k = (in + out - 1) / out;   /* bin 0: 0 .. ceil(in/out) */
    *s = out > 1 ? (int64_t)in / out : 1;
    for (int i = 0; i < out; i++) {
        int64_t start = (int64_t)i * in / out, end = ((int64_t)(i + 1) * in + out - 1) / out;
        if (end - start != *k || start != i * *s) return 0;
    }
    return 1;
}

static ax_status add_layer(builder *b, const ax_layer *L)
{
    const ax_layer_spec *s = &L->spec;
    const ax_tensor *o = &L->out;
    int64_t d[4] = {b->d[0], 1, 1, 1};
    for (int k = 1; k < o->ndim && k < 4; k++) d[k] = o->shape[k];
    const char *out = NULL;
    Onnx__NodeProto *n = NULL;
    ax_status st = AX_OK;
    if ((s->type == AX_L_CONV || s->type == AX_L_MAXPOOL || s->type == AX_L_AVGPOOL || s->type == AX_L_PAD ||
         s->type == AX_L_LRN) && b->rank != 4)
        return refuse(b, L, "its input is a flat vector (N, %lld); ONNX's operator takes (N, C, H, W)",
                      (long long)b->d[1]);
    switch (s->type) {
    case AX_L_CONV: {
        const char *w = add_weights(b, s->name, "weight", &L->weight);
        const char *bias = s->bias && L->bias.data ? add_weights(b, s->name, "bias", &L->bias) : NULL;
        out = tensor_name(b, s->name, 1);
        n = add_node(b, "Conv", out, b->head, w, bias);
        if (!n) break;
        st = window_attrs(b, L, n, 0);
        attr_int(b, n, "group", L->win.groups);
        break;
    }
    case AX_L_RELU:
        out = tensor_name(b, s->name, 1);
        add_node(b, "Relu", out, b->head, NULL, NULL);
        break;
    case AX_L_LRN:
        /* ONNX LRN: x / (bias + alpha/size * sum of squares over `size`
         * channels)^beta, the window centred for an odd size. Every
         * convention's factor on the raw sum (ax_lrn_sum_scale: Caffe's and
         * PyTorch's alpha/size, TF's and Darknet's alpha undivided) becomes
         * ONNX's alpha times size. */
        if (s->lrn_size % 2 == 0)
            return refuse(b, L, "size=%d: ONNX's window for an even size is not centred", s->lrn_size);
        out = tensor_name(b, s->name, 1);
        n = add_node(b, "LRN", out, b->head, NULL, NULL);
        attr_int(b, n, "size", s->lrn_size);
        attr_float(b, n, "alpha", ax_lrn_sum_scale(s) * (float)s->lrn_size);
        attr_float(b, n, "beta", s->lrn_beta);
        attr_float(b, n, "bias", s->lrn_k);
        break;
    case AX_L_MAXPOOL:
        out = tensor_name(b, s->name, 1);
        n = add_node(b, "MaxPool", out, b->head, NULL, NULL);
        if (n) st = window_attrs(b, L, n, 1);
        break;
    case AX_L_AVGPOOL: {
        int64_t kh, kw, sh, sw;
        int H = (int)b->d[2], W = (int)b->d[3];
        if (!uniform_bins(H, s->out_h, &kh, &sh) || !uniform_bins(W, s->out_w, &kw, &sw))
            return refuse(b, L, "adaptive bins from %dx%d to %dx%d are not one window size at one stride", H, W,
                          s->out_h, s->out_w);
        out = tensor_name(b, s->name, 1);
        n = add_node(b, "AveragePool", out, b->head, NULL, NULL);
        int64_t k[2] = {kh, kw}, st2[2] = {sh, sw};
        attr_ints(b, n, "kernel_shape", k, 2);
        attr_ints(b, n, "strides", st2, 2);
        break;
    }
    case AX_L_PAD: {
        int64_t p[8] = {0, 0, s->pad_t, s->pad_l, 0, 0, s->pad_b, s->pad_r};
        char want[AX_NAME_MAX + 16];
        snprintf(want, sizeof want, "%s.pads", s->name);
        const char *pads = add_ints(b, want, p, 8);
        out = tensor_name(b, s->name, 1);
        add_node(b, "Pad", out, b->head, pads, NULL);   /* mode constant, value 0: the defaults */
        break;
    }
    case AX_L_FLATTEN:
        if (b->rank == 4 && s->order == AX_FLATTEN_HWC && b->d[1] > 1 && b->d[2] * b->d[3] > 1) {
            /* Keras' channels_last order: (N, H, W, C) first, then rows */
            char want[AX_NAME_MAX + 16];
            snprintf(want, sizeof want, "%s/hwc", s->name);
            const char *t = tensor_name(b, want, 0);
            Onnx__NodeProto *tn = add_node(b, "Transpose", t, b->head, NULL, NULL);
            int64_t perm[4] = {0, 2, 3, 1}, td[4] = {b->d[0], b->d[2], b->d[3], b->d[1]};
            attr_ints(b, tn, "perm", perm, 4);
            advance(b, t, 4, td);
        }
        out = tensor_name(b, s->name, 1);
        n = add_node(b, "Flatten", out, b->head, NULL, NULL);
        attr_int(b, n, "axis", 1);
        break;
    case AX_L_FC: {
        flatten_first(b, L);
        const char *w = add_weights(b, s->name, "weight", &L->weight);
        const char *bias = s->bias && L->bias.data ? add_weights(b, s->name, "bias", &L->bias) : NULL;
        out = tensor_name(b, s->name, 1);
        n = add_node(b, "Gemm", out, b->head, w, bias);
        attr_int(b, n, "transB", 1);   /* weight (out, in) */
        break;
    }
    case AX_L_DROPOUT: {
        /* inference: Dropout without training_mode passes its input through;
         * the ratio is kept for a reader (alexscope's shows the layer) */
        float p = s->p;
        char want[AX_NAME_MAX + 16];
        snprintf(want, sizeof want, "%s.ratio", s->name);
        float *pv = alloc(b, sizeof *pv);
        if (pv) *pv = p;
        const char *ratio = pv ? add_init(b, want, AX_ONNX_FLOAT, pv, sizeof *pv, 0, NULL) : NULL;
        out = tensor_name(b, s->name, 1);
        add_node(b, "Dropout", out, b->head, ratio, NULL);
        break;
    }
    case AX_L_SOFTMAX:
        flatten_first(b, L);
        out = tensor_name(b, s->name, 1);
        n = add_node(b, "Softmax", out, b->head, NULL, NULL);
        attr_int(b, n, "axis", 1);
        break;
    default:
        return refuse(b, L, "no ONNX operator is mapped for this kind");
    }
    if (st) return st;
    if (b->status) return b->status;
    advance(b, out, o->ndim == 4 ? 4 : 2, d);
    return b->status;
}

/* ---- the model and the file ------------------------------------------------------- */

typedef struct {
    ProtobufCBuffer base;
    FILE *fp;
    int failed;
} file_buffer;

static void file_append(ProtobufCBuffer *buf, size_t len, const uint8_t *data)
{
    file_buffer *f = (file_buffer *)buf;
    if (!f->failed && len && fwrite(data, 1, len, f->fp) != len) f->failed = 1;
}

static void free_all(builder *b)
{
    for (size_t i = b->nowned; i-- > 0;) free(b->owned[i]);
    free(b->owned);
    free(b->node);
    free(b->init);
    free(b->vi);
    free(b->names);
}

/* Builds the graph (write = 0: only whether it can be built) and writes it. */
static ax_status build(const char *path, const ax_net *net, const char *const *meta, int nmeta, int write,
                       ax_error *err)
{
    builder b = {.net = net, .path = path, .err = err};
    ax_status st = AX_OK;
    const char *input = tensor_name(&b, "input", 0);
    int64_t in_d[4] = {net->batch, net->input.shape[1], net->input.shape[2], net->input.shape[3]};
    Onnx__ValueInfoProto *in_vi = input ? value_info(&b, input, 4, in_d) : NULL;
    b.head = input;
    b.rank = 4;
    memcpy(b.d, in_d, sizeof in_d);
    if (!net->nlayers) st = ax_fail(err, AX_ERR_ARG, "%s: the net has no layers", path);
    for (int i = 0; !st && !b.status && i < net->nlayers; i++) st = add_layer(&b, &net->layers[i]);
    if (!st) st = b.status;
    if (st || !write) {
        free_all(&b);
        return st;
    }
    /* the last tensor is the graph's output, not a value_info */
    Onnx__ValueInfoProto *out_vi = b.vi[--b.nvi];

    Onnx__GraphProto g = ONNX__GRAPH_PROTO__INIT;
    g.name = (char *)net->spec.name;
    g.doc_string = (char *)net->spec.description;
    g.node = b.node;
    g.n_node = b.nnode;
    g.initializer = b.init;
    g.n_initializer = b.ninit;
    g.input = &in_vi;
    g.n_input = 1;
    g.output = &out_vi;
    g.n_output = 1;
    g.value_info = b.vi;
    g.n_value_info = b.nvi;

    Onnx__OperatorSetIdProto opset = ONNX__OPERATOR_SET_ID_PROTO__INIT, *opsets = &opset;
    opset.domain = (char *)"";
    opset.has_version = 1;
    opset.version = OPSET;
    Onnx__ModelProto m = ONNX__MODEL_PROTO__INIT;
    m.has_ir_version = 1;
    m.ir_version = IR_VERSION;
    m.opset_import = &opsets;
    m.n_opset_import = 1;
    m.producer_name = (char *)"alexscope";
    m.producer_version = (char *)PACKAGE_VERSION;
    m.graph = &g;
    Onnx__StringStringEntryProto *props = nmeta > 0 ? alloc(&b, (size_t)nmeta * sizeof *props) : NULL;
    Onnx__StringStringEntryProto **pp = nmeta > 0 ? alloc(&b, (size_t)nmeta * sizeof *pp) : NULL;
    if (nmeta > 0 && props && pp) {
        for (int i = 0; i < nmeta; i++) {
            onnx__string_string_entry_proto__init(&props[i]);
            props[i].key = (char *)meta[2 * i];
            props[i].value = (char *)meta[2 * i + 1];
            pp[i] = &props[i];
        }
        m.metadata_props = pp;
        m.n_metadata_props = (size_t)nmeta;
    }
    st = b.status;
    size_t size = st ? 0 : protobuf_c_message_get_packed_size(&m.base);
    if (!st && size > MAX_MODEL_BYTES)
        st = ax_fail(err, AX_ERR_UNSUPPORTED, "%s: the model would be %zu bytes, past protobuf's 2 GiB limit (ONNX's "
                     "external data, which convert does not write, is the way past it)", path, size);
    if (!st) {
        ax_file_out a;
        st = ax_file_create(&a, path, err);
        if (!st) {
            file_buffer fb = {.base = {.append = file_append}, .fp = a.fp};
            size_t wrote = protobuf_c_message_pack_to_buffer(&m.base, &fb.base);
            /* a short write (a full disk) leaves errno for the message */
            st = ax_file_commit(&a, !fb.failed && wrote == size, err);
        }
    }
    free_all(&b);
    return st;
}

ax_status ax_onnx_write_check(const char *path, const struct ax_net *net, ax_error *err)
{
    return build(path, net, NULL, 0, 0, err);
}

ax_status ax_onnx_write(const char *path, const struct ax_net *net, const char *const *meta, int nmeta,
                        ax_error *err)
{
    return build(path, net, meta, nmeta, 1, err);
}
