#!/usr/bin/python3
"""The peer for `alexscope bench`: bvlc AlexNet (caffe spec: groups of two,
LRN, ceil-mode pools) forward in PyTorch on the CPU, timed the same way
(warm-up, then the median of N runs). Prints `torch_ms BATCH MEDIAN_MS`.

With MODE backward, the peer for `alexscope bench --backward`: MODEL's
forward (training mode: dropout on) and backward of softmax cross-entropy
on seeded labels to every weight. Prints `torch_fb_ms BATCH MEAN_MS SD_MS`.

usage: bench_torch.py BATCH RUNS THREADS [caffe|torchvision] [forward|backward]
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


def torchvision_alexnet():
    """torchvision's AlexNet, its logits (the loss takes the softmax)."""
    return nn.Sequential(
        nn.Conv2d(3, 64, 11, 4, 2), nn.ReLU(), nn.MaxPool2d(3, 2),
        nn.Conv2d(64, 192, 5, padding=2), nn.ReLU(), nn.MaxPool2d(3, 2),
        nn.Conv2d(192, 384, 3, padding=1), nn.ReLU(),
        nn.Conv2d(384, 256, 3, padding=1), nn.ReLU(),
        nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(), nn.MaxPool2d(3, 2),
        nn.AdaptiveAvgPool2d((6, 6)), nn.Flatten(),
        nn.Dropout(), nn.Linear(9216, 4096), nn.ReLU(),
        nn.Dropout(), nn.Linear(4096, 4096), nn.ReLU(),
        nn.Linear(4096, 1000),
    )


def backward(batch, runs, model):
    if model == "torchvision":
        net, size = torchvision_alexnet(), 224
    else:
        net, size = caffe_alexnet()[:-1], 227   # logits: the loss takes the softmax
    net.train()
    x = torch.rand(batch, 3, size, size) * 2 - 1
    labels = torch.tensor([(i * 7919) % 1000 for i in range(batch)])
    loss_fn = nn.CrossEntropyLoss()
    times = []
    for i in range(runs + 2):
        t0 = time.perf_counter()
        for p in net.parameters():
            p.grad = None
        loss_fn(net(x), labels).backward()
        if i >= 2:
            times.append((time.perf_counter() - t0) * 1e3)
    sd = statistics.stdev(times) if len(times) > 1 else 0.0
    return statistics.mean(times), sd


def main():
    batch, runs, threads = (int(a) for a in sys.argv[1:4])
    model = sys.argv[4] if len(sys.argv) > 4 else "caffe"
    mode = sys.argv[5] if len(sys.argv) > 5 else "forward"
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    if mode == "backward":
        mean, sd = backward(batch, runs, model)
        print("torch_fb_ms %d %.3f %.3f  (PyTorch %s, %d threads, %s)" % (batch, mean, sd, torch.__version__,
                                                                         threads, model))
        return
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
