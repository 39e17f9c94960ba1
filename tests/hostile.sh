#!/usr/bin/env bash
# Hostile and broken files on the command line: a FIFO, a device or a
# decompression bomb given as weights, --input, spec, image or labels, and
# a label list that does not fit the net. Each must end quickly with exit 1
# and one message naming the file, never hang or eat memory.
set -u
. "$(dirname "$0")/lib.sh"
tmp=$(mktemp -d /tmp/ax_hostile_XXXXXX)
trap 'rm -rf "$tmp"' EXIT
img=$src/samples/chelsea.png

# refused SECONDS PATTERN -- command...: exit 1 within SECONDS (timeout
# kills a hang, which then reads as exit 124), a message matching PATTERN.
refused() {
  local limit=$1 pattern=$2; shift 3
  local out rc t0 t1
  t0=$(date +%s%N)
  out=$(timeout 10 "$@" 2>&1 </dev/null); rc=$?
  t1=$(date +%s%N)
  local ms=$(( (t1 - t0) / 1000000 ))
  if [ "$rc" != 1 ]; then bad "$* -> exit $rc, expected 1 (after $ms ms)"; printf '%s\n' "$out" | tail -3; return; fi
  if [ "$ms" -gt $((limit * 1000)) ]; then bad "$* took $ms ms, more than $limit s"; return; fi
  if ! printf '%s\n' "$out" | grep -q -E -- "$pattern"; then bad "$* -> output lacks /$pattern/"; printf '%s\n' "$out" | tail -3; return; fi
  if printf '%s\n' "$out" | grep -q 'Inappropriate ioctl'; then bad "$* -> stale errno in: $out"; return; fi
  ok
}

mkfifo "$tmp/pipe"
# a spec copy whose label list is the FIFO, one whose list is a device, and
# one whose list is too short for the net's 1000 classes
sed 's/^labels .*/labels pipe/' "$ALEXSCOPE_DATA/caffe.net" > "$tmp/fifo-labels.net"
sed 's|^labels .*|labels /dev/zero|' "$ALEXSCOPE_DATA/caffe.net" > "$tmp/dev-labels.net"
sed 's/^labels .*/labels three.txt/' "$ALEXSCOPE_DATA/caffe.net" > "$tmp/short-labels.net"
printf 'cat\ndog\nbird\n' > "$tmp/three.txt"
grep -q '^labels pipe' "$tmp/fifo-labels.net" && ok || bad "caffe.net has no labels line to replace"

refused 2 "$tmp/pipe.*FIFO" -- "$prog" dump --weights "$tmp/pipe" "$img"
refused 2 "$tmp/pipe.*FIFO" -- "$prog" dump --input "$tmp/pipe"
refused 2 "$tmp/pipe.*FIFO" -- "$prog" dump --model "$tmp/pipe" "$img"
refused 2 "$tmp/pipe.*FIFO" -- "$prog" dump "$tmp/pipe"
refused 2 "$tmp/pipe.*FIFO" -- "$prog" dump --model "$tmp/fifo-labels.net" "$img"
refused 2 "/dev/zero.*character device" -- "$prog" dump --model "$tmp/dev-labels.net" "$img"
# (this one is found once the net's shapes are known, so it may take longer)
refused 10 "three.txt.*3 labels.*1000 classes" -- "$prog" dump --model "$tmp/short-labels.net" "$img"
refused 2 "/dev/zero.*character device" -- "$prog" dump --weights /dev/zero "$img"
refused 2 "$tmp.*a directory" -- "$prog" dump --weights "$tmp" "$img"
refused 2 "$tmp.*a directory" -- "$prog" dump "$tmp"

# a 35-byte GIF declaring a 20617x18254 screen: refused from its header
printf 'GIF89a\x89\x50\x4e\x47\x80\x00\x00\x00\x00\x00\xff\xff\xff,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02\x44\x01\x00;' \
  > "$tmp/bomb.gif"
refused 2 "bomb.gif.*20617x18254.*Mpixel" -- "$prog" dump "$tmp/bomb.gif"

echo "hostile.sh: $pass passed, $fail failed"
[ "$fail" = 0 ]
