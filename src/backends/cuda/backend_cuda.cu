/* The CUDA backend. Every tensor the net computes lives in one device arena:
 * the input, each layer's output, the weights, and the scratch the
 * convolutions need, each buffer between two runs of sentinel values that the
 * cross-backend test checks after every run. Layers are enqueued on one
 * stream with an event pair around each, so a forward pass waits once and
 * still reports each layer's kernel time. Host copies are made only when the
 * net asks for one (ax_net_output).
 *
 * Convolutions go through cuDNN with the fastest float32 algorithm found for
 * the layer's shape when the net is created, and through im2col + cuBLAS
 * where cuDNN is not built in or is turned off. Fully connected layers are one
 * cuBLAS GEMM. The rest are the kernels of kernels.cu. TF32 and every other
 * reduced-precision math stay off unless the user asks, so that the CPU and
 * the GPU agree to float32 rounding. */
#include "state.h"

/* ---- the arena ----------------------------------------------------------- */

/* Space for one guarded buffer of n floats. */
static size_t guarded(size_t n)
{
    return GUARD + round_up(n ? n : 1, 64) + GUARD;
}

/* Places a buffer of n floats at *off (in floats) in the arena. */
static float *carve(cu_state *s, size_t *off, size_t n, const char *what)
{
    float *p = s->arena + *off + GUARD;
    *off += guarded(n);
    if (s->nregions < s->cap_regions) {
        region *r = &s->regions[s->nregions++];
        r->p = p;
        r->n = n;
        snprintf(r->what, sizeof r->what, "%s", what);
    }
    return p;
}

static void fill_guards(cu_state *s, const region *r)
{
    float v;
    memcpy(&v, &SENTINEL_BITS, sizeof v);
    ax_cu_fill(s->stream, r->p - GUARD, v, GUARD);
    ax_cu_fill(s->stream, r->p + r->n, v, GUARD + (round_up(r->n ? r->n : 1, 64) - r->n));
}

/* ---- creation ------------------------------------------------------------ */

static void cuda_release(ax_net *net);

#ifdef AX_HAVE_CUDNN
/* Descriptors of one convolution; padding cuDNN cannot express (asymmetric,
 * as SAME gives) is made by copying the input into a padded buffer. */
ax_status ax_cu_dnn_describe(int tf32, const ax_layer *L, cu_layer *c, ax_error *err)
{
    const ax_window *g = &L->win;
    int pt = g->pad_t, pl = g->pad_l, h = g->h, w = g->w;
    DNN(cudnnCreateTensorDescriptor(&c->xd), "creating a tensor descriptor");
    DNN(cudnnCreateTensorDescriptor(&c->yd), "creating a tensor descriptor");
    DNN(cudnnCreateFilterDescriptor(&c->wd), "creating a filter descriptor");
    DNN(cudnnCreateConvolutionDescriptor(&c->cd), "creating a convolution descriptor");
    /* cuDNN pads both sides alike: with (pad_t, pad_l) on both its output
     * must come out as ours, else pad explicitly and convolve unpadded. */
    int oh = (h + 2 * pt - g->kh) / g->sh + 1, ow = (w + 2 * pl - g->kw) / g->sw + 1;
    if (h + 2 * pt < g->kh || w + 2 * pl < g->kw || oh != g->oh || ow != g->ow) {
        c->explicit_pad = 1;
        h = g->h + L->pad_b + g->pad_t;
        w = g->w + L->pad_r + g->pad_l;
        pt = pl = 0;
    }
    DNN(cudnnSetTensor4dDescriptor(c->xd, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, g->n, g->c, h, w), "input descriptor");
    DNN(cudnnSetTensor4dDescriptor(c->yd, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, g->n, g->oc, g->oh, g->ow),
        "output descriptor");
    DNN(cudnnSetFilter4dDescriptor(c->wd, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, g->oc, g->c / g->groups, g->kh, g->kw),
        "filter descriptor");
    DNN(cudnnSetConvolution2dDescriptor(c->cd, pt, pl, g->sh, g->sw, 1, 1, CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT),
        "convolution descriptor");
    DNN(cudnnSetConvolutionGroupCount(c->cd, g->groups), "group count");
    DNN(cudnnSetConvolutionMathType(c->cd, tf32 ? CUDNN_TENSOR_OP_MATH : CUDNN_FMA_MATH), "math type");
    int n, ch, yh, yw;
    DNN(cudnnGetConvolution2dForwardOutputDim(c->cd, c->xd, c->wd, &n, &ch, &yh, &yw), "output size");
    if (n != g->n || ch != g->oc || yh != g->oh || yw != g->ow)
        return ax_fail(err, AX_ERR_UNSUPPORTED, "layer '%s': cuDNN computes a (%d, %d, %d, %d) output where the net "
                       "has (%d, %d, %d, %d)", L->spec.name, n, ch, yh, yw, g->n, g->oc, g->oh, g->ow);
    return AX_OK;
}

