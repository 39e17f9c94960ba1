/* A small pickle reader for NumPy's array pickles (protocols 2 to 5) and for
 * the object pickles inside PyTorch's torch.save files: dicts/lists of float
 * arrays such as bvlc_alexnet.npy, and state dicts of tensors whose storages
 * are named by persistent ids. It builds plain values on its own stack and
 * never calls, imports or executes anything; the few callables those pickles
 * name are recognised from an explicit list and emulated. */
#include "wfile_internal.h"
#include "alexscope/tensor.h"   /* ax_shape_str */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    MAX_STACK = 1 << 20,   /* values on the stack at once */
    MAX_MEMO = 1 << 22,    /* highest memo index */
    MAX_DEPTH = 32,        /* nesting of dicts/lists when naming entries */
};

typedef enum {
    PV_MARK, PV_NONE, PV_BOOL, PV_INT, PV_BYTES, PV_STR,
    PV_TUPLE, PV_LIST, PV_DICT, PV_GLOBAL, PV_DTYPE, PV_ARRAY,
    PV_FLOAT, PV_STORAGE, PV_TENSOR
} pv_kind;

/* the callables numpy's and torch's pickles name, recognised by module and name */
typedef enum {
    G_RECONSTRUCT, G_NDARRAY, G_DTYPE, G_ENCODE, G_BYTES, G_FROMBUFFER,
    G_ORDEREDDICT, G_REBUILD_V2, G_REBUILD_V1, G_REBUILD_V3, G_REBUILD_PARAM, G_STORAGE, G_TORCH_DTYPE
} g_kind;

/* Storage classes a persistent id may name: element size, and the entry
 * dtype (-1: an integer or byte storage, whose tensors are passed over). */
static const struct { const char *name; size_t elsize; int dtype; } storage_types[] = {
    {"FloatStorage", 4, AX_DT_F32}, {"HalfStorage", 2, AX_DT_F16},
    {"BFloat16Storage", 2, AX_DT_BF16}, {"DoubleStorage", 8, AX_DT_F64},
    {"LongStorage", 8, -1}, {"IntStorage", 4, -1}, {"ShortStorage", 2, -1},
    {"CharStorage", 1, -1}, {"ByteStorage", 1, -1}, {"BoolStorage", 1, -1},
    {"UntypedStorage", 1, -1},
};

/* torch dtypes by name, as _rebuild_tensor_v3 passes them (torch >= 2 uses
 * it for the dtypes without a storage class of their own: uint16/32/64 and
 * the float8s): element size and entry dtype (-1 integers, passed over; -2
 * float8, refused by name: no float8 decoding here). */
static const struct { const char *name; size_t elsize; int dtype; } torch_dtypes[] = {
    {"float32", 4, AX_DT_F32}, {"float", 4, AX_DT_F32}, {"float16", 2, AX_DT_F16}, {"half", 2, AX_DT_F16},
    {"bfloat16", 2, AX_DT_BF16}, {"float64", 8, AX_DT_F64}, {"double", 8, AX_DT_F64},
    {"int64", 8, -1}, {"long", 8, -1}, {"int32", 4, -1}, {"int", 4, -1}, {"int16", 2, -1}, {"short", 2, -1},
    {"int8", 1, -1}, {"uint8", 1, -1}, {"bool", 1, -1}, {"uint16", 2, -1}, {"uint32", 4, -1}, {"uint64", 8, -1},
    {"float8_e4m3fn", 1, -2}, {"float8_e5m2", 1, -2}, {"float8_e4m3fnuz", 1, -2}, {"float8_e5m2fnuz", 1, -2},
};

/* torch_only: recognised only inside torch.save files */
static const struct { const char *module, *name; g_kind kind; int torch_only; } known_globals[] = {
    {"numpy.core.multiarray", "_reconstruct", G_RECONSTRUCT, 0},
    {"numpy._core.multiarray", "_reconstruct", G_RECONSTRUCT, 0},
    {"numpy", "ndarray", G_NDARRAY, 0},
    {"numpy", "dtype", G_DTYPE, 0},
    {"_codecs", "encode", G_ENCODE, 0},
    {"__builtin__", "bytes", G_BYTES, 0},
    {"builtins", "bytes", G_BYTES, 0},
    {"numpy.core.numeric", "_frombuffer", G_FROMBUFFER, 0},
    {"numpy._core.numeric", "_frombuffer", G_FROMBUFFER, 0},
    {"collections", "OrderedDict", G_ORDEREDDICT, 1},
    {"torch._utils", "_rebuild_tensor_v2", G_REBUILD_V2, 1},
    {"torch._utils", "_rebuild_tensor", G_REBUILD_V1, 1},
    {"torch._utils", "_rebuild_tensor_v3", G_REBUILD_V3, 1},
    {"torch._utils", "_rebuild_parameter", G_REBUILD_PARAM, 1},
};

typedef struct pv pv;
struct pv {
    pv_kind kind;
    pv *next;                               /* every value, for freeing */
    int64_t i;                              /* BOOL, INT */
    const uint8_t *s; size_t n;             /* BYTES (raw), STR (UTF-8) */
    pv **items; size_t count, cap;          /* TUPLE, LIST, DICT (key, value, key, value...) */
    g_kind g;                               /* GLOBAL */
    char code[8]; char order;               /* DTYPE: "f4", byte order '<' '>' '|' */
    int set, ndim, fortran;                 /* ARRAY, TENSOR */
    int64_t shape[AX_WMAX_DIMS];
    int64_t stride[AX_WMAX_DIMS];           /* TENSOR, in elements */
    pv *dtype, *data;                       /* ARRAY: DTYPE; BYTES, or LIST for object arrays.
                                               TENSOR: data is its STORAGE, i its offset */
    size_t elsize;                          /* GLOBAL G_STORAGE/G_TORCH_DTYPE, STORAGE, TENSOR */
    int st_dtype;                           /* the same: ax_dtype, -1 (integers) or -2 (float8) */
    uint64_t numel;                         /* STORAGE */
    const uint8_t *bytes;                   /* STORAGE: its data, once resolved */
};

typedef struct {
    const uint8_t *buf;
    size_t size, pos, base;   /* base: offset of buf in the file, for messages */
    size_t op_at;             /* offset of the opcode being run */
    uint8_t op;
    const char *file;
    ax_wfile *f;
    ax_error *err;
    pv *all;
    size_t nvalues;           /* values made; bounds the work of naming them */
    size_t visits;
    pv **stack; size_t sp, scap;
    pv **memo; size_t mcap, mnext;
    pv mark;
    const ax_torch_src *torch;   /* NULL: a numpy pickle */
    int proto;                   /* from PROTO, 0 when absent */
    char globals[400];           /* the globals named, for inspect */
    size_t tensors, skipped;     /* torch: tensors made entries, integer ones passed over */
    char skipped_name[64];
} vm;

