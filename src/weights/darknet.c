/* Darknet .weights: a version header (major, minor, revision, images seen)
 * and then one stream of float32 with no names or shapes. Opening keeps the
 * stream as one entry; binding slices it by the net's layers in order, the
 * way Darknet's own loader walks its cfg. */
#include "alexscope/weights.h"
#include "alexscope/net.h"
#include "wfile_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STREAM "darknet.stream"
#define TRANSPOSED_FACT "connected weights are stored transposed, (in, out) (major or minor > 1000)"

static int32_t rd32(const uint8_t *p)
{
    uint32_t u = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    int32_t v;
    memcpy(&v, &u, sizeof v);
    return v;
}

/* Darknet reads `seen` as a size_t when major*10+minor >= 2 and neither is a
 * "transposed" version number above 1000; else as an int. */
static size_t header_size(int32_t major, int32_t minor)
{
    return (major * 10 + minor >= 2 && major < 1000 && minor < 1000) ? 20 : 16;
}

/* The versions Darknet writes: 0.1 and 0.2 (pjreddie's and AlexeyAB's), and
 * the same with 1000 added to mark transposed connected weights. An all-zero
 * file (0.0.0) or any other number is not one. */
static int darknet_version(int32_t major, int32_t minor)
{
    int32_t ma = major > 1000 && major < 2000 ? major - 1000 : major;
    int32_t mi = minor > 1000 && minor < 2000 ? minor - 1000 : minor;
    return ma == 0 && (mi == 1 || mi == 2);
}

/* The sniff is the version header alone (Darknet has no magic and is asked
 * last), so that a file that has one but is cut short or holds NaN is told
 * so by the parse rather than called unknown. */
int ax_darknet_sniff(const uint8_t *b, size_t n)
{
    if (n < 16) return 0;
    int32_t major = rd32(b), minor = rd32(b + 4), revision = rd32(b + 8);
    if (!darknet_version(major, minor) || revision < 0 || revision > 1000000) return 0;
    size_t hdr = header_size(major, minor);
    if (n <= hdr) return 0;
    if (hdr == 20 && (uint32_t)rd32(b + 16) > 0xffff) return 0;   /* seen beyond 2^48 images */
    return 1;
}

/* Finds the first value that is not finite, piece by piece (pieces are
 * whole floats: the stream's length and each piece's are multiples of 4). */
typedef struct {
    size_t seen, index;   /* values before this piece; the bad one's index */
} finite_scan;

static int first_not_finite(void *ctx, const void *bytes, size_t n)
{
    finite_scan *s = ctx;
    const unsigned char *p = bytes;
    for (size_t i = 0; i + 4 <= n; i += 4) {
        uint32_t u;
        memcpy(&u, p + i, 4);
        if ((u & 0x7f800000u) == 0x7f800000u) {   /* exponent all ones: inf or NaN */
            s->index = s->seen + i / 4;
            return 1;
        }
    }
    s->seen += n / 4;
    return 0;
}

ax_status ax_darknet_parse(ax_wfile *f, const void *buf, size_t n, const char *file, ax_error *err)
{
    const uint8_t *b = buf;
    if (!ax_darknet_sniff(b, n))
        return ax_fail(err, AX_ERR_FORMAT, "%s: not a Darknet .weights file (no version header Darknet writes, "
                       "0.1 or 0.2; %zu bytes)", file, n);
    {
        int32_t major = rd32(b), minor = rd32(b + 4);
        size_t hdr = header_size(major, minor);
        if ((n - hdr) % 4)
            return ax_fail(err, AX_ERR_FORMAT, "%s: Darknet weights %d.%d: the %zu bytes after the %zu-byte header "
                           "are not whole float32 values (%zu bytes left over: truncated or damaged)", file,
                           major, minor, n - hdr, hdr, (n - hdr) % 4);
        /* every value is checked: a NaN or inf anywhere is damage (or a
         * diverged training) that would spread through every layer after it */
        finite_scan fs = { 0, 0 };
        if (ax_wfile_each_piece(f, b + hdr, n - hdr, first_not_finite, &fs)) {
            size_t at = hdr + 4 * fs.index;
            float x;
            memcpy(&x, b + at, 4);
            return ax_fail(err, AX_ERR_FORMAT, "%s: Darknet weights: value %zu (byte %zu) is %s; weights are "
                           "finite numbers (a damaged file, or saved from a diverged training)", file,
                           fs.index, at, isnan(x) ? "NaN" : "infinite");
        }
    }
    int32_t major = rd32(b), minor = rd32(b + 4), revision = rd32(b + 8);
    size_t hdr = header_size(major, minor);
    uint64_t seen = hdr == 20 ? (uint64_t)(uint32_t)rd32(b + 12) | (uint64_t)(uint32_t)rd32(b + 16) << 32
                              : (uint64_t)(uint32_t)rd32(b + 12);
    ax_wentry e;
    memset(&e, 0, sizeof e);
    snprintf(e.name, sizeof e.name, "%s", STREAM);
    e.dtype = AX_DT_F32;
    e.ndim = 1;
    e.shape[0] = (int64_t)((n - hdr) / 4);
    e.data = b + hdr;
    e.nbytes = n - hdr;
    ax_status st = ax_wfile_push(f, &e, file, err);
    if (st) return st;
    ax_wfile_fact(f, "Darknet weights version %d.%d.%d", major, minor, revision);
    ax_wfile_fact(f, "seen: %llu images (%s counter)", (unsigned long long)seen, hdr == 20 ? "64-bit" : "32-bit");
    ax_wfile_fact(f, "%lld floats (%zu bytes) after the %zu-byte header; no names or shapes: the model's layers "
                  "slice them", (long long)e.shape[0], n - hdr, hdr);
    if (major > 1000 || minor > 1000) ax_wfile_fact(f, TRANSPOSED_FACT);
    f->format = "darknet";
    return AX_OK;
}