/* The fastest algorithm the user's precision allows, measured on this
 * layer's buffers: without --tf32 an FMA (true float32) one; only when cuDNN
 * offers none, its default math, with a note (it may use TF32 on Ampere and
 * later unless NVIDIA_TF32_OVERRIDE=0). */
ax_status ax_cu_dnn_find(cu_state *s, const ax_layer *L, cu_layer *c, const float *x, void *ws, size_t ws_cap,
                          cudnnConvolutionFwdAlgo_t *algo, size_t *need, int *default_math, ax_error *err)
{
    cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
    int got = 0;
    DNN(cudnnFindConvolutionForwardAlgorithmEx(s->dnn, c->xd, x, c->wd, c->w, c->cd, c->yd, c->out,
                                               CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &got, perf, ws, ws_cap),
        "searching for a convolution algorithm");
    for (int pass = 0; pass < 2; pass++)
        for (int k = 0; k < got; k++) {
            if (perf[k].status != CUDNN_STATUS_SUCCESS) continue;
            cudnnMathType_t m = perf[k].mathType;
            if (!s->tf32 && m != (pass ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH)) continue;
            *algo = perf[k].algo;
            *need = perf[k].memory;
            if (default_math) *default_math = pass;
            return AX_OK;
        }
    return ax_fail(err, AX_ERR_UNSUPPORTED, "layer '%s': cuDNN has no float32 algorithm for this convolution "
                   "(%d tried)", L->spec.name, got);
}
#endif

/* One attempt at creating the backend; with try_cudnn 0, no cuDNN. */
static ax_status init_once(ax_net *net, int try_cudnn, ax_error *err)
{
    const ax_backend_options *opt = &net->options;
    int count = 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess || count == 0) return no_device(err, e != cudaSuccess ? e : cudaErrorNoDevice);
    if (opt->device_index < 0 || opt->device_index >= count)
        return ax_fail(err, AX_ERR_ARG, "--gpu %d: this machine has %d GPU%s (0..%d)", opt->device_index, count,
                       count > 1 ? "s" : "", count - 1);
    int cap_regions = 3 * net->nlayers + 8;
    cu_state *s = (cu_state *)calloc(1, sizeof *s);
    cu_layer *cl = (cu_layer *)calloc((size_t)net->nlayers + 1, sizeof *cl);
    region *rg = (region *)calloc((size_t)cap_regions, sizeof *rg);
    if (!s || !cl || !rg) {
        free(s); free(cl); free(rg);
        return ax_fail(err, AX_ERR_NOMEM, "out of memory creating the CUDA backend");
    }
    s->L = cl;
    s->regions = rg;
    s->cap_regions = cap_regions;
    s->dev = opt->device_index;
    s->tf32 = opt->tf32;
    net->backend_state = s;

    e = cudaSetDevice(s->dev);
    if (e != cudaSuccess) return no_device(err, e);
    CU(cudaGetDeviceProperties(&s->prop, s->dev), "reading the GPU's properties");
    char why[400] = "", dnn_why[400] = "";
    int have_dnn = 0;
#ifdef AX_CUDA_EMULATE
    have_dnn = !opt->no_cudnn && try_cudnn;
    (void)why;
#else
    if (ax_cuda_load_libs(!opt->no_cudnn && try_cudnn, &have_dnn, why, sizeof why, dnn_why, sizeof dnn_why))
        return ax_fail(err, AX_ERR_DEVICE, "--device cuda: %s", why);
