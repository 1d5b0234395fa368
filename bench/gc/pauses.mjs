#!/usr/bin/env node
// GC pause benchmark: keeps L MiB live in a structure of TreeNode lists and
// trees holding ArrayBuffers, rooted from a static slot, then replaces random
// units until 4 x L more bytes have been allocated. Every allocation, every
// store (with its write barrier) and every explicit GC step is timed on its
// own with performance.now().
//
//   node bench/gc/pauses.mjs [--live 16,64,256] [--factor 4] [--out FILE]
//
// Runtimes:
//   AS   AssemblyScript 0.28.20 --runtime incremental --exportRuntime, through
//        bench/as/gcwork.ts (compiled here if missing): exported __new, __pin,
//        __unpin, __collect; stores go through AS-compiled setters so AS's
//        own barrier runs. AS exports no GC step, so it has no idle variant.
//   asrt target/wasm32-unknown-unknown/release/asrt.wasm ($ASRT_WASM), raw
//        ABI exports (docs/ABI.md section 5): stores are written to
//        memory by the host, then __link(parent, child, 0).
//
// Variants (asrt; GC_VARIANTS=paced,idle,idle-eager picks them):
//   paced       the host never steps the GC; all GC work happens inside __new.
//   idle        additionally, after every frame (16 unit replacements), while a
//               cycle is under way, the host calls __gc_step until it returns
//               0 (idle) or a 1 ms budget is used.
//   idle-eager  the same in every frame, even when the collector is idle (so
//               the host starts cycles itself: near-continuous collection).
//
// Environment: GC_LIVE_MIB (list), GC_ALLOC_FACTOR, GC_SEED, GC_IDLE_BUDGET_MS,
// GC_MAX_SECONDS (per run), GC_FRAME, GC_REPS, ASRT_WASM, ASRT_TREENODE_ID
// (stopgap id while asrt lacks __id_TreeNode), ASRT_PROFILE (classic|modern,
// picks the ArrayBuffer id when the module exports no __id_ArrayBuffer),
// ASRT_GC_PAUSE / ASRT_GC_STEP (passed to __gc_configure when set).

import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { instantiate, writeReport } from "../as/host.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "..", "..");
const MiB = 1024 * 1024;

function arg(name, def) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : def;
}

// ---------------------------------------------------------------------------
// Backends: the same small interface over AS and asrt.

export const ASRT_REQUIRED = ["memory", "__new", "__link", "__pin", "__unpin", "__collect",
  "__static_slots", "__id_TreeNode"];
// Stopgaps while the layout generator is unfinished: without __static_slots
// the index root is kept alive with __pin instead; without __id_TreeNode the
// id comes from $ASRT_TREENODE_ID.
const ASRT_FALLBACK = {
  __static_slots: () => "index root pinned instead",
  __id_TreeNode: () => (process.env.ASRT_TREENODE_ID ? `id ${process.env.ASRT_TREENODE_ID} from ASRT_TREENODE_ID` : null),
};
export const ASRT_OPTIONAL = {
  __gc_step: "idle variant",
  __gc_stats: "heap statistics",
  __alloc: "heap statistics (result buffer)",
  __gc_configure: "pacing configuration",
};

export function asrtMissing(exportNames) {
  const have = new Set(exportNames);
  const absent = ASRT_REQUIRED.filter((n) => !have.has(n));
  return {
    required: absent.filter((n) => !(ASRT_FALLBACK[n] && ASRT_FALLBACK[n]())),
    fallback: absent.filter((n) => ASRT_FALLBACK[n] && ASRT_FALLBACK[n]()).map((n) => [n, ASRT_FALLBACK[n]()]),
    optional: Object.keys(ASRT_OPTIONAL).filter((n) => !have.has(n)),
  };
}

function makeASBackend(ex, memory) {
  for (const n of ["__new", "__pin", "__unpin", "__collect", "setField", "setSlot", "treeNodeId", "arrayBufferId"]) {
    if (typeof ex[n] !== "function") throw new Error(`AS module: missing export ${n}`);
  }
  return {
    memory,
    nodeId: ex.treeNodeId(),
    bufId: ex.arrayBufferId(),
    newObj: ex.__new,
    setField: ex.setField,
    setRoot: ex.setSlot,
    pin: ex.__pin,
    unpin: ex.__unpin,
    collect: ex.__collect,
    step: null,
    stats: null,
  };
}

