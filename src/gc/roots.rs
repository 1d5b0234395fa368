//! Roots besides pins ([`super::pins`]): static objects and the shadow stack.
//!
//! ```text
//! ╒═══════ Shadow stack (static memory, docs/ABI.md §5) ═══════╕
//! │ header: top │ base │ limit │   slots [base, top) are roots; compiled code  │
//! │ slots: ref │ ref │ ... │ top → (free) │ limit         │   pushes by writing a slot and top += 4
//! ╘═══════════════════════════════════════════════════════╛
//! ```

use crate::error::Error;
use crate::memory::Memory;
use crate::runtime::{Roots, Runtime};

impl<M: Memory> Runtime<M> {
    // ----- shadow stack -----

    /// The static addresses the runtime trusts (shadow stack, native stack, static roots), as
    /// the build laid them out.
    pub fn roots(&self) -> &Roots {
        &self.roots
    }

    /// Checks the shadow-stack descriptor `{ top, base, limit }`, which compiled code writes
    /// and the runtime must not trust (docs/ABI.md §6): `base` and `limit` must be exactly the slot
    /// array the build laid out, and `top` a 4-aligned address in `[base, limit]`. Every export
    /// that reads or writes the shadow stack calls this before it changes anything. Time: O(1),
    /// three loads and a few compares.
    #[inline]
    pub fn check_roots(&self) -> Result<(), Error> {
        let h = self.roots.shadow_stack;
        if h == 0 {
            return Ok(());
        }
        // SAFETY: the descriptor's three words lie in memory (the contract of `Runtime::new`).
        let (top, base, limit) = unsafe { (self.load(h), self.load(h + 4), self.load(h + 8)) };
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

    /// The descriptor's `top` word as it stands (unchecked: compiled code writes it); 0 without
    /// a shadow stack. Time: O(1).
    #[inline(always)]
    pub(crate) fn shadow_top(&self) -> u32 {
        let h = self.roots.shadow_stack;
        // SAFETY: the descriptor lies in memory (the contract of `Runtime::new`).
        if h == 0 { 0 } else { unsafe { self.load(h) } }
    }

    /// The descriptor's address and its `top` word, for [`Runtime::shadow_reset`] (a scope's
    /// start); `(0, 0)` without a shadow stack. Time: O(1).
    #[inline(always)]
    pub(crate) fn shadow_mark(&self) -> (u32, u32) {
        (self.roots.shadow_stack, self.shadow_top())
    }

    /// Restores `top` as [`Runtime::shadow_mark`] read it (a scope's end: its slots are
    /// popped). Time: O(1).
    #[inline(always)]
    pub(crate) fn shadow_reset(&self, header: u32, top: u32) {
        if header != 0 {
            // SAFETY: `header` is the descriptor's address (the contract of `Runtime::new`),
            // the runtime's to update.
            unsafe { self.store(header, top) };
        }
    }

    /// Pushes `raw` with only the bounds test (the Rust API's fast path, which validated or
    /// trusts `raw`): `top` must be a 4-aligned slot of the build's array. Returns the slot's
    /// address, or `None` when the stack is full or absent or `top` is out of its array.
    /// Time: O(1), two loads and two stores.
    #[inline(always)]
    pub(crate) fn shadow_push_raw(&mut self, raw: u32) -> Option<u32> {
        let h = self.roots.shadow_stack;
        if h == 0 {
            return None;
        }
        // The slot array's bounds as the build laid it out, not the descriptor's words (which
        // compiled code may have overwritten), so a push never writes outside it.
        let (base, limit) = (self.roots.shadow_base, self.roots.shadow_limit);
        // SAFETY: the descriptor lies in memory (the contract of `Runtime::new`).
        let top = unsafe { self.load(h) };
        // One compare for base <= top < limit (wrapping), one test for alignment.
        if top.wrapping_sub(base) >= limit.wrapping_sub(base) || !top.is_multiple_of(4) {
            return None;
        }
        // SAFETY: `top` is a 4-aligned slot of the build's array `[base, limit)`.
        unsafe {
            self.store(top, raw);
            self.store(h, top + 4);
        }
        Some(top)
    }

    /// Whether `slot` is an address of the build's slot array (a `Slot` handed out by the
    /// Rust API, or a forged one). Time: O(1).
    #[inline(always)]
    pub(crate) fn is_shadow_slot(&self, slot: u32) -> bool {
        slot >= self.roots.shadow_base && slot < self.roots.shadow_limit
    }

    /// The checked top of the shadow stack (see [`Runtime::check_roots`]); `None` without one.
    #[inline]
    fn stack_top(&self) -> Result<Option<u32>, Error> {
        self.check_roots()?;
        Ok((self.roots.shadow_stack != 0).then(|| self.shadow_top()))
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
        // SAFETY: `top` was checked to be a 4-aligned slot in `[base, limit)`, the build's slot
        // array, and the descriptor is the runtime's to update.
        unsafe {
            self.store(top, r);
            self.store(self.roots.shadow_stack, top + 4);
        }
        Ok(r)
    }

    /// `__gc_pop`: pops `count` slots; popping more than were pushed is an error.
    pub fn pop(&mut self, count: u32) -> Result<(), Error> {
        let top = self.stack_top()?.ok_or(Error::StackUnderflow)?;
        let bytes = count.checked_mul(4).ok_or(Error::StackUnderflow)?;
        if top - self.roots.shadow_base < bytes {
            return Err(Error::StackUnderflow);
        }
        // SAFETY: the descriptor lies in memory and is the runtime's to update.
        unsafe { self.store(self.roots.shadow_stack, top - bytes) };
        Ok(())
    }

    /// The live slots `[base, top)` of the shadow stack, inside the build's slot array whatever
    /// the descriptor says (`top` clamped); empty without a shadow stack.
    pub(crate) fn shadow_slots(&self) -> (u32, u32) {
        if self.roots.shadow_stack == 0 {
            return (0, 0);
        }
        let (base, limit) = (self.roots.shadow_base, self.roots.shadow_limit);
        (base, self.shadow_top().max(base).min(limit) & !3)
    }

    /// Shades every live shadow-stack slot. The exports that get here checked the descriptor
    /// first; the scan still stays inside the build's slot array whatever `top` says.
    /// Time: O(stack depth).
    // Out of line: it runs when the gray stack runs dry, and inlined into the marking loop it
    // crowds the loop's hot path (binary-trees: +7% instructions).
    #[inline(never)]
    pub(crate) fn shade_shadow_stack(&mut self) {
        let (mut at, top) = self.shadow_slots();
        while at + 4 <= top {
            // SAFETY: `at` is a slot of the build's array `[base, limit)`, 4-aligned.
            let r = unsafe { self.load(at) };
            self.shade(r);
            at += 4;
        }
    }

    /// Shades the roots a cycle's start shades at once: the references held by static objects
    /// (build-time data) and the shadow stack. Pins are shaded by the marking steps
    /// ([`Runtime::shade_pins_step`]). Time: O(static slots + stack depth).
    pub(crate) fn shade_roots(&mut self) {
        for i in 0..self.roots.static_count {
            // SAFETY: an entry of the `statics` array, which lies in memory (`Runtime::new`).
            let r = unsafe { self.load(self.roots.statics + 4 * i) };
            if r != 0 {
                // SAFETY: a static root is a static object (the contract of `Runtime::new`).
                unsafe { self.trace_now(r) };
            }
        }
        self.shade_shadow_stack();
        #[cfg(feature = "assemblyscript")]
        self.asc_roots();
    }
}