#endif
    CU(cudaStreamCreateWithFlags(&s->stream, cudaStreamNonBlocking), "creating a stream");
    BLAS(cublasCreate(&s->blas), "starting cuBLAS");
    BLAS(cublasSetStream(s->blas, s->stream), "setting cuBLAS's stream");
    BLAS(cublasSetMathMode(s->blas, s->tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH),
         "setting cuBLAS's math mode");

    s->use_cudnn = 0;
#ifdef AX_HAVE_CUDNN
    if (opt->no_cudnn || !try_cudnn) {
        snprintf(s->cudnn_note, sizeof s->cudnn_note, "cuDNN off (--no-cudnn): convolutions through im2col + cuBLAS");
    } else if (!have_dnn) {
        snprintf(s->cudnn_note, sizeof s->cudnn_note, "cuDNN not loaded (%.80s): convolutions through im2col + cuBLAS",
                 dnn_why);
    } else {
        cudnnStatus_t ds = cudnnCreate(&s->dnn);
        if (ds == CUDNN_STATUS_SUCCESS && cudnnSetStream(s->dnn, s->stream) == CUDNN_STATUS_SUCCESS) {
            s->use_cudnn = 1;
            size_t v = cudnnGetVersion();
            snprintf(s->cudnn_note, sizeof s->cudnn_note, "cuDNN %zu.%zu.%zu", v / 10000, v / 100 % 100, v % 100);
        } else {
            snprintf(s->cudnn_note, sizeof s->cudnn_note, "cuDNN unusable (%s): convolutions through im2col + cuBLAS",
                     cudnnGetErrorString(ds));
            if (ds == CUDNN_STATUS_SUCCESS) cudnnDestroy(s->dnn);
            s->dnn = NULL;
        }
    }
#else
    (void)have_dnn;
    (void)dnn_why;
    snprintf(s->cudnn_note, sizeof s->cudnn_note, "built without cuDNN: convolutions through im2col + cuBLAS");
#endif

    /* Sizes, then one allocation. */
    size_t total = guarded(ax_tensor_numel(&net->input)), col_n = 0, pad_n = 0;
    for (int i = 0; i < net->nlayers; i++) {
        ax_layer *L = &net->layers[i];
        cu_layer *c = &cl[i];
        total += guarded(ax_tensor_numel(&L->out));
        if (L->weight.ndim) total += guarded(ax_tensor_numel(&L->weight));
        if (L->bias.ndim) total += guarded(ax_tensor_numel(&L->bias));
        if (L->spec.type != AX_L_CONV) continue;
#ifdef AX_HAVE_CUDNN
        if (s->use_cudnn) {
            ax_status st = ax_cu_dnn_describe(s->tf32, L, c, err);
            if (st) { s->dnn_failed = 1; return st; }
            c->dnn = 1;
            if (c->explicit_pad) {
                size_t pn = (size_t)L->win.n * L->win.c * (L->win.h + L->pad_b + L->win.pad_t) *
                            (L->win.w + L->pad_r + L->win.pad_l);
                if (pn > pad_n) pad_n = pn;
            }
            continue;
        }
#endif
        size_t per = col_per_image(L);
        size_t chunk = per ? COL_CAP / per : 1;
        if (chunk < 1) chunk = 1;
        if (chunk > (size_t)L->win.n) chunk = (size_t)L->win.n;
        c->chunk = (int)chunk;
        if (chunk * per > col_n) col_n = chunk * per;
    }
    if (col_n) total += guarded(col_n);
    if (pad_n) total += guarded(pad_n);

    size_t free_b = 0, total_b = 0;
    CU(cudaMemGetInfo(&free_b, &total_b), "reading the GPU's free memory");
    if (total * sizeof(float) > free_b)
        return ax_fail(err, AX_ERR_NOMEM, "the %s model at batch %d needs %.2f GB on the GPU; %s has %.2f GB free "
                       "of %.2f GB", net->spec.name, net->batch, total * 4e-9, s->prop.name, free_b * 1e-9,
                       total_b * 1e-9);
    e = cudaMalloc((void **)&s->arena, total * sizeof(float));
    if (e != cudaSuccess) {
        s->arena = NULL;
        return cuda_fail(err, e, "allocating the net's GPU memory");
    }
    s->arena_n = total;
    CU(cudaMemsetAsync(s->arena, 0, total * sizeof(float), s->stream), "clearing GPU memory");
    size_t off = 0;
    char what[80];
    s->input = carve(s, &off, ax_tensor_numel(&net->input), "input");
    for (int i = 0; i < net->nlayers; i++) {
        ax_layer *L = &net->layers[i];
        snprintf(what, sizeof what, "output of layer %.40s", L->spec.name);
        cl[i].out = carve(s, &off, ax_tensor_numel(&L->out), what);
        snprintf(what, sizeof what, "weight of layer %.40s", L->spec.name);
        if (L->weight.ndim) cl[i].w = carve(s, &off, ax_tensor_numel(&L->weight), what);
        snprintf(what, sizeof what, "bias of layer %.40s", L->spec.name);
        if (L->bias.ndim) cl[i].b = carve(s, &off, ax_tensor_numel(&L->bias), what);
    }
    if (col_n) s->col = carve(s, &off, col_n, "im2col scratch");
    if (pad_n) s->padbuf = carve(s, &off, pad_n, "padded convolution input");
    for (int r = 0; r < s->nregions; r++) fill_guards(s, &s->regions[r]);

