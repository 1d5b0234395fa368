// GC workload helpers for the pause benchmark (bench/gc/pauses.mjs), built
// with `--runtime incremental --exportRuntime`. The host allocates through
// the exported __new and stores references only through the setters below,
// so every store runs AssemblyScript's own compiled write barrier (__link).

class TreeNode {
  left: TreeNode | null = null;
  right: TreeNode | null = null;
}

// Reference globals that keep the workload alive (like asrt's __static_slots).
// Elements may be any managed object: the collector traces each object by its
// own runtime type, whatever the static type of the field that holds it.
const slots = new StaticArray<TreeNode | null>(8);

export function treeNodeId(): u32 {
  return idof<TreeNode>();
}

export function arrayBufferId(): u32 {
  return idof<ArrayBuffer>();
}

export function setLeft(node: usize, child: usize): void {
  changetype<TreeNode>(node).left = changetype<TreeNode | null>(child);
}

export function setRight(node: usize, child: usize): void {
  changetype<TreeNode>(node).right = changetype<TreeNode | null>(child);
}

// field 0 = left, 1 = right
export function setField(node: usize, field: i32, child: usize): void {
  if (field == 0) changetype<TreeNode>(node).left = changetype<TreeNode | null>(child);
  else changetype<TreeNode>(node).right = changetype<TreeNode | null>(child);
}

export function setSlot(i: i32, ref: usize): void {
  slots[i] = changetype<TreeNode | null>(ref);
}

export function getSlot(i: i32): usize {
  return changetype<usize>(slots[i]);
}
