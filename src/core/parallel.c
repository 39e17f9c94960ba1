/* The pool behind ax_parallel_for: workers sleep on a condition variable and
 * are woken by a generation counter; each job is split statically. Created on
 * first use, never torn down (it holds no resources worth returning). */
#include "parallel.h"

#include <cblas.h>
#include <pthread.h>

#include "alexscope/cpu.h"
#include "alexscope/backend.h"
#include "config.h"

#define MAX_WORKERS 63

static struct {
    pthread_mutex_t mu;
    pthread_cond_t start, done;
    pthread_once_t once;
    int workers;              /* started threads, besides the caller's */
    unsigned long generation;
    int parts, pending;
    int n;
    void (*fn)(void *, int, int);
    void *ctx;
} pool = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_ONCE_INIT,
          0, 0, 0, 0, 0, 0, 0};

static void run_part(int part, int parts, int n, void (*fn)(void *, int, int), void *ctx)
{
    int begin = (int)((long long)n * part / parts), end = (int)((long long)n * (part + 1) / parts);
    if (begin < end) fn(ctx, begin, end);
}

static void *worker(void *arg)
{
    int id = (int)(long)arg;      /* 1..workers; the caller is part 0 */
    unsigned long seen = 0;
    pthread_mutex_lock(&pool.mu);
    for (;;) {
        while (pool.generation == seen) pthread_cond_wait(&pool.start, &pool.mu);
        seen = pool.generation;
        if (id >= pool.parts) continue;
        int parts = pool.parts, n = pool.n;
        void (*fn)(void *, int, int) = pool.fn;
        void *ctx = pool.ctx;
        pthread_mutex_unlock(&pool.mu);
        run_part(id, parts, n, fn, ctx);
        pthread_mutex_lock(&pool.mu);
        if (--pool.pending == 0) pthread_cond_signal(&pool.done);
    }
    return NULL;
}

static void start_pool(void)
{
    int want = ax_cpu_threads() - 1;
    if (want > MAX_WORKERS) want = MAX_WORKERS;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    for (int i = 1; i <= want; i++) {
        pthread_t t;
        if (pthread_create(&t, &attr, worker, (void *)(long)i)) break;
        pool.workers = i;
    }
    pthread_attr_destroy(&attr);
}

/* The kernels split work themselves and call OpenBLAS inside each part, so
 * OpenBLAS must not start threads of its own on top. */
static pthread_once_t blas_once = PTHREAD_ONCE_INIT;

static void blas_single(void)
{
    ax_blas_threads(1);
}

void ax_blas_threads(int n)
{
#ifdef HAVE_OPENBLAS_SET_NUM_THREADS
    openblas_set_num_threads(n);
#else
    (void)n;
#endif
}

void ax_parallel_for(int n, void (*fn)(void *ctx, int begin, int end), void *ctx)
{
    pthread_once(&blas_once, blas_single);
    int threads = ax_cpu_threads();
    if (threads > 1) pthread_once(&pool.once, start_pool);
    int parts = threads < pool.workers + 1 ? threads : pool.workers + 1;
    if (parts > n) parts = n;
    if (parts <= 1) {
        if (n > 0) fn(ctx, 0, n);
        return;
    }
    pthread_mutex_lock(&pool.mu);
    pool.parts = parts;
    pool.pending = parts - 1;
    pool.n = n;
    pool.fn = fn;
    pool.ctx = ctx;
    pool.generation++;
    pthread_cond_broadcast(&pool.start);
    pthread_mutex_unlock(&pool.mu);

    run_part(0, parts, n, fn, ctx);

    pthread_mutex_lock(&pool.mu);
    while (pool.pending) pthread_cond_wait(&pool.done, &pool.mu);
    pthread_mutex_unlock(&pool.mu);
}
