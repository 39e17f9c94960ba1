/* Keras HDF5 weights, from the file in memory (the plain layout h5py writes
 * read directly by h5_plain.c, anything else by libhdf5 in a child process): Keras 2 files
 * (model_weights or the root with layer_names / weight_names attributes, as
 * model.save and save_weights write them) and Keras 3 .weights.h5
 * (<layer path>/vars/<i>). Kernels stay HWIO / (in, out); ax_keras_bind names
 * them "<spec layer>.0"/".1" so that loading converts them. */
#define _GNU_SOURCE   /* pipe2 */
#include "config.h"
#include "alexscope/weights.h"
#include "alexscope/net.h"
#include "wfile_internal.h"
#include "h5_plain.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

int ax_keras_sniff(const uint8_t *b, size_t n)
{
    return n >= 8 && memcmp(b, "\x89HDF\r\n\x1a\n", 8) == 0;
}

#if AX_HAVE_HDF5

#include <hdf5.h>
#include <H5PLpublic.h>

/* One weighted layer found in the file: its name and its weights' entries. */
typedef struct {
    char name[96];
    int first, count;   /* entries [first, first + count) */
} klayer;

typedef struct {
    ax_wfile *f;
    const char *file;
    ax_error *err;
    size_t budget;      /* bytes of decoded data still allowed (compressed datasets can inflate) */
    int nlayers;
    int visits;         /* groups walked in a Keras 3 file (soft links can make cycles) */
    hid_t gapl, dapl, lapl;   /* access lists that refuse external links */
    int shm;            /* in the child: data goes into this memfd, entries hold offsets; else -1 */
    size_t shm_off;
    size_t size;        /* the file's */
    int in_place;       /* in the child: datasets stored as plain float bytes are left in the file */
    const struct kops *ops;   /* how the file is read: libhdf5, or the plain layout directly */
    h5p_file *plain;    /* the plain-layout reader's file, with ops == &plain_ops */
    const uint8_t *buf; /* the file's bytes, for the plain-layout reader */
    int bad;            /* the plain-layout reader met what it does not read: libhdf5 must */
} reader;

/* The walk over a Keras file's groups below is written once against these
 * operations on objects (a libhdf5 hid_t, or a plain-layout address). */
typedef int64_t kobj;
typedef struct {
    char **names;
    size_t n, cap;
} namelist;
typedef struct kops {
    int (*exists)(reader *r, kobj g, const char *name);     /* > 0: g has a link of that name */
    kobj (*group)(reader *r, kobj g, const char *name);     /* < 0: not a group */
    void (*close)(kobj o);
    int (*has_attr)(reader *r, kobj o, const char *name);   /* > 0: o has the attribute */
    int (*strings)(reader *r, kobj o, const char *name, char ***out, size_t *n);   /* read_strings */
    int (*children)(reader *r, kobj g, namelist *l, int *by_creation);
    ax_status (*dataset)(reader *r, kobj loc, const char *path, const char *ename);
} kops;

/* Where dataset d's values lie in the file, when they are stored there as
 * they are wanted (contiguous, unfiltered, IEEE little-endian float32 or
 * float64, all nbytes of them inside the file); 0 when they are not. */
static size_t plain_offset(const reader *r, hid_t d, hid_t t, size_t nbytes)
{
    if (!r->in_place || !nbytes) return 0;
    if (H5Tequal(t, H5T_IEEE_F32LE) <= 0 && H5Tequal(t, H5T_IEEE_F64LE) <= 0) return 0;
    hid_t dcpl = H5Dget_create_plist(d);
    int plain = dcpl >= 0 && H5Pget_layout(dcpl) == H5D_CONTIGUOUS && H5Pget_nfilters(dcpl) == 0;
    if (dcpl >= 0) H5Pclose(dcpl);
    if (!plain || H5Dget_storage_size(d) != (hsize_t)nbytes) return 0;
    haddr_t at = H5Dget_offset(d);
    if (at == HADDR_UNDEF || at == 0 || at > r->size || nbytes > r->size - at) return 0;
    return (size_t)at;
}

/* Reads a string attribute (one string or an array of them, fixed or
 * variable length) into a malloc'd block of n NUL-terminated strings. */
static int read_strings(reader *r, kobj obj, const char *attr, char ***out, size_t *n)
{
    (void)r;
    *out = NULL;
    *n = 0;
    if (H5Aexists(obj, attr) <= 0) return 0;
    hid_t a = H5Aopen(obj, attr, H5P_DEFAULT);
    if (a < 0) return -1;
    hid_t ft = H5Aget_type(a), sp = H5Aget_space(a);
    int rc = -1;
    if (ft < 0 || sp < 0 || H5Tget_class(ft) != H5T_STRING) goto done;
    hssize_t cnt = H5Sget_simple_extent_npoints(sp);
    if (cnt < 0 || cnt > 100000) goto done;
    size_t count = (size_t)cnt;
    char **v = calloc(count + 1, sizeof *v);
    if (!v) goto done;
    if (H5Tis_variable_str(ft) > 0) {
        hid_t mt = H5Tcopy(H5T_C_S1);
        H5Tset_size(mt, H5T_VARIABLE);
        char **tmp = calloc(count + 1, sizeof *tmp);
        if (tmp && H5Aread(a, mt, tmp) >= 0) {
            rc = 0;
            for (size_t i = 0; i < count; i++) {
                v[i] = strdup(tmp[i] ? tmp[i] : "");
                if (!v[i]) rc = -1;
            }
            H5Dvlen_reclaim(mt, sp, H5P_DEFAULT, tmp);
        }
        free(tmp);
        H5Tclose(mt);
    } else {
        size_t len = H5Tget_size(ft);
        if (len == 0 || len > 4096) {
            free(v);
            goto done;
        }
        hid_t mt = H5Tcopy(ft);
        char *raw = calloc(count, len);
        if (raw && H5Aread(a, mt, raw) >= 0) {
            rc = 0;
            for (size_t i = 0; i < count; i++) {
                v[i] = strndup(raw + i * len, len);
                if (!v[i]) rc = -1;
            }
        }
        free(raw);
        H5Tclose(mt);
    }
    if (rc) {
        for (size_t i = 0; i < count; i++) free(v[i]);
        free(v);
    } else {
        *out = v;
        *n = count;
    }
done:
    if (sp >= 0) H5Sclose(sp);
    if (ft >= 0) H5Tclose(ft);
    H5Aclose(a);
    return rc;
}

