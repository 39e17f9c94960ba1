/* The command table: one row per command {name, summary, usage, options,
 * example, run} and the option rows the commands share. main dispatches
 * through it and every help text is drawn from it; it parses nothing. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

/* Each option once: the help line a command's --help shows for it. */
static const ax_cli_option options[] = {
    {"model", 'm', "NAME|FILE", "net spec: a built-in name or a .net file (default caffe)"},
    {"weights", 'w', "FILE", "weights in any understood format (default: seeded, UNTRAINED)"},
    {"lenient", 0, NULL, "load a weights file that has tensors the model does not use"},
    {"device", 'd', "NAME", "cpu or cuda (gpu: the same as cuda; default cpu)"},
    {"gpu", 0, "N", "cuda: the GPU to run on (default 0)"},
    {"tf32", 0, NULL, "cuda: allow TF32 tensor-core math (off by default)"},
    {"no-cudnn", 0, NULL, "cuda: im2col + cuBLAS convolutions even with cuDNN"},
    {"threads", 't', "N", "CPU threads (default: all cores)"},
    {"topk", 'k', "K", "classes to show (default 5)"},
    {"input", 'i', "X.npy", "feed this (N, C, H, W) float32 tensor instead of an image"},
    {"preprocess", 0, "NAME", "an image's preprocessing: caffe|torchvision|zoo|none, then key=value"},
    {"mono", 0, NULL, "workbench: no colours (also when NO_COLOR is set)"},
    {"tour", 0, NULL, "workbench: start with the guided tour (O in the workbench; n next, p back, Esc leaves)"},
    {"save-activations", 's', "DIR", "write DIR/<layer>.npy for every layer"},
    {"batch", 'b', "N", "batch size"},
    {"runs", 'r', "N", "timed runs after the warm-up (default 10)"},
    {"ui", 0, NULL, "bench: time the workbench views; diff: open the Diff view"},
    {"backward", 0, NULL, "forward and backward per layer (TensorFlow's benchmark)"},
    {"floor", 0, NULL, "measure bandwidth and FMA peak; the forward pass against that floor"},
    {"reference", 0, "DIR", "side B: DIR/<layer>.npy from any framework"},
    {"map", 0, "FILE", "with --reference: lines ours=theirs naming the .npy files"},
    {"atol", 0, "X", "absolute tolerance; 'Xx': X times the tensor's max|B| (1e-4x)"},
    {"rtol", 0, "Y", "relative tolerance (default 1e-3)"},
    {"save", 0, "DIR", "diff: DIR/<layer>.npy = A - B; grad: the gradients; maxact: the crops (PNG)"},
    {"spec", 0, NULL, "print the net a .caffemodel or .onnx describes, as a .net spec"},
    {"load-only", 0, NULL, "load IN and time it only (a benchmark)"},
    {"format", 0, "text|json", "output format (default text)"},
    {"class", 0, "K", "the logit of class K (default: each image's top class)"},
    {"loss", 0, "l2", "l2 = sum(last^2)/2 instead of a logit"},
    {"data", 0, "DIR|P", "DIR/<class>/*.png|jpg, or IDX P-{images-idx3,labels-idx1}-ubyte[.gz]"},
    {"out", 0, "W.safetensors", "where the weights go (and W.net, W.labels.txt)"},
    {"epochs", 0, "E", "passes over the data (default 10)"},
    {"lr", 0, "X", "learning rate (default 0.01)"},
    {"momentum", 0, "M", "SGD momentum (default 0.9)"},
    {"weight-decay", 0, "D", "weight decay (default 5e-4)"},
    {"seed", 0, "S", "seed of the split, order, crops and dropout (default 0)"},
    {"val-split", 0, "F", "fraction kept to validate (default 0.2)"},
    {"train-layers", 0, "a,b", "train only these layers (the others frozen)"},
    {"reinit", 0, "a,b", "start these layers from seeded weights"},
    {"classes", 0, "N", "resize the last FC layer to N classes"},
    {"no-augment", 0, NULL, "no random crop and flip"},
    {"resume", 0, "CKPT", "continue from a checkpoint train wrote"},
    {"layer", 0, "L", "maxact: the layer whose channels are ranked (a name: alexscope summary lists them)"},
    {"channel", 0, "C", "maxact: this channel only (default: every channel)"},
    {"channels", 0, "A-B", "maxact: channels A to B"},
    {"top", 0, "K", "maxact: images kept per channel (default 5)"},
    {"maxact-dir", 0, "DIR", "workbench: the Top images view's folder (M; default: the image's folder)"},
    {"help", 'h', NULL, "this text"},
    {NULL, 0, NULL, NULL},
};

