// Weak references, finalizers and weak maps from JavaScript (docs/ABI.md §10): the loader's
// `WeakRef`, `FinalizationRegistry` and `WeakMap` under a random mutator checked against a reachability model
// (js/test/shared/weak-model.mjs); a leak test where thousands of registered objects are dropped
// and every held value comes back exactly once, round after round, in constant memory; the read
// barrier of an incremental cycle; weak-map values that live exactly as long as their keys,
// through a chain of maps marked in small steps; callbacks that call back into the runtime; and hostile raw
// calls, rejected through env.abort with memory unchanged byte for byte.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { instantiate } from "../../js/loader.mjs";
import { runWeakModel } from "../../js/test/shared/weak-model.mjs";
import { load, expectAbort, wasmPath } from "./helpers.mjs";

async function loaded(path = wasmPath()) {
  return (await instantiate(readFileSync(path))).exports;
}

/** A TreeNode whose `left` is `left` (stored through the barrier). */
function node(e, left = 0) {
  const n = e.__new(8, e.__idof("TreeNode")) >>> 0;
  if (left) {
    new Uint32Array(e.memory.buffer)[n >>> 2] = left;
    e.__link(n, left, 0);
  }
  return n;
}

test("random mutator with weak refs and finalizers matches the reachability model", async () => {
  for (const seed of [1, 2, 3]) {
    const e = await loaded();
    e.__gc_configure(100, 1024); // small steps: cycles overlap the operations
    const counts = runWeakModel(e, { seed, ops: 1500 });
    for (const what of ["weak", "deref", "register", "unregister", "finalized", "collect", "step", "mapset", "mapdelete"]) {
      assert.ok(counts[what] > 0, `seed ${seed}: never exercised ${what} (${JSON.stringify(counts)})`);
    }
  }
});

test("random mutator on the modern profile", async () => {
  const e = await loaded(wasmPath("ASRT_WASM_MODERN", "target/modern/wasm32-unknown-unknown/release/asrt.wasm"));
  runWeakModel(e, { seed: 9, ops: 800, checkEvery: 4 });
});

test("leak test: thousands of dropped objects, every held value back exactly once", async () => {
  const e = await loaded();
  const N = 5000;
  const got = new Map();
  const registry = new e.FinalizationRegistry(held => got.set(held, (got.get(held) || 0) + 1));
  let usedAfter = [];
  for (let round = 0; round < 4; ++round) {
    got.clear();
    const refs = [];
    for (let i = 0; i < N; ++i) {
      const r = e.__pin(node(e));
      refs.push(r);
      registry.register(r, `${round}:${i}`);
    }
    const weak = refs.filter((_, i) => i % 10 === 0).map(r => [r, new e.WeakRef(r)]);
    e.__collect();
    assert.equal(got.size, 0, "pinned objects are not finalized");
    for (const [r, w] of weak) assert.equal(w.deref(), r);
    for (const r of refs) e.__unpin(r);
    e.__collect();
    assert.equal(got.size, N, `round ${round}: every held value came back`);
    for (const [held, n] of got) assert.equal(n, 1, `${held} came back ${n} times`);
    for (const [, w] of weak) { assert.equal(w.deref(), 0); w.free(); }
    e.__collect();
    assert.equal(got.size, N, "nothing comes back twice");
    assert.equal(e.heapCheck().length, 0);
    usedAfter.push(e.gcStats().usedBytes);
  }
  assert.equal(usedAfter[3], usedAfter[1], `no growth from round to round: ${usedAfter}`);
  assert.equal(e.gcStats().liveObjects, 0);
});

test("a WeakRef read while marking keeps its target for that cycle", async () => {
  const e = await loaded();
  e.__gc_configure(100, 1024);
  // A long chain rooted by a pin, `a` at its end, so marking takes many steps.
  const a = node(e);
  let head = a;
  e.__pin(a);
  for (let i = 0; i < 3000; ++i) { const n = node(e, head); e.__pin(n); e.__unpin(head); head = n; }
  const w = new e.WeakRef(a);
  const tail = head;
  e.__collect();
  assert.equal(e.__gc_step(), 1, "marking");
  // Cut `a` off the chain: unreachable, but not yet found so.
  let n = tail;
  const U32 = () => new Uint32Array(e.memory.buffer);
  while (U32()[n >>> 2] !== a) n = U32()[n >>> 2];
  U32()[n >>> 2] = 0;
  assert.equal(w.deref(), a, "handed out while marking");
  while (e.__gc_step() !== 0);
  assert.equal(e.heapCheck().length, 0);
  assert.equal(w.deref(), a, "survived the cycle it was read in");
  e.__collect();
  assert.equal(w.deref(), 0, "cleared by the next cycle");
  e.__unpin(tail);
});

