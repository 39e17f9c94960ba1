#!/usr/bin/python3
# ONNX's own conformance cases (Debian's libonnx-testdata) through alexscope:
# every case whose model uses only the operators alexscope reads is run with
# `alexscope dump --model CASE.onnx --input X.npy --save-activations DIR`; the
# graph's weights, which node tests pass as inputs, become initializers first.
# A case passes when its output matches output_0.pb within ONNX's tolerance
# (rtol 1e-3, atol 1e-7); a case alexscope refuses (naming node and operator)
# is "refused"; anything else is "wrong" and fails the run.
# usage: onnx_conformance.py PROG [DEVICE ...]   (prints a table and totals)
import glob, os, subprocess, sys, tempfile
import numpy as np
import onnx
from onnx import numpy_helper

ROOT = "/usr/share/libonnx-testdata/data"
OPS = {"Conv", "Relu", "LRN", "MaxPool", "AveragePool", "GlobalAveragePool", "Gemm", "MatMul", "Flatten",
       "Reshape", "Dropout", "Softmax", "Pad", "Identity", "Constant"}
prog = sys.argv[1]
devices = sys.argv[2:] or ["cpu"]


def cases():
    for kind in ("node", "pytorch-converted", "pytorch-operator", "simple"):
        for d in sorted(glob.glob(os.path.join(ROOT, kind, "*"))):
            model = os.path.join(d, "model.onnx")
            if not os.path.exists(model) or not os.path.isdir(os.path.join(d, "test_data_set_0")):
                continue
            try:
                m = onnx.load(model)
            except Exception:
                continue
            ops = {n.op_type for n in m.graph.node}
            # a case of the supported operators; a MatMul case also when its Add is the bias
            if ops and ops <= (OPS | {"Add"}) and (ops & OPS) and ("Add" not in ops or "MatMul" in ops):
                yield kind, d, m


def run(d, m, device, tmp):
    ds = os.path.join(d, "test_data_set_0")
    inits = {t.name for t in m.graph.initializer}
    real = [i for i in m.graph.input if i.name not in inits]
    ins = sorted(glob.glob(os.path.join(ds, "input_*.pb")), key=lambda p: int(p[p.rindex("_") + 1:-3]))
    tensors = []
    for p in ins:
        t = onnx.TensorProto()
        t.ParseFromString(open(p, "rb").read())
        tensors.append(t)
    # the first input is the data; the others are weights: initializers
    for vi, t in zip(real[1:], tensors[1:]):
        t.name = vi.name
        m.graph.initializer.append(t)
    mp = os.path.join(tmp, "case.onnx")
    onnx.save(m, mp)
    try:
        x = numpy_helper.to_array(tensors[0]).astype(np.float32) if tensors else None
    except Exception:
        x = None   # an input that is no tensor (an optional, a sequence)
    if x is None:
        r = subprocess.run([prog, "inspect", "--spec", mp], capture_output=True, text=True)
        msg = (r.stderr.strip().splitlines() or ["no input"])[-1]
        return ("refused" if r.returncode else "wrong"), None, msg.replace("alexscope: ", "").replace(mp + ": ", "")
    if x.ndim == 2:
        x = x.reshape(x.shape[0], x.shape[1], 1, 1)
    xp = os.path.join(tmp, "x.npy")
    np.save(xp, x)
    out = onnx.TensorProto()
    out.ParseFromString(open(os.path.join(ds, "output_0.pb"), "rb").read())
    want = numpy_helper.to_array(out).astype(np.float64)
    acts = os.path.join(tmp, "acts")
    r = subprocess.run([prog, "dump", "--model", mp, "--input", xp, "--device", device, "--save-activations", acts],
                       capture_output=True, text=True)
    if r.returncode:
        msg = (r.stderr.strip().splitlines() or ["exit %d" % r.returncode])[-1]
        return "refused", None, msg.replace("alexscope: ", "").replace(mp + ": ", "")
    spec = subprocess.run([prog, "inspect", "--spec", mp], capture_output=True, text=True).stdout
    last = [l.split()[1] for l in spec.splitlines() if l and not l.startswith(("#", "name", "description", "input",
                                                                                 "preprocess", "labels"))][-1]
    got = np.load(os.path.join(acts, last + ".npy")).astype(np.float64)
    if got.size != want.size:
        return "wrong", None, "output %s, expected %s" % (got.shape, want.shape)
    got = got.reshape(want.shape)
    err = np.abs(got - want)
    ok = bool(np.all(err <= 1e-7 + 1e-3 * np.abs(want)))
    return ("pass" if ok else "wrong"), float(err.max()) if err.size else 0.0, ""


totals = {}
bad = 0
print("%-58s %-6s %-8s %s" % ("case", "device", "result", "max error / why"))
for kind, d, m in cases():
    for dev in devices:
        with tempfile.TemporaryDirectory() as tmp:
            mm = onnx.ModelProto()
            mm.CopyFrom(m)
            res, e, why = run(d, mm, dev, tmp)
        totals[(dev, res)] = totals.get((dev, res), 0) + 1
        bad += res == "wrong"
        name = kind + "/" + os.path.basename(d)
        print("%-58s %-6s %-8s %s" % (name, dev, res, ("%.3g" % e) if e is not None else why[:150]))
for dev in devices:
    print("totals %s: %d pass, %d refused, %d wrong" % (dev, totals.get((dev, "pass"), 0),
                                                        totals.get((dev, "refused"), 0),
                                                        totals.get((dev, "wrong"), 0)))
sys.exit(1 if bad else 0)
