// End-to-end test of the heap inspector in headless Chromium (playwright-core driving
// /usr/bin/chromium, CHROMIUM overrides): serves the page, runs each workload for a few seconds,
// pauses, steps and collects, and checks that what the page shows agrees with __gc_stats and
// with a heap walk done here, that hovering shows a block's header, and that the map is drawn.
//
//   node --test inspector/test/         (needs asrt's default build: scripts/build.sh default)
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { chromium } from "playwright-core";
import { serve, defaultWasm, buildAscProgram } from "../serve.mjs";
import { defaultRuntime } from "../../js/asc-run.mjs";
import { ASRT_MEMORY_BASE } from "../../js/loader.mjs";

const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const RUN_MS = Number(process.env.INSPECTOR_RUN_MS || 2500);
let server, browser, page;
const pageErrors = [];

before(async () => {
  assert.ok(existsSync(defaultWasm()), `asrt not built: ${defaultWasm()}`);
  assert.ok(existsSync(CHROMIUM), `Chromium not found: ${CHROMIUM}`);
  // the AssemblyScript workload: asrt's assemblyscript build and the program (compiled when stale)
  assert.ok(existsSync(defaultRuntime()), `asrt's assemblyscript build not built: ${defaultRuntime()} (scripts/build.sh asc)`);
  await buildAscProgram(() => {});
  const s = await serve({ port: 0 });
  server = s.server;
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"] });
  page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.on("pageerror", (e) => pageErrors.push(String(e)));
  await page.goto(s.url);
  await page.waitForFunction(() => window.inspector?.ready === true, null, { timeout: 30000 });
});

after(async () => {
  await browser?.close();
  server?.close();
});

// The test's own reading of the heap, independent of inspector/heap.mjs: the stats into a
// stack-region buffer of its own, and a walk of the block chain counting blocks and managed
// objects (gcInfo bit 3) region by region.
function readTruth() {
  const { raw, memory } = window.inspector;
  const OUT = 1024;
  raw.__gc_stats(OUT);
  const dv = new DataView(memory.buffer, OUT, 64);
  const names = ["heapBytes", "usedBytes", "freeBytes", "largestFree", "liveObjects", "collections", "steps", "totalAllocated"];
  const stats = Object.fromEntries(names.map((n, i) => [n, Number(dv.getBigUint64(8 * i, true))]));
  const u32 = new Uint32Array(memory.buffer);
  // asrt hosting an AssemblyScript program: its heap starts above the program's static data
  const program = window.inspector.program;
  const base = program ? program.__asrt_heap_base() : raw.__heap_base.value;
  let addr = (base + 15) & ~15, blocks = 0, managed = 0, pinned = 0, gray = 0, black = 0;
  while (addr) {
    const mm = u32[addr >>> 2], gc = u32[(addr >>> 2) + 1];
    blocks++;
    if (!(mm & 1) && gc & 8) { managed++; if (gc & 4) pinned++; else if ((gc & 3) === 2) gray++; else if ((gc & 3) === 3) black++; }
    if (!(mm & 1) && !(gc & 8) && (gc & 3) === 2) addr = u32[(addr >>> 2) + 3]; // sentinel: next region or 0
    else addr += (mm & ~3) + 4;
  }
  return { stats, blocks, managed, pinned, gray, black, phase: raw.__gc_phase(), heapCheck: raw.__heap_check() };
}

async function shown() {
  return page.evaluate(() => {
    const num = (id) => Number(document.getElementById(id).textContent.replace(/,/g, ""));
    const names = ["heapBytes", "usedBytes", "freeBytes", "largestFree", "liveObjects", "collections", "steps", "totalAllocated"];
    const counts = Object.fromEntries(["free", "white", "gray", "black", "pinned", "static", "unmanaged", "internal"].map((s) => [s, num(`count-${s}`)]));
    return {
      stats: Object.fromEntries(names.map((n) => [n, num(`stat-${n}`)])),
      blocks: num("count-blocks"), counts, phase: document.getElementById("phase").textContent,
      ticks: num("stat-ticks"), error: document.getElementById("error").textContent,
    };
  });
}

async function agree(label) {
  const [s, t] = [await shown(), await page.evaluate(readTruth)];
  assert.equal(s.error, "", `${label}: the page reports an error`);
  assert.deepEqual(s.stats, t.stats, `${label}: the figures shown are __gc_stats's`);
  assert.equal(s.blocks, t.blocks, `${label}: the block count shown is the heap walk's`);
  assert.equal(s.counts.white + s.counts.gray + s.counts.black + s.counts.pinned, t.stats.liveObjects, `${label}: managed blocks drawn = live objects`);
  assert.equal(s.counts.pinned, t.pinned, `${label}: pinned blocks`);
  assert.equal(s.counts.gray, t.gray, `${label}: gray blocks`);
  assert.equal(s.phase, ["idle", "mark", "sweep"][t.phase], `${label}: phase`);
  assert.equal(t.heapCheck, 0, `${label}: __heap_check`);
  return { s, t };
}

const click = (id) => page.click(`#${id}`);

