// The inspector's workloads. Each is `create(ex, memory)` -> `{ tick() }`, where `ex` is the
// loader's exports (for a workload marked `asc`: an AssemblyScript program's, on asrt's
// `assemblyscript` build); one tick does a bounded amount of mutator work through the ABI exports
// (every stored ref announced with __link, every object reachable or pinned before the next
// allocation). They run until the page pauses them.

function prng(seed) {
  let x = seed >>> 0 || 1;
  return (n) => { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; return x % n; };
}

function store(ex, memory, parent, field, child) {
  new Uint32Array(memory.buffer)[(parent >>> 2) + field] = child;
  ex.__link(parent, child, 0);
}

// binary trees: a long-lived tree of depth 12 stays pinned; each tick builds, walks and drops
// trees of depth 4..10 bottom-up (children pinned until their parent holds them).
function binaryTrees(ex, memory) {
  const TREE = ex.__idof("TreeNode");
  const build = (d) => {
    if (d === 0) return ex.__pin(ex.__new(8, TREE));
    const l = build(d - 1), r = build(d - 1);
    const n = ex.__pin(ex.__new(8, TREE));
    store(ex, memory, n, 0, l); store(ex, memory, n, 1, r);
    ex.__unpin(l); ex.__unpin(r);
    return n;
  };
  const count = (n) => { const u = new Uint32Array(memory.buffer); const l = u[n >>> 2]; return l ? 1 + count(l) + count(u[(n >>> 2) + 1]) : 1; };
  const longLived = build(12);
  let d = 4;
  return {
    tick() {
      const t = build(d);
      if (count(t) !== 2 ** (d + 1) - 1) throw new Error("binary trees: tree broken");
      ex.__unpin(t);
      d = d >= 10 ? 4 : d + 2;
    },
    check: () => count(longLived) === 2 ** 13 - 1,
  };
}

// string churn: 2,000 pinned Strings, each tick 200 of them replaced by new ones (random
// lengths, some made by __string_concat and __string_slice, some from UTF-8).
function stringChurn(ex) {
  const rnd = prng(17);
  const words = ["asrt", "heap", "gray", "black", "sweep", "mark", "Grüße", "κόσμε", "世界"];
  const make = () => {
    const k = rnd(4);
    if (k === 0) return ex.__newString(words[rnd(words.length)].repeat(1 + rnd(40)));
    if (k === 1) return ex.__newStringUTF8(words[rnd(words.length)].repeat(1 + rnd(20)));
    const a = ex.__pin(ex.__newString(words[rnd(words.length)].repeat(1 + rnd(10))));
    const b = ex.__newString(words[rnd(words.length)]);
    const c = k === 2 ? ex.__string_concat(a, b) : ex.__string_slice(a, 1, 1 + rnd(8));
    ex.__unpin(a);
    return c;
  };
  const live = Array.from({ length: 2000 }, () => ex.__pin(make()));
  return {
    tick() {
      for (let i = 0; i < 200; i++) {
        const k = rnd(live.length);
        const s = ex.__pin(make());
        ex.__unpin(live[k]);
        live[k] = s;
      }
    },
  };
}

// random object graph: 16 pinned roots; each tick walks what is reachable, adds 300 TreeNodes
// (each linked into an empty field of a reachable node before the next allocation), then, with no
// allocation after it, overwrites 60 random fields (with null or another reachable node), which
// drops whole subgraphs.
function objectGraph(ex, memory) {
  const TREE = ex.__idof("TreeNode");
  const rnd = prng(99);
  const roots = Array.from({ length: 16 }, () => ex.__pin(ex.__new(8, TREE)));
  const reachable = () => {
    const u = new Uint32Array(memory.buffer);
    const seen = new Set(roots), stack = [...roots];
    while (stack.length) {
      const n = stack.pop();
      for (const f of [0, 1]) { const c = u[(n >>> 2) + f]; if (c && !seen.has(c)) { seen.add(c); stack.push(c); } }
    }
    return [...seen];
  };
  return {
    tick() {
      let nodes = reachable();
      if (nodes.length < 20000) {
        const u = () => new Uint32Array(memory.buffer);
        for (let i = 0; i < 300; i++) {
          // a free field below a random reachable node: growing never drops anything, so every
          // node in `nodes` stays alive while this loop allocates
          let parent = nodes[rnd(nodes.length)], field = rnd(2);
          for (let hops = 0; u()[(parent >>> 2) + field] !== 0 && hops < 64; hops++) { parent = u()[(parent >>> 2) + field]; field = rnd(2); }
          if (u()[(parent >>> 2) + field] !== 0) continue; // a cycle of full nodes
          const child = ex.__new(8, TREE);
          store(ex, memory, parent, field, child);
          nodes.push(child);
        }
      }
      nodes = reachable();
      for (let i = 0; i < 60; i++) {
        const n = nodes[rnd(nodes.length)];
        store(ex, memory, n, rnd(2), rnd(3) === 0 ? nodes[rnd(nodes.length)] : 0);
      }
    },
  };
}

// a leak: pins ArrayBuffers and TreeNodes and never unpins them (stops at 64 MiB pinned, so
// the tab survives).
function leak(ex) {
  const rnd = prng(5);
  const TREE = ex.__idof("TreeNode");
  let pinned = 0;
  return {
    tick() {
      if (pinned > 64 * 1024 * 1024) return;
      for (let i = 0; i < 100; i++) {
        const big = rnd(2) === 0;
        const size = big ? 64 + rnd(4000) : 8;
        ex.__pin(ex.__new(size, big ? ex.__typeIds.ArrayBuffer : TREE));
        pinned += size + 16;
        // garbage besides, so that the collector has something to do
        ex.__new(16 + rnd(200), ex.__typeIds.ArrayBuffer);
      }
    },
  };
}

// an AssemblyScript program (inspector/program.ts, compiled by js/asc.mjs) on asrt's
// `assemblyscript` build: each tick is one call of its `tick` export, which allocates trees,
// strings and Map entries on its own; `ex` is the program's exports.
function assemblyScript(ex) {
  // tick returns the nodes of its trees of depth 4, 6, 8 (669) and of the long-lived tree of
  // depth 10 (2047), plus the Map's size (50 to 300): a broken tree shows
  return {
    tick() {
      const r = ex.tick();
      if (r < 669 + 2047 + 50 || r > 669 + 2047 + 300) throw new Error(`AssemblyScript program: tick returned ${r}`);
    },
  };
}

export const WORKLOADS = {
  "binary-trees": { label: "binary trees", create: binaryTrees },
  "string-churn": { label: "string churn", create: stringChurn },
  "object-graph": { label: "random object graph", create: objectGraph },
  leak: { label: "a leak (pins, never unpins)", create: leak },
  assemblyscript: { label: "AssemblyScript program (js/asc.mjs)", create: assemblyScript, asc: true },
};
