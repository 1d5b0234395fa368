// Map and Set for AssemblyScript (bench/report/asc.mjs): each `step(ops)` does `ops` random
// operations on a Map<string, Entry> and a Set<string> whose keys are managed strings made per
// operation: inserts (a new Entry, or a push onto an existing one's values), lookups and deletes,
// over `range` keys. Deletes drop entries, so the collector has garbage of every kind: keys,
// entries, value arrays and the tables' own buffers when they shrink or grow.

import { random, seedRandom } from "./xorshift";

class Entry {
  constructor(public key: string, public values: Array<i32>) {}
}

let map = new Map<string, Entry>();
let set = new Set<string>();
let range: u32 = 1;

/** Starts over: empty tables, keys drawn from `keys` values, the generator seeded. */
export function setup(keys: u32, seed: u32): void {
  map = new Map<string, Entry>();
  set = new Set<string>();
  range = keys;
  seedRandom(seed);
}

export function step(ops: i32): i32 {
  let acc = 0;
  for (let j = 0; j < ops; j++) {
    const key = "key:" + (random() % range).toString();
    const op = random() & 7;
    if (op < 4) {
      if (map.has(key)) {
        const e = map.get(key);
        if (e.values.length < 16) e.values.push(j);
      } else {
        map.set(key, new Entry(key, [j]));
      }
      set.add(key.substring(4));
    } else if (op < 6) {
      if (map.has(key)) acc += map.get(key).values.length;
      if (set.has(key.substring(4))) acc++;
    } else {
      map.delete(key);
      set.delete(key.substring(4));
    }
  }
  return acc + map.size + set.size;
}

/** Does nothing: the host's floor for one call. */
export function nop(): void {}
