/* Check suite "weights": the safetensors, .npy, .npz and pickle readers and
 * both writers, on files made here, files numpy made (tests/fixtures/weights,
 * see make_weight_fixtures.py) and damaged files, which must fail with a
 * status and a message naming the problem, never crash. */
#include "config.h"
#include "alexscope/weights.h"
#include "weights/wfile_internal.h"
#include "check_util.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include <zip.h>

/* ---- helpers ------------------------------------------------------------ */

static char tmpdir[64];

static void make_tmpdir(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/ax_check_weights_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void remove_tmpdir(void)
{
    DIR *d = opendir(tmpdir);
    if (!d) return;
    struct dirent *e;
    char path[512];
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        snprintf(path, sizeof path, "%s/%s", tmpdir, e->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(tmpdir);
}

/* A path in the test's own folder; four can be alive at once. */
static const char *tmp(const char *name)
{
    static char bufs[4][512];
    static int next;
    char *b = bufs[next++ % 4];
    snprintf(b, sizeof bufs[0], "%s/%s", tmpdir, name);
    return b;
}

static void write_bytes(const char *path, const void *data, size_t n)
{
    FILE *fp = fopen(path, "wb");
    ck_assert_ptr_nonnull(fp);
    ck_assert_uint_eq(fwrite(data, 1, n, fp), n);
    ck_assert_int_eq(fclose(fp), 0);
}

/* The whole file in an exact-size heap buffer (so valgrind sees over-reads). */
static unsigned char *read_bytes(const char *path, size_t *n)
{
    FILE *fp = fopen(path, "rb");
    ck_assert_msg(fp != NULL, "cannot open %s", path);
    fseek(fp, 0, SEEK_END);
    long len = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    unsigned char *b = malloc(len > 0 ? (size_t)len : 1);
    ck_assert_ptr_nonnull(b);
    ck_assert_uint_eq(fread(b, 1, (size_t)len, fp), (size_t)len);
    fclose(fp);
    *n = (size_t)len;
    return b;
}

static unsigned char *fixture_bytes(const char *name, size_t *n)
{
    char path[1024];
    snprintf(path, sizeof path, "%s", ax_fixture(name));
    return read_bytes(path, n);
}

static ax_wfile *new_wfile(void)
{
    ax_wfile *f = calloc(1, sizeof *f);
    ck_assert_ptr_nonnull(f);
    return f;
}

/* The fixture script's values: exact in float16, float32 and float64. */
static float fval(int k, size_t i)
{
    return (float)((double)((37 * i + 11 * (size_t)k) % 101) / 64.0 - 0.75);
}

/* Checks name, dtype, shape and every value (exactly) of one entry. */
static void expect_entry(const ax_wfile *f, const char *name, ax_dtype dt, int ndim, const int64_t *shape,
                         int k)
{
    const ax_wentry *e = ax_wfile_find(f, name);
    ck_assert_msg(e != NULL, "%s: no entry '%s' (count %d)", f->path, name, f->count);
    ck_assert_msg(e->dtype == dt, "'%s': dtype %s, expected %s", name, ax_dtype_name(e->dtype), ax_dtype_name(dt));
    ck_assert_int_eq(e->ndim, ndim);
    size_t n = 1;
    for (int i = 0; i < ndim; i++) {
        ck_assert_msg(e->shape[i] == shape[i], "'%s' shape[%d] = %lld, expected %lld", name, i,
                      (long long)e->shape[i], (long long)shape[i]);
        n *= (size_t)shape[i];
    }
    ck_assert_uint_eq(ax_wentry_numel(e), n);
    ck_assert_uint_eq(e->nbytes, n * ax_dtype_size(dt));
    float *got = malloc(n * sizeof *got + 1), *want = malloc(n * sizeof *want + 1);
    for (size_t i = 0; i < n; i++) want[i] = fval(k, i);
    ax_wentry_to_f32(e, got);
    check_close(got, want, n, 0.0, 0.0, name);
    free(got);
    free(want);
}

static void expect_fail(ax_status got, const ax_error *err, ax_status want, const char *must1, const char *must2)
{
    ck_assert_msg(got == want, "status %s (%s), expected %s", ax_status_name(got), err->msg, ax_status_name(want));
    ck_assert_msg(err->code == want, "err.code %d, expected %d", err->code, want);
    if (must1) ck_assert_msg(strstr(err->msg, must1), "message '%s' lacks '%s'", err->msg, must1);
    if (must2) ck_assert_msg(strstr(err->msg, must2), "message '%s' lacks '%s'", err->msg, must2);
}

/* An .npy v1.0 in memory, built here independently of ax_npy_write. */
static unsigned char *make_npy(const char *descr, int fortran, const char *shape, const void *data, size_t dn,
                               size_t *n)
{
    char hdr[256];
    int hl = snprintf(hdr, sizeof hdr, "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }", descr,
                      fortran ? "True" : "False", shape);
    size_t hlen = (size_t)hl + 1;
    while ((10 + hlen) % 64) hlen++;
    unsigned char *b = malloc(10 + hlen + dn + 1);
    memcpy(b, "\x93NUMPY\x01\x00", 8);
    b[8] = (unsigned char)(hlen & 0xff);
    b[9] = (unsigned char)(hlen >> 8);
    memset(b + 10, ' ', hlen);
    memcpy(b + 10, hdr, (size_t)hl);
    b[10 + hlen - 1] = '\n';
    if (dn) memcpy(b + 10 + hlen, data, dn);
    *n = 10 + hlen + dn;
    return b;
}

/* A safetensors file in memory: header length, JSON, data. */
static unsigned char *make_st(const char *json, const void *data, size_t dn, size_t *n)
{
    size_t jl = strlen(json);
    unsigned char *b = malloc(8 + jl + dn + 1);
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)((uint64_t)jl >> (8 * i));
    memcpy(b + 8, json, jl);
    if (dn) memcpy(b + 8 + jl, data, dn);
    *n = 8 + jl + dn;
    return b;
}

static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* ---- conversions -------------------------------------------------------- */

/* Reference: the binary16 definition with ldexp, a different route from the bit moves. */
static double half_ref(uint16_t h)
{
    int sign = h >> 15, e = (h >> 10) & 31, m = h & 1023;
    double v = e == 0 ? ldexp(m, -24) : e == 31 ? (m ? NAN : INFINITY) : ldexp(1024 + m, e - 25);
    return sign ? -v : v;
}

START_TEST(test_half_to_float)
{
    for (uint32_t h = 0; h < 65536; h++) {
        float got = ax_half_to_float((uint16_t)h);
        double ref = half_ref((uint16_t)h);
        if (isnan(ref)) {
            ck_assert_msg(isnan(got), "half 0x%04x: %g, expected NaN", h, got);
        } else {
            ck_assert_msg((double)got == ref && !signbit(got) == !signbit(ref),
                          "half 0x%04x: %.9g, expected %.9g", h, got, ref);
        }
    }
    ck_assert(ax_half_to_float(0x3c00) == 1.0f);
    ck_assert(ax_half_to_float(0xc000) == -2.0f);
    ck_assert(ax_half_to_float(0x7bff) == 65504.0f);
    ck_assert(ax_half_to_float(0x0001) == 5.9604644775390625e-08f);    /* smallest subnormal */
    ck_assert(ax_half_to_float(0x03ff) == 6.0975551605224609375e-05f); /* largest subnormal */
    ck_assert(ax_half_to_float(0x0400) == 6.103515625e-05f);           /* smallest normal */
    ck_assert(isinf(ax_half_to_float(0x7c00)) && ax_half_to_float(0x7c00) > 0);
    ck_assert(isinf(ax_half_to_float(0xfc00)) && ax_half_to_float(0xfc00) < 0);
    ck_assert(isnan(ax_half_to_float(0x7e00)) && isnan(ax_half_to_float(0xfc01)));
    ck_assert(ax_half_to_float(0x8000) == 0.0f && signbit(ax_half_to_float(0x8000)));
}
END_TEST

static double bf16_ref(uint16_t h)
{
    int sign = h >> 15, e = (h >> 7) & 255, m = h & 127;
    double v = e == 0 ? ldexp(m, -133) : e == 255 ? (m ? NAN : INFINITY) : ldexp(128 + m, e - 134);
    return sign ? -v : v;
}

START_TEST(test_bf16_to_float)
{
    for (uint32_t h = 0; h < 65536; h++) {
        float got = ax_bf16_to_float((uint16_t)h);
        double ref = bf16_ref((uint16_t)h);
        if (isnan(ref)) ck_assert_msg(isnan(got), "bf16 0x%04x: %g, expected NaN", h, got);
        else ck_assert_msg((double)got == ref, "bf16 0x%04x: %.9g, expected %.9g", h, got, ref);
    }
    ck_assert(ax_bf16_to_float(0x3f80) == 1.0f);
    ck_assert(ax_bf16_to_float(0x4049) == 3.140625f);
    ck_assert(ax_bf16_to_float(0xc2f7) == -123.5f);
}
END_TEST

START_TEST(test_dtype_names)
{
    ck_assert_str_eq(ax_dtype_name(AX_DT_F32), "F32");
    ck_assert_str_eq(ax_dtype_name(AX_DT_F16), "F16");
    ck_assert_str_eq(ax_dtype_name(AX_DT_BF16), "BF16");
    ck_assert_str_eq(ax_dtype_name(AX_DT_F64), "F64");
    ck_assert_uint_eq(ax_dtype_size(AX_DT_F32), 4);
    ck_assert_uint_eq(ax_dtype_size(AX_DT_F16), 2);
    ck_assert_uint_eq(ax_dtype_size(AX_DT_BF16), 2);
    ck_assert_uint_eq(ax_dtype_size(AX_DT_F64), 8);
}
END_TEST

/* ---- writers, read back ------------------------------------------------- */

START_TEST(test_npy_roundtrip)
{
    static const struct { const char *file, *entry; int ndim; int64_t shape[4]; const char *text; } cases[] = {
        {"scalar.npy", "scalar", 0, {0}, "'shape': ()"},
        {"vec.npy", "vec", 1, {5}, "'shape': (5,)"},
        {"conv.w.npy", "conv.w", 4, {2, 3, 4, 5}, "'shape': (2, 3, 4, 5)"},
        {"empty.npy", "empty", 2, {0, 3}, "'shape': (0, 3)"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        size_t n = 1;
        for (int i = 0; i < cases[c].ndim; i++) n *= (size_t)cases[c].shape[i];
        float *x = malloc(n * sizeof *x + 4);
        ax_fill_uniform(x, n, -3.0f, 3.0f, 10 + c);
        ax_error err = {0};
        const char *path = tmp(cases[c].file);
        ck_assert_int_eq(ax_npy_write(path, x, cases[c].ndim, cases[c].shape, &err), AX_OK);

        size_t len;
        unsigned char *raw = read_bytes(path, &len);
        ck_assert(memcmp(raw, "\x93NUMPY\x01\x00", 8) == 0);
        size_t hlen = raw[8] | (size_t)raw[9] << 8;
        ck_assert_uint_eq((10 + hlen) % 64, 0);
        ck_assert_uint_eq(len, 10 + hlen + 4 * n);
        ck_assert_int_eq(raw[10 + hlen - 1], '\n');
        char *hdr = strndup((const char *)raw + 10, hlen);
        ck_assert_msg(strstr(hdr, "{'descr': '<f4', 'fortran_order': False, ") == hdr, "header '%s'", hdr);
        ck_assert_msg(strstr(hdr, cases[c].text), "header '%s' lacks %s", hdr, cases[c].text);
        ck_assert(n == 0 || memcmp(raw + 10 + hlen, x, 4 * n) == 0);
        free(hdr);
        free(raw);

        ax_wfile *f = NULL;
        ck_assert_int_eq(ax_wfile_open(&f, path, &err), AX_OK);
        ck_assert_str_eq(f->format, "npy");
        ck_assert_int_eq(f->count, 1);
        ck_assert_str_eq(f->entries[0].name, cases[c].entry);
        ck_assert_int_eq(f->entries[0].dtype, AX_DT_F32);
        ck_assert_int_eq(f->entries[0].ndim, cases[c].ndim);
        for (int i = 0; i < cases[c].ndim; i++) ck_assert_int_eq(f->entries[0].shape[i], cases[c].shape[i]);
        float *y = malloc(n * sizeof *y + 4);
        ax_wentry_to_f32(&f->entries[0], y);
        check_close(y, x, n, 0.0, 0.0, cases[c].file);
        ax_wfile_close(f);
        free(x);
        free(y);
    }
}
END_TEST

/* ax_wfile_read/readv copy the file's bytes with pread, over more buffers
 * than one preadv takes (64 here), and from memory for bytes outside the
 * mapping or once the file is closed: the same bytes every way. */
START_TEST(test_wfile_pread)
{
    float w[3000];
    ax_fill_uniform(w, 3000, -1, 1, 9);
    ax_wout t[1] = { {"w", w, 1, {3000}} };
    ax_error err = {0};
    const char *path = tmp("pread.safetensors");
    ck_assert_int_eq(ax_safetensors_write(path, t, 1, &err), AX_OK);
    ax_wfile *f = NULL;
    ck_assert_int_eq(ax_wfile_open(&f, path, &err), AX_OK);
    const ax_wentry *e = ax_wfile_find(f, "w");
    ck_assert_ptr_nonnull(e);
    ck_assert(ax_wfile_readable(f, e->data, e->nbytes));
    ck_assert(!ax_wfile_readable(f, e->data, f->map_size + 1));
    ck_assert(!ax_wfile_readable(f, w, 4));
    static float got[3000 + 200];
    for (int pass = 0; pass < 2; pass++) {
        /* 150 buffers of 20 floats, 1 to 3 floats apart, the first 7 bytes in */
        memset(got, 0, sizeof got);
        struct iovec iov[150];
        const unsigned char *src = (const unsigned char *)e->data + 7;
        size_t at = 0, total = 0;
        for (int i = 0; i < 150; i++) {
            size_t len = i == 149 ? 20 * 4 - 7 : 20 * 4;
            iov[i] = (struct iovec){ (char *)got + at, len };
            at += len + 4 * (1 + i % 3);
            total += len;
        }
        int by_file = ax_wfile_readv(f, src, iov, 150);
        ck_assert_int_eq(by_file, pass == 0);
        size_t off = 0;
        for (int i = 0; i < 150; i++) {
            ck_assert_msg(!memcmp(iov[i].iov_base, src + off, iov[i].iov_len), "buffer %d differs (pass %d)", i, pass);
            off += iov[i].iov_len;
        }
        ck_assert_uint_eq(off, total);
        float one[10];
        ck_assert_int_eq(ax_wfile_read(f, e->data, sizeof one, one), pass == 0);
        ck_assert(!memcmp(one, w, sizeof one));
        ax_wfile_forget_fd(f);   /* the second pass: from memory */
    }
    ax_wfile_close(f);
}
END_TEST

START_TEST(test_safetensors_roundtrip)
{
    float w[4 * 3 * 2 * 2], b[4], s[1], *none = NULL;
    ax_fill_uniform(w, 48, -1, 1, 1);
    ax_fill_uniform(b, 4, -1, 1, 2);
    s[0] = 42.5f;
    ax_wout t[4] = {
        {"conv1.weight", w, 4, {4, 3, 2, 2}},
        {"conv1.bias", b, 1, {4}},
        {"scale", s, 0, {0}},
        {"unused", none, 2, {0, 5}},
    };
    ax_error err = {0};
    const char *path = tmp("rt.safetensors");
    ck_assert_int_eq(ax_safetensors_write(path, t, 4, &err), AX_OK);

    size_t len;
    unsigned char *raw = read_bytes(path, &len);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = hlen << 8 | raw[i];
    ck_assert_uint_eq(hlen % 8, 0);
    ck_assert_uint_eq(len, 8 + hlen + 4 * (48 + 4 + 1));
    ck_assert_int_eq(raw[8], '{');
    free(raw);

    ax_wfile *f = NULL;
    ck_assert_int_eq(ax_wfile_open(&f, path, &err), AX_OK);
    ck_assert_str_eq(f->format, "safetensors");
    ck_assert_int_eq(f->count, 4);
    for (int k = 0; k < 4; k++) {
        const ax_wentry *e = ax_wfile_find(f, t[k].name);
        ck_assert_msg(e != NULL, "no '%s'", t[k].name);
        ck_assert_int_eq(e->dtype, AX_DT_F32);
        ck_assert_int_eq(e->ndim, t[k].ndim);
        size_t n = 1;
        for (int i = 0; i < t[k].ndim; i++) {
            ck_assert_int_eq(e->shape[i], t[k].shape[i]);
            n *= (size_t)t[k].shape[i];
        }
        ck_assert_uint_eq(ax_wentry_numel(e), n);
        float y[48];
        ax_wentry_to_f32(e, y);
        if (n) check_close(y, t[k].data, n, 0.0, 0.0, t[k].name);
    }
    ck_assert_ptr_null(ax_wfile_find(f, "conv2.weight"));
    ax_wfile_close(f);
}
END_TEST

START_TEST(test_writer_errors)
{
    ax_error err = {0};
    float x[4] = {0};
    int64_t shape[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    expect_fail(ax_npy_write("/nonexistent-dir/x.npy", x, 1, shape, &err), &err, AX_ERR_IO,
                "/nonexistent-dir/x.npy", NULL);
    expect_fail(ax_npy_write(tmp("x.npy"), x, 9, shape, &err), &err, AX_ERR_ARG, "9 dimensions", NULL);
    ax_wout t[2] = {{"a", x, 1, {2}}, {"a", x, 1, {2}}};
    expect_fail(ax_safetensors_write(tmp("d.safetensors"), t, 2, &err), &err, AX_ERR_ARG, "'a' given twice", NULL);
    ax_wout m[1] = {{"__metadata__", x, 1, {2}}};
    expect_fail(ax_safetensors_write(tmp("m.safetensors"), m, 1, &err), &err, AX_ERR_ARG, "reserved", NULL);
}
END_TEST

/* ---- safetensors with every dtype --------------------------------------- */

START_TEST(test_safetensors_dtypes)
{
    /* data: F16 (2,3) at 0..12, F32 (2) at 12..20, BF16 (4) at 20..28, F64 (2)
     * at 28..44 (deliberately not 8-aligned) */
    static const uint16_t f16[6] = {0x3c00, 0xc000, 0x3555, 0x0001, 0x7bff, 0x8000};
    static const float f16_want[6] = {1.0f, -2.0f, 0.333251953125f, 5.9604644775390625e-08f, 65504.0f, -0.0f};
    static const float f32[2] = {0.1f, -7.25f};
    static const uint16_t bf16[4] = {0x3f80, 0x4049, 0xc2f7, 0x0080};
    static const float bf16_want[4] = {1.0f, 3.140625f, -123.5f, 1.17549435082228750797e-38f};
    static const double f64[2] = {0.1, -1e300};
    static const float f64_want[2] = {0.1f, -INFINITY};
    unsigned char data[44];
    memcpy(data, f16, 12);
    memcpy(data + 12, f32, 8);
    memcpy(data + 20, bf16, 8);
    memcpy(data + 28, f64, 16);
    const char *json =
        "{\"__metadata__\": {\"format\": \"pt\"},"
        " \"h\": {\"dtype\": \"F16\", \"shape\": [2, 3], \"data_offsets\": [0, 12]},"
        " \"f\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [12, 20]},"
        " \"bf\": {\"dtype\": \"BF16\", \"shape\": [4], \"data_offsets\": [20, 28]},"
        " \"d\": {\"dtype\": \"F64\", \"shape\": [2], \"data_offsets\": [28, 44]}}   ";
    size_t n;
    unsigned char *buf = make_st(json, data, sizeof data, &n);
    write_bytes(tmp("all.safetensors"), buf, n);
    free(buf);

    ax_error err = {0};
    ax_wfile *f = NULL;
    ck_assert_int_eq(ax_wfile_open(&f, tmp("all.safetensors"), &err), AX_OK);
    ck_assert_int_eq(f->count, 4);
    ck_assert_ptr_null(ax_wfile_find(f, "__metadata__"));
    float got[6];
    const ax_wentry *e = ax_wfile_find(f, "h");
    ck_assert(e && e->dtype == AX_DT_F16 && e->ndim == 2 && e->shape[0] == 2 && e->shape[1] == 3);
    ax_wentry_to_f32(e, got);
    check_close(got, f16_want, 6, 0.0, 0.0, "F16");
    ck_assert(signbit(got[5]));
    e = ax_wfile_find(f, "f");
    ck_assert(e && e->dtype == AX_DT_F32 && e->ndim == 1 && e->shape[0] == 2);
    ax_wentry_to_f32(e, got);
    check_close(got, f32, 2, 0.0, 0.0, "F32");
    e = ax_wfile_find(f, "bf");
    ck_assert(e && e->dtype == AX_DT_BF16 && e->shape[0] == 4);
    ax_wentry_to_f32(e, got);
    check_close(got, bf16_want, 4, 0.0, 0.0, "BF16");
    e = ax_wfile_find(f, "d");
    ck_assert(e && e->dtype == AX_DT_F64 && e->shape[0] == 2 && e->nbytes == 16);
    ax_wentry_to_f32(e, got);
    ck_assert(got[0] == f64_want[0] && got[1] == f64_want[1]);
    ax_wfile_close(f);
}
END_TEST

/* ---- numpy-made fixtures ------------------------------------------------ */

static ax_wfile *open_fixture(const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s", ax_fixture(name));
    ax_wfile *f = NULL;
    ax_error err = {0};
    ax_status st = ax_wfile_open(&f, path, &err);
    ck_assert_msg(st == AX_OK, "%s: %s", name, err.msg);
    return f;
}

START_TEST(test_npy_fixtures)
{
    ax_wfile *f = open_fixture("weights/plain_f4.npy");
    ck_assert_int_eq(f->count, 1);
    expect_entry(f, "plain_f4", AX_DT_F32, 3, (int64_t[]){2, 3, 4}, 5);
    ax_wfile_close(f);
    f = open_fixture("weights/plain_f2.npy");
    expect_entry(f, "plain_f2", AX_DT_F16, 2, (int64_t[]){3, 5}, 6);
    ax_wfile_close(f);
    f = open_fixture("weights/plain_f8.npy");
    expect_entry(f, "plain_f8", AX_DT_F64, 1, (int64_t[]){7}, 7);
    ax_wfile_close(f);
}
END_TEST

START_TEST(test_npz_fixtures)
{
    static const char *files[] = {"weights/arrays_stored.npz", "weights/arrays_deflated.npz"};
    static const zip_int32_t methods[] = {ZIP_CM_STORE, ZIP_CM_DEFLATE};
    for (int k = 0; k < 2; k++) {
        /* make sure each fixture really uses the compression method it stands for */
        char path[1024];
        snprintf(path, sizeof path, "%s", ax_fixture(files[k]));
        int zerr = 0;
        zip_t *z = zip_open(path, ZIP_RDONLY, &zerr);
        ck_assert_ptr_nonnull(z);
        zip_stat_t zs;
        ck_assert_int_eq(zip_stat(z, "w.npy", 0, &zs), 0);
        ck_assert_int_eq(zs.comp_method, methods[k]);
        zip_discard(z);

        ax_wfile *f = open_fixture(files[k]);
        ck_assert_str_eq(f->format, "npz");
        ck_assert_int_eq(f->count, 2);
        if (methods[k] == ZIP_CM_STORE) {
            /* stored members are read in place: every entry lies inside the mapping */
            ck_assert_ptr_nonnull(f->map);
            for (int i = 0; i < f->count; i++) {
                const unsigned char *d = f->entries[i].data, *m = f->map;
                ck_assert_msg(d >= m && d + ax_wentry_numel(&f->entries[i]) * 4 <= m + f->map_size,
                              "%s: entry '%s' is not in the file mapping", files[k], f->entries[i].name);
            }
        } else {
            ck_assert_ptr_null(f->map);   /* inflated copies; the mapping was dropped */
        }
        expect_entry(f, "w", AX_DT_F32, 2, (int64_t[]){4, 3}, 10);
        expect_entry(f, "b", AX_DT_F32, 1, (int64_t[]){4}, 11);
        ax_wfile_close(f);
    }
}
END_TEST

/* An npz written here with libzip: one member stored, one deflated, one in a folder. */
START_TEST(test_npz_libzip)
{
    float w[6], b[3];
    for (int i = 0; i < 6; i++) w[i] = fval(20, (size_t)i);
    for (int i = 0; i < 3; i++) b[i] = fval(21, (size_t)i);
    size_t nw, nb;
    unsigned char *mw = make_npy("<f4", 0, "(2, 3)", w, sizeof w, &nw);
    unsigned char *mb = make_npy("<f4", 0, "(3,)", b, sizeof b, &nb);
    const char *path = tmp("made.npz");
    int zerr = 0;
    zip_t *z = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &zerr);
    ck_assert_ptr_nonnull(z);
    zip_int64_t iw = zip_file_add(z, "fc.weight.npy", zip_source_buffer(z, mw, nw, 0), 0);
    zip_int64_t ib = zip_file_add(z, "sub/fc.bias.npy", zip_source_buffer(z, mb, nb, 0), 0);
    ck_assert(iw >= 0 && ib >= 0);
    ck_assert(zip_dir_add(z, "sub/", 0) >= 0);
    ck_assert_int_eq(zip_set_file_compression(z, (zip_uint64_t)iw, ZIP_CM_STORE, 0), 0);
    ck_assert_int_eq(zip_set_file_compression(z, (zip_uint64_t)ib, ZIP_CM_DEFLATE, 9), 0);
    ck_assert_int_eq(zip_close(z), 0);
    free(mw);
    free(mb);

    ax_error err = {0};
    ax_wfile *f = NULL;
    ck_assert_msg(ax_wfile_open(&f, path, &err) == AX_OK, "%s", err.msg);
    ck_assert_int_eq(f->count, 2);
    expect_entry(f, "fc.weight", AX_DT_F32, 2, (int64_t[]){2, 3}, 20);
    expect_entry(f, "sub/fc.bias", AX_DT_F32, 1, (int64_t[]){3}, 21);
    ax_wfile_close(f);
}
END_TEST

/* The bvlc_alexnet.npy layout in every pickle protocol numpy and Python write. */
START_TEST(test_pickled_dicts)
{
    static const char *files[] = {"weights/dict_p2_py2.npy", "weights/dict_p2_py3.npy", "weights/dict_p3.npy",
                                  "weights/dict_p4.npy", "weights/dict_p5.npy"};
    for (int k = 0; k < 5; k++) {
        ax_wfile *f = open_fixture(files[k]);
        ck_assert_str_eq(f->format, "npy");
        ck_assert_msg(f->count == 4, "%s: %d entries", files[k], f->count);
        expect_entry(f, "conv1.0", AX_DT_F32, 4, (int64_t[]){3, 3, 2, 4}, 1);
        expect_entry(f, "conv1.1", AX_DT_F32, 1, (int64_t[]){4}, 2);
        expect_entry(f, "fc6.0", AX_DT_F32, 2, (int64_t[]){8, 3}, 3);
        expect_entry(f, "fc6.1", AX_DT_F64, 1, (int64_t[]){3}, 4);
        ax_wfile_close(f);

        /* the same through the buffer parser, on an exact-size heap copy */
        size_t n;
        unsigned char *buf = fixture_bytes(files[k], &n);
        f = new_wfile();
        ax_error err = {0};
        ck_assert_msg(ax_npy_parse(f, buf, n, files[k], &err) == AX_OK, "%s", err.msg);
        ck_assert_int_eq(f->count, 4);
        expect_entry(f, "fc6.0", AX_DT_F32, 2, (int64_t[]){8, 3}, 3);
        ax_wfile_close(f);
        free(buf);
    }
}
END_TEST

/* ---- damaged safetensors ------------------------------------------------ */

static ax_status st_parse(const char *json, const void *data, size_t dn, ax_error *err)
{
    size_t n;
    unsigned char *b = make_st(json, data, dn, &n);
    ax_wfile *f = new_wfile();
    ax_status st = ax_safetensors_parse(f, b, n, "bad.safetensors", err);
    ck_assert_int_eq(f->count, 0);   /* a failed parse leaves nothing behind */
    ax_wfile_close(f);
    free(b);
    return st;
}

START_TEST(test_bad_empty_and_short)
{
    ax_error err = {0};
    ax_wfile *f = NULL;
    write_bytes(tmp("empty.safetensors"), "", 0);
    expect_fail(ax_wfile_open(&f, tmp("empty.safetensors"), &err), &err, AX_ERR_FORMAT, "empty.safetensors", "empty");
    ck_assert_ptr_null(f);
    write_bytes(tmp("short.bin"), "\x05\x00\x00", 3);
    expect_fail(ax_wfile_open(&f, tmp("short.bin"), &err), &err, AX_ERR_FORMAT, "short.bin", "safetensors");
    expect_fail(ax_wfile_open(&f, tmp("missing.npy"), &err), &err, AX_ERR_IO, "missing.npy", NULL);

    unsigned char b[5] = {9, 0, 0, 0, 0};
    f = new_wfile();
    expect_fail(ax_safetensors_parse(f, b, sizeof b, "t.safetensors", &err), &err, AX_ERR_FORMAT,
                "t.safetensors", "truncated");
    ax_wfile_close(f);
}
END_TEST

START_TEST(test_bad_safetensors_header)
{
    ax_error err = {0};
    /* the header length says 1000, 2 bytes follow */
    unsigned char b[10] = {0xe8, 0x03, 0, 0, 0, 0, 0, 0, '{', '}'};
    write_bytes(tmp("long.safetensors"), b, sizeof b);
    ax_wfile *f = NULL;
    expect_fail(ax_wfile_open(&f, tmp("long.safetensors"), &err), &err, AX_ERR_FORMAT, "long.safetensors",
                "header length 1000 exceeds the 2 bytes");
    ck_assert_ptr_null(f);

    expect_fail(st_parse("{\"a\": {\"dtype\": \"F32\", \"shape\": [1", NULL, 0, &err), &err, AX_ERR_FORMAT,
                "bad.safetensors", "not valid JSON");
    expect_fail(st_parse("{\"a\": 1} junk", NULL, 0, &err), &err, AX_ERR_FORMAT, "bad.safetensors",
                "after its JSON");
    expect_fail(st_parse("[1, 2]", NULL, 0, &err), &err, AX_ERR_FORMAT, "bad.safetensors", "'{'");
    expect_fail(st_parse("{\"a\": [1]}", NULL, 0, &err), &err, AX_ERR_FORMAT, "'a'", "found an array");
    expect_fail(st_parse("{\"a\": {\"shape\": [1], \"data_offsets\": [0, 4]}}", "abcd", 4, &err), &err,
                AX_ERR_FORMAT, "'a'", "dtype");
    expect_fail(st_parse("{\"a\": {\"dtype\": \"F32\", \"shape\": [-1], \"data_offsets\": [0, 4]}}", "abcd", 4, &err),
                &err, AX_ERR_FORMAT, "'a'", "shape[0]");
    expect_fail(st_parse("{\"a\": {\"dtype\": \"F32\", \"shape\": [1.5], \"data_offsets\": [0, 4]}}", "abcd", 4, &err),
                &err, AX_ERR_FORMAT, "'a'", "non-negative integer");
    expect_fail(st_parse("{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [4]}}", "abcd", 4, &err),
                &err, AX_ERR_FORMAT, "'a'", "data_offsets");
    expect_fail(st_parse("{\"a\": {\"dtype\": \"F32\", \"shape\": [1, 1, 1, 1, 1, 1, 1, 1, 1], "
                         "\"data_offsets\": [0, 4]}}", "abcd", 4, &err),
                &err, AX_ERR_UNSUPPORTED, "'a'", "9 dimensions");
}
END_TEST

START_TEST(test_bad_safetensors_offsets)
{
    ax_error err = {0};
    float d[3] = {1, 2, 3};
    expect_fail(st_parse("{\"w\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [4, 12]}}", d, 8, &err),
                &err, AX_ERR_FORMAT, "'w'", "past the data section, which has 8 bytes");
    expect_fail(st_parse("{\"w\": {\"dtype\": \"F32\", \"shape\": [0], \"data_offsets\": [8, 4]}}", d, 12, &err),
                &err, AX_ERR_FORMAT, "'w'", "begin 8 is after end 4");
    expect_fail(st_parse("{\"w\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]},"
                         " \"b\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [4, 8]}}", d, 12, &err),
                &err, AX_ERR_FORMAT, "overlap", "'w' (bytes 0..8) and 'b' (bytes 4..8)");
    /* size/shape mismatch: 3 floats need 12 bytes, the offsets give 8 */
    expect_fail(st_parse("{\"w\": {\"dtype\": \"F32\", \"shape\": [3], \"data_offsets\": [0, 8]}}", d, 12, &err),
                &err, AX_ERR_FORMAT, "'w' (F32, shape (3)) needs 12 bytes", "span 8");
    expect_fail(st_parse("{\"w\": {\"dtype\": \"I64\", \"shape\": [1], \"data_offsets\": [0, 8]}}", d, 12, &err),
                &err, AX_ERR_UNSUPPORTED, "'w' has dtype I64", "bad.safetensors");
    expect_fail(st_parse("{\"w\": {\"dtype\": \"Q7\", \"shape\": [1], \"data_offsets\": [0, 8]}}", d, 12, &err),
                &err, AX_ERR_UNSUPPORTED, "'w' has dtype Q7", NULL);
    expect_fail(st_parse("{\"w\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]},"
                         " \"w\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [4, 8]}}", d, 12, &err),
                &err, AX_ERR_FORMAT, "'w' appears twice", NULL);
    /* back to back, zero-size tensors anywhere: all fine */
    ax_wfile *f = new_wfile();
    size_t n;
    unsigned char *b = make_st("{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]},"
                               " \"z\": {\"dtype\": \"F32\", \"shape\": [0, 2], \"data_offsets\": [2, 2]},"
                               " \"c\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [4, 12]}}", d, 12, &n);
    ck_assert_msg(ax_safetensors_parse(f, b, n, "ok.safetensors", &err) == AX_OK, "%s", err.msg);
    ck_assert_int_eq(f->count, 3);
    ax_wfile_close(f);
    free(b);
}
END_TEST

/* ---- damaged .npy ------------------------------------------------------- */

static ax_status npy_parse_bytes(const unsigned char *b, size_t n, ax_error *err)
{
    unsigned char *copy = malloc(n ? n : 1);
    memcpy(copy, b, n);
    ax_wfile *f = new_wfile();
    ax_status st = ax_npy_parse(f, copy, n, "bad.npy", err);
    if (st != AX_OK) ck_assert_int_eq(f->count, 0);
    ax_wfile_close(f);
    free(copy);
    return st;
}

START_TEST(test_bad_npy)
{
    ax_error err = {0};
    float x[10] = {0};
    size_t n;
    unsigned char *b = make_npy("<f4", 0, "(10,)", x, sizeof x, &n);
    ck_assert_int_eq(npy_parse_bytes(b, n, &err), AX_OK);

    b[5] = 'X';
    expect_fail(npy_parse_bytes(b, n, &err), &err, AX_ERR_FORMAT, "bad.npy", "bad .npy magic");
    b[5] = 'Y';
    expect_fail(npy_parse_bytes(b, n - 32, &err), &err, AX_ERR_FORMAT, "truncated .npy data",
                "needs 40 bytes, found 8");
    expect_fail(npy_parse_bytes(b, 40, &err), &err, AX_ERR_FORMAT, "bad.npy", "truncated .npy header");
    expect_fail(npy_parse_bytes(b, 7, &err), &err, AX_ERR_FORMAT, "bad.npy", "truncated");
    b[6] = 9;
    expect_fail(npy_parse_bytes(b, n, &err), &err, AX_ERR_UNSUPPORTED, "bad.npy", "version 9");
    free(b);

    b = make_npy("<f4", 1, "(2, 5)", x, sizeof x, &n);
    expect_fail(npy_parse_bytes(b, n, &err), &err, AX_ERR_UNSUPPORTED, "bad.npy", "Fortran");
    free(b);
    /* 1-d data is the same in either order */
    b = make_npy("<f4", 1, "(10,)", x, sizeof x, &n);
    ck_assert_int_eq(npy_parse_bytes(b, n, &err), AX_OK);
    free(b);
    b = make_npy("<i8", 0, "(5,)", x, sizeof x, &n);
    expect_fail(npy_parse_bytes(b, n, &err), &err, AX_ERR_UNSUPPORTED, "dtype '<i8'", "bad.npy");
    free(b);
    b = make_npy("<f4", 0, "(2 3)", x, sizeof x, &n);
    expect_fail(npy_parse_bytes(b, n, &err), &err, AX_ERR_FORMAT, "bad.npy", "in the shape");
    free(b);
    b = make_npy("<f4', 'fortran': 'x", 0, "(2,)", x, sizeof x, &n);
    expect_fail(npy_parse_bytes(b, n, &err), &err, AX_ERR_FORMAT, "bad.npy", "unknown key 'fortran'");
    free(b);

    ax_wfile *f = NULL;
    char path[1024];
    snprintf(path, sizeof path, "%s", ax_fixture("weights/fortran_f4.npy"));
    expect_fail(ax_wfile_open(&f, path, &err), &err, AX_ERR_UNSUPPORTED, "fortran_f4.npy", "Fortran");
    snprintf(path, sizeof path, "%s", ax_fixture("weights/bigendian_f4.npy"));
    expect_fail(ax_wfile_open(&f, path, &err), &err, AX_ERR_UNSUPPORTED, "bigendian_f4.npy", "big-endian");
}
END_TEST

/* ---- damaged pickles ---------------------------------------------------- */

static unsigned char *object_npy(const void *pickle, size_t pn, size_t *n)
{
    return make_npy("|O", 0, "()", pickle, pn, n);
}

START_TEST(test_bad_pickle)
{
    ax_error err = {0};
    size_t n;
    /* an opcode no numpy pickle uses (0xff) right after PROTO 2; the .npy
     * header is 128 bytes, so it sits at file offset 130 */
    unsigned char *b = object_npy("\x80\x02\xff.", 4, &n);
    ck_assert_uint_eq(n, 128 + 4);
    expect_fail(npy_parse_bytes(b, n, &err), &err, AX_ERR_FORMAT, "opcode 0xff", "offset 130");
    free(b);
    /* a global that would run a command if executed */
    static const char evil[] = "\x80\x02" "cos\nsystem\n" "X\x02\x00\x00\x00id" "\x85R.";
    b = object_npy(evil, sizeof evil - 1, &n);
    expect_fail(npy_parse_bytes(b, n, &err), &err, AX_ERR_FORMAT, "os.system", "bad.npy");
    free(b);
    static const char p9[] = "\x80\x09N.";
    b = object_npy(p9, sizeof p9 - 1, &n);
    expect_fail(npy_parse_bytes(b, n, &err), &err, AX_ERR_UNSUPPORTED, "protocol 9", NULL);
    free(b);
    /* a dict with no arrays in it */
    static const char nothing[] = "\x80\x02}q\x00U\x01" "aK\x01s.";
    b = object_npy(nothing, sizeof nothing - 1, &n);
    expect_fail(npy_parse_bytes(b, n, &err), &err, AX_ERR_FORMAT, "no float arrays", NULL);
    free(b);
    /* the protocol 3 fixture with every dtype's byte order turned to '>' */
    b = fixture_bytes("weights/dict_p3.npy", &n);
    int swapped = 0;
    for (size_t i = 0; i + 6 <= n; i++) {
        if (memcmp(b + i, "X\x01\x00\x00\x00<", 6) == 0) {
            b[i + 5] = '>';
            swapped++;
        }
    }
    ck_assert_int_gt(swapped, 0);
    expect_fail(npy_parse_bytes(b, n, &err), &err, AX_ERR_UNSUPPORTED, "big-endian", "conv1.0");
    free(b);
    /* lists sharing one list through the memo, 40 levels deep: must stop, not spin */
    char deep[400];
    size_t k = 0;
    memcpy(deep, "\x80\x02]q\x00", 5);
    k = 5;
    for (int i = 1; i <= 40; i++) {
        deep[k++] = ']';
        deep[k++] = 'h'; deep[k++] = (char)(i - 1);
        deep[k++] = 'h'; deep[k++] = (char)(i - 1);
        deep[k++] = 0x86;   /* TUPLE2 of the previous level twice */
        deep[k++] = 'a';
        deep[k++] = 'q'; deep[k++] = (char)i;
    }
    deep[k++] = '.';
    b = object_npy(deep, k, &n);
    ax_status st = npy_parse_bytes(b, n, &err);
    ck_assert_msg(st == AX_ERR_FORMAT, "status %d: %s", st, err.msg);
    free(b);
}
END_TEST

/* Every strict prefix of each pickled fixture must fail cleanly, and random
 * byte changes must never crash (valgrind checks the reads). */
START_TEST(test_pickle_truncated_and_mutated)
{
    static const char *files[] = {"weights/dict_p2_py2.npy", "weights/dict_p2_py3.npy", "weights/dict_p4.npy",
                                  "weights/dict_p5.npy"};
    uint64_t seed = 0x1234567;
    for (int k = 0; k < 4; k++) {
        size_t n;
        unsigned char *full = fixture_bytes(files[k], &n);
        ax_error err = {0};
        for (size_t len = 0; len < n; len++) {
            ax_status st = npy_parse_bytes(full, len, &err);
            ck_assert_msg(st != AX_OK, "%s cut to %zu bytes was accepted", files[k], len);
            ck_assert_msg(err.msg[0] != 0, "no message for %s cut to %zu", files[k], len);
        }
        for (int trial = 0; trial < 600; trial++) {
            unsigned char *m = malloc(n);
            memcpy(m, full, n);
            int flips = 1 + (int)(rng_next(&seed) % 3);
            for (int j = 0; j < flips; j++) m[128 + rng_next(&seed) % (n - 128)] = (unsigned char)rng_next(&seed);
            ax_wfile *f = new_wfile();
            ax_status st = ax_npy_parse(f, m, n, files[k], &err);
            if (st == AX_OK) {
                /* whatever got through must describe bytes inside the buffer */
                for (int i = 0; i < f->count; i++) {
                    const unsigned char *d = f->entries[i].data;
                    ck_assert_uint_eq(f->entries[i].nbytes, ax_wentry_numel(&f->entries[i]) *
                                      ax_dtype_size(f->entries[i].dtype));
                    /* or in a buffer f owns (bytes decoded from latin-1 text) */
                    ck_assert((d >= m && d + f->entries[i].nbytes <= m + n) || f->owned_count > 0);
                    float *tmpv = malloc(ax_wentry_numel(&f->entries[i]) * sizeof(float) + 4);
                    ax_wentry_to_f32(&f->entries[i], tmpv);
                    free(tmpv);
                }
            } else {
                ck_assert(err.msg[0]);
            }
            ax_wfile_close(f);
            free(m);
        }
        free(full);
    }
}
END_TEST

/* ---- damaged archives and random bytes ---------------------------------- */

START_TEST(test_bad_npz)
{
    size_t n;
    unsigned char *full = fixture_bytes("weights/arrays_deflated.npz", &n);
    ax_error err = {0};
    for (size_t len = 4; len < n; len += 7) {
        ax_wfile *f = new_wfile();
        ax_status st = ax_npz_parse(f, full, len, "cut.npz", &err);
        ck_assert_msg(st != AX_OK, "cut.npz at %zu bytes accepted", len);
        ck_assert(strstr(err.msg, "cut.npz"));
        ck_assert_int_eq(f->count, 0);
        ax_wfile_close(f);
    }
    /* damage the first member's compressed bytes: the CRC or inflate must catch it */
    size_t data_at = 30 + (full[26] | (size_t)full[27] << 8) + (full[28] | (size_t)full[29] << 8);
    ck_assert_uint_lt(data_at + 20, n);
    full[data_at + 10] ^= 0x5a;
    full[data_at + 11] ^= 0xa5;
    ax_wfile *f = new_wfile();
    ax_status st = ax_npz_parse(f, full, n, "crc.npz", &err);
    ck_assert_msg(st == AX_ERR_FORMAT, "damaged member: status %d (%s)", st, err.msg);
    ck_assert(strstr(err.msg, "crc.npz"));
    ax_wfile_close(f);
    free(full);

    /* a PyTorch-style zip is not an npz */
    const char *path = tmp("model.pth");
    int zerr = 0;
    zip_t *z = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &zerr);
    ck_assert(zip_file_add(z, "archive/data.pkl", zip_source_buffer(z, "\x80\x02N.", 4, 0), 0) >= 0);
    ck_assert_int_eq(zip_close(z), 0);
    f = NULL;
    expect_fail(ax_wfile_open(&f, path, &err), &err, AX_ERR_FORMAT, "archive/data.pkl", "PyTorch");
}
END_TEST

START_TEST(test_random_bytes)
{
    uint64_t seed = 99;
    unsigned char r[4096];
    for (size_t i = 0; i < sizeof r; i++) r[i] = (unsigned char)rng_next(&seed);
    r[0] = 0x17;   /* not a magic by chance */
    r[8] = 'x';
    write_bytes(tmp("noise.bin"), r, sizeof r);
    ax_error err = {0};
    ax_wfile *f = NULL;
    expect_fail(ax_wfile_open(&f, tmp("noise.bin"), &err), &err, AX_ERR_FORMAT, "noise.bin",
                "understood: npy");

    /* random bytes behind each magic, through each reader, at many lengths */
    for (int trial = 0; trial < 200; trial++) {
        size_t len = 9 + rng_next(&seed) % 600;
        unsigned char *b = malloc(len);
        for (size_t i = 0; i < len; i++) b[i] = (unsigned char)rng_next(&seed);
        int which = trial % 3;
        if (which == 0) memcpy(b, "\x93NUMPY\x01\x00", 8);
        if (which == 1) memcpy(b, "PK\x03\x04", 4);
        if (which == 2) {
            uint64_t hl = rng_next(&seed) % len;
            for (int i = 0; i < 8; i++) b[i] = (unsigned char)(hl >> (8 * i));
            b[8] = '{';
        }
        ax_wfile *g = new_wfile();
        ax_status st = which == 0 ? ax_npy_parse(g, b, len, "r.npy", &err)
                     : which == 1 ? ax_npz_parse(g, b, len, "r.npz", &err)
                                  : ax_safetensors_parse(g, b, len, "r.safetensors", &err);
        ck_assert_msg(st != AX_OK, "random bytes accepted by reader %d", which);
        ck_assert(err.msg[0]);
        ax_wfile_close(g);
        free(b);
    }
}
END_TEST

/* ---- hostile input ------------------------------------------------------ */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* A FIFO given as weights must not block; a directory or device is named
 * as what it is, with no stale errno text. */
START_TEST(test_open_not_regular)
{
    ax_error err = {0};
    ax_wfile *f = NULL;
    const char *fifo = tmp("weights.safetensors");
    ck_assert_int_eq(mkfifo(fifo, 0600), 0);
    expect_fail(ax_wfile_open(&f, fifo, &err), &err, AX_ERR_IO, fifo, "FIFO");
    ck_assert_ptr_null(f);
    expect_fail(ax_wfile_open(&f, tmpdir, &err), &err, AX_ERR_IO, tmpdir, "a directory");
    ck_assert_msg(!strstr(err.msg, "Inappropriate ioctl"), "%s", err.msg);
    expect_fail(ax_wfile_open(&f, "/dev/null", &err), &err, AX_ERR_IO, "/dev/null", "character device");
    ck_assert_msg(!strstr(err.msg, "Inappropriate ioctl"), "%s", err.msg);
}
END_TEST

/* 60000 tensors: names are indexed, so reading them is linear. Only the
 * result is asserted; the time is printed. */
START_TEST(test_many_tensors)
{
    enum { N = 60000 };
    size_t cap = (size_t)N * 80 + 16, len = 0;
    char *json = malloc(cap);
    len += (size_t)snprintf(json + len, cap - len, "{");
    for (int i = 0; i < N; i++)
        len += (size_t)snprintf(json + len, cap - len, "%s\"layer%d.w\":{\"dtype\":\"F32\",\"shape\":[1],"
                                "\"data_offsets\":[%d,%d]}", i ? "," : "", i, 4 * i, 4 * i + 4);
    snprintf(json + len, cap - len, "}");
    float *vals = malloc(N * sizeof *vals);
    for (int i = 0; i < N; i++) vals[i] = (float)i;
    size_t n;
    unsigned char *b = make_st(json, vals, N * sizeof *vals, &n);
    ax_wfile *f = new_wfile();
    ax_error err = {0};
    double t0 = now_s();
    ck_assert_msg(ax_safetensors_parse(f, b, n, "many.safetensors", &err) == AX_OK, "%s", err.msg);
    double t1 = now_s();
    ck_assert_int_eq(f->count, N);
    for (int i = 0; i < N; i += 1) {
        char name[32];
        snprintf(name, sizeof name, "layer%d.w", i);
        const ax_wentry *e = ax_wfile_find(f, name);
        ck_assert_msg(e != NULL, "no '%s'", name);
        float v;
        ax_wentry_to_f32(e, &v);
        ck_assert_msg(v == (float)i, "'%s' holds %g", name, (double)v);
    }
    double t2 = now_s();
    ck_assert_ptr_null(ax_wfile_find(f, "layer60000.w"));
    printf("%d safetensors tensors: parsed in %.3f s, all found in %.3f s\n", N, t1 - t0, t2 - t1);

    /* a name that comes back after 60000 others is still caught */
    char dup[] = "{\"a\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]},"
                 "\"layer59999.w\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[4,8]}}";
    size_t dn;
    unsigned char *db = make_st(dup, vals, 8, &dn);
    expect_fail(ax_safetensors_parse(f, db, dn, "dup.safetensors", &err), &err, AX_ERR_FORMAT, "layer59999.w",
                "twice");
    ck_assert_int_eq(f->count, N);   /* the failed parse took back its entry 'a' */
    ck_assert_ptr_null(ax_wfile_find(f, "a"));
    ax_wfile_close(f);
    free(db);
    free(b);
    free(vals);
    free(json);
}
END_TEST

/* Patches the uncompressed size of every member in a zip (local headers and
 * central directory) to `size`, as a lying or bomb archive declares it. */
static void zip_set_usize(unsigned char *b, size_t n, uint32_t size)
{
    for (size_t i = 0; i + 46 <= n; i++) {
        size_t at = 0;
        if (!memcmp(b + i, "PK\x03\x04", 4)) at = i + 22;
        else if (!memcmp(b + i, "PK\x01\x02", 4)) at = i + 24;
        else continue;
        for (int k = 0; k < 4; k++) b[at + k] = (unsigned char)(size >> (8 * k));
    }
}

/* An .npz member declaring 2 GiB is refused from the zip directory, before
 * anything is inflated; one declaring less than it holds is caught too. */
START_TEST(test_npz_declared_sizes)
{
    float w[4] = {1, 2, 3, 4};
    size_t nw;
    unsigned char *mw = make_npy("<f4", 0, "(4,)", w, sizeof w, &nw);
    const char *path = tmp("bomb.npz");
    int zerr = 0;
    zip_t *z = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &zerr);
    ck_assert_ptr_nonnull(z);
    zip_int64_t iw = zip_file_add(z, "w.npy", zip_source_buffer(z, mw, nw, 0), 0);
    ck_assert(iw >= 0);
    ck_assert_int_eq(zip_set_file_compression(z, (zip_uint64_t)iw, ZIP_CM_DEFLATE, 9), 0);
    ck_assert_int_eq(zip_close(z), 0);
    free(mw);
    size_t n;
    unsigned char *b = read_bytes(path, &n);

    ax_wfile *f = new_wfile();
    ax_error err = {0};
    ck_assert_msg(ax_npz_parse(f, b, n, "good.npz", &err) == AX_OK, "%s", err.msg);
    ck_assert_int_eq(f->count, 1);
    ax_wfile_close(f);

    zip_set_usize(b, n, 0x80000000u);
    f = new_wfile();
    double t0 = now_s();
    expect_fail(ax_npz_parse(f, b, n, "bomb.npz", &err), &err, AX_ERR_FORMAT, "bomb.npz", "2147483648");
    printf("2 GiB npz member refused in %.3f s: %s\n", now_s() - t0, err.msg);
    ck_assert_msg(strstr(err.msg, "at most"), "%s", err.msg);
    ck_assert_int_eq(f->count, 0);
    ax_wfile_close(f);

    zip_set_usize(b, n, (uint32_t)nw - 8);
    f = new_wfile();
    ck_assert_int_eq(ax_npz_parse(f, b, n, "short.npz", &err), AX_ERR_FORMAT);
    ck_assert_msg(strstr(err.msg, "short.npz") && strstr(err.msg, "w.npy"), "%s", err.msg);
    ax_wfile_close(f);
    free(b);
}
END_TEST

