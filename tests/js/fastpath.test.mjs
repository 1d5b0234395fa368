// `__new`'s fast path (no `ready` test: the runtime's zeroed cell closes it):
// the very first call of an instance is a small `__new`, in every build; an imported memory full
// of junk (the runtime's cell must still read as zero bytes); rtrace hooks that read the runtime
// in the middle of a fast-path allocation in every phase; the assemblyscript build, `__new`
// before `__asc_attach` (init fails) then attach, then the fast path.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { load, wasmPath, MANAGED } from "./helpers.mjs";

const BUILDS = {
  default: wasmPath(),
  modern: wasmPath("ASRT_WASM_MODERN", "target/modern/wasm32-unknown-unknown/release/asrt.wasm"),
  core: wasmPath("ASRT_WASM_CORE", "target/core/wasm32-unknown-unknown/release/asrt.wasm"),
  import: wasmPath("ASRT_WASM_IMPORT", "target/import-memory/wasm32-unknown-unknown/release/asrt.wasm"),
};

for (const [label, path] of Object.entries(BUILDS)) {
  test(`${label}: the first call of an instance is a small __new (sizes 0..33, two ids)`, async () => {
    for (const size of [0, 1, 4, 8, 15, 16, 17, 31, 32, 33]) {
      for (const name of ["TreeNode", "ArrayBuffer"]) {
        const rt = await load({ path });
        const id = rt.typeId(name); // reads memory only: no export runs
        const p = rt.exports.__new(size, id);
        const h = rt.header(p);
        assert.ok((h.gcInfo & MANAGED) !== 0 && h.rtId === id && h.rtSize === size, `${label} ${size}: ${JSON.stringify(h)}`);
        for (let i = 0; i < size; i++) assert.equal(rt.u8[p + i], 0);
        assert.equal(rt.check(), 0);
        const s = rt.stats();
        assert.equal(s.liveObjects, 1);
        assert.equal(s.totalAllocated, size);
        // The second one takes the fast path, right after the first.
        const q = rt.exports.__new(8, id);
        assert.equal(q, p + rt.blockSize(p), `${label} ${size}: the next object follows`);
        assert.equal(rt.stats().liveObjects, 2);
        assert.equal(rt.check(), 0);
      }
    }
  });
}

test("import-memory: an imported memory full of junk; the first small __new still creates the runtime", async () => {
  for (const junk of [0xff, 0x01, 0x5a]) {
    const memory = new WebAssembly.Memory({ initial: 32 });
    new Uint8Array(memory.buffer).fill(junk);
    const rt = await load({ path: BUILDS.import, memory });
    const id = rt.typeId("TreeNode");
    const p = rt.exports.__new(8, id);
    assert.ok(p >= rt.heapStart + 16, `junk ${junk}: ${p} in the heap`);
    assert.equal(rt.check(), 0);
    assert.equal(rt.stats().liveObjects, 1);
    for (let i = 0; i < 2000; i++) rt.exports.__new(1 + (i % 32), id);
    rt.exports.__collect();
    assert.equal(rt.check(), 0);
  }
});

test("pacing edges through the export: __gc_threshold 16 / 0, __gc_configure(10, 1024), payload 0 between small ones", async () => {
  const rt = await load();
  const e = rt.exports;
  const id = rt.typeId("TreeNode");
  const keep = e.__pin(e.__new(8, id));
  let prev = keep;
  for (let round = 0; round < 6; round++) {
    if (round === 1) e.__gc_threshold(16);
    if (round === 2) e.__gc_configure(10, 1024);
    if (round === 3) e.__gc_threshold(0);
    if (round === 4) e.__gc_configure(1000, 0);
    if (round === 5) e.__gc_threshold(1 << 30);
    for (let i = 0; i < 20000; i++) {
      const size = i % 7 === 0 ? 0 : 1 + (i % 32);
      const p = e.__new(size, id);
      if (size >= 8 && i % 3 === 0) {
        // A chain from the pinned head: live objects the fast path must not overwrite.
        rt.store32(p, prev === keep ? 0 : prev);
        e.__link(p, prev === keep ? 0 : prev, 0);
        rt.store32(keep, p);
        e.__link(keep, p, 0);
        prev = p;
      }
    }
    assert.equal(rt.check(), 0, `round ${round}`);
  }
  // Walk the chain: every node is a live TreeNode.
  let n = rt.load32(keep);
  let count = 0;
  while (n) {
    const h = rt.header(n);
    assert.ok((h.gcInfo & MANAGED) !== 0 && h.rtId === id && (h.mmInfo & 1) === 0, `node ${n}`);
    n = rt.load32(n);
    count++;
  }
  assert.ok(count > 1000, `${count} nodes`);
});

