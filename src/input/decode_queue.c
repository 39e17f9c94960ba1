/* Images decoded ahead of their consumer on threads of their own, through a
 * bounded queue: item i goes to slot i % depth, which the consumer frees
 * once it has taken item i, so at most `depth` items are decoded ahead;
 * items are taken strictly in order. What decoding an item means is the
 * caller's function; this file knows no image format and no net. */
#include "alexscope/image.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "alexscope/clock.h"

enum { SLOT_FREE, SLOT_BUSY, SLOT_READY, SLOT_FAILED };

typedef struct {
    float *buf;
    int state;
    ax_error err;
} slot;

struct ax_decode_queue {
    pthread_mutex_t mu;
    pthread_cond_t freed, ready;
    slot *slots;
    int depth;
    int next;                 /* the next item a decoder claims */
    int stop;
    int count;
    double decode_ms, wait_ms;
    ax_decode_fn fn;
    void *user;
    pthread_t th[AX_DECODE_MAX_THREADS];
    int started;
};

static void *decoder(void *arg)
{
    ax_decode_queue *q = arg;
    pthread_mutex_lock(&q->mu);
    for (;;) {
        int i = q->next;
        if (q->stop || i >= q->count) break;
        q->next++;
        slot *s = &q->slots[i % q->depth];
        while (s->state != SLOT_FREE && !q->stop) pthread_cond_wait(&q->freed, &q->mu);
        if (q->stop) break;
        s->state = SLOT_BUSY;
        pthread_mutex_unlock(&q->mu);
        double t0 = ax_clock_ms();
        ax_error e = { 0 };
        ax_status st = q->fn(q->user, i, s->buf, &e);
        double ms = ax_clock_ms() - t0;
        pthread_mutex_lock(&q->mu);
        q->decode_ms += ms;
        s->err = e;
        s->state = st ? SLOT_FAILED : SLOT_READY;
        pthread_cond_broadcast(&q->ready);
    }
    pthread_mutex_unlock(&q->mu);
    return NULL;
}

ax_status ax_decode_queue_start(ax_decode_queue **out, int count, int threads, int depth, size_t floats,
                                ax_decode_fn fn, void *user, ax_error *err)
{
    *out = NULL;
    if (threads < 1) threads = 1;
    if (threads > AX_DECODE_MAX_THREADS) threads = AX_DECODE_MAX_THREADS;
    if (threads > count) threads = count > 0 ? count : 1;
    if (depth < threads) depth = threads;
    ax_decode_queue *q = calloc(1, sizeof *q);
    if (!q) return ax_fail(err, AX_ERR_NOMEM, "out of memory for the decoding queue");
    q->depth = depth;
    q->count = count;
    q->fn = fn;
    q->user = user;
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->freed, NULL);
    pthread_cond_init(&q->ready, NULL);
    q->slots = calloc((size_t)depth, sizeof *q->slots);
    ax_status st = q->slots ? AX_OK : ax_fail(err, AX_ERR_NOMEM, "out of memory for the decoding queue");
    for (int i = 0; !st && i < depth; i++)
        if (!(q->slots[i].buf = malloc((floats ? floats : 1) * sizeof(float))))
            st = ax_fail(err, AX_ERR_NOMEM, "out of memory for the decoding queue (%d images of %zu floats)", depth,
                         floats);
    for (int i = 0; !st && i < threads; i++)
        if (!pthread_create(&q->th[q->started], NULL, decoder, q)) q->started++;
    if (!st && !q->started) st = ax_fail(err, AX_ERR_NOMEM, "cannot start a decoding thread: %s", strerror(errno));
    if (st) {
        ax_decode_queue_stop(q, NULL, NULL);
        return st;
    }
    *out = q;
    return AX_OK;
}

const float *ax_decode_queue_take(ax_decode_queue *q, int i, ax_error *item_err)
{
    slot *s = &q->slots[i % q->depth];
    double t0 = ax_clock_ms();
    pthread_mutex_lock(&q->mu);
    while (s->state != SLOT_READY && s->state != SLOT_FAILED) pthread_cond_wait(&q->ready, &q->mu);
    q->wait_ms += ax_clock_ms() - t0;
    int ok = s->state == SLOT_READY;
    if (!ok && item_err) *item_err = s->err;
    pthread_mutex_unlock(&q->mu);
    return ok ? s->buf : NULL;
}

void ax_decode_queue_release(ax_decode_queue *q, int i)
{
    slot *s = &q->slots[i % q->depth];
    pthread_mutex_lock(&q->mu);
    s->state = SLOT_FREE;
    pthread_cond_broadcast(&q->freed);
    pthread_mutex_unlock(&q->mu);
}

int ax_decode_queue_threads(const ax_decode_queue *q)
{
    return q ? q->started : 0;
}

void ax_decode_queue_stop(ax_decode_queue *q, double *decode_s, double *wait_s)
{
    if (!q) return;
    pthread_mutex_lock(&q->mu);
    q->stop = 1;
    pthread_cond_broadcast(&q->freed);
    pthread_cond_broadcast(&q->ready);
    pthread_mutex_unlock(&q->mu);
    for (int i = 0; i < q->started; i++) pthread_join(q->th[i], NULL);
    if (decode_s) *decode_s = q->decode_ms * 1e-3;
    if (wait_s) *wait_s = q->wait_ms * 1e-3;
    for (int i = 0; q->slots && i < q->depth; i++) free(q->slots[i].buf);
    free(q->slots);
    pthread_mutex_destroy(&q->mu);
    pthread_cond_destroy(&q->freed);
    pthread_cond_destroy(&q->ready);
    free(q);
}
