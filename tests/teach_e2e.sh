#!/bin/sh
# The workbench's teaching parts driven in a real terminal (a private tmux
# server): the Summary view, e on a value, the receptive field box and the
# blend on the Input view, and the L / T what-if switches with the
# difference to the normal run. Every check polls the screen (no fixed
# sleeps). Exits 77 (automake's SKIP) when tmux is missing.

. "$(dirname "$0")/tmux_lib.sh"
fx="$srcdir/tests/fixtures/ref"

tmux_server axteach
goto() { keys g; wait_for "run to" 5; keys "$1" Enter; expect " $1 " "g $1 goes to $1"; }

cat > "$socks/run.sh" <<EOF
"$prog" -m '$fx/caffe-tiny.net' -w '$fx/caffe-tiny.safetensors' --input '$fx/caffe-tiny.input.npy'
echo "EXIT=\$?"
sleep 60
EOF
tmux_session 140 46 "$socks/run.sh"
expect "Tensor view" "the workbench opens" 60
keys a
expect "23/23" "a runs every layer" 60

keys S
expect "Summary view" "S opens the Summary view"
expect "total: 35,188 parameters" "the summary's total (no weights needed)"
expect "act.mem" "the Summary's table fits the pane with activation memory in sight"
keys Right
expect "the whole table, from column 17" "Right scrolls the whole table sideways"
keys Left
wait_gone "the whole table, from column" 10 && pass "Left goes back to the fitted table" || fail "Left did not go back"
keys NPage
expect "conv2 tower 1: 8..15" "the diagram draws conv2's towers side by side"
expect "grouping saves 1,600 parameters" "what grouping saves in conv2"
keys q

goto conv2
keys 3
expect "Heatmap view" "3 opens the Heatmap"
keys e
expect "Explain view" "e opens the Explain view"
expect "group 0 of 2: reads only input channels 0..3" "a grouped conv reads its group's input channels only"
expect "receptive field 51x51 px, jump 8 px" "the explained cell's receptive field"
expect "total (double)" "the total recomputed in double beside the engine's value"
# the two numbers agree to 1e-5 of the terms' size
line=$(screen | grep -F "difference" | head -n 1)
rel=$(echo "$line" | sed -n 's/.*(\([0-9.e+-]*\) of the terms.*/\1/p')
if [ -n "$rel" ] && awk -v r="$rel" 'BEGIN { exit !(r <= 1e-5) }'; then pass "explained and engine values agree ($rel)"
else fail "explained and engine values differ: $line"; fi
keys q
expect "Heatmap view" "q goes back to the Heatmap"

keys 8
expect "Input view" "8 opens the Input view"
expect "conv2 (y 0, x 0): receptive field 51x51 px, jump 8: rows 0..34, cols 0..34" "the box of conv2's cell (0, 0)"
keys l l j
expect "conv2 (y 1, x 2): receptive field 51x51 px, jump 8: rows 0..42, cols 0..50" "h j k l move the box"
expect "+--------" "the box is drawn over the picture"
keys b
expect "blend: channel 0" "b blends channel 0 over the image"

goto norm1
keys L
wait_gone "x: stop after this layer" 30
keys 9
expect "norm1: LRN off; recomputing norm1 .. prob" "L switches norm1 off and recomputes from there"
expect "WHAT-IF norm1 LRN off" "the status line marks the what-if"
expect "! what-if: norm1 LRN off" "the header marks the what-if"
if screen | grep -E '^ *[0-9]+ +norm1 .*!' >/dev/null; then pass "the layer list marks norm1 with !"; else fail "no ! by norm1 in the layer list"; fi
keys 6
expect "what-if: norm1 LRN off (not the net as specified" "Top-k says the classes come from a what-if"
keys S
expect "What-if: norm1 LRN off" "the Summary view states the what-if"
expect "pool5 " "the difference downstream, layer by layer"
expect "top-1 normal:" "the top-1 before and after"
keys L
wait_gone "x: stop after this layer" 30
if wait_gone "What-if:" 10; then pass "back to normal: no what-if shown"; else fail "the what-if is still shown"; fi
if wait_gone "WHAT-IF" 10; then pass "the status line drops the mark when undone"; else fail "WHAT-IF still on the status line"; fi
keys q

keys 7 h
expect "tower 1: kernels 4-7" "h in Filters splits conv1's kernels into the two towers"
goto conv2
keys 5
expect "grouping saves 1,600 of 3,216 parameters and 2,332,800 of 4,665,600 FLOPs" "the Groups view states what grouping saves"
keys T
wait_gone "x: stop after this layer" 30
keys S
expect "What-if: conv2 tower 0 zeroed" "T zeroes tower 0"
keys q T
wait_gone "x: stop after this layer" 30
keys S
expect "What-if: conv2 tower 1 zeroed" "T again zeroes tower 1"
keys q T
wait_gone "x: stop after this layer" 30
keys 9
expect "norm1: as specified" "L again switched norm1 back on"
expect "conv2: as specified" "a third T turns both towers on"
goto conv3
keys T
expect "T zeroes a tower of a conv with groups=2; conv3 has none" "T on an ungrouped conv says why not"
keys L
expect "L switches an LRN layer off and on; conv3 is conv" "L on a conv says why not"

keys Q
expect "EXIT=0" "Q quits with status 0"
echo "teach_e2e.sh: $fails failed"
[ "$fails" = 0 ]
