/* Command-line front end: option parsing shared by every command, and the
 * commands themselves. The only place (with main) that prints or exits. */
#ifndef AX_CLI_H
#define AX_CLI_H

#include <stdio.h>

#include "config.h"
#include "alexscope/image.h"
#include "alexscope/net.h"
#include "alexscope/weights.h"
#include "ui.h"

typedef struct {
    const char *command;      /* "ui", "dump", "bench" */
    const char *model;        /* name or .net path */
    const char *weights;
    const char *device;
    int tf32;                 /* --tf32: device backends may use TF32 tensor-core math */
    int gpu;                  /* --gpu N: which GPU (default 0) */
    int no_cudnn;             /* --no-cudnn: CUDA convolutions by im2col + cuBLAS */
    const char *image;
    const char *input_npy;
    const char *preprocess;   /* --preprocess caffe|torchvision|zoo|none [key=value ...] */
    const char *save_dir;
    int lenient;
    int threads;              /* 0: all cores */
    int topk;
    int batch;                /* bench only; dump takes the batch of its input */
    int runs;                 /* bench repetitions */
    int mono;
    int tour;                 /* ui --tour */
    int ui_bench;             /* bench --ui */
    int batch_given;          /* --batch was on the command line */
    /* diff: --weights, --model, --device and --reference in the order given
     * (kind 'w', 'm', 'd', 'r'); cmd_diff makes two sides of them. */
    int nsides;
    struct { char kind; const char *value; } sides[8];
    const char *map_file;     /* diff --map: lines ours=theirs */
    int quiet;                /* ax_cli_open prints nothing (the workbench's W) */
    const char *diff_save;    /* diff --save DIR: per-layer a - b; grad --save DIR: the gradients */
    /* grad, train and bench --backward */
    int grad_class;           /* grad --class K, -1: each image's top class */
    const char *loss;         /* grad --loss l2 */
    int backward;             /* bench --backward */
    int floor;                /* bench --floor */
    const char *data_dir;     /* train --data DIR */
    const char *train_out;    /* train --out W.safetensors */
    const char *train_layers; /* train --train-layers a,b (default: all) */
    const char *reinit;       /* train --reinit a,b */
    const char *resume;       /* train --resume CHECKPOINT.safetensors */
    int classes;              /* train --classes N (0: the spec's) */
    int epochs, no_augment;
    double val_split, lr, momentum, weight_decay;
    long long seed;
    double atol, rtol;        /* diff tolerances, when given */
    int atol_set, rtol_set;
    int atol_of_max;          /* --atol Xx: X times the layer's max|B| */
    int model_given;          /* --model was on the command line */
    const char *output;       /* convert: OUT.safetensors */
    int spec_text;            /* inspect --spec */
    int load_only;            /* convert --load-only */
    const char *format;       /* summary --format text|json */
    /* maxact: --layer L, --channel C (-1: not given), --channels A-B, --top K (0: 5) */
    const char *maxact_layer;
    int maxact_channel;
    const char *maxact_channels;
    int maxact_top;
    const char *maxact_dir;   /* ui --maxact-dir DIR: the Top images view's folder */
} ax_cli_opts;

/* Parses argv after the command word. Prints the error and returns 2 on bad
 * usage, 1 when --version was printed, 3 when --help was asked for, 0
 * otherwise. */
int ax_cli_parse(ax_cli_opts *o, int argc, char **argv, int first);

/* Before a command's long work, for each file it will write: OUT is none of
 * inputs (NULL-ended; compared as files, so another spelling is caught), not
 * a FIFO or device, its folder takes a file, and when ext is given
 * (".safetensors", or a list with spaces: ".safetensors .onnx") OUT does not
 * end in another format's extension (exit 2). 0, or the exit status after
 * one message. */
int ax_cli_check_output(const char *out, const char *cmd, const char *const *inputs, const char *ext);

/* An output folder (--save-activations, --save): a folder that takes files,
 * or one whose parent takes it. 0, or 1 after one message. */
int ax_cli_check_output_dir(const char *dir);

/* Spec + backend + net + weights + labels (+ input, when one is given). */
typedef struct {
    ax_spec spec;
    ax_net *net;
    ax_labels labels;
    char warn[600];           /* what loading said: "note: ..." / "warning: ..." lines */
    char model[AX_PATH_MAX];  /* the model used: --model's, or the one the weights fit */
} ax_cli_session;

