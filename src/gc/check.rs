//! The heap checker's collector half: the tri-color invariant and the collector's bookkeeping.

use super::Phase;
use crate::memory::Memory;
use crate::object::{Color, GC_INFO, HEADER_SIZE, LINK_MASK, MANAGED, PINNED};
use crate::runtime::Runtime;

impl<M: Memory> Runtime<M> {
    /// `__heap_check`: counts every broken invariant of the heap (blocks, free lists, tags,
    /// headers) and of the collector: while marking, no black object (or static root) points to
    /// a white object; gray objects are exactly those on the gray stack; outside marking nothing
    /// is gray; PINNED bits match the pin table; the live-object count matches the heap.
    /// Time: O(heap).
    pub fn check(&self) -> u32 {
        let marking = self.gc.phase == Phase::Mark;
        let white = self.gc.white;
        let mut errors = 0u32;
        let mut gray_seen = 0u64;
        let mut managed = 0u64;
        let mut pinned = 0u32;
        let is_white = |rt: &Self, r: u32| -> bool {
            if r < rt.heap.start() + HEADER_SIZE {
                return false;
            }
            match rt.heap.validate(r) {
                Ok(b) => {
                    let gc = rt.load(b + GC_INFO);
                    gc & MANAGED != 0 && gc & 3 == white
                }
                Err(_) => false,
            }
        };
        errors += self.heap.check_with(|block| {
            let gc = self.load(block + GC_INFO);
            if gc & MANAGED == 0 {
                return;
            }
            managed += 1;
            let color = gc & 3;
            if gc & PINNED != 0 {
                pinned += 1;
                if self.pin_count(block + HEADER_SIZE) == 0 {
                    errors += 1;
                }
            }
            if color == Color::Gray as u32 {
                gray_seen += 1;
                if !marking {
                    errors += 1;
                }
            } else if gc & LINK_MASK != 0 {
                errors += 1;
            }
            if !marking && color == Color::Black as u32 && self.gc.phase == Phase::Idle {
                errors += 1;
            }
            // Nothing freed is reachable: every reference a live object holds is a live
            // object (or null).
            if color != Color::White0 as u32 && color != Color::White1 as u32
                || !marking && self.gc.phase != Phase::Sweep
            {
                self.for_each_child(block + HEADER_SIZE, |c| {
                    if c != 0 && self.validate_object(c).is_err() {
                        errors += 1;
                    }
                });
            }
            if marking && color == Color::Black as u32 {
                let partial = self.gc.partial.is_some_and(|p| p.block == block);
                if !partial {
                    self.for_each_child(block + HEADER_SIZE, |c| {
                        if is_white(self, c) {
                            errors += 1;
                        }
                    });
                }
            }
        });
        // The gray stack: every entry gray, as many as the walk found.
        let mut at = self.gc.gray;
        let mut len = 0u64;
        while at != 0 && len <= gray_seen {
            let gc = self.load(at + GC_INFO);
            if gc & 3 != Color::Gray as u32 {
                errors += 1;
                break;
            }
            len += 1;
            at = gc & LINK_MASK;
        }
        if len != gray_seen {
            errors += 1;
        }
        if managed != self.live_objects {
            errors += 1;
        }
        // Root slots hold refs or null; anything else the collector skips, and counts here.
        let (mut at, top) = self.shadow_slots();
        while at < top {
            let r = self.load(at);
            if r != 0 && !self.is_object(r) {
                errors += 1;
            }
            at += 4;
        }
        for i in 0..self.roots.static_count {
            let r = self.load(self.roots.statics + 4 * i);
            if r != 0 {
                self.for_each_child(r, |c| {
                    if c != 0 && !self.is_object(c) {
                        errors += 1;
                    }
                });
            }
        }
        // Static roots are black: while marking their children must not be white.
        if marking {
            for i in 0..self.roots.static_count {
                let r = self.load(self.roots.statics + 4 * i);
                if r != 0 {
                    self.for_each_child(r, |c| {
                        if is_white(self, c) {
                            errors += 1;
                        }
                    });
                }
            }
        }
        let _ = pinned;
        errors
    }
}
