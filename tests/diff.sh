#!/usr/bin/env bash
# `alexscope diff` as a user meets it: identical sides agree, every classic
# conversion bug planted in tests/fixtures/diff is found and named, reference
# folders (channels-last, mapped, from dump) line up, folders of images give
# top-k agreement, and each misuse gets exit status 2.
set -u
. "$(dirname "$0")/lib.sh"
fx=$src/tests/fixtures/diff
ref=$src/tests/fixtures/ref
img=$src/samples/chelsea.png
tmp=$(mktemp -d /tmp/ax_diff_XXXXXX)
trap 'rm -rf "$tmp"' EXIT

net=(--model "$fx/diff-tiny.net")
good=(--weights "$fx/good.safetensors")

# Identical sides agree, and every layer has its row.
out=$("$prog" diff "${net[@]}" "${good[@]}" "${good[@]}" "$img" 2>&1); rc=$?
[ "$rc" = 0 ] && ok || bad "identical weights: exit $rc"
printf '%s\n' "$out" | grep -q -E '^all 25 compared tensors agree$' && ok || bad "identical weights: no 'all 25 agree' line"
[ "$(printf '%s\n' "$out" | grep -c -E '^ +-?[0-9]+  [a-z0-9]+ .* ok$')" = 25 ] && ok || bad "identical weights: not 25 ok rows"
printf '%s\n' "$out" | grep -q -E '^ +1\. +[0-9]+ .* A #1 -> B #1$' && ok || bad "identical weights: no top-k row with an unchanged rank (A #1 -> B #1)"
expect 0 'all 25 compared tensors agree' -- "$prog" diff "${net[@]}" "${good[@]}" --device cpu --device cpu "$img"

# The TensorFlow-layout pickled dict (bvlc_alexnet.npy style) against the same
# weights in safetensors: the loader's conversion leaves nothing to see.
expect 0 'all 24 compared tensors agree' -- "$prog" diff --model "$ref/caffe-tiny.net" \
  --weights "$ref/caffe-tiny.bvlc.npy" --weights "$ref/caffe-tiny.safetensors" --input "$ref/caffe-tiny.input.npy"

# Weight bugs: the first divergent layer is named and the bug diagnosed.
check_weights() {  # FILE LAYER PATTERN
  local out rc
  out=$("$prog" diff "${net[@]}" --weights "$fx/$1.safetensors" "${good[@]}" "$img" 2>&1); rc=$?
  [ "$rc" = 1 ] || { bad "$1: exit $rc, expected 1"; return; }
  printf '%s\n' "$out" | grep -q -E "^first divergent layer: $2 " || { bad "$1: first divergent layer is not $2"; printf '%s\n' "$out" | grep '^first'; return; }
  printf '%s\n' "$out" | grep -q -E "<< FIRST DIVERGENCE" || { bad "$1: no row marked"; return; }
  printf '%s\n' "$out" | grep -q -E "downstream" || { bad "$1: no downstream rows"; return; }
  printf '%s\n' "$out" | grep -q -E -- "$3" || { bad "$1: diagnosis lacks /$3/"; printf '%s\n' "$out" | sed -n '/^diagnosis/,$p'; return; }
  printf '%s\n' "$out" | grep -q -E -- "-> 0; elements out of tolerance [0-9]+ -> 0" || { bad "$1: the fix does not bring the error to 0"; return; }
  ok
}
check_weights bug_conv1_hwio conv1 'conv1: the kernels are stored \(KH, KW, I, O\) \(TensorFlow HWIO\)'
check_weights bug_conv3_oi conv3 "conv3: the kernels' O and I axes are swapped"
check_weights bug_conv2_flip conv2 'conv2: the kernels are spatially flipped'
check_weights bug_conv1_bgr conv1 'conv1: the input channels are in the other order \(BGR vs RGB\)'
check_weights bug_conv4_groups conv4 "conv4: the two groups' halves are swapped"
check_weights bug_fc6_hwc fc6 'fc6: the rows are in H,W,C order; convert with `alexscope convert` or transpose to C,H,W'
check_weights bug_fc7_transposed fc7 'fc7: the weight is transposed'

# A change no classic bug explains: said so, with the per-channel error map.
out=$("$prog" diff "${net[@]}" --weights "$fx/unexplained.safetensors" "${good[@]}" "$img" 2>&1); rc=$?
[ "$rc" = 1 ] && ok || bad "unexplained: exit $rc"
printf '%s\n' "$out" | grep -q 'none of the classic conversion bugs explains conv2' && ok || bad "unexplained: not said so"
printf '%s\n' "$out" | grep -q -E '1 of 8 channels beyond atol' && ok || bad "unexplained: no channel count"
printf '%s\n' "$out" | grep -A1 'per-channel largest' | grep -q -E '^ +ch +5 .*#' && ok || bad "unexplained: channel 5 is not first"

