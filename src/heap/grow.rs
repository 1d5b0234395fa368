//! Growing the heap: asking `memory.grow` for pages, appending them to the last region or
//! opening a new region after pages another user of the memory took.
//!
//! ```text
//! ╒═ region 0 ══════════════════╤═ sentinel ═╕ (foreign pages) ╒═ region 1 ═════╤═ sentinel ═╕
//! │ blocks ...                  │ next: ─────┼────────────────▶│ blocks ...     │ next: 0    │
//! ╘═════════════════════════════╧════════════╛                 ╘════════════════╧════════════╛
//! ```
//!
//! Growth asks for what is needed plus an eighth of the current size (at most
//! [`super::GROW_STEP_CAP`] pages in all), then for exactly what is needed, plus the start map's
//! new block when the grown memory passes what the map covers; near the maximum, for the request
//! itself rather than its class's rounding.

use super::starts::StartMap;
use super::{
    FRAGMENTATION_SHIFT, GOAL_SLACK_SHIFT, GROW_FRACTION_SHIFT, GROW_STEP_CAP, Heap, tlsf,
};
use crate::memory::{Memory, PAGE_SIZE};
use crate::object::{
    ALIGN, GC_INFO, HEADER_SIZE, Kind, MAX_PAYLOAD, MIN_BLOCK, MmInfo, NO_TYPE, RT_ID, RT_SIZE,
    block_size,
};
use core::num::NonZeroU32;

impl<M: Memory> Heap<M> {
    /// Lays out `[start, end)` as one free block and a sentinel, linked after the current tail.
    ///
    /// # Safety
    /// The range is unused memory, 16-aligned, at least 32 bytes.
    pub(super) unsafe fn open_region(&mut self, start: u32, end: u32) {
        let sentinel = end - MIN_BLOCK;
        // SAFETY: every address written lies in [start, end), which the caller gives us.
        unsafe {
            self.write_sentinel(sentinel, 0);
            if self.tail != 0 {
                self.mem.store(self.tail + RT_SIZE, start);
            }
            if sentinel > start {
                self.set_mm(start, MmInfo::free(sentinel - start));
                self.make_free(start, sentinel - start);
            }
        }
        self.tail = sentinel;
        self.region_bytes += end - start;
        self.regions += 1;
    }

    /// # Safety
    /// `at` is 16 bytes of heap memory.
    pub(super) unsafe fn write_sentinel(&mut self, at: u32, next: u32) {
        // SAFETY: the caller owns the 16 bytes.
        unsafe {
            self.set_mm(at, MmInfo::used(MIN_BLOCK));
            self.mem.store(at + GC_INFO, Kind::Sentinel as u32);
            self.mem.store(at + RT_ID, NO_TYPE);
            self.mem.store(at + RT_SIZE, next);
        }
    }

    /// Grows the memory until the lists hold a block of `size` bytes; returns it.
    /// Asks for what is needed plus 1/2^[`GROW_FRACTION_SHIFT`] of the current size (capped at
    /// [`GROW_STEP_CAP`] pages), then for exactly what is needed, then fails (`None`: out of
    /// memory, its one error, so the block comes back in a register) leaving the heap as it was.
    #[cold]
    pub(super) fn grow_for(&mut self, size: u32) -> Option<NonZeroU32> {
        // Any block of `want` bytes is found by `find(size)`.
        let want = tlsf::round_up(size)?;
        for _ in 0..3 {
            let end = self.mem.size();
            let contiguous = self.tail + MIN_BLOCK == end;
            let reuse = if contiguous {
                // SAFETY: `tail` is the sentinel; with LEFTFREE its left neighbour's start is in
                // the word before it.
                unsafe {
                    if self.mm(self.tail).is_left_free() {
                        let left = self.mem.load(self.tail - 4);
                        self.mm(left).size()
                    } else {
                        0
                    }
                }
            } else {
                0
            };
            let extra = if contiguous { 0 } else { MIN_BLOCK };
            let room = (self.max_pages - self.mem.pages().min(self.max_pages)) as u64;
            let mut pages = self.pages_for(want, reuse, extra, end);
            if pages > room {
                // Near the maximum: grow for the request itself, not its class's rounding; the
                // block it makes is found by the exact-fit search (docs/ABI.md §6: memory is grown to
                // its maximum before out of memory).
                pages = self.pages_for(size, reuse, extra, end);
                if pages > room {
                    return None;
                }
            }
            let pages = pages as u32;
            let current = self.mem.pages();
            let room = self.max_pages - current;
            // What is needed plus a fraction of the memory, so memory follows the heap's peak
            // (not a doubling above it) while growth stays rare: O(log) grows to any size.
            let ahead = self.growth_pages(pages, current).min(GROW_STEP_CAP).min(room);
            let old = if ahead > pages {
                self.mem.grow(ahead).or_else(|| self.mem.grow(pages))
            } else {
                self.mem.grow(pages)
            };
            let old = old?;
            let new_start = old * PAGE_SIZE;
            let new_end = self.mem.size();
            if new_start == self.tail + MIN_BLOCK {
                // Append: the old sentinel and the new pages become one free block.
                let mut block = self.tail;
                let mut bytes = new_end - MIN_BLOCK - block;
                // SAFETY: [tail, new_end) is ours; the left neighbour, if free, is listed.
                unsafe {
                    let info = self.mm(block);
                    self.write_sentinel(new_end - MIN_BLOCK, 0);
                    if info.is_left_free() {
                        let left = self.mem.load(block - 4);
                        let lsize = self.mm(left).size();
                        self.take_free(left, lsize);
                        block = left;
                        bytes += lsize;
                    }
                    self.make_free(block, bytes);
                }
                self.tail = new_end - MIN_BLOCK;
                self.region_bytes += new_end - new_start;
            } else {
                // SAFETY: the new pages are ours; at least one page (>= 32 bytes).
                unsafe { self.open_region(new_start, new_end) };
            }
            // Cover the new memory now, so that allocations in it never move the map (and
            // `largest_free` stays allocatable without growth). Failing here is not fatal:
            // `allocate_block` tries again for a block that is not covered.
            if !self.starts.covers(new_end - MIN_BLOCK - self.start) {
                let _ = self.extend_map(new_end - MIN_BLOCK);
            }
            if let Some(b) = self.bins.find(size) {
                return NonZeroU32::new(b);
            }
            // Moving the map may have left the grown free block's remainder as the bump block.
            if self.bump != 0 && self.bump_free() >= size - HEADER_SIZE {
                return NonZeroU32::new(self.bump);
            }
        }
        None
    }

