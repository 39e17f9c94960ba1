/* Check suite "layers": every CPU kernel against its naive reference in
 * tests/ref_layers.c on random data, plus the size helpers on known values.
 * Kept small enough that the whole suite runs in about a second. */
#include "alexscope/cpu.h"
#include "alexscope/layers.h"
#include "alexscope/spec.h"
#include "check_util.h"
#include "core/parallel.h"
#include "ref_layers.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define GUARD 16
#define SENTINEL 12345.678f

/* Buffers get GUARD sentinel floats past the end so overruns are caught. */
static float *alloc_guarded(size_t n)
{
    float *p = malloc(sizeof(float) * (n + GUARD));
    ck_assert_ptr_nonnull(p);
    for (size_t i = 0; i < n + GUARD; i++) p[i] = SENTINEL;
    return p;
}

static void check_guard(const float *p, size_t n, const char *label)
{
    for (size_t i = n; i < n + GUARD; i++)
        ck_assert_msg(p[i] == SENTINEL, "%s: wrote past its %zu floats (at +%zu)", label, n, i - n);
}

static float *random_buf(size_t n, float lo, float hi, uint64_t seed)
{
    float *p = alloc_guarded(n);
    ax_fill_uniform(p, n, lo, hi, seed);
    return p;
}

/* The kernels split across the CPU pool must give one thread's bits at any
 * thread count: `once` runs the kernel into its output, `out` already holds
 * the 1-thread result, and the result at 2 and 3 threads is compared with it
 * bit for bit. The pool is started with 3 threads first, so that 2 and 3
 * really split (a pool started smaller caps them). */
typedef void (*kernel_once)(void *ctx, float *out);

static void pool_start3(void)
{
    ax_cpu_set_threads(3);
    static float a[1 << 17], b[1 << 17];
    for (int i = 0; i < (1 << 17); i++) a[i] = (float)(i % 7) - 3.0f;
    ax_relu(b, a, 1 << 17);   /* 8 blocks: the pool's first split starts it */
    ck_assert_msg(ax_pool_workers() >= 2, "the pool started %d workers, 2 needed", ax_pool_workers());
}

static void same_bits_at_2_and_3_threads(kernel_once once, void *ctx, const float *out, size_t n,
                                         const char *label)
{
    float *other = malloc(sizeof(float) * (n ? n : 1));
    ck_assert_ptr_nonnull(other);
    for (int t = 2; t <= 3; t++) {
        ax_cpu_set_threads(t);
        for (size_t i = 0; i < n; i++) other[i] = SENTINEL;
        once(ctx, other);
        size_t i = 0;
        while (i < n && !memcmp(&other[i], &out[i], sizeof(float))) i++;
        ck_assert_msg(i == n, "%s: %d threads differ from 1 at element %zu of %zu (%.9g vs %.9g)", label, t, i, n,
                      i < n ? other[i] : 0.0, i < n ? out[i] : 0.0);
    }
    ax_cpu_set_threads(1);
    free(other);
}

/* ---- convolution -------------------------------------------------------- */

typedef struct {
    int n, c, h, w, oc, kh, kw, sh, sw, pt, pl, pb, pr, groups, bias;
} conv_case;

static void run_conv(conv_case k, uint64_t seed, const char *label)
{
    ax_window g = {
        .n = k.n, .c = k.c, .h = k.h, .w = k.w, .oc = k.oc,
        .oh = ax_window_out(k.h, k.kh, k.sh, k.pt, k.pb, 0),
        .ow = ax_window_out(k.w, k.kw, k.sw, k.pl, k.pr, 0),
        .kh = k.kh, .kw = k.kw, .sh = k.sh, .sw = k.sw,
        .pad_t = k.pt, .pad_l = k.pl, .groups = k.groups,
    };
    const int cg = k.c / k.groups, kdim = cg * k.kh * k.kw;
    const size_t nin = (size_t)k.n * k.c * k.h * k.w;
    const size_t nw = (size_t)k.oc * kdim;
    float *in = random_buf(nin, -1.0f, 1.0f, seed);
    float *w = random_buf(nw, -0.5f, 0.5f, seed + 1);
    float *b = k.bias ? random_buf((size_t)k.oc, -1.0f, 1.0f, seed + 2) : NULL;

    int roh, row;
    size_t nout_max = (size_t)k.n * k.oc * (k.h + k.pt + k.pb) * (k.w + k.pl + k.pr);
    float *ref = alloc_guarded(nout_max);
    ref_conv2d(ref, in, w, b, k.n, k.c, k.h, k.w, k.oc, k.kh, k.kw, k.sh, k.sw,
               k.pt, k.pl, k.pb, k.pr, k.groups, &roh, &row);
    ck_assert_msg(g.oh == roh && g.ow == row, "%s: ax_window_out gives %dx%d, reference %dx%d",
                  label, g.oh, g.ow, roh, row);

    const size_t nout = (size_t)k.n * k.oc * g.oh * g.ow;
    const size_t nscr = ax_conv2d_scratch(&g);
    ck_assert_uint_eq(nscr, (size_t)kdim * g.oh * g.ow);
    float *out = alloc_guarded(nout);
    float *scratch = alloc_guarded(nscr);
    ax_conv2d(out, in, w, b, scratch, &g);

    /* Float sums over K terms of products bounded by 1 * 0.5: the typical
     * output is about sqrt(K) * 0.5 / 3, the rounding a few ulp of that. */
    double atol = 3e-6 * sqrt((double)kdim) + 1e-6;
    check_close(out, ref, nout, atol, 1e-5, label);
    check_guard(out, nout, label);
    check_guard(scratch, nscr, "conv scratch");
    check_guard(in, nin, "conv input");

    free(in); free(w); free(b); free(ref); free(out); free(scratch);
}

