//! Allocation and freeing inside the heap's regions: splitting a free block, the bump block,
//! merging with free neighbours (both at once), resizing in place, and moving.
//!
//! ```text
//! allocate s bytes:   bump block ──▶ good-fit class (tlsf.rs) ──▶ grow (grow.rs) ──▶ exact fit
//!                     ╒═════ free block (have bytes) ═════╕
//!        split:       │ used (s) │ rest: the new bump block│   rest >= 16, else the whole block
//!                     ╘══════════╧═════════════════════════╛
//! free:               │ free? │ block │ free? │  ──▶  │ one free block │   (LEFTFREE finds the
//!                                                                         left neighbour's start)
//! ```
//!
//! Every operation here is O(1) (the exact-fit search, on the way to out of memory only, is
//! O(blocks in one class)); the start map (starts.rs) records each used block's start.

use super::{Heap, SMALL_PAYLOAD};

use core::num::NonZeroU32;

use crate::error::Error;
use crate::memory::Memory;
use crate::object::{
    GC_INFO, HEADER_SIZE, Kind, MAX_PAYLOAD, MIN_BLOCK, MmInfo, NO_TYPE, RT_ID, RT_SIZE, block_size,
};

impl<M: Memory> Heap<M> {
    /// Turns `[block, block + size)` into a listed free block: mmInfo (keeping nothing of the old
    /// tags), back pointer, the right neighbour's LEFTFREE bit, the lists, the free counter.
    /// (Of these four, only `make_free` and `take_free` count: the merging paths below list and
    /// unlist without counting and add the net change once, which is what they free or take.)
    ///
    /// # Safety
    /// The range is a run of memory inside one region whose neighbours are not free, followed by a
    /// block (at least the sentinel).
    #[inline]
    pub(super) unsafe fn make_free(&mut self, block: u32, size: u32) {
        // SAFETY: the caller guarantees the range and its right neighbour's header exist.
        unsafe {
            self.list_free(block, size);
            let right = block + size;
            self.set_left_free(right, true);
        }
        self.free_bytes += size;
    }

    /// Like [`Heap::make_free`] but leaves the right neighbour alone (its LEFTFREE bit is
    /// already set: the range ends where a free block ended), and leaves `free_bytes` to the
    /// caller.
    ///
    /// # Safety
    /// As for `make_free`, and the right neighbour already has LEFTFREE.
    #[inline(always)]
    pub(super) unsafe fn list_free(&mut self, block: u32, size: u32) {
        // SAFETY: the caller guarantees the range.
        unsafe {
            self.set_mm(block, MmInfo::free(size));
            self.mem.store(block + size - 4, block);
            self.bins.insert(&self.mem, block, size);
        }
        if self.cursor > block && self.cursor < block + size {
            self.cursor = block;
        }
    }

    /// Unlists the free block `block` of `size` bytes and clears its right neighbour's LEFTFREE.
    ///
    /// # Safety
    /// `block` is a listed free block of `size` bytes.
    #[inline]
    pub(super) unsafe fn take_free(&mut self, block: u32, size: u32) {
        // SAFETY: the caller guarantees `block` is listed; its right neighbour exists.
        unsafe {
            self.unlist_free(block, size);
            let right = block + size;
            self.set_left_free(right, false);
        }
        self.free_bytes -= size;
    }

    /// Unlists the free block `block` of `size` bytes, leaving its right neighbour's LEFTFREE bit
    /// for the caller (who re-lists a free block ending at the same place, or clears it), and
    /// `free_bytes` too.
    ///
    /// # Safety
    /// `block` is a listed free block of `size` bytes.
    #[inline(always)]
    pub(super) unsafe fn unlist_free(&mut self, block: u32, size: u32) {
        if block == self.bump {
            self.bump = 0;
        } else {
            // SAFETY: the caller guarantees `block` is listed (it is not the bump block).
            unsafe { self.bins.remove(&self.mem, block, size) };
        }
    }

    /// Allocates a used block of at least `size` bytes (a multiple of 16) and records its start,
    /// growing the memory if needed. Writes mmInfo only. Time: O(1) plus the engine's
    /// `memory.grow` (and, once the heap outgrows the start map, moving the map).
    #[inline(always)]
    pub(super) fn allocate_block(&mut self, size: u32) -> Result<u32, Error> {
        if let Some(block) = self.allocate_bumped(size) {
            return Ok(block);
        }
        let block = self.allocate_raw(size).ok_or(Error::OutOfMemory)?.get();
        let offset = block - self.start;
        if !self.starts.covers(offset) {
            self.cover_new_block(block)?;
        }
        // SAFETY: the map is installed and covers `block` (checked just above).
        unsafe { self.starts.set_covered(&self.mem, offset) };
        Ok(block)
    }

