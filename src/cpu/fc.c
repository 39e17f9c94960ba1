/* CPU fully connected layer on OpenBLAS: sgemv for a single image, sgemm for a
 * batch. Weights are (OUT, IN) as in Caffe/PyTorch; converting other layouts is
 * the loader's job, not this file's. No allocation. */
#include "alexscope/layers.h"

#include <cblas.h>
#include <string.h>

/* in (N, IN), w (OUT, IN), b (OUT) or NULL -> out (N, OUT); out must not overlap in. */
void ax_fc(float *out, const float *in, const float *w, const float *b,
           int n, int in_f, int out_f)
{
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
    if (n == 1) {
        cblas_sgemv(CblasRowMajor, CblasNoTrans, out_f, in_f, 1.0f, w, in_f, in, 1, beta, out, 1);
    } else {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, out_f, in_f,
                    1.0f, in, in_f, w, in_f, beta, out, out_f);
    }
}
