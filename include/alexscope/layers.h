/* CPU layer kernels as free functions: outputs first, then inputs, then
 * parameters, then sizes. They never allocate; scratch is passed in. An output
 * must not overlap its input, except for ax_relu and ax_softmax (in place is fine). */
#ifndef ALEXSCOPE_LAYERS_H
#define ALEXSCOPE_LAYERS_H

#include <stddef.h>

/* Geometry of a 2-D window operation (convolution or pooling) on NCHW data. */
typedef struct {
    int n, c, h, w;            /* input  (N, C, H, W) */
    int oc, oh, ow;            /* output (N, OC, OH, OW) */
    int kh, kw, sh, sw;
    int pad_t, pad_l;          /* bottom/right padding is implied by oh, ow */
    int groups;
} ax_window;

/* Floats of scratch the convolution needs: one image's im2col for one group. */
size_t ax_conv2d_scratch(const ax_window *g);

/* out (N, OC, OH, OW) = conv(in (N, C, H, W), w (OC, C/groups, KH, KW)) + b (OC).
 * b may be NULL. im2col + one sgemm per image and group. */
void ax_conv2d(float *out, const float *in, const float *w, const float *b,
               float *scratch, const ax_window *g);
/* The two paths behind ax_conv2d (which picks by ax_conv_get_path): im2col +
 * OpenBLAS, always built; and oneDNN, which returns 0 when it ran, -1 when
 * the build has no oneDNN or the library refused the shape (the caller then
 * runs im2col). The oneDNN path keeps its primitives and buffers per shape,
 * made on the shape's first call (or ax_conv2d_prepare) and reused after. */
void ax_conv2d_im2col(float *out, const float *in, const float *w, const float *b,
                      float *scratch, const ax_window *g);
int ax_conv2d_onednn(float *out, const float *in, const float *w, const float *b, const ax_window *g,
                     int winograd_ok);
/* Makes the current path's primitives for this shape now (at net setup),
 * so the first forward pass does not; a no-op for im2col. */
void ax_conv2d_prepare(const ax_window *g, int has_bias);

void ax_relu(float *out, const float *in, size_t n);

/* Across-channel LRN: out = in / (k + scale * sum_{window} in^2)^beta, the
 * window of `size` channels centred on c (size odd; clipped at the edges).
 * scale is the factor on the raw sum: alpha/size for Caffe, alpha for TF. */
void ax_lrn(float *out, const float *in, float scale, float beta, float k,
            int size, int n, int c, int hw);

/* Max pool; padding cells never win (as in Caffe and PyTorch). */
void ax_maxpool(float *out, const float *in, const ax_window *g);

/* Adaptive average pool (PyTorch's bins: start floor(i*H/OH), end ceil((i+1)*H/OH)). */
void ax_avgpool_adaptive(float *out, const float *in, int n, int c, int h, int w, int oh, int ow);

/* Zero padding: out (N, C, H+t+b, W+l+r). */
void ax_pad(float *out, const float *in, int n, int c, int h, int w,
            int pad_t, int pad_l, int pad_b, int pad_r);

/* Flatten (N, C, H, W) into (N, C*H*W): CHW order copies, HWC order permutes. */
void ax_flatten(float *out, const float *in, int n, int c, int h, int w, int hwc);

/* out (N, OUT) = in (N, IN) x w^T (w is (OUT, IN)) + b: ax_fc_gemv at batch
 * 1, ax_fc_blas otherwise. */
void ax_fc(float *out, const float *in, const float *w, const float *b,
           int n, int in_f, int out_f);
/* The two ways: OpenBLAS (sgemv at batch 1, sgemm for a batch), split by
 * outputs over the pool; and our own GEMV for one image (w streamed once,
 * four rows per load of in; the same bits at any thread count). */
void ax_fc_blas(float *out, const float *in, const float *w, const float *b,
                int n, int in_f, int out_f);
void ax_fc_gemv(float *out, const float *in, const float *w, const float *b, int in_f, int out_f);

/* Row-wise softmax of (N, C), numerically stable (max subtracted). */
void ax_softmax(float *out, const float *in, int n, int c);

/* Sizes (window geometry, shared with the shape resolver: src/model/layer_kinds.c):
 * output length of a window op along one axis. */
int ax_window_out(int in, int k, int s, int pad_before, int pad_after, int ceil_mode);

/* TF "SAME": total padding and the split (more on the bottom/right). */
void ax_same_padding(int in, int k, int s, int *out, int *pad_before, int *pad_after);

#endif