#ifdef AX_HAVE_CUDNN
    /* The fastest algorithm per convolution, found on its own buffers with a
     * generous workspace; the workspace kept is what the winners need. */
    if (s->use_cudnn) {
        size_t cap = free_b > total * sizeof(float) ? (free_b - total * sizeof(float)) / 2 : 0;
        if (cap > FIND_WS_CAP) cap = FIND_WS_CAP;
        void *tmp = NULL;
        if (cap && cudaMalloc(&tmp, cap) != cudaSuccess) {
            cudaGetLastError();
            tmp = NULL;
            cap = 0;
        }
        ax_status st = AX_OK;
        size_t need_max = 0;
        for (int i = 0; i < net->nlayers && !st; i++) {
            cu_layer *c = &cl[i];
            if (!c->dnn) continue;
            const float *x = c->explicit_pad ? s->padbuf : (i ? cl[i - 1].out : s->input);
            int dm = 0;
            st = ax_cu_dnn_find(s, &net->layers[i], c, x, tmp, cap, &c->algo, &c->ws, &dm, err);
            if (c->ws > need_max) need_max = c->ws;
            if (!st && dm && strlen(s->cudnn_note) + 60 < sizeof s->cudnn_note)
                snprintf(s->cudnn_note + strlen(s->cudnn_note), sizeof s->cudnn_note - strlen(s->cudnn_note),
                         " (%.30s: default math)", net->layers[i].spec.name);
        }
        if (tmp) cudaFree(tmp);
        if (st) { s->dnn_failed = 1; return st; }
        if (need_max) {
            size_t nf = (need_max + 3) / 4;
            e = cudaMalloc((void **)&s->ws_base, guarded(nf) * sizeof(float));
            if (e != cudaSuccess) {
                s->ws_base = NULL;
                return cuda_fail(err, e, "allocating cuDNN's workspace");
            }
            s->ws = s->ws_base + GUARD;
            s->ws_bytes = need_max;
            if (s->nregions < s->cap_regions) {
                region *r = &s->regions[s->nregions++];
                r->p = s->ws_base + GUARD;
                r->n = nf;
                snprintf(r->what, sizeof r->what, "cuDNN workspace");
                fill_guards(s, r);
            }
        }
    }
#endif
    for (int i = 0; i < net->nlayers; i++) {
        CU(cudaEventCreate(&cl[i].ev0), "creating an event");
        CU(cudaEventCreate(&cl[i].ev1), "creating an event");
    }
    /* Pinned host activations copy at the bus's speed; without them copies
     * still work, staged. */
    if (cudaHostRegister(net->ablock, net->acount * sizeof(float), cudaHostRegisterDefault) == cudaSuccess)
        s->registered = 1;
    else
        cudaGetLastError();
    CU(cudaStreamSynchronize(s->stream), "preparing the GPU");
    net->backend_bytes = s->arena_n * sizeof(float) + (s->ws_base ? s->ws_bytes : 0);

    return AX_OK;
}

