/* The workbench's key tables against its dispatch: every code of every row of
 * the global map and of each mode's map reaches that row's handler (in every
 * view for a frame key, in at least one view for the others, since a view's
 * own keys come first); every code of every view's own table reaches its row
 * in that view on some layer of a computed net (the Diff view with a side B
 * to compare); no code stands in two rows of the global and mode maps or of
 * one view's table, and a view's own key wins over the global one
 * (Saliency's p). Curses draws into /dev/null. */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alexscope/net.h"
#include "alexscope/spec.h"
#include "check_util.h"
#include "loop.h"
#include "modes/diffmode.h"
#include "modes/modes.h"

static const char spec_text[] =
    "name keys\ninput 3 31 31\n"
    "conv conv1 out=8 k=3 s=2 pad=1\nrelu relu1\n"
    "lrn norm1 convention=caffe size=5 alpha=0.0001 beta=0.75 k=1\n"
    "maxpool pool1 k=3 s=2\nconv conv2 out=8 k=3 pad=1 groups=2\nrelu relu2\n"
    "fc fc6 out=4\nsoftmax prob\n";

static ax_net *net, *side_b;
static SCREEN *scr;
static FILE *out, *in;
static char dir[] = "/tmp/ax_check_keys_XXXXXX";

static void setup(void)
{
    /* s saves the view into the working folder: one of our own */
    ck_assert(mkdtemp(dir) != NULL && chdir(dir) == 0);
    ax_spec spec;
    ax_error err = {0};
    ck_assert_msg(ax_spec_parse(&spec, spec_text, "keys.net", &err) == AX_OK, "%s", err.msg);
    ck_assert_msg(ax_net_create(&net, &spec, 1, NULL, &err) == AX_OK, "%s", err.msg);
    ck_assert_msg(ax_net_create(&side_b, &spec, 1, NULL, &err) == AX_OK, "%s", err.msg);
    ck_assert_msg(ax_net_forward(side_b, &err) == AX_OK, "%s", err.msg);
    out = fopen("/dev/null", "w");
    in = fopen("/dev/null", "r");
    ck_assert(out && in);
    scr = newterm("xterm-256color", out, in);
    if (!scr) scr = newterm("xterm", out, in);
    ck_assert_msg(scr != NULL, "no terminfo entry for xterm-256color or xterm");
}

static void teardown(void)
{
    endwin();
    delscreen(scr);
    fclose(out);
    fclose(in);
    ax_net_free(net);
    ax_net_free(side_b);
    DIR *d = opendir(dir);
    for (struct dirent *e; d && (e = readdir(d));)
        if (e->d_name[0] != '.') unlinkat(dirfd(d), e->d_name, 0);
    if (d) closedir(d);
    if (chdir("/") == 0) rmdir(dir);
}

/* A fresh workbench on view v; key k pressed; the row that took it. */
static const ax_key *press(int v, int k)
{
    static ax_ui u;
    ax_ui_config cfg = {.model_name = "keys", .device_name = "cpu", .mono = 1};
    ax_error err = {0};
    ax_net_reset(net);
    ck_assert_msg(ax_ui_state_init(&u, net, &cfg, &err) == 0, "%s", err.msg);
    u.view = v;
    ax_ui_handle_key(&u, k);
    const ax_key *took = u.last_key;
    ax_ui_worker_join(&u);
    ax_ui_state_free(&u);
    return took;
}

/* The same on a computed net with layer `layer` current (-1: the input),
 * and for the Diff view side B compared first. */
static const ax_key *press_at(int v, int layer, int k)
{
    static ax_ui u;
    ax_ui_config cfg = {.model_name = "keys", .device_name = "cpu", .mono = 1};
    if (v == AX_V_DIFF) cfg.diff_net = side_b, cfg.diff_label = "side B";
    ax_error err = {0};
    ck_assert_msg(ax_net_forward(net, &err) == AX_OK, "%s", err.msg);
    ck_assert_msg(ax_ui_state_init(&u, net, &cfg, &err) == 0, "%s", err.msg);
    if (v == AX_V_DIFF) {
        for (int i = 0; i < 20000 && ax_ui_sync(&u); i++) usleep(500);
        ck_assert_msg(ax_ui_diff_cmp(&u) != NULL, "the Diff view's comparison did not come");
    }
    u.view = v;
    u.cur = layer;
    ax_ui_handle_key(&u, k);
    const ax_key *took = u.last_key;
    ax_ui_worker_join(&u);
    ax_ui_state_free(&u);
    return took;
}

static void check_table(const char *what, const ax_key *t)
{
    for (const ax_key *r = t; r->keys || r->modes; r++) {
        if (!r->fn) {
            ck_assert_msg(r->codes[0] == 0, "%s: '%s' has codes but no handler", what, r->keys);
            continue;
        }
        ck_assert_msg(r->codes[0] != 0, "%s: '%s' has a handler but no codes", what, r->keys);
        for (int j = 0; j < AX_KEY_CODES && r->codes[j]; j++) {
            int k = r->codes[j];
            if (k == KEY_MOUSE) continue;   /* needs a mouse event: ui_e2e.sh clicks */
            int reached = 0, views = 0;
            for (int v = 0; v < AX_V_COUNT; v++) {
                views++;
                if (press(v, k) == r) reached++;
                else if (r->frame)
                    ck_abort_msg("%s: frame key '%s' (code %d) does not reach its handler in view %s", what,
                                 r->keys, k, ax_views[v]->name);
            }
            ck_assert_msg(reached > 0, "%s: key '%s' (code %d) reaches its handler in none of the %d views", what,
                          r->keys, k, views);
        }
    }
}