# Spec bugs: side A's spec differs from diff-tiny.net in one place.
check_spec() {  # VARIANT LAYER PATTERN
  local out rc
  out=$("$prog" diff --model "$fx/$1.net" --model "$fx/diff-tiny.net" "${good[@]}" "$img" 2>&1); rc=$?
  [ "$rc" = 1 ] || { bad "$1: exit $rc, expected 1"; return; }
  printf '%s\n' "$out" | grep -q -E "^first divergent layer: $2 " || { bad "$1: first divergent layer is not $2"; printf '%s\n' "$out" | grep '^first'; return; }
  printf '%s\n' "$out" | grep -q -E -- "$3" || { bad "$1: diagnosis lacks /$3/"; printf '%s\n' "$out" | sed -n '/^diagnosis/,$p'; return; }
  ok
}
check_spec v_lrn_alpha norm1 'norm1: LRN alpha vs alpha/n: side A uses alpha as it is'
check_spec v_lrn_window norm1 'norm1: wrong LRN window: side A sums 3 channels, side B 5'
check_spec v_lrn_order pool1 'pool1, norm1: LRN and pool in the other order'
check_spec v_pool_floor pool1 'pool1: side A rounds the pooled size down .*floor vs ceil'
check_spec v_pool_pad pool1 "pool1: side A pads 1,1 .* explicitly; side B pads TF 'SAME'"
check_spec v_relu_fc8 prob "the difference comes from 'relu8' \(relu\), which only side A has"
check_spec v_mean input 'input: the mean differs: side B = side A -104, -117, -123'
check_spec v_rgb input 'channel order \(BGR vs RGB\)'
check_spec v_size input 'input: side A feeds \(1, 3, 67, 67\), side B \(1, 3, 71, 71\): the input size differs'
expect 1 "side B only: 'relu8' \\(relu\\)" -- \
  "$prog" diff --model "$fx/diff-tiny.net" --model "$fx/v_relu_fc8.net" "${good[@]}" "$img"
expect 1 'prob: side B rectifies fc8 before the softmax \(a ReLU on fc8\)' -- \
  "$prog" diff --model "$fx/diff-tiny.net" --model "$fx/v_relu_fc8.net" "${good[@]}" "$img"

expect 1 "conv1: side A pads 2,2 \\(top, left\\) explicitly; side B pads TF 'SAME' \\(1 top, 2 bottom" -- \
  "$prog" diff --model "$fx/v_conv_pad.net" --model "$fx/v_conv_same.net" "$img"
expect 1 "conv1: side A pads TF 'SAME' \\(1 top, 2 bottom\\); side B pads 2 on every side" -- \
  "$prog" diff --model "$fx/v_conv_same.net" --model "$fx/v_conv_pad.net" "$img"

# Tolerances: a loose enough atol passes what the default fails.
expect 0 'all 25 compared tensors agree' -- "$prog" diff --model "$fx/v_lrn_window.net" --model "$fx/diff-tiny.net" \
  "${good[@]}" --atol 1000 "$img"
expect 1 'first divergent layer: norm1' -- "$prog" diff --model "$fx/v_lrn_window.net" --model "$fx/diff-tiny.net" \
  "${good[@]}" --atol 1e-3x --rtol 0 "$img"

# Reference folders: a Keras-style channels-last dump found through a map
# file and by order and shape, with and without the batch axis.
out=$("$prog" diff --model "$ref/keras-half-tiny.net" --weights "$ref/keras-half-tiny.safetensors" \
  --reference "$fx/keras_ref" --map "$fx/keras_ref.map" --input "$ref/keras-half-tiny.input.npy" 2>&1); rc=$?
[ "$rc" = 0 ] && ok || { bad "keras reference: exit $rc"; printf '%s\n' "$out" | tail -5; }
printf '%s\n' "$out" | grep -q -E '^all 6 compared tensors agree$' && ok || bad "keras reference: not 6 tensors agreeing"
printf '%s\n' "$out" | grep -q -E '^ +2  relu1 .* ok  <- conv2d.npy \(map\) channels-last, compared transposed$' && ok || bad "keras reference: relu1 not matched channels-last through the map"
printf '%s\n' "$out" | grep -q -E '^ +3  pool1 .*<- max_pooling2d.npy \(by order and shape\) channels-last, compared transposed \(no batch axis\)' && ok || bad "keras reference: pool1 not matched by order and shape"
# Without the map, order and shape pair Keras' conv2d (a Conv2D with its
# ReLU) with our conv1, which is before the ReLU: the map is what fixes that.
expect 1 '^ +1  conv1 .*<< FIRST DIVERGENCE  <- conv2d.npy \(by order and shape\) channels-last' -- "$prog" diff \
  --model "$ref/keras-half-tiny.net" --weights "$ref/keras-half-tiny.safetensors" --reference "$fx/keras_ref" \
  --input "$ref/keras-half-tiny.input.npy"
