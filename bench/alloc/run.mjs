// Allocator benchmark harness (node). Usually started by bench/run-alloc.sh, which builds the
// modules first.
//
//   node bench/alloc/run.mjs [--wasm DIR] [--out FILE] [--runs N] [--actions N] [--only a,b]
//
// DIR (default bench/out/alloc-wasm) holds, per allocator NAME:
//   NAME.wasm         the bench module (allocator + shared driver), timed here
//   NAME.min.wasm     the allocator with only the bench_* exports (no driver), for the size columns
//   NAME.min.oz.wasm  the same after `wasm-opt -Oz`
//   NAME.min.dce.oz.wasm  the same with every export but bench_* and memory dropped
//                     (wasm-metadce), then `wasm-opt -Oz`: the allocator alone
//   NAME.oz.wasm      the bench module after `wasm-opt -Oz` (size only)
// A missing NAME.wasm gives a "not built" row.
//
// Each allocator runs in its own node process (fresh isolate, nothing shared): one untimed
// verification run that writes and checks every byte of every block, one warm-up run, then the
// measured runs, each one call of the module's `run(seed, actions, 0)` timed with
// process.hrtime.bigint(). Run k (k = 1..runs) uses seed k for every allocator; the warm-up uses
// seed 0. Any run that reports an error (pattern mismatch, null or misaligned block) fails.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '..', '..');

const ALLOCATORS = [
  { name: 'asrt', setup: 'asrt `__alloc`/`__realloc`/`__free` (unmanaged blocks, 16-byte header)' },
  { name: 'dlmalloc', setup: 'dlmalloc 0.2.14 `GlobalDlmalloc` (Rust std\'s wasm allocator)' },
  { name: 'talc', setup: 'talc 5.1.1 `wasm::new_wasm_dynamic_allocator()` (WasmGrowAndExtend)' },
  { name: 'rlsf', setup: 'rlsf 0.2.3 `GlobalTlsf` (default options)' },
  { name: 'lol_alloc', setup: 'lol_alloc 0.4.1 `AssumeSingleThreaded<FreeListAllocator>` (realloc = alloc+copy+free)' },
  {
    name: 'wee_alloc',
    setup: 'wee_alloc 0.4.5 `WeeAlloc` (default `size_classes`)',
    note: 'unmaintained, leaks memory (RUSTSEC-2022-0054); do not use',
  },
];

// Must match the STAT_* constants of driver.rs.
// A slow allocator stops after MIN_RUNS measured runs once it has used --budget seconds.
const MIN_RUNS = 5;

const STAT = { allocs: 0, frees: 1, reallocs: 2, nulls: 3, misaligned: 4, mismatches: 5, peakLive: 6, peakBytes: 7, pages: 8 };

function parseArgs(argv) {
  const opts = {
    wasm: join(ROOT, 'bench', 'out', 'alloc-wasm'),
    out: null,
    runs: 100,
    actions: 100_000,
    budget: 60,
    only: null,
    worker: null,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--wasm') opts.wasm = resolve(val());
    else if (a === '--out') opts.out = resolve(val());
    else if (a === '--runs') opts.runs = Number(val());
    else if (a === '--actions') opts.actions = Number(val());
    else if (a === '--budget') opts.budget = Number(val());
    else if (a === '--only') opts.only = val().split(',');
    else if (a === '--worker') opts.worker = val();
    else throw new Error(`unknown argument ${a}`);
  }
  if (!(opts.runs >= 1) || !(opts.actions >= 1)) throw new Error('--runs and --actions must be >= 1');
  return opts;
}

async function instantiate(file) {
  const module = await WebAssembly.compile(readFileSync(file));
  const imports = {};
  for (const imp of WebAssembly.Module.imports(module)) {
    imports[imp.module] ??= {};
    let value;
    if (imp.module === 'env' && imp.name === 'abort') {
      value = (msg, fileName, line, col) => {
        throw new Error(`env.abort(${msg}, ${fileName}, ${line}, ${col}) called`);
      };
    } else if (imp.kind === 'function') {
      value = () => {
        throw new Error(`unexpected call of import ${imp.module}.${imp.name}`);
      };
    } else if (imp.kind === 'memory') {
      value = new WebAssembly.Memory({ initial: 17 });
    } else {
      throw new Error(`cannot provide import ${imp.module}.${imp.name} (${imp.kind})`);
    }
    imports[imp.module][imp.name] = value;
  }
  const { exports } = await WebAssembly.instantiate(module, imports);
  for (const name of ['run', 'stat', 'bench_alloc', 'bench_free', 'bench_realloc']) {
    if (typeof exports[name] !== 'function') throw new Error(`${file}: missing export ${name}`);
  }
  return exports;
}

