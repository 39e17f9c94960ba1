/* Shared test helpers (see check_util.h). */
#include "check_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

void ax_check_close_at(const char *file, int line, const float *a, const float *ref, size_t n,
                       double atol, double rtol, const char *label)
{
    size_t bad = 0, worst = 0;
    double worst_excess = -1.0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)ref[i]);
        double tol = atol + rtol * fabs((double)ref[i]);
        double excess = isnan(d) ? INFINITY : d - tol;
        if (excess > 0) bad++;
        if (excess > worst_excess) { worst_excess = excess; worst = i; }
    }
    if (bad) {
        ck_assert_msg(0, "%s:%d %s: %zu of %zu elements out of tolerance (atol %g, rtol %g); "
                      "worst at [%zu]: got %.9g, expected %.9g (diff %.3g)",
                      file, line, label, bad, n, atol, rtol, worst, (double)a[worst],
                      (double)ref[worst], fabs((double)a[worst] - (double)ref[worst]));
    }
}

void ax_fill_uniform(float *x, size_t n, float lo, float hi, uint64_t seed)
{
    uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
    for (size_t i = 0; i < n; i++) {
        s ^= s << 13; s ^= s >> 7; s ^= s << 17;   /* xorshift64 */
        double u = (double)(s >> 11) / 9007199254740992.0;
        x[i] = lo + (float)(u * (hi - lo));
    }
}

const char *ax_fixture(const char *name)
{
    static char buf[4096];
    const char *dir = getenv("AX_FIXTURES");
    snprintf(buf, sizeof buf, "%s/%s", dir && *dir ? dir : "tests/fixtures", name);
    return buf;
}

/* Check reads CK_DEFAULT_TIMEOUT when a test case is created, which every
 * suite does before ax_run_suite: set it before main, so that a case that
 * does not set its own timeout gets AX_CHECK_TIMEOUT too, run by make or by
 * hand (the default would be 4 s, too little on a busy machine). */
__attribute__((constructor)) static void default_timeout(void)
{
    char v[16];
    snprintf(v, sizeof v, "%d", AX_CHECK_TIMEOUT);
    setenv("CK_DEFAULT_TIMEOUT", v, 0);
}

int ax_run_suite(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
