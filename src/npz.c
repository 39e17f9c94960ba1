/* NumPy .npz: a zip (libzip) of .npy members, stored or deflated. Each member
 * is copied into a buffer the ax_wfile owns and read as an .npy; the entry is
 * the member name without ".npy". Nothing is written or extracted to disk. */
#include "alexscope/weights.h"
#include "wfile_internal.h"

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
        void *data = NULL;
        st = read_member(f, z, i, mname, (size_t)zs.size, name, &data, err);
        if (st) break;

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
    zip_discard(z);
    if (st) {
        ax_wfile_truncate(f, first);
        return st;
    }
    f->format = "npz";
    return AX_OK;
}
