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
# what inspect --spec says of the graphs, and --preprocess on any model
zoo=$tmp/bvlcalexnet.onnx
expect 0 '^# recognised: bvlc AlexNet/CaffeNet as the ONNX model zoo converted it' -- "$prog" inspect --spec "$zoo"
expect 0 '^preprocess +resize=224x224 crop=224 order=bgr scale=255 mean=103.939,116.779,123.68 std=1,1,1$' -- "$prog" inspect --spec "$zoo"
expect 0 "^# recognised: torchvision's AlexNet: preprocessing torchvision" -- "$prog" inspect --spec "$tmp/tv_opset9.onnx"
expect 0 '^# not recognised as an AlexNet: preprocessing none' -- "$prog" inspect --spec "$src/tests/fixtures/onnx/chain.onnx"
expect 0 'recognised as bvlc AlexNet/CaffeNet, so an image gets preprocessing zoo' -- "$prog" inspect "$zoo"
expect 0 "recognised as torchvision's AlexNet, so an image gets preprocessing torchvision" -- "$prog" inspect "$tmp/tv_view_opset13.onnx"
img=$src/samples/chelsea.png
expect 0 '^preprocess caffe: resized to 256x256, centre crop 227x227, BGR, 0..255, minus mean \(104, 117, 123\) \(the model.s\)$' -- "$prog" dump "$img"
expect 0 '^preprocess torchvision: shorter side resized to 256, centre crop 224x224, RGB, 0..1, .*\(the model.s\)$' -- "$prog" dump --model torchvision "$img"
expect 0 '^preprocess zoo: the whole image resized to 227x227, no crop, BGR, 0..255, minus mean \(103.939, 116.779, 123.68\) \(--preprocess\)$' -- "$prog" dump --preprocess zoo "$img"
expect 0 '^preprocess custom: the whole image resized to 224x224, no crop, BGR, 0..255, minus mean \(1, 2, 3\) \(--preprocess\)$' -- "$prog" dump --model "$zoo" --preprocess 'zoo mean=1,2,3' "$img"
expect 0 '^preprocess none: the tensor is the net.s input as it is \(an image would get zoo\)$' -- "$prog" dump --model "$zoo" --input "$tmp/zoo_in.npy"
expect 2 '^alexscope: --preprocess bogus: expected caffe\|torchvision\|zoo\|none' -- "$prog" dump --preprocess bogus "$img"
expect 1 "^alexscope: --preprocess:3: preprocess: unknown key 'colour'" -- "$prog" dump --preprocess 'zoo colour=1' "$img"
expect 1 "^alexscope: --preprocess crop=5: its crop 5x5 is not the caffe model's 227x227 input" -- "$prog" dump --preprocess crop=5 "$img"
expect 2 '^alexscope: --preprocess belongs to the ui, dump, bench, diff, maxact and grad commands, not to summary' -- "$prog" summary --preprocess zoo
echo "onnx_alexnet: $pass passed, $fail failed"
[ "$fail" = 0 ]
