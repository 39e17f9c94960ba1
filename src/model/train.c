/* Training: the image-folder and IDX data sets, seeded batches (random crop and flip),
 * SGD with momentum and weight decay on the trainable layers, and weight and
 * checkpoint files. Every random choice is a hash of the seed and a position
 * (epoch, step, image), so a resumed run repeats an uninterrupted one. */
#include "alexscope/train.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "alexscope/idx.h"
#include "alexscope/image.h"
#include "alexscope/weights.h"
#include "core/parallel.h"

uint64_t ax_hash64(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

void ax_shuffle(int *v, int n, uint64_t seed)
{
    for (int i = n - 1; i > 0; i--) {
        uint64_t r = ax_hash64(seed ^ ((uint64_t)i * 0xD1B54A32D192ED03ull));
        int j = (int)(r % (uint64_t)(i + 1));
        int t = v[i];
        v[i] = v[j];
        v[j] = t;
    }
}

/* ---- the data set ------------------------------------------------------------------ */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}


/* Sorted names in dir that pass keep(); *n entries, malloc'ed. */
static ax_status list_dir(char ***out, int *n, const char *dir, int want_dirs, int limit, ax_error *err)
{
    *out = NULL;
    *n = 0;
    DIR *dp = opendir(dir);
    if (!dp) return ax_fail(err, AX_ERR_IO, "%s: cannot open the folder", dir);
    char **v = NULL;
    int cap = 0, cnt = 0;
    ax_status st = AX_OK;
    struct dirent *e;
    while ((e = readdir(dp))) {
        if (e->d_name[0] == '.') continue;
        char path[AX_PATH_MAX * 2];
        struct stat sb;
        if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= sizeof path || stat(path, &sb)) continue;
        if (want_dirs ? !S_ISDIR(sb.st_mode) : !(S_ISREG(sb.st_mode) && ax_image_name_ok(e->d_name))) continue;
        if (cnt == limit) {
            st = ax_fail(err, AX_ERR_ARG, "%s: more than %d %s", dir, limit, want_dirs ? "class folders" : "images");
            break;
        }
        if (cnt == cap) {
            cap = cap ? cap * 2 : 64;
            char **nv = realloc(v, (size_t)cap * sizeof *v);
            if (!nv) { st = ax_fail(err, AX_ERR_NOMEM, "out of memory listing %s", dir); break; }
            v = nv;
        }
        if (!(v[cnt] = strdup(e->d_name))) { st = ax_fail(err, AX_ERR_NOMEM, "out of memory listing %s", dir); break; }
        cnt++;
    }
    closedir(dp);
    if (st) {
        for (int i = 0; i < cnt; i++) free(v[i]);
        free(v);
        return st;
    }
    if (cnt) qsort(v, (size_t)cnt, sizeof *v, cmp_str);
    *out = v;
    *n = cnt;
    return AX_OK;
}

