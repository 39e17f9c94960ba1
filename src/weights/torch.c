/* PyTorch torch.save files: the zip container (PyTorch >= 1.6: data.pkl, a
 * data/<key> member per storage, version, byteorder) and the legacy stream of
 * consecutive pickles followed by raw storages. Stored storages are used in
 * place from the caller's buffer; nothing is imported or run (pickle.c). */
#include "alexscope/weights.h"
#include "wfile_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zip.h>

/* The legacy magic: PROTO 2, LONG1 of 10 bytes 0x1950a86a20f9469cfc6c, STOP. */
static const uint8_t legacy_magic[15] = {0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9,
                                         0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e};

enum { MAX_MEMBERS = 1 << 16 };
#define MAX_INFLATE ((uint64_t)1 << 30)

static uint32_t le16(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }
static uint32_t le32(const uint8_t *p) { return le16(p) | le16(p + 2) << 16; }
static uint64_t le64(const uint8_t *p) { return le32(p) | (uint64_t)le32(p + 4) << 32; }

/* ---- zip central directory ----------------------------------------------- */

typedef struct {
    const char *name; size_t nlen;     /* into the buffer, not NUL-terminated */
    uint32_t method, crc;
    uint64_t csize, usize, local;      /* sizes, offset of the local header */
    const uint8_t *bytes;              /* once named by the pickle as a storage */
} zmember;

typedef struct {
    const uint8_t *buf; size_t size;
    uint64_t cd_off, cd_size, count;
} zdir;

/* Finds the end-of-central-directory record (and its zip64 form). 0 when the
 * buffer has none that is consistent with its size. */
static int zip_find_dir(const uint8_t *b, size_t n, zdir *d)
{
    if (n < 22) return 0;
    size_t lo = n - 22 > 65535 ? n - 22 - 65535 : 0;
    for (size_t at = n - 22 + 1; at-- > lo;) {
        const uint8_t *e = b + at;
        if (memcmp(e, "PK\x05\x06", 4) != 0) continue;
        if (at + 22 + le16(e + 20) != n) continue;   /* the comment must end the file */
        uint64_t count = le16(e + 10), cd_size = le32(e + 12), cd_off = le32(e + 16);
        if ((count == 0xffff || cd_size == 0xffffffffu || cd_off == 0xffffffffu) && at >= 20 &&
            memcmp(e - 20, "PK\x06\x07", 4) == 0) {
            uint64_t z = le64(e - 20 + 8);
            if (n < 56 || z > n - 56 || memcmp(b + z, "PK\x06\x06", 4) != 0) return 0;
            count = le64(b + z + 32);
            cd_size = le64(b + z + 40);
            cd_off = le64(b + z + 48);
        }
        if (cd_off > at || cd_size > at - cd_off) return 0;
        d->buf = b;
        d->size = n;
        d->cd_off = cd_off;
        d->cd_size = cd_size;
        d->count = count;
        return 1;
    }
    return 0;
}

/* Reads the central entry at *pos into m and advances *pos; 0 when it is
 * malformed (message in why). */
static int zip_next(const zdir *d, uint64_t *pos, zmember *m, const char **why)
{
    const uint8_t *b = d->buf;
    uint64_t end = d->cd_off + d->cd_size, p = *pos;
    if (p > end || end - p < 46 || memcmp(b + p, "PK\x01\x02", 4) != 0) {
        *why = "a central directory entry is cut short or lacks its signature";
        return 0;
    }
    uint32_t nlen = le16(b + p + 28), xlen = le16(b + p + 30), clen = le16(b + p + 32);
    if (end - p - 46 < (uint64_t)nlen + xlen + clen) {
        *why = "a central directory entry runs past the directory";
        return 0;
    }
    memset(m, 0, sizeof *m);
    m->method = le16(b + p + 10);
    m->crc = le32(b + p + 16);
    m->csize = le32(b + p + 20);
    m->usize = le32(b + p + 24);
    m->local = le32(b + p + 42);
    m->name = (const char *)b + p + 46;
    m->nlen = nlen;
    /* zip64 extra field: the 64-bit values of the fields saturated above */
    const uint8_t *x = b + p + 46 + nlen, *xe = x + xlen;
    while (xe - x >= 4) {
        uint32_t id = le16(x), len = le16(x + 2);
        if ((uint32_t)(xe - x - 4) < len) break;
        if (id == 1) {
            const uint8_t *v = x + 4, *ve = v + len;
            uint64_t *fields[3] = {&m->usize, &m->csize, &m->local};
            for (int i = 0; i < 3; i++)
                if (*fields[i] == 0xffffffffu && ve - v >= 8) {
                    *fields[i] = le64(v);
                    v += 8;
                }
        }
        x += 4 + len;
    }
    if (memchr(m->name, 0, nlen)) {
        *why = "a member name holds a NUL byte";
        return 0;
    }
    *pos = p + 46 + nlen + xlen + clen;
    return 1;
}

