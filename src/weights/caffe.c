/* Caffe .caffemodel weights: a NetParameter protobuf. Layers and their
 * parameters are unpacked by protobuf-c (caffe.proto); blobs are walked here
 * so that their data is used in place. Blobs become entries in alexscope's
 * layouts; each layer's parameters become facts, which the spec check and the
 * .net writer read back. Nothing here trusts a length or a shape in the file. */
#include "caffe.h"
#include "wfile_internal.h"
#include "alexscope/text.h"
#include "alexscope/fileio.h"
#include "alexscope/net.h"
#include "weights/caffe.pb-c.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- wire-level checks --------------------------------------------------- */

/* Reads a base-128 varint at *pos; 0 when it runs past end or over 10 bytes. */
static int read_varint(const uint8_t *b, size_t end, size_t *pos, uint64_t *v)
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

int ax_caffe_sniff(const uint8_t *b, size_t size)
{
    size_t pos = 0;
    uint64_t key, len;
    if (!read_varint(b, size, &pos, &key) || (key & 7) != 2) return 0;
    uint64_t field = key >> 3;
    if (field != 1 && field != 2 && field != 100) return 0;
    return read_varint(b, size, &pos, &len);
}

/* Walks the top-level fields so that a lying length is named with its offset
 * before protobuf-c is asked (which would only say "failed"). */
static ax_status scan_top(const uint8_t *b, size_t size, const char *name, int *nlayers, ax_error *err)
{
    size_t pos = 0;
    *nlayers = 0;
    while (pos < size) {
        size_t at = pos;
        uint64_t key, v = 0;
        if (!read_varint(b, size, &pos, &key))
            return ax_fail(err, AX_ERR_FORMAT, "%s: Caffe NetParameter: field key at byte %zu runs past the end "
                           "of the file (%zu bytes)", name, at, size);
        uint64_t field = key >> 3;
        unsigned wt = key & 7;
        if (field == 0)
            return ax_fail(err, AX_ERR_FORMAT, "%s: Caffe NetParameter: field number 0 at byte %zu", name, at);
        switch (wt) {
        case 0:
            if (!read_varint(b, size, &pos, &v))
                return ax_fail(err, AX_ERR_FORMAT, "%s: Caffe NetParameter: field %llu at byte %zu: a number "
                               "runs past the end of the file", name, (unsigned long long)field, at);
            break;
        case 1:
        case 5: {
            size_t n = wt == 1 ? 8 : 4;
            if (size - pos < n)
                return ax_fail(err, AX_ERR_FORMAT, "%s: Caffe NetParameter: field %llu at byte %zu runs past "
                               "the end of the file", name, (unsigned long long)field, at);
            pos += n;
            break;
        }
        case 2:
            if (!read_varint(b, size, &pos, &v) || v > size - pos)
                return ax_fail(err, AX_ERR_FORMAT, "%s: Caffe NetParameter: field %llu at byte %zu says it is "
                               "%llu bytes long, but only %zu bytes follow (a truncated or corrupt file)", name,
                               (unsigned long long)field, at, (unsigned long long)v, size - pos);
            pos += (size_t)v;
            if (field == 2 || field == 100) ++*nlayers;
            break;
        default:
            return ax_fail(err, AX_ERR_FORMAT, "%s: Caffe NetParameter: field %llu at byte %zu has wire type %u, "
                           "which protobuf does not use", name, (unsigned long long)field, at, wt);
        }
    }
    return AX_OK;
}

/* ---- allocation: protobuf-c allocates from blocks the weight file owns ---- */

typedef struct {
    ax_wfile *f;
    uint8_t *cur;
    size_t left;
    size_t total, limit;   /* the unpacked message may not outgrow the file by much */
    int over, nomem;
} arena;

#define ARENA_BLOCK ((size_t)1 << 20)

static void *arena_take(arena *a, size_t n)
{
    if (n > a->limit - a->total) {
        a->over = 1;
        return NULL;
    }
    void *p = malloc(n);
    ax_error e;
    if (!p || ax_wfile_own(a->f, p, &e) != AX_OK) {   /* ax_wfile_own frees p when it fails */
        a->nomem = 1;
        return NULL;
    }
    a->total += n;
    return p;
}

static void *arena_alloc(void *data, size_t size)
{
    arena *a = data;
    if (size > SIZE_MAX - 16) return NULL;
    size = (size + 15) & ~(size_t)15;
    if (size == 0) size = 16;
    if (size > ARENA_BLOCK / 4) return arena_take(a, size);
    if (size > a->left) {
        uint8_t *blk = arena_take(a, ARENA_BLOCK);
        if (!blk) return NULL;
        a->cur = blk;
        a->left = ARENA_BLOCK;
    }
    void *p = a->cur;
    a->cur += size;
    a->left -= size;
    return p;
}

/* Blocks are released with the weight file. */
static void arena_free(void *data, void *ptr)
{
    (void)data;
    (void)ptr;
}

/* ---- one layer, whichever form it came in -------------------------------- */

typedef struct {
    const char *name;
    char type[64];
    int v1type;                 /* V1 enum, or -1 */
    size_t nblobs;
    Axcaffe__BlobProto **blobs;
    const Axcaffe__ConvolutionParameter *conv;
    const Axcaffe__InnerProductParameter *ip;
    const Axcaffe__LRNParameter *lrn;
    const Axcaffe__PoolingParameter *pool;
    const Axcaffe__DropoutParameter *drop;
    const Axcaffe__TransformationParameter *xform;
    const Axcaffe__InputParameter *input;
} clayer;

static const char *v1_type_name(int t)
{
    switch (t) {
    case 1: return "Accuracy";
    case 3: return "Concat";
    case 4: return "Convolution";
    case 5: return "Data";
    case 6: return "Dropout";
    case 8: return "Flatten";
    case 12: return "ImageData";
    case 14: return "InnerProduct";
    case 15: return "LRN";
    case 17: return "Pooling";
    case 18: return "ReLU";
    case 20: return "Softmax";
    case 21: return "SoftmaxWithLoss";
    case 22: return "Split";
    case 24: return "WindowData";
    case 29: return "MemoryData";
    }
    return NULL;
}

/* Layer names and types go into facts and tensor names: no spaces, no
 * control characters. */
static void clean_token(char *dst, size_t size, const char *src)
{
    size_t i = 0;
    for (; src && src[i] && i + 1 < size; i++) {
        unsigned char c = (unsigned char)src[i];
        dst[i] = (c <= ' ' || c == 0x7f) ? '_' : (char)c;
    }
    dst[i] = 0;
    if (!i && size > 1) snprintf(dst, size, "?");
}

/* The fields V1 and V2 layers share under the same names (two generated
 * types, so a macro rather than a function). */
#define COPY_COMMON(c, l) do { \
        (c)->nblobs = (l)->n_blobs; \
        (c)->blobs = (l)->blobs; \
        (c)->conv = (l)->convolution_param; \
        (c)->ip = (l)->inner_product_param; \
        (c)->lrn = (l)->lrn_param; \
        (c)->pool = (l)->pooling_param; \
        (c)->drop = (l)->dropout_param; \
        (c)->xform = (l)->transform_param; \
    } while (0)

static size_t collect_layers(const Axcaffe__NetParameter *np, clayer *out)
{
    size_t n = 0;
    for (size_t i = 0; i < np->n_layers; i++) {
        const Axcaffe__V1LayerParameter *l = np->layers[i];
        clayer *c = &out[n++];
        memset(c, 0, sizeof *c);
        c->name = l->name;
        c->v1type = l->has_type ? (int)l->type : 0;
        const char *tn = v1_type_name(c->v1type);
        if (tn) snprintf(c->type, sizeof c->type, "%s", tn);
        else snprintf(c->type, sizeof c->type, "V1type%d", c->v1type);
        COPY_COMMON(c, l);
    }
    for (size_t i = 0; i < np->n_layer; i++) {
        const Axcaffe__LayerParameter *l = np->layer[i];
        clayer *c = &out[n++];
        memset(c, 0, sizeof *c);
        c->name = l->name;
        c->v1type = -1;
        clean_token(c->type, sizeof c->type, l->type ? l->type : "");
        COPY_COMMON(c, l);
        c->input = l->input_param;
    }
    return n;
}

