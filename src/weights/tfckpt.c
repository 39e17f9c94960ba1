/* TensorFlow checkpoints (tensor bundle V2): PREFIX.index, a LevelDB-format
 * table of BundleEntryProto values, and the tensor bytes in PREFIX.data-*.
 * Every block CRC and every tensor's CRC32C is checked before an entry is
 * made; a corrupted tensor is refused by name. Nothing here decides a net. */
#include "wfile_internal.h"
#include "alexscope/fileio.h"
#include "alexscope/net.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { FOOTER = 48, TRAILER = 5, MAX_SHARDS = 4096 };
static const uint64_t TABLE_MAGIC = 0xdb4775248b80fb57ull;

/* ---- CRC32C (Castagnoli, reflected polynomial 0x82f63b78) ----------------- */

static uint32_t crc_table[256];

static void crc_init(void)
{
    if (crc_table[1]) return;
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = c & 1 ? (c >> 1) ^ 0x82f63b78u : c >> 1;
        crc_table[i] = c;
    }
}

static uint32_t crc32c_extend(uint32_t crc, const uint8_t *p, size_t n)
{
    crc = ~crc;
    for (size_t i = 0; i < n; i++) crc = crc_table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
    return ~crc;
}

/* LevelDB and TensorFlow store CRCs masked, so a CRC of data holding CRCs
 * stays meaningful. */
static uint32_t crc_mask(uint32_t c)
{
    return ((c >> 15) | (c << 17)) + 0xa282ead8u;
}

/* The fuzz harness builds with AX_FUZZ_NO_CRC so mutated bytes reach the
 * parsing behind the checks; no other build defines it. */
#ifdef AX_FUZZ_NO_CRC
#define CRC_BAD(got, want) ((void)(got), (void)(want), 0)
#else
#define CRC_BAD(got, want) ((got) != (want))
#endif

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
    return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

/* A varint at *p (before end); 0 when it runs past end or past 10 bytes. */
static int varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    uint64_t x = 0;
    for (int shift = 0; shift < 70 && *p < end; shift += 7) {
        uint8_t b = *(*p)++;
        x |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = x;
            return 1;
        }
    }
    return 0;
}

int ax_tfckpt_sniff(const uint8_t *buf, size_t size)
{
    return size >= FOOTER && le64(buf + size - 8) == TABLE_MAGIC;
}

/* ---- the table ------------------------------------------------------------- */

typedef struct {
    const uint8_t *data;   /* the block's contents, trailer excluded */
    size_t size;
} block;

/* Reads the block a handle points at, checking its trailer's CRC. */
static ax_status read_block(block *out, const uint8_t *buf, size_t size, uint64_t off, uint64_t len,
                            const char *what, const char *file, ax_error *err)
{
    if (off > size || len > size - off || TRAILER > size - off - len)
        return ax_fail(err, AX_ERR_FORMAT, "%s: the %s block at %llu (%llu bytes) runs past the end of the "
                       "%zu-byte table", file, what, (unsigned long long)off, (unsigned long long)len, size);
    const uint8_t *b = buf + off;
    uint8_t type = b[len];
    uint32_t want = le32(b + len + 1);
    uint32_t got = crc_mask(crc32c_extend(0, b, len + 1));
    if (CRC_BAD(got, want))
        return ax_fail(err, AX_ERR_FORMAT, "%s: the %s block at %llu is corrupted (CRC32C %08x, its trailer "
                       "says %08x)", file, what, (unsigned long long)off, got, want);
    if (type == 1)
        return ax_fail(err, AX_ERR_UNSUPPORTED, "%s: the %s block at %llu is Snappy-compressed, which this "
                       "build does not read; re-save the checkpoint without compression", file, what,
                       (unsigned long long)off);
    if (type != 0)
        return ax_fail(err, AX_ERR_FORMAT, "%s: the %s block at %llu has compression type %u (0 none, 1 "
                       "snappy)", file, what, (unsigned long long)off, type);
    if (len < 4) return ax_fail(err, AX_ERR_FORMAT, "%s: the %s block at %llu is shorter than its restart count",
                                file, what, (unsigned long long)off);
    uint32_t nrestart = le32(b + len - 4);
    if (nrestart == 0 || nrestart > (len - 4) / 4)
        return ax_fail(err, AX_ERR_FORMAT, "%s: the %s block at %llu claims %u restart points in %llu bytes",
                       file, what, (unsigned long long)off, nrestart, (unsigned long long)len);
    out->data = b;
    out->size = (size_t)len - 4 - 4 * (size_t)nrestart;
    for (uint32_t i = 0; i < nrestart; i++)
        if (le32(b + out->size + 4 * (size_t)i) > out->size)
            return ax_fail(err, AX_ERR_FORMAT, "%s: restart point %u of the %s block at %llu lies past its "
                           "entries", file, i, what, (unsigned long long)off);
    return AX_OK;
}

