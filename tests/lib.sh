# Shared by the command-line shell tests (sourced, after `set -u`): where the
# source tree and the program are, the pass/fail counters, and expect.
# Set expect_tail before a failing expect to show more or fewer output lines.
src=${AX_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
prog=${AX_PROG:-./alexscope}
[ -x "$prog" ] || prog="$src/alexscope"
export ALEXSCOPE_DATA=${ALEXSCOPE_DATA:-$src/weights}
pass=0 fail=0
expect_tail=8

ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

# expect STATUS PATTERN -- command...: exit status and a line of output match.
expect() {
  local want=$1 pattern=$2; shift 3
  local out rc
  out=$("$@" 2>&1); rc=$?
  if [ "$rc" != "$want" ]; then bad "$* -> exit $rc, expected $want"; printf '%s\n' "$out" | tail -"$expect_tail"; return; fi
  if ! printf '%s\n' "$out" | grep -q -E -- "$pattern"; then bad "$* -> output lacks /$pattern/"; printf '%s\n' "$out" | tail -"$expect_tail"; return; fi
  ok
}