/* A stored member is located through its local header: headers that put the
 * data elsewhere, past the end, or nowhere are refused with the file's name,
 * never read out of bounds; one without its signature is not used in place. */
START_TEST(test_npz_stored_headers)
{
    size_t n;
    unsigned char *good = fixture_bytes("weights/arrays_stored.npz", &n);
    unsigned char *b = malloc(n);
    ck_assert_ptr_nonnull(b);
    size_t cd = 0;   /* the first central directory record */
    for (size_t i = 0; i + 4 <= n; i++)
        if (!memcmp(good + i, "PK\x01\x02", 4)) { cd = i; break; }
    ck_assert_uint_gt(cd, 0);
    for (int k = 0; k < 4; k++) {
        memcpy(b, good, n);
        if (k == 0) { b[28] += 4; }                              /* extra length: data 4 bytes on */
        if (k == 1) { b[28] = 0xff; b[29] = 0xff; }              /* extra length: data past the end */
        if (k == 2) { b[cd + 42] = 0xf0; b[cd + 43] = 0xff; b[cd + 44] = 0xff; b[cd + 45] = 0x7f; } /* offset */
        if (k == 3) { b[0] = 'X'; }                              /* no local header signature */
        ax_wfile *f = new_wfile();
        ax_error err = {0};
        ax_status st = ax_npz_parse(f, b, n, "hdr.npz", &err);
        if (k == 3) {
            /* libzip reads it regardless; it is not used in place */
            ck_assert_msg(st == AX_OK, "%s", err.msg);
            const ax_wentry *w = ax_wfile_find(f, "w");
            ck_assert_ptr_nonnull(w);
            ck_assert_msg((const unsigned char *)w->data < b || (const unsigned char *)w->data >= b + n,
                          "a member without a local header signature was used in place");
            ax_wfile_close(f);
            continue;
        }
        ck_assert_msg(st == AX_ERR_FORMAT, "case %d: status %d (%s)", k, st, err.msg);
        ck_assert_msg(strstr(err.msg, "hdr.npz"), "case %d: %s", k, err.msg);
        ck_assert_int_eq(f->count, 0);
        ax_wfile_close(f);
    }
    free(b);
    free(good);
}
END_TEST

