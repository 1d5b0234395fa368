//! The heap: TLSF blocks over linear memory from `__heap_base`, in one or more regions.
//!
//! ```text
//! ╒══════════════════════════ Linear memory (ABI.md §1) ═══════════════════════════╕
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
//! Invariants (checked by [`Heap::check`]):
//! - blocks tile each region; each is 16-aligned, a multiple of 16 bytes, at least 16;
//! - no two free blocks are adjacent; a block's LEFTFREE bit is set iff its left neighbour is free,
//!   and a free block's last word holds its own address;
//! - every free block is in exactly the list of its class; the bitmaps match the lists;
//! - a used block is exactly `block_size(rtSize)` bytes.

mod check;
pub mod starts;
pub mod tlsf;

use crate::error::Error;
use crate::memory::{MAX_PAGES, Memory, PAGE_SIZE};
use crate::object::{
    ALIGN, GC_INFO, GcInfo, HEADER_SIZE, Kind, MAX_PAYLOAD, MIN_BLOCK, MM_INFO, MmInfo, NO_TYPE,
    RT_ID, RT_SIZE, TAGS, block_size,
};
use starts::StartMap;
use tlsf::Bins;

/// The largest growth step beyond what an allocation needs: 8 MiB (keeps a heap paced at the
/// default 100% near 2x its live size; larger steps overshoot by up to a step).
pub const GROW_STEP_CAP: u32 = 128;

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
}

