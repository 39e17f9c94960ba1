/* safetensors: 8-byte little-endian header length, a JSON header (cJSON)
 * {name: {dtype, shape, data_offsets}}, then the data section. The reader
 * checks every number in the header against the file before trusting it. */
#include "alexscope/weights.h"
#include "wfile_internal.h"
#include "alexscope/fileio.h"

/* The metadata key of the data checksum alexscope writes (8 hex digits). */
#define AX_DATA_CRC_KEY "alexscope.data_crc32"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define HEADER_MAX (100u * 1024u * 1024u)

/* Integers in the JSON header are doubles to cJSON; beyond 2^53 they are not exact. */
#define JSON_INT_MAX 9007199254740992.0

static const char *json_kind(const cJSON *j)
{
    if (!j) return "nothing";
    if (cJSON_IsObject(j)) return "an object";
    if (cJSON_IsArray(j)) return "an array";
    if (cJSON_IsString(j)) return "a string";
    if (cJSON_IsNumber(j)) return "a number";
    if (cJSON_IsBool(j)) return "a boolean";
    if (cJSON_IsNull(j)) return "null";
    return "something else";
}

static int json_uint(const cJSON *j, uint64_t *v)
{
    if (!cJSON_IsNumber(j)) return 0;
    double d = j->valuedouble;
    if (!(d >= 0 && d <= JSON_INT_MAX) || (double)(uint64_t)d != d) return 0;
    *v = (uint64_t)d;
    return 1;
}

static const struct { const char *name; ax_dtype dt; } accepted[] = {
    {"F32", AX_DT_F32}, {"F16", AX_DT_F16}, {"BF16", AX_DT_BF16}, {"F64", AX_DT_F64},
};

/* Adds one tensor; data is the data section (dsize bytes) after the header. */
static ax_status parse_tensor(ax_wfile *f, const char *key, const cJSON *t, const uint8_t *data,
                              size_t dsize, const char *file, ax_error *err)
{
    ax_wentry e;
    memset(&e, 0, sizeof e);
    size_t klen = strlen(key);
    if (klen == 0)
        return ax_fail(err, AX_ERR_FORMAT, "%s: a tensor has an empty name", file);
    if (klen >= sizeof e.name)
        return ax_fail(err, AX_ERR_UNSUPPORTED, "%s: tensor name '%.40s...' is %zu bytes; at most %zu are kept",
                       file, key, klen, sizeof e.name - 1);
    memcpy(e.name, key, klen + 1);
    if (!cJSON_IsObject(t))
        return ax_fail(err, AX_ERR_FORMAT, "%s: tensor '%s': expected an object with dtype, shape and "
                       "data_offsets, found %s", file, key, json_kind(t));

    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(t, "dtype");
    if (!cJSON_IsString(dt))
        return ax_fail(err, AX_ERR_FORMAT, "%s: tensor '%s': expected \"dtype\" to be a string, found %s",
                       file, key, json_kind(dt));
    size_t k = 0, na = sizeof accepted / sizeof accepted[0];
    while (k < na && strcmp(accepted[k].name, dt->valuestring) != 0) k++;
    if (k == na)
        return ax_fail(err, AX_ERR_UNSUPPORTED, "%s: tensor '%s' has dtype %.32s; this reader accepts "
                       "F32, F16, BF16 and F64", file, key, dt->valuestring);
    e.dtype = accepted[k].dt;
    size_t esize = ax_dtype_size(e.dtype);

    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(t, "shape");
    if (!cJSON_IsArray(shape))
        return ax_fail(err, AX_ERR_FORMAT, "%s: tensor '%s': expected \"shape\" to be an array, found %s",
                       file, key, json_kind(shape));
    int ndim = cJSON_GetArraySize(shape);
    if (ndim > AX_WMAX_DIMS)
        return ax_fail(err, AX_ERR_UNSUPPORTED, "%s: tensor '%s' has %d dimensions; at most %d are read",
                       file, key, ndim, AX_WMAX_DIMS);
    e.ndim = ndim;
    /* numel * esize is kept below 2^62 so the byte count cannot overflow */
    uint64_t nbytes = esize;
    const cJSON *d;
    int i = 0;
    cJSON_ArrayForEach(d, shape) {
        uint64_t v;
        if (!json_uint(d, &v))
            return ax_fail(err, AX_ERR_FORMAT, "%s: tensor '%s': shape[%d] should be a non-negative integer, "
                           "found %s", file, key, i, json_kind(d));
        if (v != 0 && nbytes > (UINT64_C(1) << 62) / v)
            return ax_fail(err, AX_ERR_FORMAT, "%s: tensor '%s': shape is too large to be real", file, key);
        nbytes *= v;
        e.shape[i++] = (int64_t)v;
    }
    char sh[160];
    ax_shape_str(sh, sizeof sh, e.ndim, e.shape);

    const cJSON *offs = cJSON_GetObjectItemCaseSensitive(t, "data_offsets");
    uint64_t begin, end;
    if (!cJSON_IsArray(offs) || cJSON_GetArraySize(offs) != 2 ||
        !json_uint(cJSON_GetArrayItem(offs, 0), &begin) || !json_uint(cJSON_GetArrayItem(offs, 1), &end))
        return ax_fail(err, AX_ERR_FORMAT, "%s: tensor '%s': expected \"data_offsets\" to be "
                       "[begin, end] with non-negative integers, found %s", file, key,
                       cJSON_IsArray(offs) ? "an array of another form" : json_kind(offs));
    if (begin > end)
        return ax_fail(err, AX_ERR_FORMAT, "%s: tensor '%s': data_offsets begin %llu is after end %llu",
                       file, key, (unsigned long long)begin, (unsigned long long)end);
    if (end > dsize)
        return ax_fail(err, AX_ERR_FORMAT, "%s: tensor '%s': data_offsets [%llu, %llu] reach past the "
                       "data section, which has %zu bytes (file truncated?)", file, key,
                       (unsigned long long)begin, (unsigned long long)end, dsize);
    if (end - begin != nbytes)
        return ax_fail(err, AX_ERR_FORMAT, "%s: tensor '%s' (%s, shape %s) needs %llu bytes, but its "
                       "data_offsets [%llu, %llu] span %llu", file, key, ax_dtype_name(e.dtype), sh,
                       (unsigned long long)nbytes, (unsigned long long)begin, (unsigned long long)end,
                       (unsigned long long)(end - begin));
    e.data = data + begin;
    e.nbytes = (size_t)nbytes;
    return ax_wfile_push(f, &e, file, err);
}

