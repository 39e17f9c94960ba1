/* Opening untrusted files: the one place that opens a path the user named.
 * A path must be a regular file (checked without blocking on a FIFO or a
 * device) and is read whole, up to a stated limit, or mapped read-only. */
#ifndef ALEXSCOPE_FILEIO_H
#define ALEXSCOPE_FILEIO_H

#include <stddef.h>
#include <stdio.h>
#include "alexscope/status.h"

/* Opens path read-only after checking, without blocking, that it is a
 * regular file. `what` names the file's role in messages ("weight file",
 * "label list"). On success *fd is open (O_CLOEXEC, blocking) and *size is
 * its length. Errors: AX_ERR_IO naming path, role and the reason. */
ax_status ax_file_open_regular(const char *path, const char *what, int *fd, size_t *size,
                               ax_error *err);

/* Reads the whole regular file into a malloc'd buffer with a NUL after the
 * last byte (*size excludes it). A file over max_bytes is refused with both
 * sizes in the message, before anything is read. */
ax_status ax_file_slurp(const char *path, const char *what, size_t max_bytes,
                        char **buf, size_t *size, ax_error *err);

/* Maps the whole regular file read-only (private). An empty file is an
 * AX_ERR_FORMAT. Release with ax_file_unmap. */
ax_status ax_file_map(const char *path, const char *what, void **map, size_t *size,
                      ax_error *err);
void ax_file_unmap(void *map, size_t size);

/* Writing a file so that it is either the old one or the whole new one,
 * whatever happens (a full disk, kill -9, a power cut): ax_file_create opens
 * a temporary beside path (same folder, so the rename cannot cross file
 * systems) and the writer fills a->fp; ax_file_commit flushes and fsyncs it,
 * renames it over path and fsyncs the folder. When ok is 0 or any of those
 * steps fails, the temporary is removed, path is untouched and the error is
 * an AX_ERR_IO naming path and the reason. A path that exists and is not a
 * regular file (/dev/stdout, a FIFO) is written in place: there is nothing to
 * rename over. Every writer of a file the user keeps goes through here. */
typedef struct {
    FILE *fp;
    int in_place;
    char path[1024];
    char tmp[1024 + 32];
} ax_file_out;
ax_status ax_file_create(ax_file_out *a, const char *path, ax_error *err);
ax_status ax_file_commit(ax_file_out *a, int ok, ax_error *err);
/* Removes the temporary of a create that will not be committed. */
void ax_file_abandon(ax_file_out *a);

#endif
