/* What a hostile or unlucky file must not do: escape a terminal or a
 * folder, leave a half-written file, pass a NaN or an overflow through a
 * check, or grow without bound. One case per hole found (issue 20). */
#define _GNU_SOURCE   /* memmem */
#include <check.h>
#include <errno.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "alexscope/fileio.h"
#include "alexscope/net.h"
#include "alexscope/spec.h"
#include "alexscope/text.h"
#include "alexscope/weights.h"
#include "check_util.h"
#include "core/parallel.h"
#include "weights/wfile_internal.h"

/* A fresh folder under /tmp for one case. */
static char *scratch(void)
{
    static char dir[64];
    snprintf(dir, sizeof dir, "/tmp/ax-hostile.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    return dir;
}

static int count_files(const char *dir)
{
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    closedir(d);
    return n;
}

static void write_bytes(const char *path, const void *b, size_t n)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(b, 1, n, f), n);
    fclose(f);
}

/* ---- terminal text ---------------------------------------------------------- */

START_TEST(clean_escapes)
{
    char out[256];
    ax_text_clean(out, sizeof out, "a\x1b]0;pwned\x07" "b\x1b[2Jc", 0);
    ck_assert_str_eq(out, "a\\x1b]0;pwned\\x07b\\x1b[2Jc");
    /* C1 CSI as a raw byte and as UTF-8, DEL, a lone continuation byte */
    ax_text_clean(out, sizeof out, "x\x9b" "1m \xc2\x9b \x7f \x80", 0);
    ck_assert_str_eq(out, "x\\x9b1m \\xc2\\x9b \\x7f \\x80");
    /* real UTF-8 stays, newlines only when asked */
    ax_text_clean(out, sizeof out, "caf\xc3\xa9 \xe2\x86\x92\nz", 0);
    ck_assert_str_eq(out, "caf\xc3\xa9 \xe2\x86\x92\\x0az");
    ax_text_clean(out, sizeof out, "l1\nl2\t", 1);
    ck_assert_str_eq(out, "l1\nl2\t");
    /* cut whole, never in the middle of an escape */
    ax_text_clean(out, 6, "ab\x1b\x1b", 0);
    ck_assert_str_eq(out, "ab");
    ck_assert_str_eq(ax_text_safe(NULL), "");
}
END_TEST

START_TEST(error_messages_are_clean)
{
    ax_error err;
    ax_fail(&err, AX_ERR_FORMAT, "%s: tensor '%s' is bad\nsecond line", "f", "\x1b[2J");
    ck_assert_ptr_null(strchr(err.msg, 0x1b));
    ck_assert_ptr_nonnull(strstr(err.msg, "'\\x1b[2J'"));
    ck_assert_ptr_nonnull(strchr(err.msg, '\n'));
}
END_TEST

/* ---- names to file names ------------------------------------------------------ */

START_TEST(name_rule)
{
    char a[AX_FILE_NAME_MAX], b[AX_FILE_NAME_MAX];
    ck_assert_str_eq(ax_name_to_file(a, sizeof a, "conv1"), "conv1");
    ck_assert_str_eq(ax_name_to_file(a, sizeof a, "features.0"), "features.0");
    ck_assert_str_eq(ax_name_to_file(a, sizeof a, "/features_0/Conv_output_0"), "%2Ffeatures_0%2FConv_output_0");
    ck_assert_str_eq(ax_name_to_file(a, sizeof a, "../../pwned"), "%2E.%2F..%2Fpwned");
    ck_assert_str_eq(ax_name_to_file(a, sizeof a, ".."), "%2E.");
    ck_assert_str_eq(ax_name_to_file(a, sizeof a, ""), "%");
    ck_assert_str_eq(ax_name_to_file(a, sizeof a, "a%2Fb"), "a%252Fb");   /* '%' itself is escaped */
    ax_name_to_file(b, sizeof b, "a/b");
    ck_assert_str_ne(a, b);
    ck_assert_str_ne(ax_name_to_file(a, sizeof a, "a_b"), ax_name_to_file(b, sizeof b, "a/b"));
    /* long names: bounded, no '/', and two that differ late stay apart */
    char n1[600], n2[600];
    memset(n1, '/', sizeof n1 - 1);
    n1[sizeof n1 - 1] = 0;
    memcpy(n2, n1, sizeof n1);
    n2[590] = 'x';
    ax_name_to_file(a, sizeof a, n1);
    ax_name_to_file(b, sizeof b, n2);
    ck_assert_uint_lt(strlen(a), AX_FILE_NAME_MAX);
    ck_assert_str_ne(a, b);
    ck_assert_ptr_null(strchr(a, '/'));
    /* every byte value: never '/', never a leading '.', never empty */
    for (int c = 1; c < 256; c++) {
        char s[2] = {(char)c, 0};
        ax_name_to_file(a, sizeof a, s);
        ck_assert_ptr_null(strchr(a, '/'));
        ck_assert(a[0] && a[0] != '.');
    }
}
END_TEST

