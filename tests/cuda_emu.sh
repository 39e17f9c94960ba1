#!/usr/bin/env bash
# The whole program with --device cuda, on the host emulation of the CUDA
# backend (tests/alexscope_emu, see tests/cuda_emu/): every command that takes
# a device runs with its outputs in the backend's own memory. diff between the
# CPU and the emulated GPU agrees on every tensor of the four built-in nets,
# dump gives the CPU's top-5 and reports device times, bench prints its
# device table and throughput, the messages for a missing GPU or memory, and
# (with tmux) the workbench steps and its status line shows the copy time.
set -u
. "$(dirname "$0")/lib.sh"
emu=${AX_EMU_PROG:-./tests/alexscope_emu}
[ -x "$emu" ] || emu="$src/tests/alexscope_emu"
[ -x "$emu" ] || { echo "FAIL: tests/alexscope_emu not built"; exit 1; }
tmp=$(mktemp -d /tmp/ax_emu_XXXXXX)
trap 'rm -rf "$tmp"' EXIT
img=$src/samples/chelsea.png
export OPENBLAS_NUM_THREADS=1

expect 0 '\(backends: cpu, cuda\)$' -- "$emu" --version

# diff: the CPU against the emulated GPU, through cuDNN's and the GEMM path
for m in caffe torchvision tf-bench keras-half; do
  expect 0 'compared tensors agree' -- "$emu" diff --model "$m" --device cpu --device cuda "$img"
done
expect 0 'compared tensors agree' -- "$emu" diff --model caffe --device cpu --device cuda --no-cudnn "$img"

# dump: the same classes as on the CPU, and the device's times
cpu_top=$("$emu" dump "$img" 2>&1 | grep -E '^ +[1-5]\. ' | awk '{print $2}')
gpu_out=$("$emu" dump --device cuda "$img" 2>&1)
gpu_top=$(printf '%s\n' "$gpu_out" | grep -E '^ +[1-5]\. ' | awk '{print $2}')
if [ -n "$cpu_top" ] && [ "$cpu_top" = "$gpu_top" ]; then ok
else bad "dump --device cuda top-5 classes ($(echo $gpu_top)) differ from the CPU's ($(echo $cpu_top))"; fi
printf '%s\n' "$gpu_out" | grep -q -E '^device time +kernels [0-9.]+ ms, input upload [0-9.]+ ms' && ok ||
  bad "dump --device cuda has no device time line"
printf '%s\n' "$gpu_out" | grep -q 'cuda: emulated GPU 0' && ok || bad "dump --device cuda does not name the device"

# bench: the device table with each convolution's peer, then three batch sizes
cat > "$tmp/small.net" <<'EOF'
name small
input 3 32 32
conv c1 out=8 k=3 pad=1
relu r1
lrn n1 size=3 alpha=0.1
maxpool p1 k=2 s=2
conv c2 out=8 k=3 pad=same groups=2
flatten f order=hwc
fc fc1 out=10
softmax prob
EOF
out=$("$emu" bench --device cuda --model "$tmp/small.net" --runs 2 2>&1)
rc=$?
[ "$rc" = 0 ] && ok || { bad "bench --device cuda exited $rc"; printf '%s\n' "$out" | tail -5; }
printf '%s\n' "$out" | grep -q -E '^ +0  c1 +conv .* IMPLICIT_PRECOMP_GEMM +[0-9.]+ +[0-9.]+x' && ok ||
  bad "bench --device cuda: no c1 row with its algorithm and peer ratio"
printf '%s\n' "$out" | grep -q 'peer: cuDNN IMPLICIT_PRECOMP_GEMM alone' && ok || bad "bench does not name the peer"
for b in 1 32 256; do
  printf '%s\n' "$out" | grep -q -E "^batch +$b: +[0-9.]+ images/s" && ok || bad "bench: no images/s at batch $b"
done
printf '%s\n' "$out" | grep -q 'slowest workbench step: ' && ok || bad "bench: no workbench step"
out=$("$emu" bench --device cuda --no-cudnn --model "$tmp/small.net" --runs 2 2>&1)
printf '%s\n' "$out" | grep -q 'peer: cuBLAS GEMMs alone' && ok || bad "bench --no-cudnn does not time the GEMMs alone"

