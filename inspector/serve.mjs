#!/usr/bin/env node
// Serves the heap inspector on 127.0.0.1: the page (inspector/), the loader (js/loader.mjs),
// asrt's default build as /asrt.wasm, and for the AssemblyScript workload asrt's `assemblyscript`
// build as /asc-runtime.wasm (ASRT_WASM_ASC) and inspector/program.ts compiled by js/asc.mjs as
// /asc-program.wasm (ASRT_INSPECTOR_PROGRAM). `scripts/inspect.sh` builds them first and runs this.
//
//   node inspector/serve.mjs [--port 8137] [--build-program]   (--port 0: any free port; ASRT_WASM:
//        the module; --build-program: compile inspector/program.ts first when missing or stale)
import { createServer } from "node:http";
import { existsSync, readFileSync } from "node:fs";
import { dirname, extname, join, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { defaultRuntime } from "../js/asc-run.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "..");
const TYPES = { ".html": "text/html; charset=utf-8", ".mjs": "text/javascript; charset=utf-8", ".wasm": "application/wasm" };

/** The AssemblyScript program of the inspector's `asc` workload (scripts/inspect.sh compiles it). */
export function defaultAscProgram() {
  const target = process.env.CARGO_TARGET_DIR ? resolve(root, process.env.CARGO_TARGET_DIR) : join(root, "target");
  return process.env.ASRT_INSPECTOR_PROGRAM || join(target, "inspector", "program.wasm");
}

/** Compiles inspector/program.ts with js/asc.mjs into defaultAscProgram() when missing or stale. */
export async function buildAscProgram(log) {
  const { compileIfStale } = await import("../bench/as/build.mjs");
  await compileIfStale(join(here, "program.ts"), defaultAscProgram(), "asrt", log);
  return defaultAscProgram();
}

export function defaultWasm() {
  const target = process.env.CARGO_TARGET_DIR ? resolve(root, process.env.CARGO_TARGET_DIR) : join(root, "target");
  return process.env.ASRT_WASM || join(target, "wasm32-unknown-unknown", "release", "asrt.wasm");
}

/** Starts the server; resolves to { server, url }. */
export async function serve({ port = 8137, wasm = defaultWasm(), ascRuntime = defaultRuntime(), ascProgram = defaultAscProgram() } = {}) {
  if (!existsSync(wasm)) throw new Error(`asrt module not found: ${wasm} (build it: scripts/build.sh default)`);
  const files = (dir, p) => {
    const f = resolve(dir, "." + p);
    return (f.startsWith(dir + sep) && existsSync(f) && TYPES[extname(f)]) ? f : null;
  };
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url, "http://127.0.0.1").pathname);
    let file = null;
    if (path === "/" || path === "/index.html") file = join(here, "index.html");
    else if (path === "/asrt.wasm") file = wasm;
    // the `asc` workload's modules; missing ones answer 404 and the page disables the workload
    else if (path === "/asc-runtime.wasm") file = existsSync(ascRuntime) ? ascRuntime : null;
    else if (path === "/asc-program.wasm") file = existsSync(ascProgram) ? ascProgram : null;
    else if (path === "/js/loader.mjs") file = join(root, "js", "loader.mjs");
    else if (path.startsWith("/") && !path.slice(1).includes("/")) file = files(here, path);
    if (!file) return res.writeHead(404).end("not found");
    res.writeHead(200, { "content-type": TYPES[extname(file)], "cache-control": "no-store" });
    res.end(readFileSync(file));
  });
  await new Promise((r, j) => { server.once("error", j); server.listen(port, "127.0.0.1", r); });
  return { server, url: `http://127.0.0.1:${server.address().port}/` };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf("--port");
  if (process.argv.includes("--build-program")) await buildAscProgram((m) => console.error(m));
  const { url } = await serve({ port: i >= 0 ? Number(process.argv[i + 1]) : 8137 });
  console.log(`asrt heap inspector: ${url}  (module ${defaultWasm()}; Ctrl-C stops)`);
}
