//! Reading and writing the runtime's memory, and the checks every test shares: the heap's
//! soundness (`__heap_check`), block extents and colors, the heap's figures, and "a failing call
//! changes nothing".

use std::cell::Cell;
use std::rc::Rc;
use std::vec::Vec;

use asrt::Error;
use asrt::heap::tlsf;
use asrt::memory::{HostMemory, Memory, PAGE_SIZE};
use asrt::object::MAX_PAYLOAD;

use super::Rt;

/// The u32 at `a`.
pub fn ld(rt: &Rt, a: u32) -> u32 {
    assert!(a.is_multiple_of(4) && a as u64 + 4 <= rt.memory().size() as u64, "load at {a:#x}");
    // SAFETY: aligned and in bounds (checked above).
    unsafe { rt.memory().load(a) }
}

/// Writes the u32 at `a`.
pub fn st(rt: &Rt, a: u32, v: u32) {
    assert!(a.is_multiple_of(4) && a as u64 + 4 <= rt.memory().size() as u64, "store at {a:#x}");
    // SAFETY: aligned and in bounds (checked above).
    unsafe { rt.memory().store(a, v) }
}

/// The `n` bytes at `a`.
pub fn bytes(rt: &Rt, a: u32, n: u32) -> &[u8] {
    &rt.memory().bytes()[a as usize..a as usize + n as usize]
}

/// Writes `data` at `a`.
pub fn write(rt: &Rt, a: u32, data: &[u8]) {
    assert!(a as u64 + data.len() as u64 <= rt.memory().size() as u64);
    // SAFETY: in bounds (checked above); `data` is a separate Vec/slice, not the memory.
    unsafe { core::ptr::copy_nonoverlapping(data.as_ptr(), rt.memory().ptr(a), data.len()) }
}

/// Sets `n` bytes at `a` to `byte`.
pub fn set(rt: &Rt, a: u32, byte: u8, n: u32) {
    assert!(a as u64 + n as u64 <= rt.memory().size() as u64);
    // SAFETY: in bounds (checked above).
    unsafe { core::ptr::write_bytes(rt.memory().ptr(a), byte, n as usize) }
}

/// The broken invariants as `Name at 0x...` items (at most 16, then how many more).
pub fn report(rt: &Rt) -> std::string::String {
    let list = rt.check_report();
    let mut out: Vec<std::string::String> =
        list.iter().take(16).map(|v| std::format!("{v}")).collect();
    if list.len() > 16 {
        out.push(std::format!("... {} more", list.len() - 16));
    }
    out.join(", ")
}

/// Panics, saying which invariants broke and where, unless `__heap_check` is 0.
#[track_caller]
pub fn assert_sound(rt: &Rt, what: impl core::fmt::Display) {
    let errors = rt.check();
    if errors != 0 {
        panic!("__heap_check = {errors} {what}: {}", report(rt));
    }
}

/// The whole memory, for "nothing changed" comparisons.
pub fn snapshot(rt: &Rt) -> Vec<u8> {
    rt.memory().bytes().to_vec()
}

/// The block extent `[ref-16, ref-16 + 4 + (mmInfo & !3))` of a ref.
pub fn extent(rt: &Rt, r: u32) -> (u32, u32) {
    let info = ld(rt, r - 16);
    (r - 16, r - 16 + 4 + (info & !3))
}

/// The gcInfo color bits of a heap object (3 = black, 2 = gray, 0/1 = white).
pub fn color(rt: &Rt, r: u32) -> u32 {
    ld(rt, r - 12) & 3
}

/// A new managed object (the test fails if it cannot be made).
pub fn new(rt: &mut Rt, size: u32, id: u32) -> u32 {
    rt.new_object(size, id).expect("new_object")
}

/// Stores `child` into the static root slot `i` with the barrier.
pub fn root(rt: &mut Rt, i: u32, child: u32) {
    let s = rt.static_slots();
    st(rt, s + 4 * i, child);
    rt.link(s, child, false).unwrap();
}

