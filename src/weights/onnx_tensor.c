/* ONNX tensors: the values of one TensorProto as float or int64, from
 * raw_data (little endian), the typed fields or external data beside the
 * model. Used by the reader (onnx.c) and the graph converter (onnx_net.c);
 * it knows nothing of graphs. Nothing here trusts a length, an offset, a
 * shape or a path in the file. */
#include "onnx.h"
#include "alexscope/fileio.h"
#include "alexscope/weights.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int64_t ax_onnx_numel(const Onnx__TensorProto *t)
{
    int64_t n = 1;
    for (size_t i = 0; i < t->n_dims; i++) {
        if (t->dims[i] < 0) return -1;
        if (t->dims[i] && n > AX_ONNX_MAX_NUMEL / t->dims[i]) return -1;
        n *= t->dims[i];
    }
    return n <= AX_ONNX_MAX_NUMEL ? n : -1;
}

static size_t dtype_size(int dt)
{
    switch (dt) {
    case AX_ONNX_FLOAT: case AX_ONNX_INT32: return 4;
    case AX_ONNX_INT64: case AX_ONNX_DOUBLE: return 8;
    case AX_ONNX_FLOAT16: return 2;
    default: return 0;
    }
}

const char *ax_onnx_tname(const Onnx__TensorProto *t)
{
    return t->name && t->name[0] ? t->name : "(unnamed)";
}

/* The external data of t: [offset, offset + length) of a file inside the
 * model's folder, read into a buffer the caller frees. */
static ax_status external_bytes(const Onnx__TensorProto *t, const char *file, size_t want, void **out, ax_error *err)
{
    const char *loc = NULL;
    int64_t offset = 0, length = -1;
    for (size_t i = 0; i < t->n_external_data; i++) {
        const Onnx__StringStringEntryProto *kv = t->external_data[i];
        if (!kv->key || !kv->value) continue;
        char *end = NULL;
        if (!strcmp(kv->key, "location")) loc = kv->value;
        else if (!strcmp(kv->key, "offset") || !strcmp(kv->key, "length")) {
            errno = 0;
            long long v = strtoll(kv->value, &end, 10);
            if (errno || end == kv->value || *end || v < 0)
                return ax_fail(err, AX_ERR_FORMAT, "%s: tensor '%s': external data %s '%.40s' is not a byte count",
                               file, ax_onnx_tname(t), kv->key, kv->value);
            if (kv->key[0] == 'o') offset = v;
            else length = v;
        }
    }
    if (!loc || !loc[0])
        return ax_fail(err, AX_ERR_FORMAT, "%s: tensor '%s' keeps its data outside the model but names no location",
                       file, ax_onnx_tname(t));
    /* the location stays inside the model's folder: no absolute path, no
     * "..", and no link that leads out (checked on the resolved paths) */
    if (loc[0] == '/' || !strcmp(loc, "..") || !strncmp(loc, "../", 3) || strstr(loc, "/../") ||
        (strlen(loc) >= 3 && !strcmp(loc + strlen(loc) - 3, "/..")))
        return ax_fail(err, AX_ERR_FORMAT, "%s: tensor '%s': external data location '%.200s' leaves the model's "
                       "folder: refused", file, ax_onnx_tname(t), loc);
    const char *slash = strrchr(file, '/');
    char dir[PATH_MAX], path[PATH_MAX * 2];
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - file) : 1, slash ? file : ".");
    if (!dir[0]) snprintf(dir, sizeof dir, "/");
    snprintf(path, sizeof path, "%s/%s", dir, loc);
    char rdir[PATH_MAX], rpath[PATH_MAX];
    if (!realpath(dir, rdir) || !realpath(path, rpath))
        return ax_fail(err, AX_ERR_IO, "%s: tensor '%s': external data file %s: %s", file, ax_onnx_tname(t), path,
                       strerror(errno));
    size_t dl = strlen(rdir);
    if (strncmp(rpath, rdir, dl) || (rpath[dl] != '/' && strcmp(rdir, "/")))
        return ax_fail(err, AX_ERR_FORMAT, "%s: tensor '%s': external data file %s resolves to %s, outside the "
                       "model's folder: refused", file, ax_onnx_tname(t), path, rpath);
    int fd;
    size_t fsize;
    ax_status st = ax_file_open_regular(rpath, "external data file", &fd, &fsize, err);
    if (st) return st;
    if ((uint64_t)offset > fsize) {
        close(fd);
        return ax_fail(err, AX_ERR_FORMAT, "%s: tensor '%s': external data offset %lld is past the end of %s "
                       "(%zu bytes)", file, ax_onnx_tname(t), (long long)offset, path, fsize);
    }
    if (length < 0) length = (int64_t)(fsize - (size_t)offset);
    if ((uint64_t)length > fsize - (size_t)offset || (size_t)length != want) {
        close(fd);
        return ax_fail(err, AX_ERR_FORMAT, "%s: tensor '%s': external data of %lld bytes at offset %lld of %s "
                       "(%zu bytes), but its shape needs %zu", file, ax_onnx_tname(t), (long long)length,
                       (long long)offset, path, fsize, want);
    }
    void *buf = malloc(want ? want : 1);
    if (!buf) { close(fd); return ax_fail(err, AX_ERR_NOMEM, "%s: out of memory for tensor '%s'", file, ax_onnx_tname(t)); }
    size_t got = 0;
    while (got < want) {
        ssize_t r = pread(fd, (char *)buf + got, want - got, (off_t)offset + (off_t)got);
        if (r <= 0) {
            int e = errno;
            close(fd);
            free(buf);
            return ax_fail(err, AX_ERR_IO, "%s: tensor '%s': reading %s: %s", file, ax_onnx_tname(t), path,
                           r < 0 ? strerror(e) : "file ended early");
        }
        got += (size_t)r;
    }
    close(fd);
    *out = buf;
    return AX_OK;
}

