/* The drawing helpers the frame, the modes and the views all use (text,
 * colour roles, heat cells, RGB cells, analysis caches).
 * Only the main thread calls into curses; nothing here computes a layer. */
#ifndef AX_UI_DRAW_H
#define AX_UI_DRAW_H

#include "state.h"

/* Symbols with an ASCII fallback for terminals without UTF-8. */
typedef enum {
    AX_S_VLINE, AX_S_HLINE, AX_S_DOT, AX_S_DONE, AX_S_UP, AX_S_DOWN, AX_S_FULL,
    AX_S_SUM, AX_S_SQ, AX_S_CURSOR, AX_S_MORE, AX_S_COUNT
} ax_sym;

/* Pair numbers: roles, then the heat pairs (top level x bottom level, the
 * bottom also "none" = the terminal background), the same for the diverging
 * scale of signed maps, then the RGB palette. */
#define AX_PAIR_HEAT 32
#define AX_PAIR_SIGNED (AX_PAIR_HEAT + AX_HEAT_LEVELS * (AX_HEAT_LEVELS + 1))
#define AX_PAIR_RGB (AX_PAIR_SIGNED + AX_SIGNED_HEAT_LEVELS * (AX_SIGNED_HEAT_LEVELS + 1))

void ax_ui_colours_init(ax_ui *u);
attr_t ax_ui_attr(const ax_ui *u, ax_role r);
const char *ax_ui_sym(const ax_ui *u, ax_sym s);

/* Text clipped to w cells (UTF-8 aware); text cut short ends with "…" ("~"
 * without UTF-8). Returns the cells written. */
int ax_ui_put(ax_ui *u, int y, int x, int w, ax_role r, const char *s);
int ax_ui_printf(ax_ui *u, int y, int x, int w, ax_role r, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
void ax_ui_fill(ax_ui *u, int y, int x, int w, ax_role r);
void ax_ui_vline(ax_ui *u, int y, int x, int h, ax_role r);
void ax_ui_hline(ax_ui *u, int y, int x, int w, ax_role r);
/* A view's first line: "Name view · detail". */
void ax_ui_title(ax_ui *u, ax_rect r, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* A centred notice for views that have nothing to show on this layer. */
void ax_ui_notice(ax_ui *u, ax_rect r, int y, const char *text);

/* Heat cells: levels is (2*rows, cols) of AX_HEAT_LEVELS when heat_on(u),
 * else (rows, cols) of AX_ASCII_LEVELS. A bottom level of -1 leaves that
 * half to the terminal background. */
int ax_ui_heat_on(const ax_ui *u);
void ax_ui_heat_cells(ax_ui *u, int y, int x, int rows, int cols, const int *levels);
/* The same with the diverging scale when sgn: levels of AX_SIGNED_HEAT_LEVELS
 * (heat_on) or AX_SIGNED_LEVELS (mono). */
void ax_ui_heat_cells_scale(ax_ui *u, int y, int x, int rows, int cols, const int *levels, int sgn);
/* Levels for rows x cols cells of map (h, w) with [lo, hi] (2*rows when
 * heat_on): diverging when lo < 0 < hi. Returns 1 then, 0 for sequential,
 * -1 when out of memory; *levels points into the UI's scratch. */
int ax_ui_heat_levels(ax_ui *u, int **levels, int prow, int cols, const float *map, int h, int w, float lo,
                      float hi);
/* Rasterises map (h, w) into rows x cols cells with [lo, hi] and draws it;
 * a map with both signs (lo < 0 < hi) uses the diverging scale. */
void ax_ui_heat_map(ax_ui *u, int y, int x, int rows, int cols, const float *map, int h, int w,
                    float lo, float hi);
/* The ramp from lo to hi in w cells with the two numbers; when lo < 0 < hi
 * the diverging ramp from -max to +max with 0 under its middle. */
void ax_ui_legend(ax_ui *u, int y, int x, int w, float lo, float hi);
/* One cell with a top and a bottom RGB pixel (0..255); bot NULL leaves the
 * lower half to the terminal background. */
void ax_ui_rgb_cell(ax_ui *u, int y, int x, const unsigned char *top, const unsigned char *bot);
/* Horizontal bar of frac (0..1) in w cells. */
void ax_ui_bar(ax_ui *u, int y, int x, int w, double frac, ax_role r);
/* "key     value" on row y; returns the next row. */
/* text wrapped at spaces into w cells from (y, x), at most max lines; returns the next y */
int ax_ui_wrap(ax_ui *u, int y, int x, int w, ax_role role, const char *text, int max);
/* the rows ax_ui_wrap takes for text in w cells */
int ax_ui_wrap_rows(const char *text, int w);
int ax_ui_kv(ax_ui *u, int y, int x, int w, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
/* Cells (rows, cols) an (h, w) map takes when fitted into avail_rows x
 * avail_cols with square pixels: half-block cells hold 1x2 pixels, text cells
 * are drawn two columns per pixel. */
void ax_ui_fit(int halfblock, int h, int w, int avail_rows, int avail_cols, int *rows, int *cols);
/* The LRN formula of layer l: the convention's general form, its constants and
 * the form with the numbers put in. */
void ax_ui_lrn_formula(const ax_ui *u, const ax_layer_spec *l, char *general, char *constants,
                       char *actual, size_t size);
/* s in exactly w cells: padded with blanks, or cut to end with "…" ("~"
 * without UTF-8). Returns buf. */
char *ax_ui_cell(const ax_ui *u, char *buf, size_t size, const char *s, int w);
/* 1,234,567 */
char *ax_ui_count(char *buf, size_t size, double v);

/* Scratch that grows and is kept. */
int *ax_ui_lev(ax_ui *u, size_t n);
float *ax_ui_fbuf(ax_ui *u, size_t n);
int *ax_ui_order(ax_ui *u, size_t n);

/* Layer i's output (-1: input) when the UI knows it is computed, else NULL
 * (also when its copy from the device failed). Its data is readable: on a
 * device backend this is where the copy to the host is made, so only the
 * layers a view draws are fetched. */
const ax_tensor *ax_ui_tensor(const ax_ui *u, int i);
/* Layer i's output tensor (-1: the input) for its shape and name only, never
 * its data (which may still be on the device): fetches nothing. */
const ax_tensor *ax_ui_shape_of(const ax_ui *u, int i);
/* The image on show in that output: (C, H, W) floats, or NULL. */
const float *ax_ui_data(const ax_ui *u, int i);
/* Drops every analysis cache (another image of the batch is shown). */
void ax_ui_cache_drop(ax_ui *u);
/* Its analysis cache, filled on first use; NULL when not computed. */
ax_layer_cache *ax_ui_cache(ax_ui *u, int i);
/* "conv1" or "input". */
const char *ax_ui_layer_name(const ax_ui *u, int i);
/* "96x55x55" or "4096". */
char *ax_ui_shape_short(const ax_tensor *t, char *buf, size_t size);
/* 1 once the weight statistics thread finished. */
int ax_ui_wstats_ready(ax_ui *u);

/* Number formatting that keeps columns narrow: 4 significant digits. */
char *ax_ui_num(char *buf, size_t size, double v);

/* Clamps the selected channel to layer cur. */
void ax_ui_clamp(ax_ui *u);

/* Channels a layer's output has (vectors: their length). */
int ax_ui_channels(const ax_ui *u, int i);

#endif
