/* What this machine can do at most, measured: the memory bandwidth of a
 * streaming read and the fp32 FMA rate of a register-blocked loop, over the
 * core pool's threads. For `bench --floor`; no kernel calls these. */
#include "alexscope/cpu.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alexscope/clock.h"
#include "core/parallel.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define AX_X86 1
#endif

/* ---- FMA peak ---------------------------------------------------------- */

/* Twelve independent accumulators hide the FMA latency (4-5 cycles) on two
 * FMA ports; every accumulator is written back so nothing is optimised away.
 * Each variant is compiled for its ISA whatever the build's -march, and
 * chosen at run time by what the CPU reports. */
#define CHAINS 12

#ifdef AX_X86
__attribute__((target("avx512f"))) static double fma_avx512(long iters, float *sink)
{
    __m512 acc[CHAINS];
    for (int i = 0; i < CHAINS; i++) acc[i] = _mm512_set1_ps(0.001f * (float)i);
    const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
    for (long it = 0; it < iters; it++)
        for (int i = 0; i < CHAINS; i++) acc[i] = _mm512_fmadd_ps(acc[i], a, b);
    __m512 s = acc[0];
    for (int i = 1; i < CHAINS; i++) s = _mm512_add_ps(s, acc[i]);
    *sink = _mm512_reduce_add_ps(s);
    return (double)iters * CHAINS * 16 * 2;
}

__attribute__((target("avx2,fma"))) static double fma_avx2(long iters, float *sink)
{
    __m256 acc[CHAINS];
    for (int i = 0; i < CHAINS; i++) acc[i] = _mm256_set1_ps(0.001f * (float)i);
    const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
    for (long it = 0; it < iters; it++)
        for (int i = 0; i < CHAINS; i++) acc[i] = _mm256_fmadd_ps(acc[i], a, b);
    __m256 s = acc[0];
    for (int i = 1; i < CHAINS; i++) s = _mm256_add_ps(s, acc[i]);
    float v[8];
    _mm256_storeu_ps(v, s);
    *sink = v[0] + v[1] + v[2] + v[3] + v[4] + v[5] + v[6] + v[7];
    return (double)iters * CHAINS * 8 * 2;
}
#endif

/* Whatever the compiler makes of plain multiply-adds (no FMA unit assumed). */
static double fma_plain(long iters, float *sink)
{
    float acc[CHAINS * 4];
    for (int i = 0; i < CHAINS * 4; i++) acc[i] = 0.001f * (float)i;
    for (long it = 0; it < iters; it++)
        for (int i = 0; i < CHAINS * 4; i++) acc[i] = acc[i] * 0.999999f + 1e-7f;
    float s = 0;
    for (int i = 0; i < CHAINS * 4; i++) s += acc[i];
    *sink = s;
    return (double)iters * CHAINS * 4 * 2;
}

typedef double (*fma_fn)(long, float *);

static fma_fn pick_fma(const char **isa)
{
#ifdef AX_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) { *isa = "AVX-512 FMA"; return fma_avx512; }
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) { *isa = "AVX2 FMA"; return fma_avx2; }
#endif
    *isa = "scalar multiply-add";
    return fma_plain;
}

typedef struct {
    fma_fn fn;
    long iters;
    float sink[64 * 16];   /* one cache line per thread */
} fma_job;

static void fma_part(void *arg, int begin, int end)
{
    fma_job *j = arg;
    for (int t = begin; t < end; t++) j->fn(j->iters, &j->sink[(t % 64) * 16]);
}

double ax_cpu_fma_gflops(int threads, const char **isa)
{
    static fma_job job;
    const char *name;
    job.fn = pick_fma(&name);
    if (isa) *isa = name;
    if (threads < 1) threads = 1;
    /* Iterations for about 20 ms of one thread at 100 GFLOP/s. */
    float s;
    double per = job.fn(1, &s);
    job.iters = (long)(2e9 / per);
    int saved = ax_pool_threads();
    ax_pool_set_threads(threads);
    double t0 = ax_clock_ms();
    ax_parallel_for(threads, fma_part, &job);
    double ms = ax_clock_ms() - t0;
    ax_pool_set_threads(saved);
    return ms > 0 ? per * job.iters * threads / (ms * 1e6) : 0;
}

/* ---- streaming read ---------------------------------------------------- */

/* Each thread reads its share as STREAMS interleaved sequential streams, a
 * cache line of each in turn, as the FC layers' GEMV reads its 8 weight rows
 * at once: one stream per core leaves most of the memory system idle. Integer sums
 * vectorise without reassociating floats, so the loop is as wide as the
 * build's ISA allows. */
#define STREAMS 8
#define LINE 8   /* uint64 per 64-byte line */

typedef struct {
    const uint64_t *buf;
    size_t words;
    int parts;
    uint64_t sink[64 * 8];
} stream_job;

static void stream_part(void *arg, int begin, int end)
{
    stream_job *j = arg;
    for (int p = begin; p < end; p++) {
        size_t lo = j->words * (size_t)p / (size_t)j->parts, hi = j->words * (size_t)(p + 1) / (size_t)j->parts;
        size_t q = (hi - lo) / STREAMS / LINE * LINE;   /* words per stream */
        const uint64_t *restrict b = j->buf + lo;
        uint64_t acc[LINE] = {0};
        for (size_t i = 0; i < q; i += LINE)
            for (int s = 0; s < STREAMS; s++)
                for (int k = 0; k < LINE; k++) acc[k] += b[(size_t)s * q + i + k];
        for (size_t i = lo + q * STREAMS; i < hi; i++) acc[0] += j->buf[i];
        uint64_t t = 0;
        for (int k = 0; k < LINE; k++) t += acc[k];
        j->sink[(p % 64) * 8] = t;
    }
}

double ax_cpu_read_gbps(const void *buf, size_t bytes, int threads)
{
    if (threads < 1) threads = 1;
    size_t words = bytes / sizeof(uint64_t);
    if (!buf || !words) return 0;
    static stream_job job;   /* its sink is large; one measurement at a time (the pool's rule) */
    job.buf = buf;
    job.words = words;
    job.parts = threads;
    int saved = ax_pool_threads();
    ax_pool_set_threads(threads);
    double t0 = ax_clock_ms();
    ax_parallel_for(threads, stream_part, &job);
    double ms = ax_clock_ms() - t0;
    ax_pool_set_threads(saved);
    return ms > 0 ? (double)(words * sizeof(uint64_t)) / (ms * 1e6) : 0;
}
