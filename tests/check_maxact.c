/* Check suite "maxact": the top-K lists against a full sort (ties, K above
 * the number of images, any order of offering, NaN), each image's peak
 * (first of equal maxima), the contact sheet's layout and the PNG writer
 * read back by the image loader (stb_image). The folder pass itself is
 * checked end to end by tests/maxact.sh. */
#include "alexscope/image.h"
#include "alexscope/maxact.h"
#include "check_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct { float v; int image, y, x; } offer;

static int offer_cmp(const void *a, const void *b)
{
    const offer *p = a, *q = b;
    if (p->v != q->v) return p->v > q->v ? -1 : 1;
    return (p->image > q->image) - (p->image < q->image);
}

static uint64_t rng = 88172645463325252ull;
static unsigned next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (unsigned)(rng >> 11);
}

/* Offers n values (few distinct ones: many ties) to one channel in a random
 * order, k of them kept; the list must be the first k of the full sort. */
static void check_against_sort(int n, int k, int distinct)
{
    offer *o = malloc((size_t)n * sizeof *o), *ref = malloc((size_t)n * sizeof *ref);
    ck_assert(o && ref);
    for (int i = 0; i < n; i++) o[i] = (offer){ (float)(next_rand() % distinct), i, (int)(next_rand() % 7), i % 5 };
    memcpy(ref, o, (size_t)n * sizeof *o);
    qsort(ref, (size_t)n, sizeof *ref, offer_cmp);
    for (int i = n - 1; i > 0; i--) {   /* shuffled: the order offered must not matter */
        int j = (int)(next_rand() % (unsigned)(i + 1));
        offer t = o[i]; o[i] = o[j]; o[j] = t;
    }
    ax_maxact_top t;
    ax_error err = { 0 };
    ck_assert_msg(ax_maxact_top_init(&t, 2, k, 1, 1, &err) == AX_OK, "%s", err.msg);
    for (int i = 0; i < n; i++) ax_maxact_top_offer(&t, 1, o[i].v, o[i].image, o[i].y, o[i].x);
    int cnt;
    const ax_maxact_entry *e = ax_maxact_top_list(&t, 1, &cnt);
    ck_assert_int_eq(cnt, n < k ? n : k);
    for (int r = 0; r < cnt; r++) {
        ck_assert_msg(e[r].value == ref[r].v && e[r].image == ref[r].image && e[r].y == ref[r].y &&
                      e[r].x == ref[r].x, "n %d k %d rank %d: got %g image %d, want %g image %d", n, k, r,
                      e[r].value, e[r].image, ref[r].v, ref[r].image);
    }
    ax_maxact_top_list(&t, 0, &cnt);
    ck_assert_int_eq(cnt, 0);   /* the other channel was offered nothing */
    ax_maxact_top_free(&t);
    free(o);
    free(ref);
}

START_TEST(top_k_is_the_sorts_head)
{
    check_against_sort(200, 7, 5);       /* many ties */
    check_against_sort(200, 7, 100000);  /* few */
    check_against_sort(3, 10, 2);        /* K above the count: all kept, sorted */
    check_against_sort(1, 1, 1);
    check_against_sort(50, 50, 3);
}
END_TEST

START_TEST(ties_go_to_the_lower_image)
{
    ax_maxact_top t;
    ax_error err = { 0 };
    ck_assert(ax_maxact_top_init(&t, 1, 2, 1, 1, &err) == AX_OK);
    ck_assert_int_eq(ax_maxact_top_offer(&t, 0, 5.0f, 9, 0, 0), 1);
    ck_assert_int_eq(ax_maxact_top_offer(&t, 0, 5.0f, 4, 0, 0), 1);
    ck_assert_int_eq(ax_maxact_top_offer(&t, 0, 5.0f, 6, 0, 0), 1);   /* displaces image 9 */
    ck_assert_int_eq(ax_maxact_top_offer(&t, 0, 5.0f, 7, 0, 0), 0);   /* after 4 and 6 */
    ck_assert_int_eq(ax_maxact_top_offer(&t, 0, NAN, 0, 0, 0), 0);
    ck_assert_int_eq(ax_maxact_top_offer(&t, 0, -INFINITY, 0, 0, 0), 0);
    ck_assert_int_eq(ax_maxact_top_offer(&t, 3, 9.0f, 0, 0, 0), 0);  /* no such channel */
    int n;
    const ax_maxact_entry *e = ax_maxact_top_list(&t, 0, &n);
    ck_assert_int_eq(n, 2);
    ck_assert_int_eq(e[0].image, 4);
    ck_assert_int_eq(e[1].image, 6);
    ck_assert_ptr_null(ax_maxact_top_list(&t, 1, &n));
    ck_assert_int_eq(n, 0);
    ax_maxact_top_free(&t);
    ck_assert(ax_maxact_top_init(&t, 0, 2, 1, 1, &err) == AX_ERR_ARG);
    ck_assert(ax_maxact_top_init(&t, 2, 0, 1, 1, &err) == AX_ERR_ARG);
}
END_TEST