static int ends_with(const char *s, size_t n, const char *tail)
{
    size_t t = strlen(tail);
    return n >= t && memcmp(s + n - t, tail, t) == 0;
}

int ax_torch_sniff(const uint8_t *b, size_t n)
{
    if (n >= sizeof legacy_magic && memcmp(b, legacy_magic, sizeof legacy_magic) == 0) return 2;
    if (n < 30 || memcmp(b, "PK\x03\x04", 4) != 0) return 0;
    /* torch.save writes data.pkl first */
    uint32_t nlen = le16(b + 26);
    if (30 + (size_t)nlen <= n && ends_with((const char *)b + 30, nlen, "data.pkl")) return 1;
    zdir d;
    if (!zip_find_dir(b, n, &d)) return 0;
    uint64_t pos = d.cd_off;
    zmember m;
    const char *why;
    for (uint64_t i = 0; i < d.count && i < MAX_MEMBERS && zip_next(&d, &pos, &m, &why); i++)
        if (ends_with(m.name, m.nlen, "/data.pkl") || (m.nlen == 8 && !memcmp(m.name, "data.pkl", 8))) return 1;
    return 0;
}

/* ---- the zip container ----------------------------------------------------- */

typedef struct {
    ax_wfile *f;
    const char *file;
    zdir dir;
    zmember *members; size_t count;     /* sorted by name */
    char prefix[256]; size_t plen;      /* "<archive>/" */
    zip_t *lz;                          /* libzip, opened for compressed members only */
    size_t storages, copied, unaligned;
    uint64_t inflated;                  /* bytes of deflated members inflated so far */
    uint64_t storage_bytes;
} zctx;

static int member_cmp(const void *a, const void *b)
{
    const zmember *x = a, *y = b;
    size_t n = x->nlen < y->nlen ? x->nlen : y->nlen;
    int c = memcmp(x->name, y->name, n);
    return c ? c : (x->nlen > y->nlen) - (x->nlen < y->nlen);
}

static zmember *find_member(zctx *z, const char *name)
{
    zmember key;
    memset(&key, 0, sizeof key);
    key.name = name;
    key.nlen = strlen(name);
    return bsearch(&key, z->members, z->count, sizeof key, member_cmp);
}

/* CRC-32 (the zip polynomial, zlib's, at gigabytes a second, through
 * ax_wfile_crc32): every member is checked, storages too (torch itself
 * checks none, so a flipped bit in a stored tensor would load as a changed
 * number). */

/* The bytes of member m: in place when stored, else inflated by libzip
 * into a buffer f owns. */
