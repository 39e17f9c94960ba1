/* Status names and the one way engine code records an error. */
#include "alexscope/status.h"
#include "alexscope/text.h"

#include <stdarg.h>
#include <stdio.h>

ax_status ax_fail(ax_error *err, ax_status code, const char *fmt, ...)
{
    if (err) {
        /* Messages quote names and bytes from files: they reach a terminal
         * only as visible text (text.h), whoever prints them. */
        char raw[sizeof err->msg];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(raw, sizeof raw, fmt, ap);
        va_end(ap);
        ax_text_clean(err->msg, sizeof err->msg, raw, 1);
        err->code = code;
    }
    return code;
}

const char *ax_status_name(ax_status code)
{
    switch (code) {
    case AX_OK: return "ok";
    case AX_ERR_IO: return "i/o error";
    case AX_ERR_FORMAT: return "bad format";
    case AX_ERR_SHAPE: return "wrong shape";
    case AX_ERR_MISSING: return "missing tensor";
    case AX_ERR_EXTRA: return "unexpected tensor";
    case AX_ERR_NOMEM: return "out of memory";
    case AX_ERR_ARG: return "bad argument";
    case AX_ERR_UNSUPPORTED: return "unsupported";
    case AX_ERR_SPEC: return "net spec error";
    case AX_ERR_DEVICE: return "device error";
    }
    return "unknown status";
}
