#!/usr/bin/env node
// Serves the heap inspector on 127.0.0.1: the page (inspector/), the loader (js/loader.mjs) and
// asrt's default build as /asrt.wasm. `scripts/inspect.sh` builds asrt first and runs this.
//
//   node inspector/serve.mjs [--port 8137]      (--port 0: any free port; ASRT_WASM: the module)
import { createServer } from "node:http";
import { existsSync, readFileSync } from "node:fs";
import { dirname, extname, join, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "..");
const TYPES = { ".html": "text/html; charset=utf-8", ".mjs": "text/javascript; charset=utf-8", ".wasm": "application/wasm" };

export function defaultWasm() {
  const target = process.env.CARGO_TARGET_DIR ? resolve(root, process.env.CARGO_TARGET_DIR) : join(root, "target");
  return process.env.ASRT_WASM || join(target, "wasm32-unknown-unknown", "release", "asrt.wasm");
}

/** Starts the server; resolves to { server, url }. */
export async function serve({ port = 8137, wasm = defaultWasm() } = {}) {
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
  const { url } = await serve({ port: i >= 0 ? Number(process.argv[i + 1]) : 8137 });
  console.log(`asrt heap inspector: ${url}  (module ${defaultWasm()}; Ctrl-C stops)`);
}
