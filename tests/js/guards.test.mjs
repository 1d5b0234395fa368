// The runtime's contract with hosts and compiled code (ABI.md §5, §6), against the release
// module:
// - `__gc_step()` from idle always starts a cycle, and `__gc_phase()` reads the phase without work.
import { test } from "node:test";
import assert from "node:assert/strict";
import { load, finishCycle } from "./helpers.mjs";

/** rustc links wasm32 with `--stack-first` and a 1 MiB stack: static data starts here. */
const STACK_HIGH = 1 << 20;

/** Memory from the end of the native stack (which calls themselves use) to the end. */
function image(rt) {
  return new Uint8Array(rt.memory.buffer).slice(STACK_HIGH);
}

function firstDiff(a, b) {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
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