    /// A used block of `size` bytes (a multiple of 16) split off the bump block, its start
    /// recorded; `None` when the bump block is too small. Time: O(1), no list touched.
    #[inline(always)]
    fn allocate_bumped(&mut self, size: u32) -> Option<u32> {
        let block = self.allocate_from_bump(size)?;
        // SAFETY: the map is installed and covers the whole bump block (an invariant:
        // `allocate_raw` makes only a covered remainder the bump block).
        unsafe { self.starts.set_covered(&self.mem, block - self.start) };
        Some(block)
    }

    /// Moves the start map so that it covers the fresh used block `block`; on failure frees
    /// the block again (out of line: the map covers all memory but after a failed growth).
    #[cold]
    #[inline(never)]
    fn cover_new_block(&mut self, block: u32) -> Result<(), Error> {
        self.extend_map(block).inspect_err(|_| {
            // SAFETY: `block` is the used block just allocated; nobody refers to it.
            unsafe { self.release_block(block) }
        })
    }

    /// The fast path of [`Heap::allocate_block`]: `size` bytes split off the front of the bump
    /// block, which stays a free block of at least `MIN_BLOCK`. Without recording the start.
    /// Time: O(1), no list touched.
    #[inline(always)]
    fn allocate_from_bump(&mut self, size: u32) -> Option<u32> {
        let block = self.bump;
        if block == 0 {
            return None;
        }
        // SAFETY: the bump block is a free block with a valid header.
        let have = unsafe { self.mm(block) }.size();
        if have < size + MIN_BLOCK {
            return None;
        }
        let rest = block + size;
        // SAFETY: [block, block + have) is the bump block; the new header and the back pointer
        // lie inside it; its right neighbour keeps LEFTFREE.
        unsafe {
            self.set_mm(block, MmInfo::used(size));
            self.set_mm(rest, MmInfo::free(have - size));
            self.mem.store(block + have - 4, rest);
        }
        self.bump = rest;
        self.free_bytes -= size;
        Some(block)
    }

