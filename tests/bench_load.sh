#!/usr/bin/env bash
# Load speed and memory of full-size AlexNet weights (the caffe model, about
# 244 MB of float32; Darknet's own net for .weights) in every format alexscope
# reads. For each format it writes random weights with /usr/bin/python3 into
# a temporary folder, then prints the time to read the file once from a warm
# page cache (cat > /dev/null), the time ax_net_load_weights takes
# (alexscope convert --load-only), their ratio, and the peak RSS of the whole
# load (/usr/bin/time -v). Targets: load <= 1.5 x cat, peak RSS <= the
# weights' size + 100 MB. It also checks the loaded values bit for bit, and
# prints the floor under any loader that copies (tests/load_floor.c: the file
# read with pread into fresh memory, on one thread). A benchmark, not a test: it never fails on figures.
#
# usage: tests/bench_load.sh [FORMAT...]   (default: all; formats: safetensors
#        npy-dict npz pth-zip pth-legacy caffemodel darknet keras-h5)
# env:   AX_PROG (default ./alexscope), TMPDIR, RUNS (default 3)
set -u
src=$(cd "$(dirname "$0")/.." && pwd)
prog=${AX_PROG:-./alexscope}
[ -x "$prog" ] || prog="$src/alexscope"
[ -x "$prog" ] || { echo "bench_load: build alexscope first (or set AX_PROG)" >&2; exit 2; }
export ALEXSCOPE_DATA=${ALEXSCOPE_DATA:-$src/weights}
py=/usr/bin/python3
runs=${RUNS:-3}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ax_bench_load_XXXXXX")
trap 'rm -rf "$tmp"' EXIT
formats=("$@")
[ ${#formats[@]} -gt 0 ] || formats=(safetensors npy-dict npz pth-zip pth-legacy caffemodel darknet keras-h5)

cat > "$tmp/gen.py" <<'EOF'
"""Random full-size AlexNet weights in one format: gen.py FORMAT PATH."""
import struct, sys
import numpy as np

fmt, path = sys.argv[1], sys.argv[2]
rng = np.random.default_rng(7)

# bvlc AlexNet (weights/caffe.net): (name, OIHW or (out, in) weight shape, kind)
CAFFE = [("conv1", (96, 3, 11, 11), "conv"), ("conv2", (256, 48, 5, 5), "conv"),
         ("conv3", (384, 256, 3, 3), "conv"), ("conv4", (384, 192, 3, 3), "conv"),
         ("conv5", (256, 192, 3, 3), "conv"), ("fc6", (4096, 9216), "fc"),
         ("fc7", (4096, 4096), "fc"), ("fc8", (1000, 4096), "fc")]
# Darknet's cfg/alexnet.cfg (weights/darknet.net): no groups
DARKNET = [("conv1", (96, 3, 11, 11), "conv"), ("conv2", (256, 96, 5, 5), "conv"),
           ("conv3", (384, 256, 3, 3), "conv"), ("conv4", (384, 384, 3, 3), "conv"),
           ("conv5", (256, 384, 3, 3), "conv"), ("fc6", (4096, 9216), "fc"),
           ("fc7", (4096, 4096), "fc"), ("fc8", (1000, 4096), "fc")]


def tensors(net):
    for name, shape, kind in net:
        w = rng.standard_normal(shape, dtype=np.float32) * np.float32(0.01)
        b = rng.standard_normal(shape[0], dtype=np.float32) * np.float32(0.01)
        yield name, kind, w, b


def flat(net):
    out = {}
    for name, _, w, b in tensors(net):
        out[name + ".weight"], out[name + ".bias"] = w, b
    return out


def tf_layout(name, kind, w):
    if kind == "conv":
        return np.ascontiguousarray(w.transpose(2, 3, 1, 0))        # OIHW -> HWIO
    if name == "fc6":                                                # rows C,H,W -> H,W,C, then (in, out)
        return np.ascontiguousarray(w.reshape(4096, 256, 6, 6).transpose(2, 3, 1, 0).reshape(9216, 4096))
    return np.ascontiguousarray(w.T)


def safetensors(path, t):
    import json
    head, off = {}, 0
    for k, v in t.items():
        head[k] = {"dtype": "F32", "shape": list(v.shape), "data_offsets": [off, off + v.nbytes]}
        off += v.nbytes
    h = json.dumps(head).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h)
        for v in t.values():
            f.write(v.tobytes())


# protobuf wire format, by hand (V1 NetParameter as the 2014 bvlc file has it)
def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def key(field, wire):
    return varint(field << 3 | wire)


def ld(field, payload):
    return key(field, 2) + varint(len(payload)) + payload


def vi(field, n):
    return key(field, 0) + varint(n)


def f32(field, x):
    return key(field, 5) + struct.pack("<f", x)


def caffemodel(path):
    CONV, DROPOUT, FC, LRN, POOL, RELU, SOFTMAX = 4, 6, 14, 15, 17, 18, 20
    params = {"conv1": (11, 4, 0, 1), "conv2": (5, 1, 2, 2), "conv3": (3, 1, 1, 1),
              "conv4": (3, 1, 1, 2), "conv5": (3, 1, 1, 2)}
    weights = {name: (kind, w, b) for name, kind, w, b in tensors(CAFFE)}
    order = ["conv1", "relu1", "norm1", "pool1", "conv2", "relu2", "norm2", "pool2", "conv3", "relu3",
             "conv4", "relu4", "conv5", "relu5", "pool5", "fc6", "relu6", "drop6", "fc7", "relu7", "drop7",
             "fc8", "prob"]
    with open(path, "wb") as f:
        f.write(ld(1, b"AlexNet"))
        for name in order:
            body = ld(4, name.encode())
            if name in weights:
                kind, w, b = weights[name]
                if kind == "conv":
                    k, s, p, g = params[name]
                    conv = vi(1, w.shape[0]) + vi(4, k) + vi(6, s) + (vi(3, p) if p else b"") + (vi(5, g) if g > 1 else b"")
                    body += vi(5, CONV) + ld(10, conv)
                    dims = w.shape
                else:
                    body += vi(5, FC) + ld(17, vi(1, w.shape[0]))
                    dims = (1, 1) + w.shape
                for arr, d in ((w, dims), (b, (1, 1, 1, b.shape[0]))):
                    blob = vi(1, d[0]) + vi(2, d[1]) + vi(3, d[2]) + vi(4, d[3]) + ld(5, arr.tobytes())
                    body += ld(6, blob)
            elif name.startswith("relu"):
                body += vi(5, RELU)
            elif name.startswith("norm"):
                body += vi(5, LRN) + ld(18, vi(1, 5) + f32(2, 1e-4) + f32(3, 0.75) + f32(5, 1.0))
            elif name.startswith("pool"):
                body += vi(5, POOL) + ld(19, vi(1, 0) + vi(2, 3) + vi(3, 2))
            elif name.startswith("drop"):
                body += vi(5, DROPOUT)
            else:
                body += vi(5, SOFTMAX)
            f.write(ld(2, body))


def darknet(path):
    with open(path, "wb") as f:
        f.write(struct.pack("<iiiQ", 0, 2, 0, 0))        # version 0.2.0, 64-bit seen
        for _, _, w, b in tensors(DARKNET):
            f.write(b.tobytes())
            f.write(w.tobytes())


def keras_h5(path):
    import h5py
    names = ["conv2d", "conv2d_1", "conv2d_2", "conv2d_3", "conv2d_4", "dense", "dense_1", "dense_2"]
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = np.array([n.encode() for n in names])
        f.attrs["backend"] = b"tensorflow"
        f.attrs["keras_version"] = b"2.4.0"
        for kname, (name, kind, w, b) in zip(names, tensors(CAFFE)):
            g = f.create_group(kname)
            wn = [kname + "/kernel:0", kname + "/bias:0"]
            g.attrs["weight_names"] = np.array([x.encode() for x in wn])
            g.create_dataset(wn[0], data=tf_layout(name, kind, w))
            g.create_dataset(wn[1], data=b)


if fmt == "safetensors":
    safetensors(path, flat(CAFFE))
elif fmt == "npy-dict":
    # bvlc_alexnet.npy: np.save of a pickled {layer: [W, b]} dict in TensorFlow layouts
    d = {name: [tf_layout(name, kind, w), b] for name, kind, w, b in tensors(CAFFE)}
    np.save(path, np.array(d, dtype=object), allow_pickle=True)
elif fmt == "npz":
    np.savez(path, **flat(CAFFE))
elif fmt in ("pth-zip", "pth-legacy"):
    import collections, torch
    sd = collections.OrderedDict((k, torch.from_numpy(v)) for k, v in flat(CAFFE).items())
    torch.save(sd, path, _use_new_zipfile_serialization=(fmt == "pth-zip"))
elif fmt == "caffemodel":
    caffemodel(path)
elif fmt == "darknet":
    darknet(path)
elif fmt == "keras-h5":
    keras_h5(path)
elif fmt == "check":
    # check NET OUT.safetensors: what alexscope loaded (written back by
    # convert) equals the generated OIHW / (out, in) tensors, bit for bit
    import json
    blob = open(sys.argv[3], "rb").read()
    n = struct.unpack("<Q", blob[:8])[0]
    head, base = json.loads(blob[8:8 + n]), 8 + n
    bad = []
    for k, v in flat(DARKNET if path == "darknet" else CAFFE).items():
        m = head.get(k)
        got = None if m is None else np.frombuffer(
            blob[base + m["data_offsets"][0]:base + m["data_offsets"][1]], dtype=np.float32).reshape(m["shape"])
        if got is None or got.shape != v.shape or not np.array_equal(got, v):
            bad.append(k)
    print("equal" if not bad else "DIFFERENT: " + ", ".join(bad))
else:
    sys.exit("unknown format " + fmt)
EOF

now() { date +%s%N; }
ms_since() { echo $(( ($(now) - $1) / 1000000 )); }

# The floor under any loader that copies: tests/load_floor.c maps the file and
# copies it into a fresh huge-page block, as ax_net_load_weights does.
floor_prog=
if cc -O2 -o "$tmp/load_floor" "$src/tests/load_floor.c" 2>/dev/null; then floor_prog=$tmp/load_floor; fi
printf 'alexscope load benchmark: %s, %s runs each, best of runs; %s\n' "$("$prog" --version)" "$runs" "$(nproc) CPUs"
printf '%-12s %-7s %9s %9s %9s %6s %10s %10s  %s\n' format model "MB" "cat ms" "load ms" ratio "peak MB" "over wts" verdict
for fmt in "${formats[@]}"; do
  model=caffe ext=bin
  case $fmt in
    safetensors) ext=safetensors ;; npy-dict) ext=npy ;; npz) ext=npz ;; pth-*) ext=pth ;;
    caffemodel) ext=caffemodel ;; darknet) model=darknet ext=weights ;; keras-h5) ext=h5 ;;
  esac
  file=$tmp/alexnet.$fmt.$ext
  if ! gen_err=$("$py" "$tmp/gen.py" "$fmt" "$file" 2>&1); then
    printf '%-12s skipped: cannot write it here (%s)\n' "$fmt" "$(printf '%s' "$gen_err" | tail -1)"
    rm -f "$file"; continue
  fi
  mb=$(( $(stat -c %s "$file") / 1000000 ))
  cat "$file" > /dev/null
  best_cat=
  for _ in $(seq "$runs"); do
    t=$(now); cat "$file" > /dev/null; d=$(ms_since "$t")
    [ -z "$best_cat" ] || [ "$d" -lt "$best_cat" ] && best_cat=$d
  done
  best_load= err=
  for _ in $(seq "$runs"); do
    if ! out=$("$prog" convert --load-only --model "$model" "$file" 2>&1); then err=$out; break; fi
    d=$(printf '%s\n' "$out" | sed -n 's/^loaded .* in \([0-9.]*\) ms$/\1/p')
    d=${d%.*}
    [ -z "$best_load" ] || [ "$d" -lt "$best_load" ] && best_load=$d
  done
  if [ -n "$err" ]; then
    printf '%-12s %-7s %9s %9s  does not load: %s\n' "$fmt" "$model" "$mb" "$best_cat" "$(printf '%s' "$err" | tail -1)"
    rm -f "$file"; continue
  fi
  peak_kb=$(/usr/bin/time -v "$prog" convert --load-only --model "$model" "$file" 2>&1 >/dev/null |
            sed -n 's/^[[:space:]]*Maximum resident set size (kbytes): //p')
  wts_mb=$(printf '%s\n' "$out" | sed -n 's/^loaded .*(\([0-9.]*\) MB as float32).*/\1/p')
  wts_mb=${wts_mb%.*}
  peak_mb=$(( peak_kb / 1000 ))
  over=$(( peak_mb - wts_mb ))
  # the numbers too: loaded, written back, compared with the generated tensors
  values="values not checked"
  if "$prog" convert --model "$model" "$file" "$tmp/back.safetensors" >/dev/null 2>&1; then
    values="values $("$py" "$tmp/gen.py" check "$model" "$tmp/back.safetensors" 2>&1 | tail -1)"
  fi
  rm -f "$tmp/back.safetensors"
  ratio=$(awk -v l="$best_load" -v c="$best_cat" 'BEGIN { printf "%.2f", (c > 0 ? l / c : 0) }')
  verdict=""
  awk -v r="$ratio" 'BEGIN { exit !(r <= 1.5) }' && verdict="time ok" || verdict="time OVER 1.5x"
  [ "$over" -le 100 ] && verdict="$verdict, memory ok" || verdict="$verdict, memory OVER +100 MB"
  printf '%-12s %-7s %9s %9s %9s %6s %10s %10s  %s\n' "$fmt" "$model" "$mb" "$best_cat" "$best_load" "$ratio" \
    "$peak_mb" "+$over" "$verdict"
  printf '%-12s %s\n' "" "$(printf '%s\n' "$out" | grep '^memory')"
  printf '%-12s %s\n' "" "$values"
  if [ -n "$floor_prog" ] && fl=$("$floor_prog" "$file" "$runs"); then
    set -- $fl   # copy MS ms touch MS ms
    awk -v c="$2" -v t="$5" -v k="$best_cat" -v l="$best_load" 'BEGIN {
      printf "%-12s floor    read into fresh memory %.0f ms (%.2f x cat; its first touch alone %.0f ms): load = %.2f x floor\n",
             "", c, (k > 0 ? c / k : 0), t, (c > 0 ? l / c : 0) }'
  fi
  rm -f "$file"
done
echo "(floor: the file pread into a fresh 2 MB-aligned block on one thread, the least a one-thread loader into"
echo " memory of its own can do; the loader reads and turns large tensors on every core (--threads), each"
echo " thread faulting in its own part, so it can beat it; cat reuses one small buffer and pays no first touch)"
echo "(MB = 10^6 bytes; 'over wts' = peak RSS minus the net's float32 weights; cat and load are warm-cache)"
