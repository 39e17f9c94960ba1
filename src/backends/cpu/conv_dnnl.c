/* CPU convolutions through oneDNN (libdnnl, C API), forward and backward.
 *
 * Each layer shape (window, batch, bias, thread count, direction) gets one
 * cache entry, made on the shape's first call (or ax_conv2d_prepare) and kept
 * for the process: the work is cut into parts, one per thread of alexscope's
 * pool (core/parallel.c), and each part has its own primitives, stream,
 * scratchpad and blocked buffers, and runs oneDNN single-threaded (with the
 * OpenMP runtime: omp_set_num_threads(1) in every thread that calls it). A
 * call then only points plain NCHW/OIHW memories at the caller's arrays,
 * reorders into the layouts the primitive chose, runs it and reorders back:
 * nothing is allocated once an entry exists.
 *
 * Parts: the batch is split when it has at least one image per thread;
 * otherwise the groups (caffe conv2/4/5), or else output channels (forward,
 * backward weights) or input channels (backward data). Backward weights split
 * by images write private dW/db sums that are added in part order, so the
 * result depends on the thread count but never on timing.
 *
 * Bottom/right padding is implied by OH/OW; where the floor division drops
 * input rows or columns (negative implied padding) the input is viewed
 * without them (and their dX is 0). */
#include "alexscope/cpu.h"
#include "alexscope/grad.h"
#include "alexscope/layers.h"
#include "config.h"
#include "core/parallel.h"
#include "backends/cpu/conv_dnnl.h"

#include <dnnl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#ifdef AX_DNNL_OMP
#include <omp.h>
#endif

#define MAX_BINDS 5

/* Which array of the call a memory views. */
enum { R_SRC, R_WEI, R_BIAS, R_DST, R_DSRC, R_DWEI, R_DBIAS, R_COUNT };

/* One argument of a primitive: the user's plain view (its data handle set on
 * every call), the memory the primitive reads or writes (the view itself when
 * the layouts agree) and the reorder between them. */
typedef struct {
    int arg, role, out;
    size_t off;                     /* floats into the role's array */
    dnnl_memory_t user, blk;
    dnnl_primitive_t reorder;
    dnnl_memory_t rpad;
} bind_t;

typedef struct {
    dnnl_primitive_t prim;
    dnnl_memory_t pad;
    int nb;
    bind_t b[MAX_BINDS];
} job_t;

/* A part: images [n0, n0+nn), groups [g0, g0+ng), within each group output
 * channels [oc0, oc0+noc) and input channels [ic0, ic0+nic). With ng > 1 the
 * groups are whole (noc and nic are the group's). */
typedef struct {
    int n0, nn, g0, ng, oc0, noc, ic0, nic;
} sub_t;

typedef struct {
    sub_t s;
    dnnl_stream_t stream;
    job_t fwd, bwd_data, bwd_wei;
    int has_data, has_wei;
    sub_t sw;                       /* backward weights' part (may differ from s) */
} part_t;

enum { K_FWD, K_FWD_WINO, K_BWD };

typedef struct entry {
    struct entry *next;
    ax_window g;
    int has_bias, threads, kind;
    int failed;                     /* oneDNN refused the shape: im2col runs it */
    pthread_mutex_t run_mu;         /* one call at a time on its buffers (two nets may share a shape) */
    int nparts, nwei;               /* parts; dW partial sums (1 unless split by images) */
    part_t *parts;
    float *dw_part, *db_part;       /* nwei x (weights), nwei x (OC) */
    size_t wcount;
} entry;

static pthread_mutex_t cache_mu = PTHREAD_MUTEX_INITIALIZER;
static entry *cache;
static dnnl_engine_t engine;
static int engine_failed;

/* oneDNN runs single-threaded in the calling thread (the pool splits the work). */
static void single_thread(void)
{
#ifdef AX_DNNL_OMP
    static __thread int done;
    if (!done) {
        omp_set_num_threads(1);
        done = 1;
    }
#endif
}

typedef struct {
    int he, we, pb, pr;             /* input rows/columns seen, implied bottom/right padding */
} geom_t;

