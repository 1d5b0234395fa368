// Bad input (docs/ABI.md §6): every export validates before it changes anything, so when the host's
// `env.abort` throws, the heap is byte-for-byte what it was and the instance keeps working. The
// message is a static String with a clear text.
import { test } from "node:test";
import assert from "node:assert/strict";
import { load, expectAbort, MAX_PAYLOAD, HEADER } from "./helpers.mjs";

/** Everything observable that an aborted call must leave alone. */
function state(rt) {
  const h = rt.gcStack;
  return {
    bytes: rt.snapshot(),
    stats: rt.stats(),
    stack: h === null ? null : [rt.load32(h), rt.load32(h + 4), rt.load32(h + 8)],
    memory: rt.byteLength,
  };
}

function assertSame(rt, before, what) {
  const after = state(rt);
  assert.equal(after.memory, before.memory, `${what}: memory size changed`);
  assert.deepEqual(after.stats, before.stats, `${what}: __gc_stats changed`);
  assert.deepEqual(after.stack, before.stack, `${what}: shadow-stack header changed`);
  const a = before.bytes;
  const b = after.bytes;
  assert.equal(a.length, b.length);
  let diff = -1;
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) {
      diff = i;
      break;
    }
  }
  assert.equal(diff, -1, `${what}: heap byte at ${rt.heapStart + diff} changed (${a[diff]} -> ${b[diff]})`);
  assert.equal(rt.check(), 0, `${what}: heap check`);
}

/** Expects `fn` to abort with `pattern`, leaving everything as it was; then the instance works. */
function rejects(rt, what, fn, pattern) {
  const before = state(rt);
  const err = expectAbort(fn, pattern, what);
  assertSame(rt, before, what);
  // Still usable.
  const e = rt.exports;
  const p = e.__alloc(24);
  const o = e.__new(8, rt.typeId("TreeNode"));
  e.__pin(o);
  e.__unpin(o);
  e.__free(p);
  assert.equal(rt.check(), 0, `${what}: heap check after reuse`);
  return err;
}

/** A populated heap: unmanaged and managed blocks, a pinned object, something on the shadow stack. */
async function setup() {
  const rt = await load();
  const e = rt.exports;
  const s = {
    a: e.__alloc(64),
    b: e.__alloc(64),
    c: e.__alloc(64),
    d: e.__alloc(64),
    obj: e.__new(8, rt.typeId("TreeNode")),
    str: rt.newString("hello"),
  };
  e.__pin(s.obj);
  e.__pin(s.obj); // a first pin is the PINNED bit; the second makes the pin table
  e.__gc_push(s.str);
  e.__free(s.b); // b: freed, neighbours used -> FREE bit set
  e.__free(s.c); // c: freed and merged into b -> a stale header
  return { rt, e, s };
}

/** A static String ref: the message of an earlier abort (static data, below the heap). */
function staticString(rt) {
  const err = expectAbort(() => rt.exports.__free(rt.heapStart + 8), null, "probe");
  assert.ok(err.msgRef < rt.heapStart, "abort messages are static objects");
  return err.msgRef;
}

test("abort messages are static Strings with text, and name a file", async () => {
  const { rt, e } = await setup();
  const err = expectAbort(() => e.__free(rt.heapStart + 8), /align/i, "unaligned free");
  assert.ok(err.msgRef % 16 === 0 && err.msgRef < rt.heapStart, `message ref ${err.msgRef} is a 16-aligned static`);
  assert.equal(rt.header(err.msgRef).rtId, rt.typeId("String"), "message is a String");
  assert.ok(typeof err.file === "string" && err.file.length > 0, "fileName is a String");
  assert.ok(err.line > 0, "line number");
});

test("__free rejects unaligned, out-of-heap, freed, managed and static refs", async () => {
  const { rt, e, s } = await setup();
  rejects(rt, "__free unaligned", () => e.__free(s.a + 4), /align/i);
  rejects(rt, "__free unaligned (8)", () => e.__free(s.a + 8), /align/i);
  rejects(rt, "__free below the heap", () => e.__free(16), /heap|block/i);
  rejects(rt, "__free past the memory", () => e.__free(rt.byteLength + 16), /heap|bounds/i);
  rejects(rt, "__free at the very end", () => e.__free(rt.byteLength), /heap|bounds/i);
  rejects(rt, "__free 0xfffffff0", () => e.__free(0xfffffff0 | 0), /heap|bounds/i);
  rejects(rt, "__free already freed (FREE bit)", () => e.__free(s.b), /free|block/i);
  rejects(rt, "__free already freed (merged)", () => e.__free(s.c), /free|block/i);
  rejects(rt, "__free inside a payload", () => e.__free(s.a + 32), /block|free/i);
  rejects(rt, "__free managed", () => e.__free(s.obj), /managed/i);
  rejects(rt, "__free managed string", () => e.__free(s.str), /managed/i);
  const st = staticString(rt);
  rejects(rt, "__free static", () => e.__free(st), /managed|heap|block/i);
  // The valid ones still work.
  e.__free(s.a);
  e.__free(s.d);
  assert.equal(rt.check(), 0);
});

