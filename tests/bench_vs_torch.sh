#!/usr/bin/env bash
# Times bvlc AlexNet forward in alexscope and in PyTorch (Debian's
# python3-torch) side by side, in one run, at batch 1 and 32, and prints the
# ratio, then forward-backward of torchvision's AlexNet (BWD_BATCH, default
# 32), then every convolution layer of caffe and torchvision alone, forward
# and forward-backward, at 1 and 2 threads and batch 1, 8 and 32 (see
# LAYER_* below). A benchmark, not a test: it prints figures and never fails
# on speed.
#   tests/bench_vs_torch.sh [BUILD_DIR]   (default: the source tree)
#   WHOLE=0 skips the whole-net part, LAYERS=0 the per-layer part.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$src}
threads=${THREADS:-$(nproc)}
runs1=${RUNS1:-20}
runs32=${RUNS32:-5}
[ -x "$build/alexscope" ] || { echo "no $build/alexscope: build first (./quickstart or make)" >&2; exit 1; }
/usr/bin/python3 -c 'import torch' 2>/dev/null || { echo "PyTorch missing: apt-get install python3-torch" >&2; exit 1; }

"$build/alexscope" --version | sed -n 's/^conv: /alexscope convolutions: /p'
if [ "${WHOLE:-1}" != 0 ]; then
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
ALEXSCOPE_DATA="$src/weights" "$build/alexscope" bench --batch 1 --runs 1 --threads "$threads" | sed -n '1,2p'
/usr/bin/python3 "$src/tests/bench_torch.py" 1 1 "$threads" | sed 's/^torch_ms [0-9]* [0-9.]* *//'
fi

# Per convolution layer: alexscope's time (from `bench`, forward: the
# median of its runs; `bench --backward`: forward + backward, the mean of its
# runs) beside PyTorch's for the same layer alone (tests/bench_torch_layers.py,
# the median of its runs), each the best of LAYER_REPEAT repeats run in turn
# (alexscope, PyTorch, alexscope, ...: a shared machine's load hits both).
# ax/pt is alexscope's time over PyTorch's (below 1: alexscope is faster);
# "conv total" adds the layers up.
[ "${LAYERS:-1}" != 0 ] || exit 0
repeat=${LAYER_REPEAT:-3}
printf '\nper conv layer, best of %s interleaved repeats (%s CPUs, load %s)\n' "$repeat" "$(nproc)" \
  "$(cut -d' ' -f1 /proc/loadavg)"
printf '%-12s %-8s %3s %5s  %-12s %12s %12s %7s\n' model mode thr batch layer alexscope_ms pytorch_ms ax/pt
tmpd=$(mktemp -d /tmp/ax_bench_layers_XXXXXX)
trap 'rm -rf "$tmpd"' EXIT
for model in ${LAYER_MODELS:-caffe torchvision}; do
  for mode in ${LAYER_MODES:-forward backward}; do
    for t in ${LAYER_THREADS:-1 2}; do
      for b in ${LAYER_BATCHES:-1 8 32}; do
        runs=$((b >= 8 ? ${LAYER_RUNS:-3} : 24 / b))
        : > "$tmpd/ax"; : > "$tmpd/pt"
        for r in $(seq "$repeat"); do
          if [ "$mode" = forward ]; then
            ALEXSCOPE_DATA="$src/weights" "$build/alexscope" bench --model "$model" --batch "$b" --runs "$runs" \
              --threads "$t" | sed -E 's/\([^)]*\)/S/' | awk '$3 == "conv" { print $2, $5 }' >> "$tmpd/ax"
          else
            ALEXSCOPE_DATA="$src/weights" "$build/alexscope" bench --backward --model "$model" --batch "$b" \
              --runs "$runs" --threads "$t" | sed -E 's/\([^)]*\)/S/' | awk '$3 == "conv" { print $2, $5 + $6 }' \
              >> "$tmpd/ax"
          fi
          /usr/bin/python3 "$src/tests/bench_torch_layers.py" "$model" "$b" "$t" "$runs" "$mode" |
            awk '{ print $2, $3 }' >> "$tmpd/pt"
        done
        awk -v model="$model" -v mode="$mode" -v t="$t" -v b="$b" '
          FNR == 1 { f++ }
          { if (!($1 in seen)) { seen[$1] = 1; order[++n] = $1 }
            k = f SUBSEP $1; if (!(k in best) || $2 < best[k]) best[k] = $2 }
          END { for (i = 1; i <= n; i++) { l = order[i]; a = best[1, l]; p = best[2, l]; ta += a; tp += p
                  printf "%-12s %-8s %3s %5s  %-12s %12.3f %12.3f %6.2fx\n", model, mode, t, b, l, a, p, a / p }
                printf "%-12s %-8s %3s %5s  %-12s %12.3f %12.3f %6.2fx\n", model, mode, t, b, "conv total", ta, tp, ta / tp }
        ' "$tmpd/ax" "$tmpd/pt"
      done
    done
  done
done
