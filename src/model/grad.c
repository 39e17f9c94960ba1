/* The net's backward pass: gradient buffers sized once for a net (only for
 * callers that ask for them), a training-mode forward (dropout masks), and
 * the layer-by-layer backward through each kind's row (alexscope/layer_kind.h),
 * which calls the CPU kernels (src/backends/cpu/, *_bwd.c).
 * It never touches the net's weights; optimisers live elsewhere (train.c).
 * The forward may run on any backend; the backward reads host copies of the
 * outputs, made valid here (ax_net_fetch) before they are read. */
#include "alexscope/cpu.h"
#include "alexscope/grad.h"

#include <stdlib.h>
#include <string.h>

#include "alexscope/backend.h"
#include "alexscope/layer_kind.h"
#include "alexscope/clock.h"

static size_t align16(size_t n) { return (n + 15) & ~(size_t)15; }

static ax_status create(ax_grad **out, ax_net *net, int with_weights, ax_error *err)
{
    *out = NULL;
    ax_grad *g = calloc(1, sizeof *g);
    int L = net->nlayers;
    if (g) {
        g->d_out = calloc((size_t)L + 1, sizeof *g->d_out);
        g->d_weight = calloc((size_t)L + 1, sizeof *g->d_weight);
        g->d_bias = calloc((size_t)L + 1, sizeof *g->d_bias);
        g->frozen = calloc((size_t)L + 1, 1);
        g->ms = calloc((size_t)L + 1, sizeof *g->ms);
    }
    if (!g || !g->d_out || !g->d_weight || !g->d_bias || !g->frozen || !g->ms) {
        ax_grad_free(g);
        return ax_fail(err, AX_ERR_NOMEM, "out of memory for the gradients of the %s model", net->spec.name);
    }
    g->net = net;
    /* A batch as large as the pool is split by images; a smaller one
     * image by image, each over the whole pool (ax_conv2d_bwd with one
     * slot). LRN splits pixels, whatever the batch. */
    int threads = ax_cpu_threads() > 0 ? ax_cpu_threads() : 1;
    g->slots = threads <= net->batch ? threads : 1;
    g->lrn_slots = threads;

    g->d_input = net->input;
    size_t count = align16(ax_tensor_numel(&net->input)), scount = 0;
    for (int i = 0; i < L; i++) {
        const ax_layer *ly = &net->layers[i];
        g->d_out[i] = ly->out;
        count += align16(ax_tensor_numel(&ly->out));
        if (ly->weight.ndim && with_weights) {
            g->d_weight[i] = ly->weight;
            count += align16(ax_tensor_numel(&ly->weight));
        }
        if (ly->bias.ndim && with_weights) { g->d_bias[i] = ly->bias; count += align16(ax_tensor_numel(&ly->bias)); }
        g->frozen[i] = !with_weights;
        /* the convolutions' backward primitives (oneDNN) are made now, not in the first pass */
        if (ly->spec.type == AX_L_CONV) ax_conv2d_bwd_prepare(&ly->win);
        const ax_layer_kind *k = ax_layer_kind_of(ly->spec.type);
        size_t sc = k && k->backward_scratch ? k->backward_scratch(ly, g->slots, g->lrn_slots) : 0;
        if (sc > scount) scount = sc;
    }
    g->block = malloc(count * sizeof(float) + 64);
    g->scratch = malloc(scount * sizeof(float) + 64);
    if (!g->block || !g->scratch) {
        ax_grad_free(g);
        return ax_fail(err, AX_ERR_NOMEM, "out of memory: the gradients of the %s model at batch %d need %.1f MB",
                       net->spec.name, net->batch, (count + scount) * 4e-6);
    }
    memset(g->block, 0, count * sizeof(float));
    g->count = count;
    g->scount = scount;
    float *p = g->block;
    g->d_input.data = p;
    p += align16(ax_tensor_numel(&net->input));
    for (int i = 0; i < L; i++) {
        g->d_out[i].data = p;
        p += align16(ax_tensor_numel(&g->d_out[i]));
        if (g->d_weight[i].ndim) { g->d_weight[i].data = p; p += align16(ax_tensor_numel(&g->d_weight[i])); }
        else g->d_weight[i].data = NULL;
        if (g->d_bias[i].ndim) { g->d_bias[i].data = p; p += align16(ax_tensor_numel(&g->d_bias[i])); }
        else g->d_bias[i].data = NULL;
    }
    *out = g;
    return AX_OK;
}

ax_status ax_grad_create(ax_grad **out, ax_net *net, ax_error *err)
{
    return create(out, net, 1, err);
}

ax_status ax_grad_create_activations(ax_grad **out, ax_net *net, ax_error *err)
{
    return create(out, net, 0, err);
}

void ax_grad_free(ax_grad *g)
{
    if (!g) return;
    free(g->d_out);
    free(g->d_weight);
    free(g->d_bias);
    free(g->frozen);
    free(g->ms);
    free(g->block);
    free(g->scratch);
    free(g);
}

/* Each dropout layer draws its own mask from the pass's seed. */
static uint64_t layer_seed(uint64_t seed, int i)
{
    return seed ^ ((uint64_t)(i + 1) * 0xD1B54A32D192ED03ull);
}

