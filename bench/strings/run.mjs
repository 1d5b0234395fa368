// String benchmark: asrt's string exports against AssemblyScript's String.UTF8 (compiled by asc
// 0.28.20, incremental runtime) and against TextEncoder/TextDecoder on plain JS strings.
//
//   node bench/strings/run.mjs [--asrt PATH] [--as PATH] [--out FILE] [--ms N]
//
// Workloads, each on short ASCII, long ASCII, short and long non-ASCII inputs:
//   decode      UTF-8 bytes already in linear memory -> a String in the heap
//               (asrt: __string_from_utf8(ptr, n, 1); AS: String.UTF8.decodeUnsafe;
//                JS: TextDecoder.decode(Uint8Array))
//   encode      a String already in the heap -> a UTF-8 ArrayBuffer
//               (asrt: __string_to_utf8(ref, 0); AS: String.UTF8.encode(s, false, REPLACE);
//                JS: TextEncoder.encode(string))
//   round trip  a JS string -> a String in the heap -> a JS string, through the loaders
//               (asrt UTF-8: js/loader.mjs __newStringUTF8 + __getStringUTF8;
//                asrt UTF-16 and AS: __newString + __getString, the latter by
//                @assemblyscript/loader 0.28.20; JS: TextDecoder.decode(TextEncoder.encode(s)))
// Throughput is in MB/s of UTF-8 bytes (10^6 bytes per second), with the time per operation.
// Every path is checked for the right result before it is timed. The garbage each operation
// leaves is collected by each runtime's own incremental GC, as in a real program.
import { readFileSync, writeFileSync, mkdirSync, existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "..", "..");
const args = process.argv.slice(2);
const arg = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const asrtPath = resolve(arg("asrt", process.env.ASRT_WASM ?? join(root, "target/wasm32-unknown-unknown/release/asrt.wasm")));
const asPath = resolve(arg("as", join(root, "bench/out/strings-wasm/as-strings.wasm")));
const outFile = resolve(arg("out", join(root, "bench/out/strings.md")));
const budgetMs = Number(arg("ms", 400));

const enc = new TextEncoder();
const dec = new TextDecoder("utf-8", { ignoreBOM: true });

function repeatTo(unit, bytes) {
  let s = "";
  while (enc.encode(s).length + enc.encode(unit).length <= bytes) s += unit;
  return s;
}
const INPUTS = [
  ["short ASCII", "hello, world 123"],
  ["long ASCII", repeatTo("The quick brown fox jumps over the lazy dog. 0123456789\n", 65536)],
  ["short non-ASCII", "Grüße, Влад, 你好 😀"],
  ["long non-ASCII", repeatTo("Grüße aus Köln — Привет, мир — 你好，世界 — 😀🚀 — ok; ", 65536)],
];

// ---- the targets ---------------------------------------------------------------------------

async function loadAsrt() {
  if (!existsSync(asrtPath)) return { missing: `not built (${asrtPath})` };
  const loaderPath = join(root, "js/loader.mjs");
  const bytes = readFileSync(asrtPath);
  let exports, viaLoader = false;
  if (existsSync(loaderPath)) {
    const loader = await import(loaderPath);
    ({ exports } = await loader.instantiate(bytes, {}));
    viaLoader = true;
  } else {
    const { instance } = await WebAssembly.instantiate(bytes, {
      env: { abort() { throw new Error("abort"); } },
    });
    exports = instance.exports;
  }
  for (const name of ["__string_from_utf8", "__string_to_utf8", "__alloc", "__free", "__pin"]) {
    if (typeof exports[name] !== "function") return { missing: `no export ${name}` };
  }
  return { exports, viaLoader };
}

async function loadAS() {
  if (!existsSync(asPath)) return { missing: `not built (${asPath})` };
  const loader = await import("@assemblyscript/loader");
  const { exports } = await loader.default.instantiate(readFileSync(asPath), {});
  return { exports };
}

// ---- timing --------------------------------------------------------------------------------

let sink = 0;
function time(fn) {
  // Warm up (JIT tiers, heap growth), then run batches until the budget is spent.
  const warm = performance.now() + budgetMs / 4;
  while (performance.now() < warm) fn();
  let batch = 1, ops = 0;
  const start = performance.now();
  let now = start;
  while (now - start < budgetMs) {
    for (let i = 0; i < batch; i++) fn();
    ops += batch;
    if (batch < 1 << 16) batch *= 2;
    now = performance.now();
  }
  return (now - start) * 1e6 / ops; // ns per op
}

function cell(ns, bytes) {
  if (ns == null) return "n/a";
  const mbs = bytes / ns * 1e3; // bytes/ns = GB/s; *1e3 = MB/s
  const t = ns >= 1e4 ? `${(ns / 1e3).toFixed(1)} µs` : `${ns.toFixed(0)} ns`;
  return `${mbs >= 100 ? mbs.toFixed(0) : mbs.toFixed(1)} MB/s (${t})`;
}

function check(label, got, want) {
  if (got !== want) throw new Error(`${label}: wrong result (${String(got).slice(0, 40)}... vs ${want.slice(0, 40)}...)`);
}

// ---- main ----------------------------------------------------------------------------------

const asrt = await loadAsrt();
const as = await loadAS();
const rows = [];

