/* The one translation unit that compiles stb_image (Debian's libstb-dev).
 * Only the decoders alexscope reads are built; nothing else belongs here. */
#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_PNG
#define STBI_ONLY_JPEG
#define STBI_ONLY_BMP
#define STBI_ONLY_GIF
#define STBI_ONLY_PNM
/* A 32768-pixel side is far beyond any net input; larger headers are refused
 * before stb allocates anything. */
#define STBI_MAX_DIMENSIONS (1 << 15)

#if defined(__has_include) && !__has_include(<stb_image.h>)
#include <stb/stb_image.h>
#else
#include <stb_image.h>
#endif
