/* A host emulation of the part of CUDA, cuBLAS and cuDNN that src/cuda/
 * uses, so that the CUDA backend's own code (kernel indexing, launch grids,
 * GEMM arguments, descriptors, buffer layout, sentinels, bookkeeping) runs
 * and is checked against the CPU backend where there is no GPU.
 *
 * What it emulates, it emulates as documented: device memory is host memory;
 * a launch runs every thread of every block in turn; work on a stream is
 * asynchronous, as on a GPU: launches, async copies and sets, GEMMs and
 * convolutions are queued on their stream with their arguments as they were
 * at the call, and run only when the host waits (stream or event
 * synchronize, a copy to pageable memory, cudaFree, a blocking cuDNN search),
 * so the emulated GPU is the slowest one allowed: a missing synchronize reads
 * stale data, and a host buffer changed before its queued copy ran sends the
 * changed data; a copy into page-locked (registered) host memory is queued,
 * one into pageable memory waits for its stream, one from pageable memory
 * takes its bytes at the call; cudaMemcpy waits for the default stream and
 * the blocking streams only, not for cudaStreamNonBlocking ones. cuBLAS GEMMs are
 * column-major BLAS calls with cuBLAS's arguments (OpenBLAS's cblas with
 * CblasColMajor has the same contract); cuDNN's convolution is the
 * cross-correlation its descriptors describe, computed directly. What it
 * cannot check is the hardware: timing, races, and the libraries' own bugs.
 *
 * Every name is mapped to an ax_emu_ one, so that nothing here collides with
 * the real libraries should both be linked. Failure injection for the tests:
 *   AX_EMU_DEVICES=0  no GPU;  AX_EMU_DRIVER=0  no driver;
 *   AX_EMU_FREE_MB=N  the device has N MiB free;
 *   AX_EMU_DNN_FAIL=1  cuDNN's algorithm search fails. */
#ifndef AX_CUDA_EMU_H
#define AX_CUDA_EMU_H

#include <stddef.h>
#include <stdint.h>

#include <functional>
#include <tuple>
#include <utility>

/* ---- language ------------------------------------------------------------ */
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline

typedef struct { unsigned x, y, z; } ax_emu_uint3;
typedef ax_emu_uint3 uint3;
struct dim3 {
    unsigned x, y, z;
    dim3(unsigned a = 1, unsigned b = 1, unsigned c = 1) : x(a), y(b), z(c) {}
};
extern ax_emu_uint3 threadIdx, blockIdx;
extern dim3 blockDim, gridDim;
extern int ax_emu_launches;

/* Runs body once per thread of the grid, in order. */
template <typename F> static inline void ax_emu_launch(dim3 grid, dim3 block, F body)
{
    gridDim = grid;
    blockDim = block;
    for (unsigned b = 0; b < grid.x; b++)
        for (unsigned t = 0; t < block.x; t++) {
            blockIdx.x = b; blockIdx.y = blockIdx.z = 0;
            threadIdx.x = t; threadIdx.y = threadIdx.z = 0;
            body();
        }
    ax_emu_launches++;
}
typedef struct ax_emu_stream *cudaStream_t;
/* Queues work on a stream (NULL: the default stream); it runs when the host
 * waits for it. */
void ax_emu_enqueue(cudaStream_t s, std::function<void()> work);
/* A launch takes its arguments as the kernel's parameter types at the call,
 * as CUDA does, and queues the grid on the stream. */
template <typename... P, typename... A>
static inline void ax_emu_enqueue_launch(cudaStream_t s, dim3 grid, dim3 block, void (*kernel)(P...), A &&...a)
{
    static_assert(sizeof...(P) == sizeof...(A), "a kernel launched with the wrong number of arguments");
    std::tuple<P...> args(static_cast<P>(std::forward<A>(a))...);
    ax_emu_enqueue(s, [=]() { ax_emu_launch(grid, block, [&]() { std::apply(kernel, args); }); });
}
#define AX_LAUNCH(kernel, grid, block, stream, ...) \
    ax_emu_enqueue_launch((stream), dim3(grid), dim3(block), kernel, __VA_ARGS__)

/* ---- runtime ------------------------------------------------------------- */
typedef enum {
    cudaSuccess = 0,
    cudaErrorInvalidValue = 1,
    cudaErrorMemoryAllocation = 2,
    cudaErrorInitializationError = 3,
    cudaErrorInsufficientDriver = 35,
    cudaErrorInvalidDevice = 101,
    cudaErrorNoDevice = 100,
    cudaErrorNotReady = 600,
    cudaErrorIllegalAddress = 700,
} cudaError_t;

