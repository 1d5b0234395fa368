#!/usr/bin/env node
// Steady replacement at live sizes too large for the full report (issue 10: "report 1 GiB too"):
// the report's own workload (workloads.mjs `steady`: units of 8 TreeNodes holding ArrayBuffers,
// each unit pinned while live, replaced at random until `factor` x live is allocated, every `__new`
// timed), node only, one runtime at a time, so that a runtime that runs out of memory (wasm32 ends
// at 4 GiB) is reported as such and the others still run.
//
//   node bench/report/steady-large.mjs --modules DIR [--live 1024] [--reps 2] [--factor 4]
//        [--runtimes asrt,asrt90,incremental] [--out FILE.md] [--strict]
//
// A runtime that fails is a row that says why; with --strict it also makes the exit status 1 (the
// test command runs it so, at 4 MiB live).
// DIR holds asrt.wasm and gcwork-as-incremental.wasm (bench/run-steady-large.sh builds them).
// Pauses are each call's minimum over the fresh runs of one deterministic call sequence; asrt's
// calls are split by whether they did GC work, with the host's floor (a call that does nothing).
import { readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { steady } from "./workloads.mjs";

const arg = (n, d) => { const i = process.argv.indexOf(`--${n}`); return i >= 0 ? process.argv[i + 1] : d; };
const dir = resolve(arg("modules", "bench/out/steady-wasm"));
const lives = arg("live", "1024").split(",").map(Number);
const reps = Number(arg("reps", "2"));
const factor = Number(arg("factor", "4"));
const names = arg("runtimes", "asrt,asrt90,incremental").split(",");
const out = arg("out", null);
const strict = process.argv.includes("--strict");
let failures = 0;
const get = async (name) => readFileSync(join(dir, `${name}.wasm`));
const log = (s) => process.stderr.write(`[steady-large] ${s}\n`);

const ms = (x) => (Number.isFinite(x) ? x.toFixed(2) : "–");
const lines = [
  `Steady replacement, node ${process.version}, ${reps} fresh runs per runtime (per-call minimum), ${factor}x live allocated; ` +
    `asrt at ${process.env.ASRT_REV ?? "unknown"}.`,
  "",
  "| runtime | live MiB | calls | memory / live | max `__new` without growth (ms) | calls with GC work: p99 / max (ms) | calls without: max (ms) | host floor: max (ms) | slowest 3 | run (s) |",
  "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |",
];
for (const live of lives) {
  for (const name of names) {
    const t0 = performance.now();
    log(`${name} at ${live} MiB live`);
    let r;
    try {
      r = (await steady(get, { liveMiB: [live], factor, reps, names: [name] })).rows[0];
    } catch (e) {
      failures++;
      const after = ((performance.now() - t0) / 1000).toFixed(0);
      lines.push(`| ${name} | ${live} | – | – | – | – | – | – | failed after ${after} s: ${String(e.message ?? e).split("\n")[0]} | – |`);
      continue;
    }
    const slow = r.slowest.slice(0, 3).map((c) => `${ms(c.ms)} (${c.did})`).join(", ");
    lines.push(`| ${r.runtime} | ${live} | ${r.calls} | ${r.memOverLive.toFixed(3)}x | ${ms(r.all.max)} | ` +
      `${r.gcWork ? `${ms(r.gcWork.p99)} / ${ms(r.gcWork.max)}` : "–"} | ${r.noWork ? ms(r.noWork.max) : "–"} | ${ms(r.floor.max)} | ${slow} | ${(r.ms / 1000).toFixed(1)} |`);
  }
}
const text = lines.join("\n") + "\n";
process.stdout.write(text);
if (out) writeFileSync(out, text);
if (strict && failures) process.exit(1);