ax_status ax_dataset_load(ax_dataset *d, const char *dir, int rh, int rw, ax_error *err)
{
    memset(d, 0, sizeof *d);
    d->rh = rh;
    d->rw = rw;
    d->channels = 3;
    ax_status st = list_dir(&d->class_names, &d->nclasses, dir, 1, AX_DATASET_MAX_CLASSES, err);
    if (st) return st;
    if (d->nclasses < 2) {
        ax_dataset_free(d);
        return ax_fail(err, AX_ERR_ARG, "%s: %s class folder%s: training needs at least two (one folder of images "
                       "per class)", dir, d->nclasses ? "one" : "no", d->nclasses ? "" : "s");
    }
    size_t per = (size_t)rh * rw * 3, cap = 0;
    float *tmp = malloc(per * sizeof(float));
    if (!tmp) { ax_dataset_free(d); return ax_fail(err, AX_ERR_NOMEM, "out of memory"); }
    for (int c = 0; c < d->nclasses && !st; c++) {
        char sub[AX_PATH_MAX * 2];
        snprintf(sub, sizeof sub, "%s/%s", dir, d->class_names[c]);
        char **files = NULL;
        int nf = 0;
        st = list_dir(&files, &nf, sub, 0, AX_DATASET_MAX_IMAGES - d->count, err);
        if (!st && nf == 0) st = ax_fail(err, AX_ERR_ARG, "%s: no images (%s)", sub, ax_image_exts());
        if (!st && (size_t)(d->count + nf) * per > AX_DATASET_MAX_BYTES)
            st = ax_fail(err, AX_ERR_NOMEM, "%s: %d images of %dx%d would take more than %zu MB", dir, d->count + nf,
                         rw, rh, AX_DATASET_MAX_BYTES >> 20);
        if (!st && (size_t)(d->count + nf) > cap) {
            cap = (size_t)(d->count + nf) * 2;
            unsigned char *np = realloc(d->pix, cap * per);
            int *nl = realloc(d->label, cap * sizeof *nl);
            if (np) d->pix = np;
            if (nl) d->label = nl;
            if (!np || !nl) st = ax_fail(err, AX_ERR_NOMEM, "out of memory loading %s", dir);
        }
        for (int i = 0; i < nf && !st; i++) {
            char path[AX_PATH_MAX * 3];
            snprintf(path, sizeof path, "%s/%s", sub, files[i]);
            ax_image img;
            st = ax_image_load(&img, path, err);
            if (st) break;
            ax_resize_bilinear(tmp, rw, rh, img.rgb, img.w, img.h);
            ax_image_free(&img);
            unsigned char *dst = d->pix + (size_t)d->count * per;
            for (size_t k = 0; k < per; k++) {
                float v = tmp[k] + 0.5f;
                dst[k] = (unsigned char)(v < 0 ? 0 : v > 255 ? 255 : v);
            }
            d->label[d->count++] = c;
        }
        for (int i = 0; i < nf; i++) free(files[i]);
        free(files);
    }
    free(tmp);
    if (st) ax_dataset_free(d);
    return st;
}

void ax_dataset_free(ax_dataset *d)
{
    for (int i = 0; d->class_names && i < d->nclasses; i++) free(d->class_names[i]);
    free(d->class_names);
    free(d->label);
    free(d->pix);
    memset(d, 0, sizeof *d);
}

void ax_dataset_batch(float *x, int *labels, const ax_dataset *d, const int *idx, const uint64_t *key, int n,
                      const ax_spec *spec, int augment, uint64_t seed)
{
    const int H = spec->in_h, W = spec->in_w, C = d->channels;
    const ax_preprocess *p = &spec->pre;
    for (int i = 0; i < n; i++) {
        const unsigned char *src = d->pix + (size_t)idx[i] * d->rh * d->rw * C;   // (RH, RW, C)
        labels[i] = d->label[idx[i]];
        int oy = (d->rh - H) / 2, ox = (d->rw - W) / 2, flip = 0;
        if (augment) {
            uint64_t r = ax_hash64(seed ^ ax_hash64(key[i]));
            oy = (int)(r % (uint64_t)(d->rh - H + 1));
            ox = (int)((r >> 20) % (uint64_t)(d->rw - W + 1));
            flip = (int)((r >> 40) & 1);
        }
        float *dst = x + (size_t)i * 3 * H * W;   // (3, H, W)
        for (int c = 0; c < 3; c++) {
            /* a grey image is the same in every channel: each gets its own mean and std */
            int ch = C == 1 ? 0 : p->bgr ? 2 - c : c;
            float scale = p->scale / 255.0f, mean = p->mean[c], inv = 1.0f / p->std[c];
            for (int y = 0; y < H; y++)
                for (int xx = 0; xx < W; xx++) {
                    int sx = ox + (flip ? W - 1 - xx : xx);
                    float v = src[((size_t)(oy + y) * d->rw + sx) * C + ch];
                    dst[((size_t)c * H + y) * W + xx] = (v * scale - mean) * inv;
                }
        }
    }
}

/* ---- IDX pairs ---------------------------------------------------------------------- */

