//! The incremental tri-color mark-and-sweep collector.
//!
//! ```text
//!            allocation since the last mark reaches pause_percent of what survived it
//!   ┌──────┐ ─────────────────────────────────────────────▶ ┌──────┐  gray stack empty and the
//!   │ Idle │                 (atomic: shade the roots)       │ Mark │  shadow-stack rescan adds
//!   └──────┘ ◀──────────────┐                                └──────┘  nothing: flip the whites
//!                 cursor at │ the end of the heap  ┌───────┐    │
//!                           └───────────────────── │ Sweep │ ◀──┘
//!                                                  └───────┘
//! ```
//!
//! **The invariant** (strong tri-color, checked by [`Runtime::check`] while marking): no black
//! object points to a white one. Black objects are scanned, gray ones are on the gray stack (or
//! being scanned in chunks), white ones are unvisited. Static objects count as black forever: the
//! barrier shades what is stored into them, and the cycle starts by scanning them.
//!
//! - The gray stack is intrusive: a gray object's gcInfo holds the next gray block in its upper
//!   28 bits, so marking needs no side table and no recursion (a million-node list is a loop).
//! - Two whites alternate. New objects are black while marking (they survive the cycle) and
//!   carry the current white otherwise; the sweep frees only the *other* white, so objects made
//!   while it runs are never swept by it.
//! - The write barrier ([`Runtime::link`], Dijkstra style) shades a white child stored into a
//!   black parent, or with `expect_multiple` re-grays the parent. Stores into shadow-stack slots
//!   have no barrier, so marking ends only after a rescan of the shadow stack finds nothing new:
//!   the only atomic work besides the initial root scan, proportional to the stack.
//! - Every step is bounded by `step_work` work units (about one per byte scanned, 16 per object
//!   or block visited); big arrays are scanned in chunks across steps.
//! - Pacing: allocation pays a debt of [`WORK_PER_BYTE`] units per byte; each time the debt
//!   reaches `step_work` the allocating call does one step first.

mod barrier;
mod check;
mod ephemeron;
mod pins;
mod roots;
mod sweep;
pub(crate) mod trace;
mod weak;

pub use ephemeron::{EphemeronTable, MAX_EPHEMERONS};
pub use pins::PinTable;
pub use weak::{MAX_WEAK_ENTRIES, WeakState, WeakTable};

use crate::error::{Error, PackedResult};
use crate::heap::SMALL_PAYLOAD;
use crate::memory::Memory;
use crate::object::{Color, GcInfo, HEADER_SIZE, Kind, MAX_PAYLOAD, NO_TYPE, RT_SIZE, block_size};
use crate::runtime::Runtime;

/// Work units a step may do by default.
pub const DEFAULT_STEP_WORK: u32 = 16 * 1024;
/// Work units each allocated byte pays for while a cycle runs. A cycle costs about
/// `1.75 x live bytes` units for small objects (mark plus sweep of a heap twice the live size),
/// so 16 finishes it within about an eighth of the live size of further allocation: the heap
/// peaks near `(2 + 1/8) x live` with the default pause.
pub const WORK_PER_BYTE: u64 = 16;
/// The smallest allocation between cycles, so tiny heaps do not collect constantly: 1 MiB
/// (JavaScript-driven binary-trees, n = 12: 256 KiB costs 20% more instructions, the fixed work
/// of four times as many cycles).
#[cfg(not(feature = "assemblyscript"))]
pub const MIN_THRESHOLD: u64 = 1 << 20;
/// The smallest allocation between cycles in the `assemblyscript` build: 256 KiB, so a small
/// program stays within AssemblyScript's own footprint (its string benchmark: 0.75 MiB of
/// memory against AssemblyScript's 1 MiB; 1 MiB would take 3 MiB, for ~5% fewer instructions).
#[cfg(feature = "assemblyscript")]
pub const MIN_THRESHOLD: u64 = 256 << 10;
/// Default `pause_percent`: 100, the contract's default (docs/ABI.md §5). Under steady
/// replacement memory then peaks a little above twice the live bytes (2.12x at 16 MiB live):
/// floating garbage and the next marking's black allocation come on top of `2 x live`;
/// `__gc_configure(90, 0)` keeps it under 2x (§12.2).
pub const DEFAULT_PAUSE_PERCENT: u32 = 100;

