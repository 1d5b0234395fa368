// asrt's AssemblyScript-side runtime (docs/ABI.md §8). js/asc.mjs passes this file to asc as
// `--runtime`; every memory-management entry the compiled program calls is forwarded to the asrt
// module built with the cargo feature `assemblyscript`, which owns the heap and the collector.

// @ts-ignore: decorator
@external("asrt", "__new") @global @unsafe
export declare function __new(size: usize, id: u32): usize;

// @ts-ignore: decorator
@external("asrt", "__renew") @global @unsafe
export declare function __renew(ptr: usize, size: usize): usize;

// @ts-ignore: decorator
@external("asrt", "__link") @global @unsafe
export declare function __link(parent: usize, child: usize, expectMultiple: bool): void;

// @ts-ignore: decorator
@external("asrt", "__visit") @global @unsafe
export declare function __visit(ptr: usize, cookie: u32): void;

// @ts-ignore: decorator
@external("asrt", "__pin") @global @unsafe
export declare function __pin(ptr: usize): usize;

// @ts-ignore: decorator
@external("asrt", "__unpin") @global @unsafe
export declare function __unpin(ptr: usize): void;

// @ts-ignore: decorator
@external("asrt", "__collect") @global @unsafe
export declare function __collect(): void;

// What the asrt module reads from the program once, before the program's first allocation: where
// its RTTI and static data are, and how to reach its generated visitors.

/** The program's RTTI table (`__rtti_base`, docs/ABI.md §8). */
export function __asrt_rtti_base(): usize {
  return __rtti_base;
}

/** The end of the program's static data and shadow stack (its `__heap_base`). */
export function __asrt_heap_base(): usize {
  return __heap_base;
}

/** Calls the compiler-generated `__visit_members` for the object `ptr`. */
export function __asrt_visit_members(ptr: usize, cookie: u32): void {
  __visit_members(ptr, cookie);
}

/** Calls the compiler-generated `__visit_globals`. */
export function __asrt_visit_globals(cookie: u32): void {
  __visit_globals(cookie);
}

/** The program's shadow-stack pointer: its live slots are `[__stack_pointer, __heap_base)`. */
export function __asrt_stack_pointer(): usize {
  return __stack_pointer;
}
