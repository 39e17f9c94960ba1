#!/usr/bin/env bash
# `alexscope maxact`: its ranking against per-image activations saved by
# `dump --save-activations` (maxima, peaks and order recomputed here with
# numpy), --save's PNGs (valid files, the receptive field's size, the pixels
# of the input dump saw), and a clear message for each mistake. A folder of
# the samples, an exact copy (a tie) and synthetic pictures, on the small
# alexnet-mini model, plus one caffe run: seconds.
set -u
. "$(dirname "$0")/lib.sh"
expect_tail=6
py=/usr/bin/python3
tmp=$(mktemp -d /tmp/ax_maxact_XXXXXX)
trap 'rm -rf "$tmp"' EXIT
mini=alexnet-mini

mkdir -p "$tmp/imgs" "$tmp/empty" "$tmp/broken" "$tmp/acts"
cp "$src"/samples/*.png "$src"/samples/*.jpg "$tmp/imgs/"
cp "$src/samples/chelsea.png" "$tmp/imgs/zz-chelsea-copy.png"   # the same values as chelsea: a tie
# synthetic pictures as binary PPM: noise, a ramp, a checkerboard
$py - "$tmp/imgs" <<'PY'
import sys, numpy as np
d = sys.argv[1]
rng = np.random.default_rng(7)
pics = {
    "noise.ppm": rng.integers(0, 256, (70, 90, 3), dtype=np.uint8),
    "ramp.ppm": np.stack([np.tile(np.linspace(0, 255, 80, dtype=np.uint8), (60, 1))] * 3, -1),
    "checks.ppm": ((np.indices((64, 64)).sum(0) // 8 % 2) * 255).astype(np.uint8)[..., None].repeat(3, -1),
}
for name, a in pics.items():
    with open(f"{d}/{name}", "wb") as f:
        f.write(b"P6\n%d %d\n255\n" % (a.shape[1], a.shape[0]) + a.tobytes())
PY
cp "$src/samples/rocket.jpg" "$tmp/broken/a-good.jpg"
printf 'not a picture' > "$tmp/broken/b-bad.png"

# per-image activations, one dump each, in the folder's name order
i=0
for f in $(ls "$tmp/imgs" | LC_ALL=C sort); do
  "$prog" dump -m $mini --save-activations "$tmp/acts/$i" "$tmp/imgs/$f" > /dev/null 2>&1 || bad "dump $f failed"
  echo "$f" >> "$tmp/order"
  i=$((i + 1))
done

# check LAYER JSON [TOL]: maxact's lists equal those recomputed from the saved activations
check() {
  $py - "$tmp" "$1" "$2" "${3:-0}" <<'PY'
import json, sys, numpy as np
tmp, layer, path, tol = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
names = open(f"{tmp}/order").read().split()
d = json.load(open(path))
assert d["command"] == "maxact" and d["layer"]["name"] == layer, d["layer"]
assert d["images"]["ranked"] == len(names), d["images"]
k = d["top"]
acts = [np.load(f"{tmp}/acts/{i}/{layer}.npy")[0] for i in range(len(names))]
for ch in d["channels"]:
    c = ch["channel"]
    want = []
    for i, a in enumerate(acts):
        m = a[c].reshape(-1) if a.ndim == 3 else a[c:c + 1]
        j = int(np.argmax(m))   # the first of equal maxima, in row order
        w = a.shape[2] if a.ndim == 3 else 1
        want.append((-float(m[j]), i, j // w, j % w))   # float32 values, exact as doubles
    want.sort()                 # larger first, then the image first in name order
    want = want[:k]
    got = ch["top"]
    assert len(got) == len(want), (c, len(got), len(want))
    for r, (g, (v, i, y, x)) in enumerate(zip(got, want)):
        ok = g["rank"] == r + 1 and g["image"].endswith("/" + names[i]) and (g["y"], g["x"]) == (y, x)
        # JSON's 15 digits give a float32 back exactly
        ok = ok and (np.float32(g["value"]) == np.float32(-v) if tol == 0 else abs(g["value"] + v) <= tol * max(1.0, abs(v)))
        assert ok, ("channel", c, "rank", r + 1, "got", g, "want", names[i], -v, y, x)
print("ok", len(d["channels"]), "channels")
PY
}

"$prog" maxact -m $mini --layer relu2 --top 4 --format json "$tmp/imgs" > "$tmp/relu2.json" 2> "$tmp/err" &&
  check relu2 "$tmp/relu2.json" > /dev/null && ok || { bad "maxact relu2 does not rank as the saved activations do"; tail -5 "$tmp/err"; }
# the tie: chelsea and its copy have the same value wherever either is listed, chelsea first
$py - "$tmp/relu2.json" <<'PY' && ok || bad "the copy of chelsea does not tie with it, chelsea first"
import json, sys
d = json.load(open(sys.argv[1]))
seen = 0
for ch in d["channels"]:
    names = [t["image"].rsplit("/", 1)[1] for t in ch["top"]]
    if "chelsea.png" in names and "zz-chelsea-copy.png" in names:
        a, b = names.index("chelsea.png"), names.index("zz-chelsea-copy.png")
        assert b == a + 1 and ch["top"][a]["value"] == ch["top"][b]["value"], ch
        seen += 1
assert seen > 0
PY
# every image kept (K above the image count), a fully connected layer (one value per image), channels A-B
"$prog" maxact -m $mini --layer fc6 --channels 3-9 --top 50 --format json "$tmp/imgs" > "$tmp/fc6.json" 2> "$tmp/err" &&
  check fc6 "$tmp/fc6.json" > /dev/null && ok || { bad "maxact fc6 --top 50 does not rank as the saved activations do"; tail -5 "$tmp/err"; }
$py -c 'import json,sys; d=json.load(open(sys.argv[1])); assert [c["channel"] for c in d["channels"]] == list(range(3, 10)); assert all(len(c["top"]) == 8 for c in d["channels"])' "$tmp/fc6.json" &&
  ok || bad "--channels 3-9 --top 50 on 8 images: not channels 3..9 with 8 entries each"
# batches of 3 (a short last one) and one decoding thread rank the same
"$prog" maxact -m $mini --layer conv1 --top 3 --batch 3 --threads 1 --format json "$tmp/imgs" > "$tmp/conv1.json" 2> "$tmp/err" &&
  check conv1 "$tmp/conv1.json" 1e-5 > /dev/null && ok || { bad "maxact --batch 3 --threads 1 ranks otherwise"; tail -5 "$tmp/err"; }

# the text: a row per channel and rank, the speed on stderr
expect 0 '^ +5 +1 +[0-9.]+ +\([0-9]+, [0-9]+\) +[a-z-]+\.(png|jpg|ppm)$' -- "$prog" maxact -m $mini --layer relu2 --channel 5 "$tmp/imgs"
expect 0 '^layer +relu2: 64 channels of 13x13, receptive field 17x17 pixels, 4 apart' -- "$prog" maxact -m $mini --layer relu2 --channel 5 "$tmp/imgs"
expect 0 'maxact: 8 images in [0-9.]+ s: [0-9.]+ images/s' -- "$prog" maxact -m $mini --layer relu2 --channel 5 "$tmp/imgs"

# --save: valid PNGs of the receptive field's size (relu2: 17x17 at stride 4 from -6, clipped to the
# 56x56 input), cut from the input dump saw; one contact sheet per channel
"$prog" maxact -m $mini --layer relu2 --channels 0-2 --top 3 --save "$tmp/crops" --format json "$tmp/imgs" > "$tmp/save.json" 2> "$tmp/err" ||
  { bad "maxact --save failed"; tail -5 "$tmp/err"; }
$py - "$tmp" <<'PY' && ok || bad "--save: the PNGs are not the receptive-field crops of the input"
import json, struct, sys, zlib, numpy as np
tmp = sys.argv[1]
names = open(f"{tmp}/order").read().split()

def png(path):
    b = open(path, "rb").read()
    assert b[:8] == b"\x89PNG\r\n\x1a\n", path
    p, idat, ihdr = 8, b"", None
    while p < len(b):
        n, = struct.unpack(">I", b[p:p + 4]); t = b[p + 4:p + 8]; data = b[p + 8:p + 8 + n]
        crc, = struct.unpack(">I", b[p + 8 + n:p + 12 + n])
        assert zlib.crc32(t + data) == crc, (path, t)
        if t == b"IHDR": ihdr = struct.unpack(">IIBBBBB", data)
        if t == b"IDAT": idat += data
        p += 12 + n
        if t == b"IEND": break
    assert p == len(b) and ihdr is not None, path
    w, h, depth, colour, _, _, interlace = ihdr
    assert depth == 8 and colour == 2 and interlace == 0, ihdr
    raw = zlib.decompress(idat)
    assert len(raw) == h * (3 * w + 1), path
    rows = [raw[y * (3 * w + 1):(y + 1) * (3 * w + 1)] for y in range(h)]
    assert all(r[0] == 0 for r in rows)
    return np.frombuffer(b"".join(r[1:] for r in rows), np.uint8).reshape(h, w, 3)

d = json.load(open(f"{tmp}/save.json"))
for ch in d["channels"]:
    c = ch["channel"]
    crops = []
    for t in ch["top"]:
        path = t["crop"]
        assert path == f"{tmp}/crops/relu2-c{c:04d}-{t['rank']}.png", path
        im = png(path)
        y0, x0 = max(0, -6 + 4 * t["y"]), max(0, -6 + 4 * t["x"])
        y1, x1 = min(55, -6 + 4 * t["y"] + 16), min(55, -6 + 4 * t["x"] + 16)
        assert im.shape == (y1 - y0 + 1, x1 - x0 + 1, 3), (path, im.shape, t)
        assert t["box"] == [y0, x0, y1, x1], t
        # the input as dump saved it: RGB, (x * 0.25 + 0.5) * 255
        i = names.index(t["image"].rsplit("/", 1)[1])
        x = np.load(f"{tmp}/acts/{i}/input.npy")[0]
        want = np.clip(np.floor((x * 0.25 + 0.5) * 255 + 0.5), 0, 255).astype(np.uint8).transpose(1, 2, 0)
        assert np.abs(im.astype(int) - want[y0:y1 + 1, x0:x1 + 1].astype(int)).max() <= 1, path
        crops.append(im.shape)
    sheet = png(ch["sheet"])
    assert ch["sheet"] == f"{tmp}/crops/relu2-c{c:04d}-sheet.png"
    cw, chh = max(s[1] for s in crops), max(s[0] for s in crops)
    assert sheet.shape == (chh + 4, len(crops) * cw + (len(crops) + 1) * 2, 3), sheet.shape
PY
expect 0 '^wrote 3 crops and 1 contact sheet to ' -- "$prog" maxact -m $mini --layer relu2 --channel 1 --top 3 --save "$tmp/crops2" "$tmp/imgs"
[ -f "$tmp/crops2/relu2-c0001-3.png" ] && [ -f "$tmp/crops2/relu2-c0001-sheet.png" ] && ok || bad "--save: crops2 lacks its files"

# the default model on the samples: conv1's 11x11 crops, the input of caffe's preprocessing
"$prog" maxact --layer conv1 --channel 7 --top 2 --save "$tmp/caffe" --format json "$src/samples" > "$tmp/caffe.json" 2> "$tmp/err" &&
  $py -c 'import json,sys; d=json.load(open(sys.argv[1])); t=d["channels"][0]["top"]; assert len(t)==2 and all(x["box"][2]-x["box"][0]==10 and x["box"][3]-x["box"][1]==10 for x in t), t' "$tmp/caffe.json" &&
  [ -s "$tmp/caffe/conv1-c0007-1.png" ] && ok || { bad "maxact on caffe conv1 with --save"; tail -5 "$tmp/err"; }

# a folder typed with its slash names its files once
expect 0 "^images +4 of 4 in $src/samples\$" -- "$prog" maxact -m $mini --layer conv1 --channel 0 "$src/samples/"

# bench --ui times the Top images view (with the Saliency and Diff views) once their background work is done
"$prog" bench --ui -m $mini "$src/samples/chelsea.png" > "$tmp/bench" 2>&1 || { bad "bench --ui failed"; tail -5 "$tmp/bench"; }
for v in "top images +conv3" "saliency +input" "diff +conv1"; do
  [ "$(grep -c -E "^  $v +\| +[0-9.]+ +[0-9.]+ +[0-9.]+ \|" "$tmp/bench")" = 2 ] && ok || bad "bench --ui: no row /$v/ at both sizes"
done

# mistakes
expect 2 "has no such layer; its layers: conv1 relu1" -- "$prog" maxact -m $mini --layer conv9 "$tmp/imgs"
expect 2 "--channel 64: 'relu2' has channels 0\.\.63" -- "$prog" maxact -m $mini --layer relu2 --channel 64 "$tmp/imgs"
expect 2 "--channels 9-70: 'relu2' has channels 0\.\.63" -- "$prog" maxact -m $mini --layer relu2 --channels 9-70 "$tmp/imgs"
expect 2 "--channels 5-2: expected A-B" -- "$prog" maxact -m $mini --layer relu2 --channels 5-2 "$tmp/imgs"
expect 2 "not both" -- "$prog" maxact -m $mini --layer relu2 --channel 1 --channels 1-2 "$tmp/imgs"
expect 2 "give --layer L" -- "$prog" maxact -m $mini "$tmp/imgs"
expect 2 "not a folder" -- "$prog" maxact -m $mini --layer relu2 "$src/samples/chelsea.png"
expect 2 "--top 0: expected a whole number" -- "$prog" maxact -m $mini --layer relu2 --top 0 "$tmp/imgs"
expect 1 "empty: no images \(png, jpg" -- "$prog" maxact -m $mini --layer relu2 "$tmp/empty"
expect 1 "exists and is not a folder" -- "$prog" maxact -m $mini --layer relu2 --save "$tmp/order" "$tmp/imgs"
# an unreadable image is skipped with its name; the rest are ranked
expect 0 "note: skipped, not an image it can read: .*b-bad\.png" -- "$prog" maxact -m $mini --layer relu2 --channel 0 "$tmp/broken"
expect 0 "^images +1 of 2 in .*\(the others skipped, see above\)" -- "$prog" maxact -m $mini --layer relu2 --channel 0 "$tmp/broken"
rm "$tmp/broken/a-good.jpg"
expect 1 "none of the 1 images could be read" -- "$prog" maxact -m $mini --layer relu2 "$tmp/broken"

echo "maxact: $pass passed, $fail failed"
[ "$fail" = 0 ]
