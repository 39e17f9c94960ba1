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

#endif
