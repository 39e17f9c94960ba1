/* Reference activations from any framework: reads DIR/<name>.npy, lines the
 * tensors up with a net's layers (map file, name, then order and shape) and
 * hands them over in NCHW, transposing channels-last dumps. */
#include "alexscope/compare.h"

#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alexscope/weights.h"
#include "alexscope/fileio.h"
#include "alexscope/text.h"

/* Natural order: digit runs compare by value, so "conv2" < "conv10". */
static int natural_cmp(const char *a, const char *b)
{
    while (*a && *b) {
        if (isdigit((unsigned char)*a) && isdigit((unsigned char)*b)) {
            while (*a == '0') a++;
            while (*b == '0') b++;
            size_t la = 0, lb = 0;
            while (isdigit((unsigned char)a[la])) la++;
            while (isdigit((unsigned char)b[lb])) lb++;
            if (la != lb) return la < lb ? -1 : 1;
            int c = strncmp(a, b, la);
            if (c) return c;
            a += la;
            b += lb;
        } else {
            if (*a != *b) return (unsigned char)*a < (unsigned char)*b ? -1 : 1;
            a++;
            b++;
        }
    }
    return *a ? 1 : *b ? -1 : 0;
}

static int entry_cmp(const void *x, const void *y)
{
    return natural_cmp(((const ax_ref_entry *)x)->name, ((const ax_ref_entry *)y)->name);
}

void ax_refdir_close(ax_refdir *r)
{
    for (int i = 0; i < r->count; i++) free(r->e[i].data);
    free(r->e);
    free(r->skipped);
    r->e = NULL;
    r->skipped = NULL;
    r->count = r->nskipped = 0;
}

/* Reads one .npy. AX_ERR_NOMEM (the folder's budget or malloc) ends the
 * folder; any other error only means the file is not an activation. */
static ax_status load_one(ax_ref_entry *e, const char *path, size_t *budget, ax_error *err)
{
    /* Checked first so that a FIFO or device is named for what it is here. */
    int fd;
    size_t size;
    ax_status st = ax_file_open_regular(path, "reference activation", &fd, &size, err);
    if (st) return st;
    close(fd);
    ax_wfile *f = NULL;
    st = ax_wfile_open(&f, path, err);
    if (st) return st;
    if (f->count != 1 || strcmp(f->format, "npy")) {
        st = ax_fail(err, AX_ERR_FORMAT, "%s: %d tensors in a %s file, not one array (weights, not an activation?)",
                     path, f->count, f->format);
        ax_wfile_close(f);
        return st;
    }
    const ax_wentry *w = &f->entries[0];
    if (w->ndim > 8) {
        ax_wfile_close(f);
        return ax_fail(err, AX_ERR_SHAPE, "%s: %d dimensions; an activation has at most 4", path, w->ndim);
    }
    size_t n = ax_wentry_numel(w);
    if (n > *budget / sizeof(float)) {
        ax_wfile_close(f);
        return ax_fail(err, AX_ERR_NOMEM, "%s: %zu elements go beyond the %zu MiB allowed for a reference folder",
                       path, n, (size_t)(*budget >> 20));
    }
    e->data = malloc((n ? n : 1) * sizeof(float));
    if (!e->data) {
        ax_wfile_close(f);
        return ax_fail(err, AX_ERR_NOMEM, "%s: out of memory", path);
    }
    ax_wentry_to_f32(w, e->data);
    e->numel = n;
    e->ndim = w->ndim;
    for (int i = 0; i < w->ndim; i++) e->shape[i] = w->shape[i];
    *budget -= n * sizeof(float);
    ax_wfile_close(f);
    return AX_OK;
}

static int skip_cmp(const void *x, const void *y)
{
    return natural_cmp(((const ax_ref_skip *)x)->name, ((const ax_ref_skip *)y)->name);
}

/* Records a skipped entry; `why` may start with "PATH: ", which is dropped
 * (the entry is named by its file name). */
