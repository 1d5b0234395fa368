#!/usr/bin/env bash
# The heap inspector: builds asrt's default release module and its `assemblyscript` build,
# compiles the inspector's AssemblyScript program (inspector/program.ts, with js/asc.mjs, only
# when missing or stale), and serves inspector/ on 127.0.0.1 (default port 8137; open the printed
# URL in a browser).
#
#   scripts/inspect.sh [--port N]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="$HOME/.cargo/bin:$PATH"
[[ -d node_modules/assemblyscript ]] || npm ci --no-audit --no-fund
# shellcheck source=scripts/build.sh
source scripts/build.sh default asc >&2
exec node inspector/serve.mjs --build-program "$@"
