// Runs js/test/shared/checks.mjs in the browser against the modules run.mjs serves, shows the
// results in the page and POSTs them to /report (run.mjs waits for that).
import * as loader from "../../loader.mjs";
import { runChecks } from "../shared/checks.mjs";

// `node --test js/test/` also loads every file under test/: do nothing outside a browser.
if (typeof document === "undefined") {
  console.log("# browser page: run `node js/test/browser/run.mjs`");
} else {
  await main();
}

async function main() {
  const log = document.getElementById("log");
  const results = [];
  let reported = false;

  async function report(extra = {}) {
    if (reported) return;
    reported = true;
    const pass = results.filter(r => r.status === "pass").length;
    const fail = results.filter(r => r.status === "fail").length;
    log.textContent = `${fail || extra.fatal ? "FAIL" : "PASS"} ${pass}\n` +
      results.map(r => `${r.status} [${r.kind}] ${r.name}${r.detail ? `\n    ${r.detail.replace(/\n/g, "\n    ")}` : ""}`).join("\n") +
      (extra.fatal ? `\nFATAL ${extra.fatal}` : "");
    await fetch("/report", { method: "POST", body: JSON.stringify({ results, userAgent: navigator.userAgent, ...extra }) });
  }

  addEventListener("error", e => report({ fatal: String(e.error && e.error.stack || e.message) }));
  addEventListener("unhandledrejection", e => report({ fatal: String(e.reason && e.reason.stack || e.reason) }));

  try {
    const modules = await (await fetch("/modules.json")).json();
    const gc = typeof globalThis.gc === "function" ? globalThis.gc : null;
    for (const m of modules) {
      if (m.missing) {
        results.push({ kind: m.kind, name: "(module)", status: "skip", detail: m.missing });
        continue;
      }
      const bytes = new Uint8Array(await (await fetch(m.url)).arrayBuffer());
      await runChecks({ kind: m.kind, loader, bytes, gc }, (name, status, detail) => {
        results.push({ kind: m.kind, name, status, detail });
        log.textContent = `running… ${results.length} done`;
      });
    }
    // the browser's own streaming path, with a real fetch Response
    const first = modules.find(m => !m.missing);
    if (first) {
      try {
        const { exports } = await loader.instantiateStreaming(fetch(first.url));
        const ok = exports.__getString(exports.__newString("fetched")) === "fetched";
        results.push({ kind: first.kind, name: "instantiateStreaming(fetch(url))", status: ok ? "pass" : "fail", detail: ok ? "" : "string mismatch" });
      } catch (err) {
        results.push({ kind: first.kind, name: "instantiateStreaming(fetch(url))", status: "fail", detail: String(err && err.stack || err) });
      }
    }
    await report();
  } catch (err) {
    await report({ fatal: String(err && err.stack || err) });
  }
}
