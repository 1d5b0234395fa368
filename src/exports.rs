//! The wasm ABI (ABI.md §5): the only file with `#[no_mangle]`. Every export checks its
//! arguments through the runtime's validating methods; an error goes to `env.abort` with a static
//! String message, this file's name and the line of the failing export, and traps if `abort`
//! returns. Nothing has changed when `abort` is called, so the instance keeps working.

use crate::error::Error;
use crate::memory::{Memory, WasmMemory};
use crate::rtti;
use crate::runtime::{Roots, Runtime};
use crate::statics;
use core::cell::UnsafeCell;
use core::mem::MaybeUninit;
use core::panic::Location;

// With the `std` feature (a Rust program with its own panic handler, or wasm-bindgen tests) an
// error panics with its message instead of importing `env.abort`.
#[cfg(not(feature = "std"))]
#[link(wasm_import_module = "env")]
unsafe extern "C" {
    /// AssemblyScript's `abort(message, fileName, line, column)`.
    #[link_name = "abort"]
    fn env_abort(message: u32, file: u32, line: u32, column: u32);
}

unsafe extern "C" {
    /// Defined by wasm-ld: the first byte after static data.
    static __heap_base: u8;
    /// Defined by wasm-ld: the lowest address of the native stack (0 with `--stack-first`).
    static __stack_low: u8;
    /// Defined by wasm-ld: one past the native stack's highest address, where static data
    /// starts with `--stack-first` (the stack pointer's initial value).
    static __stack_high: u8;
}

/// The one runtime of this instance. wasm32 is single-threaded, so a plain cell suffices.
struct Global {
    runtime: UnsafeCell<MaybeUninit<Runtime<WasmMemory>>>,
    ready: UnsafeCell<bool>,
}

// SAFETY: wasm32-unknown-unknown has one thread; no reference to the runtime outlives an export
// call, and exports do not re-enter each other.
unsafe impl Sync for Global {}

static GLOBAL: Global =
    Global { runtime: UnsafeCell::new(MaybeUninit::uninit()), ready: UnsafeCell::new(false) };

/// The runtime, created on first use.
#[inline(always)]
pub(crate) fn runtime() -> &'static mut Runtime<WasmMemory> {
    // SAFETY: single-threaded; each export takes this reference once and drops it on return.
    unsafe {
        if !*GLOBAL.ready.get() {
            init();
        }
        (*GLOBAL.runtime.get()).assume_init_mut()
    }
}

#[cold]
#[inline(never)]
fn init() {
    let list = statics::static_roots();
    // The slot array as the build laid it out, never the descriptor compiled code can write.
    let (slots, count) = statics::shadow_slots();
    let shadow_base = slots as usize as u32;
    // Taking the address of a linker-defined symbol reads nothing.
    let (stack_low, stack_high) = (
        core::ptr::addr_of!(__stack_low) as usize as u32,
        core::ptr::addr_of!(__stack_high) as usize as u32,
    );
    let roots = Roots {
        shadow_stack: statics::shadow_stack(),
        shadow_base,
        shadow_limit: shadow_base + 4 * count as u32,
        stack_low,
        stack_high,
        statics: list.as_ptr() as usize as u32,
        static_count: list.len() as u32,
    };
    // Taking the address of a linker-defined symbol reads nothing.
    let base = core::ptr::addr_of!(__heap_base) as usize as u32;
    match Runtime::new(WasmMemory, base, rtti::MAX_MEMORY_PAGES, roots) {
        // SAFETY: single-threaded, first and only initialisation.
        Ok(rt) => unsafe {
            (*GLOBAL.runtime.get()).write(rt);
            *GLOBAL.ready.get() = true;
        },
        Err(e) => fail_at(e, Location::caller()),
    }
}

/// Reports `e` through `env.abort` and traps.
#[cold]
#[inline(never)]
fn fail_at(e: Error, at: &Location<'_>) -> ! {
    #[cfg(not(feature = "std"))]
    {
        // SAFETY: calling the host's import with static String refs.
        unsafe {
            env_abort(statics::error_message(e), statics::abort_file(), at.line(), at.column())
        };
        core::arch::wasm32::unreachable()
    }
    #[cfg(feature = "std")]
    panic!("asrt: {} at {}:{}:{}", e.message(), at.file(), at.line(), at.column())
}

