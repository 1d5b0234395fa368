//! Roots: counted pins, static objects, and the shadow stack.
//!
//! ```text
//! ╒═══════ Pin table (an Internal heap block, capacity a power of two) ═══════╕
//! │ ref 0 │ count 0 │ ref 1 │ count 1 │ ...  linear probing, ref 0 = empty    │
//! ╘═══════════════════════════════════════════════════════════════════════════╛
//! ╒═══════ Shadow stack (static memory, ABI.md §5) ═══════╕
//! │ header: top │ base │ limit │   slots [base, top) are roots; compiled code  │
//! │ slots: ref │ ref │ ... │ top → (free) │ limit         │   pushes by writing a slot and top += 4
//! ╘═══════════════════════════════════════════════════════╛
//! ```
//!
//! The pin table grows with the number of pinned objects, never with the heap; a pinned heap
//! object also has the PINNED bit in its gcInfo, so `renew` and the checker know without a
//! lookup. Pinning while marking shades the object at once.

use super::Phase;
use crate::error::Error;
use crate::memory::Memory;
use crate::object::{GC_INFO, HEADER_SIZE, Kind, NO_TYPE, PINNED};
use crate::runtime::{Roots, Runtime};

/// The counted pins: an open-addressing table of `(ref, count)` in a heap block.
#[derive(Debug, Default)]
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
            let k = self.load(t.table + 8 * i);
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
    fn pin_insert(&mut self, r: u32) {
        let t = &self.pins;
        let mut i = t.home(r);
        while self.load(t.table + 8 * i) != 0 {
            i = (i + 1) & (t.capacity - 1);
        }
        self.store(t.table + 8 * i, r);
        self.store(t.table + 8 * i + 4, 1);
        self.pins.len += 1;
    }

    /// Makes room for one more pin, moving to a table twice as large. On error (out of
    /// memory) nothing has changed.
    fn pin_reserve(&mut self) -> Result<(), Error> {
        if 2 * (self.pins.len + 1) <= self.pins.capacity {
            return Ok(());
        }
        let cap = (self.pins.capacity * 2).max(16);
        let table = self.heap.alloc_object(cap * 8, Kind::Internal as u32, NO_TYPE)?;
        // SAFETY: the new block holds `cap * 8` bytes.
        unsafe { self.heap.mem.zero(table, cap * 8) };
        let old = core::mem::replace(&mut self.pins, PinTable { table, capacity: cap, len: 0 });
        for i in 0..old.capacity {
            let (k, n) = (self.load(old.table + 8 * i), self.load(old.table + 8 * i + 4));
            if k != 0 {
                self.pin_insert(k);
                let j = self.pin_slot(k).unwrap_or(0);
                self.store(self.pins.table + 8 * j + 4, n);
            }
        }
        if old.table != 0 {
            // SAFETY: the old table is an Internal block nobody else refers to.
            unsafe { self.heap.free_block(old.table - HEADER_SIZE) };
        }
        Ok(())
    }

    /// `__pin`: adds a pin to a managed object (heap or static); returns it. `pin(0)` is 0.
    /// Time: O(1) expected.
    pub fn pin(&mut self, r: u32) -> Result<u32, Error> {
        if r == 0 {
            return Ok(0);
        }
        let block = self.validate_object(r)?;
        if let Some(i) = self.pin_slot(r) {
            let at = self.pins.table + 8 * i + 4;
            let n = self.load(at).checked_add(1).ok_or(Error::PinOverflow)?;
            self.store(at, n);
            return Ok(r);
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
            let gc = self.load(block + GC_INFO);
            self.store(block + GC_INFO, gc | PINNED);
            if self.gc.phase == Phase::Mark {
                self.shade(r);
            }
        }
        Ok(r)
    }

    /// `__unpin`: removes one pin; an object that is not pinned is an error. Time: O(1) expected.
    pub fn unpin(&mut self, r: u32) -> Result<(), Error> {
        if r == 0 {
            return Ok(());
        }
        let block = self.validate_object(r)?;
        let i = self.pin_slot(r).ok_or(Error::NotPinned)?;
        let at = self.pins.table + 8 * i + 4;
        let n = self.load(at) - 1;
        if n > 0 {
            self.store(at, n);
            return Ok(());
        }
        self.pin_remove(i);
        if r >= self.heap.start() {
            let gc = self.load(block + GC_INFO);
            self.store(block + GC_INFO, gc & !PINNED);
        }
        Ok(())
    }

    /// Removes entry `i`, shifting later entries of the probe run back.
    fn pin_remove(&mut self, mut i: u32) {
        let t = self.pins.table;
        let mask = self.pins.capacity - 1;
        let mut j = i;
        loop {
            j = (j + 1) & mask;
            let k = self.load(t + 8 * j);
            if k == 0 {
                break;
            }
            let home = self.pins.home(k);
            // Move k back to i if its home is not cyclically in (i, j].
            let between = if i <= j { i < home && home <= j } else { i < home || home <= j };
            if !between {
                self.store(t + 8 * i, k);
                self.store(t + 8 * i + 4, self.load(t + 8 * j + 4));
                i = j;
            }
        }
        self.store(t + 8 * i, 0);
        self.store(t + 8 * i + 4, 0);
        self.pins.len -= 1;
    }

    /// How many times `r` is pinned.
    pub fn pin_count(&self, r: u32) -> u32 {
        self.pin_slot(r).map_or(0, |i| self.load(self.pins.table + 8 * i + 4))
    }

    // ----- shadow stack -----

    /// The static addresses the runtime trusts (shadow stack, native stack, static roots), as
    /// the build laid them out.
    pub fn roots(&self) -> &Roots {
        &self.roots
    }

    /// Checks the shadow-stack descriptor `{ top, base, limit }`, which compiled code writes
    /// and the runtime must not trust (ABI.md §6): `base` and `limit` must be exactly the slot
    /// array the build laid out, and `top` a 4-aligned address in `[base, limit]`. Every export
    /// that reads or writes the shadow stack calls this before it changes anything. Time: O(1),
    /// three loads and a few compares.
    #[inline]
    pub fn check_roots(&self) -> Result<(), Error> {
        let h = self.roots.shadow_stack;
        if h == 0 {
            return Ok(());
        }
        let (top, base, limit) = (self.load(h), self.load(h + 4), self.load(h + 8));
        // The true base is 4-aligned and `base <= limit`, so `top - base <= limit - base` (with
        // wrapping) is `base <= top <= limit`.
        if base != self.roots.shadow_base
            || limit != self.roots.shadow_limit
            || top.wrapping_sub(base) > limit - base
            || !top.is_multiple_of(4)
        {
            return Err(Error::BadShadowStack);
        }
        Ok(())
    }

    /// The checked top of the shadow stack (see [`Runtime::check_roots`]); `None` without one.
    #[inline]
    fn stack_top(&self) -> Result<Option<u32>, Error> {
        self.check_roots()?;
        let h = self.roots.shadow_stack;
        Ok(if h == 0 { None } else { Some(self.load(h)) })
    }

    /// `__gc_push`: pushes `r` (a managed object or 0) on the shadow stack; returns it.
    pub fn push(&mut self, r: u32) -> Result<u32, Error> {
        if r != 0 {
            self.validate_object(r)?;
        }
        let top = self.stack_top()?.ok_or(Error::StackOverflow)?;
        if top >= self.roots.shadow_limit {
            return Err(Error::StackOverflow);
        }
        self.store(top, r);
        self.store(self.roots.shadow_stack, top + 4);
        Ok(r)
    }

    /// `__gc_pop`: pops `count` slots; popping more than were pushed is an error.
    pub fn pop(&mut self, count: u32) -> Result<(), Error> {
        let top = self.stack_top()?.ok_or(Error::StackUnderflow)?;
        let bytes = count.checked_mul(4).ok_or(Error::StackUnderflow)?;
        if top - self.roots.shadow_base < bytes {
            return Err(Error::StackUnderflow);
        }
        self.store(self.roots.shadow_stack, top - bytes);
        Ok(())
    }

    /// The live slots `[base, top)` of the shadow stack, inside the build's slot array whatever
    /// the descriptor says (`top` clamped); empty without a shadow stack.
    pub(crate) fn shadow_slots(&self) -> (u32, u32) {
        let h = self.roots.shadow_stack;
        if h == 0 {
            return (0, 0);
        }
        let (base, limit) = (self.roots.shadow_base, self.roots.shadow_limit);
        (base, self.load(h).max(base).min(limit) & !3)
    }

    /// Shades every live shadow-stack slot. The exports that get here checked the descriptor
    /// first; the scan still stays inside the build's slot array whatever `top` says.
    /// Time: O(stack depth).
    pub(crate) fn shade_shadow_stack(&mut self) {
        let h = self.roots.shadow_stack;
        if h == 0 {
            return;
        }
        let (base, limit) = (self.roots.shadow_base, self.roots.shadow_limit);
        let top = self.load(h).max(base).min(limit);
        let mut at = base;
        while at + 4 <= top {
            let r = self.load(at);
            self.shade(r);
            at += 4;
        }
    }

    /// Shades every root: pins, the references held by static objects, the shadow stack.
    /// Time: O(pins + static slots + stack depth).
    pub(crate) fn shade_roots(&mut self) {
        for i in 0..self.pins.capacity {
            let r = self.load(self.pins.table + 8 * i);
            self.shade(r);
        }
        for i in 0..self.roots.static_count {
            let r = self.load(self.roots.statics + 4 * i);
            if r != 0 {
                self.trace_now(r);
            }
        }
        self.shade_shadow_stack();
    }
}
