/* The pool behind ax_parallel_for: workers sleep on a condition variable and
 * are woken by a generation counter; each job is split statically. Created on
 * first use, never torn down (it holds no resources worth returning). Depends
 * on nothing above core: the thread count is its own setting. */
#include "parallel.h"

#include <pthread.h>
#include <unistd.h>

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

static int pool_threads = 0;   /* 0: one per online core */
/* One job at a time: a second thread's job (the workbench opening side B
 * while the worker computes) waits for the first instead of replacing it
 * under the workers' feet. */
static pthread_mutex_t job_mu = PTHREAD_MUTEX_INITIALIZER;

void ax_pool_set_threads(int n)
{
    pool_threads = n > 0 ? n : 0;
}

int ax_pool_threads(void)
{
    if (pool_threads > 0) return pool_threads;
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

int ax_pool_workers(void)
{
    pthread_mutex_lock(&pool.mu);
    int w = pool.workers;
    pthread_mutex_unlock(&pool.mu);
    return w;
}

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
    int want = ax_pool_threads() - 1;
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

void ax_parallel_for(int n, void (*fn)(void *ctx, int begin, int end), void *ctx)
{
    int threads = ax_pool_threads();
    if (threads > 1) pthread_once(&pool.once, start_pool);
    int parts = threads < pool.workers + 1 ? threads : pool.workers + 1;
    if (parts > n) parts = n;
    if (parts <= 1) {
        if (n > 0) fn(ctx, 0, n);
        return;
    }
    pthread_mutex_lock(&job_mu);
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
    pthread_mutex_unlock(&job_mu);
}
