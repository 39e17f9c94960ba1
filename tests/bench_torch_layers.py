#!/usr/bin/python3
"""The per-layer peer of tests/bench_vs_torch.sh: each convolution of MODEL
(caffe or torchvision AlexNet) alone in PyTorch on the CPU (oneDNN
underneath), at BATCH with torch.set_num_threads(THREADS), timed after a
warm-up as the median of RUNS (as `alexscope bench` takes its own). MODE forward times conv(x); MODE backward times
conv(x) and its backward to the weights, the bias and (except conv1, whose
input needs none) the input, as alexscope's `bench --backward` does.
Prints `layer NAME MS` per convolution.

usage: bench_torch_layers.py MODEL BATCH THREADS RUNS forward|backward
"""
import statistics
import sys
import time

import torch
import torch.nn as nn

# (name, in, out, kernel, stride, pad, groups, input side)
LAYERS = {
    "caffe": [("conv1", 3, 96, 11, 4, 0, 1, 227), ("conv2", 96, 256, 5, 1, 2, 2, 27),
              ("conv3", 256, 384, 3, 1, 1, 1, 13), ("conv4", 384, 384, 3, 1, 1, 2, 13),
              ("conv5", 384, 256, 3, 1, 1, 2, 13)],
    "torchvision": [("features.0", 3, 64, 11, 4, 2, 1, 224), ("features.3", 64, 192, 5, 1, 2, 1, 27),
                    ("features.6", 192, 384, 3, 1, 1, 1, 13), ("features.8", 384, 256, 3, 1, 1, 1, 13),
                    ("features.10", 256, 256, 3, 1, 1, 1, 13)],
}


def main():
    if len(sys.argv) != 6 or sys.argv[1] not in LAYERS or sys.argv[5] not in ("forward", "backward"):
        sys.exit(__doc__.split("usage: ")[1])
    model, batch, threads, runs, mode = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    for i, (name, c, oc, k, s, p, g, side) in enumerate(LAYERS[model]):
        conv = nn.Conv2d(c, oc, k, s, p, groups=g)
        x = torch.rand(batch, c, side, side)
        if mode == "backward" and i > 0:
            x.requires_grad_(True)
        with torch.no_grad():
            dy = torch.rand_like(conv(x.detach()))
        times = []
        for r in range(-2, runs):
            t0 = time.perf_counter()
            if mode == "forward":
                with torch.no_grad():
                    conv(x)
            else:
                conv.zero_grad(set_to_none=True)
                x.grad = None
                conv(x).backward(dy)
            ms = (time.perf_counter() - t0) * 1e3
            if r >= 0:
                times.append(ms)
        print("layer %s %.3f" % (name, statistics.median(times)))


if __name__ == "__main__":
    main()