typedef struct {
    const block *b;
    size_t at;
    char key[1024];
    size_t key_len;
    const uint8_t *value;
    size_t value_len;
} cursor;

/* The next entry of a block: 1, 0 at its end, -1 on a malformed entry. */
static int next_entry(cursor *c)
{
    if (c->at >= c->b->size) return 0;
    const uint8_t *p = c->b->data + c->at, *end = c->b->data + c->b->size;
    uint64_t shared, unshared, vlen;
    if (!varint(&p, end, &shared) || !varint(&p, end, &unshared) || !varint(&p, end, &vlen)) return -1;
    if (shared > c->key_len || unshared > (uint64_t)(end - p) || vlen > (uint64_t)(end - p) - unshared ||
        shared + unshared >= sizeof c->key)
        return -1;
    memcpy(c->key + shared, p, unshared);
    c->key_len = shared + unshared;
    c->key[c->key_len] = 0;
    c->value = p + unshared;
    c->value_len = vlen;
    c->at = (size_t)(c->value + vlen - c->b->data);
    return 1;
}

/* ---- the protobufs ----------------------------------------------------------- */

typedef struct {
    int64_t dtype, shard, offset, size;
    uint32_t crc;
    int has_crc, ndim, slices, unknown_rank;
    int64_t shape[AX_WMAX_DIMS];
} bundle_entry;

/* Walks a message's fields, calling back with each; skips groups it does
 * not know. Returns 0 on a malformed message. */
typedef int (*field_fn)(void *user, uint32_t field, int wire, uint64_t v, const uint8_t *p, size_t n);

static int walk_message(const uint8_t *p, size_t n, field_fn fn, void *user)
{
    const uint8_t *end = p + n;
    while (p < end) {
        uint64_t tag, v = 0;
        if (!varint(&p, end, &tag)) return 0;
        int wire = (int)(tag & 7);
        uint64_t field = tag >> 3;
        if (field == 0 || field > 0x1fffffff) return 0;
        const uint8_t *data = NULL;
        size_t len = 0;
        switch (wire) {
        case 0: if (!varint(&p, end, &v)) return 0; break;
        case 1: if (end - p < 8) return 0; v = le64(p); p += 8; break;
        case 5: if (end - p < 4) return 0; v = le32(p); p += 4; break;
        case 2:
            if (!varint(&p, end, &v) || v > (uint64_t)(end - p)) return 0;
            data = p;
            len = (size_t)v;
            p += len;
            break;
        default: return 0;
        }
        if (!fn(user, (uint32_t)field, wire, v, data, len)) return 0;
    }
    return 1;
}

static int dim_field(void *user, uint32_t field, int wire, uint64_t v, const uint8_t *p, size_t n)
{
    (void)p; (void)n;
    if (field == 1 && wire == 0) *(int64_t *)user = (int64_t)v;
    return 1;
}

static int shape_field(void *user, uint32_t field, int wire, uint64_t v, const uint8_t *p, size_t n)
{
    bundle_entry *e = user;
    if (field == 2 && wire == 2) {
        if (e->ndim >= AX_WMAX_DIMS) return 0;
        int64_t size = 0;
        if (!walk_message(p, n, dim_field, &size)) return 0;
        e->shape[e->ndim++] = size;
    } else if (field == 3 && wire == 0) {
        e->unknown_rank = v != 0;
    }
    return 1;
}

