// The benchmark report's workloads, one ES module that runs unchanged in node and in a browser
// page (bench/report/page.html). Each workload takes `get(name)`, an async function that returns
// a module's bytes, and returns plain JSON. Nothing here reads files or the clock of the OS: the
// callers (bench/report/run.mjs in node, the page in Chromium) supply bytes and collect results.
//
// Modules by name (built by bench/run-all.sh):
//   asrt                 the runtime, default build (raw ABI exports, docs/ABI.md §5)
//   bt-asrt              binary-trees on asrt's Rust API (bench/gc/rust), run(n)
//   bt-as-<rt>           bench/as/binarytrees.ts with --runtime incremental|stub|minimal, run(n)
//   bt-c, bt-c-lto       examples/c/binarytrees.c on the C SDK, plain wasm-ld and LTO, run(n)
//   gcwork-as-<rt>       bench/as/gcwork.ts with --runtime incremental|stub --exportRuntime
//   gcbench-as-<rt>      bench/report/gcbench.ts (Boehm's GCBench) with --runtime incremental|stub
//   alloc-<name>         bench/alloc/<name> (talc's method), run(seed, actions, full)
//   asc-runtime, as-*    the AssemblyScript programs on asrt and on AS's runtimes (asc.mjs)

import { instantiateBytes, median, btChecksum, perCallMin, quantiles, cdf, splitCalls, floorTimes } from "./common.mjs";

import { ascAll, ASC_SHORT, ASC_FULL } from "./asc.mjs";

export { instantiateBytes, median, btChecksum };

const MiB = 1024 * 1024;

// xorshift32: the same sequence in every host, so every runtime gets the same requests.
function prng(seed) {
  let x = seed >>> 0 || 1;
  return () => { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; return x; };
}

// ---- one small interface over asrt's raw exports and AssemblyScript's ---------------------------

// A Uint32Array over the memory, made again only after memory.grow detached the old buffer (a
// detached view has length 0), as the loader's view cache does: making one costs more than a
// runtime call, so a view per store would time the harness, not the runtime.
function u32View(memory) {
  let view = new Uint32Array(memory.buffer);
  return () => (view.length !== 0 ? view : (view = new Uint32Array(memory.buffer)));
}

export function asrtBackend(ex, memory) {
  const u32 = u32View(memory);
  const TREE = u32()[ex.__id_TreeNode.value >>> 2];
  const statsOut = ex.__alloc(64);
  const stats = () => {
    ex.__gc_stats(statsOut);
    const v = new DataView(memory.buffer, statsOut, 64);
    const g = (i) => Number(v.getBigUint64(i * 8, true));
    return { heapBytes: g(0), usedBytes: g(1), liveObjects: g(4), collections: g(5), steps: g(6) };
  };
  return {
    name: "asrt", memory, TREE, BUFFER: 0,
    newObj: ex.__new, pin: ex.__pin, unpin: ex.__unpin, collect: ex.__collect, noop: ex.__gc_phase,
    // store, then the write barrier (ABI §5.3)
    setField(parent, field, child) { u32()[(parent >>> 2) + field] = child; ex.__link(parent, child, 0); },
    steps: () => { ex.__gc_stats(statsOut); return new Uint32Array(memory.buffer, statsOut + 48, 1)[0]; },
    phase: ex.__gc_phase,
    stats,
  };
}

export function asBackend(ex, memory, name) {
  const u32 = () => new Uint32Array(memory.buffer);
  return {
    name, memory, TREE: ex.treeNodeId(), BUFFER: ex.arrayBufferId(),
    newObj: ex.__new, pin: ex.__pin, unpin: ex.__unpin, collect: ex.__collect,
    noop: ex.getSlot ? () => ex.getSlot(7) : () => 0,
    setField: ex.setField, // AS-compiled store with AS's own barrier
    steps: null,
    stats: () => ({ heapBytes: memory.buffer.byteLength }),
    read: u32,
  };
}

// "asrt90": asrt with `__gc_configure(90, 0)`, the pause that keeps a steady heap within 2x live
// (the contract's default is 100; docs/ABI.md §12.2).
const ASRT_PAUSE_90 = "asrt, __gc_configure(90, 0)";

async function backend(get, name) {
  const isAsrt = name === "asrt" || name === "asrt90";
  const { ex, memory } = await instantiateBytes(await get(isAsrt ? "asrt" : `gcwork-as-${name}`));
  if (!isAsrt) return asBackend(ex, memory, `AS ${name}`);
  const b = asrtBackend(ex, memory);
  if (name === "asrt90") {
    ex.__gc_configure(90, 0);
    b.name = ASRT_PAUSE_90;
  }
  return b;
}

