/* Controls of the CPU backend only (the generic engine headers know nothing
 * of threads or BLAS kernels). */
#ifndef ALEXSCOPE_CPU_H
#define ALEXSCOPE_CPU_H

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

#endif
