/* `alexscope train`: fine-tune or train a model on an image folder (one
 * subfolder per class) or an IDX image/label pair with SGD, a progress bar per epoch, train and
 * validation loss and accuracy, checkpoints at each epoch's end and on
 * Ctrl-C, --resume. Writes W.safetensors, and W.net + W.labels.txt (the
 * spec with its class count and labels) so that the result loads anywhere. */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alexscope/cpu.h"
#include "alexscope/grad.h"
#include "alexscope/weights.h"
#include "cli.h"
#include "alexscope/clock.h"
#include "alexscope/fileio.h"
#include "alexscope/train.h"

static volatile sig_atomic_t stop_requested;

static void on_sigint(int sig)
{
    (void)sig;
    stop_requested = 1;
}

/* Marks the layers a comma list names; every name must be a weighted layer. */
static int mark_layers(unsigned char *mark, const ax_net *net, const char *list, const char *opt)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", list);
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        int i = ax_net_find(net, tok);
        if (i < 0 || !net->layers[i].weight.ndim) {
            fprintf(stderr, "alexscope: %s %s: the %s model has no %slayer '%s'; its layers with weights:", opt, list,
                    net->spec.name, i < 0 ? "" : "weighted ", tok);
            for (int j = 0; j < net->nlayers; j++)
                if (net->layers[j].weight.ndim) fprintf(stderr, " %s", net->layers[j].spec.name);
            fprintf(stderr, "\n");
            return 2;
        }
        mark[i] = 1;
    }
    return 0;
}

/* "W" of "W.safetensors" (or the whole name). */
static void out_base(char *base, size_t size, const char *out)
{
    snprintf(base, size, "%s", out);
    size_t n = strlen(base);
    if (n > 12 && !strcmp(base + n - 12, ".safetensors")) base[n - 12] = 0;
}

/* W.net: the source spec with the resized layer's out= and a labels line for
 * W.labels.txt; W.labels.txt: the class names (folders', or an IDX pair's). */
static ax_status write_spec(const char *base, const ax_spec *orig, const ax_spec *spec, int resized,
                            const ax_dataset *d, ax_error *err)
{
    char *text = NULL;
    size_t size = 0;
    ax_status st = ax_file_slurp(orig->path, "net spec", 1 << 20, &text, &size, err);
    if (st) return st;
    char path[AX_PATH_MAX + 32], labels[AX_PATH_MAX + 32];
    snprintf(labels, sizeof labels, "%s.labels.txt", base);
    ax_file_out lo, fo;
    if ((st = ax_file_create(&lo, labels, err))) { free(text); return st; }
    int lok = 1;
    for (int i = 0; i < d->nclasses; i++) lok = lok && fprintf(lo.fp, "%s\n", d->class_names[i]) >= 0;
    if ((st = ax_file_commit(&lo, lok, err))) { free(text); return st; }
    snprintf(path, sizeof path, "%s.net", base);
    if ((st = ax_file_create(&fo, path, err))) { free(text); return st; }
    FILE *f = fo.fp;
    const char *slash = strrchr(labels, '/');
    fprintf(f, "# Written by alexscope train from %s: %d classes, labels in %s.\n", orig->path, d->nclasses,
            slash ? slash + 1 : labels);
    int line = 0, labels_done = 0;
    for (char *p = text; *p;) {
        size_t len = strcspn(p, "\n");
        line++;
        char *l = p;
        p += len + (p[len] == '\n');
        l[len] = 0;
        const char *t = l + strspn(l, " \t");
        int changed = 0;
        for (int i = 0; i < spec->nlayers && resized; i++) {
            if (spec->layers[i].line != line || spec->layers[i].out_c == orig->layers[i].out_c) continue;
            char *o = strstr(l, "out=");
            if (o) {
                fprintf(f, "%.*sout=%d%s\n", (int)(o - l), l, spec->layers[i].out_c, o + 4 + strspn(o + 4, "0123456789"));
                changed = 1;
            }
        }
        if (changed) continue;
        if (!strncmp(t, "labels", 6) && (t[6] == ' ' || t[6] == '\t')) {
            fprintf(f, "labels      %s\n", slash ? slash + 1 : labels);
            labels_done = 1;
            continue;
        }
        fprintf(f, "%s\n", l);
        if (!labels_done && !strncmp(t, "input", 5) && (t[5] == ' ' || t[5] == '\t')) {
            fprintf(f, "labels      %s\n", slash ? slash + 1 : labels);
            labels_done = 1;
        }
    }
    free(text);
    return ax_file_commit(&fo, !ferror(f), err);
}