static geom_t geom(const ax_window *g)
{
    geom_t q;
    q.pb = (g->oh - 1) * g->sh + g->kh - g->h - g->pad_t;
    q.pr = (g->ow - 1) * g->sw + g->kw - g->w - g->pad_l;
    q.he = g->h;
    q.we = g->w;
    if (q.pb < 0) { q.he += q.pb; q.pb = 0; }
    if (q.pr < 0) { q.we += q.pr; q.pr = 0; }
    return q;
}

static int groups_of(const ax_window *g) { return g->groups > 0 ? g->groups : 1; }

/* ---- memory descriptors of the caller's plain arrays -------------------------- */

static int md_strided(dnnl_memory_desc_t *md, int nd, const dnnl_dim_t *dims, const dnnl_dim_t *strides)
{
    dnnl_dims_t d, s;
    for (int i = 0; i < nd; i++) { d[i] = dims[i]; s[i] = strides[i]; }
    return dnnl_memory_desc_init_by_strides(md, nd, d, dnnl_f32, s) != dnnl_success;
}

static int md_any(dnnl_memory_desc_t *md, int nd, const dnnl_dim_t *dims)
{
    dnnl_dims_t d;
    for (int i = 0; i < nd; i++) d[i] = dims[i];
    return dnnl_memory_desc_init_by_tag(md, nd, d, dnnl_f32, dnnl_format_tag_any) != dnnl_success;
}

/* src or dSrc (N, C, H, W) of a part; *off: floats into the array. */
static int md_src(dnnl_memory_desc_t *md, dnnl_memory_desc_t *any, size_t *off, const ax_window *g, const sub_t *s)
{
    geom_t q = geom(g);
    const int cg = g->c / groups_of(g);
    dnnl_dim_t dims[4] = {s->nn, (dnnl_dim_t)s->ng * s->nic, q.he, q.we};
    dnnl_dim_t str[4] = {(dnnl_dim_t)g->c * g->h * g->w, (dnnl_dim_t)g->h * g->w, g->w, 1};
    *off = ((size_t)s->n0 * g->c + (size_t)s->g0 * cg + s->ic0) * g->h * g->w;
    return md_strided(md, 4, dims, str) || md_any(any, 4, dims);
}

static int md_dst(dnnl_memory_desc_t *md, dnnl_memory_desc_t *any, size_t *off, const ax_window *g, const sub_t *s)
{
    const int ocg = g->oc / groups_of(g);
    const dnnl_dim_t ohw = (dnnl_dim_t)g->oh * g->ow;
    dnnl_dim_t dims[4] = {s->nn, (dnnl_dim_t)s->ng * s->noc, g->oh, g->ow};
    dnnl_dim_t str[4] = {(dnnl_dim_t)g->oc * ohw, ohw, g->ow, 1};
    *off = ((size_t)s->n0 * g->oc + (size_t)s->g0 * ocg + s->oc0) * (size_t)ohw;
    return md_strided(md, 4, dims, str) || md_any(any, 4, dims);
}

static int md_wei(dnnl_memory_desc_t *md, dnnl_memory_desc_t *any, size_t *off, const ax_window *g, const sub_t *s)
{
    const int groups = groups_of(g), cg = g->c / groups, ocg = g->oc / groups;
    const dnnl_dim_t khw = (dnnl_dim_t)g->kh * g->kw;
    *off = (((size_t)s->g0 * ocg + s->oc0) * cg + s->ic0) * (size_t)khw;
    if (s->ng > 1) {
        dnnl_dim_t dims[5] = {s->ng, s->noc, s->nic, g->kh, g->kw};
        dnnl_dim_t str[5] = {(dnnl_dim_t)ocg * cg * khw, cg * khw, khw, g->kw, 1};
        return md_strided(md, 5, dims, str) || md_any(any, 5, dims);
    }
    dnnl_dim_t dims[4] = {s->noc, s->nic, g->kh, g->kw};
    dnnl_dim_t str[4] = {cg * khw, khw, g->kw, 1};
    return md_strided(md, 4, dims, str) || md_any(any, 4, dims);
}

