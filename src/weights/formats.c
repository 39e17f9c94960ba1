/* The format registry: one row per weight format, in dispatch order, and the
 * two calls that go through it (ax_wfile_open, ax_wfile_bind). Calls go one
 * way: here -> the readers -> entries.c; no reader calls back here. The
 * understood-formats text is drawn from the rows, so it names what is read. */
#include "alexscope/weights.h"
#include "wfile_internal.h"
#include "alexscope/fileio.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Dispatch order matters where magics overlap or are weak: a torch.save zip
 * is also a zip, so torch comes before npz; safetensors' '{' at byte 8 and
 * Caffe's protobuf key are weak, so they follow the exact signatures; Darknet
 * has no magic at all and comes last. A magic text holds no "), " (the
 * understood text separates rows with it), a description no parentheses
 * (inspect puts it in some). */
static const ax_wformat formats[] = {
    {.name = "npy", .what = "NumPy .npy: an array or pickled dict, as bvlc_alexnet.npy",
     .magic = "starts \\x93NUMPY", .sniff = ax_npy_sniff, .parse = ax_npy_parse},
    {.name = "torch", .what = "PyTorch torch.save .pth/.pt, zip or legacy",
     .magic = "a zip holding data.pkl, or the legacy magic number", .sniff = ax_torch_sniff,
     .parse = ax_torch_parse, .bind = ax_torch_bind},
    {.name = "npz", .what = "NumPy .npz, a zip of .npy arrays",
     .magic = "a zip: starts PK\\x03\\x04", .sniff = ax_npz_sniff, .parse = ax_npz_parse},
    {.name = "safetensors", .what = "Hugging Face safetensors",
     .magic = "an 8-byte little-endian header length, then '{'", .sniff = ax_safetensors_sniff,
     .parse = ax_safetensors_parse},
    {.name = "keras-h5", .what = "Keras .h5 and .weights.h5, HDF5",
     .magic = "starts \\x89HDF\\r\\n\\x1a\\n", .sniff = ax_keras_sniff, .parse = ax_keras_parse,
     .bind = ax_keras_bind},
    {.name = "tfckpt", .what = "TensorFlow checkpoint, tensor bundle V2: PREFIX.index + PREFIX.data-*",
     .magic = "a LevelDB table: ends with 0xdb4775248b80fb57", .sniff = ax_tfckpt_sniff,
     .parse = ax_tfckpt_parse, .bind = ax_tfckpt_bind},
    {.name = "onnx", .what = "ONNX .onnx, a ModelProto protobuf: the graph and its weights",
     .magic = "a protobuf starting with ir_version, field 1", .sniff = ax_onnx_sniff, .parse = ax_onnx_parse,
     .bind = ax_onnx_bind, .spec_text = ax_onnx_spec_text},
    {.name = "caffemodel", .what = "Caffe .caffemodel, a NetParameter protobuf",
     .magic = "a protobuf whose first field is name, layers or layer", .sniff = ax_caffe_sniff,
     .parse = ax_caffe_parse, .bind = ax_caffe_bind, .spec_text = ax_caffe_spec_text},
    {.name = "darknet", .what = "Darknet .weights",
     .magic = "no magic: a version header, then float32 values", .sniff = ax_darknet_sniff,
     .parse = ax_darknet_parse, .bind = ax_darknet_bind},
};

enum { NFORMATS = (int)(sizeof formats / sizeof formats[0]) };

int ax_wformat_count(void)
{
    return NFORMATS;
}

const ax_wformat *ax_wformat_at(int i)
{
    return i >= 0 && i < NFORMATS ? &formats[i] : NULL;
}

/* A row answers to its name and to its name followed by '-' and a variant. */
const ax_wformat *ax_wformat_find(const char *format)
{
    if (!format) return NULL;
    for (int i = 0; i < NFORMATS; i++) {
        size_t n = strlen(formats[i].name);
        if (!strncmp(format, formats[i].name, n) && (format[n] == 0 || format[n] == '-')) return &formats[i];
    }
    return NULL;
}

const ax_wformat *ax_wformat_sniff(const void *buf, size_t size)
{
    for (int i = 0; i < NFORMATS; i++)
        if (formats[i].sniff(buf, size)) return &formats[i];
    return NULL;
}

size_t ax_wformat_understood(char *buf, size_t size)
{
    size_t len = 0;
    for (int i = 0; i < NFORMATS; i++) {
        char *at = buf && len < size ? buf + len : NULL;
        int n = snprintf(at, at ? size - len : 0, "%s%s (%s)", i ? ", " : "understood: ", formats[i].name,
                         formats[i].magic);
        if (n > 0) len += (size_t)n;
    }
    return len;
}

/* Files people bring that no row reads, and why. */
static const char *format_hint(const unsigned char *b, size_t n)
{
    if ((n >= 8 && !memcmp(b, "\x89PNG\r\n\x1a\n", 8)) || (n >= 3 && !memcmp(b, "\xff\xd8\xff", 3)) ||
        (n >= 2 && !memcmp(b, "BM", 2)) || (n >= 6 && (!memcmp(b, "GIF87a", 6) || !memcmp(b, "GIF89a", 6))))
        return "; this is an image: give it as the IMAGE argument, not as weights";
    size_t textual = 0, look = n < 256 ? n : 256;
    while (textual < look && ((b[textual] >= 0x20 && b[textual] < 0x7f) || b[textual] == '\n' ||
                              b[textual] == '\r' || b[textual] == '\t'))
        textual++;
    if (look && textual == look)
        return "; it reads as text (a net spec goes with --model, labels beside the spec), not as weights";
    if (n >= 2 && b[0] == 0x80 && b[1] >= 2 && b[1] <= 5)
        return "; this is a bare Python pickle (an old PyTorch .pt/.pth?): convert it to safetensors";
    if (n >= 8 && b[7] == 0 && b[6] == 0 && b[5] == 0)
        return "; the first 8 bytes look like a safetensors header length, but no '{' follows";
    return "";
}

/* What users type for a TensorFlow checkpoint is often not the file to read:
 * the prefix (model.ckpt, no file of that name), a PREFIX.data-K-of-N shard,
 * or a directory whose `checkpoint` text file names the latest prefix. Each
 * becomes PREFIX.index in buf; anything else is left as typed. */
const char *ax_wfile_resolve(const char *path, char *buf, size_t n)
{
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        char list[1200];
        snprintf(list, sizeof list, "%s/checkpoint", path);
        FILE *fp = fopen(list, "r");
        if (!fp) return path;
        char line[1200], name[1024] = "";
        while (fgets(line, sizeof line, fp)) {
            const char *key = "model_checkpoint_path:";
            char *at = strstr(line, key);
            if (at != line) continue;
            char *q = strchr(at + strlen(key), '"'), *e = q ? strrchr(q + 1, '"') : NULL;
            if (q && e && e > q) snprintf(name, sizeof name, "%.*s", (int)(e - q - 1), q + 1);
            break;
        }
        fclose(fp);
        if (!name[0]) return path;
        if (name[0] == '/') snprintf(buf, n, "%s.index", name);
        else snprintf(buf, n, "%s/%s.index", path, name);
        return buf;
    }
    if (stat(path, &st) == 0) {
        /* PREFIX.data-00000-of-00001 -> PREFIX.index */
        const char *d = strstr(path, ".data-");
        int k, m, used = 0;
        if (d && sscanf(d, ".data-%5d-of-%5d%n", &k, &m, &used) == 2 && d[used] == 0 &&
            strlen(d) == strlen(".data-00000-of-00000")) {
            snprintf(buf, n, "%.*s.index", (int)(d - path), path);
            if (stat(buf, &st) == 0) return buf;
        }
        return path;
    }
    snprintf(buf, n, "%s.index", path);
    return stat(buf, &st) == 0 ? buf : path;
}

