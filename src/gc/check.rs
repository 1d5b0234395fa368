//! The heap checker's collector half: the tri-color invariant and the collector's bookkeeping.
//!
//! One function per invariant or group of invariants, in the style of Lua's `lgc` checker:
//!
//! | function | invariants |
//! | --- | --- |
//! | `check_pinned` | `PinnedNotShaded`, `PinnedNotFlagged` |
//! | `check_pins` | `PinEntryBad` |
//! | `check_color` | `GrayOutsideMark`, `LinkOnNonGray`, `BlackWhenIdle` |
//! | `check_children_live` | `DanglingChild` |
//! | `check_black_children` | `BlackPointsToWhite` (heap objects) |
//! | `check_gray_stack` | `GrayStackNotGray`, `GrayNotOnStack` |
//! | `check_live_count` | `LiveCountMismatch` |
//! | `check_shadow_slots` | `JunkRootSlot` |
//! | `check_static_slots` | `JunkStaticSlot` |
//! | `check_static_roots_black` | `BlackPointsToWhite` (static roots) |
//! | `check_weak_table` | `WeakTableBlock`, `WeakTargetDangling`, `WeakListBroken` |
//! | `check_ephemerons` | `EphemeronTableBad`, `EphemeronDangling` |
//! | `check_asc_plan` | `AscPlanMismatch` |

use super::{Phase, WeakState};
use crate::invariant::{Invariant, Violations};
use crate::memory::Memory;
use crate::object::{Color, GcInfo, HEADER_SIZE};
use crate::runtime::Runtime;

/// What the heap walk counted of the managed heap objects.
#[derive(Default)]
struct Census {
    /// Managed heap blocks.
    managed: u64,
    /// Gray ones among them.
    gray: u64,
}

impl<M: Memory> Runtime<M> {
    /// `__heap_check`: counts every broken invariant of the heap (blocks, free lists, tags,
    /// headers) and of the collector: while marking, no black object (or static root) points to
    /// a white object; gray objects are exactly those on the gray stack; outside marking nothing
    /// is gray; pin-table entries name static or PINNED objects, a PINNED object is flagged for
    /// the next walk and shaded once the walk has passed it; the live-object count matches the
    /// heap; root slots hold objects. [`Runtime::check_each`] says which
    /// broke and where.
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

    /// The checker behind [`Runtime::check_each`]: the heap's checks, then one small function
    /// per collector invariant or group of them, each reporting what broke and where.
    fn check_into(&self, v: &mut Violations<'_>) {
        let mut seen = Census::default();
        self.heap.check_into(v, |block, v| {
            // SAFETY: the heap walk visits used, non-sentinel blocks only.
            let gc = unsafe { self.gc_info(block) };
            if gc.is_managed() {
                seen.managed += 1;
                seen.gray += gc.is_gray() as u64;
                self.check_object(block, gc, v);
            }
        });
        self.check_gray_stack(seen.gray, v);
        self.check_pins(v);
        self.check_live_count(seen.managed, v);
        self.check_shadow_slots(v);
        self.check_static_slots(v);
        self.check_static_roots_black(v);
        self.check_weak_table(v);
        self.check_ephemerons(v);
    }

    /// The invariants of the managed heap object `block` whose gcInfo is `gc`.
    fn check_object(&self, block: u32, gc: GcInfo, v: &mut Violations<'_>) {
        self.check_pinned(block, gc, v);
        self.check_color(block, gc, v);
        self.check_children_live(block, gc, v);
        self.check_black_children(block, gc, v);
        #[cfg(feature = "assemblyscript")]
        self.check_asc_plan(block, gc, v);
    }

    /// [`Invariant::AscPlanMismatch`]: what the collector reads natively from a hosted
    /// program's object is what its visitor passes (compared as a count, a sum and an xor of a
    /// mix of the non-null values, so the order does not matter).
    /// A white object while a cycle runs may be garbage whose children were freed (the sweep
    /// frees in address order), so there, as for [`Invariant::DanglingChild`], it is skipped.
    #[cfg(feature = "assemblyscript")]
    fn check_asc_plan(&self, block: u32, gc: GcInfo, v: &mut Violations<'_>) {
        let Some(p) = self.asc else { return };
        if self.may_be_garbage(gc) {
            return;
        }
        let r = block + HEADER_SIZE;
        // SAFETY: `block` is a live managed heap block (the walk's).
        let Some(refs) = (unsafe { self.asc_known_refs(&p, r) }) else {
            return;
        };
        let digest = |d: &mut (u32, u32, u32), c: u32| {
            if c != 0 {
                *d = (
                    d.0 + 1,
                    d.1.wrapping_add(c),
                    d.2 ^ c.wrapping_mul(0x9e37_79b1).rotate_left(13),
                );
            }
        };
        let (mut native, mut visited) = ((0, 0, 0), (0, 0, 0));
        // SAFETY: `refs` was just found for the live object `r`.
        unsafe { self.refs_each(refs, |c| digest(&mut native, c)) };
        (p.members)(r, &mut |c| digest(&mut visited, c));
        if native != visited {
            v.report(Invariant::AscPlanMismatch, block);
        }
    }

