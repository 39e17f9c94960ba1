/* Check suite "diff": the comparison math of `alexscope diff` (worst element,
 * Polygraphy's tolerance rule, smallest passing atol/rtol, SNR, cosine, NaN),
 * reference-folder shapes and matching, and the diagnosis on small nets whose
 * expected figures are worked out by hand in the comments. */
#include "check_util.h"

#include "alexscope/analysis.h"
#include "alexscope/compare.h"
#include "alexscope/net.h"
#include "alexscope/spec.h"
#include "alexscope/weights.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define EXACT 1e-12

START_TEST(test_worst_element)
{
    /* |a - b| = 0.5, 2, 2, 1: the largest is 2, first at index 1 */
    const float a[] = { 1, 5, -1, 0 }, b[] = { 1.5f, 3, 1, 1 };   /* all four differ */
    ax_diff d;
    ax_diff_tol(&d, a, b, 4, 0, 0);
    ck_assert_uint_eq(d.worst, 1);
    ck_assert_float_eq(d.worst_a, 5.0f);
    ck_assert_float_eq(d.worst_b, 3.0f);
    ck_assert_double_eq_tol(d.max_abs, 2.0, EXACT);
    ck_assert_double_eq_tol(d.mean_abs, 5.5 / 4, EXACT);
    ck_assert_double_eq_tol(d.max_ref, 3.0, EXACT);
    ck_assert_uint_eq(d.fail, 4);   /* atol = rtol = 0: every differing element fails */
}
END_TEST

START_TEST(test_tolerance_rule)
{
    /* errors 0.02, 0.5, 0.5 against |b| 1.02, 10.5, 100.5; atol 0.1, rtol 0.01:
     * [0] within atol; [1] beyond 0.1 and beyond 0.105: fails; [2] beyond atol
     * but within 1.005: passes. An element fails only beyond both. */
    const float a[] = { 1.0f, 10.0f, 100.0f }, b[] = { 1.02f, 10.5f, 100.5f };
    ax_diff d;
    ax_diff_tol(&d, a, b, 3, 0.1, 0.01);
    ck_assert_uint_eq(d.fail, 1);
    ax_diff_tol(&d, a, b, 3, 0.1, 0.0);      /* [1], [2] */
    ck_assert_uint_eq(d.fail, 2);
    ax_diff_tol(&d, a, b, 3, 0.0, 0.01);     /* [0] (0.02 > 0.0102), [1] */
    ck_assert_uint_eq(d.fail, 2);
    ax_diff_tol(&d, a, b, 3, 0.5, 0.0);      /* exactly at atol passes */
    ck_assert_uint_eq(d.fail, 0);
}
END_TEST

START_TEST(test_min_tolerances)
{
    /* the smallest atol that passes with rtol 0 is the largest error (0.5,
     * twice), the smallest rtol with atol 0 the largest error / |b|: 0.5 / 10.5 */
    const float a[] = { 1.0f, 10.0f, 100.0f }, b[] = { 1.02f, 10.5f, 100.5f };
    ax_diff d, e;
    ax_diff_tol(&d, a, b, 3, 0, 0);
    ck_assert_double_eq_tol(d.min_atol, 0.5, EXACT);
    ck_assert_uint_eq(d.worst, 1);
    ck_assert_double_eq_tol(d.min_rtol, 0.5 / 10.5, EXACT);
    /* passing exactly at them, failing just below */
    ax_diff_tol(&e, a, b, 3, d.min_atol, 0);
    ck_assert_uint_eq(e.fail, 0);
    ax_diff_tol(&e, a, b, 3, d.min_atol * 0.999, 0);
    ck_assert_uint_eq(e.fail, 2);
    ax_diff_tol(&e, a, b, 3, 0, d.min_rtol);
    ck_assert_uint_eq(e.fail, 0);
    ax_diff_tol(&e, a, b, 3, 0, d.min_rtol * 0.999);
    ck_assert_uint_eq(e.fail, 1);

    /* a zero reference with a differing value: no rtol passes */
    const float z[] = { 0, 1 }, y[] = { 1e-6f, 1 };
    ax_diff_tol(&d, y, z, 2, 0, 0);
    ck_assert(isinf(d.min_rtol) && d.min_rtol > 0);
    ck_assert_double_eq_tol(d.min_atol, 1e-6, 1e-12);
    /* equal buffers need nothing */
    ax_diff_tol(&d, z, z, 2, 0, 0);
    ck_assert_double_eq(d.min_rtol, 0.0);
    ck_assert_double_eq(d.min_atol, 0.0);
}
END_TEST

