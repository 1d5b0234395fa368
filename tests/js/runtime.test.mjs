// The memory-manager exports seen from JavaScript (docs/ABI.md §1, §2, §3, §5): __alloc / __realloc /
// __free, __new / __renew, __gc_stats, __heap_check, __typeinfo / __instanceof.
import { test } from "node:test";
import assert from "node:assert/strict";
import { load, HEADER, FREE, LEFTFREE, MANAGED, F, MAX_PAYLOAD } from "./helpers.mjs";

const blockOf = (size) => (size + HEADER + 15) & ~15;

/** Checks the ABI §2 header of a used block behind `ref` holding `size` requested bytes. */
function checkUsedHeader(rt, ref, size, what) {
  assert.equal(ref % 16, 0, `${what}: ref ${ref} is not 16-aligned`);
  assert.ok(ref >= rt.heapStart + HEADER, `${what}: ref ${ref} below the heap start ${rt.heapStart}`);
  const h = rt.header(ref);
  assert.equal(h.mmInfo & FREE, 0, `${what}: FREE bit set on a used block`);
  const extent = 4 + (h.mmInfo & ~3);
  assert.equal(extent % 16, 0, `${what}: extent ${extent} not a multiple of 16`);
  assert.ok(ref - HEADER + extent >= ref + size, `${what}: extent ${extent} does not cover ${size} payload bytes`);
  assert.ok(ref - HEADER + extent <= rt.byteLength, `${what}: block runs past the memory`);
  assert.equal(h.rtSize, size, `${what}: rtSize`);
  // The right neighbour does not think this block is free.
  const right = rt.load32(ref - HEADER + extent);
  assert.equal(right & LEFTFREE, 0, `${what}: right neighbour has LEFTFREE set`);
  return h;
}

test("__alloc: 16-aligned refs, ABI headers, MANAGED clear, heap checks", async () => {
  const rt = await load();
  const e = rt.exports;
  assert.equal(e.__heap_check(), 0);
  const sizes = [0, 1, 4, 12, 15, 16, 17, 31, 32, 100, 1000, 4096, 65535, 100_000];
  const refs = [];
  for (const s of sizes) {
    const p = e.__alloc(s);
    const h = checkUsedHeader(rt, p, s, `__alloc(${s})`);
    assert.equal(h.gcInfo & MANAGED, 0, `__alloc(${s}) gcInfo has MANAGED`);
    refs.push(p);
    assert.equal(e.__heap_check(), 0);
  }
  // Blocks do not overlap.
  const spans = refs.map((p) => [p - HEADER, p - HEADER + rt.blockSize(p)]).sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < spans.length; i++) assert.ok(spans[i][0] >= spans[i - 1][1], "blocks overlap");
  // Writable payloads that do not disturb neighbours.
  refs.forEach((p, i) => rt.u8.fill(i + 1, p, p + sizes[i]));
  refs.forEach((p, i) => {
    assert.ok(rt.u8.subarray(p, p + sizes[i]).every((b) => b === i + 1));
    checkUsedHeader(rt, p, sizes[i], "after fill");
  });
  assert.equal(e.__heap_check(), 0);
  for (const p of refs) e.__free(p);
  assert.equal(e.__heap_check(), 0);
  e.__free(0); // no-op
});

