//! Two-level segregated fit: the size classes, bitmaps and free lists of the heap.
//!
//! ```text
//! ╒═══════════════ Free block (size s, a multiple of 16, s >= 16) ═══════════════╕
//! │ mmInfo = (s - 4) | FREE | (LEFTFREE: never, neighbours are always merged)     │ +0
//! ├───────────────────────────────────────────────────────────────────────────────┤
//! │ prev: previous free block in the same size class, 0 at the head               │ +4
//! ├───────────────────────────────────────────────────────────────────────────────┤
//! │ next: next free block in the same size class, 0 at the end                    │ +8
//! ├───────────────────────────────────────────────────────────────────────────────┤
//! │ ... unused ...                                                                │
//! ├───────────────────────────────────────────────────────────────────────────────┤
//! │ back: the address of this block, so the right neighbour can find its start    │ +s-4
//! ╘═══════════════════════════════════════════════════════════════════════════════╛
//!
//! ╒══════════════════ Size classes (block sizes, bytes) ═════════════════════════╕
//! │ fl = 0        │ 16 exact classes of 16 bytes: sl = s / 16 (0..=15), s < 256    │
//! │ fl = 1..=24   │ [2^(fl+7), 2^(fl+8)) in 16 equal slices: sl = bits below top   │
//! ╞═══════════════╪════════════════════════════════════════════════════════════════╡
//! │ fl_bitmap     │ bit fl set  <=> sl_bitmap[fl] != 0                             │
//! │ sl_bitmap[fl] │ bit sl set  <=> heads[fl][sl] != 0                             │
//! │ heads[fl][sl] │ first free block of the class, 0 when empty                    │
//! ╘═══════════════╧════════════════════════════════════════════════════════════════╛
//! ```
//!
//! Allocation rounds the request up to the start of the next class ("good fit"), so the head of
//! any non-empty class at or above it fits: two bitmap scans and no list walk, O(1) worst case.

use crate::invariant::{Invariant, Violations};
use crate::memory::Memory;
use crate::object::{ALIGN, MM_INFO, MmInfo};
use core::num::NonZeroU32;
use static_assertions::const_assert;

/// log2 of the number of second-level classes per first-level class.
pub const SL_BITS: u32 = 4;
/// Second-level classes per first-level class.
pub const SL_COUNT: usize = 1 << SL_BITS;
/// Blocks below `1 << FL_SHIFT` bytes are in the exact classes of `fl = 0`.
pub const FL_SHIFT: u32 = SL_BITS + ALIGN.trailing_zeros();
/// First-level classes: fl 0 plus one per power of two from 2^8 up to 2^31.
pub const FL_COUNT: usize = (32 - FL_SHIFT + 1) as usize;

const_assert!(FL_COUNT <= 32);
const_assert!(SL_COUNT <= 32);
const_assert!((ALIGN as usize) << SL_BITS == 1 << FL_SHIFT);

/// Offsets of the free-list links inside a free block.
pub const PREV: u32 = 4;
/// See [`PREV`].
pub const NEXT: u32 = 8;

/// The class `(fl, sl)` a block of `size` bytes belongs to. Time: O(1).
#[inline(always)]
pub fn mapping(size: u32) -> (usize, usize) {
    debug_assert!(size >= ALIGN && size.is_multiple_of(ALIGN));
    if size < 1 << FL_SHIFT {
        (0, (size / ALIGN) as usize)
    } else {
        let top = 31 - size.leading_zeros();
        let fl = top - FL_SHIFT + 1;
        let sl = (size >> (top - SL_BITS)) & (SL_COUNT as u32 - 1);
        (fl as usize, sl as usize)
    }
}

/// Rounds `size` up to the start of the smallest class whose every block holds `size` bytes.
/// Returns `None` when no class is that large. Time: O(1).
#[inline(always)]
pub fn round_up(size: u32) -> Option<u32> {
    if size < 1 << FL_SHIFT {
        Some(size)
    } else {
        let top = 31 - size.leading_zeros();
        let step = 1u32 << (top - SL_BITS);
        size.checked_add(step - 1).map(|s| s & !(step - 1))
    }
}

/// The smallest block size of class `(fl, sl)`. Time: O(1).
#[inline]
pub fn class_start(fl: usize, sl: usize) -> u32 {
    if fl == 0 {
        sl as u32 * ALIGN
    } else {
        let top = fl as u32 + FL_SHIFT - 1;
        (1u32 << top) + ((sl as u32) << (top - SL_BITS))
    }
}

