#!/usr/bin/env bash
# The command line as a user meets it: dump's rows and top-k, saved
# activations, --input, and a clear message and exit status for each mistake.
set -u
. "$(dirname "$0")/lib.sh"
expect_tail=5
tmp=$(mktemp -d /tmp/ax_cli_XXXXXX)
trap 'rm -rf "$tmp"' EXIT

img=$src/samples/chelsea.png
out=$("$prog" dump "$img" 2>&1) || bad "dump failed: $out"
rows=$(printf '%s\n' "$out" | grep -c -E '^ +[0-9]+  [a-z]')
[ "$rows" = 23 ] && ok || bad "dump printed $rows layer rows, expected 23"
printf '%s\n' "$out" | grep -q -E '^  0  conv1 +conv +\(1, 96, 55, 55\)' && ok || bad "no conv1 (1, 96, 55, 55) row"
printf '%s\n' "$out" | grep -q -E '^ 14  pool5 +maxpool +\(1, 256, 6, 6\)' && ok || bad "no pool5 (1, 256, 6, 6) row"
printf '%s\n' "$out" | grep -q 'UNTRAINED seeded weights' && ok || bad "dump does not say the weights are untrained"
[ "$(printf '%s\n' "$out" | grep -c -E '^ +[1-5]\. +[0-9]+ ')" = 5 ] && ok || bad "no top-5 rows"

expect 0 '^ +3\. ' -- "$prog" dump --topk 3 --model torchvision "$img"
expect 0 'no top-k: the tf-bench model ends in maxpool' -- "$prog" dump --model tf-bench "$img"

# Saved activations: one .npy per layer, and the input fed back reproduces the run.
"$prog" dump --save-activations "$tmp/acts" "$img" > "$tmp/dump1.txt" 2>&1 || bad "dump --save-activations failed"
n=$(ls "$tmp/acts" | grep -c '\.npy$')
[ "$n" = 24 ] && ok || bad "$n .npy files saved, expected 24 (23 layers and the input)"
"$prog" dump --input "$tmp/acts/input.npy" > "$tmp/dump2.txt" 2>&1 || bad "dump --input failed"
if diff <(sed -n '/^  0  conv1/,/^ 22 /p' "$tmp/dump1.txt" | awk '{$NF=""; print}') \
        <(sed -n '/^  0  conv1/,/^ 22 /p' "$tmp/dump2.txt" | awk '{$NF=""; print}') > /dev/null; then ok
else bad "the saved input does not reproduce the statistics of the image run"; fi

# Mistakes: each one message naming the problem; 1 for errors, 2 for usage.
printf 'not an image' > "$tmp/text.png"
head -c 100 "$img" > "$tmp/cut.png"
printf 'garbage that is no weights file at all' > "$tmp/bad.safetensors"
expect 1 'missing\.png' -- "$prog" dump "$tmp/missing.png"
expect 1 'text\.png' -- "$prog" dump "$tmp/text.png"
expect 1 'cut\.png' -- "$prog" dump "$tmp/cut.png"
expect 1 "unknown model 'vgg'" -- "$prog" dump --model vgg "$img"
expect 1 'bad\.safetensors' -- "$prog" dump --weights "$tmp/bad.safetensors" "$img"
expect 2 'dump needs an IMAGE or --input' -- "$prog" dump
expect 2 "unknown option '--frobnicate'" -- "$prog" dump --frobnicate "$img"
expect 2 'expected a whole number' -- "$prog" dump --topk zero "$img"
expect 2 'needs a value' -- "$prog" dump "$img" --model
expect 0 'alexscope dump' -- "$prog" --help
expect 0 '^alexscope [0-9]' -- "$prog" --version
expect 0 '^alexscope [0-9][^ ]* \(backends: cpu(, cuda)?\)$' -- "$prog" --version

# Devices. Without CUDA, --device cuda (or gpu) is one line and exit 1, for
# every command and for diff's side B; train refuses it by name, built or not.
if "$prog" --version | grep -q '(backends: cpu)$'; then
  for cmd in dump bench; do
    in=("$img"); [ $cmd = bench ] && in=(--runs 1)
    out=$("$prog" $cmd --device cuda "${in[@]}" 2>&1); rc=$?
    [ $rc = 1 ] && ok || bad "$cmd --device cuda without CUDA exited $rc"
    [ "$(printf '%s\n' "$out" | wc -l)" = 1 ] &&
      printf '%s\n' "$out" | grep -q "^alexscope: device 'cuda': the CUDA backend is not part of this build" &&
      ok || bad "$cmd --device cuda without CUDA: not one clear line: $out"
  done
  expect 1 "^alexscope: device 'cuda': the CUDA backend is not part of this build" -- "$prog" dump --device gpu "$img"
  expect 1 "^alexscope: device 'cuda': the CUDA backend is not part of this build" -- \
    "$prog" diff --device cpu --device cuda "$img"
