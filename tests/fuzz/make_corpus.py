#!/usr/bin/python3
"""Writes the seed corpora in tests/fuzz/corpus/: a few small valid files per
reader (and a few near misses), so the fuzzer starts from inputs that get deep.
Also writes regress/: the hostile inputs the Check suites test (their own
copies are made by the tests), so run.sh replays them under the sanitizers.
Run from anywhere with Debian's python3 and numpy; it rewrites its own
folders of corpus/ (safetensors, npy, npz, pickle, spec, image, labels)."""
import io
import os
import pickle
import shutil
import struct
import zlib

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(HERE, "corpus")


def put(name, fname, data):
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, fname), "wb") as f:
        f.write(data)


def npy_bytes(arr, allow_pickle=False):
    b = io.BytesIO()
    np.save(b, arr, allow_pickle=allow_pickle)
    return b.getvalue()


def safetensors_bytes(tensors, dtype_names):
    header, blobs, off = {}, [], 0
    for (name, arr), dt in zip(tensors, dtype_names):
        raw = arr.tobytes()
        header[name] = {"dtype": dt, "shape": list(arr.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    header["__metadata__"] = {"format": "pt"}
    import json
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    return struct.pack("<Q", len(h)) + h + b"".join(blobs)


def weights():
    rng = np.random.default_rng(1)
    w = rng.standard_normal((4, 3, 2, 2)).astype(np.float32)
    b = rng.standard_normal(4).astype(np.float32)
    put("safetensors", "f32.safetensors",
        safetensors_bytes([("conv1.weight", w), ("conv1.bias", b)], ["F32", "F32"]))
    put("safetensors", "mixed.safetensors",
        safetensors_bytes([("a", w.astype(np.float16)), ("b", b.astype(np.float64)),
                           ("c", np.zeros((0, 3), np.float32)), ("d", np.float32(1.5).reshape(()))],
                          ["F16", "F64", "F32", "F32"]))
    put("safetensors", "bf16.safetensors",
        safetensors_bytes([("x", (w.view(np.uint32) >> 16).astype(np.uint16))], ["BF16"]))

    put("npy", "f4.npy", npy_bytes(w))
    put("npy", "f2.npy", npy_bytes(b.astype(np.float16)))
    put("npy", "f8_0d.npy", npy_bytes(np.float64(2.0).reshape(())))
    put("npy", "fortran.npy", npy_bytes(np.asfortranarray(rng.standard_normal((3, 2)).astype(np.float32))))
    v2 = bytearray(npy_bytes(b))
    hlen = struct.unpack("<H", v2[8:10])[0]
    put("npy", "v2.npy", b"\x93NUMPY\x02\x00" + struct.pack("<I", hlen) + bytes(v2[10:]))
    objdict = {"conv1": [w, b], "fc8": [rng.standard_normal((3, 2)).astype(np.float32), b[:2]]}
    put("npy", "pickled_dict.npy", npy_bytes(np.array(objdict, dtype=object), allow_pickle=True))

    for compressed in (False, True):
        buf = io.BytesIO()
        (np.savez_compressed if compressed else np.savez)(buf, conv1_weight=w, conv1_bias=b)
        put("npz", "deflated.npz" if compressed else "stored.npz", buf.getvalue())
    buf = io.BytesIO()
    np.savez(buf, obj=np.array(objdict, dtype=object))
    put("npz", "pickled.npz", buf.getvalue())
    # an odd first byte: the harness wraps the rest as w.npy (bit 1: deflated)
    put("npz", "wrap_stored_f4.bin", b"\x01" + npy_bytes(w))
    put("npz", "wrap_deflated_pickled.bin", b"\x03" + npy_bytes(np.array(objdict, dtype=object), allow_pickle=True))

    # the pickle reader is handed the bytes after an object .npy's header
    for proto in (2, 3, 4, 5):
        put("pickle", "dict_p%d.pkl" % proto, pickle.dumps(objdict, protocol=proto))
    put("pickle", "list_f64.pkl", pickle.dumps([rng.standard_normal(3), np.zeros((2, 2), np.float16)], protocol=2))
    put("pickle", "nested.pkl", pickle.dumps({"a": {"b": (w, [b, None, True, 7])}}, protocol=4))


def spec_and_labels():
    wdir = os.path.join(TOP, "weights")
    for n in sorted(os.listdir(wdir)):
        if n.endswith(".net"):
            shutil.copy(os.path.join(wdir, n), os.path.join(OUT, "spec", n))
    put("labels", "three.txt", b"cat\ndog\nbird\n")
    put("labels", "crlf_bom.txt", b"\xef\xbb\xbftabby cat\r\ntiger  \r\n\r\nlynx\r\n\r\n")
    put("labels", "no_newline.txt", b"one\n\ntwo")
    with open(os.path.join(wdir, "flowers5.txt"), "rb") as f:
        put("labels", "flowers5.txt", f.read())


def png(w, h, color_type, depth, rows, palette=None):
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
    raw = b"".join(b"\x00" + r for r in rows)
    out = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, color_type, 0, 0, 0))
    if palette:
        out += chunk(b"PLTE", palette)
    return out + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def bmp24(w, h, pix):
    row = (w * 3 + 3) & ~3
    data = b"".join(bytes(pix[y * w * 3:(y + 1) * w * 3]) + b"\0" * (row - w * 3) for y in range(h))
    info = struct.pack("<IiiHHIIiiII", 40, w, h, 1, 24, 0, len(data), 2835, 2835, 0, 0)
    return b"BM" + struct.pack("<IHHI", 14 + 40 + len(data), 0, 0, 54) + info + data


