/* Caffe .caffemodel and Keras .h5 readers: every good fixture loads to the
 * same activations, bit for bit, as the safetensors original; bad files are
 * refused with a message naming the file and the problem; the spec check and
 * the .net writer. Fixtures: tests/fixtures/caffe and keras (scripts beside). */
#include "check_util.h"
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alexscope/backend.h"
#include "alexscope/image.h"
#include "alexscope/net.h"
#include "alexscope/spec.h"
#include "alexscope/weights.h"
#include "weights/caffe.h"
#include "weights/wfile_internal.h"

/* Net from a spec file, input from the reference fixture. */
static ax_net *open_net(const char *spec_path, const char *input_name)
{
    ax_error err = {0};
    ax_spec *spec = malloc(sizeof *spec);
    ck_assert_ptr_nonnull(spec);
    ax_status st = ax_spec_load(spec, spec_path, &err);
    ck_assert_msg(st == AX_OK, "%s", err.msg);
    float *input = NULL;
    int n, c, h, w;
    st = ax_input_npy_load(&input, &n, &c, &h, &w, ax_fixture(input_name), &err);
    ck_assert_msg(st == AX_OK, "%s", err.msg);
    ax_net *net = NULL;
    st = ax_net_create(&net, spec, n, &ax_backend_cpu, &err);
    ck_assert_msg(st == AX_OK, "%s", err.msg);
    free(spec);
    st = ax_net_set_input(net, input, n, c, h, w, &err);
    ck_assert_msg(st == AX_OK, "%s", err.msg);
    free(input);
    return net;
}

/* Every layer's output after loading `weights`, in one malloc'd block. */
static float *run_all(ax_net *net, const char *weights, size_t *total, char *warn, size_t warn_size)
{
    ax_error err = {0};
    ax_status st = ax_net_load_weights(net, weights, 0, warn, warn_size, &err);
    ck_assert_msg(st == AX_OK, "%s", err.msg);
    st = ax_net_forward(net, &err);
    ck_assert_msg(st == AX_OK, "%s", err.msg);
    size_t n = 0;
    for (int i = 0; i < net->nlayers; i++) n += ax_tensor_numel(&net->layers[i].out);
    float *all = malloc(n * sizeof *all);
    ck_assert_ptr_nonnull(all);
    size_t at = 0;
    for (int i = 0; i < net->nlayers; i++) {
        size_t k = ax_tensor_numel(&net->layers[i].out);
        memcpy(all + at, net->layers[i].out.data, k * sizeof *all);
        at += k;
    }
    *total = n;
    return all;
}

/* Loads `file` and the safetensors original into the net; every layer's
 * output must be identical (memcmp). */
static void same_as_original(const char *netname, const char *file)
{
    char spec_path[4096], ref_path[4096], input[256];
    snprintf(spec_path, sizeof spec_path, "%s", ax_fixture(netname));
    strcat(spec_path, ".net");
    snprintf(ref_path, sizeof ref_path, "%s.safetensors", ax_fixture(netname));
    snprintf(input, sizeof input, "%s.input.npy", netname);
    ax_net *net = open_net(spec_path, input);
    char warn[512];
    size_t n_ref, n_got;
    float *ref = run_all(net, ref_path, &n_ref, warn, sizeof warn);
    float *got = run_all(net, ax_fixture(file), &n_got, warn, sizeof warn);
    ck_assert_uint_eq(n_ref, n_got);
    size_t at = 0;
    for (int i = 0; i < net->nlayers; i++) {
        size_t k = ax_tensor_numel(&net->layers[i].out);
        ck_assert_msg(!memcmp(ref + at, got + at, k * sizeof *ref), "%s: layer %d '%s' differs from the "
                      "safetensors original", file, i, net->layers[i].spec.name);
        at += k;
    }
    /* and not trivially: the outputs are not all zero */
    int nonzero = 0;
    for (size_t i = 0; i < n_got && !nonzero; i++) nonzero = got[i] != 0;
    ck_assert(nonzero);
    free(ref);
    free(got);
    ax_net_free(net);
}

/* Loading `file` into `netname` fails with `code`, and the message names the
 * file and holds every one of the NULL-terminated fragments. */
static void refused(const char *netname, const char *file, ax_status code, const char *const *frags)
{
    char spec_path[4096], input[256];
    snprintf(spec_path, sizeof spec_path, "%s.net", ax_fixture(netname));
    snprintf(input, sizeof input, "%s.input.npy", netname);
    ax_net *net = open_net(spec_path, input);
    ax_error err = {0};
    char warn[512];
    const char *path = ax_fixture(file);
    char pathcopy[4096];
    snprintf(pathcopy, sizeof pathcopy, "%s", path);
    ax_status st = ax_net_load_weights(net, pathcopy, 0, warn, sizeof warn, &err);
    ck_assert_msg(st == code, "%s: expected %s, got %s: %s", file, ax_status_name(code), ax_status_name(st), err.msg);
    ck_assert_msg(strstr(err.msg, pathcopy) != NULL, "message does not name the file: %s", err.msg);
    for (int i = 0; frags[i]; i++)
        ck_assert_msg(strstr(err.msg, frags[i]) != NULL, "message lacks '%s': %s", frags[i], err.msg);
    ck_assert_int_eq(net->untrained, 1);
    ax_net_free(net);
}

