/* Two runs lined up tensor by tensor (two nets, or a net and a reference
 * folder), each pair compared at a tolerance, the first divergent one found,
 * and the diagnosis case for it assembled. Shared by `diff` and the workbench;
 * prints nothing. Outputs are read through ax_net_output, which copies them
 * from a device backend. */
#include "alexscope/compare.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ax_comparison_free(ax_comparison *c)
{
    for (int i = 0; c->owned && i < c->nrows; i++) free(c->owned[i]);
    free(c->owned);
    free(c->rows);
    c->owned = NULL;
    c->rows = NULL;
    c->nrows = 0;
}

static ax_status start(ax_comparison *c, const ax_net *a, const ax_net *b, const ax_tolerance *tol, ax_error *err)
{
    memset(c, 0, sizeof *c);
    c->a = a;
    c->b = b;
    c->tol = *tol;
    c->first = -1;
    c->nrows = a->nlayers + 1;
    c->rows = calloc((size_t)c->nrows, sizeof *c->rows);
    c->owned = calloc((size_t)c->nrows, sizeof *c->owned);
    if (!c->rows || !c->owned) {
        ax_comparison_free(c);
        return ax_fail(err, AX_ERR_NOMEM, "out of memory comparing %d tensors", a->nlayers + 1);
    }
    for (int i = 0; i < c->nrows; i++) {
        ax_cmp_row *r = &c->rows[i];
        r->layer = i - 1;
        r->name = i ? a->layers[i - 1].spec.name : "input";
        r->a = ax_net_output(a, i - 1);
        r->b_layer = -2;
        r->ref.entry = -1;
        if (!r->a) {
            ax_comparison_free(c);
            return ax_fail(err, AX_ERR_ARG, "side A's layer %s is not computed (or its copy from the %s backend "
                           "failed)", r->name, a->backend->name);
        }
    }
    return AX_OK;
}

static void finish(ax_comparison *c)
{
    for (int i = 0; i < c->nrows; i++) {
        ax_cmp_row *r = &c->rows[i];
        if (!r->b) continue;
        c->compared++;
        if (r->shape_ok) {
            size_t n = ax_tensor_numel(r->a);
            ax_diff_tol(&r->d, r->a->data, r->b, n, ax_tolerance_atol(&c->tol, r->b, n), c->tol.rtol);
            r->diverges = r->d.fail > 0;
        } else {
            r->diverges = 1;
        }
        if (r->diverges && c->first < 0) c->first = i;
    }
}

ax_status ax_compare_nets(ax_comparison *c, const ax_net *a, const ax_net *b, const ax_tolerance *tol,
                          ax_error *err)
{
    ax_status st = start(c, a, b, tol, err);
    if (st) return st;
    for (int i = 0; i < c->nrows; i++) {
        ax_cmp_row *r = &c->rows[i];
        int j = i ? ax_net_find(b, r->name) : -1;
        if (i && j < 0) continue;
        const ax_tensor *t = ax_net_output(b, j);
        if (!t) {
            ax_comparison_free(c);
            return ax_fail(err, AX_ERR_ARG, "side B's layer %s is not computed (or its copy from the %s backend "
                           "failed)", r->name, b->backend->name);
        }
        r->b = t->data;
        r->b_layer = j;
        r->b_ndim = t->ndim;
        for (int k = 0; k < t->ndim; k++) r->b_shape[k] = t->shape[k];
        r->shape_ok = t->ndim == r->a->ndim;
        for (int k = 0; k < t->ndim && r->shape_ok; k++) r->shape_ok = t->shape[k] == r->a->shape[k];
    }
    finish(c);
    return AX_OK;
}