static int entry_field(void *user, uint32_t field, int wire, uint64_t v, const uint8_t *p, size_t n)
{
    bundle_entry *e = user;
    switch (field) {
    case 1: if (wire == 0) e->dtype = (int64_t)v; break;
    case 2: if (wire == 2) { e->ndim = 0; return walk_message(p, n, shape_field, e); } break;
    case 3: if (wire == 0) e->shard = (int64_t)v; break;
    case 4: if (wire == 0) e->offset = (int64_t)v; break;
    case 5: if (wire == 0) e->size = (int64_t)v; break;
    case 6: if (wire == 5) { e->crc = (uint32_t)v; e->has_crc = 1; } break;
    case 7: e->slices++; break;
    }
    return 1;
}

typedef struct { int64_t num_shards, endianness, producer; } bundle_header;

static int version_field(void *user, uint32_t field, int wire, uint64_t v, const uint8_t *p, size_t n)
{
    (void)p; (void)n;
    if (field == 1 && wire == 0) *(int64_t *)user = (int64_t)v;
    return 1;
}

static int header_field(void *user, uint32_t field, int wire, uint64_t v, const uint8_t *p, size_t n)
{
    bundle_header *h = user;
    if (field == 1 && wire == 0) h->num_shards = (int64_t)v;
    else if (field == 2 && wire == 0) h->endianness = (int64_t)v;
    else if (field == 3 && wire == 2) return walk_message(p, n, version_field, &h->producer);
    return 1;
}

/* TensorFlow's DataType numbers for the dtypes alexscope converts. */
static int tf_dtype(int64_t dt, ax_dtype *out)
{
    switch (dt) {
    case 1: *out = AX_DT_F32; return 1;
    case 2: *out = AX_DT_F64; return 1;
    case 14: *out = AX_DT_BF16; return 1;
    case 19: *out = AX_DT_F16; return 1;
    }
    return 0;
}

static const char *tf_dtype_name(int64_t dt)
{
    switch (dt) {
    case 1: return "float32"; case 2: return "float64"; case 3: return "int32"; case 4: return "uint8";
    case 6: return "int8"; case 7: return "string"; case 9: return "int64"; case 10: return "bool";
    case 14: return "bfloat16"; case 19: return "float16";
    }
    return "another dtype";
}

/* Optimizer slots and bookkeeping a training run saves beside the weights. */
static int is_training_state(const char *key)
{
    if (!strcmp(key, "global_step") || strstr(key, "/Momentum") || strstr(key, "/Adam") ||
        strstr(key, "/RMSProp") || strstr(key, "/Adagrad") || strstr(key, "/ExponentialMovingAverage") ||
        !strncmp(key, "beta1_power", 11) || !strncmp(key, "beta2_power", 11) || !strncmp(key, "_CHECKPOINTABLE", 15) ||
        strstr(key, ".OPTIMIZER_SLOT") || !strncmp(key, "save_counter", 12))
        return 1;
    return 0;
}

/* ---- the shards ---------------------------------------------------------------- */

typedef struct {
    uint8_t *data;   /* read in whole; f owns it once read */
    size_t size;
    int read;
} shard;

/* The prefix of an index path: NAME.index -> NAME. */
static void index_prefix(char *out, size_t n, const char *file)
{
    snprintf(out, n, "%s", file);
    size_t len = strlen(out);
    if (len > 6 && !strcmp(out + len - 6, ".index")) out[len - 6] = 0;
}