START_TEST(test_conv_basic)
{
    run_conv((conv_case){1, 4, 9, 7, 6, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1}, 11, "conv g1 s1 p1 n1");
    run_conv((conv_case){3, 4, 9, 7, 6, 3, 3, 1, 1, 1, 1, 1, 1, 1, 0}, 12, "conv g1 s1 p1 n3 no bias");
    run_conv((conv_case){1, 3, 6, 5, 2, 3, 2, 2, 1, 0, 0, 0, 0, 1, 1}, 13, "conv kh!=kw sh!=sw");
}
END_TEST

START_TEST(test_conv_groups)
{
    run_conv((conv_case){1, 6, 10, 11, 8, 5, 5, 1, 1, 2, 2, 2, 2, 2, 1}, 21, "conv g2 k5 p2 n1");
    run_conv((conv_case){3, 6, 10, 11, 8, 5, 5, 1, 1, 2, 2, 2, 2, 2, 1}, 22, "conv g2 k5 p2 n3");
    run_conv((conv_case){2, 8, 5, 6, 4, 1, 1, 1, 1, 0, 0, 0, 0, 2, 1}, 23, "conv 1x1 direct g2");
    run_conv((conv_case){2, 8, 5, 6, 4, 1, 1, 2, 2, 0, 0, 0, 0, 2, 1}, 24, "conv 1x1 s2 g2");
}
END_TEST

START_TEST(test_conv_stride4)
{
    run_conv((conv_case){3, 3, 35, 31, 5, 11, 11, 4, 4, 0, 0, 0, 0, 1, 1}, 31, "conv k11 s4 n3");
    run_conv((conv_case){1, 4, 30, 27, 6, 11, 11, 4, 4, 2, 2, 2, 2, 2, 1}, 32, "conv k11 s4 p2 g2");
}
END_TEST

START_TEST(test_conv_asymmetric)
{
    /* SAME on (24, 28) with k (5, 3), s 2: rows pad 1/2, columns 0/1. */
    int oh, pt, pb, ow, pl, pr;
    ax_same_padding(24, 5, 2, &oh, &pt, &pb);
    ax_same_padding(28, 3, 2, &ow, &pl, &pr);
    ck_assert_int_eq(pt, 1); ck_assert_int_eq(pb, 2);
    ck_assert_int_eq(pl, 0); ck_assert_int_eq(pr, 1);
    run_conv((conv_case){3, 4, 24, 28, 6, 5, 3, 2, 2, pt, pl, pb, pr, 2, 1}, 41, "conv SAME asym n3 g2");
    run_conv((conv_case){1, 2, 9, 10, 3, 3, 3, 1, 1, 0, 1, 2, 0, 1, 1}, 42, "conv pad t0 l1 b2 r0");
    /* stride 1 with OW == W takes the block-copy im2col: SAME with even kernels
     * (pads 1/2 and 0/1), padding all on one side, taps that see no image row */
    run_conv((conv_case){2, 4, 7, 8, 6, 4, 2, 1, 1, 1, 0, 2, 1, 2, 1}, 45, "conv s1 SAME k4x2");
    run_conv((conv_case){1, 3, 6, 9, 2, 3, 3, 1, 1, 0, 2, 2, 0, 1, 1}, 46, "conv s1 pad l2 r0");
    run_conv((conv_case){1, 2, 3, 5, 3, 4, 3, 1, 1, 3, 2, 0, 0, 1, 1}, 47, "conv s1 pad t3 k4");
    /* padding wider than the kernel's reach: whole rows/columns of zeros */
    run_conv((conv_case){1, 2, 4, 5, 3, 3, 3, 1, 1, 3, 3, 3, 3, 1, 1}, 43, "conv pad 3 k3");
    run_conv((conv_case){2, 2, 4, 5, 3, 3, 3, 2, 3, 3, 4, 3, 4, 1, 1}, 44, "conv pad 3/4 s2/3");
}
END_TEST

/* Layers big enough to be split across the CPU pool: by output rows in
 * L2-sized blocks (more positions than filters), and by filters over a shared
 * im2col (more filters than positions, as conv3/conv4 at 13x13). */
START_TEST(test_conv_parallel_paths)
{
    run_conv((conv_case){2, 96, 27, 27, 64, 5, 5, 1, 1, 2, 2, 2, 2, 2, 1}, 61, "conv rows split, blocks, g2 n2");
    run_conv((conv_case){1, 40, 26, 29, 64, 4, 3, 1, 1, 1, 1, 2, 1, 1, 0}, 62, "conv rows split, SAME asym");
    run_conv((conv_case){2, 64, 7, 7, 256, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1}, 63, "conv filters split n2");
    run_conv((conv_case){1, 128, 7, 9, 512, 3, 3, 1, 1, 1, 1, 1, 1, 2, 1}, 64, "conv filters split g2");
}
END_TEST

