// @asrt/loader: a JavaScript loader for the asrt runtime (and for AssemblyScript modules).
//
// Its API is a superset of @assemblyscript/loader (0.22 and 0.28): `instantiate`,
// `instantiateSync`, `instantiateStreaming`, `demangle`, and the same helpers on `exports`.
// Additions: UTF-8 strings, `gcStats()`, `heapCheck()`, `gcPhase()` and idle-time collection (`gcIdle()`),
// self-unpinning handles, profile detection,
// views that follow `memory.grow`, and a default `env.abort` that decodes its message.
// See README.md for the contract and docs/ABI.md (the asrt ABI) for the layouts.
//
// No runtime dependencies; runs in Node >= 18 and in browsers.

// ---------------------------------------------------------------------------------------------
// Constants (docs/ABI.md §2, §3)

/** Offsets relative to a ref (the first payload byte, right behind the 16-byte header). */
export const HEADER = Object.freeze({ MMINFO: -16, GCINFO: -12, RTID: -8, RTSIZE: -4, SIZE: 16 });

/** RTTI flag bits (AssemblyScript's values). */
export const TypeFlags = Object.freeze({
  ARRAYBUFFERVIEW: 1 << 0,
  ARRAY: 1 << 1,
  STATICARRAY: 1 << 2,
  SET: 1 << 3,
  MAP: 1 << 4,
  POINTERFREE: 1 << 5,
  VALUE_ALIGN_0: 1 << 6,
  VALUE_ALIGN_1: 1 << 7,
  VALUE_ALIGN_2: 1 << 8,
  VALUE_ALIGN_3: 1 << 9,
  VALUE_ALIGN_4: 1 << 10,
  VALUE_SIGNED: 1 << 11,
  VALUE_FLOAT: 1 << 12,
  VALUE_NULLABLE: 1 << 13,
  VALUE_MANAGED: 1 << 14,
  KEY_ALIGN_0: 1 << 15,
  KEY_ALIGN_1: 1 << 16,
  KEY_ALIGN_2: 1 << 17,
  KEY_ALIGN_3: 1 << 18,
  KEY_ALIGN_4: 1 << 19,
  KEY_SIGNED: 1 << 20,
  KEY_FLOAT: 1 << 21,
  KEY_NULLABLE: 1 << 22,
  KEY_MANAGED: 1 << 23,
});

const F = TypeFlags;
const CONTAINER = F.ARRAYBUFFERVIEW | F.ARRAY | F.STATICARRAY | F.SET | F.MAP;
const VALUE_ALIGN_SHIFT = 6;
const KEY_ALIGN_SHIFT = 15;

/** The two build profiles and their fixed type ids (docs/ABI.md §3). */
export const PROFILES = Object.freeze({
  classic: Object.freeze({ name: "classic", entryWords: 2, ids: Object.freeze({ ArrayBuffer: 0, String: 1, ArrayBufferView: 2 }) }),
  modern: Object.freeze({ name: "modern", entryWords: 1, ids: Object.freeze({ Object: 0, ArrayBuffer: 1, String: 2, ArrayBufferView: 3 }) }),
});

// ArrayBufferView / Array layout
const ABV_BUFFER = 0;
const ABV_DATASTART = 4;
const ABV_BYTELENGTH = 8;
const ABV_SIZE = 12;
const ARRAY_LENGTH = 12;
const ARRAY_SIZE = 16;

/** The payload of the `__static_greeting` String every asrt layout declares. */
export const GREETING = "hello, asrt";

/** At or below this many code units `__getString` uses `String.fromCharCode`, above it `TextDecoder`. */
export const STRING_SMALL_UNITS = 32;
/** `String.fromCharCode` is applied to at most this many code units at once (stack safety). */
export const STRING_CHUNK_UNITS = 1024;

const E_NO_RUNTIME = "Operation requires the runtime exports (asrt, or AssemblyScript's --exportRuntime)";
const E_NO_TABLE = "Operation requires an exported function table (--exportTable)";

const HAS_BIGINT = typeof BigUint64Array !== "undefined";
const THIS = Symbol("this");

// ---------------------------------------------------------------------------------------------
// Pure helpers (exported for tests and for hosts that read memory themselves)

let utf16Decoder = null;
let utf8Decoder = null;
let utf8Encoder = null;

function getUtf16Decoder() {
  // ignoreBOM: a leading U+FEFF is content, not a byte order mark (it would be dropped).
  // fatal: a lone surrogate makes it throw, and we fall back to fromCharCode, which keeps it
  // (a String is WTF-16, not always well-formed UTF-16).
  return utf16Decoder || (utf16Decoder = new TextDecoder("utf-16le", { fatal: true, ignoreBOM: true }));
}
function getUtf8Decoder() {
  return utf8Decoder || (utf8Decoder = new TextDecoder("utf-8", { ignoreBOM: true }));
}
function getUtf8Encoder() {
  return utf8Encoder || (utf8Encoder = new TextEncoder());
}

/** `String.fromCharCode` over `units` in chunks of at most `chunk` code units. */
export function fromCharCodeChunked(units, chunk = STRING_CHUNK_UNITS) {
  const len = units.length;
  if (len <= chunk) return String.fromCharCode.apply(null, units);
  let str = "";
  for (let off = 0; off < len; off += chunk) {
    str += String.fromCharCode.apply(null, units.subarray(off, Math.min(len, off + chunk)));
  }
  return str;
}

/**
 * Decodes UTF-16LE code units (a Uint16Array) to a JavaScript string, exactly (lone surrogates
 * are kept). Short inputs use `String.fromCharCode`, long ones `TextDecoder('utf-16le')`.
 */
export function decodeUTF16(units, smallUnits = STRING_SMALL_UNITS) {
  if (units.length <= smallUnits) return fromCharCodeChunked(units);
  // TextDecoder refuses views on a SharedArrayBuffer (shared memories); copy those first.
  const input = isShared(units.buffer) ? units.slice() : units;
  try {
    return getUtf16Decoder().decode(input);
  } catch {
    return fromCharCodeChunked(units);
  }
}

function isShared(buffer) {
  return typeof SharedArrayBuffer !== "undefined" && buffer instanceof SharedArrayBuffer;
}

/** log2 of a collection's value size from its RTTI flags, or -1 when it has none. */
export function valueAlignLog2(flags) {
  return 31 - Math.clz32((flags >>> VALUE_ALIGN_SHIFT) & 31);
}

/** log2 of a map's key size from its RTTI flags, or -1 when it has none. */
export function keyAlignLog2(flags) {
  return 31 - Math.clz32((flags >>> KEY_ALIGN_SHIFT) & 31);
}

