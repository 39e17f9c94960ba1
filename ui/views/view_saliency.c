/* View 0, Saliency: |d logit / d input| of the chosen class as a heatmap over
 * the input (max over the channels, or one channel), beside the picture the
 * net sees. The gradient comes from ui/gradmode.c (the backward pass on the
 * worker), the maps from ax_saliency_map (src/saliency.c). */
#include "modes/gradmode.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alexscope/grad.h"
#include "alexscope/saliency.h"

typedef struct {
    int ch;          /* -1: max over channels, else that input channel */
    int pct;         /* scale to the 99th percentile instead of the largest */
    int all;         /* the max map and each channel's side by side */
    int overlay;     /* the picture beside lit where the map is high */
    float *map, *chm, *sorted;
    size_t cap;
} saliency_state;

static saliency_state *state_of(const ax_ui *u) { return ax_ui_view_state(u, AX_V_SALIENCY); }

static void reset(ax_ui *u)
{
    saliency_state *S = state_of(u);
    S->ch = -1;
    S->pct = 0;
    S->all = 0;
    S->overlay = 0;
}

static void release(ax_ui *u)
{
    saliency_state *S = state_of(u);
    free(S->map);
    free(S->chm);
    free(S->sorted);
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* The logits of the image on show (NULL before the forward pass got there). */
static const float *logits(ax_ui *u, int *n, int *layer)
{
    int L = ax_grad_logit_layer(u->net);
    *layer = L;
    *n = ax_ui_channels(u, L);
    return ax_ui_data(u, L);
}

static int rank_of(const float *z, int n, int k)
{
    int r = 1;
    for (int i = 0; i < n; i++)
        if (z[i] > z[k] || (z[i] == z[k] && i < k)) r++;
    return r;
}

/* Normalisation undone for the picture: net channel c back to 0..255. */
static unsigned char pixel(const ax_preprocess *p, int c, float x)
{
    double s = p->scale > 0 ? p->scale : 255.0, v = ((double)x * p->std[c] + p->mean[c]) * 255.0 / s;
    return (unsigned char)(v < 0 ? 0 : v > 255 ? 255 : v + 0.5);
}

/* The input picture in rows x cols half-block cells (nearest pixel); with
 * a map (H, W), each pixel's brightness follows map / hi. */
static void picture(ax_ui *u, int y, int x, int rows, int cols, const float *img, int H, int W, const float *map,
                    float hi)
{
    const ax_preprocess *p = &u->net->spec.pre;
    size_t plane = (size_t)H * W;
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++) {
            unsigned char px[2][3];
            int xx = (int)(((long)c * W + W / 2) / cols);
            if (xx >= W) xx = W - 1;
            for (int half = 0; half < 2; half++) {
                int yy = (int)(((long)(2 * r + half) * H + H / 2) / (2 * rows));
                if (yy >= H) yy = H - 1;
                double lit = 1;
                if (map) {
                    lit = hi > 0 ? map[(size_t)yy * W + xx] / hi : 0;
                    lit = 0.1 + 0.9 * (lit > 1 ? 1 : lit);
                }
                for (int d = 0; d < 3; d++) {
                    int nc = p->bgr ? 2 - d : d;
                    px[half][d] = (unsigned char)(lit * pixel(p, nc, img[nc * plane + (size_t)yy * W + xx]));
                }
            }
            ax_ui_rgb_cell(u, y + r, x + c, px[0], px[1]);
        }
}

static const char *channel_name(const ax_ui *u, int c, int C, char *buf, size_t size)
{
    if (C == 3) snprintf(buf, size, "%c", (u->net->spec.pre.bgr ? "BGR" : "RGB")[c]);
    else snprintf(buf, size, "%d", c);
    return buf;
}

