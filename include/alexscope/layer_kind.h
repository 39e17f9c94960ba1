/* The layer-kind table: one row per ax_layer_type holding what the engine's
 * parts need of a kind that is no backend's business: its name, shapes,
 * parameters and FLOPs, receptive-field step, the summary's detail, the
 * reference forward the diagnosis runs and the backward. Backends keep their
 * own kernels and dispatch (and say in supports() what they cover); nothing
 * here knows of threads, devices or curses. How to add a kind:
 * src/model/LAYERS.md. */
#ifndef ALEXSCOPE_LAYER_KIND_H
#define ALEXSCOPE_LAYER_KIND_H

#include <stddef.h>
#include <stdint.h>

#include "alexscope/net.h"

/* A layer's input or output as resolution sees it, one image: (C, H, W),
 * spatial when H and W are real (0: a flat vector of C values). */
typedef struct { int c, h, w, spatial; } ax_kind_dims;

/* One step of the receptive-field walk (ax_receptive_fields): a window of
 * k cells with stride s and leading padding p on each axis, or global (each
 * output cell sees the whole input). k = s = 1, p = 0 changes nothing. */
typedef struct {
    int global;
    int kh, kw, sh, sw, ph, pw;
} ax_rf_step;

/* One layer's forward as plain values, for running a layer outside a net:
 * the diagnosis runs variants of a layer (other weights, padding or LRN
 * constants) through the kind's reference forward. */
typedef struct {
    ax_layer_type type;
    int n, c, h, w;                 /* input (N, C, H, W) */
    ax_window win;                  /* conv, maxpool */
    const float *wt, *bias;         /* conv, fc; bias may be NULL */
    int out_f;                      /* fc */
    float lrn_scale, lrn_beta, lrn_k; /* lrn: lrn_scale is the factor on the raw sum */
    int lrn_size;
    ax_flatten_order order;         /* flatten */
    int pad_t, pad_l, pad_b, pad_r; /* pad */
    int out_h, out_w;               /* avgpool */
} ax_layer_op;

/* One layer's backward, as ax_grad_backward hands it over. */
typedef struct {
    const ax_layer *L;
    int n, c, h, w;                 /* input (N, C, H, W) */
    size_t count;                   /* input elements */
    const float *x, *y, *dy;        /* input, output, gradient of the output */
    float *dx;                      /* gradient of the input; NULL: nothing below needs it */
    float *dw, *db;                 /* NULL unless the layer's weights train */
    float *scratch;                 /* backward_scratch floats */
    int slots, lrn_slots;           /* parts the CPU pool splits work into (ax_grad) */
    int training;                   /* dropout: apply the mask of `seed` */
    uint64_t seed;
} ax_backward_args;

typedef struct ax_layer_kind {
    const char *name;               /* the spec keyword; messages name the kind by it */
    int has_weights;                /* a weight tensor (and a bias unless bias=0) */
    int elementwise;                /* keeps its input's shape (relu, lrn, dropout): the
                                     * summary diagram draws it in the box before it */
    const char *ops_name;           /* what the layer's `flops` are called ("FLOPs", "ops") */
    const char *ops_what;           /* and what they count, one image */
    /* Output dims from input dims; fills L's weight and bias shapes, its
     * window and padding (win, pad_b, pad_r) and flops. 0 with `why` on an
     * input it cannot take. L->spec and L->in_c/h/w are set. */
    int (*resolve)(ax_layer *L, int batch, const ax_kind_dims *in, ax_kind_dims *out, char *why, size_t size);
    void (*rf_step)(const ax_layer *L, ax_rf_step *st);
    /* The summary row's detail column ("96 k11 s4 p0", "p=0.5"; "" for none). */
    void (*detail)(char *buf, size_t size, const ax_layer *L);
    /* What the layer computes and how its output size comes about, in the
     * layer's own numbers, for teaching: `what` ("y = max(0, x), element by
     * element"), `size` ("(227 - 11) / 4 + 1 = 55 rows and columns"). */
    void (*arith)(char *what, char *size, size_t n, const ax_layer *L);
    /* The reference forward on plain buffers (the CPU kernels): the output's
     * dims (d[4], returns how many are used), the floats of scratch it needs
     * (NULL: none) and the run itself. */
    int (*op_dims)(const ax_layer_op *op, int *d);
    size_t (*forward_scratch)(const ax_layer_op *op);
    void (*forward)(float *out, const float *in, const ax_layer_op *op, float *scratch);
    /* The backward (CPU kernels, src/backends/cpu/ *_bwd.c) and its scratch
     * in floats (NULL: none). */
    size_t (*backward_scratch)(const ax_layer *L, int slots, int lrn_slots);
    void (*backward)(const ax_backward_args *a);
} ax_layer_kind;

extern const ax_layer_kind ax_layer_kinds[AX_L_COUNT];

/* The row of type t; NULL when t is no layer type. */
const ax_layer_kind *ax_layer_kind_of(ax_layer_type t);

/* Resolves one layer (L->spec set) from the dims of its input, which become
 * those of its output: L's input and output shapes, weight and bias shapes,
 * window, FLOPs and parameter count. A misfit is AX_ERR_SPEC naming
 * file:line and the layer. */
ax_status ax_layer_resolve(ax_layer *L, int batch, ax_kind_dims *dims, const char *file, ax_error *err);

/* The plain-values forward of a resolved layer reading `in` (its input). */
void ax_layer_op_of(ax_layer_op *op, const ax_layer *L, const ax_tensor *in);

#endif
