/* Weight files: opening one by its content, its entries, and the registry of
 * the formats understood (ax_wformat_at lists them: safetensors, NumPy .npy
 * and .npz, PyTorch .pth, Keras .h5, Caffe .caffemodel, Darknet .weights).
 * Readers only index and convert; they never decide what a net needs (that
 * is ax_net_load_weights). */
#ifndef ALEXSCOPE_WEIGHTS_H
#define ALEXSCOPE_WEIGHTS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "alexscope/status.h"

typedef enum { AX_DT_F32, AX_DT_F16, AX_DT_BF16, AX_DT_F64 } ax_dtype;

#define AX_WMAX_DIMS 8

typedef struct {
    char name[128];
    ax_dtype dtype;
    int ndim;
    int64_t shape[AX_WMAX_DIMS];
    const void *data;     /* little-endian, row-major, within the file's memory */
    size_t nbytes;
} ax_wentry;

typedef struct ax_wfile {
    char path[1024];
    const char *format;   /* "safetensors", "npy", "npz", "torch-zip", "torch-legacy",
                             "caffemodel", "darknet", "keras-h5" */
    int count;
    ax_wentry *entries;
    void *map; size_t map_size;   /* mmap of the file, when mapped (safetensors, npy) */
    int map_fd;                   /* the file the mapping was made from, still open, when
                                     map_fd_open: ax_wfile_read copies from it */
    int map_fd_open;
    void *owned;                  /* void *[owned_count]: malloc'd buffers the reader owns
                                     (npz members, bytes decoded from pickles) */
    size_t owned_count;
    char *facts;                  /* header facts for `inspect`, one per line (may be NULL):
                                     container kind, version, globals seen, layer list */
    size_t facts_len;
    void *index;                  /* entries.c's hash of entry names (private) */
} ax_wfile;

/* Opens by content (magic bytes), not by name: the first format of the
 * registry whose sniff accepts the bytes reads them. */
ax_status ax_wfile_open(ax_wfile **out, const char *path, ax_error *err);
/* The file ax_wfile_open reads for what a user typed: a TensorFlow
 * checkpoint's prefix, PREFIX.data-K-of-N shard or a directory with a
 * `checkpoint` file becomes PREFIX.index (in buf, n bytes); any other path
 * is returned as typed. */
const char *ax_wfile_resolve(const char *path, char *buf, size_t n);
/* Frees everything f owns and f itself (NULL is fine). */
void ax_wfile_close(ax_wfile *f);
const ax_wentry *ax_wfile_find(const ax_wfile *f, const char *name);
size_t ax_wentry_numel(const ax_wentry *e);   /* 1 for a 0-d entry */
const char *ax_dtype_name(ax_dtype d);
size_t ax_dtype_size(ax_dtype d);

struct ax_net;
/* Gives the entries of f the net's tensor names where the format has none of
 * its own that match (Darknet's flat stream is sliced by the spec's layers,
 * Keras layers are mapped by order): the bind of f's registry row. A no-op
 * for formats whose names already match. What it did is appended to notes
 * (one clause per mapping). */
ax_status ax_wfile_bind(ax_wfile *f, const struct ax_net *net, char *notes, size_t notes_size,
                        ax_error *err);

/* One format the readers understand: a row of the registry (formats.c). */
typedef struct {
    const char *name;    /* what f->format reports, or the family of what it
                            reports: "torch" for "torch-zip" and "torch-legacy" */
    const char *what;    /* for people: which files ("PyTorch torch.save .pth/.pt") */
    const char *magic;   /* how the bytes are recognised, in words */
    int (*sniff)(const uint8_t *buf, size_t size);   /* 1 when buf looks like this format */
    /* reads the file in memory (buf, size; `file` names it in messages) */
    ax_status (*parse)(ax_wfile *f, const void *buf, size_t size, const char *file, ax_error *err);
    /* names the entries for a net (ax_wfile_bind); NULL when they already match */
    ax_status (*bind)(ax_wfile *f, const struct ax_net *net, char *notes, size_t notes_size, ax_error *err);
    /* prints the net the file at path describes as a .net spec (inspect
     * --spec); NULL when the format holds weights only */
    ax_status (*spec_text)(const char *path, FILE *out, ax_error *err);
} ax_wformat;