static void free_strings(char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++) free(v[i]);
    free(v);
}

/* Keras splits long lists over name0, name1, ... */
static int read_split_strings(reader *r, kobj obj, const char *attr, char ***out, size_t *n)
{
    int rc = r->ops->strings(r, obj, attr, out, n);
    if (rc || *out) return rc;
    char **all = NULL;
    size_t total = 0;
    for (int part = 0; part < 1000; part++) {
        char an[80];
        snprintf(an, sizeof an, "%s%d", attr, part);
        char **v;
        size_t k;
        if (r->ops->strings(r, obj, an, &v, &k)) {
            free_strings(all, total);
            return -1;
        }
        if (!v) break;
        char **g = realloc(all, (total + k + 1) * sizeof *g);
        if (!g) {
            free_strings(v, k);
            free_strings(all, total);
            return -1;
        }
        all = g;
        memcpy(all + total, v, k * sizeof *v);
        total += k;
        free(v);
    }
    *out = all;
    *n = total;
    return 0;
}

/* Layer names go into facts lines that ax_keras_bind reads back: no spaces
 * or control characters, which Keras never writes. */
static int bad_name(const char *s)
{
    if (!s[0]) return 1;
    for (; *s; s++)
        if ((unsigned char)*s <= ' ' || *s == 0x7f) return 1;
    return 0;
}