    /// [`Invariant::PinnedNotShaded`] and [`Invariant::PinnedNotFlagged`]: while marking, the
    /// pin walk has shaded every PINNED object it passed (and `pin` those pinned behind it); a
    /// PINNED object the walk will not meet in this cycle is known to the next one's start.
    fn check_pinned(&self, block: u32, gc: GcInfo, v: &mut Violations<'_>) {
        if !gc.is_pinned() {
            return;
        }
        let marking = self.gc.phase == Phase::Mark;
        let passed = !marking || self.pin_walk_passed(block);
        if marking && passed && gc.is_white(self.gc.white) {
            v.report(Invariant::PinnedNotShaded, block);
        }
        if passed && !self.may_have_pins() {
            v.report(Invariant::PinnedNotFlagged, block);
        }
    }

    /// [`Invariant::PinEntryBad`]: the table's entries are as its layout says (static objects,
    /// or PINNED heap objects pinned at least twice), each reachable from its home slot and
    /// entered once.
    fn check_pins(&self, v: &mut Violations<'_>) {
        let (table, len) = self.pins.block_and_len();
        let capacity = self.pins.capacity();
        if capacity == 0 {
            return;
        }
        if !self.is_internal_table(table, 8 * capacity) || 2 * len > capacity {
            v.report(Invariant::PinEntryBad, table.wrapping_sub(HEADER_SIZE));
            return;
        }
        let mut entries = 0;
        for i in 0..capacity {
            // SAFETY: `i < capacity`: an entry of the validated table block.
            let (r, n) = unsafe { (self.load(self.pins.key(i)), self.load(self.pins.count(i))) };
            if r == 0 {
                continue;
            }
            entries += 1;
            let sound = if r < self.heap.start() {
                n >= 1 && self.validate_object(r).is_ok()
            } else {
                n >= 2
                    && self.validate_managed(r).is_ok_and(|b| {
                        // SAFETY: `b` was validated: a live managed heap block.
                        unsafe { self.gc_info(b) }.is_pinned()
                    })
            };
            if !sound {
                v.report(Invariant::PinEntryBad, r);
            }
        }
        if entries != len {
            v.report(Invariant::PinEntryBad, table.wrapping_sub(HEADER_SIZE));
        }
        if entries == capacity {
            return; // no empty slot: nothing is reachable by probing (reported just above)
        }
        for i in 0..capacity {
            // SAFETY: `i < capacity`: an entry of the validated table block.
            let r = unsafe { self.load(self.pins.key(i)) };
            // Each entry is found from its home slot, once (no duplicate before it).
            if r != 0 && self.pin_slot(r) != Some(i) {
                v.report(Invariant::PinEntryBad, r);
            }
        }
    }

    /// [`Invariant::GrayOutsideMark`], [`Invariant::LinkOnNonGray`] and
    /// [`Invariant::BlackWhenIdle`]: the object's color fits the phase, and only a gray object
    /// has a gray-stack link.
    fn check_color(&self, block: u32, gc: GcInfo, v: &mut Violations<'_>) {
        let phase = self.gc.phase;
        if gc.is_gray() {
            if phase != Phase::Mark {
                v.report(Invariant::GrayOutsideMark, block);
            }
        } else if gc.gray_link() != 0 {
            v.report(Invariant::LinkOnNonGray, block);
        }
        if phase == Phase::Idle && gc.is_black() {
            v.report(Invariant::BlackWhenIdle, block);
        }
    }

    /// [`Invariant::DanglingChild`]: nothing freed is reachable, i.e. every reference a live
    /// object holds is a live object (or null). A white object is not known to be live while
    /// marking or sweeping, and is skipped then.
    fn check_children_live(&self, block: u32, gc: GcInfo, v: &mut Violations<'_>) {
        if self.may_be_garbage(gc) {
            return;
        }
        // SAFETY: `block` is a managed heap block the walk visited: an object.
        unsafe {
            self.children(block + HEADER_SIZE, &mut |c| {
                if c != 0 && !self.live_object(c) {
                    v.report(Invariant::DanglingChild, block);
                }
            })
        };
    }

