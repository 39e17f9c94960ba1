/* The backward pass: per-layer gradient kernels (CPU, free functions in the
 * order of layers.h: outputs, inputs, parameters, sizes) and the net-level
 * gradient state, allocated once beside the net's activations and only by a
 * caller that asks for a backward pass. A forward-only user never sees it. */
#ifndef ALEXSCOPE_GRAD_H
#define ALEXSCOPE_GRAD_H

#include <stddef.h>
#include <stdint.h>

#include "alexscope/layers.h"
#include "alexscope/net.h"

/* ---- kernels ------------------------------------------------------------- */

/* Floats of scratch one slot of ax_conv2d_bwd needs: one image's im2col for
 * one group, plus a private dW and db accumulator. */
size_t ax_conv2d_bwd_scratch(const ax_window *g);

/* Convolution backward. dy (N, OC, OH, OW), x (N, C, H, W), w (OC, C/groups,
 * KH, KW). Writes (overwrites) dx (N, C, H, W), dw (like w) and db (OC); any
 * of them may be NULL to skip it. The images are split over `slots` parts on
 * the CPU pool, each with its own scratch (slots * ax_conv2d_bwd_scratch
 * floats); dw and db are the parts' sums, added in slot order, so the result
 * depends on the slot count but never on timing. */
void ax_conv2d_bwd(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w,
                   float *scratch, int slots, const ax_window *g);
/* Its two paths (ax_conv2d_bwd picks as ax_conv2d does): im2col + OpenBLAS
 * with the arguments above, and oneDNN's backward-data and backward-weights
 * primitives (0 when it ran, -1 when it cannot: run im2col), the batch split
 * over the CPU pool (ax_cpu_threads) with the parts' dW and db added in part
 * order. */
void ax_conv2d_bwd_im2col(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w,
                          float *scratch, int slots, const ax_window *g);
int ax_conv2d_bwd_onednn(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w,
                         const ax_window *g);
/* Makes the current path's backward primitives for this shape now (when the
 * gradient state is set up); a no-op for im2col. */
void ax_conv2d_bwd_prepare(const ax_window *g);

/* dx = dy where x > 0, else 0 (PyTorch's rule: no gradient at exactly 0). */
void ax_relu_bwd(float *dx, const float *dy, const float *x, size_t n);

/* LRN backward for out = in / (k + scale * S)^beta, S the window sum of
 * squares (see ax_lrn). x and y are the layer's input and output. Needs
 * ax_lrn_bwd_scratch(c) floats of scratch per slot. */
size_t ax_lrn_bwd_scratch(int c);
void ax_lrn_bwd(float *dx, const float *dy, const float *x, const float *y, float scale, float beta,
                float k, int size, int n, int c, int hw, float *scratch, int slots);

/* Max pool backward: each output's gradient goes to the first maximum of its
 * window in row-major order (a NaN, the last one, wins), as PyTorch's CPU
 * kernel picks it; padding cells never receive any. y is the forward
 * output (ax_maxpool of x): the maximum to look for. */
void ax_maxpool_bwd(float *dx, const float *dy, const float *x, const float *y, const ax_window *g);

/* Adaptive average pool backward: each bin's gradient spread evenly over it
 * (overlapping bins add up). */
void ax_avgpool_adaptive_bwd(float *dx, const float *dy, int n, int c, int h, int w, int oh, int ow);

/* Zero padding backward: dy (N, C, H+t+b, W+l+r) cropped into dx (N, C, H, W). */
void ax_pad_bwd(float *dx, const float *dy, int n, int c, int h, int w, int pad_t, int pad_l, int pad_b,
                int pad_r);

/* Flatten backward: the inverse permutation of ax_flatten. */
void ax_flatten_bwd(float *dx, const float *dy, int n, int c, int h, int w, int hwc);

/* FC backward: dy (N, OUT), x (N, IN), w (OUT, IN). dx (N, IN), dw (OUT, IN),
 * db (OUT), each may be NULL. */
