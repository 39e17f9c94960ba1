/* Net specs: an AlexNet variant described as data (a small text format, see
 * weights/README.md). Parsing only; shapes are resolved by ax_net_create. */
#ifndef ALEXSCOPE_SPEC_H
#define ALEXSCOPE_SPEC_H

#include "alexscope/status.h"
#include "alexscope/tensor.h"

#define AX_MAX_LAYERS 64
#define AX_PATH_MAX 1024

typedef enum {
    AX_L_CONV,
    AX_L_RELU,
    AX_L_LRN,
    AX_L_MAXPOOL,
    AX_L_AVGPOOL,   /* adaptive average pool to (out_h, out_w), torchvision's */
    AX_L_PAD,       /* zero padding, possibly asymmetric (Keras ZeroPadding2D) */
    AX_L_FLATTEN,
    AX_L_FC,
    AX_L_DROPOUT,   /* identity at inference; kept as a visible step */
    AX_L_SOFTMAX,
    AX_L_COUNT
} ax_layer_type;

/* How the LRN constants are to be read: each framework writes the same
 * normalisation with its own constants (weights/README.md, "lrn"). */
typedef enum {
    AX_LRN_CAFFE,   /* k + alpha/size * sum, window size (also PyTorch) */
    AX_LRN_TF,      /* bias + alpha * sum, window 2*depth_radius+1 */
    AX_LRN_DARKNET  /* kappa + alpha * sum, window size */
} ax_lrn_convention;

typedef enum { AX_PAD_EXPLICIT, AX_PAD_SAME } ax_pad_mode;
typedef enum { AX_ROUND_FLOOR, AX_ROUND_CEIL } ax_rounding;
typedef enum { AX_FLATTEN_CHW, AX_FLATTEN_HWC } ax_flatten_order;
/* Darknet's two batch-norm denominators: pjreddie's sqrt(var) + 1e-6,
 * AlexeyAB's sqrt(var + 1e-5). */
typedef enum { AX_BN_NONE, AX_BN_DARKNET, AX_BN_ALEXEYAB } ax_darknet_bn;

typedef struct {
    char name[AX_NAME_MAX];
    ax_layer_type type;
    int line;               /* line in the spec file, for messages */

    int out_c;              /* conv filters, fc outputs */
    int kh, kw, sh, sw;     /* conv, maxpool */
    ax_pad_mode pad_mode;   /* conv, maxpool */
    int pad_t, pad_l, pad_b, pad_r; /* explicit padding (conv, maxpool, pad) */
    int groups;             /* conv */
    int bias;               /* conv, fc: 1 when the layer has a bias */
    ax_darknet_bn darknet_bn; /* conv, fc: a Darknet batch_normalize=1 layer, whose file stores scales,
                               rolling mean and variance: folded into the weights as they load */
    ax_rounding rounding;   /* maxpool */
    int out_h, out_w;       /* avgpool target size */
    ax_flatten_order order; /* flatten */
    float p;                /* dropout probability (shown, not applied) */

    ax_lrn_convention lrn_convention;
    int lrn_size;           /* window length; TF depth_radius r gives 2r+1 */
    float lrn_alpha, lrn_beta, lrn_k; /* as written in the spec's convention */
} ax_layer_spec;

typedef enum { AX_RESIZE_NONE, AX_RESIZE_SHORT, AX_RESIZE_EXACT } ax_resize_mode;

/* How an image becomes the net's input:
 * x[c] = (pixel[c] / 255 * scale - mean[c]) / std[c], channels in `bgr` order. */
typedef struct {
    ax_resize_mode resize_mode;
    int resize_w, resize_h;   /* SHORT: shorter side to resize_w; EXACT: w x h */
    int crop_w, crop_h;       /* centre crop after resizing */
    int bgr;                  /* 1: channel 0 is blue (Caffe) */
    float scale;              /* 255 for Caffe's 0..255, 1 for 0..1 */
    float mean[3], std[3];    /* in the net's channel order */
} ax_preprocess;

typedef struct {
    char name[AX_NAME_MAX];
    char description[256];
    char path[AX_PATH_MAX];   /* file it came from */
    int in_c, in_h, in_w;
    ax_preprocess pre;
    char labels[AX_PATH_MAX]; /* label file name, relative to the spec's folder */
    int nlayers;
    ax_layer_spec layers[AX_MAX_LAYERS];
    char weights_path[AX_PATH_MAX]; /* a model file that holds its own weights (.onnx):
                                       ax_spec_load sets it; they load when no others are given */
} ax_spec;

/* Parses spec text; `filename` is used in messages only. */
ax_status ax_spec_parse(ax_spec *spec, const char *text, const char *filename, ax_error *err);

/* Loads a spec by built-in name ("caffe", "torchvision", ...) looked up in the
 * weights folder, or by path when `name_or_path` contains a '/' or ends in ".net".
 * A model file that describes its net (.onnx: the weight format's spec_text)
 * gives the spec it prints, with weights_path set to the file. */
ax_status ax_spec_load(ax_spec *spec, const char *name_or_path, ax_error *err);

/* The folder that holds the built-in specs and label lists: $ALEXSCOPE_DATA,
 * else weights/ beside the program (a build tree, copied or not), else the
 * source tree's weights/ when run from its build tree, else the installed
 * data folder (src/core/datadir.c says the order). */
const char *ax_data_dir(void);
/* How ax_data_dir found it, for --version: "beside the program", "the source
 * tree", "$ALEXSCOPE_DATA", ... */
const char *ax_data_dir_how(void);

/* Lists the built-in model names into `names` (up to max); returns the count. */
int ax_spec_builtin_names(const char **names, int max);

/* These four read the layer-kind table (alexscope/layer_kind.h,
 * src/model/layer_kinds.c): "?" for a type that is none. */
const char *ax_layer_type_name(ax_layer_type t);
const char *ax_lrn_convention_name(ax_lrn_convention c);

/* The Caffe-convention alpha (alpha / size multiplier) equivalent: the factor
 * that multiplies the raw sum of squares, whatever the convention. */
float ax_lrn_sum_scale(const ax_layer_spec *l);
int ax_layer_has_weights(const ax_layer_spec *l);

#endif