static ax_status load_shard(ax_wfile *f, shard *s, const char *prefix, int k, int n, ax_error *err)
{
    char path[1200];
    snprintf(path, sizeof path, "%s.data-%05d-of-%05d", prefix, k, n);
    int fd;
    size_t size;
    ax_status st = ax_file_open_regular(path, "checkpoint data shard", &fd, &size, err);
    if (st != AX_OK) return st;
    uint8_t *data = malloc(size ? size : 1);
    if (!data) {
        close(fd);
        return ax_fail(err, AX_ERR_NOMEM, "%s: out of memory reading %zu bytes", path, size);
    }
    size_t got = 0;
    while (got < size) {
        ssize_t r = read(fd, data + got, size - got);
        if (r <= 0) break;
        got += (size_t)r;
    }
    close(fd);
    if (got != size) {
        free(data);
        return ax_fail(err, AX_ERR_IO, "%s: read %zu of %zu bytes", path, got, size);
    }
    st = ax_wfile_own(f, data, err);
    if (st != AX_OK) return st;
    s->data = data;
    s->size = size;
    s->read = 1;
    return AX_OK;
}

/* ---- the parse ------------------------------------------------------------------- */

ax_status ax_tfckpt_parse(ax_wfile *f, const void *vbuf, size_t size, const char *file, ax_error *err)
{
    crc_init();
    const uint8_t *buf = vbuf;
    if (!ax_tfckpt_sniff(buf, size))
        return ax_fail(err, AX_ERR_FORMAT, "%s: not a TensorFlow checkpoint index (no table magic in its "
                       "last 8 bytes)", file);
    const uint8_t *p = buf + size - FOOTER, *fend = buf + size - 8;
    uint64_t meta_off, meta_len, idx_off, idx_len;
    if (!varint(&p, fend, &meta_off) || !varint(&p, fend, &meta_len) || !varint(&p, fend, &idx_off) ||
        !varint(&p, fend, &idx_len))
        return ax_fail(err, AX_ERR_FORMAT, "%s: the table footer's block handles are malformed", file);
    block index;
    ax_status s = read_block(&index, buf, size, idx_off, idx_len, "index", file, err);
    if (s != AX_OK) return s;

    int first = f->count;
    bundle_header h = {.num_shards = 1};
    int have_header = 0, tensors = 0, skipped = 0;
    shard *shards = NULL;
    char prefix[1100];
    index_prefix(prefix, sizeof prefix, file);
    f->format = "tfckpt";

    cursor ic = {.b = &index};
    int r;
    while ((r = next_entry(&ic)) == 1) {
        const uint8_t *hp = ic.value, *hend = ic.value + ic.value_len;
        uint64_t boff, blen;
        if (!varint(&hp, hend, &boff) || !varint(&hp, hend, &blen)) {
            s = ax_fail(err, AX_ERR_FORMAT, "%s: a block handle in the index block is malformed", file);
            goto fail;
        }
        block data;
        if ((s = read_block(&data, buf, size, boff, blen, "data", file, err)) != AX_OK) goto fail;
        cursor dc = {.b = &data};
        int d;
        while ((d = next_entry(&dc)) == 1) {
            if (dc.key_len == 0) {
                if (!walk_message(dc.value, dc.value_len, header_field, &h)) {
                    s = ax_fail(err, AX_ERR_FORMAT, "%s: the bundle header is a malformed protobuf", file);
                    goto fail;
                }
                if (h.num_shards < 1 || h.num_shards > MAX_SHARDS) {
                    s = ax_fail(err, AX_ERR_FORMAT, "%s: the bundle header claims %lld shards", file,
                                (long long)h.num_shards);
                    goto fail;
                }
                if (h.endianness != 0) {
                    s = ax_fail(err, AX_ERR_UNSUPPORTED, "%s: a big-endian checkpoint; only little-endian "
                                "ones are read", file);
                    goto fail;
                }
                free(shards);
                shards = calloc((size_t)h.num_shards, sizeof *shards);
                if (!shards) {
                    s = ax_fail(err, AX_ERR_NOMEM, "%s: out of memory", file);
                    goto fail;
                }
                have_header = 1;
                ax_wfile_fact(f, "TensorFlow tensor bundle V2: %lld shard(s), producer %lld",
                              (long long)h.num_shards, (long long)h.producer);
                continue;
            }
            if (!have_header) {
                s = ax_fail(err, AX_ERR_FORMAT, "%s: tensor '%s' comes before the bundle header", file, dc.key);
                goto fail;
            }
            bundle_entry e = {0};
            if (!walk_message(dc.value, dc.value_len, entry_field, &e) || e.unknown_rank) {
                s = ax_fail(err, AX_ERR_FORMAT, "%s: the entry of tensor '%s' is a malformed protobuf", file,
                            dc.key);
                goto fail;
            }
            char shape[160];
            size_t at = 0;
            shape[0] = 0;
            for (int i = 0; i < e.ndim && at < sizeof shape; i++)
                at += (size_t)snprintf(shape + at, sizeof shape - at, "%s%lld", i ? "," : "", (long long)e.shape[i]);
            int state = is_training_state(dc.key);
            ax_dtype dt;
            int convertible = tf_dtype(e.dtype, &dt);
            if (state || !convertible || e.slices) {
                ax_wfile_fact(f, "%s %s (%s): %s", dc.key, tf_dtype_name(e.dtype), shape,
                              e.slices ? "partitioned (sliced) variable, not read"
                              : state ? "training state, ignored when loading" : "not a float tensor, ignored");
                skipped++;
                continue;
            }
            if (e.shard < 0 || e.shard >= h.num_shards || e.offset < 0 || e.size < 0) {
                s = ax_fail(err, AX_ERR_FORMAT, "%s: tensor '%s' names shard %lld of %lld at %lld", file, dc.key,
                            (long long)e.shard, (long long)h.num_shards, (long long)e.offset);
                goto fail;
            }
            uint64_t numel = 1;
            for (int i = 0; i < e.ndim; i++) {
                if (e.shape[i] < 0 || (e.shape[i] && numel > UINT64_MAX / 8 / (uint64_t)e.shape[i])) {
                    s = ax_fail(err, AX_ERR_FORMAT, "%s: tensor '%s' has shape (%s), which is not a size",
                                file, dc.key, shape);
                    goto fail;
                }
                numel *= (uint64_t)e.shape[i];
            }
            if (numel * ax_dtype_size(dt) != (uint64_t)e.size) {
                s = ax_fail(err, AX_ERR_FORMAT, "%s: tensor '%s' %s (%s) should take %llu bytes, its entry says "
                            "%lld", file, dc.key, tf_dtype_name(e.dtype), shape,
                            (unsigned long long)(numel * ax_dtype_size(dt)), (long long)e.size);
                goto fail;
            }
            shard *sh = &shards[e.shard];
            if (!sh->read && (s = load_shard(f, sh, prefix, (int)e.shard, (int)h.num_shards, err)) != AX_OK)
                goto fail;
            if ((uint64_t)e.offset > sh->size || (uint64_t)e.size > sh->size - (uint64_t)e.offset) {
                s = ax_fail(err, AX_ERR_FORMAT, "%s.data-%05lld-of-%05lld: tensor '%s' at %lld (%lld bytes) runs "
                            "past the shard's %zu bytes", prefix, (long long)e.shard, (long long)h.num_shards,
                            dc.key, (long long)e.offset, (long long)e.size, sh->size);
                goto fail;
            }
            const uint8_t *bytes = sh->data + e.offset;
            uint32_t got = crc_mask(crc32c_extend(0, bytes, (size_t)e.size));
            if (!e.has_crc || CRC_BAD(got, e.crc)) {
                s = ax_fail(err, AX_ERR_FORMAT, "%s.data-%05lld-of-%05lld: tensor '%s' is corrupted (CRC32C "
                            "%08x, the index says %08x); not loaded", prefix, (long long)e.shard,
                            (long long)h.num_shards, dc.key, got, e.crc);
                goto fail;
            }
            ax_wentry w = {.dtype = dt, .ndim = e.ndim, .data = bytes, .nbytes = (size_t)e.size};
            if (strlen(dc.key) >= sizeof w.name) {
                s = ax_fail(err, AX_ERR_FORMAT, "%s: tensor name '%.60s...' is longer than %zu bytes", file,
                            dc.key, sizeof w.name - 1);
                goto fail;
            }
            snprintf(w.name, sizeof w.name, "%s", dc.key);
            memcpy(w.shape, e.shape, sizeof w.shape);
            if ((s = ax_wfile_push(f, &w, file, err)) != AX_OK) goto fail;
            tensors++;
        }
        if (d < 0) {
            s = ax_fail(err, AX_ERR_FORMAT, "%s: a data block at %llu holds a malformed entry", file,
                        (unsigned long long)boff);
            goto fail;
        }
    }
    if (r < 0) {
        s = ax_fail(err, AX_ERR_FORMAT, "%s: the index block holds a malformed entry", file);
        goto fail;
    }
    if (!have_header) {
        s = ax_fail(err, AX_ERR_FORMAT, "%s: no bundle header (the table has no key \"\")", file);
        goto fail;
    }
    if (skipped)
        ax_wfile_fact(f, "%d tensor(s) read; %d optimizer slot(s), step counter(s) or other non-weight "
                      "tensor(s) listed above are ignored when loading", tensors, skipped);
    free(shards);
    return AX_OK;
fail:
    free(shards);
    ax_wfile_truncate(f, first);
    return s;
}


