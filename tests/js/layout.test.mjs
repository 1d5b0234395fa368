// The static data build.rs lays out (docs/ABI.md §3, §4), checked from the outside on the release builds:
// the RTTI table at __rtti_base, the __id_* and __static_* globals, every static object's header
// and payload, the shadow-stack header, aborts on static refs, and the import-memory build.
//
// Run from anywhere: node --test tests/js/layout.test.mjs
// Modules (paths relative to the crate root unless absolute):
//   ASRT_WASM         default build  (target/wasm32-unknown-unknown/release/asrt.wasm)
//   ASRT_WASM_MODERN  ASRT_PROFILE=modern build (target/modern/wasm32-unknown-unknown/release/asrt.wasm)
//   ASRT_WASM_IMPORT  --features import-memory build (target/import-memory/wasm32-unknown-unknown/release/asrt.wasm)
//   ASRT_LAYOUT       the layout file the builds used (layout.toml)
//
// The expectations are derived from the layout file by an implementation of AssemblyScript's
// flag rules written independently of build.rs, plus constants read from asc's own output.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const at = (p) => path.resolve(ROOT, p);
const WASM = at(process.env.ASRT_WASM ?? 'target/wasm32-unknown-unknown/release/asrt.wasm');
const WASM_MODERN = at(process.env.ASRT_WASM_MODERN ?? 'target/modern/wasm32-unknown-unknown/release/asrt.wasm');
const WASM_IMPORT = at(process.env.ASRT_WASM_IMPORT ?? 'target/import-memory/wasm32-unknown-unknown/release/asrt.wasm');
const LAYOUT = at(process.env.ASRT_LAYOUT ?? 'layout.toml');

// ---------------------------------------------------------------------------------------------
// A reader for the TOML the layout file uses: tables, arrays of tables, strings, integers,
// floats, booleans, arrays and inline tables.

function parseToml(text) {
  let i = 0;
  const root = {};
  let cur = root;
  const ws = () => { while (i < text.length && (text[i] === ' ' || text[i] === '\t')) i++; };
  const skip = () => {
    for (;;) {
      ws();
      if (text[i] === '#') while (i < text.length && text[i] !== '\n') i++;
      if (text[i] === '\n' || text[i] === '\r') { i++; continue; }
      return;
    }
  };
  const key = () => {
    if (text[i] === '"' || text[i] === "'") return str();
    const m = /^[A-Za-z0-9_-]+/.exec(text.slice(i));
    if (!m) throw new Error(`toml: key expected at ${i}`);
    i += m[0].length;
    return m[0];
  };
  const str = () => {
    const q = text[i++];
    let s = '';
    while (text[i] !== q) {
      if (q === '"' && text[i] === '\\') {
        const e = text[++i];
        i++;
        if (e === 'u' || e === 'U') {
          const n = e === 'u' ? 4 : 8;
          s += String.fromCodePoint(parseInt(text.slice(i, i + n), 16));
          i += n;
        } else s += { n: '\n', t: '\t', r: '\r', b: '\b', f: '\f', e: '\x1b', '"': '"', '\\': '\\' }[e];
      } else s += text[i++];
    }
    i++;
    return s;
  };
  const value = () => {
    const c = text[i];
    if (c === '"' || c === "'") return str();
    if (c === '[') {
      i++;
      const a = [];
      for (;;) {
        skip();
        if (text[i] === ']') { i++; return a; }
        a.push(value());
        skip();
        if (text[i] === ',') i++;
      }
    }
    if (c === '{') {
      i++;
      const t = {};
      for (;;) {
        ws();
        if (text[i] === '}') { i++; return t; }
        const k = key();
        ws(); i++; ws();
        t[k] = value();
        ws();
        if (text[i] === ',') i++;
      }
    }
    const m = /^[A-Za-z0-9_+.\-]+/.exec(text.slice(i));
    i += m[0].length;
    const w = m[0].replaceAll('_', '');
    if (w === 'true' || w === 'false') return w === 'true';
    if (/^[+-]?(inf|nan)$/.test(w)) return w.includes('nan') ? NaN : w.startsWith('-') ? -Infinity : Infinity;
    if (/^0[xob]/.test(w)) return Number(w);
    if (/[.eE]/.test(w)) return { float: Number(w) };
    return Number(w);
  };
  for (;;) {
    skip();
    if (i >= text.length) return root;
    if (text[i] === '[') {
      const arr = text[i + 1] === '[';
      i += arr ? 2 : 1;
      ws();
      const k = key();
      ws();
      i += arr ? 2 : 1;
      if (arr) (root[k] ??= []).push(cur = {});
      else root[k] = cur = {};
      continue;
    }
    const k = key();
    ws(); i++; ws();
    cur[k] = value();
  }
}

