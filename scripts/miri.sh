#!/usr/bin/env bash
# Runs host test files under Miri (nightly, host only; the crate itself stays on 1.95), which
# reports undefined behaviour in the runtime's unsafe code as it runs: out-of-bounds or
# misaligned accesses to the simulated memory, use of freed Rust allocations, aliasing errors.
#
#   scripts/miri.sh                    # the hostile and fuzz-found tests (about 20 minutes)
#   scripts/miri.sh roots_guard heap_check
#
# Slow (every test runs interpreted, with the checker after GC steps): a long mode by hand, not
# part of scripts/test.sh. Installs the nightly toolchain's miri component when missing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="$HOME/.cargo/bin:$PATH"
if ! cargo +nightly miri --version >/dev/null 2>&1; then
  rustup toolchain install nightly --profile minimal
  rustup component add miri rust-src --toolchain nightly
fi
tests=("$@")
((${#tests[@]})) || tests=(hostile fuzz_found)
args=()
for t in "${tests[@]}"; do args+=(--test "$t"); done
cargo +nightly miri test "${args[@]}"
