/* OpenBLAS picks its kernels in a library constructor, before main, from
 * OPENBLAS_CORETYPE or its own CPU detection. Both can leave an AVX-512
 * machine on the AVX2 (Haswell) kernels at about half the speed: an
 * environment that pins OPENBLAS_CORETYPE=Haswell for portability, or a build
 * that does not know the CPU. The kernel can only change at load time, so the
 * program re-executes itself once with OPENBLAS_CORETYPE raised.
 * Machines pin kernels because some OpenBLAS builds compute wrong results on
 * some processors, so the raised kernels must prove themselves: the
 * re-executed program multiplies the GEMM and GEMV shapes the engine uses and
 * compares them with a plain loop in double; when they disagree it goes back
 * to the kernels it came from (one more re-exec) and says why.
 * ALEXSCOPE_BLAS_CORETYPE=NAME picks a kernel; ALEXSCOPE_NO_BLAS_TUNE=1 leaves
 * OpenBLAS alone; ALEXSCOPE_BLAS_SELFTEST_FAIL=1 makes the check fail (for
 * testing the fall-back only). */
#define _GNU_SOURCE
#include "blas_tune.h"
#include "backends/cpu/threads.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "alexscope/cpu.h"
#include "config.h"

/* Set in the re-executed process: the kernel OpenBLAS had chosen before. */
#define TUNED_VAR "ALEXSCOPE_BLAS_TUNED_FROM"
/* OPENBLAS_CORETYPE as the user had it, when set, to restore on a fall-back. */
#define ORIG_VAR "ALEXSCOPE_BLAS_ORIG_CORETYPE"
/* Set in the process that fell back: why the raised kernels were refused. */
#define FALLBACK_VAR "ALEXSCOPE_BLAS_FELL_BACK"

static int has_skylakex_isa(void)
{
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
#else
    return 0;
#endif
}

/* OpenBLAS core names whose single-precision kernels stop at AVX2 or below. */
static int below_avx512(const char *core)
{
    static const char *const names[] = {"Haswell", "Zen", "SandyBridge", "Sandybridge", "Nehalem", "Prescott",
                                        "Core2", "Penryn", "Dunnington", "Atom", "Barcelona", "Bulldozer",
                                        "Piledriver", "Steamroller", "Excavator", "Opteron", "Katmai",
                                        "Coppermine", "Northwood", "Banias"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (!strcasecmp(core, names[i])) return 1;
    return 0;
}

/* Deterministic values in [-1, 1). */
static void fill(float *x, int n, unsigned seed)
{
    for (int i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        x[i] = (float)((seed >> 8) * (1.0 / 8388608.0) - 1.0);
    }
}

/* Worst |got - exact| over the bound float's rounding allows, sum |a*b| * tol:
 * above 1, a kernel is wrong. c (m x n) = a (m x k) . b, with b (k x n) or, when
 * bt, b^T for b (n x k); all row-major. Rows are summed in double, row by row
 * of b, so the loop streams memory. */
static double worst_ratio(const float *c, const float *a, const float *b, int m, int n, int k, int bt)
{
    const double tol = 64 * 1.2e-7;
    double *sum = malloc(sizeof(double) * 2 * (size_t)n), *mag = sum + n;
    if (!sum) return 0;
    double worst = 0;
    for (int i = 0; i < m; i++) {
        for (int j = 0; j < n; j++) sum[j] = mag[j] = 0;
        for (int p = 0; p < k; p++) {
            double x = a[(size_t)i * k + p];
            for (int j = 0; j < n; j++) {
                double t = x * (bt ? b[(size_t)j * k + p] : b[(size_t)p * n + j]);
                sum[j] += t;
                mag[j] += fabs(t);
            }
        }
        for (int j = 0; j < n; j++) {
            double r = fabs(c[(size_t)i * n + j] - sum[j]) / (mag[j] * tol + 1e-30);
            if (!(r <= worst)) worst = r;   /* NaN counts as the worst */
        }
    }
    free(sum);
    return worst;
}

int ax_blas_selfcheck(char *why, size_t size)
{
    /* The engine's calls (src/cpu/conv.c, fc.c): a convolution's GEMM, filters
     * (M = OC/groups, K = C/groups*KH*KW) times an im2col block (K, N = rows *
     * OW), at odd sizes that reach the kernels' edge cases; a batched FC, in
     * (N, IN) times w^T (OUT, IN); and the batch-1 FC's GEMV. Each GEMM is
     * above OpenBLAS's small-matrix limit (M*N*K > 64^3), so it runs the
     * kernels the layers run. About 2.5 M multiply-adds, a few milliseconds. */
    static const struct { const char *what; int m, n, k, bt; } shapes[] = {
        {"conv sgemm (96 x 169 x 75)", 96, 169, 75, 0},
        {"conv sgemm (64 x 54 x 147)", 64, 54, 147, 0},
        {"fc sgemm (8 x 64 x 600)", 8, 64, 600, 1},
        {"fc sgemv (500 x 1031)", 500, 1, 1031, 2},
    };
    /* on one thread, as the kernels run it: OpenBLAS's own threads, once
     * woken, spin for a while on the core a weight load would use */
    ax_cpu_blas_single();
    int fail_all = getenv("ALEXSCOPE_BLAS_SELFTEST_FAIL") != NULL;
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        int m = shapes[s].m, n = shapes[s].n, k = shapes[s].k;
        float *a = malloc(sizeof(float) * ((size_t)m * k + (size_t)k * n + (size_t)m * n));
        if (!a) return 0;   /* nothing learnt: keep the kernels */
        float *b = a + (size_t)m * k, *c = b + (size_t)k * n;
        fill(a, m * k, 1u + (unsigned)s);
        fill(b, k * n, 77u + (unsigned)s);
        double r;
        if (shapes[s].bt == 2) {
            cblas_sgemv(CblasRowMajor, CblasNoTrans, m, k, 1.0f, a, k, b, 1, 0.0f, c, 1);
            r = worst_ratio(c, a, b, m, 1, k, 0);
        } else if (shapes[s].bt) {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1.0f, a, k, b, k, 0.0f, c, n);
            r = worst_ratio(c, a, b, m, n, k, 1);
        } else {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, a, k, b, n, 0.0f, c, n);
            r = worst_ratio(c, a, b, m, n, k, 0);
        }
        free(a);
        if (fail_all) r = INFINITY;
        if (!(r <= 1.0)) {
            if (fail_all) snprintf(why, size, "%s: failure forced by ALEXSCOPE_BLAS_SELFTEST_FAIL", shapes[s].what);
            else snprintf(why, size, "%s is off by %.3g times float32's rounding bound", shapes[s].what, r);
            return -1;
        }
    }
    return 0;
}