/* One dataset becomes one entry called ename; data copied into f's buffers. */
static ax_status read_dataset(reader *r, kobj loc, const char *path, const char *ename)
{
    hid_t d = H5Dopen2(loc, path, r->dapl);
    if (d < 0) return ax_fail(r->err, AX_ERR_FORMAT, "%s: dataset '%s' named by the file cannot be opened (missing, "
                              "or behind a link to another file, which is not followed)", r->file, path);
    ax_status st = AX_OK;
    hid_t t = -1, sp = -1;
    /* data kept in other files (external storage, virtual datasets) is never read */
    hid_t dcpl = H5Dget_create_plist(d);
    int foreign = dcpl < 0 || H5Pget_external_count(dcpl) != 0 || H5Pget_layout(dcpl) == H5D_VIRTUAL;
    if (dcpl >= 0) H5Pclose(dcpl);
    if (foreign) {
        st = ax_fail(r->err, AX_ERR_FORMAT, "%s: dataset '%s' keeps its data in other files (external or virtual "
                     "storage), which is not read", r->file, path);
        goto done;
    }
    t = H5Dget_type(d);
    sp = H5Dget_space(d);
    if (t < 0 || sp < 0) {
        st = ax_fail(r->err, AX_ERR_FORMAT, "%s: dataset '%s' has no readable type or shape", r->file, path);
        goto done;
    }
    H5T_class_t cls = H5Tget_class(t);
    if (cls != H5T_FLOAT) {
        st = ax_fail(r->err, AX_ERR_FORMAT, "%s: dataset '%s' holds %s, not floating-point numbers (a Keras kernel "
                     "or bias is float)", r->file, path, cls == H5T_INTEGER ? "integers" : "non-numbers");
        goto done;
    }
    int nd = H5Sget_simple_extent_ndims(sp);
    if (nd < 0 || nd > AX_WMAX_DIMS) {
        st = ax_fail(r->err, AX_ERR_FORMAT, "%s: dataset '%s' has %d dimensions", r->file, path, nd);
        goto done;
    }
    hsize_t dims[AX_WMAX_DIMS];
    H5Sget_simple_extent_dims(sp, dims, NULL);
    ax_wentry e;
    memset(&e, 0, sizeof e);
    if (strlen(ename) >= sizeof e.name) {
        st = ax_fail(r->err, AX_ERR_FORMAT, "%s: tensor name '%s' is too long", r->file, ename);
        goto done;
    }
    snprintf(e.name, sizeof e.name, "%s", ename);
    e.ndim = nd;
    e.dtype = H5Tget_size(t) == 8 ? AX_DT_F64 : AX_DT_F32;
    size_t esz = ax_dtype_size(e.dtype), count = 1;
    for (int i = 0; i < nd; i++) {
        e.shape[i] = (int64_t)dims[i];
        if (dims[i] && count > r->budget / esz / dims[i]) {
            st = ax_fail(r->err, AX_ERR_FORMAT, "%s: dataset '%s' is larger than the file can hold", r->file, path);
            goto done;
        }
        count *= (size_t)dims[i];
    }
    e.nbytes = count * esz;
    void *buf = NULL;
    hid_t mem = e.dtype == AX_DT_F64 ? H5T_NATIVE_DOUBLE : H5T_NATIVE_FLOAT;
    size_t at = r->shm >= 0 ? plain_offset(r, d, t, e.nbytes) : 0;
    if (at) {
        /* left in the file: the parent uses it from its mapping; an odd
         * "offset" (shared memory offsets are page multiples) says so */
        buf = (void *)(uintptr_t)((at << 1) | 1);
    } else if (r->shm >= 0) {
        /* into the memory shared with the parent, at a page boundary; the
         * entry carries the offset */
        size_t off = r->shm_off;
        if (e.nbytes) {
            void *p = MAP_FAILED;
            if (ftruncate(r->shm, (off_t)(off + e.nbytes)) == 0)
                p = mmap(NULL, e.nbytes, PROT_READ | PROT_WRITE, MAP_SHARED, r->shm, (off_t)off);
            if (p == MAP_FAILED) {
                st = ax_fail(r->err, AX_ERR_NOMEM, "%s: no memory to read '%s' into", r->file, path);
                goto done;
            }
            herr_t rd = H5Dread(d, mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, p);
            munmap(p, e.nbytes);
            if (rd < 0) {
                st = ax_fail(r->err, AX_ERR_FORMAT, "%s: dataset '%s' cannot be read (corrupt or truncated)", r->file,
                             path);
                goto done;
            }
        }
        r->shm_off = (off + e.nbytes + 4095) & ~(size_t)4095;
        buf = (void *)(uintptr_t)off;
    } else {
        buf = malloc(e.nbytes ? e.nbytes : 1);
        if (!buf) {
            st = ax_fail(r->err, AX_ERR_NOMEM, "%s: out of memory reading '%s'", r->file, path);
            goto done;
        }
        if (ax_wfile_own(r->f, buf, r->err)) {
            st = AX_ERR_NOMEM;
            goto done;
        }
        if (count && H5Dread(d, mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0) {
            st = ax_fail(r->err, AX_ERR_FORMAT, "%s: dataset '%s' cannot be read (corrupt or truncated)", r->file,
                         path);
            goto done;
        }
    }
    r->budget -= e.nbytes;
    e.data = buf;
    st = ax_wfile_push(r->f, &e, r->file, r->err);
done:
    if (sp >= 0) H5Sclose(sp);
    if (t >= 0) H5Tclose(t);
    H5Dclose(d);
    return st;
}

static void fact_klayer(reader *r, const char *lname, int first)
{
    ax_wfile *f = r->f;
    char shapes[300] = "";
    for (int i = first; i < f->count; i++) {
        char s[96];
        size_t len = strlen(shapes);
        snprintf(shapes + len, sizeof shapes - len, " %s", ax_shape_str(s, sizeof s, f->entries[i].ndim,
                                                                          f->entries[i].shape));
    }
    /* machine-read by ax_keras_bind: "klayer NAME FIRST COUNT" */
    ax_wfile_fact(f, "klayer %s %d %d:%s", lname, first, f->count - first, shapes);
    r->nlayers++;
}

/* Keras 2: layer_names on g, weight_names on each layer group. */
static ax_status read_keras2(reader *r, kobj g, const char *where)
{
    char **layers = NULL;
    size_t nl = 0;
    if (read_split_strings(r, g, "layer_names", &layers, &nl))
        return ax_fail(r->err, AX_ERR_FORMAT, "%s: the layer_names attribute of %s cannot be read", r->file, where);
    ax_wfile_fact(r->f, "keras 2 weights under %s: %zu layers", where, nl);
    ax_status st = AX_OK;
    for (size_t i = 0; i < nl && !st; i++) {
        const char *ln = layers[i];
        if (bad_name(ln) || strlen(ln) > 120) {
            st = ax_fail(r->err, AX_ERR_FORMAT, "%s: layer_names entry %zu is empty, too long or has spaces or "
                         "control characters", r->file, i);
            break;
        }
        if (r->ops->exists(r, g, ln) <= 0) {
            st = ax_fail(r->err, AX_ERR_FORMAT, "%s: layer '%s' is listed in layer_names but has no group", r->file, ln);
            break;
        }
        kobj lg = r->ops->group(r, g, ln);
        if (lg < 0) {
            st = ax_fail(r->err, AX_ERR_FORMAT, "%s: layer group '%s' cannot be opened", r->file, ln);
            break;
        }
        char **wn = NULL;
        size_t nw = 0;
        if (read_split_strings(r, lg, "weight_names", &wn, &nw)) {
            st = ax_fail(r->err, AX_ERR_FORMAT, "%s: the weight_names attribute of layer '%s' cannot be read", r->file, ln);
        } else if (nw) {
            int first = r->f->count;
            for (size_t j = 0; j < nw && !st; j++) {
                char ename[160];
                snprintf(ename, sizeof ename, "%s/%s", ln, wn[j]);
                st = r->ops->dataset(r, lg, wn[j], ename);
            }
            if (!st) fact_klayer(r, ln, first);
        }
        free_strings(wn, nw);
        r->ops->close(lg);
    }
    free_strings(layers, nl);
    return st;
}

/* Keras 3: groups in creation order where the file tracks it, else by name
 * with numbers compared as numbers (conv2d_2 before conv2d_10). */
static herr_t name_cb(hid_t g, const char *name, const H5L_info_t *info, void *data)
{
    (void)g;
    (void)info;
    namelist *l = data;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        if (cap > 100000) return -1;
        char **v = realloc(l->names, cap * sizeof *v);
        if (!v) return -1;
        l->names = v;
        l->cap = cap;
    }
    l->names[l->n] = strdup(name);
    if (!l->names[l->n]) return -1;
    l->n++;
    return 0;
}

static int natural_cmp(const void *pa, const void *pb)
{
    const char *a = *(char *const *)pa, *b = *(char *const *)pb;
    while (*a && *b) {
        if (*a >= '0' && *a <= '9' && *b >= '0' && *b <= '9') {
            unsigned long long x = strtoull(a, (char **)&a, 10), y = strtoull(b, (char **)&b, 10);
            if (x != y) return x < y ? -1 : 1;
        } else {
            if (*a != *b) return (unsigned char)*a - (unsigned char)*b;
            a++;
            b++;
        }
    }
    return (unsigned char)*a - (unsigned char)*b;
}

static int list_children(reader *r, kobj g, namelist *l, int *by_creation)
{
    (void)r;
    hid_t cp = H5Gget_create_plist(g);
    unsigned flags = 0;
    if (cp >= 0) {
        H5Pget_link_creation_order(cp, &flags);
        H5Pclose(cp);
    }
    *by_creation = (flags & H5P_CRT_ORDER_TRACKED) != 0;
    hsize_t idx = 0;
    if (H5Literate(g, *by_creation ? H5_INDEX_CRT_ORDER : H5_INDEX_NAME, H5_ITER_INC, &idx, name_cb, l) < 0)
        return -1;
    if (!*by_creation && l->n) qsort(l->names, l->n, sizeof *l->names, natural_cmp);
    return 0;
}

static void free_names(namelist *l)
{
    for (size_t i = 0; i < l->n; i++) free(l->names[i]);
    free(l->names);
}

