/* The plain HDF5 layout, read directly (see h5_plain.h). Field layouts are
 * those of the HDF5 file format specification, version 2 document: the
 * superblock (versions 0 and 1), version-1 object headers, version-1 B-trees
 * of group nodes, symbol-table nodes, local heaps, and the dataspace,
 * datatype, data layout (versions 3 and 4), attribute (versions 1 to 3),
 * symbol table and continuation messages. */
#include "weights/h5_plain.h"

#include <stdlib.h>
#include <string.h>

#define UNDEF UINT64_MAX          /* an undefined address: all bits set */
#define MAX_CHUNKS 64             /* object header continuation blocks */
#define MAX_MESSAGES 4096         /* messages in one object header */
#define MAX_NODES 65536           /* B-tree and symbol-table nodes in one group walk */
#define MAX_LINKS 100000          /* links listed from one group */
#define MAX_STRINGS 100000        /* elements of one string attribute */
#define MAX_STRLEN 4096           /* bytes of one fixed-length string */

struct h5p_file {
    const uint8_t *b;
    uint64_t n;        /* bytes readable: the file's, or less where the superblock says it ends */
    h5p_obj root;
    unsigned leaf_k, node_k;
};

static uint16_t le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t le32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }
static uint64_t le64(const uint8_t *p) { return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32; }

/* The len bytes at `at`, when all of them are in the file; else NULL. */
static const uint8_t *span(const h5p_file *f, uint64_t at, uint64_t len)
{
    if (at > f->n || len > f->n - at) return NULL;
    return f->b + at;
}

int h5p_open(h5p_file **out, const void *buf, size_t size)
{
    *out = NULL;
    const uint8_t *b = buf;
    if (size < 96 || memcmp(b, "\x89HDF\r\n\x1a\n", 8)) return -1;
    int version = b[8];
    if (version > 1 || b[9] != 0 || b[10] != 0 || b[12] != 0 || b[13] != 8 || b[14] != 8) return -1;
    unsigned leaf_k = le16(b + 16), node_k = le16(b + 18);
    if (!leaf_k || !node_k || le32(b + 20) != 0) return -1;
    const uint8_t *a = b + (version == 1 ? 28 : 24);   /* version 1 adds the indexed-storage K */
    uint64_t base = le64(a), freespace = le64(a + 8), eof = le64(a + 16), driver = le64(a + 24);
    if (base != 0 || freespace != UNDEF || driver != UNDEF || eof > size || eof < 96) return -1;
    /* the root group's symbol-table entry */
    const uint8_t *e = a + 32;
    if ((uint64_t)(e + 40 - b) > eof) return -1;
    uint32_t cache = le32(e + 16);
    if (cache > 1) return -1;
    h5p_file *f = calloc(1, sizeof *f);
    if (!f) return -1;
    f->b = b;
    f->n = eof;
    f->root = le64(e + 8);
    f->leaf_k = leaf_k;
    f->node_k = node_k;
    *out = f;
    return 0;
}

void h5p_close(h5p_file *f) { free(f); }

h5p_obj h5p_root(const h5p_file *f) { return f->root; }

/* ---- object headers --------------------------------------------------------- */

typedef struct {
    const h5p_file *f;
    uint64_t pos, end;                 /* the chunk being read */
    uint64_t cont[MAX_CHUNKS][2];      /* continuation blocks still to read */
    int ncont, icont, seen, nmsgs;
} msgit;

static int msg_start(msgit *it, const h5p_file *f, h5p_obj o)
{
    memset(it, 0, sizeof *it);
    it->f = f;
    const uint8_t *h = span(f, o, 16);
    if (!h || h[0] != 1) return -1;
    it->nmsgs = le16(h + 2);
    uint64_t len = le32(h + 8);
    if (!span(f, o + 16, len)) return -1;
    it->pos = o + 16;
    it->end = o + 16 + len;
    return 0;
}

/* The message types read or passed over; any other (link, link info, group
 * info, filter pipeline, external files, attribute info, shared-message
 * table, ...) belongs to a layout outside the plain one. */
static int known_type(int t)
{
    switch (t) {
    case 0x00: /* NIL */
    case 0x01: /* dataspace */
    case 0x03: /* datatype */
    case 0x04: case 0x05: /* fill value, old and new */
    case 0x08: /* data layout */
    case 0x0C: /* attribute */
    case 0x0D: /* comment */
    case 0x0E: case 0x12: /* modification time, old and new */
    case 0x10: /* continuation */
    case 0x11: /* symbol table */
    case 0x13: /* B-tree 'K' values */
    case 0x16: /* reference count */
        return 1;
    default:
        return 0;
    }
}

/* The next message: 1 with its type and bytes, 0 after the last, -1 on a
 * malformed or unknown one. */
