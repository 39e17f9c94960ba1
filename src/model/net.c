/* The net: resolves a spec into shapes, owns the weight and activation blocks,
 * runs layers through its backend one at a time and keeps every output.
 * Stepping never allocates (the blocks are sized once by ax_net_create);
 * loading and initialising weights take scratch memory and give it back. */
#define _GNU_SOURCE /* sincosf */
#include "alexscope/net.h"

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include "alexscope/layer_kind.h"
#include "alexscope/weights.h"
#include "alexscope/clock.h"
#include "core/parallel.h"

/* Round float counts up to 64 bytes so every tensor starts on a cache line. */
static size_t align16(size_t n) { return (n + 15) & ~(size_t)15; }

static void *alloc_block(size_t floats)
{
    void *p = NULL;
    size_t bytes = floats * sizeof(float);
    if (posix_memalign(&p, 2u << 20, bytes ? bytes : 64)) return NULL;
#ifdef MADV_HUGEPAGE
    /* FC weights are streamed once per image: huge pages spare the TLB misses. */
    madvise(p, bytes, MADV_HUGEPAGE);
#endif
    return p;
}

ax_status ax_net_create(ax_net **out, const ax_spec *spec, int batch, const ax_backend *backend, ax_error *err)
{
    return ax_net_create_with(out, spec, batch, backend, NULL, err);
}

ax_status ax_net_create_with(ax_net **out, const ax_spec *spec, int batch, const ax_backend *backend,
                             const ax_backend_options *options, ax_error *err)
{
    *out = NULL;
    if (batch < 1 || batch > 4096) return ax_fail(err, AX_ERR_ARG, "batch %d: expected 1..4096", batch);
    ax_net *net = calloc(1, sizeof *net);
    if (!net) return ax_fail(err, AX_ERR_NOMEM, "out of memory creating the net");
    net->spec = *spec;
    net->batch = batch;
    net->nlayers = spec->nlayers;
    net->backend = backend ? backend : &ax_backend_cpu;
    if (options) net->options = *options;   /* calloc: the defaults otherwise */
    net->layers = calloc((size_t)spec->nlayers, sizeof *net->layers);
    if (!net->layers) { free(net); return ax_fail(err, AX_ERR_NOMEM, "out of memory creating the net"); }

    ax_kind_dims dims = { spec->in_c, spec->in_h, spec->in_w, 1 };
    ax_tensor_set(&net->input, "input", 4, batch, dims.c, dims.h, dims.w);
    size_t wcount = 0, acount = align16(ax_tensor_numel(&net->input));
    for (int i = 0; i < spec->nlayers; i++) {
        ax_layer *L = &net->layers[i];
        L->spec = spec->layers[i];
        L->index = i;
        ax_status st = ax_layer_resolve(L, batch, &dims, spec->path, err);
        if (st) { ax_net_free(net); return st; }
        acount += align16(ax_tensor_numel(&L->out));
        if (L->weight.ndim) wcount += align16(ax_tensor_numel(&L->weight));
        if (L->bias.ndim) wcount += align16(ax_tensor_numel(&L->bias));
    }
    /* Linux promises memory it may not have; asking for more than the machine
     * holds would end in the OOM killer, not in a message. The backend says
     * what it will take of its own (the CPU's im2col scratch). */
    size_t wbytes = net->backend->workspace ? net->backend->workspace(net) : 0;
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    double need = (double)(wcount + acount) * sizeof(float) + (double)wbytes;
    if (pages > 0 && page > 0 && need > (double)pages * page) {
        ax_net_free(net);
        return ax_fail(err, AX_ERR_NOMEM, "the %s model at batch %d needs %.1f GB (%.1f GB of weights, %.1f GB of "
                       "activations and scratch); this machine has %.1f GB", spec->name, batch, need * 1e-9,
                       wcount * 4e-9, acount * 4e-9 + wbytes * 1e-9, (double)pages * page * 1e-9);
    }
    net->wblock = alloc_block(wcount);
    net->ablock = alloc_block(acount);
    if (!net->wblock || !net->ablock) {
        ax_net_free(net);
        return ax_fail(err, AX_ERR_NOMEM, "out of memory: the net needs %.1f MB of weights and %.1f MB of "
                       "activations at batch %d", wcount * 4e-6, acount * 4e-6, batch);
    }
    net->wcount = wcount; net->acount = acount;

    /* Touch every page now, so that no layer pays for page faults (the
     * first run's times would otherwise measure the kernel, not the layer). */
    if (!net->options.shapes_only) memset(net->ablock, 0, acount * sizeof(float));
    float *a = net->ablock, *wp = net->wblock;
    net->input.data = a;
    a += align16(ax_tensor_numel(&net->input));
    for (int i = 0; i < net->nlayers; i++) {
        ax_layer *L = &net->layers[i];
        L->out.data = a;
        a += align16(ax_tensor_numel(&L->out));
        if (L->weight.ndim) { L->weight.data = wp; wp += align16(ax_tensor_numel(&L->weight)); }
        if (L->bias.ndim) { L->bias.data = wp; wp += align16(ax_tensor_numel(&L->bias)); }
        snprintf(L->weight.name, sizeof L->weight.name, "%.50s.weight", L->spec.name);
        snprintf(L->bias.name, sizeof L->bias.name, "%.50s.bias", L->spec.name);
    }
    /* a layer the backend cannot run is refused before the backend starts */
    for (int i = 0; i < net->nlayers && net->backend->supports; i++) {
        char why[200] = "";
        if (!net->backend->supports(net, &net->layers[i], why, sizeof why)) {
            ax_fail(err, AX_ERR_UNSUPPORTED, "layer %d '%s' (%s) cannot run on the %s backend: %s", i,
                    net->layers[i].spec.name, ax_layer_type_name(net->layers[i].spec.type), net->backend->name,
                    why[0] ? why : "not supported");
            net->backend = NULL;   /* not started: nothing to release */
            ax_net_free(net);
            return AX_ERR_UNSUPPORTED;
        }
    }
    ax_status st = net->backend->init ? net->backend->init(net, err) : AX_OK;
    if (st) { ax_net_free(net); return st; }
    net->input_host_only = 1;
    if (!net->options.shapes_only && !net->options.weights_follow) ax_net_init_seeded(net, 0x5eed);
    else net->untrained = 1;
    *out = net;
    return AX_OK;
}

void ax_net_free(ax_net *net)
{
    if (!net) return;
    if (net->backend && net->backend->release) net->backend->release(net);
    free(net->wblock);
    free(net->ablock);
    free(net->layers);
    free(net);
}

/* net->computed is read by the thread that draws (ax_net_output) while the
 * stepping thread advances it: every store releases (a layer's output is
 * complete before the count says so) and the reads on the way to a host copy
 * acquire. */