/// The size of a block, from its mmInfo word.
#[inline(always)]
fn size_of_info(info: u32) -> u32 {
    (info & !TAGS) + 4
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

    /// The mmInfo word of the block at `block`.
    ///
    /// # Safety
    /// `block` is the start of a block of this heap (or of a header in memory).
    #[inline(always)]
    unsafe fn mm(&self, block: u32) -> MmInfo {
        // SAFETY: the caller guarantees the header is in memory.
        MmInfo(unsafe { self.mem.load(block + MM_INFO) })
    }

    /// Writes the mmInfo word of the block at `block`.
    ///
    /// # Safety
    /// `block`'s header is memory this heap owns.
    #[inline(always)]
    unsafe fn set_mm(&self, block: u32, info: MmInfo) {
        // SAFETY: the caller guarantees the header is ours.
        unsafe { self.mem.store(block + MM_INFO, info.0) }
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

    /// Lays out `[start, end)` as one free block and a sentinel, linked after the current tail.
    ///
    /// # Safety
    /// The range is unused memory, 16-aligned, at least 32 bytes.
    unsafe fn open_region(&mut self, start: u32, end: u32) {
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
    unsafe fn write_sentinel(&mut self, at: u32, next: u32) {
        // SAFETY: the caller owns the 16 bytes.
        unsafe {
            self.set_mm(at, MmInfo::used(MIN_BLOCK));
            self.mem.store(at + GC_INFO, Kind::Sentinel as u32);
            self.mem.store(at + RT_ID, NO_TYPE);
            self.mem.store(at + RT_SIZE, next);
        }
    }

    /// Turns `[block, block + size)` into a listed free block: mmInfo (keeping nothing of the old
    /// tags), back pointer, the right neighbour's LEFTFREE bit, the lists, the free counter.
    ///
    /// # Safety
    /// The range is a run of memory inside one region whose neighbours are not free, followed by a
    /// block (at least the sentinel).
    #[inline]
    unsafe fn make_free(&mut self, block: u32, size: u32) {
        // SAFETY: the caller guarantees the range and its right neighbour's header exist.
        unsafe {
            self.list_free(block, size);
            let right = block + size;
            self.set_left_free(right, true);
        }
    }

    /// Like [`Heap::make_free`] but leaves the right neighbour alone (its LEFTFREE bit is
    /// already set: the range ends where a free block ended).
    ///
    /// # Safety
    /// As for `make_free`, and the right neighbour already has LEFTFREE.
    #[inline(always)]
    unsafe fn list_free(&mut self, block: u32, size: u32) {
        // SAFETY: the caller guarantees the range.
        unsafe {
            self.set_mm(block, MmInfo::free(size));
            self.mem.store(block + size - 4, block);
            self.bins.insert(&self.mem, block, size);
        }
        self.free_bytes += size;
        if self.cursor > block && self.cursor < block + size {
            self.cursor = block;
        }
    }

    /// Unlists the free block `block` of `size` bytes and clears its right neighbour's LEFTFREE.
    ///
    /// # Safety
    /// `block` is a listed free block of `size` bytes.
    #[inline]
    unsafe fn take_free(&mut self, block: u32, size: u32) {
        // SAFETY: the caller guarantees `block` is listed; its right neighbour exists.
        unsafe {
            self.unlist_free(block, size);
            let right = block + size;
            self.set_left_free(right, false);
        }
    }

    /// Unlists the free block `block` of `size` bytes, leaving its right neighbour's LEFTFREE bit
    /// for the caller (who re-lists a free block ending at the same place, or clears it).
    ///
    /// # Safety
    /// `block` is a listed free block of `size` bytes.
    #[inline(always)]
    unsafe fn unlist_free(&mut self, block: u32, size: u32) {
        if block == self.bump {
            self.bump = 0;
        } else {
            // SAFETY: the caller guarantees `block` is listed (it is not the bump block).
            unsafe { self.bins.remove(&self.mem, block, size) };
        }
        self.free_bytes -= size;
    }

    /// Allocates a used block of at least `size` bytes (a multiple of 16) and records its start,
    /// growing the memory if needed. Writes mmInfo only. Time: O(1) plus the engine's
    /// `memory.grow` (and, once the heap outgrows the start map, moving the map).
    #[inline]
    fn allocate_block(&mut self, size: u32) -> Result<u32, Error> {
        let block = self.allocate_raw(size)?;
        let offset = block - self.start;
        if !self.starts.covers(offset)
            && let Err(e) = self.extend_map(block)
        {
            // SAFETY: `block` is the used block just allocated; nobody refers to it.
            unsafe { self.free_block(block) };
            return Err(e);
        }
        // SAFETY: the map is installed and covers `block`.
        unsafe { self.starts.set(&self.mem, offset) };
        Ok(block)
    }

    /// Moves the start map to a block that covers `need` and twice the memory's current extent.
    /// On error (out of memory) the map is as it was. Time: O(map size).
    #[cold]
    fn extend_map(&mut self, need: u32) -> Result<(), Error> {
        if self.extending {
            // Growth for the map's own block: the outer call covers the grown memory.
            return Ok(());
        }
        self.extending = true;
        let limit = ((1u64 << 32) - self.start as u64) / starts::WORD_SPAN as u64;
        let result = loop {
            let extent = (need as u64 + MIN_BLOCK as u64).max(self.mem.size() as u64);
            let span = ((extent - self.start as u64) * 2).div_ceil(starts::WORD_SPAN as u64);
            let words = span.min(limit) as u32;
            let bytes = StartMap::bytes_for(words * starts::WORD_SPAN);
            let covered = ((bytes as u64 / 4) * starts::WORD_SPAN as u64)
                .min(limit * starts::WORD_SPAN as u64) as u32;
            let block = match self.allocate_raw(block_size(bytes)) {
                Ok(b) => b,
                Err(e) => break Err(e),
            };
            let end = self.mem.size() - self.start;
            if block - self.start < covered && need - self.start < covered && end <= covered {
                // SAFETY: `block` is a fresh used block of `block_size(bytes)` bytes.
                unsafe { self.install_map(block, bytes, covered) };
                break Ok(());
            }
            // Memory grew past the planned extent while the block was found: plan again.
            // SAFETY: `block` is the used block just allocated.
            unsafe { self.free_block(block) };
        };
        self.extending = false;
        result
    }

    /// Makes `block` the start map: copies the old map's bits, frees the old map's block.
    ///
    /// # Safety
    /// `block` is a fresh used block with a `bytes`-byte payload; `covered` is a multiple of
    /// [`starts::WORD_SPAN`] at most `bytes * 128` and at least the old map's.
    unsafe fn install_map(&mut self, block: u32, bytes: u32, covered: u32) {
        let words = block + HEADER_SIZE;
        let old = self.starts;
        // SAFETY: the caller gives us the block; the old map's words are its own block's.
        unsafe {
            self.mem.store(block + GC_INFO, Kind::Internal as u32);
            self.mem.store(block + RT_ID, NO_TYPE);
            self.mem.store(block + RT_SIZE, bytes);
            self.mem.zero(words, bytes);
            if old.words != 0 {
                self.mem.copy(words, old.words, old.covered / starts::WORD_SPAN * 4);
            }
        }
        self.starts = StartMap { words, covered };
        // SAFETY: the new map is installed and covers `block`.
        unsafe { self.starts.set(&self.mem, block - self.start) };
        if old.words != 0 {
            // SAFETY: the old map's block is a used Internal block nobody refers to any more.
            unsafe { self.free_block(old.words - HEADER_SIZE) };
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

    /// The start map (for the checker).
    pub(crate) fn start_map(&self) -> StartMap {
        self.starts
    }

    /// Like [`Heap::allocate_block`] without recording the start.
    fn allocate_raw(&mut self, size: u32) -> Result<u32, Error> {
        if self.bump != 0 {
            let block = self.bump;
            // SAFETY: the bump block is a free block with a valid header.
            let have = unsafe { self.mm(block) }.size();
            if have >= size && have - size < MIN_BLOCK {
                // The whole bump block.
                // SAFETY: the bump block is a free block; its right neighbour exists.
                unsafe {
                    self.set_mm(block, MmInfo::used(have));
                    self.set_left_free(block + have, false);
                }
                self.bump = 0;
                self.free_bytes -= have;
                return Ok(block);
            }
            if have >= size + MIN_BLOCK {
                let rest = block + size;
                // SAFETY: [block, block + have) is the bump block; the new header and the back
                // pointer lie inside it; its right neighbour keeps LEFTFREE.
                unsafe {
                    self.set_mm(block, MmInfo::used(size));
                    self.set_mm(rest, MmInfo::free(have - size));
                    self.mem.store(block + have - 4, rest);
                }
                self.bump = rest;
                self.free_bytes -= size;
                return Ok(block);
            }
        }
        let block = match self.bins.find(size) {
            Some(b) => b,
            None => match self.grow_for(size) {
                Ok(b) => b,
                // Memory is at its maximum: an exactly fitting block the good-fit search skips
                // (one in the request's own class) is the last resort (ABI.md §6).
                Err(e) => self.bins.find_exact(&self.mem, size).ok_or(e)?,
            },
        };
        // SAFETY: `find`/`grow_for`/`find_exact` return a free block of at least `size` bytes,
        // listed or the bump block (`unlist_free` handles both).
        unsafe {
            let have = self.mm(block).size();
            self.unlist_free(block, have);
            if have - size >= MIN_BLOCK {
                // The remainder ends where the free block did: its right neighbour keeps
                // LEFTFREE. It becomes the bump block; the old one goes back to the lists.
                self.set_mm(block, MmInfo::used(size));
                let old = self.bump;
                if old != 0 {
                    let osize = self.mm(old).size();
                    self.bins.insert(&self.mem, old, osize);
                }
                let rest = block + size;
                self.set_mm(rest, MmInfo::free(have - size));
                self.mem.store(block + have - 4, rest);
                self.free_bytes += have - size;
                self.bump = rest;
            } else {
                self.set_mm(block, MmInfo::used(have));
                let right = block + have;
                self.set_left_free(right, false);
            }
        }
        Ok(block)
    }

    /// Grows the memory until the lists hold a block of `size` bytes; returns it.
    /// Asks for the larger of what is needed and the current size (capped at
    /// [`GROW_STEP_CAP`] pages), then for exactly what is needed, then fails with
    /// [`Error::OutOfMemory`] leaving the heap as it was.
    #[cold]
    fn grow_for(&mut self, size: u32) -> Result<u32, Error> {
        // Any block of `want` bytes is found by `find(size)`.
        let want = tlsf::round_up(size).ok_or(Error::OutOfMemory)?;
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
                // block it makes is found by the exact-fit search (ABI.md §6: memory is grown to
                // its maximum before out of memory).
                pages = self.pages_for(size, reuse, extra, end);
                if pages > room {
                    return Err(Error::OutOfMemory);
                }
            }
            let pages = pages as u32;
            let current = self.mem.pages();
            let room = self.max_pages - current;
            // Doubling, but in steps of at most GROW_STEP_CAP pages once the memory is large,
            // so a heap sized by the collector's pacing is not overshot by a whole doubling.
            let double = current.min(GROW_STEP_CAP).min(room);
            let old = if double > pages {
                self.mem.grow(double).or_else(|| self.mem.grow(pages))
            } else {
                self.mem.grow(pages)
            };
            let old = old.ok_or(Error::OutOfMemory)?;
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
                return Ok(b);
            }
            // Moving the map may have left the grown free block's remainder as the bump block.
            if self.bump != 0 && self.bump_free() >= size - HEADER_SIZE {
                return Ok(self.bump);
            }
        }
        Err(Error::OutOfMemory)
    }

    /// Pages to grow so that a free block of `want` bytes exists: less what the free block before
    /// the sentinel (`reuse` bytes) gives, plus `extra` (a new region's sentinel) and the start
    /// map's new block if the grown memory passes what the map covers.
    fn pages_for(&self, want: u32, reuse: u32, extra: u32, end: u32) -> u64 {
        let mut bytes = (want - want.min(reuse)) as u64 + extra as u64;
        bytes += self.map_growth(end as u64 + bytes) as u64;
        bytes.div_ceil(PAGE_SIZE as u64).max(1)
    }

    /// Bytes of the block a moved start map takes when memory grows to `end`: growth asks for
    /// them too, so the grown memory still holds what it grew for. 0 when the map covers `end`.
    fn map_growth(&self, end: u64) -> u32 {
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
        self.bins.find(size).is_some() || self.bump_free() >= payload || self.grow_for(size).is_ok()
    }

    /// Frees the used block `block`, merging it with free neighbours. Time: O(1).
    ///
    /// # Safety
    /// `block` is a used, non-sentinel block of this heap.
    pub(crate) unsafe fn free_block(&mut self, block: u32) {
        // SAFETY: the caller guarantees `block` is a used block; neighbours exist (sentinel).
        unsafe {
            self.forget_start(block);
            let info = self.mm(block);
            let mut start = block;
            let mut size = info.size();
            let right = block + size;
            let rinfo = self.mm(right);
            let right_free = rinfo.is_free();
            if right_free {
                let rsize = rinfo.size();
                self.unlist_free(right, rsize);
                size += rsize;
            }
            if info.is_left_free() {
                let left = self.mem.load(block - 4);
                let lsize = self.mm(left).size();
                self.unlist_free(left, lsize);
                // The swallowed header reads as free, so a stale ref to it is rejected.
                self.set_mm(block, info.with_free());
                start = left;
                size += lsize;
            }
            if right_free {
                // Ends where the right free block ended: that block's neighbour has LEFTFREE.
                self.list_free(start, size);
            } else {
                self.make_free(start, size);
            }
        }
    }

    /// Resizes the used block `block` to `size` bytes in place if its right neighbour allows;
    /// returns whether it did. Splits off any remainder. Time: O(1).
    ///
    /// # Safety
    /// `block` is a used, non-sentinel block of this heap; `size` is a multiple of 16, >= 16.
    pub(crate) unsafe fn resize_in_place(&mut self, block: u32, size: u32) -> bool {
        // SAFETY: the caller guarantees `block` is a used block; its right neighbour exists.
        unsafe {
            let info = self.mm(block);
            let have = info.size();
            if size <= have {
                if have - size >= MIN_BLOCK {
                    self.set_mm(block, info.with_size(size));
                    let rest = block + size;
                    self.set_mm(rest, MmInfo::used(have - size));
                    self.free_block(rest);
                }
                return true;
            }
            let right = block + have;
            let rinfo = self.mm(right);
            if !rinfo.is_free() || have + rinfo.size() < size {
                return false;
            }
            let total = have + rinfo.size();
            self.unlist_free(right, rinfo.size());
            if self.cursor > block && self.cursor < block + total {
                self.cursor = block;
            }
            if total - size >= MIN_BLOCK {
                self.set_mm(block, info.with_size(size));
                self.list_free(block + size, total - size);
            } else {
                self.set_mm(block, info.with_size(total));
                let after = block + total;
                self.set_left_free(after, false);
            }
            true
        }
    }

    /// Allocates a block for `payload` bytes with the given gcInfo and rtId; returns the ref.
    /// The payload is not initialised. Time: O(1) plus growth.
    pub fn alloc_object(&mut self, payload: u32, gc_info: u32, rt_id: u32) -> Result<u32, Error> {
        if payload > MAX_PAYLOAD {
            return Err(Error::SizeTooLarge);
        }
        let block = self.allocate_block(block_size(payload))?;
        // SAFETY: `block` is a fresh used block of at least 16 bytes.
        unsafe {
            self.mem.store(block + GC_INFO, gc_info);
            self.mem.store(block + RT_ID, rt_id);
            self.mem.store(block + RT_SIZE, payload);
        }
        Ok(block + HEADER_SIZE)
    }

    /// Checks that `ptr` is the ref of a live block of this heap (not free, not a sentinel or a
    /// tombstone); returns its block address. Checks alignment, the heap's bounds, the FREE bit,
    /// the size against rtSize, the kind, and the right neighbour's LEFTFREE bit. Time: O(1).
    pub fn validate(&self, ptr: u32) -> Result<u32, Error> {
        if ptr == 0 {
            return Err(Error::NullRef);
        }
        if !ptr.is_multiple_of(ALIGN) {
            return Err(Error::Unaligned);
        }
        let end = self.mem.size();
        if ptr < self.start + HEADER_SIZE || ptr > end - MIN_BLOCK {
            return Err(Error::OutsideHeap);
        }
        let block = ptr - HEADER_SIZE;
        // SAFETY: block >= start and block + 16 <= end - 16: the header is in bounds.
        let (info, gc, size) = unsafe {
            (self.mm(block), GcInfo(self.mem.load(block + GC_INFO)), self.mem.load(block + RT_SIZE))
        };
        if info.is_free() {
            return Err(Error::AlreadyFree);
        }
        // Exact: bytes inside a payload that imitate a header, or a stale ref into a merged
        // block, have no start bit.
        if !self.starts.is_set(&self.mem, block - self.start) {
            return Err(Error::NotABlock);
        }
        let bsize = info.size();
        let kind_ok =
            gc.is_managed() || matches!(gc.kind(), Some(Kind::Unmanaged | Kind::Internal));
        if size > MAX_PAYLOAD
            || bsize != block_size(size)
            || bsize > end - MIN_BLOCK - block
            || !kind_ok
        {
            return Err(Error::NotABlock);
        }
        // SAFETY: block + bsize <= end - 16: the right neighbour's header is in bounds.
        if unsafe { self.mm(block + bsize) }.is_left_free() {
            return Err(Error::NotABlock);
        }
        Ok(block)
    }

    /// Reallocates the unmanaged or managed block behind `ptr` (already validated) to hold
    /// `payload` bytes, in place when possible, else by moving (the old block is freed unless
    /// `keep_old`). Copies `min(old rtSize, payload)` bytes and updates rtSize; the caller zeroes
    /// any grown tail. Returns the new ref. On error nothing has changed.
    ///
    /// # Safety
    /// `ptr` passed [`Heap::validate`].
    pub(crate) unsafe fn resize_object(
        &mut self,
        ptr: u32,
        payload: u32,
        keep_old: bool,
    ) -> Result<u32, Error> {
        if payload > MAX_PAYLOAD {
            return Err(Error::SizeTooLarge);
        }
        let block = ptr - HEADER_SIZE;
        // SAFETY: `ptr` is validated, so the header is a used block's.
        unsafe {
            let old = self.mem.load(block + RT_SIZE);
            #[cfg(feature = "rtrace")] // rtrace hook
            let old_extent = self.mm(block).size();
            if self.resize_in_place(block, block_size(payload)) {
                self.mem.store(block + RT_SIZE, payload);
                #[cfg(feature = "rtrace")] // rtrace hook
                if self.mm(block).size() != old_extent {
                    crate::rtrace::resize(block, old_extent);
                }
                return Ok(ptr);
            }
            let gc = self.mem.load(block + GC_INFO);
            let id = self.mem.load(block + RT_ID);
            let new = self.alloc_object(payload, gc, id)?;
            #[cfg(feature = "rtrace")] // rtrace hook
            crate::rtrace::alloc(new - HEADER_SIZE, payload);
            self.mem.copy(new, ptr, old.min(payload));
            if !keep_old {
                #[cfg(feature = "rtrace")] // rtrace hooks
                {
                    crate::rtrace::moved(block, new - HEADER_SIZE);
                    crate::rtrace::free(block);
                }
                self.free_block(block);
            }
            Ok(new)
        }
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
                self.mem.load(block + RT_SIZE)
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
            self.mem.load(block + GC_INFO) == Kind::Sentinel as u32
                && self.mm(block).size() == MIN_BLOCK
                && self.mem.load(block + RT_ID) == NO_TYPE
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
