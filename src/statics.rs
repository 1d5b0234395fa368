//! Static data laid out at link time (docs/ABI.md §4): the static objects the layout file declares,
//! the runtime's error-message Strings, the RTTI table and the shadow stack.
//!
//! build.rs generates the objects as Rust statics (`$OUT_DIR/statics.rs`, included here on
//! wasm32, with the exported `__rtti_base` and `__gc_stack` whose addresses the runtime uses) and
//! the other exported globals, `__id_<Name>` and `__static_<name>` (`$OUT_DIR/exports_static.rs`,
//! included by `exports.rs`).
//! Every static object is a 16-aligned [`Obj`]: the 16-byte header of a used block (mmInfo =
//! block size − 4, gcInfo = [`crate::object::STATIC_GC_INFO`], rtId, rtSize) and its payload.
//! References between static objects are pointers the linker resolves, never precomputed
//! addresses. Every object sits in an [`UnsafeCell`] so that it is placed in writable data and the
//! runtime may store into it (a `StaticArray<string>` such as `__static_slots`, a static Array's
//! elements).
//!
//! On the host nothing is generated: host tests build their own static objects in their memory.

use core::cell::UnsafeCell;

/// A static object: the common header and the payload, 16-aligned like a heap block. The Rust
/// size of an `Obj` is the block size, `(16 + size_of::<P>() + 15) & !15`.
#[repr(C, align(16))]
pub struct Obj<P> {
    /// mmInfo, gcInfo, rtId, rtSize (docs/ABI.md §2).
    pub header: [u32; 4],
    /// The payload: the ref points here.
    pub payload: P,
}

/// Interior-mutable storage for a static that the runtime (or the host) may write.
#[repr(transparent)]
pub struct Static<T>(pub UnsafeCell<T>);

// SAFETY: wasm32 has one thread; every write goes through raw pointers obtained from the
// address, under the runtime's own discipline.
unsafe impl<T> Sync for Static<T> {}

impl<T> Static<T> {
    /// Wraps `value`.
    pub const fn new(value: T) -> Self {
        Static(UnsafeCell::new(value))
    }

    /// The address of the contents.
    pub const fn get(&self) -> *mut T {
        self.0.get()
    }
}

/// The ref of a static object: a pointer the linker resolves, readable as a u32 at run time.
#[repr(transparent)]
#[derive(Clone, Copy)]
pub struct StaticRef(pub *const u8);

// SAFETY: the pointer is only ever read as an address.
unsafe impl Sync for StaticRef {}

impl StaticRef {
    /// The ref as a wasm32 address.
    #[inline(always)]
    pub fn get(&self) -> u32 {
        self.0 as usize as u32
    }
}

/// The 12-byte payload of an `ArrayBufferView` (a typed array).
#[repr(C)]
pub struct ViewPayload {
    /// The backing `ArrayBuffer`.
    pub buffer: *const u8,
    /// The address of the first element.
    pub data_start: *const u8,
    /// Length of the view in bytes.
    pub byte_length: u32,
}

/// The 16-byte payload of an `Array<T>`.
#[repr(C)]
pub struct ArrayPayload {
    /// The backing `ArrayBuffer`.
    pub buffer: *const u8,
    /// The address of the first element.
    pub data_start: *const u8,
    /// Size of the backing store in bytes.
    pub byte_length: u32,
    /// Number of elements.
    pub length: u32,
}

/// The RTTI table at `__rtti_base` (docs/ABI.md §3): the count, then `W` words of entries
/// (`{ flags, base }` per id in the classic profile, `{ flags }` in the modern one).
#[repr(C, align(16))]
pub struct RttiTable<const W: usize> {
    /// Number of type ids.
    pub count: u32,
    /// The entries, flattened.
    pub entries: [u32; W],
}

/// The shadow-stack header `{ top, base, limit }` (docs/ABI.md §5), written at run time.
#[repr(C, align(16))]
pub struct GcStack(pub UnsafeCell<[*const u8; 3]>);

// SAFETY: as for `Static`.
unsafe impl Sync for GcStack {}

