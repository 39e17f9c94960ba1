#!/usr/bin/env bash
# `alexscope train` on a tiny procedural image set (samples/make_trainset.py)
# and a tiny net: the loss goes down, frozen layers stay bit-identical, a
# checkpoint (written at an epoch's end, or on Ctrl-C mid-epoch) resumes to
# the same weights as an uninterrupted run, --classes resizes the last layer
# and the written W.net loads it; misuse gets its exit status. An IDX pair
# trains and damaged IDX files are refused naming the file and the fault.
set -u
. "$(dirname "$0")/lib.sh"
py=/usr/bin/python3
"$py" -c 'import numpy' 2>/dev/null || { echo "SKIP: train.sh needs python3-numpy"; exit 77; }
tmp=$(mktemp -d /tmp/ax_train_XXXXXX)
trap 'rm -rf "$tmp"' EXIT

"$py" "$src/samples/make_trainset.py" "$tmp/data" 24 32 1 3 > /dev/null || { bad "make_trainset.py failed"; exit 1; }
net=$tmp/tiny.net
cat > "$net" <<'NET'
name        shapes-tiny
description a small net for the training tests
input       3 28 28
preprocess  resize=none order=rgb scale=1 mean=0.5,0.5,0.5 std=0.25,0.25,0.25

conv     conv1   out=8 k=3 pad=1
relu     relu1
maxpool  pool1   k=2 s=2
conv     conv2   out=8 k=3 pad=1
relu     relu2
maxpool  pool2   k=2 s=2
flatten  flat    order=chw
dropout  drop    p=0.2
fc       fc1     out=5
softmax  prob
NET
train=("$prog" train --model "$net" --data "$tmp/data" --batch 8 --lr 0.01 --seed 7 --threads 2)

# A 3-class folder against a 5-output layer: --classes 3 is needed.
expect 1 'has 3 classes.*--classes 3' -- "${train[@]}" --out "$tmp/x.safetensors" --epochs 1
expect 1 '--classes 4: .* has 3 class folders' -- "${train[@]}" --classes 4 --out "$tmp/x.safetensors" --epochs 1

# The loss goes down, and the written spec loads the weights.
out=$("${train[@]}" --classes 3 --epochs 8 --out "$tmp/a.safetensors" 2>&1); rc=$?
[ "$rc" = 0 ] && ok || { bad "training: exit $rc"; printf '%s\n' "$out" | tail -5; }
first=$(printf '%s\n' "$out" | sed -n 's/^epoch 1\/8  train loss \([0-9.]*\).*/\1/p')
last=$(printf '%s\n' "$out" | sed -n 's/^epoch 8\/8  train loss \([0-9.]*\).*/\1/p')
awk -v a="$first" -v b="$last" 'BEGIN { exit !(a != "" && b != "" && b < 0.9 * a) }' && ok ||
  bad "train loss did not go down: epoch 1 $first, epoch 8 $last"
printf '%s\n' "$out" | grep -q 'last layer resized to the classes' && ok || bad "no note of the resized layer"
grep -q '^fc  *fc1  *out=3$' "$tmp/a.net" && grep -q '^labels  *a.labels.txt$' "$tmp/a.net" && ok || bad "a.net: fc1 not out=3 or no labels line"
[ "$(cat "$tmp/a.labels.txt")" = "$(printf 'circle\nsquare\ntriangle')" ] && ok || bad "a.labels.txt is not the class folders"
expect 0 'circle|square|triangle' -- "$prog" dump --model "$tmp/a.net" --weights "$tmp/a.safetensors" "$tmp/data/circle/000.ppm"

# safetensors tensors as numpy arrays (the format: u64 header length, JSON, data).
tensors_py='
import json, struct, sys
import numpy as np
def load(p):
    b = open(p, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    h = json.loads(b[8:8 + n])
    return {k: np.frombuffer(b[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]], "<f4")
            for k, v in h.items() if k != "__metadata__"}
'
# Frozen layers stay bit-identical; the trained one moves.
"${train[@]}" --classes 3 --epochs 3 --weights "$tmp/a.safetensors" --train-layers fc1 --out "$tmp/f.safetensors" \
  > "$tmp/f.log" 2>&1 && ok || { bad "frozen run failed"; tail -3 "$tmp/f.log"; }
