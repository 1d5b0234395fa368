// AssemblyScript programs on asrt, end to end (docs/ABI.md §8): real programs compiled by
// js/asc.mjs run on the `assemblyscript` build through instantiateAssemblyScript(Sync), with
// enough allocation for many collections (also in small steps of the slowest pacing), their
// answers compared with the same sources on AssemblyScript's own incremental runtime, and
// __heap_check 0 after.
// Path:  ASRT_WASM_ASC, default target/asc/wasm32-unknown-unknown/release/asrt.wasm
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { main } from "../../js/asc.mjs";
import { instantiateAssemblyScript, instantiateAssemblyScriptSync } from "../../js/loader.mjs";
import { wasmPath } from "./helpers.mjs";

const RUNTIME = readFileSync(wasmPath("ASRT_WASM_ASC", "target/asc/wasm32-unknown-unknown/release/asrt.wasm"));
const dir = mkdtempSync(path.join(tmpdir(), "asrt-asc-e2e-"));

const PROGRAMS = {
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
};

/** Compiles `name` with js/asc.mjs (asrt) or plain asc on AssemblyScript's incremental runtime. */
async function compile(name, onAsrt) {
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
function reference(bytes) {
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

const N = { strings: 3000, classes: 150000, collections: 40000, sets: 30000, globals: 20000 };

for (const name of Object.keys(PROGRAMS)) {
  test(`${name}: same answers as AssemblyScript's runtime, many collections, __heap_check 0`, async () => {
    const [mine, theirs] = [await compile(name, true), await compile(name, false)];
    const n = N[name];
    for (const pacing of ["default", "slowest"]) {
      let started = 0;
      const { exports, runtime } = instantiateAssemblyScriptSync(mine, {}, {
        runtime: RUNTIME,
        beforeStart() { started++; },
      });
      assert.equal(started, 1);
      if (pacing === "slowest") runtime.__gc_configure(10, 1024);
      const expected = reference(theirs);
      for (const k of [n, n >> 1, n]) {
        const got = exports.__getString(exports.run(k));
        assert.equal(got, expected(k), `${name} n=${k} (${pacing})`);
        assert.equal(runtime.__heap_check(), 0, `${name} n=${k} (${pacing}): heap check`);
      }
      const stats = exports.gcStats();
      assert.ok(stats.collections >= 3, `${name} (${pacing}): ${stats.collections} collections`);
      runtime.__collect();
      assert.equal(runtime.__heap_check(), 0);
      // Nothing but the program's globals keeps objects: a collection leaves a small heap.
      assert.ok(exports.gcStats().usedBytes < 4 << 20, `${name}: ${exports.gcStats().usedBytes} bytes used`);
    }
  });
}

test("JavaScript pins, __collect and steps between calls, __newString, the async form", async () => {
  const mine = await compile("strings", true);
  const { exports, runtime } = await instantiateAssemblyScript(Promise.resolve(mine), {}, {
    runtime: Promise.resolve(RUNTIME),
  });
  const s = exports.__pin(exports.run(50));
  const text = exports.__getString(s);
  for (let i = 0; i < 5; i++) {
    exports.run(500);
    while (runtime.__gc_step() !== 0);
    exports.__collect();
  }
  assert.equal(exports.__getString(s), text, "a pinned result survives collections");
  assert.equal(runtime.__heap_check(), 0);
  exports.__unpin(s);
  const made = exports.__newString("from JavaScript ✓");
  assert.equal(exports.__getString(made), "from JavaScript ✓");
  assert.equal(runtime.__heap_check(), 0);
});

test("the assemblyscript build refuses work before __asc_attach and a second attach", async () => {
  const { runtime } = instantiateAssemblyScriptSync(await compile("sets", true), {}, { runtime: RUNTIME });
  assert.throws(() => runtime.__asc_attach(0, 0, 0), /invalid argument/);
  const bare = new WebAssembly.Instance(new WebAssembly.Module(RUNTIME), {
    env: {
      abort(msg) {
        const m = bare.exports.memory.buffer;
        const size = new DataView(m).getUint32(msg - 4, true);
        throw new Error(String.fromCharCode(...new Uint16Array(m, msg, size >>> 1)));
      },
    },
    asc: { visit_members() {}, visit_roots() {} },
  });
  assert.throws(() => bare.exports.__new(8, 0), /invalid argument/);
  // Below asrt's own static data: refused, and nothing was created.
  assert.throws(() => bare.exports.__asc_attach(16, 16, 64), /invalid argument/);
  assert.throws(() => bare.exports.__new(8, 0), /invalid argument/);
});

test("a reference moved into a global while marking survives (globals are rescanned before marking ends)", async () => {
  const { exports, runtime } = instantiateAssemblyScriptSync(await compile("globals", true), {}, { runtime: RUNTIME });
  // Enough live objects that marking takes many small steps.
  exports.grow(20000);
  runtime.__gc_configure(100, 1024);
  for (let round = 0; round < 5; round++) {
    exports.fill(round);
    const text = `kept-${round}-${"x".repeat(40)}`;
    runtime.__collect();
    assert.equal(runtime.__gc_step(), 1, "a cycle started: marking");
    exports.move();
    while (runtime.__gc_step() !== 0);
    exports.churn(5000);
    runtime.__collect();
    exports.churn(5000);
    assert.equal(exports.__getString(exports.read()), text, `round ${round}`);
    assert.equal(runtime.__heap_check(), 0);
  }
});
