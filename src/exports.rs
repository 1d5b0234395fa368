//! The wasm ABI (docs/ABI.md §5): the only file with `#[no_mangle]`. Every export checks its
//! arguments through the runtime's validating methods; an error goes to `env.abort` with a static
//! String message, this file's name and the line of the `exports!` table that defines the export
//! (or of `__new`), and traps if `abort` returns. Nothing has changed when `abort` is called, so
//! the instance keeps working.
//!
//! ```text
//!   host ──▶ __export(args)            no frame on the native stack
//!              └─▶ work(args) -> u64   the runtime's work, in its own frame: returns
//!                                      Ok(value) or Err(error) packed into one scalar
//!            fail(error, line) ──▶ env.abort   (may throw: only frameless code is unwound)
//! ```
//!
//! Why the split: an `abort` that throws unwinds wasm frames without running their epilogues,
//! so a frame that had moved `__stack_pointer` would leave it moved for good, and about 65,000
//! rejected calls would exhaust the 64 KiB stack. The work functions return normally (their
//! epilogues run) before `abort` is called from a function that keeps nothing on that stack.
//! `__link`, `__pin` and `__unpin` (and `__new`'s fast path) do their work in the export itself:
//! their common paths need no frame, and whatever does (the cold checks, a table that grows)
//! is a call that returns before `abort`.

use crate::error::Error;
use crate::gc::is_small;
use crate::memory::{Memory, WasmMemory};
use crate::out_buffer;
use crate::rtti;
use crate::runtime::{Roots, Runtime};
use crate::statics;
use core::cell::UnsafeCell;
use core::mem::MaybeUninit;

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

/// Native stack the runtime's deepest path may take below an export's frame (a checker walk takes
/// about 100 bytes, the first call's initialisation under 4 KiB).
const FRAME_RESERVE: u32 = 8 << 10;

/// The lowest native-stack address the runtime's frames may reach while the current export runs:
/// [`FRAME_RESERVE`] below a local of a frame under the export's own.
#[inline(never)]
fn frames_low() -> u32 {
    let mark = 0u8;
    (core::hint::black_box(&mark) as *const u8 as usize as u32).saturating_sub(FRAME_RESERVE)
}

/// The one runtime of this instance. wasm32 is single-threaded, so a plain cell suffices.
struct Global {
    runtime: UnsafeCell<MaybeUninit<Runtime<WasmMemory>>>,
    ready: UnsafeCell<bool>,
}

// SAFETY: wasm32-unknown-unknown has one thread; no reference to the runtime outlives an export
// call, and exports do not re-enter each other (rtrace builds refuse it, see `held`).
unsafe impl Sync for Global {}

/// The runtime's bytes start as zeros, not uninitialized: `__new`'s fast path reads three of its
/// fields before it knows whether the runtime exists ([`Runtime::small_path_open`]).
static GLOBAL: Global =
    Global { runtime: UnsafeCell::new(MaybeUninit::zeroed()), ready: UnsafeCell::new(false) };

/// The runtime, created on first use; an error if creating it failed or was re-entered.
#[inline(always)]
fn try_runtime() -> Result<&'static mut Runtime<WasmMemory>, Error> {
    // SAFETY: single-threaded; each export takes this reference once and drops it on return.
    unsafe {
        if !*GLOBAL.ready.get() {
            init()?;
        }
        Ok((*GLOBAL.runtime.get()).assume_init_mut())
    }
}

/// The runtime for the Rust API ([`crate::api::with`]): aborts if it cannot be created.
///
/// # Safety
/// No other reference to the runtime may be live while the result is used: not one from an
/// earlier call, and no export may run meanwhile (the exports take the same runtime).
#[inline(always)]
pub(crate) unsafe fn runtime() -> &'static mut Runtime<WasmMemory> {
    match try_runtime() {
        Ok(rt) => rt,
        Err(e) => fail(e, line!()),
    }
}

