/* ax_clock_ms: CLOCK_MONOTONIC, so that a clock step (NTP, a user setting the
 * date) never shows up as a negative or huge layer time. */
#include "alexscope/clock.h"

#include <time.h>

double ax_clock_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}