else
  echo "(this build has the CUDA backend: the no-CUDA messages are not tried)"
fi
expect 1 "^alexscope: unknown device 'tpu' \(expected cpu or cuda\)" -- "$prog" dump --device tpu "$img"
for dev in cuda gpu; do
  expect 2 "^alexscope: train: the backward pass runs on the CPU; --device cuda is not supported for train$" -- \
    "$prog" train --device $dev --data "$tmp" --out "$tmp/never.safetensors"
done
[ ! -e "$tmp/never.safetensors" ] && ok || bad "train --device cuda wrote its output"
# --tf32, --gpu N and --no-cudnn are for the GPU: on the cpu they change nothing.
"$prog" dump --tf32 --gpu 0 --no-cudnn "$img" > "$tmp/dump3.txt" 2>&1 || bad "dump --tf32 --gpu 0 --no-cudnn failed"
if diff <(sed -n '/^  0  conv1/,/^ 22 /p' "$tmp/dump1.txt" | awk '{$NF=""; print}') \
        <(sed -n '/^  0  conv1/,/^ 22 /p' "$tmp/dump3.txt" | awk '{$NF=""; print}') > /dev/null &&
   [ "$(sed -n '/^  0  conv1/,/^ 22 /p' "$tmp/dump3.txt" | wc -l)" = 23 ]; then ok
else bad "dump with --tf32 --gpu 0 --no-cudnn on the cpu differs from a plain dump"; fi
grep -q '^device time' "$tmp/dump1.txt" && bad "a cpu dump printed device transfer times" || ok
expect 0 '^ +[1-5]\. ' -- "$prog" dump --gpu 3 "$img"
expect 2 '--gpu -1: expected a whole number from 0 to 1023' -- "$prog" dump --gpu -1 "$img"
expect 2 '--gpu x: expected a whole number' -- "$prog" dump --gpu x "$img"
expect 2 'option --gpu needs a value' -- "$prog" dump "$img" --gpu
for opt in --tf32 '--gpu N' --no-cudnn 'cpu or cuda'; do
  "$prog" --help | grep -q -- "$opt" && ok || bad "--help does not mention $opt"
done

# --help lists the weight formats from the registry: every format the
# understood-formats text names (check_weights holds that text to the
# registry's rows) has its own line under --weights, in the same order.
understood=$("$prog" inspect "$tmp/bad.safetensors" 2>&1 | sed -n 's/.*; understood: //p')
names=$(printf '%s\n' "$understood" | sed 's/), /)\n/g' | sed -n 's/^\([a-z0-9-]*\) (.*/\1/p')
listed=$("$prog" --help | sed -n '/^  -w, --weights/,/^                          without it/p' |
         sed -n 's/^                            \([a-z0-9-]*\)  .*/\1/p')
[ "$(printf '%s\n' "$names" | wc -l)" -ge 7 ] && ok || bad "the understood text names too few formats: $understood"
[ "$names" = "$listed" ] && ok || bad "--help lists the formats '$(echo $listed)', the registry has '$(echo $names)'"

printf 'input 3 8 8\nconv c out=2\n' > "$tmp/broken.net"
expect 1 'broken\.net:2: conv .c. needs k=' -- "$prog" dump --model "$tmp/broken.net" "$img"

expect 1 'conv1\.npy: input \(1, 96, 55, 55\) does not fit the caffe model' -- "$prog" dump --input "$tmp/acts/conv1.npy"
# A net larger than any machine's memory is refused with a figure, not left to the OOM killer.
printf 'input 3 2048 2048\nconv wide out=4096 k=1\n' > "$tmp/huge.net"
expect 1 'needs [0-9.]+ GB' -- "$prog" bench --model "$tmp/huge.net" --batch 4096
expect 0 'fc6 +fc +151\.0 MB read' -- "$prog" bench --floor --runs 1 --threads 1
expect 0 '^forward [0-9.]+ ms per batch of 1 against a floor of [0-9.]+ ms: [0-9.]+x$' -- "$prog" bench --floor --runs 1
expect 2 'does not go with --backward' -- "$prog" bench --floor --backward

