// Fixed JavaScript-driven workloads on asrt's raw exports, for instruction counting (run.sh's
// pattern: count two sizes, take the difference, so node's start-up cancels).
//
//   node bench/icount/jsdriven.mjs ASRT_WASM bt N      binary-trees driven from JavaScript, the
//                                                      report's btJs code (workloads.mjs) at depth N
//                                                      (also on AssemblyScript's gcwork-as-*.wasm)
//   node bench/icount/jsdriven.mjs ASRT_WASM CALL K    K calls of one export in a loop:
//     noop     __gc_phase() (the JS -> wasm call floor)
//     new      __new(8, TreeNode)
//     pin      __pin(r) then __unpin(r) on one object (a pair per iteration)
//     pin2     the same on an object pinned once already (the count goes 1 -> 2 -> 1)
//     link     __link(parent, child, 0), idle collector
//     linkm    the same while a cycle is marking (parent white: no shading)
// Per call: (count(K2) - count(K1)) / (K2 - K1).
import { readFileSync } from "node:fs";
import { instantiateBytes, asrtBackend, asBackend, btDriven, btChecksum } from "../report/workloads.mjs";

const [file, what, arg] = [process.argv[2], process.argv[3], Number(process.argv[4])];
const { ex, memory } = await instantiateBytes(readFileSync(file));
// AssemblyScript's gcwork modules (bench/as/gcwork.ts, as bench/run-all.sh builds them) for bt.
const b = ex.treeNodeId ? asBackend(ex, memory, "AS") : asrtBackend(ex, memory);
let out;
if (what === "bt") {
  out = btDriven(b, arg);
  if (out !== btChecksum(arg)) throw new Error(`checksum ${out}`);
} else {
  const p = ex.__pin(ex.__new(8, b.TREE)), c = ex.__pin(ex.__new(8, b.TREE));
  const loops = {
    noop: (k) => { let s = 0; for (let i = 0; i < k; i++) s += ex.__gc_phase(); return s; },
    new: (k) => { let s = 0; for (let i = 0; i < k; i++) s ^= ex.__new(8, b.TREE); return s; },
    pin: (k) => { const r = ex.__new(8, b.TREE); for (let i = 0; i < k; i++) { ex.__pin(r); ex.__unpin(r); } return r; },
    pin2: (k) => { for (let i = 0; i < k; i++) { ex.__pin(p); ex.__unpin(p); } return p; },
    link: (k) => { for (let i = 0; i < k; i++) ex.__link(p, c, 0); return ex.__gc_phase(); },
    linkm: (k) => {
      const q = ex.__new(8, b.TREE), d = ex.__new(8, b.TREE);
      ex.__pin(q); ex.__pin(d);
      // A chain of 5,000 objects from q: the smallest step budget cannot finish marking it.
      let tail = q;
      for (let i = 0; i < 5000; i++) { const n = ex.__new(8, b.TREE); b.setField(tail, 0, n); tail = n; }
      ex.__collect();
      ex.__gc_configure(100, 1024);
      ex.__gc_step(); // starts a cycle
      if (ex.__gc_phase() !== 1) throw new Error("not marking");
      for (let i = 0; i < k; i++) ex.__link(q, d, 0);
      return ex.__gc_phase();
    },
  };
  if (!loops[what]) throw new Error(`unknown workload ${what}`);
  out = loops[what](arg);
}
console.log(JSON.stringify({ what, arg, out }));