/* ---- the atomic writer ----------------------------------------------------------- */

START_TEST(writer_replaces_whole_or_not_at_all)
{
    char *dir = scratch(), path[128];
    snprintf(path, sizeof path, "%s/out.npy", dir);
    float v[4] = {1, 2, 3, 4};
    int64_t shape[1] = {4};
    ax_error err;
    ck_assert_int_eq(ax_npy_write(path, v, 1, shape, &err), AX_OK);
    struct stat st1;
    ck_assert_int_eq(stat(path, &st1), 0);
    /* a writer that fails half-way leaves the old file and no temporary */
    ax_file_out o;
    ck_assert_int_eq(ax_file_create(&o, path, &err), AX_OK);
    fputs("partial", o.fp);
    ck_assert_int_eq(count_files(dir), 2);   /* the temporary sits beside it */
    ck_assert_int_eq(ax_file_commit(&o, 0, &err), AX_ERR_IO);
    ck_assert_int_eq(count_files(dir), 1);
    struct stat st2;
    ck_assert_int_eq(stat(path, &st2), 0);
    ck_assert_int_eq(st1.st_size, st2.st_size);
    /* abandoning removes the temporary too */
    ck_assert_int_eq(ax_file_create(&o, path, &err), AX_OK);
    ax_file_abandon(&o);
    ck_assert_int_eq(count_files(dir), 1);
    /* a write that cannot happen (a folder that is not there) names the file */
    char bad[160];
    snprintf(bad, sizeof bad, "%s/no/such/out.npy", dir);
    ck_assert_int_eq(ax_npy_write(bad, v, 1, shape, &err), AX_ERR_IO);
    ck_assert_ptr_nonnull(strstr(err.msg, bad));
    /* a full disk: /dev/full takes the open and fails the write; it is not a
     * regular file, so it is written in place and the failure reported */
    if (access("/dev/full", W_OK) == 0)
        ck_assert_int_eq(ax_npy_write("/dev/full", v, 1, shape, &err), AX_ERR_IO);
    unlink(path);
    rmdir(dir);
}
END_TEST

/* ---- facts ----------------------------------------------------------------------- */

/* A caffemodel of n empty V2 layers (field 100, length 0). */
START_TEST(facts_are_bounded)
{
    char *dir = scratch(), path[128];
    snprintf(path, sizeof path, "%s/many.caffemodel", dir);
    size_t n = 300000;
    unsigned char *b = malloc(3 * n);
    for (size_t i = 0; i < n; i++) b[3 * i] = 0xa2, b[3 * i + 1] = 0x06, b[3 * i + 2] = 0;
    write_bytes(path, b, 3 * n);
    free(b);
    ax_wfile *f = NULL;
    ax_error err;
    ck_assert_msg(ax_wfile_open(&f, path, &err) == AX_OK, "%s", err.msg);
    ck_assert_uint_le(f->facts_len, (size_t)1 << 20);
    ck_assert_ptr_nonnull(strstr(f->facts, "further facts not kept"));
    ax_wfile_close(f);
    unlink(path);
    rmdir(dir);
}
END_TEST

/* ---- specs -------------------------------------------------------------------------- */

static ax_status parse(const char *text, ax_error *err)
{
    static ax_spec spec;
    return ax_spec_parse(&spec, text, "t.net", err);
}

