// The core build (`cargo build --no-default-features`, scripts/build.sh core): the whole ABI of
// docs/ABI.md §5 except the string helpers, which the default feature `strings` adds.
//
// It must export exactly what the default build exports less the nine `__string_*` functions,
// import the same, and behave the same: the helper-based suites (which make their Strings with
// `__new`, never through the string exports) run again here against it.
//
//   ASRT_WASM       the default build (target/wasm32-unknown-unknown/release/asrt.wasm)
//   ASRT_WASM_CORE  the core build (default target/core/wasm32-unknown-unknown/release/asrt.wasm)
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { compiled, load, wasmPath } from "./helpers.mjs";

const DEFAULT = wasmPath();
const CORE = wasmPath("ASRT_WASM_CORE", "target/core/wasm32-unknown-unknown/release/asrt.wasm");
const STRING_HELPERS = [
  "__string_from_utf16", "__string_from_utf8", "__string_utf8_length", "__string_to_utf8",
  "__string_concat", "__string_equals", "__string_compare", "__string_hash", "__string_slice",
];

assert.ok(existsSync(CORE), `the core build is missing at ${CORE}: run scripts/build.sh core`);

test("core build: the default build's exports less the string helpers, the same imports", () => {
  const names = (m) => WebAssembly.Module.exports(m).map((e) => `${e.name}:${e.kind}`).sort();
  const full = compiled(DEFAULT);
  const core = compiled(CORE);
  for (const s of STRING_HELPERS) assert.ok(names(full).includes(`${s}:function`), `default exports ${s}`);
  assert.deepEqual(names(core), names(full).filter((n) => !STRING_HELPERS.includes(n.split(":")[0])));
  const imports = (m) => WebAssembly.Module.imports(m).map((i) => `${i.module}.${i.name}:${i.kind}`).sort();
  assert.deepEqual(imports(core), imports(full));
});

test("core build: objects, strings made with __new, a collection, the checker", async () => {
  const rt = await load({ path: CORE });
  const e = rt.exports;
  const s = e.__pin(rt.newString("kept"));
  for (let i = 0; i < 100; i++) rt.newString(`garbage ${i}`);
  e.__collect();
  assert.equal(rt.readString(s), "kept");
  assert.equal(e.__heap_check(), 0);
  assert.throws(() => e.__new(16, 0xffff), /unknown runtime type id/);
  assert.equal(e.__heap_check(), 0, "a refused call changes nothing");
});

// The suites read ASRT_WASM when they load a module (each test file is its own process).
process.env.ASRT_WASM = CORE;
await import("./runtime.test.mjs");
await import("./gc.test.mjs");
await import("./errors.test.mjs");
await import("./weak.test.mjs");
