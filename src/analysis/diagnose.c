/* Diagnosis of a divergent layer: re-runs that one layer on side B's input
 * with each classic conversion bug undone on side A's weights, parameters or
 * input, and reports which fix brings it within tolerance. Runs each kind's
 * reference forward (alexscope/layer_kind.h) on host buffers; never touches
 * the net's own activations. */
#include "alexscope/compare.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alexscope/layer_kind.h"

/* One way of running a layer: the layer as plain values (other weights,
 * padding or LRN constants than side A's), with a ReLU before or after. */
typedef struct {
    ax_layer_op op;
    int relu_in;              /* ReLU on the input first */
    int relu_out;             /* ReLU on the output after */
} variant;

typedef struct {
    const ax_diag_case *c;
    ax_diag_result *res;
    int max, count;
    const float *x;           /* the layer's input (side B's where given) */
    double atol;
    size_t b_count;
    float *out;               /* scratch output, big enough for any candidate */
    size_t out_cap;
    float *scratch;           /* im2col */
    size_t scratch_cap;
    float *tmp;               /* intermediate of two-layer candidates */
    ax_error *err;
} ctx;

/* The candidate's output dims (d[4]; returns how many are used), from its kind. */
static int out_dims(const variant *v, int *d)
{
    d[0] = d[1] = d[2] = d[3] = 1;
    return ax_layer_kinds[v->op.type].op_dims(&v->op, d);
}

static size_t dims_count(const int *d, int nd)
{
    size_t k = 1;
    for (int i = 0; i < nd && i < 4; i++) k *= (size_t)d[i];
    return k;
}

/* Whether the candidate's output has side B's shape ((N, F) and (N, F, 1, 1) alike). */
static int fits_b(const ctx *x, const variant *v)
{
    int d[4] = {1, 1, 1, 1};
    int nd = out_dims(v, d);
    const ax_diag_case *c = x->c;
    if (dims_count(d, nd) != x->b_count) return 0;
    if (nd == c->b_ndim) {
        for (int i = 0; i < nd; i++)
            if (d[i] != c->b_shape[i]) return 0;
        return 1;
    }
    return nd == 2 || c->b_ndim == 2;
}

static int grow(ctx *x, float **buf, size_t *cap, size_t need)
{
    if (need <= *cap) return 1;
    float *p = realloc(*buf, need * sizeof(float));
    if (!p) {
        ax_fail(x->err, AX_ERR_NOMEM, "diagnosis: out of memory");
        return 0;
    }
    *buf = p;
    *cap = need;
    return 1;
}

/* Runs v on in into out (sized by out_dims). Returns 0 when out of memory. */
static int run_variant(ctx *x, float *out, const float *in, const variant *v)
{
    size_t in_count = (size_t)v->op.n * v->op.c * v->op.h * v->op.w;
    const float *src = in;
    float *relu_buf = NULL;
    if (v->relu_in) {
        relu_buf = malloc(in_count * sizeof(float));
        if (!relu_buf) return ax_fail(x->err, AX_ERR_NOMEM, "diagnosis: out of memory"), 0;
        ax_relu(relu_buf, in, in_count);
        src = relu_buf;
    }
    const ax_layer_kind *k = &ax_layer_kinds[v->op.type];
    if (k->forward_scratch && !grow(x, &x->scratch, &x->scratch_cap, k->forward_scratch(&v->op) + 16)) {
        free(relu_buf);
        return 0;
    }
    k->forward(out, src, &v->op, x->scratch);
    if (v->relu_out) {
        int d[4] = {1, 1, 1, 1};
        int nd = out_dims(v, d);
        ax_relu(out, out, dims_count(d, nd));
    }
    free(relu_buf);
    return 1;
}

static variant base_variant(const ax_net *net, int i)
{
    variant v;
    memset(&v, 0, sizeof v);
    ax_layer_op_of(&v.op, &net->layers[i], ax_net_layer_input(net, i));
    return v;
}

/* Compares out against side B: largest error and elements out of tolerance. */
static void score(const ctx *x, const float *out, double *max_abs, size_t *fail)
{
    ax_diff d;
    ax_diff_tol(&d, out, x->c->b_out, x->b_count, x->atol, x->c->tol.rtol);
    *max_abs = d.max_abs;
    *fail = d.fail;
}

