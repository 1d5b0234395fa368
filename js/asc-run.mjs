#!/usr/bin/env node
// Runs a program compiled by js/asc.mjs on asrt (docs/ABI.md §8):
//
//   node js/asc-run.mjs [--runtime FILE] [--number] PROGRAM.wasm [EXPORT [ARGS...]]
//
// Instantiates PROGRAM.wasm with the loader's instantiateAssemblyScript on asrt's
// `assemblyscript` build (--runtime FILE, else $ASRT_WASM_ASC, else
// target/asc/wasm32-unknown-unknown/release/asrt.wasm: `scripts/build.sh asc` builds it), which
// runs the program's top-level code; then calls EXPORT with ARGS (numbers) and prints what it
// returns: a String as text (a result that reads as the address of a String; --number: never),
// a number as a number, nothing for void. Last, asrt's __heap_check:
// the exit code is 0 when it is 0, 1 when the program aborted, trapped or the heap check failed,
// 2 for a usage error. The module is importable: `run(argv, { stdout, stderr })` resolves to the
// exit code.
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { instantiateAssemblyScript, ASRT_MEMORY_BASE } from "./loader.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** The asrt module programs run on when no --runtime is given. */
export function defaultRuntime(env = process.env) {
  if (env.ASRT_WASM_ASC) return env.ASRT_WASM_ASC;
  const target = env.CARGO_TARGET_DIR ? path.resolve(root, env.CARGO_TARGET_DIR) : path.join(root, "target");
  return path.join(target, "asc", "wasm32-unknown-unknown", "release", "asrt.wasm");
}

const USAGE = "usage: node js/asc-run.mjs [--runtime FILE] [--number] PROGRAM.wasm [EXPORT [ARGS...]]";

/** Runs the command line `argv` (without node and the script); resolves to the exit code. */
export async function run(argv, { stdout = process.stdout, stderr = process.stderr, env = process.env } = {}) {
  const say = (s) => stdout.write(`${s}\n`);
  const fail = (code, s) => { stderr.write(`${s}\n`); return code; };
  const args = [...argv];
  let runtimePath = defaultRuntime(env), asNumber = false;
  for (;;) {
    if (args[0] === "--runtime" && args.length >= 2) { runtimePath = args[1]; args.splice(0, 2); }
    else if (args[0] === "--number") { asNumber = true; args.shift(); }
    else break;
  }
  const [programPath, name, ...rest] = args;
  if (!programPath || programPath.startsWith("-")) return fail(2, USAGE);
  for (const [what, p] of [["program", programPath], ["asrt runtime", runtimePath]]) {
    if (!existsSync(p)) return fail(2, `${what} not found: ${p}${what === "program" ? "" : " (build it: scripts/build.sh asc)"}`);
  }
  const numbers = rest.map(Number);
  const bad = rest.find((a, i) => a.trim() === "" || Number.isNaN(numbers[i]));
  if (bad !== undefined) return fail(2, `not a number: ${JSON.stringify(bad)} (arguments are numbers)`);
  let exports, runtime;
  try {
    ({ exports, runtime } = await instantiateAssemblyScript(readFileSync(programPath), {}, { runtime: readFileSync(runtimePath) }));
  } catch (e) {
    return fail(1, `${programPath}: ${e.message ?? e}`);
  }
  if (name !== undefined) {
    const f = exports[name];
    if (typeof f !== "function") {
      const names = Object.keys(exports).filter((k) => typeof exports[k] === "function" && !k.startsWith("__") && k !== "_start");
      return fail(2, `no exported function ${JSON.stringify(name)} (the program exports: ${names.join(", ") || "none"})`);
    }
    let result;
    try {
      result = f(...numbers);
    } catch (e) {
      return fail(1, `${name}: ${e.message ?? e}`);
    }
    if (result !== undefined) say(!asNumber && isString(exports, runtime.memory, result) ? exports.__getString(result) : String(result));
  }
  const check = runtime.__heap_check();
  if (check !== 0) return fail(1, `asrt's __heap_check: ${check} (not 0)`);
  return 0;
}

/**
 * Whether `value` reads as a reference to a String of the program (type id 2, docs/ABI.md §8.3):
 * 16-aligned, in the program's static data or asrt's heap, with a String's header. Wasm results
 * carry no type, so a number that happens to be such an address prints as the String; --number
 * prints numbers as numbers.
 */
function isString(exports, memory, value) {
  const ref = value >>> 0;
  if (typeof value !== "number" || ref !== value || ref % 16 !== 0 || ref < ASRT_MEMORY_BASE + 16) return false;
  if (ref >= memory.buffer.byteLength) return false;
  return exports.__instanceof(ref, exports.__typeIds.String);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await run(process.argv.slice(2));
}
