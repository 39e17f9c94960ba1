/* Images in (stb_image) and the preprocessing a spec asks for out.
 * No net here: preprocessing writes a plain (C, H, W) float buffer. */
#ifndef ALEXSCOPE_IMAGE_H
#define ALEXSCOPE_IMAGE_H

#include <stddef.h>
#include "alexscope/status.h"
#include "alexscope/spec.h"

typedef struct {
    int w, h;
    unsigned char *rgb;   /* (H, W, 3) interleaved, 8-bit */
} ax_image;

/* Limits on untrusted images (README "Limits"): the file size, and the pixel
 * count the header declares, checked before anything is decoded. */
#define AX_IMAGE_MAX_BYTES (256 << 20)
#ifndef AX_IMAGE_MAX_PIXELS   /* the fuzz harness builds with a smaller one */
#define AX_IMAGE_MAX_PIXELS (64 << 20)
#endif

/* Reads a PNG, JPEG, GIF (first frame), BMP or binary PPM/PGM file as RGB8. */
ax_status ax_image_load(ax_image *img, const char *path, ax_error *err);
/* The same from bytes in memory; name is used in messages. */
ax_status ax_image_decode(ax_image *img, const void *buf, size_t size, const char *name, ax_error *err);
void ax_image_free(ax_image *img);

/* Image file names: 1 when name (a path or a bare name) ends in the
 * extension of a format ax_image_load decodes (png, jpg, jpeg, jpe, bmp,
 * gif, ppm, pgm, pnm; any case) and is not a hidden file; ax_image_exts
 * gives that list as text. ax_image_list_dir: the images of a folder by
 * name, as "DIR/NAME" sorted by name (strcmp). Errors: a folder that cannot
 * be read, one without images (AX_ERR_MISSING, naming it and the list). */
int ax_image_name_ok(const char *name);
const char *ax_image_exts(void);
ax_status ax_image_list_dir(char ***files, int *count, const char *dir, ax_error *err);
void ax_image_list_free(char **files, int count);

/* Items (images) decoded ahead of their consumer on threads of their own
 * (src/input/decode_queue.c): fn(user, i, buf, err) fills buf (`floats`
 * floats) with item i on a decoding thread and returns its status; at most
 * `depth` items are decoded ahead of the consumer, which takes them strictly
 * in order 0, 1, ..., each with ax_decode_queue_take (it waits; NULL with
 * *item_err filled when fn failed for it) and then ax_decode_queue_release.
 * stop ends the decoders (items not taken are dropped), joins and frees, and
 * gives the seconds the decoders spent and the consumer waited (may be NULL).
 * threads is capped at AX_DECODE_MAX_THREADS and at count. */
#define AX_DECODE_MAX_THREADS 16
typedef struct ax_decode_queue ax_decode_queue;
typedef ax_status (*ax_decode_fn)(void *user, int i, float *buf, ax_error *err);
ax_status ax_decode_queue_start(ax_decode_queue **q, int count, int threads, int depth, size_t floats,
                                ax_decode_fn fn, void *user, ax_error *err);
const float *ax_decode_queue_take(ax_decode_queue *q, int i, ax_error *item_err);
void ax_decode_queue_release(ax_decode_queue *q, int i);
int ax_decode_queue_threads(const ax_decode_queue *q);
void ax_decode_queue_stop(ax_decode_queue *q, double *decode_s, double *wait_s);

/* Bilinear resize of interleaved RGB8 into a float (H, W, 3) buffer in 0..255
 * (half-pixel centres, as OpenCV and PIL without antialias). */
void ax_resize_bilinear(float *dst, int dw, int dh, const unsigned char *src, int sw, int sh);

/* Resize, centre crop, channel order, scale, mean/std: out is (3, crop_h, crop_w).
 * The spec's input size must equal the crop size. */
ax_status ax_preprocess_image(float *out, const ax_image *img, const ax_spec *spec, ax_error *err);

/* The named preprocessings (src/input/preprocess.c) for a net whose input
 * is in_h x in_w: caffe (256x256, centre crop, BGR 0..255 minus 104, 117,
 * 123), zoo (the ONNX model zoo's: the whole image resized to the input, no
 * crop, BGR 0..255 minus 103.939, 116.779, 123.68), torchvision (shorter
 * side 256 for 224, centre crop, RGB 0..1, ImageNet mean and std), none (the
 * image resized to the input, RGB 0..1). ax_preprocess_preset returns -1
 * for another name; ax_preprocess_name gives the preset p equals, or
 * "custom"; ax_preprocess_text one line in words; ax_preprocess_line the
 * spec's key=value form. */
const char *ax_preprocess_names(void);   /* "caffe|torchvision|zoo|none" */
int ax_preprocess_preset(ax_preprocess *p, const char *name, int in_h, int in_w);
const char *ax_preprocess_name(const ax_preprocess *p, int in_h, int in_w);
char *ax_preprocess_text(char *buf, size_t size, const ax_preprocess *p);
char *ax_preprocess_line(char *buf, size_t size, const ax_preprocess *p);

/* Reads a float32 .npy of shape (N, C, H, W) (or (C, H, W), taken as N = 1).
 * *data is malloc'ed; the caller frees it. */
ax_status ax_input_npy_load(float **data, int *n, int *c, int *h, int *w,
                            const char *path, ax_error *err);

/* Class labels, one per line. */
typedef struct {
    int count;
    char **names;
} ax_labels;

/* A label list is at most AX_LABELS_MAX_BYTES. */
#define AX_LABELS_MAX_BYTES (16 << 20)
ax_status ax_labels_load(ax_labels *l, const char *path, ax_error *err);
/* The same from text in memory (len bytes, need not end in NUL). */
ax_status ax_labels_parse(ax_labels *l, const char *text, size_t len, const char *name, ax_error *err);
void ax_labels_free(ax_labels *l);
const char *ax_label(const ax_labels *l, int i);   /* "class 17" when absent */

#endif
