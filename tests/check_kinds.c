/* The layer-kind table: every type 0..AX_L_COUNT-1 has a complete row (name,
 * resolver, receptive-field step, summary detail, reference forward,
 * backward), a CPU kernel, and, in a one-layer net, agrees with itself:
 * the reference forward gives the CPU backend's output bit for bit, the
 * backward and the explanation run. Adding a kind and forgetting a part
 * fails here (src/model/LAYERS.md). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alexscope/grad.h"
#include "alexscope/layer_kind.h"
#include "alexscope/net.h"
#include "alexscope/teach.h"
#include "check_util.h"

/* One layer of each kind, on a 2 x 7 x 6 input: a new kind needs its line. */
static const char *const one_layer[AX_L_COUNT] = {
    [AX_L_CONV] = "conv k1 out=4 k=3 groups=2 pad=1",
    [AX_L_RELU] = "relu k1",
    [AX_L_LRN] = "lrn k1 size=3",
    [AX_L_MAXPOOL] = "maxpool k1 k=3 s=2 round=ceil",
    [AX_L_AVGPOOL] = "avgpool k1 size=3x2",
    [AX_L_PAD] = "pad k1 pad=1,0,2,1",
    [AX_L_FLATTEN] = "flatten k1 order=hwc",
    [AX_L_FC] = "fc k1 out=5",
    [AX_L_DROPOUT] = "dropout k1 p=0.5",
    [AX_L_SOFTMAX] = "softmax k1",
};

START_TEST(every_row_is_complete)
{
    for (int t = 0; t < AX_L_COUNT; t++) {
        const ax_layer_kind *k = ax_layer_kind_of((ax_layer_type)t);
        ck_assert_msg(k != NULL, "layer type %d has no row", t);
        ck_assert_msg(k->name && k->name[0], "layer type %d has no name", t);
        ck_assert_str_eq(ax_layer_type_name((ax_layer_type)t), k->name);
        for (int u = 0; u < t; u++)
            ck_assert_msg(strcmp(ax_layer_kinds[u].name, k->name), "types %d and %d are both '%s'", u, t, k->name);
        ck_assert_msg(k->resolve, "%s: no resolver (shape, parameters, FLOPs)", k->name);
        ck_assert_msg(k->rf_step, "%s: no receptive-field step", k->name);
        ck_assert_msg(k->detail, "%s: no summary detail", k->name);
        ck_assert_msg(k->arith, "%s: no arithmetic (what it computes, its output size)", k->name);
        ck_assert_msg(k->ops_name && k->ops_what, "%s: its FLOPs are not described", k->name);
        ck_assert_msg(k->op_dims && k->forward, "%s: no reference forward", k->name);
        ck_assert_msg(k->backward, "%s: no backward", k->name);

        ax_layer L;
        memset(&L, 0, sizeof L);
        L.spec.type = (ax_layer_type)t;
        char why[200] = "";
        ck_assert_msg(ax_backend_cpu.supports(NULL, &L, why, sizeof why), "%s: the CPU backend has no kernel: %s",
                      k->name, why);
        ck_assert_msg(one_layer[t], "%s: tests/check_kinds.c has no one-layer spec for it", k->name);
    }
}
END_TEST

START_TEST(no_row_beyond_the_types)
{
    ck_assert_ptr_null(ax_layer_kind_of(AX_L_COUNT));
    ck_assert_ptr_null(ax_layer_kind_of((ax_layer_type)-1));
    ck_assert_str_eq(ax_layer_type_name(AX_L_COUNT), "?");
    ax_layer L;
    memset(&L, 0, sizeof L);
    L.spec.type = AX_L_COUNT;
    char why[200] = "";
    ck_assert(!ax_backend_cpu.supports(NULL, &L, why, sizeof why));
    ck_assert_msg(strstr(why, "no CPU kernel"), "%s", why);
    /* the resolver names a type it has no row for */
    ax_error err;
    memset(&err, 0, sizeof err);
    ax_kind_dims d = { 2, 7, 6, 1 };
    snprintf(L.spec.name, sizeof L.spec.name, "odd");
    L.spec.line = 3;
    ck_assert_int_eq(ax_layer_resolve(&L, 1, &d, "t.net", &err), AX_ERR_SPEC);
    ck_assert_msg(strstr(err.msg, "t.net:3: layer 'odd': unknown layer type"), "%s", err.msg);
}
END_TEST

/* The spec parser knows every kind by its row's name, and says which in an
 * unknown word's message. */
