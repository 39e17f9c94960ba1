#!/usr/bin/env bash
# `alexscope grad` as a user meets it: the files it writes (names, shapes),
# their values against the PyTorch autograd fixtures of tests/fixtures/grad,
# --class and --loss l2, `bench --backward`'s rows and totals, and each
# misuse with its exit status.
set -u
. "$(dirname "$0")/lib.sh"
ref=$src/tests/fixtures/ref
fx=$src/tests/fixtures/grad
py=/usr/bin/python3
"$py" -c 'import numpy' 2>/dev/null || { echo "SKIP: grad.sh needs python3-numpy"; exit 77; }
tmp=$(mktemp -d /tmp/ax_grad_XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# compare NET DIR: every fixture gradient against the file grad wrote (the
# fixture keeps flat[::stride] of large tensors; same tolerance rule as the
# reference suites: 1e-4 * max|ref| + 1e-4 * |ref|).
compare() {
  "$py" - "$fx/$1.grad.npz" "$2" <<'PY'
import os, sys
import numpy as np
fx, d = sys.argv[1], sys.argv[2]
z = np.load(fx)
bad = 0
n = 0
for k in z.files:
    if k == "classes":
        continue
    f = os.path.join(d, k + ".grad.npy")
    if not os.path.exists(f):
        print("missing", f); bad += 1; continue
    got = np.load(f).reshape(-1)
    ref = z[k].reshape(-1)
    stride = 1 if got.size <= 2048 else -(-got.size // 2048)
    got = got[::stride]
    if got.shape != ref.shape:
        print(k, "shape", got.shape, ref.shape); bad += 1; continue
    tol = 1e-4 * np.abs(ref).max() + 1e-4 * np.abs(ref)
    if not (np.abs(got - ref) <= tol).all():
        print(k, "max diff", np.abs(got - ref).max()); bad += 1
    n += 1
files = len([f for f in os.listdir(d) if f.endswith(".grad.npy")])
if files != n:
    print("grad wrote", files, "files, the fixture has", n); bad += 1
sys.exit(1 if bad else 0)
PY
}

for net in caffe-tiny torchvision-tiny keras-half-tiny; do
  out=$("$prog" grad --model "$ref/$net.net" --weights "$ref/$net.safetensors" --input "$ref/$net.input.npy" \
        --save "$tmp/$net" 2>&1); rc=$?
  [ "$rc" = 0 ] && ok || { bad "$net: exit $rc"; printf '%s\n' "$out" | tail -5; }
  printf '%s\n' "$out" | grep -q -E 'the top class$' && ok || bad "$net: no top class line"
  compare "$net" "$tmp/$net" && ok || bad "$net: gradients differ from PyTorch's"
done
net=tf-bench-tiny
expect 0 '^of +l2 = sum\(pool5\^2\) / 2 = ' -- "$prog" grad --model "$ref/$net.net" --weights "$ref/$net.safetensors" \
  --input "$ref/$net.input.npy" --loss l2 --save "$tmp/$net"
compare "$net" "$tmp/$net" && ok || bad "$net --loss l2: gradients differ from PyTorch's"

# --class K: the logit's own gradient is one-hot at K, for every image.
expect 0 'logit 7 of' -- "$prog" grad --model "$ref/caffe-tiny.net" --input "$ref/caffe-tiny.input.npy" --class 7 \
  --save "$tmp/k7"
"$py" -c "
import numpy as np, sys
g = np.load('$tmp/k7/fc8.grad.npy')
want = np.zeros_like(g); want[:, 7] = 1
sys.exit(0 if g.shape == (2, 100) and (g == want).all() else 1)" && ok || bad "--class 7: fc8.grad.npy is not one-hot at 7"
[ -f "$tmp/k7/input.grad.npy" ] && [ ! -e "$tmp/k7/prob.grad.npy" ] && ok || bad "--class 7: input.grad.npy missing or prob written"

# An image goes through the model's preprocessing like everywhere else.
expect 0 'wrote 26 gradients' -- "$prog" grad --model "$ref/tf-bench-tiny.net" --loss l2 "$src/samples/chelsea.png" \
  --save "$tmp/img"

# bench --backward: a row per layer with both times, then the two totals.
out=$("$prog" bench --backward --model "$ref/caffe-tiny.net" --batch 2 --runs 2 2>&1); rc=$?
[ "$rc" = 0 ] && ok || bad "bench --backward: exit $rc"
[ "$(printf '%s\n' "$out" | grep -c -E '^ +[0-9]+  [a-z0-9]+ +[a-z]+ +\(.*\) +[0-9.]+ +[0-9.]+$')" = 23 ] && ok ||
  bad "bench --backward: not 23 layer rows"
printf '%s\n' "$out" | grep -q -E '^forward +[0-9.]+ \+- [0-9.]+ ms per batch of 2$' && ok || bad "bench --backward: no forward line"
printf '%s\n' "$out" | grep -q -E '^forward-backward +[0-9.]+ \+- [0-9.]+ ms per batch of 2$' && ok ||
  bad "bench --backward: no forward-backward line"
printf '%s\n' "$out" | grep -q 'loss softmax cross-entropy' && ok || bad "bench --backward: classifier loss not named"
expect 0 'loss l2 = sum' -- "$prog" bench --backward --model "$ref/tf-bench-tiny.net" --runs 1
expect 2 'belongs to the bench command' -- "$prog" dump --backward "$src/samples/chelsea.png"

# Misuse.
expect 2 'needs --save' -- "$prog" grad --input "$ref/caffe-tiny.input.npy" --model "$ref/caffe-tiny.net"
expect 2 'IMAGE or --input' -- "$prog" grad --model "$ref/caffe-tiny.net" --save "$tmp/x"
expect 2 'not both' -- "$prog" grad --class 3 --loss l2 --model "$ref/caffe-tiny.net" --save "$tmp/x" "$src/samples/chelsea.png"
expect 2 'one loss is l2' -- "$prog" grad --loss l1 --save "$tmp/x" "$src/samples/chelsea.png"
expect 2 'belongs to the grad command' -- "$prog" dump --class 3 "$src/samples/chelsea.png"
expect 1 'class 100: .* classes 0\.\.99' -- "$prog" grad --model "$ref/caffe-tiny.net" --input "$ref/caffe-tiny.input.npy" \
  --class 100 --save "$tmp/x"
: > "$tmp/file"
expect 1 'file/sub: cannot be made: .*file is not a folder' -- "$prog" grad --model "$ref/caffe-tiny.net" --input "$ref/caffe-tiny.input.npy" \
  --save "$tmp/file/sub"

echo "grad: $pass passed, $fail failed"
[ "$fail" = 0 ]
