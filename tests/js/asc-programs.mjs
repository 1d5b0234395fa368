// The AssemblyScript programs of the end-to-end tests (tests/js/asc-run.test.mjs in node,
// tests/js/asc-browser.test.mjs in headless Chromium): their sources, sizes and pacings, how
// they are compiled, and their answers on AssemblyScript's own incremental runtime.
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { main } from "../../js/asc.mjs";

const dir = mkdtempSync(path.join(tmpdir(), "asrt-asc-e2e-"));

export const PROGRAMS = {
  strings: `
let kept = "";
export function run(n: i32): string {
  let out = "";
  for (let i = 0; i < n; i++) {
    let s = \`item \${i} of \${n}\`;
    let t = s.substring(2, 7) + s.slice(-3) + "é€😀".substring(i % 4, 4);
    let parts = (t + "," + s).split(" ");
    out = (out.length > 300 ? out.substring(150) : out) + parts.join("_");
    if (i % 100 == 0) kept += String.fromCharCode(65 + (i / 100) % 26);
    let bytes = String.UTF8.encode(t);
    out += String.UTF8.decode(bytes).length.toString();
  }
  return \`\${out.length}:\${out.substring(0, 40)}:\${kept}\`;
}`,
  classes: `
abstract class Shape { abstract area(): f64; name(): string { return "shape"; } }
class Rect extends Shape {
  constructor(public w: f64, public h: f64) { super(); }
  area(): f64 { return this.w * this.h; }
  name(): string { return "rect"; }
}
class Square extends Rect {
  next: Square | null = null;
  constructor(s: f64) { super(s, s); }
  name(): string { return "square:" + super.name(); }
}
let chain: Square | null = null;
export function run(n: i32): string {
  let total = 0.0;
  let names = new Array<string>();
  for (let i = 0; i < n; i++) {
    let s: Shape = i % 2 ? new Rect(i, 2) : new Square(i % 10);
    total += s.area();
    if (s instanceof Square) { let q = s as Square; q.next = chain; if (i % 50 == 0) chain = q; }
    if (i % 97 == 0) names.push(s.name());
  }
  let len = 0;
  let c = chain;
  while (c) { len++; c = c.next; }
  return \`\${total}|\${names.join(",")}|\${len}\`;
}`,
  collections: `
const table: string[] = ["zero", "one"];
export function run(n: i32): string {
  let m = new Map<string, i32[]>();
  let nums = new Array<i32>();
  let sa = new StaticArray<string>(8);
  for (let i = 0; i < n; i++) {
    let key = "k" + (i % 211).toString();
    if (!m.has(key)) m.set(key, []);
    m.get(key).push(i);
    nums.push(i * 3);
    sa[i & 7] = key;
    if (i % 37 == 0) table.push(key);
    if (i % 13 == 0) m.delete("k" + ((i * 7) % 211).toString());
  }
  let sum = 0;
  let keys = m.keys();
  for (let j = 0; j < keys.length; j++) sum += m.get(keys[j]).length;
  let f = nums.filter((x: i32): bool => x % 2 == 0).map<i32>((x: i32): i32 => x + 1);
  return \`\${m.size}|\${sum}|\${f.length}|\${f[f.length - 1]}|\${sa.join("/")}|\${table.length}|\${table[table.length - 1]}\`;
}`,
  sets: `
let big: string[] = [];
const primes: i32[] = [2, 3, 5, 7];
export function run(n: i32): string {
  let seen = new Set<string>();
  let bytes = new Uint8Array(64);
  let floats = new Float64Array(n % 50 + 1);
  for (let i = 0; i < n; i++) {
    let w = "w" + (i % 503).toString();
    seen.add(w);
    if (i % 3 == 0) seen.delete("w" + ((i * 5) % 503).toString());
    bytes[i & 63] = <u8>(bytes[(i + 1) & 63] + i);
    floats[i % floats.length] += i * 0.5;
    // More references in one object than a visitor call takes at once (asrt's queue of 256).
    if (big.length < 1200) big.push(w + "!"); else big[i % 1200] = w;
    if (i % 1000 == 0) primes.push(i + 1);
  }
  let sum = 0.0;
  for (let j = 0; j < floats.length; j++) sum += floats[j];
  let b = 0;
  for (let j = 0; j < 64; j++) b += bytes[j];
  let vals = seen.values();
  return \`\${seen.size}|\${vals.length}|\${b}|\${sum}|\${big.length}|\${big[7]}|\${big.join("").length}|\${primes.length}\`;
}`,
  globals: `
class Box { item: string | null = null; }
let holder = new Box();
let moved: string | null = null;
let churned: string[] = [];
let live: string[] = [];
export function grow(n: i32): void { for (let i = 0; i < n; i++) live.push(i.toString()); }
export function fill(i: i32): void { holder.item = "kept-" + i.toString() + "-" + "x".repeat(40); }
// Moves the only reference into a global: asc emits no barrier for global stores.
export function move(): void { moved = holder.item; holder.item = null; }
export function read(): string { return moved !== null ? moved! : "null"; }
export function churn(n: i32): i32 {
  let t = 0;
  for (let i = 0; i < n; i++) { let s = "y".repeat(40) + i.toString(); t += s.length; churned = [s]; }
  return t;
}
export function run(n: i32): string { fill(n); move(); churn(n); return read(); }`,
  // A class that declares its own conditional __visit: asc still generates a field visitor for it
  // (the method is not called), so the field asrt learns from the probe is traced in every state.
  visitmethod: `
class Tagged {
  kind: i32 = 0;
  a: string | null = null;
  // @ts-ignore: decorator
  @unsafe private __visit(cookie: u32): void {
    if (this.kind == 1) __visit(changetype<usize>(this.a), cookie);
  }
}
let kept = new Array<Tagged>();
export function run(n: i32): string {
  for (let i = 0; i < n; i++) {
    let t = new Tagged();
    t.kind = i & 3;
    t.a = "v" + i.toString();
    if (i % 7 == 0) kept.push(t);
    if (kept.length > 500) kept = kept.slice(250);
  }
  let total = 0;
  for (let j = 0; j < kept.length; j++) total += kept[j].a!.length + kept[j].kind;
  return \`\${kept.length}|\${total}|\${kept[kept.length - 1].a!}\`;
}`,
  // First-class functions, as far as AssemblyScript 0.28 has them (a function expression may not
  // capture a local: "AS100: Not implemented: Closures"): function values in arrays, maps and
  // fields, passed and returned, reading and writing globals.
  functions: `
type Op = (x: i32) => i32;
let offset = 7;
class Step { constructor(public name: string, public op: Op) {} }
function twice(f: Op): Op { return f; }
function pick(i: i32): Op {
  if (i % 3 == 0) return (x: i32): i32 => x + offset;
  if (i % 3 == 1) return (x: i32): i32 => x * 2;
  return (x: i32): i32 => { offset = (offset + 1) % 100; return x - offset; };
}
export function run(n: i32): string {
  let steps = new Array<Step>();
  let byName = new Map<string, Op>();
  let acc = 0;
  for (let i = 0; i < n; i++) {
    let s = new Step("s" + (i % 17).toString(), pick(i));
    steps.push(s);
    byName.set(s.name, s.op);
    acc = twice(s.op)(acc) % 1000003;
    if (steps.length > 300) steps = steps.slice(150);
  }
  let viaMap = 0;
  let names = byName.keys();
  for (let j = 0; j < names.length; j++) viaMap += byName.get(names[j])(j);
  let mapped = steps.map<i32>((s: Step): i32 => s.op(s.name.length)).reduce((a: i32, b: i32): i32 => a + b, 0);
  return \`\${acc}|\${viaMap}|\${mapped}|\${steps.length}|\${offset}\`;
}`,
};

