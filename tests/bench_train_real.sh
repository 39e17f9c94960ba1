#!/usr/bin/env bash
# Fashion-MNIST trained by alexscope and by PyTorch on the same recipe:
# weights/fashion-mini.net, the same initial weights (PyTorch's default
# init, written to safetensors, loaded by train --weights), the same batches
# in the same order (train's seeded split and shuffles reproduced in
# Python), no augmentation, the same SGD (v = m v + g + wd w; w -= lr v).
# Dropout's masks come from each framework's own generator: the one part
# that differs. Prints per epoch the test accuracy and the seconds of the
# training steps for both. A benchmark, not a test: it is not in make check.
#
#   tests/bench_train_real.sh [BUILD_DIR]
#   env: NTRAIN (10000) NTEST (2000) EPOCHS (3) BATCH (32) LR (0.01) THREADS (1) SEED (0)
#        FMNIST (/usr/share/datasets/fashion-mnist)
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
export NTRAIN=${NTRAIN:-10000} NTEST=${NTEST:-2000} EPOCHS=${EPOCHS:-3} BATCH=${BATCH:-32} LR=${LR:-0.01}
export THREADS=${THREADS:-1} SEED=${SEED:-0} FMNIST=$fm
tmp=$(mktemp -d /tmp/ax_fmnist_XXXXXX)
trap 'rm -rf "$tmp"' EXIT
export TMPD=$tmp

cat > "$tmp/bench.py" <<'PY'
import gzip, os, struct, sys, time
import numpy as np, torch, torch.nn as nn
M = (1 << 64) - 1
E = os.environ
ntr, nte, seed, B = int(E['NTRAIN']), int(E['NTEST']), int(E['SEED']), int(E['BATCH'])
d = E['TMPD']
torch.set_num_threads(int(E['THREADS']))

def h64(x):                    # train.c's ax_hash64 (splitmix64)
    x = (x + 0x9E3779B97F4A7C15) & M
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & M
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & M
    return x ^ (x >> 31)

def shuffle(v, s):             # train.c's ax_shuffle
    for i in range(len(v) - 1, 0, -1):
        j = h64(s ^ ((i * 0xD1B54A32D192ED03) & M)) % (i + 1)
        v[i], v[j] = v[j], v[i]

def net():                     # weights/fashion-mini.net
    lrn = lambda: nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=1.0)
    return nn.Sequential(
        nn.Conv2d(3, 32, 5, padding=2), nn.ReLU(), lrn(), nn.MaxPool2d(3, 2),
        nn.Conv2d(32, 64, 3, padding=1, groups=2), nn.ReLU(), lrn(), nn.MaxPool2d(3, 2),
        nn.Conv2d(64, 96, 3, padding=1), nn.ReLU(),
        nn.Conv2d(96, 96, 3, padding=1, groups=2), nn.ReLU(),
        nn.Conv2d(96, 64, 3, padding=1, groups=2), nn.ReLU(), nn.MaxPool2d(3, 2),
        nn.Flatten(), nn.Dropout(0.5), nn.Linear(64 * 2 * 2, 256), nn.ReLU(),
        nn.Dropout(0.5), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10))

NAMES = ['conv1', 'conv2', 'conv3', 'conv4', 'conv5', 'fc6', 'fc7', 'fc8']

def weighted(m):
    return [l for l in m if isinstance(l, (nn.Conv2d, nn.Linear))]

def idx(name):
    p = os.path.join(E['FMNIST'], name)
    b = gzip.open(p + '.gz').read() if os.path.exists(p + '.gz') else open(p, 'rb').read()
    nd = b[3]
    dims = struct.unpack('>%dI' % nd, b[4:4 + 4 * nd])
    return np.frombuffer(b, np.uint8, offset=4 + 4 * nd).reshape(dims)

if sys.argv[1] == 'prep':
    xi, yi = idx('train-images-idx3-ubyte')[:ntr], idx('train-labels-idx1-ubyte')[:ntr]
    xt, yt = idx('t10k-images-idx3-ubyte')[:nte], idx('t10k-labels-idx1-ubyte')[:nte]
    n = ntr + nte
    perm = list(range(n)); shuffle(perm, seed ^ 0x5b117)
    x = np.zeros((n, 28, 28), np.uint8); y = np.zeros(n, np.uint8)
    x[perm[:nte]], y[perm[:nte]] = xt, yt          # train validates on perm[:nval]: the test images
    x[perm[nte:]], y[perm[nte:]] = xi, yi
    open(d + '/fashion-bench-images-idx3-ubyte', 'wb').write(struct.pack('>IIII', 0x803, n, 28, 28) + x.tobytes())
    open(d + '/fashion-bench-labels-idx1-ubyte', 'wb').write(struct.pack('>II', 0x801, n) + y.tobytes())
    torch.manual_seed(seed)
    m = net()
    hdr, blobs, off = {}, [], 0
    for name, l in zip(NAMES, weighted(m)):
        for part, t in (('weight', l.weight), ('bias', l.bias)):
            b = t.detach().contiguous().numpy().astype('<f4').tobytes()
            hdr[f'{name}.{part}'] = {'dtype': 'F32', 'shape': list(t.shape), 'data_offsets': [off, off + len(b)]}
            blobs.append(b); off += len(b)
    import json
    h = json.dumps(hdr).encode(); h += b' ' * (-len(h) % 8)
    open(d + '/init.safetensors', 'wb').write(struct.pack('<Q', len(h)) + h + b''.join(blobs))
    sys.exit(0)

