/* The compute worker: one thread calls ax_net_step one layer at a time while
 * the screen keeps redrawing; the loop asks it for more layers, to stop, and
 * picks up what it finished. Also the weight-statistics helper thread. */
#include "core.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

void ax_ui_worker_reset(ax_ui *u)
{
    memset(&u->w, 0, sizeof u->w);
    u->w.ready = u->ready;
    u->w.computing = -1;
}

static void *worker_main(void *arg)
{
    ax_ui *u = arg;
    pthread_mutex_lock(&u->mu);
    void (*job)(ax_ui *, void *) = u->w.job;
    pthread_mutex_unlock(&u->mu);
    if (job) {
        pthread_mutex_lock(&u->compute_mu);
        job(u, u->w.job_arg);
        pthread_mutex_unlock(&u->compute_mu);
        pthread_mutex_lock(&u->mu);
        u->w.job = NULL;
        u->w.job_name = NULL;
        pthread_mutex_unlock(&u->mu);
    }
    for (;;) {
        pthread_mutex_lock(&u->mu);
        int i = u->w.ready;
        if (u->w.cancel || i > u->w.target || i >= u->net->nlayers) {
            u->w.busy = 0;
            u->w.computing = -1;
            pthread_mutex_unlock(&u->mu);
            return NULL;
        }
        u->w.computing = i;
        u->w.t0 = ax_ui_now();
        pthread_mutex_unlock(&u->mu);

        ax_error e = { 0 };
        pthread_mutex_lock(&u->compute_mu);
        ax_status st = ax_net_step(u->net, i, &e);
        pthread_mutex_unlock(&u->compute_mu);

        pthread_mutex_lock(&u->mu);
        if (st != AX_OK) {
            u->w.failed = 1;
            u->w.err = e;
            u->w.busy = 0;
            u->w.computing = -1;
            pthread_mutex_unlock(&u->mu);
            return NULL;
        }
        u->w.ready = i + 1;
        pthread_mutex_unlock(&u->mu);
    }
}

int ax_ui_worker_sync(ax_ui *u)
{
    pthread_mutex_lock(&u->mu);
    int wr = u->w.ready, busy = u->w.busy, failed = u->w.failed, cancel = u->w.cancel;
    ax_error e = u->w.err;
    pthread_mutex_unlock(&u->mu);
    if (wr != u->ready) {
        u->ready = wr;
        if (u->follow) u->cur = wr - 1;
        u->dirty = 1;
    }
    if (!busy && u->w.live) {
        pthread_join(u->w.thread, NULL);
        u->w.live = 0;
        u->dirty = 1;
        u->follow = 0;
        if (failed) {
            ax_ui_say(u, AX_R_BAD, "error: %.300s", e.msg);
        } else if (u->ready > u->w.from) {
            ax_ui_say(u, AX_R_GOOD, "%s %s .. %s: %d layer%s in %.2f s", cancel ? "stopped after" : "computed",
                      u->net->layers[u->w.from].spec.name, u->net->layers[u->ready - 1].spec.name, u->ready - u->w.from,
                      u->ready - u->w.from == 1 ? "" : "s", ax_ui_now() - u->w.run_t0);
        }
    }
    return busy;
}

/* Starts a run to target; the worker is idle and joined. */
static void start_run(ax_ui *u, int target)
{
    pthread_mutex_lock(&u->mu);
    u->w.busy = 1;
    u->w.target = target;
    u->w.cancel = 0;
    u->w.failed = 0;
    u->w.ready = u->ready;
    pthread_mutex_unlock(&u->mu);
    u->w.from = u->ready;
    u->w.run_t0 = ax_ui_now();
    u->follow = 1;
    if (ax_ui_thread_start(&u->w.thread, worker_main, u)) {
        pthread_mutex_lock(&u->mu);
        u->w.busy = 0;
        pthread_mutex_unlock(&u->mu);
        u->follow = 0;
        ax_ui_say(u, AX_R_BAD, "cannot start the compute thread: %s", strerror(errno));
        return;
    }
    u->w.live = 1;
}

/* Layer i is computed (the worker may have done it since the last sync). */
static void show_computed(ax_ui *u, int i)
{
    ax_ui_worker_sync(u);
    u->cur = i;
    u->follow = u->w.live && i >= 0 && i == u->ready - 1;
}