printf 'relu1=no_such_file\n' > "$tmp/bad.map"
expect 1 'bad.map:1: .*no_such_file.npy does not exist' -- "$prog" diff --model "$ref/keras-half-tiny.net" \
  --reference "$fx/keras_ref" --map "$tmp/bad.map" --input "$ref/keras-half-tiny.input.npy"
printf 'relu99=conv2d\n' > "$tmp/bad.map"
expect 1 "bad.map:1: 'relu99' is not a layer" -- "$prog" diff --model "$ref/keras-half-tiny.net" \
  --reference "$fx/keras_ref" --map "$tmp/bad.map" --input "$ref/keras-half-tiny.input.npy"

# alexscope's own dump as the reference; the error tensors saved for numpy.
"$prog" dump "${net[@]}" "${good[@]}" --save-activations "$tmp/acts" "$img" > /dev/null 2>&1 || bad "dump failed"
expect 0 'all 25 compared tensors agree' -- "$prog" diff "${net[@]}" "${good[@]}" --reference "$tmp/acts" "$img"
expect 1 'fc6: the rows are in H,W,C order' -- "$prog" diff "${net[@]}" --weights "$fx/bug_fc6_hwc.safetensors" \
  --reference "$tmp/acts" --save "$tmp/err" "$img"
# A reference without the conv's own output (the ReLU fused into it, as Keras
# does): the conv is diagnosed with its ReLU against the ReLU's output.
mkdir -p "$tmp/fused" && cp "$tmp/acts"/*.npy "$tmp/fused/" && rm "$tmp/fused/conv3.npy"
out=$("$prog" diff "${net[@]}" --weights "$fx/bug_conv3_oi.safetensors" --reference "$tmp/fused" "$img" 2>&1); rc=$?
[ "$rc" = 1 ] && ok || bad "fused reference: exit $rc"
printf '%s\n' "$out" | grep -q '^first divergent layer: relu3 ' && ok || bad "fused reference: relu3 is not the first divergent layer"
printf '%s\n' "$out" | grep -q "^diagnosis of conv3 (with its ReLU" && ok || bad "fused reference: conv3 not diagnosed with its ReLU"
printf '%s\n' "$out" | grep -q "conv3: the kernels' O and I axes are swapped" && ok || bad "fused reference: the bug is not named"
n=$(ls "$tmp/err" 2>/dev/null | grep -c '\.npy$')
[ "$n" = 25 ] && ok || bad "--save wrote $n error tensors, expected 25"
# fc6's error file: a (1, 16) float32 array, nonzero; pool5's: all zeros.
head -c 128 "$tmp/err/fc6.npy" | grep -q "'shape': (1, 16)" && ok || bad "fc6.npy has not the shape (1, 16)"
[ "$(tail -c 64 "$tmp/err/pool5.npy" | od -An -v -tx1 | tr -d ' \n' | tr -d 0)" = "" ] && ok || bad "pool5 error is not zero"

# Folders of images: top-1 agreement over the samples.
expect 0 'top-1 agreement +100\.0% \(4 of 4\)' -- "$prog" diff "${net[@]}" "${good[@]}" "${good[@]}" "$src/samples"
out=$("$prog" diff "${net[@]}" --weights "$fx/perturbed.safetensors" "${good[@]}" --batch 3 "$src/samples" 2>&1); rc=$?
[ "$rc" = 1 ] && ok || bad "perturbed folder: exit $rc, expected 1"
printf '%s\n' "$out" | grep -q -E 'top-1 agreement +([0-9]|[1-9][0-9])\.[0-9]% \([0-3] of 4\)' && ok || bad "perturbed folder: top-1 agreement not below 100%"
printf '%s\n' "$out" | grep -q -E 'mean KL\(B \|\| A\) +[0-9.e-]+ nats' && ok || bad "perturbed folder: no KL"
printf '%s\n' "$out" | grep -q 'top-1 differs' && ok || bad "perturbed folder: no image listed as differing"
mkdir -p "$tmp/imgs" && cp "$img" "$tmp/imgs/a.png" && printf 'not an image' > "$tmp/imgs/b.png"
expect 1 'warning: skipping .*b.png' -- "$prog" diff "${net[@]}" "${good[@]}" "${good[@]}" "$tmp/imgs"

# Hostile files end at once with a message: a FIFO as a reference tensor, as
# the map file, and as an image in a folder (skipped).
mkdir -p "$tmp/fifo_ref" "$tmp/fifo_imgs" && mkfifo "$tmp/fifo_ref/conv1.npy" "$tmp/fifo.map" "$tmp/fifo_imgs/a.png"
cp "$img" "$tmp/fifo_imgs/b.png"
expect 1 'conv1.npy: the reference activation is a FIFO' -- timeout 20 "$prog" diff "${net[@]}" --reference "$tmp/fifo_ref" "$img"
expect 1 'fifo.map: the map file is a FIFO' -- timeout 20 "$prog" diff "${net[@]}" --reference "$tmp/acts" --map "$tmp/fifo.map" "$img"
out=$(timeout 20 "$prog" diff "${net[@]}" "${good[@]}" "${good[@]}" "$tmp/fifo_imgs" 2>&1); rc=$?
[ "$rc" = 1 ] && ok || bad "FIFO image: exit $rc, expected 1"
printf '%s\n' "$out" | grep -q 'skipping .*a.png: the image is a FIFO' && ok || bad "FIFO image: not skipped with a message"
# the readable image after it still compared (moved into the first slot)
printf '%s\n' "$out" | grep -q -E 'top-1 agreement +100\.0% \(1 of 1\)' && ok || bad "FIFO image: b.png not compared"
printf '%s\n' "$out" | grep -q -E '^ +b\.png +0 ' && ok || bad "FIFO image: b.png not listed with KL 0"

# --format json: one document on stdout, parsed by Python, with the figures
# the text shows. Infinity and NaN are not JSON: parse_constant refuses them.
pyjson() {  # SCRIPT [ARGS]: d is the document read from stdin
  /usr/bin/python3 -c 'import json, sys
def refuse(c): sys.exit("not JSON: " + c)
d = json.load(sys.stdin, parse_constant=refuse)
'"$1" "${@:2}"
}
text_first=$("$prog" diff "${net[@]}" --weights "$fx/bug_fc6_hwc.safetensors" "${good[@]}" "$img" 2>/dev/null |
  sed -n 's/^first divergent layer: \([^ ]*\) .*/\1/p')