function makeAsrtBackend(ex, memory) {
  const missing = asrtMissing(Object.keys(ex));
  if (missing.required.length) throw new Error(missing.required.map((n) => `asrt: missing export ${n}`).join("; "));
  let buf = memory.buffer;
  let u32 = new Uint32Array(buf);
  const view = () => {
    if (memory.buffer !== buf) { buf = memory.buffer; u32 = new Uint32Array(buf); }
    return u32;
  };
  const readGlobalRef = (g) => view()[g.value >>> 2];
  const slots = ex.__static_slots ? readGlobalRef(ex.__static_slots) : 0;
  const nodeId = ex.__id_TreeNode ? readGlobalRef(ex.__id_TreeNode) : Number(process.env.ASRT_TREENODE_ID);
  const pinnedRoots = new Map();
  let bufId;
  if (ex.__id_ArrayBuffer instanceof WebAssembly.Global) bufId = readGlobalRef(ex.__id_ArrayBuffer);
  else bufId = process.env.ASRT_PROFILE === "modern" ? 1 : 0;
  if (typeof ex.__typeinfo === "function") {
    const POINTERFREE = 1 << 5;
    const flags = ex.__typeinfo(bufId);
    if (!(flags & POINTERFREE)) process.stderr.write(`asrt: note: id ${bufId} used for buffers has flags ${flags} (not POINTERFREE)\n`);
  }
  if (ex.__gc_configure && (process.env.ASRT_GC_PAUSE || process.env.ASRT_GC_STEP)) {
    ex.__gc_configure(Number(process.env.ASRT_GC_PAUSE ?? 100), Number(process.env.ASRT_GC_STEP ?? 0));
  }
  const link = ex.__link;
  let statsOut = 0;
  if (ex.__gc_stats && ex.__alloc) statsOut = ex.__alloc(64);
  return {
    memory,
    nodeId,
    bufId,
    newObj: ex.__new,
    setField(parent, field, child) {
      view()[(parent >>> 2) + field] = child;
      link(parent, child, 0);
    },
    setRoot(i, ref) {
      if (!slots) {
        if (pinnedRoots.has(i)) ex.__unpin(pinnedRoots.get(i));
        if (ref) { ex.__pin(ref); pinnedRoots.set(i, ref); } else pinnedRoots.delete(i);
        return;
      }
      view()[(slots >>> 2) + i] = ref;
      link(slots, ref, 0);
    },
    pin: ex.__pin,
    unpin: ex.__unpin,
    collect: ex.__collect,
    step: typeof ex.__gc_step === "function" ? ex.__gc_step : null,
    phase: typeof ex.__gc_phase === "function" ? ex.__gc_phase : null,
    stats: statsOut ? () => {
      ex.__gc_stats(statsOut);
      const dv = new DataView(memory.buffer, statsOut, 64);
      const v = (i) => Number(dv.getBigUint64(i * 8, true));
      return { heapBytes: v(0), usedBytes: v(1), freeBytes: v(2), largestFree: v(3),
        liveObjects: v(4), collections: v(5), steps: v(6), allocatedBytes: v(7) };
    } : null,
  };
}

// ---------------------------------------------------------------------------
// Measurement helpers.

class Recorder {
  constructor() { this.t = new Float64Array(1 << 16); this.g = new Uint8Array(1 << 16); this.n = 0; }
  push(dt, grew) {
    if (this.n === this.t.length) {
      const t = new Float64Array(this.n * 2); t.set(this.t); this.t = t;
      const g = new Uint8Array(this.n * 2); g.set(this.g); this.g = g;
    }
    this.t[this.n] = dt; this.g[this.n] = grew ? 1 : 0; this.n++;
  }
  summary() {
    const all = this.t.subarray(0, this.n);
    const grew = [], calm = new Float64Array(this.n);
    let nc = 0;
    for (let i = 0; i < this.n; i++) {
      if (this.g[i]) grew.push(all[i]); else calm[nc++] = all[i];
    }
    return { all: stats(all), growth: stats(Float64Array.from(grew)), noGrowth: stats(calm.subarray(0, nc)) };
  }
}

