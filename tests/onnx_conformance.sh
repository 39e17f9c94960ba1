#!/usr/bin/env bash
# ONNX's own conformance cases (libonnx-testdata) for the operators alexscope
# reads, on the CPU and, where tests/alexscope_emu is built, on the host
# emulation of the CUDA backend: every case passes within ONNX's tolerance
# or is refused by name; none may give wrong numbers (tests/onnx_conformance.py).
set -u
. "$(dirname "$0")/lib.sh"
[ -d /usr/share/libonnx-testdata/data/node ] || { echo "SKIP: libonnx-testdata is not installed"; exit 77; }
/usr/bin/python3 -c 'import onnx, numpy' 2>/dev/null || { echo "SKIP: python3-onnx is not installed"; exit 77; }
export OPENBLAS_NUM_THREADS=1
/usr/bin/python3 "$src/tests/onnx_conformance.py" "$prog" cpu || bad "conformance on the CPU: a case gave wrong numbers"
emu=./tests/alexscope_emu
[ -x "$emu" ] || emu="$src/tests/alexscope_emu"
if [ -x "$emu" ]; then
  /usr/bin/python3 "$src/tests/onnx_conformance.py" "$emu" cuda || bad "conformance on the emulated CUDA backend: a case gave wrong numbers"
fi
# the fixtures: the chain runs, the branching graph is refused by name
expect 0 'runs as a net of 6 layers' -- "$prog" inspect "$src/tests/fixtures/onnx/chain.onnx"
expect 0 '^fc +fc out=10 bias=1' -- "$prog" inspect --spec "$src/tests/fixtures/onnx/chain.onnx"
expect 1 "node 'b' \(Relu\): its input 'a' is used 2 times: the graph branches" -- "$prog" inspect --spec "$src/tests/fixtures/onnx/branch.onnx"
# --weights X.onnx with another net: bound by order and shape, and an H,W,C
# flatten's fc weight permuted from ONNX's C,H,W: the same probabilities
tmp=$(mktemp -d /tmp/ax_onnx_XXXXXX)
trap 'rm -rf "$tmp"' EXIT
/usr/bin/python3 -c "import numpy as np; np.save('$tmp/x.npy', np.random.default_rng(1).standard_normal((1, 3, 8, 8)).astype(np.float32))"
for order in chw hwc; do
  printf 'name other\ninput 3 8 8\nconv a out=4 k=3 pad=1\nrelu b\nmaxpool c k=2 s=2\nflatten d order=%s\nfc e out=10\nsoftmax p\n' $order > "$tmp/$order.net"
  "$prog" dump --model "$tmp/$order.net" --weights "$src/tests/fixtures/onnx/chain.onnx" --input "$tmp/x.npy" -s "$tmp/$order" >/dev/null 2>&1 || bad "dump of $order.net with chain.onnx failed"
done
# (the graph's own layer names hold '/', so its run is compared by its table)
own=$("$prog" dump --model "$src/tests/fixtures/onnx/chain.onnx" --input "$tmp/x.npy" 2>&1 | grep -E '^ +[0-9]+  ' | awk '{print $3, $4, $5, $6, $7, $8, $9}')
chw=$("$prog" dump --model "$tmp/chw.net" --weights "$src/tests/fixtures/onnx/chain.onnx" --input "$tmp/x.npy" 2>&1 | grep -E '^ +[0-9]+  ' | awk '{print $3, $4, $5, $6, $7, $8, $9}')
[ -n "$own" ] && [ "$own" = "$chw" ] && ok || bad "chain.onnx bound to chw.net by order gives other numbers than its own graph"
/usr/bin/python3 -c "
import numpy as np, sys
a, b = np.load('$tmp/chw/p.npy'), np.load('$tmp/hwc/p.npy')
sys.exit(0 if np.allclose(a, b, rtol=1e-5, atol=1e-7) else 'H,W,C binding differs by %g' % np.abs(a - b).max())
" && ok || bad "--weights chain.onnx bound to an H,W,C flatten gives other numbers"
echo "onnx_conformance: $pass passed, $fail failed"
[ "$fail" = 0 ]
