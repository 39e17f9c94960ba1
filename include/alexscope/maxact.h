/* Top images per channel ("what does this unit detect?"): one pass over a
 * folder of images keeps, for every channel of one layer, the K images whose
 * activation peaks highest and where; then each peak's receptive-field crop
 * of the preprocessed input. Shared by `alexscope maxact` and the
 * workbench's Top images view; nothing here prints or draws. */
#ifndef ALEXSCOPE_MAXACT_H
#define ALEXSCOPE_MAXACT_H

#include <stddef.h>

#include "alexscope/net.h"

/* ---- the top-K lists --------------------------------------------------- */

typedef struct {
    float value;        /* the channel's largest value in the image */
    int image;          /* index in the pass's file list */
    int y, x;           /* where it is in the layer's (H, W) map: the first in row order */
} ax_maxact_entry;

/* For every channel the k best entries, best first: a larger value first,
 * on equal values the lower image index, so the lists do not depend on the
 * order the images are offered in. A channel holds fewer than k entries
 * while fewer images were offered (count[c]). */
typedef struct {
    int channels, k, h, w;
    ax_maxact_entry *e;  /* (channels, k) */
    int *count;          /* (channels) */
} ax_maxact_top;

ax_status ax_maxact_top_init(ax_maxact_top *t, int channels, int k, int h, int w, ax_error *err);
void ax_maxact_top_free(ax_maxact_top *t);
/* Offers one entry to channel ch; 1 when it was kept. NaN is never kept. */
int ax_maxact_top_offer(ax_maxact_top *t, int ch, float value, int image, int y, int x);
/* One image's output of the layer, (C, H, W) with C, H, W those of t: each
 * channel's largest value (NaN left out) and its first position, offered. */
void ax_maxact_top_add(ax_maxact_top *t, int image, const float *act);
/* Entries of channel ch (NULL when ch is out of range); *n is its count. */
const ax_maxact_entry *ax_maxact_top_list(const ax_maxact_top *t, int ch, int *n);

/* ---- the folder -------------------------------------------------------- */

/* The images of a folder: ax_image_list_dir (alexscope/image.h: by the one
 * list of image extensions, hidden files left out), as "DIR/NAME" sorted by
 * name. Errors: a folder that cannot be read, one without images
 * (AX_ERR_MISSING, naming it). */
ax_status ax_maxact_list_images(char ***files, int *count, const char *dir, ax_error *err);
void ax_maxact_list_free(char **files, int count);

/* ---- the pass ---------------------------------------------------------- */

typedef struct {
    char *const *files;
    int nfiles;
    int layer;                /* the net's layer whose channels are ranked */
    int threads;              /* decoding threads (at least 1; the net runs on the caller's thread) */
    const int *cancel;        /* may be NULL; read atomically: non-zero stops after the image being run */
    void *user;
    /* On the caller's thread, every image (done counts skipped ones too). */
    void (*progress)(void *user, int done, int total);
    /* On the caller's thread: an image that could not be read or
     * preprocessed is left out, with why (the message names the file). */
    void (*skipped)(void *user, int image, const ax_error *why);
    /* Around each forward pass of the net (NULL: none): the workbench
     * holds its compute lock there, one job at a time in the CPU pool. */
    void (*lock)(void *user, int on);
} ax_maxact_pass;

typedef struct {
    int ranked;               /* images run through the net */
    int skipped;
    int cancelled;
    double seconds;           /* the whole pass */
    double forward_s;         /* forward passes (with reading the layer and ranking) */
    double decode_s;          /* decoding and preprocessing, summed over the threads */
} ax_maxact_stats;

/* Runs every image of p through the net up to p->layer, batch by batch
 * (the net's batch; a short last batch repeats its last image, not
 * counted), decoding and preprocessing on p->threads threads through a
 * small bounded queue while the net runs, and offers each image's output to
 * t (sized for the layer: ax_maxact_top_init with its C, H, W). Errors: the
 * layer out of range, the net failing, no image readable (AX_ERR_FORMAT). */
ax_status ax_maxact_run(ax_maxact_top *t, ax_net *net, const ax_maxact_pass *p, ax_maxact_stats *stats,
                        ax_error *err);

/* ---- crops --------------------------------------------------------------- */

/* The input box (inclusive, clipped to the input) that cell (y, x) of the
 * layer's output sees: ax_receptive_fields and ax_rfield_box (teach.h). */
void ax_maxact_box(const ax_net *net, int layer, int y, int x, int *y0, int *x0, int *y1, int *x1);

/* A preprocessed (3, H, W) input back to 8-bit RGB (H, W, 3): scale, mean,
 * std and the channel order undone, clamped to 0..255. Inputs of other
 * channel counts: channel 0 as grey. */
void ax_maxact_rgb(unsigned char *rgb, const float *in, int c, int h, int w, const ax_preprocess *p);

typedef struct {
    int w, h;
    int y0, x0;               /* where in the input it was cut */
    unsigned char *rgb;       /* (h, w, 3); NULL when its image could not be read again */
} ax_maxact_crop;

/* The crops of channels c0..c1 (inclusive), k slots each ((c1 - c0 + 1) *
 * t->k, zeroed first; a slot past a channel's count stays empty): each
 * image they name is decoded and preprocessed again once, as the pass did
 * (spec's preprocessing), and cut at its entries' boxes. An image that no
 * longer reads leaves its crops empty. Free with ax_maxact_crops_free. */
ax_status ax_maxact_crops(ax_maxact_crop *out, const ax_maxact_top *t, int c0, int c1, const ax_net *net,
                          int layer, char *const *files, ax_error *err);
void ax_maxact_crops_free(ax_maxact_crop *c, int n);

/* The k crops of one channel side by side on grey, each in a cell of the
 * largest crop's size with a 2-pixel gap: (h, w, 3) malloc'ed in *rgb. */
ax_status ax_maxact_sheet(unsigned char **rgb, int *w, int *h, const ax_maxact_crop *c, int k, ax_error *err);

/* Writes (h, w, 3) 8-bit RGB as a PNG (zlib-compressed, one IDAT), through
 * ax_file_create, so path is the old file or the whole new one. */
ax_status ax_png_write(const char *path, const unsigned char *rgb, int w, int h, ax_error *err);

#endif
