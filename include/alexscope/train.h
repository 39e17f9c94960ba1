/* Training on an image folder or an IDX image/label pair: the data set (one
 * subfolder per class, or the pair's labels; images decoded once and kept
 * resized), seeded batches with random crop and flip,
 * SGD with momentum and weight decay over a net's gradient state, and
 * checkpoints that resume to the same weights as an uninterrupted run. */
#ifndef ALEXSCOPE_TRAIN_H
#define ALEXSCOPE_TRAIN_H

#include <stdint.h>

#include "alexscope/grad.h"
#include "alexscope/net.h"

/* Refused above these: a folder of this size is not what this trainer is for. */
#define AX_DATASET_MAX_CLASSES 1000
#define AX_DATASET_MAX_IMAGES 200000
#define AX_DATASET_MAX_BYTES ((size_t)4 << 30)

typedef struct {
    int nclasses;
    char **class_names;     /* folder names, sorted; an IDX pair's: see ax_dataset_load_idx */
    int count;
    int *label;             /* per image */
    unsigned char *pix;     /* count x (rh, rw, channels) 8-bit, resized once */
    int rh, rw;
    int channels;           /* 3 (RGB, folders) or 1 (grey, IDX) */
} ax_dataset;

/* Reads DIR/<class>/<image> (png, jpg, jpeg, bmp, gif, ppm, pgm; names
 * sorted, dot files skipped), each image resized to rw x rh. */
ax_status ax_dataset_load(ax_dataset *d, const char *dir, int rh, int rw, ax_error *err);
void ax_dataset_free(ax_dataset *d);

/* An IDX pair: images (magic 0x00000803: N, rows, cols of unsigned bytes,
 * kept grey) and labels (0x00000801: N bytes), plain or gzip. classes > 0:
 * every label must be below it and the set has that many classes; 0: as many
 * as the largest label + 1. Images of in_w x in_h are kept as they are (a
 * random crop then has no room: augmentation is the flip alone), others
 * resized to an eighth larger, as a folder's. Class names: Fashion-MNIST's ten when the images'
 * path names it ("fashion" in any case), they are 28x28 and there are 10
 * classes; else "0", "1", ... */
ax_status ax_dataset_load_idx(ax_dataset *d, const char *images, const char *labels, int classes, int in_h,
                              int in_w, ax_error *err);

/* --data's two forms: a folder (ax_dataset_load, images kept an eighth
 * larger than in_h x in_w, the room random crops move in), or an IDX pair
 * named by its common prefix P: P-images-idx3-ubyte and
 * P-labels-idx1-ubyte, each also as .gz (the image file's own name is
 * taken too). *what says which form was read ("folder" or
 * "IDX ..." with the two file names). */
ax_status ax_dataset_open(ax_dataset *d, const char *path, int classes, int in_h, int in_w, char *what,
                          size_t what_size, ax_error *err);

/* x (n, 3, H, W) from images idx[0..n) (grey ones in all three channels): a crop of the spec's input size,
 * at a random place and flipped half the time when augment (drawn from
 * (seed, key[i])), else centred; then the spec's channel order, scale, mean
 * and std. labels[i] = the images' classes. */
void ax_dataset_batch(float *x, int *labels, const ax_dataset *d, const int *idx, const uint64_t *key, int n,
                      const ax_spec *spec, int augment, uint64_t seed);

/* A seeded permutation of 0..n-1 (Fisher-Yates on splitmix64). */
void ax_shuffle(int *v, int n, uint64_t seed);
uint64_t ax_hash64(uint64_t x);

typedef struct ax_trainer {
    ax_net *net;
    ax_grad *g;
    float *vel;             /* momentum of every trainable weight and bias */
    float **vw, **vb;       /* per layer, NULL when frozen */
    double lr, momentum, weight_decay;
    float *prob;            /* (N, classes) scratch for the loss */
    int logit;              /* layer whose output is the logits */
    int classes;
} ax_trainer;

/* frozen[i] = 1: layer i keeps its weights and gets no gradient work. */
ax_status ax_trainer_create(ax_trainer **out, ax_net *net, const unsigned char *frozen, double lr, double momentum,
                            double weight_decay, ax_error *err);
void ax_trainer_free(ax_trainer *t);

/* One SGD step on a batch (the net's batch size): forward with dropout
 * (masks from seed), cross-entropy, backward, v = m v + g + wd w, w -= lr v.
 * Returns the batch's mean loss; *correct counts top-1 hits. */
ax_status ax_trainer_step(ax_trainer *t, const float *x, const int *labels, uint64_t seed, double *loss,
                          int *correct, ax_error *err);

/* Inference on a batch; only the first n_real images are counted. */
ax_status ax_trainer_eval(ax_trainer *t, const float *x, const int *labels, int n_real, double *loss_sum,
                          int *correct, ax_error *err);

/* Weights only (loads with --weights), or a checkpoint: weights, momentum
 * and the position to resume at (epoch, step) and the seed. */
ax_status ax_trainer_save(const ax_trainer *t, const char *path, int checkpoint, int epoch, int step, uint64_t seed,
                          ax_error *err);
ax_status ax_trainer_resume(ax_trainer *t, const char *path, int *epoch, int *step, uint64_t *seed, ax_error *err);

#endif