START_TEST(test_conv_alexnet_conv1)
{
    run_conv((conv_case){1, 3, 227, 227, 96, 11, 11, 4, 4, 0, 0, 0, 0, 1, 1}, 51, "conv1 bvlc");
}
END_TEST

/* ---- LRN ---------------------------------------------------------------- */

/* Runs ax_lrn with the scale that ax_lrn_sum_scale derives from `spec` against
 * the reference written in that spec's own convention. */
static void run_lrn(ax_lrn_convention conv, int size_or_radius, float alpha, float beta,
                    float k, int n, int c, int hw, float amp, uint64_t seed, const char *label)
{
    ax_layer_spec l;
    memset(&l, 0, sizeof l);
    l.type = AX_L_LRN;
    l.lrn_convention = conv;
    l.lrn_size = conv == AX_LRN_TF ? 2 * size_or_radius + 1 : size_or_radius;
    l.lrn_alpha = alpha;
    l.lrn_beta = beta;
    l.lrn_k = k;

    const size_t cnt = (size_t)n * c * hw;
    float *in = random_buf(cnt, -amp, amp, seed);
    float *ref = alloc_guarded(cnt);
    float *out = alloc_guarded(cnt);
    switch (conv) {
    case AX_LRN_CAFFE: ref_lrn_caffe(ref, in, n, c, hw, size_or_radius, alpha, beta, k); break;
    case AX_LRN_TF: ref_lrn_tf(ref, in, n, c, hw, size_or_radius, k, alpha, beta); break;
    case AX_LRN_DARKNET: ref_lrn_darknet(ref, in, n, c, hw, size_or_radius, alpha, beta, k); break;
    }
    ax_lrn(out, in, ax_lrn_sum_scale(&l), beta, k, l.lrn_size, n, c, hw);
    check_close(out, ref, cnt, 1e-7 * amp, 1e-5, label);
    check_guard(out, cnt, label);

    /* The test only means something if normalisation changed the values. */
    double moved = 0.0;
    for (size_t i = 0; i < cnt; i++) moved = fmax(moved, fabs(ref[i] - in[i]) / (fabs(in[i]) + 1e-30));
    ck_assert_msg(moved > 0.05, "%s: data too small for the LRN to matter (%g)", label, moved);
    free(in); free(ref); free(out);
}

START_TEST(test_lrn_caffe)
{
    run_lrn(AX_LRN_CAFFE, 5, 1e-4f, 0.75f, 1.0f, 1, 96, 37, 300.0f, 61, "lrn caffe bvlc");
    run_lrn(AX_LRN_CAFFE, 5, 1.0f, 0.75f, 2.0f, 2, 16, 29, 2.0f, 62, "lrn caffe n2");
    run_lrn(AX_LRN_CAFFE, 3, 0.5f, 0.5f, 1.0f, 1, 10, 17, 3.0f, 63, "lrn caffe beta 0.5");
    run_lrn(AX_LRN_CAFFE, 5, 1.0f, 0.75f, 1.0f, 2, 3, 21, 2.0f, 64, "lrn caffe C=3 < size 5");
    run_lrn(AX_LRN_CAFFE, 7, 1.0f, 0.75f, 1.0f, 1, 1, 19, 2.0f, 65, "lrn caffe C=1");
}
END_TEST

START_TEST(test_lrn_tf)
{
    run_lrn(AX_LRN_TF, 2, 2e-5f, 0.75f, 1.0f, 1, 96, 37, 300.0f, 71, "lrn tf bvlc port");
    run_lrn(AX_LRN_TF, 4, 0.001f / 9.0f, 0.75f, 1.0f, 2, 64, 23, 100.0f, 72, "lrn tf-bench");
    run_lrn(AX_LRN_TF, 2, 0.3f, 1.0f, 1.0f, 1, 12, 15, 2.0f, 73, "lrn tf beta 1");
    run_lrn(AX_LRN_TF, 4, 0.2f, 0.75f, 1.0f, 1, 2, 31, 2.0f, 74, "lrn tf C=2 < window 9");
}
END_TEST

START_TEST(test_lrn_darknet)
{
    run_lrn(AX_LRN_DARKNET, 5, 1e-3f, 0.75f, 2.0f, 1, 32, 25, 60.0f, 81, "lrn darknet");
    run_lrn(AX_LRN_DARKNET, 5, 0.1f, 0.6f, 1.0f, 2, 4, 13, 3.0f, 82, "lrn darknet beta 0.6 C=4");
}
END_TEST

/* The bvlc constants written both ways must give the same layer. */
START_TEST(test_lrn_caffe_equals_tf_port)
{
    const int c = 24, hw = 50;
    float *in = random_buf((size_t)c * hw, -300.0f, 300.0f, 91);
    float *a = alloc_guarded((size_t)c * hw), *b = alloc_guarded((size_t)c * hw);
    ax_layer_spec caffe = { .type = AX_L_LRN, .lrn_convention = AX_LRN_CAFFE, .lrn_size = 5,
                            .lrn_alpha = 1e-4f, .lrn_beta = 0.75f, .lrn_k = 1.0f };
    ax_layer_spec tf = { .type = AX_L_LRN, .lrn_convention = AX_LRN_TF, .lrn_size = 5,
                         .lrn_alpha = 2e-5f, .lrn_beta = 0.75f, .lrn_k = 1.0f };
    ax_lrn(a, in, ax_lrn_sum_scale(&caffe), 0.75f, 1.0f, 5, 1, c, hw);
    ax_lrn(b, in, ax_lrn_sum_scale(&tf), 0.75f, 1.0f, 5, 1, c, hw);
    check_close(a, b, (size_t)c * hw, 0.0, 1e-6, "caffe vs tf port");
    free(in); free(a); free(b);
}
END_TEST