// ---- binary-trees, compiled: run(n) in a fresh instance per run ---------------------------------

export async function btCompiled(get, { n = 14, runs = 3 } = {}) {
  const mods = [["asrt", "bt-asrt"], ["asrt, C (plain link)", "bt-c"], ["asrt, C (LTO)", "bt-c-lto"],
    ["AS incremental", "bt-as-incremental"], ["AS stub", "bt-as-stub"], ["AS minimal", "bt-as-minimal"]];
  return roundRobin(mods.map(([l]) => l), runs, async (k) => {
    const { ex, memory } = await instantiateBytes(await get(mods[k][1]));
    const t0 = performance.now();
    const sum = ex.run(n);
    const ms = performance.now() - t0;
    if (sum !== btChecksum(n)) throw new Error(`${mods[k][0]}: binary-trees checksum ${sum}, expected ${btChecksum(n)}`);
    return { ms, memBytes: memory.buffer.byteLength };
  }, { n, runs });
}

// Runs `once(k)` for every runtime k in turn, `runs` rounds (interleaved, so that a change in the
// shared machine's load hits every runtime alike); rows of median, min and max ms.
async function roundRobin(labels, runs, once, extra) {
  const samples = labels.map(() => []);
  for (let i = 0; i < runs; i++) {
    for (let k = 0; k < labels.length; k++) samples[k].push(await once(k));
  }
  const rows = labels.map((runtime, k) => {
    const row = { runtime };
    for (const key of Object.keys(samples[k][0])) {
      const xs = samples[k].map((x) => x[key]);
      if (key === "memBytes") row.memBytes = Math.max(...xs);
      else Object.assign(row, { [key]: median(xs), [`${key}Min`]: Math.min(...xs), [`${key}Max`]: Math.max(...xs) });
    }
    if (row.msMin !== undefined) Object.assign(row, { minMs: row.msMin, maxMs: row.msMax });
    return row;
  });
  return { ...extra, rows };
}

// ---- binary-trees driven from JavaScript: the same calls per node on every runtime ---------------
// Per node: __new(8, TreeNode), then for an inner node two stores with their barrier and one
// __unpin of each child; every node is pinned once (__pin) until its parent holds it.

export function btDriven(b, n, sample) {
  const mem = u32View(b.memory);
  const build = (d) => {
    if (d === 0) return b.pin(b.newObj(8, b.TREE));
    const l = build(d - 1), r = build(d - 1);
    const node = b.pin(b.newObj(8, b.TREE));
    b.setField(node, 0, l); b.setField(node, 1, r);
    b.unpin(l); b.unpin(r);
    return node;
  };
  const count = (node) => {
    const m = mem();
    const l = m[node >>> 2], r = m[(node >>> 2) + 1];
    return l === 0 ? 1 : 1 + count(l) + count(r);
  };
  const maxDepth = Math.max(6, n);
  let sum = 0;
  const stretch = build(maxDepth + 1); sum += count(stretch); b.unpin(stretch);
  const longLived = build(maxDepth);
  for (let d = 4; d <= maxDepth; d += 2) {
    for (let i = 0, it = 1 << (maxDepth - d + 4); i < it; i++) {
      const t = build(d); sum += count(t); b.unpin(t);
      if (sample) sample();
    }
  }
  sum += count(longLived); b.unpin(longLived);
  return sum | 0;
}

export async function btJs(get, { n = 12, runs = 3 } = {}) {
  const names = ["asrt", "incremental", "stub"];
  return roundRobin(names.map((x) => (x === "asrt" ? "asrt" : `AS ${x}`)), runs, async (k) => {
    const b = await backend(get, names[k]);
    const t0 = performance.now();
    const sum = btDriven(b, n);
    const ms = performance.now() - t0;
    if (sum !== btChecksum(n)) throw new Error(`${b.name}: driven binary-trees checksum ${sum}`);
    return { ms, memBytes: b.memory.buffer.byteLength };
  }, { n, runs });
}

// Heap over time of one JavaScript-driven binary-trees run on asrt and on AS incremental.
export async function btHeapSeries(get, { n = 12 } = {}) {
  const series = [];
  for (const name of ["asrt", "incremental"]) {
    const b = await backend(get, name);
    const points = [];
    const t0 = performance.now();
    const sample = () => { points.push([performance.now() - t0, b.memory.buffer.byteLength, b.stats().usedBytes ?? null]); };
    sample();
    btDriven(b, n, sample);
    sample();
    series.push({ runtime: b.name, points });
  }
  return { n, series };
}

