#!/usr/bin/env node
// AssemblyScript programs on asrt against AssemblyScript's own runtimes (issue 11), in node:
// runs bench/report/asc.mjs's workloads and writes Markdown and JSON. bench/run-asc.sh builds the
// modules and runs this.
//
//   node bench/report/run-asc.mjs --modules DIR [--short] [--out FILE.md] [--only binarytrees,live]
//        [--readme README.md]     (also replace the README's block between the asc-bench markers)
//   node bench/report/run-asc.mjs --from bench/out/asc.json [--readme README.md]   (no measuring)
//
// FILE.md defaults to bench/out/asc.md (bench/out/asc-short.md with --short); FILE.json beside it.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { dirname, join, resolve } from "node:path";
import { ascAll, ASC_SHORT, ASC_FULL } from "./asc.mjs";
import { ascMarkdown, machineInfo, machineLine, readSizes } from "./output.mjs";

const flag = (n) => process.argv.includes(`--${n}`);
const arg = (n, d) => { const i = process.argv.indexOf(`--${n}`); return i >= 0 ? process.argv[i + 1] : d; };
const short = flag("short");
const modulesDir = resolve(arg("modules", "bench/out/asc-wasm"));
const out = resolve(arg("out", short ? "bench/out/asc-short.md" : "bench/out/asc.md"));
const readme = arg("readme", null);
const only = arg("only", null)?.split(",") ?? null;
const cfg = short ? ASC_SHORT : ASC_FULL;
const log = (s) => process.stderr.write(`[asc] ${s}\n`);

export const BEGIN = "<!-- asc-bench:begin (bench/run-asc.sh --readme writes this block) -->";
export const END = "<!-- asc-bench:end -->";

const load0 = loadavg();
const get = async (name) => {
  const p = join(modulesDir, `${name}.wasm`);
  if (!existsSync(p)) throw new Error(`module ${name} not built (${p}; bench/as/build-asc.sh builds it)`);
  return readFileSync(p);
};
let res;
if (arg("from", null)) {
  // --from FILE.json: write the Markdown (and the README's block) again from figures measured
  res = JSON.parse(readFileSync(arg("from"), "utf8"));
} else {
  log(`node ${process.version}: ${short ? "short" : "full"} mode`);
  const asc = await ascAll(get, cfg, { only, log });
  res = {
    machine: machineInfo({ load0, mode: short ? "short" : "full", config: cfg }),
    node: { asc }, chromium: null, sizes: readSizes(modulesDir),
  };
}
const command = `bench/run-asc.sh${res.machine.mode === "short" ? " --short" : ""}`;
const md = `# AssemblyScript programs on asrt (${res.machine.mode} mode)\n\n${machineLine(res.machine, command)}\n\n` +
  ascMarkdown(res, { heading: "##" }).replace(/^## AssemblyScript programs \(issue 11\)\n\n/, "");
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, md);
if (!arg("from", null)) writeFileSync(out.replace(/\.md$/, "") + ".json", JSON.stringify(res, null, 1));
log(`wrote ${out}`);
process.stdout.write(md);

if (readme) {
  const text = readFileSync(readme, "utf8");
  const a = text.indexOf(BEGIN), b = text.indexOf(END);
  if (a < 0 || b < a) throw new Error(`${readme}: no block between "${BEGIN}" and "${END}"`);
  const block = `${BEGIN}\n\n${machineLine(res.machine, "bench/run-asc.sh --readme")}\n\n` +
    ascMarkdown(res, { heading: "###" }).replace(/^### AssemblyScript programs \(issue 11\)\n\n/, "") + `\n${END}`;
  writeFileSync(readme, text.slice(0, a) + block + text.slice(b + END.length));
  log(`replaced the block in ${readme}`);
}