// ---------------------------------------------------------------------------------------------
// Expectations from the layout file.

const F = {
  ARRAYBUFFERVIEW: 1, ARRAY: 2, STATICARRAY: 4, POINTERFREE: 32, ALIGN0: 64,
  SIGNED: 1 << 11, FLOAT: 1 << 12, NULLABLE: 1 << 13, MANAGED: 1 << 14,
};
const PRIM = {
  bool: [0, 0, 0], i8: [0, 1, 0], u8: [0, 0, 0], i16: [1, 1, 0], u16: [1, 0, 0], i32: [2, 1, 0],
  u32: [2, 0, 0], isize: [2, 1, 0], usize: [2, 0, 0], f32: [2, 1, 1], i64: [3, 1, 0], u64: [3, 0, 0],
  f64: [3, 1, 1],
};

function expectLayout(profile) {
  const file = parseToml(fs.readFileSync(LAYOUT, 'utf8'));
  const fixed = profile === 'modern'
    ? ['Object', 'ArrayBuffer', 'String', 'ArrayBufferView']
    : ['ArrayBuffer', 'String', 'ArrayBufferView'];
  const types = fixed.map((name) => ({ name, flags: name === 'ArrayBufferView' ? 0 : F.POINTERFREE, base: 0, fixed: true, export: false }));
  const id = (name) => types.findIndex((t) => t.name === (name === 'string' ? 'String' : name));
  for (const t of file.type ?? []) {
    const f = types.find((x) => x.name === t.name);
    if (f) { f.export ||= !!t.export; continue; }
    types.push({ ...t, export: !!t.export });
  }
  const viewId = id('ArrayBufferView');
  const ownRefs = new Map();
  for (const t of types) {
    if (t.fixed) continue;
    if (t.kind === 'class') {
      const base = t.base ? types[id(t.base)] : null;
      t.allRefs = [...(base?.allRefs ?? []), ...(t.refs ?? [])];
      t.flags = t.allRefs.length ? 0 : F.POINTERFREE;
      t.base = base ? id(t.base) : 0;
      ownRefs.set(t.name, t.allRefs);
      continue;
    }
    const prim = PRIM[t.element];
    const el = prim
      ? (F.ALIGN0 << prim[0]) | (prim[1] ? F.SIGNED : 0) | (prim[2] ? F.FLOAT : 0)
      : (F.ALIGN0 << 2) | F.MANAGED | (t.nullable ? F.NULLABLE : 0);
    t.elemSize = prim ? 1 << prim[0] : 4;
    t.prim = prim ? t.element : null;
    if (t.kind === 'view') { t.flags = F.ARRAYBUFFERVIEW | el; t.base = viewId; }
    else if (t.kind === 'array') { t.flags = F.ARRAY | el; t.base = 0; }
    else { t.flags = F.STATICARRAY | el | (prim ? F.POINTERFREE : 0); t.base = 0; }
  }
  const rtti = [types.length];
  for (const t of types) profile === 'modern' ? rtti.push(t.flags) : rtti.push(t.flags, t.base);
  return { file, types, id, rtti, statics: file.static ?? [] };
}

// ---------------------------------------------------------------------------------------------
// Loading.

class Abort extends Error {}