/* ---- caffe ------------------------------------------------------------------ */

START_TEST(caffe_v1_legacy) { same_as_original("ref/caffe-tiny", "caffe/v1_legacy.caffemodel"); }
END_TEST
START_TEST(caffe_v2_shape) { same_as_original("ref/caffe-tiny", "caffe/v2_shape.caffemodel"); }
END_TEST
START_TEST(caffe_mixed_double) { same_as_original("ref/caffe-tiny", "caffe/mixed_double.caffemodel"); }
END_TEST
START_TEST(caffe_transposed) { same_as_original("ref/caffe-tiny", "caffe/transposed.caffemodel"); }
END_TEST

START_TEST(caffe_facts)
{
    ax_wfile *f = NULL;
    ax_error err = {0};
    ax_status st = ax_wfile_open(&f, ax_fixture("caffe/v1_legacy.caffemodel"), &err);
    ck_assert_msg(st == AX_OK, "%s", err.msg);
    ck_assert_str_eq(f->format, "caffemodel");
    ck_assert_int_eq(f->count, 16);   /* 5 conv + 3 fc, weight and bias each */
    const ax_wentry *e = ax_wfile_find(f, "fc6.weight");
    ck_assert_ptr_nonnull(e);
    ck_assert_int_eq(e->ndim, 2);   /* legacy (1, 1, out, in) lost its leading ones */
    ck_assert_int_eq(e->shape[0], 32);
    ck_assert_int_eq(e->shape[1], 16 * 6 * 6);
    e = ax_wfile_find(f, "conv2.weight");
    ck_assert_ptr_nonnull(e);
    ck_assert_int_eq(e->ndim, 4);
    ck_assert_int_eq(e->shape[1], 4);   /* 8 input channels over 2 groups */
    e = ax_wfile_find(f, "conv2.bias");
    ck_assert_int_eq(e->ndim, 1);
    ck_assert_ptr_nonnull(f->facts);
    ck_assert_msg(strstr(f->facts, "layer conv2 Convolution out=16 k=5x5 s=1x1 pad=2x2 group=2") != NULL, "%s", f->facts);
    ck_assert_msg(strstr(f->facts, "layer norm2 LRN size=5 alpha=0.0001 beta=0.75 k=2") != NULL, "%s", f->facts);
    ck_assert_msg(strstr(f->facts, "skipped (no weights): data (Data), loss (SoftmaxWithLoss), accuracy (Accuracy)"),
                  "%s", f->facts);
    ax_wfile_close(f);

    st = ax_wfile_open(&f, ax_fixture("caffe/mixed_double.caffemodel"), &err);
    ck_assert_msg(st == AX_OK, "%s", err.msg);
    ck_assert_int_eq(ax_wfile_find(f, "conv1.weight")->dtype, AX_DT_F64);
    ck_assert_int_eq(ax_wfile_find(f, "fc8.weight")->dtype, AX_DT_F32);
    ax_wfile_close(f);
}
END_TEST

/* A blob with a zero dimension holds no data: its entry still points
 * somewhere (found by fuzzing: a NULL went to memcpy). */
START_TEST(caffe_empty_blob)
{
    ax_wfile *f = NULL;
    ax_error err = {0};
    ax_status st = ax_wfile_open(&f, ax_fixture("../fuzz/regress/caffe/empty_blob_null_data.caffemodel"), &err);
    ck_assert_msg(st == AX_OK, "%s", err.msg);
    int empty = 0;
    for (int i = 0; i < f->count; i++) {
        ck_assert_ptr_nonnull(f->entries[i].data);
        empty += ax_wentry_numel(&f->entries[i]) == 0;
    }
    ck_assert_int_ge(empty, 1);
    ax_wfile_close(f);
}
END_TEST

/* Blob data in several pieces (two packed runs with a single value between,
 * as protobuf allows) is gathered in order; one packed run is used in place. */
