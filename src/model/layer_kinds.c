/* The layer-kind table (alexscope/layer_kind.h): one row per layer type, and
 * the shape resolver and window geometry every part of the engine shares.
 * Rows call the CPU kernels for the reference forward and the backward;
 * nothing here allocates, and no backend's dispatch lives here. */
#include "alexscope/layer_kind.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "alexscope/grad.h"

/* ---- geometry ------------------------------------------------------------ */

/* Output length along one axis. Floor mode counts the windows that fit in the
 * padded input. Ceil mode lets the last window run past the end, but, as Caffe
 * and PyTorch do, drops it when it would start inside the after-padding. */
int ax_window_out(int in, int k, int s, int pad_before, int pad_after, int ceil_mode)
{
    if (s <= 0 || k <= 0) return 0;
    int span = in + pad_before + pad_after - k;
    if (span < 0) return 0;
    int out = (ceil_mode ? (span + s - 1) / s : span / s) + 1;
    if (ceil_mode && out > 1 && (out - 1) * s >= in + pad_before) out--;
    return out;
}

/* TensorFlow SAME: out = ceil(in / s); the total padding needed for that is
 * split with the odd cell after (bottom/right). */
void ax_same_padding(int in, int k, int s, int *out, int *pad_before, int *pad_after)
{
    int o = s > 0 ? (in + s - 1) / s : 0;
    int total = (o - 1) * s + k - in;
    if (total < 0) total = 0;
    if (out) *out = o;
    if (pad_before) *pad_before = total / 2;
    if (pad_after) *pad_after = total - total / 2;
}

/* ---- facts of one kind that several parts read ----------------------------- */

const char *ax_lrn_convention_name(ax_lrn_convention c)
{
    switch (c) {
    case AX_LRN_CAFFE: return "caffe";
    case AX_LRN_TF: return "tf";
    case AX_LRN_DARKNET: return "darknet";
    }
    return "?";
}

float ax_lrn_sum_scale(const ax_layer_spec *l)
{
    return l->lrn_convention == AX_LRN_CAFFE ? l->lrn_alpha / (float)l->lrn_size : l->lrn_alpha;
}

/* ---- resolving ------------------------------------------------------------- */

static int needs_spatial(const ax_kind_dims *in, char *why, size_t size)
{
    if (in->spatial) return 1;
    snprintf(why, size, "needs a (C, H, W) input, got a flat vector of %d", in->c);
    return 0;
}

/* Conv and maxpool: the window's output size and resolved padding. */
static int resolve_window(ax_layer *L, int batch, const ax_kind_dims *in, ax_kind_dims *out, char *why, size_t size)
{
    const ax_layer_spec *s = &L->spec;
    if (!needs_spatial(in, why, size)) return 0;
    int ic = in->c, ih = in->h, iw = in->w, oc = ic, oh, ow;
    int pt = s->pad_t, pl = s->pad_l, pb = s->pad_b, pr = s->pad_r;
    if (s->pad_mode == AX_PAD_SAME) {
        ax_same_padding(ih, s->kh, s->sh, &oh, &pt, &pb);
        ax_same_padding(iw, s->kw, s->sw, &ow, &pl, &pr);
    } else {
        int ceil_mode = s->type == AX_L_MAXPOOL && s->rounding == AX_ROUND_CEIL;
        oh = ax_window_out(ih, s->kh, s->sh, pt, pb, ceil_mode);
        ow = ax_window_out(iw, s->kw, s->sw, pl, pr, ceil_mode);
    }
    if (oh < 1 || ow < 1) {
        snprintf(why, size, "a %dx%d window with stride %d does not fit its %dx%d input", s->kh, s->kw, s->sh, ih, iw);
        return 0;
    }
    if (s->type == AX_L_CONV) {
        if (ic % s->groups) {
            snprintf(why, size, "%d input channels are not divisible by groups=%d", ic, s->groups);
            return 0;
        }
        oc = s->out_c;
        ax_tensor_set(&L->weight, "weight", 4, oc, ic / s->groups, s->kh, s->kw);
        if (s->bias) ax_tensor_set(&L->bias, "bias", 1, oc, 1, 1, 1);
        L->flops = 2.0 * oc * oh * ow * (double)(ic / s->groups) * s->kh * s->kw;
    } else {
        L->flops = (double)oc * oh * ow * s->kh * s->kw;
    }
    L->win = (ax_window){ .n = batch, .c = ic, .h = ih, .w = iw, .oc = oc, .oh = oh, .ow = ow,
                          .kh = s->kh, .kw = s->kw, .sh = s->sh, .sw = s->sw,
                          .pad_t = pt, .pad_l = pl, .groups = s->type == AX_L_CONV ? s->groups : 1 };
    L->pad_b = pb; L->pad_r = pr;
    *out = (ax_kind_dims){ oc, oh, ow, 1 };
    return 1;
}

