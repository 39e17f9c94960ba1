/* The trainer (src/model/train.c): one SGD step with momentum and weight
 * decay against the update written out by hand, a resumed run bitwise equal
 * to an uninterrupted one, and frozen layers left untouched. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alexscope/spec.h"
#include "check_util.h"
#include "alexscope/train.h"
#include "alexscope/idx.h"
#include <zlib.h>

static ax_net *tiny_net(const char *text, int batch)
{
    ax_spec *spec = malloc(sizeof *spec);
    ax_error err = {0};
    ck_assert_ptr_nonnull(spec);
    ck_assert_msg(ax_spec_parse(spec, text, "tiny.net", &err) == AX_OK, "%s", err.msg);
    ax_net *net = NULL;
    ck_assert_msg(ax_net_create(&net, spec, batch, &ax_backend_cpu, &err) == AX_OK, "%s", err.msg);
    free(spec);
    return net;
}

/* x (2) -> fc (2 classes) -> softmax */
static const char *ONE_FC = "name tiny\ninput 2 1 1\nfc f out=2\nsoftmax prob\n";
static const char *TWO_FC = "name tiny2\ninput 3 1 1\nfc f1 out=4\nrelu r\nfc f2 out=2\nsoftmax prob\n";

START_TEST(sgd_by_hand)
{
    ax_net *net = tiny_net(ONE_FC, 1);
    ax_error err = {0};
    float w0[4] = {0.5f, -0.25f, 0.125f, 0.75f}, b0[2] = {0.1f, -0.2f};
    memcpy(net->layers[0].weight.data, w0, sizeof w0);
    memcpy(net->layers[0].bias.data, b0, sizeof b0);
    ck_assert(ax_net_weights_changed(net, -1, &err) == AX_OK);
    const double lr = 0.1, m = 0.9, wd = 0.01;
    ax_trainer *t = NULL;
    ck_assert_msg(ax_trainer_create(&t, net, NULL, lr, m, wd, &err) == AX_OK, "%s", err.msg);
    const float x[2] = {1.0f, 2.0f};
    int label = 0;
    /* by hand in double: z = W x + b, p = softmax(z), dz = p - onehot;
     * dW = dz x^T, db = dz; v = m v + g + wd w; w -= lr v */
    double w[4], b[2], vw[4] = {0}, vb[2] = {0};
    for (int i = 0; i < 4; i++) w[i] = w0[i];
    for (int i = 0; i < 2; i++) b[i] = b0[i];
    for (int step = 0; step < 3; step++) {
        double z[2], p[2];
        for (int o = 0; o < 2; o++) z[o] = w[o * 2] * x[0] + w[o * 2 + 1] * x[1] + b[o];
        double mx = z[0] > z[1] ? z[0] : z[1], s = exp(z[0] - mx) + exp(z[1] - mx);
        for (int o = 0; o < 2; o++) p[o] = exp(z[o] - mx) / s;
        for (int o = 0; o < 2; o++) {
            double dz = p[o] - (o == label);
            for (int k = 0; k < 2; k++) {
                double g = dz * x[k];
                vw[o * 2 + k] = m * vw[o * 2 + k] + g + wd * w[o * 2 + k];
                w[o * 2 + k] -= lr * vw[o * 2 + k];
            }
            vb[o] = m * vb[o] + dz + wd * b[o];
            b[o] -= lr * vb[o];
        }
        double loss;
        int ok;
        ck_assert_msg(ax_trainer_step(t, x, &label, 7, &loss, &ok, &err) == AX_OK, "%s", err.msg);
        ck_assert_msg(fabs(loss + log(p[label])) < 1e-5, "step %d: loss %g, by hand %g", step, loss, -log(p[label]));
        for (int i = 0; i < 4; i++)
            ck_assert_msg(fabs(net->layers[0].weight.data[i] - w[i]) < 1e-6, "step %d: w[%d] = %.9g, by hand %.9g",
                          step, i, net->layers[0].weight.data[i], w[i]);
        for (int i = 0; i < 2; i++)
            ck_assert_msg(fabs(net->layers[0].bias.data[i] - b[i]) < 1e-6, "step %d: b[%d] = %.9g, by hand %.9g",
                          step, i, net->layers[0].bias.data[i], b[i]);
    }
    ax_trainer_free(t);
    ax_net_free(net);
}
END_TEST