static void draw(ax_ui *u, ax_rect r)
{
    saliency_state *S = state_of(u);
    int N, C, H, W;
    ax_tensor_nchw(&u->net->input, &N, &C, &H, &W);
    const float *g = ax_ui_grad_data(u, -1);
    if (!g) {
        ax_ui_title(u, r, "Saliency", "|d logit / d input| %s %s", ax_ui_sym(u, AX_S_DOT),
                    ax_ui_grad_wanted(u) < 0 ? "top class" : "chosen class");
        ax_ui_grad_notice(u, r, r.y + 2, -1);
        return;
    }
    if (S->ch >= C) S->ch = C - 1;
    size_t hw = (size_t)H * W;
    if (S->cap < (size_t)C * hw) {
        free(S->map), free(S->chm), free(S->sorted);
        S->map = malloc(hw * sizeof *S->map);
        S->chm = malloc((size_t)C * hw * sizeof *S->chm);
        S->sorted = malloc(hw * sizeof *S->sorted);
        S->cap = S->map && S->chm && S->sorted ? (size_t)C * hw : 0;
        if (!S->cap) return;
    }
    ax_saliency_map(S->map, S->chm, g, C, H, W);
    const float *m = S->ch < 0 ? S->map : S->chm + (size_t)S->ch * hw;
    /* the largest value and where it is */
    size_t at = 0;
    double sum = 0;
    for (size_t i = 0; i < hw; i++) {
        if (m[i] > m[at]) at = i;
        sum += m[i];
    }
    float hi = m[at];
    if (S->pct) {
        memcpy(S->sorted, m, hw * sizeof *m);
        qsort(S->sorted, hw, sizeof *S->sorted, cmp_float);
        hi = S->sorted[(size_t)(0.99 * (double)(hw - 1))];
    }
    int k = ax_ui_grad_class(u);
    char mode[32], cn[16];
    if (S->all) snprintf(mode, sizeof mode, "max and each channel");
    else if (S->ch < 0) snprintf(mode, sizeof mode, "max over channels");
    else snprintf(mode, sizeof mode, "channel %s", channel_name(u, S->ch, C, cn, sizeof cn));
    ax_ui_title(u, r, "Saliency", "|%s| %s %s", ax_ui_grad_what(u, -1), ax_ui_sym(u, AX_S_DOT), mode);
    int x0 = r.x + 1, w = r.w - 2, y = r.y + 1;
    int nz, L;
    const float *z = logits(u, &nz, &L);
    if (z && k >= 0 && k < nz) {
        int last = u->net->nlayers - 1;
        const float *pr = u->net->layers[last].spec.type == AX_L_SOFTMAX ? ax_ui_data(u, last) : NULL;
        char a[32], b[32];
        if (pr)
            ax_ui_printf(u, y, x0, w, AX_R_ACCENT, "class %d: rank %d of %d, logit %s, probability %.2f %%", k,
                         rank_of(z, nz, k), nz, ax_ui_num(a, sizeof a, z[k]), 100.0 * pr[k]);
        else
            ax_ui_printf(u, y, x0, w, AX_R_ACCENT, "class %d: rank %d of %d, logit %s", k, rank_of(z, nz, k), nz,
                         ax_ui_num(b, sizeof b, z[k]));
    }
    y++;
    char a[32], b[32];
    ax_ui_printf(u, y++, x0, w, AX_R_NORMAL, "largest %s at (y %zu, x %zu), mean %s%s", ax_ui_num(a, sizeof a, m[at]),
                 at / (size_t)W, at % (size_t)W, ax_ui_num(b, sizeof b, sum / (double)hw),
                 S->pct ? ", scale to the 99th percentile" : "");
    int avail_r = r.y + r.h - y - 2, half = ax_ui_heat_on(u), rows, cols;
    float top = hi > 0 ? hi : 1.0f;
    if (S->all) {
        /* C + 1 maps in a row on one scale, each named above */
        int tw = (w - 2 * C) / (C + 1);
        ax_ui_fit(half, H, W, avail_r - 1, tw, &rows, &cols);
        for (int t = 0; t <= C; t++) {
            int tx = x0 + t * (cols + 2);
            const float *tm = t == 0 ? S->map : S->chm + (size_t)(t - 1) * hw;
            if (t == 0) ax_ui_put(u, y, tx, cols, AX_R_HEADER, "max");
            else ax_ui_printf(u, y, tx, cols, AX_R_HEADER, "channel %s", channel_name(u, t - 1, C, cn, sizeof cn));
            ax_ui_heat_map(u, y + 1, tx, rows, cols, tm, H, W, 0.0f, top);
        }
        ax_ui_legend(u, r.y + r.h - 1, x0, w, 0.0f, top);
        return;
    }
    /* map and picture side by side when both fit at half the width */
    int beside = C == 3 && u->colour && u->cube && half && w >= 60;
    ax_ui_fit(half, H, W, avail_r, beside ? (w - 2) / 2 : w, &rows, &cols);
    ax_ui_heat_map(u, y, x0, rows, cols, m, H, W, 0.0f, top);
    if (beside) picture(u, y, x0 + cols + 2, rows, cols, ax_ui_data(u, -1), H, W, S->overlay ? m : NULL, top);
    ax_ui_legend(u, r.y + r.h - 1, x0, w, 0.0f, top);
}

