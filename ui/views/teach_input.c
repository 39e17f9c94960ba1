/* The Input view's teaching overlays: the receptive field of the selected
 * cell (current layer, Heatmap cursor, also moved by e) drawn as a
 * box over the picture, and (b) the selected channel's activation blended
 * over the image. */
#include "teach.h"

#include <stdio.h>

#include "alexscope/teach.h"

static int *blend_of(const ax_ui *u)
{
    return &((ax_ui_input_state *)ax_ui_view_state(u, AX_V_INPUT))->blend;
}

/* The cell whose receptive field is drawn: the Heatmap cursor on the current
 * layer (e and the Explain view's h j k l move it too). */
static int selected(ax_ui *u, int *layer, int *y, int *x)
{
    if (u->cur < 0 || !ax_ui_tensor(u, u->cur)) return 0;
    int n, ch, h, w;
    ax_tensor_nchw(ax_ui_tensor(u, u->cur), &n, &ch, &h, &w);
    *y = u->cur_y;
    *x = u->cur_x;
    if (*y >= h) *y = h - 1;
    if (*x >= w) *x = w - 1;
    *layer = u->cur;
    return 1;
}

int ax_ui_teach_input_blend(ax_ui *u, int k)
{
    (void)k;
    int *blend = blend_of(u);
    *blend = !*blend;
    if (*blend && (u->cur < 0 || !ax_ui_tensor(u, u->cur)))
        ax_ui_say(u, AX_R_DIM, "b blends a channel of the current layer: step to a computed layer first");
    return 1;
}

int ax_ui_teach_input_move(ax_ui *u, int k)
{
    int y, x;
    y = u->cur_y;
    x = u->cur_x;
    switch (k) {
    case 'h': x--; break;
    case 'l': x++; break;
    case 'k': y--; break;
    case 'j': y++; break;
    case '[': if (u->ch > 0) u->ch--; return 1;
    case ']': u->ch++; ax_ui_clamp(u); return 1;
    default: return 0;
    }
    if (y < 0) y = 0;
    if (x < 0) x = 0;
    const ax_tensor *t = u->cur >= 0 ? ax_ui_tensor(u, u->cur) : NULL;
    if (t) {
        int n, c, h, w;
        ax_tensor_nchw(t, &n, &c, &h, &w);
        if (y >= h) y = h - 1;
        if (x >= w) x = w - 1;
    }
    u->cur_y = y;
    u->cur_x = x;
    return 1;
}

/* The picture's pixel (0..255) of net channel c, normalisation undone. */
static double pixel(const ax_preprocess *p, int c, float v)
{
    double s = p->scale > 0 ? p->scale : 255.0;
    return ((double)v * p->std[c] + p->mean[c]) * 255.0 / s;
}

static unsigned char byte(double v)
{
    return (unsigned char)(v < 0 ? 0 : v > 255 ? 255 : v + 0.5);
}

