/* Diff mode: a second side (another weights file or spec loaded with W, or
 * the side B of `alexscope diff --ui`) compared with the workbench's net layer
 * by layer. Side B is computed and compared on a helper thread; the views
 * only read the finished comparison. Only the main thread calls these. */
#ifndef AX_UI_DIFFMODE_H
#define AX_UI_DIFFMODE_H

#include "alexscope/compare.h"
#include "core.h"

/* The finished comparison (NULL while none is ready) and its row of layer i
 * (-1: the input). */
const ax_comparison *ax_ui_diff_cmp(const ax_ui *u);
const ax_cmp_row *ax_ui_diff_row(const ax_ui *u, int i);
/* "weights bug.safetensors", "reference DIR"; "" without a second side. */
const char *ax_ui_diff_label(const ax_ui *u);
/* The diagnosis of the first divergent layer in one line ("" when all agree). */
const char *ax_ui_diff_diagnosis(const ax_ui *u);

/* Top-k view: both sides with rank changes and probability deltas; 1 when
 * drawn (a comparison is ready and the net ends in classes). */
int ax_ui_diff_topk(ax_ui *u, ax_rect r, int rows);

#endif