static ax_diag_result *add(ctx *x, const char *fix, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static ax_diag_result *add(ctx *x, const char *fix, const char *fmt, ...)
{
    if (x->count >= x->max) return NULL;
    ax_diag_result *r = &x->res[x->count++];
    memset(r, 0, sizeof *r);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->what, sizeof r->what, fmt, ap);
    va_end(ap);
    snprintf(r->fix, sizeof r->fix, "%s", fix);
    return r;
}

/* The baseline: the unchanged layer on side B's input. */
typedef struct { double max_abs; size_t fail; int fits; } baseline;

/* A recorded candidate against the baseline: its output (x->out) scored,
 * and whether it leaves nothing outside the tolerance. */
static void rate(const ctx *x, const baseline *b0, ax_diag_result *r)
{
    r->before = b0->fits ? b0->max_abs : INFINITY;
    r->fail_before = b0->fits ? b0->fail : x->b_count;
    score(x, x->out, &r->after, &r->fail_after);
    r->explains = r->fail_after == 0;
}

/* Tries one candidate; records it only when its output has B's shape. */
static int try_variant(ctx *x, const baseline *b0, const variant *v, const char *fix, const char *what)
{
    if (!fits_b(x, v)) return 1;
    int d[4] = {1, 1, 1, 1};
    int nd = out_dims(v, d);
    if (!grow(x, &x->out, &x->out_cap, dims_count(d, nd))) return 0;
    if (!run_variant(x, x->out, x->x, v)) return 0;
    ax_diag_result *r = add(x, fix, "%s", what);
    if (r) rate(x, b0, r);
    return 1;
}

/* ---- candidates by layer type -------------------------------------------- */

static int conv_candidates(ctx *x, const baseline *b0, const variant *v0, const ax_layer *L, int first_conv)
{
    int O = L->weight.shape[0], I = L->weight.shape[1], KH = L->weight.shape[2], KW = L->weight.shape[3];
    size_t n = ax_tensor_numel(&L->weight);
    const float *raw = L->weight.data;
    const char *name = L->spec.name;
    float *w = malloc(n * sizeof(float)), *bias = NULL;
    if (!w) return ax_fail(x->err, AX_ERR_NOMEM, "diagnosis: out of memory"), 0;
    char what[256], fix[256];
    variant v = *v0;
    v.op.wt = w;
    int ok = 1;

    /* Stored (KH, KW, I, O), read as (O, I, KH, KW). */
    for (int o = 0; o < O; o++)
        for (int i = 0; i < I; i++)
            for (int y = 0; y < KH; y++)
                for (int xx = 0; xx < KW; xx++)
                    w[(((size_t)o * I + i) * KH + y) * KW + xx] = raw[(((size_t)y * KW + xx) * I + i) * O + o];
    snprintf(what, sizeof what, "%s: the kernels are stored (KH, KW, I, O) (TensorFlow HWIO) but read as (O, I, KH, KW)", name);
    snprintf(fix, sizeof fix, "transpose the weight to O,I,KH,KW (numpy: w.transpose(3, 2, 0, 1)); `alexscope convert` does it");
    ok = ok && try_variant(x, b0, &v, fix, what);

    /* O and I swapped: stored (I, O, KH, KW). */
    for (int o = 0; o < O && ok; o++)
        for (int i = 0; i < I; i++)
            memcpy(w + (((size_t)o * I + i) * KH) * KW, raw + (((size_t)i * O + o) * KH) * KW, (size_t)KH * KW * sizeof(float));
    snprintf(what, sizeof what, "%s: the kernels' O and I axes are swapped (stored (I, O, KH, KW))", name);
    snprintf(fix, sizeof fix, "swap the first two axes of the weight (numpy: w.transpose(1, 0, 2, 3))");
    ok = ok && try_variant(x, b0, &v, fix, what);

    /* Spatially flipped (convolution vs cross-correlation). */
    for (size_t k = 0; k < (size_t)O * I && ok; k++)
        for (int y = 0; y < KH; y++)
            for (int xx = 0; xx < KW; xx++)
                w[(k * KH + y) * KW + xx] = raw[(k * KH + (KH - 1 - y)) * KW + (KW - 1 - xx)];
    snprintf(what, sizeof what, "%s: the kernels are spatially flipped (true convolution vs cross-correlation, "
             "as in Theano-era weights)", name);
    snprintf(fix, sizeof fix, "flip both kernel axes (numpy: w[:, :, ::-1, ::-1])");
    ok = ok && try_variant(x, b0, &v, fix, what);

    /* BGR vs RGB: the first convolution's three input channels reversed. */
    if (ok && first_conv && I == 3 && L->win.groups == 1) {
        for (int o = 0; o < O; o++)
            for (int i = 0; i < 3; i++)
                memcpy(w + (((size_t)o * 3 + i) * KH) * KW, raw + (((size_t)o * 3 + (2 - i)) * KH) * KW,
                       (size_t)KH * KW * sizeof(float));
        snprintf(what, sizeof what, "%s: the input channels are in the other order (BGR vs RGB)", name);
        snprintf(fix, sizeof fix, "reverse the weight's input-channel axis (numpy: w[:, ::-1]) or the image's "
                 "channel order (order= in the spec's preprocess line)");
        ok = try_variant(x, b0, &v, fix, what);
    }

    /* The two groups' halves swapped. */
    if (ok && L->win.groups == 2 && O % 2 == 0) {
        size_t half = n / 2;
        memcpy(w, raw + half, half * sizeof(float));
        memcpy(w + half, raw, half * sizeof(float));
        if (v0->op.bias) {
            bias = malloc((size_t)O * sizeof(float));
            if (!bias) { free(w); return ax_fail(x->err, AX_ERR_NOMEM, "diagnosis: out of memory"), 0; }
            memcpy(bias, v0->op.bias + O / 2, (size_t)(O / 2) * sizeof(float));
            memcpy(bias + O / 2, v0->op.bias, (size_t)(O / 2) * sizeof(float));
            v.op.bias = bias;
        }
        snprintf(what, sizeof what, "%s: the two groups' halves are swapped (filters 0..%d belong to the second "
                 "group)", name, O / 2 - 1);
        snprintf(fix, sizeof fix, "swap the first and second halves of the filters and biases (numpy: "
                 "np.concatenate([w[%d:], w[:%d]]))", O / 2, O / 2);
        ok = try_variant(x, b0, &v, fix, what);
    }
    free(w);
    free(bias);
    return ok;
}

