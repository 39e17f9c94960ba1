/* The CUDA backend compiled for the host emulation (see cuda_emu.h). */
#include "backend_cuda.cu"
#include "probes.cu"
