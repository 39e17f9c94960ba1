/* A backend is a table of function pointers filled with designated
 * initializers. The net calls through it and never #ifdefs on which backend
 * it has. A backend computes where its memory is: the CPU backend in the
 * net's host blocks, a device backend in buffers of its own, with host copies
 * made only when someone reads them (ax_net_output).
 *
 * The calls, in the order a net makes them:
 *   workspace       once, after shapes are resolved: host bytes init will take
 *                   of its own (scratch), for the net's memory estimate;
 *   supports        once per layer, before anything starts (a refusal names it);
 *   init            once, after shapes are resolved: device, buffers, handles;
 *   upload_weights  after the host weights change (load, seeded init, edits);
 *   upload          after the host input (or a layer's host output) changes;
 *   run_layer       computes layer i from layer i-1 (may return before the
 *                   work is done: a device backend only enqueues it);
 *   download        makes the host copy of output i valid (waits for it);
 *   synchronize     waits for everything enqueued and reports each layer's
 *                   time into layers[i].ms;
 *   release         frees what init made.
 * A backend with host_memory set computes in the host blocks: upload and
 * download are no-ops (NULL) and every computed output is readable at once.
 * What a backend is told (which GPU, TF32, cuDNN) it reads from net->options,
 * the copy the net was created with: there is no process-wide setting. */
#ifndef ALEXSCOPE_BACKEND_H
#define ALEXSCOPE_BACKEND_H

#include <stddef.h>
#include "alexscope/status.h"

struct ax_net;
struct ax_layer;

typedef struct ax_backend {
    const char *name;
    int host_memory;
    /* Bytes of host memory init will allocate for this net (NULL: none); the
     * net's layers are resolved, its blocks not yet allocated. */
    size_t (*workspace)(const struct ax_net *net);
    ax_status (*init)(struct ax_net *net, ax_error *err);
    /* 1 when the backend can run this layer; else 0 with the reason in why. */
    int (*supports)(const struct ax_net *net, const struct ax_layer *L, char *why, size_t size);
    /* Layer i's weight and bias (i = -1: every layer). */
    ax_status (*upload_weights)(struct ax_net *net, int i, ax_error *err);
    /* The host copy of output i (-1: the input) to the backend. */
    ax_status (*upload)(struct ax_net *net, int i, ax_error *err);
    ax_status (*run_layer)(struct ax_net *net, int i, ax_error *err);
    /* Output i (-1: the input) to its host tensor; returns when it is there.
     * Adds the copy's time to layers[i].xfer_ms. */
    ax_status (*download)(struct ax_net *net, int i, ax_error *err);
    ax_status (*synchronize)(struct ax_net *net, ax_error *err);
    /* A one-line description of the kernels in use ("OpenBLAS 0.3.21 SkylakeX, 2 threads"). */
    void (*describe)(const struct ax_net *net, char *buf, int size);
    void (*release)(struct ax_net *net);

    /* For benchmarks; NULL where the backend has none. */
    /* How layer i runs ("cuDNN IMPLICIT_PRECOMP_GEMM"); "" when unremarkable. */
    const char *(*layer_method)(const struct ax_net *net, int i);
    /* The peer of convolution layer i: the library's fastest way to do the
     * same convolution alone, median ms of `runs` (negative on error), named
     * in what. May overwrite layer outputs: reset the net afterwards. */
    double (*conv_peer_ms)(struct ax_net *net, int i, int runs, char *what, size_t size);
    /* Times copying layer i's output to the host and back; 0 on success. */
    int (*copy_ms)(struct ax_net *net, int i, double *h2d, double *d2h);
} ax_backend;

extern const ax_backend ax_backend_cpu;
/* Present when the build has CUDA (src/backends/cuda/); reach it through ax_backend_find. */
extern const ax_backend ax_backend_cuda;

/* For backends with a kernel for every layer type the engine defines. */
int ax_backend_supports_every_type(const struct ax_net *net, const struct ax_layer *L, char *why, size_t size);

/* "cpu" or "cuda" ("gpu" is an alias); NULL with a message when unknown or
 * not built in. */
const ax_backend *ax_backend_find(const char *name, ax_error *err);

/* Options a backend reads when a net is created (defaults: all zero), given
 * to ax_net_create_with and kept in the net (net->options). */
typedef struct ax_backend_options {
    int tf32;           /* device backends: allow TF32 tensor-core math (off: float32 throughout) */
    int device_index;   /* which GPU */
    int no_cudnn;       /* CUDA: use im2col + cuBLAS even where cuDNN is built in */
    int weights_follow; /* ax_net_create_with: ax_net_load_weights comes next, so the seeded fill
                           (0.4 s for AlexNet) is left out; a failed load seeds them as always */
    int shapes_only;    /* ax_net_create_with: no seeded fill and no page touching, for a net
                           wanted for its shapes (which model a file fits): weights and
                           activations are unset until a load fills them */
} ax_backend_options;

#endif
