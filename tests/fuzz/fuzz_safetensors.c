/* libFuzzer harness: the safetensors reader on arbitrary bytes, then every
 * entry it accepted converted to float32 (which reads all of its bytes). */
#include <stdlib.h>
#include "alexscope/weights.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    ax_wfile *f = calloc(1, sizeof *f);
    if (!f) return 0;
    ax_error err;
    if (ax_safetensors_parse(f, data, size, "fuzz.safetensors", &err) == AX_OK) {
        for (int i = 0; i < f->count; i++) {
            size_t n = ax_wentry_numel(&f->entries[i]);
            if (n > (1u << 24)) continue;
            float *out = malloc((n ? n : 1) * sizeof *out);
            if (out) ax_wentry_to_f32(&f->entries[i], out);
            free(out);
        }
        (void)ax_wfile_find(f, "conv1.weight");
    }
    ax_wfile_close(f);
    return 0;
}
