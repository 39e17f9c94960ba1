#!/usr/bin/python3
# AlexNet-sized ONNX graphs through `alexscope --model X.onnx`, each checked
# against PyTorch run on the same numpy weights (never against onnx's own
# evaluator): every activation alexscope saves must lie within 1e-4 of its
# tensor's scale of PyTorch's (max|a - b| <= 1e-4 * max|b|).
#
#   zoo          a graph built as the model zoo's bvlcalexnet-8 is (opset 8,
#                IR 3 with the initializers among the inputs, data_0
#                (1,3,224,224), LRN, MaxPool pads [0,0,1,1] for Caffe's ceil
#                rounding, group=2 convs, Reshape to (1, 9216) by an
#                initializer, Gemm transB=1, Dropout, Softmax); the reference
#                is torch.nn.functional over the same list of layers.
#   torchvision  torchvision's AlexNet (the module written out here, as
#                torchvision defines it) exported by torch.onnx.export at
#                opset 9 with initializers as inputs and at opset 13, and in
#                the older x.view(x.size(0), 9216) form with a dynamic batch
#                (Shape -> Gather -> Unsqueeze -> Concat -> Reshape), run at
#                batch 2; the reference is the module's forward (hooks).
#   shapes       small graphs whose Reshape target is computed from the
#                tensor's shape (the forms exporters write), within ONNX's
#                tolerance (rtol 1e-3, atol 1e-7) of PyTorch, and the shape
#                computations alexscope cannot fold, refused by node name.
#   preprocess   the preprocessing each graph gets (recognised, or chosen with
#                --preprocess): the input alexscope makes from two images
#                (one colour; a red quarter beside blue) is checked value by
#                value, and dump says which preprocessing it used.
#
# usage: onnx_alexnet.py MODE PROG TMPDIR [--width F]
#   --width F scales every layer's channels and fc width (1: full size, 244 MB
#   files; make check runs F = 0.25). Prints a table; exit status 1 on a failure.
import os
import re
import struct
import subprocess
import sys
import zlib

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
import torch
import torch.nn as nn
import torch.nn.functional as F

TOL = 1e-4
failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL: " + msg)


def file_name(name):
    """alexscope's ax_name_to_file (include/alexscope/text.h): A-Z a-z 0-9 _ - .
    stay (not a leading '.'), every other byte is %XX; '' is '%'."""
    out = "".join(chr(b) if (chr(b).isascii() and (chr(b).isalnum() or chr(b) in "_-.")) and not (i == 0 and b == 0x2e)
                  else "%%%02X" % b for i, b in enumerate(name.encode()))
    assert len(out) < 200, "a name this long maps to a hashed file name"
    return out or "%"


def run(args, want=0):
    r = subprocess.run(args, capture_output=True, text=True)
    if r.returncode != want:
        raise RuntimeError("%s -> exit %d, expected %d:\n%s%s" % (" ".join(args), r.returncode, want,
                                                                  r.stdout[-2000:], r.stderr[-2000:]))
    return r.stdout + r.stderr


def compare(label, name, a, b):
    """One row of the table: max|a-b| against the tensor's scale max|b|."""
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    if a.shape != b.shape:
        fail("%s: %s has shape %s, PyTorch's %s" % (label, name, a.shape, b.shape))
        return
    err = float(np.abs(a - b).max()) if a.size else 0.0
    scale = float(np.abs(b).max()) if b.size else 0.0
    ok = err <= TOL * scale
    print("  %-44s %-18s max|a-b| %9.3g  scale %9.3g  %.1e of scale  %s" % (
        name[-44:], str(a.shape), err, scale, err / scale if scale else 0.0, "ok" if ok else "FAIL"))
    if not ok:
        fail("%s: %s differs by %g, over %g of its scale %g" % (label, name, err, TOL, scale))


def widths(w, full):
    """Channel counts scaled by w, kept even (the grouped layers split them in two)."""
    return [max(2, int(round(c * w / 2)) * 2) for c in full]


