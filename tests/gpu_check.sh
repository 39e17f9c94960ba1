#!/usr/bin/env bash
# What to run on a machine with an NVIDIA GPU, from a configured build folder
# (BUILD, default .): the cross-backend test (also under compute-sanitizer's
# memcheck and initcheck where the toolkit has it), a diff between the CPU and
# the GPU on a sample image, and the GPU benchmark. Prints everything; exits
# non-zero when a check fails. Usage: tests/gpu_check.sh [BUILD] [RUNS]
set -u -o pipefail
build=${1:-.}
runs=${2:-10}
src=$(cd "$(dirname "$0")/.." && pwd)
prog="$build/alexscope"
export ALEXSCOPE_DATA="$src/weights" AX_FIXTURES="$src/tests/fixtures" AX_SRCDIR="$src"
rc=0
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
"$prog" --version
echo "== check_cuda"
"$build/tests/check_cuda" || rc=1
# compute-sanitizer (where the toolkit has it): out-of-bounds and misaligned
# device accesses, and reads of device memory never written.
san=$(command -v compute-sanitizer || ls /usr/local/cuda/bin/compute-sanitizer 2>/dev/null || true)
if [ -n "$san" ]; then
  for tool in memcheck initcheck; do
    echo "== compute-sanitizer --tool $tool check_cuda"
    "$san" --tool "$tool" --error-exitcode 9 "$build/tests/check_cuda" | tail -5 || rc=1
  done
else
  echo "== compute-sanitizer: not found (skipped)"
fi
echo "== check_cuda_emu"
"$build/tests/check_cuda_emu" || rc=1
for m in caffe torchvision tf-bench keras-half; do
  echo "== diff --device cpu --device cuda ($m)"
  "$prog" diff --model "$m" --device cpu --device cuda "$src/samples/chelsea.png" | tail -4 || rc=1
done
echo "== dump --device cuda"
"$prog" dump --device cuda "$src/samples/chelsea.png" | tail -8 || rc=1
for m in caffe torchvision; do
  echo "== bench --device cuda --model $m"
  "$prog" bench --device cuda --model "$m" --runs "$runs" || rc=1
  echo "== bench --device cuda --no-cudnn --model $m"
  "$prog" bench --device cuda --no-cudnn --model "$m" --runs "$runs" || rc=1
done
echo "== bench --device cuda --tf32 --model caffe --batch 32"
"$prog" bench --device cuda --tf32 --model caffe --batch 32 --runs "$runs" || rc=1
exit $rc
