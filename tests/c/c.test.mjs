// The C SDK's checks (tests/c/checks.mjs) in node, against the modules tests/c/build.sh built
// into $ASRT_C_DIR (default target/c-examples). Run by `scripts/test.sh c`.
import { test } from "node:test";
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import * as loader from "../../js/loader.mjs";
import { CHECKS } from "./checks.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const dir = resolve(process.env.ASRT_C_DIR || join(root, "target", "c-examples"));
const bytes = async name => readFileSync(join(dir, `${name}.wasm`));

for (const [name, run] of CHECKS) test(name, () => run({ bytes, loader }));