// ---- steady replacement: a live set of units, replaced at random; every __new timed -------------
// A unit is a chain of 8 TreeNodes, each holding an ArrayBuffer (left = next node, right =
// buffer). The unit's root is pinned while it is live; each new object is linked into the
// pinned unit before the next allocation.

export function steadyRun(b, { liveMiB, factor, seed, record }) {
  const rnd = prng(seed);
  // Live bytes are counted as blocks with a 16-byte header, rounded to 16 (the same for every runtime).
  const blockBytes = (payload) => (payload + 16 + 15) & ~15;
  const meanUnit = 8 * (blockBytes(8) + blockBytes(264));
  const units = new Array(Math.max(4, Math.round(liveMiB * MiB / meanUnit))).fill(0);
  const unitBytes = new Float64Array(units.length);
  let liveBytes = 0, building = 0;
  // Every unit is 16 `__new` calls. The per-call records are allocated here, not grown while the
  // calls are timed: growing them made the host's own collections (copying hundreds of MB at
  // 1 GiB live) land on the same calls in every run, where the per-call minimum keeps them.
  const replacements = Math.ceil(units.length * factor);
  const total = 16 * (units.length + replacements);
  const times = record ? new Float64Array(total) : null;
  const gcWork = record && b.steps ? new Uint8Array(total) : null;
  const heap = [];
  let calls = 0, grewCalls = 0;
  const t0 = performance.now();
  // A call did GC work when the step counter moved or the phase changed: the call that starts a
  // cycle shades every root (pins included) and counts no step.
  const timedNew = (size, id) => {
    const s0 = gcWork ? b.steps() : 0, p0 = gcWork ? b.phase() : 0;
    const len0 = b.memory.buffer.byteLength;
    const a = performance.now();
    const ref = b.newObj(size, id);
    const dt = performance.now() - a;
    building += blockBytes(size);
    const grew = b.memory.buffer.byteLength !== len0;
    if (grew) grewCalls++;
    if (times) times[calls] = grew ? -dt : dt; // negative: memory grew during the call
    // 0: no GC work; else 1 + 3 * phase before + phase after (see KINDS)
    if (gcWork) { const p1 = b.phase(); gcWork[calls] = b.steps() !== s0 || p1 !== p0 ? 1 + 3 * p0 + p1 : 0; }
    if ((++calls & 1023) === 0) heap.push([performance.now() - t0, b.memory.buffer.byteLength, b.stats().usedBytes ?? null]);
    return ref;
  };
  const buildUnit = () => {
    building = 0;
    const root = b.pin(timedNew(8, b.TREE));
    let node = root;
    for (let i = 0; i < 8; i++) {
      const buf = timedNew(16 + (rnd() % 497), b.BUFFER);
      b.setField(node, 1, buf);
      if (i < 7) { const next = timedNew(8, b.TREE); b.setField(node, 0, next); node = next; }
    }
    return root;
  };
  for (let i = 0; i < units.length; i++) { units[i] = buildUnit(); unitBytes[i] = building; liveBytes += building; }
  for (let i = 0; i < replacements; i++) {
    const k = rnd() % units.length;
    b.unpin(units[k]);
    liveBytes -= unitBytes[k];
    units[k] = buildUnit();
    unitBytes[k] = building; liveBytes += building;
  }
  heap.push([performance.now() - t0, b.memory.buffer.byteLength, b.stats().usedBytes ?? null]);
  const ms = performance.now() - t0;
  if (calls !== total) throw new Error(`steady: ${calls} calls, ${total} expected`);
  return { times, gcWork, heap, calls, grewCalls, ms, liveBytes };
}

const PHASE = ["idle", "mark", "sweep"];
const KINDS = ["no GC work", ...[0, 1, 2].flatMap((a) => [0, 1, 2].map((z) => (a === z ? `a ${PHASE[a]} step` : a === 0 ? `cycle start (idle -> ${PHASE[z]})` : `${PHASE[a]} -> ${PHASE[z]}`)))];

