/* Check suite "saliency": the maps (max over channels of |g|, and |g| per
 * channel) against a direct computation from the engine's input gradient,
 * that gradient against central differences of logit K of the engine's own
 * forward, the per-channel figures and their order, and the refusals. */
#include "alexscope/grad.h"
#include "alexscope/saliency.h"
#include "alexscope/spec.h"
#include "alexscope/teach.h"
#include "check_util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Smooth apart from the ReLUs (no max pool), so that central differences
 * are a fair reference; LRN and a grouped conv are in the path. */
static const char *NET =
    "name sal\ninput 3 10 12\npreprocess resize=none order=rgb scale=1 mean=0,0,0 std=1,1,1\n"
    "conv c1 out=4 k=3 pad=1\nrelu r1\nlrn n1 size=3 alpha=0.5 beta=0.75 k=1\n"
    "conv c2 out=6 k=3 pad=1 groups=2\nrelu r2\navgpool a size=2x2\nflatten f\n"
    "fc fc1 out=7\nsoftmax prob\n";

enum { B = 2, C = 3, H = 10, W = 12, K = 7 };

/* Central differences with a step of 1e-3 of the float forward: their
 * rounding error is near 1e-6 here, the gradients near 3e-4. */
#define FD_ATOL 1e-5

static ax_net *make_net(float *x)
{
    ax_spec *spec = malloc(sizeof *spec);
    ax_error err = {0};
    ck_assert_ptr_nonnull(spec);
    ck_assert_msg(ax_spec_parse(spec, NET, "sal.net", &err) == AX_OK, "%s", err.msg);
    ax_net *net = NULL;
    ck_assert_msg(ax_net_create(&net, spec, B, &ax_backend_cpu, &err) == AX_OK, "%s", err.msg);
    free(spec);
    ax_net_init_seeded(net, 11);
    ax_fill_uniform(x, (size_t)B * C * H * W, -1, 1, 5);
    ck_assert(ax_net_set_input(net, x, B, C, H, W, &err) == AX_OK);
    ck_assert_msg(ax_net_forward(net, &err) == AX_OK, "%s", err.msg);
    return net;
}

/* The maps of each image are |g| and its maximum over channels, exactly. */
START_TEST(map_is_abs_max)
{
    float x[B * C * H * W];
    ax_net *net = make_net(x);
    ax_error err = {0};
    ax_grad *g = NULL;
    ck_assert_msg(ax_grad_create(&g, net, &err) == AX_OK, "%s", err.msg);
    int cls[B];
    ck_assert_int_eq(ax_saliency_backward(g, 4, cls, &err), net->nlayers - 2);
    ck_assert_int_eq(cls[0], 4);
    ck_assert_int_eq(cls[1], 4);
    float map[H * W], ch[C * H * W], ref[H * W];
    for (int n = 0; n < B; n++) {
        const float *gi = g->d_input.data + (size_t)n * C * H * W;
        ax_saliency_map(map, ch, gi, C, H, W);
        int nonzero = 0;
        for (int p = 0; p < H * W; p++) {
            float m = 0;
            for (int c = 0; c < C; c++) {
                float a = fabsf(gi[c * H * W + p]);
                ck_assert_msg(ch[c * H * W + p] == a, "image %d channel %d pixel %d: %g, |g| %g", n, c, p,
                              ch[c * H * W + p], a);
                if (a > m) m = a;
            }
            ref[p] = m;
            nonzero += m > 0;
        }
        ck_assert_mem_eq(map, ref, sizeof map);
        ck_assert_msg(nonzero > H * W / 2, "image %d: only %d of %d pixels have a gradient", n, nonzero, H * W);
        /* the map alone (no per-channel planes) is the same */
        float only[H * W];
        ax_saliency_map(only, NULL, gi, C, H, W);
        ck_assert_mem_eq(only, ref, sizeof only);
    }
    ax_grad_free(g);
    ax_net_free(net);
}
END_TEST

/* Activation-only gradients (what the workbench allocates) give the same
 * input and layer gradients, bit for bit, with no weight buffers; a layer
 * unfrozen by mistake gets no weight work rather than a write through NULL. */
