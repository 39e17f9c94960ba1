/* Reference suite: steps four reduced-width AlexNet variants through the
 * engine layer by layer and compares every output with PyTorch's, from the
 * fixtures tests/fixtures/ref/make_fixtures.py wrote. It only reads them, never regenerates. */
#include "check_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alexscope/analysis.h"
#include "alexscope/backend.h"
#include "alexscope/image.h"
#include "alexscope/net.h"
#include "alexscope/spec.h"
#include "alexscope/weights.h"

/* Tolerance, per layer, relative to that layer's largest reference value:
 * |got - ref| <= 1e-4 * max|ref| + 1e-4 * |ref|. Both sides are float32 and
 * differ only in summation order (im2col + OpenBLAS sgemm against PyTorch's
 * own kernels) and in powf. tests/fixtures/ref/make_fixtures.py runs every net in float64
 * too: float32 drifts from it by at most 4e-6 of max|ref| up to the class
 * scores and 1.2e-5 after the softmax, which magnifies score errors. Two
 * float32 implementations stay inside 1e-4 with room to spare, while a real
 * mistake (a padding cell, a window, an LRN constant, a flatten order) moves
 * values by percents. */
#define REF_ATOL_OF_MAX 1e-4
#define REF_RTOL 1e-4
#define TOPK 5

typedef struct {
    ax_net *net;
    ax_wfile *acts;     /* the reference outputs, one npz member per layer */
    float *ref;         /* scratch for one converted member */
} ref_case;

static const char *fixture_path(char *buf, size_t size, const char *net, const char *ext)
{
    char name[256];
    snprintf(name, sizeof name, "ref/%s%s", net, ext);
    snprintf(buf, size, "%s", ax_fixture(name));
    return buf;
}

/* Spec, net at the input's batch, strict weights, input: ready to step. */
static void ref_open(ref_case *rc, const char *netname)
{
    char path[4096];
    ax_error err = {0};
    ax_spec *spec = malloc(sizeof *spec);
    ck_assert_ptr_nonnull(spec);
    ax_status st = ax_spec_load(spec, fixture_path(path, sizeof path, netname, ".net"), &err);
    ck_assert_msg(st == AX_OK, "%s", err.msg);

    float *input = NULL;
    int n, c, h, w;
    st = ax_input_npy_load(&input, &n, &c, &h, &w, fixture_path(path, sizeof path, netname, ".input.npy"), &err);
    ck_assert_msg(st == AX_OK, "%s", err.msg);
    ck_assert_msg(c == spec->in_c && h == spec->in_h && w == spec->in_w,
                  "%s: input (%d, %d, %d, %d) does not match the spec's %d %d %d",
                  netname, n, c, h, w, spec->in_c, spec->in_h, spec->in_w);

    st = ax_net_create(&rc->net, spec, n, &ax_backend_cpu, &err);
    ck_assert_msg(st == AX_OK, "%s", err.msg);
    free(spec);
    char warn[512];
    st = ax_net_load_weights(rc->net, fixture_path(path, sizeof path, netname, ".safetensors"), 0,
                             warn, sizeof warn, &err);
    ck_assert_msg(st == AX_OK, "%s", err.msg);
    ck_assert_msg(warn[0] == 0, "%s: unexpected warning: %s", netname, warn);
    st = ax_net_set_input(rc->net, input, n, c, h, w, &err);
    ck_assert_msg(st == AX_OK, "%s", err.msg);
    free(input);

    st = ax_wfile_open(&rc->acts, fixture_path(path, sizeof path, netname, ".acts.npz"), &err);
    ck_assert_msg(st == AX_OK, "%s", err.msg);

    size_t most = 0;
    for (int i = 0; i < rc->net->nlayers; i++) {
        size_t k = ax_tensor_numel(&rc->net->layers[i].out);
        if (k > most) most = k;
    }
    rc->ref = malloc(most * sizeof(float));
    ck_assert_ptr_nonnull(rc->ref);
}

static void ref_close(ref_case *rc)
{
    free(rc->ref);
    ax_wfile_close(rc->acts);
    ax_net_free(rc->net);
}

/* The reference output of layer i, shape-checked against the engine's tensor,
 * converted into rc->ref. */
