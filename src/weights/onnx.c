/* ONNX models: one ModelProto protobuf, unpacked by protobuf-c from Debian's
 * onnx.proto. Tensors are decoded in onnx_tensor.c (raw_data, the typed fields or
 * external data beside the model); the graph becomes a net in onnx_net.c, and
 * its weights become entries in alexscope's layouts. Nothing here trusts a
 * length, an offset, a shape or a path in the file. */
#include "onnx.h"
#include "wfile_internal.h"
#include "alexscope/fileio.h"
#include "alexscope/net.h"
#include "alexscope/spec.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- wire-level checks --------------------------------------------------- */

static int varint(const uint8_t *b, size_t end, size_t *pos, uint64_t *v)
{
    uint64_t x = 0;
    for (int shift = 0; shift < 70 && *pos < end; shift += 7) {
        uint8_t c = b[(*pos)++];
        x |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) {
            *v = x;
            return 1;
        }
    }
    return 0;
}

/* A ModelProto starts with ir_version (field 1, varint) and then one of its
 * other fields; Caffe's NetParameter starts with a length-delimited field 1,
 * so the two never take each other's bytes. */
int ax_onnx_sniff(const uint8_t *b, size_t size)
{
    size_t pos = 1;
    uint64_t ir, key;
    if (size < 4 || b[0] != 0x08 || !varint(b, size, &pos, &ir) || ir < 1 || ir > 64) return 0;
    if (!varint(b, size, &pos, &key)) return 0;
    unsigned field = (unsigned)(key >> 3), wt = (unsigned)(key & 7);
    return (field >= 2 && field <= 8 && wt == (field == 5 ? 0u : 2u)) || (field == 14 && wt == 2) ||
           (field == 20 && wt == 2) || (field == 25 && wt == 2);
}

typedef struct {
    const char *file;
    int nodes, max_depth;
    ax_error *err;
} precheck_ctx;

/* Walks one message's fields by the generated descriptor: every nested
 * message is walked in turn, so nesting and node counts are known before
 * protobuf-c (which recurses without a limit) sees the bytes. */
static ax_status walk(precheck_ctx *c, const ProtobufCMessageDescriptor *d, const uint8_t *b, size_t n, int depth)
{
    if (depth > AX_ONNX_MAX_DEPTH)
        return ax_fail(c->err, AX_ERR_FORMAT, "%s: messages nested over %d deep (a %s inside %d others): refused",
                       c->file, AX_ONNX_MAX_DEPTH, d->short_name, depth);
    if (d == &onnx__node_proto__descriptor && ++c->nodes > AX_ONNX_MAX_NODES)
        return ax_fail(c->err, AX_ERR_FORMAT, "%s: the graph has over %d nodes: refused (AlexNet has about 25)",
                       c->file, AX_ONNX_MAX_NODES);
    size_t pos = 0;
    while (pos < n) {
        uint64_t key, len = 0;
        size_t at = pos;
        if (!varint(b, n, &pos, &key))
            return ax_fail(c->err, AX_ERR_FORMAT, "%s: a %s field key at its byte %zu runs past its end", c->file,
                           d->short_name, at);
        unsigned wt = (unsigned)(key & 7);
        uint64_t field = key >> 3;
        if (wt == 0) {
            if (!varint(b, n, &pos, &len)) goto past;
        } else if (wt == 1 || wt == 5) {
            size_t w = wt == 1 ? 8 : 4;
            if (n - pos < w) goto past;
            pos += w;
        } else if (wt == 2) {
            if (!varint(b, n, &pos, &len) || len > n - pos) {
                return ax_fail(c->err, AX_ERR_FORMAT, "%s: field %llu of a %s says %llu bytes, but %zu are left",
                               c->file, (unsigned long long)field, d->short_name, (unsigned long long)len,
                               n - pos);
            }
            const ProtobufCFieldDescriptor *fd =
                field <= UINT32_MAX ? protobuf_c_message_descriptor_get_field(d, (unsigned)field) : NULL;
            if (fd && fd->type == PROTOBUF_C_TYPE_MESSAGE) {
                ax_status st = walk(c, fd->descriptor, b + pos, (size_t)len, depth + 1);
                if (st) return st;
            }
            pos += (size_t)len;
        } else {
            return ax_fail(c->err, AX_ERR_FORMAT, "%s: a %s field at its byte %zu has wire type %u, which protobuf "
                           "does not use", c->file, d->short_name, at, wt);
        }
        if (depth + 1 > c->max_depth) c->max_depth = depth + 1;
    }
    return AX_OK;
past:
    return ax_fail(c->err, AX_ERR_FORMAT, "%s: a value of a %s runs past its end", c->file, d->short_name);
}