/** Decodes RTTI flags into a plain object (for diagnostics and tests). */
export function parseTypeFlags(flags) {
  flags >>>= 0;
  const kind = flags & F.STATICARRAY ? "StaticArray"
    : flags & F.ARRAY ? "Array"
    : flags & F.ARRAYBUFFERVIEW ? "ArrayBufferView"
    : flags & F.SET ? "Set"
    : flags & F.MAP ? "Map"
    : "Object";
  return {
    flags,
    kind,
    arrayBufferView: !!(flags & F.ARRAYBUFFERVIEW),
    array: !!(flags & F.ARRAY),
    staticArray: !!(flags & F.STATICARRAY),
    set: !!(flags & F.SET),
    map: !!(flags & F.MAP),
    pointerFree: !!(flags & F.POINTERFREE),
    valueAlign: valueAlignLog2(flags),
    valueSigned: !!(flags & F.VALUE_SIGNED),
    valueFloat: !!(flags & F.VALUE_FLOAT),
    valueNullable: !!(flags & F.VALUE_NULLABLE),
    valueManaged: !!(flags & F.VALUE_MANAGED),
    keyAlign: keyAlignLog2(flags),
    keySigned: !!(flags & F.KEY_SIGNED),
    keyFloat: !!(flags & F.KEY_FLOAT),
    keyNullable: !!(flags & F.KEY_NULLABLE),
    keyManaged: !!(flags & F.KEY_MANAGED),
  };
}

/** The typed-array constructor for a value of `2^alignLog2` bytes, or null. */
export function viewConstructor(alignLog2, signed, float) {
  if (float) {
    if (alignLog2 === 2) return Float32Array;
    if (alignLog2 === 3) return Float64Array;
    return null;
  }
  switch (alignLog2) {
    case 0: return signed ? Int8Array : Uint8Array;
    case 1: return signed ? Int16Array : Uint16Array;
    case 2: return signed ? Int32Array : Uint32Array;
    case 3: return HAS_BIGINT ? (signed ? BigInt64Array : BigUint64Array) : null;
  }
  return null;
}

function globalValue(g) {
  if (g == null) return undefined;
  return (typeof g === "object" && "value" in g ? g.value : +g) >>> 0;
}

function u32At(U32, addr) {
  const i = addr >>> 2;
  return i < U32.length ? U32[i] : undefined;
}

/**
 * Reads one RTTI entry's flags (and, for the classic profile, its base id) from `U32`
 * (a Uint32Array over the memory) under the given profile. Returns undefined out of range.
 */
export function readTypeinfo(U32, rttiBase, id, profile) {
  const p = typeof profile === "string" ? PROFILES[profile] : profile;
  const count = u32At(U32, rttiBase);
  if (count === undefined || (id >>>= 0) >= count) return undefined;
  const at = (rttiBase >>> 2) + 1 + id * p.entryWords;
  if (at + p.entryWords > U32.length) return undefined;
  return p.entryWords === 2 ? { flags: U32[at], base: U32[at + 1] } : { flags: U32[at], base: 0 };
}

/**
 * Detects the build profile of a module from its memory. Returns
 * `{ profile: 'classic'|'modern', reason }`. The rule (documented in README.md):
 *
 *  1. `__static_greeting` present (the String "hello, asrt" every asrt layout declares): its
 *     header's rtId is the String id: 1 means classic, 2 means modern.
 *  2. Otherwise, the RTTI table at `__rtti_base` (u32 count first):
 *     a. classic if, read as `{flags, base}` pairs, id 2 (ArrayBufferView) has the
 *        ARRAYBUFFERVIEW bit and ids 0..2 have base 0, while read as `{flags}` words
 *        id 3 does not have it;
 *     b. modern if, read as `{flags}` words, id 3 (ArrayBufferView) has the ARRAYBUFFERVIEW
 *        bit and the classic reading of (a) fails;
 *     c. still undecided (e.g. AssemblyScript builds, whose ArrayBufferView id carries no
 *        flags): classic if every base id of the pair reading is a valid id, i.e. smaller
 *        than count (in a modern table those words are flags, which include POINTERFREE = 32
 *        or alignment bits >= 64); else modern.
 *  3. No RTTI at all: classic (asrt's default profile).
 *
 * @param {ArrayBuffer|SharedArrayBuffer} buffer the memory's buffer
 * @param {{ rttiBase?: number, greetingCell?: number }} where addresses from the exports
 */
export function detectProfile(buffer, { rttiBase, greetingCell } = {}) {
  const U32 = new Uint32Array(buffer, 0, buffer.byteLength >>> 2);
  if (greetingCell !== undefined) {
    const ref = u32At(U32, greetingCell);
    if (ref && (ref & 15) === 0 && ref >= 16) {
      const rtId = u32At(U32, ref + HEADER.RTID);
      const rtSize = u32At(U32, ref + HEADER.RTSIZE);
      if (rtSize === GREETING.length << 1) {
        if (rtId === PROFILES.classic.ids.String) return { profile: "classic", reason: "__static_greeting rtId 1" };
        if (rtId === PROFILES.modern.ids.String) return { profile: "modern", reason: "__static_greeting rtId 2" };
      }
    }
  }
  if (rttiBase === undefined || u32At(U32, rttiBase) === undefined) {
    return { profile: "classic", reason: "no RTTI: default profile" };
  }
  const count = U32[rttiBase >>> 2];
  const classicAt = id => readTypeinfo(U32, rttiBase, id, PROFILES.classic);
  const modernAt = id => readTypeinfo(U32, rttiBase, id, PROFILES.modern);

  const c = [0, 1, 2].map(classicAt);
  const classicAbv = c.every(Boolean)
    && (c[2].flags & F.ARRAYBUFFERVIEW) !== 0
    && (c[0].flags & CONTAINER) === 0 && (c[1].flags & CONTAINER) === 0
    && c.every(e => e.base === 0);
  const m3 = modernAt(3);
  const m = [0, 1, 2].map(modernAt);
  const modernAbv = !!m3 && (m3.flags & F.ARRAYBUFFERVIEW) !== 0
    && m.every(e => e && (e.flags & CONTAINER) === 0);

  if (classicAbv && !modernAbv) return { profile: "classic", reason: "RTTI: id 2 is an ArrayBufferView in {flags, base} entries" };
  if (modernAbv && !classicAbv) return { profile: "modern", reason: "RTTI: id 3 is an ArrayBufferView in {flags} entries" };

  // Undecided: are all the would-be base ids valid ids?
  let basesValid = count >= 3;
  for (let id = 0; basesValid && id < count; ++id) {
    const e = classicAt(id);
    if (!e || e.base >= count) basesValid = false;
  }
  return basesValid
    ? { profile: "classic", reason: "RTTI: every {flags, base} entry has a valid base id" }
    : { profile: "modern", reason: "RTTI: {flags, base} reading has invalid base ids" };
}

