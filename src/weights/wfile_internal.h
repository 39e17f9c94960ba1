/* Internals shared by the weight-file readers (wfile.c, safetensors.c, npy.c,
 * npz.c, pickle.c): the entry list, buffer ownership and the pickle VM.
 * Not part of the public API; nothing here executes pickled code. */
#ifndef ALEXSCOPE_WFILE_INTERNAL_H
#define ALEXSCOPE_WFILE_INTERNAL_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include "alexscope/tensor.h"   /* ax_shape_str */
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

/* Keras HDF5 weights (keras_h5.c) from a file in memory (f->map): layers'
 * kernels and biases as entries named by their HDF5 paths; ax_keras_bind maps
 * them to the spec. Without HDF5 in the build, an AX_ERR_UNSUPPORTED saying
 * so. Contiguous, unfiltered little-endian float datasets are used in place
 * from f->map (when buf is f->map); when none is, f->map is replaced by the
 * memory the data was read into. */
ax_status ax_keras_parse(ax_wfile *f, const void *buf, size_t size, const char *name, ax_error *err);
/* The same in this process, which a crash inside libhdf5 takes down:
 * ax_keras_parse runs it in a child process (the fuzz harness calls it
 * directly). Not built without HDF5. */
ax_status ax_keras_parse_here(ax_wfile *f, const void *buf, size_t size, const char *name, ax_error *err);

/* f takes the malloc'd buffer and frees it in ax_wfile_close; when even that
 * bookkeeping fails, buf is freed at once and AX_ERR_NOMEM returned. */
ax_status ax_wfile_own(ax_wfile *f, void *buf, ax_error *err);

/* Forgets entries from index `count` on (a parser undoing a failed run). */
void ax_wfile_truncate(ax_wfile *f, int count);

/* Closes a file a writer filled; ok says whether every write succeeded. A
 * failed write or close is an AX_ERR_IO naming path and errno's reason. */
ax_status ax_wfile_close_written(FILE *fp, int ok, const char *path, ax_error *err);


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

/* torch.save object pickles (pickle.c). The container hands out storages:
 * storage() is called for each persistent id as the pickle runs, with the
 * storage's key, element size and count; when walk is set it must point
 * *data at numel * elsize bytes that outlive f (or fail), otherwise *data may
 * stay NULL. With walk set, every float tensor reachable through dicts and
 * lists becomes an entry named by its path; a state dict nested under
 * 'state_dict' or 'model' is read alone, and a 'module.' prefix on every name
 * is stripped (both said in f->facts). *end (may be NULL) gets the offset
 * just past the STOP. Only the globals of tensor pickles are recognised. */
typedef struct {
    ax_status (*storage)(void *user, const char *key, size_t elsize, uint64_t numel, const uint8_t **data,
                         ax_error *err);
    void *user;
    int walk;
} ax_torch_src;
ax_status ax_pickle_torch_load(ax_wfile *f, const uint8_t *buf, size_t size, size_t base, const char *file,
                               const ax_torch_src *src, size_t *end, ax_error *err);

/* The small pickles of a legacy torch.save file: an int (the protocol
 * version), the system-info dict (little_endian, protocol_version), or the
 * list of storage keys (key() called for each, in order). */
typedef enum { AX_TORCH_META_INT, AX_TORCH_META_SYSINFO, AX_TORCH_META_KEYS } ax_torch_meta_kind;
typedef struct {
    ax_torch_meta_kind kind;
    int64_t value;        /* INT; SYSINFO: protocol_version or -1 */
    int little_endian;    /* SYSINFO: 1, 0, or -1 when absent */
    ax_status (*key)(void *user, const char *key, size_t n, ax_error *err);
    void *user;
} ax_torch_meta;
ax_status ax_pickle_torch_meta(ax_wfile *f, const uint8_t *buf, size_t size, size_t base, const char *file,
                               ax_torch_meta *meta, size_t *end, ax_error *err);

/* The fact (and the binding's note) when a 'module.' prefix was stripped. */
#define AX_TORCH_MODULE_FACT "stripped the 'module.' prefix (nn.DataParallel) from every tensor name"

/* PyTorch torch.save files (torch.c): 1 for the zip container (a member
 * ending in data.pkl), 2 for the legacy one (its magic number), else 0. */
int ax_torch_sniff(const uint8_t *buf, size_t size);
/* Reads either container from memory; stored storages are used in place, so
 * buf must outlive f. Sets f->format to "torch-zip" or "torch-legacy". */
ax_status ax_torch_parse(ax_wfile *f, const uint8_t *buf, size_t size, const char *file, ax_error *err);
/* Names already match; says in notes when a 'module.' prefix was stripped. */
ax_status ax_torch_bind(ax_wfile *f, const struct ax_net *net, char *notes, size_t notes_size, ax_error *err);

/* Darknet .weights (darknet.c): 1 when the header is plausible and the rest
 * a whole number of floats (there is no magic; the dispatch asks last). */
int ax_darknet_sniff(const uint8_t *buf, size_t size);
/* Keeps the header facts and the float stream as one entry, "darknet.stream";
 * ax_darknet_bind slices it by a net's layers. */
ax_status ax_darknet_parse(ax_wfile *f, const uint8_t *buf, size_t size, const char *file, ax_error *err);

#endif