START_TEST(parser_words_come_from_the_rows)
{
    ax_spec spec;
    ax_error err;
    memset(&err, 0, sizeof err);
    ck_assert_int_eq(ax_spec_parse(&spec, "input 2 7 6\nconvolution c1\n", "t.net", &err), AX_ERR_SPEC);
    for (int t = 0; t < AX_L_COUNT; t++) {
        char word[40];
        snprintf(word, sizeof word, " %s", ax_layer_type_name((ax_layer_type)t));
        ck_assert_msg(strstr(err.msg, word), "'%s' missing from: %s", word, err.msg);
    }
}
END_TEST

START_TEST(each_kind_runs_in_a_one_layer_net)
{
    int t = _i;
    const ax_layer_kind *k = ax_layer_kind_of((ax_layer_type)t);
    char text[200];
    snprintf(text, sizeof text, "input 2 7 6\n%s\n", one_layer[t]);
    ax_spec spec;
    ax_error err;
    memset(&err, 0, sizeof err);
    ck_assert_msg(ax_spec_parse(&spec, text, "t.net", &err) == AX_OK, "%s: %s", k->name, err.msg);
    ck_assert_int_eq(spec.layers[0].type, t);
    ax_net *net = NULL;
    ck_assert_msg(ax_net_create(&net, &spec, 2, &ax_backend_cpu, &err) == AX_OK, "%s: %s", k->name, err.msg);
    ax_layer *L = &net->layers[0];
    ck_assert_msg(k->has_weights == (L->weight.ndim > 0), "%s: has_weights says %d, the resolver made %d dims",
                  k->name, k->has_weights, L->weight.ndim);
    ck_assert_int_eq(ax_layer_has_weights(&L->spec), k->has_weights);

    size_t nin = ax_tensor_numel(&net->input);
    float *x = malloc(nin * sizeof(float));
    ax_fill_uniform(x, nin, -2, 2, 40 + (uint64_t)t);
    ck_assert_int_eq(ax_net_set_input(net, x, 2, 2, 7, 6, &err), AX_OK);
    ck_assert_msg(ax_net_forward(net, &err) == AX_OK, "%s: %s", k->name, err.msg);

    /* the reference forward: the same output, bit for bit */
    ax_layer_op op;
    ax_layer_op_of(&op, L, &net->input);
    int d[4] = {1, 1, 1, 1};
    int nd = k->op_dims(&op, d);
    size_t nout = 1;
    for (int i = 0; i < nd; i++) nout *= (size_t)d[i];
    ck_assert_msg(nout == ax_tensor_numel(&L->out), "%s: the reference forward makes %zu values, the net %zu",
                  k->name, nout, ax_tensor_numel(&L->out));
    size_t ns = k->forward_scratch ? k->forward_scratch(&op) : 0;
    float *scratch = malloc((ns + 16) * sizeof(float)), *ref = malloc(nout * sizeof(float));
    k->forward(ref, net->input.data, &op, scratch);
    check_close(L->out.data, ref, nout, 0, 0, k->name);

    /* the summary row and the receptive field */
    char detail[80] = "x";
    k->detail(detail, sizeof detail, L);
    ax_rf_step st = { -1, 0, 0, 0, 0, -1, -1 };
    k->rf_step(L, &st);
    ck_assert_msg(st.global == 0 || st.global == 1, "%s: rf step global %d", k->name, st.global);
    ck_assert_msg(st.global || (st.kh >= 1 && st.kw >= 1 && st.sh >= 1 && st.sw >= 1 && st.ph >= 0 && st.pw >= 0),
                  "%s: rf step k %dx%d s %dx%d p %d,%d", k->name, st.kh, st.kw, st.sh, st.sw, st.ph, st.pw);

    /* what it computes and its size, said in its own numbers */
    char what[300] = "", size[300] = "";
    k->arith(what, size, sizeof what, L);
    ck_assert_msg(what[0] && size[0], "%s: empty arithmetic", k->name);

    /* the backward runs and fills the input's gradient */
    ax_grad *g = NULL;
    ck_assert_int_eq(ax_grad_create(&g, net, &err), AX_OK);
    ax_fill_uniform(g->d_out[0].data, ax_tensor_numel(&g->d_out[0]), -1, 1, 7);
    for (size_t i = 0; i < nin; i++) g->d_input.data[i] = NAN;
    ck_assert_msg(ax_grad_backward(g, 0, 1, &err) == AX_OK, "%s: %s", k->name, err.msg);
    for (size_t i = 0; i < nin; i++)
        ck_assert_msg(isfinite(g->d_input.data[i]), "%s: d input[%zu] = %g", k->name, i, g->d_input.data[i]);

    /* and one value of it can be explained */
    ax_explain ex;
    ck_assert_msg(ax_explain_value(&ex, net, 0, 1, 0, 0, 0, &err) == AX_OK, "%s: %s", k->name, err.msg);
    ck_assert_int_eq(ex.type, t);

    ax_grad_free(g);
    free(scratch);
    free(ref);
    free(x);
    ax_net_free(net);
}
END_TEST

