// The runtime's contract with hosts and compiled code (docs/ABI.md §5, §6), against the release
// module:
// - the shadow-stack descriptor `{ top, base, limit }` at `__gc_stack` must describe the
//   runtime's own slot array, or the next export that uses it aborts and changes nothing;
// - `__gc_stats(out)` writes only into the native stack region below static data or into a live
//   block of at least 64 bytes;
// - `__gc_step()` from idle always starts a cycle, and `__gc_phase()` reads the phase without work.
import { test } from "node:test";
import assert from "node:assert/strict";
import { load, expectAbort, finishCycle } from "./helpers.mjs";

/** rustc links wasm32 with `--stack-first`; build.rs gives the runtime's module a 64 KiB stack
 * (RUNTIME_STACK_BYTES): static data starts here. */
const STACK_HIGH = 64 << 10;

/** Memory from the end of the native stack (which calls themselves use) to the end. */
function image(rt) {
  return new Uint8Array(rt.memory.buffer).slice(STACK_HIGH);
}

function firstDiff(a, b) {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

/** Expects `fn` to abort with `pattern` and change nothing above the native stack. */
function rejects(rt, what, fn, pattern) {
  const before = image(rt);
  const phase = rt.exports.__gc_phase();
  expectAbort(fn, pattern, what);
  const d = firstDiff(before, image(rt));
  assert.equal(d, -1, `${what}: byte ${STACK_HIGH + d} changed`);
  assert.equal(rt.exports.__gc_phase(), phase, `${what}: phase changed`);
}

function setDescriptor(rt, [top, base, limit]) {
  const h = rt.gcStack;
  rt.store32(h, top);
  rt.store32(h + 4, base);
  rt.store32(h + 8, limit);
}

function getDescriptor(rt) {
  const { top, base, limit } = rt.stackHeader();
  return [top, base, limit];
}

/** A chain of `n` TreeNodes, the head pinned; returns the head. */
function pinnedChain(rt, n) {
  const e = rt.exports;
  const id = rt.typeId("TreeNode");
  const head = e.__new(8, id);
  e.__pin(head);
  let prev = head;
  for (let i = 0; i < n; i++) {
    const node = e.__new(8, id);
    rt.store32(prev, node);
    e.__link(prev, node, 0);
    prev = node;
  }
  return head;
}

// ----- __gc_step and __gc_phase -----

test("__gc_step from idle always starts a cycle: unpinning alone makes garbage", async () => {
  const rt = await load();
  const e = rt.exports;
  const obj = e.__new(8, rt.typeId("TreeNode"));
  e.__pin(obj);
  e.__collect();
  const live = rt.stats().liveObjects;
  e.__unpin(obj); // nothing allocated since the last cycle
  assert.equal(e.__gc_phase(), 0);
  const first = e.__gc_step();
  assert.notEqual(first, 0, "the step from idle started a cycle (and a tiny heap needs more than one step)");
  finishCycle(rt);
  assert.equal(e.__gc_phase(), 0);
  assert.equal(rt.stats().liveObjects, live - 1, "the unpinned object was collected");
  // Idle again: the next step starts the next cycle.
  assert.notEqual(e.__gc_step(), 0);
  finishCycle(rt);
  assert.equal(e.__heap_check(), 0);
});

test("__gc_phase reports the phase and does no work", async () => {
  const rt = await load();
  const e = rt.exports;
  e.__gc_configure(100, 1024);
  const head = pinnedChain(rt, 3000);
  e.__collect();
  assert.equal(e.__gc_phase(), 0);
  const s0 = rt.stats();
  for (let i = 0; i < 10; i++) assert.equal(e.__gc_phase(), 0);
  assert.deepEqual(rt.stats(), s0, "reading the phase started nothing");
  assert.equal(e.__gc_step(), 1, "marking 3000 objects takes more than one small step");
  const before = image(rt);
  const s1 = rt.stats();
  for (let i = 0; i < 10; i++) assert.equal(e.__gc_phase(), 1);
  assert.equal(firstDiff(before, image(rt)), -1, "phase reads changed memory");
  assert.deepEqual(rt.stats(), s1);
  // Helping only a cycle under way: step while the phase is not idle.
  const seen = new Set();
  while (e.__gc_phase() !== 0) seen.add(e.__gc_step());
  assert.ok(seen.has(2) && seen.has(0), `went through sweep to idle (${[...seen]})`);
  assert.equal(e.__gc_phase(), 0);
  e.__unpin(head);
  e.__collect();
  assert.equal(e.__heap_check(), 0);
});

// ----- the shadow-stack descriptor -----

test("a garbage shadow-stack descriptor makes __gc_push abort without writing over a live header", async () => {
  const rt = await load();
  const e = rt.exports;
  const sound = getDescriptor(rt);
  const a = e.__new(64, rt.typeId("ArrayBuffer"));
  e.__gc_push(a);
  const header = a - 16;
  // Self-consistent, but not the runtime's slot array: the old __gc_push wrote 0 over mmInfo.
  setDescriptor(rt, [header, header, header + 64]);
  rejects(rt, "__gc_push over a header", () => e.__gc_push(0), /shadow-stack descriptor/);
  rejects(rt, "__gc_pop over a header", () => e.__gc_pop(1), /shadow-stack descriptor/);
  assert.equal(rt.header(a).rtSize, 64);
  // Each word on its own.
  const [top, base, limit] = sound;
  const bad = [
    ["top misaligned", [base + 2, base, limit]],
    ["top below base", [base - 4, base, limit]],
    ["top past limit", [limit + 4, base, limit]],
    ["base moved", [base + 8, base + 4, limit]],
    ["limit moved", [base, base, limit - 4]],
    ["zeros", [0, 0, 0]],
  ];
  for (const [what, d] of bad) {
    setDescriptor(rt, d);
    rejects(rt, `__gc_push: ${what}`, () => e.__gc_push(0), /shadow-stack descriptor/);
    rejects(rt, `__collect: ${what}`, () => e.__collect(), /shadow-stack descriptor/);
  }
  // Restored (with `a` pushed), everything works again.
  setDescriptor(rt, [top + 4, base, limit]);
  e.__collect();
  assert.equal(rt.header(a).rtSize, 64, "a survives on the shadow stack");
  assert.equal(e.__gc_push(0), 0);
  e.__gc_pop(2);
  assert.deepEqual(getDescriptor(rt), sound);
  assert.equal(e.__heap_check(), 0);
});

test("a descriptor past memory makes __gc_push, __gc_pop, __collect, __gc_step and a paying __new abort, not trap", async () => {
  const rt = await load();
  const e = rt.exports;
  e.__gc_configure(100, 1024);
  const sound = getDescriptor(rt);
  const head = pinnedChain(rt, 3000);
  const past = [0xfffffff0, 0xfffffff0, 0xfffffffc];
  const buf = rt.typeId("ArrayBuffer");
  // Idle, then in the middle of marking: the phase stays as it was (no half-started cycle).
  e.__collect();
  for (const phase of [0, 1]) {
    if (phase === 1) assert.equal(e.__gc_step(), 1);
    setDescriptor(rt, past);
    rejects(rt, `__gc_push (phase ${phase})`, () => e.__gc_push(head), /shadow-stack descriptor/);
    rejects(rt, `__gc_pop (phase ${phase})`, () => e.__gc_pop(1), /shadow-stack descriptor/);
    rejects(rt, `__collect (phase ${phase})`, () => e.__collect(), /shadow-stack descriptor/);
    rejects(rt, `__gc_step (phase ${phase})`, () => e.__gc_step(), /shadow-stack descriptor/);
    if (phase === 1) {
      // 1024 units of work are due: this __new would do a mark step.
      rejects(rt, "__new paying for a step", () => e.__new(4096, buf), /shadow-stack descriptor/);
    }
    setDescriptor(rt, sound);
    assert.equal(e.__heap_check(), 0);
  }
  assert.equal(e.__gc_phase(), 1, "still marking");
  e.__new(4096, buf);
  e.__collect();
  e.__unpin(head);
  e.__collect();
  assert.equal(e.__heap_check(), 0);
});

// ----- where __gc_stats may write -----

test("__gc_stats writes only into the native stack region or a live block of 64 bytes", async () => {
  const rt = await load();
  const e = rt.exports;
  const heapStart = rt.heapStart;
  const obj = e.__new(8, rt.typeId("TreeNode"));
  e.__pin(obj);
  e.__pin(obj); // pinned twice: the pin table exists
  e.__gc_push(obj); // a live shadow-stack slot
  rt.setSlot(0, obj);
  const un64 = e.__alloc(64);
  const un32 = e.__alloc(32);
  const live = rt.stats().liveObjects;

  // Allowed: 8-aligned, 64 bytes inside [stack low, stack high) or a live block's payload.
  const un128 = e.__alloc(128);
  for (const out of [8, 256, STACK_HIGH - 64, un64, un128 + 32, un128 + 64]) {
    new Uint8Array(rt.memory.buffer, out, 64).fill(0xee);
    e.__gc_stats(out);
    const v = new DataView(rt.memory.buffer, out, 64);
    assert.equal(Number(v.getBigUint64(32, true)), live, `stats at ${out}`);
  }

  // Static data: every 8-aligned address from the end of the stack to the heap is refused.
  // It holds the runtime's state, the shadow-stack descriptor and slots, static objects and the
  // RTTI table.
  const before = image(rt);
  let refused = 0;
  for (let out = STACK_HIGH - 56; out < heapStart; out += 8) {
    expectAbort(() => e.__gc_stats(out), /64 bytes/, `__gc_stats(${out})`);
    refused++;
  }
  assert.equal(firstDiff(before, image(rt)), -1, "nothing below the heap was written");
  assert.ok(refused > 1000, `${refused} static addresses refused`);

  const named = {
    "shadow-stack descriptor": rt.gcStack,
    "live shadow-stack slot": rt.stackHeader().base,
    "static object header (greeting)": rt.load32(e.__static_greeting.value) - 16,
    "static object payload (slots)": rt.staticSlots,
    "RTTI table": e.__rtti_base.value,
    "unaligned in the stack region": 260,
    "4-aligned in the stack region": 252,
    "heap start": heapStart,
    "block header": un64 - 16,
    "32-byte block": un32,
    "across a payload's end": un64 + 16,
    "across a larger payload's end": un128 + 72,
  };
  for (const [what, out] of Object.entries(named)) {
    rejects(rt, `__gc_stats into ${what}`, () => e.__gc_stats(out), /64 bytes/);
  }
  e.__gc_pop(1);
  e.__free(un32);
  e.__free(un64);
  e.__free(un128);
  assert.equal(e.__heap_check(), 0);
});

// ----- where __heap_check_list may write -----

test("__heap_check_list writes (invariant, address) pairs only into the stack region or an __alloc block", async () => {
  const rt = await load();
  const e = rt.exports;
  const buf = e.__alloc(64) >>> 0;
  assert.equal(e.__heap_check_list(buf, 8), 0, "a sound heap");
  assert.equal(e.__heap_check_list(0, 0), 0, "capacity 0 needs no buffer");
  const obj = e.__new(64, 0) >>> 0;
  rejects(rt, "__heap_check_list into a managed object", () => e.__heap_check_list(obj, 1), /__heap_check_list needs/);
  rejects(rt, "__heap_check_list past its block", () => e.__heap_check_list(buf, 9), /__heap_check_list needs/);
  rejects(rt, "__heap_check_list over a header", () => e.__heap_check_list(buf - 16, 1), /__heap_check_list needs/);
  rejects(rt, "__heap_check_list(0, 1)", () => e.__heap_check_list(0, 1), /null/i);
  // A broken invariant, listed: the object black while the collector is idle.
  const gc = rt.load32(obj - 12);
  rt.store32(obj - 12, gc | 3);
  assert.equal(e.__heap_check_list(buf, 8), 1);
  assert.equal(e.__heap_check(), 1);
  assert.deepEqual([rt.load32(buf), rt.load32(buf + 4)], [30, obj - 16], "(BlackWhenIdle, block)");
  rt.store32(obj - 12, gc);
  assert.equal(e.__heap_check(), 0);
});

// The checker runs on the native stack while it writes the list: its own frames (the closure
// that holds `out` and `capacity`, the callback it calls) are at the stack's top. A list there
// once overwrote them: the call trapped ("null function or function signature mismatch") or went
// on writing past the buffer. A buffer that reaches into the runtime's frames is refused before
// anything is written; the stack's bottom (where hosts put scratch buffers) stays allowed.
test("__heap_check_list refuses a buffer over the runtime's own stack frames", async () => {
  const rt = await load();
  const e = rt.exports;
  const objs = [];
  for (let i = 0; i < 40; i++) {
    const r = e.__new(8, rt.typeId("TreeNode")) >>> 0;
    e.__pin(r);
    objs.push(r);
  }
  // Eight broken invariants (BlackWhenIdle), so the walk writes eight pairs.
  for (let i = 0; i < 40; i += 5) rt.store32(objs[i] - 12, rt.load32(objs[i] - 12) | 3);
  const buf = e.__alloc(64) >>> 0;
  assert.equal(e.__heap_check_list(buf, 8), 8);
  const want = [...new Uint32Array(rt.memory.buffer, buf, 16)];
  const low = [...new Uint32Array(rt.memory.buffer.slice(256, 256 + 64))];
  assert.equal(e.__heap_check_list(256, 8), 8, "the stack's bottom is allowed");
  assert.deepEqual([...new Uint32Array(rt.memory.buffer.slice(256, 256 + 64))], want);
  new Uint8Array(rt.memory.buffer, 256, 64).set(new Uint8Array(Uint32Array.from(low).buffer));
  assert.equal(e.__heap_check_list(STACK_HIGH / 2, 8), 8, "half way up the stack is allowed");
  for (const capacity of [1, 2, 8]) {
    for (let out = STACK_HIGH - 8 * capacity; out >= STACK_HIGH - 8 * capacity - 512; out -= 8) {
      const stack = new Uint8Array(rt.memory.buffer.slice(0, out));
      rejects(rt, `__heap_check_list(${out}, ${capacity})`, () => e.__heap_check_list(out, capacity), /__heap_check_list needs/);
      assert.deepEqual(new Uint8Array(rt.memory.buffer.slice(0, out)), stack, `__heap_check_list(${out}, ${capacity}) wrote below its buffer`);
    }
  }
  for (let i = 0; i < 40; i += 5) rt.store32(objs[i] - 12, rt.load32(objs[i] - 12) & ~3);
  assert.equal(e.__heap_check(), 0);
});
