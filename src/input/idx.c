/* The IDX reader: unsigned-byte image and label files, plain or gzip, every
 * header field checked against what this reader handles and against the
 * bytes that follow it. It knows nothing of classes or nets: the data set
 * (src/model/train.c) pairs images with labels and checks their values. */
#include "alexscope/idx.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "alexscope/fileio.h"

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The declared element count from a complete header, or an error. */
static ax_status check_header(const unsigned char *h, size_t have, int want_ndim, const char *name, int dims[3],
                              size_t *elems, ax_error *err)
{
    const char *what = want_ndim == 1 ? "label" : "image";
    if (have < 4)
        return ax_fail(err, AX_ERR_FORMAT, "%s: %zu bytes: too short for an IDX %s file (it starts with a 4-byte "
                       "magic)", name, have, what);
    uint32_t magic = be32(h);
    uint32_t want = 0x00000800u | (uint32_t)want_ndim;
    if (magic != want) {
        if ((magic >> 16) == 0 && (magic & 0xff) >= 1 && (magic & 0xff) <= 8 && ((magic >> 8) & 0xff) == 0x08)
            return ax_fail(err, AX_ERR_FORMAT, "%s: an IDX file of %u dimensions; an IDX %s file has %d (magic "
                           "0x%08X)", name, magic & 0xff, what, want_ndim, want);
        if ((magic >> 16) == 0 && ((magic >> 8) & 0xff) >= 0x09 && ((magic >> 8) & 0xff) <= 0x0E)
            return ax_fail(err, AX_ERR_UNSUPPORTED, "%s: IDX elements of type 0x%02X; only unsigned bytes (0x08) "
                           "are read", name, (magic >> 8) & 0xff);
        return ax_fail(err, AX_ERR_FORMAT, "%s: not an IDX %s file (magic 0x%08X, expected 0x%08X)", name, what,
                       magic, want);
    }
    size_t hsize = 4 + 4 * (size_t)want_ndim;
    if (have < hsize)
        return ax_fail(err, AX_ERR_FORMAT, "%s: truncated: %zu bytes, the IDX header alone is %zu", name, have,
                       hsize);
    size_t n = 1;
    static const char *const dname[3] = {"count", "rows", "columns"};
    for (int d = 0; d < want_ndim; d++) {
        uint32_t v = be32(h + 4 + 4 * d);
        uint32_t lim = d == 0 ? AX_IDX_MAX_COUNT : AX_IDX_MAX_SIDE;
        if (v < 1 || v > lim)
            return ax_fail(err, AX_ERR_FORMAT, "%s: the %s %s is %u; 1..%u is read", name, what, dname[d], v, lim);
        dims[d] = (int)v;
        n *= v;
    }
    if (n > AX_IDX_MAX_BYTES)
        return ax_fail(err, AX_ERR_FORMAT, "%s: %zu bytes of elements declared; more than the %zu MB this reader "
                       "takes", name, n, AX_IDX_MAX_BYTES >> 20);
    *elems = n;
    return AX_OK;
}

/* Inflates a gzip stream into a buffer that grows as output arrives, never
 * beyond cap + 1 bytes (one past is enough to know the data runs over). */
