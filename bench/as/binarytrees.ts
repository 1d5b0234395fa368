// binary-trees (the Benchmarks Game workload) for AssemblyScript.
//
// Allocation-heavy: builds a stretch tree of depth n+1, keeps one tree of
// depth n alive for the whole run, and for depths 4, 6, .., n builds and walks
// 1 << (n - d + 4) short-lived trees. Nothing is printed from wasm: `run`
// returns the sum of all node counts and the host checks it against the
// closed form (a full tree of depth d has 2^(d+1) - 1 nodes).

class TreeNode {
  left: TreeNode | null;
  right: TreeNode | null;

  constructor(left: TreeNode | null, right: TreeNode | null) {
    this.left = left;
    this.right = right;
  }
}

function build(depth: i32): TreeNode {
  if (depth <= 0) return new TreeNode(null, null);
  const l = build(depth - 1);
  const r = build(depth - 1);
  return new TreeNode(l, r);
}

function count(node: TreeNode): i32 {
  const l = node.left;
  const r = node.right;
  if (l === null || r === null) return 1;
  return 1 + count(l) + count(r);
}

const MIN_DEPTH: i32 = 4;

// Node counts per phase of the last run, for hosts that want to print the
// classic output lines: [stretch, d=4, d=6, ..., longLived].
const lines = new StaticArray<i32>(32);
let lineCount: i32 = 0;

export function run(n: i32): i32 {
  const maxDepth = max(MIN_DEPTH + 2, n);
  lineCount = 0;

  const stretch = count(build(maxDepth + 1));
  lines[lineCount++] = stretch;
  let checksum = stretch;

  const longLived = build(maxDepth);

  for (let d = MIN_DEPTH; d <= maxDepth; d += 2) {
    const iterations = 1 << (maxDepth - d + MIN_DEPTH);
    let c = 0;
    for (let i = 0; i < iterations; i++) {
      c += count(build(d));
    }
    lines[lineCount++] = c;
    checksum += c;
  }

  const ll = count(longLived);
  lines[lineCount++] = ll;
  checksum += ll;
  return checksum;
}

// The same work in small exported calls, for hosts that time each call (bench/report/asc.mjs):
// begin(n) builds the stretch tree and the long-lived tree, tree(d) builds and walks one tree of
// depth d, end() walks the long-lived tree and drops it; the results add up to run(n)'s.
let held: TreeNode | null = null;

export function begin(n: i32): i32 {
  const maxDepth = max(MIN_DEPTH + 2, n);
  const stretch = count(build(maxDepth + 1));
  held = build(maxDepth);
  return stretch;
}

export function tree(d: i32): i32 {
  return count(build(d));
}

export function end(): i32 {
  const h = held;
  held = null;
  return h === null ? 0 : count(h);
}

/** Does nothing: the host's floor for one call. */
export function nop(): void {}

export function lineValue(i: i32): i32 {
  return i < lineCount ? lines[i] : -1;
}

export function lineTotal(): i32 {
  return lineCount;
}
