//! The heap checker: walks every block of every region and every free list and reports each
//! broken invariant ([`Invariant`], listed in `invariant.rs`) with its address.
//! Time: O(blocks); for tests and `__heap_check`.

use super::Heap;
use super::starts::{StartMap, WORD_SPAN};
use crate::invariant::{Invariant, Violations};
use crate::memory::Memory;
use crate::object::{ALIGN, GC_INFO, GcInfo, MAX_PAYLOAD, MIN_BLOCK, RT_SIZE, block_size};

impl<M: Memory> Heap<M> {
    /// Calls `visit(block, v)` for every used, non-sentinel block in address order, and reports
    /// every broken heap invariant to `v`. Time: O(blocks + free blocks).
    pub fn check_into(
        &self,
        v: &mut Violations<'_>,
        mut visit: impl FnMut(u32, &mut Violations<'_>),
    ) {
        let end = self.mem.size();
        let (listed, listed_bytes) = self.bins.check(&self.mem, v);
        let (mut free_seen, mut free_bytes, mut regions) = (0u32, 0u64, 0u32);
        let mut block = self.start;
        let mut left_free = false;
        let mut bump_seen = false;
        let mut steps = 0u32;
        let map = self.start_map();
        let mut starts = 0u32;
        while block != 0 {
            steps += 1;
            if !block.is_multiple_of(ALIGN) {
                return v.report(Invariant::BlockMisaligned, block);
            }
            if block < self.start || block > end - MIN_BLOCK {
                return v.report(Invariant::BlockOutsideHeap, block);
            }
            if steps > end / 16 {
                return v.report(Invariant::ChainCycle, block);
            }
            // SAFETY: `block` is aligned and its 16-byte header lies below `end`.
            let info = unsafe { self.mm(block) };
            let size = info.size();
            if !size.is_multiple_of(ALIGN) || size < MIN_BLOCK || size > end - block {
                return v.report(Invariant::BlockSizeBad, block);
            }
            if info.is_left_free() != left_free {
                v.report(Invariant::LeftFreeBitWrong, block);
            }
            let bit = map.is_set(&self.mem, block - self.start);
            if info.is_free() {
                if bit {
                    v.report(Invariant::StartMapBitOnFree, block);
                }
                if left_free {
                    v.report(Invariant::AdjacentFree, block);
                }
                // SAFETY: the block's last word is inside it.
                if unsafe { self.mem.load(block + size - 4) } != block {
                    v.report(Invariant::FreeBackPointer, block);
                }
                if block == self.bump_block() {
                    bump_seen = true;
                } else if !self.listed(block, size) {
                    v.report(Invariant::FreeNotListed, block);
                }
                free_seen += 1;
                free_bytes += size as u64;
                left_free = true;
                block += size;
                continue;
            }
            left_free = false;
            // SAFETY: a used block has a full header.
            if unsafe { self.is_sentinel(block) } {
                if bit {
                    v.report(Invariant::StartMapBitOnSentinel, block);
                }
                regions += 1;
                // SAFETY: as above.
                let next = unsafe { self.mem.load(block + RT_SIZE) };
                if next == 0 && block != self.tail {
                    v.report(Invariant::SentinelChain, block);
                }
                block = next;
                continue;
            }
            // SAFETY: as above.
            let (gc, rt_size) =
                unsafe { (GcInfo(self.mem.load(block + GC_INFO)), self.mem.load(block + RT_SIZE)) };
            if rt_size > MAX_PAYLOAD || block_size(rt_size) != size {
                v.report(Invariant::UsedSizeMismatch, block);
            }
            if !gc.is_managed() && gc.kind().is_none() {
                v.report(Invariant::BadKind, block);
            }
            if !bit {
                v.report(Invariant::StartMapBitMissing, block);
            }
            starts += 1;
            visit(block, v);
            block += size;
        }
        let bump = self.bump_block();
        if bump != 0 {
            // The bump block is free but listed nowhere.
            // SAFETY: the bump block is a free block with a valid header.
            let info = unsafe { self.mm(bump) };
            if !info.is_free() || !bump_seen {
                return v.report(Invariant::BumpBlockBad, bump);
            }
            free_seen -= 1;
            free_bytes -= info.size() as u64;
        }
        if free_seen != listed
            || free_bytes != listed_bytes
            || free_bytes + bump_bytes(self) != self.free_bytes as u64
        {
            v.report(Invariant::FreeBytesMismatch, 0);
        }
        if regions != self.regions {
            v.report(Invariant::RegionCount, 0);
        }
        // Set bits inside blocks (not at their starts) are counted here: as many bits as starts.
        if map.count(&self.mem) != starts {
            v.report(Invariant::StartMapStrayBits, self.stray_start_bit(&map));
        } else if !self.is_block_start(map.words - 16) {
            v.report(Invariant::StartMapBlock, map.words - 16);
        }
    }

    /// Calls `visit(block)` for every used, non-sentinel block in address order, and counts the
    /// heap's broken invariants. Time: O(blocks + free blocks).
    pub fn check_with(&self, mut visit: impl FnMut(u32)) -> u32 {
        let mut ignore = |_: Invariant, _: u32| {};
        let mut v = Violations::new(&mut ignore);
        self.check_into(&mut v, |block, _| visit(block));
        v.count()
    }

    /// Counts the heap's broken invariants. Time: O(blocks).
    pub fn check(&self) -> u32 {
        self.check_with(|_| {})
    }

    /// For a report of [`Invariant::StartMapStrayBits`] (the walk succeeded): the address of
    /// the first set bit of the map that is not at a used, non-sentinel block's start, or the
    /// map's payload when every set bit is (the count differs by missing bits only).
    /// Time: O(blocks + map).
    fn stray_start_bit(&self, map: &StartMap) -> u32 {
        // Walk the blocks and the set bits together, both in address order.
        let mut block = self.start;
        let mut offset = 0u32;
        while offset < map.covered {
            let empty_word = offset.is_multiple_of(WORD_SPAN)
                // SAFETY: the word indexes the installed map (`offset` is covered).
                && unsafe { self.mem.load(map.words + 4 * (offset / WORD_SPAN)) } == 0;
            if empty_word {
                offset += WORD_SPAN;
                continue;
            }
            if !map.is_set(&self.mem, offset) {
                offset += ALIGN;
                continue;
            }
            let at = self.start + offset;
            // The next used, non-sentinel block at or after `at`.
            while block != 0 && block < at {
                // SAFETY: the walk in `check_into` went through this chain without a break.
                let info = unsafe { self.mm(block) };
                // SAFETY: as above.
                block = if !info.is_free() && unsafe { self.is_sentinel(block) } {
                    // SAFETY: as above: a sentinel's rtSize holds the next region's start.
                    unsafe { self.mem.load(block + RT_SIZE) }
                } else {
                    block + info.size()
                };
            }
            // SAFETY: as above.
            let used =
                block == at && unsafe { !self.mm(block).is_free() && !self.is_sentinel(block) };
            if !used {
                return at;
            }
            offset += ALIGN;
        }
        map.words
    }
    /// Whether the class of a free block of `size` bytes is marked non-empty. Together with the
    /// counts compared in [`Heap::check_with`] (every listed block is a free block of its class
    /// with a valid back pointer, and as many listed as walked), this finds unlisted blocks
    /// without an O(n²) list search. Time: O(1).
    fn listed(&self, _block: u32, size: u32) -> bool {
        let (fl, sl) = super::tlsf::mapping(size);
        self.bins.bit(fl, sl)
    }
}

/// Bytes of the heap's bump block (0 when none).
fn bump_bytes<M: Memory>(heap: &Heap<M>) -> u64 {
    match heap.bump_block() {
        0 => 0,
        // SAFETY: the bump block is a free block with a valid header.
        b => unsafe { heap.mm(b) }.size() as u64,
    }
}
