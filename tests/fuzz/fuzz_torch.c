/* libFuzzer harness: PyTorch torch.save files (zip container and legacy
 * stream) on arbitrary bytes, through the open path's own steps: the
 * content sniff, then the reader; accepted entries are converted to float32
 * and bound (the 'module.' note). */
#include <stdlib.h>
#include "alexscope/weights.h"
#include "weights/wfile_internal.h"
#include "fuzz_wfile.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    if (!ax_torch_sniff(data, size)) return 0;
    ax_wfile *f = calloc(1, sizeof *f);
    if (!f) return 0;
    ax_error err;
    if (ax_torch_parse(f, data, size, "fuzz.pth", &err) == AX_OK) {
        char notes[256] = "";
        ax_wfile_bind(f, NULL, notes, sizeof notes, &err);
        fuzz_convert_all(f);
    }
    ax_wfile_close(f);
    return 0;
}