/// Allocation from the start of the cycle whose marking just ended until the next cycle starts:
/// `pause x live` (what survived that marking), but at least [`MIN_THRESHOLD`] after the
/// marking's end (`during_mark`: what the marking allocated), so that a small heap that allocates
/// fast does not collect back to back.
fn paced_threshold(live: u64, pause_percent: u32, during_mark: u64) -> u64 {
    (live * pause_percent as u64 / 100).max(during_mark + MIN_THRESHOLD)
}

/// Whether `__new`'s fast path serves a payload of `size` bytes: 1 to [`SMALL_PAYLOAD`], in one
/// comparison. (Payload 0, an empty buffer, takes the full path: its block has no payload room,
/// so the fast path zeroes its first 16 bytes of room without testing the size.)
#[inline(always)]
pub const fn is_small(size: u32) -> bool {
    size.wrapping_sub(1) < SMALL_PAYLOAD
}

/// The collector's phase, as `__gc_step` reports it.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// No cycle in progress. (0, so that zero bytes read as idle: `small_path_open`.)
    Idle = 0,
    /// Marking: roots shaded, gray objects being scanned.
    Mark = 1,
    /// Sweeping: freeing objects of the old white.
    Sweep = 2,
}

/// An array being scanned in chunks.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Partial {
    /// The object's block (black while being scanned, so the barrier covers its slots).
    pub block: u32,
    /// Address of the next slot to scan.
    pub next: u32,
    /// Address past the last slot.
    pub end: u32,
    /// For a hosted program's `Map` or `Set`: the run is of entries of this shape, not of u32
    /// slots (`next` and `end` are then entry boundaries).
    #[cfg(feature = "assemblyscript")]
    pub entries: Option<crate::asc::plan::EntryScan>,
}

/// Collector state.
#[derive(Debug)]
pub struct Collector {
    /// Current phase.
    pub(crate) phase: Phase,
    /// The current white (0 or 1): new objects outside marking get it; the other white is
    /// garbage during the sweep.
    pub(crate) white: u32,
    /// Head of the intrusive gray stack (a block address), 0 when empty.
    pub(crate) gray: u32,
    /// The array being scanned in chunks, if any.
    pub(crate) partial: Option<Partial>,
    /// The next start-map word the pin walk reads while marking ([`Runtime::shade_pins_step`]);
    /// [`PINS_DONE`] once it has read the last (or when no heap object could be pinned at the
    /// cycle's start). Pins are roots shaded a step's budget at a time, so a cycle's start does
    /// not pause for them.
    pub(crate) pin_cursor: u32,
    /// Block bytes marked in this cycle (objects shaded plus objects allocated black).
    pub(crate) marked_bytes: u64,
    /// Block bytes allocated since the last cycle started (its marking's allocation included:
    /// the next marking will allocate about as much on top of the heap's peak).
    pub(crate) allocated: u64,
    /// Start a cycle once `allocated` reaches this.
    pub(crate) threshold: u64,
    /// Block bytes allocated while the last marking ran (the next one's estimate).
    pub(crate) mark_allocated: u64,
    /// Work owed by allocation during a cycle.
    pub(crate) debt: u64,
    /// `pause_percent` of `__gc_configure`.
    pub(crate) pause_percent: u32,
    /// Work units per step.
    pub(crate) step_work: u32,
    /// Completed collections.
    pub(crate) collections: u64,
    /// Steps done.
    pub(crate) steps: u64,
    /// `__gc_threshold`: when not 0, a cycle starts once this many block bytes were allocated
    /// since the last cycle started, whatever survived it (a stress setting; 0: paced by
    /// `pause_percent`).
    pub(crate) fixed_threshold: u64,
    /// The sweep is in its first pass over the heap, calling a hosted program's `__finalize`
    /// for every dead object before any is freed (asc/finalize.rs).
    #[cfg(feature = "assemblyscript")]
    pub(crate) finalize_pass: bool,
}

impl Collector {
    /// An idle collector with default pacing.
    pub const fn new() -> Self {
        Collector {
            phase: Phase::Idle,
            white: 0,
            gray: 0,
            partial: None,
            pin_cursor: PINS_DONE,
            marked_bytes: 0,
            allocated: 0,
            threshold: MIN_THRESHOLD,
            mark_allocated: 0,
            debt: 0,
            pause_percent: DEFAULT_PAUSE_PERCENT,
            step_work: DEFAULT_STEP_WORK,
            collections: 0,
            steps: 0,
            fixed_threshold: 0,
            #[cfg(feature = "assemblyscript")]
            finalize_pass: false,
        }
    }
}

/// [`Collector::pin_cursor`] when no pin is left to shade in this cycle.
pub(crate) const PINS_DONE: u32 = u32::MAX;