grep -q 'conv1 (frozen) conv2 (frozen) fc1$' "$tmp/f.log" && ok || bad "the layer line does not show conv1, conv2 frozen"
"$py" -c "$tensors_py
a, f = load('$tmp/a.safetensors'), load('$tmp/f.safetensors')
same = all(np.array_equal(a[k], f[k]) for k in ('conv1.weight', 'conv1.bias', 'conv2.weight', 'conv2.bias'))
moved = not np.array_equal(a['fc1.weight'], f['fc1.weight'])
sys.exit(0 if same and moved else 1)" && ok || bad "frozen conv layers changed, or fc1 did not"

# Resume from an epoch's checkpoint: the same weights as 5 epochs in one go.
"${train[@]}" --classes 3 --epochs 5 --out "$tmp/u.safetensors" > /dev/null 2>&1 && ok || bad "uninterrupted run failed"
"${train[@]}" --classes 3 --epochs 2 --out "$tmp/r.safetensors" > /dev/null 2>&1 && ok || bad "first half failed"
expect 0 'resume +at epoch 3, batch 1' -- "${train[@]}" --classes 3 --epochs 5 --resume "$tmp/r.ckpt.safetensors" \
  --out "$tmp/r.safetensors"
cmp -s "$tmp/u.safetensors" "$tmp/r.safetensors" && ok || bad "resumed weights differ from the uninterrupted run's"
expect 1 'was made with --seed 7, not 8' -- "$prog" train --model "$net" --data "$tmp/data" --batch 8 --seed 8 \
  --classes 3 --resume "$tmp/r.ckpt.safetensors" --out "$tmp/x.safetensors"
expect 1 'not a training checkpoint' -- "${train[@]}" --classes 3 --resume "$tmp/u.safetensors" --out "$tmp/x.safetensors"

# A checkpoint's position values are checked before they index anything:
# negative, huge, NaN and past this run's end are refused naming the file
# (they crashed, overflowed or looped before). The data checksum is made
# good again, so that it is the range check that speaks.
craft_py='
import json, struct, sys, zlib
src, dst, e, s = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
b = bytearray(open(src, "rb").read())
n = struct.unpack("<Q", b[:8])[0]
h = json.loads(b[8:8 + n])
o = 8 + n + h["alexscope.train.position"]["data_offsets"][0]
b[o:o + 8] = struct.pack("<ff", e, s)
m = h["__metadata__"]
m["alexscope.data_crc32"] = "%08x" % zlib.crc32(bytes(b[8 + n:]))
j = json.dumps(h, separators=(",", ":")).encode()
j += b" " * (n - len(j))
assert len(j) == n
open(dst, "wb").write(b[:8] + j + b[8 + n:])
'
for pos in "-5 -7" "1e30 0" "nan 0" "0 1e9" "9 0" "1 2.5" "2 1e7"; do
  set -- $pos
  "$py" -c "$craft_py" "$tmp/r.ckpt.safetensors" "$tmp/bad.ckpt.safetensors" "$1" "$2" || bad "crafting a checkpoint failed"
  expect 1 "bad.ckpt.safetensors: damaged checkpoint" -- "${train[@]}" --classes 3 --epochs 5 \
    --resume "$tmp/bad.ckpt.safetensors" --out "$tmp/x.safetensors"
done

# A loss that becomes NaN or inf stops at once (exit 1, the epoch and batch
# named, a smaller --lr suggested) and writes no weights.
# Starting weights of 1e30 overflow the first batch's activations.
"$py" -c '
import json, struct, sys
t = {"conv1.weight": (8, 3, 3, 3), "conv1.bias": (8,), "conv2.weight": (8, 8, 3, 3), "conv2.bias": (8,),
     "fc1.weight": (5, 392), "fc1.bias": (5,)}
h, data, off = {}, b"", 0
for k, s in t.items():
    n = 1
    for d in s: n *= d
    h[k] = {"dtype": "F32", "shape": list(s), "data_offsets": [off, off + 4 * n]}
    data += struct.pack("<%df" % n, *([1e30] * n))
    off += 4 * n
j = json.dumps(h).encode()
open(sys.argv[1], "wb").write(struct.pack("<Q", len(j)) + j + data)
' "$tmp/huge.safetensors" || bad "writing huge.safetensors failed"
rm -f "$tmp/n.safetensors" "$tmp/n.ckpt.safetensors"
expect 1 'epoch 1, batch 1: the training loss became (NaN|infinite).*smaller --lr' -- "${train[@]}" --classes 3 \
  --epochs 2 --weights "$tmp/huge.safetensors" --out "$tmp/n.safetensors"