// ----- rtrace -----

const RTRACE = wasmPath("ASRT_WASM_RTRACE", "target/rtrace/wasm32-unknown-unknown/release/asrt.wasm");

async function hooked(onalloc, oninit = () => {}) {
  let rt = null;
  const noop = () => {};
  const hooks = new Proxy({}, {
    get: (_, name) => (name === "onalloc" ? (...a) => onalloc(rt, ...a) : name === "oninit" ? (...a) => oninit(rt, ...a) : noop),
  });
  const names = WebAssembly.Module.imports(new WebAssembly.Module(readFileSync(RTRACE))).filter((i) => i.module === "rtrace").map((i) => i.name);
  const rtrace = Object.fromEntries(names.map((n) => [n, hooks[n]]));
  rt = await load({ path: RTRACE, imports: { rtrace } });
  return rt;
}

test("rtrace: the first call is a small __new whose oninit hook calls __new and __gc_phase (refused), then it succeeds", async () => {
  const inner = [];
  const rt = await hooked(() => {}, (rt) => {
    for (const [name, f] of [["__new", () => rt.exports.__new(8, 0)], ["__gc_phase", () => rt.exports.__gc_phase()]]) {
      try {
        f();
        inner.push([name, "ran"]);
      } catch (err) {
        inner.push([name, /called back/.test(String(err.abortMessage || err.message)) ? "refused" : String(err)]);
      }
    }
  });
  const id = rt.typeId("TreeNode");
  const p = rt.exports.__new(8, id);
  assert.deepEqual(inner, [["__new", "refused"], ["__gc_phase", "refused"]]);
  assert.equal(rt.header(p).rtId, id);
  assert.equal(rt.check(), 0);
  const q = rt.exports.__new(8, id);
  assert.equal(q, p + 32);
});

test("rtrace: onalloc of fast-path allocations reads __heap_check and __gc_stats in every phase", async () => {
  let armed = false;
  const seen = { 0: 0, 1: 0, 2: 0 };
  const bad = [];
  const rt = await hooked((rt, block, size) => {
    if (!armed) return;
    const phase = rt.exports.__gc_phase();
    seen[phase]++;
    const errs = rt.exports.__heap_check();
    if (errs) bad.push({ phase, block, size, errs });
    rt.stats();
  });
  const e = rt.exports;
  const id = rt.typeId("TreeNode");
  const keep = e.__pin(e.__new(8, id));
  e.__gc_configure(100, 1 << 20); // big steps: the debt stays below a step for many allocations
  e.__gc_threshold(4096);
  armed = true;
  for (let i = 0; i < 4000; i++) {
    const p = e.__new(1 + (i % 32), id);
    if (i % 5 === 0 && (1 + (i % 32)) >= 8) {
      rt.store32(keep, p);
      e.__link(keep, p, 0);
    }
  }
  armed = false;
  assert.deepEqual(bad, []);
  assert.ok(seen[0] > 0 && seen[1] > 0 && seen[2] > 0, JSON.stringify(seen));
});

// ----- assemblyscript -----

const ASC = wasmPath("ASRT_WASM_ASC", "target/asc/wasm32-unknown-unknown/release/asrt.wasm");

test("assemblyscript: __new before __asc_attach fails (no runtime), attach then works, then the fast path", async () => {
  const bare = new WebAssembly.Instance(new WebAssembly.Module(readFileSync(ASC)), {
    env: { abort() { throw new Error("refused"); } },
    asc: { visit_members() {}, visit_roots() {}, finalize() {} },
  });
  const e = bare.exports;
  for (const size of [0, 8, 32]) assert.throws(() => e.__new(size, 0), /refused/);
  const base = 0x200000;
  while (e.memory.buffer.byteLength < base + 0x10000) e.memory.grow(16);
  const view = new DataView(e.memory.buffer);
  // An RTTI table of 4 ids: flags 0 (plain classes with visitors).
  view.setUint32(base + 64, 4, true);
  for (let i = 0; i < 4; i++) view.setUint32(base + 68 + 4 * i, 0, true);
  e.__asc_attach(base + 64, base, base + 256, 0);
  const p = e.__new(8, 3);
  const q = e.__new(8, 3);
  assert.ok(p > base + 256 && q === p + 32, `${p} ${q}`);
  assert.equal(e.__heap_check(), 0);
  assert.throws(() => e.__new(8, 4), /refused/, "an id past the program's table");
});