/* A long stack whose magnitudes jump by orders keeps the running sum honest:
 * what the sliding window subtracts must not leave residue in quiet channels. */
START_TEST(test_lrn_dynamic_range)
{
    const int c = 96, hw = 40;
    float *in = random_buf((size_t)c * hw, 0.0f, 1.0f, 95);
    for (int ch = 0; ch < c; ch++) {
        float s = (ch / 8) % 2 ? 0.01f : 500.0f;
        for (int i = 0; i < hw; i++) in[ch * hw + i] *= s;
    }
    float *ref = alloc_guarded((size_t)c * hw), *out = alloc_guarded((size_t)c * hw);
    ref_lrn_caffe(ref, in, 1, c, hw, 5, 1e-4, 0.75, 1.0);
    ax_lrn(out, in, 1e-4f / 5, 0.75f, 1.0f, 5, 1, c, hw);
    check_close(out, ref, (size_t)c * hw, 0.0, 1e-5, "lrn dynamic range");
    free(in); free(ref); free(out);
}
END_TEST

/* ---- pooling ------------------------------------------------------------ */

static void run_maxpool(int n, int c, int h, int w, int k, int s, int pt, int pl, int pb, int pr,
                        int ceil_mode, float lo, float hi, uint64_t seed, const char *label,
                        int *oh_out)
{
    ax_window g = {
        .n = n, .c = c, .h = h, .w = w, .oc = c,
        .oh = ax_window_out(h, k, s, pt, pb, ceil_mode),
        .ow = ax_window_out(w, k, s, pl, pr, ceil_mode),
        .kh = k, .kw = k, .sh = s, .sw = s, .pad_t = pt, .pad_l = pl, .groups = 1,
    };
    const size_t nin = (size_t)n * c * h * w;
    float *in = random_buf(nin, lo, hi, seed);
    float *ref = alloc_guarded((size_t)n * c * (h + pt + pb) * (w + pl + pr));
    int roh, row;
    ref_maxpool(ref, in, n, c, h, w, k, k, s, s, pt, pl, pb, pr, ceil_mode, &roh, &row);
    ck_assert_msg(g.oh == roh && g.ow == row, "%s: ax_window_out gives %dx%d, reference %dx%d",
                  label, g.oh, g.ow, roh, row);
    const size_t nout = (size_t)n * c * g.oh * g.ow;
    float *out = alloc_guarded(nout);
    ax_maxpool(out, in, &g);
    check_close(out, ref, nout, 0.0, 0.0, label);
    check_guard(out, nout, label);
    if (oh_out) *oh_out = g.oh;
    free(in); free(ref); free(out);
}

START_TEST(test_maxpool_rounding)
{
    int floor_oh, ceil_oh;
    run_maxpool(2, 3, 8, 8, 3, 2, 0, 0, 0, 0, 0, -1.0f, 1.0f, 101, "maxpool 8x8 floor", &floor_oh);
    run_maxpool(2, 3, 8, 8, 3, 2, 0, 0, 0, 0, 1, -1.0f, 1.0f, 101, "maxpool 8x8 ceil", &ceil_oh);
    ck_assert_int_eq(floor_oh, 3);
    ck_assert_int_eq(ceil_oh, 4);
    run_maxpool(1, 4, 55, 55, 3, 2, 0, 0, 0, 0, 1, -1.0f, 1.0f, 102, "maxpool alexnet pool1", NULL);
    run_maxpool(1, 2, 10, 7, 3, 2, 0, 0, 0, 0, 1, -1.0f, 1.0f, 103, "maxpool 10x7 ceil", NULL);
}
END_TEST

START_TEST(test_maxpool_padding)
{
    /* All inputs negative: a padding cell counted as 0 would win everywhere it touches. */
    run_maxpool(2, 3, 7, 9, 3, 2, 1, 1, 1, 1, 0, -2.0f, -1.0f, 111, "maxpool pad1 floor", NULL);
    run_maxpool(2, 3, 6, 9, 3, 2, 1, 1, 1, 1, 1, -2.0f, -1.0f, 112, "maxpool pad1 ceil", NULL);
    run_maxpool(1, 2, 5, 5, 2, 2, 1, 1, 1, 1, 1, -2.0f, -1.0f, 113, "maxpool ceil drop", NULL);
    run_maxpool(1, 2, 6, 7, 3, 2, 0, 1, 1, 0, 0, -2.0f, -1.0f, 114, "maxpool asym pad", NULL);
}
END_TEST

static void run_avgpool(int n, int c, int h, int w, int oh, int ow, uint64_t seed, const char *label)
{
    const size_t nin = (size_t)n * c * h * w, nout = (size_t)n * c * oh * ow;
    float *in = random_buf(nin, -1.0f, 1.0f, seed);
    float *ref = alloc_guarded(nout), *out = alloc_guarded(nout);
    ref_avgpool_adaptive(ref, in, n, c, h, w, oh, ow);
    ax_avgpool_adaptive(out, in, n, c, h, w, oh, ow);
    check_close(out, ref, nout, 1e-6, 1e-6, label);
    check_guard(out, nout, label);
    free(in); free(ref); free(out);
}

