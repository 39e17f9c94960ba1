/* libFuzzer harness: TensorFlow checkpoints (tfckpt.c) on arbitrary bytes:
 * the LevelDB table (footer, blocks, restarts, CRCs), the bundle protobufs
 * and the shard offsets; an accepted checkpoint is bound to a small net (its
 * variable names mapped by name or order, conv kernels reshaped as fc).
 * Input: a 4-byte little-endian index length, the .index bytes, then the
 * bytes of shard 0 (written to a scratch file). Built without the CRC
 * checks, so mutations reach the parsing behind them. */
// fuzz-extra: -DAX_FUZZ_NO_CRC
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "alexscope/backend.h"
#include "alexscope/net.h"
#include "alexscope/spec.h"
#include "weights/wfile_internal.h"
#include "fuzz_wfile.h"

static char prefix[256];

static const char spec_text[] =
    "name fuzz\ninput 2 8 8\n"
    "conv conv1 out=4 k=3 s=1 pad=0 groups=2\nrelu relu1\nfc fc6 out=3\nfc fc7 out=2\n";

/* A shapes-only net for the bind, made once. */
static ax_net *fuzz_net(void)
{
    static ax_net *net;
    if (net) return net;
    ax_error err;
    ax_spec spec;
    char *t = strdup(spec_text);
    if (!t || ax_spec_parse(&spec, t, "fuzz.net", &err) != AX_OK) abort();
    free(t);
    const ax_backend *be = ax_backend_find("cpu", &err);
    ax_backend_options bo = { .shapes_only = 1 };
    if (!be || ax_net_create_with(&net, &spec, 1, be, &bo, &err) != AX_OK) abort();
    return net;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    if (!prefix[0]) snprintf(prefix, sizeof prefix, "/tmp/fuzz_tfckpt_%d.ckpt", (int)getpid());
    if (size < 4) return 0;
    size_t n = (size_t)data[0] | (size_t)data[1] << 8 | (size_t)data[2] << 16 | (size_t)data[3] << 24;
    if (n > size - 4) n = size - 4;
    const unsigned char *index = data + 4, *shard = index + n;
    size_t shard_size = size - 4 - n;
    char path[300];
    snprintf(path, sizeof path, "%s.data-00000-of-00001", prefix);
    FILE *fp = fopen(path, "wb");
    if (!fp) return 0;
    fwrite(shard, 1, shard_size, fp);
    fclose(fp);
    /* a copy of exactly n bytes, so reads past the index are caught */
    unsigned char *buf = malloc(n ? n : 1);
    if (!buf) return 0;
    memcpy(buf, index, n);
    char file[300];
    snprintf(file, sizeof file, "%s.index", prefix);
    if (ax_tfckpt_sniff(buf, n)) {
        ax_wfile *f = calloc(1, sizeof *f);
        if (f) {
            ax_error err;
            if (ax_tfckpt_parse(f, buf, n, file, &err) == AX_OK) {
                char notes[512] = "";
                (void)ax_tfckpt_bind(f, fuzz_net(), notes, sizeof notes, &err);
                fuzz_convert_all(f);
            }
            ax_wfile_close(f);
        }
    }
    free(buf);
    return 0;
}