/* relu, dropout: one operation per value, the shape kept. */
static int resolve_pointwise(ax_layer *L, int batch, const ax_kind_dims *in, ax_kind_dims *out, char *why, size_t size)
{
    L->flops = (double)in->c * in->h * in->w;
    *out = *in;
    return 1;
}

static int resolve_lrn(ax_layer *L, int batch, const ax_kind_dims *in, ax_kind_dims *out, char *why, size_t size)
{
    L->flops = (double)in->c * in->h * in->w * 6;
    *out = *in;
    return 1;
}

static int resolve_softmax(ax_layer *L, int batch, const ax_kind_dims *in, ax_kind_dims *out, char *why, size_t size)
{
    *out = (ax_kind_dims){ in->c * in->h * in->w, 1, 1, 0 };
    L->flops = (double)out->c * 4;
    return 1;
}

static int resolve_avgpool(ax_layer *L, int batch, const ax_kind_dims *in, ax_kind_dims *out, char *why, size_t size)
{
    if (!needs_spatial(in, why, size)) return 0;
    *out = (ax_kind_dims){ in->c, L->spec.out_h, L->spec.out_w, 1 };
    L->flops = (double)in->c * in->h * in->w;
    return 1;
}

static int resolve_pad(ax_layer *L, int batch, const ax_kind_dims *in, ax_kind_dims *out, char *why, size_t size)
{
    const ax_layer_spec *s = &L->spec;
    if (!needs_spatial(in, why, size)) return 0;
    *out = (ax_kind_dims){ in->c, in->h + s->pad_t + s->pad_b, in->w + s->pad_l + s->pad_r, 1 };
    L->pad_b = s->pad_b; L->pad_r = s->pad_r;
    return 1;
}

static int resolve_flatten(ax_layer *L, int batch, const ax_kind_dims *in, ax_kind_dims *out, char *why, size_t size)
{
    *out = (ax_kind_dims){ in->c * in->h * in->w, 1, 1, 0 };
    return 1;
}

static int resolve_fc(ax_layer *L, int batch, const ax_kind_dims *in, ax_kind_dims *out, char *why, size_t size)
{
    const ax_layer_spec *s = &L->spec;
    int in_f = in->c * in->h * in->w, oc = s->out_c;
    ax_tensor_set(&L->weight, "weight", 2, oc, in_f, 1, 1);
    if (s->bias) ax_tensor_set(&L->bias, "bias", 1, oc, 1, 1, 1);
    L->flops = 2.0 * oc * (double)in_f;
    *out = (ax_kind_dims){ oc, 1, 1, 0 };
    return 1;
}