typedef enum { K_OTHER, K_CONV, K_FC, K_LRN, K_POOL, K_RELU, K_DROPOUT, K_SOFTMAX, K_LOSS, K_DATA,
               K_FLATTEN } kind;

static kind kind_of(const char *type)
{
    static const struct { const char *t; kind k; } tab[] = {
        {"Convolution", K_CONV}, {"InnerProduct", K_FC}, {"LRN", K_LRN}, {"Pooling", K_POOL},
        {"ReLU", K_RELU}, {"Dropout", K_DROPOUT}, {"Softmax", K_SOFTMAX},
        {"SoftmaxWithLoss", K_LOSS}, {"Accuracy", K_LOSS}, {"Data", K_DATA}, {"ImageData", K_DATA},
        {"MemoryData", K_DATA}, {"WindowData", K_DATA}, {"Input", K_DATA}, {"DummyData", K_DATA},
        {"HDF5Data", K_DATA}, {"Split", K_DATA}, {"Silence", K_DATA}, {"Flatten", K_FLATTEN},
    };
    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++)
        if (!strcmp(type, tab[i].t)) return tab[i].k;
    return K_OTHER;
}

/* Caffe's rules: kernel_h/kernel_w (and the like) win over the repeated
 * field, where one value serves both dimensions. */
static void conv_geometry(const Axcaffe__ConvolutionParameter *p, unsigned g[8])
{
    /* g: kh kw sh sw ph pw dh dw */
    unsigned k0 = p->n_kernel_size ? p->kernel_size[0] : 0;
    unsigned k1 = p->n_kernel_size > 1 ? p->kernel_size[1] : k0;
    g[0] = p->has_kernel_h ? p->kernel_h : k0;
    g[1] = p->has_kernel_w ? p->kernel_w : k1;
    unsigned s0 = p->n_stride ? p->stride[0] : 1, s1 = p->n_stride > 1 ? p->stride[1] : s0;
    g[2] = p->has_stride_h ? p->stride_h : s0;
    g[3] = p->has_stride_w ? p->stride_w : s1;
    unsigned p0 = p->n_pad ? p->pad[0] : 0, p1 = p->n_pad > 1 ? p->pad[1] : p0;
    g[4] = p->has_pad_h ? p->pad_h : p0;
    g[5] = p->has_pad_w ? p->pad_w : p1;
    unsigned d0 = p->n_dilation ? p->dilation[0] : 1, d1 = p->n_dilation > 1 ? p->dilation[1] : d0;
    g[6] = d0;
    g[7] = d1;
}

static void pool_geometry(const Axcaffe__PoolingParameter *p, unsigned g[6])
{
    unsigned k = p->has_kernel_size ? p->kernel_size : 0;
    g[0] = p->has_kernel_h ? p->kernel_h : k;
    g[1] = p->has_kernel_w ? p->kernel_w : k;
    g[2] = p->has_stride_h ? p->stride_h : p->stride;
    g[3] = p->has_stride_w ? p->stride_w : p->stride;
    g[4] = p->has_pad_h ? p->pad_h : p->pad;
    g[5] = p->has_pad_w ? p->pad_w : p->pad;
}

/* ---- blobs to entries ---------------------------------------------------- */

/* The blob's shape, legacy or BlobShape, as up to AX_WMAX_DIMS dims; leading
 * ones are dropped while the rank is above `rank` (0: keep). */
static ax_status blob_shape(const Axcaffe__BlobProto *b, int rank, int64_t *shape, int *ndim, const char *file,
                            const char *layer, size_t bi, ax_error *err)
{
    int n = 0;
    int64_t d[AX_WMAX_DIMS];
    if (b->shape) {
        if (b->shape->n_dim > AX_WMAX_DIMS)
            return ax_fail(err, AX_ERR_FORMAT, "%s: layer '%s' blob %zu has %zu dimensions (at most %d are read)",
                           file, layer, bi, b->shape->n_dim, AX_WMAX_DIMS);
        for (size_t i = 0; i < b->shape->n_dim; i++) d[n++] = b->shape->dim[i];
    } else {
        d[0] = b->has_num ? b->num : 1;
        d[1] = b->has_channels ? b->channels : 1;
        d[2] = b->has_height ? b->height : 1;
        d[3] = b->has_width ? b->width : 1;
        n = 4;
    }
    for (int i = 0; i < n; i++)
        if (d[i] < 0 || d[i] > ((int64_t)1 << 40))
            return ax_fail(err, AX_ERR_FORMAT, "%s: layer '%s' blob %zu: dimension %d is %lld", file, layer, bi, i,
                           (long long)d[i]);
    int skip = 0;
    while (rank && n - skip > rank && d[skip] == 1) skip++;
    *ndim = n - skip;
    for (int i = 0; i < *ndim; i++) shape[i] = d[skip + i];
    return AX_OK;
}

static ax_status push_blob(ax_wfile *f, const Axcaffe__BlobProto *b, const char *ename, int rank, int transpose,
                           arena *a, const char *file, const char *layer, size_t bi, ax_error *err)
{
    ax_wentry e;
    memset(&e, 0, sizeof e);
    snprintf(e.name, sizeof e.name, "%s", ename);
    ax_status st = blob_shape(b, rank, e.shape, &e.ndim, file, layer, bi, err);
    if (st) return st;
    if (rank && e.ndim != rank) {
        char s[96];
        return ax_fail(err, AX_ERR_SHAPE, "%s: layer '%s' blob %zu has shape %s, expected %d dimensions", file,
                       layer, bi, ax_shape_str(s, sizeof s, e.ndim, e.shape), rank);
    }
    size_t count = 1;
    for (int i = 0; i < e.ndim; i++) {
        if (e.shape[i] && count > SIZE_MAX / 16 / (size_t)e.shape[i]) {
            return ax_fail(err, AX_ERR_FORMAT, "%s: layer '%s' blob %zu: shape too large", file, layer, bi);
        }
        count *= (size_t)e.shape[i];
    }
    if (b->n_data && b->n_double_data)
        return ax_fail(err, AX_ERR_FORMAT, "%s: layer '%s' blob %zu holds both float and double data", file, layer, bi);
    size_t have = b->n_data ? b->n_data : b->n_double_data;
    if (have != count) {
        char s[96];
        return ax_fail(err, AX_ERR_FORMAT, "%s: layer '%s' blob %zu: shape %s needs %zu values, the blob holds %zu",
                       file, layer, bi, ax_shape_str(s, sizeof s, e.ndim, e.shape), count, have);
    }
    e.dtype = b->n_double_data ? AX_DT_F64 : AX_DT_F32;
    size_t esz = ax_dtype_size(e.dtype);
    e.nbytes = count * esz;
    e.data = b->n_data ? (const void *)b->data : (const void *)b->double_data;
    if (!e.data) e.data = "";   /* an empty blob: readers may still memcpy zero bytes from it */
    if (transpose && e.ndim == 2) {
        /* stored (in, out): turn round to (out, in) */
        size_t rows = (size_t)e.shape[0], cols = (size_t)e.shape[1];
        uint8_t *t = arena_alloc(a, e.nbytes);
        if (!t) return ax_fail(err, AX_ERR_NOMEM, "%s: out of memory transposing layer '%s'", file, layer);
        const uint8_t *src = e.data;
        for (size_t r = 0; r < rows; r++)
            for (size_t c = 0; c < cols; c++)
                memcpy(t + (c * rows + r) * esz, src + (r * cols + c) * esz, esz);
        e.data = t;
        e.shape[0] = (int64_t)cols;
        e.shape[1] = (int64_t)rows;
    }
    return ax_wfile_push(f, &e, file, err);
}

/* ---- facts ---------------------------------------------------------------- */

