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
@external("asrt", "__link") @unsafe
declare function asrt_link(parent: usize, child: usize, expectMultiple: bool): void;

/** The address of asrt's marking word (docs/ABI.md §9.4): not 0 only while a cycle is marking. */
// @ts-ignore: decorator
@external("asrt", "__gc_marking")
declare const ASRT_MARKING: usize;

/**
 * The store barrier the compiler emits after every reference store into an object. Outside
 * marking the barrier has nothing to do (no object is black), so the program tests asrt's
 * marking word inline and calls asrt's checked `__link` only while marking (docs/ABI.md §8.2).
 */
// @ts-ignore: decorator
@global @unsafe
export function __link(parent: usize, child: usize, expectMultiple: bool): void {
  if (child != 0 && load<u32>(ASRT_MARKING) != 0) asrt_link(parent, child, expectMultiple);
}

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

/** Whether the program defines AssemblyScript's `__finalize(ref)` hook (docs/ABI.md §8.4). */
export function __asrt_has_finalize(): bool {
  return isDefined(__finalize);
}

/** Calls the program's `__finalize(ref)` for a dead object, when it defines one. */
export function __asrt_finalize(ptr: usize): void {
  if (isDefined(__finalize)) __finalize(ptr);
}

/**
 * Puts the shadow-stack pointer back where it was before a `__finalize` call that did not
 * return (it trapped, or called asrt and was refused): the loader calls it after catching that.
 */
export function __asrt_reset_stack(sp: usize): void {
  __stack_pointer = sp;
}