function stats(xs) {
  const n = xs.length;
  if (n === 0) return { count: 0 };
  const s = Float64Array.from(xs).sort();
  let sum = 0;
  for (let i = 0; i < n; i++) sum += s[i];
  const q = (p) => s[Math.min(n - 1, Math.floor(p * n))];
  return { count: n, sumMs: sum, meanUs: (sum / n) * 1e3, p50Us: q(0.5) * 1e3, p99Us: q(0.99) * 1e3,
    p999Us: q(0.999) * 1e3, maxUs: s[n - 1] * 1e3, over1ms: n - lowerBound(s, 1) };
}

// index of the first element >= x in sorted s
function lowerBound(s, x) {
  let lo = 0, hi = s.length;
  while (lo < hi) { const m = (lo + hi) >>> 1; if (s[m] < x) lo = m + 1; else hi = m; }
  return lo;
}

function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Buffer payload sizes: mostly small, some medium, a few large.
const SIZE_CLASSES = [ // [probability, lo, hi)
  [0.60, 16, 128],
  [0.30, 128, 1024],
  [0.095, 1024, 8192],
  [0.005, 16384, 131072],
];
const MEAN_BUF = SIZE_CLASSES.reduce((a, [p, lo, hi]) => a + p * (lo + hi) / 2, 0);
const HDR = 16;
const NODE_BYTES = HDR + 8;
// unit kinds: 0 = list of 8 nodes, each .right -> buffer; 1 = full tree of
// depth 3 (15 nodes), each of the 8 leaves .left -> buffer.
const UNIT_MEAN = 0.5 * (8 * NODE_BYTES + 8 * (HDR + MEAN_BUF)) + 0.5 * (15 * NODE_BYTES + 8 * (HDR + MEAN_BUF));

// ---------------------------------------------------------------------------
// The workload.

