/* The Top images view's background work (M): a pass over a folder of images
 * (--maxact-dir, else the image's folder, else samples/) that ranks every
 * channel of the current layer, on a thread of its own with a net of its own
 * (the layers up to that one, the workbench's weights), then the crops of the
 * selected channel. Only the main thread calls these; the view only reads. */
#ifndef AX_UI_MAXACT_H
#define AX_UI_MAXACT_H

#include "alexscope/maxact.h"
#include "core.h"

enum { AX_UI_MAXACT_K = 8 };

typedef enum { AX_MAXACT_NONE, AX_MAXACT_RUNNING, AX_MAXACT_DONE, AX_MAXACT_FAILED } ax_ui_maxact_phase;

/* What the view draws, as of the last sync. top, files and crops stay
 * valid until the next sync. */
typedef struct {
    ax_ui_maxact_phase phase;
    int layer;                     /* the pass's layer (-1: none yet) */
    const char *dir;
    int done, total, skipped;      /* images so far (skipped ones count in done) */
    double seconds;                /* the whole pass, once done */
    const char *why;               /* FAILED: the message */
    const ax_maxact_top *top;      /* DONE */
    char *const *files;            /* DONE: the folder's images, by name */
    const ax_maxact_crop *crops;   /* the crops of crops_ch (AX_UI_MAXACT_K, NULL while none) */
    int crops_ch;
    const ax_net *net;             /* the pass's net: its receptive fields */
} ax_ui_maxact_info;

void ax_ui_maxact_get(ax_ui *u, ax_ui_maxact_info *out);
/* Forgets the pass and starts it again (the view's r). */
void ax_ui_maxact_restart(ax_ui *u);
/* 1 once the pass is done and the crops of the selected channel are in (or
 * it failed): what bench --ui waits for. */
int ax_ui_maxact_settled(ax_ui *u);

#endif
