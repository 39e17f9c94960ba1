/* What-if runs: an LRN layer bypassed (its output is its input) or one tower
 * of a two-group convolution zeroed. Setting one installs the layer's run
 * hook (the net knows no what-if) and forgets only the outputs from that
 * layer on; the layers before keep theirs. */
#include <string.h>

#include "alexscope/teach.h"

static int towers(const ax_layer *L)
{
    return L->spec.type == AX_L_CONV && L->spec.groups == 2;
}

/* The layer's run hook while a what-if is set (the net calls it instead of
 * the backend's run_layer). A what-if changes a layer's output on the host:
 * on a device backend the output is brought over, changed, and sent back. */
static ax_status whatif_run(ax_net *net, int i, ax_error *err)
{
    ax_layer *L = &net->layers[i];
    const ax_backend *be = net->backend;
    int dev = !be->host_memory;
    const ax_tensor *in = ax_net_layer_input(net, i);
    ax_status st = AX_OK;
    if (L->whatif == AX_WHATIF_LRN_OFF) {
        if (dev && i > 0 && (st = ax_net_fetch(net, i - 1, err))) return st;
        memcpy(L->out.data, in->data, ax_tensor_numel(&L->out) * sizeof(float));
        return dev ? be->upload(net, i, err) : AX_OK;
    }
    if ((st = be->run_layer(net, i, err))) return st;
    if (L->whatif == AX_WHATIF_TOWER0_OFF || L->whatif == AX_WHATIF_TOWER1_OFF) {
        if (dev && (st = be->download(net, i, err))) return st;
        int n, c, h, w;
        ax_tensor_nchw(&L->out, &n, &c, &h, &w);
        int half = c / 2, g = L->whatif == AX_WHATIF_TOWER1_OFF;
        size_t plane = (size_t)h * w;
        for (int b = 0; b < n; b++)
            memset(L->out.data + ((size_t)b * c + (size_t)g * half) * plane, 0, (size_t)half * plane * sizeof(float));
        if (dev) return be->upload(net, i, err);
    }
    return AX_OK;
}

const char *ax_whatif_name(ax_whatif mode)
{
    switch (mode) {
    case AX_WHATIF_LRN_OFF: return "LRN off";
    case AX_WHATIF_TOWER0_OFF: return "tower 0 zeroed";
    case AX_WHATIF_TOWER1_OFF: return "tower 1 zeroed";
    default: return "as specified";
    }
}

ax_status ax_whatif_set(ax_net *net, int i, ax_whatif mode, ax_error *err)
{
    if (i < 0 || i >= net->nlayers)
        return ax_fail(err, AX_ERR_ARG, "layer %d: the %s model has layers 0..%d", i, net->spec.name, net->nlayers - 1);
    ax_layer *L = &net->layers[i];
    if (mode == AX_WHATIF_LRN_OFF && L->spec.type != AX_L_LRN)
        return ax_fail(err, AX_ERR_ARG, "layer '%s' is a %s layer, not LRN: nothing to switch off", L->spec.name,
                       ax_layer_type_name(L->spec.type));
    if ((mode == AX_WHATIF_TOWER0_OFF || mode == AX_WHATIF_TOWER1_OFF) && !towers(L))
        return ax_fail(err, AX_ERR_ARG, "layer '%s' is not a convolution with groups=2: it has no towers",
                       L->spec.name);
    if (mode < AX_WHATIF_NONE || mode > AX_WHATIF_TOWER1_OFF)
        return ax_fail(err, AX_ERR_ARG, "what-if mode %d: unknown", (int)mode);
    if (L->whatif == (int)mode) return AX_OK;
    L->whatif = (int)mode;
    L->run = mode == AX_WHATIF_NONE ? NULL : whatif_run;
    if (net->computed > i) net->computed = i;
    return AX_OK;
}

ax_whatif ax_whatif_get(const ax_net *net, int i)
{
    return i >= 0 && i < net->nlayers ? (ax_whatif)net->layers[i].whatif : AX_WHATIF_NONE;
}

int ax_whatif_first(const ax_net *net)
{
    for (int i = 0; i < net->nlayers; i++)
        if (net->layers[i].whatif) return i;
    return -1;
}
