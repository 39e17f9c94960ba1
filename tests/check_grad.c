/* Check suite "grad": every backward kernel against a naive double-precision
 * backward written out here and against central finite differences of a
 * naive double forward, on small random cases (groups, asymmetric padding,
 * ceil pooling, every LRN convention, both flatten orders), plus the net
 * level: gradient buffers, frozen layers, dropout masks. */
#include "alexscope/cpu.h"
#include "alexscope/grad.h"
#include "alexscope/image.h"
#include "alexscope/spec.h"
#include "alexscope/weights.h"
#include "check_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Kernel (float) against the naive double backward: both compute the same
 * sums, in a different order and precision. */
#define NAIVE_TOL 2e-5
/* Kernel against finite differences (step FD_EPS in double): the difference
 * quotient's truncation error is O(eps^2) on these smooth cases. */
#define FD_TOL 2e-4
#define FD_EPS 1e-3

/* ---- the cases ------------------------------------------------------------ */

typedef struct op op;
struct op {
    const char *label;
    ax_layer_type type;
    int n, c, h, w;              /* input (N, C, H, W) */
    ax_window g;                 /* conv, maxpool */
    int pad_b, pad_r;
    int oh, ow;                  /* avgpool; filled for every spatial op */
    int out_f;                   /* fc */
    int hwc;                     /* flatten */
    float scale, beta, k;        /* lrn, as ax_lrn takes them */
    int size;
    float p;                     /* dropout */
    uint64_t seed;
    int slots;
    int no_fd;                   /* too large for finite differences */
    size_t nx, nw, nb, ny;
};

static double max_abs_d(const double *x, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs(x[i]));
    return m;
}

/* ---- naive double forwards ------------------------------------------------- */

static void conv_fwd_d(const op *o, const double *x, const double *w, const double *b, double *y)
{
    const ax_window *g = &o->g;
    int cg = g->c / g->groups, ocg = g->oc / g->groups;
    for (int n = 0; n < g->n; n++)
        for (int oc = 0; oc < g->oc; oc++)
            for (int oy = 0; oy < g->oh; oy++)
                for (int ox = 0; ox < g->ow; ox++) {
                    double s = b ? b[oc] : 0;
                    int gi = oc / ocg;
                    for (int ci = 0; ci < cg; ci++)
                        for (int ki = 0; ki < g->kh; ki++)
                            for (int kj = 0; kj < g->kw; kj++) {
                                int iy = oy * g->sh - g->pad_t + ki, ix = ox * g->sw - g->pad_l + kj;
                                if (iy < 0 || iy >= g->h || ix < 0 || ix >= g->w) continue;
                                s += w[((oc * cg + ci) * g->kh + ki) * g->kw + kj] *
                                     x[((n * g->c + gi * cg + ci) * g->h + iy) * g->w + ix];
                            }
                    y[((n * g->oc + oc) * g->oh + oy) * g->ow + ox] = s;
                }
}

static void conv_bwd_d(const op *o, double *dx, double *dw, double *db, const double *dy, const double *x,
                       const double *w)
{
    const ax_window *g = &o->g;
    int cg = g->c / g->groups, ocg = g->oc / g->groups;
    memset(dx, 0, o->nx * sizeof *dx);
    memset(dw, 0, o->nw * sizeof *dw);
    memset(db, 0, o->nb * sizeof *db);
    for (int n = 0; n < g->n; n++)
        for (int oc = 0; oc < g->oc; oc++)
            for (int oy = 0; oy < g->oh; oy++)
                for (int ox = 0; ox < g->ow; ox++) {
                    double d = dy[((n * g->oc + oc) * g->oh + oy) * g->ow + ox];
                    int gi = oc / ocg;
                    db[oc] += d;
                    for (int ci = 0; ci < cg; ci++)
                        for (int ki = 0; ki < g->kh; ki++)
                            for (int kj = 0; kj < g->kw; kj++) {
                                int iy = oy * g->sh - g->pad_t + ki, ix = ox * g->sw - g->pad_l + kj;
                                if (iy < 0 || iy >= g->h || ix < 0 || ix >= g->w) continue;
                                size_t wi = ((size_t)(oc * cg + ci) * g->kh + ki) * g->kw + kj;
                                size_t xi = ((size_t)(n * g->c + gi * cg + ci) * g->h + iy) * g->w + ix;
                                dw[wi] += d * x[xi];
                                dx[xi] += d * w[wi];
                            }
                }
}

static void fc_fwd_d(const op *o, const double *x, const double *w, const double *b, double *y)
{
    int in_f = o->c * o->h * o->w;
    for (int n = 0; n < o->n; n++)
        for (int j = 0; j < o->out_f; j++) {
            double s = b[j];
            for (int i = 0; i < in_f; i++) s += w[(size_t)j * in_f + i] * x[(size_t)n * in_f + i];
            y[(size_t)n * o->out_f + j] = s;
        }
}

static void fc_bwd_d(const op *o, double *dx, double *dw, double *db, const double *dy, const double *x,
                     const double *w)
{
    int in_f = o->c * o->h * o->w;
    memset(dx, 0, o->nx * sizeof *dx);
    memset(dw, 0, o->nw * sizeof *dw);
    memset(db, 0, o->nb * sizeof *db);
    for (int n = 0; n < o->n; n++)
        for (int j = 0; j < o->out_f; j++) {
            double d = dy[(size_t)n * o->out_f + j];
            db[j] += d;
            for (int i = 0; i < in_f; i++) {
                dw[(size_t)j * in_f + i] += d * x[(size_t)n * in_f + i];
                dx[(size_t)n * in_f + i] += d * w[(size_t)j * in_f + i];
            }
        }
}

static void relu_fwd_d(const op *o, const double *x, const double *w, const double *b, double *y)
{
    for (size_t i = 0; i < o->nx; i++) y[i] = x[i] > 0 ? x[i] : 0;
}

static void relu_bwd_d(const op *o, double *dx, double *dw, double *db, const double *dy, const double *x,
                       const double *w)
{
    for (size_t i = 0; i < o->nx; i++) dx[i] = x[i] > 0 ? dy[i] : 0;
}

/* y_c = x_c (k + scale * sum_{|q-c| <= half} x_q^2)^-beta */
static void lrn_fwd_d(const op *o, const double *x, const double *w, const double *b, double *y)
{
    int hw = o->h * o->w, half = o->size / 2;
    for (int n = 0; n < o->n; n++)
        for (int c = 0; c < o->c; c++)
            for (int p = 0; p < hw; p++) {
                double s = 0;
                for (int q = c - half; q <= c + half; q++)
                    if (q >= 0 && q < o->c) s += x[((size_t)n * o->c + q) * hw + p] * x[((size_t)n * o->c + q) * hw + p];
                size_t i = ((size_t)n * o->c + c) * hw + p;
                y[i] = x[i] * pow(o->k + (double)o->scale * s, -(double)o->beta);
            }
}

