#!/bin/sh
# The Top images view (M) in a real terminal at 80x24: on conv1 it ranks the
# --maxact-dir folder in the background, shows the selected channel's crops
# with the values and images `alexscope maxact` gives for that channel, and
# ] shows the next channel's crops (other pictures, other values) from the
# same pass; Down starts the next layer's. Exits 77 without tmux.

. "$(dirname "$0")/tmux_lib.sh"
tmux_server axmaxact
work=$(mktemp -d /tmp/ax_maxact_e2e.XXXXXX)
mkdir "$work/imgs"
cp "$srcdir"/samples/*.png "$srcdir"/samples/*.jpg "$work/imgs/"

# the command's ranks 1 and 2 for a channel of conv1: "VALUE NAME" lines
ranks() {
    "$prog" maxact --layer conv1 --channel "$1" --top 8 "$work/imgs" 2>/dev/null |
        awk '$1 == "'"$1"'" && ($2 == 1 || $2 == 2) { print $2 " " $3 " " substr($6, 1, 4) }'
}
r0=$(ranks 0)
r1=$(ranks 1)
[ "$(echo "$r0" | wc -l)" = 2 ] && [ "$r0" != "$r1" ] && pass "maxact gives channels 0 and 1 their ranks" ||
    fail "maxact's ranks: '$r0' / '$r1'"

# the crop tiles: the pane right of the heatmap, captions left out
tiles() { screen | sed -n '4,21p' | cut -c 46-; }

cat > "$socks/run.sh" <<EOF2
"$prog" --mono --maxact-dir '$work/imgs' '$srcdir/samples/chelsea.png'
echo "EXIT=\$?"
sleep 60
EOF2
tmux_session 80 24 "$socks/run.sh"
expect "Tensor view" "the workbench opens" 60
keys n
expect "conv1 (1, 96, 55, 55)" "n computes conv1"
keys M
expect "Top images view" "M opens the Top images view"
expect "top 4 of 4 images" "the pass ranks the folder's 4 images" 60
while read -r rank value name; do   # not a pipe: fails counts in this shell
    expect "$rank $value $name" "channel 0, rank $rank: $value ($name...) as maxact says" 30
done <<EOF2
$r0
EOF2
# the crops are drawn (the ramp's characters in the tiles) before the next channel
wait_for "1 $(echo "$r0" | head -1 | cut -d' ' -f2)" 5
t0=$(tiles)
printf '%s\n' "$t0" | grep -q '[#%@=+*]' && pass "channel 0's crops are drawn" || fail "no crop pictures on screen"
keys ']'
expect "conv1 channel 1 of 96" "] selects channel 1"
while read -r rank value name; do
    expect "$rank $value $name" "channel 1, rank $rank: $value ($name...) as maxact says" 30
done <<EOF2
$r1
EOF2
sleep 0.5
t1=$(tiles)
[ -n "$t1" ] && [ "$t0" != "$t1" ] && pass "channel 1 shows other crops than channel 0" ||
    fail "the crops did not change with the channel"
keys '['
expect "conv1 channel 0 of 96" "[ goes back to channel 0"
expect "$(echo "$r0" | head -1)" "channel 0's crops again, from the same pass" 30
keys Down
expect "relu1 channel 0 of 96" "Down: the next layer in the view"
expect "top 4 of 4 images" "the next layer gets its own pass" 60
keys Q
expect "EXIT=0" "Q quits with status 0"

echo "maxact_e2e.sh: $fails failed"
[ "$fails" = 0 ]
