//! The heap checker: walks every block of every region and every free list and reports each
//! broken invariant ([`Invariant`], listed in `invariant.rs`) with its address.
//!
//! One function per invariant or group of invariants, in the style of Lua's `lgc` checker;
//! each reports what broke and where. [`Heap::check_into`] only walks and calls them:
//!
//! | function | invariants |
//! | --- | --- |
//! | [`Bins::check`](super::tlsf::Bins::check) | the free lists and their bitmaps |
//! | `check_block_placed` | `BlockMisaligned`, `BlockOutsideHeap`, `ChainCycle`, `BlockSizeBad` |
//! | `check_left_free_bit` | `LeftFreeBitWrong` |
//! | `check_free_block` | `StartMapBitOnFree`, `AdjacentFree`, `FreeBackPointer`, `FreeNotListed` |
//! | `check_sentinel` | `StartMapBitOnSentinel`, `SentinelChain` |
//! | `check_used_block` | `UsedSizeMismatch`, `BadKind`, `StartMapBitMissing` |
//! | `check_bump_block` | `BumpBlockBad` |
//! | `check_free_totals` | `FreeBytesMismatch` |
//! | `check_region_count` | `RegionCount` |
//! | `check_start_map` | `StartMapStrayBits`, `StartMapBlock` |
//!
//! Time: O(blocks); for tests and `__heap_check`.

use super::Heap;
use super::starts::{StartMap, WORD_SPAN};
use crate::invariant::{Invariant, Violations};
use crate::memory::Memory;
use crate::object::{ALIGN, GC_INFO, GcInfo, MAX_PAYLOAD, MIN_BLOCK, MmInfo, RT_SIZE, block_size};

/// What the block walk has seen so far: its position and the totals that the checks after the
/// walk compare with the heap's counters.
#[derive(Default)]
struct Walk {
    /// Blocks visited (a cycle shows as more than one per 16 bytes of memory).
    steps: u32,
    /// Whether the block before the current one was free.
    left_free: bool,
    /// Whether the walk reached the bump block.
    bump_seen: bool,
    /// Free blocks walked, the bump block included.
    free_blocks: u32,
    /// Bytes of the free blocks walked, the bump block included.
    free_bytes: u64,
    /// Sentinels walked.
    regions: u32,
    /// Used, non-sentinel blocks walked: each must have its bit in the start map.
    starts: u32,
}