ax_status ax_wfile_open(ax_wfile **out, const char *typed, ax_error *err)
{
    *out = NULL;
    char resolved[1024];   /* as f->path */
    const char *path = ax_wfile_resolve(typed, resolved, sizeof resolved);
    char understood[640];
    ax_wformat_understood(understood, sizeof understood);
    ax_wfile *f = calloc(1, sizeof *f);
    if (!f) return ax_fail(err, AX_ERR_NOMEM, "%s: out of memory opening the weight file", path);
    snprintf(f->path, sizeof f->path, "%s", path);

    int fd;
    size_t size;
    ax_status os = ax_file_open_regular(path, "weight file", &fd, &size, err);
    if (os != AX_OK) {
        free(f);
        return os;
    }
    if (size == 0) {
        close(fd);
        free(f);
        return ax_fail(err, AX_ERR_FORMAT, "%s: empty file (0 bytes), expected a weight file; %s", path,
                       understood);
    }
    void *map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    int map_errno = errno;
    if (map == MAP_FAILED) {
        close(fd);
        free(f);
        return ax_fail(err, AX_ERR_IO, "%s: cannot map %zu bytes: %s", path, size, strerror(map_errno));
    }
    /* f owns the mapping from here: readers may use it in place, replace it
     * or drop it, and ax_wfile_close unmaps what is left */
    f->map = map;
    f->map_size = size;
    f->map_fd = fd;
    f->map_fd_open = 1;

    const unsigned char *b = map;
    const ax_wformat *w = ax_wformat_sniff(b, size);
    ax_status s;
    if (w) {
        s = w->parse(f, map, size, path, err);
    } else {
        /* the first bytes in hex and as text, so "# a note" reads as text */
        char hex[3 * 8 + 1] = "", text[8 + 1] = "";
        size_t n = size < 8 ? size : 8;
        for (size_t i = 0; i < n; i++) {
            snprintf(hex + (i ? 3 * i - 1 : 0), 4, "%s%02x", i ? " " : "", b[i]);
            text[i] = b[i] >= 0x20 && b[i] < 0x7f ? (char)b[i] : '.';
        }
        text[n] = 0;
        s = ax_fail(err, AX_ERR_FORMAT, "%s: not a weight file this reader knows (%zu bytes, starting %s, \"%s\"); "
                    "%s%s", path, size, hex, text, understood, format_hint(b, size));
    }
    if (s != AX_OK) {
        ax_wfile_close(f);
        return s;
    }
    *out = f;
    return AX_OK;
}

ax_status ax_wfile_bind(ax_wfile *f, const struct ax_net *net, char *notes, size_t notes_size,
                        ax_error *err)
{
    const ax_wformat *w = ax_wformat_find(f->format);
    return w && w->bind ? w->bind(f, net, notes, notes_size, err) : AX_OK;
}