static int msg_next(msgit *it, int *type, const uint8_t **data, uint64_t *len)
{
    for (;;) {
        if (it->end - it->pos >= 8) {
            const uint8_t *m = it->f->b + it->pos;
            int t = le16(m), flags = m[4];
            uint64_t sz = le16(m + 2);
            if (sz > it->end - it->pos - 8) return -1;
            if (++it->seen > MAX_MESSAGES || !known_type(t) || (flags & 0x02)) return -1;   /* 0x02: shared */
            *type = t;
            *data = m + 8;
            *len = sz;
            it->pos += 8 + sz;
            if (t == 0x10) {
                if (sz < 16 || it->ncont == MAX_CHUNKS) return -1;
                uint64_t at = le64(m + 8), n = le64(m + 16);
                if (!span(it->f, at, n)) return -1;
                it->cont[it->ncont][0] = at;
                it->cont[it->ncont][1] = n;
                it->ncont++;
            }
            return 1;
        }
        if (it->icont == it->ncont) return it->seen == it->nmsgs ? 0 : -1;
        it->pos = it->cont[it->icont][0];
        it->end = it->pos + it->cont[it->icont][1];
        it->icont++;
    }
}

/* What one object header holds that matters here. */
typedef struct {
    int symtab;
    uint64_t btree, heap;
    const uint8_t *space, *dtype, *layout;
    uint64_t space_n, dtype_n, layout_n;
} objinfo;

static int obj_info(const h5p_file *f, h5p_obj o, objinfo *oi)
{
    memset(oi, 0, sizeof *oi);
    msgit it;
    if (msg_start(&it, f, o)) return -1;
    int t, r;
    const uint8_t *d;
    uint64_t n;
    while ((r = msg_next(&it, &t, &d, &n)) == 1) {
        const uint8_t **slot = NULL;
        uint64_t *slot_n = NULL;
        if (t == 0x11) {
            if (oi->symtab || n < 16) return -1;
            oi->symtab = 1;
            oi->btree = le64(d);
            oi->heap = le64(d + 8);
        } else if (t == 0x01) {
            slot = &oi->space, slot_n = &oi->space_n;
        } else if (t == 0x03) {
            slot = &oi->dtype, slot_n = &oi->dtype_n;
        } else if (t == 0x08) {
            slot = &oi->layout, slot_n = &oi->layout_n;
        }
        if (slot) {
            if (*slot) return -1;   /* a second message of the kind */
            *slot = d;
            *slot_n = n;
        }
    }
    return r;
}

int h5p_kind(h5p_file *f, h5p_obj o)
{
    objinfo oi;
    if (obj_info(f, o, &oi)) return -1;
    if (oi.symtab) return oi.space || oi.dtype || oi.layout ? -1 : H5P_GROUP;
    if (oi.layout) return oi.space && oi.dtype ? H5P_DATASET : -1;
    return H5P_OTHER;
}

/* ---- groups: a B-tree of symbol-table nodes over a local heap of names ----- */

typedef struct {
    const h5p_file *f;
    const char *heap;      /* the names' data segment */
    uint64_t heap_n;
    int nodes;
    const char *prev;      /* names come in strictly increasing order */
    /* what to do with each link: */
    const char *want;      /* find: the name looked for */
    h5p_obj found;
    int nfound;
    char **names;          /* list: the names gathered */
    size_t nnames, cap;
    int listing;
} gwalk;

static int link_seen(gwalk *w, const char *name, h5p_obj addr)
{
    if (w->prev && strcmp(w->prev, name) >= 0) return -1;
    w->prev = name;
    if (w->listing) {
        if (w->nnames == MAX_LINKS) return -1;
        if (w->nnames == w->cap) {
            size_t cap = w->cap ? w->cap * 2 : 16;
            char **v = realloc(w->names, cap * sizeof *v);
            if (!v) return -1;
            w->names = v;
            w->cap = cap;
        }
        if (!(w->names[w->nnames] = strdup(name))) return -1;
        w->nnames++;
    } else if (!strcmp(name, w->want)) {
        w->found = addr;
        w->nfound++;
    }
    return 0;
}

static int walk_snod(gwalk *w, uint64_t at)
{
    const h5p_file *f = w->f;
    const uint8_t *s = span(f, at, 8);
    if (!s || memcmp(s, "SNOD", 4) || s[4] != 1) return -1;
    unsigned n = le16(s + 6);
    if (n > 2 * f->leaf_k) return -1;
    const uint8_t *e = span(f, at + 8, (uint64_t)n * 40);
    if (!e) return -1;
    for (unsigned i = 0; i < n; i++, e += 40) {
        uint64_t name = le64(e), addr = le64(e + 8);
        if (le32(e + 16) > 1) return -1;   /* 2: a soft link */
        if (name >= w->heap_n || !memchr(w->heap + name, 0, w->heap_n - name)) return -1;
        if (link_seen(w, w->heap + name, addr)) return -1;
    }
    return 0;
}

