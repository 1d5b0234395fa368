//! Weak references and finalizer registrations (docs/ABI.md §10): one side table, settled
//! during the sweep before any block is freed.
//!
//! ```text
//! ╒════ weak table (an Internal heap block; capacity a power of two ≥ 16) ════╕
//! │ target 0 │ meta 0 │ target 1 │ meta 1 │ ...                              │
//! ╘═══════════════════════════════════════════════════════════════════════════╛
//!   meta = generation << 3 | state          handle = generation << 22 | (index + 1)
//!   Free:      target = next free index + 1 (0 ends the free list)
//!   Weak:      target = the object, or 0 once cleared
//!   Final:     target = the registered object
//!   Ready:     target = next queued index + 1 (0 ends the ready list): the token awaits
//!              `__finalizer_next`
//!   Cancelled: as Ready, unregistered after it was queued: dropped when it is popped
//!   Map:       target = 0: a weak map, whose entries are in the ephemeron table
//!   Retired:   target = 0: its generations are used up; never reused, so no handle of an
//!              entry ever names a later use of it
//! ```
//!
//! Entries are not roots: marking never looks at the table. At the end of marking nothing
//! unreached can be reached again except through this table, so the sweep first walks the table
//! (a cursor, bounded by the step's budget like the block sweep) and clears every weak entry
//! whose target is of the old white and queues every such registration; only then does it free
//! blocks. Until the walk reaches an entry, reading it checks its target's color the same way
//! ([`Runtime::settle`]). While marking, a read that hands out a target shades it.
//!
//! A program that never registers anything has no table (capacity 0): the sweep's only cost is
//! one comparison per step, and marking is unchanged.

use super::Phase;
use super::trace::OBJECT_WORK;
use crate::error::Error;
use crate::memory::Memory;
use crate::object::{HEADER_SIZE, Kind, NO_TYPE};
use crate::runtime::Runtime;

/// Bytes of one entry: the target word, then the meta word.
const ENTRY: u32 = 8;
/// Bits of a handle that hold the entry's index + 1.
const INDEX_BITS: u32 = 22;
/// Mask of the index bits of a handle.
const INDEX_MASK: u32 = (1 << INDEX_BITS) - 1;
/// The largest generation; an entry released at it is retired instead of wrapping.
const GEN_MASK: u32 = (1 << (32 - INDEX_BITS)) - 1;
/// The largest table: every index + 1 fits the index bits.
pub const MAX_WEAK_ENTRIES: u32 = 1 << (INDEX_BITS - 1);
/// Work units charged per table entry the sweep settles that names an object (a header read
/// at a random place: measured, about two objects' sweeping); any other entry costs 1.
const ENTRY_WORK: u32 = 2 * OBJECT_WORK;

/// The state of a table entry (meta bits 0..2).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeakState {
    /// Unused; on the free list.
    Free = 0,
    /// A weak reference.
    Weak = 1,
    /// A finalizer registration whose object has not been found unreachable.
    Final = 2,
    /// A registration whose object was found unreachable: its token is queued.
    Ready = 3,
    /// A queued token that was unregistered: dropped when popped.
    Cancelled = 4,
    /// A weak map (its entries live in the ephemeron table, gc/ephemeron.rs); target 0.
    Map = 5,
    /// An entry whose generations are used up: off every list, never handed out again.
    Retired = 6,
}

impl WeakState {
    /// The state in meta bits 0..2, if valid.
    pub const fn from_meta(meta: u32) -> Option<Self> {
        match meta & 7 {
            0 => Some(WeakState::Free),
            1 => Some(WeakState::Weak),
            2 => Some(WeakState::Final),
            3 => Some(WeakState::Ready),
            4 => Some(WeakState::Cancelled),
            5 => Some(WeakState::Map),
            6 => Some(WeakState::Retired),
            _ => None,
        }
    }
}

/// The weak table's bookkeeping (the entries live in the heap block).
#[derive(Debug, Default)]
pub struct WeakTable {
    /// Ref of the table's Internal block, 0 before the first registration.
    pub(crate) table: u32,
    /// Entries; a power of two, or 0.
    pub(crate) capacity: u32,
    /// Entries not free.
    pub(crate) len: u32,
    /// Index + 1 of the first free entry, 0 for none.
    pub(crate) free: u32,
    /// Index + 1 of the first queued entry, 0 for none.
    pub(crate) ready: u32,
    /// The sweep's next entry to settle; `capacity` (or more) when done.
    pub(crate) cursor: u32,
}

impl WeakTable {
    /// No table.
    pub const fn new() -> Self {
        WeakTable { table: 0, capacity: 0, len: 0, free: 0, ready: 0, cursor: 0 }
    }

    /// Address of entry `i`'s target word.
    #[inline(always)]
    pub(crate) fn target_at(&self, i: u32) -> u32 {
        self.table + ENTRY * i
    }

