/* libFuzzer harness: the Caffe .caffemodel reader on arbitrary bytes; an
 * accepted file has its entries converted to float32 and its recorded layer
 * parameters compared with a small grouped-conv spec (the facts round trip). */
#include <stdlib.h>
#include <string.h>
#include "alexscope/net.h"
#include "alexscope/spec.h"
#include "alexscope/weights.h"
#include "weights/caffe.h"
#include "weights/wfile_internal.h"
#include "fuzz_wfile.h"

static const char spec_text[] =
    "name fuzz\ninput 3 31 31\n"
    "conv conv1 out=8 k=3 s=2 pad=1 groups=2\nrelu relu1\n"
    "lrn norm1 convention=caffe size=5 alpha=0.0001 beta=0.75 k=1\n"
    "maxpool pool1 k=3 s=2 round=ceil\nfc fc6 out=4\nsoftmax prob\n";

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    const ax_net *net = fuzz_spec_net(spec_text);
    ax_error err;
    if (!ax_caffe_sniff(data, size)) return 0;
    ax_wfile *f = calloc(1, sizeof *f);
    if (!f) return 0;
    if (ax_caffe_parse(f, data, size, "fuzz.caffemodel", &err) == AX_OK) {
        fuzz_convert_all(f);
        char msg[1024];
        (void)ax_caffe_check_spec(f, net, msg, sizeof msg);
    }
    ax_wfile_close(f);
    return 0;
}
