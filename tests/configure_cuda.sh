#!/usr/bin/env bash
# configure against partial CUDA toolkits. A toolkit without the static
# runtime links the shared one with an rpath (and a program so linked runs);
# one without any runtime, or whose nvcc cannot compile a kernel, turns CUDA
# off and leaves no CUDA flag behind for the link; `--with-cuda=PATH` at such
# a toolkit is an error that says what is missing. Each toolkit is made of
# links into the real one, so this needs nvcc (skips with 77 without it).
set -u
shopt -s extglob
. "$(dirname "$0")/lib.sh"
nvcc=$(command -v nvcc || true)
[ -n "$nvcc" ] || { [ -x /usr/local/cuda/bin/nvcc ] && nvcc=/usr/local/cuda/bin/nvcc; }
[ -n "$nvcc" ] || { echo "SKIP: no nvcc in PATH or /usr/local/cuda/bin"; exit 77; }
home=$(cd "$(dirname "$(readlink -f "$nvcc")")/.." && pwd)
lib=""
for d in "$home/lib64" "$home/lib" "$home"/targets/*/lib "$home"/lib/*-linux-gnu; do
    ls "$d"/libcudart.so* >/dev/null 2>&1 && { lib=$d; break; }
done
[ -n "$lib" ] || { echo "SKIP: the toolkit at $home has no libcudart.so"; exit 77; }

tmp=$(mktemp -d /tmp/ax_confcuda_XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# toolkit NAME: a bin/nvcc that runs the real one, the real headers, and a
# lib64 of links to the real libraries that the filter keeps.
toolkit() {
    local name=$1 keep=$2 f
    mkdir -p "$tmp/$name/bin" "$tmp/$name/lib64"
    printf '#!/bin/sh\nexec "%s" "$@"\n' "$nvcc" > "$tmp/$name/bin/nvcc"
    chmod +x "$tmp/$name/bin/nvcc"
    ln -s "$home/include" "$tmp/$name/include"
    for f in "$lib"/*.so*; do
        case ${f##*/} in $keep) ln -s "$f" "$tmp/$name/lib64/" ;; esac
    done
}
toolkit shared '*'                       # every shared library, no .a
toolkit none '@(libcublas*|libcudnn*)'   # no CUDA runtime at all
mkdir -p "$tmp/badnvcc/bin"
printf '#!/bin/sh\necho "nvcc fatal   : unsupported host compiler" >&2\nexit 1\n' > "$tmp/badnvcc/bin/nvcc"
chmod +x "$tmp/badnvcc/bin/nvcc"
ln -s "$home/include" "$tmp/badnvcc/include"
ln -s "$lib" "$tmp/badnvcc/lib64"

# A source tree configured in place refuses another build folder, so
# configure runs from a tree of links to the source without its build state.
mkdir "$tmp/srcdir"
for f in "$src"/* "$src"/.[!.]*; do
    [ -e "$f" ] || continue
    case ${f##*/} in config.status|config.h|config.log|Makefile|stamp-h1|.git) continue ;; esac
    ln -s "$f" "$tmp/srcdir/"
done

# conf NAME [ARGS]: configure in $tmp/build-NAME with NAME's nvcc first in PATH.
conf() {
    local name=$1; shift
    mkdir -p "$tmp/build-$name"
    (cd "$tmp/build-$name" && PATH="$tmp/$name/bin:$PATH" "$tmp/srcdir/configure" "$@" >out.log 2>&1)
}
var() { sed -n "s/^$2 = //p" "$tmp/build-$1/Makefile"; }
cuda_on() { grep -q '^#define AX_HAVE_CUDA 1' "$tmp/build-$1/config.h"; }

# 1. shared runtime only
if conf shared; then
    libs=$(var shared CUDA_LIBS)
    case $libs in
        *"$tmp/shared/lib64/libcudart.so"*-Wl,-rpath,"$tmp/shared/lib64"*) ok ;;
        *) bad "shared-only toolkit: CUDA_LIBS = '$libs', expected its libcudart.so and an rpath" ;;
    esac
    cuda_on shared && ok || bad "shared-only toolkit: CUDA was turned off"
    grep -q 'CUDA *: yes .*runtime shared' "$tmp/build-shared/out.log" && ok \
        || bad "shared-only toolkit: the summary does not say the runtime is shared: $(grep 'CUDA *:' "$tmp/build-shared/out.log")"
    # a program linked with exactly these flags starts without LD_LIBRARY_PATH
    printf '#include <cuda_runtime.h>\n#include <stdio.h>\nint main(void) { int v = 0; cudaRuntimeGetVersion(&v); printf("runtime %%d\\n", v); return v > 0 ? 0 : 1; }\n' > "$tmp/rt.c"
    # shellcheck disable=SC2086
    if ${CC:-cc} $(var shared CUDA_CPPFLAGS) -o "$tmp/rt" "$tmp/rt.c" $libs 2>"$tmp/rt.log"; then
        out=$(env -u LD_LIBRARY_PATH "$tmp/rt" 2>&1) && ok || bad "the program linked with CUDA_LIBS does not run: $out"
    else
        bad "a program does not link with CUDA_LIBS: $(head -c 300 "$tmp/rt.log")"
    fi
else
    bad "configure failed with a shared-only toolkit: $(tail -n 3 "$tmp/build-shared/out.log")"
fi

# 2 and 3. no runtime; an nvcc that cannot compile: CUDA off, nothing left to link
for name in none badnvcc; do
    if conf "$name"; then
        ! cuda_on "$name" && ok || bad "$name: CUDA is still on"
        left=$(grep -E '^(CUDA_LIBS|CUDA_CPPFLAGS|LIBS|CUDNN_DEFS) = ' "$tmp/build-$name/Makefile" | grep -E 'cuda|cudnn')
        [ -z "$left" ] && ok || bad "$name: CUDA flags left for the link: $left"
        case $name in
            none) why='no libcudart_static.a or libcudart.so' ;;
            badnvcc) why='cannot compile a kernel' ;;
        esac
        grep -q "WARNING:.*$why" "$tmp/build-$name/out.log" && ok || bad "$name: no warning saying '$why'"
        grep -q "CUDA *: no: .*$why" "$tmp/build-$name/out.log" && ok \
            || bad "$name: the summary does not say why: $(grep 'CUDA *:' "$tmp/build-$name/out.log")"
    else
        bad "configure failed with toolkit '$name' (it should build without CUDA): $(tail -n 3 "$tmp/build-$name/out.log")"
    fi
done

# 4. asked for by path, a toolkit without a runtime is an error naming the reason
if conf none --with-cuda="$tmp/none"; then
    bad "--with-cuda=$tmp/none (no runtime) configured"
else
    grep -q "error: --with-cuda: .*no libcudart_static.a or libcudart.so in $tmp/none/lib64" "$tmp/build-none/out.log" && ok \
        || bad "--with-cuda=$tmp/none: error lacks the reason: $(tail -n 2 "$tmp/build-none/out.log")"
fi

echo "configure_cuda: $pass passed, $fail failed"
[ "$fail" = 0 ]
