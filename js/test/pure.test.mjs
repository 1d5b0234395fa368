// Unit tests of the loader's pure helpers: no wasm module needed.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  decodeUTF16, fromCharCodeChunked, STRING_SMALL_UNITS, STRING_CHUNK_UNITS,
  parseTypeFlags, valueAlignLog2, keyAlignLog2, viewConstructor, TypeFlags as F,
  detectProfile, readTypeinfo, PROFILES, GREETING, demangle,
} from "../loader.mjs";

const units = s => Uint16Array.from(s, (_, i) => s.charCodeAt(i));
const u16of = s => { const a = new Uint16Array(s.length); for (let i = 0; i < s.length; ++i) a[i] = s.charCodeAt(i); return a; };

function spy(obj, key, fn) {
  const orig = obj[key];
  const calls = [];
  obj[key] = function (...args) { calls.push(args); return (fn || orig).apply(this, args); };
  return { calls, restore() { obj[key] = orig; } };
}

test("decodeUTF16 is exact around the threshold and the chunk size", () => {
  for (const n of [0, 1, 31, 32, 33, 100, 1023, 1024, 1025, 3000]) {
    const s = Array.from({ length: n }, (_, i) => String.fromCharCode(0x20 + (i * 7919) % 0xd000)).join("");
    assert.equal(decodeUTF16(u16of(s)), s, `${n} units`);
  }
  // lone surrogates survive on both paths (TextDecoder is fatal, then the fallback runs)
  for (const s of ["\uD800", "x\uDFFFy", "\uD83D".repeat(40), "a".repeat(5000) + "\uDC00" + "b".repeat(2000)]) {
    assert.equal(decodeUTF16(u16of(s)), s);
  }
  assert.equal(decodeUTF16(u16of("\u{1F600}".repeat(100))), "\u{1F600}".repeat(100));
  assert.equal(decodeUTF16(u16of("\uFEFFbom" + "x".repeat(40))), "\uFEFFbom" + "x".repeat(40), "a leading BOM is kept");
});

test("decodeUTF16 uses fromCharCode for short strings and TextDecoder for long ones", () => {
  const dec = spy(TextDecoder.prototype, "decode");
  const fcc = spy(String, "fromCharCode");
  try {
    decodeUTF16(u16of("s".repeat(STRING_SMALL_UNITS)));
    assert.equal(dec.calls.length, 0, "no TextDecoder at the threshold");
    assert.equal(fcc.calls.length, 1);
    decodeUTF16(u16of("l".repeat(STRING_SMALL_UNITS + 1)));
    assert.equal(dec.calls.length, 1, "TextDecoder above the threshold");
    assert.equal(fcc.calls.length, 1, "no fromCharCode for a well-formed long string");
  } finally { dec.restore(); fcc.restore(); }
});

test("fromCharCode fallback works in bounded chunks", () => {
  const fcc = spy(String, "fromCharCode");
  try {
    const s = "\uDBFF" + "c".repeat(STRING_CHUNK_UNITS * 3 + 5);
    assert.equal(decodeUTF16(u16of(s)), s);
    assert.equal(fcc.calls.length, 4, "ceil(3077 / 1024) chunks");
    for (const args of fcc.calls) assert.ok(args.length <= STRING_CHUNK_UNITS);
  } finally { fcc.restore(); }
  assert.equal(fromCharCodeChunked(units("abcdefghij"), 3), "abcdefghij");
  assert.equal(fromCharCodeChunked(new Uint16Array(0), 3), "");
});

test("decodeUTF16 accepts views on a SharedArrayBuffer", () => {
  const sab = new SharedArrayBuffer(200);
  const v = new Uint16Array(sab, 0, 100);
  const s = "shared ".repeat(14) + "xy";
  v.set(u16of(s));
  assert.equal(decodeUTF16(v), s);
});

test("RTTI flags are parsed like AssemblyScript's", () => {
  // values taken from an AssemblyScript 0.28 build
  const arrString = parseTypeFlags(0x4102);
  assert.equal(arrString.kind, "Array");
  assert.equal(arrString.valueAlign, 2);
  assert.equal(arrString.valueManaged, true);
  assert.equal(arrString.valueSigned, false);
  const f64arr = parseTypeFlags(0x1a01);
  assert.equal(f64arr.kind, "ArrayBufferView");
  assert.deepEqual([f64arr.valueAlign, f64arr.valueFloat, f64arr.valueSigned], [3, true, true]);
  assert.equal(parseTypeFlags(0x904).kind, "StaticArray");
  assert.equal(parseTypeFlags(0x20).pointerFree, true);
  assert.equal(parseTypeFlags(0).valueAlign, -1, "no value");
  assert.equal(valueAlignLog2(F.VALUE_ALIGN_4), 4);
  assert.equal(keyAlignLog2(F.KEY_ALIGN_1 | F.VALUE_ALIGN_3), 1);
  const map = parseTypeFlags(F.MAP | F.KEY_ALIGN_2 | F.KEY_SIGNED | F.VALUE_ALIGN_2 | F.VALUE_MANAGED | F.KEY_MANAGED);
  assert.deepEqual([map.kind, map.keyAlign, map.keySigned, map.keyManaged, map.valueManaged], ["Map", 2, true, true, true]);
  assert.equal(F.ARRAYBUFFERVIEW, 1); assert.equal(F.ARRAY, 2); assert.equal(F.STATICARRAY, 4);
  assert.equal(F.VALUE_ALIGN_0, 64); assert.equal(F.VALUE_SIGNED, 2048); assert.equal(F.VALUE_FLOAT, 4096);
  assert.equal(F.VALUE_MANAGED, 16384); assert.equal(F.KEY_MANAGED, 1 << 23);
});