/* The Jacobian written out element by element: dy_c/dx_q for q in c's window. */
static void lrn_bwd_d(const op *o, double *dx, double *dw, double *db, const double *dy, const double *x,
                      const double *w)
{
    int hw = o->h * o->w, half = o->size / 2;
    double beta = o->beta, scale = o->scale;
    memset(dx, 0, o->nx * sizeof *dx);
    for (int n = 0; n < o->n; n++)
        for (int c = 0; c < o->c; c++)
            for (int p = 0; p < hw; p++) {
                double s = 0;
                for (int q = c - half; q <= c + half; q++)
                    if (q >= 0 && q < o->c) s += pow(x[((size_t)n * o->c + q) * hw + p], 2);
                double d = o->k + scale * s;
                size_t i = ((size_t)n * o->c + c) * hw + p;
                dx[i] += dy[i] * pow(d, -beta);
                for (int q = c - half; q <= c + half; q++) {
                    if (q < 0 || q >= o->c) continue;
                    size_t iq = ((size_t)n * o->c + q) * hw + p;
                    dx[iq] += dy[i] * x[i] * -beta * pow(d, -beta - 1) * scale * 2 * x[iq];
                }
            }
}

/* The winner of a window: first maximum in row-major order, as PyTorch. */
static long maxpool_arg(const op *o, const double *x, int plane, int oy, int ox)
{
    const ax_window *g = &o->g;
    long best = -1;
    double m = -INFINITY;
    for (int y = oy * g->sh - g->pad_t; y < oy * g->sh - g->pad_t + g->kh; y++)
        for (int xx = ox * g->sw - g->pad_l; xx < ox * g->sw - g->pad_l + g->kw; xx++) {
            if (y < 0 || y >= g->h || xx < 0 || xx >= g->w) continue;
            long i = ((long)plane * g->h + y) * g->w + xx;
            if (best < 0 || x[i] > m) { m = x[i]; best = i; }
        }
    return best;
}

static void maxpool_fwd_d(const op *o, const double *x, const double *w, const double *b, double *y)
{
    const ax_window *g = &o->g;
    for (int p = 0; p < g->n * g->c; p++)
        for (int oy = 0; oy < g->oh; oy++)
            for (int ox = 0; ox < g->ow; ox++) {
                long a = maxpool_arg(o, x, p, oy, ox);
                y[((size_t)p * g->oh + oy) * g->ow + ox] = a < 0 ? 0 : x[a];
            }
}

static void maxpool_bwd_d(const op *o, double *dx, double *dw, double *db, const double *dy, const double *x,
                          const double *w)
{
    const ax_window *g = &o->g;
    memset(dx, 0, o->nx * sizeof *dx);
    for (int p = 0; p < g->n * g->c; p++)
        for (int oy = 0; oy < g->oh; oy++)
            for (int ox = 0; ox < g->ow; ox++) {
                long a = maxpool_arg(o, x, p, oy, ox);
                if (a >= 0) dx[a] += dy[((size_t)p * g->oh + oy) * g->ow + ox];
            }
}

static void bin(int i, int in, int out, int *a, int *b)
{
    *a = i * in / out;
    *b = ((i + 1) * in + out - 1) / out;
}

static void avgpool_fwd_d(const op *o, const double *x, const double *w, const double *b, double *y)
{
    for (int p = 0; p < o->n * o->c; p++)
        for (int oy = 0; oy < o->oh; oy++)
            for (int ox = 0; ox < o->ow; ox++) {
                int y0, y1, x0, x1;
                bin(oy, o->h, o->oh, &y0, &y1);
                bin(ox, o->w, o->ow, &x0, &x1);
                double s = 0;
                for (int yy = y0; yy < y1; yy++)
                    for (int xx = x0; xx < x1; xx++) s += x[((size_t)p * o->h + yy) * o->w + xx];
                y[((size_t)p * o->oh + oy) * o->ow + ox] = s / ((y1 - y0) * (x1 - x0));
            }
}

static void avgpool_bwd_d(const op *o, double *dx, double *dw, double *db, const double *dy, const double *x,
                          const double *w)
{
    memset(dx, 0, o->nx * sizeof *dx);
    for (int p = 0; p < o->n * o->c; p++)
        for (int oy = 0; oy < o->oh; oy++)
            for (int ox = 0; ox < o->ow; ox++) {
                int y0, y1, x0, x1;
                bin(oy, o->h, o->oh, &y0, &y1);
                bin(ox, o->w, o->ow, &x0, &x1);
                double d = dy[((size_t)p * o->oh + oy) * o->ow + ox] / ((y1 - y0) * (x1 - x0));
                for (int yy = y0; yy < y1; yy++)
                    for (int xx = x0; xx < x1; xx++) dx[((size_t)p * o->h + yy) * o->w + xx] += d;
            }
}

static void pad_fwd_d(const op *o, const double *x, const double *w, const double *b, double *y)
{
    memset(y, 0, o->ny * sizeof *y);
    for (int p = 0; p < o->n * o->c; p++)
        for (int yy = 0; yy < o->h; yy++)
            for (int xx = 0; xx < o->w; xx++)
                y[((size_t)p * o->oh + yy + o->g.pad_t) * o->ow + xx + o->g.pad_l] = x[((size_t)p * o->h + yy) * o->w + xx];
}

static void pad_bwd_d(const op *o, double *dx, double *dw, double *db, const double *dy, const double *x,
                      const double *w)
{
    for (int p = 0; p < o->n * o->c; p++)
        for (int yy = 0; yy < o->h; yy++)
            for (int xx = 0; xx < o->w; xx++)
                dx[((size_t)p * o->h + yy) * o->w + xx] = dy[((size_t)p * o->oh + yy + o->g.pad_t) * o->ow + xx + o->g.pad_l];
}

/* Element (c, y, x) goes to c*H*W + y*W + x (CHW) or (y*W + x)*C + c (HWC). */
static size_t flat_index(const op *o, int c, int y, int x)
{
    return o->hwc ? ((size_t)y * o->w + x) * o->c + c : ((size_t)c * o->h + y) * o->w + x;
}

static void flatten_fwd_d(const op *o, const double *x, const double *w, const double *b, double *y)
{
    size_t per = (size_t)o->c * o->h * o->w;
    for (int n = 0; n < o->n; n++)
        for (int c = 0; c < o->c; c++)
            for (int yy = 0; yy < o->h; yy++)
                for (int xx = 0; xx < o->w; xx++)
                    y[n * per + flat_index(o, c, yy, xx)] = x[n * per + ((size_t)c * o->h + yy) * o->w + xx];
}

