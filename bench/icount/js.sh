#!/usr/bin/env bash
# Instruction counts (valgrind callgrind, as run.sh) of asrt's exports called from JavaScript:
# per call of each workload of bench/icount/jsdriven.mjs, and binary-trees driven from
# JavaScript (the report's btJs code) at depth N minus depth N - 2 (both sizes run collections, so
# the functions V8 compiles lazily are the same: their compilation cancels).
#
#   bench/icount/js.sh [WASM]...     default: this tree's default build (scripts/build.sh default)
#
# Environment: ICOUNT_N (default 12), ICOUNT_CALLS (default 100000: the count at that many calls
# minus the count at 10,000, divided by the difference).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
N=${ICOUNT_N:-12}
CALLS=${ICOUNT_CALLS:-100000}
command -v valgrind >/dev/null || { echo "valgrind is needed (apt-get install valgrind)" >&2; exit 1; }
# AssemblyScript's gcwork modules (bench/run-all.sh builds them into bench/out/report-wasm) give
# the binary-trees column only.
if (($# == 0)); then
  eval "$(scripts/build.sh default)"
  set -- "$ASRT_WASM"
fi

count() {
  valgrind --tool=callgrind --callgrind-out-file=/dev/null node --single-threaded --no-liftoff --hash-seed=1 --random-seed=1 \
    bench/icount/jsdriven.mjs "$@" 2>&1 | sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}

echo "| module | noop | new | pin+unpin | pin+unpin (count 2) | link idle | link marking | binary-trees JS n=$N minus n=$((N - 2)) |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
for wasm in "$@"; do
  row="| $wasm |"
  for w in noop new pin pin2 link linkm; do
    if [[ $wasm == *gcwork-as-* ]]; then row+=" |"; continue; fi
    lo=$(count "$wasm" $w 10000)
    hi=$(count "$wasm" $w "$CALLS")
    row+=" $(awk -v a="$lo" -v b="$hi" -v k="$CALLS" 'BEGIN { printf "%.1f", (b - a) / (k - 10000) }') |"
  done
  b1=$(count "$wasm" bt $((N - 2)))
  bn=$(count "$wasm" bt "$N")
  row+=" $((bn - b1)) |"
  echo "$row"
done
