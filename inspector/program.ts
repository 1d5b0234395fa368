// The heap inspector's AssemblyScript program (compiled by js/asc.mjs, run on asrt's
// `assemblyscript` build): each `tick()` builds and walks a few binary trees, replaces strings
// in a ring kept by a global, updates a Map, and grows a global array literal (whose first push
// moves its static buffer to the heap). Its string literals and that array's initial buffer are
// static objects at ASRT_MEMORY_BASE and above, outside asrt's heap.

class Node {
  constructor(public left: Node | null, public right: Node | null) {}
}

function build(d: i32): Node {
  return d == 0 ? new Node(null, null) : new Node(build(d - 1), build(d - 1));
}

function count(n: Node): i32 {
  const l = n.left, r = n.right;
  return l === null || r === null ? 1 : 1 + count(l) + count(r);
}

const NAMES: string[] = ["red", "green", "blue"];
let ring = new Array<string>(0);
let table = new Map<i32, string>();
let longLived: Node | null = null;
let ticks: i32 = 0;

/** One bounded step of mutator work; returns a figure the caller can check. */
export function tick(): i32 {
  if (longLived === null) longLived = build(10);
  let nodes = 0;
  for (let d = 4; d <= 8; d += 2) nodes += count(build(d));
  for (let i = 0; i < 50; i++) {
    const s = `${NAMES[(ticks + i) % NAMES.length]}:${ticks}:${i}`;
    if (ring.length < 500) ring.push(s);
    else ring[(ticks * 50 + i) % 500] = s.substring(0, 4) + s.split(":").join("-");
    table.set((ticks * 7 + i) % 300, s);
  }
  if (ticks % 10 == 0 && NAMES.length < 200) NAMES.push(`name${ticks}`);
  ticks++;
  return nodes + count(longLived!) + table.size;
}