/* SAME vs explicit padding, and for pools ceil vs floor, as geometry changes. */
static int window_candidates(ctx *x, const baseline *b0, const variant *v0, const ax_layer *L)
{
    const ax_layer_spec *s = &L->spec;
    const char *name = s->name;
    char what[256], fix[256];
    variant v = *v0;
    int ok = 1;
    int oh, ow, pt, pl, pb, pr;
    ax_same_padding(v0->op.h, s->kh, s->sh, &oh, &pt, &pb);
    ax_same_padding(v0->op.w, s->kw, s->sw, &ow, &pl, &pr);
    if (s->pad_mode == AX_PAD_EXPLICIT) {
        if (pt != v0->op.win.pad_t || pl != v0->op.win.pad_l) {
            v.op.win.pad_t = pt; v.op.win.pad_l = pl; v.op.win.oh = oh; v.op.win.ow = ow;
            snprintf(what, sizeof what, "%s: side A pads %d,%d (top, left) explicitly; side B pads TF 'SAME' "
                     "(%d top, %d bottom, %d left, %d right: more on the bottom/right)", name, s->pad_t, s->pad_l,
                     pt, pb, pl, pr);
            snprintf(fix, sizeof fix, "write pad=same for %s in side A's spec (or pad=%d,%d,%d,%d)", name, pt, pl, pb, pr);
            ok = try_variant(x, b0, &v, fix, what);
        }
    } else {
        /* SAME on side A: side B may pad the same total evenly, or the larger half on top. */
        int alts[2] = { pb, pt };
        for (int k = 0; k < 2 && ok; k++) {
            int p = alts[k];
            if (p == pt && pl == p) continue;
            v = *v0;
            v.op.win.pad_t = p; v.op.win.pad_l = p;
            v.op.win.oh = ax_window_out(v0->op.h, s->kh, s->sh, p, p, 0);
            v.op.win.ow = ax_window_out(v0->op.w, s->kw, s->sw, p, p, 0);
            if (v.op.win.oh < 1 || v.op.win.ow < 1) continue;
            snprintf(what, sizeof what, "%s: side A pads TF 'SAME' (%d top, %d bottom); side B pads %d on every "
                     "side (explicit padding)", name, pt, pb, p);
            snprintf(fix, sizeof fix, "write pad=%d for %s in side A's spec", p, name);
            ok = try_variant(x, b0, &v, fix, what);
        }
    }
    if (ok && s->type == AX_L_MAXPOOL && s->pad_mode == AX_PAD_EXPLICIT) {
        int ceil_mode = s->rounding != AX_ROUND_CEIL;
        v = *v0;
        v.op.win.oh = ax_window_out(v0->op.h, s->kh, s->sh, s->pad_t, s->pad_b, ceil_mode);
        v.op.win.ow = ax_window_out(v0->op.w, s->kw, s->sw, s->pad_l, s->pad_r, ceil_mode);
        if (v.op.win.oh != v0->op.win.oh || v.op.win.ow != v0->op.win.ow) {
            snprintf(what, sizeof what, "%s: side A rounds the pooled size %s (%dx%d), side B %s (%dx%d): %s", name,
                     ceil_mode ? "down" : "up", v0->op.win.oh, v0->op.win.ow, ceil_mode ? "up" : "down", v.op.win.oh,
                     v.op.win.ow, ceil_mode ? "floor vs ceil (TF 'VALID' vs Caffe)" : "ceil vs floor (Caffe vs TF 'VALID')");
            snprintf(fix, sizeof fix, "write round=%s for %s in side A's spec", ceil_mode ? "ceil" : "floor", name);
            ok = try_variant(x, b0, &v, fix, what);
        }
    }
    return ok;
}