/* Batch s of a fixed sequence: inputs and labels from the step number. */
static void batch_of(int s, float *x, int *labels)
{
    for (int i = 0; i < 2 * 3; i++) x[i] = (float)sin(0.7 * (s * 6 + i + 1));
    labels[0] = s % 2;
    labels[1] = (s + 1) % 2;
}

static void train_steps(ax_trainer *t, int from, int to)
{
    ax_error err = {0};
    for (int s = from; s < to; s++) {
        float x[6];
        int labels[2], ok;
        double loss;
        batch_of(s, x, labels);
        ck_assert_msg(ax_trainer_step(t, x, labels, 100 + (uint64_t)s, &loss, &ok, &err) == AX_OK, "%s", err.msg);
    }
}

START_TEST(resume_is_bitwise_equal)
{
    ax_error err = {0};
    const int N = 6, k = 2;
    ax_net *a = tiny_net(TWO_FC, 2), *b = tiny_net(TWO_FC, 2);
    ax_net_init_seeded(a, 5);
    ax_net_init_seeded(b, 5);
    ck_assert(ax_net_weights_changed(a, -1, &err) == AX_OK && ax_net_weights_changed(b, -1, &err) == AX_OK);
    ax_trainer *ta = NULL, *tb = NULL;
    ck_assert(ax_trainer_create(&ta, a, NULL, 0.05, 0.9, 5e-4, &err) == AX_OK);
    ck_assert(ax_trainer_create(&tb, b, NULL, 0.05, 0.9, 5e-4, &err) == AX_OK);
    train_steps(ta, 0, N);
    train_steps(tb, 0, k);
    char path[] = "/tmp/ax_check_train_XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    ck_assert_msg(ax_trainer_save(tb, path, 1, 0, k, 1234, &err) == AX_OK, "%s", err.msg);
    ax_trainer_free(tb);
    ax_net_free(b);

    /* a fresh net with other weights: the checkpoint brings weights and momentum */
    ax_net *c = tiny_net(TWO_FC, 2);
    ax_net_init_seeded(c, 99);
    ax_trainer *tc = NULL;
    ck_assert(ax_trainer_create(&tc, c, NULL, 0.05, 0.9, 5e-4, &err) == AX_OK);
    int epoch = -1, step = -1;
    uint64_t seed = 0;
    ck_assert_msg(ax_trainer_resume(tc, path, &epoch, &step, &seed, &err) == AX_OK, "%s", err.msg);
    unlink(path);
    ck_assert_int_eq(epoch, 0);
    ck_assert_int_eq(step, k);
    ck_assert(seed == 1234);
    train_steps(tc, k, N);
    for (int i = 0; i < a->nlayers; i++) {
        if (!a->layers[i].weight.ndim) continue;
        ck_assert_msg(!memcmp(a->layers[i].weight.data, c->layers[i].weight.data,
                              ax_tensor_numel(&a->layers[i].weight) * sizeof(float)),
                      "%s: resumed weights differ from the run in one go", a->layers[i].spec.name);
        ck_assert_msg(!memcmp(a->layers[i].bias.data, c->layers[i].bias.data,
                              ax_tensor_numel(&a->layers[i].bias) * sizeof(float)),
                      "%s: resumed biases differ from the run in one go", a->layers[i].spec.name);
    }
    ax_trainer_free(ta);
    ax_trainer_free(tc);
    ax_net_free(a);
    ax_net_free(c);
}
END_TEST