START_TEST(spec_numbers_finite)
{
    ax_error err;
    const char *bad[] = {
        "input 3 8 8\ndropout d p=nan\n", "input 3 8 8\nlrn n alpha=nan\n", "input 3 8 8\nlrn n beta=inf\n",
        "input 3 8 8\nlrn n k=-inf\n", "input 3 8 8\nlrn n k=0\n", "input 3 8 8\nlrn n alpha=1e39\n",
        "input 3 8 8\npreprocess mean=nan,0,0\nrelu r\n", "input 3 8 8\npreprocess std=1,inf,1\nrelu r\n",
        "input 3 8 8\npreprocess scale=nan\nrelu r\n", "input 3 8 8\npreprocess std=1e-30,1,1\nrelu r\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        ck_assert_msg(parse(bad[i], &err) == AX_ERR_SPEC, "accepted: %s", bad[i]);
        ck_assert_ptr_nonnull(strstr(err.msg, "t.net:"));
    }
    ck_assert_int_eq(parse("input 3 8 8\nlrn n alpha=1e-4 beta=0.75 k=2\ndropout d p=0.5\n", &err), AX_OK);
}
END_TEST

START_TEST(spec_no_control_bytes)
{
    ax_error err;
    ck_assert_int_eq(parse("name \x1b]0;pwned\x07\ninput 3 8 8\nrelu r\n", &err), AX_ERR_SPEC);
    ck_assert_ptr_null(strchr(err.msg, 0x1b));
    ck_assert_int_eq(parse("input 3 8 8\nrelu r\x1b[2J\n", &err), AX_ERR_SPEC);
    ck_assert_int_eq(parse("input 3 8 8\nrelu r\xff\n", &err), AX_ERR_SPEC);
    ck_assert_int_eq(parse("# caf\xc3\xa9\r\ninput\t3 8 8\r\nrelu r\r\n", &err), AX_OK);
}
END_TEST

START_TEST(shapes_in_64_bits)
{
    ax_error err;
    ax_spec spec;
    ax_layer layers[4];
    ck_assert_int_eq(ax_spec_parse(&spec, "input 1 46341 46341\nflatten f\nfc o out=10\n", "big.net", &err), AX_OK);
    ck_assert_int_eq(ax_spec_resolve(&spec, layers, &err), AX_ERR_SPEC);
    ck_assert_ptr_nonnull(strstr(err.msg, "2147488281"));
    ck_assert_int_eq(ax_spec_parse(&spec, "input 3 40000 40000\nrelu r\n", "big.net", &err), AX_OK);
    ck_assert_int_eq(ax_spec_resolve(&spec, layers, &err), AX_ERR_SPEC);
    ck_assert_int_eq(ax_spec_parse(&spec, "input 256 100 100\nflatten f\nfc o out=1000000\n", "w.net", &err), AX_OK);
    ck_assert_int_eq(ax_spec_resolve(&spec, layers, &err), AX_ERR_SPEC);
    ck_assert_ptr_nonnull(strstr(err.msg, "weight"));
}
END_TEST

/* ---- silent corruption ------------------------------------------------------------- */

static unsigned char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "%s", path);
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(*n);
    ck_assert_uint_eq(fread(b, 1, *n, f), *n);
    fclose(f);
    return b;
}

/* The data offset of the zip member whose local header names `member`. */
static size_t member_data_at(const unsigned char *b, size_t n, const char *member)
{
    size_t len = strlen(member);
    for (size_t i = 0; i + 30 + len <= n; i++)
        if (!memcmp(b + i, "PK\x03\x04", 4) && (size_t)(b[i + 26] | b[i + 27] << 8) == len &&
            !memcmp(b + i + 30, member, len))
            return i + 30 + len + (size_t)(b[i + 28] | b[i + 29] << 8);
    ck_abort_msg("no member %s", member);
    return 0;
}

static ax_status open_bytes(const unsigned char *b, size_t n, const char *ext, ax_error *err)
{
    char *dir = scratch(), path[128];
    snprintf(path, sizeof path, "%s/f%s", dir, ext);
    write_bytes(path, b, n);
    ax_wfile *f = NULL;
    ax_status st = ax_wfile_open(&f, path, err);
    ax_wfile_close(f);
    unlink(path);
    rmdir(dir);
    return st;
}

START_TEST(pth_storage_crc)
{
    size_t n;
    unsigned char *b = slurp(ax_fixture("torch/tf-bench-tiny.zip.pth"), &n);
    ax_error err;
    ck_assert_msg(open_bytes(b, n, ".pth", &err) == AX_OK, "%s", err.msg);
    b[member_data_at(b, n, "tf-bench-tiny.zip/data/2") + 100] ^= 0x10;   /* one bit of a float */
    ck_assert_int_eq(open_bytes(b, n, ".pth", &err), AX_ERR_FORMAT);
    ck_assert_msg(strstr(err.msg, "CRC") != NULL, "%s", err.msg);
    free(b);
}
END_TEST

