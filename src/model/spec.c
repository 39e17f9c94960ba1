/* Net spec text format: parse into ax_spec, find built-in specs. Only syntax
 * and per-layer sanity here; shapes are resolved when the net is created.
 * The format is documented in weights/README.md. */
#include "alexscope/spec.h"

#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "alexscope/fileio.h"
#include "alexscope/text.h"
#include "alexscope/weights.h"

/* A spec is a few kilobytes; anything near this is not one. */
#define AX_SPEC_MAX_BYTES (16u << 20)

/* ---- parsing helpers ---------------------------------------------------- */

typedef struct {
    const char *file;
    int line;
    ax_error *err;
} parse_ctx;

#define PFAIL(ctx, ...) parse_fail((ctx), __VA_ARGS__)

__attribute__((format(printf, 2, 3)))
static ax_status parse_fail(const parse_ctx *ctx, const char *fmt, ...)
{
    char what[700];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return ax_fail(ctx->err, AX_ERR_SPEC, "%s:%d: %s", ctx->file, ctx->line, what);
}

static ax_status parse_int(const parse_ctx *ctx, const char *key, const char *s, int lo, int hi, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end)
        return PFAIL(ctx, "%s=%s: expected a whole number", key, s);
    if (v < lo || v > hi)
        return PFAIL(ctx, "%s=%ld: expected %d..%d", key, v, lo, hi);
    *out = (int)v;
    return AX_OK;
}

static ax_status parse_float(const parse_ctx *ctx, const char *key, const char *s, float *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end)
        return PFAIL(ctx, "%s=%s: expected a number", key, s);
    /* strtod takes "nan" and "inf", which pass every range check after it */
    if (!isfinite(v) || fabs(v) > FLT_MAX)
        return PFAIL(ctx, "%s=%s: expected a finite number", key, s);
    *out = (float)v;
    return AX_OK;
}

/* A float in [lo, hi] (lo itself excluded when open_lo). */
static ax_status parse_float_in(const parse_ctx *ctx, const char *key, const char *s, double lo, int open_lo,
                                double hi, float *out)
{
    ax_status st = parse_float(ctx, key, s, out);
    if (!st && (*out < lo || (open_lo && *out == lo) || *out > hi))
        return PFAIL(ctx, "%s=%s: expected %s%g..%g", key, s, open_lo ? "more than " : "", lo, hi);
    return st;
}

/* "a,b,c" into n floats (exactly n). */
static ax_status parse_floats(const parse_ctx *ctx, const char *key, const char *s, float *out, int n)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", s);
    int count = 0;
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (count == n) return PFAIL(ctx, "%s=%s: expected %d comma-separated numbers", key, s, n);
        ax_status st = parse_float(ctx, key, tok, &out[count++]);
        if (st) return st;
    }
    if (count != n) return PFAIL(ctx, "%s=%s: expected %d comma-separated numbers", key, s, n);
    return AX_OK;
}

/* "N" or "HxW" into two ints. */
static ax_status parse_size2(const parse_ctx *ctx, const char *key, const char *s, int *h, int *w)
{
    char buf[64];
    snprintf(buf, sizeof buf, "%s", s);
    char *x = strchr(buf, 'x');
    if (x) *x = 0;
    ax_status st = parse_int(ctx, key, buf, 1, 1 << 16, h);
    if (st) return st;
    if (x) return parse_int(ctx, key, x + 1, 1, 1 << 16, w);
    *w = *h;
    return AX_OK;
}

/* pad=N | pad=t,l,b,r | pad=same */
static ax_status parse_pad(const parse_ctx *ctx, const char *s, ax_layer_spec *l)
{
    if (!strcmp(s, "same")) {
        l->pad_mode = AX_PAD_SAME;
        return AX_OK;
    }
    l->pad_mode = AX_PAD_EXPLICIT;
    if (!strchr(s, ',')) {
        ax_status st = parse_int(ctx, "pad", s, 0, 1024, &l->pad_t);
        l->pad_l = l->pad_b = l->pad_r = l->pad_t;
        return st;
    }
    float v[4];
    ax_status st = parse_floats(ctx, "pad", s, v, 4);
    if (st) return st;
    int *p[4] = {&l->pad_t, &l->pad_l, &l->pad_b, &l->pad_r};
    for (int i = 0; i < 4; i++) {
        if (v[i] < 0 || v[i] > 1024 || v[i] != (int)v[i])
            return PFAIL(ctx, "pad=%s: expected N, same, or top,left,bottom,right whole numbers", s);
        *p[i] = (int)v[i];
    }
    return AX_OK;
}