impl<M: Memory> Heap<M> {
    /// Calls `visit(block, v)` for every used, non-sentinel block in address order, and reports
    /// every broken heap invariant to `v`. Time: O(blocks + free blocks).
    pub fn check_into(
        &self,
        v: &mut Violations<'_>,
        mut visit: impl FnMut(u32, &mut Violations<'_>),
    ) {
        let (listed, listed_bytes) = self.bins.check(&self.mem, v);
        let map = self.start_map();
        let mut walk = Walk::default();
        let mut block = self.start;
        while block != 0 {
            walk.steps += 1;
            let Some(info) = self.check_block_placed(block, walk.steps, v) else {
                return; // the chain is unwalkable: nothing beyond is checked
            };
            self.check_left_free_bit(block, info, walk.left_free, v);
            let bit = map.is_set(&self.mem, block - self.start);
            // SAFETY: a used block that passed `check_block_placed` has a full header.
            let sentinel = !info.is_free() && unsafe { self.is_sentinel(block) };
            block = if info.is_free() {
                self.check_free_block(block, info.size(), bit, &mut walk, v)
            } else if sentinel {
                self.check_sentinel(block, bit, &mut walk, v)
            } else {
                self.check_used_block(block, info.size(), bit, &mut walk, v);
                visit(block, v);
                block + info.size()
            };
        }
        if !self.check_bump_block(&mut walk, v) {
            return;
        }
        self.check_free_totals(&walk, listed, listed_bytes, v);
        self.check_region_count(&walk, v);
        self.check_start_map(&map, walk.starts, v);
    }

    /// [`Invariant::BlockMisaligned`], [`Invariant::BlockOutsideHeap`],
    /// [`Invariant::ChainCycle`] and [`Invariant::BlockSizeBad`]: the `steps`-th block of the
    /// walk, `block`, is a well-placed block whose header can be read and whose size leads to
    /// the next one. Returns its mmInfo, or `None` (reported) when the walk cannot go on.
    fn check_block_placed(&self, block: u32, steps: u32, v: &mut Violations<'_>) -> Option<MmInfo> {
        let end = self.mem.size();
        if !block.is_multiple_of(ALIGN) {
            v.report(Invariant::BlockMisaligned, block);
            return None;
        }
        if block < self.start || block > end - MIN_BLOCK {
            v.report(Invariant::BlockOutsideHeap, block);
            return None;
        }
        if steps > end / 16 {
            v.report(Invariant::ChainCycle, block);
            return None;
        }
        // SAFETY: `block` is aligned and its 16-byte header lies below `end`.
        let info = unsafe { self.mm(block) };
        let size = info.size();
        if !size.is_multiple_of(ALIGN) || size < MIN_BLOCK || size > end - block {
            v.report(Invariant::BlockSizeBad, block);
            return None;
        }
        Some(info)
    }

    /// [`Invariant::LeftFreeBitWrong`]: `block`'s LEFTFREE bit says whether the block before it
    /// (`left_free`) is free.
    fn check_left_free_bit(
        &self,
        block: u32,
        info: MmInfo,
        left_free: bool,
        v: &mut Violations<'_>,
    ) {
        if info.is_left_free() != left_free {
            v.report(Invariant::LeftFreeBitWrong, block);
        }
    }

    /// [`Invariant::StartMapBitOnFree`], [`Invariant::AdjacentFree`],
    /// [`Invariant::FreeBackPointer`] and [`Invariant::FreeNotListed`] for the free block
    /// `block` of `size` bytes (`bit`: its start-map bit). Counts it; returns the next block.
    fn check_free_block(
        &self,
        block: u32,
        size: u32,
        bit: bool,
        walk: &mut Walk,
        v: &mut Violations<'_>,
    ) -> u32 {
        if bit {
            v.report(Invariant::StartMapBitOnFree, block);
        }
        if walk.left_free {
            v.report(Invariant::AdjacentFree, block);
        }
        // SAFETY: the block's last word is inside it (its size was checked).
        if unsafe { self.mem.load(block + size - 4) } != block {
            v.report(Invariant::FreeBackPointer, block);
        }
        if block == self.bump_block() {
            walk.bump_seen = true;
        } else if !self.listed(block, size) {
            v.report(Invariant::FreeNotListed, block);
        }
        walk.free_blocks += 1;
        walk.free_bytes += size as u64;
        walk.left_free = true;
        block + size
    }

    /// [`Invariant::StartMapBitOnSentinel`] and [`Invariant::SentinelChain`] for the sentinel
    /// `block` (`bit`: its start-map bit). Counts the region; returns the next region's start.
    fn check_sentinel(
        &self,
        block: u32,
        bit: bool,
        walk: &mut Walk,
        v: &mut Violations<'_>,
    ) -> u32 {
        if bit {
            v.report(Invariant::StartMapBitOnSentinel, block);
        }
        walk.regions += 1;
        walk.left_free = false;
        // SAFETY: a sentinel is a used block with a full header.
        let next = unsafe { self.mem.load(block + RT_SIZE) };
        if next == 0 && block != self.tail {
            v.report(Invariant::SentinelChain, block);
        }
        next
    }

    /// [`Invariant::UsedSizeMismatch`], [`Invariant::BadKind`] and
    /// [`Invariant::StartMapBitMissing`] for the used, non-sentinel block `block` of `size`
    /// bytes (`bit`: its start-map bit). Counts it.
    fn check_used_block(
        &self,
        block: u32,
        size: u32,
        bit: bool,
        walk: &mut Walk,
        v: &mut Violations<'_>,
    ) {
        walk.left_free = false;
        // SAFETY: a used block has a full header.
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
        walk.starts += 1;
    }

    /// [`Invariant::BumpBlockBad`]: the bump block, if any, is a free block the walk reached
    /// that the start map covers whole.
    /// Takes it out of the walk's free totals (it is listed nowhere). Returns `false` (reported)
    /// when it is not, which ends the check.
    fn check_bump_block(&self, walk: &mut Walk, v: &mut Violations<'_>) -> bool {
        let bump = self.bump_block();
        if bump == 0 {
            return true;
        }
        // SAFETY: the bump block is a free block with a valid header.
        let info = unsafe { self.mm(bump) };
        if !info.is_free()
            || !walk.bump_seen
            || !self.starts.covers_all(bump + info.size() - self.start)
        {
            v.report(Invariant::BumpBlockBad, bump);
            return false;
        }
        walk.free_blocks -= 1;
        walk.free_bytes -= info.size() as u64;
        true
    }

    /// [`Invariant::FreeBytesMismatch`]: the free blocks walked (bump block excluded) are as
    /// many and as large as those `listed` (`listed_bytes`), and with the bump block add up to
    /// the heap's free-byte counter.
    fn check_free_totals(
        &self,
        walk: &Walk,
        listed: u32,
        listed_bytes: u64,
        v: &mut Violations<'_>,
    ) {
        if walk.free_blocks != listed
            || walk.free_bytes != listed_bytes
            || walk.free_bytes + bump_bytes(self) != self.free_bytes as u64
        {
            v.report(Invariant::FreeBytesMismatch, 0);
        }
    }

    /// [`Invariant::RegionCount`]: the walk found as many sentinels as the heap counts regions.
    fn check_region_count(&self, walk: &Walk, v: &mut Violations<'_>) {
        if walk.regions != self.regions {
            v.report(Invariant::RegionCount, 0);
        }
    }

    /// [`Invariant::StartMapStrayBits`] and [`Invariant::StartMapBlock`]: the start map has as
    /// many set bits as the walk found used, non-sentinel blocks (`starts`; bits set inside
    /// blocks, not at their starts, are counted here), and its own block has its bit.
    fn check_start_map(&self, map: &StartMap, starts: u32, v: &mut Violations<'_>) {
        if map.count(&self.mem) != starts {
            v.report(Invariant::StartMapStrayBits, self.stray_start_bit(map));
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
    /// counts compared in `Heap::check_free_totals` (every listed block is a free block of its class
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
