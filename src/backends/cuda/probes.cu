/* What the CUDA backend shows beyond the backend table (cuda_backend.h): the
 * sentinels around its buffers, each convolution's peer timed alone, and the
 * time of a layer's copy to the host and back. */
#include "state.h"


extern "C" int ax_cuda_guards_ok(ax_net *net, char *why, size_t size)
{
    cu_state *s = S(net);
    if (!s) return 1;
    if (cudaStreamSynchronize(s->stream) != cudaSuccess) {
        snprintf(why, size, "the GPU failed: %s", cudaGetErrorString(cudaGetLastError()));
        return 0;
    }
    uint32_t *h = (uint32_t *)malloc((GUARD + 64) * sizeof(float));
    if (!h) { snprintf(why, size, "out of memory"); return 0; }
    int ok = 1;
    for (int r = 0; r < s->nregions && ok; r++) {
        const region *g = &s->regions[r];
        size_t tail = GUARD + (round_up(g->n ? g->n : 1, 64) - g->n);
        for (int side = 0; side < 2 && ok; side++) {
            const float *p = side ? g->p + g->n : g->p - GUARD;
            size_t n = side ? tail : GUARD;
            if (cudaMemcpy(h, p, n * sizeof(float), cudaMemcpyDeviceToHost) != cudaSuccess) {
                snprintf(why, size, "reading the sentinels of the %s: %s", g->what,
                         cudaGetErrorString(cudaGetLastError()));
                ok = 0;
                break;
            }
            for (size_t k = 0; k < n; k++)
                if (h[k] != SENTINEL_BITS) {
                    snprintf(why, size, "the sentinel %zu floats %s the %s (%zu floats) was overwritten",
                             side ? k + 1 : GUARD - k, side ? "after" : "before", g->what, g->n);
                    ok = 0;
                    break;
                }
        }
    }
    free(h);
    return ok;
}

