#!/usr/bin/env bash
# Steady replacement at 1 GiB live (issue 10: "report 1 GiB too"), node only: asrt at the default
# pause and at __gc_configure(90, 0), and AssemblyScript's incremental runtime (which needs about
# 4x live, so at 1 GiB it meets wasm32's 4 GiB end). The report's workload and figures
# (bench/report/steady-large.mjs); about 5 minutes and some 10 GiB of RAM at 1 GiB live.
#
#   bench/run-steady-large.sh                 # 1024 MiB live -> bench/out/steady-large.md
#   bench/run-steady-large.sh --live 512,1024 --reps 3 --runtimes asrt
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="$HOME/.cargo/bin:$PATH"
[[ -d node_modules/assemblyscript ]] || npm ci --no-audit --no-fund
W=bench/out/steady-wasm
mkdir -p "$W"
# shellcheck source=scripts/build.sh
source scripts/build.sh default >&2
cp "$ASRT_WASM" "$W/asrt.wasm"
if [[ ! -f $W/gcwork-as-incremental.wasm || bench/as/gcwork.ts -nt $W/gcwork-as-incremental.wasm ]]; then
  node_modules/.bin/asc bench/as/gcwork.ts -O3 --runtime incremental --exportRuntime --noAssert -o "$W/gcwork-as-incremental.wasm"
fi
ASRT_REV=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
[[ -z $(git status --porcelain -- src build.rs Cargo.toml layout.toml 2>/dev/null) ]] || ASRT_REV="$ASRT_REV + uncommitted changes"
export ASRT_REV
node --max-old-space-size=16384 bench/report/steady-large.mjs --modules "$W" --out bench/out/steady-large.md "$@"
