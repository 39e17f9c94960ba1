/* Teaching aids: explain one value of a layer's output (the arithmetic that
 * made it, recomputed in double), receptive fields, the model summary, and
 * what-if runs (an LRN layer bypassed, one tower of a grouped layer zeroed).
 * Plain host buffers only; nothing here draws. */
#ifndef ALEXSCOPE_TEACH_H
#define ALEXSCOPE_TEACH_H

#include <stddef.h>
#include "alexscope/net.h"

/* ---- explain ------------------------------------------------------------- */

#define AX_EXPLAIN_LINES 40
#define AX_EXPLAIN_TOP 8

typedef struct {
    int layer, n, c, y, x;      /* the value explained; (N, F) outputs: c = feature, y = x = 0 */
    ax_layer_type type;
    double total;               /* recomputed in double from the layer's input */
    double engine;              /* what the net holds */
    double scale;               /* sum of |terms| (and |bias|): float rounding grows with it, not
                                 * with the total, so a cancelling sum is judged against it */
    /* The part of the layer's input it reads (input coordinates; rows and
     * columns may reach into the padding: y0 < 0 or y1 >= in_h). */
    int c0, c1, y0, y1, x0, x1; /* inclusive */
    int nlines;
    char lines[AX_EXPLAIN_LINES][120];
} ax_explain;

/* Explains output (n, c, y, x) of layer `layer` (computed, as are its input's
 * layers). Errors: out-of-range coordinates, an output not computed yet. */
ax_status ax_explain_value(ax_explain *ex, const ax_net *net, int layer, int n, int c, int y, int x,
                           ax_error *err);

/* ---- receptive fields ---------------------------------------------------- */

typedef struct {
    int size_h, size_w;         /* input pixels one output cell sees (before clipping) */
    int jump_h, jump_w;         /* input pixels between neighbouring output cells */
    int first_h, first_w;       /* input row/column of output cell 0's window (may be < 0) */
    int global;                 /* 1 after a flatten or FC: the whole input */
} ax_rfield;

/* Receptive field of every layer's output, in the net's input pixels. */
void ax_receptive_fields(const ax_layer *layers, int nlayers, int in_h, int in_w, ax_rfield *rf);

/* The input box (inclusive, clipped to the input) output cell (y, x) sees. */
void ax_rfield_box(const ax_rfield *rf, int y, int x, int in_h, int in_w, int *y0, int *x0, int *y1, int *x1);

/* ---- summary ------------------------------------------------------------- */

typedef struct {
    char name[AX_NAME_MAX];
    ax_layer_type type;
    int ndim, shape[4];         /* output, batch 1: (1, C, H, W) or (1, F) */
    size_t params;
    double flops;               /* multiply-adds x 2, one image */
    ax_rfield rf;
    size_t act_bytes;           /* float32 output, one image */
    int groups;                 /* conv: groups; 1 otherwise */
    size_t params_ungrouped;    /* conv with groups > 1: the same layer with groups = 1 */
    double flops_ungrouped;
    char detail[64];            /* "k11 s4 p0", "n=5 a=1e-04 b=0.75 k=1 caffe", ... */
} ax_summary_row;

typedef struct {
    char model[AX_NAME_MAX];
    int in_c, in_h, in_w;
    int nrows;
    ax_summary_row rows[AX_MAX_LAYERS];
    size_t params, act_bytes;
    double flops;
} ax_summary;

/* From the spec alone: no weights, no image. */
ax_status ax_summary_build(ax_summary *s, const ax_spec *spec, ax_error *err);

/* Writes the table (and totals) to buf; returns the length it needed. */
size_t ax_summary_table(const ax_summary *s, char *buf, size_t size);
/* The same table within width columns: numbers abbreviated (210.8M), then
 * the columns dropped in the order detail, RF/jump, type, act.mem, whose
 * names go to left_out ("detail, RF/jump"; empty when all fit). width <= 0
 * or a table that fits: ax_summary_table. */
size_t ax_summary_table_fit(const ax_summary *s, char *buf, size_t size, int width, char *left_out, size_t lsize);
/* Writes the ASCII diagram: one box per weighted or pooling step, the two
 * towers of a grouped layer side by side. */
size_t ax_summary_diagram(const ax_summary *s, char *buf, size_t size);
size_t ax_summary_json(const ax_summary *s, char *buf, size_t size);

/* ---- what-if ------------------------------------------------------------- */

typedef enum {
    AX_WHATIF_NONE = 0,
    AX_WHATIF_LRN_OFF,          /* LRN layer: output = input */
    AX_WHATIF_TOWER0_OFF,       /* grouped conv: group 0's output channels zeroed */
    AX_WHATIF_TOWER1_OFF        /* grouped conv: group 1's output channels zeroed */
} ax_whatif;

/* Sets what layer i does differently (NONE undoes it); outputs from i on are
 * forgotten and recomputed by the next run, the ones before stay. Errors: a
 * mode that does not fit the layer (LRN_OFF on a non-LRN layer, a tower on a
 * conv without 2 groups). */
ax_status ax_whatif_set(ax_net *net, int i, ax_whatif mode, ax_error *err);
ax_whatif ax_whatif_get(const ax_net *net, int i);
/* The first layer with a what-if set, or -1. */
int ax_whatif_first(const ax_net *net);
const char *ax_whatif_name(ax_whatif mode);

#endif