static int walk_tree(gwalk *w, uint64_t at, int level)
{
    const h5p_file *f = w->f;
    if (++w->nodes > MAX_NODES) return -1;
    const uint8_t *t = span(f, at, 24);
    if (!t || memcmp(t, "TREE", 4) || t[4] != 0) return -1;
    if (level >= 0 && t[5] != level) return -1;   /* each child one level down: no cycles */
    level = t[5];
    unsigned n = le16(t + 6);
    if (n > 2 * f->node_k) return -1;
    const uint8_t *c = span(f, at + 24, (uint64_t)n * 16 + 8);   /* key, child, key, ..., child, key */
    if (!c) return -1;
    for (unsigned i = 0; i < n; i++) {
        uint64_t child = le64(c + 8 + 16 * i);
        int r = level ? walk_tree(w, child, level - 1) : (++w->nodes > MAX_NODES ? -1 : walk_snod(w, child));
        if (r) return r;
    }
    return 0;
}

static int walk_group(const h5p_file *f, h5p_obj g, gwalk *w)
{
    objinfo oi;
    if (obj_info(f, g, &oi) || !oi.symtab || oi.space || oi.dtype || oi.layout) return -1;
    const uint8_t *h = span(f, oi.heap, 32);
    if (!h || memcmp(h, "HEAP", 4) || h[4] != 0) return -1;
    uint64_t n = le64(h + 8), at = le64(h + 24);
    const uint8_t *d = span(f, at, n);
    if (!d || !n) return -1;
    w->f = f;
    w->heap = (const char *)d;
    w->heap_n = n;
    return walk_tree(w, oi.btree, -1);
}

static void free_list(char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++) free(v[i]);
    free(v);
}

int h5p_children(h5p_file *f, h5p_obj g, char ***names, size_t *n)
{
    *names = NULL;
    *n = 0;
    gwalk w;
    memset(&w, 0, sizeof w);
    w.listing = 1;
    if (walk_group(f, g, &w)) {
        free_list(w.names, w.nnames);
        return -1;
    }
    *names = w.names;
    *n = w.nnames;
    return 0;
}

int h5p_find(h5p_file *f, h5p_obj g, const char *path, h5p_obj *out)
{
    char part[1024];
    for (const char *p = path; *p;) {
        if (*p == '/') {   /* libhdf5 reads "a//b" as "a/b"; a leading '/' (the root) is not taken */
            if (p == path) return -1;
            p++;
            continue;
        }
        size_t len = strcspn(p, "/");
        if (len >= sizeof part || (len == 1 && p[0] == '.')) return -1;
        memcpy(part, p, len);
        part[len] = 0;
        int kind = h5p_kind(f, g);   /* every name on the way is looked up in a group */
        if (kind < 0) return -1;
        if (kind != H5P_GROUP) return 0;
        gwalk w;
        memset(&w, 0, sizeof w);
        w.want = part;
        if (walk_group(f, g, &w)) return -1;
        if (!w.nfound) return 0;
        g = w.found;
        p += len;
    }
    *out = g;
    return 1;
}

/* ---- messages: dataspace, datatype, layout, attribute ---------------------- */

/* A dataspace message: its dims (ndim of them; 0 for a scalar) and element
 * count (0 for the null space). */
static int parse_space(const uint8_t *d, uint64_t n, int *ndim, uint64_t *dims, uint64_t *points)
{
    if (n < 4) return -1;
    int v = d[0], nd = d[1], flags = d[2];
    uint64_t at;
    int null = 0;
    if (v == 1) {
        if (n < 8 || (flags & ~1)) return -1;   /* no permutation index */
        at = 8;
    } else if (v == 2) {
        if (flags & ~1 || d[3] > 2) return -1;
        null = d[3] == 2;
        if (d[3] == 0 && nd) return -1;
        at = 4;
    } else {
        return -1;
    }
    if (nd > 32 || (uint64_t)nd * 8 * ((flags & 1) ? 2 : 1) > n - at) return -1;
    uint64_t p = 1;
    for (int i = 0; i < nd; i++) {
        dims[i] = le64(d + at + 8 * (uint64_t)i);
        if (dims[i] && p > UINT64_MAX / dims[i]) return -1;
        p *= dims[i];
    }
    *ndim = nd;
    *points = null ? 0 : p;
    return 0;
}

/* An IEEE little-endian float datatype message, exactly: 4 or 8 (its size),
 * else -1. */