    /// [`Invariant::BlackPointsToWhite`] for a heap object: while marking, a black object
    /// (other than the one whose slots are being scanned in chunks) points to no white object.
    fn check_black_children(&self, block: u32, gc: GcInfo, v: &mut Violations<'_>) {
        if self.gc.phase != Phase::Mark || !gc.is_black() {
            return;
        }
        if self.gc.partial.is_some_and(|p| p.block == block) {
            return;
        }
        // SAFETY: `block` is a managed heap block the walk visited: an object.
        unsafe {
            self.children(block + HEADER_SIZE, &mut |c| {
                if self.is_white_heap_ref(c) {
                    v.report(Invariant::BlackPointsToWhite, block);
                }
            })
        };
    }

    /// [`Invariant::GrayStackNotGray`] and [`Invariant::GrayNotOnStack`]: every gray-stack
    /// entry is gray, and there are as many as the heap walk found gray objects (`gray`).
    fn check_gray_stack(&self, gray: u64, v: &mut Violations<'_>) {
        let mut at = self.gc.gray;
        let mut len = 0u64;
        while at != 0 && len <= gray {
            // A link is 16-aligned (gcInfo bits 4..31); one past the memory is not gray either.
            let inside = at <= self.heap.mem.size() - HEADER_SIZE;
            // SAFETY: `at` is 16-aligned and its header lies inside memory.
            let gc = if inside { unsafe { self.gc_info(at) } } else { GcInfo(0) };
            if !gc.is_gray() {
                v.report(Invariant::GrayStackNotGray, at);
                break;
            }
            len += 1;
            at = gc.gray_link();
        }
        if len != gray {
            v.report(Invariant::GrayNotOnStack, self.gc.gray);
        }
    }

    /// [`Invariant::LiveCountMismatch`]: the live-object count is the number of managed heap
    /// blocks the walk found (`managed`).
    fn check_live_count(&self, managed: u64, v: &mut Violations<'_>) {
        if managed != self.live_objects {
            v.report(Invariant::LiveCountMismatch, 0);
        }
    }

    /// [`Invariant::JunkRootSlot`]: root slots hold refs or null; anything else the collector
    /// skips, and it is counted here.
    fn check_shadow_slots(&self, v: &mut Violations<'_>) {
        let (mut at, top) = self.shadow_slots();
        while at < top {
            // SAFETY: `at` is a slot of the build's array (`shadow_slots` clamps to it).
            let r = unsafe { self.load(at) };
            if r != 0 && !self.object_at(r) {
                v.report(Invariant::JunkRootSlot, at);
            }
            at += 4;
        }
    }

    /// [`Invariant::JunkStaticSlot`]: the references static objects hold are objects or null.
    fn check_static_slots(&self, v: &mut Violations<'_>) {
        self.for_each_static_child(&mut |r, c| {
            if c != 0 && !self.object_at(c) {
                v.report(Invariant::JunkStaticSlot, r - HEADER_SIZE);
            }
        });
    }

    /// [`Invariant::BlackPointsToWhite`] for static roots: they are black, so while marking
    /// their children must not be white.
    fn check_static_roots_black(&self, v: &mut Violations<'_>) {
        if self.gc.phase != Phase::Mark {
            return;
        }
        self.for_each_static_child(&mut |r, c| {
            if self.is_white_heap_ref(c) {
                v.report(Invariant::BlackPointsToWhite, r - HEADER_SIZE);
            }
        });
    }

    /// [`Invariant::WeakTableBlock`], [`Invariant::WeakTargetDangling`] and
    /// [`Invariant::WeakListBroken`]: the table is a live Internal block, its targets are live
    /// objects, and its two lists hold exactly the free and the queued entries.
    fn check_weak_table(&self, v: &mut Violations<'_>) {
        let w = &self.weak;
        if w.capacity == 0 {
            return;
        }
        let block = w.table.wrapping_sub(HEADER_SIZE);
        if !self.is_internal_table(w.table, 8 * w.capacity) {
            v.report(Invariant::WeakTableBlock, block);
            return;
        }
        let mut counts = [0u32; 7];
        for i in 0..w.capacity {
            // SAFETY: `i < capacity`: an entry of the validated table block.
            let (target, meta) = unsafe { (self.load(w.target_at(i)), self.load(w.meta_at(i))) };
            let state = WeakState::from_meta(meta);
            let live = match state {
                Some(WeakState::Weak) => target == 0 || self.live_object(target),
                Some(WeakState::Final) => self.live_object(target),
                Some(_) => true,
                None => false,
            };
            if !live {
                v.report(Invariant::WeakTargetDangling, w.target_at(i));
            }
            if let Some(s) = state {
                counts[s as usize] += 1;
            }
        }
        let free = self.weak_list_len(w.free, &[WeakState::Free]);
        let queued = self.weak_list_len(w.ready, &[WeakState::Ready, WeakState::Cancelled]);
        let ready = counts[WeakState::Ready as usize] + counts[WeakState::Cancelled as usize];
        if free != Some(counts[0]) || queued != Some(ready) || w.len != w.capacity - counts[0] {
            v.report(Invariant::WeakListBroken, block);
        }
    }