function load(file, memory) {
  assert.ok(fs.existsSync(file), `${file} is missing: build it (see the header of this file)`);
  const module = new WebAssembly.Module(fs.readFileSync(file));
  let inst;
  const mem = () => inst.exports.memory.buffer;
  const readString = (ref) => {
    if (!ref) return null;
    const u32 = new Uint32Array(mem());
    return String.fromCharCode(...new Uint16Array(mem(), ref, u32[(ref >>> 2) - 1] >>> 1));
  };
  const imports = {
    env: {
      abort(msg, file, line, col) {
        const e = new Abort(`abort: ${readString(msg)} (${readString(file)}:${line}:${col})`);
        Object.assign(e, { msg, file, line, col, text: readString(msg), fileName: readString(file) });
        throw e;
      },
    },
  };
  if (memory) imports.env.memory = memory;
  inst = new WebAssembly.Instance(module, imports);
  const x = inst.exports;
  const u32 = () => new Uint32Array(mem());
  const need = (name) => {
    assert.ok(name in x, `export ${name} is missing`);
    return x[name];
  };
  const global = (name) => need(name).value >>> 0;
  return { module, x, mem, u32, need, global, readString, heapBase: () => global('__heap_base') };
}

function header(m, ref) {
  const u = m.u32();
  return { mmInfo: u[(ref >>> 2) - 4], gcInfo: u[(ref >>> 2) - 3], rtId: u[(ref >>> 2) - 2], rtSize: u[(ref >>> 2) - 1] };
}

const blockSize = (payload) => Math.max(16, (16 + payload + 15) & ~15);

// Checks one static object's header; returns it.
function checkObject(m, ref, rtId, rtSize, what) {
  assert.ok(ref !== 0, `${what}: null ref`);
  assert.equal(ref % 16, 0, `${what}: ref ${ref} not 16-aligned`);
  assert.ok(ref + rtSize <= m.heapBase(), `${what}: not below __heap_base`);
  const h = header(m, ref);
  assert.equal(h.mmInfo & 3, 0, `${what}: FREE/LEFTFREE set`);
  assert.equal(h.mmInfo, blockSize(rtSize) - 4, `${what}: mmInfo`);
  assert.equal(h.gcInfo, 11, `${what}: gcInfo`);
  assert.equal(h.rtId, rtId, `${what}: rtId`);
  assert.equal(h.rtSize, rtSize, `${what}: rtSize`);
  return h;
}

function encodeNumbers(prim, values, length) {
  const [log2, signed, float] = PRIM[prim];
  const size = 1 << log2;
  const bytes = new Uint8Array(size * length);
  const dv = new DataView(bytes.buffer);
  values.forEach((v, k) => {
    const n = typeof v === 'object' ? v.float : v;
    if (float) size === 4 ? dv.setFloat32(k * 4, n, true) : dv.setFloat64(k * 8, n, true);
    else if (size === 8) dv.setBigUint64(k * 8, BigInt.asUintN(64, BigInt(n)), true);
    else if (size === 4) dv.setUint32(k * 4, n >>> 0, true);
    else if (size === 2) dv.setUint16(k * 2, n & 0xffff, true);
    else dv.setUint8(k, typeof v === 'boolean' ? +v : n & 0xff);
    void signed;
  });
  return bytes;
}