"$prog" diff "${net[@]}" --weights "$fx/bug_fc6_hwc.safetensors" "${good[@]}" --format json "$img" \
  > "$tmp/j1.json" 2> "$tmp/j1.err"; rc=$?
[ "$rc" = 1 ] && ok || bad "json, fc6 bug: exit $rc, expected 1"
pyjson '
first = sys.argv[1]
assert first == "fc6", first
assert d["form"] == "layers" and d["command"] == "diff"
assert d["first_divergent_layer"] == first, d["first_divergent_layer"]
assert d["first_divergence"]["name"] == first and d["first_divergence"]["max_abs"] > 100
rows = d["layers"]
assert len(rows) == 25 and rows[0]["name"] == "input" and rows[0]["index"] == -1
st = [r["status"] for r in rows]
assert st.count("first divergence") == 1 and rows[st.index("first divergence")]["name"] == first
assert st[:17] == ["ok"] * 17 and set(st[18:]) == {"downstream"}, st
r = rows[17]
assert r["out_of_tolerance"] == 16 and r["elements"] == 16 and r["cosine"] < 0.9 and r["worst"]["at"] == [0, 15]
assert rows[1]["snr_db"] is None and rows[1]["max_abs"] == 0   # identical conv1: SNR is infinite
t = d["tolerance"]
assert t["rtol"] == 0.001 and t["atol_of_max"] == 0.0001 and t["atol"] == 0
g = d["diagnosis"]
assert g["layer"] == "fc6" and g["explained"] is True
assert g["explained_by"][0]["what"].startswith("fc6: the rows are in H,W,C order")
assert g["explained_by"][0]["max_abs_after"] == 0 and g["explained_by"][0]["out_of_tolerance_after"] == 0
assert "transpose(0, 3, 1, 2)" in g["fix"], g["fix"]
k = d["topk"]
assert k["of"] == "probability" and k["k"] == 5 and k["logits_from"] == "fc8"
a, b = k["images"][0]["a"], k["images"][0]["b"]
assert len(a) == 5 and len(b) == 5 and [e["rank_a"] for e in a] == [1, 2, 3, 4, 5]
assert [e["rank_b"] for e in b] == [1, 2, 3, 4, 5]
assert all(abs(e["b"] - e["a"] - e["b_minus_a"]) < 1e-6 for e in a + b)
assert a[0]["rank_b"] != 1   # the bug moves the top class
' "$text_first" < "$tmp/j1.json" && ok || bad "json, fc6 bug: the document is wrong"
grep -q '^first divergent\|^ *#' "$tmp/j1.err" && bad "json: text went to stderr" || ok
# every top-level key the README's table names is in the document (those
# that depend on options or on the nets aside)
/usr/bin/python3 -c 'import json, re, sys
doc = json.load(open(sys.argv[1]))
text = open(sys.argv[2]).read()
table = text.split("### JSON output: diff", 1)[1].split("With a folder of images", 1)[0]
keys = [k for line in table.splitlines() if line.startswith("| `")
        for k in re.findall(r"`([a-z_0-9]+)`", line.split("|")[1])]
