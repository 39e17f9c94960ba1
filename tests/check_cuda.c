/* The cross-backend test: every layer type and the four built-in nets run on
 * the CPU and on the CUDA backend, compared layer by layer (normalised
 * squared error <= 1e-7 and max error <= 1e-4 of the layer's largest value),
 * with the sentinels around every device buffer checked after each run.
 *
 * Built twice. tests/check_cuda runs the real backend and skips (77) where
 * there is no usable GPU. tests/check_cuda_emu runs the same backend source
 * on the host emulation of tests/cuda_emu/ and so runs everywhere; it also
 * checks that every copy and library operand stayed inside device memory,
 * and the messages for a missing driver, GPU or memory. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alexscope/backend.h"
#include "alexscope/net.h"
#include "alexscope/spec.h"
#include "alexscope/teach.h"
#include "check_util.h"
#include "backends/cuda/cuda_backend.h"

extern const ax_backend ax_backend_cuda;

#ifdef AX_CUDA_EMU_TEST
extern int ax_emu_violations;
extern char ax_emu_violation[256];
#define EMU_CLEAN() ck_assert_msg(ax_emu_violations == 0, "device memory misuse: %s", ax_emu_violation)
size_t ax_emu_pending(void);
size_t ax_emu_peak_pending(int reset);
#else
#define EMU_CLEAN() ((void)0)
#endif

/* Every layer type and padding form, batch 3. */
static const char *layers_text =
    "input 3 13 11\n"
    "conv    c1 out=10 k=3 s=2 pad=1,0,2,1\n"         /* asymmetric explicit padding */
    "relu    r1\n"
    "lrn     n1 convention=caffe size=5 alpha=3 beta=0.75 k=1\n"
    "maxpool p1 k=3 s=2 round=ceil\n"
    "conv    c2 out=8 k=3 pad=same groups=2\n"        /* SAME, groups */
    "lrn     n2 convention=tf depth_radius=2 bias=1 alpha=0.5 beta=0.5\n"
    "conv    c3 out=8 k=2 s=2 pad=same\n"             /* SAME that splits unevenly */
    "maxpool p2 k=2 s=1 pad=1 round=floor\n"
    "lrn     n3 convention=darknet size=3 alpha=1 beta=0.75 k=1\n"
    "conv    c4 out=4 k=1 bias=0\n"
    "pad     z1 pad=1,2,0,1\n"
    "avgpool a1 size=3x2\n"
    "flatten f1 order=hwc\n"
    "fc      fc1 out=10\n"
    "relu    r2\n"
    "dropout d1 p=0.5\n"
    "fc      fc2 out=7 bias=0\n"
    "softmax prob\n";

/* NaNs in a max pool's windows win, as in PyTorch, ceil windows included. */
static const char *nan_text =
    "input 3 7 7\n"
    "maxpool p1 k=3 s=2 pad=1 round=ceil\n"
    "relu    r1\n";

static const char *chw_text =
    "input 2 9 9\n"
    "conv    c1 out=4 k=3 s=1 pad=1 groups=2\n"
    "maxpool p1 k=3 s=2 round=ceil\n"
    "flatten f1 order=chw\n"
    "fc      fc1 out=5\n";

static void fill_input(ax_net *net, uint64_t seed, float lo, float hi)
{
    size_t n = ax_tensor_numel(&net->input);
    float *x = malloc(n * sizeof *x);
    ck_assert_ptr_nonnull(x);
    ax_fill_uniform(x, n, lo, hi, seed);
    ax_error err;
    ck_assert_msg(ax_net_set_input(net, x, net->input.shape[0], net->input.shape[1], net->input.shape[2],
                                   net->input.shape[3], &err) == AX_OK, "%s", err.msg);
    free(x);
}

/* The rule: normalised squared error and max error against the
 * layer's largest value. A NaN or infinity must be the same on both sides. */
