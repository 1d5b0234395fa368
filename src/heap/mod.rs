//! The heap: TLSF blocks over linear memory from `__heap_base`, in one or more regions.
//!
//! ```text
//! ╒══════════════════════════ Linear memory (docs/ABI.md §1) ═══════════════════════════╕
//! │ Rust stack │ static data │ region 0 ..................... │ (foreign) │ region 1 │
//! 0            data start    heap start (__heap_base, 16-aligned)
//!
//! ╒════════════════════════════════ A region ══════════════════════════════════════╕
//! │ block │ block │ free block │ block │ ... │ sentinel (16 bytes, used)              │
//! ╘═══════╧═══════╧════════════╧═══════╧═════╧════════════════════════════════════════╛
//!   blocks tile the region exactly; the sentinel is a used block of kind Sentinel
//!   whose rtSize holds the start of the next region (0 for the last one).
//! ```
//!
//! Regions exist because another user of the memory (a Rust global allocator in a program that
//! links asrt) may grow it too: when the memory asrt gets from `memory.grow` does not continue its
//! last region, it opens a new one. Growth normally appends to the last region, merging with a
//! free block before the sentinel.
//!
//! The files, one mechanism each:
//!
//! | file | what it owns |
//! | --- | --- |
//! | `mod.rs` | the [`Heap`] and its fields, validation of refs, walks, figures |
//! | `tlsf.rs` | size classes, bitmaps and free lists (good fit and exact fit) |
//! | `alloc.rs` | splitting, the bump block, freeing with merges, resizing, moving |
//! | `grow.rs` | `memory.grow`, regions and sentinels, growth policy |
//! | `starts.rs` | the block-start map that makes validation exact |
//! | `check.rs` | the checker behind `__heap_check` |
//!
//! Invariants (checked by [`Heap::check`]):
//! - blocks tile each region; each is 16-aligned, a multiple of 16 bytes, at least 16;
//! - no two free blocks are adjacent; a block's LEFTFREE bit is set iff its left neighbour is free,
//!   and a free block's last word holds its own address;
//! - every free block is in exactly the list of its class; the bitmaps match the lists;
//! - a used block is exactly `block_size(rtSize)` bytes.

mod alloc;
mod check;
mod grow;
pub mod starts;
pub mod tlsf;

use crate::error::Error;
use crate::memory::{MAX_PAGES, Memory, PAGE_SIZE};
use crate::object::{
    ALIGN, GC_INFO, HEADER_SIZE, Kind, MAX_PAYLOAD, MIN_BLOCK, MM_INFO, MmInfo, NO_TYPE, RT_ID,
    RT_SIZE, block_size,
};
use starts::StartMap;
use tlsf::Bins;

/// The largest payload of a small object: `__new`'s fast path (no call, no frame) serves
/// payloads up to this size, and they are zeroed with straight-line stores.
pub const SMALL_PAYLOAD: u32 = 32;
/// The largest growth step: 8 MiB, unless one allocation needs more.
pub const GROW_STEP_CAP: u32 = 128;
/// Growth adds what an allocation needs plus `pages >> GROW_FRACTION_SHIFT` (an eighth of the
/// memory): memory ends within about 1/8 of the heap's peak, where doubling left up to 2x, and a
/// heap of `n` pages is reached in O(log n) growths.
pub const GROW_FRACTION_SHIFT: u32 = 3;
/// Growth past the collector's peak goal adds `pages >> GOAL_SLACK_SHIFT` (a 32nd) to what is
/// needed, instead of an eighth.
pub const GOAL_SLACK_SHIFT: u32 = 5;
/// Free space expected at the heap's peak, as `used >> FRAGMENTATION_SHIFT`: blocks too small for
/// the next request, and the free-list classes' rounding.
pub const FRAGMENTATION_SHIFT: u32 = 5;

