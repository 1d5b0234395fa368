#!/usr/bin/env bash
# Builds the release runtime (scripts/build.sh default) and runs examples/demo.mjs on it.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$HOME/.cargo/bin:$PATH"

command -v cargo >/dev/null 2>&1 || { echo "cargo not found: install rustup (toolchain pinned by rust-toolchain.toml)" >&2; exit 1; }
command -v node >/dev/null 2>&1 || { echo "node not found: install Node.js 20" >&2; exit 1; }
if ! rustup target list --installed 2>/dev/null | grep -qx 'wasm32-unknown-unknown'; then
  rustup target add wasm32-unknown-unknown
fi

# shellcheck source=scripts/build.sh
source scripts/build.sh default
exec node examples/demo.mjs "$ASRT_WASM"
