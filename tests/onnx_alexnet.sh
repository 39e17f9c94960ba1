#!/usr/bin/env bash
# AlexNet-sized ONNX graphs from --model, layer by layer against PyTorch
# (tests/onnx_alexnet.py): the model zoo's bvlcalexnet-8 form, torchvision's
# AlexNet exported at opsets 9 and 13 (and with a Shape chain before its
# Reshape), the shape computations folded or refused, and the preprocessing
# each graph gets. make check runs the graphs at a quarter of AlexNet's width;
# `tests/onnx_alexnet.sh --full` runs them full size (244 MB files in a temp dir).
set -u
. "$(dirname "$0")/lib.sh"
/usr/bin/python3 -c 'import onnx, numpy, torch' 2>/dev/null || { echo "SKIP: python3-onnx or python3-torch is not installed"; exit 77; }
width=0.25
[ "${1:-}" = --full ] && width=1
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-2}
tmp=$(mktemp -d /tmp/ax_onnx_alexnet_XXXXXX)
trap 'rm -rf "$tmp"' EXIT
for mode in zoo torchvision shapes preprocess; do
  /usr/bin/python3 "$src/tests/onnx_alexnet.py" $mode "$prog" "$tmp" --width $width 2>&1 | grep -v -E 'Warning|warnings.warn|^ +_C\._jit' \
    && [ "${PIPESTATUS[0]}" = 0 ] && ok || bad "onnx_alexnet.py $mode (width $width)"
done
echo "onnx_alexnet: $pass passed, $fail failed"
[ "$fail" = 0 ]
