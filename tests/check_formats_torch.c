/* PyTorch torch.save (zip and legacy) and Darknet .weights: every good file
 * loads to bit-identical activations as the safetensors original; broken and
 * hostile files are refused with one clear message, and pickled calls run
 * nothing. Fixtures: tests/fixtures/torch/ and tests/fixtures/darknet/, made
 * by the scripts beside them. */
#include "check_util.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alexscope/backend.h"
#include "alexscope/image.h"
#include "alexscope/net.h"
#include "alexscope/spec.h"
#include "alexscope/weights.h"
#include "weights/wfile_internal.h"

/* As tests/check_reference.c: two float32 implementations of the same
 * arithmetic (the Darknet fixture's reference runs in float64). */
#define REF_ATOL_OF_MAX 1e-4
#define REF_RTOL 1e-4

typedef struct {
    ax_net *net;
    float *acts;    /* every layer's output, one after the other */
    size_t n;
} run_out;

static void fx(char *buf, size_t size, const char *name)
{
    snprintf(buf, size, "%s", ax_fixture(name));
}

/* Net from spec, weights from `weights`, input from `input`; runs every
 * layer and keeps the net (for the caller's checks) and all outputs. */
static ax_status run_net(run_out *r, const char *spec_name, const char *input_name, const char *weights,
                         char *warn, size_t warn_size, ax_error *err)
{
    char path[4096];
    memset(r, 0, sizeof *r);
    ax_spec *spec = malloc(sizeof *spec);
    ck_assert_ptr_nonnull(spec);
    fx(path, sizeof path, spec_name);
    ax_status st = ax_spec_load(spec, path, err);
    ck_assert_msg(st == AX_OK, "%s", err->msg);
    float *input = NULL;
    int n, c, h, w;
    fx(path, sizeof path, input_name);
    st = ax_input_npy_load(&input, &n, &c, &h, &w, path, err);
    ck_assert_msg(st == AX_OK, "%s", err->msg);
    st = ax_net_create(&r->net, spec, n, &ax_backend_cpu, err);
    free(spec);
    ck_assert_msg(st == AX_OK, "%s", err->msg);
    st = ax_net_load_weights(r->net, weights, 0, warn, warn_size, err);
    if (st) {
        free(input);
        return st;
    }
    st = ax_net_set_input(r->net, input, n, c, h, w, err);
    free(input);
    ck_assert_msg(st == AX_OK, "%s", err->msg);
    st = ax_net_forward(r->net, err);
    ck_assert_msg(st == AX_OK, "%s", err->msg);
    for (int i = 0; i < r->net->nlayers; i++) r->n += ax_tensor_numel(&r->net->layers[i].out);
    r->acts = malloc(r->n * sizeof(float));
    ck_assert_ptr_nonnull(r->acts);
    size_t at = 0;
    for (int i = 0; i < r->net->nlayers; i++) {
        const ax_tensor *o = ax_net_output(r->net, i);
        ck_assert_ptr_nonnull(o);
        memcpy(r->acts + at, o->data, ax_tensor_numel(o) * sizeof(float));
        at += ax_tensor_numel(o);
    }
    return AX_OK;
}

static void run_free(run_out *r)
{
    free(r->acts);
    ax_net_free(r->net);
}

/* Loads `weights` (a fixture name) and `original`; every layer's output
 * must be the same bytes. Loading says `note` (or nothing when NULL). */
static void same_acts(const char *spec, const char *input, const char *weights, const char *original,
                      const char *note)
{
    char a[4096], b[4096], warn[512];
    ax_error err = {0};
    run_out x, y;
    fx(a, sizeof a, weights);
    fx(b, sizeof b, original);
    ck_assert_msg(run_net(&x, spec, input, a, warn, sizeof warn, &err) == AX_OK, "%s", err.msg);
    if (note)
        ck_assert_msg(strstr(warn, note) != NULL, "%s: loading notes lack '%s': '%s'", weights, note, warn);
    else
        ck_assert_msg(warn[0] == 0, "%s: unexpected notes: '%s'", weights, warn);
    ck_assert_msg(run_net(&y, spec, input, b, warn, sizeof warn, &err) == AX_OK, "%s", err.msg);
    ck_assert_uint_eq(x.n, y.n);
    size_t at = 0;
    for (int i = 0; i < x.net->nlayers; i++) {
        size_t k = ax_tensor_numel(&x.net->layers[i].out);
        ck_assert_msg(memcmp(x.acts + at, y.acts + at, k * sizeof(float)) == 0,
                      "%s: layer %d '%s' differs from %s's", weights, i, x.net->layers[i].spec.name, original);
        at += k;
    }
    /* and the weights were really read: not the seeded initialisation */
    ck_assert_int_eq(x.net->untrained, 0);
    run_free(&x);
    run_free(&y);
}

