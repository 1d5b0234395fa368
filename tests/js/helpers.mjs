// Shared helpers for the tests in tests/js: load the release module from disk as a user would
// (plain WebAssembly.instantiate, an `env.abort` that decodes the message and throws), and read
// headers, statistics and type ids through fresh typed-array views.
//
//   import { load, AbortError, expectAbort } from "./helpers.mjs";
//   const rt = await load();                 // ASRT_WASM or target/wasm32-unknown-unknown/release/asrt.wasm
//   const p = rt.exports.__alloc(10);
//   rt.header(p)                             // { mmInfo, gcInfo, rtId, rtSize }
//   rt.stats()                               // the 8 figures of __gc_stats, as Numbers
//
// Views are never cached: every accessor builds a new view of `memory.buffer`, because
// memory.grow detaches the old ArrayBuffer.
import { readFileSync, existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/** Header offsets from a ref, and the bits of mmInfo / gcInfo (docs/ABI.md §2, src/object.rs). */
export const HEADER = 16;
export const FREE = 1;
export const LEFTFREE = 2;
export const PINNED = 4;
export const MANAGED = 8;
export const WHITE0 = 0;
export const WHITE1 = 1;
export const GRAY = 2;
export const BLACK = 3;
export const MAX_PAYLOAD = 2 ** 30 - 16;

/** RTTI flag bits (docs/ABI.md §3). */
export const F = {
  ARRAYBUFFERVIEW: 1 << 0,
  ARRAY: 1 << 1,
  STATICARRAY: 1 << 2,
  POINTERFREE: 1 << 5,
  VALUE_ALIGN_2: 1 << 8,
  VALUE_MANAGED: 1 << 14,
};

/** Names of the __gc_stats figures, in ABI order. */
export const STAT_NAMES = [
  "heapBytes",
  "used",
  "free",
  "largestFree",
  "liveObjects",
  "collections",
  "steps",
  "totalAllocated",
];

/** Where a module is: the env variable if set (relative to cwd), else the default under the repo. */
export function wasmPath(envName = "ASRT_WASM", fallback = "target/wasm32-unknown-unknown/release/asrt.wasm") {
  const v = process.env[envName];
  return v ? resolve(v) : join(REPO, fallback);
}

/** Thrown by the `env.abort` import: the runtime rejected something. */
export class AbortError extends Error {
  constructor(message, file, line, column, msgRef) {
    super(`abort: ${message || "<no message>"} (${file || "?"}:${line}:${column})`);
    this.name = "AbortError";
    this.abortMessage = message;
    this.file = file;
    this.line = line;
    this.column = column;
    this.msgRef = msgRef;
  }
}

/** Decodes the String at `ref` (UTF-16LE, byte length = rtSize at ref - 4) from `memory`. */
export function readStringFrom(memory, ref) {
  if (!ref) return null;
  const buf = memory.buffer;
  if (ref < 4 || ref > buf.byteLength) return null;
  const bytes = new Uint32Array(buf, ref - 4, 1)[0];
  if (ref + bytes > buf.byteLength) return null;
  const units = new Uint16Array(buf.slice(ref, ref + (bytes & ~1)));
  let s = "";
  for (let i = 0; i < units.length; i += 4096) s += String.fromCharCode(...units.subarray(i, i + 4096));
  return s;
}

/** The module's bytes (compiled once per path). */
const moduleCache = new Map();
export function compiled(path = wasmPath()) {
  if (!moduleCache.has(path)) {
    if (!existsSync(path)) throw new Error(`asrt module not found at ${path}: build it (scripts/build.sh) or set ASRT_WASM`);
    moduleCache.set(path, new WebAssembly.Module(readFileSync(path)));
  }
  return moduleCache.get(path);
}

/** Whether a compiled module imports `env.memory` (the import-memory build). */
export function importsMemory(module) {
  return WebAssembly.Module.imports(module).some((i) => i.module === "env" && i.name === "memory" && i.kind === "memory");
}

/**
 * Instantiates the module at `path` with `env.abort` throwing an AbortError. `extraImports` are
 * merged in (e.g. rtrace's); `memory` is the host memory of an import-memory build. Returns a
 * Runtime wrapper.
 */
export async function load({ path = wasmPath(), imports: extraImports = {}, memory = null } = {}) {
  const rt = new Runtime();
  const env = {
    abort(msg, file, line, col) {
      const memory = rt.memory;
      const m = memory ? readStringFrom(memory, msg) : null;
      const f = memory ? readStringFrom(memory, file) : null;
      rt.aborts.push({ msg, message: m, file: f, line, col });
      throw new AbortError(m, f, line, col, msg);
    },
  };
  // An import-memory build gets a host memory: `memory`, else one of the default layout's 32
  // initial pages (layout.toml [memory]), growable without a maximum like the defining builds.
  if (importsMemory(compiled(path))) env.memory = memory ?? new WebAssembly.Memory({ initial: 32 });
  const imports = { ...extraImports, env: { ...(extraImports.env || {}), ...env } };
  const instance = await WebAssembly.instantiate(compiled(path), imports);
  rt.instance = instance;
  rt.exports = instance.exports;
  rt.memory = instance.exports.memory;
  return rt;
}

/**
 * The two profiles of docs/ABI.md §3: the fixed type ids in id order, and the RTTI entry size
 * (classic `{ flags, base }`, modern `{ flags }`).
 */
export const PROFILES = {
  classic: { fixed: ["ArrayBuffer", "String", "ArrayBufferView"], entryBytes: 8 },
  modern: { fixed: ["Object", "ArrayBuffer", "String", "ArrayBufferView"], entryBytes: 4 },
};

/**
 * Why `rt` is not a build of `profile`, or null when it is. Three independent facts must agree:
 * every RTTI entry read at the profile's stride equals `__typeinfo(id)` (the table's shape), the
 * fixed ids have their types' flags (ArrayBuffer and String POINTERFREE, ArrayBufferView not),
 * and the static `__static_greeting` String, when exported, carries the profile's String id.
 * Flags alone are not enough: Object (modern id 0) is POINTERFREE like ArrayBuffer (classic id 0).
 */
function profileMismatch(rt, profile) {
  const { fixed, entryBytes } = PROFILES[profile];
  const base = rt.exports.__rtti_base.value;
  const count = rt.load32(base);
  if (count < fixed.length) return `${count} ids, fewer than the ${fixed.length} fixed ones`;
  for (let id = 0; id < count; id++) {
    const flags = rt.exports.__typeinfo(id) >>> 0;
    const entry = rt.load32(base + 4 + entryBytes * id);
    if (flags !== entry) return `__typeinfo(${id}) = ${flags} but the ${entryBytes}-byte entry holds ${entry}`;
  }
  const flagsOf = (name) => rt.load32(base + 4 + entryBytes * fixed.indexOf(name));
  for (const name of ["ArrayBuffer", "String"]) {
    if (!(flagsOf(name) & F.POINTERFREE)) return `${name} (id ${fixed.indexOf(name)}) is not POINTERFREE`;
  }
  if (flagsOf("ArrayBufferView") & F.POINTERFREE) return `ArrayBufferView (id ${fixed.indexOf("ArrayBufferView")}) is POINTERFREE`;
  const greeting = rt.exports.__static_greeting;
  if (greeting instanceof WebAssembly.Global) {
    const rtId = rt.header(rt.load32(greeting.value)).rtId;
    if (rtId !== fixed.indexOf("String")) return `__static_greeting has rtId ${rtId}, not String's ${fixed.indexOf("String")}`;
  }
  return null;
}

/** The profile of the build behind `rt`; throws unless exactly one profile fits. */
export function detectProfile(rt) {
  const why = Object.fromEntries(Object.keys(PROFILES).map((p) => [p, profileMismatch(rt, p)]));
  const fits = Object.keys(why).filter((p) => why[p] === null);
  if (fits.length !== 1) {
    const detail = Object.entries(why).map(([p, w]) => `${p}: ${w ?? "fits"}`).join("; ");
    throw new Error(`cannot tell the build profile (${fits.length} fit): ${detail}`);
  }
  return fits[0];
}

/** Scratch address below the heap for __gc_stats (low end of the Rust stack, never reached). */
const SCRATCH = 256;

export class Runtime {
  constructor() {
    this.instance = null;
    this.exports = null;
    this.memory = null;
    this.aborts = [];
    this._profile = null;
  }
  get u8() {
    return new Uint8Array(this.memory.buffer);
  }
  get u32() {
    return new Uint32Array(this.memory.buffer);
  }
  get i32() {
    return new Int32Array(this.memory.buffer);
  }
  get byteLength() {
    return this.memory.buffer.byteLength;
  }
  /** `__heap_base` rounded up to 16: where the first block starts. */
  get heapStart() {
    return (this.exports.__heap_base.value + 15) & ~15;
  }
  load32(addr) {
    assert.equal(addr % 4, 0, `unaligned load at ${addr}`);
    return this.u32[addr >>> 2];
  }
  store32(addr, value) {
    assert.equal(addr % 4, 0, `unaligned store at ${addr}`);
    this.u32[addr >>> 2] = value;
  }
  /** The four header words of `ref`. */
  header(ref) {
    const u = this.u32;
    const b = (ref - HEADER) >>> 2;
    return { mmInfo: u[b], gcInfo: u[b + 1], rtId: u[b + 2], rtSize: u[b + 3] };
  }
  /** The block extent `4 + (mmInfo & ~3)` of the block behind `ref`. */
  blockSize(ref) {
    return 4 + (this.header(ref).mmInfo & ~3);
  }
  color(ref) {
    return this.header(ref).gcInfo & 3;
  }
  /** The 8 figures of __gc_stats as Numbers (they fit in 2^53). */
  stats() {
    this.exports.__gc_stats(SCRATCH);
    const v = new DataView(this.memory.buffer, SCRATCH, 64);
    const out = {};
    STAT_NAMES.forEach((n, i) => (out[n] = Number(v.getBigUint64(8 * i, true))));
    return out;
  }
  check() {
    return this.exports.__heap_check();
  }
  /** A copy of the heap region, from the first block to the end of memory. */
  snapshot() {
    return new Uint8Array(this.memory.buffer).slice(this.heapStart);
  }
  /**
   * Walks the heap's blocks in address order (docs/ABI.md §2 extents; a region ends in a 16-byte
   * sentinel whose rtSize holds the next region's start, see src/heap/mod.rs). Returns
   * `[{ block, size, free, gcInfo, rtId, rtSize }]`. Throws on a malformed chain.
   */
  blocks() {
    const u = this.u32;
    const end = this.byteLength;
    const out = [];
    let at = this.heapStart;
    let guard = 0;
    while (at) {
      if (at % 16 || at + 16 > end || ++guard > 1e7) throw new Error(`heap walk: bad block address ${at}`);
      const b = at >>> 2;
      const mm = u[b];
      const size = 4 + (mm & ~3);
      const free = (mm & FREE) !== 0;
      const sentinel = !free && size === 16 && u[b + 1] === 2 && u[b + 2] === 0xffffffff;
      if (sentinel) {
        at = u[b + 3];
        continue;
      }
      out.push({ block: at, size, free, gcInfo: free ? 0 : u[b + 1], rtId: free ? 0 : u[b + 2], rtSize: free ? 0 : u[b + 3] });
      at += size;
    }
    return out;
  }
  /** Set of the refs of every used managed heap block. */
  liveRefs() {
    return new Set(this.blocks().filter((b) => !b.free && b.gcInfo & MANAGED).map((b) => b.block + HEADER));
  }
  readString(ref) {
    return readStringFrom(this.memory, ref);
  }
  /** Allocates a String holding `s` (via __new with the String id). */
  newString(s) {
    const ref = this.exports.__new(s.length * 2, this.typeId("String"));
    const u16 = new Uint16Array(this.memory.buffer, ref, s.length);
    for (let i = 0; i < s.length; i++) u16[i] = s.charCodeAt(i);
    return ref;
  }

  // ----- RTTI -----

  /** "classic" or "modern" (docs/ABI.md §3), detected once by `detectProfile`. */
  get profile() {
    this._profile ??= detectProfile(this);
    return this._profile;
  }
  /**
   * The id of a type by name: `__id_<name>` when exported (a global holding the address of a u32
   * holding the id), else the fixed ids and the default layout.toml order as a fallback.
   */
  typeId(name) {
    const g = this.exports[`__id_${name}`];
    if (g instanceof WebAssembly.Global) return this.load32(g.value);
    const fixed = PROFILES[this.profile].fixed;
    const layout = ["ArrayString", "ArrayI32", "ArrayF64", "StaticArrayString", "Int32Array", "Float64Array", "Uint8Array", "TreeNode"];
    const i = [...fixed, ...layout].indexOf(name);
    if (i < 0) throw new Error(`unknown type ${name}`);
    return i;
  }
  /** Number of type ids in the RTTI table. */
  get typeCount() {
    return this.load32(this.exports.__rtti_base.value);
  }

  // ----- roots -----

  /** The ref of the static `StaticArray<string>` of 8 slots, or null when not exported. */
  get staticSlots() {
    const g = this.exports.__static_slots;
    return g instanceof WebAssembly.Global ? this.load32(g.value) : null;
  }
  /** Stores `child` into static slot `i` and runs the barrier. */
  setSlot(i, child) {
    const slots = this.staticSlots;
    assert.ok(slots, "__static_slots is not exported");
    this.store32(slots + 4 * i, child);
    this.exports.__link(slots, child, 0);
  }
  /** Address of the shadow-stack header `{ top, base, limit }`, or null. */
  get gcStack() {
    const g = this.exports.__gc_stack;
    return g instanceof WebAssembly.Global ? g.value : null;
  }
  /** The shadow stack's `{ top, base, limit }`. */
  stackHeader() {
    const h = this.gcStack;
    return { top: this.load32(h), base: this.load32(h + 4), limit: this.load32(h + 8) };
  }
}

/**
 * Runs `fn`, expecting it to abort with a message matching `pattern` (a RegExp or substring).
 * Checks the message is non-empty. Returns the AbortError.
 */
export function expectAbort(fn, pattern, what = "") {
  let err = null;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  assert.ok(err, `${what}: expected an abort, but the call returned`);
  assert.ok(err instanceof AbortError, `${what}: expected an AbortError from env.abort, got ${err && err.stack}`);
  assert.ok(err.msgRef !== 0, `${what}: env.abort received message 0 (no static error String)`);
  assert.ok(typeof err.abortMessage === "string" && err.abortMessage.length > 0, `${what}: empty abort message`);
  if (pattern instanceof RegExp) assert.match(err.abortMessage, pattern, what);
  else if (pattern) assert.ok(err.abortMessage.includes(pattern), `${what}: "${err.abortMessage}" does not contain "${pattern}"`);
  return err;
}

/** Steps the collector until it is idle (bounded). Returns the number of steps taken. */
export function finishCycle(rt, max = 1e6) {
  let n = 0;
  while (rt.exports.__gc_step() !== 0) {
    if (++n > max) throw new Error("GC cycle did not finish");
  }
  return n;
}
