//! Counted pins: the PINNED bit in gcInfo holds a heap object's first pin; an open-addressing
//! table of `(ref, count)` entries holds the rest.
//!
//! ```text
//! ╒═══════ Pin table (an Internal heap block, capacity a power of two) ═══════╕
//! │ ref 0 │ count 0 │ ref 1 │ count 1 │ ...  linear probing, ref 0 = empty    │
//! ╘═══════════════════════════════════════════════════════════════════════════╛
//!
//!   heap object pinned n times:    n = 0  no PINNED, no entry
//!                                  n = 1  PINNED, no entry
//!                                  n ≥ 2  PINNED, entry (ref, n)
//!   static object pinned n times:  n ≥ 1  entry (ref, n)   (static headers are never written)
//! ```
//!
//! So the common pin (an object's first) and unpin (its last, while the table is empty) touch
//! the object's header only. The table is not where marking finds the pinned objects: a marking
//! step walks the block-start map (heap/starts.rs) a budget at a time and shades every PINNED
//! heap object ([`Runtime::shade_pins_step`]); pinning while marking shades at once. Statics are
//! roots anyway. The walk is skipped while no heap object can be pinned ([`PinTable::may_have`]).

use super::{PINS_DONE, Phase};
use crate::error::Error;
use crate::heap::starts::WORD_SPAN;
use crate::memory::Memory;
use crate::object::HEADER_SIZE;
use crate::runtime::Runtime;

/// Bytes of one entry: the ref, then its count.
const ENTRY: u32 = 8;

/// Work units charged per start-map word the pin walk reads.
const WALK_WORD_WORK: u32 = 2;

/// Work units charged per used block the pin walk looks at (a gcInfo load and a test, against a
/// traced object's 16).
const WALK_BLOCK_WORK: u32 = 4;

/// The counted pins: an open-addressing table of `(ref, count)` in a heap block for the counts
/// a PINNED bit cannot hold, and the flag that says whether marking must walk for PINNED bits.
#[derive(Debug, Default, Clone, Copy)]
pub struct PinTable {
    /// Ref of the table's Internal block, 0 before the first entry. Invariant: holds
    /// `capacity` entries of 8 bytes.
    table: u32,
    /// Entries; a power of two, or 0. Invariant: `2 * len <= capacity`.
    capacity: u32,
    /// Occupied entries. Invariant: each names a static object (count ≥ 1) or a PINNED heap
    /// object (count ≥ 2).
    len: u32,
    /// Whether a heap object may have PINNED set: a pin of a heap object (first or not) sets
    /// it, a cycle's start clears it when it starts the walk, and the walk sets it again when it
    /// meets a PINNED object. So it is false only when the last walk found none and nothing was
    /// pinned since that walk began, and a cycle that starts with it false skips the walk. It is
    /// a flag, not a count, so that a PINNED bit compiled code writes into a header can only
    /// cause a walk, never skip one.
    /// Invariant: every PINNED object is ahead of a running walk, or this is set.
    pub(super) may_have: bool,
}

impl PinTable {
    /// An empty table.
    pub const fn new() -> Self {
        PinTable { table: 0, capacity: 0, len: 0, may_have: false }
    }

    #[inline]
    fn home(&self, r: u32) -> u32 {
        (r >> 4).wrapping_mul(0x9E37_79B1) & (self.capacity - 1)
    }

    /// Address of entry `i`'s ref word (0 = empty).
    #[inline(always)]
    pub(super) fn key(&self, i: u32) -> u32 {
        self.table + ENTRY * i
    }

    /// Address of entry `i`'s pin count.
    #[inline(always)]
    pub(super) fn count(&self, i: u32) -> u32 {
        self.table + ENTRY * i + 4
    }

    /// Whether one more entry keeps the table at most half full.
    #[inline(always)]
    fn has_room(&self) -> bool {
        2 * (self.len + 1) <= self.capacity
    }

    /// Number of entries, for scans over every one ([`PinTable::key`]).
    pub(super) fn capacity(&self) -> u32 {
        self.capacity
    }

    /// Ref of the table's block (0 for none) and its occupied entries, for the checker.
    pub(super) fn block_and_len(&self) -> (u32, u32) {
        (self.table, self.len)
    }
}