static void flatten_bwd_d(const op *o, double *dx, double *dw, double *db, const double *dy, const double *x,
                          const double *w)
{
    size_t per = (size_t)o->c * o->h * o->w;
    for (int n = 0; n < o->n; n++)
        for (int c = 0; c < o->c; c++)
            for (int yy = 0; yy < o->h; yy++)
                for (int xx = 0; xx < o->w; xx++)
                    dx[n * per + ((size_t)c * o->h + yy) * o->w + xx] = dy[n * per + flat_index(o, c, yy, xx)];
}

/* Dropout's mask comes from the kernel itself (a forward on ones), so the
 * double forward is x * mask. */
static double *dropout_mask;

static void dropout_fwd_d(const op *o, const double *x, const double *w, const double *b, double *y)
{
    for (size_t i = 0; i < o->nx; i++) y[i] = x[i] * dropout_mask[i];
}

static void dropout_bwd_d(const op *o, double *dx, double *dw, double *db, const double *dy, const double *x,
                          const double *w)
{
    for (size_t i = 0; i < o->nx; i++) dx[i] = dy[i] * dropout_mask[i];
}

static void softmax_fwd_d(const op *o, const double *x, const double *w, const double *b, double *y)
{
    int c = o->c;
    for (int n = 0; n < o->n; n++) {
        double m = -INFINITY, s = 0;
        for (int i = 0; i < c; i++) m = fmax(m, x[n * c + i]);
        for (int i = 0; i < c; i++) s += exp(x[n * c + i] - m);
        for (int i = 0; i < c; i++) y[n * c + i] = exp(x[n * c + i] - m) / s;
    }
}

/* dx_i = sum_j dy_j dy_j/dx_i = sum_j dy_j y_j (delta_ij - y_i) */
static void softmax_bwd_d(const op *o, double *dx, double *dw, double *db, const double *dy, const double *x,
                          const double *w)
{
    int c = o->c;
    double *y = malloc(o->nx * sizeof *y);
    ck_assert_ptr_nonnull(y);
    softmax_fwd_d(o, x, NULL, NULL, y);
    for (int n = 0; n < o->n; n++)
        for (int i = 0; i < c; i++) {
            double s = 0;
            for (int j = 0; j < c; j++) s += dy[n * c + j] * y[n * c + j] * ((i == j) - y[n * c + i]);
            dx[n * c + i] = s;
        }
    free(y);
}

typedef void (*fwd_fn)(const op *, const double *, const double *, const double *, double *);
typedef void (*bwd_fn)(const op *, double *, double *, double *, const double *, const double *, const double *);

/* ---- the kernels under test, behind one signature ---------------------------- */

static void run_kernel(const op *o, float *dx, float *dw, float *db, const float *dy, const float *x,
                       const float *w, const float *b)
{
    switch (o->type) {
    case AX_L_CONV: {
        float *scratch = malloc((ax_conv2d_bwd_scratch(&o->g) * o->slots + 16) * sizeof(float));
        ck_assert_ptr_nonnull(scratch);
        ax_conv2d_bwd(dx, dw, db, dy, x, w, scratch, o->slots, &o->g);
        free(scratch);
        break;
    }
    case AX_L_FC: ax_fc_bwd(dx, dw, db, dy, x, w, o->n, o->c * o->h * o->w, o->out_f); break;
    case AX_L_RELU: ax_relu_bwd(dx, dy, x, o->nx); break;
    case AX_L_LRN: {
        float *y = malloc(o->nx * sizeof *y);
        float *scratch = malloc((ax_lrn_bwd_scratch(o->c) * o->slots + 16) * sizeof(float));
        ck_assert(y && scratch);
        ax_lrn(y, x, o->scale, o->beta, o->k, o->size, o->n, o->c, o->h * o->w);
        ax_lrn_bwd(dx, dy, x, y, o->scale, o->beta, o->k, o->size, o->n, o->c, o->h * o->w, scratch, o->slots);
        free(y);
        free(scratch);
        break;
    }
    case AX_L_MAXPOOL: {
        float *y = malloc((o->ny + 1) * sizeof *y);
        ck_assert_ptr_nonnull(y);
        ax_maxpool(y, x, &o->g);
        ax_maxpool_bwd(dx, dy, x, y, &o->g);
        free(y);
        break;
    }
    case AX_L_AVGPOOL: ax_avgpool_adaptive_bwd(dx, dy, o->n, o->c, o->h, o->w, o->oh, o->ow); break;
    case AX_L_PAD:
        ax_pad_bwd(dx, dy, o->n, o->c, o->h, o->w, o->g.pad_t, o->g.pad_l, o->pad_b, o->pad_r);
        break;
    case AX_L_FLATTEN: ax_flatten_bwd(dx, dy, o->n, o->c, o->h, o->w, o->hwc); break;
    case AX_L_DROPOUT: ax_dropout_bwd(dx, dy, o->p, o->seed, o->nx); break;
    case AX_L_SOFTMAX: {
        float *y = malloc(o->nx * sizeof *y);
        ck_assert_ptr_nonnull(y);
        ax_softmax(y, x, o->n, o->c);
        ax_softmax_bwd(dx, dy, y, o->n, o->c);
        free(y);
        break;
    }
    default: ck_abort_msg("no kernel for type %d", (int)o->type);
    }
}

static void to_float(float *dst, const double *src, size_t n)
{
    for (size_t i = 0; i < n; i++) dst[i] = (float)src[i];
}

/* Runs one case: random x, w, b and an upstream gradient r; the loss is
 * sum(r * y). Kernel gradients against the naive backward and against
 * central differences of the double forward for every x, w and b element. */
