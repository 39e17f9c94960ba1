/* libFuzzer harness: the IDX reader (plain and gzip) on arbitrary bytes, as
 * an image file and as a label file; every accepted element is read. */
#include <stddef.h>
#include "alexscope/idx.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    unsigned sum = 0;
    for (int nd = 1; nd <= 3; nd += 2) {
        ax_idx x;
        ax_error err;
        if (ax_idx_parse(&x, data, size, nd, "fuzz.idx", &err) != AX_OK) continue;
        size_t n = 1;
        for (int d = 0; d < x.ndim; d++) n *= (size_t)x.dims[d];
        for (size_t i = 0; i < n; i++) sum += x.data[i];
        ax_idx_free(&x);
    }
    return sum == 0xFFFFFFFFu;   /* keeps the loop */
}