ax_status ax_cli_open(ax_cli_session *s, const ax_cli_opts *o, int need_input, ax_error *err);

/* --tf32, --gpu and --no-cudnn as the options a net is created with
 * (ax_net_create_with; the CPU backend reads none of them). */
ax_backend_options ax_cli_backend_options(const ax_cli_opts *o);
void ax_cli_close(ax_cli_session *s);

/* The workbench's settings from the options and an open session. */
void ax_cli_ui_config(ax_ui_config *cfg, const ax_cli_opts *o, const ax_cli_session *s);

/* Prints each line of loading's notes as "alexscope: note: ..." (or warning). */
void ax_cli_print_notes(FILE *f, const char *notes);

/* "bvlc AlexNet ..." / weights path or "UNTRAINED seeded weights". */
const char *ax_cli_weights_label(const ax_net *net);


/* An option row, defined once (src/cli/commands.c) and named by each
 * command that takes it. */
typedef struct {
    const char *name;         /* the long name, "model" */
    char short_name;          /* 'm', or 0 */
    const char *arg;          /* "NAME|FILE"; NULL: takes no value */
    const char *help;         /* one line */
} ax_cli_option;

/* A command row: its own --help is drawn from it. */
typedef struct ax_cli_command {
    const char *name, *summary, *usage;
    const char *options;      /* its options' long names, space-separated */
    const char *example;
    int (*run)(const ax_cli_opts *o);
} ax_cli_command;

const ax_cli_command *ax_cli_commands(void);     /* ends with a row of NULLs */
const ax_cli_command *ax_cli_command_find(const char *name);
/* The command within edit distance 2 of word (NULL: none). */
const ax_cli_command *ax_cli_command_nearest(const char *word);
void ax_cli_command_help(FILE *f, const ax_cli_command *c);
/* 1 when the command's row lists the option (long name; --help and
 * --version go everywhere); else 0 with the commands that do take it in
 * owners ("the bench and diff commands", or "no command"). */
int ax_cli_command_takes(const char *command, const char *option, char *owners, size_t size);
/* The global --help: the commands of the table, then the options. */
void ax_cli_usage(FILE *f, const ax_cli_command *commands);
/* The few lines for `alexscope` with nothing to do: usage, the commands'
 * names, an example and where the rest is. */
void ax_cli_short_usage(FILE *f, const ax_cli_command *commands);

/* The one error printer: "alexscope: <message>" on stderr (stdout flushed
 * first, so a table printed so far stays above it). ax_cli_fail prints an
 * engine error and returns 1; ax_cli_error prints its format and returns
 * status (1 for an error, 2 for bad usage). */
