/* libFuzzer harness: Darknet .weights on arbitrary bytes: the sniff, the
 * reader, and the binding that slices the float stream by a small net's
 * layers (conv, pool, fc); bound entries are converted to float32. */
#include <stdlib.h>
#include "alexscope/backend.h"
#include "alexscope/net.h"
#include "alexscope/spec.h"
#include "alexscope/weights.h"
#include "fuzz_small_net.h"
#include "weights/wfile_internal.h"

static const char spec_text[] = FUZZ_SMALL_NET_SPEC("fuzz-darknet");

static ax_net *net;

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    if (!net) {
        static ax_spec spec;
        ax_error err;
        if (ax_spec_parse(&spec, spec_text, "fuzz.net", &err) != AX_OK ||
            ax_net_create(&net, &spec, 1, &ax_backend_cpu, &err) != AX_OK)
            abort();
    }
    if (!ax_darknet_sniff(data, size)) return 0;
    ax_wfile *f = calloc(1, sizeof *f);
    if (!f) return 0;
    ax_error err;
    if (ax_darknet_parse(f, data, size, "fuzz.weights", &err) == AX_OK) {
        char notes[256] = "";
        if (ax_wfile_bind(f, net, notes, sizeof notes, &err) == AX_OK) {
            for (int i = 0; i < f->count; i++) {
                size_t n = ax_wentry_numel(&f->entries[i]);
                float *out = malloc((n ? n : 1) * sizeof *out);
                if (out) ax_wentry_to_f32(&f->entries[i], out);
                free(out);
            }
        }
    }
    ax_wfile_close(f);
    return 0;
}