/// The TLSF heap over a [`Memory`].
#[derive(Debug)]
pub struct Heap<M: Memory> {
    /// The linear memory.
    pub(crate) mem: M,
    /// Start of the first region: `__heap_base` rounded up to 16. Static data lies below it.
    start: u32,
    /// The sentinel of the last region; `tail + 16` is that region's end.
    tail: u32,
    /// The free lists.
    bins: Bins,
    /// Sum of the sizes of all free blocks.
    free_bytes: u32,
    /// Sum of the sizes of all regions, sentinels included.
    region_bytes: u32,
    /// Number of regions (each costs a 16-byte sentinel).
    regions: u32,
    /// The most pages the memory may reach (build-time cap, at most [`MAX_PAGES`]).
    max_pages: u32,
    /// A block address that merges keep pointing at a block start (the sweep's position); 0 for
    /// none. Invariant: 0 or the start of a block.
    cursor: u32,
    /// The split remainder allocation carves from first (dlmalloc's "designated victim"): a free
    /// block with a valid header that is in no list; 0 for none. Saves a list removal and
    /// insertion per allocation while many small objects come from one large free block.
    bump: u32,
    /// Which granules start a used block (exact validation). Covers every used block, and the
    /// whole memory except when moving the map failed for lack of memory.
    starts: StartMap,
    /// Set while the map is being moved (its own allocation may grow memory).
    extending: bool,
    /// The memory size (bytes) the collector expects the heap's next peak to need, 0 when
    /// unknown: growth's slack stops there ([`Heap::set_peak_goal`]).
    peak_goal: u32,
}

impl<M: Memory> Heap<M> {
    /// A heap over `mem` starting at `heap_base`, growing the memory up to `max_pages`.
    /// Grows the memory if it cannot hold the first region. Time: O(1).
    pub fn new(mut mem: M, heap_base: u32, max_pages: u32) -> Result<Self, Error> {
        let start = heap_base.checked_add(ALIGN - 1).ok_or(Error::OutOfMemory)? & !(ALIGN - 1);
        let max_pages = max_pages.min(MAX_PAGES);
        let need = start.checked_add(2 * MIN_BLOCK).ok_or(Error::OutOfMemory)?;
        if mem.size() < need {
            let pages = (need - mem.size()).div_ceil(PAGE_SIZE);
            if mem.pages() + pages > max_pages || mem.grow(pages).is_none() {
                return Err(Error::OutOfMemory);
            }
        }
        let mut heap = Heap {
            mem,
            start,
            tail: 0,
            bins: Bins::new(),
            free_bytes: 0,
            region_bytes: 0,
            regions: 0,
            max_pages,
            cursor: 0,
            bump: 0,
            starts: StartMap::default(),
            extending: false,
            peak_goal: 0,
        };
        let end = heap.mem.size();
        // SAFETY: [start, end) is memory nobody else uses (above __heap_base), at least 32 bytes.
        unsafe { heap.open_region(start, end) };
        heap.extend_map(start)?;
        Ok(heap)
    }

    /// The linear memory.
    pub fn memory(&self) -> &M {
        &self.mem
    }

    /// Start of the heap (the first block).
    pub fn start(&self) -> u32 {
        self.start
    }

    /// The last region's sentinel: every used block ends at or below it, and it lies inside
    /// memory, so no extent of an object (heap or static) need reach past it.
    #[inline(always)]
    pub(crate) fn tail(&self) -> u32 {
        self.tail
    }

    /// The mmInfo word of the block at `block`.
    ///
    /// # Safety
    /// `block` is the start of a block of this heap (or of a header in memory).
    #[inline(always)]
    unsafe fn mm(&self, block: u32) -> MmInfo {
        // SAFETY: the caller guarantees the header is in memory.
        MmInfo(unsafe { self.mem.load_at(block, MM_INFO) })
    }

    /// Writes the mmInfo word of the block at `block`.
    ///
    /// # Safety
    /// `block`'s header is memory this heap owns.
    #[inline(always)]
    unsafe fn set_mm(&self, block: u32, info: MmInfo) {
        // SAFETY: the caller guarantees the header is ours.
        unsafe { self.mem.store_at(block, MM_INFO, info.0) }
    }