test("__realloc rejects freed, managed and bad refs and oversized requests", async () => {
  const { rt, e, s } = await setup();
  rejects(rt, "__realloc freed", () => e.__realloc(s.b, 100), /free|block/i);
  rejects(rt, "__realloc merged-freed", () => e.__realloc(s.c, 10), /free|block/i);
  rejects(rt, "__realloc managed", () => e.__realloc(s.obj, 100), /managed/i);
  rejects(rt, "__realloc null", () => e.__realloc(0, 100), /null/i);
  rejects(rt, "__realloc unaligned", () => e.__realloc(s.a + 4, 100), /align/i);
  rejects(rt, "__realloc too large", () => e.__realloc(s.a, MAX_PAYLOAD + 1), /size|maximum/i);
  rejects(rt, "__realloc 4 GiB", () => e.__realloc(s.a, -1), /size|maximum/i);
  assert.equal(rt.header(e.__realloc(s.a, 100)).rtSize, 100);
});

test("__alloc / __new reject oversized requests and unknown ids", async () => {
  const { rt, e, s } = await setup();
  rejects(rt, "__alloc too large", () => e.__alloc(MAX_PAYLOAD + 1), /size|maximum/i);
  rejects(rt, "__alloc 2^32-1", () => e.__alloc(-1), /size|maximum/i);
  rejects(rt, "__new too large", () => e.__new(MAX_PAYLOAD + 1, rt.typeId("ArrayBuffer")), /size|maximum/i);
  rejects(rt, "__new 2^32-1", () => e.__new(-1, rt.typeId("ArrayBuffer")), /size|maximum/i);
  rejects(rt, "__new unknown id", () => e.__new(8, rt.typeCount), /type/i);
  rejects(rt, "__new id 2^32-1", () => e.__new(8, -1), /type/i);
  rejects(rt, "__typeinfo unknown id", () => e.__typeinfo(rt.typeCount), /type/i);
  rejects(rt, "__instanceof unknown id", () => e.__instanceof(s.str, 1e6), /type/i);
});

test("__renew rejects bad refs and sizes", async () => {
  const { rt, e, s } = await setup();
  rejects(rt, "__renew unmanaged", () => e.__renew(s.a, 100), /__alloc|managed/i);
  rejects(rt, "__renew freed", () => e.__renew(s.b, 100), /free|block/i);
  rejects(rt, "__renew null", () => e.__renew(0, 8), /null/i);
  rejects(rt, "__renew unaligned", () => e.__renew(s.obj + 4, 8), /align/i);
  rejects(rt, "__renew too large", () => e.__renew(s.obj, MAX_PAYLOAD + 1), /size|maximum/i);
  rejects(rt, "__renew static", () => e.__renew(staticString(rt), 8), /heap|managed|block/i);
});

test("pins: __unpin of an unpinned object, bad refs", async () => {
  const { rt, e, s } = await setup();
  rejects(rt, "__unpin unpinned", () => e.__unpin(s.str), /pinned/i);
  e.__pin(s.str);
  e.__pin(s.str);
  e.__unpin(s.str);
  e.__unpin(s.str);
  rejects(rt, "__unpin after balanced pins", () => e.__unpin(s.str), /pinned/i);
  rejects(rt, "__pin unmanaged", () => e.__pin(s.a), /__alloc|managed/i);
  rejects(rt, "__pin freed", () => e.__pin(s.b), /free|block/i);
  rejects(rt, "__pin unaligned", () => e.__pin(s.obj + 4), /align/i);
  rejects(rt, "__unpin unaligned", () => e.__unpin(s.obj + 4), /align/i);
  rejects(rt, "__unpin garbage", () => e.__unpin(0x7ffffff0), /heap|bounds|block/i);
});