/// Unwraps a result or aborts with the caller's line.
#[inline(always)]
#[track_caller]
fn ok<T>(r: Result<T, Error>) -> T {
    match r {
        Ok(v) => v,
        Err(e) => fail_at(e, Location::caller()),
    }
}

// The generated exported globals: `__id_<Name>` and `__static_<name>` (ABI.md §3, §4).
include!(concat!(env!("OUT_DIR"), "/exports_static.rs"));

// ----- unmanaged blocks -----

/// `__alloc(size) -> ptr`
#[unsafe(no_mangle)]
pub extern "C" fn __alloc(size: u32) -> u32 {
    ok(runtime().alloc(size))
}

/// `__realloc(ptr, size) -> ptr`
#[unsafe(no_mangle)]
pub extern "C" fn __realloc(ptr: u32, size: u32) -> u32 {
    ok(runtime().realloc(ptr, size))
}

/// `__free(ptr)`
#[unsafe(no_mangle)]
pub extern "C" fn __free(ptr: u32) {
    ok(runtime().free(ptr))
}

// ----- managed objects -----

/// `__new(size, id) -> ref`
#[unsafe(no_mangle)]
pub extern "C" fn __new(size: u32, id: u32) -> u32 {
    ok(runtime().new_object(size, id))
}

/// `__renew(ref, size) -> ref`
#[unsafe(no_mangle)]
pub extern "C" fn __renew(ptr: u32, size: u32) -> u32 {
    ok(runtime().renew(ptr, size))
}

/// `__link(parent, child, expectMultiple)`
#[unsafe(no_mangle)]
pub extern "C" fn __link(parent: u32, child: u32, expect_multiple: u32) {
    ok(runtime().link(parent, child, expect_multiple != 0))
}

/// `__pin(ref) -> ref`
#[unsafe(no_mangle)]
pub extern "C" fn __pin(ptr: u32) -> u32 {
    ok(runtime().pin(ptr))
}

/// `__unpin(ref)`
#[unsafe(no_mangle)]
pub extern "C" fn __unpin(ptr: u32) {
    ok(runtime().unpin(ptr))
}

/// `__collect()`
#[unsafe(no_mangle)]
pub extern "C" fn __collect() {
    ok(runtime().try_collect())
}

/// `__visit(ref, cookie)`
#[unsafe(no_mangle)]
pub extern "C" fn __visit(ptr: u32, _cookie: u32) {
    ok(runtime().visit(ptr))
}

/// `__gc_step() -> phase`: starts a cycle when idle; the phase after the step.
#[unsafe(no_mangle)]
pub extern "C" fn __gc_step() -> u32 {
    ok(runtime().try_gc_step()) as u32
}

/// `__gc_phase() -> phase`: the current phase, without doing any work.
#[unsafe(no_mangle)]
pub extern "C" fn __gc_phase() -> u32 {
    runtime().phase() as u32
}

/// `__gc_configure(pause_percent, step_work)`
#[unsafe(no_mangle)]
pub extern "C" fn __gc_configure(pause_percent: u32, step_work: u32) {
    ok(runtime().configure(pause_percent, step_work))
}

/// `__gc_push(ref) -> ref`
#[unsafe(no_mangle)]
pub extern "C" fn __gc_push(ptr: u32) -> u32 {
    ok(runtime().push(ptr))
}

/// `__gc_pop(count)`
#[unsafe(no_mangle)]
pub extern "C" fn __gc_pop(count: u32) {
    ok(runtime().pop(count))
}

/// `__gc_stats(out)`: 8 little-endian u64 at `out` (8-aligned, in the native stack region or
/// in a live block's payload).
#[unsafe(no_mangle)]
pub extern "C" fn __gc_stats(out: u32) {
    ok(runtime().write_stats(out))
}

/// `__heap_check() -> errors`
#[unsafe(no_mangle)]
pub extern "C" fn __heap_check() -> u32 {
    runtime().check()
}

