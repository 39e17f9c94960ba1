/* Named float32 tensors. A tensor borrows its data: the net owns one block of
 * weights and one of activations and hands out views into them. */
#ifndef ALEXSCOPE_TENSOR_H
#define ALEXSCOPE_TENSOR_H

#include <stddef.h>
#include <stdint.h>

#define AX_NAME_MAX 64

typedef struct {
    char name[AX_NAME_MAX];
    int ndim;           /* 1..4; activations are (N, C, H, W) or (N, F) */
    int shape[4];
    float *data;        /* borrowed, row-major */
} ax_tensor;

size_t ax_tensor_numel(const ax_tensor *t);

/* Sets name, ndim and shape (unused dims = 1); data is left as it is. */
void ax_tensor_set(ax_tensor *t, const char *name, int ndim, int d0, int d1, int d2, int d3);

/* The one shape formatter: writes "(1, 96, 55, 55)" into buf (truncated to
 * size) and returns buf. ax_tensor_shape_str is the same for a tensor. */
char *ax_shape_str(char *buf, size_t size, int ndim, const int64_t *shape);
char *ax_tensor_shape_str(const ax_tensor *t, char *buf, size_t size);

/* Views an activation as NCHW even when it is (N, F): F channels of 1x1. */
void ax_tensor_nchw(const ax_tensor *t, int *n, int *c, int *h, int *w);

#endif
