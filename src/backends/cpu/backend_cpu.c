/* The CPU backend: dispatches each layer, through a table indexed by layer
 * type, to the OpenBLAS-backed kernels in src/backends/cpu/. It reads the
 * net's resolved geometry and allocates only its scratch, in init (threads:
 * threads.c). */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alexscope/cpu.h"
#include "alexscope/backend.h"
#include "alexscope/layers.h"
#include "alexscope/net.h"
#include "blas_tune.h"
#include "config.h"

/* The backend's own memory: im2col scratch sized once for the largest
 * convolution, its pages touched so that no layer pays for page faults. */
typedef struct {
    float *scratch;
} cpu_state;

/* Floats of scratch for the net's resolved layers (their windows). */
static size_t scratch_floats(const ax_net *net)
{
    size_t scount = 16;
    for (int i = 0; i < net->nlayers; i++)
        if (net->layers[i].spec.type == AX_L_CONV) {
            size_t sc = ax_conv2d_scratch(&net->layers[i].win);
            if (sc > scount) scount = sc;
        }
    return scount;
}

static size_t cpu_workspace(const ax_net *net)
{
    return scratch_floats(net) * sizeof(float);
}

static ax_status cpu_init(ax_net *net, ax_error *err)
{
    size_t scount = scratch_floats(net);
    cpu_state *s = calloc(1, sizeof *s);
    void *p = NULL;
    if (!s || posix_memalign(&p, 64, scount * sizeof(float))) {
        free(s);
        return ax_fail(err, AX_ERR_NOMEM, "out of memory: %.1f MB of convolution scratch", scount * 4e-6);
    }
    s->scratch = p;
    memset(s->scratch, 0, scount * sizeof(float));
    net->backend_state = s;
    net->backend_bytes = scount * sizeof(float);
    /* the convolutions' primitives (oneDNN) are made here, not in the first pass */
    for (int i = 0; i < net->nlayers; i++)
        if (net->layers[i].spec.type == AX_L_CONV)
            ax_conv2d_prepare(&net->layers[i].win, net->layers[i].bias.ndim != 0);
    return AX_OK;
}

static void cpu_release(ax_net *net)
{
    cpu_state *s = net->backend_state;
    if (s) free(s->scratch);
    free(s);
    net->backend_state = NULL;
}

/* One layer's call: the layer, its input (N, C, H, W) and where it writes. */
typedef struct {
    const ax_net *net;
    const ax_layer *L;
    const float *in;
    int n, c, h, w;
    size_t count;           /* input elements */
    float *out;
} cpu_call;

static void cpu_conv(const cpu_call *k)
{
    const ax_layer *L = k->L;
    ax_conv2d(k->out, k->in, L->weight.data, L->bias.ndim ? L->bias.data : NULL,
              ((cpu_state *)k->net->backend_state)->scratch, &L->win);
}

static void cpu_relu(const cpu_call *k) { ax_relu(k->out, k->in, k->count); }

/* Dropout is the identity at inference. */
static void cpu_copy(const cpu_call *k)
{
    if (k->out != k->in) __builtin_memcpy(k->out, k->in, k->count * sizeof(float));
}

static void cpu_flatten(const cpu_call *k)
{
    ax_flatten(k->out, k->in, k->n, k->c, k->h, k->w, k->L->spec.order == AX_FLATTEN_HWC);
}

static void cpu_lrn(const cpu_call *k)
{
    const ax_layer_spec *s = &k->L->spec;
    ax_lrn(k->out, k->in, ax_lrn_sum_scale(s), s->lrn_beta, s->lrn_k, s->lrn_size, k->n, k->c, k->h * k->w);
}

static void cpu_maxpool(const cpu_call *k) { ax_maxpool(k->out, k->in, &k->L->win); }

static void cpu_avgpool(const cpu_call *k)
{
    ax_avgpool_adaptive(k->out, k->in, k->n, k->c, k->h, k->w, k->L->spec.out_h, k->L->spec.out_w);
}

