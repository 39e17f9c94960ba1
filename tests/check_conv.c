/* Check suite "conv": the CPU convolutions, forward and backward, on every
 * path the build has (im2col + OpenBLAS; oneDNN direct; oneDNN with
 * Winograd allowed, which it takes for 3x3 stride-1 layers from batch 8 where
 * the CPU has the kernel), at 1 and 2 threads, against the naive references:
 * ref_conv2d for the forward (tolerance of check_layers), a double loop from
 * the definition for dX, dW and db (tolerance of check_grad). Without oneDNN
 * in the build its cases are absent; the im2col ones still run. */
#include "alexscope/cpu.h"
#include "alexscope/grad.h"
#include "alexscope/layers.h"
#include "alexscope/spec.h"
#include "backends/cpu/conv_dnnl.h"
#include "check_util.h"
#include "ref_layers.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GUARD 16
#define SENTINEL 12345.678f
#define NAIVE_TOL 2e-5            /* check_grad's bound against its naive double backward */

typedef struct {
    int n, c, h, w, oc, kh, kw, sh, sw, pt, pl, pb, pr, groups, bias;
} conv_case;

enum { P_IM2COL, P_DIRECT, P_WINO, P_COUNT };
static const char *const path_name[P_COUNT] = {"im2col", "onednn-direct", "onednn"};

static float *alloc_guarded(size_t n)
{
    float *p = malloc(sizeof(float) * (n + GUARD));
    ck_assert_ptr_nonnull(p);
    for (size_t i = 0; i < n + GUARD; i++) p[i] = SENTINEL;
    return p;
}

static void check_guard(const float *p, size_t n, const char *label)
{
    for (size_t i = n; i < n + GUARD; i++)
        ck_assert_msg(p[i] == SENTINEL, "%s: wrote past its %zu floats (at +%zu)", label, n, i - n);
}

static ax_window window_of(conv_case k)
{
    ax_window g = {
        .n = k.n, .c = k.c, .h = k.h, .w = k.w, .oc = k.oc,
        .oh = ax_window_out(k.h, k.kh, k.sh, k.pt, k.pb, 0),
        .ow = ax_window_out(k.w, k.kw, k.sw, k.pl, k.pr, 0),
        .kh = k.kh, .kw = k.kw, .sh = k.sh, .sw = k.sw,
        .pad_t = k.pt, .pad_l = k.pl, .groups = k.groups,
    };
    return g;
}

/* The paths of this build. */
static int npaths(void) { return ax_conv_have_onednn() ? P_COUNT : 1; }

/* ---- forward ------------------------------------------------------------------ */