static int md_bias(dnnl_memory_desc_t *md, dnnl_memory_desc_t *any, size_t *off, const ax_window *g, const sub_t *s)
{
    const int ocg = g->oc / groups_of(g);
    dnnl_dim_t dims[1] = {(dnnl_dim_t)s->ng * s->noc}, str[1] = {1};
    *off = (size_t)s->g0 * ocg + s->oc0;
    return md_strided(md, 1, dims, str) || md_any(any, 1, dims);
}

/* ---- primitives and their arguments -------------------------------------------- */

static dnnl_primitive_attr_t user_scratchpad(void)
{
    dnnl_primitive_attr_t attr = NULL;
    if (dnnl_primitive_attr_create(&attr) != dnnl_success) return NULL;
    if (dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user) != dnnl_success) {
        dnnl_primitive_attr_destroy(attr);
        return NULL;
    }
    return attr;
}

/* The scratchpad a primitive descriptor asks for, allocated now (NULL: none). */
static int make_pad(const_dnnl_primitive_desc_t pd, dnnl_memory_t *pad)
{
    *pad = NULL;
    const dnnl_memory_desc_t *md = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    if (!md || dnnl_memory_desc_get_size(md) == 0) return 0;
    return dnnl_memory_create(pad, md, engine, DNNL_MEMORY_ALLOCATE) != dnnl_success;
}

static int make_prim(const_dnnl_primitive_desc_t pd, dnnl_primitive_t *prim, dnnl_memory_t *pad)
{
    if (make_pad(pd, pad)) return 1;
    return dnnl_primitive_create(prim, pd) != dnnl_success;
}

/* A binding of argument `arg`: `user` the caller's view, `want` what the
 * primitive descriptor asks for. */
static int bind(job_t *j, int arg, int role, int out, size_t off, const dnnl_memory_desc_t *user,
                const dnnl_memory_desc_t *want)
{
    bind_t *b = &j->b[j->nb++];
    memset(b, 0, sizeof *b);
    b->arg = arg;
    b->role = role;
    b->out = out;
    b->off = off;
    if (dnnl_memory_create(&b->user, user, engine, DNNL_MEMORY_NONE) != dnnl_success) return 1;
    if (dnnl_memory_desc_equal(user, want)) {
        b->blk = b->user;
        return 0;
    }
    if (dnnl_memory_create(&b->blk, want, engine, DNNL_MEMORY_ALLOCATE) != dnnl_success) return 1;
    dnnl_primitive_attr_t attr = user_scratchpad();
    dnnl_primitive_desc_t rpd = NULL;
    int bad = !attr || dnnl_reorder_primitive_desc_create(&rpd, out ? want : user, engine, out ? user : want, engine,
                                                          attr) != dnnl_success;
    if (!bad) bad = make_prim(rpd, &b->reorder, &b->rpad);
    if (rpd) dnnl_primitive_desc_destroy(rpd);
    if (attr) dnnl_primitive_attr_destroy(attr);
    return bad;
}

static void reorder(bind_t *b, dnnl_stream_t st)
{
    dnnl_exec_arg_t a[3] = {{DNNL_ARG_FROM, b->out ? b->blk : b->user}, {DNNL_ARG_TO, b->out ? b->user : b->blk},
                            {DNNL_ARG_SCRATCHPAD, b->rpad}};
    dnnl_primitive_execute(b->reorder, st, b->rpad ? 3 : 2, a);
}

/* Runs a job on the call's arrays (ptr[role]); returns nonzero if oneDNN failed. */
static int run_job(job_t *j, float *const *ptr, dnnl_stream_t st)
{
    dnnl_exec_arg_t a[MAX_BINDS + 1];
    int na = 0;
    for (int i = 0; i < j->nb; i++) {
        bind_t *b = &j->b[i];
        dnnl_memory_set_data_handle(b->user, ptr[b->role] + b->off);
        if (b->reorder && !b->out) reorder(b, st);
        a[na].arg = b->arg;
        a[na++].memory = b->blk;
    }
    if (j->pad) {
        a[na].arg = DNNL_ARG_SCRATCHPAD;
        a[na++].memory = j->pad;
    }
    int bad = dnnl_primitive_execute(j->prim, st, na, a) != dnnl_success;
    for (int i = 0; i < j->nb; i++)
        if (j->b[i].reorder && j->b[i].out) reorder(&j->b[i], st);
    return dnnl_stream_wait(st) != dnnl_success || bad;
}