impl Default for Collector {
    fn default() -> Self {
        Self::new()
    }
}

impl<M: Memory> Runtime<M> {
    /// The color new objects get now: black while marking, else the current white.
    #[inline(always)]
    fn new_color(&self) -> u32 {
        if self.gc.phase == Phase::Mark { Color::Black as u32 } else { self.gc.white }
    }

    /// `__new`: a managed object of type `id` with a zeroed payload of `size` bytes. May do one
    /// bounded GC step first. Time: O(size) for the zeroing plus one step.
    #[inline(always)]
    pub fn new_object(&mut self, size: u32, id: u32) -> Result<u32, Error> {
        self.new_object_inline(size, id, &[])
    }

    /// Like [`Runtime::new_object`], but the refs in `keep` (arguments the caller reads after
    /// the allocation) survive the GC step it pays for even if nothing else references them.
    pub fn new_object_keeping(&mut self, size: u32, id: u32, keep: &[u32]) -> Result<u32, Error> {
        self.new_object_inline(size, id, keep)
    }

    /// The body of [`Runtime::new_object_keeping`], inlined into `new_object` (the `__new`
    /// export and the Rust API): the allocation runs inside the export's work function instead
    /// of in a call whose `Result` comes back through memory (valgrind instruction counts of
    /// binary-trees: -10% for C on the SDK, -2.6% for the Rust API).
    #[inline(always)]
    fn new_object_inline(&mut self, size: u32, id: u32, keep: &[u32]) -> Result<u32, Error> {
        if size > MAX_PAYLOAD {
            return Err(Error::SizeTooLarge);
        }
        if !self.known_type(id) {
            return Err(Error::UnknownType);
        }
        self.pay(size, keep)?;
        let ptr = match self.heap.alloc_object(size, GcInfo::managed(self.new_color()).0, id) {
            Ok(p) => p,
            Err(e) => self.alloc_after_oom(size, Some(id), keep, e).get()?,
        };
        // SAFETY: `alloc_object` returned a block with `size` payload bytes.
        unsafe { self.zero_payload(ptr, size) };
        self.account_new(ptr, size);
        Ok(ptr)
    }

    /// `__new`'s fast path: a small object (1 to [`SMALL_PAYLOAD`] bytes: [`is_small`]) of a
    /// known type split off the bump block while the allocation owes no GC work (no cycle to
    /// start, no step due). `None` when anything more is needed, with nothing changed: the caller
    /// takes [`Runtime::new_object`], which checks everything again. Time: O(1).
    #[inline(always)]
    pub fn new_small(&mut self, size: u32, id: u32) -> Option<u32> {
        if !is_small(size) || !self.known_type(id) {
            return None;
        }
        if self.gc.phase != Phase::Idle {
            // SAFETY: both tested just above.
            return unsafe { self.new_small_cycling(size, id) };
        }
        // Idle, the common case, on its own: white, no debt, no marked bytes (the phase is
        // read once, as the stores below could alias it for LLVM).
        let allocated = self.gc.allocated + block_size(size) as u64;
        if allocated >= self.gc.threshold {
            return None;
        }
        // SAFETY: `size` is small (tested above).
        let ptr =
            unsafe { self.heap.alloc_small_bumped(size, GcInfo::managed(self.gc.white).0, id)? };
        self.gc.allocated = allocated;
        self.count_new(ptr, size);
        Some(ptr)
    }

    /// Whether the collector's state lets [`Runtime::new_small`] serve a small object of
    /// `size` bytes (the first of its tests, made without a reference to the runtime): false
    /// for the zero bytes that stand in for a runtime not yet created, as they read as the idle
    /// phase with a threshold of 0, which every allocation reaches. So the `__new` export needs
    /// no separate "created" test on its fast path (docs/ABI.md §5.1).
    ///
    /// # Safety
    /// `rt` is valid for reads and points to a runtime or to `size_of::<Runtime<M>>()` zero
    /// bytes; `size` [`is_small`].
    #[inline(always)]
    pub unsafe fn small_path_open(rt: *const Self, size: u32) -> bool {
        // SAFETY: the caller's; only integer fields and `Phase` (whose value 0 is `Idle`) are
        // read, by place, so zero bytes read as valid values and no reference to them is made.
        unsafe {
            let gc = &raw const (*rt).gc;
            (*gc).phase != Phase::Idle
                || (*gc).allocated + (block_size(size) as u64) < (*gc).threshold
        }
    }