static int lrn_candidates(ctx *x, const baseline *b0, const variant *v0, const ax_layer *L)
{
    const char *name = L->spec.name;
    char what[256], fix[256];
    variant v = *v0;
    int size = v0->op.lrn_size, ok = 1;
    v.op.lrn_scale = v0->op.lrn_scale * size;
    snprintf(what, sizeof what, "%s: LRN alpha vs alpha/n: side A divides alpha by the window n=%d (Caffe/PyTorch), "
             "side B does not (TF/Darknet)", name, size);
    snprintf(fix, sizeof fix, "on side A multiply alpha by %d, or write convention=tf (alpha taken as it is)", size);
    ok = try_variant(x, b0, &v, fix, what);
    v.op.lrn_scale = v0->op.lrn_scale / size;
    snprintf(what, sizeof what, "%s: LRN alpha vs alpha/n: side A uses alpha as it is (TF/Darknet), side B divides "
             "it by the window n=%d (Caffe/PyTorch)", name, size);
    snprintf(fix, sizeof fix, "on side A divide alpha by %d, or write convention=caffe", size);
    ok = ok && try_variant(x, b0, &v, fix, what);
    for (int s2 = 3; s2 <= 11 && ok; s2 += 2) {
        if (s2 == size) continue;
        for (int keep = 0; keep < 2 && ok; keep++) {
            v = *v0;
            v.op.lrn_size = s2;
            v.op.lrn_scale = keep ? v0->op.lrn_scale : v0->op.lrn_scale * size / s2;
            snprintf(what, sizeof what, "%s: wrong LRN window: side A sums %d channels, side B %d (%s)", name, size,
                     s2, keep ? "same factor on the sum" : "alpha/n with the new n");
            snprintf(fix, sizeof fix, "on side A write size=%d (TF: depth_radius=%d)%s", s2, s2 / 2,
                     keep ? " keeping the factor on the sum" : "");
            ok = try_variant(x, b0, &v, fix, what);
        }
    }
    return ok;
}