# 'torch': the same run in PyTorch, from the same file (its dropout masks seeded: a rerun repeats)
torch.manual_seed(seed + 1)
import json
raw = open(d + '/init.safetensors', 'rb').read()
hl = struct.unpack('<Q', raw[:8])[0]; hdr = json.loads(raw[8:8 + hl])
m = net()
with torch.no_grad():
    for name, l in zip(NAMES, weighted(m)):
        for part, t in (('weight', l.weight), ('bias', l.bias)):
            e = hdr[f'{name}.{part}']; a, b = e['data_offsets']
            t.copy_(torch.from_numpy(np.frombuffer(raw, '<f4', count=(b - a) // 4, offset=8 + hl + a).reshape(e['shape']).copy()))
b = open(d + '/fashion-bench-images-idx3-ubyte', 'rb').read()
n = struct.unpack('>I', b[4:8])[0]
x8 = np.frombuffer(b, np.uint8, offset=16).reshape(n, 1, 28, 28)
y = torch.from_numpy(np.frombuffer(open(d + '/fashion-bench-labels-idx1-ubyte', 'rb').read(), np.uint8, offset=8).astype(np.int64))
# train.c's batch: (v * scale/255 - mean) / std in float32, the grey plane in 3 channels
xf = (x8.astype(np.float32) * np.float32(1 / 255.0) - np.float32(0.286)) * np.float32(1 / 0.353)
x = torch.from_numpy(np.repeat(xf, 3, axis=1))
nval = nte; ntrain = n - nval
perm = list(range(n)); shuffle(perm, seed ^ 0x5b117)
opt = torch.optim.SGD(m.parameters(), lr=float(E['LR']), momentum=0.9, weight_decay=5e-4)
lossf = nn.CrossEntropyLoss()
test = torch.tensor(perm[:nval])
for e in range(int(E['EPOCHS'])):
    order = perm[nval:]; shuffle(order, h64(seed ^ ((e + 1) << 32)))
    order = torch.tensor(order)
    m.train(); t0 = time.perf_counter()
    for s in range(ntrain // B):
        i = order[s * B:(s + 1) * B]
        opt.zero_grad(); loss = lossf(m(x[i]), y[i]); loss.backward(); opt.step()
    secs = time.perf_counter() - t0
    m.eval(); ok = 0
    with torch.no_grad():
        for v in range(0, nval, 500):
            i = test[v:v + 500]; ok += int((m(x[i]).argmax(1) == y[i]).sum())
    print(f'torch {e + 1} {100.0 * ok / nval:.2f} {secs:.2f}', flush=True)
PY
"$py" "$tmp/bench.py" prep
vs=$("$py" -c "import os; print(repr(int(os.environ['NTEST']) / (int(os.environ['NTRAIN']) + int(os.environ['NTEST']))))")
echo "Fashion-MNIST: $NTRAIN training images, $NTEST test images, $EPOCHS epochs, batch $BATCH, lr $LR, momentum 0.9," \
     "weight decay 5e-4, no augmentation, $THREADS thread(s), seed $SEED"
"$prog" train --model "$src/weights/fashion-mini.net" --data "$tmp/fashion-bench" --weights "$tmp/init.safetensors" \
  --epochs "$EPOCHS" --batch "$BATCH" --lr "$LR" --momentum 0.9 --weight-decay 5e-4 --seed "$SEED" \
  --val-split "$vs" --no-augment --threads "$THREADS" --out "$tmp/out.safetensors" > "$tmp/ax.txt"
grep -q "validate $NTEST;" "$tmp/ax.txt" || { echo "bench_train_real: train's split is not the test set:" >&2; cat "$tmp/ax.txt" >&2; exit 1; }
# seconds of the training steps: the images it stepped over / its images/s
steps=$((NTRAIN / BATCH * BATCH))
sed -n "s/^epoch \([0-9]*\)\/.* val loss [0-9.]* acc *\([0-9.]*\)%  \([0-9.]*\) images\/s/ax \1 \2 \3/p" "$tmp/ax.txt" |
  awk -v s="$steps" '{ printf "ax %d %s %.2f\n", $2, $3, s / $4 }' > "$tmp/ax.rows"
"$py" "$tmp/bench.py" torch > "$tmp/torch.rows"
printf '\n| epoch | alexscope test acc %% | alexscope s/epoch | PyTorch test acc %% | PyTorch s/epoch |\n'
printf '| --- | --- | --- | --- | --- |\n'
join <(awk '{ print $2, $3, $4 }' "$tmp/ax.rows") <(awk '{ print $2, $3, $4 }' "$tmp/torch.rows") |
  awk '{ printf "| %d | %.2f | %.2f | %.2f | %.2f |\n", $1, $2, $3, $4, $5 }'