ax_status ax_grad_forward(ax_grad *g, int training, uint64_t seed, ax_error *err)
{
    ax_net *net = g->net;
    g->training = training;
    g->dropout_seed = seed;
    ax_net_reset(net);
    for (int i = 0; i < net->nlayers; i++) {
        ax_status st = ax_net_step(net, i, err);
        if (st) return st;
        ax_layer *ly = &net->layers[i];
        if (training && ly->spec.type == AX_L_DROPOUT) {
            /* The mask is drawn on the host: the output comes over, is
             * masked, and goes back for the layers after it. */
            if ((st = ax_net_fetch(net, i, err))) return st;
            ax_dropout_train(ly->out.data, ly->out.data, ly->spec.p, layer_seed(seed, i), ax_tensor_numel(&ly->out));
            if ((st = ax_net_output_changed(net, i, err))) return st;
        }
    }
    return AX_OK;
}

int ax_grad_logit_layer(const ax_net *net)
{
    int last = net->nlayers - 1;
    if (last > 0 && net->layers[last].spec.type == AX_L_SOFTMAX) return last - 1;
    return last;
}

static int trainable(const ax_grad *g, int i)
{
    return g->net->layers[i].weight.ndim && !g->frozen[i] && g->d_weight[i].data;
}

ax_status ax_grad_backward(ax_grad *g, int top, int want_input, ax_error *err)
{
    ax_net *net = g->net;
    if (top < 0 || top >= net->nlayers)
        return ax_fail(err, AX_ERR_ARG, "backward from layer %d: the %s model has layers 0..%d", top, net->spec.name,
                       net->nlayers - 1);
    if (net->computed <= top)
        return ax_fail(err, AX_ERR_ARG, "backward from layer %d (%s): the forward pass has not computed it", top,
                       net->layers[top].spec.name);
    /* below[i]: something under layer i needs the gradient of its input. */
    int lowest = want_input ? -1 : net->nlayers;
    for (int i = 0; i <= top && !want_input; i++)
        if (trainable(g, i)) { lowest = i; break; }
    for (int i = 0; i < net->nlayers; i++) g->ms[i] = 0;

    for (int i = top; i >= 0; i--) {
        ax_layer *ly = &net->layers[i];
        const ax_layer_spec *s = &ly->spec;
        int want_dx = i > lowest || (i == 0 && want_input);
        int want_w = trainable(g, i);
        if (!want_dx && !want_w) break;
        /* the host copies of the layer's input and output */
        ax_status st = ax_net_fetch(net, i - 1, err);
        if (!st) st = ax_net_fetch(net, i, err);
        if (st) return st;
        double t0 = ax_clock_ms();
        const ax_tensor *in = ax_net_layer_input(net, i);
        int n, c, h, w;
        ax_tensor_nchw(in, &n, &c, &h, &w);
        const ax_layer_kind *k = ax_layer_kind_of(s->type);
        if (!k || !k->backward)
            return ax_fail(err, AX_ERR_UNSUPPORTED, "layer '%s': type %s has no backward", s->name,
                           ax_layer_type_name(s->type));
        /* A layer without weights gets here only when its input's gradient is wanted. */
        ax_backward_args a = {
            .L = ly, .n = n, .c = c, .h = h, .w = w, .count = ax_tensor_numel(in),
            .x = in->data, .y = ly->out.data, .dy = g->d_out[i].data,
            .dx = !want_dx ? NULL : i == 0 ? g->d_input.data : g->d_out[i - 1].data,
            .dw = want_w ? g->d_weight[i].data : NULL, .db = want_w ? g->d_bias[i].data : NULL,
            .scratch = g->scratch, .slots = g->slots, .lrn_slots = g->lrn_slots,
            .training = g->training, .seed = layer_seed(g->dropout_seed, i),
        };
        k->backward(&a);
        g->ms[i] = ax_clock_ms() - t0;
    }
    return AX_OK;
}

int ax_grad_seed_logit(ax_grad *g, const int *classes, int *classes_out, ax_error *err)
{
    ax_net *net = g->net;
    int top = ax_grad_logit_layer(net);
    if (top < 0 || net->computed <= top) {
        ax_fail(err, AX_ERR_ARG, "the %s model's logits are not computed", net->spec.name);
        return -1;
    }
    if (ax_net_fetch(net, top, err)) return -1;
    const ax_tensor *t = &net->layers[top].out;
    size_t per = ax_tensor_numel(t) / (size_t)net->batch;
    float *d = g->d_out[top].data;
    memset(d, 0, ax_tensor_numel(t) * sizeof(float));
    for (int n = 0; n < net->batch; n++) {
        const float *row = t->data + (size_t)n * per;
        long k;
        if (classes) {
            k = classes[n];
            if (k < 0 || (size_t)k >= per) {
                ax_fail(err, AX_ERR_ARG, "class %ld: the %s model's '%s' has classes 0..%zu", k, net->spec.name,
                        net->layers[top].spec.name, per - 1);
                return -1;
            }
        } else {
            k = 0;
            for (size_t i = 1; i < per; i++)
                if (row[i] > row[k]) k = (long)i;
        }
        if (classes_out) classes_out[n] = (int)k;
        d[(size_t)n * per + (size_t)k] = 1.0f;
    }
    return top;
}

int ax_grad_seed_l2(ax_grad *g, double *loss)
{
    ax_net *net = g->net;
    int top = net->nlayers - 1;
    if (top < 0 || net->computed <= top) return -1;
    const ax_tensor *t = ax_net_output(net, top);
    if (!t) return -1;
    size_t n = ax_tensor_numel(t);
    double sum = 0;
    for (size_t i = 0; i < n; i++) sum += (double)t->data[i] * t->data[i];
    memcpy(g->d_out[top].data, t->data, n * sizeof(float));
    if (loss) *loss = sum / 2;
    return top;
}
