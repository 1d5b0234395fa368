//! The heap checker: walks every block of every region and every free list and counts broken
//! invariants (listed in `heap/mod.rs`). Time: O(blocks); for tests and `__heap_check`.

use super::{Heap, size_of_info};
use crate::memory::Memory;
use crate::object::{
    ALIGN, FREE, GC_INFO, Kind, LEFTFREE, MANAGED, MAX_PAYLOAD, MIN_BLOCK, MM_INFO, RT_SIZE,
    block_size,
};

impl<M: Memory> Heap<M> {
    /// Calls `visit(block)` for every used, non-sentinel block in address order, and counts the
    /// heap's broken invariants. Time: O(blocks + free blocks).
    pub fn check_with(&self, mut visit: impl FnMut(u32)) -> u32 {
        let mut errors = 0u32;
        let end = self.mem.size();
        let (list_errors, listed, listed_bytes) = self.bins.check(&self.mem);
        errors += list_errors;
        let (mut free_seen, mut free_bytes, mut regions) = (0u32, 0u64, 0u32);
        let mut block = self.start;
        let mut left_free = false;
        let mut bump_seen = false;
        let mut steps = 0u32;
        let map = self.start_map();
        let mut starts = 0u32;
        while block != 0 {
            steps += 1;
            if !block.is_multiple_of(ALIGN)
                || block < self.start
                || block > end - MIN_BLOCK
                || steps > end / 16
            {
                return errors + 1;
            }
            // SAFETY: `block` is aligned and its 16-byte header lies below `end`.
            let info = unsafe { self.mem.load(block + MM_INFO) };
            let size = size_of_info(info);
            if !size.is_multiple_of(ALIGN) || size < MIN_BLOCK || size > end - block {
                return errors + 1;
            }
            if (info & LEFTFREE != 0) != left_free {
                errors += 1;
            }
            let bit = map.is_set(&self.mem, block - self.start);
            if info & FREE != 0 {
                if bit {
                    errors += 1; // a free block recorded as a block start
                }
                if left_free {
                    errors += 1; // two adjacent free blocks
                }
                // SAFETY: the block's last word is inside it.
                if unsafe { self.mem.load(block + size - 4) } != block {
                    errors += 1;
                }
                if block == self.bump_block() {
                    bump_seen = true;
                } else if !self.listed(block, size) {
                    errors += 1;
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
                    errors += 1; // a sentinel is no block a ref may name
                }
                regions += 1;
                // SAFETY: as above.
                let next = unsafe { self.mem.load(block + RT_SIZE) };
                if next == 0 && block != self.tail {
                    errors += 1;
                }
                block = next;
                continue;
            }
            // SAFETY: as above.
            let (gc, rt_size) =
                unsafe { (self.mem.load(block + GC_INFO), self.mem.load(block + RT_SIZE)) };
            if rt_size > MAX_PAYLOAD || block_size(rt_size) != size {
                errors += 1;
            }
            if gc & MANAGED == 0 && gc > Kind::Sentinel as u32 {
                errors += 1;
            }
            if !bit {
                errors += 1; // a used block validation would reject
            }
            starts += 1;
            visit(block);
            block += size;
        }
        let bump = self.bump_block();
        if bump != 0 {
            // The bump block is free but listed nowhere.
            // SAFETY: the bump block is a free block with a valid header.
            let info = unsafe { self.mem.load(bump + MM_INFO) };
            if info & FREE == 0 || !bump_seen {
                return errors + 1;
            }
            free_seen -= 1;
            free_bytes -= size_of_info(info) as u64;
        }
        if free_seen != listed
            || free_bytes != listed_bytes
            || free_bytes + bump_bytes(self) != self.free_bytes as u64
        {
            errors += 1;
        }
        if regions != self.regions {
            errors += 1;
        }
        // Set bits inside blocks (not at their starts) are counted here: as many bits as starts.
        if map.count(&self.mem) != starts || !self.is_block_start(map.words - 16) {
            errors += 1;
        }
        errors
    }

    /// Counts the heap's broken invariants. Time: O(blocks).
    pub fn check(&self) -> u32 {
        self.check_with(|_| {})
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
        b => size_of_info(unsafe { heap.mem.load(b + MM_INFO) }) as u64,
    }
}
