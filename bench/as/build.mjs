#!/usr/bin/env node
// Compiles AssemblyScript programs for the benchmarks and the heap inspector, each only when its
// output is missing or older than what it is made from (the source, the compiler's package, and
// for asrt js/asc.mjs and js/as/asrt-runtime.ts). One node process compiles them all.
//
//   node bench/as/build.mjs OUTDIR [SRC:NAME:RUNTIME ...]
//
// RUNTIME is `asrt` (compiled by js/asc.mjs, for the `assemblyscript` build of asrt) or an asc
// runtime (`incremental`, `stub`, `minimal`); every program gets `-O3 --noAssert`. Without
// targets it builds PROGRAMS below (the report's AssemblyScript workloads) into OUTDIR as
// as-<name>-<runtime>.wasm.
import { existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** The report's AssemblyScript programs (bench/report/asc.mjs) and the runtimes they run on. */
export const PROGRAMS = ["binarytrees", "strings", "mapset", "live"];
export const RUNTIMES = ["asrt", "incremental", "stub"];

const mtime = (p) => (existsSync(p) ? statSync(p).mtimeMs : Infinity);

/** What `out` is made from (its staleness inputs). */
function inputs(src, runtime) {
  const list = [src, join(root, "node_modules", "assemblyscript", "package.json")];
  // the files it imports by relative path (one level: enough for these programs)
  for (const m of readFileSync(src, "utf8").matchAll(/from\s+"(\.{1,2}\/[^"]+)"/g)) list.push(resolve(dirname(src), `${m[1]}.ts`));
  // (js/loader.mjs holds ASRT_MEMORY_BASE, which js/asc.mjs compiles in)
  if (runtime === "asrt") list.push(join(root, "js", "asc.mjs"), join(root, "js", "loader.mjs"), join(root, "js", "as", "asrt-runtime.ts"));
  return list;
}

export function stale(src, out, runtime) {
  if (!existsSync(out)) return true;
  const t = statSync(out).mtimeMs;
  return inputs(src, runtime).some((p) => mtime(p) > t);
}

/**
 * Compiles `src` to `out` for `runtime` when stale; returns true when it compiled. Throws with
 * asc's message when compiling fails.
 */
export async function compileIfStale(src, out, runtime, log = (s) => process.stderr.write(`${s}\n`)) {
  if (!stale(src, out, runtime)) return false;
  mkdirSync(dirname(out), { recursive: true });
  log(`[asc] ${src} (${runtime}) -> ${out}`);
  let stderr = "";
  const sink = { write: (s) => { stderr += s; return true; } };
  const args = [src, "-O3", "--noAssert", "-o", out];
  if (runtime === "asrt") {
    const { main } = await import("../../js/asc.mjs");
    const code = await main(args, { stderr: sink, stdout: sink });
    if (code !== 0) throw new Error(`js/asc.mjs ${src} failed (${code}):\n${stderr}`);
  } else {
    const asc = (await import("assemblyscript/asc")).default;
    const { error } = await asc.main([...args, "--runtime", runtime], { stderr: sink, stdout: sink });
    if (error) throw new Error(`asc ${src} --runtime ${runtime} failed: ${error.message ?? error}\n${stderr}`);
  }
  return true;
}

/** Builds every program of PROGRAMS for every runtime of RUNTIMES into `outDir`. */
export async function buildPrograms(outDir, log) {
  for (const name of PROGRAMS) {
    for (const rt of RUNTIMES) {
      await compileIfStale(join(root, "bench", "as", `${name}.ts`), join(outDir, `as-${name}-${rt}.wasm`), rt, log);
    }
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [outDir, ...targets] = process.argv.slice(2);
  if (!outDir) {
    process.stderr.write("usage: node bench/as/build.mjs OUTDIR [SRC:NAME:RUNTIME ...]\n");
    process.exit(2);
  }
  if (!targets.length) await buildPrograms(resolve(outDir));
  for (const t of targets) {
    const [src, name, rt] = t.split(":");
    await compileIfStale(resolve(src), join(resolve(outDir), `${name}.wasm`), rt);
  }
}