static ax_status gunzip(unsigned char **out, size_t *outn, const unsigned char *in, size_t n, size_t cap,
                        const char *name, ax_error *err)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) return ax_fail(err, AX_ERR_NOMEM, "%s: zlib: out of memory", name);
    size_t size = 0, alloc = 0;
    unsigned char *buf = NULL;
    ax_status st = AX_OK;
    zs.next_in = (unsigned char *)in;
    int rc = Z_OK;
    while (rc != Z_STREAM_END) {
        if (size == alloc) {
            if (alloc > cap) break;
            size_t na = alloc ? alloc * 2 : 1 << 16;
            if (na > cap + 1) na = cap + 1;
            unsigned char *nb = realloc(buf, na);
            if (!nb) { st = ax_fail(err, AX_ERR_NOMEM, "%s: out of memory decompressing", name); break; }
            buf = nb;
            alloc = na;
        }
        /* zlib's counters are 32-bit: feed at most 1 GB at a time */
        size_t left_in = n - (size_t)(zs.next_in - in);
        zs.avail_in = left_in > (1u << 30) ? 1u << 30 : (unsigned)left_in;
        zs.next_out = buf + size;
        size_t room = alloc - size;
        zs.avail_out = room > (1u << 30) ? 1u << 30 : (unsigned)room;
        unsigned before = zs.avail_out;
        rc = inflate(&zs, Z_NO_FLUSH);
        size += before - zs.avail_out;
        if (rc == Z_STREAM_END) break;
        if (rc == Z_BUF_ERROR && zs.avail_in == 0 && left_in <= (1u << 30)) {
            st = ax_fail(err, AX_ERR_FORMAT, "%s: the gzip stream ends early (a truncated download?)", name);
            break;
        }
        if (rc != Z_OK && rc != Z_BUF_ERROR) {
            st = ax_fail(err, AX_ERR_FORMAT, "%s: damaged gzip data (zlib: %s)", name, zs.msg ? zs.msg : "error");
            break;
        }
        if (size > cap) break;
    }
    inflateEnd(&zs);
    if (st) { free(buf); return st; }
    *out = buf;
    *outn = size;
    return AX_OK;
}

ax_status ax_idx_parse(ax_idx *out, const unsigned char *bytes, size_t size, int want_ndim, const char *name,
                       ax_error *err)
{
    memset(out, 0, sizeof *out);
    if (want_ndim != 1 && want_ndim != 3) return ax_fail(err, AX_ERR_ARG, "%s: IDX of %d dimensions", name, want_ndim);
    unsigned char *plain = NULL;
    size_t n = size;
    const unsigned char *p = bytes;
    if (size >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b) {
        /* The header's worst case bounds the output: dimensions, elements, one over. */
        ax_status st = gunzip(&plain, &n, bytes, size, 16 + AX_IDX_MAX_BYTES, name, err);
        if (st) return st;
        p = plain;
    }
    int dims[3] = {0, 0, 0};
    size_t elems = 0;
    ax_status st = check_header(p, n, want_ndim, name, dims, &elems, err);
    size_t hsize = 4 + 4 * (size_t)want_ndim;
    if (!st && n - hsize != elems) {
        const char *what = want_ndim == 1 ? "labels" : "images";
        if (n - hsize < elems)
            st = ax_fail(err, AX_ERR_FORMAT, "%s: truncated: the header declares %d %s (%zu bytes), the file holds "
                         "%zu bytes after the header", name, dims[0], what, elems, n - hsize);
        else
            st = ax_fail(err, AX_ERR_FORMAT, "%s: %zu bytes after the %d %s the header declares (a count that is "
                         "too small, or another file appended?)", name, n - hsize - elems, dims[0], what);
    }
    if (!st) {
        out->data = malloc(elems ? elems : 1);
        if (!out->data) st = ax_fail(err, AX_ERR_NOMEM, "%s: out of memory", name);
    }
    if (!st) {
        memcpy(out->data, p + hsize, elems);
        out->ndim = want_ndim;
        for (int d = 0; d < 3; d++) out->dims[d] = dims[d];
    }
    free(plain);
    return st;
}

ax_status ax_idx_load(ax_idx *out, const char *path, int want_ndim, ax_error *err)
{
    memset(out, 0, sizeof *out);
    char *buf = NULL;
    size_t size = 0;
    ax_status st = ax_file_slurp(path, want_ndim == 1 ? "IDX label file" : "IDX image file", 16 + AX_IDX_MAX_BYTES,
                                 &buf, &size, err);
    if (st) return st;
    st = ax_idx_parse(out, (const unsigned char *)buf, size, want_ndim, path, err);
    free(buf);
    return st;
}

void ax_idx_free(ax_idx *x)
{
    free(x->data);
    memset(x, 0, sizeof *x);
}
