/* Choosing the best OpenBLAS kernel before OpenBLAS starts (see blas_tune.c). */
#ifndef AX_BLAS_TUNE_H
#define AX_BLAS_TUNE_H

#include <stddef.h>

/* Called first thing in main. When OpenBLAS would run slower kernels than the
 * CPU supports, re-executes the program with OPENBLAS_CORETYPE raised; the
 * re-executed program checks the raised kernels and, when they are wrong,
 * says so on stderr and re-executes once more with the kernels it had.
 * Returns only when no re-exec is needed (or it failed). */
void ax_blas_tune(int argc, char **argv);

/* The kernel OpenBLAS had chosen before a re-exec raised it; NULL if none. */
const char *ax_blas_tuned_from(void);

/* Why raised kernels were refused and the pinned ones kept; NULL if not. */
const char *ax_blas_fell_back(void);

/* Multiplies the GEMM and GEMV shapes the engine uses with the kernels
 * loaded and compares with a plain loop in double. 0 when every result is
 * within float32's rounding bound; -1 with the reason in `why` otherwise. */
int ax_blas_selfcheck(char *why, size_t size);

#endif