[ ! -e "$tmp/n.safetensors" ] && [ ! -e "$tmp/n.ckpt.safetensors" ] && ok || bad "a diverged run wrote weights"
ls -A "$tmp" | grep -q '^\.' && bad "a temporary was left behind: $(ls -a "$tmp" | grep '^\.[^.]')" || ok

# Ctrl-C mid-epoch: a checkpoint after the current batch, exit 130, and
# resuming it ends where an uninterrupted run of as many epochs ends.
"${train[@]}" --classes 3 --epochs 100000 --out "$tmp/c.safetensors" > "$tmp/c.log" 2>&1 &
pid=$!
for _ in $(seq 1 200); do [ -f "$tmp/c.ckpt.safetensors" ] && break; sleep 0.05; done
kill -INT "$pid"
wait "$pid"; rc=$?
[ "$rc" = 130 ] && ok || bad "Ctrl-C: exit $rc, expected 130"
line=$(grep '^stopped after batch' "$tmp/c.log")
e=$(printf '%s\n' "$line" | sed -n 's/^stopped after batch [0-9]* of epoch \([0-9]*\);.*/\1/p')
if [ -n "$e" ]; then
  ok
  n=$((e + 1))
  "${train[@]}" --classes 3 --epochs "$n" --resume "$tmp/c.ckpt.safetensors" --out "$tmp/c.safetensors" > /dev/null 2>&1 &&
    "${train[@]}" --classes 3 --epochs "$n" --out "$tmp/c2.safetensors" > /dev/null 2>&1 && ok || bad "Ctrl-C: resume runs failed"
  cmp -s "$tmp/c.safetensors" "$tmp/c2.safetensors" && ok || bad "Ctrl-C at epoch $e: resumed weights differ from $n uninterrupted epochs"
else
  bad "Ctrl-C: no 'stopped after batch' line"; tail -3 "$tmp/c.log"
fi

# Misuse.
expect 2 'needs --data DIR' -- "$prog" train --model "$net" --out "$tmp/x.safetensors"
expect 2 'no weighted layer .conv9.|no layer .conv9.' -- "${train[@]}" --classes 3 --reinit conv9 --out "$tmp/x.safetensors"
expect 2 '--epochs belongs to the train command, not to dump' -- "$prog" dump --epochs 3 "$tmp/data/circle/000.ppm"
expect 1 'not in --train-layers' -- "${train[@]}" --classes 3 --train-layers conv1 --out "$tmp/x.safetensors"
expect 1 'cannot write there' -- "${train[@]}" --classes 3 --out "$tmp/no/such/dir/x.safetensors"
expect 1 'no fully connected layer' -- "$prog" train --model tf-bench --data "$tmp/data" --out "$tmp/x.safetensors"
mkdir -p "$tmp/one/a" && cp "$tmp/data/circle/000.ppm" "$tmp/one/a/"
expect 1 'at least two' -- "$prog" train --model "$net" --data "$tmp/one" --out "$tmp/x.safetensors"

# No file it reads is written over: --out beside the spec with the spec's
# stem (mini.net is W.net of --out mini.safetensors), --out onto --weights,
# and a name for another format; all before the images load.
cp "$net" "$tmp/mini.net"
expect 1 'mini\.net: is a file train reads \(.*mini\.net\), so it would be written over' -- \
  "$prog" train --model "$tmp/mini.net" --data "$tmp/data" --classes 3 --out "$tmp/mini.safetensors"
cmp -s "$net" "$tmp/mini.net" && ok || bad "train rewrote the spec it was given"
[ ! -e "$tmp/mini.safetensors" ] && ok || bad "train wrote its output after refusing"
expect 1 'a\.safetensors: is a file train reads' -- \
  "${train[@]}" --classes 3 --weights "$tmp/a.safetensors" --out "$tmp/a.safetensors"
expect 2 'out\.npy: train writes safetensors files, and \.npy names another format' -- \
  "${train[@]}" --classes 3 --out "$tmp/out.npy"
out=$("${train[@]}" --classes 3 --out "$tmp/nodir/x.safetensors" 2>&1)
printf '%s\n' "$out" | grep -q '^data ' && bad "train loaded its images before finding the output folder missing" || ok

