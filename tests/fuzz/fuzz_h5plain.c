/* libFuzzer harness: the plain HDF5 layout reader (src/weights/h5_plain.c)
 * on arbitrary bytes, through the Keras walk that uses it
 * (ax_keras_parse_plain), and its object API directly from the root. An
 * accepted file's entries must lie inside the input; they are bound to a
 * small spec by order and converted to float32. libhdf5 is linked only
 * because keras_h5.c is; the plain reader never calls it. */
// fuzz-extra: pkg:hdf5 -DAX_HAVE_HDF5=1
#include <stdlib.h>
#include <string.h>
#include "alexscope/net.h"
#include "alexscope/spec.h"
#include "alexscope/weights.h"
#include "weights/h5_plain.h"
#include "weights/wfile_internal.h"
#include "fuzz_wfile.h"

static const char spec_text[] =
    "name fuzz\ninput 1 8 8\n"
    "conv conv1 out=2 k=2 s=1 pad=0\nrelu relu1\nflatten flat order=hwc\nfc fc1 out=3\n";

/* The root's children one level down: kinds, string attributes, datasets. */
static void walk_api(const unsigned char *data, size_t size)
{
    h5p_file *h;
    if (h5p_open(&h, data, size)) return;
    h5p_obj root = h5p_root(h);
    char **names;
    size_t n;
    if (h5p_children(h, root, &names, &n) == 0) {
        for (size_t i = 0; i < n && i < 64; i++) {
            h5p_obj o;
            char **v;
            size_t k;
            if (h5p_find(h, root, names[i], &o) == 1 && h5p_attr_strings(h, o, "weight_names", &v, &k) == 1) {
                for (size_t j = 0; j < k; j++) {
                    h5p_obj d;
                    h5p_dataset info;
                    if (h5p_find(h, o, v[j], &d) == 1 && h5p_dataset_info(h, d, &info) == 0 &&
                        (info.offset > size || info.nbytes > size - info.offset))
                        abort();   /* a dataset said to lie outside the file */
                    free(v[j]);
                }
                free(v);
            }
            free(names[i]);
        }
        for (size_t i = 64; i < n; i++) free(names[i]);
        free(names);
    }
    h5p_close(h);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    const ax_net *net = fuzz_spec_net(spec_text);
    ax_error err;
    walk_api(data, size);
    ax_wfile *f = calloc(1, sizeof *f);
    if (!f) return 0;
    if (ax_keras_parse_plain(f, data, size, "fuzz.h5", &err) == AX_OK) {
        for (int i = 0; i < f->count; i++) {
            const unsigned char *p = f->entries[i].data;
            if (p < data || (size_t)(p - data) > size || f->entries[i].nbytes > size - (size_t)(p - data)) abort();
        }
        char notes[512] = "";
        (void)ax_keras_bind(f, net, notes, sizeof notes, &err);
        fuzz_convert_all(f);
    } else if (f->count || f->facts_len) {
        abort();   /* a declined file leaves f as it was */
    }
    ax_wfile_close(f);
    return 0;
}
