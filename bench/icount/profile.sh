#!/usr/bin/env bash
# Self instruction counts by wasm function and JIT code object of jsdriven.mjs runs: one run,
# or the difference between two sizes of one workload (so node's start-up cancels):
#
#   bench/icount/profile.sh WASM WORKLOAD ARG [BASE_ARG] [TOP]
#   e.g. bench/icount/profile.sh target/.../asrt.wasm link 110000 10000
#
# Wasm functions are named by index (wasm-function[i], as `wasm-opt --print` numbers them); the
# js-to-wasm wrappers, builtins and JS functions by V8's perf map; node's own code by its shared
# object. See profile.py.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
out=bench/out/profile
mkdir -p "$out"
run() { # ARG TAG
  valgrind --tool=callgrind --dump-instr=yes --callgrind-out-file="$out/cg-$2.out" --log-file="$out/valgrind-$2.log" \
    node --perf-basic-prof --logfile="$out/v8.log" --no-logfile-per-isolate --print-wasm-code --single-threaded --no-liftoff --hash-seed=1 --random-seed=1 \
    bench/icount/jsdriven.mjs "$WASM" "$WORKLOAD" "$1" > "$out/code-$2.txt"
  local pid
  pid=$(sed -n 's/^==\([0-9]*\)==.*/\1/p' "$out/valgrind-$2.log" | head -1)
  mv "/tmp/perf-$pid.map" "$out/perf-$2.map"
  files+=("$out/cg-$2.out" "$out/code-$2.txt" "$out/perf-$2.map")
}
WASM=$1 WORKLOAD=$2
files=()
run "$3" a
[[ -n ${4:-} ]] && run "$4" b
python3 bench/icount/profile.py "${files[@]}" "${5:-40}"
