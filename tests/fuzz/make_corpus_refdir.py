#!/usr/bin/python3
"""Seeds of the refdir harness (fuzz_refdir.c): each file is up to four
entries [name index][length, 2 bytes little-endian][contents], the names
indexing the harness's list. Rewrites only tests/fuzz/corpus/refdir/.
Run from anywhere:  /usr/bin/python3 tests/fuzz/make_corpus_refdir.py
"""
import io
import os
import struct

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus", "refdir")
# the order of names[] in fuzz_refdir.c
NAMES = ["conv1.npy", "pool1.npy", "fc.npy", "bvlc_alexnet.npy", "README.txt", "model.pth", "sub.npy", "l10.npy"]


def npy(a):
    b = io.BytesIO()
    np.save(b, a, allow_pickle=True)
    return b.getvalue()


def entry(name, data):
    return bytes([NAMES.index(name)]) + struct.pack("<H", len(data)) + data


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(5)
    seeds = {
        "activations_and_notes": entry("conv1.npy", npy(rng.standard_normal((1, 4, 5, 5)).astype(np.float32)))
        + entry("README.txt", b"dumped by hand\n"),
        "channels_last_and_folder": entry("conv1.npy", npy(rng.standard_normal((5, 5, 4)).astype(np.float32)))
        + entry("sub.npy", b""),
        "pickled_dict": entry("bvlc_alexnet.npy", npy(np.array({"fc": [np.ones((6, 6), np.float32)]}, dtype=object)))
        + entry("fc.npy", npy(np.arange(6, dtype=np.float64).reshape(1, 6))),
        "pth_and_broken": entry("model.pth", b"PK\x03\x04 not really a zip")
        + entry("l10.npy", b"\x93NUMPY\x01\x00\x10\x00{'descr': '<f4'")
        + entry("pool1.npy", npy(np.zeros((2, 2), np.float16))),
    }
    for name, data in seeds.items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
