//! The block-start map: which 16-byte granules of the heap begin a used block. It makes ref
//! validation exact (docs/ABI.md §6): a header forged inside a payload, a stale ref into a merged
//! block, or an address in foreign pages between regions has no bit, whatever its bytes say.
//!
//! ```text
//! ╒══════════ The map (payload of an Internal heap block) ═══════════╕
//! │ word 0: bits 0..31 │ word 1: bits 32..63 │ ...                     │
//! ╘═════════════════════════════════════════════════════════════════╛
//!   bit g  <=>  a used, non-sentinel block starts at  heap start + 16 g
//!
//! ╒═════════════ Address space covered (1 bit per 16 bytes: 1/128 of it) ═══════════╕
//! │ heap start ......................................... heap start + covered │ beyond │
//! ╘═════════════════════════════════════════════════════════════════════════════════╛
//!   every used block starts below `start + covered`; when the heap grows past it the map is
//!   moved to a block twice as large (so moves are rare: O(log heap) of them in all)
//! ```
//!
//! Invariants (checked by [`super::Heap::check`]): the map's own block is a used Internal block
//! whose bit is set; a bit is set iff a used, non-sentinel block starts at its granule; no bit
//! at or beyond `covered` exists. Free blocks and sentinels have no bit.

use super::Heap;
use crate::error::Error;
use crate::memory::Memory;
use crate::object::{
    ALIGN, GC_INFO, HEADER_SIZE, Kind, MIN_BLOCK, NO_TYPE, RT_ID, RT_SIZE, block_size,
};

/// The location and extent of the block-start map.
#[derive(Debug, Clone, Copy, Default)]
pub struct StartMap {
    /// Address of the first map word (the payload of an Internal block); 0 before the first.
    pub(crate) words: u32,
    /// Bytes of address space from the heap start that the map covers: a multiple of
    /// `32 * ALIGN` (one word), 0 before the first map.
    pub(crate) covered: u32,
}

/// Bytes of address space one map word covers.
pub const WORD_SPAN: u32 = 32 * ALIGN;

impl StartMap {
    /// The word address and bit mask of the granule at `offset` from the heap start, if covered.
    #[inline(always)]
    pub(super) fn locate(&self, offset: u32) -> Option<(u32, u32)> {
        if offset >= self.covered {
            return None;
        }
        let g = offset / ALIGN;
        Some((self.words + 4 * (g / 32), 1 << (g % 32)))
    }

    /// Whether a used block starts at `offset` from the heap start. Time: O(1).
    #[inline(always)]
    pub fn is_set<M: Memory>(&self, mem: &M, offset: u32) -> bool {
        match self.locate(offset) {
            // SAFETY: the map's words lie inside its own live block.
            Some((word, bit)) => (unsafe { mem.load(word) }) & bit != 0,
            None => false,
        }
    }

    /// Whether every offset below `end` is covered.
    #[inline(always)]
    pub fn covers_all(&self, end: u32) -> bool {
        end <= self.covered
    }

    /// Whether `offset` is covered (a bit can be set there).
    #[inline(always)]
    pub fn covers(&self, offset: u32) -> bool {
        offset < self.covered
    }

    /// Sets the bit of `offset`, which must be covered. Time: O(1).
    ///
    /// # Safety
    /// The map is installed (its words are memory of its own block).
    #[inline(always)]
    pub unsafe fn set<M: Memory>(&self, mem: &M, offset: u32) {
        if let Some((word, bit)) = self.locate(offset) {
            // SAFETY: the caller guarantees the map's words are ours.
            unsafe { mem.store(word, mem.load(word) | bit) };
        }
    }

    /// Sets the bit of `offset`, which the caller knows is covered: no bounds test (the
    /// allocation fast path).
    ///
    /// # Safety
    /// The map is installed and `offset < covered`.
    #[inline(always)]
    pub unsafe fn set_covered<M: Memory>(&self, mem: &M, offset: u32) {
        let word = self.words + ((offset / WORD_SPAN) << 2);
        let bit = 1 << ((offset / ALIGN) % 32);
        // SAFETY: the caller guarantees `offset` is covered, so `word` is a word of the map.
        unsafe { mem.store(word, mem.load(word) | bit) };
    }

