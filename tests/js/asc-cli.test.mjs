// js/asc-run.mjs, the runner of the README's two commands: a program compiled by js/asc.mjs runs
// on asrt, its export's answer is printed (Strings as text), failures give their exit codes.
// Path:  ASRT_WASM_ASC, default target/asc/wasm32-unknown-unknown/release/asrt.wasm
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { main } from "../../js/asc.mjs";
import { run, defaultRuntime } from "../../js/asc-run.mjs";
import { wasmPath, REPO } from "./helpers.mjs";

const RUNTIME = wasmPath("ASRT_WASM_ASC", "target/asc/wasm32-unknown-unknown/release/asrt.wasm");
const dir = mkdtempSync(path.join(tmpdir(), "asrt-asc-run-"));

const SOURCE = `
let calls = 0;
export function greet(n: i32): string {
  calls++;
  let parts = new Array<string>();
  for (let i = 0; i < n; i++) parts.push(\`w\${i * i}\`);
  return parts.join("+") + "!";
}
export function sum(a: i32, b: i32): i32 {
  let junk = "";
  for (let i = 0; i < 20000; i++) junk = (i * b).toString() + junk.substring(0, 64);
  return a + b + junk.length;
}
export function fail(x: i32): i32 {
  if (x > 2) throw new Error("too big: " + x.toString());
  return x;
}
export function nothing(): void {}
`;

async function compile() {
  const src = path.join(dir, "prog.ts");
  writeFileSync(src, SOURCE);
  const out = path.join(dir, "prog.wasm");
  let err = "";
  const code = await main([src, "-O3", "-o", out], { stderr: { write: (s) => { err += s; } } });
  assert.equal(code, 0, err);
  return out;
}
const program = await compile();

async function cli(...argv) {
  let out = "", err = "";
  const code = await run(["--runtime", RUNTIME, ...argv], { stdout: { write: (s) => { out += s; } }, stderr: { write: (s) => { err += s; } } });
  return { code, out, err };
}

test("prints a returned String as text and a number as a number", async () => {
  const g = await cli(program, "greet", "4");
  assert.deepEqual(g, { code: 0, out: "w0+w1+w4+w9!\n", err: "" });
  const s = await cli(program, "sum", "2", "40");
  assert.equal(s.code, 0, s.err);
  // 20,000 iterations of string building: many collections, then __heap_check 0
  const expected = 2 + 40 + String(19999 * 40).length + 64;
  assert.equal(s.out, `${expected}\n`);
  const n = await cli("--number", program, "greet", "1");
  assert.match(n.out, /^\d+\n$/, "--number prints the String's address");
  assert.notEqual(n.out, "w0!\n");
});

test("a void export and no export print nothing", async () => {
  assert.deepEqual(await cli(program, "nothing"), { code: 0, out: "", err: "" });
  assert.deepEqual(await cli(program), { code: 0, out: "", err: "" });
});

test("an abort exits 1 with its message; usage errors exit 2", async () => {
  const a = await cli(program, "fail", "3");
  assert.equal(a.code, 1);
  assert.match(a.err, /too big: 3/);
  assert.equal((await cli(program, "fail", "2")).out, "2\n");
  const missing = await cli(program, "nope");
  assert.equal(missing.code, 2);
  assert.match(missing.err, /no exported function "nope".*greet/);
  assert.equal((await cli(program, "sum", "x")).code, 2);
  assert.equal((await cli(path.join(dir, "absent.wasm"))).code, 2);
  assert.equal((await run([], { stderr: { write() {} } })), 2);
});

test("the default runtime follows ASRT_WASM_ASC, then CARGO_TARGET_DIR", () => {
  assert.equal(defaultRuntime({ ASRT_WASM_ASC: "/x/asrt.wasm" }), "/x/asrt.wasm");
  assert.equal(defaultRuntime({ CARGO_TARGET_DIR: "/t" }), "/t/asc/wasm32-unknown-unknown/release/asrt.wasm");
  assert.equal(defaultRuntime({}), path.join(REPO, "target/asc/wasm32-unknown-unknown/release/asrt.wasm"));
});

test("runs as a command (the README's second command)", () => {
  const r = spawnSync(process.execPath, [path.join(REPO, "js", "asc-run.mjs"), program, "greet", "3"],
    { encoding: "utf8", env: { ...process.env, ASRT_WASM_ASC: RUNTIME } });
  assert.equal(r.stderr, "");
  assert.equal(r.stdout, "w0+w1+w4!\n");
  assert.equal(r.status, 0);
});