# Raised OpenBLAS kernels are checked, and refused when wrong: with a forced
# failure the program says why and runs on the pinned kernels. Only where the
# kernels get raised (an AVX-512 CPU and an OpenBLAS that names its kernels).
if OPENBLAS_CORETYPE=Haswell "$prog" dump "$img" 2>&1 | grep -q '^device .*(raised from Haswell)'; then
  out=$(OPENBLAS_CORETYPE=Haswell ALEXSCOPE_BLAS_SELFTEST_FAIL=1 "$prog" dump "$img" 2>&1); rc=$?
  [ $rc = 0 ] && ok || bad "dump with a failing BLAS self-check exited $rc"
  printf '%s\n' "$out" | grep -q "^alexscope: OpenBLAS's SkylakeX kernels failed the self-check (.*forced.*); going back to the Haswell kernels" &&
    ok || bad "no fall-back message: $(printf '%s\n' "$out" | head -n 3)"
  printf '%s\n' "$out" | grep -q '^device .* Haswell kernels (kept: raised kernels failed the self-check)' &&
    ok || bad "not back on the Haswell kernels: $(printf '%s\n' "$out" | grep '^device')"
else
  echo "(OpenBLAS kernels are not raised here: the self-check fall-back is not tried)"
fi

# Commands: one table. Every command's --help is its own (its usage line names
# it), and every option it lists is one that command's parser takes; the
# global --help lists every command of the table; a near miss is a typo.
cmds=$(sed -n 's/^    {"\([a-z]*\)", "[^"]*",$/\1/p' "$src/src/cli/commands.c")
[ "$(printf '%s\n' $cmds | wc -l)" -ge 9 ] && ok || bad "the command table in commands.c was not read: $cmds"
for cmd in $cmds; do
  "$prog" --help | grep -q -E "^  alexscope $cmd +[a-z]" && ok || bad "the global --help does not list $cmd"
  for h in --help -h; do
    help=$("$prog" $cmd $h 2>&1) || bad "$cmd $h failed"
    printf '%s\n' "$help" | head -n 1 | grep -q -E "^usage: alexscope (\[)?$cmd" && ok || bad "$cmd $h is not its own: $(printf '%s\n' "$help" | head -n 1)"
  done
  [ "$help" != "$("$prog" --help)" ] && ok || bad "$cmd --help prints the global text"
  for opt in $(printf '%s\n' "$help" | sed -n '/^options:/,/^$/p' | grep -o -E '^  (-[a-zA-Z], )?--[a-z0-9-]+( [^ ]+)?' | sed 's/^  \(-[a-zA-Z], \)\{0,1\}//; s/ /=/'); do
    name=${opt%%=*} val=
    case $opt in *=*) case $name in --loss) val=l2;; --format) val=text;; --val-split) val=0.1;;
                                    --momentum) val=0.5;; --classes) val=2;; *) val=1;; esac;; esac
    out=$("$prog" $cmd $name ${val:+"$val"} --help 2>&1); rc=$?
    [ $rc = 0 ] && printf '%s\n' "$out" | head -n 1 | grep -q "^usage: " && ok ||
      bad "$cmd lists $name but refuses it (exit $rc): $(printf '%s\n' "$out" | head -n 1)"
  done
done
# ... and every option it does not list is refused, naming who takes it
alllongs=$(sed -n 's/^    {"\([a-z0-9-]*\)", [^"]*"[^"]*", *"[^"]*"},$/\1/p; s/^    {"\([a-z0-9-]*\)", [0-9a-z'"'"']*, NULL, "[^"]*"},$/\1/p' "$src/src/cli/commands.c")
[ "$(printf '%s\n' $alllongs | wc -l)" -ge 30 ] && ok || bad "the option rows in commands.c were not read: $alllongs"
for cmd in $cmds; do
  taken=$("$prog" $cmd --help | sed -n '/^options:/,/^$/p' | grep -o -E -- '--[a-z0-9-]+' | sort -u)
  for name in $alllongs; do
    case " $(echo $taken) " in *" --$name "*) continue ;; esac
    out=$("$prog" $cmd --$name 1 2>&1 >/dev/null); rc=$?
    [ $rc = 2 ] && printf '%s\n' "$out" | grep -q -- "--$name belongs to .*, not to $cmd" && ok ||
      bad "$cmd does not list --$name but did not refuse it (exit $rc): $out"
  done