/* ---- the format registry ------------------------------------------------ */

START_TEST(test_registry_rows)
{
    int n = ax_wformat_count();
    ck_assert_int_ge(n, 7);
    ck_assert_ptr_null(ax_wformat_at(n));
    ck_assert_ptr_null(ax_wformat_at(-1));
    for (int i = 0; i < n; i++) {
        const ax_wformat *w = ax_wformat_at(i);
        ck_assert_ptr_nonnull(w);
        ck_assert_msg(w->name && w->name[0], "row %d has no name", i);
        ck_assert_msg(w->what && w->what[0], "%s has no description", w->name);
        ck_assert_msg(w->magic && w->magic[0], "%s does not say how it is recognised", w->name);
        ck_assert_msg(w->sniff && w->parse, "%s lacks a sniff or a parse", w->name);
        /* the understood text separates rows with "), "; inspect puts a description in parentheses */
        ck_assert_msg(!strstr(w->magic, "), "), "%s: magic text holds \"), \"", w->name);
        ck_assert_msg(!strchr(w->what, '(') && !strchr(w->what, ')'), "%s: description has parentheses", w->name);
        ck_assert_ptr_eq(ax_wformat_find(w->name), w);
        for (int j = 0; j < i; j++) ck_assert_str_ne(ax_wformat_at(j)->name, w->name);
    }
    /* a row answers to its name's variants, and only to them */
    ck_assert_str_eq(ax_wformat_find("torch-zip")->name, "torch");
    ck_assert_str_eq(ax_wformat_find("torch-legacy")->name, "torch");
    ck_assert_ptr_null(ax_wformat_find("torchx"));
    ck_assert_ptr_null(ax_wformat_find("tflite"));
    ck_assert_ptr_null(ax_wformat_find("onnxx"));
    ck_assert_ptr_null(ax_wformat_find(""));
    ck_assert_ptr_null(ax_wformat_find(NULL));
    /* only a format whose names cannot match the spec binds; only a caffemodel prints a spec */
    ck_assert_ptr_null(ax_wformat_find("safetensors")->bind);
    ck_assert_ptr_nonnull(ax_wformat_find("darknet")->bind);
    ck_assert_ptr_nonnull(ax_wformat_find("caffemodel")->spec_text);
    ck_assert_ptr_nonnull(ax_wformat_find("onnx")->spec_text);
    ck_assert_ptr_nonnull(ax_wformat_find("onnx")->bind);
    ck_assert_ptr_null(ax_wformat_find("npy")->spec_text);
}
END_TEST

