/* Gradients in the workbench: the Saliency view (0), "explain this class"
 * from the Top-k view, and G in the Channels and Heatmap views, which shows
 * the gradient of the chosen class with respect to the layer's output in
 * place of the activation. The backward pass runs on the compute worker
 * (worker.c), only when one of these asks; only the main thread calls these. */
#ifndef AX_UI_GRADMODE_H
#define AX_UI_GRADMODE_H

#include "core.h"

extern const ax_view ax_view_saliency;

/* Opens the Saliency view for class cls (-1: the top class), computing what
 * is missing first (the forward pass to the logits, then the backward). */
void ax_ui_saliency_open(ax_ui *u, int cls);

/* G: gradients in place of activations in Channels and Heatmap, or back. */
void ax_ui_grad_toggle(ax_ui *u);
/* The gradient of the chosen class with respect to layer i's output (-1: the
 * input) for the image on show, (C, H, W), and its analysis cache (statistics
 * of the gradient); NULL while not computed (asking starts it). */
const float *ax_ui_grad_data(ax_ui *u, int i);
ax_layer_cache *ax_ui_grad_cache(ax_ui *u, int i);
/* The class of the gradients on show for the image on show (the top class
 * resolved), else the one asked for (-1: top); the one asked for. */
int ax_ui_grad_class(ax_ui *u);
int ax_ui_grad_wanted(const ax_ui *u);
/* "d logit[281 tabby] / d conv3" for titles. */
const char *ax_ui_grad_what(ax_ui *u, int i);
/* Why layer i has no gradient on show yet (computing, above the logits, no
 * classes, an error), as a notice in r at row y. */
void ax_ui_grad_notice(ax_ui *u, ax_rect r, int y, int i);

#endif