static ax_wfile *open_ok(const char *name)
{
    char path[4096];
    ax_error err = {0};
    ax_wfile *f = NULL;
    fx(path, sizeof path, name);
    ck_assert_msg(ax_wfile_open(&f, path, &err) == AX_OK, "%s", err.msg);
    return f;
}

/* Opening (and, with a spec, loading into a net) fails; the message names
 * the file and holds every one of the NULL-terminated phrases. */
static void refused(const char *name, const char *spec, const char *input, const char *phrase, ...)
{
    char path[4096], warn[512];
    ax_error err = {0};
    fx(path, sizeof path, name);
    ax_status st;
    if (spec) {
        run_out r;
        st = run_net(&r, spec, input, path, warn, sizeof warn, &err);
        ax_net_free(r.net);
    } else {
        ax_wfile *f = NULL;
        st = ax_wfile_open(&f, path, &err);
        ax_wfile_close(f);
    }
    ck_assert_msg(st != AX_OK, "%s was accepted", name);
    ck_assert_msg(strncmp(err.msg, path, strlen(path)) == 0, "message does not start with the file: %s", err.msg);
    va_list ap;
    va_start(ap, phrase);
    for (const char *p = phrase; p; p = va_arg(ap, const char *))
        ck_assert_msg(strstr(err.msg, p) != NULL, "message lacks '%s': %s", p, err.msg);
    va_end(ap);
}

static int has_fact(const ax_wfile *f, const char *s)
{
    return f->facts && strstr(f->facts, s) != NULL;
}

/* ---- PyTorch -------------------------------------------------------------- */

START_TEST(test_zip_same_acts)
{
    same_acts("ref/tf-bench-tiny.net", "ref/tf-bench-tiny.input.npy", "torch/tf-bench-tiny.zip.pth",
              "ref/tf-bench-tiny.safetensors", NULL);
    ax_wfile *f = open_ok("torch/tf-bench-tiny.zip.pth");
    ck_assert_str_eq(f->format, "torch-zip");
    ck_assert_int_eq(f->count, 10);
    ck_assert(has_fact(f, "container: PyTorch zip"));
    ck_assert(has_fact(f, "pickle protocol 2"));
    ck_assert(has_fact(f, "torch._utils._rebuild_tensor_v2"));
    ck_assert(has_fact(f, "10 storages"));
    /* stored members are used in place: entries point into the mapping */
    const ax_wentry *e = ax_wfile_find(f, "conv1.weight");
    ck_assert_ptr_nonnull(e);
    const char *m = f->map;
    ck_assert_msg(m && (const char *)e->data >= m && (const char *)e->data + e->nbytes <= m + f->map_size,
                  "conv1.weight is not inside the file's mapping");
    ck_assert_uint_eq((uintptr_t)e->data % 64, 0);
    ax_wfile_close(f);
}
END_TEST

START_TEST(test_legacy_same_acts)
{
    same_acts("ref/tf-bench-tiny.net", "ref/tf-bench-tiny.input.npy", "torch/tf-bench-tiny.legacy.pth",
              "ref/tf-bench-tiny.safetensors", NULL);
    ax_wfile *f = open_ok("torch/tf-bench-tiny.legacy.pth");
    ck_assert_str_eq(f->format, "torch-legacy");
    ck_assert(has_fact(f, "legacy protocol version 1001"));
    ax_wfile_close(f);
}
END_TEST

