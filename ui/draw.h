/* State shared by the event loop and the views, and the drawing helpers they
 * all use (text, colour roles, heat cells, RGB cells, analysis caches).
 * Only the main thread calls into curses; nothing here computes a layer. */
#ifndef AX_UI_DRAW_H
#define AX_UI_DRAW_H

#ifndef NCURSES_WIDECHAR
#define NCURSES_WIDECHAR 1
#endif
#include <curses.h>
#include <pthread.h>
#include <stddef.h>

#include "alexscope/analysis.h"
#include "alexscope/net.h"
#include "ui.h"

enum {
    AX_V_TENSOR, AX_V_CHANNELS, AX_V_HEATMAP, AX_V_LRN,
    AX_V_GROUPS, AX_V_TOPK, AX_V_FILTERS, AX_V_INPUT, AX_V_MESSAGES,
    AX_V_SUMMARY, AX_V_EXPLAIN,   /* S, and e on a value (ui/teach.h) */
    AX_V_SALIENCY,                /* 0 (ui/gradmode.h) */
    AX_V_DIFF, AX_V_COUNT
};

/* What a piece of text is; in mono each role becomes an attribute. */
typedef enum {
    AX_R_NORMAL, AX_R_TITLE, AX_R_HEADER, AX_R_SELECT, AX_R_DIM, AX_R_GOOD,
    AX_R_WARN, AX_R_BAD, AX_R_ACCENT, AX_R_BAR, AX_R_STATUS, AX_R_COUNT
} ax_role;

/* Symbols with an ASCII fallback for terminals without UTF-8. */
typedef enum {
    AX_S_VLINE, AX_S_HLINE, AX_S_DOT, AX_S_DONE, AX_S_UP, AX_S_DOWN, AX_S_FULL,
    AX_S_SUM, AX_S_SQ, AX_S_CURSOR, AX_S_MORE, AX_S_COUNT
} ax_sym;

typedef struct { int y, x, h, w; } ax_rect;

#define AX_HIST_MAX 256

/* Analysis of one layer's output for the image on show, filled the first
 * time a view needs it and dropped when another image of the batch is shown. */
typedef struct {
    int valid;
    int n, c, h, w;            /* NCHW view of the tensor (fc: F channels of 1x1) */
    ax_stats all;              /* over the image on show */
    int hist_bins;             /* 0 until a histogram is asked for */
    size_t hist[AX_HIST_MAX];  /* over [all.min, all.max] */
    ax_stats *ch;              /* (c) over the image on show */
    int dead;
    float *supp;               /* (c) LRN suppression; NULL until asked */
    int towers;                /* groups of the tower statistics below */
    ax_stats tower[8];
} ax_layer_cache;

typedef struct { const char *keys, *what; } ax_keyhelp;

/* Passed to a view's key function when the user asks to go back (Esc,
 * Backspace, q): the view returns 1 when it stepped back inside itself. */
#define AX_KEY_BACK (KEY_MAX + 1)
/* Passed when another view drills into this one (Channels' Enter opens the
 * Heatmap): the view shows its plain form, ready to go back from. */
#define AX_KEY_OPEN (KEY_MAX + 2)

struct ax_ui;
typedef struct {
    const char *name;
    void (*draw)(struct ax_ui *u, ax_rect r);
    int (*key)(struct ax_ui *u, int key);   /* 1 when the view used the key */
    const ax_keyhelp *keys;                 /* ends with {NULL, NULL} */
    const char *bar;                        /* its keys in short, for the bottom line */
    void (*reset)(struct ax_ui *u);         /* its state back to the start (NULL: none) */
    void (*release)(void);                  /* frees what it keeps (NULL: nothing) */
} ax_view;

enum { AX_LOG_MAX = 64, AX_BACK_MAX = 8 };

extern const ax_view ax_view_tensor, ax_view_channels, ax_view_heatmap, ax_view_lrn,
    ax_view_groups, ax_view_topk, ax_view_filters, ax_view_input, ax_view_messages;
extern const ax_view ax_view_diff;   /* D (ui/diffmode.h) */
extern const ax_view *const ax_views[AX_V_COUNT];
extern const ax_keyhelp ax_global_keys[];

/* What the event loop and every view share; each view keeps its own state
 * (scroll positions, modes) in its own file. */
typedef struct ax_ui {
    ax_net *net;
    const ax_ui_config *cfg;
    int cur;                  /* current layer, -1 = the input */
    int view;
    int back[AX_BACK_MAX];    /* views drilled in from (Esc, Backspace, q go back) */
    int nback;
    int ready;                /* the UI's copy: layers 0..ready-1 hold outputs */
    int image, nimages;       /* the image of the batch on show */
    int ch;                   /* selected channel (Channels, Heatmap, LRN) */
    int colour;               /* drawing with colours now */
    int can_colour;           /* the terminal has colours and no --mono/NO_COLOR */
    int heat_ok;              /* 256 colours, enough pairs and UTF-8 for half blocks */
    int utf8;
    int quit, dirty, help;
    int follow;               /* the current layer moves along with the computation */
    int wstats_seen;
    char backend_desc[160];
    char msg[320];
    ax_role msg_role;

    /* what was said: load messages first, then every status message */
    char log[AX_LOG_MAX][400];
    ax_role log_role[AX_LOG_MAX];
    int nlog, log_total;

    pthread_mutex_t mu;       /* guards the worker's state (worker.c) and w_stats_done */

    /* weight statistics, filled by a helper thread at start */
    pthread_t wthread;
    int wthread_live;
    int w_stats_done;         /* (mu) */
    ax_stats *wstats;         /* (nlayers) */
    ax_stats *bstats;         /* (nlayers) */

    ax_layer_cache *cache;    /* (nlayers + 1): [0] is the input */

    /* scratch that only grows */
    int *lev; size_t lev_cap;
    float *fbuf; size_t fbuf_cap;
    int *order; size_t order_cap;

    /* colour pairs for RGB pictures, made on first use */
    unsigned char *rgb_pair;  /* 1 once that (top, bottom) pair is set up */
    int cube;                 /* levels per channel of the RGB palette */
} ax_ui;

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

/* A message for the bottom line, also kept in the Messages view. */
void ax_ui_say(ax_ui *u, ax_role r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Opens view v; drill 1 remembers the current one for Esc/Backspace/q. */
void ax_ui_open_view(ax_ui *u, int v, int drill);
/* Channels a layer's output has (vectors: their length). */
int ax_ui_channels(const ax_ui *u, int i);

/* Everything on screen for the current state (no refresh). */
void ax_ui_draw_all(ax_ui *u);
void ax_ui_help_draw(ax_ui *u);
/* Keys while the help is open; returns 0 when the key closed it. */
int ax_ui_help_key(ax_ui *u, int k);

/* Frame geometry: the layer list's width (0: hidden) and the layer shown on
 * screen row y of the list (-2: none). */
int ax_ui_list_width(const ax_ui *u);
int ax_ui_list_hit(const ax_ui *u, int y);

/* Layout of the pane the current view draws into. */
ax_rect ax_ui_pane(const ax_ui *u);

/* A key that moves in a list of n rows (arrows, j/k, PgUp/PgDn by page rows,
 * Home/End) applied to row sel: the new row, within 0..n-1; -1 for any other
 * key (or an empty list). */
int ax_ui_list_key(int k, int sel, int n, int page);

#endif
