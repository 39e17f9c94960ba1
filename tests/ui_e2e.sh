#!/bin/sh
# End-to-end test of the workbench in a real terminal: drives ./alexscope
# inside a private tmux server (send-keys / capture-pane) and checks what is on
# screen, the saved files, and the exit status and terminal after quitting.
# Every check polls the screen (no fixed sleeps), so a busy machine only makes
# it slower.
# Exits 77 (automake's SKIP) when tmux is missing.

. "$(dirname "$0")/tmux_lib.sh"
sample="$srcdir/samples/chelsea.png"
[ -f "$sample" ] || { echo "FAIL: $sample missing"; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/alexscope-e2e.XXXXXX") || exit 1
tmux_server axui

# one byte per screen cell: every non-ASCII character becomes "|"
ascii() { LC_ALL=$lang sed 's/[^ -~]/|/g'; }

# the header line (first screen row)
header() { screen | head -n 1; }

# waits until no layer is being computed (the bottom line stops saying so)
idle() { wait_gone "x: stop after this layer" "${1:-20}"; }

# Starts the program in a fresh session; the shell stays to report the exit status.
# $5: the program's arguments, already quoted for sh (default: the sample image).
start() {
    T kill-server >/dev/null 2>&1
    sock="$socks/$1"
    args=${5:-"'$sample'"}
    cat > "$work/run.sh" <<EOF
trap : INT
cd "$work" || exit 1
${PRE:-}
$2 "$prog" $args
echo "EXIT=\$?"
sleep 60
EOF
    tmux_session "$3" "$4" "$work/run.sh"
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
for name in Tensor Channels Heatmap LRN Groups Top-k Filters Input Messages; do
    keys "$i"
    expect "$name view" "key $i shows the $name view"
    i=$((i + 1))
done
# the histogram spans the pane (its max label near the right edge, not at bin 48)
keys 1
wait_for "histogram of" 10
w=$(screen | ascii | grep -E '^ *\| -?[0-9.e+-]+ .* -?[0-9.e+-]+ *$' | tail -n 1 |
    sed 's/ *$//' | awk '{ print length($0) }')
if [ -n "$w" ] && [ "$w" -ge 110 ]; then pass "the histogram uses the pane's width ($w columns)"; else fail "the histogram is narrow (${w:-no} columns)"; fi
keys 8
expect "x[c] = pixel[c] - mean[c]   (pixel in 0..255)" "the Input view's formula is the spec's own (0..255 minus mean)"
keys 2
expect "96 channels of 55x55" "the channels table lists conv1's 96 channels"
# every heading ends in the column where its values end
s=$(screen | ascii)
hl=$(echo "$s" | grep -n "zero%" | head -n 1)
if [ -n "$hl" ]; then
    row=${hl%%:*}
    endcol=$(echo "$s" | sed -n "${row}p" | awk '{ print index($0, "zero%") + 4 }')
    val=$(echo "$s" | sed -n "$((row + 1))p" | cut -c"$((endcol - 2))-$((endcol + 1))")
    case "$val" in
        [0-9].[0-9]" ") pass "the zero% values line up under their heading ($val)" ;;
        *) fail "the zero% values do not line up under their heading (\"$val\")" ;;
    esac
else
    fail "no Channels header"
fi
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
expect "it acts once the window's sum of x^2 nears k / scale" "the LRN view says how large inputs must be"
expect_re "after/before per channel \(1 = untouched\): min 0\.[0-8]" "with the seeded weights LRN damps some channel by 10% or more"
expect "after/before per channel" "the LRN view shows the suppression per channel"

keys g; keys -l conv2; keys Enter
keys 5
expect "tower B" "the groups view shows two towers on conv2"
keys End
expect_re "rows [0-9]+-([0-9]+) of \\1\\)" "End scrolls the towers to their last row"
keys Home
expect_re "rows 1-[0-9]+ of" "Home scrolls them back to the first"
keys 7 End
expect_re "kernel rows [0-9]+-([0-9]+) of \\1 " "End scrolls the Filters kernels to the last row"
keys PPage PPage PPage PPage
expect "kernel rows 1-" "PgUp scrolls the kernels back"

