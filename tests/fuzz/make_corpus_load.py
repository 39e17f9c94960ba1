#!/usr/bin/python3
"""Writes tests/fuzz/corpus/load/: weight files for fuzz_load.c's small net
(conv c1 (2, 3, 3, 3), fc f1 (3, 32) after a 2x4x4 input) in the layouts the
loader turns or copies: safetensors (as the net's), the pickled npy dict
(TensorFlow layouts: HWIO, (in, out) with H,W,C rows) and Darknet's stream."""
import io
import json
import os
import struct

import numpy as np

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "load")
os.makedirs(OUT, exist_ok=True)
rng = np.random.default_rng(3)
w1 = rng.standard_normal((2, 3, 3, 3)).astype(np.float32)
b1 = rng.standard_normal(2).astype(np.float32)
w2 = rng.standard_normal((3, 32)).astype(np.float32)
b2 = rng.standard_normal(3).astype(np.float32)


def put(name, data):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)


def safetensors(tensors):
    head, blob = {}, b""
    for k, v in tensors.items():
        raw = v.tobytes()
        head[k] = {"dtype": "F32", "shape": list(v.shape), "data_offsets": [len(blob), len(blob) + len(raw)]}
        blob += raw
    h = json.dumps(head).encode()
    return struct.pack("<Q", len(h)) + h + blob


put("net.safetensors", safetensors({"c1.weight": w1, "c1.bias": b1, "f1.weight": w2, "f1.bias": b2}))
# TensorFlow layouts: HWIO; (in, out) with rows in H,W,C order
w1_tf = np.ascontiguousarray(w1.transpose(2, 3, 1, 0))
w2_tf = np.ascontiguousarray(w2.reshape(3, 2, 4, 4).transpose(2, 3, 1, 0).reshape(32, 3))
b = io.BytesIO()
np.save(b, np.array({"c1": [w1_tf, b1], "f1": [w2_tf, b2]}, dtype=object), allow_pickle=True)
put("dict.npy", b.getvalue())
stream = np.concatenate([b1, w1.ravel(), b2, w2.ravel()]).astype(np.float32)
put("net.weights", struct.pack("<iiiQ", 0, 2, 0, 0) + stream.tobytes())