START_TEST(test_snr_cosine)
{
    /* signal 3^2 + 4^2 = 25, noise 1: 10 log10(25) dB */
    const float a[] = { 3, 5 }, b[] = { 3, 4 };
    ax_diff d;
    ax_diff_tol(&d, a, b, 2, 0, 0);
    ck_assert_double_eq_tol(d.snr_db, 10.0 * log10(25.0), 1e-12);
    ck_assert_double_eq_tol(d.cosine, 29.0 / (sqrt(34.0) * 5.0), 1e-12);
    /* equal: +inf dB, cosine 1 */
    ax_diff_tol(&d, b, b, 2, 0, 0);
    ck_assert(isinf(d.snr_db) && d.snr_db > 0);
    ck_assert_double_eq_tol(d.cosine, 1.0, EXACT);
    /* a reference of zeros and an error: -inf dB, cosine 0 */
    const float z[] = { 0, 0 };
    ax_diff_tol(&d, a, z, 2, 0, 0);
    ck_assert(isinf(d.snr_db) && d.snr_db < 0);
    ck_assert_double_eq(d.cosine, 0.0);
    /* 100x smaller noise: 40 dB more */
    const float c[] = { 3, 4.01f };
    ax_diff_tol(&d, c, b, 2, 0, 0);
    ck_assert_double_eq_tol(d.snr_db, 10.0 * log10(25.0 / ((double)4.01f - 4) / ((double)4.01f - 4)), 1e-6);
}
END_TEST

START_TEST(test_nan_handling)
{
    /* NaN on both sides and equal infinities agree; a NaN on one side fails
     * whatever the tolerance, is the worst element, and makes the SNR -inf */
    const float a[] = { NAN, INFINITY, 1, NAN }, b[] = { NAN, INFINITY, 1, 2 };
    ax_diff d;
    ax_diff_tol(&d, a, b, 4, 1e30, 1e30);
    ck_assert_uint_eq(d.fail, 1);
    ck_assert_uint_eq(d.nonfinite, 1);
    ck_assert_uint_eq(d.worst, 3);
    ck_assert(isinf(d.max_abs));
    ck_assert(isinf(d.snr_db) && d.snr_db < 0);
    ck_assert(isnan(d.cosine));
    /* matching NaNs alone: agreement */
    ax_diff_tol(&d, a, b, 3, 0, 0);
    ck_assert_uint_eq(d.fail, 0);
    ck_assert_uint_eq(d.nonfinite, 0);
    ck_assert_double_eq(d.max_abs, 0.0);
    /* -inf against +inf */
    const float p[] = { INFINITY }, m[] = { -INFINITY };
    ax_diff_tol(&d, p, m, 1, 0, 0);
    ck_assert_uint_eq(d.fail, 1);
}
END_TEST

START_TEST(test_tolerance_of_max)
{
    /* 1e-4 x max|b| over the finite values: 1e-4 x 50 */
    const float b[] = { 3, -50, INFINITY, NAN, 7 };
    ax_tolerance t = { 0.5, 1e-4, 1e-3 };
    ck_assert_double_eq_tol(ax_tolerance_atol(&t, b, 5), 5e-3, 1e-15);
    t.atol_of_max = 0;
    ck_assert_double_eq(ax_tolerance_atol(&t, b, 5), 0.5);
}
END_TEST