    /// [`Invariant::EphemeronTableBad`] and [`Invariant::EphemeronDangling`]: the table is a
    /// live Internal block with the counted entries, each naming a live map, a live key and a
    /// live value (or 0).
    fn check_ephemerons(&self, v: &mut Violations<'_>) {
        let e = &self.eph;
        if e.capacity == 0 {
            return;
        }
        let block = e.table.wrapping_sub(HEADER_SIZE);
        if !self.is_internal_table(e.table, 16 * e.capacity) {
            v.report(Invariant::EphemeronTableBad, block);
            return;
        }
        let (mut live, mut dead) = (0, 0);
        for i in 0..e.capacity {
            let (map, key, value) = self.eph(i);
            match key {
                0 => {}
                1 => dead += 1,
                _ => {
                    live += 1;
                    let ok = self.lookup(map, &[WeakState::Map]).is_some()
                        && self.live_object(key)
                        && (value == 0 || self.live_object(value));
                    if !ok {
                        v.report(Invariant::EphemeronDangling, e.at(i));
                    }
                }
            }
        }
        if live != e.len || dead != e.dead {
            v.report(Invariant::EphemeronTableBad, block);
        }
    }

    /// Whether `table` is a live Internal heap block of `bytes` payload bytes.
    fn is_internal_table(&self, table: u32, bytes: u32) -> bool {
        self.heap.validate(table).is_ok()
            // SAFETY: validated just above: a used heap block.
            && unsafe { self.gc_info(table - HEADER_SIZE) }.kind() == Some(crate::object::Kind::Internal)
            && self.rt_size(table) == bytes
    }

    /// The length of the weak table's list starting at index + 1 `head`, if every entry on it
    /// is in one of `states` and it ends within the capacity.
    fn weak_list_len(&self, mut head: u32, states: &[WeakState]) -> Option<u32> {
        let w = &self.weak;
        let mut n = 0;
        while head != 0 {
            if head > w.capacity || n >= w.capacity {
                return None;
            }
            // SAFETY: `head - 1 < capacity`: an entry of the validated table block.
            let (next, meta) =
                unsafe { (self.load(w.target_at(head - 1)), self.load(w.meta_at(head - 1))) };
            if !states.contains(&WeakState::from_meta(meta)?) {
                return None;
            }
            n += 1;
            head = next;
        }
        Some(n)
    }

    /// Calls `f(r, child)` for every reference `child` every static root `r` holds.
    fn for_each_static_child(&self, f: &mut dyn FnMut(u32, u32)) {
        for i in 0..self.roots.static_count {
            // SAFETY: an entry of the `statics` array, which lies in memory (`Runtime::new`).
            let r = unsafe { self.load(self.roots.statics + 4 * i) };
            if r != 0 {
                // SAFETY: a static root is a static object (the contract of `Runtime::new`).
                unsafe { self.children(r, &mut |c| f(r, c)) };
            }
        }
    }

    /// [`Runtime::for_each_child`] for the checker: one copy of the type dispatch behind a
    /// `dyn` callback instead of one per closure (the checker's speed matters less than its
    /// size, which every build carries).
    ///
    /// # Safety
    /// As for [`Runtime::for_each_child`]: `r` is an object.
    #[inline(never)]
    unsafe fn children(&self, r: u32, f: &mut dyn FnMut(u32)) {
        // SAFETY: the caller's.
        unsafe { self.for_each_child(r, f) }
    }

    /// [`Runtime::is_object`], out of line for the same reason as [`Runtime::live_object`].
    #[inline(never)]
    fn object_at(&self, r: u32) -> bool {
        self.is_object(r)
    }

    /// Whether `r` is a managed object ([`Runtime::validate_object`] succeeds), out of line:
    /// the checker asks it in several places, and each inlined copy would cost its bytes.
    #[inline(never)]
    fn live_object(&self, r: u32) -> bool {
        self.validate_object(r).is_ok()
    }

    /// Whether an object with gcInfo `gc` may be garbage of the running cycle, whose children
    /// the sweep may already have freed: a white object while marking or sweeping.
    fn may_be_garbage(&self, gc: GcInfo) -> bool {
        let color = gc.color();
        let white = color == Color::White0 as u32 || color == Color::White1 as u32;
        white && matches!(self.gc.phase, Phase::Mark | Phase::Sweep)
    }

    /// Whether `r` is a heap block of the current white (static objects never are).
    fn is_white_heap_ref(&self, r: u32) -> bool {
        if r < self.heap.start() + HEADER_SIZE {
            return false;
        }
        match self.heap.validate(r) {
            // SAFETY: `b` was validated: a used heap block.
            Ok(b) => unsafe { self.gc_info(b) }.is_white(self.gc.white),
            Err(_) => false,
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
