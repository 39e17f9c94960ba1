/* Net spec parsing and shape resolution: the four built-in specs resolve to the
 * published shapes of each variant (weights/README.md), and every kind of
 * mistake is reported with file:line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alexscope/net.h"
#include "check_util.h"

static ax_spec spec;
static ax_error err;

static ax_status parse(const char *text)
{
    memset(&err, 0, sizeof err);
    return ax_spec_parse(&spec, text, "t.net", &err);
}

#define HEADER "input 3 32 32\n"

START_TEST(test_minimal)
{
    ck_assert_int_eq(parse(HEADER "conv c1 out=8 k=3 pad=1\nrelu r1\n"), AX_OK);
    ck_assert_int_eq(spec.nlayers, 2);
    ck_assert_str_eq(spec.name, "t");
    ck_assert_int_eq(spec.layers[0].type, AX_L_CONV);
    ck_assert_int_eq(spec.layers[0].kh, 3);
    ck_assert_int_eq(spec.layers[0].pad_b, 1);
    ck_assert_int_eq(spec.layers[0].bias, 1);
    ck_assert_int_eq(spec.pre.crop_w, 32);
}
END_TEST

START_TEST(test_pad_forms)
{
    ck_assert_int_eq(parse(HEADER "conv a out=4 k=3 pad=1,2,3,4\nconv b out=4 k=3 pad=same\npad p pad=0,0,1,1\n"), AX_OK);
    ck_assert_int_eq(spec.layers[0].pad_t, 1);
    ck_assert_int_eq(spec.layers[0].pad_l, 2);
    ck_assert_int_eq(spec.layers[0].pad_b, 3);
    ck_assert_int_eq(spec.layers[0].pad_r, 4);
    ck_assert_int_eq(spec.layers[1].pad_mode, AX_PAD_SAME);
    ck_assert_int_eq(spec.layers[2].pad_r, 1);
}
END_TEST

START_TEST(test_lrn_conventions)
{
    ck_assert_int_eq(parse(HEADER "lrn a convention=caffe size=5 alpha=1e-4 beta=0.75 k=1\n"
                                  "lrn b convention=tf depth_radius=2 alpha=2e-5 bias=1 beta=0.75\n"
                                  "lrn c convention=darknet size=5 alpha=1e-4 beta=0.75 kappa=2\n"), AX_OK);
    /* bvlc's constants in both spellings multiply the raw sum by the same 2e-5. */
    ck_assert_float_eq_tol(ax_lrn_sum_scale(&spec.layers[0]), 2e-5f, 1e-12f);
    ck_assert_int_eq(spec.layers[1].lrn_size, 5);
    ck_assert_float_eq_tol(ax_lrn_sum_scale(&spec.layers[1]), 2e-5f, 1e-12f);
    ck_assert_float_eq_tol(ax_lrn_sum_scale(&spec.layers[2]), 1e-4f, 1e-12f);
    ck_assert_float_eq(spec.layers[2].lrn_k, 2.0f);
}
END_TEST

/* Every error names the file and the line, and says what was wrong. */
static void expect_error(const char *text, int line, const char *needle)
{
    ck_assert_int_eq(parse(text), AX_ERR_SPEC);
    char where[32];
    snprintf(where, sizeof where, "t.net:%d:", line);
    ck_assert_msg(strstr(err.msg, where), "'%s' does not name %s", err.msg, where);
    ck_assert_msg(strstr(err.msg, needle), "'%s' does not mention '%s'", err.msg, needle);
}

START_TEST(test_errors)
{
    expect_error(HEADER "conv c1 k=3\n", 2, "out=");
    expect_error(HEADER "conv c1 out=8\n", 2, "k=");
    expect_error(HEADER "conv c1 out=8 k=3 colour=red\n", 2, "colour");
    expect_error(HEADER "conv c1 out=8 k=x3\n", 2, "whole number");
    expect_error(HEADER "relu a\nrelu a\n", 3, "used twice");
    expect_error(HEADER "\n\nfrobnicate x\n", 4, "frobnicate");
    expect_error(HEADER "lrn n size=4\n", 2, "odd");
    expect_error(HEADER "lrn n convention=tf size=5\n", 2, "depth_radius");
    expect_error(HEADER "maxpool p k=3 round=up\n", 2, "ceil or floor");
    expect_error(HEADER "conv c out=9 k=3 groups=2\n", 2, "divisible");
    expect_error(HEADER "conv c out=8 k=3 pad=1,2\n", 2, "pad");
    expect_error("input 3 32\n", 1, "C H W");
    expect_error(HEADER "preprocess std=1,0,1\n", 2, "0");
    expect_error(HEADER "dropout d p=1.5\n", 2, "p=");
    ck_assert_int_eq(parse("relu r\n"), AX_ERR_SPEC);
    ck_assert_ptr_nonnull(strstr(err.msg, "input"));
    ck_assert_int_eq(parse(HEADER), AX_ERR_SPEC);
    ck_assert_ptr_nonnull(strstr(err.msg, "no layers"));
}
END_TEST

