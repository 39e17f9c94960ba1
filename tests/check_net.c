/* The net: stepping semantics, seeded initialisation, and weight loading
 * (strict checks, lenient mode, TensorFlow-layout conversion). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alexscope/cpu.h"
#include "alexscope/analysis.h"
#include "alexscope/compare.h"
#include "alexscope/grad.h"
#include "alexscope/image.h"
#include "alexscope/net.h"
#include "alexscope/teach.h"
#include "alexscope/weights.h"
#include "backends/cpu/blas_tune.h"
#include "check_util.h"
#include "core/parallel.h"

static const char *tiny_text =
    "input 3 12 12\n"
    "conv    c1 out=4 k=3 pad=1\n"
    "relu    r1\n"
    "lrn     n1 convention=caffe size=3 alpha=0.5 beta=0.75 k=2\n"
    "maxpool p1 k=2 s=2\n"
    "conv    c2 out=6 k=3 pad=1 groups=2\n"
    "fc      f1 out=5\n"
    "softmax prob\n";

static ax_net *make_tiny(int batch)
{
    ax_spec spec;
    ax_error err;
    ax_net *net = NULL;
    ck_assert_msg(ax_spec_parse(&spec, tiny_text, "tiny.net", &err) == AX_OK, "%s", err.msg);
    ck_assert_msg(ax_net_create(&net, &spec, batch, NULL, &err) == AX_OK, "%s", err.msg);
    float in[2 * 3 * 12 * 12];
    ax_fill_uniform(in, sizeof in / sizeof *in, -1, 1, 7);
    ck_assert_int_eq(ax_net_set_input(net, in, batch, 3, 12, 12, &err), AX_OK);
    return net;
}

static int observed;
static void count_layers(const ax_net *net, int i, void *user) { (void)net; (void)user; observed += 1 + 0 * i; }

START_TEST(test_stepping)
{
    ax_net *net = make_tiny(1);
    ax_error err;
    ck_assert_int_eq(net->computed, 0);
    ck_assert_ptr_null(ax_net_output(net, 0));
    ck_assert_ptr_eq(ax_net_output(net, -1), &net->input);
    /* A layer whose input is not computed is refused, with a message. */
    ck_assert_int_eq(ax_net_step(net, 2, &err), AX_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(err.msg, "not computed"));
    ck_assert_int_eq(ax_net_step(net, 0, &err), AX_OK);
    ck_assert_int_eq(net->computed, 1);
    ck_assert_ptr_nonnull(ax_net_output(net, 0));

    observed = 0;
    net->observer = count_layers;
    ck_assert_int_eq(ax_net_run_to(net, 3, &err), AX_OK);
    ck_assert_int_eq(observed, 3);
    ck_assert_int_eq(net->computed, 4);
    /* Looking back costs nothing: outputs stay, nothing is recomputed. */
    float keep = ax_net_output(net, 1)->data[5];
    ck_assert_int_eq(ax_net_run_to(net, 1, &err), AX_OK);
    ck_assert_int_eq(observed, 3);
    ck_assert_float_eq(ax_net_output(net, 1)->data[5], keep);
    ck_assert_int_eq(ax_net_forward(net, &err), AX_OK);
    ck_assert_int_eq(net->computed, net->nlayers);

    const ax_tensor *p = ax_net_output(net, net->nlayers - 1);
    double sum = 0;
    for (int i = 0; i < 5; i++) sum += p->data[i];
    ck_assert_double_eq_tol(sum, 1.0, 1e-5);

    /* A new input forgets every output. */
    float in[3 * 12 * 12] = {0};
    ck_assert_int_eq(ax_net_set_input(net, in, 1, 3, 12, 12, &err), AX_OK);
    ck_assert_int_eq(net->computed, 0);
    ck_assert_int_eq(ax_net_set_input(net, in, 1, 3, 11, 12, &err), AX_ERR_SHAPE);
    ck_assert_ptr_nonnull(strstr(err.msg, "(1, 3, 12, 12)"));
    ck_assert_int_eq(ax_net_step(net, 99, &err), AX_ERR_ARG);
    ax_net_free(net);
}
END_TEST

/* The protocol a device backend relies on, seen from the CPU: outputs are
 * read only through ax_net_output (NULL until computed), changed weights
 * forget the outputs from their layer on, a changed host output is what the
 * next layer reads, and a changed input forgets everything. */