ax_status ax_layer_resolve(ax_layer *L, int batch, ax_kind_dims *dims, const char *file, ax_error *err)
{
    const ax_layer_spec *s = &L->spec;
    const ax_layer_kind *k = ax_layer_kind_of(s->type);
    ax_kind_dims out = *dims;
    L->in_c = dims->c; L->in_h = dims->h; L->in_w = dims->w;
    char why[400];
    /* Sizes are ints in the tensors and the kernels: every product a
     * resolver forms (c*h*w, the fc's input) and every tensor it makes must
     * fit one, checked in 64 bits before the int arithmetic runs. */
    /* per image: the batch multiplies sizes in size_t, and the net's memory
     * check refuses a batch that does not fit with a figure */
    int64_t in_n = (int64_t)dims->c * dims->h * dims->w;
    if (in_n > INT_MAX)
        return ax_fail(err, AX_ERR_SPEC, "%s:%d: layer '%s': its input of %dx%dx%d is %lld values, more than the "
                       "%d a tensor holds", file, s->line, s->name, dims->c, dims->h, dims->w, (long long)in_n,
                       INT_MAX);
    if (!k || !k->resolve) snprintf(why, sizeof why, "unknown layer type %d", (int)s->type);
    if (!k || !k->resolve || !k->resolve(L, batch, dims, &out, why, sizeof why))
        return ax_fail(err, AX_ERR_SPEC, "%s:%d: layer '%s': %s", file, s->line, s->name, why);
    int64_t out_n = (int64_t)out.c * out.h * out.w;
    const ax_tensor *wt = &L->weight;
    int64_t w_n = wt->ndim ? (int64_t)wt->shape[0] * wt->shape[1] * (wt->ndim > 2 ? (int64_t)wt->shape[2] * wt->shape[3] : 1) : 0;
    /* a spatial output's size is only ever taken in size_t (the net's memory
     * check states what it needs); the next layer checks it as its input */
    if (out.spatial) out_n = out.c;
    if (out.c < 1 || out.h < 1 || out.w < 1 || out_n > INT_MAX || w_n > INT_MAX)
        return ax_fail(err, AX_ERR_SPEC, "%s:%d: layer '%s': its %s of %lld values is more than the %d a tensor "
                       "holds", file, s->line, s->name, w_n > INT_MAX ? "weight" : "output",
                       (long long)(w_n > INT_MAX ? w_n : out_n), INT_MAX);
    if (out.spatial) ax_tensor_set(&L->out, s->name, 4, batch, out.c, out.h, out.w);
    else ax_tensor_set(&L->out, s->name, 2, batch, out.c, 1, 1);
    L->params = (L->weight.ndim ? ax_tensor_numel(&L->weight) : 0) + (L->bias.ndim ? ax_tensor_numel(&L->bias) : 0);
    *dims = out;
    return AX_OK;
}

ax_status ax_spec_resolve(const ax_spec *spec, ax_layer *layers, ax_error *err)
{
    ax_kind_dims dims = { spec->in_c, spec->in_h, spec->in_w, 1 };
    for (int i = 0; i < spec->nlayers; i++) {
        memset(&layers[i], 0, sizeof layers[i]);
        layers[i].spec = spec->layers[i];
        layers[i].index = i;
        ax_status st = ax_layer_resolve(&layers[i], 1, &dims, spec->path, err);
        if (st) return st;
    }
    return AX_OK;
}

/* ---- receptive-field steps ------------------------------------------------- */

static void rf_same(const ax_layer *L, ax_rf_step *st)
{
    (void)L;
    *st = (ax_rf_step){ 0, 1, 1, 1, 1, 0, 0 };
}

static void rf_window(const ax_layer *L, ax_rf_step *st)
{
    *st = (ax_rf_step){ 0, L->win.kh, L->win.kw, L->win.sh, L->win.sw, L->win.pad_t, L->win.pad_l };
}

/* Padding moves the first cell, as a 1x1 window with leading padding. */
static void rf_pad(const ax_layer *L, ax_rf_step *st)
{
    *st = (ax_rf_step){ 0, 1, 1, 1, 1, L->spec.pad_t, L->spec.pad_l };
}

/* Adaptive bins: equal to a k = s = H/OH window when OH divides H; otherwise
 * bins of up to ceil(H/OH) + 1 cells, H/OH apart. */
static void rf_bins(int in, int out, int *k, int *s)
{
    *k = 1; *s = 1;
    if (in == out) return;
    int st = in / out;
    *k = (in + out - 1) / out + (in % out != 0);
    *s = st > 0 ? st : 1;
}

static void rf_avgpool(const ax_layer *L, ax_rf_step *st)
{
    rf_same(L, st);
    rf_bins(L->in_h, L->spec.out_h, &st->kh, &st->sh);
    rf_bins(L->in_w, L->spec.out_w, &st->kw, &st->sw);
}

static void rf_global(const ax_layer *L, ax_rf_step *st)
{
    rf_same(L, st);
    st->global = 1;
}

/* A softmax over a flat vector keeps the field; over a map it mixes it all. */
static void rf_softmax(const ax_layer *L, ax_rf_step *st)
{
    rf_same(L, st);
    st->global = L->in_h * L->in_w > 1;
}

/* ---- the summary's detail -------------------------------------------------- */

static void detail_none(char *buf, size_t size, const ax_layer *L)
{
    if (size) buf[0] = 0;
}