typedef struct { size_t begin, end; int index; } span;

static int span_cmp(const void *a, const void *b)
{
    const span *x = a, *y = b;
    return x->begin < y->begin ? -1 : x->begin > y->begin ? 1 : x->index - y->index;
}

/* Tensors must not share bytes; zero-size tensors own none and are left out. */
static ax_status check_overlap(ax_wfile *f, int first, const uint8_t *data, const char *file, ax_error *err)
{
    int n = f->count - first;
    if (n < 2) return AX_OK;
    span *s = malloc((size_t)n * sizeof *s);
    if (!s) return ax_fail(err, AX_ERR_NOMEM, "%s: out of memory checking offsets", file);
    int m = 0;
    for (int i = first; i < f->count; i++) {
        const ax_wentry *e = &f->entries[i];
        if (e->nbytes == 0) continue;
        size_t b = (size_t)((const uint8_t *)e->data - data);
        s[m++] = (span){b, b + e->nbytes, i};
    }
    qsort(s, (size_t)m, sizeof *s, span_cmp);
    ax_status st = AX_OK;
    for (int i = 1; i < m; i++) {
        if (s[i].begin < s[i - 1].end) {
            st = ax_fail(err, AX_ERR_FORMAT, "%s: tensors '%s' (bytes %zu..%zu) and '%s' (bytes %zu..%zu) "
                         "overlap in the data section", file, f->entries[s[i - 1].index].name,
                         s[i - 1].begin, s[i - 1].end, f->entries[s[i].index].name, s[i].begin, s[i].end);
            break;
        }
    }
    free(s);
    return st;
}

/* The header length is any 8 bytes; the JSON header after it opens with '{'. */
int ax_safetensors_sniff(const uint8_t *b, size_t n)
{
    return n >= 9 && b[8] == '{';
}