typedef struct ax_emu_event *cudaEvent_t;
typedef enum {
    cudaMemcpyHostToHost = 0,
    cudaMemcpyHostToDevice = 1,
    cudaMemcpyDeviceToHost = 2,
    cudaMemcpyDeviceToDevice = 3,
} cudaMemcpyKind;
#define cudaStreamNonBlocking 0x01
#define cudaHostRegisterDefault 0x00

typedef struct {
    char name[256];
    int major, minor;
    size_t totalGlobalMem;
} cudaDeviceProp;

#define cudaGetDeviceCount ax_emu_cudaGetDeviceCount
#define cudaSetDevice ax_emu_cudaSetDevice
#define cudaGetDeviceProperties ax_emu_cudaGetDeviceProperties
#define cudaDriverGetVersion ax_emu_cudaDriverGetVersion
#define cudaRuntimeGetVersion ax_emu_cudaRuntimeGetVersion
#define cudaGetErrorString ax_emu_cudaGetErrorString
#define cudaGetErrorName ax_emu_cudaGetErrorName
#define cudaGetLastError ax_emu_cudaGetLastError
#define cudaStreamCreateWithFlags ax_emu_cudaStreamCreateWithFlags
#define cudaStreamDestroy ax_emu_cudaStreamDestroy
#define cudaStreamSynchronize ax_emu_cudaStreamSynchronize
#define cudaMemGetInfo ax_emu_cudaMemGetInfo
#define cudaMalloc ax_emu_cudaMalloc
#define cudaFree ax_emu_cudaFree
#define cudaMemcpy ax_emu_cudaMemcpy
#define cudaMemcpyAsync ax_emu_cudaMemcpyAsync
#define cudaMemsetAsync ax_emu_cudaMemsetAsync
#define cudaEventCreate ax_emu_cudaEventCreate
#define cudaEventDestroy ax_emu_cudaEventDestroy
#define cudaEventRecord ax_emu_cudaEventRecord
#define cudaEventSynchronize ax_emu_cudaEventSynchronize
#define cudaEventElapsedTime ax_emu_cudaEventElapsedTime
#define cudaHostRegister ax_emu_cudaHostRegister
#define cudaHostUnregister ax_emu_cudaHostUnregister

cudaError_t cudaGetDeviceCount(int *count);
cudaError_t cudaSetDevice(int dev);
cudaError_t cudaGetDeviceProperties(cudaDeviceProp *p, int dev);
cudaError_t cudaDriverGetVersion(int *v);
cudaError_t cudaRuntimeGetVersion(int *v);
const char *cudaGetErrorString(cudaError_t e);
const char *cudaGetErrorName(cudaError_t e);
cudaError_t cudaGetLastError(void);
cudaError_t cudaStreamCreateWithFlags(cudaStream_t *s, unsigned flags);
cudaError_t cudaStreamDestroy(cudaStream_t s);
cudaError_t cudaStreamSynchronize(cudaStream_t s);
cudaError_t cudaMemGetInfo(size_t *free_b, size_t *total_b);
cudaError_t cudaMalloc(void **p, size_t bytes);
cudaError_t cudaFree(void *p);
cudaError_t cudaMemcpy(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind);
cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind, cudaStream_t s);
cudaError_t cudaMemsetAsync(void *p, int v, size_t bytes, cudaStream_t s);
cudaError_t cudaEventCreate(cudaEvent_t *e);
cudaError_t cudaEventDestroy(cudaEvent_t e);
cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t s);
cudaError_t cudaEventSynchronize(cudaEvent_t e);
cudaError_t cudaEventElapsedTime(float *ms, cudaEvent_t a, cudaEvent_t b);
cudaError_t cudaHostRegister(void *p, size_t bytes, unsigned flags);
cudaError_t cudaHostUnregister(void *p);

/* ---- cuBLAS -------------------------------------------------------------- */
typedef struct ax_emu_blas *cublasHandle_t;
typedef enum {
    CUBLAS_STATUS_SUCCESS = 0,
    CUBLAS_STATUS_NOT_INITIALIZED = 1,
    CUBLAS_STATUS_ALLOC_FAILED = 3,
    CUBLAS_STATUS_INVALID_VALUE = 7,
    CUBLAS_STATUS_ARCH_MISMATCH = 8,
    CUBLAS_STATUS_EXECUTION_FAILED = 13,
    CUBLAS_STATUS_INTERNAL_ERROR = 14,
    CUBLAS_STATUS_NOT_SUPPORTED = 15,
} cublasStatus_t;
typedef enum { CUBLAS_OP_N = 0, CUBLAS_OP_T = 1 } cublasOperation_t;
typedef enum {
    CUBLAS_DEFAULT_MATH = 0,
    CUBLAS_PEDANTIC_MATH = 2,
    CUBLAS_TF32_TENSOR_OP_MATH = 3,
} cublasMath_t;

