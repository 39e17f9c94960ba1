/* Top images per channel: the top-K lists, the pass over a folder (decoding
 * threads feeding the net on the caller's thread: input/decode_queue.c)
 * and the receptive-field crops. It reads images only through
 * ax_image_load and never prints; drawing and file names are the callers'. */
#include "alexscope/maxact.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alexscope/clock.h"
#include "alexscope/image.h"
#include "alexscope/teach.h"

/* ---- the top-K lists --------------------------------------------------- */

ax_status ax_maxact_top_init(ax_maxact_top *t, int channels, int k, int h, int w, ax_error *err)
{
    memset(t, 0, sizeof *t);
    if (channels < 1 || k < 1 || h < 1 || w < 1)
        return ax_fail(err, AX_ERR_ARG, "maxact: %d channels of %dx%d, top %d: each must be at least 1", channels, h,
                       w, k);
    t->e = calloc((size_t)channels * k, sizeof *t->e);
    t->count = calloc((size_t)channels, sizeof *t->count);
    if (!t->e || !t->count) {
        ax_maxact_top_free(t);
        return ax_fail(err, AX_ERR_NOMEM, "maxact: out of memory for %d channels x top %d", channels, k);
    }
    t->channels = channels;
    t->k = k;
    t->h = h;
    t->w = w;
    return AX_OK;
}

void ax_maxact_top_free(ax_maxact_top *t)
{
    free(t->e);
    free(t->count);
    memset(t, 0, sizeof *t);
}

/* a before b: larger value, then the lower image */
static int better(float va, int ia, const ax_maxact_entry *b)
{
    return va > b->value || (va == b->value && ia < b->image);
}

int ax_maxact_top_offer(ax_maxact_top *t, int ch, float value, int image, int y, int x)
{
    if (ch < 0 || ch >= t->channels || isnan(value)) return 0;
    ax_maxact_entry *e = t->e + (size_t)ch * t->k;
    int n = t->count[ch];
    if (n == t->k && !better(value, image, &e[n - 1])) return 0;
    int at = n < t->k ? n : n - 1;   /* the free slot, or the last one (dropped) */
    while (at > 0 && better(value, image, &e[at - 1])) {
        e[at] = e[at - 1];
        at--;
    }
    e[at] = (ax_maxact_entry){ value, image, y, x };
    if (n < t->k) t->count[ch] = n + 1;
    return 1;
}

void ax_maxact_top_add(ax_maxact_top *t, int image, const float *act)
{
    size_t hw = (size_t)t->h * t->w;
    for (int c = 0; c < t->channels; c++) {
        const float *m = act + (size_t)c * hw;
        size_t best = hw;
        for (size_t i = 0; i < hw; i++)
            if (!isnan(m[i]) && (best == hw || m[i] > m[best])) best = i;
        if (best < hw) ax_maxact_top_offer(t, c, m[best], image, (int)(best / t->w), (int)(best % t->w));
    }
}

const ax_maxact_entry *ax_maxact_top_list(const ax_maxact_top *t, int ch, int *n)
{
    if (ch < 0 || ch >= t->channels || !t->e) {
        *n = 0;
        return NULL;
    }
    *n = t->count[ch];
    return t->e + (size_t)ch * t->k;
}

/* ---- the folder -------------------------------------------------------- */

/* The folder's images by the one list of image extensions (input/image_list.c). */
void ax_maxact_list_free(char **files, int count)
{
    ax_image_list_free(files, count);
}

ax_status ax_maxact_list_images(char ***files, int *count, const char *dir, ax_error *err)
{
    return ax_image_list_dir(files, count, dir, err);
}

/* ---- the pass ---------------------------------------------------------- */

/* One image for the decoding queue (input/decode_queue.c), on its thread. */
typedef struct {
    char *const *files;
    const ax_spec *spec;
} decode_ctx;