static int computed_load(const ax_net *net)
{
    return __atomic_load_n(&net->computed, __ATOMIC_ACQUIRE);
}

static void computed_store(ax_net *net, int v)
{
    __atomic_store_n(&net->computed, v, __ATOMIC_RELEASE);
}

/* Host weights of layer i (-1: all) changed: the backend gets them before the
 * next layer runs, and every output from i on is forgotten. */
static void mark_weights_dirty(ax_net *net, int i)
{
    for (int j = 0; j < net->nlayers; j++)
        if ((i < 0 || j == i) && (net->layers[j].weight.ndim || net->layers[j].bias.ndim))
            net->layers[j].weights_dirty = 1;
    int from = i < 0 ? 0 : i;
    if (net->computed > from) computed_store(net, from);
}

/* ---- seeded initialisation ---------------------------------------------- */

static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Weights are filled in fixed chunks, each with its own stream, so the values
 * depend on the seed only, never on how many threads filled them. */
#define INIT_CHUNK (1u << 20)

typedef struct { float *data; size_t n; float std; uint64_t seed; } init_job;

static void fill_normal(float *x, size_t n, float std, uint64_t seed)
{
    uint64_t s = seed;
    for (size_t i = 0; i < n; i += 2) {
        /* Box-Muller on two uniforms in (0, 1]. */
        uint64_t r = splitmix64(&s);
        float u1 = ((r >> 40) + 1) * (1.0f / 16777216.0f);
        float u2 = ((r & 0xFFFFFF) + 0.5f) * (1.0f / 16777216.0f);
        float rad = std * sqrtf(-2.0f * logf(u1));
        float sn, cs;
        sincosf(6.28318530718f * u2, &sn, &cs);
        x[i] = rad * cs;
        if (i + 1 < n) x[i + 1] = rad * sn;
    }
}

static void fill_jobs(void *ctx, int begin, int end)
{
    const init_job *jobs = ctx;
    for (int j = begin; j < end; j++) fill_normal(jobs[j].data, jobs[j].n, jobs[j].std, jobs[j].seed);
}

/* Mean of x^2 over the input the model's preprocessing makes from pixels
 * spread evenly over 0..255: x = (u * scale - mean) / std with u uniform on
 * [0, 1] has E[x^2] = (scale^2/3 - scale*mean + mean^2) / std^2. Real images
 * come within a factor of two of it. */
static double input_mean_square(const ax_spec *spec)
{
    const ax_preprocess *p = &spec->pre;
    int nc = spec->in_c < 3 ? spec->in_c : 3;
    double sum = 0;
    for (int c = 0; c < nc; c++) {
        double s = p->scale, m = p->mean[c], sd = p->std[c];
        sum += (s * s / 3 - s * m + m * m) / (sd * sd);
    }
    double ms = nc > 0 ? sum / nc : 1;
    return isfinite(ms) && ms > 1e-12 ? ms : 1;
}

/* The last weighted layer of a classifier is drawn this much smaller than
 * He's: its logits then spread by about 0.1, and softmax stays near uniform. */
#define CLASSIFIER_GAIN 0.05

/* The spread the seeded net's activations keep. 1 in a net without LRN.
 * LRN only acts on large activations, as a trained net has them (tens and
 * more after conv1): with values near 1 its denominator is 1.0001 and the
 * LRN view teaches nothing. So in a net with LRN the activations get the
 * spread A at which its first LRN's denominator k + scale * sum x^2 grows
 * by LRN_GROWTH over k (sum over its window of n ReLU outputs, whose mean
 * square is A^2 / 2), damping by about (1 + LRN_GROWTH)^beta. */
#define LRN_GROWTH 0.2
double ax_net_seed_spread(const ax_net *net)
{
    for (int i = 0; i < net->nlayers; i++) {
        const ax_layer *L = &net->layers[i];
        if (L->spec.type != AX_L_LRN) continue;
        ax_layer_op op;
        ax_layer_op_of(&op, L, i ? &net->layers[i - 1].out : &net->input);
        double per = (double)op.lrn_scale * op.lrn_size / 2;   /* the sum's growth per unit of A^2 */
        double a2 = per > 0 ? LRN_GROWTH * op.lrn_k / per : 1;
        return a2 > 1 && isfinite(a2) ? sqrt(a2) : 1;
    }
    return 1;
}

static void init_seeded(ax_net *net, uint64_t seed, double spread)
{
    int count = 0, first = -1, last = -1;
    for (int i = 0; i < net->nlayers; i++) {
        const ax_layer *L = &net->layers[i];
        if (!L->weight.ndim) continue;
        count += (int)((ax_tensor_numel(&L->weight) + INIT_CHUNK - 1) / INIT_CHUNK);
        if (first < 0) first = i;
        last = i;
    }
    if (last >= 0 && net->layers[last].spec.type != AX_L_FC) last = -1;
    init_job *jobs = calloc((size_t)count + 1, sizeof *jobs);
    int j = 0;
    for (int i = 0; i < net->nlayers; i++) {
        ax_layer *L = &net->layers[i];
        if (L->bias.ndim) memset(L->bias.data, 0, ax_tensor_numel(&L->bias) * sizeof(float));
        if (!L->weight.ndim) continue;
        size_t n = ax_tensor_numel(&L->weight);
        double fan_in = (double)(n / (size_t)L->weight.shape[0]);
        /* He: a ReLU halves the mean square, 2 / fan_in restores it, so every
         * layer's output keeps the spread of the first one's (about 1). */
        double var = 2.0 / fan_in;
        if (i == first) var = spread * spread / (fan_in * input_mean_square(&net->spec));
        /* the logits' spread stays about CLASSIFIER_GAIN whatever the activations' */
        if (i == last) var *= CLASSIFIER_GAIN * CLASSIFIER_GAIN / (spread * spread);
        float std = (float)sqrt(var);
        for (size_t off = 0, k = 0; off < n; off += INIT_CHUNK, k++) {
            uint64_t s = seed ^ ((uint64_t)(i + 1) << 40) ^ (k * 0xD1B54A32D192ED03ull);
            init_job job = { L->weight.data + off, n - off < INIT_CHUNK ? n - off : INIT_CHUNK, std, s };
            if (jobs) jobs[j++] = job;
            else fill_normal(job.data, job.n, job.std, job.seed);
        }
    }
    if (jobs) ax_parallel_for(j, fill_jobs, jobs);
    free(jobs);
    net->untrained = 1;
    net->weights_path[0] = 0;
    mark_weights_dirty(net, -1);
}

void ax_net_init_seeded(ax_net *net, uint64_t seed)
{
    init_seeded(net, seed, ax_net_seed_spread(net));
}

void ax_net_init_for_training(ax_net *net, uint64_t seed)
{
    init_seeded(net, seed, 1.0);
}

/* ---- weights from files -------------------------------------------------- */

/* Problems found while loading, all reported at once (the first few in full). */
#define MAX_PROBLEMS 8

