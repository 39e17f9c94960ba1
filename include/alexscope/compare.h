/* Comparing two runs: reference activations written by any framework
 * (DIR/<layer>.npy) lined up with a net's layers, and the diagnosis that
 * re-runs one layer with the classic conversion bugs undone. */
#ifndef ALEXSCOPE_COMPARE_H
#define ALEXSCOPE_COMPARE_H

#include <stddef.h>
#include <stdint.h>
#include "alexscope/analysis.h"
#include "alexscope/net.h"
#include "alexscope/status.h"

/* ---- reference directories ------------------------------------------------ */

typedef struct {
    char name[AX_NAME_MAX + 64];  /* file name without ".npy" */
    int ndim;
    int64_t shape[8];
    float *data;                  /* float32, as stored (malloc'd) */
    size_t numel;
} ax_ref_entry;

/* A file of the folder that is not one array, and why. */
typedef struct {
    char name[256];               /* the file's name in the folder */
    char why[256];                /* "not a .npy file", "16 tensors in a npy file, not one array" */
} ax_ref_skip;

typedef struct {
    char dir[AX_PATH_MAX];
    int count;
    ax_ref_entry *e;              /* in natural name order ("l2" before "l10") */
    int nskipped;
    ax_ref_skip *skipped;         /* in name order (malloc'd) */
} ax_refdir;

/* Reads every DIR/<name>.npy that holds one array (float16/64 are converted).
 * At most `max_bytes` of tensors in all: beyond that it is an error. Every
 * other entry (a pickled dict of weights, README.txt, a .pth, a folder, a
 * FIFO, an unreadable .npy) is skipped and listed in r->skipped; a folder
 * with no array at all is an error that names what was skipped. */
ax_status ax_refdir_open(ax_refdir *r, const char *dir, size_t max_bytes, ax_error *err);
void ax_refdir_close(ax_refdir *r);

typedef enum { AX_REF_NONE, AX_REF_BY_MAP, AX_REF_BY_NAME, AX_REF_BY_ORDER } ax_ref_how;

/* How one reference tensor lines up with one of ours. */
typedef struct {
    int entry;          /* index into r->e; -1: nothing */
    ax_ref_how how;
    int fits;           /* the shape fits ours (possibly transposed, with or without the batch) */
    int channels_last;  /* stored (N, H, W, C) or (H, W, C): compared transposed */
    int batch_axis;     /* the file has the batch axis */
} ax_ref_match;

/* Lines up r with `count` tensors of ours (names[i], ours[i] is (N, C, H, W)
 * or (N, F)). First a map file (lines "ours=theirs", '#' comments; map_path
 * may be NULL), then equal names, then, in order, the next unused reference
 * whose shape fits. An unknown name in the map file is an error naming the
 * file and line. */
ax_status ax_refdir_match(ax_ref_match *m, const ax_refdir *r, int count, const char *const *names,
                          const ax_tensor *const *ours, const char *map_path, ax_error *err);

/* The same with the map file's text in memory (map_text may be NULL: no map;
 * it need not be NUL-terminated); map_name is used in messages. */
ax_status ax_refdir_match_text(ax_ref_match *m, const ax_refdir *r, int count, const char *const *names,
                               const ax_tensor *const *ours, const char *map_text, size_t map_size,
                               const char *map_name, ax_error *err);

/* Whether a reference shape fits ours; sets channels_last and batch_axis. */
int ax_ref_shape_fits(const int64_t *shape, int ndim, const ax_tensor *ours, int *channels_last, int *batch_axis);

/* Copies a fitting reference into dst in our layout (NCHW). */
void ax_ref_fetch(float *dst, const ax_ref_entry *e, const ax_ref_match *m, const ax_tensor *ours);

/* ---- diagnosis ------------------------------------------------------------ */

/* One layer of side A that disagrees with side B (the reference). */
typedef struct {
    const ax_net *net;        /* side A: the layer's spec, geometry and weights */
    int layer;                /* A's layer index; -1 for the input */
    const float *b_in;        /* side B's tensor that feeds this layer, in A's input shape;
                                 NULL: A's own input is used */
    const float *b_out;       /* side B's tensor for this layer */
    int b_ndim, b_shape[4];   /* its shape; may differ from A's */
    const char *a_only;       /* A's layers just before this one that B lacks ("relu8"), or NULL */
    const char *b_only;       /* B's layers just before this one that A lacks, or NULL */
    int fused_relu;           /* b_out is after the ReLU that follows this conv/fc layer on side A
                                 (frameworks that fuse the activation into the layer) */
    ax_tolerance tol;
} ax_diag_case;

typedef struct {
    char what[256];           /* "fc6: the rows are in H,W,C order" */
    char fix[256];            /* what to change */
    double before, after;     /* largest |A - B| without and with the candidate fix */
    size_t fail_before, fail_after;
    int explains;             /* the fix brings every element within tolerance */
} ax_diag_result;

/* Tries the classic conversion bugs that fit the layer's type, re-running it
 * on side B's input with each fix applied to side A's weights, parameters or
 * input. Fills up to max results (the ones that explain it first) and returns
 * how many, or -1 with err set (out of memory). */
int ax_diagnose(ax_diag_result *res, int max, const ax_diag_case *c, ax_error *err);

/* ---- two runs lined up, layer by layer ------------------------------------ */

/* One tensor of side A with side B's counterpart. */
typedef struct {
    const char *name;         /* "input" or side A's layer name */
    int layer;                /* side A's layer; -1 for the input */
    const ax_tensor *a;
    const float *b;           /* side B's, in A's layout when shape_ok; NULL: side B has none */
    int b_ndim, b_shape[4];   /* side B's shape (a flat vector when it has no sane 4-d shape) */
    int b_layer;              /* two nets: side B's layer (-1 input, -2 none) */
    int shape_ok;
    ax_ref_match ref;         /* a reference folder: how the tensor was found */
    const char *ref_name;     /* ... and its file name without .npy */
    ax_diff d;                /* when shape_ok */
    int diverges;             /* out of tolerance somewhere, or the shapes differ */
} ax_cmp_row;

typedef struct {
    const ax_net *a, *b;      /* b is NULL for a reference folder */
    ax_tolerance tol;
    int nrows;                /* side A's layers + 1, the input first */
    ax_cmp_row *rows;
    int compared;             /* rows side B has */
    int first;                /* the first divergent row, -1 when every compared row agrees */
    float **owned;            /* reference tensors transposed or copied into A's layout */
    char from[AX_NAME_MAX + 16], a_only[256], b_only[256];   /* for ax_comparison_case */
} ax_comparison;

/* Two computed nets: tensors matched by layer name ("input" with "input").
 * Differences are taken with ax_diff_tol at tol (atol per tensor). */
ax_status ax_compare_nets(ax_comparison *c, const ax_net *a, const ax_net *b, const ax_tolerance *tol,
                          ax_error *err);

/* A computed net and a reference folder, lined up by ax_refdir_match. r must
 * outlive c (rows may point into it). */
ax_status ax_compare_refdir(ax_comparison *c, const ax_net *a, const ax_refdir *r, const char *map_path,
                            const ax_tolerance *tol, ax_error *err);

void ax_comparison_free(ax_comparison *c);

/* The diagnosis case for one divergent row: side B's tensor feeding it (the
 * previous row's, or with two nets the last one before layers only side A
 * has), the layers only one side has, and, for a reference that has a ReLU's
 * output but not the conv or FC before it, that layer with its ReLU. Text it
 * points to lives in c (c->from names the input used; empty: A's own). */
void ax_comparison_case(ax_diag_case *dc, ax_comparison *c, int row);

#endif