/// `__heap_check_list(out, capacity) -> total`: the first `capacity` broken invariants as
/// `(invariant u32, address u32)` pairs at `out` (8-aligned, in the native stack region or in
/// a live `__alloc` block); the total count, as `__heap_check`.
#[unsafe(no_mangle)]
pub extern "C" fn __heap_check_list(out: u32, capacity: u32) -> u32 {
    ok(runtime().write_check_list(out, capacity))
}

// ----- RTTI -----

/// `__typeinfo(id) -> flags`, as the RTTI table at `__rtti_base` says.
#[unsafe(no_mangle)]
pub extern "C" fn __typeinfo(id: u32) -> u32 {
    if rtti::type_desc(id).is_none() {
        fail_at(Error::UnknownType, Location::caller());
    }
    let entry = if rtti::PROFILE == rtti::Profile::Classic { 8 } else { 4 };
    // SAFETY: the RTTI table holds an entry for every known id.
    unsafe { WasmMemory.load(statics::rtti_base() + 4 + entry * id) }
}

/// `__instanceof(ref, id) -> i32`: whether the object's type is `id` or derives from it.
#[unsafe(no_mangle)]
pub extern "C" fn __instanceof(ptr: u32, id: u32) -> u32 {
    if ptr == 0 {
        return 0;
    }
    let rt = runtime();
    ok(rt.validate_object(ptr));
    if rtti::type_desc(id).is_none() {
        fail_at(Error::UnknownType, Location::caller());
    }
    rtti::is_subtype(rt.rt_id(ptr), id) as u32
}

// --- string exports ---

/// `__string_from_utf16(ptr, units) -> String`: copies `units` UTF-16 code units as they are.
#[unsafe(no_mangle)]
pub extern "C" fn __string_from_utf16(ptr: u32, units: u32) -> u32 {
    ok(runtime().string_from_utf16(ptr, units))
}

/// `__string_from_utf8(ptr, bytes, replace) -> String`: decodes as `new TextDecoder('utf-8',
/// { ignoreBOM: true })`; `replace = 0` rejects ill-formed input (`InvalidUtf8`).
#[unsafe(no_mangle)]
pub extern "C" fn __string_from_utf8(ptr: u32, bytes: u32, replace: u32) -> u32 {
    ok(runtime().string_from_utf8(ptr, bytes, replace != 0))
}

/// `__string_utf8_length(ref) -> bytes`: the length of the string's `TextEncoder` encoding.
#[unsafe(no_mangle)]
pub extern "C" fn __string_utf8_length(ptr: u32) -> u32 {
    ok(runtime().string_utf8_length(ptr))
}

/// `__string_to_utf8(ref, nullTerminated) -> ArrayBuffer`: encodes as `TextEncoder`.
#[unsafe(no_mangle)]
pub extern "C" fn __string_to_utf8(ptr: u32, null_terminated: u32) -> u32 {
    ok(runtime().string_to_utf8(ptr, null_terminated != 0))
}

/// `__string_concat(a, b) -> String`
#[unsafe(no_mangle)]
pub extern "C" fn __string_concat(a: u32, b: u32) -> u32 {
    ok(runtime().string_concat(a, b))
}

/// `__string_equals(a, b) -> 1 | 0`
#[unsafe(no_mangle)]
pub extern "C" fn __string_equals(a: u32, b: u32) -> u32 {
    ok(runtime().string_equals(a, b)) as u32
}

/// `__string_compare(a, b) -> -1 | 0 | 1`, ordered as JavaScript's `<`.
#[unsafe(no_mangle)]
pub extern "C" fn __string_compare(a: u32, b: u32) -> i32 {
    ok(runtime().string_compare(a, b))
}

/// `__string_hash(ref) -> hash`: XXH32 (seed 0) of the UTF-16LE code units.
#[unsafe(no_mangle)]
pub extern "C" fn __string_hash(ptr: u32) -> u32 {
    ok(runtime().string_hash(ptr))
}

/// `__string_slice(ref, start, end) -> String`, as `String.prototype.slice`.
#[unsafe(no_mangle)]
pub extern "C" fn __string_slice(ptr: u32, start: i32, end: i32) -> u32 {
    ok(runtime().string_slice(ptr, start, end))
}
