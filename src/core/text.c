/* Cleaning text from files for the terminal, and the one rule that maps a
 * name to a file name (see text.h). Pure string work: no I/O, no locale. */
#include "alexscope/text.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Length of the well-formed UTF-8 sequence at s (1..4), or 0 when the bytes
 * there are not one (overlong forms, surrogates and code points past
 * U+10FFFF are not). C1 controls (U+0080..U+009F) count as not well formed
 * here: a terminal acts on them. */
static int utf8_len(const unsigned char *s)
{
    unsigned c = s[0];
    if (c < 0x80) return 1;
    int n;
    uint32_t cp;
    if (c >= 0xc2 && c <= 0xdf) n = 2, cp = c & 0x1f;
    else if (c >= 0xe0 && c <= 0xef) n = 3, cp = c & 0x0f;
    else if (c >= 0xf0 && c <= 0xf4) n = 4, cp = c & 0x07;
    else return 0;
    for (int i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff))) return 0;
    if (cp >= 0xd800 && cp <= 0xdfff) return 0;
    if (cp >= 0x80 && cp <= 0x9f) return 0;
    return n;
}

char *ax_text_clean(char *dst, size_t size, const char *src, int keep_lines)
{
    if (!size) return dst;
    const unsigned char *s = (const unsigned char *)(src ? src : "");
    size_t o = 0;
    while (*s) {
        unsigned c = *s;
        int n = (c < 0x20 && !(keep_lines && (c == '\n' || c == '\t'))) || c == 0x7f ? 0 : utf8_len(s);
        if (n == 0) {
            if (o + 4 >= size) break;
            snprintf(dst + o, 5, "\\x%02x", c);
            o += 4;
            s++;
        } else {
            if (o + (size_t)n >= size) break;
            memcpy(dst + o, s, (size_t)n);
            o += (size_t)n;
            s += n;
        }
    }
    dst[o] = 0;
    return dst;
}

char *ax_text_clean_inplace(char *s)
{
    unsigned char *p = (unsigned char *)s;
    while (p && *p) {
        int n = *p < 0x20 || *p == 0x7f ? 0 : utf8_len(p);
        if (n == 0) *p++ = '?';
        else p += n;
    }
    return s;
}

const char *ax_text_safe(const char *src)
{
    static _Thread_local char ring[8][AX_TEXT_SAFE_MAX];
    static _Thread_local unsigned next;
    char *b = ring[next++ % 8];
    return ax_text_clean(b, AX_TEXT_SAFE_MAX, src, 0);
}

static int plain(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
           c == '.';
}

char *ax_name_to_file(char *dst, size_t size, const char *name)
{
    static const char hex[] = "0123456789ABCDEF";
    if (!size) return dst;
    const unsigned char *s = (const unsigned char *)(name ? name : "");
    size_t cap = size < AX_FILE_NAME_MAX ? size : AX_FILE_NAME_MAX;
    char out[3 * 4096 + 1];
    size_t o = 0;
    if (!*s) out[o++] = '%';
    for (size_t i = 0; s[i] && o + 3 < sizeof out; i++) {
        if (plain(s[i]) && !(i == 0 && s[i] == '.')) {
            out[o++] = (char)s[i];
        } else {
            out[o++] = '%';
            out[o++] = hex[s[i] >> 4];
            out[o++] = hex[s[i] & 15];
        }
    }
    out[o] = 0;
    if (o < cap && strlen((const char *)s) * 3 < sizeof out - 1) {
        memcpy(dst, out, o + 1);
        return dst;
    }
    /* Too long: a prefix, then a hash of the whole name keeps it apart from
     * every other long name with the same prefix. The prefix ends before a
     * %XX is cut. */
    uint64_t h = 1469598103934665603u;   /* FNV-1a */
    for (size_t i = 0; s[i]; i++) h = (h ^ s[i]) * 1099511628211u;
    if (cap < 32) {   /* no room for a prefix: the hash alone */
        snprintf(dst, cap, "~%016llx", (unsigned long long)h);
        return dst;
    }
    size_t keep = cap - 1 - 17;
    while (keep > 0 && (out[keep - 1] == '%' || (keep > 1 && out[keep - 2] == '%'))) keep--;
    memcpy(dst, out, keep);
    snprintf(dst + keep, cap - keep, "~%016llx", (unsigned long long)h);
    return dst;
}
