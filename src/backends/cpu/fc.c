/* CPU fully connected layer on OpenBLAS: sgemv for a single image, sgemm for a
 * batch, split by outputs across the CPU pool. Weights are (OUT, IN) as in Caffe/PyTorch; converting other layouts is
 * the loader's job, not this file's. No allocation. */
#include "alexscope/layers.h"

#include <cblas.h>
#include <string.h>

#include "core/parallel.h"
#include "backends/cpu/threads.h"

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

/* in (N, IN), w (OUT, IN), b (OUT) or NULL -> out (N, OUT); out must not overlap in. */
void ax_fc(float *out, const float *in, const float *w, const float *b,
           int n, int in_f, int out_f)
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
