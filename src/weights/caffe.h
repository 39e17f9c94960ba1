/* What only the Caffe reader knows beyond its registry row: comparing the
 * layer parameters a .caffemodel records with a net spec (its bind uses it;
 * the tests and the fuzz harness call it directly). Internal to the engine. */
#ifndef ALEXSCOPE_CAFFE_H
#define ALEXSCOPE_CAFFE_H

#include <stddef.h>
#include "alexscope/weights.h"

struct ax_net;

/* Compares the layer parameters f recorded (group, pad, stride, kernel,
 * outputs, LRN size/alpha/beta/k, pooling kernel/stride/pad/rounding, the
 * order of those layers) with the net's spec. AX_OK when they agree;
 * AX_ERR_SPEC with every mismatch named in msg otherwise; AX_ERR_ARG when f
 * is not a caffemodel. */
ax_status ax_caffe_check_spec(const ax_wfile *f, const struct ax_net *net, char *msg, size_t size);

#endif
