/* A backend is a table of function pointers (prepare a net, run one layer,
 * describe the kernels, release), filled with designated initializers. The
 * net calls through it and never #ifdefs on which backend it has. */
#ifndef ALEXSCOPE_BACKEND_H
#define ALEXSCOPE_BACKEND_H

#include "alexscope/status.h"

struct ax_net;
struct ax_layer;

typedef struct ax_backend {
    const char *name;
    /* Prepares the backend for this net (threads, device buffers). */
    ax_status (*prepare)(struct ax_net *net, ax_error *err);
    /* Computes net->layers[i].out from its input; layer i-1 is computed. */
    ax_status (*run_layer)(struct ax_net *net, int i, ax_error *err);
    /* A one-line description of the kernels in use ("OpenBLAS 0.3.21 SkylakeX, 2 threads"). */
    void (*describe)(const struct ax_net *net, char *buf, int size);
    void (*release)(struct ax_net *net);
} ax_backend;

extern const ax_backend ax_backend_cpu;

/* "cpu" or "cuda"; NULL with a message when unknown or not built in. */
const ax_backend *ax_backend_find(const char *name, ax_error *err);

/* Sets the CPU thread count (0: all cores). */
void ax_cpu_set_threads(int n);
int ax_cpu_threads(void);

#endif