START_TEST(test_checkpoint_module_prefix)
{
    same_acts("ref/tf-bench-tiny.net", "ref/tf-bench-tiny.input.npy", "torch/tf-bench-tiny.ckpt.pth",
              "ref/tf-bench-tiny.safetensors", "note: ");
    ax_wfile *f = open_ok("torch/tf-bench-tiny.ckpt.pth");
    ck_assert(has_fact(f, "checkpoint: tensors read from 'state_dict'"));
    ck_assert(has_fact(f, "'epoch'"));
    ck_assert(has_fact(f, "stripped the 'module.' prefix"));
    /* and loading into a net says it, as a note */
    {
        char path[4096], notes[1024];
        ax_error e2 = {0};
        run_out r;
        fx(path, sizeof path, "torch/tf-bench-tiny.ckpt.pth");
        ck_assert_msg(run_net(&r, "ref/tf-bench-tiny.net", "ref/tf-bench-tiny.input.npy", path, notes, sizeof notes,
                              &e2) == AX_OK, "%s", e2.msg);
        ck_assert_msg(strstr(notes, "note: ") && strstr(notes, "'module.' prefix"), "notes: '%s'", notes);
        run_free(&r);
    }
    ck_assert_ptr_nonnull(ax_wfile_find(f, "conv5.bias"));
    ck_assert_ptr_null(ax_wfile_find(f, "module.conv5.bias"));
    /* the binding says so too, for the net's load note */
    char notes[256] = "";
    ax_error err = {0};
    ck_assert_int_eq(ax_wfile_bind(f, NULL, notes, sizeof notes, &err), AX_OK);
    ck_assert_msg(strstr(notes, "module."), "no note: '%s'", notes);
    ax_wfile_close(f);
}
END_TEST

START_TEST(test_legacy_model_key)
{
    same_acts("ref/tf-bench-tiny.net", "ref/tf-bench-tiny.input.npy", "torch/tf-bench-tiny.model.legacy.pth",
              "ref/tf-bench-tiny.safetensors", NULL);
    ax_wfile *f = open_ok("torch/tf-bench-tiny.model.legacy.pth");
    ck_assert(has_fact(f, "checkpoint: tensors read from 'model'"));
    ck_assert(!has_fact(f, "module."));
    ax_wfile_close(f);
}
END_TEST

START_TEST(test_f16_storages)
{
    same_acts("ref/tf-bench-tiny.net", "ref/tf-bench-tiny.input.npy", "torch/tf-bench-tiny.f16.pth",
              "torch/tf-bench-tiny.f16.safetensors", NULL);
    ax_wfile *f = open_ok("torch/tf-bench-tiny.f16.pth");
    ck_assert_int_eq(ax_wfile_find(f, "conv1.weight")->dtype, AX_DT_F16);
    ax_wfile_close(f);
}
END_TEST

/* f16, bf16, f64, a 2-D copy and a view at a storage offset all convert to
 * the f32 values; the int64 tensor is passed over and said to be. */
static void check_dtypes(const char *name, const char *format)
{
    ax_wfile *f = open_ok(name);
    ck_assert_str_eq(f->format, format);
    ck_assert_int_eq(f->count, 7);
    ck_assert_ptr_null(ax_wfile_find(f, "steps"));
    ck_assert(has_fact(f, "passed over 1 integer tensors (e.g. 'steps')"));
    const ax_wentry *ref = ax_wfile_find(f, "f32");
    ck_assert_ptr_nonnull(ref);
    float want[6], got[6];
    ck_assert_uint_eq(ax_wentry_numel(ref), 6);
    ax_wentry_to_f32(ref, want);
    static const struct { const char *name; ax_dtype dt; int ndim; } cases[] = {
        {"f16", AX_DT_F16, 1}, {"bf16", AX_DT_BF16, 1}, {"f64", AX_DT_F64, 1}, {"grid", AX_DT_F32, 2},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const ax_wentry *e = ax_wfile_find(f, cases[i].name);
        ck_assert_msg(e != NULL, "%s: no '%s'", name, cases[i].name);
        ck_assert_int_eq(e->dtype, cases[i].dt);
        ck_assert_int_eq(e->ndim, cases[i].ndim);
        ck_assert_uint_eq(ax_wentry_numel(e), 6);
        ax_wentry_to_f32(e, got);
        ck_assert_msg(memcmp(got, want, sizeof got) == 0, "%s: '%s' converts to other values", name, cases[i].name);
    }
    const ax_wentry *v = ax_wfile_find(f, "view"), *vr = ax_wfile_find(f, "view_f32");
    ck_assert_ptr_nonnull(v);
    ck_assert_ptr_nonnull(vr);
    ck_assert_uint_eq(v->nbytes, 24);
    ck_assert_msg(memcmp(v->data, vr->data, 24) == 0, "%s: the view at storage offset 4 reads other values", name);
    ck_assert(want[3] == 1024.0f && want[1] == -2.0f);   /* the fixture's values, not zeros */
    ax_wfile_close(f);
}