static void check_op(const op *o, fwd_fn fwd, bwd_fn bwd, float xlo, float xhi)
{
    size_t nx = o->nx, nw = o->nw, nb = o->nb, ny = o->ny;
    float *xf = malloc((nx + 1) * 4), *wf = malloc((nw + 1) * 4), *bf = malloc((nb + 1) * 4), *rf = malloc((ny + 1) * 4);
    float *dxf = malloc((nx + 1) * 4), *dwf = malloc((nw + 1) * 4), *dbf = malloc((nb + 1) * 4);
    double *x = malloc((nx + 1) * 8), *w = malloc((nw + 1) * 8), *b = malloc((nb + 1) * 8), *r = malloc((ny + 1) * 8);
    double *dx = malloc((nx + 1) * 8), *dw = malloc((nw + 1) * 8), *db = malloc((nb + 1) * 8);
    double *y = malloc((ny + 1) * 8);
    float *tmp = malloc((nx + nw + nb + 1) * 4), *fd = malloc((nx + nw + nb + 1) * 4);
    ck_assert(xf && wf && bf && rf && dxf && dwf && dbf && x && w && b && r && dx && dw && db && y && tmp && fd);
    ax_fill_uniform(xf, nx, xlo, xhi, o->seed);
    ax_fill_uniform(wf, nw, -0.5f, 0.5f, o->seed + 1);
    ax_fill_uniform(bf, nb, -0.5f, 0.5f, o->seed + 2);
    ax_fill_uniform(rf, ny, -1.0f, 1.0f, o->seed + 3);
    /* ReLU: keep inputs away from the kink, where differences are meaningless. */
    if (o->type == AX_L_RELU)
        for (size_t i = 0; i < nx; i++)
            if (fabsf(xf[i]) < 10 * FD_EPS) xf[i] = 0.5f;
    for (size_t i = 0; i < nx; i++) x[i] = xf[i];
    for (size_t i = 0; i < nw; i++) w[i] = wf[i];
    for (size_t i = 0; i < nb; i++) b[i] = bf[i];
    for (size_t i = 0; i < ny; i++) r[i] = rf[i];

    memset(dwf, 0, (nw + 1) * 4);
    memset(dbf, 0, (nb + 1) * 4);
    run_kernel(o, dxf, nw ? dwf : NULL, nb ? dbf : NULL, rf, xf, wf, bf);
    bwd(o, dx, dw, db, r, x, w);

    char label[160];
    float *ref = malloc((nx + nw + nb + 1) * 4);
    ck_assert_ptr_nonnull(ref);
    const struct { const char *what; float *got; double *want; size_t n; } parts[3] = {
        {"dx", dxf, dx, nx}, {"dw", dwf, dw, nw}, {"db", dbf, db, nb}};
    for (int p = 0; p < 3; p++) {
        if (!parts[p].n) continue;
        to_float(ref, parts[p].want, parts[p].n);
        snprintf(label, sizeof label, "%s %s vs naive double", o->label, parts[p].what);
        check_close(parts[p].got, ref, parts[p].n, NAIVE_TOL * max_abs_d(parts[p].want, parts[p].n), NAIVE_TOL,
                    label);
    }

    /* Central differences of sum(r * y), every element of x, w and b. */
    double *vars[3] = {x, w, b};
    for (int p = 0; p < 3 && !o->no_fd; p++) {
        size_t n = parts[p].n;
        if (!n) continue;
        double *v = vars[p];
        for (size_t i = 0; i < n; i++) {
            double keep = v[i], lp = 0, lm = 0;
            v[i] = keep + FD_EPS;
            fwd(o, x, w, nb ? b : NULL, y);
            for (size_t k = 0; k < ny; k++) lp += r[k] * y[k];
            v[i] = keep - FD_EPS;
            fwd(o, x, w, nb ? b : NULL, y);
            for (size_t k = 0; k < ny; k++) lm += r[k] * y[k];
            v[i] = keep;
            fd[i] = (float)((lp - lm) / (2 * FD_EPS));
        }
        double m = 0;
        for (size_t i = 0; i < n; i++) m = fmax(m, fabs(fd[i]));
        snprintf(label, sizeof label, "%s %s vs finite differences", o->label, parts[p].what);
        check_close(parts[p].got, fd, n, FD_TOL * m, FD_TOL, label);
    }
    free(ref);
    free(xf); free(wf); free(bf); free(rf); free(dxf); free(dwf); free(dbf);
    free(x); free(w); free(b); free(r); free(dx); free(dw); free(db); free(y); free(tmp); free(fd);
}

/* ---- convolution --------------------------------------------------------------- */

static op conv_op(const char *label, int n, int c, int h, int w, int oc, int k, int s, int pt, int pl, int pb,
                  int pr, int groups, int slots)
{
    op o = {.label = label, .type = AX_L_CONV, .n = n, .c = c, .h = h, .w = w, .slots = slots, .seed = 100 + oc};
    o.g = (ax_window){.n = n, .c = c, .h = h, .w = w, .oc = oc, .kh = k, .kw = k, .sh = s, .sw = s, .pad_t = pt,
                      .pad_l = pl, .groups = groups,
                      .oh = ax_window_out(h, k, s, pt, pb, 0), .ow = ax_window_out(w, k, s, pl, pr, 0)};
    o.nx = (size_t)n * c * h * w;
    o.nw = (size_t)oc * (c / groups) * k * k;
    o.nb = (size_t)oc;
    o.ny = (size_t)n * oc * o.g.oh * o.g.ow;
    return o;
}

START_TEST(conv_basic)
{
    op o = conv_op("conv 3x3 pad 1", 2, 3, 6, 7, 4, 3, 1, 1, 1, 1, 1, 1, 1);
    check_op(&o, conv_fwd_d, conv_bwd_d, -1, 1);
}
END_TEST

START_TEST(conv_groups_slots)
{
    /* groups 2, stride 2, batch 3 over 2 slots (private dW sums added up) */
    op o = conv_op("conv groups=2 s=2 slots=2", 3, 4, 9, 8, 6, 3, 2, 1, 1, 1, 1, 2, 2);
    check_op(&o, conv_fwd_d, conv_bwd_d, -1, 1);
    op o3 = conv_op("conv groups=3 k=5 s=3 slots=3", 3, 6, 11, 10, 6, 5, 3, 2, 2, 2, 2, 3, 3);
    check_op(&o3, conv_fwd_d, conv_bwd_d, -1, 1);
}
END_TEST

START_TEST(conv_asymmetric)
{
    /* TF SAME on even sizes: more padding bottom/right than top/left. */
    int oh, pt, pb, ow, pl, pr;
    ax_same_padding(8, 4, 2, &oh, &pt, &pb);
    ax_same_padding(9, 4, 2, &ow, &pl, &pr);
    op o = conv_op("conv SAME k=4 s=2", 2, 2, 8, 9, 3, 4, 2, pt, pl, pb, pr, 1, 2);
    ck_assert_int_eq(o.g.oh, oh);
    ck_assert_int_eq(o.g.ow, ow);
    check_op(&o, conv_fwd_d, conv_bwd_d, -1, 1);
    op k = conv_op("conv Keras pad 0,1,2,1 k=3 s=1", 1, 3, 5, 6, 2, 3, 1, 0, 1, 2, 1, 1, 1);
    check_op(&k, conv_fwd_d, conv_bwd_d, -1, 1);
    op one = conv_op("conv 1x1", 2, 4, 3, 5, 3, 1, 1, 0, 0, 0, 0, 1, 2);
    check_op(&one, conv_fwd_d, conv_bwd_d, -1, 1);
    op big = conv_op("conv k=11 s=4 (conv1)", 1, 3, 23, 27, 4, 11, 4, 2, 2, 2, 2, 1, 1);
    check_op(&big, conv_fwd_d, conv_bwd_d, -1, 1);
}
END_TEST

/* One image on a pool of threads: the image's work is split by channels and
 * filters instead of by images (large enough to take that path). */