impl<M: Memory> Runtime<M> {
    /// The slot index holding `r`, if it has an entry. At most `capacity` probes, so a table
    /// that something overwrote (no empty slot left) cannot make a lookup loop forever.
    /// Time: O(1) expected.
    pub(super) fn pin_slot(&self, r: u32) -> Option<u32> {
        let t = &self.pins;
        if t.len == 0 {
            return None;
        }
        let mut i = t.home(r);
        for _ in 0..t.capacity {
            // SAFETY: `i < capacity` (masked): an entry inside the table's block.
            let k = unsafe { self.load(t.key(i)) };
            if k == r {
                return Some(i);
            }
            if k == 0 {
                return None;
            }
            i = (i + 1) & (t.capacity - 1);
        }
        None
    }

    /// Inserts `r` with count `n` (not present; room guaranteed). At most `capacity` probes: in
    /// a table that something overwrote so that no slot is empty, the last probed slot is taken.
    fn pin_insert(&mut self, r: u32, n: u32) {
        let t = &self.pins;
        let mut i = t.home(r);
        for _ in 1..t.capacity {
            // SAFETY: `i < capacity` (masked): an entry inside the table's block.
            if unsafe { self.load(t.key(i)) } == 0 {
                break;
            }
            i = (i + 1) & (t.capacity - 1);
        }
        let (key, count) = (t.key(i), t.count(i));
        // SAFETY: as above; the table is the runtime's own Internal block.
        unsafe {
            self.store(key, r);
            self.store(count, n);
        }
        self.pins.len += 1;
    }

    /// Makes room for one more entry, moving to a table twice as large. On error (out of
    /// memory) nothing has changed.
    fn pin_reserve(&mut self) -> Result<(), Error> {
        if self.pins.has_room() {
            return Ok(());
        }
        let cap = (self.pins.capacity * 2).max(16);
        let table = self.heap.alloc_table(cap * ENTRY)?;
        let may_have = self.pins.may_have;
        let old =
            core::mem::replace(&mut self.pins, PinTable { table, capacity: cap, len: 0, may_have });
        for i in 0..old.capacity {
            // SAFETY: `i < old.capacity`: an entry inside the old table's block, not yet freed.
            let (k, n) = unsafe { (self.load(old.key(i)), self.load(old.count(i))) };
            if k != 0 {
                self.pin_insert(k, n);
            }
        }
        if old.table != 0 {
            // SAFETY: the old table is an Internal block nobody else refers to.
            unsafe { self.heap.release_block(old.table - HEADER_SIZE) };
        }
        Ok(())
    }

    /// `__pin`: adds a pin to a managed object (heap or static); returns it. `pin(0)` is 0.
    /// Time: O(1) expected.
    #[inline(always)]
    pub fn pin(&mut self, r: u32) -> Result<u32, Error> {
        if r == 0 {
            return Ok(0);
        }
        let block = self.validate_object_hot(r)?;
        let heap = r >= self.heap.start();
        if heap {
            // SAFETY: `block` was validated: a live managed heap block.
            let info = unsafe { self.gc_info(block) };
            if !info.is_pinned() {
                if self.gc.phase != Phase::Idle {
                    self.first_pin_in_cycle(r, block)?;
                    return Ok(r);
                }
                // The first pin is the bit alone.
                // SAFETY: as above.
                unsafe { self.set_gc_info(block, info.with_pinned(true)) };
                self.pins.may_have = true;
                return Ok(r);
            }
        }
        self.pin_counted(r, heap)?;
        Ok(r)
    }

    /// `pin` of a static object or of a heap object already pinned: counts it in the table
    /// (a heap object's entry starts at 2, its first pin being the bit). A heap object's bit
    /// may be one compiled code wrote, which no pin flagged or shaded: so this pin does what a
    /// first pin does (refused during a sweep for an object the marking found dead; then the
    /// flag set and, while marking, the object shaded). Returns no value, so that the result
    /// fits a register (no frame for `pin` to reserve).
    #[inline(never)]
    fn pin_counted(&mut self, r: u32, heap: bool) -> Result<(), Error> {
        if heap && self.is_dead(r) {
            return Err(Error::DeadObject);
        }
        if let Some(i) = self.pin_slot(r) {
            let at = self.pins.count(i);
            // SAFETY: `pin_slot` returns an entry inside the table.
            let n = unsafe { self.load(at) }.checked_add(1).ok_or(Error::PinOverflow)?;
            // SAFETY: as above.
            unsafe { self.store(at, n) };
        } else {
            if let Err(e) = self.pin_reserve() {
                if e != Error::OutOfMemory {
                    return Err(e);
                }
                self.collect_keeping(&[r])?;
                self.pin_reserve()?;
            }
            self.pin_insert(r, if heap { 2 } else { 1 });
        }
        if heap {
            self.pinned_heap_object(r);
        }
        Ok(())
    }