START_TEST(test_avgpool_adaptive)
{
    run_avgpool(2, 4, 13, 13, 6, 6, 121, "avgpool 13->6");
    run_avgpool(1, 3, 5, 5, 6, 6, 122, "avgpool 5->6");
    run_avgpool(1, 2, 7, 10, 3, 4, 123, "avgpool 7x10->3x4");
    run_avgpool(1, 2, 6, 6, 6, 6, 124, "avgpool 6->6");
}
END_TEST

/* Known bins: 5 -> 6 repeats cells; 13 -> 6 bins overlap by one. */
START_TEST(test_avgpool_known)
{
    float in[5] = {1, 2, 3, 4, 5}, out[6];
    ax_avgpool_adaptive(out, in, 1, 1, 1, 5, 1, 6);
    /* bins [0,1) [0,2) [1,3) [2,4) [3,5) [4,5) */
    float want[6] = {1.0f, 1.5f, 2.5f, 3.5f, 4.5f, 5.0f};
    check_close(out, want, 6, 0.0, 1e-7, "avgpool 5->6 bins");
}
END_TEST

/* ---- the pool's splits: the same bits at 1, 2 and 3 threads ------------ */

typedef struct {
    const float *in;
    float scale, beta, k;
    int size, n, c, hw;
} lrn_ctx;

static void lrn_once(void *arg, float *out)
{
    const lrn_ctx *x = arg;
    ax_lrn(out, x->in, x->scale, x->beta, x->k, x->size, x->n, x->c, x->hw);
}

/* Caffe-convention LRN big enough to be split (by pixel chunks), against the
 * reference at 1 thread with run_lrn's tolerance, then bit for bit. */
static void split_lrn(int size, float alpha, float beta, float k, int n, int c, int hw, float amp, uint64_t seed,
                      const char *label)
{
    const size_t cnt = (size_t)n * c * hw;
    float *in = random_buf(cnt, -amp, amp, seed);
    float *ref = alloc_guarded(cnt), *out = alloc_guarded(cnt);
    ref_lrn_caffe(ref, in, n, c, hw, size, alpha, beta, k);
    lrn_ctx x = {in, alpha / (float)size, beta, k, size, n, c, hw};
    ax_cpu_set_threads(1);
    lrn_once(&x, out);
    check_close(out, ref, cnt, 1e-7 * amp, 1e-5, label);
    check_guard(out, cnt, label);
    same_bits_at_2_and_3_threads(lrn_once, &x, out, cnt, label);
    free(in); free(ref); free(out);
}

typedef struct {
    const float *in;
    ax_window g;
    int avg;
} pool_ctx;

static void pool_once(void *arg, float *out)
{
    const pool_ctx *x = arg;
    if (x->avg) ax_avgpool_adaptive(out, x->in, x->g.n, x->g.c, x->g.h, x->g.w, x->g.oh, x->g.ow);
    else ax_maxpool(out, x->in, &x->g);
}

static void relu_once(void *arg, float *out)
{
    const lrn_ctx *x = arg;
    ax_relu(out, x->in, (size_t)x->n);
}

START_TEST(test_split_same_bits)
{
    pool_start3();
    /* norm1 and norm2 of bvlc AlexNet (hw not a multiple of 16: the vector
     * loops' tails), batch 2, and beta != 0.75 (the powf path) */
    split_lrn(5, 1e-4f, 0.75f, 1.0f, 1, 96, 55 * 55, 300.0f, 401, "lrn split norm1");
    split_lrn(5, 1e-4f, 0.75f, 1.0f, 2, 256, 27 * 27, 300.0f, 402, "lrn split norm2 n2");
    split_lrn(3, 0.5f, 0.5f, 1.0f, 1, 40, 4001, 3.0f, 403, "lrn split beta 0.5");

    /* pool1 (3x3 s2 ceil) on 96x55x55, a padded pool, the adaptive average
     * (each over the kernels' 128K-element threshold for a split) */
    static const struct { int n, c, h, w, k, s, pad, avg, oh, ow; const char *label; } pools[] = {
        {1, 96, 55, 55, 3, 2, 0, 0, 0, 0, "maxpool split pool1"},
        {2, 80, 29, 31, 3, 2, 1, 0, 0, 0, "maxpool split pad1 n2"},
        {4, 256, 13, 13, 0, 0, 0, 1, 6, 6, "avgpool split 13->6 n4"},
    };
    for (size_t t = 0; t < sizeof pools / sizeof pools[0]; t++) {
        pool_ctx x;
        memset(&x, 0, sizeof x);
        ax_window *g = &x.g;
        g->n = pools[t].n; g->c = g->oc = pools[t].c; g->h = pools[t].h; g->w = pools[t].w; g->groups = 1;
        x.avg = pools[t].avg;
        int k = pools[t].k, s = pools[t].s, p = pools[t].pad;
        g->oh = x.avg ? pools[t].oh : ax_window_out(g->h, k, s, p, p, 1);
        g->ow = x.avg ? pools[t].ow : ax_window_out(g->w, k, s, p, p, 1);
        g->kh = g->kw = k; g->sh = g->sw = s; g->pad_t = g->pad_l = p;
        const size_t nin = (size_t)g->n * g->c * g->h * g->w, nout = (size_t)g->n * g->c * g->oh * g->ow;
        float *in = random_buf(nin, -1.0f, 1.0f, 410 + t);
        float *ref = alloc_guarded(x.avg ? nout : (size_t)g->n * g->c * (g->h + 2 * p) * (g->w + 2 * p));
        float *out = alloc_guarded(nout);
        if (x.avg) {
            ref_avgpool_adaptive(ref, in, g->n, g->c, g->h, g->w, g->oh, g->ow);
        } else {
            int roh, row;
            ref_maxpool(ref, in, g->n, g->c, g->h, g->w, k, k, s, s, p, p, p, p, 1, &roh, &row);
            ck_assert_msg(roh == g->oh && row == g->ow, "%s: reference %dx%d", pools[t].label, roh, row);
        }
        x.in = in;
        ax_cpu_set_threads(1);
        pool_once(&x, out);
        check_close(out, ref, nout, x.avg ? 1e-6 : 0.0, x.avg ? 1e-6 : 0.0, pools[t].label);
        check_guard(out, nout, pools[t].label);
        same_bits_at_2_and_3_threads(pool_once, &x, out, nout, pools[t].label);
        free(in); free(ref); free(out);
    }

    /* relu: 18 blocks of 16384 and a remainder, as relu1's 290400 */
    const size_t cnt = 290400 + 13;
    float *in = random_buf(cnt, -1.0f, 1.0f, 420);
    float *ref = alloc_guarded(cnt), *out = alloc_guarded(cnt);
    ref_relu(ref, in, (int)cnt);
    lrn_ctx x = {in, 0, 0, 0, 0, (int)cnt, 0, 0};
    ax_cpu_set_threads(1);
    relu_once(&x, out);
    check_close(out, ref, cnt, 0.0, 0.0, "relu split");
    check_guard(out, cnt, "relu split");
    same_bits_at_2_and_3_threads(relu_once, &x, out, cnt, "relu split");
    free(in); free(ref); free(out);
    ax_pool_set_threads(0);
}
END_TEST