int ax_cli_fail(const ax_error *err);
int ax_cli_error(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

int ax_cmd_dump(const ax_cli_opts *o);
int ax_cmd_bench(const ax_cli_opts *o);
int ax_cmd_ui(const ax_cli_opts *o);
int ax_cmd_diff(const ax_cli_opts *o);
/* The workbench's W (src/cli/cmd_diff.c): side B from the options ctx (an
 * ax_cli_opts) with `what` as its weights file, or as its model when it is a
 * .net spec or a built-in name; the session goes to ax_cli_side_close. */
ax_status ax_cli_side_open(void *ctx, const char *what, ax_net **net, void **handle, char *label, size_t size,
                           ax_error *err);
void ax_cli_side_close(void *handle);
int ax_cmd_inspect(const ax_cli_opts *o);
int ax_cmd_convert(const ax_cli_opts *o);
int ax_cmd_grad(const ax_cli_opts *o);
int ax_cmd_train(const ax_cli_opts *o);
int ax_cmd_summary(const ax_cli_opts *o);
int ax_cmd_maxact(const ax_cli_opts *o);

/* How a weight file meets a net spec (src/cli/fit.c), by ax_net_load_weights'
 * rules: "<layer>.weight"/".bias" as stored, or "<layer>.0"/".1" in
 * TensorFlow layouts (conv HWIO, fc (in, out), fc rows after a spatial input
 * in H,W,C order). */

typedef enum {
    AX_FIT_MISSING, AX_FIT_SAME, AX_FIT_HWIO, AX_FIT_INOUT, AX_FIT_INOUT_HWC, AX_FIT_MISSHAPED
} ax_fit_kind;

typedef struct {
    int layer, part;                  /* index in the net; part 0 weight, 1 bias */
    char layer_name[AX_NAME_MAX];
    char target[AX_NAME_MAX + 8];     /* "<layer>.weight" / "<layer>.bias" */
    int ndim, shape[4];               /* the net's shape */
    ax_fit_kind kind;
    int tf_layout;                    /* found as "<layer>.0"/".1" (TensorFlow layouts) */
    char src_name[128];               /* the file's entry (empty when missing) */
    ax_dtype src_dtype;
    int src_ndim;
    int64_t src_shape[AX_WMAX_DIMS];
} ax_fit_tensor;

#define AX_FIT_MAX (2 * AX_MAX_LAYERS)
#define AX_FIT_EXTRA_KEPT 8

typedef struct {
    char model[AX_PATH_MAX];          /* as asked for: a built-in name or a .net path */
    char spec_name[AX_NAME_MAX];
    int fits;                         /* nothing missing or misshaped (extras allowed) */
    int count;
    ax_fit_tensor t[AX_FIT_MAX];
    ax_fit_tensor extras[AX_FIT_EXTRA_KEPT];   /* the first unused entries (source side only) */
    int same, hwio, inout, rows, dtype, missing, misshaped, extra;
    char bind_notes[512];             /* what ax_wfile_bind did */
    int renamed;                      /* the binding renamed or sliced the file's entries */
    char refused[1024];               /* why the binding or the loader refused, when it did */
    int classes;                      /* >0: fits once the last fc has this many outputs (fine-tuned) */
    char classes_layer[AX_NAME_MAX];  /* that fc layer */
} ax_fit;

/* A weight file opened once and opened again only when a binding renamed it. */
typedef struct {
    const char *path;
    ax_wfile *f;
    int bound;
} ax_fit_file;

#define AX_FIT_MODELS_MAX 16
/* The models a file is tried against: the built-in names, then the other
 * .net files in the data folder. Returns the count (at most max). */
int ax_fit_models(char (*names)[AX_NAME_MAX], int max);

ax_status ax_fit_file_open(ax_fit_file *ff, const char *path, ax_error *err);
void ax_fit_file_close(ax_fit_file *ff);

/* Compares the file with the named model (spec loaded, net created at batch
 * 1). A file that does not fit is not an error: fit->fits says so. With
 * verify, a fit is confirmed by ax_net_load_weights (lenient only when the
 * file has extra tensors). With keep, a net the file fits is handed back
 * (loaded when verified, seeded otherwise). A file whose last fc alone has
 * another number of outputs (a classifier fine-tuned to other classes) fits
 * the model with that fc resized: fit->classes says how many (the kept net
 * is the resized one). Errors: the spec or the net. */
ax_status ax_fit_model(ax_fit *fit, ax_fit_file *ff, const char *model, int verify, ax_net **keep,
                       ax_error *err);
/* Gives the spec's last layer with weights, an fc, `classes` outputs and
 * drops its label list (classes are then numbered), as train --classes
 * does; returns that layer's index, -1 when the spec ends in no fc. */
int ax_fit_resize_classes(ax_spec *spec, int classes);
/* Which model a file fits when none was named: the only built-in (or
 * data-folder) model it fits, in *fit. An error names the models when it
 * fits several, the closest and its first problem when it fits none, and
 * the data folder when a built-in spec cannot be read. */
ax_status ax_fit_choose(ax_fit *fit, ax_fit_file *ff, ax_error *err);
/* "14 of 16 tensors fit (2 missing, 0 misshaped, 0 extra; first: ...)" or why the binding refused. */
char *ax_fit_failure(char *buf, size_t size, const ax_fit *fit);
const char *ax_fit_kind_text(ax_fit_kind k);
/* "HWIO->OIHW for 5 conv, (in,out)->(out,in) for 3 fc, fc6 rows H,W,C->C,H,W" (may be empty). */
char *ax_fit_summary(char *buf, size_t size, const ax_fit *fit);

#endif
