#!/bin/sh
# The workbench's diff mode in a real terminal: `alexscope diff ... --ui` on a
# planted conversion bug and on identical sides, and W loading a second side,
# driven in a private tmux server. Every check polls the screen (no fixed
# sleeps). Exits 77 (automake's SKIP) when tmux is missing.

. "$(dirname "$0")/tmux_lib.sh"
fx="$srcdir/tests/fixtures/diff"
img="$srcdir/samples/chelsea.png"
net="--model '$fx/diff-tiny.net'"
good="--weights '$fx/good.safetensors'"

work=$(mktemp -d "${TMPDIR:-/tmp}/alexscope-diffui.XXXXXX") || exit 1
tmux_server axdu
expect_wait=30

# the screen with every non-ASCII cell as "|" (the list's separator included)
screen() { T capture-pane -p | LC_ALL=$lang sed 's/[^ -~]/|/g'; }

# start NAME ARGS: the program in a fresh 120x40 session; the shell stays to
# report the exit status
start() {
    T kill-server >/dev/null 2>&1
    sock="$socks/$1"
    cat > "$work/run.sh" <<EOF
trap : INT
cd "$work" || exit 1
"$prog" $2
echo "EXIT=\$?"
sleep 60
EOF
    tmux_session 120 40 "$work/run.sh"
}

# the list row of a layer: "  9 conv3   conv    8x4x4       X |"
row_mark() { screen | grep -E "^ +[0-9]+ $1 " | head -n 1 | sed -E 's/^.* ([=X!-]) \|.*$/\1/'; }

# ---------------------------------------------------------------- misuse
"$prog" diff --weights a --weights b "$srcdir/samples" --ui >/dev/null 2>"$work/err"; rc=$?
[ "$rc" = 2 ] && grep -q "one input, not a folder" "$work/err" && pass "diff --ui with a folder is misuse (exit 2)" ||
    fail "diff --ui with a folder: exit $rc, $(cat "$work/err")"
"$prog" dump --ui "$img" >/dev/null 2>"$work/err"; rc=$?
[ "$rc" = 2 ] && grep -q "belongs to the bench and diff commands" "$work/err" && pass "--ui elsewhere is refused" ||
    fail "dump --ui: exit $rc, $(cat "$work/err")"

# ---------------------------------------------------------------- a planted bug
start bug "diff $net --weights '$fx/bug_conv3_oi.safetensors' $good --mono '$img' --ui"
expect_re "Diff view" "diff --ui opens in the Diff view" 60
expect_re "first divergence: conv3 \(\] jumps there\)" "the first divergence is named" 60
expect_re "diagnosis: conv3: the kernels' O and I axes are swapped" "the diagnosis line is shown"
expect_re "w\.transpose\(1, 0, 2, 3\)" "the whole diagnosis and its fix are shown, wrapped, not cut"
m=$(row_mark conv3)
[ "$m" = X ] && pass "conv3 is marked X in the layer list" || fail "conv3's mark is '$m', not X"
m=$(row_mark conv2)
[ "$m" = "=" ] && pass "conv2 (before it) is marked =" || fail "conv2's mark is '$m', not ="
m=$(row_mark fc6)
[ "$m" = "!" ] && pass "fc6 (downstream) is marked !" || fail "fc6's mark is '$m', not !"
keys ']'
expect_re "conv3 FIRST DIVERGENCE: max\|A-B\|" "] jumps to conv3"
expect_re "^ alexscope .* conv3 \(1, 8, 4, 4\)" "the header shows conv3"
expect_re "ch +max\|A-B\|" "the per-channel error table is shown"
expect_re "row 1 of 8 .* sorted by max\|A-B\| desc" "after ] the table starts at its top row (row 1 of 8)"
top=$(screen | sed -n '/ch *max|A-B|/{n;p;}' | head -n 1 | awk -F'|' '{print $2}' | awk '{print $1}')
shown=$(screen | sed -n 's/.*side A: channel \([0-9]*\) .*/\1/p' | head -n 1)
[ -n "$top" ] && [ "$top" = "$shown" ] && pass "the maps show the top row's channel ($top), the worst by the sort" ||
  fail "the maps show channel '$shown', the table's top row is channel '$top'"
