/* Options shared by every command, usage text, and the set-up every command
 * needs (spec, backend, net, weights, labels, input). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alexscope/cpu.h"
#include "cli.h"
#include "alexscope/fileio.h"

void ax_cli_short_usage(FILE *f, const ax_cli_command *commands)
{
    fprintf(f, "alexscope %s: step an image through AlexNet and look at every layer\n\n"
               "usage: alexscope [options] IMAGE      open the workbench on an image\n"
               "       alexscope COMMAND [options]    one of:", PACKAGE_VERSION);
    for (const ax_cli_command *c = commands; c->name; c++)
        if (strcmp(c->name, "ui")) fprintf(f, " %s", c->name);
    fprintf(f, "\n\nexample: alexscope samples/chelsea.png\n"
               "more:    alexscope --help (every option), alexscope help COMMAND (one command)\n");
}

void ax_cli_usage(FILE *f, const ax_cli_command *commands)
{
    const char *names[8];
    int n = ax_spec_builtin_names(names, 8);
    fprintf(f,
        "alexscope %s: step an image through AlexNet and look at every layer\n"
        "\n"
        "usage:\n"
        "  alexscope [options] IMAGE            open the workbench on an image\n"
        "  alexscope [options] --input X.npy    ... on an exact (N, C, H, W) float32 tensor\n"
        "  alexscope COMMAND [options] ...      one of the commands below\n"
        "  alexscope COMMAND --help             that command's usage, options and an example\n"
        "\n"
        "commands:\n", PACKAGE_VERSION);
    for (const ax_cli_command *c = commands; c->name; c++) fprintf(f, "  alexscope %-9s %s\n", c->name, c->summary);
    fprintf(f, "\n"
        "options:\n"
        "  -m, --model NAME|FILE   net spec: a built-in name or a .net file (default caffe)\n"
        "                          built-in:");
    for (int i = 0; i < n; i++) fprintf(f, " %s", names[i]);
    /* the formats are the weight registry's rows, so the list cannot drift */
    fprintf(f, "\n"
        "  -w, --weights FILE      a weight file, recognised by content, not by name:\n");
    for (int i = 0; i < ax_wformat_count(); i++)
        fprintf(f, "                            %-12s %s\n", ax_wformat_at(i)->name, ax_wformat_at(i)->what);
    fprintf(f,
        "                          without it the weights are a seeded initialisation scaled\n"
        "                          for the model's input (outputs of one spread: near 1, or\n"
        "                          where LRN acts in a net with LRN; classes near uniform)\n"
        "                          and every output says UNTRAINED\n"
        "      --lenient           load a weights file that has tensors the model does not use\n"
        "  -d, --device NAME       cpu or cuda (default cpu; gpu is taken as cuda; cuda: only\n"
        "                          when built with the CUDA toolkit; `alexscope --version`\n"
        "                          or the configure summary says); diff: given twice, one per side\n"
        "      --gpu N             cuda: the GPU to run on (default 0)\n"
        "      --tf32              cuda: allow TF32 tensor-core math (off by default, so\n"
        "                          that the CPU and the GPU agree to float32 rounding)\n"
        "      --no-cudnn          cuda: im2col + cuBLAS convolutions even when the build\n"
        "                          has cuDNN\n"
        "                          (--gpu, --tf32 and --no-cudnn do nothing on the cpu)\n"
        "  -t, --threads N         CPU threads (default: all cores)\n"
        "  -k, --topk K            classes to show (default 5)\n"
        "  -i, --input X.npy       feed this tensor instead of an image (no preprocessing)\n"
        "      --preprocess NAME   how an image becomes the input, instead of the spec's: caffe\n"
        "                          (256x256, centre crop, BGR 0..255 minus 104,117,123), zoo (the\n"
        "                          ONNX model zoo's: whole image to the input size, no crop, BGR\n"
        "                          0..255 minus 103.939,116.779,123.68), torchvision (shorter side\n"
        "                          256, centre crop 224, RGB 0..1, ImageNet mean/std) or none\n"
        "                          (resized to the input, RGB 0..1); then, or alone, the spec's\n"
        "                          key=value settings: --preprocess 'zoo mean=104,117,123'\n"
        "  -s, --save-activations DIR   dump: write DIR/<layer>.npy for every layer\n"
        "  -b, --batch N           bench: batch size (default 1)\n"
        "                          diff with a DIR of images: images per batch (default 8)\n"
        "  -r, --runs N            bench: timed runs after the warm-up (default 10)\n"
        "      --floor             bench: measure this machine's read bandwidth and FMA peak\n"
        "                          and set the forward pass beside the floor they give\n"
        "      --ui                bench: time the workbench views instead of the layers;\n"
        "                          diff: open the workbench in its Diff view (one input)\n"
        "      --mono              workbench: no colours (also when NO_COLOR is set)\n"
        "      --tour              workbench: start with the guided tour (O in the workbench)\n"
        "      --atol X            diff: absolute tolerance; 'Xx' means X times the tensor's\n"
        "                          largest |B| (default 1e-4x)\n"
        "      --rtol Y            diff: relative tolerance (default 1e-3). An element fails\n"
        "                          only when |A-B| > atol and |A-B| > rtol*|B|. The defaults\n"
        "                          allow float32 sums taken in another order (their error grows\n"
        "                          with the size of the terms summed, not of the result), which\n"
        "                          torch.testing's float32 rtol 1.3e-6, atol 1e-5 do not\n"
        "      --map FILE          diff --reference: lines ours=theirs naming the .npy files\n"
        "      --save DIR          diff: write DIR/<layer>.npy = A - B for every compared layer;\n"
        "                          maxact: the crops and contact sheets as PNG\n"
        "      --layer L           maxact: the layer whose channels are ranked\n"
        "      --channel C         maxact: one channel (default: every channel)\n"
        "      --channels A-B      maxact: channels A to B\n"
        "      --top K             maxact: images kept per channel (default 5)\n"
        "      --maxact-dir DIR    workbench: the folder the Top images view (M) ranks\n"
        "  -h, --help              this text\n"
        "  -V, --version\n"
        "\n"
        "Net specs and labels are read from %s (set ALEXSCOPE_DATA to change).\n"
        "Exit status: 0 on success, 1 on an error (one message on stderr), 2 on bad usage,\n"
        "128+N when the workbench was ended by signal N (130 for Ctrl-C).\n",
        ax_data_dir());
}

