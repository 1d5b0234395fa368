// asrt demo: loads the release runtime with plain WebAssembly.instantiate (no loader),
// allocates unmanaged and managed memory, builds a pinned object graph, collects, and
// prints the heap figures from __gc_stats along the way.
//
//   node examples/demo.mjs [path/to/asrt.wasm]
//
// The wasm path defaults to $ASRT_WASM, else target/wasm32-unknown-unknown/release/asrt.wasm.
// Written against the ABI (exports __alloc, __free, __new, __link, __pin, __unpin, __collect,
// __gc_stats, __heap_check, __id_TreeNode); an export the module does not have is reported
// and its part of the demo is skipped.

import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import path from "node:path";

const here = path.dirname(fileURLToPath(import.meta.url));
const wasmPath =
  process.argv[2] ??
  process.env.ASRT_WASM ??
  path.join(here, "..", "target", "wasm32-unknown-unknown", "release", "asrt.wasm");

// ---------------------------------------------------------------------------------------------
// Instantiation

let memory = null; // set once the instance exists

/** Reads the String at `ref` (UTF-16LE payload; byte length = u32 at ref - 4). */
function readString(ref) {
  if (!ref || !memory) return "(null)";
  const buf = memory.buffer;
  if (ref < 4 || ref > buf.byteLength) return `(bad string ref ${ref})`;
  const bytes = new DataView(buf).getUint32(ref - 4, true);
  if (ref + bytes > buf.byteLength) return `(bad string ref ${ref})`;
  return new TextDecoder("utf-16le").decode(new Uint8Array(buf, ref, bytes & ~1));
}

class AbortError extends Error {}

const imports = {
  env: {
    abort(msg, file, line, col) {
      throw new AbortError(`abort: ${readString(msg)} (${readString(file)}:${line}:${col})`);
    },
  },
};

let bytes;
try {
  bytes = await readFile(wasmPath);
} catch (err) {
  console.error(`cannot read ${wasmPath}: ${err.message}`);
  console.error("build it first: scripts/build.sh default (or run scripts/demo.sh)");
  process.exit(1);
}

const module = await WebAssembly.compile(bytes);
// A build with --features import-memory (or rtrace) needs more imports; provide them.
for (const imp of WebAssembly.Module.imports(module)) {
  if (imp.module === "env" && imp.name === "memory" && imp.kind === "memory") {
    imports.env.memory = new WebAssembly.Memory({ initial: 256 }); // 16 MiB, ample for any minimum
    console.log("note: module imports env.memory; providing a 16 MiB memory");
  } else if (imp.module === "rtrace" && imp.kind === "function") {
    (imports.rtrace ??= {})[imp.name] = () => {};
  }
}
const instance = await WebAssembly.instantiate(module, imports);
const ex = instance.exports;
memory = ex.memory ?? imports.env.memory;

console.log(`asrt demo — ${path.relative(process.cwd(), wasmPath) || wasmPath} (${bytes.length} bytes)`);

const wanted = [
  "memory", "__heap_base", "__alloc", "__free", "__new", "__link", "__pin", "__unpin",
  "__collect", "__gc_stats", "__heap_check", "__id_TreeNode",
];
const missing = wanted.filter((name) => !(name in ex));
console.log(`exports: ${Object.keys(ex).length} in total`);
if (missing.length) {
  console.log(`note: not exported (yet): ${missing.join(", ")} — the parts that need them are skipped`);
}
const has = (...names) => names.every((name) => typeof ex[name] === "function");
const globalValue = (name) => (ex[name] instanceof WebAssembly.Global ? ex[name].value >>> 0 : null);

// ---------------------------------------------------------------------------------------------
// Helpers