/* The shortest decimal that reads back as the same float (0.0001, not
 * 9.99999975e-05): facts and printed specs stay readable and exact. */
static const char *fmt_float(char *buf, size_t size, double v)
{
    for (int prec = 6; prec <= 9; prec++) {
        snprintf(buf, size, "%.*g", prec, v);
        if ((float)strtod(buf, NULL) == (float)v) break;
    }
    return buf;
}

static void fact_layer(ax_wfile *f, const clayer *c, const char *lname)
{
    char p[400] = "";
    kind k = kind_of(c->type);
    if (k == K_CONV) {
        unsigned g[8] = {0, 0, 1, 1, 0, 0, 1, 1};
        unsigned out = 0, group = 1, bias = 1;
        if (c->conv) {
            conv_geometry(c->conv, g);
            out = c->conv->num_output;
            group = c->conv->group;
            bias = c->conv->bias_term;
        }
        snprintf(p, sizeof p, " out=%u k=%ux%u s=%ux%u pad=%ux%u group=%u bias=%u dilation=%ux%u", out, g[0], g[1],
                 g[2], g[3], g[4], g[5], group, bias, g[6], g[7]);
    } else if (k == K_FC) {
        const Axcaffe__InnerProductParameter *q = c->ip;
        snprintf(p, sizeof p, " out=%u bias=%d transpose=%d", q ? q->num_output : 0u, q ? (int)q->bias_term : 1,
                 q ? (int)q->transpose : 0);
    } else if (k == K_LRN) {
        const Axcaffe__LRNParameter *q = c->lrn;
        char a[32], b[32], kk[32];
        snprintf(p, sizeof p, " size=%u alpha=%s beta=%s k=%s region=%s", q ? q->local_size : 5u,
                 fmt_float(a, sizeof a, q ? q->alpha : 1.0), fmt_float(b, sizeof b, q ? q->beta : 0.75),
                 fmt_float(kk, sizeof kk, q ? q->k : 1.0), q && q->norm_region ? "within" : "across");
    } else if (k == K_POOL) {
        unsigned g[6] = {0, 0, 1, 1, 0, 0};
        int method = 0, floor_ = 0, global = 0;
        if (c->pool) {
            pool_geometry(c->pool, g);
            method = (int)c->pool->pool;
            floor_ = c->pool->round_mode == AXCAFFE__POOLING_PARAMETER__ROUND_MODE__FLOOR;
            global = c->pool->global_pooling;
        }
        snprintf(p, sizeof p, " pool=%s k=%ux%u s=%ux%u pad=%ux%u round=%s global=%d",
                 method == 0 ? "max" : method == 1 ? "ave" : "stochastic", g[0], g[1], g[2], g[3], g[4], g[5],
                 floor_ ? "floor" : "ceil", global);
    } else if (k == K_DROPOUT) {
        char a[32];
        snprintf(p, sizeof p, " p=%s", fmt_float(a, sizeof a, c->drop ? c->drop->dropout_ratio : 0.5));
    } else if (k == K_DATA && c->xform && c->xform->has_crop_size) {
        snprintf(p, sizeof p, " crop=%u", c->xform->crop_size);
    } else if (k == K_DATA && c->input && c->input->n_shape && c->input->shape[0]->n_dim == 4) {
        const Axcaffe__BlobShape *s = c->input->shape[0];
        snprintf(p, sizeof p, " shape=%lldx%lldx%lldx%lld", (long long)s->dim[0], (long long)s->dim[1],
                 (long long)s->dim[2], (long long)s->dim[3]);
    }
    char shapes[200] = "";
    for (size_t i = 0; i < c->nblobs && i < 4; i++) {
        int64_t d[AX_WMAX_DIMS];
        int nd;
        ax_error e;
        if (blob_shape(c->blobs[i], 0, d, &nd, "", "", i, &e)) continue;
        size_t len = strlen(shapes);
        snprintf(shapes + len, sizeof shapes - len, " blob%zu=", i);
        for (int j = 0; j < nd; j++) {
            len = strlen(shapes);
            snprintf(shapes + len, sizeof shapes - len, "%s%lld", j ? "x" : "", (long long)d[j]);
        }
    }
    ax_wfile_fact(f, "layer %s %s%s blobs=%zu%s", lname, c->type, p, c->nblobs, shapes);
}

/* ---- blobs in place ----------------------------------------------------------
 * protobuf-c copies every repeated float it unpacks: for a 244 MB file that
 * is a second copy of the weights and most of the load time. So each layer
 * is unpacked by protobuf-c without its blobs (its other fields, copied into
 * a small buffer: protobuf allows a message's fields in any grouping), and
 * the blobs are walked here: packed float or double data that comes in one
 * piece is used where it lies in the file's mapping. */

/* Skips the value of a field of wire type wt at *pos; 0 when it runs past end. */
static int skip_value(const uint8_t *b, size_t end, size_t *pos, unsigned wt, size_t *len_at, uint64_t *len)
{
    uint64_t v;
    switch (wt) {
    case 0: return read_varint(b, end, pos, &v);
    case 1: if (end - *pos < 8) return 0; *pos += 8; return 1;
    case 5: if (end - *pos < 4) return 0; *pos += 4; return 1;
    case 2:
        if (!read_varint(b, end, pos, &v) || v > end - *pos) return 0;
        if (len_at) *len_at = *pos;
        if (len) *len = v;
        *pos += (size_t)v;
        return 1;
    }
    return 0;
}

/* Repeated numbers: packed runs or single values, gathered into one array of
 * esz-byte elements, unless there is exactly one packed run, which is used in
 * place. */
typedef struct {
    const uint8_t *one;     /* the single packed run, when there is one */
    size_t count, runs, singles;
} numlist;