// The AssemblyScript program's static objects (at ASRT_MEMORY_BASE and above, outside asrt's
// heap), as the page drew them: each must be a static with the header the program's data gives
// it, and none may be inside the heap.
function checkAscStatics(base) {
  const { state, memory, program } = window.inspector;
  const u32 = new Uint32Array(memory.buffer);
  const rtti = program.__asrt_rtti_base(), heapStart = (program.__asrt_heap_base() + 15) & ~15;
  const bad = state.walk.statics.filter((b) => b.state !== "static" || b.ref % 16 !== 0 || b.ref < base + 32 ||
    b.ref >= rtti || u32[(b.ref - 8) >>> 2] !== b.rtId || u32[(b.ref - 4) >>> 2] !== b.rtSize || b.addr + b.size > rtti);
  const strings = state.walk.statics.filter((b) => b.rtId === 2).length;
  return { count: state.walk.statics.length, strings, bad: bad.length, below: state.walk.blocks.filter((b) => b.addr < heapStart).length };
}

for (const workload of ["binary-trees", "string-churn", "object-graph", "leak", "assemblyscript"]) {
  test(`workload ${workload}: run, pause, step, collect`, async () => {
    await page.selectOption("#workload", workload);
    const before = await page.evaluate(readTruth);
    await click("start");
    await page.waitForTimeout(RUN_MS);
    await click("pause");
    const { s, t } = await agree(`${workload} after running`);
    assert.ok(s.ticks > 0, "the workload ran");
    assert.ok(t.stats.totalAllocated > before.stats.totalAllocated, "the workload allocated");
    if (workload === "leak") assert.ok(t.pinned > before.pinned + 100, `the leak pins (${before.pinned} -> ${t.pinned})`);
    if (workload === "assemblyscript") {
      assert.ok(await page.evaluate(() => window.inspector.program !== null), "the page draws the AssemblyScript program's instance");
      const st = await page.evaluate(checkAscStatics, ASRT_MEMORY_BASE);
      // the program's string literals (its names, the template literals' pieces) at least
      assert.ok(st.strings >= 5, `static Strings drawn (${st.strings} of ${st.count})`);
      assert.equal(st.bad, 0, "every static drawn has the program's header, below its RTTI");
      assert.equal(st.below, 0, "no heap block below the program's heap base");
      assert.equal(s.counts.static, st.count, "the static count shown");
    }

    // reading the heap does not change it
    await page.evaluate(() => window.inspector.render());
    const again = await page.evaluate(readTruth);
    assert.deepEqual(again.stats, t.stats, "a render changes no figure of __gc_stats");

    await click("step");
    const stepped = await agree(`${workload} after a step`);
    assert.equal(stepped.t.stats.steps, t.stats.steps + 1, "one GC step");

    await click("collect");
    const collected = await agree(`${workload} after collect`);
    assert.ok(collected.t.stats.collections >= t.stats.collections + 1, "collect completes a cycle");
    assert.equal(collected.t.phase, 0, "idle after collect");
    assert.equal(collected.s.counts.black + collected.s.counts.gray, 0, "nothing black or gray while idle");
  });
}

test("hovering a block shows its header", async () => {
  const box = await page.locator("#heap").boundingBox();
  const probe = await page.evaluate(() => {
    // a pixel inside the first managed heap block that is at least 2 pixels long
    const L = window.inspector.state.layout;
    for (let i = 0; i < L.all.length - 1; i++) {
      const b = L.all[i];
      if (b.state !== "free" && b.state !== "static" && L.starts[i + 1] - L.starts[i] >= 2) {
        const p = Math.ceil(L.starts[i]);
        return { x: p % 1024, y: Math.floor(p / 1024), addr: b.addr, size: b.size, rtSize: b.rtSize };
      }
    }
    return null;
  });
  assert.ok(probe, "a block to hover");
  await page.mouse.move(box.x + probe.x + 0.5, box.y + probe.y + 0.5);
  const tip = await page.textContent("#tip");
  assert.match(tip, new RegExp(`block 0x${probe.addr.toString(16)} `));
  assert.match(tip, new RegExp(`size ${probe.size} bytes`));
  assert.match(tip, new RegExp(`rtSize ${probe.rtSize}`));
  assert.match(tip, /type \S+/);
  assert.match(tip, /state \w+/);
});

test("the heap map is drawn (screenshot not blank)", async () => {
  const png = await page.locator("#heap").screenshot();
  const colors = await page.evaluate(async (b64) => {
    const img = new Image();
    img.src = `data:image/png;base64,${b64}`;
    await img.decode();
    const c = new OffscreenCanvas(img.width, img.height);
    const ctx = c.getContext("2d");
    ctx.drawImage(img, 0, 0);
    const d = new Uint32Array(ctx.getImageData(0, 0, img.width, img.height).data.buffer);
    const count = new Map();
    for (const v of d) count.set(v, (count.get(v) ?? 0) + 1);
    return [...count.values()].sort((a, b) => b - a).slice(0, 8).map((n) => n / d.length);
  }, png.toString("base64"));
  assert.ok(colors.length >= 3, `at least 3 colors in the map (${colors.length})`);
  assert.ok(colors[0] < 0.98, `no single color fills the map (${colors[0]})`);
  assert.deepEqual(pageErrors, [], "no page errors");
});
