// Reads an asrt heap through memory views only (docs/ABI.md §1.2 regions, §2.1 header, §2.2
// gcInfo). Nothing here calls an export that changes the heap: `readStats` calls the read-only
// `__gc_stats` with its output in the native stack region (ABI §5.6 rule 3), so no block is
// allocated for it, and `__gc_phase` does no work.
// "../js/loader.mjs" is /js/loader.mjs in the page (inspector/serve.mjs) and the repository's in node.
import { ASRT_MEMORY_BASE } from "../js/loader.mjs";

export const STATES = ["free", "white", "gray", "black", "pinned", "static", "unmanaged", "internal"];
export const STATE_COLORS = {
  free: "#c7e9c0", white: "#ffffff", gray: "#9a9a9a", black: "#202020",
  pinned: "#d62728", static: "#1f77b4", unmanaged: "#ff9f1c", internal: "#6a3d9a",
};
export const COLOR_NAMES = ["White0", "White1", "Gray", "Black"];
const MANAGED = 8, PINNED = 4;

// 64 bytes at the bottom of the native stack ([0, 64 KiB) with --stack-first): the stack grows
// down from its top, so at rest (no wasm frame live) these bytes belong to nobody.
export const STATS_OUT = 256;
export const STAT_NAMES = ["heapBytes", "usedBytes", "freeBytes", "largestFree", "liveObjects", "collections", "steps", "totalAllocated"];

export function readStats(raw, memory) {
  raw.__gc_stats(STATS_OUT);
  const v = new DataView(memory.buffer, STATS_OUT, 64);
  const out = {};
  STAT_NAMES.forEach((n, i) => { out[n] = Number(v.getBigUint64(i * 8, true)); });
  return out;
}

/** Type names by id: the fixed ids of the profile and every exported `__id_<Name>`. */
export function typeNames(raw, memory, fixedIds) {
  const names = new Map();
  for (const [name, id] of Object.entries(fixedIds ?? {})) names.set(id, name);
  const u32 = new Uint32Array(memory.buffer);
  for (const [key, g] of Object.entries(raw)) {
    if (key.startsWith("__id_") && g instanceof WebAssembly.Global) names.set(u32[g.value >>> 2], key.slice(5));
  }
  return names;
}

/** The header fields and state of the block at `addr`. */
export function blockAt(u32, addr) {
  const w = addr >>> 2;
  const mm = u32[w], gc = u32[w + 1];
  const size = (mm & ~3) + 4;
  if (mm & 1) return { addr, size, state: "free", gcInfo: 0, rtId: -1, rtSize: 0 };
  const rtId = u32[w + 2], rtSize = u32[w + 3];
  let state, color = null;
  if (gc & MANAGED) {
    color = COLOR_NAMES[gc & 3];
    state = gc & PINNED ? "pinned" : ["white", "white", "gray", "black"][gc & 3];
  } else {
    state = (gc & 3) === 0 ? "unmanaged" : "internal"; // kind 1 Internal, 2 Sentinel
  }
  return { addr, size, state, gcInfo: gc, color, rtId, rtSize, sentinel: !(gc & MANAGED) && (gc & 3) === 2 };
}

/** Where an AssemblyScript program's static data starts (the loader's value). */
export const ASC_STATIC_BASE = ASRT_MEMORY_BASE;
const ASC_HEADER = 20;

/**
 * The static objects of an AssemblyScript program hosted by asrt (docs/ABI.md §8.3): data from
 * ASC_STATIC_BASE to its RTTI table, each object with AssemblyScript's 20-byte header (mmInfo at
 * ref - 20: the block's size - 4; rtId at ref - 8, rtSize at ref - 4), refs 16-aligned. A word
 * that does not read as such a header is skipped 16 bytes at a time. Each
 * `{ addr: ref - 20, ref, size, state: "static", rtId, rtSize }`.
 */
export function ascStatics(u32, program) {
  const out = [];
  const rtti = program.__asrt_rtti_base() >>> 0;
  const types = u32[rtti >>> 2];
  // the first ref with room for a header above the base is base + 32
  for (let addr = ASC_STATIC_BASE + 32 - ASC_HEADER; addr + ASC_HEADER <= rtti;) {
    const w = addr >>> 2, mm = u32[w];
    const size = (mm & ~3) + 4, rtId = u32[w + 3], rtSize = u32[w + 4];
    if (size >= 2 * 16 && addr + size <= rtti && rtId < types && rtSize <= size - ASC_HEADER && size % 16 === 0) {
      out.push({ addr, ref: addr + ASC_HEADER, size, state: "static", gcInfo: 0, color: null, rtId, rtSize });
      addr += size;
    } else {
      addr += 16;
    }
  }
  return out;
}

/**
 * Walks every region of the heap (ABI §1.2): blocks in address order, each
 * `{ addr, size, state, gcInfo, color, rtId, rtSize }`, plus the named static objects (the
 * exported `__static_<name>` globals) in front, with state "static". With `program` (the raw
 * exports of an AssemblyScript program asrt hosts) the heap starts above its static data, and
 * the statics are the program's (ascStatics). Returns
 * `{ blocks, heapStart, end, counts }`; stops (with `error`) at a block that cannot be walked.
 */
export function walkHeap(raw, memory, program = null) {
  const u32 = new Uint32Array(memory.buffer);
  const end = memory.buffer.byteLength;
  // asrt hosting an AssemblyScript program: its heap starts above the program's static data
  const heapStart = ((program ? program.__asrt_heap_base() : raw.__heap_base.value) + 15) & ~15;
  const blocks = [];
  const statics = program ? ascStatics(u32, program) : [];
  for (const [key, g] of Object.entries(program ? {} : raw)) {
    if (!key.startsWith("__static_") || !(g instanceof WebAssembly.Global)) continue;
    const ref = u32[g.value >>> 2];
    if (!ref || ref >= heapStart) continue;
    const b = blockAt(u32, ref - 16);
    statics.push({ ...b, state: "static", name: key.slice(9) });
  }
  statics.sort((a, b) => a.addr - b.addr);
  let addr = heapStart, error = null;
  for (let guard = end >>> 4; guard > 0 && addr !== 0; guard--) {
    if (addr & 15 || addr + 16 > end) { error = `block at ${addr} outside memory`; break; }
    const b = blockAt(u32, addr);
    if (b.size < 16 || addr + b.size > end) { error = `bad block size at ${addr}`; break; }
    blocks.push(b);
    addr = b.sentinel ? b.rtSize : addr + b.size; // a sentinel's rtSize: the next region, or 0
  }
  const counts = Object.fromEntries(STATES.map((s) => [s, 0]));
  for (const b of blocks) counts[b.state]++;
  counts.static = statics.length;
  return { blocks, statics, heapStart, end, counts, error };
}
