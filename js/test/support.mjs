// Node-side test support: where the wasm modules are, and building the AssemblyScript fixture.
import { existsSync, readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { createHash } from "node:crypto";
import { spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const JS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const REPO = resolve(JS_DIR, "..");

/** The modules the runtime checks run against, with where they come from. */
export function modulePaths() {
  return {
    classic: process.env.ASRT_WASM
      ? resolve(process.env.ASRT_WASM)
      : join(REPO, "target/wasm32-unknown-unknown/release/asrt.wasm"),
    modern: process.env.ASRT_WASM_MODERN
      ? resolve(process.env.ASRT_WASM_MODERN)
      : join(REPO, "target/modern/wasm32-unknown-unknown/release/asrt.wasm"),
  };
}

/** Reads the asrt module of a profile, or returns null when it is not built. */
export function readAsrt(kind) {
  const path = modulePaths()[kind];
  return existsSync(path) ? { path, bytes: readFileSync(path) } : null;
}

/**
 * Compiles js/test/fixture/as-fixture.ts with the repository's AssemblyScript compiler
 * (cached in the temp dir by source hash). Returns { path, bytes } or { error }.
 */
export function buildAsFixture() {
  const src = join(JS_DIR, "test/fixture/as-fixture.ts");
  const asc = join(REPO, "node_modules/assemblyscript/bin/asc.js");
  if (!existsSync(asc)) return { error: `AssemblyScript compiler not installed (${asc}); run npm ci at the repository root` };
  const ascVersion = JSON.parse(readFileSync(join(REPO, "node_modules/assemblyscript/package.json"), "utf8")).version;
  const hash = createHash("sha256").update(readFileSync(src)).update(ascVersion).digest("hex").slice(0, 16);
  const dir = join(tmpdir(), "asrt-loader-fixture");
  mkdirSync(dir, { recursive: true });
  const out = join(dir, `as-fixture-${hash}.wasm`);
  if (!existsSync(out)) {
    const tmp = `${out}.${process.pid}.tmp`;
    const r = spawnSync(process.execPath, [asc, src, "--exportRuntime", "-O3", "--outFile", tmp], { encoding: "utf8" });
    if (r.status !== 0) return { error: `asc failed:\n${r.stdout}\n${r.stderr}` };
    writeFileSync(out, readFileSync(tmp));
  }
  return { path: out, bytes: readFileSync(out) };
}

/** A function that forces a full JS garbage collection, or null. */
export async function getGc() {
  if (typeof globalThis.gc === "function") return globalThis.gc;
  try {
    const v8 = await import("node:v8");
    const vm = await import("node:vm");
    v8.setFlagsFromString("--expose-gc");
    return vm.runInNewContext("gc");
  } catch {
    return null;
  }
}
