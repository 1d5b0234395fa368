// A random mutator that mixes weak references, finalizer registrations and weak-map entries
// (the loader's `WeakRef`, `FinalizationRegistry` and `WeakMap`, docs/ABI.md §10) with
// TreeNodes, counted pins, stores through `__link` and GC steps, checked after every operation
// against a model of reachability. No Node APIs: js/test/shared/checks.mjs runs it in Node and in Chromium, and
// tests/js/weak.test.mjs runs longer ones.
//
// Checked after every operation: a weak reference to an object the model reaches reads it; one
// to an unreachable object reads it or 0, and 0 forever once 0 (and 0 after a full collection);
// every held value comes back at most once, only for an unreachable object, never after
// `unregister`; after a full collection every unreachable registration has come back; the heap
// checker finds nothing (every `checkEvery` operations); a weak map's entry whose key the model
// reaches reads its value, and the model's reachability follows ephemerons (a reached key's
// value is reached).

/** A xorshift32 generator: `rand(n)` is in [0, n). */
function generator(seed) {
  let s = (seed >>> 0) || 1;
  return n => {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    return s % n;
  };
}

/** Runs `ops` random operations on the loader exports `e`; returns counts of what happened. */
export function runWeakModel(e, { seed = 1, ops = 1000, checkEvery = 1 } = {}) {
  const m = new WeakModel(e, seed);
  for (let i = 0; i < ops; ++i) {
    const op = m.step();
    m.prune();
    m.verify(op === "collect");
    if (i % checkEvery === 0) m.heapCheck(i, op);
  }
  m.finish();
  return m.counts;
}

class WeakModel {
  constructor(e, seed) {
    this.e = e;
    this.rand = generator(seed);
    this.tree = e.__idof("TreeNode");
    this.nodes = new Map(); // id -> { ref, left, right } (ids; null for none)
    this.pins = new Map(); // id -> count
    this.nextId = 1;
    this.weaks = []; // { w, id, ref, cleared }
    this.regs = new Map(); // held value -> { id, ref, token }
    this.done = new Set(); // held values delivered or unregistered
    this.nextHeld = 1;
    this.counts = {};
    this.registry = new e.FinalizationRegistry(held => this.delivered(held));
    this.maps = []; // { map, entries: Map(key id -> { ref, value: id | null }) }
  }

  count(what) { this.counts[what] = (this.counts[what] || 0) + 1; }

  alive(id, ref) { const n = this.nodes.get(id); return !!n && n.ref === ref; }

  pick(list) { return list.length ? list[this.rand(list.length)] : undefined; }

  delivered(held) {
    const reg = this.regs.get(held);
    if (!reg) throw Error(`held value ${held} came back twice, after unregister, or unregistered`);
    if (this.alive(reg.id, reg.ref)) throw Error(`held value ${held} of a reachable object`);
    this.regs.delete(held);
    this.done.add(held);
    this.count("finalized");
  }

  store(parent, off, child) {
    new Uint32Array(this.e.memory.buffer)[(this.nodes.get(parent).ref + off) >>> 2] = child ? this.nodes.get(child).ref : 0;
    if (child) this.e.__link(this.nodes.get(parent).ref, this.nodes.get(child).ref, 0);
    this.nodes.get(parent)[off ? "right" : "left"] = child || null;
  }

  /** One random operation; returns its name. */
  step() {
    const e = this.e, ids = [...this.nodes.keys()];
    const ops = ["new", "new", "new", "new", "store", "store", "unpin", "weak", "deref", "deref",
      "free", "register", "register", "unregister", "step", "step", "step", "collect",
      "mapset", "mapset", "mapdelete", "mapnew"];
    const op = ops[this.rand(ops.length)];
    this.count(op);
    switch (op) {
      case "new": {
        const ref = e.__new(8, this.tree) >>> 0;
        const id = this.nextId++;
        this.nodes.set(id, { ref, left: null, right: null });
        const parent = this.pick(ids);
        if (parent === undefined || this.rand(3) === 0) {
          e.__pin(ref);
          this.pins.set(id, (this.pins.get(id) || 0) + 1);
        } else {
          this.store(parent, 4 * this.rand(2), id);
        }
        break;
      }
      case "store": {
        const parent = this.pick(ids);
        if (parent !== undefined) this.store(parent, 4 * this.rand(2), this.rand(3) ? this.pick(ids) : null);
        break;
      }
      case "unpin": {
        const id = this.pick([...this.pins.keys()]);
        if (id === undefined) break;
        e.__unpin(this.nodes.get(id).ref);
        const n = this.pins.get(id) - 1;
        if (n) this.pins.set(id, n); else this.pins.delete(id);
        break;
      }
      case "weak": {
        const id = this.pick(ids);
        if (id !== undefined) {
          const ref = this.nodes.get(id).ref;
          this.weaks.push({ w: new e.WeakRef(ref), id, ref, cleared: false });
        }
        break;
      }
      case "deref": this.deref(); break;
      case "free": {
        if (!this.weaks.length) break;
        const [w] = this.weaks.splice(this.rand(this.weaks.length), 1);
        w.w.free();
        if (w.w.deref() !== 0) throw Error("a freed WeakRef reads non-zero");
        break;
      }
      case "register": {
        const id = this.pick(ids);
        if (id === undefined) break;
        const held = this.nextHeld++, token = { held };
        this.registry.register(this.nodes.get(id).ref, held, token);
        this.regs.set(held, { id, ref: this.nodes.get(id).ref, token });
        break;
      }
      case "unregister": {
        const held = this.pick([...this.regs.keys()]);
        if (held === undefined) {
          if (this.registry.unregister({})) throw Error("unregister of an unknown token returned true");
          break;
        }
        if (!this.registry.unregister(this.regs.get(held).token)) throw Error(`unregister(${held}) returned false`);
        this.regs.delete(held);
        this.done.add(held);
        break;
      }
      case "mapnew": {
        if (this.maps.length < 3) this.maps.push({ map: new e.WeakMap(), entries: new Map() });
        else this.maps.splice(this.rand(3), 1)[0].map.free();
        break;
      }
      case "mapset": {
        if (!this.maps.length) this.maps.push({ map: new e.WeakMap(), entries: new Map() });
        const m = this.pick(this.maps), key = this.pick(ids);
        if (key === undefined) break;
        const value = this.rand(4) ? this.pick(ids) : null;
        const ref = this.nodes.get(key).ref;
        m.map.set(ref, value === null ? 0 : this.nodes.get(value).ref);
        m.entries.set(key, { ref, value });
        break;
      }
      case "mapdelete": {
        const m = this.pick(this.maps);
        const key = m && this.pick([...m.entries.keys()]);
        if (key === undefined) break;
        if (!m.map.delete(m.entries.get(key).ref)) throw Error("delete of a present key returned false");
        m.entries.delete(key);
        break;
      }
      case "step": e.gcIdle(0); break; // one step, then the loader drains the tokens
      case "collect": e.__collect(); break;
    }
    e.drainFinalizers(); // tokens queued by allocation-paced steps
    return op;
  }