static ax_status decode_image(void *user, int i, float *buf, ax_error *err)
{
    const decode_ctx *d = user;
    ax_image img;
    ax_status st = ax_image_load(&img, d->files[i], err);
    if (!st) {
        st = ax_preprocess_image(buf, &img, d->spec, err);
        ax_image_free(&img);
    }
    return st;
}

static int cancelled(const ax_maxact_pass *p)
{
    return p->cancel && __atomic_load_n(p->cancel, __ATOMIC_RELAXED);
}

/* Sets the batch in, runs to the layer and offers images idx[0..got). */
static ax_status run_batch(ax_maxact_top *t, ax_net *net, const ax_maxact_pass *p, const float *in, const int *idx,
                           int got, ax_error *err)
{
    const ax_spec *sp = &net->spec;
    size_t one = (size_t)sp->in_c * sp->in_h * sp->in_w;
    float *fill = (float *)in;
    for (int b = got; b < net->batch; b++) memcpy(fill + one * b, in + one * (got - 1), one * sizeof(float));
    if (p->lock) p->lock(p->user, 1);
    ax_status st = ax_net_set_input(net, in, net->batch, sp->in_c, sp->in_h, sp->in_w, err);
    if (!st) st = ax_net_run_to(net, p->layer, err);
    const ax_tensor *out = st ? NULL : ax_net_output(net, p->layer);
    if (!st && !out)
        st = ax_fail(err, AX_ERR_DEVICE, "%s: the output of '%s' could not be read back from the %s backend",
                     sp->name, net->layers[p->layer].spec.name, net->backend->name);
    if (!st) {
        size_t per = ax_tensor_numel(out) / (size_t)net->batch;
        for (int b = 0; b < got; b++) ax_maxact_top_add(t, idx[b], out->data + per * b);
    }
    if (p->lock) p->lock(p->user, 0);
    return st;
}

ax_status ax_maxact_run(ax_maxact_top *t, ax_net *net, const ax_maxact_pass *p, ax_maxact_stats *stats,
                        ax_error *err)
{
    memset(stats, 0, sizeof *stats);
    if (p->layer < 0 || p->layer >= net->nlayers)
        return ax_fail(err, AX_ERR_ARG, "maxact: layer %d is not one of the %d layers of %s", p->layer, net->nlayers,
                       net->spec.name);
    int n, c, h, w;
    ax_tensor_nchw(&net->layers[p->layer].out, &n, &c, &h, &w);
    if (c != t->channels || h != t->h || w != t->w)
        return ax_fail(err, AX_ERR_SHAPE, "maxact: the lists are for %d channels of %dx%d, '%s' has %d of %dx%d",
                       t->channels, t->h, t->w, net->layers[p->layer].spec.name, c, h, w);
    double t0 = ax_clock_ms();
    const ax_spec *sp = &net->spec;
    size_t one = (size_t)sp->in_c * sp->in_h * sp->in_w;
    int nthreads = p->threads < 1 ? 1 : p->threads > 16 ? 16 : p->threads;
    if (nthreads > p->nfiles) nthreads = p->nfiles > 0 ? p->nfiles : 1;
    decode_ctx dc = { p->files, sp };
    ax_decode_queue *q = NULL;
    float *in = malloc(one * net->batch * sizeof(float));
    int *idx = malloc((size_t)net->batch * sizeof *idx);
    ax_status st = in && idx ? AX_OK : ax_fail(err, AX_ERR_NOMEM, "maxact: out of memory for the queue");
    if (!st && p->nfiles > 0)
        st = ax_decode_queue_start(&q, p->nfiles, nthreads, 2 * nthreads + 2, one, decode_image, &dc, err);
    int got = 0;
    for (int i = 0; !st && i < p->nfiles; i++) {
        if (cancelled(p)) {
            stats->cancelled = 1;
            break;
        }
        ax_error ierr = { 0 };
        const float *buf = ax_decode_queue_take(q, i, &ierr);
        if (buf) {
            memcpy(in + one * got, buf, one * sizeof(float));
            idx[got++] = i;
        } else {
            stats->skipped++;
            if (p->skipped) p->skipped(p->user, i, &ierr);
        }
        ax_decode_queue_release(q, i);
        if (got == net->batch || (got > 0 && i == p->nfiles - 1)) {
            double f0 = ax_clock_ms();
            st = run_batch(t, net, p, in, idx, got, err);
            stats->forward_s += (ax_clock_ms() - f0) * 1e-3;
            stats->ranked += st ? 0 : got;
            got = 0;
        }
        if (p->progress && (!buf || got == 0)) p->progress(p->user, i + 1, p->nfiles);
    }
    if (!st && got > 0) {   /* cancelled with a part batch taken: it still counts */
        double f0 = ax_clock_ms();
        st = run_batch(t, net, p, in, idx, got, err);
        stats->forward_s += (ax_clock_ms() - f0) * 1e-3;
        stats->ranked += st ? 0 : got;
    }
    ax_decode_queue_stop(q, &stats->decode_s, NULL);
    free(in);
    free(idx);
    stats->seconds = (ax_clock_ms() - t0) * 1e-3;
    if (!st && !stats->ranked && !stats->cancelled && p->nfiles > 0)
        st = ax_fail(err, AX_ERR_FORMAT, "maxact: none of the %d images could be read", p->nfiles);
    return st;
}

