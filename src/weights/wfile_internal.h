/* Internals of the weight readers, not part of the public API. Three parts,
 * in the one direction calls go: the base every reader calls (entries.c);
 * each format's entry points, which the registry's rows name (formats.c
 * calls them; no reader calls the registry); what readers share (the pickle
 * VM). Nothing here executes pickled code. */
#ifndef ALEXSCOPE_WFILE_INTERNAL_H
#define ALEXSCOPE_WFILE_INTERNAL_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include "alexscope/tensor.h"   /* ax_shape_str */
#include "alexscope/weights.h"

struct ax_net;

/* ---- the base (entries.c) ------------------------------------------------ */

/* Appends a copy of *e to f; a name already present is an AX_ERR_FORMAT
 * naming `file` and the tensor. */
ax_status ax_wfile_push(ax_wfile *f, const ax_wentry *e, const char *file, ax_error *err);

/* Appends one printf-style line to f->facts (for `inspect`). */
void ax_wfile_fact(ax_wfile *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* f takes the malloc'd buffer and frees it in ax_wfile_close; when even that
 * bookkeeping fails, buf is freed at once and AX_ERR_NOMEM returned. */
ax_status ax_wfile_own(ax_wfile *f, void *buf, ax_error *err);

/* Forgets entries from index `count` on (a parser undoing a failed run). */
void ax_wfile_truncate(ax_wfile *f, int count);

/* Closes the file f's mapping was made from (a reader replacing or dropping
 * the mapping: ax_wfile_read then copies from memory). */
void ax_wfile_forget_fd(ax_wfile *f);

/* Unmaps f's file mapping when no entry points into it (a reader that
 * copied everything out of the file, as an .npz of deflated members). */
void ax_wfile_unmap_unused(ax_wfile *f);

/* Calls fn on bytes [p, p + n) of f's file in pieces of a few MB, each read
 * with ax_wfile_read into a buffer of its own where it can be (the mapping's
 * pages are never faulted in), else straight from memory, handing each
 * piece's pages back (ax_wfile_release) once fn is done with it. Stops at
 * the first piece fn returns nonzero for, and returns that value; else 0. */
int ax_wfile_each_piece(const ax_wfile *f, const void *p, size_t n, int (*fn)(void *ctx, const void *bytes, size_t n),
                        void *ctx);

/* The zip CRC-32 of n bytes at p inside f's mapping, summed in parts side by
 * side (ax_wfile_each_piece). */
uint32_t ax_wfile_crc32(const ax_wfile *f, const void *p, size_t n);

/* Closes a file a writer filled; ok says whether every write succeeded. A
 * failed write or close is an AX_ERR_IO naming path and errno's reason. */
ax_status ax_wfile_close_written(FILE *fp, int ok, const char *path, ax_error *err);

/* ---- the formats' entry points, one block per reader file -----------------
 * The fields of a registry row (ax_wformat in alexscope/weights.h). A sniff
 * looks at the first bytes only (the parse checks the rest). A parse reads a
 * file in memory (`name`/`file` is for messages), appends entries to f (from
 * calloc, released with ax_wfile_close) and takes no ownership of buf;
 * entries may point into buf, which must then outlive f. On failure f keeps
 * the entries it had before the call. A bind is ax_wfile_bind's step. */

/* safetensors (safetensors.c): an 8-byte little-endian header length, then
 * the JSON header's '{'. */
int ax_safetensors_sniff(const uint8_t *buf, size_t size);
ax_status ax_safetensors_parse(ax_wfile *f, const void *buf, size_t size, const char *name, ax_error *err);

/* NumPy .npy (npy.c): starts \x93NUMPY. A plain array becomes one entry
 * named by the base name of `name` without its extension; a pickled dict
 * (bvlc_alexnet.npy) one entry per array. */
int ax_npy_sniff(const uint8_t *buf, size_t size);
ax_status ax_npy_parse(ax_wfile *f, const void *buf, size_t size, const char *name, ax_error *err);

/* NumPy .npz (npz.c): a zip (PK\x03\x04, or PK\x05\x06 when empty) of
 * .npy members. Stored members are used in place; deflated ones are
 * inflated into buffers f owns, and when buf is f's mapping and no entry
 * points into it, the mapping is dropped. */
int ax_npz_sniff(const uint8_t *buf, size_t size);
ax_status ax_npz_parse(ax_wfile *f, const void *buf, size_t size, const char *name, ax_error *err);

/* PyTorch torch.save files (torch.c): the sniff is 1 for the zip container
 * (a member ending in data.pkl), 2 for the legacy one (its magic number),
 * else 0. The parse reads either; stored storages are used in place. Sets
 * f->format to "torch-zip" or "torch-legacy". Names already match: the bind
 * only says in notes when a 'module.' prefix was stripped. */
int ax_torch_sniff(const uint8_t *buf, size_t size);
ax_status ax_torch_parse(ax_wfile *f, const void *buf, size_t size, const char *file, ax_error *err);
ax_status ax_torch_bind(ax_wfile *f, const struct ax_net *net, char *notes, size_t notes_size, ax_error *err);

/* Keras HDF5 weights (keras_h5.c): starts with the HDF5 signature
 * \x89HDF\r\n\x1a\n. Layers' kernels and biases become entries named by
 * their HDF5 paths; the bind maps them to the spec. Without HDF5 in the
 * build, parse and bind are an AX_ERR_UNSUPPORTED saying so. Contiguous,
 * unfiltered little-endian float datasets are used in place from f->map
 * (when buf is f->map); when none is, f->map is replaced by the memory the
 * data was read into. */
int ax_keras_sniff(const uint8_t *buf, size_t size);
ax_status ax_keras_parse(ax_wfile *f, const void *buf, size_t size, const char *name, ax_error *err);
ax_status ax_keras_bind(ax_wfile *f, const struct ax_net *net, char *notes, size_t notes_size,
                        ax_error *err);
/* The parse in this process, which a crash inside libhdf5 takes down:
 * ax_keras_parse runs it in a child process (the fuzz harness calls it
 * directly). Not built without HDF5. */
ax_status ax_keras_parse_here(ax_wfile *f, const void *buf, size_t size, const char *name, ax_error *err);
/* The plain-layout path alone (h5_plain.h): AX_OK with the same entries and
 * facts libhdf5 would give, entries pointing into buf; else
 * AX_ERR_UNSUPPORTED with f as it was (outside the plain layout, or wrong in
 * any way: libhdf5 then reads it and says what is wrong). */
ax_status ax_keras_parse_plain(ax_wfile *f, const void *buf, size_t size, const char *name, ax_error *err);

/* TensorFlow checkpoints, tensor bundle V2 (tfckpt.c): the .index is a
 * LevelDB-format table (the sniff: its footer magic in the last 8 bytes).
 * The parse reads the data shards beside it (file without ".index", then
 * ".data-K-of-N") into buffers f owns, checks every block's and tensor's
 * CRC32C, and makes an entry of every float tensor under its checkpoint name;
 * optimizer slots, global_step and non-float tensors become facts only. */
int ax_tfckpt_sniff(const uint8_t *buf, size_t size);
ax_status ax_tfckpt_parse(ax_wfile *f, const void *buf, size_t size, const char *file, ax_error *err);
/* The bind renames SCOPE/weights, SCOPE/biases, SCOPE/conv2d/kernel, ... to
 * "<layer>.0"/".1" (TensorFlow layouts, which the loader converts): by layer
 * name, else conv and fc scopes by their numbered order; leading scopes
 * (v0/cg/, alexnet_v2/) are dropped. */
ax_status ax_tfckpt_bind(ax_wfile *f, const struct ax_net *net, char *notes, size_t notes_size, ax_error *err);

/* Caffe .caffemodel (caffe.c): a NetParameter protobuf whose first field is
 * name (1), V1 layers (2) or layer (100), length-delimited. Every blob
 * becomes an entry "<layer>.weight" / "<layer>.bias" in alexscope's layouts
 * (conv OIHW, FC (out, in); a transposed inner product is turned round,
 * legacy 4-d shapes lose their leading ones), further blobs
 * "<layer>.blob<i>"; every layer's type and parameters become facts (one
 * line each, "layer NAME TYPE key=value ..."), which the bind compares with
 * the net's spec (a mismatch is an error: weights/caffe.h). Packed blob
 * data is used where it lies in buf. Sets f->format. */
int ax_caffe_sniff(const uint8_t *buf, size_t size);
ax_status ax_caffe_parse(ax_wfile *f, const void *buf, size_t size, const char *name, ax_error *err);
ax_status ax_caffe_bind(ax_wfile *f, const struct ax_net *net, char *notes, size_t notes_size,
                        ax_error *err);
/* Prints the net the caffemodel at path describes as a .net spec that
 * --model accepts (weights/README.md). Where the file does not state its
 * input size, a comment says so and 227x227 is used. Layers alexscope cannot
 * run are an AX_ERR_UNSUPPORTED naming them. */
ax_status ax_caffe_spec_text(const char *path, FILE *out, ax_error *err);

/* ONNX models (onnx.c, onnx_net.c): a ModelProto whose first field is
 * ir_version (1, a varint). Where the graph runs as a net, its weights become
 * "<layer>.weight"/"<layer>.bias" entries in alexscope's layouts (layers
 * named after their nodes' output tensors); otherwise every float
 * initializer is an entry under its own name, and a fact says why the graph
 * is no net. The bind maps the entries to another net by order and shape;
 * spec_text prints the graph's .net spec (--model X.onnx reads it). */
int ax_onnx_sniff(const uint8_t *buf, size_t size);
ax_status ax_onnx_parse(ax_wfile *f, const void *buf, size_t size, const char *file, ax_error *err);
ax_status ax_onnx_bind(ax_wfile *f, const struct ax_net *net, char *notes, size_t notes_size, ax_error *err);
ax_status ax_onnx_spec_text(const char *path, FILE *out, ax_error *err);

/* Darknet .weights (darknet.c): no magic, so the dispatch asks last; the
 * sniff is 1 when the version header is one Darknet writes (0.1, 0.2, or
 * those plus 1000 for transposed weights) and something follows it; the
 * parse refuses a stream that is not whole float32 values or holds a NaN
 * or inf, saying which. The parse keeps the header facts and the float
 * stream as one entry, "darknet.stream"; the bind slices it by a net's
 * layers. */
int ax_darknet_sniff(const uint8_t *buf, size_t size);
ax_status ax_darknet_parse(ax_wfile *f, const void *buf, size_t size, const char *file, ax_error *err);
ax_status ax_darknet_bind(ax_wfile *f, const struct ax_net *net, char *notes, size_t notes_size,
                          ax_error *err);

/* ---- shared by readers ----------------------------------------------------- */

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

#endif