/* Dispatch is the table's order: the one format without a magic is asked
 * last, and a torch.save zip is asked before the generic zip of .npz. */
START_TEST(test_registry_order)
{
    int n = ax_wformat_count(), nomagic = 0;
    for (int i = 0; i < n; i++)
        if (!strncmp(ax_wformat_at(i)->magic, "no magic", 8)) nomagic++;
    ck_assert_int_eq(nomagic, 1);
    ck_assert_msg(!strncmp(ax_wformat_at(n - 1)->magic, "no magic", 8), "%s is last but has a magic",
                  ax_wformat_at(n - 1)->name);
    ck_assert_str_eq(ax_wformat_at(n - 1)->name, "darknet");
    int torch = -1, npz = -1;
    for (int i = 0; i < n; i++) {
        if (!strcmp(ax_wformat_at(i)->name, "torch")) torch = i;
        if (!strcmp(ax_wformat_at(i)->name, "npz")) npz = i;
    }
    ck_assert(torch >= 0 && npz >= 0 && torch < npz);
    ck_assert_ptr_null(ax_wformat_sniff("", 0));
    ck_assert_ptr_null(ax_wformat_sniff("\x17junk junk junk", 15));
}
END_TEST

/* The understood text is every row, in order, and nothing else; the error
 * for an unknown or empty file carries it whole. */
