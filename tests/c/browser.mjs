#!/usr/bin/env node
// The C SDK's checks (tests/c/checks.mjs) in headless Chromium: serves js/loader.mjs, this
// folder's page and checks, and the modules tests/c/build.sh built into $ASRT_C_DIR (default
// target/c-examples), then waits for the page's report. Exits non-zero on any failure.
//
//   node tests/c/browser.mjs        (CHROMIUM=/path/to/chromium to override the binary)
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { TYPES, runPage } from "../../js/test/browser/chromium.mjs";
import { CHECKS, MODULES } from "./checks.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const dir = resolve(process.env.ASRT_C_DIR || join(root, "target", "c-examples"));
const TIMEOUT_MS = +(process.env.BROWSER_TIMEOUT_MS || 120000);

// What the page may fetch: exactly these files.
const files = new Map([
  ["/js/loader.mjs", join(root, "js", "loader.mjs")],
  ["/tests/c/checks.mjs", join(root, "tests", "c", "checks.mjs")],
  ["/tests/c/page.html", join(root, "tests", "c", "page.html")],
  ...MODULES.map(m => [`/wasm/${m}.wasm`, join(dir, `${m}.wasm`)]),
]);
function handle(url, res) {
  const file = files.get(url.pathname);
  if (!file || !existsSync(file)) return false;
  res.writeHead(200, { "content-type": TYPES[file.slice(file.lastIndexOf("."))], "cache-control": "no-store" });
  res.end(readFileSync(file));
  return true;
}

const { results, fatal, userAgent } = await runPage({ handle, pagePath: "/tests/c/page.html", timeoutMs: TIMEOUT_MS });
console.log(`# ${userAgent}`);
for (const r of results) {
  console.log(`${r.status === "pass" ? "ok" : "not ok"} - ${r.name}${r.detail ? `\n  ${r.detail.replace(/\n/g, "\n  ")}` : ""}`);
}
if (fatal) console.log(`not ok - page error\n  ${fatal}`);
const passed = results.filter(r => r.status === "pass").length;
console.log(`# pass ${passed} of ${CHECKS.length}`);
process.exit(fatal || passed !== CHECKS.length ? 1 : 0);