static void run_fwd(conv_case k, uint64_t seed, const char *label)
{
    ax_window g = window_of(k);
    const int cg = k.c / k.groups, kdim = cg * k.kh * k.kw;
    const size_t nin = (size_t)k.n * k.c * k.h * k.w, nw = (size_t)k.oc * kdim;
    float *in = alloc_guarded(nin), *w = alloc_guarded(nw), *b = k.bias ? alloc_guarded((size_t)k.oc) : NULL;
    ax_fill_uniform(in, nin, -1.0f, 1.0f, seed);
    ax_fill_uniform(w, nw, -0.5f, 0.5f, seed + 1);
    if (b) ax_fill_uniform(b, (size_t)k.oc, -1.0f, 1.0f, seed + 2);
    int roh, row;
    size_t nref = (size_t)k.n * k.oc * (k.h + k.pt + k.pb) * (k.w + k.pl + k.pr);
    float *ref = alloc_guarded(nref);
    ref_conv2d(ref, in, w, b, k.n, k.c, k.h, k.w, k.oc, k.kh, k.kw, k.sh, k.sw, k.pt, k.pl, k.pb, k.pr, k.groups,
               &roh, &row);
    ck_assert_msg(g.oh == roh && g.ow == row, "%s: ax_window_out %dx%d, reference %dx%d", label, g.oh, g.ow, roh, row);
    const size_t nout = (size_t)k.n * k.oc * g.oh * g.ow, nscr = ax_conv2d_scratch(&g);
    float *out = alloc_guarded(nout), *scratch = alloc_guarded(nscr);
    /* check_layers' bound: a few ulp of the typical output sqrt(K) * 0.5 / 3 */
    double atol = 3e-6 * sqrt((double)kdim) + 1e-6;
    for (int threads = 1; threads <= 2; threads++) {
        ax_cpu_set_threads(threads);
        for (int p = 0; p < npaths(); p++) {
            char lab[200];
            snprintf(lab, sizeof lab, "%s [%s, %d thread%s]", label, path_name[p], threads, threads > 1 ? "s" : "");
            for (size_t i = 0; i < nout; i++) out[i] = NAN;
            if (p == P_IM2COL) {
                ax_conv2d_im2col(out, in, w, b, scratch, &g);
            } else {
                ck_assert_msg(ax_conv2d_onednn(out, in, w, b, &g, p == P_WINO) == 0, "%s: oneDNN refused the shape",
                              lab);
                /* Winograd where it was asked for and the CPU has it. */
                int wino = p == P_WINO && ax_conv_onednn_winograd_available() && k.kh == 3 && k.kw == 3 &&
                           k.sh == 1 && k.sw == 1 && k.n >= 8 && k.groups == 1;
                if (wino)
                    ck_assert_msg(ax_conv_onednn_uses_winograd(&g, b != NULL), "%s: Winograd was not used", lab);
            }
            check_close(out, ref, nout, atol, 1e-5, lab);
            check_guard(out, nout, lab);
        }
    }
    check_guard(in, nin, "conv input");
    check_guard(w, nw, "conv weights");
    check_guard(scratch, nscr, "conv scratch");
    free(in); free(w); free(b); free(ref); free(out); free(scratch);
}

START_TEST(fwd_basic)
{
    run_fwd((conv_case){1, 4, 9, 7, 6, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1}, 11, "3x3 p1 n1");
    run_fwd((conv_case){2, 4, 9, 7, 6, 3, 3, 1, 1, 1, 1, 1, 1, 1, 0}, 12, "3x3 p1 n2 no bias");
    run_fwd((conv_case){1, 3, 6, 5, 2, 3, 2, 2, 1, 0, 0, 0, 0, 1, 1}, 13, "kh!=kw sh!=sw");
    run_fwd((conv_case){2, 8, 5, 6, 4, 1, 1, 1, 1, 0, 0, 0, 0, 2, 1}, 14, "1x1 g2");
}
END_TEST

START_TEST(fwd_groups_strides)
{
    run_fwd((conv_case){1, 6, 10, 11, 8, 5, 5, 1, 1, 2, 2, 2, 2, 2, 1}, 21, "5x5 g2 p2 n1");
    run_fwd((conv_case){2, 6, 10, 11, 8, 5, 5, 1, 1, 2, 2, 2, 2, 2, 1}, 22, "5x5 g2 p2 n2");
    run_fwd((conv_case){8, 8, 9, 9, 12, 3, 3, 1, 1, 1, 1, 1, 1, 2, 1}, 23, "3x3 g2 n8");
    run_fwd((conv_case){1, 12, 8, 8, 9, 3, 3, 1, 1, 1, 1, 1, 1, 3, 1}, 24, "3x3 g3 n1");
    run_fwd((conv_case){3, 3, 35, 31, 5, 11, 11, 4, 4, 0, 0, 0, 0, 1, 1}, 25, "11x11 s4 n3");
    run_fwd((conv_case){1, 4, 30, 27, 6, 11, 11, 4, 4, 2, 2, 2, 2, 2, 1}, 26, "11x11 s4 p2 g2");
    run_fwd((conv_case){2, 4, 15, 14, 6, 3, 3, 2, 3, 1, 1, 1, 1, 1, 1}, 27, "3x3 s2x3");
}
END_TEST