#[cold]
#[inline(never)]
fn init() -> Result<(), Error> {
    #[cfg(any(feature = "rtrace", feature = "assemblyscript"))]
    {
        if busy::initializing() {
            return Err(Error::Reentered);
        }
        busy::set_initializing(true);
    }
    let list = statics::static_roots();
    let (objects, object_count) = statics::sorted_objects();
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
        objects,
        object_count,
        marking: statics::marking_word(),
    };
    // Taking the address of a linker-defined symbol reads nothing.
    let base = core::ptr::addr_of!(__heap_base) as usize as u32;
    // A hosted AssemblyScript program: no statics of asrt's own layout are roots (their ids
    // would be read as the program's), and the heap starts above the program's static data.
    #[cfg(feature = "assemblyscript")]
    let (roots, base, (program, rtti_base)) = {
        let Some(program) = asc_host::attached() else {
            busy::set_initializing(false);
            return Err(Error::BadArgument);
        };
        let roots = Roots { statics: 0, static_count: 0, objects: 0, object_count: 0, ..roots };
        (roots, program.0.static_end.max(base), program)
    };
    // SAFETY: every address in `roots` is the linker's or build.rs's layout of static memory
    // below `__heap_base` (docs/ABI.md §5); the native stack comes first (`--stack-first`).
    let made = unsafe { Runtime::new(WasmMemory, base, rtti::MAX_MEMORY_PAGES, roots) };
    #[cfg(any(feature = "rtrace", feature = "assemblyscript"))]
    busy::set_initializing(false);
    #[allow(unused_mut)]
    let mut made = made?;
    // SAFETY: `__asc_attach` checked the range (inside memory, below the heap, above asrt's
    // statics); the two functions only collect references through `__visit`.
    #[cfg(feature = "assemblyscript")]
    unsafe {
        made.attach_assemblyscript(program, rtti_base)?
    };
    // SAFETY: single-threaded, first and only initialisation.
    unsafe {
        (*GLOBAL.runtime.get()).write(made);
        *GLOBAL.ready.get() = true;
    }
    Ok(())
}

/// The hosted AssemblyScript program's side of the build (docs/ABI.md §8.4): its attach, and its
/// visitors called through imports, whose `__visit` calls are queued instead of entering the
/// runtime (which is in the middle of a step when they come).
#[cfg(feature = "assemblyscript")]
mod asc_host {
    use crate::asc::AscProgram;
    use core::cell::{Cell, UnsafeCell};

    #[link(wasm_import_module = "asc")]
    unsafe extern "C" {
        /// Calls the program's `__visit_members(ref, 0)`.
        #[link_name = "visit_members"]
        fn import_visit_members(r: u32);
        /// Calls the program's `__visit_globals(0)`, then `__visit` on each live shadow-stack slot.
        #[link_name = "visit_roots"]
        fn import_visit_roots();
        /// Calls the program's `__finalize(ref)`.
        #[link_name = "finalize"]
        fn import_finalize(r: u32);
    }

    /// References taken per visitor call; a visitor that passes more is called again.
    const CAPACITY: usize = 256;

    struct Queue {
        /// A visitor call is in progress: `__visit` queues.
        active: Cell<bool>,
        /// References to pass over before queueing (taken by an earlier call).
        skip: Cell<u32>,
        /// References `__visit` received in this call.
        seen: Cell<u32>,
        refs: UnsafeCell<[u32; CAPACITY]>,
        program: Cell<Option<AscProgram>>,
        rtti_base: Cell<u32>,
    }
    // SAFETY: wasm32 has one thread.
    unsafe impl Sync for Queue {}

    static QUEUE: Queue = Queue {
        active: Cell::new(false),
        skip: Cell::new(0),
        seen: Cell::new(0),
        refs: UnsafeCell::new([0; CAPACITY]),
        program: Cell::new(None),
        rtti_base: Cell::new(0),
    };

    /// The program `__asc_attach` recorded, and its RTTI table's address.
    pub fn attached() -> Option<(AscProgram, u32)> {
        QUEUE.program.get().map(|p| (p, QUEUE.rtti_base.get()))
    }

    /// Records the program (once, before the runtime exists).
    pub fn attach(static_start: u32, static_end: u32, type_count: u32, rtti_base: u32, hook: bool) {
        QUEUE.rtti_base.set(rtti_base);
        QUEUE.program.set(Some(AscProgram {
            static_start,
            static_end,
            type_count,
            members,
            roots,
            plans: 0,
            finalize: if hook { Some(finalize) } else { None },
        }));
    }

    /// The program's `__finalize(ref)`.
    fn finalize(r: u32) {
        // SAFETY: the import takes any i32; the loader calls the program's hook with it.
        unsafe { import_finalize(r) }
    }