static void detail_conv(char *buf, size_t size, const ax_layer *L)
{
    const ax_layer_spec *s = &L->spec;
    snprintf(buf, size, "%d k%d s%d p%d%s", s->out_c, s->kh, s->sh, L->win.pad_t,
             s->groups > 1 ? (s->groups == 2 ? " g2" : " grouped") : "");
}

static void detail_maxpool(char *buf, size_t size, const ax_layer *L)
{
    snprintf(buf, size, "k%d s%d", L->spec.kh, L->spec.sh);
}

static void detail_lrn(char *buf, size_t size, const ax_layer *L)
{
    const ax_layer_spec *s = &L->spec;
    snprintf(buf, size, "n%d a%g b%g k%g %s", s->lrn_size, s->lrn_alpha, s->lrn_beta, s->lrn_k,
             ax_lrn_convention_name(s->lrn_convention));
}

static void detail_avgpool(char *buf, size_t size, const ax_layer *L)
{
    snprintf(buf, size, "to %dx%d", L->spec.out_h, L->spec.out_w);
}

static void detail_pad(char *buf, size_t size, const ax_layer *L)
{
    const ax_layer_spec *s = &L->spec;
    snprintf(buf, size, "t%d l%d b%d r%d", s->pad_t, s->pad_l, s->pad_b, s->pad_r);
}

static void detail_flatten(char *buf, size_t size, const ax_layer *L)
{
    snprintf(buf, size, "%s", L->spec.order == AX_FLATTEN_HWC ? "H,W,C" : "C,H,W");
}

/* "9216 in": the output width is the row's (and the diagram's "-> 4096") */
static void detail_fc(char *buf, size_t size, const ax_layer *L)
{
    snprintf(buf, size, "%d in", L->in_c * L->in_h * L->in_w);
}

static void detail_dropout(char *buf, size_t size, const ax_layer *L)
{
    snprintf(buf, size, "p=%g", L->spec.p);
}

/* ---- the arithmetic, in the layer's own numbers ------------------------------ */

/* One axis of a window: "(227 - 11) / 4 + 1 = 55", with floor or ceil shown
 * when the division is not exact, and Caffe's dropped last window said. */
static int axis_text(char *buf, size_t n, int in, int pad, int k, int s, int ceil_mode, int out)
{
    char num[64];
    if (pad) snprintf(num, sizeof num, "%d + %d - %d", in, pad, k);
    else snprintf(num, sizeof num, "%d - %d", in, k);
    int span = in + pad - k, exact = s > 0 && span >= 0 && span % s == 0;
    int formula = s > 0 && span >= 0 ? (ceil_mode ? (span + s - 1) / s : span / s) + 1 : out;
    if (s == 1) return snprintf(buf, n, "%s + 1 = %d", num, out), formula == out;
    if (exact) snprintf(buf, n, "(%s) / %d + 1 = %d", num, s, out);
    else snprintf(buf, n, "%s((%s) / %d) + 1 = %d", ceil_mode ? "ceil" : "floor", num, s, out);
    return formula == out;
}

static void window_size(char *size, size_t n, const ax_layer *L, int ceil_mode)
{
    const ax_window *w = &L->win;
    int oh = L->out.shape[2], ow = L->out.shape[3];
    char a[96], b[96];
    int ok_h = axis_text(a, sizeof a, L->in_h, w->pad_t + L->pad_b, w->kh, w->sh, ceil_mode, oh);
    int ok_w = axis_text(b, sizeof b, L->in_w, w->pad_l + L->pad_r, w->kw, w->sw, ceil_mode, ow);
    const char *dropped = ok_h && ok_w ? "" : " (the last window would start in the padding: Caffe drops it)";
    if (!strcmp(a, b)) snprintf(size, n, "%s rows and columns%s", a, dropped);
    else snprintf(size, n, "rows %s, columns %s%s", a, b, dropped);
}

static void arith_conv(char *what, char *size, size_t n, const ax_layer *L)
{
    const ax_window *w = &L->win;
    int cg = L->in_c / (w->groups > 0 ? w->groups : 1);
    char grp[64] = "";
    if (w->groups > 1) snprintf(grp, sizeof grp, " of o's group (%d groups of %d)", w->groups, cg);
    snprintf(what, n, "y[o,i,j] = %ssum over c < %d%s, u < %d, v < %d of w[o,c,u,v] * x[c, %di+u-%d, %dj+v-%d]",
             L->spec.bias ? "b[o] + " : "", cg, grp, w->kh, w->kw, w->sh, w->pad_t, w->sw, w->pad_l);
    window_size(size, n, L, 0);
}

