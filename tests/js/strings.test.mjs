// Property tests of asrt's string exports (docs/ABI.md §5) against the JavaScript engine itself:
// TextDecoder('utf-8', { ignoreBOM: true }), TextEncoder, <, ===, +, String.prototype.slice.
//
//   ASRT_WASM=path/to/asrt.wasm node --test tests/js/strings.test.mjs
//
// The module defaults to target/wasm32-unknown-unknown/release/asrt.wasm. Inputs come from a
// seeded generator: STRINGS_SEED=<n> reproduces a run, STRINGS_CASES=<n> sets the case count.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const wasmPath = process.env.ASRT_WASM ?? join(root, "target/wasm32-unknown-unknown/release/asrt.wasm");
const SEED = Number(process.env.STRINGS_SEED ?? 0x5eed);
const CASES = Number(process.env.STRINGS_CASES ?? 2000);

// ---- the instance ---------------------------------------------------------------------------

let memory;
const readJsString = ref => {
  const U32 = new Uint32Array(memory.buffer);
  const len = U32[(ref - 4) >>> 2] >>> 1;
  return String.fromCharCode(...new Uint16Array(memory.buffer, ref, len));
};

class Abort extends Error {}
const { instance } = await WebAssembly.instantiate(readFileSync(wasmPath), {
  env: {
    abort(message, file, line, column) {
      throw new Abort(`${message ? readJsString(message) : "?"} at ${file ? readJsString(file) : "?"}:${line}:${column}`);
    },
  },
});
const X = instance.exports;
memory = X.memory;

const u8 = () => new Uint8Array(memory.buffer);
const u16 = () => new Uint16Array(memory.buffer);
const u32 = () => new Uint32Array(memory.buffer);

/** A String read back from the heap: `length = rtSize >>> 1`, UTF-16LE. */
function getString(ref) {
  ref >>>= 0;
  const len = u32()[(ref - 4) >>> 2] >>> 1;
  let s = "";
  const U16 = u16();
  for (let i = 0; i < len; i += 4096) {
    s += String.fromCharCode(...U16.subarray((ref >>> 1) + i, (ref >>> 1) + Math.min(len, i + 4096)));
  }
  return s;
}
function getBytes(ab) {
  ab >>>= 0;
  return u8().slice(ab, ab + u32()[(ab - 4) >>> 2]);
}
/** Copies `bytes` into an `__alloc` block, runs `f(ptr)`, frees the block. */
function withBytes(bytes, f) {
  const ptr = X.__alloc(bytes.length) >>> 0;
  try {
    u8().set(bytes, ptr);
    return f(ptr);
  } finally {
    X.__free(ptr);
  }
}
/** A new heap String with the code units of `s` (through `__string_from_utf16`), pinned. */
function newString(s) {
  const units = new Uint16Array(s.length);
  for (let i = 0; i < s.length; i++) units[i] = s.charCodeAt(i);
  const ref = withBytes(new Uint8Array(units.buffer), ptr => X.__string_from_utf16(ptr, s.length));
  return X.__pin(ref) >>> 0;
}
/** Runs `f(...refs)` with pinned Strings for `strs`, unpinning them afterwards. */
function withStrings(strs, f) {
  const refs = strs.map(newString);
  try {
    return f(...refs);
  } finally {
    refs.forEach(r => X.__unpin(r));
  }
}
function gcStats() {
  const out = X.__alloc(64) >>> 0;
  try {
    X.__gc_stats(out);
    const v = new BigUint64Array(memory.buffer.slice(out, out + 64));
    return { heap: v[0], used: v[1], free: v[2], largest: v[3], live: v[4] };
  } finally {
    X.__free(out);
  }
}

// ---- seeded generators ---------------------------------------------------------------------

let state = SEED >>> 0 || 1;
function rnd() {
  // xorshift32
  state ^= state << 13; state >>>= 0;
  state ^= state >>> 17;
  state ^= state << 5; state >>>= 0;
  return state / 2 ** 32;
}
const int = n => Math.floor(rnd() * n);
const pick = a => a[int(a.length)];

const INTERESTING = [0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xe1, 0xec,
  0xed, 0xee, 0xef, 0xf0, 0xf1, 0xf3, 0xf4, 0xf5, 0xff, 0xbb];
const enc = new TextEncoder();
const dec = new TextDecoder("utf-8", { ignoreBOM: true });

/** Bytes biased towards the edges of UTF-8: every lead class, boundary continuations, valid
 *  characters of every length, ASCII runs (for the 8-byte fast path) and BOMs. */
