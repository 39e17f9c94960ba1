/* Saliency from the backward pass: the class's logit seeded and carried back
 * to the input with no weight gradients, then reduced to |g| maps and
 * per-channel figures. The gradients themselves come from src/grad.c. */
#include "alexscope/saliency.h"

#include <math.h>
#include <stdlib.h>

#include "alexscope/teach.h"

int ax_saliency_backward(ax_grad *g, int cls, int *classes_out, ax_error *err)
{
    ax_net *net = g->net;
    int wf = ax_whatif_first(net);
    if (wf >= 0) {
        ax_fail(err, AX_ERR_UNSUPPORTED, "%s: layer '%s' runs a what-if (%s), which has no backward; switch it off "
                "for gradients", net->spec.name, net->layers[wf].spec.name,
                ax_whatif_name(ax_whatif_get(net, wf)));
        return -1;
    }
    int *classes = NULL;
    if (cls >= 0) {
        classes = malloc((size_t)net->batch * sizeof *classes);
        if (!classes) {
            ax_fail(err, AX_ERR_NOMEM, "out of memory for %d classes", net->batch);
            return -1;
        }
        for (int n = 0; n < net->batch; n++) classes[n] = cls;
    }
    int top = ax_grad_seed_logit(g, classes, classes_out, err);
    free(classes);
    if (top < 0) return -1;
    for (int i = 0; i < net->nlayers; i++) g->frozen[i] = 1;
    if (ax_grad_backward(g, top, 1, err)) return -1;
    return top;
}

void ax_saliency_map(float *max_map, float *ch_maps, const float *g, int c, int h, int w)
{
    size_t hw = (size_t)h * w;
    for (size_t p = 0; p < hw; p++) {
        float m = 0;
        for (int k = 0; k < c; k++) {
            float a = fabsf(g[(size_t)k * hw + p]);
            if (ch_maps) ch_maps[(size_t)k * hw + p] = a;
            /* a NaN wins: the map must not hide one */
            if (isnan(a) || a > m) m = a;
        }
        if (max_map) max_map[p] = m;
    }
}

void ax_saliency_channels(ax_grad_channel *out, const float *g, const float *a, int c, int hw)
{
    for (int k = 0; k < c; k++) {
        const float *gc = g + (size_t)k * hw, *ac = a ? a + (size_t)k * hw : NULL;
        double sa = 0, s = 0, ga = 0;
        float mx = 0;
        size_t n = 0;
        for (int p = 0; p < hw; p++) {
            float v = gc[p];
            if (!isfinite(v)) continue;
            n++;
            sa += fabsf(v);
            s += v;
            if (fabsf(v) > mx) mx = fabsf(v);
            if (ac && isfinite(ac[p])) ga += (double)v * ac[p];
        }
        out[k] = (ax_grad_channel){ n ? sa / n : 0, mx, n ? s / n : 0, ga };
    }
}

typedef struct { double key; int idx; } keyed;

static int by_key(const void *pa, const void *pb)
{
    const keyed *a = pa, *b = pb;
    if (a->key != b->key) return a->key < b->key ? -1 : 1;
    return (a->idx > b->idx) - (a->idx < b->idx);
}

void ax_saliency_order(int *order, const ax_grad_channel *ch, int c, ax_grad_column column, int descending)
{
    keyed *k = malloc((size_t)(c > 0 ? c : 1) * sizeof *k);
    if (!k) {
        /* no memory for the keys: channel order */
        for (int i = 0; i < c; i++) order[i] = i;
        return;
    }
    for (int i = 0; i < c; i++) {
        double v;
        switch (column) {
        case AX_GRAD_COL_ABS_MEAN: v = ch[i].abs_mean; break;
        case AX_GRAD_COL_ABS_MAX: v = ch[i].abs_max; break;
        case AX_GRAD_COL_MEAN: v = ch[i].mean; break;
        case AX_GRAD_COL_GRAD_ACT: v = ch[i].grad_act; break;
        default: v = i; break;
        }
        k[i] = (keyed){ descending ? -v : v, i };
    }
    qsort(k, (size_t)c, sizeof *k, by_key);
    for (int i = 0; i < c; i++) order[i] = k[i].idx;
    free(k);
}
