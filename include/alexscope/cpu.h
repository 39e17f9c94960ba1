/* Controls of the CPU backend only (the generic engine headers know nothing
 * of threads or BLAS kernels). */
#ifndef ALEXSCOPE_CPU_H
#define ALEXSCOPE_CPU_H

#include <stddef.h>

/* Sets the CPU thread count (0: all cores): the kernels split their work over
 * this many threads of the core pool. */
void ax_cpu_set_threads(int n);
int ax_cpu_threads(void);

/* Sets OpenBLAS's own thread count. The kernels keep it at 1 (they split the
 * work themselves); a benchmark peer that times OpenBLAS alone may raise it,
 * and sets it back to 1 afterwards. */
void ax_cpu_blas_threads(int n);

/* Called first thing in main: re-executes the program with faster OpenBLAS
 * kernels when the CPU supports them (src/backends/cpu/blas_tune.c). */
void ax_cpu_blas_tune(int argc, char **argv);

/* Called next: stops the threads OpenBLAS started as it loaded (they would
 * spin on a core for a tenth of a second) and keeps it on one thread. */
void ax_cpu_blas_quiet(void);

/* The machine's limits, measured once each (src/backends/cpu/machine.c; a
 * caller takes the best of several, interleaved with what it compares):
 * GB/s of one streaming read of buf[0..bytes) split over `threads` threads
 * (buf much larger than the caches, written once beforehand), and GFLOP/s of
 * fp32 FMAs on `threads` threads at once for about 20 ms; isa (may be NULL)
 * gets the instructions used ("AVX-512 FMA", "AVX2 FMA": chosen by the CPU,
 * not the build's -march). Both take the pool for their time: not for use
 * while a net runs. */
double ax_cpu_read_gbps(const void *buf, size_t bytes, int threads);
double ax_cpu_fma_gflops(int threads, const char **isa);

/* The CPU convolutions' path (src/backends/cpu/conv_path.c): im2col +
 * OpenBLAS everywhere; oneDNN where the build has it (configure
 * --with-dnnl), the default then. ALEXSCOPE_CONV=im2col|onednn|onednn-direct
 * picks one (onednn-direct: oneDNN without Winograd). */
typedef enum { AX_CONV_IM2COL, AX_CONV_ONEDNN, AX_CONV_ONEDNN_DIRECT } ax_conv_path;

/* The path in use: ALEXSCOPE_CONV, read once, unless ax_conv_set_path set one.
 * An unknown value, or a oneDNN path in a build without it, falls back to
 * the default; ax_conv_path_problem says so (NULL when all is well). */
ax_conv_path ax_conv_get_path(void);
void ax_conv_set_path(ax_conv_path p);
const char *ax_conv_path_problem(void);
/* 1 when the build has oneDNN. */
int ax_conv_have_onednn(void);
/* One line for --version and bench: "onednn 2.6.3 (winograd for 3x3
 * stride-1 at batch>=8)", "onednn-direct 2.6.3" or "im2col + OpenBLAS". */
void ax_conv_describe(char *buf, int size);

#endif