/* LRN and max pool run in the other order: compare A's pair swapped. */
static int order_candidate(ctx *x, const baseline *b0, const ax_net *net, int i)
{
    if (i + 1 >= net->nlayers) return 1;
    ax_layer_type t0 = net->layers[i].spec.type, t1 = net->layers[i + 1].spec.type;
    if (!((t0 == AX_L_LRN && t1 == AX_L_MAXPOOL) || (t0 == AX_L_MAXPOOL && t1 == AX_L_LRN))) return 1;
    variant first = base_variant(net, i + 1), second = base_variant(net, i);
    /* The second layer of the pair now sees the first's output. */
    first.op.n = second.op.n; first.op.c = second.op.c; first.op.h = second.op.h; first.op.w = second.op.w;
    int d[4] = {1, 1, 1, 1};
    out_dims(&first, d);
    if (t1 == AX_L_MAXPOOL) {
        first.op.win.n = first.op.n; first.op.win.c = first.op.c; first.op.win.h = first.op.h; first.op.win.w = first.op.w;
    }
    second.op.n = d[0]; second.op.c = d[1]; second.op.h = d[2]; second.op.w = d[3];
    if (t0 == AX_L_MAXPOOL) {
        const ax_layer_spec *s = &net->layers[i].spec;
        second.op.win.n = d[0]; second.op.win.c = d[1]; second.op.win.h = d[2]; second.op.win.w = d[3];
        second.op.win.oh = ax_window_out(d[2], s->kh, s->sh, second.op.win.pad_t, net->layers[i].pad_b, s->rounding == AX_ROUND_CEIL);
        second.op.win.ow = ax_window_out(d[3], s->kw, s->sw, second.op.win.pad_l, net->layers[i].pad_r, s->rounding == AX_ROUND_CEIL);
    }
    if (!fits_b(x, &second)) return 1;
    size_t mid = dims_count(d, 4);
    float *tmp = malloc(mid * sizeof(float));
    if (!tmp) return ax_fail(x->err, AX_ERR_NOMEM, "diagnosis: out of memory"), 0;
    int od[4] = {1, 1, 1, 1};
    int ond = out_dims(&second, od);
    int ok = grow(x, &x->out, &x->out_cap, dims_count(od, ond)) && run_variant(x, tmp, x->x, &first) &&
             run_variant(x, x->out, tmp, &second);
    free(tmp);
    if (!ok) return 0;
    const char *a = net->layers[i].spec.name, *b = net->layers[i + 1].spec.name;
    char fix[256];
    snprintf(fix, sizeof fix, "swap the lines of %s and %s in side A's spec", a, b);
    ax_diag_result *r = add(x, fix, "%s, %s: LRN and pool in the other order: side A runs %s first, side B %s "
                            "(AlexNet normalises before pooling, CaffeNet after)", a, b,
                            t0 == AX_L_LRN ? "the LRN" : "the pool", t0 == AX_L_LRN ? "the pool" : "the LRN");
    if (r) rate(x, b0, r);
    return 1;
}

/* The spatial (C, H, W) that an FC layer's input was flattened from, or 0. */
static int fc_source(const ax_net *net, int i, int *c, int *h, int *w)
{
    const ax_layer *L = &net->layers[i];
    if (L->in_h * L->in_w > 1) {
        *c = L->in_c; *h = L->in_h; *w = L->in_w;
        return 1;
    }
    for (int j = i - 1; j >= 0; j--) {
        const ax_layer *P = &net->layers[j];
        if (P->spec.type == AX_L_FLATTEN) {
            if (P->in_h * P->in_w <= 1) return 0;
            *c = P->in_c; *h = P->in_h; *w = P->in_w;
            return 1;
        }
        if (P->spec.type != AX_L_DROPOUT && P->spec.type != AX_L_RELU) return 0;
    }
    return 0;
}

