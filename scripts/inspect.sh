#!/usr/bin/env bash
# The heap inspector: builds asrt's default release module and serves inspector/ on
# 127.0.0.1 (default port 8137; open the printed URL in a browser).
#
#   scripts/inspect.sh [--port N]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="$HOME/.cargo/bin:$PATH"
# shellcheck source=scripts/build.sh
source scripts/build.sh default >&2
exec node inspector/serve.mjs "$@"
