// The report's AssemblyScript workloads (issue 11): the same AssemblyScript sources (bench/as/*.ts)
// compiled by js/asc.mjs and run on asrt (`instantiateAssemblyScript` with the `assemblyscript`
// build), and compiled by plain asc with `--runtime incremental` and `--runtime stub`. Runs
// unchanged in node and in a browser page, like workloads.mjs: `get(name)` supplies module bytes.
//
// Modules by name (bench/as/build.mjs and bench/run-all.sh build them):
//   asc-runtime              asrt built with the cargo feature `assemblyscript` (ASRT_WASM_ASC)
//   as-<program>-<runtime>   bench/as/<program>.ts for runtime asrt | incremental | stub (the
//                            workload liveFlat runs as-live-*)
//
// Every workload is a deterministic sequence of exported calls. Time: the whole sequence, untimed
// per call, a fresh instance per run, runs interleaved across runtimes (median). Pauses: the same
// sequence again with every call timed, each call's minimum over `reps` fresh runs (issue 10's
// method: host noise hits different calls in different runs); asrt's calls are split by whether
// they did GC work (the step counter of `__gc_stats` moved or `__gc_phase` changed), and a call
// of the program's `nop` export, timed as often, gives the host's floor.
import { instantiateAssemblyScript } from "../../js/loader.mjs";
import { instantiateBytes, median, btChecksum, perCallMin, quantiles, cdf, splitCalls, floorTimes } from "./common.mjs";

const MiB = 1024 * 1024;
// __gc_stats writes 64 bytes here: the bottom of asrt's own stack region, which no frame uses
// between calls (the heap inspector reads its figures the same way).
const STATS_OUT = 256;

export const ASC_RUNTIMES = ["asrt", "incremental", "stub"];
export const ASC_LABELS = { asrt: "asrt (AS program)", incremental: "AS incremental", stub: "AS stub" };

/** An instance of `as-<program>-<runtime>`: raw program exports, memory, and asrt's counters. */
export async function ascInstance(get, program, runtime, cache = {}) {
  const bytes = await get(`as-${DRIVERS[program]?.module ?? program}-${runtime}`);
  if (runtime !== "asrt") {
    const { ex, memory } = await instantiateBytes(bytes);
    return { name: ASC_LABELS[runtime], ex, memory, steps: null, phase: null };
  }
  cache.runtime ??= await WebAssembly.compile(await get("asc-runtime"));
  const { exports, runtime: rt } = await instantiateAssemblyScript(bytes, {}, { runtime: cache.runtime });
  // the program's raw exports (the loader's wrappers keep them as `.original`)
  const ex = {};
  for (const [k, v] of Object.entries(exports)) ex[k] = typeof v === "function" && v.original ? v.original : v;
  const stats = new BigUint64Array(8);
  return {
    name: ASC_LABELS.asrt, ex, memory: rt.memory, runtime: rt,
    steps: () => { rt.__gc_stats(STATS_OUT); return Number(new BigUint64Array(rt.memory.buffer, STATS_OUT, 8)[6]); },
    phase: () => rt.__gc_phase(),
    stats: () => { rt.__gc_stats(STATS_OUT); stats.set(new BigUint64Array(rt.memory.buffer, STATS_OUT, 8)); return stats; },
  };
}

// ---- the workloads: a sequence of calls through `call(f, arg)` ----------------------------------

export const DRIVERS = {
  binarytrees: {
    label: (c) => `binary-trees n=${c.n}`,
    run(ex, c, call) {
      const maxDepth = Math.max(6, c.n);
      let sum = call(ex.begin, c.n);
      for (let d = 4; d <= maxDepth; d += 2) {
        for (let i = 0, it = 1 << (maxDepth - d + 4); i < it; i++) sum += call(ex.tree, d);
      }
      return (sum + call(ex.end)) | 0;
    },
    expect: (c) => btChecksum(c.n),
  },
  strings: {
    label: (c) => `strings ${c.calls} documents`,
    run(ex, c, call) {
      ex.setup(c.keep);
      let sum = 0;
      for (let i = 0; i < c.calls; i++) sum += call(ex.step, i);
      return sum;
    },
  },
  mapset: {
    label: (c) => `Map/Set ${c.calls}x${c.ops} ops`,
    run(ex, c, call) {
      ex.setup(c.keys, 7);
      let sum = 0;
      for (let i = 0; i < c.calls; i++) sum += call(ex.step, c.ops);
      return sum;
    },
  },
  live: {
    label: (c) => `${c.liveMiB} MiB live, churn${c.perBucket ? "" : " (one flat array)"}`,
    run(ex, c, call, info) {
      // a Unit is about 430 bytes (bench/as/live.ts); replacing `k` per call allocates ~1.7 KB
      const units = Math.round((c.liveMiB * MiB) / 432);
      // perBucket 0: every Unit in one Array (a single object with that many references)
      const live = ex.fill(units, c.perBucket || units, 11);
      if (info) info.liveBytes = live;
      const calls = Math.ceil((c.factor * live) / (c.k * 432));
      let sum = 0;
      for (let i = 0; i < calls; i++) sum += call(ex.churn, c.k);
      if (info) info.liveAfter = ex.live();
      return sum;
    },
  },
};

// the same program and calls as `live`, its Units held by one flat Array<Unit> (perBucket 0)
DRIVERS.liveFlat = { ...DRIVERS.live, module: "live" };

const plain = (f, a) => f(a);

