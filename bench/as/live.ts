// A large live set for AssemblyScript (bench/report/asc.mjs): `fill(units, perBucket)` builds
// `units` Units (each a small object with a name String and a Uint8Array of 64–512 bytes) in
// buckets of `perBucket` (an Array<Array<Unit>>, reachable from a global); `churn(k)` replaces k
// random Units by new ones, so each call allocates a few small objects while the whole live set
// stays reachable. The host times every churn call: the pauses at a given live size.

import { random, seedRandom } from "./xorshift";

class Unit {
  constructor(public id: i32, public name: string, public data: Uint8Array, public next: Unit | null) {}
}

let buckets = new Array<Array<Unit>>();
let total: i32 = 0;
let per: i32 = 1;
let nextId: i32 = 0;
let liveBytes: f64 = 0;

/** Bytes of a block holding `payload` bytes, with a 16-byte header, rounded to 16. */
function block(payload: i32): f64 {
  return <f64>((payload + 16 + 15) & ~15);
}

function unitBytes(u: Unit): f64 {
  // the Unit, its name, the Uint8Array object and its buffer
  return block(16) + block(u.name.length << 1) + block(12) + block(u.data.length);
}

function makeUnit(prev: Unit | null): Unit {
  const id = nextId++;
  const data = new Uint8Array(64 + <i32>(random() % 449));
  data[0] = <u8>id;
  const u = new Unit(id, "unit " + id.toString(), data, prev);
  liveBytes += unitBytes(u);
  return u;
}

/** Builds the live set: `units` Units in buckets of `perBucket`; returns its bytes. */
export function fill(units: i32, perBucket: i32, seed: u32): f64 {
  seedRandom(seed);
  buckets = new Array<Array<Unit>>();
  total = units;
  per = perBucket;
  nextId = 0;
  liveBytes = 0;
  for (let i = 0; i < units; i += perBucket) {
    const b = new Array<Unit>();
    for (let j = 0; j < perBucket && i + j < units; j++) b.push(makeUnit(null));
    buckets.push(b);
  }
  liveBytes += block(buckets.length << 2) + block(16) * <f64>buckets.length;
  return liveBytes;
}

/** Replaces `k` random Units (each new one points at its bucket neighbour); returns an id sum. */
export function churn(k: i32): i32 {
  let acc = 0;
  for (let j = 0; j < k; j++) {
    const i = <i32>(random() % <u32>total);
    const b = buckets[i / per];
    const at = i % per;
    const old = b[at];
    liveBytes -= unitBytes(old);
    const u = makeUnit(at > 0 ? b[at - 1] : null);
    b[at] = u;
    acc += old.id + <i32>u.data[0];
  }
  return acc;
}

/** The live set's bytes (blocks with a 16-byte header, as every runtime is charged). */
export function live(): f64 {
  return liveBytes;
}

/** Does nothing: the host's floor for one call. */
export function nop(): void {}