static int parse_count(const char *opt, const char *s, int lo, int hi, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) {
        fprintf(stderr, "alexscope: %s %s: expected a whole number from %d to %d\n", opt, s, lo, hi);
        return 2;
    }
    *out = (int)v;
    return 0;
}

/* A tolerance: a finite number >= 0, with a trailing 'x' (where of_max is
 * given) meaning "times the tensor's largest |reference|". */
static int parse_tolerance(const char *opt, const char *s, double *out, int *of_max)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    int rel = of_max && end != s && *end == 'x' && !end[1];
    if (errno || end == s || (*end && !rel) || !(v >= 0.0) || v > 1e30) {
        fprintf(stderr, "alexscope: %s %s: expected a number >= 0%s\n", opt, s,
                of_max ? " (or Nx: N times the tensor's largest |B|)" : "");
        return 2;
    }
    *out = v;
    if (of_max) *of_max = rel;
    return 0;
}

static int parse_real(const char *opt, const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= lo && v <= hi)) {
        fprintf(stderr, "alexscope: %s %s: expected a number from %g to %g\n", opt, s, lo, hi);
        return 2;
    }
    *out = v;
    return 0;
}

/* The version and the backends built in (asked of ax_backend_find, which
 * knows what the build has). */
static void print_version(void)
{
    ax_error e = {0};
    printf("alexscope %s (backends: cpu%s)\n", PACKAGE_VERSION, ax_backend_find("cuda", &e) ? ", cuda" : "");
    const char *dir = ax_data_dir();
    char spec[AX_PATH_MAX + 16];
    snprintf(spec, sizeof spec, "%s/caffe.net", dir);
    printf("data: %s (%s)%s\n", dir, ax_data_dir_how(), access(spec, R_OK) ? ": MISSING, the built-in models cannot load" : "");
    char conv[160];
    ax_conv_describe(conv, sizeof conv);
    printf("conv: %s\n", conv);
}

/* Trailing slashes off a folder argument (argv's own bytes; "/" stays). */
static void trim_slashes(const char *arg)
{
    char *s = (char *)arg;
    if (!s) return;
    size_t n = strlen(s);
    while (n > 1 && s[n - 1] == '/') s[--n] = 0;
}

/* PNG, JPEG, BMP or GIF by their first bytes: what users most often give
 * --input by mistake. Unreadable files are left to the loader's message. */
static int looks_like_image(const char *path)
{
    unsigned char b[8] = {0};
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return 0;
    struct stat sb;
    ssize_t got = fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) ? read(fd, b, sizeof b) : 0;
    close(fd);
    size_t n = got > 0 ? (size_t)got : 0;
    return (n >= 8 && !memcmp(b, "\x89PNG\r\n\x1a\n", 8)) || (n >= 3 && !memcmp(b, "\xff\xd8\xff", 3)) ||
           (n >= 2 && !memcmp(b, "BM", 2)) || (n >= 6 && (!memcmp(b, "GIF87a", 6) || !memcmp(b, "GIF89a", 6)));
}

/* --preprocess's first word: a preset or a key=value setting (the values
 * are checked by the spec parser when the session opens). */