/* The convolution's strides and paddings. */
static void window_dims(const ax_window *g, dnnl_dims_t st, dnnl_dims_t pl, dnnl_dims_t pr)
{
    geom_t q = geom(g);
    st[0] = g->sh; st[1] = g->sw;
    pl[0] = g->pad_t; pl[1] = g->pad_l;
    pr[0] = q.pb; pr[1] = q.pr;
}

typedef struct {
    dnnl_memory_desc_t src, src_any, wei, wei_any, bias, bias_any, dst, dst_any;
    size_t src_off, wei_off, bias_off, dst_off;
} mds_t;

static int part_mds(mds_t *m, const ax_window *g, const sub_t *s)
{
    return md_src(&m->src, &m->src_any, &m->src_off, g, s) || md_wei(&m->wei, &m->wei_any, &m->wei_off, g, s) ||
           md_bias(&m->bias, &m->bias_any, &m->bias_off, g, s) || md_dst(&m->dst, &m->dst_any, &m->dst_off, g, s);
}

/* A forward primitive descriptor for a part (also the hint of the backward ones). */
static dnnl_primitive_desc_t fwd_pd(const ax_window *g, const mds_t *m, int has_bias, dnnl_alg_kind_t alg,
                                    dnnl_prop_kind_t prop)
{
    dnnl_convolution_desc_t cd;
    dnnl_dims_t st, pl, pr;
    window_dims(g, st, pl, pr);
    if (dnnl_convolution_forward_desc_init(&cd, prop, alg, &m->src_any, &m->wei_any, has_bias ? &m->bias_any : NULL,
                                           &m->dst_any, st, pl, pr) != dnnl_success)
        return NULL;
    dnnl_primitive_attr_t attr = user_scratchpad();
    dnnl_primitive_desc_t pd = NULL;
    if (!attr || dnnl_primitive_desc_create(&pd, &cd, attr, engine, NULL) != dnnl_success) pd = NULL;
    if (attr) dnnl_primitive_attr_destroy(attr);
    return pd;
}

static const dnnl_memory_desc_t *q(const_dnnl_primitive_desc_t pd, dnnl_query_t what, int i)
{
    return dnnl_primitive_desc_query_md(pd, what, i);
}

static int build_fwd(part_t *p, const ax_window *g, int has_bias, dnnl_alg_kind_t alg)
{
    mds_t m;
    if (part_mds(&m, g, &p->s)) return 1;
    dnnl_primitive_desc_t pd = fwd_pd(g, &m, has_bias, alg, dnnl_forward_inference);
    if (!pd) return 1;
    job_t *j = &p->fwd;
    int bad = make_prim(pd, &j->prim, &j->pad) ||
              bind(j, DNNL_ARG_SRC, R_SRC, 0, m.src_off, &m.src, q(pd, dnnl_query_src_md, 0)) ||
              bind(j, DNNL_ARG_WEIGHTS, R_WEI, 0, m.wei_off, &m.wei, q(pd, dnnl_query_weights_md, 0)) ||
              (has_bias && bind(j, DNNL_ARG_BIAS, R_BIAS, 0, m.bias_off, &m.bias, q(pd, dnnl_query_weights_md, 1))) ||
              bind(j, DNNL_ARG_DST, R_DST, 1, m.dst_off, &m.dst, q(pd, dnnl_query_dst_md, 0));
    dnnl_primitive_desc_destroy(pd);
    return bad;
}

