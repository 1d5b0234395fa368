//! Where an export may write for its caller: `__gc_stats`'s output buffer (docs/ABI.md §5) and
//! `__heap_check_list`'s.
//!
//! ```text
//! ╒═ native stack ═╤══ static data ═══════════════════════════╤══ heap ══════════════════════╕
//! │  allowed       │ runtime state, shadow-stack header and    │ only inside the payload of   │
//! │ [low, high)    │ slots, static objects, RTTI: never        │ one live block               │
//! ╘════════════════╧═══════════════════════════════════════════╧══════════════════════════════╛
//! ```
//!
//! The native (Rust or C) stack comes first (wasm-ld's `--stack-first`); its bounds are the
//! linker's `__stack_low` and `__stack_high`, recorded in [`Roots`](crate::Roots) at start. Every
//! other byte below the heap belongs to the runtime or to static objects, and heap bytes outside
//! a live payload are headers or free lists.
//!
//! `__heap_check_list` writes while the checker walks the heap, so its buffer must be memory the
//! checker never reads: the native stack region or an `__alloc` block (unmanaged, never traced).
//! A managed object is refused: writing into one could change the refs the walk reads (an
//! `Array`'s slots live in its ArrayBuffer).

use crate::error::Error;
use crate::invariant::Invariant;
use crate::memory::Memory;
use crate::object::HEADER_SIZE;
use crate::runtime::Runtime;

/// Bytes `__gc_stats` writes: eight u64.
pub const STATS_BYTES: u32 = 64;

/// Bytes of one `(invariant u32, address u32)` pair of `__heap_check_list`.
pub const CHECK_PAIR_BYTES: u32 = 8;

impl<M: Memory> Runtime<M> {
    /// The ref of the live heap block (managed or `__alloc`ed, never one of the runtime's own)
    /// whose payload holds the `len` bytes at `addr`, if any. Exact: the block is found through
    /// the heap's block-start map. Time: O(distance from the block's start / 512).
    pub fn payload_containing(&self, addr: u32, len: u32) -> Option<u32> {
        let block = self.heap.block_containing(addr)?;
        let r = block + HEADER_SIZE;
        let live = self.validate_managed(r).is_ok() || self.validate_unmanaged(r).is_ok();
        let end = r as u64 + self.rt_size(r) as u64;
        (live && addr >= r && addr as u64 + len as u64 <= end).then_some(r)
    }

    /// The rules both output buffers share: `[out, out + len)` inside memory (else
    /// `OutOfBounds`) and `out` 8-aligned (else `bad`). Returns whether the bytes lie in the
    /// native stack region, where any caller may write. Time: O(1).
    fn out_in_stack(&self, out: u32, len: u64, bad: Error) -> Result<bool, Error> {
        let end = out as u64 + len;
        if end > self.memory().size() as u64 {
            return Err(Error::OutOfBounds);
        }
        if !out.is_multiple_of(8) {
            return Err(bad);
        }
        let r = &self.roots;
        Ok(out >= r.stack_low && end <= r.stack_high as u64)
    }

    /// Checks `__gc_stats`'s `out`: 8-aligned, and its 64 bytes inside the native stack region
    /// or inside the payload of one live heap block. Time: that of
    /// [`Runtime::payload_containing`].
    pub fn check_stats_out(&self, out: u32) -> Result<(), Error> {
        if self.out_in_stack(out, STATS_BYTES as u64, Error::BadStatsBuffer)? {
            return Ok(());
        }
        match self.payload_containing(out, STATS_BYTES) {
            Some(_) => Ok(()),
            None => Err(Error::BadStatsBuffer),
        }
    }

    /// `__gc_stats(out)`: writes the eight figures of [`Runtime::stats`] at `out` as
    /// little-endian u64, after [`Runtime::check_stats_out`]; on error nothing is written.
    pub fn write_stats(&self, out: u32) -> Result<(), Error> {
        self.check_stats_out(out)?;
        for (i, w) in self.stats().words().iter().enumerate() {
            let at = out + 8 * i as u32;
            // SAFETY: `[out, out + 64)` lies inside memory (checked above), in memory nobody
            // but the caller uses; unaligned writes are fine either way.
            unsafe { (self.memory().ptr(at) as *mut u64).write_unaligned(w.to_le()) };
        }
        Ok(())
    }

    /// Checks `__heap_check_list`'s `out` for `capacity` pairs: nothing when `capacity` is 0;
    /// else 8-aligned, and its `8 x capacity` bytes inside the native stack region or inside
    /// the payload of one live `__alloc` block (`out` is its ref). Time: O(1).
    pub fn check_list_out(&self, out: u32, capacity: u32) -> Result<(), Error> {
        if capacity == 0 {
            return Ok(());
        }
        if out == 0 {
            return Err(Error::NullRef);
        }
        let len = capacity as u64 * CHECK_PAIR_BYTES as u64;
        if self.out_in_stack(out, len, Error::BadCheckBuffer)? {
            return Ok(());
        }
        if self.validate_unmanaged(out).is_ok() && self.rt_size(out) as u64 >= len {
            Ok(())
        } else {
            Err(Error::BadCheckBuffer)
        }
    }

    /// `__heap_check_list(out, capacity) -> total`: runs the checker of [`Runtime::check`] and
    /// writes the first `capacity` broken invariants at `out` as pairs of little-endian u32
    /// `(invariant, address)` ([`Invariant`] numbers them); returns how many there are in all
    /// (the same number `__heap_check` returns). `out` is checked first
    /// ([`Runtime::check_list_out`]); on error nothing is written. Time: O(heap).
    pub fn write_check_list(&self, out: u32, capacity: u32) -> Result<u32, Error> {
        self.check_list_out(out, capacity)?;
        let mut i = 0u32;
        let total = self.check_each(|invariant: Invariant, address| {
            if i < capacity {
                let at = out + CHECK_PAIR_BYTES * i;
                // SAFETY: `[out, out + 8 x capacity)` lies inside memory (checked above), in
                // memory that the caller owns and the checker never reads.
                unsafe {
                    let p = self.memory().ptr(at) as *mut u32;
                    p.write_unaligned((invariant as u32).to_le());
                    p.add(1).write_unaligned(address.to_le());
                }
            }
            i += 1;
        });
        Ok(total)
    }
}
