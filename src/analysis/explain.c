/* Explains one value of a layer's output: the arithmetic that made it,
 * recomputed in double from the layer's input and parameters, as text lines
 * and a total to set beside the engine's float. Reads the net; changes nothing. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alexscope/teach.h"

static void line(ax_explain *ex, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void line(ax_explain *ex, const char *fmt, ...)
{
    if (ex->nlines >= AX_EXPLAIN_LINES) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ex->lines[ex->nlines++], sizeof ex->lines[0], fmt, ap);
    va_end(ap);
}

/* The k largest |v| of n (index order for ties); returns how many. */
typedef struct { int index; double v, w, a; } contrib;

static int cmp_contrib(const void *pa, const void *pb)
{
    const contrib *a = pa, *b = pb;
    double fa = fabs(a->v), fb = fabs(b->v);
    if (fa != fb) return fa < fb ? 1 : -1;
    return a->index - b->index;
}

/* Keeps the AX_EXPLAIN_TOP largest in top[] (sorted) as they stream in. */
static void keep_top(contrib *top, int *count, contrib c)
{
    int n = *count;
    if (n == AX_EXPLAIN_TOP && fabs(c.v) <= fabs(top[n - 1].v)) return;
    if (n < AX_EXPLAIN_TOP) n++;
    int i = n - 1;
    while (i > 0 && cmp_contrib(&c, &top[i - 1]) < 0) { top[i] = top[i - 1]; i--; }
    top[i] = c;
    *count = n;
}

static float at(const ax_tensor *t, int n, int c, int y, int x)
{
    int N, C, H, W;
    ax_tensor_nchw(t, &N, &C, &H, &W);
    return t->data[(((size_t)n * C + c) * H + y) * W + x];
}

static void explain_conv(ax_explain *ex, const ax_layer *L, const ax_tensor *in)
{
    const ax_window *g = &L->win;
    int cpg = g->c / g->groups, opg = g->oc / g->groups, grp = ex->c / opg;
    ex->c0 = grp * cpg; ex->c1 = ex->c0 + cpg - 1;
    ex->y0 = ex->y * g->sh - g->pad_t; ex->y1 = ex->y0 + g->kh - 1;
    ex->x0 = ex->x * g->sw - g->pad_l; ex->x1 = ex->x0 + g->kw - 1;
    int pad_cells = 0;
    for (int ky = 0; ky < g->kh; ky++)
        for (int kx = 0; kx < g->kw; kx++) {
            int iy = ex->y0 + ky, ix = ex->x0 + kx;
            pad_cells += iy < 0 || iy >= g->h || ix < 0 || ix >= g->w;
        }
    line(ex, "conv %dx%d stride %d: filter %d of %d%s", g->kh, g->kw, g->sh, ex->c, g->oc,
         g->groups > 1 ? " (grouped)" : "");
    if (g->groups > 1)
        line(ex, "group %d of %d: reads only input channels %d..%d", grp, g->groups, ex->c0, ex->c1);
    else
        line(ex, "reads input channels %d..%d", ex->c0, ex->c1);
    line(ex, "window rows %d..%d, cols %d..%d of %dx%d%s", ex->y0, ex->y1, ex->x0, ex->x1, g->h, g->w,
         pad_cells ? "" : " (no padding)");
    if (pad_cells) line(ex, "  %d of %d cells per channel are padding (0)", pad_cells, g->kh * g->kw);
    contrib top[AX_EXPLAIN_TOP];
    int ntop = 0;
    double sum = 0;
    for (int ci = 0; ci < cpg; ci++) {
        const float *wk = L->weight.data + (((size_t)ex->c * cpg + ci) * g->kh) * g->kw;
        double part = 0;
        for (int ky = 0; ky < g->kh; ky++) {
            int iy = ex->y0 + ky;
            if (iy < 0 || iy >= g->h) continue;
            for (int kx = 0; kx < g->kw; kx++) {
                int ix = ex->x0 + kx;
                if (ix < 0 || ix >= g->w) continue;
                double t = (double)wk[ky * g->kw + kx] * at(in, ex->n, ex->c0 + ci, iy, ix);
                part += t;
                ex->scale += fabs(t);
            }
        }
        sum += part;
        keep_top(top, &ntop, (contrib){ex->c0 + ci, part, 0, 0});
    }
    line(ex, "largest input-channel partial sums (of %d):", cpg);
    for (int i = 0; i < ntop; i++) line(ex, "  in ch %4d  %+.6g", top[i].index, top[i].v);
    double b = L->bias.data ? L->bias.data[ex->c] : 0;
    ex->scale += fabs(b);
    line(ex, "sum over %d channels  %+.8g", cpg, sum);
    line(ex, "bias                  %+.8g", b);
    ex->total = sum + b;
}