static int build_bwd_data(part_t *p, const ax_window *g)
{
    mds_t m;
    if (part_mds(&m, g, &p->s)) return 1;
    dnnl_primitive_desc_t hint = fwd_pd(g, &m, 0, dnnl_convolution_direct, dnnl_forward_training);
    if (!hint) return 1;
    dnnl_convolution_desc_t cd;
    dnnl_dims_t st, pl, pr;
    window_dims(g, st, pl, pr);
    dnnl_primitive_desc_t pd = NULL;
    dnnl_primitive_attr_t attr = user_scratchpad();
    int bad = !attr || dnnl_convolution_backward_data_desc_init(&cd, dnnl_convolution_direct, &m.src_any, &m.wei_any,
                                                                &m.dst_any, st, pl, pr) != dnnl_success ||
              dnnl_primitive_desc_create(&pd, &cd, attr, engine, hint) != dnnl_success;
    if (attr) dnnl_primitive_attr_destroy(attr);
    dnnl_primitive_desc_destroy(hint);
    if (bad) return 1;
    job_t *j = &p->bwd_data;
    bad = make_prim(pd, &j->prim, &j->pad) ||
          bind(j, DNNL_ARG_DIFF_DST, R_DST, 0, m.dst_off, &m.dst, q(pd, dnnl_query_diff_dst_md, 0)) ||
          bind(j, DNNL_ARG_WEIGHTS, R_WEI, 0, m.wei_off, &m.wei, q(pd, dnnl_query_weights_md, 0)) ||
          bind(j, DNNL_ARG_DIFF_SRC, R_DSRC, 1, m.src_off, &m.src, q(pd, dnnl_query_diff_src_md, 0));
    dnnl_primitive_desc_destroy(pd);
    p->has_data = !bad;
    return bad;
}

/* Backward weights of part sub p->sw; its dW/db go into the entry's partial
 * sums (whole-layer layout): the images' own sums when split by images. */
static int build_bwd_wei(part_t *p, const ax_window *g, int partial)
{
    mds_t m;
    if (part_mds(&m, g, &p->sw)) return 1;
    dnnl_primitive_desc_t hint = fwd_pd(g, &m, 1, dnnl_convolution_direct, dnnl_forward_training);
    if (!hint) return 1;
    dnnl_convolution_desc_t cd;
    dnnl_dims_t st, pl, pr;
    window_dims(g, st, pl, pr);
    dnnl_primitive_desc_t pd = NULL;
    dnnl_primitive_attr_t attr = user_scratchpad();
    int bad = !attr || dnnl_convolution_backward_weights_desc_init(&cd, dnnl_convolution_direct, &m.src_any,
                                                                   &m.wei_any, &m.bias_any, &m.dst_any, st, pl,
                                                                   pr) != dnnl_success ||
              dnnl_primitive_desc_create(&pd, &cd, attr, engine, hint) != dnnl_success;
    if (attr) dnnl_primitive_attr_destroy(attr);
    dnnl_primitive_desc_destroy(hint);
    if (bad) return 1;
    size_t wcount = (size_t)g->oc * (g->c / groups_of(g)) * g->kh * g->kw;
    job_t *j = &p->bwd_wei;
    bad = make_prim(pd, &j->prim, &j->pad) ||
          bind(j, DNNL_ARG_SRC, R_SRC, 0, m.src_off, &m.src, q(pd, dnnl_query_src_md, 0)) ||
          bind(j, DNNL_ARG_DIFF_DST, R_DST, 0, m.dst_off, &m.dst, q(pd, dnnl_query_diff_dst_md, 0)) ||
          bind(j, DNNL_ARG_DIFF_WEIGHTS, R_DWEI, 1, m.wei_off + (size_t)partial * wcount, &m.wei,
               q(pd, dnnl_query_diff_weights_md, 0)) ||
          bind(j, DNNL_ARG_DIFF_BIAS, R_DBIAS, 1, m.bias_off + (size_t)partial * g->oc, &m.bias,
               q(pd, dnnl_query_diff_weights_md, 1));
    dnnl_primitive_desc_destroy(pd);
    p->has_wei = !bad;
    return bad;
}

/* ---- how a shape is cut into parts ----------------------------------------------- */

static sub_t whole(const ax_window *g)
{
    const int groups = groups_of(g);
    sub_t s = {0, g->n, 0, groups, 0, g->oc / groups, 0, g->c / groups};
    return s;
}

/* Up to `want` parts of sub-problems: by images, else by groups, else by the
 * channels `chan` says (0: output, 1: input) in steps of 16. Returns the count. */