static ax_status member_data(zctx *z, zmember *m, const uint8_t **out, int check_crc, ax_error *err)
{
    const uint8_t *b = z->dir.buf;
    char name[300];
    snprintf(name, sizeof name, "%.*s", (int)(m->nlen < 200 ? m->nlen : 200), m->name);
    if (m->local > z->dir.size - 30 || z->dir.size < 30 || memcmp(b + m->local, "PK\x03\x04", 4) != 0)
        return ax_fail(err, AX_ERR_FORMAT, "%s: zip member '%s': its local header at byte %llu is missing "
                       "(damaged or truncated archive)", z->file, name, (unsigned long long)m->local);
    uint64_t data = m->local + 30 + le16(b + m->local + 26) + le16(b + m->local + 28);
    if (data > z->dir.size || m->csize > z->dir.size - data)
        return ax_fail(err, AX_ERR_FORMAT, "%s: zip member '%s' (%llu bytes at byte %llu) runs past the end of "
                       "the %zu-byte file (truncated)", z->file, name, (unsigned long long)m->csize,
                       (unsigned long long)data, z->dir.size);
    if (m->method == 0) {
        if (m->csize != m->usize)
            return ax_fail(err, AX_ERR_FORMAT, "%s: zip member '%s' is stored but its sizes differ (%llu, %llu)",
                           z->file, name, (unsigned long long)m->csize, (unsigned long long)m->usize);
        /* the check hands back the pages it read as it goes, so that the
         * file is not all resident at once (the converter reads them again,
         * one tensor at a time, from the page cache) */
        if (check_crc && ax_wfile_crc32(z->f, b + data, (size_t)m->usize) != m->crc)
            return ax_fail(err, AX_ERR_FORMAT, "%s: zip member '%s' fails its CRC check (damaged)", z->file, name);
        *out = b + data;
        return AX_OK;
    }
    if (m->method != 8)
        return ax_fail(err, AX_ERR_UNSUPPORTED, "%s: zip member '%s' uses compression method %u; stored (0) and "
                       "deflated (8) members are read", z->file, name, m->method);
    /* deflate expands at most 1032:1; as for .npz, 1 GiB a member and 4 GiB in all */
    if (m->usize > (m->csize + 1) * 1032 || m->usize > MAX_INFLATE || z->inflated + m->usize > 4 * MAX_INFLATE)
        return ax_fail(err, AX_ERR_FORMAT, "%s: zip member '%s' claims %llu bytes from %llu compressed (at most "
                       "%llu a member, %llu in all, are inflated)", z->file, name, (unsigned long long)m->usize,
                       (unsigned long long)m->csize, (unsigned long long)MAX_INFLATE,
                       (unsigned long long)(4 * MAX_INFLATE));
    z->inflated += m->usize;
    if (!z->lz) {
        zip_error_t ze;
        zip_error_init(&ze);
        zip_source_t *src = zip_source_buffer_create(b, z->dir.size, 0, &ze);
        if (src && !(z->lz = zip_open_from_source(src, ZIP_RDONLY, &ze))) zip_source_free(src);
        ax_status st = z->lz ? AX_OK : ax_fail(err, AX_ERR_FORMAT, "%s: cannot read the compressed zip member "
                                                "'%s': %s", z->file, name, zip_error_strerror(&ze));
        zip_error_fini(&ze);
        if (st) return st;
    }
    zip_int64_t idx = zip_name_locate(z->lz, name, ZIP_FL_ENC_RAW);
    size_t n = (size_t)m->usize;
    uint8_t *p = malloc(n ? n : 1);
    if (!p) return ax_fail(err, AX_ERR_NOMEM, "%s: zip member '%s' needs %zu bytes: out of memory", z->file, name, n);
    ax_status st = ax_wfile_own(z->f, p, err);
    if (st) return st;
    zip_file_t *zf = idx < 0 ? NULL : zip_fopen_index(z->lz, (zip_uint64_t)idx, 0);
    if (!zf)
        return ax_fail(err, AX_ERR_FORMAT, "%s: cannot open zip member '%s': %s", z->file, name, zip_strerror(z->lz));
    size_t got = 0;
    for (;;) {
        uint8_t extra;
        zip_int64_t r = got < n ? zip_fread(zf, p + got, n - got) : zip_fread(zf, &extra, 1);
        if (r < 0) {
            st = ax_fail(err, AX_ERR_FORMAT, "%s: zip member '%s' is damaged: %s", z->file, name,
                         zip_file_strerror(zf));
            break;
        }
        if (r == 0) break;
        if (got >= n) {
            st = ax_fail(err, AX_ERR_FORMAT, "%s: zip member '%s' holds more than its stated %zu bytes", z->file,
                         name, n);
            break;
        }
        got += (size_t)r;
    }
    zip_fclose(zf);
    if (!st && got != n)
        st = ax_fail(err, AX_ERR_FORMAT, "%s: zip member '%s' is truncated: %zu of %zu bytes", z->file, name, got, n);
    z->copied++;
    *out = p;
    return st;
}