static void compare_layer(const ax_net *cpu, const ax_net *gpu, int i)
{
    const ax_tensor *a = ax_net_output(cpu, i), *b = ax_net_output(gpu, i);
    ck_assert_msg(a && b, "layer %d: output missing (cpu %p, cuda %p)", i, (void *)a, (void *)b);
    size_t n = ax_tensor_numel(a);
    ck_assert_uint_eq(n, ax_tensor_numel(b));
    double se = 0, ss = 0, maxerr = 0, maxref = 0;
    size_t worst = 0;
    for (size_t k = 0; k < n; k++) {
        if (!isfinite(a->data[k]) || !isfinite(b->data[k])) {
            int same = (isnan(a->data[k]) && isnan(b->data[k])) || a->data[k] == b->data[k];
            ck_assert_msg(same, "layer %d '%s': element %zu is %g on CUDA, %g on the CPU", i,
                          cpu->layers[i].spec.name, k, b->data[k], a->data[k]);
            continue;
        }
        double d = (double)b->data[k] - a->data[k];
        se += d * d;
        ss += (double)a->data[k] * a->data[k];
        if (fabs(d) > maxerr) { maxerr = fabs(d); worst = k; }
        if (fabs(a->data[k]) > maxref) maxref = fabs(a->data[k]);
    }
    double nmse = ss > 0 ? se / ss : se;
    ck_assert_msg(nmse <= 1e-7 && maxerr <= 1e-4 * maxref,
                  "layer %d '%s': normalised squared error %.3g (limit 1e-7), max error %.3g at %zu (cuda %.9g, cpu "
                  "%.9g; limit %.3g)", i, cpu->layers[i].spec.name, nmse, maxerr, worst, b->data[worst],
                  a->data[worst], 1e-4 * maxref);
}

static void check_guards(ax_net *gpu)
{
    char why[300] = "";
    ck_assert_msg(ax_cuda_guards_ok(gpu, why, sizeof why), "%s", why);
    EMU_CLEAN();
}

/* Seeded biases (the seeded initialisation leaves them zero, which would
 * hide a bias read from the wrong place). */
static void seed_biases(ax_net *net)
{
    ax_error err;
    for (int i = 0; i < net->nlayers; i++) {
        ax_tensor *b = &net->layers[i].bias;
        if (b->ndim) ax_fill_uniform(b->data, ax_tensor_numel(b), -0.5f, 0.5f, 1000 + (uint64_t)i);
    }
    ck_assert_int_eq(ax_net_weights_changed(net, -1, &err), AX_OK);
}

/* The GPU net with cuDNN or (no_cudnn) im2col + cuBLAS for its convolutions. */
static void make_pair(const ax_spec *spec, int batch, int no_cudnn, ax_net **cpu, ax_net **gpu)
{
    ax_error err;
    ax_backend_options o = { .no_cudnn = no_cudnn };
    ck_assert_msg(ax_net_create(cpu, spec, batch, &ax_backend_cpu, &err) == AX_OK, "%s", err.msg);
    ck_assert_msg(ax_net_create_with(gpu, spec, batch, &ax_backend_cuda, &o, &err) == AX_OK, "%s", err.msg);
    ck_assert_int_eq((*gpu)->options.no_cudnn, no_cudnn);
    seed_biases(*cpu);
    seed_biases(*gpu);
}

/* Runs both, compares every layer, checks the sentinels. */
static void run_and_compare(ax_net *cpu, ax_net *gpu)
{
    ax_error err;
    ck_assert_msg(ax_net_forward(cpu, &err) == AX_OK, "cpu: %s", err.msg);
    ck_assert_msg(ax_net_forward(gpu, &err) == AX_OK, "cuda: %s", err.msg);
    for (int i = 0; i < cpu->nlayers; i++) {
        ck_assert_msg(gpu->layers[i].host_valid == 0, "layer %d: host copy made before anyone read it", i);
        compare_layer(cpu, gpu, i);
        ck_assert_int_eq(gpu->layers[i].host_valid, 1);
    }
    check_guards(gpu);
}

/* The spec on both backends, the same seeded input in [-2, 2], compared. */
static void compare_spec(const ax_spec *spec, int batch, int no_cudnn, uint64_t seed)
{
    ax_net *cpu, *gpu;
    make_pair(spec, batch, no_cudnn, &cpu, &gpu);
    fill_input(cpu, seed, -2, 2);
    fill_input(gpu, seed, -2, 2);
    run_and_compare(cpu, gpu);
    ax_net_free(cpu);
    ax_net_free(gpu);
}

