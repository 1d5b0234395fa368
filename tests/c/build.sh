#!/usr/bin/env bash
# Builds what tests/c/ runs: the SDK for examples/c/layout.toml (plain and --import-memory), the
# examples (make -C examples/c, plain and LTO link) and the test programs of this folder.
#
#   bash tests/c/build.sh [OUT]     (default target/c-examples; prints nothing on stdout)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
OUT="${1:-$ROOT/target/c-examples}"
mkdir -p "$OUT"
make -s -C "$ROOT/examples/c" OUT="$OUT" all lto >&2
bash "$ROOT/scripts/c-sdk.sh" "$OUT/sdk-import" --layout "$ROOT/examples/c/layout.toml" --import-memory
CFLAGS=(--target=wasm32-unknown-unknown -O2 -Wall -Wextra -Werror -nostdlib)
build() { # build NAME SDK SOURCE [CFLAGS...]
  local name="$1" sdk="$2" src="$3"; shift 3
  clang-19 "${CFLAGS[@]}" "$@" -I "$sdk" -c "$src" -o "$OUT/$name.o"
  wasm-ld-19 @"$sdk/asrt.ldflags" "$OUT/$name.o" "$sdk/libasrt.a" -o "$OUT/$name.wasm"
  rm -f "$OUT/$name.o"
}
build barrier "$OUT/sdk" "$ROOT/tests/c/barrier.c"
build barrier-removed "$OUT/sdk" "$ROOT/tests/c/barrier.c" -DASRT_NO_BARRIER
build abort "$OUT/sdk" "$ROOT/tests/c/abort.c"
build conslist-import "$OUT/sdk-import" "$ROOT/examples/c/conslist.c"
echo "[c] built in $OUT" >&2