function runWorkload(be, opts) {
  const { liveMiB, factor, variant, seed, idleBudgetMs, maxSeconds, frame } = opts;
  const rand = mulberry32(seed);
  const mem = be.memory;
  const NODE = be.nodeId, BUF = be.bufId;
  const rec = { new: new Recorder(), link: new Recorder(), step: new Recorder() };
  let allocated = 0; // payload bytes requested from __new

  const newObj = (size, id) => {
    const before = mem.buffer.byteLength;
    const t0 = performance.now();
    const r = be.newObj(size, id);
    const dt = performance.now() - t0;
    rec.new.push(dt, mem.buffer.byteLength !== before);
    if (r === 0) throw new Error(`__new(${size}, ${id}) returned 0`);
    allocated += size;
    return r;
  };
  const setField = (p, f, c) => {
    const before = mem.buffer.byteLength;
    const t0 = performance.now();
    be.setField(p, f, c);
    const dt = performance.now() - t0;
    rec.link.push(dt, mem.buffer.byteLength !== before);
  };
  let u32 = new Uint32Array(mem.buffer);
  const view = () => (u32.buffer === mem.buffer ? u32 : (u32 = new Uint32Array(mem.buffer)));

  const pickSize = () => {
    let r = rand();
    for (const [p, lo, hi] of SIZE_CLASSES) {
      if (r < p) return lo + Math.floor(rand() * (hi - lo));
      r -= p;
    }
    return 16;
  };

  const L = liveMiB * MiB;
  const U = Math.max(2, Math.floor(L / (UNIT_MEAN + 2 * NODE_BYTES)));
  const unitBytes = new Float64Array(U);
  const unitObjs = new Uint32Array(U);
  const unitStamp = new Uint32Array(U);
  const leaves = new Uint32Array(U);
  let indexBytes = 0, indexObjs = 0, live = 0;
  let stampSeq = 1;

  // The index: a balanced tree of TreeNodes, leaf i's .left -> unit i.
  // Every object is linked into something reachable right after it is
  // allocated (before the next __new), so no GC step can see it unreachable.
  const buildIndex = (parent, field, lo, hi) => {
    const node = newObj(8, NODE);
    if (parent === 0) be.setRoot(0, node); else setField(parent, field, node);
    indexBytes += NODE_BYTES; indexObjs++;
    if (hi - lo === 1) { leaves[lo] = node; return; }
    const mid = (lo + hi) >>> 1;
    buildIndex(node, 0, lo, mid);
    buildIndex(node, 1, mid, hi);
  };

  let cur = { bytes: 0, objs: 0, stamp: 0 };
  const newBuffer = (parent, field) => {
    const size = pickSize();
    const b = newObj(size, BUF);
    const stamp = (stampSeq++ * 2654435761) >>> 0;
    view()[b >>> 2] = stamp;
    setField(parent, field, b);
    cur.bytes += HDR + size; cur.objs++; cur.stamp = (cur.stamp + stamp) >>> 0;
  };
  const newNode = (parent, field) => {
    const n = newObj(8, NODE);
    setField(parent, field, n);
    cur.bytes += NODE_BYTES; cur.objs++;
    return n;
  };
  const fillTree = (node, depth) => {
    if (depth === 0) { newBuffer(node, 0); return; }
    fillTree(newNode(node, 0), depth - 1);
    fillTree(newNode(node, 1), depth - 1);
  };
  const replaceUnit = (i) => {
    cur = { bytes: NODE_BYTES, objs: 1, stamp: 0 };
    const unit = newObj(8, NODE);
    be.pin(unit);
    if (rand() < 0.5) {
      let n = unit;
      for (let k = 0; k < 8; k++) {
        newBuffer(n, 1);
        if (k < 7) n = newNode(n, 0);
      }
    } else {
      fillTree(unit, 3);
    }
    setField(leaves[i], 0, unit);
    be.unpin(unit);
    live += cur.bytes - unitBytes[i];
    unitBytes[i] = cur.bytes; unitObjs[i] = cur.objs; unitStamp[i] = cur.stamp;
  };

  let peakUsed = 0, peakHeap = 0;
  const sample = () => {
    if (!be.stats) return;
    const s = be.stats();
    if (s.usedBytes > peakUsed) peakUsed = s.usedBytes;
    if (s.heapBytes > peakHeap) peakHeap = s.heapBytes;
  };

  // Idle-time stepping. "idle-eager": every slice steps until the collector
  // reports idle (0) or the budget is used, so a slice that finds it idle
  // starts a new cycle. "idle": only helps cycles already under way: it steps
  // while __gc_phase() is not 0; without __gc_phase, when its own last step
  // left a cycle in progress, or when the GC step counter in __gc_stats grew
  // since its last slice (the allocator's pacing has started or advanced a
  // cycle); without either it behaves eagerly.
  let idleSteps = 0, idleSlices = 0, lastPhase = 0, lastStepCount = -1;
  const idleSlice = (eager) => {
    if (!eager && be.phase) {
      if (be.phase() === 0) return;
    } else if (!eager && be.stats) {
      const n = be.stats().steps;
      const active = lastPhase !== 0 || (lastStepCount >= 0 && n > lastStepCount);
      lastStepCount = n;
      if (!active) return;
    }
    idleSlices++;
    const start = performance.now();
    for (let k = 0; k < 100000; k++) {
      const before = mem.buffer.byteLength;
      const t0 = performance.now();
      const phase = be.step();
      const t1 = performance.now();
      rec.step.push(t1 - t0, mem.buffer.byteLength !== before);
      idleSteps++;
      lastPhase = phase;
      if (phase === 0 || t1 - start >= idleBudgetMs) break;
    }
    if (!eager && !be.phase && be.stats) lastStepCount = be.stats().steps;
  };

  // Build phase.
  const tBuild = performance.now();
  buildIndex(0, 0, 0, U);
  live = indexBytes;
  for (let i = 0; i < U; i++) replaceUnit(i);
  const buildMs = performance.now() - tBuild;
  const buildAllocated = allocated;
  const buildNew = rec.new.summary().all; // build-phase calls, reported apart
  rec.new = new Recorder(); rec.link = new Recorder();
  sample();
  const statsAfterBuild = be.stats ? be.stats() : null;

  // Steady state.
  const target = factor * L;
  const t0 = performance.now();
  let frames = 0, timedOut = false;
  while (allocated - buildAllocated < target) {
    for (let k = 0; k < frame; k++) replaceUnit(Math.floor(rand() * U));
    if (variant === "idle" || variant === "idle-eager") idleSlice(variant === "idle-eager");
    if ((frames & 15) === 0) sample();
    frames++;
    if (performance.now() - tBuild > maxSeconds * 1000) { timedOut = true; break; }
  }
  const steadyMs = performance.now() - t0;
  const steadyAllocated = allocated - buildAllocated;
  sample();
  const memBeforeCollect = mem.buffer.byteLength;
  const statsBeforeCollect = be.stats ? be.stats() : null;

  const tc = performance.now();
  be.collect();
  const collectMs = performance.now() - tc;
  const statsAfterCollect = be.stats ? be.stats() : null;

  // Verify the live structure survived intact: object ids, buffer sizes
  // (rtSize) and the stamp written into each buffer's first word.
  let verifyErrors = 0, firstError = null;
  let expectedObjs = indexObjs;
  const v = view();
  for (let i = 0; i < U; i++) {
    expectedObjs += unitObjs[i];
    const rootRef = v[leaves[i] >>> 2];
    const stack = [rootRef];
    let objs = 0, bytes = 0, stamp = 0, bad = false;
    while (stack.length) {
      const r = stack.pop();
      if (r === 0) continue;
      if ((r & 15) !== 0 || r >= v.byteLength) { bad = true; break; }
      const id = v[(r - 8) >>> 2];
      const size = v[(r - 4) >>> 2];
      if (++objs > 64) { bad = true; break; }
      if (id === NODE && size === 8) { bytes += NODE_BYTES; stack.push(v[r >>> 2], v[(r >>> 2) + 1]); }
      else if (id === BUF) { bytes += HDR + size; stamp = (stamp + v[r >>> 2]) >>> 0; }
      else { bad = true; break; }
    }
    if (bad || objs !== unitObjs[i] || bytes !== unitBytes[i] || stamp !== unitStamp[i]) {
      verifyErrors++;
      firstError ??= `unit ${i}: ${bad ? "bad ref/header" : `objs ${objs}/${unitObjs[i]}, bytes ${bytes}/${unitBytes[i]}, stamp mismatch ${stamp !== unitStamp[i]}`}`;
    }
  }

  // Noise floor: the same timing around a call that does nothing
  // (__pin(0) returns 0 in both runtimes), as many times as __new was called.
  const floor = new Recorder();
  const nFloor = Math.min(rec.new.n, 2000000);
  for (let i = 0; i < nFloor; i++) {
    const t0 = performance.now();
    be.pin(0);
    floor.push(performance.now() - t0, false);
  }

  return {
    noiseFloor: floor.summary().all,
    units: U, liveBytes: live, liveObjects: expectedObjs,
    buildMs, buildAllocated, buildNew,
    steadyMs, steadyAllocated, frames, timedOut, idleSteps, idleSlices,
    throughputMBs: steadyAllocated / MiB / (steadyMs / 1000),
    pauses: { new: rec.new.summary(), link: rec.link.summary(), step: rec.step.summary() },
    collectMs,
    memBytes: memBeforeCollect, memAfterCollect: mem.buffer.byteLength,
    peakUsed, peakHeap, statsAfterBuild, statsBeforeCollect, statsAfterCollect,
    verifyErrors, firstError,
  };
}