#define cublasCreate ax_emu_cublasCreate
#define cublasDestroy ax_emu_cublasDestroy
#define cublasSetStream ax_emu_cublasSetStream
#define cublasSetMathMode ax_emu_cublasSetMathMode
#define cublasSgemm ax_emu_cublasSgemm
#define cublasSgemmStridedBatched ax_emu_cublasSgemmStridedBatched

cublasStatus_t cublasCreate(cublasHandle_t *h);
cublasStatus_t cublasDestroy(cublasHandle_t h);
cublasStatus_t cublasSetStream(cublasHandle_t h, cudaStream_t s);
cublasStatus_t cublasSetMathMode(cublasHandle_t h, cublasMath_t m);
cublasStatus_t cublasSgemm(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                           const float *alpha, const float *A, int lda, const float *B, int ldb, const float *beta,
                           float *C, int ldc);
cublasStatus_t cublasSgemmStridedBatched(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n,
                                         int k, const float *alpha, const float *A, int lda, long long sa,
                                         const float *B, int ldb, long long sb, const float *beta, float *C, int ldc,
                                         long long sc, int count);

/* ---- cuDNN --------------------------------------------------------------- */
#ifdef AX_HAVE_CUDNN
typedef struct ax_emu_dnn *cudnnHandle_t;
typedef struct ax_emu_tensor *cudnnTensorDescriptor_t;
typedef struct ax_emu_filter *cudnnFilterDescriptor_t;
typedef struct ax_emu_conv *cudnnConvolutionDescriptor_t;
typedef enum {
    CUDNN_STATUS_SUCCESS = 0,
    CUDNN_STATUS_NOT_INITIALIZED = 1001,
    CUDNN_STATUS_BAD_PARAM = 2000,
    CUDNN_STATUS_NOT_SUPPORTED = 3000,
} cudnnStatus_t;
typedef enum { CUDNN_TENSOR_NCHW = 0, CUDNN_TENSOR_NHWC = 1 } cudnnTensorFormat_t;
typedef enum { CUDNN_DATA_FLOAT = 0 } cudnnDataType_t;
typedef enum { CUDNN_CONVOLUTION = 0, CUDNN_CROSS_CORRELATION = 1 } cudnnConvolutionMode_t;
typedef enum {
    CUDNN_DEFAULT_MATH = 0,
    CUDNN_TENSOR_OP_MATH = 1,
    CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION = 2,
    CUDNN_FMA_MATH = 3,
} cudnnMathType_t;
typedef enum {
    CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM = 0,
    CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM = 1,
    CUDNN_CONVOLUTION_FWD_ALGO_GEMM = 2,
    CUDNN_CONVOLUTION_FWD_ALGO_DIRECT = 3,
    CUDNN_CONVOLUTION_FWD_ALGO_FFT = 4,
    CUDNN_CONVOLUTION_FWD_ALGO_FFT_TILING = 5,
    CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD = 6,
    CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD_NONFUSED = 7,
    CUDNN_CONVOLUTION_FWD_ALGO_COUNT = 8,
} cudnnConvolutionFwdAlgo_t;
typedef struct {
    cudnnConvolutionFwdAlgo_t algo;
    cudnnStatus_t status;
    float time;
    size_t memory;
    int determinism;
    cudnnMathType_t mathType;
    int reserved[3];
} cudnnConvolutionFwdAlgoPerf_t;

#define cudnnCreate ax_emu_cudnnCreate
#define cudnnDestroy ax_emu_cudnnDestroy
#define cudnnSetStream ax_emu_cudnnSetStream
#define cudnnGetVersion ax_emu_cudnnGetVersion
#define cudnnGetErrorString ax_emu_cudnnGetErrorString
#define cudnnCreateTensorDescriptor ax_emu_cudnnCreateTensorDescriptor
#define cudnnDestroyTensorDescriptor ax_emu_cudnnDestroyTensorDescriptor
#define cudnnSetTensor4dDescriptor ax_emu_cudnnSetTensor4dDescriptor
#define cudnnCreateFilterDescriptor ax_emu_cudnnCreateFilterDescriptor
#define cudnnDestroyFilterDescriptor ax_emu_cudnnDestroyFilterDescriptor
#define cudnnSetFilter4dDescriptor ax_emu_cudnnSetFilter4dDescriptor
#define cudnnCreateConvolutionDescriptor ax_emu_cudnnCreateConvolutionDescriptor
#define cudnnDestroyConvolutionDescriptor ax_emu_cudnnDestroyConvolutionDescriptor
#define cudnnSetConvolution2dDescriptor ax_emu_cudnnSetConvolution2dDescriptor
#define cudnnSetConvolutionGroupCount ax_emu_cudnnSetConvolutionGroupCount
#define cudnnSetConvolutionMathType ax_emu_cudnnSetConvolutionMathType
#define cudnnGetConvolution2dForwardOutputDim ax_emu_cudnnGetConvolution2dForwardOutputDim
#define cudnnFindConvolutionForwardAlgorithmEx ax_emu_cudnnFindConvolutionForwardAlgorithmEx
#define cudnnConvolutionForward ax_emu_cudnnConvolutionForward

