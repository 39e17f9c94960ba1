/* Training on an image folder: the data set (one subfolder per class, images
 * decoded once and kept resized), seeded batches with random crop and flip,
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
    char **class_names;     /* folder names, sorted */
    int count;
    int *label;             /* per image */
    unsigned char *pix;     /* count x (rh, rw, 3) RGB8, resized once */
    int rh, rw;
} ax_dataset;

/* Reads DIR/<class>/<image> (png, jpg, jpeg, bmp, gif, ppm, pgm; names
 * sorted, dot files skipped), each image resized to rw x rh. */
ax_status ax_dataset_load(ax_dataset *d, const char *dir, int rh, int rw, ax_error *err);
void ax_dataset_free(ax_dataset *d);

/* x (n, 3, H, W) from images idx[0..n): a crop of the spec's input size,
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