    /// [`Runtime::new_small`] while a cycle runs: the allocation adds to the debt, and `None`
    /// once the debt reaches a step.
    ///
    /// # Safety
    /// `size` [`is_small`] and `id` is a known type (`new_small` tested both).
    #[inline(always)]
    unsafe fn new_small_cycling(&mut self, size: u32, id: u32) -> Option<u32> {
        let debt = self.debt_after(size);
        if debt >= self.gc.step_work as u64 {
            return None;
        }
        // SAFETY: `size` is small (the caller's).
        let ptr =
            unsafe { self.heap.alloc_small_bumped(size, GcInfo::managed(self.new_color()).0, id)? };
        self.gc.allocated += block_size(size) as u64;
        self.gc.debt = debt;
        self.account_new(ptr, size);
        Some(ptr)
    }

    /// Zeroes a new object's payload. Small payloads (the common objects of compiled code, whose
    /// size reaches the export only at run time) are cleared 16 bytes at a time without a loop or
    /// a `memset` call: the stores may run past `size` up to the next multiple of 16, which is
    /// still inside the block (its payload room is `size` rounded up to 16).
    ///
    /// # Safety
    /// `ptr` is the ref of a block just allocated with a payload of `size` bytes.
    #[inline(always)]
    unsafe fn zero_payload(&self, ptr: u32, size: u32) {
        if size <= SMALL_PAYLOAD {
            if size != 0 {
                // SAFETY: the payload room is at least 16 bytes once `size` is not 0.
                unsafe { self.heap.zero_16(ptr, 0) };
            }
            if size > 16 {
                // SAFETY: `size` rounded up to 16 is 32 here.
                unsafe { self.heap.zero_16(ptr, 16) };
            }
        } else {
            // SAFETY: the caller's: the payload lies in memory.
            unsafe { self.heap.mem.zero(ptr, size) };
        }
    }

    /// The slow path of an allocation that ran out of memory (`__new`'s, or `__alloc`'s when
    /// `id` is `None`): out of memory is final only after a full collection, which keeps `keep`.
    /// Out of line, so the fast paths stay small.
    #[cold]
    #[inline(never)]
    pub(crate) fn alloc_after_oom(
        &mut self,
        size: u32,
        id: Option<u32>,
        keep: &[u32],
        e: Error,
    ) -> PackedResult {
        if e != Error::OutOfMemory || !self.heap.could_ever_fit(size) {
            return PackedResult::new(Err(e));
        }
        PackedResult::new(self.collect_keeping(keep).and_then(|()| {
            // The color of new objects depends on the phase, which the collection changes.
            let (gc_info, rt_id) = match id {
                Some(id) => (GcInfo::managed(self.new_color()).0, id),
                None => (Kind::Unmanaged as u32, NO_TYPE),
            };
            self.heap.alloc_object(size, gc_info, rt_id)
        }))
    }

    /// Bookkeeping for a new managed object.
    #[inline(always)]
    fn account_new(&mut self, ptr: u32, size: u32) {
        if self.gc.phase == Phase::Mark {
            self.gc.marked_bytes += block_size(size) as u64;
        }
        self.count_new(ptr, size);
    }

    /// The counts every new managed object updates (and the rtrace hook).
    #[inline(always)]
    fn count_new(&mut self, ptr: u32, size: u32) {
        self.live_objects += 1;
        self.total_allocated += size as u64;
        #[cfg(feature = "rtrace")]
        crate::rtrace::alloc(ptr - HEADER_SIZE, size);
        let _ = ptr;
    }