    /// A heap object's first pin while a cycle runs, out of line so that `pin`'s common path
    /// stays small: while marking the object is also shaded (the walk may have
    /// passed it); while sweeping, an object the marking found unreachable is refused with
    /// `DeadObject`, as `__weakmap_set` refuses one: the sweep frees it whatever its pins say, so
    /// a pin would keep nothing alive and leave a count behind for a freed block. A host only
    /// gets here by holding a reference across collector work without rooting it. Time: O(1).
    #[inline(never)]
    fn first_pin_in_cycle(&mut self, r: u32, block: u32) -> Result<(), Error> {
        if self.is_dead(r) {
            return Err(Error::DeadObject);
        }
        // SAFETY: `block` was validated: a live managed heap block.
        unsafe { self.set_gc_info(block, self.gc_info(block).with_pinned(true)) };
        // After the bit: shading writes the gray color and link into the same word.
        self.pinned_heap_object(r);
        Ok(())
    }

    /// After a pin of the PINNED heap object `r` outside `pin`'s idle fast path: sets the flag
    /// (the next cycle walks) and, while marking, shades `r` (the walk may have passed it).
    /// Time: O(1).
    fn pinned_heap_object(&mut self, r: u32) {
        self.pins.may_have = true;
        if self.gc.phase == Phase::Mark {
            self.shade(r);
        }
    }

    /// `__unpin`: removes one pin; an object that is not pinned is an error. Time: O(1) expected.
    #[inline(always)]
    pub fn unpin(&mut self, r: u32) -> Result<(), Error> {
        if r == 0 {
            return Ok(());
        }
        let block = self.validate_object_hot(r)?;
        if r < self.heap.start() {
            return if self.unpin_entry(r, 0) { Ok(()) } else { Err(Error::NotPinned) };
        }
        // SAFETY: `block` was validated: a live managed heap block.
        let info = unsafe { self.gc_info(block) };
        if !info.is_pinned() {
            // No PINNED bit: not pinned, with no lookup.
            return Err(Error::NotPinned);
        }
        // An entry holds counts of 2 and more; with no entry at all there is nothing to look up.
        if self.pins.len != 0 && self.unpin_entry(r, 1) {
            return Ok(());
        }
        // SAFETY: as above.
        unsafe { self.set_gc_info(block, info.with_pinned(false)) };
        Ok(())
    }

    /// Takes one pin off `r`'s entry, removing the entry when `floor` pins are left; false when
    /// `r` has no entry. Time: O(1) expected.
    #[inline(never)]
    fn unpin_entry(&mut self, r: u32, floor: u32) -> bool {
        let Some(i) = self.pin_slot(r) else { return false };
        let at = self.pins.count(i);
        // SAFETY: `pin_slot` returns an entry inside the table. Its count is above `floor`
        // unless something overwrote the table: saturating, so that is no reason to panic.
        let n = unsafe { self.load(at) }.saturating_sub(1);
        if n > floor {
            // SAFETY: as above.
            unsafe { self.store(at, n) };
        } else {
            self.pin_remove(i);
        }
        true
    }

    /// Removes entry `i`, shifting later entries of the probe run back.
    fn pin_remove(&mut self, mut i: u32) {
        let t = self.pins;
        let mask = t.capacity - 1;
        let mut j = i;
        // At most `capacity - 1` steps: the run ends at an empty slot, or where it began.
        for _ in 1..t.capacity {
            j = (j + 1) & mask;
            // SAFETY: `j < capacity` (masked): an entry inside the table's block.
            let k = unsafe { self.load(t.key(j)) };
            if k == 0 {
                break;
            }
            let home = t.home(k);
            // Move k back to i if its home is not cyclically in (i, j].
            let between = if i <= j { i < home && home <= j } else { i < home || home <= j };
            if !between {
                // SAFETY: `i` and `j` are entries inside the table (masked).
                unsafe {
                    self.store(t.key(i), k);
                    self.store(t.count(i), self.load(t.count(j)));
                }
                i = j;
            }
        }
        // SAFETY: `i` is an entry inside the table (the caller's, or masked).
        unsafe {
            self.store(t.key(i), 0);
            self.store(t.count(i), 0);
        }
        self.pins.len -= 1;
    }