START_TEST(conv_split_image)
{
    ax_cpu_set_threads(3);
    op o = conv_op("conv batch 1 split over the pool", 1, 32, 24, 24, 32, 3, 1, 1, 1, 1, 1, 1, 1);
    ck_assert_msg((double)o.g.oc * o.g.oh * o.g.ow * 32 * 9 >= 4e6, "the case is too small for the split path");
    o.no_fd = 1;
    check_op(&o, conv_fwd_d, conv_bwd_d, -1, 1);
    op g2 = conv_op("conv batch 2, groups 2, stride 2, one slot", 2, 32, 41, 39, 64, 5, 2, 2, 1, 3, 2, 2, 1);
    g2.no_fd = 1;
    check_op(&g2, conv_fwd_d, conv_bwd_d, -1, 1);
}
END_TEST

/* ---- fc, relu ------------------------------------------------------------------- */

START_TEST(fc_grad)
{
    op o = {.label = "fc", .type = AX_L_FC, .n = 3, .c = 2, .h = 3, .w = 4, .out_f = 5, .seed = 7};
    o.nx = 3 * 24; o.nw = 5 * 24; o.nb = 5; o.ny = 15;
    check_op(&o, fc_fwd_d, fc_bwd_d, -1, 1);
    op one = {.label = "fc batch 1", .type = AX_L_FC, .n = 1, .c = 17, .h = 1, .w = 1, .out_f = 9, .seed = 8};
    one.nx = 17; one.nw = 9 * 17; one.nb = 9; one.ny = 9;
    check_op(&one, fc_fwd_d, fc_bwd_d, -1, 1);
}
END_TEST

START_TEST(relu_grad)
{
    op o = {.label = "relu", .type = AX_L_RELU, .n = 2, .c = 3, .h = 4, .w = 5, .seed = 9};
    o.nx = o.ny = 120;
    check_op(&o, relu_fwd_d, relu_bwd_d, -1, 1);
    /* exactly 0 passes nothing, as in PyTorch */
    float x[3] = {0.0f, -1.0f, 2.0f}, dy[3] = {5, 6, 7}, dx[3];
    ax_relu_bwd(dx, dy, x, 3);
    ck_assert(dx[0] == 0 && dx[1] == 0 && dx[2] == 7);
}
END_TEST

/* ---- LRN in its three conventions ------------------------------------------------ */

static void lrn_case(const char *label, ax_lrn_convention conv, int size, float alpha, float beta, float k,
                     int slots)
{
    ax_layer_spec s = {.type = AX_L_LRN, .lrn_convention = conv, .lrn_size = size, .lrn_alpha = alpha,
                       .lrn_beta = beta, .lrn_k = k};
    op o = {.label = label, .type = AX_L_LRN, .n = 2, .c = 7, .h = 4, .w = 9, .seed = 11, .slots = slots};
    o.scale = ax_lrn_sum_scale(&s);
    /* The conventions' own formulas, written out: Caffe/PyTorch divide alpha
     * by the window, TF and Darknet do not. */
    float want = conv == AX_LRN_CAFFE ? alpha / size : alpha;
    ck_assert_msg(fabsf(o.scale - want) <= 1e-7f * want, "%s: scale %g, expected %g", label, o.scale, want);
    o.beta = beta; o.k = k; o.size = size;
    o.nx = o.ny = (size_t)2 * 7 * 36;   /* 36 pixels: whole vectors and a tail */
    /* inputs of a few units so that the window term matters */
    check_op(&o, lrn_fwd_d, lrn_bwd_d, -3, 3);
}

START_TEST(lrn_grad)
{
    lrn_case("lrn caffe n=5", AX_LRN_CAFFE, 5, 0.5f, 0.75f, 1.0f, 1);
    lrn_case("lrn tf r=2", AX_LRN_TF, 5, 0.1f, 0.75f, 2.0f, 2);
    lrn_case("lrn darknet n=3 beta=0.6", AX_LRN_DARKNET, 3, 0.2f, 0.6f, 1.0f, 3);
    lrn_case("lrn tf r=4 (window wider than half the channels)", AX_LRN_TF, 9, 0.05f, 0.75f, 1.0f, 2);
}
END_TEST

/* ---- pooling ------------------------------------------------------------------------- */

static op pool_op(const char *label, int n, int c, int h, int w, int k, int s, int pad, int ceil_mode)
{
    op o = {.label = label, .type = AX_L_MAXPOOL, .n = n, .c = c, .h = h, .w = w, .seed = 21 + h};
    o.g = (ax_window){.n = n, .c = c, .h = h, .w = w, .oc = c, .kh = k, .kw = k, .sh = s, .sw = s, .pad_t = pad,
                      .pad_l = pad, .groups = 1,
                      .oh = ax_window_out(h, k, s, pad, pad, ceil_mode), .ow = ax_window_out(w, k, s, pad, pad, ceil_mode)};
    o.nx = (size_t)n * c * h * w;
    o.ny = (size_t)n * c * o.g.oh * o.g.ow;
    return o;
}

START_TEST(maxpool_grad)
{
    op f = pool_op("maxpool 3/2 floor", 2, 3, 9, 10, 3, 2, 0, 0);
    check_op(&f, maxpool_fwd_d, maxpool_bwd_d, -1, 1);
    op c = pool_op("maxpool 3/2 ceil", 2, 3, 8, 10, 3, 2, 0, 1);
    ck_assert_int_eq(c.g.oh, 4);   /* ceil: the last window runs past the edge */
    check_op(&c, maxpool_fwd_d, maxpool_bwd_d, -1, 1);
    op p = pool_op("maxpool 3/2 pad 1", 1, 2, 7, 6, 3, 2, 1, 0);
    check_op(&p, maxpool_fwd_d, maxpool_bwd_d, -1, 1);
}
END_TEST

/* Ties go to the first maximum in row-major order and a NaN (the last one)
 * beats numbers: the expected gradients are what PyTorch 1.13's
 * F.max_pool2d(...).backward gives on the same inputs. */