// ---------------------------------------------------------------------------------------------
// Instantiation

function preInstantiate(imports) {
  const state = { memory: null, exports: null };
  const userEnv = imports && imports.env ? imports.env : {};

  function readString(ref) {
    const memory = state.memory || userEnv.memory;
    if (!memory) return "<yet unknown>";
    try {
      const buffer = memory.buffer;
      const U32 = new Uint32Array(buffer, 0, buffer.byteLength >>> 2);
      const size = ref >= 16 ? u32At(U32, (ref >>> 0) + HEADER.RTSIZE) : undefined;
      if (size === undefined || (ref >>> 0) + size > buffer.byteLength) return `<invalid string ${ref}>`;
      return decodeUTF16(new Uint16Array(buffer, ref >>> 0, size >>> 1));
    } catch {
      return `<invalid string ${ref}>`;
    }
  }

  const env = {
    abort(message, fileName, line, column) {
      const msg = message ? readString(message) : "";
      const file = fileName ? readString(fileName) : "";
      const err = new Error(`abort: ${msg} at ${file}:${line}:${column}`);
      err.abortMessage = msg;
      err.fileName = file;
      err.lineNumber = line;
      err.columnNumber = column;
      throw err;
    },
    trace(message, n, ...args) {
      console.log(`trace: ${readString(message)}${n ? " " : ""}${args.slice(0, n).join(", ")}`);
    },
    seed: Date.now,
    ...userEnv, // the user's imports win
  };
  const merged = { Math, Date, ...(imports || {}), env };
  return { state, imports: merged, readString };
}

function isResponse(src) {
  return typeof Response !== "undefined" && src instanceof Response;
}

function isModule(src) {
  return src instanceof WebAssembly.Module;
}

/** Asynchronously instantiates a module from anything that can be instantiated. */
export async function instantiate(source, imports = {}, options = {}) {
  if (isResponse(source = await source)) return instantiateStreaming(source, imports, options);
  const module = isModule(source) ? source : await WebAssembly.compile(source);
  const pre = preInstantiate(imports);
  const instance = await WebAssembly.instantiate(module, pre.imports);
  const exports = postInstantiate(pre, instance, options);
  return { module, instance, exports };
}

/** Synchronously instantiates a module from a WebAssembly.Module or a binary buffer. */
export function instantiateSync(source, imports = {}, options = {}) {
  const module = isModule(source) ? source : new WebAssembly.Module(source);
  const pre = preInstantiate(imports);
  const instance = new WebAssembly.Instance(module, pre.imports);
  const exports = postInstantiate(pre, instance, options);
  return { module, instance, exports };
}

/** Asynchronously instantiates a module from a Response (or a promise of one), as from `fetch`. */
export async function instantiateStreaming(source, imports = {}, options = {}) {
  if (!WebAssembly.instantiateStreaming) {
    source = await source;
    return instantiate(isResponse(source) ? await source.arrayBuffer() : source, imports, options);
  }
  const pre = preInstantiate(imports);
  const result = await WebAssembly.instantiateStreaming(source, pre.imports);
  const exports = postInstantiate(pre, result.instance, options);
  return { ...result, exports };
}

// ---- AssemblyScript programs on asrt (docs/ABI.md §8) ----

/** Where `js/asc.mjs` puts a program's static data (`--memoryBase`). */
export const ASRT_MEMORY_BASE = 0x10000;

function toModule(src, what) {
  if (isModule(src)) return src;
  if (src == null) throw new TypeError(`instantiateAssemblyScript: ${what} is missing`);
  return new WebAssembly.Module(src);
}

/**
 * The runtime's imports and a late link to the program, whose visitors and `__finalize` hook the
 * runtime calls. A hook that throws (it trapped, or called a mutating asrt export, which is
 * refused in the middle of a GC step) does not stop the sweep: its shadow-stack pointer is put
 * back and the error goes to `options.onFinalizeError`, or is rethrown from a microtask.
 */
function ascRuntimeImports(pre, options) {
  const link = { program: null, runtime: null };
  const asc = {
    finalize(ref) {
      const p = link.program;
      const sp = p.__asrt_stack_pointer();
      try {
        p.__asrt_finalize(ref);
      } catch (e) {
        p.__asrt_reset_stack(sp);
        if (options.onFinalizeError) options.onFinalizeError(e);
        else queueMicrotask(() => { throw e; });
      }
    },
    visit_members(ref) {
      link.program.__asrt_visit_members(ref, 0);
    },
    visit_roots() {
      const p = link.program;
      p.__asrt_visit_globals(0);
      const end = p.__asrt_heap_base() >>> 0;
      const U32 = new Uint32Array(link.runtime.memory.buffer);
      for (let at = p.__asrt_stack_pointer() >>> 0; at + 4 <= end; at += 4) {
        link.runtime.__visit(U32[at >>> 2], 0);
      }
    },
  };
  return { link, imports: { env: pre.imports.env, asc } };
}

/** Instantiates the program with a memory at least as large as its import asks (retrying). */
function instantiateOnMemory(module, imports, memory, make) {
  for (;;) {
    try {
      return make(module, imports);
    } catch (e) {
      if (!(e instanceof WebAssembly.LinkError) || memory.buffer.byteLength >= 0x80000000) throw e;
      // an eighth at a time, like the heap: the memory ends near the program's minimum
      memory.grow(Math.max(1, memory.buffer.byteLength >>> 19));
    }
  }
}

function ascFinish(pre, link, runtime, program, options) {
  const raw = program.exports;
  link.program = raw;
  const hasFinalize = raw.__asrt_has_finalize?.() ? 1 : 0;
  runtime.exports.__asc_attach(raw.__asrt_rtti_base(), ASRT_MEMORY_BASE, raw.__asrt_heap_base(), hasFinalize);
  const synthetic = {
    exports: { ...raw, memory: runtime.exports.memory, __rtti_base: { value: raw.__asrt_rtti_base() } },
  };
  for (const name of ["__alloc", "__free", "__gc_stats", "__heap_check", "__heap_check_list", "__gc_step", "__gc_phase", "__gc_configure", "__gc_threshold"]) {
    if (!(name in synthetic.exports) && runtime.exports[name]) synthetic.exports[name] = runtime.exports[name];
  }
  const exports = postInstantiate(pre, synthetic, { profile: "modern", ...options });
  if (options.beforeStart) options.beforeStart(exports);
  raw._start();
  return { exports, runtime: runtime.exports };
}

function ascPrepare(imports, options) {
  const pre = preInstantiate(imports);
  const rt = ascRuntimeImports(pre, options);
  const runtimeModule = toModule(options.runtime, "options.runtime");
  return { pre, rt, runtimeModule };
}