test("shadow stack: __gc_pop more than pushed, __gc_push overflow and bad refs", async () => {
  const { rt, e, s } = await setup();
  rejects(rt, "__gc_pop 2 of 1", () => e.__gc_pop(2), /underflow|stack/i);
  rejects(rt, "__gc_pop 2^32-1", () => e.__gc_pop(-1), /underflow|stack/i);
  rejects(rt, "__gc_pop 2^30", () => e.__gc_pop(1 << 30), /underflow|stack/i);
  e.__gc_pop(1);
  rejects(rt, "__gc_pop on an empty stack", () => e.__gc_pop(1), /underflow|stack/i);
  rejects(rt, "__gc_push unmanaged", () => e.__gc_push(s.a), /__alloc|managed/i);
  rejects(rt, "__gc_push freed", () => e.__gc_push(s.b), /free|block/i);
  rejects(rt, "__gc_push unaligned", () => e.__gc_push(s.obj + 4), /align/i);
  // Fill the stack to its limit.
  let n = 0;
  const { limit, top } = rt.stackHeader();
  const room = (limit - top) / 4;
  for (; n < room; n++) e.__gc_push(n % 2 ? s.obj : 0);
  assert.equal(rt.stackHeader().top, limit);
  rejects(rt, "__gc_push overflow", () => e.__gc_push(s.obj), /overflow|stack/i);
  rejects(rt, "__gc_push overflow (null)", () => e.__gc_push(0), /overflow|stack/i);
  e.__gc_pop(n);
  assert.equal(rt.stackHeader().top, top);
});

test("__link, __visit and __instanceof reject garbage", async () => {
  const { rt, e, s } = await setup();
  rejects(rt, "__link garbage parent", () => e.__link(0x12345, s.obj, 0), /align/i);
  rejects(rt, "__link aligned garbage parent", () => e.__link(s.a + 32, s.obj, 0), /block|free|managed/i);
  rejects(rt, "__link null parent", () => e.__link(0, s.obj, 0), /null/i);
  rejects(rt, "__link unmanaged parent", () => e.__link(s.a, s.obj, 0), /__alloc|managed/i);
  rejects(rt, "__link freed child", () => e.__link(s.obj, s.b, 0), /free|block/i);
  rejects(rt, "__link garbage child", () => e.__link(s.obj, 0x7ffffff0, 1), /heap|bounds|block/i);
  rejects(rt, "__link unmanaged child", () => e.__link(s.obj, s.a, 0), /__alloc|managed/i);
  rejects(rt, "__link unaligned child", () => e.__link(s.obj, s.str + 2, 0), /align/i);
  e.__link(s.obj, 0, 0); // null child: nothing to do
  rejects(rt, "__visit garbage", () => e.__visit(s.a + 4, 0), /align/i);
  rejects(rt, "__visit unmanaged", () => e.__visit(s.a, 0), /__alloc|managed/i);
  rejects(rt, "__instanceof unmanaged", () => e.__instanceof(s.a, 1), /__alloc|managed/i);
  rejects(rt, "__instanceof freed", () => e.__instanceof(s.b, 1), /free|block/i);
});

test("the same rejections in the middle of a GC cycle leave the heap untouched", async () => {
  const { rt, e, s } = await setup();
  e.__gc_configure(100, 1024);
  let head = 0;
  for (let i = 0; i < 2000; i++) {
    if (head) e.__gc_push(head);
    const n = e.__new(8, rt.typeId("TreeNode"));
    rt.store32(n, head);
    e.__link(n, head, 0);
    if (head) e.__gc_pop(1);
    head = n;
  }
  e.__pin(head);
  // s.b was reused by the chain: free a fresh block between two used ones.
  const dead = e.__alloc(48);
  const fence = e.__alloc(16);
  e.__free(dead);
  // Unrooted, at the heap's end: the marking finds it dead, the sweep reaches it last.
  const unrooted = e.__new(8, rt.typeId("TreeNode"));
  assert.equal(e.__gc_step(), 1, "marking");
  rejects(rt, "mid-mark __link garbage", () => e.__link(s.obj, dead, 0), /free|block/i);
  rejects(rt, "mid-mark __unpin unpinned", () => e.__unpin(s.str), /pinned/i);
  rejects(rt, "mid-mark __new unknown id", () => e.__new(8, -1), /type/i);
  rejects(rt, "mid-mark __free managed", () => e.__free(head), /managed/i);
  while (e.__gc_step() === 1);
  rejects(rt, "mid-sweep __pin of an object found dead", () => e.__pin(unrooted), /unreachable/i);
  rejects(rt, "mid-sweep __renew freed", () => e.__renew(dead, 8), /free|block/i);
  rejects(rt, "mid-sweep __gc_pop", () => e.__gc_pop(100), /underflow|stack/i);
  while (e.__gc_step() !== 0);
  e.__free(fence);
  assert.equal(rt.check(), 0);
});