/* ---- pad, flatten, relu ------------------------------------------------- */

START_TEST(test_pad)
{
    const int n = 2, c = 3, h = 5, w = 6, t = 1, l = 0, b = 2, r = 3;
    const size_t nin = (size_t)n * c * h * w, nout = (size_t)n * c * (h + t + b) * (w + l + r);
    float *in = random_buf(nin, -1.0f, 1.0f, 131);
    float *ref = alloc_guarded(nout), *out = alloc_guarded(nout);
    ref_pad(ref, in, n, c, h, w, t, l, b, r);
    for (size_t i = 0; i < nout; i++) out[i] = 7.0f;   /* stale values must be overwritten */
    ax_pad(out, in, n, c, h, w, t, l, b, r);
    check_close(out, ref, nout, 0.0, 0.0, "pad t1 l0 b2 r3");
    check_guard(out, nout, "pad");
    free(in); free(ref); free(out);
}
END_TEST

START_TEST(test_flatten)
{
    const int n = 2, c = 5, h = 3, w = 4;
    const size_t cnt = (size_t)n * c * h * w;
    float *in = random_buf(cnt, -1.0f, 1.0f, 141);
    float *ref = alloc_guarded(cnt), *chw = alloc_guarded(cnt), *hwc = alloc_guarded(cnt);
    ref_flatten(ref, in, n, c, h, w, 0);
    ax_flatten(chw, in, n, c, h, w, 0);
    check_close(chw, ref, cnt, 0.0, 0.0, "flatten chw");
    ref_flatten(ref, in, n, c, h, w, 1);
    ax_flatten(hwc, in, n, c, h, w, 1);
    check_close(hwc, ref, cnt, 0.0, 0.0, "flatten hwc");
    check_guard(hwc, cnt, "flatten hwc");

    /* The two orders must disagree, or a missing permutation could pass. */
    size_t differ = 0;
    for (size_t i = 0; i < cnt; i++) differ += chw[i] != hwc[i];
    ck_assert_msg(differ > cnt / 2, "HWC flatten equals CHW at %zu of %zu places",
                  cnt - differ, cnt);
    free(in); free(ref); free(chw); free(hwc);
}
END_TEST

START_TEST(test_flatten_known)
{
    /* (1, 2, 1, 2): channel a = {a0, a1}, channel b = {b0, b1}; HWC interleaves them. */
    float in[4] = {10, 11, 20, 21}, out[4];
    ax_flatten(out, in, 1, 2, 1, 2, 1);
    float want[4] = {10, 20, 11, 21};
    check_close(out, want, 4, 0.0, 0.0, "flatten hwc known");
}
END_TEST

START_TEST(test_relu)
{
    const size_t cnt = 1003;
    float *in = random_buf(cnt, -1.0f, 1.0f, 151);
    float *ref = alloc_guarded(cnt), *out = alloc_guarded(cnt);
    ref_relu(ref, in, (int)cnt);
    ax_relu(out, in, cnt);
    check_close(out, ref, cnt, 0.0, 0.0, "relu");
    check_guard(out, cnt, "relu");
    ax_relu(in, in, cnt);                      /* in place */
    check_close(in, ref, cnt, 0.0, 0.0, "relu in place");
    float nan_in = NAN, nan_out = 0.0f;
    ax_relu(&nan_out, &nan_in, 1);
    ck_assert_msg(isnan(nan_out), "relu hid a NaN (gave %g)", nan_out);
    free(in); free(ref); free(out);
}
END_TEST

