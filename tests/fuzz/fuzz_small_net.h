/* The small net the whole-load harnesses load into: conv c1 (2, 3, 3, 3) + 2
 * and fc f1 (3, 2*4*4) + 3 after a spatial input, 155 floats in all, so that
 * an npy dict's HWIO and H,W,C-ordered (in, out) tensors are turned. */
#ifndef AX_FUZZ_SMALL_NET_H
#define AX_FUZZ_SMALL_NET_H

#define FUZZ_SMALL_NET_SPEC(name)                  \
    "name " name "\n"                              \
    "input 3 8 8\n"                                \
    "conv c1 out=2 k=3 pad=1\n"                    \
    "relu r1\n"                                    \
    "maxpool p1 k=3 s=2 pad=1 round=floor\n"       \
    "fc f1 out=3\n"                                \
    "softmax prob\n"

#endif
