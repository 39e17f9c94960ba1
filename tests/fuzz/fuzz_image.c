/* libFuzzer harness: the image loader's in-memory path (ax_image_decode, the
 * code ax_image_load runs after reading the file: stb_image guards, the
 * declared-size check, decoding), then the preprocessing of a small net's
 * input (resize, crop, mean/std) on whatever was decoded. The pixel limit is
 * lowered to 4 Mpixel: decoding up to the real 64 Mpixel is bounded but takes
 * seconds under ASan, which libFuzzer would report as timeouts. */
// fuzz-extra: -DAX_IMAGE_MAX_PIXELS=(4<<20)
#include <stdlib.h>
#include <string.h>
#include "alexscope/image.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    ax_image img;
    ax_error err;
    if (ax_image_decode(&img, data, size, "fuzz.img", &err) != AX_OK) return 0;
    ax_spec *spec = calloc(1, sizeof *spec);
    if (spec) {
        spec->in_c = 3;
        spec->in_h = spec->in_w = 8;
        spec->pre.resize_mode = AX_RESIZE_SHORT;
        spec->pre.resize_w = 9;
        spec->pre.crop_w = spec->pre.crop_h = 8;
        spec->pre.scale = 255.0f;
        for (int c = 0; c < 3; c++) spec->pre.std[c] = 1.0f;
        spec->pre.bgr = size & 1;
        float out[3 * 8 * 8];
        (void)ax_preprocess_image(out, &img, spec, &err);
        free(spec);
    }
    ax_image_free(&img);
    return 0;
}
