/* libFuzzer harness: the maxact pass over a folder of hostile files, end to
 * end: the input split in two files of a scratch folder (a.png and b.jpg),
 * listed, decoded and preprocessed on two threads through the bounded queue,
 * run through a small net and ranked (an unreadable file is skipped, none
 * readable is an error), then every channel's crops cut again from the
 * files, a contact sheet made and written as PNG. The pixel limit is
 * lowered as for fuzz_image. */
// fuzz-extra: -DAX_IMAGE_MAX_PIXELS=(4<<20)
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alexscope/maxact.h"

static const char *NET =
    "name fz\ninput 3 12 12\npreprocess resize=13 crop=12 order=bgr scale=255 mean=100,110,120 std=1,1,1\n"
    "conv c1 out=3 k=3 s=2 pad=1\nrelu r1\nmaxpool p1 k=2 s=2\n";

static ax_net *net;
static char dir[64];

static void put(const char *name, const unsigned char *d, size_t n)
{
    char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) abort();
    if (n && fwrite(d, 1, n, f) != n) abort();
    fclose(f);
}

/* The scratch folder goes when the fuzzer exits. */
static void cleanup(void)
{
    static const char *const names[] = { "a.png", "b.jpg", "sheet.out" };
    char path[128];
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        unlink(path);
    }
    rmdir(dir);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    ax_error err = { 0 };
    if (!net) {
        ax_spec *spec = calloc(1, sizeof *spec);
        snprintf(dir, sizeof dir, "/tmp/ax_fuzz_maxact_%d", (int)getpid());
        if (!spec || ax_spec_parse(spec, NET, "fz.net", &err) || ax_net_create(&net, spec, 1, NULL, &err) ||
            (mkdir(dir, 0700) && access(dir, W_OK)))
            abort();
        free(spec);
        atexit(cleanup);
    }
    size_t half = size / 2;
    put("a.png", data, half);
    put("b.jpg", data + half, size - half);
    char **files;
    int nfiles;
    if (ax_maxact_list_images(&files, &nfiles, dir, &err)) abort();
    int layer = net->nlayers - 1, n, c, h, w;
    ax_tensor_nchw(&net->layers[layer].out, &n, &c, &h, &w);
    ax_maxact_top t;
    if (ax_maxact_top_init(&t, c, 2, h, w, &err)) abort();
    ax_maxact_pass p = { .files = files, .nfiles = nfiles, .layer = layer, .threads = 2 };
    ax_maxact_stats st;
    if (ax_maxact_run(&t, net, &p, &st, &err) == AX_OK) {
        ax_maxact_crop cr[3 * 2];
        if (ax_maxact_crops(cr, &t, 0, c - 1, net, layer, files, &err) == AX_OK) {
            unsigned char *sheet;
            int sw, sh;
            if (ax_maxact_sheet(&sheet, &sw, &sh, cr, 2, &err) == AX_OK) {
                char out[128];
                snprintf(out, sizeof out, "%s/sheet.out", dir);
                (void)ax_png_write(out, sheet, sw, sh, &err);
                free(sheet);
            }
            ax_maxact_crops_free(cr, 3 * 2);
        }
    }
    ax_maxact_top_free(&t);
    ax_maxact_list_free(files, nfiles);
    return 0;
}