// Checks every declared static against the layout: header and payload, recursively.
function checkStatics(m, exp) {
  const refOf = (name) => m.u32()[m.global(`__static_${name}`) >>> 2];
  const bytesAt = (ref, n) => new Uint8Array(m.mem(), ref, n);
  const checked = [];
  for (const s of exp.statics) {
    if (s.export === false) continue;
    const t = exp.types[exp.id(s.type)];
    const ref = refOf(s.name);
    const what = `__static_${s.name}`;
    const tid = exp.id(s.type);
    if (t.name === 'String') {
      const units = [...s.value].reduce((n, c) => n + (c.codePointAt(0) > 0xffff ? 2 : 1), 0);
      checkObject(m, ref, tid, units * 2, what);
      assert.equal(m.readString(ref), s.value, what);
    } else if (t.name === 'ArrayBuffer') {
      const vals = s.values ?? [];
      const n = s.length ?? vals.length;
      checkObject(m, ref, tid, n, what);
      assert.deepEqual(bytesAt(ref, n), encodeNumbers('u8', vals, n), what);
    } else if (t.kind === 'class') {
      checkObject(m, ref, tid, t.size, what);
    } else {
      const vals = s.values ?? [];
      const n = s.length ?? vals.length;
      const payload = t.kind === 'staticarray' ? n * t.elemSize : t.kind === 'array' ? 16 : 12;
      checkObject(m, ref, tid, payload, what);
      let data = ref;
      if (t.kind !== 'staticarray') {
        const u = m.u32();
        const [buffer, dataStart, byteLength, length] = [u[ref >>> 2], u[(ref >>> 2) + 1], u[(ref >>> 2) + 2], u[(ref >>> 2) + 3]];
        checkObject(m, buffer, exp.id('ArrayBuffer'), n * t.elemSize, `${what}.buffer`);
        assert.equal(dataStart, buffer, `${what}.dataStart`);
        assert.equal(byteLength, n * t.elemSize, `${what}.byteLength`);
        if (t.kind === 'array') assert.equal(length, n, `${what}.length`);
        data = buffer;
        checked.push(buffer);
      }
      if (t.prim) {
        assert.deepEqual(bytesAt(data, n * t.elemSize), encodeNumbers(t.prim, vals, n), `${what} elements`);
      } else {
        for (let k = 0; k < n; k++) {
          const e = m.u32()[(data >>> 2) + k];
          const v = vals[k];
          if (v === undefined || v?.null) assert.equal(e, 0, `${what}[${k}] should be null`);
          else if (typeof v === 'string') {
            checkObject(m, e, exp.id('String'), m.u32()[(e >>> 2) - 1], `${what}[${k}]`);
            assert.equal(m.readString(e), v, `${what}[${k}]`);
            checked.push(e);
          } else assert.equal(e, refOf(v.ref), `${what}[${k}] should be __static_${v.ref}`);
        }
      }
    }
    checked.push(ref);
  }
  // No two static objects overlap.
  const spans = [...new Set(checked)].map((r) => [r - 16, r - 16 + 4 + header(m, r).mmInfo]).sort((a, b) => a[0] - b[0]);
  for (let k = 1; k < spans.length; k++) assert.ok(spans[k][0] >= spans[k - 1][1], 'static objects overlap');
  return checked;
}

// ---------------------------------------------------------------------------------------------
// Tests.

// Constants read from asc's output (0.22.0 and 0.28.20 agree): a wrong rule above fails here.
const AS_FLAGS = {
  ArrayString: 0x4102, ArrayI32: 0x0902, ArrayF64: 0x1a02, StaticArrayString: 0x4104,
  Int32Array: 0x0901, Float64Array: 0x1a01, Uint8Array: 0x0041, TreeNode: 0,
  ArrayBuffer: 0x20, String: 0x20, ArrayBufferView: 0, Object: 0x20,
};