# why there is no GPU, in one line, exit 1
AX_EMU_DEVICES=0 expect 1 'no CUDA-capable GPU was found' -- "$emu" dump --device cuda "$img"
AX_EMU_DRIVER=0 expect 1 'no NVIDIA driver is installed' -- "$emu" bench --device cuda
AX_EMU_FREE_MB=50 expect 1 'needs 0\.[0-9]+ GB on the GPU; emulated GPU 0 has' -- "$emu" dump --device cuda "$img"
expect 1 '--gpu 2: this machine has 1 GPU' -- "$emu" dump --device cuda --gpu 2 "$img"

# --gpu, --tf32 and --no-cudnn reach the backend from every command: they go
# into the net when it is created (dump's device line, bench's methods)
expect 0 'cuda: emulated GPU 0 .*TF32 allowed \(--tf32\)' -- "$emu" dump --device cuda --tf32 "$img"
expect 0 'cuda: emulated GPU 0 .*float32 throughout \(TF32 off\)' -- "$emu" dump --device cuda "$img"
expect 0 ' c1 +conv .* WINOGRAD_NONFUSED ' -- "$emu" bench --device cuda --tf32 --model "$tmp/small.net" --runs 1
expect 0 ' c1 +conv .* im2col \+ cuBLAS ' -- "$emu" bench --device cuda --no-cudnn --model "$tmp/small.net" --runs 1
expect 1 '--gpu 2: this machine has 1 GPU' -- "$emu" diff --device cpu --device cuda --gpu 2 "$img"
expect 1 '--gpu 2: this machine has 1 GPU' -- "$emu" bench --device cuda --gpu 2 --model "$tmp/small.net"
expect 1 '--gpu 2: this machine has 1 GPU' -- "$emu" convert --load-only --device cuda --gpu 2 "$img"
expect 2 'train: the backward pass runs on the CPU' -- "$emu" train --device cuda "$img"

# grad on the device: the forward pass there, the backward pass on host copies
"$emu" grad --model keras-half --save "$tmp/g_cpu" "$img" > "$tmp/g_cpu.txt" 2>&1 || bad "grad on the CPU failed"
"$emu" grad --model keras-half --device cuda --save "$tmp/g_gpu" "$img" > "$tmp/g_gpu.txt" 2>&1 ||
  bad "grad --device cuda failed: $(tail -2 "$tmp/g_gpu.txt")"
n_cpu=$(ls "$tmp/g_cpu" 2>/dev/null | wc -l); n_gpu=$(ls "$tmp/g_gpu" 2>/dev/null | wc -l)
[ "$n_cpu" -gt 0 ] && [ "$n_cpu" = "$n_gpu" ] && ok || bad "grad wrote $n_cpu files on the CPU, $n_gpu on the device"

# the workbench, when tmux is here
if command -v "${TMUX_BIN:-tmux}" > /dev/null 2>&1; then
  (
    ALEXSCOPE_BIN=$(cd "$(dirname "$emu")" && pwd)/$(basename "$emu")
    export ALEXSCOPE_BIN
    . "$src/tests/tmux_lib.sh"
    work=$tmp
    tmux_server axemu
    cat > "$work/run.sh" <<EOF
"$ALEXSCOPE_BIN" --device cuda --model keras-half '$img'
echo "EXIT=\$?"
sleep 60
EOF
    tmux_session 120 40 "$work/run.sh"
    expect "Tensor view" "the workbench opens on the emulated GPU" 60
    keys n n
    expect_re "conv1 [0-9.]+ ms \+ [0-9.]+ ms copy" "the status line shows conv1's kernel and copy time" 60
    keys 3
    expect "Heatmap view" "the Heatmap view draws the layer" 30
    keys n n
    expect_re "pool1 [0-9.]+ ms \+ [0-9.]+ ms copy" "steps go on, each layer with its copy time" 60
    keys 6
    expect "Top-k view" "Top-k opens" 30
    keys Q
    expect "EXIT=0" "Q quits with status 0"
    exit "$fails"
  ) && ok || bad "the workbench on the emulated GPU (see the lines above)"
fi

echo "cuda_emu.sh: $pass passed, $fail failed"
[ "$fail" = 0 ]