START_TEST(test_dtypes_zip) { check_dtypes("torch/dtypes.pth", "torch-zip"); }
END_TEST
START_TEST(test_dtypes_legacy) { check_dtypes("torch/dtypes.legacy.pth", "torch-legacy"); }
END_TEST

/* Python 2's legacy files: BINSTRING keys, _rebuild_tensor, 6-item ids;
 * the fixture script checks torch.load reads the same three values. */
START_TEST(test_python2_legacy)
{
    ax_wfile *f = open_ok("torch/py2.legacy.pth");
    ck_assert_str_eq(f->format, "torch-legacy");
    const ax_wentry *e = ax_wfile_find(f, "w");
    ck_assert_ptr_nonnull(e);
    ck_assert_uint_eq(ax_wentry_numel(e), 3);
    float got[3];
    ax_wentry_to_f32(e, got);
    ck_assert(got[0] == 1.5f && got[1] == -2.0f && got[2] == 0.25f);
    ck_assert(has_fact(f, "torch._utils._rebuild_tensor,"));
    ax_wfile_close(f);
}
END_TEST

/* torch >= 2's _rebuild_tensor_v3: an untyped (byte) storage, the offset in
 * elements of the dtype given as the 7th argument; uint16 is passed over as
 * an integer tensor, float8 is refused by name (make_v3_fixtures.py checks
 * the values with Python's own unpickler). */
START_TEST(test_rebuild_v3)
{
    ax_wfile *f = open_ok("torch/v3.pth");
    ck_assert_str_eq(f->format, "torch-zip");
    ck_assert_int_eq(f->count, 2);
    const ax_wentry *w = ax_wfile_find(f, "w"), *b = ax_wfile_find(f, "b");
    ck_assert_ptr_nonnull(w);
    ck_assert_ptr_nonnull(b);
    ck_assert_ptr_null(ax_wfile_find(f, "count"));
    ck_assert(has_fact(f, "passed over 1 integer tensors (e.g. 'count')"));
    float got[4];
    ck_assert_int_eq(w->dtype, AX_DT_F32);
    ck_assert_uint_eq(ax_wentry_numel(w), 4);
    ax_wentry_to_f32(w, got);
    ck_assert(got[0] == 2.0f && got[1] == 3.0f && got[2] == 4.0f && got[3] == 5.0f);
    ax_wentry_to_f32(b, got);
    ck_assert(got[0] == 0.5f && got[1] == -1.5f);
    ax_wfile_close(f);
    refused("torch/float8.pth", NULL, NULL, "tensor 'q'", "float8", NULL);
}
END_TEST

START_TEST(test_noncontiguous)
{
    refused("torch/noncontig.pth", NULL, NULL, "tensor 'w'", "not contiguous", "(3, 2)", "(1, 3)", NULL);
}
END_TEST

/* The hostile pickles are refused by the global's name and their payload,
 * which Python's unpickler does run (the fixture script checks), leaves
 * no file behind. */
static void hostile(const char *name, const char *global, const char *tag)
{
    char marker[256];
    snprintf(marker, sizeof marker, "/tmp/alexscope-pickle-payload-%s", tag);
    if (unlink(marker) != 0) ck_assert_int_eq(errno, ENOENT);
    refused(name, NULL, NULL, global, "runs nothing", NULL);
    refused(name, "ref/tf-bench-tiny.net", "ref/tf-bench-tiny.input.npy", global, NULL);
    ck_assert_msg(access(marker, F_OK) != 0, "%s: the payload ran: %s exists", name, marker);
}