for (const [label, file, profile] of [
  ['default', WASM, null],
  ['modern', WASM_MODERN, 'modern'],
]) {
  const prof = profile ?? parseToml(fs.readFileSync(LAYOUT, 'utf8')).profile ?? 'classic';

  test(`${label} build: RTTI table at __rtti_base matches the layout (${prof})`, () => {
    const m = load(file);
    const exp = expectLayout(prof);
    const base = m.global('__rtti_base');
    assert.ok(base + 4 * exp.rtti.length <= m.heapBase());
    assert.deepEqual(Array.from(m.u32().subarray(base >>> 2, (base >>> 2) + exp.rtti.length)), exp.rtti);
    const stride = prof === 'modern' ? 1 : 2;
    for (const [name, flags] of Object.entries(AS_FLAGS)) {
      const id = exp.id(name);
      if (id < 0) continue;
      assert.equal(m.u32()[(base >>> 2) + 1 + stride * id], flags, `${name} flags`);
    }
    if (prof === 'classic') {
      assert.equal(exp.id('ArrayBuffer'), 0);
      assert.equal(m.u32()[(base >>> 2) + 1 + 2 * exp.id('Int32Array') + 1], 2, 'Int32Array base');
    } else {
      assert.equal(exp.id('Object'), 0);
    }
    if (m.x.__typeinfo) for (let id = 0; id < exp.types.length; id++) assert.equal(m.x.__typeinfo(id) >>> 0, exp.types[id].flags);
  });

  test(`${label} build: __id_* globals resolve to the declared ids`, () => {
    const m = load(file);
    const exp = expectLayout(prof);
    const exported = exp.types.filter((t) => t.export);
    for (const want of ['TreeNode', 'ArrayString', 'ArrayI32', 'StaticArrayString']) {
      if (exp.id(want) >= 0) assert.ok(exported.some((t) => t.name === want), `${want} should be exported`);
    }
    for (const t of exported) assert.equal(m.u32()[m.global(`__id_${t.name}`) >>> 2], exp.id(t.name), `__id_${t.name}`);
    for (const name of Object.keys(m.x).filter((k) => k.startsWith('__id_'))) {
      assert.ok(exported.some((t) => `__id_${t.name}` === name), `unexpected export ${name}`);
    }
  });

  test(`${label} build: static objects have valid headers and payloads`, () => {
    const m = load(file);
    const exp = expectLayout(prof);
    checkStatics(m, exp);
    const greeting = m.u32()[m.global('__static_greeting') >>> 2];
    assert.equal(m.readString(greeting), 'hello, asrt');
    const slots = m.u32()[m.global('__static_slots') >>> 2];
    const h = header(m, slots);
    assert.equal(h.rtId, exp.id('StaticArrayString'));
    assert.equal(h.rtSize, 32);
    for (const name of Object.keys(m.x).filter((k) => k.startsWith('__static_'))) {
      assert.ok(exp.statics.some((s) => `__static_${s.name}` === name), `unexpected export ${name}`);
    }
  });

  test(`${label} build: __gc_stack is an empty stack of the declared size`, () => {
    const m = load(file);
    const slots = expectLayout(prof).file.shadow_stack_slots ?? 16384;
    const g = m.global('__gc_stack');
    const [top, base, limit] = m.u32().subarray(g >>> 2, (g >>> 2) + 3);
    assert.equal(top, base);
    assert.equal(limit, base + 4 * slots);
    assert.equal(base % 4, 0);
    assert.ok(limit <= m.heapBase());
  });

  test(`${label} build: __free and __realloc of a static abort and leave it intact`, () => {
    const m = load(file);
    const exp = expectLayout(prof);
    const ref = m.u32()[m.global('__static_greeting') >>> 2];
    const before = Array.from(new Uint32Array(m.mem(), ref - 16, 4 + 6));
    for (const call of [() => m.need('__free')(ref), () => m.need('__realloc')(ref, 8)]) {
      let err;
      assert.throws(call, (e) => (err = e) instanceof Abort);
      // message and fileName are static Strings (docs/ABI.md §6).
      checkObject(m, err.msg, exp.id('String'), m.u32()[(err.msg >>> 2) - 1], 'abort message');
      checkObject(m, err.file, exp.id('String'), m.u32()[(err.file >>> 2) - 1], 'abort fileName');
      assert.ok(err.text.length > 0);
      assert.equal(err.fileName, 'asrt/src/exports.rs');
      assert.deepEqual(Array.from(new Uint32Array(m.mem(), ref - 16, 4 + 6)), before);
    }
    assert.equal(m.readString(ref), 'hello, asrt');
    if (m.x.__heap_check) assert.equal(m.x.__heap_check(), 0);
  });

  test(`${label} build: a heap object stored in __static_slots survives __collect`, () => {
    const m = load(file);
    const exp = expectLayout(prof);
    const slots = m.u32()[m.global('__static_slots') >>> 2];
    const s = m.need('__new')(10, exp.id('String')) >>> 0;
    new Uint16Array(m.mem(), s, 5).set([...'roots'].map((c) => c.charCodeAt(0)));
    m.u32()[slots >>> 2] = s;
    m.need('__link')(slots, s, 0);
    const t = m.need('__new')(10, exp.id('String')) >>> 0; // unreachable
    m.need('__collect')();
    m.need('__collect')();
    assert.equal(m.readString(s), 'roots');
    assert.equal(header(m, s).rtId, exp.id('String'));
    assert.equal(m.need('__heap_check')(), 0);
    void t; // unreachable: collected
    m.u32()[slots >>> 2] = 0; // the statics are as declared again
    checkStatics(m, exp);
  });
}

