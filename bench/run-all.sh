#!/usr/bin/env bash
# The benchmark report: builds every module the benchmarks use, runs every workload in node and
# in headless Chromium (bench/report/run.mjs, playwright-core with /usr/bin/chromium), and writes
# JSON, a Markdown report and SVG plots.
#
#   bench/run-all.sh            # full mode -> bench/results/ (committed; about 10-15 minutes)
#   bench/run-all.sh --short    # short mode -> bench/out/report-short/ (CI: checks every plot is made)
#
# Extra arguments go to bench/report/run.mjs (--no-browser, --only btJs,steady, --out DIR).
# Environment: CHROMIUM (default /usr/bin/chromium), CARGO_TARGET_DIR (asrt's own build).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
export PATH="$HOME/.cargo/bin:$PATH"
short=0
for a in "$@"; do [[ $a == --short ]] && short=1; done

[[ -d node_modules/assemblyscript && -d node_modules/playwright-core ]] || npm ci --no-audit --no-fund

W=$ROOT/bench/out/report-wasm
mkdir -p "$W"
log() { printf '[run-all] %s\n' "$*" >&2; }

# asrt, default build
# shellcheck source=scripts/build.sh
source scripts/build.sh default >&2
cp "$ASRT_WASM" "$W/asrt.wasm"
# the core build (no string helpers), for its size
source scripts/build.sh core >&2
cp "$ASRT_WASM_CORE" "$W/asrt-core.wasm"

# binary-trees on asrt's Rust API
log "bench/gc/rust"
(cd bench/gc/rust && CARGO_TARGET_DIR="$ROOT/target/binarytrees" \
  cargo build --quiet --release --target wasm32-unknown-unknown --locked)
cp target/binarytrees/wasm32-unknown-unknown/release/asrt_binarytrees.wasm "$W/bt-asrt.wasm"

# AssemblyScript 0.28.20 programs (recompiled only when the source is newer)
log "examples/c (the C SDK, plain and LTO)"
make -s -C examples/c all lto OUT="$ROOT/target/c-examples" >&2
cp target/c-examples/binarytrees.wasm "$W/bt-c.wasm"
cp target/c-examples/binarytrees-lto.wasm "$W/bt-c-lto.wasm"

asc() { # SRC OUT ARGS...
  local src=$1 out=$2; shift 2
  if [[ ! -f $out || $src -nt $out ]]; then log "asc $src -> $(basename "$out")"; node_modules/.bin/asc "$src" "$@" -o "$out"; fi
}
for rt in incremental stub minimal; do
  asc bench/as/binarytrees.ts "$W/bt-as-$rt.wasm" -O3 --runtime "$rt" --noAssert
done
for rt in incremental stub; do
  asc bench/as/gcwork.ts "$W/gcwork-as-$rt.wasm" -O3 --runtime "$rt" --exportRuntime --noAssert
done
asc bench/report/as-runtime.ts "$W/as-runtime.wasm" -Oz --runtime incremental --exportRuntime --noAssert

# AssemblyScript programs on asrt (js/asc.mjs) and on AS incremental/stub, asrt's assemblyscript
# build, and their sizes (asc-sizes.json)
log "AssemblyScript programs (bench/as/build-asc.sh)"
bench/as/build-asc.sh "$W" >&2

# allocator modules (talc's method), as bench/run-alloc.sh builds them
if ((short)); then allocs=(asrt talc); else allocs=(asrt talc rlsf dlmalloc lol_alloc); fi
for name in "${allocs[@]}"; do
  log "bench/alloc/$name"
  locked=--locked; [[ $name == asrt ]] && locked=
  (cd "bench/alloc/$name" && CARGO_TARGET_DIR="$ROOT/bench/out/target-alloc/bench" \
    cargo build --quiet $locked --release --target wasm32-unknown-unknown)
  cp "bench/out/target-alloc/bench/wasm32-unknown-unknown/release/bench_alloc_$name.wasm" "$W/alloc-$name.wasm"
done

# module sizes, raw and after wasm-opt -Oz
oz() { if command -v wasm-opt >/dev/null; then wasm-opt -Oz --enable-bulk-memory --enable-sign-ext --enable-mutable-globals \
  --enable-nontrapping-float-to-int --enable-multivalue --enable-reference-types --strip-debug --strip-producers "$1" -o "$1.oz" && wc -c <"$1.oz"; else echo null; fi; }
{
  echo '{ "modules": ['
  echo "  { \"name\": \"asrt (default build)\", \"raw\": $(wc -c <"$W/asrt.wasm"), \"oz\": $(oz "$W/asrt.wasm") },"
  echo "  { \"name\": \"asrt (core build: no string helpers)\", \"raw\": $(wc -c <"$W/asrt-core.wasm"), \"oz\": $(oz "$W/asrt-core.wasm") },"
  echo "  { \"name\": \"AS incremental runtime (--exportRuntime)\", \"raw\": $(wc -c <"$W/as-runtime.wasm"), \"oz\": $(oz "$W/as-runtime.wasm") },"
  echo "  { \"name\": \"binary-trees, asrt Rust API\", \"raw\": $(wc -c <"$W/bt-asrt.wasm"), \"oz\": $(oz "$W/bt-asrt.wasm") },"
  echo "  { \"name\": \"binary-trees, C on asrt (plain link)\", \"raw\": $(wc -c <"$W/bt-c.wasm"), \"oz\": $(oz "$W/bt-c.wasm") },"
  echo "  { \"name\": \"binary-trees, C on asrt (LTO)\", \"raw\": $(wc -c <"$W/bt-c-lto.wasm"), \"oz\": $(oz "$W/bt-c-lto.wasm") },"
  echo "  { \"name\": \"binary-trees, AS incremental\", \"raw\": $(wc -c <"$W/bt-as-incremental.wasm"), \"oz\": $(oz "$W/bt-as-incremental.wasm") },"
  echo "  { \"name\": \"binary-trees, AS stub\", \"raw\": $(wc -c <"$W/bt-as-stub.wasm"), \"oz\": $(oz "$W/bt-as-stub.wasm") }"
  echo '] }'
} >"$W/sizes.json"

ASRT_REV=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
[[ -z $(git status --porcelain -- src build.rs Cargo.toml layout.toml 2>/dev/null) ]] || ASRT_REV="$ASRT_REV + uncommitted changes"
export ASRT_REV
node bench/report/run.mjs --modules "$W" "$@"
