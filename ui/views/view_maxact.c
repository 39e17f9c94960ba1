/* View M, Top images: the selected channel's heatmap for the image on show
 * beside the receptive-field crops of the folder's images that excite that
 * channel most, drawn as the Input view draws a picture (half blocks in
 * colour, the ASCII ramp of luminance in mono). The pass and the crops come
 * from ui/modes/maxact.c; nothing here computes or decodes. */
#include "modes/maxact.h"

#include <stdio.h>
#include <string.h>

/* A crop of (h, w, 3) pixels box-filtered into rows x cols cells: two
 * pixels a cell in colour, luminance on the ramp otherwise. */
static void crop_cells(ax_ui *u, int y, int x, int rows, int cols, const ax_maxact_crop *c)
{
    if (u->colour && u->cube) {
        int prow = 2 * rows;
        for (int r = 0; r < rows; r++)
            for (int k = 0; k < cols; k++) {
                unsigned char px[2][3];
                int x0 = (int)((long)k * c->w / cols), x1 = (int)((long)(k + 1) * c->w / cols);
                if (x1 <= x0) x1 = x0 + 1;
                for (int half = 0; half < 2; half++) {
                    int pr = 2 * r + half;
                    int y0 = (int)((long)pr * c->h / prow), y1 = (int)((long)(pr + 1) * c->h / prow);
                    if (y1 <= y0) y1 = y0 + 1;
                    for (int d = 0; d < 3; d++) {
                        long sum = 0;
                        for (int yy = y0; yy < y1; yy++)
                            for (int xx = x0; xx < x1; xx++) sum += c->rgb[((size_t)yy * c->w + xx) * 3 + d];
                        px[half][d] = (unsigned char)(sum / ((y1 - y0) * (x1 - x0)));
                    }
                }
                ax_ui_rgb_cell(u, y + r, x + k, px[0], px[1]);
            }
        return;
    }
    float *lum = ax_ui_fbuf(u, (size_t)c->w * c->h);
    if (!lum) return;
    for (size_t i = 0; i < (size_t)c->w * c->h; i++)
        lum[i] = (float)(0.2126 * c->rgb[i * 3] + 0.7152 * c->rgb[i * 3 + 1] + 0.0722 * c->rgb[i * 3 + 2]);
    ax_ui_heat_map(u, y, x, rows, cols, lum, c->h, c->w, 0.0f, 255.0f);
}

/* The grid of n tiles in w x h cells: columns and a square tile side (in
 * columns; rows are half of it) as large as fits, a caption row under each. */
static void grid(int n, int w, int h, int *ncol, int *side)
{
    *ncol = 1;
    *side = 0;
    for (int nc = 1; nc <= n; nc++) {
        int nr = (n + nc - 1) / nc;
        int tw = (w - (nc - 1)) / nc, th = (h - nr) / nr;
        int s = tw < 2 * th ? tw : 2 * th;
        if (s > *side) { *side = s; *ncol = nc; }
    }
    *side &= ~1;
}