    /// Sets or clears the LEFTFREE bit of the block at `block`.
    ///
    /// # Safety
    /// As for [`Heap::set_mm`].
    #[inline(always)]
    unsafe fn set_left_free(&self, block: u32, on: bool) {
        // SAFETY: the caller guarantees the header is ours.
        unsafe { self.set_mm(block, self.mm(block).with_left_free(on)) }
    }

    /// Checks that `ptr` is the ref of a live block of this heap (not free, not a sentinel);
    /// returns its block address. Exact: the start map has a bit for every used block and for
    /// nothing else, so bytes inside a payload that imitate a header, a stale ref into a freed
    /// or merged block, and foreign pages are all rejected. The header's size must also agree
    /// with its rtSize (a header compiled code overwrote is not trusted). Time: O(1).
    #[inline(always)]
    pub fn validate(&self, ptr: u32) -> Result<u32, Error> {
        if let Some(block) = self.block_start(ptr) {
            // SAFETY: a start bit is set: `block` is a used block below `tail`, header in memory.
            let (info, size) = unsafe { (self.mm(block), self.mem.load_at(block, RT_SIZE)) };
            if Self::sizes_agree(block, info.size(), size, self.tail) {
                return Ok(block);
            }
        }
        Err(self.validate_error(ptr))
    }

    /// Whether a used block's mmInfo size and its rtSize agree, and the block ends at or below
    /// the last sentinel (`validate`'s check 5).
    #[inline(always)]
    fn sizes_agree(block: u32, bsize: u32, size: u32, tail: u32) -> bool {
        size <= MAX_PAYLOAD && bsize == block_size(size) && bsize <= tail - block
    }

    /// Why [`Heap::validate`] refused `ptr` (out of line: the accepting path is the hot one; the
    /// error comes back in a register, so that path needs no stack frame).
    #[cold]
    #[inline(never)]
    fn validate_error(&self, ptr: u32) -> Error {
        if ptr == 0 {
            return Error::NullRef;
        }
        if !ptr.is_multiple_of(ALIGN) {
            return Error::Unaligned;
        }
        let end = self.mem.size();
        if ptr < self.start + HEADER_SIZE || ptr > end - MIN_BLOCK {
            return Error::OutsideHeap;
        }
        let block = ptr - HEADER_SIZE;
        // SAFETY: block >= start and block + 16 <= end - 16: the header is in bounds.
        let info = unsafe { self.mm(block) };
        if !self.starts.is_set(&self.mem, block - self.start) && info.is_free() {
            return Error::AlreadyFree;
        }
        // No start bit on a used header (bytes in a payload, a swallowed block), or a start
        // bit whose sizes disagree (or which lies past the last sentinel: a stray bit).
        Error::NotABlock
    }

    /// The block of `ptr` when a used block starts right below it: [`Heap::validate`]'s checks
    /// of the ref itself (aligned, inside the heap, its start bit set), for the exports called
    /// once per object from JavaScript that never read the block's extent (`__link`, `__pin`,
    /// `__unpin`); `None` for anything else, with no error to tell apart (the caller asks
    /// `validate` which). Exact as `validate` is: the start map alone rejects forged headers,
    /// stale refs and foreign pages. It skips `validate`'s check that the header's size agrees
    /// with its rtSize: those exports read only gcInfo and rtId, and every reader of a block's
    /// extent bounds it itself (the tracer by the block size, whatever rtSize says, and by the
    /// last region's sentinel, whatever mmInfo says), because compiled code may overwrite a
    /// header after any check (docs/ABI.md §6.1, §6.8). The bounds come from the last
    /// region's sentinel instead of the memory's size: every used block ends at or below `tail`,
    /// and `tail + 16` is inside memory, so one compare checks both ends (an address below the
    /// heap wraps to a large offset). Time: O(1).
    #[inline(always)]
    pub fn block_start(&self, ptr: u32) -> Option<u32> {
        let block = ptr.wrapping_sub(HEADER_SIZE);
        let off = block.wrapping_sub(self.start);
        let starts_here = ptr.is_multiple_of(ALIGN)
            && off < self.tail - self.start
            && self.starts.is_set(&self.mem, off);
        starts_here.then_some(block)
    }

