#!/usr/bin/env bash
# binary-trees: builds asrt's Rust version (bench/gc/rust, on the asrt::api typed API) and the C
# version (examples/c/binarytrees.c through the C SDK: plain wasm-ld-19 link and LTO through
# rust-lld, `make -C examples/c all lto`; skipped without clang-19), and runs
# the shared driver (bench/as/binarytrees.mjs), which also builds and runs AssemblyScript 0.28.20
# with --runtime incremental, stub and minimal. Each module runs BT_RUNS times in a fresh node
# process; the table gives the median time of run(n), the wasm memory after the run (its peak)
# and the peak RSS, and every run's checksum is checked against the closed form.
#
#   bash bench/run-binarytrees.sh            # n = 16, 5 runs, table on stdout
#
# Environment (all optional):
#   BT_N=16 BT_RUNS=5          depth and runs per module
#   BT_OUT=file.md             also write the table there
#   BT_NODE_FLAGS="..."        extra node flags for the child runs (e.g. --cpu-prof)
#   BT_TARGET_DIR=dir          cargo target dir for the Rust module (default target/binarytrees)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

if [ ! -d node_modules/assemblyscript ]; then
  npm ci --no-audit --no-fund
fi

target_dir=${BT_TARGET_DIR:-$root/target/binarytrees}
(cd bench/gc/rust && CARGO_TARGET_DIR="$target_dir" \
  cargo build --release --target wasm32-unknown-unknown --locked)
wasm="$target_dir/wasm32-unknown-unknown/release/asrt_binarytrees.wasm"
echo "asrt binary-trees module: $wasm ($(wc -c <"$wasm") bytes)" >&2

c_out="$root/target/c-examples"
if command -v clang-19 >/dev/null && command -v wasm-ld-19 >/dev/null; then
  make -s -C examples/c OUT="$c_out" all lto >&2
  export BT_MODULES="asrt C (wasm-ld-19)=$c_out/binarytrees.wasm;asrt C LTO (rust-lld)=$c_out/binarytrees-lto.wasm"
else
  echo "clang-19 / wasm-ld-19 missing (scripts/setup.sh installs them): no C modules" >&2
fi

args=(--n "${BT_N:-16}" --runs "${BT_RUNS:-5}")
if [ -n "${BT_OUT:-}" ]; then args+=(--out "$BT_OUT"); fi
ASRT_BINARYTREES_WASM="$wasm" node bench/as/binarytrees.mjs "${args[@]}"