static float half_f(const uint8_t *p) { return ax_half_to_float((uint16_t)(p[0] | p[1] << 8)); }

ax_status ax_onnx_values_of(const Onnx__TensorProto *t, int want_int, const char *file, ax_onnx_values *v,
                            ax_error *err)
{
    memset(v, 0, sizeof *v);
    int dt = t->has_data_type ? t->data_type : 0;
    size_t es = dtype_size(dt);
    int is_int = dt == AX_ONNX_INT32 || dt == AX_ONNX_INT64;
    if (!es || is_int != !!want_int)
        return ax_fail(err, AX_ERR_UNSUPPORTED, "%s: tensor '%s' has data type %d; %s", file, ax_onnx_tname(t), dt,
                       want_int ? "expected INT64 (7) or INT32 (6)"
                                : "expected FLOAT (1), FLOAT16 (10) or DOUBLE (11)");
    if (t->segment)
        return ax_fail(err, AX_ERR_UNSUPPORTED, "%s: tensor '%s' is split in segments, which is not read", file,
                       ax_onnx_tname(t));
    int64_t n = ax_onnx_numel(t);
    if (n < 0)
        return ax_fail(err, AX_ERR_FORMAT, "%s: tensor '%s': its dims are negative or their product passes "
                       "2^34 elements", file, ax_onnx_tname(t));
    v->numel = n;
    size_t want = (size_t)n * es;
    const uint8_t *raw = NULL;
    void *ext = NULL;
    if (t->has_data_location && t->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL) {
        ax_status st = external_bytes(t, file, want, &ext, err);
        if (st) return st;
        raw = ext;
    } else if (t->has_raw_data) {
        if (t->raw_data.len != want)
            return ax_fail(err, AX_ERR_FORMAT, "%s: tensor '%s': raw_data holds %zu bytes, its shape needs %zu", file,
                           ax_onnx_tname(t), t->raw_data.len, want);
        raw = t->raw_data.data;
    } else {
        /* the typed fields: float_data, int32_data (also float16 bits),
         * int64_data, double_data */
        size_t have = dt == AX_ONNX_FLOAT ? t->n_float_data : dt == AX_ONNX_INT64 ? t->n_int64_data
                    : dt == AX_ONNX_DOUBLE ? t->n_double_data : t->n_int32_data;
        if (have != (size_t)n)
            return ax_fail(err, AX_ERR_FORMAT, "%s: tensor '%s' holds %zu values, its shape needs %lld", file,
                           ax_onnx_tname(t), have, (long long)n);
        /* a tensor of no elements has no array (NULL): an empty one stands
         * in, so no caller copies from NULL (fuzz_onnx, UBSan) */
        static const float no_floats[1];
        static const int64_t no_ints[1];
        if (dt == AX_ONNX_FLOAT) { v->f = t->float_data ? t->float_data : no_floats; return AX_OK; }
        if (dt == AX_ONNX_INT64) { v->i = t->int64_data ? t->int64_data : no_ints; return AX_OK; }
    }
    /* raw little-endian bytes of a float32 or int64 are used as they are */
    if (raw && dt == AX_ONNX_FLOAT && !ext && ((uintptr_t)raw & 3) == 0) { v->f = (const float *)raw; return AX_OK; }
    if (raw && dt == AX_ONNX_INT64 && !ext && ((uintptr_t)raw & 7) == 0) { v->i = (const int64_t *)raw; return AX_OK; }
    void *buf = malloc((size_t)(n ? n : 1) * (want_int ? sizeof(int64_t) : sizeof(float)));
    if (!buf) {
        free(ext);
        return ax_fail(err, AX_ERR_NOMEM, "%s: out of memory for tensor '%s'", file, ax_onnx_tname(t));
    }
    for (int64_t k = 0; k < n; k++) {
        if (want_int) {
            int64_t x;
            if (raw && dt == AX_ONNX_INT64) memcpy(&x, raw + 8 * k, 8);
            else if (raw) { int32_t y; memcpy(&y, raw + 4 * k, 4); x = y; }
            else x = t->int32_data[k];
            ((int64_t *)buf)[k] = x;
        } else {
            float x;
            if (dt == AX_ONNX_FLOAT) memcpy(&x, raw + 4 * k, 4);
            else if (dt == AX_ONNX_FLOAT16) {
                if (raw) x = half_f(raw + 2 * k);
                else x = ax_half_to_float((uint16_t)t->int32_data[k]);
            } else {
                double d;
                if (raw) memcpy(&d, raw + 8 * k, 8);
                else d = t->double_data[k];
                x = (float)d;
            }
            ((float *)buf)[k] = x;
        }
    }
    free(ext);
    v->owned = buf;
    if (want_int) v->i = buf;
    else v->f = buf;
    return AX_OK;
}
