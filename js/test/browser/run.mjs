#!/usr/bin/env node
// Browser test of @asrt/loader: serves js/ and the wasm modules on 127.0.0.1 (random port),
// opens js/test/browser/index.html in headless Chromium, which runs the shared checks
// (js/test/shared/checks.mjs) in the page and POSTs the results back. Exits non-zero on any
// failure, when Chromium is missing, or when the page does not report in time.
//
//   node js/test/browser/run.mjs          (CHROMIUM=/path/to/chromium to override the binary)
//
// Modules: the asrt builds (ASRT_WASM, ASRT_WASM_MODERN; skipped when not built, like the Node
// tests) and the AssemblyScript fixture.
import { createServer } from "node:http";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { extname, join, resolve, sep } from "node:path";
import { JS_DIR, readAsrt, buildAsFixture, modulePaths } from "../support.mjs";

if (process.env.NODE_TEST_CONTEXT) {
  // `node --test js/test/` treats every file under test/ as a test file: run this one directly.
  console.log("# browser checks: run `node js/test/browser/run.mjs` (skipped under node --test)");
  process.exit(0);
}

const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const TIMEOUT_MS = +(process.env.BROWSER_TIMEOUT_MS || 120000);

if (!existsSync(CHROMIUM)) {
  console.error(`FAIL: Chromium not found at ${CHROMIUM} (install it, e.g. apt-get install chromium, or set CHROMIUM)`);
  process.exit(2);
}

const modules = [];
const wasm = new Map();
for (const kind of ["classic", "modern"]) {
  const m = readAsrt(kind);
  if (m) { wasm.set(kind, m.bytes); modules.push({ kind, url: `/wasm/${kind}.wasm`, path: m.path }); }
  else modules.push({ kind, missing: `asrt.wasm (${kind}) not built (${modulePaths()[kind]})` });
}
const fixture = buildAsFixture();
if (fixture.error) modules.push({ kind: "as", missing: fixture.error });
else { wasm.set("as", fixture.bytes); modules.push({ kind: "as", url: "/wasm/as.wasm", path: fixture.path }); }

const TYPES = { ".html": "text/html; charset=utf-8", ".mjs": "text/javascript; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".json": "application/json" };

let onReport;
const reported = new Promise(r => { onReport = r; });

const server = createServer((req, res) => {
  const url = new URL(req.url, "http://127.0.0.1");
  if (req.method === "POST" && url.pathname === "/report") {
    let body = "";
    req.on("data", d => { body += d; });
    req.on("end", () => { res.end("ok"); onReport(JSON.parse(body)); });
    return;
  }
  if (url.pathname === "/modules.json") {
    res.writeHead(200, { "content-type": TYPES[".json"] });
    return res.end(JSON.stringify(modules.map(({ kind, url, missing }) => ({ kind, url, missing }))));
  }
  const w = url.pathname.match(/^\/wasm\/(\w+)\.wasm$/);
  if (w && wasm.has(w[1])) {
    res.writeHead(200, { "content-type": "application/wasm" });
    return res.end(wasm.get(w[1]));
  }
  if (url.pathname.startsWith("/js/")) {
    const file = resolve(JS_DIR, "." + decodeURIComponent(url.pathname.slice(3)));
    if ((file === JS_DIR || file.startsWith(JS_DIR + sep)) && existsSync(file) && TYPES[extname(file)]) {
      res.writeHead(200, { "content-type": TYPES[extname(file)], "cache-control": "no-store" });
      return res.end(readFileSync(file));
    }
  }
  res.writeHead(404).end("not found");
});
await new Promise(r => server.listen(0, "127.0.0.1", r));
const { port } = server.address();
const page = `http://127.0.0.1:${port}/js/test/browser/index.html`;

const profileDir = mkdtempSync(join(tmpdir(), "asrt-chromium-"));
const chrome = spawn(CHROMIUM, [
  "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
  "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
  `--user-data-dir=${profileDir}`, "--js-flags=--expose-gc", page,
], { stdio: ["ignore", "ignore", "pipe"] });
let chromeErr = "";
chrome.stderr.on("data", d => { chromeErr = (chromeErr + d).slice(-4000); });
const exited = new Promise(r => chrome.on("exit", (code, signal) => r({ code, signal })));
chrome.on("error", err => { chromeErr += String(err); });

let timer;
const outcome = await Promise.race([
  reported.then(report => ({ report })),
  exited.then(x => ({ exited: x })),
  new Promise(r => { timer = setTimeout(() => r({ timeout: true }), TIMEOUT_MS); }),
]);
clearTimeout(timer);
if (chrome.exitCode === null) chrome.kill("SIGTERM");
await Promise.race([exited, new Promise(r => setTimeout(r, 3000))]);
if (chrome.exitCode === null && chrome.signalCode === null) chrome.kill("SIGKILL");
server.close();
try { rmSync(profileDir, { recursive: true, force: true }); } catch { /* best effort */ }

if (!outcome.report) {
  console.error(outcome.timeout ? `FAIL: the page did not report within ${TIMEOUT_MS} ms` : `FAIL: Chromium exited early (${JSON.stringify(outcome.exited)})`);
  console.error(chromeErr);
  process.exit(1);
}

const { results, userAgent, fatal } = outcome.report;
console.log(`# ${userAgent}`);
for (const m of modules) console.log(`# module ${m.kind}: ${m.path || m.missing}`);
let pass = 0, fail = 0, skip = 0;
for (const r of results) {
  if (r.status === "pass") pass++; else if (r.status === "fail") fail++; else skip++;
  console.log(`${r.status === "pass" ? "ok" : r.status === "skip" ? "skip" : "not ok"} - [${r.kind}] ${r.name}${r.detail ? `\n  ${r.detail.replace(/\n/g, "\n  ")}` : ""}`);
}
if (fatal) console.log(`not ok - page error\n  ${fatal}`);
console.log(`# pass ${pass}, fail ${fail}, skip ${skip}`);
process.exit(fail || fatal || pass === 0 ? 1 : 0);