expect_re "side A: channel [0-7] +side B: channel [0-7] +A-B: max" "A, B and A-B heatmaps of that channel"
keys Down
expect_re "row 2 of 8" "Down moves to row 2"
expect_re "side A: channel [0-7] +side B: channel [0-7] +A-B: max" "Down selects another row's channel and its maps"
ch=$(screen | sed -n 's/.*side A: channel \([0-9]*\) .*/\1/p' | head -n 1)
keys Enter
expect_re "Heatmap view .* conv3 .* channel $ch of 8" "Enter opens that channel's heatmap (channel $ch)"
keys Escape
expect_re "Diff view" "Esc comes back to the Diff view"
keys Right
expect_re "mean\|A-B\|[|v]" "Right sorts by the next column" 10
expect_re "row 1 of 8 .* sorted by mean\|A-B\| desc" "a new sort starts the table at its top row"
keys 6
expect_re "Top-k view .* side A vs side B" "Top-k shows both sides"
expect_re "rank class label +A prob +B prob +B - A +B rank" "Top-k has both sides' probabilities and B's rank"
expect_re "\| +1 +[0-9]+ .* [+-][0-9]\.[0-9]{2}e[+-][0-9]{2} +#[0-9]+ " "Top-k rows carry the delta and B's rank"
keys Q
expect_re "EXIT=0" "quitting exits 0" 20

# ---------------------------------------------------------------- identical sides
start same "diff $net $good $good --mono '$img' --ui"
expect_re "all 25 compared tensors agree" "identical sides: all agree" 60
agree=$(screen | grep -cE "^ +([0-9]+ )?[a-z0-9]+ .* = \|")
bad=$(screen | grep -cE "^ +([0-9]+ )?[a-z0-9]+ .* [X!] \|")
[ "$agree" = 25 ] && [ "$bad" = 0 ] && pass "every list row is marked =" || fail "$agree rows marked =, $bad marked X or !"
keys ']'
expect_re "\]: every compared layer agrees" "] says every layer agrees"
keys Q
expect_re "EXIT=0" "quitting exits 0" 20

# ---------------------------------------------------------------- W
start w "$net $good --mono '$img'"
expect_re "Tensor view" "the workbench opens" 60
keys D
expect_re "No second side to compare with" "the Diff view without a second side says how to get one"
keys W
expect_re "side B \(weights file or \.net spec" "W asks for side B"
keys "$fx/bug_fc6_hwc.safetensors" Enter
expect_re "first divergence: fc6" "W loads, computes and compares side B" 60
expect_re "diagnosis: fc6: the rows are in" "the diagnosis of fc6 is shown"
m=$(row_mark fc6)
[ "$m" = X ] && pass "fc6 is marked X" || fail "fc6's mark is '$m', not X"
keys W
keys "$fx/no-such-file.safetensors" Enter
expect_re "side B: .*no-such-file" "a side B that cannot be opened is reported" 30
keys W "$fx/good.safetensors" Enter
expect_re "all 25 compared tensors agree" "W with identical weights: all agree" 60
# a .net spec as side B runs with side A's weights
keys W "$fx/v_lrn_alpha.net" Enter
expect_re "B: model v_lrn_alpha\.net" "W takes a .net spec as side B's model" 60
expect_re "first divergence: norm1" "the spec's LRN alpha makes norm1 the first divergence" 60
keys Q
expect_re "EXIT=0" "quitting exits 0" 20

# ---------------------------------------------------------------- a reference folder
ref="$srcdir/tests/fixtures/ref"
start ref "diff --model '$ref/keras-half-tiny.net' --weights '$ref/keras-half-tiny.safetensors' --reference '$fx/keras_ref' --map '$fx/keras_ref.map' --input '$ref/keras-half-tiny.input.npy' --mono --ui"
expect_re "B: reference keras_ref" "diff --ui takes a reference folder as side B" 60
expect_re "all 6 compared tensors agree" "the channels-last reference agrees"
m=$(row_mark conv1)
[ "$m" = "-" ] && pass "conv1 (not in the folder: Keras fuses its ReLU) is marked -" || fail "conv1's mark is '$m', not -"
m=$(row_mark relu1)
[ "$m" = "=" ] && pass "relu1 is marked =" || fail "relu1's mark is '$m', not ="
keys Q
expect_re "EXIT=0" "quitting exits 0" 20

[ "$fails" = 0 ] || { echo "$fails check(s) failed"; exit 1; }
echo "all diff mode checks passed"
