/* The host emulation of CUDA, cuBLAS and cuDNN (see cuda_emu.h). Device
 * allocations are tracked, so that every copy and every library operand is
 * checked to lie inside one of them, on the side its direction says. */
#include "cuda_emu.h"

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <vector>

ax_emu_uint3 threadIdx, blockIdx;
dim3 blockDim, gridDim;
int ax_emu_launches;
int ax_emu_violations;
char ax_emu_violation[256];
size_t ax_emu_find_ws = 4096;

static std::map<const char *, size_t> allocs;   /* base -> bytes */
static std::map<const char *, size_t> pinned;   /* registered host memory */
static size_t in_use;
static cudaError_t last_error = cudaSuccess;

/* ---- streams: queued work, run when the host waits -------------------------- */

struct ax_emu_stream {
    std::deque<std::function<void()>> q;
    unsigned flags;
};
static ax_emu_stream default_stream;            /* stream 0, blocking */
static std::set<ax_emu_stream *> streams;       /* the created ones */
/* One lock for the queues, the allocation maps and the work itself: the
 * workbench queues from its worker thread and reads from the UI thread. */
static std::recursive_mutex mu;
#define LOCK std::lock_guard<std::recursive_mutex> lock_(mu)

static ax_emu_stream *st(cudaStream_t s)
{
    return s ? s : &default_stream;
}

static size_t queued_now, queued_peak;

void ax_emu_enqueue(cudaStream_t s, std::function<void()> work)
{
    LOCK;
    st(s)->q.push_back(std::move(work));
    if (++queued_now > queued_peak) queued_peak = queued_now;
}

size_t ax_emu_peak_pending(int reset)
{
    LOCK;
    size_t p = queued_peak;
    if (reset) queued_peak = queued_now;
    return p;
}

/* Runs the oldest queued item of a stream; 0 when there was none. */
static int run_one(ax_emu_stream *q)
{
    if (q->q.empty()) return 0;
    std::function<void()> w = std::move(q->q.front());
    q->q.pop_front();
    queued_now--;
    w();
    return 1;
}

static void drain(ax_emu_stream *q)
{
    while (run_one(q)) {}
}

static void drain_all(void)
{
    drain(&default_stream);
    for (ax_emu_stream *q : streams) drain(q);
}

size_t ax_emu_pending(void)
{
    LOCK;
    size_t n = default_stream.q.size();
    for (ax_emu_stream *q : streams) n += q->q.size();
    return n;
}

static int env_int(const char *name, int dflt)
{
    const char *v = getenv(name);
    return v && *v ? atoi(v) : dflt;
}

static void violation(const char *fmt, const char *what, size_t bytes)
{
    if (!ax_emu_violations++) snprintf(ax_emu_violation, sizeof ax_emu_violation, fmt, what, bytes);
}

/* 1 when [p, p + bytes) lies inside one range of the map (base -> bytes). */
static int inside(const std::map<const char *, size_t> &ranges, const void *p, size_t bytes)
{
    const char *c = (const char *)p;
    auto it = ranges.upper_bound(c);
    if (it == ranges.begin()) return 0;
    --it;
    return c >= it->first && c + bytes <= it->first + it->second;
}

static int on_device(const void *p, size_t bytes)
{
    return inside(allocs, p, bytes);
}

static void need_device(const void *p, size_t bytes, const char *what)
{
    if (!on_device(p, bytes)) violation("%s: %zu bytes not inside a device allocation", what, bytes);
}

static void need_host(const void *p, size_t bytes, const char *what)
{
    const char *c = (const char *)p;
    auto it = allocs.upper_bound(c);
    if (it != allocs.begin()) {
        --it;
        if (c < it->first + it->second) violation("%s: %zu bytes of device memory used as host memory", what, bytes);
    }
}

size_t ax_emu_bytes_in_use(void)
{
    return in_use;
}

/* ---- runtime ------------------------------------------------------------- */

cudaError_t cudaGetDeviceCount(int *count)
{
    if (!env_int("AX_EMU_DRIVER", 1)) { *count = 0; return cudaErrorInsufficientDriver; }
    *count = env_int("AX_EMU_DEVICES", 1);
    return *count ? cudaSuccess : cudaErrorNoDevice;
}