def jpeg(comps):
    """A baseline 8x8 JPEG of flat grey: one-code Huffman tables (DC category
    0 and AC end-of-block are both the code '0'), every coefficient zero."""
    seg = lambda m, d: b"\xff" + bytes([m]) + struct.pack(">H", len(d) + 2) + d
    dqt = seg(0xDB, b"\x00" + b"\x01" * 64)
    sof = seg(0xC0, struct.pack(">BHHB", 8, 8, 8, comps) +
              b"".join(bytes([i + 1, 0x11, 0]) for i in range(comps)))
    one = bytes([1] + [0] * 15) + b"\x00"
    dht = seg(0xC4, b"\x00" + one + b"\x10" + one)
    sos = seg(0xDA, bytes([comps]) + b"".join(bytes([i + 1, 0x00]) for i in range(comps)) + b"\x00\x3f\x00")
    bits = "00" * comps
    bits += "1" * ((8 - len(bits) % 8) % 8)
    scan = bytes(int(bits[i:i + 8], 2) for i in range(0, len(bits), 8))
    return b"\xff\xd8" + dqt + sof + dht + sos + scan + b"\xff\xd9"


def images():
    put("image", "gray.png", png(3, 2, 0, 8, [b"\x00\x80\xff", b"\x10\x20\x30"]))
    put("image", "rgb.png", png(2, 2, 2, 8, [bytes(range(6)), bytes(range(6, 12))]))
    put("image", "rgba.png", png(2, 1, 6, 8, [bytes(range(8))]))
    put("image", "gray16.png", png(2, 1, 0, 16, [b"\x12\x34\xff\xff"]))
    put("image", "palette.png", png(4, 1, 3, 2, [b"\x1b"], palette=bytes(range(12))))
    put("image", "rgb.bmp", bmp24(3, 2, list(range(18))))
    put("image", "tiny.gif", b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff"
        b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02\x44\x01\x00;")
    put("image", "rgb.ppm", b"P6\n# comment\n2 2\n255\n" + bytes(range(12)))
    put("image", "gray.pgm", b"P5 3 1 255\n\x00\x7f\xff")
    put("image", "gray16.pgm", b"P5 2 1 65535\n\x12\x34\xff\xff")
    put("image", "gray.jpg", jpeg(1))
    put("image", "ycc.jpg", jpeg(3))


def regress():
    def put_r(name, fname, data):
        d = os.path.join(HERE, "regress", name)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, fname), "wb") as f:
            f.write(data)
    # a 20617x18254 GIF screen holding a 1x1 frame (decompression bomb)
    put_r("image", "gif_bomb_20617x18254.gif", b"GIF89a" + struct.pack("<HH", 20617, 18254) +
          b"\x80\x00\x00\x00\x00\x00\xff\xff\xff,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02\x44\x01\x00;")
    # the IHDR of an 18000x18000 greyscale PNG
    put_r("image", "png_header_18000x18000.png", png(18000, 18000, 0, 8, [])[:33])
    # a JPEG whose AC table counts sum to 300 (stb_image < 2.28 writes out of bounds)
    j = bytearray(jpeg(1))
    at = j.index(b"\xff\xc4")
    old = struct.unpack(">H", j[at + 2:at + 4])[0]
    bad = b"\x11" + bytes(14) + bytes([45, 255]) + bytes(300)
    j[at + 2:at + 4] = struct.pack(">H", old + len(bad))
    j[at + 2 + old:at + 2 + old] = bad
    put_r("image", "jpeg_dht_300_codes.jpg", bytes(j))
    # 16-bit PGM (CVE-2021-42716 in stb_image 2.27)
    put_r("image", "pgm_16bit.pgm", b"P5 2 1 65535\n\x12\x34\xff\xff")
    put_r("image", "pnm_header_overflow.ppm", b"P6 99999999999 1 255\n\x00\x00\x00")
    # an .npz whose member declares 2 GiB uncompressed
    buf = io.BytesIO()
    np.savez_compressed(buf, w=np.arange(4, dtype=np.float32))
    z = bytearray(buf.getvalue())
    for sig, off in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        i = z.find(sig)
        while i >= 0:
            z[i + off:i + off + 4] = struct.pack("<I", 0x80000000)
            i = z.find(sig, i + 4)
    put_r("npz", "member_declares_2GiB.npz", bytes(z))


def main():
    regress()
    # only this script's folders: other readers' seeds have their own scripts
    for d in ("safetensors", "npy", "npz", "pickle", "spec", "image", "labels"):
        if os.path.isdir(os.path.join(OUT, d)):
            shutil.rmtree(os.path.join(OUT, d))
        os.makedirs(os.path.join(OUT, d))
    weights()
    spec_and_labels()
    images()


if __name__ == "__main__":
    main()