    /// Starts a cycle's pin walk: at the heap's first start-map word, or done at once when no
    /// heap object can be pinned (one pinned later is shaded by `pin`). The walk sets the flag
    /// again for each PINNED object it meets.
    pub(crate) fn start_pin_walk(&mut self) {
        let walk = core::mem::take(&mut self.pins.may_have);
        self.gc.pin_cursor = if walk { 0 } else { PINS_DONE };
    }

    /// The pin walk: shades the PINNED heap objects whose blocks start in the start-map words
    /// from the cursor on, at most about `budget` work units' worth; returns the work done.
    /// Marking cannot end before the walk has reached the last word. The walk reads the map,
    /// not the block chain, so frees, merges and moves behind or ahead of it need no care: an
    /// object pinned behind the cursor was shaded by `pin`, a block allocated there while
    /// marking is black. Time: O(budget).
    pub(crate) fn shade_pins_step(&mut self, budget: u32) -> u32 {
        let view = self.mark_view();
        let words = self.heap.start_words();
        let mut w = self.gc.pin_cursor;
        let mut work = 0;
        while w < words && work < budget {
            // SAFETY: `w` is below `start_words`: a word of the installed map's block.
            let mut bits = unsafe { self.load(view.map_word(w)) };
            work += WALK_WORD_WORK;
            while bits != 0 {
                let block = view.granule(32 * w + bits.trailing_zeros());
                bits &= bits - 1;
                // SAFETY: the map says a used heap block starts at `block`.
                let gc = unsafe { self.gc_info(block) };
                if gc.is_managed() && gc.is_pinned() {
                    self.pins.may_have = true;
                    // SAFETY: as above, and managed.
                    unsafe { self.shade_block(&view, block, gc) };
                }
                work += WALK_BLOCK_WORK;
            }
            w += 1;
        }
        self.gc.pin_cursor = if w >= words { PINS_DONE } else { w };
        work.max(1)
    }

    /// Whether the running marking's pin walk has passed the block `block` (so a PINNED object
    /// there must be shaded), for the checker.
    pub(super) fn pin_walk_passed(&self, block: u32) -> bool {
        let cursor = self.gc.pin_cursor;
        cursor == PINS_DONE || (block - self.heap.start()) / WORD_SPAN < cursor
    }

    /// How many times `r` is pinned (0 for anything that is not a pinned object).
    pub fn pin_count(&self, r: u32) -> u32 {
        if let Some(i) = self.pin_slot(r) {
            // SAFETY: `pin_slot` returns an entry inside the table.
            return unsafe { self.load(self.pins.count(i)) };
        }
        match self.validate_managed(r) {
            // SAFETY: `b` was validated: a live managed heap block.
            Ok(b) => unsafe { self.gc_info(b) }.is_pinned() as u32,
            Err(_) => 0,
        }
    }

    /// Whether a heap object may be pinned (the pin table's `may_have` flag): false only when none is.
    pub fn may_have_pins(&self) -> bool {
        self.pins.may_have
    }
}

#[cfg(all(test, any(not(target_arch = "wasm32"), feature = "std")))]
mod tests {
    use super::*;
    use crate::host::HostConfig;
    use crate::rtti::ID_STRING;

    fn host() -> Runtime<crate::memory::HostMemory> {
        Runtime::host(HostConfig::default())
    }

    /// Whether `r` is still a live object.
    fn alive<M: Memory>(rt: &Runtime<M>, r: u32) -> bool {
        rt.validate_object(r).is_ok()
    }

