/* Teaching aids: explained values equal the engine's (every layer type, the
 * four reduced reference nets), receptive fields of bvlc AlexNet, parameter
 * counts against PyTorch's (tests/fixtures/teach/make_param_counts.py), and
 * the what-if runs against a spec without the LRN layer and against weights
 * with a tower zeroed. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alexscope/image.h"
#include "alexscope/net.h"
#include "alexscope/teach.h"
#include "check_util.h"

static const char *const tiny_nets[] = {"caffe-tiny", "torchvision-tiny", "tf-bench-tiny", "keras-half-tiny"};

static const char *ref_path(char *buf, size_t size, const char *net, const char *ext)
{
    char name[256];
    snprintf(name, sizeof name, "ref/%s%s", net, ext);
    snprintf(buf, size, "%s", ax_fixture(name));
    return buf;
}

/* A reference fixture net (spec possibly edited by `edit`) with its weights
 * and input, run forward. */
static ax_net *open_tiny(const char *netname, void (*edit)(ax_spec *), int forward)
{
    char path[4096];
    ax_error err = {0};
    ax_spec *spec = malloc(sizeof *spec);
    ck_assert_ptr_nonnull(spec);
    ax_status st = ax_spec_load(spec, ref_path(path, sizeof path, netname, ".net"), &err);
    ck_assert_msg(st == AX_OK, "%s", err.msg);
    if (edit) edit(spec);
    float *input = NULL;
    int n, c, h, w;
    st = ax_input_npy_load(&input, &n, &c, &h, &w, ref_path(path, sizeof path, netname, ".input.npy"), &err);
    ck_assert_msg(st == AX_OK, "%s", err.msg);
    ax_net *net = NULL;
    st = ax_net_create(&net, spec, n, &ax_backend_cpu, &err);
    ck_assert_msg(st == AX_OK, "%s", err.msg);
    free(spec);
    st = ax_net_load_weights(net, ref_path(path, sizeof path, netname, ".safetensors"), 1, NULL, 0, &err);
    ck_assert_msg(st == AX_OK, "%s", err.msg);
    st = ax_net_set_input(net, input, n, c, h, w, &err);
    ck_assert_msg(st == AX_OK, "%s", err.msg);
    free(input);
    if (forward) {
        st = ax_net_forward(net, &err);
        ck_assert_msg(st == AX_OK, "%s", err.msg);
    }
    return net;
}

/* The engine's float against the explanation's double, relative 1e-5. A
 * float sum's rounding grows with the size of its terms, not of its result,
 * so the difference is taken relative to the larger of |value| and the sum of
 * |terms| (they are equal where nothing cancels: ReLU, pooling, LRN, ...). */
static void check_explained(const ax_net *net, int layer, int n, int c, int y, int x)
{
    ax_explain ex;
    ax_error err = {0};
    ax_status st = ax_explain_value(&ex, net, layer, n, c, y, x, &err);
    ck_assert_msg(st == AX_OK, "%s", err.msg);
    ck_assert_int_gt(ex.nlines, 1);
    ck_assert(ex.scale >= fabs(ex.total));
    double ref = fabs(ex.engine) > ex.scale ? fabs(ex.engine) : ex.scale;
    double d = fabs(ex.total - ex.engine);
    ck_assert_msg(d <= 1e-5 * ref, "%s %s (%d, %d, %d, %d): explained %.9g, engine %.9g (|diff| %.3g > %.3g)",
                  net->spec.name, net->layers[layer].spec.name, n, c, y, x, ex.total, ex.engine, d, 1e-5 * ref);
}

START_TEST(test_explain_every_layer)
{
    ax_net *net = open_tiny(tiny_nets[_i], NULL, 1);
    int types_seen[AX_L_COUNT] = {0};
    for (int i = 0; i < net->nlayers; i++) {
        const ax_tensor *out = ax_net_output(net, i);
        int N, C, H, W;
        ax_tensor_nchw(out, &N, &C, &H, &W);
        size_t total = ax_tensor_numel(out);
        double mx = 0;
        size_t arg = 0;
        for (size_t k = 0; k < total; k++)
            if (fabs(out->data[k]) > mx) { mx = fabs(out->data[k]); arg = k; }
        /* the corners, the largest value, and a spread of others */
        check_explained(net, i, 0, 0, 0, 0);
        check_explained(net, i, N - 1, C - 1, H - 1, W - 1);
        check_explained(net, i, (int)(arg / ((size_t)C * H * W)), (int)(arg / ((size_t)H * W) % C),
                        (int)(arg / W % H), (int)(arg % W));
        for (int s = 0; s < 24; s++) {
            size_t k = (size_t)(s * 2654435761u) % total;
            check_explained(net, i, (int)(k / ((size_t)C * H * W)), (int)(k / ((size_t)H * W) % C),
                            (int)(k / W % H), (int)(k % W));
        }
        types_seen[net->layers[i].spec.type] = 1;
    }
    ck_assert(types_seen[AX_L_CONV] && types_seen[AX_L_RELU] && types_seen[AX_L_MAXPOOL]);
    ax_net_free(net);
}
END_TEST