START_TEST(frozen_layers_untouched)
{
    ax_error err = {0};
    ax_net *net = tiny_net(TWO_FC, 2);
    ax_net_init_seeded(net, 3);
    ck_assert(ax_net_weights_changed(net, -1, &err) == AX_OK);
    int f1 = ax_net_find(net, "f1"), f2 = ax_net_find(net, "f2");
    ck_assert(f1 >= 0 && f2 >= 0);
    size_t n1 = ax_tensor_numel(&net->layers[f1].weight), n2 = ax_tensor_numel(&net->layers[f2].weight);
    float *w1 = malloc(n1 * sizeof *w1), *b1 = malloc(4 * sizeof *b1), *w2 = malloc(n2 * sizeof *w2);
    memcpy(w1, net->layers[f1].weight.data, n1 * sizeof *w1);
    memcpy(b1, net->layers[f1].bias.data, 4 * sizeof *b1);
    memcpy(w2, net->layers[f2].weight.data, n2 * sizeof *w2);
    unsigned char *frozen = calloc((size_t)net->nlayers, 1);
    frozen[f1] = 1;
    ax_trainer *t = NULL;
    ck_assert(ax_trainer_create(&t, net, frozen, 0.1, 0.9, 1e-2, &err) == AX_OK);
    train_steps(t, 0, 4);
    ck_assert_msg(!memcmp(w1, net->layers[f1].weight.data, n1 * sizeof *w1), "the frozen f1's weights changed");
    ck_assert_msg(!memcmp(b1, net->layers[f1].bias.data, 4 * sizeof *b1), "the frozen f1's biases changed");
    ck_assert_msg(memcmp(w2, net->layers[f2].weight.data, n2 * sizeof *w2), "the trained f2 did not change");
    ax_trainer_free(t);
    ax_net_free(net);
    free(w1); free(b1); free(w2); free(frozen);
}
END_TEST

/* An IDX header: magic, then the dims (big-endian), then the elements. */
static size_t idx_bytes(unsigned char *b, unsigned magic, const unsigned *dims, int nd, size_t elems)
{
    size_t n = 0;
    unsigned v[4] = {magic, 0, 0, 0};
    for (int d = 0; d < nd; d++) v[d + 1] = dims[d];
    for (int i = 0; i <= nd; i++)
        for (int k = 3; k >= 0; k--) b[n++] = (unsigned char)(v[i] >> (8 * k));
    for (size_t i = 0; i < elems; i++) b[n++] = (unsigned char)(i * 37 + 1);
    return n;
}