/// Bytes of the heap that are neither used nor free: the start map's block and one sentinel
/// (the host tests' heaps are one region).
pub fn overhead(rt: &Rt) -> u64 {
    16 + rt.heap().map_block_bytes() as u64
}

/// The size of the largest free block, found by walking the heap (the start map, once moved
/// to a larger block, leaves a free hole where it was, so an empty heap can hold two).
pub fn largest_free_block(rt: &Rt) -> u32 {
    let heap = rt.heap();
    let (mut b, mut best) = (heap.first_block(), 0);
    while b != 0 {
        if ld(rt, b) & 1 != 0 {
            best = best.max((ld(rt, b) & !3) + 4);
        }
        // SAFETY: `b` is a block start of the walk.
        b = unsafe { heap.next_block(b) };
    }
    best
}

/// The largest payload `largest_free` reports for a heap whose only free block has `size` bytes.
pub fn largest_free_for_block(size: u32) -> u64 {
    let (fl, sl) = tlsf::mapping(size);
    (tlsf::class_start(fl, sl).max(16) - 16).min(MAX_PAYLOAD) as u64
}

/// Asserts that `f` fails with `want` and leaves memory and stats exactly as they were.
pub fn expect_unchanged<T: core::fmt::Debug>(
    rt: &mut Rt,
    want: Error,
    f: impl FnOnce(&mut Rt) -> Result<T, Error>,
) {
    let before = snapshot(rt);
    let stats = rt.stats();
    let got = f(rt);
    match got {
        Err(e) => assert_eq!(e, want, "wrong error"),
        Ok(v) => panic!("expected {want:?}, got Ok({v:?})"),
    }
    assert_eq!(rt.stats(), stats, "stats changed by a failing call");
    assert!(snapshot(rt) == before, "memory changed by a failing call ({want:?})");
    assert_sound(rt, "");
}

/// Out of memory for a request that could fit an emptier heap: reported only after a full
/// collection (docs/ABI.md §6), which counts and recolors but, with no garbage, frees nothing.
pub fn expect_oom<T: core::fmt::Debug>(rt: &mut Rt, f: impl FnOnce(&mut Rt) -> Result<T, Error>) {
    let before = rt.stats();
    match f(rt) {
        Err(e) => assert_eq!(e, Error::OutOfMemory, "wrong error"),
        Ok(v) => panic!("expected OutOfMemory, got Ok({v:?})"),
    }
    let after = rt.stats();
    assert!(after.collections > before.collections, "out of memory without a collection");
    let same = |s: asrt::Stats| (s.heap_bytes, s.used_bytes, s.free_bytes, s.live_objects);
    assert_eq!(same(after), same(before), "a failed allocation changed the heap");
    assert_sound(rt, "");
}

// ----- a memory another user grows (foreign pages) -----

/// A memory whose size a second user can grow behind the heap's back.
pub struct SharedMemory {
    /// The reservation: `max` pages, all addressable from the start.
    pub inner: HostMemory,
    /// The pages in use, shared with the other user; invariant: `pages <= max`.
    pub pages: Rc<Cell<u32>>,
    /// The most pages either user may grow to.
    pub max: u32,
}

// SAFETY: the inner reservation holds `max` pages from the start (all addressable), and
// `pages <= max`.
unsafe impl Memory for SharedMemory {
    fn ptr(&self, addr: u32) -> *mut u8 {
        self.inner.ptr(addr)
    }
    fn pages(&self) -> u32 {
        self.pages.get()
    }
    fn grow(&mut self, delta: u32) -> Option<u32> {
        let old = self.pages.get();
        let new = old.checked_add(delta).filter(|&n| n <= self.max)?;
        self.pages.set(new);
        Some(old)
    }
}

/// The other user grows the memory by `n` pages; returns the address of the first new page.
pub fn foreign_grow(pages: &Rc<Cell<u32>>, n: u32) -> u32 {
    let old = pages.get();
    pages.set(old + n);
    old * PAGE_SIZE
}