START_TEST(caffe_split_data)
{
    static const unsigned char shape[] = {0x0a, 0x04, 1, 1, 1, 3};               /* dim: packed (1, 1, 1, 3) */
    unsigned char blob[64], layer[128], net[160];
    size_t nb = 0, nl = 0, nn = 0;
    float v[3] = {1.5f, -2.25f, 3.0f};
    blob[nb++] = 0x3a;                                                         /* shape = 7 */
    blob[nb++] = sizeof shape;
    memcpy(blob + nb, shape, sizeof shape);
    nb += sizeof shape;
    blob[nb++] = 0x2a, blob[nb++] = 4, memcpy(blob + nb, &v[0], 4), nb += 4;   /* data = 5, packed */
    blob[nb++] = 0x2d, memcpy(blob + nb, &v[1], 4), nb += 4;                   /* data = 5, one float */
    blob[nb++] = 0x2a, blob[nb++] = 4, memcpy(blob + nb, &v[2], 4), nb += 4;
    memcpy(layer + nl, "\x0a\x01" "c" "\x12\x0b" "Convolution", 16), nl += 16;
    layer[nl++] = 0x3a, layer[nl++] = (unsigned char)nb;                        /* blobs = 7 */
    memcpy(layer + nl, blob, nb), nl += nb;
    net[nn++] = 0xa2, net[nn++] = 0x06, net[nn++] = (unsigned char)nl;          /* layer = 100 */
    memcpy(net + nn, layer, nl), nn += nl;
    ck_assert(ax_caffe_sniff(net, nn));
    ax_wfile *f = calloc(1, sizeof *f);
    ck_assert_ptr_nonnull(f);
    ax_error err = {0};
    ax_status st = ax_caffe_parse(f, net, nn, "split.caffemodel", &err);
    ck_assert_msg(st == AX_OK, "%s", err.msg);
    const ax_wentry *e = ax_wfile_find(f, "c.weight");
    ck_assert_ptr_nonnull(e);
    ck_assert_int_eq(e->ndim, 4);
    ck_assert_int_eq(e->shape[3], 3);
    float got[3];
    ax_wentry_to_f32(e, got);
    ck_assert(!memcmp(got, v, sizeof v));
    ck_assert(!((const unsigned char *)e->data >= net && (const unsigned char *)e->data < net + nn));  /* gathered */
    ax_wfile_close(f);

    /* the same blob with one packed run is read in place */
    nb = 2 + sizeof shape;
    blob[nb++] = 0x2a, blob[nb++] = 12, memcpy(blob + nb, v, 12), nb += 12;
    nl = 16;
    layer[nl++] = 0x3a, layer[nl++] = (unsigned char)nb;
    memcpy(layer + nl, blob, nb), nl += nb;
    nn = 0;
    net[nn++] = 0xa2, net[nn++] = 0x06, net[nn++] = (unsigned char)nl;
    memcpy(net + nn, layer, nl), nn += nl;
    f = calloc(1, sizeof *f);
    ck_assert_ptr_nonnull(f);
    st = ax_caffe_parse(f, net, nn, "one.caffemodel", &err);
    ck_assert_msg(st == AX_OK, "%s", err.msg);
    e = ax_wfile_find(f, "c.weight");
    ck_assert_ptr_nonnull(e);
    ax_wentry_to_f32(e, got);
    ck_assert(!memcmp(got, v, sizeof v));
    ck_assert((const unsigned char *)e->data > net && (const unsigned char *)e->data < net + nn);
    ax_wfile_close(f);
}
END_TEST

START_TEST(caffe_bad_truncated)
{
    const char *frags[] = {"Caffe NetParameter", "field 100 at byte 568", "truncated", NULL};
    refused("ref/caffe-tiny", "caffe/bad_truncated.caffemodel", AX_ERR_FORMAT, frags);
}
END_TEST

START_TEST(caffe_bad_inner_length)
{
    const char *frags[] = {"does not parse", NULL};
    refused("ref/caffe-tiny", "caffe/bad_inner_length.caffemodel", AX_ERR_FORMAT, frags);
}
END_TEST

START_TEST(caffe_bad_group)
{
    const char *frags[] = {"conv2: group 1 in the file, groups=2 in the spec", "inspect --spec", NULL};
    refused("ref/caffe-tiny", "caffe/bad_group.caffemodel", AX_ERR_SPEC, frags);
}
END_TEST