/* cuDNN failing for a layer (an algorithm it lacks, a sub-library it cannot
 * load) is not the end: the convolutions then run as im2col + cuBLAS, and
 * the description says why. */
static ax_status cuda_init(ax_net *net, ax_error *err)
{
    ax_status st = init_once(net, 1, err);
    if (st && S(net) && S(net)->dnn_failed) {
        char why[200];
        snprintf(why, sizeof why, "%.199s", err->msg);
        cuda_release(net);
        st = init_once(net, 0, err);
        if (!st)
            snprintf(S(net)->cudnn_note, sizeof S(net)->cudnn_note, "cuDNN failed (%.100s): convolutions through "
                     "im2col + cuBLAS", why);
    }
    if (st) return st;
    cu_state *s = S(net);
    size_t mib = (size_t)(s->prop.totalGlobalMem >> 20);
    snprintf(s->desc, sizeof s->desc, "cuda: %.80s (sm_%d%d, %zu MiB), %.150s, %s", s->prop.name, s->prop.major,
             s->prop.minor, mib, s->cudnn_note, s->tf32 ? "TF32 allowed (--tf32)" : "float32 throughout (TF32 off)");
    return AX_OK;
}

static void cuda_release(ax_net *net)
{
    cu_state *s = S(net);
    if (!s) return;
    if (s->stream) cudaStreamSynchronize(s->stream);
    for (int i = 0; s->L && i < net->nlayers; i++) {
        cu_layer *c = &s->L[i];
        if (c->ev0) cudaEventDestroy(c->ev0);
        if (c->ev1) cudaEventDestroy(c->ev1);
#ifdef AX_HAVE_CUDNN
        if (c->xd) cudnnDestroyTensorDescriptor(c->xd);
        if (c->yd) cudnnDestroyTensorDescriptor(c->yd);
        if (c->wd) cudnnDestroyFilterDescriptor(c->wd);
        if (c->cd) cudnnDestroyConvolutionDescriptor(c->cd);
#endif
    }
#ifdef AX_HAVE_CUDNN
    if (s->dnn) cudnnDestroy(s->dnn);
#endif
    if (s->blas) cublasDestroy(s->blas);
    if (s->registered) cudaHostUnregister(net->ablock);
    if (s->ws_base) cudaFree(s->ws_base);
    if (s->arena) cudaFree(s->arena);
    if (s->stream) cudaStreamDestroy(s->stream);
    free(s->regions);
    free(s->L);
    free(s);
    net->backend_state = NULL;
}

/* ---- transfers ----------------------------------------------------------- */

static ax_status cuda_upload_weights(ax_net *net, int i, ax_error *err)
{
    cu_state *s = S(net);
    for (int j = i < 0 ? 0 : i; j < net->nlayers && (i < 0 || j == i); j++) {
        const ax_layer *L = &net->layers[j];
        if (L->weight.ndim)
            CU(cudaMemcpyAsync(s->L[j].w, L->weight.data, ax_tensor_numel(&L->weight) * sizeof(float),
                               cudaMemcpyHostToDevice, s->stream), "copying weights to the GPU");
        if (L->bias.ndim)
            CU(cudaMemcpyAsync(s->L[j].b, L->bias.data, ax_tensor_numel(&L->bias) * sizeof(float),
                               cudaMemcpyHostToDevice, s->stream), "copying biases to the GPU");
    }
    /* the host weights may change as soon as this returns */
    CU(cudaStreamSynchronize(s->stream), "copying weights to the GPU");
    return AX_OK;
}

static ax_status cuda_upload(ax_net *net, int i, ax_error *err)
{
    cu_state *s = S(net);
    const ax_tensor *t = i < 0 ? &net->input : &net->layers[i].out;
    float *d = i < 0 ? s->input : s->L[i].out;
    CU(cudaMemcpyAsync(d, t->data, ax_tensor_numel(t) * sizeof(float), cudaMemcpyHostToDevice, s->stream),
       "copying to the GPU");
    CU(cudaStreamSynchronize(s->stream), "copying to the GPU");
    return AX_OK;
}

