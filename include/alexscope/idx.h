/* IDX files (the MNIST family's container: a big-endian magic naming the
 * element type and the number of dimensions, the dimensions, then the
 * elements), plain or gzip-compressed. Only unsigned bytes are read: the
 * image (N, rows, cols) and label (N) files a data set ships. */
#ifndef ALEXSCOPE_IDX_H
#define ALEXSCOPE_IDX_H

#include <stddef.h>

#include "alexscope/status.h"

/* Refused above these: no image set this reader is for comes near them. */
#define AX_IDX_MAX_COUNT 200000
#define AX_IDX_MAX_SIDE 4096
#define AX_IDX_MAX_BYTES ((size_t)1 << 30)

typedef struct {
    int ndim;               /* 1 (labels) or 3 (images) */
    int dims[3];            /* count, then rows and cols for images */
    unsigned char *data;    /* dims' product bytes, malloc'ed */
} ax_idx;

/* Decodes the bytes of a file (gzip when they start with its magic): the
 * magic must be 0x00000801 when want_ndim is 1, 0x00000803 when 3, every
 * dimension in range and the elements exactly what the dimensions say (no
 * byte short, none over). name is the file the messages name. */
ax_status ax_idx_parse(ax_idx *out, const unsigned char *bytes, size_t size, int want_ndim, const char *name,
                       ax_error *err);
/* The same on a file read whole. */
ax_status ax_idx_load(ax_idx *out, const char *path, int want_ndim, ax_error *err);
void ax_idx_free(ax_idx *x);

#endif
