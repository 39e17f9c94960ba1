/* The workbench's state and its three tables' row types: the ax_ui struct
 * every part is handed, views {draw, keys, state}, modes {sync, prompt,
 * bottom line, mark, keys, state} and key rows {codes, help, handler}.
 * Types only: nothing here draws or computes, and no row names a file above. */
#ifndef AX_UI_STATE_H
#define AX_UI_STATE_H

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
    AX_V_SALIENCY,                /* 0 (ui/modes/gradmode.h) */
    AX_V_DIFF,
    AX_V_MAXACT,                  /* M (ui/modes/maxact.h) */
    AX_V_COUNT
};

/* The modes, in the order the loop asks them (ui/modes/modes.c). */
enum { AX_M_PROMPT, AX_M_DIFF, AX_M_GRAD, AX_M_WHATIF, AX_M_TOUR, AX_M_MAXACT, AX_M_COUNT };

/* What a piece of text is; in mono each role becomes an attribute. */
typedef enum {
    AX_R_NORMAL, AX_R_TITLE, AX_R_HEADER, AX_R_SELECT, AX_R_DIM, AX_R_GOOD,
    AX_R_WARN, AX_R_BAD, AX_R_ACCENT, AX_R_BAR, AX_R_STATUS, AX_R_COUNT
} ax_role;

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

enum { AX_KEY_CODES = 12 };

struct ax_ui;
/* One row of a key table: the codes it takes (0 ends them; none: a line of
 * help only, for a key another table handles), how the help names them and
 * what they do, the handler (1 when the key was used), and its words on the
 * bottom line (NULL: not there; bar_back instead once a view was drilled
 * into, bar_cols the screen width it needs). A row with `modes` set stands
 * where the modes' own keys go in the global map; one with `frame` set is
 * taken before the view's own keys (the frame's Q q Esc ? Tab mouse). A
 * table ends with a row whose keys is NULL and modes 0. */
typedef struct ax_key {
    int codes[AX_KEY_CODES];
    const char *keys, *what;
    int (*fn)(struct ax_ui *u, int k);
    const char *bar, *bar_back;
    int bar_cols;
    int modes;
    int frame;
} ax_key;

/* A view: one file under ui/views. Its own keys are one table of rows, tried
 * before the global map's (Saliency's p); their help lines and the bottom
 * line's words come from the same rows. Its state is u->view_state[its
 * index] (`state` bytes, zeroed, then reset). */
typedef struct {
    const char *name;
    void (*draw)(struct ax_ui *u, ax_rect r);
    const ax_key *keys;                     /* its own keys (NULL: none) */
    size_t state;
    void (*reset)(struct ax_ui *u);         /* its state back to the start (NULL: zeroed) */
    void (*release)(struct ax_ui *u);       /* frees what its state points to (NULL: nothing) */
    int (*back)(struct ax_ui *u);           /* Esc Backspace q: 1 when it stepped back inside itself */
    void (*open)(struct ax_ui *u);          /* drilled into from another view: its plain form */
} ax_view;

/* What a view shows for a layer: its activation, or what a mode puts in its
 * place (G: the gradient of the chosen class); data and cache are NULL while
 * it is not computed, what names it for titles. */
typedef struct {
    const float *data;
    ax_layer_cache *cache;
    const char *what;
    int mode;                 /* the mode that stands in, -1: the activation */
} ax_ui_shown;

/* A mode: one file under ui/modes, something that runs beside every view
 * (tmux's window_mode is the model). Every hook may be NULL. Its state
 * (`state` bytes, zeroed) is u->mode_state[its index], set up by init. */