  /** Reads a random weak reference through the read barrier. */
  deref() {
    const w = this.pick(this.weaks);
    if (!w) return;
    const got = w.w.deref();
    if (this.alive(w.id, w.ref)) {
      if (got !== w.ref) throw Error(`WeakRef to reachable ${w.ref} reads ${got}`);
    } else if (got === 0) {
      w.cleared = true;
      this.count("deref cleared");
    } else if (got !== w.ref || w.cleared) {
      throw Error(`WeakRef to unreachable ${w.ref} reads ${got} (cleared before: ${w.cleared})`);
    }
  }

  /** Forgets every node the model cannot reach from its pins (through ephemerons too). */
  prune() {
    const seen = new Set(), work = [...this.pins.keys()];
    for (;;) {
      while (work.length) {
        const id = work.pop();
        if (id === null || seen.has(id)) continue;
        seen.add(id);
        const n = this.nodes.get(id);
        work.push(n.left, n.right);
      }
      for (const m of this.maps) {
        for (const [key, { value }] of m.entries) if (seen.has(key) && value !== null && !seen.has(value)) work.push(value);
      }
      if (!work.length) break;
    }
    for (const id of [...this.nodes.keys()]) if (!seen.has(id)) this.nodes.delete(id);
    for (const m of this.maps) for (const key of [...m.entries.keys()]) if (!seen.has(key)) m.entries.delete(key);
  }

  verify(collected) {
    for (const m of this.maps) {
      for (const [, { ref, value }] of m.entries) {
        const want = value === null ? 0 : this.nodes.get(value).ref;
        if (m.map.get(ref) !== want || !m.map.has(ref)) throw Error(`WeakMap entry of reached key ${ref}: ${m.map.get(ref)}, want ${want}`);
      }
    }
    for (const w of this.weaks) {
      if (!collected) continue; // reads shade while marking: only checked after a collection
      const got = w.w.deref();
      if (this.alive(w.id, w.ref) ? got !== w.ref : got !== 0) {
        throw Error(`after __collect, WeakRef to ${w.ref} (reachable: ${this.alive(w.id, w.ref)}) reads ${got}`);
      }
      if (!got) w.cleared = true;
    }
    if (!collected) return;
    for (const [held, reg] of this.regs) {
      if (!this.alive(reg.id, reg.ref)) throw Error(`held value ${held} not back after __collect`);
    }
  }

  heapCheck(i, op) {
    const bad = this.e.heapCheck();
    if (bad.length) throw Error(`heap check after operation ${i} (${op}): ${JSON.stringify(bad.slice(0, 4))}`);
  }

  /** Drops every root: every held value comes back, every weak reference reads 0. */
  finish() {
    for (const [id, n] of this.pins) for (let k = 0; k < n; ++k) this.e.__unpin(this.nodes.get(id).ref);
    this.pins.clear();
    this.prune();
    this.e.__collect();
    if (this.regs.size) throw Error(`${this.regs.size} held values never came back`);
    for (const w of this.weaks) {
      if (w.w.deref() !== 0) throw Error(`WeakRef to ${w.ref} not cleared at the end`);
      w.w.free();
    }
    for (const m of this.maps) m.map.free();
    const live = this.e.gcStats().liveObjects;
    if (live !== 0) throw Error(`${live} objects outlived every root (weak-map values too)`);
    this.heapCheck("end", "finish");
  }
}