/* Each geometry or constant the spec changes is named. */
START_TEST(caffe_check_spec_names_each_mismatch)
{
    ax_error err = {0};
    ax_spec *spec = malloc(sizeof *spec);
    ck_assert_ptr_nonnull(spec);
    ck_assert_int_eq(ax_spec_load(spec, ax_fixture("ref/caffe-tiny.net"), &err), AX_OK);
    ax_wfile *f = NULL;
    ck_assert_int_eq(ax_wfile_open(&f, ax_fixture("caffe/v2_shape.caffemodel"), &err), AX_OK);
    /* one edit of the spec per case (the switch below), the fragment the message must hold */
    struct { const char *layer; const char *frag; } cases[] = {
        {"pool1", "pool1 (file 'pool1'): pooling rounds up (ceil) in the file, round=floor"},
        {"norm2", "norm2 (file 'norm2'): LRN k 2 in the file, 1 in the spec"},
        {"conv1", "conv1: stride 4x4 in the file, 3x3 in the spec"},
        {"norm1", "norm1 (file 'norm1'): LRN window 5 in the file, 3 in the spec"},
        {"conv3", "conv3: pad 1x1 in the file, 0,0,0,0"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        ax_spec s = *spec;
        ax_layer_spec *l = NULL;
        for (int i = 0; i < s.nlayers; i++)
            if (!strcmp(s.layers[i].name, cases[c].layer)) l = &s.layers[i];
        ck_assert_ptr_nonnull(l);
        switch (c) {
        case 0: l->rounding = AX_ROUND_FLOOR; break;
        case 1: l->lrn_k = 1; break;
        case 2: l->sh = l->sw = 3; break;
        case 3: l->lrn_size = 3; l->lrn_alpha = 0.0001f * 3 / 5; break;
        case 4: l->pad_t = l->pad_l = l->pad_b = l->pad_r = 0; break;
        }
        ax_net fake;
        memset(&fake, 0, sizeof fake);
        fake.spec = s;
        char msg[1024];
        ax_status st = ax_caffe_check_spec(f, &fake, msg, sizeof msg);
        ck_assert_int_eq(st, AX_ERR_SPEC);
        ck_assert_msg(strstr(msg, cases[c].frag) != NULL, "case %zu: '%s' not in: %s", c, cases[c].frag, msg);
    }
    ax_net fake;
    memset(&fake, 0, sizeof fake);
    fake.spec = *spec;
    char msg[1024];
    ck_assert_int_eq(ax_caffe_check_spec(f, &fake, msg, sizeof msg), AX_OK);
    /* LRN in the TF convention with the same numbers is the same layer */
    for (int i = 0; i < fake.spec.nlayers; i++)
        if (fake.spec.layers[i].type == AX_L_LRN) {
            fake.spec.layers[i].lrn_convention = AX_LRN_TF;
            fake.spec.layers[i].lrn_alpha = 0.0001f / 5;
        }
    ck_assert_msg(ax_caffe_check_spec(f, &fake, msg, sizeof msg) == AX_OK, "%s", msg);
    ax_wfile_close(f);
    free(spec);
}
END_TEST

/* The .net printed from a caffemodel parses, and the file loads into it to
 * the same activations as caffe-tiny's. */
static void spec_text_roundtrip(const char *file, const char *input_comment)
{
    char tmpl[] = "/tmp/ax-caffe-spec-XXXXXX.net";
    int fd = mkstemps(tmpl, 4);
    ck_assert_int_ge(fd, 0);
    FILE *out = fdopen(fd, "w");
    ck_assert_ptr_nonnull(out);
    ax_error err = {0};
    ax_status st = ax_caffe_spec_text(ax_fixture(file), out, &err);
    fclose(out);
    ck_assert_msg(st == AX_OK, "%s", err.msg);
    char *text = NULL;
    size_t len = 0;
    FILE *in = fopen(tmpl, "r");
    ck_assert_ptr_nonnull(in);
    text = calloc(1, 65536);
    len = fread(text, 1, 65535, in);
    fclose(in);
    ck_assert_uint_gt(len, 0);
    ck_assert_msg(strstr(text, input_comment) != NULL, "'%s' not in:\n%s", input_comment, text);
    ck_assert_msg(strstr(text, "conv     conv2         out=16 k=5 s=1 pad=2 groups=2") != NULL, "%s", text);

    char ref_path[4096];
    snprintf(ref_path, sizeof ref_path, "%s", ax_fixture("ref/caffe-tiny.safetensors"));
    ax_net *mine = open_net(tmpl, "ref/caffe-tiny.input.npy");
    ax_net *ref = open_net(ax_fixture("ref/caffe-tiny.net"), "ref/caffe-tiny.input.npy");
    char warn[512];
    size_t n1, n2;
    float *a = run_all(ref, ref_path, &n1, warn, sizeof warn);
    float *b = run_all(mine, ax_fixture(file), &n2, warn, sizeof warn);
    /* a file without a softmax or loss layer gives a spec without the softmax */
    ck_assert_int_ge(mine->nlayers, ref->nlayers - 1);
    ck_assert_int_le(mine->nlayers, ref->nlayers);
    size_t at = 0;
    for (int i = 0; i < mine->nlayers; i++) {
        ck_assert_str_eq(mine->layers[i].spec.name, ref->layers[i].spec.name);
        size_t k = ax_tensor_numel(&mine->layers[i].out);
        ck_assert_uint_eq(k, ax_tensor_numel(&ref->layers[i].out));
        ck_assert_msg(!memcmp(a + at, b + at, k * sizeof *a), "%s: layer '%s' of the printed spec differs", file,
                      mine->layers[i].spec.name);
        at += k;
    }
    free(a);
    free(b);
    free(text);
    ax_net_free(mine);
    ax_net_free(ref);
    unlink(tmpl);
}

START_TEST(caffe_spec_text_v1) { spec_text_roundtrip("caffe/v1_legacy.caffemodel", "# the data layer's crop_size"); }
END_TEST
START_TEST(caffe_spec_text_v2) { spec_text_roundtrip("caffe/v2_shape.caffemodel", "input       3 227 227\n"); }
END_TEST
START_TEST(caffe_spec_text_no_input)
{
    spec_text_roundtrip("caffe/transposed.caffemodel", "# The file does not state its input size: 227x227 is assumed.");
}
END_TEST

/* ---- keras ------------------------------------------------------------------ */

#if AX_HAVE_HDF5
START_TEST(keras2_model) { same_as_original("ref/keras-half-tiny", "keras/keras2_model.h5"); }
END_TEST
START_TEST(keras2_weights) { same_as_original("ref/keras-half-tiny", "keras/keras2_weights.h5"); }
END_TEST
START_TEST(keras3_weights) { same_as_original("ref/keras-half-tiny", "keras/keras3.weights.h5"); }
END_TEST

START_TEST(keras_mapping_is_said)
{
    char spec_path[4096];
    snprintf(spec_path, sizeof spec_path, "%s", ax_fixture("ref/keras-half-tiny.net"));
    ax_net *net = open_net(spec_path, "ref/keras-half-tiny.input.npy");
    ax_wfile *f = NULL;
    ax_error err = {0};
    ck_assert_int_eq(ax_wfile_open(&f, ax_fixture("keras/keras2_model.h5"), &err), AX_OK);
    ck_assert_str_eq(f->format, "keras-h5");
    char notes[512] = "";
    ax_status st = ax_wfile_bind(f, net, notes, sizeof notes, &err);
    ck_assert_msg(st == AX_OK, "%s", err.msg);
    ck_assert_msg(strstr(notes, "mapped by order: conv2d->conv1, conv2d_1->conv2") != NULL, "%s", notes);
    ck_assert_msg(strstr(notes, "dense_2->fc8") != NULL, "%s", notes);
    ck_assert_ptr_nonnull(ax_wfile_find(f, "fc8.0"));
    ck_assert_ptr_nonnull(ax_wfile_find(f, "fc8.1"));
    ax_wfile_close(f);
    ax_net_free(net);
}
END_TEST

#if AX_HAVE_HDF5
#include <hdf5.h>
#include <sys/stat.h>

/* Every entry of f lies inside f's mapping of the file, which is the whole file. */
static int entries_in_file(const ax_wfile *f, const char *path)
{
    struct stat st;
    if (!f->map || stat(path, &st) != 0 || (size_t)st.st_size != f->map_size) return 0;
    const char *lo = f->map, *hi = lo + f->map_size;
    for (int i = 0; i < f->count; i++) {
        const char *d = f->entries[i].data;
        if (d < lo || d + f->entries[i].nbytes > hi) return 0;
    }
    return 1;
}

/* Contiguous float datasets (what h5py writes) are used from the file's
 * mapping, not read into memory; a compressed one next to them is read and
 * copied, and both keep their values. */
START_TEST(keras_in_place)
{
    static const char *files[] = {"keras/keras2_model.h5", "keras/keras2_weights.h5", "keras/keras3.weights.h5"};
    ax_error err = {0};
    for (int k = 0; k < 3; k++) {
        char path[4096];
        snprintf(path, sizeof path, "%s", ax_fixture(files[k]));
        ax_wfile *f = NULL;
        ck_assert_int_eq(ax_wfile_open(&f, path, &err), AX_OK);
        ck_assert_int_gt(f->count, 0);
        ck_assert_msg(entries_in_file(f, path), "%s: entries not in the file mapping", files[k]);
        ax_wfile_close(f);
    }

    char path[4096];
    snprintf(path, sizeof path, "%s/ax_keras_mixed_%d.h5", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
             (int)getpid());
    float w[12], b[4] = {0.5f, -1.5f, 2.25f, 8.0f};
    for (int i = 0; i < 12; i++) w[i] = (float)i * 0.25f - 1.0f;
    hid_t fid = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    ck_assert_int_ge(fid, 0);
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);   /* with the groups above it */
    H5Pset_create_intermediate_group(lcpl, 1);
    hid_t g = H5Gcreate2(fid, "layers/dense/vars", lcpl, H5P_DEFAULT, H5P_DEFAULT);
    H5Pclose(lcpl);
    ck_assert_int_ge(g, 0);
    hsize_t wd[2] = {4, 3}, bd[1] = {4};
    hid_t ws = H5Screate_simple(2, wd, NULL), bs = H5Screate_simple(1, bd, NULL);
    hid_t d0 = H5Dcreate2(g, "0", H5T_IEEE_F32LE, ws, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    ck_assert_int_ge(H5Dwrite(d0, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, w), 0);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    ck_assert_int_ge(H5Pset_chunk(dcpl, 1, bd), 0);
    ck_assert_int_ge(H5Pset_deflate(dcpl, 6), 0);
    hid_t d1 = H5Dcreate2(g, "1", H5T_IEEE_F32LE, bs, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    ck_assert_int_ge(H5Dwrite(d1, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, b), 0);
    H5Dclose(d0), H5Dclose(d1), H5Pclose(dcpl), H5Sclose(ws), H5Sclose(bs), H5Gclose(g), H5Fclose(fid);

    ax_wfile *f = NULL;
    ck_assert_msg(ax_wfile_open(&f, path, &err) == AX_OK, "%s", err.msg);
    ck_assert_int_eq(f->count, 2);
    const ax_wentry *ew = NULL, *eb = NULL;
    for (int i = 0; i < f->count; i++) {
        if (f->entries[i].ndim == 2) ew = &f->entries[i];
        if (f->entries[i].ndim == 1) eb = &f->entries[i];
    }
    ck_assert_ptr_nonnull(ew);
    ck_assert_ptr_nonnull(eb);
    const char *lo = f->map, *hi = lo + f->map_size;
    ck_assert_msg((const char *)ew->data >= lo && (const char *)ew->data + ew->nbytes <= hi,
                  "the contiguous kernel is not used from the file");
    ck_assert_msg((const char *)eb->data + eb->nbytes <= lo || (const char *)eb->data >= hi,
                  "the compressed bias cannot be in the file as it is");
    float gw[12], gb[4];
    ax_wentry_to_f32(ew, gw);
    ax_wentry_to_f32(eb, gb);
    ck_assert_mem_eq(gw, w, sizeof w);
    ck_assert_mem_eq(gb, b, sizeof b);
    ax_wfile_close(f);
    unlink(path);
}
END_TEST
#endif

/* The plain-layout reader (h5_plain.c) gives what libhdf5 gives, entry for
 * entry, byte for byte, fact for fact, on every file h5py wrote here; and it
 * declines (for libhdf5 to read) what it does not know or what is wrong. */
static unsigned char *slurp(const char *path, size_t *n)
{
    FILE *fp = fopen(path, "rb");
    ck_assert_msg(fp != NULL, "%s", path);
    fseek(fp, 0, SEEK_END);
    long len = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)len + 1);
    ck_assert(b != NULL);
    ck_assert_int_eq(fread(b, 1, (size_t)len, fp), (size_t)len);
    fclose(fp);
    *n = (size_t)len;
    return b;
}

