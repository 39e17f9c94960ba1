#!/usr/bin/python3
"""Layer-by-layer reference fixtures for tests/check_reference.c, computed with
PyTorch (Debian's python3-torch) as an implementation independent of alexscope.
It must not import or read anything of alexscope: the nets are written out here.

Run from the repository root:  /usr/bin/python3 tests/make_fixtures.py
Writes tests/fixtures/ref/<net>.{net,safetensors,input.npy,acts.npz,top5.txt}
for four reduced-width AlexNet variants. Deterministic (seeded, one thread).
"""
import json
import os
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F

OUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "ref")

# What the nets are checked for while they are made (see make_net).
LRN_MIN_CHANGE = 0.03       # median change an LRN layer's window sum must cause
TOP5_MIN_GAP = 1e-3         # distinct top-6 values apart by this x max|last layer|
# All fixtures together. The inputs alone take 2 MiB (caffe-tiny is a batch of
# two 227x227 images, torchvision-tiny one 224x224), hence the reduced widths
# and the smaller non-square inputs of tf-bench-tiny and keras-half-tiny.
MAX_BYTES = 4 * 2**20

# ---- the nets, as data ------------------------------------------------------
# A layer is (type, name, params). conv pad: int, (t, l, b, r) or "same";
# lrn: Caffe's (size, alpha, beta, k) or TF's (depth_radius, bias, alpha, beta).

def caffe_tiny():
    L = [
        ("conv", "conv1", dict(out=8, k=11, s=4, pad=0)),
        ("relu", "relu1", {}),
        ("lrn", "norm1", dict(convention="caffe", size=5, alpha=0.0001, beta=0.75, k=1.0)),
        ("maxpool", "pool1", dict(k=3, s=2, round="ceil")),
        ("conv", "conv2", dict(out=16, k=5, pad=2, groups=2)),
        ("relu", "relu2", {}),
        # k=2 as in Krizhevsky et al. (Caffe's model uses 1), so that k is checked.
        ("lrn", "norm2", dict(convention="caffe", size=5, alpha=0.0001, beta=0.75, k=2.0)),
        ("maxpool", "pool2", dict(k=3, s=2, round="ceil")),
        ("conv", "conv3", dict(out=24, k=3, pad=1)),
        ("relu", "relu3", {}),
        ("conv", "conv4", dict(out=24, k=3, pad=1, groups=2)),
        ("relu", "relu4", {}),
        ("conv", "conv5", dict(out=16, k=3, pad=1, groups=2)),
        ("relu", "relu5", {}),
        ("maxpool", "pool5", dict(k=3, s=2, round="ceil")),
        ("fc", "fc6", dict(out=32)),
        ("relu", "relu6", {}),
        ("dropout", "drop6", dict(p=0.5)),
        ("fc", "fc7", dict(out=32)),
        ("relu", "relu7", {}),
        ("dropout", "drop7", dict(p=0.5)),
        ("fc", "fc8", dict(out=100)),
        ("softmax", "prob", {}),
    ]
    # Caffe's AlexNet sees 0..255 pixels minus the mean, so conv1 answers in
    # the tens to hundreds; that is the range where its LRN bites.
    return dict(name="caffe-tiny", batch=2, input=(3, 227, 227), layers=L, seed=1,
                description="caffe AlexNet layers at reduced width (reference fixture)",
                preprocess="resize=256x256 crop=227 order=bgr scale=255 mean=104,117,123 std=1,1,1",
                scale=75.0)


