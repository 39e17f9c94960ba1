/* OpenBLAS picks its kernels in a library constructor, before main, and some
 * builds do not recognise newer AVX-512 CPUs (they fall back to Haswell/AVX2
 * kernels at about half the speed). The kernel can only be forced through
 * OPENBLAS_CORETYPE at load time, so the program re-executes itself once with
 * it set. A user's own OPENBLAS_CORETYPE is always left alone. */
#define _GNU_SOURCE
#include "blas_tune.h"

#include <cblas.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

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

void ax_blas_tune(int argc, char **argv)
{
    (void)argc;
#ifdef HAVE_OPENBLAS_GET_CORENAME
    if (getenv("OPENBLAS_CORETYPE") || getenv("ALEXSCOPE_NO_BLAS_TUNE")) return;
    const char *core = openblas_get_corename();
    if (!core || !has_skylakex_isa()) return;
    static const char *const avx2_only[] = {"Haswell", "Zen", "Sandybridge", "Nehalem", "Prescott", "Core2",
                                            "Atom", "Barcelona", "Bulldozer", "Piledriver", "Steamroller",
                                            "Excavator", "Katmai", "Coppermine", "Northwood", "Dunnington"};
    int slow = 0;
    for (size_t i = 0; i < sizeof avx2_only / sizeof *avx2_only; i++)
        if (!strcasecmp(core, avx2_only[i])) slow = 1;
    if (!slow) return;
    setenv("OPENBLAS_CORETYPE", "SkylakeX", 1);
    setenv("ALEXSCOPE_NO_BLAS_TUNE", "1", 1);   /* never loop */
    execv("/proc/self/exe", argv);
    /* exec failed: go on with the kernels we have. */
    unsetenv("OPENBLAS_CORETYPE");
#else
    (void)argv;
#endif
}