START_TEST(test_os_system) { hostile("torch/os_system.pth", "os.system", "os_system"); }
END_TEST
START_TEST(test_builtins_eval) { hostile("torch/builtins_eval.pth", "builtins.eval", "builtins_eval"); }
END_TEST
START_TEST(test_posix_system_legacy) { hostile("torch/posix_system.legacy.pth", "posix.system", "posix_system"); }
END_TEST

START_TEST(test_truncated_zip)
{
    refused("torch/truncated.pth", NULL, NULL, "truncated", NULL);
}
END_TEST

START_TEST(test_member_not_storage)
{
    refused("torch/not_storage.pth", NULL, NULL, "dtypes/data/0", "not the storage", "22 bytes", NULL);
}
END_TEST

START_TEST(test_big_endian_refused)
{
    refused("torch/bigendian.pth", NULL, NULL, "big-endian", "byteorder", NULL);
}
END_TEST

/* Every prefix of a good file is refused cleanly (no crash, a message). */
START_TEST(test_prefixes_refused)
{
    static const char *names[] = {"torch/dtypes.pth", "torch/dtypes.legacy.pth"};
    for (size_t k = 0; k < 2; k++) {
        char path[4096];
        fx(path, sizeof path, names[k]);
        FILE *fp = fopen(path, "rb");
        ck_assert_ptr_nonnull(fp);
        static uint8_t buf[1 << 16];
        size_t n = fread(buf, 1, sizeof buf, fp);
        fclose(fp);
        ck_assert_uint_gt(n, 500);
        for (size_t len = 0; len < n; len++) {
            ax_wfile *f = calloc(1, sizeof *f);
            ck_assert_ptr_nonnull(f);
            ax_error err = {0};
            uint8_t *copy = malloc(len + 1);   /* exactly len bytes readable, for ASan */
            memcpy(copy, buf, len);
            ax_status st = ax_torch_sniff(copy, len) ? ax_torch_parse(f, copy, len, names[k], &err) : AX_ERR_FORMAT;
            ck_assert_msg(st != AX_OK, "%s cut to %zu of %zu bytes was accepted", names[k], len, n);
            ck_assert_int_eq(f->count, 0);
            ax_wfile_close(f);
            free(copy);
        }
    }
}
END_TEST

/* A zip64 locator in a file shorter than a zip64 record: the record's
 * offset is checked against the size before it is read (found by fuzzing;
 * tests/fuzz/regress/torch/zip64-locator-in-50-byte-file). */
START_TEST(test_zip64_locator_short_file)
{
    static const uint8_t bytes[50] = {
        'P', 'K', 3, 4, 0, 0, 8, 8, 'P', 'K', 6, 7, 0, 0, 2, 0, 0x3d, 9, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,
        'P', 'K', 5, 6, 0, 0, 0, 0, 8, 0, 8, 0, 0xff, 0xff, 0xff, 0xff, 0x52, 7, 0, 0, 0, 0};
    uint8_t *copy = malloc(sizeof bytes);   /* exactly 50 readable bytes */
    ck_assert_ptr_nonnull(copy);
    memcpy(copy, bytes, sizeof bytes);
    ck_assert_int_eq(ax_torch_sniff(copy, sizeof bytes), 0);
    ax_wfile *f = calloc(1, sizeof *f);
    ax_error err = {0};
    ck_assert_int_ne(ax_torch_parse(f, copy, sizeof bytes, "short.pth", &err), AX_OK);
    ax_wfile_close(f);
    free(copy);
}
END_TEST

/* The format comes from the content, never the name. */
START_TEST(test_chosen_by_content)
{
    char src[4096], dst[] = "/tmp/alexscope-torch-XXXXXX.safetensors";
    fx(src, sizeof src, "torch/tf-bench-tiny.legacy.pth");
    int fd = mkstemps(dst, 12);
    ck_assert_int_ge(fd, 0);
    FILE *in = fopen(src, "rb");
    ck_assert_ptr_nonnull(in);
    char block[4096];
    size_t n;
    while ((n = fread(block, 1, sizeof block, in)) > 0) ck_assert_int_eq(write(fd, block, n), (ssize_t)n);
    fclose(in);
    close(fd);
    ax_wfile *f = NULL;
    ax_error err = {0};
    ck_assert_msg(ax_wfile_open(&f, dst, &err) == AX_OK, "%s", err.msg);
    ck_assert_str_eq(f->format, "torch-legacy");
    ax_wfile_close(f);
    unlink(dst);
}
END_TEST

