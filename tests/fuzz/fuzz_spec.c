/* libFuzzer harness: the net spec parser on arbitrary text (NUL-terminated
 * copy, as ax_spec_load hands it over after refusing NUL bytes). */
#include <stdlib.h>
#include <string.h>
#include "alexscope/spec.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    if (memchr(data, 0, size)) return 0;
    char *text = malloc(size + 1);
    ax_spec *spec = malloc(sizeof *spec);
    if (text && spec) {
        memcpy(text, data, size);
        text[size] = 0;
        ax_error err;
        (void)ax_spec_parse(spec, text, "fuzz.net", &err);
    }
    free(text);
    free(spec);
    return 0;
}