/** Compiles `name` with js/asc.mjs (asrt) or plain asc on AssemblyScript's incremental runtime. */
export async function compile(name, onAsrt) {
  const src = path.join(dir, `${name}.ts`);
  writeFileSync(src, PROGRAMS[name]);
  const out = path.join(dir, `${name}${onAsrt ? "" : "-as"}.wasm`);
  const err = { text: "", write(c) { this.text += String(c); return true; } };
  const quiet = { write() { return true; } };
  let code;
  if (onAsrt) {
    code = await main([src, "-O3", "-o", out], { stderr: err, stdout: quiet });
  } else {
    const asc = (await import("assemblyscript/asc")).default;
    const { error } = await asc.main([src, "-O3", "--runtime", "incremental", "-o", out], { stderr: err, stdout: quiet });
    code = error ? 1 : 0;
  }
  assert.equal(code, 0, err.text);
  return readFileSync(out);
}

/** `run(n)` on AssemblyScript's own runtime: one instance, so globals carry over as on asrt. */
export function reference(bytes) {
  const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), {
    env: { abort() { throw new Error("abort"); }, trace() {}, seed: () => 1 },
  });
  const memory = instance.exports.memory;
  return (n) => {
    const ref = instance.exports.run(n);
    const size = new DataView(memory.buffer).getUint32(ref - 4, true);
    return String.fromCharCode(...new Uint16Array(memory.buffer, ref, size >>> 1));
  };
}

export const N = { visitmethod: 40000, strings: 3000, classes: 150000, collections: 40000, sets: 30000, globals: 20000, functions: 30000 };

/** The pacings each program runs under: asrt's default, the smallest steps, and a cycle every
 * 256 bytes allocated (`__gc_threshold`) with the smallest steps, on a smaller `n`. */
export const PACINGS = {
  default: { setup() {}, scale: 1 },
  slowest: { setup(rt) { rt.__gc_configure(10, 1024); }, scale: 1 },
  tiny: { setup(rt) { rt.__gc_threshold(256); rt.__gc_configure(10, 1024); }, scale: 1 / 40 },
};

/** A program with AssemblyScript's `__finalize` hook (not in PROGRAMS: it has no `run`). */
export const FINALIZE = `
class Box { constructor(public v: i32) {} }
// The box is allocated first, so it lies below its Res: a sweep that freed objects as it
// finalized them would free the box before the Res's hook reads it.
class Res { constructor(public id: i32, public box: Box) {} }
const LIMIT = 100000;
const seen = new StaticArray<u8>(LIMIT);
let bad = 0;
let mode = 0;
let kept = new Array<Res>();
// AssemblyScript's hook: called for every object the runtime frees. It must not allocate.
// @ts-ignore: decorator
@global function __finalize(ptr: usize): void {
  if (load<u32>(ptr - 8) != idof<Res>()) return;
  let r = changetype<Res>(ptr);
  // The object and its dead child are intact: nothing of the cycle is freed before every hook ran.
  if (r.id < 0 || r.id >= LIMIT || r.box.v != r.id * 2) { bad++; return; }
  seen[r.id] = seen[r.id] + 1;
  if (mode == 1) { mode = 2; new Box(0); } // refused: the runtime is in the middle of a step
}
export function make(from: i32, to: i32, keepEvery: i32): void {
  for (let i = from; i < to; i++) {
    let b = new Box(i * 2);
    let r = new Res(i, b);
    if (i % keepEvery == 0) kept.push(r);
  }
}
export function drop(): void { kept = new Array<Res>(); }
export function seenOf(i: i32): i32 { return seen[i]; }
export function badCount(): i32 { return bad; }
export function setMode(m: i32): void { mode = m; }
export function getMode(): i32 { return mode; }
`;