    /// Like [`Heap::allocate_block`] without recording the start (every case but the bump
    /// fast path, kept out of line so that path stays small); `None` is out of memory (its one
    /// error, so the block comes back in a register rather than through the stack).
    #[inline]
    pub(super) fn allocate_raw(&mut self, size: u32) -> Option<NonZeroU32> {
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
                return NonZeroU32::new(block);
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
                return NonZeroU32::new(block);
            }
        }
        let block = match self.bins.find(size) {
            Some(b) => b,
            None => match self.grow_for(size) {
                Some(b) => b.get(),
                // Memory is at its maximum: an exactly fitting block the good-fit search skips
                // (one in the request's own class) is the last resort (docs/ABI.md §6).
                None => self.bins.find_exact(&self.mem, size)?.get(),
            },
        };
        // SAFETY: `find`/`grow_for`/`find_exact` return a free block of at least `size` bytes,
        // listed or the bump block (`unlist_free` handles both).
        unsafe {
            let have = self.mm(block).size();
            self.unlist_free(block, have);
            if have - size >= MIN_BLOCK {
                // The remainder ends where the free block did: its right neighbour keeps
                // LEFTFREE. It becomes the bump block (the old one goes back to the lists) if
                // the start map covers all of it, so the bump path never checks coverage.
                self.set_mm(block, MmInfo::used(size));
                let rest = block + size;
                self.set_mm(rest, MmInfo::free(have - size));
                self.mem.store(block + have - 4, rest);
                self.free_bytes -= size;
                if self.starts.covers_all(block + have - self.start) {
                    let old = self.bump;
                    if old != 0 {
                        let osize = self.mm(old).size();
                        self.bins.insert(&self.mem, old, osize);
                    }
                    self.bump = rest;
                } else {
                    self.bins.insert(&self.mem, rest, have - size);
                }
            } else {
                self.set_mm(block, MmInfo::used(have));
                let right = block + have;
                self.set_left_free(right, false);
                self.free_bytes -= have;
            }
        }
        NonZeroU32::new(block)
    }

    /// Frees the used block `block`, merging it with free neighbours. Time: O(1).
    ///
    /// # Safety
    /// `block` is a used, non-sentinel block of this heap.
    #[inline(always)]
    pub(crate) unsafe fn free_block(&mut self, block: u32) {
        // SAFETY: the caller's.
        unsafe {
            self.forget_start(block);
            self.free_forgotten(block);
        }
    }

    /// [`Heap::free_block`] out of line, for the cold callers (the runtime's tables, the start
    /// map's moves): one copy of the merging code serves them all, while the hot paths (`__free`,
    /// the sweep, resizing) keep theirs inlined.
    ///
    /// # Safety
    /// As for [`Heap::free_block`].
    #[inline(never)]
    pub(crate) unsafe fn release_block(&mut self, block: u32) {
        // SAFETY: the caller's.
        unsafe { self.free_block(block) }
    }

    /// [`Heap::free_block`] for a block whose start the caller has already forgotten (the
    /// sweep forgets a whole run of dead blocks in one map update). Time: O(1).
    ///
    /// # Safety
    /// As for [`Heap::free_block`], and the start map has no bit for `block`.
    #[inline(always)]
    pub(crate) unsafe fn free_forgotten(&mut self, block: u32) {
        // SAFETY: the caller guarantees `block` is a used block; neighbours exist (sentinel).
        unsafe {
            let info = self.mm(block);
            let mut start = block;
            let mut size = info.size();
            // Merging moves free bytes between blocks: only the block's own bytes are new.
            self.free_bytes += size;
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
                self.list_free(start, size);
                self.set_left_free(start + size, true);
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
                    // `rest` has no start bit in a sound heap, but clearing one costs little:
                    // when compiled code forged this block's size words over a live neighbour,
                    // that neighbour's bit must not outlive its block (docs/ABI.md §6.8).
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
            self.free_bytes -= rinfo.size();
            if self.cursor > block && self.cursor < block + total {
                self.cursor = block;
            }
            if total - size >= MIN_BLOCK {
                self.set_mm(block, info.with_size(size));
                self.list_free(block + size, total - size);
                self.free_bytes += total - size;
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
    #[inline(always)]
    pub fn alloc_object(&mut self, payload: u32, gc_info: u32, rt_id: u32) -> Result<u32, Error> {
        if payload > MAX_PAYLOAD {
            return Err(Error::SizeTooLarge);
        }
        let block = self.allocate_block(block_size(payload))?;
        // SAFETY: `block` is a fresh used block for `payload` bytes.
        Ok(unsafe { self.write_object_header(block, gc_info, rt_id, payload) })
    }

    /// Writes a fresh block's gcInfo, rtId and rtSize; returns its ref.
    ///
    /// # Safety
    /// `block` is a used block just allocated for `payload` bytes.
    #[inline(always)]
    unsafe fn write_object_header(
        &mut self,
        block: u32,
        gc_info: u32,
        rt_id: u32,
        payload: u32,
    ) -> u32 {
        // SAFETY: the header's words lie in the caller's block.
        unsafe {
            self.mem.store_at(block, GC_INFO, gc_info);
            self.mem.store_at(block, RT_ID, rt_id);
            self.mem.store_at(block, RT_SIZE, payload);
        }
        block + HEADER_SIZE
    }

    /// [`Heap::alloc_object`] from the bump block only, for a payload of 1 to [`SMALL_PAYLOAD`]
    /// bytes, which comes back zeroed: `None` when the bump block cannot hold it (the caller
    /// takes the full path; nothing changed). Time: O(1), no list touched, no growth.
    ///
    /// # Safety
    /// `payload` is 1 to `SMALL_PAYLOAD` ([`crate::gc::is_small`]): the zeroing does not test
    /// it, and a payload of 0 has no room, so its first 16 bytes would be the next block's header.
    #[inline(always)]
    pub(crate) unsafe fn alloc_small_bumped(
        &mut self,
        payload: u32,
        gc_info: u32,
        rt_id: u32,
    ) -> Option<u32> {
        debug_assert!((1..=SMALL_PAYLOAD).contains(&payload));
        let block = self.allocate_bumped(block_size(payload))?;
        // SAFETY: `block` is a fresh used block for `payload` bytes, whose payload room (the
        // payload rounded up to 16) is 16 bytes at least, as `payload` is not 0, and 32 bytes
        // when it is more than 16.
        unsafe {
            self.zero_16(block, HEADER_SIZE);
            if payload > 16 {
                self.zero_16(block, HEADER_SIZE + 16);
            }
            Some(self.write_object_header(block, gc_info, rt_id, payload))
        }
    }

    /// Zeroes the 16 bytes at `base + offset` with four word stores (which LLVM merges; a
    /// constant `offset` folds into them).
    ///
    /// # Safety
    /// `[base + offset, base + offset + 16)` lies in a block the caller owns, 16-aligned;
    /// `base` lies in memory.
    #[inline(always)]
    pub(crate) unsafe fn zero_16(&self, base: u32, offset: u32) {
        for i in 0..4 {
            // SAFETY: the caller's range, word by word.
            unsafe { self.mem.store_at(base, offset + 4 * i, 0) };
        }
    }

    /// A zeroed Internal block of `bytes` payload bytes (the runtime's own tables: pins,
    /// ephemerons); returns its payload. Time: O(bytes) plus growth.
    pub fn alloc_table(&mut self, bytes: u32) -> Result<u32, Error> {
        let table = self.alloc_object(bytes, Kind::Internal as u32, NO_TYPE)?;
        // SAFETY: the new block holds `bytes` payload bytes.
        unsafe { self.mem.zero(table, bytes) };
        Ok(table)
    }

    /// Reallocates the unmanaged or managed block behind `ptr` (already validated) to hold
    /// `payload` bytes, in place when possible, else by moving (the old block is freed unless
    /// `keep_old`). Copies `min(old rtSize, payload)` bytes and updates rtSize; the caller zeroes
    /// any grown tail. Returns the new ref; `None` is out of memory (its one error: the ref
    /// comes back in a register), and then nothing has changed.
    ///
    /// # Safety
    /// `ptr` passed [`Heap::validate`]; `payload <= MAX_PAYLOAD` (the caller reports larger
    /// sizes as [`Error::SizeTooLarge`]).
    pub(crate) unsafe fn resize_object(
        &mut self,
        ptr: u32,
        payload: u32,
        keep_old: bool,
    ) -> Option<NonZeroU32> {
        debug_assert!(payload <= MAX_PAYLOAD);
        let block = ptr - HEADER_SIZE;
        // SAFETY: `ptr` is validated, so the header is a used block's.
        unsafe {
            let old = self.mem.load_at(block, RT_SIZE);
            #[cfg(feature = "rtrace")] // rtrace hook
            let old_extent = self.mm(block).size();
            if self.resize_in_place(block, block_size(payload)) {
                self.mem.store_at(block, RT_SIZE, payload);
                #[cfg(feature = "rtrace")] // rtrace hook
                if self.mm(block).size() != old_extent {
                    crate::rtrace::resize(block, old_extent);
                }
                return NonZeroU32::new(ptr);
            }
            let gc = self.mem.load_at(block, GC_INFO);
            let id = self.mem.load_at(block, RT_ID);
            let fresh = self.allocate_block(block_size(payload)).ok()?;
            let new = self.write_object_header(fresh, gc, id, payload);
            #[cfg(feature = "rtrace")] // rtrace hook
            crate::rtrace::alloc(new - HEADER_SIZE, payload);
            self.mem.copy(new, ptr, old.min(payload));
            if !keep_old {
                #[cfg(feature = "rtrace")] // rtrace hooks
                {
                    crate::rtrace::moved(block, new - HEADER_SIZE);
                    crate::rtrace::free(block);
                }
                // Out of line: a move copies the payload anyway, and one copy of the merging
                // code is enough.
                self.release_block(block);
            }
            NonZeroU32::new(new)
        }
    }
}

#[cfg(all(test, any(not(target_arch = "wasm32"), feature = "std")))]
mod tests {
    use super::*;
    use crate::memory::HostMemory;
    use crate::memory::PAGE_SIZE;
    use crate::object::HEADER_SIZE;

    /// A free block that the start map covers only in part (as after growth whose map move
    /// failed): allocating its covered front must not make the uncovered rest the bump block,
    /// which allocation would then carve without a coverage test.
    #[test]
    fn an_uncovered_remainder_is_listed_not_bumped() {
        let mut heap = Heap::new(HostMemory::new(1, 64), 1024, 64).unwrap();
        let first = heap.alloc_object(64, Kind::Unmanaged as u32, NO_TYPE).unwrap();
        // Grow through the heap (the tail free block takes the new pages), then narrow the
        // map's coverage to end inside that free block: a state a failed map move leaves (it
        // is consistent only if growth did not make the tail the bump block).
        assert!(heap.reserve(8 * PAGE_SIZE));
        let tail = heap.bump_block().max(first + 64);
        let covered = (tail - heap.start + 2 * PAGE_SIZE) & !(super::super::starts::WORD_SPAN - 1);
        assert!(covered < heap.mem.size() - heap.start, "the map must end inside the tail");
        heap.starts.covered = covered;
        assert_eq!(heap.check(), 0, "narrowed coverage leaves no uncovered bump block");
        // Take the covered front of the big free block; what is left crosses the map's end.
        let ptr = heap.alloc_object(PAGE_SIZE, Kind::Unmanaged as u32, NO_TYPE).unwrap();
        assert!(ptr - heap.start < covered);
        assert_eq!(heap.check(), 0, "no uncovered bump block (BumpBlockBad)");
        // Allocations beyond the map's end still record their starts (the map moves).
        let mut last = ptr;
        for _ in 0..16 {
            last = heap.alloc_object(PAGE_SIZE / 2, Kind::Unmanaged as u32, NO_TYPE).unwrap();
        }
        assert!(last - heap.start >= covered, "the test reached beyond the old coverage");
        assert_eq!(heap.validate(last), Ok(last - HEADER_SIZE));
        assert_eq!(heap.check(), 0);
    }
}