static ax_status read_keras3(reader *r, kobj g, const char *path, int depth, int *unordered)
{
    if (depth > 16) return ax_fail(r->err, AX_ERR_FORMAT, "%s: layers nested more than 16 deep at '%s'", r->file, path);
    if (++r->visits > 4096)
        return ax_fail(r->err, AX_ERR_FORMAT, "%s: more than 4096 layer groups (links that loop?)", r->file);
    ax_status st = AX_OK;
    if (path[0] && r->ops->exists(r, g, "vars") > 0) {
        kobj v = r->ops->group(r, g, "vars");
        if (v < 0) return ax_fail(r->err, AX_ERR_FORMAT, "%s: '%s/vars' is not a group", r->file, path);
        int first = r->f->count;
        for (int i = 0; !st; i++) {
            char dn[16];
            snprintf(dn, sizeof dn, "%d", i);
            if (r->ops->exists(r, v, dn) <= 0) break;
            char ename[200];
            snprintf(ename, sizeof ename, "%s/vars/%d", path, i);
            st = r->ops->dataset(r, v, dn, ename);
        }
        r->ops->close(v);
        if (st) return st;
        if (r->f->count > first) fact_klayer(r, path, first);
    }
    if (r->ops->exists(r, g, "layers") > 0) {
        kobj lg = r->ops->group(r, g, "layers");
        if (lg < 0) return ax_fail(r->err, AX_ERR_FORMAT, "%s: '%s/layers' is not a group", r->file, path);
        namelist l = {0};
        int by_creation = 0;
        if (r->ops->children(r, lg, &l, &by_creation)) st = ax_fail(r->err, AX_ERR_FORMAT, "%s: '%s/layers' cannot be listed",
                                                             r->file, path);
        if (!by_creation) *unordered = 1;
        for (size_t i = 0; i < l.n && !st; i++) {
            if (bad_name(l.names[i])) {
                st = ax_fail(r->err, AX_ERR_FORMAT, "%s: a layer group under '%s/layers' has spaces or control "
                             "characters in its name", r->file, path);
                break;
            }
            kobj c = r->ops->group(r, lg, l.names[i]);   /* datasets here are not layers */
            if (c < 0) continue;
            char sub[200];
            snprintf(sub, sizeof sub, "%s%s%s", path, path[0] ? "/" : "", l.names[i]);
            if (strlen(sub) > 120) st = ax_fail(r->err, AX_ERR_FORMAT, "%s: layer path '%s' is too long", r->file, sub);
            else st = read_keras3(r, c, sub, depth + 1, unordered);
            r->ops->close(c);
        }
        free_names(&l);
        r->ops->close(lg);
    }
    return st;
}

/* Which kind of Keras file the root says this is, and its layers' weights. */
static ax_status read_root(reader *r, kobj root)
{
    ax_status st;
    const char *name = r->file;
    if (r->ops->exists(r, root, "model_weights") > 0) {
        kobj g = r->ops->group(r, root, "model_weights");
        st = g < 0 ? ax_fail(r->err, AX_ERR_FORMAT, "%s: model_weights is not a group", name)
                   : read_keras2(r, g, "model_weights");
        if (g >= 0) r->ops->close(g);
    } else if (r->ops->has_attr(r, root, "layer_names") > 0 || r->ops->has_attr(r, root, "layer_names0") > 0) {
        st = read_keras2(r, root, "the root (save_weights)");
    } else if (r->ops->exists(r, root, "layers") > 0 || r->ops->exists(r, root, "vars") > 0) {
        int unordered = 0;
        ax_wfile_fact(r->f, "keras 3 .weights.h5 (<layer>/vars/<i>)");
        st = read_keras3(r, root, "", 0, &unordered);
        if (!st && unordered)
            ax_wfile_fact(r->f, "the file does not record layer order: layers taken by name, numbers compared as numbers");
    } else {
        st = ax_fail(r->err, AX_ERR_FORMAT, "%s: an HDF5 file that is not Keras weights (no model_weights group, no "
                     "layer_names attribute, no layers/<name>/vars)", name);
    }
    if (!st && !r->nlayers)
        st = ax_fail(r->err, AX_ERR_FORMAT, "%s: Keras file without any layer weights", name);
    return st;
}

/* ---- the operations through libhdf5 ---------------------------------------- */

static int h5_exists(reader *r, kobj g, const char *name) { return H5Lexists((hid_t)g, name, r->lapl); }
static kobj h5_group(reader *r, kobj g, const char *name) { return H5Gopen2((hid_t)g, name, r->gapl); }
static void h5_close(kobj o) { H5Gclose((hid_t)o); }
static int h5_has_attr(reader *r, kobj o, const char *name)
{
    (void)r;
    return H5Aexists((hid_t)o, name);
}

static const kops hdf5_ops = {h5_exists, h5_group, h5_close, h5_has_attr, read_strings, list_children, read_dataset};

/* ---- the operations on the plain layout (h5_plain.c) -------------------------
 * Whatever h5_plain cannot answer marks the read bad; the caller then reads
 * the file through libhdf5 instead, which also words every error. */

static int p_exists(reader *r, kobj g, const char *name)
{
    h5p_obj o;
    int k = h5p_find(r->plain, (h5p_obj)g, name, &o);
    if (k < 0) r->bad = 1;
    return k > 0;
}

static kobj p_group(reader *r, kobj g, const char *name)
{
    h5p_obj o;
    int k = h5p_find(r->plain, (h5p_obj)g, name, &o);
    int kind = k > 0 ? h5p_kind(r->plain, o) : -1;
    if (k < 0 || (k > 0 && kind < 0)) r->bad = 1;
    return kind == H5P_GROUP ? (kobj)o : -1;
}

static void p_close(kobj o) { (void)o; }

static int p_strings(reader *r, kobj o, const char *name, char ***out, size_t *n)
{
    int k = h5p_attr_strings(r->plain, (h5p_obj)o, name, out, n);
    if (k < 0) r->bad = 1;
    return k < 0 ? -1 : 0;
}

static int p_has_attr(reader *r, kobj o, const char *name)
{
    char **v;
    size_t n;
    if (p_strings(r, o, name, &v, &n)) return 0;
    free_strings(v, n);
    return v != NULL;
}