const u32 = () => new Uint32Array(memory.buffer); // fresh view: memory may have grown
const fmtBytes = (n) => {
  n = Number(n);
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(2)} MiB`;
  if (n >= 1 << 10) return `${(n / (1 << 10)).toFixed(1)} KiB`;
  return `${n} B`;
};

/** Runs `fn`; an abort or trap is printed, not thrown. Returns [ok, value]. */
function attempt(label, fn) {
  try {
    return [true, fn()];
  } catch (err) {
    const kind = err instanceof AbortError ? "" : `${err.constructor.name}: `;
    console.log(`  ${label}: ${kind}${err.message}`);
    return [false, undefined];
  }
}

const STAT_NAMES = [
  "heap bytes", "used bytes", "free bytes", "largest free",
  "live objects", "collections", "gc steps", "total allocated",
];
const STAT_IS_BYTES = [true, true, true, true, false, false, false, true];
let statsOut = 0;
if (has("__gc_stats", "__alloc")) {
  const [ok, ptr] = attempt("__alloc(64) for the stats buffer", () => ex.__alloc(64) >>> 0);
  if (ok) statsOut = ptr;
}

function stats() {
  if (!statsOut) return null;
  const [ok] = attempt("__gc_stats", () => ex.__gc_stats(statsOut));
  if (!ok) return null;
  const view = new DataView(memory.buffer);
  return STAT_NAMES.map((_, i) => view.getBigUint64(statsOut + i * 8, true));
}

const snapshots = [];
function snapshot(label) {
  const s = stats();
  if (s) snapshots.push({ label, s });
  const mem = memory ? fmtBytes(memory.buffer.byteLength) : "?";
  if (s) {
    console.log(`  [${label}] heap ${fmtBytes(s[0])}, used ${fmtBytes(s[1])}, free ${fmtBytes(s[2])}, ` +
      `live objects ${s[4]}, collections ${s[5]}, memory ${mem}`);
  } else {
    console.log(`  [${label}] memory ${mem} (no __gc_stats)`);
  }
}

// ---------------------------------------------------------------------------------------------
// The demo

const heapBase = globalValue("__heap_base");
console.log(`memory: ${memory ? fmtBytes(memory.buffer.byteLength) : "none"}` +
  (heapBase !== null ? `, __heap_base = ${heapBase} (0x${heapBase.toString(16)})` : ""));

console.log("\n1. start");
snapshot("start");

// 2. Unmanaged blocks: __alloc / __free (never collected).
console.log("\n2. unmanaged blocks (__alloc / __free)");
const kept = [];
if (has("__alloc", "__free")) {
  attempt("__alloc/__free", () => {
    const blocks = [];
    for (let i = 0; i < 2000; i++) blocks.push(ex.__alloc(16 + ((i * 37) % 1000)) >>> 0);
    const misaligned = blocks.filter((p) => p % 16 !== 0).length;
    console.log(`  allocated ${blocks.length} blocks of 16..1015 bytes (${misaligned} not 16-aligned)`);
    snapshot("after 2000 x __alloc");
    for (let i = 0; i < blocks.length; i++) {
      if (i % 2) ex.__free(blocks[i]);
      else kept.push(blocks[i]);
    }
    console.log(`  freed every second block, ${kept.length} kept`);
    snapshot("after freeing half");
  });
} else {
  console.log("  skipped: needs __alloc and __free");
}

// 3. Managed garbage: __new objects nothing refers to.
console.log("\n3. managed garbage (__new, unreachable)");
if (has("__new")) {
  attempt("__new", () => {
    // Type id 1 is a pointer-free leaf in both profiles (String in classic, ArrayBuffer in modern).
    for (let i = 0; i < 20000; i++) ex.__new(16 + 2 * (i % 120), 1);
    console.log("  allocated 20000 unreachable objects of 16..254 bytes (id 1)");
    snapshot("after 20000 x __new");
  });
} else {
  console.log("  skipped: needs __new");
}

// 4. A reachable graph: a pinned binary tree of TreeNode (two ref fields at 0 and 4).
console.log("\n4. a pinned tree of TreeNode objects");
const treeIdAddr = globalValue("__id_TreeNode");
let root = 0;
let treeSize = 0;
if (has("__new", "__link", "__pin", "__unpin") && treeIdAddr !== null) {
  const treeId = u32()[treeIdAddr >>> 2];
  const build = (depth) => {
    const node = ex.__new(8, treeId) >>> 0;
    treeSize++;
    if (depth > 0) {
      // Pin the node while its children are allocated: __new may run GC steps.
      ex.__pin(node);
      const left = build(depth - 1);
      u32()[node >>> 2] = left;
      ex.__link(node, left, 0);
      const right = build(depth - 1);
      u32()[(node + 4) >>> 2] = right;
      ex.__link(node, right, 0);
      ex.__unpin(node);
    }
    return node;
  };
  attempt("tree", () => {
    // The root is pinned before its subtrees exist, so build depth 0 of it by hand.
    root = ex.__new(8, treeId) >>> 0;
    treeSize = 1;
    ex.__pin(root);
    const left = build(11);
    u32()[root >>> 2] = left;
    ex.__link(root, left, 0);
    const right = build(11);
    u32()[(root + 4) >>> 2] = right;
    ex.__link(root, right, 0);
    console.log(`  built a tree of ${treeSize} nodes (TreeNode id ${treeId}), root ${root} pinned`);
    snapshot("after building the tree");
  });
} else {
  console.log("  skipped: needs __new, __link, __pin, __unpin and __id_TreeNode");
}

// 5. Collect: the garbage goes, the pinned tree stays.
console.log("\n5. __collect");
if (has("__collect")) {
  attempt("__collect", () => {
    ex.__collect();
    snapshot("after __collect");
    const s = snapshots.at(-1)?.s;
    if (s && root) console.log(`  live objects ${s[4]} (the tree has ${treeSize} nodes)`);
  });
  if (root) {
    attempt("__unpin/__collect", () => {
      ex.__unpin(root);
      root = 0;
      ex.__collect();
      snapshot("after __unpin(root) + __collect");
    });
  }
} else {
  console.log("  skipped: needs __collect");
}

// 6. Errors go through env.abort, and the instance keeps working afterwards.
console.log("\n6. error handling");
if (has("__free")) {
  const [ok] = attempt("__free(8) (not a block)", () => ex.__free(8));
  if (ok) console.log("  __free(8) returned without an error (unexpected)");
  if (has("__alloc")) {
    const [ok2, p] = attempt("__alloc after the error", () => ex.__alloc(32) >>> 0);
    if (ok2) {
      console.log(`  the instance still works: __alloc(32) = ${p}`);
      ex.__free(p);
    }
  }
} else {
  console.log("  skipped: needs __free");
}

// 7. Clean up and check the heap.
console.log("\n7. clean up");
if (has("__free")) {
  attempt("__free", () => {
    for (const p of kept) ex.__free(p);
    console.log(`  freed the remaining ${kept.length} unmanaged blocks`);
  });
}
snapshot("end");
if (has("__heap_check")) {
  const [ok, errors] = attempt("__heap_check", () => ex.__heap_check());
  if (ok) console.log(`  __heap_check: ${errors} error(s)${errors === 0 ? " — heap is sound" : ""}`);
  if (!ok || errors !== 0) process.exitCode = 1;
} else {
  console.log("  __heap_check not exported: heap not checked");
}

// Summary table: the figures before (start) and after (end) everything, and after __collect.
if (snapshots.length) {
  console.log("\nheap figures (__gc_stats):");
  const cols = snapshots.filter((x) => ["start", "after __collect", "end"].includes(x.label));
  const width = 18;
  console.log("  " + "".padEnd(16) + cols.map((c) => c.label.padStart(width)).join(""));
  STAT_NAMES.forEach((name, i) => {
    const cells = cols.map((c) => (STAT_IS_BYTES[i] ? fmtBytes(c.s[i]) : String(c.s[i])).padStart(width));
    console.log("  " + name.padEnd(16) + cells.join(""));
  });
} else {
  console.log("\n(no heap figures: __gc_stats or __alloc is not exported yet)");
}
if (missing.length) console.log(`\nnote: this build lacks ${missing.join(", ")}; rerun once the runtime exports them.`);
