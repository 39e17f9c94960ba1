/* libFuzzer harness: a reference folder (`diff --reference DIR`) built from
 * arbitrary bytes: up to four entries, each a name picked from a fixed list
 * (activations, a pickled-dict name, README.txt, a .pth, a sub-folder) and
 * its contents; then ax_refdir_open (skipping what is not one array) and the
 * match against a few tensors. Writes only under its own temporary folder. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "alexscope/compare.h"

static const char *const names[] = {
    "conv1.npy", "pool1.npy", "fc.npy", "bvlc_alexnet.npy", "README.txt", "model.pth", "sub.npy", "l10.npy",
};
#define NNAMES (int)(sizeof names / sizeof names[0])

static char dir[64];

static void clear(void)
{
    char path[128];
    for (int i = 0; i < NNAMES; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        if (unlink(path)) rmdir(path);
    }
}

static void remove_dir(void)
{
    clear();
    rmdir(dir);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "/tmp/ax_fuzz_refdir_%d", (int)getpid());
        mkdir(dir, 0700);
        atexit(remove_dir);
    }
    clear();
    /* entries: [name byte][length: 2 bytes LE][bytes]; a name ending in a
     * sub-folder is made a folder (its contents ignored) */
    size_t at = 0;
    for (int k = 0; k < 4 && at + 3 <= size; k++) {
        int which = data[at] % NNAMES;
        size_t len = (size_t)data[at + 1] | (size_t)data[at + 2] << 8;
        at += 3;
        if (len > size - at) len = size - at;
        char path[128];
        snprintf(path, sizeof path, "%s/%s", dir, names[which]);
        if (!strcmp(names[which], "sub.npy")) {
            mkdir(path, 0700);
        } else {
            FILE *f = fopen(path, "wb");
            if (f) {
                fwrite(data + at, 1, len, f);
                fclose(f);
            }
        }
        at += len;
    }
    ax_refdir r;
    ax_error err;
    if (ax_refdir_open(&r, dir, 1 << 20, &err) == AX_OK) {
        ax_tensor t[3];
        ax_tensor_set(&t[0], "input", 4, 1, 3, 5, 5);
        ax_tensor_set(&t[1], "conv1", 4, 1, 4, 5, 5);
        ax_tensor_set(&t[2], "fc", 2, 1, 6, 1, 1);
        const char *tn[] = { "input", "conv1", "fc" };
        const ax_tensor *ours[] = { &t[0], &t[1], &t[2] };
        ax_ref_match m[3];
        float buf[4 * 5 * 5];
        if (ax_refdir_match(m, &r, 3, tn, ours, NULL, &err) == AX_OK)
            for (int i = 0; i < 3; i++)
                if (m[i].entry >= 0 && m[i].fits && ax_tensor_numel(&t[i]) <= 100 &&
                    r.e[m[i].entry].numel >= ax_tensor_numel(&t[i]))
                    ax_ref_fetch(buf, &r.e[m[i].entry], &m[i], &t[i]);
        for (int i = 0; i < r.nskipped; i++)
            if (!memchr(r.skipped[i].why, 0, sizeof r.skipped[i].why)) abort();
        ax_refdir_close(&r);
    }
    return 0;
}