test("weak maps: values live exactly as long as their keys, chains included", async () => {
  const e = await loaded();
  e.__gc_configure(100, 1024);
  const maps = [new e.WeakMap(), new e.WeakMap()];
  const N = 2000;
  const keys = [];
  for (let i = 0; i < N; ++i) keys.push(e.__pin(node(e)));
  // key i -> key i + 1, alternating maps, inserted from the end (worst order for a pass).
  for (let i = N - 2; i >= 0; --i) maps[i % 2].set(keys[i], keys[i + 1]);
  const value = node(e); // held only by the map, under the last key
  maps[0].set(keys[N - 1], value);
  for (const k of keys.slice(1)) e.__unpin(k);
  let steps = 1;
  e.__gc_step();
  while (e.__gc_step() !== 0) steps++;
  assert.ok(steps > 20, `marked in ${steps} bounded steps`);
  assert.equal(e.heapCheck().length, 0);
  assert.equal(maps[0].get(keys[N - 1]), value, "the end of the chain lives");
  assert.equal(e.gcStats().liveObjects, N + 1);
  e.__unpin(keys[0]);
  e.__collect();
  assert.equal(e.gcStats().liveObjects, 0, "dropping the head frees the whole chain");
  assert.equal(maps[0].has(keys[0]), false);
  assert.equal(maps[1].get(keys[1]), 0);
  for (const m of maps) m.free();
  assert.throws(() => maps[0].get(keys[0]), /weak map handle/);
  assert.equal(e.heapCheck().length, 0);
});

test("finalizer callbacks may call back into the runtime", async () => {
  const e = await loaded();
  const seen = [];
  const registry = new e.FinalizationRegistry(held => {
    seen.push(held);
    if (held === "first") {
      const r = node(e); // allocate, register, collect: all from inside a callback
      registry.register(r, "second");
      e.__collect();
    }
  });
  registry.register(node(e), "first");
  e.__collect();
  assert.deepEqual(seen, ["first", "second"]);
  assert.equal(e.heapCheck().length, 0);
});

test("unregister: before death, after death before delivery, and unknown tokens", async () => {
  const e = await loaded();
  const seen = [];
  const registry = new e.FinalizationRegistry(held => seen.push(held));
  const [t1, t2] = [{}, {}];
  registry.register(node(e), "a", t1);
  registry.register(node(e), "b", t2);
  registry.register(node(e), "c", t2);
  assert.equal(registry.unregister(t1), true);
  e.__gc_step(); // let the cycle find them without draining
  while (e.__gc_step() !== 0);
  assert.equal(registry.unregister(t2), true, "queued but not delivered yet");
  assert.equal(registry.unregister(t2), false);
  assert.equal(registry.unregister({}), false);
  assert.throws(() => registry.unregister(1), TypeError);
  assert.throws(() => registry.register(node(e), "x", 5), TypeError);
  e.__collect();
  assert.deepEqual(seen, []);
  assert.deepEqual(e.drainFinalizers(), [], "no foreign tokens");
});

test("hostile raw calls abort cleanly and change nothing", async () => {
  const rt = await load();
  const e = rt.exports;
  const a = e.__pin(e.__new(8, rt.typeId("TreeNode")));
  const w = e.__weakref_new(a);
  const t = e.__finalizer_register(a);
  const same = (what, fn, pattern) => {
    const before = rt.snapshot(); // the heap (the native stack below it is scratch space)
    expectAbort(fn, pattern, what);
    assert.ok(Buffer.compare(before, rt.snapshot()) === 0, `${what} changed the heap`);
  };
  for (const h of [0, 1 << 21, 0x3fffff, w + 1, t, 0xffffffff]) {
    same(`get ${h}`, () => e.__weakref_get(h), "weak reference handle");
    same(`free ${h}`, () => e.__weakref_free(h), "weak reference handle");
  }
  for (const h of [0, w, t + 1, 0xffffffff]) {
    same(`unregister ${h}`, () => e.__finalizer_unregister(h), "finalizer token");
  }
  same("weak ref to an inner address", () => e.__weakref_new(a + 16), "not the start of a live block");
  same("register null", () => e.__finalizer_register(0), "null reference");
  const raw = e.__alloc(16);
  same("register an __alloc block", () => e.__finalizer_register(raw), "__alloc block");
  e.__weakref_free(w);
  same("double free", () => e.__weakref_free(w), "weak reference handle");
  e.__unpin(a);
  e.__collect();
  assert.equal(e.__finalizer_next(), t);
  assert.equal(e.__finalizer_next(), 0);
  same("unregister after delivery", () => e.__finalizer_unregister(t), "finalizer token");
  const m = e.__weakmap_new();
  const k = e.__pin(e.__new(8, rt.typeId("TreeNode")));
  for (const h of [0, m + 1, w, 0xffffffff]) {
    same(`weak map ${h}`, () => e.__weakmap_set(h, k, 0), "weak map handle");
    same(`weak map get ${h}`, () => e.__weakmap_get(h, k), "weak map handle");
  }
  same("weak-map key inside a payload", () => e.__weakmap_set(m, k + 16, 0), "not the start of a live block");
  same("weak-map value unaligned", () => e.__weakmap_set(m, k, k + 4), "16-byte aligned");
  e.__weakmap_free(m);
  same("freed weak map", () => e.__weakmap_free(m), "weak map handle");
  assert.equal(e.__heap_check(), 0);
});