/// The segregated free lists. Free blocks themselves live in linear memory; this control
/// structure lives outside it (in the runtime's own static data on wasm32).
#[derive(Debug)]
pub struct Bins {
    /// Bit `fl` set iff `sl_bitmap[fl] != 0`.
    fl_bitmap: u32,
    /// Bit `sl` of `sl_bitmap[fl]` set iff `heads[fl][sl] != 0`.
    sl_bitmap: [u32; FL_COUNT],
    /// Head of each class's doubly linked list of free blocks (0 = empty). Every listed block is
    /// free, belongs to that class, and appears in exactly one list.
    heads: [[u32; SL_COUNT]; FL_COUNT],
}

impl Bins {
    /// Empty bins.
    pub const fn new() -> Self {
        Bins { fl_bitmap: 0, sl_bitmap: [0; FL_COUNT], heads: [[0; SL_COUNT]; FL_COUNT] }
    }

    /// The head of class `(fl, sl)`.
    #[inline]
    pub fn head(&self, fl: usize, sl: usize) -> u32 {
        self.heads[fl][sl]
    }

    /// Whether the bitmaps say class `(fl, sl)` is non-empty.
    pub fn bit(&self, fl: usize, sl: usize) -> bool {
        self.fl_bitmap & (1 << fl) != 0 && self.sl_bitmap[fl] & (1 << sl) != 0
    }

    /// The non-empty class with the largest blocks, if any. Time: O(1).
    pub fn highest(&self) -> Option<(usize, usize)> {
        if self.fl_bitmap == 0 {
            return None;
        }
        let fl = 31 - self.fl_bitmap.leading_zeros() as usize;
        // `get`: the bitmap has no bit at or above FL_COUNT, but the compiler cannot know it, and
        // an index panic would link the formatter (None stands for it and cannot occur).
        let sl = 31 - self.sl_bitmap.get(fl)?.leading_zeros() as usize;
        Some((fl, sl))
    }

    /// Links the free block `block` of `size` bytes at the head of its class.
    /// Time: O(1).
    ///
    /// # Safety
    /// `block` is a free block of `size` bytes inside `mem`, listed nowhere.
    #[inline(always)]
    pub unsafe fn insert<M: Memory>(&mut self, mem: &M, block: u32, size: u32) {
        let (fl, sl) = mapping(size);
        let head = self.heads[fl][sl];
        // SAFETY: `block` and `head` (when non-zero) are free blocks of at least 16 bytes, so
        // their link words are in bounds.
        unsafe {
            mem.store_at(block, PREV, 0);
            mem.store_at(block, NEXT, head);
            if head != 0 {
                mem.store_at(head, PREV, block);
            }
        }
        self.heads[fl][sl] = block;
        self.fl_bitmap |= 1 << fl;
        self.sl_bitmap[fl] |= 1 << sl;
    }

    /// Unlinks the free block `block` of `size` bytes from its class. Time: O(1).
    ///
    /// # Safety
    /// `block` is listed in the class of `size`.
    #[inline(always)]
    pub unsafe fn remove<M: Memory>(&mut self, mem: &M, block: u32, size: u32) {
        // SAFETY: listed blocks are free blocks inside memory; their neighbours too.
        unsafe {
            let prev = mem.load_at(block, PREV);
            let next = mem.load_at(block, NEXT);
            if next != 0 {
                mem.store_at(next, PREV, prev);
            }
            if prev != 0 {
                mem.store_at(prev, NEXT, next);
            } else {
                // Only a head's removal needs the class (most removals are not a head's).
                let (fl, sl) = mapping(size);
                debug_assert_eq!(self.heads[fl][sl], block);
                self.heads[fl][sl] = next;
                if next == 0 {
                    self.sl_bitmap[fl] &= !(1 << sl);
                    if self.sl_bitmap[fl] == 0 {
                        self.fl_bitmap &= !(1 << fl);
                    }
                }
            }
        }
    }

    /// A free block of at least `size` bytes, if the lists hold one that the good-fit search can
    /// find; it stays listed. Time: O(1).
    #[inline]
    pub fn find(&self, size: u32) -> Option<u32> {
        let (mut fl, sl) = mapping(round_up(size)?);
        if fl >= FL_COUNT {
            return None;
        }
        let mut sl_map = self.sl_bitmap[fl] & (!0u32 << sl);
        if sl_map == 0 {
            let fl_map = if fl + 1 >= 32 { 0 } else { self.fl_bitmap & (!0u32 << (fl + 1)) };
            if fl_map == 0 {
                return None;
            }
            fl = fl_map.trailing_zeros() as usize;
            // `get`, as in `highest`: the same compare and branch as an index, without a panic.
            sl_map = *self.sl_bitmap.get(fl)?;
        }
        self.heads[fl].get(sl_map.trailing_zeros() as usize).copied()
    }