/* ---- crops --------------------------------------------------------------- */

void ax_maxact_box(const ax_net *net, int layer, int y, int x, int *y0, int *x0, int *y1, int *x1)
{
    ax_rfield rf[AX_MAX_LAYERS];
    ax_receptive_fields(net->layers, net->nlayers, net->spec.in_h, net->spec.in_w, rf);
    ax_rfield_box(&rf[layer], y, x, net->spec.in_h, net->spec.in_w, y0, x0, y1, x1);
}

static unsigned char clamp255(double v)
{
    return (unsigned char)(v < 0 ? 0 : v > 255 ? 255 : v + 0.5);
}

void ax_maxact_rgb(unsigned char *rgb, const float *in, int c, int h, int w, const ax_preprocess *p)
{
    size_t plane = (size_t)h * w;
    double s = p->scale > 0 ? p->scale : 255.0;
    for (size_t i = 0; i < plane; i++)
        for (int d = 0; d < 3; d++) {
            int nc = c == 3 ? (p->bgr ? 2 - d : d) : 0;
            int pc = nc < 3 ? nc : 0;
            rgb[i * 3 + d] = clamp255(((double)in[nc * plane + i] * p->std[pc] + p->mean[pc]) * 255.0 / s);
        }
}

typedef struct { int image, slot; } need;

static int need_cmp(const void *a, const void *b)
{
    const need *x = a, *y = b;
    if (x->image != y->image) return (x->image > y->image) - (x->image < y->image);
    return (x->slot > y->slot) - (x->slot < y->slot);
}

void ax_maxact_crops_free(ax_maxact_crop *c, int n)
{
    for (int i = 0; c && i < n; i++) {
        free(c[i].rgb);
        c[i].rgb = NULL;
    }
}

