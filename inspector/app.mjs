// The heap inspector page: loads asrt (js/loader.mjs, /asrt.wasm from inspector/serve.mjs), runs
// the chosen workload one tick per animation frame, and after every frame (or control) reads the
// heap through memory views (heap.mjs) and draws it. `window.inspector` is what the end-to-end
// test (inspector/test/e2e.mjs) looks at.
import { instantiate, instantiateAssemblyScript } from "/js/loader.mjs";
import { walkHeap, readStats, typeNames, STATES, STATE_COLORS, STAT_NAMES } from "./heap.mjs";
import { WORKLOADS } from "./workloads.mjs";

const $ = (id) => document.getElementById(id);
const heapCanvas = $("heap"), timeline = $("timeline");
const PHASES = ["idle", "mark", "sweep"];
const TIMELINE_LEN = 300;

const state = { running: false, workload: null, name: null, ticks: 0, pauses: [], walk: null, stats: null, phase: 0, layout: null, error: null };

// Two instances: asrt's default build for the ABI-driven workloads, and (when the server has
// them: scripts/inspect.sh builds them) asrt's `assemblyscript` build hosting a program compiled
// by js/asc.mjs, for the workloads marked `asc`. `cur` is the one the chosen workload runs on:
// `ex` its loader exports, `raw` asrt's raw exports, `program` the AS program's exports or null.
const instances = {};
{
  const { exports, instance } = await instantiate(fetch("/asrt.wasm"));
  instances.asrt = { ex: exports, raw: instance.exports, memory: instance.exports.memory, program: null };
}
try {
  const [prog, rt] = await Promise.all([fetch("/asc-program.wasm"), fetch("/asc-runtime.wasm")]);
  if (!prog.ok || !rt.ok) throw new Error(`the AssemblyScript program is not built (HTTP ${prog.status}, ${rt.status}; scripts/inspect.sh builds it)`);
  const { exports, runtime } = await instantiateAssemblyScript(prog, {}, { runtime: rt });
  instances.asc = { ex: exports, raw: runtime, memory: runtime.memory, program: exports };
} catch (e) {
  instances.ascError = String(e.message ?? e);
}
for (const inst of Object.values(instances)) {
  if (inst.raw) inst.names = typeNames(inst.raw, inst.memory, inst.ex.__typeIds);
}
let cur = instances.asrt;

for (const [key, w] of Object.entries(WORKLOADS)) {
  const o = new Option(w.label, key);
  if (w.asc && !instances.asc) { o.disabled = true; o.title = instances.ascError; }
  $("workload").add(o);
}
$("legend").innerHTML = STATES.map((s) => `<span><i style="background:${STATE_COLORS[s]}"></i>${s}</span>`).join("");
$("stats").innerHTML = STAT_NAMES.map((n) => `<tr><td>${n}</td><td class="n" id="stat-${n}">–</td></tr>`).join("") +
  `<tr><td>phase</td><td class="n" id="stat-phase">–</td></tr><tr><td>ticks</td><td class="n" id="stat-ticks">0</td></tr>`;
$("counts").innerHTML = STATES.map((s) => `<tr><td><i style="display:inline-block;width:10px;height:10px;background:${STATE_COLORS[s]};border:1px solid #888"></i> ${s}</td><td class="n" id="count-${s}">–</td></tr>`).join("") +
  `<tr><td><b>heap blocks</b></td><td class="n" id="count-blocks">–</td></tr>`;

function ensureWorkload() {
  const name = $("workload").value;
  if (state.name !== name) {
    useInstance(name);
    state.workload = WORKLOADS[name].create(cur.ex, cur.memory);
    state.name = name;
  }
}

// the instance the workload `name` runs on (drawn from then on)
function useInstance(name) {
  const next = WORKLOADS[name].asc ? instances.asc : instances.asrt;
  if (!next) throw new Error(instances.ascError);
  if (next !== cur) { cur = next; state.pauses = []; }
}
$("workload").addEventListener("change", () => { useInstance($("workload").value); render(); });

// one tick of the workload, timed, with the step counter before and after
function tick() {
  ensureWorkload();
  const s0 = readStats(cur.raw, cur.memory).steps;
  const t0 = performance.now();
  state.workload.tick();
  const ms = performance.now() - t0;
  const steps = readStats(cur.raw, cur.memory).steps - s0;
  state.pauses.push({ ms, steps, kind: "tick" });
  state.ticks++;
}

function explicit(kind, fn) {
  const s0 = readStats(cur.raw, cur.memory).steps;
  const t0 = performance.now();
  fn();
  state.pauses.push({ ms: performance.now() - t0, steps: readStats(cur.raw, cur.memory).steps - s0, kind });
  render();
}

// ---- reading and drawing ----------------------------------------------------------------------
function render() {
  try {
    // the stats first: asrt builds its heap at the first export call (ABI §1.1), so the walk
    // of a fresh instance must come after one
    state.stats = readStats(cur.raw, cur.memory);
    state.phase = cur.raw.__gc_phase();
    state.walk = walkHeap(cur.raw, cur.memory, cur.program);
  } catch (e) {
    state.error = String(e.stack ?? e);
    $("error").textContent = state.error;
    return;
  }
  for (const n of STAT_NAMES) $(`stat-${n}`).textContent = state.stats[n].toLocaleString("en-US");
  $("stat-phase").textContent = PHASES[state.phase];
  $("stat-ticks").textContent = state.ticks.toLocaleString("en-US");
  $("phase").textContent = PHASES[state.phase];
  for (const s of STATES) $(`count-${s}`).textContent = state.walk.counts[s].toLocaleString("en-US");
  $("count-blocks").textContent = state.walk.blocks.length.toLocaleString("en-US");
  $("error").textContent = state.error ?? (state.walk.error ? `heap walk stopped: ${state.walk.error}` : "");
  drawHeap();
  drawTimeline();
}

