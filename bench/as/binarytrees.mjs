#!/usr/bin/env node
// binary-trees driver: runs `run(n)` of each module in a fresh node process
// (a fresh instance and a clean RSS per run), checks the checksum against the
// closed form, and prints a Markdown table of median time and peak memory.
//
//   node bench/as/binarytrees.mjs [--n 16] [--runs 5] [--wasm-dir DIR] [--out FILE]
//
// Modules: AssemblyScript 0.28.20 at -O3 with --runtime incremental, stub and
// minimal (compiled here if missing), plus asrt's module from
// $ASRT_BINARYTREES_WASM when that file exists (it must export run(n) -> i32;
// env.abort and other imports are supplied by host.mjs), and those $BT_MODULES names.

import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync, statSync } from "node:fs";
import { dirname, join, resolve, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { instantiate, median, fmtMiB, writeReport } from "./host.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "..", "..");

function arg(name, def) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : def;
}

// Sum of the node counts `run` must return (a full tree of depth d has
// 2^(d+1) - 1 nodes), wrapped to i32 like the wasm side.
export function expectedChecksum(n) {
  const minDepth = 4;
  const maxDepth = Math.max(minDepth + 2, n);
  const nodes = (d) => 2 ** (d + 1) - 1;
  let sum = nodes(maxDepth + 1);
  for (let d = minDepth; d <= maxDepth; d += 2) sum += 2 ** (maxDepth - d + minDepth) * nodes(d);
  sum += nodes(maxDepth);
  return sum | 0;
}

// ---- child mode: one run in a fresh process ------------------------------
if (process.argv[2] === "--child") {
  const path = process.argv[3];
  const n = Number(process.argv[4]);
  const out = {};
  if (path === "-") {
    out.ms = 0; out.memBytes = 0; out.checksum = 0;
  } else {
    const { exports, memory } = await instantiate(path);
    if (typeof exports.run !== "function") throw new Error(`${path}: no export run`);
    const t0 = performance.now();
    out.checksum = exports.run(n);
    out.ms = performance.now() - t0;
    out.memBytes = memory ? memory.buffer.byteLength : 0;
  }
  out.rss = process.memoryUsage().rss;
  out.maxRSS = process.resourceUsage().maxRSS * 1024; // KiB on Linux
  process.stdout.write(JSON.stringify(out) + "\n");
  process.exit(0);
}

// ---- parent mode -----------------------------------------------------------
const n = Number(arg("n", process.env.BT_N ?? 16));
const runs = Number(arg("runs", process.env.BT_RUNS ?? 5));
const wasmDir = resolve(arg("wasm-dir", process.env.BT_WASM_DIR ?? join(root, "bench", "out", "wasm")));
const outFile = arg("out", null);
const nodeFlags = (process.env.BT_NODE_FLAGS ?? "").split(/\s+/).filter(Boolean);

function compileAS(runtime) {
  const src = join(here, "binarytrees.ts");
  const dst = join(wasmDir, `binarytrees-as-${runtime}.wasm`);
  const fresh = existsSync(dst) && statSync(dst).mtimeMs >= statSync(src).mtimeMs;
  if (!fresh) {
    mkdirSync(wasmDir, { recursive: true });
    const asc = join(root, "node_modules", ".bin", "asc");
    const r = spawnSync(asc, [src, "-O3", "--runtime", runtime, "--noAssert", "-o", dst],
      { cwd: root, stdio: ["ignore", "inherit", "inherit"] });
    if (r.status !== 0) throw new Error(`asc failed for --runtime ${runtime}`);
  }
  return dst;
}

function runChild(path) {
  const r = spawnSync(process.execPath,
    [...nodeFlags, fileURLToPath(import.meta.url), "--child", path, String(n)],
    { encoding: "utf8", maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`run of ${path} failed:\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").pop());
}

const targets = [
  { name: "AS 0.28.20 incremental", path: compileAS("incremental"), note: "itcms: incremental GC" },
  { name: "AS 0.28.20 stub", path: compileAS("stub"), note: "bump allocator, never frees" },
  { name: "AS 0.28.20 minimal", path: compileAS("minimal"), note: "tcms: collects only on host __collect (none during run)" },
];
const asrtPath = process.env.ASRT_BINARYTREES_WASM;
let asrtNote = null;
if (asrtPath && existsSync(asrtPath)) {
  targets.push({ name: "asrt", path: resolve(asrtPath), note: relative(root, resolve(asrtPath)) });
} else {
  asrtNote = asrtPath ? `asrt: not built (${asrtPath} does not exist)` : "asrt: not built (set ASRT_BINARYTREES_WASM)";
  console.error(asrtNote);
}

// More modules from $BT_MODULES: `name=path` entries separated by `;` (bench/run-binarytrees.sh
// passes the C versions, examples/c/binarytrees.c linked plain and with LTO).
for (const entry of (process.env.BT_MODULES ?? "").split(";").filter(Boolean)) {
  const eq = entry.indexOf("=");
  const [name, path] = [entry.slice(0, eq), entry.slice(eq + 1)];
  if (existsSync(path)) targets.push({ name, path: resolve(path), note: relative(root, resolve(path)) });
  else console.error(`${name}: not built (${path} does not exist)`);
}

const expected = expectedChecksum(n);
const baseline = runChild("-");
const rows = [];
for (const t of targets) {
  const samples = [];
  let error = null;
  for (let i = 0; i < runs; i++) {
    try {
      const s = runChild(t.path);
      if (s.checksum !== expected) throw new Error(`checksum ${s.checksum}, expected ${expected}`);
      samples.push(s);
    } catch (e) {
      error = String(e.message ?? e).split("\n").slice(0, 3).join(" ");
      break;
    }
  }
  if (error) {
    console.error(`${t.name}: ${error}`);
    rows.push({ ...t, error });
    continue;
  }
  const row = {
    ...t,
    ms: median(samples.map((s) => s.ms)),
    minMs: Math.min(...samples.map((s) => s.ms)),
    maxMs: Math.max(...samples.map((s) => s.ms)),
    memBytes: Math.max(...samples.map((s) => s.memBytes)),
    maxRSS: median(samples.map((s) => s.maxRSS)),
  };
  console.error(`${t.name}: median ${row.ms.toFixed(1)} ms, memory ${fmtMiB(row.memBytes)} MiB`);
  rows.push(row);
}

const lines = [];
lines.push(`## binary-trees, n = ${n}`);
lines.push("");
lines.push(`${runs} runs per module, each in a fresh node ${process.version} process; time of the \`run(${n})\` call only` +
  ` (checksum ${expected} verified every run). Wasm memory = \`memory.buffer.byteLength\` after the run (the peak: it never shrinks);` +
  ` peak RSS = the process's maxRSS, node baseline ${fmtMiB(baseline.maxRSS)} MiB.`);
lines.push("");
lines.push("| module | median ms | min–max ms | wasm memory MiB | peak RSS MiB | note |");
lines.push("| --- | ---: | ---: | ---: | ---: | --- |");
for (const r of rows) {
  if (r.error) lines.push(`| ${r.name} | error | | | | ${r.error.replace(/\|/g, "\\|")} |`);
  else lines.push(`| ${r.name} | ${r.ms.toFixed(1)} | ${r.minMs.toFixed(1)}–${r.maxMs.toFixed(1)} | ${fmtMiB(r.memBytes)} | ${fmtMiB(r.maxRSS)} | ${r.note} |`);
}
if (asrtNote) lines.push(`| asrt | – | – | – | – | ${asrtNote} |`);
lines.push("");
const md = lines.join("\n");
writeReport(md, outFile);