static ax_status vm_fail(vm *m, ax_status code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static ax_status vm_fail(vm *m, ax_status code, const char *fmt, ...)
{
    char what[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    char opname[8];
    if (m->op >= 0x21 && m->op < 0x7f) snprintf(opname, sizeof opname, " '%c'", m->op);
    else opname[0] = 0;
    return ax_fail(m->err, code, "%s: pickle opcode 0x%02x%s at file offset %zu: %s", m->file, m->op, opname,
                   m->base + m->op_at, what);
}

static const char *kind_name(const pv *v)
{
    static const char *names[] = {"a mark", "None", "a bool", "an int", "bytes", "a str", "a tuple",
                                  "a list", "a dict", "a global", "a dtype", "an array", "a float",
                                  "a storage", "a tensor"};
    return v ? names[v->kind] : "nothing";
}

static pv *new_value(vm *m, pv_kind kind)
{
    pv *v = calloc(1, sizeof *v);
    if (!v) {
        vm_fail(m, AX_ERR_NOMEM, "out of memory");
        return NULL;
    }
    v->kind = kind;
    v->next = m->all;
    m->all = v;
    m->nvalues++;
    return v;
}

static ax_status add_item(vm *m, pv *seq, pv *item)
{
    if (seq->count == seq->cap) {
        size_t cap = seq->cap ? seq->cap * 2 : 4;
        pv **grown = realloc(seq->items, cap * sizeof *grown);
        if (!grown) return vm_fail(m, AX_ERR_NOMEM, "out of memory");
        seq->items = grown;
        seq->cap = cap;
    }
    seq->items[seq->count++] = item;
    return AX_OK;
}

static ax_status push(vm *m, pv *v)
{
    if (!v) return m->err ? m->err->code : AX_ERR_NOMEM;
    if (m->sp == m->scap) {
        if (m->scap >= MAX_STACK) return vm_fail(m, AX_ERR_FORMAT, "more than %d values on the stack", MAX_STACK);
        size_t cap = m->scap ? m->scap * 2 : 64;
        pv **grown = realloc(m->stack, cap * sizeof *grown);
        if (!grown) return vm_fail(m, AX_ERR_NOMEM, "out of memory");
        m->stack = grown;
        m->scap = cap;
    }
    m->stack[m->sp++] = v;
    return AX_OK;
}

/* The value on top; a mark there, or an empty stack, is an error. */
static ax_status pop(vm *m, pv **out)
{
    if (m->sp == 0 || m->stack[m->sp - 1]->kind == PV_MARK)
        return vm_fail(m, AX_ERR_FORMAT, "needs a value but the stack %s", m->sp ? "has a mark on top" : "is empty");
    *out = m->stack[--m->sp];
    return AX_OK;
}

static ax_status top(vm *m, pv **out)
{
    if (m->sp == 0 || m->stack[m->sp - 1]->kind == PV_MARK)
        return vm_fail(m, AX_ERR_FORMAT, "needs a value but the stack %s", m->sp ? "has a mark on top" : "is empty");
    *out = m->stack[m->sp - 1];
    return AX_OK;
}

/* Index of the topmost mark; the values above it are stack[mark + 1 .. sp). */
static ax_status find_mark(vm *m, size_t *at)
{
    for (size_t i = m->sp; i > 0; i--) {
        if (m->stack[i - 1]->kind == PV_MARK) {
            *at = i - 1;
            return AX_OK;
        }
    }
    return vm_fail(m, AX_ERR_FORMAT, "needs a mark but there is none on the stack");
}

static ax_status need(vm *m, size_t n)
{
    if (n > m->size - m->pos)
        return vm_fail(m, AX_ERR_FORMAT, "needs %zu more bytes but the pickle ends after %zu (truncated)",
                       n, m->size - m->pos);
    return AX_OK;
}

static uint64_t read_le(vm *m, size_t n)
{
    uint64_t v = 0;
    for (size_t i = n; i > 0; i--) v = v << 8 | m->buf[m->pos + i - 1];
    m->pos += n;
    return v;
}

/* A length-prefixed string of `lenbytes` length bytes into a BYTES or STR value. */
static ax_status op_string(vm *m, size_t lenbytes, pv_kind kind, int is_signed)
{
    ax_status st = need(m, lenbytes);
    if (st) return st;
    uint64_t n = read_le(m, lenbytes);
    if (is_signed && (n & 0x80000000u))
        return vm_fail(m, AX_ERR_FORMAT, "negative string length");
    if ((st = need(m, n > SIZE_MAX ? SIZE_MAX : (size_t)n))) return st;
    pv *v = new_value(m, kind);
    if (!v) return m->err->code;
    v->s = m->buf + m->pos;
    v->n = (size_t)n;
    m->pos += (size_t)n;
    return push(m, v);
}

static ax_status make_int(vm *m, int64_t i)
{
    pv *v = new_value(m, PV_INT);
    if (v) v->i = i;
    return push(m, v);
}

static int str_is(const pv *v, const char *s)
{
    return v && (v->kind == PV_STR || v->kind == PV_BYTES) && v->n == strlen(s) && memcmp(v->s, s, v->n) == 0;
}

static int bytes_are(const char *s, size_t n, const char *lit)
{
    return strlen(lit) == n && memcmp(s, lit, n) == 0;
}

/* Notes "module.name" in m->globals once (for inspect). */
static void note_global(vm *m, const char *shown)
{
    size_t len = strlen(m->globals), n = strlen(shown);
    for (const char *p = m->globals; (p = strstr(p, shown)); p += n)
        if ((p == m->globals || p[-1] == ' ') && (p[n] == ',' || p[n] == 0)) return;
    if (len + n + 3 < sizeof m->globals)
        snprintf(m->globals + len, sizeof m->globals - len, "%s%s", len ? ", " : "", shown);
}

static ax_status resolve_global(vm *m, const char *module, size_t mlen, const char *name, size_t nlen)
{
    char shown[160];
    size_t n = 0;
    for (size_t i = 0; i < mlen + 1 + nlen && n + 1 < sizeof shown; i++) {
        char c = i < mlen ? module[i] : i == mlen ? '.' : name[i - mlen - 1];
        shown[n++] = c >= 0x20 && c < 0x7f ? c : '?';
    }
    shown[n] = 0;
    for (size_t k = 0; k < sizeof known_globals / sizeof known_globals[0]; k++) {
        if (known_globals[k].torch_only && !m->torch) continue;
        if (bytes_are(module, mlen, known_globals[k].module) && bytes_are(name, nlen, known_globals[k].name)) {
            pv *v = new_value(m, PV_GLOBAL);
            if (v) v->g = known_globals[k].kind;
            note_global(m, shown);
            return push(m, v);
        }
    }
    if (m->torch && (bytes_are(module, mlen, "torch") || bytes_are(module, mlen, "torch.storage"))) {
        for (size_t k = 0; k < sizeof storage_types / sizeof storage_types[0]; k++) {
            if (!bytes_are(name, nlen, storage_types[k].name)) continue;
            pv *v = new_value(m, PV_GLOBAL);
            if (v) {
                v->g = G_STORAGE;
                v->elsize = storage_types[k].elsize;
                v->st_dtype = storage_types[k].dtype;
            }
            note_global(m, shown);
            return push(m, v);
        }
    }
    if (m->torch && bytes_are(module, mlen, "torch")) {
        for (size_t k = 0; k < sizeof torch_dtypes / sizeof torch_dtypes[0]; k++) {
            if (!bytes_are(name, nlen, torch_dtypes[k].name)) continue;
            pv *v = new_value(m, PV_GLOBAL);
            if (v) {
                v->g = G_TORCH_DTYPE;
                v->elsize = torch_dtypes[k].elsize;
                v->st_dtype = torch_dtypes[k].dtype;
            }
            note_global(m, shown);
            return push(m, v);
        }
    }
    if (m->torch)
        return vm_fail(m, AX_ERR_FORMAT, "refers to %s, which this reader does not load (it reads tensors and "
                       "their storages in dicts and lists only, imports nothing and runs nothing; a whole "
                       "pickled model must be re-saved as its state_dict())", shown);
    return vm_fail(m, AX_ERR_FORMAT, "refers to %s, which this reader does not load (it reads numpy arrays "
                   "in dicts and lists only, and runs nothing)", shown);
}

/* GLOBAL: "module\nname\n" */
static ax_status op_global(vm *m)
{
    const char *s = (const char *)m->buf + m->pos;
    size_t left = m->size - m->pos;
    const char *nl1 = memchr(s, '\n', left);
    const char *nl2 = nl1 ? memchr(nl1 + 1, '\n', left - (size_t)(nl1 + 1 - s)) : NULL;
    if (!nl2) return vm_fail(m, AX_ERR_FORMAT, "module and name lines are not terminated (truncated)");
    m->pos += (size_t)(nl2 + 1 - s);
    return resolve_global(m, s, (size_t)(nl1 - s), nl1 + 1, (size_t)(nl2 - nl1 - 1));
}

static ax_status op_stack_global(vm *m)
{
    pv *name = NULL, *module = NULL;
    ax_status st;
    if ((st = pop(m, &name)) || (st = pop(m, &module))) return st;
    if (name->kind != PV_STR || module->kind != PV_STR)
        return vm_fail(m, AX_ERR_FORMAT, "expected module and name strings, found %s and %s",
                       kind_name(module), kind_name(name));
    return resolve_global(m, (const char *)module->s, module->n, (const char *)name->s, name->n);
}

static ax_status set_memo(vm *m, uint64_t idx)
{
    if (idx >= MAX_MEMO) return vm_fail(m, AX_ERR_FORMAT, "memo index %llu is too large", (unsigned long long)idx);
    pv *v = NULL;
    ax_status st = top(m, &v);
    if (st) return st;
    if (idx >= m->mcap) {
        size_t cap = m->mcap ? m->mcap : 64;
        while (cap <= idx) cap *= 2;
        pv **grown = realloc(m->memo, cap * sizeof *grown);
        if (!grown) return vm_fail(m, AX_ERR_NOMEM, "out of memory");
        memset(grown + m->mcap, 0, (cap - m->mcap) * sizeof *grown);
        m->memo = grown;
        m->mcap = cap;
    }
    m->memo[idx] = v;
    return AX_OK;
}

static ax_status get_memo(vm *m, uint64_t idx)
{
    if (idx >= m->mcap || !m->memo[idx])
        return vm_fail(m, AX_ERR_FORMAT, "memo index %llu was never stored", (unsigned long long)idx);
    return push(m, m->memo[idx]);
}

/* Pops the values above the topmost mark (and the mark) into a new TUPLE/LIST/DICT. */
static ax_status collect(vm *m, pv_kind kind)
{
    size_t mk = 0;
    ax_status st = find_mark(m, &mk);
    if (st) return st;
    pv *v = new_value(m, kind);
    if (!v) return m->err->code;
    if (kind == PV_DICT && (m->sp - mk - 1) % 2)
        return vm_fail(m, AX_ERR_FORMAT, "odd number of values for a dict");
    for (size_t i = mk + 1; i < m->sp; i++)
        if ((st = add_item(m, v, m->stack[i]))) return st;
    m->sp = mk;
    return push(m, v);
}

static ax_status tuple_n(vm *m, size_t n)
{
    if (m->sp < n) return vm_fail(m, AX_ERR_FORMAT, "needs %zu values, the stack has %zu", n, m->sp);
    pv *v = new_value(m, PV_TUPLE);
    if (!v) return m->err->code;
    ax_status st;
    for (size_t i = m->sp - n; i < m->sp; i++) {
        if (m->stack[i]->kind == PV_MARK) return vm_fail(m, AX_ERR_FORMAT, "a mark where a value should be");
        if ((st = add_item(m, v, m->stack[i]))) return st;
    }
    m->sp -= n;
    return push(m, v);
}

/* APPEND, APPENDS, SETITEM, SETITEMS: the values above the mark (or the top
 * one or two) go into the list or dict under them. */
static ax_status extend(vm *m, pv_kind want, int with_mark)
{
    size_t from = 0, below = 0;   /* values are stack[from .. sp); the target is stack[below - 1] */
    ax_status st;
    if (with_mark) {
        if ((st = find_mark(m, &below))) return st;
        from = below + 1;
    } else {
        size_t k = want == PV_DICT ? 2 : 1;
        if (m->sp < k) return vm_fail(m, AX_ERR_FORMAT, "needs %zu values, the stack has %zu", k, m->sp);
        from = below = m->sp - k;
    }
    if (below == 0) return vm_fail(m, AX_ERR_FORMAT, "nothing under the values to add them to");
    pv *target = m->stack[below - 1];
    if (target->kind != want)
        return vm_fail(m, AX_ERR_FORMAT, "expected %s to add to, found %s", want == PV_DICT ? "a dict" : "a list",
                       kind_name(target));
    if (want == PV_DICT && (m->sp - from) % 2) return vm_fail(m, AX_ERR_FORMAT, "odd number of values for a dict");
    for (size_t i = from; i < m->sp; i++) {
        if (m->stack[i]->kind == PV_MARK) return vm_fail(m, AX_ERR_FORMAT, "a mark where a value should be");
        if ((st = add_item(m, target, m->stack[i]))) return st;
    }
    m->sp = below;
    return AX_OK;
}

static int as_int(const pv *v, int64_t *out)
{
    if (!v || (v->kind != PV_INT && v->kind != PV_BOOL)) return 0;
    *out = v->i;
    return 1;
}

static ax_status set_shape(vm *m, pv *arr, const pv *shape)
{
    if (!shape || shape->kind != PV_TUPLE)
        return vm_fail(m, AX_ERR_FORMAT, "array shape should be a tuple, found %s", kind_name(shape));
    if (shape->count > AX_WMAX_DIMS)
        return vm_fail(m, AX_ERR_UNSUPPORTED, "array has %zu dimensions, at most %d are read", shape->count,
                       AX_WMAX_DIMS);
    for (size_t i = 0; i < shape->count; i++) {
        int64_t d;
        if (!as_int(shape->items[i], &d) || d < 0)
            return vm_fail(m, AX_ERR_FORMAT, "array shape[%zu] is not a non-negative int", i);
        arr->shape[i] = d;
    }
    arr->ndim = (int)shape->count;
    return AX_OK;
}

/* _codecs.encode(text, 'latin1'): the bytes whose latin-1 reading is `text`
 * (Python 3 writes bytes this way in protocol 2). text is UTF-8 here, so
 * every character must be below U+0100. */
static ax_status latin1_bytes(vm *m, const pv *text, pv **out)
{
    unsigned char *b = malloc(text->n ? text->n : 1);
    if (!b) return vm_fail(m, AX_ERR_NOMEM, "out of memory");
    ax_status st = ax_wfile_own(m->f, b, m->err);
    if (st) return st;
    size_t n = 0;
    for (size_t i = 0; i < text->n; i++) {
        uint8_t c = text->s[i];
        if (c < 0x80) {
            b[n++] = c;
        } else if ((c == 0xc2 || c == 0xc3) && i + 1 < text->n && (text->s[i + 1] & 0xc0) == 0x80) {
            b[n++] = (uint8_t)((c & 0x1f) << 6 | (text->s[i + 1] & 0x3f));
            i++;
        } else {
            return vm_fail(m, AX_ERR_FORMAT, "string for _codecs.encode is not latin-1 text (byte %zu)", i);
        }
    }
    pv *v = new_value(m, PV_BYTES);
    if (!v) return m->err->code;
    v->s = b;
    v->n = n;
    *out = v;
    return AX_OK;
}

/* dtype('f4', False, True) -> a DTYPE; BUILD later sets its byte order. */
static ax_status make_dtype(vm *m, const pv *args, pv **out)
{
    pv *d = args->count >= 1 ? args->items[0] : NULL;
    if (!d || (d->kind != PV_STR && d->kind != PV_BYTES) || d->n == 0 || d->n >= 8)
        return vm_fail(m, AX_ERR_FORMAT, "numpy.dtype() needs a short type string, found %s", kind_name(d));
    pv *v = new_value(m, PV_DTYPE);
    if (!v) return m->err->code;
    const uint8_t *s = d->s;
    size_t n = d->n;
    v->order = '|';
    if (s[0] == '<' || s[0] == '>' || s[0] == '|' || s[0] == '=') {
        v->order = s[0] == '=' ? '<' : (char)s[0];
        s++;
        n--;
    }
    for (size_t i = 0; i < n; i++) v->code[i] = s[i] >= 0x20 && s[i] < 0x7f ? (char)s[i] : '?';
    *out = v;
    return AX_OK;
}

/* _rebuild_tensor_v2(storage, offset, size, stride, requires_grad,
 * backward_hooks[, metadata]), the older _rebuild_tensor(storage, offset,
 * size, stride) and torch 2's _rebuild_tensor_v3(storage, offset, size,
 * stride, requires_grad, backward_hooks, dtype[, metadata]), whose storage
 * is untyped bytes and whose offset counts elements of dtype: a TENSOR with
 * its element size and dtype. Its layout is checked when it is named (walk). */
static ax_status rebuild_tensor(vm *m, pv **a, size_t na, int version, pv **out)
{
    const char *fn = version == 3 ? "_rebuild_tensor_v3" : version == 2 ? "_rebuild_tensor_v2" : "_rebuild_tensor";
    if (version == 3 ? (na != 7 && na != 8) : version == 2 ? (na != 6 && na != 7) : na != 4)
        return vm_fail(m, AX_ERR_FORMAT, "%s with %zu arguments, expected %s", fn, na,
                       version == 3 ? "7 or 8" : version == 2 ? "6 or 7" : "4");
    if (a[0]->kind != PV_STORAGE)
        return vm_fail(m, AX_ERR_FORMAT, "%s of %s, expected a storage (a persistent id)", fn, kind_name(a[0]));
    if (version == 3 && (a[6]->kind != PV_GLOBAL || a[6]->g != G_TORCH_DTYPE))
        return vm_fail(m, AX_ERR_FORMAT, "%s: its dtype argument is %s, expected a torch dtype", fn, kind_name(a[6]));
    int64_t offset;
    if (!as_int(a[1], &offset) || offset < 0)
        return vm_fail(m, AX_ERR_FORMAT, "%s: storage offset is not a non-negative int", fn);
    const pv *size = a[2], *stride = a[3];
    if (size->kind != PV_TUPLE || stride->kind != PV_TUPLE || size->count != stride->count)
        return vm_fail(m, AX_ERR_FORMAT, "%s: size and stride should be tuples of one length, found %s (%zu) "
                       "and %s (%zu)", fn, kind_name(size), size->count, kind_name(stride), stride->count);
    if (size->count > AX_WMAX_DIMS)
        return vm_fail(m, AX_ERR_UNSUPPORTED, "%s: tensor has %zu dimensions, at most %d are read", fn,
                       size->count, AX_WMAX_DIMS);
    pv *t = new_value(m, PV_TENSOR);
    if (!t) return m->err->code;
    for (size_t i = 0; i < size->count; i++) {
        if (!as_int(size->items[i], &t->shape[i]) || t->shape[i] < 0 ||
            !as_int(stride->items[i], &t->stride[i]) || t->stride[i] < 0)
            return vm_fail(m, AX_ERR_FORMAT, "%s: size[%zu] or stride[%zu] is not a non-negative int", fn, i, i);
    }
    t->ndim = (int)size->count;
    t->data = a[0];
    t->i = offset;
    t->elsize = version == 3 ? a[6]->elsize : a[0]->elsize;
    t->st_dtype = version == 3 ? a[6]->st_dtype : a[0]->st_dtype;
    *out = t;
    return AX_OK;
}

static ax_status op_reduce(vm *m)
{
    pv *args = NULL, *fn = NULL, *res = NULL;
    ax_status st;
    if ((st = pop(m, &args)) || (st = pop(m, &fn))) return st;
    if (fn->kind != PV_GLOBAL)
        return vm_fail(m, AX_ERR_FORMAT, "calls %s, expected a known global", kind_name(fn));
    if (args->kind != PV_TUPLE)
        return vm_fail(m, AX_ERR_FORMAT, "call arguments should be a tuple, found %s", kind_name(args));
    pv **a = args->items;
    size_t na = args->count;
    switch (fn->g) {
    case G_RECONSTRUCT:
        /* _reconstruct(ndarray, (0,), b'b'): an empty array that BUILD fills */
        if (na < 1 || a[0]->kind != PV_GLOBAL || a[0]->g != G_NDARRAY)
            return vm_fail(m, AX_ERR_FORMAT, "_reconstruct of something other than numpy.ndarray");
        res = new_value(m, PV_ARRAY);
        break;
    case G_DTYPE:
        if ((st = make_dtype(m, args, &res))) return st;
        break;
    case G_ENCODE:
        if (na != 2 || a[0]->kind != PV_STR || !(str_is(a[1], "latin1") || str_is(a[1], "latin-1")))
            return vm_fail(m, AX_ERR_FORMAT, "_codecs.encode is only read as encode(str, 'latin1')");
        if ((st = latin1_bytes(m, a[0], &res))) return st;
        break;
    case G_BYTES:
        if (na != 0) return vm_fail(m, AX_ERR_FORMAT, "bytes() is only read without arguments");
        res = new_value(m, PV_BYTES);
        if (res) res->s = m->buf;
        break;
    case G_FROMBUFFER:
        /* _frombuffer(buffer, dtype, shape, order), protocol 5's in-band arrays */
        if (na != 4 || a[0]->kind != PV_BYTES || a[1]->kind != PV_DTYPE || !(str_is(a[3], "C") || str_is(a[3], "F")))
            return vm_fail(m, AX_ERR_FORMAT, "_frombuffer is only read as (bytes, dtype, shape, 'C' or 'F')");
        res = new_value(m, PV_ARRAY);
        if (!res) return m->err->code;
        if ((st = set_shape(m, res, a[2]))) return st;
        res->dtype = a[1];
        res->data = a[0];
        res->fortran = str_is(a[3], "F");
        res->set = 1;
        break;
    case G_NDARRAY:
        return vm_fail(m, AX_ERR_FORMAT, "numpy.ndarray is only read as an argument of _reconstruct");
    case G_ORDEREDDICT:
        /* OrderedDict() is an empty dict; SETITEMS fill it */
        if (na != 0) return vm_fail(m, AX_ERR_FORMAT, "collections.OrderedDict is only read without arguments");
        res = new_value(m, PV_DICT);
        break;
    case G_REBUILD_V2:
    case G_REBUILD_V1:
    case G_REBUILD_V3:
        if ((st = rebuild_tensor(m, a, na, fn->g == G_REBUILD_V3 ? 3 : fn->g == G_REBUILD_V2 ? 2 : 1, &res)))
            return st;
        break;
    case G_TORCH_DTYPE:
        return vm_fail(m, AX_ERR_FORMAT, "a torch dtype is only read as an argument of _rebuild_tensor_v3");
    case G_REBUILD_PARAM:
        /* _rebuild_parameter(data, requires_grad, backward_hooks): the tensor itself */
        if (na != 3 || a[0]->kind != PV_TENSOR)
            return vm_fail(m, AX_ERR_FORMAT, "_rebuild_parameter is only read as (tensor, requires_grad, hooks)");
        res = a[0];
        break;
    case G_STORAGE:
        return vm_fail(m, AX_ERR_FORMAT, "a storage class is only read inside a persistent id");
    }
    return push(m, res);
}

/* BUILD: __setstate__ of a dtype (byte order) or an array (shape, dtype, data). */
static ax_status op_build(vm *m)
{
    pv *state = NULL, *obj = NULL;
    ax_status st;
    if ((st = pop(m, &state)) || (st = top(m, &obj))) return st;
    /* torch state dicts carry their _metadata attribute as a BUILD state;
     * tensors from torch >= 2 may carry a (possibly empty) __dict__ */
    if (m->torch && (obj->kind == PV_DICT || obj->kind == PV_TENSOR)) return AX_OK;
    if (state->kind != PV_TUPLE)
        return vm_fail(m, AX_ERR_FORMAT, "state of %s should be a tuple, found %s", kind_name(obj), kind_name(state));
    pv **s = state->items;
    if (obj->kind == PV_DTYPE) {
        /* (version, byteorder, subarray, names, fields, elsize, alignment, flags[, metadata]) */
        if (state->count < 2 || (s[1]->kind != PV_STR && s[1]->kind != PV_BYTES) || s[1]->n != 1)
            return vm_fail(m, AX_ERR_FORMAT, "dtype state should start (version, byteorder)");
        obj->order = (char)s[1]->s[0];
        if (state->count >= 5 && (s[3]->kind != PV_NONE || s[4]->kind != PV_NONE))
            return vm_fail(m, AX_ERR_UNSUPPORTED, "structured dtypes are not read");
        return AX_OK;
    }
    if (obj->kind != PV_ARRAY || obj->set)
        return vm_fail(m, AX_ERR_FORMAT, "BUILD on %s is not understood", kind_name(obj));
    /* (version, shape, dtype, is_fortran, data) or, older, without the version */
    size_t k = state->count == 5 ? 1 : state->count == 4 ? 0 : 9;
    if (k == 9) return vm_fail(m, AX_ERR_FORMAT, "array state has %zu items, expected 4 or 5", state->count);
    int64_t fortran;
    if ((st = set_shape(m, obj, s[k]))) return st;
    if (s[k + 1]->kind != PV_DTYPE)
        return vm_fail(m, AX_ERR_FORMAT, "array dtype is %s", kind_name(s[k + 1]));
    if (!as_int(s[k + 2], &fortran)) return vm_fail(m, AX_ERR_FORMAT, "array fortran flag is not a bool");
    if (s[k + 3]->kind != PV_BYTES && s[k + 3]->kind != PV_LIST)
        return vm_fail(m, AX_ERR_FORMAT, "array data is %s, expected bytes (or a list for object arrays)",
                       kind_name(s[k + 3]));
    obj->dtype = s[k + 1];
    obj->fortran = fortran != 0;
    obj->data = s[k + 3];
    obj->set = 1;
    return AX_OK;
}

/* BINPERSID/PERSID in a torch pickle: ('storage', <storage class>, key,
 * location, numel[, view metadata]) becomes a STORAGE; its bytes come from
 * the container through m->torch. */
static ax_status op_persid(vm *m, pv *pid)
{
    if (!m->torch)
        return vm_fail(m, AX_ERR_FORMAT, "a persistent id outside a torch.save file");
    pv **a = pid->items;
    if (pid->kind != PV_TUPLE || pid->count < 5 || pid->count > 6 || !str_is(a[0], "storage"))
        return vm_fail(m, AX_ERR_FORMAT, "persistent id is %s of %zu items, expected ('storage', class, key, "
                       "location, numel)", kind_name(pid), pid->kind == PV_TUPLE ? pid->count : 0);
    if (a[1]->kind != PV_GLOBAL || a[1]->g != G_STORAGE)
        return vm_fail(m, AX_ERR_FORMAT, "persistent id names %s, expected a torch storage class", kind_name(a[1]));
    /* Python 2 wrote str as bytes (BINSTRING) */
    if ((a[2]->kind != PV_STR && a[2]->kind != PV_BYTES) || a[2]->n == 0 || a[2]->n > 64)
        return vm_fail(m, AX_ERR_FORMAT, "storage key is %s, expected a short str", kind_name(a[2]));
    char key[65];
    for (size_t i = 0; i < a[2]->n; i++) {
        uint8_t c = a[2]->s[i];
        if (c <= 0x20 || c >= 0x7f || c == '/' || c == '\\')
            return vm_fail(m, AX_ERR_FORMAT, "storage key holds byte 0x%02x, expected a plain name", c);
        key[i] = (char)c;
    }
    key[a[2]->n] = 0;
    int64_t numel;
    if (!as_int(a[4], &numel) || numel < 0)
        return vm_fail(m, AX_ERR_FORMAT, "storage '%s': element count is not a non-negative int", key);
    if (pid->count == 6 && a[5]->kind != PV_NONE)
        return vm_fail(m, AX_ERR_UNSUPPORTED, "storage '%s' is a view of another storage (legacy shared "
                       "storages are not read; re-save the file with torch >= 1.6)", key);
    pv *v = new_value(m, PV_STORAGE);
    if (!v) return m->err->code;
    v->s = a[2]->s;
    v->n = a[2]->n;
    v->elsize = a[1]->elsize;
    v->st_dtype = a[1]->st_dtype;
    v->numel = (uint64_t)numel;
    ax_status st = m->torch->storage(m->torch->user, key, v->elsize, v->numel, &v->bytes, m->err);
    if (st) return st;
    return push(m, v);
}

static ax_status run(vm *m, pv **result)
{
    ax_status st = AX_OK;
    while (st == AX_OK) {
        m->op_at = m->pos;
        m->op = 0;
        if (m->pos >= m->size) return vm_fail(m, AX_ERR_FORMAT, "the pickle ends without a STOP (truncated)");
        uint8_t op = m->buf[m->pos++];
        m->op = op;
        switch (op) {
        case 0x80: /* PROTO */
            if ((st = need(m, 1))) break;
            if (m->buf[m->pos] < 2 || m->buf[m->pos] > 5)
                st = vm_fail(m, AX_ERR_UNSUPPORTED, "pickle protocol %d; protocols 2 to 5 are read", m->buf[m->pos]);
            m->proto = m->buf[m->pos];
            m->pos++;
            break;
        case 0x95: /* FRAME: only a hint for buffered readers */
            if (!(st = need(m, 8))) m->pos += 8;
            break;
        case '.': /* STOP */
            return pop(m, result);
        case '(': st = push(m, &m->mark); break;
        case ')': st = push(m, new_value(m, PV_TUPLE)); break;
        case ']': st = push(m, new_value(m, PV_LIST)); break;
        case '}': st = push(m, new_value(m, PV_DICT)); break;
        case 't': st = collect(m, PV_TUPLE); break;
        case 'l': st = collect(m, PV_LIST); break;
        case 'd': st = collect(m, PV_DICT); break;
        case 0x85: st = tuple_n(m, 1); break;
        case 0x86: st = tuple_n(m, 2); break;
        case 0x87: st = tuple_n(m, 3); break;
        case 'a': st = extend(m, PV_LIST, 0); break;
        case 'e': st = extend(m, PV_LIST, 1); break;
        case 's': st = extend(m, PV_DICT, 0); break;
        case 'u': st = extend(m, PV_DICT, 1); break;
        case 'N': st = push(m, new_value(m, PV_NONE)); break;
        case 0x88: case 0x89: { /* NEWTRUE, NEWFALSE */
            pv *v = new_value(m, PV_BOOL);
            if (v) v->i = op == 0x88;
            st = push(m, v);
            break;
        }
        case 'K': if (!(st = need(m, 1))) st = make_int(m, (int64_t)read_le(m, 1)); break;
        case 'M': if (!(st = need(m, 2))) st = make_int(m, (int64_t)read_le(m, 2)); break;
        case 'J': if (!(st = need(m, 4))) st = make_int(m, (int32_t)(uint32_t)read_le(m, 4)); break;
        case 0x8a: { /* LONG1: n-byte little-endian two's complement */
            if ((st = need(m, 1))) break;
            size_t n = (size_t)read_le(m, 1);
            if (n > 8) { st = vm_fail(m, AX_ERR_FORMAT, "a %zu-byte integer is too large", n); break; }
            if ((st = need(m, n))) break;
            uint64_t u = read_le(m, n);
            if (n > 0 && n < 8 && (u >> (8 * n - 1)) & 1) u |= ~UINT64_C(0) << (8 * n);
            st = make_int(m, (int64_t)u);
            break;
        }
        case 'T': st = op_string(m, 4, PV_BYTES, 1); break;  /* BINSTRING (Python 2 str) */
        case 'U': st = op_string(m, 1, PV_BYTES, 0); break;  /* SHORT_BINSTRING */
        case 'B': st = op_string(m, 4, PV_BYTES, 0); break;  /* BINBYTES */
        case 'C': st = op_string(m, 1, PV_BYTES, 0); break;  /* SHORT_BINBYTES */
        case 0x8e: st = op_string(m, 8, PV_BYTES, 0); break; /* BINBYTES8 */
        case 0x96: st = op_string(m, 8, PV_BYTES, 0); break; /* BYTEARRAY8 */
        case 'X': st = op_string(m, 4, PV_STR, 0); break;    /* BINUNICODE */
        case 0x8c: st = op_string(m, 1, PV_STR, 0); break;   /* SHORT_BINUNICODE */
        case 0x8d: st = op_string(m, 8, PV_STR, 0); break;   /* BINUNICODE8 */
        case 'c': st = op_global(m); break;
        case 0x93: st = op_stack_global(m); break;
        case 'R': st = op_reduce(m); break;
        case 'b': st = op_build(m); break;
        case 'q': if (!(st = need(m, 1))) st = set_memo(m, read_le(m, 1)); break;
        case 'r': if (!(st = need(m, 4))) st = set_memo(m, read_le(m, 4)); break;
        case 0x94: st = set_memo(m, m->mnext++); break;     /* MEMOIZE */
        case 'h': if (!(st = need(m, 1))) st = get_memo(m, read_le(m, 1)); break;
        case 'j': if (!(st = need(m, 4))) st = get_memo(m, read_le(m, 4)); break;
        case '0': { pv *v; st = pop(m, &v); break; }       /* POP */
        case 'G': { /* BINFLOAT: a big-endian double; kept only as a leaf */
            if ((st = need(m, 8))) break;
            m->pos += 8;
            st = push(m, new_value(m, PV_FLOAT));
            break;
        }
        case 'Q': { /* BINPERSID */
            pv *pid = NULL;
            if (!(st = pop(m, &pid))) st = op_persid(m, pid);
            break;
        }
        case 'P': { /* PERSID: a text line, never a storage tuple */
            const uint8_t *nl = memchr(m->buf + m->pos, '\n', m->size - m->pos);
            if (!nl) { st = vm_fail(m, AX_ERR_FORMAT, "persistent id line is not terminated (truncated)"); break; }
            pv *v = new_value(m, PV_STR);
            if (!v) { st = m->err->code; break; }
            v->s = m->buf + m->pos;
            v->n = (size_t)(nl - (m->buf + m->pos));
            m->pos = (size_t)(nl + 1 - m->buf);
            st = op_persid(m, v);
            break;
        }
        default:
            st = vm_fail(m, AX_ERR_FORMAT, "unknown or unsupported opcode (this reader knows only the opcodes "
                         "numpy array pickles use)");
        }
    }
    return st;
}

static ax_status add_array(vm *m, const pv *a, const char *name)
{
    const pv *dt = a->dtype;
    ax_wentry e;
    memset(&e, 0, sizeof e);
    snprintf(e.name, sizeof e.name, "%s", name);
    if (dt->order == '>')
        return ax_fail(m->err, AX_ERR_UNSUPPORTED, "%s: array '%s' is big-endian ('>%s'); re-save it little-endian",
                       m->file, name, dt->code);
    if (strcmp(dt->code, "f4") == 0) e.dtype = AX_DT_F32;
    else if (strcmp(dt->code, "f2") == 0) e.dtype = AX_DT_F16;
    else if (strcmp(dt->code, "f8") == 0) e.dtype = AX_DT_F64;
    else
        return ax_fail(m->err, AX_ERR_UNSUPPORTED, "%s: array '%s' has dtype '%s'; this reader accepts f4, f2 and f8",
                       m->file, name, dt->code);
    e.ndim = a->ndim;
    memcpy(e.shape, a->shape, sizeof e.shape);
    char sh[160];
    ax_shape_str(sh, sizeof sh, e.ndim, e.shape);
    int big_dims = 0;
    uint64_t nbytes = ax_dtype_size(e.dtype);
    for (int i = 0; i < a->ndim; i++) {
        uint64_t v = (uint64_t)a->shape[i];
        big_dims += v > 1;
        if (v != 0 && nbytes > (UINT64_C(1) << 62) / v)
            return ax_fail(m->err, AX_ERR_FORMAT, "%s: array '%s' shape %s is too large to be real", m->file, name, sh);
        nbytes *= v;
    }
    if (a->fortran && big_dims > 1)
        return ax_fail(m->err, AX_ERR_UNSUPPORTED, "%s: array '%s' %s is in Fortran (column-major) order; "
                       "re-save it with np.ascontiguousarray", m->file, name, sh);
    if (a->data->kind != PV_BYTES || a->data->n != nbytes)
        return ax_fail(m->err, AX_ERR_FORMAT, "%s: array '%s' (%s, shape %s) needs %llu bytes of data, found %zu",
                       m->file, name, dt->code, sh, (unsigned long long)nbytes,
                       a->data->kind == PV_BYTES ? a->data->n : 0);
    e.data = a->data->s;
    e.nbytes = (size_t)nbytes;
    return ax_wfile_push(m->f, &e, m->file, m->err);
}

/* A torch tensor becomes an entry pointing into its storage's bytes, when it
 * is contiguous and lies inside the storage; integer tensors (BatchNorm's
 * num_batches_tracked) carry no weights and are passed over. */
static ax_status add_tensor(vm *m, const pv *t, const char *name)
{
    const pv *sto = t->data;
    char sh[160], sd[160];
    ax_shape_str(sh, sizeof sh, t->ndim, t->shape);
    ax_shape_str(sd, sizeof sd, t->ndim, t->stride);
    if (t->st_dtype == -2)
        return ax_fail(m->err, AX_ERR_UNSUPPORTED, "%s: tensor '%s' size %s is float8, which this reader does not "
                       "decode; save it as float16, bfloat16 or float32", m->file, name, sh);
    if (t->st_dtype < 0) {
        if (!m->skipped++) snprintf(m->skipped_name, sizeof m->skipped_name, "%s", name);
        return AX_OK;
    }
    uint64_t numel = 1, expect = 1;
    for (int i = t->ndim - 1; i >= 0; i--) {
        uint64_t d = (uint64_t)t->shape[i];
        if (d != 1 && (uint64_t)t->stride[i] != expect)
            return ax_fail(m->err, AX_ERR_UNSUPPORTED, "%s: tensor '%s' size %s has strides %s: it is not "
                           "contiguous (a transposed or sliced view); save tensor.contiguous() instead",
                           m->file, name, sh, sd);
        if (d != 0 && (expect > (UINT64_C(1) << 60) / d))
            return ax_fail(m->err, AX_ERR_FORMAT, "%s: tensor '%s' size %s is too large to be real", m->file, name, sh);
        expect *= d;
    }
    numel = expect;
    /* in bytes: a v3 tensor's elements are not its (untyped) storage's */
    uint64_t off = (uint64_t)t->i, es = t->elsize, have = sto->numel * sto->elsize;
    if (sto->numel > UINT64_MAX / 16 || off > UINT64_MAX / 16 || numel > UINT64_MAX / 16 / (es ? es : 1))
        return ax_fail(m->err, AX_ERR_FORMAT, "%s: tensor '%s' size %s is too large to be real", m->file, name, sh);
    if (numel && (off * es > have || numel * es > have - off * es))
        return ax_fail(m->err, AX_ERR_FORMAT, "%s: tensor '%s' size %s at offset %llu needs %llu bytes of "
                       "storage '%.*s', which holds %llu", m->file, name, sh, (unsigned long long)off,
                       (unsigned long long)((off + numel) * es), (int)sto->n, (const char *)sto->s,
                       (unsigned long long)have);
    if (!sto->bytes)
        return ax_fail(m->err, AX_ERR_FORMAT, "%s: storage '%.*s' of tensor '%s' has no data", m->file,
                       (int)sto->n, (const char *)sto->s, name);
    ax_wentry e;
    memset(&e, 0, sizeof e);
    snprintf(e.name, sizeof e.name, "%s", name);
    e.dtype = (ax_dtype)t->st_dtype;
    e.ndim = t->ndim;
    memcpy(e.shape, t->shape, sizeof e.shape);
    e.data = numel ? sto->bytes + off * es : sto->bytes;
    e.nbytes = (size_t)(numel * es);
    m->tensors++;
    return ax_wfile_push(m->f, &e, m->file, m->err);
}

static ax_status child_name(vm *m, char *out, size_t size, const char *prefix, const uint8_t *s, size_t n)
{
    size_t plen = strlen(prefix);
    size_t total = plen + (plen ? 1 : 0) + n;
    if (total >= size)
        return ax_fail(m->err, AX_ERR_UNSUPPORTED, "%s: entry name '%s.%.*s' is longer than %zu bytes", m->file,
                       prefix, (int)(n < 40 ? n : 40), (const char *)s, size - 1);
    if (memchr(s, 0, n))
        return ax_fail(m->err, AX_ERR_FORMAT, "%s: a dict key under '%s' holds a NUL byte", m->file, prefix);
    memcpy(out, prefix, plen);
    if (plen) out[plen++] = '.';
    memcpy(out + plen, s, n);
    out[plen + n] = 0;
    return AX_OK;
}

/* Names every numeric array reachable from v by its path of keys and indices;
 * other leaves (None, numbers, strings) carry no tensor and are passed over. */
static ax_status walk(vm *m, const pv *v, const char *name, int depth)
{
    if (depth > MAX_DEPTH)
        return ax_fail(m->err, AX_ERR_FORMAT, "%s: the pickled data nests deeper than %d under '%s' (a cycle?)",
                       m->file, MAX_DEPTH, name);
    /* memo references can share one value many times over; a real file
     * names each value about once */
    if (++m->visits > 4 * m->nvalues + 64)
        return ax_fail(m->err, AX_ERR_FORMAT, "%s: the pickled data refers to the same values over and over "
                       "(at '%s'); not a weight file", m->file, name);
    char sub[sizeof m->f->entries[0].name];
    ax_status st;
    switch (v->kind) {
    case PV_DICT:
        for (size_t i = 0; i + 1 < v->count; i += 2) {
            const pv *k = v->items[i];
            if (k->kind != PV_STR && k->kind != PV_BYTES)
                return ax_fail(m->err, AX_ERR_FORMAT, "%s: a dict key under '%s' is %s, expected a name",
                               m->file, name, kind_name(k));
            if ((st = child_name(m, sub, sizeof sub, name, k->s, k->n))) return st;
            if ((st = walk(m, v->items[i + 1], sub, depth + 1))) return st;
        }
        return AX_OK;
    case PV_LIST:
    case PV_TUPLE:
        for (size_t i = 0; i < v->count; i++) {
            char idx[24];
            int n = snprintf(idx, sizeof idx, "%zu", i);
            if ((st = child_name(m, sub, sizeof sub, name, (const uint8_t *)idx, (size_t)n))) return st;
            if ((st = walk(m, v->items[i], sub, depth + 1))) return st;
        }
        return AX_OK;
    case PV_ARRAY:
        if (!v->set)
            return ax_fail(m->err, AX_ERR_FORMAT, "%s: array '%s' was never given its contents", m->file, name);
        if (v->data->kind == PV_LIST) {
            /* an object array: a 0-d one (np.save of a dict) stands for its element */
            if (v->ndim == 0 && v->data->count == 1) return walk(m, v->data->items[0], name, depth + 1);
            return walk(m, v->data, name, depth + 1);
        }
        if (!name[0]) return ax_fail(m->err, AX_ERR_FORMAT, "%s: pickled array has no name", m->file);
        return add_array(m, v, name);
    case PV_TENSOR:
        if (!name[0]) return ax_fail(m->err, AX_ERR_FORMAT, "%s: the file holds one bare tensor, not a dict "
                                     "of named tensors", m->file);
        return add_tensor(m, v, name);
    default:
        return AX_OK;
    }
}

ax_status ax_pickle_load(ax_wfile *f, const uint8_t *buf, size_t size, size_t base,
                         const char *file, const char *prefix, ax_error *err)
{
    vm m;
    memset(&m, 0, sizeof m);
    m.buf = buf;
    m.size = size;
    m.base = base;
    m.file = file;
    m.f = f;
    m.err = err;
    m.mark.kind = PV_MARK;
    ax_error local;
    if (!m.err) m.err = &local;   /* the VM reads the code back from err */

    int first = f->count;
    pv *result = NULL;
    ax_status st = run(&m, &result);
    if (st == AX_OK) st = walk(&m, result, prefix, 0);
    if (st == AX_OK && f->count == first)
        st = ax_fail(m.err, AX_ERR_FORMAT, "%s: the pickle holds no float arrays", file);
    while (m.all) {
        pv *next = m.all->next;
        free(m.all->items);
        free(m.all);
        m.all = next;
    }
    free(m.stack);
    free(m.memo);
    if (st) ax_wfile_truncate(f, first);
    return st;
}

static void vm_init(vm *m, ax_wfile *f, const uint8_t *buf, size_t size, size_t base, const char *file,
                    ax_error *err, ax_error *local)
{
    memset(m, 0, sizeof *m);
    m->buf = buf;
    m->size = size;
    m->base = base;
    m->file = file;
    m->f = f;
    m->err = err ? err : local;   /* the VM reads the code back from err */
    m->mark.kind = PV_MARK;
}

static void vm_free(vm *m)
{
    while (m->all) {
        pv *next = m->all->next;
        free(m->all->items);
        free(m->all);
        m->all = next;
    }
    free(m->stack);
    free(m->memo);
}

/* The value under key `k` of dict d, or NULL. */
static const pv *dict_get(const pv *d, const char *k)
{
    for (size_t i = 0; d && d->kind == PV_DICT && i + 1 < d->count; i += 2)
        if (str_is(d->items[i], k)) return d->items[i + 1];
    return NULL;
}

/* Strips "module." (what nn.DataParallel adds) when every entry from
 * `first` on has it; returns 1 when it did. */
static int strip_module_prefix(ax_wfile *f, int first)
{
    static const char pre[] = "module.";
    const size_t n = sizeof pre - 1;
    if (f->count <= first) return 0;
    for (int i = first; i < f->count; i++)
        if (strncmp(f->entries[i].name, pre, n) != 0 || !f->entries[i].name[n]) return 0;
    for (int i = first; i < f->count; i++)
        memmove(f->entries[i].name, f->entries[i].name + n, strlen(f->entries[i].name + n) + 1);
    return 1;
}

ax_status ax_pickle_torch_load(ax_wfile *f, const uint8_t *buf, size_t size, size_t base, const char *file,
                               const ax_torch_src *src, size_t *end, ax_error *err)
{
    vm m;
    ax_error local;
    vm_init(&m, f, buf, size, base, file, err, &local);
    m.torch = src;
    int first = f->count;
    pv *result = NULL;
    ax_status st = run(&m, &result);
    if (st == AX_OK && end) *end = m.pos;
    if (st == AX_OK && src->walk) {
        const pv *root = result;
        const char *under = NULL;
        static const char *const nests[] = {"state_dict", "model"};
        for (size_t k = 0; k < 2 && !under; k++) {
            const pv *sub = dict_get(result, nests[k]);
            if (sub && sub->kind == PV_DICT) {
                root = sub;
                under = nests[k];
            }
        }
        if (root->kind != PV_DICT && root->kind != PV_LIST && root->kind != PV_TUPLE)
            st = ax_fail(m.err, AX_ERR_FORMAT, "%s: the pickled object is %s, expected a PyTorch state dict of tensors",
                         file, kind_name(root));
        if (!st) st = walk(&m, root, "", 0);
        if (!st && f->count == first)
            st = ax_fail(m.err, AX_ERR_FORMAT, "%s: the file holds no float tensors%s%s%s", file,
                         m.skipped ? " (only integer ones, such as '" : "", m.skipped ? m.skipped_name : "",
                         m.skipped ? "')" : "");
        if (!st) {
            ax_wfile_fact(f, "pickle protocol %d", m.proto);
            ax_wfile_fact(f, "pickle globals: %s", m.globals[0] ? m.globals : "(none)");
            if (under) {
                char others[200] = "";
                for (size_t i = 0; i + 1 < result->count; i += 2) {
                    const pv *k = result->items[i];
                    if ((k->kind != PV_STR && k->kind != PV_BYTES) || str_is(k, under)) continue;
                    size_t len = strlen(others);
                    if (len + k->n + 8 < sizeof others)
                        snprintf(others + len, sizeof others - len, "%s'%.*s'", len ? ", " : "", (int)k->n,
                                 (const char *)k->s);
                }
                ax_wfile_fact(f, "checkpoint: tensors read from '%s'%s%s", under, others[0] ? "; also holds " : "",
                              others);
            }
            ax_wfile_fact(f, "%zu float tensors", m.tensors);
            if (m.skipped)
                ax_wfile_fact(f, "passed over %zu integer tensors (e.g. '%s')", m.skipped, m.skipped_name);
            if (strip_module_prefix(f, first))
                ax_wfile_fact(f, "%s", AX_TORCH_MODULE_FACT);
        }
    }
    vm_free(&m);
    if (st) ax_wfile_truncate(f, first);
    return st;
}

ax_status ax_pickle_torch_meta(ax_wfile *f, const uint8_t *buf, size_t size, size_t base, const char *file,
                               ax_torch_meta *meta, size_t *end, ax_error *err)
{
    vm m;
    ax_error local;
    vm_init(&m, f, buf, size, base, file, err, &local);
    pv *r = NULL;
    ax_status st = run(&m, &r);
    if (st == AX_OK) {
        *end = m.pos;
        switch (meta->kind) {
        case AX_TORCH_META_INT:
            if (!as_int(r, &meta->value))
                st = ax_fail(m.err, AX_ERR_FORMAT, "%s: at byte %zu: expected a pickled int, found %s", file, base,
                             kind_name(r));
            break;
        case AX_TORCH_META_SYSINFO: {
            const pv *le = dict_get(r, "little_endian"), *pv_ = dict_get(r, "protocol_version");
            if (r->kind != PV_DICT)
                st = ax_fail(m.err, AX_ERR_FORMAT, "%s: at byte %zu: system info is %s, expected a dict", file,
                             base, kind_name(r));
            meta->little_endian = le && le->kind == PV_BOOL ? (int)le->i : -1;
            if (!st && !as_int(pv_, &meta->value)) meta->value = -1;
            break;
        }
        case AX_TORCH_META_KEYS:
            if (r->kind != PV_LIST && r->kind != PV_TUPLE) {
                st = ax_fail(m.err, AX_ERR_FORMAT, "%s: at byte %zu: storage keys are %s, expected a list", file,
                             base, kind_name(r));
                break;
            }
            for (size_t i = 0; i < r->count && !st; i++) {
                const pv *k = r->items[i];
                if ((k->kind != PV_STR && k->kind != PV_BYTES) || k->n == 0 || k->n > 64 || memchr(k->s, 0, k->n))
                    st = ax_fail(m.err, AX_ERR_FORMAT, "%s: storage key %zu is %s, expected a short str", file, i,
                                 kind_name(k));
                else
                    st = meta->key(meta->user, (const char *)k->s, k->n, m.err);
            }
            break;
        }
    }
    vm_free(&m);
    return st;
}