ax_status ax_safetensors_parse(ax_wfile *f, const void *buf, size_t size, const char *name, ax_error *err)
{
    const uint8_t *b = buf;
    if (size < 8)
        return ax_fail(err, AX_ERR_FORMAT, "%s: truncated safetensors file: %zu bytes, but the header "
                       "length alone takes 8", name, size);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = hlen << 8 | b[i];
    if (hlen > size - 8)
        return ax_fail(err, AX_ERR_FORMAT, "%s: safetensors header length %llu exceeds the %zu bytes that "
                       "follow it (truncated, or not safetensors)", name, (unsigned long long)hlen, size - 8);
    if (hlen > HEADER_MAX)
        return ax_fail(err, AX_ERR_FORMAT, "%s: safetensors header length %llu is over the %u-byte limit",
                       name, (unsigned long long)hlen, HEADER_MAX);
    if (hlen < 2 || b[8] != '{')
        return ax_fail(err, AX_ERR_FORMAT, "%s: safetensors header should be a JSON object starting with "
                       "'{', found %s", name, hlen ? "another byte" : "an empty header");

    const char *json = (const char *)b + 8;
    const char *stop = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(json, (size_t)hlen, &stop, 0);
    if (!root) {
        size_t at = stop && stop >= json && stop <= json + hlen ? (size_t)(stop - json) : 0;
        return ax_fail(err, AX_ERR_FORMAT, "%s: safetensors header (%llu bytes) is not valid JSON; "
                       "parsing stopped at header byte %zu", name, (unsigned long long)hlen, at);
    }
    /* writers pad the header with spaces to align the data */
    for (const char *p = stop; p && p < json + hlen; p++) {
        if (*p != ' ' && *p != '\n' && *p != '\r' && *p != '\t') {
            cJSON_Delete(root);
            return ax_fail(err, AX_ERR_FORMAT, "%s: safetensors header has bytes after its JSON object, "
                           "at header byte %zu", name, (size_t)(p - json));
        }
    }

    const uint8_t *data = b + 8 + hlen;
    size_t dsize = size - 8 - (size_t)hlen;
    int first = f->count;
    ax_status st = AX_OK;
    const cJSON *t;
    /* alexscope's own files carry a checksum of their data: verified when
     * there (a bit flipped on disk is refused, not loaded as a number);
     * other writers' files have none and load as before */
    const cJSON *md = cJSON_GetObjectItemCaseSensitive(root, "__metadata__");
    const cJSON *want = md ? cJSON_GetObjectItemCaseSensitive(md, AX_DATA_CRC_KEY) : NULL;
    if (want && cJSON_IsString(want)) {
        char got[16];
        snprintf(got, sizeof got, "%08lx", (unsigned long)crc32_z(crc32_z(0L, Z_NULL, 0), data, dsize));
        if (strcmp(got, want->valuestring)) {
            st = ax_fail(err, AX_ERR_FORMAT, "%s: the data fails the checksum alexscope wrote with it (CRC-32 %s, "
                         "the file says %.16s): damaged since it was written", name, got, want->valuestring);
            cJSON_Delete(root);
            return st;
        }
    }
    cJSON_ArrayForEach(t, root) {
        if (strcmp(t->string, "__metadata__") == 0) {
            /* free-form string pairs (a converter's record of what it did): shown by inspect */
            const cJSON *m;
            cJSON_ArrayForEach(m, t)
                if (cJSON_IsString(m)) ax_wfile_fact(f, "metadata %.100s: %.300s", m->string, m->valuestring);
            continue;
        }
        st = parse_tensor(f, t->string, t, data, dsize, name, err);
        if (st != AX_OK) break;
    }
    cJSON_Delete(root);
    if (st == AX_OK) st = check_overlap(f, first, data, name, err);
    if (st != AX_OK) {
        ax_wfile_truncate(f, first);
        return st;
    }
    f->format = "safetensors";
    return AX_OK;
}

static void put_le64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}

/* The JSON header, or NULL with err filled. */
static char *build_header(const ax_wout *t, int count, const char *const *meta, int nmeta, const char *crc,
                          const char *path, ax_error *err)
{
    cJSON *root = cJSON_CreateObject();
    int ok = root != NULL;
    if (ok) {
        cJSON *m = cJSON_AddObjectToObject(root, "__metadata__");
        ok = m != NULL;
        for (int i = 0; ok && i < nmeta; i++)
            ok = cJSON_AddStringToObject(m, meta[2 * i], meta[2 * i + 1]) != NULL;
        ok = ok && cJSON_AddStringToObject(m, AX_DATA_CRC_KEY, crc) != NULL;
    }
    uint64_t off = 0;
    for (int i = 0; ok && i < count; i++) {
        uint64_t n = 4;
        for (int d = 0; d < t[i].ndim; d++) n *= (uint64_t)t[i].shape[d];
        /* everything is attached to root as it is made, so one delete frees it all */
        cJSON *o = cJSON_AddObjectToObject(root, t[i].name);
        cJSON *shape = NULL, *offs = NULL;
        ok = o && cJSON_AddStringToObject(o, "dtype", "F32") &&
             (shape = cJSON_AddArrayToObject(o, "shape")) != NULL &&
             (offs = cJSON_AddArrayToObject(o, "data_offsets")) != NULL;
        for (int d = 0; ok && d < t[i].ndim; d++)
            ok = cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)t[i].shape[d]));
        ok = ok && cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)off)) &&
             cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)(off + n)));
        off += n;
    }
    char *json = ok ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    if (!json) ax_fail(err, AX_ERR_NOMEM, "%s: out of memory building the safetensors header", path);
    return json;
}

