/* libFuzzer harness: a whole weight load as the program does it, from a file:
 * ax_wfile_open (every reader, chosen by the bytes) and ax_net_load_weights
 * into a small net, so the file-reading paths (pread/preadv of tensor bytes,
 * the strip transposes of TensorFlow layouts, Darknet's finiteness scan, the
 * zip CRC read in pieces) run on hostile bytes. The input is written to a
 * memfd and opened by its /proc/self/fd path. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>
#include "alexscope/backend.h"
#include "alexscope/net.h"
#include "alexscope/spec.h"
#include "alexscope/weights.h"

/* conv c1 (2, 3, 3, 3) + 2; fc f1 (3, 2*4*4) + 3 after a spatial input, so
 * that an npy dict's HWIO and H,W,C-ordered (in, out) tensors are turned. */
static const char spec_text[] =
    "name fuzz-load\n"
    "input 3 8 8\n"
    "conv c1 out=2 k=3 pad=1\n"
    "relu r1\n"
    "maxpool p1 k=3 s=2 pad=1 round=floor\n"
    "fc f1 out=3\n"
    "softmax prob\n";

static ax_net *net;
static int fd = -1;
static char path[64];

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    if (!net) {
        static ax_spec spec;
        ax_error err;
        if (ax_spec_parse(&spec, spec_text, "fuzz.net", &err) != AX_OK ||
            ax_net_create(&net, &spec, 1, &ax_backend_cpu, &err) != AX_OK)
            abort();
        fd = memfd_create("fuzz-weights", 0);
        if (fd < 0) abort();
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    }
    if (ftruncate(fd, 0) || (size && pwrite(fd, data, size, 0) != (ssize_t)size)) abort();
    char notes[512];
    ax_error err;
    ax_net_load_weights(net, path, 1, notes, sizeof notes, &err);
    return 0;
}
