/* Shared by the weight-file fuzz harnesses: every entry a reader accepted,
 * converted to float32 (which reads all of its bytes); entries of more than
 * 2^24 values are left out to keep each run small. */
#ifndef AX_FUZZ_WFILE_H
#define AX_FUZZ_WFILE_H

#include <stdlib.h>
#include "alexscope/weights.h"

static void fuzz_convert_all(const ax_wfile *f)
{
    for (int i = 0; i < f->count; i++) {
        size_t n = ax_wentry_numel(&f->entries[i]);
        if (n > (1u << 24)) continue;
        float *out = malloc((n ? n : 1) * sizeof *out);
        if (out) ax_wentry_to_f32(&f->entries[i], out);
        free(out);
    }
}

#endif