test('import-memory build imports env.memory, still exports it, and runs in a host memory', () => {
  const exp = expectLayout(parseToml(fs.readFileSync(LAYOUT, 'utf8')).profile ?? 'classic');
  const initial = exp.file.memory?.initial_pages ?? 32;
  const maximum = exp.file.memory?.max_pages ?? 65536;
  assert.ok(fs.existsSync(WASM_IMPORT), `${WASM_IMPORT} is missing`);
  const module = new WebAssembly.Module(fs.readFileSync(WASM_IMPORT));
  const imp = WebAssembly.Module.imports(module).find((i) => i.module === 'env' && i.name === 'memory');
  assert.equal(imp?.kind, 'memory');
  assert.ok(WebAssembly.Module.exports(module).some((e) => e.name === 'memory' && e.kind === 'memory'));
  // Too small a memory is refused at link time.
  if (initial > 1) {
    assert.throws(
      () => new WebAssembly.Instance(module, { env: { memory: new WebAssembly.Memory({ initial: initial - 1, maximum }), abort() {} } }),
      WebAssembly.LinkError,
    );
  }
  const memory = new WebAssembly.Memory({ initial, maximum });
  const m = load(WASM_IMPORT, memory);
  assert.equal(m.x.memory.buffer, memory.buffer);
  assert.equal(m.readString(m.u32()[m.global('__static_greeting') >>> 2]), 'hello, asrt');
  checkStatics(m, exp);
  // The heap grows the host's memory.
  const p = m.need('__alloc')(4 << 20) >>> 0;
  assert.ok(memory.buffer.byteLength >= p + (4 << 20));
  assert.equal(m.x.memory.buffer, memory.buffer);
  m.need('__free')(p);
  assert.equal(m.need('__heap_check')(), 0);
});

test('the default layout declares what docs/ABI.md §3–§4 require', () => {
  const exp = expectLayout('classic');
  for (const t of ['ArrayString', 'ArrayI32', 'ArrayF64', 'StaticArrayString', 'Int32Array', 'Float64Array', 'Uint8Array', 'TreeNode']) {
    if (process.env.ASRT_LAYOUT) return; // a custom layout may declare anything
    assert.ok(exp.id(t) >= 0, t);
  }
  const tn = exp.types[exp.id('TreeNode')];
  assert.equal(tn.size, 8);
  assert.deepEqual(tn.refs, [0, 4]);
  const slots = exp.statics.find((s) => s.name === 'slots');
  assert.equal(slots.type, 'StaticArrayString');
  assert.equal(slots.length, 8);
  assert.equal(exp.statics.find((s) => s.name === 'greeting').value, 'hello, asrt');
});

/** The import-memory build over a fresh growable memory of the layout's initial size. */
function importMemoryHeap() {
  const exp = expectLayout(parseToml(fs.readFileSync(LAYOUT, 'utf8')).profile ?? 'classic');
  const initial = exp.file.memory?.initial_pages ?? 32;
  const memory = new WebAssembly.Memory({ initial, maximum: 65536 });
  const m = load(WASM_IMPORT, memory);
  return { memory, m, alloc: m.need('__alloc'), free: m.need('__free'), check: m.need('__heap_check') };
}