test("__realloc keeps contents, grows and shrinks, headers stay valid", async () => {
  const rt = await load();
  const e = rt.exports;
  let p = e.__alloc(40);
  for (let i = 0; i < 40; i++) rt.u8[p + i] = i * 7;
  // Something right behind it forces a move on growth.
  const blocker = e.__alloc(16);
  const q = e.__realloc(p, 5000);
  checkUsedHeader(rt, q, 5000, "realloc grow");
  for (let i = 0; i < 40; i++) assert.equal(rt.u8[q + i], (i * 7) & 255, `byte ${i} after grow`);
  assert.equal(e.__heap_check(), 0);
  for (let i = 0; i < 5000; i++) rt.u8[q + i] = i & 255;
  const r = e.__realloc(q, 100);
  checkUsedHeader(rt, r, 100, "realloc shrink");
  for (let i = 0; i < 100; i++) assert.equal(rt.u8[r + i], i & 255);
  assert.equal(e.__heap_check(), 0);
  // Same size: stays, contents intact.
  const s = e.__realloc(r, 100);
  assert.equal(s, r);
  checkUsedHeader(rt, s, 100, "realloc same");
  // Growth in place into a free right neighbour.
  const t = e.__alloc(64);
  const u = e.__alloc(64);
  e.__free(u);
  const t2 = e.__realloc(t, 96);
  checkUsedHeader(rt, t2, 96, "realloc in place");
  assert.equal(e.__heap_check(), 0);
  e.__free(t2);
  e.__free(s);
  e.__free(blocker);
  assert.equal(e.__heap_check(), 0);
});

test("after freeing every block, used bytes return to the baseline", async () => {
  const rt = await load();
  const e = rt.exports;
  e.__free(e.__alloc(1)); // initialise
  const base = rt.stats();
  const refs = [];
  let seed = 12345;
  const rnd = (n) => ((seed = (seed * 1103515245 + 12345) >>> 0) % n);
  for (let i = 0; i < 2000; i++) {
    const op = rnd(3);
    if (op < 2 || refs.length === 0) refs.push(e.__alloc(rnd(3000)));
    else {
      const k = rnd(refs.length);
      if (rnd(2)) refs[k] = e.__realloc(refs[k], rnd(5000));
      else e.__free(refs.splice(k, 1)[0]);
    }
    if (i % 250 === 0) assert.equal(e.__heap_check(), 0, `heap check at op ${i}`);
  }
  const mid = rt.stats();
  assert.ok(mid.used > base.used);
  assert.equal(mid.used + mid.free + 16 * 0 <= mid.heapBytes, true);
  // Free in a scrambled order.
  while (refs.length) e.__free(refs.splice(rnd(refs.length), 1)[0]);
  const after = rt.stats();
  assert.equal(after.used, base.used, "used bytes back to baseline");
  assert.equal(after.liveObjects, base.liveObjects);
  assert.equal(e.__heap_check(), 0);
});

test("__gc_stats figures move as expected", async () => {
  const rt = await load();
  const e = rt.exports;
  const s0 = rt.stats();
  assert.equal(s0.heapBytes, rt.byteLength - rt.heapStart, "heap bytes = end of memory - heap start");
  assert.ok(s0.used + s0.free <= s0.heapBytes);
  assert.ok(s0.largestFree <= s0.free);
  assert.equal(s0.liveObjects, 0);

  const p = e.__alloc(100);
  const s1 = rt.stats();
  assert.equal(s1.used - s0.used, rt.blockSize(p), "used grows by the block size");
  assert.equal(s0.free - s1.free, rt.blockSize(p), "free shrinks by the block size");
  assert.equal(s1.totalAllocated - s0.totalAllocated, 100, "total allocated counts payload bytes");
  assert.equal(s1.liveObjects, 0, "__alloc blocks are not live objects");

  const str = e.__new(10, rt.typeId("String"));
  const s2 = rt.stats();
  assert.equal(s2.liveObjects, 1);
  assert.equal(s2.used - s1.used, rt.blockSize(str));
  assert.equal(s2.totalAllocated - s1.totalAllocated, 10);

  const str2 = e.__renew(str, 30);
  const s3 = rt.stats();
  assert.equal(s3.liveObjects, 1, "renew keeps one live object (old copy freed or pinned)");
  assert.equal(s3.totalAllocated - s2.totalAllocated, 30);
  assert.equal(rt.header(str2).rtSize, 30);

  e.__free(p);
  const s4 = rt.stats();
  assert.equal(s3.used - s4.used, blockOf(100));
  assert.equal(s4.totalAllocated, s3.totalAllocated, "free does not change total allocated");

  e.__collect();
  const s5 = rt.stats();
  assert.equal(s5.collections, s4.collections + 1);
  assert.ok(s5.steps > s4.steps, "a collection takes steps");
  assert.equal(s5.liveObjects, 0, "the unreferenced string was collected");
  assert.equal(s5.used, s0.used, "used back to the start");
  assert.equal(e.__heap_check(), 0);
});