function ascProgramImports(pre, runtime) {
  return { ...pre.imports, env: { ...pre.imports.env, memory: runtime.exports.memory }, asrt: runtime.exports };
}

/**
 * Instantiates a program compiled by `js/asc.mjs` on the asrt module built with the cargo feature
 * `assemblyscript` (`options.runtime`), runs its top-level code once and returns
 * `{ exports, runtime }` (docs/ABI.md §8).
 */
export function instantiateAssemblyScriptSync(source, imports = {}, options = {}) {
  const module = toModule(source, "source");
  const { pre, rt, runtimeModule } = ascPrepare(imports, options);
  const runtime = new WebAssembly.Instance(runtimeModule, rt.imports);
  rt.link.runtime = runtime.exports;
  pre.state.memory = runtime.exports.memory;
  const program = instantiateOnMemory(module, ascProgramImports(pre, runtime), runtime.exports.memory,
    (m, i) => new WebAssembly.Instance(m, i));
  return ascFinish(pre, rt.link, runtime, program, options);
}

/** The asynchronous form of {@link instantiateAssemblyScriptSync}; `source` may be a Response. */
export async function instantiateAssemblyScript(source, imports = {}, options = {}) {
  source = await source;
  if (isResponse(source)) source = await source.arrayBuffer();
  const module = isModule(source) ? source : await WebAssembly.compile(source);
  let runtimeSource = await options.runtime;
  if (isResponse(runtimeSource)) runtimeSource = await runtimeSource.arrayBuffer();
  const runtimeModule = isModule(runtimeSource) ? runtimeSource : await WebAssembly.compile(runtimeSource);
  return instantiateAssemblyScriptSync(module, imports, { ...options, runtime: runtimeModule });
}

// ---------------------------------------------------------------------------------------------
// The instance's helpers, in parts. `createCore` gathers what every part reads (the raw exports,
// the memory view cache, the profile, the RTTI readers); each part below is a factory that takes
// the core and returns its helpers: strings, arrays, type tests, pin handles, the collector,
// typed arrays. `wrapExports` puts them on the demangled exports.

function postInstantiate(pre, instance, options) {
  const core = createCore(pre, instance, options);
  const { __new, __pin, __unpin, __collect } = core;
  // This order is the order of the helpers' keys on `exports`.
  const helpers = {
    __new, __pin, __unpin, __collect,
    ...stringHelpers(core),
    ...arrayHelpers(core),
    ...typeHelpers(core),
    ...pinHandleHelpers(core),
    ...gcHelpers(core),
    ...heapCheckHelpers(core),
    ...weakHelpers(core),
    ...typedArrayHelpers(core),
  };
  // The collector helpers hand out the finalizer tokens their cycles queued, after they return.
  const drain = core.raw.__finalizer_next ? helpers.drainFinalizers : () => [];
  helpers.__collect = () => { __collect(); drain(); };
  for (const name of ["gcIdle"]) {
    const run = helpers[name];
    helpers[name] = (...args) => { const phase = run(...args); drain(); return phase; };
  }
  return wrapExports(pre, core, helpers);
}

// ---- core: the raw exports, the memory view cache, the profile, the RTTI ----

/**
 * The memory's views, re-created only when `memory.buffer` changed (identity or length, as after
 * `memory.grow`). Call `views()` before touching memory, then read `mem.buffer`, `mem.U8`,
 * `mem.U16`, `mem.U32`, `mem.DV`; `views()` returns the buffer.
 */
function viewCache(memory) {
  const mem = { buffer: null, byteLength: -1, U8: null, U16: null, U32: null, DV: null };
  function views() {
    const b = memory.buffer;
    if (b !== mem.buffer || b.byteLength !== mem.byteLength) {
      mem.buffer = b;
      mem.byteLength = b.byteLength;
      mem.U8 = new Uint8Array(b);
      mem.U16 = new Uint16Array(b, 0, mem.byteLength >>> 1);
      mem.U32 = new Uint32Array(b, 0, mem.byteLength >>> 2);
      mem.DV = new DataView(b);
    }
    return b;
  }
  return { mem, views };
}

/** What every part reads: the raw exports, the runtime's entry points, views, profile, RTTI. */
function createCore(pre, instance, options) {
  const raw = instance.exports;
  const memory = raw.memory || (pre.imports.env && pre.imports.env.memory);
  pre.state.memory = memory;
  const need = name => raw[name] || (() => { throw Error(`${E_NO_RUNTIME}: missing export ${name}`); });
  const rttiBase = globalValue(raw.__rtti_base);
  const { mem, views } = viewCache(memory);
  const u32 = addr => (views(), mem.U32[addr >>> 2]);

  const detected = options && options.profile
    ? { profile: options.profile, reason: "options.profile" }
    : detectProfile(memory.buffer, { rttiBase, greetingCell: globalValue(raw.__static_greeting) });
  const profile = PROFILES[detected.profile];
  if (!profile) throw Error(`unknown profile: ${detected.profile}`);

  return {
    raw, memory, table: raw.table, need, mem, views, u32, detected, profile, ids: profile.ids,
    __new: need("__new"), __pin: need("__pin"), __unpin: need("__unpin"), __collect: need("__collect"),
    __link: raw.__link || null,
    ...rttiReaders(rttiBase, profile, mem, u32),
  };
}

/** Readers of the RTTI table at `__rtti_base` (docs/ABI.md §3) and of object headers (§2). */
function rttiReaders(rttiBase, profile, mem, u32) {
  function typeCount() {
    if (rttiBase === undefined) throw Error(`${E_NO_RUNTIME}: missing export __rtti_base`);
    return u32(rttiBase);
  }
  function typeinfo(id) {
    if ((id >>>= 0) >= typeCount()) throw Error(`invalid id: ${id}`);
    return mem.U32[(rttiBase >>> 2) + 1 + id * profile.entryWords];
  }
  function typeBase(id) {
    if (profile.entryWords !== 2) return 0;
    if ((id >>>= 0) >= typeCount()) throw Error(`invalid id: ${id}`);
    return mem.U32[(rttiBase >>> 2) + 2 + id * 2];
  }
  function arrayInfo(id) {
    const info = typeinfo(id);
    if (!(info & (F.ARRAYBUFFERVIEW | F.ARRAY | F.STATICARRAY))) throw Error(`not an array: ${id}, flags=${info}`);
    return info;
  }
  function rtId(ref) { return u32(ref + HEADER.RTID); }
  function rtSize(ref) { return u32(ref + HEADER.RTSIZE); }
  return { typeCount, typeinfo, typeBase, arrayInfo, rtId, rtSize };
}