START_TEST(idx_header_checked)
{
    unsigned char b[256], z[512];
    ax_idx x;
    ax_error err = {0};
    unsigned dims[3] = {2, 3, 4};
    size_t n = idx_bytes(b, 0x803, dims, 3, 24);
    ck_assert_msg(ax_idx_parse(&x, b, n, 3, "a.idx", &err) == AX_OK, "%s", err.msg);
    ck_assert_int_eq(x.dims[0], 2); ck_assert_int_eq(x.dims[1], 3); ck_assert_int_eq(x.dims[2], 4);
    ck_assert_int_eq(x.data[5], (unsigned char)(5 * 37 + 1));
    ax_idx_free(&x);
    /* the same gzip'ed reads the same */
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    ck_assert_int_eq(deflateInit2(&zs, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
    zs.next_in = b; zs.avail_in = (unsigned)n; zs.next_out = z; zs.avail_out = sizeof z;
    ck_assert_int_eq(deflate(&zs, Z_FINISH), Z_STREAM_END);
    size_t zn = sizeof z - zs.avail_out;
    deflateEnd(&zs);
    ck_assert_msg(ax_idx_parse(&x, z, zn, 3, "a.idx.gz", &err) == AX_OK, "%s", err.msg);
    ck_assert_int_eq(x.data[23], (unsigned char)(23 * 37 + 1));
    ax_idx_free(&x);
    ck_assert_int_eq(ax_idx_parse(&x, z, zn - 6, 3, "a.idx.gz", &err), AX_ERR_FORMAT);
    ck_assert_msg(strstr(err.msg, "a.idx.gz: the gzip stream ends early"), "%s", err.msg);
    /* a label file is not an image file, nor the other way */
    ck_assert_int_eq(ax_idx_parse(&x, b, n, 1, "a.idx", &err), AX_ERR_FORMAT);
    ck_assert_msg(strstr(err.msg, "a.idx: an IDX file of 3 dimensions; an IDX label file has 1"), "%s", err.msg);
    /* floats are IDX too, but not read */
    n = idx_bytes(b, 0x0D03, dims, 3, 24);
    ck_assert_int_eq(ax_idx_parse(&x, b, n, 3, "f.idx", &err), AX_ERR_UNSUPPORTED);
    ck_assert_msg(strstr(err.msg, "type 0x0D"), "%s", err.msg);
    ck_assert_int_eq(ax_idx_parse(&x, (const unsigned char *)"PK\3\4xxxxxxxxxxxx", 16, 3, "z.idx", &err), AX_ERR_FORMAT);
    ck_assert_msg(strstr(err.msg, "z.idx: not an IDX image file (magic 0x504B0304"), "%s", err.msg);
    /* every dimension in range, and the elements exactly as many as declared */
    unsigned big[3] = {AX_IDX_MAX_COUNT + 1, 1, 1};
    n = idx_bytes(b, 0x803, big, 3, 0);
    ck_assert_int_eq(ax_idx_parse(&x, b, n, 3, "c.idx", &err), AX_ERR_FORMAT);
    ck_assert_msg(strstr(err.msg, "the image count is 200001; 1..200000"), "%s", err.msg);
    unsigned wide[3] = {1, 1, AX_IDX_MAX_SIDE + 1};
    n = idx_bytes(b, 0x803, wide, 3, 0);
    ck_assert_int_eq(ax_idx_parse(&x, b, n, 3, "w.idx", &err), AX_ERR_FORMAT);
    ck_assert_msg(strstr(err.msg, "the image columns is 4097"), "%s", err.msg);
    unsigned lab[1] = {10};
    n = idx_bytes(b, 0x801, lab, 1, 9);
    ck_assert_int_eq(ax_idx_parse(&x, b, n, 1, "l.idx", &err), AX_ERR_FORMAT);
    ck_assert_msg(strstr(err.msg, "l.idx: truncated: the header declares 10 labels (10 bytes), the file holds 9"),
                  "%s", err.msg);
    ck_assert_int_eq(ax_idx_parse(&x, b, 6, 1, "h.idx", &err), AX_ERR_FORMAT);
    ck_assert_msg(strstr(err.msg, "h.idx: truncated: 6 bytes, the IDX header alone is 8"), "%s", err.msg);
}
END_TEST

/* A grey data set's batch: the plane in every channel, each with its own
 * mean and std, exactly as an RGB image of three equal planes. */
START_TEST(grey_batch_replicated)
{
    ax_spec spec;
    ax_error err = {0};
    ck_assert(ax_spec_parse(&spec, "name g\ninput 3 2 2\npreprocess resize=none order=bgr scale=1 mean=0.1,0.2,0.3 "
                            "std=0.5,0.25,2\nflatten f order=chw\nfc c out=2\nsoftmax p\n", "g.net", &err) == AX_OK);
    unsigned char grey[4] = {0, 51, 102, 255}, rgb[12];
    for (int k = 0; k < 4; k++) rgb[3 * k] = rgb[3 * k + 1] = rgb[3 * k + 2] = grey[k];
    int lab = 1, idx0 = 0, got[2];
    ax_dataset g = {.count = 1, .label = &lab, .pix = grey, .rh = 2, .rw = 2, .channels = 1};
    ax_dataset c = {.count = 1, .label = &lab, .pix = rgb, .rh = 2, .rw = 2, .channels = 3};
    uint64_t key = 0;
    float xg[12], xc[12];
    ax_dataset_batch(xg, got, &g, &idx0, &key, 1, &spec, 0, 0);
    ax_dataset_batch(xc, got + 1, &c, &idx0, &key, 1, &spec, 0, 0);
    ck_assert_int_eq(got[0], 1);
    ck_assert_mem_eq(xg, xc, sizeof xg);
    ck_assert_float_eq_tol(xg[4 + 3], (1.0f - 0.2f) / 0.25f, 1e-6);   /* channel 1, pixel 3 */
}
END_TEST

static Suite *train_suite(void)
{
    Suite *s = suite_create("train");
    TCase *t = tcase_create("sgd");
    tcase_add_test(t, sgd_by_hand);
    tcase_add_test(t, resume_is_bitwise_equal);
    tcase_add_test(t, frozen_layers_untouched);
    tcase_add_test(t, idx_header_checked);
    tcase_add_test(t, grey_batch_replicated);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return ax_run_suite(train_suite());
}
