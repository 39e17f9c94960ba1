/* NumPy .npy: magic, version, a Python-dict header (descr, fortran_order,
 * shape), then the data. Plain little-endian float arrays become one entry;
 * object arrays ('|O', e.g. bvlc_alexnet.npy) go to the pickle reader. */
#include "alexscope/weights.h"
#include "wfile_internal.h"
#include "alexscope/fileio.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char descr[32];
    int have_descr, have_fortran, have_shape;
    int fortran;
    int ndim;
    int64_t shape[AX_WMAX_DIMS];
} npy_header;

/* A cursor over the header text; every read checks it stays inside. */
typedef struct {
    const char *p, *end;
    const char *file;
    ax_error *err;
} cursor;

static void skip_ws(cursor *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r')) c->p++;
}

static ax_status bad(cursor *c, const char *what)
{
    char found[24];
    size_t n = 0;
    for (const char *q = c->p; q < c->end && n < 20; q++, n++)
        found[n] = *q >= 0x20 && *q < 0x7f ? *q : '?';
    found[n] = 0;
    return ax_fail(c->err, AX_ERR_FORMAT, "%s: .npy header: expected %s, found '%s'%s", c->file, what,
                   found, n ? "" : " (end of header)");
}

static int accept(cursor *c, char ch)
{
    skip_ws(c);
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return 1;
    }
    return 0;
}

static ax_status read_string(cursor *c, char *out, size_t size)
{
    skip_ws(c);
    if (c->p >= c->end || (*c->p != '\'' && *c->p != '"')) return bad(c, "a quoted string");
    char q = *c->p++;
    size_t n = 0;
    while (c->p < c->end && *c->p != q) {
        if (n + 1 >= size) return bad(c, "a shorter string");
        out[n++] = *c->p++;
    }
    if (c->p >= c->end) return bad(c, "the end of a string");
    c->p++;
    out[n] = 0;
    return AX_OK;
}

static int accept_word(cursor *c, const char *w)
{
    skip_ws(c);
    size_t n = strlen(w);
    if ((size_t)(c->end - c->p) >= n && memcmp(c->p, w, n) == 0) {
        c->p += n;
        return 1;
    }
    return 0;
}

/* "(3, 4)", "(5,)", "()"; Python 2 writers add an L to each: "(3L, 4L)". */
static ax_status read_shape(cursor *c, npy_header *h)
{
    if (!accept(c, '(')) return bad(c, "a shape tuple");
    h->ndim = 0;
    for (;;) {
        if (accept(c, ')')) break;
        skip_ws(c);
        if (c->p >= c->end || *c->p < '0' || *c->p > '9') return bad(c, "a dimension");
        uint64_t v = 0;
        while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
            v = v * 10 + (uint64_t)(*c->p++ - '0');
            if (v > (UINT64_C(1) << 50)) return bad(c, "a smaller dimension");
        }
        if (c->p < c->end && (*c->p == 'L' || *c->p == 'l')) c->p++;
        if (h->ndim == AX_WMAX_DIMS)
            return ax_fail(c->err, AX_ERR_UNSUPPORTED, "%s: .npy array has more than %d dimensions",
                           c->file, AX_WMAX_DIMS);
        h->shape[h->ndim++] = (int64_t)v;
        if (accept(c, ')')) break;
        if (!accept(c, ',')) return bad(c, "',' or ')' in the shape");
    }
    return AX_OK;
}

static ax_status parse_header(const char *text, size_t len, const char *file, npy_header *h, ax_error *err)
{
    cursor c = {text, text + len, file, err};
    memset(h, 0, sizeof *h);
    ax_status st;
    if (!accept(&c, '{')) return bad(&c, "'{'");
    for (;;) {
        if (accept(&c, '}')) break;
        char key[32];
        if ((st = read_string(&c, key, sizeof key))) return st;
        if (!accept(&c, ':')) return bad(&c, "':'");
        if (strcmp(key, "descr") == 0) {
            skip_ws(&c);
            if (c.p < c.end && *c.p == '[')
                return ax_fail(err, AX_ERR_UNSUPPORTED, "%s: .npy holds a structured (record) dtype; "
                               "only plain float arrays are read", file);
            if ((st = read_string(&c, h->descr, sizeof h->descr))) return st;
            h->have_descr = 1;
        } else if (strcmp(key, "fortran_order") == 0) {
            if (accept_word(&c, "True")) h->fortran = 1;
            else if (accept_word(&c, "False")) h->fortran = 0;
            else return bad(&c, "True or False");
            h->have_fortran = 1;
        } else if (strcmp(key, "shape") == 0) {
            if ((st = read_shape(&c, h))) return st;
            h->have_shape = 1;
        } else {
            return ax_fail(err, AX_ERR_FORMAT, "%s: .npy header has an unknown key '%s' (expected descr, "
                           "fortran_order and shape)", file, key);
        }
        if (accept(&c, '}')) break;
        if (!accept(&c, ',')) return bad(&c, "',' or '}'");
    }
    skip_ws(&c);
    if (c.p != c.end) return bad(&c, "only padding after the header dict");
    if (!h->have_descr || !h->have_fortran || !h->have_shape)
        return ax_fail(err, AX_ERR_FORMAT, "%s: .npy header lacks '%s'", file,
                       !h->have_descr ? "descr" : !h->have_fortran ? "fortran_order" : "shape");
    return AX_OK;
}