static ax_status cuda_download(ax_net *net, int i, ax_error *err)
{
    cu_state *s = S(net);
    if (i < 0) return AX_OK;
    const ax_tensor *t = &net->layers[i].out;
    CU(cudaMemcpyAsync(t->data, s->L[i].out, ax_tensor_numel(t) * sizeof(float), cudaMemcpyDeviceToHost,
                       s->stream), "copying a layer's output from the GPU");
    CU(cudaStreamSynchronize(s->stream), "copying a layer's output from the GPU");
    return AX_OK;
}

static ax_status cuda_synchronize(ax_net *net, ax_error *err)
{
    cu_state *s = S(net);
    CU(cudaStreamSynchronize(s->stream), "running the net");
    for (int i = 0; i < net->nlayers; i++) {
        cu_layer *c = &s->L[i];
        if (!c->timed) continue;
        float ms = 0;
        CU(cudaEventElapsedTime(&ms, c->ev0, c->ev1), "reading a layer's time");
        net->layers[i].ms = ms;
        c->timed = 0;
    }
    return AX_OK;
}

/* ---- layers -------------------------------------------------------------- */

/* Row-major C (M, N) = A (M, K) x B (K, N), batched over `count` with
 * strides, as cuBLAS's column-major C^T = B^T A^T. */
ax_status ax_cu_gemm_rm(cu_state *s, int M, int N, int K, const float *A, long long sa, const float *B,
                         long long sb, float *C, long long sc, int count, ax_error *err)
{
    const float one = 1.0f, zero = 0.0f;
    if (count == 1)
        BLAS(cublasSgemm(s->blas, CUBLAS_OP_N, CUBLAS_OP_N, N, M, K, &one, B, N, A, K, &zero, C, N),
             "convolution GEMM");
    else
        BLAS(cublasSgemmStridedBatched(s->blas, CUBLAS_OP_N, CUBLAS_OP_N, N, M, K, &one, B, N, sb, A, K, sa, &zero,
                                       C, N, sc, count),
             "convolution GEMM");
    return AX_OK;
}

/* im2col + one batched GEMM per group and chunk of images. */
static ax_status conv_gemm(cu_state *s, const ax_layer *L, const cu_layer *c, const float *x, float *y,
                           ax_error *err)
{
    const ax_window *g = &L->win;
    int G = g->groups, M = g->oc / G, N = g->oh * g->ow, K = g->c / G * g->kh * g->kw;
    size_t per = col_per_image(L), in_per = (size_t)g->c * g->h * g->w, out_per = (size_t)g->oc * N;
    for (int img = 0; img < g->n; img += c->chunk) {
        int cnt = g->n - img < c->chunk ? g->n - img : c->chunk;
        ax_cu_im2col(s->stream, s->col, x + img * in_per, cnt, g->c, g->h, g->w, g->kh, g->kw, g->sh, g->sw,
                     g->pad_t, g->pad_l, g->oh, g->ow);
        for (int gi = 0; gi < G; gi++) {
            /* out[img][gi*M + m][p] = sum_k W[gi*M + m][k] col[img][gi*K + k][p] */
            ax_status st = ax_cu_gemm_rm(s, M, N, K, c->w + (size_t)gi * M * K, 0, s->col + (size_t)gi * K * N,
                                   (long long)per, y + img * out_per + (size_t)gi * M * N, (long long)out_per,
                                   cnt, err);
            if (st) return st;
        }
    }
    return AX_OK;
}

static ax_status run_conv(cu_state *s, const ax_layer *L, const cu_layer *c, const float *x, float *y,
                          ax_error *err)
{
    const ax_window *g = &L->win;
#ifdef AX_HAVE_CUDNN
    if (c->dnn) {
        const float one = 1.0f, zero = 0.0f;
        if (c->explicit_pad) {
            ax_cu_pad(s->stream, s->padbuf, x, g->n, g->c, g->h, g->w, g->pad_t, g->pad_l, L->pad_b, L->pad_r);
            x = s->padbuf;
        }
        DNN(cudnnConvolutionForward(s->dnn, &one, c->xd, x, c->wd, c->w, c->cd, c->algo, s->ws, s->ws_bytes, &zero,
                                    c->yd, y),
            "convolution");
    } else
#endif
    {
        ax_status st = conv_gemm(s, L, c, x, y, err);
        if (st) return st;
    }
    if (L->bias.ndim) ax_cu_bias_nchw(s->stream, y, c->b, g->n, g->oc, g->oh * g->ow);
    return AX_OK;
}