for (const [label, str] of INPUTS) {
  const utf8 = enc.encode(str);
  const n = utf8.length;
  const desc = `${label} (${n} B)`;

  // decode
  const r = { asrt: null, as: null, js: null };
  if (!asrt.missing) {
    const e = asrt.exports;
    const ptr = e.__alloc(n) >>> 0;
    new Uint8Array(e.memory.buffer).set(utf8, ptr);
    const s = e.__string_from_utf8(ptr, n, 1) >>> 0;
    check("asrt decode", e.__getString(s), str);
    r.asrt = time(() => { sink ^= e.__string_from_utf8(ptr, n, 1); });
    e.__free(ptr);
  }
  if (!as.missing) {
    const e = as.exports;
    const ptr = e.alloc(n) >>> 0;
    new Uint8Array(e.memory.buffer).set(utf8, ptr);
    check("AS decode", e.__getString(e.fromUtf8(ptr, n)), str);
    r.as = time(() => { sink ^= e.fromUtf8(ptr, n); });
    e.free(ptr);
  }
  check("JS decode", dec.decode(utf8), str);
  r.js = time(() => { sink ^= dec.decode(utf8).length; });
  rows.push(["decode", desc, cell(r.asrt, n), "", cell(r.as, n), cell(r.js, n)]);

  // encode
  const w = { asrt: null, as: null, js: null };
  if (!asrt.missing) {
    const e = asrt.exports;
    const s = e.__pin(e.__newString(str)) >>> 0;
    const ab = e.__string_to_utf8(s, 0) >>> 0;
    check("asrt encode", dec.decode(new Uint8Array(e.memory.buffer, ab, new Uint32Array(e.memory.buffer)[(ab - 4) >>> 2])), str);
    w.asrt = time(() => { sink ^= e.__string_to_utf8(s, 0); });
    e.__unpin(s);
  }
  if (!as.missing) {
    const e = as.exports;
    const s = e.__pin(e.__newString(str)) >>> 0;
    check("AS encode", dec.decode(new Uint8Array(e.__getArrayBuffer(e.toUtf8(s)))), str);
    w.as = time(() => { sink ^= e.toUtf8(s); });
    e.__unpin(s);
  }
  w.js = time(() => { sink ^= enc.encode(str).length; });
  rows.push(["encode", desc, cell(w.asrt, n), "", cell(w.as, n), cell(w.js, n)]);

  // round trip through the loaders
  const t = { u8: null, u16: null, as: null, js: null };
  if (!asrt.missing && asrt.viaLoader) {
    const e = asrt.exports;
    check("asrt UTF-8 round trip", e.__getStringUTF8(e.__newStringUTF8(str)), str);
    t.u8 = time(() => { sink ^= e.__getStringUTF8(e.__newStringUTF8(str)).length; });
    check("asrt UTF-16 round trip", e.__getString(e.__newString(str)), str);
    t.u16 = time(() => { sink ^= e.__getString(e.__newString(str)).length; });
  }
  if (!as.missing) {
    const e = as.exports;
    check("AS round trip", e.__getString(e.__newString(str)), str);
    t.as = time(() => { sink ^= e.__getString(e.__newString(str)).length; });
  }
  check("JS round trip", dec.decode(enc.encode(str)), str);
  t.js = time(() => { sink ^= dec.decode(enc.encode(str)).length; });
  rows.push(["round trip", desc, cell(t.u8, n), cell(t.u16, n), cell(t.as, n), cell(t.js, n)]);
}

const notes = [];
if (asrt.missing) notes.push(`asrt: ${asrt.missing}`);
else if (!asrt.viaLoader) notes.push("asrt: js/loader.mjs absent; raw exports only (no round-trip row)");
if (as.missing) notes.push(`AssemblyScript: ${as.missing}`);

const header = [
  "| workload | input | asrt | asrt (UTF-16 path) | AssemblyScript 0.28.20 | JS TextEncoder/TextDecoder |",
  "| --- | --- | --- | --- | --- | --- |",
];
const table = [...header, ...rows.sort((a, b) => a[0].localeCompare(b[0])).map(r => `| ${r.join(" | ")} |`)].join("\n");
const md = `# String benchmark

Node ${process.version}, ${new Date().toISOString().slice(0, 10)}; ${budgetMs} ms per cell after warm-up.
Throughput in MB/s of UTF-8 bytes (higher is better), time per operation in parentheses.
"decode": UTF-8 bytes in linear memory to a heap String; "encode": a heap String to a UTF-8
ArrayBuffer; "round trip": JS string to heap String and back through the loader (asrt: UTF-8
path of js/loader.mjs, and its UTF-16 path; AssemblyScript: @assemblyscript/loader, UTF-16
path). The JS column does the same work on plain JS strings (decode / encode / encode+decode).

Semantics differ: asrt decodes exactly as TextDecoder (validation, one U+FFFD per maximal
subpart) in two passes, exact UTF-16 length first, then the decode into an exactly sized String;
AssemblyScript's String.UTF8.decodeUnsafe does not validate (ill-formed input yields garbage,
never U+FFFD) and decodes in one pass into a String of the maximal size, shrunk by __renew.
Both encoders run two passes (byte length, then encode) and replace lone surrogates.

${table}
${notes.length ? "\n" + notes.map(n => `- ${n}`).join("\n") + "\n" : ""}`;
mkdirSync(dirname(outFile), { recursive: true });
writeFileSync(outFile, md);
console.log(md);
if (sink === 0.5) console.log(sink); // keep the results observable
