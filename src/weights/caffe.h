/* Caffe .caffemodel weights (a NetParameter protobuf, read with protobuf-c):
 * detection, the reader, the comparison of the file's layer parameters with a
 * net spec, and the file's net printed as a .net spec. Internal to the engine. */
#ifndef ALEXSCOPE_CAFFE_H
#define ALEXSCOPE_CAFFE_H

#include <stddef.h>
#include <stdio.h>
#include "alexscope/weights.h"

struct ax_net;

/* 1 when buf starts like a NetParameter: its first field is name (1), V1
 * layers (2) or layer (100), length-delimited. A cheap test of the first
 * bytes; ax_caffe_parse checks the rest. */
int ax_caffe_detect(const void *buf, size_t size);

/* Reads a NetParameter from buf (`name` for messages): every blob becomes an
 * entry "<layer>.weight" / "<layer>.bias" in alexscope's layouts (conv OIHW,
 * FC (out, in); a transposed inner product is turned round, legacy 4-d
 * shapes lose their leading ones), further blobs "<layer>.blob<i>". Every
 * layer's type and parameters become facts (one line each, "layer NAME TYPE
 * key=value ..."), which ax_caffe_check_spec reads back. Packed blob data is
 * used where it lies, so entries may point into buf, which must outlive f;
 * the rest lives in buffers f owns. Sets f->format. */
ax_status ax_caffe_parse(ax_wfile *f, const void *buf, size_t size, const char *name, ax_error *err);

/* Compares the layer parameters f recorded (group, pad, stride, kernel,
 * outputs, LRN size/alpha/beta/k, pooling kernel/stride/pad/rounding, the
 * order of those layers) with the net's spec. AX_OK when they agree;
 * AX_ERR_SPEC with every mismatch named in msg otherwise; AX_ERR_ARG when f
 * is not a caffemodel. */
ax_status ax_caffe_check_spec(const ax_wfile *f, const struct ax_net *net, char *msg, size_t size);

/* ax_wfile_bind's step for caffemodels: a spec mismatch is an error. */
ax_status ax_caffe_bind(ax_wfile *f, const struct ax_net *net, char *notes, size_t notes_size,
                        ax_error *err);

/* Prints the net the caffemodel at path describes as a .net spec that
 * --model accepts (weights/README.md). Where the file does not state its
 * input size, a comment says so and 227x227 is used. Layers alexscope cannot
 * run are an AX_ERR_UNSUPPORTED naming them. */
ax_status ax_caffe_spec_text(const char *path, FILE *out, ax_error *err);

#endif