// ---------------------------------------------------------------------------
// Child mode: one (runtime, variant, L) in a fresh process.

if (process.argv[2] === "--child") {
  const [, , , runtime, wasmPath, variant, liveMiB, factor] = process.argv;
  const opts = {
    liveMiB: Number(liveMiB), factor: Number(factor), variant,
    seed: Number(process.env.GC_SEED ?? 12345),
    idleBudgetMs: Number(process.env.GC_IDLE_BUDGET_MS ?? 1),
    maxSeconds: Number(process.env.GC_MAX_SECONDS ?? 180),
    frame: Number(process.env.GC_FRAME ?? 16),
  };
  let result;
  try {
    const { exports, memory } = await instantiate(wasmPath);
    const be = runtime === "asrt" ? makeAsrtBackend(exports, memory) : makeASBackend(exports, memory);
    if (variant.startsWith("idle") && !be.step) throw new Error(`${runtime}: missing export __gc_step`);
    result = { ok: true, ...runWorkload(be, opts) };
  } catch (e) {
    result = { ok: false, error: String(e && e.message ? e.message : e) };
  }
  process.stdout.write(JSON.stringify(result) + "\n");
  process.exit(0);
}

// ---------------------------------------------------------------------------
// Parent mode.

const lives = String(arg("live", process.env.GC_LIVE_MIB ?? "16,64,256")).split(",").map(Number).filter((x) => x > 0);
const factor = Number(arg("factor", process.env.GC_ALLOC_FACTOR ?? 4));
const outFile = arg("out", null);
const wasmDir = resolve(arg("wasm-dir", process.env.BT_WASM_DIR ?? join(root, "bench", "out", "wasm")));
const maxSeconds = Number(process.env.GC_MAX_SECONDS ?? 180);
const asrtVariants = String(process.env.GC_VARIANTS ?? "paced,idle").split(",").filter(Boolean);
const reps = Math.max(1, Number(arg("reps", process.env.GC_REPS ?? 3)));