START_TEST(test_understood_text)
{
    char want[2048] = "understood: ", got[2048];
    for (int i = 0; i < ax_wformat_count(); i++) {
        const ax_wformat *w = ax_wformat_at(i);
        size_t len = strlen(want);
        snprintf(want + len, sizeof want - len, "%s%s (%s)", i ? ", " : "", w->name, w->magic);
    }
    size_t n = ax_wformat_understood(got, sizeof got);
    ck_assert_str_eq(got, want);
    ck_assert_uint_eq(n, strlen(want));
    /* a short buffer: terminated, and the length is still the whole text's */
    char small[20];
    ck_assert_uint_eq(ax_wformat_understood(small, sizeof small), n);
    ck_assert_uint_eq(strlen(small), sizeof small - 1);
    ck_assert_uint_eq(ax_wformat_understood(NULL, 0), n);

    ax_error err = {0};
    ax_wfile *f = NULL;
    write_bytes(tmp("noise.bin"), "\x17nothing at all, really", 23);
    expect_fail(ax_wfile_open(&f, tmp("noise.bin"), &err), &err, AX_ERR_FORMAT, "noise.bin", want);
    /* all eight first bytes are shown, in hex and as text (a control byte as '.') */
    ck_assert_msg(strstr(err.msg, "starting 17 6e 6f 74 68 69 6e 67, \".nothing\")"), "%s", err.msg);
    /* the \x17 makes it no text file */
    ck_assert_msg(!strstr(err.msg, "reads as text"), "%s", err.msg);
    write_bytes(tmp("empty.bin"), "", 0);
    expect_fail(ax_wfile_open(&f, tmp("empty.bin"), &err), &err, AX_ERR_FORMAT, "empty.bin", want);
    /* HDF5 is read, so no advice to convert it; a bare pickle is not */
    write_bytes(tmp("cut.h5"), "\x89HDF\r\n\x1a\n", 8);
    ck_assert_int_ne(ax_wfile_open(&f, tmp("cut.h5"), &err), AX_OK);
    ck_assert_msg(!strstr(err.msg, "not a weight file") && !strstr(err.msg, "convert it"), "%s", err.msg);
    write_bytes(tmp("bare.pkl"), "\x80\x02}q\x00.", 6);
    expect_fail(ax_wfile_open(&f, tmp("bare.pkl"), &err), &err, AX_ERR_FORMAT, "bare Python pickle", want);
}
END_TEST

