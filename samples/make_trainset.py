#!/usr/bin/python3
"""A small image set to train on, drawn procedurally (numpy only): five
classes of shapes (circle, square, triangle, cross, stripes), each image
with a random size, place, colour, background colour and noise, written as
binary PPM files DIR/<class>/<n>.ppm, the layout `alexscope train --data`
reads. Deterministic for a seed. Not committed: it is made where needed.

usage: samples/make_trainset.py DIR [PER_CLASS=100] [SIZE=64] [SEED=1] [CLASSES=5]
"""
import os
import sys

import numpy as np

CLASSES = ["circle", "square", "triangle", "cross", "stripes"]


def draw(kind, size, rng):
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    r = rng.uniform(0.18, 0.34) * size
    cy, cx = rng.uniform(r, size - r, 2)
    if kind == "circle":
        mask = (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
    elif kind == "square":
        a = rng.uniform(0, np.pi / 2)
        u = (xx - cx) * np.cos(a) + (yy - cy) * np.sin(a)
        v = -(xx - cx) * np.sin(a) + (yy - cy) * np.cos(a)
        mask = (np.abs(u) <= r * 0.85) & (np.abs(v) <= r * 0.85)
    elif kind == "triangle":
        a = rng.uniform(0, 2 * np.pi)
        pts = [(cx + r * np.cos(a + k * 2 * np.pi / 3), cy + r * np.sin(a + k * 2 * np.pi / 3)) for k in range(3)]
        mask = np.ones((size, size), bool)
        for k in range(3):
            (x0, y0), (x1, y1) = pts[k], pts[(k + 1) % 3]
            (x2, y2) = pts[(k + 2) % 3]
            side = (x1 - x0) * (yy - y0) - (y1 - y0) * (xx - x0)
            ref = (x1 - x0) * (y2 - y0) - (y1 - y0) * (x2 - x0)
            mask &= side * np.sign(ref) >= 0
    elif kind == "cross":
        w = r * 0.3
        mask = ((np.abs(xx - cx) <= w) & (np.abs(yy - cy) <= r)) | ((np.abs(yy - cy) <= w) & (np.abs(xx - cx) <= r))
    else:
        a = rng.uniform(0, np.pi)
        period = rng.uniform(0.12, 0.25) * size
        u = (xx * np.cos(a) + yy * np.sin(a)) / period
        mask = (u - np.floor(u)) < 0.5
        mask &= (yy - cy) ** 2 + (xx - cx) ** 2 <= (1.4 * r) ** 2
    # Any hue, but the shape always brighter than its background.
    fg = rng.uniform(140, 255, 3)
    bg = rng.uniform(0, 110, 3)
    img = np.where(mask[..., None], fg, bg) + rng.normal(0, 12, (size, size, 3))
    return np.clip(img, 0, 255).astype(np.uint8)


def main():
    if len(sys.argv) < 2:
        print(__doc__.strip())
        return 2
    out = sys.argv[1]
    per = int(sys.argv[2]) if len(sys.argv) > 2 else 100
    size = int(sys.argv[3]) if len(sys.argv) > 3 else 64
    seed = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    ncls = int(sys.argv[5]) if len(sys.argv) > 5 else len(CLASSES)
    rng = np.random.default_rng(seed)
    for kind in CLASSES[:ncls]:
        d = os.path.join(out, kind)
        os.makedirs(d, exist_ok=True)
        for i in range(per):
            img = draw(kind, size, rng)
            with open(os.path.join(d, "%03d.ppm" % i), "wb") as f:
                f.write(b"P6\n%d %d\n255\n" % (size, size))
                f.write(img.tobytes())
    print("wrote %d images of %dx%d in %d classes to %s" % (per * ncls, size, size, ncls, out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