test("viewConstructor maps alignment, signedness and floatness", () => {
  assert.equal(viewConstructor(0, false, false), Uint8Array);
  assert.equal(viewConstructor(0, true, false), Int8Array);
  assert.equal(viewConstructor(1, true, false), Int16Array);
  assert.equal(viewConstructor(2, false, false), Uint32Array);
  assert.equal(viewConstructor(3, true, false), BigInt64Array);
  assert.equal(viewConstructor(2, true, true), Float32Array);
  assert.equal(viewConstructor(3, false, true), Float64Array);
  assert.equal(viewConstructor(1, false, true), null);
  assert.equal(viewConstructor(4, false, false), null);
});

// ---- profile detection on synthetic memories ----

const RTTI = 1024;     // table address
const CELL = 512;      // where __static_greeting's global points: a u32 holding the ref
const GREET_REF = 2048;

/** A memory with an RTTI table ({flags} or {flags, base} entries) and optionally the greeting. */
function synth({ entries, classic, greetingId, greetingSize = GREETING.length * 2 }) {
  const buf = new ArrayBuffer(65536);
  const U32 = new Uint32Array(buf);
  U32[RTTI >>> 2] = entries.length;
  entries.forEach((e, id) => {
    if (classic) { U32[(RTTI >>> 2) + 1 + id * 2] = e[0]; U32[(RTTI >>> 2) + 2 + id * 2] = e[1]; }
    else U32[(RTTI >>> 2) + 1 + id] = e;
  });
  if (greetingId !== undefined) {
    U32[CELL >>> 2] = GREET_REF;
    U32[(GREET_REF - 8) >>> 2] = greetingId;
    U32[(GREET_REF - 4) >>> 2] = greetingSize;
    const U16 = new Uint16Array(buf);
    for (let i = 0; i < GREETING.length; ++i) U16[(GREET_REF >>> 1) + i] = GREETING.charCodeAt(i);
  }
  return buf;
}

// classic (asrt default): ArrayBuffer 0, String 1, ArrayBufferView 2, then user types
const CLASSIC = [
  [F.POINTERFREE, 0], [F.POINTERFREE, 0], [F.ARRAYBUFFERVIEW, 0],
  [F.ARRAY | F.VALUE_ALIGN_2 | F.VALUE_MANAGED, 0],               // Array<string>
  [F.ARRAY | F.VALUE_ALIGN_2 | F.VALUE_SIGNED, 0],                // Array<i32>
  [F.STATICARRAY | F.VALUE_ALIGN_2 | F.VALUE_MANAGED, 0],         // StaticArray<string>
  [F.ARRAYBUFFERVIEW | F.VALUE_ALIGN_2 | F.VALUE_SIGNED, 2],      // Int32Array extends ArrayBufferView
  [0, 0],                                                         // TreeNode
];
// modern (asrt modern): Object 0, ArrayBuffer 1, String 2, ArrayBufferView 3
const MODERN = [
  0, F.POINTERFREE, F.POINTERFREE, F.ARRAYBUFFERVIEW,
  F.ARRAYBUFFERVIEW | F.VALUE_ALIGN_2 | F.VALUE_SIGNED,            // Int32Array at id 4
  F.ARRAY | F.VALUE_ALIGN_2 | F.VALUE_MANAGED,
  F.ARRAY | F.VALUE_ALIGN_2 | F.VALUE_SIGNED,
  0,
];
// an AssemblyScript 0.28 table, verbatim (its ArrayBufferView id 3 has no flags)
const AS028 = [0x20, 0x20, 0x20, 0, 0x4102, 0x902, 0x4104, 0x20, 0x20, 0x924, 0x1a02, 0xa02, 0x1a01, 0x901, 0x41];

