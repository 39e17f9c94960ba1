#!/usr/bin/env bash
# Fashion-MNIST trained by alexscope and by PyTorch on the same recipe:
# weights/fashion-mini.net from the same He initial weights (written to
# safetensors, loaded by train --weights), the same batches in the same
# order, the same dropout masks (train's seeded split, shuffles and masks
# reproduced by tests/train_torch.py, the masks given to PyTorch as
# multipliers), no augmentation, the same SGD (v = m v + g + wd w; w -= lr v).
# First a check that the two compute the same thing: 3 steps on real images,
# alexscope's and PyTorch's (float32) weights against PyTorch in float64.
# Then per seed of SEEDS both sides train, one after the other (which goes
# first alternates); per epoch the table gives the test accuracy's mean and
# sd over the seeds for both, their gap (alexscope - PyTorch), and the
# fastest seed's seconds of training steps for both. Training at this
# learning rate is chaotic: two correct runs of one recipe, rounded
# differently, drift apart within the first epoch. TORCH64=1 also trains
# PyTorch in float64 (slow) and prints each side's gap to it: how far
# PyTorch's own float32 run lands from it is the yardstick for alexscope's.
# A benchmark, not a test: it is not in make check.
#
#   tests/bench_train_real.sh [BUILD_DIR]
#   env: NTRAIN (10000) NTEST (2000) EPOCHS (5) BATCH (32) LR (0.003) THREADS (1) SEEDS ("0 1 2")
#        TORCH64 (0) FMNIST (/usr/share/datasets/fashion-mnist)
# The data: `apt-get install dataset-fashion-mnist` (Debian), or the four
# *-ubyte.gz files of Fashion-MNIST in $FMNIST. PyTorch: python3-torch.
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$src}
prog=$build/alexscope
py=/usr/bin/python3
fm=${FMNIST:-/usr/share/datasets/fashion-mnist}
for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
  [ -e "$fm/$f.gz" ] || [ -e "$fm/$f" ] || {
    echo "bench_train_real: $fm/$f[.gz] is missing: apt-get install dataset-fashion-mnist (or set FMNIST=DIR)" >&2
    exit 77; }
done
"$py" -c 'import torch, numpy' 2>/dev/null || { echo "bench_train_real: needs python3-torch and python3-numpy" >&2; exit 77; }
[ -x "$prog" ] || { echo "bench_train_real: no $prog (build first)" >&2; exit 1; }
NTRAIN=${NTRAIN:-10000} NTEST=${NTEST:-2000} EPOCHS=${EPOCHS:-5} BATCH=${BATCH:-32} LR=${LR:-0.003}
THREADS=${THREADS:-1} SEEDS=${SEEDS:-0 1 2} TORCH64=${TORCH64:-0}
tmp=$(mktemp -d /tmp/ax_fmnist_XXXXXX)
trap 'rm -rf "$tmp"' EXIT
ref=("$py" "$src/tests/train_torch.py")
net=$src/weights/fashion-mini.net

# ax PREFIX INIT SEED NVAL_FRACTION EPOCHS OUT: alexscope's run, its log in OUT.txt
ax() {
  "$prog" train --model "$net" --data "$1" --weights "$2" --seed "$3" --val-split "$4" --epochs "$5" \
    --batch "$BATCH" --lr "$LR" --momentum 0.9 --weight-decay 5e-4 --no-augment --threads "$THREADS" \
    --out "$6.safetensors" > "$6.txt"
}
frac() { "$py" -c "import sys; print(repr($1 / ($1 + $2)))"; }

echo "Fashion-MNIST: $NTRAIN training images, $NTEST test images, $EPOCHS epochs, batch $BATCH, lr $LR, momentum 0.9," \
     "weight decay 5e-4, no augmentation, He initial weights, shared dropout masks, $THREADS thread(s), seeds $SEEDS"

# The check: 3 steps on the first 3 batches of training images (a batch more validates).
"${ref[@]}" prep "$net" "$tmp/check" "$tmp/check.init.safetensors" 0 $((3 * BATCH)) "$BATCH" "$fm"
ax "$tmp/check" "$tmp/check.init.safetensors" 0 0.25 1 "$tmp/check.ax"
for dt in float32 float64; do
  TORCH_DTYPE=$dt "${ref[@]}" run "$net" "$tmp/check" "$tmp/check.init.safetensors" 0 "$BATCH" "$BATCH" "$LR" 1 \
    "$THREADS" "$tmp/check.$dt.safetensors" > /dev/null
