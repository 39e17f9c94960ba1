/* The PNG writer for the crops and contact sheets of maxact: 8-bit RGB, no
 * interlace, filter 0 on every row, the rows zlib-compressed into one IDAT.
 * Writes only; reading images is src/input/image.c's (stb_image). */
#include "alexscope/maxact.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "alexscope/fileio.h"

static void be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* length, type, data, CRC-32 of type and data */
static int chunk(FILE *f, const char *type, const unsigned char *data, size_t n)
{
    unsigned char head[8], tail[4];
    be32(head, (uint32_t)n);
    memcpy(head + 4, type, 4);
    uLong crc = crc32(0L, (const Bytef *)type, 4);
    if (n) crc = crc32(crc, data, (uInt)n);
    be32(tail, (uint32_t)crc);
    return fwrite(head, 1, 8, f) == 8 && (!n || fwrite(data, 1, n, f) == n) && fwrite(tail, 1, 4, f) == 4;
}

ax_status ax_png_write(const char *path, const unsigned char *rgb, int w, int h, ax_error *err)
{
    if (w < 1 || h < 1 || w > (1 << 15) || h > (1 << 15))
        return ax_fail(err, AX_ERR_ARG, "%s: a %dx%d picture cannot be written (1 to 32768 a side)", path, w, h);
    size_t row = (size_t)w * 3 + 1, raw_n = row * h;
    unsigned char *raw = malloc(raw_n);
    uLongf z_n = compressBound((uLong)raw_n);
    unsigned char *z = malloc(z_n);
    if (!raw || !z) {
        free(raw), free(z);
        return ax_fail(err, AX_ERR_NOMEM, "%s: out of memory for a %dx%d PNG", path, w, h);
    }
    for (int y = 0; y < h; y++) {
        raw[row * y] = 0;   /* filter: none */
        memcpy(raw + row * y + 1, rgb + (size_t)y * w * 3, (size_t)w * 3);
    }
    int zr = compress2(z, &z_n, raw, (uLong)raw_n, 6);
    free(raw);
    if (zr != Z_OK) {
        free(z);
        return ax_fail(err, AX_ERR_NOMEM, "%s: zlib could not compress the picture (%d)", path, zr);
    }
    ax_file_out out;
    ax_status st = ax_file_create(&out, path, err);
    if (st) {
        free(z);
        return st;
    }
    unsigned char ihdr[13];
    be32(ihdr, (uint32_t)w);
    be32(ihdr + 4, (uint32_t)h);
    ihdr[8] = 8;    /* bits per sample */
    ihdr[9] = 2;    /* colour type: RGB */
    ihdr[10] = ihdr[11] = ihdr[12] = 0;   /* deflate, adaptive filtering, no interlace */
    int ok = fwrite("\x89PNG\r\n\x1a\n", 1, 8, out.fp) == 8 && chunk(out.fp, "IHDR", ihdr, sizeof ihdr) &&
             chunk(out.fp, "IDAT", z, z_n) && chunk(out.fp, "IEND", NULL, 0);
    free(z);
    return ax_file_commit(&out, ok, err);
}