    #[test]
    fn a_first_pin_is_the_bit_alone_and_more_pins_are_counted_in_the_table() {
        let mut rt = host();
        let r = rt.new_object(8, ID_STRING).unwrap();
        let block = r - HEADER_SIZE;
        rt.pin(r).unwrap();
        // SAFETY: `block` is a live managed heap block.
        assert!(unsafe { rt.gc_info(block) }.is_pinned());
        assert_eq!((rt.pins.capacity(), rt.may_have_pins(), rt.pin_count(r)), (0, true, 1));
        rt.pin(r).unwrap();
        rt.pin(r).unwrap();
        assert_eq!((rt.pins.block_and_len().1, rt.pin_count(r)), (1, 3));
        assert_eq!(rt.check(), 0);
        rt.unpin(r).unwrap();
        assert_eq!((rt.pins.block_and_len().1, rt.pin_count(r)), (1, 2));
        rt.unpin(r).unwrap();
        // Back to the bit alone: the entry is gone, the object still pinned once.
        assert_eq!((rt.pins.block_and_len().1, rt.pin_count(r)), (0, 1));
        assert_eq!(rt.check(), 0);
        rt.unpin(r).unwrap();
        // SAFETY: as above.
        assert!(!unsafe { rt.gc_info(block) }.is_pinned());
        assert_eq!(rt.pin_count(r), 0);
        assert_eq!(rt.unpin(r), Err(Error::NotPinned));
        assert_eq!(rt.check(), 0);
    }

    #[test]
    fn a_static_object_is_counted_in_the_table_from_its_first_pin() {
        let mut rt = host();
        let s = rt.static_slots();
        assert_eq!(rt.unpin(s), Err(Error::NotPinned));
        rt.pin(s).unwrap();
        rt.pin(s).unwrap();
        assert_eq!((rt.pin_count(s), rt.pins.block_and_len().1, rt.may_have_pins()), (2, 1, false));
        rt.unpin(s).unwrap();
        rt.unpin(s).unwrap();
        assert_eq!((rt.pin_count(s), rt.pins.block_and_len().1), (0, 0));
        assert_eq!(rt.unpin(s), Err(Error::NotPinned));
        assert_eq!(rt.check(), 0);
    }

    /// A host that pins an object the marking found dead (before the sweep reaches it) is
    /// refused, and nothing changes: the sweep frees it as any dead object.
    #[test]
    fn a_pin_on_an_object_found_dead_is_refused_during_the_sweep() {
        let mut rt = host();
        let keep = rt.new_object(8, ID_STRING).unwrap();
        rt.pin(keep).unwrap();
        let dead: std::vec::Vec<u32> =
            (0..200).map(|_| rt.new_object(64, ID_STRING).unwrap()).collect();
        rt.start_cycle();
        while rt.gc.phase == Phase::Mark {
            rt.step();
        }
        // Sweeping, not yet freed: validation still accepts it, the pin does not.
        let late = dead[199];
        let before = rt.heap.memory().bytes().to_vec();
        assert_eq!(rt.pin(late), Err(Error::DeadObject));
        assert!(rt.heap.memory().bytes() == &before[..], "memory unchanged");
        // An object allocated during the sweep is live: its pin is taken.
        let young = rt.new_object(8, ID_STRING).unwrap();
        rt.pin(young).unwrap();
        while rt.gc.phase != Phase::Idle {
            rt.step();
        }
        assert!(!alive(&rt, late) && alive(&rt, keep) && alive(&rt, young));
        assert_eq!(rt.pins.block_and_len().1, 0);
        assert_eq!(rt.check(), 0);
    }

    /// The walk finds pinned objects across many start-map words and nothing else survives.
    #[test]
    fn the_pin_walk_keeps_exactly_the_pinned_objects() {
        let mut rt = host();
        // No cycle while the objects are made (the `assemblyscript` build's minimum threshold
        // is a quarter of theirs).
        rt.set_threshold(1 << 30).unwrap();
        let all: std::vec::Vec<u32> =
            (0..3000).map(|i| rt.new_object(8 + (i % 7) * 40, ID_STRING).unwrap()).collect();
        let pinned: std::vec::Vec<u32> = all.iter().copied().step_by(97).collect();
        for &r in &pinned {
            rt.pin(r).unwrap();
        }
        rt.pin(pinned[1]).unwrap();
        rt.collect();
        for &r in &all {
            assert_eq!(alive(&rt, r), pinned.contains(&r), "object {r:#x}");
        }
        assert_eq!(rt.check(), 0);
        for &r in &pinned {
            rt.unpin(r).unwrap();
        }
        rt.collect();
        assert!(alive(&rt, pinned[1]), "still pinned once");
        assert!(!alive(&rt, pinned[0]));
        assert_eq!(rt.check(), 0);
    }