START_TEST(test_output_protocol)
{
    for (int batch = 1; batch <= 2; batch++) {
        ax_net *net = make_tiny(batch);
        ax_error err;
        int L = net->nlayers;
        ck_assert_int_eq(ax_net_on_host(net), 1);
        for (int i = 0; i < L; i++) ck_assert_ptr_null(ax_net_output(net, i));
        ck_assert_int_eq(ax_net_fetch(net, 0, &err), AX_ERR_ARG);
        for (int i = 0; i < L; i++) {
            ck_assert_int_eq(ax_net_step(net, i, &err), AX_OK);
            ck_assert_msg(net->layers[i].host_valid == 1, "batch %d, layer %d: host_valid %d after a CPU step",
                          batch, i, net->layers[i].host_valid);
            ck_assert_ptr_eq(ax_net_output(net, i), &net->layers[i].out);
            for (int j = i + 1; j < L; j++) ck_assert_ptr_null(ax_net_output(net, j));
        }
        ck_assert_int_eq(ax_net_fetch_all(net, &err), AX_OK);

        /* Weights of c2 (layer 4) doubled on the host: layers 4.. are forgotten,
         * and computed again they see the new weights (seeded biases are 0). */
        int k = ax_net_find(net, "c2");
        ck_assert_int_eq(k, 4);
        size_t n_out = ax_tensor_numel(&net->layers[k].out);
        float *before = malloc(n_out * sizeof *before);
        ck_assert_ptr_nonnull(before);
        memcpy(before, ax_net_output(net, k)->data, n_out * sizeof *before);
        ax_tensor *w = &net->layers[k].weight;
        for (size_t j = 0; j < ax_tensor_numel(w); j++) w->data[j] *= 2;
        ck_assert_int_eq(ax_net_weights_changed(net, k, &err), AX_OK);
        ck_assert_int_eq(net->computed, k);
        ck_assert_int_eq(net->layers[k].weights_dirty, 1);
        for (int j = k; j < L; j++) ck_assert_ptr_null(ax_net_output(net, j));
        ck_assert_ptr_nonnull(ax_net_output(net, k - 1));
        ck_assert_int_eq(ax_net_step(net, k, &err), AX_OK);
        const ax_tensor *after = ax_net_output(net, k);
        ck_assert_ptr_nonnull(after);
        for (size_t j = 0; j < n_out; j++)
            ck_assert_msg(fabsf(after->data[j] - 2 * before[j]) <= 1e-5f * (1 + fabsf(before[j])),
                          "c2[%zu] = %g with doubled weights, %g before", j, after->data[j], before[j]);
        free(before);
        ck_assert_int_eq(ax_net_weights_changed(net, L, &err), AX_ERR_ARG);
        ck_assert_int_eq(ax_net_weights_changed(net, -1, &err), AX_OK);
        ck_assert_int_eq(net->computed, 0);
        for (int j = 0; j < L; j++) ck_assert_ptr_null(ax_net_output(net, j));

        /* A host write to r1's output (layer 1), announced: the LRN and the
         * pool after it read the zeros (LRN and max of zeros are zeros). */
        ck_assert_int_eq(ax_net_forward(net, &err), AX_OK);
        ax_tensor *r1 = &net->layers[1].out;
        memset(r1->data, 0, ax_tensor_numel(r1) * sizeof(float));
        ck_assert_int_eq(ax_net_output_changed(net, 1, &err), AX_OK);
        ck_assert_int_eq(net->computed, 2);
        ck_assert_ptr_eq(ax_net_output(net, 1), r1);
        ck_assert_ptr_null(ax_net_output(net, 2));
        ck_assert_int_eq(ax_net_run_to(net, 3, &err), AX_OK);
        const ax_tensor *p1 = ax_net_output(net, 3);
        ck_assert_ptr_nonnull(p1);
        for (size_t j = 0; j < ax_tensor_numel(p1); j++) ck_assert_float_eq(p1->data[j], 0.0f);
        ck_assert_int_eq(ax_net_output_changed(net, 5, &err), AX_ERR_ARG);

        /* A changed input forgets everything; the input itself stays readable. */
        ck_assert_int_eq(ax_net_output_changed(net, -1, &err), AX_OK);
        ck_assert_int_eq(net->computed, 0);
        for (int j = 0; j < L; j++) ck_assert_ptr_null(ax_net_output(net, j));
        ck_assert_ptr_eq(ax_net_output(net, -1), &net->input);
        ax_net_free(net);
    }
}
END_TEST

/* A stand-in for a device backend: the CPU kernels, with every output kept in
 * a private "device" copy and the host copy poisoned with NaN until the net
 * downloads it. Code that reads .out.data without ax_net_output or
 * ax_net_fetch reads NaNs, and code that writes it without
 * ax_net_output_changed is not seen by the layers after. */
typedef struct {
    void *cpu_state;
    float *dev;     /* (acount) laid out as the host block */
} fake_state;

static float *host_of(ax_net *net, int i) { return i < 0 ? net->input.data : net->layers[i].out.data; }
static size_t numel_of(const ax_net *net, int i) { return ax_tensor_numel(i < 0 ? &net->input : &net->layers[i].out); }
static float *dev_of(ax_net *net, int i)
{
    return ((fake_state *)net->backend_state)->dev + (host_of(net, i) - net->ablock);
}
static void poison(float *p, size_t n) { for (size_t k = 0; k < n; k++) p[k] = NAN; }

static ax_status fake_init(ax_net *net, ax_error *err)
{
    fake_state *s = calloc(1, sizeof *s);
    if (!s || !(s->dev = calloc(net->acount, sizeof(float)))) { free(s); return ax_fail(err, AX_ERR_NOMEM, "fake"); }
    net->backend_state = NULL;
    ax_status st = ax_backend_cpu.init ? ax_backend_cpu.init(net, err) : AX_OK;
    s->cpu_state = net->backend_state;
    net->backend_state = s;
    return st;
}

static ax_status fake_upload(ax_net *net, int i, ax_error *err)
{
    (void)err;
    memcpy(dev_of(net, i), host_of(net, i), numel_of(net, i) * sizeof(float));
    return AX_OK;
}

static ax_status fake_download(ax_net *net, int i, ax_error *err)
{
    (void)err;
    memcpy(host_of(net, i), dev_of(net, i), numel_of(net, i) * sizeof(float));
    return AX_OK;
}

static ax_status fake_run(ax_net *net, int i, ax_error *err)
{
    fake_state *s = net->backend_state;
    /* the CPU kernels read the host input: it is the device's for the run */
    fake_download(net, i - 1, err);
    net->backend_state = s->cpu_state;
    ax_status st = ax_backend_cpu.run_layer(net, i, err);
    net->backend_state = s;
    fake_upload(net, i, err);
    poison(host_of(net, i), numel_of(net, i));
    if (i > 0 && !net->layers[i - 1].host_valid) poison(host_of(net, i - 1), numel_of(net, i - 1));
    return st;
}

static void fake_describe(const ax_net *net, char *buf, int size) { (void)net; snprintf(buf, (size_t)size, "fake"); }

static void fake_release(ax_net *net)
{
    fake_state *s = net->backend_state;
    if (!s) return;
    net->backend_state = s->cpu_state;
    if (ax_backend_cpu.release) ax_backend_cpu.release(net);
    free(s->dev);
    free(s);
    net->backend_state = NULL;
}

static const ax_backend fake_device = {
    .name = "fake-device", .host_memory = 0, .init = fake_init, .supports = NULL, .upload = fake_upload,
    .run_layer = fake_run, .download = fake_download, .describe = fake_describe, .release = fake_release,
};

/* A backend without LRN: the net is refused before the backend starts,
 * naming the layer. */
static int no_lrn_inits;

static int no_lrn_supports(const ax_net *net, const ax_layer *L, char *why, size_t size)
{
    (void)net;
    if (L->spec.type != AX_L_LRN) return 1;
    snprintf(why, size, "no LRN kernel here");
    return 0;
}

static ax_status no_lrn_init(ax_net *net, ax_error *err)
{
    (void)net; (void)err;
    no_lrn_inits++;
    return AX_OK;
}

START_TEST(test_backend_refuses_layer)
{
    static const ax_backend no_lrn = {
        .name = "no-lrn", .host_memory = 1, .init = no_lrn_init, .supports = no_lrn_supports,
        .run_layer = NULL, .describe = fake_describe, .release = NULL,
    };
    ax_spec spec;
    ax_error err;
    ck_assert_msg(ax_spec_parse(&spec, tiny_text, "tiny.net", &err) == AX_OK, "%s", err.msg);
    ax_net *net = NULL;
    ck_assert_int_eq(ax_net_create(&net, &spec, 1, &no_lrn, &err), AX_ERR_UNSUPPORTED);
    ck_assert_ptr_null(net);
    ck_assert_msg(strstr(err.msg, "layer 2 'n1' (lrn) cannot run on the no-lrn backend: no LRN kernel here"), "%s",
                  err.msg);
    ck_assert_int_eq(no_lrn_inits, 0);
}
END_TEST