/* ---- fc, softmax -------------------------------------------------------- */

static void run_fc(int n, int in_f, int out_f, int bias, uint64_t seed, const char *label)
{
    float *in = random_buf((size_t)n * in_f, -1.0f, 1.0f, seed);
    float *w = random_buf((size_t)out_f * in_f, -0.5f, 0.5f, seed + 1);
    float *b = bias ? random_buf((size_t)out_f, -1.0f, 1.0f, seed + 2) : NULL;
    const size_t nout = (size_t)n * out_f;
    float *ref = alloc_guarded(nout), *out = alloc_guarded(nout);
    ref_fc(ref, in, w, b, n, in_f, out_f);
    const double atol = 3e-6 * sqrt((double)in_f) + 1e-6;
    ax_fc(out, in, w, b, n, in_f, out_f);
    check_close(out, ref, nout, atol, 1e-5, label);
    check_guard(out, nout, label);
    /* Both ways at batch 1: our GEMV (what ax_fc takes) and OpenBLAS's. */
    if (n == 1) {
        char l2[96];
        snprintf(l2, sizeof l2, "%s, own gemv", label);
        ax_fc_gemv(out, in, w, b, in_f, out_f);
        check_close(out, ref, nout, atol, 1e-5, l2);
        check_guard(out, nout, l2);
        snprintf(l2, sizeof l2, "%s, sgemv", label);
        ax_fc_blas(out, in, w, b, 1, in_f, out_f);
        check_close(out, ref, nout, atol, 1e-5, l2);
        check_guard(out, nout, l2);
    }
    free(in); free(w); free(b); free(ref); free(out);
}

START_TEST(test_fc)
{
    run_fc(1, 300, 37, 1, 161, "fc n1 (gemv)");
    run_fc(4, 300, 37, 1, 164, "fc n4 (gemm)");
    run_fc(1, 129, 65, 0, 167, "fc n1 no bias");
    run_fc(4, 129, 65, 0, 170, "fc n4 no bias");
    /* the GEMV's shapes: IN not a multiple of its 16 lanes, OUT not of its
     * 8 rows, fewer outputs than a block, one input, and big enough to be
     * split over the pool (over 1e6 weights) */
    run_fc(1, 16, 8, 1, 171, "fc n1 one block");
    run_fc(1, 15, 7, 1, 172, "fc n1 tail only");
    run_fc(1, 1, 3, 1, 173, "fc n1 in 1");
    run_fc(1, 1031, 1013, 1, 174, "fc n1 split");
    run_fc(1, 9216, 203, 0, 175, "fc n1 fc6 rows");
}
END_TEST

typedef struct {
    const float *in, *w, *b;
    int in_f, out_f;
} fc_ctx;

static void gemv_once(void *arg, float *out)
{
    const fc_ctx *x = arg;
    ax_fc_gemv(out, x->in, x->w, x->b, x->in_f, x->out_f);
}

/* Our GEMV split over the pool gives one thread's bits. */
START_TEST(test_fc_gemv_same_bits)
{
    pool_start3();
    const int in_f = 2053, out_f = 1013;
    float *in = random_buf((size_t)in_f, -1.0f, 1.0f, 181);
    float *w = random_buf((size_t)out_f * in_f, -0.5f, 0.5f, 182);
    float *b = random_buf((size_t)out_f, -1.0f, 1.0f, 183);
    float *out = alloc_guarded((size_t)out_f);
    fc_ctx x = {in, w, b, in_f, out_f};
    ax_cpu_set_threads(1);
    gemv_once(&x, out);
    same_bits_at_2_and_3_threads(gemv_once, &x, out, (size_t)out_f, "fc gemv split");
    free(in); free(w); free(b); free(out);
    ax_pool_set_threads(0);
}
END_TEST

START_TEST(test_softmax)
{
    const int n = 3, c = 1000;
    float *in = random_buf((size_t)n * c, -8.0f, 8.0f, 181);
    float *ref = alloc_guarded((size_t)n * c), *out = alloc_guarded((size_t)n * c);
    ref_softmax(ref, in, n, c);
    ax_softmax(out, in, n, c);
    check_close(out, ref, (size_t)n * c, 1e-9, 1e-5, "softmax random");
    check_guard(out, (size_t)n * c, "softmax");
    for (int r = 0; r < n; r++) {
        double s = 0;
        for (int i = 0; i < c; i++) s += out[r * c + i];
        ck_assert_msg(fabs(s - 1.0) < 1e-5, "softmax row %d sums to %.9g", r, s);
    }
    ax_softmax(in, in, n, c);
    check_close(in, ref, (size_t)n * c, 1e-9, 1e-5, "softmax in place");
    free(in); free(ref); free(out);
}
END_TEST

START_TEST(test_softmax_large_logits)
{
    float in[4] = {1000.0f, 1001.0f, -1000.0f, -1001.0f}, out[4];
    ax_softmax(out, in, 2, 2);
    const double e = exp(1.0);
    float want[4] = {(float)(1 / (1 + e)), (float)(e / (1 + e)),
                     (float)(e / (1 + e)), (float)(1 / (1 + e))};
    for (int i = 0; i < 4; i++) ck_assert_msg(isfinite(out[i]), "softmax[%d] = %g", i, out[i]);
    check_close(out, want, 4, 0.0, 1e-6, "softmax large logits");
    ck_assert_msg(fabs((double)out[0] + out[1] - 1.0) < 1e-6, "row sums to %.9g",
                  (double)out[0] + out[1]);
}
END_TEST