static void layer_types(const char *text, int batch, int no_cudnn)
{
    ax_spec spec;
    ax_error err;
    ck_assert_msg(ax_spec_parse(&spec, text, "layers.net", &err) == AX_OK, "%s", err.msg);
    compare_spec(&spec, batch, no_cudnn, 7);
}

START_TEST(every_layer_type_cudnn) { layer_types(layers_text, 3, 0); }
END_TEST

START_TEST(every_layer_type_gemm) { layer_types(layers_text, 3, 1); }
END_TEST

/* The CUDA backend says it runs every layer type, and the spec above holds
 * one of each, so the two comparisons above cover them all. */
START_TEST(every_layer_type_has_a_kernel)
{
    ax_spec spec;
    ax_error err;
    ck_assert_msg(ax_spec_parse(&spec, layers_text, "layers.net", &err) == AX_OK, "%s", err.msg);
    for (int t = 0; t < AX_L_COUNT; t++) {
        int in_spec = 0;
        for (int i = 0; i < spec.nlayers; i++) in_spec |= spec.layers[i].type == (ax_layer_type)t;
        ck_assert_msg(in_spec, "the layer-types spec has no %s layer", ax_layer_type_name((ax_layer_type)t));
        ax_layer L;
        memset(&L, 0, sizeof L);
        L.spec.type = (ax_layer_type)t;
        char why[160] = "";
        ck_assert_msg(ax_backend_cuda.supports(NULL, &L, why, sizeof why), "cuda: %s", why);
    }
    ax_layer L;
    memset(&L, 0, sizeof L);
    L.spec.type = AX_L_COUNT;
    char why[160] = "";
    ck_assert(!ax_backend_cuda.supports(NULL, &L, why, sizeof why));
    ck_assert_msg(strstr(why, "no CUDA kernel"), "%s", why);
}
END_TEST

START_TEST(chw_flatten_groups) { layer_types(chw_text, 2, _i); }
END_TEST

START_TEST(maxpool_nan)
{
    ax_spec spec;
    ax_error err;
    ck_assert_msg(ax_spec_parse(&spec, nan_text, "nan.net", &err) == AX_OK, "%s", err.msg);
    ax_net *cpu, *gpu;
    make_pair(&spec, 2, 0, &cpu, &gpu);
    fill_input(cpu, 3, -1, 1);
    /* NaNs at a window's first, middle and last cells, an edge and a corner */
    static const int at[] = {0, 9, 24, 48, 49 + 30, 98 + 6, 147 + 42};
    for (size_t k = 0; k < sizeof at / sizeof at[0]; k++) cpu->input.data[at[k]] = NAN;
    ck_assert_int_eq(ax_net_set_input(gpu, cpu->input.data, 2, 3, 7, 7, &err), AX_OK);
    ck_assert_int_eq(ax_net_output_changed(cpu, -1, &err), AX_OK);
    run_and_compare(cpu, gpu);
    int nans = 0;
    const ax_tensor *p = ax_net_output(gpu, 0);
    for (size_t k = 0; k < ax_tensor_numel(p); k++) nans += isnan(p->data[k]);
    ck_assert_int_ge(nans, 7);
    ax_net_free(cpu);
    ax_net_free(gpu);
}
END_TEST

/* The four built-in nets on input spread like a preprocessed image. */
static void builtin(const char *name, int batch, int no_cudnn)
{
    ax_spec spec;
    ax_error err;
    ck_assert_msg(ax_spec_load(&spec, name, &err) == AX_OK, "%s", err.msg);
    compare_spec(&spec, batch, no_cudnn, 11);
}

static const char *const models[] = {"caffe", "torchvision", "tf-bench", "keras-half"};

START_TEST(builtin_nets) { builtin(models[_i % 4], 1, _i >= 4); }
END_TEST

#ifndef AX_CUDA_EMU_TEST
START_TEST(builtin_nets_batch) { builtin(models[_i], 5, 0); }
END_TEST
#endif

/* Stepping one layer at a time: nothing crosses to the host until read, a
 * what-if runs on the device's values, changed weights and inputs are sent. */