/**
 * Entry guards for modules that link asrt in (the C SDK, docs/ABI.md §9.5), which export the
 * C stack pointer as `__stack_pointer`. When `env.abort` throws out of a C function, the frames
 * it unwinds leave the stack pointer and the shadow-stack top where they were; each guarded
 * export saves both on entry and puts them back when the call throws, so the instance stays
 * usable. Only the program's own functions are guarded: the runtime's exports (`__*`) keep
 * nothing on either stack when they abort. Returns the raw exports to demangle.
 */
function guardEntries(core) {
  const { raw } = core;
  const sp = raw.__stack_pointer;
  const stackCell = globalValue(raw.__gc_stack);
  if (!(sp instanceof WebAssembly.Global) || stackCell === undefined) return raw;
  const guarded = {};
  for (const name of Object.keys(raw)) {
    const f = raw[name];
    if (typeof f !== "function" || name.startsWith("__")) { guarded[name] = f; continue; }
    guarded[name] = function (...args) {
      const savedSp = sp.value;
      const savedTop = core.u32(stackCell);
      try {
        return f.apply(this, args);
      } catch (e) {
        sp.value = savedSp;
        core.views();
        core.mem.U32[stackCell >>> 2] = savedTop;
        throw e;
      }
    };
  }
  return guarded;
}

/** The demangled raw exports plus `helpers`, which win over same-named raw exports. */
function wrapExports(pre, core, helpers) {
  const ext = { ...helpers, memory: core.memory, table: core.table };
  const result = demangle(guardEntries(core), ext);
  // The loader's helpers win over same-named raw exports (e.g. a boolean __instanceof).
  Object.assign(result, helpers);
  Object.defineProperty(result, "__profile", { value: core.profile.name, enumerable: false });
  Object.defineProperty(result, "__profileReason", { value: core.detected.reason, enumerable: false });
  Object.defineProperty(result, "__typeIds", { value: core.ids, enumerable: false });
  pre.state.exports = result;
  return result;
}

// ---- strings: UTF-16 copies; UTF-8 through __string_from_utf8 / __string_to_utf8 ----

function stringHelpers({ need, mem, views, rtId, __new, ids }) {
  const STRING_ID = ids.String;
  function __newString(str) {
    if (str == null) return 0;
    str = String(str);
    const length = str.length;
    const ref = __new(length << 1, STRING_ID);
    views();
    const U16 = mem.U16;
    for (let i = 0, p = ref >>> 1; i < length; ++i) U16[p + i] = str.charCodeAt(i);
    return ref;
  }
  function __getString(ref) {
    if (!ref) return null;
    ref >>>= 0;
    const id = rtId(ref);
    if (id !== STRING_ID) throw Error(`not a string: ${ref}`);
    return decodeUTF16(mem.U16.subarray(ref >>> 1, (ref >>> 1) + (mem.U32[(ref + HEADER.RTSIZE) >>> 2] >>> 1)));
  }
  function __newStringUTF8(input, replace = true) {
    if (input == null) return 0;
    const from = need("__string_from_utf8");
    const alloc = need("__alloc");
    const free = need("__free");
    const bytes = typeof input === "string" ? getUtf8Encoder().encode(input)
      : input instanceof ArrayBuffer ? new Uint8Array(input)
      : ArrayBuffer.isView(input) ? new Uint8Array(input.buffer, input.byteOffset, input.byteLength)
      : getUtf8Encoder().encode(String(input));
    const ptr = alloc(bytes.length);
    try {
      views();
      mem.U8.set(bytes, ptr >>> 0);
      return from(ptr, bytes.length, replace ? 1 : 0) >>> 0;
    } finally {
      free(ptr);
    }
  }
  function __getStringUTF8Bytes(ref, nullTerminated = false) {
    if (!ref) return null;
    const to = need("__string_to_utf8");
    const ab = to(ref, nullTerminated ? 1 : 0) >>> 0;
    views();
    return mem.U8.slice(ab, ab + mem.U32[(ab + HEADER.RTSIZE) >>> 2]);
  }
  function __getStringUTF8(ref) {
    if (!ref) return null;
    return getUtf8Decoder().decode(__getStringUTF8Bytes(ref, false));
  }
  return { __newString, __getString, __newStringUTF8, __getStringUTF8, __getStringUTF8Bytes };
}

// ---- ArrayBuffers and arrays: Array, typed arrays (ArrayBufferView), StaticArray (docs/ABI.md §3) ----

function arrayHelpers(core) {
  const { mem, views, rtId, rtSize, arrayInfo, __new, ids } = core;
  function __newArrayBuffer(buf) {
    if (buf == null) return 0;
    const bytes = ArrayBuffer.isView(buf) ? new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength) : new Uint8Array(buf);
    const ref = __new(bytes.length, ids.ArrayBuffer);
    views();
    mem.U8.set(bytes, ref >>> 0);
    return ref;
  }
  function __getArrayBuffer(ref) {
    if (!ref) return null;
    ref >>>= 0;
    const size = rtSize(ref);
    return mem.buffer.slice(ref, ref + size);
  }
  function __newArray(id, valuesOrCapacity = 0) {
    const input = valuesOrCapacity;
    const info = arrayInfo(id);
    const align = valueAlignLog2(info);
    if (align < 0) throw Error(`no element type: ${id}, flags=${info}`);
    const isArrayLike = typeof input !== "number";
    const length = isArrayLike ? input.length >>> 0 : input >>> 0;
    const { result, data } = allocArray(core, id, info, length << align, length);
    if (isArrayLike && length) storeElements(core, result, data, info, input, length);
    return result;
  }
  function __getArrayView(arr) {
    arr >>>= 0;
    const id = rtId(arr);
    const info = arrayInfo(id);
    const align = valueAlignLog2(info);
    const U32 = mem.U32;
    const data = info & F.STATICARRAY ? arr : U32[(arr + ABV_DATASTART) >>> 2];
    const length = info & F.STATICARRAY ? U32[(arr + HEADER.RTSIZE) >>> 2] >>> align
      : info & F.ARRAY ? U32[(arr + ARRAY_LENGTH) >>> 2]
      : U32[(arr + ABV_BYTELENGTH) >>> 2] >>> align;
    const Ctor = viewConstructor(align, info & F.VALUE_SIGNED, info & F.VALUE_FLOAT);
    if (!Ctor) throw Error(`unsupported align: ${align}`);
    return new Ctor(mem.buffer, data, length);
  }
  function __getArray(arr) {
    if (!arr) return null;
    const input = __getArrayView(arr);
    const len = input.length;
    const out = new Array(len);
    for (let i = 0; i < len; i++) out[i] = input[i];
    return out;
  }
  return { __newArrayBuffer, __getArrayBuffer, __newArray, __getArray, __getArrayView };
}

