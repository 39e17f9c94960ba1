#!/usr/bin/python3
"""Seeds for fuzz_torch and fuzz_darknet (tests/fuzz/corpus/torch, darknet):
small torch.save files of each container kind and shape of content, and
Darknet files sized for the net fuzz_darknet.c binds (155 floats).
Run with Debian's python3 (python3-torch, numpy); rewrites only those two folders."""
import collections
import io
import os
import shutil
import struct
import zipfile

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))


def folder(name):
    d = os.path.join(HERE, "corpus", name)
    if os.path.isdir(d):
        shutil.rmtree(d)
    os.makedirs(d)
    return d


def torch_seeds():
    d = folder("torch")
    g = torch.Generator().manual_seed(1)
    sd = collections.OrderedDict([
        ("conv.weight", torch.randn(2, 3, 3, 3, generator=g)),
        ("conv.bias", torch.randn(2, generator=g)),
        ("fc.weight", torch.randn(3, 8, generator=g).half()),
        ("fc.bias", torch.randn(3, generator=g).double()),
        ("bn.num_batches_tracked", torch.tensor(5)),
        ("view", torch.arange(8.0)[2:6]),
    ])
    ckpt = {"epoch": 1, "state_dict": collections.OrderedDict(("module." + k, v) for k, v in sd.items()),
            "acc": 0.5, "opt": {"param_groups": [{"lr": 0.1, "params": [0, 1]}]}}
    for name, obj, legacy in (("sd.zip.pth", sd, False), ("sd.legacy.pth", sd, True),
                              ("ckpt.zip.pth", ckpt, False), ("model.legacy.pth", {"model": sd}, True)):
        torch.save(obj, os.path.join(d, name), _use_new_zipfile_serialization=not legacy)
    # the same archive deflated, and with zip64 records
    src = os.path.join(d, "sd.zip.pth")
    for name, kw in (("deflated.pth", dict(compression=zipfile.ZIP_DEFLATED)),
                     ("zip64.pth", dict(compression=zipfile.ZIP_STORED))):
        with zipfile.ZipFile(src) as zin, zipfile.ZipFile(os.path.join(d, name), "w", **kw) as zout:
            for info in zin.infolist():
                with zout.open(info.filename, "w", force_zip64=name == "zip64.pth") as w:
                    w.write(zin.read(info.filename))


def darknet_seeds():
    d = folder("darknet")
    rng = np.random.default_rng(3)
    floats = rng.standard_normal(155).astype("<f4").tobytes()
    seeds = {
        "v0.2.0.weights": struct.pack("<iiiQ", 0, 2, 0, 1000) + floats,
        "v0.1.0.weights": struct.pack("<iiii", 0, 1, 0, 1000) + floats,
        "transposed.weights": struct.pack("<iiii", 0, 1001, 0, 1000) + floats,
        "short.weights": struct.pack("<iiiQ", 0, 2, 0, 1000) + floats[:400],
    }
    for name, data in seeds.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    torch_seeds()
    darknet_seeds()