ax_status ax_onnx_precheck(const uint8_t *buf, size_t size, const char *file, ax_error *err)
{
    precheck_ctx c = {.file = file, .err = err};
    return walk(&c, &onnx__model_proto__descriptor, buf, size, 0);
}

/* ---- an arena for protobuf-c: the unpacked model lives in a few blocks that
 * the weight file takes over, so entries can point into raw_data in place. */

typedef struct block { struct block *next; size_t used, cap; } block;
typedef struct { block *head; int failed; } arena;

enum { BLOCK = 1 << 20 };

static void *arena_alloc(void *data, size_t size)
{
    arena *a = data;
    size = (size + 15) & ~(size_t)15;
    size_t hdr = (sizeof(block) + 15) & ~(size_t)15;
    block *b = a->head;
    if (!b || b->cap - b->used < size) {
        size_t cap = size > BLOCK / 4 ? size : BLOCK;
        if (cap > SIZE_MAX - hdr) { a->failed = 1; return NULL; }
        block *nb = malloc(hdr + cap);
        if (!nb) { a->failed = 1; return NULL; }
        nb->used = 0;
        nb->cap = cap;
        /* a big allocation gets a block of its own behind the current one,
         * so the current block's free space stays usable */
        if (b && cap != BLOCK) { nb->next = b->next; b->next = nb; }
        else { nb->next = b; a->head = nb; }
        b = nb;
    }
    void *p = (char *)b + hdr + b->used;
    b->used += size;
    return p;
}

static void arena_free(void *data, void *ptr)
{
    (void)data; (void)ptr;   /* the blocks go all at once */
}

static void arena_release(arena *a)
{
    for (block *b = a->head, *n; b; b = n) {
        n = b->next;
        free(b);
    }
    a->head = NULL;
}

/* Unpacks buf after the precheck; NULL with err set on failure. */
static Onnx__ModelProto *unpack(const uint8_t *buf, size_t size, const char *file, arena *a, ax_error *err)
{
    if (ax_onnx_precheck(buf, size, file, err)) return NULL;
    ProtobufCAllocator alloc = {.alloc = arena_alloc, .free = arena_free, .allocator_data = a};
    Onnx__ModelProto *m = onnx__model_proto__unpack(&alloc, size, buf);
    if (!m) {
        ax_fail(err, a->failed ? AX_ERR_NOMEM : AX_ERR_FORMAT,
                a->failed ? "%s: out of memory unpacking the ONNX model"
                          : "%s: not a valid ONNX ModelProto (protobuf-c refused it: a field has the wrong type, "
                            "or a required field is missing)", file);
        return NULL;
    }
    if (!m->graph) {
        ax_fail(err, AX_ERR_FORMAT, "%s: the ONNX model has no graph (field 7)", file);
        return NULL;
    }
    return m;
}

/* ---- the reader -------------------------------------------------------------- */

static int64_t opset_of(const Onnx__ModelProto *m)
{
    for (size_t i = 0; i < m->n_opset_import; i++) {
        const Onnx__OperatorSetIdProto *o = m->opset_import[i];
        if (!o->domain || !o->domain[0] || !strcmp(o->domain, "ai.onnx")) return o->has_version ? o->version : 1;
    }
    return m->n_opset_import ? 0 : 1;
}

