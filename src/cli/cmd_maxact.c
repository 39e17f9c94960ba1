/* `alexscope maxact --layer L [--channel C | --channels A-B] [--top K]
 * [--save OUT] DIR`: for each channel of one layer, the K images of a folder
 * whose activation peaks highest, the value and where; --save writes each
 * peak's receptive-field crop and a contact sheet per channel as PNG. The
 * ranking and the crops are src/analysis/maxact.c's; this file parses,
 * prints and names files. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alexscope/clock.h"
#include "alexscope/cpu.h"
#include "alexscope/maxact.h"
#include "alexscope/teach.h"
#include "alexscope/text.h"
#include "cli.h"
#include "json.h"

/* Channels asked for saved at a time: the crops of one group are in memory
 * together, each image they name decoded once per group. */
#define SAVE_GROUP 16

typedef struct {
    int tty;
    cJSON *jskipped;
} pass_ctx;

static void on_progress(void *user, int done, int total)
{
    pass_ctx *c = user;
    if (!c->tty) return;
    int width = 30, fill = total ? done * width / total : width;
    fprintf(stderr, "\r[%.*s%*s] %d/%d images", fill, "##############################", width - fill, "", done, total);
    if (done == total) fprintf(stderr, "\r\033[K");
    fflush(stderr);
}

static void on_skipped(void *user, int image, const ax_error *why)
{
    pass_ctx *c = user;
    (void)image;
    if (c->tty) fprintf(stderr, "\r\033[K");
    fprintf(stderr, "alexscope: note: skipped, not an image it can read: %s\n", why->msg);
    if (c->jskipped) ax_cli_json_str(c->jskipped, NULL, why->msg);
}