static int parse_float(const uint8_t *d, uint64_t n)
{
    if (n < 20 || d[0] != 0x11 || d[1] != 0x20 || d[3] != 0) return -1;   /* class 1 version 1; LE, implied MSB */
    uint32_t size = le32(d + 4);
    const uint8_t *p = d + 8;
    if (size == 4 && d[2] == 31 && le16(p) == 0 && le16(p + 2) == 32 && p[4] == 23 && p[5] == 8 && p[6] == 0 &&
        p[7] == 23 && le32(p + 8) == 127)
        return 4;
    if (size == 8 && d[2] == 63 && le16(p) == 0 && le16(p + 2) == 64 && p[4] == 52 && p[5] == 11 && p[6] == 0 &&
        p[7] == 52 && le32(p + 8) == 1023)
        return 8;
    return -1;
}

int h5p_dataset_info(h5p_file *f, h5p_obj o, h5p_dataset *out)
{
    objinfo oi;
    memset(out, 0, sizeof *out);
    if (obj_info(f, o, &oi) || oi.symtab || !oi.space || !oi.dtype || !oi.layout) return -1;
    uint64_t points;
    if (parse_space(oi.space, oi.space_n, &out->ndim, out->dims, &points)) return -1;
    int es = parse_float(oi.dtype, oi.dtype_n);
    if (es < 0) return -1;
    out->elem_size = es;
    const uint8_t *l = oi.layout;
    if (oi.layout_n < 18 || (l[0] != 3 && l[0] != 4) || l[1] != 1) return -1;   /* contiguous */
    uint64_t at = le64(l + 2), size = le64(l + 10);
    if (!points || points > UINT64_MAX / (uint64_t)es || points * (uint64_t)es != size) return -1;
    if (at == UNDEF || at == 0 || !span(f, at, size)) return -1;
    out->offset = at;
    out->nbytes = size;
    return 0;
}

static uint64_t pad8(uint64_t x) { return (x + 7) & ~(uint64_t)7; }

int h5p_attr_strings(h5p_file *f, h5p_obj o, const char *name, char ***out, size_t *count)
{
    *out = NULL;
    *count = 0;
    msgit it;
    if (msg_start(&it, f, o)) return -1;
    int t, r;
    const uint8_t *d, *hit = NULL;
    uint64_t n, hit_n = 0;
    uint64_t hit_name = 0, hit_dt = 0, hit_ds = 0, hit_data = 0, dt_n = 0, ds_n = 0;
    while ((r = msg_next(&it, &t, &d, &n)) == 1) {
        if (t != 0x0C) continue;
        if (n < 8) return -1;
        int v = d[0];
        uint64_t ns = le16(d + 2), dts = le16(d + 4), dss = le16(d + 6), at_name, at_dt, at_ds, at_data;
        if (v == 1) {
            at_name = 8;
            at_dt = at_name + pad8(ns);
            at_ds = at_dt + pad8(dts);
            at_data = at_ds + pad8(dss);
        } else if (v == 2 || v == 3) {
            if (d[1] != 0) return -1;   /* shared datatype or dataspace */
            at_name = v == 3 ? 9 : 8;
            at_dt = at_name + ns;
            at_ds = at_dt + dts;
            at_data = at_ds + dss;
        } else {
            return -1;
        }
        if (!ns || at_data > n || d[at_name + ns - 1] != 0 || strlen((const char *)d + at_name) != ns - 1)
            return -1;
        if (strcmp((const char *)d + at_name, name)) continue;
        if (hit) return -1;   /* two attributes of one name */
        hit = d, hit_n = n, hit_name = at_name, hit_dt = at_dt, hit_ds = at_ds, hit_data = at_data;
        dt_n = dts, ds_n = dss;
    }
    if (r < 0) return -1;
    if (!hit) return 0;
    (void)hit_name;
    const uint8_t *dt = hit + hit_dt;
    if (dt_n < 8 || (dt[0] & 0x0f) != 3) return -1;   /* fixed-length strings */
    uint64_t len = le32(dt + 4), points;
    int nd;
    uint64_t dims[32];
    if (parse_space(hit + hit_ds, ds_n, &nd, dims, &points)) return -1;
    if (len == 0 || len > MAX_STRLEN || points > MAX_STRINGS || points * len > hit_n - hit_data) return -1;
    char **v = calloc((size_t)points + 1, sizeof *v);
    if (!v) return -1;
    const char *raw = (const char *)hit + hit_data;
    for (uint64_t i = 0; i < points; i++) {
        v[i] = strndup(raw + i * len, (size_t)len);
        if (!v[i]) {
            free_list(v, (size_t)i);
            return -1;
        }
    }
    *out = v;
    *count = (size_t)points;
    return 1;
}