#define RUN_OPTS "model weights lenient device gpu tf32 no-cudnn threads preprocess"

static const ax_cli_command commands[] = {
    {"ui", "the workbench on an IMAGE or --input X.npy (the default command)",
     "alexscope [ui] [options] (IMAGE | --input X.npy)", RUN_OPTS " topk input mono tour maxact-dir help",
     "alexscope --model torchvision samples/chelsea.png", ax_cmd_ui},
    {"dump", "one row per layer (shape, min, mean, max, std, % zeros, ms), then the top-k",
     "alexscope dump [options] (IMAGE | --input X.npy)", RUN_OPTS " topk input save-activations format help",
     "alexscope dump --save-activations acts samples/chelsea.png", ax_cmd_dump},
    {"bench", "per-layer time and GFLOP/s; --ui: view redraws; --backward: training step; --floor: machine's floor",
     "alexscope bench [options] | bench --ui [options] IMAGE", RUN_OPTS " batch runs ui backward floor input topk mono maxact-dir help",
     "alexscope bench --batch 32 --runs 20", ax_cmd_bench},
    {"diff", "two runs layer by layer: the first divergent layer and the likely bug",
     "alexscope diff [options] SIDE_A SIDE_B (IMAGE | DIR | --input X.npy)",
     RUN_OPTS " reference topk input batch atol rtol map save ui mono format help",
     "alexscope diff --weights a.npy --weights b.pth samples/chelsea.png", ax_cmd_diff},
    {"inspect", "every tensor of a weight file, its format facts, the models it fits",
     "alexscope inspect [--model M] [--spec] [--format text|json] FILE", "model spec format help",
     "alexscope inspect bvlc_alexnet.npy", ax_cmd_inspect},
    {"convert", "load a weight file as the workbench does and write it as safetensors",
     "alexscope convert [--model M] IN OUT.safetensors | convert --load-only IN",
     "model lenient load-only device gpu tf32 no-cudnn help",
     "alexscope convert bvlc_alexnet.npy alexnet.safetensors", ax_cmd_convert},
    {"maxact", "per channel of a layer, the images of a folder that excite it most, and their crops",
     "alexscope maxact --layer L [--channel C | --channels A-B] [--top K] [--save OUT] [options] DIR",
     RUN_OPTS " layer channel channels top batch save format help",
     "alexscope maxact --layer conv5 --channels 0-7 --top 4 --save crops samples", ax_cmd_maxact},
    {"summary", "per layer: shape, parameters, FLOPs, receptive field; a diagram of the net",
     "alexscope summary [--model M] [--format text|json]", "model format help",
     "alexscope summary --model torchvision", ax_cmd_summary},
    {"grad", "gradients of a class logit (or l2) for input, outputs and weights, as .npy",
     "alexscope grad [options] [--class K | --loss l2] (IMAGE | --input X.npy) --save DIR",
     RUN_OPTS " input class loss save help", "alexscope grad --class 281 --save g samples/chelsea.png", ax_cmd_grad},
    {"train", "fine-tune on DIR/<class>/*.png|jpg or an IDX pair with SGD; checkpoints and --resume",
     "alexscope train --data DIR|P --out W.safetensors [options]",
     "model weights lenient device threads batch data out epochs lr momentum weight-decay seed val-split "
     "train-layers reinit classes no-augment resume help",
     "alexscope train --data flowers --classes 5 --train-layers fc8 --out f.safetensors", ax_cmd_train},
    {NULL, NULL, NULL, NULL, NULL, NULL},
};

/* What a command's --help says after its example (the rows above stay one
 * line each). */
static const struct { const char *command, *text; } notes[] = {
    {"maxact",
     "Each image of DIR (png, jpg, bmp, gif, ppm, pgm) is preprocessed as the model says and run to the\n"
     "layer; a channel's value in an image is its largest over the map, at the peak (y, x) (the first in\n"
     "row order). Images that cannot be read are skipped with a note. Of equal values, the image first\n"
     "in name order ranks first. --save OUT writes, for channel C and rank R:\n"
     "  OUT/<layer>-cCCCC-R.png      the peak's receptive field cut from the preprocessed input\n"
     "                               (its size: the layer's receptive field, clipped at the edges)\n"
     "  OUT/<layer>-cCCCC-sheet.png  the channel's K crops side by side (a contact sheet)\n"
     "with CCCC the channel in four digits. The speed (images/s) goes to stderr at the end.\n"},
    {NULL, NULL},
};

