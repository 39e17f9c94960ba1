/* The ONNX reader's two halves and what they share: onnx.c reads the
 * ModelProto (protobuf-c, onnx.proto from libonnx-dev) and its tensors;
 * onnx_net.c turns the graph into a .net spec and the jobs that give its
 * layers their weights. Neither runs a layer; nothing here trusts the file. */
#ifndef ALEXSCOPE_ONNX_H
#define ALEXSCOPE_ONNX_H

#include <stddef.h>
#include <stdint.h>

#include "alexscope/status.h"
#include "alexscope/tensor.h"
#include "weights/onnx.pb-c.h"

/* Limits that keep a hostile file cheap to refuse: every node, however
 * nested, counts; messages nest no deeper than this. */
#define AX_ONNX_MAX_NODES 4096
#define AX_ONNX_MAX_DEPTH 24
#define AX_ONNX_MAX_NUMEL ((int64_t)1 << 34)

/* ONNX TensorProto.DataType values read here. */
enum { AX_ONNX_FLOAT = 1, AX_ONNX_INT32 = 6, AX_ONNX_INT64 = 7, AX_ONNX_FLOAT16 = 10, AX_ONNX_DOUBLE = 11 };

/* One tensor's values, converted: floats or int64s. `owned` is what the
 * caller frees (NULL when data points into the unpacked model). */
typedef struct {
    int64_t numel;
    const float *f;
    const int64_t *i;
    void *owned;
} ax_onnx_values;

/* Reads t (float32/16/64 as float, int32/64 as int64, by want) from raw_data,
 * the typed fields, or external data beside `file`; every length, offset and
 * shape product is checked. An error names file and tensor. */
ax_status ax_onnx_values_of(const Onnx__TensorProto *t, int want_int, const char *file, ax_onnx_values *v,
                            ax_error *err);
/* The element count of t's dims; -1 when a dim is negative or the product
 * passes AX_ONNX_MAX_NUMEL. */
int64_t ax_onnx_numel(const Onnx__TensorProto *t);
/* t's name for messages, "(unnamed)" when it has none. */
const char *ax_onnx_tname(const Onnx__TensorProto *t);

/* One weight the net needs: the entry's name ("<layer>.weight"), the source
 * tensor and how its values become the layer's layout. */
typedef struct {
    char entry[AX_NAME_MAX + 8];
    const Onnx__TensorProto *src;
    int ndim;
    int64_t shape[4];        /* the entry's shape */
    int transpose;           /* a 2-D (in, out) source is turned round */
    float scale;             /* Gemm's alpha or beta */
    int broadcast;           /* a one-element source repeated shape[0] times */
} ax_onnx_job;

/* What the graph became. */
typedef struct {
    char *text;              /* the .net spec (malloc'd), NULL when refused */
    size_t len;
    ax_onnx_job *jobs;       /* malloc'd */
    int njobs;
    char why[600];           /* the refusal, one line naming node and operator */
    int64_t opset, ir;
    int nodes, layers;
    char input[AX_NAME_MAX], output[AX_NAME_MAX];
    Onnx__TensorProto **synth;   /* tensors made from Constant's value_* attributes */
    char preprocess[16];     /* the preprocessing its spec gives: zoo, caffe, torchvision or none */
    int nsynth;
} ax_onnx_net;

/* Converts m's graph (from `file`, for messages and external data). A graph
 * alexscope cannot run is no error: out->text stays NULL and out->why says
 * why. Errors are I/O, memory, or a file that lies. */
ax_status ax_onnx_to_net(const Onnx__ModelProto *m, const char *file, ax_onnx_net *out, ax_error *err);
void ax_onnx_net_free(ax_onnx_net *n);

/* Checks the wire bytes before protobuf-c unpacks them: message nesting
 * (depth) and the node count, so a deep or huge graph is refused at once. */
ax_status ax_onnx_precheck(const uint8_t *buf, size_t size, const char *file, ax_error *err);

#endif