    /// Address of entry `i`'s meta word.
    #[inline(always)]
    pub(crate) fn meta_at(&self, i: u32) -> u32 {
        self.table + ENTRY * i + 4
    }
}

/// The handle of entry `i` whose meta word is `meta`.
#[inline(always)]
const fn handle(i: u32, meta: u32) -> u32 {
    ((meta >> 3) << INDEX_BITS) | (i + 1)
}

impl<M: Memory> Runtime<M> {
    /// Entry `i`'s target and meta words.
    fn entry(&self, i: u32) -> (u32, u32) {
        debug_assert!(i < self.weak.capacity);
        // SAFETY: `i < capacity`: an entry inside the table's block.
        unsafe { (self.load(self.weak.target_at(i)), self.load(self.weak.meta_at(i))) }
    }

    /// Writes entry `i`.
    fn set_entry(&mut self, i: u32, target: u32, meta: u32) {
        debug_assert!(i < self.weak.capacity);
        // SAFETY: `i < capacity`: an entry of the runtime's own Internal block.
        unsafe {
            self.store(self.weak.target_at(i), target);
            self.store(self.weak.meta_at(i), meta);
        }
    }

    /// The entry index that `h` names if it is a live entry in `state`. Time: O(1).
    pub(super) fn lookup(&self, h: u32, states: &[WeakState]) -> Option<u32> {
        let i = (h & INDEX_MASK).checked_sub(1)?;
        if i >= self.weak.capacity {
            return None;
        }
        let (_, meta) = self.entry(i);
        let state = WeakState::from_meta(meta)?;
        (handle(i, meta) == h && states.contains(&state)).then_some(i)
    }

    /// Whether the object `r` (0, static or heap) was found unreachable by the cycle being
    /// swept: a heap object of the old white during the sweep.
    pub(super) fn is_dead(&self, r: u32) -> bool {
        if self.gc.phase != Phase::Sweep || r < self.heap.start() {
            return false;
        }
        // SAFETY: `r` is the target of a live entry: a live managed object (the table's
        // invariant), here on the heap.
        unsafe { self.gc_info(r - HEADER_SIZE) }.is_white(self.gc.white ^ 1)
    }

    /// Settles entry `i` against the cycle being swept: a weak entry whose target died is
    /// cleared, a registration whose object died is queued. Returns the work done. Time: O(1).
    fn settle(&mut self, i: u32) -> u32 {
        let (target, meta) = self.entry(i);
        let state = WeakState::from_meta(meta);
        if target == 0 || !matches!(state, Some(WeakState::Weak | WeakState::Final)) {
            return 1;
        }
        if !self.is_dead(target) {
            return ENTRY_WORK;
        }
        if state == Some(WeakState::Weak) {
            self.set_entry(i, 0, meta);
        } else {
            let next = self.weak.ready;
            self.set_entry(i, next, (meta & !7) | WeakState::Ready as u32);
            self.weak.ready = i + 1;
        }
        ENTRY_WORK
    }

    /// The sweep's first part: settles entries from the cursor within `budget`. Returns the
    /// work done; the table is done when the cursor reaches the capacity.
    pub(crate) fn settle_step(&mut self, budget: u32) -> u32 {
        let mut work = 0;
        while self.weak.cursor < self.weak.capacity && work < budget {
            work += self.settle(self.weak.cursor);
            self.weak.cursor += 1;
        }
        work
    }

    /// Makes room for one more entry, moving to a table twice as large. On error (out of
    /// memory, or the table at its largest) nothing has changed.
    fn weak_reserve(&mut self) -> Result<(), Error> {
        if self.weak.free != 0 {
            return Ok(());
        }
        let old = self.weak.capacity;
        if old >= MAX_WEAK_ENTRIES {
            return Err(Error::WeakTableFull);
        }
        let cap = (old * 2).max(16);
        let table = self.heap.alloc_object(cap * ENTRY, Kind::Internal as u32, NO_TYPE)?;
        let from = self.weak.table;
        if old > 0 {
            // SAFETY: both blocks are the runtime's Internal blocks, the new one at least as
            // large; they do not overlap (both live).
            unsafe { self.heap.mem.copy(table, from, old * ENTRY) };
        }
        self.weak.table = table;
        self.weak.capacity = cap;
        for i in old..cap {
            let next = if i + 1 < cap { i + 2 } else { 0 };
            self.set_entry(i, next, WeakState::Free as u32);
        }
        self.weak.free = old + 1;
        if from != 0 {
            // SAFETY: the old table is an Internal block nobody else refers to.
            unsafe { self.heap.release_block(from - HEADER_SIZE) };
        }
        Ok(())
    }