export async function steady(get, { liveMiB = [4], factor = 2, reps = 3, seed = 7, names = ["asrt", "asrt90", "incremental"] } = {}) {
  const rows = [];
  const pauses = {};
  const heapSeries = [];
  for (const live of liveMiB) {
    for (const name of names) {
      const runs = [];
      let b = null, peak = 0;
      for (let r = 0; r < reps; r++) {
        b = await backend(get, name); // the last instance stays for the floor and the step count
        runs.push(steadyRun(b, { liveMiB: live, factor, seed, record: true }));
        peak = Math.max(peak, b.memory.buffer.byteLength);
      }
      const { min, grew } = perCallMin(runs.map((r) => r.times));
      const gcWork = runs[0].gcWork;
      // the 10 slowest calls (without growth) and what they did
      const order = [...min.keys()].filter((i) => !grew[i]).sort((x, y) => min[y] - min[x]).slice(0, 10);
      const slowest = order.map((i) => ({ ms: min[i], did: gcWork ? KINDS[gcWork[i]] : "unknown" }));
      const { all: noGrow, gc: work, idle } = splitCalls(min, grew, gcWork);
      // the host's floor: a call that does nothing, timed the same way as often
      const floor = floorTimes(b.noop, min.length, Math.min(reps, 3));
      rows.push({
        runtime: b.name, liveMiB: live, calls: min.length, grewCalls: runs[0].grewCalls,
        ms: median(runs.map((r) => r.ms)), memBytes: peak, memOverLive: peak / runs[0].liveBytes,
        all: quantiles(noGrow), gcWork: gcWork ? quantiles(work) : null, noWork: gcWork ? quantiles(idle) : null,
        floor: quantiles(floor),
        steps: b.steps ? b.steps() : null, slowest,
      });
      if (live === liveMiB[liveMiB.length - 1]) {
        if (name !== "asrt90") pauses[b.name] = { all: cdf(noGrow), gcWork: gcWork ? cdf(work) : null, floor: cdf(floor), liveMiB: live };
        heapSeries.push({ runtime: b.name, liveBytes: runs[0].liveBytes, points: runs[0].heap });
      }
    }
  }
  return { factor, reps, rows, pauses, heapSeries };
}

// ---- Boehm's GCBench: top-down (populate, stores with the barrier) and bottom-up trees ----------

export async function gcbench(get, { depth = 14, runs = 3 } = {}) {
  const names = ["asrt", "incremental", "stub"];
  return roundRobin(names.map((x) => (x === "asrt" ? "asrt" : `AS ${x}`)), runs, async (k) => {
    const b = await backend(get, names[k]);
    const mem = () => new Uint32Array(b.memory.buffer);
    const populate = (d, node) => { // top-down: the parent exists (and is reachable) first
      if (d <= 0) return;
      const l = b.newObj(8, b.TREE); b.setField(node, 0, l);
      const r = b.newObj(8, b.TREE); b.setField(node, 1, r);
      populate(d - 1, l); populate(d - 1, r);
    };
    const makeTree = (d) => { // bottom-up: children first, kept pinned until linked
      if (d <= 0) return b.pin(b.newObj(8, b.TREE));
      const l = makeTree(d - 1), r = makeTree(d - 1);
      const node = b.pin(b.newObj(8, b.TREE));
      b.setField(node, 0, l); b.setField(node, 1, r); b.unpin(l); b.unpin(r);
      return node;
    };
    const count = (node) => { const m = mem(); const l = m[node >>> 2]; return l === 0 ? 1 : 1 + count(l) + count(m[(node >>> 2) + 1]); };
    const longLived = b.pin(b.newObj(8, b.TREE)); populate(depth - 2, longLived);
    let t0 = performance.now();
    for (let d = 4; d <= depth; d += 2) {
      for (let i = 0, it = 2 * (1 << (depth - d)); i < it; i++) {
        const t = b.pin(b.newObj(8, b.TREE)); populate(d, t);
        if (count(t) !== 2 ** (d + 1) - 1) throw new Error(`${b.name}: GCBench top-down tree broken`);
        b.unpin(t);
      }
    }
    const topDownMs = performance.now() - t0;
    t0 = performance.now();
    for (let d = 4; d <= depth; d += 2) {
      for (let i = 0, it = 2 * (1 << (depth - d)); i < it; i++) {
        const t = makeTree(d);
        if (count(t) !== 2 ** (d + 1) - 1) throw new Error(`${b.name}: GCBench bottom-up tree broken`);
        b.unpin(t);
      }
    }
    const bottomUpMs = performance.now() - t0;
    if (count(longLived) !== 2 ** (depth - 1) - 1) throw new Error(`${b.name}: GCBench long-lived tree broken`);
    return { topDownMs, bottomUpMs };
  }, { depth, runs });
}

// ---- allocator: talc's method (bench/alloc/driver.rs), actions per µs ---------------------------

