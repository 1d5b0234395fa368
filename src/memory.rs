//! Linear memory, abstracted so the same heap and collector run on wasm32 and on the host.
//!
//! Every address in asrt is a `u32` offset into one linear memory, exactly as on wasm32. On
//! wasm32 the offset *is* the pointer (`WasmMemory`); on the host a 16-aligned arena stands in
//! for the memory and simulates `memory.grow` up to a cap (`HostMemory`, in host and `std`
//! builds), so host tests see the same addresses, the same page granularity and the same
//! out-of-memory behaviour.

/// Size of one WebAssembly page in bytes.
pub const PAGE_SIZE: u32 = 65536;
/// The most pages asrt will ever use: one page short of 4 GiB, so that every address and every
/// block end fits in a `u32` without overflow.
pub const MAX_PAGES: u32 = 65535;

/// A linear memory: byte-addressed by `u32`, grown in pages, never shrunk.
///
/// # Safety
/// Implementors guarantee that for every `addr < self.pages() * PAGE_SIZE`, `self.ptr(addr)` is
/// valid for reads and writes of the bytes up to the end of the memory, and that `grow` never
/// moves or invalidates bytes that were already addressable.
pub unsafe trait Memory {
    /// The host pointer for address `addr`. Time: O(1).
    fn ptr(&self, addr: u32) -> *mut u8;
    /// Current size in pages. Time: O(1).
    fn pages(&self) -> u32;
    /// Grows by `delta` pages; returns the previous size in pages, or `None` when the memory
    /// cannot grow that far. Time: O(1) here (the engine may copy).
    fn grow(&mut self, delta: u32) -> Option<u32>;

    /// Current size in bytes (at most `MAX_PAGES * PAGE_SIZE`, so it fits a `u32`).
    #[inline]
    fn size(&self) -> u32 {
        self.pages().min(MAX_PAGES) * PAGE_SIZE
    }

    /// Reads the aligned u32 at `addr`.
    ///
    /// # Safety
    /// `addr` is 4-aligned and `addr + 4 <= self.size()`.
    #[inline(always)]
    unsafe fn load(&self, addr: u32) -> u32 {
        // SAFETY: the caller keeps `addr` aligned and in bounds; the trait's contract makes the
        // pointer valid.
        unsafe { (self.ptr(addr) as *const u32).read() }
    }

    /// Writes the aligned u32 at `addr`.
    ///
    /// # Safety
    /// `addr` is 4-aligned and `addr + 4 <= self.size()`.
    #[inline(always)]
    unsafe fn store(&self, addr: u32, value: u32) {
        // SAFETY: as for `load`.
        unsafe { (self.ptr(addr) as *mut u32).write(value) }
    }

    /// Reads the aligned u32 at `base + offset`. Unlike `load(base + offset)`, the sum cannot
    /// wrap, so on wasm32 a constant `offset` becomes the load's offset immediate instead of an
    /// addition of its own.
    ///
    /// # Safety
    /// As for `load` at `base + offset`, and `base` itself lies in the memory.
    #[inline(always)]
    unsafe fn load_at(&self, base: u32, offset: u32) -> u32 {
        // SAFETY: the caller keeps both `base` and `base + offset + 4` in bounds.
        unsafe { (self.ptr(base).add(offset as usize) as *const u32).read() }
    }

    /// Writes the aligned u32 at `base + offset` (the store's form of [`Memory::load_at`]).
    ///
    /// # Safety
    /// As for [`Memory::load_at`].
    #[inline(always)]
    unsafe fn store_at(&self, base: u32, offset: u32, value: u32) {
        // SAFETY: as for `load_at`.
        unsafe { (self.ptr(base).add(offset as usize) as *mut u32).write(value) }
    }

    /// Copies `len` bytes from `src` to `dst` (the ranges may overlap).
    ///
    /// # Safety
    /// Both ranges lie inside the memory.
    #[inline]
    unsafe fn copy(&self, dst: u32, src: u32, len: u32) {
        // SAFETY: the caller keeps both ranges in bounds; `copy` allows overlap.
        unsafe { core::ptr::copy(self.ptr(src), self.ptr(dst), len as usize) }
    }

