// The AssemblyScript side of the string benchmark (bench/strings/run.mjs): AssemblyScript's own
// UTF-8 transcoding (std/assembly/string.ts, String.UTF8), exported with the same shapes as
// asrt's string exports so the harness drives both alike.
//
//   npx asc bench/strings/as-strings.ts -O3 --runtime incremental --exportRuntime --noAssert \
//     -o bench/out/strings-wasm/as-strings.wasm

/** An unmanaged scratch block of `size` bytes (for input bytes). */
export function alloc(size: usize): usize {
  return heap.alloc(size);
}

/** Frees a block from `alloc`. */
export function free(ptr: usize): void {
  heap.free(ptr);
}

/** Like `__string_from_utf8(ptr, bytes, 1)`. */
export function fromUtf8(ptr: usize, bytes: usize): string {
  return String.UTF8.decodeUnsafe(ptr, bytes, false);
}

/** Like `__string_to_utf8(ref, 0)`: lone surrogates replaced, as TextEncoder does. */
export function toUtf8(str: string): ArrayBuffer {
  return String.UTF8.encode(str, false, String.UTF8.ErrorMode.REPLACE);
}

/** Like `__string_utf8_length(ref)`. */
export function utf8Length(str: string): i32 {
  return String.UTF8.byteLength(str, false);
}