START_TEST(fwd_pads)
{
    int oh, pt, pb, ow, pl, pr;
    ax_same_padding(24, 5, 2, &oh, &pt, &pb);
    ax_same_padding(28, 3, 2, &ow, &pl, &pr);
    run_fwd((conv_case){2, 4, 24, 28, 6, 5, 3, 2, 2, pt, pl, pb, pr, 2, 1}, 41, "SAME asym g2");
    run_fwd((conv_case){1, 2, 9, 10, 3, 3, 3, 1, 1, 0, 1, 2, 0, 1, 1}, 42, "pad t0 l1 b2 r0");
    run_fwd((conv_case){2, 4, 7, 8, 6, 4, 2, 1, 1, 1, 0, 2, 1, 2, 1}, 43, "SAME k4x2");
    run_fwd((conv_case){1, 2, 4, 5, 3, 3, 3, 1, 1, 3, 3, 3, 3, 1, 1}, 44, "pad 3 k3");
    run_fwd((conv_case){2, 2, 4, 5, 3, 3, 3, 2, 3, 3, 4, 3, 4, 1, 1}, 45, "pad 3/4 s2/3");
    /* floor division drops the last input row and column (implied pad -1) */
    run_fwd((conv_case){2, 3, 8, 10, 4, 3, 3, 2, 3, 0, 0, 0, 0, 1, 1}, 46, "dropped row and column");
}
END_TEST

/* The shapes that split over threads every way: images, groups, output
 * channels at batch 1; 3x3 at batch 8 (Winograd where the CPU has it). */
START_TEST(fwd_alexnet_like)
{
    run_fwd((conv_case){1, 96, 27, 27, 64, 5, 5, 1, 1, 2, 2, 2, 2, 2, 1}, 61, "conv2-like g2 n1");
    run_fwd((conv_case){2, 64, 13, 13, 96, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1}, 62, "conv3-like n2");
    run_fwd((conv_case){1, 64, 13, 13, 96, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1}, 63, "conv3-like n1 oc split");
    run_fwd((conv_case){8, 32, 13, 13, 48, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1}, 64, "3x3 n8 winograd");
    run_fwd((conv_case){8, 32, 13, 13, 48, 3, 3, 1, 1, 1, 1, 1, 1, 2, 0}, 65, "3x3 g2 n8 no bias");
    run_fwd((conv_case){8, 3, 35, 35, 16, 11, 11, 4, 4, 2, 2, 1, 1, 1, 1}, 66, "conv1-like n8");
}
END_TEST

/* ---- backward --------------------------------------------------------------- */

static void bwd_ref(const ax_window *g, double *dx, double *dw, double *db, const float *dy, const float *x,
                    const float *w)
{
    const int cg = g->c / g->groups, ocg = g->oc / g->groups;
    for (int n = 0; n < g->n; n++)
        for (int oc = 0; oc < g->oc; oc++)
            for (int oy = 0; oy < g->oh; oy++)
                for (int ox = 0; ox < g->ow; ox++) {
                    double d = dy[(((size_t)n * g->oc + oc) * g->oh + oy) * g->ow + ox];
                    int gi = oc / ocg;
                    db[oc] += d;
                    for (int ci = 0; ci < cg; ci++)
                        for (int ki = 0; ki < g->kh; ki++)
                            for (int kj = 0; kj < g->kw; kj++) {
                                int iy = oy * g->sh - g->pad_t + ki, ix = ox * g->sw - g->pad_l + kj;
                                if (iy < 0 || iy >= g->h || ix < 0 || ix >= g->w) continue;
                                size_t wi = ((size_t)(oc * cg + ci) * g->kh + ki) * g->kw + kj;
                                size_t xi = (((size_t)n * g->c + gi * cg + ci) * g->h + iy) * g->w + ix;
                                dw[wi] += d * x[xi];
                                dx[xi] += d * w[wi];
                            }
                }
}

static double max_abs(const double *v, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs(v[i]));
    return m;
}

