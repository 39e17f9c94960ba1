/* The what-if switches of the workbench: L bypasses the current LRN layer, T
 * zeroes one tower of the current two-tower conv. The normal run's outputs
 * are kept when the first switch is thrown, to show the difference
 * downstream; only the layers from the switched one on are recomputed. */
#include "modes.h"
#include "teach.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alexscope/teach.h"

typedef struct {
    float *base;     /* the normal run's layer outputs, one after the other */
    size_t *off;     /* (nlayers) where layer i's output starts in base */
    int ready;       /* layers 0..ready-1 of the copy hold outputs */
} normal_run;

static void release(ax_ui *u)
{
    normal_run *B = ax_ui_mode_state(u, AX_M_WHATIF);
    free(B->base);
    free(B->off);
    memset(B, 0, sizeof *B);
}

/* Layer i of the normal run, image on show. */
static const float *base_of(const ax_ui *u, int i)
{
    const normal_run *B = ax_ui_mode_state(u, AX_M_WHATIF);
    if (!B->base || i >= B->ready) return NULL;
    int n, c, h, w;
    ax_tensor_nchw(ax_ui_shape_of(u, i), &n, &c, &h, &w);
    return B->base + B->off[i] + (size_t)u->image * c * h * w;
}

/* Keeps the outputs of layers 0..ready-1 (read through the net, so that a
 * device backend copies them over); B->ready stays 0 when that fails. */
static void keep_normal_run(ax_ui *u)
{
    normal_run *B = ax_ui_mode_state(u, AX_M_WHATIF);
    ax_net *net = u->net;
    release(u);
    size_t total = 0;
    B->off = calloc((size_t)net->nlayers + 1, sizeof *B->off);
    if (!B->off) return;
    for (int i = 0; i < u->ready; i++) {
        B->off[i] = total;
        total += ax_tensor_numel(ax_ui_shape_of(u, i));
    }
    B->base = malloc((total + 1) * sizeof(float));
    if (!B->base) return;
    for (int i = 0; i < u->ready; i++) {
        const ax_tensor *t = ax_net_output(net, i);
        if (!t) return;
        memcpy(B->base + B->off[i], t->data, ax_tensor_numel(t) * sizeof(float));
    }
    B->ready = u->ready;
}

int ax_ui_whatif_key(ax_ui *u, int k)
{
    ax_net *net = u->net;
    int i = u->cur;
    if (ax_ui_worker_sync(u)) {
        ax_ui_say(u, AX_R_WARN, "a run is in progress: wait for it (or x to stop it), then switch");
        return 1;
    }
    if (i < 0) {
        ax_ui_say(u, AX_R_DIM, "%c works on a layer: go to an LRN layer (L) or a grouped conv (T)", k);
        return 1;
    }
    const ax_layer *L = &net->layers[i];
    ax_whatif now = ax_whatif_get(net, i), next;
    if (k == 'L') {
        if (L->spec.type != AX_L_LRN) {
            ax_ui_say(u, AX_R_DIM, "L switches an LRN layer off and on; %s is %s", L->spec.name,
                      ax_layer_type_name(L->spec.type));
            return 1;
        }
        next = now == AX_WHATIF_LRN_OFF ? AX_WHATIF_NONE : AX_WHATIF_LRN_OFF;
    } else {
        if (L->spec.type != AX_L_CONV || L->spec.groups != 2) {
            ax_ui_say(u, AX_R_DIM, "T zeroes a tower of a conv with groups=2; %s has none", L->spec.name);
            return 1;
        }
        next = now == AX_WHATIF_NONE ? AX_WHATIF_TOWER0_OFF : now == AX_WHATIF_TOWER0_OFF ? AX_WHATIF_TOWER1_OFF
                                                                                           : AX_WHATIF_NONE;
    }
    if (ax_whatif_first(net) < 0 && next != AX_WHATIF_NONE) {
        /* the first switch: keep the normal run to compare with */
        keep_normal_run(u);
    }
    int target = u->ready - 1 > i ? u->ready - 1 : i;
    ax_error err = { 0 };
    if (ax_whatif_set(net, i, next, &err)) {
        ax_ui_say(u, AX_R_BAD, "%.300s", err.msg);
        return 1;
    }
    if (u->ready > net->computed) u->ready = net->computed;
    ax_ui_worker_reset(u);
    ax_ui_cache_drop(u);
    if (ax_whatif_first(net) < 0) release(u);
    ax_ui_say(u, next ? AX_R_WARN : AX_R_GOOD, "%s: %s; recomputing %s .. %s (S shows the difference)", L->spec.name,
              ax_whatif_name(next), L->spec.name, net->layers[target].spec.name);
    ax_ui_worker_run_to(u, target);
    /* stay on the switched layer: L or T again undoes it */
    u->follow = 0;
    u->cur = i;
    return 1;
}