    /// `__renew`: resizes a managed object keeping its contents and zeroing a grown tail. It
    /// stays in place when the heap allows (shrinking always does); when it moves, the old block
    /// is left to the collector, which reclaims it safely once nothing refers to it (as
    /// AssemblyScript does). Time: O(size) plus one GC step.
    pub fn renew(&mut self, ptr: u32, size: u32) -> Result<u32, Error> {
        #[cfg(feature = "assemblyscript")]
        if self.asc_static(ptr) {
            return self.asc_renew_static(ptr, size);
        }
        let block = self.validate_managed(ptr)?;
        if size > MAX_PAYLOAD {
            return Err(Error::SizeTooLarge);
        }
        self.pay(size, &[ptr])?;
        // SAFETY: `block` was validated: a live managed heap block.
        let old_size = unsafe { self.load_at(block, RT_SIZE) };
        // SAFETY: `ptr` is a validated live block, and stays one through a collection that
        // keeps it.
        let new = unsafe { self.resize_collecting(ptr, size, true, &[ptr])? };
        // Read after any collection: it recolors the object.
        // SAFETY: `block` is still a live block (kept, or resized in place).
        let gc = unsafe { self.gc_info(block) };
        if new == ptr && size < old_size {
            self.clamp_scan(ptr, old_size, size);
        }
        if size > old_size {
            // SAFETY: the new block holds `size` bytes.
            unsafe { self.heap.mem.zero(new + old_size, size - old_size) };
        }
        self.total_allocated += size as u64;
        if new != ptr {
            // The copy is a new object with the old one's color but no pin and no gray link; a
            // gray original means children not yet scanned, so the copy goes on the gray stack.
            self.live_objects += 1;
            let partial = self.gc.partial.is_some_and(|p| p.block == block);
            if partial {
                // The old block is black with slots not yet scanned: gray it again, so that
                // it satisfies the invariant while it lives (a stale ref may still reach it).
                self.gc.partial = None;
                // SAFETY: the old block stays a live managed block (left to the collector).
                unsafe { self.regray(block) };
            }
            if gc.is_gray() || partial {
                // SAFETY: `new` is the fresh managed block `resize_object` moved the object to.
                unsafe {
                    self.set_gc_info(new - HEADER_SIZE, GcInfo::managed(Color::Black as u32));
                    self.regray(new - HEADER_SIZE);
                }
            } else {
                // While sweeping, the copy may land behind the cursor, where the sweep would
                // never whiten it: it takes the current white (it is live either way).
                let color = if self.gc.phase == Phase::Sweep { self.gc.white } else { gc.color() };
                // SAFETY: as above.
                unsafe { self.set_gc_info(new - HEADER_SIZE, GcInfo::managed(color)) };
            }
            #[cfg(feature = "rtrace")]
            crate::rtrace::moved(block, new - HEADER_SIZE);
            // The old block stays an ordinary object: the collector frees it once nothing
            // refers to it. Freeing it here would be unsafe: floating garbage that is still gray
            // (or a caller's second reference) could make the tracer read a freed block.
        } else {
            // SAFETY: resized in place: `block` is the live block, now holding `size` bytes.
            unsafe { self.store_at(block, RT_SIZE, size) };
        }
        Ok(new)
    }

    /// After the object at `r` shrank in place from `old` to `size` payload bytes (its tail is
    /// free memory now, soon another object's), a chunked scan of slots inside its payload
    /// stops at the new end instead of reading the tail as refs. Time: O(1).
    fn clamp_scan(&mut self, r: u32, old: u32, size: u32) {
        if let Some(p) = self.gc.partial.as_mut()
            && p.end > r
            && p.next < r + old
        {
            p.end = p.end.min(r + (size & !3));
            // An entry run ends at a whole entry.
            #[cfg(feature = "assemblyscript")]
            if let Some(e) = p.entries
                && p.end > p.next
            {
                p.end = p.next + (p.end - p.next) / e.stride * e.stride;
            }
            if p.next >= p.end {
                self.gc.partial = None;
            }
        }
    }

    /// Out of memory is final only after the cycle in progress is finished and a full one run
    /// (docs/ABI.md §6): this does both; the refs in `keep` (the caller's arguments) survive them.
    /// Time: O(heap).
    /// Checks the shadow-stack descriptor first: on error nothing has changed.
    #[cold]
    pub(crate) fn collect_keeping(&mut self, keep: &[u32]) -> Result<(), Error> {
        self.check_roots()?;
        while self.gc.phase != Phase::Idle {
            self.protect(keep);
            self.step();
        }
        self.start_cycle();
        self.protect(keep);
        while self.gc.phase != Phase::Idle {
            self.step();
        }
        Ok(())
    }

    /// Allocation's share of GC work: starts a cycle when the threshold is reached, and does one
    /// bounded step when the debt reaches a step's worth. `keep` survives that step. When work
    /// is due, the shadow-stack descriptor is checked first ([`Runtime::check_roots`]): on error
    /// nothing has changed. The common path (no work due) reads no root.
    #[inline(always)]
    fn pay(&mut self, bytes: u32, keep: &[u32]) -> Result<(), Error> {
        // Block bytes, the unit `marked_bytes` counts survivors in.
        let allocated = self.gc.allocated + block_size(bytes) as u64;
        match self.gc.phase {
            Phase::Idle => {
                if allocated >= self.gc.threshold {
                    self.check_roots()?;
                    self.gc.allocated = allocated;
                    self.start_cycle();
                    self.protect(keep);
                } else {
                    self.gc.allocated = allocated;
                }
            }
            _ => {
                let debt = self.debt_after(bytes);
                if debt >= self.gc.step_work as u64 {
                    self.check_roots()?;
                    self.gc.allocated = allocated;
                    self.gc.debt = debt - self.gc.step_work as u64;
                    self.protect(keep);
                    self.step();
                } else {
                    self.gc.allocated = allocated;
                    self.gc.debt = debt;
                }
            }
        }
        Ok(())
    }

