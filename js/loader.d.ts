/// <reference lib="esnext.bigint" />
// Type declarations for @asrt/loader: a superset of @assemblyscript/loader's index.d.ts.

export interface ResultObject {
  module: WebAssembly.Module;
  instance: WebAssembly.Instance;
}

/** WebAssembly imports with an optional env object and two levels of nesting. */
export type Imports = {
  [key: string]: Record<string, unknown> | undefined;
  env?: {
    memory?: WebAssembly.Memory;
    table?: WebAssembly.Table;
    seed?(): number;
    /** Called by the runtime with static String refs; the loader's default throws an Error. */
    abort?(msg: number, file: number, line: number, column: number): void;
    trace?(msg: number, numArgs?: number, ...args: number[]): void;
    mark?(): void;
    [key: string]: unknown;
  };
};

/** The two asrt build profiles (docs/ABI.md §3). */
export type ProfileName = "classic" | "modern";

/** Options of @asrt/loader (a third, optional argument of the instantiate functions). */
export interface LoaderOptions {
  /** Skip detection and use this profile. */
  profile?: ProfileName;
}

/** The error the default `env.abort` throws. */
export interface AbortError extends Error {
  /** The decoded message String. */
  abortMessage: string;
  /** The decoded file name String. */
  fileName: string;
  lineNumber: number;
  columnNumber: number;
}

/** The collector's phase: 0 idle, 1 mark, 2 sweep (docs/ABI.md §5, `__gc_step` / `__gc_phase`). */
export type GcPhase = 0 | 1 | 2;

/** One broken invariant from `heapCheck()` (README "Heap checker" numbers and explains them). */
export interface HeapViolation {
  /** The invariant's name, e.g. "FreeBackPointer". */
  invariant: string;
  /** Its number in `__heap_check_list`'s ABI. */
  code: number;
  /** Where it broke: a block address (ref - 16), a root slot, a list class, or 0. */
  address: number;
}

/** What `gcStats()` returns: `__gc_stats`'s eight u64, as Numbers, in ABI order. */
export interface GcStats {
  /** Bytes from `__heap_base` to the end of memory. */
  heapBytes: number;
  /** Bytes in used blocks, headers included, managed and unmanaged. */
  usedBytes: number;
  /** Bytes in free blocks. */
  freeBytes: number;
  /** The largest payload `__alloc` could return without growing memory. */
  largestFree: number;
  /** Managed heap objects from `__new` not yet freed. */
  liveObjects: number;
  /** Completed collections. */
  collections: number;
  /** GC steps. */
  steps: number;
  /** Payload bytes requested from `__new`, `__renew` and `__alloc` since start. */
  totalAllocated: number;
}

/**
 * A pin that undoes itself. Created by `exports.__pinHandle(ref)`, which pins `ref` once;
 * `release()` (or `using`, via Symbol.dispose) unpins it once, and if the handle is dropped
 * without release, a FinalizationRegistry unpins it after JavaScript collects the handle.
 */
export interface PinHandle {
  /** The pinned ref; 0 after release (and for a handle of the null ref). */
  readonly ref: number;
  /** Whether the handle has been released (a null handle counts as released). */
  readonly released: boolean;
  /** The ref, so a handle can be passed where a number is expected (`+handle`). */
  valueOf(): number;
  /** Unpins now, once; later calls do nothing. Cancels the finalizer. */
  release(): void;
  [Symbol.dispose](): void;
}

/**
 * A weak reference to an asrt object (docs/ABI.md §10), made by `new exports.WeakRef(ref)`:
 * `deref()` gives the ref, or 0 once the collector found the object unreachable. A ref handed
 * out while the collector marks survives that cycle.
 */
export interface AsrtWeakRef {
  /** The target's ref, or 0 once it was found unreachable (or after `free()`). */
  deref(): number;
  /** Releases the runtime's handle; later `deref()` calls give 0. */
  free(): void;
  [Symbol.dispose](): void;
}