/* What a stand-in backend was told and asked when its net was created. */
static ax_backend_options seen_options;
static int seen_inits, seen_workspace_calls;
static size_t stand_in_workspace_bytes;

static ax_status recording_init(ax_net *net, ax_error *err)
{
    (void)err;
    seen_options = net->options;
    seen_inits++;
    return AX_OK;
}

static size_t recording_workspace(const ax_net *net)
{
    /* asked after shapes are resolved: the layers' windows are there */
    ck_assert_int_eq(net->layers[0].win.oh, 12);
    seen_workspace_calls++;
    return stand_in_workspace_bytes;
}

static ax_status recording_run(ax_net *net, int i, ax_error *err)
{
    (void)net; (void)i; (void)err;
    return AX_OK;
}

static const ax_backend recording = {
    .name = "recording", .host_memory = 1, .workspace = recording_workspace, .init = recording_init,
    .supports = ax_backend_supports_every_type, .run_layer = recording_run, .describe = fake_describe,
};

/* Options reach the backend through creation, a copy kept in the net: the
 * next net created without them gets the defaults, whatever came before. */
START_TEST(test_backend_options_at_creation)
{
    ax_spec spec;
    ax_error err;
    ck_assert_msg(ax_spec_parse(&spec, tiny_text, "tiny.net", &err) == AX_OK, "%s", err.msg);
    ax_backend_options o = { .tf32 = 1, .device_index = 2, .no_cudnn = 1 };
    ax_net *a = NULL, *b = NULL;
    seen_inits = 0;
    stand_in_workspace_bytes = 0;
    ck_assert_msg(ax_net_create_with(&a, &spec, 1, &recording, &o, &err) == AX_OK, "%s", err.msg);
    ck_assert_int_eq(seen_inits, 1);
    ck_assert_int_eq(seen_options.tf32, 1);
    ck_assert_int_eq(seen_options.device_index, 2);
    ck_assert_int_eq(seen_options.no_cudnn, 1);
    o.tf32 = 0;   /* the caller's struct is not the net's */
    ck_assert_int_eq(a->options.tf32, 1);
    ck_assert_msg(ax_net_create(&b, &spec, 1, &recording, &err) == AX_OK, "%s", err.msg);
    ck_assert_int_eq(seen_options.tf32, 0);
    ck_assert_int_eq(seen_options.device_index, 0);
    ck_assert_int_eq(seen_options.no_cudnn, 0);
    ck_assert_int_eq(a->options.device_index, 2);
    ax_net_free(a);
    ax_net_free(b);
    ck_assert_msg(ax_net_create_with(&a, &spec, 1, &recording, NULL, &err) == AX_OK, "%s", err.msg);
    ck_assert_int_eq(a->options.tf32 + a->options.device_index + a->options.no_cudnn, 0);
    ax_net_free(a);
}
END_TEST

/* The memory estimate asks the backend for its own workspace: one larger
 * than any machine is refused before anything is allocated or started. */
START_TEST(test_backend_workspace_in_estimate)
{
    ax_spec spec;
    ax_error err;
    ck_assert_msg(ax_spec_parse(&spec, tiny_text, "tiny.net", &err) == AX_OK, "%s", err.msg);
    ax_net *net = NULL;
    seen_inits = seen_workspace_calls = 0;
    stand_in_workspace_bytes = (size_t)1 << 62;
    ck_assert_int_eq(ax_net_create(&net, &spec, 1, &recording, &err), AX_ERR_NOMEM);
    ck_assert_ptr_null(net);
    ck_assert_int_eq(seen_workspace_calls, 1);
    ck_assert_int_eq(seen_inits, 0);
    ck_assert_msg(strstr(err.msg, "activations and scratch") != NULL, "%s", err.msg);
    stand_in_workspace_bytes = 0;
    /* the CPU backend reports the scratch its init then takes */
    ck_assert_msg(ax_net_create(&net, &spec, 1, NULL, &err) == AX_OK, "%s", err.msg);
    ck_assert_ptr_nonnull(ax_backend_cpu.workspace);
    ck_assert_uint_eq(ax_backend_cpu.workspace(net), net->backend_bytes);
    ck_assert_uint_ge(net->backend_bytes, ax_conv2d_scratch(&net->layers[0].win) * sizeof(float));
    ax_net_free(net);
}
END_TEST

/* A layer's run hook replaces the backend's kernel for that layer only. */
static int hook_calls;

static ax_status double_input(ax_net *net, int i, ax_error *err)
{
    (void)err;
    const ax_tensor *in = ax_net_layer_input(net, i);
    for (size_t k = 0; k < ax_tensor_numel(in); k++) net->layers[i].out.data[k] = 2 * in->data[k];
    hook_calls++;
    return AX_OK;
}

START_TEST(test_layer_run_hook)
{
    ax_net *net = make_tiny(1);
    ax_error err;
    int r1 = ax_net_find(net, "r1");
    net->layers[r1].run = double_input;
    hook_calls = 0;
    ck_assert_msg(ax_net_run_to(net, r1, &err) == AX_OK, "%s", err.msg);
    ck_assert_int_eq(hook_calls, 1);
    const ax_tensor *in = ax_net_output(net, r1 - 1), *out = ax_net_output(net, r1);
    for (size_t k = 0; k < ax_tensor_numel(out); k++) ck_assert_float_eq(out->data[k], 2 * in->data[k]);
    net->layers[r1].run = NULL;
    ck_assert_int_eq(ax_net_step(net, r1, &err), AX_OK);
    ck_assert_int_eq(hook_calls, 1);
    for (size_t k = 0; k < ax_tensor_numel(out); k++) ck_assert_float_eq(out->data[k], in->data[k] > 0 ? in->data[k] : 0);
    ax_net_free(net);
}
END_TEST

/* The CPU thread count is the core pool's setting. */
START_TEST(test_cpu_threads_are_the_pool)
{
    ax_cpu_set_threads(3);
    ck_assert_int_eq(ax_pool_threads(), 3);
    ck_assert_int_eq(ax_cpu_threads(), 3);
    ax_pool_set_threads(0);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    ck_assert_int_eq(ax_cpu_threads(), cores > 0 ? (int)cores : 1);
}
END_TEST