/* A channel's value is its largest over the map (NaN left out) at the first
 * position in row order; a map of NaN only gives no entry. */
START_TEST(peaks_of_an_image)
{
    enum { C = 3, H = 2, W = 3 };
    const float a[C * H * W] = {
        1, 4, 2, 4, 0, 4,                    /* three equal maxima: (0, 1) */
        NAN, -3, NAN, -1, -2, NAN,           /* NaN left out: -1 at (1, 0) */
        NAN, NAN, NAN, NAN, NAN, NAN,        /* nothing */
    };
    ax_maxact_top t;
    ax_error err = { 0 };
    ck_assert(ax_maxact_top_init(&t, C, 3, H, W, &err) == AX_OK);
    ax_maxact_top_add(&t, 2, a);
    int n;
    const ax_maxact_entry *e = ax_maxact_top_list(&t, 0, &n);
    ck_assert_int_eq(n, 1);
    ck_assert(e[0].value == 4.0f && e[0].image == 2 && e[0].y == 0 && e[0].x == 1);
    e = ax_maxact_top_list(&t, 1, &n);
    ck_assert_int_eq(n, 1);
    ck_assert(e[0].value == -1.0f && e[0].y == 1 && e[0].x == 0);
    ax_maxact_top_list(&t, 2, &n);
    ck_assert_int_eq(n, 0);
    ax_maxact_top_free(&t);
}
END_TEST

/* Crops of 3x2 and 2x4 make a sheet of cells 4 wide, 3 high, 2-pixel gaps on
 * grey, each crop centred in its cell; an empty slot stays grey. */
START_TEST(sheet_layout)
{
    unsigned char a[2 * 3 * 3], b[4 * 2 * 3];
    memset(a, 10, sizeof a);
    memset(b, 200, sizeof b);
    ax_maxact_crop c[3] = { { .w = 3, .h = 2, .rgb = a }, { .w = 0 }, { .w = 2, .h = 4, .rgb = b } };
    unsigned char *s;
    int w, h;
    ax_error err = { 0 };
    ck_assert(ax_maxact_sheet(&s, &w, &h, c, 3, &err) == AX_OK);
    ck_assert_int_eq(w, 3 * 3 + 4 * 2);
    ck_assert_int_eq(h, 4 + 4);
    /* crop 0 at x 2 + (3 - 3) / 2 = 2, y 2 + (4 - 2) / 2 = 3 */
    ck_assert_int_eq(s[(3 * w + 2) * 3], 10);
    ck_assert_int_eq(s[(2 * w + 2) * 3], 128);
    ck_assert_int_eq(s[(4 * w + 4) * 3], 10);
    /* the empty cell 1: grey */
    ck_assert_int_eq(s[(4 * w + 7) * 3], 128);
    /* crop 2 at x 2 + 2 * 5 + (3 - 2) / 2 = 12, y 2 */
    ck_assert_int_eq(s[(2 * w + 12) * 3], 200);
    ck_assert_int_eq(s[(5 * w + 13) * 3], 200);
    ck_assert_int_eq(s[(5 * w + 14) * 3], 128);
    free(s);
}
END_TEST

/* What ax_png_write writes, stb_image reads back pixel for pixel. */
START_TEST(png_reads_back)
{
    enum { W = 37, H = 11 };
    unsigned char px[W * H * 3];
    for (size_t i = 0; i < sizeof px; i++) px[i] = (unsigned char)(next_rand() & 255);
    char path[] = "/tmp/ax_check_maxact_XXXXXX.png";
    int fd = mkstemps(path, 4);
    ck_assert(fd >= 0);
    close(fd);
    ax_error err = { 0 };
    ck_assert_msg(ax_png_write(path, px, W, H, &err) == AX_OK, "%s", err.msg);
    ax_image img;
    ck_assert_msg(ax_image_load(&img, path, &err) == AX_OK, "%s", err.msg);
    unlink(path);
    ck_assert_int_eq(img.w, W);
    ck_assert_int_eq(img.h, H);
    ck_assert(!memcmp(img.rgb, px, sizeof px));
    ax_image_free(&img);
    ck_assert(ax_png_write(path, px, 0, H, &err) == AX_ERR_ARG);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("maxact");
    TCase *t = tcase_create("maxact");
    tcase_set_timeout(t, AX_CHECK_TIMEOUT);
    tcase_add_test(t, top_k_is_the_sorts_head);
    tcase_add_test(t, ties_go_to_the_lower_image);
    tcase_add_test(t, peaks_of_an_image);
    tcase_add_test(t, sheet_layout);
    tcase_add_test(t, png_reads_back);
    suite_add_tcase(s, t);
    return ax_run_suite(s);
}
