// The `rtrace` build (docs/ABI.md §7) under the published sanitizer, @assemblyscript/rtrace: every
// block the runtime reports must be consistent with its shadow of the heap (no overlapping
// allocations, no orphaned or double frees, sizes that match mmInfo, no visits of freed blocks).
//
// Build: cargo build --release --target wasm32-unknown-unknown --features rtrace --target-dir target/rtrace
// Path:  ASRT_WASM_RTRACE, default target/rtrace/wasm32-unknown-unknown/release/asrt.wasm
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { load, wasmPath, HEADER, MANAGED } from "./helpers.mjs";

// @assemblyscript/rtrace 0.24.1 captures `performance.now` unbound at import time
// (`const hrtime = performance.now`), so its oninterrupt/onyield throw "The 'this' argument must be
// an instance of Performance" (Node) / "Illegal invocation" (browsers). AssemblyScript only calls
// them in --profile builds; asrt's rtrace build always does (docs/ABI.md §7). Binding `now` before
// the module is evaluated lets the stock hooks run unchanged.
performance.now = performance.now.bind(performance);
const { Rtrace } = await import("@assemblyscript/rtrace");

const PATH = wasmPath("ASRT_WASM_RTRACE", "target/rtrace/wasm32-unknown-unknown/release/asrt.wasm");
const missing = existsSync(PATH) ? false : `rtrace build not found at ${PATH} (set ASRT_WASM_RTRACE)`;

/** Loads the rtrace build under a fresh Rtrace; `wrap` may alter the hook imports. */
async function traced(wrap = (imports) => imports) {
  const errors = [];
  const infos = [];
  let rt = null;
  const rtrace = new Rtrace({
    getMemory: () => rt.memory,
    onerror: (err, info) => errors.push({ err, info }),
    oninfo: (msg) => infos.push(msg),
  });
  const imports = wrap(rtrace.install({}));
  rt = await load({ path: PATH, imports });
  return { rt, e: rt.exports, rtrace, errors, infos };
}

/** A `traced` wrap that calls `after(...args)` once rtrace's own hook `name` has run. */
function afterHook(name, after) {
  return (imports) => {
    const hook = imports.rtrace[name];
    imports.rtrace[name] = (...args) => {
      hook(...args);
      after(...args);
    };
    return imports;
  };
}

const fmt = (errors) => errors.map(({ err }) => String(err && err.message)).slice(0, 10).join("\n");

/** The used heap blocks rtrace should know of: everything but region sentinels and internal blocks. */
function reportedBlocks(rt) {
  return rt
    .blocks()
    .filter((b) => !b.free && ((b.gcInfo & MANAGED) !== 0 || (b.gcInfo & 3) === 0))
    .map((b) => b.block);
}

function workload(rt) {
  const e = rt.exports;
  let seed = 7;
  const rnd = (n) => ((seed = (seed * 1103515245 + 12345) >>> 0) % n);
  // Unmanaged: alloc / realloc (shrink, grow in place, move) / free.
  const blocks = [];
  for (let i = 0; i < 600; i++) {
    const op = rnd(4);
    if (op < 2 || !blocks.length) blocks.push(e.__alloc(rnd(2000)));
    else if (op === 2) {
      const k = rnd(blocks.length);
      blocks[k] = e.__realloc(blocks[k], rnd(4000));
    } else e.__free(blocks.splice(rnd(blocks.length), 1)[0]);
  }
  // Grow in place: a block followed by a free one.
  const a = e.__alloc(64);
  const b = e.__alloc(256);
  const fence = e.__alloc(16);
  e.__free(b);
  assert.equal(e.__realloc(a, 200), a, "grew in place");
  assert.equal(e.__realloc(a, 32), a, "shrank in place");
  blocks.push(a, fence);

  // Managed: new / renew (in place and moving, pinned and on the shadow stack) / pins / collect.
  const tn = rt.typeId("TreeNode");
  const ab = rt.typeId("ArrayBuffer");
  e.__gc_configure(100, 1024);
  let head = 0;
  for (let i = 0; i < 1500; i++) {
    if (head) e.__gc_push(head);
    const n = e.__new(8, tn);
    rt.store32(n, head);
    e.__link(n, head, 0);
    if (head) e.__gc_pop(1);
    head = n;
  }
  e.__pin(head);
  let buf = e.__new(16, ab);
  e.__pin(buf);
  for (let i = 0; i < 200; i++) {
    const phase = e.__gc_step();
    let junk = e.__new(rnd(300), ab);
    if (i % 3 === 0) {
      // Moving renew of a pinned object: the old copy stays until the collector frees it.
      const nb = e.__renew(buf, 16 + rnd(3000));
      if (nb !== buf) {
        e.__unpin(buf);
        e.__pin(nb);
        buf = nb;
      }
    }
    if (i % 5 === 0) junk = e.__renew(junk, rnd(600)); // unpinned: the old block is freed at once
    if (i % 7 === 0) {
      e.__gc_push(junk);
      e.__renew(junk, 5000); // on the shadow stack: kept for the collector
      e.__gc_pop(1);
    }
    void phase;
  }
  e.__collect();
  e.__collect();
  for (const p of blocks) e.__free(p);
  e.__unpin(buf);
  e.__unpin(head);
  e.__collect();
}