done
out=$("$prog" dmup 2>&1 >/dev/null); rc=$?
[ $rc = 2 ] && [ "$out" = "alexscope: 'dmup' is not a command; did you mean dump?" ] && ok ||
  bad "alexscope dmup: exit $rc: $out"
expect 2 "'bnech' is not a command; did you mean bench\?" -- "$prog" bnech
expect 0 '^usage: alexscope train ' -- "$prog" help train
# nothing to do: a few lines that say how to get more, not the whole --help
out=$("$prog" 2>&1 >/dev/null); rc=$?
[ $rc = 2 ] && [ "$(printf '%s\n' "$out" | wc -l)" -le 8 ] && printf '%s\n' "$out" | grep -q 'alexscope --help' && ok ||
  bad "alexscope with no arguments: exit $rc, $(printf '%s\n' "$out" | wc -l) lines: $out"
# --version says which data folder the built-in models come from
expect 0 '^data: .*weights \((beside the program|the source tree)\)$' -- env -u ALEXSCOPE_DATA "$prog" --version
# a build copied elsewhere (cp -a of the program and its weights/) finds its own specs
mkdir -p "$tmp/copied" && cp -a "$prog" "$tmp/copied/alexscope" && cp -a "$srcdir/weights" "$tmp/copied/weights" || bad "copying the build"
expect 0 "^data: $tmp/copied/weights \(beside the program\)$" -- env -u ALEXSCOPE_DATA "$tmp/copied/alexscope" --version
expect 0 'conv1' -- env -u ALEXSCOPE_DATA "$tmp/copied/alexscope" dump "$img"
rm -rf "$tmp/copied/weights"
expect 0 'MISSING, the built-in models cannot load' -- env -u ALEXSCOPE_DATA "$tmp/copied/alexscope" --version
# a first word that is a file (or looks like a path) is still an IMAGE
expect 1 'needs a terminal' -- "$prog" missing-image.png

# A weights file without --model: the one model it fits is used and said in
# one line; one that fits none gets one line naming the closest, not a wall.
ref=$src/tests/fixtures/ref
mkdir -p "$tmp/data" && for m in caffe torchvision tf-bench keras-half; do cp "$ref/$m-tiny.net" "$tmp/data/$m.net"; done
cp "$src/weights/"*.txt "$tmp/data/"
out=$(ALEXSCOPE_DATA="$tmp/data" "$prog" dump --weights "$ref/torchvision-tiny.safetensors" "$img" 2>&1); rc=$?
[ $rc = 0 ] && printf '%s\n' "$out" | grep -q "^alexscope: .*torchvision-tiny\.safetensors fits the torchvision model: using it (--model chooses another)$" &&
  printf '%s\n' "$out" | grep -q '^model    torchvision-tiny ' && ok || bad "dump -w torchvision weights without --model: exit $rc: $(printf '%s\n' "$out" | head -3)"
out=$(ALEXSCOPE_DATA="$tmp/data" "$prog" dump --weights "$ref/caffe-tiny.safetensors" "$img" 2>&1); rc=$?
[ $rc = 0 ] && ! printf '%s\n' "$out" | grep -q 'using it' && printf '%s\n' "$out" | grep -q '^model    caffe-tiny ' && ok ||
  bad "dump -w caffe weights (the default model) without --model: exit $rc: $(printf '%s\n' "$out" | head -3)"
expect 0 'tf-bench-tiny\.zip\.pth fits the tf-bench model: using it' -- \
  env ALEXSCOPE_DATA="$tmp/data" "$prog" dump --weights "$src/tests/fixtures/torch/tf-bench-tiny.zip.pth" "$img"
out=$(ALEXSCOPE_DATA="$tmp/data" "$prog" dump --weights "$src/tests/fixtures/torch/dtypes.pth" "$img" 2>&1); rc=$?
[ $rc = 1 ] && [ "$(printf '%s\n' "$out" | wc -l)" = 1 ] &&
  printf '%s\n' "$out" | grep -q 'dtypes\.pth: fits none of the built-in models (closest: [a-z-]*, [0-9]* of [0-9]* tensors fit' &&
  ok || bad "a file that fits no model: exit $rc, $(printf '%s\n' "$out" | wc -l) lines: $out"
# no data folder at all is the program's problem (exit 1), not the file's
mkdir -p "$tmp/nodata"
out=$(ALEXSCOPE_DATA="$tmp/nodata" "$prog" inspect "$ref/torchvision-tiny.safetensors" 2>&1); rc=$?
[ $rc = 1 ] && printf '%s\n' "$out" | grep -q "cannot tell which models .* fits: model 'caffe' is built in, but its spec .*cannot be read" &&
  ok || bad "inspect with no data folder: exit $rc: $(printf '%s\n' "$out" | tail -2)"
