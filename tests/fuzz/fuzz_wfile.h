/* Shared by the weight-file fuzz harnesses: every entry a reader accepted,
 * converted to float32 (which reads all of its bytes); entries of more than
 * 2^24 values are left out to keep each run small. */
#ifndef AX_FUZZ_WFILE_H
#define AX_FUZZ_WFILE_H

#include <stdlib.h>
#include <string.h>
#include "alexscope/net.h"
#include "alexscope/spec.h"
#include "alexscope/weights.h"

/* A net holding only the spec parsed from text, once per process (the same
 * text on every call): what a bind reads. Aborts when the spec does not parse. */
static const ax_net *fuzz_spec_net(const char *text)
{
    static ax_net net;
    static int ready;
    if (!ready) {
        ax_error err;
        char *t = strdup(text);
        if (!t || ax_spec_parse(&net.spec, t, "fuzz.net", &err) != AX_OK) abort();
        free(t);
        ready = 1;
    }
    return &net;
}

static void fuzz_convert_all(const ax_wfile *f)
{
    for (int i = 0; i < f->count; i++) {
        size_t n = ax_wentry_numel(&f->entries[i]);
        if (n > (1u << 24)) continue;
        float *out = malloc((n ? n : 1) * sizeof *out);
        if (out) ax_wentry_to_f32(&f->entries[i], out);
        free(out);
    }
}

#endif