/* The fixtures that must be refused (each has its own test of the message). */
static const char *const refused_fixtures[] = {
    "caffe/bad_inner_length.caffemodel", "caffe/bad_truncated.caffemodel", "keras/bad_int_kernel.h5",
    "keras/external_link.h5", "keras/libhdf5_crash.h5", "torch/bigendian.pth", "torch/builtins_eval.pth",
    "torch/float8.pth", "torch/noncontig.pth", "torch/not_storage.pth", "torch/os_system.pth", "torch/posix_system.legacy.pth",
    "torch/truncated.pth", "weights/bigendian_f4.npy", "weights/fortran_f4.npy",
};

static int ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), t = strlen(tail);
    return n >= t && !strcmp(s + n - t, tail);
}

/* The format a fixture's name promises, or NULL for files that hold no weights. */
static const char *fixture_format(const char *rel)
{
    static const char *const ext[][2] = {
        {".npy", "npy"}, {".npz", "npz"}, {".safetensors", "safetensors"}, {".legacy.pth", "torch-legacy"},
        {".pth", "torch-zip"}, {".h5", "keras-h5"}, {".caffemodel", "caffemodel"}, {".weights", "darknet"},
        {".index", "tfckpt"}, {".onnx", "onnx"},
    };
    for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++)
        if (ends_with(rel, ext[i][0])) return ext[i][1];
    return NULL;
}