/**
 * Shaped like JavaScript's FinalizationRegistry, for asrt objects (refs): `callback(heldValue)`
 * runs once after the object became unreachable, from `exports.drainFinalizers()` (which the
 * loader's `__collect` and `gcIdle` call after the runtime returned).
 */
export interface AsrtFinalizationRegistry<T = unknown> {
  register(ref: number, heldValue: T, unregisterToken?: object | symbol): void;
  /** Cancels the registrations made with `unregisterToken`; whether there were any. */
  unregister(unregisterToken: object | symbol): boolean;
  /** Runs the callbacks of every token waiting (`drainFinalizers`). */
  cleanupSome(): void;
}

/**
 * Shaped like JavaScript's WeakMap, for asrt objects (refs): a value stays alive only while its
 * key does (an ephemeron), and the entry goes with the key. Made by `new exports.WeakMap()`.
 */
export interface AsrtWeakMap {
  /** The value's ref, or 0 when `key` has no entry. */
  get(key: number): number;
  set(key: number, value: number): this;
  has(key: number): boolean;
  delete(key: number): boolean;
  /** Releases the map and its entries; later calls abort. */
  free(): void;
  [Symbol.dispose](): void;
}

/** Utility mixed in by the loader. */
export interface ASUtil {
  /** Weak maps of asrt objects (docs/ABI.md §10.6). */
  WeakMap: new () => AsrtWeakMap;
  /** Weak references to asrt objects (docs/ABI.md §10). */
  WeakRef: new (ref: number) => AsrtWeakRef;
  /** Finalizers for asrt objects, in the shape of JavaScript's FinalizationRegistry. */
  FinalizationRegistry: new <T = unknown>(callback: (heldValue: T) => void) => AsrtFinalizationRegistry<T>;
  /**
   * Takes every finalizer token waiting and runs its registry's callback; returns the tokens no
   * registry of this loader made (compiled code's own `__finalizer_register` calls).
   */
  drainFinalizers(): number[];
  memory?: WebAssembly.Memory;
  table?: WebAssembly.Table;

  /** Copies a string's value from the module's memory. `null` for the null ref. */
  __getString(ptr: number): string;
  /** Copies an ArrayBuffer's value from the module's memory. */
  __getArrayBuffer(ptr: number): ArrayBuffer;

  /** Copies an array's values from the module's memory. Infers the array type from RTTI. */
  __getArray(ptr: number): number[];
  /** Copies an Int8Array's values from the module's memory. */
  __getInt8Array(ptr: number): Int8Array;
  /** Copies an Uint8Array's values from the module's memory. */
  __getUint8Array(ptr: number): Uint8Array;
  /** Copies an Uint8ClampedArray's values from the module's memory. */
  __getUint8ClampedArray(ptr: number): Uint8ClampedArray;
  /** Copies an Int16Array's values from the module's memory. */
  __getInt16Array(ptr: number): Int16Array;
  /** Copies an Uint16Array's values from the module's memory. */
  __getUint16Array(ptr: number): Uint16Array;
  /** Copies an Int32Array's values from the module's memory. */
  __getInt32Array(ptr: number): Int32Array;
  /** Copies an Uint32Array's values from the module's memory. */
  __getUint32Array(ptr: number): Uint32Array;
  /** Copies an Int64Array's values from the module's memory. */
  __getInt64Array?(ptr: number): BigInt64Array;
  /** Copies an Uint64Array's values from the module's memory. */
  __getUint64Array?(ptr: number): BigUint64Array;
  /** Copies a Float32Array's values from the module's memory. */
  __getFloat32Array(ptr: number): Float32Array;
  /** Copies a Float64Array's values from the module's memory. */
  __getFloat64Array(ptr: number): Float64Array;

