#!/usr/bin/env bash
# Allocator benchmark: builds one wasm module per allocator (bench/alloc/<name>/, each its own
# cargo workspace, release profile: opt-level 3, LTO, panic=abort, codegen-units 1), runs them
# under node (bench/alloc/run.mjs) and prints a Markdown table, also written to
# bench/out/alloc.md.
#
#   bench/run-alloc.sh [run.mjs options, e.g. --runs 20 --only talc,asrt]
#
# Environment: CARGO_TARGET_DIR (default bench/out/target-alloc), WASM_OPT and WASM_METADCE
# (default wasm-opt and wasm-metadce, both from binaryen; the -Oz size columns read "n/a"
# without them). asrt's row reads "not built" when the asrt crate
# does not build (its log: bench/out/alloc-asrt-build.log).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
OUT=$ROOT/bench/out
WASM_DIR=$OUT/alloc-wasm
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$OUT/target-alloc}
TARGET=wasm32-unknown-unknown
WASM_OPT=${WASM_OPT:-wasm-opt}
# The features rustc enables by default for wasm32-unknown-unknown; the stripped modules carry no
# target_features section for wasm-opt to detect them from.
WASM_OPT_FEATURES=(--enable-bulk-memory --enable-sign-ext --enable-mutable-globals
  --enable-nontrapping-float-to-int --enable-multivalue --enable-reference-types)

ALLOCATORS=(asrt dlmalloc talc rlsf lol_alloc wee_alloc)

mkdir -p "$WASM_DIR"
have_wasm_opt=1
if ! command -v "$WASM_OPT" >/dev/null 2>&1; then
  echo "warning: $WASM_OPT not found; size columns after -Oz will be n/a" >&2
  have_wasm_opt=0
fi

# build NAME VARIANT FEATURE-ARGS... -> prints the path of the built module. The two variants
# (bench, min) use separate target directories: they produce the same file name.
build() {
  local name=$1 variant=$2
  shift 2
  local locked=--locked
  # asrt is a path dependency under development; its lock entries follow it.
  [[ $name == asrt ]] && locked=
  (cd "$ROOT/bench/alloc/$name" &&
    CARGO_TARGET_DIR="$CARGO_TARGET_DIR/$variant" \
      cargo build --quiet $locked --release --target "$TARGET" "$@") >&2 || return 1
  echo "$CARGO_TARGET_DIR/$variant/$TARGET/release/bench_alloc_$name.wasm"
}

optimize() {
  if [[ $have_wasm_opt == 1 ]]; then
    "$WASM_OPT" -Oz "${WASM_OPT_FEATURES[@]}" "$1" -o "$2"
  fi
}

# The allocator alone: drop every export but bench_* and memory (asrt's minimal module also
# exports the rest of its runtime), then -Oz.
WASM_METADCE=${WASM_METADCE:-wasm-metadce}
have_metadce=$have_wasm_opt
command -v "$WASM_METADCE" >/dev/null 2>&1 || have_metadce=0
DCE_GRAPH=$OUT/alloc-wasm/keep-bench-exports.json
cat >"$DCE_GRAPH" <<'JSON'
[
  { "name": "bench_alloc", "root": true, "export": "bench_alloc" },
  { "name": "bench_free", "root": true, "export": "bench_free" },
  { "name": "bench_realloc", "root": true, "export": "bench_realloc" },
  { "name": "memory", "root": true, "export": "memory" }
]
JSON
allocator_only() {
  if [[ $have_metadce == 1 ]]; then
    "$WASM_METADCE" "${WASM_OPT_FEATURES[@]}" -f "$DCE_GRAPH" "$1" -o "$2.tmp" >/dev/null &&
      "$WASM_OPT" -Oz "${WASM_OPT_FEATURES[@]}" "$2.tmp" -o "$2" && rm -f "$2.tmp"
  fi
}

for name in "${ALLOCATORS[@]}"; do
  rm -f "$WASM_DIR/$name".*wasm
  echo "building $name ..." >&2
  log=$OUT/alloc-$name-build.log
  if ! { wasm=$(build "$name" min --features minimal) && cp "$wasm" "$WASM_DIR/$name.min.wasm" &&
    wasm=$(build "$name" bench) && cp "$wasm" "$WASM_DIR/$name.wasm"; } 2>"$log"; then
    rm -f "$WASM_DIR/$name".*wasm
    if [[ $name == asrt ]]; then
      echo "asrt: not built (see $log)" >&2
      continue
    fi
    cat "$log" >&2
    echo "error: building $name failed" >&2
    exit 1
  fi
  optimize "$WASM_DIR/$name.min.wasm" "$WASM_DIR/$name.min.oz.wasm"
  allocator_only "$WASM_DIR/$name.min.wasm" "$WASM_DIR/$name.min.dce.oz.wasm"
  optimize "$WASM_DIR/$name.wasm" "$WASM_DIR/$name.oz.wasm"
done

# Which asrt was measured: the commit, and whether the runtime's files differed from it.
ASRT_REV=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ -n $(git -C "$ROOT" status --porcelain -- src build.rs Cargo.toml layout 2>/dev/null) ]]; then
  ASRT_REV="$ASRT_REV + uncommitted changes"
fi
export ASRT_REV

node "$ROOT/bench/alloc/run.mjs" --wasm "$WASM_DIR" --out "$OUT/alloc.md" "$@"
echo "written to bench/out/alloc.md" >&2