/* Every type appears in at least one of the four nets. */
START_TEST(test_explain_covers_all_types)
{
    int seen[AX_L_COUNT] = {0};
    for (int t = 0; t < 4; t++) {
        char path[4096];
        ax_error err = {0};
        ax_spec *spec = malloc(sizeof *spec);
        ck_assert_ptr_nonnull(spec);
        ck_assert_msg(ax_spec_load(spec, ref_path(path, sizeof path, tiny_nets[t], ".net"), &err) == AX_OK, "%s",
                      err.msg);
        for (int i = 0; i < spec->nlayers; i++) seen[spec->layers[i].type] = 1;
        free(spec);
    }
    for (int t = 0; t < AX_L_COUNT; t++) ck_assert_msg(seen[t], "no reduced net has a %s layer", ax_layer_type_name(t));
}
END_TEST

START_TEST(test_explain_grouped_window)
{
    ax_net *net = open_tiny("caffe-tiny", NULL, 1);
    int conv2 = ax_net_find(net, "conv2");
    ck_assert_int_ge(conv2, 0);
    ax_explain ex;
    ax_error err = {0};
    /* conv2: 16 filters over 8 channels in 2 groups; filter 12 reads 4..7 */
    ck_assert(ax_explain_value(&ex, net, conv2, 0, 12, 0, 0, &err) == AX_OK);
    ck_assert_int_eq(ex.c0, 4);
    ck_assert_int_eq(ex.c1, 7);
    ck_assert_int_eq(ex.y0, -2);   /* pad 2 */
    ck_assert_int_eq(ex.y1, 2);
    ck_assert(ax_explain_value(&ex, net, conv2, 0, 3, 0, 0, &err) == AX_OK);
    ck_assert_int_eq(ex.c0, 0);
    ck_assert_int_eq(ex.c1, 3);
    /* out of range and not computed are errors, not crashes */
    ck_assert(ax_explain_value(&ex, net, conv2, 0, 16, 0, 0, &err) != AX_OK);
    ck_assert(ax_explain_value(&ex, net, net->nlayers, 0, 0, 0, 0, &err) != AX_OK);
    ax_net_reset(net);
    ck_assert(ax_explain_value(&ex, net, conv2, 0, 0, 0, 0, &err) != AX_OK);
    ax_net_free(net);
}
END_TEST

START_TEST(test_receptive_fields_bvlc)
{
    ax_spec *spec = malloc(sizeof *spec);
    ax_summary *s = malloc(sizeof *s);
    ck_assert(spec && s);
    ax_error err = {0};
    ck_assert_msg(ax_spec_load(spec, "caffe", &err) == AX_OK, "%s", err.msg);
    ck_assert_msg(ax_summary_build(s, spec, &err) == AX_OK, "%s", err.msg);
    struct { const char *name; int size, jump; } want[] = {
        {"conv1", 11, 4}, {"pool1", 19, 8}, {"conv2", 51, 8}, {"pool2", 67, 16},
        {"conv3", 99, 16}, {"conv4", 131, 16}, {"conv5", 163, 16}, {"pool5", 195, 32},
    };
    for (size_t k = 0; k < sizeof want / sizeof *want; k++) {
        int found = 0;
        for (int i = 0; i < s->nrows; i++) {
            if (strcmp(s->rows[i].name, want[k].name)) continue;
            found = 1;
            ck_assert_msg(s->rows[i].rf.size_h == want[k].size && s->rows[i].rf.size_w == want[k].size,
                          "%s: receptive field %d, expected %d", want[k].name, s->rows[i].rf.size_h, want[k].size);
            ck_assert_msg(s->rows[i].rf.jump_h == want[k].jump, "%s: jump %d, expected %d", want[k].name,
                          s->rows[i].rf.jump_h, want[k].jump);
            ck_assert(!s->rows[i].rf.global);
        }
        ck_assert_msg(found, "no layer %s", want[k].name);
    }
    int y0, x0, y1, x1;
    const ax_summary_row *conv1 = &s->rows[0];
    ax_rfield_box(&conv1->rf, 54, 54, 227, 227, &y0, &x0, &y1, &x1);
    ck_assert_int_eq(y0, 216);
    ck_assert_int_eq(y1, 226);
    /* conv2 (pad 2 on a stride-8 grid) at (0, 0) reaches 16 pixels into the padding: clipped */
    ax_rfield_box(&s->rows[4].rf, 0, 0, 227, 227, &y0, &x0, &y1, &x1);
    ck_assert_str_eq(s->rows[4].name, "conv2");
    ck_assert_int_eq(s->rows[4].rf.first_h, -16);
    ck_assert_int_eq(y0, 0);
    ck_assert_int_eq(y1, 34);
    int fc6 = -1;
    for (int i = 0; i < s->nrows; i++) if (!strcmp(s->rows[i].name, "fc6")) fc6 = i;
    ck_assert(fc6 >= 0 && s->rows[fc6].rf.global);
    free(spec);
    free(s);
}
END_TEST