void ax_fc_bwd(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w,
               int n, int in_f, int out_f);

/* Dropout in training mode (inverted: kept values are scaled by 1/(1-p)).
 * Element i is dropped when a counter-based hash of (seed, i) falls below p,
 * so the backward recomputes the mask instead of storing it. */
void ax_dropout_train(float *y, const float *x, float p, uint64_t seed, size_t n);
void ax_dropout_bwd(float *dx, const float *dy, float p, uint64_t seed, size_t n);

/* Softmax backward from its output y (N, C): dx = y * (dy - sum(dy * y)). */
void ax_softmax_bwd(float *dx, const float *dy, const float *y, int n, int c);

/* Softmax cross-entropy on logits (N, C) with one label per row: returns the
 * mean loss (in double), writes prob (N, C) (may be NULL) and dlogits = (prob
 * - onehot) / N. Labels outside 0..C-1 are the caller's mistake: such a row
 * counts as zero loss and gets no gradient. */
double ax_softmax_xent(float *dlogits, float *prob, const float *logits, const int *labels, int n, int c);

/* ---- the net's gradients ----------------------------------------------------- */

/* Gradient buffers for one net: one tensor per activation (the input and
 * every layer's output), per weight and per bias, in one block sized once. */
typedef struct ax_grad {
    ax_net *net;
    ax_tensor d_input;          /* (N, C, H, W) */
    ax_tensor *d_out;           /* per layer, shaped as its output */
    ax_tensor *d_weight;        /* per layer; data NULL when the layer has none */
    ax_tensor *d_bias;
    unsigned char *frozen;      /* per layer: 1 = no weight gradient is computed */
    double *ms;                 /* time of each layer's last backward */
    float *block; size_t count;
    float *scratch; size_t scount;
    int slots;                  /* parts convolutions split a batch into (1: each image over the pool) */
    int lrn_slots;              /* parts LRN splits its pixels into */
    int training;               /* forward applies dropout masks */
    uint64_t dropout_seed;      /* masks of the current forward pass */
} ax_grad;

/* Allocates every gradient buffer for `net` (its batch and shapes); the net
 * must outlive the state. */
ax_status ax_grad_create(ax_grad **out, ax_net *net, ax_error *err);

/* The same for the gradients of the input and the activations only
 * (saliency, the workbench's G): no weight or bias gradient is allocated,
 * every layer stays frozen, and d_weight/d_bias data are NULL. On bvlc
 * AlexNet that leaves out 61 million floats. */
ax_status ax_grad_create_activations(ax_grad **out, ax_net *net, ax_error *err);
void ax_grad_free(ax_grad *g);

/* The forward pass for a backward: every layer from the input, with dropout
 * applied (seeded masks) when training, identity otherwise. */
ax_status ax_grad_forward(ax_grad *g, int training, uint64_t seed, ax_error *err);

/* The layer whose output is the logits: the one before a final softmax,
 * else the last layer. */
int ax_grad_logit_layer(const ax_net *net);

/* Backward from layer `top`, whose d_out the caller has filled: writes d_out
 * of every layer below it that anything needs, d_weight/d_bias of layers not
 * frozen, and d_input when want_input. Layers below the lowest trainable one
 * (and below 0 without want_input) get no work at all. The forward pass must
 * have computed layers 0..top. */
ax_status ax_grad_backward(ax_grad *g, int top, int want_input, ax_error *err);

/* Seeds for the two objectives of `alexscope grad`: d logit[class] (one class
 * per image; NULL: each image's top class, written back into classes_out when
 * not NULL), and the l2 loss sum(y^2)/2 of the last layer. Both fill d_out of
 * the layer they start from and return its index (-1 on a bad class, with err). */
int ax_grad_seed_logit(ax_grad *g, const int *classes, int *classes_out, ax_error *err);
int ax_grad_seed_l2(ax_grad *g, double *loss);

#endif
