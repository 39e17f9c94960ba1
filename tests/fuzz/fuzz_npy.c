/* libFuzzer harness: the .npy reader (plain arrays and pickled object
 * arrays) on arbitrary bytes; accepted entries are converted to float32. */
#include <stdlib.h>
#include "alexscope/weights.h"
#include "weights/wfile_internal.h"
#include "fuzz_wfile.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    ax_wfile *f = calloc(1, sizeof *f);
    if (!f) return 0;
    ax_error err;
    if (ax_npy_parse(f, data, size, "fuzz.npy", &err) == AX_OK) {
        fuzz_convert_all(f);
    }
    ax_wfile_close(f);
    return 0;
}
