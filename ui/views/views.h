/* The views, one file each under ui/views; the frame's table (loop.c)
 * names them, and nothing below the frame does. */
#ifndef AX_UI_VIEWS_H
#define AX_UI_VIEWS_H

#include "core.h"

extern const ax_view ax_view_maxact;   /* view_maxact.c: Top images (M) */
extern const ax_view ax_view_tensor, ax_view_channels, ax_view_heatmap, ax_view_lrn, ax_view_groups,
    ax_view_topk, ax_view_filters, ax_view_input, ax_view_messages, ax_view_diff;

#endif