export async function alloc(get, { names = ["asrt", "talc"], runs = 10, actions = 100000 } = {}) {
  const rows = [];
  for (const name of names) {
    const { ex } = await instantiateBytes(await get(`alloc-${name}`));
    if (ex.run(0xC0FFEE, actions, 1) !== 0) throw new Error(`alloc ${name}: verification run found errors`);
    ex.run(0, actions, 0);
    const rates = [];
    for (let s = 1; s <= runs; s++) {
      const t0 = performance.now();
      const errors = ex.run(s, actions, 0);
      const us = (performance.now() - t0) * 1000;
      if (errors !== 0) throw new Error(`alloc ${name}: run ${s} found ${errors} errors`);
      rates.push(actions / us);
    }
    rows.push({ allocator: name, actionsPerUs: median(rates), min: Math.min(...rates), max: Math.max(...rates) });
  }
  return { runs, actions, rows };
}

// ---- strings: UTF-8 in and out of asrt Strings, against the host's TextEncoder/TextDecoder -------

export async function strings(get, { ms = 300 } = {}) {
  const { ex, memory } = await instantiateBytes(await get("asrt"));
  const text = "The quick brown fox jumps over the lazy dog. ".repeat(2000); // 90 KB ASCII
  const wide = "Grüße, κόσμε, 世界! ".repeat(2000);
  const rows = [];
  for (const [label, s] of [["ASCII 90 KB", text], ["non-ASCII", wide]]) {
    const bytes = new TextEncoder().encode(s);
    const ptr = ex.__alloc(bytes.length);
    new Uint8Array(memory.buffer, ptr, bytes.length).set(bytes);
    const rate = (fn) => { let n = 0; const t0 = performance.now(); let t; do { fn(); n++; } while ((t = performance.now() - t0) < ms); return (n * bytes.length) / (t * 1000); };
    const decode = rate(() => { const r = ex.__string_from_utf8(ptr, bytes.length, 1); if (!r) throw new Error("decode"); });
    const str = ex.__pin(ex.__string_from_utf8(ptr, bytes.length, 1));
    const encode = rate(() => { if (!ex.__string_to_utf8(str, 0)) throw new Error("encode"); });
    ex.__unpin(str);
    ex.__free(ptr);
    const td = new TextDecoder(), te = new TextEncoder();
    const hostDecode = rate(() => td.decode(bytes));
    const hostEncode = rate(() => te.encode(s));
    rows.push({ text: label, bytes: bytes.length, asrtDecodeMBs: decode, asrtEncodeMBs: encode, hostDecodeMBs: hostDecode, hostEncodeMBs: hostEncode });
  }
  return { ms, rows };
}

// ---- everything, in one host ------------------------------------------------------------------

export const SHORT = {
  btCompiled: { n: 12, runs: 3 }, btJs: { n: 10, runs: 3 }, btHeap: { n: 10 },
  steady: { liveMiB: [2], factor: 2, reps: 2 }, gcbench: { depth: 12, runs: 1 },
  alloc: { names: ["asrt", "talc"], runs: 5, actions: 20000 }, strings: { ms: 100 },
  asc: ASC_SHORT,
};
export const FULL = {
  btCompiled: { n: 16, runs: 5 }, btJs: { n: 14, runs: 5 }, btHeap: { n: 14 },
  steady: { liveMiB: [16, 64, 256], factor: 4, reps: 3 }, gcbench: { depth: 16, runs: 3 },
  alloc: { names: ["asrt", "talc", "rlsf", "dlmalloc", "lol_alloc"], runs: 50, actions: 100000 }, strings: { ms: 500 },
  asc: ASC_FULL,
};

export async function runAll(get, cfg, { only = null, log = () => {} } = {}) {
  const out = {};
  const steps = [
    ["btCompiled", () => btCompiled(get, cfg.btCompiled)],
    ["btJs", () => btJs(get, cfg.btJs)],
    ["btHeap", () => btHeapSeries(get, cfg.btHeap)],
    ["gcbench", () => gcbench(get, cfg.gcbench)],
    ["steady", () => steady(get, cfg.steady)],
    ["alloc", () => alloc(get, cfg.alloc)],
    ["strings", () => strings(get, cfg.strings)],
    ["asc", () => ascAll(get, cfg.asc, { log: (s) => log(s) })],
  ];
  for (const [key, fn] of steps) {
    if (only && !only.includes(key)) continue;
    const t0 = performance.now();
    out[key] = await fn();
    log(`${key}: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
  return out;
}
