#!/usr/bin/env bash
# AssemblyScript programs on asrt (issue 11): the same sources (bench/as/*.ts) compiled by
# js/asc.mjs and run on asrt's `assemblyscript` build, and compiled by asc with --runtime
# incremental and stub; binary-trees, string building, Map/Set and small calls at a large live
# set; time, pauses, memory and sizes with issue 11's goals. node only (bench/run-all.sh runs the
# same workloads in Chromium too).
#
#   bench/run-asc.sh             # full: n = 16, 64 MiB live -> bench/out/asc.md, bench/out/asc.json
#   bench/run-asc.sh --short     # small sizes, about 10 s  -> bench/out/asc-short.md
#   bench/run-asc.sh --readme    # full, and README.md's table (between the asc-bench markers) refreshed
#
# More arguments go to bench/report/run-asc.mjs (--only binarytrees,live, --out FILE.md).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
[[ -d node_modules/assemblyscript ]] || npm ci --no-audit --no-fund
W=bench/out/asc-wasm
bench/as/build-asc.sh "$W" >&2
args=()
for a in "$@"; do
  if [[ $a == --readme ]]; then args+=(--readme README.md); else args+=("$a"); fi
done
ASRT_REV=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
[[ -z $(git status --porcelain -- src js build.rs Cargo.toml layout.toml 2>/dev/null) ]] || ASRT_REV="$ASRT_REV + uncommitted changes"
export ASRT_REV
node bench/report/run-asc.mjs --modules "$W" "${args[@]}"
