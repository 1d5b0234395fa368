// Unit tests of the report's pieces that need no browser: the goal verdicts, the series thinning,
// the SVG writers and the binary-trees checksum.
import { test } from "node:test";
import assert from "node:assert/strict";
import { goals, thin } from "../output.mjs";
import { bars, lines } from "../svg.mjs";
import { btChecksum } from "../workloads.mjs";

const MiB = 1024 * 1024;
function results({ asrtJs, incJs, stubJs, asrtBt, stubBt, asrtAlloc, talcAlloc, memOverLive, maxMs, oz, coreOz }) {
  const q = (max) => ({ count: 10, p50: 0.001, p99: 0.05, p999: 0.08, max });
  return {
    node: {
      btJs: { n: 14, rows: [{ runtime: "asrt", minMs: asrtJs }, { runtime: "AS incremental", minMs: incJs }, { runtime: "AS stub", minMs: stubJs }] },
      btCompiled: { n: 16, rows: [{ runtime: "asrt", minMs: asrtBt }, { runtime: "AS stub", minMs: stubBt }] },
      alloc: { rows: [{ allocator: "asrt", actionsPerUs: asrtAlloc }, { allocator: "talc", actionsPerUs: talcAlloc }] },
      steady: { reps: 3, rows: [64, 256].map((liveMiB) => ({ runtime: "asrt", liveMiB, memOverLive, all: q(maxMs), gcWork: q(maxMs), floor: q(0.001) })) },
    },
    sizes: { modules: [{ name: "asrt (default build)", raw: oz + 100, oz }, { name: "asrt (core build: no string helpers)", raw: coreOz + 100, oz: coreOz }] },
  };
}
const verdicts = (res) => Object.fromEntries(goals(res).map((g) => [g.goal.slice(0, 24), g.met]));

test("goals: each verdict follows its threshold", () => {
  const good = verdicts(results({ asrtJs: 500, incJs: 700, stubJs: 400, asrtBt: 520, stubBt: 400, asrtAlloc: 20, talcAlloc: 19, memOverLive: 1.9, maxMs: 0.4, oz: 15000, coreOz: 6000 }));
  const bad = verdicts(results({ asrtJs: 600, incJs: 700, stubJs: 400, asrtBt: 530, stubBt: 400, asrtAlloc: 18, talcAlloc: 19, memOverLive: 2.1, maxMs: 0.6, oz: 17000, coreOz: 7000 }));
  for (const [k, v] of Object.entries(good)) {
    if (v === null) { assert.equal(bad[k], null, k); continue; }
    assert.equal(v, true, `met: ${k}`);
    assert.equal(bad[k], false, `not met: ${k}`);
  }
  assert.ok(Object.values(good).filter((v) => v === true).length >= 7);
  assert.equal(good["Core build (no string he"], true, "the core build's size has a verdict");
});

test("thin keeps the extremes and the last point", () => {
  const pts = Array.from({ length: 100000 }, (_, i) => [i, 8 * MiB, (i % 977) * 1000 + (i === 54321 ? 5e6 : 0)]);
  const t = thin(pts);
  assert.ok(t.length <= 2001, `${t.length} points`);
  assert.deepEqual(t[t.length - 1], pts[pts.length - 1]);
  assert.equal(Math.max(...t.map((p) => p[2])), Math.max(...pts.map((p) => p[2])));
  assert.equal(Math.min(...t.map((p) => p[2])), 0);
  for (let i = 1; i < t.length; i++) assert.ok(t[i][0] >= t[i - 1][0], "time order");
  const few = [[0, 1], [1, 2]];
  assert.equal(thin(few), few);
});

test("SVG writers draw one bar per value and one path per series", () => {
  const b = bars({ title: "t", unit: "ms", groups: [{ label: "g1", values: [{ name: "a", value: 1 }, { name: "b", value: 2 }] }, { label: "g2", values: [{ name: "a", value: 3 }] }] });
  assert.equal(b.match(/class="bar"/g).length, 3);
  assert.match(b, /^<svg xmlns/);
  const l = lines({ title: "t", xLabel: "x", yLabel: "y", logX: true, series: [{ name: "s1", points: [[1, 0], [10, 1]] }, { name: "s2", points: [[2, 0.5], [100, 0.9]] }] });
  assert.equal(l.match(/class="series"/g).length, 2);
  assert.doesNotMatch(l, /NaN|Infinity/);
});

