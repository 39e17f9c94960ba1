/* OpenBLAS picks its kernels in a library constructor, before main, from
 * OPENBLAS_CORETYPE or its own CPU detection. Both can leave an AVX-512
 * machine on the AVX2 (Haswell) kernels at about half the speed: an
 * environment that pins OPENBLAS_CORETYPE=Haswell for portability, or a build
 * that does not know the CPU. The kernel can only change at load time, so the
 * program re-executes itself once with OPENBLAS_CORETYPE raised.
 * ALEXSCOPE_BLAS_CORETYPE=NAME picks a kernel; ALEXSCOPE_NO_BLAS_TUNE=1 leaves
 * OpenBLAS alone. */
#define _GNU_SOURCE
#include "blas_tune.h"

#include <cblas.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "config.h"

/* Set in the re-executed process: the kernel OpenBLAS had chosen before. */
#define TUNED_VAR "ALEXSCOPE_BLAS_TUNED_FROM"

static int has_skylakex_isa(void)
{
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
#else
    return 0;
#endif
}

/* OpenBLAS core names whose single-precision kernels stop at AVX2 or below. */
static int below_avx512(const char *core)
{
    static const char *const names[] = {"Haswell", "Zen", "SandyBridge", "Sandybridge", "Nehalem", "Prescott",
                                        "Core2", "Penryn", "Dunnington", "Atom", "Barcelona", "Bulldozer",
                                        "Piledriver", "Steamroller", "Excavator", "Opteron", "Katmai",
                                        "Coppermine", "Northwood", "Banias"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (!strcasecmp(core, names[i])) return 1;
    return 0;
}

void ax_blas_tune(int argc, char **argv)
{
    (void)argc;
#ifdef HAVE_OPENBLAS_GET_CORENAME
    if (getenv(TUNED_VAR) || getenv("ALEXSCOPE_NO_BLAS_TUNE")) return;
    const char *core = openblas_get_corename();
    if (!core) return;
    const char *want = getenv("ALEXSCOPE_BLAS_CORETYPE");
    if (want && *want) {
        if (!strcasecmp(core, want)) return;
    } else {
        if (!has_skylakex_isa() || !below_avx512(core)) return;
        want = "SkylakeX";
    }
    setenv(TUNED_VAR, core, 1);
    setenv("OPENBLAS_CORETYPE", want, 1);
    execv("/proc/self/exe", argv);
    /* exec failed: go on with the kernels we have. */
    unsetenv(TUNED_VAR);
#else
    (void)argv;
#endif
}

const char *ax_blas_tuned_from(void)
{
    return getenv(TUNED_VAR);
}
