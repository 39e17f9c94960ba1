/* A small persistent thread pool: callers split their work into parts (output
 * rows of a convolution, outputs of an FC layer, chunks of weights) and the
 * pool runs the parts side by side. It knows nothing of what runs in a part:
 * BLAS threading is the CPU backend's business (backends/cpu/threads.c). */
#ifndef AX_CORE_PARALLEL_H
#define AX_CORE_PARALLEL_H

/* How many threads a job is split over, the caller's included (n <= 0: one
 * per online core). The pool starts its workers on first use with the count
 * set then; a larger count set later is capped at what was started. */
void ax_pool_set_threads(int n);
int ax_pool_threads(void);
/* Worker threads started so far (0 before the first job that needs them). */
int ax_pool_workers(void);

/* Calls fn(ctx, begin, end) on disjoint ranges covering [0, n), one range per
 * thread (ax_pool_threads()), the caller's thread included, and returns when
 * all are done. Runs inline when one thread is enough or the pool cannot start.
 * One job at a time: calls from several threads take turns; never call it
 * from inside fn. */
void ax_parallel_for(int n, void (*fn)(void *ctx, int begin, int end), void *ctx);

#endif
