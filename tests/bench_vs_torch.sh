#!/usr/bin/env bash
# Times bvlc AlexNet forward in alexscope and in PyTorch (Debian's
# python3-torch) side by side, in one run, at batch 1 and 32, and prints the
# ratio, then forward-backward of torchvision's AlexNet (BWD_BATCH, default
# 32). A benchmark, not a test: it prints figures and never fails on speed.
#   tests/bench_vs_torch.sh [BUILD_DIR]   (default: the source tree)
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$src}
threads=${THREADS:-$(nproc)}
runs1=${RUNS1:-20}
runs32=${RUNS32:-5}
[ -x "$build/alexscope" ] || { echo "no $build/alexscope: build first (./quickstart or make)" >&2; exit 1; }
/usr/bin/python3 -c 'import torch' 2>/dev/null || { echo "PyTorch missing: apt-get install python3-torch" >&2; exit 1; }

printf '%-8s %12s %12s %8s\n' batch alexscope_ms pytorch_ms speedup
for spec in "1 $runs1" "32 $runs32"; do
  set -- $spec
  ax=$(ALEXSCOPE_DATA="$src/weights" "$build/alexscope" bench --batch "$1" --runs "$2" --threads "$threads" |
       sed -n 's/^total \([0-9.]*\) ms per batch.*/\1/p')
  pt=$(/usr/bin/python3 "$src/tests/bench_torch.py" "$1" "$2" "$threads" | awk '{print $3}')
  awk -v b="$1" -v a="$ax" -v p="$pt" 'BEGIN { printf "%-8s %12.2f %12.2f %7.2fx\n", b, a, p, p / a }'
done
# Forward-backward (softmax cross-entropy to every weight, dropout on) of
# torchvision's AlexNet, mean +- sd ms per batch, beside PyTorch's.
bb=${BWD_BATCH:-32}
br=${BWD_RUNS:-3}
ax=$(ALEXSCOPE_DATA="$src/weights" "$build/alexscope" bench --backward --model torchvision --batch "$bb" --runs "$br" \
       --threads "$threads" | sed -n 's/^forward-backward *\([0-9.]*\) +- \([0-9.]*\) ms.*/\1 \2/p')
pt=$(/usr/bin/python3 "$src/tests/bench_torch.py" "$bb" "$br" "$threads" torchvision backward | awk '{print $3, $4}')
printf '\n%-24s %20s %20s %8s\n' "forward-backward" "alexscope_ms" "pytorch_ms" speedup
awk -v b="$bb" -v a="$ax" -v p="$pt" 'BEGIN { split(a, x, " "); split(p, y, " ");
  printf "%-24s %11.1f +- %6.1f %11.1f +- %6.1f %7.2fx\n", "torchvision batch " b, x[1], x[2], y[1], y[2], y[1] / x[1] }'
"$build/alexscope" bench --batch 1 --runs 1 --threads "$threads" | sed -n '1p'
/usr/bin/python3 "$src/tests/bench_torch.py" 1 1 "$threads" | sed 's/^torch_ms [0-9]* [0-9.]* *//'