expect 1 "cannot tell which model .* fits: model 'caffe' is built in" -- \
  env ALEXSCOPE_DATA="$tmp/nodata" "$prog" dump --weights "$ref/torchvision-tiny.safetensors" "$img"

# What is not weights says what it is: the first bytes readably, an image or text named as such.
printf '# notes\nnot weights\n' > "$tmp/notes.bin"
expect 1 'notes\.bin: not a weight file this reader knows \(20 bytes, starting 23 20 6e 6f 74 65 73 0a, "# notes\."\); understood: .*; it reads as text' -- \
  "$prog" dump --weights "$tmp/notes.bin" "$img"
expect 1 'chelsea\.png: .*"\.PNG\.\.\.\."\).*this is an image: give it as the IMAGE argument' -- "$prog" dump --weights "$img" "$img"
expect 2 "^alexscope: --input takes a tensor .*chelsea\.png is an image: give it without --input \(alexscope dump .*chelsea\.png\)" -- \
  "$prog" dump --input "$img"
# --device gpu is cuda, and --help says so
"$prog" --help | grep -q 'gpu is taken as cuda' && ok || bad "--help does not say gpu means cuda"
"$prog" dump --help | grep -q 'gpu: the same as cuda' && ok || bad "dump --help does not say gpu means cuda"
out=$("$prog" dump --device gpu "$img" 2>&1)
printf '%s\n' "$out" | grep -q 'cuda' && ! printf '%s\n' "$out" | grep -q "'gpu'\|--device gpu" && ok || bad "--device gpu is not named as cuda: $(printf '%s\n' "$out" | head -3)"
# sizes in binary units are labelled so; a folder typed with its slash makes no //
"$prog" summary | grep -q -E '[0-9] MiB' && ! "$prog" summary | grep -q -E '[0-9] (MB|KB)' && ok || bad "summary's memory column is not labelled MiB/KiB"
out=$("$prog" grad --save "$tmp/g/" "$img" 2>&1) || bad "grad --save DIR/ failed"
printf '%s\n' "$out" | grep -q "to $tmp/g/<tensor>\.grad\.npy" && ! printf '%s\n' "$out" | grep -q '//' && ok || bad "grad --save DIR/: $(printf '%s\n' "$out" | tail -1)"
# an output folder that cannot be made is said before anything loads or runs
for args in "dump --save-activations $tmp/none/acts" "grad --save $tmp/none/g"; do
  out=$("$prog" $args "$img" 2>&1); rc=$?
  [ $rc = 1 ] && [ "$(printf '%s\n' "$out" | wc -l)" = 1 ] &&
    printf '%s\n' "$out" | grep -q "none/[a-z]*: cannot be made: its parent folder $tmp/none does not exist" && ok ||
    bad "$args into a missing parent: exit $rc: $out"
done
expect 1 'chelsea\.png: exists and is not a folder' -- "$prog" dump --save-activations "$img" "$img"

# LRN acts with the seeded weights: on the sample image norm1's std is at
# least 5% below relu1's, while the untrained classes stay near uniform
out=$("$prog" dump "$img" 2>&1)
r1=$(printf '%s\n' "$out" | awk '$2 == "relu1" { print $(NF-2) }')
n1=$(printf '%s\n' "$out" | awk '$2 == "norm1" { print $(NF-2) }')
p1=$(printf '%s\n' "$out" | awk '$1 == "1." { print $NF }')
awk -v r="$r1" -v n="$n1" -v p="$p1" 'BEGIN { exit !(r > 0 && n <= 0.95 * r && p < 0.01) }' && ok ||
  bad "seeded LRN: relu1 std $r1, norm1 std $n1 (want <= 95%), top-1 probability $p1 (want < 0.01)"

# near-uniform probabilities are told apart: four significant digits, never 0.0000
rows=$("$prog" dump "$img" 2>&1 | grep -E '^ +[1-5]\. +[0-9]+ ')
[ "$(printf '%s\n' "$rows" | grep -cE ' 0\.00[1-9][0-9]{3}$')" = 5 ] && ! printf '%s\n' "$rows" | grep -q '0\.0000$' && ok ||
  bad "dump's top-5 probabilities are not shown to four significant digits: $rows"

echo "cli: $pass passed, $fail failed"
[ "$fail" = 0 ]
