/* Controls of the CPU backend only (the generic engine headers know nothing
 * of threads or BLAS kernels). */
#ifndef ALEXSCOPE_CPU_H
#define ALEXSCOPE_CPU_H

/* Sets the CPU thread count (0: all cores). */
void ax_cpu_set_threads(int n);
int ax_cpu_threads(void);

#endif
