/* libFuzzer harness: the ONNX reader on arbitrary bytes; an accepted file has
 * its entries converted to float32, and its graph is turned into a .net spec
 * that must parse (a refusal is fine, a spec the parser rejects is a bug). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "alexscope/spec.h"
#include "alexscope/weights.h"
#include "weights/onnx.h"
#include "weights/wfile_internal.h"
#include "fuzz_wfile.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    ax_error err;
    if (!ax_onnx_sniff(data, size)) return 0;
    ax_wfile *f = calloc(1, sizeof *f);
    if (!f) return 0;
    /* the name's folder is one that holds no data files: external data is
     * looked up there and refused */
    if (ax_onnx_parse(f, data, size, "/nonexistent-fuzz/fuzz.onnx", &err) == AX_OK) fuzz_convert_all(f);
    ax_wfile_close(f);
    /* the same bytes through the graph converter, from a folder of this
     * process's own: no other run's file takes its place, and external data
     * is looked up where there is none */
    static char path[64];
    if (!path[0]) {
        char dir[] = "/tmp/fuzz_onnx_XXXXXX";
        if (!mkdtemp(dir)) return 0;
        snprintf(path, sizeof path, "%s/fuzz_onnx_input.onnx", dir);
    }
    FILE *fp = fopen(path, "wb");
    if (!fp) return 0;
    fwrite(data, 1, size, fp);
    fclose(fp);
    char *text = NULL;
    size_t n = 0;
    FILE *out = open_memstream(&text, &n);
    if (!out) return 0;
    ax_status st = ax_onnx_spec_text(path, out, &err);
    fclose(out);
    if (st == AX_OK) {
        static ax_spec spec;
        if (ax_spec_parse(&spec, text, "fuzz.net", &err) != AX_OK) {
            fprintf(stderr, "the spec printed does not parse: %s\n%s", err.msg, text);
            abort();
        }
    }
    free(text);
    return 0;
}