    /// A free block of at least `size` bytes from the request's own class, which the good-fit
    /// search skips (it only takes classes whose every block fits): the last resort before out
    /// of memory. The block stays listed; non-zero, so the answer fits a register. Time:
    /// O(blocks in that class).
    pub fn find_exact<M: Memory>(&self, mem: &M, size: u32) -> Option<NonZeroU32> {
        let (fl, sl) = mapping(size);
        let mut block = self.heads[fl][sl];
        while block != 0 {
            // SAFETY: listed blocks are free blocks inside memory.
            let (info, next) = unsafe { (mem.load_at(block, MM_INFO), mem.load_at(block, NEXT)) };
            if MmInfo(info).size() >= size {
                return NonZeroU32::new(block);
            }
            block = next;
        }
        None
    }

    /// Checks the bitmaps against the lists and every listed block against its class, reporting
    /// each broken invariant to `v`: [`Invariant::FlBitmapMismatch`] and
    /// [`Invariant::SlBitmapMismatch`] here, the listed blocks' invariants in
    /// `Bins::check_list`. Returns the number and bytes of listed blocks.
    /// Time: O(free blocks).
    pub fn check<M: Memory>(&self, mem: &M, v: &mut Violations<'_>) -> (u32, u64) {
        let mut listed = (0u32, 0u64);
        for fl in 0..FL_COUNT {
            let class = (fl * SL_COUNT) as u32;
            if (self.fl_bitmap & (1 << fl) != 0) != (self.sl_bitmap[fl] != 0) {
                v.report(Invariant::FlBitmapMismatch, class);
            }
            for sl in 0..SL_COUNT {
                let head = self.heads[fl][sl];
                if (head != 0) != (self.sl_bitmap[fl] & (1 << sl) != 0) {
                    v.report(Invariant::SlBitmapMismatch, class + sl as u32);
                }
                self.check_list(mem, (fl, sl), &mut listed, v);
            }
        }
        listed
    }

    /// [`Invariant::ListedOutOfRange`], [`Invariant::ListedNotFree`],
    /// [`Invariant::ListedWrongClass`], [`Invariant::FreeBackPointer`],
    /// [`Invariant::ListPrevLink`] and [`Invariant::ListCycle`] for every block on the list of
    /// the class `(fl, sl)`, adding each to `listed` (number and bytes of the blocks listed so
    /// far in all lists). A break that makes the list unwalkable ends it. Time: O(list).
    fn check_list<M: Memory>(
        &self,
        mem: &M,
        (fl, sl): (usize, usize),
        listed: &mut (u32, u64),
        v: &mut Violations<'_>,
    ) {
        let end = mem.size();
        let (mut prev, mut block) = (0u32, self.heads[fl][sl]);
        while block != 0 {
            if block % ALIGN != 0 || block >= end || end - block < 16 {
                return v.report(Invariant::ListedOutOfRange, block);
            }
            // SAFETY: `block` is 16-aligned and at least 16 bytes below the end.
            let (info, p, n) = unsafe {
                (mem.load_at(block, MM_INFO), mem.load_at(block, PREV), mem.load_at(block, NEXT))
            };
            let size = MmInfo(info).size();
            if !MmInfo(info).is_free() {
                return v.report(Invariant::ListedNotFree, block);
            }
            if !size.is_multiple_of(ALIGN) || size > end - block || mapping(size) != (fl, sl) {
                return v.report(Invariant::ListedWrongClass, block);
            }
            // SAFETY: the block's size was just checked to lie inside memory.
            if unsafe { mem.load(block + size - 4) } != block {
                v.report(Invariant::FreeBackPointer, block);
            }
            if p != prev {
                v.report(Invariant::ListPrevLink, block);
            }
            listed.0 += 1;
            listed.1 += size as u64;
            if listed.0 > end / 16 {
                // A cycle: stop rather than loop forever.
                return v.report(Invariant::ListCycle, block);
            }
            prev = block;
            block = n;
        }
    }
}

impl Default for Bins {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_are_monotonic_and_round_up_fits() {
        let mut last = (0, 0);
        for size in (16..1 << 20).step_by(16) {
            let c = mapping(size);
            assert!(c >= last, "classes must not decrease at {size}");
            last = c;
            assert!(class_start(c.0, c.1) <= size);
            let r = round_up(size).unwrap();
            assert!(r >= size);
            let rc = mapping(r);
            assert_eq!(class_start(rc.0, rc.1), r, "round_up lands on a class start");
        }
    }

    #[test]
    fn largest_sizes_map_inside_the_table() {
        let (fl, _) = mapping(0xFFFF_FFF0);
        assert!(fl < FL_COUNT);
        assert_eq!(mapping(256), (1, 0));
        assert_eq!(mapping(240), (0, 15));
    }
}