static void progress(int epoch, int epochs, int done, int total, double loss, double ips)
{
    char bar[31];
    int fill = total ? done * 30 / total : 30;
    for (int i = 0; i < 30; i++) bar[i] = i < fill ? '#' : '.';
    bar[30] = 0;
    fprintf(stderr, "\repoch %d/%d [%s] %d/%d  loss %.4f  %.1f images/s ", epoch, epochs, bar, done, total, loss, ips);
    fflush(stderr);
}

int ax_cmd_train(const ax_cli_opts *o)
{
    /* refused by name, whether or not this build has the device */
    if (o->device && (!strcmp(o->device, "cuda") || !strcmp(o->device, "gpu"))) {
        fprintf(stderr, "alexscope: train: the backward pass runs on the CPU; --device %s is not supported for "
                        "train\n", o->device);
        return 2;
    }
    if (!o->data_dir || !o->train_out) {
        return ax_cli_error(2, "train needs --data DIR (one folder of images per class) or --data P (an IDX pair "
                        "P-images-idx3-ubyte[.gz], P-labels-idx1-ubyte[.gz]) and --out W.safetensors (see alexscope "
                        "--help)");
    }
    if (o->image || o->input_npy) {
        fprintf(stderr, "alexscope: train reads its images from --data; it takes no IMAGE or --input\n");
        return 2;
    }
    ax_error err = {0};
    ax_spec *orig = calloc(1, sizeof *orig), *spec = calloc(1, sizeof *spec);
    ax_dataset data = {0};
    ax_net *net = NULL, *src = NULL;
    ax_trainer *t = NULL;
    unsigned char *frozen = NULL, *reinit = NULL;
    int *order = NULL, *perm = NULL, *labels = NULL, rc = 1;
    uint64_t *keys = NULL;
    float *x = NULL;
    struct sigaction old_sa;
    int sa_set = 0;
    if (!orig || !spec) { ax_fail(&err, AX_ERR_NOMEM, "out of memory"); goto fail; }
    if (ax_spec_load(orig, o->model, &err)) goto fail;
    {
        /* Nothing it reads is written over (mini.net is no output of
         * --out mini.safetensors), and every output's folder takes a file,
         * found now, not after the images load. The checkpoint --resume
         * reads is the one it keeps writing: that one is meant. */
        char b[AX_PATH_MAX], net_out[AX_PATH_MAX + 32], labels_out[AX_PATH_MAX + 32], ck[AX_PATH_MAX + 32],
            spec_labels[2 * AX_PATH_MAX] = "";
        out_base(b, sizeof b, o->train_out);
        snprintf(net_out, sizeof net_out, "%s.net", b);
        snprintf(labels_out, sizeof labels_out, "%s.labels.txt", b);
        snprintf(ck, sizeof ck, "%s.ckpt.safetensors", b);
        if (orig->labels[0]) {
            const char *slash = strrchr(orig->path, '/');
            if (strchr(orig->labels, '/')) snprintf(spec_labels, sizeof spec_labels, "%s", orig->labels);
            else snprintf(spec_labels, sizeof spec_labels, "%.*s%s", slash ? (int)(slash - orig->path + 1) : 0,
                          orig->path, orig->labels);
        }
        const char *inputs[] = {orig->path, spec_labels, o->weights, o->resume, NULL};
        const char *outs[] = {o->train_out, net_out, labels_out, ck};
        for (int i = 0; i < 4; i++) {
            inputs[3] = i == 3 ? NULL : o->resume;
            int bad = ax_cli_check_output(outs[i], "train", inputs, i == 0 ? ".safetensors" : NULL);
            if (bad) { rc = bad; goto done; }
        }
    }
    *spec = *orig;
    /* 3 channels, as everything else that feeds a net an image: grey (IDX)
     * images go into all three. */
    if (spec->in_c != 3) {
        ax_fail(&err, AX_ERR_ARG, "%s: train feeds 3-channel images (grey ones replicated); the model's input has %d "
                "channels", spec->path, spec->in_c);
        goto fail;
    }
    if (o->threads) ax_cpu_set_threads(o->threads);
    ax_backend_options bo = ax_cli_backend_options(o);
    const ax_backend *be = ax_backend_find(o->device, &err);
    if (!be) goto fail;
    if (!be->host_memory) {
        fprintf(stderr, "alexscope: train: the backward pass runs on the CPU; --device %s is not supported for "
                        "train\n", o->device);
        rc = 2;
        goto done;
    }

    /* The classifier's last layer must have one output per class. */
    int lastfc = -1;
    for (int i = 0; i < spec->nlayers; i++)
        if (spec->layers[i].type == AX_L_FC) lastfc = i;
    if (lastfc < 0) {
        ax_fail(&err, AX_ERR_ARG, "the %s model has no fully connected layer to classify with", spec->name);
        goto fail;
    }
    /* An IDX pair's labels are checked against the class count: --classes,
     * else the model's. A folder's count is its subfolders'. */
    double t0 = ax_clock_ms();
    char what[3 * AX_PATH_MAX + 96];
    if (ax_dataset_open(&data, o->data_dir, o->classes ? o->classes : spec->layers[lastfc].out_c, spec->in_h,
                        spec->in_w, what, sizeof what, &err))
        goto fail;
    printf("data     %s: %d images in %d classes (%s", o->data_dir, data.count, data.nclasses, data.class_names[0]);
    for (int i = 1; i < data.nclasses && i < 6; i++) printf(", %s", data.class_names[i]);
    printf("%s), read in %.1f s\n", data.nclasses > 6 ? ", ..." : "", (ax_clock_ms() - t0) / 1000);
    if (data.channels == 1)
        printf("         %s; %dx%d grey, in all 3 channels%s\n", what, data.rw, data.rh,
               data.rh == spec->in_h && data.rw == spec->in_w ? "" : ", resized");

    int resized = 0;
    if (o->classes && o->classes != data.nclasses) {
        ax_fail(&err, AX_ERR_ARG, "--classes %d: %s has %d class%s", o->classes, o->data_dir, data.nclasses,
                data.channels == 1 ? "es" : " folders");
        goto fail;
    }
    if (spec->layers[lastfc].out_c != data.nclasses) {
        if (!o->classes) {
            ax_fail(&err, AX_ERR_ARG, "%s has %d classes, the %s model's '%s' has %d outputs: --classes %d replaces "
                    "it with a new layer of %d", o->data_dir, data.nclasses, spec->name, spec->layers[lastfc].name,
                    spec->layers[lastfc].out_c, data.nclasses, data.nclasses);
            goto fail;
        }
        spec->layers[lastfc].out_c = data.nclasses;
        resized = 1;
    }

    /* Split: a seeded permutation; the first val_split of it validates. */
    uint64_t seed = (uint64_t)o->seed;
    perm = malloc((size_t)data.count * sizeof *perm);
    if (!perm) { ax_fail(&err, AX_ERR_NOMEM, "out of memory"); goto fail; }
    for (int i = 0; i < data.count; i++) perm[i] = i;
    ax_shuffle(perm, data.count, seed ^ 0x5b117ull);
    int nval = (int)(data.count * o->val_split + 0.5), ntrain = data.count - nval;
    if (ntrain < 1) { ax_fail(&err, AX_ERR_ARG, "%s: no images left to train on after the split", o->data_dir); goto fail; }
    int batch = o->batch_given ? o->batch : 16;
    if (batch > ntrain) batch = ntrain;

    if (ax_net_create_with(&net, spec, batch, be, &bo, &err)) goto fail;
    frozen = calloc((size_t)net->nlayers, 1);
    reinit = calloc((size_t)net->nlayers, 1);
    if (!frozen || !reinit) { ax_fail(&err, AX_ERR_NOMEM, "out of memory"); goto fail; }
    if (o->reinit && (rc = mark_layers(reinit, net, o->reinit, "--reinit"))) goto done;
    int user_reinit_last = reinit[lastfc];
    if (resized) reinit[lastfc] = 1;
    if (o->train_layers) {
        unsigned char *train = calloc((size_t)net->nlayers, 1);
        if (!train) { ax_fail(&err, AX_ERR_NOMEM, "out of memory"); goto fail; }
        rc = mark_layers(train, net, o->train_layers, "--train-layers");
        for (int i = 0; i < net->nlayers; i++) frozen[i] = net->layers[i].weight.ndim && !train[i];
        free(train);
        if (rc) goto done;
        rc = 1;
        for (int i = 0; i < net->nlayers; i++)
            if (reinit[i] && frozen[i]) {
                ax_fail(&err, AX_ERR_ARG, "'%s' is re-initialised%s but not in --train-layers: it would stay random",
                        net->layers[i].spec.name, resized && i == lastfc ? " (resized to the classes)" : "");
                goto fail;
            }
    }
    if (o->train_layers && !o->weights && !o->resume) {
        /* frozen and never loaded: those layers stay the seeded noise */
        char names[400] = "";
        for (int i = 0; i < net->nlayers; i++)
            if (frozen[i] && strlen(names) + strlen(net->layers[i].spec.name) + 3 < sizeof names)
                snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", names[0] ? ", " : "",
                         net->layers[i].spec.name);
        if (names[0])
            fprintf(stderr, "alexscope: warning: %s are frozen (not in --train-layers) but no --weights were given: "
                    "they stay seeded, untrained, and the layers after them learn from noise; give --weights W or "
                    "train them too\n", names);
    }
    /* Seeded weights everywhere, then the file's for every layer not re-initialised. */
    ax_net_init_for_training(net, seed ^ 0x1a1eull);
    if (o->weights && !o->resume) {
        char notes[600] = "";
        if (ax_net_create_with(&src, orig, 1, be, &bo, &err)) goto fail;
        ax_status st = ax_net_load_weights(src, o->weights, o->lenient, notes, sizeof notes, &err);
        if (st == AX_ERR_SHAPE && resized) {
            /* Weights trained before with this class count (a file train wrote). */
            ax_net_free(src);
            src = NULL;
            if (ax_net_create_with(&src, spec, 1, be, &bo, &err)) goto fail;
            st = ax_net_load_weights(src, o->weights, o->lenient, notes, sizeof notes, &err);
            if (!st && !user_reinit_last) reinit[lastfc] = 0;
        }
        if (st) goto fail;
        ax_cli_print_notes(stderr, notes);
        for (int i = 0; i < net->nlayers; i++) {
            if (reinit[i] || !net->layers[i].weight.ndim) continue;
            memcpy(net->layers[i].weight.data, src->layers[i].weight.data,
                   ax_tensor_numel(&net->layers[i].weight) * sizeof(float));
            if (net->layers[i].bias.ndim)
                memcpy(net->layers[i].bias.data, src->layers[i].bias.data,
                       ax_tensor_numel(&net->layers[i].bias) * sizeof(float));
        }
        if (ax_net_weights_changed(net, -1, &err)) goto fail;
        ax_net_free(src);
        src = NULL;
    }
    if (ax_trainer_create(&t, net, frozen, o->lr, o->momentum, o->weight_decay, &err)) goto fail;
    int epoch0 = 0, step0 = 0;
    if (o->resume) {
        uint64_t s2;
        if (ax_trainer_resume(t, o->resume, &epoch0, &step0, &s2, &err)) goto fail;
        if (s2 != seed) {
            ax_fail(&err, AX_ERR_ARG, "%s was made with --seed %llu, not %llu: the split and order would differ",
                    o->resume, (unsigned long long)s2, (unsigned long long)seed);
            goto fail;
        }
        /* In range for this run, or the loop below would skip or index past it */
        int steps_per_epoch = ntrain / batch;
        if (epoch0 > o->epochs || step0 > steps_per_epoch || (epoch0 == o->epochs && step0)) {
            ax_fail(&err, AX_ERR_ARG, "%s: damaged checkpoint or another run's: it stands at epoch %d, batch %d, "
                    "beyond this run's %d epochs of %d batches", o->resume, epoch0, step0, o->epochs,
                    steps_per_epoch);
            goto fail;
        }
    }

    printf("model    %s%s, batch %d, %s\n", spec->name, resized ? " (last layer resized to the classes)" : "", batch,
           o->weights && !o->resume ? o->weights : o->resume ? o->resume : "seeded initial weights");
    printf("train    %d images, validate %d; SGD lr %g momentum %g weight decay %g; augmentation %s; seed %llu\n",
           ntrain, nval, o->lr, o->momentum, o->weight_decay,
           o->no_augment ? "off" : data.rh == spec->in_h && data.rw == spec->in_w ? "flip (no room to crop)"
                                                                                : "random crop and flip",
           (unsigned long long)seed);
    printf("layers  ");
    for (int i = 0; i < net->nlayers; i++)
        if (net->layers[i].weight.ndim)
            printf(" %s%s", net->layers[i].spec.name, frozen[i] ? " (frozen)" : reinit[i] ? " (new)" : "");
    printf("\n");
    if (o->resume) printf("resume   at epoch %d, batch %d\n", epoch0 + 1, step0 + 1);
    fflush(stdout);

    char base[AX_PATH_MAX], ckpt[AX_PATH_MAX + 32];
    out_base(base, sizeof base, o->train_out);
    snprintf(ckpt, sizeof ckpt, "%s.ckpt.safetensors", base);
    {
        /* Find out now, not after the first epoch, that the output cannot be
         * written: the writer's own temporary, made and removed. */
        ax_file_out probe;
        if (ax_file_create(&probe, ckpt, &err)) goto fail;
        ax_file_abandon(&probe);
    }
    order = malloc((size_t)ntrain * sizeof *order);
    labels = malloc((size_t)batch * sizeof *labels);
    keys = malloc((size_t)batch * sizeof *keys);
    x = malloc(ax_tensor_numel(&net->input) * sizeof *x);
    if (!order || !labels || !keys || !x) { ax_fail(&err, AX_ERR_NOMEM, "out of memory"); goto fail; }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    stop_requested = 0;
    sa_set = sigaction(SIGINT, &sa, &old_sa) == 0;
    int tty = isatty(STDERR_FILENO), steps = ntrain / batch, grow_warned = 0;
    double first_loss = 0;
    for (int e = epoch0; e < o->epochs; e++) {
        memcpy(order, perm + nval, (size_t)ntrain * sizeof *order);
        ax_shuffle(order, ntrain, ax_hash64(seed ^ ((uint64_t)(e + 1) << 32)));
        double loss_sum = 0, te = ax_clock_ms();
        int correct = 0, seen = 0;
        for (int s = e == epoch0 ? step0 : 0; s < steps; s++) {
            for (int i = 0; i < batch; i++) keys[i] = ((uint64_t)e << 32) | (uint64_t)(s * batch + i);
            ax_dataset_batch(x, labels, &data, order + (size_t)s * batch, keys, batch, spec, !o->no_augment, seed);
            double loss = 0;
            int ok;
            if (ax_trainer_step(t, x, labels, ax_hash64(seed ^ keys[0] ^ 0xd50ull), &loss, &ok, &err)) {
                if (tty) fprintf(stderr, "\r\033[K");
                if (!isfinite(loss)) {
                    char m[sizeof err.msg];
                    snprintf(m, sizeof m, "%s", err.msg);
                    ax_fail(&err, AX_ERR_ARG, "epoch %d, batch %d: %s; no weights were written from it: try a smaller --lr "
                            "(this run's is %g)", e + 1, s + 1, m, o->lr);
                }
                goto fail;
            }
            loss_sum += loss * batch;
            correct += ok;
            seen += batch;
            if (tty) progress(e + 1, o->epochs, s + 1, steps, loss_sum / seen, seen / ((ax_clock_ms() - te) / 1000));
            if (stop_requested) {
                if (tty) fprintf(stderr, "\r\033[K");
                if (ax_trainer_save(t, ckpt, 1, e, s + 1, seed, &err)) goto fail;
                printf("stopped after batch %d of epoch %d; checkpoint %s (continue with --resume %s)\n", s + 1, e + 1,
                       ckpt, ckpt);
                rc = 130;
                goto done;
            }
        }
        double secs = (ax_clock_ms() - te) / 1000;
        if (tty) fprintf(stderr, "\r\033[K");
        double vloss = 0;
        int vok = 0;
        for (int v = 0; v < nval; v += batch) {
            int n = nval - v < batch ? nval - v : batch;
            for (int i = 0; i < batch; i++) keys[i] = 0;
            /* A short last batch is filled with its first image, not counted. */
            int idx[batch];
            for (int i = 0; i < batch; i++) idx[i] = perm[v + (i < n ? i : 0)];
            ax_dataset_batch(x, labels, &data, idx, keys, batch, spec, 0, seed);
            if (ax_trainer_eval(t, x, labels, n, &vloss, &vok, &err)) goto fail;
        }
        printf("epoch %d/%d  train loss %.4f acc %5.1f%%", e + 1, o->epochs, seen ? loss_sum / seen : 0,
               seen ? 100.0 * correct / seen : 0);
        if (nval) printf("  val loss %.4f acc %5.1f%%", vloss / nval, 100.0 * vok / nval);
        printf("  %.1f images/s\n", secs > 0 ? seen / secs : 0);
        fflush(stdout);
        /* The first epochs' loss growing is a step too large, not bad luck.
         * The seeded start gives classes near uniform, a loss near ln(C); a
         * first epoch far above that, or a second above the first, grew. */
        double eloss = seen ? loss_sum / seen : 0, chance = log((double)data.nclasses);
        if (epoch0 == 0 && e < 2 && !grow_warned && (eloss > 1.5 * chance || (e == 1 && eloss > 1.05 * first_loss))) {
            if (e == 0)
                fprintf(stderr, "alexscope: warning: the training loss grew in the first epoch (from about %.4f, "
                        "ln of %d classes, to %.4f): --lr %g may be too large; try --lr %.2g\n", chance,
                        data.nclasses, eloss, o->lr, o->lr / 3);
            else
                fprintf(stderr, "alexscope: warning: the training loss grew over the first epochs (%.4f, then "
                        "%.4f): --lr %g may be too large; try --lr %.2g\n", first_loss, eloss, o->lr, o->lr / 3);
            fflush(stderr);
            grow_warned = 1;
        }
        if (e == 0) first_loss = eloss;
        if (ax_trainer_save(t, ckpt, 1, e + 1, 0, seed, &err)) goto fail;
    }
    if (ax_trainer_save(t, o->train_out, 0, 0, 0, seed, &err) || write_spec(base, orig, spec, resized, &data, &err))
        goto fail;
    printf("wrote %s, %s.net and %s.labels.txt\n  use: alexscope --model %s.net --weights %s IMAGE\n", o->train_out,
           base, base, base, o->train_out);
    rc = 0;
    goto done;
fail:
    rc = 1;
    ax_cli_fail(&err);
done:
    if (sa_set) sigaction(SIGINT, &old_sa, NULL);
    ax_trainer_free(t);
    ax_net_free(net);
    ax_net_free(src);
    ax_dataset_free(&data);
    free(orig); free(spec); free(frozen); free(reinit); free(order); free(perm); free(labels); free(keys); free(x);
    return rc;
}