    /// `__visit` during a visitor call: queued. Returns false outside one.
    pub fn queue(r: u32) -> bool {
        if !QUEUE.active.get() {
            return false;
        }
        let seen = QUEUE.seen.get();
        QUEUE.seen.set(seen + 1);
        let skip = QUEUE.skip.get();
        if seen >= skip && ((seen - skip) as usize) < CAPACITY {
            // SAFETY: the index is below CAPACITY; no reference to the array is live (`drain`
            // copies it out before calling anyone).
            unsafe { (*QUEUE.refs.get())[(seen - skip) as usize] = r };
        }
        true
    }

    /// Calls `call` until every reference it passes to `__visit` was handed to `f`.
    fn drain(call: &dyn Fn(), f: &mut dyn FnMut(u32)) {
        let mut skip = 0u32;
        loop {
            QUEUE.skip.set(skip);
            QUEUE.seen.set(0);
            QUEUE.active.set(true);
            call();
            QUEUE.active.set(false);
            let seen = QUEUE.seen.get();
            let taken = (seen.saturating_sub(skip) as usize).min(CAPACITY);
            // Copied out: `f` may call a visitor again (a static object's children).
            // SAFETY: no other reference to the array is live.
            let refs: [u32; CAPACITY] = unsafe { *QUEUE.refs.get() };
            for &r in &refs[..taken] {
                f(r);
            }
            if seen <= skip + CAPACITY as u32 {
                return;
            }
            skip += CAPACITY as u32;
        }
    }

    fn members(r: u32, f: &mut dyn FnMut(u32)) {
        // SAFETY: the loader's import calls the program's generated visitor, which only reads
        // memory and calls `__visit`.
        drain(&|| unsafe { import_visit_members(r) }, f);
    }

    fn roots(f: &mut dyn FnMut(u32)) {
        // SAFETY: as for `members`.
        drain(&|| unsafe { import_visit_roots() }, f);
    }
}

/// Re-entry guard (docs/ABI.md §6). Only builds with `rtrace` call host code in the middle of an
/// operation (its hooks), so only they need it; elsewhere it compiles to nothing.
#[cfg(any(feature = "rtrace", feature = "assemblyscript"))]
mod busy {
    use core::cell::Cell;

    struct Flag(Cell<bool>);
    // SAFETY: wasm32 has one thread.
    unsafe impl Sync for Flag {}
    static BUSY: Flag = Flag(Cell::new(false));
    static INITIALIZING: Flag = Flag(Cell::new(false));

    /// Whether a mutating export is in progress.
    pub fn get() -> bool {
        BUSY.0.get()
    }

    /// Marks a mutating export in progress or done.
    pub fn set(v: bool) {
        BUSY.0.set(v)
    }

    /// Whether the runtime is being created (its `oninit` hook may call back).
    pub fn initializing() -> bool {
        INITIALIZING.0.get()
    }

    /// Marks the runtime's creation in progress or done.
    pub fn set_initializing(v: bool) {
        INITIALIZING.0.set(v)
    }
}