START_TEST(stepping_and_changes)
{
    ax_spec spec;
    ax_error err;
    ck_assert_msg(ax_spec_load(&spec, "caffe", &err) == AX_OK, "%s", err.msg);
    ax_net *cpu, *gpu;
    make_pair(&spec, 1, 0, &cpu, &gpu);
    fill_input(cpu, 5, -2, 2);
    fill_input(gpu, 5, -2, 2);
    for (int i = 0; i < 3; i++) {
        ck_assert_msg(ax_net_step(gpu, i, &err) == AX_OK, "%s", err.msg);
        ck_assert_int_eq(gpu->layers[i].host_valid, 0);
    }
    ck_assert_msg(ax_net_run_to(cpu, 2, &err) == AX_OK, "%s", err.msg);
    compare_layer(cpu, gpu, 1);
    ck_assert_int_eq(gpu->layers[1].host_valid, 1);
    ck_assert_int_eq(gpu->layers[0].host_valid, 0);   /* only what was read */
    ck_assert_ptr_null(ax_net_output(gpu, 3));

    /* conv2 with its first tower off, on both */
    int conv2 = ax_net_find(gpu, "conv2");
    ck_assert_int_ge(conv2, 0);
    ck_assert_int_eq(ax_whatif_set(cpu, conv2, AX_WHATIF_TOWER0_OFF, &err), AX_OK);
    ck_assert_int_eq(ax_whatif_set(gpu, conv2, AX_WHATIF_TOWER0_OFF, &err), AX_OK);
    int lrn1 = ax_net_find(gpu, "norm1");
    if (lrn1 < 0) lrn1 = ax_net_find(gpu, "lrn1");
    ck_assert_int_ge(lrn1, 0);
    ck_assert_int_eq(ax_whatif_set(cpu, lrn1, AX_WHATIF_LRN_OFF, &err), AX_OK);
    ck_assert_int_eq(ax_whatif_set(gpu, lrn1, AX_WHATIF_LRN_OFF, &err), AX_OK);
    ck_assert_msg(ax_net_forward(cpu, &err) == AX_OK, "%s", err.msg);
    ck_assert_msg(ax_net_forward(gpu, &err) == AX_OK, "%s", err.msg);
    for (int i = 0; i < cpu->nlayers; i++) compare_layer(cpu, gpu, i);
    check_guards(gpu);

    /* a weight changed on the host reaches the device */
    ax_layer *fc8c = &cpu->layers[ax_net_find(cpu, "fc8")], *fc8g = &gpu->layers[ax_net_find(gpu, "fc8")];
    for (int k = 0; k < 50; k++) { fc8c->weight.data[k * 17] += 0.5f; fc8g->weight.data[k * 17] += 0.5f; }
    fc8c->bias.data[3] = fc8g->bias.data[3] = 4.0f;
    ck_assert_int_eq(ax_net_weights_changed(cpu, fc8c->index, &err), AX_OK);
    ck_assert_int_eq(ax_net_weights_changed(gpu, fc8g->index, &err), AX_OK);
    ck_assert_ptr_null(ax_net_output(gpu, fc8g->index));
    ck_assert_msg(ax_net_forward(cpu, &err) == AX_OK, "%s", err.msg);
    ck_assert_msg(ax_net_forward(gpu, &err) == AX_OK, "%s", err.msg);
    compare_layer(cpu, gpu, fc8g->index);
    compare_layer(cpu, gpu, gpu->nlayers - 1);

    /* a new input */
    fill_input(cpu, 99, -1, 1);
    fill_input(gpu, 99, -1, 1);
    ck_assert_ptr_null(ax_net_output(gpu, 0));
    ck_assert_msg(ax_net_forward(cpu, &err) == AX_OK, "%s", err.msg);
    ck_assert_msg(ax_net_forward(gpu, &err) == AX_OK, "%s", err.msg);
    for (int i = 0; i < cpu->nlayers; i++) compare_layer(cpu, gpu, i);
    check_guards(gpu);
    for (int i = 0; i < gpu->nlayers; i++) ck_assert_msg(gpu->layers[i].ms >= 0, "layer %d: time %g", i, gpu->layers[i].ms);
    ax_net_free(cpu);
    ax_net_free(gpu);
}
END_TEST

