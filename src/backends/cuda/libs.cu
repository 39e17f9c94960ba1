/* Opening cuBLAS and cuDNN when the CUDA backend starts (see cuda_api.h). */
#define AX_CUDA_LOADER
#include "cuda_api.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

ax_cuda_libs ax_cu;

#define STR2(x) #x
#define STR(x) STR2(x)

/* The soname first (LD_LIBRARY_PATH, the system's paths), then the toolkit
 * configure found. */
static void *open_lib(const char *soname, char *why, size_t size)
{
    void *h = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
    if (h) return h;
    snprintf(why, size, "%s", dlerror());
#ifdef AX_CUDA_LIBDIR
    char path[512];
    snprintf(path, sizeof path, "%s/%s", AX_CUDA_LIBDIR, soname);
    h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (h) return h;
#endif
    return NULL;
}

#define AX_CU_LOAD(f)                                                               \
    if (!missing[0]) {                                                              \
        *(void **)&ax_cu.f = dlsym(h, #f);                                          \
        if (!ax_cu.f) snprintf(missing, sizeof missing, "%s", #f);                  \
    }

static int state = 0;     /* 0 not tried, 1 loaded, -1 failed */
static char first_why[400];
#ifdef AX_HAVE_CUDNN
static int dnn_state = 0;
static char first_dnn_why[400];
#endif

int ax_cuda_load_libs(int want_cudnn, int *have_cudnn, char *why, size_t size, char *dnn_why, size_t dnn_size)
{
    char missing[96] = "";
    if (!state) {
        void *h = open_lib("libcublas.so." STR(CUBLAS_VER_MAJOR), first_why, sizeof first_why);
        if (!h) {
            state = -1;
        } else {
            AX_CUBLAS_FUNCS(AX_CU_LOAD)
            if (missing[0]) {
                snprintf(first_why, sizeof first_why, "libcublas.so." STR(CUBLAS_VER_MAJOR) " lacks %s", missing);
                state = -1;
            } else {
                state = 1;
            }
        }
    }
    if (state < 0) {
        snprintf(why, size, "cuBLAS could not be loaded: %s", first_why);
        return -1;
    }
    *have_cudnn = 0;
#ifdef AX_HAVE_CUDNN
    if (want_cudnn && !dnn_state) {
        void *h = open_lib("libcudnn.so." STR(CUDNN_MAJOR), first_dnn_why, sizeof first_dnn_why);
        if (!h) {
            dnn_state = -1;
        } else {
            missing[0] = 0;
            AX_CUDNN_FUNCS(AX_CU_LOAD)
            if (missing[0]) {
                snprintf(first_dnn_why, sizeof first_dnn_why, "libcudnn.so." STR(CUDNN_MAJOR) " lacks %s", missing);
                dnn_state = -1;
            } else {
                dnn_state = 1;
            }
        }
    }
    if (want_cudnn) {
        *have_cudnn = dnn_state > 0;
        if (dnn_state < 0) snprintf(dnn_why, dnn_size, "%s", first_dnn_why);
    }
#else
    (void)want_cudnn;
    (void)dnn_why;
    (void)dnn_size;
#endif
    return 0;
}