START_TEST(every_global_key_reaches_its_handler)
{
    check_table("global map", ax_global_keys);
}
END_TEST

START_TEST(every_mode_key_reaches_its_handler)
{
    for (int m = 0; m < AX_M_COUNT; m++)
        if (ax_modes[m]->keys) check_table(ax_modes[m]->name, ax_modes[m]->keys);
}
END_TEST

START_TEST(every_view_key_reaches_its_handler)
{
    for (int v = 0; v < AX_V_COUNT; v++)
        for (const ax_key *r = ax_views[v]->keys; r && (r->keys || r->modes); r++) {
            ck_assert_msg(!r->modes, "view %s: a modes row in a view's table", ax_views[v]->name);
            if (!r->fn) {
                ck_assert_msg(r->codes[0] == 0, "view %s: '%s' has codes but no handler", ax_views[v]->name, r->keys);
                continue;
            }
            ck_assert_msg(r->codes[0] != 0, "view %s: '%s' has a handler but no codes", ax_views[v]->name, r->keys);
            for (int j = 0; j < AX_KEY_CODES && r->codes[j]; j++) {
                int reached = 0;
                for (int layer = -1; layer < net->nlayers && !reached; layer++)
                    reached = press_at(v, layer, r->codes[j]) == r;
                ck_assert_msg(reached, "view %s: key '%s' (code %d) reaches its handler on no layer", ax_views[v]->name,
                              r->keys, r->codes[j]);
            }
        }
}
END_TEST

/* In one view's table, a code in two rows would never reach the second. */
START_TEST(no_code_in_two_rows_of_a_view)
{
    for (int v = 0; v < AX_V_COUNT; v++)
        for (const ax_key *r = ax_views[v]->keys; r && r->keys; r++)
            for (int j = 0; j < AX_KEY_CODES && r->codes[j]; j++)
                ck_assert_msg(ax_ui_key_find(ax_views[v]->keys, r->codes[j]) == r,
                              "view %s: code %d of '%s' is taken by an earlier row", ax_views[v]->name, r->codes[j],
                              r->keys);
}
END_TEST

/* A code in two rows would make the second row's line in the help a lie. */
START_TEST(no_code_in_two_rows)
{
    const ax_key *tables[AX_M_COUNT + 1];
    const char *names[AX_M_COUNT + 1];
    int n = 0;
    tables[n] = ax_global_keys, names[n++] = "global map";
    for (int m = 0; m < AX_M_COUNT; m++)
        if (ax_modes[m]->keys) tables[n] = ax_modes[m]->keys, names[n++] = ax_modes[m]->name;
    for (int a = 0; a < n; a++)
        for (const ax_key *r = tables[a]; r->keys || r->modes; r++)
            for (int j = 0; j < AX_KEY_CODES && r->codes[j]; j++)
                for (int b = 0; b < n; b++)
                    for (const ax_key *s = tables[b]; s->keys || s->modes; s++)
                        for (int i = 0; i < AX_KEY_CODES && s->codes[i]; i++)
                            ck_assert_msg(s == r || s->codes[i] != r->codes[j],
                                          "code %d is in '%s' (%s) and in '%s' (%s)", r->codes[j], r->keys,
                                          names[a], s->keys, names[b]);
}
END_TEST

/* The Saliency view's p is its scale: the view takes it before the global
 * "previous layer"; elsewhere p is the global row. */
START_TEST(a_view_key_comes_before_the_global_one)
{
    const ax_key *prev = ax_ui_key_find(ax_global_keys, 'p');
    ck_assert_ptr_nonnull(prev);
    ck_assert_ptr_eq(press(AX_V_TENSOR, 'p'), prev);
    const ax_key *scale = ax_ui_key_find(ax_views[AX_V_SALIENCY]->keys, 'p');
    ck_assert_ptr_nonnull(scale);
    ck_assert_ptr_ne(scale, prev);
    ck_assert_ptr_eq(press(AX_V_SALIENCY, 'p'), scale);
}
END_TEST

static Suite *keys_suite(void)
{
    Suite *s = suite_create("keys");
    TCase *tc = tcase_create("tables");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, every_global_key_reaches_its_handler);
    tcase_add_test(tc, every_mode_key_reaches_its_handler);
    tcase_add_test(tc, no_code_in_two_rows);
    tcase_add_test(tc, every_view_key_reaches_its_handler);
    tcase_add_test(tc, no_code_in_two_rows_of_a_view);
    tcase_add_test(tc, a_view_key_comes_before_the_global_one);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return ax_run_suite(keys_suite()); }