const ax_cli_command *ax_cli_commands(void)
{
    return commands;
}

const ax_cli_command *ax_cli_command_find(const char *name)
{
    for (const ax_cli_command *c = commands; c->name; c++)
        if (!strcmp(c->name, name)) return c;
    return NULL;
}

static const ax_cli_option *option_find(const char *name, size_t len)
{
    for (const ax_cli_option *p = options; p->name; p++)
        if (strlen(p->name) == len && !strncmp(p->name, name, len)) return p;
    return NULL;
}

/* 1 when the space-separated list names `name` whole. */
static int list_has(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *s = list; *s;) {
        size_t len = strcspn(s, " ");
        if (len == n && !strncmp(s, name, n)) return 1;
        s += len + (s[len] == ' ');
    }
    return 0;
}

int ax_cli_command_takes(const char *command, const char *option, char *owners, size_t size)
{
    const ax_cli_command *c = ax_cli_command_find(command);
    if (!strcmp(option, "help") || !strcmp(option, "version") || (c && list_has(c->options, option))) return 1;
    /* "the diff command", "the bench and diff commands", "the a, b and c commands" */
    const ax_cli_command *who[16];
    int n = 0;
    for (const ax_cli_command *p = commands; p->name && n < 16; p++)
        if (list_has(p->options, option)) who[n++] = p;
    size_t len = (size_t)snprintf(owners, size, n ? "the " : "no command");
    for (int i = 0; i < n && len < size; i++)
        len += (size_t)snprintf(owners + len, size - len, "%s%s", i == 0 ? "" : i == n - 1 ? " and " : ", ",
                                who[i]->name);
    if (n && len < size) snprintf(owners + len, size - len, n > 1 ? " commands" : " command");
    return 0;
}

void ax_cli_command_help(FILE *f, const ax_cli_command *c)
{
    fprintf(f, "usage: %s\n\n%s\n\noptions:\n", c->usage, c->summary);
    for (const char *s = c->options; *s;) {
        size_t len = strcspn(s, " ");
        const ax_cli_option *p = option_find(s, len);
        if (p) {
            char head[64];
            snprintf(head, sizeof head, "%c%c%s--%s%s%s", p->short_name ? '-' : ' ', p->short_name ? p->short_name : ' ',
                     p->short_name ? ", " : "  ", p->name, p->arg ? " " : "", p->arg ? p->arg : "");
            fprintf(f, "  %-28s %s\n", head, p->help);
        }
        s += len + (s[len] == ' ');
    }
    fprintf(f, "\nexample:\n  %s\n", c->example);
    for (int i = 0; notes[i].command; i++)
        if (!strcmp(notes[i].command, c->name)) fprintf(f, "\n%s", notes[i].text);
}

/* Optimal string alignment distance (a swap of two letters counts one). */
static int distance(const char *a, const char *b)
{
    int n = (int)strlen(a), m = (int)strlen(b);
    if (n > 30 || m > 30) return 99;
    int d[32][32];
    for (int i = 0; i <= n; i++) d[i][0] = i;
    for (int j = 0; j <= m; j++) d[0][j] = j;
    for (int i = 1; i <= n; i++)
        for (int j = 1; j <= m; j++) {
            int cost = a[i - 1] != b[j - 1];
            int v = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < v) v = d[i][j - 1] + 1;
            if (d[i - 1][j - 1] + cost < v) v = d[i - 1][j - 1] + cost;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < v)
                v = d[i - 2][j - 2] + 1;
            d[i][j] = v;
        }
    return d[n][m];
}

const ax_cli_command *ax_cli_command_nearest(const char *word)
{
    const ax_cli_command *best = NULL;
    int bd = 3;
    for (const ax_cli_command *c = commands; c->name; c++) {
        int d = distance(word, c->name);
        /* within 2, and less than the name's length (any 2 letters are 2 from "ui") */
        if (d < bd && d < (int)strlen(c->name)) { best = c; bd = d; }
    }
    return best;
}