static int fc_candidates(ctx *x, const baseline *b0, const variant *v0, const ax_net *net, int li)
{
    const ax_layer *L = &net->layers[li];
    int O = L->weight.shape[0], IN = L->weight.shape[1];
    const float *raw = L->weight.data;
    const char *name = L->spec.name;
    char what[256], fix[256];
    size_t n = (size_t)O * IN;
    float *w = malloc(n * sizeof(float));
    if (!w) return ax_fail(x->err, AX_ERR_NOMEM, "diagnosis: out of memory"), 0;
    variant v = *v0;
    v.op.wt = w;
    int ok = 1;

    /* Stored (in, out) as TF and Keras keep dense kernels. */
    for (int o = 0; o < O; o++)
        for (int i = 0; i < IN; i++) w[(size_t)o * IN + i] = raw[(size_t)i * O + o];
    snprintf(what, sizeof what, "%s: the weight is transposed (stored (in, out) as TensorFlow/Keras keep it)", name);
    snprintf(fix, sizeof fix, "transpose it to (out, in) (numpy: w.T); `alexscope convert` does it");
    ok = try_variant(x, b0, &v, fix, what);

    int C, H, W;
    if (ok && fc_source(net, li, &C, &H, &W) && C * H * W == IN) {
        /* Columns in H,W,C order where side A flattens C,H,W (or the reverse). */
        for (int dir = 0; dir < 2 && ok; dir++) {
            for (int o = 0; o < O; o++)
                for (int ch = 0; ch < C; ch++)
                    for (int y = 0; y < H; y++)
                        for (int xx = 0; xx < W; xx++) {
                            size_t chw = ((size_t)ch * H + y) * W + xx, hwc = ((size_t)y * W + xx) * C + ch;
                            if (dir == 0) w[(size_t)o * IN + chw] = raw[(size_t)o * IN + hwc];
                            else w[(size_t)o * IN + hwc] = raw[(size_t)o * IN + chw];
                        }
            if (dir == 0) {
                snprintf(what, sizeof what, "%s: the rows are in H,W,C order; convert with `alexscope convert` or "
                         "transpose to C,H,W", name);
                snprintf(fix, sizeof fix, "permute the %d inputs from H,W,C (%dx%dx%d) to C,H,W (numpy: "
                         "w.reshape(%d, %d, %d, %d).transpose(0, 3, 1, 2).reshape(%d, %d))", IN, H, W, C, O, H, W, C, O, IN);
            } else {
                snprintf(what, sizeof what, "%s: the rows are in C,H,W order but side A flattens H,W,C; transpose "
                         "them to H,W,C", name);
                snprintf(fix, sizeof fix, "permute the %d inputs from C,H,W to H,W,C, or flatten order=chw on side A", IN);
            }
            ok = try_variant(x, b0, &v, fix, what);
        }
        /* Both: TensorFlow's (in, out) with H,W,C rows, untouched. */
        for (int o = 0; o < O && ok; o++)
            for (int ch = 0; ch < C; ch++)
                for (int y = 0; y < H; y++)
                    for (int xx = 0; xx < W; xx++)
                        w[(size_t)o * IN + ((size_t)ch * H + y) * W + xx] = raw[(((size_t)y * W + xx) * C + ch) * O + o];
        snprintf(what, sizeof what, "%s: the weight is TensorFlow's (in, out) with rows in H,W,C order", name);
        snprintf(fix, sizeof fix, "transpose to (out, in) and permute the inputs to C,H,W; `alexscope convert` does both");
        ok = ok && try_variant(x, b0, &v, fix, what);
    }
    if (ok && !v0->relu_out) {
        v = *v0;
        v.relu_out = 1;
        snprintf(what, sizeof what, "%s: side B's output went through a ReLU (a ReLU on %s) that side A does not apply",
                 name, name);
        snprintf(fix, sizeof fix, "remove the ReLU after %s on side B (logits are not rectified), or compare "
                 "against the layer before it", name);
        ok = try_variant(x, b0, &v, fix, what);
    }
    free(w);
    return ok;
}

static int softmax_candidates(ctx *x, const baseline *b0, const variant *v0, const ax_net *net, int li)
{
    variant v = *v0;
    v.relu_in = 1;
    const char *prev = li > 0 ? net->layers[li - 1].spec.name : "the input";
    char what[400], fix[256];
    snprintf(what, sizeof what, "%s: side B rectifies %s before the softmax (a ReLU on %s) and side A does not",
             net->layers[li].spec.name, prev, prev);
    snprintf(fix, sizeof fix, "remove the ReLU after %s on side B", prev);
    return try_variant(x, b0, &v, fix, what);
}

/* ---- which bugs each kind can have ------------------------------------------- */

typedef int candidates(ctx *x, const baseline *b0, const variant *v0, const ax_net *net, int li);

static int conv_kind(ctx *x, const baseline *b0, const variant *v0, const ax_net *net, int li)
{
    int first_conv = 1;
    for (int j = 0; j < li; j++)
        if (net->layers[j].spec.type == AX_L_CONV) first_conv = 0;
    const ax_layer *L = &net->layers[li];
    return conv_candidates(x, b0, v0, L, first_conv) && window_candidates(x, b0, v0, L);
}

static int maxpool_kind(ctx *x, const baseline *b0, const variant *v0, const ax_net *net, int li)
{
    return window_candidates(x, b0, v0, &net->layers[li]) && order_candidate(x, b0, net, li);
}

static int lrn_kind(ctx *x, const baseline *b0, const variant *v0, const ax_net *net, int li)
{
    return lrn_candidates(x, b0, v0, &net->layers[li]) && order_candidate(x, b0, net, li);
}

/* Kinds without a row have no known conversion bug of their own. */
static candidates *const kind_candidates[AX_L_COUNT] = {
    [AX_L_CONV] = conv_kind,
    [AX_L_MAXPOOL] = maxpool_kind,
    [AX_L_LRN] = lrn_kind,
    [AX_L_FC] = fc_candidates,
    [AX_L_SOFTMAX] = softmax_candidates,
};