/* Which keys each layer type takes (space-separated, with spaces around). */
static const char *const type_keys[AX_L_COUNT] = {
    [AX_L_CONV] = " out k kh kw s sh sw pad groups bias bn ",
    [AX_L_RELU] = " ",
    [AX_L_LRN] = " convention size depth_radius alpha beta k bias kappa ",
    [AX_L_MAXPOOL] = " k kh kw s sh sw pad round ",
    [AX_L_AVGPOOL] = " size ",
    [AX_L_PAD] = " pad ",
    [AX_L_FLATTEN] = " order ",
    [AX_L_FC] = " out bias bn ",
    [AX_L_DROPOUT] = " p ",
    [AX_L_SOFTMAX] = " ",
};

static int key_allowed(ax_layer_type t, const char *key)
{
    char probe[40];
    snprintf(probe, sizeof probe, " %s ", key);
    return strstr(type_keys[t], probe) != NULL;
}

static ax_status parse_layer_kv(const parse_ctx *ctx, ax_layer_spec *l, const char *key,
                                const char *val, int *seen_k, int *lrn_flags)
{
    ax_status st = AX_OK;
    int tmp;
    if (!key_allowed(l->type, key))
        return PFAIL(ctx, "layer '%s': %s takes no '%s' (it takes:%s)", l->name,
                     ax_layer_type_name(l->type), key, type_keys[l->type]);
    if (!strcmp(key, "out")) st = parse_int(ctx, key, val, 1, 1 << 20, &l->out_c);
    else if (!strcmp(key, "k") && l->type != AX_L_LRN) {
        st = parse_size2(ctx, key, val, &l->kh, &l->kw);
        *seen_k = 1;
    } else if (!strcmp(key, "kh")) { st = parse_int(ctx, key, val, 1, 1024, &l->kh); *seen_k = 1; }
    else if (!strcmp(key, "kw")) { st = parse_int(ctx, key, val, 1, 1024, &l->kw); *seen_k = 1; }
    else if (!strcmp(key, "s")) st = parse_size2(ctx, key, val, &l->sh, &l->sw);
    else if (!strcmp(key, "sh")) st = parse_int(ctx, key, val, 1, 1024, &l->sh);
    else if (!strcmp(key, "sw")) st = parse_int(ctx, key, val, 1, 1024, &l->sw);
    else if (!strcmp(key, "pad")) st = parse_pad(ctx, val, l);
    else if (!strcmp(key, "groups")) st = parse_int(ctx, key, val, 1, 1 << 16, &l->groups);
    else if (!strcmp(key, "bias") && l->type != AX_L_LRN) {
        st = parse_int(ctx, key, val, 0, 1, &tmp);
        l->bias = tmp;
    } else if (!strcmp(key, "bn")) {
        if (!strcmp(val, "darknet")) l->darknet_bn = AX_BN_DARKNET;
        else if (!strcmp(val, "alexeyab")) l->darknet_bn = AX_BN_ALEXEYAB;
        else if (!strcmp(val, "none")) l->darknet_bn = AX_BN_NONE;
        else st = PFAIL(ctx, "bn=%s: expected darknet (pjreddie's batch_normalize=1), alexeyab (AlexeyAB's) "
                        "or none", val);
    } else if (!strcmp(key, "round")) {
        if (!strcmp(val, "ceil")) l->rounding = AX_ROUND_CEIL;
        else if (!strcmp(val, "floor")) l->rounding = AX_ROUND_FLOOR;
        else st = PFAIL(ctx, "round=%s: expected ceil or floor", val);
    } else if (!strcmp(key, "size") && l->type == AX_L_AVGPOOL) {
        st = parse_size2(ctx, key, val, &l->out_h, &l->out_w);
    } else if (!strcmp(key, "order")) {
        if (!strcmp(val, "chw")) l->order = AX_FLATTEN_CHW;
        else if (!strcmp(val, "hwc")) l->order = AX_FLATTEN_HWC;
        else st = PFAIL(ctx, "order=%s: expected chw or hwc", val);
    } else if (!strcmp(key, "p")) {
        st = parse_float(ctx, key, val, &l->p);
        if (!st && (l->p < 0 || l->p >= 1)) st = PFAIL(ctx, "p=%s: expected 0 <= p < 1", val);
    } else if (!strcmp(key, "convention")) {
        if (!strcmp(val, "caffe") || !strcmp(val, "pytorch")) l->lrn_convention = AX_LRN_CAFFE;
        else if (!strcmp(val, "tf") || !strcmp(val, "tensorflow")) l->lrn_convention = AX_LRN_TF;
        else if (!strcmp(val, "darknet")) l->lrn_convention = AX_LRN_DARKNET;
        else st = PFAIL(ctx, "convention=%s: expected caffe, tf or darknet", val);
        *lrn_flags |= 1;
    } else if (!strcmp(key, "size")) {
        st = parse_int(ctx, key, val, 1, 1023, &l->lrn_size);
        *lrn_flags |= 2;
    } else if (!strcmp(key, "depth_radius")) {
        st = parse_int(ctx, key, val, 0, 511, &tmp);
        if (!st) l->lrn_size = 2 * tmp + 1;   /* tmp is unset when the parse failed */
        *lrn_flags |= 4;
    } else if (!strcmp(key, "alpha")) st = parse_float_in(ctx, key, val, 0, 0, 1e6, &l->lrn_alpha);
    else if (!strcmp(key, "beta")) st = parse_float_in(ctx, key, val, 0, 0, 100, &l->lrn_beta);
    else if (!strcmp(key, "k") || !strcmp(key, "bias") || !strcmp(key, "kappa"))
        st = parse_float_in(ctx, key, val, 0, 1, 1e6, &l->lrn_k);   /* 0 divides zeros by zero */
    return st;
}