/* Class of rank `rank` (1 = top) among the logits of the image on show. */
static int class_at(ax_ui *u, int rank)
{
    int n, L;
    const float *z = logits(u, &n, &L);
    if (!z || rank < 1 || rank > n) return -1;
    int *idx = ax_ui_order(u, (size_t)rank);
    if (!idx || ax_topk(idx, rank, z, n) < rank) return -1;
    return idx[rank - 1];
}

static int key_channel(ax_ui *u, int k)
{
    saliency_state *S = state_of(u);
    int C = ax_ui_channels(u, -1);
    if (k == '[' && S->ch > -1) S->ch--;
    if (k == ']' && S->ch < C - 1) S->ch++;
    return 1;
}

static int key_toggle(ax_ui *u, int k)
{
    saliency_state *S = state_of(u);
    switch (k) {
    case 'p': S->pct = !S->pct; return 1;
    case 'c': S->all = !S->all; return 1;
    default:   /* o */
        S->overlay = !S->overlay;
        if (!u->colour || !u->cube) ax_ui_say(u, AX_R_DIM, "the picture needs colours (m)");
        return 1;
    }
}

static int key_top(ax_ui *u, int k)
{
    (void)k;
    ax_ui_saliency_open(u, -1);
    return 1;
}

/* { }: the class ranked one above / below the one on show. */
static int key_rank(ax_ui *u, int k)
{
    int n, L, cls = ax_ui_grad_class(u);
    const float *z = logits(u, &n, &L);
    if (!z || cls < 0 || cls >= n) {
        ax_ui_say(u, AX_R_DIM, "the classes appear once the logits are computed");
        return 1;
    }
    int rank = rank_of(z, n, cls) + (k == '}' ? 1 : -1);
    int next = class_at(u, rank);
    if (next < 0) ax_ui_say(u, AX_R_DIM, "no class ranked %d", rank);
    else ax_ui_saliency_open(u, rank == 1 ? -1 : next);
    return 1;
}

static const ax_key keys[] = {
    { .codes = { '[', ']' }, .keys = "[ ]", .what = "max over channels / one input channel", .fn = key_channel,
      .bar = "[ ] channel" },
    { .codes = { '{', '}' }, .keys = "{ }", .what = "the class ranked above / below", .fn = key_rank,
      .bar = "{ } class by rank" },
    { .codes = { 't' }, .keys = "t", .what = "back to the top class", .fn = key_top, .bar = "t top" },
    { .codes = { 'p' }, .keys = "p", .what = "scale: largest |g| / 99th percentile", .fn = key_toggle, .bar = "p scale" },
    { .codes = { 'c' }, .keys = "c", .what = "every channel's map side by side / one map", .fn = key_toggle,
      .bar = "c all channels" },
    { .codes = { 'o' }, .keys = "o", .what = "the picture lit by the map / plain", .fn = key_toggle, .bar = "o overlay" },
    { .codes = { 0 }, .keys = "Top-k Enter", .what = "explain the selected class here" },
    { .codes = { 0 }, .keys = NULL },
};

const ax_view ax_view_saliency = {
    .name = "Saliency", .draw = draw, .keys = keys, .state = sizeof(saliency_state), .reset = reset,
    .release = release,
};
