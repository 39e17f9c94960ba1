#!/usr/bin/env bash
# The README's examples, run as written. Every line `$ COMMAND` inside a
# fenced block of README.md runs (bash, in one scratch folder where
# ./alexscope, samples/ and weights/ are this build's) and must exit 0; the
# lines under it up to the next `$ ` line or the block's end are its output
# as the README shows it, and each must appear in the real output, in order.
# What changes from machine to machine is not compared: a `device` line, the
# last (ms) column of a layer row, and lines that are "..." or end in "...".
set -u
. "$(dirname "$0")/lib.sh"
tmp=$(mktemp -d /tmp/ax_readme_XXXXXX)
trap 'rm -rf "$tmp"' EXIT
ln -s "$src/samples" "$tmp/samples"
ln -s "$src/weights" "$tmp/weights"
ln -s "$(cd "$(dirname "$prog")" && pwd)/$(basename "$prog")" "$tmp/alexscope"

# the blocks' commands and outputs, as records: C<TAB>command or O<TAB>line
awk '/^```/ { inblock = !inblock; if (!inblock) cmd = 0; next }
     inblock && /^\$ / { print "C\t" substr($0, 3); cmd = 1; next }
     inblock && cmd { print "O\t" $0 }' "$src/README.md" > "$tmp/examples"
ncmd=$(grep -c '^C' "$tmp/examples")
[ "$ncmd" -ge 5 ] && ok || bad "README.md has $ncmd runnable examples (\$ lines), expected at least 5"

# a layer row loses its last column; other lines are compared whole
norm() { sed -E 's/[[:space:]]+/ /g; s/^ //; s/ $//' | awk '/^[0-9]+ [a-z]/ { $NF = "" } { print }' | sed 's/ $//'; }

check_output() {   # $1: expected lines file, $2: actual output file
  norm < "$2" > "$tmp/actual.n"
  local line want at=0 n
  while IFS= read -r line; do
    case $line in ''|*...|device*) continue ;; esac
    want=$(printf '%s\n' "$line" | norm)
    n=$(awk -v from="$at" -v w="$want" 'NR > from && $0 == w { print NR; exit }' "$tmp/actual.n")
    if [ -z "$n" ]; then bad "'$cmd': the README shows '$line', the output has no such line (after line $at)"; return; fi
    at=$n
  done < "$1"
  ok
}

run_one() {
  [ -n "${cmd:-}" ] || return 0
  # python3 is Debian's, the one with numpy, as on a user's machine
  (cd "$tmp" && PATH="/usr/bin:$PATH" bash -c "$cmd") > "$tmp/out" 2>&1 < /dev/null
  local rc=$?
  if [ $rc != 0 ]; then bad "README example '$cmd' exited $rc"; tail -5 "$tmp/out"; return; fi
  if [ -s "$tmp/want" ]; then check_output "$tmp/want" "$tmp/out"; else ok; fi
}

cmd= ; : > "$tmp/want"
while IFS=$'\t' read -r kind text; do
  if [ "$kind" = C ]; then
    run_one
    cmd=$text; : > "$tmp/want"
  else
    printf '%s\n' "$text" >> "$tmp/want"
  fi
done < "$tmp/examples"
run_one

echo "readme: $pass passed, $fail failed"
[ "$fail" = 0 ]
