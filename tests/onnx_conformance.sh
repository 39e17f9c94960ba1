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
echo "onnx_conformance: $pass passed, $fail failed"
[ "$fail" = 0 ]
