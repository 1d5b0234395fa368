// js/asc.mjs and js/as/asrt-runtime.ts (docs/ABI.md §8.1–§8.3): the flags it owns are refused,
// and a real AssemblyScript program compiles to a module that takes its memory and its memory
// management from asrt and places its static data at ASRT_MEMORY_BASE.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync, readFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import {
  main,
  ascArguments,
  ASRT_MEMORY_BASE,
  ASRT_START_EXPORT,
  OWNED_FLAGS,
} from "../../js/asc.mjs";

const dir = mkdtempSync(path.join(tmpdir(), "asrt-asc-"));

const PROGRAM = `
class Shape { constructor(public name: string) {} area(): f64 { return 0; } }
class Rect extends Shape {
  constructor(public w: f64, public h: f64) { super("rect"); }
  area(): f64 { return this.w * this.h; }
}
const names: string[] = ["a", "b"];
export function run(n: i32): string {
  let s = "";
  let m = new Map<string, Shape>();
  for (let i = 0; i < n; i++) {
    let r = new Rect(i, 2);
    m.set(\`k\${i}\`, r);
    names.push(r.name.substring(0, 2));
    s = s.length > 40 ? s.substring(20) : s + \`\${r.area()};\`;
  }
  return s + m.size.toString() + names.length.toString();
}
`;

/** A sink for asc's output streams. */
function sink() {
  let text = "";
  return {
    write(chunk) {
      text += String(chunk);
      return true;
    },
    get text() {
      return text;
    },
  };
}

test("every flag js/asc.mjs owns is refused, in each spelling, before anything is compiled", async () => {
  const src = path.join(dir, "owned.ts");
  writeFileSync(src, "export function f(): i32 { return 1; }\n");
  const spellings = [];
  for (const flag of OWNED_FLAGS) {
    spellings.push([flag, "x"], [`${flag}=x`], [flag.toLowerCase(), "x"]);
  }
  for (const extra of spellings) {
    const out = path.join(dir, "owned.wasm");
    const stderr = sink();
    const code = await main([src, "-o", out, ...extra], { stderr, stdout: sink() });
    assert.equal(code, 2, `${extra.join(" ")}: exit code`);
    assert.match(stderr.text, /js\/asc\.mjs sets --\w+ itself/, `${extra.join(" ")}: message`);
    assert.ok(stderr.text.includes(extra[0]), `${extra.join(" ")}: the message names the argument`);
    assert.equal(existsSync(out), false, `${extra.join(" ")}: nothing written`);
  }
  assert.throws(() => ascArguments(["--runtime", "incremental"]), /sets --runtime itself/);
});

test("asrt's flags follow the user's arguments unchanged", () => {
  const args = ascArguments(["a.ts", "-O3", "--noAssert"]);
  assert.deepEqual(args.slice(0, 3), ["a.ts", "-O3", "--noAssert"]);
  const at = (flag) => args[args.indexOf(flag) + 1];
  assert.ok(at("--runtime").endsWith(path.join("js", "as", "asrt-runtime")));
  assert.ok(args.includes("--importMemory"));
  assert.equal(at("--memoryBase"), String(ASRT_MEMORY_BASE));
  assert.equal(at("--exportStart"), ASRT_START_EXPORT);
});

test("a compile error is asc's message and exit code 1", async () => {
  const src = path.join(dir, "bad.ts");
  writeFileSync(src, "export function f(): i32 { return undefinedName; }\n");
  const stderr = sink();
  const code = await main([src, "-o", path.join(dir, "bad.wasm")], { stderr, stdout: sink() });
  assert.equal(code, 1);
  assert.match(stderr.text, /undefinedName/);
});

test("a real program compiles against asrt's runtime file: imports, exports, static data", async () => {
  const src = path.join(dir, "program.ts");
  const out = path.join(dir, "program.wasm");
  writeFileSync(src, PROGRAM);
  const stderr = sink();
  const code = await main([src, "-O3", "-o", out], { stderr, stdout: sink() });
  assert.equal(code, 0, stderr.text);
  const module = new WebAssembly.Module(readFileSync(out));

  const imports = WebAssembly.Module.imports(module);
  const memoryImports = imports.filter((i) => i.kind === "memory");
  assert.deepEqual(memoryImports.map((i) => `${i.module}.${i.name}`), ["env.memory"]);
  const rt = imports.filter((i) => i.module === "asrt").map((i) => `${i.kind} ${i.name}`).sort();
  // All seven functions (the program re-exports its runtime interface, so every one is
  // imported) and the address of asrt's marking word, which the inline __link tests.
  assert.deepEqual(rt, ["function __collect", "function __link", "function __new", "function __pin",
    "function __renew", "function __unpin", "function __visit", "global __gc_marking"]);
  for (const i of imports) {
    assert.ok(i.module === "asrt" || i.module === "env", `unexpected import ${i.module}.${i.name}`);
  }

  const exports = new Set(WebAssembly.Module.exports(module).map((e) => e.name));
  for (const name of [
    "__new", "__renew", "__link", "__visit", "__pin", "__unpin", "__collect",
    "__asrt_rtti_base", "__asrt_heap_base", "__asrt_visit_members", "__asrt_visit_globals",
    "__asrt_stack_pointer",
    ASRT_START_EXPORT, "run", "memory",
  ]) {
    assert.ok(exports.has(name), `export ${name}`);
  }

  // Instantiated on a bare memory with memory management that must not be called: the data
  // segments land at ASRT_MEMORY_BASE and the answers the asrt module will read are sane.
  const memory = new WebAssembly.Memory({ initial: 64 });
  const never = (name) => () => {
    throw new Error(`${name} called`);
  };
  const asrt = Object.fromEntries(
    imports.filter((i) => i.module === "asrt" && i.kind === "function").map((i) => [i.name, never(i.name)]),
  );
  asrt.__gc_marking = new WebAssembly.Global({ value: "i32", mutable: false }, 0);
  const instance = new WebAssembly.Instance(module, {
    env: { memory, abort: never("abort") },
    asrt,
  });
  const rtti = instance.exports.__asrt_rtti_base();
  const heapBase = instance.exports.__asrt_heap_base();
  assert.ok(rtti > ASRT_MEMORY_BASE && rtti < heapBase, `rtti ${rtti} heap base ${heapBase}`);
  const view = new DataView(memory.buffer);
  // 0 Object, 1 ArrayBuffer, 2 String, 3 ArrayBufferView, then Shape, Rect, Array, Map, ...
  const count = view.getUint32(rtti, true);
  assert.ok(count > 6 && count < 64, `type count ${count}`);
  assert.ok(view.getUint32(rtti + 4 * (1 + 1), true) !== 0, "ArrayBuffer's flags are set");
  // The first static object: AssemblyScript's 20-byte header, its payload 16-aligned above the
  // base, and a String (id 2) holding "a".
  const first = ASRT_MEMORY_BASE + 32;
  assert.equal(view.getUint32(first - 8, true), 2, "rtId of the first static object");
  assert.equal(view.getUint32(first - 4, true), 2, "rtSize of the first static object");
  assert.equal(view.getUint16(first, true), "a".charCodeAt(0));
  assert.ok(heapBase - rtti >= 32 * 1024, "the shadow stack lies between the RTTI and __heap_base");
});