/* Fashion-MNIST's classes, in its label order (the data set's documentation). */
static const char *const fashion_names[10] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                              "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};

static int names_fashion(const char *path)
{
    for (const char *q = path; *q; q++)
        if (!strncasecmp(q, "fashion", 7)) return 1;
    return 0;
}

ax_status ax_dataset_load_idx(ax_dataset *d, const char *images, const char *labels, int classes, int in_h,
                              int in_w, ax_error *err)
{
    memset(d, 0, sizeof *d);
    ax_idx im, lb;
    ax_status st = ax_idx_load(&im, images, 3, err);
    if (st) return st;
    if ((st = ax_idx_load(&lb, labels, 1, err))) { ax_idx_free(&im); return st; }
    int n = im.dims[0], rows = im.dims[1], cols = im.dims[2];
    if (lb.dims[0] != n)
        st = ax_fail(err, AX_ERR_FORMAT, "%s holds %d labels, %s %d images: not a pair", labels, lb.dims[0], images, n);
    int top = 0;
    for (int i = 0; i < n && !st; i++) {
        if (classes && lb.data[i] >= classes)
            st = ax_fail(err, AX_ERR_ARG, "%s: label %d of image %d is out of range for %d classes (0..%d)", labels,
                         lb.data[i], i, classes, classes - 1);
        if (lb.data[i] > top) top = lb.data[i];
    }
    int nc = classes ? classes : top + 1;
    int same = rows == in_h && cols == in_w;
    int rh = same ? in_h : in_h + in_h / 8, rw = same ? in_w : in_w + in_w / 8;
    if (!st && nc < 2)
        st = ax_fail(err, AX_ERR_ARG, "%s: every label is 0: training needs at least two classes", labels);
    size_t per = (size_t)rh * rw;
    if (!st && (size_t)n * per > AX_DATASET_MAX_BYTES)
        st = ax_fail(err, AX_ERR_NOMEM, "%s: %d images of %dx%d would take more than %zu MB", images, n, rw, rh,
                     AX_DATASET_MAX_BYTES >> 20);
    if (st) { ax_idx_free(&im); ax_idx_free(&lb); return st; }
    d->rh = rh;
    d->rw = rw;
    d->channels = 1;
    d->count = n;
    d->nclasses = nc;
    d->label = malloc((size_t)n * sizeof *d->label);
    d->class_names = calloc((size_t)nc, sizeof *d->class_names);
    d->pix = rows == rh && cols == rw ? im.data : malloc((size_t)n * per);
    if (d->pix == im.data) im.data = NULL;
    float *tmp = malloc(per * 3 * sizeof(float));
    unsigned char *rgb = malloc((size_t)rows * cols * 3);
    if (!d->label || !d->class_names || !d->pix || !tmp || !rgb)
        st = ax_fail(err, AX_ERR_NOMEM, "out of memory loading %s", images);
    for (int i = 0; i < n && !st; i++) d->label[i] = lb.data[i];
    int fashion = nc == 10 && rows == 28 && cols == 28 && names_fashion(images);
    for (int c = 0; c < nc && !st; c++) {
        char num[16];
        snprintf(num, sizeof num, "%d", c);
        if (!(d->class_names[c] = strdup(fashion ? fashion_names[c] : num)))
            st = ax_fail(err, AX_ERR_NOMEM, "out of memory");
    }
    if (!st && im.data) {
        /* Another size: resized as a folder's images are (the resizer takes RGB). */
        for (int i = 0; i < n; i++) {
            const unsigned char *g = im.data + (size_t)i * rows * cols;
            for (size_t k = 0; k < (size_t)rows * cols; k++) rgb[3 * k] = rgb[3 * k + 1] = rgb[3 * k + 2] = g[k];
            ax_resize_bilinear(tmp, rw, rh, rgb, cols, rows);
            unsigned char *dst = d->pix + (size_t)i * per;
            for (size_t k = 0; k < per; k++) {
                float v = tmp[3 * k] + 0.5f;
                dst[k] = (unsigned char)(v < 0 ? 0 : v > 255 ? 255 : v);
            }
        }
    }
    free(tmp);
    free(rgb);
    ax_idx_free(&im);
    ax_idx_free(&lb);
    if (st) ax_dataset_free(d);
    return st;
}