assert len(keys) >= 15, keys
missing = [k for k in keys if k not in doc and k not in ("reference", "note", "saved")]
assert not missing, missing
assert not [k for k in doc if k not in keys], [k for k in doc if k not in keys]
' "$tmp/j1.json" "$src/README.md" && ok || bad "json: the README's keys and the document differ"
# identical sides: no divergence is null, and so is the diagnosis
"$prog" diff "${net[@]}" "${good[@]}" "${good[@]}" --format json "$img" > "$tmp/j2.json" 2>/dev/null; rc=$?
[ "$rc" = 0 ] && ok || bad "json, identical: exit $rc"
pyjson '
assert d["first_divergent_layer"] is None and d["first_divergence"] is None and d["diagnosis"] is None
assert d["agree"] is True and d["compared"] == 25
assert all(r["status"] == "ok" and r["max_abs"] == 0 and r["snr_db"] is None for r in d["layers"])
' < "$tmp/j2.json" && ok || bad "json, identical sides: the document is wrong"
# a spec bug at the input: the first divergent layer is "input"
"$prog" diff --model "$fx/v_mean.net" --model "$fx/diff-tiny.net" "${good[@]}" --format json "$img" 2>/dev/null |
  pyjson 'assert d["first_divergent_layer"] == "input" and d["diagnosis"]["layer"] == "input"
assert "the mean differs" in d["diagnosis"]["explained_by"][0]["what"]' && ok || bad "json, mean bug: not input"
# an unexplained change: the per-channel errors, channel 5 worst
"$prog" diff "${net[@]}" --weights "$fx/unexplained.safetensors" "${good[@]}" --format json "$img" 2>/dev/null |
  pyjson 'g = d["diagnosis"]
assert g["explained"] is False and g["explained_by"] == [] and g["closest"]["what"]
assert g["channels"]["beyond_atol"] == 1 and g["channels"]["worst_first"][0]["channel"] == 5' && ok ||
  bad "json, unexplained: no channels"

# --reference DIR: files that are not one array are skipped and named, and so
# are the reference tensors nothing took and the layers with no reference.
mkdir -p "$tmp/mixed/notes.d" && cp "$tmp/acts"/*.npy "$tmp/mixed/" && rm "$tmp/mixed/fc8.npy"
cp "$ref/caffe-tiny.bvlc.npy" "$tmp/mixed/bvlc_alexnet.npy"
cp "$fx/good.safetensors" "$tmp/mixed/alexnet.pth"
printf 'dumped by hand\n' > "$tmp/mixed/README.txt"
printf 'not a numpy file' > "$tmp/mixed/broken.npy"
/usr/bin/python3 -c 'import numpy as np, sys; np.save(sys.argv[1], np.zeros((7, 7), np.float32))' "$tmp/mixed/extra.npy"
"$prog" diff "${net[@]}" "${good[@]}" --reference "$tmp/mixed" "$img" > "$tmp/m.out" 2> "$tmp/m.err"; rc=$?
[ "$rc" = 0 ] && ok || { bad "mixed reference: exit $rc"; tail -3 "$tmp/m.err"; }
grep -q -E '^all 24 compared tensors agree$' "$tmp/m.out" && ok || bad "mixed reference: not 24 agreeing"
for f in bvlc_alexnet.npy alexnet.pth README.txt notes.d broken.npy; do
  grep -q -E "^alexscope: note: skipping .*/mixed/$f: " "$tmp/m.err" && ok || bad "mixed reference: $f not named as skipped"
done
grep -q 'bvlc_alexnet.npy: 16 tensors in a npy file, not one array' "$tmp/m.err" && ok || bad "mixed reference: the dict's reason"
[ "$(grep -c 'skipping' "$tmp/m.err")" = 5 ] && ok || bad "mixed reference: not 5 skipped lines"
grep -q -E '^unused +1 reference file no tensor of side A took: extra\.npy' "$tmp/m.out" && ok || bad "mixed reference: extra.npy not named"
grep -q -E "^no match +1 of side A's tensors: fc8$" "$tmp/m.out" && ok || bad "mixed reference: fc8 not named"
"$prog" diff "${net[@]}" --weights "$fx/bug_fc6_hwc.safetensors" --reference "$tmp/mixed" --format json "$img" 2>/dev/null |
  pyjson 'r = d["reference"]