START_TEST(test_channels_kl)
{
    /* (N=2, C=2, HW=2): channel 0 errors 1, 0 | 0, 3 -> 3; channel 1: 0.5 */
    const float a[] = { 1, 0, 0, 0.5f, 0, 3, 0, 0 }, b[8] = { 0 };
    float out[2];
    ax_diff_channels(out, a, b, 2, 2, 2);
    ck_assert_float_eq(out[0], 3.0f);
    ck_assert_float_eq(out[1], 0.5f);

    /* KL([.5, .5] || [.25, .75]) = .5 ln 2 + .5 ln(2/3) */
    const float p[] = { 0.5f, 0.5f }, q[] = { 0.25f, 0.75f };
    ck_assert_double_eq_tol(ax_kl_divergence(p, q, 2), 0.5 * log(2.0) + 0.5 * log(2.0 / 3.0), 1e-7);
    ck_assert_double_eq(ax_kl_divergence(p, p, 2), 0.0);
    /* a zero in q is floored, not infinite */
    const float r[] = { 1, 0 };
    ck_assert(isfinite(ax_kl_divergence(p, r, 2)));
}
END_TEST

/* ---- reference folders ---- */

START_TEST(test_kl_never_negative)
{
    /* a saturated softmax: equal tiny probabilities (below the 1e-12 floor on
     * q) must add exactly 0; before, 1e-20 * log(1e-20 / 1e-12) < 0 did */
    const float p[4] = { 1.0f, 1e-20f, 3e-30f, 0.0f };
    ck_assert_double_eq(ax_kl_divergence(p, p, 4), 0.0);
    /* two distributions that differ only by rounding: never below 0 */
    const float a[3] = { 0.5f, 0.25f, 0.25f }, b[3] = { 0.5f, 0.25000003f, 0.24999999f };
    ck_assert(ax_kl_divergence(a, b, 3) >= 0.0);
    ck_assert(ax_kl_divergence(b, a, 3) >= 0.0);
    const float q[4] = { 1.0f, 2e-20f, 3e-30f, 0.0f };
    ck_assert(ax_kl_divergence(q, p, 4) >= 0.0);
}
END_TEST

START_TEST(test_ref_shapes)
{
    ax_tensor conv, fc;
    ax_tensor_set(&conv, "conv1", 4, 1, 96, 55, 55);
    ax_tensor_set(&fc, "fc6", 2, 1, 4096, 1, 1);
    int cl, ba;
    const int64_t nchw[] = { 1, 96, 55, 55 }, nhwc[] = { 1, 55, 55, 96 }, chw[] = { 96, 55, 55 },
                  hwc[] = { 55, 55, 96 }, two[] = { 2, 96, 55, 55 }, f[] = { 4096 }, nf[] = { 1, 4096 };
    ck_assert(ax_ref_shape_fits(nchw, 4, &conv, &cl, &ba) && !cl && ba);
    ck_assert(ax_ref_shape_fits(nhwc, 4, &conv, &cl, &ba) && cl && ba);
    ck_assert(ax_ref_shape_fits(chw, 3, &conv, &cl, &ba) && !cl && !ba);
    ck_assert(ax_ref_shape_fits(hwc, 3, &conv, &cl, &ba) && cl && !ba);
    ck_assert(!ax_ref_shape_fits(two, 4, &conv, &cl, &ba));
    ck_assert(ax_ref_shape_fits(f, 1, &fc, &cl, &ba) && !ba);
    ck_assert(ax_ref_shape_fits(nf, 2, &fc, &cl, &ba) && ba);
    ck_assert(!ax_ref_shape_fits(f, 1, &conv, &cl, &ba));
}
END_TEST

START_TEST(test_ref_fetch_transposes)
{
    /* ours (1, 2, 1, 3); stored channels-last (1, 1, 3, 2): [c0 c1] per pixel */
    ax_tensor t;
    ax_tensor_set(&t, "x", 4, 1, 2, 1, 3);
    float stored[] = { 0, 10, 1, 11, 2, 12 }, out[6];
    ax_ref_entry e = { .ndim = 4, .shape = { 1, 1, 3, 2 }, .data = stored, .numel = 6 };
    ax_ref_match m = { .entry = 0, .fits = 1, .channels_last = 1, .batch_axis = 1 };
    ax_ref_fetch(out, &e, &m, &t);
    const float want[] = { 0, 1, 2, 10, 11, 12 };
    for (int i = 0; i < 6; i++) ck_assert_float_eq(out[i], want[i]);
}
END_TEST