/**
 * Allocates an array of type `id` with `byteSize` bytes of elements: `{ result, data }`, the
 * object and the address of its elements. A StaticArray is one object; an Array or typed array
 * is an ArrayBuffer (pinned while the object is allocated) and the object pointing at it.
 */
function allocArray(core, id, info, byteSize, length) {
  const { mem, views, __new, __pin, __unpin, ids } = core;
  if (info & F.STATICARRAY) {
    const ref = __new(byteSize, id) >>> 0;
    return { result: ref, data: ref };
  }
  const buf = __new(byteSize, ids.ArrayBuffer) >>> 0;
  __pin(buf);
  let arr;
  try {
    arr = __new(info & F.ARRAY ? ARRAY_SIZE : ABV_SIZE, id) >>> 0;
  } finally {
    __unpin(buf);
  }
  views();
  mem.U32[(arr + ABV_BUFFER) >>> 2] = buf;
  link(core, arr, buf);
  mem.U32[(arr + ABV_DATASTART) >>> 2] = buf;
  mem.U32[(arr + ABV_BYTELENGTH) >>> 2] = byteSize;
  if (info & F.ARRAY) mem.U32[(arr + ARRAY_LENGTH) >>> 2] = length;
  return { result: arr, data: buf };
}

/** Copies `input`'s first `length` elements to `data`, the elements of the array `result`. */
function storeElements(core, result, data, info, input, length) {
  const align = valueAlignLog2(info);
  const view = viewOf(core, align, info & F.VALUE_SIGNED, info & F.VALUE_FLOAT);
  const start = data >>> align;
  if (info & F.VALUE_MANAGED) {
    // Refs: store each one, then tell the collector (write barrier). The GC reaches the
    // elements through the array object (docs/ABI.md §3), so that is the parent.
    for (let i = 0; i < length; ++i) {
      const child = (input[i] == null ? 0 : +input[i]) >>> 0;
      view[start + i] = child;
      link(core, result, child);
    }
  } else if (view instanceof BigInt64Array || view instanceof BigUint64Array) {
    for (let i = 0; i < length; ++i) view[start + i] = BigInt(input[i]);
  } else {
    view.set(input, start);
  }
}

/** The write barrier: tells the collector that `parent` now references `child` (`__link`). */
function link(core, parent, child) {
  if (!child) return;
  if (!core.__link) throw Error(`${E_NO_RUNTIME}: missing export __link (the write barrier)`);
  core.__link(parent, child, 0);
}

/** A typed array of `2^align`-byte elements over the whole memory. */
function viewOf(core, align, signed, float) {
  const Ctor = viewConstructor(align, signed, float);
  if (!Ctor) throw Error(`unsupported align: ${align}`);
  core.views();
  return new Ctor(core.mem.buffer, 0, core.mem.byteLength >>> align);
}

// ---- typed arrays: __get<Type>Array (a copy) and __get<Type>ArrayView (a live view) ----

const TYPED_ARRAYS = [Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array, Float32Array, Float64Array];

function typedArrayHelpers({ mem, views }) {
  function typedArrayView(Type, alignLog2, ref) {
    ref >>>= 0;
    views();
    return new Type(mem.buffer, mem.U32[(ref + ABV_DATASTART) >>> 2], mem.U32[(ref + ABV_BYTELENGTH) >>> 2] >>> alignLog2);
  }
  function typedArrayCopy(Type, alignLog2, ref) {
    return new Type(typedArrayView(Type, alignLog2, ref));
  }
  const out = {};
  for (const ctor of TYPED_ARRAYS) {
    const align = 31 - Math.clz32(ctor.BYTES_PER_ELEMENT);
    out[`__get${ctor.name}`] = typedArrayCopy.bind(null, ctor, align);
    out[`__get${ctor.name}View`] = typedArrayView.bind(null, ctor, align);
  }
  if (HAS_BIGINT) {
    for (const ctor of [BigUint64Array, BigInt64Array]) {
      const name = ctor.name.slice(3);
      out[`__get${name}`] = typedArrayCopy.bind(null, ctor, 3);
      out[`__get${name}View`] = typedArrayView.bind(null, ctor, 3);
    }
  }
  return out;
}

// ---- type tests and look-ups: RTTI, `__id_<name>`, `__static_<name>`, the function table ----

function typeHelpers({ raw, table, profile, u32, rtId, typeCount, typeinfo, typeBase }) {
  function __getFunction(ptr) {
    if (!table) throw Error(E_NO_TABLE);
    return table.get(u32(ptr));
  }
  function __instanceof(ref, id) {
    if (!ref) return false;
    if (typeof raw.__instanceof === "function") return !!raw.__instanceof(ref, id);
    let t = rtId(ref >>> 0);
    id >>>= 0;
    if (t >= typeCount()) return false;
    if (profile.entryWords !== 2) return t === id; // no base ids in the modern table
    for (let guard = 0; guard <= typeCount(); ++guard) {
      if (t === id) return true;
      t = typeBase(t);
      if (!t) break;
    }
    return false;
  }
  function __typeinfo(id) {
    return typeof raw.__typeinfo === "function" ? raw.__typeinfo(id) >>> 0 : typeinfo(id);
  }
  /** The id a layout exported as `__id_<name>` (a global holding the address of a u32). */
  function __idof(name) {
    const g = raw[`__id_${name}`];
    if (g === undefined) throw Error(`no export __id_${name}`);
    return u32(globalValue(g));
  }
  /** The ref of a static object a layout exported as `__static_<name>`. */
  function __getStatic(name) {
    const g = raw[`__static_${name}`];
    if (g === undefined) throw Error(`no export __static_${name}`);
    return u32(globalValue(g));
  }
  return { __getFunction, __instanceof, __typeinfo, __idof, __getStatic };
}

// ---- self-unpinning pin handles ----

