/* What the CUDA backend uses of CUDA, cuBLAS and cuDNN, in one place.
 *
 * Built by nvcc, this is the real toolkit. Built with AX_CUDA_EMULATE by a
 * host C++ compiler (the emulation test, tests/cuda_emu/), the same sources
 * run on the host against tests/cuda_emu/cuda_emu.h, which implements these
 * calls on host memory: every kernel's indexing, every launch's grid, every
 * library call's arguments and the backend's bookkeeping are then checked
 * against the CPU backend on a machine without a GPU.
 *
 * Kernels are launched only through AX_LAUNCH and never use shared memory or
 * __syncthreads, so that the emulation can run each thread of a launch in
 * turn. */
#ifndef AX_CUDA_API_H
#define AX_CUDA_API_H

#ifdef AX_CUDA_EMULATE
#include "cuda_emu.h"
#else
#include <cuda_runtime.h>
#include <cublas_v2.h>
#ifdef AX_HAVE_CUDNN
#include <cudnn.h>
#endif
/* kernel<<<grid, block, 0, stream>>>(args...) */
#define AX_LAUNCH(kernel, grid, block, stream, ...) kernel<<<(grid), (block), 0, (stream)>>>(__VA_ARGS__)

/* The CUDA runtime is linked statically where the toolkit has it, else the
 * shared one with an rpath (configure); it finds the driver itself. cuBLAS
 * and cuDNN are opened when the backend starts (libs.cu), so that the
 * program starts as fast as without them and runs where they are absent.
 * Their calls go through this table. */
#define AX_CUBLAS_FUNCS(X) \
    X(cublasCreate_v2) X(cublasDestroy_v2) X(cublasSetStream_v2) X(cublasSetMathMode) X(cublasSgemm_v2) \
    X(cublasSgemmStridedBatched)
#ifdef AX_HAVE_CUDNN
#define AX_CUDNN_FUNCS(X) \
    X(cudnnCreate) X(cudnnDestroy) X(cudnnSetStream) X(cudnnGetVersion) X(cudnnGetErrorString) \
    X(cudnnCreateTensorDescriptor) X(cudnnDestroyTensorDescriptor) X(cudnnSetTensor4dDescriptor) \
    X(cudnnCreateFilterDescriptor) X(cudnnDestroyFilterDescriptor) X(cudnnSetFilter4dDescriptor) \
    X(cudnnCreateConvolutionDescriptor) X(cudnnDestroyConvolutionDescriptor) X(cudnnSetConvolution2dDescriptor) \
    X(cudnnSetConvolutionGroupCount) X(cudnnSetConvolutionMathType) X(cudnnGetConvolution2dForwardOutputDim) \
    X(cudnnFindConvolutionForwardAlgorithmEx) X(cudnnConvolutionForward)
#else
#define AX_CUDNN_FUNCS(X)
#endif
#define AX_CU_DECL(f) decltype(&::f) f;
typedef struct {
    AX_CUBLAS_FUNCS(AX_CU_DECL)
    AX_CUDNN_FUNCS(AX_CU_DECL)
} ax_cuda_libs;
extern ax_cuda_libs ax_cu;

/* Opens cuBLAS (0 on success, else -1 with the reason in why) and, when
 * built with it and asked for, cuDNN (*have_cudnn; the reason it is missing
 * in dnn_why). Once per process; later calls repeat the first answer. */
int ax_cuda_load_libs(int want_cudnn, int *have_cudnn, char *why, size_t size, char *dnn_why, size_t dnn_size);

#ifndef AX_CUDA_LOADER
#undef cublasCreate
#undef cublasDestroy
#undef cublasSetStream
#undef cublasSgemm
#define cublasCreate ax_cu.cublasCreate_v2
#define cublasDestroy ax_cu.cublasDestroy_v2
#define cublasSetStream ax_cu.cublasSetStream_v2
#define cublasSgemm ax_cu.cublasSgemm_v2
#define cublasSetMathMode ax_cu.cublasSetMathMode
#define cublasSgemmStridedBatched ax_cu.cublasSgemmStridedBatched
#ifdef AX_HAVE_CUDNN
#define cudnnCreate ax_cu.cudnnCreate
#define cudnnDestroy ax_cu.cudnnDestroy
#define cudnnSetStream ax_cu.cudnnSetStream
#define cudnnGetVersion ax_cu.cudnnGetVersion
#define cudnnGetErrorString ax_cu.cudnnGetErrorString
#define cudnnCreateTensorDescriptor ax_cu.cudnnCreateTensorDescriptor
#define cudnnDestroyTensorDescriptor ax_cu.cudnnDestroyTensorDescriptor
#define cudnnSetTensor4dDescriptor ax_cu.cudnnSetTensor4dDescriptor
#define cudnnCreateFilterDescriptor ax_cu.cudnnCreateFilterDescriptor
#define cudnnDestroyFilterDescriptor ax_cu.cudnnDestroyFilterDescriptor
#define cudnnSetFilter4dDescriptor ax_cu.cudnnSetFilter4dDescriptor
#define cudnnCreateConvolutionDescriptor ax_cu.cudnnCreateConvolutionDescriptor
#define cudnnDestroyConvolutionDescriptor ax_cu.cudnnDestroyConvolutionDescriptor
#define cudnnSetConvolution2dDescriptor ax_cu.cudnnSetConvolution2dDescriptor
#define cudnnSetConvolutionGroupCount ax_cu.cudnnSetConvolutionGroupCount
#define cudnnSetConvolutionMathType ax_cu.cudnnSetConvolutionMathType
#define cudnnGetConvolution2dForwardOutputDim ax_cu.cudnnGetConvolution2dForwardOutputDim
#define cudnnFindConvolutionForwardAlgorithmEx ax_cu.cudnnFindConvolutionForwardAlgorithmEx
#define cudnnConvolutionForward ax_cu.cudnnConvolutionForward
#endif
#endif
#endif

#include <stddef.h>

/* Threads per block of the element-wise kernels, and the grid for n items
 * (capped: the kernels stride over what one grid does not cover). */
#define AX_CU_BLOCK 256
static inline unsigned ax_cu_grid(size_t n)
{
    size_t g = (n + AX_CU_BLOCK - 1) / AX_CU_BLOCK;
    if (g < 1) g = 1;
    return g > 65535u * 8u ? 65535u * 8u : (unsigned)g;
}

/* The index of this thread and the stride over the whole grid. */
#define AX_CU_FOR(i, n) \
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < (size_t)(n); \
         i += (size_t)gridDim.x * blockDim.x)

#endif
