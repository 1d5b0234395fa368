// Checks of the loader against a real wasm module, shared by the Node tests
// (js/test/runtime.test.mjs) and the browser page (js/test/browser/). No Node APIs here.
//
// A check is { name, kinds?, needs?, run(ctx) }:
//   kinds: the module kinds it applies to ("classic" and "modern" are asrt builds, "as" is the
//          AssemblyScript-compiled fixture, js/test/fixture/as-fixture.ts); all when absent.
//   needs: "gc" when it needs a forced JS garbage collection (ctx.gc).
// ctx = { kind, loader, bytes, gc, instantiate(imports?) -> Promise<exports> }.
import * as assert from "./assert.mjs";
import { runWeakModel } from "./weak-model.mjs";

const F = {
  ABV: 1 << 0, ARRAY: 1 << 1, STATICARRAY: 1 << 2,
  ALIGN: [1 << 6, 1 << 7, 1 << 8, 1 << 9, 1 << 10],
  SIGNED: 1 << 11, FLOAT: 1 << 12, MANAGED: 1 << 14,
};
const VALUE_BITS = (31 << 6) | F.SIGNED | F.FLOAT | F.MANAGED;

/** Finds a type id by kind ("Array", "TypedArray", "StaticArray") and value flags. */
function findType(e, kind, valueFlags) {
  const base = e.__rtti_base.value;
  const count = new Uint32Array(e.memory.buffer)[base >>> 2];
  for (let id = 0; id < count; ++id) {
    const f = e.__typeinfo(id);
    const isKind = kind === "Array" ? (f & F.ARRAY) && !(f & F.STATICARRAY)
      : kind === "StaticArray" ? (f & F.STATICARRAY)
      : (f & F.ABV) && !(f & (F.ARRAY | F.STATICARRAY));
    // Floats may carry VALUE_SIGNED too (AssemblyScript sets it), so it is ignored for them.
    const bits = f & VALUE_BITS & (valueFlags & F.FLOAT ? ~F.SIGNED : ~0);
    if (isKind && bits === valueFlags) return id;
  }
  throw new Error(`the module declares no ${kind} with value flags ${valueFlags}`);
}

const expectedProfile = { classic: "classic", modern: "modern", as: "modern" };
const isAsrt = kind => kind === "classic" || kind === "modern";

/** Allocates garbage so that freed blocks get reused (exposes dangling refs). */
function churn(e, n = 400) {
  for (let i = 0; i < n; ++i) e.__newString(`garbage ${i} ${"#".repeat(i % 50)}`);
}

/** A ref the module no longer holds pinned (unpinning it again must abort). */
function assertNotPinned(e, ref) {
  assert.throws(() => e.__unpin(ref), /^abort: /, `ref ${ref} should not be pinned any more`);
}

const sleep = ms => new Promise(r => setTimeout(r, ms));

const STRINGS = [
  "",
  "a",
  "hello, world",
  "x".repeat(31), "y".repeat(32), "z".repeat(33), // around the fromCharCode / TextDecoder threshold
  "ünïcödé ✓ \u{1F600} \u{10FFFF}",
  "\uD800", "a\uDC00b", "lone \uD83D at " + "q".repeat(40), // lone surrogates, short and long
  "\uFEFFbom", "\uFEFF" + "a long string that starts with a BOM", "nul\u0000inside",
  "long ".repeat(3000) + "\u{1F680}",
];

