/* libFuzzer harness: the .npz (zip of .npy) reader; accepted entries are
 * converted to float32. Mutated zips mostly fail libzip's CRC check, so an
 * input starting with an odd byte is instead wrapped, from its second byte
 * on, as the one member "w.npy" of a valid zip (bit 1 of the first byte:
 * deflated rather than stored), which reaches the member and .npy code. */
#include <stdlib.h>
#include <stdio.h>
#include <zip.h>
#include "alexscope/weights.h"
#include "weights/wfile_internal.h"
#include "fuzz_wfile.h"

/* A zip in memory holding data[0..size) as w.npy; NULL when libzip fails. */
static unsigned char *wrap(const unsigned char *data, size_t size, int deflate, size_t *out_size)
{
    zip_error_t ze;
    zip_error_init(&ze);
    zip_source_t *src = zip_source_buffer_create(NULL, 0, 0, &ze);
    unsigned char *buf = NULL;
    if (!src) goto done;
    zip_source_keep(src);
    zip_t *z = zip_open_from_source(src, ZIP_TRUNCATE, &ze);
    if (!z) goto done;
    zip_source_t *m = zip_source_buffer(z, data, size, 0);
    zip_int64_t i = m ? zip_file_add(z, "w.npy", m, 0) : -1;
    if (i < 0) {
        if (m) zip_source_free(m);
        zip_discard(z);
        goto done;
    }
    zip_set_file_compression(z, (zip_uint64_t)i, deflate ? ZIP_CM_DEFLATE : ZIP_CM_STORE, 1);
    if (zip_close(z) != 0) {
        zip_discard(z);
        goto done;
    }
    if (zip_source_open(src) != 0) goto done;
    zip_source_seek(src, 0, SEEK_END);
    zip_int64_t n = zip_source_tell(src);
    zip_source_seek(src, 0, SEEK_SET);
    if (n > 0 && (buf = malloc((size_t)n)) != NULL && zip_source_read(src, buf, (zip_uint64_t)n) != n) {
        free(buf);
        buf = NULL;
    }
    zip_source_close(src);
    *out_size = n > 0 ? (size_t)n : 0;
done:
    if (src) zip_source_free(src);
    zip_error_fini(&ze);
    return buf;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    unsigned char *wrapped = NULL;
    if (size >= 1 && (data[0] & 1)) {
        wrapped = wrap(data + 1, size - 1, data[0] & 2, &size);
        if (!wrapped) return 0;
        data = wrapped;
    }
    ax_wfile *f = calloc(1, sizeof *f);
    if (f) {
        ax_error err;
        if (ax_npz_parse(f, data, size, "fuzz.npz", &err) == AX_OK) {
            fuzz_convert_all(f);
        }
        ax_wfile_close(f);
    }
    free(wrapped);
    return 0;
}
