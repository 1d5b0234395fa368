// Pieces the report's workload modules share (workloads.mjs, asc.mjs): instantiating a module
// with stand-in imports, the statistics of per-call times, and binary-trees' checksum. Runs in
// node and in a browser page.

export async function instantiateBytes(bytes) {
  const module = await WebAssembly.compile(bytes);
  let memory = null;
  const imports = {};
  for (const imp of WebAssembly.Module.imports(module)) {
    const ns = (imports[imp.module] ??= {});
    if (imp.kind === "memory") ns[imp.name] = memory = new WebAssembly.Memory({ initial: 32 });
    else if (imp.kind === "function") {
      ns[imp.name] = imp.name === "abort"
        ? (m, f, l, c) => { throw new Error(`abort at ${l}:${c}`); }
        : imp.name === "seed" ? () => 0x12345678 : () => 0;
    } else throw new Error(`cannot satisfy import ${imp.module}.${imp.name}`);
  }
  const instance = await WebAssembly.instantiate(module, imports);
  const ex = instance.exports;
  if (ex.memory instanceof WebAssembly.Memory) memory = ex.memory;
  if (typeof ex._start === "function") ex._start();
  return { ex, memory };
}

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length === 0 ? NaN : s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

// Sum of node counts binary-trees returns (a full tree of depth d has 2^(d+1) - 1 nodes).
export function btChecksum(n) {
  const maxDepth = Math.max(6, n);
  const nodes = (d) => 2 ** (d + 1) - 1;
  let sum = nodes(maxDepth + 1) + nodes(maxDepth);
  for (let d = 4; d <= maxDepth; d += 2) sum += 2 ** (maxDepth - d + 4) * nodes(d);
  return sum | 0;
}

// Per-call minimum over `reps` fresh runs of the same deterministic call sequence (host noise
// hits different calls in different runs; the runtime's own work is in every run).
export function perCallMin(runs) {
  const min = Float64Array.from(runs[0], Math.abs);
  const grew = Uint8Array.from(runs[0], (t) => (t < 0 ? 1 : 0));
  for (const r of runs.slice(1)) {
    if (r.length !== min.length) throw new Error("call sequences differ between runs");
    for (let i = 0; i < min.length; i++) { min[i] = Math.min(min[i], Math.abs(r[i])); if (r[i] < 0) grew[i] = 1; }
  }
  return { min, grew };
}

export function quantiles(xs) {
  const s = Float64Array.from(xs).sort();
  const q = (p) => (s.length ? s[Math.min(s.length - 1, Math.floor(p * s.length))] : NaN);
  return { count: s.length, p50: q(0.5), p99: q(0.99), p999: q(0.999), max: s.length ? s[s.length - 1] : NaN };
}

// A CDF reduced to about `points` points, in ms: [x, p] with p spaced evenly in log10(1 - p) from
// 0.05 up to 1 - 1/n (the tail is where the runtimes differ), ending at the maximum with p = 1.
export function cdf(xs, points = 300) {
  const s = Float64Array.from(xs).sort();
  const out = [];
  if (!s.length) return out;
  const deepest = Math.log10(s.length);
  for (let k = 0; k <= points; k++) {
    const p = 1 - 10 ** (-(0.02 + (deepest - 0.02) * k / points));
    const i = Math.min(s.length - 1, Math.floor(p * s.length));
    if (!out.length || out[out.length - 1][0] !== s[i] || k === points) out.push([s[i], p]);
  }
  out.push([s[s.length - 1], 1]);
  return out;
}

/**
 * Splits per-call minima (perCallMin) into the calls that did not grow memory (`all`), and by
 * `work[i]` (truthy: the call did GC work; null: unknown) into `gc` and `idle`.
 */
export function splitCalls(min, grew, work) {
  const all = [], gc = [], idle = [];
  for (let i = 0; i < min.length; i++) {
    if (grew[i]) continue;
    all.push(min[i]);
    if (work) (work[i] ? gc : idle).push(min[i]);
  }
  return { all, gc, idle };
}

/** The host's floor: `noop` called and timed `calls` times, per-call minimum over `reps` rounds. */
export function floorTimes(noop, calls, reps) {
  const runs = [];
  for (let r = 0; r < reps; r++) {
    const t = new Float64Array(calls);
    for (let i = 0; i < calls; i++) { const a = performance.now(); noop(); t[i] = performance.now() - a; }
    runs.push(t);
  }
  return perCallMin(runs).min;
}