    /// The debt once an allocation of `bytes` payload bytes during a cycle has added its share
    /// (its block's bytes, header included, times [`WORK_PER_BYTE`]).
    #[inline(always)]
    fn debt_after(&self, bytes: u32) -> u64 {
        self.gc.debt + (bytes as u64 + HEADER_SIZE as u64) * WORK_PER_BYTE
    }

    /// Makes the call arguments in `keep` survive the current cycle's next step. An entry that
    /// is not a heap block is left alone (`new_object_keeping` is safe: its `keep` is not
    /// trusted), as [`Runtime::shade`] leaves it alone while marking.
    fn protect(&mut self, keep: &[u32]) {
        for &r in keep {
            if r == 0 || r < self.heap.start() {
                continue;
            }
            let block = r - HEADER_SIZE;
            match self.gc.phase {
                Phase::Mark => self.shade(r),
                Phase::Sweep if self.heap.is_block_start(block) => {
                    // SAFETY: the start map says a used heap block starts at `block`; a white
                    // one is managed (unmanaged blocks have no color).
                    unsafe {
                        let gc = self.gc_info(block);
                        if gc.is_white(self.gc.white ^ 1) {
                            self.set_gc_info(block, gc.recolored(self.gc.white));
                        }
                    }
                }
                Phase::Sweep => {}
                Phase::Idle => {}
            }
        }
    }

    /// `__gc_configure`: sets `pause_percent` (10..=1000) and `step_work` (0 keeps the current
    /// value; else at least 1024 units).
    pub fn configure(&mut self, pause_percent: u32, step_work: u32) -> Result<(), Error> {
        if !(10..=1000).contains(&pause_percent) || (step_work != 0 && step_work < 1024) {
            return Err(Error::BadArgument);
        }
        self.gc.pause_percent = pause_percent;
        if step_work != 0 {
            self.gc.step_work = step_work;
        }
        Ok(())
    }

    /// `__gc_threshold(bytes)`: from now on a cycle starts once `bytes` block bytes were
    /// allocated since the last cycle started, whatever survived it; 0 returns to pacing by
    /// `pause_percent`. `bytes` is 0 or 16 to 2^30. A stress setting: with a few hundred bytes
    /// the collector is almost always in a cycle. Time: O(1).
    pub fn set_threshold(&mut self, bytes: u32) -> Result<(), Error> {
        if bytes != 0 && !(16..=1 << 30).contains(&bytes) {
            return Err(Error::BadArgument);
        }
        self.gc.fixed_threshold = bytes as u64;
        if self.gc.phase == Phase::Idle && bytes != 0 {
            self.gc.threshold = bytes as u64;
        }
        Ok(())
    }

    /// `__gc_step`: one bounded increment of work now. When no cycle is in progress it starts
    /// one, whatever was allocated since the last (unpinning alone can make garbage). Returns
    /// the phase after it. Checks the shadow-stack descriptor first: on error nothing changed.
    pub fn try_gc_step(&mut self) -> Result<Phase, Error> {
        self.check_roots()?;
        if self.gc.phase == Phase::Idle {
            self.start_cycle();
        }
        self.step();
        if self.gc.phase == Phase::Idle {
            self.grow_ahead();
        }
        Ok(self.gc.phase)
    }

    /// [`Runtime::try_gc_step`] for callers that keep the shadow stack sound themselves.
    ///
    /// # Panics
    /// If the shadow-stack descriptor is corrupt.
    #[track_caller]
    pub fn gc_step(&mut self) -> Phase {
        match self.try_gc_step() {
            Ok(p) => p,
            Err(e) => panic!("asrt: {}", e.message()),
        }
    }

    /// After a cycle ends in a host's idle-time step, grows memory now for the allocation the
    /// pacing expects before the next cycle (at most 16 MiB), so that `__new` does not pay for
    /// `memory.grow` later. Failure to grow is not an error here.
    fn grow_ahead(&mut self) {
        let expected = self.gc.threshold.saturating_sub(self.gc.allocated).min(16 << 20) as u32;
        if expected > self.heap.largest_free() {
            self.heap.reserve(expected);
        }
    }

