// binary-trees child (bench/as/binarytrees.mjs --child) with process CPU time of run(n) too.
const [hostMjs, path, n] = [process.argv[2], process.argv[3], Number(process.argv[4])];
const { instantiate } = await import(hostMjs);
const { exports, memory } = await instantiate(path);
const c0 = process.cpuUsage(); const t0 = performance.now();
const checksum = exports.run(n);
const ms = performance.now() - t0; const c = process.cpuUsage(c0);
console.log(JSON.stringify({ checksum, ms, cpuMs: (c.user + c.system) / 1000, mem: memory.buffer.byteLength }));