static int p_children(reader *r, kobj g, namelist *l, int *by_creation)
{
    *by_creation = 0;   /* symbol-table groups do not record creation order */
    if (h5p_children(r->plain, (h5p_obj)g, &l->names, &l->n)) {
        r->bad = 1;
        return -1;
    }
    l->cap = l->n;
    if (l->n) qsort(l->names, l->n, sizeof *l->names, natural_cmp);
    return 0;
}

static ax_status p_dataset(reader *r, kobj loc, const char *path, const char *ename)
{
    h5p_obj o;
    h5p_dataset d;
    ax_wentry e;
    memset(&e, 0, sizeof e);
    if (h5p_find(r->plain, (h5p_obj)loc, path, &o) <= 0 || h5p_kind(r->plain, o) != H5P_DATASET ||
        h5p_dataset_info(r->plain, o, &d) || d.ndim > AX_WMAX_DIMS || strlen(ename) >= sizeof e.name ||
        d.nbytes > r->budget) {
        r->bad = 1;
        return AX_ERR_UNSUPPORTED;
    }
    snprintf(e.name, sizeof e.name, "%s", ename);
    e.ndim = d.ndim;
    e.dtype = d.elem_size == 8 ? AX_DT_F64 : AX_DT_F32;
    for (int i = 0; i < d.ndim; i++) e.shape[i] = (int64_t)d.dims[i];
    e.nbytes = (size_t)d.nbytes;
    e.data = r->buf + d.offset;
    r->budget -= e.nbytes;
    return ax_wfile_push(r->f, &e, r->file, r->err);
}

static const kops plain_ops = {p_exists, p_group, p_close, p_has_attr, p_strings, p_children, p_dataset};

ax_status ax_keras_parse_plain(ax_wfile *f, const void *buf, size_t size, const char *name, ax_error *err)
{
    int count = f->count;
    size_t facts_len = f->facts_len;
    reader r = {.f = f, .file = name, .err = err, .budget = size * 16 + ((size_t)256 << 20), .shm = -1,
                .size = size, .ops = &plain_ops, .buf = buf};
    if (h5p_open(&r.plain, buf, size))
        return ax_fail(err, AX_ERR_UNSUPPORTED, "%s: not in the plain HDF5 layout", name);
    ax_status st = read_root(&r, (kobj)h5p_root(r.plain));
    h5p_close(r.plain);
    if (!st && !r.bad) {
        f->format = "keras-h5";
        return AX_OK;
    }
    ax_wfile_truncate(f, count);
    if (f->facts) {
        f->facts_len = facts_len;
        f->facts[facts_len] = 0;
    }
    return ax_fail(err, AX_ERR_UNSUPPORTED, "%s: not in the plain HDF5 layout (or malformed)", name);
}

/* Links into other files are never followed: a weight file names no paths. */
static herr_t refuse_external(const char *parent_file, const char *parent_group, const char *child_file,
                              const char *child_object, unsigned *acc_flags, hid_t fapl, void *data)
{
    (void)parent_file, (void)parent_group, (void)child_file, (void)child_object, (void)acc_flags, (void)fapl,
        (void)data;
    return -1;
}

static hid_t access_list(hid_t cls)
{
    hid_t p = H5Pcreate(cls);
    if (p >= 0 && H5Pset_elink_cb(p, refuse_external, NULL) < 0) {
        H5Pclose(p);
        return -1;
    }
    return p;
}

/* The file is opened from memory with the core driver, and used in place:
 * every "allocation" of the image is the caller's buffer, every copy of it
 * onto itself is nothing, and nothing is freed (libhdf5 only reads it: the
 * file is opened read-only). H5LTopen_file_image does the same but leaks its
 * bookkeeping on every open in libhdf5 1.10. */
typedef struct {
    const void *buf;
    size_t size;
} image;

static void *image_malloc(size_t size, H5FD_file_image_op_t op, void *udata)
{
    image *im = udata;
    (void)op;
    return size == im->size ? (void *)im->buf : NULL;
}

static void *image_memcpy(void *dst, const void *src, size_t size, H5FD_file_image_op_t op, void *udata)
{
    (void)size, (void)op, (void)udata;
    return dst == src ? dst : NULL;   /* only ever "copied" onto itself */
}

static void *image_realloc(void *ptr, size_t size, H5FD_file_image_op_t op, void *udata)
{
    (void)ptr, (void)size, (void)op, (void)udata;
    return NULL;   /* a read-only image never grows */
}

static herr_t image_free(void *ptr, H5FD_file_image_op_t op, void *udata)
{
    (void)ptr, (void)op, (void)udata;
    return 0;
}

static void *image_udata_copy(void *udata)
{
    return udata;
}

static herr_t image_udata_free(void *udata)
{
    (void)udata;
    return 0;
}

static hid_t open_image(image *im)
{
    static unsigned long serial;   /* libhdf5 tells open files apart by name */
    hid_t fid = -1;
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5FD_file_image_callbacks_t cb = {image_malloc, image_memcpy, image_realloc, image_free,
                                      image_udata_copy, image_udata_free, im};
    if (fapl >= 0 && H5Pset_fapl_core(fapl, 1 << 16, 0) >= 0 && H5Pset_file_image_callbacks(fapl, &cb) >= 0 &&
        H5Pset_file_image(fapl, (void *)im->buf, im->size) >= 0) {
        char name[64];
        snprintf(name, sizeof name, "alexscope-keras-image-%lu", ++serial);
        fid = H5Fopen(name, H5F_ACC_RDONLY, fapl);
    }
    if (fapl >= 0) H5Pclose(fapl);
    return fid;
}

