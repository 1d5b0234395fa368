// Checks of C programs linked with asrt through the C SDK (docs/ABI.md §9), run by
// tests/c/c.test.mjs in node and by tests/c/browser.mjs in headless Chromium. They need only a
// loader and the modules' bytes, so they run the same in both.
//
// Modules (tests/c/build.sh): binarytrees, conslist (examples/c, plain wasm-ld-19 link),
// binarytrees-lto and conslist-lto (clang-19 -flto + rust-lld), barrier and barrier-removed
// (tests/c/barrier.c, the second with -DASRT_NO_BARRIER), abort (tests/c/abort.c),
// conslist-import (the --import-memory SDK).

export const MODULES = ["binarytrees", "binarytrees-lto", "conslist", "conslist-lto", "conslist-import",
  "barrier", "barrier-removed", "abort"];

// Every export of the ABI (docs/ABI.md §5, §3, §4) and the C SDK's own (§9: the marking word,
// the C stack pointer for hosts that restore it).
const ABI_EXPORTS = [
  "memory", "__alloc", "__realloc", "__free", "__new", "__renew", "__link", "__pin", "__unpin",
  "__collect", "__visit", "__gc_configure", "__gc_step", "__gc_phase", "__gc_push", "__gc_pop",
  "__gc_stack", "__gc_stats", "__heap_check", "__heap_check_list", "__heap_base", "__data_end",
  "__rtti_base", "__typeinfo", "__instanceof", "__string_from_utf16", "__string_from_utf8",
  "__string_utf8_length", "__string_to_utf8", "__string_concat", "__string_equals",
  "__string_compare", "__string_hash", "__string_slice", "__id_TreeNode", "__id_ArrayString",
  "__id_ArrayI32", "__id_StaticArrayString", "__static_greeting", "__static_slots",
  "__gc_marking", "__stack_pointer",
];

/** binary-trees' checksum: the sum of every tree's node count, as i32. */
export function expectedChecksum(n) {
  const maxDepth = Math.max(6, n);
  const nodes = d => 2 ** (d + 1) - 1;
  let sum = nodes(maxDepth + 1) + nodes(maxDepth);
  for (let d = 4; d <= maxDepth; d += 2) sum += 2 ** (maxDepth - d + 4) * nodes(d);
  return sum | 0;
}

function check(cond, message) {
  if (!cond) throw new Error(message);
}

function equal(actual, expected, what) {
  if (actual !== expected) throw new Error(`${what}: got ${actual}, expected ${expected}`);
}

/** Sum of 0..n-1 as the C side returns it (an i64, a BigInt in JS). */
const rangeSum = n => BigInt(n) * BigInt(n - 1) / 2n;

/**
 * The checks: `[name, async (ctx) => void]`, where `ctx.bytes(name)` gives a module's bytes and
 * `ctx.loader` is js/loader.mjs.
 */
