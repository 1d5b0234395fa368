#!/usr/bin/env bash
# Instruction counts of two fixed workloads, by valgrind's callgrind (deterministic: the same
# count for the same module and inputs, whatever else the machine does; wall time on a shared
# 2-core machine is not). node runs with --no-liftoff so every wasm function is compiled by
# TurboFan once; --hash-seed and --random-seed fix the start-up work that otherwise varies by
# millions of instructions from run to run (hash seeding draws random primes).
#
#   bench/icount/run.sh [BASE_REV]     # this tree, and BASE_REV (a git revision) to compare with
#
# Workloads: the allocator benchmark module's run(seed, 100000, 0) (talc's method, as
# bench/alloc/run.mjs calls it) for seeds 1..K, and binary-trees (bench/gc/rust) at depth N.
# Each figure is the difference between two depths or seed counts, so node's start-up cancels.
# With clang-19 and wasm-ld-19 present it also counts this tree's C binary-trees
# (examples/c/binarytrees.c on the C SDK, plain wasm-ld-19 link and LTO through rust-lld).
# Environment: ICOUNT_K (default 4), ICOUNT_N (default 14).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
ROOT=$PWD
K=${ICOUNT_K:-4}
N=${ICOUNT_N:-14}
OUT=$ROOT/bench/out/icount
mkdir -p "$OUT"
command -v valgrind >/dev/null || { echo "valgrind is needed (apt-get install valgrind)" >&2; exit 1; }

# build TREE LABEL: builds the asrt allocator-benchmark module and binary-trees from TREE.
build() {
  local tree=$1 label=$2
  (cd "$tree/bench/alloc/asrt" && CARGO_TARGET_DIR="$OUT/target-$label-alloc" \
    cargo build --quiet --release --target wasm32-unknown-unknown)
  (cd "$tree/bench/gc/rust" && CARGO_TARGET_DIR="$OUT/target-$label-bt" \
    cargo build --quiet --release --target wasm32-unknown-unknown)
  cp "$OUT/target-$label-alloc/wasm32-unknown-unknown/release/bench_alloc_asrt.wasm" "$OUT/$label-alloc.wasm"
  cp "$OUT/target-$label-bt/wasm32-unknown-unknown/release/asrt_binarytrees.wasm" "$OUT/$label-bt.wasm"
}

# count LABEL KIND ARG: instructions callgrind collected for one node run.
count() {
  local label=$1 kind=$2 arg=$3
  if [[ $kind == alloc ]]; then
    valgrind --tool=callgrind --callgrind-out-file=/dev/null node --no-liftoff --hash-seed=1 --random-seed=1 \
      bench/icount/alloc.mjs "$OUT/$label-alloc.wasm" "$arg" 2>&1
  else
    valgrind --tool=callgrind --callgrind-out-file=/dev/null node --no-liftoff --hash-seed=1 --random-seed=1 \
      bench/icount/binarytrees.mjs "$ROOT/bench/as/host.mjs" "$OUT/$label-bt.wasm" "$arg" 2>&1
  fi | sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}

# measure LABEL: prints "alloc_per_100k bt_depth_N" (instructions).
measure() {
  local label=$1
  local a1 ak b1 bn
  a1=$(count "$label" alloc 1)
  ak=$(count "$label" alloc "$K")
  b1=$(count "$label" bt 4)
  bn=$(count "$label" bt "$N")
  echo "$(((ak - a1) / (K - 1))) $((bn - b1))"
}

labels=(tree)
build "$ROOT" tree
if (($#)); then
  base=$OUT/base-tree
  rm -rf "$base"
  git worktree add --force --detach "$base" "$1" >/dev/null
  trap 'git worktree remove --force "$base" >/dev/null 2>&1 || true' EXIT
  ln -sf "$ROOT/node_modules" "$base/node_modules"
  build "$base" base
  labels+=(base)
fi
declare -A A B
for l in "${labels[@]}"; do
  read -r A[$l] B[$l] < <(measure "$l")
done
echo
echo "| module | allocator benchmark, instructions per 100k actions | binary-trees n=$N, instructions |"
echo "| --- | ---: | ---: |"
for l in "${labels[@]}"; do
  printf '| %s | %s | %s |\n' "$l" "${A[$l]}" "${B[$l]}"
done
if (($#)); then
  awk -v a="${A[tree]}" -v b="${A[base]}" -v c="${B[tree]}" -v d="${B[base]}" -v r="$1" \
    'BEGIN { printf "| tree vs %s | %+.1f%% | %+.1f%% |\n", r, (a / b - 1) * 100, (c / d - 1) * 100 }'
fi

# The C binary-trees of this tree, beside the Rust API version's count above.
if command -v clang-19 >/dev/null && command -v wasm-ld-19 >/dev/null; then
  make -s -C examples/c OUT="$OUT/c" all lto >&2
  cp "$OUT/c/binarytrees.wasm" "$OUT/c-bt.wasm"
  cp "$OUT/c/binarytrees-lto.wasm" "$OUT/c-lto-bt.wasm"
  echo
  echo "| binary-trees n=$N | instructions | vs the Rust API version |"
  echo "| --- | ---: | ---: |"
  for l in c c-lto; do
    b1=$(count "$l" bt 4)
    bn=$(count "$l" bt "$N")
    awk -v l="$l" -v c="$((bn - b1))" -v r="${B[tree]}" \
      'BEGIN { printf "| C on the SDK (%s) | %d | %.2fx |\n", l == "c" ? "wasm-ld-19" : "LTO, rust-lld", c, c / r }'
  done
fi
