#!/usr/bin/env bash
# `alexscope train` against PyTorch, step for step: weights/fashion-mini.net
# (grouped convolutions, LRN, max pools, two dropouts, three FC layers) from
# the same He initial weights on a small random IDX set, no augmentation.
# tests/train_torch.py reproduces train's split, batch order and dropout
# masks and gives the masks to PyTorch as multipliers; PyTorch runs in
# float64, the reference (in float32 a max pool's near-tie that rounding
# decides can send a gradient elsewhere: it did here for PyTorch's own
# float32). After 1 step, and after 4 (two epochs of two batches), every
# tensor's update (weights after minus before) matches PyTorch's within 1e-4
# of its scale (the reference suites' rule) and one float32 spacing of the
# weight (both round the new weights to float32), and so does the validation loss;
# PyTorch with another seed's masks fails the same comparison (the check
# sees the masks).
set -u
. "$(dirname "$0")/lib.sh"
py=/usr/bin/python3
"$py" -c 'import torch, numpy' 2>/dev/null || { echo "SKIP: train_torch.sh needs python3-torch and python3-numpy"; exit 77; }
export OPENBLAS_NUM_THREADS=1 TORCH_DTYPE=float64
tmp=$(mktemp -d /tmp/ax_train_torch_XXXXXX)
trap 'rm -rf "$tmp"' EXIT
ref=("$py" "$src/tests/train_torch.py")
net=$src/weights/fashion-mini.net

# 30 grey 28x28 images of all ten labels, and He weights for the net.
"$py" -c "
import sys; sys.path.insert(0, '$src/tests')
import numpy as np, train_torch as t
r = np.random.default_rng(11)
y = r.permutation(np.arange(30) % 10).astype(np.uint8)
x = r.integers(0, 256, size=(30, 28, 28)).astype(np.uint8)
t.write_idx('$tmp/set', x, y)" && "${ref[@]}" init "$net" "$tmp/init.safetensors" 5 && ok ||
  { bad "writing the data set or the initial weights failed"; exit 1; }

# steps TAG VAL_SPLIT NVAL EPOCHS: both sides, then their weights compared
steps() {
  local tag=$1 vs=$2 nval=$3 epochs=$4
  if ! "$prog" train --model "$net" --data "$tmp/set" --weights "$tmp/init.safetensors" --epochs "$epochs" \
       --batch 10 --lr 0.01 --momentum 0.9 --weight-decay 5e-4 --seed 3 --val-split "$vs" --no-augment \
       --threads 1 --out "$tmp/$tag.ax.safetensors" > "$tmp/$tag.ax.txt" 2>&1; then
    bad "$tag: alexscope train failed:"; tail -3 "$tmp/$tag.ax.txt"; return
  fi
  grep -q "validate $nval;" "$tmp/$tag.ax.txt" && ok || bad "$tag: train did not validate $nval images"
  "${ref[@]}" run "$net" "$tmp/set" "$tmp/init.safetensors" 3 "$nval" 10 0.01 "$epochs" 1 \
    "$tmp/$tag.pt.safetensors" > "$tmp/$tag.pt.txt" || { bad "$tag: the PyTorch run failed"; return; }
  "${ref[@]}" compare "$tmp/$tag.ax.safetensors" "$tmp/$tag.pt.safetensors" "$tmp/init.safetensors" \
    > "$tmp/$tag.cmp.txt" && ok || { bad "$tag: the weights differ from PyTorch's:"; cat "$tmp/$tag.cmp.txt"; }
  echo "$tag: $(tail -1 "$tmp/$tag.cmp.txt")"
  # the validation loss after the last epoch, both printed to 4 places
  local a b
  a=$(sed -n "s/^epoch $epochs\/$epochs .* val loss \([0-9.]*\) .*/\1/p" "$tmp/$tag.ax.txt")
  b=$(awk -v e="$epochs" '$2 == e { print $5 }' "$tmp/$tag.pt.txt")
  awk -v a="$a" -v b="$b" 'BEGIN { d = a - b; exit !(a != "" && b != "" && d <= 1.5e-4 && d >= -1.5e-4) }' && ok ||
    bad "$tag: validation loss $a, PyTorch's $b"
}
steps one-step 0.6666667 20 1    # 10 images to train: one batch
steps four-steps 0.3333333 10 2  # 20 to train: two batches an epoch

# The same comparison fails when PyTorch draws the masks of seed 4.
MASK_SEED=4 "${ref[@]}" run "$net" "$tmp/set" "$tmp/init.safetensors" 3 10 10 0.01 2 1 "$tmp/other.pt.safetensors" \
  > /dev/null || bad "the PyTorch run with seed 4's masks failed"
"${ref[@]}" compare "$tmp/four-steps.ax.safetensors" "$tmp/other.pt.safetensors" "$tmp/init.safetensors" > /dev/null &&
  bad "PyTorch with other dropout masks still matched: the comparison does not see the masks" || ok

echo "train_torch: $pass passed, $fail failed"
[ "$fail" = 0 ]
