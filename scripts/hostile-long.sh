#!/usr/bin/env bash
# The long run of the hostile-host random test (tests/js/hostile.mjs): millions of operations on
# each build, one after the other, printing each build's figures (operations, bad inputs,
# rejected calls, time) and stopping at the first failure with its reproduction.
#
#   scripts/hostile-long.sh                      # 2,000,000 operations per build, seed 1
#   ASRT_HOSTILE_OPS=5000000 ASRT_HOSTILE_SEED=7 scripts/hostile-long.sh
#   ASRT_HOSTILE_KINDS=forged,stale scripts/hostile-long.sh   # only some kinds
#
# Builds what is missing first (scripts/build.sh default modern import).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$HOME/.cargo/bin:$PATH"

# shellcheck source=scripts/build.sh
source scripts/build.sh default modern import >/dev/null

export ASRT_HOSTILE_OPS="${ASRT_HOSTILE_OPS:-2000000}"
export ASRT_HOSTILE_SEED="${ASRT_HOSTILE_SEED:-1}"
export ASRT_HOSTILE_KINDS="${ASRT_HOSTILE_KINDS:-sound}"
# One instance for the whole run by default (an abort once leaked native stack, so ~65,000
# rejected calls made every call trap; src/exports.rs keeps aborts frameless now). Set
# ASRT_HOSTILE_FRESH=N for a fresh instance (and the next seed) every N operations.
export ASRT_HOSTILE_FRESH="${ASRT_HOSTILE_FRESH:-0}"
echo "hostile host: $ASRT_HOSTILE_OPS operations per build, seed $ASRT_HOSTILE_SEED, kinds $ASRT_HOSTILE_KINDS, fresh instance every $ASRT_HOSTILE_FRESH"
start=$SECONDS
for build in "default:$ASRT_WASM" "modern:$ASRT_WASM_MODERN" "import-memory:$ASRT_WASM_IMPORT"; do
  ASRT_HOSTILE_LABEL="${build%%:*}" ASRT_HOSTILE_WASM="${build#*:}" node tests/js/hostile.mjs
done
echo "all builds passed in $((SECONDS - start)) s"
