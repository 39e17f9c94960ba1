/* Weight files: opening by magic bytes, the entry list every reader fills, and
 * conversion of an entry to float32. It never decides which tensors a net
 * needs and keeps no file descriptor open (safetensors and npy are mmapped). */
#include "alexscope/weights.h"
#include "wfile_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Every reader hands out file bytes as they are and every converter memcpy's
 * them into host values: both assume the files' little-endian order. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the weight readers assume a little-endian host"
#endif

#define FORMATS_UNDERSTOOD \
    "understood: safetensors (8-byte little-endian header length, then '{'), " \
    "NumPy .npy (starts \\x93NUMPY) and .npz (a zip, starts PK\\x03\\x04)"

static const char *format_hint(const unsigned char *b, size_t n)
{
    if (n >= 2 && b[0] == 0x80 && b[1] >= 2 && b[1] <= 5)
        return "; this is a bare Python pickle (an old PyTorch .pt/.pth?): convert it to safetensors";
    if (n >= 4 && memcmp(b, "\x89HDF", 4) == 0)
        return "; this is HDF5 (a Keras .h5?): convert it to safetensors or .npz";
    if (n >= 8 && b[7] == 0 && b[6] == 0 && b[5] == 0)
        return "; the first 8 bytes look like a safetensors header length, but no '{' follows";
    return "";
}

ax_status ax_wfile_open(ax_wfile **out, const char *path, ax_error *err)
{
    *out = NULL;
    ax_wfile *f = calloc(1, sizeof *f);
    if (!f) return ax_fail(err, AX_ERR_NOMEM, "%s: out of memory opening the weight file", path);
    snprintf(f->path, sizeof f->path, "%s", path);

    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        free(f);
        return ax_fail(err, AX_ERR_IO, "%s: cannot open weight file: %s", path, strerror(e));
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        int e = errno;
        close(fd);
        free(f);
        return ax_fail(err, AX_ERR_IO, "%s: not a regular file%s%s", path,
                       e ? ": " : "", e ? strerror(e) : "");
    }
    size_t size = (size_t)st.st_size;
    if (size == 0) {
        close(fd);
        free(f);
        return ax_fail(err, AX_ERR_FORMAT, "%s: empty file (0 bytes), expected a weight file; "
                       FORMATS_UNDERSTOOD, path);
    }
    void *map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    int map_errno = errno;
    close(fd);
    if (map == MAP_FAILED) {
        free(f);
        return ax_fail(err, AX_ERR_IO, "%s: cannot map %zu bytes: %s", path, size, strerror(map_errno));
    }
    f->map = map;
    f->map_size = size;

    const unsigned char *b = map;
    ax_status s;
    if (size >= 6 && memcmp(b, "\x93NUMPY", 6) == 0) {
        s = ax_npy_parse(f, map, size, path, err);
    } else if (size >= 4 && (memcmp(b, "PK\x03\x04", 4) == 0 || memcmp(b, "PK\x05\x06", 4) == 0)) {
        s = ax_npz_parse(f, map, size, path, err);
        /* members were copied out; the mapping is no longer needed */
        munmap(f->map, f->map_size);
        f->map = NULL;
        f->map_size = 0;
    } else if (size >= 9 && b[8] == '{') {
        s = ax_safetensors_parse(f, map, size, path, err);
    } else {
        char hex[3 * 8 + 1] = "";
        size_t n = size < 8 ? size : 8;
        for (size_t i = 0; i < n; i++) snprintf(hex + 3 * i, 4, "%s%02x", i ? " " : "", b[i]);
        s = ax_fail(err, AX_ERR_FORMAT, "%s: not a weight file this reader knows (%zu bytes, starting %s); "
                    FORMATS_UNDERSTOOD "%s", path, size, hex, format_hint(b, size));
    }
    if (s != AX_OK) {
        ax_wfile_close(f);
        return s;
    }
    *out = f;
    return AX_OK;
}

void ax_wfile_close(ax_wfile *f)
{
    if (!f) return;
    if (f->map) munmap(f->map, f->map_size);
    void **owned = f->owned;
    for (size_t i = 0; i < f->owned_count; i++) free(owned[i]);
    free(owned);
    free(f->entries);
    free(f->facts);
    free(f);
}

void ax_wfile_fact(ax_wfile *f, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char line[512];
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    size_t len = strlen(line);
    char *grown = realloc(f->facts, f->facts_len + len + 2);
    if (!grown) return;   /* facts are informative; losing one is not an error */
    memcpy(grown + f->facts_len, line, len);
    grown[f->facts_len + len] = '\n';
    grown[f->facts_len + len + 1] = 0;
    f->facts = grown;
    f->facts_len += len + 1;
}

const ax_wentry *ax_wfile_find(const ax_wfile *f, const char *name)
{
    if (!f || !name) return NULL;
    for (int i = 0; i < f->count; i++)
        if (strcmp(f->entries[i].name, name) == 0) return &f->entries[i];
    return NULL;
}

