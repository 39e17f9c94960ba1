/* The services every part of the workbench may call, at the bottom of ui/:
 * messages, opening a view, the pane's geometry and list keys (core.c), the
 * terminal, clock and signals (term.c) and the compute worker (worker.c).
 * Nothing here names a view, a mode or the frame: tables come through u. */
#ifndef AX_UI_CORE_H
#define AX_UI_CORE_H

#include "draw.h"

/* ---- core.c: messages, views, geometry ----------------------------------- */

/* A message for the bottom line, also kept in the Messages view. */
void ax_ui_say(ax_ui *u, ax_role r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* A line for the Messages view only. */
void ax_ui_log(ax_ui *u, ax_role r, const char *text);
/* Opens view v; drill 1 remembers the current one for Esc/Backspace/q. */
void ax_ui_open_view(ax_ui *u, int v, int drill);
/* The view on show: the current one, or the one a mode puts in its place
 * (the Channels view's gradient table while G is on). */
const ax_view *ax_ui_view_on_show(const ax_ui *u);
/* What views show for layer i (the activation, or a mode's stand-in such as
 * the gradient under G); 1 when a mode stands in. The notice says why it is
 * not there yet. */
int ax_ui_shown_layer(ax_ui *u, int i, ax_ui_shown *out);
void ax_ui_shown_notice(ax_ui *u, const ax_ui_shown *s, ax_rect r, int y, int i);
/* Key k to the view on show: the row of its table that took it, or NULL
 * (no row, or the row's handler left it to the global map). */
const ax_key *ax_ui_view_key(ax_ui *u, int k);
/* The state of view v or mode m (ax_ui_state_init made it). */
void *ax_ui_view_state(const ax_ui *u, int v);
void *ax_ui_mode_state(const ax_ui *u, int m);

/* Frame geometry: the width of the layer list's names and the list's width
 * (0: hidden), the pane the current view draws into. */
int ax_ui_name_width(const ax_ui *u);
int ax_ui_list_width(const ax_ui *u);
ax_rect ax_ui_pane(const ax_ui *u);

/* A key that moves in a list of n rows (arrows, j/k, PgUp/PgDn by page rows,
 * Home/End) applied to row sel: the new row, within 0..n-1; -1 for any other
 * key (or an empty list). */
int ax_ui_list_key(int k, int sel, int n, int page);
/* Up Down PgUp PgDn Home End on a scroll position (first row on screen): page
 * rows a page; End goes far past the end, which the view's drawing clamps. */
void ax_ui_scroll_key(int *top, int k, int page);

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

#endif
