/* CPU fully connected layer: our own GEMV for a single image, OpenBLAS sgemm
 * for a batch (and sgemv as the GEMV's peer), split by outputs across the CPU
 * pool. Weights are (OUT, IN) as in Caffe/PyTorch; converting other layouts
 * is the loader's job, not this file's. No allocation. */
#include "alexscope/layers.h"

#include <cblas.h>
#include <string.h>

#include "core/parallel.h"
#include "backends/cpu/threads.h"

/* ---- batch 1: our own GEMV ------------------------------------------------
 * y = W x + b streams W (OUT, IN) once, so it runs at memory speed when the
 * rows are read as several sequential streams at once and x stays in cache
 * (36 KB for fc6: L1/L2). ROWS rows share each load of x; every row keeps
 * LANES independent partial sums (plain C that the compiler turns into AVX2
 * or AVX-512 FMAs, no reassociation needed), added up in a fixed order at
 * the end: a row's result does not depend on how the rows are split over
 * threads. */
#define ROWS 8
#define LANES 16

static inline float lanes_sum(const float *a)
{
    float s[LANES / 2];
    for (int l = 0; l < LANES / 2; l++) s[l] = a[l] + a[l + LANES / 2];
    return ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]));
}

/* Rows [o0, o1) of y = W x (+= onto y when add). Eight rows at a time (eight
 * streams from memory: one or two leave the memory system idle), the rest
 * one by one with the same arithmetic per row. */
static void gemv_rows(float *restrict y, const float *restrict w, const float *restrict x, int in_f, int o0, int o1,
                      int add)
{
    const size_t ld = (size_t)in_f;
    const int kv = in_f / LANES * LANES;
    int o = o0;
    for (; o + ROWS <= o1; o += ROWS) {
        const float *restrict wr = w + (size_t)o * ld;
        float a[ROWS][LANES];
        memset(a, 0, sizeof a);
        for (int k = 0; k < kv; k += LANES)
            for (int r = 0; r < ROWS; r++)
                for (int l = 0; l < LANES; l++) a[r][l] += wr[(size_t)r * ld + k + l] * x[k + l];
        for (int r = 0; r < ROWS; r++) {
            const float *restrict w0 = wr + (size_t)r * ld;
            float t = 0;
            for (int k = kv; k < in_f; k++) t += w0[k] * x[k];
            float v = lanes_sum(a[r]) + t;
            y[o + r] = add ? y[o + r] + v : v;
        }
    }
    for (; o < o1; o++) {
        const float *restrict w0 = w + (size_t)o * ld;
        float a0[LANES];
        memset(a0, 0, sizeof a0);
        for (int k = 0; k < kv; k += LANES)
            for (int l = 0; l < LANES; l++) a0[l] += w0[k + l] * x[k + l];
        float t = 0;
        for (int k = kv; k < in_f; k++) t += w0[k] * x[k];
        float v = lanes_sum(a0) + t;
        y[o] = add ? y[o] + v : v;
    }
}

/* ---- the layer -------------------------------------------------------------- */

/* Outputs [o0, o1) of every image: rows o0..o1 of w. */
typedef struct {
    float *out;
    const float *in, *w;
    float beta;
    int n, in_f, out_f;
} fc_job;

static void fc_part(void *arg, int o0, int o1)
{
    const fc_job *j = arg;
    const float *w = j->w + (size_t)o0 * j->in_f;
    if (j->n == 1)
        cblas_sgemv(CblasRowMajor, CblasNoTrans, o1 - o0, j->in_f, 1.0f, w, j->in_f, j->in, 1, j->beta,
                    j->out + o0, 1);
    else
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, j->n, o1 - o0, j->in_f, 1.0f, j->in, j->in_f,
                    w, j->in_f, j->beta, j->out + o0, j->out_f);
}

/* Blocks of ROWS outputs (the last one shorter). */
static void gemv_part(void *arg, int b0, int b1)
{
    const fc_job *j = arg;
    int o1 = b1 * ROWS < j->out_f ? b1 * ROWS : j->out_f;
    gemv_rows(j->out, j->w, j->in, j->in_f, b0 * ROWS, o1, j->beta != 0.0f);
}

void ax_fc_gemv(float *out, const float *in, const float *w, const float *b, int in_f, int out_f)
{
    if (out_f <= 0) return;
    if (b) memcpy(out, b, sizeof(float) * out_f);
    else if (in_f <= 0) memset(out, 0, sizeof(float) * out_f);
    if (in_f <= 0) return;
    fc_job job = {out, in, w, b ? 1.0f : 0.0f, 1, in_f, out_f};
    int blocks = (out_f + ROWS - 1) / ROWS;
    if ((double)out_f * in_f >= 1e6) ax_parallel_for(blocks, gemv_part, &job);
    else gemv_part(&job, 0, blocks);
}

/* in (N, IN), w (OUT, IN), b (OUT) or NULL -> out (N, OUT); out must not overlap in. */
void ax_fc_blas(float *out, const float *in, const float *w, const float *b, int n, int in_f, int out_f)
{
    ax_cpu_blas_single();
    if (n <= 0 || out_f <= 0) return;
    /* The bias is written first and BLAS adds onto it (beta = 1). */
    float beta = 0.0f;
    if (b) {
        for (int r = 0; r < n; r++) memcpy(out + (size_t)r * out_f, b, sizeof(float) * out_f);
        beta = 1.0f;
    }
    if (in_f <= 0) {
        if (!b) memset(out, 0, sizeof(float) * (size_t)n * out_f);
        return;
    }
    /* Split by outputs: at batch 1 this streams the weights from memory on
     * every core at once, which is what bounds the layer. */
    fc_job job = {out, in, w, beta, n, in_f, out_f};
    if ((double)out_f * in_f >= 1e6) ax_parallel_for(out_f, fc_part, &job);
    else fc_part(&job, 0, out_f);
}

void ax_fc(float *out, const float *in, const float *w, const float *b, int n, int in_f, int out_f)
{
    if (n == 1) ax_fc_gemv(out, in, w, b, in_f, out_f);
    else ax_fc_blas(out, in, w, b, n, in_f, out_f);
}