function stats(exports) {
  const out = {};
  for (const [k, i] of Object.entries(STAT)) out[k] = exports.stat(i) >>> 0;
  return out;
}

async function worker(name, opts) {
  const exports = await instantiate(join(opts.wasm, `${name}.wasm`));
  const check = (label, seed, full) => {
    const errors = exports.run(seed, opts.actions, full) >>> 0;
    const s = stats(exports);
    if (errors !== 0) {
      throw new Error(`${name}: ${label} run (seed ${seed}) reported ${errors} errors: ${JSON.stringify(s)}`);
    }
    return s;
  };
  const verify = check('verification', 0xc0ffee, 1);
  check('warm-up', 0, 0);
  const rates = [];
  let first = null;
  let stopped = null; // why fewer than opts.runs measured runs were done
  let spent = 0n;
  for (let k = 1; k <= opts.runs; k++) {
    if (k > MIN_RUNS && spent > BigInt(Math.round(opts.budget * 1e9))) {
      stopped = `time budget of ${opts.budget} s spent`;
      break;
    }
    const t0 = process.hrtime.bigint();
    const errors = exports.run(k, opts.actions, 0) >>> 0;
    const t1 = process.hrtime.bigint();
    spent += t1 - t0;
    if (errors !== 0) {
      const s = stats(exports);
      if (s.nulls > 0 && s.mismatches === 0 && s.misaligned === 0 && k > 1) {
        // Allocation failed (the 4 GiB of wasm32 memory are used up) without any corruption.
        stopped = `out of memory in run ${k}`;
        break;
      }
      throw new Error(`${name}: measured run ${k} reported ${errors} errors: ${JSON.stringify(s)}`);
    }
    if (k === 1) first = stats(exports);
    rates.push((opts.actions * 1000) / Number(t1 - t0)); // actions per microsecond
  }
  const end = stats(exports);
  return { rates, verify, first, stopped, pagesAtEnd: end.pages };
}