/* A sentinel overwritten is reported, naming the buffer. */
START_TEST(guards_catch_overrun)
{
    ax_spec spec;
    ax_error err;
    ck_assert_msg(ax_spec_parse(&spec, chw_text, "chw.net", &err) == AX_OK, "%s", err.msg);
    ax_net *gpu;
    ck_assert_msg(ax_net_create(&gpu, &spec, 1, &ax_backend_cuda, &err) == AX_OK, "%s", err.msg);
    fill_input(gpu, 3, -1, 1);
    ck_assert_msg(ax_net_forward(gpu, &err) == AX_OK, "%s", err.msg);
    char why[300] = "";
    ck_assert_msg(ax_cuda_guards_ok(gpu, why, sizeof why), "%s", why);
    /* overrun layer 0's output by one float: the host copy (one float too
     * many) is sent to the device buffer through the backend's upload */
    ax_layer *L = &gpu->layers[0];
    size_t n = ax_tensor_numel(&L->out);
    ax_tensor saved = L->out;
    L->out.shape[L->out.ndim - 1] += 1;   /* one more column per row: runs past the end */
    (void)n;
    ck_assert_int_eq(gpu->backend->upload(gpu, 0, &err), AX_OK);
    L->out = saved;
    ck_assert(!ax_cuda_guards_ok(gpu, why, sizeof why));
    ck_assert_msg(strstr(why, "after the output of layer c1") != NULL, "%s", why);
    ax_net_free(gpu);
}
END_TEST

/* cuDNN itself accepts the descriptors of every convolution of the four
 * built-in nets and of the layer test and computes each one's output shape
 * as the net does; padding it cannot express goes through a padded copy. In
 * tests/check_cuda this is the real library and needs no GPU. */
static void descriptors_of(const char *name_or_text, int text, int *explicit_count, const char *expect_explicit)
{
    ax_spec spec;
    ax_error err;
    if (text) ck_assert_msg(ax_spec_parse(&spec, name_or_text, "layers.net", &err) == AX_OK, "%s", err.msg);
    else ck_assert_msg(ax_spec_load(&spec, name_or_text, &err) == AX_OK, "%s", err.msg);
    ax_net *net;
    ck_assert_msg(ax_net_create(&net, &spec, 2, &ax_backend_cpu, &err) == AX_OK, "%s", err.msg);
    for (int i = 0; i < net->nlayers; i++) {
        if (net->layers[i].spec.type != AX_L_CONV) continue;
        int ep = -1;
        char why[400] = "";
        int rc = ax_cuda_dnn_check(net, i, &ep, why, sizeof why);
        ck_assert_msg(rc == 0, "%s layer %s: %s", net->spec.name, net->layers[i].spec.name, why);
        int want = expect_explicit && !strcmp(expect_explicit, net->layers[i].spec.name);
        ck_assert_msg(ep == want || !expect_explicit, "%s layer %s: padded copy %d, expected %d", net->spec.name,
                      net->layers[i].spec.name, ep, want);
        *explicit_count += ep;
    }
    ax_net_free(net);
}

START_TEST(cudnn_descriptors)
{
    int n = 0;
    descriptors_of("caffe", 0, &n, "");
    descriptors_of("torchvision", 0, &n, "");
    descriptors_of("keras-half", 0, &n, NULL);
    ck_assert_int_eq(n, 0);
    descriptors_of("tf-bench", 0, &n, "conv1");   /* SAME: 3 rows above, 4 below */
    ck_assert_int_eq(n, 1);
    descriptors_of(layers_text, 1, &n, "c3");      /* c1's extra bottom row is never reached */
    ck_assert_int_eq(n, 2);
}
END_TEST

#ifdef AX_CUDA_EMU_TEST
/* Why a GPU cannot be used is said in the user's words. */
static void expect_device_error(const char *env, const char *val, ax_status code, const char *words)
{
    setenv(env, val, 1);
    ax_spec spec;
    ax_error err;
    ck_assert_msg(ax_spec_load(&spec, "caffe", &err) == AX_OK, "%s", err.msg);
    ax_net *gpu = NULL;
    ck_assert_int_eq(ax_net_create(&gpu, &spec, 1, &ax_backend_cuda, &err), code);
    ck_assert_ptr_null(gpu);
    ck_assert_msg(strstr(err.msg, words) != NULL, "expected '%s' in: %s", words, err.msg);
    unsetenv(env);
}