/* Every weight file under tests/fixtures is sniffed as the row its name
 * promises, and opens with that f->format (or is one of the refused ones,
 * which must fail in their own reader). */
static void check_fixture_dir(const char *root, const char *rel, int *seen, int *rows_seen)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s%s%s", root, rel[0] ? "/" : "", rel);
    DIR *d = opendir(dir);
    ck_assert_msg(d != NULL, "cannot list %s", dir);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char sub[1024], path[2048];
        snprintf(sub, sizeof sub, "%s%s%s", rel, rel[0] ? "/" : "", e->d_name);
        snprintf(path, sizeof path, "%s/%s", root, sub);
        struct stat st;
        ck_assert_int_eq(stat(path, &st), 0);
        if (S_ISDIR(st.st_mode)) {
            check_fixture_dir(root, sub, seen, rows_seen);
            continue;
        }
        const char *want = fixture_format(sub);
        if (!want) continue;
        const ax_wformat *row = ax_wformat_find(want);
        ck_assert_ptr_nonnull(row);
        FILE *fp = fopen(path, "rb");
        ck_assert_ptr_nonnull(fp);
        unsigned char *b = malloc((size_t)st.st_size + 1);
        ck_assert_uint_eq(fread(b, 1, (size_t)st.st_size, fp), (size_t)st.st_size);
        fclose(fp);
        const ax_wformat *sniffed = ax_wformat_sniff(b, (size_t)st.st_size);
        free(b);
        ck_assert_msg(sniffed == row, "%s: sniffed as %s, expected %s", sub, sniffed ? sniffed->name : "nothing",
                      row->name);
        int refused = 0;
        for (size_t i = 0; i < sizeof refused_fixtures / sizeof refused_fixtures[0]; i++)
            refused |= !strcmp(sub, refused_fixtures[i]);
        ax_error err = {0};
        ax_wfile *f = NULL;
        ax_status s = ax_wfile_open(&f, path, &err);