extern "C" const char *ax_cuda_conv_method(const ax_net *net, int i)
{
    const cu_state *s = S(net);
    if (!s || i < 0 || i >= net->nlayers || net->layers[i].spec.type != AX_L_CONV) return "";
#ifdef AX_HAVE_CUDNN
    if (s->L[i].dnn) return algo_name(s->L[i].algo);
#endif
    return "im2col + cuBLAS";
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* One run of a peer: 0 on success. */
typedef int (*peer_run)(cu_state *s, const ax_layer *L, cu_layer *c, void *ctx);

/* The median of `runs` event-timed runs after one warm-up; negative when a
 * run fails. */
static double time_runs(cu_state *s, const ax_layer *L, cu_layer *c, peer_run run, void *ctx, int runs)
{
    double *t = (double *)calloc((size_t)runs, sizeof *t);
    cudaEvent_t a = NULL, b = NULL;
    double result = -1;
    if (t && cudaEventCreate(&a) == cudaSuccess && cudaEventCreate(&b) == cudaSuccess) {
        int bad = 0;
        for (int r = -1; r < runs && !bad; r++) {
            cudaEventRecord(a, s->stream);
            bad = run(s, L, c, ctx);
            cudaEventRecord(b, s->stream);
            cudaEventSynchronize(b);
            float ms = 0;
            cudaEventElapsedTime(&ms, a, b);
            if (r >= 0) t[r] = ms;
        }
        if (!bad) {
            qsort(t, (size_t)runs, sizeof *t, cmp_double);
            result = t[runs / 2];
        }
    }
    if (a) cudaEventDestroy(a);
    if (b) cudaEventDestroy(b);
    free(t);
    return result;
}

#ifdef AX_HAVE_CUDNN
typedef struct {
    const float *src;
    cudnnConvolutionFwdAlgo_t algo;
    void *ws;
    size_t ws_bytes;
} dnn_peer;

static int run_dnn(cu_state *s, const ax_layer *L, cu_layer *c, void *ctx)
{
    (void)L;
    const dnn_peer *p = (const dnn_peer *)ctx;
    const float one = 1.0f, zero = 0.0f;
    return cudnnConvolutionForward(s->dnn, &one, c->xd, p->src, c->wd, c->w, c->cd, p->algo, p->ws, p->ws_bytes,
                                   &zero, c->yd, c->out) != CUDNN_STATUS_SUCCESS;
}
#endif

/* The GEMMs of the im2col path, without the im2col and the bias. */
static int run_gemms(cu_state *s, const ax_layer *L, cu_layer *c, void *ctx)
{
    (void)ctx;
    const ax_window *g = &L->win;
    int G = g->groups, M = g->oc / G, N = g->oh * g->ow, K = g->c / G * g->kh * g->kw;
    size_t per = col_per_image(L), out_per = (size_t)g->oc * N;
    ax_error err;
    for (int img = 0; img < g->n; img += c->chunk) {
        int cnt = g->n - img < c->chunk ? g->n - img : c->chunk;
        for (int gi = 0; gi < G; gi++)
            if (ax_cu_gemm_rm(s, M, N, K, c->w + (size_t)gi * M * K, 0, s->col + (size_t)gi * K * N, (long long)per,
                              c->out + img * out_per + (size_t)gi * M * N, (long long)out_per, cnt, &err))
                return 1;
    }
    return 0;
}

extern "C" double ax_cuda_conv_peer_ms(ax_net *net, int i, int runs, char *what, size_t size)
{
    cu_state *s = S(net);
    if (!s || i < 0 || i >= net->nlayers || net->layers[i].spec.type != AX_L_CONV || runs < 1) return -1;
    const ax_layer *L = &net->layers[i];
    cu_layer *c = &s->L[i];
    double result = -1;
#ifdef AX_HAVE_CUDNN
    if (c->dnn) {
        /* the fastest algorithm found afresh, with as much workspace as it likes */
        size_t free_b = 0, total_b = 0;
        cudaMemGetInfo(&free_b, &total_b);
        size_t cap = free_b / 2 > FIND_WS_CAP ? FIND_WS_CAP : free_b / 2;
        void *ws = NULL;
        if (cap && cudaMalloc(&ws, cap) != cudaSuccess) { cudaGetLastError(); ws = NULL; cap = 0; }
        const float *x = i ? s->L[i - 1].out : s->input;
        dnn_peer p = {c->explicit_pad ? s->padbuf : x, CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, ws, cap};
        if (c->explicit_pad)
            ax_cu_pad(s->stream, s->padbuf, x, L->win.n, L->win.c, L->win.h, L->win.w, L->win.pad_t, L->win.pad_l,
                      L->pad_b, L->pad_r);
        size_t need = 0;
        ax_error err;
        if (ax_cu_dnn_find(s, L, c, p.src, ws, cap, &p.algo, &need, NULL, &err) == AX_OK) {
            result = time_runs(s, L, c, run_dnn, &p, runs);
            snprintf(what, size, "cuDNN %s alone", algo_name(p.algo));
        }
        if (ws) cudaFree(ws);
        return result;
    }
#endif
    result = time_runs(s, L, c, run_gemms, NULL, runs);
    snprintf(what, size, "cuBLAS GEMMs alone");
    return result;
}

extern "C" int ax_cuda_copy_ms(ax_net *net, int i, double *h2d, double *d2h)
{
    cu_state *s = S(net);
    if (!s || i < 0 || i >= net->nlayers) return -1;
    const ax_tensor *t = &net->layers[i].out;
    size_t bytes = ax_tensor_numel(t) * sizeof(float);
    cudaEvent_t a, b, c;
    if (cudaEventCreate(&a) != cudaSuccess) return -1;
    if (cudaEventCreate(&b) != cudaSuccess) { cudaEventDestroy(a); return -1; }
    if (cudaEventCreate(&c) != cudaSuccess) { cudaEventDestroy(a); cudaEventDestroy(b); return -1; }
    /* there and back: the device buffer ends as it began */
    cudaEventRecord(a, s->stream);
    cudaMemcpyAsync(t->data, s->L[i].out, bytes, cudaMemcpyDeviceToHost, s->stream);
    cudaEventRecord(b, s->stream);
    cudaMemcpyAsync(s->L[i].out, t->data, bytes, cudaMemcpyHostToDevice, s->stream);
    cudaEventRecord(c, s->stream);
    int rc = cudaEventSynchronize(c) == cudaSuccess ? 0 : -1;
    float x = 0, y = 0;
    cudaEventElapsedTime(&x, a, b);
    cudaEventElapsedTime(&y, b, c);
    *d2h = x;
    *h2d = y;
    cudaEventDestroy(a);
    cudaEventDestroy(b);
    cudaEventDestroy(c);
    return rc;
}

extern "C" int ax_cuda_dnn_check(const ax_net *net, int i, int *explicit_pad, char *why, size_t size)
{
    if (i < 0 || i >= net->nlayers || net->layers[i].spec.type != AX_L_CONV) {
        snprintf(why, size, "layer %d is not a convolution", i);
        return -1;
    }
#ifdef AX_HAVE_CUDNN
    int have = 0;
#ifndef AX_CUDA_EMULATE
    char dnn_why[300] = "";
    if (ax_cuda_load_libs(1, &have, why, size, dnn_why, sizeof dnn_why)) return -1;
    if (!have) {
        snprintf(why, size, "%s", dnn_why);
        return -1;
    }
#endif
    (void)have;
    cu_layer c;
    memset(&c, 0, sizeof c);
    ax_error err;
    ax_status st = ax_cu_dnn_describe(net->options.tf32, &net->layers[i], &c, &err);
    if (c.xd) cudnnDestroyTensorDescriptor(c.xd);
    if (c.yd) cudnnDestroyTensorDescriptor(c.yd);
    if (c.wd) cudnnDestroyFilterDescriptor(c.wd);
    if (c.cd) cudnnDestroyConvolutionDescriptor(c.cd);
    *explicit_pad = c.explicit_pad;
    if (st) {
        snprintf(why, size, "%s", err.msg);
        return 1;
    }
    return 0;
#else
    (void)explicit_pad;
    snprintf(why, size, "built without cuDNN");
    return -1;
#endif
}
