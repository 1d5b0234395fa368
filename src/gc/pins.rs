//! Counted pins: an open-addressing table of `(ref, count)` entries in an Internal heap block.
//!
//! ```text
//! ╒═══════ Pin table (an Internal heap block, capacity a power of two) ═══════╕
//! │ ref 0 │ count 0 │ ref 1 │ count 1 │ ...  linear probing, ref 0 = empty    │
//! ╘═══════════════════════════════════════════════════════════════════════════╛
//! ```
//!
//! The table grows with the number of pinned objects, never with the heap; a pinned heap object
//! also has the PINNED bit in its gcInfo, so `renew` and the checker know without a lookup.
//! Pinning while marking shades the object at once.

use super::{PINS_DONE, Phase};
use crate::error::Error;
use crate::memory::Memory;
use crate::object::HEADER_SIZE;
use crate::runtime::Runtime;

/// Bytes of one entry: the ref, then its count.
const ENTRY: u32 = 8;

/// Work units charged per pin-table entry a marking step shades.
const PIN_WORK: u32 = 4;

/// The counted pins: an open-addressing table of `(ref, count)` in a heap block.
#[derive(Debug, Default, Clone, Copy)]
pub struct PinTable {
    /// Ref of the table's Internal block, 0 before the first pin. Invariant: holds `capacity`
    /// entries of 8 bytes.
    table: u32,
    /// Entries; a power of two, or 0. Invariant: `2 * len <= capacity`.
    capacity: u32,
    /// Occupied entries.
    len: u32,
}