static void model_facts(ax_wfile *f, const Onnx__ModelProto *m)
{
    const Onnx__GraphProto *g = m->graph;
    ax_wfile_fact(f, "ONNX model: producer %.60s%s%.30s, IR version %lld, opset %lld",
                  m->producer_name && m->producer_name[0] ? m->producer_name : "(none)",
                  m->producer_version && m->producer_version[0] ? " " : "",
                  m->producer_version ? m->producer_version : "", (long long)m->ir_version,
                  (long long)opset_of(m));
    for (size_t i = 0; i < m->n_opset_import; i++)
        if (m->opset_import[i]->domain && m->opset_import[i]->domain[0] &&
            strcmp(m->opset_import[i]->domain, "ai.onnx"))
            ax_wfile_fact(f, "opset of domain %.60s: %lld", m->opset_import[i]->domain,
                          (long long)m->opset_import[i]->version);
    /* the operators, in order of first use, with their counts */
    char ops[512] = "";
    int shown = 0;
    for (size_t i = 0; i < g->n_node; i++) {
        const char *op = g->node[i]->op_type ? g->node[i]->op_type : "?";
        int seen = 0;
        for (size_t j = 0; j < i && !seen; j++)
            seen = g->node[j]->op_type && !strcmp(g->node[j]->op_type, op);
        if (seen || shown >= 24) continue;
        int count = 0;
        for (size_t j = i; j < g->n_node; j++) count += g->node[j]->op_type && !strcmp(g->node[j]->op_type, op);
        size_t len = strlen(ops);
        snprintf(ops + len, sizeof ops - len, "%s%.40s x%d", shown ? ", " : "", op, count);
        shown++;
    }
    ax_wfile_fact(f, "graph '%.80s': %zu nodes (%s), %zu initializers, %zu inputs, %zu outputs",
                  g->name ? g->name : "", g->n_node, ops, g->n_initializer, g->n_input, g->n_output);
}

static ax_status push_values(ax_wfile *f, const char *name, int ndim, const int64_t *shape, const float *data,
                             int64_t numel, const char *file, ax_error *err)
{
    ax_wentry e = {.dtype = AX_DT_F32, .ndim = ndim, .data = data, .nbytes = (size_t)numel * sizeof(float)};
    snprintf(e.name, sizeof e.name, "%s", name);
    for (int d = 0; d < ndim; d++) e.shape[d] = shape[d];
    return ax_wfile_push(f, &e, file, err);
}

/* One job: the source's values in the entry's layout. */
static ax_status run_job(ax_wfile *f, const ax_onnx_job *j, const char *file, ax_error *err)
{
    ax_onnx_values v;
    ax_status st = ax_onnx_values_of(j->src, 0, file, &v, err);
    if (st) return st;
    int64_t numel = 1;
    for (int d = 0; d < j->ndim; d++) numel *= j->shape[d];
    if (!j->broadcast && v.numel != numel) {
        free(v.owned);
        return ax_fail(err, AX_ERR_SHAPE, "%s: tensor '%s' has %lld values, %s needs %lld", file, ax_onnx_tname(j->src),
                       (long long)v.numel, j->entry, (long long)numel);
    }
    if (!j->transpose && !j->broadcast && j->scale == 1.0f) {
        if (v.owned && (st = ax_wfile_own(f, v.owned, err))) return st;
        return push_values(f, j->entry, j->ndim, j->shape, v.f, numel, file, err);
    }
    float *out = malloc((size_t)(numel ? numel : 1) * sizeof(float));
    if (!out) {
        free(v.owned);
        return ax_fail(err, AX_ERR_NOMEM, "%s: out of memory for %s", file, j->entry);
    }
    if (j->broadcast) {
        for (int64_t k = 0; k < numel; k++) out[k] = v.f[0] * j->scale;
    } else if (j->transpose) {
        /* the source is (cols, rows) = (in, out); the entry (out, in) */
        int64_t rows = j->shape[0], cols = j->shape[1];
        for (int64_t r = 0; r < rows; r++)
            for (int64_t c = 0; c < cols; c++) out[r * cols + c] = v.f[c * rows + r] * j->scale;
    } else {
        for (int64_t k = 0; k < numel; k++) out[k] = v.f[k] * j->scale;
    }
    free(v.owned);
    if ((st = ax_wfile_own(f, out, err))) return st;
    return push_values(f, j->entry, j->ndim, j->shape, out, numel, file, err);
}

/* A graph that is no net alexscope runs still gives its float initializers,
 * under their own names, for `inspect` and for binding by order and shape. */
