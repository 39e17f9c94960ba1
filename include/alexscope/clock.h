/* The one clock every timing in the program reads (layer times, benchmarks,
 * the workbench's redraw figures): monotonic, in milliseconds. */
#ifndef ALEXSCOPE_CLOCK_H
#define ALEXSCOPE_CLOCK_H

/* Milliseconds since an arbitrary fixed point; only differences mean anything. */
double ax_clock_ms(void);

#endif