static const char *drop_text =
    "input 3 12 12\n"
    "conv    c1 out=4 k=3 pad=1\n"
    "relu    r1\n"
    "lrn     n1 convention=caffe size=3 alpha=0.5 beta=0.75 k=2\n"
    "maxpool p1 k=2 s=2\n"
    "fc      f1 out=16\n"
    "relu    r2\n"
    "dropout d1 p=0.5\n"
    "fc      f2 out=5\n"
    "softmax prob\n";

static ax_net *make_on(const ax_backend *be, int batch)
{
    ax_spec spec;
    ax_error err;
    ax_net *net = NULL;
    ck_assert_msg(ax_spec_parse(&spec, drop_text, "drop.net", &err) == AX_OK, "%s", err.msg);
    ck_assert_msg(ax_net_create(&net, &spec, batch, be, &err) == AX_OK, "%s", err.msg);
    float in[2 * 3 * 12 * 12];
    ax_fill_uniform(in, sizeof in / sizeof *in, -1, 1, 11);
    ck_assert_int_eq(ax_net_set_input(net, in, batch, 3, 12, 12, &err), AX_OK);
    return net;
}

static void same_floats(const float *a, const float *b, size_t n, const char *what)
{
    for (size_t k = 0; k < n; k++)
        ck_assert_msg(a[k] == b[k], "%s[%zu]: %g on the fake device, %g on the cpu", what, k, b[k], a[k]);
}

/* The host-side analysis (outputs, gradients with dropout masks, the
 * comparison, explain) gives the CPU's numbers on a backend whose outputs
 * live elsewhere. */
START_TEST(test_device_callers)
{
    ax_error err;
    ax_net *cpu = make_on(NULL, 2), *dev = make_on(&fake_device, 2);
    ck_assert_int_eq(ax_net_on_host(dev), 0);
    ck_assert_int_eq(ax_net_forward(cpu, &err), AX_OK);
    ck_assert_int_eq(ax_net_forward(dev, &err), AX_OK);
    for (int i = 0; i < dev->nlayers; i++) {
        ck_assert_int_eq(dev->layers[i].host_valid, 0);
        ck_assert(isnan(dev->layers[i].out.data[0]));
    }
    for (int i = 0; i < dev->nlayers; i++) {
        const ax_tensor *t = ax_net_output(dev, i);
        ck_assert_ptr_nonnull(t);
        ck_assert_int_eq(dev->layers[i].host_valid, 1);
        same_floats(cpu->layers[i].out.data, t->data, numel_of(cpu, i), dev->layers[i].spec.name);
    }

    /* explain reads a layer's input; the comparison every output */
    ax_net_reset(dev);
    ck_assert_int_eq(ax_net_forward(dev, &err), AX_OK);
    ax_explain ex;
    ck_assert_msg(ax_explain_value(&ex, dev, 4, 1, 3, 0, 0, &err) == AX_OK, "%s", err.msg);
    ck_assert(isfinite(ex.total));
    ck_assert_double_eq_tol(ex.total, ex.engine, 1e-4 * (1 + fabs(ex.engine)));
    ax_net_reset(dev);
    ck_assert_int_eq(ax_net_forward(dev, &err), AX_OK);
    ax_comparison cmp;
    ax_tolerance tol = { 0.0, 0.0, 0.0 };
    ck_assert_msg(ax_compare_nets(&cmp, dev, cpu, &tol, &err) == AX_OK, "%s", err.msg);
    ck_assert_int_eq(cmp.compared, cpu->nlayers + 1);
    ck_assert_int_eq(cmp.first, -1);
    ax_comparison_free(&cmp);

    /* Training-mode forward (dropout masks drawn on the host) and backward. */
    ax_grad *gc = NULL, *gd = NULL;
    ck_assert_int_eq(ax_grad_create(&gc, cpu, &err), AX_OK);
    ck_assert_int_eq(ax_grad_create(&gd, dev, &err), AX_OK);
    ck_assert_int_eq(ax_grad_forward(gc, 1, 99, &err), AX_OK);
    ck_assert_int_eq(ax_grad_forward(gd, 1, 99, &err), AX_OK);
    int cls[2] = { 1, 3 };
    int tc = ax_grad_seed_logit(gc, cls, NULL, &err), td = ax_grad_seed_logit(gd, cls, NULL, &err);
    ck_assert_int_eq(tc, td);
    ck_assert_int_eq(ax_grad_backward(gc, tc, 1, &err), AX_OK);
    ck_assert_msg(ax_grad_backward(gd, td, 1, &err) == AX_OK, "%s", err.msg);
    same_floats(gc->d_input.data, gd->d_input.data, ax_tensor_numel(&gc->d_input), "d_input");
    for (int i = 0; i <= tc; i++) {
        same_floats(gc->d_out[i].data, gd->d_out[i].data, ax_tensor_numel(&gc->d_out[i]), cpu->layers[i].spec.name);
        if (gc->d_weight[i].data)
            same_floats(gc->d_weight[i].data, gd->d_weight[i].data, ax_tensor_numel(&gc->d_weight[i]), "d_weight");
    }
    /* the masked dropout output reached the layer after it on the device */
    const ax_tensor *f2c = ax_net_output(cpu, 7), *f2d = ax_net_output(dev, 7);
    same_floats(f2c->data, f2d->data, ax_tensor_numel(f2c), "f2 after dropout");
    ax_grad_free(gc);
    ax_grad_free(gd);
    ax_net_free(cpu);
    ax_net_free(dev);
}
END_TEST

/* Same seed, same weights, whatever the thread count; He-normal spread. */
START_TEST(test_seeded_init)
{
    ax_spec spec;
    ax_error err;
    ax_net *a = NULL, *b = NULL;
    ck_assert_int_eq(ax_spec_load(&spec, "caffe", &err), AX_OK);
    ax_cpu_set_threads(1);
    ck_assert_int_eq(ax_net_create(&a, &spec, 1, NULL, &err), AX_OK);
    ax_cpu_set_threads(2);
    ck_assert_int_eq(ax_net_create(&b, &spec, 1, NULL, &err), AX_OK);
    ax_cpu_set_threads(0);
    ck_assert_int_eq(a->untrained, 1);
    ck_assert_int_eq(memcmp(a->wblock, b->wblock, a->wcount * sizeof(float)), 0);
    int fc6 = ax_net_find(a, "fc6");
    const ax_tensor *w = &a->layers[fc6].weight;
    size_t n = ax_tensor_numel(w);
    double s1 = 0, s2 = 0;
    for (size_t i = 0; i < n; i++) { s1 += w->data[i]; s2 += (double)w->data[i] * w->data[i]; }
    double mean = s1 / n, sd = sqrt(s2 / n - mean * mean), want = sqrt(2.0 / 9216);
    ck_assert_msg(fabs(mean) < 1e-4 * want * 100 && fabs(sd / want - 1) < 0.01,
                  "fc6 init mean %g sd %g, expected 0 and %g", mean, sd, want);
    ax_net_init_seeded(b, 99);
    ck_assert_int_ne(memcmp(a->wblock, b->wblock, 1024), 0);
    ax_net_free(a);
    ax_net_free(b);
}
END_TEST

