/* The base every weight reader builds on: the entry list and its name index,
 * header facts, buffers and the mapping an ax_wfile owns, dtypes and their
 * conversion to float32. It knows no format and calls no reader (formats.c
 * does both), and it never decides which tensors a net needs. */
#include "alexscope/weights.h"
#include "wfile_internal.h"
#include "alexscope/text.h"
#include "core/parallel.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>
#include <zlib.h>

/* Every reader hands out file bytes as they are and every converter memcpy's
 * them into host values: both assume the files' little-endian order. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the weight readers assume a little-endian host"
#endif

static void index_free(ax_wfile *f);

void ax_wfile_close(ax_wfile *f)
{
    if (!f) return;
    if (f->map) munmap(f->map, f->map_size);
    ax_wfile_forget_fd(f);
    void **owned = f->owned;
    for (size_t i = 0; i < f->owned_count; i++) free(owned[i]);
    free(owned);
    free(f->entries);
    index_free(f);
    free(f->facts);
    free(f);
}

/* Facts are for reading: a file with a million empty layers must not keep
 * (or take quadratic time to build) a million lines. Past this much the rest
 * is dropped, said once in a last line. */
#define FACTS_MAX ((size_t)1 << 20)
#define FACTS_CUT "(further facts not kept: more than 1 MiB of them)"

/* The room f->facts has: the power of two (at least 256) above its length,
 * so the buffer grows geometrically without a field of its own. */
static size_t facts_room(size_t len)
{
    size_t cap = 256;
    while (cap < len + 1) cap *= 2;
    return cap;
}

void ax_wfile_fact(ax_wfile *f, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char line[512];
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    /* facts quote names and values from the file and are printed as they
     * are: cleaned here, once, for every reader */
    char raw[sizeof line];
    memcpy(raw, line, sizeof raw);
    ax_text_clean(line, sizeof line, raw, 0);
    size_t len = strlen(line);
    if (f->facts_len + len + 1 + sizeof FACTS_CUT > FACTS_MAX) {   /* room for the cut line */
        size_t cut = sizeof FACTS_CUT;   /* with its newline */
        if (f->facts_len >= cut && !strcmp(f->facts + f->facts_len - cut, FACTS_CUT "\n")) return;
        snprintf(line, sizeof line, "%s", FACTS_CUT);
        len = strlen(line);
    }
    size_t need = f->facts_len + len + 2;
    if (!f->facts || need > facts_room(f->facts_len)) {
        char *grown = realloc(f->facts, facts_room(need));
        if (!grown) return;   /* facts are informative; losing one is not an error */
        f->facts = grown;
    }
    memcpy(f->facts + f->facts_len, line, len);
    f->facts[f->facts_len + len] = '\n';
    f->facts[f->facts_len + len + 1] = 0;
    f->facts_len += len + 1;
}

/* Entry names are indexed in an open-addressing table of entry numbers + 1
 * (0 is empty), kept at most half full, so pushing n tensors costs O(n)
 * rather than O(n^2). */
typedef struct {
    size_t cap;     /* a power of two */
    int used;       /* entries [0, used) are in the table */
    int *slot;
    size_t entries_cap;   /* room in f->entries (the array grows geometrically) */
} name_index;

static uint64_t name_hash(const char *s)
{
    uint64_t h = 1469598103934665603u;   /* FNV-1a */
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211u;
    return h;
}

/* The entry called name, or -1; only entries the index holds are seen. */
static int index_lookup(const ax_wfile *f, const char *name)
{
    const name_index *x = f->index;
    if (!x) return -1;
    for (size_t i = name_hash(name) & (x->cap - 1);; i = (i + 1) & (x->cap - 1)) {
        int e = x->slot[i] - 1;
        if (e < 0) return -1;
        if (e < f->count && strcmp(f->entries[e].name, name) == 0) return e;
    }
}

static void index_put(name_index *x, const ax_wentry *entries, int e)
{
    size_t i = name_hash(entries[e].name) & (x->cap - 1);
    while (x->slot[i]) i = (i + 1) & (x->cap - 1);
    x->slot[i] = e + 1;
}

/* Makes room for entry `count` (rebuilding the table from the entries when
 * it grows); 0 when out of memory. */
static int index_reserve(ax_wfile *f, int count)
{
    name_index *x = f->index;
    if (x && (size_t)count + 1 <= x->cap / 2) return 1;
    size_t cap = 64;
    while ((size_t)count + 1 > cap / 2) cap *= 2;
    int *slot = calloc(cap, sizeof *slot);
    if (!slot) return 0;
    if (!x) {
        x = calloc(1, sizeof *x);
        if (!x) {
            free(slot);
            return 0;
        }
        x->entries_cap = (size_t)count;   /* unknown: the next push reallocates */
        f->index = x;
    }
    free(x->slot);
    x->slot = slot;
    x->cap = cap;
    for (int e = 0; e < count; e++) index_put(x, f->entries, e);
    x->used = count;
    return 1;
}

