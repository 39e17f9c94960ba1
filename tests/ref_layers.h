/* Naive reference layers for the tests: plain loops straight from each layer's
 * definition, accumulating in double, sharing no code with src/cpu. They work
 * out their own output sizes so the fast size helpers are checked too. */
#ifndef AX_REF_LAYERS_H
#define AX_REF_LAYERS_H

/* Direct convolution with explicit padding on all four sides.
 * in (N, C, H, W), w (OC, C/groups, KH, KW), b (OC) or NULL -> out (N, OC, OH, OW)
 * with OH = (H + t + b - KH) / SH + 1 (floor), returned through oh/ow. */
void ref_conv2d(float *out, const float *in, const float *w, const float *b,
                int n, int c, int h, int wd, int oc, int kh, int kw, int sh, int sw,
                int pad_t, int pad_l, int pad_b, int pad_r, int groups, int *oh, int *ow);

/* LRN, each from its own convention's formula and constants; in, out (N, C, HW). */
/* Caffe/PyTorch: b = a / (k + alpha/size * sum over `size` channels)^beta. */
void ref_lrn_caffe(float *out, const float *in, int n, int c, int hw,
                   int size, double alpha, double beta, double k);
/* TensorFlow: b = a / (bias + alpha * sum over c-r..c+r)^beta. */
void ref_lrn_tf(float *out, const float *in, int n, int c, int hw,
                int depth_radius, double bias, double alpha, double beta);
/* Darknet: b = a * (kappa + alpha * sum over `size` channels)^-beta. */
void ref_lrn_darknet(float *out, const float *in, int n, int c, int hw,
                     int size, double alpha, double beta, double kappa);

/* Max pool over explicitly padded input; padding cells never count. ceil_mode
 * counts windows one at a time: a window is kept while it starts in the real
 * input or the before-padding and (floor) fits, or (ceil) its predecessor did
 * not already reach the end. Output sizes through oh/ow. */
void ref_maxpool(float *out, const float *in, int n, int c, int h, int w,
                 int kh, int kw, int sh, int sw, int pad_t, int pad_l, int pad_b, int pad_r,
                 int ceil_mode, int *oh, int *ow);

/* Adaptive average pool: output row i averages the input rows r whose span
 * [r, r+1) overlaps the real interval [i*H/OH, (i+1)*H/OH); columns alike. */
void ref_avgpool_adaptive(float *out, const float *in, int n, int c, int h, int w,
                          int oh, int ow);

void ref_pad(float *out, const float *in, int n, int c, int h, int w,
             int pad_t, int pad_l, int pad_b, int pad_r);

/* Flatten (N, C, H, W) to (N, F): hwc = 0 gives index (c, y, x), 1 gives (y, x, c). */
void ref_flatten(float *out, const float *in, int n, int c, int h, int w, int hwc);

/* in (N, IN), w (OUT, IN), b (OUT) or NULL -> out (N, OUT). */
void ref_fc(float *out, const float *in, const float *w, const float *b,
            int n, int in_f, int out_f);

/* Row-wise softmax of (N, C), in double. */
void ref_softmax(float *out, const float *in, int n, int c);

void ref_relu(float *out, const float *in, int n);

#endif
