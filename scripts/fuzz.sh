#!/usr/bin/env bash
# Runs the libFuzzer targets in fuzz/ (cargo-fuzz) one after the other and prints the
# executions of each.
#
#   scripts/fuzz.sh [smoke|long] [TARGET...]
#     smoke   20 s per target (FUZZ_SECONDS overrides): part of scripts/test.sh
#     long    600 s per target
#   targets: heap_ops gc_ops layout_parse utf8 (default: all)
#
# Environment:
#   FUZZ_SECONDS=N         seconds per target
#   ASRT_FUZZ_HOSTILE=...  hostile action classes of heap_ops/gc_ops (default `safe`: those the
#                          runtime withstands today; `all`; or a list such as `all,-oom_exact`;
#                          see fuzz/common/mod.rs)
#   FUZZ_ARGS="..."        extra libFuzzer flags
#
# Corpora grow in fuzz/corpus/<target> (git-ignored), seeded from the repository (the layout
# files) and from fuzz/seeds/; a crash leaves its input in fuzz/artifacts/<target>/ and the
# script exits non-zero. Reproduce one with
#   cd fuzz && cargo +nightly fuzz run <target> artifacts/<target>/crash-...
# Fuzzing needs a nightly toolchain (the crate itself stays on the pinned 1.95) and cargo-fuzz:
# scripts/setup.sh installs both when missing.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT/fuzz"
export PATH="$HOME/.cargo/bin:$PATH"

mode="${1:-smoke}"
case "$mode" in
  smoke) secs="${FUZZ_SECONDS:-20}" ;;
  long) secs="${FUZZ_SECONDS:-600}" ;;
  *) echo "usage: scripts/fuzz.sh [smoke|long] [TARGET...]" >&2; exit 2 ;;
esac
shift || true
ALL_TARGETS=(heap_ops gc_ops layout_parse utf8)
targets=("$@")
((${#targets[@]})) || targets=("${ALL_TARGETS[@]}")
for t in "${targets[@]}"; do
  case " ${ALL_TARGETS[*]} " in *" $t "*) ;; *) echo "unknown target '$t' (${ALL_TARGETS[*]})" >&2; exit 2 ;; esac
done

command -v cargo-fuzz >/dev/null 2>&1 || {
  echo "cargo-fuzz is not installed: run scripts/setup.sh (or cargo install cargo-fuzz --locked)" >&2
  exit 1
}
if rustup run nightly rustc --version >/dev/null 2>&1; then
  CARGO=(cargo +nightly)
else
  echo "no nightly toolchain: run scripts/setup.sh (or rustup toolchain install nightly --profile minimal)" >&2
  exit 1
fi

# Two cores, shared: build with at most two jobs.
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"
echo "[fuzz] building ${targets[*]} ($("${CARGO[@]:0:2}" --version 2>/dev/null | head -n1 || true))"
for t in "${targets[@]}"; do
  "${CARGO[@]}" fuzz build "$t"
done

seed() {
  local t="$1" dir="corpus/$1"
  mkdir -p "$dir"
  if [[ -d "seeds/$t" ]]; then cp -n seeds/"$t"/* "$dir"/ 2>/dev/null || true; fi
  if [[ "$t" == layout_parse ]]; then
    # One selector byte (3: no ASRT_PROFILE override), then the text of a layout file.
    local f n
    for f in "$ROOT"/layout.toml "$ROOT"/tests/bad_layouts/*.toml; do
      n="$dir/seed-$(basename "$f" .toml)"
      [[ -e "$n" ]] || { printf '\003' >"$n"; cat "$f" >>"$n"; }
    done
  fi
}

max_len() {
  case "$1" in
    layout_parse) echo 8192 ;;
    *) echo 4096 ;;
  esac
}

declare -a report=()
failed=0
for t in "${targets[@]}"; do
  seed "$t"
  log="$(mktemp "${TMPDIR:-/tmp}/asrt-fuzz-$t.XXXXXX")"
  dict=()
  [[ -f "dict/$t.dict" ]] && dict=("-dict=dict/$t.dict")
  echo "[fuzz] $t: ${secs} s"
  set +e
  # shellcheck disable=SC2086
  timeout $((secs + 300)) "${CARGO[@]}" fuzz run "$t" "corpus/$t" -- \
    -max_total_time="$secs" -max_len="$(max_len "$t")" -len_control=50 \
    -rss_limit_mb=4096 -print_final_stats=1 "${dict[@]}" ${FUZZ_ARGS:-} >"$log" 2>&1
  rc=$?
  set -e
  execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)"
  cov="$(grep -Eo 'cov: [0-9]+' "$log" | tail -n1 | awk '{print $2}')"
  corpus="$(find "corpus/$t" -type f | wc -l)"
  grep -m1 'hostile classes on' "$log" || true
  if ((rc == 0)); then
    line="PASS  $t: ${execs:-?} executions in ${secs} s (coverage ${cov:-?}, corpus $corpus)"
  else
    failed=$((failed + 1))
    line="FAIL  $t: exit $rc after ${execs:-?} executions; log $log"
    grep -E -A3 "panicked at|ERROR: AddressSanitizer|ERROR: libFuzzer|Test unit written to" "$log" | head -n 20 || true
  fi
  echo "[fuzz] $line"
  report+=("$line")
done

echo
echo "==================== asrt fuzz ($mode) ===================="
for line in "${report[@]}"; do echo "  $line"; done
echo "$(( ${#targets[@]} - failed )) passed, $failed failed"
((failed == 0))
