/* The workbench's teaching parts: the Explain view (the arithmetic behind one
 * value), the Summary view (the model summary and, during a what-if, its
 * difference to the normal run) and the what-if switches (L, T). */
#ifndef AX_UI_TEACH_H
#define AX_UI_TEACH_H

#include "core.h"

extern const ax_view ax_view_explain, ax_view_summary;

/* Opens the Explain view on output (image on show, c, y, x) of layer i. */
void ax_ui_explain_open(ax_ui *u, int i, int c, int y, int x);
/* The same on the largest value of channel c of layer i (Channels, tiles). */
void ax_ui_explain_channel_max(ax_ui *u, int i, int c);

/* L: the current LRN layer off / on. T: the current two-tower conv's
 * towers: tower 0 zeroed, tower 1 zeroed, both on. */
int ax_ui_whatif_key(ax_ui *u, int k);
/* Lines comparing the what-if run with the normal one (layers from the
 * switched one on: max |difference|, relative; top-k before and after).
 * Returns the count written (0: no what-if active). */
int ax_ui_whatif_lines(ax_ui *u, char (*lines)[160], int max);
/* "norm1 LRN off, conv2 tower 0 zeroed": the switches thrown, for the header,
 * the status line and Top-k; returns how many (0: the net as specified). */
int ax_ui_whatif_text(const ax_ui *u, char *buf, size_t n);

/* The Input view's overlays (ui/teach_input.c): the receptive field box of
 * the selected cell over the picture drawn at (y, x) in rows x cols cells
 * from an H x W input (a line of text_w cells below it), and the b blend;
 * its key handlers: b (blend on / off), h j k l (cell) and [ ] (channel).
 * The Input view's state is an ax_ui_input_state. */
typedef struct { int blend; } ax_ui_input_state;
void ax_ui_teach_input_overlay(ax_ui *u, int y, int x, int rows, int cols, int H, int W, int colour, int text_w);
int ax_ui_teach_input_blend(ax_ui *u, int k);
int ax_ui_teach_input_move(ax_ui *u, int k);

#endif
