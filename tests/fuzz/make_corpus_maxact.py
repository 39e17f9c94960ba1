#!/usr/bin/python3
# Seeds of fuzz_maxact: fuzz_maxact cuts its input in two halves, the files
# a.png and b.jpg of a folder, so each seed is two of fuzz_image's seeds
# joined, the first padded after its end to the second's length (PNG and
# JPEG readers stop at their end marker), and one picture beside junk.
import os
here = os.path.dirname(os.path.abspath(__file__))
src, dst = os.path.join(here, "corpus", "image"), os.path.join(here, "corpus", "maxact")
os.makedirs(dst, exist_ok=True)
def seed(name, a, b):
    a, b = open(os.path.join(src, a), "rb").read(), open(os.path.join(src, b), "rb").read()
    n = max(len(a), len(b))
    open(os.path.join(dst, name), "wb").write(a + bytes(n - len(a)) + b + bytes(n - len(b)))
seed("png_jpeg", "rgb.png", "ycc.jpg")
seed("jpeg_gif", "gray.jpg", "tiny.gif")
seed("bmp_ppm", "rgb.bmp", "rgb.ppm")
seed("png_junk", "palette.png", "gray16.pgm")