  /** Gets a live view on an array's values in the module's memory. Infers the array type from RTTI. */
  __getArrayView(ptr: number): ArrayBufferView;
  /** Gets a live view on an Int8Array's values in the module's memory. */
  __getInt8ArrayView(ptr: number): Int8Array;
  /** Gets a live view on an Uint8Array's values in the module's memory. */
  __getUint8ArrayView(ptr: number): Uint8Array;
  /** Gets a live view on an Uint8ClampedArray's values in the module's memory. */
  __getUint8ClampedArrayView(ptr: number): Uint8ClampedArray;
  /** Gets a live view on an Int16Array's values in the module's memory. */
  __getInt16ArrayView(ptr: number): Int16Array;
  /** Gets a live view on an Uint16Array's values in the module's memory. */
  __getUint16ArrayView(ptr: number): Uint16Array;
  /** Gets a live view on an Int32Array's values in the module's memory. */
  __getInt32ArrayView(ptr: number): Int32Array;
  /** Gets a live view on an Uint32Array's values in the module's memory. */
  __getUint32ArrayView(ptr: number): Uint32Array;
  /** Gets a live view on an Int64Array's values in the module's memory. */
  __getInt64ArrayView?(ptr: number): BigInt64Array;
  /** Gets a live view on an Uint64Array's values in the module's memory. */
  __getUint64ArrayView?(ptr: number): BigUint64Array;
  /** Gets a live view on a Float32Array's values in the module's memory. */
  __getFloat32ArrayView(ptr: number): Float32Array;
  /** Gets a live view on a Float64Array's values in the module's memory. */
  __getFloat64ArrayView(ptr: number): Float64Array;

  /** Gets a function from a pointer which contains the table's index. */
  __getFunction(ptr: number): ((...args: unknown[]) => unknown) | null;

  /** Allocates a new string in the module's memory and returns a reference (pointer) to it. */
  __newString(str: string): number;
  /** Allocates a new ArrayBuffer in the module's memory and returns a reference (pointer) to it. */
  __newArrayBuffer(buf: ArrayBuffer | ArrayBufferView): number;
  /**
   * Allocates a new array (Array, typed array or StaticArray of type `id`) and returns a reference
   * to it. Managed elements (refs) are stored with the `__link` write barrier.
   */
  __newArray(id: number, valuesOrCapacity?: Array<number | bigint | null> | ArrayBufferView | number): number;

  /** Allocates an instance of the class represented by the specified id. */
  __new(size: number, id: number): number;
  /** Pins a managed object externally (counted in asrt), keeping it from being collected. */
  __pin(ptr: number): number;
  /** Unpins a managed object externally, allowing it to become garbage collected. */
  __unpin(ptr: number): void;
  /** Performs a full garbage collection cycle. */
  __collect(incremental?: boolean): void;
  /** Tests whether a managed object is an instance of the class represented by the specified id. */
  __instanceof(ptr: number, id: number): boolean;

  // ---- @asrt/loader additions ----