START_TEST(test_unknown_model)
{
    ck_assert_int_eq(ax_spec_load(&spec, "vgg16", &err), AX_ERR_SPEC);
    ck_assert_ptr_nonnull(strstr(err.msg, "vgg16"));
    ck_assert_ptr_nonnull(strstr(err.msg, "caffe"));
    ck_assert_int_eq(ax_spec_load(&spec, "/nonexistent/x.net", &err), AX_ERR_IO);
    ck_assert_ptr_nonnull(strstr(err.msg, "/nonexistent/x.net"));
}
END_TEST

/* Shape resolution also rejects nets whose sizes cannot work. */
START_TEST(test_resolve_errors)
{
    ax_net *net = NULL;
    ck_assert_int_eq(parse("input 3 4 4\nconv c out=2 k=7\n"), AX_OK);
    ck_assert_int_eq(ax_net_create(&net, &spec, 1, NULL, &err), AX_ERR_SPEC);
    ck_assert_ptr_nonnull(strstr(err.msg, "does not fit"));
    ck_assert_int_eq(parse("input 3 8 8\nfc f out=2\nconv c out=2 k=1\n"), AX_OK);
    ck_assert_int_eq(ax_net_create(&net, &spec, 1, NULL, &err), AX_ERR_SPEC);
    ck_assert_ptr_nonnull(strstr(err.msg, "flat"));
    ck_assert_int_eq(parse("input 3 8 8\nconv c out=4 k=1 groups=2\n"), AX_OK);
    ck_assert_int_eq(ax_net_create(&net, &spec, 1, NULL, &err), AX_ERR_SPEC);
    ck_assert_ptr_nonnull(strstr(err.msg, "groups=2"));
}
END_TEST

typedef struct { const char *layer; int c, h, w; } want_shape;

static void check_builtin(const char *model, const want_shape *want, int n, int nlayers)
{
    ax_net *net = NULL;
    ck_assert_msg(ax_spec_load(&spec, model, &err) == AX_OK, "%s", err.msg);
    ck_assert_int_eq(spec.nlayers, nlayers);
    ck_assert_msg(ax_net_create(&net, &spec, 1, NULL, &err) == AX_OK, "%s", err.msg);
    for (int i = 0; i < n; i++) {
        int li = ax_net_find(net, want[i].layer);
        ck_assert_msg(li >= 0, "%s: no layer %s", model, want[i].layer);
        int bn, c, h, w;
        ax_tensor_nchw(&net->layers[li].out, &bn, &c, &h, &w);
        ck_assert_msg(c == want[i].c && h == want[i].h && w == want[i].w, "%s %s: (%d, %d, %d), expected (%d, %d, %d)",
                      model, want[i].layer, c, h, w, want[i].c, want[i].h, want[i].w);
    }
    ax_net_free(net);
}

START_TEST(test_builtin_caffe)
{
    static const char *names[] = {"conv1", "relu1", "norm1", "pool1", "conv2", "relu2", "norm2", "pool2",
                                  "conv3", "relu3", "conv4", "relu4", "conv5", "relu5", "pool5", "fc6",
                                  "relu6", "drop6", "fc7", "relu7", "drop7", "fc8", "prob"};
    static const want_shape w[] = {{"conv1", 96, 55, 55}, {"pool1", 96, 27, 27}, {"conv2", 256, 27, 27},
                                   {"pool2", 256, 13, 13}, {"conv4", 384, 13, 13}, {"pool5", 256, 6, 6},
                                   {"fc6", 4096, 1, 1}, {"fc8", 1000, 1, 1}, {"prob", 1000, 1, 1}};
    check_builtin("caffe", w, 9, 23);
    for (int i = 0; i < 23; i++) ck_assert_str_eq(spec.layers[i].name, names[i]);
    ck_assert_int_eq(spec.layers[4].groups, 2);
    ck_assert_int_eq(spec.pre.bgr, 1);
}
END_TEST