assert sorted(s["file"] for s in r["skipped"]) == sorted(["README.txt", "alexnet.pth", "bvlc_alexnet.npy", "broken.npy", "notes.d"]), r["skipped"]
assert r["unmatched_files"] == ["extra.npy"] and r["layers_without_reference"] == ["fc8"]
assert r["matched"] == 24 and r["tensors"] == 25 and r["arrays"] == 25
assert d["first_divergent_layer"] == "fc6" and d["side_b"]["reference"].endswith("mixed")
row = [x for x in d["layers"] if x["name"] == "conv1"][0]
assert row["reference"] == {"file": "conv1.npy", "matched_by": "name", "channels_last": False, "batch_axis": True}
assert [x for x in d["layers"] if x["name"] == "fc8"][0]["status"] == "not on side B"' && ok ||
  bad "json, mixed reference: the document is wrong"
# a file name that is not UTF-8 stays valid JSON ('?' for the byte)
mkdir -p "$tmp/latin" && cp "$tmp/acts"/*.npy "$tmp/latin/" && printf x > "$tmp/latin/"$'caf\xe9.txt'
"$prog" diff "${net[@]}" "${good[@]}" --reference "$tmp/latin" --format json "$img" 2>/dev/null |
  pyjson 'assert [s["file"] for s in d["reference"]["skipped"]] == ["caf?.txt"]' && ok || bad "json: a latin-1 file name"
# nothing but such files: an error that names them
mkdir -p "$tmp/noarr" && cp "$ref/caffe-tiny.bvlc.npy" "$tmp/noarr/bvlc_alexnet.npy" && printf x > "$tmp/noarr/README.txt"
expect 1 'no activations .* skipped README.txt: not a .npy file; bvlc_alexnet.npy: 16 tensors' -- \
  "$prog" diff "${net[@]}" --reference "$tmp/noarr" "$img"

# Saturated probabilities: four significant digits (never 0.0000), the
# logits where a probability is exactly 0, the ranks as A #i -> B #j.
out=$("$prog" diff "${net[@]}" --weights "$fx/saturated.safetensors" --weights "$fx/saturated.safetensors" \
  --topk 10 "$img" 2>&1)
printf '%s\n' "$out" | grep -E '^ +[0-9]+\. ' | grep -q '0\.0000 ' && bad "saturated: a probability prints 0.0000" || ok
printf '%s\n' "$out" | grep -q -E '^ +2\. +[0-9]+ .* [1-9]\.[0-9]{3}e-[0-9]+ +[1-9]\.[0-9]{3}e-[0-9]+ ' && ok ||
  bad "saturated: rank 2 not shown with significant digits"
printf '%s\n' "$out" | grep -q -E '^top-10 \(probability\) .*rank \(A -> B\) +logit A +logit B$' && ok ||
  bad "saturated: no logit columns for exact zeros"
printf '%s\n' "$out" | grep -q -E '^ +10\. .* A #10 -> B #10 +-?[0-9.]+ +-?[0-9.]+$' && ok || bad "saturated: rank 10 row"
out=$("$prog" diff "${net[@]}" --weights "$fx/bug_fc6_hwc.safetensors" "${good[@]}" "$img" 2>&1)
[ "$(printf '%s\n' "$out" | grep -c -E '^ +[1-5]\. +[0-9]+ .* A #[1-5] -> B #[0-9]+$')" = 5 ] && ok || bad "fc6 bug: ranks not A #i -> B #j"
printf '%s\n' "$out" | grep -q -E '^ +B #1: +[0-9]+ .* A #[6-9]|A #10 -> B #1 +\(not in A' && ok || bad "fc6 bug: B's top class without A's rank"
# identical saturated weights over a folder: KL exactly 0, never below
out=$("$prog" diff "${net[@]}" --weights "$fx/saturated.safetensors" --weights "$fx/saturated.safetensors" "$src/samples" 2>&1); rc=$?
[ "$rc" = 0 ] && ok || bad "saturated folder: exit $rc"
printf '%s\n' "$out" | grep -q -E '^mean KL\(B \|\| A\) +0 nats$' && ok || bad "saturated folder: mean KL not 0"
[ "$(printf '%s\n' "$out" | grep -c -E '^  [a-z]+\.(png|jpg) +0  ')" = 4 ] && ok || bad "saturated folder: not 4 images with KL 0"
"$prog" diff "${net[@]}" --weights "$fx/saturated.safetensors" --weights "$fx/saturated.safetensors" --format json \
  "$src/samples" 2>/dev/null | pyjson 'assert d["statistics"]["mean_kl_b_a"] == 0
assert [r["kl_b_a"] for r in d["results"]] == [0, 0, 0, 0]' && ok || bad "saturated folder json: KL not 0"

# the folder form as JSON: statistics and one result per image
"$prog" diff "${net[@]}" --weights "$fx/perturbed.safetensors" "${good[@]}" --batch 3 --format json "$tmp/imgs" \
  > "$tmp/f.json" 2> "$tmp/f.err"; rc=$?
[ "$rc" = 1 ] && ok || bad "folder json: exit $rc"
grep -q 'warning: skipping .*b.png' "$tmp/f.err" && ok || bad "folder json: the skipped image not on stderr"
pyjson '
assert d["form"] == "folder" and "first_divergent_layer" not in d
i = d["images"]
assert i["compared"] == 1 and i["batch"] == 2 and len(i["skipped"]) == 1 and i["skipped"][0]["file"].endswith("b.png")
s = d["statistics"]
assert s["k"] == 5 and 0 <= s["top1_agreement"] <= 1 and s["mean_kl_b_a"] > 0 and s["within_tolerance"] == 0
r = d["results"][0]
assert r["image"] == "a.png" and r["kl_b_a"] > 0 and set(r["top1_a"]) == {"class", "label", "p"}
assert d["time_s"]["total"] >= 0 and d["tolerance"]["rtol"] == 0.001
' < "$tmp/f.json" && ok || bad "folder json: the document is wrong"
"$prog" diff "${net[@]}" --weights "$fx/perturbed.safetensors" "${good[@]}" --format json "$src/samples" 2>/dev/null |
  pyjson '
assert d["images"]["compared"] == 4 and len(d["results"]) == 4
assert d["statistics"]["top1_agree"] == sum(not r["top1_differs"] for r in d["results"])' && ok || bad "folder json: samples"
# The folder as a pipeline: decoding on its own threads ahead of the forward
# passes gives the same text (time and speed aside) and JSON (times aside) at
# --threads 1 and 2, with batches that straddle an unreadable image; the
# speed line says images/s and how much of the time went waiting for decoding.
mkdir -p "$tmp/pipe"
pics=("$src"/samples/*.png "$src"/samples/*.jpg)
for i in 1 2 3 4 5 6 7; do p=${pics[$(( (i - 1) % ${#pics[@]} ))]}; cp "$p" "$tmp/pipe/i$i.${p##*.}"; done
printf 'not an image' > "$tmp/pipe/i3b.png"
for t in 1 2; do
  "$prog" diff "${net[@]}" --weights "$fx/perturbed.safetensors" "${good[@]}" --batch 3 --threads $t "$tmp/pipe" \
    > "$tmp/pipe$t.txt" 2>&1
  "$prog" diff "${net[@]}" --weights "$fx/perturbed.safetensors" "${good[@]}" --batch 3 --threads $t --format json \
    "$tmp/pipe" 2>/dev/null | /usr/bin/python3 -c 'import json, sys
d = json.load(sys.stdin); t = d.pop("time_s"); d.pop("images_per_s")
assert set(t) == {"total", "decode", "decode_wait", "forward_a", "forward_b", "compare"}, t
assert 0 <= t["decode_wait"] <= t["total"]
print(json.dumps(d, sort_keys=True))' > "$tmp/pipe$t.json" || bad "pipeline json at --threads $t: the times are wrong"
done
grep -q -E '^images +7 in .*, batch 3 \(some skipped' "$tmp/pipe1.txt" && ok || bad "pipeline: not 7 images compared: $(grep '^images' "$tmp/pipe1.txt")"
cmp -s <(grep -v -E '^(time|speed) ' "$tmp/pipe1.txt") <(grep -v -E '^(time|speed) ' "$tmp/pipe2.txt") && ok ||
  bad "pipeline: the text at --threads 1 and 2 differs: $(diff "$tmp/pipe1.txt" "$tmp/pipe2.txt")"
[ -s "$tmp/pipe1.json" ] && cmp -s "$tmp/pipe1.json" "$tmp/pipe2.json" && ok || bad "pipeline: the JSON at --threads 1 and 2 differs"
grep -q -E '^speed +[0-9.]+ images/s; [0-9.]+% of the time waiting for decoding \([0-9.]+ s\)' "$tmp/pipe2.txt" && ok ||
  bad "pipeline: no speed line with the wait: $(grep '^speed' "$tmp/pipe2.txt")"
grep -q -E '^time .*decode\+preprocess [0-9.]+ s on 2 threads beside them$' "$tmp/pipe2.txt" && ok ||
  bad "pipeline: no decoding threads in the time line: $(grep '^time' "$tmp/pipe2.txt")"
expect 2 '--format yaml: expected text or json' -- "$prog" diff "${good[@]}" "${good[@]}" --format yaml "$img"
expect 2 'format json writes to stdout; leave out --ui' -- "$prog" diff "${good[@]}" "${good[@]}" --format json --ui "$img"

# Progress: one line per phase on stderr when it is a terminal (erased), none
# when it is not, and never on stdout.
"$prog" diff "${net[@]}" "${good[@]}" "${good[@]}" --format json "$img" 2> "$tmp/p.err" > /dev/null
grep -q 'loading side' "$tmp/p.err" && bad "progress: phase lines on a stderr that is no terminal" || ok
/usr/bin/python3 - "$prog" diff "${net[@]}" --weights "$fx/bug_fc6_hwc.safetensors" "${good[@]}" --format json "$img" <<'EOF' && ok || bad "progress: no phase lines on a terminal"
import json, os, pty, subprocess, sys
master, slave = pty.openpty()
p = subprocess.Popen(sys.argv[1:], stdout=subprocess.PIPE, stderr=slave)
os.close(slave)
err = b""
while True:
    try:
        chunk = os.read(master, 65536)
    except OSError:
        break
    if not chunk:
        break
    err += chunk
out = p.stdout.read()
p.wait()
d = json.loads(out)
assert d["first_divergent_layer"] == "fc6"
for phase in (b"loading side A (weights bug_fc6_hwc.safetensors) ...", b"loading side B (weights good.safetensors) ...",
              b"running side A", b"running side B",
              b"comparing", b"diagnosing fc6"):
    assert phase in err, (phase, err)
assert err.endswith(b"\r\x1b[K"), err[-40:]
assert b"loading" not in out
EOF

# Misuse: exit status 2 with a message; the missing CUDA backend: 1.
expect 2 'needs two sides' -- "$prog" diff "${good[@]}" "$img"
expect 2 'needs two sides' -- "$prog" diff "$img"
expect 2 'must differ in one thing only' -- "$prog" diff --model a.net --model b.net "${good[@]}" "${good[@]}" "$img"
expect 2 '--weights given 3 times' -- "$prog" diff "${good[@]}" "${good[@]}" "${good[@]}" "$img"
expect 2 'with --reference, side A is the one run' -- "$prog" diff "${good[@]}" "${good[@]}" --reference "$tmp/acts" "$img"
expect 2 '--reference given 2 times' -- "$prog" diff --reference "$tmp/acts" --reference "$tmp/acts" "$img"
expect 2 '--map belongs to --reference' -- "$prog" diff "${good[@]}" "${good[@]}" --map "$tmp/bad.map" "$img"
expect 2 'a folder of images needs two runs' -- "$prog" diff "${good[@]}" --reference "$tmp/acts" "$src/samples"
expect 2 'no input' -- "$prog" diff "${good[@]}" "${good[@]}"
expect 2 '--atol x: expected a number' -- "$prog" diff "${good[@]}" "${good[@]}" --atol x "$img"
expect 2 '--rtol -1: expected a number' -- "$prog" diff "${good[@]}" "${good[@]}" --rtol -1 "$img"
expect 2 '--atol belongs to the diff command' -- "$prog" dump --atol 1 "$img"
expect 2 '--reference belongs to the diff command' -- "$prog" dump --reference "$tmp" "$img"
if "$prog" --version | grep -q '(backends: cpu)$'; then
  expect 1 "device 'cuda': the CUDA backend is not part of this build" -- "$prog" diff "${net[@]}" "${good[@]}" \
    --device cpu --device cuda "$img"
elif "$prog" dump --device cuda "${net[@]}" "${good[@]}" "$img" >/dev/null 2>&1; then
  # a GPU: the two backends agree on every tensor
  expect 0 'all 25 compared tensors agree' -- "$prog" diff "${net[@]}" "${good[@]}" --device cpu --device cuda "$img"
else
  # CUDA built in, no usable GPU: the reason, in one line
  expect 1 '--device cuda: ' -- "$prog" diff "${net[@]}" "${good[@]}" --device cpu --device cuda "$img"
fi
expect 1 'no_such_dir: cannot read the reference folder' -- "$prog" diff "${net[@]}" --reference "$tmp/no_such_dir" "$img"

echo "diff.sh: $pass passed, $fail failed"
[ "$fail" = 0 ]