static ax_status parse_impl(ax_wfile *f, const void *buf, size_t size, const char *name, int shm, int in_place,
                            ax_error *err)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);   /* errors are reported as values, not printed */
    H5PLset_loading_state(0);                /* no filter plugins loaded on a file's say-so */
    reader r = {.f = f, .file = name, .err = err, .budget = size * 16 + ((size_t)256 << 20), .shm = shm,
                .size = size, .ops = &hdf5_ops};
    r.lapl = access_list(H5P_LINK_ACCESS);
    r.gapl = access_list(H5P_GROUP_ACCESS);
    r.dapl = access_list(H5P_DATASET_ACCESS);
    if (r.lapl < 0 || r.gapl < 0 || r.dapl < 0) {
        if (r.lapl >= 0) H5Pclose(r.lapl);
        if (r.gapl >= 0) H5Pclose(r.gapl);
        if (r.dapl >= 0) H5Pclose(r.dapl);
        return ax_fail(err, AX_ERR_NOMEM, "%s: libhdf5 cannot set up its access lists", name);
    }
    image im = {buf, size};   /* outlives the open file */
    hid_t fid = open_image(&im);
    ax_status st;
    hid_t root = -1;
    if (fid < 0) {
        st = ax_fail(err, AX_ERR_FORMAT, "%s: starts like HDF5 but libhdf5 cannot open it (truncated or corrupt)", name);
        goto out;
    }
    f->format = "keras-h5";
    /* dataset offsets count from the end of a user block; with one, the copy path */
    hid_t fcpl = H5Fget_create_plist(fid);
    hsize_t ublock = 1;
    r.in_place = in_place && shm >= 0 && fcpl >= 0 && H5Pget_userblock(fcpl, &ublock) >= 0 && ublock == 0;
    if (fcpl >= 0) H5Pclose(fcpl);
    root = H5Gopen2(fid, "/", r.gapl);
    if (root < 0) {
        st = ax_fail(err, AX_ERR_FORMAT, "%s: HDF5 file without a readable root group", name);
    } else {
        st = read_root(&r, root);
    }
    if (root >= 0) H5Gclose(root);
    H5Fclose(fid);
out:
    H5Pclose(r.lapl);
    H5Pclose(r.gapl);
    H5Pclose(r.dapl);
    return st;
}

ax_status ax_keras_parse_here(ax_wfile *f, const void *buf, size_t size, const char *name, ax_error *err)
{
    return parse_impl(f, buf, size, name, -1, 0, err);
}

/* ---- libhdf5 in a child process ---------------------------------------------
 * libhdf5 1.10 trusts sizes and offsets in a file's metadata: a crafted file
 * can make it crash (found by fuzzing, in H5Aexists on a corrupt object
 * header). So the file is read by a child process, which sends back what it
 * found through a pipe: status, message, facts, then each entry and its data.
 * A child that dies is an error naming the file; nothing the child sends is
 * trusted further than the shape of each entry and the sizes. */

static int write_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Reads n bytes, waiting at most `idle_ms` for each piece. 0 on success, 1 at
 * end of file, -1 on error or when the child stays silent too long. */
static int read_all(int fd, void *p, size_t n, int idle_ms)
{
    char *c = p;
    while (n) {
        struct pollfd pfd = {fd, POLLIN, 0};
        int r = poll(&pfd, 1, idle_ms);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return -1;
        ssize_t got = read(fd, c, n);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) return -1;
        if (got == 0) return 1;
        c += got;
        n -= (size_t)got;
    }
    return 0;
}

typedef struct {
    int32_t status;
    int32_t count;
    uint64_t facts_len;
    char msg[sizeof(((ax_error *)0)->msg)];
} child_head;

/* libhdf5 also allocates whatever sizes a file's metadata claims: the child
 * gets an address-space limit of what it has now, plus the data a file of
 * this size may decode to (the reader's own budget), plus room for libhdf5. */
static void limit_child_memory(size_t size)
{
    FILE *fp = fopen("/proc/self/statm", "r");
    unsigned long pages = 0;
    if (!fp) return;
    int got = fscanf(fp, "%lu", &pages);
    fclose(fp);
    long page = sysconf(_SC_PAGESIZE);
    if (got != 1 || page <= 0) return;
    uint64_t now = (uint64_t)pages * (uint64_t)page;
    uint64_t room = (uint64_t)size * 17 + ((uint64_t)768 << 20);
    struct rlimit rl = {(rlim_t)(now + room), (rlim_t)(now + room)};
    setrlimit(RLIMIT_AS, &rl);
}

static void child_run(int fd, int shm, const void *buf, size_t size, const char *name, int in_place)
{
    limit_child_memory(size);
    ax_wfile *f = calloc(1, sizeof *f);
    child_head h;
    memset(&h, 0, sizeof h);
    ax_error e = {0};
    if (!f) {
        h.status = AX_ERR_NOMEM;
        snprintf(h.msg, sizeof h.msg, "%s: out of memory", name);
    } else {
        snprintf(f->path, sizeof f->path, "%s", name);
        h.status = parse_impl(f, buf, size, name, shm, in_place, &e);
        memcpy(h.msg, e.msg, sizeof h.msg);
        h.count = h.status ? 0 : f->count;
        h.facts_len = f->facts ? f->facts_len : 0;
    }
    int ok = write_all(fd, &h, sizeof h) == 0 && (!h.facts_len || write_all(fd, f->facts, h.facts_len) == 0);
    for (int i = 0; ok && i < h.count; i++) {
        ok = write_all(fd, &f->entries[i], sizeof f->entries[i]) == 0;   /* data: an offset in shm */
    }
    _exit(ok ? 0 : 3);
}

#define CHILD_IDLE_MS 120000   /* a child silent this long is stuck in libhdf5 */