    /// Takes a free entry for `target` in `state` and settles it; returns its handle.
    pub(super) fn weak_insert(&mut self, target: u32, state: WeakState) -> Result<u32, Error> {
        if let Err(e) = self.weak_reserve() {
            if e != Error::OutOfMemory {
                return Err(e);
            }
            self.collect_keeping(&[target])?;
            self.weak_reserve()?;
        }
        let i = self.weak.free - 1;
        let (next, meta) = self.entry(i);
        self.weak.free = next;
        self.weak.len += 1;
        let meta = (meta & !7) | state as u32;
        self.set_entry(i, target, meta);
        // An object the sweep in progress will free is unreachable already.
        self.settle(i);
        Ok(handle(i, meta))
    }

    /// Puts entry `i` back on the free list with the next generation, or retires it when its
    /// generations are used up (a wrapped generation would let a stale handle name a later
    /// use of the entry). A retired entry costs its 8 bytes for good.
    pub(super) fn weak_release(&mut self, i: u32) {
        let (_, meta) = self.entry(i);
        let generation = meta >> 3;
        if generation >= GEN_MASK {
            self.set_entry(i, 0, (generation << 3) | WeakState::Retired as u32);
            return;
        }
        self.set_entry(i, self.weak.free, ((generation + 1) << 3) | WeakState::Free as u32);
        self.weak.free = i + 1;
        self.weak.len -= 1;
    }

    /// `__weakref_new`: a weak reference to the object `r` (heap or static); returns its
    /// handle (never 0). Time: O(1), amortized over the table's growth.
    pub fn weakref_new(&mut self, r: u32) -> Result<u32, Error> {
        self.validate_object(r)?;
        self.weak_insert(r, WeakState::Weak)
    }

    /// `__weakref_get`: the weak reference's target, or 0 once it was found unreachable. A
    /// target handed out while marking is shaded: it survives the cycle. Time: O(1).
    pub fn weakref_get(&mut self, h: u32) -> Result<u32, Error> {
        let i = self.lookup(h, &[WeakState::Weak]).ok_or(Error::BadWeakHandle)?;
        self.settle(i);
        let (target, _) = self.entry(i);
        if self.gc.phase == Phase::Mark {
            self.shade(target);
        }
        Ok(target)
    }

    /// The weak reference's target as [`Runtime::weakref_get`] would answer, without shading
    /// or clearing anything (for checks and tests). Time: O(1).
    pub fn weakref_peek(&self, h: u32) -> Result<u32, Error> {
        let i = self.lookup(h, &[WeakState::Weak]).ok_or(Error::BadWeakHandle)?;
        let (target, _) = self.entry(i);
        Ok(if self.is_dead(target) { 0 } else { target })
    }

    /// `__weakref_free`: releases the handle `h`; it is invalid from then on. Time: O(1).
    pub fn weakref_free(&mut self, h: u32) -> Result<(), Error> {
        let i = self.lookup(h, &[WeakState::Weak]).ok_or(Error::BadWeakHandle)?;
        self.weak_release(i);
        Ok(())
    }

    /// `__finalizer_register`: registers the object `r` (heap or static; static objects never
    /// die); returns the token [`Runtime::finalizer_next`] hands out once `r` was found
    /// unreachable. Registering an object again gives another token. Time: O(1) amortized.
    pub fn finalizer_register(&mut self, r: u32) -> Result<u32, Error> {
        self.validate_object(r)?;
        self.weak_insert(r, WeakState::Final)
    }

    /// `__finalizer_unregister`: cancels the registration `token`, whether or not its object
    /// was found unreachable, as long as the token was not handed out. Time: O(1).
    pub fn finalizer_unregister(&mut self, token: u32) -> Result<(), Error> {
        let i = self
            .lookup(token, &[WeakState::Final, WeakState::Ready])
            .ok_or(Error::BadFinalizerToken)?;
        let (target, meta) = self.entry(i);
        if WeakState::from_meta(meta) == Some(WeakState::Final) {
            self.weak_release(i);
        } else {
            // Still on the ready list: dropped when popped.
            self.set_entry(i, target, (meta & !7) | WeakState::Cancelled as u32);
        }
        Ok(())
    }

    /// `__finalizer_next`: the token of one registration whose object was found unreachable,
    /// or 0 when none waits. Each token is handed out once. Time: O(1) amortized.
    pub fn finalizer_next(&mut self) -> u32 {
        while self.weak.ready != 0 {
            let i = self.weak.ready - 1;
            let (next, meta) = self.entry(i);
            self.weak.ready = next;
            self.weak_release(i);
            if WeakState::from_meta(meta) == Some(WeakState::Ready) {
                return handle(i, meta);
            }
        }
        0
    }

    /// Weak references and registrations in the table (queued tokens included).
    pub fn weak_entries(&self) -> u32 {
        self.weak.len
    }

    /// Bytes of the table's block (0 before the first registration; it is never freed).
    pub fn weak_table_bytes(&self) -> u32 {
        if self.weak.capacity == 0 {
            0
        } else {
            crate::object::block_size(self.weak.capacity * ENTRY)
        }
    }
}
