// @asrt/loader is a superset of @assemblyscript/loader: same exports (names and kinds), same
// results for code written against the published loader. Checked against 0.28.20 on the
// AssemblyScript fixture (modern profile) and 0.22.0 on the classic asrt build.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as ours from "../loader.mjs";
import { buildAsFixture, readAsrt, modulePaths } from "./support.mjs";

async function importOr(name) {
  try { return await import(name); } catch { return null; }
}
const loaders = {
  "0.28": await importOr("@assemblyscript/loader"),
  "0.22": await importOr("asloader-0.22"),
};

function kindOf(v) {
  return v === null ? "null" : typeof v;
}

/** Code written for @assemblyscript/loader, run through either loader. */
function scenario(e, ids) {
  const out = {};
  const s = e.__pin(e.__newString("héllo \u{1F600} " + "x".repeat(300)));
  out.string = e.__getString(s);
  const ab = e.__newArrayBuffer(new Uint8Array([1, 2, 3]).buffer);
  out.buffer = Array.from(new Uint8Array(e.__getArrayBuffer(ab)));
  const arr = e.__pin(e.__newArray(ids.ArrayI32, [3, 1, 4, 1, 5]));
  out.array = e.__getArray(arr);
  out.view = Array.from(e.__getArrayView(arr));
  out.i32view = e.__getInt32ArrayView(arr) instanceof Int32Array;
  out.capacity = e.__getArray(e.__newArray(ids.ArrayI32, 2));
  const strs = e.__pin(e.__newArray(ids.ArrayString, [s, 0]));
  out.strings = e.__getArray(strs).map(r => (r ? e.__getString(r) : null));
  e.__collect();
  out.afterCollect = e.__getString(s);
  e.__unpin(strs); e.__unpin(arr); e.__unpin(s);
  return out;
}

const cases = [
  { version: "0.28", name: "AssemblyScript fixture", load: () => { const r = buildAsFixture(); return r.error ? { missing: r.error } : r; } },
  { version: "0.22", name: "asrt classic build", load: () => readAsrt("classic") || { missing: `asrt.wasm not built (${modulePaths().classic})` } },
];

for (const c of cases) {
  test(`exports are a superset of @assemblyscript/loader@${c.version}'s on the ${c.name}`, async t => {
    const published = loaders[c.version];
    if (!published) return t.skip(`@assemblyscript/loader@${c.version} not installed (npm ci at the repo root)`);
    const mod = c.load();
    if (mod.missing) return t.skip(mod.missing);
    const theirs = (await published.instantiate(mod.bytes, {})).exports;
    const mine = (await ours.instantiate(mod.bytes, {})).exports;
    for (const key of Object.keys(theirs)) {
      assert.ok(key in mine, `missing ${key}`);
      const a = kindOf(theirs[key]), b = kindOf(mine[key]);
      assert.equal(b, a, `${key} is a ${a}`);
    }
    for (const f of ["instantiate", "instantiateSync", "instantiateStreaming", "demangle"]) {
      assert.equal(typeof ours[f], typeof published[f], f);
      assert.equal(typeof ours.default[f], "function", `default.${f}`);
    }
  });

  test(`code written for @assemblyscript/loader@${c.version} gives the same results on the ${c.name}`, async t => {
    const published = loaders[c.version];
    if (!published) return t.skip(`@assemblyscript/loader@${c.version} not installed`);
    const mod = c.load();
    if (mod.missing) return t.skip(mod.missing);
    const mine = (await ours.instantiate(mod.bytes, {})).exports;
    const ids = { ArrayI32: mine.__idof("ArrayI32"), ArrayString: mine.__idof("ArrayString") };
    const theirs = (await published.instantiate(mod.bytes, {})).exports;
    const expected = scenario(theirs, ids);
    assert.deepEqual(scenario(mine, ids), expected);
    assert.equal(expected.string, "héllo \u{1F600} " + "x".repeat(300), "sanity: the published loader worked");
  });
}