static void arith_maxpool(char *what, char *size, size_t n, const ax_layer *L)
{
    const ax_window *w = &L->win;
    snprintf(what, n, "y[c,i,j] = the largest of the %dx%d window x[c, %di+u-%d, %dj+v-%d] (%d comparisons each)",
             w->kh, w->kw, w->sh, w->pad_t, w->sw, w->pad_l, w->kh * w->kw - 1);
    window_size(size, n, L, L->spec.rounding == AX_ROUND_CEIL);
}

static void same_size(char *size, size_t n, const ax_layer *L)
{
    if (L->in_h * L->in_w > 1) snprintf(size, n, "the input's: %d x %d x %d", L->in_c, L->in_h, L->in_w);
    else snprintf(size, n, "the input's: %d values", L->in_c * L->in_h * L->in_w);
}

static void arith_relu(char *what, char *size, size_t n, const ax_layer *L)
{
    snprintf(what, n, "y = max(0, x), element by element: negatives become 0");
    same_size(size, n, L);
}

static void arith_lrn(char *what, char *size, size_t n, const ax_layer *L)
{
    const ax_layer_spec *s = &L->spec;
    int r = s->lrn_size / 2;
    snprintf(what, n, "y[c] = x[c] / (k + a * sum of x[c']^2 over c-%d <= c' <= c+%d)^%g, k = %g (%s convention "
             "for a)", r, r, s->lrn_beta, s->lrn_k, ax_lrn_convention_name(s->lrn_convention));
    same_size(size, n, L);
}

static void arith_avgpool(char *what, char *size, size_t n, const ax_layer *L)
{
    const ax_layer_spec *s = &L->spec;
    snprintf(what, n, "y[c,i,j] = the mean of x[c] over rows floor(i*%d/%d) .. ceil((i+1)*%d/%d)-1, columns alike",
             L->in_h, s->out_h, L->in_h, s->out_h);
    snprintf(size, n, "%d x %d, as asked (from %d x %d%s)", s->out_h, s->out_w, L->in_h, L->in_w,
             L->in_h == s->out_h && L->in_w == s->out_w ? ": a copy" : "");
}

static void arith_pad(char *what, char *size, size_t n, const ax_layer *L)
{
    const ax_layer_spec *s = &L->spec;
    snprintf(what, n, "zeros around the input: %d above, %d left, %d below, %d right", s->pad_t, s->pad_l, s->pad_b,
             s->pad_r);
    snprintf(size, n, "%d + %d + %d = %d rows, %d + %d + %d = %d columns", L->in_h, s->pad_t, s->pad_b,
             L->in_h + s->pad_t + s->pad_b, L->in_w, s->pad_l, s->pad_r, L->in_w + s->pad_l + s->pad_r);
}

static void arith_flatten(char *what, char *size, size_t n, const ax_layer *L)
{
    snprintf(what, n, "the same values in one row, in %s order", L->spec.order == AX_FLATTEN_HWC
             ? "H, W, C (channels last)" : "C, H, W (channel by channel)");
    snprintf(size, n, "%d x %d x %d = %d values", L->in_c, L->in_h, L->in_w, L->in_c * L->in_h * L->in_w);
}

static void arith_fc(char *what, char *size, size_t n, const ax_layer *L)
{
    int in = L->in_c * L->in_h * L->in_w;
    snprintf(what, n, "y = W x%s: each of the %d outputs sums %d products", L->spec.bias ? " + b" : "", L->spec.out_c,
             in);
    if (L->in_h * L->in_w > 1)
        snprintf(size, n, "%d -> %d (the input %d x %d x %d read as %d values)", in, L->spec.out_c, L->in_c, L->in_h,
                 L->in_w, in);
    else snprintf(size, n, "%d -> %d", in, L->spec.out_c);
}

static void arith_dropout(char *what, char *size, size_t n, const ax_layer *L)
{
    snprintf(what, n, "y = x at inference; in training each value is zeroed with p = %g and the rest scaled by "
             "1 / (1 - p)", L->spec.p);
    same_size(size, n, L);
}