static void run_bwd(conv_case k, uint64_t seed, const char *label)
{
    ax_window g = window_of(k);
    const size_t nx = (size_t)k.n * k.c * k.h * k.w, nw = (size_t)k.oc * (k.c / k.groups) * k.kh * k.kw;
    const size_t ny = (size_t)k.n * k.oc * g.oh * g.ow, nb = (size_t)k.oc;
    float *x = alloc_guarded(nx), *w = alloc_guarded(nw), *dy = alloc_guarded(ny);
    float *dx = alloc_guarded(nx), *dw = alloc_guarded(nw), *db = alloc_guarded(nb);
    ax_fill_uniform(x, nx, -1.0f, 1.0f, seed);
    ax_fill_uniform(w, nw, -0.5f, 0.5f, seed + 1);
    ax_fill_uniform(dy, ny, -1.0f, 1.0f, seed + 3);
    double *rdx = calloc(nx, sizeof *rdx), *rdw = calloc(nw, sizeof *rdw), *rdb = calloc(nb, sizeof *rdb);
    float *ref = malloc((nx + nw + nb) * sizeof *ref);
    ck_assert(rdx && rdw && rdb && ref);
    bwd_ref(&g, rdx, rdw, rdb, dy, x, w);
    for (int threads = 1; threads <= 2; threads++) {
        ax_cpu_set_threads(threads);
        for (int p = 0; p < npaths(); p++) {
            if (p == P_WINO) continue;          /* backward is direct on every oneDNN path */
            char lab[200];
            snprintf(lab, sizeof lab, "%s [%s, %d thread%s]", label, path_name[p], threads, threads > 1 ? "s" : "");
            for (size_t i = 0; i < nx; i++) dx[i] = NAN;
            for (size_t i = 0; i < nw; i++) dw[i] = NAN;
            for (size_t i = 0; i < nb; i++) db[i] = NAN;
            if (p == P_IM2COL) {
                int slots = threads <= k.n ? threads : 1;
                float *scratch = malloc((ax_conv2d_bwd_scratch(&g) * slots + 16) * sizeof(float));
                ck_assert_ptr_nonnull(scratch);
                ax_conv2d_bwd_im2col(dx, dw, db, dy, x, w, scratch, slots, &g);
                free(scratch);
            } else {
                ck_assert_msg(ax_conv2d_bwd_onednn(dx, dw, db, dy, x, w, &g) == 0, "%s: oneDNN refused the shape",
                              lab);
            }
            const struct { const char *what; float *got; double *want; size_t n; } parts[3] = {
                {"dx", dx, rdx, nx}, {"dw", dw, rdw, nw}, {"db", db, rdb, nb}};
            for (int q = 0; q < 3; q++) {
                char l2[240];
                snprintf(l2, sizeof l2, "%s %s", lab, parts[q].what);
                for (size_t i = 0; i < parts[q].n; i++) ref[i] = (float)parts[q].want[i];
                check_close(parts[q].got, ref, parts[q].n, NAIVE_TOL * max_abs(parts[q].want, parts[q].n), NAIVE_TOL,
                            l2);
                check_guard(parts[q].got, parts[q].n, l2);
            }
            if (p != P_IM2COL) {
                /* dX alone, and dW/db alone, as the trainer's frozen layers ask */
                for (size_t i = 0; i < nx; i++) dx[i] = NAN;
                ck_assert_int_eq(ax_conv2d_bwd_onednn(dx, NULL, NULL, dy, x, w, &g), 0);
                for (size_t i = 0; i < nx; i++) ref[i] = (float)rdx[i];
                check_close(dx, ref, nx, NAIVE_TOL * max_abs(rdx, nx), NAIVE_TOL, lab);
                for (size_t i = 0; i < nw; i++) dw[i] = NAN;
                ck_assert_int_eq(ax_conv2d_bwd_onednn(NULL, dw, NULL, dy, x, w, &g), 0);
                for (size_t i = 0; i < nw; i++) ref[i] = (float)rdw[i];
                check_close(dw, ref, nw, NAIVE_TOL * max_abs(rdw, nw), NAIVE_TOL, lab);
            }
        }
    }
    check_guard(x, nx, "x");
    check_guard(dy, ny, "dy");
    free(x); free(w); free(dy); free(dx); free(dw); free(db); free(rdx); free(rdw); free(rdb); free(ref);
}

