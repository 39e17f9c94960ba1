/* Internals shared by the weight-file readers (wfile.c, safetensors.c, npy.c,
 * npz.c, pickle.c): the entry list, buffer ownership and the pickle VM.
 * Not part of the public API; nothing here executes pickled code. */
#ifndef ALEXSCOPE_WFILE_INTERNAL_H
#define ALEXSCOPE_WFILE_INTERNAL_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include "alexscope/weights.h"

/* Appends a copy of *e to f; a name already present is an AX_ERR_FORMAT
 * naming `file` and the tensor. */
ax_status ax_wfile_push(ax_wfile *f, const ax_wentry *e, const char *file, ax_error *err);

/* Appends one printf-style line to f->facts (for `inspect`). */
void ax_wfile_fact(ax_wfile *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Format-specific binding (see ax_wfile_bind), one per format that needs it. */
ax_status ax_darknet_bind(ax_wfile *f, const struct ax_net *net, char *notes, size_t notes_size,
                          ax_error *err);
ax_status ax_keras_bind(ax_wfile *f, const struct ax_net *net, char *notes, size_t notes_size,
                        ax_error *err);

/* Keras HDF5 weights (keras_h5.c) from a file in memory: layers' kernels and
 * biases as entries named by their HDF5 paths; ax_keras_bind maps them to
 * the spec. Without HDF5 in the build, an AX_ERR_UNSUPPORTED saying so.
 * Data is copied into buffers f owns. */
ax_status ax_keras_parse(ax_wfile *f, const void *buf, size_t size, const char *name, ax_error *err);

/* f takes the malloc'd buffer and frees it in ax_wfile_close; when even that
 * bookkeeping fails, buf is freed at once and AX_ERR_NOMEM returned. */
ax_status ax_wfile_own(ax_wfile *f, void *buf, ax_error *err);

/* Forgets entries from index `count` on (a parser undoing a failed run). */
void ax_wfile_truncate(ax_wfile *f, int count);

/* Closes a file a writer filled; ok says whether every write succeeded. A
 * failed write or close is an AX_ERR_IO naming path and errno's reason. */
ax_status ax_wfile_close_written(FILE *fp, int ok, const char *path, ax_error *err);

/* "(2, 3, 4)" into buf; returns buf. */
char *ax_wshape_str(char *buf, size_t size, int ndim, const int64_t *shape);

/* An .npy in memory. A plain array becomes one entry called `entry`; the
 * arrays of a pickled object array become "<key>.<index>" entries, prefixed
 * by "<entry>." when prefix_pickled is set (npz members). `file` is for messages. */
ax_status ax_npy_parse_as(ax_wfile *f, const void *buf, size_t size, const char *file,
                          const char *entry, int prefix_pickled, ax_error *err);

/* Runs the pickle in buf[0..size) (found at byte `base` of `file`, for
 * messages) and adds every numeric array reachable through dicts, lists,
 * tuples and object arrays as an entry named by its path ("conv1.0"), with
 * `prefix` (may be "") in front. Only the opcodes and globals numpy's array
 * pickles use are understood; anything else is an AX_ERR_FORMAT naming the
 * opcode or global and its offset. Array data points into buf or into
 * buffers f owns. */
ax_status ax_pickle_load(ax_wfile *f, const uint8_t *buf, size_t size, size_t base,
                         const char *file, const char *prefix, ax_error *err);

#endif