START_TEST(activations_only_same)
{
    float x[B * C * H * W];
    ax_net *net = make_net(x);
    ax_error err = {0};
    ax_grad *full = NULL, *act = NULL;
    ck_assert_msg(ax_grad_create(&full, net, &err) == AX_OK, "%s", err.msg);
    ck_assert_msg(ax_grad_create_activations(&act, net, &err) == AX_OK, "%s", err.msg);
    ck_assert_uint_lt(act->count, full->count);
    int top = ax_saliency_backward(full, 3, NULL, &err);
    ck_assert_int_eq(ax_saliency_backward(act, 3, NULL, &err), top);
    ck_assert_mem_eq(act->d_input.data, full->d_input.data, ax_tensor_numel(&full->d_input) * sizeof(float));
    for (int i = 0; i < net->nlayers; i++) act->frozen[i] = 0;   /* unfrozen by mistake */
    ck_assert_msg(ax_grad_backward(act, top, 1, &err) == AX_OK, "%s", err.msg);
    ck_assert_mem_eq(act->d_input.data, full->d_input.data, ax_tensor_numel(&full->d_input) * sizeof(float));
    for (int i = 0; i <= top; i++) {
        ck_assert_ptr_null(act->d_weight[i].data);
        ck_assert_mem_eq(act->d_out[i].data, full->d_out[i].data, ax_tensor_numel(&full->d_out[i]) * sizeof(float));
    }
    ax_grad_free(full);
    ax_grad_free(act);
    ax_net_free(net);
}
END_TEST

/* A NaN in the gradient is not hidden by the maximum. */
START_TEST(map_keeps_nan)
{
    float g[2 * 1 * 3] = { 1, -5, 2, NAN, 0.5f, -3 };
    float map[3];
    ax_saliency_map(map, NULL, g, 2, 1, 3);
    ck_assert(isnan(map[0]));
    ck_assert(map[1] == 5);
    ck_assert(map[2] == 3);
}
END_TEST

/* The input gradient for class k is d logit[k] / d input: against central
 * differences of the engine's forward, and identical to seeding logit k by
 * hand through grad.h; the top class is each image's largest logit. */
START_TEST(gradient_of_logit_k)
{
    float x[B * C * H * W];
    ax_net *net = make_net(x);
    ax_error err = {0};
    int top = ax_grad_logit_layer(net);
    float logits[B * K];
    memcpy(logits, net->layers[top].out.data, sizeof logits);
    ax_grad *g = NULL;
    ck_assert_msg(ax_grad_create(&g, net, &err) == AX_OK, "%s", err.msg);

    for (int k = 2; k < K; k += 3) {
        ax_net_forward(net, &err);
        int cls[B];
        ck_assert_int_eq(ax_saliency_backward(g, k, cls, &err), top);
        size_t nin = ax_tensor_numel(&g->d_input);
        float *sal = malloc(nin * sizeof *sal);
        ck_assert_ptr_nonnull(sal);
        memcpy(sal, g->d_input.data, nin * sizeof *sal);

        /* by hand: the same seed and backward */
        int want[B] = { k, k };
        ck_assert_int_eq(ax_grad_seed_logit(g, want, NULL, &err), top);
        ck_assert(ax_grad_backward(g, top, 1, &err) == AX_OK);
        ck_assert_mem_eq(sal, g->d_input.data, nin * sizeof *sal);

        const float eps = 1e-3f;
        double sum_fd = 0;
        int probes = 0;
        for (size_t i = 0; i < nin; i += 5) {
            float keep = x[i];
            double l[2];
            int n = (int)(i / (C * H * W));
            for (int s = 0; s < 2; s++) {
                x[i] = keep + (s ? eps : -eps);
                ax_net_set_input(net, x, B, C, H, W, &err);
                ax_net_forward(net, &err);
                l[s] = net->layers[top].out.data[n * K + k];
            }
            x[i] = keep;
            double fd = (l[1] - l[0]) / (2 * eps);
            ck_assert_msg(fabs(sal[i] - fd) <= FD_ATOL + 1e-2 * fabs(fd),
                          "class %d: d logit / d input[%zu] = %g, differences %g", k, i, sal[i], fd);
            sum_fd += fabs(fd);
            probes++;
        }
        /* the gradients are well above the absolute tolerance, so it decides nothing */
        ck_assert_msg(sum_fd / probes > 10 * FD_ATOL, "class %d: mean |d logit / d input| %g is too small to test",
                      k, sum_fd / probes);
        ax_net_set_input(net, x, B, C, H, W, &err);
        free(sal);
    }

    /* the top class of each image */
    ax_net_forward(net, &err);
    int cls[B];
    ck_assert_int_eq(ax_saliency_backward(g, -1, cls, &err), top);
    for (int n = 0; n < B; n++) {
        int best = 0;
        for (int i = 1; i < K; i++)
            if (logits[n * K + i] > logits[n * K + best]) best = i;
        ck_assert_int_eq(cls[n], best);
    }
    ax_grad_free(g);
    ax_net_free(net);
}
END_TEST

