#!/usr/bin/env bash
# Builds the release wasm modules of the runtime.
#
#   scripts/build.sh [default|modern|import|rtrace|asc|asc-check|core|all]...     (no argument = all)
#
#   default  cargo build --release --target wasm32-unknown-unknown
#            -> $TARGET/wasm32-unknown-unknown/release/asrt.wasm            (ASRT_WASM)
#   modern   ASRT_PROFILE=modern, --target-dir $TARGET/modern
#            -> $TARGET/modern/wasm32-unknown-unknown/release/asrt.wasm     (ASRT_WASM_MODERN)
#   import   --features import-memory, --target-dir $TARGET/import-memory
#            -> $TARGET/import-memory/wasm32-unknown-unknown/release/asrt.wasm (ASRT_WASM_IMPORT)
#   asc      ASRT_PROFILE=modern, --features assemblyscript, --target-dir $TARGET/asc: the module
#            that hosts programs compiled by js/asc.mjs (docs/ABI.md §8)
#            -> $TARGET/asc/wasm32-unknown-unknown/release/asrt.wasm        (ASRT_WASM_ASC)
#   asc-check  asc with --features check-steps (the full heap checker after every GC step, a trap
#            on the first broken invariant), --target-dir $TARGET/asc-check: for the tests
#            -> $TARGET/asc-check/wasm32-unknown-unknown/release/asrt.wasm  (ASRT_WASM_ASC_CHECK)
#   core     --no-default-features --features small-stack (the ABI without the string helpers),
#            --target-dir $TARGET/core
#            -> $TARGET/core/wasm32-unknown-unknown/release/asrt.wasm       (ASRT_WASM_CORE)
#
# $TARGET is $CARGO_TARGET_DIR when set, else ./target. Executed, the script
# prints the three variables (KEY=path) on stdout, everything else on stderr, so
# `eval "$(scripts/build.sh)"` works; sourced (`source scripts/build.sh`),
# it also exports them into the caller.

_asrt_build_main() {
  local root target variants v
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  target="${CARGO_TARGET_DIR:-target}"
  [[ "$target" = /* ]] || target="$root/$target"

  export ASRT_WASM="$target/wasm32-unknown-unknown/release/asrt.wasm"
  export ASRT_WASM_MODERN="$target/modern/wasm32-unknown-unknown/release/asrt.wasm"
  export ASRT_WASM_IMPORT="$target/import-memory/wasm32-unknown-unknown/release/asrt.wasm"
  export ASRT_WASM_RTRACE="$target/rtrace/wasm32-unknown-unknown/release/asrt.wasm"
  export ASRT_WASM_ASC="$target/asc/wasm32-unknown-unknown/release/asrt.wasm"
  export ASRT_WASM_CORE="$target/core/wasm32-unknown-unknown/release/asrt.wasm"
  export ASRT_WASM_ASC_CHECK="$target/asc-check/wasm32-unknown-unknown/release/asrt.wasm"

  variants=("$@")
  ((${#variants[@]})) || variants=(default modern import rtrace asc asc-check core)
  for v in "${variants[@]}"; do
    [[ "$v" == all ]] && { variants=(default modern import rtrace asc asc-check core); break; }
  done

  for v in "${variants[@]}"; do
    case "$v" in
      default)
        echo "[build] default (classic profile) -> $ASRT_WASM" >&2
        (cd "$root" && env -u ASRT_PROFILE cargo build --release --target wasm32-unknown-unknown --target-dir "$target") || return 1
        [[ -f "$ASRT_WASM" ]] || { echo "[build] missing $ASRT_WASM" >&2; return 1; }
        ;;
      modern)
        echo "[build] modern profile -> $ASRT_WASM_MODERN" >&2
        (cd "$root" && ASRT_PROFILE=modern cargo build --release --target wasm32-unknown-unknown --target-dir "$target/modern") || return 1
        [[ -f "$ASRT_WASM_MODERN" ]] || { echo "[build] missing $ASRT_WASM_MODERN" >&2; return 1; }
        ;;
      import)
        echo "[build] import-memory -> $ASRT_WASM_IMPORT" >&2
        (cd "$root" && env -u ASRT_PROFILE cargo build --release --target wasm32-unknown-unknown --features import-memory --target-dir "$target/import-memory") || return 1
        [[ -f "$ASRT_WASM_IMPORT" ]] || { echo "[build] missing $ASRT_WASM_IMPORT" >&2; return 1; }
        ;;
      rtrace)
        echo "[build] rtrace hooks -> $ASRT_WASM_RTRACE" >&2
        (cd "$root" && env -u ASRT_PROFILE cargo build --release --target wasm32-unknown-unknown --features rtrace --target-dir "$target/rtrace") || return 1
        [[ -f "$ASRT_WASM_RTRACE" ]] || { echo "[build] missing $ASRT_WASM_RTRACE" >&2; return 1; }
        ;;
      asc)
        echo "[build] assemblyscript host -> $ASRT_WASM_ASC" >&2
        (cd "$root" && ASRT_PROFILE=modern cargo build --release --target wasm32-unknown-unknown --features assemblyscript --target-dir "$target/asc") || return 1
        [[ -f "$ASRT_WASM_ASC" ]] || { echo "[build] missing $ASRT_WASM_ASC" >&2; return 1; }
        ;;
      asc-check)
        echo "[build] assemblyscript host with step checks -> $ASRT_WASM_ASC_CHECK" >&2
        (cd "$root" && ASRT_PROFILE=modern cargo build --release --target wasm32-unknown-unknown --features assemblyscript,check-steps --target-dir "$target/asc-check") || return 1
        [[ -f "$ASRT_WASM_ASC_CHECK" ]] || { echo "[build] missing $ASRT_WASM_ASC_CHECK" >&2; return 1; }
        ;;
      core)
        echo "[build] core (no string helpers) -> $ASRT_WASM_CORE" >&2
        (cd "$root" && env -u ASRT_PROFILE cargo build --release --target wasm32-unknown-unknown --no-default-features --features small-stack --target-dir "$target/core") || return 1
        [[ -f "$ASRT_WASM_CORE" ]] || { echo "[build] missing $ASRT_WASM_CORE" >&2; return 1; }
        ;;
      *)
        echo "[build] unknown variant '$v' (expected default, modern, import, rtrace, asc, asc-check, core or all)" >&2
        return 2
        ;;
    esac
  done
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  set -euo pipefail
  _asrt_build_main "$@"
  printf 'ASRT_WASM=%q\nASRT_WASM_MODERN=%q\nASRT_WASM_IMPORT=%q\nASRT_WASM_RTRACE=%q\nASRT_WASM_ASC=%q\nASRT_WASM_CORE=%q\n' "$ASRT_WASM" "$ASRT_WASM_MODERN" "$ASRT_WASM_IMPORT" "$ASRT_WASM_RTRACE" "$ASRT_WASM_ASC" "$ASRT_WASM_CORE"
else
  _asrt_build_main "$@"
fi