test("the rtrace build imports exactly AssemblyScript's rtrace hooks", { skip: missing }, () => {
  const mod = new WebAssembly.Module(readFileSync(PATH));
  const names = WebAssembly.Module.imports(mod).filter((i) => i.module === "rtrace").map((i) => i.name).sort();
  assert.deepEqual(names, ["onalloc", "oncollect", "onfree", "oninit", "oninterrupt", "onmove", "onresize", "onvisit", "onyield"]);
  const installed = Object.keys(new Rtrace({}).install({}).rtrace);
  for (const n of names) assert.ok(installed.includes(n), `rtrace provides ${n}`);
});

test("a mixed workload passes @assemblyscript/rtrace with no errors", { skip: missing }, async () => {
  const { rt, e, rtrace, errors, infos } = await traced();
  e.__gc_stats(256); // first call: the runtime initialises and reports oninit
  assert.ok(infos.some((m) => m === `INIT heapBase=${rt.heapStart}`), "oninit(heap start)");
  workload(rt);
  assert.equal(errors.length, 0, `rtrace reported:\n${fmt(errors)}`);
  assert.equal(e.__heap_check(), 0);
  assert.ok(rtrace.allocCount > 1000, `allocs reported (${rtrace.allocCount})`);
  assert.ok(rtrace.freeCount > 1000, `frees reported (${rtrace.freeCount})`);
  assert.ok(rtrace.moveCount > 10, `moves reported (${rtrace.moveCount})`);
  assert.ok(rtrace.resizeCount > 1, `resizes reported (${rtrace.resizeCount})`);
  assert.ok(infos.some((m) => m.startsWith("COLLECT")), "oncollect reported");
  assert.ok(rtrace.gcProfile.length > 0, "oninterrupt/onyield reported");
  // rtrace's idea of the live blocks is exactly the heap's.
  const heap = reportedBlocks(rt).sort((x, y) => x - y);
  const known = [...rtrace.blocks.keys()].sort((x, y) => x - y);
  assert.deepEqual(known, heap, "rtrace's live blocks = the heap's used blocks");
  assert.equal(rtrace.check(), heap.length);
  assert.equal(rt.stats().liveObjects, 0);
  // Every reported extent still matches mmInfo.
  for (const [ptr, info] of rtrace.blocks) assert.equal(info.size, rt.blockSize(ptr + HEADER));
});

test("onvisit is only called for live blocks during marking", { skip: missing }, async () => {
  let visits = 0;
  const { rt, e, errors } = await traced(afterHook("onvisit", () => visits++));
  const objs = [];
  for (let i = 0; i < 100; i++) objs.push(e.__pin(e.__new(8, rt.typeId("TreeNode"))));
  e.__collect();
  assert.ok(visits >= 100, `visits (${visits})`);
  for (const o of objs) e.__unpin(o);
  e.__collect();
  e.__collect();
  assert.equal(errors.length, 0, fmt(errors));
});

test("the sanitizer is live: a wrong hook sequence is reported", { skip: missing }, async () => {
  // 1. Calling rtrace's hooks directly, the wrong way round.
  const { rt, e, rtrace, errors } = await traced();
  const p = e.__alloc(100);
  const block = p - HEADER;
  assert.equal(errors.length, 0);
  rtrace.onfree(block);
  assert.equal(errors.length, 0, "first free of a live block is fine");
  rtrace.onfree(block);
  assert.ok(errors.some(({ err }) => /orphaned free/.test(err.message)), `double free reported:\n${fmt(errors)}`);
  rtrace.onalloc(block);
  rtrace.onalloc(block);
  assert.ok(errors.some(({ err }) => /duplicate alloc/.test(err.message)), "duplicate alloc reported");
  rtrace.onresize(block, 12345);
  assert.ok(errors.some(({ err }) => /size mismatch upon resize/.test(err.message)), "wrong old size reported");
  void rt;

  // 2. A runtime that "forgot" its onfree hook: the reused memory overlaps a block rtrace thinks
  //    is live.
  const forgetful = await traced((imports) => {
    imports.rtrace.onfree = () => {};
    return imports;
  });
  const f = forgetful.e;
  const q = f.__alloc(64);
  f.__free(q);
  f.__alloc(64);
  assert.ok(
    forgetful.errors.some(({ err }) => /duplicate alloc|already in use/.test(err.message)),
    `missing onfree detected:\n${fmt(forgetful.errors)}`,
  );
});

test("the default build imports no rtrace hooks", () => {
  const mod = new WebAssembly.Module(readFileSync(wasmPath()));
  assert.deepEqual(WebAssembly.Module.imports(mod).filter((i) => i.module === "rtrace"), []);
});

