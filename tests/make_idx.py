#!/usr/bin/python3
"""Writes small IDX pairs for tests/train.sh into DIR: a learnable 5-class set
of 28x28 grey images (plain, and the same gzip'ed), and damaged files, each
wrong in one way. Usage: make_idx.py DIR"""
import gzip
import struct
import sys

import numpy as np


def images(a):
    return struct.pack('>IIII', 0x803, *a.shape) + a.astype(np.uint8).tobytes()


def labels(v):
    return struct.pack('>II', 0x801, len(v)) + np.asarray(v, np.uint8).tobytes()


def main(out):
    rng = np.random.default_rng(5)
    n = 240
    lab = np.arange(n) % 5
    rng.shuffle(lab)
    x = rng.integers(0, 60, size=(n, 28, 28))
    for i, k in enumerate(lab):
        o = int(rng.integers(4, 20))
        if k == 0: x[i, o:o + 4, 2:26] = 230        # horizontal bar
        if k == 1: x[i, 2:26, o:o + 4] = 230        # vertical bar
        if k == 2: x[i, 3:12, 3:12] = 230           # square, top left
        if k == 3: x[i, 16:25, 16:25] = 230         # square, bottom right
        # class 4: noise alone
    w = lambda name, b: open(f'{out}/{name}', 'wb').write(b)
    w('set-images-idx3-ubyte', images(x))
    w('set-labels-idx1-ubyte', labels(lab))
    w('gz-images-idx3-ubyte.gz', gzip.compress(images(x), mtime=0))
    w('gz-labels-idx1-ubyte.gz', gzip.compress(labels(lab), mtime=0))
    for name in ('trunc', 'magic', 'range', 'count', 'trailing', 'rows', 'gztrunc'):
        w(f'{name}-labels-idx1-ubyte', labels(lab))
        w(f'{name}-images-idx3-ubyte', images(x))
    w('trunc-images-idx3-ubyte', images(x)[:-100])
    w('magic-images-idx3-ubyte', struct.pack('>I', 0x804) + images(x)[4:])
    bad = lab.copy()
    bad[17] = 7
    w('range-labels-idx1-ubyte', labels(bad))
    w('count-labels-idx1-ubyte', labels(lab[:-1]))
    w('trailing-images-idx3-ubyte', images(x) + b'\0\0\0')
    w('rows-images-idx3-ubyte', struct.pack('>IIII', 0x803, n, 0, 28))
    w('gztrunc-images-idx3-ubyte', gzip.compress(images(x), mtime=0)[:-300])


if __name__ == '__main__':
    main(sys.argv[1])