/* One layer's call: its input x and output y on the device, the input's NCHW
 * view and element count. */
typedef struct {
    cu_state *s;
    const ax_layer *L;
    const cu_layer *c;
    const float *x;
    float *y;
    int n, ch, h, w;
    size_t count;
} cu_call;

static ax_status k_conv(const cu_call *k, ax_error *err) { return run_conv(k->s, k->L, k->c, k->x, k->y, err); }

static ax_status k_relu(const cu_call *k, ax_error *err)
{
    (void)err;
    ax_cu_relu(k->s->stream, k->y, k->x, k->count);
    return AX_OK;
}

static ax_status k_copy(const cu_call *k, ax_error *err)
{
    CU(cudaMemcpyAsync(k->y, k->x, k->count * sizeof(float), cudaMemcpyDeviceToDevice, k->s->stream),
       "a copy (dropout, flatten)");
    return AX_OK;
}

static ax_status k_flatten(const cu_call *k, ax_error *err)
{
    if (k->L->spec.order != AX_FLATTEN_HWC) return k_copy(k, err);
    ax_cu_flatten_hwc(k->s->stream, k->y, k->x, k->n, k->ch, k->h * k->w);
    return AX_OK;
}

static ax_status k_lrn(const cu_call *k, ax_error *err)
{
    (void)err;
    const ax_layer_spec *sp = &k->L->spec;
    ax_cu_lrn(k->s->stream, k->y, k->x, ax_lrn_sum_scale(sp), sp->lrn_beta, sp->lrn_k, sp->lrn_size, k->n, k->ch,
              k->h * k->w);
    return AX_OK;
}

static ax_status k_maxpool(const cu_call *k, ax_error *err)
{
    (void)err;
    const ax_window *g = &k->L->win;
    ax_cu_maxpool(k->s->stream, k->y, k->x, g->n * g->c, g->h, g->w, g->oh, g->ow, g->kh, g->kw, g->sh, g->sw,
                  g->pad_t, g->pad_l);
    return AX_OK;
}

static ax_status k_avgpool(const cu_call *k, ax_error *err)
{
    (void)err;
    ax_cu_avgpool_adaptive(k->s->stream, k->y, k->x, k->n * k->ch, k->h, k->w, k->L->spec.out_h, k->L->spec.out_w);
    return AX_OK;
}

static ax_status k_pad(const cu_call *k, ax_error *err)
{
    (void)err;
    const ax_layer_spec *sp = &k->L->spec;
    ax_cu_pad(k->s->stream, k->y, k->x, k->n, k->ch, k->h, k->w, sp->pad_t, sp->pad_l, sp->pad_b, sp->pad_r);
    return AX_OK;
}

static ax_status k_fc(const cu_call *k, ax_error *err)
{
    /* out (N, OUT) = in (N, IN) W^T: column-major out^T = W^T-as-stored^T x in^T */
    const float one = 1.0f, zero = 0.0f;
    int in_f = k->ch * k->h * k->w, out_f = k->L->spec.out_c;
    BLAS(cublasSgemm(k->s->blas, CUBLAS_OP_T, CUBLAS_OP_N, out_f, k->n, in_f, &one, k->c->w, in_f, k->x, in_f, &zero,
                     k->y, out_f),
         "fully connected GEMM");
    if (k->L->bias.ndim) ax_cu_bias_rows(k->s->stream, k->y, k->c->b, k->n, out_f);
    return AX_OK;
}

static ax_status k_softmax(const cu_call *k, ax_error *err)
{
    (void)err;
    ax_cu_softmax(k->s->stream, k->y, k->x, k->n, k->ch * k->h * k->w);
    return AX_OK;
}

