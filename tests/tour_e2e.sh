#!/bin/sh
# The guided tour (alexscope --tour IMAGE) in a real terminal: every stop of
# it on caffe at 80x24 and 140x45 and on torchvision (no LRN, no groups: two
# stops fewer, and the first stop says so) at 80x24. Each stop's text is
# read from the screen, with the numbers the model gives (55 from
# (227 - 11) / 4 + 1, 9216 = 256 x 6 x 6, ...); n goes on, p back, Esc
# leaves the workbench where the stop put it. Exits 77 without tmux.

. "$(dirname "$0")/tmux_lib.sh"
tmux_server axtour

# the tour box's text, joined into one line (its lines wrap at the pane's width)
tour_text() { screen | sed -n '/tour: stop/,$p' | sed 's/^.*[|│] \{0,1\}//' | tr '\n' ' ' | tr -s ' '; }
stop() {   # stop K N PHRASE: the screen says stop K of N and its box holds PHRASE
    n=50
    while [ "$n" -gt 0 ]; do
        t=$(tour_text)
        case "$t" in *"tour: stop $1 of $2 "*"$3"*) pass "$label: stop $1 of $2 says \"$3\""; return 0 ;; esac
        sleep 0.2
        n=$((n - 1))
    done
    fail "$label: stop $1 of $2 lacks \"$3\" (box: $t)"
}

run_tour() {   # run_tour LABEL WIDTH HEIGHT MODEL
    label=$1
    cat > "$socks/run.sh" <<EOF2
"$prog" --tour --model $4 '$srcdir/samples/chelsea.png'
echo "EXIT=\$?"
sleep 60
EOF2
    # a server of its own for each run: one being killed cannot refuse the next
    T kill-server >/dev/null 2>&1
    sock="$socks/s$2x$3$4"
    tmux_session "$2" "$3" "$socks/run.sh"
    expect "tour: stop 1 of" "$label: --tour opens on its first stop" 60
}

caffe_stops() {
    stop 1 11 "made into 3 x 227 x 227 numbers"
    stop 1 11 "B, G, R order"
    keys n; stop 2 11 "(227 - 11) / 4 + 1 = 55"
    keys n; stop 3 11 "One feature map: channel"
    keys n; stop 4 11 "y = max(0, x)"
    keys n; stop 5 11 "damps the channels by"
    keys n; stop 6 11 "(55 - 3) / 2 + 1 = 27"
    keys n; stop 7 11 "two towers"
    keys n; stop 8 11 "163 x 163 input pixels"
    keys n; stop 9 11 "256 x 6 x 6 = 9216"
    keys n; stop 10 11 "softmax turns them into probabilities"
    keys n; stop 11 11 "Saliency"
    expect "Saliency view" "$label: the last stop opens the Saliency view" 60
    keys p; stop 10 11 "Top class here"
    expect "Top-k view" "$label: p goes back to the Top-k stop"
    keys Escape
    wait_gone "tour: stop" 10 && pass "$label: Esc leaves the tour" || fail "$label: the tour stayed after Esc"
    expect "Top-k view" "$label: the workbench stays where the stop put it"
    keys Q
    expect "EXIT=0" "$label: Q quits with status 0"
}

run_tour "caffe 80x24" 80 24 caffe
caffe_stops
run_tour "caffe 140x45" 140 45 caffe
caffe_stops

run_tour "torchvision 80x24" 80 24 torchvision
stop 1 9 "no LRN and no groups: the tour leaves those stops out"
keys n; stop 2 9 "floor((224 + 4 - 11) / 4) + 1 = 55"
keys n; stop 3 9 "One feature map"
keys n; stop 4 9 "y = max(0, x)"
keys n; stop 5 9 "(55 - 3) / 2 + 1 = 27"
keys n; stop 6 9 "receptive field"
keys n; stop 7 9 "256 x 6 x 6 = 9216"
keys n; stop 8 9 "softmax"
keys n; stop 9 9 "Saliency"
keys n
expect "the last stop" "torchvision: the bottom line says it is the last stop"
# a key of the workbench works during the tour, which stays open
keys 1
expect "Tensor view" "torchvision: other keys work during the tour"
stop 9 9 "Saliency"
keys Q
expect "EXIT=0" "torchvision: Q quits with status 0"

echo "tour_e2e.sh: $fails failed"
[ "$fails" = 0 ]