function randomBytes(maxPieces = 24) {
  const parts = [];
  for (let n = int(maxPieces); n > 0; n--) {
    switch (int(6)) {
      case 0: parts.push(int(256)); break;
      case 1: parts.push(pick(INTERESTING)); break;
      case 2: parts.push(...enc.encode(String.fromCodePoint(randomCodePoint()))); break;
      case 3: for (let k = int(20); k > 0; k--) parts.push(0x20 + int(95)); break;
      case 4: parts.push(0xef, 0xbb, 0xbf); break;
      default: parts.push(...enc.encode(String.fromCodePoint(randomCodePoint())).slice(0, 1 + int(3))); break;
    }
  }
  return Uint8Array.from(parts);
}
function randomCodePoint() {
  switch (int(4)) {
    case 0: return int(0x80);
    case 1: return 0x80 + int(0x780);
    case 2: { const c = 0x800 + int(0xf800); return c >= 0xd800 && c < 0xe000 ? c + 0x800 : c; }
    default: return 0x10000 + int(0x100000);
  }
}
/** A JS string of random code units: ASCII, BMP, surrogate pairs and lone surrogates. */
function randomString(maxLen = 24) {
  let s = "";
  for (let n = int(maxLen + 1); n > 0; n--) {
    switch (int(6)) {
      case 0: s += String.fromCharCode(0xd800 + int(0x800)); break; // lone (or accidental pair)
      case 1: s += String.fromCodePoint(0x10000 + int(0x100000)); break;
      case 2: s += String.fromCharCode(int(0x10000)); break;
      case 3: s += pick(["", "\u0000", "\ufeff", "\uffff", "\ud800", "\udfff", "é", "😀"]); break;
      default: s += String.fromCharCode(0x20 + int(95)); break;
    }
  }
  return s;
}
/** Pairs that often share a prefix, so comparison reaches past it. */
function randomPair() {
  const a = randomString();
  const r = int(4);
  if (r === 0) return [a, a];
  if (r === 1) return [a, a.slice(0, int(a.length + 1)) + randomString(4)];
  return [a, randomString()];
}

// ---- tests ---------------------------------------------------------------------------------

test(`__string_from_utf8(ptr, n, 1) equals TextDecoder (seed ${SEED})`, () => {
  for (let i = 0; i < CASES; i++) {
    const bytes = randomBytes(i % 10 === 0 ? 200 : 24);
    const got = withBytes(bytes, ptr => getString(X.__string_from_utf8(ptr, bytes.length, 1)));
    assert.equal(got, dec.decode(bytes), `bytes ${Array.from(bytes, b => b.toString(16)).join(" ")}`);
  }
  // Long inputs: ASCII runs across many 8-byte words, with an error near the end.
  for (const n of [0, 1, 7, 8, 9, 4096, 100000]) {
    const bytes = new Uint8Array(n + 2).fill(0x61);
    bytes[n] = 0xe0; bytes[n + 1] = 0x80;
    const got = withBytes(bytes, ptr => getString(X.__string_from_utf8(ptr, bytes.length, 1)));
    assert.equal(got, dec.decode(bytes));
  }
});

test("the WHATWG maximal-subpart cases", () => {
  const cases = [
    [[0xf0, 0x80], "\ufffd\ufffd"],
    [[0xe0, 0xa0], "\ufffd"],
    [[0xed, 0xa0, 0x80], "\ufffd\ufffd\ufffd"],
    [[0xc0, 0x80], "\ufffd\ufffd"],
    [[0xf4, 0x90, 0x80, 0x80], "\ufffd\ufffd\ufffd\ufffd"],
    [[0xef, 0xbb, 0xbf, 0x41], "\ufeffA"],
    [[0x61, 0xf1, 0x80, 0x80, 0xe1, 0x80, 0xc2, 0x62, 0x80, 0x63, 0x80, 0xbf, 0x64],
      "a\ufffd\ufffd\ufffdb\ufffdc\ufffd\ufffdd"],
  ];
  for (const [bytes, want] of cases) {
    const b = Uint8Array.from(bytes);
    assert.equal(dec.decode(b), want, "the engine agrees with the expectation");
    assert.equal(withBytes(b, ptr => getString(X.__string_from_utf8(ptr, b.length, 1))), want);
  }
});