static int is_file(const char *path)
{
    struct stat sb;
    return !stat(path, &sb) && S_ISREG(sb.st_mode);
}

/* PREFIX-KIND-idxD-ubyte, or the same .gz: the first that exists, into out. */
static int find_idx(char *out, size_t size, const char *prefix, const char *kind)
{
    static const char *const tail[2] = {"", ".gz"};
    for (int i = 0; i < 2; i++) {
        if ((size_t)snprintf(out, size, "%s-%s-ubyte%s", prefix, kind, tail[i]) >= size) return 0;
        if (is_file(out)) return 1;
    }
    snprintf(out, size, "%s-%s-ubyte[.gz]", prefix, kind);
    return 0;
}

ax_status ax_dataset_open(ax_dataset *d, const char *path, int classes, int in_h, int in_w, char *what,
                          size_t what_size, ax_error *err)
{
    struct stat sb;
    if (!stat(path, &sb) && S_ISDIR(sb.st_mode)) {
        snprintf(what, what_size, "folder");
        return ax_dataset_load(d, path, in_h + in_h / 8, in_w + in_w / 8, err);
    }
    /* the image file's own name stands for its pair */
    char prefix[AX_PATH_MAX];
    snprintf(prefix, sizeof prefix, "%s", path);
    static const char *const own[2] = {"-images-idx3-ubyte", "-images-idx3-ubyte.gz"};
    for (int i = 0; i < 2; i++) {
        size_t n = strlen(prefix), k = strlen(own[i]);
        if (n > k && !strcmp(prefix + n - k, own[i])) prefix[n - k] = 0;
    }
    char im[AX_PATH_MAX + 32], lb[AX_PATH_MAX + 32];
    int have_im = find_idx(im, sizeof im, prefix, "images-idx3"), have_lb = find_idx(lb, sizeof lb, prefix,
                                                                                      "labels-idx1");
    if (!have_im && !have_lb)
        return ax_fail(err, AX_ERR_IO, "%s: neither a folder (one subfolder of images per class) nor the prefix of "
                       "an IDX pair (%s and %s)", path, im, lb);
    if (!have_im || !have_lb)
        return ax_fail(err, AX_ERR_IO, "%s: an IDX pair needs %s too (found %s)", path, have_im ? lb : im,
                       have_im ? im : lb);
    snprintf(what, what_size, "IDX %s + %s", im, lb);
    return ax_dataset_load_idx(d, im, lb, classes, in_h, in_w, err);
}

/* ---- SGD ---------------------------------------------------------------------------- */

ax_status ax_trainer_create(ax_trainer **out, ax_net *net, const unsigned char *frozen, double lr, double momentum,
                            double weight_decay, ax_error *err)
{
    *out = NULL;
    ax_trainer *t = calloc(1, sizeof *t);
    int L = net->nlayers;
    if (!t) return ax_fail(err, AX_ERR_NOMEM, "out of memory");
    t->net = net;
    t->lr = lr;
    t->momentum = momentum;
    t->weight_decay = weight_decay;
    t->logit = ax_grad_logit_layer(net);
    t->classes = (int)(ax_tensor_numel(&net->layers[t->logit].out) / (size_t)net->batch);
    t->vw = calloc((size_t)L + 1, sizeof *t->vw);
    t->vb = calloc((size_t)L + 1, sizeof *t->vb);
    t->prob = malloc((size_t)net->batch * t->classes * sizeof(float));
    ax_status st = t->vw && t->vb && t->prob ? ax_grad_create(&t->g, net, err)
                                             : ax_fail(err, AX_ERR_NOMEM, "out of memory");
    if (st) { ax_trainer_free(t); return st; }
    size_t count = 0;
    for (int i = 0; i < L; i++) {
        t->g->frozen[i] = frozen ? frozen[i] : 0;
        if (t->g->frozen[i]) continue;
        if (net->layers[i].weight.ndim) count += ax_tensor_numel(&net->layers[i].weight);
        if (net->layers[i].bias.ndim) count += ax_tensor_numel(&net->layers[i].bias);
    }
    t->vel = calloc(count + 1, sizeof(float));
    if (!t->vel) { ax_trainer_free(t); return ax_fail(err, AX_ERR_NOMEM, "out of memory for the momentum"); }
    float *p = t->vel;
    for (int i = 0; i < L; i++) {
        if (t->g->frozen[i]) continue;
        if (net->layers[i].weight.ndim) { t->vw[i] = p; p += ax_tensor_numel(&net->layers[i].weight); }
        if (net->layers[i].bias.ndim) { t->vb[i] = p; p += ax_tensor_numel(&net->layers[i].bias); }
    }
    *out = t;
    return AX_OK;
}