def he(rng, shape, fan_in):
    return (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(np.float32)


# ---- zoo: bvlcalexnet-8 as the model zoo built it ---------------------------

def zoo_layers(w):
    """The zoo's graph as a list: (kind, output name, params). The names are
    the zoo's own (conv1_1, norm1_1, pool1_1, OC2_DUMMY_0, fc6_1, prob_1)."""
    c1, c2, c3, c4, c5 = widths(w, [96, 256, 384, 384, 256])
    f6, f7 = widths(w, [4096, 4096])
    L = []
    def conv(n, cin, cout, k, s, p, g):
        L.append(("conv", "conv%d_1" % n, dict(w="conv%d_w_0" % n, b="conv%d_b_0" % n, cin=cin, cout=cout, k=k, s=s,
                                                 p=p, g=g)))
        L.append(("relu", "conv%d_2" % n, {}))
    conv(1, 3, c1, 11, 4, 0, 1)
    L.append(("lrn", "norm1_1", {}))
    L.append(("pool", "pool1_1", {}))
    conv(2, c1, c2, 5, 1, 2, 2)
    L.append(("lrn", "norm2_1", {}))
    L.append(("pool", "pool2_1", {}))
    conv(3, c2, c3, 3, 1, 1, 1)
    conv(4, c3, c4, 3, 1, 1, 2)
    conv(5, c4, c5, 3, 1, 1, 2)
    L.append(("pool", "pool5_1", {}))
    L.append(("reshape", "OC2_DUMMY_0", dict(shape="OC2_DUMMY_1", k=c5 * 36)))
    def fc(n, cin, cout, drop):
        L.append(("gemm", "fc%d_1" % n, dict(w="fc%d_w_0" % n, b="fc%d_b_0" % n, cin=cin, cout=cout)))
        if drop:
            L.append(("relu", "fc%d_2" % n, {}))
            L.append(("dropout", "fc%d_3" % n, dict(mask="_fc%d_mask_1" % n)))
    fc(6, c5 * 36, f6, True)
    fc(7, f6, f7, True)
    fc(8, f7, 1000, False)
    L.append(("softmax", "prob_1", {}))
    return L


def zoo_build(path, w, opset=8, seed=8):
    rng = np.random.default_rng(seed)
    L = zoo_layers(w)
    weights, nodes, inits = {}, [], []
    head = "data_0"
    for kind, out, p in L:
        if kind == "conv":
            weights[p["w"]] = he(rng, (p["cout"], p["cin"] // p["g"], p["k"], p["k"]), p["cin"] // p["g"] * p["k"] ** 2)
            weights[p["b"]] = (rng.standard_normal(p["cout"]) * 0.1).astype(np.float32)
            nodes.append(helper.make_node("Conv", [head, p["w"], p["b"]], [out], kernel_shape=[p["k"]] * 2,
                                          strides=[p["s"]] * 2, pads=[p["p"]] * 4, dilations=[1, 1], group=p["g"]))
        elif kind == "relu":
            nodes.append(helper.make_node("Relu", [head], [out]))
        elif kind == "lrn":
            nodes.append(helper.make_node("LRN", [head], [out], size=5, alpha=1e-4, beta=0.75, bias=1.0))
        elif kind == "pool":
            nodes.append(helper.make_node("MaxPool", [head], [out], kernel_shape=[3, 3], strides=[2, 2],
                                          pads=[0, 0, 1, 1]))
        elif kind == "reshape":
            if opset < 5:   # Reshape-1: the shape is an attribute
                nodes.append(helper.make_node("Reshape", [head], [out], shape=[1, p["k"]]))
            else:
                weights[p["shape"]] = np.array([1, p["k"]], np.int64)
                nodes.append(helper.make_node("Reshape", [head, p["shape"]], [out]))
        elif kind == "gemm":
            # fc8 small enough that the softmax is no one-hot and is compared too
            weights[p["w"]] = he(rng, (p["cout"], p["cin"]), p["cin"]) * (0.01 if p["cout"] == 1000 else 1)
            weights[p["b"]] = (rng.standard_normal(p["cout"]) * 0.1).astype(np.float32)
            extra = dict(broadcast=1) if opset < 7 else {}   # Gemm before 7 broadcasts C only when asked
            nodes.append(helper.make_node("Gemm", [head, p["w"], p["b"]], [out], transB=1, **extra))
        elif kind == "dropout":
            # ratio an attribute until opset 12 (then an input, here left to its default 0.5)
            extra = dict(is_test=1, ratio=0.5) if opset < 7 else dict(ratio=0.5) if opset < 12 else {}
            nodes.append(helper.make_node("Dropout", [head], [out, p["mask"]], **extra))
        elif kind == "softmax":
            nodes.append(helper.make_node("Softmax", [head], [out]))
        head = out
    for name, a in weights.items():
        inits.append(numpy_helper.from_array(a, name))
    # IR 3 (the zoo's opsets 3 to 8): every initializer is a graph input too,
    # after data_0; from opset 9 on (IR 4 and later) they need not be
    inputs = [helper.make_tensor_value_info("data_0", TensorProto.FLOAT, [1, 3, 224, 224])]
    if opset <= 8:
        inputs += [helper.make_tensor_value_info(t.name, t.data_type, list(t.dims)) for t in inits]
    g = helper.make_graph(nodes, "bvlcalexnet", inputs,
                          [helper.make_tensor_value_info(head, TensorProto.FLOAT, [1, 1000])], inits)
    m = helper.make_model(g, producer_name="onnx-caffe2", opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 3 if opset <= 8 else 7
    onnx.checker.check_model(m)
    onnx.save(m, path)
    return L, weights


def zoo_reference(L, weights, x):
    """torch.nn.functional over the layer list, in float64: {name: array}."""
    t = torch.from_numpy(x.astype(np.float64))
    W = {k: torch.from_numpy(v.astype(np.float64)) if v.dtype == np.float32 else v for k, v in weights.items()}
    out = {}
    for kind, name, p in L:
        if kind == "conv":
            t = F.conv2d(t, W[p["w"]], W[p["b"]], stride=p["s"], padding=p["p"], groups=p["g"])
        elif kind == "relu":
            t = F.relu(t)
        elif kind == "lrn":
            t = F.local_response_norm(t, 5, alpha=1e-4, beta=0.75, k=1.0)
        elif kind == "pool":
            # ONNX's pads [0,0,1,1]: one row and column of -inf at the bottom and right
            t = F.max_pool2d(F.pad(t, (0, 1, 0, 1), value=float("-inf")), 3, 2)
        elif kind == "reshape":
            t = t.reshape(1, p["k"])
        elif kind == "gemm":
            t = F.linear(t, W[p["w"]], W[p["b"]])
        elif kind == "dropout":
            pass   # inference: the identity
        elif kind == "softmax":
            t = F.softmax(t, dim=1)
        out[name] = t.numpy()
    return out


def check_acts(label, acts, refs, layer_names):
    """Every layer alexscope saved has its reference; every one is compared."""
    files = sorted(f for f in os.listdir(acts) if f.endswith(".npy") and f != "input.npy")
    want = sorted(file_name(n) + ".npy" for n in layer_names)
    if files != want:
        fail("%s: the activation files are %s, expected %s" % (label, files[:6], want[:6]))
    compared = 0
    for n in layer_names:
        p = os.path.join(acts, file_name(n) + ".npy")
        if not os.path.exists(p):
            fail("%s: no activation file %s for layer %s" % (label, os.path.basename(p), n))
            continue
        if n not in refs:
            print("  %-44s (no PyTorch counterpart)" % n[-44:])
            continue
        compare(label, n, np.load(p), refs[n])
        compared += 1
    print("%s: %d of %d activations compared with PyTorch" % (label, compared, len(layer_names)))
    return compared


def mode_zoo(prog, tmp, w):
    """bvlcalexnet-8 as the zoo has it (kept as bvlcalexnet.onnx for the
    preprocess mode), then the same net in the zoo's other forms: opset 3
    (Reshape's shape an attribute, Gemm broadcast, Dropout is_test), 6, 12."""
    x = (np.random.default_rng(80).standard_normal((1, 3, 224, 224)) * 60).astype(np.float32)
    np.save(os.path.join(tmp, "zoo_in.npy"), x)
    for opset in (8, 3, 6, 12):
        label = "zoo_opset%d" % opset
        path = os.path.join(tmp, "bvlcalexnet.onnx" if opset == 8 else "bvlcalexnet-%d.onnx" % opset)
        L, weights = zoo_build(path, w, opset)
        acts = os.path.join(tmp, label + "_acts")
        out = run([prog, "dump", "--model", path, "--input", os.path.join(tmp, "zoo_in.npy"), "--save-activations",
                   acts])
        print("%s bvlcalexnet (opset %d, IR %d, width %g): %s" % (label, opset, 3 if opset <= 8 else 7, w, path))
        if "preprocessing zoo" not in out:
            fail("%s: dump does not say the graph got the zoo's preprocessing:\n%s" % (label, out[:600]))
        n = check_acts(label, acts, zoo_reference(L, weights, x), [name for _, name, _ in L])
        if n != len(L):
            fail("%s: %d of %d layers compared" % (label, n, len(L)))


# ---- torchvision: the module and its exports ----------------------------------

class AlexNet(nn.Module):
    """torchvision.models.AlexNet (features, avgpool, classifier), widths scaled."""

    def __init__(self, w=1.0, view=False):
        super().__init__()
        c1, c2, c3, c4, c5 = widths(w, [64, 192, 384, 256, 256])
        f6, f7 = widths(w, [4096, 4096])
        self.view = view
        self.k = c5 * 36
        self.features = nn.Sequential(
            nn.Conv2d(3, c1, kernel_size=11, stride=4, padding=2), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(c1, c2, kernel_size=5, padding=2), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(c2, c3, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(c3, c4, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(c4, c5, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2))
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.classifier = nn.Sequential(
            nn.Dropout(p=0.5), nn.Linear(self.k, f6), nn.ReLU(inplace=True),
            nn.Dropout(p=0.5), nn.Linear(f6, f7), nn.ReLU(inplace=True), nn.Linear(f7, 1000))

    def forward(self, x):
        x = self.avgpool(self.features(x))
        # torchvision before 0.3 wrote x.view(x.size(0), 256 * 6 * 6)
        x = x.view(x.size(0), self.k) if self.view else torch.flatten(x, 1)
        return self.classifier(x)


def tv_model(w, view, seed=9):
    m = AlexNet(w, view).eval()
    rng = np.random.default_rng(seed)
    with torch.no_grad():
        for name, p in m.named_parameters():
            fan_in = int(np.prod(p.shape[1:])) if p.dim() > 1 else 1
            v = he(rng, tuple(p.shape), fan_in) if p.dim() > 1 else (rng.standard_normal(tuple(p.shape)) * 0.1)
            p.copy_(torch.from_numpy(np.asarray(v, np.float32)))
    return m


def tv_reference(m, x):
    """The forward's module outputs by module name (cloned: the ReLUs work in
    place), and the final output."""
    seen = {}
    hooks = [mod.register_forward_hook(lambda mod, i, o, name=name: seen.__setitem__(name, o.detach().clone()))
             for name, mod in m.named_modules() if name and not isinstance(mod, nn.Sequential)]
    with torch.no_grad():
        y = m(torch.from_numpy(x))
    for h in hooks:
        h.remove()
    return {k: v.numpy() for k, v in seen.items()}, y.numpy()


def tv_counterparts(g, mods, y):
    """The reference for each node output of the exported graph: the module
    its name comes from (/features/features.0/Conv_output_0 -> features.0),
    the flatten of avgpool for Flatten/Reshape, the forward's output for the
    graph's output."""
    refs = {}
    for n in g.graph.node:
        o = n.output[0]
        if o == g.graph.output[0].name:
            refs[o] = y
            continue
        mm = re.match(r"^/(?:.*/)?([^/]+)/[A-Za-z]+_output_0$", o)
        if mm and mm.group(1) in mods:
            refs[o] = mods[mm.group(1)]
        elif n.op_type in ("Flatten", "Reshape") and "avgpool" in mods:
            refs[o] = mods["avgpool"].reshape(mods["avgpool"].shape[0], -1)
    return refs


def layer_outputs(prog, path):
    """The layers alexscope makes of the graph, by name, from inspect --spec."""
    spec = run([prog, "inspect", "--spec", path])
    names = []
    for line in spec.splitlines():
        f = line.split()
        if len(f) >= 2 and f[0] in ("conv", "relu", "lrn", "maxpool", "avgpool", "flatten", "fc", "dropout",
                                    "softmax", "pad"):
            names.append(f[1])
    return names, spec


def mode_torchvision(prog, tmp, w):
    cases = [("tv_opset9", 9, True, False, 1), ("tv_opset13", 13, False, False, 1),
             ("tv_view_opset9", 9, True, True, 2), ("tv_view_opset13", 13, False, True, 2)]
    for label, opset, keep, view, batch in cases:
        m = tv_model(w, view)
        path = os.path.join(tmp, label + ".onnx")
        dyn = {"input": {0: "N"}, "output": {0: "N"}} if view else None
        torch.onnx.export(m, torch.zeros(1, 3, 224, 224), path, opset_version=opset, input_names=["input"],
                          output_names=["output"], keep_initializers_as_inputs=keep, dynamic_axes=dyn)
        g = onnx.load(path)
        ops = sorted({n.op_type for n in g.graph.node})
        inits = {t.name for t in g.graph.initializer}
        print("%s (opset %d, IR %d, %d graph inputs of which %d initializers, batch %d, width %g): %s" % (
            label, opset, g.ir_version, len(g.graph.input), sum(i.name in inits for i in g.graph.input), batch, w,
            " ".join(ops)))
        if keep and not all(t in {i.name for i in g.graph.input} for t in inits):
            fail("%s: the export does not list its initializers among the inputs" % label)
        if view and "Shape" not in ops:
            fail("%s: the export has no Shape chain to fold (ops: %s)" % (label, ops))
        x = np.random.default_rng(90).standard_normal((batch, 3, 224, 224)).astype(np.float32)
        xp = os.path.join(tmp, label + "_in.npy")
        np.save(xp, x)
        acts = os.path.join(tmp, label + "_acts")
        out = run([prog, "dump", "--model", path, "--input", xp, "--save-activations", acts])
        if "preprocessing torchvision" not in out:
            fail("%s: dump does not say the graph got torchvision's preprocessing:\n%s" % (label, out[:600]))
        mods, y = tv_reference(m, x)
        names, _ = layer_outputs(prog, path)
        refs = tv_counterparts(g, mods, y)
        check_acts(label, acts, refs, names)
        final = os.path.join(acts, file_name(g.graph.output[0].name) + ".npy")
        if os.path.exists(final):
            compare(label, "final output", np.load(final), y)
        else:
            fail("%s: the final output %s was not saved" % (label, final))


# ---- shapes: Reshape targets computed from the shape ----------------------------

def small_net(name, opset, shape_nodes, target, batch_dim="N", ir=None):
    """x (N,3,8,8) -> Conv(4, 3x3, pad 1) -> Relu 'r' -> [shape nodes] ->
    Reshape(r, target) -> Gemm(10) -> Softmax."""
    rng = np.random.default_rng(21)
    W = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    B = rng.standard_normal(4).astype(np.float32)
    G = rng.standard_normal((10, 256)).astype(np.float32) * 0.1
    GB = rng.standard_normal(10).astype(np.float32)
    inits = [numpy_helper.from_array(W, "W"), numpy_helper.from_array(B, "B"),
             numpy_helper.from_array(G, "G"), numpy_helper.from_array(GB, "GB")]
    nodes = [helper.make_node("Conv", ["x", "W", "B"], ["c"], pads=[1, 1, 1, 1], kernel_shape=[3, 3]),
             helper.make_node("Relu", ["c"], ["r"])] + shape_nodes + [
             helper.make_node("Reshape", ["r", target], ["flat"]),
             helper.make_node("Gemm", ["flat", "G", "GB"], ["fc"], transB=1),
             helper.make_node("Softmax", ["fc"], ["prob"])]
    g = helper.make_graph(nodes, name, [helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch_dim, 3, 8, 8])],
                          [helper.make_tensor_value_info("prob", TensorProto.FLOAT, [batch_dim, 10])], inits)
    m = helper.make_model(g, producer_name="onnx_alexnet.py", opset_imports=[helper.make_opsetid("", opset)])
    if ir:
        m.ir_version = ir
    return m, (W, B, G, GB)


def small_reference(p, x):
    W, B, G, GB = (torch.from_numpy(a.astype(np.float64)) for a in p)
    t = F.relu(F.conv2d(torch.from_numpy(x.astype(np.float64)), W, B, padding=1))
    return F.softmax(F.linear(t.reshape(t.shape[0], -1), G, GB), dim=1).numpy()


def const(name, values):
    return helper.make_node("Constant", [], [name], value=numpy_helper.from_array(np.array(values, np.int64), name + "_v"))


def mode_shapes(prog, tmp, w):
    ok_cases = [
        ("gather_unsqueeze_attr_opset11", 11, [
            helper.make_node("Shape", ["r"], ["s"]), const("i0", 0),
            helper.make_node("Gather", ["s", "i0"], ["n"], axis=0),
            helper.make_node("Unsqueeze", ["n"], ["n1"], axes=[0]), const("k", [-1]),
            helper.make_node("Concat", ["n1", "k"], ["t"], axis=0)], "t"),
        ("gather_unsqueeze_input_opset13", 13, [
            helper.make_node("Shape", ["r"], ["s"]), const("i0", 0), const("ax", [0]),
            helper.make_node("Gather", ["s", "i0"], ["n"]),
            helper.make_node("Unsqueeze", ["n", "ax"], ["n1"]), const("k", [256]),
            helper.make_node("Concat", ["n1", "k"], ["t"], axis=0)], "t"),
        ("shape_start_end_opset15", 15, [
            helper.make_node("Shape", ["r"], ["s"], start=0, end=1), const("k", [-1]),
            helper.make_node("Concat", ["s", "k"], ["t"], axis=0)], "t"),
        ("gather_negative_cast_squeeze_opset11", 11, [
            helper.make_node("Shape", ["r"], ["s"]), const("i", [-4]),
            helper.make_node("Gather", ["s", "i"], ["n1"]),
            helper.make_node("Squeeze", ["n1"], ["n"], axes=[0]),
            helper.make_node("Unsqueeze", ["n"], ["n2"], axes=[0]),
            helper.make_node("Cast", ["n2"], ["n3"], to=TensorProto.INT64), const("k", [256]),
            helper.make_node("Concat", ["n3", "k"], ["t"], axis=-1)], "t"),
    ]
    refused = [
        ("channels_first", 13, [
            helper.make_node("Shape", ["r"], ["s"]), const("i1", [1]),
            helper.make_node("Gather", ["s", "i1"], ["c1"]), const("k", [-1]),
            helper.make_node("Concat", ["c1", "k"], ["t"], axis=0)], "t",
         r"node 'flat' \(Reshape\): reshaping \(1, 4, 8, 8\) to a shape of 2 dims other than \(N, K\)"),
        ("batch_second", 13, [
            helper.make_node("Shape", ["r"], ["s"]), const("i0", [0]),
            helper.make_node("Gather", ["s", "i0"], ["n1"]), const("k", [1]),
            helper.make_node("Concat", ["k", "n1"], ["t"], axis=0)], "t",
         r"node 'flat' \(Reshape\): its shape puts the batch size at dim 1"),
        ("arithmetic", 13, [
            helper.make_node("Shape", ["r"], ["s"]), const("two", [2]),
            helper.make_node("Mul", ["s", "two"], ["t"])], "t",
         r"node 't' \(Mul\): operator Mul is not supported"),
        ("gather_of_data", 13, [
            const("i0", [0]), helper.make_node("Gather", ["r", "i0"], ["t"])], "t",
         r"node 't' \(Gather\): its input 'r' is not a constant: Gather is read only where it computes a shape"),
        ("shape_of_earlier", 13, [
            helper.make_node("Shape", ["x"], ["t"])], "t",
         r"node 't' \(Shape\): it reads 'x', not the chain's current tensor 'r'"),
    ]
    print("%-40s %-8s %s" % ("case", "result", "max error"))
    for name, opset, nodes, target in ok_cases:
        m, p = small_net(name, opset, nodes, target)
        path = os.path.join(tmp, "shape_%s.onnx" % name)
        onnx.save(m, path)
        for batch in (1, 3):
            x = np.random.default_rng(batch).standard_normal((batch, 3, 8, 8)).astype(np.float32)
            xp = os.path.join(tmp, "shape_in%d.npy" % batch)
            np.save(xp, x)
            acts = os.path.join(tmp, "shape_acts_%s_%d" % (name, batch))
            try:
                run([prog, "dump", "--model", path, "--input", xp, "--save-activations", acts])
                a = np.load(os.path.join(acts, "prob.npy"))
            except Exception as e:   # noqa: BLE001 - any failure is this case's
                fail("%s at batch %d: %s" % (name, batch, e))
                continue
            ref = small_reference(p, x)
            err = float(np.abs(a - ref).max())
            good = a.shape == ref.shape and np.allclose(a, ref, rtol=1e-3, atol=1e-7)
            print("%-40s %-8s %.3g" % ("%s (N=%d)" % (name, batch), "pass" if good else "WRONG", err))
            if not good:
                fail("%s at batch %d gives other numbers than PyTorch (%g)" % (name, batch, err))
    for name, opset, nodes, target, why in refused:
        m, _ = small_net(name, opset, nodes, target, batch_dim=1)
        path = os.path.join(tmp, "shape_%s.onnx" % name)
        onnx.save(m, path)
        r = subprocess.run([prog, "inspect", "--spec", path], capture_output=True, text=True)
        msg = (r.stderr.strip().splitlines() or [""])[-1]
        good = r.returncode == 1 and re.search(why, msg)
        print("%-40s %-8s %s" % (name, "refused" if good else "WRONG", msg[-110:]))
        if not good:
            fail("%s: expected a refusal /%s/, got exit %d: %s" % (name, why, r.returncode, msg))


# ---- preprocess: what each graph's input becomes ------------------------------

def write_png(path, rgb):
    """An 8-bit RGB PNG (filter 0 on every row) from an (H, W, 3) uint8 array."""
    h, w, _ = rgb.shape
    raw = b"".join(b"\0" + rgb[y].tobytes() for y in range(h))
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) +
                chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


# Each preset for a 224x224 net: channel order, what a pixel value v (0..255)
# of channel c (R, G, B) becomes, and how many of the 224 input columns an
# image whose left quarter is red (448x224: red columns 0..111) keeps red.
PRESETS = {
    "zoo": ("bgr", lambda v, c: v - (123.68, 116.779, 103.939)[c], 56),           # squeezed whole: 112 / 2
    "caffe": ("bgr", lambda v, c: v - (123, 117, 104)[c], 48),                    # 256x256: 64 red, crop 224 at 16
    "torchvision": ("rgb", lambda v, c: (v / 255 - (0.485, 0.456, 0.406)[c]) / (0.229, 0.224, 0.225)[c],
                    0),                                                          # 512x256, crop 224 at 144
    "none": ("rgb", lambda v, c: v / 255, 56),                                    # squeezed whole, as zoo
}


def expect_input(preset):
    order, f, red_cols = PRESETS[preset]
    idx = (0, 1, 2) if order == "rgb" else (2, 1, 0)   # where R, G, B sit
    return order, f, red_cols, idx


def mode_preprocess(prog, tmp, w):
    flat = os.path.join(tmp, "flat.png")
    write_png(flat, np.tile(np.array([200, 100, 50], np.uint8), (64, 80, 1)))
    half = np.zeros((224, 448, 3), np.uint8)
    half[:, :112] = (255, 0, 0)
    half[:, 112:] = (0, 0, 255)
    quarter = os.path.join(tmp, "quarter.png")
    write_png(quarter, half)
    graphs = [("bvlcalexnet.onnx", "zoo"), ("tv_opset13.onnx", "torchvision")]
    for gname, own in graphs:
        path = os.path.join(tmp, gname)
        if not os.path.exists(path):
            fail("preprocess: %s is missing (run the zoo and torchvision modes first)" % path)
            continue
        for preset in [None, "zoo", "caffe", "torchvision", "none"]:
            used = preset or own
            args = [prog, "dump", "--model", path] + (["--preprocess", preset] if preset else [])
            label = "%s %s" % (gname, "--preprocess " + preset if preset else "(recognised)")
            try:
                out1 = run(args + ["--save-activations", os.path.join(tmp, "pa"), flat])
                inp = np.load(os.path.join(tmp, "pa", "input.npy"))[0]
                run(args + ["--save-activations", os.path.join(tmp, "pb"), quarter])
                qin = np.load(os.path.join(tmp, "pb", "input.npy"))[0]
            except Exception as e:   # noqa: BLE001
                fail("%s: %s" % (label, e))
                continue
            order, f, red_cols, idx = expect_input(used)
            want = [f(v, c) for c, v in enumerate((200, 100, 50))]
            got = [float(inp[idx[c]].mean()) for c in range(3)]
            spread = max(float(inp[idx[c]].max() - inp[idx[c]].min()) for c in range(3))
            good_vals = inp.shape == (3, 224, 224) and np.allclose(got, want, rtol=1e-4, atol=1e-3) and spread < 1e-3
            # the red channel of each column: closer to a red pixel's value than to a blue one's
            rch = qin[idx[0]].mean(axis=0)
            reds = int(np.sum(np.abs(rch - f(255, 0)) < np.abs(rch - f(0, 0))))
            good_geom = abs(reds - red_cols) <= 1
            said = re.search(r"^preprocess +%s\b" % re.escape(used), out1, re.M)
            print("  %-44s R,G,B -> %-30s red columns %3d (want %3d)  %s" % (
                label, ",".join("%.4g" % v for v in got), reds, red_cols,
                "ok" if good_vals and good_geom and said else "FAIL"))
            if not good_vals:
                fail("%s: a (200, 100, 50) image became %s (spread %g), expected %s in %s order" % (
                    label, got, spread, want, order))
            if not good_geom:
                fail("%s: %d input columns red, expected %d (resize and crop of %s)" % (label, reds, red_cols, used))
            if not said:
                fail("%s: dump's preprocess line does not name %s:\n%s" % (label, used, out1[:500]))


def main():
    if len(sys.argv) < 4:
        sys.exit("usage: onnx_alexnet.py zoo|torchvision|shapes|preprocess PROG TMPDIR [--width F]")
    mode, prog, tmp = sys.argv[1:4]
    w = float(sys.argv[sys.argv.index("--width") + 1]) if "--width" in sys.argv else 1.0
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    {"zoo": mode_zoo, "torchvision": mode_torchvision, "shapes": mode_shapes, "preprocess": mode_preprocess}[mode](
        prog, tmp, w)
    print("%s: %s" % (mode, "%d failures" % len(failures) if failures else "all passed"))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
