// Fixed workload for instruction counting: the allocator benchmark module's run(seed, 100000, 0)
// for seeds 1..K (the same calls run.mjs times), no verification run.
import { readFileSync } from 'node:fs';
const [file, K] = [process.argv[2], Number(process.argv[3])];
const module = new WebAssembly.Module(readFileSync(file));
const imports = {};
for (const imp of WebAssembly.Module.imports(module)) {
  imports[imp.module] ??= {};
  if (imp.kind === 'function') imports[imp.module][imp.name] = () => { throw new Error('import ' + imp.name); };
  else if (imp.kind === 'memory') imports[imp.module][imp.name] = new WebAssembly.Memory({ initial: 17 });
}
const { exports } = new WebAssembly.Instance(module, imports);
let errs = 0;
for (let k = 1; k <= K; k++) errs += exports.run(k, 100000, 0) >>> 0;
console.log(JSON.stringify({ K, errs }));