test("a hook that calls back into a mutating export mid-operation gets a clean abort (ABI §6)", { skip: missing }, async () => {
  let rt = null;
  let armed = false;
  const inner = [];
  const traced_ = await traced(afterHook("onmove", () => {
    if (!armed) return;
    // The moving __renew is half done here: the copy exists, the old block is not yet left
    // to the collector. Every mutating export must refuse; a read-only one still answers.
    const calls = {
      __collect: () => rt.exports.__collect(),
      __new: () => rt.exports.__new(8, rt.typeId("TreeNode")),
      __gc_step: () => rt.exports.__gc_step(),
      __alloc: () => rt.exports.__alloc(16),
    };
    for (const [name, call] of Object.entries(calls)) {
      try {
        call();
        inner.push({ name, refused: false });
      } catch (err) {
        inner.push({ name, refused: true, message: String(err.abortMessage || err.message) });
      }
    }
    inner.push({ name: "__gc_phase", refused: false, value: rt.exports.__gc_phase() });
  }));
  rt = traced_.rt;
  const { e, errors } = traced_;
  const buf = rt.typeId("ArrayBuffer");
  const obj = e.__pin(e.__new(64, buf));
  new Uint8Array(rt.memory.buffer, obj, 64).fill(0x5a);
  const fence = e.__pin(e.__new(16, buf)); // blocks growth in place
  armed = true;
  const moved = e.__renew(obj, 4096);
  armed = false;
  assert.notEqual(moved, obj, "the object moved");
  assert.deepEqual(
    inner.filter((c) => c.name !== "__gc_phase").map((c) => [c.name, c.refused]),
    [["__collect", true], ["__new", true], ["__gc_step", true], ["__alloc", true]],
    JSON.stringify(inner),
  );
  for (const c of inner.filter((c) => c.refused)) assert.match(c.message, /called back|hook/i);
  // The operation in progress completed, and the instance keeps working.
  assert.ok(new Uint8Array(rt.memory.buffer, moved, 64).every((b) => b === 0x5a), "contents moved");
  assert.equal(e.__heap_check(), 0);
  e.__pin(moved);
  e.__unpin(obj);
  e.__collect();
  assert.equal(e.__heap_check(), 0);
  assert.ok(new Uint8Array(rt.memory.buffer, moved, 64).every((b) => b === 0x5a), "the copy survived");
  e.__unpin(moved);
  e.__unpin(fence);
  e.__collect();
  assert.equal(e.__heap_check(), 0);
  assert.equal(errors.length, 0, fmt(errors));
});

/** Runs each `[name, call]` from inside a hook: `[name, refused]`, refused meaning it aborted with
 * the re-entry message. */
function refusals(calls) {
  return calls.map(([name, call]) => {
    try {
      call();
      return [name, false];
    } catch (err) {
      return [name, /called back|hook/i.test(String(err.abortMessage || err.message))];
    }
  });
}

test("a call back from the oninit hook is refused: the runtime is created once", { skip: missing }, async () => {
  let rt = null;
  const inner = [];
  const t = await traced(afterHook("oninit", () => {
    inner.push(...refusals([["__alloc", () => rt.exports.__alloc(16)], ["__gc_phase", () => rt.exports.__gc_phase()]]));
  }));
  rt = t.rt;
  const first = t.e.__gc_phase(); // a read-only export creates the runtime
  assert.equal(first, 0);
  assert.deepEqual(inner, [["__alloc", true], ["__gc_phase", true]], "both calls from oninit refused");
  const p = t.e.__alloc(32);
  assert.ok(p > rt.heapStart, "the instance works");
  t.e.__free(p);
  assert.equal(t.e.__heap_check(), 0);
  assert.equal(t.errors.length, 0, fmt(t.errors));
});

test("an onalloc hook of a small __new that calls back is refused too (the __new fast path holds the runtime)", { skip: missing }, async () => {
  let rt = null;
  let armed = false;
  const inner = [];
  const t = await traced(afterHook("onalloc", () => {
    if (!armed) return;
    armed = false;
    // The object is not returned yet, so nothing references it: a collection here would
    // free it and __new would hand out a freed block.
    inner.push(...refusals([
      ["__collect", () => rt.exports.__collect()],
      ["__new", () => rt.exports.__new(8, rt.typeId("TreeNode"))],
      ["__gc_step", () => rt.exports.__gc_step()],
    ]));
  }));
  rt = t.rt;
  const e = t.e;
  const node = rt.typeId("TreeNode");
  e.__pin(e.__new(8, node)); // the runtime exists; the next small __new takes the fast path
  for (const size of [0, 8, 32]) {
    armed = true;
    inner.length = 0;
    const p = e.__new(size, node);
    assert.deepEqual(inner, [["__collect", true], ["__new", true], ["__gc_step", true]], `size ${size}: ${JSON.stringify(inner)}`);
    assert.equal(e.__heap_check(), 0);
    const h = rt.header(p);
    assert.ok((h.gcInfo & MANAGED) !== 0 && h.rtId === node && h.rtSize === size, `size ${size}: a live object came back`);
  }
  assert.equal(t.errors.length, 0, fmt(t.errors));
});