typedef struct {
    ax_status code;           /* of the first problem */
    int count;
    char text[MAX_PROBLEMS][240];
} load_problems;

static void problem(load_problems *p, ax_status code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void problem(load_problems *p, ax_status code, const char *fmt, ...)
{
    if (!p->count) p->code = code;
    if (p->count < MAX_PROBLEMS) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(p->text[p->count], sizeof p->text[0], fmt, ap);
        va_end(ap);
    }
    p->count++;
}

/* One message for every problem; `about` (may be empty) says what the file
 * holds, once. */
static ax_status report_problems(const load_problems *p, const char *path, const char *about, ax_error *err)
{
    if (p->count == 1) return ax_fail(err, p->code, "%s: %s%s", path, p->text[0], about);
    char msg[sizeof err->msg];
    int shown = 0;
    size_t len = (size_t)snprintf(msg, sizeof msg, "%.400s: %d problems%s:", path, p->count, about);
    for (int i = 0; i < p->count && i < MAX_PROBLEMS && len < sizeof msg; i++) {
        size_t need = strlen(p->text[i]) + 8;
        if (len + need + 24 >= sizeof msg) break;   /* keep room for "and N more" */
        len += (size_t)snprintf(msg + len, sizeof msg - len, " (%d) %s;", i + 1, p->text[i]);
        shown++;
    }
    if (shown < p->count) snprintf(msg + len, sizeof msg - len, " and %d more", p->count - shown);
    else msg[len - 1] = 0;
    return ax_fail(err, p->code, "%s", msg);
}

/* The shape a layer tensor has in the layout its file entry is named for:
 * "(out, in/groups, kh, kw) = (96, 3, 11, 11)" or, for TensorFlow-named
 * entries, "HWIO (kh, kw, in/groups, out) = (11, 11, 3, 96)". */
static void expected_str(char *buf, size_t size, const ax_tensor *t, int is_bias, int tf_layout)
{
    const int *d = t->shape;
    if (is_bias) snprintf(buf, size, "(out) = (%d)", d[0]);
    else if (t->ndim == 4 && tf_layout)
        snprintf(buf, size, "HWIO (kh, kw, in/groups, out) = (%d, %d, %d, %d)", d[2], d[3], d[1], d[0]);
    else if (t->ndim == 4) snprintf(buf, size, "(out, in/groups, kh, kw) = (%d, %d, %d, %d)", d[0], d[1], d[2], d[3]);
    else if (tf_layout) snprintf(buf, size, "(in, out) = (%d, %d)", d[1], d[0]);
    else snprintf(buf, size, "(out, in) = (%d, %d)", d[0], d[1]);
}

/* A conv weight whose in-channels per group are twice or half the model's:
 * the file's layer was grouped differently (the classic case: AlexNet's two
 * towers forgotten, twice the channels). */
static void groups_hint(char *buf, size_t size, const ax_layer *L, const ax_wentry *e, int tf_layout)
{
    buf[0] = 0;
    if (L->spec.type != AX_L_CONV || e->ndim != 4) return;
    int64_t found_in = e->shape[tf_layout ? 2 : 1];
    int want_in = L->weight.shape[1], channels = L->in_c;
    if (found_in <= 0 || found_in == want_in || channels % found_in) return;
    /* Only the two-tower case: other ratios (one input channel for three)
     * are a different net, not different groups. */
    int64_t file_groups = channels / found_in;
    if (!(file_groups == 1 && L->spec.groups == 2) && !(file_groups == 2 && L->spec.groups == 1)) return;
    snprintf(buf, size, " (%lld in-channels per group: the file's layer has groups=%lld, the model's '%.40s' has "
             "groups=%d)", (long long)found_in, (long long)(channels / found_in), L->spec.name, L->spec.groups);
}

/* Which source row feeds destination column j, for the TensorFlow layouts;
 * the destination is (O, rows) in every case. HWIO kernels (p = {HW, I}):
 * column ci*HW + hw <- row hw*I + ci; FC rows in H,W,C order (p = {HW, C}):
 * column ch*HW + hw <- row hw*C + ch; plain (in, out): column j <- row j. */
static size_t tf_row(size_t j, const int *p)
{
    return (j % (size_t)p[0]) * (size_t)p[1] + j / (size_t)p[0];
}

static size_t plain_row(size_t j, const int *p)
{
    (void)p;
    return j;
}

/* Transposes the file entry e, rows x O (row-major, any dtype), into dst
 * (O, rows) with its columns permuted by `row`, one strip of destination
 * columns at a time: the strip's source rows are read into tmp (tr_strip
 * rows), then every output row gets the strip's values, TR_COLS contiguous
 * values at a time. */
#define TR_COLS 64
/* at most this many threads turn one tensor's strips */
#define AX_TR_SLOTS 4
/* tmp's rows are tr_ld(O) floats apart: an odd number of cache lines, so
 * that the TR_COLS rows read for one output row fall in TR_COLS different
 * cache sets. With a stride near a multiple of 4 KB (fc6 and fc7's 4096,
 * fc8's 1000) they would share a few sets and miss on every value. */
static size_t tr_ld(int O)
{
    size_t ld = ((size_t)O + 15) / 16 * 16;
    return (ld / 16) % 2 ? ld : ld + 16;
}

/* A strip's rows in tmp: about TR_TMP bytes (it stays in the last-level
 * cache), so that the rows a strip needs form long runs in the file (fc6's
 * rows are in H,W,C order: a strip of 192 C,H,W columns is 36 runs of 5 or
 * 6 rows), each read by one preadv. */
#define TR_TMP ((size_t)4 << 20)
static size_t tr_strip(int O, size_t rows)
{
    size_t s = TR_TMP / (tr_ld(O) * sizeof(float));
    s -= s % TR_COLS;
    if (s < TR_COLS) s = TR_COLS;
    return s < rows ? s : rows;
}

/* Hands back the file pages of converted rows in runs of at least
 * TR_RELEASE bytes: one madvise per row would be 9216 calls for fc6 alone,
 * each a TLB flush on every core the process runs on, while holding whole
 * runs keeps at most a few MB of the file mapped beyond what is still needed.
 * done[r]: 1 converted and still mapped, 2 handed back. Only for rows read
 * through the mapping (a file ax_wfile_read cannot read, or not float32). */
#define TR_RELEASE ((size_t)256 << 10)
static void release_run(const ax_wfile *f, const ax_wentry *e, unsigned char *done, size_t rows, size_t r, size_t rb)
{
    size_t lim = TR_RELEASE / rb + 1, a = r, b = r + 1;
    while (a > 0 && done[a - 1] == 1 && r - a < lim) a--;
    while (b < rows && done[b] == 1 && b - r < lim) b++;
    if ((b - a) * rb < TR_RELEASE) return;
    memset(done + a, 2, b - a);
    ax_wfile_release(f, (const unsigned char *)e->data + a * rb, (b - a) * rb);
}

