#!/usr/bin/env bash
# String benchmark: builds asrt's release wasm and AssemblyScript's String.UTF8 module
# (bench/strings/as-strings.ts, asc 0.28.20 -O3, incremental runtime), runs
# bench/strings/run.mjs under node and writes the Markdown table to bench/out/strings.md.
#
#   bench/run-strings.sh [run.mjs options, e.g. --ms 1000]
#
# Environment: CARGO_TARGET_DIR (default ./target), ASRT_WASM (skip the cargo build and use
# this module instead).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
OUT=$ROOT/bench/out
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
[[ $TARGET_DIR = /* ]] || TARGET_DIR=$ROOT/$TARGET_DIR

if [[ -z ${ASRT_WASM:-} ]]; then
  echo "[strings] building asrt (release, wasm32) into $TARGET_DIR" >&2
  if env -u ASRT_PROFILE cargo build --quiet --release --target wasm32-unknown-unknown \
      --target-dir "$TARGET_DIR" >"$OUT/strings-asrt-build.log" 2>&1; then
    ASRT_WASM=$TARGET_DIR/wasm32-unknown-unknown/release/asrt.wasm
  else
    echo "[strings] asrt does not build (see $OUT/strings-asrt-build.log); its columns read n/a" >&2
    ASRT_WASM=$OUT/strings-wasm/asrt-not-built.wasm
  fi
fi

mkdir -p "$OUT/strings-wasm"
AS_WASM=$OUT/strings-wasm/as-strings.wasm
if [[ ! -f $AS_WASM || bench/strings/as-strings.ts -nt $AS_WASM ]]; then
  echo "[strings] compiling bench/strings/as-strings.ts with asc" >&2
  "$ROOT/node_modules/.bin/asc" bench/strings/as-strings.ts -O3 --runtime incremental \
    --exportRuntime --noAssert -o "$AS_WASM" >&2
fi

node bench/strings/run.mjs --asrt "$ASRT_WASM" --as "$AS_WASM" --out "$OUT/strings.md" "$@"
