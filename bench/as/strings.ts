// String building for AssemblyScript (bench/report/asc.mjs): each `step(i)` builds a small
// document with template literals and concatenation, splits it into lines and fields, takes
// substrings, joins the pieces again and keeps the result in a ring of recent documents (the live
// set). It returns a figure of what it built, which the host sums and compares across runtimes.

const WORDS: string[] = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"];
let ring: string[] = [];
let ringAt: i32 = 0;

/** Starts over with a ring of `keep` documents. */
export function setup(keep: i32): void {
  ring = new Array<string>(keep);
  for (let i = 0; i < keep; i++) ring[i] = "";
  ringAt = 0;
}

export function step(i: i32): i32 {
  let doc = "";
  for (let k = 0; k < 16; k++) {
    const w = WORDS[(i + k) & 7];
    doc += `${w}-${i}:${k} ${w.substring(1, 3)} ${(i * 31 + k).toString()}` + "\n";
  }
  const lines = doc.split("\n");
  const parts = new Array<string>();
  let fields = 0;
  for (let j = 0; j < lines.length; j++) {
    const f = lines[j].split(" ");
    fields += f.length;
    if (f.length > 2) parts.push(f[1].toUpperCase() + f[0].slice(-2) + f[2].substr(0, 2));
  }
  const joined = parts.join(",");
  const old = ring[ringAt];
  ring[ringAt] = joined.replaceAll(",", "; ");
  ringAt = (ringAt + 1) % ring.length;
  return fields + joined.length + old.length;
}

/** Does nothing: the host's floor for one call. */
export function nop(): void {}