def torchvision_tiny():
    L = [
        ("conv", "features.0", dict(out=8, k=11, s=4, pad=2)),
        ("relu", "features.1", {}),
        ("maxpool", "features.2", dict(k=3, s=2, round="floor")),
        ("conv", "features.3", dict(out=16, k=5, pad=2)),
        ("relu", "features.4", {}),
        ("maxpool", "features.5", dict(k=3, s=2, round="floor")),
        ("conv", "features.6", dict(out=24, k=3, pad=1)),
        ("relu", "features.7", {}),
        ("conv", "features.8", dict(out=16, k=3, pad=1)),
        ("relu", "features.9", {}),
        ("conv", "features.10", dict(out=16, k=3, pad=1)),
        ("relu", "features.11", {}),
        ("maxpool", "features.12", dict(k=3, s=2, round="floor")),
        ("avgpool", "avgpool", dict(size=(6, 6))),
        ("flatten", "flatten", dict(order="chw")),
        ("dropout", "classifier.0", dict(p=0.5)),
        ("fc", "classifier.1", dict(out=32)),
        ("relu", "classifier.2", {}),
        ("dropout", "classifier.3", dict(p=0.5)),
        ("fc", "classifier.4", dict(out=32)),
        ("relu", "classifier.5", {}),
        ("fc", "classifier.6", dict(out=100)),
        ("softmax", "prob", {}),
    ]
    return dict(name="torchvision-tiny", batch=1, input=(3, 224, 224), layers=L, seed=2,
                description="torchvision AlexNet layers at reduced width (reference fixture)",
                preprocess="resize=256 crop=224 order=rgb scale=1 mean=0.485,0.456,0.406 std=0.229,0.224,0.225",
                scale=1.0)


def tf_bench_tiny():
    lrn = dict(convention="tf", depth_radius=4, bias=1.0, alpha=0.001 / 9.0, beta=0.75)
    L = [
        ("conv", "conv1", dict(out=8, k=11, s=4, pad="same")),
        ("relu", "relu1", {}),
        ("lrn", "lrn1", lrn),
        ("maxpool", "pool1", dict(k=3, s=2, round="floor")),
        ("conv", "conv2", dict(out=16, k=5, pad="same")),
        ("relu", "relu2", {}),
        ("lrn", "lrn2", lrn),
        ("maxpool", "pool2", dict(k=3, s=2, round="floor")),
        ("conv", "conv3", dict(out=24, k=3, pad="same")),
        ("relu", "relu3", {}),
        ("conv", "conv4", dict(out=16, k=3, pad="same")),
        ("relu", "relu4", {}),
        ("conv", "conv5", dict(out=16, k=3, pad="same")),
        ("relu", "relu5", {}),
        ("maxpool", "pool5", dict(k=3, s=2, round="floor")),
    ]
    # 96x118 rather than 224x224: smaller files, and a non-square input whose
    # SAME padding of conv1 splits differently along H (3/4) and W (4/5).
    return dict(name="tf-bench-tiny", batch=1, input=(3, 96, 118), layers=L, seed=3,
                description="TF benchmark AlexNet layers at reduced width, non-square input (reference fixture)",
                preprocess="resize=none order=rgb scale=1 mean=0,0,0 std=1,1,1",
                scale=25.0)


def keras_half_tiny():
    L = [
        ("pad", "pad0", dict(pad=(1, 1, 2, 2))),
        ("conv", "conv1", dict(out=8, k=11, s=4, pad=0)),
        ("relu", "relu1", {}),
        ("maxpool", "pool1", dict(k=3, s=2, round="floor")),
        ("conv", "conv2", dict(out=16, k=5, pad="same")),
        ("relu", "relu2", {}),
        ("maxpool", "pool2", dict(k=3, s=2, round="floor")),
        ("conv", "conv3", dict(out=24, k=3, pad="same")),
        ("relu", "relu3", {}),
        ("conv", "conv4", dict(out=24, k=3, pad="same")),
        ("relu", "relu4", {}),
        ("conv", "conv5", dict(out=16, k=3, pad="same")),
        ("relu", "relu5", {}),
        ("maxpool", "pool5", dict(k=3, s=2, round="floor")),
        ("flatten", "flatten", dict(order="hwc")),
        ("dropout", "drop6", dict(p=0.2)),
        ("fc", "fc6", dict(out=32)),
        ("relu", "relu6", {}),
        ("dropout", "drop7", dict(p=0.2)),
        ("fc", "fc7", dict(out=32)),
        ("relu", "relu7", {}),
        ("fc", "fc8", dict(out=5)),
        ("softmax", "prob", {}),
    ]
    # Non-square so that pool5 is 2x3: an H/W mix-up in the HWC flatten shows.
    return dict(name="keras-half-tiny", batch=1, input=(3, 99, 131), layers=L, seed=4,
                description="Keras half-width AlexNet layers at reduced width, non-square input (reference fixture)",
                preprocess="resize=none order=rgb scale=1 mean=0,0,0 std=1,1,1",
                scale=1.0)