static void base_name(char *out, size_t size, const char *path)
{
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    const char *dot = strrchr(b, '.');
    size_t n = dot && dot != b ? (size_t)(dot - b) : strlen(b);
    if (n >= size) n = size - 1;
    memcpy(out, b, n);
    out[n] = 0;
    if (!out[0]) snprintf(out, size, "array");
}

int ax_npy_sniff(const uint8_t *b, size_t n)
{
    return n >= 6 && memcmp(b, "\x93NUMPY", 6) == 0;
}

ax_status ax_npy_parse(ax_wfile *f, const void *buf, size_t size, const char *name, ax_error *err)
{
    char entry[sizeof f->entries[0].name];
    base_name(entry, sizeof entry, name);
    return ax_npy_parse_as(f, buf, size, name, entry, 0, err);
}

ax_status ax_npy_parse_as(ax_wfile *f, const void *buf, size_t size, const char *file,
                          const char *entry, int prefix_pickled, ax_error *err)
{
    const uint8_t *b = buf;
    if (size < 10)
        return ax_fail(err, AX_ERR_FORMAT, "%s: truncated .npy: %zu bytes, the preamble alone needs 10",
                       file, size);
    if (memcmp(b, "\x93NUMPY", 6) != 0)
        return ax_fail(err, AX_ERR_FORMAT, "%s: bad .npy magic: expected \\x93NUMPY, found "
                       "%02x %02x %02x %02x %02x %02x", file, b[0], b[1], b[2], b[3], b[4], b[5]);
    size_t hstart, hlen;
    if (b[6] == 1) {
        hstart = 10;
        hlen = (size_t)b[8] | (size_t)b[9] << 8;
    } else if (b[6] == 2 || b[6] == 3) {
        if (size < 12)
            return ax_fail(err, AX_ERR_FORMAT, "%s: truncated .npy: %zu bytes, a version %d preamble needs 12",
                           file, size, b[6]);
        hstart = 12;
        hlen = (size_t)b[8] | (size_t)b[9] << 8 | (size_t)b[10] << 16 | (size_t)b[11] << 24;
    } else {
        return ax_fail(err, AX_ERR_UNSUPPORTED, "%s: .npy format version %d.%d; versions 1, 2 and 3 are read",
                       file, b[6], b[7]);
    }
    if (hlen > size - hstart)
        return ax_fail(err, AX_ERR_FORMAT, "%s: truncated .npy header: it claims %zu bytes, the file has "
                       "%zu after the preamble", file, hlen, size - hstart);
    npy_header h;
    ax_status st = parse_header((const char *)b + hstart, hlen, file, &h, err);
    if (st) return st;
    size_t dstart = hstart + hlen;
    char sh[160];
    ax_shape_str(sh, sizeof sh, h.ndim, h.shape);

    const char *d = h.descr;
    if (strcmp(d, "|O") == 0 || strcmp(d, "|O8") == 0 || strcmp(d, "|O4") == 0) {
        int first = f->count;
        st = ax_pickle_load(f, b + dstart, size - dstart, dstart, file, prefix_pickled ? entry : "", err);
        if (st) {
            ax_wfile_truncate(f, first);
            return st;
        }
        f->format = "npy";
        return AX_OK;
    }
    ax_wentry e;
    memset(&e, 0, sizeof e);
    if (d[0] == '>' && d[1])
        return ax_fail(err, AX_ERR_UNSUPPORTED, "%s: array '%s' is big-endian ('%s'); re-save it "
                       "little-endian (arr.astype('<%s'))", file, entry, d, d + 1);
    if (strcmp(d, "<f4") == 0) e.dtype = AX_DT_F32;
    else if (strcmp(d, "<f2") == 0) e.dtype = AX_DT_F16;
    else if (strcmp(d, "<f8") == 0) e.dtype = AX_DT_F64;
    else
        return ax_fail(err, AX_ERR_UNSUPPORTED, "%s: array '%s' has dtype '%s'; this reader accepts '<f4', "
                       "'<f2', '<f8' and pickled object arrays", file, entry, d);
    /* Fortran and C order lay out the same bytes when at most one dimension exceeds 1 */
    int big_dims = 0;
    for (int i = 0; i < h.ndim; i++) big_dims += h.shape[i] > 1;
    if (h.fortran && big_dims > 1)
        return ax_fail(err, AX_ERR_UNSUPPORTED, "%s: array '%s' %s is stored in Fortran (column-major) order; "
                       "re-save it with np.ascontiguousarray", file, entry, sh);
    uint64_t nbytes = ax_dtype_size(e.dtype);
    for (int i = 0; i < h.ndim; i++) {
        uint64_t v = (uint64_t)h.shape[i];
        if (v != 0 && nbytes > (UINT64_C(1) << 62) / v)
            return ax_fail(err, AX_ERR_FORMAT, "%s: array '%s' shape %s is too large to be real", file, entry, sh);
        nbytes *= v;
    }
    if (nbytes > size - dstart)
        return ax_fail(err, AX_ERR_FORMAT, "%s: truncated .npy data: array '%s' %s of '%s' needs %llu bytes, "
                       "found %zu", file, entry, sh, d, (unsigned long long)nbytes, size - dstart);
    size_t elen = strlen(entry);
    if (elen == 0 || elen >= sizeof e.name)
        return ax_fail(err, AX_ERR_UNSUPPORTED, "%s: entry name '%.40s' is empty or too long", file, entry);
    memcpy(e.name, entry, elen + 1);
    e.ndim = h.ndim;
    memcpy(e.shape, h.shape, sizeof e.shape);
    e.data = b + dstart;
    e.nbytes = (size_t)nbytes;
    st = ax_wfile_push(f, &e, file, err);
    if (st == AX_OK) f->format = "npy";
    return st;
}

