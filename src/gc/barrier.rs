//! The write barrier (`__link`): keeps "no black object points to a white one" while marking.

use super::Phase;
use crate::error::Error;
use crate::memory::Memory;
use crate::object::HEADER_SIZE;
use crate::runtime::Runtime;

impl<M: Memory> Runtime<M> {
    /// `__link(parent, child, expect_multiple)`, called after storing `child` into `parent`.
    /// While marking, a white child in a black (or static) parent is shaded; with
    /// `expect_multiple` a black heap parent is re-grayed instead, so a burst of stores costs
    /// one rescan. Time: O(1).
    pub fn link(&mut self, parent: u32, child: u32, expect_multiple: bool) -> Result<(), Error> {
        if child == 0 {
            // Storing null needs no barrier (docs/ABI.md §1: `__link(parent, 0, m)` does nothing).
            return Ok(());
        }
        let pblock = self.validate_object_hot(parent)?;
        self.validate_object_hot(child)?;
        // SAFETY: both refs were validated just above.
        unsafe { self.link_unchecked(pblock + HEADER_SIZE, child, expect_multiple) };
        Ok(())
    }

    /// The barrier without argument checks, for compiled code and the Rust API. Time: O(1).
    ///
    /// # Safety
    /// `parent` is a live managed object (heap or static) and `child` is 0 or one: the barrier
    /// reads and may write their headers, so a wrong ref would corrupt the collector's state.
    #[inline(always)]
    pub unsafe fn link_unchecked(&mut self, parent: u32, child: u32, expect_multiple: bool) {
        if self.gc.phase != Phase::Mark || child == 0 {
            return;
        }
        // SAFETY: the caller's; `child` is not 0.
        unsafe { self.barrier_slow(parent, child, expect_multiple) };
    }

    /// # Safety
    /// As for [`Runtime::link_unchecked`], with `child` not 0.
    #[inline(never)]
    unsafe fn barrier_slow(&mut self, parent: u32, child: u32, expect_multiple: bool) {
        let pstatic = parent < self.heap.start();
        // SAFETY: `parent` is a live managed heap object (not static: checked first).
        let pblack = pstatic || unsafe { self.gc_info(parent - HEADER_SIZE) }.is_black();
        if !pblack {
            return;
        }
        if child < self.heap.start() {
            // A static object of a hosted program stored into a black one: traced now.
            #[cfg(feature = "assemblyscript")]
            if self.asc_static(child) {
                self.asc_shade(child);
            }
            return;
        }
        // SAFETY: `child` is a live managed heap object (at or above the heap start).
        if !unsafe { self.gc_info(child - HEADER_SIZE) }.is_white(self.gc.white) {
            return;
        }
        if expect_multiple && !pstatic {
            // SAFETY: `parent` is a live managed heap object.
            unsafe { self.regray(parent - HEADER_SIZE) };
        } else {
            self.shade(child);
        }
    }
}