ax_status ax_keras_parse(ax_wfile *f, const void *buf, size_t size, const char *name, ax_error *err)
{
    /* A file in the plain layout h5py writes, used from f's mapping, is read
     * here without libhdf5; anything else goes to libhdf5 in a child. */
    if (f->map == buf && f->map_size == size && ax_keras_parse_plain(f, buf, size, name, err) == AX_OK) {
        ax_wfile_fact(f, "read without libhdf5: plain HDF5 layout (superblock 0/1, symbol-table groups, "
                      "contiguous datasets)");
        return AX_OK;
    }
    int fds[2];
    /* the data itself comes back through shared memory, read in place */
    int shm = memfd_create("alexscope-keras", MFD_CLOEXEC);
    if (shm < 0) return ax_fail(err, AX_ERR_IO, "%s: cannot make shared memory for the HDF5 reader: %s", name,
                                strerror(errno));
    if (pipe2(fds, O_CLOEXEC) != 0) {
        int e = errno;
        close(shm);
        return ax_fail(err, AX_ERR_IO, "%s: cannot make a pipe for the HDF5 reader: %s", name, strerror(e));
    }
    /* datasets stored plainly stay in the file when it is f's mapping, which outlives f's entries */
    int in_place = f->map == buf && f->map_size == size;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(fds[0]);
        close(fds[1]);
        close(shm);
        return ax_fail(err, AX_ERR_IO, "%s: cannot start the HDF5 reader: %s", name, strerror(e));
    }
    if (pid == 0) {
        close(fds[0]);
        signal(SIGPIPE, SIG_DFL);
        child_run(fds[1], shm, buf, size, name, in_place);
    }
    close(fds[1]);
    int fd = fds[0];
    ax_status st = AX_OK;
    ax_wentry *got = NULL;
    int ngot = 0;
    child_head h;
    int r = read_all(fd, &h, sizeof h, CHILD_IDLE_MS);
    if (r == 0) {
        h.msg[sizeof h.msg - 1] = 0;
        if (h.status != AX_OK) {
            st = ax_fail(err, h.status > 0 && h.status <= AX_ERR_SPEC ? (ax_status)h.status : AX_ERR_FORMAT,
                         "%s", h.msg);
        } else if (h.count < 0 || h.count > 100000 || h.facts_len > ((uint64_t)1 << 24)) {
            st = ax_fail(err, AX_ERR_FORMAT, "%s: the HDF5 reader sent a malformed answer", name);
        } else {
            char *facts = malloc((size_t)h.facts_len + 1);
            got = calloc((size_t)h.count + 1, sizeof *got);
            if (!facts || !got) st = ax_fail(err, AX_ERR_NOMEM, "%s: out of memory", name);
            else if (read_all(fd, facts, (size_t)h.facts_len, CHILD_IDLE_MS)) r = -1;
            else {
                facts[h.facts_len] = 0;
                for (char *line = facts, *nl; line && *line; line = nl ? nl + 1 : NULL) {
                    nl = strchr(line, '\n');
                    if (nl) *nl = 0;
                    ax_wfile_fact(f, "%s", line);
                }
            }
            free(facts);
            for (int i = 0; !st && !r && i < h.count; i++) {
                if (read_all(fd, &got[i], sizeof got[i], CHILD_IDLE_MS)) r = -1;
                else ngot++;
            }
        }
    }
    close(fd);
    int status = 0;
    if (st || r) kill(pid, SIGKILL);   /* a reader not done yet, or stuck */
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    if (!st && (r || !WIFEXITED(status) || WEXITSTATUS(status) != 0)) {
        if (WIFSIGNALED(status) && WTERMSIG(status) != SIGKILL)
            st = ax_fail(err, AX_ERR_FORMAT, "%s: libhdf5 crashed reading this file (signal %d): a corrupt or "
                         "hostile HDF5 file", name, WTERMSIG(status));
        else if (WIFSIGNALED(status))
            st = ax_fail(err, AX_ERR_FORMAT, "%s: libhdf5 stopped answering while reading this file (stopped "
                         "after %d s): a corrupt or hostile HDF5 file", name, CHILD_IDLE_MS / 1000);
        else
            st = ax_fail(err, AX_ERR_FORMAT, "%s: the HDF5 reader failed (exit status %d)", name,
                         WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    }
    /* The child is gone: map what it wrote and check every entry against it. */
    void *base = NULL;
    size_t msize = 0;
    if (!st) {
        struct stat sst;
        if (fstat(shm, &sst) != 0 || sst.st_size < 0) st = ax_fail(err, AX_ERR_IO, "%s: shared memory lost", name);
        else msize = (size_t)sst.st_size;
        if (!st && msize) {
            base = mmap(NULL, msize, PROT_READ, MAP_SHARED, shm, 0);
            if (base == MAP_FAILED) {
                base = NULL;
                st = ax_fail(err, AX_ERR_NOMEM, "%s: cannot map the %zu bytes read: %s", name, msize, strerror(errno));
            }
        }
    }
    close(shm);
    int in_file = 0, in_shm = 0;
    unsigned char *file_at = calloc((size_t)ngot + 1, 1);   /* 1: entry i points into the file */
    if (!file_at && !st) st = ax_fail(err, AX_ERR_NOMEM, "%s: out of memory", name);
    for (int i = 0; !st && i < ngot; i++) {
        ax_wentry *e = &got[i];
        e->name[sizeof e->name - 1] = 0;
        size_t want = ax_dtype_size(e->dtype), off = (size_t)(uintptr_t)e->data;
        int file = (off & 1) != 0;   /* left in the file (see read_dataset) */
        size_t limit = file ? size : msize;
        if (file) off >>= 1;
        int ok = want && e->ndim >= 0 && e->ndim <= AX_WMAX_DIMS && (!file || (in_place && e->nbytes));
        for (int d = 0; ok && d < e->ndim; d++) {
            ok = e->shape[d] >= 0 && (!e->shape[d] || want <= SIZE_MAX / (size_t)e->shape[d]);
            if (ok) want *= (size_t)e->shape[d];
        }
        if (!ok || want != e->nbytes || (e->nbytes && (off > limit || e->nbytes > limit - off))) {
            st = ax_fail(err, AX_ERR_FORMAT, "%s: the HDF5 reader sent a malformed entry", name);
            break;
        }
        e->data = !e->nbytes ? (const void *)"" : file ? (const void *)((const char *)buf + off)
                                                        : (const void *)(uintptr_t)off;
        file_at[i] = (unsigned char)(e->nbytes && file);
        in_file += file_at[i];
        in_shm += e->nbytes && !file;
    }
    /* With data both in the file and in shared memory, f keeps the file's
     * mapping and the (then small) rest is copied into memory f owns. */
    const char *shm_data = base;
    if (!st && in_file && in_shm) {
        char *copy = malloc(msize);
        if (!copy) st = ax_fail(err, AX_ERR_NOMEM, "%s: out of memory", name);
        else if (!(st = ax_wfile_own(f, copy, err))) memcpy(copy, base, msize);
        shm_data = copy;
    }
    for (int i = 0; !st && i < ngot; i++) {
        ax_wentry e = got[i];
        size_t off = (size_t)(uintptr_t)e.data;
        if (e.nbytes && !file_at[i]) e.data = shm_data + off;
        st = ax_wfile_push(f, &e, name, err);
    }
    free(got);
    free(file_at);
    if (st) {
        if (base) munmap(base, msize);
        return st;
    }
    f->format = "keras-h5";
    if (in_file) {
        /* f keeps the file's mapping; what was read into shared memory, if anything, was copied */
        if (base) munmap(base, msize);
        return AX_OK;
    }
    /* f now holds the shared mapping in place of the file's */
    if (f->map) munmap(f->map, f->map_size);
    ax_wfile_forget_fd(f);
    f->map = base;
    f->map_size = msize;
    return AX_OK;
}

