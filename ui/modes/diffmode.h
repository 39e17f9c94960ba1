/* Diff mode: a second side (another weights file or spec loaded with W, or
 * the side B of `alexscope diff --ui`) compared with the workbench's net layer
 * by layer. Side B is computed and compared on a helper thread; the views
 * only read the finished comparison. Only the main thread calls these. */
#ifndef AX_UI_DIFFMODE_H
#define AX_UI_DIFFMODE_H

#include "alexscope/compare.h"
#include "loop.h"

/* Held around every ax_net_step or ax_diagnose of the workbench's threads:
 * the CPU backend's thread pool runs one job at a time. */
extern pthread_mutex_t ax_ui_compute_mu;

/* The finished comparison (NULL while none is ready) and its row of layer i
 * (-1: the input). */
const ax_comparison *ax_ui_diff_cmp(void);
const ax_cmp_row *ax_ui_diff_row(int i);
/* "weights bug.safetensors", "reference DIR"; "" without a second side. */
const char *ax_ui_diff_label(void);
/* The diagnosis of the first divergent layer in one line ("" when all agree). */
const char *ax_ui_diff_diagnosis(void);

/* Starts what the configuration asks for (a side B given up front) and picks
 * up what the helper thread finished. Returns 1 while it works. */
int ax_ui_diff_sync(ax_ui *u);
/* Layer list: the role and one-cell mark of layer i once compared (agree,
 * first divergence, downstream, not on side B); 0 before that. */
int ax_ui_diff_mark(const ax_ui *u, int i, ax_role *role, const char **mark);
/* The bottom line while side B loads or is computed; 1 when drawn. */
int ax_ui_diff_bottom(ax_ui *u, int y);
/* ] (first divergent layer) and W (load a second side); 1 when used. */
int ax_ui_diff_key(ax_ui *u, int k);
/* The W prompt on the bottom line. */
int ax_ui_diff_prompt_active(void);
void ax_ui_diff_prompt_key(ax_ui *u, int k);
void ax_ui_diff_prompt_draw(ax_ui *u, int y);
/* Waits for the helper thread and frees side B (leaving the workbench). */
void ax_ui_diff_release(void);

/* Top-k view: both sides with rank changes and probability deltas; 1 when
 * drawn (a comparison is ready and the net ends in classes). */
int ax_ui_diff_topk(ax_ui *u, ax_rect r, int rows);

#endif
