#!/usr/bin/env bash
# Benchmark of `alexscope diff` over a folder of images (not part of make check):
# images per second, and what decoding, preprocessing and comparing cost on top
# of the two sides' forward passes, measured in the same run by the command
# itself. The full-size caffe AlexNet runs on both sides (--device cpu twice,
# seeded weights: the figures do not depend on the weights' values).
#
#   tests/bench_diff.sh [IMAGES [BATCH...]]     default: 64 images, batches 32 and 8
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
prog=${AX_PROG:-./alexscope}
[ -x "$prog" ] || prog="$src/alexscope"
export ALEXSCOPE_DATA=${ALEXSCOPE_DATA:-$src/weights}
count=${1:-64}
shift || true
batches=${*:-32 8}
tmp=$(mktemp -d /tmp/ax_bench_diff_XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# The samples, copied round-robin: every copy is decoded and resized again.
samples=("$src"/samples/*.png "$src"/samples/*.jpg)
for ((i = 0; i < count; i++)); do
  s=${samples[$((i % ${#samples[@]}))]}
  cp "$s" "$tmp/$(printf '%04d' "$i").${s##*.}"
done
echo "bench_diff: $count images (${#samples[@]} samples, $(du -sh "$tmp" | cut -f1)), model caffe, $(nproc) cores"
for b in $batches; do
  out=$("$prog" diff --device cpu --device cpu --batch "$b" "$tmp" 2>/dev/null) || { echo "diff failed at batch $b"; exit 1; }
  echo "batch $b:"
  printf '%s\n' "$out" | grep -E '^(time|speed) ' | sed 's/^/  /'
done