START_TEST(test_ref_match)
{
    /* names first, then in natural order the next unused file whose shape fits;
     * "l10" comes after "l2", and "conv1" is taken by name */
    ax_ref_entry e[4] = {
        { .name = "conv1", .ndim = 4, .shape = { 1, 4, 3, 3 } },
        { .name = "l2", .ndim = 3, .shape = { 3, 3, 4 } },
        { .name = "l10", .ndim = 3, .shape = { 4, 3, 3 } },
        { .name = "out", .ndim = 1, .shape = { 5 } },
    };
    /* the folder lists them sorted */
    ax_ref_entry sorted[4] = { e[0], e[1], e[2], e[3] };
    ax_refdir r = { .count = 4, .e = sorted };
    ax_tensor t[4];
    ax_tensor_set(&t[0], "conv1", 4, 1, 4, 3, 3);
    ax_tensor_set(&t[1], "relu1", 4, 1, 4, 3, 3);
    ax_tensor_set(&t[2], "norm1", 4, 1, 4, 3, 3);
    ax_tensor_set(&t[3], "fc", 2, 1, 5, 1, 1);
    const char *names[] = { "conv1", "relu1", "norm1", "fc" };
    const ax_tensor *ours[] = { &t[0], &t[1], &t[2], &t[3] };
    ax_ref_match m[4];
    ax_error err = {0};
    ck_assert_int_eq(ax_refdir_match(m, &r, 4, names, ours, NULL, &err), AX_OK);
    ck_assert_int_eq(m[0].entry, 0);
    ck_assert_int_eq(m[0].how, AX_REF_BY_NAME);
    ck_assert_int_eq(m[1].entry, 1);           /* l2: channels-last */
    ck_assert_int_eq(m[1].how, AX_REF_BY_ORDER);
    ck_assert(m[1].channels_last && !m[1].batch_axis);
    ck_assert_int_eq(m[2].entry, 2);           /* l10 */
    ck_assert(!m[2].channels_last);
    ck_assert_int_eq(m[3].entry, 3);

    /* a map file overrides: norm1=l2, and relu1 then takes l10 by order */
    char path[] = "/tmp/ax_check_diff_XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    const char text[] = "# comment\n norm1 = l2.npy \n";
    ck_assert_int_eq(write(fd, text, sizeof text - 1), (int)(sizeof text - 1));
    close(fd);
    ck_assert_int_eq(ax_refdir_match(m, &r, 4, names, ours, path, &err), AX_OK);
    ck_assert_int_eq(m[2].entry, 1);
    ck_assert_int_eq(m[2].how, AX_REF_BY_MAP);
    ck_assert_int_eq(m[1].entry, 2);
    /* an unknown layer in the map is an error naming the file and line */
    FILE *f = fopen(path, "w");
    fputs("\n\nnorm9=l2\n", f);
    fclose(f);
    ck_assert_int_eq(ax_refdir_match(m, &r, 4, names, ours, path, &err), AX_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(err.msg, ":3: 'norm9' is not a layer"));
    unlink(path);
}
END_TEST

