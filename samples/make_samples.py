#!/usr/bin/python3
"""Copies the sample photos out of Debian's python3-skimage data folder.

chelsea.png and rocket.jpg are copied byte for byte; coffee.png and
astronaut.png are downscaled (Lanczos) and re-encoded so that each file stays
under about 300 KB. Run from anywhere: /usr/bin/python3 samples/make_samples.py
"""
import os
import shutil

from PIL import Image

SRC = "/usr/lib/python3/dist-packages/skimage/data"
DST = os.path.dirname(os.path.abspath(__file__))

# (source name, target name, new size or None for an exact copy)
SAMPLES = [
    ("chelsea.png", "chelsea.png", None),
    ("coffee.png", "coffee.png", (480, 320)),
    ("astronaut.png", "astronaut.png", (384, 384)),
    ("rocket.jpg", "rocket.jpg", None),
]

for src, dst, size in SAMPLES:
    src_path = os.path.join(SRC, src)
    dst_path = os.path.join(DST, dst)
    if size is None:
        shutil.copyfile(src_path, dst_path)
    else:
        img = Image.open(src_path).convert("RGB")
        img.resize(size, Image.LANCZOS).save(dst_path, "PNG", optimize=True)
    print(f"{dst_path}: {os.path.getsize(dst_path)} bytes")
