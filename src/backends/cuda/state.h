/* The CUDA backend's state and the helpers its files share (backend_cuda.cu:
 * creation, transfers, layers; probes.cu: sentinels, peers, copy timing).
 * Private to src/cuda/. */
#ifndef AX_CUDA_STATE_H
#define AX_CUDA_STATE_H

extern "C" {
#include "alexscope/backend.h"
#include "alexscope/layers.h"
#include "alexscope/net.h"
#include "alexscope/spec.h"
}

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda_backend.h"
#include "kernels.h"

/* Sentinel floats before and after every device buffer (1 KiB each side,
 * which keeps each buffer 256-byte aligned). The pattern is a NaN no kernel
 * produces. */
#define GUARD 256
static const uint32_t SENTINEL_BITS = 0x7fa11e57u;

/* im2col scratch is sized for this many floats at most; a larger batch is
 * converted a chunk of images at a time. */
#define COL_CAP ((size_t)64 << 20)

/* cuDNN's algorithm search may use this much workspace at most. */
#define FIND_WS_CAP ((size_t)1 << 30)

typedef struct {
    float *p;
    size_t n;
    char what[80];
} region;

typedef struct {
    float *out, *w, *b;
    cudaEvent_t ev0, ev1;
    int timed;
    int chunk;              /* im2col: images converted at a time */
#ifdef AX_HAVE_CUDNN
    int dnn;                /* 1: this convolution runs through cuDNN */
    int explicit_pad;       /* asymmetric padding cuDNN cannot express: padded copy first */
    cudnnTensorDescriptor_t xd, yd;
    cudnnFilterDescriptor_t wd;
    cudnnConvolutionDescriptor_t cd;
    cudnnConvolutionFwdAlgo_t algo;
    size_t ws;
#endif
} cu_layer;

typedef struct {
    int dev;
    cudaDeviceProp prop;
    cudaStream_t stream;
    cublasHandle_t blas;
    int tf32;
#ifdef AX_HAVE_CUDNN
    cudnnHandle_t dnn;
#endif
    int use_cudnn;
    int dnn_failed;         /* creation failed inside cuDNN: try again without it */
    char cudnn_note[160];
    float *arena;
    size_t arena_n;
    void *ws;               /* cuDNN workspace, guarded like the arena */
    float *ws_base;
    size_t ws_bytes;
    region *regions;
    int nregions, cap_regions;
    float *input, *col, *padbuf;
    cu_layer *L;
    int registered;
    char desc[320];
} cu_state;

static inline cu_state *S(const ax_net *net)
{
    return (cu_state *)net->backend_state;
}

/* ---- errors -------------------------------------------------------------- */

static inline ax_status cuda_fail(ax_error *err, cudaError_t e, const char *doing)
{
    ax_status code = e == cudaErrorMemoryAllocation ? AX_ERR_NOMEM : AX_ERR_DEVICE;
    return ax_fail(err, code, "CUDA: %s: %s (%s)", doing, cudaGetErrorString(e), cudaGetErrorName(e));
}

#define CU(call, doing)                                                    \
    do {                                                                   \
        cudaError_t e_ = (call);                                           \
        if (e_ != cudaSuccess) return cuda_fail(err, e_, doing);          \
    } while (0)

static inline const char *blas_name(cublasStatus_t s)
{
    switch (s) {
    case CUBLAS_STATUS_NOT_INITIALIZED: return "cuBLAS not initialized";
    case CUBLAS_STATUS_ALLOC_FAILED: return "cuBLAS could not allocate memory";
    case CUBLAS_STATUS_INVALID_VALUE: return "cuBLAS: invalid value";
    case CUBLAS_STATUS_ARCH_MISMATCH: return "cuBLAS: this GPU lacks a needed feature";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "cuBLAS: kernel failed to run";
    case CUBLAS_STATUS_INTERNAL_ERROR: return "cuBLAS internal error";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "cuBLAS: not supported";
    default: return "cuBLAS error";
    }
}

