// Writes the report's files from the results of bench/report/run.mjs: results.json, report.md
// and the SVG plots. `writeOutputs(results, dir)` returns { expected: [file names] }.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, totalmem, loadavg, hostname } from "node:os";
import { join } from "node:path";
import { bars, lines } from "./svg.mjs";

const MiB = 1024 * 1024;
const f1 = (x) => (x == null || Number.isNaN(x) ? "–" : x.toFixed(1));
const f2 = (x) => (x == null || Number.isNaN(x) ? "–" : x.toFixed(2));
const us = (ms) => (ms == null || Number.isNaN(ms) ? "–" : `${(ms * 1000).toFixed(ms < 0.01 ? 1 : 0)} µs`);
const row = (cells) => `| ${cells.join(" | ")} |`;
const find = (rows, rt) => rows?.find((r) => r.runtime === rt);

export const PLOTS = ["time.svg", "pauses-cdf.svg", "heap-binarytrees.svg", "heap-steady.svg", "sizes.svg", "alloc.svg"];

function timePlot(res) {
  const groups = [];
  for (const [host, r] of [["node", res.node], ["Chromium", res.chromium]]) {
    if (!r) continue;
    if (r.btCompiled) groups.push({ label: `binary-trees n=${r.btCompiled.n}, compiled (${host})`, values: r.btCompiled.rows.map((x) => ({ name: x.runtime, value: x.ms })) });
    if (r.btJs) groups.push({ label: `binary-trees n=${r.btJs.n}, from JS (${host})`, values: r.btJs.rows.map((x) => ({ name: x.runtime, value: x.ms })) });
    if (r.gcbench) {
      groups.push({ label: `GCBench top-down d=${r.gcbench.depth} (${host})`, values: r.gcbench.rows.map((x) => ({ name: x.runtime, value: x.topDownMs })) });
      groups.push({ label: `GCBench bottom-up d=${r.gcbench.depth} (${host})`, values: r.gcbench.rows.map((x) => ({ name: x.runtime, value: x.bottomUpMs })) });
    }
    if (r.steady) {
      for (const live of [...new Set(r.steady.rows.map((x) => x.liveMiB))]) {
        groups.push({ label: `steady replacement ${live} MiB (${host})`, values: r.steady.rows.filter((x) => x.liveMiB === live).map((x) => ({ name: x.runtime, value: x.ms })) });
      }
    }
    for (const w of Object.values(r.asc ?? {})) {
      const values = w.rows.filter((x) => x.ms != null).map((x) => ({ name: x.runtime, value: x.ms }));
      if (values.length) groups.push({ label: `AS program: ${w.label} (${host})`, values });
    }
  }
  return bars({ title: "Time per runtime per workload (median ms, lower is better; scaled per workload)", unit: "ms", groups, perGroup: true, width: 900 });
}

