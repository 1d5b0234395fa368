//! Sweeping: a walk over the heap's blocks in address order from a cursor the heap keeps at a
//! block start (merges move it left when they swallow it), freeing objects of the old white and
//! turning black ones into the current white. Bounded per step.

use super::trace::OBJECT_WORK;
use crate::memory::Memory;
use crate::object::{Color, FREE, GC_INFO, MANAGED, MM_INFO};
use crate::runtime::Runtime;

impl<M: Memory> Runtime<M> {
    /// Sweeps blocks until the budget is spent or the heap ends.
    pub(crate) fn sweep_step(&mut self, budget: u32) {
        let dead = self.gc.white ^ 1;
        let mut work = 0u32;
        while work < budget {
            let at = self.heap.cursor();
            if at == 0 {
                self.finish_sweep();
                return;
            }
            work += OBJECT_WORK;
            let info = self.load(at + MM_INFO);
            if info & FREE == 0 {
                let gc = self.load(at + GC_INFO);
                if gc & MANAGED != 0 {
                    let color = gc & 3;
                    if color == dead {
                        self.live_objects -= 1;
                        #[cfg(feature = "rtrace")]
                        crate::rtrace::free(at);
                        // SAFETY: an old-white object is unreachable: nothing can see it.
                        unsafe { self.heap.free_block(at) };
                        // The cursor now starts the (merged) free block: skipped next round.
                        continue;
                    }
                    if color == Color::Black as u32 {
                        self.store(at + GC_INFO, (gc & !3) | self.gc.white);
                    }
                }
            }
            // SAFETY: the cursor is a block start.
            let next = unsafe { self.heap.next_block(at) };
            self.heap.set_cursor(next);
        }
    }
}
