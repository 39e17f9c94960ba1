#!/usr/bin/env bash
# Builds the project with a sanitizer in a folder of its own and runs tests
# there; any sanitizer report fails the run. Not part of `make check` (a
# build and the runs take minutes).
#   tests/sanitize.sh thread  [TESTS...]  ThreadSanitizer (default tests: the
#                                         workbench in tmux, on the CPU and on
#                                         the emulated GPU, whose worker thread
#                                         computes while the UI thread draws)
#   tests/sanitize.sh address [TESTS...]  ASan + UBSan + LeakSanitizer (default:
#                                         the cross-backend emulation test and
#                                         the whole program on the emulated GPU)
# TESTS are names as in the Makefile's TESTS (tests/ui_e2e.sh, tests/check_net).
# The build folder is $AX_SAN_DIR (default /tmp/alexscope-san-KIND).
set -u
kind=${1:-}
case $kind in
    thread) flags="-fsanitize=thread"; dflt="tests/ui_e2e.sh tests/cuda_emu.sh" ;;
    address) flags="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
             dflt="tests/check_cuda_emu tests/cuda_emu.sh" ;;
    -h|--help|"") sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; [ -n "$kind" ]; exit $? ;;
    *) echo "sanitize.sh: unknown kind '$kind' (thread or address)" >&2; exit 2 ;;
esac
shift
tests=${*:-$dflt}
src=$(cd "$(dirname "$0")/.." && pwd)
dir=${AX_SAN_DIR:-/tmp/alexscope-san-$kind}
logs=$dir/san-logs
mkdir -p "$dir"
cd "$dir" || exit 1
if [ ! -f Makefile ]; then
    echo "==> configure ($kind) in $dir"
    "$src/configure" -q --disable-native CFLAGS="-g -O1 -fno-omit-frame-pointer $flags" \
        CXXFLAGS="-g -O1 -fno-omit-frame-pointer $flags" LDFLAGS="$flags" >configure.out 2>&1 \
        || { tail -n 20 configure.out; exit 1; }
fi
echo "==> make"
make -j"$(nproc)" >make.out 2>&1 || { tail -n 30 make.out; exit 1; }
rm -rf "$logs" && mkdir -p "$logs"
opts="log_path=$logs/report halt_on_error=0"
echo "==> make check TESTS=\"$tests\""
# the workbench tests' screen waits stretched for the slower build
AX_TEST_WAIT_SCALE=${AX_TEST_WAIT_SCALE:-5} TSAN_OPTIONS="$opts suppressions=$src/tests/tsan.supp" ASAN_OPTIONS="$opts detect_leaks=1" UBSAN_OPTIONS="$opts print_stacktrace=1" \
    CK_FORK=no make check TESTS="$tests" 2>&1 | grep -E '^(PASS|FAIL|SKIP|ERROR|XFAIL|XPASS):'
status=${PIPESTATUS[0]}
reports=$(ls "$logs" 2>/dev/null | wc -l)
if [ "$reports" != 0 ]; then
    echo "sanitize.sh: $reports report file(s) in $logs:"
    cat "$logs"/* | grep -E '^(SUMMARY|WARNING|ERROR):' | sort | uniq -c
    exit 1
fi
[ "$status" = 0 ] && echo "sanitize.sh: no $kind sanitizer report" || echo "sanitize.sh: the tests failed (status $status)"
exit "$status"