  /** Allocates a String from UTF-8 (a JS string is encoded first) with the runtime's decoder.
   *  With `replace = false`, invalid UTF-8 makes the runtime abort instead of inserting U+FFFD. */
  __newStringUTF8(input: string | ArrayBuffer | ArrayBufferView, replace?: boolean): number;
  /** Reads a String by encoding it to UTF-8 in the runtime and decoding that in JS. */
  __getStringUTF8(ptr: number): string;
  /** The UTF-8 bytes of a String as the runtime encodes them (a copy). */
  __getStringUTF8Bytes(ptr: number, nullTerminated?: boolean): Uint8Array;
  /** Pins `ptr` and returns a handle that unpins it on release() or when collected. */
  __pinHandle(ptr: number): PinHandle;
  /** RTTI flags of a type id. */
  __typeinfo(id: number): number;
  /** The id the layout exports as `__id_<name>`. */
  __idof(name: string): number;
  /** The ref of the static object the layout exports as `__static_<name>`. */
  __getStatic(name: string): number;
  /** Heap and collector statistics from `__gc_stats`. */
  gcStats(): GcStats;
  /**
   * The broken invariants `__heap_check` counts, from `__heap_check_list` (at most `max`,
   * default 256; `total` is the full count). Empty when the heap is sound.
   */
  heapCheck(options?: { max?: number }): HeapViolation[] & { total: number };
  /** The collector's phase from `__gc_phase` (0 idle, 1 mark, 2 sweep), without doing work. */
  gcPhase(): GcPhase;
  /**
   * Idle-time collection: calls `__gc_step` until the cycle ends or `budget` (milliseconds, or
   * an `IdleDeadline` from `requestIdleCallback`; default: no limit) is spent; at least one step.
   * From idle it starts a cycle, unless `options.start` is false (then it only helps a cycle
   * already under way). Returns the phase after the last step.
   */
  gcIdle(budget?: number | { timeRemaining(): number }, options?: { start?: boolean }): GcPhase;
  /** The detected (or given) profile. */
  readonly __profile: ProfileName;
  /** Why that profile was chosen. */
  readonly __profileReason: string;
  /** The fixed type ids of the profile. */
  readonly __typeIds: Readonly<{ ArrayBuffer: number; String: number; ArrayBufferView: number; Object?: number }>;
}

/** Asynchronously instantiates a module from anything that can be instantiated. */
export declare function instantiate<T extends Record<string, unknown>>(
  source: WebAssembly.Module | BufferSource | Response | PromiseLike<WebAssembly.Module | BufferSource | Response>,
  imports?: Imports,
  options?: LoaderOptions
): Promise<ResultObject & { exports: ASUtil & T }>;

/** Synchronously instantiates a module from a WebAssembly.Module or binary buffer. */
export declare function instantiateSync<T extends Record<string, unknown>>(
  source: WebAssembly.Module | BufferSource,
  imports?: Imports,
  options?: LoaderOptions
): ResultObject & { exports: ASUtil & T };

/** Asynchronously instantiates a module from a response, i.e. as obtained by `fetch`. */
export declare function instantiateStreaming<T extends Record<string, unknown>>(
  source: Response | PromiseLike<Response>,
  imports?: Imports,
  options?: LoaderOptions
): Promise<ResultObject & { exports: ASUtil & T }>;

/** Where `js/asc.mjs` places a program's static data (`--memoryBase`, docs/ABI.md §8). */
export declare const ASRT_MEMORY_BASE: 0x200000;

export interface AssemblyScriptOptions extends LoaderOptions {
  /** The asrt module built with the cargo feature `assemblyscript` (async form: also a Response or promise). */
  runtime: WebAssembly.Module | BufferSource | Response | PromiseLike<WebAssembly.Module | BufferSource | Response>;
  /** Called after instantiation, before the program's top-level code runs. */
  beforeStart?: (exports: ASUtil & Record<string, unknown>) => void;
}

/** The program's exports with the loader's helpers, and asrt's own exports. */
export interface AssemblyScriptResult<T> {
  exports: ASUtil & T;
  runtime: Record<string, unknown> & { memory: WebAssembly.Memory };
}

/**
 * Instantiates a program compiled by `js/asc.mjs` on asrt (`options.runtime`), one memory, and
 * runs its top-level code once (docs/ABI.md §8).
 */
export declare function instantiateAssemblyScriptSync<T extends Record<string, unknown>>(
  source: WebAssembly.Module | BufferSource,
  imports: Imports | undefined,
  options: AssemblyScriptOptions & { runtime: WebAssembly.Module | BufferSource }
): AssemblyScriptResult<T>;

/** The asynchronous form of {@link instantiateAssemblyScriptSync}. */
export declare function instantiateAssemblyScript<T extends Record<string, unknown>>(
  source: WebAssembly.Module | BufferSource | Response | PromiseLike<WebAssembly.Module | BufferSource | Response>,
  imports: Imports | undefined,
  options: AssemblyScriptOptions
): Promise<AssemblyScriptResult<T>>;