static void explain_lrn(ax_explain *ex, const ax_layer *L, const ax_tensor *in)
{
    const ax_layer_spec *s = &L->spec;
    int half = s->lrn_size / 2;
    ex->c0 = ex->c - half < 0 ? 0 : ex->c - half;
    ex->c1 = ex->c + half >= L->in_c ? L->in_c - 1 : ex->c + half;
    ex->y0 = ex->y1 = ex->y; ex->x0 = ex->x1 = ex->x;
    double scale = ax_lrn_sum_scale(s), k = s->lrn_k, beta = s->lrn_beta, sq = 0;
    if (s->lrn_convention == AX_LRN_CAFFE)
        line(ex, "LRN (%s): b = a / (k + alpha/n * sum a^2)^beta, n=%d alpha=%g beta=%g k=%g",
             ax_lrn_convention_name(s->lrn_convention), s->lrn_size, s->lrn_alpha, s->lrn_beta, s->lrn_k);
    else
        line(ex, "LRN (%s): b = a / (bias + alpha * sum a^2)^beta, window %d alpha=%g beta=%g bias=%g",
             ax_lrn_convention_name(s->lrn_convention), s->lrn_size, s->lrn_alpha, s->lrn_beta, s->lrn_k);
    line(ex, "window channels %d..%d (clipped at the edges)", ex->c0, ex->c1);
    for (int c = ex->c0; c <= ex->c1; c++) {
        double a = at(in, ex->n, c, ex->y, ex->x);
        sq += a * a;
        line(ex, "  a[%4d] = %+.6g   a^2 = %.6g%s", c, a, a * a, c == ex->c ? "   <- this channel" : "");
    }
    double a = at(in, ex->n, ex->c, ex->y, ex->x);
    double denom = pow(k + scale * sq, beta);
    line(ex, "sum a^2 = %.8g", sq);
    line(ex, "denominator (%g + %g * %.6g)^%g = %.8g", k, scale, sq, beta, denom);
    line(ex, "b = %.8g / %.8g", a, denom);
    ex->total = a / denom;
}

static void explain_maxpool(ax_explain *ex, const ax_layer *L, const ax_tensor *in)
{
    const ax_window *g = &L->win;
    ex->c0 = ex->c1 = ex->c;
    ex->y0 = ex->y * g->sh - g->pad_t; ex->y1 = ex->y0 + g->kh - 1;
    ex->x0 = ex->x * g->sw - g->pad_l; ex->x1 = ex->x0 + g->kw - 1;
    double best = -INFINITY;
    int by = -1, bx = -1;
    for (int iy = ex->y0; iy <= ex->y1; iy++)
        for (int ix = ex->x0; ix <= ex->x1; ix++) {
            if (iy < 0 || iy >= g->h || ix < 0 || ix >= g->w) continue;
            double v = at(in, ex->n, ex->c, iy, ix);
            if (v > best) { best = v; by = iy; bx = ix; }
        }
    line(ex, "max pool %dx%d stride %d, channel %d, rows %d..%d, cols %d..%d", g->kh, g->kw, g->sh, ex->c,
         ex->y0, ex->y1, ex->x0, ex->x1);
    for (int iy = ex->y0; iy <= ex->y1 && ex->nlines < AX_EXPLAIN_LINES - 2; iy++) {
        char row[120];
        size_t len = 0;
        row[0] = 0;
        for (int ix = ex->x0; ix <= ex->x1 && len + 14 < sizeof row; ix++) {
            int pad = iy < 0 || iy >= g->h || ix < 0 || ix >= g->w;
            if (pad) len += (size_t)snprintf(row + len, sizeof row - len, "   (pad)  ");
            else len += (size_t)snprintf(row + len, sizeof row - len, "%c%+9.4g%c", iy == by && ix == bx ? '[' : ' ',
                                         (double)at(in, ex->n, ex->c, iy, ix), iy == by && ix == bx ? ']' : ' ');
        }
        line(ex, " %s", row);
    }
    line(ex, "maximum [%+.8g] at row %d, col %d (padding never wins)", best, by, bx);
    ex->total = best;
}