static ax_status zip_storage(void *user, const char *key, size_t elsize, uint64_t numel, const uint8_t **data,
                             ax_error *err)
{
    zctx *z = user;
    char name[400];
    snprintf(name, sizeof name, "%sdata/%s", z->prefix, key);
    zmember *m = find_member(z, name);
    if (!m)
        return ax_fail(err, AX_ERR_FORMAT, "%s: the pickle names storage '%s' but the archive has no member '%s'",
                       z->file, key, name);
    if (numel > UINT64_MAX / elsize || numel * elsize != m->usize)
        return ax_fail(err, AX_ERR_FORMAT, "%s: zip member '%s' is not the storage the pickle describes: it holds "
                       "%llu bytes, the pickle says %llu elements of %zu bytes", z->file, name,
                       (unsigned long long)m->usize, (unsigned long long)numel, elsize);
    if (!m->bytes) {
        ax_status st = member_data(z, m, &m->bytes, 1, err);
        if (st) return st;
        z->storages++;
        z->storage_bytes += m->usize;
        if ((uintptr_t)m->bytes % 64) z->unaligned++;
    }
    *data = m->bytes;
    return AX_OK;
}

/* A small text member ("3\n", "little") into buf; "" when absent. */
static ax_status small_member(zctx *z, const char *suffix, char *buf, size_t size, ax_error *err)
{
    char name[400];
    snprintf(name, sizeof name, "%s%s", z->prefix, suffix);
    zmember *m = find_member(z, name);
    buf[0] = 0;
    if (!m) return AX_OK;
    const uint8_t *p;
    ax_status st = member_data(z, m, &p, 1, err);
    if (st) return st;
    size_t n = m->usize < size - 1 ? (size_t)m->usize : size - 1;
    for (size_t i = 0; i < n; i++) buf[i] = p[i] >= 0x20 && p[i] < 0x7f ? (char)p[i] : ' ';
    while (n && buf[n - 1] == ' ') n--;
    buf[n] = 0;
    return AX_OK;
}