impl PinTable {
    /// An empty table.
    pub const fn new() -> Self {
        PinTable { table: 0, capacity: 0, len: 0 }
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
    fn count(&self, i: u32) -> u32 {
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
}

impl<M: Memory> Runtime<M> {
    /// The slot index holding `r`, if pinned. Time: O(1) expected.
    fn pin_slot(&self, r: u32) -> Option<u32> {
        let t = &self.pins;
        if t.capacity == 0 {
            return None;
        }
        let mut i = t.home(r);
        loop {
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
    }

    /// Inserts `r` with count 1 (not present; room guaranteed).
    #[inline(always)]
    fn pin_insert(&mut self, r: u32) {
        let t = &self.pins;
        let mut i = t.home(r);
        // SAFETY: `i < capacity` (masked): an entry inside the table's block.
        while unsafe { self.load(t.key(i)) } != 0 {
            i = (i + 1) & (t.capacity - 1);
        }
        let (key, count) = (t.key(i), t.count(i));
        // SAFETY: as above; the table is the runtime's own Internal block.
        unsafe {
            self.store(key, r);
            self.store(count, 1);
        }
        self.pins.len += 1;
    }

    /// Makes room for one more pin, moving to a table twice as large. On error (out of
    /// memory) nothing has changed.
    fn pin_reserve(&mut self) -> Result<(), Error> {
        if self.pins.has_room() {
            return Ok(());
        }
        let cap = (self.pins.capacity * 2).max(16);
        let table = self.heap.alloc_table(cap * ENTRY)?;
        let old = core::mem::replace(&mut self.pins, PinTable { table, capacity: cap, len: 0 });
        for i in 0..old.capacity {
            // SAFETY: `i < old.capacity`: an entry inside the old table's block, not yet freed.
            let (k, n) = unsafe { (self.load(old.key(i)), self.load(old.count(i))) };
            if k != 0 {
                self.pin_insert(k);
                let j = self.pin_slot(k).unwrap_or(0);
                // SAFETY: `j` is the entry just inserted, inside the new table.
                unsafe { self.store(self.pins.count(j), n) };
            }
        }
        if old.table != 0 {
            // SAFETY: the old table is an Internal block nobody else refers to.
            unsafe { self.heap.release_block(old.table - HEADER_SIZE) };
        }
        if self.pins_pending() {
            // The entries moved: the ones behind the cursor may now be ahead and vice versa.
            self.gc.pin_cursor = 0;
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
        if r >= self.heap.start() {
            // SAFETY: `block` was validated: a live managed heap block.
            let info = unsafe { self.gc_info(block) };
            // A heap object without PINNED has no entry (the checker's invariant), so its first
            // pin needs no lookup, only an empty slot.
            if !info.is_pinned() && self.pins.has_room() {
                self.pin_insert(r);
                // SAFETY: as above.
                unsafe { self.set_gc_info(block, info.with_pinned(true)) };
                if self.gc.phase == Phase::Mark {
                    self.shade_pinned(r);
                }
                return Ok(r);
            }
        }
        self.pin_counted(r, block)?;
        Ok(r)
    }

    /// `pin` of a static object, of an object already pinned, or when the table must grow.
    /// Returns no value, so that the result fits a register (no frame for `pin` to reserve).
    #[inline(never)]
    fn pin_counted(&mut self, r: u32, block: u32) -> Result<(), Error> {
        if let Some(i) = self.pin_slot(r) {
            let at = self.pins.count(i);
            // SAFETY: `pin_slot` returns an entry inside the table.
            let n = unsafe { self.load(at) }.checked_add(1).ok_or(Error::PinOverflow)?;
            // SAFETY: as above.
            unsafe { self.store(at, n) };
            return Ok(());
        }
        if let Err(e) = self.pin_reserve() {
            if e != Error::OutOfMemory {
                return Err(e);
            }
            self.collect_keeping(&[r])?;
            self.pin_reserve()?;
        }
        self.pin_insert(r);
        if r >= self.heap.start() {
            // SAFETY: `block` was validated: a live managed heap block.
            unsafe { self.set_gc_info(block, self.gc_info(block).with_pinned(true)) };
            if self.gc.phase == Phase::Mark {
                self.shade(r);
            }
        }
        Ok(())
    }

    /// Shades an object pinned while marking; out of line, so `pin`'s common path stays small.
    #[inline(never)]
    fn shade_pinned(&mut self, r: u32) {
        self.shade(r);
    }

    /// `__unpin`: removes one pin; an object that is not pinned is an error. Time: O(1) expected.
    #[inline(always)]
    pub fn unpin(&mut self, r: u32) -> Result<(), Error> {
        if r == 0 {
            return Ok(());
        }
        let block = self.validate_object_hot(r)?;
        let heap = r >= self.heap.start();
        // SAFETY: `block` was validated: a live managed heap block when `heap`.
        if heap && !unsafe { self.gc_info(block) }.is_pinned() {
            // No PINNED bit, no entry: the answer a lookup would give, without one.
            return Err(Error::NotPinned);
        }
        let i = self.pin_slot(r).ok_or(Error::NotPinned)?;
        let at = self.pins.count(i);
        // SAFETY: `pin_slot` returns an entry inside the table.
        let n = unsafe { self.load(at) } - 1;
        if n > 0 {
            // SAFETY: as above.
            unsafe { self.store(at, n) };
            return Ok(());
        }
        self.pin_remove(i);
        if heap {
            // SAFETY: `block` was validated: a live managed heap block.
            unsafe { self.set_gc_info(block, self.gc_info(block).with_pinned(false)) };
        }
        Ok(())
    }

    /// Removes entry `i`, shifting later entries of the probe run back.
    fn pin_remove(&mut self, mut i: u32) {
        let t = self.pins;
        let mask = t.capacity - 1;
        let mut j = i;
        loop {
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
                if self.pins_pending() {
                    // It may move from ahead of the pin cursor to behind it.
                    self.shade(k);
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

    /// Shades pin-table entries from the cursor on, at most `budget` work units' worth;
    /// returns the work done. Marking cannot end before every entry has been shaded. A pin
    /// added meanwhile is shaded by `pin`; an entry the table moves is rescanned (a new table
    /// restarts the cursor, `pin_remove` shades what it shifts). Time: O(budget).
    pub(crate) fn shade_pins_step(&mut self, budget: u32) -> u32 {
        let from = self.gc.pin_cursor;
        let cap = self.pins.capacity();
        let end = cap.min(from.saturating_add((budget / PIN_WORK).max(1)));
        for i in from..end {
            // SAFETY: `i < capacity`: an entry inside the pin table's block.
            let r = unsafe { self.load(self.pins.key(i)) };
            self.shade(r);
        }
        self.gc.pin_cursor = if end >= cap { PINS_DONE } else { end };
        (end - from).max(1) * PIN_WORK
    }

    /// Whether a marking step has pin-table entries left to shade.
    fn pins_pending(&self) -> bool {
        self.gc.phase == Phase::Mark && self.gc.pin_cursor != PINS_DONE
    }

    /// How many times `r` is pinned.
    pub fn pin_count(&self, r: u32) -> u32 {
        // SAFETY: `pin_slot` returns an entry inside the table.
        self.pin_slot(r).map_or(0, |i| unsafe { self.load(self.pins.count(i)) })
    }
}

#[cfg(all(test, any(not(target_arch = "wasm32"), feature = "std")))]
mod tests {
    use super::*;
    use crate::host::HostConfig;
    use crate::rtti::ID_STRING;

    /// Removing an entry shifts a later entry of its probe run back; when that moves it from
    /// ahead of the pin cursor to behind it, it must be shaded then, or the cycle never shades
    /// it and frees a pinned object.
    #[test]
    fn an_entry_shifted_behind_the_pin_cursor_is_shaded() {
        let mut rt = Runtime::host(HostConfig::default());
        let first = rt.new_object(8, ID_STRING).unwrap();
        rt.pin(first).unwrap();
        // Two more objects with one home slot `h`: pinned, they sit at `h` and `h + 1`.
        let home = |rt: &Runtime<_>, r| rt.pins.home(r);
        let mut same = std::vec::Vec::new();
        while same.len() < 2 {
            let r = rt.new_object(8, ID_STRING).unwrap();
            let h = home(&rt, r);
            if h + 1 < rt.pins.capacity()
                && rt.pin_slot(first).is_none_or(|i| i != h && i != h + 1)
                && same.iter().all(|&s| home(&rt, s) == h)
            {
                same.push(r);
            }
        }
        let (a, b) = (same[0], same[1]);
        rt.pin(a).unwrap();
        rt.pin(b).unwrap();
        let h = rt.pin_slot(a).unwrap();
        assert_eq!(rt.pin_slot(b), Some(h + 1));
        // A cycle whose pin scan has reached `h + 1`: `a` (and `first`) are shaded, `b` not yet.
        rt.collect();
        rt.start_cycle();
        rt.gc.pin_cursor = h + 1;
        rt.shade(a);
        rt.shade(first);
        rt.unpin(a).unwrap();
        assert_eq!(rt.pin_slot(b), Some(h), "b moved behind the cursor");
        while rt.gc.phase != Phase::Idle {
            rt.step();
        }
        assert!(rt.validate_object(b).is_ok(), "the pinned object was freed");
        assert!(rt.validate_object(first).is_ok());
        assert_eq!(rt.check(), 0);
    }
}
