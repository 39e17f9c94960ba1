/* Choosing the best OpenBLAS kernel before OpenBLAS starts (see blas_tune.c). */
#ifndef AX_BLAS_TUNE_H
#define AX_BLAS_TUNE_H

/* Called first thing in main. When OpenBLAS would run slower kernels than the
 * CPU supports, re-executes the program with OPENBLAS_CORETYPE raised; returns
 * only when no re-exec is needed (or it failed). */
void ax_blas_tune(int argc, char **argv);

/* The kernel OpenBLAS had chosen before a re-exec raised it; NULL if none. */
const char *ax_blas_tuned_from(void);

#endif
