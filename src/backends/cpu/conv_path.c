/* The one place that picks the CPU convolutions' path, per call: oneDNN
 * (conv_dnnl.c) where the build has it, unless ALEXSCOPE_CONV or
 * ax_conv_set_path says im2col; im2col + OpenBLAS (conv.c, conv_bwd.c)
 * otherwise, and whenever oneDNN refuses a shape. */
#include "alexscope/cpu.h"
#include "alexscope/grad.h"
#include "alexscope/layers.h"
#include "config.h"
#include "backends/cpu/conv_dnnl.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef AX_HAVE_DNNL
#include <dnnl.h>
#endif

static pthread_once_t env_once = PTHREAD_ONCE_INIT;
static ax_conv_path env_path = AX_CONV_IM2COL;
static int set_path = -1;          /* ax_conv_set_path's choice, -1: none */
static char problem[160];

int ax_conv_have_onednn(void)
{
#ifdef AX_HAVE_DNNL
    return 1;
#else
    return 0;
#endif
}

static void read_env(void)
{
    env_path = ax_conv_have_onednn() ? AX_CONV_ONEDNN : AX_CONV_IM2COL;
    const char *v = getenv("ALEXSCOPE_CONV");
    if (!v || !*v) return;
    if (!strcmp(v, "im2col")) env_path = AX_CONV_IM2COL;
    else if (!strcmp(v, "onednn") || !strcmp(v, "onednn-direct")) {
        if (ax_conv_have_onednn()) env_path = !strcmp(v, "onednn") ? AX_CONV_ONEDNN : AX_CONV_ONEDNN_DIRECT;
        else snprintf(problem, sizeof problem, "ALEXSCOPE_CONV=%s: this build has no oneDNN (configure --with-dnnl)", v);
    } else {
        snprintf(problem, sizeof problem, "ALEXSCOPE_CONV=%.40s is not im2col, onednn or onednn-direct", v);
    }
}

ax_conv_path ax_conv_get_path(void)
{
    if (set_path >= 0) return (ax_conv_path)set_path;
    pthread_once(&env_once, read_env);
    return env_path;
}

void ax_conv_set_path(ax_conv_path p)
{
    if (p != AX_CONV_IM2COL && !ax_conv_have_onednn()) p = AX_CONV_IM2COL;
    set_path = (int)p;
}

const char *ax_conv_path_problem(void)
{
    pthread_once(&env_once, read_env);
    return problem[0] ? problem : NULL;
}

void ax_conv_describe(char *buf, int size)
{
    ax_conv_path p = ax_conv_get_path();
#ifdef AX_HAVE_DNNL
    const dnnl_version_t *v = dnnl_version();
    if (p == AX_CONV_ONEDNN) {
        snprintf(buf, (size_t)size, "onednn %d.%d.%d (winograd for 3x3 stride-1 at batch>=8%s)", v->major, v->minor,
                 v->patch, ax_conv_onednn_winograd_available() ? "" : ": none for this CPU, direct");
        return;
    }
    if (p == AX_CONV_ONEDNN_DIRECT) {
        snprintf(buf, (size_t)size, "onednn-direct %d.%d.%d (no winograd)", v->major, v->minor, v->patch);
        return;
    }
#endif
    (void)p;
    snprintf(buf, (size_t)size, "im2col + OpenBLAS");
}

void ax_conv2d(float *out, const float *in, const float *w, const float *b, float *scratch, const ax_window *g)
{
    ax_conv_path p = ax_conv_get_path();
    if (p != AX_CONV_IM2COL && ax_conv2d_onednn(out, in, w, b, g, p == AX_CONV_ONEDNN) == 0) return;
    ax_conv2d_im2col(out, in, w, b, scratch, g);
}

void ax_conv2d_bwd(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w,
                   float *scratch, int slots, const ax_window *g)
{
    ax_conv_path p = ax_conv_get_path();
    if (p != AX_CONV_IM2COL && ax_conv2d_bwd_onednn(dx, dw, db, dy, x, w, g) == 0) return;
    ax_conv2d_bwd_im2col(dx, dw, db, dy, x, w, scratch, slots, g);
}

#ifndef AX_HAVE_DNNL
int ax_conv2d_onednn(float *out, const float *in, const float *w, const float *b, const ax_window *g,
                     int winograd_ok)
{
    return -1;
}

int ax_conv2d_bwd_onednn(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w,
                         const ax_window *g)
{
    return -1;
}

void ax_conv2d_prepare(const ax_window *g, int has_bias)
{
    (void)g;
    (void)has_bias;
}

void ax_conv2d_bwd_prepare(const ax_window *g)
{
    (void)g;
}

int ax_conv_onednn_winograd_available(void)
{
    return 0;
}

int ax_conv_onednn_uses_winograd(const ax_window *g, int has_bias)
{
    return 0;
}
#endif