START_TEST(no_driver) { expect_device_error("AX_EMU_DRIVER", "0", AX_ERR_DEVICE, "no NVIDIA driver"); }
END_TEST
START_TEST(no_gpu) { expect_device_error("AX_EMU_DEVICES", "0", AX_ERR_DEVICE, "no CUDA-capable GPU"); }
END_TEST
START_TEST(out_of_memory) { expect_device_error("AX_EMU_FREE_MB", "100", AX_ERR_NOMEM, "needs 0.2"); }
END_TEST

START_TEST(wrong_gpu_index)
{
    ax_backend_options o = { .device_index = 3 };
    ax_spec spec;
    ax_error err;
    ck_assert_msg(ax_spec_parse(&spec, chw_text, "chw.net", &err) == AX_OK, "%s", err.msg);
    ax_net *gpu = NULL;
    ck_assert_int_eq(ax_net_create_with(&gpu, &spec, 1, &ax_backend_cuda, &o, &err), AX_ERR_ARG);
    ck_assert_ptr_null(gpu);
    ck_assert_msg(strstr(err.msg, "--gpu 3: this machine has 1 GPU") != NULL, "%s", err.msg);
    /* the options went with that net only: the next one gets the defaults */
    ck_assert_msg(ax_net_create(&gpu, &spec, 1, &ax_backend_cuda, &err) == AX_OK, "%s", err.msg);
    ck_assert_int_eq(gpu->options.device_index, 0);
    ax_net_free(gpu);
}
END_TEST

/* cuDNN failing at creation leaves the convolutions to im2col + cuBLAS,
 * which still agree with the CPU; the description says why. */
START_TEST(cudnn_failure_falls_back)
{
    setenv("AX_EMU_DNN_FAIL", "1", 1);
    ax_spec spec;
    ax_error err;
    ck_assert_msg(ax_spec_parse(&spec, layers_text, "layers.net", &err) == AX_OK, "%s", err.msg);
    ax_net *cpu, *gpu;
    make_pair(&spec, 2, 0, &cpu, &gpu);
    char d[320];
    gpu->backend->describe(gpu, d, sizeof d);
    ck_assert_msg(strstr(d, "cuDNN failed") && strstr(d, "im2col + cuBLAS"), "%s", d);
    ck_assert_str_eq(ax_cuda_conv_method(gpu, 0), "im2col + cuBLAS");
    fill_input(cpu, 8, -2, 2);
    fill_input(gpu, 8, -2, 2);
    run_and_compare(cpu, gpu);
    ax_net_free(cpu);
    ax_net_free(gpu);
    unsetenv("AX_EMU_DNN_FAIL");
}
END_TEST

/* The emulated GPU runs queued work only when the host waits. A run to the
 * last layer is queued whole before the host waits once; what is then read
 * is the finished result; nothing is left queued. */
START_TEST(a_run_is_queued_then_waited_for)
{
    ax_spec spec;
    ax_error err;
    ck_assert_msg(ax_spec_parse(&spec, layers_text, "layers.net", &err) == AX_OK, "%s", err.msg);
    ax_net *cpu, *gpu;
    make_pair(&spec, 2, 0, &cpu, &gpu);
    fill_input(cpu, 7, -1, 1);
    fill_input(gpu, 7, -1, 1);
    ck_assert_msg(ax_net_run_to(cpu, cpu->nlayers - 1, &err) == AX_OK, "%s", err.msg);
    ax_emu_peak_pending(1);
    ck_assert_msg(ax_net_run_to(gpu, gpu->nlayers - 1, &err) == AX_OK, "%s", err.msg);
    size_t peak = ax_emu_peak_pending(1);
    ck_assert_msg(peak >= (size_t)gpu->nlayers, "at most %zu items were queued at once in a run of %d layers: "
                  "the backend waits inside the run", peak, gpu->nlayers);
    ck_assert_uint_eq(ax_emu_pending(), 0);
    for (int i = 0; i < gpu->nlayers; i++) compare_layer(cpu, gpu, i);
    check_guards(gpu);
    EMU_CLEAN();
    ax_net_free(cpu);
    ax_net_free(gpu);
}
END_TEST

/* --tf32 takes the tensor-core algorithm the search lists first; without it
 * the FMA one is taken even though it is listed later. */