// The CDF on a probability axis in "nines" (y = -log10(1 - p)), so that the tail shows: the
// p = 1 point (the maximum) is drawn at 1 - 1/(2n) for a series of n calls.
function pausePlot(res) {
  const p = res.node.steady?.pauses ?? {};
  const live = Object.values(p)[0]?.liveMiB;
  const count = (rt, key) => res.node.steady.rows.find((r) => r.runtime === rt && r.liveMiB === live)?.[key]?.count ?? 1e6;
  const nines = (pts, n) => pts.map(([x, y]) => [x * 1000, -Math.log10(Math.max(1 - y, 0.5 / n))]);
  const series = [];
  if (p.asrt?.gcWork) series.push({ name: "asrt: __new that did GC work", points: nines(p.asrt.gcWork, count("asrt", "gcWork")) });
  if (p.asrt) series.push({ name: "asrt: every __new", points: nines(p.asrt.all, count("asrt", "all")), dash: "5 3" });
  const asInc = p["AS incremental"];
  if (asInc) series.push({ name: "AS incremental: every __new", points: nines(asInc.all, count("AS incremental", "all")) });
  if (p.asrt) series.push({ name: "host floor (no-op call)", points: nines(p.asrt.floor, count("asrt", "floor")), dash: "2 2" });
  // the AssemblyScript program that keeps a live set and allocates in small calls (asc.mjs)
  const w = res.node.asc?.live;
  const wa = w && ascRow(w, "asrt"), wi = w && ascRow(w, "incremental");
  if (wa?.cdf?.gcWork) series.push({ name: `asrt, AS program: GC-work calls`, points: nines(wa.cdf.gcWork, wa.pauses.gcWork.count) });
  if (wa?.cdf) series.push({ name: `asrt, AS program: every call`, points: nines(wa.cdf.all, wa.pauses.all.count), dash: "5 3" });
  if (wi?.cdf) series.push({ name: `AS inc., AS program: every call`, points: nines(wi.cdf.all, wi.pauses.all.count) });
  const wf = ascRow(res.node.asc?.liveFlat, "asrt");
  if (wf?.cdf) series.push({ name: `asrt, AS program, flat array: every call`, points: nines(wf.cdf.all, wf.pauses.all.count), dash: "2 4" });
  return lines({
    title: `Pause CDF (node): steady replacement from JS at ${live} MiB live${w ? `; AS program churn at ${w.config.liveMiB} MiB live` : ""}`,
    xLabel: "call time, µs (log; per-call minimum over fresh runs; calls that grew memory excluded)",
    yLabel: "fraction of calls ≤ x", series, logX: true,
    yFormat: (t) => (t === 0 ? "0" : String(+(1 - 10 ** -t).toFixed(Math.round(t)))), xFormat: (x) => String(+x.toPrecision(2)),
  });
}

function heapPlot(title, seriesIn, hlines = []) {
  const series = [];
  for (const s of seriesIn) {
    series.push({ name: `${s.runtime}: wasm memory`, points: s.points.map((p) => [p[0], p[1] / MiB]) });
    if (s.points.some((p) => p[2] != null)) series.push({ name: `${s.runtime}: used bytes`, points: s.points.map((p) => [p[0], p[2] / MiB]), dash: "5 3" });
  }
  return lines({ title, xLabel: "time (ms)", yLabel: "MiB", series, hlines });
}

function sizePlot(sizes) {
  // of the AssemblyScript programs' sizes only asrt's runtime for them (the rest: the report's table)
  const groups = (sizes?.modules ?? []).filter((m) => !m.asc || m.asc.runtime === "asrt-runtime").map((m) => ({ label: m.name, values: [{ name: "raw", value: m.raw / 1024 }, ...(m.oz ? [{ name: "wasm-opt -Oz", value: m.oz / 1024 }] : [])] }));
  return bars({ title: "Module sizes (KB; lower is better)", unit: "KB", groups });
}

function allocPlot(res) {
  const groups = [];
  for (const [host, r] of [["node", res.node], ["Chromium", res.chromium]]) {
    if (r?.alloc) groups.push({ label: `talc's method (${host})`, values: r.alloc.rows.map((x) => ({ name: x.allocator, value: x.actionsPerUs })) });
  }
  return bars({ title: "Allocator throughput (actions/µs, median; higher is better)", unit: "actions/µs", groups });
}