START_TEST(maxpool_ties)
{
    float x[9] = {1, 3, 3, 3, 2, 3, 0, 3, 1}, dy[1] = {1}, dx[9];
    ax_window g = {.n = 1, .c = 1, .h = 3, .w = 3, .oc = 1, .oh = 1, .ow = 1, .kh = 3, .kw = 3, .sh = 1, .sw = 1,
                   .groups = 1};
    float y1[1];
    ax_maxpool(y1, x, &g);
    ax_maxpool_bwd(dx, dy, x, y1, &g);
    for (int i = 0; i < 9; i++) ck_assert_msg(dx[i] == (i == 1), "tie: dx[%d] = %g", i, dx[i]);

    /* all zeros, ceil mode 3x4 -> 1x2: each window's first cell */
    float z[12] = {0}, dz[12], dy2[2] = {1, 1};
    ax_window g2 = {.n = 1, .c = 1, .h = 3, .w = 4, .oc = 1, .kh = 3, .kw = 3, .sh = 2, .sw = 2, .groups = 1,
                    .oh = ax_window_out(3, 3, 2, 0, 0, 1), .ow = ax_window_out(4, 3, 2, 0, 0, 1)};
    ck_assert(g2.oh == 1 && g2.ow == 2);
    float y2[2];
    ax_maxpool(y2, z, &g2);
    ax_maxpool_bwd(dz, dy2, z, y2, &g2);
    for (int i = 0; i < 12; i++) ck_assert_msg(dz[i] == (i == 0 || i == 2), "zeros: dx[%d] = %g", i, dz[i]);

    float nx[6] = {1, NAN, 2, NAN, 0, 0}, dn[6], dy3[2] = {1, 1};
    ax_window g3 = {.n = 1, .c = 1, .h = 2, .w = 3, .oc = 1, .oh = 1, .ow = 2, .kh = 2, .kw = 2, .sh = 1, .sw = 1,
                    .groups = 1};
    float y3[2];
    ax_maxpool(y3, nx, &g3);
    ax_maxpool_bwd(dn, dy3, nx, y3, &g3);
    static const float want[6] = {0, 1, 0, 1, 0, 0};
    for (int i = 0; i < 6; i++) ck_assert_msg(dn[i] == want[i], "NaN: dx[%d] = %g", i, dn[i]);
}
END_TEST

START_TEST(avgpool_grad)
{
    op d = {.label = "avgpool 7x5 -> 3x4", .type = AX_L_AVGPOOL, .n = 2, .c = 2, .h = 7, .w = 5, .oh = 3, .ow = 4,
            .seed = 31};
    d.nx = 2 * 2 * 35; d.ny = 2 * 2 * 12;
    check_op(&d, avgpool_fwd_d, avgpool_bwd_d, -1, 1);
    op u = {.label = "avgpool 2x3 -> 6x6 (repeats cells)", .type = AX_L_AVGPOOL, .n = 1, .c = 3, .h = 2, .w = 3,
            .oh = 6, .ow = 6, .seed = 32};
    u.nx = 18; u.ny = 108;
    check_op(&u, avgpool_fwd_d, avgpool_bwd_d, -1, 1);
}
END_TEST

/* ---- pad, flatten, dropout, softmax -------------------------------------------------------- */

START_TEST(pad_flatten_grad)
{
    op p = {.label = "pad 1,1,2,2", .type = AX_L_PAD, .n = 2, .c = 2, .h = 4, .w = 5, .pad_b = 2, .pad_r = 2,
            .seed = 41};
    p.g.pad_t = 1; p.g.pad_l = 1;
    p.oh = 4 + 3; p.ow = 5 + 3;
    p.nx = 2 * 2 * 20; p.ny = 2 * 2 * 7 * 8;
    check_op(&p, pad_fwd_d, pad_bwd_d, -1, 1);
    for (int hwc = 0; hwc < 2; hwc++) {
        op f = {.label = hwc ? "flatten hwc" : "flatten chw", .type = AX_L_FLATTEN, .n = 2, .c = 3, .h = 2, .w = 4,
                .hwc = hwc, .seed = 42};
        f.nx = f.ny = 48;
        check_op(&f, flatten_fwd_d, flatten_bwd_d, -1, 1);
    }
}
END_TEST

START_TEST(dropout_grad)
{
    const size_t n = 4000;
    float *ones = malloc(n * 4), *y = malloc(n * 4), *y2 = malloc(n * 4);
    ck_assert(ones && y && y2);
    for (size_t i = 0; i < n; i++) ones[i] = 1.0f;
    ax_dropout_train(y, ones, 0.3f, 77, n);
    size_t dropped = 0;
    for (size_t i = 0; i < n; i++) {
        ck_assert_msg(y[i] == 0.0f || fabsf(y[i] - 1.0f / 0.7f) < 1e-6f, "kept value %g", y[i]);
        dropped += y[i] == 0.0f;
    }
    /* binomial(4000, 0.3): sd 29, so 1200 +- 150 is 5 sd */
    ck_assert_msg(dropped > 1050 && dropped < 1350, "dropped %zu of %zu at p=0.3", dropped, n);
    ax_dropout_train(y2, ones, 0.3f, 77, n);
    ck_assert(!memcmp(y, y2, n * 4));                 /* same seed, same mask */
    ax_dropout_train(y2, ones, 0.3f, 78, n);
    ck_assert(memcmp(y, y2, n * 4) != 0);             /* another seed, another mask */

    op o = {.label = "dropout p=0.4", .type = AX_L_DROPOUT, .n = 1, .c = 60, .h = 1, .w = 1, .p = 0.4f, .seed = 5};
    o.nx = o.ny = 60;
    ax_dropout_train(y, ones, o.p, o.seed, o.nx);
    dropout_mask = malloc(o.nx * sizeof *dropout_mask);
    ck_assert_ptr_nonnull(dropout_mask);
    for (size_t i = 0; i < o.nx; i++) dropout_mask[i] = y[i];
    check_op(&o, dropout_fwd_d, dropout_bwd_d, -1, 1);
    free(dropout_mask);
    free(ones); free(y); free(y2);
}
END_TEST

START_TEST(softmax_grad)
{
    op o = {.label = "softmax", .type = AX_L_SOFTMAX, .n = 3, .c = 7, .h = 1, .w = 1, .seed = 51};
    o.nx = o.ny = 21;
    check_op(&o, softmax_fwd_d, softmax_bwd_d, -3, 3);
}
END_TEST

/* Cross-entropy: the loss against its definition, the gradient against
 * central differences of it. */
START_TEST(xent_grad)
{
    enum { N = 3, C = 6 };
    float x[N * C], d[N * C], p[N * C];
    int lab[N] = {2, 0, 5};
    ax_fill_uniform(x, N * C, -4, 4, 61);
    double loss = ax_softmax_xent(d, p, x, lab, N, C);
    double want = 0;
    for (int n = 0; n < N; n++) {
        double s = 0;
        for (int i = 0; i < C; i++) s += exp((double)x[n * C + i]);
        want += -log(exp((double)x[n * C + lab[n]]) / s) / N;
        for (int i = 0; i < C; i++)
            ck_assert_msg(fabs(p[n * C + i] - exp((double)x[n * C + i]) / s) < 1e-6, "prob %d %d", n, i);
    }
    ck_assert_msg(fabs(loss - want) < 1e-9 * fabs(want) + 1e-12, "loss %.10g, expected %.10g", loss, want);
    float fd[N * C];
    for (int i = 0; i < N * C; i++) {
        double lp = 0, lm = 0;
        double keep = x[i];
        /* in double: the loss of a perturbed logit row, written out */
        for (int sgn = -1; sgn <= 1; sgn += 2) {
            double tot = 0;
            for (int n = 0; n < N; n++) {
                double s = 0, xl = 0;
                for (int j = 0; j < C; j++) {
                    double v = n * C + j == i ? keep + sgn * FD_EPS : x[n * C + j];
                    s += exp(v);
                    if (j == lab[n]) xl = v;
                }
                tot += (log(s) - xl) / N;
            }
            if (sgn < 0) lm = tot; else lp = tot;
        }
        fd[i] = (float)((lp - lm) / (2 * FD_EPS));
    }
    check_close(d, fd, N * C, 1e-5, 1e-4, "cross-entropy vs finite differences");
}
END_TEST

