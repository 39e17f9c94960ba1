/* A small persistent thread pool for the CPU kernels' own loops (im2col);
 * OpenBLAS threads its GEMMs itself. */
#ifndef AX_CPU_PARALLEL_H
#define AX_CPU_PARALLEL_H

/* Calls fn(ctx, begin, end) on disjoint ranges covering [0, n), one range per
 * thread (ax_cpu_threads()), the caller's thread included, and returns when
 * all are done. Runs inline when one thread is enough or the pool cannot start. */
void ax_parallel_for(int n, void (*fn)(void *ctx, int begin, int end), void *ctx);

#endif