/* The Tensor view's arithmetic on the bvlc net: the numbers a class is
 * taught with, worked out from the layer itself. */
START_TEST(arithmetic_of_the_caffe_net)
{
    ax_spec spec;
    ax_error err = {0};
    ck_assert_msg(ax_spec_load(&spec, "caffe", &err) == AX_OK, "%s", err.msg);
    ax_backend_options bo = { .shapes_only = 1 };
    ax_net *net = NULL;
    ck_assert_int_eq(ax_net_create_with(&net, &spec, 1, &ax_backend_cpu, &bo, &err), AX_OK);
    static const struct { const char *layer; const char *what, *size; } want[] = {
        {"conv1", "sum over c < 3, u < 11, v < 11", "(227 - 11) / 4 + 1 = 55 rows and columns"},
        {"pool1", "3x3 window", "(55 - 3) / 2 + 1 = 27 rows and columns"},
        {"conv2", "(2 groups of 48)", "27 + 4 - 5 + 1 = 27 rows and columns"},
        {"pool5", "8 comparisons", "(13 - 3) / 2 + 1 = 6 rows and columns"},
        {"relu1", "max(0, x)", "the input's: 96 x 55 x 55"},
        {"fc6", "each of the 4096 outputs sums 9216 products", "9216 -> 4096 (the input 256 x 6 x 6 read as 9216"},
        {"fc7", "y = W x + b", "4096 -> 4096"},
        {"prob", "over j < 1000", "the input's: 1000 values"},
    };
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        int li = ax_net_find(net, want[i].layer);
        ck_assert_msg(li >= 0, "no layer %s", want[i].layer);
        const ax_layer *L = &net->layers[li];
        char what[300], size[300];
        ax_layer_kind_of(L->spec.type)->arith(what, size, sizeof what, L);
        ck_assert_msg(strstr(what, want[i].what), "%s: '%s' lacks '%s'", want[i].layer, what, want[i].what);
        ck_assert_msg(strstr(size, want[i].size), "%s: '%s' lacks '%s'", want[i].layer, size, want[i].size);
    }
    ax_net_free(net);
    /* rounding shown where the division is not exact, and Caffe's rule that
     * a last window starting in the padding is dropped */
    static const struct { const char *spec, *size; } more[] = {
        {"input 1 6 6\nmaxpool p k=3 s=2 round=ceil\n", "ceil((6 - 3) / 2) + 1 = 3 rows and columns"},
        {"input 1 6 6\nmaxpool p k=3 s=2\n", "floor((6 - 3) / 2) + 1 = 2 rows and columns"},
        {"input 1 5 5\nmaxpool p k=2 s=2 pad=1 round=ceil\n", "Caffe drops it"},
        {"input 1 7 5\nconv c out=1 k=3 s=2\n", "rows (7 - 3) / 2 + 1 = 3, columns (5 - 3) / 2 + 1 = 2"},
    };
    for (size_t i = 0; i < sizeof more / sizeof *more; i++) {
        char text[200];
        snprintf(text, sizeof text, "%s", more[i].spec);
        ck_assert_msg(ax_spec_parse(&spec, text, "t.net", &err) == AX_OK, "%s", err.msg);
        ck_assert_int_eq(ax_net_create_with(&net, &spec, 1, &ax_backend_cpu, &bo, &err), AX_OK);
        char what[300], size[300];
        ax_layer_kind_of(net->layers[0].spec.type)->arith(what, size, sizeof what, &net->layers[0]);
        ck_assert_msg(strstr(size, more[i].size), "%s'%s' lacks '%s'", more[i].spec, size, more[i].size);
        ax_net_free(net);
    }
}
END_TEST

static Suite *kinds_suite(void)
{
    Suite *s = suite_create("kinds");
    TCase *tc = tcase_create("table");
    tcase_add_test(tc, every_row_is_complete);
    tcase_add_test(tc, no_row_beyond_the_types);
    tcase_add_test(tc, parser_words_come_from_the_rows);
    tcase_add_test(tc, arithmetic_of_the_caffe_net);
    tcase_add_loop_test(tc, each_kind_runs_in_a_one_layer_net, 0, AX_L_COUNT);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return ax_run_suite(kinds_suite()); }