/* A class outside the logits and a what-if run are errors with a message. */
START_TEST(refusals)
{
    float x[B * C * H * W];
    ax_net *net = make_net(x);
    ax_error err = {0};
    ax_grad *g = NULL;
    ck_assert_msg(ax_grad_create(&g, net, &err) == AX_OK, "%s", err.msg);
    ck_assert_int_eq(ax_saliency_backward(g, K, NULL, &err), -1);
    ck_assert_msg(strstr(err.msg, "class 7"), "%s", err.msg);
    int lrn = ax_net_find(net, "n1");
    ck_assert(ax_whatif_set(net, lrn, AX_WHATIF_LRN_OFF, &err) == AX_OK);
    ax_net_forward(net, &err);
    memset(&err, 0, sizeof err);
    ck_assert_int_eq(ax_saliency_backward(g, 1, NULL, &err), -1);
    ck_assert_msg(strstr(err.msg, "what-if") && strstr(err.msg, "n1"), "%s", err.msg);
    ax_grad_free(g);
    ax_net_free(net);
}
END_TEST

/* Per-channel figures against a direct double loop, and the sort order. */
START_TEST(channel_figures)
{
    enum { CC = 5, HW = 9 };
    float g[CC * HW], a[CC * HW];
    ax_fill_uniform(g, CC * HW, -2, 2, 21);
    ax_fill_uniform(a, CC * HW, 0, 3, 22);
    g[7] = NAN;
    ax_grad_channel f[CC];
    ax_saliency_channels(f, g, a, CC, HW);
    for (int c = 0; c < CC; c++) {
        double sa = 0, s = 0, ga = 0, mx = 0;
        int n = 0;
        for (int p = 0; p < HW; p++) {
            double v = g[c * HW + p];
            if (isnan(v)) continue;
            n++;
            sa += fabs(v);
            s += v;
            ga += v * a[c * HW + p];
            if (fabs(v) > mx) mx = fabs(v);
        }
        ck_assert_double_eq_tol(f[c].abs_mean, sa / n, 1e-9);
        ck_assert_double_eq_tol(f[c].mean, s / n, 1e-9);
        ck_assert_double_eq_tol(f[c].grad_act, ga, 1e-9);
        ck_assert_float_eq(f[c].abs_max, (float)mx);
    }
    int order[CC];
    ax_saliency_order(order, f, CC, AX_GRAD_COL_ABS_MEAN, 1);
    for (int i = 1; i < CC; i++) ck_assert(f[order[i - 1]].abs_mean >= f[order[i]].abs_mean);
    ax_saliency_order(order, f, CC, AX_GRAD_COL_GRAD_ACT, 0);
    for (int i = 1; i < CC; i++) ck_assert(f[order[i - 1]].grad_act <= f[order[i]].grad_act);
    ax_saliency_order(order, f, CC, AX_GRAD_COL_INDEX, 1);
    for (int i = 0; i < CC; i++) ck_assert_int_eq(order[i], CC - 1 - i);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("saliency");
    TCase *t = tcase_create("saliency");
    tcase_set_timeout(t, AX_CHECK_TIMEOUT);
    tcase_add_test(t, map_is_abs_max);
    tcase_add_test(t, map_keeps_nan);
    tcase_add_test(t, activations_only_same);
    tcase_add_test(t, gradient_of_logit_k);
    tcase_add_test(t, refusals);
    tcase_add_test(t, channel_figures);
    suite_add_tcase(s, t);
    return ax_run_suite(s);
}