/* ---- the input ------------------------------------------------------------ */

/* Fits b = g * a + o per channel (a's channels optionally reversed). */
static void input_candidates(ctx *x, const ax_net *net)
{
    const ax_diag_case *c = x->c;
    const ax_tensor *in = &net->input;
    int n = in->shape[0], C = in->shape[1], hw = in->shape[2] * in->shape[3];
    if (c->b_ndim != 4 || c->b_shape[0] != n || c->b_shape[1] != C || c->b_shape[2] != in->shape[2] ||
        c->b_shape[3] != in->shape[3]) {
        char fix[256];
        snprintf(fix, sizeof fix, "use the input size side B expects (crop= in side A's preprocess line)");
        ax_diag_result *r = add(x, fix, "input: side A feeds (%d, %d, %d, %d), side B (%d, %d, %d, %d): the input "
                                "size differs (e.g. 227 vs 224)", n, C, in->shape[2], in->shape[3], c->b_shape[0],
                                c->b_shape[1], c->b_shape[2], c->b_shape[3]);
        if (r) { r->before = r->after = INFINITY; r->explains = 1; }
        return;
    }
    const float *a = in->data, *b = c->b_out;
    for (int rev = 0; rev < 2; rev++) {
        if (rev && C < 2) break;
        double g[16], o[16];
        if (C > 16) return;
        for (int ch = 0; ch < C; ch++) {
            int sc = rev ? C - 1 - ch : ch;
            double sa = 0, sb = 0, saa = 0, sab = 0, cnt = 0;
            for (int img = 0; img < n; img++) {
                const float *pa = a + ((size_t)img * C + sc) * hw, *pb = b + ((size_t)img * C + ch) * hw;
                for (int i = 0; i < hw; i++) {
                    sa += pa[i]; sb += pb[i]; saa += (double)pa[i] * pa[i]; sab += (double)pa[i] * pb[i]; cnt++;
                }
            }
            double var = saa - sa * sa / cnt;
            g[ch] = var > 0 ? (sab - sa * sb / cnt) / var : 1.0;
            o[ch] = (sb - g[ch] * sa) / cnt;
        }
        size_t total = (size_t)n * C * hw;
        if (!grow(x, &x->out, &x->out_cap, total)) return;
        for (int img = 0; img < n; img++)
            for (int ch = 0; ch < C; ch++) {
                int sc = rev ? C - 1 - ch : ch;
                const float *pa = a + ((size_t)img * C + sc) * hw;
                float *po = x->out + ((size_t)img * C + ch) * hw;
                for (int i = 0; i < hw; i++) po[i] = (float)(g[ch] * pa[i] + o[ch]);
            }
        double after;
        size_t fail;
        score(x, x->out, &after, &fail);
        int unit = 1, same_gain = 1;
        for (int ch = 0; ch < C; ch++) {
            if (fabs(g[ch] - 1.0) > 1e-3 || fabs(o[ch]) > 1e-3 * (1 + fabs(o[ch]))) unit = 0;
            if (fabs(g[ch] / g[0] - 1.0) > 1e-3) same_gain = 0;
        }
        if (!rev && unit) continue;   /* the identity: nothing to say */
        char what[256], fix[256], terms[160] = "";
        for (int ch = 0; ch < C && ch < 4; ch++)
            snprintf(terms + strlen(terms), sizeof terms - strlen(terms), "%s%.4g*a%s%+.4g", ch ? ", " : "",
                     g[ch], "", o[ch]);
        if (rev && unit)
            snprintf(what, sizeof what, "input: the channels are in the other order (BGR vs RGB)");
        else if (same_gain && fabs(g[0] - 255.0) < 0.5)
            snprintf(what, sizeof what, "input: the pixel scale differs (side A 0..1, side B 0..255)%s; per channel B = %s",
                     rev ? " and the channel order (BGR vs RGB)" : "", terms);
        else if (same_gain && fabs(g[0] * 255.0 - 1.0) < 2e-3)
            snprintf(what, sizeof what, "input: the pixel scale differs (side A 0..255, side B 0..1)%s; per channel B = %s",
                     rev ? " and the channel order (BGR vs RGB)" : "", terms);
        else if (same_gain && fabs(g[0] - 1.0) < 1e-3)
            snprintf(what, sizeof what, "input: the mean differs%s: side B = side A %+.4g, %+.4g, %+.4g per channel",
                     rev ? " and the channel order (BGR vs RGB)" : "", o[0], C > 1 ? o[1] : 0, C > 2 ? o[2] : 0);
        else
            snprintf(what, sizeof what, "input: the mean/std differ%s; per channel B = %s",
                     rev ? " and the channel order (BGR vs RGB)" : "", terms);
        snprintf(fix, sizeof fix, "make side A's preprocess line (order=, scale=, mean=, std=) match the way side B's input was made");
        ax_diag_result *r = add(x, fix, "%s", what);
        if (!r) return;
        score(x, a, &r->before, &r->fail_before);
        r->after = after;
        r->fail_after = fail;
        r->explains = fail == 0;
    }
}