START_TEST(test_refdir_open)
{
    /* arrays of .npy files, in natural order (l2 before l10), with their
     * shapes; everything else skipped and named */
    char dir[] = "/tmp/ax_check_refdir_XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char path[256];
    ax_error err = {0};
    const float x[6] = { 1, 2, 3, 4, 5, 6 };
    const int64_t s23[] = { 2, 3 }, s6[] = { 6 };
    snprintf(path, sizeof path, "%s/l10.npy", dir);
    ck_assert_int_eq(ax_npy_write(path, x, 2, s23, &err), AX_OK);
    snprintf(path, sizeof path, "%s/l2.npy", dir);
    ck_assert_int_eq(ax_npy_write(path, x, 1, s6, &err), AX_OK);
    snprintf(path, sizeof path, "%s/notes.txt", dir);
    FILE *f = fopen(path, "w");
    fputs("not an array", f);
    fclose(f);
    /* not one array: a .npy that is no numpy file, and a folder named .npy */
    snprintf(path, sizeof path, "%s/bad.npy", dir);
    f = fopen(path, "w");
    fputs("not numpy", f);
    fclose(f);
    snprintf(path, sizeof path, "%s/sub.npy", dir);
    ck_assert_int_eq(mkdir(path, 0700), 0);
    ax_refdir r;
    ck_assert_int_eq(ax_refdir_open(&r, dir, 1 << 20, &err), AX_OK);
    ck_assert_int_eq(r.count, 2);
    ck_assert_str_eq(r.e[0].name, "l2");
    ck_assert_str_eq(r.e[1].name, "l10");
    ck_assert_int_eq(r.e[1].ndim, 2);
    ck_assert_int_eq(r.e[1].shape[1], 3);
    ck_assert_float_eq(r.e[1].data[5], 6.0f);
    /* every other entry skipped, named, in name order, with its reason */
    ck_assert_int_eq(r.nskipped, 3);
    ck_assert_str_eq(r.skipped[0].name, "bad.npy");
    ck_assert_str_eq(r.skipped[1].name, "notes.txt");
    ck_assert_str_eq(r.skipped[1].why, "not a .npy file");
    ck_assert_str_eq(r.skipped[2].name, "sub.npy");
    ck_assert_ptr_nonnull(strstr(r.skipped[2].why, "directory"));
    ck_assert_ptr_null(strstr(r.skipped[0].why, dir));   /* the reason without the path */
    ax_refdir_close(&r);
    /* a budget smaller than the tensors is an error, not a partial folder */
    ck_assert_int_ne(ax_refdir_open(&r, dir, 30, &err), AX_OK);
    ck_assert_ptr_nonnull(strstr(err.msg, "allowed for a reference folder"));
    ck_assert_int_eq(r.count, 0);
    snprintf(path, sizeof path, "%s/l2.npy", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/l10.npy", dir);
    unlink(path);
    ck_assert_int_eq(ax_refdir_open(&r, dir, 1 << 20, &err), AX_ERR_MISSING);
    /* nothing but skipped files: the error names them */
    ck_assert_ptr_nonnull(strstr(err.msg, "skipped bad.npy: "));
    ck_assert_ptr_nonnull(strstr(err.msg, "notes.txt: not a .npy file"));
    ck_assert_int_eq(r.count, 0);
    ck_assert_int_eq(r.nskipped, 0);
    snprintf(path, sizeof path, "%s/notes.txt", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/bad.npy", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/sub.npy", dir);
    rmdir(path);
    /* an empty folder (the fuzzer's first find: qsort of no entries) */
    ck_assert_int_eq(ax_refdir_open(&r, dir, 1 << 20, &err), AX_ERR_MISSING);
    ck_assert_int_eq(r.count + r.nskipped, 0);
    rmdir(dir);
}
END_TEST

/* ---- diagnosis on a small net ---- */

static const char *NET_TEXT =
    "name t\ninput 3 9 9\npreprocess resize=none order=rgb scale=1 mean=0,0,0 std=1,1,1\n"
    "conv conv1 out=4 k=3 pad=1\n"
    "lrn norm1 convention=caffe size=3 alpha=0.5 beta=0.75 k=1\n"
    "maxpool pool1 k=3 s=2 round=ceil\n"
    "fc fc6 out=6\n";

/* Two nets of the same spec, the same input and seeded weights; `plant` then
 * changes side A. Returns the divergent layer's diagnosis results. */
static int diagnose_planted(ax_diag_result *res, int max, const char *text_a, int layer,
                            void (*plant)(ax_net *a))
{
    ax_spec sa, sb;
    ax_error err = {0};
    ck_assert_int_eq(ax_spec_parse(&sa, text_a, "a.net", &err), AX_OK);
    ck_assert_int_eq(ax_spec_parse(&sb, NET_TEXT, "b.net", &err), AX_OK);
    ax_net *a, *b;
    ck_assert_int_eq(ax_net_create(&a, &sa, 1, NULL, &err), AX_OK);
    ck_assert_int_eq(ax_net_create(&b, &sb, 1, NULL, &err), AX_OK);
    float in[3 * 9 * 9];
    ax_fill_uniform(in, 243, -2, 2, 7);
    ck_assert_int_eq(ax_net_set_input(a, in, 1, 3, 9, 9, &err), AX_OK);
    ck_assert_int_eq(ax_net_set_input(b, in, 1, 3, 9, 9, &err), AX_OK);
    if (plant) plant(a);
    ck_assert_int_eq(ax_net_forward(a, &err), AX_OK);
    ck_assert_int_eq(ax_net_forward(b, &err), AX_OK);
    const ax_tensor *bo = &b->layers[layer].out;
    ax_diag_case c = { .net = a, .layer = layer, .b_in = ax_net_layer_input(b, layer)->data, .b_out = bo->data,
                       .b_ndim = bo->ndim, .tol = { 0, 1e-4, 1e-3 } };
    for (int i = 0; i < 4; i++) c.b_shape[i] = bo->shape[i];
    int n = ax_diagnose(res, max, &c, &err);
    ck_assert_int_ge(n, 1);
    ax_net_free(a);
    ax_net_free(b);
    return n;
}

static void flip_conv1(ax_net *a)
{
    ax_tensor *w = &a->layers[0].weight;   /* (4, 3, 3, 3) */
    float tmp[4 * 3 * 9];
    memcpy(tmp, w->data, sizeof tmp);
    for (int k = 0; k < 12; k++)
        for (int i = 0; i < 9; i++) w->data[k * 9 + i] = tmp[k * 9 + 8 - i];
}

static void transpose_fc6(ax_net *a)
{
    ax_tensor *w = &a->layers[3].weight;   /* (6, 4*4*4 = 64) */
    int out = w->shape[0], in = w->shape[1];
    size_t n = ax_tensor_numel(w);
    float *tmp = malloc(n * sizeof(float));
    ck_assert_ptr_nonnull(tmp);
    memcpy(tmp, w->data, n * sizeof(float));
    /* stored (in, out): element (i, o) at i * out + o */
    for (int o = 0; o < out; o++)
        for (int i = 0; i < in; i++) w->data[(size_t)i * out + o] = tmp[(size_t)o * in + i];
    free(tmp);
}

START_TEST(test_compare_nets)
{
    /* identical nets agree everywhere; conv1 flipped on side A diverges at
     * conv1 (row 1) and the case for it reads side B's input */
    ax_spec sp;
    ax_error err = {0};
    ck_assert_int_eq(ax_spec_parse(&sp, NET_TEXT, "t.net", &err), AX_OK);
    ax_net *a, *b;
    ck_assert_int_eq(ax_net_create(&a, &sp, 1, NULL, &err), AX_OK);
    ck_assert_int_eq(ax_net_create(&b, &sp, 1, NULL, &err), AX_OK);
    float in[3 * 9 * 9];
    ax_fill_uniform(in, 243, -2, 2, 7);
    ck_assert_int_eq(ax_net_set_input(a, in, 1, 3, 9, 9, &err), AX_OK);
    ck_assert_int_eq(ax_net_set_input(b, in, 1, 3, 9, 9, &err), AX_OK);
    ck_assert_int_eq(ax_net_forward(a, &err), AX_OK);
    ck_assert_int_eq(ax_net_forward(b, &err), AX_OK);
    ax_tolerance tol = { 0, AX_DIFF_ATOL_OF_MAX, AX_DIFF_RTOL };
    ax_comparison c;
    ck_assert_int_eq(ax_compare_nets(&c, a, b, &tol, &err), AX_OK);
    ck_assert_int_eq(c.nrows, 5);
    ck_assert_int_eq(c.compared, 5);
    ck_assert_int_eq(c.first, -1);
    ck_assert_str_eq(c.rows[0].name, "input");
    ck_assert_str_eq(c.rows[4].name, "fc6");
    ax_comparison_free(&c);

    flip_conv1(a);
    ck_assert_int_eq(ax_net_set_input(a, in, 1, 3, 9, 9, &err), AX_OK);   /* forgets the outputs */
    ck_assert_int_eq(ax_net_forward(a, &err), AX_OK);
    ck_assert_int_eq(ax_compare_nets(&c, a, b, &tol, &err), AX_OK);
    ck_assert_int_eq(c.first, 1);
    ck_assert(!c.rows[0].diverges && c.rows[1].diverges && c.rows[1].d.fail > 0);
    ax_diag_case dc;
    ax_comparison_case(&dc, &c, c.first);
    ck_assert_int_eq(dc.layer, 0);
    ck_assert_ptr_eq(dc.b_in, b->input.data);
    ck_assert_ptr_eq(dc.b_out, b->layers[0].out.data);
    ck_assert_str_eq(c.from, "side B's input");
    ax_diag_result res[32];
    ck_assert_int_ge(ax_diagnose(res, 32, &dc, &err), 1);
    ck_assert(res[0].explains);
    ck_assert_ptr_nonnull(strstr(res[0].what, "spatially flipped"));
    ax_comparison_free(&c);
    ax_net_free(a);
    ax_net_free(b);
}
END_TEST

START_TEST(test_diagnose_flip)
{
    ax_diag_result res[32];
    int n = diagnose_planted(res, 32, NET_TEXT, 0, flip_conv1);
    ck_assert(res[0].explains);
    ck_assert_ptr_nonnull(strstr(res[0].what, "conv1: the kernels are spatially flipped"));
    ck_assert(res[0].fail_before > 0);
    ck_assert_uint_eq(res[0].fail_after, 0);
    ck_assert(res[0].after < 1e-5 && res[0].before > 1e-2);
    for (int i = 1; i < n; i++) ck_assert(!res[i].explains);
}
END_TEST

START_TEST(test_diagnose_fc_transposed)
{
    ax_diag_result res[32];
    diagnose_planted(res, 32, NET_TEXT, 3, transpose_fc6);
    ck_assert(res[0].explains);
    ck_assert_ptr_nonnull(strstr(res[0].what, "fc6: the weight is transposed"));
}
END_TEST

START_TEST(test_diagnose_lrn_alpha)
{
    /* side A reads the same alpha in the TF convention (not divided by 3) */
    char text[512];
    snprintf(text, sizeof text, "%s", NET_TEXT);
    char *p = strstr(text, "lrn norm1");
    ck_assert_ptr_nonnull(p);
    snprintf(p, sizeof text - (size_t)(p - text), "lrn norm1 convention=tf depth_radius=1 bias=1 alpha=0.5 beta=0.75\n%s",
             strstr(NET_TEXT, "maxpool"));
    ax_diag_result res[32];
    diagnose_planted(res, 32, text, 1, NULL);
    ck_assert(res[0].explains);
    ck_assert_ptr_nonnull(strstr(res[0].what, "norm1: LRN alpha vs alpha/n: side A uses alpha as it is"));
}
END_TEST

START_TEST(test_diagnose_nothing)
{
    /* side B as side A: the layer agrees once re-run on B's input, and with no
     * layer in between to blame, it is said to come from earlier */
    ax_diag_result res[32];
    diagnose_planted(res, 32, NET_TEXT, 2, NULL);
    ck_assert(res[0].explains);
    ck_assert_ptr_nonnull(strstr(res[0].what, "pool1: re-run on side B's input it agrees"));
}
END_TEST

static Suite *diff_suite(void)
{
    Suite *s = suite_create("diff");
    TCase *m = tcase_create("math");
    tcase_add_test(m, test_worst_element);
    tcase_add_test(m, test_tolerance_rule);
    tcase_add_test(m, test_min_tolerances);
    tcase_add_test(m, test_snr_cosine);
    tcase_add_test(m, test_nan_handling);
    tcase_add_test(m, test_tolerance_of_max);
    tcase_add_test(m, test_channels_kl);
    tcase_add_test(m, test_kl_never_negative);
    suite_add_tcase(s, m);
    TCase *r = tcase_create("reference");
    tcase_add_test(r, test_ref_shapes);
    tcase_add_test(r, test_ref_fetch_transposes);
    tcase_add_test(r, test_ref_match);
    tcase_add_test(r, test_refdir_open);
    suite_add_tcase(s, r);
    TCase *d = tcase_create("diagnose");
    tcase_add_test(d, test_diagnose_flip);
    tcase_add_test(d, test_diagnose_fc_transposed);
    tcase_add_test(d, test_diagnose_lrn_alpha);
    tcase_add_test(d, test_diagnose_nothing);
    tcase_add_test(d, test_compare_nets);
    suite_add_tcase(s, d);
    return s;
}

int main(void)
{
    return ax_run_suite(diff_suite());
}
