// The loader's copies of the runtime's constants must equal their one definition in the Rust
// sources: the RTTI flag bits (src/rtti_flags.rs) and the header offsets (src/object.rs, which
// takes HEADER_SIZE from src/block.rs). A change on either side without the other fails here.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { TypeFlags, HEADER } from "../loader.mjs";

const root = new URL("../../", import.meta.url);

/** `pub const NAME: u32 = EXPR;` lines of a Rust file whose EXPR is a number or `1 << n`. */
function rustConsts(path) {
  const text = readFileSync(new URL(path, root), "utf8");
  const out = {};
  for (const m of text.matchAll(/^pub const (\w+): u32 = ([^;]+);/gm)) {
    const expr = m[2].trim();
    const shift = /^1 << (\d+)$/.exec(expr);
    if (shift) out[m[1]] = 1 << Number(shift[1]);
    else if (/^\d+$/.test(expr)) out[m[1]] = Number(expr);
  }
  return out;
}

test("the loader's TypeFlags are src/rtti_flags.rs, bit for bit", () => {
  const rust = rustConsts("src/rtti_flags.rs");
  assert.ok(Object.keys(rust).length >= 24, "the Rust file was read");
  assert.deepEqual({ ...TypeFlags }, rust);
});

test("the loader's HEADER offsets are src/object.rs's", () => {
  const rust = { ...rustConsts("src/object.rs"), ...rustConsts("src/block.rs") };
  assert.equal(HEADER.SIZE, rust.HEADER_SIZE);
  for (const [js, rs] of [["MMINFO", "MM_INFO"], ["GCINFO", "GC_INFO"], ["RTID", "RT_ID"], ["RTSIZE", "RT_SIZE"]]) {
    assert.equal(HEADER[js], rust[rs] - rust.HEADER_SIZE, `${js} = ${rs} - HEADER_SIZE`);
  }
});
