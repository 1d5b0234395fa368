// Minimal host glue shared by the benchmark drivers: instantiates a wasm
// module built by asc or by asrt, supplying whatever it imports.
//
// - env.abort(msg, file, line, col): decodes the two String refs (UTF-16LE,
//   length = rtSize >> 1, rtSize at ref - 4) and throws a JS Error.
// - an imported memory (asrt's `import-memory` feature, asc's --importMemory)
//   is created with the minimum the module declares (read from the binary).
// - any other imported function (e.g. rtrace hooks) becomes a no-op.

import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";

function readLEB(bytes, pos) {
  let result = 0, shift = 0, b;
  do {
    b = bytes[pos++];
    result += (b & 0x7f) * 2 ** shift;
    shift += 7;
  } while (b & 0x80);
  return [result, pos];
}

// Returns { module, field, min, max, shared } for an imported memory, or null.
export function findMemoryImport(bytes) {
  if (bytes.length < 8) return null;
  let pos = 8;
  while (pos < bytes.length) {
    const id = bytes[pos++];
    let size;
    [size, pos] = readLEB(bytes, pos);
    const end = pos + size;
    if (id === 2) {
      let count;
      [count, pos] = readLEB(bytes, pos);
      const dec = new TextDecoder();
      for (let i = 0; i < count; i++) {
        let len;
        [len, pos] = readLEB(bytes, pos);
        const mod = dec.decode(bytes.subarray(pos, pos + len)); pos += len;
        [len, pos] = readLEB(bytes, pos);
        const field = dec.decode(bytes.subarray(pos, pos + len)); pos += len;
        const kind = bytes[pos++];
        if (kind === 0) { [, pos] = readLEB(bytes, pos); }            // func: type index
        else if (kind === 1) {                                         // table
          pos++; const flags = bytes[pos++];
          [, pos] = readLEB(bytes, pos);
          if (flags & 1) [, pos] = readLEB(bytes, pos);
        } else if (kind === 2) {                                       // memory
          const flags = bytes[pos++];
          let min, max;
          [min, pos] = readLEB(bytes, pos);
          if (flags & 1) [max, pos] = readLEB(bytes, pos);
          return { module: mod, field, min, max, shared: !!(flags & 2) };
        } else if (kind === 3) { pos += 2; }                           // global: type, mut
        else return null;
      }
      return null;
    }
    pos = end;
  }
  return null;
}

export function readString(memory, ref) {
  if (!ref || !memory) return String(ref);
  try {
    const u32 = new Uint32Array(memory.buffer);
    const bytes = u32[(ref - 4) >>> 2];
    const units = new Uint16Array(memory.buffer, ref, bytes >>> 1);
    let s = "";
    for (let i = 0; i < units.length; i += 4096) {
      s += String.fromCharCode.apply(null, units.subarray(i, i + 4096));
    }
    return s;
  } catch {
    return `<ref ${ref}>`;
  }
}

export class WasmAbort extends Error {}

// Instantiates `bytesOrPath`; returns { instance, exports, memory, module }.
export async function instantiate(bytesOrPath, { onUnknownImport } = {}) {
  const bytes = typeof bytesOrPath === "string" ? readFileSync(bytesOrPath) : bytesOrPath;
  const module = await WebAssembly.compile(bytes);
  let memory = null;
  const imports = {};
  const memImport = findMemoryImport(bytes);
  for (const imp of WebAssembly.Module.imports(module)) {
    const ns = (imports[imp.module] ??= {});
    if (imp.kind === "memory") {
      const desc = { initial: memImport ? memImport.min : 1 };
      if (memImport && memImport.max !== undefined) desc.maximum = memImport.max;
      if (memImport && memImport.shared) desc.shared = true;
      memory = new WebAssembly.Memory(desc);
      ns[imp.name] = memory;
    } else if (imp.kind === "function") {
      if (imp.module === "env" && imp.name === "abort") {
        ns.abort = (msg, file, line, col) => {
          throw new WasmAbort(
            `abort: ${readString(memory, msg)} at ${readString(memory, file)}:${line}:${col}`);
        };
      } else if (imp.module === "env" && imp.name === "seed") {
        ns.seed = () => 0x12345678;
      } else {
        if (onUnknownImport) onUnknownImport(imp);
        ns[imp.name] = () => 0;
      }
    } else {
      throw new Error(`cannot satisfy import ${imp.module}.${imp.name} (${imp.kind})`);
    }
  }
  const instance = await WebAssembly.instantiate(module, imports);
  if (instance.exports.memory instanceof WebAssembly.Memory) memory = instance.exports.memory;
  if (typeof instance.exports._start === "function") instance.exports._start();
  return { instance, exports: instance.exports, memory, module };
}

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function fmtMiB(bytes) {
  return (bytes / (1024 * 1024)).toFixed(1);
}

/** Prints a Markdown report and, when `outFile` is given, writes it there too. */
export function writeReport(md, outFile) {
  console.log(md);
  if (outFile) {
    mkdirSync(dirname(resolve(outFile)), { recursive: true });
    writeFileSync(outFile, md);
  }
}
