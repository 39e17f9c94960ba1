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
#include "fuzz_small_net.h"

static const char spec_text[] = FUZZ_SMALL_NET_SPEC("fuzz-load");

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
