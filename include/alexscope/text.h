/* Strings that came from files, made safe for the two places they go: a
 * terminal (where an escape sequence would act) and a folder (where a name
 * becomes a file). Both are total: nothing is refused, everything is mapped. */
#ifndef ALEXSCOPE_TEXT_H
#define ALEXSCOPE_TEXT_H

#include <stddef.h>

/* Copies src into dst (size bytes, always NUL-terminated; src NULL reads as
 * "") so that it can be printed or drawn: every C0 control (newline and tab
 * too, unless keep_lines), DEL, every C1 control and every byte that is not
 * part of well-formed UTF-8 becomes a visible \xNN; valid UTF-8 text is
 * kept. Returns dst. */
char *ax_text_clean(char *dst, size_t size, const char *src, int keep_lines);

/* The same in place, for text kept only to be shown (a label list): each
 * byte ax_text_clean would escape becomes '?'. Returns s. */
char *ax_text_clean_inplace(char *s);

/* The same into one of a few rotating thread-local buffers of
 * AX_TEXT_SAFE_MAX bytes, so that a printf may take several:
 * printf("%s %s", ax_text_safe(a), ax_text_safe(b)). Longer text is cut. */
#define AX_TEXT_SAFE_MAX 1024
const char *ax_text_safe(const char *src);

/* The one rule by which a layer or tensor name becomes a file name (the
 * caller adds the extension): bytes A-Z a-z 0-9 '_' '-' '.' stay, except a
 * leading '.'; every other byte (and that leading '.') is written %XX in
 * upper-case hex, so '/' is %2F and '%' is %25. "conv1" stays "conv1",
 * "/features_0/Conv_output_0" becomes "%2Ffeatures_0%2FConv_output_0", an
 * empty name is "%" (which no other name maps to). The mapping is
 * injective, never holds '/', never starts with '.', and so never leaves
 * the folder; it is at most AX_FILE_NAME_MAX - 1 bytes (a mapping that would
 * be longer keeps its first part and ends in '~' and 16 hex digits of a
 * hash of the whole name, leaving room for an extension). Returns dst. */
#define AX_FILE_NAME_MAX 200
char *ax_name_to_file(char *dst, size_t size, const char *name);

#endif