static const float *ref_layer(ref_case *rc, int i, const ax_tensor *out)
{
    const char *name = rc->net->layers[i].spec.name;
    const ax_wentry *e = ax_wfile_find(rc->acts, name);
    ck_assert_msg(e != NULL, "layer %d '%s' has no reference output", i, name);
    ck_assert_msg(e->dtype == AX_DT_F32, "reference '%s' is %s, not float32", name, ax_dtype_name(e->dtype));
    char got[64];
    ax_tensor_shape_str(out, got, sizeof got);
    int same = e->ndim == out->ndim;
    for (int d = 0; same && d < out->ndim; d++) same = e->shape[d] == out->shape[d];
    ck_assert_msg(same, "layer %d '%s': engine shape %s, reference has %d dims (%lld, %lld, ...)",
                  i, name, got, e->ndim, (long long)e->shape[0], (long long)(e->ndim > 1 ? e->shape[1] : 0));
    ax_wentry_to_f32(e, rc->ref);
    return rc->ref;
}

static float max_abs(const float *x, size_t n)
{
    float m = 0;
    for (size_t i = 0; i < n; i++) m = fmaxf(m, fabsf(x[i]));
    return m;
}

/* Steps every layer in order and compares it the moment it is computed. */
static void compare_all_layers(ref_case *rc, const char *netname)
{
    ax_error err = {0};
    for (int i = 0; i < rc->net->nlayers; i++) {
        ax_status st = ax_net_step(rc->net, i, &err);
        ck_assert_msg(st == AX_OK, "%s layer %d: %s", netname, i, err.msg);
        const ax_tensor *out = ax_net_output(rc->net, i);
        ck_assert_ptr_nonnull(out);
        const float *ref = ref_layer(rc, i, out);
        size_t n = ax_tensor_numel(out);
        char label[160];
        snprintf(label, sizeof label, "%s layer %d '%s'", netname, i, rc->net->layers[i].spec.name);
        check_close(out->data, ref, n, REF_ATOL_OF_MAX * max_abs(ref, n), REF_RTOL, label);
    }
}

/* The npz holds exactly one member per layer, under the layer's name. */
static void check_names(ref_case *rc, const char *netname)
{
    ck_assert_msg(rc->acts->count == rc->net->nlayers, "%s: %d layers in the spec, %d reference outputs",
                  netname, rc->net->nlayers, rc->acts->count);
    for (int i = 0; i < rc->net->nlayers; i++)
        ck_assert_msg(ax_wfile_find(rc->acts, rc->net->layers[i].spec.name) != NULL,
                      "%s: layer %d '%s' has no reference output", netname, i, rc->net->layers[i].spec.name);
}

/* The engine's top-5 of the last layer, per image, against the .top5.txt rows. */
static void check_top5(ref_case *rc, const char *netname)
{
    char path[4096];
    FILE *f = fopen(fixture_path(path, sizeof path, netname, ".top5.txt"), "r");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    const ax_tensor *last = ax_net_output(rc->net, rc->net->nlayers - 1);
    ck_assert_ptr_nonnull(last);
    int n = last->shape[0];
    int per = (int)(ax_tensor_numel(last) / (size_t)n);
    for (int img = 0; img < n; img++) {
        int want[TOPK], got[TOPK];
        for (int k = 0; k < TOPK; k++)
            ck_assert_msg(fscanf(f, "%d", &want[k]) == 1, "%s: image %d: fewer than %d indices", path, img, TOPK);
        ck_assert_int_eq(ax_topk(got, TOPK, last->data + (size_t)img * per, per), TOPK);
        for (int k = 0; k < TOPK; k++)
            ck_assert_msg(got[k] == want[k], "%s image %d: top-%d rank %d is %d, PyTorch has %d",
                          netname, img, TOPK, k + 1, got[k], want[k]);
    }
    int extra;
    ck_assert_msg(fscanf(f, "%d", &extra) != 1, "%s: more rows than the batch of %d", path, n);
    fclose(f);
}

static void run_reference(const char *netname)
{
    ref_case rc = {0};
    ref_open(&rc, netname);
    check_names(&rc, netname);
    compare_all_layers(&rc, netname);
    check_top5(&rc, netname);
    ref_close(&rc);
}

/* The same net from a bvlc_alexnet.npy-style file (pickled {layer: [W, b]},
 * HWIO convs, (in, out) FC, fc6 rows in H,W,C order; made from the
 * safetensors by make_bvlc_npy.py): every layer must still match PyTorch. */
START_TEST(test_caffe_tiny_from_bvlc_npy)
{
    ref_case rc = {0};
    char path[4096], warn[512];
    ax_error err = {0};
    ref_open(&rc, "caffe-tiny");
    ax_status st = ax_net_load_weights(rc.net, fixture_path(path, sizeof path, "caffe-tiny", ".bvlc.npy"), 0,
                                       warn, sizeof warn, &err);
    ck_assert_msg(st == AX_OK, "%s", err.msg);
    ck_assert_msg(strstr(warn, "HWIO -> OIHW") && strstr(warn, "rows H,W,C -> C,H,W"),
                  "the conversions are not reported: '%s'", warn);
    ck_assert_str_eq(rc.net->weights_path, path);
    compare_all_layers(&rc, "caffe-tiny (bvlc npy)");
    check_top5(&rc, "caffe-tiny");
    ref_close(&rc);
}
END_TEST