/* Grey image with the channel's map in red-yellow over it, by strength. */
static void blend(ax_ui *u, int y0, int x0, int rows, int cols, int H, int W, int colour)
{
    const float *img = ax_ui_data(u, -1);
    ax_layer_cache *lc = ax_ui_cache(u, u->cur);
    const float *act = ax_ui_data(u, u->cur);
    if (!img || !lc || !act || lc->h * lc->w == 1) return;
    int ch = u->ch < lc->c ? u->ch : lc->c - 1;
    const float *m = act + (size_t)ch * lc->h * lc->w;
    float lo = lc->ch[ch].min, hi = lc->ch[ch].max;
    const ax_preprocess *p = &u->net->spec.pre;
    size_t plane = (size_t)H * W;
    int prow = colour ? 2 * rows : rows;
    float *out = colour ? NULL : ax_ui_fbuf(u, (size_t)rows * cols);
    if (!colour && !out) return;
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++) {
            unsigned char px[2][3];
            for (int half = 0; half < (colour ? 2 : 1); half++) {
                int pr = colour ? 2 * r + half : r;
                int iy = (int)((long)pr * H / prow), ix = (int)((long)c * W / cols);
                double lum = 0;
                for (int d = 0; d < 3; d++) lum += pixel(p, d, img[d * plane + (size_t)iy * W + ix]) / 3;
                int ay = (int)((long)iy * lc->h / H), ax = (int)((long)ix * lc->w / W);
                double a = hi > lo ? (m[(size_t)ay * lc->w + ax] - lo) / (hi - lo) : 0;
                if (a < 0) a = 0;
                if (colour) {
                    px[half][0] = byte(lum * (1 - a) * 0.6 + 255 * a);
                    px[half][1] = byte(lum * (1 - a) * 0.6 + 200 * a * a);
                    px[half][2] = byte(lum * (1 - a) * 0.6);
                } else {
                    out[(size_t)r * cols + c] = (float)(lum * 0.4 + 153 * a);
                }
            }
            if (colour) ax_ui_rgb_cell(u, y0 + r, x0 + c, px[0], px[1]);
        }
    if (!colour) ax_ui_heat_map(u, y0, x0, rows, cols, out, rows, cols, 0.0f, 255.0f);
}

void ax_ui_teach_input_overlay(ax_ui *u, int y0, int x0, int rows, int cols, int H, int W, int colour, int text_w)
{
    if (rows < 1 || cols < 1) return;
    if (*blend_of(u) && u->cur >= 0) blend(u, y0, x0, rows, cols, H, W, colour);
    int layer, cy, cx;
    int bottom = y0 + rows;
    if (!selected(u, &layer, &cy, &cx)) {
        ax_ui_put(u, bottom, x0, text_w, AX_R_DIM, "step to a layer: its receptive field is drawn here (b blends)");
        return;
    }
    ax_rfield rf[AX_MAX_LAYERS];
    ax_receptive_fields(u->net->layers, u->net->nlayers, u->net->spec.in_h, u->net->spec.in_w, rf);
    int py0, px0, py1, px1;
    ax_rfield_box(&rf[layer], cy, cx, H, W, &py0, &px0, &py1, &px1);
    /* pixels to cells: rows cells hold H pixel rows, cols cells W pixel columns */
    int r0 = (int)((long)py0 * rows / H), r1 = (int)((long)py1 * rows / H);
    int c0 = (int)((long)px0 * cols / W), c1 = (int)((long)px1 * cols / W);
    for (int c = c0; c <= c1; c++) {
        ax_ui_put(u, y0 + r0, x0 + c, 1, AX_R_SELECT, c == c0 || c == c1 ? "+" : "-");
        ax_ui_put(u, y0 + r1, x0 + c, 1, AX_R_SELECT, c == c0 || c == c1 ? "+" : "-");
    }
    for (int r = r0 + 1; r < r1; r++) {
        ax_ui_put(u, y0 + r, x0 + c0, 1, AX_R_SELECT, "|");
        ax_ui_put(u, y0 + r, x0 + c1, 1, AX_R_SELECT, "|");
    }
    const ax_rfield *f = &rf[layer];
    char blend_txt[80] = "";
    if (*blend_of(u)) snprintf(blend_txt, sizeof blend_txt, "  blend: channel %d", u->ch);
    if (f->global)
        ax_ui_printf(u, bottom, x0, text_w, AX_R_ACCENT, "%s: the whole image (receptive field after flatten)%s",
                     u->net->layers[layer].spec.name, blend_txt);
    else
        ax_ui_printf(u, bottom, x0, text_w, AX_R_ACCENT, "%s (y %d, x %d): receptive field %dx%d px, jump %d: "
                     "rows %d..%d, cols %d..%d%s", u->net->layers[layer].spec.name, cy, cx, f->size_h, f->size_w,
                     f->jump_h, py0, py1, px0, px1, blend_txt);
}
