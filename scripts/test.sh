#!/usr/bin/env bash
# THE test command. Installs what is missing (scripts/setup.sh), then runs
# every test level, failing fast:
#
#   host      cargo fmt --check, cargo clippy (-D warnings, SAFETY comments), cargo test (x86_64);
#             the unit tests and clippy again with --features assemblyscript
#   build     scripts/build.sh all             (release wasm: default, modern profile, import-memory,
#             rtrace, assemblyscript host)
#   wasm-node cargo test --target wasm32-unknown-unknown --tests   (wasm-bindgen-test-runner in node)
#   chromium  the same wasm suites in headless Chromium (WASM_BINDGEN_USE_BROWSER=1, chromedriver)
#   js        node --test tests/js/  (+ js/test/ when present), against the release builds
#   c         the C SDK (docs/ABI.md §9): tests/c/build.sh (scripts/c-sdk.sh, examples/c plain
#             and LTO, tests/c's programs; clang-19 and lld-19 from setup), then tests/c/'s
#             checks in node and in headless Chromium
#   report    node --test bench/report/test/ inspector/test/ (the report's goal verdicts and plots;
#             the heap inspector end to end in headless Chromium),
#             then bench/run-all.sh --short (every workload in node and Chromium; every plot made)
#             and bench/run-asc.sh --short (the AssemblyScript programs on asrt and AS's runtimes)
#   fuzz      scripts/fuzz.sh smoke            (every libFuzzer target in fuzz/ for ~20 s, nightly;
#             last, so that a missing nightly toolchain cannot hide the other levels' results)
#
#   scripts/test.sh                 # setup + every level
#   scripts/test.sh host js         # setup + only the named levels (js and report imply build)
#   ASRT_SKIP_SETUP=1 scripts/test.sh ...   # do not run scripts/setup.sh
#
# Ends with "N passed, M failed" (counting levels) and exits non-zero on failure.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$HOME/.cargo/bin:$PATH"

ALL_STAGES=(setup host build wasm-node chromium js c report fuzz)

# ---- stage selection ---------------------------------------------------------
selected=()
if (($#)); then
  for arg in "$@"; do
    case " ${ALL_STAGES[*]} " in
      *" $arg "*) selected+=("$arg") ;;
      *) echo "unknown stage '$arg' (stages: ${ALL_STAGES[*]})" >&2; exit 2 ;;
    esac
  done
  [[ "${ASRT_SKIP_SETUP:-0}" == 1 ]] || selected=(setup "${selected[@]}")
  case " ${selected[*]} " in *" js "* | *" report "*) selected=(build "${selected[@]}") ;; esac
  # keep the canonical order, drop duplicates
  ordered=()
  for s in "${ALL_STAGES[@]}"; do
    case " ${selected[*]} " in *" $s "*) ordered+=("$s") ;; esac
  done
  selected=("${ordered[@]}")
else
  selected=("${ALL_STAGES[@]}")
  if [[ "${ASRT_SKIP_SETUP:-0}" == 1 ]]; then selected=("${ALL_STAGES[@]:1}"); fi
fi

# ---- the stages --------------------------------------------------------------
stage_setup() {
  bash scripts/setup.sh
}

stage_host() {
  cargo fmt --check
  cargo clippy --all-targets -- -D warnings -W clippy::undocumented_unsafe_blocks
  cargo test
  # The unit tests again in the build that hosts AssemblyScript programs (its own constants).
  cargo clippy --lib --features assemblyscript -- -D warnings -W clippy::undocumented_unsafe_blocks
  cargo test --lib --features assemblyscript
}

stage_fuzz() {
  # Every libFuzzer target for ~20 s (scripts/fuzz.sh smoke; nightly + cargo-fuzz from setup).
  bash scripts/fuzz.sh smoke
}

stage_build() {
  # shellcheck source=scripts/build.sh
  source scripts/build.sh all
  # record the paths for the js stage (it runs in another subshell)
  printf 'export ASRT_WASM=%q ASRT_WASM_MODERN=%q ASRT_WASM_IMPORT=%q ASRT_WASM_RTRACE=%q ASRT_WASM_ASC=%q ASRT_WASM_CORE=%q ASRT_WASM_ASC_CHECK=%q\n' \
    "$ASRT_WASM" "$ASRT_WASM_MODERN" "$ASRT_WASM_IMPORT" "$ASRT_WASM_RTRACE" "$ASRT_WASM_ASC" "$ASRT_WASM_CORE" "$ASRT_WASM_ASC_CHECK" >"$ENV_FILE"
}

# The wasm runner reports "no tests to run!" for a binary without any
# #[wasm_bindgen_test]; a level where no test ran at all is a failure, not a pass.
require_tests_ran() {
  local total
  total="$(sed -n 's/^test result: ok\. \([0-9][0-9]*\) passed.*/\1/p' "$1" | awk '{ n += $1 } END { print n + 0 }')"
  echo "wasm tests passed in this level: $total"
  if ((total == 0)); then
    echo "no wasm test ran: mark wasm tests #[wasm_bindgen_test] (plain #[test] is not seen by wasm-bindgen-test-runner)" >&2
    return 1
  fi
}