keys a
keys 6
expect "Top-k view" "a runs all layers; the Top-k view shows classes" 60
expect "probabilities from prob" "the Top-k view ranks the probabilities of the last layer" 5
keys 1 g; keys -l prob; keys Enter
expect "exp + div" "the softmax's operations are exp + div"
keys g; keys -l pool1; keys Enter
expect "comparisons, one per window element" "a max pool's operations are comparisons"
expect "(55 - 3) / 2 + 1 = 27 rows and columns" "the Tensor view works out pool1's output size"
keys g; keys -l fc6; keys Enter
expect "9216 -> 4096" "the Tensor view gives fc6 as 9216 -> 4096"
expect_re "input +\(1, 256, 6, 6\) from pool5" "fc6's input is pool5's (1, 256, 6, 6)"
keys g; keys -l fc7; keys Enter
expect_re "input +\(1, 4096\) from drop6" "fc7's input is (1, 4096) from drop6, not (1, 4096, 1, 1)"

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
# every page of the help, from the first (PgDn until the last line is on show),
# one file each (wait_gone keeps its own count in n)
page=$(screen)
hp=0
echo "$page" > "$work/help.$hp"
while echo "$page" | grep -q " lines [0-9]*-" && [ "$hp" -lt 20 ]; do
    range=$(echo "$page" | grep -o " lines [0-9]*-[0-9]* of [0-9]*" | head -n 1)
    last=$(echo "$range" | sed 's/.*-\([0-9]*\) of \([0-9]*\)/\1 \2/')
    [ "${last% *}" -ge "${last#* }" ] && break
    keys NPage
    wait_gone "$range" 5
    page=$(screen)
    hp=$((hp + 1))
    echo "$page" > "$work/help.$hp"
done
keys Home
for want in "previous layer (never recomputes)|the global keys" "sort ascending / descending|the views' keys" \
    "quits at the top view|the q rule" "first divergent layer|the Diff mode's keys" \
    "load side B|the Diff mode's W"; do
    if cat "$work"/help.* | grep -qF "${want%%|*}"; then pass "the help lists ${want#*|}"
    else fail "the help lists ${want#*|} (no \"${want%%|*}\" on any page)"; fi
done
# every view's heading stands in the same column as its first key, on the
# next row, on some page of the help
# the four cells under heading $2 in $1 (empty when it is not there)
under() {
    echo "$1" | ascii | awk -v h="$2" 'found { print substr($0, col + 1, 4); exit }
        { i = index($0, h); if (i) { found = 1; col = i } }'
}
bad=""
for v in "1 Tensor view" "2 Channels view" "3 Heatmap view" "4 LRN view" "5 Groups view" "6 Top-k view" \
    "7 Filters view" "8 Input view" "9 Messages view" "Summary view" "0 Saliency view" "D Diff view"; do
    ok=""
    for f in "$work"/help.*; do
        r=$(under "$(cat "$f")" "$v")
        case "$r" in ""|" "*) ;; *) ok=1 ;; esac
    done
    [ -n "$ok" ] || bad="$bad [$v]"
done
if [ -z "$bad" ]; then pass "each view's heading in the help has its keys below it"; else fail "help headings cut from their keys:$bad"; fi
keys x
if wait_gone "Help: keys" 5; then pass "any key closes the help"; else fail "a key did not close the help"; fi

T resize-window -x 80 -y 24 >/dev/null 2>&1 || T refresh-client -C 80x24 >/dev/null 2>&1
expect " 1 conv1 conv 96x55x55" "after resizing to 80x24 the layer list takes its narrow form"
expect " 4 pool1 max… 96x27x27" "a type cut to fit ends with …"
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

# ---------------------------------------------------------------- keys typed while computing
# "n" then bursts of "nnn": every step is kept, none is lost while the worker
# computes (autorepeat and SSH send exactly such bursts).
start steps "" 120 40
expect "Tensor view" "third start" 60
keys n
expect "  1/23" "n moves to layer 1"
pos=1
lost=0
for burst in 1 2 3 4 5 6 7; do
    keys nnn
    pos=$((pos + 3))
    if ! wait_for "  $pos/23" 10; then
        lost=1
        fail "burst $burst of nnn: not at layer $pos ($(header | grep -o ' [0-9]*/23'))"
        break
    fi
done
idle
if [ "$lost" = 0 ]; then
    if header | grep -qF "  22/23"; then pass "n + 7 bursts of nnn advanced exactly 22 layers"; else fail "the steps went past layer 22"; fi
fi