START_TEST(test_caffe_tiny)
{
    run_reference("caffe-tiny");
}
END_TEST

START_TEST(test_torchvision_tiny)
{
    run_reference("torchvision-tiny");
}
END_TEST

START_TEST(test_tf_bench_tiny)
{
    run_reference("tf-bench-tiny");
}
END_TEST

START_TEST(test_keras_half_tiny)
{
    run_reference("keras-half-tiny");
}
END_TEST

/* The classic conversion bug: fc6 weights whose rows read the pool5 vector in
 * TensorFlow's H,W,C order, loaded as if they were C,H,W. Every layer before
 * fc6 still matches; fc6 must be far from the reference, so a layer-by-layer
 * diff points at it. */
START_TEST(test_fc6_hwc_weights_are_caught)
{
    ref_case rc = {0};
    ref_open(&rc, "caffe-tiny");
    int fc6 = ax_net_find(rc.net, "fc6");
    ck_assert_int_ge(fc6, 1);
    ax_layer *L = &rc.net->layers[fc6];
    int C = L->in_c, H = L->in_h, W = L->in_w, O = L->weight.shape[0], IN = C * H * W;
    ck_assert_int_gt(H * W, 1);
    ck_assert_int_eq(L->weight.shape[1], IN);

    /* A TF-side row holds w_tf[(y*W + x)*C + c] = w[c*H*W + y*W + x]. */
    float *perm = malloc((size_t)O * IN * sizeof(float));
    ck_assert_ptr_nonnull(perm);
    for (int o = 0; o < O; o++)
        for (int c = 0; c < C; c++)
            for (int y = 0; y < H; y++)
                for (int x = 0; x < W; x++)
                    perm[(size_t)o * IN + (y * W + x) * C + c] = L->weight.data[(size_t)o * IN + (c * H + y) * W + x];
    memcpy(L->weight.data, perm, (size_t)O * IN * sizeof(float));
    free(perm);

    ax_error err = {0};
    for (int i = 0; i <= fc6; i++) {
        ck_assert_msg(ax_net_step(rc.net, i, &err) == AX_OK, "%s", err.msg);
        const ax_tensor *out = ax_net_output(rc.net, i);
        const float *ref = ref_layer(&rc, i, out);
        size_t n = ax_tensor_numel(out);
        if (i < fc6) {
            check_close(out->data, ref, n, REF_ATOL_OF_MAX * max_abs(ref, n), REF_RTOL, rc.net->layers[i].spec.name);
            continue;
        }
        /* Wrong by a large fraction of the layer's range in most places,
         * not by rounding: the diff cannot miss it. */
        double worst = 0, sum = 0;
        size_t off = 0;
        float m = max_abs(ref, n);
        for (size_t k = 0; k < n; k++) {
            double d = fabs((double)out->data[k] - ref[k]);
            worst = fmax(worst, d);
            sum += d;
            if (d > REF_ATOL_OF_MAX * m + REF_RTOL * fabs(ref[k])) off++;
        }
        ck_assert_msg(worst > 0.3 * m, "fc6 with H,W,C rows: worst |diff| %g is small against max|ref| %g", worst, m);
        ck_assert_msg(sum / n > 0.1 * m, "fc6 with H,W,C rows: mean |diff| %g against max|ref| %g", sum / n, m);
        ck_assert_msg(off > n * 9 / 10, "fc6 with H,W,C rows: only %zu of %zu outputs out of tolerance", off, n);
    }
    ref_close(&rc);
}
END_TEST

static Suite *reference_suite(void)
{
    Suite *s = suite_create("reference");
    TCase *tc = tcase_create("pytorch");
    tcase_set_timeout(tc, AX_CHECK_TIMEOUT);
    tcase_add_test(tc, test_caffe_tiny);
    tcase_add_test(tc, test_caffe_tiny_from_bvlc_npy);
    tcase_add_test(tc, test_torchvision_tiny);
    tcase_add_test(tc, test_tf_bench_tiny);
    tcase_add_test(tc, test_keras_half_tiny);
    tcase_add_test(tc, test_fc6_hwc_weights_are_caught);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return ax_run_suite(reference_suite());
}