impl GcStack {
    /// The header of an empty stack over `slots` slots starting at `base`.
    pub const fn new((base, slots): (*const u8, usize)) -> Self {
        // SAFETY: (const eval) `base + 4 * slots` is one past the end of the slot array.
        let limit = unsafe { base.add(4 * slots) };
        GcStack(UnsafeCell::new([base, base, limit]))
    }
}

/// The ref of the static object at `obj`: its payload, right behind the 16-byte header.
pub const fn payload_of<T>(obj: *const T) -> *const u8 {
    // SAFETY: (const eval) every static object is an `Obj`, at least 16 bytes long, so the
    // payload address is inside (or one past the end of) the same static.
    unsafe { obj.cast::<u8>().add(16) }
}

#[cfg(target_arch = "wasm32")]
// Objects that only `exports_static.rs` refers to are unused until exports.rs includes it.
#[allow(dead_code)]
mod generated {
    use super::*;
    use crate::Error;
    include!(concat!(env!("OUT_DIR"), "/statics.rs"));

    /// The ref of the static String holding `e.message()`.
    #[inline]
    pub fn error_message(e: Error) -> u32 {
        ERROR_MESSAGES[e as usize].get()
    }

    /// The ref of the static String `"asrt/src/exports.rs"`, `env.abort`'s `fileName`.
    #[inline]
    pub fn abort_file() -> u32 {
        ABORT_FILE_REF.get()
    }

    /// Every static object whose type can hold references; the collector scans them as roots.
    #[inline]
    pub fn static_roots() -> &'static [StaticRef] {
        &ROOTS
    }

    /// The refs of every static object in address order, as `(address of the array, count)`:
    /// what [`crate::Runtime::is_static`] searches. Sorts them on the first call (the linker
    /// places the statics; their order is known only at run time). Time: O(n²) once, n small.
    pub fn sorted_objects() -> (u32, u32) {
        let sorted = SORTED_OBJECTS.get();
        // SAFETY: single-threaded; called once from the runtime's initialisation, before any
        // other use of the array.
        let list = unsafe { &mut *sorted };
        for (slot, r) in list.iter_mut().zip(ALL_OBJECTS.iter()) {
            *slot = r.get();
        }
        // Insertion sort: the list is short, and `sort_unstable` would link about 4 KB of
        // sorting code (and its panic paths) into a module that sorts once.
        for i in 1..list.len() {
            let v = list[i];
            let mut j = i;
            while j > 0 && list[j - 1] > v {
                list[j] = list[j - 1];
                j -= 1;
            }
            list[j] = v;
        }
        (sorted as usize as u32, list.len() as u32)
    }

    /// The address of the shadow-stack header `{ top, base, limit }` (`__gc_stack`).
    #[inline]
    pub fn shadow_stack() -> u32 {
        (&raw const __gc_stack) as usize as u32
    }

    /// The address of the RTTI table (`__rtti_base`).
    #[inline]
    pub fn rtti_base() -> u32 {
        (&raw const __rtti_base) as usize as u32
    }

    /// The address of the marking word `__gc_marking`.
    #[inline]
    pub fn marking_word() -> u32 {
        (&raw const super::__gc_marking) as usize as u32
    }

    /// The shadow-stack slot array and its length, for `__gc_stack`'s initializer.
    pub const fn shadow_slots() -> (*const u8, usize) {
        ((&raw const SHADOW_SLOTS).cast::<u8>(), crate::rtti::SHADOW_STACK_SLOTS as usize)
    }

    const _: () = assert!(ERROR_MESSAGES.len() == Error::ALL.len());
}

#[cfg(target_arch = "wasm32")]
pub use generated::*;

/// The marking word (docs/ABI.md §9), exported as the data symbol and global `__gc_marking`: 1
/// while the collector marks, else 0. Only the runtime writes it (`Roots::marking`); compiled
/// code reads it in its inline store barrier and calls `__link` only while it is 1.
#[cfg(target_arch = "wasm32")]
#[unsafe(no_mangle)]
#[allow(non_upper_case_globals)]
pub static __gc_marking: Static<u32> = Static::new(0);