    /// Pinning an object behind the walk's cursor shades it; unpinning one ahead of the cursor
    /// lets the cycle free it; nothing is walked when no heap object is pinned.
    #[test]
    fn pins_and_unpins_around_the_walk_cursor() {
        let mut rt = host();
        let objects: std::vec::Vec<u32> =
            (0..400).map(|_| rt.new_object(200, ID_STRING).unwrap()).collect();
        let (first, behind, ahead) = (objects[0], objects[10], objects[390]);
        rt.pin(first).unwrap();
        rt.pin(ahead).unwrap();
        rt.start_cycle();
        assert_eq!(rt.gc.pin_cursor, 0);
        // Walk part of the heap: past `behind`, not yet at `ahead`.
        while rt.gc.pin_cursor == PINS_DONE
            || !rt.pin_walk_passed(behind - HEADER_SIZE)
            || rt.pin_walk_passed(ahead - HEADER_SIZE)
        {
            assert_ne!(rt.gc.pin_cursor, PINS_DONE, "the walk ran past `ahead`");
            rt.shade_pins_step(8);
        }
        rt.pin(behind).unwrap();
        rt.unpin(ahead).unwrap();
        assert_eq!(rt.check(), 0);
        while rt.gc.phase != Phase::Idle {
            rt.step();
        }
        assert!(alive(&rt, first) && alive(&rt, behind));
        assert!(!alive(&rt, ahead), "unpinned before the walk reached it");
        assert!(!alive(&rt, objects[200]));
        assert_eq!(rt.check(), 0);
        rt.unpin(first).unwrap();
        rt.unpin(behind).unwrap();
        // The flag is still set: one more walk, which finds nothing; then none.
        rt.start_cycle();
        assert_eq!(rt.gc.pin_cursor, 0);
        while rt.gc.phase != Phase::Idle {
            rt.step();
        }
        assert!(!rt.may_have_pins());
        rt.start_cycle();
        assert_eq!(rt.gc.pin_cursor, PINS_DONE, "no heap object pinned: no walk");
    }

    /// Growth during the walk moves the start map (its words are copied to a larger block, the
    /// old one freed, possibly merged): the walk goes on from its word in the new map, and
    /// objects pinned ahead of the cursor (before the move, and in the grown memory after it)
    /// and a pinned object renewed in place or moved while the walk runs all survive.
    #[test]
    fn the_walk_goes_on_across_start_map_moves() {
        use crate::rtti::ID_ARRAYBUFFER;
        let mut rt = Runtime::host(HostConfig { initial_pages: 1, ..HostConfig::default() });
        rt.configure(100, 1024).unwrap();
        let objects: std::vec::Vec<u32> =
            (0..1500).map(|_| rt.new_object(24, ID_ARRAYBUFFER).unwrap()).collect();
        let mut pinned: std::vec::Vec<u32> = objects.iter().copied().step_by(53).collect();
        for &r in &pinned {
            rt.pin(r).unwrap();
        }
        let (renewed, moved) = (pinned[pinned.len() - 1], pinned[pinned.len() - 2]);
        while rt.gc.phase != Phase::Idle {
            rt.step();
        }
        rt.start_cycle();
        // A few steps: the walk is under way, not over.
        for _ in 0..3 {
            rt.step();
        }
        assert!(rt.gc.phase == Phase::Mark && rt.gc.pin_cursor != PINS_DONE);
        assert!(!rt.pin_walk_passed(renewed - HEADER_SIZE), "the renewed object is ahead");
        let map = rt.heap.start_map().words;
        let mut moves = 0;
        let mut grown = std::vec::Vec::new();
        while rt.gc.pin_cursor != PINS_DONE && moves < 3 {
            // Straight to the heap: no GC step, so the walk stays where it is.
            let r = rt.new_object(60_000, ID_ARRAYBUFFER).unwrap();
            if rt.heap.start_map().words != map && moves == 0 {
                moves += 1;
                assert_ne!(rt.gc.pin_cursor, PINS_DONE, "the map moved in the middle of the walk");
            }
            if grown.len() < 4 {
                rt.pin(r).unwrap();
                grown.push(r);
            }
            if rt.heap.start_map().words != map {
                break;
            }
        }
        assert_eq!(moves, 1, "the start map moved");
        assert_eq!(rt.gc.phase, Phase::Mark);
        // A pinned object renewed in place (shrunk) and one moved (grown) ahead of the walk.
        assert_eq!(rt.renew(renewed, 8), Ok(renewed));
        let copy = rt.renew(moved, 50_000).unwrap();
        assert_ne!(copy, moved);
        pinned.extend(grown);
        while rt.gc.phase != Phase::Idle {
            rt.step();
        }
        assert_eq!(rt.check(), 0);
        for &r in &pinned {
            assert!(alive(&rt, r), "pinned {r:#x} was freed");
        }
        // The unpinned copy is garbage after the next cycle; the pinned original is not.
        rt.collect();
        assert!(alive(&rt, moved) && !alive(&rt, copy));
    }

