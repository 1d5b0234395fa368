#!/usr/bin/env node
// The benchmark report: runs bench/report/workloads.mjs in node and in headless Chromium
// (playwright-core driving /usr/bin/chromium), then writes to the output directory
//   results.json   every figure, with the machine it was measured on
//   report.md      the tables and each goal of issue 10 as met or not
//   *.svg          the plots (drawn by bench/report/svg.mjs)
//
//   node bench/report/run.mjs --modules DIR [--short] [--out bench/results] [--no-browser]
//        [--only btCompiled,steady,...]
//   node bench/report/run.mjs --from bench/results/results.json --out bench/results   (redraw only)
//
// DIR holds the modules named in workloads.mjs (bench/run-all.sh builds them) and sizes.json.
// Exits non-zero when a workload fails or a plot is missing.
import { createServer } from "node:http";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { runAll, SHORT, FULL } from "./workloads.mjs";
import { writeOutputs, readSizes, machineInfo } from "./output.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const flag = (n) => process.argv.includes(`--${n}`);
const arg = (n, d) => { const i = process.argv.indexOf(`--${n}`); return i >= 0 ? process.argv[i + 1] : d; };

const short = flag("short");
const modulesDir = resolve(arg("modules", "bench/out/report-wasm"));
const outDir = resolve(arg("out", short ? "bench/out/report-short" : "bench/results"));
const only = arg("only", null)?.split(",") ?? null;
const cfg = short ? SHORT : FULL;
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";

const wasmPath = (name) => join(modulesDir, `${name}.wasm`);
const getNode = async (name) => {
  if (!existsSync(wasmPath(name))) throw new Error(`module ${name} not built (${wasmPath(name)})`);
  return readFileSync(wasmPath(name));
};

const log = (s) => process.stderr.write(`[report] ${s}\n`);
const load0 = loadavg();

let results;
if (arg("from", null)) {
  // --from results.json: draw the files again from figures already measured
  results = JSON.parse(readFileSync(arg("from"), "utf8"));
} else {
  log(`node ${process.version}: ${short ? "short" : "full"} mode`);
  const nodeResults = await runAll(getNode, cfg, { only, log: (s) => log(`node ${s}`) });
  const browser = flag("no-browser") ? null : await runInChromium();
  const sizes = readSizes(modulesDir);
  results = { machine: machineInfo({ userAgent: browser?.userAgent, load0, mode: short ? "short" : "full", config: cfg }), node: nodeResults, chromium: browser?.results ?? null, sizes };
}
mkdirSync(outDir, { recursive: true });
const written = writeOutputs(results, outDir);
let missing = 0;
for (const f of written.expected) {
  const p = join(outDir, f);
  // every file exists; every plot has at least one drawn series or bar
  const text = existsSync(p) ? readFileSync(p, "utf8") : "";
  if (text.length < 200 || (f.endsWith(".svg") && !/class="(series|bar)"/.test(text))) {
    log(`MISSING or empty: ${f}`); missing++;
  }
}
// the AssemblyScript programs' rows are drawn where they belong (short mode runs them too)
if (results.node.asc) {
  const text = (f) => (existsSync(join(outDir, f)) ? readFileSync(join(outDir, f), "utf8") : "");
  for (const [f, what] of [["time.svg", "AS program: "], ["pauses-cdf.svg", "AS program: every call"], ["report.md", "## AssemblyScript programs"]]) {
    if (!text(f).includes(what)) { log(`${f} lacks the AssemblyScript programs ("${what}")`); missing++; }
  }
}
log(`wrote ${written.expected.length} files to ${outDir}`);
if (missing) process.exit(1);

// ---- Chromium ----------------------------------------------------------------------------------
async function runInChromium() {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM} (set CHROMIUM)`);
  const { chromium } = await import("playwright-core");
  const server = createServer((req, res) => {
    const url = new URL(req.url, "http://127.0.0.1");
    // cross-origin isolation: performance.now() at 5 µs instead of 100 µs
    const headers = { "cross-origin-opener-policy": "same-origin", "cross-origin-embedder-policy": "require-corp", "cache-control": "no-store" };
    const w = url.pathname.match(/^\/wasm\/([\w.-]+)\.wasm$/);
    if (w && existsSync(wasmPath(w[1]))) { res.writeHead(200, { ...headers, "content-type": "application/wasm" }); return res.end(readFileSync(wasmPath(w[1]))); }
    if (url.pathname === "/favicon.ico") return res.writeHead(204).end();
    const f = { "/": "page.html", "/workloads.mjs": "workloads.mjs", "/common.mjs": "common.mjs", "/asc.mjs": "asc.mjs", "/js/loader.mjs": "../../js/loader.mjs" }[url.pathname];
    if (f) { res.writeHead(200, { ...headers, "content-type": f.endsWith(".html") ? "text/html" : "text/javascript" }); return res.end(readFileSync(join(here, f))); }
    res.writeHead(404).end();
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const b = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"] });
  try {
    const page = await b.newPage();
    page.on("console", (m) => log(`chromium ${m.text()}`));
    await page.goto(`http://127.0.0.1:${server.address().port}/`);
    const userAgent = await page.evaluate(() => navigator.userAgent);
    log(`chromium: ${userAgent}`);
    const results = await page.evaluate(async ({ short, only }) => window.runReport(short, only), { short, only });
    return { userAgent, results };
  } finally {
    await b.close();
    server.close();
  }
}
