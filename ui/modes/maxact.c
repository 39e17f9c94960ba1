/* The Top images view's pass (M): while the view is on show, a thread of its
 * own ranks the channels of the current layer over a folder of images
 * (ax_maxact_run, on a net of the layers up to that one with the workbench's
 * weights, holding the compute lock around each forward pass), then cuts
 * the crops of whichever channel the view shows. The main thread never
 * waits for it: a pass for another layer starts once the old one stopped. */
#include "maxact.h"
#include "modes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alexscope/cpu.h"

/* Fields marked (mu) are shared with the thread; the rest are the main
 * thread's, or the thread's alone while it runs (top, files, net). */
typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int mu_init;
    pthread_t th;
    int live;                 /* a thread to join */
    int cancel;               /* (mu, and read atomically by the pass) */
    int exited;               /* (mu) the thread has returned */
    ax_ui_maxact_phase phase; /* (mu) */
    int done, total, skipped; /* (mu) */
    ax_error err;             /* (mu) */
    int want_ch;              /* (mu) the channel whose crops the view wants */
    int made_ch;              /* the thread's: the channel it last cut */
    ax_maxact_crop *ready;    /* (mu) crops cut and not yet taken, of ready_ch */
    int ready_ch;
    /* the pass */
    ax_ui *u;
    int layer;
    char dir[AX_PATH_MAX];
    char **files;
    int nfiles;
    ax_net *net;
    ax_maxact_top top;
    ax_maxact_stats stats;
    /* the main thread's */
    ax_maxact_crop *crops;
    int crops_ch;
    int failed_said;
} maxact_state;

static maxact_state *state_of(const ax_ui *u) { return ax_ui_mode_state(u, AX_M_MAXACT); }

static void init(ax_ui *u)
{
    maxact_state *M = state_of(u);
    pthread_mutex_init(&M->mu, NULL);
    pthread_cond_init(&M->cv, NULL);
    M->mu_init = 1;
    M->layer = -1;
    M->crops_ch = -1;
    M->want_ch = -1;
}

/* ---- the thread ----------------------------------------------------------- */

static void lock_compute(void *user, int on)
{
    maxact_state *M = user;
    if (on) pthread_mutex_lock(&M->u->compute_mu);
    else pthread_mutex_unlock(&M->u->compute_mu);
}

static void on_progress(void *user, int done, int total)
{
    maxact_state *M = user;
    pthread_mutex_lock(&M->mu);
    M->done = done;
    M->total = total;
    pthread_mutex_unlock(&M->mu);
}

static void on_skipped(void *user, int image, const ax_error *why)
{
    maxact_state *M = user;
    (void)image;
    (void)why;
    pthread_mutex_lock(&M->mu);
    M->skipped++;
    pthread_mutex_unlock(&M->mu);
}

/* The layers up to M->layer with the workbench's weights, batch 1. */
static ax_status make_net(maxact_state *M, ax_error *err)
{
    const ax_net *src = M->u->net;
    ax_spec *spec = malloc(sizeof *spec);
    if (!spec) return ax_fail(err, AX_ERR_NOMEM, "top images: out of memory");
    *spec = src->spec;
    spec->nlayers = M->layer + 1;
    ax_backend_options bo = src->options;
    bo.weights_follow = 1;   /* copied from the workbench's net below: no seeded fill */
    pthread_mutex_lock(&M->u->compute_mu);
    ax_status st = ax_net_create_with(&M->net, spec, 1, src->backend, &bo, err);
    for (int i = 0; !st && i <= M->layer; i++) {
        const ax_layer *a = &src->layers[i];
        ax_layer *b = &M->net->layers[i];
        if (a->weight.data) memcpy(b->weight.data, a->weight.data, ax_tensor_numel(&a->weight) * sizeof(float));
        if (a->bias.data) memcpy(b->bias.data, a->bias.data, ax_tensor_numel(&a->bias) * sizeof(float));
    }
    if (!st) {
        M->net->untrained = src->untrained;
        st = ax_net_weights_changed(M->net, -1, err);
    }
    pthread_mutex_unlock(&M->u->compute_mu);
    free(spec);
    return st;
}