function timedCaller(inst, times, work) {
  const { memory, steps, phase } = inst;
  let grew = 0;
  const call = (f, a) => {
    const s0 = steps ? steps() : 0, p0 = phase ? phase() : 0;
    const len0 = memory.buffer.byteLength;
    const t = performance.now();
    const r = f(a);
    const dt = performance.now() - t;
    if (memory.buffer.byteLength !== len0) { times.push(-dt); grew++; } else times.push(dt);
    if (steps) work.push(steps() !== s0 || phase() !== p0 ? 1 : 0);
    return r;
  };
  call.grew = () => grew;
  return call;
}

/**
 * One workload on every runtime: `runs` untimed runs each (interleaved) for the time and memory,
 * then `reps` runs with every call timed on asrt and AS incremental for the pauses.
 */
export async function ascWorkload(get, program, cfg, { runtimes = ASC_RUNTIMES, pauseRuntimes = ["asrt", "incremental"], log = () => {} } = {}) {
  const d = DRIVERS[program];
  const cache = {};
  const samples = Object.fromEntries(runtimes.map((r) => [r, []]));
  let reference = null;
  const check = (rt, result) => {
    const want = d.expect ? d.expect(cfg) : reference;
    if (want !== null && result !== want) throw new Error(`${program} on ${rt}: result ${result}, expected ${want}`);
    if (reference === null) reference = result;
  };
  for (let r = 0; r < (cfg.runs ?? 0); r++) {
    for (const rt of runtimes) {
      const inst = await ascInstance(get, program, rt, cache);
      const info = {};
      const t0 = performance.now();
      const result = d.run(inst.ex, cfg, plain, info);
      const ms = performance.now() - t0;
      check(rt, result);
      samples[rt].push({ ms, memBytes: inst.memory.buffer.byteLength, liveBytes: info.liveBytes ?? null });
    }
  }
  const rows = [];
  for (const rt of runtimes) {
    const s = samples[rt];
    const row = { runtime: ASC_LABELS[rt], key: rt };
    if (s.length) {
      const ms = s.map((x) => x.ms);
      Object.assign(row, { ms: median(ms), minMs: Math.min(...ms), maxMs: Math.max(...ms), memBytes: Math.max(...s.map((x) => x.memBytes)) });
    }
    if (pauseRuntimes.includes(rt) && (cfg.reps ?? 0) > 0) {
      const runs = [];
      let inst = null, work = null, grewCalls = 0, liveBytes = null, ms = [];
      for (let k = 0; k < cfg.reps; k++) {
        inst = await ascInstance(get, program, rt, cache);
        const times = [], w = [];
        const call = timedCaller(inst, times, w);
        const info = {};
        const t0 = performance.now();
        check(rt, d.run(inst.ex, cfg, call, info));
        ms.push(performance.now() - t0);
        runs.push(times);
        if (k === 0) { work = inst.steps ? w : null; grewCalls = call.grew(); liveBytes = info.liveBytes ?? null; }
        row.memBytes = Math.max(row.memBytes ?? 0, inst.memory.buffer.byteLength);
      }
      const { min, grew } = perCallMin(runs);
      const { all, gc, idle } = splitCalls(min, grew, work);
      // the host's floor: the program's nop, called and timed as often
      const floor = floorTimes(inst.ex.nop, min.length, Math.min(cfg.reps, 3));
      if (row.ms === undefined) Object.assign(row, { ms: median(ms), minMs: Math.min(...ms), maxMs: Math.max(...ms) });
      Object.assign(row, {
        calls: min.length, grewCalls,
        pauses: { all: quantiles(all), gcWork: work ? quantiles(gc) : null, noWork: work ? quantiles(idle) : null, floor: quantiles(floor) },
        cdf: { all: cdf(all), gcWork: work ? cdf(gc) : null, floor: cdf(floor) },
      });
      if (liveBytes !== null) { row.liveBytes = liveBytes; row.memOverLive = row.memBytes / liveBytes; }
    }
    rows.push(row);
  }
  log(`asc ${program}: ${rows.map((r) => `${r.runtime} ${r.ms?.toFixed(0)} ms`).join(", ")}`);
  return { program, label: d.label(cfg), config: cfg, result: reference, rows };
}

export const ASC_SHORT = {
  binarytrees: { n: 12, runs: 3, reps: 2 },
  strings: { calls: 3000, keep: 256, runs: 3, reps: 2 },
  mapset: { calls: 600, ops: 100, keys: 5000, runs: 3, reps: 2 },
  live: { liveMiB: 4, perBucket: 256, k: 4, factor: 2, runs: 0, reps: 2 },
  liveFlat: { liveMiB: 4, perBucket: 0, k: 4, factor: 1, runs: 0, reps: 1 },
};
export const ASC_FULL = {
  binarytrees: { n: 16, runs: 5, reps: 3 },
  strings: { calls: 40000, keep: 1024, runs: 5, reps: 3 },
  mapset: { calls: 8000, ops: 100, keys: 50000, runs: 5, reps: 3 },
  live: { liveMiB: 64, perBucket: 256, k: 4, factor: 2, runs: 0, reps: 3 },
  liveFlat: { liveMiB: 64, perBucket: 0, k: 4, factor: 1, runs: 0, reps: 2 },
};

/** Every AssemblyScript workload (`only`: a subset of DRIVERS' keys). */
export async function ascAll(get, cfg, { only = null, log = () => {} } = {}) {
  const out = {};
  for (const program of Object.keys(DRIVERS)) {
    if (only && !only.includes(program)) continue;
    if (!cfg[program]) continue;
    const t0 = performance.now();
    // the live workload measures pauses on asrt and AS incremental only (the stub never frees)
    const opts = DRIVERS[program].run === DRIVERS.live.run ? { runtimes: ["asrt", "incremental"], log } : { log };
    out[program] = await ascWorkload(get, program, cfg[program], opts);
    log(`asc ${program}: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
  return out;
}
