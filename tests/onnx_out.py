#!/usr/bin/python3
"""Checks an ONNX file written by `alexscope convert IN OUT.onnx` against the
net that wrote it, with tools alexscope has no part in:

  onnx_out.py check MODEL.onnx ACTS_DIR INPUT.npy
      onnx.checker (full_check) and strict shape inference pass; opset 13,
      IR 7 or 8, one input named `input` with a dynamic batch; then every
      node is evaluated here with PyTorch functions as the ONNX operator spec
      defines it, and every layer's tensor in ACTS_DIR (`alexscope dump
      --save-activations`, one <layer>.npy each) has a tensor of its name in
      the graph that equals it within 1e-5 of the tensor's scale (its largest
      magnitude); the graph's output is the last layer's.
  onnx_out.py same DIR_A DIR_B
      every <layer>.npy of DIR_A is in DIR_B with the same shape and within
      1e-5 of its scale (the round trip through alexscope's ONNX reader).

Prints one line per finding; exits 1 when any check fails.
"""
import os
import sys
import urllib.parse

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import numpy_helper, shape_inference

TOL = 1e-5


def attrs(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def pad_nchw(x, pads, value):
    """ONNX pads (t, l, b, r) on the last two axes, as F.pad takes (l, r, t, b)."""
    t, l, b, r = pads
    if not any(pads):
        return x
    return F.pad(x, (l, r, t, b), mode="constant", value=value)


def window_out(n, k, s, before, after, ceil_mode):
    """The output length ONNX's operator spec gives a window along one axis."""
    span = n + before + after - k
    return (-(-span // s) if ceil_mode else span // s) + 1


def run_node(node, env):
    """One node by the ONNX spec (opset 13), with PyTorch functions."""
    op, a = node.op_type, attrs(node)
    ins = [env[i] if i else None for i in node.input]
    x = ins[0]
    if op == "Conv":
        assert a.get("dilations", [1, 1]) == [1, 1] and a.get("auto_pad", b"NOTSET") == b"NOTSET", node.name
        pads = a.get("pads", [0, 0, 0, 0])
        return F.conv2d(pad_nchw(x, (pads[0], pads[1], pads[2], pads[3]), 0.0), ins[1],
                        ins[2] if len(ins) > 2 else None, stride=a.get("strides", [1, 1]),
                        groups=a.get("group", 1))
    if op == "Relu":
        return F.relu(x)
    if op == "LRN":
        # ONNX: x / (bias + alpha / size * sum of squares)^beta; torch's
        # local_response_norm is the same formula (alpha divided by size)
        size = a["size"]
        assert size % 2 == 1, "even LRN windows are not centred: " + node.name
        return F.local_response_norm(x, size, alpha=a.get("alpha", 1e-4), beta=a.get("beta", 0.75),
                                     k=a.get("bias", 1.0))
    if op == "MaxPool":
        k, s = a["kernel_shape"], a.get("strides", [1, 1])
        pads, ceil_mode = a.get("pads", [0, 0, 0, 0]), bool(a.get("ceil_mode", 0))
        assert a.get("auto_pad", b"NOTSET") == b"NOTSET", node.name
        y = F.max_pool2d(pad_nchw(x, pads, float("-inf")), k, s, ceil_mode=ceil_mode)
        # torch drops a last ceil window that starts past the input; ONNX
        # counts it: the two must agree on the count for the values to mean
        # anything
        want = [window_out(x.shape[2 + i], k[i], s[i], pads[i], pads[i + 2], ceil_mode) for i in range(2)]
        assert list(y.shape[2:]) == want, "%s: torch gives %s outputs, ONNX %s" % (node.name, y.shape[2:], want)
        return y
    if op == "AveragePool":
        pads = a.get("pads", [0, 0, 0, 0])
        assert not any(pads) and not a.get("ceil_mode", 0), node.name
        return F.avg_pool2d(x, a["kernel_shape"], a.get("strides", [1, 1]))
    if op == "GlobalAveragePool":
        return x.mean(dim=(2, 3), keepdim=True)
    if op == "Pad":
        assert a.get("mode", b"constant") == b"constant", node.name
        p = [int(v) for v in ins[1].tolist()]
        value = float(ins[2]) if len(ins) > 2 and ins[2] is not None else 0.0
        assert p[0] == p[1] == p[4] == p[5] == 0, node.name
        return pad_nchw(x, (p[2], p[3], p[6], p[7]), value)
    if op == "Transpose":
        return x.permute(*a["perm"])
    if op == "Flatten":
        axis = a.get("axis", 1)
        axis = axis + x.dim() if axis < 0 else axis
        lead = int(np.prod(x.shape[:axis])) if axis else 1
        return x.reshape(lead, -1)
    if op == "Gemm":
        A, B = ins[0], ins[1]
        if a.get("transA", 0):
            A = A.t()
        if not a.get("transB", 0):
            B = B.t()
        C = ins[2] if len(ins) > 2 else None
        y = a.get("alpha", 1.0) * F.linear(A, B)
        return y + a.get("beta", 1.0) * C if C is not None else y
    if op == "Dropout":
        assert len(ins) < 3 or ins[2] is None, "a training_mode input: " + node.name
        return x
    if op == "Identity":
        return x
    if op == "Softmax":
        return torch.softmax(x, dim=a.get("axis", -1))
    raise AssertionError("operator %s (node %s) is not evaluated here" % (op, node.name))


def layers_of(folder):
    """<layer>.npy files of a --save-activations folder, by layer name."""
    out = {}
    for f in sorted(os.listdir(folder)):
        if f.endswith(".npy") and f != "input.npy":
            out[urllib.parse.unquote(f[:-4])] = np.load(os.path.join(folder, f))
    return out


def close(name, got, ref, problems):
    got = np.asarray(got, dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    if got.shape != ref.shape:
        problems.append("%s: shape %s, alexscope's %s" % (name, got.shape, ref.shape))
        return None
    scale = max(float(np.abs(ref).max()) if ref.size else 0.0, 1e-30)
    err = float(np.abs(got - ref).max()) if ref.size else 0.0
    if not err <= TOL * scale:
        problems.append("%s: max error %.3g, over %.0e of its scale %.4g" % (name, err, TOL, scale))
    return err / scale


def check(model_path, acts_dir, input_path):
    problems = []
    m = onnx.load(model_path)
    onnx.checker.check_model(m, full_check=True)
    shape_inference.infer_shapes(m, check_type=True, strict_mode=True)
    opsets = {o.domain: o.version for o in m.opset_import}
    if opsets.get("", opsets.get("ai.onnx")) != 13:
        problems.append("opset %s, expected 13" % opsets)
    if m.ir_version not in (7, 8):
        problems.append("IR version %d, expected 7 or 8" % m.ir_version)
    g = m.graph
    inits = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in g.initializer}
    real_inputs = [v for v in g.input if v.name not in inits]
    if [v.name for v in real_inputs] != ["input"]:
        problems.append("graph inputs %s, expected one named 'input'" % [v.name for v in real_inputs])
    elif real_inputs[0].type.tensor_type.shape.dim[0].HasField("dim_value"):
        problems.append("the input's batch is fixed at %d, not dynamic" %
                        real_inputs[0].type.tensor_type.shape.dim[0].dim_value)
    x = np.load(input_path).astype(np.float32)
    env = dict(inits)
    env["input"] = torch.from_numpy(x)
    with torch.no_grad():
        for node in g.node:
            y = run_node(node, env)
            env[node.output[0]] = y
    acts = layers_of(acts_dir)
    worst, last = 0.0, None
    for name, ref in acts.items():
        if name not in env:
            problems.append("layer %s: no tensor of that name in the graph" % name)
            continue
        e = close(name, env[name].numpy(), ref, problems)
        worst = max(worst, e or 0.0)
    # the last layer is the one whose output the graph returns
    if len(g.output) != 1:
        problems.append("%d graph outputs, expected 1" % len(g.output))
    else:
        last = g.output[0].name
        if last not in acts:
            problems.append("the graph's output %s is no layer of the net" % last)
        elif g.node[-1].output[0] != last:
            problems.append("the graph's output %s is not its last node's" % last)
    for p in problems:
        print("FAIL: %s: %s" % (os.path.basename(model_path), p))
    print("%s: %d nodes, %d layers compared, worst error %.2g of scale, output %s" %
          (os.path.basename(model_path), len(g.node), len(acts), worst, last))
    return not problems


def same(dir_a, dir_b):
    problems = []
    a, b = layers_of(dir_a), layers_of(dir_b)
    worst = 0.0
    for name, ref in a.items():
        if name not in b:
            problems.append("layer %s is missing from %s" % (name, dir_b))
            continue
        worst = max(worst, close(name, b[name], ref, problems) or 0.0)
    for p in problems:
        print("FAIL: %s" % p)
    print("%d layers compared, worst error %.2g of scale" % (len(a), worst))
    return not problems and len(a) > 0


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "check":
        sys.exit(0 if check(*sys.argv[2:]) else 1)
    if len(sys.argv) == 4 and sys.argv[1] == "same":
        sys.exit(0 if same(*sys.argv[2:]) else 1)
    sys.exit(__doc__)