static void *pass_main(void *arg)
{
    maxact_state *M = arg;
    ax_error e = { 0 };
    ax_status st = ax_maxact_list_images(&M->files, &M->nfiles, M->dir, &e);
    if (!st) st = make_net(M, &e);
    int n, c, h, w;
    if (!st) {
        ax_tensor_nchw(&M->net->layers[M->layer].out, &n, &c, &h, &w);
        st = ax_maxact_top_init(&M->top, c, AX_UI_MAXACT_K, h, w, &e);
    }
    if (!st) {
        pthread_mutex_lock(&M->mu);
        M->total = M->nfiles;
        pthread_mutex_unlock(&M->mu);
        /* half the cores decode: the other half run the net */
        int threads = ax_cpu_threads() / 2;
        ax_maxact_pass p = { .files = M->files, .nfiles = M->nfiles, .layer = M->layer,
                             .threads = threads < 1 ? 1 : threads, .cancel = &M->cancel, .user = M,
                             .progress = on_progress, .skipped = on_skipped, .lock = lock_compute };
        st = ax_maxact_run(&M->top, M->net, &p, &M->stats, &e);
    }
    pthread_mutex_lock(&M->mu);
    M->err = e;
    M->phase = st ? AX_MAXACT_FAILED : AX_MAXACT_DONE;
    M->made_ch = -1;
    /* the crops of whichever channel the view asks for, until cancelled */
    while (!st && !M->cancel) {
        if (M->want_ch >= 0 && M->want_ch != M->made_ch) {
            int ch = M->want_ch;
            pthread_mutex_unlock(&M->mu);
            ax_maxact_crop *cr = calloc(AX_UI_MAXACT_K, sizeof *cr);
            ax_error ce = { 0 };
            /* on an error the slots stay empty: the view says the images no longer read */
            if (cr) ax_maxact_crops(cr, &M->top, ch, ch, M->net, M->layer, M->files, &ce);
            pthread_mutex_lock(&M->mu);
            if (M->ready) {   /* cut before and never taken */
                ax_maxact_crops_free(M->ready, AX_UI_MAXACT_K);
                free(M->ready);
            }
            M->ready = cr;
            M->ready_ch = ch;
            M->made_ch = ch;
            continue;
        }
        pthread_cond_wait(&M->cv, &M->mu);
    }
    M->exited = 1;
    pthread_mutex_unlock(&M->mu);
    return NULL;
}

/* ---- the main thread's side -------------------------------------------------- */

static void free_crops(ax_maxact_crop **c)
{
    if (*c) ax_maxact_crops_free(*c, AX_UI_MAXACT_K);
    free(*c);
    *c = NULL;
}

/* After the thread exited: its pass forgotten. */
static void forget(maxact_state *M)
{
    if (M->live) pthread_join(M->th, NULL);
    M->live = 0;
    ax_maxact_top_free(&M->top);
    ax_maxact_list_free(M->files, M->nfiles);
    M->files = NULL;
    M->nfiles = 0;
    ax_net_free(M->net);
    M->net = NULL;
    free_crops(&M->crops);
    free_crops(&M->ready);
    M->crops_ch = -1;
    M->layer = -1;
    M->phase = AX_MAXACT_NONE;
    M->done = M->total = M->skipped = 0;
    M->cancel = M->exited = 0;
    M->want_ch = -1;
    M->failed_said = 0;
}

static void stop(maxact_state *M)
{
    pthread_mutex_lock(&M->mu);
    __atomic_store_n(&M->cancel, 1, __ATOMIC_RELAXED);
    pthread_cond_broadcast(&M->cv);
    pthread_mutex_unlock(&M->mu);
}

/* --maxact-dir, else the folder of the image on show, else samples. */
static void choose_dir(const ax_ui *u, char *dir, size_t size)
{
    const char *img = u->cfg->image_path;
    if (u->cfg->maxact_dir) snprintf(dir, size, "%s", u->cfg->maxact_dir);
    else if (img && strrchr(img, '/')) snprintf(dir, size, "%.*s", (int)(strrchr(img, '/') - img), img);
    else if (img) snprintf(dir, size, ".");
    else snprintf(dir, size, "samples");
    if (!dir[0]) snprintf(dir, size, "/");
}

static void start(ax_ui *u, int layer)
{
    maxact_state *M = state_of(u);
    forget(M);
    M->u = u;
    M->layer = layer;
    choose_dir(u, M->dir, sizeof M->dir);
    M->phase = AX_MAXACT_RUNNING;
    if (ax_ui_thread_start(&M->th, pass_main, M)) {
        M->phase = AX_MAXACT_FAILED;
        ax_fail(&M->err, AX_ERR_NOMEM, "top images: cannot start the thread");
        return;
    }
    M->live = 1;
}