static void layer_defaults(ax_layer_spec *l)
{
    l->kh = l->kw = 0;
    l->sh = l->sw = 1;
    l->groups = 1;
    l->bias = 1;
    l->pad_mode = AX_PAD_EXPLICIT;
    l->rounding = AX_ROUND_FLOOR;
    l->order = AX_FLATTEN_CHW;
    l->lrn_convention = AX_LRN_CAFFE;
    l->lrn_size = 5;
    l->lrn_alpha = 1e-4f;
    l->lrn_beta = 0.75f;
    l->lrn_k = 1.0f;
}

static ax_status check_layer(const parse_ctx *ctx, ax_layer_spec *l, int seen_k, int lrn_flags)
{
    switch (l->type) {
    case AX_L_CONV:
        if (!l->out_c) return PFAIL(ctx, "conv '%s' needs out=N (number of filters)", l->name);
        if (!seen_k) return PFAIL(ctx, "conv '%s' needs k=N (kernel size)", l->name);
        if (l->out_c % l->groups)
            return PFAIL(ctx, "conv '%s': out=%d is not divisible by groups=%d", l->name, l->out_c, l->groups);
        break;
    case AX_L_MAXPOOL:
        if (!seen_k) return PFAIL(ctx, "maxpool '%s' needs k=N (window size)", l->name);
        break;
    case AX_L_AVGPOOL:
        if (!l->out_h) return PFAIL(ctx, "avgpool '%s' needs size=HxW (output size)", l->name);
        break;
    case AX_L_FC:
        if (!l->out_c) return PFAIL(ctx, "fc '%s' needs out=N (number of outputs)", l->name);
        break;
    case AX_L_LRN:
        if ((lrn_flags & 6) == 6)
            return PFAIL(ctx, "lrn '%s': give size= or depth_radius=, not both", l->name);
        if (l->lrn_convention == AX_LRN_TF && (lrn_flags & 2))
            return PFAIL(ctx, "lrn '%s': the tf convention takes depth_radius=, not size=", l->name);
        if (l->lrn_convention != AX_LRN_TF && (lrn_flags & 4))
            return PFAIL(ctx, "lrn '%s': depth_radius= belongs to convention=tf", l->name);
        if (l->lrn_size % 2 == 0)
            return PFAIL(ctx, "lrn '%s': size=%d must be odd (a window centred on the channel)",
                         l->name, l->lrn_size);
        break;
    default:
        break;
    }
    return AX_OK;
}