static int blob_walk(const uint8_t *b, size_t n, Axcaffe__BlobProto *out, Axcaffe__BlobShape *shape, arena *a,
                     const char **why)
{
    numlist fl = {0}, dl = {0};
    int has_shape = 0;
    for (int pass = 0; pass < 2; pass++) {
        float *fdst = NULL;
        double *ddst = NULL;
        size_t fi = 0, di = 0;
        if (pass == 1) {
            if (fl.count && !(fl.runs == 1 && !fl.singles)) {
                if (fl.count > SIZE_MAX / 8 || !(fdst = arena_alloc(a, fl.count * sizeof *fdst))) return -2;
                out->data = fdst;
            }
            if (dl.count && !(dl.runs == 1 && !dl.singles)) {
                if (dl.count > SIZE_MAX / 16 || !(ddst = arena_alloc(a, dl.count * sizeof *ddst))) return -2;
                out->double_data = ddst;
            }
        }
        size_t pos = 0;
        while (pos < n) {
            uint64_t key = 0, v = 0, len = 0;
            size_t at = 0;
            if (!read_varint(b, n, &pos, &key)) return *why = "a blob field's key runs past its blob", -1;
            unsigned wt = key & 7;
            uint64_t field = key >> 3;
            size_t start = pos;
            if (field == 0 || !skip_value(b, n, &pos, wt, &at, &len))
                return *why = "a blob field runs past its blob, or has a wire type protobuf does not use", -1;
            if (pass == 0 && field >= 1 && field <= 4) {
                if (wt != 0) return *why = "a blob's legacy dimension is not a number", -1;
                size_t p2 = start;
                read_varint(b, n, &p2, &v);
                int64_t d = (int64_t)v;
                if (field == 1) out->has_num = 1, out->num = d;
                if (field == 2) out->has_channels = 1, out->channels = d;
                if (field == 3) out->has_height = 1, out->height = d;
                if (field == 4) out->has_width = 1, out->width = d;
            } else if (field == 5 || field == 8) {
                size_t esz = field == 5 ? 4 : 8;
                numlist *l = field == 5 ? &fl : &dl;
                if (wt == 2) {
                    if (len % esz) return *why = "packed blob data whose length is not a whole number of values", -1;
                    if (pass == 0) {
                        l->one = b + at;
                        l->runs++;
                        l->count += (size_t)len / esz;
                    } else if (field == 5 && fdst) {
                        memcpy(fdst + fi, b + at, (size_t)len);
                        fi += (size_t)len / esz;
                    } else if (field == 8 && ddst) {
                        memcpy(ddst + di, b + at, (size_t)len);
                        di += (size_t)len / esz;
                    }
                } else if (wt == (field == 5 ? 5u : 1u)) {
                    if (pass == 0) {
                        l->singles++;
                        l->count++;
                    } else if (field == 5) {
                        memcpy(fdst + fi++, b + start, 4);
                    } else {
                        memcpy(ddst + di++, b + start, 8);
                    }
                } else {
                    return *why = "blob data of the wrong wire type", -1;
                }
            } else if (pass == 0 && field == 7) {
                if (wt != 2) return *why = "a blob shape that is not a message", -1;
                /* BlobShape: dim = 1, packed or not; the last shape given wins, as in protobuf */
                has_shape = 1;
                shape->n_dim = 0;
                size_t q = at, qend = at + (size_t)len;
                while (q < qend) {
                    uint64_t k2, d;
                    size_t a2 = 0;
                    uint64_t l2 = 0;
                    if (!read_varint(b, qend, &q, &k2)) return *why = "a blob shape runs past its blob", -1;
                    if ((k2 >> 3) == 1 && (k2 & 7) == 0) {
                        if (!read_varint(b, qend, &q, &d)) return *why = "a blob shape runs past its blob", -1;
                        if (shape->n_dim == AX_WMAX_DIMS + 1) return *why = "a blob shape with too many dimensions", -1;
                        shape->dim[shape->n_dim++] = (int64_t)d;
                    } else if ((k2 >> 3) == 1 && (k2 & 7) == 2) {
                        size_t q0 = q;
                        if (!skip_value(b, qend, &q0, 2, &a2, &l2)) return *why = "a blob shape runs past its blob", -1;
                        size_t r = a2, rend = a2 + (size_t)l2;
                        while (r < rend) {
                            if (!read_varint(b, rend, &r, &d)) return *why = "a blob shape's dimensions run past it", -1;
                            if (shape->n_dim == AX_WMAX_DIMS + 1)
                                return *why = "a blob shape with too many dimensions", -1;
                            shape->dim[shape->n_dim++] = (int64_t)d;
                        }
                        q = q0;
                    } else if ((k2 >> 3) == 0 || !skip_value(b, qend, &q, k2 & 7, NULL, NULL)) {
                        return *why = "a blob shape field runs past its blob", -1;
                    }
                }
            }
        }
    }
    if (has_shape) out->shape = shape;
    if (fl.count) {
        out->n_data = fl.count;
        if (fl.runs == 1 && !fl.singles) out->data = (float *)(uintptr_t)fl.one;   /* read through memcpy only */
    }
    if (dl.count) {
        out->n_double_data = dl.count;
        if (dl.runs == 1 && !dl.singles) out->double_data = (double *)(uintptr_t)dl.one;
    }
    return 0;
}

/* Unpacks one layer (V1 when v1) without its blobs, then walks the blobs. */
static int layer_unpack(const uint8_t *b, size_t n, int v1, arena *a, ProtobufCAllocator *alloc, void **out,
                        const char **why)
{
    unsigned blob_field = v1 ? 6 : 7;
    uint8_t *rest = NULL;
    size_t rn = 0, nblobs = 0, pos = 0;
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1 && !(rest = arena_alloc(a, rn ? rn : 1))) return -2;
        rn = nblobs = pos = 0;
        while (pos < n) {
            size_t at0 = pos, at = 0;
            uint64_t key = 0, len = 0;
            if (!read_varint(b, n, &pos, &key) || (key >> 3) == 0 || !skip_value(b, n, &pos, key & 7, &at, &len))
                return *why = "a field inside a layer runs past its layer, or has a wire type protobuf does not use", -1;
            if ((key >> 3) == blob_field && (key & 7) == 2) {
                nblobs++;
            } else {
                if (pass == 1) memcpy(rest + rn, b + at0, pos - at0);
                rn += pos - at0;
            }
        }
    }
    ProtobufCMessage *m = protobuf_c_message_unpack(v1 ? &axcaffe__v1_layer_parameter__descriptor
                                                       : &axcaffe__layer_parameter__descriptor, alloc, rn, rest);
    if (!m) return a->over || a->nomem ? -2 : (*why = NULL, -1);
    Axcaffe__BlobProto **blobs = NULL;
    if (nblobs) {
        if (nblobs > SIZE_MAX / 256) return -2;
        blobs = arena_alloc(a, nblobs * sizeof *blobs);
        if (!blobs) return -2;
        size_t bi = 0;
        pos = 0;
        while (pos < n) {
            size_t at = 0;
            uint64_t key = 0, len = 0;
            read_varint(b, n, &pos, &key);
            skip_value(b, n, &pos, key & 7, &at, &len);
            if ((key >> 3) != blob_field || (key & 7) != 2) continue;
            Axcaffe__BlobProto *bp = arena_alloc(a, sizeof *bp);
            Axcaffe__BlobShape *sh = arena_alloc(a, sizeof *sh);
            int64_t *dims = arena_alloc(a, (AX_WMAX_DIMS + 1) * sizeof *dims);
            if (!bp || !sh || !dims) return -2;
            memset(bp, 0, sizeof *bp);
            memset(sh, 0, sizeof *sh);
            sh->dim = dims;
            int r = blob_walk(b + at, (size_t)len, bp, sh, a, why);
            if (r) return r;
            blobs[bi++] = bp;
        }
    }
    if (v1) {
        Axcaffe__V1LayerParameter *l = (Axcaffe__V1LayerParameter *)m;
        l->n_blobs = nblobs;
        l->blobs = blobs;
    } else {
        Axcaffe__LayerParameter *l = (Axcaffe__LayerParameter *)m;
        l->n_blobs = nblobs;
        l->blobs = blobs;
    }
    *out = m;
    return 0;
}

/* The NetParameter: its own fields through protobuf-c, each layer through
 * layer_unpack. 0 (AX_OK), AX_ERR_FORMAT with *why, or AX_ERR_NOMEM. */
static ax_status unpack_net(const uint8_t *b, size_t n, arena *a, Axcaffe__NetParameter **out, const char **why)
{
    ProtobufCAllocator alloc = {.alloc = arena_alloc, .free = arena_free, .allocator_data = a};
    uint8_t *rest = NULL;
    size_t rn = 0, n1 = 0, n100 = 0, pos = 0;
    /* scan_top has checked every top-level field already */
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1 && !(rest = arena_alloc(a, rn ? rn : 1))) return AX_ERR_NOMEM;
        rn = n1 = n100 = pos = 0;
        while (pos < n) {
            size_t at0 = pos;
            uint64_t key = 0;
            read_varint(b, n, &pos, &key);
            skip_value(b, n, &pos, key & 7, NULL, NULL);
            if ((key & 7) == 2 && ((key >> 3) == 2 || (key >> 3) == 100)) {
                if ((key >> 3) == 2) n1++;
                else n100++;
            } else {
                if (pass == 1) memcpy(rest + rn, b + at0, pos - at0);
                rn += pos - at0;
            }
        }
    }
    Axcaffe__NetParameter *np = axcaffe__net_parameter__unpack(&alloc, rn, rest);
    if (!np) return a->over || a->nomem ? AX_ERR_NOMEM : AX_ERR_FORMAT;
    if (n1 > SIZE_MAX / 64 || n100 > SIZE_MAX / 64) return AX_ERR_NOMEM;
    np->layers = n1 ? arena_alloc(a, n1 * sizeof *np->layers) : NULL;
    np->layer = n100 ? arena_alloc(a, n100 * sizeof *np->layer) : NULL;
    if ((n1 && !np->layers) || (n100 && !np->layer)) return AX_ERR_NOMEM;
    np->n_layers = np->n_layer = 0;
    pos = 0;
    while (pos < n) {
        size_t at = 0;
        uint64_t key = 0, len = 0;
        read_varint(b, n, &pos, &key);
        skip_value(b, n, &pos, key & 7, &at, &len);
        if ((key & 7) != 2 || ((key >> 3) != 2 && (key >> 3) != 100)) continue;
        int v1 = (key >> 3) == 2;
        void *m = NULL;
        int r = layer_unpack(b + at, (size_t)len, v1, a, &alloc, &m, why);
        if (r == -2) return AX_ERR_NOMEM;
        if (r) return AX_ERR_FORMAT;
        if (v1) np->layers[np->n_layers++] = m;
        else np->layer[np->n_layer++] = m;
    }
    *out = np;
    return AX_OK;
}