# the layer list moves with the keys in views that do not scroll, and with the mouse
keys Up
expect "  21/23" "Up in the Tensor view goes to the previous layer"
keys Home
expect "  0/23" "Home goes to the input"
keys End
expect "  22/23" "End goes to the last computed layer"
# a click (X10 mouse report) on the row of relu1: column 6, screen row 3 (1-based, 32 added)
click() { T send-keys -l "$(printf '\033[M%s' "$1")$(printf "\\$(printf %o $((33 + $2)))")$(printf "\\$(printf %o $((33 + $3)))")"; }
click " " 5 3
click "#" 5 3
expect "  2/23" "a click on the layer list selects that layer"

# drilling in and going back: Channels -> Enter -> Heatmap -> Esc / Backspace / q
keys g 1 Enter
expect "  1/23" "g 1 goes to conv1"
keys 2 Down Down Down
expect "row 4 of 96" "Down selects rows in Channels"
expect "Enter heatmap" "the bottom line shows the Channels keys"
keys Enter
expect "channel 3 of 96" "Enter opens the selected channel's heatmap"
expect "t tiles" "the bottom line shows the Heatmap keys"
keys Escape
expect "Channels view" "Esc goes back to Channels"
expect "row 4 of 96" "... on the same row"
keys Enter
expect "channel 3 of 96" "Enter again"
keys BSpace
expect "row 4 of 96" "Backspace goes back to Channels on the same row"
keys Enter
expect "q back" "in a drilled-in view the key line says q goes back"
keys q
expect "row 4 of 96" "q in a drilled-in view goes back"
if screen | grep -qF "EXIT="; then fail "q in a sub-view quit"; else pass "q in a sub-view did not quit"; fi
keys End
expect "row 96 of 96" "End goes to the last row"
keys Home
expect "row 1 of 96" "Home goes to the first row"
keys NPage
expect "row 34 of 96" "PgDn moves a page"
keys Right
expect "row 1 of 96 · sorted by min" "after sorting, the list starts at its top"
keys 3 t
expect "tiles: channels" "t shows the tiles"
keys Enter
wait_gone "tiles: channels" 5
keys Escape
expect "tiles: channels" "Esc from a map opened in the tiles goes back to the tiles"

# / finds a channel (in channel views) or a layer; an ambiguous g lists the candidates
keys 2 / 4 2 Enter
expect "heatmap of channel 42" "/ 42 selects channel 42 in Channels"
keys /; keys -l pool1
keys Enter
expect "pool1 (1, 96, 27, 27)" "/ pool1 goes to that layer"
keys g; keys -l fc
expect "fc6 fc7 fc8" "the g prompt lists the names its prefix matches"
keys Escape g; keys -l conv
keys Enter
expect "\"conv\" matches 5 layers: conv1 conv2 conv3 conv4 conv5" "an ambiguous g lists the candidates"
keys Q
expect "EXIT=0" "Q quits from anywhere"

# ---------------------------------------------------------------- Ctrl-C while computing
start ctrlc "" 100 30
expect "Tensor view" "second start" 60
keys a
wait_for "x: stop after this layer" 5 || :   # a fast machine may finish first: Ctrl-C then comes after
keys C-c
expect "EXIT=130" "Ctrl-C ends the program (status 130)"
if screen | grep -qF "alexscope ·"; then fail "Ctrl-C left the workbench on screen"; else pass "Ctrl-C restored the terminal"; fi

# ---------------------------------------------------------------- Ctrl-C read as a key
# With the terminal's signal keys off (stty -isig), Ctrl-C reaches the
# workbench as a key; it ends it like SIGINT, with status 130.
PRE="stty -isig" start rawc "" 100 30
PRE=
expect "Tensor view" "start with the signal keys off" 60
keys C-c
expect "EXIT=130" "Ctrl-C read as a key ends the program with status 130"

# ---------------------------------------------------------------- Ctrl-\ (SIGQUIT)
# Ctrl-\ (or a 0x1c in a paste) used to dump core (status 131) and leave
# the terminal without echo and line editing: it quits like Ctrl-C, and the
# terminal is as it was (the script prints stty's view of it afterwards).
T kill-server >/dev/null 2>&1
sock="$socks/quit"
cat > "$work/run.sh" <<EOF
trap : INT QUIT
cd "$work" || exit 1
"$prog" '$sample'
echo "EXIT=\$?"
stty -a | tr ' ;' '\n\n' | grep -x -e icanon -e -icanon -e echo -e -echo | tr '\n' ' ' | sed 's/^/TTY=/'
echo
sleep 60
EOF
tmux_session 100 30 "$work/run.sh"
expect "Tensor view" "start for Ctrl-\\" 60
keys 'C-\'
expect "EXIT=130" "Ctrl-\\ ends the program like Ctrl-C (status 130, no core dump)"
expect "TTY=icanon echo" "after Ctrl-\\ the terminal has its line editing and echo back"

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
expect "image 1/16" "the header says which image of the batch is shown"
# keys typed during a long run are kept: a view switch and one more step
keys g; keys -l norm1
keys Enter 2 n
expect "Channels view" "a view key typed while computing is applied"
idle 60
if header | grep -qF "pool1 (16, 96, 27, 27)  4/23"; then
    pass "n typed during g norm1 went on to pool1"
