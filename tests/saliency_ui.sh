#!/bin/sh
# End-to-end test of the workbench's gradients: drives ./alexscope in a
# private tmux server on the half-width net (fast) and checks the Saliency
# view (0), Top-k's Enter and e on the second class, and G in Channels and Heatmap.
# Every check polls the screen (no fixed sleeps).
# Exits 77 (automake's SKIP) when tmux is missing.

. "$(dirname "$0")/tmux_lib.sh"
sample="$srcdir/samples/chelsea.png"
[ -f "$sample" ] || { echo "FAIL: $sample missing"; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/alexscope-sal.XXXXXX") || exit 1
tmux_server axsal
expect() { expect_re "$(printf '%s' "$1" | sed 's/[][\.*^$(){}+?|]/\\&/g')" "$2" "$3"; }

# the view's pane: what is right of the layer list's divider
pane() { screen | LC_ALL=C awk -F '│' 'NF > 1 { print $2 }'; }

cat > "$work/run.sh" <<EOF
cd "$work" || exit 1
"$prog" --model keras-half '$sample'
echo "EXIT=\$?"
sleep 60
EOF
tmux_session 120 40 "$work/run.sh"
expect "Tensor view" "the workbench opens on the input" 60

# ---- 0: the Saliency view of the top class
keys 0
expect "[0 Saliency]" "0 opens the Saliency view"
expect_re "Saliency view .+ \|d logit\[[0-9]+ [a-z]+\] / d input\| .+ max over channels" \
    "its title names the class and the input" 60
expect "rank 1 of 5" "the map is of the top class" 60
top=$(screen | sed -n 's/.*d logit\[\([0-9]*\) .*/\1/p' | head -n 1)
largest=$(pane | sed -n 's/^ *largest \([0-9.e+-]*\) at .*/\1/p' | head -n 1)
if [ -n "$largest" ] && awk -v v="$largest" 'BEGIN { exit !(v + 0 > 0) }'; then
    pass "the largest |gradient| is above zero ($largest)"
else
    fail "no positive largest |gradient| (\"$largest\")"
fi
# a map, not a flat field: without colours its cells use several levels of the ramp
keys m
expect "probability" "m: the view without colours"
levels() { pane | sed -n '5,20p' | fold -w 1 | sort -u | grep -c .; }
n=$(( 20 * 5 * wait_scale ))
nlev=$(levels)
while [ "$nlev" -lt 3 ] && [ "$n" -gt 0 ]; do sleep 0.2; n=$((n - 1)); nlev=$(levels); done
if [ "$nlev" -ge 3 ]; then pass "the map has $nlev levels"; else fail "the map has $nlev levels"; fi
keys m
keys "]"
expect_re "/ d input\| .+ channel [RGB]" "] shows one input channel"
keys "["
keys c
expect_re "/ d input\| .+ max and each channel" "c shows every channel's map"
expect_re "max +channel [RGB] +channel [RGB] +channel [RGB]" "... side by side, each named"
keys c
expect_re "/ d input\| .+ max over channels" "c again: one map"
keys p
expect "scale to the 99th percentile" "p in Saliency is its scale (the view's key comes before the global p)"
if screen | grep -q "\[0 Saliency\]"; then pass "... and p did not leave the view"; else fail "p left the Saliency view"; fi
keys p

# ---- Top-k: Enter on the second class explains it
keys 6
expect "Top-k view" "6 opens the Top-k view"
expect "probabilities from prob" "the forward pass went to the probabilities"
second=$(pane | grep '%' | sed -n 's/.* \([0-9][0-9]*\) [a-z][a-z]* *$/\1/p' | sed -n 2p)
[ -n "$second" ] || fail "no second class row in the Top-k view"
keys j Enter
expect "rank 2 of 5" "Enter on the second row opens the Saliency view for it" 60
expect "d logit[$second " "... of that class ($second)"
if [ "$second" != "$top" ]; then pass "the class changed ($top to $second)"; else fail "the class did not change ($top)"; fi
# e on the same row explains that class's value, not the top one's
keys 6
expect "Top-k view" "back in Top-k, the second row still selected"
keys e
expect_re "Explain view .+ output $second( |$)" "e explains the selected class ($second), not the top one" 30

# ---- G: the class's gradient on conv5 in Channels and Heatmap
keys g; keys -l conv5; keys Enter
keys 2 G
expect_re "Channels view .+ d logit\[$second [a-z]+\] / d conv5" "G in Channels shows the gradient of the chosen class" 60
expect "mean|g|" "the gradient table has a mean |g| column"
expect "sum g*a" "... and the first-order share sum g*a"
vals=$(pane | awk '/mean\|g\|/ { on = 1; next } on && $1 ~ /^[0-9]+$/ { print $2 }' | head -n 8)
if [ "$(echo "$vals" | wc -l)" -ge 5 ] && echo "$vals" | awk 'NR > 1 && $1 + 0 > prev + 0 { bad = 1 } { prev = $1 } END { exit bad }'; then
    pass "the channels are sorted by mean |g|, largest first"
else
    fail "the channels are not sorted by mean |g| (got: $(echo $vals))"
fi
keys Right
expect_re "max\|g\|[^ ]" "Right sorts by the next column (its heading carries the arrow)"
keys 3
expect_re "Heatmap view .+ d logit\[$second [a-z]+\] / d conv5" "the Heatmap view shows the gradient too"
keys G
expect_re "Heatmap view [^ ]{1,3} conv5 .+ channel [0-9]+ of 128" "G again shows the activation"
if screen | grep -q "d logit"; then fail "the gradient is still named after G"; else pass "... and no gradient is named"; fi
keys 2
expect_re "Channels view .+ conv5 .+ 128 channels of 13x13" "... in Channels too"

keys Q
expect "EXIT=0" "Q quits with status 0"

if [ "$fails" -ne 0 ]; then
    echo "$fails check(s) failed"
    exit 1
fi
echo "all saliency UI checks passed"
exit 0
