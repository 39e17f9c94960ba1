#!/bin/sh
# End-to-end test of the workbench in a real terminal: drives ./alexscope
# inside a private tmux server (send-keys / capture-pane) and checks what is on
# screen, the saved files, and the exit status and terminal after quitting.
# Exits 77 (automake's SKIP) when tmux is missing.

TMUX_CMD=${TMUX_BIN:-}
[ -n "$TMUX_CMD" ] || TMUX_CMD=$(command -v tmux 2>/dev/null)
if [ -z "$TMUX_CMD" ] || ! [ -x "$TMUX_CMD" ]; then
    echo "SKIP: tmux not found (set TMUX_BIN or install tmux)"
    exit 77
fi

# make check runs from the build folder; a source-tree run finds it there
here=$(cd "$(dirname "$0")" && pwd)
srcdir=${AX_SRCDIR:-$here/..}
prog=${ALEXSCOPE_BIN:-}
for p in ./alexscope "$srcdir/alexscope" "$here/../alexscope"; do
    [ -n "$prog" ] && break
    [ -x "$p" ] && prog=$(cd "$(dirname "$p")" && pwd)/alexscope
done
if [ -z "$prog" ]; then
    echo "FAIL: alexscope program not found (build it first)"
    exit 1
fi
sample="$srcdir/samples/chelsea.png"
[ -f "$sample" ] || { echo "FAIL: $sample missing"; exit 1; }
[ -n "${ALEXSCOPE_DATA:-}" ] || ALEXSCOPE_DATA="$srcdir/weights"
export ALEXSCOPE_DATA