/* param_counts.txt: "<model> <layer> <count>" lines from PyTorch. */
START_TEST(test_param_counts_match_pytorch)
{
    FILE *f = fopen(ax_fixture("teach/param_counts.txt"), "r");
    ck_assert_msg(f != NULL, "%s: cannot open", ax_fixture("teach/param_counts.txt"));
    ax_spec *spec = malloc(sizeof *spec);
    ax_summary *s = malloc(sizeof *s);
    ck_assert(spec && s);
    char line[256], loaded[64] = "";
    int totals = 0, layers = 0;
    while (fgets(line, sizeof line, f)) {
        char model[64], layer[64];
        unsigned long long count;
        if (line[0] == '#' || sscanf(line, "%63s %63s %llu", model, layer, &count) != 3) continue;
        if (strcmp(model, loaded)) {
            ax_error err = {0};
            ck_assert_msg(ax_spec_load(spec, model, &err) == AX_OK, "%s", err.msg);
            ck_assert_msg(ax_summary_build(s, spec, &err) == AX_OK, "%s", err.msg);
            snprintf(loaded, sizeof loaded, "%s", model);
        }
        if (!strcmp(layer, "total")) {
            ck_assert_msg(s->params == count, "%s: %zu parameters, PyTorch counts %llu", model, s->params, count);
            totals++;
            continue;
        }
        int found = 0;
        for (int i = 0; i < s->nrows; i++)
            if (!strcmp(s->rows[i].name, layer)) {
                found = 1;
                ck_assert_msg(s->rows[i].params == count, "%s %s: %zu parameters, PyTorch counts %llu", model, layer,
                              s->rows[i].params, count);
            }
        ck_assert_msg(found, "%s: no layer %s", model, layer);
        layers++;
    }
    fclose(f);
    ck_assert_int_eq(totals, 4);
    ck_assert_int_ge(layers, 29);
    /* the figure for bvlc AlexNet, independently of the file */
    ax_error err = {0};
    ck_assert(ax_spec_load(spec, "caffe", &err) == AX_OK && ax_summary_build(s, spec, &err) == AX_OK);
    ck_assert_uint_eq(s->params, 60965224u);
    free(spec);
    free(s);
}
END_TEST