static void explain_avgpool(ax_explain *ex, const ax_layer *L, const ax_tensor *in)
{
    int H = L->in_h, W = L->in_w, OH = L->spec.out_h, OW = L->spec.out_w;
    ex->c0 = ex->c1 = ex->c;
    ex->y0 = ex->y * H / OH; ex->y1 = ((ex->y + 1) * H + OH - 1) / OH - 1;
    ex->x0 = ex->x * W / OW; ex->x1 = ((ex->x + 1) * W + OW - 1) / OW - 1;
    double sum = 0;
    for (int iy = ex->y0; iy <= ex->y1; iy++)
        for (int ix = ex->x0; ix <= ex->x1; ix++) {
            sum += at(in, ex->n, ex->c, iy, ix);
            ex->scale += fabs(at(in, ex->n, ex->c, iy, ix));
        }
    int cells = (ex->y1 - ex->y0 + 1) * (ex->x1 - ex->x0 + 1);
    line(ex, "adaptive average pool %dx%d -> %dx%d, channel %d", H, W, OH, OW, ex->c);
    line(ex, "bin rows %d..%d, cols %d..%d: %d cell%s", ex->y0, ex->y1, ex->x0, ex->x1, cells, cells > 1 ? "s" : "");
    line(ex, "sum %.8g / %d", sum, cells);
    ex->total = sum / cells;
    ex->scale /= cells;
}

static void explain_fc(ax_explain *ex, const ax_layer *L, const ax_tensor *in)
{
    int in_f = L->weight.shape[1];
    const float *x = in->data + (size_t)ex->n * in_f, *wr = L->weight.data + (size_t)ex->c * in_f;
    ex->c0 = 0; ex->c1 = in_f - 1; ex->y0 = ex->y1 = ex->x0 = ex->x1 = 0;
    contrib top[AX_EXPLAIN_TOP];
    int ntop = 0;
    double sum = 0;
    for (int i = 0; i < in_f; i++) {
        double p = (double)wr[i] * x[i];
        sum += p;
        ex->scale += fabs(p);
        if (p != 0) keep_top(top, &ntop, (contrib){i, p, wr[i], x[i]});
    }
    line(ex, "fully connected: output %d of %d = sum over %d inputs of w * a, + bias", ex->c, L->spec.out_c, in_f);
    if (L->in_h * L->in_w > 1)
        line(ex, "(input index i = (c*%d + y)*%d + x of the %dx%dx%d input)", L->in_h, L->in_w, L->in_c, L->in_h,
             L->in_w);
    line(ex, "largest contributions:   index      weight      input     product");
    for (int i = 0; i < ntop; i++)
        line(ex, "                        %6d  %+10.4g %+10.4g %+11.5g", top[i].index, top[i].w, top[i].a, top[i].v);
    double b = L->bias.data ? L->bias.data[ex->c] : 0;
    ex->scale += fabs(b);
    line(ex, "sum of %d products  %+.8g", in_f, sum);
    line(ex, "bias                %+.8g", b);
    ex->total = sum + b;
}