/* The kernel of every layer type, one row each (C++ has no designated array
 * initialisers, so the rows name their type and are looked up). */
static const struct {
    ax_layer_type type;
    ax_status (*run)(const cu_call *k, ax_error *err);
} cuda_kernels[] = {
    { AX_L_CONV, k_conv },       { AX_L_RELU, k_relu },       { AX_L_LRN, k_lrn },
    { AX_L_MAXPOOL, k_maxpool }, { AX_L_AVGPOOL, k_avgpool }, { AX_L_PAD, k_pad },
    { AX_L_FLATTEN, k_flatten }, { AX_L_FC, k_fc },           { AX_L_DROPOUT, k_copy },
    { AX_L_SOFTMAX, k_softmax },
};

static_assert(sizeof cuda_kernels / sizeof *cuda_kernels == AX_L_COUNT, "a CUDA kernel for every layer type");

static ax_status (*cuda_kernel(ax_layer_type t))(const cu_call *, ax_error *)
{
    for (size_t j = 0; j < sizeof cuda_kernels / sizeof *cuda_kernels; j++)
        if (cuda_kernels[j].type == t) return cuda_kernels[j].run;
    return NULL;
}

static int cuda_supports(const ax_net *net, const ax_layer *L, char *why, size_t size)
{
    (void)net;
    if (cuda_kernel(L->spec.type)) return 1;
    snprintf(why, size, "layer type %s (%d) has no CUDA kernel", ax_layer_type_name(L->spec.type), (int)L->spec.type);
    return 0;
}

static ax_status cuda_run_layer(ax_net *net, int i, ax_error *err)
{
    cu_state *s = S(net);
    ax_layer *L = &net->layers[i];
    cu_layer *c = &s->L[i];
    const ax_layer_spec *sp = &L->spec;
    const ax_tensor *in = ax_net_layer_input(net, i);
    cu_call k = { s, L, c, i ? s->L[i - 1].out : s->input, c->out, 0, 0, 0, 0, ax_tensor_numel(in) };
    ax_tensor_nchw(in, &k.n, &k.ch, &k.h, &k.w);
    ax_status (*run)(const cu_call *, ax_error *) = cuda_kernel(sp->type);
    if (!run)
        return ax_fail(err, AX_ERR_UNSUPPORTED, "layer '%s': type %s has no CUDA kernel", sp->name,
                       ax_layer_type_name(sp->type));

    CU(cudaEventRecord(c->ev0, s->stream), "timing a layer");
    ax_status st = run(&k, err);
    if (st) return st;
    cudaError_t e = cudaGetLastError();
    if (e != cudaSuccess) {
        char doing[120];
        snprintf(doing, sizeof doing, "layer '%.60s' (%s)", sp->name, ax_layer_type_name(sp->type));
        return cuda_fail(err, e, doing);
    }
    CU(cudaEventRecord(c->ev1, s->stream), "timing a layer");
    c->timed = 1;
    return AX_OK;
}

static void cuda_describe(const ax_net *net, char *buf, int size)
{
    const cu_state *s = S(net);
    snprintf(buf, (size_t)size, "%s", s ? s->desc : "cuda");
}

extern "C" const char *ax_cuda_conv_method(const ax_net *net, int i);
extern "C" double ax_cuda_conv_peer_ms(ax_net *net, int i, int runs, char *what, size_t size);
extern "C" int ax_cuda_copy_ms(ax_net *net, int i, double *h2d, double *d2h);

extern "C" const ax_backend ax_backend_cuda = {
    .name = "cuda",
    .host_memory = 0,
    .workspace = NULL,   /* its buffers are on the device; init checks they fit there */
    .init = cuda_init,
    .supports = cuda_supports,
    .upload_weights = cuda_upload_weights,
    .upload = cuda_upload,
    .run_layer = cuda_run_layer,
    .download = cuda_download,
    .synchronize = cuda_synchronize,
    .describe = cuda_describe,
    .release = cuda_release,
    .layer_method = ax_cuda_conv_method,
    .conv_peer_ms = ax_cuda_conv_peer_ms,
    .copy_ms = ax_cuda_copy_ms,
};