ax_status ax_maxact_crops(ax_maxact_crop *out, const ax_maxact_top *t, int c0, int c1, const ax_net *net,
                          int layer, char *const *files, ax_error *err)
{
    if (c0 < 0 || c1 >= t->channels || c0 > c1)
        return ax_fail(err, AX_ERR_ARG, "maxact: channels %d..%d: the layer has 0..%d", c0, c1, t->channels - 1);
    int nslots = (c1 - c0 + 1) * t->k;
    memset(out, 0, (size_t)nslots * sizeof *out);
    need *nd = malloc((size_t)nslots * sizeof *nd);
    const ax_spec *sp = &net->spec;
    size_t plane = (size_t)sp->in_h * sp->in_w;
    float *in = malloc(plane * sp->in_c * sizeof(float));
    unsigned char *rgb = malloc(plane * 3);
    if (!nd || !in || !rgb) {
        free(nd), free(in), free(rgb);
        return ax_fail(err, AX_ERR_NOMEM, "maxact: out of memory for the crops");
    }
    int nn = 0;
    for (int c = c0; c <= c1; c++) {
        int n;
        const ax_maxact_entry *e = ax_maxact_top_list(t, c, &n);
        for (int r = 0; r < n; r++) nd[nn++] = (need){ e[r].image, (c - c0) * t->k + r };
    }
    qsort(nd, (size_t)nn, sizeof *nd, need_cmp);
    ax_status st = AX_OK;
    for (int i = 0; i < nn && !st;) {
        int j = i;
        while (j < nn && nd[j].image == nd[i].image) j++;
        ax_image img;
        ax_error e = { 0 };
        int ok = !ax_image_load(&img, files[nd[i].image], &e);
        if (ok) {
            ok = !ax_preprocess_image(in, &img, sp, &e);
            ax_image_free(&img);
        }
        if (ok) ax_maxact_rgb(rgb, in, sp->in_c, sp->in_h, sp->in_w, &sp->pre);
        for (int q = i; ok && q < j && !st; q++) {
            int s = nd[q].slot, ch = c0 + s / t->k, rank = s % t->k, n;
            const ax_maxact_entry *en = ax_maxact_top_list(t, ch, &n) + rank;
            int y0, x0, y1, x1;
            ax_maxact_box(net, layer, en->y, en->x, &y0, &x0, &y1, &x1);
            ax_maxact_crop *cr = &out[s];
            cr->w = x1 - x0 + 1;
            cr->h = y1 - y0 + 1;
            cr->y0 = y0;
            cr->x0 = x0;
            cr->rgb = malloc((size_t)cr->w * cr->h * 3);
            if (!cr->rgb) {
                st = ax_fail(err, AX_ERR_NOMEM, "maxact: out of memory for the crops");
                break;
            }
            for (int y = 0; y < cr->h; y++)
                memcpy(cr->rgb + (size_t)y * cr->w * 3, rgb + ((size_t)(y0 + y) * sp->in_w + x0) * 3,
                       (size_t)cr->w * 3);
        }
        i = j;
    }
    free(nd);
    free(in);
    free(rgb);
    if (st) ax_maxact_crops_free(out, nslots);
    return st;
}

ax_status ax_maxact_sheet(unsigned char **rgb, int *w, int *h, const ax_maxact_crop *c, int k, ax_error *err)
{
    enum { GAP = 2, GREY = 128 };
    int cw = 1, ch = 1;
    for (int i = 0; i < k; i++)
        if (c[i].rgb) {
            if (c[i].w > cw) cw = c[i].w;
            if (c[i].h > ch) ch = c[i].h;
        }
    *w = k * cw + (k + 1) * GAP;
    *h = ch + 2 * GAP;
    *rgb = malloc((size_t)*w * *h * 3);
    if (!*rgb) return ax_fail(err, AX_ERR_NOMEM, "maxact: out of memory for a %dx%d contact sheet", *w, *h);
    memset(*rgb, GREY, (size_t)*w * *h * 3);
    for (int i = 0; i < k; i++) {
        if (!c[i].rgb) continue;
        /* centred in its cell: a crop clipped at the image's edge is smaller */
        int ox = GAP + i * (cw + GAP) + (cw - c[i].w) / 2, oy = GAP + (ch - c[i].h) / 2;
        for (int y = 0; y < c[i].h; y++)
            memcpy(*rgb + ((size_t)(oy + y) * *w + ox) * 3, c[i].rgb + (size_t)y * c[i].w * 3, (size_t)c[i].w * 3);
    }
    return AX_OK;
}
