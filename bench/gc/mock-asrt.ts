// A stand-in with asrt's raw GC exports (docs/ABI.md section 5), built on the
// AssemblyScript runtime, used only to check the pause driver's asrt code path
// (memory stores + __link, __static_* / __id_* globals, __gc_stats decoding)
// before the real asrt module has those exports. Not a benchmark subject.
//
//   npx asc bench/gc/mock-asrt.ts --runtime incremental --exportRuntime -O3 -o bench/out/wasm/mock-asrt.wasm
//   ASRT_WASM=bench/out/wasm/mock-asrt.wasm node bench/gc/pauses.mjs --live 16

class TreeNode {
  left: TreeNode | null = null;
  right: TreeNode | null = null;
}

const slotsArray = new StaticArray<TreeNode | null>(8);
const slotsCell = memory.data(4);
const treeNodeCell = memory.data(4);
const bufferCell = memory.data(4);
store<usize>(slotsCell, changetype<usize>(slotsArray));
store<u32>(treeNodeCell, idof<TreeNode>());
store<u32>(bufferCell, idof<ArrayBuffer>());

export const __static_slots: usize = slotsCell;
export const __id_TreeNode: usize = treeNodeCell;
export const __id_ArrayBuffer: usize = bufferCell;

let steps: u64 = 0;
let collections: u64 = 0;

function link(parent: usize, child: usize, expectMultiple: i32): void {
  __link(parent, child, expectMultiple != 0);
}

function gcStep(): i32 {
  steps++;
  if ((steps & 1023) == 0) { __collect(); collections++; }
  return 0;
}

function gcStats(out: usize): void {
  store<u64>(out, <u64>((<usize>memory.size() << 16) - __heap_base));
  for (let i = 1; i < 8; i++) store<u64>(out + (i << 3), 0);
  store<u64>(out + 40, collections);
  store<u64>(out + 48, steps);
}

function alloc(size: usize): usize {
  return heap.alloc(size);
}

export { link as __link, gcStep as __gc_step, gcStats as __gc_stats, alloc as __alloc };
