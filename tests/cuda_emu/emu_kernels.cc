/* The CUDA kernels compiled for the host emulation (see cuda_emu.h). */
#include "lrn.cu"
#include "pool.cu"
#include "simple.cu"
#include "conv.cu"
