/* The net: a resolved spec, its weights and one output tensor per layer, all
 * kept. Stepping is first class: run layer i only, go back without recomputing. */
#ifndef ALEXSCOPE_NET_H
#define ALEXSCOPE_NET_H

#include <stdint.h>
#include "alexscope/spec.h"
#include "alexscope/tensor.h"
#include "alexscope/backend.h"
#include "alexscope/layers.h"

typedef struct ax_layer {
    ax_layer_spec spec;
    int index;
    ax_tensor out;          /* (N, C, H, W) or (N, F) view into the activation block */
    ax_tensor weight;       /* conv (OC, C/groups, KH, KW), fc (OUT, IN); data NULL if none */
    ax_tensor bias;         /* (OC) */
    ax_window win;          /* conv, maxpool geometry (resolved padding) */
    int in_c, in_h, in_w;   /* input seen by this layer, NCHW view (batch left out) */
    int pad_b, pad_r;       /* resolved bottom/right padding (SAME may be asymmetric) */
    double flops;           /* multiply-adds x 2 for one image */
    size_t params;
    double ms;              /* time of the last run of this layer (kernel time on a device) */
    double xfer_ms;         /* device backends: time of the last copy of its output to the host */
    int host_valid;         /* out.data holds the layer's current output */
    int weights_dirty;      /* host weights changed since the backend last had them */
    int whatif;             /* ax_whatif (alexscope/teach.h): 0 runs the layer as specified */
    /* When set, the net computes this layer by calling run instead of the
     * backend's run_layer (what-if runs install one: model/whatif.c); it
     * must leave the output where run_layer would. */
    ax_status (*run)(struct ax_net *net, int i, ax_error *err);
} ax_layer;

/* Called after each layer is computed (for the UI's progress and the CLI's rows). */
typedef void (*ax_observer)(const struct ax_net *net, int layer, void *user);

typedef struct ax_net {
    ax_spec spec;
    int batch;
    int nlayers;
    ax_layer *layers;
    ax_tensor input;            /* (N, C, H, W) */
    float *wblock; size_t wcount;   /* all weights and biases */
    float *ablock; size_t acount;   /* input and every layer's output */
    const ax_backend *backend;
    ax_backend_options options; /* what the backend was told at creation */
    void *backend_state;
    int input_host_only;        /* the host input changed and is not yet uploaded */
    double upload_ms;           /* device backends: time of the last input upload */
    size_t backend_bytes;       /* memory the backend holds of its own (scratch, device buffers) */
    int computed;               /* layers 0..computed-1 hold valid outputs */
    int untrained;              /* 1 while the weights are the seeded initialisation */
    char weights_path[AX_PATH_MAX];
    ax_observer observer;
    void *observer_user;
} ax_net;

/* Resolves shapes, allocates the weight and activation blocks (stepping
 * allocates nothing more), and fills the weights with ax_net_init_seeded.
 * backend NULL is the CPU; ax_net_create gives the backend default options
 * (all zero), ax_net_create_with the caller's (NULL: the defaults), copied
 * into net->options before the backend starts. */
ax_status ax_net_create(ax_net **out, const ax_spec *spec, int batch,
                        const ax_backend *backend, ax_error *err);
ax_status ax_net_create_with(ax_net **out, const ax_spec *spec, int batch, const ax_backend *backend,
                             const ax_backend_options *options, ax_error *err);
void ax_net_free(ax_net *net);

/* Deterministic normal weights and zero biases, the same whatever the thread
 * count: He's std = sqrt(2 / fan_in), except the first layer, scaled by the
 * spread of the model's preprocessed input, and a classifier's last layer,
 * 20 times smaller, so that untrained outputs stay near 1 and the classes
 * near uniform. */
void ax_net_init_seeded(ax_net *net, uint64_t seed);
/* The spread the seeded weights give every layer's output: 1, or in a net
 * with LRN the size at which its first LRN visibly damps (tens). */
double ax_net_seed_spread(const ax_net *net);
/* The same fill at spread 1, what training from scratch starts from: SGD's
 * step sizes are made for activations near 1, and LRN hardly acts there. */
void ax_net_init_for_training(ax_net *net, uint64_t seed);

/* Loads every tensor the spec needs from a weights file. Missing, misshaped
 * and (unless lenient) extra tensors are errors naming the tensor, expected
 * and found shape in the layout the file's entry is named for; a file with
 * several problems reports them all in one message (the first 8 in full).
 * What loading has to say goes to `notes` (may be NULL): one line per
 * message, each starting with its kind, "note: " (layouts converted, names
 * bound by order) or "warning: " (unused tensors ignored when lenient). */
ax_status ax_net_load_weights(ax_net *net, const char *path, int lenient,
                              char *notes, size_t notes_size, ax_error *err);

/* Copies an (N, C, H, W) input in (and to the backend); forgets every
 * computed output. */
ax_status ax_net_set_input(ax_net *net, const float *data, int n, int c, int h, int w,
                           ax_error *err);

/* Forgets every computed output (the next forward pass computes them all
 * again: benchmarks time repeated runs this way). */
void ax_net_reset(ax_net *net);

/* Computes layer i only; layers before it must be computed. Outputs after i
 * are forgotten (they depended on the old value). */
ax_status ax_net_step(ax_net *net, int i, ax_error *err);

/* Computes every layer up to and including i that is not yet computed. */
ax_status ax_net_run_to(ax_net *net, int i, ax_error *err);
ax_status ax_net_forward(ax_net *net, ax_error *err);

/* The output of layer i (-1: the input); NULL when not computed. On a device
 * backend its host copy is made here, the first time it is read after the
 * layer ran (the only place outputs cross to the host). NULL also when that
 * copy fails; ax_net_fetch says why. Safe to call from another thread than
 * the one running layers. */
const ax_tensor *ax_net_output(const ax_net *net, int i);

/* Makes the host copy of output i (-1: the input) valid; ax_net_fetch_all
 * does it for every computed layer (host-side analysis: gradients, diff). */
ax_status ax_net_fetch(ax_net *net, int i, ax_error *err);
ax_status ax_net_fetch_all(ax_net *net, ax_error *err);

/* Waits for every layer enqueued on the backend and fills their times. The
 * stepping calls return with the work done; this is for callers that time. */
ax_status ax_net_synchronize(ax_net *net, ax_error *err);

/* After the host copy of a layer's weights (i = -1: any layer's) was written
 * directly: sends them to the backend and forgets outputs from i on. */
ax_status ax_net_weights_changed(ax_net *net, int i, ax_error *err);

/* After out.data of layer i (-1: the input) was written on the host: sends it
 * to the backend and forgets the outputs after i. */
ax_status ax_net_output_changed(ax_net *net, int i, ax_error *err);

/* The input tensor layer i reads (the input for 0), as stored: on a device
 * backend its host data is current only after ax_net_fetch(i - 1). */
const ax_tensor *ax_net_layer_input(const ax_net *net, int i);

/* 1 when the net's outputs live on the host as computed (the CPU backend). */
int ax_net_on_host(const ax_net *net);

int ax_net_find(const ax_net *net, const char *name);

/* Resolves a spec's shapes, weights' shapes, FLOPs and parameter counts into
 * layers[spec->nlayers] (batch 1) without allocating or filling anything:
 * tensors' data stay NULL. */
ax_status ax_spec_resolve(const ax_spec *spec, ax_layer *layers, ax_error *err);

#endif
