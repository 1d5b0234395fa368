#!/usr/bin/env node
// Runs the C examples (built by `make -C examples/c`) through js/loader.mjs:
//
//   node examples/c/run.mjs [DIR]     DIR: where the .wasm files are (default target/c-examples)
//
// binary-trees at n = 12 (checksum against the closed form), then the cons lists: a list kept
// in a static slot while garbage forces collections, and what __gc_stats says about it.
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { instantiate } from "../../js/loader.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const dir = resolve(process.argv[2] ?? join(root, "target", "c-examples"));
const load = name => instantiate(readFileSync(join(dir, `${name}.wasm`)));

// binary-trees: the sum of all node counts.
function expectedChecksum(n) {
  const maxDepth = Math.max(6, n);
  const nodes = d => 2 ** (d + 1) - 1;
  let sum = nodes(maxDepth + 1) + nodes(maxDepth);
  for (let d = 4; d <= maxDepth; d += 2) sum += 2 ** (maxDepth - d + 4) * nodes(d);
  return sum | 0;
}
{
  const { exports } = await load("binarytrees");
  const n = 12;
  const sum = exports.run(n);
  const s = exports.gcStats();
  console.log(`binarytrees run(${n}) = ${sum} (expected ${expectedChecksum(n)}), ` +
    `${s.collections} collections, ${s.liveObjects} objects live after the run`);
  if (sum !== expectedChecksum(n)) process.exit(1);
}
{
  const { exports } = await load("conslist");
  exports.keep(0, 10000);
  exports.churn(200, 1000);
  exports.map(0);
  const before = exports.gcStats();
  console.log(`conslist: kept ${exports.length(0)} cells, sum ${exports.sum(0)}, ` +
    `after ${before.collections} collections; ${before.liveObjects} objects live`);
  exports.drop(0);
  exports.__collect();
  const after = exports.gcStats();
  console.log(`conslist: dropped it: ${after.liveObjects} objects live, heap check ${exports.__heap_check()}`);
  try {
    exports.__unpin(exports.keep(1, 3)); // never pinned: env.abort throws
  } catch (e) {
    console.log(`conslist: a bad call aborts (${e.abortMessage}); the module goes on: ` +
      `nested(8, 100) = ${exports.nested(8, 100)}`);
  }
}