    /// Clears the bit of `offset` (nothing when not covered). Time: O(1).
    ///
    /// # Safety
    /// As for [`StartMap::set`].
    #[inline(always)]
    pub unsafe fn clear<M: Memory>(&self, mem: &M, offset: u32) {
        if let Some((word, bit)) = self.locate(offset) {
            // SAFETY: the caller guarantees the map's words are ours.
            unsafe { mem.store(word, mem.load(word) & !bit) };
        }
    }

    /// Clears the bits of every granule in `[from, to)` (offsets; the part beyond `covered` is
    /// ignored), a word at a time. Time: O((to - from) / 512 + 1).
    ///
    /// # Safety
    /// As for [`StartMap::set`].
    pub unsafe fn clear_range<M: Memory>(&self, mem: &M, from: u32, to: u32) {
        let to = to.min(self.covered);
        if from >= to {
            return;
        }
        let (g0, g1) = (from / ALIGN, (to - 1) / ALIGN);
        let (w0, w1) = (g0 / 32, g1 / 32);
        for w in w0..=w1 {
            let lo = if w == w0 { g0 % 32 } else { 0 };
            let hi = if w == w1 { g1 % 32 } else { 31 };
            let mask = (u32::MAX >> (31 - hi)) & (u32::MAX << lo);
            let at = self.words + 4 * w;
            // SAFETY: `w` indexes a word of the installed map.
            unsafe { mem.store(at, mem.load(at) & !mask) };
        }
    }

    /// The offset of the nearest set bit at or below `offset`, if any: the start of the block
    /// that holds the address, when `offset` is inside a used block. Time: O(distance / 512).
    pub fn last_at_or_below<M: Memory>(&self, mem: &M, offset: u32) -> Option<u32> {
        if self.covered == 0 {
            return None;
        }
        let g = offset.min(self.covered - 1) / ALIGN;
        let mut w = g / 32;
        // Bits above `g` in its word do not count.
        let mut mask = if g % 32 == 31 { u32::MAX } else { (1u32 << (g % 32 + 1)) - 1 };
        loop {
            // SAFETY: `w` indexes a word of the installed map.
            let bits = unsafe { mem.load(self.words + 4 * w) } & mask;
            if bits != 0 {
                let top = 31 - bits.leading_zeros();
                return Some((w * 32 + top) * ALIGN);
            }
            if w == 0 {
                return None;
            }
            w -= 1;
            mask = u32::MAX;
        }
    }

    /// Map bytes needed to cover `span` bytes of address space (whole words, 16-aligned).
    pub fn bytes_for(span: u32) -> u32 {
        let words = span.div_ceil(WORD_SPAN);
        (words * 4).next_multiple_of(ALIGN)
    }

    /// Number of set bits (for the checker). Time: O(covered / 512).
    pub fn count<M: Memory>(&self, mem: &M) -> u32 {
        let mut n = 0;
        for w in 0..self.covered / WORD_SPAN {
            // SAFETY: `w` indexes a word of the installed map.
            n += unsafe { mem.load(self.words + 4 * w) }.count_ones();
        }
        n
    }
}

impl<M: Memory> Heap<M> {
    /// Moves the start map to a block that covers `need` and twice the memory's current extent.
    /// On error (out of memory) the map is as it was. Time: O(map size).
    #[cold]
    pub(super) fn extend_map(&mut self, need: u32) -> Result<(), Error> {
        if self.extending {
            // Growth for the map's own block: the outer call covers the grown memory.
            return Ok(());
        }
        self.extending = true;
        let limit = ((1u64 << 32) - self.start as u64) / WORD_SPAN as u64;
        let result = loop {
            let extent = (need as u64 + MIN_BLOCK as u64).max(self.mem.size() as u64);
            let span = ((extent - self.start as u64) * 2).div_ceil(WORD_SPAN as u64);
            let words = span.min(limit) as u32;
            let bytes = StartMap::bytes_for(words * WORD_SPAN);
            let covered =
                ((bytes as u64 / 4) * WORD_SPAN as u64).min(limit * WORD_SPAN as u64) as u32;
            let Some(block) = self.allocate_raw(block_size(bytes)) else {
                break Err(Error::OutOfMemory);
            };
            let block = block.get();
            let end = self.mem.size() - self.start;
            if block - self.start < covered && need - self.start < covered && end <= covered {
                // SAFETY: `block` is a fresh used block of `block_size(bytes)` bytes.
                unsafe { self.install_map(block, bytes, covered) };
                break Ok(());
            }
            // Memory grew past the planned extent while the block was found: plan again.
            // SAFETY: `block` is the used block just allocated.
            unsafe { self.release_block(block) };
        };
        self.extending = false;
        result
    }

