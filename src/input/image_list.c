/* Which files are images, by name, and a folder's images in name order: the
 * one list of extensions, those of the formats ax_image_load decodes (the
 * decoders stb_impl.c builds). Reads folder entries only, never a file. */
#include "alexscope/image.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* PNG, JPEG, BMP, GIF and binary PNM (STBI_ONLY_* in stb_impl.c). */
static const char *const exts[] = { ".png", ".jpg", ".jpeg", ".jpe", ".bmp", ".gif", ".ppm", ".pgm", ".pnm" };

int ax_image_name_ok(const char *name)
{
    const char *slash = strrchr(name, '/');
    if (slash) name = slash + 1;
    const char *dot = strrchr(name, '.');
    if (!dot || name[0] == '.') return 0;
    for (size_t i = 0; i < sizeof exts / sizeof exts[0]; i++)
        if (!strcasecmp(dot, exts[i])) return 1;
    return 0;
}

const char *ax_image_exts(void)
{
    return "png, jpg, jpeg, jpe, bmp, gif, ppm, pgm, pnm";
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void ax_image_list_free(char **files, int count)
{
    for (int i = 0; files && i < count; i++) free(files[i]);
    free(files);
}

ax_status ax_image_list_dir(char ***files, int *count, const char *dir, ax_error *err)
{
    *files = NULL;
    *count = 0;
    DIR *d = opendir(dir);
    if (!d) return ax_fail(err, AX_ERR_IO, "%s: cannot read the folder: %s", dir, strerror(errno));
    int cap = 0;
    struct dirent *de;
    ax_status st = AX_OK;
    while ((de = readdir(d))) {
        if (!ax_image_name_ok(de->d_name)) continue;
        if (*count == cap) {
            cap = cap ? cap * 2 : 64;
            char **g = realloc(*files, (size_t)cap * sizeof *g);
            if (!g) { st = ax_fail(err, AX_ERR_NOMEM, "out of memory listing %s", dir); break; }
            *files = g;
        }
        size_t len = strlen(dir) + strlen(de->d_name) + 2;
        char *p = malloc(len);
        if (!p) { st = ax_fail(err, AX_ERR_NOMEM, "out of memory listing %s", dir); break; }
        snprintf(p, len, "%s/%s", dir, de->d_name);
        (*files)[(*count)++] = p;
    }
    closedir(d);
    if (!st && *count == 0)
        st = ax_fail(err, AX_ERR_MISSING, "%s: no images (%s) in the folder", dir, ax_image_exts());
    if (st) {
        ax_image_list_free(*files, *count);
        *files = NULL;
        *count = 0;
        return st;
    }
    qsort(*files, (size_t)*count, sizeof **files, name_cmp);
    return AX_OK;
}