// Combines repetitions: every number becomes the median over the runs, except
// `worst*` fields (added here: the largest max) and error counts (the sum).
function medianOf(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
function combine(runs) {
  const walk = (vals) => {
    const v0 = vals[0];
    if (typeof v0 === "number") return medianOf(vals);
    if (v0 && typeof v0 === "object") {
      const o = {};
      for (const k of Object.keys(v0)) o[k] = walk(vals.map((v) => (v ? v[k] : undefined)).filter((x) => x !== undefined));
      return o;
    }
    return v0;
  };
  const c = walk(runs);
  c.verifyErrors = runs.reduce((a, r) => a + r.verifyErrors, 0);
  c.firstError = runs.map((r) => r.firstError).find(Boolean) ?? null;
  c.timedOut = runs.some((r) => r.timedOut);
  const worst = (f) => Math.max(...runs.map(f).filter((x) => x !== undefined));
  c.worstNewMaxUs = worst((r) => r.pauses.new.all.maxUs);
  c.worstStepMaxUs = runs[0].pauses.step.all.count ? worst((r) => r.pauses.step.all.maxUs) : undefined;
  c.reps = runs.length;
  return c;
}

function compileGcwork() {
  const src = join(root, "bench", "as", "gcwork.ts");
  const dst = join(wasmDir, "gcwork-as-incremental.wasm");
  if (!(existsSync(dst) && statSync(dst).mtimeMs >= statSync(src).mtimeMs)) {
    mkdirSync(wasmDir, { recursive: true });
    const r = spawnSync(join(root, "node_modules", ".bin", "asc"),
      [src, "-O3", "--runtime", "incremental", "--exportRuntime", "--noAssert", "-o", dst],
      { cwd: root, stdio: ["ignore", "inherit", "inherit"] });
    if (r.status !== 0) throw new Error("asc failed for gcwork.ts");
  }
  return dst;
}

const notes = [];
const configs = [{ runtime: "AS", label: "AS 0.28.20 incremental", path: compileGcwork(), variants: ["paced"] }];

const asrtPath = resolve(process.env.ASRT_WASM ?? join(root, "target", "wasm32-unknown-unknown", "release", "asrt.wasm"));
if (!existsSync(asrtPath)) {
  notes.push(`asrt: not built (${relative(root, asrtPath)} does not exist)`);
} else {
  let names = [];
  try {
    names = WebAssembly.Module.exports(new WebAssembly.Module(readFileSync(asrtPath))).map((e) => e.name);
  } catch (e) {
    notes.push(`asrt: cannot compile ${relative(root, asrtPath)}: ${e.message}`);
  }
  if (names.length) {
    const missing = asrtMissing(names);
    for (const n of missing.required) notes.push(`asrt: missing export ${n}`);
    for (const [n, how] of missing.fallback) notes.push(`asrt: missing export ${n} (stopgap: ${how})`);
    for (const n of missing.optional) notes.push(`asrt: missing export ${n} (${ASRT_OPTIONAL[n]} skipped)`);
    if (!missing.required.length) {
      configs.push({ runtime: "asrt", label: "asrt", path: asrtPath,
        variants: missing.optional.includes("__gc_step") ? ["paced"] : asrtVariants });
    }
  }
}
for (const n of notes) console.error(n);

const results = [];
for (const L of lives) {
  for (const c of configs) {
    for (const variant of c.variants) {
      const t = performance.now();
      const runs = [];
      let failure = null;
      for (let rep = 0; rep < reps && !failure; rep++) {
        const r = spawnSync(process.execPath,
          [fileURLToPath(import.meta.url), "--child", c.runtime, c.path, variant, String(L), String(factor)],
          { encoding: "utf8", maxBuffer: 1 << 24, timeout: (maxSeconds + 120) * 1000 });
        let res;
        try { res = JSON.parse(r.stdout.trim().split("\n").pop()); }
        catch { res = { ok: false, error: `child failed (status ${r.status}, signal ${r.signal}): ${(r.stderr || "").trim().split("\n").slice(-3).join(" ")}` }; }
        if (r.stderr && r.stderr.trim()) process.stderr.write(r.stderr);
        if (res.ok) runs.push(res); else failure = res;
      }
      const res = failure ?? { ok: true, ...combine(runs) };
      results.push({ L, label: c.label, variant, ...res });
      console.error(`${c.label} ${variant} L=${L} MiB: ${res.ok
        ? `${res.throughputMBs.toFixed(0)} MB/s, __new max ${(res.pauses.new.all.maxUs / 1e3).toFixed(2)} ms (worst ${(res.worstNewMaxUs / 1e3).toFixed(2)}), mem ${(res.memBytes / MiB).toFixed(0)} MiB, verify errors ${res.verifyErrors}`
        : res.error} (${reps} runs, ${((performance.now() - t) / 1000).toFixed(1)} s)`);
    }
  }
}

// ---------------------------------------------------------------------------
// Report.

const us = (x) => (x === undefined ? "–" : x >= 1000 ? `${(x / 1000).toFixed(2)} ms` : `${x.toFixed(1)} µs`);
const ratio = (a, b) => (a && b ? (a / b).toFixed(2) : "–");
const mib = (x) => (x ? (x / MiB).toFixed(1) : "–");
const lines = [];
lines.push(`## GC pauses: steady-state replacement, ${factor} × live allocated`);
lines.push("");
lines.push(`node ${process.version}. Live set: index tree of TreeNodes rooted in a static slot, units of 8-node lists or ` +
  `15-node trees holding ArrayBuffers (60% 16–128 B, 30% 128–1024 B, 9.5% 1–8 KiB, 0.5% 16–128 KiB); ` +
  `random units replaced (allocate, link in, drop old) until ${factor} × live bytes allocated. ` +
  `Every \`__new\`, every store + barrier (\`link\`) and every host \`__gc_step\` is timed alone with performance.now() ` +
  `(includes ~0.1 µs JS↔wasm call overhead). Variant \`paced\`: the host never steps the GC; \`idle\`: after every frame of ` +
  `16 replacements, if a cycle is under way (its last step returned non-zero, or \`__gc_stats\`' step count grew), the host calls ` +
  `\`__gc_step\` until it returns 0 or a 1 ms budget is used; \`idle-eager\`: the same in every frame (starts cycles itself). ` +
  `Live = Σ(16 B header + payload) of reachable objects, excluding allocator rounding. ` +
  `Each configuration runs ${reps}× in fresh node processes; every figure is the median over the runs, ` +
  `except "worst max" (the largest over all runs). "Noise floor" times a no-op export call (\`__pin(0)\`) the same way: ` +
  `pauses near it are the host (JIT, OS scheduling), not the GC. Throughput includes the JS driver's cost per object.`);
lines.push("");
for (const n of notes) lines.push(`- ${n}`);
if (notes.length) lines.push("");

const ok = results.filter((r) => r.ok);
const failed = results.filter((r) => !r.ok);

lines.push("### Pauses (steady state)");
lines.push("");
lines.push("| runtime | variant | live MiB | `__new` calls | `__new` p50 | `__new` p99 | `__new` p99.9 | `__new` max | `__new` worst max | `__new` ≥ 1 ms | link p99 | link max | `__gc_step` calls | step p99 | step max | step worst max | final `__collect` | noise floor p99.9 / max |");
lines.push("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
for (const r of ok) {
  const p = r.pauses;
  lines.push(`| ${r.label} | ${r.variant} | ${r.L} | ${p.new.all.count} | ${us(p.new.all.p50Us)} | ${us(p.new.all.p99Us)} | ${us(p.new.all.p999Us)} | ${us(p.new.all.maxUs)} | ${us(r.worstNewMaxUs)} | ${p.new.all.over1ms} | ` +
    `${us(p.link.all.p99Us)} | ${us(p.link.all.maxUs)} | ${p.step.all.count || "–"} | ${us(p.step.all.p99Us)} | ${us(p.step.all.maxUs)} | ${us(r.worstStepMaxUs)} | ` +
    `${r.collectMs.toFixed(1)} ms | ${us(r.noiseFloor.p999Us)} / ${us(r.noiseFloor.maxUs)} |`);
}
lines.push("");
lines.push("### Pauses in calls that grew memory vs calls that did not");
lines.push("");
lines.push("A call \"grew\" when `memory.buffer.byteLength` differs before and after it.");
lines.push("");
lines.push("| runtime | variant | live MiB | `__new` that grew: count | max | `__new` no growth: p99 | max | `__gc_step` that grew: count | max | `__gc_step` no growth: max |");
lines.push("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
for (const r of ok) {
  const n = r.pauses.new, s = r.pauses.step;
  lines.push(`| ${r.label} | ${r.variant} | ${r.L} | ${n.growth.count} | ${us(n.growth.maxUs)} | ${us(n.noGrowth.p99Us)} | ${us(n.noGrowth.maxUs)} | ` +
    `${s.all.count ? s.growth.count : "–"} | ${us(s.growth.maxUs)} | ${us(s.noGrowth.maxUs)} |`);
}
lines.push("");
lines.push("### Memory and throughput");
lines.push("");
lines.push("| runtime | variant | live MiB | objects live | allocated MiB (steady) | throughput MB/s | build s | wasm memory MiB | memory / live | peak heap / live | peak used / live | used after `__collect` / live | live objs (stats/expected) | collections | verified |");
lines.push("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |");
for (const r of ok) {
  const sa = r.statsAfterCollect, sb = r.statsBeforeCollect;
  lines.push(`| ${r.label} | ${r.variant} | ${mib(r.liveBytes)} | ${r.liveObjects} | ${mib(r.steadyAllocated)} | ${r.throughputMBs.toFixed(0)} | ${(r.buildMs / 1000).toFixed(1)} | ` +
    `${mib(r.memBytes)} | ${ratio(r.memBytes, r.liveBytes)} | ${ratio(r.peakHeap, r.liveBytes)} | ${ratio(r.peakUsed, r.liveBytes)} | ` +
    `${sa ? ratio(sa.usedBytes, r.liveBytes) : "–"} | ${sa ? `${sa.liveObjects}/${r.liveObjects}` : "–"} | ${sb ? sb.collections : "–"} | ` +
    `${r.verifyErrors ? `**${r.verifyErrors} units corrupted** (${r.firstError})` : "ok"}${r.timedOut ? " (time limit hit: partial)" : ""} |`);
}
lines.push("");
if (failed.length) {
  lines.push("### Failed runs");
  lines.push("");
  for (const r of failed) lines.push(`- ${r.label} ${r.variant} L=${r.L} MiB: ${r.error}`);
  lines.push("");
}
const md = lines.join("\n");
writeReport(md, outFile);