/* ---- the net level ------------------------------------------------------------------------ */

static ax_net *small_net(const char *text, int batch)
{
    ax_spec *spec = malloc(sizeof *spec);
    ax_error err = {0};
    ck_assert_ptr_nonnull(spec);
    ck_assert_msg(ax_spec_parse(spec, text, "test.net", &err) == AX_OK, "%s", err.msg);
    ax_net *net = NULL;
    ck_assert_msg(ax_net_create(&net, spec, batch, &ax_backend_cpu, &err) == AX_OK, "%s", err.msg);
    free(spec);
    return net;
}

static const char *SMALL =
    "name small\ninput 3 12 14\npreprocess resize=none order=rgb scale=1 mean=0,0,0 std=1,1,1\n"
    "conv c1 out=4 k=3 pad=1\nrelu r1\nlrn n1 size=3 alpha=0.5 beta=0.75 k=1\nmaxpool p1 k=2 s=2\n"
    "conv c2 out=6 k=3 pad=same groups=2\nrelu r2\navgpool a size=2x2\nflatten f order=hwc\n"
    "dropout d p=0.5\nfc fc1 out=5\nsoftmax prob\n";

/* The whole small net: d logit[k] / d input against central differences of
 * the engine's own float forward (a loose check: float forward, but every
 * layer's wiring is in it). */
START_TEST(net_input_grad)
{
    ax_net *net = small_net(SMALL, 2);
    ax_error err = {0};
    size_t nin = ax_tensor_numel(&net->input);
    float *x = malloc(nin * 4);
    ck_assert_ptr_nonnull(x);
    ax_fill_uniform(x, nin, -1, 1, 3);
    ck_assert(ax_net_set_input(net, x, 2, 3, 12, 14, &err) == AX_OK);
    ax_grad *g = NULL;
    ck_assert_msg(ax_grad_create(&g, net, &err) == AX_OK, "%s", err.msg);
    ck_assert(ax_grad_forward(g, 0, 0, &err) == AX_OK);
    int cls[2] = {3, 1};
    int top = ax_grad_seed_logit(g, cls, NULL, &err);
    ck_assert_int_eq(top, net->nlayers - 2);
    ck_assert_msg(ax_grad_backward(g, top, 1, &err) == AX_OK, "%s", err.msg);

    const float eps = 1e-2f;
    int per = 5;
    for (size_t i = 0; i < nin; i += 7) {
        float keep = x[i];
        double l[2];
        for (int s = 0; s < 2; s++) {
            x[i] = keep + (s ? eps : -eps);
            ax_net_set_input(net, x, 2, 3, 12, 14, &err);
            ax_net_forward(net, &err);
            const float *lg = net->layers[top].out.data;
            l[s] = (double)lg[cls[0]] + lg[per + cls[1]];
        }
        x[i] = keep;
        double fd = (l[1] - l[0]) / (2 * eps), got = g->d_input.data[i];
        ck_assert_msg(fabs(got - fd) <= 2e-3 + 2e-2 * fabs(fd), "d logit / d input[%zu]: %g, differences %g", i,
                      got, fd);
    }
    free(x);
    ax_grad_free(g);
    ax_net_free(net);
}
END_TEST

/* Frozen layers get no gradient written, and nothing below the lowest
 * trainable layer is touched. */
START_TEST(net_frozen)
{
    ax_net *net = small_net(SMALL, 1);
    ax_error err = {0};
    size_t nin = ax_tensor_numel(&net->input);
    ax_fill_uniform(net->input.data, nin, -1, 1, 4);
    ax_grad *g = NULL;
    ck_assert(ax_grad_create(&g, net, &err) == AX_OK);
    int c2 = ax_net_find(net, "c2"), c1 = ax_net_find(net, "c1");
    g->frozen[c1] = 1;
    size_t nw1 = ax_tensor_numel(&g->d_weight[c1]);
    for (size_t i = 0; i < nw1; i++) g->d_weight[c1].data[i] = 42.0f;
    size_t nd = ax_tensor_numel(&g->d_out[c1]);
    for (size_t i = 0; i < nd; i++) g->d_out[c1].data[i] = 42.0f;
    ck_assert(ax_grad_forward(g, 1, 9, &err) == AX_OK);
    int top = ax_grad_seed_logit(g, NULL, NULL, &err);
    ck_assert(ax_grad_backward(g, top, 0, &err) == AX_OK);
    for (size_t i = 0; i < nw1; i++) ck_assert(g->d_weight[c1].data[i] == 42.0f);
    for (size_t i = 0; i < nd; i++) ck_assert(g->d_out[c1].data[i] == 42.0f);
    double s = 0;
    for (size_t i = 0; i < ax_tensor_numel(&g->d_weight[c2]); i++) s += fabsf(g->d_weight[c2].data[i]);
    ck_assert_msg(s > 0, "c2 is trainable and got no gradient");
    ck_assert(g->ms[c1] == 0);
    ax_grad_free(g);
    ax_net_free(net);
}
END_TEST

/* ---- whole nets against PyTorch autograd ------------------------------------------------ */

/* Same rule as the forward reference (check_reference.c): per tensor,
 * |got - ref| <= 1e-4 * max|ref| + 1e-4 * |ref|. The fixture script reports
 * float32 autograd within 3e-6 of max|grad| of float64 autograd on these nets. */
#define REF_ATOL_OF_MAX 1e-4
#define REF_RTOL 1e-4
/* tests/fixtures/grad/make_grad_fixtures.py keeps flat[::stride] of larger tensors. */
#define FIXTURE_KEEP 2048