    /// Pages to grow by when `pages` are needed and the memory has `current`: the need plus an
    /// eighth of the memory, but no further than the collector's peak goal (when known) or a 32nd
    /// past the need, whichever is larger. The eighth keeps a growing heap's growths O(log);
    /// the goal keeps a heap in a steady state from ending up to an eighth above its peak.
    fn growth_pages(&self, pages: u32, current: u32) -> u32 {
        let eighth = pages + (current >> GROW_FRACTION_SHIFT);
        if self.peak_goal == 0 {
            return eighth;
        }
        let to_goal = self.peak_goal.div_ceil(PAGE_SIZE).saturating_sub(current);
        eighth.min(to_goal.max(pages + (current >> GOAL_SLACK_SHIFT)))
    }

    /// Records the used bytes the collector expects at the heap's next peak; growth's slack
    /// stops at the memory that holds them (with room for fragmentation). Time: O(1).
    pub fn set_peak_goal(&mut self, used: u64) {
        // The start map: one bit per 16 bytes of what it covers.
        let map = (self.starts.covered / (8 * ALIGN)) as u64;
        let bytes = self.start as u64 + used + (used >> FRAGMENTATION_SHIFT) + map;
        self.peak_goal = bytes.min(u32::MAX as u64) as u32;
    }

    /// The memory size in bytes growth's slack stops at ([`Heap::set_peak_goal`]); 0 before
    /// the first cycle ends.
    pub fn peak_goal(&self) -> u32 {
        self.peak_goal
    }

    /// Pages to grow so that a free block of `want` bytes exists: less what the free block before
    /// the sentinel (`reuse` bytes) gives, plus `extra` (a new region's sentinel) and the start
    /// map's new block if the grown memory passes what the map covers.
    pub(super) fn pages_for(&self, want: u32, reuse: u32, extra: u32, end: u32) -> u64 {
        let mut bytes = (want - want.min(reuse)) as u64 + extra as u64;
        bytes += self.map_growth(end as u64 + bytes) as u64;
        bytes.div_ceil(PAGE_SIZE as u64).max(1)
    }

    /// Bytes of the block a moved start map takes when memory grows to `end`: growth asks for
    /// them too, so the grown memory still holds what it grew for. 0 when the map covers `end`.
    pub(super) fn map_growth(&self, end: u64) -> u32 {
        let span = end.min(u32::MAX as u64) as u32 - self.start;
        if self.starts.covers(span.saturating_sub(MIN_BLOCK + 1)) {
            0
        } else {
            block_size(StartMap::bytes_for(span.saturating_mul(2)))
        }
    }

    /// Whether a block for `payload` bytes could fit in an otherwise empty heap at the memory's
    /// maximum; when it could not, no collection can help (out of memory at once).
    pub fn could_ever_fit(&self, payload: u32) -> bool {
        let most = self.max_pages as u64 * PAGE_SIZE as u64 - self.start as u64;
        payload <= MAX_PAYLOAD && block_size(payload) as u64 + 2 * MIN_BLOCK as u64 <= most
    }

    /// Grows memory, if needed, until one allocation of `payload` bytes fits without growing;
    /// returns whether it does. Time: O(1) plus `memory.grow`.
    pub fn reserve(&mut self, payload: u32) -> bool {
        if payload > MAX_PAYLOAD {
            return false;
        }
        let size = block_size(payload);
        self.bins.find(size).is_some()
            || self.bump_free() >= payload
            || self.grow_for(size).is_some()
    }
}