typedef struct {
    size_t r, slot;   /* source row, its slot in tmp */
} tr_pair;

static int by_row(const void *a, const void *b)
{
    size_t x = ((const tr_pair *)a)->r, y = ((const tr_pair *)b)->r;
    return (x > y) - (x < y);
}

/* Reads the float32 source rows of destination columns [j0, j0 + ns) into
 * tmp's slots, ld floats apart: sorted by row, each run of consecutive rows
 * is one readv. */
static void read_strip(const ax_wentry *e, const ax_wfile *f, float *tmp, size_t ld, size_t j0, size_t ns,
                       size_t rb, size_t (*row)(size_t, const int *), const int *p, tr_pair *pairs,
                       struct iovec *iov)
{
    for (size_t j = 0; j < ns; j++) pairs[j] = (tr_pair){ row(j0 + j, p), j };
    qsort(pairs, ns, sizeof *pairs, by_row);
    for (size_t a = 0, b; a < ns; a = b) {
        for (b = a + 1; b < ns && pairs[b].r == pairs[b - 1].r + 1; b++) {}
        for (size_t k = a; k < b; k++) iov[k - a] = (struct iovec){ tmp + pairs[k].slot * ld, rb };
        ax_wfile_readv(f, (const unsigned char *)e->data + pairs[a].r * rb, iov, (int)(b - a));
    }
}