#if !AX_HAVE_HDF5
        if (!strcmp(want, "keras-h5")) {
            ck_assert_msg(s == AX_ERR_UNSUPPORTED, "%s: %s", sub, err.msg);
            (*seen)++;
            continue;
        }
#endif
        if (refused) {
            ck_assert_msg(s != AX_OK, "%s opened, but it must be refused", sub);
            ck_assert_msg(!strstr(err.msg, "not a weight file this reader knows"), "%s: %s", sub, err.msg);
        } else {
            ck_assert_msg(s == AX_OK, "%s: %s", sub, err.msg);
            ck_assert_str_eq(f->format, want);
            ck_assert_ptr_eq(ax_wformat_find(f->format), row);
            for (int i = 0; i < ax_wformat_count(); i++)
                if (ax_wformat_at(i) == row) rows_seen[i] = 1;
        }
        ax_wfile_close(f);
        (*seen)++;
    }
    closedir(d);
}

START_TEST(test_fixtures_formats)
{
    char root[1024];
    snprintf(root, sizeof root, "%s", ax_fixture(""));
    if (root[0] && root[strlen(root) - 1] == '/') root[strlen(root) - 1] = 0;
    int seen = 0, rows_seen[64] = {0};
    ck_assert_int_le(ax_wformat_count(), 64);
    check_fixture_dir(root, "", &seen, rows_seen);
    ck_assert_int_ge(seen, 60);
    /* every format has a fixture that opens (keras-h5 where HDF5 is built) */
    for (int i = 0; i < ax_wformat_count(); i++) {
#if !AX_HAVE_HDF5
        if (!strcmp(ax_wformat_at(i)->name, "keras-h5")) continue;
#endif
        ck_assert_msg(rows_seen[i], "no fixture of format %s opens", ax_wformat_at(i)->name);
    }
}
END_TEST

static Suite *weights_suite(void)
{
    Suite *s = suite_create("weights");
    TCase *tc = tcase_create("weights");
    tcase_add_checked_fixture(tc, make_tmpdir, remove_tmpdir);
    tcase_set_timeout(tc, AX_CHECK_TIMEOUT);
    tcase_add_test(tc, test_half_to_float);
    tcase_add_test(tc, test_bf16_to_float);
    tcase_add_test(tc, test_dtype_names);
    tcase_add_test(tc, test_npy_roundtrip);
    tcase_add_test(tc, test_safetensors_roundtrip);
    tcase_add_test(tc, test_wfile_pread);
    tcase_add_test(tc, test_writer_errors);
    tcase_add_test(tc, test_safetensors_dtypes);
    tcase_add_test(tc, test_npy_fixtures);
    tcase_add_test(tc, test_npz_fixtures);
    tcase_add_test(tc, test_npz_libzip);
    tcase_add_test(tc, test_pickled_dicts);
    tcase_add_test(tc, test_bad_empty_and_short);
    tcase_add_test(tc, test_bad_safetensors_header);
    tcase_add_test(tc, test_bad_safetensors_offsets);
    tcase_add_test(tc, test_bad_npy);
    tcase_add_test(tc, test_bad_pickle);
    tcase_add_test(tc, test_pickle_truncated_and_mutated);
    tcase_add_test(tc, test_bad_npz);
    tcase_add_test(tc, test_random_bytes);
    tcase_add_test(tc, test_open_not_regular);
    tcase_add_test(tc, test_many_tensors);
    tcase_add_test(tc, test_npz_declared_sizes);
    tcase_add_test(tc, test_npz_stored_headers);
    tcase_add_test(tc, test_registry_rows);
    tcase_add_test(tc, test_registry_order);
    tcase_add_test(tc, test_understood_text);
    tcase_add_test(tc, test_fixtures_formats);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return ax_run_suite(weights_suite());
}