START_TEST(keras_plain_same_as_libhdf5)
{
    static const char *good[] = {"keras/keras2_model.h5", "keras/keras2_weights.h5", "keras/keras3.weights.h5",
                                 "../fuzz/corpus/keras/keras2_model.h5", "../fuzz/corpus/keras/keras2_split.h5",
                                 "../fuzz/corpus/keras/keras3.weights.h5"};
    for (size_t k = 0; k < sizeof good / sizeof *good; k++) {
        size_t n;
        unsigned char *b = slurp(ax_fixture(good[k]), &n);
        ax_wfile *p = calloc(1, sizeof *p), *h = calloc(1, sizeof *h);
        ax_error err = {0};
        ck_assert_msg(ax_keras_parse_plain(p, b, n, good[k], &err) == AX_OK, "%s: %s", good[k], err.msg);
        ck_assert_msg(ax_keras_parse_here(h, b, n, good[k], &err) == AX_OK, "%s: %s", good[k], err.msg);
        ck_assert_int_gt(p->count, 0);
        ck_assert_int_eq(p->count, h->count);
        for (int i = 0; i < p->count; i++) {
            const ax_wentry *a = &p->entries[i], *c = &h->entries[i];
            ck_assert_str_eq(a->name, c->name);
            ck_assert_int_eq(a->dtype, c->dtype);
            ck_assert_int_eq(a->ndim, c->ndim);
            for (int d = 0; d < a->ndim; d++) ck_assert_int_eq(a->shape[d], c->shape[d]);
            ck_assert_int_eq(a->nbytes, c->nbytes);
            ck_assert_msg(!memcmp(a->data, c->data, a->nbytes), "%s: %s differs", good[k], a->name);
            ck_assert_msg((const unsigned char *)a->data >= b && (const unsigned char *)a->data + a->nbytes <= b + n,
                          "%s: %s not in the file", good[k], a->name);
        }
        ck_assert_str_eq(p->facts ? p->facts : "", h->facts ? h->facts : "");
        ck_assert_str_eq(p->format, "keras-h5");
        ax_wfile_close(p);
        ax_wfile_close(h);
        free(b);
    }
    /* libhdf5's errors stay libhdf5's: an int kernel, a link into another file, the file that crashed it */
    static const char *decline[] = {"keras/bad_int_kernel.h5", "keras/external_link.h5", "keras/libhdf5_crash.h5"};
    for (size_t k = 0; k < sizeof decline / sizeof *decline; k++) {
        size_t n;
        unsigned char *b = slurp(ax_fixture(decline[k]), &n);
        ax_wfile *p = calloc(1, sizeof *p);
        ax_error err = {0};
        ck_assert_int_eq(ax_keras_parse_plain(p, b, n, decline[k], &err), AX_ERR_UNSUPPORTED);
        ck_assert_int_eq(p->count, 0);
        ck_assert_int_eq(p->facts_len, 0);
        ax_wfile_close(p);
        free(b);
    }
}
END_TEST

