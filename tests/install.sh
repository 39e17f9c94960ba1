#!/bin/sh
# make install into a staging root: the program, its data and its man page
# are installed and no headers; the installed program finds its specs and
# labels in its own data folder (not the source tree beside it); a spec copied
# elsewhere finds its labels in the data folder; a missing model is reported
# with the place it was looked for.
set -u
build=${AX_BUILDDIR:-$(pwd)}
src=${AX_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
tmp=$(mktemp -d /tmp/ax_install_XXXXXX)
trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
fails=0
ok() { :; }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }

root=$tmp/root
if ! ${MAKE:-make} -s -C "$build" install DESTDIR="$root" >"$tmp/install.log" 2>&1; then
    cat "$tmp/install.log"
    echo "FAIL: make install DESTDIR=$root"
    exit 1
fi
prog=$(find "$root" -path '*/bin/alexscope' -type f | head -n 1)
data=$(dirname "$(find "$root" -name caffe.net | head -n 1)")
man=$(find "$root" -name alexscope.1 | head -n 1)
[ -x "$prog" ] || bad "no bin/alexscope under $root"
[ -f "$data/imagenet_classes.txt" ] && [ -f "$data/torchvision.net" ] || bad "specs and labels not installed ($data)"
[ -n "$man" ] && [ -f "$man" ] || bad "no alexscope.1 installed"
case "$man" in */man1/alexscope.1) ;; *) bad "man page in the wrong place: $man" ;; esac
headers=$(find "$root" -name '*.h' | head -n 3)
[ -z "$headers" ] || bad "headers installed without a library: $headers"
[ $fails = 0 ] || exit 1

# The installed program, run from elsewhere with no ALEXSCOPE_DATA, reads the
# installed specs: marked so that the source tree's cannot pass for them.
unset ALEXSCOPE_DATA
chmod u+w "$data/caffe.net"
sed 's/^description .*/description installed copy/' "$data/caffe.net" >"$tmp/caffe.net" && cp "$tmp/caffe.net" "$data/caffe.net"
img=$src/samples/chelsea.png
out=$(cd "$tmp" && "$prog" dump "$img" 2>&1); rc=$?
[ $rc = 0 ] || bad "installed dump exited $rc: $(printf '%s' "$out" | tail -n 3)"
printf '%s\n' "$out" | grep -q '^model  *caffe (installed copy)' || bad "installed program did not read $data/caffe.net"
"$prog" --help | grep -q "read from $data" || bad "--help does not name $data"

# A spec copied elsewhere without its label list uses the data folder's.
cp "$data/torchvision.net" "$tmp/mine.net"
out=$(cd "$tmp" && "$prog" dump --model "$tmp/mine.net" "$img" 2>&1); rc=$?
[ $rc = 0 ] || bad "a copied spec: exit $rc: $(printf '%s' "$out" | tail -n 2)"
printf '%s\n' "$out" | grep -q '^ *1\. ' || bad "a copied spec: no top-k"

# Labels beside the copied spec come first.
awk '{ print "mine " NR - 1 }' "$data/imagenet_classes.txt" >"$tmp/imagenet_classes.txt"
out=$("$prog" dump --model "$tmp/mine.net" "$img" 2>&1)
printf '%s\n' "$out" | grep -q '^ *1\. .* mine [0-9]' || bad "labels beside the copied spec were not used"

# Unknown and missing models say where they were looked for.
out=$("$prog" dump --model vgg "$img" 2>&1); rc=$?
[ $rc = 1 ] && printf '%s\n' "$out" | grep -q "unknown model 'vgg': there is no $data/vgg.net" ||
    bad "unknown model: exit $rc: $out"
rm -f "$data/tf-bench.net"
out=$("$prog" dump --model tf-bench "$img" 2>&1); rc=$?
[ $rc = 1 ] && printf '%s\n' "$out" | grep -q "model 'tf-bench' is built in, but its spec $data/tf-bench.net cannot be read" ||
    bad "missing built-in spec: exit $rc: $out"

# The man page renders without warnings and documents every long option.
if command -v groff >/dev/null 2>&1; then
    warn=$(groff -man -ww -z "$man" 2>&1)
    [ -z "$warn" ] || bad "groff warnings: $warn"
fi
for opt in $("$prog" --help | grep -o -- '--[a-z][a-z-]*' | sort -u); do
    grep -q -- "$(printf '%s' "$opt" | sed 's/-/\\\\-/g')" "$man" || bad "$opt is not in the man page"
done

echo "install: $fails failed"
[ $fails = 0 ]