cudaError_t cudaSetDevice(int dev)
{
    int n = 0;
    cudaGetDeviceCount(&n);
    return dev >= 0 && dev < n ? cudaSuccess : cudaErrorInvalidDevice;
}

cudaError_t cudaGetDeviceProperties(cudaDeviceProp *p, int dev)
{
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "emulated GPU %d", dev);
    p->major = 9;
    p->minor = 0;
    p->totalGlobalMem = (size_t)16 << 30;
    return cudaSuccess;
}

cudaError_t cudaDriverGetVersion(int *v)
{
    *v = env_int("AX_EMU_DRIVER", 1) ? 13000 : 0;
    return cudaSuccess;
}

cudaError_t cudaRuntimeGetVersion(int *v)
{
    *v = 13000;
    return cudaSuccess;
}

const char *cudaGetErrorString(cudaError_t e)
{
    switch (e) {
    case cudaSuccess: return "no error";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInsufficientDriver: return "CUDA driver version is insufficient for CUDA runtime version";
    case cudaErrorNoDevice: return "no CUDA-capable device is detected";
    case cudaErrorInvalidDevice: return "invalid device ordinal";
    case cudaErrorNotReady: return "device not ready";
    default: return "emulated CUDA error";
    }
}

const char *cudaGetErrorName(cudaError_t e)
{
    switch (e) {
    case cudaSuccess: return "cudaSuccess";
    case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
    case cudaErrorInsufficientDriver: return "cudaErrorInsufficientDriver";
    case cudaErrorNoDevice: return "cudaErrorNoDevice";
    case cudaErrorInvalidDevice: return "cudaErrorInvalidDevice";
    case cudaErrorNotReady: return "cudaErrorNotReady";
    default: return "cudaErrorUnknown";
    }
}

cudaError_t cudaGetLastError(void)
{
    cudaError_t e = last_error;
    last_error = cudaSuccess;
    return e;
}

/* An event is done once its stream has run up to its latest record. A
 * destroyed event whose markers are still queued is freed by the last one. */
struct ax_emu_event { double t; int recorded, done, dead, pending; unsigned gen; ax_emu_stream *q; };

cudaError_t cudaStreamCreateWithFlags(cudaStream_t *s, unsigned flags)
{
    LOCK;
    *s = new ax_emu_stream();
    (*s)->flags = flags;
    streams.insert(*s);
    return cudaSuccess;
}

cudaError_t cudaStreamDestroy(cudaStream_t s)
{
    LOCK;
    if (!s || !streams.count(s)) return cudaErrorInvalidValue;
    drain(s);   /* CUDA finishes the queued work before the stream goes */
    streams.erase(s);
    delete s;
    return cudaSuccess;
}

cudaError_t cudaStreamSynchronize(cudaStream_t s)
{
    LOCK;
    drain(st(s));
    return cudaSuccess;
}

cudaError_t cudaMemGetInfo(size_t *free_b, size_t *total_b)
{
    *total_b = (size_t)16 << 30;
    size_t cap = (size_t)env_int("AX_EMU_FREE_MB", 8192) << 20;
    *free_b = cap > in_use ? cap - in_use : 0;
    return cudaSuccess;
}

cudaError_t cudaMalloc(void **p, size_t bytes)
{
    LOCK;
    size_t free_b, total_b;
    cudaMemGetInfo(&free_b, &total_b);
    if (bytes > free_b) { *p = NULL; last_error = cudaErrorMemoryAllocation; return cudaErrorMemoryAllocation; }
    void *q = NULL;
    if (posix_memalign(&q, 256, bytes ? bytes : 1)) { *p = NULL; return cudaErrorMemoryAllocation; }
    /* fresh device memory holds garbage: a NaN pattern that shows any read of
     * it (beyond 64 MiB, the search workspaces, only the first 64 MiB) */
    memset(q, 0xff, bytes < ((size_t)64 << 20) ? bytes : ((size_t)64 << 20));
    allocs[(const char *)q] = bytes;
    in_use += bytes;
    *p = q;
    return cudaSuccess;
}