done
for side in ax float32; do
  name=$([ $side = ax ] && echo alexscope || echo "PyTorch float32")
  if out=$("${ref[@]}" compare "$tmp/check.$side.safetensors" "$tmp/check.float64.safetensors" "$tmp/check.init.safetensors"); then
    echo "check, 3 steps, $name against PyTorch float64: $(printf '%s\n' "$out" | tail -1)"
  else
    printf 'bench_train_real: after 3 steps %s differs from PyTorch float64:\n%s\n' "$name" "$out" >&2; exit 1
  fi
done

# The runs: per seed its own split, order, masks and initial weights.
vs=$(frac "$NTEST" "$NTRAIN")
steps=$((NTRAIN / BATCH * BATCH))
: > "$tmp/rows"
k=0
for seed in $SEEDS; do
  d=$tmp/s$seed
  "${ref[@]}" prep "$net" "$d" "$d.init.safetensors" "$seed" "$NTRAIN" "$NTEST" "$fm"
  for side in $([ $((k % 2)) = 0 ] && echo "ax torch" || echo "torch ax"); do
    if [ $side = ax ]; then
      ax "$d" "$d.init.safetensors" "$seed" "$vs" "$EPOCHS" "$d.ax"
      grep -q "validate $NTEST;" "$d.ax.txt" || { echo "bench_train_real: train's split is not the test set:" >&2; cat "$d.ax.txt" >&2; exit 1; }
      # seconds of the training steps: the images it stepped over / its images/s
      sed -n "s/^epoch \([0-9]*\)\/.* val loss [0-9.]* acc *\([0-9.]*\)%  \([0-9.]*\) images\/s/\1 \2 \3/p" "$d.ax.txt" |
        awk -v s="$steps" -v seed="$seed" '{ printf "ax %s %d %s %.3f\n", seed, $1, $2, s / $3 }' >> "$tmp/rows"
    else
      "${ref[@]}" run "$net" "$d" "$d.init.safetensors" "$seed" "$NTEST" "$BATCH" "$LR" "$EPOCHS" "$THREADS" |
        awk -v seed="$seed" '{ print "torch", seed, $2, $3, $4 }' >> "$tmp/rows"
    fi
  done
  if [ "$TORCH64" = 1 ]; then
    TORCH_DTYPE=float64 "${ref[@]}" run "$net" "$d" "$d.init.safetensors" "$seed" "$NTEST" "$BATCH" "$LR" "$EPOCHS" \
      "$THREADS" | awk -v seed="$seed" '{ print "torch64", seed, $2, $3, $4 }' >> "$tmp/rows"
  fi
  k=$((k + 1))
done
echo "per seed (side seed epoch test-acc% seconds):"
sed 's/^/  /' "$tmp/rows"
"$py" - "$tmp/rows" <<'PY'
import sys
import numpy as np
rows = [l.split() for l in open(sys.argv[1])]
acc, sec = {}, {}
for side, seed, e, a, s in rows:
    acc.setdefault((side, int(e)), {})[seed] = float(a)
    sec.setdefault((side, int(e)), []).append(float(s))
epochs = sorted({e for _, e in acc})
ms = lambda v: f'{np.mean(v):.2f} ± {np.std(v, ddof=1) if len(v) > 1 else 0:.2f}'
gap = lambda a, b, e: ms([acc[(a, e)][s] - acc[(b, e)][s] for s in acc[(a, e)] if s in acc[(b, e)]])
f64 = any(k[0] == 'torch64' for k in acc)
print()
print('| epoch | alexscope test acc % | PyTorch test acc % | gap (points) | alexscope s/epoch | PyTorch s/epoch |'
      + (' PyTorch float64 acc % | alexscope - float64 | PyTorch - float64 |' if f64 else ''))
print('| --- ' * (9 if f64 else 6) + '|')
for e in epochs:
    row = (f'| {e} | {ms(list(acc[("ax", e)].values()))} | {ms(list(acc[("torch", e)].values()))} | '
           f'{gap("ax", "torch", e)} | {min(sec[("ax", e)]):.2f} | {min(sec[("torch", e)]):.2f} |')
    if f64:
        row += f' {ms(list(acc[("torch64", e)].values()))} | {gap("ax", "torch64", e)} | {gap("torch", "torch64", e)} |'
    print(row)
print(f'(mean ± sd over {len(acc[("ax", epochs[0])])} seeds; seconds: the fastest seed\'s training steps, evaluation '
      'not counted)')
PY
