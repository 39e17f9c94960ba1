/* A small persistent thread pool for the CPU kernels: they split their work
 * into parts (output rows of a convolution, outputs of an FC layer) and call
 * OpenBLAS single-threaded inside each part, so each core multiplies what it
 * just wrote. */
#ifndef AX_CPU_PARALLEL_H
#define AX_CPU_PARALLEL_H

/* Calls fn(ctx, begin, end) on disjoint ranges covering [0, n), one range per
 * thread (ax_cpu_threads()), the caller's thread included, and returns when
 * all are done. Runs inline when one thread is enough or the pool cannot start.
 * The first call sets OpenBLAS to one thread. One job at a time: call it
 * from one thread only (the net's), never from inside fn. */
void ax_parallel_for(int n, void (*fn)(void *ctx, int begin, int end), void *ctx);

/* Sets OpenBLAS's own thread count (the pool keeps it at 1; a benchmark peer
 * may raise it). */
void ax_blas_threads(int n);

#endif