export const CHECKS = [
  ["every module exports the whole ABI and imports only env.abort (and env.memory)", async ({ bytes }) => {
    for (const name of MODULES) {
      const mod = new WebAssembly.Module(await bytes(name));
      const exported = new Set(WebAssembly.Module.exports(mod).map(e => e.name));
      const missing = ABI_EXPORTS.filter(n => !exported.has(n));
      equal(missing.join(", "), "", `${name}: missing exports`);
      const imports = WebAssembly.Module.imports(mod).map(i => `${i.module}.${i.name}`).sort();
      const want = name.endsWith("-import") ? "env.abort,env.memory" : "env.abort";
      equal(imports.join(","), want, `${name}: imports`);
    }
  }],

  ["binary-trees, plain and LTO links, gives the checksum across many collections", async ({ bytes, loader }) => {
    for (const name of ["binarytrees", "binarytrees-lto"]) {
      const { exports } = await loader.instantiate(await bytes(name));
      for (const n of [6, 10, 12]) equal(exports.run(n), expectedChecksum(n), `${name} run(${n})`);
      const s = exports.gcStats();
      check(s.collections >= 5, `${name}: only ${s.collections} collections`);
      equal(exports.__heap_check(), 0, `${name}: heap check`);
    }
  }],

  ["rooted data survives many collections (static slots and the shadow stack)", async ({ bytes, loader }) => {
    for (const name of ["conslist", "conslist-lto"]) {
      const { exports } = await loader.instantiate(await bytes(name));
      exports.keep(0, 5000);
      const first = exports.gcStats().collections;
      for (let round = 0; round < 20; round++) {
        exports.churn(40, 1000); // 40,000 cells, 1.25 MB: about one paced cycle
        if (round % 5 === 4) exports.__collect();
        equal(exports.length(0), 5000, `${name}: length after round ${round}`);
        equal(exports.sum(0), rangeSum(5000), `${name}: sum after round ${round}`);
      }
      const nested = exports.nested(12, 300);
      let want = 0n;
      for (let d = 1; d <= 12; d++) want += BigInt(300 * d) + rangeSum(300);
      equal(nested, want, `${name}: nested(12, 300)`);
      exports.map(0);
      equal(exports.sum(0), 3n * rangeSum(5000) + 5000n, `${name}: sum after map`);
      const collections = exports.gcStats().collections - first;
      check(collections >= 20, `${name}: only ${collections} collections while the list was kept`);
      equal(exports.__heap_check(), 0, `${name}: heap check`);
    }
  }],

  ["garbage is reclaimed (__gc_stats)", async ({ bytes, loader }) => {
    const { exports } = await loader.instantiate(await bytes("conslist"));
    exports.keep(0, 1000);
    exports.churn(200, 1000); // 200,000 cells of garbage
    const churned = exports.gcStats();
    check(churned.totalAllocated >= 200000 * 8, `allocated only ${churned.totalAllocated} bytes`);
    exports.__collect();
    const kept = exports.gcStats();
    equal(kept.liveObjects, 1000, "live objects with one list of 1000 kept");
    check(kept.usedBytes < 100 * 1024, `used bytes ${kept.usedBytes} with 32 KB live`);
    check(kept.heapBytes < 8 * 1024 * 1024, `heap grew to ${kept.heapBytes} bytes for 32 KB live`);
    exports.drop(0);
    exports.__collect();
    equal(exports.gcStats().liveObjects, 0, "live objects after the list was dropped");
    equal(exports.__heap_check(), 0, "heap check");
  }],

  ["the inline barrier shades a white object stored into a black one while marking", async ({ bytes, loader }) => {
    const { exports } = await loader.instantiate(await bytes("barrier"));
    exports.chain(20000);
    equal(exports.moveWhileMarking(), 0, "result bits (1 broken invariant, 2 object lost, 4 not marking)");
    equal(exports.__heap_check(), 0, "heap check");
    // Without the barrier (-DASRT_NO_BARRIER) the same program breaks the tri-color invariant
    // and loses the object: the check above can fail.
    const removed = await loader.instantiate(await bytes("barrier-removed"));
    removed.exports.chain(20000);
    equal(removed.exports.moveWhileMarking(), 3, "without the barrier: result bits");
  }],

  ["aborts inside C code leave the module usable (stack pointer and shadow-stack top restored)", async ({ bytes, loader }) => {
    const { exports, instance } = await loader.instantiate(await bytes("abort"));
    const raw = instance.exports;
    const sp = raw.__stack_pointer;
    const topCell = raw.__gc_stack.value >>> 2;
    const top = () => new Uint32Array(raw.memory.buffer)[topCell];
    const sp0 = sp.value, top0 = top();
    // 40 frames of 1 KiB per call: without the restore, 1 MiB of C stack lasts 25 calls.
    for (let i = 0; i < 2000; i++) {
      let error = null;
      try { exports.failDeep(40); } catch (e) { error = e; }
      check(error && error.abortMessage === "object is not pinned", `call ${i}: ${error}`);
      equal(sp.value, sp0, `stack pointer after abort ${i}`);
      equal(top(), top0, `shadow-stack top after abort ${i}`);
    }
    equal(exports.works(), 3, "works() after 2000 aborts");
    equal(exports.__heap_check(), 0, "heap check");
    // The raw export is not guarded: its abort leaves both moved, which is what the loader undoes.
    let threw = false;
    try { raw.failDeep(40); } catch { threw = true; }
    check(threw, "the raw call aborts");
    check(sp.value < sp0 && top() > top0, "an unguarded abort leaves the stack pointer and top moved");
    sp.value = sp0;
    new Uint32Array(raw.memory.buffer)[topCell] = top0;
    equal(exports.works(), 3, "works() after restoring by hand");
  }],

  ["the import-memory variant runs on the host's memory", async ({ bytes, loader }) => {
    const memory = new WebAssembly.Memory({ initial: 32 });
    const { exports } = await loader.instantiate(await bytes("conslist-import"), { env: { memory } });
    check(exports.memory === memory, "the module exports the memory it imported");
    exports.keep(0, 3000);
    exports.churn(100, 1000);
    equal(exports.sum(0), rangeSum(3000), "sum of the kept list");
    check(memory.buffer.byteLength >= 32 * 65536, "memory");
    const s = exports.gcStats();
    check(s.collections >= 1, `collections ${s.collections}`);
    exports.__collect();
    equal(exports.gcStats().liveObjects, 3000, "live objects");
    equal(exports.__heap_check(), 0, "heap check");
  }],
];
