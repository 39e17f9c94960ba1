/* The CPU kernels' side of threading: OpenBLAS is kept single-threaded while
 * the kernels split their work over the core pool (core/parallel.h). For the
 * CPU kernels only; the engine above sets threads through alexscope/cpu.h. */
#ifndef AX_CPU_THREADS_H
#define AX_CPU_THREADS_H

/* Sets OpenBLAS to one thread, once per process; every kernel that calls
 * OpenBLAS calls this first (cheap after the first call). */
void ax_cpu_blas_single(void);

#endif