static void explain_softmax(ax_explain *ex, const ax_layer *L, const ax_tensor *in)
{
    int C = L->out.shape[1];
    const float *z = in->data + (size_t)ex->n * C;
    double mx = -INFINITY, se = 0;
    for (int i = 0; i < C; i++) if (z[i] > mx) mx = z[i];
    for (int i = 0; i < C; i++) se += exp((double)z[i] - mx);
    ex->c0 = 0; ex->c1 = C - 1; ex->y0 = ex->y1 = ex->x0 = ex->x1 = 0;
    line(ex, "softmax over %d logits: p = exp(z - max) / sum exp(z - max)", C);
    line(ex, "logit z[%d] = %+.8g", ex->c, (double)z[ex->c]);
    line(ex, "max z = %+.8g", mx);
    line(ex, "sum exp(z - max) = %.8g", se);
    line(ex, "exp(z - max) = %.8g", exp((double)z[ex->c] - mx));
    ex->total = exp((double)z[ex->c] - mx) / se;
}

/* The kinds' explanations that need no helper of their own, and the what-if
 * variants of conv and LRN. */
static void explain_conv_whatif(ax_explain *ex, const ax_layer *L, const ax_tensor *in)
{
    int C = L->out.shape[1];
    if (L->whatif == AX_WHATIF_TOWER0_OFF + (ex->c >= C / 2)) {
        line(ex, "tower %d of '%s' is zeroed: the value is 0", ex->c >= C / 2, L->spec.name);
        ex->total = 0;
    } else {
        explain_conv(ex, L, in);
    }
}

static void explain_lrn_whatif(ax_explain *ex, const ax_layer *L, const ax_tensor *in)
{
    if (L->whatif == AX_WHATIF_LRN_OFF) {
        line(ex, "LRN switched off: the value is the input's a[%d] unchanged", ex->c);
        ex->total = at(in, ex->n, ex->c, ex->y, ex->x);
    } else {
        explain_lrn(ex, L, in);
    }
}

static void explain_relu(ax_explain *ex, const ax_layer *L, const ax_tensor *in)
{
    double a = at(in, ex->n, ex->c, ex->y, ex->x);
    line(ex, "ReLU: max(0, a) of the same cell of the input");
    line(ex, "a = %+.8g  ->  %s", a, a > 0 ? "kept" : "clipped to 0");
    ex->total = a > 0 ? a : 0;
}

static void explain_dropout(ax_explain *ex, const ax_layer *L, const ax_tensor *in)
{
    line(ex, "dropout (p=%g) is the identity at inference: the input's same cell", L->spec.p);
    ex->total = at(in, ex->n, ex->c, ex->y, ex->x);
}

static void explain_pad(ax_explain *ex, const ax_layer *L, const ax_tensor *in)
{
    int y = ex->y, x = ex->x, sy = y - L->spec.pad_t, sx = x - L->spec.pad_l;
    ex->y0 = ex->y1 = sy; ex->x0 = ex->x1 = sx;
    if (sy < 0 || sy >= L->in_h || sx < 0 || sx >= L->in_w) {
        line(ex, "zero padding: row %d, col %d lies in the border (top %d, left %d, bottom %d, right %d): 0", y, x,
             L->spec.pad_t, L->spec.pad_l, L->spec.pad_b, L->spec.pad_r);
        ex->total = 0;
    } else {
        line(ex, "zero padding: copied from input row %d, col %d", sy, sx);
        ex->total = at(in, ex->n, ex->c, sy, sx);
    }
}