START_TEST(pth_duplicate_member)
{
    size_t n;
    unsigned char *b = slurp(ax_fixture("torch/tf-bench-tiny.zip.pth"), &n);
    /* every "data/3" (local and central headers) becomes a second "data/1" */
    const char *from = "tf-bench-tiny.zip/data/3", *to = "tf-bench-tiny.zip/data/1";
    int hits = 0;
    for (size_t i = 0; i + strlen(from) <= n; i++)
        if (!memcmp(b + i, from, strlen(from))) memcpy(b + i, to, strlen(to)), hits++;
    ck_assert_int_eq(hits, 2);
    ax_error err;
    ck_assert_int_eq(open_bytes(b, n, ".pth", &err), AX_ERR_FORMAT);
    ck_assert_msg(strstr(err.msg, "appears twice") != NULL, "%s", err.msg);
    free(b);
}
END_TEST

START_TEST(npz_stored_crc)
{
    size_t n;
    unsigned char *b = slurp(ax_fixture("weights/arrays_stored.npz"), &n);
    ax_error err;
    ck_assert_msg(open_bytes(b, n, ".npz", &err) == AX_OK, "%s", err.msg);
    b[member_data_at(b, n, "w.npy") + 170] ^= 0x01;   /* the last float's low bit */
    ck_assert_int_eq(open_bytes(b, n, ".npz", &err), AX_ERR_FORMAT);
    ck_assert_msg(strstr(err.msg, "CRC") != NULL, "%s", err.msg);
    free(b);
}
END_TEST

/* The zip CRC is summed in 4 MiB parts side by side and joined: the same
 * as one pass, at every size around the part boundary. */
START_TEST(crc_in_parts)
{
    size_t big = ((size_t)10 << 20) + 123;
    unsigned char *b = malloc(big);
    ck_assert_ptr_nonnull(b);
    for (size_t i = 0; i < big; i++) b[i] = (unsigned char)(i * 2654435761u >> 13);
    const size_t sizes[] = {0, 1, 4096, (size_t)4 << 20, ((size_t)4 << 20) + 1, ((size_t)8 << 20) - 1, big};
    for (int threads = 1; threads <= 3; threads++) {
        ax_pool_set_threads(threads);
        for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
            uint32_t want = (uint32_t)crc32_z(crc32_z(0L, Z_NULL, 0), b, sizes[k]);
            ck_assert_msg(ax_wfile_crc32(NULL, b, sizes[k]) == want, "%zu bytes, %d threads", sizes[k], threads);
        }
    }
    b[big - 7] ^= 0x20;   /* one bit in the last part changes the sum */
    ck_assert_uint_ne(ax_wfile_crc32(NULL, b, big), (uint32_t)crc32_z(crc32_z(0L, Z_NULL, 0), b, 0));
    uint32_t flipped = ax_wfile_crc32(NULL, b, big);
    b[big - 7] ^= 0x20;
    ck_assert_uint_ne(flipped, ax_wfile_crc32(NULL, b, big));
    ax_pool_set_threads(0);
    free(b);
}
END_TEST

/* A net made for weights that follow skips the seeded fill; when the load
 * then fails, the net holds the seeded weights, never uninitialised memory. */
START_TEST(weights_follow_failed_load)
{
    ax_spec spec;
    ax_error err = {0};
    char text[] = "input 3 8 8\nconv c out=4 k=3\nflatten f\nfc o out=5\n";
    ck_assert_int_eq(ax_spec_parse(&spec, text, "t.net", &err), AX_OK);
    const ax_backend *be = ax_backend_find("cpu", &err);
    ax_net *a = NULL, *b = NULL;
    ax_backend_options bo = { .weights_follow = 1 };
    ck_assert_int_eq(ax_net_create(&a, &spec, 1, be, &err), AX_OK);
    ck_assert_int_eq(ax_net_create_with(&b, &spec, 1, be, &bo, &err), AX_OK);
    char warn[256];
    ck_assert_int_ne(ax_net_load_weights(b, "/nonexistent/w.safetensors", 0, warn, sizeof warn, &err), AX_OK);
    ck_assert(b->untrained);
    for (int i = 0; i < a->nlayers; i++) {
        const ax_tensor *wa = &a->layers[i].weight, *wb = &b->layers[i].weight;
        if (!wa->ndim) continue;
        ck_assert_msg(!memcmp(wa->data, wb->data, ax_tensor_numel(wa) * sizeof(float)), "layer %d", i);
        ck_assert(!memcmp(a->layers[i].bias.data, b->layers[i].bias.data,
                          ax_tensor_numel(&a->layers[i].bias) * sizeof(float)));
    }
    ax_net_free(a);
    ax_net_free(b);
}
END_TEST