else
    fail "n typed during g norm1 was lost ($(header))"
fi
keys a x a
expect ".. prob: " "a after x runs on to the last layer (the stop does not swallow it)" 120

# ---------------------------------------------------------------- weights with a note, a batch of two
fx="$srcdir/tests/fixtures/ref"
start tiny "" 100 24 "-m '$fx/caffe-tiny.net' -w '$fx/caffe-tiny.bvlc.npy' --input '$fx/caffe-tiny.input.npy'"
expect "Tensor view" "start on caffe-tiny with TensorFlow-layout weights" 60
expect "note: " "what loading said is on the bottom line"
expect "1 note (key 9)" "the status line counts the note and names its key"
if screen | grep -qi "warning"; then fail "a correct conversion is called a warning"; else pass "a correct conversion is a note"; fi
if screen | tail -n 1 | grep -q "…$"; then pass "the cut message ends with …"; else fail "the cut message does not end with …"; fi
expect "image 1/2" "the header says image 1 of 2"
mm1=$(screen | grep "min / max")
keys ">"
expect "image 2/2" "> shows the second image"
mm2=$(screen | grep "min / max")
if [ -n "$mm1" ] && [ "$mm1" != "$mm2" ]; then pass "the statistics follow the image ($mm2)"; else fail "the statistics did not change with the image"; fi
keys 8
expect "image 2 of 2" "the Input view shows the second image"
keys 9
expect "Messages view" "9 opens the messages"
expect "TensorFlow-layout" "the messages view has the conversion note"
keys "<"
expect "image 1/2" "< goes back to the first image"
keys q
expect "alexscope: note: " "after quitting the note is on stderr"
expect "EXIT=0" "q quits the tiny session"

# without UTF-8, text cut short ends with "~"
start ascii "LANG=C LC_ALL=C" 80 24 "-m '$fx/caffe-tiny.net' -w '$fx/caffe-tiny.bvlc.npy' --input '$fx/caffe-tiny.input.npy'"
expect "Tensor view" "start in the C locale" 60
if screen | tail -n 1 | grep -q "[^~]~$"; then pass "without UTF-8 the cut message ends with ~"; else fail "without UTF-8 the cut message does not end with ~"; fi
keys q
expect "EXIT=0" "q quits the C-locale session"

# ---------------------------------------------------------------- terminals that cannot draw
start dumb "TERM=dumb" 200 10
expect "cannot move the cursor" "TERM=dumb is refused with one line" 30
expect "alexscope dump" "... that points to dump"
expect "EXIT=1" "... and exit status 1"
start noterm "TERM=no-such-terminal" 200 10
expect "not in the terminfo database" "an unknown TERM is refused" 30
expect "EXIT=1" "... with exit status 1"

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
# conv1 before its ReLU has both signs: the signed mono ramp, -max [@%o=- 0 .:+*#] +max
expect_re '-[0-9.e+]+ ?\[@+%+o+=+-+0\.+:+\++\*+#+\] ?\+[0-9.e+]+' "a signed map has the diverging legend in mono"
# the map rows, right of the layer list: both signs' marks are there
if screen | sed -n '4,20s/^[^|│]*[|│]//p' | grep -q '[@%o=].*[.:+*#]\|[.:+*#].*[@%o=]'; then
    pass "the signed conv1 map has negative and positive marks"
else
    fail "the signed conv1 map lacks one sign's marks"
fi
keys 8
expect "then centre crop" "the input view reads without colours"
# Groups at 80x24: tiles of at least 8x4 cells, each under its channel's number
keys g; keys -l conv2; keys Enter
keys 5
expect "tower A: channels 0-127" "the Groups view at 80x24"
expect_re "[|│] 0 +1 +128 +129" "the tiles carry their channel numbers, towers side by side"
keys q
expect "EXIT=0" "q quits the mono session"

if [ "$fails" -ne 0 ]; then
    echo "$fails check(s) failed"
    exit 1
fi
echo "all UI checks passed"
exit 0