static ax_status parse_preprocess(const parse_ctx *ctx, ax_preprocess *p, char *rest)
{
    for (char *save = NULL, *tok = strtok_r(rest, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
        char *eq = strchr(tok, '=');
        if (!eq) return PFAIL(ctx, "preprocess: '%s' is not key=value", tok);
        *eq = 0;
        const char *key = tok, *val = eq + 1;
        ax_status st = AX_OK;
        if (!strcmp(key, "resize")) {
            if (!strcmp(val, "none")) p->resize_mode = AX_RESIZE_NONE;
            else {
                p->resize_mode = strchr(val, 'x') ? AX_RESIZE_EXACT : AX_RESIZE_SHORT;
                st = parse_size2(ctx, key, val, &p->resize_w, &p->resize_h);
                if (p->resize_mode == AX_RESIZE_EXACT) { int t = p->resize_w; p->resize_w = p->resize_h; p->resize_h = t; }
            }
        } else if (!strcmp(key, "crop")) {
            st = parse_size2(ctx, key, val, &p->crop_h, &p->crop_w);
        } else if (!strcmp(key, "order")) {
            if (!strcmp(val, "rgb")) p->bgr = 0;
            else if (!strcmp(val, "bgr")) p->bgr = 1;
            else st = PFAIL(ctx, "order=%s: expected rgb or bgr", val);
        } else if (!strcmp(key, "scale")) st = parse_float_in(ctx, key, val, 0, 1, 1e9, &p->scale);
        else if (!strcmp(key, "mean")) {
            st = parse_floats(ctx, key, val, p->mean, 3);
            for (int i = 0; !st && i < 3; i++)
                if (fabsf(p->mean[i]) > 1e6f) st = PFAIL(ctx, "mean=%s: expected -1e6..1e6 each", val);
        } else if (!strcmp(key, "std")) {
            st = parse_floats(ctx, key, val, p->std, 3);
            for (int i = 0; !st && i < 3; i++)
                if (!(fabsf(p->std[i]) >= 1e-6f && fabsf(p->std[i]) <= 1e6f))
                    st = PFAIL(ctx, "std=%s: a standard deviation of %g (expected 1e-6..1e6 each)", val,
                               (double)p->std[i]);
        } else st = PFAIL(ctx, "preprocess: unknown key '%s' (resize crop order scale mean std)", key);
        if (st) return st;
    }
    return AX_OK;
}

ax_status ax_spec_parse(ax_spec *spec, const char *text, const char *filename, ax_error *err)
{
    memset(spec, 0, sizeof *spec);
    snprintf(spec->path, sizeof spec->path, "%s", filename);
    spec->pre.resize_mode = AX_RESIZE_NONE;
    spec->pre.scale = 255.0f;
    for (int i = 0; i < 3; i++) spec->pre.std[i] = 1.0f;

    parse_ctx ctx = {filename, 0, err};
    int have_input = 0;
    const char *p = text;
    while (*p) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        ctx.line++;
        char line[1024];
        if (len >= sizeof line) return PFAIL(&ctx, "line longer than %zu characters", sizeof line - 1);
        memcpy(line, p, len);
        line[len] = 0;
        p += len + (eol ? 1 : 0);
        /* Names and words from here are printed and drawn: a control byte
         * (an escape sequence that sets the title or clears the screen) or
         * malformed UTF-8 has no business in a spec. */
        {
            char shown[4 * sizeof line + 1];
            if (len && line[len - 1] == '\r') line[--len] = 0;
            for (char *q = line; *q; q++)
                if (*q == '\t') *q = ' ';   /* both separate words */
            ax_text_clean(shown, sizeof shown, line, 0);
            if (strcmp(shown, line)) {
                char *ch = shown;
                while (*ch && strncmp(ch, "\\x", 2)) ch++;
                return PFAIL(&ctx, "a control character or a byte that is not UTF-8 (%.4s); a spec is plain text",
                             ch);
            }
        }

        char *hash = strchr(line, '#');
        if (hash) *hash = 0;
        char *save = NULL;
        char *word = strtok_r(line, " \t\r", &save);
        if (!word) continue;
        char *rest = save ? save : "";
        while (*rest == ' ' || *rest == '\t') rest++;

        if (!strcmp(word, "name")) {
            char *v = strtok_r(NULL, " \t\r", &save);
            if (!v) return PFAIL(&ctx, "name: expected a name");
            snprintf(spec->name, sizeof spec->name, "%s", v);
        } else if (!strcmp(word, "description")) {
            size_t n = strlen(rest);
            while (n && (rest[n - 1] == '\r' || rest[n - 1] == ' ')) rest[--n] = 0;
            snprintf(spec->description, sizeof spec->description, "%s", rest);
        } else if (!strcmp(word, "labels")) {
            char *v = strtok_r(NULL, " \t\r", &save);
            if (!v) return PFAIL(&ctx, "labels: expected a file name");
            snprintf(spec->labels, sizeof spec->labels, "%s", v);
        } else if (!strcmp(word, "input")) {
            int v[3];
            for (int i = 0; i < 3; i++) {
                char *t = strtok_r(NULL, " \t\r", &save);
                if (!t) return PFAIL(&ctx, "input: expected C H W (e.g. input 3 227 227)");
                ax_status st = parse_int(&ctx, "input", t, 1, 1 << 16, &v[i]);
                if (st) return st;
            }
            spec->in_c = v[0]; spec->in_h = v[1]; spec->in_w = v[2];
            have_input = 1;
        } else if (!strcmp(word, "preprocess")) {
            ax_status st = parse_preprocess(&ctx, &spec->pre, rest);
            if (st) return st;
        } else {
            int t;
            for (t = 0; t < AX_L_COUNT; t++)
                if (!strcmp(word, ax_layer_type_name((ax_layer_type)t))) break;
            if (t == AX_L_COUNT) {
                char kinds[256] = "";
                for (int k = 0; k < AX_L_COUNT; k++)
                    snprintf(kinds + strlen(kinds), sizeof kinds - strlen(kinds), " %s",
                             ax_layer_type_name((ax_layer_type)k));
                return PFAIL(&ctx, "unknown word '%s' (expected name, description, input, preprocess, "
                             "labels or a layer type:%s)", word, kinds);
            }
            if (spec->nlayers == AX_MAX_LAYERS) return PFAIL(&ctx, "more than %d layers", AX_MAX_LAYERS);
            ax_layer_spec *l = &spec->layers[spec->nlayers];
            memset(l, 0, sizeof *l);
            layer_defaults(l);
            l->type = (ax_layer_type)t;
            l->line = ctx.line;
            char *lname = strtok_r(NULL, " \t\r", &save);
            if (!lname || strchr(lname, '='))
                return PFAIL(&ctx, "%s: expected a layer name after the type", word);
            if (strlen(lname) >= AX_NAME_MAX) return PFAIL(&ctx, "layer name '%s' is too long", lname);
            snprintf(l->name, sizeof l->name, "%s", lname);
            for (int i = 0; i < spec->nlayers; i++)
                if (!strcmp(spec->layers[i].name, lname))
                    return PFAIL(&ctx, "layer name '%s' is used twice (first on line %d)", lname,
                                 spec->layers[i].line);
            int seen_k = 0, lrn_flags = 0;
            for (char *tok; (tok = strtok_r(NULL, " \t\r", &save));) {
                char *eq = strchr(tok, '=');
                if (!eq || eq == tok || !eq[1]) return PFAIL(&ctx, "layer '%s': '%s' is not key=value", lname, tok);
                *eq = 0;
                ax_status st = parse_layer_kv(&ctx, l, tok, eq + 1, &seen_k, &lrn_flags);
                if (st) return st;
            }
            ax_status st = check_layer(&ctx, l, seen_k, lrn_flags);
            if (st) return st;
            spec->nlayers++;
        }
    }
    ctx.line = 0;
    if (!have_input) return ax_fail(err, AX_ERR_SPEC, "%s: no 'input C H W' line", filename);
    if (!spec->nlayers) return ax_fail(err, AX_ERR_SPEC, "%s: no layers", filename);
    if (!spec->name[0]) {
        const char *base = strrchr(filename, '/');
        base = base ? base + 1 : filename;
        snprintf(spec->name, sizeof spec->name, "%.*s", (int)strcspn(base, "."), base);
    }
    if (!spec->pre.crop_w) {
        spec->pre.crop_w = spec->in_w;
        spec->pre.crop_h = spec->in_h;
    }
    return AX_OK;
}