static void explain_flatten(ax_explain *ex, const ax_layer *L, const ax_tensor *in)
{
    int c = ex->c, ih = L->in_h, iw = L->in_w, ic = L->in_c, sc, sy, sx;
    if (L->spec.order == AX_FLATTEN_HWC) { sc = c % ic; sx = (c / ic) % iw; sy = c / (ic * iw); }
    else { sx = c % iw; sy = (c / iw) % ih; sc = c / (ih * iw); }
    ex->c0 = ex->c1 = sc; ex->y0 = ex->y1 = sy; ex->x0 = ex->x1 = sx;
    line(ex, "flatten (%s order): element %d is input channel %d, row %d, col %d",
         L->spec.order == AX_FLATTEN_HWC ? "H,W,C" : "C,H,W", c, sc, sy, sx);
    ex->total = at(in, ex->n, sc, sy, sx);
}

/* One explanation per layer type: how its value is made from its input. */
typedef void explainer(ax_explain *ex, const ax_layer *L, const ax_tensor *in);

static explainer *const explainers[] = {
    [AX_L_CONV] = explain_conv_whatif,
    [AX_L_RELU] = explain_relu,
    [AX_L_LRN] = explain_lrn_whatif,
    [AX_L_MAXPOOL] = explain_maxpool,
    [AX_L_AVGPOOL] = explain_avgpool,
    [AX_L_PAD] = explain_pad,
    [AX_L_FLATTEN] = explain_flatten,
    [AX_L_FC] = explain_fc,
    [AX_L_DROPOUT] = explain_dropout,
    [AX_L_SOFTMAX] = explain_softmax,
};
_Static_assert(sizeof explainers / sizeof *explainers == AX_L_COUNT, "an explanation for the last layer type");

ax_status ax_explain_value(ax_explain *ex, const ax_net *net, int layer, int n, int c, int y, int x, ax_error *err)
{
    memset(ex, 0, sizeof *ex);
    if (layer < 0 || layer >= net->nlayers)
        return ax_fail(err, AX_ERR_ARG, "layer %d: the %s model has layers 0..%d", layer, net->spec.name,
                       net->nlayers - 1);
    const ax_layer *L = &net->layers[layer];
    const ax_tensor *out = ax_net_output(net, layer);
    if (!out) return ax_fail(err, AX_ERR_ARG, "layer '%s' is not computed yet", L->spec.name);
    int N, C, H, W;
    ax_tensor_nchw(out, &N, &C, &H, &W);
    if (n < 0 || n >= N || c < 0 || c >= C || y < 0 || y >= H || x < 0 || x >= W)
        return ax_fail(err, AX_ERR_ARG, "layer '%s': (%d, %d, %d, %d) is outside its output (%d, %d, %d, %d)",
                       L->spec.name, n, c, y, x, N, C, H, W);
    /* the layer's input, as the engine had it (copied from a device backend) */
    const ax_tensor *in = ax_net_output(net, layer - 1);
    if (!in) return ax_fail(err, AX_ERR_ARG, "layer '%s': its input is not computed", L->spec.name);
    ex->layer = layer; ex->n = n; ex->c = c; ex->y = y; ex->x = x;
    ex->type = L->spec.type;
    ex->engine = at(out, n, c, y, x);
    ex->c0 = ex->c1 = c; ex->y0 = ex->y1 = y; ex->x0 = ex->x1 = x;
    if (L->whatif) line(ex, "what-if: this layer runs with %s", ax_whatif_name((ax_whatif)L->whatif));
    explainer *how = (unsigned)L->spec.type < AX_L_COUNT ? explainers[L->spec.type] : NULL;
    if (!how) return ax_fail(err, AX_ERR_ARG, "layer '%s': nothing to explain for this type", L->spec.name);
    how(ex, L, in);
    if (ex->scale < fabs(ex->total)) ex->scale = fabs(ex->total);
    double diff = (double)ex->engine - ex->total;
    line(ex, "total (double) %+.9g   engine (float) %+.9g", ex->total, ex->engine);
    line(ex, "difference %+.3g (%.2g of the terms' size %.4g)", diff, ex->scale > 0 ? fabs(diff) / ex->scale : 0,
         ex->scale);
    return AX_OK;
}