static ax_status parse_zip(ax_wfile *f, const uint8_t *b, size_t n, const char *file, ax_error *err)
{
    zctx z;
    memset(&z, 0, sizeof z);
    z.f = f;
    z.file = file;
    if (!zip_find_dir(b, n, &z.dir))
        return ax_fail(err, AX_ERR_FORMAT, "%s: a PyTorch zip file without its end-of-central-directory record "
                       "(truncated or damaged; %zu bytes)", file, n);
    if (z.dir.count > MAX_MEMBERS || z.dir.count > z.dir.cd_size / 46)
        return ax_fail(err, AX_ERR_FORMAT, "%s: the zip directory claims %llu members in %llu bytes", file,
                       (unsigned long long)z.dir.count, (unsigned long long)z.dir.cd_size);
    z.members = calloc(z.dir.count + 1, sizeof *z.members);
    if (!z.members) return ax_fail(err, AX_ERR_NOMEM, "%s: out of memory", file);
    ax_status st = AX_OK;
    uint64_t pos = z.dir.cd_off;
    const char *why = NULL;
    const zmember *pkl = NULL;
    for (uint64_t i = 0; i < z.dir.count; i++) {
        if (!zip_next(&z.dir, &pos, &z.members[i], &why)) {
            st = ax_fail(err, AX_ERR_FORMAT, "%s: zip directory entry %llu: %s", file, (unsigned long long)i, why);
            break;
        }
    }
    z.count = (size_t)z.dir.count;
    if (!st) {
        qsort(z.members, z.count, sizeof *z.members, member_cmp);
        /* Two members of one name: which one a reader takes depends on the
         * reader (and here on compression), so the file means two things. */
        for (size_t i = 1; i < z.count && !st; i++)
            if (!member_cmp(&z.members[i - 1], &z.members[i]))
                st = ax_fail(err, AX_ERR_FORMAT, "%s: zip member '%.*s' appears twice (a damaged or doctored "
                             "archive)", file, (int)(z.members[i].nlen < 200 ? z.members[i].nlen : 200),
                             z.members[i].name);
        for (size_t i = 0; i < z.count && !pkl && !st; i++) {
            const zmember *m = &z.members[i];
            const char *slash = memchr(m->name, '/', m->nlen);
            if (ends_with(m->name, m->nlen, "data.pkl") &&
                (m->nlen == 8 || (slash && (size_t)(slash - m->name) == m->nlen - 9)))
                pkl = m;
        }
        if (!pkl && !st) st = ax_fail(err, AX_ERR_FORMAT, "%s: a zip without '<archive>/data.pkl': not a PyTorch file", file);
    }
    if (!st) {
        z.plen = pkl->nlen - 8;
        if (z.plen >= sizeof z.prefix)
            st = ax_fail(err, AX_ERR_FORMAT, "%s: archive name is %zu bytes long", file, z.plen);
        else
            memcpy(z.prefix, pkl->name, z.plen);
    }
    char version[32] = "", order[32] = "";
    if (!st) st = small_member(&z, "byteorder", order, sizeof order, err);
    if (!st && order[0] && strcmp(order, "little") != 0)
        st = ax_fail(err, AX_ERR_UNSUPPORTED, "%s: the storages are %s-endian (its 'byteorder' record says "
                     "'%s'); only little-endian files are read: re-save it on a little-endian machine",
                     file, strcmp(order, "big") ? "of unknown" : "big", order);
    if (!st) st = small_member(&z, "version", version, sizeof version, err);
    if (!st && !version[0]) st = small_member(&z, ".data/version", version, sizeof version, err);
    const uint8_t *pk = NULL;
    if (!st) st = member_data(&z, (zmember *)pkl, &pk, 1, err);
    if (!st) {
        char where[1200];
        snprintf(where, sizeof where, "%s:%s", file, z.prefix);
        size_t wl = strlen(where);
        snprintf(where + wl, sizeof where - wl, "data.pkl");
        ax_torch_src src = {zip_storage, &z, 1};
        int first = f->count;
        ax_wfile_fact(f, "container: PyTorch zip (torch.save >= 1.6), archive '%.*s'", (int)(z.plen ? z.plen - 1 : 0),
                      z.prefix);
        if (version[0]) ax_wfile_fact(f, "serialization format version %s", version);
        ax_wfile_fact(f, "byte order: %s", order[0] ? order : "little (no byteorder record; older than torch 2.1)");
        st = ax_pickle_torch_load(f, pk, (size_t)pkl->usize, 0, where, &src, NULL, err);
        if (!st) {
            size_t unused = 0;
            for (size_t i = 0; i < z.count; i++)
                if (!z.members[i].bytes && z.members[i].nlen > z.plen + 5 &&
                    !memcmp(z.members[i].name + z.plen, "data/", 5))
                    unused++;
            ax_wfile_fact(f, "%zu storages, %llu bytes; %zu used in place from the file%s", z.storages,
                          (unsigned long long)z.storage_bytes, z.storages - z.copied,
                          z.copied ? ", the others inflated (deflated members)" : "");
            if (z.unaligned) ax_wfile_fact(f, "%zu storages are not 64-byte aligned", z.unaligned);
            if (unused) ax_wfile_fact(f, "%zu storage members no tensor uses", unused);
        }
        (void)first;
    }
    if (z.lz) zip_discard(z.lz);
    free(z.members);
    if (!st) f->format = "torch-zip";
    return st;
}

/* ---- the legacy container ---------------------------------------------------- */

typedef struct {
    char key[65];
    size_t elsize;
    uint64_t numel;          /* from the pickle */
    const uint8_t *data;     /* from the storage records */
    uint64_t have;           /* element count its record states */
    int listed;              /* in the storage list already */
} lstore;

typedef struct {
    const char *file;
    lstore *s; size_t count, cap;   /* open addressing on the key, cap a power of two */
    lstore **listed; size_t nlisted;   /* in the order of the storage list */
    const uint8_t *buf; size_t size, pos;
} lctx;

static uint64_t key_hash(const char *k, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)k[i]) * 0x100000001b3ull;
    return h;
}

/* The slot for key (n bytes): its entry, or the empty slot where it goes. */
static lstore *lslot(lctx *c, const char *k, size_t n)
{
    size_t i = (size_t)key_hash(k, n) & (c->cap - 1);
    while (c->s[i].key[0] && !(strlen(c->s[i].key) == n && !memcmp(c->s[i].key, k, n))) i = (i + 1) & (c->cap - 1);
    return &c->s[i];
}

