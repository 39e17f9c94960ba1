#!/usr/bin/env bash
# `alexscope summary` as a user meets it: the table and its totals, the
# diagram with the towers side by side, --format json, and a clear message
# and exit status for each mistake. Needs no image and no weights.
set -u
. "$(dirname "$0")/lib.sh"
expect_tail=5
tmp=$(mktemp -d /tmp/ax_teach_XXXXXX)
trap 'rm -rf "$tmp"' EXIT

expect 0 '^total: 60,965,224 parameters' -- "$prog" summary
expect 0 '^14 +pool5 +maxpool +k3 s2 +256x6x6 +0 +82,944 +195/32 ' -- "$prog" summary
expect 0 '^0 +conv1 +conv +96 k11 s4 p0 +96x55x55 +34,944 .* 11/4 ' -- "$prog" summary --model caffe
expect 0 'conv2 tower 0: 0\.\.127 *\| +\| *conv2 tower 1: 128\.\.255' -- "$prog" summary
expect 0 'grouping saves 307,200 parameters .* in conv2' -- "$prog" summary
expect 0 '^total: 61,100,840 parameters' -- "$prog" summary -m torchvision
expect 0 '^total: 2,469,696 parameters' -- "$prog" summary -m tf-bench
expect 0 '^total: 14,591,685 parameters' -- "$prog" summary -m keras-half
expect 0 'caffe-tiny: input 3x227x227' -- "$prog" summary -m "$src/tests/fixtures/ref/caffe-tiny.net"

# JSON parses and its totals agree with the table's
if "$prog" summary --format json > "$tmp/s.json" 2>&1; then
  if /usr/bin/python3 - "$tmp/s.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["total"]["params"] == 60965224, d["total"]
assert sum(l["params"] for l in d["layers"]) == 60965224
pool5 = [l for l in d["layers"] if l["name"] == "pool5"][0]
assert pool5["rf_size"] == [195, 195] and pool5["rf_jump"] == [32, 32], pool5
assert pool5["output"] == [256, 6, 6]
PY
  then ok; else bad "summary --format json: wrong content"; fi
else bad "summary --format json failed: $(cat "$tmp/s.json")"; fi

expect 2 'expected text or json' -- "$prog" summary --format xml
expect 2 'it takes no IMAGE' -- "$prog" summary "$src/samples/chelsea.png"
expect 2 '--weights belongs to .* commands, not to summary' -- "$prog" summary --weights /nonexistent.safetensors
# dump and inspect take --format too now (issue 18); a command that does not is told who does
expect 2 '--format belongs to the .*diff.*inspect.* and summary commands, not to bench|the .*inspect.*diff.* and summary commands, not to bench' -- "$prog" bench --format json
expect 1 "unknown model 'nosuch'" -- "$prog" summary -m nosuch
printf 'name bad\ninput 3 8 8\nconv c out=4 k=11\n' > "$tmp/bad.net"
expect 1 'does not fit' -- "$prog" summary -m "$tmp/bad.net"

echo "teach.sh: $pass passed, $fail failed"
[ "$fail" = 0 ]
