/* CPU fully connected backward on OpenBLAS: dX = dY x W split by input
 * columns, dW = dY^T x X split by output rows, across the CPU pool. No
 * allocation. */
#include "alexscope/grad.h"
#include "core/parallel.h"
#include "backends/cpu/threads.h"

#include <cblas.h>
#include <string.h>

typedef struct {
    float *dx, *dw, *db;
    const float *dy, *x, *w;
    int n, in_f, out_f;
} fc_bwd_job;

/* dX[:, i0:i1] (N, IN) = dY (N, OUT) x W[:, i0:i1] (OUT, IN). */
static void dx_part(void *arg, int i0, int i1)
{
    const fc_bwd_job *j = arg;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, j->n, i1 - i0, j->out_f, 1.0f, j->dy, j->out_f,
                j->w + i0, j->in_f, 0.0f, j->dx + i0, j->in_f);
}

/* dW[o0:o1] (OUT, IN) = dY[:, o0:o1]^T x X (N, IN); db[o] = sum over the batch. */
static void dw_part(void *arg, int o0, int o1)
{
    const fc_bwd_job *j = arg;
    if (j->dw)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, o1 - o0, j->in_f, j->n, 1.0f, j->dy + o0, j->out_f,
                    j->x, j->in_f, 0.0f, j->dw + (size_t)o0 * j->in_f, j->in_f);
    if (j->db)
        for (int o = o0; o < o1; o++) {
            float s = 0;
            for (int r = 0; r < j->n; r++) s += j->dy[(size_t)r * j->out_f + o];
            j->db[o] = s;
        }
}

void ax_fc_bwd(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w,
               int n, int in_f, int out_f)
{
    ax_cpu_blas_single();
    if (n <= 0 || in_f <= 0 || out_f <= 0) {
        if (dx && n > 0 && in_f > 0) memset(dx, 0, sizeof(float) * (size_t)n * in_f);
        if (dw && in_f > 0 && out_f > 0) memset(dw, 0, sizeof(float) * (size_t)out_f * in_f);
        if (db && out_f > 0) memset(db, 0, sizeof(float) * out_f);
        return;
    }
    fc_bwd_job j = {dx, dw, db, dy, x, w, n, in_f, out_f};
    int big = (double)in_f * out_f * n >= 1e6;
    if (dx) {
        if (big) ax_parallel_for(in_f, dx_part, &j);
        else dx_part(&j, 0, in_f);
    }
    if (dw || db) {
        if (big) ax_parallel_for(out_f, dw_part, &j);
        else dw_part(&j, 0, out_f);
    }
}