/* ---- finding specs ------------------------------------------------------ */

static const char *const builtin_names[] = {"caffe", "torchvision", "tf-bench", "keras-half", "darknet"};

int ax_spec_builtin_names(const char **names, int max)
{
    int n = (int)(sizeof builtin_names / sizeof *builtin_names);
    for (int i = 0; i < n && i < max; i++) names[i] = builtin_names[i];
    return n;
}

/* A model file that describes its own net (a registry row with spec_text,
 * as .onnx): 1 with *st set when path is one, its spec parsed from the
 * printed text and weights_path set to the file; 0 when it is none. */
static int spec_from_model(ax_spec *spec, const char *path, ax_status *st, ax_error *err)
{
    unsigned char head[64];
    struct stat sb;
    /* only a regular file is looked into: a FIFO would block the open */
    if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode)) return 0;
    FILE *fp = fopen(path, "rb");
    if (!fp) return 0;
    size_t got = fread(head, 1, sizeof head, fp);
    fclose(fp);
    const ax_wformat *w = ax_wformat_sniff(head, got);
    if (!w || !w->spec_text) return 0;
    char *text = NULL;
    size_t n = 0;
    FILE *out = open_memstream(&text, &n);
    if (!out) {
        *st = ax_fail(err, AX_ERR_NOMEM, "%s: out of memory", path);
        return 1;
    }
    *st = w->spec_text(path, out, err);
    if (fclose(out) && !*st) *st = ax_fail(err, AX_ERR_NOMEM, "%s: out of memory", path);
    if (!*st) *st = ax_spec_parse(spec, text ? text : "", path, err);
    free(text);
    if (!*st) snprintf(spec->weights_path, sizeof spec->weights_path, "%s", path);
    return 1;
}