stage_wasm_node() {
  # Test files that configure run_in_browser are left to the chromium stage.
  WASM_BINDGEN_TEST_ONLY_NODE=1 cargo test --target wasm32-unknown-unknown --tests 2>&1 | tee "$LOG_DIR/wasm-node.log"
  require_tests_ran "$LOG_DIR/wasm-node.log"
}

stage_chromium() {
  local driver
  driver="${CHROMEDRIVER:-$(command -v chromedriver || true)}"
  [[ -x "$driver" ]] || { echo "chromedriver not found (apt-get install chromium-driver)" >&2; return 1; }
  # WASM_BINDGEN_USE_BROWSER forces browser mode for test files that do not
  # configure a mode; webdriver.json adds Chromium flags (--no-sandbox: we may run as root).
  env -u WASM_BINDGEN_TEST_ONLY_NODE -u NO_HEADLESS \
    WASM_BINDGEN_USE_BROWSER=1 \
    CHROMEDRIVER="$driver" \
    WASM_BINDGEN_TEST_WEBDRIVER_JSON="$ROOT/webdriver.json" \
    WASM_BINDGEN_TEST_TIMEOUT="${WASM_BINDGEN_TEST_TIMEOUT:-300}" \
    cargo test --target wasm32-unknown-unknown --tests 2>&1 | tee "$LOG_DIR/chromium.log"
  require_tests_ran "$LOG_DIR/chromium.log"
}

stage_js() {
  if [[ -f "$ENV_FILE" ]]; then
    # shellcheck disable=SC1090
    source "$ENV_FILE"
  fi
  shopt -s nullglob
  local files=(tests/js/*.test.mjs)
  if ((${#files[@]} == 0)); then
    echo "no JavaScript tests found: tests/js/*.test.mjs" >&2
    return 1
  fi
  echo "ASRT_WASM=${ASRT_WASM:-}"
  echo "ASRT_WASM_MODERN=${ASRT_WASM_MODERN:-}"
  echo "ASRT_WASM_IMPORT=${ASRT_WASM_IMPORT:-}"
  echo "ASRT_WASM_RTRACE=${ASRT_WASM_RTRACE:-}"
  echo "ASRT_WASM_CORE=${ASRT_WASM_CORE:-}"
  node --test tests/js/
  # The AssemblyScript programs again on the build that checks the heap after every GC step.
  if [[ -n "${ASRT_WASM_ASC_CHECK:-}" ]]; then
    ASRT_WASM_ASC="$ASRT_WASM_ASC_CHECK" node --test tests/js/asc-run.test.mjs
  fi
  if [[ -d js/test ]]; then
    node --test js/test/
    # The loader's checks again, in headless Chromium.
    node js/test/browser/run.mjs
  else
    echo "(js/test/ does not exist: nothing more to run)"
  fi
}

stage_c() {
  local tool
  for tool in clang-19 wasm-ld-19; do
    command -v "$tool" >/dev/null || { echo "$tool not found (scripts/setup.sh installs clang-19 and lld-19)" >&2; return 1; }
  done
  bash tests/c/build.sh
  node --test tests/c/
  node tests/c/browser.mjs
}

stage_report() {
  if [[ -f "$ENV_FILE" ]]; then
    # shellcheck disable=SC1090
    source "$ENV_FILE"
  fi
  # The report's pieces (goal verdicts, SVG writers), then the heap inspector end to end in
  # headless Chromium (playwright-core, /usr/bin/chromium).
  node --test bench/report/test/ inspector/test/
  # The benchmark report in its short mode: fails when a workload fails or a plot is missing
  # (the AssemblyScript programs' rows included).
  bash bench/run-all.sh --short
  # The AssemblyScript programs' own command, short (node only, into bench/out/asc-short.md).
  bash bench/run-asc.sh --short >/dev/null
  # The large-live steady replacement (bench/run-steady-large.sh) at 4 MiB, on the report's modules.
  node bench/report/steady-large.mjs --modules bench/out/report-wasm --live 4 --reps 1 --strict >/dev/null
}

# ---- runner ------------------------------------------------------------------
LOG_DIR="$(mktemp -d "${TMPDIR:-/tmp}/asrt-test.XXXXXX")"
ENV_FILE="$LOG_DIR/env.sh"
trap 'rm -rf "$LOG_DIR"' EXIT

passed=0
failed=0
results=()

summary() {
  echo
  echo "==================== asrt test summary ===================="
  local line
  for line in "${results[@]}"; do echo "  $line"; done
  echo "${passed} passed, ${failed} failed"
}

for stage in "${selected[@]}"; do
  echo
  echo "==================== [$stage] ===================="
  start=$SECONDS
  # Run outside any conditional so that `set -e` stays in force inside the stage.
  set +e
  ( set -euo pipefail; "stage_${stage//-/_}" )
  rc=$?
  set -e
  secs=$((SECONDS - start))
  if ((rc == 0)); then
    passed=$((passed + 1))
    results+=("PASS  $stage (${secs}s)")
  else
    failed=$((failed + 1))
    results+=("FAIL  $stage (${secs}s, exit $rc)")
    # fail fast: list what was not run
    seen=0
    for s in "${selected[@]}"; do
      if ((seen)); then results+=("----  $s (not run: an earlier stage failed)"); fi
      [[ "$s" == "$stage" ]] && seen=1
    done
    summary
    exit 1
  fi
done

summary