/* ---- size helpers ------------------------------------------------------- */

START_TEST(test_window_out)
{
    ck_assert_int_eq(ax_window_out(227, 11, 4, 0, 0, 0), 55);   /* bvlc conv1 */
    ck_assert_int_eq(ax_window_out(224, 11, 4, 2, 2, 0), 55);   /* torchvision conv1 */
    ck_assert_int_eq(ax_window_out(55, 3, 2, 0, 0, 1), 27);
    ck_assert_int_eq(ax_window_out(27, 3, 2, 0, 0, 0), 13);
    ck_assert_int_eq(ax_window_out(27, 3, 2, 0, 0, 1), 13);
    ck_assert_int_eq(ax_window_out(13, 3, 2, 0, 0, 1), 6);
    ck_assert_int_eq(ax_window_out(27, 5, 1, 2, 2, 0), 27);
    ck_assert_int_eq(ax_window_out(56, 3, 2, 0, 0, 0), 27);     /* tf-bench pool1 VALID */
    /* where the roundings differ */
    ck_assert_int_eq(ax_window_out(8, 3, 2, 0, 0, 0), 3);
    ck_assert_int_eq(ax_window_out(8, 3, 2, 0, 0, 1), 4);
    ck_assert_int_eq(ax_window_out(28, 3, 2, 0, 0, 0), 13);
    ck_assert_int_eq(ax_window_out(28, 3, 2, 0, 0, 1), 14);
    /* ceil would give 4 here, but window 4 would start in the after-padding */
    ck_assert_int_eq(ax_window_out(5, 2, 2, 1, 1, 1), 3);
    ck_assert_int_eq(ax_window_out(6, 3, 2, 1, 1, 1), 4);
    ck_assert_int_eq(ax_window_out(2, 3, 1, 0, 0, 0), 0);       /* kernel larger than input */
}
END_TEST

START_TEST(test_same_padding)
{
    int out, before, after;
    ax_same_padding(224, 11, 4, &out, &before, &after);     /* tf-bench conv1 */
    ck_assert_int_eq(out, 56); ck_assert_int_eq(before, 3); ck_assert_int_eq(after, 4);
    ax_same_padding(27, 5, 1, &out, &before, &after);
    ck_assert_int_eq(out, 27); ck_assert_int_eq(before, 2); ck_assert_int_eq(after, 2);
    ax_same_padding(13, 3, 1, &out, &before, &after);
    ck_assert_int_eq(out, 13); ck_assert_int_eq(before, 1); ck_assert_int_eq(after, 1);
    ax_same_padding(6, 2, 2, &out, &before, &after);
    ck_assert_int_eq(out, 3); ck_assert_int_eq(before, 0); ck_assert_int_eq(after, 0);
    ax_same_padding(4, 1, 3, &out, &before, &after);        /* would be negative */
    ck_assert_int_eq(out, 2); ck_assert_int_eq(before, 0); ck_assert_int_eq(after, 0);
    ax_same_padding(7, 4, 1, &out, &before, &after);
    ck_assert_int_eq(out, 7); ck_assert_int_eq(before, 1); ck_assert_int_eq(after, 2);
    /* SAME output and padding agree with ax_window_out */
    ax_same_padding(224, 11, 4, &out, &before, &after);
    ck_assert_int_eq(ax_window_out(224, 11, 4, before, after, 0), out);
}
END_TEST

static Suite *layers_suite(void)
{
    Suite *s = suite_create("layers");
    TCase *tc = tcase_create("kernels");
    tcase_set_timeout(tc, AX_CHECK_TIMEOUT);
    /* First: it starts the pool with 3 threads (which matters when the
     * suite runs in one process, CK_FORK=no). */
    tcase_add_test(tc, test_split_same_bits);
    tcase_add_test(tc, test_conv_basic);
    tcase_add_test(tc, test_conv_groups);
    tcase_add_test(tc, test_conv_stride4);
    tcase_add_test(tc, test_conv_asymmetric);
    tcase_add_test(tc, test_conv_alexnet_conv1);
    tcase_add_test(tc, test_conv_parallel_paths);
    tcase_add_test(tc, test_lrn_caffe);
    tcase_add_test(tc, test_lrn_tf);
    tcase_add_test(tc, test_lrn_darknet);
    tcase_add_test(tc, test_lrn_caffe_equals_tf_port);
    tcase_add_test(tc, test_lrn_dynamic_range);
    tcase_add_test(tc, test_maxpool_rounding);
    tcase_add_test(tc, test_maxpool_padding);
    tcase_add_test(tc, test_avgpool_adaptive);
    tcase_add_test(tc, test_avgpool_known);
    tcase_add_test(tc, test_pad);
    tcase_add_test(tc, test_flatten);
    tcase_add_test(tc, test_flatten_known);
    tcase_add_test(tc, test_relu);
    tcase_add_test(tc, test_fc);
    tcase_add_test(tc, test_fc_gemv_same_bits);
    tcase_add_test(tc, test_softmax);
    tcase_add_test(tc, test_softmax_large_logits);
    tcase_add_test(tc, test_window_out);
    tcase_add_test(tc, test_same_padding);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return ax_run_suite(layers_suite());
}