// Every block gets a run of pixels in row-major order, proportional to its bytes; the named
// statics come first. `state.layout` keeps the blocks and their first pixel for hovering.
function drawHeap() {
  const { width: W, height: H } = heapCanvas;
  const ctx = heapCanvas.getContext("2d");
  const img = ctx.createImageData(W, H);
  const px = new Uint32Array(img.data.buffer);
  const all = [...state.walk.statics, ...state.walk.blocks];
  const total = all.reduce((n, b) => n + b.size, 0);
  const scale = (W * H) / total; // pixels per byte
  const rgba = Object.fromEntries(STATES.map((s) => {
    const c = STATE_COLORS[s];
    const [r, g, b] = [1, 3, 5].map((i) => parseInt(c.slice(i, i + 2), 16));
    return [s, (255 << 24) | (b << 16) | (g << 8) | r];
  }));
  const starts = new Float64Array(all.length);
  let at = 0;
  for (let i = 0; i < all.length; i++) {
    starts[i] = at;
    const from = Math.floor(at), to = Math.max(from + 1, Math.floor(at + all[i].size * scale));
    px.fill(rgba[all[i].state], from, Math.min(to, px.length));
    at += all[i].size * scale;
  }
  // block borders where blocks are at least 4 pixels long: a darker first pixel
  for (let i = 0; i < all.length; i++) {
    if (all[i].size * scale >= 4) px[Math.floor(starts[i])] = 0xff808080;
  }
  ctx.putImageData(img, 0, 0);
  state.layout = { all, starts, scale };
  $("mapscale").textContent = `${total.toLocaleString("en-US")} bytes in ${all.length.toLocaleString("en-US")} blocks, ${(1 / scale).toFixed(1)} bytes per pixel.`;
}

function drawTimeline() {
  const { width: W, height: H } = timeline;
  const ctx = timeline.getContext("2d");
  ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, W, H);
  const recent = state.pauses.slice(-TIMELINE_LEN);
  const max = Math.max(1, ...recent.map((p) => p.ms));
  const bw = W / TIMELINE_LEN;
  recent.forEach((p, i) => {
    ctx.fillStyle = p.kind === "collect" ? "#6a3d9a" : p.kind === "step" ? "#1f77b4" : p.steps > 0 ? "#d62728" : "#999";
    const h = Math.max(1, (p.ms / max) * (H - 14));
    ctx.fillRect(i * bw, H - h, Math.max(1, bw - 1), h);
  });
  ctx.fillStyle = "#000"; ctx.font = "11px sans-serif";
  ctx.fillText(`max ${max.toFixed(2)} ms`, 4, 11);
}

function blockAtPixel(x, y) {
  const L = state.layout;
  if (!L) return null;
  const p = y * heapCanvas.width + x;
  let lo = 0, hi = L.all.length - 1;
  while (lo < hi) { const mid = (lo + hi + 1) >> 1; if (L.starts[mid] <= p) lo = mid; else hi = mid - 1; }
  return L.all[lo] ?? null;
}

export function describe(b) {
  const hex = (n) => `0x${n.toString(16)}`;
  if (b.state === "free") return `free block at ${hex(b.addr)}\nsize ${b.size} bytes`;
  const type = b.rtId === 0xffffffff ? "(untyped)" : cur.names.get(b.rtId) ?? `id ${b.rtId}`;
  return `${b.name ? `static "${b.name}"\n` : ""}block ${hex(b.addr)} (ref ${hex(b.ref ?? b.addr + 16)})\nsize ${b.size} bytes\n` +
    `type ${type} (rtId ${b.rtId === 0xffffffff ? "-1" : b.rtId})\nrtSize ${b.rtSize}\nstate ${b.state}${b.color ? `, color ${b.color}` : ""}\ngcInfo ${hex(b.gcInfo)}`;
}

heapCanvas.addEventListener("mousemove", (e) => {
  const r = heapCanvas.getBoundingClientRect();
  const b = blockAtPixel(Math.floor(e.clientX - r.left), Math.floor(e.clientY - r.top));
  const tip = $("tip");
  if (!b) { tip.style.display = "none"; return; }
  tip.textContent = describe(b);
  tip.style.left = `${e.clientX + 14}px`; tip.style.top = `${e.clientY + 14}px`; tip.style.display = "block";
});
heapCanvas.addEventListener("mouseleave", () => { $("tip").style.display = "none"; });

// ---- controls ---------------------------------------------------------------------------------
function loop() {
  if (!state.running) return;
  try { tick(); } catch (e) { state.error = String(e.stack ?? e); $("error").textContent = state.error; setRunning(false); }
  render();
  if (state.running) requestAnimationFrame(loop);
}
function setRunning(on) {
  state.running = on;
  $("start").disabled = on; $("pause").disabled = !on; $("workload").disabled = on;
  $("runstate").textContent = on ? "running" : "paused";
}
$("start").onclick = () => { if (!state.running) { setRunning(true); requestAnimationFrame(loop); } };
$("pause").onclick = () => { setRunning(false); render(); };
$("step").onclick = () => explicit("step", () => cur.raw.__gc_step());
$("collect").onclick = () => explicit("collect", () => cur.raw.__collect());

setRunning(false);
render();
window.inspector = {
  state, render, describe, blockAtPixel, instances, ready: true,
  // the instance drawn now: loader exports, asrt's raw exports, memory, the AS program or null
  get exports() { return cur.ex; }, get raw() { return cur.raw; }, get memory() { return cur.memory; },
  get program() { return cur.program; },
};