/* The index of the largest of n values. */
static int argmax(const float *v, int n)
{
    int b = 0;
    for (int i = 1; i < n; i++)
        if (v[i] > v[b]) b = i;
    return b;
}

int ax_ui_whatif_lines(ax_ui *u, char (*lines)[160], int max)
{
    const normal_run *B = ax_ui_mode_state(u, AX_M_WHATIF);
    ax_net *net = u->net;
    int first = ax_whatif_first(net), n = 0;
    if (first < 0 || max < 2) return 0;
    char who[200] = "";
    for (int i = 0; i < net->nlayers; i++)
        if (net->layers[i].whatif)
            snprintf(who + strlen(who), sizeof who - strlen(who), "%s%s %s", who[0] ? ", " : "",
                     net->layers[i].spec.name, ax_whatif_name((ax_whatif)net->layers[i].whatif));
    snprintf(lines[n++], 160, "What-if: %.150s", who);
    if (!B->base || !B->ready) {
        snprintf(lines[n++], 160, "(the normal run was not kept: out of memory, or its copy from the device failed)");
        return n;
    }
    snprintf(lines[n++], 160, "%-14s %12s %12s %10s", "layer", "max|diff|", "max|normal|", "relative");
    for (int i = first; i < net->nlayers && n < max - 2; i++) {
        const float *b = base_of(u, i), *a = ax_ui_data(u, i);
        if (!b || !a) continue;
        const ax_layer *L = &net->layers[i];
        int N, C, H, W;
        ax_tensor_nchw(ax_ui_shape_of(u, i), &N, &C, &H, &W);
        size_t per = (size_t)C * H * W;
        double md = 0, mb = 0;
        for (size_t k = 0; k < per; k++) {
            double d = fabs((double)a[k] - b[k]);
            if (d > md) md = d;
            if (fabs(b[k]) > mb) mb = fabs(b[k]);
        }
        snprintf(lines[n++], 160, "%-14.14s %12.4g %12.4g %10.3g", L->spec.name, md, mb, mb > 0 ? md / mb : 0);
    }
    int last = net->nlayers - 1;
    const float *b = base_of(u, last), *a = ax_ui_data(u, last);
    const ax_tensor *lt = ax_ui_shape_of(u, last);
    if (a && b && lt->ndim == 2 && n < max) {
        int C = lt->shape[1];
        const float *bb = b;
        int ta = argmax(a, C), tb = argmax(bb, C);
        const ax_labels *lab = u->cfg->labels;
        snprintf(lines[n++], 160, "top-1 normal: %d %.40s (%.4g)   now: %d %.40s (%.4g)%s", tb,
                 lab ? ax_label(lab, tb) : "", bb[tb], ta, lab ? ax_label(lab, ta) : "", a[ta],
                 ta == tb ? "   same class" : "   CHANGED");
    } else if (n < max) {
        snprintf(lines[n++], 160, "(run to the end, a, to compare the classes)");
    }
    return n;
}

int ax_ui_whatif_text(const ax_ui *u, char *buf, size_t n)
{
    const ax_net *net = u->net;
    int count = 0;
    if (n) buf[0] = 0;
    for (int i = 0; i < net->nlayers; i++)
        if (net->layers[i].whatif) {
            size_t len = strlen(buf);
            if (len + 1 < n)
                snprintf(buf + len, n - len, "%s%s %s", count ? ", " : "", net->layers[i].spec.name,
                         ax_whatif_name((ax_whatif)net->layers[i].whatif));
            count++;
        }
    return count;
}

/* the layer list: a switched layer carries '!' until it is switched back */
static int mark(const ax_ui *u, int i, ax_role *role, const char **sym)
{
    if (i < 0 || !u->net->layers[i].whatif) return 0;
    *role = AX_R_WARN;
    *sym = "!";
    return 1;
}

static const ax_key keys[] = {
    { { 'L' }, "L", "current LRN layer off / on (what-if)", ax_ui_whatif_key, NULL, NULL, 0, 0, 0 },
    { { 'T' }, "T", "grouped conv: tower 0 off, tower 1 off, both on", ax_ui_whatif_key, NULL, NULL, 0, 0, 0 },
    { { 0 }, NULL, NULL, NULL, NULL, NULL, 0, 0, 0 },
};

const ax_mode ax_mode_whatif = {
    .name = "what-if",
    .keys = keys,
    .state = sizeof(normal_run),
    .release = release,
    .mark = mark,
};