/* Floats layer L takes from the stream: biases, then its weights; a
 * batch_normalize=1 layer adds scales, rolling mean and rolling variance
 * (after the biases in a convolutional layer, after the weights in a
 * connected one, as Darknet's loader reads them). */
static size_t layer_floats(const ax_layer *L)
{
    if (!L->weight.ndim) return 0;
    size_t n = ax_tensor_numel(&L->bias);
    return n + ax_tensor_numel(&L->weight) + (L->spec.darknet_bn ? 3 * n : 0);
}

/* Folds Darknet's inference batch norm, out = scale * (W x - mean) / d +
 * bias, into w (n rows of `per` values) and b, in double: w *= scale / d,
 * b -= scale * mean / d, with d = sqrt(var) + 1e-6 (pjreddie's) or
 * sqrt(var + 1e-5) (AlexeyAB's). A negative variance is damage. */
static ax_status fold_bn(float *w, float *b, const uint8_t *sc, const uint8_t *mean, const uint8_t *var, size_t n,
                         size_t per, ax_darknet_bn kind, const char *file, const char *layer, ax_error *err)
{
    for (size_t o = 0; o < n; o++) {
        float s, m, v;
        memcpy(&s, sc + 4 * o, 4);
        memcpy(&m, mean + 4 * o, 4);
        memcpy(&v, var + 4 * o, 4);
        if (v < 0)
            return ax_fail(err, AX_ERR_FORMAT, "%s: Darknet layer '%s': rolling variance %zu is %g; a variance is "
                           "never negative (a damaged file, or not a batch_normalize=1 layer: check bn= in the spec)",
                           file, layer, o, (double)v);
        double d = kind == AX_BN_ALEXEYAB ? sqrt((double)v + 1e-5) : sqrt((double)v) + 1e-6;
        double f = (double)s / d;
        for (size_t i = 0; i < per; i++) w[o * per + i] = (float)((double)w[o * per + i] * f);
        b[o] = (float)((double)b[o] - f * (double)m);
    }
    return AX_OK;
}