/* ---- Darknet ---------------------------------------------------------------- */

START_TEST(test_darknet_same_acts)
{
    same_acts("darknet/darknet-tiny.net", "darknet/darknet-tiny.input.npy", "darknet/darknet-tiny.weights",
              "darknet/darknet-tiny.safetensors", "Darknet weights sliced");
    same_acts("darknet/darknet-tiny.net", "darknet/darknet-tiny.input.npy", "darknet/darknet-tiny.t.weights",
              "darknet/darknet-tiny.safetensors", "transposed from (in, out)");
    ax_wfile *f = open_ok("darknet/darknet-tiny.weights");
    ck_assert_str_eq(f->format, "darknet");
    ck_assert(has_fact(f, "version 0.2.0"));
    ck_assert(has_fact(f, "seen: 1234567 images (64-bit counter)"));
    ax_wfile_close(f);
    f = open_ok("darknet/darknet-tiny.t.weights");
    ck_assert(has_fact(f, "seen: 1234567 images (32-bit counter)"));
    ck_assert(has_fact(f, "transposed"));
    ax_wfile_close(f);
}
END_TEST

/* Every layer of a run against the activations an independent script saved
 * (an .npz by layer name), each within the reference tolerance of its scale. */
static void check_acts(const run_out *r, const char *npz, const char *what)
{
    ax_wfile *acts = open_ok(npz);
    ck_assert_int_eq(acts->count, r->net->nlayers);
    size_t at = 0;
    for (int i = 0; i < r->net->nlayers; i++) {
        const ax_tensor *o = &r->net->layers[i].out;
        const ax_wentry *e = ax_wfile_find(acts, r->net->layers[i].spec.name);
        ck_assert_msg(e != NULL, "no reference for '%s'", r->net->layers[i].spec.name);
        size_t n = ax_tensor_numel(o);
        ck_assert_int_eq(e->ndim, o->ndim);
        for (int d = 0; d < o->ndim; d++) ck_assert_int_eq(e->shape[d], o->shape[d]);
        float *ref = malloc(n * sizeof *ref);
        ck_assert_ptr_nonnull(ref);
        ax_wentry_to_f32(e, ref);
        float m = 0;
        for (size_t k = 0; k < n; k++) m = fmaxf(m, fabsf(ref[k]));
        char label[128];
        snprintf(label, sizeof label, "%s layer %d '%s'", what, i, r->net->layers[i].spec.name);
        check_close(r->acts + at, ref, n, REF_ATOL_OF_MAX * m, REF_RTOL, label);
        free(ref);
        at += n;
    }
    ax_wfile_close(acts);
}

/* Against an independent float64 rendering of Darknet's arithmetic
 * (tests/fixtures/darknet/make_darknet_fixtures.py), layer by layer. */
START_TEST(test_darknet_reference)
{
    char path[4096], warn[512];
    ax_error err = {0};
    run_out r;
    fx(path, sizeof path, "darknet/darknet-tiny.weights");
    ck_assert_msg(run_net(&r, "darknet/darknet-tiny.net", "darknet/darknet-tiny.input.npy", path, warn, sizeof warn,
                          &err) == AX_OK, "%s", err.msg);
    check_acts(&r, "darknet/darknet-tiny.acts.npz", "darknet-tiny");
    /* Darknet's default maxpool padding: 6 -> 3 and 3 -> 2, not Caffe's 2 and 1 */
    int p2 = ax_net_find(r.net, "pool2"), p5 = ax_net_find(r.net, "pool5");
    ck_assert_int_eq(r.net->layers[p2].out.shape[2], 3);
    ck_assert_int_eq(r.net->layers[p5].out.shape[2], 2);
    run_free(&r);
}
END_TEST

/* batch_normalize=1 layers (bn=darknet and bn=alexeyab, convolutional and
 * connected) folded as they load, against Darknet's unfolded arithmetic in
 * float64 (make_darknet_bn_fixtures.py), layer by layer; the same file with
 * the statistics not declared is refused by its length. */