ax_status ax_spec_load(ax_spec *spec, const char *name_or_path, ax_error *err)
{
    char path[AX_PATH_MAX];
    size_t len = strlen(name_or_path);
    struct stat ps;
    int is_path = strchr(name_or_path, '/') || (len > 4 && !strcmp(name_or_path + len - 4, ".net")) ||
                  (strchr(name_or_path, '.') && stat(name_or_path, &ps) == 0);
    if (is_path) snprintf(path, sizeof path, "%s", name_or_path);
    else snprintf(path, sizeof path, "%.900s/%.100s.net", ax_data_dir(), name_or_path);

    struct stat sb;
    if (!is_path && stat(path, &sb) != 0) {
        int e = errno;
        char list[256] = "";
        int builtin = 0;
        for (size_t i = 0; i < sizeof builtin_names / sizeof *builtin_names; i++) {
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "", builtin_names[i]);
            builtin |= !strcmp(name_or_path, builtin_names[i]);
        }
        if (builtin)
            return ax_fail(err, AX_ERR_SPEC, "model '%s' is built in, but its spec %s cannot be read: %s (the data "
                           "folder is incomplete; set ALEXSCOPE_DATA to the folder that holds %s.net)",
                           name_or_path, path, strerror(e), name_or_path);
        return ax_fail(err, AX_ERR_SPEC, "unknown model '%s': there is no %s (the built-in models are %s; "
                       "or give a .net file)", name_or_path, path, list);
    }
    if (is_path && !(len > 4 && !strcmp(name_or_path + len - 4, ".net"))) {
        ax_status mst;
        if (spec_from_model(spec, path, &mst, err)) return mst;
    }
    char *text = NULL;
    size_t n = 0;
    ax_status rst = ax_file_slurp(path, "net spec", AX_SPEC_MAX_BYTES, &text, &n, err);
    if (rst) return rst;
    text[n] = 0;
    if (memchr(text, 0, n)) { free(text); return ax_fail(err, AX_ERR_SPEC, "%s: not a text file (NUL byte)", path); }
    ax_status st = ax_spec_parse(spec, text, path, err);
    free(text);
    return st;
}
