#!/bin/bash
# TensorFlow checkpoints from the command line: every way users name one opens
# it, a flipped byte in a tensor or in an index block is refused (the tensor
# named), and inspect lists the optimizer slots and the step it ignores. The
# reference nets' weights saved under TensorFlow's names (kratzert-style,
# alexnet_benchmark.py, tf_cnn_benchmarks, tf-slim) bind to those nets and give
# the same activations, layer by layer, as their .safetensors; a classifier
# fine-tuned to 7 classes loads as the net with 7 outputs. The checkpoints
# come from tests/fixtures/tfckpt/make_tfckpt.py, a writer that shares no code
# with the reader.
set -u
. "$(dirname "$0")/lib.sh"
py=/usr/bin/python3
"$py" -c 'import numpy' 2>/dev/null || { echo "SKIP: no python3 numpy"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$py" "$src/tests/fixtures/tfckpt/make_tfckpt.py" "$tmp" || { echo "FAIL: the writer failed"; exit 1; }
ck=$tmp/small.ckpt

expect 0 'format +tfckpt' -- "$prog" inspect "$ck"
expect 0 'format +tfckpt' -- "$prog" inspect "$ck.index"
expect 0 'format +tfckpt' -- "$prog" inspect "$ck.data-00001-of-00002"
mkdir "$tmp/run"
cp "$ck".* "$tmp/run/"
printf 'model_checkpoint_path: "small.ckpt"\nall_model_checkpoint_paths: "small.ckpt"\n' >"$tmp/run/checkpoint"
expect 0 'format +tfckpt' -- "$prog" inspect "$tmp/run"
expect 0 'conv1/weights/Momentum float32 \(3,3,2,4\): training state, ignored' -- "$prog" inspect "$ck"
expect 0 'global_step int64 \(1\): training state, ignored' -- "$prog" inspect "$ck"
expect 0 '4 tensors, 121 values' -- "$prog" inspect "$ck"

# one flipped byte in each tensor's bytes: refused, naming that tensor
cp -r "$tmp/run" "$tmp/bad"
"$py" - "$tmp/bad/small.ckpt.data-00000-of-00002" <<'PY'
import sys
b = bytearray(open(sys.argv[1], 'rb').read()); b[5] ^= 0x10
open(sys.argv[1], 'wb').write(b)
PY
expect 1 "tensor 'conv1/biases' is corrupted" -- "$prog" inspect "$tmp/bad/small.ckpt"
# one flipped byte in the first data block of the index: refused
cp "$ck".* "$tmp/bad/"
"$py" - "$tmp/bad/small.ckpt.index" <<'PY'
import sys
b = bytearray(open(sys.argv[1], 'rb').read()); b[3] ^= 0x01
open(sys.argv[1], 'wb').write(b)
PY
expect 1 'data block at 0 is corrupted' -- "$prog" inspect "$tmp/bad/small.ckpt"
# a missing shard is named
rm "$tmp/bad/small.ckpt.data-00001-of-00002"
cp "$ck.index" "$tmp/bad/"
expect 1 'small.ckpt.data-00001-of-00002' -- "$prog" inspect "$tmp/bad/small.ckpt"

# ---- binding to nets ---------------------------------------------------------
ref=$src/tests/fixtures/ref
mkdir "$tmp/ck"
"$py" "$src/tests/fixtures/tfckpt/make_tfckpt.py" "$tmp/ck" ref "$ref" || { echo "FAIL: the writer failed"; exit 1; }
# same_acts DIR_A DIR_B: the same files, every tensor within 1e-5 of its scale
same_acts() {
  "$py" - "$1" "$2" <<'PY'
import os, sys
import numpy as np
a, b = sys.argv[1], sys.argv[2]
names = sorted(n for n in os.listdir(a) if n.endswith('.npy'))
if not names or names != sorted(n for n in os.listdir(b) if n.endswith('.npy')):
    sys.exit('different activation files: %s / %s' % (names, sorted(os.listdir(b))))
for n in names:
    x, y = np.load(os.path.join(a, n)), np.load(os.path.join(b, n))
    if x.shape != y.shape:
        sys.exit('%s: shape %s, expected %s' % (n, y.shape, x.shape))
    scale = max(float(np.abs(x).max()), 1e-30)
    d = float(np.abs(x.astype(np.float64) - y).max())
    if d > 1e-5 * scale:
        sys.exit('%s: max abs diff %.3g, more than 1e-5 of its scale %.3g' % (n, d, scale))
print('%d tensors match' % len(names))
PY
}
# acts NAME NET WEIGHTS INPUT: dump's activations into $tmp/acts/NAME
acts() {
  local out=$tmp/acts/$1
  mkdir -p "$tmp/acts"
  "$prog" dump --model "$2" --weights "$3" --save-activations "$out" --input "$4" >"$out.log" 2>&1 ||
    { cat "$out.log"; return 1; }
}
caffe=$ref/caffe-tiny.net cin=$ref/caffe-tiny.input.npy
bench=$ref/tf-bench-tiny.net bin=$ref/tf-bench-tiny.input.npy
acts caffe "$caffe" "$ref/caffe-tiny.safetensors" "$cin" && acts bench "$bench" "$ref/tf-bench-tiny.safetensors" "$bin" ||
  { echo "FAIL: reference dumps"; exit 1; }
# kratzert-style, by its prefix, its .index, a shard and its folder
cp -r "$tmp/ck" "$tmp/kdir"
printf 'model_checkpoint_path: "kratzert.ckpt"\n' >"$tmp/kdir/checkpoint"
for w in "$tmp/ck/kratzert.ckpt" "$tmp/ck/kratzert.ckpt.index" "$tmp/ck/kratzert.ckpt.data-00001-of-00002" "$tmp/kdir"; do
  expect 0 'tensors match' -- eval 'rm -rf "$tmp/acts/k"; acts k "$caffe" "$w" "$cin" && same_acts "$tmp/acts/caffe" "$tmp/acts/k"'
done
expect 0 'note: .*17 optimizer slot\(s\) and step counter\(s\) ignored; TensorFlow variables mapped by name \(conv1->conv1' \
  -- cat "$tmp/acts/k.log"
expect 0 'fc6.0: \(in, out\) -> \(out, in\), rows H,W,C -> C,H,W' -- cat "$tmp/acts/k.log"
expect 0 'fits +yes .*16 names mapped' -- "$prog" inspect --model "$caffe" "$tmp/ck/kratzert.ckpt"
# tf-slim's alexnet_v2/ names, fc6..fc8 as convolutions
expect 0 'tensors match' -- eval 'acts slim "$caffe" "$tmp/ck/slim.ckpt" "$cin" && same_acts "$tmp/acts/caffe" "$tmp/acts/slim"'
expect 0 "under 'alexnet_v2/' mapped by name" -- cat "$tmp/acts/slim.log"
expect 0 'fits +none of the built-in models; closest: caffe' -- "$prog" inspect "$tmp/ck/slim.ckpt"
# the TF benchmark's nets: conv1/weights (alexnet_benchmark.py), v0/cg/conv0/conv2d/kernel (tf_cnn_benchmarks)
expect 0 'tensors match' -- eval 'acts b1 "$bench" "$tmp/ck/bench.ckpt" "$bin" && same_acts "$tmp/acts/bench" "$tmp/acts/b1"'
expect 0 'tensors match' -- eval 'acts b2 "$bench" "$tmp/ck/cnnbench.ckpt" "$bin" && same_acts "$tmp/acts/bench" "$tmp/acts/b2"'
expect 0 "under 'v0/cg/' mapped by order \(conv0->conv1, conv1->conv2" -- cat "$tmp/acts/b2.log"
# fine-tuned to 7 classes: the net with 7 outputs, classes numbered, fc8 as saved
expect 0 'tensors match' -- eval 'acts ft "$caffe" "$tmp/ck/finetuned.ckpt" "$cin" && mkdir "$tmp/acts/c7" &&
  cp "$tmp/acts/caffe"/*.npy "$tmp/acts/c7/" && rm "$tmp/acts/c7/fc8.npy" "$tmp/acts/c7/prob.npy" "$tmp/acts/ft/fc8.npy" \
  "$tmp/acts/ft/prob.npy" && same_acts "$tmp/acts/c7" "$tmp/acts/ft"'
expect 0 "its 'fc8' has 7 outputs .*'fc8' resized to 7" -- cat "$tmp/acts/ft.log"
expect 0 '^ +1\. +[0-6] +class [0-6] ' -- cat "$tmp/acts/ft.log"
expect 0 'fc8 matches' -- eval 'acts ft8 "$caffe" "$tmp/ck/finetuned.ckpt" "$cin" && "$py" - "$tmp/acts/ft8" "$tmp/ck" <<'"'"'PY'"'"'
import sys
import numpy as np
a, c = sys.argv[1], sys.argv[2]
x, y = np.load(a + "/drop7.npy"), np.load(a + "/fc8.npy")
want = x.astype(np.float64) @ np.load(c + "/finetuned.fc8.npy").T + np.load(c + "/finetuned.fc8b.npy")
assert y.shape == (x.shape[0], 7), y.shape
d = float(np.abs(want - y).max())
assert d <= 1e-5 * float(np.abs(want).max()), d
print("fc8 matches")
PY'
expect 0 'fits +yes .*fc8 resized to 7 classes' -- "$prog" inspect --model "$caffe" "$tmp/ck/finetuned.ckpt"
expect 0 'beta1_power float32 \(1\): training state, ignored' -- "$prog" inspect "$tmp/ck/finetuned.ckpt"
# one flipped byte in conv1/weights (shard 0, after conv1/biases): refused by dump, naming it
"$py" - "$tmp/ck/kratzert.ckpt.data-00000-of-00002" <<'PY'
import sys
b = bytearray(open(sys.argv[1], 'rb').read()); b[40] ^= 0x04
open(sys.argv[1], 'wb').write(b)
PY
expect 1 "tensor 'conv1/weights' is corrupted .*not loaded" -- "$prog" dump --model "$caffe" --weights "$tmp/ck/kratzert.ckpt" --input "$cin"

echo "tfckpt: $pass passed, $fail failed"
[ "$fail" = 0 ]