START_TEST(test_darknet_batchnorm)
{
    char path[4096], warn[512];
    ax_error err = {0};
    run_out r;
    fx(path, sizeof path, "darknet/darknet-bn.weights");
    ck_assert_msg(run_net(&r, "darknet/darknet-bn.net", "darknet/darknet-bn.input.npy", path, warn, sizeof warn,
                          &err) == AX_OK, "%s", err.msg);
    check_acts(&r, "darknet/darknet-bn.acts.npz", "darknet-bn");
    run_free(&r);
    /* without bn= the stream is 3 floats per output too long for the spec */
    char spec[4096], plain[64];
    fx(spec, sizeof spec, "darknet/darknet-bn.net");
    FILE *in = fopen(spec, "r");
    ck_assert_ptr_nonnull(in);
    snprintf(plain, sizeof plain, "/tmp/ax_darknet_plain_%d.net", (int)getpid());
    FILE *out = fopen(plain, "w");
    ck_assert_ptr_nonnull(out);
    char line[512];
    while (fgets(line, sizeof line, in)) {
        char *bn = strstr(line, " bn=");
        if (bn) strcpy(bn, "\n");
        fputs(line, out);
    }
    fclose(in);
    fclose(out);
    ax_spec sp;
    ck_assert_msg(ax_spec_load(&sp, plain, &err) == AX_OK, "%s", err.msg);
    ax_net *net = NULL;
    ck_assert_int_eq(ax_net_create(&net, &sp, 1, ax_backend_find("cpu", &err), &err), AX_OK);
    ck_assert_int_eq(ax_net_load_weights(net, path, 0, warn, sizeof warn, &err), AX_ERR_SHAPE);
    ck_assert_msg(strstr(err.msg, "too long") && strstr(err.msg, "batch-normalized"), "%s", err.msg);
    ax_net_free(net);
    unlink(plain);
}
END_TEST

START_TEST(test_darknet_short_long)
{
    /* 13154 floats needed; the short file has 1000, the long one 13155 */
    refused("darknet/darknet-tiny.short.weights", "darknet/darknet-tiny.net", "darknet/darknet-tiny.input.npy",
            "1000 floats", "need 13154", "48616 bytes too short", NULL);
    refused("darknet/darknet-tiny.long.weights", "darknet/darknet-tiny.net", "darknet/darknet-tiny.input.npy",
            "13155 floats", "need 13154", "4 bytes too long", NULL);
    /* and into another model: the expected size is that model's */
    refused("darknet/darknet-tiny.weights", "ref/tf-bench-tiny.net", "ref/tf-bench-tiny.input.npy",
            "13154 floats", "tf-bench-tiny", NULL);
}
END_TEST

/* The built-in darknet spec: cfg/alexnet.cfg's shapes, worked by hand from
 * Darknet's arithmetic (conv (227-11)/4+1 = 55; maxpool padding=0:
 * (55-3)/2+1 = 27, 13, 6), and the parameter count a .weights file holds. */
START_TEST(test_darknet_builtin_spec)
{
    ax_spec *spec = malloc(sizeof *spec);
    ax_error err = {0};
    ck_assert_msg(ax_spec_load(spec, "darknet", &err) == AX_OK, "%s", err.msg);
    ck_assert_int_eq(spec->in_h, 227);
    ck_assert_int_eq(spec->pre.bgr, 0);
    ck_assert(spec->pre.scale == 1.0f);
    ax_net *net = NULL;
    ck_assert_msg(ax_net_create(&net, spec, 1, &ax_backend_cpu, &err) == AX_OK, "%s", err.msg);
    static const struct { const char *layer; int c, h; } want[] = {
        {"conv1", 96, 55}, {"pool1", 96, 27}, {"conv2", 256, 27}, {"pool2", 256, 13},
        {"conv3", 384, 13}, {"conv4", 384, 13}, {"conv5", 256, 13}, {"pool5", 256, 6},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        int k = ax_net_find(net, want[i].layer);
        ck_assert_int_ge(k, 0);
        ck_assert_int_eq(net->layers[k].out.shape[1], want[i].c);
        ck_assert_int_eq(net->layers[k].out.shape[2], want[i].h);
        ck_assert_int_eq(net->layers[k].out.shape[3], want[i].h);
    }
    size_t floats = 0;
    for (int i = 0; i < net->nlayers; i++)
        if (net->layers[i].weight.ndim)
            floats += ax_tensor_numel(&net->layers[i].weight) + ax_tensor_numel(&net->layers[i].bias);
    /* conv 3,747,200 + fc 37,752,832 + 16,781,312 + 4,097,000 */
    ck_assert_uint_eq(floats, 62378344);
    ck_assert_int_eq(net->layers[ax_net_find(net, "fc6")].weight.shape[1], 9216);
    ax_net_free(net);
    free(spec);
}
END_TEST