ax_status ax_npy_write(const char *path, const float *data, int ndim, const int64_t *shape, ax_error *err)
{
    if (ndim < 0 || ndim > AX_WMAX_DIMS || (ndim > 0 && !shape))
        return ax_fail(err, AX_ERR_ARG, "%s: cannot write an array of %d dimensions (0..%d)",
                       path, ndim, AX_WMAX_DIMS);
    size_t n = 1;
    char dims[AX_WMAX_DIMS * 24 + 8] = "";
    size_t len = 0;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0 || shape[i] > (INT64_C(1) << 40))
            return ax_fail(err, AX_ERR_ARG, "%s: dimension %d has size %lld", path, i, (long long)shape[i]);
        n *= (size_t)shape[i];
        len += (size_t)snprintf(dims + len, sizeof dims - len, "%s%lld", i ? ", " : "", (long long)shape[i]);
    }
    if (ndim == 1) snprintf(dims + len, sizeof dims - len, ",");
    if (n && !data) return ax_fail(err, AX_ERR_ARG, "%s: no data to write", path);

    /* version 1.0: magic(6) + version(2) + header length(2) + header, the
     * header padded with spaces and ending in '\n' so the data starts on a
     * 64-byte boundary */
    char hdr[512];
    int hl = snprintf(hdr, sizeof hdr, "{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }", dims);
    size_t total = 10 + (size_t)hl + 1;
    size_t pad = (64 - total % 64) % 64;
    memset(hdr + hl, ' ', pad);
    hdr[(size_t)hl + pad] = '\n';
    size_t hlen = (size_t)hl + pad + 1;
    unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0,
                             (unsigned char)(hlen & 0xff), (unsigned char)(hlen >> 8)};

    ax_file_out out;
    ax_status st = ax_file_create(&out, path, err);
    if (st) return st;
    FILE *fp = out.fp;
    int ok = fwrite(pre, 1, 10, fp) == 10 && fwrite(hdr, 1, hlen, fp) == hlen &&
             (n == 0 || fwrite(data, sizeof(float), n, fp) == n);
    return ax_file_commit(&out, ok, err);
}