static ax_status legacy_grow(lctx *c, ax_error *err)
{
    if (c->count + 1 <= c->cap / 2) return AX_OK;
    size_t cap = c->cap ? c->cap * 2 : 64;
    lstore *old = c->s;
    size_t oldcap = c->cap;
    c->s = calloc(cap, sizeof *c->s);
    if (!c->s) {
        c->s = old;
        return ax_fail(err, AX_ERR_NOMEM, "%s: out of memory", c->file);
    }
    c->cap = cap;
    for (size_t i = 0; i < oldcap; i++)
        if (old[i].key[0]) *lslot(c, old[i].key, strlen(old[i].key)) = old[i];
    free(old);
    return AX_OK;
}

/* First pass: note each storage's element size and count. */
static ax_status legacy_note(void *user, const char *key, size_t elsize, uint64_t numel, const uint8_t **data,
                             ax_error *err)
{
    lctx *c = user;
    ax_status st = legacy_grow(c, err);
    if (st) return st;
    lstore *s = lslot(c, key, strlen(key));
    if (s->key[0]) {
        if (s->elsize != elsize || s->numel != numel)
            return ax_fail(err, AX_ERR_FORMAT, "%s: storage '%s' is described twice, differently", c->file, key);
        return AX_OK;
    }
    snprintf(s->key, sizeof s->key, "%s", key);
    s->elsize = elsize;
    s->numel = numel;
    c->count++;
    return AX_OK;
}

/* Second pass: hand out the bytes the records hold. */
static ax_status legacy_bytes(void *user, const char *key, size_t elsize, uint64_t numel, const uint8_t **data,
                              ax_error *err)
{
    lctx *c = user;
    lstore *s = lslot(c, key, strlen(key));
    if (!s->key[0] || !s->data)
        return ax_fail(err, AX_ERR_FORMAT, "%s: storage '%s' is named by the pickle but not in the storage list",
                       c->file, key);
    if (s->have < numel)
        return ax_fail(err, AX_ERR_FORMAT, "%s: storage '%s' record holds %llu elements, the pickle says %llu",
                       c->file, key, (unsigned long long)s->have, (unsigned long long)numel);
    *data = s->data;
    return AX_OK;
}

/* The storage list, in order; each key is listed once and named by the pickle. */
static ax_status legacy_key(void *user, const char *key, size_t n, ax_error *err)
{
    lctx *c = user;
    lstore *s = c->cap ? lslot(c, key, n) : NULL;
    if (!s || !s->key[0])
        return ax_fail(err, AX_ERR_FORMAT, "%s: storage key '%.*s' is listed but no tensor names it", c->file,
                       (int)n, key);
    if (s->listed) return ax_fail(err, AX_ERR_FORMAT, "%s: storage key '%s' is listed twice", c->file, s->key);
    if (c->nlisted == c->count)
        return ax_fail(err, AX_ERR_FORMAT, "%s: more storages listed than the pickle names", c->file);
    s->listed = 1;
    c->listed[c->nlisted++] = s;
    return AX_OK;
}

/* Each listed storage's record (int64 element count, then the bytes)
 * follows the previous one. */
static ax_status legacy_record(lctx *c, lstore *s, ax_error *err)
{
    if (c->size - c->pos < 8)
        return ax_fail(err, AX_ERR_FORMAT, "%s: the record of storage '%s' at byte %zu is cut short (truncated)",
                       c->file, s->key, c->pos);
    uint64_t have = le64(c->buf + c->pos);
    c->pos += 8;
    if (have > (c->size - c->pos) / s->elsize)
        return ax_fail(err, AX_ERR_FORMAT, "%s: storage '%s' states %llu elements of %zu bytes at byte %zu, but "
                       "only %zu bytes remain (truncated)", c->file, s->key, (unsigned long long)have, s->elsize,
                       c->pos, c->size - c->pos);
    s->have = have;
    s->data = c->buf + c->pos;
    c->pos += (size_t)(have * s->elsize);
    return AX_OK;
}