    /// Zeroes `len` bytes at `dst`.
    ///
    /// # Safety
    /// The range lies inside the memory.
    #[inline]
    unsafe fn zero(&self, dst: u32, len: u32) {
        // SAFETY: the caller keeps the range in bounds.
        unsafe { core::ptr::write_bytes(self.ptr(dst), 0, len as usize) }
    }
}

/// The module's own linear memory (memory index 0) on wasm32.
#[cfg(target_arch = "wasm32")]
#[derive(Debug, Default, Clone, Copy)]
pub struct WasmMemory;

// SAFETY: on wasm32 every address below `memory.size` is valid and `memory.grow` never moves
// existing bytes (addresses are offsets, not host pointers).
#[cfg(target_arch = "wasm32")]
unsafe impl Memory for WasmMemory {
    #[inline(always)]
    fn ptr(&self, addr: u32) -> *mut u8 {
        core::ptr::with_exposed_provenance_mut(addr as usize)
    }
    #[inline(always)]
    fn pages(&self) -> u32 {
        core::arch::wasm32::memory_size(0) as u32
    }
    #[inline]
    fn grow(&mut self, delta: u32) -> Option<u32> {
        let old = core::arch::wasm32::memory_grow(0, delta as usize);
        if old == usize::MAX { None } else { Some(old as u32) }
    }
}

#[cfg(any(feature = "std", not(target_arch = "wasm32")))]
pub use host::HostMemory;

#[cfg(any(feature = "std", not(target_arch = "wasm32")))]
mod host {
    use super::{Memory, PAGE_SIZE};
    extern crate std;
    use std::alloc::{Layout, alloc_zeroed, dealloc};

    /// A simulated linear memory: one zeroed, page-aligned reservation of `max_pages` pages, of
    /// which the first `pages` are "addressable". Growing past `max_pages` fails, like a wasm
    /// memory with a maximum.
    #[derive(Debug)]
    pub struct HostMemory {
        /// Start of the reservation; invariant: non-null, `PAGE_SIZE`-aligned, `max_pages`
        /// pages long, zeroed when allocated.
        base: *mut u8,
        /// Addressable pages; invariant: `pages <= max_pages`.
        pages: u32,
        /// Size of the reservation in pages.
        max_pages: u32,
    }

    impl HostMemory {
        /// A memory of `initial` pages that can grow to `max` pages.
        ///
        /// # Panics
        /// If `initial > max`, `max` is 0 or larger than [`super::MAX_PAGES`], or the host cannot
        /// reserve the bytes.
        pub fn new(initial: u32, max: u32) -> Self {
            assert!(initial <= max && max > 0 && max <= super::MAX_PAGES);
            let layout = Self::layout(max);
            // SAFETY: the layout has a non-zero size.
            let base = unsafe { alloc_zeroed(layout) };
            assert!(!base.is_null(), "host memory reservation failed");
            HostMemory { base, pages: initial, max_pages: max }
        }

        fn layout(max: u32) -> Layout {
            Layout::from_size_align(max as usize * PAGE_SIZE as usize, PAGE_SIZE as usize)
                .expect("valid layout")
        }

        /// The addressable bytes, for tests that inspect memory directly.
        pub fn bytes(&self) -> &[u8] {
            // SAFETY: the first `pages` pages are allocated and initialised (zeroed at start).
            unsafe { std::slice::from_raw_parts(self.base, self.size() as usize) }
        }
    }

    impl Drop for HostMemory {
        fn drop(&mut self) {
            // SAFETY: `base` came from `alloc_zeroed` with this very layout.
            unsafe { dealloc(self.base, Self::layout(self.max_pages)) }
        }
    }

    // SAFETY: the reservation covers `max_pages` pages and never moves, so every address below
    // `pages * PAGE_SIZE` is valid and stays valid across `grow`.
    unsafe impl Memory for HostMemory {
        #[inline(always)]
        fn ptr(&self, addr: u32) -> *mut u8 {
            self.base.wrapping_add(addr as usize)
        }
        fn pages(&self) -> u32 {
            self.pages
        }
        fn grow(&mut self, delta: u32) -> Option<u32> {
            let old = self.pages;
            let new = old.checked_add(delta)?;
            if new > self.max_pages {
                return None;
            }
            self.pages = new;
            Some(old)
        }
    }
}