static void cpu_pad(const cpu_call *k)
{
    const ax_layer_spec *s = &k->L->spec;
    ax_pad(k->out, k->in, k->n, k->c, k->h, k->w, s->pad_t, s->pad_l, s->pad_b, s->pad_r);
}

static void cpu_fc(const cpu_call *k)
{
    const ax_layer *L = k->L;
    ax_fc(k->out, k->in, L->weight.data, L->bias.ndim ? L->bias.data : NULL, k->n, k->c * k->h * k->w,
          L->spec.out_c);
}

static void cpu_softmax(const cpu_call *k) { ax_softmax(k->out, k->in, k->n, k->c * k->h * k->w); }

/* One kernel per layer type; supports() refuses a type without one (and
 * tests/check_kinds fails on it). */
static void (*const cpu_kernels[])(const cpu_call *k) = {
    [AX_L_CONV] = cpu_conv,
    [AX_L_RELU] = cpu_relu,
    [AX_L_LRN] = cpu_lrn,
    [AX_L_MAXPOOL] = cpu_maxpool,
    [AX_L_AVGPOOL] = cpu_avgpool,
    [AX_L_PAD] = cpu_pad,
    [AX_L_FLATTEN] = cpu_flatten,
    [AX_L_FC] = cpu_fc,
    [AX_L_DROPOUT] = cpu_copy,
    [AX_L_SOFTMAX] = cpu_softmax,
};

_Static_assert(sizeof cpu_kernels / sizeof *cpu_kernels == AX_L_COUNT, "a CPU kernel for the last layer type");

static int cpu_supports(const ax_net *net, const ax_layer *L, char *why, size_t size)
{
    (void)net;
    if ((unsigned)L->spec.type < AX_L_COUNT && cpu_kernels[L->spec.type]) return 1;
    snprintf(why, size, "layer type %s (%d) has no CPU kernel", ax_layer_type_name(L->spec.type), (int)L->spec.type);
    return 0;
}

static ax_status cpu_run_layer(ax_net *net, int i, ax_error *err)
{
    ax_layer *L = &net->layers[i];
    const ax_tensor *in = ax_net_layer_input(net, i);
    cpu_call k = { .net = net, .L = L, .in = in->data, .count = ax_tensor_numel(in), .out = L->out.data };
    ax_tensor_nchw(in, &k.n, &k.c, &k.h, &k.w);
    if ((unsigned)L->spec.type >= AX_L_COUNT || !cpu_kernels[L->spec.type])
        return ax_fail(err, AX_ERR_UNSUPPORTED, "layer '%s': type %s has no CPU kernel", L->spec.name,
                       ax_layer_type_name(L->spec.type));
    cpu_kernels[L->spec.type](&k);
    return AX_OK;
}

static void cpu_describe(const ax_net *net, char *buf, int size)
{
    (void)net;
    const char *core = "unknown kernel";
    const char *config = "OpenBLAS";
#ifdef HAVE_OPENBLAS_GET_CORENAME
    core = openblas_get_corename();
#endif
#ifdef HAVE_OPENBLAS_GET_CONFIG
    config = openblas_get_config();
#endif
    const char *from = ax_blas_tuned_from();
    char raised[96] = "";
    if (from) snprintf(raised, sizeof raised, " (raised from %.40s)", from);
    else if (ax_blas_fell_back()) snprintf(raised, sizeof raised, " (kept: raised kernels failed the self-check)");
    snprintf(buf, (size_t)size, "cpu: %s, %s kernels%s, %d thread%s", config, core, raised, ax_cpu_threads(),
             ax_cpu_threads() > 1 ? "s" : "");
}

const ax_backend ax_backend_cpu = {
    .name = "cpu",
    .host_memory = 1,
    .workspace = cpu_workspace,
    .init = cpu_init,
    .supports = cpu_supports,
    .run_layer = cpu_run_layer,
    .describe = cpu_describe,
    .release = cpu_release,
};