    /// One step of at most `step_work` units in the current phase.
    fn step(&mut self) {
        #[cfg(feature = "rtrace")] // rtrace hook
        crate::rtrace::interrupt();
        self.gc.steps += 1;
        let budget = self.gc.step_work;
        match self.gc.phase {
            Phase::Idle => {}
            Phase::Mark => self.mark_step(budget),
            Phase::Sweep => self.sweep_step(budget),
        }
        #[cfg(feature = "rtrace")] // rtrace hook
        crate::rtrace::yielded();
        #[cfg(feature = "check-steps")]
        self.check_after_step(budget);
    }

    /// `__collect`: finishes the cycle in progress, then runs one full cycle. Checks the
    /// shadow-stack descriptor first: on error nothing changed (no cycle is half started).
    pub fn try_collect(&mut self) -> Result<(), Error> {
        self.check_roots()?;
        while self.gc.phase != Phase::Idle {
            self.step();
        }
        self.start_cycle();
        while self.gc.phase != Phase::Idle {
            self.step();
        }
        Ok(())
    }

    /// [`Runtime::try_collect`] for callers that keep the shadow stack sound themselves.
    ///
    /// # Panics
    /// If the shadow-stack descriptor is corrupt.
    #[track_caller]
    pub fn collect(&mut self) {
        if let Err(e) = self.try_collect() {
            panic!("asrt: {}", e.message());
        }
    }

    /// Idle → Mark: starts the pin walk (or skips it) and shades the static roots and the
    /// shadow stack. The only atomic work at cycle start; proportional to those roots (pinned
    /// objects are found by the marking steps' walk).
    fn start_cycle(&mut self) {
        debug_assert_eq!(self.gc.phase, Phase::Idle);
        self.gc.phase = Phase::Mark;
        self.set_marking_word(1);
        self.gc.marked_bytes = 0;
        self.gc.allocated = 0;
        self.gc.debt = 0;
        self.eph.restart();
        self.start_pin_walk();
        self.shade_roots();
    }

    /// Mark → Sweep: flips the whites and puts the sweep cursor at the heap start.
    fn finish_mark(&mut self) {
        self.gc.white ^= 1;
        self.gc.phase = Phase::Sweep;
        self.set_marking_word(0);
        let live = self.gc.marked_bytes;
        let during = self.gc.allocated;
        // A marking that allocated nothing (`__collect`'s, or one driven by idle-time steps)
        // says nothing about the mutator's next one: keep the last estimate.
        if during != 0 {
            self.gc.mark_allocated = during;
        }
        // The `assemblyscript` build counts the next cycle's allocation from this marking's end,
        // as asrt did before: its goal is AssemblyScript's own runtime, whose memory it beats by
        // a third at pause 100 either way, and binary-trees runs 3% fewer instructions.
        #[cfg(feature = "assemblyscript")]
        let during = {
            self.gc.allocated = 0;
            0
        };
        self.gc.threshold = match self.gc.fixed_threshold {
            0 => paced_threshold(live, self.gc.pause_percent, during),
            fixed => fixed,
        };
        #[cfg(feature = "assemblyscript")]
        {
            self.gc.finalize_pass = self.asc.is_some_and(|p| p.finalize.is_some());
        }
        // The sweep settles the weak table and the ephemerons before it frees any block.
        self.weak.cursor = 0;
        self.eph.cursor = 0;
        let start = self.heap.first_block();
        self.heap.set_cursor(start);
    }

    /// Writes the marking word (`Roots::marking`, `__gc_marking`) when the build has one: 1 from
    /// the start of marking to its end, so compiled code's inline barrier knows when to call
    /// `__link`.
    #[inline(always)]
    fn set_marking_word(&self, value: u32) {
        let addr = self.roots.marking;
        if addr != 0 {
            // SAFETY: `Runtime::new`'s contract: a non-zero `marking` is a 4-aligned word of
            // static memory that only the runtime writes.
            unsafe { self.store(addr, value) };
        }
    }

    /// Sweep → Idle.
    fn finish_sweep(&mut self) {
        self.gc.phase = Phase::Idle;
        self.heap.set_cursor(0);
        self.gc.collections += 1;
        self.gc.debt = 0;
        // What the heap will use when the next marking ends: what is used now, the allocation
        // left before that cycle starts, and what its marking will allocate.
        let to_start = self.gc.threshold.saturating_sub(self.gc.allocated);
        let peak = self.heap.used_bytes() as u64 + to_start + self.gc.mark_allocated;
        self.heap.set_peak_goal(peak);
        #[cfg(feature = "rtrace")]
        crate::rtrace::collected();
    }
}