START_TEST(bwd_basic)
{
    run_bwd((conv_case){2, 3, 6, 7, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1}, 101, "bwd 3x3 p1 n2");
    run_bwd((conv_case){1, 3, 6, 7, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1}, 102, "bwd 3x3 p1 n1");
    run_bwd((conv_case){3, 4, 9, 8, 6, 3, 3, 2, 2, 1, 1, 1, 1, 2, 1}, 103, "bwd g2 s2 n3");
    run_bwd((conv_case){3, 6, 11, 10, 6, 5, 5, 3, 3, 2, 2, 2, 2, 3, 1}, 104, "bwd g3 k5 s3");
}
END_TEST

START_TEST(bwd_pads)
{
    int oh, pt, pb, ow, pl, pr;
    ax_same_padding(8, 4, 2, &oh, &pt, &pb);
    ax_same_padding(9, 4, 2, &ow, &pl, &pr);
    run_bwd((conv_case){2, 2, 8, 9, 3, 4, 4, 2, 2, pt, pl, pb, pr, 1, 1}, 111, "bwd SAME k4 s2");
    run_bwd((conv_case){2, 3, 8, 10, 4, 3, 3, 2, 3, 0, 0, 0, 0, 1, 1}, 112, "bwd dropped row and column");
    run_bwd((conv_case){1, 2, 4, 5, 3, 3, 3, 1, 1, 3, 3, 3, 3, 1, 1}, 113, "bwd pad 3 k3");
}
END_TEST

START_TEST(bwd_alexnet_like)
{
    run_bwd((conv_case){1, 48, 13, 13, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1}, 121, "bwd 3x3 n1 channel split");
    run_bwd((conv_case){1, 32, 13, 13, 32, 5, 5, 1, 1, 2, 2, 2, 2, 2, 1}, 122, "bwd 5x5 g2 n1 group split");
    run_bwd((conv_case){8, 16, 13, 13, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1}, 123, "bwd 3x3 n8 image split");
    run_bwd((conv_case){2, 3, 35, 35, 16, 11, 11, 4, 4, 2, 2, 1, 1, 1, 1}, 124, "bwd conv1-like n2");
}
END_TEST

/* The dispatch: ALEXSCOPE_CONV's choice and ax_conv_set_path; ax_conv2d on
 * the chosen path gives that path's result. */
START_TEST(dispatch)
{
    char d[128];
    ax_conv_set_path(AX_CONV_IM2COL);
    ck_assert_int_eq(ax_conv_get_path(), AX_CONV_IM2COL);
    ax_conv_describe(d, sizeof d);
    ck_assert_str_eq(d, "im2col + OpenBLAS");
    ax_conv_set_path(AX_CONV_ONEDNN);
    ck_assert_int_eq(ax_conv_get_path(), ax_conv_have_onednn() ? AX_CONV_ONEDNN : AX_CONV_IM2COL);
    ax_conv_describe(d, sizeof d);
    ck_assert_msg(ax_conv_have_onednn() ? !strncmp(d, "onednn ", 7) : !strcmp(d, "im2col + OpenBLAS"), "%s", d);
}
END_TEST

static Suite *conv_suite(void)
{
    Suite *s = suite_create("conv");
    TCase *tc = tcase_create("paths");
    tcase_set_timeout(tc, AX_CHECK_TIMEOUT);
    tcase_add_test(tc, fwd_basic);
    tcase_add_test(tc, fwd_groups_strides);
    tcase_add_test(tc, fwd_pads);
    tcase_add_test(tc, fwd_alexnet_like);
    tcase_add_test(tc, bwd_basic);
    tcase_add_test(tc, bwd_pads);
    tcase_add_test(tc, bwd_alexnet_like);
    tcase_add_test(tc, dispatch);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    /* the pool starts with two threads (a later count is capped at it) */
    ax_cpu_set_threads(2);
    return ax_run_suite(conv_suite());
}