static ax_status skip(ax_refdir *r, int *cap, const char *name, const char *path, const char *why, ax_error *err)
{
    if (r->nskipped == *cap) {
        int c = *cap ? *cap * 2 : 8;
        ax_ref_skip *g = realloc(r->skipped, (size_t)c * sizeof *g);
        if (!g) return ax_fail(err, AX_ERR_NOMEM, "%s: out of memory", r->dir);
        r->skipped = g;
        *cap = c;
    }
    size_t plen = path ? strlen(path) : 0;
    if (plen && !strncmp(why, path, plen) && !strncmp(why + plen, ": ", 2)) why += plen + 2;
    ax_ref_skip *k = &r->skipped[r->nskipped++];
    snprintf(k->name, sizeof k->name, "%s", name);
    snprintf(k->why, sizeof k->why, "%.255s", why);
    return AX_OK;
}

ax_status ax_refdir_open(ax_refdir *r, const char *dir, size_t max_bytes, ax_error *err)
{
    memset(r, 0, sizeof *r);
    snprintf(r->dir, sizeof r->dir, "%s", dir);
    DIR *d = opendir(dir);
    if (!d) return ax_fail(err, AX_ERR_IO, "%s: cannot read the reference folder: %m", dir);
    int cap = 0, skip_cap = 0;
    ax_status st = AX_OK;
    struct dirent *de;
    while (!st && (de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        size_t len = strlen(de->d_name);
        if (len <= 4 || strcmp(de->d_name + len - 4, ".npy")) {
            char path[AX_PATH_MAX + 300];
            struct stat sb;
            snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
            int folder = !stat(path, &sb) && S_ISDIR(sb.st_mode);
            st = skip(r, &skip_cap, de->d_name, NULL, folder ? "a folder" : "not a .npy file", err);
            continue;
        }
        if (len - 4 >= sizeof r->e[0].name) {
            st = skip(r, &skip_cap, de->d_name, NULL, "the name is too long for a layer", err);
            continue;
        }
        if (r->count == 4096) { st = ax_fail(err, AX_ERR_ARG, "%s: more than 4096 .npy files", dir); break; }
        if (r->count == cap) {
            cap = cap ? cap * 2 : 32;
            ax_ref_entry *g = realloc(r->e, (size_t)cap * sizeof *g);
            if (!g) { st = ax_fail(err, AX_ERR_NOMEM, "%s: out of memory", dir); break; }
            r->e = g;
        }
        ax_ref_entry *e = &r->e[r->count];
        memset(e, 0, sizeof *e);
        memcpy(e->name, de->d_name, len - 4);
        e->name[len - 4] = 0;
        r->count++;
    }
    closedir(d);
    if (!st && r->count) qsort(r->e, (size_t)r->count, sizeof *r->e, entry_cmp);
    size_t budget = max_bytes;
    /* Entries that load stay, in order; the others move to the skipped list. */
    int kept = 0;
    for (int i = 0; i < r->count && !st; i++) {
        char path[AX_PATH_MAX + AX_NAME_MAX + 80];
        snprintf(path, sizeof path, "%s/%s.npy", dir, r->e[i].name);
        ax_error e1 = {0};
        ax_status s1 = load_one(&r->e[i], path, &budget, &e1);
        if (s1 == AX_ERR_NOMEM) {
            *err = e1;
            st = s1;
            r->count = kept;   /* the rest hold no data (or moved copies) */
            break;
        }
        if (s1) {
            char fname[AX_NAME_MAX + 80];
            snprintf(fname, sizeof fname, "%s.npy", r->e[i].name);
            st = skip(r, &skip_cap, fname, path, e1.msg, err);
            continue;
        }
        if (kept != i) r->e[kept] = r->e[i];
        kept++;
    }
    if (!st) r->count = kept;
    if (!st && r->nskipped) qsort(r->skipped, (size_t)r->nskipped, sizeof *r->skipped, skip_cmp);
    if (!st && r->count == 0) {
        /* The message names what was there, so a folder of the wrong files explains itself. */
        char msg[sizeof err->msg];
        size_t len = (size_t)snprintf(msg, sizeof msg, "%s: no activations (.npy files of one array) in the "
                                      "reference folder", dir);
        for (int i = 0; i < r->nskipped && len < sizeof msg; i++)
            len += (size_t)snprintf(msg + len, sizeof msg - len, "%s%s: %s", i ? "; " : "; skipped ",
                                    r->skipped[i].name, r->skipped[i].why);
        st = ax_fail(err, AX_ERR_MISSING, "%s", msg);
    }
    if (st) ax_refdir_close(r);
    return st;
}

int ax_ref_shape_fits(const int64_t *shape, int ndim, const ax_tensor *ours, int *channels_last, int *batch_axis)
{
    int n, c, h, w;
    ax_tensor_nchw(ours, &n, &c, &h, &w);
    *channels_last = 0;
    *batch_axis = 0;
    const int64_t *s = shape;
    int d = ndim;
    if (d == ours->ndim && s[0] == n) {
        *batch_axis = 1;
        s++;
        d--;
    } else if (n != 1 || d != ours->ndim - 1) {
        return 0;
    }
    if (ours->ndim == 2) return d == 1 && s[0] == c;
    if (d != 3) return 0;
    if (s[0] == c && s[1] == h && s[2] == w) return 1;
    if (s[0] == h && s[1] == w && s[2] == c) {
        *channels_last = 1;
        return 1;
    }
    return 0;
}

static int find_entry(const ax_refdir *r, const char *name, size_t len)
{
    for (int i = 0; i < r->count; i++)
        if (strlen(r->e[i].name) == len && !strncmp(r->e[i].name, name, len)) return i;
    return -1;
}

static void set_match(ax_ref_match *m, const ax_refdir *r, int entry, ax_ref_how how, const ax_tensor *ours)
{
    m->entry = entry;
    m->how = how;
    m->fits = ax_ref_shape_fits(r->e[entry].shape, r->e[entry].ndim, ours, &m->channels_last, &m->batch_axis);
}

/* Applies the map text (NUL-terminated, edited in place). */
static ax_status parse_map(ax_ref_match *m, char *used, const ax_refdir *r, int count, const char *const *names,
                           const ax_tensor *const *ours, char *buf, const char *path, ax_error *err)
{
    ax_status st = AX_OK;
    int line = 0;
    for (char *p = buf; p && *p && !st;) {
        char *nl = strchr(p, '\n');
        if (nl) *nl = 0;
        line++;
        char *hash = strchr(p, '#');
        if (hash) *hash = 0;
        char *eq = strchr(p, '=');
        char *a = p;
        while (isspace((unsigned char)*a)) a++;
        if (*a) {
            if (!eq) {
                st = ax_fail(err, AX_ERR_FORMAT, "%s:%d: expected ours=theirs, found '%.60s'", path, line, a);
                break;
            }
            char *ae = eq;
            while (ae > a && isspace((unsigned char)ae[-1])) ae--;
            char *b = eq + 1;
            while (isspace((unsigned char)*b)) b++;
            char *be = b + strlen(b);
            while (be > b && isspace((unsigned char)be[-1])) be--;
            if (be - b > 4 && !strncmp(be - 4, ".npy", 4)) be -= 4;
            int ours_i = -1;
            for (int i = 0; i < count; i++)
                if (strlen(names[i]) == (size_t)(ae - a) && !strncmp(names[i], a, (size_t)(ae - a))) ours_i = i;
            if (ours_i < 0) {
                st = ax_fail(err, AX_ERR_ARG, "%s:%d: '%.*s' is not a layer of the net (nor 'input')", path, line,
                             (int)(ae - a > 60 ? 60 : ae - a), a);
                break;
            }
            int e = find_entry(r, b, (size_t)(be - b));
            if (e < 0) {
                st = ax_fail(err, AX_ERR_MISSING, "%s:%d: %s/%.*s.npy does not exist", path, line, r->dir,
                             (int)(be - b > 60 ? 60 : be - b), b);
                break;
            }
            set_match(&m[ours_i], r, e, AX_REF_BY_MAP, ours[ours_i]);
            used[e] = 1;
        }
        p = nl ? nl + 1 : NULL;
    }
    return st;
}

ax_status ax_refdir_match_text(ax_ref_match *m, const ax_refdir *r, int count, const char *const *names,
                               const ax_tensor *const *ours, const char *map_text, size_t map_size,
                               const char *map_name, ax_error *err)
{
    for (int i = 0; i < count; i++) memset(&m[i], 0, sizeof m[i]), m[i].entry = -1;
    char *used = calloc((size_t)r->count + 1, 1);
    char *buf = map_text ? malloc(map_size + 1) : NULL;
    if (!used || (map_text && !buf)) {
        free(used);
        free(buf);
        return ax_fail(err, AX_ERR_NOMEM, "out of memory");
    }
    ax_status st = AX_OK;
    if (buf) {
        memcpy(buf, map_text, map_size);
        buf[map_size] = 0;
        st = parse_map(m, used, r, count, names, ours, buf, map_name ? map_name : "map", err);
        free(buf);
    }
    for (int i = 0; i < count && !st; i++) {
        if (m[i].entry >= 0) continue;
        int e = find_entry(r, names[i], strlen(names[i]));
        if (e < 0) {
            /* the file name alexscope's own writers give the layer (text.h) */
            char fname[AX_FILE_NAME_MAX];
            ax_name_to_file(fname, sizeof fname, names[i]);
            e = find_entry(r, fname, strlen(fname));
        }
        if (e >= 0 && !used[e]) {
            set_match(&m[i], r, e, AX_REF_BY_NAME, ours[i]);
            used[e] = 1;
        }
    }
    /* By order: walk both lists forward; after a match the search resumes past it. */
    int cursor = 0;
    for (int i = 0; i < count && !st; i++) {
        if (m[i].entry >= 0) {
            if (m[i].entry + 1 > cursor) cursor = m[i].entry + 1;
            continue;
        }
        for (int e = cursor; e < r->count; e++) {
            int cl, ba;
            if (used[e] || !ax_ref_shape_fits(r->e[e].shape, r->e[e].ndim, ours[i], &cl, &ba)) continue;
            set_match(&m[i], r, e, AX_REF_BY_ORDER, ours[i]);
            used[e] = 1;
            cursor = e + 1;
            break;
        }
    }
    free(used);
    return st;
}

ax_status ax_refdir_match(ax_ref_match *m, const ax_refdir *r, int count, const char *const *names,
                          const ax_tensor *const *ours, const char *map_path, ax_error *err)
{
    if (!map_path) return ax_refdir_match_text(m, r, count, names, ours, NULL, 0, NULL, err);
    char *buf = NULL;
    size_t size = 0;
    ax_status st = ax_file_slurp(map_path, "map file", 1 << 20, &buf, &size, err);
    if (st) return st;
    st = ax_refdir_match_text(m, r, count, names, ours, buf, size, map_path, err);
    free(buf);
    return st;
}

void ax_ref_fetch(float *dst, const ax_ref_entry *e, const ax_ref_match *m, const ax_tensor *ours)
{
    int n, c, h, w;
    ax_tensor_nchw(ours, &n, &c, &h, &w);
    size_t count = ax_tensor_numel(ours);
    if (!m->channels_last) {
        memcpy(dst, e->data, count * sizeof(float));
        return;
    }
    // e: (N, H, W, C) -> dst: (N, C, H, W)
    for (int b = 0; b < n; b++)
        for (int ch = 0; ch < c; ch++)
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                    dst[(((size_t)b * c + ch) * h + y) * w + x] = e->data[(((size_t)b * h + y) * w + x) * c + ch];
}
