/* What the oneDNN convolution path (conv_dnnl.c) decided, for conv_path.c's
 * description and for tests/check_conv. Both are 0 in a build without it. */
#ifndef AX_CPU_CONV_DNNL_H
#define AX_CPU_CONV_DNNL_H

#include "alexscope/layers.h"

/* 1 when oneDNN has a Winograd kernel for this CPU (probed once). */
int ax_conv_onednn_winograd_available(void);
/* 1 when this shape's forward runs on a Winograd primitive now (at the
 * current thread count). */
int ax_conv_onednn_uses_winograd(const ax_window *g, int has_bias);

#endif