cudnnStatus_t cudnnCreate(cudnnHandle_t *h);
cudnnStatus_t cudnnDestroy(cudnnHandle_t h);
cudnnStatus_t cudnnSetStream(cudnnHandle_t h, cudaStream_t s);
size_t cudnnGetVersion(void);
const char *cudnnGetErrorString(cudnnStatus_t s);
cudnnStatus_t cudnnCreateTensorDescriptor(cudnnTensorDescriptor_t *d);
cudnnStatus_t cudnnDestroyTensorDescriptor(cudnnTensorDescriptor_t d);
cudnnStatus_t cudnnSetTensor4dDescriptor(cudnnTensorDescriptor_t d, cudnnTensorFormat_t f, cudnnDataType_t t, int n,
                                         int c, int h, int w);
cudnnStatus_t cudnnCreateFilterDescriptor(cudnnFilterDescriptor_t *d);
cudnnStatus_t cudnnDestroyFilterDescriptor(cudnnFilterDescriptor_t d);
cudnnStatus_t cudnnSetFilter4dDescriptor(cudnnFilterDescriptor_t d, cudnnDataType_t t, cudnnTensorFormat_t f, int k,
                                         int c, int h, int w);
cudnnStatus_t cudnnCreateConvolutionDescriptor(cudnnConvolutionDescriptor_t *d);
cudnnStatus_t cudnnDestroyConvolutionDescriptor(cudnnConvolutionDescriptor_t d);
cudnnStatus_t cudnnSetConvolution2dDescriptor(cudnnConvolutionDescriptor_t d, int pad_h, int pad_w, int u, int v,
                                              int dil_h, int dil_w, cudnnConvolutionMode_t mode, cudnnDataType_t t);
cudnnStatus_t cudnnSetConvolutionGroupCount(cudnnConvolutionDescriptor_t d, int groups);
cudnnStatus_t cudnnSetConvolutionMathType(cudnnConvolutionDescriptor_t d, cudnnMathType_t m);
cudnnStatus_t cudnnGetConvolution2dForwardOutputDim(cudnnConvolutionDescriptor_t cd, cudnnTensorDescriptor_t x,
                                                    cudnnFilterDescriptor_t w, int *n, int *c, int *h, int *wd);
cudnnStatus_t cudnnFindConvolutionForwardAlgorithmEx(cudnnHandle_t h, cudnnTensorDescriptor_t xd, const void *x,
                                                     cudnnFilterDescriptor_t wd, const void *w,
                                                     cudnnConvolutionDescriptor_t cd, cudnnTensorDescriptor_t yd,
                                                     void *y, int want, int *got,
                                                     cudnnConvolutionFwdAlgoPerf_t *perf, void *ws, size_t ws_bytes);
cudnnStatus_t cudnnConvolutionForward(cudnnHandle_t h, const void *alpha, cudnnTensorDescriptor_t xd, const void *x,
                                      cudnnFilterDescriptor_t wd, const void *w, cudnnConvolutionDescriptor_t cd,
                                      cudnnConvolutionFwdAlgo_t algo, void *ws, size_t ws_bytes, const void *beta,
                                      cudnnTensorDescriptor_t yd, void *y);
#endif

/* ---- what the tests read back ---------------------------------------------- */
/* Work queued on every stream and not yet run, and the most that was ever
 * queued at once since the last reset (callable from C). */
extern "C" size_t ax_emu_pending(void);
extern "C" size_t ax_emu_peak_pending(int reset);
/* Device bytes allocated now. */
size_t ax_emu_bytes_in_use(void);
/* Library calls whose operands fell outside device allocations, or copies
 * whose direction did not match their pointers (0 in a correct backend). */
extern int ax_emu_violations;
extern char ax_emu_violation[256];
/* The emulated Find reports this workspace need (bytes); the convolution then
 * checks it was given at least that much. */
extern size_t ax_emu_find_ws;

#endif
