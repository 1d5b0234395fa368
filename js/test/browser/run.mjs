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
import { existsSync, readFileSync } from "node:fs";
import { extname, resolve, sep } from "node:path";
import { TYPES, runPage } from "./chromium.mjs";
import { JS_DIR, readAsrt, buildAsFixture, modulePaths } from "../support.mjs";

if (process.env.NODE_TEST_CONTEXT) {
  // `node --test js/test/` treats every file under test/ as a test file: run this one directly.
  console.log("# browser checks: run `node js/test/browser/run.mjs` (skipped under node --test)");
  process.exit(0);
}

const TIMEOUT_MS = +(process.env.BROWSER_TIMEOUT_MS || 120000);


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

function handle(url, res) {
  if (url.pathname === "/modules.json") {
    res.writeHead(200, { "content-type": TYPES[".json"] });
    res.end(JSON.stringify(modules.map(({ kind, url, missing }) => ({ kind, url, missing }))));
    return true;
  }
  const w = url.pathname.match(/^\/wasm\/(\w+)\.wasm$/);
  if (w && wasm.has(w[1])) {
    res.writeHead(200, { "content-type": "application/wasm" });
    res.end(wasm.get(w[1]));
    return true;
  }
  if (url.pathname.startsWith("/js/")) {
    const file = resolve(JS_DIR, "." + decodeURIComponent(url.pathname.slice(3)));
    if ((file === JS_DIR || file.startsWith(JS_DIR + sep)) && existsSync(file) && TYPES[extname(file)]) {
      res.writeHead(200, { "content-type": TYPES[extname(file)], "cache-control": "no-store" });
      res.end(readFileSync(file));
      return true;
    }
  }
  return false;
}

const { results, userAgent, fatal } = await runPage({ handle, pagePath: "/js/test/browser/index.html", timeoutMs: TIMEOUT_MS });
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
