/* Saliency: what the gradient of one class's logit says about the input and
 * about each layer's output, computed with the backward pass of grad.h and
 * reduced to maps and per-channel figures the workbench draws. Plain host
 * buffers in and out; nothing here draws. */
#ifndef ALEXSCOPE_SALIENCY_H
#define ALEXSCOPE_SALIENCY_H

#include <stddef.h>

#include "alexscope/grad.h"

/* The backward pass for saliency: seeds d logit[cls] for every image of the
 * batch (cls < 0: each image's own top class), then computes d_out of every
 * layer up to the logits and d_input, with no weight gradient (every layer is
 * frozen for it). The forward pass must have computed the logit layer; a
 * what-if run (teach.h) is refused, since its layers have no backward. Writes
 * each image's class to classes_out (batch entries, may be NULL). Returns the
 * logit layer, or -1 with err. */
int ax_saliency_backward(ax_grad *g, int cls, int *classes_out, ax_error *err);

/* From one image's input gradient g (C, H, W): max_map (H, W) = max over the
 * channels of |g| (NULL: skipped) and ch_maps (C, H, W) = |g| (NULL: skipped). */
void ax_saliency_map(float *max_map, float *ch_maps, const float *g, int c, int h, int w);

/* What a channel's gradient says about it: the mean and largest |g|, the mean
 * of g, and sum(g * a) over the channel with a its activation: the change of
 * the logit to first order when the channel were switched off is -sum(g * a). */
typedef struct {
    double abs_mean;
    float abs_max;
    double mean;
    double grad_act;
} ax_grad_channel;

/* Per-channel figures of one image's gradient g and activation a, both
 * (C, HW); a may be NULL (grad_act is then 0). NaN and Inf values are left
 * out of every figure. */
void ax_saliency_channels(ax_grad_channel *out, const float *g, const float *a, int c, int hw);

/* Columns ax_saliency_order sorts by. */
typedef enum {
    AX_GRAD_COL_INDEX,
    AX_GRAD_COL_ABS_MEAN,
    AX_GRAD_COL_ABS_MAX,
    AX_GRAD_COL_MEAN,
    AX_GRAD_COL_GRAD_ACT,
    AX_GRAD_COL_COUNT
} ax_grad_column;

/* order (c) = channel indices sorted by column (ties by index, ascending). */
void ax_saliency_order(int *order, const ax_grad_channel *ch, int c, ax_grad_column column, int descending);

#endif
