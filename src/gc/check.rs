//! The heap checker's collector half: the tri-color invariant and the collector's bookkeeping.

use super::Phase;
use crate::invariant::{Invariant, Violations};
use crate::memory::Memory;
use crate::object::{Color, HEADER_SIZE};
use crate::runtime::Runtime;

impl<M: Memory> Runtime<M> {
    /// `__heap_check`: counts every broken invariant of the heap (blocks, free lists, tags,
    /// headers) and of the collector: while marking, no black object (or static root) points to
    /// a white object; gray objects are exactly those on the gray stack; outside marking nothing
    /// is gray; PINNED bits match the pin table; the live-object count matches the heap; root
    /// slots hold objects. [`Runtime::check_each`] says which broke and where.
    /// Time: O(heap).
    pub fn check(&self) -> u32 {
        self.check_each(|_, _| {})
    }

    /// Runs every check of [`Runtime::check`], calling `f(invariant, address)` for each broken
    /// invariant ([`Invariant`] says what the address is), and returns their number.
    /// Time: O(heap).
    pub fn check_each(&self, mut f: impl FnMut(Invariant, u32)) -> u32 {
        let mut v = Violations::new(&mut f);
        self.check_into(&mut v);
        v.count()
    }

    /// The broken invariants, in the order the checker finds them (empty when sound).
    /// Time: O(heap).
    #[cfg(any(feature = "std", not(target_arch = "wasm32")))]
    pub fn check_report(&self) -> std::vec::Vec<crate::invariant::Violation> {
        let mut list = std::vec::Vec::new();
        self.check_each(|invariant, address| {
            list.push(crate::invariant::Violation { invariant, address })
        });
        list
    }