/* Files libhdf5 writes outside the plain layout (the newest file format; a
 * chunked dataset) are declined by the plain reader and still load, through
 * libhdf5, with their values. */
START_TEST(keras_not_plain_still_loads)
{
    float w[12], bias[4] = {0.5f, -1.5f, 2.25f, 8.0f};
    for (int i = 0; i < 12; i++) w[i] = (float)i * 0.5f - 2.0f;
    for (int variant = 0; variant < 2; variant++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/ax_keras_notplain_%d_%d.h5", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
                 (int)getpid(), variant);
        hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
        if (variant == 0) H5Pset_libver_bounds(fapl, H5F_LIBVER_LATEST, H5F_LIBVER_LATEST);
        hid_t fid = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
        ck_assert_int_ge(fid, 0);
        hid_t g = H5Gcreate2(fid, "dense", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        hid_t st = H5Tcopy(H5T_C_S1);
        H5Tset_size(st, 8);
        const char names[2][8] = {"kernel", "bias"};
        hsize_t two = 2;
        hid_t sp2 = H5Screate_simple(1, &two, NULL);
        hid_t a = H5Acreate2(g, "weight_names", st, sp2, H5P_DEFAULT, H5P_DEFAULT);
        H5Awrite(a, st, names);
        H5Aclose(a);
        hsize_t one = 1;
        hid_t sp1 = H5Screate_simple(1, &one, NULL);
        a = H5Acreate2(fid, "layer_names", st, sp1, H5P_DEFAULT, H5P_DEFAULT);
        H5Awrite(a, st, "dense");
        H5Aclose(a);
        hsize_t kd[2] = {3, 4}, bd = 4;
        hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
        if (variant == 1) H5Pset_chunk(dcpl, 2, (hsize_t[2]){1, 4});
        hid_t ks = H5Screate_simple(2, kd, NULL), bs = H5Screate_simple(1, &bd, NULL);
        hid_t d = H5Dcreate2(g, "kernel", H5T_IEEE_F32LE, ks, H5P_DEFAULT, dcpl, H5P_DEFAULT);
        H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, w);
        H5Dclose(d);
        d = H5Dcreate2(g, "bias", H5T_IEEE_F32LE, bs, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, bias);
        H5Dclose(d);
        H5Sclose(ks), H5Sclose(bs), H5Sclose(sp1), H5Sclose(sp2), H5Tclose(st), H5Pclose(dcpl), H5Pclose(fapl);
        H5Gclose(g);
        H5Fclose(fid);

        size_t n;
        unsigned char *b = slurp(path, &n);
        ax_wfile *p = calloc(1, sizeof *p);
        ax_error err = {0};
        ck_assert_int_eq(ax_keras_parse_plain(p, b, n, path, &err), AX_ERR_UNSUPPORTED);
        ax_wfile_close(p);
        free(b);
        ax_wfile *f = NULL;
        ck_assert_msg(ax_wfile_open(&f, path, &err) == AX_OK, "%s", err.msg);
        ck_assert_int_eq(f->count, 2);
        ck_assert_msg(!strstr(f->facts, "without libhdf5"), "%s", f->facts);
        const ax_wentry *k = ax_wfile_find(f, "dense/kernel"), *bb = ax_wfile_find(f, "dense/bias");
        ck_assert(k && bb);
        ck_assert_int_eq(k->nbytes, sizeof w);
        ck_assert(!memcmp(k->data, w, sizeof w));
        ck_assert(!memcmp(bb->data, bias, sizeof bias));
        ax_wfile_close(f);
        unlink(path);
    }
}
END_TEST

