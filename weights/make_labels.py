#!/usr/bin/python3
"""Writes imagenet_classes.txt: the 1000 ImageNet-1k class names, one per
line, in the standard class-index order (line 1 is class 0).

The names are taken from Debian 12's python3-torchvision (0.14), which keeps
them in torchvision.models._meta._IMAGENET_CATEGORIES.
Run: /usr/bin/python3 weights/make_labels.py
"""
import os

from torchvision.models._meta import _IMAGENET_CATEGORIES as NAMES

if len(NAMES) != 1000:
    raise SystemExit(f"expected 1000 class names, found {len(NAMES)}")
for i, name in enumerate(NAMES):
    if not name or "\n" in name or name != name.strip():
        raise SystemExit(f"class {i} has an unusable name: {name!r}")

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "imagenet_classes.txt")
with open(out, "w", encoding="utf-8", newline="\n") as f:
    for name in NAMES:
        f.write(name + "\n")
print(f"{out}: {len(NAMES)} names")