cudaError_t cudaFree(void *p)
{
    LOCK;
    drain_all();   /* cudaFree waits for the device */
    if (!p) return cudaSuccess;
    auto it = allocs.find((const char *)p);
    if (it == allocs.end()) { violation("%s: %zu: cudaFree of a pointer cudaMalloc did not return", "cudaFree", 0); return cudaErrorInvalidValue; }
    in_use -= it->second;
    allocs.erase(it);
    free(p);
    return cudaSuccess;
}

static void check_copy(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind, const char *what)
{
    if (kind == cudaMemcpyHostToDevice || kind == cudaMemcpyDeviceToDevice) need_device(dst, bytes, what);
    else need_host(dst, bytes, what);
    if (kind == cudaMemcpyDeviceToHost || kind == cudaMemcpyDeviceToDevice) need_device(src, bytes, what);
    else need_host(src, bytes, what);
}

/* 1 when [p, p + bytes) lies inside registered host memory. */
static int is_pinned(const void *p, size_t bytes)
{
    return inside(pinned, p, bytes);
}

/* cudaMemcpy runs on the default stream: it waits for it and for the
 * blocking streams (not for cudaStreamNonBlocking ones), then copies. */
cudaError_t cudaMemcpy(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind)
{
    LOCK;
    check_copy(dst, src, bytes, kind, "cudaMemcpy");
    drain(&default_stream);
    for (ax_emu_stream *q : streams)
        if (!(q->flags & cudaStreamNonBlocking)) drain(q);
    memmove(dst, src, bytes);
    return cudaSuccess;
}

cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind, cudaStream_t s)
{
    LOCK;
    check_copy(dst, src, bytes, kind, "cudaMemcpyAsync");
    int to_host = kind == cudaMemcpyDeviceToHost || kind == cudaMemcpyHostToHost;
    int from_host = kind == cudaMemcpyHostToDevice || kind == cudaMemcpyHostToHost;
    if (to_host && !is_pinned(dst, bytes)) {
        /* into pageable memory: returns once the copy is done */
        drain(st(s));
        memmove(dst, src, bytes);
    } else if (from_host && !is_pinned(src, bytes)) {
        /* from pageable memory: the bytes are staged at the call */
        auto staged = std::make_shared<std::vector<char>>((const char *)src, (const char *)src + bytes);
        ax_emu_enqueue(s, [dst, staged]() { memcpy(dst, staged->data(), staged->size()); });
    } else {
        ax_emu_enqueue(s, [dst, src, bytes]() { memmove(dst, src, bytes); });
    }
    return cudaSuccess;
}

cudaError_t cudaMemsetAsync(void *p, int v, size_t bytes, cudaStream_t s)
{
    LOCK;
    need_device(p, bytes, "cudaMemsetAsync");
    ax_emu_enqueue(s, [p, v, bytes]() { memset(p, v, bytes); });
    return cudaSuccess;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}

cudaError_t cudaEventCreate(cudaEvent_t *e)
{
    *e = (cudaEvent_t)calloc(1, sizeof **e);
    return *e ? cudaSuccess : cudaErrorMemoryAllocation;
}

cudaError_t cudaEventDestroy(cudaEvent_t e)
{
    LOCK;
    if (!e) return cudaErrorInvalidValue;
    if (e->pending) e->dead = 1;
    else free(e);
    return cudaSuccess;
}

cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t s)
{
    LOCK;
    e->recorded = 1;
    e->done = 0;
    e->q = st(s);
    e->pending++;
    unsigned gen = ++e->gen;
    ax_emu_enqueue(s, [e, gen]() {
        if (gen == e->gen) { e->t = now_ms(); e->done = 1; }
        if (!--e->pending && e->dead) free(e);
    });
    return cudaSuccess;
}

/* Runs the event's stream up to the event, no further. */
cudaError_t cudaEventSynchronize(cudaEvent_t e)
{
    LOCK;
    while (e->recorded && !e->done && e->q && run_one(e->q)) {}
    return cudaSuccess;
}