test("__alloc(largestFree) succeeds without growing memory", async () => {
  const rt = await load();
  const e = rt.exports;
  // Fragment the heap a little first.
  const keep = [];
  for (let i = 0; i < 50; i++) {
    const a = e.__alloc(200 + i * 16);
    const b = e.__alloc(32);
    keep.push(b);
    if (i % 2) e.__free(a);
    else keep.push(a);
  }
  for (let round = 0; round < 3; round++) {
    const { largestFree } = rt.stats();
    assert.ok(largestFree > 0, "some free space");
    const before = rt.byteLength;
    const p = e.__alloc(largestFree);
    assert.equal(rt.byteLength, before, `__alloc(${largestFree}) grew memory`);
    checkUsedHeader(rt, p, largestFree, "largest free");
    assert.equal(e.__heap_check(), 0);
    keep.push(p);
  }
  // Also after growth.
  keep.push(e.__alloc(3 << 20));
  const { largestFree } = rt.stats();
  const before = rt.byteLength;
  keep.push(e.__alloc(largestFree));
  assert.equal(rt.byteLength, before);
  for (const p of keep) e.__free(p);
  assert.equal(e.__heap_check(), 0);
});

test("__new: zeroed payload, rtId, rtSize, MANAGED set", async () => {
  const rt = await load();
  const e = rt.exports;
  const ids = ["ArrayBuffer", "String", "ArrayI32", "StaticArrayString", "TreeNode", "Uint8Array"].map((n) => rt.typeId(n));
  // Dirty some memory first so zeroing is observable.
  const junk = e.__alloc(8192);
  rt.u8.fill(0xab, junk, junk + 8192);
  e.__free(junk);
  const objs = [];
  for (const id of ids) {
    for (const size of [0, 1, 8, 16, 100, 4000]) {
      const r = e.__new(size, id);
      const h = checkUsedHeader(rt, r, size, `__new(${size}, ${id})`);
      assert.equal(h.rtId, id, "rtId");
      assert.notEqual(h.gcInfo & MANAGED, 0, "MANAGED bit set");
      assert.ok(rt.u8.subarray(r, r + size).every((b) => b === 0), `__new(${size}, ${id}) payload not zeroed`);
      assert.equal(e.__instanceof(r, id), 1);
      objs.push(r);
      e.__pin(r);
    }
  }
  assert.equal(rt.stats().liveObjects, objs.length);
  assert.equal(e.__heap_check(), 0);
  for (const r of objs) e.__unpin(r);
  e.__collect();
  assert.equal(rt.stats().liveObjects, 0);
  assert.equal(e.__heap_check(), 0);
});

test("__renew keeps contents and zeroes the grown tail", async () => {
  const rt = await load();
  const e = rt.exports;
  const id = rt.typeId("ArrayBuffer");
  const junk = e.__alloc(65536);
  rt.u8.fill(0xcd, junk, junk + 65536);
  e.__free(junk);
  let r = e.__new(24, id);
  e.__pin(r);
  for (let i = 0; i < 24; i++) rt.u8[r + i] = i + 1;
  const block = e.__new(8, id); // right neighbour: forces a move
  for (const size of [40, 500, 10_000, 12, 3000]) {
    const prev = rt.header(r).rtSize;
    const n = e.__renew(r, size);
    const h = checkUsedHeader(rt, n, size, `__renew(${size})`);
    assert.equal(h.rtId, id);
    assert.notEqual(h.gcInfo & MANAGED, 0);
    const keep = Math.min(prev, size);
    for (let i = 0; i < Math.min(keep, 24); i++) assert.equal(rt.u8[n + i], i + 1, `byte ${i} after renew to ${size}`);
    if (size > prev) {
      assert.ok(rt.u8.subarray(n + prev, n + size).every((b) => b === 0), `grown tail not zeroed (renew ${prev} -> ${size})`);
      rt.u8.fill(0xee, n + Math.max(prev, 24), n + size);
    }
    if (n !== r) {
      e.__unpin(r);
      e.__pin(n);
    }
    r = n;
    assert.equal(e.__heap_check(), 0);
  }
  e.__unpin(r);
  void block;
  e.__collect();
  assert.equal(rt.stats().liveObjects, 0);
  assert.equal(e.__heap_check(), 0);
});