void ax_ui_worker_step(ax_ui *u)
{
    int nl = u->net->nlayers;
    pthread_mutex_lock(&u->mu);
    if (u->w.busy) {
        /* The thread cannot finish while the lock is held, so a step added to
         * its target here is always computed. */
        int next;
        if (u->w.cancel) {
            /* after x, n asks for the layer after the stop, not the rest of the run */
            int stop = u->w.computing >= 0 ? u->w.computing : u->w.ready - 1;
            next = (u->follow ? stop : u->cur) + 1;
        } else {
            next = (u->follow ? u->w.target : u->cur) + 1;
        }
        if (next < nl && next >= u->w.ready) {
            if (u->w.cancel || next > u->w.target) u->w.target = next;
            u->w.cancel = 0;
            pthread_mutex_unlock(&u->mu);
            u->follow = 1;
            return;
        }
        pthread_mutex_unlock(&u->mu);
        if (next >= nl) ax_ui_say(u, AX_R_DIM, "%s is the last layer", ax_ui_layer_name(u, nl - 1));
        else show_computed(u, next);
        return;
    }
    pthread_mutex_unlock(&u->mu);
    ax_ui_worker_sync(u);   /* a run that just ended: its layers count, cur is where it stopped */
    int next = u->cur + 1;
    if (next >= nl) {
        ax_ui_say(u, AX_R_DIM, "%s is the last layer", ax_ui_layer_name(u, u->cur));
        return;
    }
    if (next < u->ready) {
        u->cur = next;
        return;
    }
    start_run(u, next);
}

void ax_ui_worker_run_to(ax_ui *u, int target)
{
    int nl = u->net->nlayers;
    if (target >= nl) target = nl - 1;
    pthread_mutex_lock(&u->mu);
    if (u->w.busy && target >= u->w.ready) {
        /* the run goes on to target, or stops there; a request after x still runs */
        u->w.target = target;
        u->w.cancel = 0;
        pthread_mutex_unlock(&u->mu);
        u->follow = 1;
        return;
    }
    int busy = u->w.busy;
    pthread_mutex_unlock(&u->mu);
    if (busy || target < 0) {
        show_computed(u, target);
        return;
    }
    ax_ui_worker_sync(u);
    if (target < u->ready) {
        u->cur = target;
        u->follow = 0;
        return;
    }
    start_run(u, target);
}

void ax_ui_worker_stop(ax_ui *u)
{
    pthread_mutex_lock(&u->mu);
    if (u->w.busy) u->w.cancel = 1;
    pthread_mutex_unlock(&u->mu);
}

void ax_ui_worker_join(ax_ui *u)
{
    ax_ui_worker_stop(u);
    if (u->w.live) pthread_join(u->w.thread, NULL);
    u->w.live = 0;
}

void ax_ui_worker_progress(ax_ui *u, ax_ui_progress *p)
{
    pthread_mutex_lock(&u->mu);
    p->busy = u->w.busy;
    p->computing = u->w.busy ? u->w.computing : -1;
    p->target = u->w.target;
    p->layer_t0 = u->w.t0;
    p->job = u->w.busy ? u->w.job_name : NULL;
    pthread_mutex_unlock(&u->mu);
    p->from = u->w.from;
}

int ax_ui_worker_job(ax_ui *u, void (*fn)(ax_ui *u, void *arg), void *arg, const char *name)
{
    pthread_mutex_lock(&u->mu);
    int busy = u->w.busy;
    pthread_mutex_unlock(&u->mu);
    if (busy) return 1;
    ax_ui_worker_sync(u);
    pthread_mutex_lock(&u->mu);
    u->w.busy = 1;
    u->w.target = u->ready - 1;   /* steps asked for meanwhile follow the job */
    u->w.cancel = 0;
    u->w.failed = 0;
    u->w.ready = u->ready;
    u->w.job = fn;
    u->w.job_arg = arg;
    u->w.job_name = name;
    u->w.t0 = ax_ui_now();
    pthread_mutex_unlock(&u->mu);
    u->w.from = u->ready;
    u->w.run_t0 = ax_ui_now();
    if (ax_ui_thread_start(&u->w.thread, worker_main, u)) {
        pthread_mutex_lock(&u->mu);
        u->w.busy = 0;
        u->w.job = NULL;
        u->w.job_name = NULL;
        pthread_mutex_unlock(&u->mu);
        ax_ui_say(u, AX_R_BAD, "cannot start the compute thread: %s", strerror(errno));
        return -1;
    }
    u->w.live = 1;
    return 0;
}

/* ---- weight statistics -------------------------------------------------- */

static void *wstats_main(void *arg)
{
    ax_ui *u = arg;
    for (int i = 0; i < u->net->nlayers; i++) {
        const ax_layer *l = &u->net->layers[i];
        if (l->weight.data) ax_stats_compute(&u->wstats[i], l->weight.data, ax_tensor_numel(&l->weight));
        if (l->bias.data) ax_stats_compute(&u->bstats[i], l->bias.data, ax_tensor_numel(&l->bias));
    }
    pthread_mutex_lock(&u->mu);
    u->w_stats_done = 1;
    pthread_mutex_unlock(&u->mu);
    return NULL;
}

void ax_ui_wstats_start(ax_ui *u, int thread)
{
    u->wthread_live = thread && !ax_ui_thread_start(&u->wthread, wstats_main, u);
    if (!u->wthread_live) wstats_main(u);
}

void ax_ui_wstats_join(ax_ui *u)
{
    if (u->wthread_live) pthread_join(u->wthread, NULL);
    u->wthread_live = 0;
}