/* A 0-d array holds one element. */
size_t ax_wentry_numel(const ax_wentry *e)
{
    size_t n = 1;
    for (int i = 0; i < e->ndim; i++) n *= (size_t)e->shape[i];
    return n;
}

const char *ax_dtype_name(ax_dtype d)
{
    switch (d) {
    case AX_DT_F32: return "F32";
    case AX_DT_F16: return "F16";
    case AX_DT_BF16: return "BF16";
    case AX_DT_F64: return "F64";
    }
    return "?";
}

size_t ax_dtype_size(ax_dtype d)
{
    switch (d) {
    case AX_DT_F32: return 4;
    case AX_DT_F16: return 2;
    case AX_DT_BF16: return 2;
    case AX_DT_F64: return 8;
    }
    return 0;
}

static float bits_to_float(uint32_t u)
{
    float x;
    memcpy(&x, &u, sizeof x);
    return x;
}

/* IEEE binary16: 1 sign, 5 exponent (bias 15), 10 mantissa bits. Subnormals
 * (exponent 0) are mant * 2^-24 and become normal floats; exponent 31 is
 * inf or NaN, the NaN payload kept in the top mantissa bits. */
float ax_half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t mant = h & 0x3ffu;
    if (exp == 0) {
        if (mant == 0) return bits_to_float(sign);
        uint32_t e = 127 - 15 + 1;
        while (!(mant & 0x400u)) {
            mant <<= 1;
            e--;
        }
        return bits_to_float(sign | e << 23 | (mant & 0x3ffu) << 13);
    }
    if (exp == 31) return bits_to_float(sign | 0x7f800000u | mant << 13);
    return bits_to_float(sign | (exp + 127 - 15) << 23 | mant << 13);
}

/* bfloat16 is the top half of a float32. */
float ax_bf16_to_float(uint16_t h)
{
    return bits_to_float((uint32_t)h << 16);
}

/* Entry data may sit at any byte offset (safetensors does not align), so
 * every element is memcpy'd. */
void ax_wentry_to_f32(const ax_wentry *e, float *dst)
{
    size_t n = ax_wentry_numel(e);
    const unsigned char *p = e->data;
    switch (e->dtype) {
    case AX_DT_F32:
        memcpy(dst, p, n * sizeof(float));
        break;
    case AX_DT_F16:
        for (size_t i = 0; i < n; i++) {
            uint16_t h;
            memcpy(&h, p + 2 * i, 2);
            dst[i] = ax_half_to_float(h);
        }
        break;
    case AX_DT_BF16:
        for (size_t i = 0; i < n; i++) {
            uint16_t h;
            memcpy(&h, p + 2 * i, 2);
            dst[i] = ax_bf16_to_float(h);
        }
        break;
    case AX_DT_F64:
        for (size_t i = 0; i < n; i++) {
            double d;
            memcpy(&d, p + 8 * i, 8);
            dst[i] = (float)d;
        }
        break;
    }
}

ax_status ax_wfile_push(ax_wfile *f, const ax_wentry *e, const char *file, ax_error *err)
{
    if (ax_wfile_find(f, e->name))
        return ax_fail(err, AX_ERR_FORMAT, "%s: tensor '%s' appears twice", file, e->name);
    ax_wentry *grown = realloc(f->entries, ((size_t)f->count + 1) * sizeof *grown);
    if (!grown) return ax_fail(err, AX_ERR_NOMEM, "%s: out of memory indexing tensor '%s'", file, e->name);
    f->entries = grown;
    f->entries[f->count++] = *e;
    return AX_OK;
}

ax_status ax_wfile_own(ax_wfile *f, void *buf, ax_error *err)
{
    void **grown = realloc(f->owned, (f->owned_count + 1) * sizeof *grown);
    if (!grown) {
        free(buf);
        return ax_fail(err, AX_ERR_NOMEM, "%s: out of memory", f->path[0] ? f->path : "weight file");
    }
    grown[f->owned_count++] = buf;
    f->owned = grown;
    return AX_OK;
}

void ax_wfile_truncate(ax_wfile *f, int count)
{
    if (count >= 0 && count < f->count) f->count = count;
}

char *ax_wshape_str(char *buf, size_t size, int ndim, const int64_t *shape)
{
    size_t len = (size_t)snprintf(buf, size, "(");
    for (int i = 0; i < ndim && len < size; i++)
        len += (size_t)snprintf(buf + len, size - len, "%s%lld", i ? ", " : "", (long long)shape[i]);
    if (len < size) snprintf(buf + len, size - len, ")");
    return buf;
}

ax_status ax_wfile_close_written(FILE *fp, int ok, const char *path, ax_error *err)
{
    int e = errno;
    if (fclose(fp) != 0 && ok) {
        ok = 0;
        e = errno;
    }
    if (!ok) return ax_fail(err, AX_ERR_IO, "%s: write failed: %s", path, strerror(e));
    return AX_OK;
}
