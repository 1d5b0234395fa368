// docs/ABI.md §8.3: what a program compiled by js/asc.mjs asks of its runtime, checked by running
// real programs on a recording stand-in for the asrt module written here (bump allocation with
// asrt's 16-byte header, no collection) and comparing their answers with the same sources on
// AssemblyScript's own incremental runtime. This is not asrt hosting the program (that build does
// not exist yet); it checks the facts the design rests on.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { main, ASRT_MEMORY_BASE, ASRT_START_EXPORT } from "../../js/asc.mjs";

const dir = mkdtempSync(path.join(tmpdir(), "asrt-asc-run-"));

const PROGRAM = `
class Animal {
  constructor(public name: string) {}
  speak(): string { return this.name + " makes a sound"; }
}
class Dog extends Animal {
  tricks: string[] = [];
  constructor(name: string) { super(name); }
  speak(): string { return \`\${this.name} barks (\${this.tricks.length} tricks)\`; }
}
const seen: string[] = ["start"];
export function run(n: i32): string {
  let log = "";
  let counts = new Map<string, i32>();
  let animals: Animal[] = [];
  for (let i = 0; i < n; i++) {
    let a: Animal = i % 3 == 0 ? new Animal(\`cat\${i}\`) : new Dog("dog" + i.toString());
    if (a instanceof Dog) (a as Dog).tricks.push("sit".substring(0, 2 + (i & 1)));
    animals.push(a);
    let key = a.name.substring(0, 3);
    counts.set(key, counts.has(key) ? counts.get(key) + 1 : 1);
    if (i % 7 == 0) seen.push(key);
    log = (log.length > 200 ? log.substring(100) : log) + a.speak() + ";";
  }
  let parts = log.split(";");
  return \`\${log.length}|\${parts.length}|\${counts.get("cat")}|\${counts.get("dog")}|\${seen.join(",")}|\${animals[n - 1].speak()}\`;
}
`;

/** Compiles `source` with js/asc.mjs (`asrt`) or plain asc on its incremental runtime. */
async function compile(name, source, onAsrt) {
  const src = path.join(dir, `${name}.ts`);
  const out = path.join(dir, `${name}${onAsrt ? "" : "-as"}.wasm`);
  writeFileSync(src, source);
  let code;
  const err = { text: "", write(c) { this.text += String(c); return true; } };
  const quiet = { write() { return true; } };
  if (onAsrt) {
    code = await main([src, "-O3", "-o", out], { stderr: err, stdout: quiet });
  } else {
    const asc = (await import("assemblyscript/asc")).default;
    const { error } = await asc.main(
      [src, "-O3", "--runtime", "incremental", "--exportRuntime", "-o", out],
      { stderr: err, stdout: quiet },
    );
    code = error ? 1 : 0;
  }
  assert.equal(code, 0, err.text);
  return new WebAssembly.Module(readFileSync(out));
}

/** A string's contents: `rtSize` (at ref - 4, in both headers) bytes of UTF-16. */
function readString(memory, ref) {
  const bytes = new DataView(memory.buffer).getUint32(ref - 4, true);
  return String.fromCharCode(...new Uint16Array(memory.buffer, ref, bytes >>> 1));
}

function abortWith(memory) {
  return (msg, file, line, col) => {
    throw new Error(`abort: ${msg && readString(memory(), msg)} at ${line}:${col}`);
  };
}

/** Where the stand-in keeps its marking word: below the program's static data. */
const MARKING_WORD = 1024;

/** Runs `module` (compiled by js/asc.mjs) on the recording stand-in; returns its answer and log. */
function runOnStandIn(module, n) {
  const memory = new WebAssembly.Memory({ initial: 48 });
  const log = { news: 0, staticLinks: 0, staticRenews: 0, ids: new Set(), objects: new Map() };
  let visits = null;
  let top = 0;
  let staticEnd = 0;
  const view = () => new DataView(memory.buffer);
  const isStatic = (ref) => ref >= ASRT_MEMORY_BASE && ref < staticEnd;
  const alloc = (size, id) => {
    const block = top;
    top = (block + 16 + size + 15) & ~15;
    while (top > memory.buffer.byteLength) memory.grow(16);
    const v = view();
    v.setUint32(block, top - block, true); // mmInfo (this stand-in's own use)
    v.setUint32(block + 4, 0, true); // gcInfo
    v.setUint32(block + 8, id, true); // rtId
    v.setUint32(block + 12, size, true); // rtSize
    new Uint8Array(memory.buffer, block + 16, size).fill(0);
    log.news++;
    log.ids.add(id);
    log.objects.set(block + 16, id);
    return block + 16;
  };
  const asrt = {
    __new: (size, id) => alloc(size >>> 0, id >>> 0),
    __renew(ref, size) {
      if (isStatic(ref)) log.staticRenews++;
      const v = view();
      const old = v.getUint32(ref - 4, true);
      const copy = alloc(size >>> 0, v.getUint32(ref - 8, true));
      new Uint8Array(memory.buffer).copyWithin(copy, ref, ref + Math.min(old, size >>> 0));
      return copy;
    },
    __link(parent, child) {
      if (child !== 0 && isStatic(parent)) log.staticLinks++;
    },
    __visit(ref) {
      if (visits === null) throw new Error("__visit outside a visitor");
      visits.push(ref >>> 0);
    },
    __pin: (ref) => ref,
    __unpin() {},
    __collect() {},
    // The marking word (docs/ABI.md §9.4) reads 1: the stand-in sees every __link call.
    __gc_marking: new WebAssembly.Global({ value: "i32", mutable: false }, MARKING_WORD),
  };
  new DataView(memory.buffer).setUint32(MARKING_WORD, 1, true);
  const instance = new WebAssembly.Instance(module, {
    env: { memory, abort: abortWith(() => memory), trace() {}, seed: () => 1 },
    asrt,
  });
  const ex = instance.exports;
  staticEnd = ex.__asrt_heap_base();
  top = (staticEnd + 15) & ~15;
  ex[ASRT_START_EXPORT]();
  const answer = readString(memory, ex.run(n));
  /** What the program's generated visitor passes to `__visit` for `ref` (or the globals). */
  const visit = (ref) => {
    visits = [];
    if (ref === null) ex.__asrt_visit_globals(0);
    else ex.__asrt_visit_members(ref, 0);
    const out = visits;
    visits = null;
    return out;
  };
  const stack = [ex.__asrt_stack_pointer(), staticEnd];
  return { answer, log, rttiBase: ex.__asrt_rtti_base(), memory, visit, isStatic, stack };
}

