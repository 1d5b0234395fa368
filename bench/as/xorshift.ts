// xorshift32 for the AssemblyScript benchmark programs: the same sequence on every runtime.

let state: u32 = 1;

/** Seeds the generator (0 becomes 1). */
export function seedRandom(seed: u32): void {
  state = seed | 1;
}

/** The next number of the sequence. */
export function random(): u32 {
  let x = state;
  x ^= x << 13;
  x ^= x >>> 17;
  x ^= x << 5;
  state = x;
  return x;
}
