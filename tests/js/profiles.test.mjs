// Build profiles (docs/ABI.md §3). The helpers must tell them apart exactly, and the helper-based
// suites run again here against the modern-profile build (Object 0, ArrayBuffer 1, String 2,
// ArrayBufferView 3; RTTI entries `{ flags }`).
//
// The other files in tests/js load ASRT_WASM, the classic build, so without this file the modern
// build's runtime, collector and error paths ran nowhere in the test command. Each test file runs
// in its own process under `node --test`, so pointing ASRT_WASM at the modern build here, before
// the suites are imported, changes only this process.
//
//   ASRT_WASM         the classic build (default target/wasm32-unknown-unknown/release/asrt.wasm)
//   ASRT_WASM_MODERN  the modern build (default target/modern/wasm32-unknown-unknown/release/asrt.wasm)
//   ASRT_WASM_IMPORT  the import-memory build (classic; default target/import-memory/...)
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { load, wasmPath, detectProfile } from "./helpers.mjs";

const CLASSIC = wasmPath();
const IMPORT = wasmPath("ASRT_WASM_IMPORT", "target/import-memory/wasm32-unknown-unknown/release/asrt.wasm");
const MODERN = wasmPath("ASRT_WASM_MODERN", "target/modern/wasm32-unknown-unknown/release/asrt.wasm");

for (const [label, path] of [["classic", CLASSIC], ["import-memory", IMPORT]]) {
  test(`${label} build: helpers detect the classic profile and use its fixed ids`, async () => {
    const rt = await load({ path });
    assert.equal(detectProfile(rt), "classic");
    assert.deepEqual(["ArrayBuffer", "String", "ArrayBufferView"].map((n) => rt.typeId(n)), [0, 1, 2]);
    assert.throws(() => rt.typeId("Object"), /unknown type Object/, "classic has no Object id");
    const s = rt.newString("héllo");
    assert.equal(rt.header(s).rtId, 1, "newString makes a String (id 1)");
    assert.equal(rt.exports.__string_utf8_length(s), 6, "the string helpers accept it as a String");
  });
}

// Make sure the helpers see a modern build, or every suite below would test the wrong ids.
test("modern build: helpers detect the profile and use its fixed ids", async () => {
  const rt = await load({ path: MODERN });
  assert.equal(detectProfile(rt), "modern");
  assert.deepEqual(["Object", "ArrayBuffer", "String", "ArrayBufferView"].map((n) => rt.typeId(n)), [0, 1, 2, 3]);
  const s = rt.newString("héllo");
  assert.equal(rt.header(s).rtId, 2, "newString makes a String (id 2)");
  assert.equal(rt.exports.__string_utf8_length(s), 6, "the string helpers accept it as a String");
  assert.equal(rt.exports.__instanceof(s, rt.typeId("ArrayBuffer")), 0);
});

// The suites read ASRT_WASM when they load a module; only the modern build differs from their
// own runs. (Set after the classic tests above took CLASSIC: `wasmPath()` ran at module load.)
assert.ok(existsSync(MODERN), `the modern build is missing at ${MODERN}: run scripts/build.sh modern`);
process.env.ASRT_WASM = MODERN;
await import("./runtime.test.mjs");
await import("./gc.test.mjs");
await import("./errors.test.mjs");
await import("./strings.test.mjs");