/* ---- the reader ---------------------------------------------------------- */

ax_status ax_caffe_parse(ax_wfile *f, const void *buf, size_t size, const char *name, ax_error *err)
{
    int nlayers = 0;
    ax_status st = scan_top(buf, size, name, &nlayers, err);
    if (st) return st;
    if (!nlayers)
        return ax_fail(err, AX_ERR_FORMAT, "%s: a protobuf with no layers (fields 2 or 100): not a Caffe "
                       ".caffemodel, or an empty net", name);
    arena a = {.f = f, .limit = size / 2 * 5 + ((size_t)64 << 20)};
    Axcaffe__NetParameter *np = NULL;
    const char *why = NULL;
    st = unpack_net(buf, size, &a, &np, &why);
    if (st == AX_ERR_NOMEM) {
        if (a.over)
            return ax_fail(err, AX_ERR_FORMAT, "%s: Caffe NetParameter would take over %zu MB unpacked for a %zu-byte "
                           "file: refused as malformed", name, a.limit >> 20, size);
        return ax_fail(err, AX_ERR_NOMEM, "%s: out of memory unpacking the Caffe NetParameter", name);
    }
    if (st)
        return ax_fail(err, AX_ERR_FORMAT, "%s: Caffe NetParameter does not parse: %s (a truncated or corrupt "
                       ".caffemodel)", name, why ? why : "a length inside a layer runs past its message, or a field "
                       "has the wrong type");
    f->format = "caffemodel";
    size_t n = np->n_layers + np->n_layer;
    /* Outside the arena's limit: that bounds what protobuf-c unpacks, and a
     * file of many tiny layers (3 bytes each) must not run into it here. The
     * count is bounded by the file's size. */
    clayer *ls = n ? malloc(n * sizeof *ls) : NULL;
    if (n && (!ls || ax_wfile_own(f, ls, err) != AX_OK))
        return ax_fail(err, AX_ERR_NOMEM, "%s: out of memory listing %zu layers", name, n);
    collect_layers(np, ls);

    char netname[80];
    clean_token(netname, sizeof netname, np->name ? np->name : "");
    ax_wfile_fact(f, "caffemodel NetParameter '%s': %zu V1 layers (field 2), %zu layers (field 100)",
                  np->name ? netname : "", np->n_layers, np->n_layer);
    if (np->n_input_dim == 4)
        ax_wfile_fact(f, "input %lld %lld %lld (input_dim)", (long long)np->input_dim[1],
                      (long long)np->input_dim[2], (long long)np->input_dim[3]);
    else if (np->n_input_shape && np->input_shape[0]->n_dim == 4)
        ax_wfile_fact(f, "input %lld %lld %lld (input_shape)", (long long)np->input_shape[0]->dim[1],
                      (long long)np->input_shape[0]->dim[2], (long long)np->input_shape[0]->dim[3]);

    char skipped[400] = "";
    int nskipped = 0;
    for (size_t i = 0; i < n; i++) {
        clayer *c = &ls[i];
        char lname[121];
        if (c->name && strlen(c->name) >= sizeof lname)
            return ax_fail(err, AX_ERR_FORMAT, "%s: layer %zu has a name of %zu characters (at most %zu are read)",
                           name, i, strlen(c->name), sizeof lname - 1);
        /* Names become file names in every writer and layer names in the
         * spec inspect --spec prints: the one rule (text.h) keeps plain names
         * as they are and makes the rest ('/' in GoogLeNet-style names)
         * plain, here, so the entries, the facts and the spec agree. */
        ax_name_to_file(lname, sizeof lname, c->name ? c->name : "");
        fact_layer(f, c, lname);
        kind k = kind_of(c->type);
        if (!c->nblobs) {
            if (k == K_DATA || k == K_LOSS) {
                size_t len = strlen(skipped);
                if (len + strlen(lname) + strlen(c->type) + 8 < sizeof skipped)
                    snprintf(skipped + len, sizeof skipped - len, "%s%.120s (%.60s)", nskipped ? ", " : "", lname,
                             c->type);
                nskipped++;
            }
            continue;
        }
        for (size_t bi = 0; bi < c->nblobs; bi++) {
            char ename[128];
            int rank = 0, transpose = 0;
            if ((k == K_CONV || k == K_FC) && bi < 2) {
                snprintf(ename, sizeof ename, "%s.%s", lname, bi ? "bias" : "weight");
                rank = bi ? 1 : k == K_CONV ? 4 : 2;
                transpose = k == K_FC && bi == 0 && c->ip && c->ip->transpose;
            } else {
                snprintf(ename, sizeof ename, "%s.blob%zu", lname, bi);
            }
            st = push_blob(f, c->blobs[bi], ename, rank, transpose, &a, name, lname, bi, err);
            if (st) return st;
            if (transpose) ax_wfile_fact(f, "%s: transposed inner product, (in, out) turned to (out, in) on load",
                                         ename);
        }
    }
    if (nskipped) ax_wfile_fact(f, "skipped (no weights): %s", skipped);
    return AX_OK;
}

/* ---- reading the facts back ------------------------------------------------ */

typedef struct {
    char name[121];
    char type[64];
    kind k;
    unsigned out, kh, kw, sh, sw, ph, pw, group, bias, dh, dw, transpose, size, global, ceil, method;
    double alpha, beta, kk, p;
    int within, blobs;
    int64_t w[4];      /* blob0's shape when 4-d (conv weight), else zeros */
    int crop;
    int64_t in[3];     /* Input layer shape (C, H, W) */
} flayer;

static void parse_pair(const char *v, unsigned *a, unsigned *b)
{
    unsigned x = 0, y = 0;
    if (sscanf(v, "%ux%u", &x, &y) == 2) {
        *a = x;
        *b = y;
    }
}

