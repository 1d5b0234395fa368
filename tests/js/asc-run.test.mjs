// AssemblyScript programs on asrt, end to end (docs/ABI.md §8): real programs compiled by
// js/asc.mjs run on the `assemblyscript` build through instantiateAssemblyScript(Sync), with
// enough allocation for many collections (also in small steps of the slowest pacing), their
// answers compared with the same sources on AssemblyScript's own incremental runtime, and
// __heap_check 0 after.
// Path:  ASRT_WASM_ASC, default target/asc/wasm32-unknown-unknown/release/asrt.wasm
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { instantiateAssemblyScript, instantiateAssemblyScriptSync } from "../../js/loader.mjs";
import { wasmPath } from "./helpers.mjs";
import { PROGRAMS, N, PACINGS, FINALIZE, compile, reference } from "./asc-programs.mjs";

const RUNTIME = readFileSync(wasmPath("ASRT_WASM_ASC", "target/asc/wasm32-unknown-unknown/release/asrt.wasm"));

for (const name of Object.keys(PROGRAMS)) {
  test(`${name}: same answers as AssemblyScript's runtime, many collections, __heap_check 0`, async () => {
    const [mine, theirs] = [await compile(name, true), await compile(name, false)];
    const n = N[name];
    for (const [pacing, { setup, scale }] of Object.entries(PACINGS)) {
      let started = 0;
      const { exports, runtime } = instantiateAssemblyScriptSync(mine, {}, {
        runtime: RUNTIME,
        beforeStart() { started++; },
      });
      assert.equal(started, 1);
      setup(runtime);
      const expected = reference(theirs);
      const m = Math.max(20, Math.round(n * scale));
      for (const k of [m, m >> 1, m]) {
        const got = exports.__getString(exports.run(k));
        assert.equal(got, expected(k), `${name} n=${k} (${pacing})`);
        assert.equal(runtime.__heap_check(), 0, `${name} n=${k} (${pacing}): heap check`);
      }
      const stats = exports.gcStats();
      assert.ok(stats.collections >= (pacing === "tiny" ? 30 : 3), `${name} (${pacing}): ${stats.collections} collections`);
      runtime.__collect();
      assert.equal(runtime.__heap_check(), 0);
      // Nothing but the program's globals keeps objects: a collection leaves a small heap.
      assert.ok(exports.gcStats().usedBytes < 4 << 20, `${name}: ${exports.gcStats().usedBytes} bytes used`);
    }
  });
}

test("JavaScript pins, __collect and steps between calls, __newString, the async form", async () => {
  const mine = await compile("strings", true);
  const { exports, runtime } = await instantiateAssemblyScript(Promise.resolve(mine), {}, {
    runtime: Promise.resolve(RUNTIME),
  });
  const s = exports.__pin(exports.run(50));
  const text = exports.__getString(s);
  for (let i = 0; i < 5; i++) {
    exports.run(500);
    while (runtime.__gc_step() !== 0);
    exports.__collect();
  }
  assert.equal(exports.__getString(s), text, "a pinned result survives collections");
  assert.equal(runtime.__heap_check(), 0);
  exports.__unpin(s);
  const made = exports.__newString("from JavaScript ✓");
  assert.equal(exports.__getString(made), "from JavaScript ✓");
  assert.equal(runtime.__heap_check(), 0);
});

test("the assemblyscript build refuses work before __asc_attach and a second attach", async () => {
  const { runtime } = instantiateAssemblyScriptSync(await compile("sets", true), {}, { runtime: RUNTIME });
  assert.throws(() => runtime.__asc_attach(0, 0, 0), /invalid argument/);
  const bare = new WebAssembly.Instance(new WebAssembly.Module(RUNTIME), {
    env: {
      abort(msg) {
        const m = bare.exports.memory.buffer;
        const size = new DataView(m).getUint32(msg - 4, true);
        throw new Error(String.fromCharCode(...new Uint16Array(m, msg, size >>> 1)));
      },
    },
    asc: { visit_members() {}, visit_roots() {}, finalize() {} },
  });
  assert.throws(() => bare.exports.__new(8, 0), /invalid argument/);
  // Below asrt's own static data: refused, and nothing was created.
  assert.throws(() => bare.exports.__asc_attach(16, 16, 64), /invalid argument/);
  assert.throws(() => bare.exports.__new(8, 0), /invalid argument/);
});

test("a reference moved into a global while marking survives (globals are rescanned before marking ends)", async () => {
  const { exports, runtime } = instantiateAssemblyScriptSync(await compile("globals", true), {}, { runtime: RUNTIME });
  // Enough live objects that marking takes many small steps.
  exports.grow(20000);
  runtime.__gc_configure(100, 1024);
  for (let round = 0; round < 5; round++) {
    exports.fill(round);
    const text = `kept-${round}-${"x".repeat(40)}`;
    runtime.__collect();
    assert.equal(runtime.__gc_step(), 1, "a cycle started: marking");
    exports.move();
    while (runtime.__gc_step() !== 0);
    exports.churn(5000);
    runtime.__collect();
    exports.churn(5000);
    assert.equal(exports.__getString(exports.read()), text, `round ${round}`);
    assert.equal(runtime.__heap_check(), 0);
  }
});