// Issue 10's goals, each { goal, figure, met } (met null: not measured by this report).
export function goals(res) {
  const n = res.node, out = [];
  const js = n.btJs?.rows;
  if (js) {
    const a = find(js, "asrt").minMs, i = find(js, "AS incremental").minMs, s = find(js, "AS stub").minMs;
    const ratio = (a - s) / (i - s);
    out.push({ goal: "JS-driven binary-trees: asrt's time above the stub's at most half of AS incremental's", figure: `(asrt − stub) / (AS inc − stub) = ${f2(ratio)} (fastest runs: asrt ${f1(a)}, AS inc ${f1(i)}, stub ${f1(s)} ms, n=${n.btJs.n})`, met: ratio <= 0.5 });
  }
  const bc = n.btCompiled?.rows;
  if (bc) {
    const a = find(bc, "asrt").minMs, s = find(bc, "AS stub").minMs;
    out.push({ goal: "Compiled binary-trees within 1.3x of the stub", figure: `${f2(a / s)}x (fastest runs: asrt ${f1(a)}, stub ${f1(s)} ms, n=${n.btCompiled.n})`, met: a / s <= 1.3 });
  }
  const cPlain = bc && find(bc, "asrt, C (plain link)"), rustApi = bc && find(bc, "asrt");
  if (cPlain && rustApi) {
    const lto = find(bc, "asrt, C (LTO)");
    const r = cPlain.minMs / rustApi.minMs;
    out.push({ goal: "Exported __new/__link path within 10% of the inlined Rust API", figure: `C binary-trees on the SDK (exported __new, inline barrier) ${f2(r)}x the Rust API${lto ? `, LTO ${f2(lto.minMs / rustApi.minMs)}x` : ""} (fastest runs; bench/icount/run.sh counts instructions without the machine's noise)`, met: r <= 1.1 });
  } else {
    out.push({ goal: "Exported __new/__link path within 10% of the inlined Rust API", figure: "not measured (no compiled binary-trees rows)", met: null });
  }
  const al = n.alloc?.rows;
  if (al && al.find((r) => r.allocator === "talc")) {
    const a = al.find((r) => r.allocator === "asrt").actionsPerUs, t = al.find((r) => r.allocator === "talc").actionsPerUs;
    out.push({ goal: "Allocator at or above talc in the same run", figure: `${f2(a / t)}x talc (${f1(a)} vs ${f1(t)} actions/µs)`, met: a >= t });
  }
  for (const r of n.steady?.rows.filter((x) => x.runtime === "asrt") ?? []) {
    // The verdict is the default pacing's (pause 100, the contract's); the figure adds pause 90's.
    const p90 = n.steady.rows.find((x) => x.runtime === "asrt, __gc_configure(90, 0)" && x.liveMiB === r.liveMiB);
    const also = p90 ? ` at the default pause 100 (${f2(p90.memOverLive)}x with __gc_configure(90, 0))` : "";
    out.push({ goal: `Heap at most 2.0x live under steady replacement (${r.liveMiB} MiB live)`, figure: `${f2(r.memOverLive)}x${also}`, met: r.memOverLive <= 2.0 });
    if (r.liveMiB >= 64) {
      out.push({ goal: `Max __new without growth at most 0.5 ms (${r.liveMiB} MiB live)`, figure: `${us(r.all.max)}; of the ${r.gcWork.count} calls that did GC work: max ${us(r.gcWork.max)}, p99 ${us(r.gcWork.p99)} (per-call minimum over ${n.steady.reps} runs; host floor max ${us(r.floor.max)})`, met: r.all.max <= 0.5 });
    }
  }
  if (!n.steady?.rows.some((x) => x.liveMiB >= 64)) out.push({ goal: "Max GC step / __new at most 0.5 ms at 64 and 256 MiB live", figure: "not run in this mode (short mode runs a small live set)", met: null });
  const m = res.sizes?.modules ?? [];
  const def = m.find((x) => x.name === "asrt (default build)");
  if (def?.oz) out.push({ goal: "Default build at most 16 KB after wasm-opt -Oz", figure: `${f1(def.oz / 1024)} KB`, met: def.oz <= 16 * 1024 });
  const core = m.find((x) => x.name === "asrt (core build: no string helpers)");
  out.push(core?.oz
    ? { goal: "Core build (no string helpers) at most 6 KB after -Oz", figure: `${f1(core.oz / 1024)} KB`, met: core.oz <= 6 * 1024 }
    : { goal: "Core build (no string helpers) at most 6 KB after -Oz", figure: "not measured (no wasm-opt)", met: null });
  return out;
}

// ---- AssemblyScript programs on asrt (issue 11) -----------------------------------------------

const ascRow = (w, key) => w?.rows.find((r) => r.key === key);
const ms = (x) => (x == null ? "–" : x >= 100 ? x.toFixed(0) : x.toFixed(1));
const mib = (b) => (b == null ? "–" : f1(b / MiB));