static ax_status parse_legacy(ax_wfile *f, const uint8_t *b, size_t n, const char *file, ax_error *err)
{
    lctx c;
    memset(&c, 0, sizeof c);
    c.file = file;
    c.buf = b;
    c.size = n;
    size_t pos = sizeof legacy_magic, end = 0;
    ax_torch_meta proto = {.kind = AX_TORCH_META_INT};
    ax_status st = ax_pickle_torch_meta(f, b + pos, n - pos, pos, file, &proto, &end, err);
    if (!st && proto.value != 1001)
        st = ax_fail(err, AX_ERR_UNSUPPORTED, "%s: legacy torch.save protocol version %lld; version 1001 is read",
                     file, (long long)proto.value);
    pos += end;
    ax_torch_meta sys = {.kind = AX_TORCH_META_SYSINFO};
    if (!st) st = ax_pickle_torch_meta(f, b + pos, n - pos, pos, file, &sys, &end, err);
    if (!st && sys.little_endian == 0)
        st = ax_fail(err, AX_ERR_UNSUPPORTED, "%s: saved on a big-endian machine (system info little_endian=False); "
                     "only little-endian files are read", file);
    pos += end;
    size_t obj = pos;
    ax_torch_src note = {legacy_note, &c, 0};
    if (!st) st = ax_pickle_torch_load(f, b + obj, n - obj, obj, file, &note, &end, err);
    pos += end;
    ax_torch_meta keys = {.kind = AX_TORCH_META_KEYS, .key = legacy_key, .user = &c};
    if (!st && !(c.listed = calloc(c.count + 1, sizeof *c.listed)))
        st = ax_fail(err, AX_ERR_NOMEM, "%s: out of memory", file);
    if (!st) st = ax_pickle_torch_meta(f, b + pos, n - pos, pos, file, &keys, &end, err);
    c.pos = pos + end;
    if (!st && c.nlisted != c.count)
        st = ax_fail(err, AX_ERR_FORMAT, "%s: the pickle names %zu storages, the storage list has %zu", file, c.count,
                     c.nlisted);
    for (size_t i = 0; i < c.nlisted && !st; i++) st = legacy_record(&c, c.listed[i], err);
    if (!st) {
        ax_wfile_fact(f, "container: PyTorch legacy (torch.save with _use_new_zipfile_serialization=False)");
        ax_wfile_fact(f, "legacy protocol version %lld; system info: %s", (long long)proto.value,
                      sys.little_endian == 1 ? "little-endian" : "byte order not stated");
        ax_torch_src bytes = {legacy_bytes, &c, 1};
        st = ax_pickle_torch_load(f, b + obj, n - obj, obj, file, &bytes, NULL, err);
    }
    if (!st) {
        uint64_t total = 0;
        for (size_t i = 0; i < c.cap; i++)
            if (c.s[i].key[0]) total += c.s[i].have * c.s[i].elsize;
        ax_wfile_fact(f, "%zu storages, %llu bytes, used in place from the file", c.count, (unsigned long long)total);
        if (c.pos != n) ax_wfile_fact(f, "%zu bytes after the last storage are not read", n - c.pos);
        f->format = "torch-legacy";
    }
    free(c.s);
    free(c.listed);
    return st;
}

ax_status ax_torch_parse(ax_wfile *f, const void *data, size_t size, const char *file, ax_error *err)
{
    const uint8_t *buf = data;
    int first = f->count;
    size_t facts = f->facts_len;
    int kind = ax_torch_sniff(buf, size);
    ax_status st = kind == 2 ? parse_legacy(f, buf, size, file, err)
                 : kind == 1 ? parse_zip(f, buf, size, file, err)
                 : ax_fail(err, AX_ERR_FORMAT, "%s: not a PyTorch torch.save file", file);
    if (st) {
        ax_wfile_truncate(f, first);
        if (f->facts) f->facts[f->facts_len = facts] = 0;
    }
    return st;
}

ax_status ax_torch_bind(ax_wfile *f, const struct ax_net *net, char *notes, size_t notes_size, ax_error *err)
{
    if (notes && notes_size && f->facts && strstr(f->facts, AX_TORCH_MODULE_FACT)) {
        size_t len = strlen(notes);
        snprintf(notes + len, notes_size - len, "%s" AX_TORCH_MODULE_FACT, len ? "; " : "");
    }
    return AX_OK;
}
