#!/usr/bin/env bash
# The C SDK (docs/ABI.md §9): asrt as a static library for C and other LLVM languages.
#
#   scripts/c-sdk.sh DEST [--layout FILE] [--import-memory] [--lto]
#
# writes into DEST:
#   libasrt.a     asrt for wasm32-unknown-unknown (release), a static library
#   asrt.h        the runtime's API for C (include/asrt.h)
#   asrt_layout.h generated from the layout by build.rs: ASRT_ID_<Name>, ASRT_SIZE_<Name>,
#                 ASRT_REF_<Name>_<k>, the exported statics
#   asrt.ldflags  wasm-ld arguments: --no-entry, --stack-first, a 1 MiB stack, the layout's
#                 memory, --import-memory when asked, and an --export= for each export of the
#                 runtime's own cdylib built from the same sources and layout
#
#   --layout FILE     the layout file (default: the crate's layout.toml); one library per layout
#   --import-memory   the module imports env.memory (and still exports it)
#   --lto             libasrt.a holds LLVM bitcode (rustc -C linker-plugin-lto) for a
#                     cross-language LTO link with the Rust toolchain's rust-lld (examples/c/Makefile)
#
# Then: clang-19 --target=wasm32-unknown-unknown -O2 -I DEST -c prog.c
#       wasm-ld-19 @DEST/asrt.ldflags prog.o DEST/libasrt.a -o prog.wasm
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
usage() { echo "usage: scripts/c-sdk.sh DEST [--layout FILE] [--import-memory] [--lto]" >&2; exit 2; }

dest="" layout="" import=0 lto=0
while (($#)); do
  case "$1" in
    --layout) (($# >= 2)) || usage; layout="$2"; shift 2 ;;
    --layout=*) layout="${1#--layout=}"; shift ;;
    --import-memory) import=1; shift ;;
    --lto) lto=1; shift ;;
    -*) usage ;;
    *) [[ -z "$dest" ]] || usage; dest="$1"; shift ;;
  esac
done
[[ -n "$dest" ]] || usage
if [[ -n "$layout" ]]; then
  [[ -f "$layout" ]] || { echo "c-sdk: no layout file $layout" >&2; exit 1; }
  layout="$(cd "$(dirname "$layout")" && pwd)/$(basename "$layout")"
fi
mkdir -p "$dest"
dest="$(cd "$dest" && pwd)"

# One target directory per variant, so switching variants does not rebuild the others.
target="${CARGO_TARGET_DIR:-$ROOT/target}"
[[ "$target" = /* ]] || target="$ROOT/$target"
variant="c-sdk"
((import)) && variant+="-import"
((lto)) && variant+="-lto"
target="$target/$variant"

features=()
((import)) && features=(--features import-memory)
rustflags="${RUSTFLAGS:-}"
((lto)) && rustflags+=" -C linker-plugin-lto"

msgs="$(mktemp)"
trap 'rm -f "$msgs"' EXIT
echo "[c-sdk] building libasrt.a (${variant}, layout ${layout:-layout.toml})" >&2
# The staticlib and the cdylib in one compilation: the cdylib's exports become asrt.ldflags's.
(cd "$ROOT" && ASRT_LAYOUT="$layout" RUSTFLAGS="$rustflags" env -u ASRT_PROFILE \
  cargo rustc --release --target wasm32-unknown-unknown --lib --crate-type staticlib,cdylib \
  "${features[@]}" --target-dir "$target" --message-format=json-render-diagnostics) >"$msgs"

node --input-type=module - "$msgs" "$dest" "$ROOT/include/asrt.h" <<'JS'
import { readFileSync, copyFileSync, writeFileSync } from "node:fs";
const [msgs, dest, header] = process.argv.slice(2);
let outDir, files;
for (const line of readFileSync(msgs, "utf8").split("\n")) {
  if (!line.startsWith("{")) continue;
  const m = JSON.parse(line);
  if (m.reason === "build-script-executed" && /\/build\/asrt-[0-9a-f]+\/out$/.test(m.out_dir)) outDir = m.out_dir;
  if (m.reason === "compiler-artifact" && m.target.name === "asrt") files = m.filenames;
}
if (!outDir || !files) throw Error("c-sdk: cargo did not report asrt's build output");
const lib = files.find(f => f.endsWith(".a"));
const wasm = files.find(f => f.endsWith(".wasm"));
copyFileSync(lib, `${dest}/libasrt.a`);
copyFileSync(header, `${dest}/asrt.h`);
copyFileSync(`${outDir}/asrt_layout.h`, `${dest}/asrt_layout.h`);
// The cdylib's exports (functions and data globals, without `memory`, which --export-memory or
// wasm-ld's default provides) become --export= arguments.
const names = WebAssembly.Module.exports(new WebAssembly.Module(readFileSync(wasm)))
  .map(e => e.name).filter(n => n !== "memory");
const flags = readFileSync(`${outDir}/asrt.ldflags`, "utf8") + names.map(n => `--export=${n}\n`).join("");
writeFileSync(`${dest}/asrt.ldflags`, flags);
console.error(`[c-sdk] ${dest}: libasrt.a asrt.h asrt_layout.h asrt.ldflags (${names.length} exports)`);
JS