START_TEST(keras_int_kernel)
{
    const char *frags[] = {"conv2d/kernel:0", "integers", NULL};
    refused("ref/keras-half-tiny", "keras/bad_int_kernel.h5", AX_ERR_FORMAT, frags);
}
END_TEST

/* Names that match the spec's are mapped by name (the fuzz seed's layers
 * are called conv2d and dense). */
START_TEST(keras_by_name)
{
    char text[] = "name named\ninput 1 8 8\nconv conv2d out=2 k=2 s=1 pad=0\nrelu r\n"
                  "flatten flat order=hwc\nfc dense out=3\n";
    ax_spec *spec = malloc(sizeof *spec);
    ck_assert_ptr_nonnull(spec);
    ax_error err = {0};
    ck_assert_int_eq(ax_spec_parse(spec, text, "named.net", &err), AX_OK);
    ax_net *net = NULL;
    ck_assert_int_eq(ax_net_create(&net, spec, 1, &ax_backend_cpu, &err), AX_OK);
    free(spec);
    char warn[1024] = "";
    ax_status st = ax_net_load_weights(net, ax_fixture("../fuzz/corpus/keras/keras2_model.h5"), 0, warn, sizeof warn,
                                       &err);
    ck_assert_msg(st == AX_OK, "%s", err.msg);
    ck_assert_msg(strstr(warn, "mapped by name: conv2d->conv2d, dense->dense") != NULL, "%s", warn);
    ax_net_free(net);
}
END_TEST

