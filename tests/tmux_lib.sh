# Shared by the workbench's terminal tests (sourced by sh): finds tmux (exit
# 77, automake's SKIP, without it), the program and the source tree, and gives
# a private tmux server with screen polling, keys and pass/fail counting.

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
[ -n "$prog" ] || { echo "FAIL: alexscope program not found (build it first)"; exit 1; }
[ -n "${ALEXSCOPE_DATA:-}" ] || ALEXSCOPE_DATA="$srcdir/weights"
export ALEXSCOPE_DATA

# tmux_server PREFIX: the server's sockets in a short private folder that goes
# away at the end, with $work (if the test made one)
tmux_server() {
    socks=$(mktemp -d "/tmp/$1.XXXXXX") || exit 1
    sock="$socks/s"
    trap 'T kill-server >/dev/null 2>&1; rm -rf "$socks" ${work:+"$work"}' EXIT
    trap 'exit 1' INT TERM
}
T() { "$TMUX_CMD" -S "$sock" -f /dev/null "$@"; }

# tmux_session WIDTH HEIGHT SCRIPT: a fresh session running sh SCRIPT
tmux_session() {
    T new-session -d -x "$1" -y "$2" "env TERM=$term LANG=$lang LC_ALL=$lang sh '$3'" ||
        { echo "FAIL: tmux could not start a session"; exit 1; }
}

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
keys() { T send-keys "$@"; }
# what is on the screen (a test may redefine it)
screen() { T capture-pane -p; }

# Every wait below is multiplied by AX_TEST_WAIT_SCALE (default 1), for runs
# on a much slower build (tests/sanitize.sh sets it).
wait_scale=${AX_TEST_WAIT_SCALE:-1}

# waits up to $2 seconds (default 20) for a fixed string on the screen
wait_for() {
    n=$(( ${2:-20} * 5 * wait_scale ))
    while [ "$n" -gt 0 ]; do
        if screen 2>/dev/null | grep -qF -- "$1"; then return 0; fi
        sleep 0.2
        n=$((n - 1))
    done
    return 1
}

# waits up to $2 seconds (default 10) for a fixed string to leave the screen
wait_gone() {
    n=$(( ${2:-10} * 5 * wait_scale ))
    while [ "$n" -gt 0 ]; do
        if ! screen 2>/dev/null | grep -qF -- "$1"; then return 0; fi
        sleep 0.2
        n=$((n - 1))
    done
    return 1
}

# expect TEXT WHAT [SECONDS]: waits up to SECONDS (default 20) for a fixed
# string on the screen and counts the check
expect() { if wait_for "$1" "${3:-20}"; then pass "$2"; else fail "$2 (no \"$1\" on screen)"; fi; }

# expect_re ERE WHAT [SECONDS]: polls up to SECONDS (default $expect_wait,
# 20) for an extended regular expression on the screen
expect_wait=20
expect_re() {
    n=$(( ${3:-$expect_wait} * 5 * wait_scale ))
    while [ "$n" -gt 0 ]; do
        if screen 2>/dev/null | grep -qE -- "$1"; then pass "$2"; return 0; fi
        sleep 0.2
        n=$((n - 1))
    done
    fail "$2 (nothing like \"$1\" on screen)"
    return 1
}