static void arith_softmax(char *what, char *size, size_t n, const ax_layer *L)
{
    snprintf(what, n, "p[k] = exp(z[k] - max z) / sum over j < %d of exp(z[j] - max z): positive, summing to 1",
             L->in_c * L->in_h * L->in_w);
    same_size(size, n, L);
}

/* ---- the reference forward ------------------------------------------------- */

void ax_layer_op_of(ax_layer_op *op, const ax_layer *L, const ax_tensor *in)
{
    memset(op, 0, sizeof *op);
    op->type = L->spec.type;
    ax_tensor_nchw(in, &op->n, &op->c, &op->h, &op->w);
    op->win = L->win;
    op->wt = L->weight.ndim ? L->weight.data : NULL;
    op->bias = L->bias.ndim ? L->bias.data : NULL;
    op->out_f = L->spec.out_c;
    if (op->type == AX_L_LRN) {
        op->lrn_scale = ax_lrn_sum_scale(&L->spec);
        op->lrn_beta = L->spec.lrn_beta;
        op->lrn_k = L->spec.lrn_k;
        op->lrn_size = L->spec.lrn_size;
    }
    op->order = L->spec.order;
    op->pad_t = L->spec.pad_t; op->pad_l = L->spec.pad_l; op->pad_b = L->spec.pad_b; op->pad_r = L->spec.pad_r;
    op->out_h = L->spec.out_h; op->out_w = L->spec.out_w;
}

static size_t op_count(const ax_layer_op *op)
{
    return (size_t)op->n * op->c * op->h * op->w;
}

static int dims4(int *d, int n, int c, int h, int w)
{
    d[0] = n; d[1] = c; d[2] = h; d[3] = w;
    return 4;
}

static int dims2(int *d, int n, int f)
{
    d[0] = n; d[1] = f; d[2] = d[3] = 1;
    return 2;
}

static int dims_same(const ax_layer_op *op, int *d) { return dims4(d, op->n, op->c, op->h, op->w); }
static int dims_conv(const ax_layer_op *op, int *d) { return dims4(d, op->n, op->win.oc, op->win.oh, op->win.ow); }
static int dims_maxpool(const ax_layer_op *op, int *d) { return dims4(d, op->n, op->c, op->win.oh, op->win.ow); }
static int dims_avgpool(const ax_layer_op *op, int *d) { return dims4(d, op->n, op->c, op->out_h, op->out_w); }
static int dims_flat(const ax_layer_op *op, int *d) { return dims2(d, op->n, op->c * op->h * op->w); }
static int dims_fc(const ax_layer_op *op, int *d) { return dims2(d, op->n, op->out_f); }

static int dims_pad(const ax_layer_op *op, int *d)
{
    return dims4(d, op->n, op->c, op->h + op->pad_t + op->pad_b, op->w + op->pad_l + op->pad_r);
}

static size_t fwd_scratch_conv(const ax_layer_op *op) { return ax_conv2d_scratch(&op->win); }

static void fwd_conv(float *out, const float *in, const ax_layer_op *op, float *scratch)
{
    ax_conv2d(out, in, op->wt, op->bias, scratch, &op->win);
}

static void fwd_relu(float *out, const float *in, const ax_layer_op *op, float *scratch)
{
    ax_relu(out, in, op_count(op));
}

static void fwd_lrn(float *out, const float *in, const ax_layer_op *op, float *scratch)
{
    ax_lrn(out, in, op->lrn_scale, op->lrn_beta, op->lrn_k, op->lrn_size, op->n, op->c, op->h * op->w);
}

static void fwd_maxpool(float *out, const float *in, const ax_layer_op *op, float *scratch)
{
    ax_maxpool(out, in, &op->win);
}

static void fwd_avgpool(float *out, const float *in, const ax_layer_op *op, float *scratch)
{
    ax_avgpool_adaptive(out, in, op->n, op->c, op->h, op->w, op->out_h, op->out_w);
}

static void fwd_pad(float *out, const float *in, const ax_layer_op *op, float *scratch)
{
    ax_pad(out, in, op->n, op->c, op->h, op->w, op->pad_t, op->pad_l, op->pad_b, op->pad_r);
}

