// The smallest AssemblyScript program: compiled with --runtime incremental --exportRuntime -Oz by
// bench/run-all.sh, its size is AssemblyScript's whole incremental runtime (for the size plot).
export function nop(): void {}
