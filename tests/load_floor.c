/* The floor under any loader that copies a weight file into memory of its
 * own, measured the way ax_net_load_weights reads a file whose tensors need
 * no turning: a fresh 2 MB-aligned block with huge pages asked for, and the
 * file read into it with pread in 16 MB chunks, on one thread (the loader
 * reads and turns large tensors on all the pool's threads, each faulting in
 * its own part, so it can come in under this on two cores). Prints
 * the best of RUNS fresh processes' worth of work (each run maps and
 * allocates anew): the copy, and the first touch of the block alone.
 *   load_floor FILE [RUNS]      (bench_load.sh builds and runs it) */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec * 1e-6;
}

static void *fresh_block(size_t n)
{
    void *p = NULL;
    if (posix_memalign(&p, (size_t)2 << 20, n)) return NULL;
#ifdef MADV_HUGEPAGE
    madvise(p, n, MADV_HUGEPAGE);
#endif
    return p;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: load_floor FILE [RUNS]\n");
        return 2;
    }
    int runs = argc > 2 ? atoi(argv[2]) : 5;
    int fd = open(argv[1], O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) || st.st_size <= 0) {
        perror(argv[1]);
        return 1;
    }
    size_t n = (size_t)st.st_size, chunk = (size_t)16 << 20;
    double best_copy = 1e30, best_touch = 1e30;
    volatile unsigned char sink = 0;
    for (int r = 0; r < runs; r++) {
        double t0 = now_ms();
        unsigned char *dst = fresh_block(n);
        if (!dst) {
            perror("block");
            return 1;
        }
        for (size_t off = 0; off < n;) {
            size_t k = n - off < chunk ? n - off : chunk;
            ssize_t got = pread(fd, dst + off, k, (off_t)off);
            if (got <= 0) {
                perror(argv[1]);
                return 1;
            }
            off += (size_t)got;
        }
        double t1 = now_ms();
        sink ^= dst[n / 2];
        free(dst);
        if (t1 - t0 < best_copy) best_copy = t1 - t0;

        t0 = now_ms();
        dst = fresh_block(n);
        if (!dst) return 1;
        memset(dst, 0, n);
        t1 = now_ms();
        sink ^= dst[n / 3];
        free(dst);
        if (t1 - t0 < best_touch) best_touch = t1 - t0;
    }
    printf("copy %.1f ms touch %.1f ms\n", best_copy, best_touch);
    (void)sink;
    return 0;
}
