#!/bin/bash
# TensorFlow checkpoints from the command line: every way users name one opens
# it, a flipped byte in a tensor or in an index block is refused (the tensor
# named), and inspect lists the optimizer slots and the step it ignores. The
# checkpoints come from tests/fixtures/tfckpt/make_tfckpt.py, a writer that
# shares no code with the reader.
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

echo "tfckpt: $pass passed, $fail failed"
[ "$fail" = 0 ]