function pinHandleHelpers({ __pin, __unpin }) {
  const registry = typeof FinalizationRegistry !== "undefined"
    ? new FinalizationRegistry(ref => { try { __unpin(ref); } catch { /* instance gone or aborted */ } })
    : null;
  class PinHandle {
    #ref;
    #released = false;
    constructor(ref) {
      this.#ref = ref >>> 0;
      if (this.#ref) {
        __pin(this.#ref);
        if (registry) registry.register(this, this.#ref, this);
      } else {
        this.#released = true;
      }
    }
    /** The pinned ref (0 once released). */
    get ref() { return this.#released ? 0 : this.#ref; }
    /** Whether `release()` already ran (a null handle counts as released). */
    get released() { return this.#released; }
    valueOf() { return this.ref; }
    /** Unpins now (once; later calls do nothing) and cancels the finalizer. */
    release() {
      if (this.#released) return;
      this.#released = true;
      if (registry) registry.unregister(this);
      __unpin(this.#ref);
    }
  }
  if (typeof Symbol.dispose === "symbol") {
    PinHandle.prototype[Symbol.dispose] = function () { this.release(); };
  }
  function __pinHandle(ref) {
    return new PinHandle(ref);
  }
  return { __pinHandle };
}

// ---- the collector from the host: statistics and pacing (docs/ABI.md §5: __gc_stats, __gc_step, __gc_phase) ----

const STAT_NAMES = ["heapBytes", "usedBytes", "freeBytes", "largestFree", "liveObjects", "collections", "steps", "totalAllocated"];

function gcHelpers({ need, mem, views }) {
  let statsBlock = 0;
  function gcStats() {
    const stats = need("__gc_stats");
    if (!statsBlock) statsBlock = need("__alloc")(64) >>> 0; // kept for the instance's lifetime
    stats(statsBlock);
    views();
    const out = {};
    for (let i = 0; i < 8; ++i) out[STAT_NAMES[i]] = Number(mem.DV.getBigUint64(statsBlock + i * 8, true));
    return out;
  }
  /** The collector's phase without doing any work: 0 idle, 1 mark, 2 sweep. */
  function gcPhase() {
    return need("__gc_phase")() >>> 0;
  }
  /**
   * Collects in idle time: calls `__gc_step` until the cycle ends (phase 0) or the budget is
   * spent, and returns the phase after the last step. `budget` is milliseconds (default: no
   * limit) or an `IdleDeadline` (what `requestIdleCallback` passes; its `timeRemaining()` is
   * read after each step). At least one step is done. From idle a step starts a cycle; with
   * `{ start: false }` nothing is done when the collector is idle (only a cycle already under
   * way is helped, as the allocator's pacing started it).
   */
  function gcIdle(budget = Infinity, { start = true } = {}) {
    const step = need("__gc_step");
    if (!start && gcPhase() === 0) return 0;
    let remaining;
    if (typeof budget === "number") {
      const now = typeof performance !== "undefined" ? () => performance.now() : Date.now;
      const end = now() + budget;
      remaining = () => end - now();
    } else if (budget && typeof budget.timeRemaining === "function") {
      remaining = () => budget.timeRemaining();
    } else {
      throw TypeError("gcIdle: budget must be milliseconds or an IdleDeadline");
    }
    let phase;
    do phase = step() >>> 0; while (phase !== 0 && remaining() > 0);
    return phase;
  }
  return { gcStats, gcPhase, gcIdle };
}

// ---- heap checker (__heap_check_list) ----

// The invariants by number (index 0 is none): src/invariant.rs, README "Heap checker".
const INVARIANTS = ["", "BlockMisaligned", "BlockOutsideHeap", "ChainCycle", "BlockSizeBad", "LeftFreeBitWrong", "AdjacentFree", "FreeBackPointer", "FreeNotListed", "SentinelChain", "UsedSizeMismatch", "BadKind", "BumpBlockBad", "FreeBytesMismatch", "RegionCount", "StartMapBitOnFree", "StartMapBitOnSentinel", "StartMapBitMissing", "StartMapStrayBits", "StartMapBlock", "FlBitmapMismatch", "SlBitmapMismatch", "ListedOutOfRange", "ListedNotFree", "ListedWrongClass", "ListPrevLink", "ListCycle", "PinnedNotFlagged", "GrayOutsideMark", "LinkOnNonGray", "BlackWhenIdle", "DanglingChild", "BlackPointsToWhite", "GrayStackNotGray", "GrayNotOnStack", "LiveCountMismatch", "JunkRootSlot", "JunkStaticSlot", "WeakTableBlock", "WeakTargetDangling", "WeakListBroken", "EphemeronTableBad", "EphemeronDangling", "AscPlanMismatch", "PinEntryBad", "PinnedNotShaded"];

function heapCheckHelpers({ need, mem, views }) {
  let checkBlock = 0, checkCapacity = 0;
  /**
   * What `__heap_check` counts, listed: `[{ invariant, code, address }]` in the order the checker
   * finds them (`invariant` is the name, `code` its number, `address` where it broke). At most
   * `max` entries (default 256); the array's `total` is the full count. The output block is
   * `__alloc`ed on the first call (grown for a larger `max`) and kept for the instance.
   */
  function heapCheck({ max = 256 } = {}) {
    const list = need("__heap_check_list");
    max = Math.max(1, max >>> 0);
    if (checkCapacity < max) {
      if (checkBlock) need("__free")(checkBlock);
      checkBlock = 0;
      checkBlock = need("__alloc")(8 * max) >>> 0;
      checkCapacity = max;
    }
    const total = list(checkBlock, max) >>> 0;
    views();
    const out = [];
    for (let i = 0; i < Math.min(total, max); ++i) {
      const code = mem.U32[(checkBlock >>> 2) + 2 * i];
      out.push({ invariant: INVARIANTS[code] ?? `#${code}`, code, address: mem.U32[(checkBlock >>> 2) + 2 * i + 1] });
    }
    out.total = total;
    return out;
  }
  return { heapCheck };
}

// ---- weak references, finalizers, weak maps (docs/ABI.md §10: __weakref_*, __finalizer_*, __weakmap_*) ----

/**
 * `WeakRef` and `FinalizationRegistry` shaped like JavaScript's, over the runtime's weak table.
 * Targets are refs (numbers). Held values stay in JavaScript, keyed by the runtime's token; the
 * callbacks run from `drainFinalizers()`, after the runtime returned (the loader's `__collect`
 * and `gcIdle` call it), so they may call any export.
 */
function weakHelpers({ need }) {
  const pending = new Map(); // token -> { registry, callback, held, unregisterToken }
  const byUnregisterToken = new WeakMap(); // registry -> Map(unregisterToken -> Set(token))
  class AsrtWeakRef {
    #handle;
    constructor(ref) { this.#handle = need("__weakref_new")(ref >>> 0) >>> 0; }
    /** The target's ref, or 0 once the collector found it unreachable. */
    deref() { return this.#handle ? need("__weakref_get")(this.#handle) >>> 0 : 0; }
    /** Releases the runtime's handle (later `deref()` gives 0); JavaScript's WeakRef has none. */
    free() {
      if (this.#handle) need("__weakref_free")(this.#handle);
      this.#handle = 0;
    }
  }
  if (typeof Symbol.dispose === "symbol") {
    AsrtWeakRef.prototype[Symbol.dispose] = function () { this.free(); };
  }
  const canHold = v => (typeof v === "object" && v !== null) || typeof v === "function" || typeof v === "symbol";
  class AsrtFinalizationRegistry {
    #callback;
    constructor(callback) {
      if (typeof callback !== "function") throw TypeError("FinalizationRegistry: callback must be a function");
      this.#callback = callback;
      byUnregisterToken.set(this, new Map());
    }
    /** Calls `callback(heldValue)` once after the object `ref` became unreachable. */
    register(ref, heldValue, unregisterToken) {
      if (unregisterToken !== undefined && !canHold(unregisterToken)) {
        throw TypeError("FinalizationRegistry.register: unregisterToken must be an object");
      }
      const token = need("__finalizer_register")(ref >>> 0) >>> 0;
      pending.set(token, { registry: this, callback: this.#callback, held: heldValue, unregisterToken });
      if (unregisterToken !== undefined) {
        const map = byUnregisterToken.get(this);
        if (!map.has(unregisterToken)) map.set(unregisterToken, new Set());
        map.get(unregisterToken).add(token);
      }
    }
    /** Cancels every registration made with `unregisterToken`; whether there was one. */
    unregister(unregisterToken) {
      if (!canHold(unregisterToken)) throw TypeError("FinalizationRegistry.unregister: token must be an object");
      const map = byUnregisterToken.get(this);
      const tokens = map.get(unregisterToken);
      if (!tokens) return false;
      map.delete(unregisterToken);
      for (const token of tokens) {
        need("__finalizer_unregister")(token);
        pending.delete(token);
      }
      return true;
    }
    /** Runs the callbacks of the tokens waiting (every registry's: they share one queue). */
    cleanupSome() { drainFinalizers(); }
  }
  /**
   * Takes every token the runtime queued and calls its registry's callback with the held value.
   * Returns the tokens no registry of this loader made (compiled code's own registrations).
   * A callback that throws does not stop the others; the first error is rethrown at the end.
   */
  function drainFinalizers() {
    const next = need("__finalizer_next");
    const foreign = [];
    let error = null;
    for (let token; (token = next() >>> 0) !== 0;) {
      const entry = pending.get(token);
      if (!entry) { foreign.push(token); continue; }
      pending.delete(token);
      if (entry.unregisterToken !== undefined) {
        const map = byUnregisterToken.get(entry.registry);
        const tokens = map.get(entry.unregisterToken);
        tokens.delete(token);
        if (!tokens.size) map.delete(entry.unregisterToken);
      }
      try { entry.callback(entry.held); } catch (e) { error ??= e; }
    }
    if (error) throw error;
    return foreign;
  }
  /** Shaped like JavaScript's WeakMap, for refs: a value lives only while its key does. */
  class AsrtWeakMap {
    #handle;
    constructor() { this.#handle = need("__weakmap_new")() >>> 0; }
    /** The value's ref, or 0 when `key` has no entry. */
    get(key) { return need("__weakmap_get")(this.#handle, key >>> 0) >>> 0; }
    /** Maps the object `key` to `value` (a ref or 0); returns the map. */
    set(key, value) { need("__weakmap_set")(this.#handle, key >>> 0, value >>> 0); return this; }
    has(key) { return need("__weakmap_has")(this.#handle, key >>> 0) !== 0; }
    delete(key) { return need("__weakmap_delete")(this.#handle, key >>> 0) !== 0; }
    /** Releases the map and its entries; using it afterwards aborts (a released handle). */
    free() {
      if (this.#handle) need("__weakmap_free")(this.#handle);
      this.#handle = 0;
    }
  }
  if (typeof Symbol.dispose === "symbol") {
    AsrtWeakMap.prototype[Symbol.dispose] = function () { this.free(); };
  }
  return { WeakRef: AsrtWeakRef, FinalizationRegistry: AsrtFinalizationRegistry, WeakMap: AsrtWeakMap, drainFinalizers };
}

// ---------------------------------------------------------------------------------------------
// demangle (same behaviour as @assemblyscript/loader's)

const hasOwn = Object.hasOwn || ((o, p) => Object.prototype.hasOwnProperty.call(o, p));

/** Demangles a module's exports into a friendly object structure (namespaces, classes). */
export function demangle(exports, extendedExports = {}) {
  const setArgumentsLength = exports["__argumentsLength"]
    ? length => { exports["__argumentsLength"].value = length; }
    : exports["__setArgumentsLength"] || exports["__setargc"] || (() => {});
  for (const internalName of Object.keys(exports)) {
    const elem = exports[internalName];
    const parts = internalName.split(".");
    let curr = extendedExports;
    while (parts.length > 1) {
      const part = parts.shift();
      if (!hasOwn(curr, part)) curr[part] = {};
      curr = curr[part];
    }
    let name = parts[0];
    const hash = name.indexOf("#");
    if (hash >= 0) {
      const className = name.substring(0, hash);
      const classElem = curr[className];
      if (typeof classElem === "undefined" || !classElem.prototype) {
        const ctor = function (...args) {
          return ctor.wrap(ctor.prototype.constructor(0, ...args));
        };
        ctor.prototype = { valueOf() { return this[THIS]; } };
        ctor.wrap = function (thisValue) {
          return Object.create(ctor.prototype, { [THIS]: { value: thisValue, writable: false } });
        };
        if (classElem) {
          for (const n of Object.getOwnPropertyNames(classElem)) {
            Object.defineProperty(ctor, n, Object.getOwnPropertyDescriptor(classElem, n));
          }
        }
        curr[className] = ctor;
      }
      name = name.substring(hash + 1);
      curr = curr[className].prototype;
      if (/^(get|set):/.test(name)) {
        if (!hasOwn(curr, name = name.substring(4))) {
          const getter = exports[internalName.replace("set:", "get:")];
          const setter = exports[internalName.replace("get:", "set:")];
          Object.defineProperty(curr, name, {
            get() { return getter(this[THIS]); },
            set(value) { setter(this[THIS], value); },
            enumerable: true,
          });
        }
      } else if (name === "constructor") {
        (curr[name] = function (...args) {
          setArgumentsLength(args.length);
          return elem(...args);
        }).original = elem;
      } else {
        (curr[name] = function (...args) {
          setArgumentsLength(args.length);
          return elem(this[THIS], ...args);
        }).original = elem;
      }
    } else if (/^(get|set):/.test(name)) {
      if (!hasOwn(curr, name = name.substring(4))) {
        Object.defineProperty(curr, name, {
          get: exports[internalName.replace("set:", "get:")],
          set: exports[internalName.replace("get:", "set:")],
          enumerable: true,
        });
      }
    } else if (typeof elem === "function" && elem !== setArgumentsLength) {
      (curr[name] = (...args) => {
        setArgumentsLength(args.length);
        return elem(...args);
      }).original = elem;
    } else {
      curr[name] = elem;
    }
  }
  return extendedExports;
}

export default { instantiate, instantiateSync, instantiateStreaming, demangle };