/* A file that crashes libhdf5 1.10 (found by fuzzing): the crash stays in
 * the reader's child process and is an error naming the file. */
START_TEST(keras_libhdf5_crash)
{
    ax_wfile *f = NULL;
    ax_error err = {0};
    const char *path = ax_fixture("keras/libhdf5_crash.h5");
    char copy[4096];
    snprintf(copy, sizeof copy, "%s", path);
    ax_status st = ax_wfile_open(&f, copy, &err);
    ck_assert_int_eq(st, AX_ERR_FORMAT);
    ck_assert_ptr_null(f);
    ck_assert_msg(strstr(err.msg, copy) == err.msg, "%s", err.msg);
}
END_TEST

/* A layer group that links into another file is not followed, even where
 * libhdf5 would find that file (HDF5_EXT_PREFIX names its folder). */
START_TEST(keras_external_link)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", ax_fixture("keras"));
    setenv("HDF5_EXT_PREFIX", dir, 1);
    ax_wfile *f = NULL;
    ax_error err = {0};
    ax_status st = ax_wfile_open(&f, ax_fixture("keras/external_link.h5"), &err);
    unsetenv("HDF5_EXT_PREFIX");
    ck_assert_msg(st == AX_ERR_FORMAT, "%s: %s", ax_status_name(st), err.msg);
    ck_assert_msg(strstr(err.msg, "'conv2d'") != NULL, "%s", err.msg);
}
END_TEST

START_TEST(keras_wrong_model)
{
    /* caffe-tiny also has eight layers with weights, so the Keras layers map
     * by order, but its grouped conv2 cannot take keras-half's kernel */
    char spec_path[4096];
    snprintf(spec_path, sizeof spec_path, "%s", ax_fixture("ref/caffe-tiny.net"));
    ax_net *net = open_net(spec_path, "ref/caffe-tiny.input.npy");
    ax_error err = {0};
    char warn[512];
    ax_status st = ax_net_load_weights(net, ax_fixture("keras/keras3.weights.h5"), 0, warn, sizeof warn, &err);
    ck_assert_int_ne(st, AX_OK);
    ck_assert_msg(strstr(err.msg, "keras3.weights.h5") != NULL, "%s", err.msg);
    ax_net_free(net);
}
END_TEST
#else
START_TEST(keras_without_hdf5)
{
    const char *frags[] = {"built without HDF5", "libhdf5-dev", NULL};
    refused("ref/keras-half-tiny", "keras/keras2_model.h5", AX_ERR_UNSUPPORTED, frags);
}
END_TEST
#endif

static Suite *formats_suite(void)
{
    Suite *s = suite_create("formats_caffe_keras");
    TCase *tc = tcase_create("caffe");
    tcase_set_timeout(tc, AX_CHECK_TIMEOUT);
    tcase_add_test(tc, caffe_v1_legacy);
    tcase_add_test(tc, caffe_v2_shape);
    tcase_add_test(tc, caffe_mixed_double);
    tcase_add_test(tc, caffe_transposed);
    tcase_add_test(tc, caffe_facts);
    tcase_add_test(tc, caffe_empty_blob);
    tcase_add_test(tc, caffe_split_data);
    tcase_add_test(tc, caffe_bad_truncated);
    tcase_add_test(tc, caffe_bad_inner_length);
    tcase_add_test(tc, caffe_bad_group);
    tcase_add_test(tc, caffe_check_spec_names_each_mismatch);
    tcase_add_test(tc, caffe_spec_text_v1);
    tcase_add_test(tc, caffe_spec_text_v2);
    tcase_add_test(tc, caffe_spec_text_no_input);
    suite_add_tcase(s, tc);
    tc = tcase_create("keras");
    tcase_set_timeout(tc, AX_CHECK_TIMEOUT);
#if AX_HAVE_HDF5
    tcase_add_test(tc, keras2_model);
    tcase_add_test(tc, keras2_weights);
    tcase_add_test(tc, keras3_weights);
    tcase_add_test(tc, keras_mapping_is_said);
    tcase_add_test(tc, keras_int_kernel);
    tcase_add_test(tc, keras_libhdf5_crash);
    tcase_add_test(tc, keras_by_name);
    tcase_add_test(tc, keras_external_link);
    tcase_add_test(tc, keras_wrong_model);
    tcase_add_test(tc, keras_in_place);
    tcase_add_test(tc, keras_plain_same_as_libhdf5);
    tcase_add_test(tc, keras_not_plain_still_loads);
#else
    tcase_add_test(tc, keras_without_hdf5);
#endif
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return ax_run_suite(formats_suite());
}