    /// The checker behind [`Runtime::check_each`].
    fn check_into(&self, v: &mut Violations<'_>) {
        let marking = self.gc.phase == Phase::Mark;
        let white = self.gc.white;
        let mut gray_seen = 0u64;
        let mut managed = 0u64;
        let is_white = |rt: &Self, r: u32| -> bool {
            if r < rt.heap.start() + HEADER_SIZE {
                return false;
            }
            match rt.heap.validate(r) {
                Ok(b) => rt.gc_info(b).is_white(white),
                Err(_) => false,
            }
        };
        self.heap.check_into(v, |block, v| {
            let gc = self.gc_info(block);
            if !gc.is_managed() {
                return;
            }
            managed += 1;
            let color = gc.color();
            if gc.is_pinned() && self.pin_count(block + HEADER_SIZE) == 0 {
                v.report(Invariant::PinnedBitWithoutPin, block);
            }
            if gc.is_gray() {
                gray_seen += 1;
                if !marking {
                    v.report(Invariant::GrayOutsideMark, block);
                }
            } else if gc.gray_link() != 0 {
                v.report(Invariant::LinkOnNonGray, block);
            }
            if !marking && gc.is_black() && self.gc.phase == Phase::Idle {
                v.report(Invariant::BlackWhenIdle, block);
            }
            // Nothing freed is reachable: every reference a live object holds is a live
            // object (or null).
            if color != Color::White0 as u32 && color != Color::White1 as u32
                || !marking && self.gc.phase != Phase::Sweep
            {
                self.for_each_child(block + HEADER_SIZE, |c| {
                    if c != 0 && self.validate_object(c).is_err() {
                        v.report(Invariant::DanglingChild, block);
                    }
                });
            }
            if marking && gc.is_black() {
                let partial = self.gc.partial.is_some_and(|p| p.block == block);
                if !partial {
                    self.for_each_child(block + HEADER_SIZE, |c| {
                        if is_white(self, c) {
                            v.report(Invariant::BlackPointsToWhite, block);
                        }
                    });
                }
            }
        });
        // The gray stack: every entry gray, as many as the walk found.
        let mut at = self.gc.gray;
        let mut len = 0u64;
        while at != 0 && len <= gray_seen {
            let gc = self.gc_info(at);
            if !gc.is_gray() {
                v.report(Invariant::GrayStackNotGray, at);
                break;
            }
            len += 1;
            at = gc.gray_link();
        }
        if len != gray_seen {
            v.report(Invariant::GrayNotOnStack, self.gc.gray);
        }
        if managed != self.live_objects {
            v.report(Invariant::LiveCountMismatch, 0);
        }
        // Root slots hold refs or null; anything else the collector skips, and counts here.
        let (mut at, top) = self.shadow_slots();
        while at < top {
            let r = self.load(at);
            if r != 0 && !self.is_object(r) {
                v.report(Invariant::JunkRootSlot, at);
            }
            at += 4;
        }
        for i in 0..self.roots.static_count {
            let r = self.load(self.roots.statics + 4 * i);
            if r != 0 {
                self.for_each_child(r, |c| {
                    if c != 0 && !self.is_object(c) {
                        v.report(Invariant::JunkStaticSlot, r - HEADER_SIZE);
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
                            v.report(Invariant::BlackPointsToWhite, r - HEADER_SIZE);
                        }
                    });
                }
            }
        }
    }

    /// With the feature `check-steps`: runs the full checker after each of the next `steps` GC
    /// steps (`u64::MAX`, the default, for every step; 0 turns it off). A test that corrupts
    /// memory on purpose turns it off before it steps.
    #[cfg(feature = "check-steps")]
    pub fn set_step_checks(&mut self, steps: u64) {
        self.step_checks = steps;
    }

    /// After a GC step (feature `check-steps`): the full checker; panics with the broken
    /// invariants and their addresses if any. Junk that compiled code left in root slots
    /// ([`Invariant::is_junk_root`]) is tolerated by the collector (ABI §6) and ignored here.
    ///
    /// A check costs O(heap) and a cycle takes O(heap / step_work) steps, so checking every
    /// step of a big heap is quadratic. With at most [`STEP_CHECK_FULL_BYTES`] (128 KiB) of
    /// used blocks every step is checked (every step of the GC model runs is); above that, a
    /// step is checked once the steps since the last check had a work budget of at least
    /// `used / STEP_CHECK_RATIO` units, which keeps checking within a constant factor of the
    /// collector's own work (a heap of 32 MiB of used blocks stepped with the default
    /// 16 Ki units is checked every 512 steps).
    #[cfg(feature = "check-steps")]
    pub(crate) fn check_after_step(&mut self, budget: u32) {
        if self.step_checks == 0 {
            return;
        }
        let used = self.heap.used_bytes() as u64;
        if used > STEP_CHECK_FULL_BYTES {
            let credit = self.step_check_credit + budget as u64 * STEP_CHECK_RATIO;
            if credit < used {
                self.step_check_credit = credit;
                return;
            }
            self.step_check_credit = 0;
        }
        self.step_checks -= 1;
        let mut first = [None; 8];
        let mut n = 0usize;
        self.check_each(|invariant, address| {
            if !invariant.is_junk_root() {
                if let Some(slot) = first.get_mut(n) {
                    *slot = Some(crate::invariant::Violation { invariant, address });
                }
                n += 1;
            }
        });
        if n > 0 {
            panic!(
                "asrt: heap check after GC step {} (phase {:?}): {n} broken invariant(s): {}",
                self.gc.steps,
                self.gc.phase,
                List(&first)
            );
        }
    }
}

/// Used bytes up to which `check-steps` checks after every GC step.
#[cfg(feature = "check-steps")]
pub(crate) const STEP_CHECK_FULL_BYTES: u64 = 128 << 10;

/// Above [`STEP_CHECK_FULL_BYTES`], used bytes a check may cover per unit of step budget
/// since the last check.
#[cfg(feature = "check-steps")]
pub(crate) const STEP_CHECK_RATIO: u64 = 4;

/// The first violations, for a panic message.
#[cfg(feature = "check-steps")]
struct List<'a>(&'a [Option<crate::invariant::Violation>]);

#[cfg(feature = "check-steps")]
impl core::fmt::Display for List<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        for (i, v) in self.0.iter().flatten().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{v}")?;
        }
        Ok(())
    }
}