/** Issue 11's goals from the AssemblyScript workloads of `res.node.asc`, each { goal, figure, met }. */
export function ascGoals(res) {
  const a = res.node?.asc;
  if (!a) return [];
  const out = [];
  const speed = (w) => {
    const s = ascRow(w, "asrt"), i = ascRow(w, "incremental");
    return { s, i, ratio: i.ms / s.ms, figure: `${f2(i.ms / s.ms)}x AS incremental's speed (median asrt ${ms(s.ms)} ms, AS incremental ${ms(i.ms)} ms)` };
  };
  if (a.binarytrees) {
    const { ratio, figure } = speed(a.binarytrees);
    out.push({ goal: `${a.binarytrees.label}: asrt at least 1.5x faster than AS incremental`, figure, met: ratio >= 1.5 });
  }
  for (const k of ["strings", "mapset"]) {
    if (!a[k]) continue;
    const { ratio, figure } = speed(a[k]);
    out.push({ goal: `${a[k].label}: asrt not slower than AS incremental`, figure, met: ratio >= 1 });
  }
  // the live set in buckets of Arrays (live) and in one flat Array (liveFlat): met when both are
  const lives = [a.live, a.liveFlat].filter(Boolean);
  if (lives.length) {
    const parts = lives.map((w) => {
      const s = ascRow(w, "asrt"), i = ascRow(w, "incremental");
      return { w, max: s.pauses.all.max, text: `${w.label}: ${us(s.pauses.all.max)} (calls with GC work: p99 ${us(s.pauses.gcWork?.p99)}, max ${us(s.pauses.gcWork?.max)}); AS incremental ${us(i?.pauses.all.max)}; host floor max ${us(s.pauses.floor.max)}` };
    });
    const figure = parts.map((p) => p.text).join(". ");
    out.push(parts.every((p) => p.w.config.liveMiB >= 64)
      ? { goal: "Max pause at most 0.5 ms at 64 MiB live (per-call minimum over fresh runs, calls that grew memory excluded)", figure, met: parts.every((p) => p.max <= 0.5) }
      : { goal: "Max pause at most 0.5 ms at 64 MiB live", figure: `not run at 64 MiB in this mode; ${figure}`, met: null });
  }
  const mem = Object.values(a).map((w) => ({ w, s: ascRow(w, "asrt"), i: ascRow(w, "incremental") })).filter((x) => x.s?.memBytes && x.i?.memBytes);
  if (mem.length) {
    out.push({
      goal: "Memory at most AS incremental's (memory.buffer.byteLength at the end, the peak)",
      figure: mem.map(({ w, s, i }) => `${w.program} ${mib(s.memBytes)} vs ${mib(i.memBytes)} MiB`).join("; "),
      met: mem.every(({ s, i }) => s.memBytes <= i.memBytes),
    });
  }
  return out;
}

const verdict = (g) => (g.met === null ? "not measured" : g.met ? "**met**" : "**not met**");