test("detectProfile: __static_greeting's rtId decides first", () => {
  let r = detectProfile(synth({ entries: MODERN, greetingId: 1 }), { rttiBase: RTTI, greetingCell: CELL });
  assert.deepEqual(r.profile, "classic", "greeting wins over a modern-looking table");
  assert.match(r.reason, /greeting/);
  r = detectProfile(synth({ entries: CLASSIC, classic: true, greetingId: 2 }), { rttiBase: RTTI, greetingCell: CELL });
  assert.equal(r.profile, "modern");
  assert.match(r.reason, /greeting/);
});

test("detectProfile: a greeting that is not 'hello, asrt'-sized is ignored", () => {
  const r = detectProfile(synth({ entries: MODERN, greetingId: 1, greetingSize: 4 }), { rttiBase: RTTI, greetingCell: CELL });
  assert.equal(r.profile, "modern");
  assert.match(r.reason, /RTTI/);
});

test("detectProfile: ArrayBufferView flag at id 2 of {flags, base} means classic", () => {
  const r = detectProfile(synth({ entries: CLASSIC, classic: true }), { rttiBase: RTTI });
  assert.equal(r.profile, "classic");
  assert.match(r.reason, /id 2/);
});

test("detectProfile: ArrayBufferView flag at id 3 of {flags} means modern, even with a typed array at id 4", () => {
  const r = detectProfile(synth({ entries: MODERN }), { rttiBase: RTTI });
  assert.equal(r.profile, "modern");
  assert.match(r.reason, /id 3/);
});

test("detectProfile: an AssemblyScript 0.28 table is modern", () => {
  assert.equal(detectProfile(synth({ entries: AS028 }), { rttiBase: RTTI }).profile, "modern");
});

test("detectProfile: a classic table without flags on ArrayBufferView falls back to base ids", () => {
  const entries = CLASSIC.map(([f, b], i) => [i === 2 ? 0 : f, b]);
  const r = detectProfile(synth({ entries, classic: true }), { rttiBase: RTTI });
  assert.equal(r.profile, "classic");
  assert.match(r.reason, /base/);
  // and a modern table whose {flags, base} reading has flags where base ids would be
  const m = MODERN.map((f, i) => (i === 3 ? 0 : f));
  assert.equal(detectProfile(synth({ entries: m }), { rttiBase: RTTI }).profile, "modern");
});

test("detectProfile: no RTTI means the default (classic) profile", () => {
  assert.equal(detectProfile(new ArrayBuffer(65536), {}).profile, "classic");
  assert.equal(detectProfile(new ArrayBuffer(64), { rttiBase: 1 << 20 }).profile, "classic");
});

test("readTypeinfo reads both entry layouts", () => {
  const c = new Uint32Array(synth({ entries: CLASSIC, classic: true }));
  assert.deepEqual(readTypeinfo(c, RTTI, 6, "classic"), { flags: CLASSIC[6][0], base: 2 });
  assert.equal(readTypeinfo(c, RTTI, CLASSIC.length, "classic"), undefined);
  const m = new Uint32Array(synth({ entries: MODERN }));
  assert.deepEqual(readTypeinfo(m, RTTI, 4, PROFILES.modern), { flags: MODERN[4], base: 0 });
});

test("demangle builds the same structure as @assemblyscript/loader", async t => {
  let published;
  try { published = await import("@assemblyscript/loader"); } catch { return t.skip("@assemblyscript/loader not installed (npm ci at the repo root)"); }
  const calls = [];
  const fake = () => ({
    plain: (...a) => (calls.push(["plain", ...a]), 1),
    "ns.inner": (...a) => (calls.push(["ns.inner", ...a]), 2),
    "Foo#constructor": (self, x) => (calls.push(["ctor", self, x]), 64),
    "Foo#method": (self, y) => (calls.push(["method", self, y]), y + 1),
    "Foo#get:field": self => self + 1000,
    "Foo#set:field": () => {},
    "get:glob": () => 7,
    "set:glob": () => {},
    value: 42,
  });
  const ours = demangle(fake()), theirs = published.demangle(fake());
  const shape = o => JSON.stringify(Object.keys(o).sort().map(k => [k, typeof o[k], typeof o[k] === "object" ? Object.keys(o[k]).sort() : null]));
  assert.equal(shape(ours), shape(theirs));
  for (const api of [ours, theirs]) {
    calls.length = 0;
    assert.equal(api.plain(1, 2), 1);
    assert.equal(api.ns.inner(), 2);
    const foo = new api.Foo(5);
    assert.equal(+foo, 64);
    assert.equal(foo.method(3), 4);
    assert.equal(foo.field, 1064);
    assert.equal(api.glob, 7);
    assert.equal(api.value, 42);
    assert.deepEqual(calls, [["plain", 1, 2], ["ns.inner"], ["ctor", 0, 5], ["method", 64, 3]]);
  }
});