/** Runs the same source on AssemblyScript's incremental runtime. */
function runOnAssemblyScript(module, n) {
  let memory;
  const instance = new WebAssembly.Instance(module, {
    env: { abort: abortWith(() => memory), trace() {}, seed: () => 1 },
  });
  memory = instance.exports.memory;
  const answer = readString(memory, instance.exports.run(n));
  return { answer, rttiBase: instance.exports.__rtti_base.value, memory };
}

test("a program compiled by js/asc.mjs gives AssemblyScript's answers with asrt's 16-byte header", async () => {
  const onAsrt = await compile("animals", PROGRAM, true);
  const onAs = await compile("animals", PROGRAM, false);
  for (const n of [3, 10, 500]) {
    const mine = runOnStandIn(onAsrt, n);
    const theirs = runOnAssemblyScript(onAs, n);
    assert.equal(mine.answer, theirs.answer, `n = ${n}`);
    assert.ok(mine.log.news > n, `n = ${n}: every object came from the stand-in's __new`);
    if (n >= 10) {
      // The global array literal's buffer is static: its first push renews it (copy to the heap).
      assert.ok(mine.log.staticRenews >= 1, `n = ${n}: __renew of a static buffer`);
      // Template literals store into static StaticArray<string> parts through __link.
      assert.ok(mine.log.staticLinks >= 1, `n = ${n}: __link with a static parent`);
    }
    // The program's type ids and flags are the same table in both builds.
    const count = new DataView(mine.memory.buffer).getUint32(mine.rttiBase, true);
    assert.equal(count, new DataView(theirs.memory.buffer).getUint32(theirs.rttiBase, true));
    for (let id = 0; id <= count; id++) {
      assert.equal(
        new DataView(mine.memory.buffer).getUint32(mine.rttiBase + 4 * id, true),
        new DataView(theirs.memory.buffer).getUint32(theirs.rttiBase + 4 * id, true),
        `RTTI word ${id}`,
      );
    }
    for (const id of mine.log.ids) assert.ok(id < count, `allocated id ${id} is in the table`);
  }
});

test("the generated visitors pass __visit only whole objects, and the shadow stack is empty between calls", async () => {
  const onAsrt = await compile("animals", PROGRAM, true);
  const run = runOnStandIn(onAsrt, 200);
  const known = (r) => r === 0 || run.log.objects.has(r) || run.isStatic(r);
  const byId = new Map();
  let visited = 0;
  for (const [ref, id] of run.log.objects) {
    for (const child of run.visit(ref)) {
      visited++;
      // A heap object's start (even one the program dropped: nothing is freed here) or a static
      // object's ref: never an address inside a payload (Map's bucket links stay inside it).
      assert.ok(known(child), `id ${id}: visited ${child}, not an object`);
    }
    byId.set(id, (byId.get(id) ?? 0) + 1);
  }
  assert.ok(visited > 200, `children visited: ${visited}`);
  // Strings, arrays and their buffers, both classes, the Map and its buffers.
  assert.ok(byId.size >= 6, `ids allocated and visited: ${[...byId.keys()]}`);
  const globals = run.visit(null);
  assert.ok(globals.length >= 1, "the global array is visited");
  for (const g of globals) assert.ok(known(g), `global ${g}`);
  assert.ok(globals.some((g) => run.log.objects.has(g) || run.isStatic(g)));
  // After run() returns, every shadow-stack slot the program pushed is popped again.
  assert.equal(run.stack[0], run.stack[1]);
});