static int split(const ax_window *g, int want, int chan, sub_t *out)
{
    const int groups = groups_of(g);
    sub_t w = whole(g);
    if (want <= 1) { out[0] = w; return 1; }
    if (g->n >= want) {
        for (int p = 0; p < want; p++) {
            out[p] = w;
            out[p].n0 = (int)((long long)g->n * p / want);
            out[p].nn = (int)((long long)g->n * (p + 1) / want) - out[p].n0;
        }
        return want;
    }
    if (groups > 1) {
        int parts = groups < want ? groups : want;
        for (int p = 0; p < parts; p++) {
            out[p] = w;
            out[p].g0 = groups * p / parts;
            out[p].ng = groups * (p + 1) / parts - out[p].g0;
        }
        return parts;
    }
    int total = chan ? g->c : g->oc;
    int step = (total / want + 15) / 16 * 16;
    if (step < 16 || total < 32) { out[0] = w; return 1; }
    int parts = 0;
    for (int c0 = 0; c0 < total && parts < want; c0 += step) {
        out[parts] = w;
        int n = total - c0 < step || parts == want - 1 ? total - c0 : step;
        if (chan) { out[parts].ic0 = c0; out[parts].nic = n; }
        else { out[parts].oc0 = c0; out[parts].noc = n; }
        parts++;
        if (n != step) break;
    }
    return parts;
}

static int start_engine(void)
{
    if (engine || engine_failed) return engine ? 0 : 1;
    if (dnnl_engine_create(&engine, dnnl_cpu, 0) != dnnl_success) {
        engine = NULL;
        engine_failed = 1;
        return 1;
    }
    return 0;
}

static int build(entry *e)
{
    const ax_window *g = &e->g;
    int want = e->threads;
    if (want > 64) want = 64;
    sub_t subs[64], wsubs[64];
    int n = split(g, want, e->kind == K_BWD, subs);
    int nw = e->kind == K_BWD ? split(g, want, 0, wsubs) : 0;
    int parts = n > nw ? n : nw;
    e->parts = calloc((size_t)parts, sizeof *e->parts);
    if (!e->parts) return 1;
    e->nparts = parts;
    for (int p = 0; p < parts; p++)
        if (dnnl_stream_create(&e->parts[p].stream, engine, dnnl_stream_default_flags) != dnnl_success) return 1;
    if (e->kind != K_BWD) {
        dnnl_alg_kind_t alg = e->kind == K_FWD_WINO ? dnnl_convolution_winograd : dnnl_convolution_direct;
        for (int p = 0; p < n; p++) {
            e->parts[p].s = subs[p];
            if (build_fwd(&e->parts[p], g, e->has_bias, alg)) return 1;
        }
        return 0;
    }
    /* Backward: data parts by `subs`, weights parts by `wsubs`, each into
     * partial sums of its own when the images are split. */
    int by_images = g->n >= want && want > 1;
    e->nwei = by_images ? nw : 1;
    e->wcount = (size_t)g->oc * (g->c / groups_of(g)) * g->kh * g->kw;
    e->dw_part = calloc(e->wcount * e->nwei + 16, sizeof(float));
    e->db_part = calloc((size_t)g->oc * e->nwei + 16, sizeof(float));
    if (!e->dw_part || !e->db_part) return 1;
    for (int p = 0; p < n; p++) {
        e->parts[p].s = subs[p];
        if (build_bwd_data(&e->parts[p], g)) return 1;
    }
    for (int p = 0; p < nw; p++) {
        e->parts[p].sw = wsubs[p];
        if (build_bwd_wei(&e->parts[p], g, by_images ? p : 0)) return 1;
    }
    return 0;
}

static int same_window(const ax_window *a, const ax_window *b)
{
    return a->n == b->n && a->c == b->c && a->h == b->h && a->w == b->w && a->oc == b->oc && a->oh == b->oh &&
           a->ow == b->ow && a->kh == b->kh && a->kw == b->kw && a->sh == b->sh && a->sw == b->sw &&
           a->pad_t == b->pad_t && a->pad_l == b->pad_l && groups_of(a) == groups_of(b);
}