#[cfg(all(test, any(not(target_arch = "wasm32"), feature = "std")))]
mod tests {
    use super::*;

    /// The bytes that stand in for a runtime not yet created (zeros) close `__new`'s fast path
    /// for every small size, and a created runtime opens it: the export relies on this instead
    /// of testing whether the runtime exists.
    #[test]
    fn zero_bytes_close_the_small_path() {
        use crate::host::HostConfig;
        use crate::memory::HostMemory;
        let zeroed = core::mem::MaybeUninit::<Runtime<HostMemory>>::zeroed();
        let rt = Runtime::host(HostConfig::default());
        for size in 1..=SMALL_PAYLOAD {
            // SAFETY: zero bytes of a runtime's size, then a runtime; `size` is small.
            assert!(!unsafe { Runtime::small_path_open(zeroed.as_ptr(), size) }, "size {size}");
            // SAFETY: a created runtime.
            assert!(unsafe { Runtime::small_path_open(&rt, size) }, "size {size}");
        }
    }

    /// After `__collect` a cycle starts once `pause x survived` was allocated (the contract's
    /// rule, exactly: that cycle allocated nothing). After an incremental cycle the allocation
    /// counts from that cycle's start, its marking's and sweep's included.
    #[test]
    #[cfg(not(feature = "assemblyscript"))]
    fn the_next_cycle_counts_allocation_from_this_ones_start() {
        use crate::host::HostConfig;
        use crate::rtti::ID_ARRAYBUFFER;
        let mut rt = Runtime::host(HostConfig::default());
        for _ in 0..64 {
            let r = rt.new_object(32 << 10, ID_ARRAYBUFFER).unwrap();
            rt.pin(r).unwrap();
        }
        rt.collect();
        assert_eq!(rt.gc.threshold, rt.gc.marked_bytes, "pause 100 of what survived");
        assert!(rt.gc.threshold > MIN_THRESHOLD);
        let block = block_size(1000) as u64;
        // Until a cycle starts: the allocation that starts it is the one reaching the threshold.
        let threshold = rt.gc.threshold;
        let mut since = rt.gc.allocated;
        assert_eq!(since, 0, "`__collect`'s cycle allocated nothing");
        while rt.gc.phase == Phase::Idle {
            rt.new_object(1000, ID_ARRAYBUFFER).unwrap();
            since += block;
        }
        assert!(since >= threshold && since - block < threshold, "{since} against {threshold}");
        // The incremental cycle: every allocation while it runs stays counted.
        let mut during = 0;
        while rt.gc.phase != Phase::Idle {
            rt.new_object(1000, ID_ARRAYBUFFER).unwrap();
            during += block;
        }
        assert_eq!(
            rt.gc.allocated, during,
            "counted from the cycle's start, not its marking's end"
        );
        assert!(rt.gc.mark_allocated > 0 && rt.gc.mark_allocated < during);
        // The next cycle starts once the allocation since the last start reaches the threshold.
        let threshold = rt.gc.threshold;
        let mut total = during;
        while rt.gc.phase == Phase::Idle {
            rt.new_object(1000, ID_ARRAYBUFFER).unwrap();
            total += block;
        }
        assert!(total >= threshold && total - block < threshold, "{total} against {threshold}");
        // `__collect` allocates nothing while it marks: the mutator's estimate stays.
        let estimate = rt.gc.mark_allocated;
        rt.collect();
        assert_eq!(rt.gc.mark_allocated, estimate);
        assert_eq!(rt.check(), 0);
    }

    /// The allocation before the next cycle is `pause x live` from the last cycle's start, and
    /// at least [`MIN_THRESHOLD`] after its marking's end.
    #[test]
    fn paced_threshold_is_pause_times_live() {
        let live = 100 << 20;
        assert_eq!(paced_threshold(live, 100, 0), live);
        assert_eq!(paced_threshold(live, 90, 5 << 20), live * 9 / 10);
        assert_eq!(paced_threshold(live, 1000, 0), live * 10);
        assert_eq!(paced_threshold(MIN_THRESHOLD, 50, 0), MIN_THRESHOLD, "at least the minimum");
        assert_eq!(
            paced_threshold(MIN_THRESHOLD, 100, 300),
            MIN_THRESHOLD + 300,
            "after the marking"
        );
        assert_eq!(paced_threshold(live, 10, 20 << 20), (20 << 20) + MIN_THRESHOLD);
        assert_eq!(paced_threshold(0, 1000, 0), MIN_THRESHOLD);
    }
}
