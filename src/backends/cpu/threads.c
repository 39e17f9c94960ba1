/* CPU thread controls: the pool's thread count (kept in core, set here for the
 * public API) and OpenBLAS's own thread count, which the kernels keep at one
 * because they split their work themselves. Knows no net and no kernel. */
#include "backends/cpu/threads.h"

#include <cblas.h>
#include <pthread.h>

#include "alexscope/cpu.h"
#include "config.h"
#include "core/parallel.h"

/* The kernels split their work over a pool of this many threads and run
 * OpenBLAS single-threaded inside each part. */
void ax_cpu_set_threads(int n)
{
    ax_pool_set_threads(n);
}

int ax_cpu_threads(void)
{
    return ax_pool_threads();
}

void ax_cpu_blas_threads(int n)
{
#ifdef HAVE_OPENBLAS_SET_NUM_THREADS
    openblas_set_num_threads(n);
#else
    (void)n;
#endif
}

/* OpenBLAS must not start threads of its own on top of the pool's. */
static pthread_once_t blas_once = PTHREAD_ONCE_INIT;

static void blas_one(void)
{
    ax_cpu_blas_threads(1);
}

void ax_cpu_blas_single(void)
{
    pthread_once(&blas_once, blas_one);
}

#ifdef HAVE_BLAS_THREAD_SHUTDOWN_
/* OpenBLAS's own (it stops its threads before a fork with it) */
int blas_thread_shutdown_(void);
#endif

/* OpenBLAS's pthread build starts its threads as the library loads, and each
 * spins (sched_yield) for about 2^28 cycles before it sleeps: a tenth of a
 * second of a core at every start of the program, taken from the pool's
 * threads (a weight load's transposes, the first forward pass). The kernels
 * run OpenBLAS on one thread, so those threads are stopped at once; a peer
 * that raises OpenBLAS's thread count later (bench) has OpenBLAS start
 * them again. */
void ax_cpu_blas_quiet(void)
{
#ifdef HAVE_BLAS_THREAD_SHUTDOWN_
    blas_thread_shutdown_();
#endif
    ax_cpu_blas_single();
}