NETS = [caffe_tiny, torchvision_tiny, tf_bench_tiny, keras_half_tiny]

# ---- spec text ----------------------------------------------------------------

def fmt_float(x):
    return "%.17g" % x


def spec_line(kind, name, p):
    parts = [f"{kind:<8} {name:<13}"]
    if kind == "conv":
        parts.append(f"out={p['out']} k={p['k']}")
        if p.get("s", 1) != 1:
            parts.append(f"s={p['s']}")
        pad = p.get("pad", 0)
        parts.append("pad=" + (pad if isinstance(pad, str) else
                               ",".join(map(str, pad)) if isinstance(pad, tuple) else str(pad)))
        if p.get("groups", 1) != 1:
            parts.append(f"groups={p['groups']}")
    elif kind == "lrn":
        if p["convention"] == "caffe":
            parts.append(f"convention=caffe size={p['size']} alpha={fmt_float(p['alpha'])} "
                         f"beta={fmt_float(p['beta'])} k={fmt_float(p['k'])}")
        else:
            parts.append(f"convention=tf depth_radius={p['depth_radius']} bias={fmt_float(p['bias'])} "
                         f"alpha={fmt_float(p['alpha'])} beta={fmt_float(p['beta'])}")
    elif kind == "maxpool":
        parts.append(f"k={p['k']} s={p['s']} round={p['round']}")
    elif kind == "avgpool":
        parts.append("size=%dx%d" % p["size"])
    elif kind == "pad":
        parts.append("pad=" + ",".join(map(str, p["pad"])))
    elif kind == "flatten":
        parts.append(f"order={p['order']}")
    elif kind == "fc":
        parts.append(f"out={p['out']}")
    elif kind == "dropout":
        parts.append(f"p={p['p']}")
    return " ".join(parts).rstrip() + "\n"


def spec_text(net):
    c, h, w = net["input"]
    s = [f"# Reference fixture net written by tests/make_fixtures.py; do not edit.\n",
         f"name        {net['name']}\n",
         f"description {net['description']}\n",
         f"input       {c} {h} {w}\n",
         f"preprocess  {net['preprocess']}\n\n"]
    s += [spec_line(*layer) for layer in net["layers"]]
    return "".join(s)

# ---- the forward pass with torch.nn.functional --------------------------------

