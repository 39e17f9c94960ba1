/* Where the built-in net specs and label lists live, looked for in this
 * order: $ALEXSCOPE_DATA; a weights/ folder holding caffe.net beside the
 * program (a build tree, also one copied or moved elsewhere); the source
 * tree's weights/ for a program run from its build tree; the installed data
 * folder (found from the binary's own place, so that a DESTDIR or relocated
 * install works too); the configured prefix. Nothing here opens a spec. */
#include "alexscope/spec.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The folder of the running program, or "" when /proc cannot say. */
static void exe_dir(char *buf, size_t size)
{
    char path[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
    buf[0] = 0;
    if (n <= 0) return;
    path[n] = 0;
    char *slash = strrchr(path, '/');
    if (slash) *slash = 0;
    if (strlen(path) < size) memcpy(buf, path, strlen(path) + 1);
}

/* 1 when `dir` is `root` or a folder below it. */
static int is_under(const char *dir, const char *root)
{
    size_t n = strlen(root);
    return n && !strncmp(dir, root, n) && (dir[n] == 0 || dir[n] == '/');
}

static const char *found_how = "the configured prefix";

/* 1 when dir holds a readable caffe.net (the folder is the program's data). */
static int has_specs(const char *dir)
{
    char path[AX_PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/caffe.net", dir);
    return access(path, R_OK) == 0;
}

const char *ax_data_dir_how(void)
{
    ax_data_dir();
    return found_how;
}

const char *ax_data_dir(void)
{
    static char buf[AX_PATH_MAX];
    const char *env = getenv("ALEXSCOPE_DATA");
    found_how = "$ALEXSCOPE_DATA";
    if (env && *env) return env;
    char exe[AX_PATH_MAX];
    exe_dir(exe, sizeof exe);
    /* A build tree, where it was made or copied to: weights/ beside the program. */
    found_how = "beside the program";
    if (exe[0] && strlen(exe) + 9 < sizeof buf) {
        snprintf(buf, sizeof buf, "%.*s/weights", (int)(sizeof buf - 9), exe);
        if (has_specs(buf)) return buf;
    }
#if defined(AX_BUILDDIR) && defined(AX_SRCDIR)
    /* Run from the build tree (the program or a test): the sources' specs. */
    found_how = "the source tree";
    snprintf(buf, sizeof buf, "%s/weights", AX_SRCDIR);
    if (exe[0] && is_under(exe, AX_BUILDDIR) && is_dir(buf)) return buf;
#endif
#if defined(AX_BINDIR) && defined(AX_PKGDATADIR)
    /* Installed under a staging root (make install DESTDIR=ROOT): the
     * program sits at ROOT$(bindir), its data at ROOT$(pkgdatadir). */
    size_t elen = strlen(exe), blen = strlen(AX_BINDIR);
    if (exe[0] && elen >= blen && !strcmp(exe + elen - blen, AX_BINDIR)) {
        found_how = "the staged install beside the program";
        snprintf(buf, sizeof buf, "%.*s%s", (int)(elen - blen), exe, AX_PKGDATADIR);
        if (is_dir(buf)) return buf;
    }
#endif
    /* Relocated: PREFIX/bin/alexscope beside PREFIX/share/alexscope. */
    if (exe[0]) {
        found_how = "the install beside the program";
        snprintf(buf, sizeof buf, "%s/../share/alexscope", exe);
        if (is_dir(buf)) return buf;
    }
    found_how = "the configured prefix";
#ifdef AX_PKGDATADIR
    return AX_PKGDATADIR;
#else
    return "weights";
#endif
}
