//! The block-start map: which 16-byte granules of the heap begin a used block. It makes ref
//! validation exact (ABI.md §6): a header forged inside a payload, a stale ref into a merged
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

use crate::memory::Memory;
use crate::object::ALIGN;

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
    fn locate(&self, offset: u32) -> Option<(u32, u32)> {
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