static void fwd_flatten(float *out, const float *in, const ax_layer_op *op, float *scratch)
{
    ax_flatten(out, in, op->n, op->c, op->h, op->w, op->order == AX_FLATTEN_HWC);
}

static void fwd_fc(float *out, const float *in, const ax_layer_op *op, float *scratch)
{
    ax_fc(out, in, op->wt, op->bias, op->n, op->c * op->h * op->w, op->out_f);
}

/* Dropout is the identity at inference. */
static void fwd_copy(float *out, const float *in, const ax_layer_op *op, float *scratch)
{
    if (out != in) memcpy(out, in, op_count(op) * sizeof(float));
}

static void fwd_softmax(float *out, const float *in, const ax_layer_op *op, float *scratch)
{
    ax_softmax(out, in, op->n, op->c * op->h * op->w);
}

/* ---- the backward ------------------------------------------------------------ */

static size_t bwd_scratch_conv(const ax_layer *L, int slots, int lrn_slots)
{
    return ax_conv2d_bwd_scratch(&L->win) * (size_t)slots;
}

static size_t bwd_scratch_lrn(const ax_layer *L, int slots, int lrn_slots)
{
    return ax_lrn_bwd_scratch(L->in_c) * (size_t)lrn_slots;
}

static void bwd_conv(const ax_backward_args *a)
{
    ax_conv2d_bwd(a->dx, a->dw, a->db, a->dy, a->x, a->L->weight.data, a->scratch, a->slots, &a->L->win);
}

static void bwd_fc(const ax_backward_args *a)
{
    ax_fc_bwd(a->dx, a->dw, a->db, a->dy, a->x, a->L->weight.data, a->n, a->c * a->h * a->w, a->L->spec.out_c);
}

static void bwd_relu(const ax_backward_args *a)
{
    ax_relu_bwd(a->dx, a->dy, a->x, a->count);
}

static void bwd_lrn(const ax_backward_args *a)
{
    const ax_layer_spec *s = &a->L->spec;
    ax_lrn_bwd(a->dx, a->dy, a->x, a->y, ax_lrn_sum_scale(s), s->lrn_beta, s->lrn_k, s->lrn_size, a->n, a->c,
               a->h * a->w, a->scratch, a->lrn_slots);
}

static void bwd_maxpool(const ax_backward_args *a)
{
    ax_maxpool_bwd(a->dx, a->dy, a->x, a->y, &a->L->win);
}

static void bwd_avgpool(const ax_backward_args *a)
{
    ax_avgpool_adaptive_bwd(a->dx, a->dy, a->n, a->c, a->h, a->w, a->L->spec.out_h, a->L->spec.out_w);
}

static void bwd_pad(const ax_backward_args *a)
{
    const ax_layer_spec *s = &a->L->spec;
    ax_pad_bwd(a->dx, a->dy, a->n, a->c, a->h, a->w, s->pad_t, s->pad_l, s->pad_b, s->pad_r);
}

static void bwd_flatten(const ax_backward_args *a)
{
    ax_flatten_bwd(a->dx, a->dy, a->n, a->c, a->h, a->w, a->L->spec.order == AX_FLATTEN_HWC);
}

static void bwd_dropout(const ax_backward_args *a)
{
    if (a->training) ax_dropout_bwd(a->dx, a->dy, a->L->spec.p, a->seed, a->count);
    else memcpy(a->dx, a->dy, a->count * sizeof(float));
}

static void bwd_softmax(const ax_backward_args *a)
{
    ax_softmax_bwd(a->dx, a->dy, a->y, a->n, a->c * a->h * a->w);
}

/* ---- the table ----------------------------------------------------------------- */

#define MOVES "none: the values are only moved"

/* Unsized, so that a kind added at the end of ax_layer_type without its row
 * here contradicts the header's ax_layer_kinds[AX_L_COUNT] and fails to
 * compile; a row missing elsewhere, or a part missing in a row, fails
 * tests/check_kinds. */