static int parse_fact_layer(const char *line, flayer *l)
{
    memset(l, 0, sizeof *l);
    if (strncmp(line, "layer ", 6)) return 0;
    char buf[512];
    size_t n = strcspn(line, "\n");
    if (n >= sizeof buf) n = sizeof buf - 1;
    memcpy(buf, line, n);
    buf[n] = 0;
    char *save = NULL;
    strtok_r(buf, " ", &save);
    char *nm = strtok_r(NULL, " ", &save), *ty = strtok_r(NULL, " ", &save);
    if (!nm || !ty) return 0;
    snprintf(l->name, sizeof l->name, "%s", nm);
    snprintf(l->type, sizeof l->type, "%s", ty);
    l->k = kind_of(ty);
    l->sh = l->sw = l->group = l->dh = l->dw = 1;
    l->bias = 1;
    l->ceil = 1;
    for (char *t; (t = strtok_r(NULL, " ", &save));) {
        char *eq = strchr(t, '=');
        if (!eq) continue;
        *eq = 0;
        const char *v = eq + 1;
        if (!strcmp(t, "out")) l->out = (unsigned)strtoul(v, NULL, 10);
        else if (!strcmp(t, "k") && l->k == K_LRN) l->kk = strtod(v, NULL);
        else if (!strcmp(t, "k")) parse_pair(v, &l->kh, &l->kw);
        else if (!strcmp(t, "s")) parse_pair(v, &l->sh, &l->sw);
        else if (!strcmp(t, "pad")) parse_pair(v, &l->ph, &l->pw);
        else if (!strcmp(t, "dilation")) parse_pair(v, &l->dh, &l->dw);
        else if (!strcmp(t, "group")) l->group = (unsigned)strtoul(v, NULL, 10);
        else if (!strcmp(t, "bias")) l->bias = (unsigned)strtoul(v, NULL, 10);
        else if (!strcmp(t, "transpose")) l->transpose = (unsigned)strtoul(v, NULL, 10);
        else if (!strcmp(t, "size")) l->size = (unsigned)strtoul(v, NULL, 10);
        else if (!strcmp(t, "alpha")) l->alpha = strtod(v, NULL);
        else if (!strcmp(t, "beta")) l->beta = strtod(v, NULL);
        else if (!strcmp(t, "region")) l->within = !strcmp(v, "within");
        else if (!strcmp(t, "pool")) l->method = !strcmp(v, "max") ? 0 : !strcmp(v, "ave") ? 1 : 2;
        else if (!strcmp(t, "round")) l->ceil = !strcmp(v, "ceil");
        else if (!strcmp(t, "global")) l->global = (unsigned)strtoul(v, NULL, 10);
        else if (!strcmp(t, "p")) l->p = strtod(v, NULL);
        else if (!strcmp(t, "blobs")) l->blobs = atoi(v);
        else if (!strcmp(t, "crop")) l->crop = atoi(v);
        else if (!strcmp(t, "shape")) {
            long long a, b, c, d;
            if (sscanf(v, "%lldx%lldx%lldx%lld", &a, &b, &c, &d) == 4) {
                l->in[0] = b;
                l->in[1] = c;
                l->in[2] = d;
            }
        } else if (!strcmp(t, "blob0")) {
            long long a, b, c, d;
            if (sscanf(v, "%lldx%lldx%lldx%lld", &a, &b, &c, &d) == 4) {
                l->w[0] = a;
                l->w[1] = b;
                l->w[2] = c;
                l->w[3] = d;
            }
        }
    }
    return 1;
}

/* Calls fn for every layer line of f's facts; stops early when fn returns nonzero. */
static int each_layer(const char *facts, int (*fn)(const flayer *, void *), void *user)
{
    for (const char *p = facts; p && *p;) {
        flayer l;
        if (parse_fact_layer(p, &l) && fn(&l, user)) return 1;
        p = strchr(p, '\n');
        if (p) p++;
    }
    return 0;
}

/* ---- comparing with a spec ------------------------------------------------- */

typedef struct {
    char *msg;
    size_t size;
    int count, hidden;
} mism;

/* Appends one mismatch; those that no longer fit are counted, and the count
 * is said at the end, so that the message never stops mid-word. */