static void index_free(ax_wfile *f)
{
    name_index *x = f->index;
    if (x) free(x->slot);
    free(x);
    f->index = NULL;
}

const ax_wentry *ax_wfile_find(const ax_wfile *f, const char *name)
{
    if (!f || !name) return NULL;
    int e = index_lookup(f, name);
    if (e >= 0) return &f->entries[e];
    /* a binder may have renamed entries after they were indexed */
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
    name_index *x = f->index;
    if (x && x->used != f->count) index_free(f);   /* entries changed behind the index */
    if (!index_reserve(f, f->count))
        return ax_fail(err, AX_ERR_NOMEM, "%s: out of memory indexing tensor '%s'", file, e->name);
    x = f->index;
    if (index_lookup(f, e->name) >= 0)
        return ax_fail(err, AX_ERR_FORMAT, "%s: tensor '%s' appears twice", file, e->name);
    if ((size_t)f->count == x->entries_cap) {
        size_t cap = x->entries_cap ? 2 * x->entries_cap : 16;
        ax_wentry *grown = realloc(f->entries, cap * sizeof *grown);
        if (!grown) return ax_fail(err, AX_ERR_NOMEM, "%s: out of memory indexing tensor '%s'", file, e->name);
        f->entries = grown;
        x->entries_cap = cap;
    }
    f->entries[f->count] = *e;
    index_put(x, f->entries, f->count);
    x->used = ++f->count;
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
    if (count >= 0 && count < f->count) {
        f->count = count;
        name_index *x = f->index;
        if (x) {
            memset(x->slot, 0, x->cap * sizeof *x->slot);
            for (int e = 0; e < count; e++) index_put(x, f->entries, e);
            x->used = count;
        }
    }
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

void ax_wfile_release(const ax_wfile *f, const void *p, size_t n)
{
    if (!f || !f->map || !p || !n) return;
    uintptr_t lo = (uintptr_t)f->map, hi = lo + f->map_size, a = (uintptr_t)p, b = a + n;
    if (a < lo || b > hi) return;
    /* Whole pages only: a page shared with a neighbour entry stays. */
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    a = (a + page - 1) & ~(page - 1);
    b &= ~(page - 1);
    if (b > a) madvise((void *)a, b - a, MADV_DONTNEED);
}

/* A buffer for bytes read from the file in pieces: huge pages, so that its
 * first touch is one fault rather than hundreds. */
#define READ_PIECE ((size_t)2 << 20)
static void *piece_alloc(void)
{
    void *p = NULL;
    if (posix_memalign(&p, READ_PIECE, READ_PIECE)) return NULL;
#ifdef MADV_HUGEPAGE
    madvise(p, READ_PIECE, MADV_HUGEPAGE);
#endif
    return p;
}

int ax_wfile_each_piece(const ax_wfile *f, const void *p, size_t n, int (*fn)(void *ctx, const void *bytes, size_t n),
                        void *ctx)
{
    const unsigned char *src = p;
    void *buf = ax_wfile_readable(f, p, n) && n > READ_PIECE ? piece_alloc() : NULL;
    for (size_t at = 0; at < n; at += READ_PIECE) {
        size_t k = n - at < READ_PIECE ? n - at : READ_PIECE;
        const void *bytes = src + at;
        if (buf && ax_wfile_read(f, src + at, k, buf)) bytes = buf;
        int r = fn(ctx, bytes, k);
        if (bytes != buf) ax_wfile_release(f, src + at, k);
        if (r) {
            free(buf);
            return r;
        }
    }
    free(buf);
    return 0;
}

typedef struct {
    const ax_wfile *f;
    const unsigned char *p;
    size_t n, chunk;
    uLong *crc;
} crc_job;

static int crc_piece(void *ctx, const void *bytes, size_t n)
{
    uLong *crc = ctx;
    *crc = crc32_z(*crc, bytes, n);
    return 0;
}

static void crc_parts(void *ctx, int begin, int end)
{
    crc_job *j = ctx;
    for (int i = begin; i < end; i++) {
        size_t at = (size_t)i * j->chunk, len = j->n - at < j->chunk ? j->n - at : j->chunk;
        j->crc[i] = crc32_z(0L, Z_NULL, 0);
        ax_wfile_each_piece(j->f, j->p + at, len, crc_piece, &j->crc[i]);
    }
}

uint32_t ax_wfile_crc32(const ax_wfile *f, const void *p, size_t n)
{
    /* 8 MiB parts summed side by side on the pool, each read from the file
     * in pieces (or, from memory, each piece's pages handed back once summed:
     * checking a 150 MB member keeps a few pages resident, not the member);
     * zlib joins the parts' CRCs into the whole's */
    crc_job j = { f, p, n, (size_t)8 << 20, NULL };
    size_t parts = n ? (n + j.chunk - 1) / j.chunk : 0;
    uLong stack[64];
    j.crc = parts <= 64 ? stack : malloc(parts * sizeof *j.crc);
    uLong crc = crc32_z(0L, Z_NULL, 0);
    if (!j.crc || parts > (size_t)INT_MAX) {
        /* no room for the parts' sums: one pass */
        free(j.crc == stack ? NULL : j.crc);
        ax_wfile_each_piece(f, p, n, crc_piece, &crc);
        return (uint32_t)crc;
    }
    ax_parallel_for((int)parts, crc_parts, &j);
    for (size_t i = 0; i < parts; i++) {
        size_t len = n - i * j.chunk < j.chunk ? n - i * j.chunk : j.chunk;
        crc = crc32_combine(crc, j.crc[i], (z_off_t)len);
    }
    if (j.crc != stack) free(j.crc);
    return (uint32_t)crc;
}

void ax_wfile_unmap_unused(ax_wfile *f)
{
    if (!f->map) return;
    const unsigned char *lo = f->map, *hi = lo + f->map_size;
    for (int i = 0; i < f->count; i++) {
        const unsigned char *d = f->entries[i].data;
        if (d >= lo && d < hi) return;
    }
    munmap(f->map, f->map_size);
    f->map = NULL;
    f->map_size = 0;
    ax_wfile_forget_fd(f);
}

void ax_wfile_forget_fd(ax_wfile *f)
{
    if (f->map_fd_open) close(f->map_fd);
    f->map_fd_open = 0;
}

int ax_wfile_readable(const ax_wfile *f, const void *p, size_t n)
{
    if (!f || !f->map_fd_open || !f->map || !p) return 0;
    uintptr_t lo = (uintptr_t)f->map, a = (uintptr_t)p;
    return a >= lo && a - lo <= f->map_size && n <= f->map_size - (a - lo);
}

int ax_wfile_read(const ax_wfile *f, const void *p, size_t n, void *dst)
{
    struct iovec v = { dst, n };
    return ax_wfile_readv(f, p, &v, 1);
}

int ax_wfile_readv(const ax_wfile *f, const void *p, const struct iovec *iov, int cnt)
{
    size_t n = 0;
    for (int i = 0; i < cnt; i++) n += iov[i].iov_len;
    const unsigned char *src = p;
    if (ax_wfile_readable(f, p, n)) {
        off_t at = (off_t)(src - (const unsigned char *)f->map);
        /* preadv takes at most IOV_MAX buffers and may stop short: go on
         * from where it stopped */
        int i = 0;
        size_t skip = 0;   /* bytes of iov[i] already read */
        while (i < cnt) {
            struct iovec part[64];
            int k = 0;
            for (; k < 64 && i + k < cnt; k++) part[k] = iov[i + k];
            part[0].iov_base = (char *)part[0].iov_base + skip;
            part[0].iov_len -= skip;
            ssize_t got = preadv(f->map_fd, part, k, at);
            if (got <= 0) break;   /* an error or a file cut short: the rest from memory */
            at += got;
            for (size_t left = (size_t)got; left && i < cnt;) {
                size_t room = iov[i].iov_len - skip;
                if (left < room) {
                    skip += left;
                    left = 0;
                } else {
                    left -= room;
                    skip = 0;
                    i++;
                }
            }
            while (i < cnt && iov[i].iov_len == 0) i++;
        }
        if (i == cnt) return 1;
        /* the rest as memory */
        size_t done = 0;
        for (int k = 0; k < i; k++) done += iov[k].iov_len;
        done += skip;
        src += done;
        memcpy((char *)iov[i].iov_base + skip, src, iov[i].iov_len - skip);
        src += iov[i].iov_len - skip;
        for (int k = i + 1; k < cnt; k++) {
            memcpy(iov[k].iov_base, src, iov[k].iov_len);
            src += iov[k].iov_len;
        }
        return 0;
    }
    for (int k = 0; k < cnt; k++) {
        memcpy(iov[k].iov_base, src, iov[k].iov_len);
        src += iov[k].iov_len;
    }
    return 0;
}
