/* The frame: the event loop and the global key map (loop.c), what is drawn
 * around the views (frame.c), the help overlay (help.c), saving the view
 * (save.c) and the redraw benchmark (bench.c). Only these walk the view and
 * mode tables; nothing below includes this header. */
#ifndef AX_UI_LOOP_H
#define AX_UI_LOOP_H

#include "core.h"

/* ---- loop.c ------------------------------------------------------------- */

/* The view table and the global keys' help. */
extern const ax_view *const ax_views[AX_V_COUNT];
extern const ax_key ax_global_keys[];

/* The state of a workbench on net (also for the benchmark and the key
 * test): the tables, every view's and mode's state; free it with
 * ax_ui_state_free whatever init returned. */
int ax_ui_state_init(ax_ui *u, ax_net *net, const ax_ui_config *cfg, ax_error *err);
void ax_ui_state_free(ax_ui *u);
/* Each loop turn: the worker and every mode's sync. Returns 1 while one works. */
int ax_ui_sync(ax_ui *u);
/* One key, as the loop handles it: an open prompt, the help, the view's own
 * keys, then the global map (ax_global_keys: its frame rows before the
 * view's keys, its modes row standing for the modes' keys); u->last_key says
 * which row took it. */
void ax_ui_handle_key(ax_ui *u, int k);

/* ---- frame.c ------------------------------------------------------------ */

/* Everything on screen for the current state (no refresh). */
void ax_ui_draw_all(ax_ui *u);
/* The layer shown on screen row y of the list (-2: none). */
int ax_ui_list_hit(const ax_ui *u, int y);
/* The bottom line's words for table t, joined, that fit cols (out: size). */
void ax_ui_key_bar(const ax_ui *u, const ax_key *t, int cols, char *out, size_t size);

/* ---- help.c ------------------------------------------------------------- */

void ax_ui_help_draw(ax_ui *u);
/* Keys while the help is open; returns 0 when the key closed it. */
int ax_ui_help_key(ax_ui *u, int k);

/* ---- save.c ------------------------------------------------------------- */

/* Writes the view to alexscope-<layer>-<view>.txt (plain) and .ans (ANSI). */
int ax_ui_save_view(ax_ui *u, int k);

#endif