START_TEST(test_builtin_others)
{
    static const want_shape tv[] = {{"features.0", 64, 55, 55}, {"features.2", 64, 27, 27},
                                    {"features.5", 192, 13, 13}, {"features.12", 256, 6, 6},
                                    {"avgpool", 256, 6, 6}, {"flatten", 9216, 1, 1}, {"classifier.6", 1000, 1, 1}};
    check_builtin("torchvision", tv, 7, 23);
    static const want_shape tf[] = {{"conv1", 64, 56, 56}, {"pool1", 64, 27, 27}, {"conv2", 192, 27, 27},
                                    {"pool2", 192, 13, 13}, {"conv5", 256, 13, 13}, {"pool5", 256, 6, 6}};
    check_builtin("tf-bench", tf, 6, 15);
    static const want_shape kh[] = {{"pad0", 3, 227, 227}, {"conv1", 48, 55, 55}, {"pool2", 128, 13, 13},
                                    {"pool5", 128, 6, 6}, {"flatten", 4608, 1, 1}, {"fc6", 2048, 1, 1}, {"prob", 5, 1, 1}};
    check_builtin("keras-half", kh, 7, 23);
}
END_TEST

/* TF SAME on 224 with k11 s4 pads 3 on top and 4 at the bottom. */
START_TEST(test_same_asymmetric)
{
    ax_net *net = NULL;
    ck_assert_int_eq(ax_spec_load(&spec, "tf-bench", &err), AX_OK);
    ck_assert_int_eq(ax_net_create(&net, &spec, 1, NULL, &err), AX_OK);
    ck_assert_int_eq(net->layers[0].win.pad_t, 3);
    ck_assert_int_eq(net->layers[0].pad_b, 4);
    ax_net_free(net);
}
END_TEST

/* Hostile spec files: a FIFO must not block, a device is named as such (no
 * stale errno), a huge file is refused before it is read, and a spec
 * written to a file still loads. */
START_TEST(test_spec_files_hostile)
{
    char dir[] = "/tmp/ax_check_spec_XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char fifo[64], big[64], good[64];
    snprintf(fifo, sizeof fifo, "%s/pipe.net", dir);
    snprintf(big, sizeof big, "%s/big.net", dir);
    snprintf(good, sizeof good, "%s/good.net", dir);
    ck_assert_int_eq(mkfifo(fifo, 0600), 0);
    ck_assert_int_eq(ax_spec_load(&spec, fifo, &err), AX_ERR_IO);
    ck_assert_msg(strstr(err.msg, fifo) && strstr(err.msg, "FIFO"), "%s", err.msg);

    ck_assert_int_ne(ax_spec_load(&spec, "/dev/zero", &err), AX_OK);
    ck_assert_msg(strstr(err.msg, "/dev/zero") && strstr(err.msg, "character device"), "%s", err.msg);
    ck_assert_msg(!strstr(err.msg, "Inappropriate ioctl"), "%s", err.msg);

    FILE *fp = fopen(big, "wb");
    ck_assert_ptr_nonnull(fp);
    ck_assert_int_eq(ftruncate(fileno(fp), (off_t)1 << 30), 0);   /* sparse: costs nothing */
    fclose(fp);
    ck_assert_int_ne(ax_spec_load(&spec, big, &err), AX_OK);
    ck_assert_msg(strstr(err.msg, big) && strstr(err.msg, "at most"), "%s", err.msg);

    fp = fopen(good, "wb");
    ck_assert_ptr_nonnull(fp);
    fputs(HEADER "relu r\n", fp);
    fclose(fp);
    ck_assert_msg(ax_spec_load(&spec, good, &err) == AX_OK, "%s", err.msg);
    ck_assert_int_eq(spec.nlayers, 1);
    unlink(fifo);
    unlink(big);
    unlink(good);
    rmdir(dir);
}
END_TEST

static Suite *spec_suite(void)
{
    Suite *s = suite_create("spec");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, AX_CHECK_TIMEOUT);
    tcase_add_test(tc, test_minimal);
    tcase_add_test(tc, test_pad_forms);
    tcase_add_test(tc, test_lrn_conventions);
    tcase_add_test(tc, test_errors);
    tcase_add_test(tc, test_unknown_model);
    tcase_add_test(tc, test_resolve_errors);
    tcase_add_test(tc, test_builtin_caffe);
    tcase_add_test(tc, test_builtin_others);
    tcase_add_test(tc, test_same_asymmetric);
    tcase_add_test(tc, test_spec_files_hostile);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return ax_run_suite(spec_suite()); }