test("binary-trees checksum matches the closed form the drivers check (n = 16: 14985902)", () => {
  assert.equal(btChecksum(16), 14985902);
});

test("AssemblyScript goals (issue 11): each verdict follows its threshold", async () => {
  const { ascGoals, ascMarkdown } = await import("../output.mjs");
  const q = (max) => ({ count: 10, p50: 0.001, p99: max / 2, p999: max, max });
  const w = (program, liveMiB, asrtMs, incMs, asrtMem, incMem, maxMs) => ({
    program, label: program, config: { liveMiB },
    rows: [
      { key: "asrt", runtime: "asrt (AS program)", ms: asrtMs, minMs: asrtMs, maxMs: asrtMs, memBytes: asrtMem, calls: 10, grewCalls: 0, pauses: { all: q(maxMs), gcWork: q(maxMs), noWork: q(0.01), floor: q(0.001) } },
      { key: "incremental", runtime: "AS incremental", ms: incMs, minMs: incMs, maxMs: incMs, memBytes: incMem, calls: 10, grewCalls: 0, pauses: { all: q(20), gcWork: null, noWork: null, floor: q(0.001) } },
    ],
  });
  const res = (bt, other, mem, pause, live = 64) => ({ node: { asc: {
    binarytrees: w("binarytrees", 0, 100, bt, 8 * MiB, 8 * MiB, 1),
    strings: w("strings", 0, 100, other, 4 * MiB, 4 * MiB, 1),
    mapset: w("mapset", 0, 100, other, 4 * MiB, 4 * MiB, 1),
    live: w("live", live, 100, 100, mem, 256 * MiB, pause),
  } } });
  const met = (r) => ascGoals(r).map((g) => g.met);
  assert.deepEqual(met(res(150, 100, 256 * MiB, 0.5)), [true, true, true, true, true]);
  assert.deepEqual(met(res(149, 99, 257 * MiB, 0.51)), [false, false, false, false, false]);
  assert.equal(met(res(150, 100, 100, 0.1, 4))[3], null, "the pause goal is not measured below 64 MiB live");
  assert.deepEqual(ascGoals({ node: {} }), []);
  // with the flat-array live set too, the pause goal needs both
  const both = (flatMax) => { const r = res(150, 100, 256 * MiB, 0.5); r.node.asc.liveFlat = w("liveFlat", 64, 100, 100, 1, 256 * MiB, flatMax); return ascGoals(r)[3].met; };
  assert.equal(both(0.4), true);
  assert.equal(both(0.6), false);
  const md = ascMarkdown(res(150, 100, 256 * MiB, 0.5));
  assert.match(md, /## AssemblyScript programs/);
  assert.equal(md.match(/\*\*met\*\*/g).length, 5);
});

test("steady: a fractional --factor records every call (the per-call records are preallocated)", async () => {
  const { steadyRun } = await import("../workloads.mjs");
  // A stand-in runtime: bump allocation, no collector, nothing grows.
  let next = 0;
  const b = {
    memory: { buffer: { byteLength: 1 << 16 } }, TREE: 1, BUFFER: 2, steps: null,
    newObj: () => (next += 16), pin: (r) => r, unpin() {}, setField() {}, stats: () => ({ usedBytes: null }),
  };
  for (const factor of [2, 1.5, 1.1, 0.33]) {
    const r = steadyRun(b, { liveMiB: 1, factor, seed: 7, record: true });
    // bench/report/steady-large.mjs passes --factor through as a Number
    assert.equal(r.times.length, r.calls, `factor ${factor}: one record per call`);
    assert.ok(r.times.every((t) => t >= 0), `factor ${factor}`);
  }
});