void ax_trainer_free(ax_trainer *t)
{
    if (!t) return;
    ax_grad_free(t->g);
    free(t->vel);
    free(t->vw);
    free(t->vb);
    free(t->prob);
    free(t);
}

typedef struct {
    float *w, *v;
    const float *g;
    float lr, m, wd;
} sgd_job;

static void sgd_part(void *arg, int b0, int b1)
{
    const sgd_job *j = arg;
    for (size_t i = (size_t)b0 * 4096; i < (size_t)b1 * 4096; i++) {
        float v = j->m * j->v[i] + j->g[i] + j->wd * j->w[i];
        j->v[i] = v;
        j->w[i] -= j->lr * v;
    }
}

/* PyTorch's SGD: v = m v + (g + wd w); w -= lr v. Blocks of 4096 over the
 * pool; the last partial block alone. */
static void sgd(float *w, float *v, const float *g, size_t n, const ax_trainer *t)
{
    sgd_job j = {w, v, g, (float)t->lr, (float)t->momentum, (float)t->weight_decay};
    int blocks = (int)(n / 4096);
    if (blocks > 16) ax_parallel_for(blocks, sgd_part, &j);
    else if (blocks) sgd_part(&j, 0, blocks);
    for (size_t i = (size_t)blocks * 4096; i < n; i++) {
        float vv = j.m * v[i] + g[i] + j.wd * w[i];
        v[i] = vv;
        w[i] -= j.lr * vv;
    }
}

static int count_correct(const float *logits, const int *labels, int n, int c)
{
    int ok = 0;
    for (int r = 0; r < n; r++) {
        const float *row = logits + (size_t)r * c;
        int k = 0;
        for (int i = 1; i < c; i++)
            if (row[i] > row[k]) k = i;
        ok += k == labels[r];
    }
    return ok;
}

ax_status ax_trainer_step(ax_trainer *t, const float *x, const int *labels, uint64_t seed, double *loss,
                          int *correct, ax_error *err)
{
    ax_net *net = t->net;
    ax_status st = ax_net_set_input(net, x, net->batch, net->input.shape[1], net->input.shape[2],
                                    net->input.shape[3], err);
    if (!st) st = ax_grad_forward(t->g, 1, seed, err);
    if (!st) st = ax_net_fetch(net, t->logit, err);
    if (st) return st;
    const float *logits = net->layers[t->logit].out.data;
    *loss = ax_softmax_xent(t->g->d_out[t->logit].data, t->prob, logits, labels, net->batch, t->classes);
    *correct = count_correct(logits, labels, net->batch, t->classes);
    /* A loss that is no number any more would turn every weight into NaN at
     * the update below: stop before it, with the weights as they were. */
    if (!isfinite(*loss))
        return ax_fail(err, AX_ERR_ARG, "the training loss became %s (the weights diverged; the last good ones are "
                       "kept)", isnan(*loss) ? "NaN" : "infinite");
    st = ax_grad_backward(t->g, t->logit, 0, err);
    if (st) return st;
    for (int i = 0; i <= t->logit; i++) {
        ax_layer *ly = &net->layers[i];
        if (t->vw[i]) sgd(ly->weight.data, t->vw[i], t->g->d_weight[i].data, ax_tensor_numel(&ly->weight), t);
        if (t->vb[i]) sgd(ly->bias.data, t->vb[i], t->g->d_bias[i].data, ax_tensor_numel(&ly->bias), t);
    }
    /* the backend gets the new weights; the outputs belonged to the old ones */
    return ax_net_weights_changed(net, -1, err);
}

