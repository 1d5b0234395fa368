//! AssemblyScript's `__finalize(ref)` hook for a hosted program that defines it (docs/ABI.md
//! §8.4): the sweep makes two passes over the heap. The first calls the hook for every dead
//! object of the cycle, a step's budget at a time, and frees nothing; the second frees them as
//! usual. So a hook reads an intact object whose dead children are intact too, and no hook ever
//! meets a block that was freed or reused. The hook runs inside a step: a call it makes to a
//! mutating export is refused (docs/ABI.md §6.7), and the step goes on when the host catches
//! that (the loader does).
//!
//! ```text
//! Mark ──▶ Sweep: settle weak table ─▶ pass 1: __finalize(dead) … ─▶ pass 2: free(dead) … ─▶ Idle
//! ```

use crate::gc::trace::OBJECT_WORK;
use crate::memory::Memory;
use crate::object::{HEADER_SIZE, MM_INFO, MmInfo};
use crate::runtime::Runtime;

impl<M: Memory> Runtime<M> {
    /// Calls the program's hook for dead objects from the sweep cursor on until the budget is
    /// spent; at the heap's end puts the cursor back at the start for the freeing pass and ends
    /// the finalize pass. Returns the work done. Time: O(budget) plus the hooks.
    pub(crate) fn asc_finalize_step(&mut self, budget: u32) -> u32 {
        let Some(hook) = self.asc.and_then(|p| p.finalize) else {
            self.end_finalize_pass();
            return 0;
        };
        let dead = self.gc.white ^ 1;
        let mut work = 0u32;
        while work < budget {
            let at = self.heap.cursor();
            if at == 0 {
                self.end_finalize_pass();
                return work;
            }
            work += OBJECT_WORK;
            // SAFETY: the cursor is a block start.
            let info = MmInfo(unsafe { self.load(at + MM_INFO) });
            if !info.is_free() {
                // SAFETY: as above, a used block.
                let gc = unsafe { self.gc_info(at) };
                if gc.is_managed() && gc.is_white(dead) {
                    hook(at + HEADER_SIZE);
                }
            }
            // SAFETY: the cursor is a block start (the hook cannot free or allocate: any
            // mutating export it calls is refused).
            let next = unsafe { self.heap.next_block(at) };
            self.heap.set_cursor(next);
        }
        work
    }

    fn end_finalize_pass(&mut self) {
        self.gc.finalize_pass = false;
        let start = self.heap.first_block();
        self.heap.set_cursor(start);
    }
}
