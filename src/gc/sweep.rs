//! Sweeping: a walk over the heap's blocks in address order from a cursor the heap keeps at a
//! block start (merges move it left when they swallow it), freeing objects of the old white and
//! turning black ones into the current white. Bounded per step. A sweep first settles the weak
//! table (gc/weak.rs): no block is freed while a weak entry may still name it.

use super::trace::OBJECT_WORK;
use crate::memory::Memory;
use crate::object::{MM_INFO, MmInfo};
use crate::runtime::Runtime;

impl<M: Memory> Runtime<M> {
    /// Sweeps blocks until the budget is spent or the heap ends.
    pub(crate) fn sweep_step(&mut self, budget: u32) {
        let dead = self.gc.white ^ 1;
        let mut work = 0u32;
        if self.weak.cursor < self.weak.capacity {
            work = self.settle_step(budget);
            if self.weak.cursor < self.weak.capacity {
                return;
            }
        }
        if self.eph.cursor < self.eph.capacity {
            work += self.eph_settle_step(budget.saturating_sub(work));
            if self.eph.cursor < self.eph.capacity {
                return;
            }
        }
        // A hosted program's `__finalize` sees every dead object before any is freed.
        #[cfg(feature = "assemblyscript")]
        if self.gc.finalize_pass {
            work += self.asc_finalize_step(budget.saturating_sub(work));
            if self.gc.finalize_pass {
                return;
            }
        }
        while work < budget {
            let at = self.heap.cursor();
            if at == 0 {
                self.finish_sweep();
                return;
            }
            work += OBJECT_WORK;
            // SAFETY: the cursor is a block start.
            let info = MmInfo(unsafe { self.load(at + MM_INFO) });
            if !info.is_free() {
                // SAFETY: as above, a used block.
                let gc = unsafe { self.gc_info(at) };
                if gc.is_white(dead) {
                    // SAFETY: `at` is a used block of the old white, `info` its mmInfo.
                    work +=
                        unsafe { self.free_dead_run(at, info, dead, budget - work.min(budget)) };
                    // The cursor now starts the (merged) free block: skipped next round.
                    continue;
                }
                if gc.is_managed() && gc.is_black() {
                    // SAFETY: a live managed block at the cursor.
                    unsafe { self.set_gc_info(at, gc.recolored(self.gc.white)) };
                }
            }
            // SAFETY: the cursor is a block start.
            let next = unsafe { self.heap.next_block(at) };
            self.heap.set_cursor(next);
        }
    }

    /// Frees the dead object at `at` together with the dead objects right after it (within
    /// `budget`), as one block: one free-list update for the whole run instead of one per
    /// object. Returns the work done beyond the first block.
    ///
    /// # Safety
    /// `at` is a used block of the old white whose mmInfo is `info`.
    unsafe fn free_dead_run(&mut self, at: u32, info: MmInfo, dead: u32, budget: u32) -> u32 {
        let mut end = at + info.size();
        let mut work = 0u32;
        self.live_objects -= 1;
        #[cfg(feature = "rtrace")]
        crate::rtrace::free(at);
        while work < budget {
            // SAFETY: `end` is the block after a used block: a region's sentinel at worst.
            let next = MmInfo(unsafe { self.load(end + MM_INFO) });
            if next.is_free() {
                break; // freeing merges it anyway
            }
            // SAFETY: as above, a used block.
            if !unsafe { self.gc_info(end) }.is_white(dead) {
                break;
            }
            self.live_objects -= 1;
            #[cfg(feature = "rtrace")]
            crate::rtrace::free(end);
            // Mark the swallowed header free (its start is forgotten below, with the whole
            // run's), so a stale ref to it is rejected, not trusted.
            // SAFETY: `end` is a dead block being swallowed into the run.
            unsafe { self.store(end + MM_INFO, next.with_free().0) };
            end += next.size();
            work += OBJECT_WORK;
        }
        // The starts of the whole run, in one map update.
        // SAFETY: [at, end) holds only the run's blocks.
        unsafe { self.heap.forget_starts_in(at, end) };
        // One used block spanning the run, keeping the first header's LEFTFREE bit.
        // SAFETY: `at` is the run's first block (the caller's).
        unsafe { self.store(at + MM_INFO, info.with_size(end - at).0) };
        // SAFETY: [at, end) is a run of whole blocks, all dead (unreachable) objects, with no
        // start left in the map.
        unsafe { self.heap.free_forgotten(at) };
        work
    }
}