ax_status ax_darknet_bind(ax_wfile *f, const struct ax_net *net, char *notes, size_t notes_size, ax_error *err)
{
    const ax_wentry *s = ax_wfile_find(f, STREAM);
    if (!s) return AX_OK;   /* bound already */
    const uint8_t *base = s->data;   /* entries may sit at any alignment; readers memcpy */
    size_t have = (size_t)s->shape[0];
    int transposed = f->facts && strstr(f->facts, TRANSPOSED_FACT) != NULL;

    size_t need = 0;
    int weighted = 0;
    for (int i = 0; i < net->nlayers; i++) {
        const ax_layer *L = &net->layers[i];
        if (!L->weight.ndim) continue;
        if (!L->bias.ndim)
            return ax_fail(err, AX_ERR_FORMAT, "%s: the %s model's layer '%s' has no bias, but Darknet's %s layers "
                           "always store one: this model cannot describe a Darknet file", f->path, net->spec.name,
                           L->spec.name, L->spec.type == AX_L_CONV ? "convolutional" : "connected");
        need += layer_floats(L);
        weighted++;
    }
    if (need != have)
        return ax_fail(err, AX_ERR_SHAPE, "%s: the Darknet weights hold %zu floats (%zu bytes after the header) but "
                       "the %s model's %d layers with weights need %zu (%zu bytes): the file is %zu bytes too %s "
                       "for this model (another cfg, or batch-normalized layers?)", f->path, have, have * 4,
                       net->spec.name, weighted, need, need * 4, (have > need ? have - need : need - have) * 4,
                       have > need ? "long" : "short");

    ax_wfile_truncate(f, 0);
    size_t at = 0;
    int folded = 0;
    ax_status st = AX_OK;
    for (int i = 0; i < net->nlayers && !st; i++) {
        const ax_layer *L = &net->layers[i];
        if (!L->weight.ndim) continue;
        ax_wentry b, w;
        memset(&b, 0, sizeof b);
        memset(&w, 0, sizeof w);
        snprintf(b.name, sizeof b.name, "%s.bias", L->spec.name);
        snprintf(w.name, sizeof w.name, "%s.weight", L->spec.name);
        b.dtype = w.dtype = AX_DT_F32;
        b.ndim = 1;
        b.shape[0] = ax_tensor_numel(&L->bias);
        b.data = base + 4 * at;
        b.nbytes = 4 * (size_t)b.shape[0];
        at += (size_t)b.shape[0];
        w.ndim = L->weight.ndim;
        for (int d = 0; d < w.ndim; d++) w.shape[d] = L->weight.shape[d];
        size_t wn = ax_tensor_numel(&L->weight);
        size_t nb = (size_t)b.shape[0];
        /* a batch-normalized convolutional layer's statistics sit between its biases and weights */
        const uint8_t *bn = L->spec.darknet_bn && L->spec.type != AX_L_FC ? base + 4 * at : NULL;
        if (bn) at += 3 * nb;
        w.data = base + 4 * at;
        w.nbytes = 4 * wn;
        if (transposed && L->spec.type == AX_L_FC) {
            /* stored (in, out); the net wants (out, in) */
            size_t out = (size_t)L->weight.shape[0], in = (size_t)L->weight.shape[1];
            float *t = malloc(wn * sizeof *t + 1);
            if (!t) return ax_fail(err, AX_ERR_NOMEM, "%s: out of memory transposing '%s'", f->path, w.name);
            if ((st = ax_wfile_own(f, t, err))) return st;
            for (size_t r = 0; r < in; r++)
                for (size_t c = 0; c < out; c++) memcpy(&t[c * in + r], base + 4 * (at + r * out + c), 4);
            w.data = t;
        }
        at += wn;
        if (L->spec.darknet_bn) {
            if (!bn) {   /* a connected layer's come after its weights */
                bn = base + 4 * at;
                at += 3 * nb;
            }
            float *fw = malloc(wn * sizeof *fw + 1), *fb = malloc(nb * sizeof *fb + 1);
            if (!fw || !fb) {
                free(fw);
                free(fb);
                return ax_fail(err, AX_ERR_NOMEM, "%s: out of memory folding the batch norm of '%s'", f->path,
                               L->spec.name);
            }
            if ((st = ax_wfile_own(f, fw, err))) { free(fb); return st; }
            if ((st = ax_wfile_own(f, fb, err))) return st;
            memcpy(fw, w.data, wn * sizeof *fw);
            memcpy(fb, b.data, nb * sizeof *fb);
            if ((st = fold_bn(fw, fb, bn, bn + 4 * nb, bn + 8 * nb, nb, nb ? wn / nb : 0, L->spec.darknet_bn,
                              f->path, L->spec.name, err)))
                return st;
            w.data = fw;
            b.data = fb;
            folded++;
        }
        if (!(st = ax_wfile_push(f, &b, f->path, err))) st = ax_wfile_push(f, &w, f->path, err);
    }
    if (st) return st;
    if (notes && notes_size) {
        size_t len = strlen(notes);
        snprintf(notes + len, notes_size - len, "%sDarknet weights sliced by the %s model's %d layers with weights "
                 "(biases, then weights, in layer order)%s", len ? "; " : "", net->spec.name, weighted,
                 transposed ? "; connected weights transposed from (in, out)" : "");
        len = strlen(notes);
        if (folded && len < notes_size)
            snprintf(notes + len, notes_size - len, "; batch norm folded into %d layers (scale / d, d = %s)", folded,
                     "sqrt(var) + 1e-6, or sqrt(var + 1e-5) for bn=alexeyab");
    }
    return AX_OK;
}
