/* Status values and error messages shared by every engine call.
 * Engine code never prints and never exits: it fills an ax_error and returns. */
#ifndef ALEXSCOPE_STATUS_H
#define ALEXSCOPE_STATUS_H

typedef enum {
    AX_OK = 0,
    AX_ERR_IO,          /* a file could not be opened, read or written */
    AX_ERR_FORMAT,      /* a file is not what it claims (bad magic, lying header) */
    AX_ERR_SHAPE,       /* a tensor has the wrong shape or dtype */
    AX_ERR_MISSING,     /* a tensor the net needs is absent */
    AX_ERR_EXTRA,       /* a file holds a tensor the net does not use */
    AX_ERR_NOMEM,
    AX_ERR_ARG,         /* a caller passed something out of range */
    AX_ERR_UNSUPPORTED, /* valid but not handled (a backend, a dtype) */
    AX_ERR_SPEC,        /* a net spec file has an error */
    AX_ERR_DEVICE       /* a device (GPU) or its runtime failed or is absent */
} ax_status;

typedef struct {
    ax_status code;
    char msg[1024];
} ax_error;

/* Records code and a printf-style message in err (which may be NULL) and
 * returns code, so a failing path reads `return ax_fail(err, AX_ERR_IO, ...)`. */
ax_status ax_fail(ax_error *err, ax_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

const char *ax_status_name(ax_status code);

#endif