static void add_mismatch(mism *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add_mismatch(mism *m, const char *fmt, ...)
{
    char one[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(one, sizeof one, fmt, ap);
    va_end(ap);
    m->count++;
    size_t len = strlen(m->msg);
    if (len + strlen(one) + 2 + 24 >= m->size) {
        m->hidden++;
        return;
    }
    snprintf(m->msg + len, m->size - len, "%s%s", len ? "; " : "", one);
}

typedef struct {
    flayer *v;
    int n, cap;
} flist;

static int collect_cb(const flayer *l, void *user)
{
    flist *fl = user;
    if (l->k != K_CONV && l->k != K_FC && l->k != K_LRN && l->k != K_POOL &&
        !(l->k == K_OTHER && l->blobs)) return 0;
    if (fl->n == fl->cap) {
        int cap = fl->cap ? fl->cap * 2 : 16;
        flayer *g = realloc(fl->v, (size_t)cap * sizeof *g);
        if (!g) return 1;
        fl->v = g;
        fl->cap = cap;
    }
    fl->v[fl->n++] = *l;
    return 0;
}

static int close_enough(double a, double b)
{
    return fabs(a - b) <= 1e-6 * fmax(fabs(a), fabs(b)) + 1e-12;
}

static const char *kind_word(kind k)
{
    switch (k) {
    case K_CONV: return "conv";
    case K_FC: return "fc";
    case K_LRN: return "lrn";
    case K_POOL: return "pool";
    default: return "other";
    }
}

static void compare_layer(mism *m, const flayer *c, const ax_layer_spec *s)
{
    const char *n = s->name;
    if (c->k == K_CONV) {
        if (c->out != (unsigned)s->out_c) add_mismatch(m, "%s: %u outputs in the file, out=%d in the spec", n, c->out, s->out_c);
        if (c->kh != (unsigned)s->kh || c->kw != (unsigned)s->kw)
            add_mismatch(m, "%s: kernel %ux%u in the file, %dx%d in the spec", n, c->kh, c->kw, s->kh, s->kw);
        if (c->sh != (unsigned)s->sh || c->sw != (unsigned)s->sw)
            add_mismatch(m, "%s: stride %ux%u in the file, %dx%d in the spec", n, c->sh, c->sw, s->sh, s->sw);
        if (s->pad_mode == AX_PAD_SAME)
            add_mismatch(m, "%s: pad %ux%u in the file, pad=same in the spec", n, c->ph, c->pw);
        else if (c->ph != (unsigned)s->pad_t || c->ph != (unsigned)s->pad_b || c->pw != (unsigned)s->pad_l ||
                 c->pw != (unsigned)s->pad_r)
            add_mismatch(m, "%s: pad %ux%u in the file, %d,%d,%d,%d (t,l,b,r) in the spec", n, c->ph, c->pw,
                         s->pad_t, s->pad_l, s->pad_b, s->pad_r);
        if (c->group != (unsigned)s->groups)
            add_mismatch(m, "%s: group %u in the file, groups=%d in the spec", n, c->group, s->groups);
        if (!c->bias != !s->bias) add_mismatch(m, "%s: bias_term %u in the file, bias=%d in the spec", n, c->bias, s->bias);
        if (c->dh != 1 || c->dw != 1)
            add_mismatch(m, "%s: dilation %ux%u in the file (alexscope convolutions are not dilated)", n, c->dh, c->dw);
    } else if (c->k == K_FC) {
        if (c->out != (unsigned)s->out_c) add_mismatch(m, "%s: %u outputs in the file, out=%d in the spec", n, c->out, s->out_c);
        if (!c->bias != !s->bias) add_mismatch(m, "%s: bias_term %u in the file, bias=%d in the spec", n, c->bias, s->bias);
    } else if (c->k == K_LRN) {
        double scale = c->size ? c->alpha / c->size : 0;
        if (c->within) add_mismatch(m, "%s (file '%s'): WITHIN_CHANNEL normalisation in the file, across channels in the spec", n, c->name);
        if (c->size != (unsigned)s->lrn_size)
            add_mismatch(m, "%s (file '%s'): LRN window %u in the file, %d in the spec", n, c->name, c->size, s->lrn_size);
        if (!close_enough(scale, ax_lrn_sum_scale(s)))
            add_mismatch(m, "%s (file '%s'): LRN alpha %.9g (%.9g per square after Caffe's division by the window) in "
                         "the file, %.9g per square in the spec", n, c->name, c->alpha, scale, (double)ax_lrn_sum_scale(s));
        if (!close_enough(c->beta, s->lrn_beta))
            add_mismatch(m, "%s (file '%s'): LRN beta %.9g in the file, %.9g in the spec", n, c->name, c->beta, (double)s->lrn_beta);
        if (!close_enough(c->kk, s->lrn_k))
            add_mismatch(m, "%s (file '%s'): LRN k %.9g in the file, %.9g in the spec", n, c->name, c->kk, (double)s->lrn_k);
    } else if (c->k == K_POOL) {
        if (s->type != AX_L_MAXPOOL || c->method != 0 || c->global) {
            add_mismatch(m, "%s (file '%s'): %s%s pooling in the file, %s in the spec", n, c->name,
                         c->global ? "global " : "", c->method == 0 ? "max" : c->method == 1 ? "average" : "stochastic",
                         ax_layer_type_name(s->type));
            return;
        }
        if (c->kh != (unsigned)s->kh || c->kw != (unsigned)s->kw)
            add_mismatch(m, "%s (file '%s'): pooling kernel %ux%u in the file, %dx%d in the spec", n, c->name, c->kh, c->kw, s->kh, s->kw);
        if (c->sh != (unsigned)s->sh || c->sw != (unsigned)s->sw)
            add_mismatch(m, "%s (file '%s'): pooling stride %ux%u in the file, %dx%d in the spec", n, c->name, c->sh, c->sw, s->sh, s->sw);
        if (s->pad_mode == AX_PAD_SAME)
            add_mismatch(m, "%s (file '%s'): pooling pad %ux%u in the file, pad=same in the spec", n, c->name, c->ph, c->pw);
        else if (c->ph != (unsigned)s->pad_t || c->ph != (unsigned)s->pad_b || c->pw != (unsigned)s->pad_l ||
                 c->pw != (unsigned)s->pad_r)
            add_mismatch(m, "%s (file '%s'): pooling pad %ux%u in the file, %d,%d,%d,%d (t,l,b,r) in the spec", n,
                         c->name, c->ph, c->pw, s->pad_t, s->pad_l, s->pad_b, s->pad_r);
        if (c->ceil != (s->rounding == AX_ROUND_CEIL))
            add_mismatch(m, "%s (file '%s'): pooling rounds %s in the file, round=%s in the spec", n, c->name,
                         c->ceil ? "up (ceil)" : "down (floor)", s->rounding == AX_ROUND_CEIL ? "ceil" : "floor");
    }
}

/* The Caffe layer a spec layer of each kind pairs with (K_OTHER: none). */
static const kind spec_kinds[AX_L_COUNT] = {
    [AX_L_CONV] = K_CONV, [AX_L_FC] = K_FC, [AX_L_LRN] = K_LRN, [AX_L_MAXPOOL] = K_POOL, [AX_L_AVGPOOL] = K_POOL,
};

static kind spec_kind(const ax_layer_spec *s)
{
    return (unsigned)s->type < AX_L_COUNT ? spec_kinds[s->type] : K_OTHER;
}

ax_status ax_caffe_check_spec(const ax_wfile *f, const struct ax_net *net, char *msg, size_t size)
{
    if (size) msg[0] = 0;
    if (!f || !f->format || strcmp(f->format, "caffemodel")) {
        if (size) snprintf(msg, size, "not a caffemodel");
        return AX_ERR_ARG;
    }
    const ax_spec *spec = &net->spec;
    flist fl = {0};
    if (each_layer(f->facts, collect_cb, &fl)) {
        free(fl.v);
        if (size) snprintf(msg, size, "out of memory");
        return AX_ERR_NOMEM;
    }
    mism m = {msg, size, 0, 0};
    /* The spec's layers with parameters, in order; padding layers have no Caffe counterpart. */
    const ax_layer_spec *sl[AX_MAX_LAYERS];
    int ns = 0;
    for (int i = 0; i < spec->nlayers; i++) {
        const ax_layer_spec *s = &spec->layers[i];
        if (s->type == AX_L_PAD)
            add_mismatch(&m, "%s: the spec pads explicitly (pad layer), a Caffe net pads inside its layers", s->name);
        if (spec_kind(s) != K_OTHER) sl[ns++] = s;
    }
    /* Convolutions and inner products pair by name (their weights load by
     * name); LRN and pooling layers by their order among their kind. */
    int seq_ok = fl.n == ns;
    for (int i = 0; seq_ok && i < ns; i++) seq_ok = fl.v[i].k == spec_kind(sl[i]);
    if (!seq_ok) {
        char a[300] = "", b[300] = "";
        for (int i = 0; i < fl.n; i++)
            snprintf(a + strlen(a), sizeof a - strlen(a), "%s%s(%s)", i ? " " : "", fl.v[i].name,
                     fl.v[i].k == K_OTHER ? fl.v[i].type : kind_word(fl.v[i].k));
        for (int i = 0; i < ns; i++)
            snprintf(b + strlen(b), sizeof b - strlen(b), "%s%s(%s)", i ? " " : "", sl[i]->name,
                     kind_word(spec_kind(sl[i])));
        add_mismatch(&m, "the layers differ in kind or order: file %s; spec %s", a, b);
    }
    for (int i = 0; i < ns; i++) {
        const ax_layer_spec *s = sl[i];
        kind k = spec_kind(s);
        const flayer *c = NULL;
        if (k == K_CONV || k == K_FC) {
            for (int j = 0; j < fl.n && !c; j++)
                if (!strcmp(fl.v[j].name, s->name)) c = &fl.v[j];
            if (c && c->k != k) {
                add_mismatch(&m, "%s: a %s layer in the file, %s in the spec", s->name, c->type, ax_layer_type_name(s->type));
                continue;
            }
        } else {
            int nth = 0;
            for (int j = 0; j < i; j++) nth += spec_kind(sl[j]) == k;
            for (int j = 0; j < fl.n && !c; j++)
                if (fl.v[j].k == k && nth-- == 0) c = &fl.v[j];
        }
        if (c) compare_layer(&m, c, s);
    }
    free(fl.v);
    if (m.hidden) {
        size_t len = strlen(msg);
        snprintf(msg + len, size - len, "; %d more", m.hidden);
    }
    return m.count ? AX_ERR_SPEC : AX_OK;
}

/* A caffemodel carries its own net. Weights run in a net whose padding,
 * strides, groups, LRN constants or pooling differ give plausible but wrong
 * numbers with nothing else to say so: that is refused, naming every
 * difference. (`inspect --spec FILE` prints the file's own net.) */
ax_status ax_caffe_bind(ax_wfile *f, const struct ax_net *net, char *notes, size_t notes_size, ax_error *err)
{
    char msg[600];   /* room in the error for the path, twice */
    ax_status st = ax_caffe_check_spec(f, net, msg, sizeof msg);
    if (st == AX_ERR_SPEC)
        return ax_fail(err, AX_ERR_SPEC, "%s: the caffemodel's layer parameters differ from the %s model: %s "
                       "(alexscope inspect --spec %s prints the file's own net)", f->path, net->spec.name, msg,
                       f->path);
    if (st) return ax_fail(err, st, "%s: %s", f->path, msg);
    size_t len = notes_size ? strlen(notes) : 0;
    if (notes_size && len + 1 < notes_size)
        snprintf(notes + len, notes_size - len, "%scaffemodel layer parameters match the %s model", len ? "; " : "",
                 net->spec.name);
    return AX_OK;
}

/* ---- the file's net as a .net spec ---------------------------------------------- */

typedef struct {
    FILE *out;
    int softmax_done, fc_seen;
    int unsupported;
    char bad[300];
    int last_fc_out;
} spec_writer;

static int write_layer_cb(const flayer *l, void *user)
{
    spec_writer *w = user;
    FILE *o = w->out;
    switch (l->k) {
    case K_CONV:
        fprintf(o, "conv     %-13s out=%u k=", l->name, l->out);
        if (l->kh == l->kw) fprintf(o, "%u", l->kh);
        else fprintf(o, "%ux%u", l->kh, l->kw);
        if (l->sh == l->sw) fprintf(o, " s=%u", l->sh);
        else fprintf(o, " s=%ux%u", l->sh, l->sw);
        if (l->ph == l->pw) fprintf(o, " pad=%u", l->ph);
        else fprintf(o, " pad=%u,%u,%u,%u", l->ph, l->pw, l->ph, l->pw);
        if (l->group != 1) fprintf(o, " groups=%u", l->group);
        if (!l->bias) fprintf(o, " bias=0");
        fprintf(o, "\n");
        if (l->dh != 1 || l->dw != 1) goto unsupported;
        break;
    case K_FC:
        fprintf(o, "fc       %-13s out=%u%s\n", l->name, l->out, l->bias ? "" : " bias=0");
        w->last_fc_out = (int)l->out;
        break;
    case K_LRN: {
        char a[32], b[32], kk[32];
        fprintf(o, "lrn      %-13s convention=caffe size=%u alpha=%s beta=%s k=%s\n", l->name, l->size,
                fmt_float(a, sizeof a, l->alpha), fmt_float(b, sizeof b, l->beta), fmt_float(kk, sizeof kk, l->kk));
        if (l->within) goto unsupported;
        break;
    }
    case K_POOL:
        if (l->method != 0 || l->global) {
            fprintf(o, "# %s: %s pooling, which alexscope does not run\n", l->name, l->global ? "global" : "average");
            goto unsupported;
        }
        fprintf(o, "maxpool  %-13s k=", l->name);
        if (l->kh == l->kw) fprintf(o, "%u", l->kh);
        else fprintf(o, "%ux%u", l->kh, l->kw);
        if (l->sh == l->sw) fprintf(o, " s=%u", l->sh);
        else fprintf(o, " s=%ux%u", l->sh, l->sw);
        if (l->ph || l->pw) {
            if (l->ph == l->pw) fprintf(o, " pad=%u", l->ph);
            else fprintf(o, " pad=%u,%u,%u,%u", l->ph, l->pw, l->ph, l->pw);
        }
        fprintf(o, " round=%s\n", l->ceil ? "ceil" : "floor");
        break;
    case K_RELU:
        fprintf(o, "relu     %s\n", l->name);
        break;
    case K_DROPOUT: {
        char a[32];
        fprintf(o, "dropout  %-13s p=%s\n", l->name, fmt_float(a, sizeof a, l->p));
        break;
    }
    case K_FLATTEN:
        fprintf(o, "flatten  %-13s order=chw\n", l->name);
        break;
    case K_SOFTMAX:
        if (!w->softmax_done) fprintf(o, "softmax  %s\n", l->name);
        w->softmax_done = 1;
        break;
    case K_LOSS:
        if (!strcmp(l->type, "SoftmaxWithLoss") && !w->softmax_done) {
            fprintf(o, "softmax  prob          # the training net's loss layer '%s', as a softmax\n", l->name);
            w->softmax_done = 1;
        } else {
            fprintf(o, "# skipped: %s (%s)\n", l->name, l->type);
        }
        break;
    case K_DATA:
        fprintf(o, "# skipped: %s (%s)\n", l->name, l->type);
        break;
    default:
        fprintf(o, "# %s: a %s layer, which alexscope does not run\n", l->name, l->type);
        goto unsupported;
    }
    return 0;
unsupported:
    if (w->unsupported++ < 6) {
        size_t len = strlen(w->bad);
        snprintf(w->bad + len, sizeof w->bad - len, "%s%s (%s)", len ? ", " : "", l->name, l->type);
    }
    return 0;
}

typedef struct {
    int have_input, crop;
    int64_t c, h, w;
    int conv_c;
} input_finder;

static int find_input_cb(const flayer *l, void *user)
{
    input_finder *in = user;
    if (l->k == K_DATA && l->in[0] && !in->have_input) {
        in->have_input = 1;
        in->c = l->in[0];
        in->h = l->in[1];
        in->w = l->in[2];
    }
    if (l->k == K_DATA && l->crop && !in->crop) in->crop = l->crop;
    if (!in->conv_c && (l->k == K_CONV || l->k == K_FC || l->k == K_LRN || l->k == K_POOL)) {
        in->conv_c = -1;
        if (l->k == K_CONV && l->w[1] > 0 && l->w[1] * l->group <= 4096) in->conv_c = (int)(l->w[1] * l->group);
    }
    return 0;
}

static int last_fc_cb(const flayer *l, void *user)
{
    if (l->k == K_FC) *(int *)user = (int)l->out;
    return 0;
}

ax_status ax_caffe_spec_text(const char *path, FILE *out, ax_error *err)
{
    void *map = NULL;
    size_t size = 0;
    ax_status st = ax_file_map(path, "weight file", &map, &size, err);
    if (st) return st;
    if (!ax_caffe_sniff(map, size)) {
        ax_file_unmap(map, size);
        return ax_fail(err, AX_ERR_FORMAT, "%s: not a Caffe .caffemodel (a NetParameter protobuf starts with its "
                       "name, field 1, or its layers, fields 2 or 100)", path);
    }
    ax_wfile *f = calloc(1, sizeof *f);
    if (!f) {
        ax_file_unmap(map, size);
        return ax_fail(err, AX_ERR_NOMEM, "%s: out of memory", path);
    }
    snprintf(f->path, sizeof f->path, "%s", path);
    st = ax_caffe_parse(f, map, size, path, err);
    ax_file_unmap(map, size);
    if (st) {
        ax_wfile_close(f);
        return st;
    }

    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    char stem[AX_NAME_MAX];
    clean_token(stem, sizeof stem, base);
    char *dot = strrchr(stem, '.');
    if (dot && dot != stem) *dot = 0;
    char netname[AX_NAME_MAX] = "";
    const char *q = f->facts ? strstr(f->facts, "NetParameter '") : NULL;
    if (q) {
        q += strlen("NetParameter '");
        size_t n = strcspn(q, "'");
        if (n >= sizeof netname) n = sizeof netname - 1;
        memcpy(netname, q, n);
        netname[n] = 0;
    }

    input_finder in = {0};
    const char *ip = f->facts ? strstr(f->facts, "\ninput ") : NULL;
    if (ip) {
        long long c, h, w;
        if (sscanf(ip + 7, "%lld %lld %lld", &c, &h, &w) == 3 && c > 0 && h > 0 && w > 0) {
            in.have_input = 1;
            in.c = c;
            in.h = h;
            in.w = w;
        }
    }
    each_layer(f->facts, find_input_cb, &in);

    fprintf(out, "# Net spec printed by `alexscope inspect --spec` from %s.\n", base);
    fprintf(out, "# Layer parameters are the file's own; check the preprocessing (the\n"
                 "# caffemodel does not record it: bvlc AlexNet's is assumed).\n");
    fprintf(out, "name        %s\n", stem);
    fprintf(out, "description Caffe net%s%s%s read from %s\n", netname[0] ? " '" : "", netname,
            netname[0] ? "'" : "", base);
    int64_t C = in.have_input ? in.c : in.conv_c > 0 ? in.conv_c : 3;
    int64_t H = 227, W = 227;
    if (in.have_input) {
        H = in.h;
        W = in.w;
        fprintf(out, "input       %lld %lld %lld\n", (long long)C, (long long)H, (long long)W);
    } else if (in.crop > 0) {
        H = W = in.crop;
        fprintf(out, "input       %lld %lld %lld        # the data layer's crop_size\n", (long long)C,
                (long long)H, (long long)W);
    } else {
        fprintf(out, "# The file does not state its input size: 227x227 is assumed.\n");
        fprintf(out, "input       %lld 227 227\n", (long long)C);
    }
    if (H == 227 && W == 227)
        fprintf(out, "preprocess  resize=256x256 crop=227 order=bgr scale=255 mean=104,117,123 std=1,1,1\n");
    else
        fprintf(out, "preprocess  resize=%lldx%lld crop=%lldx%lld order=bgr scale=255 mean=104,117,123 std=1,1,1\n",
                (long long)W, (long long)H, (long long)W, (long long)H);

    int last_fc = 0;
    each_layer(f->facts, last_fc_cb, &last_fc);
    if (last_fc == 1000) fprintf(out, "labels      %s/imagenet_classes.txt\n", ax_data_dir());
    spec_writer w = {.out = out};
    fprintf(out, "\n");
    each_layer(f->facts, write_layer_cb, &w);
    ax_wfile_close(f);
    if (ferror(out)) return ax_fail(err, AX_ERR_IO, "%s: writing the spec failed", path);
    if (w.unsupported)
        return ax_fail(err, AX_ERR_UNSUPPORTED, "%s: %d layer%s alexscope cannot run: %s%s (the spec printed is "
                       "incomplete)", path, w.unsupported, w.unsupported > 1 ? "s" : "", w.bad,
                       w.unsupported > 6 ? ", ..." : "");
    return AX_OK;
}