static int check_preprocess(const char *s)
{
    size_t n = strcspn(s, " \t");
    char word[32];
    snprintf(word, sizeof word, "%.*s", (int)(n < sizeof word ? n : sizeof word - 1), s);
    ax_preprocess p;
    if ((n < sizeof word && !ax_preprocess_preset(&p, word, 224, 224)) || memchr(s, '=', n)) return 0;
    fprintf(stderr, "alexscope: --preprocess %s: expected %s, then (or only) key=value settings of a spec's "
            "preprocess line (resize crop order scale mean std)\n", s, ax_preprocess_names());
    return 2;
}

int ax_cli_parse(ax_cli_opts *o, int argc, char **argv, int first)
{
    enum { OPT_LENIENT = 256, OPT_UI, OPT_MONO, OPT_REFERENCE, OPT_MAP, OPT_ATOL, OPT_RTOL, OPT_SAVE, OPT_SPEC, OPT_LOAD_ONLY,
           OPT_CLASS, OPT_LOSS, OPT_BACKWARD, OPT_DATA, OPT_OUT, OPT_TRAIN_LAYERS, OPT_REINIT, OPT_CLASSES,
           OPT_VAL_SPLIT, OPT_EPOCHS, OPT_LR, OPT_MOMENTUM, OPT_WD, OPT_SEED, OPT_NO_AUGMENT, OPT_RESUME, OPT_FORMAT,
           OPT_TF32, OPT_GPU, OPT_NO_CUDNN, OPT_TOUR, OPT_PREPROCESS,
           OPT_LAYER, OPT_CHANNEL, OPT_CHANNELS, OPT_TOP, OPT_MAXACT_DIR, OPT_FLOOR };
    static const struct option longs[] = {
        {"model", required_argument, 0, 'm'}, {"weights", required_argument, 0, 'w'},
        {"device", required_argument, 0, 'd'}, {"threads", required_argument, 0, 't'},
        {"topk", required_argument, 0, 'k'}, {"input", required_argument, 0, 'i'},
        {"save-activations", required_argument, 0, 's'}, {"batch", required_argument, 0, 'b'},
        {"runs", required_argument, 0, 'r'}, {"lenient", no_argument, 0, OPT_LENIENT},
        {"ui", no_argument, 0, OPT_UI}, {"mono", no_argument, 0, OPT_MONO}, {"tour", no_argument, 0, OPT_TOUR},
        {"spec", no_argument, 0, OPT_SPEC}, {"load-only", no_argument, 0, OPT_LOAD_ONLY},
        {"reference", required_argument, 0, OPT_REFERENCE}, {"map", required_argument, 0, OPT_MAP},
        {"atol", required_argument, 0, OPT_ATOL}, {"rtol", required_argument, 0, OPT_RTOL},
        {"save", required_argument, 0, OPT_SAVE},
        {"class", required_argument, 0, OPT_CLASS}, {"loss", required_argument, 0, OPT_LOSS},
        {"backward", no_argument, 0, OPT_BACKWARD}, {"floor", no_argument, 0, OPT_FLOOR}, {"data", required_argument, 0, OPT_DATA},
        {"out", required_argument, 0, OPT_OUT}, {"train-layers", required_argument, 0, OPT_TRAIN_LAYERS},
        {"reinit", required_argument, 0, OPT_REINIT}, {"classes", required_argument, 0, OPT_CLASSES},
        {"val-split", required_argument, 0, OPT_VAL_SPLIT}, {"epochs", required_argument, 0, OPT_EPOCHS},
        {"lr", required_argument, 0, OPT_LR}, {"momentum", required_argument, 0, OPT_MOMENTUM},
        {"weight-decay", required_argument, 0, OPT_WD}, {"seed", required_argument, 0, OPT_SEED},
        {"no-augment", no_argument, 0, OPT_NO_AUGMENT}, {"resume", required_argument, 0, OPT_RESUME},
        {"format", required_argument, 0, OPT_FORMAT},
        {"tf32", no_argument, 0, OPT_TF32}, {"gpu", required_argument, 0, OPT_GPU},
        {"no-cudnn", no_argument, 0, OPT_NO_CUDNN},
        {"preprocess", required_argument, 0, OPT_PREPROCESS},
        {"layer", required_argument, 0, OPT_LAYER}, {"channel", required_argument, 0, OPT_CHANNEL},
        {"channels", required_argument, 0, OPT_CHANNELS}, {"top", required_argument, 0, OPT_TOP},
        {"maxact-dir", required_argument, 0, OPT_MAXACT_DIR},
        {"help", no_argument, 0, 'h'}, {"version", no_argument, 0, 'V'}, {0, 0, 0, 0},
    };
    if (!o->model) o->model = "caffe";
    if (!o->device) o->device = "cpu";
    if (!o->topk) o->topk = 5;
    if (!o->batch) o->batch = 1;
    if (!o->runs) o->runs = 10;
    o->grad_class = -1;
    o->maxact_channel = -1;
    o->epochs = 10;
    o->val_split = 0.2;
    o->lr = 0.01;
    o->momentum = 0.9;
    o->weight_decay = 5e-4;
    optind = first;
    opterr = 0;
    int want_help = 0;
    int c;
    int li = -1;
    while ((c = getopt_long(argc, argv, ":m:w:d:t:k:i:s:b:r:hV", longs, &li)) != -1) {
        int rc = 0;
        /* An option the command's row does not list is refused: its --help
         * shows exactly what it takes. */
        const char *name = li >= 0 ? longs[li].name : NULL;
        for (int j = 0; !name && longs[j].name; j++)
            if (longs[j].val == c) name = longs[j].name;
        li = -1;
        char owners[160];
        if (name && !ax_cli_command_takes(o->command, name, owners, sizeof owners)) {
            fprintf(stderr, "alexscope: --%s belongs to %s, not to %s (see alexscope %s --help)\n", name, owners,
                    o->command, o->command);
            return 2;
        }
        if (c == 'd' && !strcmp(optarg, "gpu")) optarg = (char *)"cuda";   /* the alias --help names */
        if (c == 'm' || c == 'w' || c == 'd' || c == OPT_REFERENCE) {
            if (o->nsides == (int)(sizeof o->sides / sizeof o->sides[0])) {
                fprintf(stderr, "alexscope: too many --weights/--model/--device/--reference options\n");
                return 2;
            }
            o->sides[o->nsides].kind = c == OPT_REFERENCE ? 'r' : (char)c;
            o->sides[o->nsides++].value = optarg;
        }
        switch (c) {
        case 'm': o->model = optarg; o->model_given = 1; break;
        case 'w': o->weights = optarg; break;
        case 'd': o->device = optarg; break;
        case 't': rc = parse_count("--threads", optarg, 1, 1024, &o->threads); break;
        case 'k': rc = parse_count("--topk", optarg, 1, 100000, &o->topk); break;
        case 'i': o->input_npy = optarg; break;
        case 's': o->save_dir = optarg; break;
        case 'b': rc = parse_count("--batch", optarg, 1, 4096, &o->batch); o->batch_given = 1; break;
        case OPT_REFERENCE: break;
        case OPT_MAP: o->map_file = optarg; break;
        case OPT_SAVE: o->diff_save = optarg; break;
        case OPT_ATOL: rc = parse_tolerance("--atol", optarg, &o->atol, &o->atol_of_max); o->atol_set = 1; break;
        case OPT_RTOL: rc = parse_tolerance("--rtol", optarg, &o->rtol, NULL); o->rtol_set = 1; break;
        case 'r': rc = parse_count("--runs", optarg, 1, 100000, &o->runs); break;
        case OPT_LENIENT: o->lenient = 1; break;
        case OPT_UI: o->ui_bench = 1; break;
        case OPT_MONO: o->mono = 1; break;
        case OPT_TOUR: o->tour = 1; break;
        case OPT_SPEC: o->spec_text = 1; break;
        case OPT_LOAD_ONLY: o->load_only = 1; break;
        case OPT_CLASS: rc = parse_count("--class", optarg, 0, 1 << 30, &o->grad_class); break;
        case OPT_LOSS:
            if (strcmp(optarg, "l2")) {
                fprintf(stderr, "alexscope: --loss %s: the one loss is l2 (half the sum of squares of the last layer)\n", optarg);
                return 2;
            }
            o->loss = optarg;
            break;
        case OPT_BACKWARD: o->backward = 1; break;
        case OPT_FLOOR: o->floor = 1; break;
        case OPT_DATA: o->data_dir = optarg; break;
        case OPT_OUT: o->train_out = optarg; break;
        case OPT_TRAIN_LAYERS: o->train_layers = optarg; break;
        case OPT_REINIT: o->reinit = optarg; break;
        case OPT_RESUME: o->resume = optarg; break;
        case OPT_CLASSES: rc = parse_count("--classes", optarg, 2, 100000, &o->classes); break;
        case OPT_EPOCHS: rc = parse_count("--epochs", optarg, 1, 100000, &o->epochs); break;
        case OPT_VAL_SPLIT: rc = parse_real("--val-split", optarg, 0, 0.9, &o->val_split); break;
        case OPT_LR: rc = parse_real("--lr", optarg, 0, 100, &o->lr); break;
        case OPT_MOMENTUM: rc = parse_real("--momentum", optarg, 0, 0.999, &o->momentum); break;
        case OPT_WD: rc = parse_real("--weight-decay", optarg, 0, 1, &o->weight_decay); break;
        case OPT_SEED: { int v = 0; rc = parse_count("--seed", optarg, 0, 2147483647, &v); o->seed = v; break; }
        case OPT_NO_AUGMENT: o->no_augment = 1; break;
        case OPT_FORMAT: o->format = optarg; break;
        case OPT_TF32: o->tf32 = 1; break;
        case OPT_GPU: rc = parse_count("--gpu", optarg, 0, 1023, &o->gpu); break;
        case OPT_NO_CUDNN: o->no_cudnn = 1; break;
        case OPT_PREPROCESS: rc = check_preprocess(optarg); o->preprocess = optarg; break;
        case OPT_LAYER: o->maxact_layer = optarg; break;
        case OPT_CHANNEL: rc = parse_count("--channel", optarg, 0, 1 << 30, &o->maxact_channel); break;
        case OPT_CHANNELS: o->maxact_channels = optarg; break;
        case OPT_TOP: rc = parse_count("--top", optarg, 1, 1000, &o->maxact_top); break;
        case OPT_MAXACT_DIR: o->maxact_dir = optarg; break;
        case 'h': want_help = 1; break;   /* after the checks: a listed option must pass them */
        case 'V': print_version(); return 1;
        case ':':
            fprintf(stderr, "alexscope: option %s needs a value (see alexscope --help)\n", argv[optind - 1]);
            return 2;
        default:
            fprintf(stderr, "alexscope: unknown option '%s' (see alexscope --help)\n", argv[optind - 1]);
            return 2;
        }
        if (rc) return rc;
    }
    if (optind < argc) o->image = argv[optind++];
    if (optind < argc && !strcmp(o->command, "convert") && !o->load_only) o->output = argv[optind++];
    if (optind < argc) {
        fprintf(stderr, "alexscope: unexpected argument '%s' (one image at a time; see alexscope --help)\n",
                argv[optind]);
        return 2;
    }
    /* a folder typed with its slash ("g/") names files g/x.npy, not g//x.npy */
    trim_slashes(o->save_dir);
    trim_slashes(o->diff_save);
    trim_slashes(o->data_dir);
    trim_slashes(o->maxact_dir);
    for (int i = 0; i < o->nsides; i++)
        if (o->sides[i].kind == 'r') trim_slashes(o->sides[i].value);
    if (o->input_npy && looks_like_image(o->input_npy)) {
        fprintf(stderr, "alexscope: --input takes a tensor (a float32 .npy of shape (N, C, H, W)); %s is an image: "
                "give it without --input (alexscope %s %s)\n", o->input_npy, o->command, o->input_npy);
        return 2;
    }
    if (o->image && o->input_npy) {
        fprintf(stderr, "alexscope: give an IMAGE or --input X.npy, not both\n");
        return 2;
    }
    if (o->grad_class >= 0 && o->loss) {
        fprintf(stderr, "alexscope: give --class K or --loss l2, not both\n");
        return 2;
    }
    return want_help ? 3 : 0;
}

