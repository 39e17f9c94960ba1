/* The model summary from a spec alone (no weights, no image): per layer the
 * output shape, parameters, FLOPs, receptive field and activation memory,
 * as a table, as JSON, and as an ASCII diagram with the two towers of the
 * grouped layers side by side. Also the receptive fields themselves. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alexscope/layer_kind.h"
#include "alexscope/teach.h"

/* ---- receptive fields ----------------------------------------------------- */

/* One axis: size, jump and first input cell of output cell 0, through a window
 * op of kernel k, stride s and leading padding p. */
static void rf_window(int *size, int *jump, int *first, int k, int s, int p)
{
    *size += (k - 1) * *jump;
    *first -= p * *jump;
    *jump *= s;
}

void ax_receptive_fields(const ax_layer *layers, int nlayers, int in_h, int in_w, ax_rfield *rf)
{
    ax_rfield cur = {1, 1, 1, 1, 0, 0, 0};
    for (int i = 0; i < nlayers; i++) {
        const ax_layer *L = &layers[i];
        const ax_layer_kind *k = ax_layer_kind_of(L->spec.type);
        ax_rf_step st = { 0, 1, 1, 1, 1, 0, 0 };
        if (!cur.global && k && k->rf_step) k->rf_step(L, &st);
        if (!cur.global && st.global) {
            cur.global = 1;
            cur.size_h = in_h; cur.size_w = in_w;
            cur.jump_h = in_h; cur.jump_w = in_w;
            cur.first_h = cur.first_w = 0;
        } else if (!cur.global) {
            rf_window(&cur.size_h, &cur.jump_h, &cur.first_h, st.kh, st.sh, st.ph);
            rf_window(&cur.size_w, &cur.jump_w, &cur.first_w, st.kw, st.sw, st.pw);
        }
        rf[i] = cur;
    }
}

void ax_rfield_box(const ax_rfield *rf, int y, int x, int in_h, int in_w, int *y0, int *x0, int *y1, int *x1)
{
    int a = rf->global ? 0 : rf->first_h + y * rf->jump_h, b = rf->global ? 0 : rf->first_w + x * rf->jump_w;
    int c = rf->global ? in_h - 1 : a + rf->size_h - 1, d = rf->global ? in_w - 1 : b + rf->size_w - 1;
    *y0 = a < 0 ? 0 : a; *x0 = b < 0 ? 0 : b;
    *y1 = c >= in_h ? in_h - 1 : c; *x1 = d >= in_w ? in_w - 1 : d;
}

/* ---- building ------------------------------------------------------------ */

/* The detail column, as the layer's kind words it. */
static void detail(char *buf, size_t size, const ax_layer *L)
{
    const ax_layer_kind *k = ax_layer_kind_of(L->spec.type);
    if (k && k->detail) k->detail(buf, size, L);
    else if (size) buf[0] = 0;
}

ax_status ax_summary_build(ax_summary *s, const ax_spec *spec, ax_error *err)
{
    memset(s, 0, sizeof *s);
    ax_layer *layers = calloc((size_t)spec->nlayers + 1, sizeof *layers);
    ax_rfield *rf = calloc((size_t)spec->nlayers + 1, sizeof *rf);
    if (!layers || !rf) {
        free(layers); free(rf);
        return ax_fail(err, AX_ERR_NOMEM, "out of memory summarising the %s model", spec->name);
    }
    ax_status st = ax_spec_resolve(spec, layers, err);
    if (st) { free(layers); free(rf); return st; }
    ax_receptive_fields(layers, spec->nlayers, spec->in_h, spec->in_w, rf);
    snprintf(s->model, sizeof s->model, "%s", spec->name);
    s->in_c = spec->in_c; s->in_h = spec->in_h; s->in_w = spec->in_w;
    s->nrows = spec->nlayers;
    for (int i = 0; i < spec->nlayers; i++) {
        const ax_layer *L = &layers[i];
        ax_summary_row *r = &s->rows[i];
        snprintf(r->name, sizeof r->name, "%s", L->spec.name);
        r->type = L->spec.type;
        r->ndim = L->out.ndim;
        memcpy(r->shape, L->out.shape, sizeof r->shape);
        r->params = L->params;
        r->flops = L->flops;
        r->rf = rf[i];
        r->act_bytes = ax_tensor_numel(&L->out) * sizeof(float);
        r->groups = L->spec.type == AX_L_CONV ? L->spec.groups : 1;
        r->params_ungrouped = r->params;
        r->flops_ungrouped = r->flops;
        if (r->groups > 1) {
            size_t taps = (size_t)L->spec.kh * L->spec.kw;
            r->params_ungrouped = (size_t)L->spec.out_c * L->in_c * taps + (L->spec.bias ? (size_t)L->spec.out_c : 0);
            r->flops_ungrouped = r->flops * r->groups;
        }
        detail(r->detail, sizeof r->detail, L);
        s->params += r->params;
        s->flops += r->flops;
        s->act_bytes += r->act_bytes;
    }
    free(layers);
    free(rf);
    return AX_OK;
}