void ax_blas_tune(int argc, char **argv)
{
    (void)argc;
#ifdef HAVE_OPENBLAS_GET_CORENAME
    if (getenv(FALLBACK_VAR) || getenv("ALEXSCOPE_NO_BLAS_TUNE")) return;
    const char *from = getenv(TUNED_VAR);
    if (from) {
        /* The re-executed program: keep the raised kernels only if they are right. */
        char why[200];
        if (!ax_blas_selfcheck(why, sizeof why)) return;
        const char *raised = openblas_get_corename();
        fprintf(stderr, "alexscope: OpenBLAS's %s kernels failed the self-check (%s); going back to the %s kernels\n",
                raised ? raised : "raised", why, from);
        char reason[400];
        snprintf(reason, sizeof reason, "%s kernels failed the self-check: %s", raised ? raised : "raised", why);
        setenv(FALLBACK_VAR, reason, 1);
        const char *orig = getenv(ORIG_VAR);
        if (orig) setenv("OPENBLAS_CORETYPE", orig, 1);
        else unsetenv("OPENBLAS_CORETYPE");
        unsetenv(ORIG_VAR);
        unsetenv(TUNED_VAR);
        execv("/proc/self/exe", argv);
        /* exec failed: the raised kernels are all there is. */
        return;
    }
    const char *core = openblas_get_corename();
    if (!core) return;
    const char *want = getenv("ALEXSCOPE_BLAS_CORETYPE");
    if (want && *want) {
        if (!strcasecmp(core, want)) return;
    } else {
        if (!has_skylakex_isa() || !below_avx512(core)) return;
        want = "SkylakeX";
    }
    setenv(TUNED_VAR, core, 1);
    const char *orig = getenv("OPENBLAS_CORETYPE");
    if (orig) setenv(ORIG_VAR, orig, 1);
    setenv("OPENBLAS_CORETYPE", want, 1);
    execv("/proc/self/exe", argv);
    /* exec failed: go on with the kernels we have. */
    unsetenv(TUNED_VAR);
#else
    (void)argv;
#endif
}

const char *ax_blas_tuned_from(void)
{
    return getenv(TUNED_VAR);
}

const char *ax_blas_fell_back(void)
{
    return getenv(FALLBACK_VAR);
}

/* The public names (include/alexscope/cpu.h) of the CPU backend's BLAS controls. */
void ax_cpu_blas_tune(int argc, char **argv)
{
    ax_blas_tune(argc, argv);
}