/* The entry for a shape, made now if new (NULL: oneDNN cannot run it). */
static entry *get_entry(const ax_window *g, int has_bias, int kind)
{
    int threads = ax_cpu_threads();
    pthread_mutex_lock(&cache_mu);
    entry *e = cache;
    for (; e; e = e->next)
        if (e->kind == kind && e->has_bias == has_bias && e->threads == threads && same_window(&e->g, g)) break;
    if (!e && !start_engine() && (e = calloc(1, sizeof *e))) {
        single_thread();
        e->g = *g;
        e->has_bias = has_bias;
        e->threads = threads;
        e->kind = kind;
        pthread_mutex_init(&e->run_mu, NULL);
        /* What could be made stays made: a refused shape keeps its entry
         * (failed), so it is not tried again on every call. */
        e->failed = build(e);
        e->next = cache;
        cache = e;
    }
    pthread_mutex_unlock(&cache_mu);
    return e && !e->failed ? e : NULL;
}

static int usable(const ax_window *g)
{
    const int groups = groups_of(g);
    return g->n > 0 && g->c > 0 && g->oc > 0 && g->oh > 0 && g->ow > 0 && g->kh > 0 && g->kw > 0 && g->sh > 0 &&
           g->sw > 0 && g->c % groups == 0 && g->oc % groups == 0 && geom(g).he > 0 && geom(g).we > 0;
}

/* Winograd: 3x3 stride-1 layers from batch 8, where it was measured to pay. */
static int winograd_shape(const ax_window *g)
{
    return g->kh == 3 && g->kw == 3 && g->sh == 1 && g->sw == 1 && g->n >= 8;
}

static entry *fwd_entry(const ax_window *g, int has_bias, int winograd_ok)
{
    if (winograd_ok && winograd_shape(g)) {
        entry *e = get_entry(g, has_bias, K_FWD_WINO);
        if (e) return e;
    }
    return get_entry(g, has_bias, K_FWD);
}

void ax_conv2d_prepare(const ax_window *g, int has_bias)
{
    ax_conv_path p = ax_conv_get_path();
    if (p != AX_CONV_IM2COL && usable(g)) fwd_entry(g, has_bias, p == AX_CONV_ONEDNN);
}

static pthread_once_t wino_once = PTHREAD_ONCE_INIT;
static int wino_ok;

/* A Winograd primitive for a small 3x3 layer: does this CPU have one? */
static void probe_winograd(void)
{
    ax_window g = {.n = 8, .c = 16, .h = 13, .w = 13, .oc = 16, .oh = 13, .ow = 13, .kh = 3, .kw = 3, .sh = 1,
                   .sw = 1, .pad_t = 1, .pad_l = 1, .groups = 1};
    pthread_mutex_lock(&cache_mu);
    if (!start_engine()) {
        single_thread();
        mds_t m;
        sub_t s = whole(&g);
        dnnl_primitive_desc_t pd = part_mds(&m, &g, &s) ? NULL
                                   : fwd_pd(&g, &m, 1, dnnl_convolution_winograd, dnnl_forward_inference);
        wino_ok = pd != NULL;
        if (pd) dnnl_primitive_desc_destroy(pd);
    }
    pthread_mutex_unlock(&cache_mu);
}

int ax_conv_onednn_winograd_available(void)
{
    pthread_once(&wino_once, probe_winograd);
    return wino_ok;
}

int ax_conv_onednn_uses_winograd(const ax_window *g, int has_bias)
{
    int threads = ax_cpu_threads(), found = 0;
    pthread_mutex_lock(&cache_mu);
    for (entry *e = cache; e; e = e->next)
        if (e->kind == K_FWD_WINO && !e->failed && e->has_bias == has_bias && e->threads == threads &&
            same_window(&e->g, g))
            found = 1;
    pthread_mutex_unlock(&cache_mu);
    return found;
}

void ax_conv2d_bwd_prepare(const ax_window *g)
{
    if (ax_conv_get_path() != AX_CONV_IM2COL && usable(g)) get_entry(g, 1, K_BWD);
}

