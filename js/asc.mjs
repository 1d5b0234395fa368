#!/usr/bin/env node
// Compiles an AssemblyScript program for asrt (docs/ABI.md §8):
//
//   node js/asc.mjs <asc arguments>
//
// Every argument goes to the project's `assemblyscript` compiler (npm, 0.28.x) unchanged; this
// script adds the flags that make the program's memory management asrt's: js/as/asrt-runtime.ts as
// `--runtime`, `--importMemory`, `--memoryBase` (ASRT_MEMORY_BASE below) and `--exportStart`. A
// user who passes one of those flags gets a message and exit code 2, nothing compiled.
import { fileURLToPath } from "node:url";
import path from "node:path";
// Where the program's static data and shadow stack start (docs/ABI.md §8): the loader's value.
import { ASRT_MEMORY_BASE } from "./loader.mjs";

export { ASRT_MEMORY_BASE };
/** The name of the program's start export (its top-level code), which the loader calls once. */
export const ASRT_START_EXPORT = "_start";
/** The flags js/asc.mjs owns. */
export const OWNED_FLAGS = ["--runtime", "--importMemory", "--memoryBase", "--exportStart"];

const here = path.dirname(fileURLToPath(import.meta.url));
/** asrt's AssemblyScript-side runtime, without `.ts` (asc's `--runtime` takes a path so). */
export const RUNTIME_FILE = path.join(here, "as", "asrt-runtime");

/** The owned flag `arg` names (`--flag` or `--flag=value`), or null. */
export function ownedFlag(arg) {
  const name = arg.split("=", 1)[0];
  return OWNED_FLAGS.find((f) => f.toLowerCase() === name.toLowerCase()) ?? null;
}

/** The full asc argument list for the user's `args`; throws on a flag asrt owns. */
export function ascArguments(args) {
  for (const arg of args) {
    const flag = ownedFlag(arg);
    if (flag !== null) {
      throw new Error(
        `js/asc.mjs sets ${flag} itself (asrt's runtime, imported memory at base ` +
          `${ASRT_MEMORY_BASE}, start export "${ASRT_START_EXPORT}"); remove ${arg} from the ` +
          `arguments (docs/ABI.md §8)`,
      );
    }
  }
  return [
    ...args,
    "--runtime",
    RUNTIME_FILE,
    "--importMemory",
    "--memoryBase",
    String(ASRT_MEMORY_BASE),
    "--exportStart",
    ASRT_START_EXPORT,
  ];
}

/** Runs asc with `args` plus asrt's flags; resolves to asc's exit code (2 for an owned flag). */
export async function main(args, options = {}) {
  let full;
  try {
    full = ascArguments(args);
  } catch (e) {
    (options.stderr ?? process.stderr).write(`${e.message}\n`);
    return 2;
  }
  const asc = (await import("assemblyscript/asc")).default;
  // asc's API prints nothing unless given streams: its diagnostics go where ours do.
  const { error } = await asc.main(full, { stdout: process.stdout, stderr: process.stderr, ...options });
  if (error) {
    (options.stderr ?? process.stderr).write(`${error.message ?? error}\n`);
    return 1;
  }
  return 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await main(process.argv.slice(2));
}
