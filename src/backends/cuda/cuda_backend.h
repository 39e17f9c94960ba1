/* What the CUDA backend offers beyond the backend table: the checks of the
 * cross-backend test and the peer figures of `bench --device cuda`. C
 * linkage; every call takes a net created with ax_backend_cuda. */
#ifndef AX_CUDA_BACKEND_H
#define AX_CUDA_BACKEND_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ax_net;

/* 1 when every sentinel around every device buffer (input, outputs, weights,
 * scratch, workspace) still holds its pattern; else 0, naming the first
 * buffer overrun in why. Waits for the device first. */
int ax_cuda_guards_ok(struct ax_net *net, char *why, size_t size);

/* How convolution layer i runs ("cuDNN IMPLICIT_PRECOMP_GEMM", "im2col +
 * cuBLAS"); "" for other layers. */
const char *ax_cuda_conv_method(const struct ax_net *net, int i);

/* The peer of convolution layer i: its convolution alone on the same shape
 * and device buffers, with cuDNN's fastest algorithm found now (or, without
 * cuDNN, the cuBLAS GEMMs alone), median ms of `runs`. Negative on error;
 * the peer's name goes to what. It overwrites the layer's device output:
 * call ax_net_reset before reading outputs again. */
double ax_cuda_conv_peer_ms(struct ax_net *net, int i, int runs, char *what, size_t size);

/* Times copying layer i's output to the host and back (ms); 0 on success. */
int ax_cuda_copy_ms(struct ax_net *net, int i, double *h2d, double *d2h);

/* Sets up cuDNN's descriptors for convolution layer i of any net (of any
 * backend) as the CUDA backend would, through the cuDNN library itself: 0
 * when cuDNN accepts them and computes the net's output shape (explicit_pad
 * says whether the input is padded into a copy first), 1 with the reason in
 * why when it does not, -1 when cuDNN cannot be loaded or is not built in.
 * Needs no GPU. */
int ax_cuda_dnn_check(const struct ax_net *net, int i, int *explicit_pad, char *why, size_t size);

#ifdef __cplusplus
}
#endif

#endif