/* The registry in dispatch order: rows 0 .. ax_wformat_count() - 1, NULL
 * beyond. The format with no magic comes last. */
int ax_wformat_count(void);
const ax_wformat *ax_wformat_at(int i);
/* The row of a format as f->format reports it ("torch-zip" finds "torch"),
 * or NULL. */
const ax_wformat *ax_wformat_find(const char *format);
/* The row ax_wfile_open would use for these bytes, or NULL. */
const ax_wformat *ax_wformat_sniff(const void *buf, size_t size);
/* Writes "understood: NAME (MAGIC), ..." for every row, in dispatch order,
 * into buf (always terminated when size > 0); returns the length the whole
 * text has, as snprintf does. */
size_t ax_wformat_understood(char *buf, size_t size);

/* Tells the kernel that bytes [p, p + n) of f's file mapping will not be read
 * again, so their pages leave memory (they are read back from the file if
 * they are). Does nothing for bytes outside the mapping. */
void ax_wfile_release(const ax_wfile *f, const void *p, size_t n);

/* Copies n bytes of f's file at p (a pointer into its mapping) into dst:
 * with pread while the file is open, so the page cache is copied as `cat`
 * copies it and the mapping's pages are never faulted in (one fault per few
 * pages of a 244 MB file costs more than the copy, in a virtual machine
 * several times more); bytes outside the mapping, or a read that fails, are
 * memcpy'd. Returns 1 when it read the file, 0 when it copied memory. */
int ax_wfile_read(const ax_wfile *f, const void *p, size_t n, void *dst);
/* The same for consecutive file bytes at p split over cnt buffers. */
struct iovec;
int ax_wfile_readv(const ax_wfile *f, const void *p, const struct iovec *iov, int cnt);
/* Whether bytes [p, p + n) can be read by ax_wfile_read from the file. */
int ax_wfile_readable(const ax_wfile *f, const void *p, size_t n);

/* Converts n elements of e to float32. */
void ax_wentry_to_f32(const ax_wentry *e, float *dst);

/* Writers (activations, converted weights). shape has ndim entries. */
ax_status ax_npy_write(const char *path, const float *data, int ndim, const int64_t *shape, ax_error *err);

typedef struct { const char *name; const float *data; int ndim; int64_t shape[AX_WMAX_DIMS]; } ax_wout;
ax_status ax_safetensors_write(const char *path, const ax_wout *tensors, int count, ax_error *err);
/* The same with a "__metadata__" object of string pairs: meta[2i] is a key,
 * meta[2i+1] its value, nmeta pairs (the reader shows them as facts). */
ax_status ax_safetensors_write_meta(const char *path, const ax_wout *tensors, int count,
                                    const char *const *meta, int nmeta, ax_error *err);

/* The net as an ONNX model (src/weights/onnx_write.c): opset 13, IR 7, a
 * graph that runs every layer from an input named "input" (N, C, H, W), N
 * dynamic, with the weights as initializers; each layer's output tensor is
 * named after the layer. meta pairs (as above) become metadata_props. A
 * layer ONNX cannot express is an AX_ERR_UNSUPPORTED naming it, and nothing
 * is written; the file goes through ax_file_create/ax_file_commit. */
ax_status ax_onnx_write(const char *path, const struct ax_net *net, const char *const *meta, int nmeta,
                        ax_error *err);
/* The same refusals without writing (before a long load); path is for messages. */
ax_status ax_onnx_write_check(const char *path, const struct ax_net *net, ax_error *err);

float ax_half_to_float(uint16_t h);
float ax_bf16_to_float(uint16_t h);

#endif