ax_status ax_trainer_eval(ax_trainer *t, const float *x, const int *labels, int n_real, double *loss_sum,
                          int *correct, ax_error *err)
{
    ax_net *net = t->net;
    ax_status st = ax_net_set_input(net, x, net->batch, net->input.shape[1], net->input.shape[2],
                                    net->input.shape[3], err);
    if (!st) st = ax_grad_forward(t->g, 0, 0, err);
    if (!st) st = ax_net_fetch(net, t->logit, err);
    if (st) return st;
    const float *logits = net->layers[t->logit].out.data;
    double mean = ax_softmax_xent(t->g->d_out[t->logit].data, t->prob, logits, labels, n_real, t->classes);
    *loss_sum += mean * n_real;
    *correct += count_correct(logits, labels, n_real, t->classes);
    return AX_OK;
}

/* ---- files -------------------------------------------------------------------------- */

#define POSITION_NAME "alexscope.train.position"

static void wout(ax_wout *o, const char *name, const ax_tensor *shape_of, const float *data)
{
    memset(o, 0, sizeof *o);
    o->name = name;
    o->data = data;
    o->ndim = shape_of->ndim;
    for (int d = 0; d < shape_of->ndim; d++) o->shape[d] = shape_of->shape[d];
}

ax_status ax_trainer_save(const ax_trainer *t, const char *path, int checkpoint, int epoch, int step, uint64_t seed,
                          ax_error *err)
{
    const ax_net *net = t->net;
    int L = net->nlayers, n = 0;
    ax_wout *outs = calloc((size_t)4 * L + 1, sizeof *outs);
    char (*names)[AX_NAME_MAX + 16] = calloc((size_t)4 * L + 1, sizeof *names);
    if (!outs || !names) { free(outs); free(names); return ax_fail(err, AX_ERR_NOMEM, "out of memory"); }
    for (int i = 0; i < L; i++) {
        const ax_layer *ly = &net->layers[i];
        const ax_tensor *parts[2] = {&ly->weight, &ly->bias};
        const float *vel[2] = {t->vw[i], t->vb[i]};
        for (int p = 0; p < 2; p++) {
            if (!parts[p]->ndim) continue;
            snprintf(names[n], sizeof names[0], "%s.%s", ly->spec.name, p ? "bias" : "weight");
            wout(&outs[n], names[n], parts[p], parts[p]->data);
            n++;
            if (checkpoint && vel[p]) {
                snprintf(names[n], sizeof names[0], "%s.%s.momentum", ly->spec.name, p ? "bias" : "weight");
                wout(&outs[n], names[n], parts[p], vel[p]);
                n++;
            }
        }
    }
    /* Exact in float32: every value is below 2^24. */
    float pos[5] = {(float)epoch, (float)step, (float)(seed & 0xFFFFFF), (float)((seed >> 24) & 0xFFFFFF),
                    (float)((seed >> 48) & 0xFFFF)};
    if (checkpoint) {
        memset(&outs[n], 0, sizeof outs[n]);
        outs[n].name = POSITION_NAME;
        outs[n].data = pos;
        outs[n].ndim = 1;
        outs[n].shape[0] = 5;
        n++;
    }
    char model[AX_NAME_MAX + 16];
    snprintf(model, sizeof model, "%s", net->spec.name);
    const char *meta[] = {"alexscope.model", model, "alexscope.kind", checkpoint ? "training checkpoint" : "trained weights"};
    /* Weights that are not numbers are never written: they would only
     * spread (a resume or a --weights run would train or show nothing). */
    ax_status st = AX_OK;
    for (int i = 0; i < n && !st; i++) {
        size_t numel = 1;
        for (int d = 0; d < outs[i].ndim; d++) numel *= (size_t)outs[i].shape[d];
        for (size_t k = 0; k < numel; k++)
            if (!isfinite(outs[i].data[k])) {
                st = ax_fail(err, AX_ERR_ARG, "%s: not written: '%s' holds %s values (training diverged; try a "
                             "smaller --lr)", path, outs[i].name, isnan(outs[i].data[k]) ? "NaN" : "infinite");
                break;
            }
    }
    /* The writer is atomic (ax_file_create): a run killed while writing
     * leaves the previous file whole. */
    if (!st) st = ax_safetensors_write_meta(path, outs, n, meta, 2, err);
    free(outs);
    free(names);
    return st;
}

