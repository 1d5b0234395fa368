#!/usr/bin/env bash
# Builds what the AssemblyScript benchmarks run (bench/report/asc.mjs) into DIR: asrt's
# `assemblyscript` build as asc-runtime.wasm, every program of bench/as/build.mjs for asrt, AS
# incremental and AS stub (recompiled only when stale), and DIR/asc-sizes.json (raw and
# wasm-opt -Oz bytes). Used by bench/run-all.sh and bench/run-asc.sh.
#
#   bench/as/build-asc.sh DIR
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
W=${1:?usage: bench/as/build-asc.sh DIR}
mkdir -p "$W"
export PATH="$HOME/.cargo/bin:$PATH"
# shellcheck source=scripts/build.sh
source scripts/build.sh asc >&2
cp "$ASRT_WASM_ASC" "$W/asc-runtime.wasm"
node bench/as/build.mjs "$W"

oz() { if command -v wasm-opt >/dev/null; then wasm-opt -Oz --enable-bulk-memory --enable-sign-ext --enable-mutable-globals \
  --enable-nontrapping-float-to-int --enable-multivalue --enable-reference-types --strip-debug --strip-producers "$1" -o "$1.oz" && wc -c <"$1.oz"; else echo null; fi; }
entry() { # NAME FILE PROGRAM RUNTIME
  printf '  { "name": "%s", "raw": %s, "oz": %s, "asc": { "program": %s, "runtime": "%s" } }' "$1" "$(wc -c <"$2")" "$(oz "$2")" "$3" "$4"
}
{
  echo '{ "modules": ['
  entry "asrt, assemblyscript build (runtime of AS programs)" "$W/asc-runtime.wasm" null asrt-runtime
  for p in $(node -e 'import("./bench/as/build.mjs").then((m) => console.log(m.PROGRAMS.join(" ")))'); do
    for rt in asrt incremental stub; do
      echo ","
      entry "AS program $p ($rt)" "$W/as-$p-$rt.wasm" "\"$p\"" "$rt"
    done
  done
  echo
  echo '] }'
} >"$W/asc-sizes.json"