    /// Counts near 2^32: the pin that would wrap is refused with nothing changed, for a heap
    /// object (whose count includes its PINNED bit) and a static object alike, and the object
    /// stays pinned and unpinnable.
    #[test]
    fn a_pin_count_at_the_top_refuses_one_more() {
        let mut rt = host();
        let r = rt.new_object(8, ID_STRING).unwrap();
        let s = rt.static_slots();
        for x in [r, s] {
            rt.pin(x).unwrap();
            rt.pin(x).unwrap();
            let at = rt.pins.count(rt.pin_slot(x).unwrap());
            // SAFETY: `at` is the count word of `x`'s entry.
            unsafe { rt.store(at, u32::MAX - 1) };
            assert_eq!(rt.pin(x), Ok(x));
            assert_eq!(rt.pin_count(x), u32::MAX);
            assert_eq!(rt.pin(x), Err(Error::PinOverflow));
            assert_eq!(rt.pin_count(x), u32::MAX, "the refused pin changed nothing");
            assert_eq!(rt.check(), 0);
            rt.unpin(x).unwrap();
            assert_eq!(rt.pin_count(x), u32::MAX - 1);
        }
        rt.collect();
        assert!(alive(&rt, r));
        // Down to 2, then the bit alone, then nothing.
        let at = rt.pins.count(rt.pin_slot(r).unwrap());
        // SAFETY: as above.
        unsafe { rt.store(at, 2) };
        rt.unpin(r).unwrap();
        assert_eq!(rt.pin_count(r), 1);
        rt.unpin(r).unwrap();
        assert_eq!(rt.pin_count(r), 0);
        assert_eq!(rt.check(), 0);
        rt.collect();
        assert!(!alive(&rt, r));
    }

    /// A table something overwrote: a duplicated entry is reported by the checker, and a table
    /// with no empty slot makes no lookup loop forever (lookups end after `capacity` probes).
    #[test]
    fn an_overwritten_table_is_reported_and_lookups_end() {
        let mut rt = host();
        let (a, b) = (rt.new_object(8, ID_STRING).unwrap(), rt.new_object(8, ID_STRING).unwrap());
        for r in [a, a, b, b] {
            rt.pin(r).unwrap();
        }
        assert_eq!(rt.check(), 0);
        let ib = rt.pin_slot(b).unwrap();
        // SAFETY: `ib` is an entry of the table.
        unsafe { rt.store(rt.pins.key(ib), a) };
        let report = rt.check_report();
        assert!(
            report.iter().any(|v| v.invariant == crate::Invariant::PinEntryBad && v.address == a),
            "{report:?}"
        );
        // Every slot taken: lookups and removals still end.
        for i in 0..rt.pins.capacity() {
            // SAFETY: `i < capacity`: an entry of the table.
            unsafe { rt.store(rt.pins.key(i), 0xFFFF_0000 + 16 * i) };
        }
        assert_eq!(rt.pin_slot(b), None);
        assert_eq!(rt.pin_count(b), 1, "no entry found: the PINNED bit alone");
        rt.unpin(b).unwrap();
        assert_eq!(rt.unpin(b), Err(Error::NotPinned));
        assert!(rt.check() > 0);
    }
}