START_TEST(test_summary_text_json_diagram)
{
    ax_spec *spec = malloc(sizeof *spec);
    ax_summary *s = malloc(sizeof *s);
    ck_assert(spec && s);
    ax_error err = {0};
    ck_assert(ax_spec_load(spec, "caffe", &err) == AX_OK && ax_summary_build(s, spec, &err) == AX_OK);
    size_t need = ax_summary_table(s, NULL, 0);
    char *buf = malloc(need + 1);
    ck_assert_uint_eq(ax_summary_table(s, buf, need + 1), need);
    ck_assert_ptr_nonnull(strstr(buf, "60,965,224 parameters"));
    /* conv2 ungrouped: 256 * 96 * 25 + 256 = 614,656 against 307,456 */
    ck_assert_ptr_nonnull(strstr(buf, "grouping saves 307,200 parameters"));
    free(buf);
    need = ax_summary_diagram(s, NULL, 0);
    buf = malloc(need + 1);
    ax_summary_diagram(s, buf, need + 1);
    ck_assert_ptr_nonnull(strstr(buf, "conv2 tower 0: 0..127"));
    ck_assert_ptr_nonnull(strstr(buf, "conv2 tower 1: 128..255"));
    free(buf);
    need = ax_summary_json(s, NULL, 0);
    buf = malloc(need + 1);
    ax_summary_json(s, buf, need + 1);
    ck_assert_ptr_nonnull(strstr(buf, "\"total\": {\"params\": 60965224"));
    ck_assert_ptr_nonnull(strstr(buf, "\"params_ungrouped\": 614656"));
    /* a short buffer is cut, never overrun, and the length needed is still told */
    char small[16];
    ck_assert_uint_eq(ax_summary_json(s, small, sizeof small), need);
    ck_assert_uint_eq(strlen(small), sizeof small - 1);
    free(buf);
    free(spec);
    free(s);
}
END_TEST

/* The Summary view's table at a pane's width: every line fits, numbers
 * abbreviated first, then columns dropped in the stated order and named. */
