/* Opening untrusted files (see fileio.h). A FIFO or a device must never block
 * the program: the path is opened with O_NONBLOCK, checked with fstat, and
 * only then switched back to blocking reads. */
#include "alexscope/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *kind_of(mode_t m)
{
    if (S_ISDIR(m)) return "a directory";
    if (S_ISFIFO(m)) return "a FIFO (named pipe)";
    if (S_ISCHR(m)) return "a character device";
    if (S_ISBLK(m)) return "a block device";
    if (S_ISSOCK(m)) return "a socket";
    return "not a regular file";
}

ax_status ax_file_open_regular(const char *path, const char *what, int *fd_out, size_t *size,
                               ax_error *err)
{
    *fd_out = -1;
    *size = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) {
        int e = errno;
        return ax_fail(err, AX_ERR_IO, "%s: cannot open %s: %s", path, what, strerror(e));
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return ax_fail(err, AX_ERR_IO, "%s: cannot read the %s's status: %s", path, what, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return ax_fail(err, AX_ERR_IO, "%s: the %s is %s; give a regular file", path, what,
                       kind_of(st.st_mode));
    }
    int flags = fcntl(fd, F_GETFL);
    if (flags >= 0) fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
    *fd_out = fd;
    *size = (size_t)st.st_size;
    return AX_OK;
}

ax_status ax_file_slurp(const char *path, const char *what, size_t max_bytes,
                        char **buf, size_t *size, ax_error *err)
{
    *buf = NULL;
    *size = 0;
    int fd;
    size_t n;
    ax_status st = ax_file_open_regular(path, what, &fd, &n, err);
    if (st) return st;
    if (n > max_bytes) {
        close(fd);
        return ax_fail(err, AX_ERR_FORMAT, "%s: the %s is %zu bytes; at most %zu are accepted",
                       path, what, n, max_bytes);
    }
    char *b = malloc(n + 1);
    if (!b) {
        close(fd);
        return ax_fail(err, AX_ERR_NOMEM, "%s: out of memory reading the %s (%zu bytes)", path, what, n);
    }
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, b + got, n - got);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            int e = errno;
            free(b);
            close(fd);
            return ax_fail(err, AX_ERR_IO, "%s: cannot read the %s: %s", path, what, strerror(e));
        }
        if (r == 0) break;   /* the file shrank while we read it */
        got += (size_t)r;
    }
    close(fd);
    b[got] = 0;
    *buf = b;
    *size = got;
    return AX_OK;
}

ax_status ax_file_map(const char *path, const char *what, void **map, size_t *size, ax_error *err)
{
    *map = NULL;
    *size = 0;
    int fd;
    size_t n;
    ax_status st = ax_file_open_regular(path, what, &fd, &n, err);
    if (st) return st;
    if (n == 0) {
        close(fd);
        return ax_fail(err, AX_ERR_FORMAT, "%s: empty file (0 bytes), expected a %s", path, what);
    }
    void *m = mmap(NULL, n, PROT_READ, MAP_PRIVATE, fd, 0);
    int e = errno;
    close(fd);
    if (m == MAP_FAILED)
        return ax_fail(err, AX_ERR_IO, "%s: cannot map the %s (%zu bytes): %s", path, what, n, strerror(e));
    *map = m;
    *size = n;
    return AX_OK;
}

void ax_file_unmap(void *map, size_t size)
{
    if (map) munmap(map, size);
}

ax_status ax_file_create(ax_file_out *a, const char *path, ax_error *err)
{
    memset(a, 0, sizeof *a);
    if (!path || !path[0]) return ax_fail(err, AX_ERR_ARG, "no output file named");
    if (strlen(path) >= sizeof a->path) return ax_fail(err, AX_ERR_ARG, "%.80s...: path too long", path);
    snprintf(a->path, sizeof a->path, "%s", path);
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        if (S_ISDIR(st.st_mode))
            return ax_fail(err, AX_ERR_IO, "%s: is a directory; give a file name", path);
        a->in_place = 1;
        a->fp = fopen(path, "wb");
        if (!a->fp) return ax_fail(err, AX_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
        return AX_OK;
    }
    /* The temporary is a hidden name beside the target: DIR/.BASE.XXXXXX */
    const char *slash = strrchr(path, '/');
    size_t dirlen = slash ? (size_t)(slash - path) + 1 : 0;
    snprintf(a->tmp, sizeof a->tmp, "%.*s.%s.XXXXXX", (int)dirlen, path, slash ? slash + 1 : path);
    int fd = mkstemp(a->tmp);
    if (fd < 0) {
        int e = errno;
        a->tmp[0] = 0;
        return ax_fail(err, AX_ERR_IO, "%s: cannot write there: %s", path, strerror(e));
    }
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    /* mkstemp makes 0600; a file the user keeps gets what fopen would give */
    mode_t mask = umask(0);
    umask(mask);
    fchmod(fd, 0666 & ~mask);
    a->fp = fdopen(fd, "wb");
    if (!a->fp) {
        int e = errno;
        close(fd);
        unlink(a->tmp);
        a->tmp[0] = 0;
        return ax_fail(err, AX_ERR_IO, "%s: cannot create: %s", path, strerror(e));
    }
    return AX_OK;
}

void ax_file_abandon(ax_file_out *a)
{
    if (a->fp) fclose(a->fp);
    a->fp = NULL;
    if (a->tmp[0]) unlink(a->tmp);
    a->tmp[0] = 0;
}

ax_status ax_file_commit(ax_file_out *a, int ok, ax_error *err)
{
    if (!a->fp) return ax_fail(err, AX_ERR_ARG, "%s: not open for writing", a->path);
    int e = errno;
    const char *step = "write";
    if (ok && fflush(a->fp) != 0) ok = 0, e = errno;
    if (ok && !a->in_place && fsync(fileno(a->fp)) != 0) ok = 0, e = errno, step = "fsync";
    if (fclose(a->fp) != 0 && ok) ok = 0, e = errno;
    a->fp = NULL;
    if (ok && !a->in_place && rename(a->tmp, a->path) != 0) ok = 0, e = errno, step = "rename";
    if (!ok) {
        if (a->tmp[0]) unlink(a->tmp);
        a->tmp[0] = 0;
        if (!e) e = EIO;
        return ax_fail(err, AX_ERR_IO, "%s: %s failed: %s (the previous file, if any, is untouched)", a->path,
                       step, strerror(e));
    }
    a->tmp[0] = 0;
    if (!a->in_place) {
        /* the rename itself is durable only once the folder is synced */
        char dir[sizeof a->path];
        const char *slash = strrchr(a->path, '/');
        snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - a->path) + (slash == a->path) : 1,
                 slash ? a->path : ".");
        int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            fsync(dfd);
            close(dfd);
        }
    }
    return AX_OK;
}