cudaError_t cudaEventElapsedTime(float *ms, cudaEvent_t a, cudaEvent_t b)
{
    LOCK;
    if (!a->recorded || !b->recorded || !a->done || !b->done) return cudaErrorNotReady;
    *ms = (float)(b->t - a->t);
    return cudaSuccess;
}

cudaError_t cudaHostRegister(void *p, size_t bytes, unsigned flags)
{
    LOCK;
    (void)flags;
    need_host(p, bytes, "cudaHostRegister");
    pinned[(const char *)p] = bytes;
    return cudaSuccess;
}

cudaError_t cudaHostUnregister(void *p)
{
    LOCK;
    drain_all();   /* no queued copy may still use it */
    if (!pinned.erase((const char *)p)) return cudaErrorInvalidValue;
    return cudaSuccess;
}

/* ---- cuBLAS -------------------------------------------------------------- */

struct ax_emu_blas { cublasMath_t math; cudaStream_t stream; };

cublasStatus_t cublasCreate(cublasHandle_t *h)
{
    /* the emulated device is one thread: OpenBLAS's own threads would only
     * spin between the small GEMMs */
    openblas_set_num_threads(1);
    *h = (cublasHandle_t)calloc(1, sizeof **h);
    return *h ? CUBLAS_STATUS_SUCCESS : CUBLAS_STATUS_ALLOC_FAILED;
}