START_TEST(precision_choice)
{
    ax_spec spec;
    ax_error err;
    ck_assert_msg(ax_spec_parse(&spec, chw_text, "chw.net", &err) == AX_OK, "%s", err.msg);
    ax_backend_options o = { .no_cudnn = 0 };
    for (int tf32 = 0; tf32 < 2; tf32++) {
        o.tf32 = tf32;
        ax_net *gpu;
        ck_assert_msg(ax_net_create_with(&gpu, &spec, 1, &ax_backend_cuda, &o, &err) == AX_OK, "%s", err.msg);
        ck_assert_str_eq(ax_cuda_conv_method(gpu, 0), tf32 ? "WINOGRAD_NONFUSED" : "IMPLICIT_PRECOMP_GEMM");
        char d[320];
        gpu->backend->describe(gpu, d, sizeof d);
        ck_assert_msg(strstr(d, tf32 ? "TF32 allowed" : "TF32 off") != NULL, "%s", d);
        ax_net_free(gpu);
    }
}
END_TEST
#endif

static Suite *suite(void)
{
    Suite *s = suite_create("cuda");
    TCase *tc = tcase_create("cross-backend");
    tcase_set_timeout(tc, AX_CHECK_TIMEOUT);
    tcase_add_test(tc, every_layer_type_cudnn);
    tcase_add_test(tc, every_layer_type_gemm);
    tcase_add_test(tc, every_layer_type_has_a_kernel);
    tcase_add_loop_test(tc, chw_flatten_groups, 0, 2);
    tcase_add_test(tc, maxpool_nan);
    tcase_add_loop_test(tc, builtin_nets, 0, 8);
#ifndef AX_CUDA_EMU_TEST
    tcase_add_loop_test(tc, builtin_nets_batch, 0, 4);
#endif
    tcase_add_test(tc, stepping_and_changes);
    tcase_add_test(tc, cudnn_descriptors);
    tcase_add_test(tc, guards_catch_overrun);
#ifdef AX_CUDA_EMU_TEST
    tcase_add_test(tc, no_driver);
    tcase_add_test(tc, no_gpu);
    tcase_add_test(tc, out_of_memory);
    tcase_add_test(tc, wrong_gpu_index);
    tcase_add_test(tc, precision_choice);
    tcase_add_test(tc, a_run_is_queued_then_waited_for);
    tcase_add_test(tc, cudnn_failure_falls_back);
#endif
    suite_add_tcase(s, tc);
    return s;
}

#ifndef AX_CUDA_EMU_TEST
/* Runs every case in this process (Check forks one per case by default). */
static int run_here(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
#endif

int main(void)
{
#ifndef AX_CUDA_EMU_TEST
    /* Without a usable GPU there is nothing to compare; cuDNN's descriptors
     * are still checked against the library where it loads. Else skip,
     * saying why. */
    ax_spec spec;
    ax_error err;
    if (ax_spec_parse(&spec, chw_text, "chw.net", &err) != AX_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    ax_net *probe = NULL;
    ax_status st = ax_net_create(&probe, &spec, 1, &ax_backend_cuda, &err);
    if (st == AX_ERR_DEVICE) {
        printf("no GPU: %s\n", err.msg);
        ax_net *cpu = NULL;
        int ep;
        char why[400] = "";
        if (ax_net_create(&cpu, &spec, 1, &ax_backend_cpu, &err) || ax_cuda_dnn_check(cpu, 0, &ep, why, sizeof why) < 0) {
            ax_net_free(cpu);
            printf("SKIP: and no cuDNN to check descriptors with (%s)\n", why);
            return 77;
        }
        ax_net_free(cpu);
        printf("only cuDNN's descriptors are checked, against the library itself\n");
        Suite *s = suite_create("cuda without a GPU");
        TCase *tc = tcase_create("cudnn");
        tcase_set_timeout(tc, AX_CHECK_TIMEOUT);
        tcase_add_test(tc, cudnn_descriptors);
        suite_add_tcase(s, tc);
        return run_here(s);   /* cuDNN, once used in this process, does not survive a fork */
    }
    ax_net_free(probe);
    return run_here(suite());   /* CUDA, once started in this process, does not survive a fork */
#else
    return ax_run_suite(suite());
#endif
}
