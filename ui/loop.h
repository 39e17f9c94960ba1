/* The parts of the event loop, one file each: terminal and signals (term.c),
 * the compute worker (worker.c), the run-to and find prompts (prompt.c) and
 * saving the view (save.c), the state they share (loop.c). The frame around
 * the views is frame.c. Only the main thread calls these. */
#ifndef AX_UI_LOOP_H
#define AX_UI_LOOP_H

#include "draw.h"

/* ---- term.c: the terminal, the clock, signals that always end curses ---- */

double ax_ui_now(void);
int ax_ui_locale_utf8(void);
/* Installs the handlers (stop signals end the loop, fatal ones end curses
 * first) and marks curses as started; ax_ui_signals_off undoes both. */
void ax_ui_signals_on(void);
void ax_ui_signals_off(void);
/* The stop signal that arrived (0: none); ax_ui_signal_set records one that
 * came as a key (Ctrl-C on a raw terminal). */
int ax_ui_signal_caught(void);
void ax_ui_signal_set(int sig);
/* A helper thread with the stop signals blocked, so they reach the main
 * thread and wake getch at once. Returns pthread_create's result. */
int ax_ui_thread_start(pthread_t *t, void *(*fn)(void *), void *arg);

/* ---- worker.c: layers are computed by one thread, one at a time -------- */

typedef struct {
    int busy;          /* a run is in progress */
    int computing;     /* the layer being computed, -1 between layers */
    int target;        /* the last layer the run will compute */
    int from;          /* the first layer of the run */
    double layer_t0;   /* when the layer being computed started (a job: when it started) */
    const char *job;   /* a job running before the layers (ax_ui_worker_job), else NULL */
} ax_ui_progress;

void ax_ui_worker_reset(ax_ui *u);
/* Picks up what the worker did since the last look (u->ready, u->cur when
 * following, the end-of-run message). Returns 1 while a run is in progress. */
int ax_ui_worker_sync(ax_ui *u);
/* One layer further than the last one asked for: steps asked for while the
 * worker computes are queued, never dropped. */
void ax_ui_worker_step(ax_ui *u);
/* Shows layer target, computing up to it first when needed. */
void ax_ui_worker_run_to(ax_ui *u, int target);
/* Stops after the layer being computed. */
void ax_ui_worker_stop(ax_ui *u);
/* Stops and waits for the worker (leaving the loop). */
void ax_ui_worker_join(ax_ui *u);
void ax_ui_worker_progress(ax_ui *u, ax_ui_progress *p);
/* Runs fn(u, arg) on the worker thread, before any layer, when no run is in
 * progress; name is what the progress line says meanwhile. Returns 0 when it
 * started, 1 when the worker is busy (ask again later), -1 on failure. */
int ax_ui_worker_job(ax_ui *u, void (*fn)(ax_ui *u, void *arg), void *arg, const char *name);
/* The weight statistics of the Filters view, on a helper thread when one
 * can be started. */
void ax_ui_wstats_start(ax_ui *u, int thread);
void ax_ui_wstats_join(ax_ui *u);

/* ---- prompt.c: g (run to a layer) and / (find a layer or a channel) ---- */

int ax_ui_prompt_active(void);
void ax_ui_prompt_open(ax_ui *u, int kind);
void ax_ui_prompt_key(ax_ui *u, int k);
/* The prompt on the bottom line y, with the names its text matches. */
void ax_ui_prompt_draw(ax_ui *u, int y);

/* ---- save.c ------------------------------------------------------------- */

/* Writes the view to alexscope-<layer>-<view>.txt (plain) and .ans (ANSI). */
void ax_ui_save_view(ax_ui *u);

/* ---- loop.c ------------------------------------------------------------- */

/* The state of a workbench on net (also for the benchmark); free it with
 * ax_ui_state_free whatever init returned. */
int ax_ui_state_init(ax_ui *u, ax_net *net, const ax_ui_config *cfg, ax_error *err);
void ax_ui_state_free(ax_ui *u);

#endif
