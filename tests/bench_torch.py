#!/usr/bin/python3
"""The peer for `alexscope bench`: bvlc AlexNet (caffe spec: groups of two,
LRN, ceil-mode pools) forward in PyTorch on the CPU, timed the same way
(warm-up, then the median of N runs). Prints `torch_ms BATCH MEDIAN_MS`.

usage: bench_torch.py BATCH RUNS THREADS
"""
import statistics
import sys
import time

import torch
import torch.nn as nn


def caffe_alexnet():
    return nn.Sequential(
        nn.Conv2d(3, 96, 11, 4), nn.ReLU(), nn.LocalResponseNorm(5, 1e-4, 0.75, 1.0),
        nn.MaxPool2d(3, 2, ceil_mode=True),
        nn.Conv2d(96, 256, 5, padding=2, groups=2), nn.ReLU(), nn.LocalResponseNorm(5, 1e-4, 0.75, 1.0),
        nn.MaxPool2d(3, 2, ceil_mode=True),
        nn.Conv2d(256, 384, 3, padding=1), nn.ReLU(),
        nn.Conv2d(384, 384, 3, padding=1, groups=2), nn.ReLU(),
        nn.Conv2d(384, 256, 3, padding=1, groups=2), nn.ReLU(),
        nn.MaxPool2d(3, 2, ceil_mode=True), nn.Flatten(),
        nn.Linear(9216, 4096), nn.ReLU(), nn.Dropout(),
        nn.Linear(4096, 4096), nn.ReLU(), nn.Dropout(),
        nn.Linear(4096, 1000), nn.Softmax(dim=1),
    ).eval()


def main():
    batch, runs, threads = (int(a) for a in sys.argv[1:4])
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    net = caffe_alexnet()
    x = torch.rand(batch, 3, 227, 227) * 2 - 1
    times = []
    with torch.no_grad():
        for i in range(runs + 2):
            t0 = time.perf_counter()
            net(x)
            if i >= 2:
                times.append((time.perf_counter() - t0) * 1e3)
    print("torch_ms %d %.3f  (PyTorch %s, %d threads)" % (batch, statistics.median(times), torch.__version__, threads))


if __name__ == "__main__":
    main()
