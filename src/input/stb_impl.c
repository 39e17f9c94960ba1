/* The one translation unit that compiles stb_image (Debian's libstb-dev).
 * Only the decoders alexscope reads are built; nothing else belongs here. */
#include <stdlib.h>

#include "alexscope/image.h"

/* Every allocation stb makes is capped: no buffer for an image within the
 * pixel limit needs more than 16 bytes a pixel (16-bit RGBA with room), yet
 * a PNG chunk or zlib stream that lies about its length would otherwise make
 * stb reserve gigabytes from a few bytes of file. */
#define AX_STB_ALLOC_MAX ((size_t)AX_IMAGE_MAX_PIXELS * 16)

static void *ax_stbi_malloc(size_t n)
{
    return n <= AX_STB_ALLOC_MAX ? malloc(n) : NULL;
}

static void *ax_stbi_realloc(void *p, size_t n)
{
    return n <= AX_STB_ALLOC_MAX ? realloc(p, n) : NULL;
}

#define STBI_MALLOC(n) ax_stbi_malloc(n)
#define STBI_REALLOC(p, n) ax_stbi_realloc(p, n)
#define STBI_FREE(p) free(p)
#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_PNG
#define STBI_ONLY_JPEG
#define STBI_ONLY_BMP
#define STBI_ONLY_GIF
#define STBI_ONLY_PNM
/* stb's own limit on a side is the pixel limit itself: the area is what
 * image.c checks (and says) from the header, so a 40000x100 picture within
 * AX_IMAGE_MAX_PIXELS decodes instead of reading as an "unknown image type". */
#define STBI_MAX_DIMENSIONS AX_IMAGE_MAX_PIXELS

#if defined(__has_include) && !__has_include(<stb_image.h>)
#include <stb/stb_image.h>
#else
#include <stb_image.h>
#endif
