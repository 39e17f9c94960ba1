/* libFuzzer harness: a net spec from arbitrary text through the summary
 * (shapes resolved without allocating the net, receptive fields, table,
 * diagram and JSON, each written into a buffer of exactly the size asked). */
#include <stdlib.h>
#include <string.h>
#include "alexscope/spec.h"
#include "alexscope/teach.h"

static void render(const ax_summary *s, size_t (*fn)(const ax_summary *, char *, size_t))
{
    size_t need = fn(s, NULL, 0);
    char *buf = malloc(need + 1);
    if (!buf) return;
    size_t got = fn(s, buf, need + 1);
    if (got != need || strlen(buf) != need) abort();
    free(buf);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    if (memchr(data, 0, size)) return 0;
    char *text = malloc(size + 1);
    ax_spec *spec = malloc(sizeof *spec);
    ax_summary *s = malloc(sizeof *s);
    if (text && spec && s) {
        memcpy(text, data, size);
        text[size] = 0;
        ax_error err;
        if (ax_spec_parse(spec, text, "fuzz.net", &err) == AX_OK && ax_summary_build(s, spec, &err) == AX_OK) {
            render(s, ax_summary_table);
            render(s, ax_summary_diagram);
            render(s, ax_summary_json);
        }
    }
    free(text);
    free(spec);
    free(s);
    return 0;
}