#define BLAS(call, doing)                                                                     \
    do {                                                                                      \
        cublasStatus_t b_ = (call);                                                           \
        if (b_ != CUBLAS_STATUS_SUCCESS)                                                      \
            return ax_fail(err, AX_ERR_DEVICE, "CUDA: %s: %s (status %d)", doing, blas_name(b_), (int)b_); \
    } while (0)

#ifdef AX_HAVE_CUDNN
#define DNN(call, doing)                                                                      \
    do {                                                                                      \
        cudnnStatus_t d_ = (call);                                                            \
        if (d_ != CUDNN_STATUS_SUCCESS)                                                       \
            return ax_fail(err, AX_ERR_DEVICE, "cuDNN: %s: %s", doing, cudnnGetErrorString(d_)); \
    } while (0)

static inline const char *algo_name(cudnnConvolutionFwdAlgo_t a)
{
    switch (a) {
    case CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM: return "IMPLICIT_GEMM";
    case CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM: return "IMPLICIT_PRECOMP_GEMM";
    case CUDNN_CONVOLUTION_FWD_ALGO_GEMM: return "GEMM";
    case CUDNN_CONVOLUTION_FWD_ALGO_DIRECT: return "DIRECT";
    case CUDNN_CONVOLUTION_FWD_ALGO_FFT: return "FFT";
    case CUDNN_CONVOLUTION_FWD_ALGO_FFT_TILING: return "FFT_TILING";
    case CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD: return "WINOGRAD";
    case CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD_NONFUSED: return "WINOGRAD_NONFUSED";
    default: return "unknown algorithm";
    }
}
#endif

/* Why there is no usable GPU, in the user's words. */
static inline ax_status no_device(ax_error *err, cudaError_t e)
{
    int drv = 0, rt = 0;
    cudaDriverGetVersion(&drv);
    cudaRuntimeGetVersion(&rt);
    if (e == cudaErrorNoDevice)
        return ax_fail(err, AX_ERR_DEVICE, "--device cuda: no CUDA-capable GPU was found (%s)", cudaGetErrorString(e));
    if (drv == 0 || e == cudaErrorInsufficientDriver)
        return ax_fail(err, AX_ERR_DEVICE,
                       "--device cuda: %s (this program's CUDA runtime is %d.%d; %s)",
                       drv == 0 ? "no NVIDIA driver is installed or loaded" : "the NVIDIA driver is too old",
                       rt / 1000, rt % 1000 / 10, drv == 0 ? "libcuda.so.1 was not found or found no GPU" :
                       "update the driver");
    return ax_fail(err, AX_ERR_DEVICE, "--device cuda: the GPU cannot be used: %s (%s)", cudaGetErrorString(e),
                   cudaGetErrorName(e));
}


static inline size_t round_up(size_t n, size_t a)
{
    return (n + a - 1) / a * a;
}

/* The im2col scratch a convolution needs per image, in floats. */
static inline size_t col_per_image(const ax_layer *L)
{
    const ax_window *g = &L->win;
    return (size_t)g->c * g->kh * g->kw * g->oh * g->ow;
}

/* Row-major C = A x B on the backend's stream (backend_cuda.cu). */
ax_status ax_cu_gemm_rm(cu_state *s, int M, int N, int K, const float *A, long long sa, const float *B,
                        long long sb, float *C, long long sc, int count, ax_error *err);
#ifdef AX_HAVE_CUDNN
/* cuDNN's descriptors of convolution L in c (backend_cuda.cu); checks that
 * cuDNN's output shape is the net's. Needs no GPU. */
ax_status ax_cu_dnn_describe(int tf32, const ax_layer *L, cu_layer *c, ax_error *err);
/* The fastest cuDNN algorithm the precision allows for convolution c (backend_cuda.cu). */
ax_status ax_cu_dnn_find(cu_state *s, const ax_layer *L, cu_layer *c, const float *x, void *ws, size_t ws_cap,
                         cudnnConvolutionFwdAlgo_t *algo, size_t *need, int *default_math, ax_error *err);
#endif

#endif
