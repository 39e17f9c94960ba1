/* The CPU backend: dispatches each layer to the OpenBLAS-backed kernels in
 * src/backends/cpu/. It reads the net's resolved geometry and allocates only
 * its scratch, in init (threads: threads.c). */
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
    return AX_OK;
}

static void cpu_release(ax_net *net)
{
    cpu_state *s = net->backend_state;
    if (s) free(s->scratch);
    free(s);
    net->backend_state = NULL;
}

static ax_status cpu_run_layer(ax_net *net, int i, ax_error *err)
{
    ax_layer *L = &net->layers[i];
    const ax_tensor *in = ax_net_layer_input(net, i);
    int n, c, h, w;
    ax_tensor_nchw(in, &n, &c, &h, &w);
    const ax_layer_spec *s = &L->spec;
    float *out = L->out.data;
    size_t count = ax_tensor_numel(in);

    switch (s->type) {
    case AX_L_CONV:
        ax_conv2d(out, in->data, L->weight.data, L->bias.ndim ? L->bias.data : NULL, ((cpu_state *)net->backend_state)->scratch, &L->win);
        break;
    case AX_L_RELU:
        ax_relu(out, in->data, count);
        break;
    case AX_L_DROPOUT:
    case AX_L_FLATTEN:
        if (s->type == AX_L_FLATTEN) ax_flatten(out, in->data, n, c, h, w, s->order == AX_FLATTEN_HWC);
        else if (out != in->data) __builtin_memcpy(out, in->data, count * sizeof(float));
        break;
    case AX_L_LRN:
        ax_lrn(out, in->data, ax_lrn_sum_scale(s), s->lrn_beta, s->lrn_k, s->lrn_size, n, c, h * w);
        break;
    case AX_L_MAXPOOL:
        ax_maxpool(out, in->data, &L->win);
        break;
    case AX_L_AVGPOOL:
        ax_avgpool_adaptive(out, in->data, n, c, h, w, s->out_h, s->out_w);
        break;
    case AX_L_PAD:
        ax_pad(out, in->data, n, c, h, w, s->pad_t, s->pad_l, s->pad_b, s->pad_r);
        break;
    case AX_L_FC:
        ax_fc(out, in->data, L->weight.data, L->bias.ndim ? L->bias.data : NULL, n, c * h * w, s->out_c);
        break;
    case AX_L_SOFTMAX:
        ax_softmax(out, in->data, n, c * h * w);
        break;
    default:
        return ax_fail(err, AX_ERR_UNSUPPORTED, "layer '%s': type %s has no CPU kernel", s->name,
                       ax_layer_type_name(s->type));
    }
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
    .supports = ax_backend_supports_every_type,
    .run_layer = cpu_run_layer,
    .describe = cpu_describe,
    .release = cpu_release,
};
