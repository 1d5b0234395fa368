// The AssemblyScript programs of tests/js/asc-run.test.mjs in headless Chromium (playwright-core
// driving /usr/bin/chromium; CHROMIUM overrides): compiled here by js/asc.mjs, fetched by a page
// that imports js/loader.mjs and runs them with the async instantiateAssemblyScript (streaming
// from a Response), in every pacing; each answer must equal the program's answer on
// AssemblyScript's own incremental runtime, with __heap_check 0 after every call.
// Path:  ASRT_WASM_ASC, default target/asc/wasm32-unknown-unknown/release/asrt.wasm
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { wasmPath } from "./helpers.mjs";
import { PROGRAMS, N, PACINGS, FINALIZE, compile, reference } from "./asc-programs.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const RUNTIME = readFileSync(wasmPath("ASRT_WASM_ASC", "target/asc/wasm32-unknown-unknown/release/asrt.wasm"));
/** Chromium runs each program on a quarter of node's sizes. */
const SCALE = 1 / 4;

let server, browser, page, url;
const files = new Map(); // URL path -> [content type, bytes]

before(async () => {
  assert.ok(existsSync(CHROMIUM), `Chromium not found: ${CHROMIUM}`);
  files.set("/", ["text/html", Buffer.from("<!doctype html><title>asc on asrt</title>")]);
  files.set("/runtime.wasm", ["application/wasm", RUNTIME]);
  server = createServer((req, res) => {
    const p = new URL(req.url, "http://x").pathname;
    let hit = files.get(p);
    if (!hit && p.startsWith("/js/") && p.endsWith(".mjs")) {
      hit = ["text/javascript", readFileSync(path.join(ROOT, p))];
    }
    if (!hit) return res.writeHead(404).end();
    res.writeHead(200, { "content-type": hit[0] }).end(hit[1]);
  });
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  url = `http://127.0.0.1:${server.address().port}/`;
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"] });
  page = await browser.newPage();
  await page.goto(url);
});

after(async () => {
  await browser?.close();
  server?.close();
});

/** Runs `name` in the page under each pacing on the sizes `plan` gives; returns what it saw. */
function runInPage(name, plan) {
  return page.evaluate(async ({ name, plan }) => {
    const { instantiateAssemblyScript } = await import("/js/loader.mjs");
    const setups = {
      default() {},
      slowest(rt) { rt.__gc_configure(10, 1024); },
      tiny(rt) { rt.__gc_threshold(256); rt.__gc_configure(10, 1024); },
    };
    const out = {};
    for (const [pacing, ks] of Object.entries(plan)) {
      const { exports, runtime } = await instantiateAssemblyScript(fetch(`/prog/${name}.wasm`), {}, {
        runtime: fetch("/runtime.wasm"),
      });
      setups[pacing](runtime);
      const answers = ks.map((k) => {
        const answer = exports.__getString(exports.run(k));
        return { k, answer, heapCheck: runtime.__heap_check() };
      });
      out[pacing] = { answers, collections: exports.gcStats().collections };
    }
    return out;
  }, { name, plan });
}

for (const name of Object.keys(PROGRAMS)) {
  test(`Chromium: ${name} gives AssemblyScript's answers in every pacing, __heap_check 0`, async () => {
    const [mine, theirs] = [await compile(name, true), await compile(name, false)];
    files.set(`/prog/${name}.wasm`, ["application/wasm", mine]);
    const plan = {};
    for (const [pacing, { scale }] of Object.entries(PACINGS)) {
      const m = Math.max(20, Math.round(N[name] * SCALE * scale));
      plan[pacing] = [m, m >> 1, m];
    }
    const seen = await runInPage(name, plan);
    for (const [pacing, ks] of Object.entries(plan)) {
      const expected = reference(theirs); // one instance per pacing, as in the page
      const { answers, collections } = seen[pacing];
      assert.equal(answers.length, ks.length);
      for (const { k, answer, heapCheck } of answers) {
        assert.equal(answer, expected(k), `${name} n=${k} (${pacing})`);
        assert.equal(heapCheck, 0, `${name} n=${k} (${pacing}): heap check`);
      }
      assert.ok(collections >= 1, `${name} (${pacing}): ${collections} collections`);
    }
  });
}

test("Chromium: __finalize sees every dead object once, pins from JavaScript survive __collect", async () => {
  PROGRAMS.finalize = FINALIZE;
  files.set("/prog/finalize.wasm", ["application/wasm", await compile("finalize", true)]);
  files.set("/prog/strings.wasm", ["application/wasm", await compile("strings", true)]);
  const seen = await page.evaluate(async () => {
    const { instantiateAssemblyScript } = await import("/js/loader.mjs");
    const errors = [];
    const fin = await instantiateAssemblyScript(fetch("/prog/finalize.wasm"), {}, {
      runtime: fetch("/runtime.wasm"),
      onFinalizeError: (e) => errors.push(String(e)),
    });
    fin.exports.make(0, 8000, 10);
    fin.runtime.__collect();
    fin.runtime.__collect();
    const first = Array.from({ length: 8000 }, (_, i) => fin.exports.seenOf(i));
    fin.exports.drop();
    fin.runtime.__collect();
    const after = Array.from({ length: 8000 }, (_, i) => fin.exports.seenOf(i));
    const str = await instantiateAssemblyScript(fetch("/prog/strings.wasm"), {}, { runtime: fetch("/runtime.wasm") });
    const pinned = str.exports.__pin(str.exports.run(40));
    const text = str.exports.__getString(pinned);
    for (let i = 0; i < 4; i++) { str.exports.run(400); str.exports.__collect(); }
    return {
      first, after, bad: fin.exports.badCount(), errors, finCheck: fin.runtime.__heap_check(),
      same: str.exports.__getString(pinned) === text, strCheck: str.runtime.__heap_check(),
    };
  });
  seen.first.forEach((v, i) => assert.equal(v, i % 10 ? 1 : 0, `id ${i} before drop`));
  seen.after.forEach((v, i) => assert.equal(v, 1, `id ${i} after drop`));
  assert.equal(seen.bad, 0);
  assert.deepEqual(seen.errors, []);
  assert.equal(seen.finCheck, 0);
  assert.ok(seen.same, "a pinned string survives collections");
  assert.equal(seen.strCheck, 0);
});