static ax_status push_initializers(ax_wfile *f, const Onnx__GraphProto *g, const char *file, ax_error *err)
{
    for (size_t i = 0; i < g->n_initializer; i++) {
        const Onnx__TensorProto *t = g->initializer[i];
        int dt = t->has_data_type ? t->data_type : 0;
        if (dt != AX_ONNX_FLOAT && dt != AX_ONNX_FLOAT16 && dt != AX_ONNX_DOUBLE) continue;
        if (t->n_dims > AX_WMAX_DIMS)
            return ax_fail(err, AX_ERR_FORMAT, "%s: tensor '%s' has %zu dims (at most %d are read)", file, ax_onnx_tname(t),
                           t->n_dims, AX_WMAX_DIMS);
        ax_onnx_values v;
        ax_status st = ax_onnx_values_of(t, 0, file, &v, err);
        if (st) return st;
        if (v.owned && (st = ax_wfile_own(f, v.owned, err))) return st;
        if (strlen(ax_onnx_tname(t)) >= sizeof ((ax_wentry *)0)->name)
            return ax_fail(err, AX_ERR_FORMAT, "%s: tensor name '%.60s...' is too long", file, ax_onnx_tname(t));
        if ((st = push_values(f, ax_onnx_tname(t), (int)t->n_dims, t->dims, v.f, v.numel, file, err))) return st;
    }
    return AX_OK;
}

ax_status ax_onnx_parse(ax_wfile *f, const void *buf, size_t size, const char *file, ax_error *err)
{
    arena a = {0};
    int first = f->count;
    Onnx__ModelProto *m = unpack(buf, size, file, &a, err);
    if (!m) { arena_release(&a); return err ? err->code : AX_ERR_FORMAT; }
    f->format = "onnx";
    model_facts(f, m);
    ax_onnx_net net;
    ax_status st = ax_onnx_to_net(m, file, &net, err);
    if (!st) {
        if (net.text) {
            ax_wfile_fact(f, "runs as a net of %d layers from input '%s' to output '%s' (inspect --spec prints it)",
                          net.layers, net.input, net.output);
            ax_wfile_fact(f, "%s, so an image gets preprocessing %s (--preprocess chooses another)",
                          !strcmp(net.preprocess, "none") ? "not recognised as an AlexNet"
                          : !strcmp(net.preprocess, "torchvision") ? "recognised as torchvision's AlexNet"
                          : "recognised as bvlc AlexNet/CaffeNet", net.preprocess);
            for (int i = 0; i < net.njobs && !st; i++) st = run_job(f, &net.jobs[i], file, err);
        } else {
            ax_wfile_fact(f, "not a net alexscope runs: %s", net.why);
            st = push_initializers(f, m->graph, file, err);
        }
        ax_onnx_net_free(&net);
    }
    /* the entries may point into the arena's blocks: f keeps them */
    for (block *b = a.head, *n; b; b = n) {
        n = b->next;
        if (!st) st = ax_wfile_own(f, b, err);
        else free(b);
    }
    if (st) {
        ax_wfile_truncate(f, first);
        return st;
    }
    if (buf == f->map) ax_wfile_unmap_unused(f);
    return AX_OK;
}

ax_status ax_onnx_spec_text(const char *path, FILE *out, ax_error *err)
{
    void *map = NULL;
    size_t size = 0;
    ax_status st = ax_file_map(path, "ONNX model", &map, &size, err);
    if (st) return st;
    if (!ax_onnx_sniff(map, size)) {
        ax_file_unmap(map, size);
        return ax_fail(err, AX_ERR_FORMAT, "%s: not an ONNX model (a ModelProto starts with ir_version, field 1)",
                       path);
    }
    arena a = {0};
    Onnx__ModelProto *m = unpack(map, size, path, &a, err);
    if (!m) st = err ? err->code : AX_ERR_FORMAT;
    ax_onnx_net net = {0};
    if (!st) st = ax_onnx_to_net(m, path, &net, err);
    if (!st && !net.text) st = ax_fail(err, AX_ERR_UNSUPPORTED, "%s: %s", path, net.why);
    if (!st && fwrite(net.text, 1, net.len, out) != net.len)
        st = ax_fail(err, AX_ERR_IO, "%s: writing the spec failed", path);
    ax_onnx_net_free(&net);
    arena_release(&a);
    ax_file_unmap(map, size);
    return st;
}

/* ---- binding to another net ----------------------------------------------- */

static int same_shape(const ax_wentry *e, const ax_tensor *t)
{
    if (e->ndim != t->ndim) return 0;
    for (int d = 0; d < e->ndim; d++)
        if (e->shape[d] != t->shape[d]) return 0;
    return 1;
}

/* The flatten before fc layer i when it is H,W,C and spatial: the rows of
 * the file's (C,H,W)-ordered weight are permuted for it. */