/* ---- binding the checkpoint's names to a net ------------------------------------
 * TensorFlow code names a layer's variables SCOPE/weights and SCOPE/biases
 * (kratzert's fine-tuning, the alexnet_benchmark.py timing script, tf-slim
 * under alexnet_v2/), SCOPE/conv2d/kernel (tf_cnn_benchmarks, under v0/cg/)
 * or SCOPE/kernel and SCOPE/bias (tf.layers, Keras). Each pair is renamed
 * "<layer>.0" / "<layer>.1", the names ax_net_load_weights reads in
 * TensorFlow layouts (HWIO, (in, out), fc rows in H,W,C order), so no layout
 * is converted here. A conv kernel bound to an fc layer (tf-slim's fc6 as a
 * 5x5 conv, fc7 and fc8 as 1x1) is the same bytes as an (kh*kw*in, out)
 * matrix with rows in H,W,C order, and only its shape changes. */

typedef struct {
    char scope[128];   /* the layer's own scope: "conv1", "conv0", "affine2" */
    int kernel, bias;  /* entry indices, -1 when absent */
    int layer;         /* the net layer it binds to, -1 until bound */
} tf_scope;

/* The layer scope of a variable name and whether it is a kernel (0) or a
 * bias (1); -1 when the name is neither. Leading scopes (v0/cg/, alexnet_v2/)
 * are left out: *prefix_len says how much of the name they take. */