static int cmp_result(const void *p, const void *q)
{
    const ax_diag_result *a = p, *b = q;
    if (a->explains != b->explains) return b->explains - a->explains;
    return a->after < b->after ? -1 : a->after > b->after;
}

int ax_diagnose(ax_diag_result *res, int max, const ax_diag_case *c, ax_error *err)
{
    const ax_net *net = c->net;
    /* Side A's input of the layer when side B's is not given (read through
     * ax_net_output: a device backend copies it here). */
    const ax_tensor *bt_in = c->layer >= 0 && !c->b_in ? ax_net_output(net, c->layer - 1) : NULL;
    if (c->layer >= 0 && !c->b_in && !bt_in) {
        ax_fail(err, AX_ERR_ARG, "layer %s: its input (%s) is not computed", net->layers[c->layer].spec.name,
                net->layers[c->layer - 1].spec.name);
        return -1;
    }
    ctx x = { .c = c, .res = res, .max = max, .err = err };
    x.b_count = 1;
    for (int i = 0; i < c->b_ndim; i++) x.b_count *= (size_t)c->b_shape[i];
    x.atol = ax_tolerance_atol(&c->tol, c->b_out, x.b_count);
    int ok = 1;
    if (c->layer < 0) {
        input_candidates(&x, net);
        ok = err->code == AX_OK;
        goto done;
    }
    x.x = c->b_in ? c->b_in : bt_in->data;
    const ax_layer *L = &net->layers[c->layer];
    variant v0 = base_variant(net, c->layer);
    v0.relu_out = c->fused_relu;
    baseline b0 = { INFINITY, x.b_count, fits_b(&x, &v0) };
    if (b0.fits) {
        int d[4] = {1, 1, 1, 1};
        int nd = out_dims(&v0, d);
        ok = grow(&x, &x.out, &x.out_cap, dims_count(d, nd)) && run_variant(&x, x.out, x.x, &v0);
        if (!ok) goto done;
        score(&x, x.out, &b0.max_abs, &b0.fail);
        if (b0.fail == 0 && c->b_in) {
            /* The layer itself agrees: what differs comes before it. */
            char what[256];
            if (c->a_only)
                snprintf(what, sizeof what, "%s: re-run on side B's input it agrees; the difference comes from %s, "
                         "which only side A has%s", L->spec.name, c->a_only,
                         strstr(c->a_only, "relu") && c->layer >= 2 && net->layers[c->layer - 2].spec.type == AX_L_FC
                             ? " (a ReLU on the last FC layer)" : "");
            else if (c->b_only)
                snprintf(what, sizeof what, "%s: re-run on side B's input it agrees; the difference comes from %s, "
                         "which only side B has", L->spec.name, c->b_only);
            else
                snprintf(what, sizeof what, "%s: re-run on side B's input it agrees; the difference comes from an "
                         "earlier layer", L->spec.name);
            ax_diag_result *r = add(&x, c->a_only ? "remove it from side A's spec" : c->b_only ?
                                    "add it to side A's spec, or remove it from side B" : "", "%s", what);
            if (r) { r->before = b0.max_abs; r->after = b0.max_abs; r->fail_before = r->fail_after = 0; r->explains = 1; }
            goto done;
        }
    }
    candidates *try_kind = (unsigned)L->spec.type < AX_L_COUNT ? kind_candidates[L->spec.type] : NULL;
    if (try_kind) ok = try_kind(&x, &b0, &v0, net, c->layer);
done:
    free(x.out);
    free(x.scratch);
    free(x.tmp);
    if (!ok) return -1;
    qsort(res, (size_t)x.count, sizeof *res, cmp_result);
    return x.count;
}