ax_status ax_compare_refdir(ax_comparison *c, const ax_net *a, const ax_refdir *r, const char *map_path,
                            const ax_tolerance *tol, ax_error *err)
{
    ax_status st = start(c, a, NULL, tol, err);
    if (st) return st;
    const char **names = calloc((size_t)c->nrows, sizeof *names);
    const ax_tensor **tens = calloc((size_t)c->nrows, sizeof *tens);
    ax_ref_match *m = calloc((size_t)c->nrows, sizeof *m);
    if (!names || !tens || !m) {
        st = ax_fail(err, AX_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (int i = 0; i < c->nrows; i++) {
        names[i] = c->rows[i].name;
        tens[i] = c->rows[i].a;
    }
    st = ax_refdir_match(m, r, c->nrows, names, tens, map_path, err);
    for (int i = 0; i < c->nrows && !st; i++) {
        ax_cmp_row *row = &c->rows[i];
        row->ref = m[i];
        if (m[i].entry < 0) continue;
        const ax_ref_entry *e = &r->e[m[i].entry];
        row->ref_name = e->name;
        row->shape_ok = m[i].fits;
        if (m[i].fits) {
            c->owned[i] = malloc(ax_tensor_numel(row->a) * sizeof(float) + 4);
            if (!c->owned[i]) {
                st = ax_fail(err, AX_ERR_NOMEM, "out of memory");
                break;
            }
            ax_ref_fetch(c->owned[i], e, &m[i], row->a);
            row->b = c->owned[i];
            row->b_ndim = row->a->ndim;
            for (int k = 0; k < row->a->ndim; k++) row->b_shape[k] = row->a->shape[k];
            continue;
        }
        /* Shown as stored when it has at most 4 sane dims, else as a flat vector. */
        row->b = e->data;
        int sane = e->ndim >= 1 && e->ndim <= 4;
        int64_t prod = 1;
        for (int k = 0; k < e->ndim && sane; k++) {
            sane = e->shape[k] >= 1 && e->shape[k] <= INT_MAX;
            prod *= sane ? e->shape[k] : 1;
        }
        if (sane && prod == (int64_t)e->numel) {
            row->b_ndim = e->ndim;
            for (int k = 0; k < e->ndim; k++) row->b_shape[k] = (int)e->shape[k];
        } else {
            row->b_ndim = 1;
            row->b_shape[0] = (int)e->numel;
        }
    }
    if (!st) finish(c);
done:
    free(names);
    free(tens);
    free(m);
    if (st) ax_comparison_free(c);
    return st;
}

static void append(char *buf, size_t size, const char *name, const char *type)
{
    size_t len = strlen(buf);
    if (len < size) snprintf(buf + len, size - len, "%s'%s' (%s)", len ? ", " : "", name, type);
}

void ax_comparison_case(ax_diag_case *dc, ax_comparison *c, int row)
{
    const ax_net *net = c->a;
    const ax_cmp_row *r = &c->rows[row];
    int ref_mode = c->b == NULL;
    int layer = r->layer, fused = 0;
    c->from[0] = c->a_only[0] = c->b_only[0] = 0;
    /* A reference that fused the ReLU into its conv or FC (Keras' Conv2D with
     * activation='relu') has no tensor for the layer itself: diagnose that
     * layer, with the ReLU, against the ReLU's output. */
    if (ref_mode && layer >= 1 && net->layers[layer].spec.type == AX_L_RELU && !c->rows[row - 1].b &&
        (net->layers[layer - 1].spec.type == AX_L_CONV || net->layers[layer - 1].spec.type == AX_L_FC)) {
        layer--;
        fused = 1;
    }
    memset(dc, 0, sizeof *dc);
    dc->net = net;
    dc->layer = layer;
    dc->b_out = r->b;
    dc->b_ndim = r->b_ndim;
    memcpy(dc->b_shape, r->b_shape, sizeof dc->b_shape);
    dc->tol = c->tol;
    dc->fused_relu = fused;
    if (layer < 0) return;
    /* Side B's tensor that feeds this layer: the previous row's, or with two
     * nets the last one side B has before layers only side A has. */
    const ax_tensor *in = ax_net_layer_input(net, layer);
    int p = layer;   /* the row of the layer's input */
    while (!ref_mode && p > 0 && !c->rows[p].b) {
        append(c->a_only, sizeof c->a_only, c->rows[p].name, ax_layer_type_name(net->layers[p - 1].spec.type));
        p--;
    }
    const ax_cmp_row *pr = &c->rows[p];
    if (pr->b && pr->shape_ok && ax_tensor_numel(pr->a) == ax_tensor_numel(in)) {
        dc->b_in = pr->b;
        snprintf(c->from, sizeof c->from, "side B's %s", pr->name);
    }
    if (!ref_mode && pr->b && r->b_layer >= 0)
        for (int j = pr->b_layer + 1; j < r->b_layer; j++)
            append(c->b_only, sizeof c->b_only, c->b->layers[j].spec.name, ax_layer_type_name(c->b->layers[j].spec.type));
    if (c->a_only[0]) dc->a_only = c->a_only;
    if (c->b_only[0]) dc->b_only = c->b_only;
}