static const ax_layer *hwc_flatten_before(const struct ax_net *net, int i)
{
    for (int j = i - 1; j >= 0; j--) {
        const ax_layer *L = &net->layers[j];
        if (L->weight.ndim) return NULL;
        if (L->spec.type == AX_L_FLATTEN)
            return L->spec.order == AX_FLATTEN_HWC && L->in_h * L->in_w > 1 ? L : NULL;
    }
    return NULL;
}

ax_status ax_onnx_bind(ax_wfile *f, const struct ax_net *net, char *notes, size_t notes_size, ax_error *err)
{
    int all = 1;
    for (int i = 0; i < net->nlayers && all; i++) {
        const ax_layer *L = &net->layers[i];
        char name[160];
        if (L->weight.ndim) { snprintf(name, sizeof name, "%s.weight", L->spec.name); all = !!ax_wfile_find(f, name); }
        if (all && L->bias.ndim) { snprintf(name, sizeof name, "%s.bias", L->spec.name); all = !!ax_wfile_find(f, name); }
    }
    if (all) return AX_OK;
    /* by order and shape: each tensor of the net takes the file's next one */
    int next = 0, bound = 0, permuted = 0;
    for (int i = 0; i < net->nlayers; i++) {
        const ax_layer *L = &net->layers[i];
        const ax_tensor *parts[2] = {&L->weight, &L->bias};
        for (int p = 0; p < 2; p++) {
            const ax_tensor *t = parts[p];
            if (!t->ndim) continue;
            char want[96];
            ax_tensor_shape_str(t, want, sizeof want);
            if (next >= f->count)
                return ax_fail(err, AX_ERR_MISSING, "%s: the ONNX file has %d weight tensors; %s.%s %s of the %s "
                               "model has none left to bind to", f->path, f->count, L->spec.name,
                               p ? "bias" : "weight", want, net->spec.name);
            ax_wentry *e = &f->entries[next];
            if (!same_shape(e, t)) {
                char have[96];
                ax_shape_str(have, sizeof have, e->ndim, e->shape);
                return ax_fail(err, AX_ERR_SHAPE, "%s: bound by order, the file's tensor %d '%s' %s does not fit "
                               "%s.%s %s of the %s model", f->path, next, e->name, have, L->spec.name,
                               p ? "bias" : "weight", want, net->spec.name);
            }
            const ax_layer *fl = p == 0 && L->spec.type == AX_L_FC ? hwc_flatten_before(net, i) : NULL;
            if (fl) {
                /* ONNX flattens (C, H, W); this net's columns are (H, W, C) */
                int C = fl->in_c, HW = fl->in_h * fl->in_w;
                int64_t rows = e->shape[0], cols = e->shape[1];
                if (cols != (int64_t)C * HW)
                    return ax_fail(err, AX_ERR_SHAPE, "%s: %s.weight has %lld columns, its flatten gives %d", f->path,
                                   L->spec.name, (long long)cols, C * HW);
                float *src = malloc((size_t)rows * (size_t)cols * sizeof(float));
                float *dst = malloc((size_t)rows * (size_t)cols * sizeof(float));
                if (!src || !dst) { free(src); free(dst); return ax_fail(err, AX_ERR_NOMEM, "%s: out of memory", f->path); }
                ax_wentry_to_f32(e, src);
                for (int64_t r = 0; r < rows; r++)
                    for (int c = 0; c < C; c++)
                        for (int s = 0; s < HW; s++)
                            dst[r * cols + (int64_t)s * C + c] = src[r * cols + (int64_t)c * HW + s];
                free(src);
                ax_status st = ax_wfile_own(f, dst, err);
                if (st) return st;
                e->data = dst;
                e->dtype = AX_DT_F32;
                e->nbytes = (size_t)rows * (size_t)cols * sizeof(float);
                permuted = 1;
            }
            snprintf(e->name, sizeof e->name, "%s.%s", L->spec.name, p ? "bias" : "weight");
            next++;
            bound++;
        }
    }
    if (notes && notes_size) {
        size_t len = strlen(notes);
        snprintf(notes + len, notes_size - len, "%sbound %d tensors of the ONNX file to the %s model by order and "
                 "shape%s", len ? "; " : "", bound, net->spec.name,
                 permuted ? " (fc weights after the H,W,C flatten permuted from ONNX's C,H,W)" : "");
    }
    return AX_OK;
}