/* ---- binding layers to the spec -------------------------------------------- */

typedef struct {
    char name[128];
    int first, count;
} kl;

static int read_klayers(const ax_wfile *f, kl *v, int max)
{
    int n = 0;
    for (const char *p = f->facts; p && *p && n < max;) {
        if (!strncmp(p, "klayer ", 7)) {
            kl k;
            char nm[128];
            if (sscanf(p + 7, "%127s %d %d", nm, &k.first, &k.count) == 3 && k.first >= 0 && k.count > 0 &&
                k.first + k.count <= f->count) {
                snprintf(k.name, sizeof k.name, "%s", nm);
                v[n++] = k;
            }
        }
        p = strchr(p, '\n');
        if (p) p++;
    }
    return n;
}

ax_status ax_keras_bind(ax_wfile *f, const struct ax_net *net, char *notes, size_t notes_size, ax_error *err)
{
    kl ks[AX_MAX_LAYERS * 2];
    int nk = read_klayers(f, ks, AX_MAX_LAYERS * 2);
    const ax_layer_spec *sl[AX_MAX_LAYERS];
    int ns = 0;
    for (int i = 0; i < net->spec.nlayers; i++)
        if (ax_layer_has_weights(&net->spec.layers[i])) sl[ns++] = &net->spec.layers[i];
    /* By name when every spec layer with weights has a Keras layer of its name. */
    int map[AX_MAX_LAYERS];
    int by_name = 1;
    for (int i = 0; i < ns && by_name; i++) {
        map[i] = -1;
        const char *base;
        for (int j = 0; j < nk; j++) {
            base = strrchr(ks[j].name, '/');
            base = base ? base + 1 : ks[j].name;
            if (!strcmp(base, sl[i]->name)) map[i] = j;
        }
        by_name = map[i] >= 0;
    }
    if (!by_name) {
        if (nk != ns) {
            char a[300] = "", b[300] = "";
            for (int j = 0; j < nk; j++) snprintf(a + strlen(a), sizeof a - strlen(a), "%s%.60s", j ? " " : "", ks[j].name);
            for (int i = 0; i < ns; i++) snprintf(b + strlen(b), sizeof b - strlen(b), "%s%s", i ? " " : "", sl[i]->name);
            return ax_fail(err, AX_ERR_MISSING, "%s: %d Keras layers with weights (%s) for the %s model's %d (%s); "
                           "names differ, so they are mapped by order, which needs as many", f->path, nk, a,
                           net->spec.name, ns, b);
        }
        for (int i = 0; i < ns; i++) map[i] = i;
    }
    char m[400] = "";
    for (int i = 0; i < ns; i++) {
        const kl *k = &ks[map[i]];
        ax_wentry *kern = &f->entries[k->first];
        int want = sl[i]->type == AX_L_CONV ? 4 : 2;
        if (kern->ndim != want) {
            char s[96];
            return ax_fail(err, AX_ERR_SHAPE, "%s: Keras layer '%s' (mapped to %s %s) has a kernel of shape %s; "
                           "a %s needs %d dimensions", f->path, k->name, ax_layer_type_name(sl[i]->type), sl[i]->name,
                           ax_shape_str(s, sizeof s, kern->ndim, kern->shape), ax_layer_type_name(sl[i]->type), want);
        }
        snprintf(kern->name, sizeof kern->name, "%s.0", sl[i]->name);
        if (k->count > 1 && f->entries[k->first + 1].ndim == 1)
            snprintf(f->entries[k->first + 1].name, sizeof kern->name, "%s.1", sl[i]->name);
        size_t len = strlen(m);
        snprintf(m + len, sizeof m - len, "%s%s->%s", i ? ", " : "", k->name, sl[i]->name);
    }
    size_t len = notes_size ? strlen(notes) : 0;
    if (notes_size && len + 1 < notes_size)
        snprintf(notes + len, notes_size - len, "%sKeras layers mapped by %s: %s", len ? "; " : "",
                 by_name ? "name" : "order", m);
    ax_wfile_fact(f, "mapped to the %s model by %s: %s", net->spec.name, by_name ? "name" : "order", m);
    return AX_OK;
}

#else /* no HDF5 in this build */

ax_status ax_keras_parse(ax_wfile *f, const void *buf, size_t size, const char *name, ax_error *err)
{
    (void)f;
    (void)buf;
    (void)size;
    return ax_fail(err, AX_ERR_UNSUPPORTED, "%s: an HDF5 file (Keras .h5 weights?), but this alexscope was built "
                   "without HDF5: install libhdf5-dev (apt-get install libhdf5-dev) and rebuild "
                   "(./configure --with-hdf5), or convert the file to safetensors", name);
}

ax_status ax_keras_bind(ax_wfile *f, const struct ax_net *net, char *notes, size_t notes_size, ax_error *err)
{
    (void)net;
    (void)notes;
    (void)notes_size;
    return ax_fail(err, AX_ERR_UNSUPPORTED, "%s: Keras HDF5 weights need an alexscope built with HDF5", f->path);
}

#endif
