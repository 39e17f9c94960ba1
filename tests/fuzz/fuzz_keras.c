/* libFuzzer harness: the Keras HDF5 reader (libhdf5 from a file image) on
 * arbitrary bytes, in this process (the program runs it in a child, which a
 * crash in libhdf5 cannot take down); an accepted file is bound to a small
 * spec by order and its entries converted to float32. libhdf5 itself is not
 * instrumented: a crash inside it shows as a SEGV in libhdf5's frames. */
// fuzz-extra: pkg:hdf5 -DAX_HAVE_HDF5=1
// fuzz-args: -malloc_limit_mb=1048576
#include <stdlib.h>
#include <string.h>
#include "alexscope/net.h"
#include "alexscope/spec.h"
#include "alexscope/weights.h"
#include "weights/wfile_internal.h"
#include "fuzz_wfile.h"

static const char spec_text[] =
    "name fuzz\ninput 1 8 8\n"
    "conv conv1 out=2 k=2 s=1 pad=0\nrelu relu1\nflatten flat order=hwc\nfc fc1 out=3\n";

/* The program reads Keras files in a child under an address-space limit, so
 * an allocation libhdf5 asks for from a lying length (hundreds of GB) gets
 * NULL there and libhdf5 reports an error: the same here, where malloc
 * returns NULL instead of ASan stopping (with the fuzz-args above lifting
 * libFuzzer's own malloc limit). What is used stays under -rss_limit_mb. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "allocator_may_return_null=1";
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    const ax_net *net = fuzz_spec_net(spec_text);
    ax_error err;
    if (size < 8 || memcmp(data, "\x89HDF\r\n\x1a\n", 8)) return 0;
    ax_wfile *f = calloc(1, sizeof *f);
    if (!f) return 0;
    if (ax_keras_parse_here(f, data, size, "fuzz.h5", &err) == AX_OK) {
        char notes[512] = "";
        (void)ax_keras_bind(f, net, notes, sizeof notes, &err);
        fuzz_convert_all(f);
    }
    ax_wfile_close(f);
    return 0;
}