/// A mutating export's hold on the runtime: while it lives, a host hook that calls another
/// mutating export is refused ([`Error::Reentered`]) instead of meeting a half-done heap.
struct Held(&'static mut Runtime<WasmMemory>);

impl core::ops::Deref for Held {
    type Target = Runtime<WasmMemory>;
    fn deref(&self) -> &Self::Target {
        self.0
    }
}

impl core::ops::DerefMut for Held {
    fn deref_mut(&mut self) -> &mut Self::Target {
        self.0
    }
}

impl Drop for Held {
    #[inline(always)]
    fn drop(&mut self) {
        #[cfg(any(feature = "rtrace", feature = "assemblyscript"))]
        busy::set(false);
    }
}

/// The runtime, for an export that changes it; refused while another such export is in
/// progress (re-entry from a hook) or while the runtime is being created.
#[inline(always)]
fn held() -> Result<Held, Error> {
    let rt = try_runtime()?;
    #[cfg(any(feature = "rtrace", feature = "assemblyscript"))]
    {
        if busy::get() {
            return Err(Error::Reentered);
        }
        busy::set(true);
    }
    Ok(Held(rt))
}

/// An export's result as one scalar, so that its work function returns in a register: the
/// value in the low 32 bits, and `error + 1` in the high 32 bits (0 for success).
trait Packed: Sized {
    /// The value as 32 bits.
    fn to_bits(self) -> u32;
    /// The value from 32 bits.
    fn from_bits(bits: u32) -> Self;
}

impl Packed for u32 {
    fn to_bits(self) -> u32 {
        self
    }
    fn from_bits(bits: u32) -> Self {
        bits
    }
}

impl Packed for i32 {
    fn to_bits(self) -> u32 {
        self as u32
    }
    fn from_bits(bits: u32) -> Self {
        bits as i32
    }
}

impl Packed for () {
    fn to_bits(self) -> u32 {
        0
    }
    fn from_bits(_: u32) -> Self {}
}

/// Packs a work function's result.
#[inline(always)]
fn pack<T: Packed>(r: Result<T, Error>) -> u64 {
    match r {
        Ok(v) => v.to_bits() as u64,
        Err(e) => ((e as u64) + 1) << 32,
    }
}

/// Unpacks a work function's result, or aborts with the export's `line`.
#[inline(always)]
fn unpack<T: Packed>(bits: u64, line: u32) -> T {
    match (bits >> 32) as u32 {
        0 => T::from_bits(bits as u32),
        code => fail_packed(code, line),
    }
}

/// [`fail`] for a packed error code (`error + 1`). Out of line, so each export's own code is a
/// call, not a table lookup with its bounds check (whose panic path would link `core::fmt`).
#[cold]
#[inline(never)]
fn fail_packed(code: u32, line: u32) -> ! {
    // Every code comes from `pack`; a code outside the list cannot occur, and would still abort.
    fail(Error::from_code(code), line)
}

/// Reports `e` through `env.abort` (this file, the failing export's `line`) and traps. Keeps
/// nothing on the native stack, so an `abort` that throws leaves the stack pointer as it was.
#[cold]
#[inline(never)]
fn fail(e: Error, line: u32) -> ! {
    #[cfg(not(feature = "std"))]
    {
        // SAFETY: calling the host's import with static String refs.
        unsafe { env_abort(statics::error_message(e), statics::abort_file(), line, 1) };
        core::arch::wasm32::unreachable()
    }
    #[cfg(feature = "std")]
    panic!("asrt: {} at {}:{line}", e.message(), file!())
}

/// Defines exports: `fn name(args) -> T { body }` where `body` is a `Result<T, Error>`. The body
/// runs in an outlined work function (its own frame, returning a packed scalar); the export
/// itself only unpacks, or aborts. After `@inline(always);` the work function is inlined into
/// the export instead: for the small exports JavaScript calls once per object or store, where
/// the second call costs as much as the work (their cold parts are out of line already).
macro_rules! exports {
    (@$inline:meta; $(
        $(#[$doc:meta])*
        fn $name:ident($($arg:ident: $ty:ty),* $(,)?) -> $ret:ty $body:block
    )*) => {$(
        $(#[$doc])*
        #[unsafe(no_mangle)]
        pub extern "C" fn $name($($arg: $ty),*) -> $ret {
            #[inline(always)]
            fn run($($arg: $ty),*) -> Result<$ret, Error> $body
            #[$inline]
            fn work($($arg: $ty),*) -> u64 {
                pack(run($($arg),*))
            }
            unpack(work($($arg),*), line!())
        }
    )*};
    ($($export:tt)*) => { exports!(@inline(never); $($export)*); };
}

/// `__new(size, id) -> ref`. A small object that owes no GC work is made here, in the
/// export itself ([`Runtime::new_small`]: no call, no stack frame); anything else, and every
/// error, takes the checked work function as the other exports do.
///
/// `#[inline(always)]` does not change how rustc instantiates an exported function (hence the
/// lint), but LLVM still gets the `alwaysinline` attribute (rust-lang/rust#138842), so a
/// cross-language LTO link (docs/ABI.md §9) inlines the small-object path into C callers.
#[unsafe(no_mangle)]
#[allow(unused_attributes)]
#[inline(always)]
pub extern "C" fn __new(size: u32, id: u32) -> u32 {
    if let Some(ptr) = new_small(size, id) {
        return ptr;
    }
    #[inline(always)]
    fn run(size: u32, id: u32) -> Result<u32, Error> {
        held()?.new_object(size, id)
    }
    #[inline(never)]
    fn work(size: u32, id: u32) -> u64 {
        pack(run(size, id))
    }
    unpack(work(size, id), line!())
}

/// [`Runtime::new_small`] once the runtime exists and no export is in progress; `None`
/// otherwise (the full path creates the runtime or reports the re-entry).
#[inline(always)]
fn new_small(size: u32, id: u32) -> Option<u32> {
    #[cfg(any(feature = "rtrace", feature = "assemblyscript"))]
    if busy::get() {
        return None;
    }
    let rt = GLOBAL.runtime.get().cast::<Runtime<WasmMemory>>();
    // SAFETY: the cell holds the runtime or, before `init` writes it, zero bytes (`GLOBAL`);
    // `size` is small. While it is not created the test fails, in place of a `ready` test.
    if !is_small(size) || !unsafe { Runtime::small_path_open(rt, size) } {
        return None;
    }
    // SAFETY: the runtime is created (the test above passed); no export is in progress, so no
    // other reference to it is live.
    let rt = unsafe { &mut *rt };
    // The rtrace build reports the object to `rtrace.onalloc`, host code that may call back: the
    // fast path holds the runtime as `Held` does (§6.7), or a `__collect` from the hook would free
    // the object before `__new` returns it. (Without rtrace, `new_small` calls no host code.)
    #[cfg(feature = "rtrace")]
    busy::set(true);
    let made = rt.new_small(size, id);
    #[cfg(feature = "rtrace")]
    busy::set(false);
    made
}

// The generated exported globals: `__id_<Name>` and `__static_<name>` (docs/ABI.md §3, §4).
include!(concat!(env!("OUT_DIR"), "/exports_static.rs"));

exports! {
    @inline(always);

    // ----- managed objects: the calls made once per object or store -----

    /// `__link(parent, child, expectMultiple)`
    fn __link(parent: u32, child: u32, expect_multiple: u32) -> () {
        held()?.link(parent, child, expect_multiple != 0)
    }

    /// `__pin(ref) -> ref`
    fn __pin(ptr: u32) -> u32 { held()?.pin(ptr) }

    /// `__unpin(ref)`
    fn __unpin(ptr: u32) -> () { held()?.unpin(ptr) }
}

exports! {
    // ----- unmanaged blocks -----

    /// `__alloc(size) -> ptr`
    fn __alloc(size: u32) -> u32 { held()?.alloc(size) }

    /// `__realloc(ptr, size) -> ptr`
    fn __realloc(ptr: u32, size: u32) -> u32 { held()?.realloc(ptr, size) }

    /// `__free(ptr)`
    fn __free(ptr: u32) -> () { held()?.free(ptr) }

    // ----- managed objects -----

    /// `__renew(ref, size) -> ref`
    fn __renew(ptr: u32, size: u32) -> u32 { held()?.renew(ptr, size) }

    /// `__collect()`
    fn __collect() -> () { held()?.try_collect() }

    /// `__visit(ref, cookie)`
    fn __visit(ptr: u32, _cookie: u32) -> () {
        #[cfg(feature = "assemblyscript")]
        if asc_host::queue(ptr) {
            return Ok(());
        }
        held()?.visit(ptr)
    }

    /// `__gc_step() -> phase`: starts a cycle when idle; the phase after the step.
    fn __gc_step() -> u32 { Ok(held()?.try_gc_step()? as u32) }

    /// `__gc_phase() -> phase`: the current phase, without doing any work.
    fn __gc_phase() -> u32 { Ok(try_runtime()?.phase() as u32) }

    /// `__gc_configure(pause_percent, step_work)`
    fn __gc_configure(pause_percent: u32, step_work: u32) -> () {
        held()?.configure(pause_percent, step_work)
    }

    /// `__gc_threshold(bytes)`: a cycle every `bytes` allocated (0: paced by `pause_percent`).
    fn __gc_threshold(bytes: u32) -> () { held()?.set_threshold(bytes) }

    /// `__gc_push(ref) -> ref`
    fn __gc_push(ptr: u32) -> u32 { held()?.push(ptr) }

    /// `__gc_pop(count)`
    fn __gc_pop(count: u32) -> () { held()?.pop(count) }

    /// `__gc_stats(out)`: 8 little-endian u64 at `out` (8-aligned, in the native stack region or
    /// in a live block's payload).
    fn __gc_stats(out: u32) -> () { try_runtime()?.write_stats(out) }

    /// `__heap_check() -> errors`
    fn __heap_check() -> u32 { Ok(try_runtime()?.check()) }

    /// `__heap_check_list(out, capacity) -> total`: the first `capacity` broken invariants as
    /// `(invariant u32, address u32)` pairs at `out` (8-aligned, in the native stack region or
    /// in a live `__alloc` block); the total count, as `__heap_check`.
    fn __heap_check_list(out: u32, capacity: u32) -> u32 {
        let rt = try_runtime()?;
        rt.check_list_out(out, capacity)?;
        // The checker writes while it walks, and its own frames (the callback's closure, which
        // holds `out` and `capacity`) are on the native stack: a list over them made the walk
        // trap or write outside the buffer. In the stack region, the list must end below what
        // the runtime's frames can reach.
        let end = out as u64 + capacity as u64 * out_buffer::CHECK_PAIR_BYTES as u64;
        if capacity != 0 && out < rt.roots.stack_high && end > frames_low() as u64 {
            return Err(Error::BadCheckBuffer);
        }
        rt.write_check_list(out, capacity)
    }

    // ----- weak references and finalizers (docs/ABI.md §10) -----

    /// `__weakref_new(ref) -> handle`: a weak reference to a managed object.
    fn __weakref_new(ptr: u32) -> u32 { held()?.weakref_new(ptr) }

    /// `__weakref_get(handle) -> ref`: the target, or 0 once it was found unreachable.
    fn __weakref_get(handle: u32) -> u32 { held()?.weakref_get(handle) }

    /// `__weakref_free(handle)`: releases the handle.
    fn __weakref_free(handle: u32) -> () { held()?.weakref_free(handle) }

    /// `__finalizer_register(ref) -> token`
    fn __finalizer_register(ptr: u32) -> u32 { held()?.finalizer_register(ptr) }

    /// `__finalizer_unregister(token)`: cancels a registration not yet handed out.
    fn __finalizer_unregister(token: u32) -> () { held()?.finalizer_unregister(token) }

    /// `__finalizer_next() -> token`: one token whose object was found unreachable, or 0.
    fn __finalizer_next() -> u32 { Ok(held()?.finalizer_next()) }

    /// `__weakmap_new() -> map`: a new, empty weak map.
    fn __weakmap_new() -> u32 { held()?.weakmap_new() }

    /// `__weakmap_set(map, key, value)`: `value` (0 or an object) lives while `key` does.
    fn __weakmap_set(map: u32, key: u32, value: u32) -> () { held()?.weakmap_set(map, key, value) }

    /// `__weakmap_get(map, key) -> value`: the value, or 0.
    fn __weakmap_get(map: u32, key: u32) -> u32 { held()?.weakmap_get(map, key) }

    /// `__weakmap_has(map, key) -> 0 | 1`
    fn __weakmap_has(map: u32, key: u32) -> u32 { Ok(try_runtime()?.weakmap_has(map, key)? as u32) }

    /// `__weakmap_delete(map, key) -> 0 | 1`: whether the key was there.
    fn __weakmap_delete(map: u32, key: u32) -> u32 {
        Ok(held()?.weakmap_delete(map, key)? as u32)
    }

    /// `__weakmap_free(map)`: removes every entry and releases the handle.
    fn __weakmap_free(map: u32) -> () { held()?.weakmap_free(map) }

    // ----- hosting an AssemblyScript program (docs/ABI.md §8.4) -----

    /// `__asc_attach(rtti_base, static_start, static_end, options)`: the program's RTTI table
    /// and static range; creates the runtime with its heap above `static_end`. Once, before
    /// anything else. `options` bit 0: the program defines `__finalize`; other bits are refused.
    #[cfg(feature = "assemblyscript")]
    fn __asc_attach(rtti_base: u32, static_start: u32, static_end: u32, options: u32) -> () {
        // SAFETY: single-threaded; reading the flag.
        let ready = unsafe { *GLOBAL.ready.get() };
        let own_end = core::ptr::addr_of!(__heap_base) as usize as u32;
        let pages = core::arch::wasm32::memory_size(0) as u64;
        if ready
            || asc_host::attached().is_some()
            || static_start < own_end
            || static_end < static_start
            || rtti_base < static_start
            || rtti_base > static_end - 4
            || static_end as u64 > pages << 16
            || options > 1
        {
            return Err(Error::BadArgument);
        }
        // SAFETY: `rtti_base + 4 <= static_end`, inside memory (checked above).
        let count = unsafe { WasmMemory.load(rtti_base) };
        // The whole table (a flags word per id) inside the program's static data.
        if count as u64 * 4 + 4 > (static_end - rtti_base) as u64 {
            return Err(Error::BadArgument);
        }
        asc_host::attach(static_start, static_end, count, rtti_base, options & 1 != 0);
        try_runtime().map(|_| ())
    }

    // ----- RTTI -----

    /// `__typeinfo(id) -> flags`, as the RTTI table at `__rtti_base` says.
    fn __typeinfo(id: u32) -> u32 {
        // A hosted program's ids: its flags, as copied at attach.
        #[cfg(feature = "assemblyscript")]
        if let Some(flags) = try_runtime()?.asc_type_flags(id) {
            return flags.ok_or(Error::UnknownType);
        }
        if rtti::type_desc(id).is_none() {
            return Err(Error::UnknownType);
        }
        let entry = if rtti::PROFILE == rtti::Profile::Classic { 8 } else { 4 };
        // SAFETY: the RTTI table holds an entry for every known id.
        Ok(unsafe { WasmMemory.load(statics::rtti_base() + 4 + entry * id) })
    }

    /// `__instanceof(ref, id) -> i32`: whether the object's type is `id` or derives from it.
    fn __instanceof(ptr: u32, id: u32) -> u32 {
        if ptr == 0 {
            return Ok(0);
        }
        let rt = try_runtime()?;
        rt.validate_object(ptr)?;
        // A hosted program's RTTI has no base ids: only the exact type is known.
        #[cfg(feature = "assemblyscript")]
        if let Some(flags) = rt.asc_type_flags(id) {
            flags.ok_or(Error::UnknownType)?;
            return Ok((rt.rt_id(ptr) == id) as u32);
        }
        if rtti::type_desc(id).is_none() {
            return Err(Error::UnknownType);
        }
        Ok(rtti::is_subtype(rt.rt_id(ptr), id) as u32)
    }

    // ----- strings (the default feature `strings`; the core build leaves them out) -----

    /// `__string_from_utf16(ptr, units) -> String`: copies `units` UTF-16 code units as they
    /// are.
    #[cfg(feature = "strings")]
    fn __string_from_utf16(ptr: u32, units: u32) -> u32 {
        held()?.string_from_utf16(ptr, units)
    }

    /// `__string_from_utf8(ptr, bytes, replace) -> String`: decodes as `new
    /// TextDecoder('utf-8', { ignoreBOM: true })`; `replace = 0` rejects ill-formed input.
    #[cfg(feature = "strings")]
    fn __string_from_utf8(ptr: u32, bytes: u32, replace: u32) -> u32 {
        held()?.string_from_utf8(ptr, bytes, replace != 0)
    }

    /// `__string_utf8_length(ref) -> bytes`: the length of the string's `TextEncoder` encoding.
    #[cfg(feature = "strings")]
    fn __string_utf8_length(ptr: u32) -> u32 { try_runtime()?.string_utf8_length(ptr) }

    /// `__string_to_utf8(ref, nullTerminated) -> ArrayBuffer`: encodes as `TextEncoder`.
    #[cfg(feature = "strings")]
    fn __string_to_utf8(ptr: u32, null_terminated: u32) -> u32 {
        held()?.string_to_utf8(ptr, null_terminated != 0)
    }

    /// `__string_concat(a, b) -> String`
    #[cfg(feature = "strings")]
    fn __string_concat(a: u32, b: u32) -> u32 { held()?.string_concat(a, b) }

    /// `__string_equals(a, b) -> 1 | 0`
    #[cfg(feature = "strings")]
    fn __string_equals(a: u32, b: u32) -> u32 { Ok(try_runtime()?.string_equals(a, b)? as u32) }

    /// `__string_compare(a, b) -> -1 | 0 | 1`, ordered as JavaScript's `<`.
    #[cfg(feature = "strings")]
    fn __string_compare(a: u32, b: u32) -> i32 { try_runtime()?.string_compare(a, b) }

    /// `__string_hash(ref) -> hash`: XXH32 (seed 0) of the UTF-16LE code units.
    #[cfg(feature = "strings")]
    fn __string_hash(ptr: u32) -> u32 { try_runtime()?.string_hash(ptr) }

    /// `__string_slice(ref, start, end) -> String`, as `String.prototype.slice`.
    #[cfg(feature = "strings")]
    fn __string_slice(ptr: u32, start: i32, end: i32) -> u32 {
        held()?.string_slice(ptr, start, end)
    }
}