static int split_variable(const char *name, char *scope, size_t n, size_t *prefix_len)
{
    const char *last = strrchr(name, '/');
    if (!last) return -1;
    const char *leaf = last + 1;
    int part;
    if (!strcmp(leaf, "weights") || !strcmp(leaf, "kernel") || !strcmp(leaf, "weight")) part = 0;
    else if (!strcmp(leaf, "biases") || !strcmp(leaf, "bias")) part = 1;
    else return -1;
    const char *end = last;
    /* tf_cnn_benchmarks: convK/conv2d/kernel names convK's kernel */
    if (part == 0 && end - name > 7 && !strncmp(end - 7, "/conv2d", 7)) end -= 7;
    const char *start = end;
    while (start > name && start[-1] != '/') start--;
    if (start == end || (size_t)(end - start) >= n) return -1;
    snprintf(scope, n, "%.*s", (int)(end - start), start);
    *prefix_len = (size_t)(start - name);
    return part;
}

/* "conv12" -> stem "conv", number 12; a scope without digits numbers -1. */
static int scope_number(const char *s, size_t *stem)
{
    size_t n = strlen(s), k = n;
    while (k > 0 && s[k - 1] >= '0' && s[k - 1] <= '9') k--;
    *stem = k;
    return k < n && n - k < 6 ? atoi(s + k) : -1;
}