/* ---- text output ---------------------------------------------------------- */

typedef struct { char *buf; size_t size, len; } outbuf;

static void out(outbuf *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void out(outbuf *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t room = o->len < o->size ? o->size - o->len : 0;
    int n = vsnprintf(room ? o->buf + o->len : NULL, room, fmt, ap);
    va_end(ap);
    if (n > 0) o->len += (size_t)n;
}

static char *shape_text(char *buf, size_t size, const ax_summary_row *r)
{
    if (r->ndim == 4) snprintf(buf, size, "%dx%dx%d", r->shape[1], r->shape[2], r->shape[3]);
    else snprintf(buf, size, "%d", r->shape[1]);
    return buf;
}

/* 60965224 -> "60,965,224" */
static char *grouped(char *buf, size_t size, double v)
{
    char digits[40];
    snprintf(digits, sizeof digits, "%.0f", v);
    size_t n = strlen(digits), j = 0;
    for (size_t i = 0; i < n && j + 2 < size; i++) {
        if (i && (n - i) % 3 == 0) buf[j++] = ',';
        buf[j++] = digits[i];
    }
    buf[j] = 0;
    return buf;
}

static char *mem_text(char *buf, size_t size, double bytes)
{
    if (bytes >= 1 << 20) snprintf(buf, size, "%.2f MiB", bytes / (1 << 20));
    else snprintf(buf, size, "%.1f KiB", bytes / 1024);
    return buf;
}

static char *rf_text(char *buf, size_t size, const ax_rfield *rf)
{
    if (rf->global) snprintf(buf, size, "all");
    else if (rf->size_h == rf->size_w && rf->jump_h == rf->jump_w) snprintf(buf, size, "%d/%d", rf->size_h, rf->jump_h);
    else snprintf(buf, size, "%dx%d/%dx%d", rf->size_h, rf->size_w, rf->jump_h, rf->jump_w);
    return buf;
}

size_t ax_summary_table(const ax_summary *s, char *buf, size_t size)
{
    outbuf o = {buf, size, 0};
    if (size) buf[0] = 0;
    char a[48], b[48], c[48], d[48], e[48];
    out(&o, "%s: input %dx%dx%d\n", s->model, s->in_c, s->in_h, s->in_w);
    out(&o, "%-3s %-14s %-8s %-27s %-12s %13s %14s %9s %10s\n", "#", "layer", "type", "detail", "output", "params",
        "FLOPs", "RF/jump", "act.mem");
    for (int i = 0; i < s->nrows; i++) {
        const ax_summary_row *r = &s->rows[i];
        out(&o, "%-3d %-14.14s %-8s %-27.27s %-12s %13s %14s %9s %10s\n", i, r->name, ax_layer_type_name(r->type),
            r->detail, shape_text(a, sizeof a, r), grouped(b, sizeof b, (double)r->params),
            grouped(c, sizeof c, r->flops), rf_text(d, sizeof d, &r->rf), mem_text(e, sizeof e, (double)r->act_bytes));
    }
    /* two lines, so that the table stays within 120 columns */
    out(&o, "total: %s parameters (%s as float32), %s of activations per image\n",
        grouped(a, sizeof a, (double)s->params), mem_text(b, sizeof b, (double)s->params * 4),
        mem_text(d, sizeof d, (double)s->act_bytes));
    out(&o, "       %s FLOPs (%.3f GFLOPs) per image\n", grouped(c, sizeof c, s->flops), s->flops * 1e-9);
    for (int i = 0; i < s->nrows; i++) {
        const ax_summary_row *r = &s->rows[i];
        if (r->groups < 2) continue;
        out(&o, "grouping saves %s parameters and %s FLOPs in %s (groups=%d: %s vs %s ungrouped)\n",
            grouped(a, sizeof a, (double)(r->params_ungrouped - r->params)),
            grouped(b, sizeof b, r->flops_ungrouped - r->flops), r->name, r->groups,
            grouped(c, sizeof c, (double)r->params), grouped(d, sizeof d, (double)r->params_ungrouped));
    }
    return o.len;
}

/* 210830400 -> "210.8M", 34944 -> "34.9k", 0 -> "0" */
static char *short_count(char *buf, size_t size, double v)
{
    if (v >= 1e9) snprintf(buf, size, "%.1fG", v / 1e9);
    else if (v >= 1e6) snprintf(buf, size, "%.1fM", v / 1e6);
    else if (v >= 1e3) snprintf(buf, size, "%.1fk", v / 1e3);
    else snprintf(buf, size, "%.0f", v);
    return buf;
}

/* The table's columns for a narrow pane, in the order they give way: the
 * numbers are abbreviated first (210.8M for 210,830,400), then the columns
 * are dropped, the detail first, then RF/jump, the type, act.mem. */
enum { T_IDX, T_NAME, T_TYPE, T_DETAIL, T_OUT, T_PARAMS, T_FLOPS, T_RF, T_MEM, T_COLS };
static const int drop_order[] = {T_DETAIL, T_RF, T_TYPE, T_MEM};

size_t ax_summary_table_fit(const ax_summary *s, char *buf, size_t size, int width, char *left_out, size_t lsize)
{
    if (left_out && lsize) left_out[0] = 0;
    if (width <= 0) return ax_summary_table(s, buf, size);
    int full = 3 + 1 + 14 + 1 + 8 + 1 + 27 + 1 + 12 + 1 + 13 + 1 + 14 + 1 + 9 + 1 + 10;
    if (full <= width) return ax_summary_table(s, buf, size);
    int nw = 5;
    for (int i = 0; i < s->nrows; i++) {
        int l = (int)strlen(s->rows[i].name);
        if (l > nw) nw = l;
    }
    if (nw > 14) nw = 14;
    int w[T_COLS] = {3, nw, 7, 20, 11, 7, 7, 8, 9}, on[T_COLS];
    for (int k = 0; k < T_COLS; k++) on[k] = 1;
    int total = 0;
    for (int k = 0; k < T_COLS; k++) total += w[k] + 1;
    static const char *const names[T_COLS] = {"#", "layer", "type", "detail", "output", "params", "FLOPs", "RF/jump",
                                              "act.mem"};
    for (size_t d = 0; d < sizeof drop_order / sizeof *drop_order && total - 1 > width; d++) {
        on[drop_order[d]] = 0;
        total -= w[drop_order[d]] + 1;
        if (left_out && lsize)
            snprintf(left_out + strlen(left_out), lsize - strlen(left_out), "%s%s", left_out[0] ? ", " : "",
                     names[drop_order[d]]);
    }
    outbuf o = {buf, size, 0};
    if (size) buf[0] = 0;
    out(&o, "%s: input %dx%dx%d\n", s->model, s->in_c, s->in_h, s->in_w);
    char f[T_COLS][48];
    for (int row = -1; row < s->nrows; row++) {
        if (row < 0) {
            for (int k = 0; k < T_COLS; k++) snprintf(f[k], sizeof f[k], "%s", names[k]);
        } else {
            const ax_summary_row *r = &s->rows[row];
            snprintf(f[T_IDX], sizeof f[0], "%d", row);
            snprintf(f[T_NAME], sizeof f[0], "%.*s", nw, r->name);
            snprintf(f[T_TYPE], sizeof f[0], "%.7s", ax_layer_type_name(r->type));
            snprintf(f[T_DETAIL], sizeof f[0], "%.20s", r->detail);
            shape_text(f[T_OUT], sizeof f[0], r);
            short_count(f[T_PARAMS], sizeof f[0], (double)r->params);
            short_count(f[T_FLOPS], sizeof f[0], r->flops);
            rf_text(f[T_RF], sizeof f[0], &r->rf);
            mem_text(f[T_MEM], sizeof f[0], (double)r->act_bytes);
        }
        int first = 1;
        for (int k = 0; k < T_COLS; k++) {
            if (!on[k]) continue;
            int right = k >= T_PARAMS;   /* numbers line up on the right */
            out(&o, right ? "%s%*.*s" : "%s%-*.*s", first ? "" : " ", w[k], w[k], f[k]);
            first = 0;
        }
        out(&o, "\n");
    }
    /* the totals in full where they fit, abbreviated where not */
    char line[256];
    snprintf(line, sizeof line, "total: %s parameters, %s FLOPs per image", grouped(f[0], sizeof f[0],
             (double)s->params), grouped(f[1], sizeof f[1], s->flops));
    if ((int)strlen(line) > width)
        snprintf(line, sizeof line, "total: %s parameters, %s FLOPs per image", short_count(f[0], sizeof f[0],
                 (double)s->params), short_count(f[1], sizeof f[1], s->flops));
    out(&o, "%s\n", line);
    for (int i = 0; i < s->nrows; i++) {
        const ax_summary_row *r = &s->rows[i];
        if (r->groups < 2) continue;
        snprintf(line, sizeof line, "grouping saves %s parameters and %s FLOPs in %s", grouped(f[0], sizeof f[0],
                 (double)(r->params_ungrouped - r->params)), grouped(f[1], sizeof f[1], r->flops_ungrouped - r->flops),
                 r->name);
        if ((int)strlen(line) > width)
            snprintf(line, sizeof line, "%s grouped: -%s params, -%s FLOPs", r->name, short_count(f[0], sizeof f[0],
                     (double)(r->params_ungrouped - r->params)), short_count(f[1], sizeof f[1],
                     r->flops_ungrouped - r->flops));
        out(&o, "%s\n", line);
    }
    return o.len;
}

/* ---- diagram --------------------------------------------------------------- */

#define DIAGRAM_W 66
#define HALF_W 31

/* One diagram line is built in `ln`, then written without trailing blanks. */
typedef struct { char s[256]; int len; } dline;

static void put(dline *l, const char *text, int width)
{
    int n = (int)strlen(text);
    if (n > width) n = width;
    int left = (width - n) / 2;
    if (l->len + width >= (int)sizeof l->s) return;
    l->len += snprintf(l->s + l->len, sizeof l->s - (size_t)l->len, "%*s%.*s%*s", left, "", n, text, width - n - left, "");
}

static void box(dline *l, const char *text, int width)
{
    char t[200];
    snprintf(t, sizeof t, "|%*s|", width - 2, "");
    int n = (int)strlen(text);
    if (n > width - 4) n = width - 4;
    memcpy(t + 1 + (width - 2 - n) / 2, text, (size_t)n);
    put(l, t, width);
}

static void rule(dline *l, int width)
{
    char t[200];
    memset(t, '-', (size_t)width);
    t[0] = t[width - 1] = '+';
    t[width] = 0;
    put(l, t, width);
}

static void emit(outbuf *o, dline *l)
{
    while (l->len > 0 && l->s[l->len - 1] == ' ') l->len--;
    out(o, "%.*s\n", l->len, l->s);
    l->len = 0;
}

static int elementwise(ax_layer_type t)
{
    const ax_layer_kind *k = ax_layer_kind_of(t);
    return k && k->elementwise;
}

/* Two-tower rows: a conv with groups=2, with the ReLU or dropout right after it. */
static int grouped2(const ax_summary_row *r)
{
    return r->type == AX_L_CONV && r->groups == 2;
}

size_t ax_summary_diagram(const ax_summary *s, char *buf, size_t size)
{
    outbuf o = {buf, size, 0};
    if (size) buf[0] = 0;
    dline l = {{0}, 0};
    char text[160], shp[48];
    const int gap = DIAGRAM_W - 2 * HALF_W;
    snprintf(text, sizeof text, "input %dx%dx%d", s->in_c, s->in_h, s->in_w);
    put(&l, text, DIAGRAM_W);
    emit(&o, &l);
    int prev_split = 0;
    for (int i = 0; i < s->nrows;) {
        const ax_summary_row *r = &s->rows[i];
        int sp = grouped2(r);
        /* the block: this layer and the elementwise ones after it (an LRN
         * mixes channels across the towers, so it ends a two-tower block) */
        int end = i + 1;
        while (end < s->nrows && elementwise(s->rows[end].type) && !(sp && s->rows[end].type == AX_L_LRN)) end++;
        char after[120] = "";
        for (int j = i + 1; j < end; j++)
            snprintf(after + strlen(after), sizeof after - strlen(after), "%s%s", j > i + 1 ? ", " : "+ ",
                     s->rows[j].name);
        if (!prev_split && !sp) put(&l, "|", DIAGRAM_W);
        else if (!prev_split) put(&l, "/                              \\", DIAGRAM_W);
        else if (!sp) put(&l, "\\                              /", DIAGRAM_W);
        else { put(&l, "|", HALF_W); put(&l, "", gap); put(&l, "|", HALF_W); }
        emit(&o, &l);
        shape_text(shp, sizeof shp, &s->rows[end - 1]);
        if (!sp) {
            rule(&l, DIAGRAM_W); emit(&o, &l);
            snprintf(text, sizeof text, "%s  %s %s -> %s", r->name, ax_layer_type_name(r->type), r->detail, shp);
            box(&l, text, DIAGRAM_W); emit(&o, &l);
            if (after[0]) { box(&l, after, DIAGRAM_W); emit(&o, &l); }
            rule(&l, DIAGRAM_W); emit(&o, &l);
        } else {
            int oc = r->shape[1] / 2, ic = 0;
            char t[2][96];
            rule(&l, HALF_W); put(&l, "", gap); rule(&l, HALF_W); emit(&o, &l);
            for (int g = 0; g < 2; g++)
                snprintf(t[g], sizeof t[g], "%s tower %d: %d..%d", r->name, g, g * oc, g * oc + oc - 1);
            box(&l, t[0], HALF_W); put(&l, "", gap); box(&l, t[1], HALF_W); emit(&o, &l);
            if (i > 0) ic = s->rows[i - 1].ndim == 4 ? s->rows[i - 1].shape[1] / 2 : 0;
            else ic = s->in_c / 2;
            for (int g = 0; g < 2; g++)
                snprintf(t[g], sizeof t[g], "reads in %d..%d", g * ic, g * ic + ic - 1);
            box(&l, t[0], HALF_W); put(&l, "", gap); box(&l, t[1], HALF_W); emit(&o, &l);
            snprintf(t[0], sizeof t[0], "k%d -> %dx%dx%d", atoi(strchr(r->detail, 'k') ?
                     strchr(r->detail, 'k') + 1 : "0"), oc, r->shape[2], r->shape[3]);
            box(&l, t[0], HALF_W); put(&l, "", gap); box(&l, t[0], HALF_W); emit(&o, &l);
            if (after[0]) { box(&l, after, HALF_W); put(&l, "", gap); box(&l, after, HALF_W); emit(&o, &l); }
            rule(&l, HALF_W); put(&l, "", gap); rule(&l, HALF_W); emit(&o, &l);
        }
        prev_split = sp;
        i = end;
    }
    return o.len;
}

/* ---- JSON ------------------------------------------------------------------ */

/* A JSON string body: quotes, backslashes and control bytes escaped. */
static const char *json_str(char *buf, size_t size, const char *text)
{
    size_t j = 0;
    for (const unsigned char *p = (const unsigned char *)text; *p && j + 7 < size; p++) {
        if (*p == '"' || *p == '\\') { buf[j++] = '\\'; buf[j++] = (char)*p; }
        else if (*p < 0x20) j += (size_t)snprintf(buf + j, size - j, "\\u%04x", *p);
        else buf[j++] = (char)*p;
    }
    buf[j] = 0;
    return buf;
}

size_t ax_summary_json(const ax_summary *s, char *buf, size_t size)
{
    outbuf o = {buf, size, 0};
    if (size) buf[0] = 0;
    char e1[6 * AX_NAME_MAX + 8], e2[6 * 64 + 8];
    out(&o, "{\"model\": \"%s\", \"input\": [%d, %d, %d], \"layers\": [\n", json_str(e1, sizeof e1, s->model),
        s->in_c, s->in_h, s->in_w);
    for (int i = 0; i < s->nrows; i++) {
        const ax_summary_row *r = &s->rows[i];
        out(&o, "  {\"name\": \"%s\", \"type\": \"%s\", \"detail\": \"%s\", \"output\": [", json_str(e1, sizeof e1, r->name),
            ax_layer_type_name(r->type), json_str(e2, sizeof e2, r->detail));
        for (int d = 1; d < r->ndim; d++) out(&o, "%s%d", d > 1 ? ", " : "", r->shape[d]);
        out(&o, "], \"params\": %zu, \"flops\": %.0f, \"rf_size\": [%d, %d], \"rf_jump\": [%d, %d], "
            "\"rf_global\": %s, \"activation_bytes\": %zu, \"groups\": %d",
            r->params, r->flops, r->rf.size_h, r->rf.size_w, r->rf.jump_h, r->rf.jump_w,
            r->rf.global ? "true" : "false", r->act_bytes, r->groups);
        if (r->groups > 1)
            out(&o, ", \"params_ungrouped\": %zu, \"flops_ungrouped\": %.0f", r->params_ungrouped, r->flops_ungrouped);
        out(&o, "}%s\n", i + 1 < s->nrows ? "," : "");
    }
    out(&o, "], \"total\": {\"params\": %zu, \"flops\": %.0f, \"activation_bytes\": %zu}}\n", s->params, s->flops,
        s->act_bytes);
    return o.len;
}