static int sync(ax_ui *u)
{
    maxact_state *M = state_of(u);
    int on = u->view == AX_V_MAXACT && !u->help;
    if (!M->live && M->phase == AX_MAXACT_NONE && !(on && u->cur >= 0)) return 0;
    pthread_mutex_lock(&M->mu);
    ax_ui_maxact_phase phase = M->phase;
    int exited = M->exited, busy = phase == AX_MAXACT_RUNNING;
    ax_maxact_crop *got = M->ready;
    int got_ch = M->ready_ch;
    M->ready = NULL;
    pthread_mutex_unlock(&M->mu);
    if (got) {
        free_crops(&M->crops);
        M->crops = got;
        M->crops_ch = got_ch;
        u->dirty = 1;
    }
    if (M->live && M->layer != u->cur && on && u->cur >= 0) {
        /* another layer: this pass stops; the next starts once it has */
        if (!exited) {
            stop(M);
            return 1;
        }
        forget(M);
    }
    if (!M->live && M->phase == AX_MAXACT_NONE && on && u->cur >= 0) {
        start(u, u->cur);
        u->dirty = 1;
        return 1;   /* what was read above was the old pass's */
    }
    if (phase == AX_MAXACT_FAILED && !M->failed_said) {
        M->failed_said = 1;
        ax_ui_say(u, AX_R_BAD, "top images: %.300s", M->err.msg);
    }
    /* the crops of the channel on show */
    int ch = u->ch;
    if (on && phase != AX_MAXACT_FAILED && M->live && ch != M->crops_ch) {
        pthread_mutex_lock(&M->mu);
        if (M->want_ch != ch) {
            M->want_ch = ch;
            pthread_cond_broadcast(&M->cv);
        }
        pthread_mutex_unlock(&M->mu);
        busy = 1;
    }
    if (busy) u->dirty = 1;
    return busy && on;
}

static void release(ax_ui *u)
{
    maxact_state *M = state_of(u);
    if (!M->mu_init) return;
    if (M->live) stop(M);
    forget(M);
    pthread_mutex_destroy(&M->mu);
    pthread_cond_destroy(&M->cv);
    M->mu_init = 0;
}

void ax_ui_maxact_get(ax_ui *u, ax_ui_maxact_info *out)
{
    maxact_state *M = state_of(u);
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&M->mu);
    out->phase = M->phase;
    out->done = M->done;
    out->total = M->total;
    out->skipped = M->skipped;
    out->why = M->phase == AX_MAXACT_FAILED ? M->err.msg : NULL;
    pthread_mutex_unlock(&M->mu);
    out->layer = M->layer;
    out->dir = M->dir;
    if (out->phase == AX_MAXACT_DONE) {
        /* the thread writes these no more */
        out->top = &M->top;
        out->files = M->files;
        out->net = M->net;
        out->seconds = M->stats.seconds;
    }
    out->crops = M->crops;
    out->crops_ch = M->crops_ch;
}

void ax_ui_maxact_restart(ax_ui *u)
{
    maxact_state *M = state_of(u);
    if (M->live) {
        stop(M);
        /* the next sync starts it again once the thread returned */
        M->layer = -2;
        return;
    }
    forget(M);
}

int ax_ui_maxact_settled(ax_ui *u)
{
    maxact_state *M = state_of(u);
    pthread_mutex_lock(&M->mu);
    ax_ui_maxact_phase ph = M->phase;
    pthread_mutex_unlock(&M->mu);
    return ph == AX_MAXACT_FAILED || (ph == AX_MAXACT_DONE && M->crops_ch == u->ch);
}

static int key_open(ax_ui *u, int k)
{
    (void)k;
    ax_ui_open_view(u, AX_V_MAXACT, 0);
    return 1;
}

static const ax_key keys[] = {
    { { 'M' }, "M", "Top images view: a folder's images that excite the channel most (--maxact-dir)", key_open, NULL,
      NULL, 0, 0, 0 },
    { { 0 }, NULL, NULL, NULL, NULL, NULL, 0, 0, 0 },
};

const ax_mode ax_mode_maxact = {
    .name = "maxact",
    .keys = keys,
    .state = sizeof(maxact_state),
    .init = init,
    .release = release,
    .sync = sync,
};
