/* Finding a backend by name. Which backends exist is decided at build time;
 * nothing else in the engine knows. Holds no state: options travel with each
 * net (ax_net_create_with). */
#include "alexscope/backend.h"

#include "config.h"

#include <stdio.h>
#include <string.h>

#include "alexscope/net.h"

int ax_backend_supports_every_type(const ax_net *net, const ax_layer *L, char *why, size_t size)
{
    (void)net;
    if ((int)L->spec.type >= 0 && L->spec.type < AX_L_COUNT) return 1;
    snprintf(why, size, "layer type %d is unknown", (int)L->spec.type);
    return 0;
}

const ax_backend *ax_backend_find(const char *name, ax_error *err)
{
    if (!name || !strcmp(name, "cpu")) return &ax_backend_cpu;
    if (!strcmp(name, "cuda") || !strcmp(name, "gpu")) {
#ifdef AX_HAVE_CUDA
        return &ax_backend_cuda;
#else
        ax_fail(err, AX_ERR_UNSUPPORTED, "device '%s': the CUDA backend is not part of this build "
                "(configure found no usable CUDA toolkit: its CUDA line says why; only 'cpu' is available)", name);
        return NULL;
#endif
    }
    ax_fail(err, AX_ERR_ARG, "unknown device '%s' (expected cpu or cuda)", name);
    return NULL;
}