START_TEST(own_files_checksum)
{
    char *dir = scratch(), path[128];
    snprintf(path, sizeof path, "%s/w.safetensors", dir);
    float v[6] = {1, 2, 3, 4, 5, 6};
    ax_wout t = {.name = "w", .data = v, .ndim = 2, .shape = {2, 3}};
    ax_error err;
    ck_assert_int_eq(ax_safetensors_write(path, &t, 1, &err), AX_OK);
    size_t n;
    unsigned char *b = slurp(path, &n);
    ck_assert_ptr_nonnull(memmem(b, n, "alexscope.data_crc32", 20));
    ck_assert_msg(open_bytes(b, n, ".safetensors", &err) == AX_OK, "%s", err.msg);
    b[n - 3] ^= 0x40;
    ck_assert_int_eq(open_bytes(b, n, ".safetensors", &err), AX_ERR_FORMAT);
    ck_assert_msg(strstr(err.msg, "checksum") != NULL, "%s", err.msg);
    free(b);
    /* another writer's file, without the key, loads as before */
    static const char hdr[] = "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}";
    unsigned char other[8 + sizeof hdr - 1 + 4] = {sizeof hdr - 1};
    memcpy(other + 8, hdr, sizeof hdr - 1);
    ck_assert_msg(open_bytes(other, sizeof other, ".safetensors", &err) == AX_OK, "%s", err.msg);
    unlink(path);
    rmdir(dir);
}
END_TEST

static void put32(unsigned char *p, int32_t v) { memcpy(p, &v, 4); }

START_TEST(darknet_versions_and_damage)
{
    ax_error err;
    unsigned char b[20 + 4 * 16 + 3];
    memset(b, 0, sizeof b);
    /* all zero, a whole number of floats: "Darknet 0.0.0" no more */
    ck_assert_int_eq(open_bytes(b, 16 + 4 * 16, ".weights", &err), AX_ERR_FORMAT);
    ck_assert_msg(strstr(err.msg, "0.0.0") == NULL, "%s", err.msg);
    put32(b + 4, 2);   /* 0.2.0, a 20-byte header */
    ck_assert_msg(open_bytes(b, 20 + 4 * 16, ".weights", &err) == AX_OK, "%s", err.msg);
    ck_assert_int_eq(open_bytes(b, 20 + 4 * 16 + 3, ".weights", &err), AX_ERR_FORMAT);
    ck_assert_msg(strstr(err.msg, "not whole float32") && strstr(err.msg, "3 bytes left over"), "%s", err.msg);
    float nan = NAN;
    memcpy(b + 20 + 4 * 5, &nan, 4);
    ck_assert_int_eq(open_bytes(b, 20 + 4 * 16, ".weights", &err), AX_ERR_FORMAT);
    ck_assert_msg(strstr(err.msg, "value 5") && strstr(err.msg, "NaN"), "%s", err.msg);
}
END_TEST

static Suite *hostile_suite(void)
{
    Suite *s = suite_create("hostile");
    TCase *tc = tcase_create("text");
    tcase_add_test(tc, clean_escapes);
    tcase_add_test(tc, error_messages_are_clean);
    tcase_add_test(tc, name_rule);
    suite_add_tcase(s, tc);
    tc = tcase_create("files");
    tcase_add_test(tc, writer_replaces_whole_or_not_at_all);
    tcase_add_test(tc, facts_are_bounded);
    suite_add_tcase(s, tc);
    tc = tcase_create("corruption");
    tcase_add_test(tc, pth_storage_crc);
    tcase_add_test(tc, pth_duplicate_member);
    tcase_add_test(tc, npz_stored_crc);
    tcase_add_test(tc, crc_in_parts);
    tcase_add_test(tc, weights_follow_failed_load);
    tcase_add_test(tc, own_files_checksum);
    tcase_add_test(tc, darknet_versions_and_damage);
    suite_add_tcase(s, tc);
    tc = tcase_create("spec");
    tcase_add_test(tc, spec_numbers_finite);
    tcase_add_test(tc, spec_no_control_bytes);
    tcase_add_test(tc, shapes_in_64_bits);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return ax_run_suite(hostile_suite());
}