/* Untrained nets on their own preprocessing of real photographs: every
 * layer's output finite and moderate, and the classes close to uniform (an
 * untrained net that names one class with certainty looks broken). */
START_TEST(test_untrained_ranges)
{
    static const char *const models[] = {"caffe", "torchvision", "tf-bench", "keras-half"};
    static const char *const images[] = {"samples/chelsea.png", "samples/coffee.png", "samples/astronaut.png"};
    const char *root = getenv("AX_SRCDIR");
    for (size_t m = 0; m < sizeof models / sizeof *models; m++) {
        ax_spec spec;
        ax_error err;
        ax_net *net = NULL;
        ck_assert_msg(ax_spec_load(&spec, models[m], &err) == AX_OK, "%s", err.msg);
        ck_assert_msg(ax_net_create(&net, &spec, 1, NULL, &err) == AX_OK, "%s", err.msg);
        float *in = malloc(ax_tensor_numel(&net->input) * sizeof(float));
        ck_assert_ptr_nonnull(in);
        double spread = ax_net_seed_spread(net);
        int has_lrn = 0;
        for (int i = 0; i < net->nlayers; i++) has_lrn |= net->layers[i].spec.type == AX_L_LRN;
        ck_assert_msg(has_lrn ? spread > 10 : spread == 1, "%s: seed spread %g", models[m], spread);
        /* a classifier's last fc (the logits) and what follows it are drawn near 0 whatever the spread */
        int logits = net->nlayers;
        for (int i = net->nlayers - 1; i >= 0; i--)
            if (net->layers[i].weight.ndim) {
                if (net->layers[i].spec.type == AX_L_FC) logits = i;
                break;
            }
        for (size_t k = 0; k < sizeof images / sizeof *images; k++) {
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", root && *root ? root : ".", images[k]);
            ax_image img;
            ck_assert_msg(ax_image_load(&img, path, &err) == AX_OK, "%s", err.msg);
            ck_assert_msg(ax_preprocess_image(in, &img, &spec, &err) == AX_OK, "%s", err.msg);
            ax_image_free(&img);
            ck_assert_int_eq(ax_net_set_input(net, in, 1, spec.in_c, spec.in_h, spec.in_w, &err), AX_OK);
            ck_assert_msg(ax_net_forward(net, &err) == AX_OK, "%s", err.msg);
            for (int i = 0; i < net->nlayers; i++) {
                const ax_tensor *t = &net->layers[i].out;
                size_t n = ax_tensor_numel(t);
                double sq = 0, big = 0;
                size_t bad = 0;
                for (size_t e = 0; e < n; e++) {   /* no ck_assert per element: each one is a write to a pipe */
                    float v = t->data[e];
                    bad += !isfinite(v);
                    sq += (double)v * v;
                    if (fabs(v) > big) big = fabs(v);
                }
                /* the net's own spread A: 1, or where its LRN acts (tens); the logits near 0 */
                double rms = sqrt(sq / n), A = i >= logits ? 1 : spread;
                ck_assert_msg(!bad && big < 20 * A && (net->layers[i].spec.type == AX_L_SOFTMAX || rms > 0.01 * A),
                              "%s %s: layer %s spreads too far or vanishes: rms %g, max |x| %g (spread %g), %zu not "
                              "finite", models[m], images[k], t->name, rms, big, A, bad);
            }
            const ax_layer *last = &net->layers[net->nlayers - 1];
            if (last->spec.type == AX_L_SOFTMAX) {
                int classes = last->out.shape[1], top;
                ck_assert_int_eq(ax_topk(&top, 1, last->out.data, classes), 1);
                float p = last->out.data[top];
                ck_assert_msg(p < 2.0f / classes, "%s %s: the untrained top class has %.4g (uniform is %.4g)",
                              models[m], images[k], p, 1.0 / classes);
            }
        }
        free(in);
        ax_net_free(net);
    }
}
END_TEST

/* The OpenBLAS self-check passes on the kernels loaded (a correct library)
 * and reports the shape it refused when made to fail. */
START_TEST(test_blas_selfcheck)
{
    char why[200] = "";
    ck_assert_msg(ax_blas_selfcheck(why, sizeof why) == 0, "%s", why);
    setenv("ALEXSCOPE_BLAS_SELFTEST_FAIL", "1", 1);
    int rc = ax_blas_selfcheck(why, sizeof why);
    unsetenv("ALEXSCOPE_BLAS_SELFTEST_FAIL");
    ck_assert_int_eq(rc, -1);
    ck_assert_msg(strstr(why, "sgemm") && strstr(why, "forced"), "%s", why);
}
END_TEST

static char tmpdir[256];

static const char *tmp_path(const char *name)
{
    static char buf[512];
    snprintf(buf, sizeof buf, "%s/%s", tmpdir, name);
    return buf;
}