/* "A-B" (or "A") within 0..c-1; 0, or 2 after the message. */
static int parse_channels(const char *s, int c, const char *layer, int *a, int *b)
{
    char *end;
    errno = 0;
    long x = strtol(s, &end, 10), y = x;
    if (!errno && end != s && *end == '-') {
        const char *t = end + 1;
        y = strtol(t, &end, 10);
        if (end == t) end = (char *)t - 1;   /* "3-": no second number */
    }
    if (errno || end == s || *end || x < 0 || y < x)
        return ax_cli_error(2, "maxact: --channels %s: expected A-B, two channel numbers with A <= B", s);
    if (y >= c)
        return ax_cli_error(2, "maxact: --channels %s: '%s' has channels 0..%d", s, layer, c - 1);
    *a = (int)x;
    *b = (int)y;
    return 0;
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

/* OUT/<layer>-c<CCCC>-<rank>.png, or -sheet.png for rank 0. */
static void crop_path(char *buf, size_t size, const char *dir, const char *layer, int ch, int rank)
{
    char f[AX_NAME_MAX * 2];
    ax_name_to_file(f, sizeof f, layer);
    if (rank > 0) snprintf(buf, size, "%s/%s-c%04d-%d.png", dir, f, ch, rank);
    else snprintf(buf, size, "%s/%s-c%04d-sheet.png", dir, f, ch);
}

/* The crops and sheets of channels c0..c1 into dir; counts what it wrote. */
static ax_status save_crops(const char *dir, const ax_maxact_top *t, int c0, int c1, const ax_net *net, int layer,
                            char *const *files, int *crops, int *sheets, ax_error *err)
{
    const char *lname = net->layers[layer].spec.name;
    ax_maxact_crop *cr = malloc((size_t)SAVE_GROUP * t->k * sizeof *cr);
    if (!cr) return ax_fail(err, AX_ERR_NOMEM, "maxact: out of memory for the crops");
    ax_status st = AX_OK;
    for (int g0 = c0; g0 <= c1 && !st; g0 += SAVE_GROUP) {
        int g1 = g0 + SAVE_GROUP - 1 < c1 ? g0 + SAVE_GROUP - 1 : c1;
        st = ax_maxact_crops(cr, t, g0, g1, net, layer, files, err);
        for (int c = g0; c <= g1 && !st; c++) {
            const ax_maxact_crop *row = cr + (size_t)(c - g0) * t->k;
            int n;
            ax_maxact_top_list(t, c, &n);
            char path[AX_PATH_MAX + 2 * AX_NAME_MAX];
            for (int r = 0; r < n && !st; r++) {
                if (!row[r].rgb) {
                    fprintf(stderr, "alexscope: note: %s could not be read again: no crop for channel %d rank %d\n",
                            files[ax_maxact_top_list(t, c, &n)[r].image], c, r + 1);
                    continue;
                }
                crop_path(path, sizeof path, dir, lname, c, r + 1);
                st = ax_png_write(path, row[r].rgb, row[r].w, row[r].h, err);
                *crops += !st;
            }
            if (st || !n) continue;
            unsigned char *sheet;
            int sw, sh;
            st = ax_maxact_sheet(&sheet, &sw, &sh, row, n, err);
            if (!st) {
                crop_path(path, sizeof path, dir, lname, c, 0);
                st = ax_png_write(path, sheet, sw, sh, err);
                free(sheet);
                *sheets += !st;
            }
        }
        ax_maxact_crops_free(cr, (g1 - g0 + 1) * t->k);
    }
    free(cr);
    return st;
}

static int is_dir(const char *path)
{
    struct stat sb;
    return !stat(path, &sb) && S_ISDIR(sb.st_mode);
}

int ax_cmd_maxact(const ax_cli_opts *o)
{
    int json = ax_cli_json_format(o->format);
    if (json < 0) return 2;
    if (!o->maxact_layer) return ax_cli_error(2, "maxact: give --layer L (a layer name; alexscope summary lists them)");
    if (!o->image) return ax_cli_error(2, "maxact: give a folder of images (alexscope maxact --layer conv5 samples)");
    if (!is_dir(o->image))
        return ax_cli_error(2, "maxact: %s: not a folder; maxact ranks the images of a folder", o->image);
    if (o->maxact_channel >= 0 && o->maxact_channels)
        return ax_cli_error(2, "maxact: give --channel C or --channels A-B, not both");
    if (o->diff_save && ax_cli_check_output_dir(o->diff_save)) return 1;

    /* "samples/" names samples/chelsea.png, not samples//chelsea.png */
    char dir[AX_PATH_MAX];
    snprintf(dir, sizeof dir, "%s", o->image);
    for (size_t n = strlen(dir); n > 1 && dir[n - 1] == '/';) dir[--n] = 0;
    ax_error err = { 0 };
    char **files = NULL;
    int nfiles = 0;
    if (ax_maxact_list_images(&files, &nfiles, dir, &err)) return ax_cli_fail(&err);
    ax_cli_session se;
    ax_cli_opts oo = *o;
    oo.quiet = json;
    ax_status st = ax_cli_open(&se, &oo, 0, &err);
    if (st) {
        ax_maxact_list_free(files, nfiles);
        ax_cli_close(&se);
        return ax_cli_fail(&err);
    }
    ax_cli_print_notes(stderr, se.warn);
    ax_net *net = se.net;
    int rc = 1;
    cJSON *doc = NULL;
    ax_maxact_top top = { 0 };
    int layer = ax_net_find(net, o->maxact_layer);
    if (layer < 0) {
        char names[2048] = "";
        for (int i = 0; i < net->nlayers; i++)
            snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", i ? " " : "",
                     net->layers[i].spec.name);
        rc = ax_cli_error(2, "maxact: --layer %s: the %s model has no such layer; its layers: %s", o->maxact_layer,
                          net->spec.name, names);
        goto out;
    }
    int n, c, h, w;
    ax_tensor_nchw(&net->layers[layer].out, &n, &c, &h, &w);
    const char *lname = net->layers[layer].spec.name;
    int c0 = 0, c1 = c - 1;
    if (o->maxact_channel >= 0) {
        if (o->maxact_channel >= c) {
            rc = ax_cli_error(2, "maxact: --channel %d: '%s' has channels 0..%d", o->maxact_channel, lname, c - 1);
            goto out;
        }
        c0 = c1 = o->maxact_channel;
    } else if (o->maxact_channels && (rc = parse_channels(o->maxact_channels, c, lname, &c0, &c1))) {
        goto out;
    }
    rc = 1;
    int k = o->maxact_top > 0 ? o->maxact_top : 5;
    if ((st = ax_maxact_top_init(&top, c, k, h, w, &err))) goto fail;

    pass_ctx ctx = { .tty = !json && isatty(STDERR_FILENO) };
    if (json) {
        doc = cJSON_CreateObject();
        if (!doc) { st = ax_fail(&err, AX_ERR_NOMEM, "out of memory"); goto fail; }
        ax_cli_json_str(doc, "command", "maxact");
        ctx.jskipped = cJSON_CreateArray();
    }
    ax_maxact_pass p = { .files = files, .nfiles = nfiles, .layer = layer, .threads = ax_cpu_threads(),
                         .user = &ctx, .progress = on_progress, .skipped = on_skipped };
    ax_maxact_stats stats;
    st = ax_maxact_run(&top, net, &p, &stats, &err);
    if (st) { cJSON_Delete(ctx.jskipped); goto fail; }

    int crops = 0, sheets = 0;
    if (o->diff_save) {
        if (mkdir(o->diff_save, 0777) && errno != EEXIST) {
            st = ax_fail(&err, AX_ERR_IO, "%s: cannot make the folder: %s", o->diff_save, strerror(errno));
            cJSON_Delete(ctx.jskipped);
            goto fail;
        }
        st = save_crops(o->diff_save, &top, c0, c1, net, layer, files, &crops, &sheets, &err);
        if (st) { cJSON_Delete(ctx.jskipped); goto fail; }
    }
    ax_rfield rf[AX_MAX_LAYERS];
    ax_receptive_fields(net->layers, net->nlayers, net->spec.in_h, net->spec.in_w, rf);
    const ax_rfield *f = &rf[layer];
    double ips = stats.seconds > 0 ? stats.ranked / stats.seconds : 0;
    if (json) {
        cJSON *jm = ax_cli_json_obj(doc, "model");
        ax_cli_json_str(jm, "name", net->spec.name);
        ax_cli_json_str(jm, "weights", ax_cli_weights_label(net));
        ax_cli_json_bool(jm, "untrained", net->untrained);
        cJSON *jl = ax_cli_json_obj(doc, "layer");
        ax_cli_json_str(jl, "name", lname);
        ax_cli_json_num(jl, "index", layer);
        ax_cli_json_ishape(jl, "shape", net->layers[layer].out.ndim, net->layers[layer].out.shape);
        cJSON *jr = ax_cli_json_obj(jl, "receptive_field");
        ax_cli_json_bool(jr, "global", f->global);
        ax_cli_json_num(jr, "size_h", f->size_h);
        ax_cli_json_num(jr, "size_w", f->size_w);
        ax_cli_json_num(jr, "jump_h", f->jump_h);
        ax_cli_json_num(jr, "jump_w", f->jump_w);
        cJSON *ji = ax_cli_json_obj(doc, "images");
        ax_cli_json_str(ji, "dir", dir);
        ax_cli_json_num(ji, "files", nfiles);
        ax_cli_json_num(ji, "ranked", stats.ranked);
        cJSON_AddItemToObject(ji, "skipped", ctx.jskipped);
        ax_cli_json_num(doc, "top", k);
        cJSON *jc = ax_cli_json_arr(doc, "channels");
        for (int ch = c0; ch <= c1; ch++) {
            cJSON *e = ax_cli_json_obj(jc, NULL);
            ax_cli_json_num(e, "channel", ch);
            cJSON *jt = ax_cli_json_arr(e, "top");
            int cnt;
            const ax_maxact_entry *en = ax_maxact_top_list(&top, ch, &cnt);
            for (int r = 0; r < cnt; r++) {
                cJSON *x = ax_cli_json_obj(jt, NULL);
                int y0, x0, y1, x1;
                ax_maxact_box(net, layer, en[r].y, en[r].x, &y0, &x0, &y1, &x1);
                ax_cli_json_num(x, "rank", r + 1);
                ax_cli_json_num(x, "value", en[r].value);
                ax_cli_json_num(x, "y", en[r].y);
                ax_cli_json_num(x, "x", en[r].x);
                ax_cli_json_str(x, "image", files[en[r].image]);
                int box[4] = { y0, x0, y1, x1 };
                ax_cli_json_ishape(x, "box", 4, box);
                if (o->diff_save) {
                    char path[AX_PATH_MAX + 2 * AX_NAME_MAX];
                    crop_path(path, sizeof path, o->diff_save, lname, ch, r + 1);
                    ax_cli_json_str(x, "crop", path);
                }
            }
            if (o->diff_save && cnt) {
                char path[AX_PATH_MAX + 2 * AX_NAME_MAX];
                crop_path(path, sizeof path, o->diff_save, lname, ch, 0);
                ax_cli_json_str(e, "sheet", path);
            }
        }
        cJSON *jt = ax_cli_json_obj(doc, "time_s");
        ax_cli_json_num(jt, "total", stats.seconds);
        ax_cli_json_num(jt, "forward", stats.forward_s);
        ax_cli_json_num(jt, "decode", stats.decode_s);
        ax_cli_json_num(doc, "images_per_s", ips);
        rc = ax_cli_json_print(doc);
        doc = NULL;
    } else {
        printf("model    %s, %s\n", net->spec.name, ax_cli_weights_label(net));
        if (f->global)
            printf("layer    %s: %d channels of %dx%d, each sees the whole %dx%d input\n", lname, c, h, w,
                   net->spec.in_h, net->spec.in_w);
        else
            printf("layer    %s: %d channels of %dx%d, receptive field %dx%d pixels, %d apart\n", lname, c, h, w,
                   f->size_h, f->size_w, f->jump_h);
        printf("images   %d of %d in %s%s\n", stats.ranked, nfiles, dir,
               stats.skipped ? " (the others skipped, see above)" : "");
        printf("\n%7s %4s %11s  %-10s  %s\n", "channel", "rank", "value", "peak (y,x)", "image");
        for (int ch = c0; ch <= c1; ch++) {
            int cnt;
            const ax_maxact_entry *en = ax_maxact_top_list(&top, ch, &cnt);
            if (!cnt) printf("%7d %4s %11s  %-10s  (no finite value in any image)\n", ch, "-", "-", "-");
            for (int r = 0; r < cnt; r++) {
                char pos[32];
                snprintf(pos, sizeof pos, "(%d, %d)", en[r].y, en[r].x);
                printf("%7d %4d %#11.4g  %-10s  %s\n", ch, r + 1, en[r].value, pos, base_name(files[en[r].image]));
            }
        }
        if (net->untrained) printf("\n(UNTRAINED seeded weights: what the channels detect means little)\n");
        if (o->diff_save) {
            char f1[AX_PATH_MAX + 2 * AX_NAME_MAX];
            crop_path(f1, sizeof f1, o->diff_save, lname, c0, 1);
            printf("\nwrote %d crop%s and %d contact sheet%s to %s (%s, ... and -sheet.png)\n", crops,
                   crops == 1 ? "" : "s", sheets, sheets == 1 ? "" : "s", o->diff_save, base_name(f1));
        }
        rc = fflush(stdout) ? 1 : 0;
    }
    /* the decoding threads ax_maxact_run starts: --threads, at most 16 and one an image */
    int dt = p.threads < 16 ? p.threads : 16;
    if (dt > nfiles) dt = nfiles;
    fprintf(stderr, "alexscope: maxact: %d images in %.2f s: %.1f images/s (decoding %.2f s on %d thread%s beside "
            "%.2f s of forward passes)\n", stats.ranked, stats.seconds, ips, stats.decode_s, dt, dt == 1 ? "" : "s",
            stats.forward_s);
    goto out;
fail:
    rc = ax_cli_fail(&err);
out:
    cJSON_Delete(doc);
    ax_maxact_top_free(&top);
    ax_maxact_list_free(files, nfiles);
    ax_cli_close(&se);
    return rc;
}
