/* NumPy .npz: a zip (libzip) of .npy members, stored or deflated; the entry is
 * the member name without ".npy". A stored member (what np.savez writes) is
 * read in place from buf, located through its local header; a deflated one is
 * inflated into a buffer the ax_wfile owns. Nothing is written to disk.
 * In-place members have their CRC-32 checked too (zlib's, a fraction of the
 * load time); sizes and the .npy header are checked. */
#include "alexscope/weights.h"
#include "wfile_internal.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zip.h>

/* Uncompressed bytes accepted from one member and from all of them
 * (README "Limits"); AlexNet's largest tensor, fc6 in float64, is 302 MB. */
#define AX_NPZ_MEMBER_MAX ((zip_uint64_t)1 << 30)
#define AX_NPZ_TOTAL_MAX ((zip_uint64_t)4 << 30)

static int ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), m = strlen(tail);
    return n >= m && strcmp(s + n - m, tail) == 0;
}

static uint64_t rd_le(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

/* The central directory as written in buf: for each record (in libzip's index
 * order) the local header offset and the name. Returns the number of records
 * walked (0 when the directory cannot be walked here, which only sends every
 * member down the inflating path; libzip has already judged the archive). */
typedef struct { uint64_t local; const uint8_t *name; size_t name_len; } cd_rec;

static size_t walk_directory(const uint8_t *b, size_t size, cd_rec *rec, size_t max)
{
    if (size < 22) return 0;
    size_t eocd = size - 22, stop = size - 22 > 65535 ? size - 22 - 65535 : 0;
    for (;; eocd--) {
        if (memcmp(b + eocd, "PK\x05\x06", 4) == 0) break;
        if (eocd == stop) return 0;
    }
    uint64_t count = rd_le(b + eocd + 10, 2), at = rd_le(b + eocd + 16, 4);
    if ((count == 0xffff || at == 0xffffffffu) && eocd >= 20 && memcmp(b + eocd - 20, "PK\x06\x07", 4) == 0) {
        uint64_t z64 = rd_le(b + eocd - 20 + 8, 8);
        if (size < 56 || z64 > size - 56 || memcmp(b + z64, "PK\x06\x06", 4) != 0) return 0;
        count = rd_le(b + z64 + 32, 8);
        at = rd_le(b + z64 + 48, 8);
    }
    size_t n = 0;
    for (; n < count && n < max; n++) {
        if (at > size || size - at < 46 || memcmp(b + at, "PK\x01\x02", 4) != 0) return 0;
        const uint8_t *r = b + at;
        size_t nlen = (size_t)rd_le(r + 28, 2), elen = (size_t)rd_le(r + 30, 2), clen = (size_t)rd_le(r + 32, 2);
        if (size - at - 46 < nlen + elen + clen) return 0;
        uint64_t local = rd_le(r + 42, 4);
        if (local == 0xffffffffu) {
            /* zip64 extra (tag 1): the 8-byte fields present are those whose
             * 32-bit field is all ones, in the order usize, csize, offset */
            int skip = (rd_le(r + 24, 4) == 0xffffffffu) + (rd_le(r + 20, 4) == 0xffffffffu);
            const uint8_t *x = r + 46 + nlen, *xe = x + elen;
            int found = 0;
            while (xe - x >= 4) {
                size_t tag = (size_t)rd_le(x, 2), len = (size_t)rd_le(x + 2, 2);
                if ((size_t)(xe - x - 4) < len) break;
                if (tag == 1 && len >= (size_t)(skip + 1) * 8) {
                    local = rd_le(x + 4 + 8 * skip, 8);
                    found = 1;
                    break;
                }
                x += 4 + len;
            }
            if (!found) return 0;
        }
        rec[n] = (cd_rec){local, r + 46, nlen};
        at += 46 + nlen + elen + clen;
    }
    return n;
}

/* Where stored member `r` (zs from libzip) starts in b, or 0 when it cannot be
 * used in place: its bytes must be uncompressed, unencrypted and inside b. */
static size_t stored_data_at(const uint8_t *b, size_t size, const cd_rec *r, const zip_stat_t *zs)
{
    if (!(zs->valid & ZIP_STAT_COMP_METHOD) || zs->comp_method != ZIP_CM_STORE) return 0;
    if (!(zs->valid & ZIP_STAT_COMP_SIZE) || zs->comp_size != zs->size) return 0;
    if ((zs->valid & ZIP_STAT_ENCRYPTION_METHOD) && zs->encryption_method != ZIP_EM_NONE) return 0;
    if (r->name_len != strlen(zs->name) || memcmp(r->name, zs->name, r->name_len) != 0) return 0;
    if (r->local > size || size - r->local < 30) return 0;
    const uint8_t *h = b + r->local;
    if (memcmp(h, "PK\x03\x04", 4) != 0 || (rd_le(h + 6, 2) & 1) || rd_le(h + 8, 2) != 0) return 0;
    uint64_t data = r->local + 30 + rd_le(h + 26, 2) + rd_le(h + 28, 2);
    if (data > size || size - data < zs->size) return 0;
    return (size_t)data;
}

/* Reads member i whole into a buffer f owns; checks the size and the CRC. */
static ax_status read_member(ax_wfile *f, zip_t *z, zip_int64_t i, const char *mname, size_t msize,
                             const char *file, void **out, ax_error *err)
{
    unsigned char *p = malloc(msize ? msize : 1);
    if (!p)
        return ax_fail(err, AX_ERR_NOMEM, "%s: member '%s' needs %zu bytes: out of memory", file, mname, msize);
    ax_status st = ax_wfile_own(f, p, err);
    if (st) return st;
    zip_file_t *zf = zip_fopen_index(z, (zip_uint64_t)i, 0);
    if (!zf)
        return ax_fail(err, AX_ERR_FORMAT, "%s: cannot read member '%s': %s", file, mname, zip_strerror(z));
    size_t got = 0;
    for (;;) {
        /* asking past the stated size makes libzip reach the end and check the CRC */
        unsigned char extra;
        zip_int64_t r = got < msize ? zip_fread(zf, p + got, msize - got) : zip_fread(zf, &extra, 1);
        if (r < 0) {
            st = ax_fail(err, AX_ERR_FORMAT, "%s: member '%s' is damaged: %s", file, mname,
                         zip_file_strerror(zf));
            break;
        }
        if (r == 0) break;
        if (got >= msize) {
            st = ax_fail(err, AX_ERR_FORMAT, "%s: member '%s' holds more than the %zu bytes its header states",
                         file, mname, msize);
            break;
        }
        got += (size_t)r;
    }
    zip_fclose(zf);
    if (st == AX_OK && got != msize)
        st = ax_fail(err, AX_ERR_FORMAT, "%s: member '%s' is truncated: %zu of %zu bytes", file, mname, got, msize);
    *out = p;
    return st;
}

/* A local file header, or the end record alone of an empty archive. */
int ax_npz_sniff(const uint8_t *b, size_t n)
{
    return n >= 4 && (memcmp(b, "PK\x03\x04", 4) == 0 || memcmp(b, "PK\x05\x06", 4) == 0);
}

ax_status ax_npz_parse(ax_wfile *f, const void *buf, size_t size, const char *name, ax_error *err)
{
    zip_error_t ze;
    zip_error_init(&ze);
    zip_source_t *src = zip_source_buffer_create(buf, size, 0, &ze);
    if (!src) {
        ax_status st = ax_fail(err, AX_ERR_NOMEM, "%s: cannot read the zip: %s", name, zip_error_strerror(&ze));
        zip_error_fini(&ze);
        return st;
    }
    zip_t *z = zip_open_from_source(src, ZIP_RDONLY, &ze);
    if (!z) {
        ax_status st = ax_fail(err, AX_ERR_FORMAT, "%s: not a readable .npz (zip) archive: %s", name,
                               zip_error_strerror(&ze));
        zip_source_free(src);
        zip_error_fini(&ze);
        return st;
    }
    zip_error_fini(&ze);

    int first = f->count;
    ax_status st = AX_OK;
    zip_int64_t n = zip_get_num_entries(z, 0);
    /* The sizes the directory declares are checked before anything is
     * inflated, so a small archive cannot make us produce gigabytes. */
    zip_uint64_t total = 0;
    for (zip_int64_t i = 0; i < n && st == AX_OK; i++) {
        zip_stat_t zs;
        if (zip_stat_index(z, (zip_uint64_t)i, 0, &zs) != 0 || !(zs.valid & ZIP_STAT_SIZE)) continue;
        const char *mname = zs.valid & ZIP_STAT_NAME ? zs.name : "?";
        if (zs.size > AX_NPZ_MEMBER_MAX)
            st = ax_fail(err, AX_ERR_FORMAT, "%s: member '%.200s' declares %llu bytes uncompressed; at most "
                         "%llu MiB per member are read", name, mname, (unsigned long long)zs.size,
                         (unsigned long long)(AX_NPZ_MEMBER_MAX >> 20));
        else if ((total += zs.size) > AX_NPZ_TOTAL_MAX)
            st = ax_fail(err, AX_ERR_FORMAT, "%s: the members declare more than %llu MiB uncompressed in "
                         "all (at member '%.200s'); that is the most read", name,
                         (unsigned long long)(AX_NPZ_TOTAL_MAX >> 20), mname);
    }
    cd_rec *rec = n > 0 && st == AX_OK ? calloc((size_t)n, sizeof *rec) : NULL;
    size_t walked = rec ? walk_directory(buf, size, rec, (size_t)n) : 0;
    for (zip_int64_t i = 0; i < n && st == AX_OK; i++) {
        zip_stat_t zs;
        if (zip_stat_index(z, (zip_uint64_t)i, 0, &zs) != 0 || !(zs.valid & ZIP_STAT_NAME) ||
            !(zs.valid & ZIP_STAT_SIZE)) {
            st = ax_fail(err, AX_ERR_FORMAT, "%s: member %lld of the archive is unreadable: %s", name,
                         (long long)i, zip_strerror(z));
            break;
        }
        const char *mname = zs.name;
        if (ends_with(mname, "/")) continue;
        if (!ends_with(mname, ".npy")) {
            st = ax_fail(err, AX_ERR_FORMAT, "%s: zip member '%s' is not an .npy, so this is no .npz%s", name,
                         mname, ends_with(mname, "data.pkl") ?
                         " (it looks like a PyTorch .pt/.pth file: convert it to safetensors)" : "");
            break;
        }
        const void *data = NULL;
        size_t at = (size_t)i < walked ? stored_data_at(buf, size, &rec[i], &zs) : 0;
        if (at) {
            data = (const uint8_t *)buf + at;
            /* libzip checks the CRC of what it inflates; in place, nobody
             * would (numpy refuses such files) */
            /* (the check hands back each part's pages as it goes: not all resident at once) */
            if ((zs.valid & ZIP_STAT_CRC) && ax_wfile_crc32(f, data, (size_t)zs.size) != zs.crc) {
                st = ax_fail(err, AX_ERR_FORMAT, "%s: member '%s' fails its CRC-32 check (damaged)", name, mname);
                break;
            }
        } else {
            void *copy = NULL;
            st = read_member(f, z, i, mname, (size_t)zs.size, name, &copy, err);
            if (st) break;
            data = copy;
        }

        /* the entry is named after the member's own name inside the archive */
        char entry[sizeof f->entries[0].name];
        size_t elen = strlen(mname) - 4;
        if (elen == 0 || elen >= sizeof entry) {
            st = ax_fail(err, AX_ERR_UNSUPPORTED, "%s: member name '%.60s' is empty or longer than %zu bytes",
                         name, mname, sizeof entry - 1);
            break;
        }
        memcpy(entry, mname, elen);
        entry[elen] = 0;
        char where[1200];
        snprintf(where, sizeof where, "%s:%s", name, mname);
        st = ax_npy_parse_as(f, data, (size_t)zs.size, where, entry, 1, err);
    }
    free(rec);
    zip_discard(z);
    if (st) {
        ax_wfile_truncate(f, first);
        return st;
    }
    f->format = "npz";
    /* when every member was inflated, the file's mapping is no longer needed */
    if (f->map == buf && f->map_size == size) ax_wfile_unmap_unused(f);
    return AX_OK;
}