/** The AssemblyScript section of the report (also bench/run-asc.sh's whole output). */
export function ascMarkdown(res, { goalList = ascGoals(res), heading = "##" } = {}) {
  const L = [];
  if (!res.node?.asc) return "";
  L.push(`${heading} AssemblyScript programs (issue 11)`, "",
    "The same AssemblyScript 0.28.20 sources (`bench/as/*.ts`, `-O3 --noAssert`) compiled by `js/asc.mjs` and run on asrt " +
    "(`instantiateAssemblyScript`, the `assemblyscript` build), and by plain asc with `--runtime incremental` and `--runtime stub` " +
    "(a bump allocator that never frees: the floor). Each workload is a fixed sequence of exported calls; time: the whole sequence, " +
    "a fresh instance per run, runs interleaved across runtimes (median). Pauses: every call timed, each call's minimum over fresh runs " +
    "of the same sequence, calls that grew memory excluded (and counted); asrt's calls split by whether they did GC work (the step counter " +
    "of `__gc_stats` moved or `__gc_phase` changed); the host floor is the program's empty `nop` export timed as often. Memory: " +
    "`memory.buffer.byteLength` at the end (the peak; asrt's includes its 64 KiB below the program's static data). " +
    "Binary-trees' calls include single trees of the largest depth, whose own work takes milliseconds, so its pause maxima are mostly the " +
    "program's work; the churn workloads (small calls at a large live set, its Units held in Arrays of 256 or in one flat Array) are the pause measure.", "",
    row(["goal", "figure (node)", "met"]), row(["---", "---", "---"]));
  for (const g of goalList) L.push(row([g.goal, g.figure, verdict(g)]));
  L.push("");
  for (const [host, r] of [["node", res.node], ["Chromium", res.chromium]]) {
    if (!r?.asc) continue;
    L.push(`${heading}# AssemblyScript programs, ${host}`, "",
      row(["workload", "runtime", "median ms (min–max)", "vs AS incremental", "memory MiB", "calls (grew)", "p99", "max", "calls with GC work", "GC work p99 / max", "host floor max"]),
      row(["---", "---", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:"]));
    for (const w of Object.values(r.asc)) {
      const inc = ascRow(w, "incremental");
      for (const x of w.rows) {
        const p = x.pauses;
        L.push(row([w.label, x.runtime, x.ms == null ? "–" : `${ms(x.ms)} (${ms(x.minMs)}–${ms(x.maxMs)})`,
          x.ms && inc?.ms ? `${f2(inc.ms / x.ms)}x` : "–",
          `${mib(x.memBytes)}${x.memOverLive ? ` (${f2(x.memOverLive)}x live)` : ""}`,
          p ? `${x.calls} (${x.grewCalls})` : "–", p ? us(p.all.p99) : "–", p ? us(p.all.max) : "–",
          p?.gcWork ? p.gcWork.count : "–", p?.gcWork ? `${us(p.gcWork.p99)} / ${us(p.gcWork.max)}` : "–", p ? us(p.floor.max) : "–"]));
      }
    }
    L.push("", "The churn workloads' time includes building the live set and timing every call.", "");
  }
  const sizes = (res.sizes?.modules ?? []).filter((m) => m.asc);
  if (sizes.length) {
    const get = (program, runtime) => sizes.find((m) => m.asc.program === program && m.asc.runtime === runtime);
    const rt = get(null, "asrt-runtime");
    const cell = (m, plus) => (m ? `${m.raw} / ${m.oz ?? "–"}${plus ? ` (+ runtime: ${m.raw + plus.raw} / ${m.oz != null && plus.oz != null ? m.oz + plus.oz : "–"})` : ""}` : "–");
    L.push(`${heading}# AssemblyScript module sizes`, "", `Bytes, raw / after \`wasm-opt -Oz\`. asrt's programs need the \`assemblyscript\` build of asrt beside them: ${cell(rt)}.`, "",
      row(["program", "on asrt (program + runtime)", "AS incremental", "AS stub"]), row(["---", "---:", "---:", "---:"]));
    for (const program of [...new Set(sizes.map((m) => m.asc.program).filter(Boolean))]) {
      L.push(row([program, cell(get(program, "asrt"), rt), cell(get(program, "incremental")), cell(get(program, "stub"))]));
    }
    L.push("");
  }
  return L.join("\n");
}

/** One sentence: where, when, at which commit, and the command that measures again. */
export function machineLine(m, command) {
  return `Measured ${m.date} on ${m.cpu}, ${m.cores} cores, ${m.memGiB} GiB (host ${m.host}); node ${m.node}; ${m.chromium ?? "Chromium not run"}. ` +
    `Load average before ${m.loadBefore.join(" ")}, after ${m.loadAfter.join(" ")}${m.commit ? `; asrt at ${m.commit}` : ""}. Regenerate with \`${command}\`.`;
}

function markdown(res, goalList) {
  const L = [];
  const m = res.machine;
  L.push(`# asrt benchmark report (${m.mode} mode)`, "");
  L.push(machineLine(m, `bench/run-all.sh${m.mode === "short" ? " --short" : ""}`), "");
  L.push("## Goals (issue 10)", "", "Speed goals compare each runtime's fastest run (runs are interleaved across runtimes; the fastest is the least disturbed by the shared machine); the tables also give medians.", "",
    row(["goal", "figure (node)", "met"]), row(["---", "---", "---"]));
  for (const g of goalList) L.push(row([g.goal, g.figure, g.met === null ? "not measured" : g.met ? "**met**" : "**not met**"]));
  L.push("");
  for (const [host, r] of [["node", res.node], ["Chromium", res.chromium]]) {
    if (!r) continue;
    L.push(`## ${host}`, "");
    if (r.btCompiled) {
      L.push(`binary-trees compiled, n = ${r.btCompiled.n} (${r.btCompiled.runs} runs per runtime, interleaved, a fresh instance each):`, "", row(["runtime", "median ms", "min–max", "wasm memory MiB"]), row(["---", "---:", "---:", "---:"]));
      for (const x of r.btCompiled.rows) L.push(row([x.runtime, f1(x.ms), `${f1(x.minMs)}–${f1(x.maxMs)}`, f1(x.memBytes / MiB)]));
      L.push("");
    }
    if (r.btJs) {
      L.push(`binary-trees driven from JavaScript, n = ${r.btJs.n} (per node: __new, __pin, two stores with barrier, __unpin):`, "", row(["runtime", "median ms", "min–max", "wasm memory MiB"]), row(["---", "---:", "---:", "---:"]));
      for (const x of r.btJs.rows) L.push(row([x.runtime, f1(x.ms), `${f1(x.minMs)}–${f1(x.maxMs)}`, f1(x.memBytes / MiB)]));
      L.push("");
    }
    if (r.gcbench) {
      L.push(`Boehm's GCBench from JavaScript, depth ${r.gcbench.depth} (top-down: the parent first, stores through the barrier; bottom-up: children first; median, min–max):`, "", row(["runtime", "top-down ms", "bottom-up ms"]), row(["---", "---:", "---:"]));
      for (const x of r.gcbench.rows) L.push(row([x.runtime, `${f1(x.topDownMs)} (${f1(x.topDownMsMin)}–${f1(x.topDownMsMax)})`, `${f1(x.bottomUpMs)} (${f1(x.bottomUpMsMin)}–${f1(x.bottomUpMsMax)})`]));
      L.push("");
    }
    if (r.steady) {
      L.push(`Steady replacement (allocated ${r.steady.factor}x live; per-call minimum over ${r.steady.reps} fresh runs of the same call sequence; calls that grew memory excluded and counted):`, "",
        row(["runtime", "live MiB", "ms", "memory / live", "__new calls", "grew", "p99", "p99.9", "max", "GC-work calls", "GC-work p99", "GC-work max", "host floor p99.9 / max"]),
        row(["---", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:"]));
      for (const x of r.steady.rows) {
        L.push(row([x.runtime, x.liveMiB, f1(x.ms), f2(x.memOverLive), x.calls, x.grewCalls, us(x.all.p99), us(x.all.p999), us(x.all.max),
          x.gcWork ? x.gcWork.count : "n/a", x.gcWork ? us(x.gcWork.p99) : "n/a", x.gcWork ? us(x.gcWork.max) : "n/a", `${us(x.floor.p999)} / ${us(x.floor.max)}`]));
      }
      for (const x of r.steady.rows.filter((y) => y.slowest && y.runtime === "asrt")) {
        const tally = {};
        for (const c of x.slowest) tally[c.did] = (tally[c.did] ?? 0) + 1;
        L.push("", `asrt, ${x.liveMiB} MiB live, the 10 slowest \`__new\` calls without growth: ${x.slowest.map((c) => us(c.ms)).join(", ")}; ` +
          Object.entries(tally).map(([k, v]) => `${v} x ${k}`).join(", ") + ".");
      }
      L.push("", "A call did GC work when the step counter of `__gc_stats` moved or `__gc_phase` changed during it (the call that starts a cycle shades every root, the pins included, and counts no step). " +
        "AssemblyScript exports neither, so its calls cannot be split: its row covers every `__new`. " +
        "The host floor is a call that does nothing (`__gc_phase`, AS: a getter), timed as often the same way." +
        (host === "Chromium" ? " Chromium's clock has a 5 µs resolution here (the page is cross-origin isolated), so figures below it read 0." : ""), "");
    }
    if (r.alloc) {
      L.push(`Allocator (talc's method, ${r.alloc.actions} actions per run, median of ${r.alloc.runs}):`, "", row(["allocator", "actions/µs", "min–max"]), row(["---", "---:", "---:"]));
      for (const x of r.alloc.rows) L.push(row([x.allocator, f1(x.actionsPerUs), `${f1(x.min)}–${f1(x.max)}`]));
      L.push("");
    }
    if (r.strings) {
      L.push("Strings (MB/s of UTF-8):", "", row(["text", "asrt decode", "asrt encode", "host TextDecoder", "host TextEncoder"]), row(["---", "---:", "---:", "---:", "---:"]));
      for (const x of r.strings.rows) L.push(row([x.text, f1(x.asrtDecodeMBs), f1(x.asrtEncodeMBs), f1(x.hostDecodeMBs), f1(x.hostEncodeMBs)]));
      L.push("");
    }
  }
  const asc = ascMarkdown(res);
  if (asc) L.push(asc);
  if (res.sizes) {
    L.push("## Module sizes", "", row(["module", "raw bytes", "wasm-opt -Oz"]), row(["---", "---:", "---:"]));
    for (const x of res.sizes.modules) L.push(row([x.name, x.raw, x.oz ?? "–"]));
    L.push("");
  }
  L.push("## Plots", "");
  for (const p of PLOTS) L.push(`![${p}](${p})`);
  L.push("");
  return L.join("\n");
}

// At most about 2 x `buckets` points of a [t, memory, used?] series: per bucket of time order the
// points with the lowest and the highest value (used bytes when present, else memory), so the
// saw-tooth of the heap keeps its peaks and troughs.
export function thin(points, buckets = 1000) {
  if (points.length <= 2 * buckets) return points;
  const v = (p) => p[2] ?? p[1];
  const out = [];
  const per = points.length / buckets;
  for (let b = 0; b < buckets; b++) {
    const part = points.slice(Math.floor(b * per), Math.floor((b + 1) * per));
    let lo = part[0], hi = part[0];
    for (const p of part) { if (v(p) < v(lo)) lo = p; if (v(p) > v(hi)) hi = p; }
    out.push(...(lo === hi ? [lo] : lo[0] <= hi[0] ? [lo, hi] : [hi, lo]));
  }
  out.push(points[points.length - 1]);
  return out;
}

/** Where and when the figures were measured (`load0`: os.loadavg() before the run). */
export function machineInfo({ userAgent = null, load0, mode, config }) {
  return {
    cpu: cpus()[0]?.model ?? "unknown", cores: cpus().length, memGiB: +(totalmem() / 2 ** 30).toFixed(1),
    host: hostname(), node: process.version, chromium: userAgent,
    loadBefore: load0.map((x) => +x.toFixed(2)), loadAfter: loadavg().map((x) => +x.toFixed(2)),
    date: new Date().toISOString(), mode, config, commit: process.env.ASRT_REV ?? null,
  };
}

// sizes.json (bench/run-all.sh) and asc-sizes.json (bench/as/build-asc.sh), when built
export function readSizes(dir) {
  const parts = ["sizes.json", "asc-sizes.json"].filter((f) => existsSync(join(dir, f)))
    .map((f) => JSON.parse(readFileSync(join(dir, f), "utf8")).modules);
  return parts.length ? { modules: parts.flat() } : null;
}
export function writeOutputs(res, dir) {
  for (const host of [res.node, res.chromium]) {
    for (const s of [...(host?.btHeap?.series ?? []), ...(host?.steady?.heapSeries ?? [])]) s.points = thin(s.points);
  }
  const goalList = goals(res);
  res.goals = goalList;
  res.ascGoals = ascGoals(res);
  const files = {
    "time.svg": timePlot(res),
    "pauses-cdf.svg": pausePlot(res),
    "heap-binarytrees.svg": heapPlot(`Heap over time: binary-trees from JS, n=${res.node.btHeap?.n} (node)`, res.node.btHeap?.series ?? []),
    "heap-steady.svg": heapPlot(`Heap over time: steady replacement, ${res.node.steady?.pauses?.asrt?.liveMiB} MiB live (node)`,
      (res.node.steady?.heapSeries ?? []).map((s) => ({ runtime: s.runtime, points: s.points })),
      res.node.steady?.heapSeries?.[0] ? [{ y: res.node.steady.heapSeries[0].liveBytes / MiB, label: "live bytes" }, { y: 2 * res.node.steady.heapSeries[0].liveBytes / MiB, label: "2 x live (goal)" }] : []),
    "sizes.svg": sizePlot(res.sizes),
    "alloc.svg": allocPlot(res),
    "results.json": JSON.stringify(res, null, 1),
  };
  files["report.md"] = markdown(res, goalList);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return { expected: Object.keys(files) };
}