typedef struct {
    const char *name;
    const ax_key *keys;                     /* its keys in the global map */
    size_t state;
    void (*init)(struct ax_ui *u);
    void (*release)(struct ax_ui *u);       /* leaving: its threads stopped, its memory freed */
    int (*sync)(struct ax_ui *u);           /* each loop turn: 1 while it works */
    int (*prompt_active)(struct ax_ui *u);  /* 1 while its prompt owns the keys and the bottom line */
    void (*prompt_key)(struct ax_ui *u, int k);
    void (*prompt_draw)(struct ax_ui *u, int y);
    int (*bottom)(struct ax_ui *u, int y);  /* its bottom line; 1 when drawn */
    /* before the views and the global map (after an open prompt): 1 when it took key k */
    int (*key_first)(struct ax_ui *u, int k);
    /* the layer list: the role and one-cell mark of layer i; 0 for none */
    int (*mark)(const struct ax_ui *u, int i, ax_role *role, const char **mark);
    /* while it is on: the view that stands in for view v (NULL: none) */
    const ax_view *(*stand_in)(const struct ax_ui *u, int v);
    /* while it is on: 1 when it shows something of its own for layer i in
     * place of the activation (out filled), and why that is not there yet */
    int (*shows)(struct ax_ui *u, int i, ax_ui_shown *out);
    void (*notice)(struct ax_ui *u, ax_rect r, int y, int i);
} ax_mode;

enum { AX_LOG_MAX = 64, AX_BACK_MAX = 8 };

/* The compute worker's state (ui/worker.c). Fields marked (mu) are shared
 * with its thread, under u->mu. */
typedef struct {
    pthread_t thread;
    int live;                 /* a thread to join */
    int busy;                 /* (mu) the thread is computing or about to */
    int ready;                /* (mu) layers 0..ready-1 are computed */
    int target;               /* (mu) the last layer to compute; may move while busy */
    int cancel;               /* (mu) stop after the layer being computed */
    int computing;            /* (mu) that layer, -1 between layers */
    double t0;                /* (mu) its start */
    int failed;               /* (mu) */
    ax_error err;             /* (mu) */
    int from;                 /* first layer of the run */
    double run_t0;
    void (*job)(struct ax_ui *u, void *arg);   /* (mu) runs before any layer of the run */
    void *job_arg;
    const char *job_name;     /* (mu) */
} ax_ui_worker;

/* What the event loop, the frame, the modes and every view share; each view
 * and mode keeps its own state in its slot below. */
typedef struct ax_ui {
    ax_net *net;
    const ax_ui_config *cfg;
    /* the tables, set by ax_ui_state_init: parts below the frame reach
     * views and modes through these, never by name */
    const ax_view *const *views;   /* (AX_V_COUNT) */
    const ax_mode *const *modes;   /* (AX_M_COUNT) */
    const ax_key *keys;            /* the global map */
    void *view_state[AX_V_COUNT];
    void *mode_state[AX_M_COUNT];
    const ax_key *last_key;        /* the row that took the last key (NULL: none) */

    int cur;                  /* current layer, -1 = the input */
    int view;
    int back[AX_BACK_MAX];    /* views drilled in from (Esc, Backspace, q go back) */
    int nback;
    int ready;                /* the UI's copy: layers 0..ready-1 hold outputs */
    int image, nimages;       /* the image of the batch on show */
    int ch;                   /* selected channel (Channels, Heatmap, LRN) */
    int cur_y, cur_x;         /* the Heatmap's cursor in map coordinates (Input, Explain) */
    int colour;               /* drawing with colours now */
    int can_colour;           /* the terminal has colours and no --mono/NO_COLOR */
    int heat_ok;              /* 256 colours, enough pairs and UTF-8 for half blocks */
    int utf8;
    int quit, dirty, help;
    int help_top;             /* the help's first line on screen */
    int follow;               /* the current layer moves along with the computation */
    int wstats_seen;
    char backend_desc[160];
    char msg[1024];      /* whole: the diagnosis and its fix are not cut */
    ax_role msg_role;

    /* what was said: load messages first, then every status message */
    char log[AX_LOG_MAX][1024];
    ax_role log_role[AX_LOG_MAX];
    int nlog, log_total;

    pthread_mutex_t mu;       /* guards the worker's state and w_stats_done */
    /* held around every ax_net_step or ax_diagnose of the workbench's
     * threads: the CPU backend's thread pool runs one job at a time */
    pthread_mutex_t compute_mu;
    ax_ui_worker w;

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

/* The row of table t that takes code k, or NULL. */
const ax_key *ax_ui_key_find(const ax_key *t, int k);

#endif
