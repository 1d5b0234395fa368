//! Where an export may write for its caller: `__gc_stats`'s output buffer (ABI.md §5).
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

use crate::error::Error;
use crate::memory::Memory;
use crate::object::HEADER_SIZE;
use crate::runtime::Runtime;

/// Bytes `__gc_stats` writes: eight u64.
pub const STATS_BYTES: u32 = 64;

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

    /// Checks `__gc_stats`'s `out`: 8-aligned, and its 64 bytes inside the native stack region
    /// or inside the payload of one live heap block. Time: that of
    /// [`Runtime::payload_containing`].
    pub fn check_stats_out(&self, out: u32) -> Result<(), Error> {
        let end = out as u64 + STATS_BYTES as u64;
        if end > self.memory().size() as u64 {
            return Err(Error::OutOfBounds);
        }
        if !out.is_multiple_of(8) {
            return Err(Error::BadStatsBuffer);
        }
        let r = &self.roots;
        if out >= r.stack_low && end <= r.stack_high as u64 {
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
}