ax_status ax_trainer_resume(ax_trainer *t, const char *path, int *epoch, int *step, uint64_t *seed, ax_error *err)
{
    ax_wfile *f = NULL;
    ax_status st = ax_wfile_open(&f, path, err);
    if (st) return st;
    ax_net *net = t->net;
    const ax_wentry *pe = ax_wfile_find(f, POSITION_NAME);
    if (!pe || ax_wentry_numel(pe) != 5) {
        ax_wfile_close(f);
        return ax_fail(err, AX_ERR_FORMAT, "%s: not a training checkpoint (no '%s'; weights alone load with --weights)",
                       path, POSITION_NAME);
    }
    float pos[5];
    ax_wentry_to_f32(pe, pos);
    /* The position is epoch, batch and the seed in three 24-bit parts, each a
     * whole number a float holds exactly: anything else is a damaged or a
     * made-up checkpoint, refused before it indexes anything. */
    static const char *const what[5] = {"epoch", "batch", "seed (low part)", "seed (middle part)",
                                        "seed (high part)"};
    for (int i = 0; i < 5; i++) {
        double lim = i == 4 ? 65535.0 : 16777215.0;
        if (!(pos[i] >= 0 && pos[i] <= lim) || pos[i] != floorf(pos[i])) {
            ax_wfile_close(f);
            return ax_fail(err, AX_ERR_FORMAT, "%s: damaged checkpoint: its %s is %g; a whole number 0..%.0f was "
                           "expected", path, what[i], (double)pos[i], lim);
        }
    }
    for (int i = 0; i < net->nlayers && !st; i++) {
        ax_layer *ly = &net->layers[i];
        ax_tensor *parts[2] = {&ly->weight, &ly->bias};
        float *vel[2] = {t->vw[i], t->vb[i]};
        for (int p = 0; p < 2 && !st; p++) {
            if (!parts[p]->ndim) continue;
            for (int m = 0; m < 2 && !st; m++) {
                if (m && !vel[p]) continue;
                char name[AX_NAME_MAX + 32];
                snprintf(name, sizeof name, "%s.%s%s", ly->spec.name, p ? "bias" : "weight", m ? ".momentum" : "");
                const ax_wentry *e = ax_wfile_find(f, name);
                if (!e || ax_wentry_numel(e) != ax_tensor_numel(parts[p])) {
                    st = ax_fail(err, e ? AX_ERR_SHAPE : AX_ERR_MISSING, "%s: '%s' is %s (was the checkpoint made "
                                 "with the same model, --classes and --train-layers?)", path, name,
                                 e ? "misshaped" : "missing");
                    break;
                }
                ax_wentry_to_f32(e, m ? vel[p] : parts[p]->data);
            }
        }
    }
    ax_wfile_close(f);
    if (st) return st;
    *epoch = (int)pos[0];
    *step = (int)pos[1];
    *seed = (uint64_t)pos[2] | ((uint64_t)pos[3] << 24) | ((uint64_t)pos[4] << 48);
    net->untrained = 0;
    return ax_net_weights_changed(net, -1, err);
}