/** Demangles a module's exports to a friendly object structure. */
export declare function demangle<T extends Record<string, unknown>>(
  exports: Record<string, unknown>,
  extendedExports?: Record<string, unknown>
): T;

// ---- pure helpers ----

export declare const HEADER: Readonly<{ MMINFO: -16; GCINFO: -12; RTID: -8; RTSIZE: -4; SIZE: 16 }>;
export declare const TypeFlags: Readonly<Record<
  | "ARRAYBUFFERVIEW" | "ARRAY" | "STATICARRAY" | "SET" | "MAP" | "POINTERFREE"
  | "VALUE_ALIGN_0" | "VALUE_ALIGN_1" | "VALUE_ALIGN_2" | "VALUE_ALIGN_3" | "VALUE_ALIGN_4"
  | "VALUE_SIGNED" | "VALUE_FLOAT" | "VALUE_NULLABLE" | "VALUE_MANAGED"
  | "KEY_ALIGN_0" | "KEY_ALIGN_1" | "KEY_ALIGN_2" | "KEY_ALIGN_3" | "KEY_ALIGN_4"
  | "KEY_SIGNED" | "KEY_FLOAT" | "KEY_NULLABLE" | "KEY_MANAGED", number>>;
export interface ProfileInfo {
  readonly name: ProfileName;
  /** u32 words per RTTI entry: 2 ({flags, base}) or 1 ({flags}). */
  readonly entryWords: 1 | 2;
  readonly ids: Readonly<{ ArrayBuffer: number; String: number; ArrayBufferView: number; Object?: number }>;
}
export declare const PROFILES: Readonly<{ classic: ProfileInfo; modern: ProfileInfo }>;
export declare const GREETING: "hello, asrt";
export declare const STRING_SMALL_UNITS: number;
export declare const STRING_CHUNK_UNITS: number;
export declare function fromCharCodeChunked(units: Uint16Array, chunk?: number): string;
export declare function decodeUTF16(units: Uint16Array, smallUnits?: number): string;
export declare function valueAlignLog2(flags: number): number;
export declare function keyAlignLog2(flags: number): number;
export interface ParsedTypeFlags {
  flags: number;
  kind: "StaticArray" | "Array" | "ArrayBufferView" | "Set" | "Map" | "Object";
  arrayBufferView: boolean; array: boolean; staticArray: boolean; set: boolean; map: boolean;
  pointerFree: boolean;
  valueAlign: number; valueSigned: boolean; valueFloat: boolean; valueNullable: boolean; valueManaged: boolean;
  keyAlign: number; keySigned: boolean; keyFloat: boolean; keyNullable: boolean; keyManaged: boolean;
}
export declare function parseTypeFlags(flags: number): ParsedTypeFlags;
export declare function viewConstructor(alignLog2: number, signed: unknown, float: unknown):
  | Int8ArrayConstructor | Uint8ArrayConstructor | Int16ArrayConstructor | Uint16ArrayConstructor
  | Int32ArrayConstructor | Uint32ArrayConstructor | BigInt64ArrayConstructor | BigUint64ArrayConstructor
  | Float32ArrayConstructor | Float64ArrayConstructor | null;
export declare function readTypeinfo(U32: Uint32Array, rttiBase: number, id: number, profile: ProfileName | ProfileInfo):
  { flags: number; base: number } | undefined;
export declare function detectProfile(
  buffer: ArrayBuffer | SharedArrayBuffer,
  where?: { rttiBase?: number; greetingCell?: number }
): { profile: ProfileName; reason: string };

declare const _default: {
  instantiate: typeof instantiate;
  instantiateSync: typeof instantiateSync;
  instantiateStreaming: typeof instantiateStreaming;
  demangle: typeof demangle;
};
export default _default;