function summarize(rates) {
  const sorted = [...rates].sort((a, b) => a - b);
  const n = sorted.length;
  const median = n % 2 ? sorted[(n - 1) / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
  const mean = sorted.reduce((a, b) => a + b, 0) / n;
  return { median, mean, min: sorted[0], max: sorted[n - 1] };
}

// Runtime entry points that a bench module expected to find at link time but imports instead
// (wasm-ld turns undefined symbols into imports from `env`).
function unresolved(file) {
  const wanted = ['__alloc', '__realloc', '__free'];
  return WebAssembly.Module.imports(new WebAssembly.Module(readFileSync(file)))
    .filter((i) => i.kind === 'function' && wanted.includes(i.name))
    .map((i) => `${i.module}.${i.name}`);
}

function size(file) {
  return existsSync(file) ? statSync(file).size : null;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.worker) {
    const result = await worker(opts.worker, opts);
    process.stdout.write(JSON.stringify(result) + '\n');
    return;
  }

  const loadBefore = loadavg()[0];
  const fmt = (x) => (x === null || x === undefined ? 'n/a' : x.toFixed(2));
  const bytes = (x) => (x === null ? 'n/a' : String(x));
  const rows = [];
  const details = [];
  const failures = [];
  let reference = null; // action counts of run 1, identical for every allocator

  for (const a of ALLOCATORS) {
    if (opts.only && !opts.only.includes(a.name)) continue;
    const file = join(opts.wasm, `${a.name}.wasm`);
    const sizes = {
      min: size(join(opts.wasm, `${a.name}.min.wasm`)),
      minOz: size(join(opts.wasm, `${a.name}.min.oz.wasm`)),
      minDceOz: size(join(opts.wasm, `${a.name}.min.dce.oz.wasm`)),
      full: size(file),
      fullOz: size(join(opts.wasm, `${a.name}.oz.wasm`)),
    };
    let label = a.note ? `${a.name} ⚠` : a.name;
    const missing = existsSync(file) ? unresolved(file) : [];
    if (!existsSync(file) || missing.length) {
      console.error(`${a.name}: not built${missing.length ? ` (the module imports ${missing.join(', ')}: the runtime does not define them yet)` : ''}`);
      rows.push(`| ${label} | not built | | | | n/a | n/a |`);
      details.push(`| ${a.name} | ${a.setup} | n/a | n/a | n/a | n/a | ${a.note ?? ''} |`);
      continue;
    }
    console.error(`${a.name}: running ${opts.runs} x ${opts.actions} actions ...`);
    let result;
    try {
      const args = [fileURLToPath(import.meta.url), '--worker', a.name, '--wasm', opts.wasm,
        '--runs', String(opts.runs), '--actions', String(opts.actions), '--budget', String(opts.budget)];
      result = JSON.parse(execFileSync(process.execPath, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }));
    } catch (e) {
      failures.push(`${a.name}: ${e.message.split('\n')[0]}`);
      rows.push(`| ${label} | FAILED | | | | ${bytes(sizes.min)} | ${bytes(sizes.minDceOz)} |`);
      details.push(`| ${a.name} | ${a.setup} | ${bytes(sizes.minOz)} | ${bytes(sizes.full)} | ${bytes(sizes.fullOz)} | n/a | ${a.note ?? ''} |`);
      continue;
    }
    const counts = `${result.first.allocs}/${result.first.frees}/${result.first.reallocs}/${result.first.peakLive}`;
    if (reference === null) reference = counts;
    else if (reference !== counts) failures.push(`${a.name}: action counts ${counts} differ from ${reference}`);
    const s = summarize(result.rates);
    if (result.stopped) {
      label += ` (${result.rates.length} runs: ${result.stopped})`;
      console.error(`${a.name}: stopped after ${result.rates.length} measured runs: ${result.stopped}`);
    }
    rows.push(`| ${label} | ${fmt(s.median)} | ${fmt(s.mean)} | ${fmt(s.min)} | ${fmt(s.max)} | ${bytes(sizes.min)} | ${bytes(sizes.minDceOz)} |`);
    details.push(`| ${a.name} | ${a.setup} | ${bytes(sizes.minOz)} | ${bytes(sizes.full)} | ${bytes(sizes.fullOz)} | ${result.pagesAtEnd * 64} | ${a.note ?? ''} |`);
    console.error(`${a.name}: median ${fmt(s.median)} actions/µs`);
  }

  const md = [
    '# asrt allocator benchmark',
    '',
    `Workload: ${opts.actions.toLocaleString('en-US')} random actions (alloc / free / realloc, 1/3 each), sizes 1..10,000 bytes,`,
    'never fewer than 50 live blocks, all requests 16-byte aligned (asrt\'s block alignment, used for every allocator);',
    `one verification run (every byte written and checked), one warm-up run, then ${opts.runs} measured runs (seeds 1..${opts.runs},`,
    'the same for every allocator). The action loop runs inside each wasm module (the same Rust driver, bench/alloc/driver.rs);',
    'each run is one call timed from JS with process.hrtime.bigint(). Timed runs check an 8-byte head, the middle and the last byte of every block.',
    `Node ${process.version}, one node process per allocator, one after the other; asrt at ${process.env.ASRT_REV ?? 'an unrecorded revision'}.`,
    `Load average (1 min) before / after: ${loadBefore.toFixed(2)} / ${loadavg()[0].toFixed(2)} on ${availableParallelism()} CPUs: other work on the machine lowers every figure.`,
    '',
    '| allocator | actions/µs median | mean | min | max | module bytes | after wasm-opt -Oz |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows,
    '',
    'Module bytes: a module with only the allocator and the three `bench_*` exports (no driver), built like the',
    'bench modules (opt-level 3, LTO, panic=abort, codegen-units 1, stripped); asrt\'s also holds the rest of its',
    'runtime (GC, strings, RTTI), since every asrt export is kept. After wasm-opt -Oz: that module with every export',
    'but `bench_*` and `memory` dropped (wasm-metadce), then `wasm-opt -Oz`: the allocator alone, for every row.',
    'The second table has the -Oz size with all exports kept, and the sizes of the bench modules (identical driver).',
    '⚠ = see notes.',
    '',
    '| allocator | setup | minimal module -Oz, all exports | bench module bytes | bench module -Oz | memory after all runs (KiB) | notes |',
    '| --- | --- | ---: | ---: | ---: | ---: | --- |',
    ...details,
    '',
    `A row with fewer measured runs says so: an allocator stops after ${MIN_RUNS} runs once its runs have taken ${opts.budget} s`,
    '(--budget), or when it runs out of memory (the 4 GiB of wasm32) without having corrupted anything.',
    '',
    `Action counts of run 1 (allocs/frees/reallocs/peak live): ${reference ?? 'n/a'}, identical for every allocator.`,
  ];
  if (failures.length) md.push('', '**Failures:**', '', ...failures.map((f) => `- ${f}`));
  const text = md.join('\n') + '\n';
  process.stdout.write(text);
  if (opts.out) {
    mkdirSync(dirname(opts.out), { recursive: true });
    writeFileSync(opts.out, text);
  }
  if (failures.length) process.exitCode = 1;
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