test("__gc_configure and __gc_stats reject bad arguments", async () => {
  const { rt, e } = await setup();
  rejects(rt, "__gc_configure(0, 0)", () => e.__gc_configure(0, 0), /argument/i);
  rejects(rt, "__gc_configure(5, 0)", () => e.__gc_configure(5, 0), /argument/i);
  rejects(rt, "__gc_configure(100000, 0)", () => e.__gc_configure(100000, 0), /argument/i);
  rejects(rt, "__gc_configure(100, 1)", () => e.__gc_configure(100, 1), /argument/i);
  e.__gc_configure(100, 0);
  // out is not a ref: 0 is the first byte of the native stack region (ABI §5), so it is allowed.
  e.__gc_stats(0);
  assert.equal(Number(new DataView(rt.memory.buffer).getBigUint64(32, true)), rt.stats().liveObjects);
  rejects(rt, "__gc_stats past the end", () => e.__gc_stats(rt.byteLength - 32), /range|bounds|memory/i);
  const small = e.__alloc(32);
  const big = e.__alloc(64);
  rejects(rt, "__gc_stats over a block header", () => e.__gc_stats(big - 16), /64 bytes/i);
  rejects(rt, "__gc_stats into a 32-byte block", () => e.__gc_stats(small), /64 bytes/i);
  rejects(rt, "__gc_stats inside a block, across its end", () => e.__gc_stats(big + 16), /64 bytes/i);
  e.__gc_stats(big); // a live 64-byte block is fine
  e.__free(small);
  e.__free(big);
});

test("out of memory aborts with 'out of memory' and leaves a sound heap", async () => {
  const rt = await load();
  const e = rt.exports;
  const keep = [e.__alloc(100), e.__new(16, rt.typeId("TreeNode"))];
  e.__pin(keep[1]);
  const big = [];
  let err = null;
  // Each maximal block takes ~1 GiB: 4 GiB of wasm32 memory runs out after at most four.
  for (let i = 0; i < 6 && !err; i++) {
    try {
      big.push(e.__alloc(MAX_PAYLOAD));
    } catch (x) {
      err = x;
    }
  }
  assert.ok(err, "out of memory was reached");
  assert.equal(rt.aborts.length, 1);
  assert.ok(rt.aborts[0].msg !== 0, "abort got a message String");
  assert.match(String(rt.aborts[0].message), /out of memory/i);
  assert.ok(big.length >= 1 && big.length <= 3, `${big.length} maximal blocks fit`);
  assert.equal(e.__heap_check(), 0, "heap sound after out of memory");
  // The same via __new and __realloc, which must not corrupt anything either.
  expectAbort(() => e.__new(MAX_PAYLOAD, rt.typeId("ArrayBuffer")), /out of memory/i, "__new OOM");
  assert.equal(e.__heap_check(), 0);
  expectAbort(() => e.__realloc(keep[0], MAX_PAYLOAD), /out of memory/i, "__realloc OOM");
  assert.equal(e.__heap_check(), 0);
  assert.equal(rt.header(keep[0]).rtSize, 100, "the block survives a failed realloc");
  // Still working; memory comes back after freeing.
  for (const p of big) e.__free(p);
  const p = e.__alloc(MAX_PAYLOAD);
  assert.equal(rt.header(p).rtSize, MAX_PAYLOAD);
  e.__free(p);
  e.__unpin(keep[1]);
  e.__free(keep[0]);
  e.__collect();
  assert.equal(e.__heap_check(), 0);
  void HEADER;
});

test("the runtime's own blocks (block-start map, pin table, region sentinel) are not accepted as refs", async () => {
  const { rt, e, s } = await setup(); // setup pins an object: the pin table exists
  const internal = rt.blocks().filter((b) => !b.free && (b.gcInfo & 8) === 0 && (b.gcInfo & 3) === 1);
  assert.equal(internal.length, 2, "two internal blocks (the block-start map and the pin table)");
  for (const { block } of internal) {
    const table = block + HEADER;
    rejects(rt, "__free internal", () => e.__free(table), /block|managed/i);
    rejects(rt, "__realloc internal", () => e.__realloc(table, 8), /block|managed/i);
    rejects(rt, "__pin internal", () => e.__pin(table), /managed|__alloc|block/i);
    rejects(rt, "__renew internal", () => e.__renew(table, 8), /managed|__alloc|block/i);
  }
  // The last 16 bytes of memory are the sentinel of the last region.
  const sentinel = rt.byteLength - 16 + HEADER;
  rejects(rt, "__free sentinel", () => e.__free(sentinel), /heap|block/i);
  rejects(rt, "__free sentinel start", () => e.__free(rt.byteLength - 16), /heap|block/i);
  rejects(rt, "__link sentinel", () => e.__link(s.obj, rt.byteLength - 16, 0), /heap|block/i);
});