START_TEST(test_summary_table_fits)
{
    ax_spec *spec = malloc(sizeof *spec);
    ax_summary *s = malloc(sizeof *s);
    ck_assert(spec && s);
    ax_error err = {0};
    ck_assert(ax_spec_load(spec, "caffe", &err) == AX_OK && ax_summary_build(s, spec, &err) == AX_OK);
    static const struct { int width; const char *left_out; } cases[] = {
        {200, ""}, {100, ""}, {70, "detail"}, {58, "detail, RF/jump"}, {48, "detail, RF/jump, type"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        char left[80];
        size_t need = ax_summary_table_fit(s, NULL, 0, cases[k].width, NULL, 0);
        char *buf = malloc(need + 1);
        ck_assert_uint_eq(ax_summary_table_fit(s, buf, need + 1, cases[k].width, left, sizeof left), need);
        ck_assert_msg(!strcmp(left, cases[k].left_out), "width %d: left out '%s', expected '%s'", cases[k].width,
                      left, cases[k].left_out);
        for (char *line = buf; *line;) {
            char *nl = strchr(line, '\n');
            int len = nl ? (int)(nl - line) : (int)strlen(line);
            ck_assert_msg(len <= cases[k].width, "width %d: a %d-character line: %.*s", cases[k].width, len, len, line);
            line += len + (nl != NULL);
        }
        if (cases[k].width < 150) {
            ck_assert_msg(strstr(buf, "210.8M"), "width %d: conv1's FLOPs not abbreviated:\n%s", cases[k].width, buf);
            ck_assert_msg(strstr(buf, "act.mem"), "width %d: act.mem hidden:\n%s", cases[k].width, buf);
        }
        free(buf);
    }
    free(spec);
    free(s);
}
END_TEST

static void drop_norm1(ax_spec *spec)
{
    for (int i = 0; i < spec->nlayers; i++)
        if (!strcmp(spec->layers[i].name, "norm1")) {
            memmove(&spec->layers[i], &spec->layers[i + 1], (size_t)(spec->nlayers - i - 1) * sizeof spec->layers[0]);
            spec->nlayers--;
            return;
        }
    ck_abort_msg("no norm1");
}

static void compare_downstream(const ax_net *a, const ax_net *b, int from_a, const char *what)
{
    for (int i = from_a; i < a->nlayers; i++) {
        int j = ax_net_find(b, a->layers[i].spec.name);
        if (j < 0) continue;
        char label[160];
        snprintf(label, sizeof label, "%s: %s", what, a->layers[i].spec.name);
        ck_assert_uint_eq(ax_tensor_numel(&a->layers[i].out), ax_tensor_numel(&b->layers[j].out));
        check_close(a->layers[i].out.data, b->layers[j].out.data, ax_tensor_numel(&a->layers[i].out), 1e-7, 1e-6,
                    label);
    }
}

START_TEST(test_whatif_lrn_off)
{
    ax_net *net = open_tiny("caffe-tiny", NULL, 1);
    ax_net *ref = open_tiny("caffe-tiny", drop_norm1, 1);
    int norm1 = ax_net_find(net, "norm1");
    size_t nlast = ax_tensor_numel(&net->layers[net->nlayers - 1].out);
    float *normal = malloc(nlast * sizeof(float));
    memcpy(normal, net->layers[net->nlayers - 1].out.data, nlast * sizeof(float));
    ax_error err = {0};
    ck_assert(ax_whatif_set(net, norm1, AX_WHATIF_LRN_OFF, &err) == AX_OK);
    ck_assert_int_eq(net->computed, norm1);   /* the layers before keep their outputs */
    ck_assert_int_eq(ax_whatif_first(net), norm1);
    ck_assert(ax_net_forward(net, &err) == AX_OK);
    check_close(net->layers[norm1].out.data, net->layers[norm1 - 1].out.data, ax_tensor_numel(&net->layers[norm1].out),
                0, 0, "norm1 off is the identity");
    compare_downstream(net, ref, norm1 + 1, "without norm1");
    /* the explanation says so and still matches */
    ax_explain ex;
    ck_assert(ax_explain_value(&ex, net, norm1, 0, 3, 2, 2, &err) == AX_OK);
    ck_assert(ex.total == ex.engine);
    /* the switch is refused where it does not apply, and undone by NONE */
    ck_assert(ax_whatif_set(net, 0, AX_WHATIF_LRN_OFF, &err) != AX_OK);
    ck_assert(ax_whatif_set(net, norm1, AX_WHATIF_NONE, &err) == AX_OK);
    ck_assert(ax_net_forward(net, &err) == AX_OK);
    check_close(net->layers[net->nlayers - 1].out.data, normal, nlast, 0, 0, "norm1 back on");
    ck_assert_int_eq(ax_whatif_first(net), -1);
    free(normal);
    ax_net_free(net);
    ax_net_free(ref);
}
END_TEST

START_TEST(test_whatif_tower_zeroed)
{
    for (int tower = 0; tower < 2; tower++) {
        ax_net *net = open_tiny("caffe-tiny", NULL, 1);
        ax_net *ref = open_tiny("caffe-tiny", NULL, 0);
        int conv2 = ax_net_find(net, "conv2");
        ax_layer *R = &ref->layers[conv2];
        int oc = R->weight.shape[0], per = (int)(ax_tensor_numel(&R->weight) / (size_t)oc);
        memset(R->weight.data + (size_t)tower * (oc / 2) * per, 0, (size_t)(oc / 2) * per * sizeof(float));
        memset(R->bias.data + tower * (oc / 2), 0, (size_t)(oc / 2) * sizeof(float));
        ax_error err = {0};
        ck_assert(ax_net_forward(ref, &err) == AX_OK);
        ck_assert(ax_whatif_set(net, conv2, tower ? AX_WHATIF_TOWER1_OFF : AX_WHATIF_TOWER0_OFF, &err) == AX_OK);
        ck_assert_int_eq(net->computed, conv2);
        ck_assert(ax_net_forward(net, &err) == AX_OK);
        compare_downstream(net, ref, conv2, tower ? "tower 1 zeroed" : "tower 0 zeroed");
        /* not a two-tower layer: refused */
        ck_assert(ax_whatif_set(net, ax_net_find(net, "conv3"), AX_WHATIF_TOWER0_OFF, &err) != AX_OK);
        ck_assert(ax_whatif_set(net, 0, AX_WHATIF_TOWER1_OFF, &err) != AX_OK);
        ax_net_free(net);
        ax_net_free(ref);
    }
}
END_TEST

static Suite *teach_suite(void)
{
    Suite *s = suite_create("teach");
    TCase *tc = tcase_create("explain");
    tcase_set_timeout(tc, AX_CHECK_TIMEOUT);
    tcase_add_loop_test(tc, test_explain_every_layer, 0, 4);
    tcase_add_test(tc, test_explain_covers_all_types);
    tcase_add_test(tc, test_explain_grouped_window);
    suite_add_tcase(s, tc);
    tc = tcase_create("summary");
    tcase_set_timeout(tc, AX_CHECK_TIMEOUT);
    tcase_add_test(tc, test_receptive_fields_bvlc);
    tcase_add_test(tc, test_param_counts_match_pytorch);
    tcase_add_test(tc, test_summary_text_json_diagram);
    tcase_add_test(tc, test_summary_table_fits);
    suite_add_tcase(s, tc);
    tc = tcase_create("whatif");
    tcase_set_timeout(tc, AX_CHECK_TIMEOUT);
    tcase_add_test(tc, test_whatif_lrn_off);
    tcase_add_test(tc, test_whatif_tower_zeroed);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return ax_run_suite(teach_suite());
}
