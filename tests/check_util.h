/* Helpers shared by the Check suites: closeness with a report of the worst
 * element, seeded random buffers, and fixture paths. */
#ifndef AX_CHECK_UTIL_H
#define AX_CHECK_UTIL_H

#include <check.h>
#include <stddef.h>
#include <stdint.h>

/* Fails the current test when any |a - ref| > atol + rtol * |ref| (or a NaN
 * appears), naming the label, the worst index, both values and the counts. */
#define check_close(a, ref, n, atol, rtol, label) \
    ax_check_close_at(__FILE__, __LINE__, (a), (ref), (n), (atol), (rtol), (label))
void ax_check_close_at(const char *file, int line, const float *a, const float *ref, size_t n,
                       double atol, double rtol, const char *label);

/* Deterministic uniform values in [lo, hi). */
void ax_fill_uniform(float *x, size_t n, float lo, float hi, uint64_t seed);

/* Fixture folder ($AX_FIXTURES, else tests/fixtures) joined with name. */
const char *ax_fixture(const char *name);

/* The one timeout of every test case (seconds): generous, so that a busy
 * machine slows the suites down without failing them. Cases that set none
 * get it through CK_DEFAULT_TIMEOUT (check_util.c sets it before main);
 * CK_TIMEOUT_MULTIPLIER stretches it further. */
#define AX_CHECK_TIMEOUT 120

/* Runs a suite and returns the exit status (0 when all passed). */
int ax_run_suite(Suite *s);

#endif