test("__finalize: every dead object once, after it became unreachable, intact; a hook that allocates is refused", async () => {
  PROGRAMS.finalize = FINALIZE;
  const errors = [];
  const { exports, runtime } = instantiateAssemblyScriptSync(await compile("finalize", true), {}, {
    runtime: RUNTIME,
    onFinalizeError: (e) => errors.push(e),
  });
  runtime.__gc_configure(100, 1024);
  exports.make(0, 40000, 10);
  runtime.__collect();
  runtime.__collect();
  for (let i = 0; i < 40000; i++) {
    assert.equal(exports.seenOf(i), i % 10 ? 1 : 0, `id ${i} after the first collections`);
  }
  exports.drop();
  runtime.__collect();
  for (let i = 0; i < 40000; i += 10) assert.equal(exports.seenOf(i), 1, `kept id ${i} after drop`);
  assert.equal(exports.badCount(), 0, "a hook saw a broken object");
  assert.equal(runtime.__heap_check(), 0);
  assert.equal(errors.length, 0);

  // A hook that calls back into asrt: refused, reported, and the sweep finishes.
  exports.setMode(1);
  exports.make(40000, 50000, 1 << 30);
  runtime.__collect();
  assert.equal(exports.getMode(), 2, "the hook ran in mode 1");
  assert.equal(errors.length, 1);
  assert.match(String(errors[0].message), /called back/);
  assert.equal(runtime.__heap_check(), 0);
  for (let i = 40000; i < 50000; i++) assert.equal(exports.seenOf(i), 1, `id ${i} (hook refused once)`);
  // The instance goes on working, its shadow stack balanced.
  exports.make(50000, 60000, 1 << 30);
  runtime.__collect();
  for (let i = 50000; i < 60000; i++) assert.equal(exports.seenOf(i), 1, `id ${i} after the refusal`);
  assert.equal(runtime.__heap_check(), 0);
  assert.equal(exports.badCount(), 0);
});

test("__gc_threshold and __asc_attach check their arguments", async () => {
  const { runtime } = instantiateAssemblyScriptSync(await compile("sets", true), {}, { runtime: RUNTIME });
  assert.throws(() => runtime.__gc_threshold(15), /invalid argument/);
  assert.throws(() => runtime.__gc_threshold((1 << 30) + 1), /invalid argument/);
  runtime.__gc_threshold(0);
  const bare = new WebAssembly.Instance(new WebAssembly.Module(RUNTIME), {
    env: { abort() { throw new Error("refused"); } },
    asc: { visit_members() {}, visit_roots() {}, finalize() {} },
  });
  const base = 0x200000;
  const view = new DataView(bare.exports.memory.buffer);
  while (bare.exports.memory.buffer.byteLength < base + 0x10000) bare.exports.memory.grow(16);
  // An RTTI table whose count runs past the static data, and unknown option bits: refused.
  new DataView(bare.exports.memory.buffer).setUint32(base + 64, 1000, true);
  assert.throws(() => bare.exports.__asc_attach(base + 64, base, base + 256, 0), /refused/);
  new DataView(bare.exports.memory.buffer).setUint32(base + 64, 4, true);
  assert.throws(() => bare.exports.__asc_attach(base + 64, base, base + 256, 2), /refused/);
  bare.exports.__asc_attach(base + 64, base, base + 256, 0);
  void view;
});

test("__typeinfo and __instanceof answer for the program's type ids", async () => {
  const { exports, runtime } = instantiateAssemblyScriptSync(await compile("classes", true), {}, { runtime: RUNTIME });
  const rtti = exports.__rtti_base?.value ?? null;
  const view = new DataView(runtime.memory.buffer);
  const base = rtti ?? 0;
  assert.ok(base > 0, "the loader exposes the program's __rtti_base");
  const count = view.getUint32(base, true);
  for (let id = 0; id < count; id++) {
    assert.equal(runtime.__typeinfo(id) >>> 0, view.getUint32(base + 4 + 4 * id, true), `flags of id ${id}`);
  }
  assert.throws(() => runtime.__typeinfo(count), /unknown runtime type id/);
  const s = exports.__pin(exports.__newString("x"));
  assert.equal(runtime.__instanceof(s, 2), 1, "a String is a String (id 2)");
  assert.equal(runtime.__instanceof(s, 1), 0, "not an ArrayBuffer");
  assert.throws(() => runtime.__instanceof(s, count), /unknown runtime type id/);
  exports.__unpin(s);
});
