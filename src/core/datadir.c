/* Where the built-in net specs and label lists live. The installed program
 * uses the installed data folder (found beside its own binary, so that a
 * DESTDIR or relocated install works too); a program run from the build tree
 * uses the source tree's weights/. Nothing here opens a spec. */
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

const char *ax_data_dir(void)
{
    static char buf[AX_PATH_MAX];
    const char *env = getenv("ALEXSCOPE_DATA");
    if (env && *env) return env;
    char exe[AX_PATH_MAX];
    exe_dir(exe, sizeof exe);
#if defined(AX_BUILDDIR) && defined(AX_SRCDIR)
    /* Run from the build tree (the program or a test): the sources' specs. */
    snprintf(buf, sizeof buf, "%s/weights", AX_SRCDIR);
    if (exe[0] && is_under(exe, AX_BUILDDIR) && is_dir(buf)) return buf;
#endif
#if defined(AX_BINDIR) && defined(AX_PKGDATADIR)
    /* Installed under a staging root (make install DESTDIR=ROOT): the
     * program sits at ROOT$(bindir), its data at ROOT$(pkgdatadir). */
    size_t elen = strlen(exe), blen = strlen(AX_BINDIR);
    if (exe[0] && elen >= blen && !strcmp(exe + elen - blen, AX_BINDIR)) {
        snprintf(buf, sizeof buf, "%.*s%s", (int)(elen - blen), exe, AX_PKGDATADIR);
        if (is_dir(buf)) return buf;
    }
#endif
    /* Relocated: PREFIX/bin/alexscope beside PREFIX/share/alexscope. */
    if (exe[0]) {
        snprintf(buf, sizeof buf, "%s/../share/alexscope", exe);
        if (is_dir(buf)) return buf;
    }
#ifdef AX_PKGDATADIR
    return AX_PKGDATADIR;
#else
    return "weights";
#endif
}
