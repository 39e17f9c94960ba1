/* libFuzzer harness: the reference map file (lines ours=theirs) on arbitrary
 * bytes, against a small in-memory reference folder and net tensors. */
#include <string.h>
#include "alexscope/compare.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    ax_ref_entry e[4] = {
        { .name = "conv2d", .ndim = 4, .shape = { 1, 5, 5, 4 } },
        { .name = "pool", .ndim = 3, .shape = { 4, 2, 2 } },
        { .name = "dense", .ndim = 1, .shape = { 6 } },
        { .name = "x.npy", .ndim = 2, .shape = { 1, 6 } },
    };
    ax_refdir r = { .dir = "fuzz", .count = 4, .e = e };
    ax_tensor t[4];
    ax_tensor_set(&t[0], "input", 4, 1, 3, 5, 5);
    ax_tensor_set(&t[1], "conv1", 4, 1, 4, 5, 5);
    ax_tensor_set(&t[2], "pool1", 4, 1, 4, 2, 2);
    ax_tensor_set(&t[3], "fc", 2, 1, 6, 1, 1);
    const char *names[] = { "input", "conv1", "pool1", "fc" };
    const ax_tensor *ours[] = { &t[0], &t[1], &t[2], &t[3] };
    ax_ref_match m[4];
    ax_error err;
    ax_status st = ax_refdir_match_text(m, &r, 4, names, ours, (const char *)data, size, "fuzz.map", &err);
    int n = 0;
    for (int i = 0; i < 4 && st == AX_OK; i++) n += m[i].entry >= 0 && m[i].entry < 4;
    return n > 4;
}
