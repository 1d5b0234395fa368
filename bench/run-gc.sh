#!/usr/bin/env bash
# GC benchmarks: binary-trees (AS incremental / stub / minimal, + asrt when
# built) and the GC pause workload (AS incremental, + asrt when built).
# Writes bench/out/binarytrees.md and bench/out/gc.md.
#
#   bash bench/run-gc.sh
#
# Environment (all optional):
#   BT_N=16 BT_RUNS=5                binary-trees depth and runs per module
#   GC_LIVE_MIB=16,64,256            live sizes for the pause benchmark
#   GC_SKIP_256=1                    drop 256 MiB from the default list
#   GC_ALLOC_FACTOR=4                steady-state allocation = factor x live
#   ASRT_WASM=path                   asrt runtime module (default
#                                    target/wasm32-unknown-unknown/release/asrt.wasm)
#   ASRT_TREENODE_ID=N               stopgap while asrt lacks __id_TreeNode (and
#                                    without __static_slots the root is pinned)
#   ASRT_BINARYTREES_WASM=path       asrt binary-trees module exporting run(n)
#                                    (default: the one bench/run-binarytrees.sh
#                                    builds, when it exists; this script never
#                                    builds Rust)
#   GC_VARIANTS=paced,idle           asrt variants (also: idle-eager)
#   GC_REPS=3                        fresh-process runs per pause configuration
#   SKIP_BT=1 / SKIP_GC=1            skip one of the two benchmarks
#   GC_MOCK_ASRT=1                   check the driver's asrt code path against
#                                    bench/gc/mock-asrt.ts (an AS stand-in with
#                                    asrt's export names) instead of asrt.wasm
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -d node_modules/assemblyscript ]; then
  npm ci --no-audit --no-fund
fi

out=bench/out
wasm="$out/wasm"
mkdir -p "$wasm"

asc=node_modules/.bin/asc
for rt in incremental stub minimal; do
  "$asc" bench/as/binarytrees.ts -O3 --runtime "$rt" --noAssert -o "$wasm/binarytrees-as-$rt.wasm"
done
"$asc" bench/as/gcwork.ts -O3 --runtime incremental --exportRuntime --noAssert -o "$wasm/gcwork-as-incremental.wasm"

if [ -n "${GC_MOCK_ASRT:-}" ]; then
  "$asc" bench/gc/mock-asrt.ts -O3 --runtime incremental --exportRuntime --noAssert -o "$wasm/mock-asrt.wasm"
  export ASRT_WASM="$wasm/mock-asrt.wasm"
fi

live="${GC_LIVE_MIB:-16,64,256}"
if [ -n "${GC_SKIP_256:-}" ] && [ -z "${GC_LIVE_MIB:-}" ]; then live=16,64; fi

bt_default=target/binarytrees/wasm32-unknown-unknown/release/asrt_binarytrees.wasm
if [ -z "${ASRT_BINARYTREES_WASM:-}" ] && [ -f "$bt_default" ]; then
  export ASRT_BINARYTREES_WASM="$bt_default"
fi

written=()
if [ -z "${SKIP_BT:-}" ]; then
  written+=("$out/binarytrees.md")
  echo "== binary-trees (n=${BT_N:-16}, ${BT_RUNS:-5} runs)" >&2
  node bench/as/binarytrees.mjs --n "${BT_N:-16}" --runs "${BT_RUNS:-5}" \
    --wasm-dir "$wasm" --out "$out/binarytrees.md" > /dev/null
fi
if [ -z "${SKIP_GC:-}" ]; then
  written+=("$out/gc.md")
  echo "== GC pauses (live ${live} MiB)" >&2
  node bench/gc/pauses.mjs --live "$live" --factor "${GC_ALLOC_FACTOR:-4}" --reps "${GC_REPS:-3}" \
    --wasm-dir "$wasm" --out "$out/gc.md" > /dev/null
fi

for f in "${written[@]}"; do
  echo; cat "$f"
done
echo >&2
echo "wrote ${written[*]}" >&2