/* A file shorter than a header, or with a version Darknet never wrote, is
 * no Darknet file; a plausible one is, whatever its name. One whose float
 * count is not whole, or that holds a NaN, has a Darknet header: the sniff
 * takes it and the parse says what is wrong with it (issue 20). */
START_TEST(test_darknet_sniff)
{
    uint8_t b[20 + 16] = {0};
    ax_error err;
    ck_assert_int_eq(ax_darknet_sniff(b, sizeof b), 0);   /* 0.0.0: all zero */
    b[4] = 2;   /* 0.2.0, 64-bit seen */
    ck_assert_int_eq(ax_darknet_sniff(b, sizeof b), 1);
    ck_assert_int_eq(ax_darknet_sniff(b, sizeof b - 1), 1);
    {
        ax_wfile *f = calloc(1, sizeof *f);
        ck_assert_int_eq(ax_darknet_parse(f, b, sizeof b - 1, "t.weights", &err), AX_ERR_FORMAT);
        ck_assert_ptr_nonnull(strstr(err.msg, "not whole float32 values"));
        ax_wfile_close(f);
    }
    ck_assert_int_eq(ax_darknet_sniff(b, 20), 0);
    ck_assert_int_eq(ax_darknet_sniff(b, 12), 0);
    b[0] = 200;   /* implausible major */
    ck_assert_int_eq(ax_darknet_sniff(b, sizeof b), 0);
    b[0] = 0;
    float nan = NAN;
    memcpy(b + 20, &nan, 4);
    ck_assert_int_eq(ax_darknet_sniff(b, sizeof b), 1);
    ax_wfile *f = calloc(1, sizeof *f);
    ck_assert_int_eq(ax_darknet_parse(f, b, sizeof b, "t.weights", &err), AX_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(err.msg, "value 0 (byte 20) is NaN"));
    ax_wfile_close(f);
}
END_TEST

static Suite *formats_suite(void)
{
    Suite *s = suite_create("formats_torch");
    TCase *t = tcase_create("pytorch");
    tcase_set_timeout(t, AX_CHECK_TIMEOUT);
    tcase_add_test(t, test_zip_same_acts);
    tcase_add_test(t, test_legacy_same_acts);
    tcase_add_test(t, test_checkpoint_module_prefix);
    tcase_add_test(t, test_legacy_model_key);
    tcase_add_test(t, test_f16_storages);
    tcase_add_test(t, test_dtypes_zip);
    tcase_add_test(t, test_dtypes_legacy);
    tcase_add_test(t, test_python2_legacy);
    tcase_add_test(t, test_rebuild_v3);
    tcase_add_test(t, test_noncontiguous);
    tcase_add_test(t, test_os_system);
    tcase_add_test(t, test_builtins_eval);
    tcase_add_test(t, test_posix_system_legacy);
    tcase_add_test(t, test_truncated_zip);
    tcase_add_test(t, test_member_not_storage);
    tcase_add_test(t, test_big_endian_refused);
    tcase_add_test(t, test_prefixes_refused);
    tcase_add_test(t, test_chosen_by_content);
    tcase_add_test(t, test_zip64_locator_short_file);
    suite_add_tcase(s, t);
    TCase *d = tcase_create("darknet");
    tcase_set_timeout(d, AX_CHECK_TIMEOUT);
    tcase_add_test(d, test_darknet_same_acts);
    tcase_add_test(d, test_darknet_reference);
    tcase_add_test(d, test_darknet_batchnorm);
    tcase_add_test(d, test_darknet_short_long);
    tcase_add_test(d, test_darknet_builtin_spec);
    tcase_add_test(d, test_darknet_sniff);
    suite_add_tcase(s, d);
    return s;
}

int main(void)
{
    return ax_run_suite(formats_suite());
}