export const checks = [
  {
    name: "WeakRef, FinalizationRegistry and WeakMap match a reachability model (docs/ABI.md §10)",
    kinds: ["classic", "modern"],
    async run({ instantiate }) {
      const e = await instantiate();
      e.__gc_configure(100, 1024);
      const counts = runWeakModel(e, { seed: 7, ops: 600, checkEvery: 3 });
      assert.ok(counts.finalized > 0 && counts.deref > 0, `exercised: ${JSON.stringify(counts)}`);
    },
  },
  {
    name: "profile is detected from the module",
    async run({ kind, instantiate }) {
      const e = await instantiate();
      assert.equal(e.__profile, expectedProfile[kind], `profile (${e.__profileReason})`);
      if (isAsrt(kind) || kind === "as") assert.ok(/greeting/.test(e.__profileReason), `decided by __static_greeting: ${e.__profileReason}`);
      const ids = e.__typeIds;
      assert.equal(ids.String, kind === "classic" ? 1 : 2, "String id");
      assert.equal(ids.ArrayBuffer, kind === "classic" ? 0 : 1, "ArrayBuffer id");
      const s = e.__newString("id?");
      assert.equal(new Uint32Array(e.memory.buffer)[(s - 8) >>> 2], ids.String, "rtId of a new String");
    },
  },
  {
    name: "strings round-trip through __newString/__getString",
    async run({ instantiate }) {
      const e = await instantiate();
      for (const s of STRINGS) {
        const ref = e.__newString(s);
        assert.ok(ref > 0 && ref % 16 === 0, `ref ${ref} is 16-aligned`);
        assert.equal(new Uint32Array(e.memory.buffer)[(ref - 4) >>> 2], s.length * 2, "rtSize = 2 * length");
        assert.equal(e.__getString(ref), s, `round trip of ${s.length} units`);
      }
      assert.equal(e.__newString(null), 0);
      assert.equal(e.__getString(0), null);
      const ab = e.__newArrayBuffer(new Uint8Array([1, 2]));
      assert.throws(() => e.__getString(ab), /not a string/);
    },
  },
  {
    name: "the static greeting is a String",
    async run({ instantiate }) {
      const e = await instantiate();
      const ref = e.__getStatic("greeting");
      assert.ok(ref > 0, "greeting ref");
      assert.equal(e.__getString(ref), "hello, asrt");
      assert.ok(e.__instanceof(ref, e.__typeIds.String), "greeting instanceof String");
    },
  },
  {
    name: "UTF-8 strings through the runtime's __string_from_utf8/__string_to_utf8",
    async run({ instantiate }) {
      const e = await instantiate();
      for (const s of ["", "plain", "héllo wörld", "\u{1F600}\u{1F680}", "\uFEFFkeeps the BOM", "ℵ".repeat(500)]) {
        const ref = e.__newStringUTF8(s);
        assert.equal(e.__getString(ref), s, "decoded by the runtime");
        assert.equal(e.__getStringUTF8(e.__newString(s)), s, "encoded by the runtime");
        assert.deepEqual(e.__getStringUTF8Bytes(e.__newString(s)), new TextEncoder().encode(s), "UTF-8 bytes");
      }
      const z = e.__getStringUTF8Bytes(e.__newString("ab"), true);
      assert.deepEqual(z, new Uint8Array([0x61, 0x62, 0]), "null terminated");
      // A lone surrogate has no UTF-8 form: both directions give U+FFFD.
      assert.equal(e.__getString(e.__newStringUTF8("a\uD800b")), "a\uFFFDb");
      assert.equal(e.__getStringUTF8(null), null);
      assert.equal(e.__newStringUTF8(null), 0);
    },
  },
  {
    name: "UTF-8 decoding of invalid bytes: replaced, or rejected with replace = false",
    kinds: ["classic", "modern"],
    async run({ instantiate }) {
      const e = await instantiate();
      const bad = new Uint8Array([0x61, 0xff, 0x62, 0xc3]);
      assert.equal(e.__getString(e.__newStringUTF8(bad)), new TextDecoder().decode(bad), "as TextDecoder");
      assert.throws(() => e.__newStringUTF8(bad, false), /^abort: /, "strict decoding aborts");
      assert.equal(e.__getString(e.__newStringUTF8("still works")), "still works", "instance usable after abort");
      const stats = e.gcStats();
      const before = stats.usedBytes;
      for (let i = 0; i < 20; ++i) e.__newStringUTF8(new Uint8Array(256).fill(0x41));
      e.__collect();
      assert.ok(e.gcStats().usedBytes <= before + 4096, "scratch input blocks are freed");
    },
  },
  {
    name: "ArrayBuffers round-trip",
    async run({ instantiate }) {
      const e = await instantiate();
      const bytes = new Uint8Array(1000).map((_, i) => (i * 7) & 255);
      const ref = e.__newArrayBuffer(bytes.buffer);
      assert.equal(new Uint32Array(e.memory.buffer)[(ref - 8) >>> 2], e.__typeIds.ArrayBuffer, "rtId");
      const back = e.__getArrayBuffer(ref);
      assert.ok(back instanceof ArrayBuffer, "a copy");
      assert.deepEqual(new Uint8Array(back), bytes);
      assert.equal(e.__getArrayBuffer(e.__newArrayBuffer(new ArrayBuffer(0))).byteLength, 0);
      assert.deepEqual(new Uint8Array(e.__getArrayBuffer(e.__newArrayBuffer(bytes.subarray(3, 6)))), bytes.subarray(3, 6), "from a view");
      assert.equal(e.__newArrayBuffer(null), 0);
    },
  },
  {
    name: "Array<i32>: __newArray, __getArray, __getArrayView, capacity form",
    async run({ kind, instantiate }) {
      const e = await instantiate();
      const id = e.__idof("ArrayI32");
      const arr = e.__newArray(id, [1, -2, 3, 2147483647]);
      const U32 = new Uint32Array(e.memory.buffer);
      assert.equal(U32[(arr - 8) >>> 2], id, "rtId");
      assert.equal(U32[(arr - 4) >>> 2], 16, "Array object size");
      assert.equal(U32[(arr + 12) >>> 2], 4, "length field");
      assert.equal(U32[(arr + 8) >>> 2], 16, "byteLength field");
      assert.equal(U32[(arr + 4) >>> 2], U32[arr >>> 2], "dataStart = buffer");
      assert.deepEqual(e.__getArray(arr), [1, -2, 3, 2147483647]);
      const view = e.__getArrayView(arr);
      assert.ok(view instanceof Int32Array, "Int32Array view");
      view[1] = 40;
      assert.deepEqual(e.__getArray(arr), [1, 40, 3, 2147483647], "the view is live");
      if (kind === "as") assert.equal(e.sumI32(arr), (1 + 40 + 3 + 2147483647) | 0, "seen by wasm code");
      const empty = e.__newArray(id, 3);
      assert.deepEqual(e.__getArray(empty), [0, 0, 0], "capacity form is zeroed");
      assert.deepEqual(e.__getArray(e.__newArray(id, [])), []);
      assert.throws(() => e.__newArray(e.__typeIds.String, [1]), /not an array/);
    },
  },
  {
    name: "Array<f64>, Float64Array, Int32Array, Uint8Array and StaticArray<i32> values",
    async run({ kind, instantiate }) {
      const e = await instantiate();
      const vals = [0.5, -1.25, 1e300, NaN];
      const af = e.__newArray(findType(e, "Array", F.ALIGN[3] | F.FLOAT), vals);
      assert.deepEqual(e.__getArray(af), vals, "Array<f64>");
      const fa = e.__newArray(findType(e, "TypedArray", F.ALIGN[3] | F.FLOAT), vals);
      const copy = e.__getFloat64Array(fa);
      assert.deepEqual(copy, new Float64Array(vals), "Float64Array copy");
      e.__getFloat64ArrayView(fa)[0] = 2;
      assert.equal(copy[0], 0.5, "the copy is detached from memory");
      assert.equal(e.__getFloat64Array(fa)[0], 2, "the view writes memory");
      assert.ok(e.__getArrayView(fa) instanceof Float64Array, "inferred view type");
      if (kind === "as") assert.equal(e.sumF64(fa), 2 - 1.25 + 1e300 + NaN);
      const ia = e.__newArray(findType(e, "TypedArray", F.ALIGN[2] | F.SIGNED), [5, -6, 7]);
      assert.deepEqual(e.__getInt32Array(ia), new Int32Array([5, -6, 7]));
      assert.equal(new Uint32Array(e.memory.buffer)[(ia - 4) >>> 2], 12, "typed array object is 12 bytes");
      const u8 = e.__newArray(findType(e, "TypedArray", F.ALIGN[0]), [1, 255, 256]);
      assert.deepEqual(e.__getUint8ArrayView(u8), new Uint8Array([1, 255, 0]));
      assert.deepEqual(e.__getArray(u8), [1, 255, 0]);
      if (kind === "as") {
        const sa = e.__newArray(e.ID_STATIC_I32.value, [10, 20, 30]);
        assert.equal(new Uint32Array(e.memory.buffer)[(sa - 4) >>> 2], 12, "StaticArray payload = length << 2");
        assert.deepEqual(e.__getArray(sa), [10, 20, 30]);
        assert.equal(e.sumStatic(sa), 60);
        assert.deepEqual(e.__getInt32Array(e.squares(5)), new Int32Array([0, 1, 4, 9, 16]), "typed array made by wasm");
        const a64 = e.__newArray(e.ID_ARRAY_I64.value, [1, 2, 2 ** 40]);
        assert.equal(e.sumI64(a64), 3n + 2n ** 40n, "numbers stored into 64-bit elements");
        assert.deepEqual(e.__getArray(a64), [1n, 2n, 2n ** 40n]);
      }
    },
  },
  {
    name: "Array<string> and StaticArray<string> keep their elements alive (write barrier)",
    async run({ kind, instantiate }) {
      const e = await instantiate();
      const words = ["alpha", "beta", "gamma " + "g".repeat(50), "\u{1F600}"];
      const held = words.map(w => e.__pinHandle(e.__newString(w)));
      const refs = held.map(h => h.ref);
      const arr = e.__pinHandle(e.__newArray(e.__idof("ArrayString"), [...refs, null]));
      const sarr = e.__pinHandle(e.__newArray(e.__idof("StaticArrayString"), refs));
      held.forEach(h => h.release()); // the arrays are now the only owners
      for (let round = 0; round < 3; ++round) {
        e.__collect();
        churn(e);
      }
      const a = e.__getArray(arr.ref);
      assert.deepEqual(a.slice(0, 4), refs, "element refs");
      assert.equal(a[4], 0, "null element");
      assert.deepEqual(a.slice(0, 4).map(e.__getString), words, "Array<string> elements survive");
      assert.deepEqual(e.__getArray(sarr.ref).map(e.__getString), words, "StaticArray<string> elements survive");
      const sa32 = new Uint32Array(e.memory.buffer)[(sarr.ref - 4) >>> 2];
      assert.equal(sa32, words.length * 4, "StaticArray<string> payload = length << 2");
      if (kind === "as") {
        assert.equal(e.__getString(e.join(arr.ref)), words.join(",") + ",", "AssemblyScript joins null as ''");
        assert.equal(e.__getString(e.joinStatic(sarr.ref)), words.join(","));
      }
      if (typeof e.__heap_check === "function") assert.equal(e.__heap_check(), 0, "__heap_check");
      arr.release();
      sarr.release();
    },
  },
  {
    name: "arrays of strings built during incremental collection stay intact",
    async run({ instantiate }) {
      const e = await instantiate();
      const id = e.__idof("ArrayString");
      const kept = [];
      for (let i = 0; i < 300; ++i) {
        const hs = [0, 1, 2].map(j => e.__pinHandle(e.__newString(`s${i}.${j}`)));
        kept.push(e.__pinHandle(e.__newArray(id, hs.map(h => h.ref))));
        hs.forEach(h => h.release());
        if (typeof e.__gc_step === "function") { e.__gc_step(); e.__gc_step(); }
        churn(e, 5);
        if (i % 60 === 59) {
          kept.forEach((h, k) => assert.deepEqual(e.__getArray(h.ref).map(e.__getString), [`s${k}.0`, `s${k}.1`, `s${k}.2`], `array ${k} at ${i}`));
        }
      }
      e.__collect();
      churn(e);
      kept.forEach((h, k) => assert.deepEqual(e.__getArray(h.ref).map(e.__getString), [`s${k}.0`, `s${k}.1`, `s${k}.2`], `array ${k}`));
      if (typeof e.__heap_check === "function") assert.equal(e.__heap_check(), 0, "__heap_check");
      kept.forEach(h => h.release());
    },
  },
  {
    name: "views follow memory.grow",
    async run({ instantiate }) {
      const e = await instantiate();
      const small = e.__pinHandle(e.__newString("before growth " + "b".repeat(40)));
      const old = e.memory.buffer;
      const oldPages = old.byteLength / 65536;
      const big = "B".repeat((old.byteLength >>> 1) + 100000); // needs more than the whole memory
      const bigRef = e.__pinHandle(e.__newString(big));
      assert.ok(e.memory.buffer.byteLength > old.byteLength, "memory grew inside __new");
      assert.equal(e.__getString(bigRef.ref), big, "the big string");
      assert.equal(e.__getString(small.ref), "before growth " + "b".repeat(40), "an older string");
      const before = e.memory.buffer;
      e.memory.grow(1); // from the host: detaches the buffer the loader saw last
      assert.equal(before.byteLength, 0, "the old buffer is detached");
      assert.equal(e.__getString(small.ref), "before growth " + "b".repeat(40), "read after the host grew memory");
      const arr = e.__newArray(e.__idof("ArrayI32"), [7, 8, 9]);
      e.memory.grow(1);
      assert.deepEqual(e.__getArray(arr), [7, 8, 9], "array read after growth");
      assert.equal(e.__getArrayView(arr).buffer, e.memory.buffer, "views use the current buffer");
      assert.equal(e.__getString(e.__newString("after")), "after");
      assert.ok(e.memory.buffer.byteLength / 65536 >= oldPages + 2);
      bigRef.release();
      small.release();
    },
  },
  {
    name: "default env.abort throws an Error with the decoded message and location",
    async run({ kind, instantiate }) {
      const e = await instantiate();
      const ref = e.__newString("not pinned");
      const err = assert.throws(() => e.__unpin(ref), /^abort: \S.* at \S+:\d+:\d+$/);
      assert.ok(err instanceof Error, "an Error");
      assert.ok(err.abortMessage.length > 0, "decoded message");
      assert.ok(err.fileName.length > 0, "decoded file name");
      if (kind === "as") {
        assert.throws(() => e.fail(), /^abort: boom at fixture\.ts:7:3$/);
      }
      assert.equal(e.__getString(e.__newString("alive")), "alive", "the instance keeps working");
    },
  },
  {
    name: "a user-supplied env.abort wins and other imports are merged",
    async run({ instantiate }) {
      const calls = [];
      const imports = { env: { abort(m, f, l, c) { calls.push([m, f, l, c]); throw new Error("mine"); } } };
      const e = await instantiate(imports);
      assert.throws(() => e.__unpin(e.__newString("x")), /^mine$/);
      assert.equal(calls.length, 1, "called once");
      const [m, f, l] = calls[0];
      assert.ok(e.__getString(m).length > 0, "message is a String ref");
      assert.ok(e.__getString(f).length > 0, "file name is a String ref");
      assert.ok(l >= 0, "line");
      assert.equal(Object.keys(imports.env).join(), "abort", "the caller's imports object is not modified");
    },
  },
  {
    name: "__instanceof",
    async run({ kind, instantiate }) {
      const e = await instantiate();
      const ids = e.__typeIds;
      const s = e.__newString("s");
      assert.equal(e.__instanceof(s, ids.String), true);
      assert.equal(e.__instanceof(s, ids.ArrayBuffer), false);
      assert.equal(e.__instanceof(0, ids.String), false);
      const arr = e.__newArray(e.__idof("ArrayString"), []);
      assert.equal(e.__instanceof(arr, e.__idof("ArrayString")), true);
      assert.equal(e.__instanceof(arr, e.__idof("ArrayI32")), false);
      if (kind === "as") assert.equal(e.__instanceof(e.newBar(), e.ID_BAR.value), true);
    },
  },
  {
    name: "pin handles: pinned while held, release() unpins exactly once",
    async run({ instantiate }) {
      const e = await instantiate();
      const h = e.__pinHandle(e.__newString("kept by a handle"));
      const ref = h.ref;
      assert.equal(+h, ref, "valueOf is the ref");
      assert.equal(h.released, false);
      e.__collect();
      churn(e);
      e.__collect();
      assert.equal(e.__getString(ref), "kept by a handle", "survives collections");
      h.release();
      assert.equal(h.released, true);
      assert.equal(h.ref, 0, "ref reads 0 after release");
      assertNotPinned(e, ref);
      h.release(); // no second unpin
      if (typeof Symbol.dispose === "symbol") {
        const d = e.__pinHandle(e.__newString("disposable"));
        const r = d.ref;
        d[Symbol.dispose]();
        assertNotPinned(e, r);
      }
      const nil = e.__pinHandle(0);
      assert.equal(nil.ref, 0);
      nil.release();
    },
  },
  {
    name: "pin handles: pins are counted (two handles on one object)",
    kinds: ["classic", "modern"],
    async run({ instantiate }) {
      const e = await instantiate();
      const ref = e.__newString("twice");
      const a = e.__pinHandle(ref), b = e.__pinHandle(ref);
      a.release();
      e.__collect();
      churn(e);
      e.__collect();
      assert.equal(e.__getString(ref), "twice", "still pinned by the second handle");
      b.release();
      assertNotPinned(e, ref);
    },
  },
  {
    name: "pin handles: dropping a handle unpins its object (FinalizationRegistry)",
    needs: "gc",
    async run({ instantiate, gc }) {
      const e = await instantiate();
      let collected = false;
      const watch = new FinalizationRegistry(() => { collected = true; });
      const ref = (() => {
        const h = e.__pinHandle(e.__newString("dropped handle"));
        watch.register(h, 0);
        return h.ref;
      })();
      for (let i = 0; i < 100 && !collected; ++i) {
        gc();
        await sleep(10);
      }
      assert.ok(collected, "the handle was garbage collected");
      await sleep(20); // the loader's finalizer runs in the same cleanup
      gc();
      await sleep(20);
      assertNotPinned(e, ref);
    },
  },
  {
    name: "gcStats() reads __gc_stats",
    kinds: ["classic", "modern"],
    async run({ instantiate }) {
      const e = await instantiate();
      const s0 = e.gcStats();
      const names = ["heapBytes", "usedBytes", "freeBytes", "largestFree", "liveObjects", "collections", "steps", "totalAllocated"];
      assert.deepEqual(Object.keys(s0), names, "fields in ABI order");
      for (const n of names) assert.ok(Number.isSafeInteger(s0[n]) && s0[n] >= 0, `${n} is a count`);
      assert.ok(s0.usedBytes + s0.freeBytes <= s0.heapBytes, "used + free <= heap");
      assert.ok(s0.largestFree <= s0.freeBytes, "largest free <= free");
      const hs = [];
      for (let i = 0; i < 10; ++i) hs.push(e.__pinHandle(e.__newString("live " + i)));
      const s1 = e.gcStats();
      assert.ok(s1.liveObjects >= s0.liveObjects + 10, `live objects grew by 10: ${s0.liveObjects} -> ${s1.liveObjects}`);
      assert.ok(s1.totalAllocated >= s0.totalAllocated + 10 * 12, "total allocated grew");
      e.__collect();
      const s2 = e.gcStats();
      assert.ok(s2.collections >= s1.collections + 1, "collections counted");
      assert.ok(s2.liveObjects >= 10, "pinned objects live");
      hs.forEach(h => h.release());
      e.__collect();
      const s3 = e.gcStats();
      assert.ok(s3.liveObjects <= s2.liveObjects - 10, `unpinned objects freed: ${s2.liveObjects} -> ${s3.liveObjects}`);
      assert.ok(s3.heapBytes <= e.memory.buffer.byteLength, "heap within memory");
    },
  },
  {
    name: "heapCheck() lists __heap_check's broken invariants by name and address",
    kinds: ["classic", "modern"],
    async run({ instantiate }) {
      const e = await instantiate();
      const sound = e.heapCheck();
      assert.deepEqual([...sound], [], "a sound heap");
      assert.equal(sound.total, 0);
      const h = e.__pinHandle(e.__newString("checked"));
      const u32 = () => new Uint32Array(e.memory.buffer);
      const gcInfo = (h.ref - 12) >>> 2;
      const saved = u32()[gcInfo];
      u32()[gcInfo] = saved | 3; // black while the collector is idle
      const list = e.heapCheck();
      assert.deepEqual([...list], [{ invariant: "BlackWhenIdle", code: 30, address: h.ref - 16 }]);
      assert.equal(list.total, e.__heap_check(), "total is __heap_check's count");
      assert.equal(e.heapCheck({ max: 1 }).length, 1);
      u32()[gcInfo] = saved;
      assert.deepEqual([...e.heapCheck()], []);
      h.release();
    },
  },
  {
    name: "gcPhase() reads __gc_phase; gcIdle() steps a cycle to its end within a budget",
    kinds: ["classic", "modern"],
    async run({ instantiate }) {
      const e = await instantiate();
      e.__collect();
      assert.equal(e.gcPhase(), 0, "idle after __collect");
      assert.equal(e.gcIdle(Infinity, { start: false }), 0, "start: false does nothing while idle");
      assert.equal(e.gcStats().steps, e.gcStats().steps, "reading stats and phase does no work");
      const steps0 = e.gcStats().steps;
      assert.equal(e.gcIdle(), 0, "from idle: a whole cycle");
      const s1 = e.gcStats();
      assert.ok(s1.steps > steps0, "it stepped");
      // A cycle with many small steps, under way.
      e.__gc_configure(100, 1024);
      const hs = [];
      for (let i = 0; i < 2000; ++i) hs.push(e.__pinHandle(e.__newString("node " + i)));
      assert.notEqual(e.__gc_step(), 0, "a step from idle starts a cycle");
      assert.notEqual(e.gcPhase(), 0, "marking 2000 pinned objects takes more than one step");
      const s2 = e.gcStats();
      assert.equal(e.gcPhase(), e.gcPhase());
      assert.equal(e.gcStats().steps, s2.steps, "gcPhase() does no work");
      // A zero budget does exactly one step; a deadline object is honoured.
      const p = e.gcIdle(0);
      assert.ok(p === 1 || p === 2, `one step leaves the cycle under way (${p})`);
      assert.equal(e.gcStats().steps, s2.steps + 1, "gcIdle(0) did one step");
      let calls = 0;
      const deadline = { timeRemaining: () => (++calls < 3 ? 5 : 0) };
      e.gcIdle(deadline, { start: false });
      assert.equal(e.gcStats().steps, s2.steps + 4, "three steps: the deadline ran out after the third");
      assert.equal(e.gcIdle(Infinity, { start: false }), 0, "helping the cycle under way ends it");
      assert.equal(e.gcPhase(), 0);
      assert.throws(() => e.gcIdle("soon"), /budget/);
      hs.forEach(h => h.release());
      e.__collect();
      e.__gc_configure(100, 16384);
    },
  },
  {
    name: "instantiate from a Module, instantiateSync and instantiateStreaming",
    async run({ loader, bytes }) {
      const module = await WebAssembly.compile(bytes);
      const a = await loader.instantiate(module);
      assert.equal(a.module, module);
      assert.equal(a.exports.__getString(a.exports.__newString("m")), "m");
      const b = loader.instantiateSync(bytes);
      assert.ok(b.instance instanceof WebAssembly.Instance);
      assert.equal(b.exports.__getString(b.exports.__newString("s")), "s");
      const response = () => new Response(bytes, { headers: { "content-type": "application/wasm" } });
      const c = await loader.instantiateStreaming(response());
      assert.equal(c.exports.__getString(c.exports.__newString("r")), "r");
      const d = await loader.instantiate(Promise.resolve(response()));
      assert.equal(d.exports.__getString(d.exports.__newString("p")), "p");
      const f = await loader.instantiate(bytes, {}, { profile: "modern" });
      assert.equal(f.exports.__profile, "modern", "options.profile overrides detection");
    },
  },
];

/** Runs `checks` for one module kind; `report(name, status, detail)` gets each result. */
export async function runChecks({ kind, loader, bytes, gc }, report) {
  const ctx = {
    kind, loader, bytes, gc,
    instantiate: async (imports = {}) => (await loader.instantiate(bytes, imports)).exports,
  };
  for (const c of checks) {
    if (c.kinds && !c.kinds.includes(kind)) { await report(c.name, "skip", `not applicable to ${kind}`); continue; }
    if (c.needs === "gc" && !gc) { await report(c.name, "skip", "no forced GC available"); continue; }
    try {
      await c.run(ctx);
      await report(c.name, "pass", "");
    } catch (err) {
      await report(c.name, "fail", err && err.stack ? err.stack : String(err));
    }
  }
}