ax_status ax_safetensors_write(const char *path, const ax_wout *tensors, int count, ax_error *err)
{
    return ax_safetensors_write_meta(path, tensors, count, NULL, 0, err);
}

ax_status ax_safetensors_write_meta(const char *path, const ax_wout *tensors, int count,
                                    const char *const *meta, int nmeta, ax_error *err)
{
    for (int i = 0; i < nmeta; i++)
        if (!meta || !meta[2 * i] || !meta[2 * i + 1])
            return ax_fail(err, AX_ERR_ARG, "%s: metadata pair %d is incomplete", path, i);
    if (count < 0 || (count > 0 && !tensors))
        return ax_fail(err, AX_ERR_ARG, "%s: %d tensors to write", path, count);
    for (int i = 0; i < count; i++) {
        const ax_wout *t = &tensors[i];
        if (!t->name || !t->name[0] || strlen(t->name) >= sizeof(((ax_wentry *)0)->name) ||
            strcmp(t->name, "__metadata__") == 0)
            return ax_fail(err, AX_ERR_ARG, "%s: tensor %d has no usable name (empty, too long or reserved)",
                           path, i);
        if (t->ndim < 0 || t->ndim > AX_WMAX_DIMS)
            return ax_fail(err, AX_ERR_ARG, "%s: tensor '%s' has %d dimensions; 0..%d are allowed",
                           path, t->name, t->ndim, AX_WMAX_DIMS);
        for (int d = 0; d < t->ndim; d++)
            if (t->shape[d] < 0 || t->shape[d] > (INT64_C(1) << 40))
                return ax_fail(err, AX_ERR_ARG, "%s: tensor '%s' has dimension %d of size %lld",
                               path, t->name, d, (long long)t->shape[d]);
        for (int j = 0; j < i; j++)
            if (strcmp(tensors[j].name, t->name) == 0)
                return ax_fail(err, AX_ERR_ARG, "%s: tensor name '%s' given twice", path, t->name);
        if (!t->data) {
            size_t n = 1;
            for (int d = 0; d < t->ndim; d++) n *= (size_t)t->shape[d];
            if (n) return ax_fail(err, AX_ERR_ARG, "%s: tensor '%s' has no data", path, t->name);
        }
    }
    /* the data section's CRC-32, in the order it is written */
    uLong crc = crc32_z(0L, Z_NULL, 0);
    for (int i = 0; i < count; i++) {
        size_t n = 1;
        for (int d = 0; d < tensors[i].ndim; d++) n *= (size_t)tensors[i].shape[d];
        if (n) crc = crc32_z(crc, (const Bytef *)tensors[i].data, n * sizeof(float));
    }
    char crc_text[16];
    snprintf(crc_text, sizeof crc_text, "%08lx", (unsigned long)crc);
    char *json = build_header(tensors, count, meta, nmeta, crc_text, path, err);
    if (!json) return err ? err->code : AX_ERR_NOMEM;
    size_t len = strlen(json);
    size_t padded = (len + 7) & ~(size_t)7;

    ax_file_out out;
    ax_status st = ax_file_create(&out, path, err);
    if (st) {
        free(json);
        return st;
    }
    FILE *fp = out.fp;
    unsigned char lenbuf[8];
    put_le64(lenbuf, padded);
    int ok = fwrite(lenbuf, 1, 8, fp) == 8 && fwrite(json, 1, len, fp) == len;
    for (size_t i = len; ok && i < padded; i++) ok = fputc(' ', fp) != EOF;
    free(json);
    for (int i = 0; ok && i < count; i++) {
        size_t n = 1;
        for (int d = 0; d < tensors[i].ndim; d++) n *= (size_t)tensors[i].shape[d];
        ok = n == 0 || fwrite(tensors[i].data, sizeof(float), n, fp) == n;
    }
    return ax_file_commit(&out, ok, err);
}