# Warnings: a step size that makes the loss grow, and frozen layers that were never loaded.
out=$("${train[@]}" --classes 3 --epochs 2 --lr 1 --out "$tmp/w.safetensors" 2>&1)
printf '%s\n' "$out" | grep -q 'warning: the training loss grew in the first epoch .*--lr 1 may be too large; try --lr 0\.33' &&
  ok || bad "no warning for a growing loss: $(printf '%s\n' "$out" | grep epoch)"
out=$("${train[@]}" --classes 3 --epochs 2 --out "$tmp/w.safetensors" 2>&1)
printf '%s\n' "$out" | grep -q 'warning' && bad "a healthy run warned: $out" || ok
out=$("${train[@]}" --classes 3 --epochs 1 --train-layers fc1 --out "$tmp/w.safetensors" 2>&1)
printf '%s\n' "$out" | grep -q 'warning: conv1, conv2 are frozen (not in --train-layers) but no --weights were given' &&
  ok || bad "no warning for frozen seeded layers: $out"

# The small AlexNet-shaped spec in the data folder trains in seconds.
"$py" "$src/samples/make_trainset.py" "$tmp/shapes56" 8 64 1 > /dev/null || bad "make_trainset.py 56"
expect 0 '^epoch 1/1 ' -- "$prog" train --model alexnet-mini --data "$tmp/shapes56" --epochs 1 --threads 2 \
  --out "$tmp/mini56.safetensors"

# An IDX pair (tests/make_idx.py: 28x28 grey, 5 classes) trains, plain and
# gzip'ed, to the same figures; each damaged file is refused by name.
"$py" "$src/tests/make_idx.py" "$tmp" || bad "make_idx.py failed"
idx=("$prog" train --model "$net" --batch 8 --lr 0.01 --seed 7 --threads 2 --epochs 2 --out "$tmp/i.safetensors")
out=$("${idx[@]}" --data "$tmp/set" 2>&1); rc=$?
printf '%s\n' "$out" | grep '^epoch'
[ $rc = 0 ] && printf '%s\n' "$out" | grep -q "IDX $tmp/set-images-idx3-ubyte + $tmp/set-labels-idx1-ubyte; 28x28 grey" &&
  ok || bad "the IDX pair did not train: $out"
acc=$(printf '%s\n' "$out" | sed -n 's/^epoch 2\/2 .*val loss [0-9.]* acc *\([0-9.]*\)%.*/\1/p')
awk -v a="${acc:-0}" 'BEGIN { exit !(a >= 60) }' && ok || bad "the IDX set's validation accuracy is ${acc:-none}%, chance 20%"
gz=$("${idx[@]}" --data "$tmp/gz-images-idx3-ubyte.gz" 2>&1 | grep '^epoch' | sed 's/  [0-9.]* images\/s//')
[ -n "$gz" ] && [ "$gz" = "$(printf '%s\n' "$out" | grep '^epoch' | sed 's/  [0-9.]* images\/s//')" ] &&
  ok || bad "the gzip'ed pair trained otherwise: $gz"
expect 1 "trunc-images-idx3-ubyte: truncated: the header declares 240 images" -- "${idx[@]}" --data "$tmp/trunc"
expect 1 "magic-images-idx3-ubyte: an IDX file of 4 dimensions" -- "${idx[@]}" --data "$tmp/magic"
expect 1 "range-labels-idx1-ubyte: label 7 of image 17 is out of range for 5 classes" -- "${idx[@]}" --data "$tmp/range"
expect 1 "count-labels-idx1-ubyte holds 239 labels, .*count-images-idx3-ubyte 240 images" -- "${idx[@]}" --data "$tmp/count"
expect 1 "trailing-images-idx3-ubyte: 3 bytes after the 240 images" -- "${idx[@]}" --data "$tmp/trailing"
expect 1 "rows-images-idx3-ubyte: the image rows is 0" -- "${idx[@]}" --data "$tmp/rows"
expect 1 "gztrunc-images-idx3-ubyte: the gzip stream ends early" -- "${idx[@]}" --data "$tmp/gztrunc"
expect 1 "nothere: neither a folder .* nor the prefix of an IDX pair" -- "${idx[@]}" --data "$tmp/nothere"
rm "$tmp/set-labels-idx1-ubyte"
expect 1 "an IDX pair needs $tmp/set-labels-idx1-ubyte\\[.gz\\] too" -- "${idx[@]}" --data "$tmp/set"

echo "train: $pass passed, $fail failed"
[ "$fail" = 0 ]