cublasStatus_t cublasDestroy(cublasHandle_t h)
{
    free(h);
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetStream(cublasHandle_t h, cudaStream_t s)
{
    h->stream = s;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetMathMode(cublasHandle_t h, cublasMath_t m)
{
    h->math = m;
    return CUBLAS_STATUS_SUCCESS;
}

/* Bytes a column-major operand with `rows` x `cols` (after op) spans. */
static size_t span(cublasOperation_t op, int rows, int cols, int ld)
{
    int r = op == CUBLAS_OP_N ? rows : cols, c = op == CUBLAS_OP_N ? cols : rows;
    return ((size_t)(c - 1) * ld + r) * sizeof(float);
}

static cublasStatus_t gemm_check(cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k, int lda, int ldb,
                                 int ldc)
{
    if (m < 0 || n < 0 || k < 0) return CUBLAS_STATUS_INVALID_VALUE;
    if (lda < (ta == CUBLAS_OP_N ? m : k) || lda < 1) return CUBLAS_STATUS_INVALID_VALUE;
    if (ldb < (tb == CUBLAS_OP_N ? k : n) || ldb < 1) return CUBLAS_STATUS_INVALID_VALUE;
    if (ldc < m || ldc < 1) return CUBLAS_STATUS_INVALID_VALUE;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSgemm(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                           const float *alpha, const float *A, int lda, const float *B, int ldb, const float *beta,
                           float *C, int ldc)
{
    LOCK;
    cublasStatus_t status = gemm_check(ta, tb, m, n, k, lda, ldb, ldc);
    if (status) return status;
    if (!m || !n) return CUBLAS_STATUS_SUCCESS;
    if (k) {
        need_device(A, span(ta, m, k, lda), "cublasSgemm A");
        need_device(B, span(tb, k, n, ldb), "cublasSgemm B");
    }
    need_device(C, span(CUBLAS_OP_N, m, n, ldc), "cublasSgemm C");
    /* alpha and beta are host values (CUBLAS_POINTER_MODE_HOST), read now */
    float al = *alpha, be = *beta;
    CBLAS_TRANSPOSE oa = ta == CUBLAS_OP_N ? CblasNoTrans : CblasTrans, ob = tb == CUBLAS_OP_N ? CblasNoTrans : CblasTrans;
    ax_emu_enqueue(h->stream, [=]() { cblas_sgemm(CblasColMajor, oa, ob, m, n, k, al, A, lda, B, ldb, be, C, ldc); });
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSgemmStridedBatched(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n,
                                         int k, const float *alpha, const float *A, int lda, long long sa,
                                         const float *B, int ldb, long long sb, const float *beta, float *C, int ldc,
                                         long long sc, int count)
{
    if (count < 0) return CUBLAS_STATUS_INVALID_VALUE;
    for (int i = 0; i < count; i++) {
        cublasStatus_t st = cublasSgemm(h, ta, tb, m, n, k, alpha, A + sa * i, lda, B + sb * i, ldb, beta,
                                        C + sc * i, ldc);
        if (st) return st;
    }
    return CUBLAS_STATUS_SUCCESS;
}

/* ---- cuDNN --------------------------------------------------------------- */
#ifdef AX_HAVE_CUDNN
struct ax_emu_dnn { cudaStream_t stream; };
struct ax_emu_tensor { int n, c, h, w, set; };
struct ax_emu_filter { int k, c, h, w, set; };
struct ax_emu_conv { int ph, pw, u, v, dh, dw, groups, set; cudnnConvolutionMode_t mode; cudnnMathType_t math; };

cudnnStatus_t cudnnCreate(cudnnHandle_t *h)
{
    *h = (cudnnHandle_t)calloc(1, sizeof **h);
    return *h ? CUDNN_STATUS_SUCCESS : CUDNN_STATUS_NOT_INITIALIZED;
}

cudnnStatus_t cudnnDestroy(cudnnHandle_t h)
{
    free(h);
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnSetStream(cudnnHandle_t h, cudaStream_t s)
{
    h->stream = s;
    return CUDNN_STATUS_SUCCESS;
}

size_t cudnnGetVersion(void)
{
    return 91900;
}

const char *cudnnGetErrorString(cudnnStatus_t s)
{
    switch (s) {
    case CUDNN_STATUS_SUCCESS: return "CUDNN_STATUS_SUCCESS";
    case CUDNN_STATUS_BAD_PARAM: return "CUDNN_STATUS_BAD_PARAM";
    case CUDNN_STATUS_NOT_SUPPORTED: return "CUDNN_STATUS_NOT_SUPPORTED";
    default: return "CUDNN_STATUS_NOT_INITIALIZED";
    }
}

#define CREATE_DESTROY(T, S)                                                      \
    cudnnStatus_t cudnnCreate##T##Descriptor(cudnn##T##Descriptor_t *d)           \
    {                                                                             \
        *d = (cudnn##T##Descriptor_t)calloc(1, sizeof(struct S));                 \
        return *d ? CUDNN_STATUS_SUCCESS : CUDNN_STATUS_NOT_INITIALIZED;          \
    }                                                                             \
    cudnnStatus_t cudnnDestroy##T##Descriptor(cudnn##T##Descriptor_t d)           \
    {                                                                             \
        free(d);                                                                  \
        return CUDNN_STATUS_SUCCESS;                                              \
    }
CREATE_DESTROY(Tensor, ax_emu_tensor)
CREATE_DESTROY(Filter, ax_emu_filter)
CREATE_DESTROY(Convolution, ax_emu_conv)

cudnnStatus_t cudnnSetTensor4dDescriptor(cudnnTensorDescriptor_t d, cudnnTensorFormat_t f, cudnnDataType_t t, int n,
                                         int c, int h, int w)
{
    if (f != CUDNN_TENSOR_NCHW || t != CUDNN_DATA_FLOAT || n < 1 || c < 1 || h < 1 || w < 1)
        return CUDNN_STATUS_BAD_PARAM;
    *d = {n, c, h, w, 1};
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnSetFilter4dDescriptor(cudnnFilterDescriptor_t d, cudnnDataType_t t, cudnnTensorFormat_t f, int k,
                                         int c, int h, int w)
{
    if (f != CUDNN_TENSOR_NCHW || t != CUDNN_DATA_FLOAT || k < 1 || c < 1 || h < 1 || w < 1)
        return CUDNN_STATUS_BAD_PARAM;
    *d = {k, c, h, w, 1};
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnSetConvolution2dDescriptor(cudnnConvolutionDescriptor_t d, int pad_h, int pad_w, int u, int v,
                                              int dil_h, int dil_w, cudnnConvolutionMode_t mode, cudnnDataType_t t)
{
    if (pad_h < 0 || pad_w < 0 || u < 1 || v < 1 || dil_h < 1 || dil_w < 1 || t != CUDNN_DATA_FLOAT)
        return CUDNN_STATUS_BAD_PARAM;
    d->ph = pad_h; d->pw = pad_w; d->u = u; d->v = v; d->dh = dil_h; d->dw = dil_w;
    d->mode = mode;
    if (!d->groups) d->groups = 1;
    d->set = 1;
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnSetConvolutionGroupCount(cudnnConvolutionDescriptor_t d, int groups)
{
    if (groups < 1) return CUDNN_STATUS_BAD_PARAM;
    d->groups = groups;
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnSetConvolutionMathType(cudnnConvolutionDescriptor_t d, cudnnMathType_t m)
{
    d->math = m;
    return CUDNN_STATUS_SUCCESS;
}

/* cuDNN's documented output size: 1 + (in + 2 pad - ((k - 1) dil + 1)) / stride. */
cudnnStatus_t cudnnGetConvolution2dForwardOutputDim(cudnnConvolutionDescriptor_t cd, cudnnTensorDescriptor_t x,
                                                    cudnnFilterDescriptor_t w, int *n, int *c, int *h, int *wd)
{
    if (!cd->set || !x->set || !w->set) return CUDNN_STATUS_BAD_PARAM;
    if (x->c != w->c * cd->groups || w->k % cd->groups) return CUDNN_STATUS_BAD_PARAM;
    int eh = (w->h - 1) * cd->dh + 1, ew = (w->w - 1) * cd->dw + 1;
    if (x->h + 2 * cd->ph < eh || x->w + 2 * cd->pw < ew) return CUDNN_STATUS_BAD_PARAM;
    *n = x->n;
    *c = w->k;
    *h = 1 + (x->h + 2 * cd->ph - eh) / cd->u;
    *wd = 1 + (x->w + 2 * cd->pw - ew) / cd->v;
    return CUDNN_STATUS_SUCCESS;
}

/* The convolution itself, on copies of the descriptors (cuDNN reads them at
 * the call; the caller may change or destroy them before the work runs). */
static void conv_run(ax_emu_tensor xv, const float *x, ax_emu_filter wv, const float *w, ax_emu_conv cv, float alpha,
                     float beta, float *y)
{
    const ax_emu_tensor *xd = &xv;
    const ax_emu_filter *wd = &wv;
    const ax_emu_conv *cd = &cv;
    int n = xd->n, c = wd->k;
    int oh = 1 + (xd->h + 2 * cd->ph - ((wd->h - 1) * cd->dh + 1)) / cd->u;
    int ow = 1 + (xd->w + 2 * cd->pw - ((wd->w - 1) * cd->dw + 1)) / cd->v;
    int G = cd->groups, kpg = wd->k / G, cpg = wd->c;
    for (int img = 0; img < n; img++)
        for (int k = 0; k < wd->k; k++) {
            int g = k / kpg;
            const float *wk = w + (size_t)k * cpg * wd->h * wd->w;
            for (int oy = 0; oy < oh; oy++)
                for (int ox = 0; ox < ow; ox++) {
                    float sum = 0;
                    for (int ci = 0; ci < cpg; ci++) {
                        const float *xp = x + ((size_t)img * xd->c + (size_t)g * cpg + ci) * xd->h * xd->w;
                        const float *wp = wk + (size_t)ci * wd->h * wd->w;
                        for (int ky = 0; ky < wd->h; ky++) {
                            int yy = oy * cd->u - cd->ph + ky * cd->dh;
                            if (yy < 0 || yy >= xd->h) continue;
                            for (int kx = 0; kx < wd->w; kx++) {
                                int xx = ox * cd->v - cd->pw + kx * cd->dw;
                                if (xx < 0 || xx >= xd->w) continue;
                                sum += xp[(size_t)yy * xd->w + xx] * wp[ky * wd->w + kx];
                            }
                        }
                    }
                    float *yp = y + (((size_t)img * c + k) * oh + oy) * ow + ox;
                    *yp = alpha * sum + (beta != 0.0f ? beta * *yp : 0.0f);
                }
        }
}

/* Checks the call and queues the convolution on the handle's stream. */
static cudnnStatus_t conv(cudnnHandle_t h, cudnnTensorDescriptor_t xd, const float *x, cudnnFilterDescriptor_t wd,
                          const float *w, cudnnConvolutionDescriptor_t cd, float alpha, float beta,
                          cudnnTensorDescriptor_t yd, float *y)
{
    int n, c, oh, ow;
    cudnnStatus_t status = cudnnGetConvolution2dForwardOutputDim(cd, xd, wd, &n, &c, &oh, &ow);
    if (status) return status;
    if (!yd->set || yd->n != n || yd->c != c || yd->h != oh || yd->w != ow) return CUDNN_STATUS_BAD_PARAM;
    if (cd->mode != CUDNN_CROSS_CORRELATION) return CUDNN_STATUS_NOT_SUPPORTED;
    need_device(x, (size_t)xd->n * xd->c * xd->h * xd->w * sizeof(float), "cudnnConvolutionForward x");
    need_device(w, (size_t)wd->k * wd->c * wd->h * wd->w * sizeof(float), "cudnnConvolutionForward w");
    need_device(y, (size_t)n * c * oh * ow * sizeof(float), "cudnnConvolutionForward y");
    ax_emu_tensor xv = *xd;
    ax_emu_filter wv = *wd;
    ax_emu_conv cv = *cd;
    ax_emu_enqueue(h->stream, [=]() { conv_run(xv, x, wv, w, cv, alpha, beta, y); });
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnFindConvolutionForwardAlgorithmEx(cudnnHandle_t h, cudnnTensorDescriptor_t xd, const void *x,
                                                     cudnnFilterDescriptor_t wd, const void *w,
                                                     cudnnConvolutionDescriptor_t cd, cudnnTensorDescriptor_t yd,
                                                     void *y, int want, int *got,
                                                     cudnnConvolutionFwdAlgoPerf_t *perf, void *ws, size_t ws_bytes)
{
    LOCK;
    if (want < 1) return CUDNN_STATUS_BAD_PARAM;
    if (env_int("AX_EMU_DNN_FAIL", 0)) return CUDNN_STATUS_NOT_SUPPORTED;
    if (ws_bytes) need_device(ws, ws_bytes, "cudnnFindConvolutionForwardAlgorithmEx workspace");
    /* Find runs the candidates on the buffers it is given, and blocks until
     * they are done */
    cudnnStatus_t status = conv(h, xd, (const float *)x, wd, (const float *)w, cd, 1.0f, 0.0f, yd, (float *)y);
    if (status) return status;
    drain(st(h->stream));
    /* The slowest first, as a real search might list a tensor-core result
     * before an FMA one: the caller must pick by math type, not position. */
    int n = 0;
    if (want > n && cd->math != CUDNN_FMA_MATH) perf[n++] = {CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD_NONFUSED,
                                                             CUDNN_STATUS_SUCCESS, 0.5f, ax_emu_find_ws, 0,
                                                             CUDNN_TENSOR_OP_MATH, {0, 0, 0}};
    if (want > n) perf[n++] = {CUDNN_CONVOLUTION_FWD_ALGO_FFT, CUDNN_STATUS_NOT_SUPPORTED, -1.0f, 0, 0,
                               CUDNN_FMA_MATH, {0, 0, 0}};
    if (want > n) perf[n++] = {CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM, CUDNN_STATUS_SUCCESS, 1.0f,
                               ax_emu_find_ws, 0, CUDNN_FMA_MATH, {0, 0, 0}};
    *got = n;
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnConvolutionForward(cudnnHandle_t h, const void *alpha, cudnnTensorDescriptor_t xd, const void *x,
                                      cudnnFilterDescriptor_t wd, const void *w, cudnnConvolutionDescriptor_t cd,
                                      cudnnConvolutionFwdAlgo_t algo, void *ws, size_t ws_bytes, const void *beta,
                                      cudnnTensorDescriptor_t yd, void *y)
{
    LOCK;
    (void)algo;
    if (ws_bytes < ax_emu_find_ws) return CUDNN_STATUS_BAD_PARAM;
    need_device(ws, ws_bytes, "cudnnConvolutionForward workspace");
    return conv(h, xd, (const float *)x, wd, (const float *)w, cd, *(const float *)alpha, *(const float *)beta, yd,
                (float *)y);
}
#endif