const ax_layer_kind ax_layer_kinds[] = {
    [AX_L_CONV] = {
        .name = "conv", .has_weights = 1, .ops_name = "FLOPs", .ops_what = "2 x multiply-adds, one image",
        .resolve = resolve_window, .rf_step = rf_window, .detail = detail_conv, .arith = arith_conv,
        .op_dims = dims_conv, .forward_scratch = fwd_scratch_conv, .forward = fwd_conv,
        .backward_scratch = bwd_scratch_conv, .backward = bwd_conv,
    },
    [AX_L_RELU] = {
        .name = "relu", .elementwise = 1, .ops_name = "ops", .ops_what = "comparisons with 0, one image",
        .resolve = resolve_pointwise, .rf_step = rf_same, .detail = detail_none, .arith = arith_relu,
        .op_dims = dims_same, .forward = fwd_relu, .backward = bwd_relu,
    },
    [AX_L_LRN] = {
        .name = "lrn", .elementwise = 1, .ops_name = "ops",
        .ops_what = "about 6 per value (square, window sum, pow, divide), one image",
        .resolve = resolve_lrn, .rf_step = rf_same, .detail = detail_lrn, .arith = arith_lrn,
        .op_dims = dims_same, .forward = fwd_lrn,
        .backward_scratch = bwd_scratch_lrn, .backward = bwd_lrn,
    },
    [AX_L_MAXPOOL] = {
        .name = "maxpool", .ops_name = "ops", .ops_what = "comparisons, one per window element, one image",
        .resolve = resolve_window, .rf_step = rf_window, .detail = detail_maxpool, .arith = arith_maxpool,
        .op_dims = dims_maxpool, .forward = fwd_maxpool, .backward = bwd_maxpool,
    },
    [AX_L_AVGPOOL] = {
        .name = "avgpool", .ops_name = "ops", .ops_what = "additions (then one divide per output), one image",
        .resolve = resolve_avgpool, .rf_step = rf_avgpool, .detail = detail_avgpool, .arith = arith_avgpool,
        .op_dims = dims_avgpool, .forward = fwd_avgpool, .backward = bwd_avgpool,
    },
    [AX_L_PAD] = {
        .name = "pad", .ops_name = "ops", .ops_what = MOVES,
        .resolve = resolve_pad, .rf_step = rf_pad, .detail = detail_pad, .arith = arith_pad,
        .op_dims = dims_pad, .forward = fwd_pad, .backward = bwd_pad,
    },
    [AX_L_FLATTEN] = {
        .name = "flatten", .ops_name = "ops", .ops_what = MOVES,
        .resolve = resolve_flatten, .rf_step = rf_global, .detail = detail_flatten, .arith = arith_flatten,
        .op_dims = dims_flat, .forward = fwd_flatten, .backward = bwd_flatten,
    },
    [AX_L_FC] = {
        .name = "fc", .has_weights = 1, .ops_name = "FLOPs", .ops_what = "2 x multiply-adds, one image",
        .resolve = resolve_fc, .rf_step = rf_global, .detail = detail_fc, .arith = arith_fc,
        .op_dims = dims_fc, .forward = fwd_fc, .backward = bwd_fc,
    },
    [AX_L_DROPOUT] = {
        .name = "dropout", .elementwise = 1, .ops_name = "ops",
        .ops_what = "copies (dropout is the identity at inference), one image",
        .resolve = resolve_pointwise, .rf_step = rf_same, .detail = detail_dropout, .arith = arith_dropout,
        .op_dims = dims_same, .forward = fwd_copy, .backward = bwd_dropout,
    },
    [AX_L_SOFTMAX] = {
        .name = "softmax", .ops_name = "ops", .ops_what = "exp + div: max, subtract, exp and divide per value, one image",
        .resolve = resolve_softmax, .rf_step = rf_softmax, .detail = detail_none, .arith = arith_softmax,
        .op_dims = dims_flat, .forward = fwd_softmax, .backward = bwd_softmax,
    },
};

_Static_assert(sizeof ax_layer_kinds / sizeof *ax_layer_kinds == AX_L_COUNT, "one row per layer type");

const ax_layer_kind *ax_layer_kind_of(ax_layer_type t)
{
    return (unsigned)t < AX_L_COUNT ? &ax_layer_kinds[t] : NULL;
}

const char *ax_layer_type_name(ax_layer_type t)
{
    const ax_layer_kind *k = ax_layer_kind_of(t);
    return k && k->name ? k->name : "?";
}

int ax_layer_has_weights(const ax_layer_spec *l)
{
    const ax_layer_kind *k = ax_layer_kind_of(l->type);
    return k && k->has_weights;
}