static int scope_order(const void *a, const void *b)
{
    const tf_scope *x = *(const tf_scope *const *)a, *y = *(const tf_scope *const *)b;
    size_t sx, sy;
    int nx = scope_number(x->scope, &sx), ny = scope_number(y->scope, &sy);
    int c = sx == sy ? strncmp(x->scope, y->scope, sx) : strcmp(x->scope, y->scope);
    if (sx != sy || c) return c;
    return nx - ny;
}

static void add_note(char *notes, size_t size, const char *fmt, const char *a, const char *b)
{
    if (!notes || !size) return;
    size_t len = strlen(notes);
    if (len + 1 < size) snprintf(notes + len, size - len, fmt, len ? "; " : "", a, b);
}

/* The training state the parse listed and left out (its facts' lines). */
static int training_state_count(const ax_wfile *f)
{
    int n = 0;
    for (const char *p = f->facts; p && (p = strstr(p, ": training state, ignored when loading")); p++) n++;
    return n;
}

ax_status ax_tfckpt_bind(ax_wfile *f, const struct ax_net *net, char *notes, size_t notes_size, ax_error *err)
{
    int state = training_state_count(f);
    if (state) {
        char a[16];
        snprintf(a, sizeof a, "%d", state);
        add_note(notes, notes_size, "%s%s optimizer slot(s) and step counter(s) ignored%s", a, "");
    }
    /* names ax_net_load_weights already finds are left alone (a checkpoint
     * whose variables carry alexscope's own names) */
    int matches = 0, wanted = 0;
    for (int i = 0; i < net->nlayers; i++) {
        const ax_layer *L = &net->layers[i];
        if (!L->weight.ndim) continue;
        wanted++;
        char name[160];
        snprintf(name, sizeof name, "%s.weight", L->spec.name);
        if (ax_wfile_find(f, name)) matches++;
        snprintf(name, sizeof name, "%s.0", L->spec.name);
        if (ax_wfile_find(f, name)) matches++;
    }
    if (wanted && matches == wanted) return AX_OK;

    tf_scope *sc = calloc((size_t)f->count + 1, sizeof *sc);
    if (!sc) return ax_fail(err, AX_ERR_NOMEM, "%s: out of memory", f->path);
    int nsc = 0;
    char prefix[128] = "";
    int one_prefix = 1;
    for (int i = 0; i < f->count; i++) {
        char scope[128];
        size_t plen = 0;
        int part = split_variable(f->entries[i].name, scope, sizeof scope, &plen);
        if (part < 0) continue;
        if (nsc == 0 && !prefix[0]) snprintf(prefix, sizeof prefix, "%.*s", (int)plen, f->entries[i].name);
        else if (strlen(prefix) != plen || strncmp(prefix, f->entries[i].name, plen)) one_prefix = 0;
        int k = 0;
        while (k < nsc && strcmp(sc[k].scope, scope)) k++;
        if (k == nsc) {
            snprintf(sc[nsc].scope, sizeof sc[nsc].scope, "%s", scope);
            sc[nsc].kernel = sc[nsc].bias = sc[nsc].layer = -1;
            nsc++;
        }
        int *slot = part ? &sc[k].bias : &sc[k].kernel;
        if (*slot >= 0) {
            ax_status st = ax_fail(err, AX_ERR_FORMAT, "%s: '%s' and '%s' both name the %s of layer '%s'; the "
                                   "checkpoint holds two nets (see alexscope inspect)", f->path,
                                   f->entries[*slot].name, f->entries[i].name, part ? "bias" : "kernel", scope);
            free(sc);
            return st;
        }
        *slot = i;
    }

    /* By name when every layer with weights has a scope of its name and every
     * kernel's scope is a layer (tf_cnn_benchmarks' conv0..conv4 against
     * conv1..conv5 must not bind by name, one layer off). */
    int by_name = nsc > 0;
    for (int i = 0; i < net->nlayers && by_name; i++) {
        const ax_layer *L = &net->layers[i];
        if (!L->weight.ndim) continue;
        int k = 0;
        while (k < nsc && strcmp(sc[k].scope, L->spec.name)) k++;
        by_name = k < nsc && sc[k].kernel >= 0;
        if (by_name) sc[k].layer = i;
    }
    for (int k = 0; k < nsc && by_name; k++) by_name = sc[k].kernel < 0 || sc[k].layer >= 0;
    const char *how = "name";
    if (!by_name) {
        /* By order: scopes with a 4-d kernel sorted by stem and number take
         * the net's conv layers in turn, those with a 2-d kernel its fc
         * layers (tf-slim's conv-shaped fc6..fc8 are named, never ordered).
         * A kind whose counts differ is left unbound: the loader then names
         * what is missing. */
        how = "order";
        for (int k = 0; k < nsc; k++) sc[k].layer = -1;
        const tf_scope **ord = calloc((size_t)nsc + 1, sizeof *ord);
        if (!ord) { free(sc); return ax_fail(err, AX_ERR_NOMEM, "%s: out of memory", f->path); }
        for (int kind = 0; kind < 2; kind++) {
            int n = 0, layers = 0;
            for (int k = 0; k < nsc; k++)
                if (sc[k].kernel >= 0 && f->entries[sc[k].kernel].ndim == (kind ? 2 : 4)) ord[n++] = &sc[k];
            for (int i = 0; i < net->nlayers; i++)
                layers += net->layers[i].weight.ndim && net->layers[i].spec.type == (kind ? AX_L_FC : AX_L_CONV);
            if (!n) continue;
            if (n != layers) {
                char a[16], b[16];
                snprintf(a, sizeof a, "%d", n);
                snprintf(b, sizeof b, "%d", layers);
                add_note(notes, notes_size, kind ? "%s%s fc kernels in the checkpoint, %s fc layers in the model: "
                         "not bound" : "%s%s conv kernels in the checkpoint, %s conv layers in the model: not bound",
                         a, b);
                continue;
            }
            qsort(ord, (size_t)n, sizeof *ord, scope_order);
            int j = 0;
            for (int i = 0; i < net->nlayers; i++)
                if (net->layers[i].weight.ndim && net->layers[i].spec.type == (kind ? AX_L_FC : AX_L_CONV))
                    ((tf_scope *)ord[j++])->layer = i;
        }
        free(ord);
    }

    int bound = 0, reshaped = 0;
    char map[400] = "";
    for (int k = 0; k < nsc; k++) {
        if (sc[k].layer < 0) continue;
        const ax_layer *L = &net->layers[sc[k].layer];
        ax_wentry *w = &f->entries[sc[k].kernel];
        if (L->spec.type == AX_L_FC && w->ndim == 4) {
            /* (kh, kw, in, out) as an fc: its rows are already H,W,C */
            w->shape[0] = w->shape[0] * w->shape[1] * w->shape[2];
            w->shape[1] = w->shape[3];
            w->ndim = 2;
            reshaped++;
        }
        size_t len = strlen(map);
        if (len + 1 < sizeof map)
            snprintf(map + len, sizeof map - len, "%s%s->%s", len ? ", " : "", sc[k].scope, L->spec.name);
        snprintf(w->name, sizeof w->name, "%s.0", L->spec.name);
        if (sc[k].bias >= 0) snprintf(f->entries[sc[k].bias].name, sizeof w->name, "%s.1", L->spec.name);
        bound++;
    }
    free(sc);
    if (!bound) return AX_OK;   /* nothing TensorFlow-named: the loader says what is missing */
    char what[600];
    snprintf(what, sizeof what, "TensorFlow variables%s%.100s%s mapped by %s (%s)", one_prefix && prefix[0] ? " under '" : "",
             one_prefix ? prefix : "", one_prefix && prefix[0] ? "'" : "", how, map);
    add_note(notes, notes_size, "%s%s%s", what, reshaped ? ", 1x1/kxk conv kernels used as fc weights" : "");
    ax_wfile_fact(f, "mapped to the %s model: %s", net->spec.name, what);
    return AX_OK;
}