work=$(mktemp -d "${TMPDIR:-/tmp}/alexscope-e2e.XXXXXX") || exit 1
# the server sockets live in a short private folder that goes away at the end
socks=$(mktemp -d /tmp/axui.XXXXXX) || exit 1
sock="$socks/none"
T() { "$TMUX_CMD" -S "$sock" -f /dev/null "$@"; }
cleanup() {
    T kill-server >/dev/null 2>&1
    rm -rf "$work" "$socks"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# a terminal type with 256 colours that this system describes
term=xterm-256color
for t in tmux-256color screen-256color xterm-256color; do
    if infocmp "$t" >/dev/null 2>&1; then term=$t; break; fi
done
lang=C.UTF-8
locale -a 2>/dev/null | grep -qi '^c\.utf-\?8$' || lang=C

fails=0
fail() {
    echo "FAIL: $*"
    echo "---- screen ----"
    T capture-pane -p 2>/dev/null
    echo "----------------"
    fails=$((fails + 1))
}
pass() { echo "ok: $*"; }

screen() { T capture-pane -p; }

# waits up to $2 seconds (default 20) for a fixed string on the screen
wait_for() {
    n=$(( ${2:-20} * 5 ))
    while [ "$n" -gt 0 ]; do
        if screen 2>/dev/null | grep -qF -- "$1"; then return 0; fi
        sleep 0.2
        n=$((n - 1))
    done
    return 1
}

expect() {
    if wait_for "$1" "${3:-20}"; then pass "$2"; else fail "$2 (no \"$1\" on screen)"; fi
}

keys() { T send-keys "$@"; }

# Starts the program in a fresh session; the shell stays to report the exit status.
# $5: the program's arguments, already quoted for sh (default: the sample image).
start() {
    T kill-server >/dev/null 2>&1
    sock="$socks/$1"
    args=${5:-"'$sample'"}
    cat > "$work/run.sh" <<EOF
trap : INT
cd "$work" || exit 1
$2 "$prog" $args
echo "EXIT=\$?"
sleep 60
EOF
    T new-session -d -x "$3" -y "$4" "env TERM=$term LANG=$lang LC_ALL=$lang sh '$work/run.sh'" ||
        { echo "FAIL: tmux could not start a session"; exit 1; }
}

# ---------------------------------------------------------------- main run
start main "" 120 40
expect "Tensor view" "the workbench opens on the input" 60
expect "UNTRAINED seeded weights" "the status line says the weights are untrained"

keys n
expect "(conv, layer 1 of" "n computes conv1 and moves to it"
s=$(screen)
if echo "$s" | grep -q "conv1" && echo "$s" | grep -qF "(1, 96, 55, 55)"; then
    pass "conv1 and its shape (1, 96, 55, 55) are shown"
else
    fail "conv1 with shape (1, 96, 55, 55) not on screen"
fi
conv1_ms=$(echo "$s" | grep -o "conv1 [0-9.]* ms" | head -n 1)

i=1
for name in Tensor Channels Heatmap LRN Groups Top-k Filters Input; do
    keys "$i"
    expect "$name view" "key $i shows the $name view"
    i=$((i + 1))
done
keys 2
expect "96 channels of 55x55" "the channels table lists conv1's 96 channels"
keys Enter
expect "channel 0 of 96" "Enter opens the heatmap of the selected channel"
keys t
expect "tiles: channels" "t shows the tile grid"
keys t Tab
expect "LRN view" "Tab goes to the next view"
keys BTab
expect "Heatmap view" "Shift-Tab goes back"

keys g; keys -l norm1; keys Enter
keys 4
expect "n=5 alpha=0.0001 beta=0.75 k=1" "g norm1 runs to norm1; the LRN view shows its constants"
expect "after/before per channel" "the LRN view shows the suppression per channel"

keys g; keys -l conv2; keys Enter
keys 5
expect "tower B" "the groups view shows two towers on conv2"

keys a
keys 6
expect "Top-k view" "a runs all layers; the Top-k view shows classes" 60
expect "probabilities from prob" "the Top-k view ranks the probabilities of the last layer" 5

keys g 1 Enter
keys 1
expect "Tensor view" "g 1 goes back to conv1"
if [ -n "$conv1_ms" ] && screen | grep -qF "$conv1_ms"; then
    pass "going back did not recompute conv1 (still $conv1_ms)"
else
    fail "conv1's time changed after going back (was \"$conv1_ms\")"
fi

keys "?"
expect "Help: keys" "? opens the help"
expect "previous layer (never recomputes)" "the help lists the global keys" 2
expect "sort ascending / descending" "the help lists the views' keys" 2
keys x
sleep 0.5
if screen | grep -qF "Help: keys"; then fail "a key did not close the help"; else pass "any key closes the help"; fi

T resize-window -x 80 -y 24 >/dev/null 2>&1 || T refresh-client -C 80x24 >/dev/null 2>&1
sleep 1
expect " 1 conv1 conv 96x55x55" "after resizing to 80x24 the layer list takes its narrow form"
s=$(screen)
if echo "$s" | grep -q "Tensor view" && echo "$s" | grep -q "UNTRAINED seeded weights" &&
    echo "$s" | grep -q "? help  q quit"; then
    pass "the view, status line and key line are redrawn at 80x24"
else
    fail "the screen is not redrawn at 80x24"
fi

keys 3 s
expect "saved alexscope-conv1-heatmap" "s saves the view"
txt="$work/alexscope-conv1-heatmap.txt"
ans="$work/alexscope-conv1-heatmap.ans"
if [ -s "$txt" ] && [ -s "$ans" ]; then pass "both files exist"; else fail "saved files missing in $work"; fi
esc=$(printf '\033')
if [ -s "$txt" ] && ! grep -q "$esc" "$txt" && grep -q "Heatmap view" "$txt"; then
    pass "the plain file has the view and no escape codes"
else
    fail "the plain file is wrong"
fi
if [ -s "$ans" ] && grep -q "$esc\[" "$ans" && grep -q "38;5;" "$ans"; then
    pass "the ANSI file has 256-colour escapes"
else
    fail "the ANSI file has no colour escapes"
fi

keys q
expect "EXIT=0" "q quits with status 0"
if screen | grep -qF "alexscope ·"; then fail "the workbench is still on screen after quitting"; else pass "the terminal is back to the shell"; fi

# ---------------------------------------------------------------- Ctrl-C while computing
start ctrlc "" 100 30
expect "Tensor view" "second start" 60
keys a
sleep 0.3
keys C-c
expect "EXIT=130" "Ctrl-C ends the program (status 130)"
if screen | grep -qF "alexscope ·"; then fail "Ctrl-C left the workbench on screen"; else pass "Ctrl-C restored the terminal"; fi

# ---------------------------------------------------------------- a run asked for after x
# A zero (16, 3, 227, 227) float32 .npy makes every layer slow enough that
# "a x a" reaches the workbench while conv1 is still being computed; the
# second a used to be dropped ("stopped after conv1 .. conv1").
hdr="{'descr': '<f4', 'fortran_order': False, 'shape': (16, 3, 227, 227), }"
while [ $(( (10 + ${#hdr} + 1) % 64 )) -ne 0 ]; do hdr="$hdr "; done
hlen=$(( ${#hdr} + 1 ))
{
    printf '\223NUMPY\001\000'
    printf "\\$(printf %o $((hlen % 256)))\\$(printf %o $((hlen / 256)))"
    printf '%s\n' "$hdr"
    head -c $((16 * 3 * 227 * 227 * 4)) /dev/zero
} > "$work/b16.npy"
start rerun "" 100 30 "--input '$work/b16.npy'"
expect "Tensor view" "start on a batch of 16" 60
keys a x a
expect ".. prob: " "a after x runs on to the last layer (the stop does not swallow it)" 120

# ---------------------------------------------------------------- NO_COLOR at 80x24
start mono "NO_COLOR=1" 80 24
expect "Tensor view" "NO_COLOR start" 60
keys n 3
expect "channel 0 of 96" "the heatmap reads without colours"
if T capture-pane -p -e | grep -q "38;5;\|48;5;"; then
    fail "NO_COLOR still draws colours"
else
    pass "NO_COLOR draws no colours"
fi
keys 8
expect "then centre crop" "the input view reads without colours"
keys q
expect "EXIT=0" "q quits the mono session"

if [ "$fails" -ne 0 ]; then
    echo "$fails check(s) failed"
    exit 1
fi
echo "all UI checks passed"
exit 0
