// Runs one test page in headless Chromium: serves it on 127.0.0.1 (random port), opens it, and
// waits until the page POSTs its report to /report, Chromium exits, or the time runs out. Used by
// js/test/browser/run.mjs (the loader's checks) and tests/c/browser.mjs (the C SDK's checks).
import { createServer } from "node:http";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
export const TYPES = {
  ".html": "text/html; charset=utf-8", ".mjs": "text/javascript; charset=utf-8",
  ".js": "text/javascript; charset=utf-8", ".json": "application/json", ".wasm": "application/wasm",
};

/**
 * Serves `handle(url, res)` (it answers and returns true, or returns false for a 404) and the
 * page's POST /report, opens `pagePath` in Chromium and returns the report (the parsed POST
 * body). Exits the process with a message when Chromium is missing (2), or when the page does
 * not report in `timeoutMs` or Chromium exits first (1).
 */
export async function runPage({ handle, pagePath, timeoutMs }) {
  if (!existsSync(CHROMIUM)) {
    console.error(`FAIL: Chromium not found at ${CHROMIUM} (install it, e.g. apt-get install chromium, or set CHROMIUM)`);
    process.exit(2);
  }
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
    if (!handle(url, res)) res.writeHead(404).end("not found");
  });
  await new Promise(r => server.listen(0, "127.0.0.1", r));
  const { port } = server.address();

  const profileDir = mkdtempSync(join(tmpdir(), "asrt-chromium-"));
  const chrome = spawn(CHROMIUM, [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
    `--user-data-dir=${profileDir}`, "--js-flags=--expose-gc", `http://127.0.0.1:${port}${pagePath}`,
  ], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  chrome.stderr.on("data", d => { stderr = (stderr + d).slice(-4000); });
  const exited = new Promise(r => chrome.on("exit", (code, signal) => r({ code, signal })));
  chrome.on("error", err => { stderr += String(err); });

  let timer;
  const outcome = await Promise.race([
    reported.then(report => ({ report })),
    exited.then(x => ({ exited: x })),
    new Promise(r => { timer = setTimeout(() => r({ timeout: true }), timeoutMs); }),
  ]);
  clearTimeout(timer);
  if (chrome.exitCode === null) chrome.kill("SIGTERM");
  await Promise.race([exited, new Promise(r => setTimeout(r, 3000))]);
  if (chrome.exitCode === null && chrome.signalCode === null) chrome.kill("SIGKILL");
  server.close();
  try { rmSync(profileDir, { recursive: true, force: true }); } catch { /* best effort */ }
  if (!outcome.report) {
    console.error(outcome.timeout ? `FAIL: the page did not report within ${timeoutMs} ms` : `FAIL: Chromium exited early (${JSON.stringify(outcome.exited)})`);
    console.error(stderr);
    process.exit(1);
  }
  return outcome.report;
}
