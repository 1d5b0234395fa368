// The shared loader checks (shared/checks.mjs) against real wasm modules:
//   classic: the asrt default build (ASRT_WASM, default target/wasm32-unknown-unknown/release/asrt.wasm)
//   modern:  the asrt modern-profile build (ASRT_WASM_MODERN, default target/modern/...)
//   as:      js/test/fixture/as-fixture.ts compiled with AssemblyScript 0.28 (modern profile)
// A module that is not built makes its checks skip with the reason; nothing else skips.
import { test, describe } from "node:test";
import * as loader from "../loader.mjs";
import { checks } from "./shared/checks.mjs";
import { readAsrt, buildAsFixture, modulePaths, getGc } from "./support.mjs";

const gc = await getGc();
const asFixture = buildAsFixture();
const modules = {
  classic: readAsrt("classic") || { missing: `asrt.wasm not built (${modulePaths().classic})` },
  modern: readAsrt("modern") || { missing: `asrt.wasm (modern profile) not built (${modulePaths().modern})` },
  as: asFixture.error ? { missing: asFixture.error } : asFixture,
};

for (const [kind, mod] of Object.entries(modules)) {
  describe(`loader on ${kind}${mod.path ? ` (${mod.path})` : ""}`, () => {
    for (const c of checks) {
      if (c.kinds && !c.kinds.includes(kind)) continue;
      test(c.name, async t => {
        if (mod.missing) return t.skip(mod.missing);
        if (c.needs === "gc" && !gc) return t.skip("no forced GC available");
        await c.run({
          kind, loader, bytes: mod.bytes, gc,
          instantiate: async (imports = {}) => (await loader.instantiate(mod.bytes, imports)).exports,
        });
      });
    }
  });
}