test("__typeinfo and __instanceof", async () => {
  const rt = await load();
  const e = rt.exports;
  const count = rt.typeCount;
  assert.ok(count >= 11, `RTTI declares ${count} ids`);
  const entry = rt.profile === "classic" ? 8 : 4;
  for (let id = 0; id < count; id++) {
    assert.equal(e.__typeinfo(id) >>> 0, rt.load32(e.__rtti_base.value + 4 + entry * id), `flags of id ${id}`);
  }
  assert.ok(e.__typeinfo(rt.typeId("ArrayBuffer")) & F.POINTERFREE);
  assert.ok(e.__typeinfo(rt.typeId("String")) & F.POINTERFREE);
  const arr = e.__typeinfo(rt.typeId("ArrayString"));
  assert.ok(arr & F.ARRAY && arr & F.VALUE_MANAGED, "Array<string> flags");
  const sa = e.__typeinfo(rt.typeId("StaticArrayString"));
  assert.ok(sa & F.STATICARRAY && sa & F.VALUE_MANAGED, "StaticArray<string> flags");
  assert.ok(e.__typeinfo(rt.typeId("Int32Array")) & F.ARRAYBUFFERVIEW);

  const s = e.__new(4, rt.typeId("String"));
  assert.equal(e.__instanceof(s, rt.typeId("String")), 1);
  assert.equal(e.__instanceof(s, rt.typeId("ArrayBuffer")), 0);
  const view = e.__new(12, rt.typeId("Int32Array"));
  assert.equal(e.__instanceof(view, rt.typeId("Int32Array")), 1);
  assert.equal(e.__instanceof(view, rt.typeId("ArrayBufferView")), 1, "Int32Array extends ArrayBufferView");
  assert.equal(e.__instanceof(view, rt.typeId("Float64Array")), 0);
  assert.equal(e.__instanceof(0, rt.typeId("String")), 0, "null is no instance");
  assert.equal(e.__heap_check(), 0);
});

test("views must be refreshed after memory growth", async () => {
  const rt = await load();
  const e = rt.exports;
  const old = new Uint32Array(rt.memory.buffer);
  const oldLen = rt.byteLength;
  const big = e.__alloc(8 << 20);
  assert.ok(rt.byteLength > oldLen, "memory grew");
  assert.equal(old.length, 0, "the old view is detached");
  const h = rt.header(big); // a fresh view sees the new block
  assert.equal(h.rtSize, 8 << 20);
  rt.u8[big + (8 << 20) - 1] = 42;
  assert.equal(rt.u8[big + (8 << 20) - 1], 42);
  assert.equal(rt.stats().heapBytes, rt.byteLength - rt.heapStart);
  e.__free(big);
  assert.equal(e.__heap_check(), 0);
});

test("sizes up to the maximum payload", async () => {
  const rt = await load();
  const e = rt.exports;
  const p = e.__alloc(MAX_PAYLOAD >>> 4); // 64 MiB
  checkUsedHeader(rt, p, MAX_PAYLOAD >>> 4, "64 MiB");
  e.__free(p);
  assert.equal(e.__heap_check(), 0);
});
