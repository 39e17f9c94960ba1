/* libFuzzer harness: PyTorch torch.save files (zip container and legacy
 * stream) on arbitrary bytes, through the open path's own steps: the
 * content sniff, then the reader; accepted entries are converted to float32
 * and bound (the 'module.' note). */
#include <stdlib.h>
#include "alexscope/weights.h"
#include "wfile_internal.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    if (!ax_torch_sniff(data, size)) return 0;
    ax_wfile *f = calloc(1, sizeof *f);
    if (!f) return 0;
    ax_error err;
    if (ax_torch_parse(f, data, size, "fuzz.pth", &err) == AX_OK) {
        char notes[256] = "";
        ax_wfile_bind(f, NULL, notes, sizeof notes, &err);
        for (int i = 0; i < f->count; i++) {
            size_t n = ax_wentry_numel(&f->entries[i]);
            if (n > (1u << 24)) continue;
            float *out = malloc((n ? n : 1) * sizeof *out);
            if (out) ax_wentry_to_f32(&f->entries[i], out);
            free(out);
        }
    }
    ax_wfile_close(f);
    return 0;
}