void ax_cli_ui_config(ax_ui_config *cfg, const ax_cli_opts *o, const ax_cli_session *s)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->image_path = o->image;
    cfg->input_path = o->input_npy;
    cfg->model_name = s->model;
    cfg->device_name = o->device;
    cfg->labels = &s->labels;
    cfg->topk = o->topk;
    cfg->mono = o->mono || getenv("NO_COLOR");
    cfg->tour = o->tour;
    cfg->maxact_dir = o->maxact_dir;
    cfg->side_open = ax_cli_side_open;
    cfg->side_close = ax_cli_side_close;
    cfg->side_ctx = (void *)o;
}

int ax_cli_fail(const ax_error *err)
{
    fflush(stdout);
    fprintf(stderr, "alexscope: %s\n", err->msg);
    return 1;
}

int ax_cli_error(int status, const char *fmt, ...)
{
    fflush(stdout);
    va_list ap;
    va_start(ap, fmt);
    fputs("alexscope: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return status;
}

void ax_cli_print_notes(FILE *f, const char *notes)
{
    for (const char *p = notes; p && *p;) {
        size_t len = strcspn(p, "\n");
        fprintf(f, "alexscope: %.*s\n", (int)len, p);
        p += len + (p[len] == '\n');
    }
}

const char *ax_cli_weights_label(const ax_net *net)
{
    return net->untrained ? "UNTRAINED seeded weights" : net->weights_path;
}

/* The image (preprocessed) or the exact tensor of --input, read once. */
static ax_status read_input(float **data, int *n, const ax_cli_session *s, const ax_cli_opts *o, ax_error *err)
{
    ax_status st;
    if (o->input_npy) {
        int c, h, w;
        st = ax_input_npy_load(data, n, &c, &h, &w, o->input_npy, err);
        if (st) return st;
        if (c != s->spec.in_c || h != s->spec.in_h || w != s->spec.in_w || *n < 1 || *n > 4096) {
            free(*data);
            *data = NULL;
            return ax_fail(err, AX_ERR_SHAPE, "%s: input (%d, %d, %d, %d) does not fit the %s model: expected "
                           "(N, %d, %d, %d) with N from 1 to 4096", o->input_npy, *n, c, h, w, s->spec.name,
                           s->spec.in_c, s->spec.in_h, s->spec.in_w);
        }
        return AX_OK;
    }
    ax_image img;
    st = ax_image_load(&img, o->image, err);
    if (st) return st;
    size_t count = (size_t)s->spec.in_c * s->spec.in_h * s->spec.in_w;
    *data = malloc(count * sizeof(float));
    *n = 1;
    if (!*data) { ax_image_free(&img); return ax_fail(err, AX_ERR_NOMEM, "out of memory"); }
    st = ax_preprocess_image(*data, &img, &s->spec, err);
    ax_image_free(&img);
    if (st) { free(*data); *data = NULL; }
    return st;
}

/* --preprocess on a loaded spec: a preset for its input size, and/or the
 * key=value settings of a preprocess line over it, read by the spec parser
 * itself so that they mean what they mean in a .net file. */
static ax_status apply_preprocess(ax_spec *spec, const char *text, ax_error *err)
{
    size_t n = strcspn(text, " \t");
    char word[32];
    snprintf(word, sizeof word, "%.*s", (int)(n < sizeof word ? n : sizeof word - 1), text);
    ax_preprocess base = spec->pre;
    const char *rest = text;
    if (n < sizeof word && !ax_preprocess_preset(&base, word, spec->in_h, spec->in_w)) rest = text + n;
    rest += strspn(rest, " \t");
    if (!*rest) {
        spec->pre = base;
        return AX_OK;
    }
    char line[400], doc[1200];
    ax_preprocess_line(line, sizeof line, &base);
    snprintf(doc, sizeof doc, "name p\ninput %d %d %d\npreprocess %s %.700s\nrelu r\n", spec->in_c, spec->in_h,
             spec->in_w, line, rest);
    ax_spec *tmp = malloc(sizeof *tmp);
    if (!tmp) return ax_fail(err, AX_ERR_NOMEM, "out of memory");
    ax_status st = ax_spec_parse(tmp, doc, "--preprocess", err);
    if (!st && (tmp->pre.crop_h != spec->in_h || tmp->pre.crop_w != spec->in_w))
        st = ax_fail(err, AX_ERR_ARG, "--preprocess %s: its crop %dx%d is not the %s model's %dx%d input", text,
                     tmp->pre.crop_h, tmp->pre.crop_w, spec->name, spec->in_h, spec->in_w);
    if (!st) spec->pre = tmp->pre;
    free(tmp);
    return st;
}

/* The class count a weight file's fine-tuned last fc gives the model, or 0
 * (asked only after the plain load failed on shapes, so a fitting file is
 * read once). */
static int fine_tuned(const char *weights, const char *model)
{
    ax_fit_file ff;
    ax_error err = {0};
    ax_fit *fit = malloc(sizeof *fit);
    int classes = 0;
    if (fit && !ax_fit_file_open(&ff, weights, &err)) {
        if (!ax_fit_model(fit, &ff, model, 0, NULL, &err) && fit->fits) classes = fit->classes;
        ax_fit_file_close(&ff);
    }
    free(fit);
    return classes;
}

static void resize_note(ax_spec *spec, int classes, const ax_cli_opts *o)
{
    int last = ax_fit_resize_classes(spec, classes);
    if (last >= 0 && !o->quiet)
        fprintf(stderr, "alexscope: note: %s: its '%s' has %d outputs (a classifier fine-tuned to %d classes): "
                "the %s model is used with '%s' resized to %d, classes numbered (as train --classes %d makes it)\n",
                o->weights, spec->layers[last].name, classes, classes, spec->name, spec->layers[last].name, classes,
                classes);
}

ax_status ax_cli_open(ax_cli_session *s, const ax_cli_opts *o, int need_input, ax_error *err)
{
    memset(s, 0, sizeof *s);
    ax_status st;
    const char *model = o->model;
    ax_fit *fit = NULL;
    if (o->weights) {
        /* a FIFO or device as weights is refused before the net is built */
        int fd;
        size_t size;
        char resolved[1024];   /* a checkpoint's prefix or folder names its .index */
        st = ax_file_open_regular(ax_wfile_resolve(o->weights, resolved, sizeof resolved), "weight file", &fd,
                                  &size, err);
        if (st) return st;
        close(fd);
        if (!o->model_given) {
            /* no --model: the model the file fits, not a wall of what caffe misses */
            ax_fit_file ff;
            fit = malloc(sizeof *fit);
            if (!fit) return ax_fail(err, AX_ERR_NOMEM, "out of memory");
            st = ax_fit_file_open(&ff, o->weights, err);
            if (!st) st = ax_fit_choose(fit, &ff, err);
            ax_fit_file_close(&ff);
            if (st) { free(fit); return st; }
            model = fit->model;
            if (strcmp(model, o->model) && !o->quiet)
                fprintf(stderr, "alexscope: %s fits the %s model: using it (--model chooses another)\n",
                        o->weights, model);
        }
    }
    snprintf(s->model, sizeof s->model, "%s", model);
    st = ax_spec_load(&s->spec, model, err);
    int classes = fit ? fit->classes : 0;
    free(fit);
    if (st) return st;
    if (o->preprocess && (st = apply_preprocess(&s->spec, o->preprocess, err))) return st;
    if (classes) resize_note(&s->spec, classes, o);
    /* a model file that holds its weights (.onnx) loads them unless others are given */
    const char *weights = o->weights ? o->weights : s->spec.weights_path[0] ? s->spec.weights_path : NULL;
    if (weights && !o->weights) {
        int fd;
        size_t size;
        st = ax_file_open_regular(weights, "weight file", &fd, &size, err);
        if (st) return st;
        close(fd);
    }
    /* Labels are read before the net is built, so a bad list fails fast. */
    char labels_path[AX_PATH_MAX + 64] = "";
    if (s->spec.labels[0]) {
        if (strchr(s->spec.labels, '/')) snprintf(labels_path, sizeof labels_path, "%s", s->spec.labels);
        else {
            /* Labels sit beside the spec (built-in or the user's own file);
             * a spec copied elsewhere without them uses the data folder's. */
            const char *slash = strrchr(s->spec.path, '/');
            snprintf(labels_path, sizeof labels_path, "%.*s%s", slash ? (int)(slash - s->spec.path + 1) : 0,
                     s->spec.path, s->spec.labels);
            struct stat sb;
            if (stat(labels_path, &sb) != 0 && errno == ENOENT)
                snprintf(labels_path, sizeof labels_path, "%.900s/%.180s", ax_data_dir(), s->spec.labels);
        }
        st = ax_labels_load(&s->labels, labels_path, err);
        if (st) return st;
    }
    const ax_backend *be = ax_backend_find(o->device, err);
    if (!be) return err->code;
    if (o->threads) ax_cpu_set_threads(o->threads);
    ax_backend_options bo = ax_cli_backend_options(o);

    /* The input comes first: its batch sizes the net. */
    int batch = o->batch;
    float *input = NULL;
    if (need_input) {
        if (!o->image && !o->input_npy)
            return ax_fail(err, AX_ERR_ARG, "no input: give an IMAGE or --input X.npy (see alexscope --help)");
        st = read_input(&input, &batch, s, o, err);
        if (st) return st;
    }
    bo.weights_follow = weights != NULL;   /* they replace every seeded value */
    st = ax_net_create_with(&s->net, &s->spec, batch, be, &bo, err);
    if (!st && input)
        st = ax_net_set_input(s->net, input, batch, s->spec.in_c, s->spec.in_h, s->spec.in_w, err);
    if (st) { free(input); return st; }
    if (weights) {
        int tty = !o->quiet && isatty(STDERR_FILENO);
        if (tty) fprintf(stderr, "loading weights from %s ...", weights);
        st = ax_net_load_weights(s->net, weights, o->lenient, s->warn, sizeof s->warn, err);
        if (tty) fprintf(stderr, "\r\033[K");
        if (st == AX_ERR_SHAPE && !classes && (classes = fine_tuned(weights, model)) > 0) {
            /* a classifier fine-tuned to other classes: the model with that
             * many outputs, built again (the misfit was only those) */
            resize_note(&s->spec, classes, o);
            ax_labels_free(&s->labels);
            ax_net_free(s->net);
            s->net = NULL;
            st = ax_net_create_with(&s->net, &s->spec, batch, be, &bo, err);
            if (!st && input)
                st = ax_net_set_input(s->net, input, batch, s->spec.in_c, s->spec.in_h, s->spec.in_w, err);
            if (!st) st = ax_net_load_weights(s->net, weights, o->lenient, s->warn, sizeof s->warn, err);
        }
        if (st) { free(input); return st; }
    }
    free(input);
    if (s->labels.count) {
        /* a list of another length would put wrong names on every class */
        const ax_tensor *last = s->net->nlayers > 0 ? &s->net->layers[s->net->nlayers - 1].out : NULL;
        size_t classes = last && s->net->batch > 0 ? ax_tensor_numel(last) / (size_t)s->net->batch : 0;
        if (classes && (size_t)s->labels.count != classes)
            return ax_fail(err, AX_ERR_FORMAT, "%s: the label list has %d labels, but %s gives %zu classes "
                           "(its last layer, %s); give one label per class", labels_path, s->labels.count,
                           s->spec.path, classes, last->name);
    }
    return AX_OK;
}

ax_backend_options ax_cli_backend_options(const ax_cli_opts *o)
{
    ax_backend_options bo = { .tf32 = o->tf32, .device_index = o->gpu, .no_cudnn = o->no_cudnn };
    return bo;
}

void ax_cli_close(ax_cli_session *s)
{
    ax_net_free(s->net);
    s->net = NULL;
    ax_labels_free(&s->labels);
}

static int same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    return a && b && stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* Extensions that name a format alexscope reads; a command writes those its
 * ext lists (convert: .onnx too). */
static const char *const other_formats[] = {
    ".npy", ".npz", ".pth", ".pt", ".bin", ".h5", ".hdf5", ".keras", ".onnx", ".caffemodel", ".weights",
    ".ckpt", ".index", ".pb", ".tflite", ".json", ".net", ".txt", NULL
};

int ax_cli_check_output(const char *out, const char *cmd, const char *const *inputs, const char *ext)
{
    if (ext) {
        /* ext lists what cmd writes, the first its default: ".safetensors .onnx" */
        const char *dot = strrchr(out, '.'), *slash = strrchr(out, '/');
        int listed = 0;
        size_t dl = dot ? strlen(dot) : 0;
        for (const char *e = ext; dot && *e && !listed; e += strcspn(e, " "), e += *e == ' ')
            listed = strcspn(e, " ") == dl && !strncasecmp(e, dot, dl);
        char what[80] = "", names[AX_PATH_MAX + 80] = "";
        for (const char *e = ext; *e; e += strcspn(e, " "), e += *e == ' ') {
            int el = (int)strcspn(e, " "), last = !e[el];
            snprintf(what + strlen(what), sizeof what - strlen(what), "%s%.*s", e == ext ? "" : last ? " or " : ", ",
                     el - 1, e + 1);
            if (dot)
                snprintf(names + strlen(names), sizeof names - strlen(names), "%s%.*s%.*s",
                         e == ext ? "" : last ? " or " : ", ", (int)(dot - out), out, el, e);
        }
        if (dot && (!slash || dot > slash) && !listed)
            for (int i = 0; other_formats[i]; i++)
                if (!strcasecmp(dot, other_formats[i]))
                    return ax_cli_error(2, "%s: %s writes %s files, and %s names another format; name it %s", out,
                                        cmd, what, dot, names);
    }
    for (int i = 0; inputs && inputs[i]; i++)
        if (same_file(out, inputs[i]))
            return ax_cli_error(1, "%s: is a file %s reads (%s), so it would be written over; write to another "
                                "file", out, cmd, inputs[i]);
    struct stat sb;
    if (stat(out, &sb) == 0 && !S_ISREG(sb.st_mode))
        /* writing into a FIFO would block; a device or a folder is no place for it */
        return ax_cli_error(1, "%s: exists and is not a regular file; the output must be a file", out);
    /* the folder exists and takes a file: the writer's own temporary, made
     * and removed now, not after seconds of loading */
    ax_file_out probe;
    ax_error err = {0};
    if (ax_file_create(&probe, out, &err)) return ax_cli_fail(&err);
    ax_file_abandon(&probe);
    return 0;
}

int ax_cli_check_output_dir(const char *dir)
{
    struct stat sb;
    if (stat(dir, &sb) == 0) {
        if (!S_ISDIR(sb.st_mode)) return ax_cli_error(1, "%s: exists and is not a folder; the output goes in a folder", dir);
        if (access(dir, W_OK | X_OK)) return ax_cli_error(1, "%s: cannot write files there: %s", dir, strerror(errno));
        return 0;
    }
    /* not there yet: the command makes it, so its parent must take it */
    char parent[AX_PATH_MAX];
    snprintf(parent, sizeof parent, "%s", dir);
    char *slash = strrchr(parent, '/');
    if (!slash) snprintf(parent, sizeof parent, ".");
    else if (slash == parent) parent[1] = 0;
    else *slash = 0;
    if (stat(parent, &sb))
        return ax_cli_error(1, "%s: cannot be made: its parent folder %s does not exist", dir, parent);
    if (!S_ISDIR(sb.st_mode))
        return ax_cli_error(1, "%s: cannot be made: %s is not a folder", dir, parent);
    if (access(parent, W_OK | X_OK))
        return ax_cli_error(1, "%s: cannot be made in %s: %s", dir, parent, strerror(errno));
    return 0;
}