test("replace = 0: invalid input aborts and leaves the heap unchanged; valid input decodes", () => {
  let invalid = 0;
  for (let i = 0; i < CASES / 2; i++) {
    const bytes = randomBytes();
    let valid = true;
    try { new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes); } catch { valid = false; }
    withBytes(bytes, ptr => {
      if (valid) {
        assert.equal(getString(X.__string_from_utf8(ptr, bytes.length, 0)), dec.decode(bytes));
      } else {
        invalid++;
        const before = gcStats();
        assert.throws(() => X.__string_from_utf8(ptr, bytes.length, 0), err => err instanceof Abort && /invalid UTF-8/.test(err.message));
        const after = gcStats();
        assert.equal(after.used, before.used, "used bytes unchanged");
        assert.equal(after.live, before.live, "live objects unchanged");
      }
    });
  }
  assert.ok(invalid > CASES / 20, `enough invalid inputs (${invalid})`);
  assert.equal(X.__heap_check(), 0);
});

test("__string_to_utf8 and __string_utf8_length equal TextEncoder (lone surrogates too)", () => {
  for (let i = 0; i < CASES; i++) {
    const s = randomString(i % 10 === 0 ? 300 : 24);
    const want = enc.encode(s);
    withStrings([s], ref => {
      assert.equal(X.__string_utf8_length(ref), want.length);
      assert.deepEqual(getBytes(X.__string_to_utf8(ref, 0)), want, JSON.stringify(s));
      const z = getBytes(X.__string_to_utf8(ref, 1));
      assert.equal(z.length, want.length + 1);
      assert.equal(z[want.length], 0);
      assert.deepEqual(z.subarray(0, want.length), want);
    });
  }
});

test("__string_from_utf16 copies code units as they are", () => {
  for (let i = 0; i < CASES / 4; i++) {
    const s = randomString(40);
    withStrings([s], ref => assert.equal(getString(ref), s));
  }
});

test("compare, equals, concat and hash agree with JavaScript", () => {
  for (let i = 0; i < CASES; i++) {
    const [a, b] = randomPair();
    withStrings([a, b], (ra, rb) => {
      const cmp = X.__string_compare(ra, rb);
      assert.equal(Math.sign(cmp), a < b ? -1 : a > b ? 1 : 0, `${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
      assert.equal(X.__string_equals(ra, rb), a === b ? 1 : 0);
      assert.equal(getString(X.__string_concat(ra, rb)), a + b);
      if (a === b) assert.equal(X.__string_hash(ra), X.__string_hash(rb), "equal contents, equal hash");
    });
  }
  // Hashes of many distinct strings are almost all distinct.
  const seen = new Set();
  for (let i = 0; i < 2000; i++) withStrings([`k${i}`], r => seen.add(X.__string_hash(r) >>> 0));
  assert.ok(seen.size >= 1998, `${seen.size} distinct hashes of 2000`);
});

test("__string_slice agrees with String.prototype.slice", () => {
  const edges = [0, 1, -1, 2, -2, 5, -5, 100, -100, 2 ** 31 - 1, -(2 ** 31)];
  for (let i = 0; i < CASES; i++) {
    const s = randomString(30);
    const start = int(3) ? int(2 * s.length + 5) - s.length - 2 : pick(edges);
    const end = int(3) ? int(2 * s.length + 5) - s.length - 2 : pick(edges);
    withStrings([s], r => assert.equal(getString(X.__string_slice(r, start, end)), s.slice(start, end), `${JSON.stringify(s)}.slice(${start}, ${end})`));
  }
});

test("bad refs abort without changing the heap", () => {
  withStrings(["abc"], s => {
    const ab = X.__pin(withBytes(Uint8Array.of(0x61), p => X.__string_to_utf8(X.__string_from_utf8(p, 1, 1), 0))) >>> 0;
    const before = gcStats();
    for (const [bad, msg] of [[0, /null/], [ab, /not a String/], [s + 8, /./], [s + 16, /./]]) {
      assert.throws(() => X.__string_concat(s, bad), msg);
      assert.throws(() => X.__string_slice(bad, 0, 1), msg);
      assert.throws(() => X.__string_to_utf8(bad, 0), msg);
      assert.throws(() => X.__string_hash(bad), msg);
      assert.throws(() => X.__string_compare(bad, s), msg);
    }
    assert.throws(() => X.__string_from_utf16(memory.buffer.byteLength - 2, 2), /outside linear memory/);
    assert.throws(() => X.__string_from_utf8(memory.buffer.byteLength, 1, 1), /outside linear memory/);
    const after = gcStats();
    assert.equal(after.used, before.used);
    assert.equal(after.live, before.live);
    X.__unpin(ab);
  });
  assert.equal(X.__heap_check(), 0);
});

test("the heap is sound after everything", () => {
  X.__collect();
  assert.equal(X.__heap_check(), 0);
});