static void setup_tmp(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/ax_check_net_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

/* Writes the net's own tensors (optionally skipping or reshaping one). */
static void save_net(const ax_net *net, const char *path, const char *skip, const char *extra)
{
    ax_wout t[32];
    int n = 0;
    static float extra_data[3] = {1, 2, 3};
    for (int i = 0; i < net->nlayers; i++) {
        const ax_layer *L = &net->layers[i];
        const ax_tensor *parts[2] = {&L->weight, &L->bias};
        for (int p = 0; p < 2; p++) {
            if (!parts[p]->ndim || (skip && !strcmp(parts[p]->name, skip))) continue;
            t[n].name = parts[p]->name;
            t[n].data = parts[p]->data;
            t[n].ndim = parts[p]->ndim;
            for (int d = 0; d < parts[p]->ndim; d++) t[n].shape[d] = parts[p]->shape[d];
            n++;
        }
    }
    if (extra) {
        t[n].name = extra; t[n].data = extra_data; t[n].ndim = 1; t[n].shape[0] = 3;
        n++;
    }
    ax_error err;
    ck_assert_msg(ax_safetensors_write(path, t, n, &err) == AX_OK, "%s", err.msg);
}

START_TEST(test_load_roundtrip_and_errors)
{
    setup_tmp();
    ax_net *src = make_tiny(1), *dst = make_tiny(1);
    ax_error err;
    char warn[512];
    ax_net_init_seeded(src, 1234);
    save_net(src, tmp_path("good.safetensors"), NULL, NULL);
    ck_assert_msg(ax_net_load_weights(dst, tmp_path("good.safetensors"), 0, warn, sizeof warn, &err) == AX_OK, "%s", err.msg);
    ck_assert_int_eq(dst->untrained, 0);
    ck_assert_str_eq(dst->weights_path, tmp_path("good.safetensors"));
    ck_assert_int_eq(memcmp(src->wblock, dst->wblock, src->wcount * sizeof(float)), 0);

    save_net(src, tmp_path("missing.safetensors"), "c2.weight", NULL);
    ck_assert_int_eq(ax_net_load_weights(dst, tmp_path("missing.safetensors"), 0, warn, sizeof warn, &err), AX_ERR_MISSING);
    ck_assert_msg(strstr(err.msg, "c2.weight") && strstr(err.msg, "(6, 2, 3, 3)") && strstr(err.msg, "missing.safetensors"),
                  "%s", err.msg);
    ck_assert_int_eq(dst->untrained, 1);

    save_net(src, tmp_path("extra.safetensors"), NULL, "stray.tensor");
    ck_assert_int_eq(ax_net_load_weights(dst, tmp_path("extra.safetensors"), 0, warn, sizeof warn, &err), AX_ERR_EXTRA);
    ck_assert_msg(strstr(err.msg, "stray.tensor") && strstr(err.msg, "--lenient"), "%s", err.msg);
    ck_assert_int_eq(ax_net_load_weights(dst, tmp_path("extra.safetensors"), 1, warn, sizeof warn, &err), AX_OK);
    ck_assert_msg(strstr(warn, "stray.tensor"), "warning: %s", warn);

    /* A misshaped tensor: c2 as if its groups were forgotten. */
    ax_wout t[1] = {{.name = "c2.weight", .data = src->wblock, .ndim = 4, .shape = {6, 4, 3, 3}}};
    ck_assert_int_eq(ax_safetensors_write(tmp_path("one.safetensors"), t, 1, &err), AX_OK);
    ax_spec spec;
    ck_assert_int_eq(ax_spec_parse(&spec, "input 4 5 5\nconv c2 out=6 k=3 groups=2 bias=0\n", "g.net", &err), AX_OK);
    ax_net *g = NULL;
    ck_assert_int_eq(ax_net_create(&g, &spec, 1, NULL, &err), AX_OK);
    ck_assert_int_eq(ax_net_load_weights(g, tmp_path("one.safetensors"), 0, NULL, 0, &err), AX_ERR_SHAPE);
    ck_assert_msg(strstr(err.msg, "expected (out, in/groups, kh, kw) = (6, 2, 3, 3), found (6, 4, 3, 3)") &&
                  strstr(err.msg, "groups=1") && strstr(err.msg, "groups=2"), "%s", err.msg);
    ax_net_free(g);

    ck_assert_int_ne(ax_net_load_weights(dst, tmp_path("nonexistent.safetensors"), 0, NULL, 0, &err), AX_OK);
    ck_assert_ptr_nonnull(strstr(err.msg, "nonexistent.safetensors"));
    ax_net_free(src);
    ax_net_free(dst);
}
END_TEST

/* Loading messages: shapes stated in the layout the file's entries are named
 * for, every problem of a file in one message (a limited number in full),
 * and a correct conversion reported as a note, not a warning. */
START_TEST(test_load_messages)
{
    setup_tmp();
    ax_net *net = make_tiny(1);
    ax_error err;
    char notes[512];
    static float zeros[2048];

    /* TensorFlow names: f1.0 is (in, out) and is said to be so on both sides. */
    ax_wout tf[6] = {
        {.name = "c1.0", .data = zeros, .ndim = 4, .shape = {3, 3, 3, 4}},
        {.name = "c1.1", .data = zeros, .ndim = 1, .shape = {4}},
        {.name = "c2.0", .data = zeros, .ndim = 4, .shape = {3, 3, 2, 6}},
        {.name = "c2.1", .data = zeros, .ndim = 1, .shape = {6}},
        {.name = "f1.0", .data = zeros, .ndim = 2, .shape = {216, 6}},
        {.name = "f1.1", .data = zeros, .ndim = 1, .shape = {5}},
    };
    ck_assert_int_eq(ax_safetensors_write(tmp_path("tf_bad.safetensors"), tf, 6, &err), AX_OK);
    ck_assert_int_eq(ax_net_load_weights(net, tmp_path("tf_bad.safetensors"), 0, notes, sizeof notes, &err), AX_ERR_SHAPE);
    ck_assert_msg(strstr(err.msg, "'f1.0': expected (in, out) = (216, 5), found (216, 6)"), "%s", err.msg);
    ck_assert_int_eq(net->untrained, 1);

    /* The same file made right loads, and says what it converted as a note. */
    tf[4].shape[1] = 5;
    ck_assert_int_eq(ax_safetensors_write(tmp_path("tf_good.safetensors"), tf, 6, &err), AX_OK);
    ck_assert_msg(ax_net_load_weights(net, tmp_path("tf_good.safetensors"), 0, notes, sizeof notes, &err) == AX_OK,
                  "%s", err.msg);
    ck_assert_msg(!strncmp(notes, "note: ", 6) && strstr(notes, "converted 3 TensorFlow-layout tensors") &&
                  !strstr(notes, "warning"), "notes: %s", notes);

    /* Four problems at once: a missing tensor, a conv without its groups, a
     * bias too long, a tensor the model does not use. */
    ax_wout pt[5] = {
        {.name = "c1.bias", .data = zeros, .ndim = 1, .shape = {4}},
        {.name = "c2.weight", .data = zeros, .ndim = 4, .shape = {6, 4, 3, 3}},
        {.name = "c2.bias", .data = zeros, .ndim = 1, .shape = {6}},
        {.name = "f1.weight", .data = zeros, .ndim = 2, .shape = {5, 216}},
        {.name = "f1.bias", .data = zeros, .ndim = 1, .shape = {6}},
    };
    ax_wout stray = {.name = "stray", .data = zeros, .ndim = 1, .shape = {2}};
    ax_wout all[6];
    memcpy(all, pt, sizeof pt);
    all[5] = stray;
    ck_assert_int_eq(ax_safetensors_write(tmp_path("many.safetensors"), all, 6, &err), AX_OK);
    ck_assert_int_eq(ax_net_load_weights(net, tmp_path("many.safetensors"), 0, notes, sizeof notes, &err), AX_ERR_MISSING);
    ck_assert_msg(strstr(err.msg, "many.safetensors: 4 problems (the file has 6 tensors") &&
                  strstr(err.msg, "'c1.weight' (out, in/groups, kh, kw) = (4, 3, 3, 3) is missing") &&
                  strstr(err.msg, "'c2.weight': expected (out, in/groups, kh, kw) = (6, 2, 3, 3), found (6, 4, 3, 3)") &&
                  strstr(err.msg, "groups=1") &&
                  strstr(err.msg, "'f1.bias': expected (out) = (5), found (6)") &&
                  strstr(err.msg, "'stray'") && !strstr(err.msg, "more"), "%s", err.msg);

    /* One input channel where the model has three is no grouping: no hint. */
    ax_wout gray[1] = {{.name = "c1.weight", .data = zeros, .ndim = 4, .shape = {4, 1, 3, 3}}};
    ck_assert_int_eq(ax_safetensors_write(tmp_path("gray.safetensors"), gray, 1, &err), AX_OK);
    ck_assert_int_ne(ax_net_load_weights(net, tmp_path("gray.safetensors"), 0, notes, sizeof notes, &err), AX_OK);
    ck_assert_msg(strstr(err.msg, "'c1.weight': expected (out, in/groups, kh, kw) = (4, 3, 3, 3), found (4, 1, 3, 3)") &&
                  !strstr(err.msg, "groups="), "%s", err.msg);

    /* Lenient: the unused tensor is a warning, on its own line. */
    memcpy(all, pt, sizeof pt);
    all[0] = (ax_wout){.name = "c1.weight", .data = zeros, .ndim = 4, .shape = {4, 3, 3, 3}};
    all[1].shape[1] = 2;
    all[4].shape[0] = 5;
    all[5] = (ax_wout){.name = "c1.bias", .data = zeros, .ndim = 1, .shape = {4}};
    ax_wout fixed[7];
    memcpy(fixed, all, sizeof all);
    fixed[6] = stray;
    ck_assert_int_eq(ax_safetensors_write(tmp_path("lenient.safetensors"), fixed, 7, &err), AX_OK);
    ck_assert_msg(ax_net_load_weights(net, tmp_path("lenient.safetensors"), 1, notes, sizeof notes, &err) == AX_OK,
                  "%s", err.msg);
    ck_assert_msg(!strncmp(notes, "warning: ", 9) && strstr(notes, "'stray'") && !strchr(notes, '\n'), "notes: %s", notes);
    ax_net_free(net);

    /* Many problems: the first ones in full, then how many more. */
    char text[1024] = "input 1 4 4\n";
    for (int i = 0; i < 10; i++)
        snprintf(text + strlen(text), sizeof text - strlen(text), "conv layer%d out=1 k=1\n", i);
    ax_spec spec;
    ck_assert_int_eq(ax_spec_parse(&spec, text, "ten.net", &err), AX_OK);
    ck_assert_int_eq(ax_net_create(&net, &spec, 1, NULL, &err), AX_OK);
    ck_assert_int_eq(ax_safetensors_write(tmp_path("one.safetensors"), &stray, 1, &err), AX_OK);
    ck_assert_int_eq(ax_net_load_weights(net, tmp_path("one.safetensors"), 0, notes, sizeof notes, &err), AX_ERR_MISSING);
    ck_assert_msg(strstr(err.msg, "21 problems (the file has 1 tensor, named like 'stray')") && strstr(err.msg, "(1) tensor 'layer0.weight'") &&
                  strstr(err.msg, "(8) ") && !strstr(err.msg, "(9) ") && strstr(err.msg, " and 13 more"), "%s", err.msg);
    ax_net_free(net);
}
END_TEST

/* Writes the net's tensors as TensorFlow lays them out ("<layer>.0" weights,
 * "<layer>.1" biases): conv HWIO, FC (in, out) with rows after a spatial
 * input in H,W,C order. */
static void save_net_tf(const ax_net *src, const char *path)
{
    ax_wout t[32] = {{0}};
    float *bufs[32];
    char names[32][80];
    int n = 0;
    for (int i = 0; i < src->nlayers && n + 2 <= 32; i++) {
        const ax_layer *L = &src->layers[i];
        if (!L->weight.ndim) continue;
        const ax_tensor *w = &L->weight;
        float *tf = malloc(ax_tensor_numel(w) * sizeof(float));
        ck_assert_ptr_nonnull(tf);
        if (w->ndim == 4) {
            int O = w->shape[0], I = w->shape[1], KH = w->shape[2], KW = w->shape[3];
            for (int o = 0; o < O; o++) for (int c = 0; c < I; c++) for (int y = 0; y < KH; y++) for (int x = 0; x < KW; x++)
                tf[((size_t)(y * KW + x) * I + c) * O + o] = w->data[((size_t)(o * I + c) * KH + y) * KW + x];
            t[n] = (ax_wout){.ndim = 4, .shape = {KH, KW, I, O}};
        } else {
            int O = w->shape[0], C = L->in_c, H = L->in_h, W = L->in_w;
            for (int o = 0; o < O; o++) for (int c = 0; c < C; c++) for (int y = 0; y < H; y++) for (int x = 0; x < W; x++)
                tf[(size_t)((y * W + x) * C + c) * O + o] = w->data[(size_t)o * C * H * W + (c * H + y) * W + x];
            t[n] = (ax_wout){.ndim = 2, .shape = {C * H * W, O}};
        }
        snprintf(names[n], sizeof names[n], "%s.0", L->spec.name);
        t[n].name = names[n]; t[n].data = tf; bufs[n] = tf;
        n++;
        snprintf(names[n], sizeof names[n], "%s.1", L->spec.name);
        t[n] = (ax_wout){.name = names[n], .data = L->bias.data, .ndim = 1, .shape = {L->bias.shape[0]}};
        bufs[n] = NULL;
        n++;
    }
    ax_error err;
    ck_assert_msg(ax_safetensors_write(path, t, n, &err) == AX_OK, "%s", err.msg);
    for (int i = 0; i < n; i++) free(bufs[i]);
}

/* "<layer>.0"/".1" tensors are TensorFlow-laid-out (bvlc_alexnet.npy): conv
 * HWIO, FC (in, out) with rows after a spatial input in H,W,C order. Loading
 * them must give the very same net as the PyTorch-layout file. */
START_TEST(test_load_tf_layout)
{
    setup_tmp();
    ax_net *src = make_tiny(1), *dst = make_tiny(1);
    ax_error err;
    ax_net_init_seeded(src, 77);
    for (int i = 0; i < src->nlayers; i++)
        if (src->layers[i].bias.ndim) ax_fill_uniform(src->layers[i].bias.data, src->layers[i].bias.shape[0], -1, 1, i);
    save_net_tf(src, tmp_path("tf.safetensors"));
    char warn[512];
    ck_assert_msg(ax_net_load_weights(dst, tmp_path("tf.safetensors"), 0, warn, sizeof warn, &err) == AX_OK, "%s", err.msg);
    ck_assert_msg(strstr(warn, "HWIO") && strstr(warn, "H,W,C"), "warning: %s", warn);
    check_close(dst->wblock, src->wblock, src->wcount, 0, 0, "weights after TF-layout conversion");
    ck_assert_int_eq(ax_net_forward(src, &err), AX_OK);
    ck_assert_int_eq(ax_net_forward(dst, &err), AX_OK);
    const ax_tensor *a = ax_net_output(src, src->nlayers - 1), *b = ax_net_output(dst, dst->nlayers - 1);
    check_close(b->data, a->data, ax_tensor_numel(a), 0, 0, "output after TF-layout conversion");
    ax_net_free(src);
    ax_net_free(dst);
}
END_TEST

/* Tensors large enough for the loader's threads: FC weights of 38 MB and 16
 * MB are turned from TensorFlow's layout in many strips, split over 1, 2 and
 * 3 threads, and copied as they are from PyTorch's layout in parts split at
 * 2 MB of the destination (which is not 2 MB-aligned). Every way gives the
 * very values written, into a net whose block was seeded with others and into
 * one made for the weights that follow. */
START_TEST(test_load_parallel_parts)
{
    setup_tmp();
    /* c1's 1.2 MB put f1 in the upper half of a 2 MB page */
    static const char *text = "input 512 6 6\n"
                              "conv c1 out=64 k=3 pad=1\n"
                              "fc   f1 out=4096\n"
                              "fc   f2 out=1000\n";
    ax_spec spec;
    ax_error err;
    ck_assert_msg(ax_spec_parse(&spec, text, "big.net", &err) == AX_OK, "%s", err.msg);
    ax_net *src = NULL;
    ck_assert_msg(ax_net_create(&src, &spec, 1, NULL, &err) == AX_OK, "%s", err.msg);
    ax_net_init_seeded(src, 77);
    for (int i = 0; i < src->nlayers; i++)
        if (src->layers[i].bias.ndim) ax_fill_uniform(src->layers[i].bias.data, src->layers[i].bias.shape[0], -1, 1, i);
    ck_assert_uint_ge(ax_tensor_numel(&src->layers[1].weight) * sizeof(float), (size_t)32 << 20);
    save_net_tf(src, tmp_path("big_tf.safetensors"));
    save_net(src, tmp_path("big.safetensors"), NULL, NULL);
    static const int threads[] = { 3, 1, 2 };   /* the pool starts with the first count: the largest */
    for (int t = 0; t < 3; t++) {
        ax_pool_set_threads(threads[t]);
        for (int follow = 0; follow < 2; follow++) {
            for (int tf = 0; tf < 2; tf++) {
                ax_backend_options opt = {0};
                opt.weights_follow = follow;
                ax_net *dst = NULL;
                ck_assert_msg(ax_net_create_with(&dst, &spec, 1, NULL, &opt, &err) == AX_OK, "%s", err.msg);
                char notes[512], what[96];
                const char *path = tmp_path(tf ? "big_tf.safetensors" : "big.safetensors");
                ck_assert_msg(ax_net_load_weights(dst, path, 0, notes, sizeof notes, &err) == AX_OK, "%s", err.msg);
                snprintf(what, sizeof what, "%s layout, %d threads, %s", tf ? "TensorFlow" : "PyTorch", threads[t],
                         follow ? "weights follow" : "seeded first");
                check_close(dst->wblock, src->wblock, src->wcount, 0, 0, what);
                ax_net_free(dst);
            }
        }
    }
    ax_pool_set_threads(0);
    ax_net_free(src);
}
END_TEST

START_TEST(test_batch)
{
    /* Image b of a batch gets what it would get alone. */
    ax_net *two = make_tiny(2), *one = make_tiny(1);
    ax_error err;
    float in[2 * 3 * 12 * 12];
    ax_fill_uniform(in, sizeof in / sizeof *in, -1, 1, 11);
    ck_assert_int_eq(ax_net_set_input(two, in, 2, 3, 12, 12, &err), AX_OK);
    ck_assert_int_eq(ax_net_set_input(one, in + 3 * 12 * 12, 1, 3, 12, 12, &err), AX_OK);
    ck_assert_int_eq(ax_net_forward(two, &err), AX_OK);
    ck_assert_int_eq(ax_net_forward(one, &err), AX_OK);
    for (int i = 0; i < one->nlayers; i++) {
        size_t n = ax_tensor_numel(&one->layers[i].out);
        check_close(two->layers[i].out.data + n, one->layers[i].out.data, n, 1e-6, 1e-5, one->layers[i].spec.name);
    }
    ax_net_free(two);
    ax_net_free(one);
}
END_TEST

static Suite *net_suite(void)
{
    Suite *s = suite_create("net");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, AX_CHECK_TIMEOUT);
    tcase_add_test(tc, test_stepping);
    tcase_add_test(tc, test_output_protocol);
    tcase_add_test(tc, test_device_callers);
    tcase_add_test(tc, test_backend_refuses_layer);
    tcase_add_test(tc, test_backend_options_at_creation);
    tcase_add_test(tc, test_backend_workspace_in_estimate);
    tcase_add_test(tc, test_layer_run_hook);
    tcase_add_test(tc, test_cpu_threads_are_the_pool);
    tcase_add_test(tc, test_seeded_init);
    tcase_add_test(tc, test_untrained_ranges);
    tcase_add_test(tc, test_load_roundtrip_and_errors);
    tcase_add_test(tc, test_load_tf_layout);
    tcase_add_test(tc, test_load_parallel_parts);
    tcase_add_test(tc, test_load_messages);
    tcase_add_test(tc, test_batch);
    tcase_add_test(tc, test_blas_selfcheck);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return ax_run_suite(net_suite()); }