    /// The first block of the heap, for walks. Returns `(block, mmInfo)` pairs via [`Heap::next_block`].
    pub fn first_block(&self) -> u32 {
        self.start
    }

    /// The block after `block` in address order, skipping to the next region at a sentinel;
    /// 0 after the last block. Time: O(1).
    ///
    /// # Safety
    /// `block` is the start of a block of this heap.
    #[inline]
    pub unsafe fn next_block(&self, block: u32) -> u32 {
        // SAFETY: `block` starts a block, so its header and its right neighbour are in bounds.
        unsafe {
            let info = self.mm(block);
            if !info.is_free() && self.is_sentinel(block) {
                self.mem.load_at(block, RT_SIZE)
            } else {
                block + info.size()
            }
        }
    }

    /// Whether the used block `block` is a region sentinel.
    ///
    /// # Safety
    /// `block` is the start of a used block.
    #[inline]
    pub unsafe fn is_sentinel(&self, block: u32) -> bool {
        // SAFETY: a used block has a full header.
        unsafe {
            self.mem.load_at(block, GC_INFO) == Kind::Sentinel as u32
                && self.mm(block).size() == MIN_BLOCK
                && self.mem.load_at(block, RT_ID) == NO_TYPE
        }
    }

    /// Sets the position merges must keep at a block start (the sweep cursor); 0 for none.
    pub(crate) fn set_cursor(&mut self, block: u32) {
        self.cursor = block;
    }

    /// The current cursor (possibly moved left by merges).
    pub(crate) fn cursor(&self) -> u32 {
        self.cursor
    }

    /// Start-map words that can hold a bit: those covering the heap from its start to the last
    /// region's sentinel, as far as the map reaches. Time: O(1).
    pub(crate) fn start_words(&self) -> u32 {
        (self.tail - self.start).min(self.starts.covered).div_ceil(starts::WORD_SPAN)
    }

    /// Bytes from the heap start to the end of memory.
    pub fn heap_bytes(&self) -> u32 {
        self.mem.size() - self.start
    }

    /// Bytes in used blocks (headers included), not counting the heap's own overhead: region
    /// sentinels and the start map's block ([`Heap::map_block_bytes`]).
    pub fn used_bytes(&self) -> u32 {
        self.region_bytes - self.free_bytes - self.regions * MIN_BLOCK - self.map_block_bytes()
    }

    /// Bytes in free blocks.
    pub fn free_bytes(&self) -> u32 {
        self.free_bytes
    }

    /// The largest payload an allocation can get without growing memory. Time: O(1).
    pub fn largest_free(&self) -> u32 {
        self.bump_free().max(self.largest_listed())
    }

    /// The largest payload the bump block serves (its whole size less a header); 0 for none.
    pub fn bump_free(&self) -> u32 {
        if self.bump == 0 {
            0
        } else {
            // SAFETY: the bump block is a free block with a valid header.
            (unsafe { self.mm(self.bump) }.size() - HEADER_SIZE).min(MAX_PAYLOAD)
        }
    }

    /// The bump block, 0 for none (for the checker).
    pub(crate) fn bump_block(&self) -> u32 {
        self.bump
    }

    fn largest_listed(&self) -> u32 {
        match self.bins.highest() {
            None => 0,
            Some((fl, sl)) => {
                let class = tlsf::class_start(fl, sl).max(MIN_BLOCK);
                // The good-fit search finds this class for any block size up to its start; in
                // the exact classes, for any block of the class.
                (class - HEADER_SIZE).min(MAX_PAYLOAD)
            }
        }
    }
}