/* dst[o * dld + j] = t[j * ld + o] for j < nc, o < O. */
static void tr_block_c(float *dst, size_t dld, const float *t, size_t ld, size_t nc, int O)
{
    for (int o = 0; o < O; o++) {
        float *d = dst + (size_t)o * dld;
        for (size_t j = 0; j < nc; j++) d[j] = t[j * ld + (size_t)o];
    }
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
__attribute__((target("avx2"), always_inline)) static inline void tr_store(float *d, __m256 v, int stream)
{
    if (stream) _mm256_stream_ps(d, v);
    else _mm256_storeu_ps(d, v);
}

/* The same in 8x8 tiles held in AVX registers: rows of t loaded whole, turned
 * with unpacks and lane shuffles, stored as whole rows of dst (the scalar
 * gather reads one float per cache line it touches). With stream, streaming
 * stores, for a 32-byte aligned dst whose rows are too: the destination is
 * written once and read much later, and streaming spares reading its lines in
 * before they are written. */
__attribute__((target("avx2"), always_inline)) static inline void tr_tiles(float *dst, size_t dld, const float *t,
                                                                           size_t ld, size_t nc, int O, int stream)
{
    size_t n8 = nc & ~(size_t)7, o8 = (size_t)O & ~(size_t)7;
    for (size_t o = 0; o < o8; o += 8) {
        for (size_t j = 0; j < n8; j += 8) {
            const float *s = t + j * ld + o;
            __m256 r0 = _mm256_loadu_ps(s), r1 = _mm256_loadu_ps(s + ld), r2 = _mm256_loadu_ps(s + 2 * ld),
                   r3 = _mm256_loadu_ps(s + 3 * ld), r4 = _mm256_loadu_ps(s + 4 * ld), r5 = _mm256_loadu_ps(s + 5 * ld),
                   r6 = _mm256_loadu_ps(s + 6 * ld), r7 = _mm256_loadu_ps(s + 7 * ld);
            __m256 a0 = _mm256_unpacklo_ps(r0, r1), a1 = _mm256_unpackhi_ps(r0, r1);
            __m256 a2 = _mm256_unpacklo_ps(r2, r3), a3 = _mm256_unpackhi_ps(r2, r3);
            __m256 a4 = _mm256_unpacklo_ps(r4, r5), a5 = _mm256_unpackhi_ps(r4, r5);
            __m256 a6 = _mm256_unpacklo_ps(r6, r7), a7 = _mm256_unpackhi_ps(r6, r7);
            __m256 b0 = _mm256_shuffle_ps(a0, a2, 0x44), b1 = _mm256_shuffle_ps(a0, a2, 0xee);
            __m256 b2 = _mm256_shuffle_ps(a1, a3, 0x44), b3 = _mm256_shuffle_ps(a1, a3, 0xee);
            __m256 b4 = _mm256_shuffle_ps(a4, a6, 0x44), b5 = _mm256_shuffle_ps(a4, a6, 0xee);
            __m256 b6 = _mm256_shuffle_ps(a5, a7, 0x44), b7 = _mm256_shuffle_ps(a5, a7, 0xee);
            float *d = dst + o * dld + j;
            tr_store(d, _mm256_permute2f128_ps(b0, b4, 0x20), stream);
            tr_store(d + dld, _mm256_permute2f128_ps(b1, b5, 0x20), stream);
            tr_store(d + 2 * dld, _mm256_permute2f128_ps(b2, b6, 0x20), stream);
            tr_store(d + 3 * dld, _mm256_permute2f128_ps(b3, b7, 0x20), stream);
            tr_store(d + 4 * dld, _mm256_permute2f128_ps(b0, b4, 0x31), stream);
            tr_store(d + 5 * dld, _mm256_permute2f128_ps(b1, b5, 0x31), stream);
            tr_store(d + 6 * dld, _mm256_permute2f128_ps(b2, b6, 0x31), stream);
            tr_store(d + 7 * dld, _mm256_permute2f128_ps(b3, b7, 0x31), stream);
        }
        if (n8 < nc) tr_block_c(dst + o * dld + n8, dld, t + n8 * ld + o, ld, nc - n8, 8);
    }
    if (o8 < (size_t)O) tr_block_c(dst + o8 * dld, dld, t + o8, ld, nc, O - (int)o8);
}

__attribute__((target("avx2"))) static void tr_block_avx2(float *dst, size_t dld, const float *t, size_t ld,
                                                         size_t nc, int O)
{
    tr_tiles(dst, dld, t, ld, nc, O, 0);
}

__attribute__((target("avx2"))) static void tr_block_avx2_nt(float *dst, size_t dld, const float *t, size_t ld,
                                                            size_t nc, int O)
{
    tr_tiles(dst, dld, t, ld, nc, O, 1);
    _mm_sfence();
}
#endif

static void tr_block(float *dst, size_t dld, const float *t, size_t ld, size_t nc, int O)
{
#if defined(__x86_64__) && defined(__GNUC__)
    if (__builtin_cpu_supports("avx2")) {
        if ((uintptr_t)dst % 32 == 0 && dld % 8 == 0) {
            tr_block_avx2_nt(dst, dld, t, ld, nc, O);
        } else {
            tr_block_avx2(dst, dld, t, ld, nc, O);
        }
        return;
    }
#endif
    tr_block_c(dst, dld, t, ld, nc, O);
}

/* Where transposes turn their strips: `slots` tmp blocks of `n` floats each,
 * one per thread a transpose runs on. */
typedef struct {
    float *tmp;
    size_t n;
    int slots;
} tr_space;

/* Turns the strip starting at destination column j0 with tmp and, when the
 * rows come by pread, pairs (strip pairs, then strip iovecs). */
static void tr_one_strip(float *dst, const ax_wentry *e, const ax_wfile *f, float *tmp, tr_pair *pairs,
                         unsigned char *done, size_t rows, int O, size_t strip, size_t j0,
                         size_t (*row)(size_t, const int *), const int *p)
{
    size_t ld = tr_ld(O), rb = (size_t)O * ax_dtype_size(e->dtype);
    size_t ns = rows - j0 < strip ? rows - j0 : strip;
    if (pairs) {
        read_strip(e, f, tmp, ld, j0, ns, rb, row, p, pairs, (struct iovec *)(pairs + strip));
    } else {
        for (size_t j = 0; j < ns; j++) {
            size_t r = row(j0 + j, p);
            ax_wentry part = *e;
            part.ndim = 1;
            part.shape[0] = O;
            part.data = (const unsigned char *)e->data + r * rb;
            part.nbytes = rb;
            ax_wentry_to_f32(&part, tmp + j * ld);
            if (done) {
                done[r] = 1;
                release_run(f, e, done, rows, r, rb);
            } else {
                ax_wfile_release(f, part.data, rb);
            }
        }
    }
    for (size_t c0 = 0; c0 < ns; c0 += TR_COLS)
        tr_block(dst + j0 + c0, rows, tmp + c0 * ld, ld, ns - c0 < TR_COLS ? ns - c0 : TR_COLS, O);
}

/* A transpose read by pread, on several threads: thread k turns strips k,
 * k + T, k + 2T ... with tmp slot k, after the threads have faulted the
 * destination in together (every strip writes to every output row: the
 * first strip of each thread would otherwise fault the same pages in at
 * the same time). */
typedef struct {
    float *dst;
    const ax_wentry *e;
    const ax_wfile *f;
    const tr_space *space;
    tr_pair **pairs;
    size_t rows, strip, nstrips;
    int O, T;
    size_t (*row)(size_t, const int *);
    const int *p;
} tr_job;

static void tr_populate(void *ctx, int begin, int end)
{
#ifdef MADV_POPULATE_WRITE
    const tr_job *j = ctx;
    size_t n = j->rows * (size_t)j->O * sizeof(float);
    uintptr_t a = (uintptr_t)j->dst + n * (size_t)begin / (size_t)j->T;
    uintptr_t b = (uintptr_t)j->dst + n * (size_t)end / (size_t)j->T;
    a &= ~(uintptr_t)4095;
    b = (b + 4095) & ~(uintptr_t)4095;
    /* maps pages without writing to them: values already stored stay */
    if (b > a) madvise((void *)a, b - a, MADV_POPULATE_WRITE);
#else
    (void)ctx;
    (void)begin;
    (void)end;
#endif
}

static void tr_run(void *ctx, int begin, int end)
{
    const tr_job *j = ctx;
    float *tmp = j->space->tmp + (size_t)begin * j->space->n;
    for (int k = begin; k < end; k++)
        for (size_t s = (size_t)k; s < j->nstrips; s += (size_t)j->T)
            tr_one_strip(j->dst, j->e, j->f, tmp, j->pairs[begin], NULL, j->rows, j->O, j->strip, s * j->strip,
                         j->row, j->p);
}

static void transpose_rows(float *dst, const ax_wentry *e, const ax_wfile *f, const tr_space *space, size_t rows,
                           int O, size_t (*row)(size_t, const int *), const int *p)
{
    size_t rb = (size_t)O * ax_dtype_size(e->dtype);
    size_t strip = tr_strip(O, rows), nstrips = (rows + strip - 1) / strip;
    int by_read = e->dtype == AX_DT_F32 && ax_wfile_readable(f, e->data, rows * rb);
    size_t pair_bytes = strip * (sizeof(tr_pair) + sizeof(struct iovec));
    int T = by_read ? space->slots : 1;
    if ((size_t)T > nstrips) T = (int)nstrips;
    tr_pair *pairs[AX_TR_SLOTS] = { NULL };
    for (int k = 0; by_read && k < T; k++) {
        pairs[k] = malloc(pair_bytes);
        if (!pairs[k]) T = k;
    }
    if (T < 1) by_read = 0, T = 1;
    if (by_read && T > 1) {
        tr_job job = { dst, e, f, space, pairs, rows, strip, nstrips, O, T, row, p };
        ax_parallel_for(T, tr_populate, &job);
        ax_parallel_for(T, tr_run, &job);
    } else {
        /* rows already converted: their pages go back in runs (release_run) */
        unsigned char *done = by_read ? NULL : calloc(rows ? rows : 1, 1);
        for (size_t j0 = 0; j0 < rows; j0 += strip)
            tr_one_strip(dst, e, f, space->tmp, pairs[0], done, rows, O, strip, j0, row, p);
        free(done);
    }
    for (int k = 0; k < AX_TR_SLOTS; k++) free(pairs[k]);
}

/* The first touch of a fresh weight block is the kernel zeroing it, 2 MB at a
 * time: a large share of a big load. When the loader copies through the
 * file's mapping (a file pread cannot read, or a dtype to convert), a thread
 * of its own faults the block in while the loader copies, staying at most
 * PF_LEAD bytes past what the loader is filling, so that the block and the
 * file's mapped pages are never both resident in full. MADV_POPULATE_WRITE
 * maps pages without writing to them: it never races with the values the
 * loader stores. A file read with pread needs no such thread: its large
 * tensors are read and turned by the pool's threads, each faulting in its own
 * part (copy_parts, tr_populate). */
#define PF_STEP ((size_t)2 << 20)
#define PF_LEAD ((size_t)32 << 20)
typedef struct {
    char *p;
    size_t n;
    atomic_size_t frontier;   /* bytes of the block the loader is filling or has filled */
    atomic_int stop;
    pthread_t th;
    int started;
} prefault_job;

static void *prefault_run(void *arg)
{
    prefault_job *j = arg;
#ifdef MADV_POPULATE_WRITE
    size_t off = 0;
    while (off < j->n && !atomic_load_explicit(&j->stop, memory_order_relaxed)) {
        size_t lim = atomic_load_explicit(&j->frontier, memory_order_relaxed) + PF_LEAD;
        if (lim > j->n) lim = j->n;
        if (off >= lim) {
            nanosleep(&(struct timespec){ 0, 50000 }, NULL);
            continue;
        }
        size_t k = lim - off < PF_STEP ? lim - off : PF_STEP;
        if (madvise(j->p + off, k, MADV_POPULATE_WRITE)) break;
        off += k;
    }
#endif
    return NULL;
}

static void prefault_start(prefault_job *j, ax_net *net)
{
    memset(j, 0, sizeof *j);
#ifdef MADV_POPULATE_WRITE
    /* only a block no one has written yet: seeded or loaded pages are in */
    if (!net->untrained || !net->options.weights_follow || net->wcount * sizeof(float) < 2 * PF_LEAD) return;
    j->p = (char *)net->wblock;
    j->n = net->wcount * sizeof(float);
    atomic_init(&j->frontier, 0);
    atomic_init(&j->stop, 0);
    j->started = pthread_create(&j->th, NULL, prefault_run, j) == 0;
#else
    (void)net;
#endif
}

/* The loader is about to fill the block up to `end`. */
static void prefault_upto(prefault_job *j, const float *end)
{
    if (j && j->started) atomic_store_explicit(&j->frontier, (size_t)((const char *)end - j->p), memory_order_relaxed);
}

static void prefault_stop(prefault_job *j)
{
    if (!j->started) return;
    atomic_store(&j->stop, 1);
    pthread_join(j->th, NULL);
    j->started = 0;
}

/* A same-layout float32 tensor read by pread on T threads: part k is
 * [copy_split(k), copy_split(k + 1)), split at 2 MB of the destination so
 * that no two threads fault in the same huge page. */
#define COPY_PARALLEL ((size_t)8 << 20)
typedef struct {
    const ax_wfile *f;
    const unsigned char *src;   /* the tensor in the mapping */
    float *dst;
    size_t n;
    int T;
    unsigned char done[AX_TR_SLOTS];   /* part k was read */
} copy_job;

static size_t copy_split(const copy_job *j, size_t k)
{
    if (k == 0) return 0;
    if (k >= (size_t)j->T) return j->n;
    uintptr_t a = (uintptr_t)(j->dst + j->n / (size_t)j->T * k);
    a = (a + PF_STEP / 2) & ~(uintptr_t)(PF_STEP - 1);
    size_t i = a <= (uintptr_t)j->dst ? 0 : (size_t)((float *)a - j->dst);
    return i < j->n ? i : j->n;
}

static void copy_parts(void *ctx, int begin, int end)
{
    copy_job *j = ctx;
    for (int k = begin; k < end; k++) {
        size_t a = copy_split(j, (size_t)k), b = copy_split(j, (size_t)k + 1);
        j->done[k] = b <= a || ax_wfile_read(j->f, j->src + a * sizeof(float), (b - a) * sizeof(float), j->dst + a);
    }
}

/* Copies a file tensor into a layer tensor, converting layouts the file's
 * format implies: "<layer>.0" entries come from the pickled {layer: [W, b]}
 * dict of bvlc_alexnet.npy, which is TensorFlow-laid-out (conv HWIO, FC (in,
 * out), and FC rows after a spatial input in H,W,C flatten order). A shape
 * that fits no layout is a problem stated in the entry's own layout. */
static void load_tensor(ax_tensor *dst, const ax_wentry *e, int tf_layout, int is_bias, const ax_layer *L,
                        const ax_wfile *f, const tr_space *tmp, prefault_job *pf, char *note, size_t note_size,
                        load_problems *probs)
{
    size_t n = ax_tensor_numel(dst);
    int same = e->ndim == dst->ndim;
    for (int i = 0; same && i < dst->ndim; i++) same = e->shape[i] == dst->shape[i];

    if (tf_layout && dst->ndim == 4 && e->ndim == 4 && e->shape[0] == dst->shape[2] &&
        e->shape[1] == dst->shape[3] && e->shape[2] == dst->shape[1] && e->shape[3] == dst->shape[0]) {
        /* HWIO (KH, KW, I, O) -> OIHW */
        int O = dst->shape[0], I = dst->shape[1], KH = dst->shape[2], KW = dst->shape[3];
        /* source rows (y, x, ci) of O values -> dst[o][ci][y][x] */
        int HW = KH * KW;
        prefault_upto(pf, dst->data + n);
        transpose_rows(dst->data, e, f, tmp, (size_t)HW * I, O, tf_row, (int[2]){ HW, I });
        snprintf(note, note_size, "%.60s: HWIO -> OIHW", e->name);
        return;
    }
    if (tf_layout && dst->ndim == 2 && e->ndim == 2 && e->shape[0] == dst->shape[1] && e->shape[1] == dst->shape[0]) {
        /* (in, out) -> (out, in); rows after a spatial input also go HWC -> CHW. */
        int O = dst->shape[0], IN = dst->shape[1];
        int C = L->in_c, H = L->in_h, W = L->in_w;
        int spatial = H * W > 1 && L->spec.type == AX_L_FC;
        /* source row r = (y*W + x)*C + ch (spatial) or r = i -> dst[o][i] */
        prefault_upto(pf, dst->data + n);
        if (spatial)
            transpose_rows(dst->data, e, f, tmp, (size_t)IN, O, tf_row, (int[2]){ H * W, C });
        else
            transpose_rows(dst->data, e, f, tmp, (size_t)IN, O, plain_row, (int[2]){ IN, 1 });
        snprintf(note, note_size, "%.60s: (in, out) -> (out, in)%s", e->name, spatial ? ", rows H,W,C -> C,H,W" : "");
        return;
    }
    if (!same) {
        char want[120], got[96], hint[160];
        expected_str(want, sizeof want, dst, is_bias, tf_layout);
        ax_shape_str(got, sizeof got, e->ndim, e->shape);
        groups_hint(hint, sizeof hint, L, e, tf_layout);
        if (!hint[0] && ax_wentry_numel(e) == n)
            snprintf(hint, sizeof hint, " (same element count: a layout that needs converting?)");
        problem(probs, AX_ERR_SHAPE, "'%s': expected %s, found %s%s", e->name, want, got, hint);
        return;
    }
    /* A large float32 tensor the file can give by pread: on the pool's
     * threads, each reading (and so faulting in) its own part. */
    size_t esz = ax_dtype_size(e->dtype);
    size_t from = 0;
    if (e->dtype == AX_DT_F32 && n * sizeof(float) >= COPY_PARALLEL && ax_wfile_readable(f, e->data, n * esz)) {
        copy_job job = { f, e->data, dst->data, n, tmp->slots, { 0 } };
        ax_parallel_for(job.T, copy_parts, &job);
        /* from the first part pread could not give, the rest from memory */
        for (int k = 0; k < job.T && job.done[k]; k++) from = copy_split(&job, (size_t)k + 1);
    }
    /* In chunks, handing each chunk's file pages back once copied, so that a
     * mapped file and the weight block are never both resident in full. */
    const size_t chunk = (size_t)4 << 20;   /* elements */
    for (size_t off = from; off < n; off += chunk) {
        size_t k = n - off < chunk ? n - off : chunk;
        ax_wentry part = *e;
        part.ndim = 1;
        part.shape[0] = (int64_t)k;
        part.data = (const unsigned char *)e->data + off * esz;
        part.nbytes = k * esz;
        prefault_upto(pf, dst->data + off + k);
        if (e->dtype == AX_DT_F32 && ax_wfile_read(f, part.data, part.nbytes, dst->data + off)) continue;
        ax_wentry_to_f32(&part, dst->data + off);
        ax_wfile_release(f, part.data, part.nbytes);
    }
}

/* Appends one line "KIND: text" to the caller's notes. */
static void add_note(char *notes, size_t size, const char *kind, const char *text)
{
    if (!notes || !size || !text[0]) return;
    size_t len = strlen(notes);
    if (len + 1 < size) snprintf(notes + len, size - len, "%s%s: %s", len ? "\n" : "", kind, text);
}

/* A load that fails before touching the weights leaves them as they were,
 * but a net made for weights that follow holds none yet: it gets the seeded
 * ones, as a net that failed half-way does. */
static ax_status failed_early(ax_net *net, ax_status st)
{
    if (net->options.weights_follow && net->untrained) ax_net_init_seeded(net, 0x5eed);
    return st;
}

ax_status ax_net_load_weights(ax_net *net, const char *path, int lenient, char *notes, size_t notes_size, ax_error *err)
{
    if (notes && notes_size) notes[0] = 0;
    ax_wfile *f = NULL;
    ax_status st = ax_wfile_open(&f, path, err);
    if (st) return failed_early(net, st);
    char bind_notes[512] = "";
    st = ax_wfile_bind(f, net, bind_notes, sizeof bind_notes, err);
    if (st) {
        ax_wfile_close(f);
        return failed_early(net, st);
    }
    prefault_job pf;
    memset(&pf, 0, sizeof pf);
    if (!ax_wfile_readable(f, f->map, f->map_size)) prefault_start(&pf, net);
    char *used = calloc((size_t)f->count + 1, 1);
    size_t tmp_n = 0;   /* transpose_rows' block: a strip of rows of the widest output */
    for (int i = 0; i < net->nlayers; i++) {
        const ax_tensor *w = &net->layers[i].weight;
        if (!w->ndim) continue;
        size_t need = tr_ld(w->shape[0]) * tr_strip(w->shape[0], ax_tensor_numel(w));
        if (need > tmp_n) tmp_n = need;
    }
    /* one tmp per thread a transpose runs on; huge pages: 4 KB ones would be
     * thousands of first-touch faults */
    tr_space space = { NULL, (tmp_n + 16 + 511) / 512 * 512, ax_pool_threads() };
    if (space.slots > AX_TR_SLOTS) space.slots = AX_TR_SLOTS;
    space.tmp = alloc_block(space.n * (size_t)space.slots);
    float *tmp = space.tmp;
    load_problems *probs = calloc(1, sizeof *probs);
    if (!used || !tmp || !probs) { st = ax_fail(err, AX_ERR_NOMEM, "%s: out of memory", path); goto done; }

    int converted = 0, missing = 0;
    char conv_notes[512] = "";
    for (int i = 0; i < net->nlayers; i++) {
        ax_layer *L = &net->layers[i];
        ax_tensor *parts[2] = {&L->weight, &L->bias};
        for (int p = 0; p < 2; p++) {
            ax_tensor *t = parts[p];
            if (!t->ndim) continue;
            char name[160];
            snprintf(name, sizeof name, "%s.%s", L->spec.name, p ? "bias" : "weight");
            const ax_wentry *e = ax_wfile_find(f, name);
            int tf_layout = 0;
            if (!e) {
                snprintf(name, sizeof name, "%s.%d", L->spec.name, p);
                e = ax_wfile_find(f, name);
                tf_layout = e != NULL;
            }
            if (!e) {
                char want[120];
                expected_str(want, sizeof want, t, p, 0);
                problem(probs, AX_ERR_MISSING, "tensor '%s.%s' %s is missing", L->spec.name, p ? "bias" : "weight",
                        want);
                missing++;
                continue;
            }
            char note[160] = "";
            load_tensor(t, e, tf_layout, p, L, f, &space, &pf, note, sizeof note, probs);
            ax_wfile_release(f, e->data, e->nbytes);
            used[e - f->entries] = 1;
            if (note[0]) {
                converted++;
                if (strlen(conv_notes) + strlen(note) + 3 < sizeof conv_notes)
                    snprintf(conv_notes + strlen(conv_notes), sizeof conv_notes - strlen(conv_notes), "%s%s",
                             conv_notes[0] ? "; " : "", note);
            }
        }
    }
    char about[200] = "";
    if (missing)
        snprintf(about, sizeof about, " (the file has %d tensor%s%s%.80s%s)", f->count, f->count == 1 ? "" : "s",
                 f->count ? ", named like '" : "", f->count ? f->entries[0].name : "", f->count ? "'" : "");
    int extra = 0;
    char names[300] = "";
    for (int i = 0; i < f->count; i++) {
        if (used[i]) continue;
        if (extra++ < 4)
            snprintf(names + strlen(names), sizeof names - strlen(names), "%s'%s'", extra > 1 ? ", " : "", f->entries[i].name);
    }
    if (extra && !lenient)
        problem(probs, AX_ERR_EXTRA, "%d tensor%s the %s model does not use: %s%s (--lenient loads anyway)",
                extra, extra > 1 ? "s" : "", net->spec.name, names, extra > 4 ? ", ..." : "");
    if (probs->count) {
        st = report_problems(probs, path, about, err);
        goto done;
    }
    char line[900];
    if (bind_notes[0]) {
        snprintf(line, sizeof line, "%.300s: %s", path, bind_notes);
        add_note(notes, notes_size, "note", line);
    }
    if (converted) {
        snprintf(line, sizeof line, "%.300s: converted %d TensorFlow-layout tensor%s (%s)", path, converted,
                 converted > 1 ? "s" : "", conv_notes);
        add_note(notes, notes_size, "note", line);
    }
    if (extra) {
        snprintf(line, sizeof line, "%.300s: ignored %d unused tensor%s: %s%s", path, extra, extra > 1 ? "s" : "",
                 names, extra > 4 ? ", ..." : "");
        add_note(notes, notes_size, "warning", line);
    }
done:
    prefault_stop(&pf);
    free(used);
    free(tmp);
    free(probs);
    ax_wfile_close(f);
    if (st) {
        ax_net_init_seeded(net, 0x5eed);   /* never leave half-loaded weights behind */
        return st;
    }
    net->untrained = 0;
    snprintf(net->weights_path, sizeof net->weights_path, "%s", path);
    mark_weights_dirty(net, -1);
    return AX_OK;
}

/* ---- stepping ------------------------------------------------------------ */

/* Host copies made by ax_net_output may come from a thread other than the one
 * stepping (the workbench draws while its worker computes). */
static pthread_mutex_t host_mu = PTHREAD_MUTEX_INITIALIZER;


int ax_net_on_host(const ax_net *net)
{
    return net->backend->host_memory;
}

ax_status ax_net_set_input(ax_net *net, const float *data, int n, int c, int h, int w, ax_error *err)
{
    const ax_tensor *in = &net->input;
    if (n != in->shape[0] || c != in->shape[1] || h != in->shape[2] || w != in->shape[3]) {
        char want[64];
        ax_tensor_shape_str(in, want, sizeof want);
        return ax_fail(err, AX_ERR_SHAPE, "input (%d, %d, %d, %d) does not fit the %s model at batch %d: expected %s",
                       n, c, h, w, net->spec.name, net->batch, want);
    }
    memcpy(net->input.data, data, ax_tensor_numel(in) * sizeof(float));
    return ax_net_output_changed(net, -1, err);
}

void ax_net_reset(ax_net *net)
{
    computed_store(net, 0);
}

/* What the backend must have before layer i runs: changed weights, and for
 * the first layer a changed input. */
static ax_status send_pending(ax_net *net, int i, ax_error *err)
{
    const ax_backend *be = net->backend;
    for (int j = 0; j < net->nlayers; j++) {
        if (!net->layers[j].weights_dirty) continue;
        ax_status st = be->upload_weights ? be->upload_weights(net, j, err) : AX_OK;
        if (st) return st;
        net->layers[j].weights_dirty = 0;
    }
    if (i == 0 && net->input_host_only && be->upload) {
        double t0 = ax_clock_ms();
        ax_status st = be->upload(net, -1, err);
        if (st) return st;
        net->upload_ms = ax_clock_ms() - t0;
    }
    if (i == 0) net->input_host_only = 0;
    return AX_OK;
}

static ax_status step(ax_net *net, int i, ax_error *err)
{
    if (i < 0 || i >= net->nlayers)
        return ax_fail(err, AX_ERR_ARG, "layer %d: the %s model has layers 0..%d", i, net->spec.name, net->nlayers - 1);
    if (i > net->computed)
        return ax_fail(err, AX_ERR_ARG, "layer %d (%s): its input, layer %d, is not computed yet", i,
                       net->layers[i].spec.name, i - 1);
    ax_status st = send_pending(net, i, err);
    if (st) return st;
    ax_layer *L = &net->layers[i];
    pthread_mutex_lock(&host_mu);
    L->host_valid = 0;
    pthread_mutex_unlock(&host_mu);
    double t0 = ax_clock_ms();
    st = L->run ? L->run(net, i, err) : net->backend->run_layer(net, i, err);
    if (!net->backend->synchronize) L->ms = ax_clock_ms() - t0;
    if (st) {
        computed_store(net, i);
        return st;
    }
    if (net->backend->host_memory) L->host_valid = 1;
    computed_store(net, i + 1);
    return AX_OK;
}

ax_status ax_net_synchronize(ax_net *net, ax_error *err)
{
    return net->backend->synchronize ? net->backend->synchronize(net, err) : AX_OK;
}

ax_status ax_net_step(ax_net *net, int i, ax_error *err)
{
    ax_status st = step(net, i, err);
    if (!st) st = ax_net_synchronize(net, err);
    if (!st && net->observer) net->observer(net, i, net->observer_user);
    return st;
}

ax_status ax_net_run_to(ax_net *net, int i, ax_error *err)
{
    if (i >= net->nlayers)
        return ax_fail(err, AX_ERR_ARG, "layer %d: the %s model has layers 0..%d", i, net->spec.name, net->nlayers - 1);
    /* With an observer each layer is reported when it is done; without one a
     * device backend gets the whole run enqueued and waits once. */
    if (net->observer) {
        while (net->computed <= i) {
            ax_status st = ax_net_step(net, net->computed, err);
            if (st) return st;
        }
        return AX_OK;
    }
    while (net->computed <= i) {
        ax_status st = step(net, net->computed, err);
        if (st) {
            ax_error ignored;
            ax_net_synchronize(net, &ignored);
            return st;
        }
    }
    return ax_net_synchronize(net, err);
}

ax_status ax_net_forward(ax_net *net, ax_error *err)
{
    return ax_net_run_to(net, net->nlayers - 1, err);
}

ax_status ax_net_fetch(ax_net *net, int i, ax_error *err)
{
    if (i >= net->nlayers || i >= computed_load(net))
        return ax_fail(err, AX_ERR_ARG, "layer %d: not computed", i);
    if (net->backend->host_memory || !net->backend->download) return AX_OK;
    if (i < 0) return AX_OK;    /* the host input is the one the backend was given */
    ax_status st = AX_OK;
    pthread_mutex_lock(&host_mu);
    ax_layer *L = &net->layers[i];
    if (!L->host_valid) {
        double t0 = ax_clock_ms();
        st = net->backend->download(net, i, err);
        L->xfer_ms = ax_clock_ms() - t0;
        if (!st) L->host_valid = 1;
    }
    pthread_mutex_unlock(&host_mu);
    return st;
}

ax_status ax_net_fetch_all(ax_net *net, ax_error *err)
{
    for (int i = 0; i < net->computed; i++) {
        ax_status st = ax_net_fetch(net, i, err);
        if (st) return st;
    }
    return AX_OK;
}

ax_status ax_net_weights_changed(ax_net *net, int i, ax_error *err)
{
    if (i >= net->nlayers) return ax_fail(err, AX_ERR_ARG, "layer %d: the %s model has layers 0..%d", i,
                                          net->spec.name, net->nlayers - 1);
    mark_weights_dirty(net, i);
    return AX_OK;
}

ax_status ax_net_output_changed(ax_net *net, int i, ax_error *err)
{
    if (i < 0) {
        computed_store(net, 0);
        net->input_host_only = 1;
        return AX_OK;
    }
    if (i >= net->computed) return ax_fail(err, AX_ERR_ARG, "layer %d: not computed", i);
    computed_store(net, i + 1);
    net->layers[i].host_valid = 1;
    if (net->backend->host_memory || !net->backend->upload) return AX_OK;
    return net->backend->upload(net, i, err);
}

const ax_tensor *ax_net_output(const ax_net *net, int i)
{
    if (i < 0) return &net->input;
    if (i >= net->nlayers || i >= computed_load(net)) return NULL;
    ax_error err;
    if (ax_net_fetch((ax_net *)net, i, &err)) return NULL;
    return &net->layers[i].out;
}

const ax_tensor *ax_net_layer_input(const ax_net *net, int i)
{
    return i <= 0 ? &net->input : &net->layers[i - 1].out;
}

int ax_net_find(const ax_net *net, const char *name)
{
    for (int i = 0; i < net->nlayers; i++)
        if (!strcmp(net->layers[i].spec.name, name)) return i;
    return -1;
}