    /// Makes `block` the start map: copies the old map's bits, frees the old map's block.
    ///
    /// # Safety
    /// `block` is a fresh used block with a `bytes`-byte payload; `covered` is a multiple of
    /// [`WORD_SPAN`] at most `bytes * 128` and at least the old map's.
    pub(super) unsafe fn install_map(&mut self, block: u32, bytes: u32, covered: u32) {
        let words = block + HEADER_SIZE;
        let old = self.starts;
        // SAFETY: the caller gives us the block; the old map's words are its own block's.
        unsafe {
            self.mem.store(block + GC_INFO, Kind::Internal as u32);
            self.mem.store(block + RT_ID, NO_TYPE);
            self.mem.store(block + RT_SIZE, bytes);
            self.mem.zero(words, bytes);
            if old.words != 0 {
                self.mem.copy(words, old.words, old.covered / WORD_SPAN * 4);
            }
        }
        self.starts = StartMap { words, covered };
        // SAFETY: the new map is installed and covers `block`.
        unsafe { self.starts.set(&self.mem, block - self.start) };
        if old.words != 0 {
            // SAFETY: the old map's block is a used Internal block nobody refers to any more.
            unsafe { self.release_block(old.words - HEADER_SIZE) };
        }
    }

    /// Whether a used, non-sentinel block starts at `block` (exact). Time: O(1).
    #[inline(always)]
    pub fn is_block_start(&self, block: u32) -> bool {
        block >= self.start
            && block.is_multiple_of(ALIGN)
            && self.starts.is_set(&self.mem, block - self.start)
    }

    /// The used block whose extent holds the address `addr`, if any (exact).
    /// Time: O(distance from the block start / 512).
    pub fn block_containing(&self, addr: u32) -> Option<u32> {
        if addr < self.start {
            return None;
        }
        let block = self.start + self.starts.last_at_or_below(&self.mem, addr - self.start)?;
        // SAFETY: a set bit marks the start of a used block, whose header is in bounds.
        let size = unsafe { self.mm(block) }.size();
        (addr - block < size).then_some(block)
    }

    /// Forgets the start of a used block that a caller is about to swallow into a neighbour.
    ///
    /// # Safety
    /// `block` starts a used block of this heap.
    pub(crate) unsafe fn forget_start(&mut self, block: u32) {
        // SAFETY: the map is installed (it is from `new` on).
        unsafe { self.starts.clear(&self.mem, block - self.start) };
    }

    /// Bytes of the start map's block: the heap's fixed overhead, 1/128 of the address space
    /// it covers (counted in used bytes, like the pin table).
    pub fn map_block_bytes(&self) -> u32 {
        block_size(StartMap::bytes_for(self.starts.covered))
    }

    /// Forgets the starts of every used block beginning in `[from, to)`: blocks a caller is
    /// about to free together or swallow into the block before `from`.
    ///
    /// # Safety
    /// `[from, to)` lies in this heap and holds only whole blocks being swallowed.
    pub(crate) unsafe fn forget_starts_in(&mut self, from: u32, to: u32) {
        // SAFETY: the map is installed (it is from `new` on).
        unsafe { self.starts.clear_range(&self.mem, from - self.start, to - self.start) };
    }

    /// The start map (for the checker).
    pub(crate) fn start_map(&self) -> StartMap {
        self.starts
    }
}