/* ---- calls ----------------------------------------------------------------------- */

typedef struct {
    entry *e;
    float *ptr[R_COUNT];
    int do_data, do_wei;
    int bad;
} call_t;

static void fwd_parts(void *arg, int p0, int p1)
{
    call_t *c = arg;
    single_thread();
    for (int p = p0; p < p1; p++)
        if (run_job(&c->e->parts[p].fwd, c->ptr, c->e->parts[p].stream)) __atomic_store_n(&c->bad, 1, __ATOMIC_RELAXED);
}

int ax_conv2d_onednn(float *out, const float *in, const float *w, const float *b, const ax_window *g,
                     int winograd_ok)
{
    if (!usable(g)) return -1;
    entry *e = fwd_entry(g, b != NULL, winograd_ok);
    if (!e) return -1;
    call_t c = {.e = e};
    c.ptr[R_SRC] = (float *)in;
    c.ptr[R_WEI] = (float *)w;
    c.ptr[R_BIAS] = (float *)b;
    c.ptr[R_DST] = out;
    pthread_mutex_lock(&e->run_mu);
    if (e->nparts > 1) ax_parallel_for(e->nparts, fwd_parts, &c);
    else fwd_parts(&c, 0, 1);
    pthread_mutex_unlock(&e->run_mu);
    return c.bad ? -1 : 0;
}

static void bwd_parts(void *arg, int p0, int p1)
{
    call_t *c = arg;
    single_thread();
    for (int p = p0; p < p1; p++) {
        part_t *pt = &c->e->parts[p];
        if (c->do_data && pt->has_data && run_job(&pt->bwd_data, c->ptr, pt->stream)) __atomic_store_n(&c->bad, 1, __ATOMIC_RELAXED);
        if (c->do_wei && pt->has_wei && run_job(&pt->bwd_wei, c->ptr, pt->stream)) __atomic_store_n(&c->bad, 1, __ATOMIC_RELAXED);
    }
}

typedef struct {
    float *dst;
    const float *src;
    size_t stride;
    int parts;
} sum_t;

/* dst[i] = the parts' partial sums, added in part order. */
static void sum_parts(void *arg, int i0, int i1)
{
    const sum_t *s = arg;
    for (int i = i0; i < i1; i++) {
        float v = s->src[i];
        for (int p = 1; p < s->parts; p++) v += s->src[(size_t)p * s->stride + i];
        s->dst[i] = v;
    }
}

int ax_conv2d_bwd_onednn(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w,
                         const ax_window *g)
{
    if (!usable(g)) return -1;
    entry *e = get_entry(g, 1, K_BWD);
    if (!e) return -1;
    call_t c = {.e = e, .do_data = dx != NULL, .do_wei = dw || db};
    c.ptr[R_SRC] = (float *)x;
    c.ptr[R_WEI] = (float *)w;
    c.ptr[R_DST] = (float *)dy;
    c.ptr[R_DSRC] = dx;
    c.ptr[R_DWEI] = e->dw_part;
    c.ptr[R_DBIAS] = e->db_part;
    geom_t q = geom(g);
    pthread_mutex_lock(&e->run_mu);
    /* rows and columns the floor division dropped get no gradient */
    if (dx && (q.he < g->h || q.we < g->w)) memset(dx, 0, sizeof(float) * (size_t)g->n * g->c * g->h * g->w);
    if (e->nparts > 1) ax_parallel_for(e->nparts, bwd_parts, &c);
    else bwd_parts(&c, 0, 1);
    if (c.bad) {
        pthread_mutex_unlock(&e->run_mu);
        return -1;
    }
    if (dw) {
        sum_t s = {dw, e->dw_part, e->wcount, e->nwei};
        if (e->nwei > 1 && e->wcount >= 65536) ax_parallel_for((int)e->wcount, sum_parts, &s);
        else sum_parts(&s, 0, (int)e->wcount);
    }
    if (db) {
        sum_t s = {db, e->db_part, (size_t)g->oc, e->nwei};
        sum_parts(&s, 0, g->oc);
    }
    pthread_mutex_unlock(&e->run_mu);
    return 0;
}