static void compare_member(const ax_wfile *f, const char *name, const float *got, size_t n, const char *netname)
{
    const ax_wentry *e = ax_wfile_find(f, name);
    ck_assert_msg(e != NULL, "%s: no reference gradient '%s'", netname, name);
    size_t stride = n <= FIXTURE_KEEP ? 1 : (n + FIXTURE_KEEP - 1) / FIXTURE_KEEP;
    size_t m = (n + stride - 1) / stride;
    ck_assert_msg(ax_wentry_numel(e) == m, "%s '%s': %zu reference values, expected %zu of %zu", netname, name,
                  ax_wentry_numel(e), m, n);
    float *ref = malloc(m * sizeof *ref), *sub = malloc(m * sizeof *sub);
    ck_assert(ref && sub);
    ax_wentry_to_f32(e, ref);
    float mx = 0;
    for (size_t i = 0; i < m; i++) {
        sub[i] = got[i * stride];
        mx = fmaxf(mx, fabsf(ref[i]));
    }
    ck_assert_msg(mx > 0, "%s '%s': the reference gradient is all zeros", netname, name);
    char label[160];
    snprintf(label, sizeof label, "%s gradient '%s'", netname, name);
    check_close(sub, ref, m, REF_ATOL_OF_MAX * mx, REF_RTOL, label);
    free(ref);
    free(sub);
}

static void check_net_grad(const char *netname)
{
    char path[4096], name[256];
    ax_error err = {0};
    ax_spec *spec = malloc(sizeof *spec);
    ck_assert_ptr_nonnull(spec);
    snprintf(name, sizeof name, "ref/%s.net", netname);
    ck_assert_msg(ax_spec_load(spec, ax_fixture(name), &err) == AX_OK, "%s", err.msg);
    float *input = NULL;
    int n, c, h, w;
    snprintf(name, sizeof name, "ref/%s.input.npy", netname);
    snprintf(path, sizeof path, "%s", ax_fixture(name));
    ck_assert_msg(ax_input_npy_load(&input, &n, &c, &h, &w, path, &err) == AX_OK, "%s", err.msg);
    ax_net *net = NULL;
    ck_assert_msg(ax_net_create(&net, spec, n, &ax_backend_cpu, &err) == AX_OK, "%s", err.msg);
    free(spec);
    snprintf(name, sizeof name, "ref/%s.safetensors", netname);
    snprintf(path, sizeof path, "%s", ax_fixture(name));
    ck_assert_msg(ax_net_load_weights(net, path, 0, NULL, 0, &err) == AX_OK, "%s", err.msg);
    ck_assert(ax_net_set_input(net, input, n, c, h, w, &err) == AX_OK);
    free(input);
    ax_wfile *f = NULL;
    snprintf(name, sizeof name, "grad/%s.grad.npz", netname);
    snprintf(path, sizeof path, "%s", ax_fixture(name));
    ck_assert_msg(ax_wfile_open(&f, path, &err) == AX_OK, "%s", err.msg);

    ax_grad *g = NULL;
    ck_assert_msg(ax_grad_create(&g, net, &err) == AX_OK, "%s", err.msg);
    ck_assert(ax_grad_forward(g, 0, 0, &err) == AX_OK);
    int top;
    const ax_wentry *ce = ax_wfile_find(f, "classes");
    ck_assert_ptr_nonnull(ce);
    if (ax_wentry_numel(ce) > 0) {
        int classes[8];
        float want[8];
        ck_assert_int_eq(ax_wentry_numel(ce), n);
        ax_wentry_to_f32(ce, want);
        top = ax_grad_seed_logit(g, NULL, classes, &err);
        ck_assert_int_eq(top, net->nlayers - 2);
        for (int i = 0; i < n; i++) ck_assert_msg(classes[i] == (int)want[i], "%s image %d: top class %d, PyTorch %d",
                                                  netname, i, classes[i], (int)want[i]);
    } else {
        top = ax_grad_seed_l2(g, NULL);
        ck_assert_int_eq(top, net->nlayers - 1);
    }
    ck_assert_msg(ax_grad_backward(g, top, 1, &err) == AX_OK, "%s", err.msg);

    int members = 1;
    compare_member(f, "input", g->d_input.data, ax_tensor_numel(&g->d_input), netname);
    for (int i = 0; i <= top; i++) {
        const char *ln = net->layers[i].spec.name;
        compare_member(f, ln, g->d_out[i].data, ax_tensor_numel(&g->d_out[i]), netname);
        members++;
        if (g->d_weight[i].data) {
            snprintf(name, sizeof name, "%s.weight", ln);
            compare_member(f, name, g->d_weight[i].data, ax_tensor_numel(&g->d_weight[i]), netname);
            members++;
        }
        if (g->d_bias[i].data) {
            snprintf(name, sizeof name, "%s.bias", ln);
            compare_member(f, name, g->d_bias[i].data, ax_tensor_numel(&g->d_bias[i]), netname);
            members++;
        }
    }
    ck_assert_msg(members + 1 == f->count, "%s: compared %d gradients, the fixture has %d", netname, members,
                  f->count - 1);
    ax_wfile_close(f);
    ax_grad_free(g);
    ax_net_free(net);
}

START_TEST(ref_caffe) { check_net_grad("caffe-tiny"); }
END_TEST
START_TEST(ref_torchvision) { check_net_grad("torchvision-tiny"); }
END_TEST
START_TEST(ref_tf_bench) { check_net_grad("tf-bench-tiny"); }
END_TEST
START_TEST(ref_keras_half) { check_net_grad("keras-half-tiny"); }
END_TEST

static Suite *grad_suite(void)
{
    Suite *s = suite_create("grad");
    TCase *t = tcase_create("kernels");
    tcase_set_timeout(t, AX_CHECK_TIMEOUT);
    tcase_add_test(t, conv_basic);
    tcase_add_test(t, conv_groups_slots);
    tcase_add_test(t, conv_asymmetric);
    tcase_add_test(t, conv_split_image);
    tcase_add_test(t, fc_grad);
    tcase_add_test(t, relu_grad);
    tcase_add_test(t, lrn_grad);
    tcase_add_test(t, maxpool_grad);
    tcase_add_test(t, maxpool_ties);
    tcase_add_test(t, avgpool_grad);
    tcase_add_test(t, pad_flatten_grad);
    tcase_add_test(t, dropout_grad);
    tcase_add_test(t, softmax_grad);
    tcase_add_test(t, xent_grad);
    suite_add_tcase(s, t);
    TCase *n = tcase_create("net");
    tcase_set_timeout(n, AX_CHECK_TIMEOUT);
    tcase_add_test(n, net_input_grad);
    tcase_add_test(n, net_frozen);
    suite_add_tcase(s, n);
    TCase *r = tcase_create("reference");
    tcase_set_timeout(r, AX_CHECK_TIMEOUT);
    tcase_add_test(r, ref_caffe);
    tcase_add_test(r, ref_torchvision);
    tcase_add_test(r, ref_tf_bench);
    tcase_add_test(r, ref_keras_half);
    suite_add_tcase(s, r);
    return s;
}

int main(void)
{
    return ax_run_suite(grad_suite());
}