static void draw(ax_ui *u, ax_rect r)
{
    ax_ui_maxact_info I;
    ax_ui_maxact_get(u, &I);
    int x0 = r.x + 1, w = r.w - 2, y = r.y + 1, bottom = r.y + r.h - 1;
    if (u->cur < 0) {
        ax_ui_title(u, r, "Top images", "the images of a folder that excite a channel most");
        ax_ui_notice(u, r, r.y + r.h / 2, "step to a layer (Down): its channels are ranked over the folder");
        return;
    }
    int nch = ax_ui_channels(u, u->cur);
    ax_ui_clamp(u);
    const char *lname = ax_ui_layer_name(u, u->cur);
    ax_ui_title(u, r, "Top images", "%s channel %d of %d over %s", lname, u->ch, nch, I.dir[0] ? I.dir : "?");
    if (I.phase == AX_MAXACT_FAILED) {
        ax_ui_wrap(u, y + 1, x0, w, AX_R_BAD, I.why ? I.why : "the pass failed", bottom - y - 1);
        ax_ui_put(u, bottom, x0, w, AX_R_DIM, "r tries again; --maxact-dir DIR chooses the folder");
        return;
    }
    if (I.phase != AX_MAXACT_DONE || I.layer != u->cur) {
        int total = I.total > 0 ? I.total : 1;
        ax_ui_printf(u, y + 1, x0, w, AX_R_ACCENT, "ranking the %d channels of %s over %s: %d of %d images%s", nch,
                     lname, I.dir, I.done, I.total, I.skipped ? " (some skipped)" : "");
        ax_ui_bar(u, y + 2, x0, w < 40 ? w : 40, (double)I.done / total, AX_R_GOOD);
        ax_ui_put(u, y + 4, x0, w, AX_R_DIM, "in the background: the other views work meanwhile");
        return;
    }
    /* the heatmap of the channel for the image on show, left */
    int lw = w / 3 < 14 ? 14 : w / 3, avail = bottom - y - 2;
    if (lw > w / 2) lw = w / 2;
    const ax_tensor *t = ax_ui_shape_of(u, u->cur);
    int N, C, H, W;
    ax_tensor_nchw(t, &N, &C, &H, &W);
    const float *data = u->cur < u->ready ? ax_ui_data(u, u->cur) : NULL;
    ax_layer_cache *lc = data ? ax_ui_cache(u, u->cur) : NULL;
    ax_ui_put(u, y, x0, lw, AX_R_HEADER, "this image");
    if (lc && u->ch < lc->c) {
        int rows, cols;
        ax_ui_fit(ax_ui_heat_on(u), H, W, avail - 1, lw, &rows, &cols);
        ax_ui_heat_map(u, y + 1, x0, rows, cols, data + (size_t)u->ch * H * W, H, W, lc->ch[u->ch].min,
                       lc->ch[u->ch].max);
        ax_ui_printf(u, y + 1 + rows, x0, lw, AX_R_DIM, "max %.4g", lc->ch[u->ch].max);
    } else {
        ax_ui_put(u, y + 1, x0, lw, AX_R_DIM, "not computed (n)");
    }
    /* the crops, right */
    int gx = x0 + lw + 2, gw = x0 + w - gx;
    int n;
    const ax_maxact_entry *e = ax_maxact_top_list(I.top, u->ch, &n);
    ax_ui_printf(u, y, gx, gw, AX_R_HEADER, "top %d of %d images (value, image)", n, I.top ? I.total - I.skipped : 0);
    if (I.crops_ch != u->ch || !I.crops) {
        ax_ui_put(u, y + 1, gx, gw, AX_R_ACCENT, "cutting the crops of this channel ...");
        return;
    }
    int ncol, side;
    grid(n, gw, avail, &ncol, &side);
    int rows = side / 2 > 0 ? side / 2 : 1;
    for (int i = 0; i < n && side > 0; i++) {
        int ty = y + 1 + (i / ncol) * (rows + 1), tx = gx + (i % ncol) * (side + 1);
        if (ty + rows >= bottom) break;
        if (I.crops[i].rgb) crop_cells(u, ty, tx, rows, side, &I.crops[i]);
        else ax_ui_put(u, ty, tx, side, AX_R_BAD, "unreadable");
        const char *slash = strrchr(I.files[e[i].image], '/');
        ax_ui_printf(u, ty + rows, tx, side, AX_R_DIM, "%d %#.4g %s", i + 1, e[i].value,
                     slash ? slash + 1 : I.files[e[i].image]);
    }
    if (!n) ax_ui_put(u, y + 1, gx, gw, AX_R_DIM, "no image gave this channel a finite value");
    ax_ui_printf(u, bottom, x0, w, AX_R_DIM, "value: the channel's largest in the image; crop: the receptive "
                 "field of that peak; %d images in %.1f s", I.total - I.skipped, I.seconds);
}

static int key_channel(ax_ui *u, int k)
{
    if (u->cur < 0) return 0;
    int n = ax_ui_channels(u, u->cur);
    int d = k == ']' ? 1 : k == '[' ? -1 : k == '}' ? 10 : -10;
    u->ch = (u->ch + d) % n;
    if (u->ch < 0) u->ch += n;
    return 1;
}

static int key_restart(ax_ui *u, int k)
{
    (void)k;
    ax_ui_maxact_restart(u);
    ax_ui_say(u, AX_R_DIM, "top images: the pass starts again");
    return 1;
}

static const ax_key keys[] = {
    { .codes = { '[', ']' }, .keys = "[ ]", .what = "previous / next channel (its crops from the same pass)",
      .fn = key_channel, .bar = "[ ] channel" },
    { .codes = { '{', '}' }, .keys = "{ }", .what = "ten channels back / on", .fn = key_channel, .bar = "{ } 10" },
    { .codes = { 0 }, .keys = "Up Down", .what = "another layer: a pass of its own", .bar = "Up/Down layer" },
    { .codes = { 'r' }, .keys = "r", .what = "run the pass again (the folder changed)", .fn = key_restart,
      .bar = "r again" },
    { .codes = { 0 }, .keys = NULL },
};

const ax_view ax_view_maxact = {
    .name = "Top images", .draw = draw, .keys = keys,
};
