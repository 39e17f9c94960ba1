#!/usr/bin/env bash
# Trains a small AlexNet-shaped net from scratch on the procedural shape set
# of samples/make_trainset.py (5 classes, made in a temporary folder, never
# committed) and prints the per-epoch train and validation accuracy: the
# validation accuracy must end well above chance (20%). A benchmark: it
# prints figures (accuracy, images/s) and fails only when training does not
# learn at all.
#   tests/bench_train.sh [BUILD_DIR]   (PER_CLASS=150 EPOCHS=12 LR=0.01 THREADS=nproc)
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$src}
[ -x "$build/alexscope" ] || { echo "no $build/alexscope: build first (./quickstart or make)" >&2; exit 1; }
per=${PER_CLASS:-150}
epochs=${EPOCHS:-12}
threads=${THREADS:-$(nproc)}
tmp=$(mktemp -d /tmp/ax_bench_train_XXXXXX)
trap 'rm -rf "$tmp"' EXIT
/usr/bin/python3 "$src/samples/make_trainset.py" "$tmp/data" "$per" 64 1
out=$(ALEXSCOPE_DATA="$src/weights" "$build/alexscope" train --model "$src/weights/alexnet-mini.net" --data "$tmp/data" \
      --out "$tmp/mini.safetensors" --epochs "$epochs" --batch 32 --lr "${LR:-0.01}" --seed 1 --threads "$threads" | tee /dev/stderr)
acc=$(printf '%s\n' "$out" | sed -n "s/^epoch $epochs\/$epochs .* val loss [0-9.]* acc *\([0-9.]*\)%.*/\1/p")
echo "final validation accuracy: $acc% (chance 20%)"
awk -v a="$acc" 'BEGIN { exit !(a != "" && a >= 50) }'