def same_pad(n, k, s):
    """TF SAME along one axis: (before, after); the odd cell goes after."""
    out = -(-n // s)
    total = max((out - 1) * s + k - n, 0)
    return total // 2, total - total // 2


def layer_forward(kind, p, x, W=None, b=None):
    """One layer on x (N, C, H, W) or (N, F), in x's dtype."""
    if kind == "conv":
        pad = p.get("pad", 0)
        k, s = p["k"], p.get("s", 1)
        if pad == "same":
            t, bt = same_pad(x.shape[2], k, s)
            l, r = same_pad(x.shape[3], k, s)
        elif isinstance(pad, tuple):
            t, l, bt, r = pad
        else:
            t = l = bt = r = pad
        x = F.pad(x, (l, r, t, bt))             # F.pad takes (left, right, top, bottom)
        return F.conv2d(x, W, b, stride=s, groups=p.get("groups", 1))
    if kind == "relu":
        return F.relu(x)
    if kind == "lrn":
        if p["convention"] == "caffe":
            # PyTorch's LRN is Caffe's: k + alpha/size * sum over `size` channels.
            return F.local_response_norm(x, p["size"], alpha=p["alpha"], beta=p["beta"], k=p["k"])
        # TF: bias + alpha * sum over 2r+1 channels, alpha NOT divided by the
        # window. PyTorch divides its alpha by the window, so it gets alpha*(2r+1).
        size = 2 * p["depth_radius"] + 1
        return F.local_response_norm(x, size, alpha=p["alpha"] * size, beta=p["beta"], k=p["bias"])
    if kind == "maxpool":
        return F.max_pool2d(x, p["k"], p["s"], ceil_mode=p["round"] == "ceil")
    if kind == "avgpool":
        return F.adaptive_avg_pool2d(x, p["size"])
    if kind == "pad":
        t, l, bt, r = p["pad"]
        return F.pad(x, (l, r, t, bt))
    if kind == "flatten":
        if p["order"] == "hwc":
            x = x.permute(0, 2, 3, 1)
        return x.reshape(x.shape[0], -1)
    if kind == "fc":
        return F.linear(x.reshape(x.shape[0], -1), W, b)
    if kind == "dropout":
        return x
    if kind == "softmax":
        return F.softmax(x.reshape(x.shape[0], -1), dim=1)
    raise ValueError(kind)


def lrn_tf_direct(a, r, bias, alpha, beta):
    """TF's formula written out in float64 numpy, to check the alpha conversion."""
    a = a.astype(np.float64)
    sq = a * a
    C = a.shape[1]
    out = np.empty_like(a)
    for c in range(C):
        s = sq[:, max(0, c - r):min(C, c + r + 1)].sum(axis=1)
        out[:, c] = a[:, c] / (bias + alpha * s) ** beta
    return out


def make_net(net):
    """Draws weights (He-normal, then rescaled on the fixture's own data so
    activations have a chosen size), runs the float32 forward pass, checks it."""
    g = torch.Generator().manual_seed(net["seed"])
    n = net["batch"]
    c, h, w = net["input"]
    x = torch.randn((n, c, h, w), generator=g, dtype=torch.float32)
    inp = x.clone()

    weights = {}
    acts = {}
    layers = net["layers"]
    last_weighted = max(i for i, (k, _, _) in enumerate(layers) if k in ("conv", "fc"))
    x64 = x.double()
    for i, (kind, name, p) in enumerate(layers):
        W = b = None
        if kind in ("conv", "fc"):
            cin = x.shape[1] if kind == "conv" else x[0].numel()
            if kind == "conv":
                shape = (p["out"], cin // p.get("groups", 1), p["k"], p["k"])
            else:
                shape = (p["out"], cin)
            fan_in = int(np.prod(shape[1:]))
            W = torch.randn(shape, generator=g, dtype=torch.float64) * (2.0 / fan_in) ** 0.5
            # ReLU outputs share a large positive mean; zero-mean filters and
            # rows keep it from making every image's deep features alike.
            W -= W.reshape(shape[0], -1).mean(dim=1).reshape((-1,) + (1,) * (len(shape) - 1))
            # Output std: `scale` from conv1 on (how large the net's
            # activations are, which decides how much LRN does), and 2.5 for
            # the last weighted layer so the softmax is neither flat nor one-hot.
            target = 2.5 if i == last_weighted else net["scale"]
            y = layer_forward(kind, p, x64, W, None)
            W *= target / float(y.std())
            b = torch.randn(shape[0], generator=g, dtype=torch.float64) * 0.1 * target
            weights[name + ".weight"] = W.float()
            weights[name + ".bias"] = b.float()
            W, b = weights[name + ".weight"], weights[name + ".bias"]
        y = layer_forward(kind, p, x, W, b)
        y64 = layer_forward(kind, p, x64, None if W is None else W.double(),
                            None if b is None else b.double())
        if kind == "lrn":
            # What the window sum does, beside the constant divisor k^beta.
            a = x.numpy() / (p["k"] if p["convention"] == "caffe" else p["bias"]) ** p["beta"]
            rel = np.abs(y.numpy() - a)[a != 0] / np.abs(a[a != 0])
            med = float(np.median(rel))
            assert med >= LRN_MIN_CHANGE, f"{net['name']}/{name}: LRN changes values by only {med:.2%}"
            net.setdefault("lrn_change", []).append(f"{name} {med:.0%}")
            if p["convention"] == "tf":
                d = lrn_tf_direct(x64.numpy(), p["depth_radius"], p["bias"], p["alpha"], p["beta"])
                assert np.allclose(y64.numpy(), d, rtol=1e-12, atol=0), "TF LRN alpha conversion is wrong"
        acts[name] = y.contiguous()
        # How far float32 is from float64 at this layer: the scale of the
        # rounding differences any two float32 implementations may show.
        dev = float((y.double() - y64).abs().max() / max(float(y64.abs().max()), 1e-30))
        net.setdefault("dev", []).append(dev)
        x, x64 = y, y64
    return inp, weights, acts


def top5(last):
    """Top-5 of each image's last layer (flattened), largest first; ties keep
    the lower index. Asserts the ranks are not decided by rounding."""
    flat = last.reshape(last.shape[0], -1).numpy()
    rows = []
    for v in flat:
        order = np.argsort(-v, kind="stable")
        vals = v[order[:6]]
        gap_min = TOP5_MIN_GAP * float(np.abs(v).max())
        for a, b in zip(vals[:-1], vals[1:]):
            assert a == b or a - b > gap_min, f"top-5 decided by rounding: {a} vs {b}"
        rows.append([int(i) for i in order[:5]])
    return rows

# ---- files --------------------------------------------------------------------

def write_safetensors(path, tensors):
    """safetensors: u64 little-endian header length, a JSON header
    {name: {dtype, shape, data_offsets: [begin, end]}} padded with spaces to a
    multiple of 8 bytes, then the raw little-endian data."""
    header, blobs, off = {}, [], 0
    for name, t in tensors.items():
        raw = np.ascontiguousarray(t.numpy(), dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for raw in blobs:
            f.write(raw)


def read_safetensors(path):
    with open(path, "rb") as f:
        buf = f.read()
    (hlen,) = struct.unpack("<Q", buf[:8])
    header = json.loads(buf[8:8 + hlen])
    base = 8 + hlen
    return {k: np.frombuffer(buf[base + v["data_offsets"][0]:base + v["data_offsets"][1]],
                             dtype="<f4").reshape(v["shape"]) for k, v in header.items()}


def main():
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    os.makedirs(OUT_DIR, exist_ok=True)
    total = 0
    print(f"{'net':<17} {'layer':<13} {'type':<8} {'shape':<18} {'max|x|':>10} {'f32 vs f64':>10}")
    for make in NETS:
        net = make()
        stem = os.path.join(OUT_DIR, net["name"])
        inp, weights, acts = make_net(net)

        with open(stem + ".net", "w") as f:
            f.write(spec_text(net))
        write_safetensors(stem + ".safetensors", weights)
        back = read_safetensors(stem + ".safetensors")
        assert list(back) == list(weights)
        for k, t in weights.items():
            assert np.array_equal(back[k], t.numpy()), k
        np.save(stem + ".input.npy", np.ascontiguousarray(inp.numpy(), dtype=np.float32))
        np.savez_compressed(stem + ".acts.npz",
                            **{k: np.ascontiguousarray(v.numpy(), dtype=np.float32) for k, v in acts.items()})
        rows = top5(acts[net["layers"][-1][1]])
        with open(stem + ".top5.txt", "w") as f:
            for r in rows:
                f.write(" ".join(map(str, r)) + "\n")

        for (kind, name, _), dev in zip(net["layers"], net["dev"]):
            a = acts[name]
            print(f"{net['name']:<17} {name:<13} {kind:<8} {str(tuple(a.shape)):<18} "
                  f"{float(a.abs().max()):>10.4g} {dev:>10.2e}")
        size = sum(os.path.getsize(stem + e) for e in
                   (".net", ".safetensors", ".input.npy", ".acts.npz", ".top5.txt"))
        total += size
        print(f"{net['name']}: LRN change (median) {', '.join(net.get('lrn_change', ['none']))}; "
              f"top-5 {rows}; {size / 1024:.0f} KiB\n")
    print(f"all fixtures: {total / 2**20:.2f} MiB")
    assert total <= MAX_BYTES, "fixtures too large"


if __name__ == "__main__":
    sys.exit(main())
