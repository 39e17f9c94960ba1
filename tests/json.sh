#!/usr/bin/env bash
# --format json of dump and inspect against their own text on the reference
# fixtures: every layer's figures, the top-k against the saved activations
# and the reference top-5, notes on stderr and in the document, non-finite
# figures as null, every tensor and every model verdict of inspect; and the
# usage errors. Documents are parsed strictly (no NaN or Infinity tokens).
set -u
. "$(dirname "$0")/lib.sh"
py=/usr/bin/python3
[ -x "$py" ] || { echo "SKIP: $py not found"; exit 77; }
fx=${AX_FIXTURES:-$src/tests/fixtures}
ref=$fx/ref
tmp=$(mktemp -d /tmp/ax_json_XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# check NAME -- python code reading the files named after it (sys.argv[1:]):
# it prints what disagrees and exits non-zero then.
check() {
  local name=$1; shift 2
  local out
  if out=$("$py" -c "$PYLIB$1" "${@:2}" 2>&1); then ok; else bad "$name"; printf '%s\n' "$out" | tail -12; fi
}
PYLIB='
import json, re, sys
def strict(path):
    def no(c): raise ValueError("non-JSON token " + c)
    with open(path, "rb") as f:
        return json.loads(f.read().decode("utf-8"), parse_constant=no)
def g4(v): return "-" if v is None else "%.4g" % v
errs = []
def want(cond, what):
    if not cond: errs.append(what)
def done():
    for e in errs[:12]: print(e)
    sys.exit(1 if errs else 0)
'

# ---- dump ----------------------------------------------------------------
# a batch of two through the reduced caffe net, with every activation saved
"$prog" dump --model "$ref/caffe-tiny.net" --weights "$ref/caffe-tiny.safetensors" --input "$ref/caffe-tiny.input.npy" \
  > "$tmp/d.txt" 2> "$tmp/d.err"
"$prog" dump --format json --model "$ref/caffe-tiny.net" --weights "$ref/caffe-tiny.safetensors" \
  --input "$ref/caffe-tiny.input.npy" --save-activations "$tmp/acts" > "$tmp/d.json" 2> "$tmp/d.jerr"
echo $? > "$tmp/d.rc"
check "dump json: the rows, head and top-k of the text, the saved outputs, the reference top-5" -- '
import numpy as np
d = strict(sys.argv[1]); text = open(sys.argv[2]).read().splitlines()
want(open(sys.argv[5]).read().strip() == "0", "exit status " + open(sys.argv[5]).read().strip())
want(d["command"] == "dump" and d["model"]["name"] == "caffe-tiny", "model %r" % d["model"])
want(d["weights"] == sys.argv[3] + "/caffe-tiny.safetensors" and d["untrained"] is False, "weights %r" % d["weights"])
want(d["input"] == {"path": sys.argv[3] + "/caffe-tiny.input.npy", "kind": "tensor", "shape": [2, 3, 227, 227]}, "input %r" % d["input"])
head = {l.split()[0]: l.split(None, 1)[1] for l in text[:4]}
want(head["device"] == d["device"], "device %r vs %r" % (d["device"], head["device"]))
rows = [l.split() for l in text if re.match(r"^ *\d+  \S", l)]
want(len(rows) == len(d["layers"]) == 23, "%d text rows, %d JSON layers" % (len(rows), len(d["layers"])))
for r, L in zip(rows, d["layers"]):
    shape = "(" + ", ".join(str(x) for x in L["shape"]) + ")"
    got = [str(L["index"]), L["name"], L["type"], shape, g4(L["min"]), g4(L["mean"]), g4(L["max"]), g4(L["std"]), "%.1f%%" % L["zeros_percent"]]
    txt = r[:3] + [" ".join(r[3:3 + len(L["shape"])])] + r[3 + len(L["shape"]):3 + len(L["shape"]) + 5]
    want(got == txt, "row %s: JSON %s, text %s" % (r[0], got, txt))
    want(L["nonfinite"] == 0 and L["error"] is None and L["ms"] >= 0, "layer %s: %r" % (L["name"], L))
    # the figures are those of the very output written to acts/
    a = np.load(sys.argv[4] + "/" + L["name"] + ".npy").astype(np.float64)
    want(list(a.shape) == L["shape"], "%s: saved shape %s" % (L["name"], a.shape))
    for k, v in (("min", a.min()), ("max", a.max()), ("mean", a.mean()), ("std", a.std())):
        want(abs(L[k] - v) <= 1e-5 * max(1.0, abs(v)) + 1e-4 * a.std(), "%s %s: JSON %r, numpy %r" % (L["name"], k, L[k], v))
want(abs(d["total_ms"] - sum(L["ms"] for L in d["layers"])) < 1e-9, "total_ms")
want(d["device_time"] is None and d["notes"] == [], "device_time %r notes %r" % (d["device_time"], d["notes"]))
want(d["saved"] == {"dir": sys.argv[4], "activations": 23, "input": True}, "saved %r" % d["saved"])
tk = d["topk"]
want(tk["kind"] == "probability" and tk["k"] == 5 and tk["layer"] == "prob" and len(tk["images"]) == 2, "topk head %r" % {k: tk[k] for k in ("kind", "k", "layer")})
ranks = [l.split(None, 2) for l in text if re.match(r"^ +\d+\. ", l)]
fc8 = np.load(sys.argv[4] + "/fc8.npy"); prob = np.load(sys.argv[4] + "/prob.npy")
top5 = [l.split() for l in open(sys.argv[3] + "/caffe-tiny.top5.txt")]
for img in tk["images"]:
    b = img["image"]
    want([c["class"] for c in img["classes"]] == [int(x) for x in top5[b]], "image %d: top-5 %s, reference %s" % (b, [c["class"] for c in img["classes"]], top5[b]))
    for c in img["classes"]:
        r = ranks[5 * b + c["rank"] - 1]
        label, p = r[2].rsplit(None, 1)
        want([r[0], r[1], label, p] == ["%d." % c["rank"], str(c["class"]), c["label"], "%#.4g" % c["probability"]], "image %d rank %d: JSON %r, text %r" % (b, c["rank"], c, r))
        want(np.float32(c["logit"]) == fc8[b, c["class"]] and np.float32(c["probability"]) == prob[b, c["class"]], "image %d class %d: logit/probability differ from fc8.npy/prob.npy" % (b, c["class"]))
done()' "$tmp/d.json" "$tmp/d.txt" "$ref" "$tmp/acts" "$tmp/d.rc"
# the files are written as without --format json
expect 0 '' -- test -f "$tmp/acts/input.npy" -a -f "$tmp/acts/conv1.npy" -a -f "$tmp/acts/prob.npy"
expect 0 '' -- test ! -s "$tmp/d.jerr"

# Loading's notes go to stderr, as in the text, and into "notes"; stdout holds
# the document only. An image as input; the untrained note; no classifier.
"$prog" dump --format json --model "$ref/caffe-tiny.net" --weights "$ref/caffe-tiny.bvlc.npy" --input "$ref/caffe-tiny.input.npy" -k 3 \
  > "$tmp/n.json" 2> "$tmp/n.err"
"$prog" dump --model "$ref/caffe-tiny.net" --weights "$ref/caffe-tiny.bvlc.npy" --input "$ref/caffe-tiny.input.npy" -k 3 \
  > "$tmp/n.txt" 2> "$tmp/n.terr"
"$prog" dump --format json --model "$ref/caffe-tiny.net" samples/chelsea.png > "$tmp/u.json" 2>&1
"$prog" dump --model "$ref/caffe-tiny.net" samples/chelsea.png > "$tmp/u.txt" 2>&1
"$prog" dump --format json --model "$ref/tf-bench-tiny.net" --input "$ref/tf-bench-tiny.input.npy" > "$tmp/t.json" 2>/dev/null
"$prog" dump --model "$ref/tf-bench-tiny.net" --input "$ref/tf-bench-tiny.input.npy" > "$tmp/t.txt" 2>/dev/null
check "dump json: notes, an image input, untrained weights, a net without a classifier" -- '
n = strict(sys.argv[1]); err = open(sys.argv[2]).read().splitlines(); terr = open(sys.argv[3]).read().splitlines()
want(err == terr and len(err) == 1 and err[0].startswith("alexscope: note: "), "stderr %r vs text run %r" % (err, terr))
want(n["notes"] == [l[len("alexscope: "):] for l in err], "notes %r" % n["notes"])
want([len(i["classes"]) for i in n["topk"]["images"]] == [3, 3], "-k 3: %r" % n["topk"])
text = open(sys.argv[4]).read().splitlines()
first = [l.split()[1] for l in text if re.match(r"^ +1\. ", l)]
want([str(i["classes"][0]["class"]) for i in n["topk"]["images"]] == first, "first ranks %r vs text %r" % ([i["classes"][0] for i in n["topk"]["images"]], first))
u = strict(sys.argv[5]); ut = open(sys.argv[6]).read()
want(u["weights"] == "UNTRAINED" and u["untrained"] is True and "weights  UNTRAINED seeded weights" in ut, "untrained weights %r" % u["weights"])
want(u["input"] == {"path": "samples/chelsea.png", "kind": "image", "shape": [1, 3, 227, 227]}, "input %r" % u["input"])
want(u["notes"] == ["UNTRAINED seeded weights: these classes mean nothing"] and "(UNTRAINED seeded weights: these classes mean nothing)" in ut, "notes %r" % u["notes"])
want(len(u["topk"]["images"]) == 1, "one image: %r" % u["topk"])
t = strict(sys.argv[7]); tt = open(sys.argv[8]).read().splitlines()
line = [l for l in tt if l.startswith("no top-k")]
want(t["topk"] is None and len(line) == 1 and t["notes"] == line, "no classifier: %r %r" % (t["topk"], t["notes"]))
want(t["layers"][-1]["name"] == "pool5", "last layer %r" % t["layers"][-1]["name"])
done()' "$tmp/n.json" "$tmp/n.err" "$tmp/n.terr" "$tmp/n.txt" "$tmp/u.json" "$tmp/u.txt" "$tmp/t.json" "$tmp/t.txt"

# NaN in the input: the figures of what is left finite, null where nothing
# is, and never a NaN token; the same layers as the text's NON-FINITE rows
"$py" -c '
import numpy as np, sys
x = np.load(sys.argv[1])[:1].copy(); x[0, 0, 100, 100] = np.nan; np.save(sys.argv[2], x)' "$ref/caffe-tiny.input.npy" "$tmp/nan.npy"
"$prog" dump --format json --model "$ref/caffe-tiny.net" --weights "$ref/caffe-tiny.safetensors" --input "$tmp/nan.npy" > "$tmp/nan.json" 2>/dev/null
"$prog" dump --model "$ref/caffe-tiny.net" --weights "$ref/caffe-tiny.safetensors" --input "$tmp/nan.npy" > "$tmp/nan.txt" 2>/dev/null
check "dump json: non-finite outputs" -- '
d = strict(sys.argv[1]); text = open(sys.argv[2]).read().splitlines()
flagged = [l.split()[1] for l in text if l.endswith("NON-FINITE VALUES")]
want(flagged and [L["name"] for L in d["layers"] if L["nonfinite"]] == flagged, "non-finite layers %r vs text %r" % ([L["name"] for L in d["layers"] if L["nonfinite"]], flagged))
want(d["layers"][0]["nonfinite"] > 0 and d["layers"][0]["max"] is not None, "conv1: %r" % d["layers"][0])
allnan = [L for L in d["layers"] if L["name"] == "prob"][0]
want(allnan["nonfinite"] == 100 and allnan["min"] is None and allnan["std"] is None and allnan["zeros_percent"] is None, "prob: %r" % allnan)
done()' "$tmp/nan.json" "$tmp/nan.txt"

# an error leaves stdout empty; a --format other than text or json is bad usage
"$prog" dump --format json --model "$ref/caffe-tiny.net" --weights "$tmp/none.safetensors" samples/chelsea.png > "$tmp/e.out" 2> "$tmp/e.err"
rc=$?
if [ $rc = 1 ] && [ ! -s "$tmp/e.out" ] && grep -q '^alexscope: .*none.safetensors' "$tmp/e.err"; then ok; else bad "dump json with a missing weights file: exit $rc, stdout $(wc -c < "$tmp/e.out") bytes"; fi
expect 2 '^alexscope: --format yaml: expected text or json$' -- "$prog" dump --format yaml samples/chelsea.png
expect 2 '^alexscope: --format JSON: expected text or json$' -- "$prog" inspect --format JSON "$ref/caffe-tiny.safetensors"
expect 2 'no JSON form' -- "$prog" inspect --spec --format json "$fx/caffe/v2_shape.caffemodel"
expect 0 '^ +--format text\|json +output format' -- "$prog" dump --help
expect 0 '^ +--format text\|json +output format' -- "$prog" inspect --help
expect 0 '^model +caffe-tiny' -- "$prog" dump --format text --model "$ref/caffe-tiny.net" samples/chelsea.png

# ---- inspect ---------------------------------------------------------------
# inspect_agree TEXT JSON: the document says what the text says, line by line.
INSPECT='
d = strict(sys.argv[1]); text = open(sys.argv[2]).read().splitlines()
want(d["command"] == "inspect" and text[0].startswith("file     " + d["file"]["path"] + " (%d bytes)" % d["file"]["bytes"]), "file %r vs %r" % (d["file"], text[0]))
fmt = "format   " + d["format"]["name"] + (" (%s)" % d["format"]["what"] if d["format"]["what"] else "")
want(text[1] == fmt, "format %r vs %r" % (fmt, text[1]))
i = 2; facts = []
while text[i].startswith("         "): facts.append(text[i].strip()); i += 1
want(facts == d["format"]["facts"], "facts %r vs %r" % (d["format"]["facts"], facts))
row = re.compile(r"^ *(\d+)  (.*?) +(F32|F64|F16|BF16) +(\([^)]*\)) +(\d+) +(\S+) +(\S+) +(\S+) +(\S+)(?:  (\d+) NON-FINITE VALUES)?$")
def table(lines, at, tensors, total):
    n = 0
    while at < len(lines) and not lines[at].strip().startswith("#"): at += 1
    at += 1
    for t in tensors:
        m = row.match(lines[at]); at += 1
        if not m: errs.append("not a row: %r" % lines[at - 1]); return at
        shape = "(" + ", ".join(str(x) for x in t["shape"]) + ")"
        got = (str(t["index"]), t["name"], t["dtype"], shape, str(t["bytes"]), g4(t["min"]), g4(t["mean"]), g4(t["max"]), g4(t["std"]), str(t["nonfinite"]) if t["nonfinite"] else None)
        want(got == m.groups(), "row %s: JSON %s, text %s" % (m.group(1), got, m.groups()))
    tail = "%d tensor%s, %d values, %d bytes" % (total["tensors"], "" if total["tensors"] == 1 else "s", total["values"], total["bytes"])
    want(lines[at].strip() == tail and total["tensors"] == len(tensors), "total %r vs %r" % (tail, lines[at]))
    return at + 1
i = table(text, i, d["tensors"], d["total"])
rest = text[i:]
ms = [m for m in d["models"]]
if d["model_given"]:
    m = ms[0]
    want(rest[1] == "model    %s (%s)" % (m["model"], m["spec"] or "?") and rest[2] == "fits     " + m["verdict"], "verdict %r vs %r" % (m["verdict"], rest[1:3]))
    detail = m if not m["fits"] and not m["refused"] else None
else:
    want(rest[1] == "models", "no models line: %r" % rest[1:2])
    lines = [l for l in rest if re.match(r"^         \S+ +(yes|no)", l)]
    want(lines == ["         %-12s %s" % (m["model"], m["verdict"]) for m in ms], "models %r vs %r" % ([m["verdict"] for m in ms], lines))
    fl = [l for l in rest if l.startswith("fits ")][0]
    if d["fits"]:
        want(fl.split()[1:] == d["fits"] and d["closest"] is None, "fits %r vs %r" % (d["fits"], fl))
    else:
        want(fl == "fits     none of the built-in models" + ("; closest: " + d["closest"] if d["closest"] else ""), "closest %r vs %r" % (d["closest"], fl))
    detail = [m for m in ms if m["model"] == d["closest"]][0] if d["closest"] else None
want(d["fits"] == [m["model"] for m in ms if m["fits"]], "fits %r" % d["fits"])
for m in ms:
    want(m["fits"] == (m["missing"] == 0 and m["misshaped"] == 0 and not m["refused"]) and len(m["missing_tensors"]) == m["missing"] and len(m["misshaped_tensors"]) == m["misshaped"] and len(m["extra_tensors"]) == min(8, m["extra"]), "counts of %s: %r" % (m["model"], m))
    want(m["matching"] == m["tensors"] - m["missing"] - m["misshaped"], "matching of %s" % m["model"])
    if m["fits"]: want(m["verdict"] == "yes (%s%s)" % ("converted: " if m["conversion"] else "as stored", m["conversion"]) + (" with --lenient: %d tensor%s unused" % (m["extra"], "" if m["extra"] == 1 else "s") if m["extra"] else ""), "verdict of %s: %r" % (m["model"], m["verdict"]))
    if m["bind_notes"]: want(any(l.strip() == "(" + m["bind_notes"] + ")" for l in rest), "bind notes of %s" % m["model"])
if detail:
    sh = lambda s: "(" + ", ".join(str(x) for x in s) + ")"
    want_lines = [l for l in rest if re.match(r"^         (missing|misshaped|extra) ", l)]
    exp = {}
    for t in detail["missing_tensors"]: exp["missing " + t["name"]] = "missing    %s %s" % (t["name"], sh(t["expected"]))
    for t in detail["misshaped_tensors"]:
        alt = ""
        if t["expected_tf"]: alt = (" or HWIO " if len(t["expected"]) == 4 else " or (in, out) ") + sh(t["expected_tf"])
        exp["misshaped " + t["name"]] = "misshaped  %s: expected %s%s, found %s %s" % (t["name"], sh(t["expected"]), alt, t["found"], sh(t["found_shape"]))
    ex = ["extra      %s %s" % (t["name"], sh(t["shape"])) for t in detail["extra_tensors"]]
    for l in want_lines:
        s = l.strip(); k = s.split()[0] + " " + s.split()[1].rstrip(":")
        want(s in ex if s.startswith("extra") else exp.get(k) == s, "problem line %r, JSON %r" % (s, exp.get(k)))
    problems = detail["missing"] + detail["misshaped"] + detail["extra"]
    want(len(want_lines) == min(12, detail["missing"] + detail["misshaped"] + min(8, detail["extra"])), "%d problem lines for %d problems" % (len(want_lines), problems))
    more = [l for l in rest if "... and" in l]
    want(more == (["         ... and %d more" % (problems - len(want_lines))] if problems > len(want_lines) else []), "more %r" % more)
if d["read_as"]:
    j = [k for k, l in enumerate(text) if l == "as the %s model reads it:" % d["read_as"]["model"]]
    want(len(j) == 1, "no read-as table for %s" % d["read_as"]["model"])
    if j: table(text, j[0] + 1, d["read_as"]["tensors"], d["read_as"]["total"])
else:
    want(not any(l.startswith("as the ") for l in text), "a read-as table without read_as")
done()'

# agree NAME [inspect options] FILE: text and JSON of one inspect run agree,
# with the same exit status (an error: empty stdout, the text's message).
n_agree=0
agree() {
  local name=$1; shift
  "$prog" inspect "$@" > "$tmp/$name.txt" 2> "$tmp/$name.terr"; local trc=$?
  "$prog" inspect --format json "$@" > "$tmp/$name.json" 2> "$tmp/$name.jerr"; local jrc=$?
  if [ $trc != $jrc ]; then bad "inspect $*: exit $trc as text, $jrc as JSON"; return; fi
  if [ $trc != 0 ]; then
    if [ ! -s "$tmp/$name.json" ] && cmp -s "$tmp/$name.terr" "$tmp/$name.jerr"; then ok
    else bad "inspect --format json $*: exit $jrc with stdout or another message"; fi
    return
  fi
  n_agree=$((n_agree + 1))
  check "inspect $* as JSON and as text" -- "$INSPECT" "$tmp/$name.json" "$tmp/$name.txt"
}
# (the built-in names are the reduced nets there, so that each run takes a moment)
# the model that fits, by itself, from a data folder of the reduced nets
mkdir -p "$tmp/data"
for m in caffe torchvision tf-bench keras-half; do cp "$ref/$m-tiny.net" "$tmp/data/$m.net"; done
cp "$fx/darknet/darknet-tiny.net" "$tmp/data/darknet.net"
cp "$fx/darknet/darknet-tiny.net" "$tmp/data/mine.net"
k=0
for f in "$fx"/torch/*.pth "$fx"/caffe/*.caffemodel "$fx"/keras/*.h5 "$ref"/*.safetensors "$ref"/caffe-tiny.bvlc.npy \
         "$fx"/convert/*.npz "$fx"/weights/*.np[yz] "$fx"/darknet/*.weights "$fx"/onnx/*.onnx "$fx"/tfckpt/small.ckpt.index \
         "$fx"/diff/bug_fc6_hwc.safetensors; do
  [ -f "$f" ] || continue
  k=$((k + 1)); ALEXSCOPE_DATA="$tmp/data" agree "f$k" "$f"
done
[ $n_agree -ge 20 ] && ok || bad "only $n_agree fixtures were read by inspect"
agree m1 --model "$ref/caffe-tiny.net" "$ref/caffe-tiny.bvlc.npy"
agree m2 --model caffe "$ref/caffe-tiny.bvlc.npy"
agree bvlc "$ref/caffe-tiny.bvlc.npy"
agree m3 --model "$ref/caffe-tiny.net" "$ref/torchvision-tiny.safetensors"
agree m4 --model "$ref/tf-bench-tiny.net" "$fx/convert/tf-bench-tiny.extra.npz"
agree m5 --model "$fx/darknet/darknet-tiny.net" "$fx/darknet/darknet-tiny.weights"
agree m6 --model "$tmp/nothing.net" "$ref/caffe-tiny.safetensors"

for m in caffe torchvision tf-bench keras-half; do
  ALEXSCOPE_DATA="$tmp/data" agree "d$m" "$ref/$m-tiny.safetensors"
  check "inspect json: $m-tiny.safetensors fits $m as stored" -- '
d = strict(sys.argv[1]); m = [x for x in d["models"] if x["model"] == sys.argv[2]][0]
want(d["fits"] == [sys.argv[2]] and m["conversion"] == "" and m["spec"] == sys.argv[2] + "-tiny" and m["verdict"] == "yes (as stored)", "fits %r, %r" % (d["fits"], m))
want(d["tensors"][0]["name"] == ("features.0.weight" if sys.argv[2] == "torchvision" else "conv1.weight"), "first tensor %r" % d["tensors"][0])
done()' "$tmp/d$m.json" "$m"
done
ALEXSCOPE_DATA="$tmp/data" agree dbvlc "$ref/caffe-tiny.bvlc.npy"
ALEXSCOPE_DATA="$tmp/data" agree ddark "$fx/darknet/darknet-tiny.weights"
check "inspect json: conversions, a closest model, a sliced file" -- '
b = strict(sys.argv[1]); m = [x for x in b["models"] if x["fits"]]
want(b["fits"] == ["caffe"] and m[0]["conversion"].startswith("HWIO->OIHW for 5 conv, (in,out)->(out,in) for 3 fc, fc6 rows H,W,C->C,H,W") and m[0]["converted"] == {"hwio_to_oihw": 5, "inout_to_outin": 3, "rows_hwc_to_chw": 1, "widened_to_f32": 0}, "bvlc: %r" % m)
want(b["tensors"][0]["name"] == "conv1.0" and b["tensors"][0]["shape"] == [11, 11, 3, 8] and b["tensors"][0]["dtype"] == "F32", "bvlc conv1.0: %r" % b["tensors"][0])
c = strict(sys.argv[2])
want(c["fits"] == [] and c["closest"] == "caffe" and c["models"][0]["misshaped_tensors"][0] == {"name": "conv1.weight", "expected": [96, 3, 11, 11], "expected_tf": [11, 11, 3, 96], "found": "conv1.0", "found_shape": [11, 11, 3, 8]}, "closest %r" % c["closest"])
k = strict(sys.argv[3])
want(k["fits"] == ["darknet", "mine"] and k["read_as"]["model"] == "darknet" and k["read_as"]["tensors"][15]["name"] == "fc8.weight" and k["read_as"]["tensors"][15]["shape"] == [10, 24], "darknet read_as %r" % (k["read_as"] or {}).get("model"))
e = strict(sys.argv[4]); m = e["models"][0]
want(m["fits"] and m["needs_lenient"] and m["extra"] == 1 and m["converted"]["widened_to_f32"] == 10, "extra.npz: %r" % m)
done()' "$tmp/dbvlc.json" "$tmp/bvlc.json" "$tmp/ddark.json" "$tmp/m4.json"

echo "json: $pass passed, $fail failed"
[ "$fail" = 0 ]
