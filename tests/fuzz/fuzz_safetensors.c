/* libFuzzer harness: the safetensors reader on arbitrary bytes, then every
 * entry it accepted converted to float32 (which reads all of its bytes). */
#include <stdlib.h>
#include "alexscope/weights.h"
#include "weights/wfile_internal.h"
#include "fuzz_wfile.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    ax_wfile *f = calloc(1, sizeof *f);
    if (!f) return 0;
    ax_error err;
    if (ax_safetensors_parse(f, data, size, "fuzz.safetensors", &err) == AX_OK) {
        fuzz_convert_all(f);
        (void)ax_wfile_find(f, "conv1.weight");
    }
    ax_wfile_close(f);
    return 0;
}