test('import-memory: a forged block size reaching past the last region into pages another user grew is refused (docs/ABI.md §6.8)', () => {
  const { memory, m, alloc, free, check } = importMemoryHeap();
  const first = alloc(64) >>> 0;
  let u32 = new Uint32Array(memory.buffer);
  const blockSize = (block) => (u32[block >>> 2] & ~3) + 4;
  // The free block after `first` runs to the region's sentinel: take all of it.
  const rest = first - 16 + blockSize(first - 16);
  const restSize = blockSize(rest);
  const last = alloc(restSize - 16) >>> 0;
  assert.equal(last, rest + 16, 'the last block of the region');
  const tail = rest + restSize;
  assert.equal(tail + 16, memory.buffer.byteLength, 'the region ends at the memory\'s end');
  // Someone else grows the memory; the runtime has not (its last region still ends at `tail`).
  const foreign = memory.grow(2) * 65536;
  assert.equal(foreign, tail + 16);
  // Compiled code overwrites both size words of `last`, consistently, to reach into those pages.
  u32 = new Uint32Array(memory.buffer);
  const forged = restSize + 2 * 65536;
  u32[rest >>> 2] = forged - 4;
  u32[(rest + 12) >>> 2] = forged - 16;
  const heapBase = m.global('__heap_base');
  const before = new Uint8Array(memory.buffer, heapBase).slice();
  assert.throws(() => free(last), (e) => /block/i.test(e.text), '__free of the forged block');
  assert.ok(Buffer.compare(Buffer.from(before), Buffer.from(new Uint8Array(memory.buffer, heapBase))) === 0, 'nothing was written');
  // Restored, the block frees as usual.
  u32[rest >>> 2] = restSize - 4;
  u32[(rest + 12) >>> 2] = restSize - 16;
  free(last);
  free(first);
  assert.equal(check(), 0);
});

test('import-memory: pages another user grew between heap regions are never accepted as blocks (docs/ABI.md §6)', () => {
  const { memory, m, alloc, free, check } = importMemoryHeap();
  const first = alloc(64) >>> 0; // the runtime is up; its first region ends at the memory's end
  // Someone else (another allocator of the host program) takes two pages...
  const foreign = memory.grow(2) * 65536;
  // ...and the runtime's next growth opens a second region after them.
  const big = alloc(memory.buffer.byteLength) >>> 0;
  assert.ok(big > foreign + 2 * 65536, 'the new region lies beyond the foreign pages');
  // Headers that look exactly like used __alloc blocks, written into the foreign pages.
  const u32 = new Uint32Array(memory.buffer);
  for (let at = foreign; at < foreign + 2 * 65536; at += 4096) {
    u32[at >>> 2] = 32 - 4; // mmInfo: a used 32-byte block
    u32[(at >>> 2) + 1] = 0; // gcInfo: unmanaged
    u32[(at >>> 2) + 2] = 0xffffffff; // rtId: none
    u32[(at >>> 2) + 3] = 16; // rtSize
    u32[(at + 32) >>> 2] = 16 - 4; // a right neighbour without LEFTFREE
  }
  // The heap and the foreign pages (the native stack below static data changes with any call).
  const heapBase = m.global('__heap_base');
  const before = new Uint8Array(memory.buffer, heapBase).slice();
  let refused = 0;
  for (let at = foreign; at < foreign + 2 * 65536; at += 4096) {
    assert.throws(() => free(at + 16), (e) => /block|heap/i.test(e.text), `__free(${at + 16}) in foreign pages`);
    refused++;
  }
  assert.equal(refused, 32);
  assert.ok(Buffer.compare(Buffer.from(before), Buffer.from(new Uint8Array(memory.buffer, heapBase))) === 0, 'nothing was written');
  assert.equal(check(), 0);
  free(big);
  free(first);
  assert.equal(check(), 0);
});
