//! Weak maps: ephemerons (docs/ABI.md §10.6). A value stays alive only while its key is.
//!
//! ```text
//! ╒════ ephemeron table (an Internal heap block; capacity a power of two ≥ 16) ════╕
//! │ map │ key │ value │ 0 │ map │ key │ value │ 0 │ ...   open addressing by (map, key)  │
//! ╘═════════════════════════════════════════════════════════════════════════════════╛
//!   key 0 = empty, key 1 = deleted (a tombstone: refs are 16-aligned, never 1)
//!   map = the weak map's handle (an entry of the weak table in state Map)
//! ```
//!
//! One table holds the entries of every weak map. Entries are not roots. **Marking**: when the
//! gray stack runs dry, the marker walks the table from a cursor within the step's budget and
//! shades the value of every entry whose key is marked (gray, black or static). A pass that
//! traced anything (its own shading, or objects the mutator's barrier grayed) is repeated; a
//! pass that traced nothing ends the fixpoint, and tracing anything afterwards starts a new
//! pass. So a chain (a value that is another entry's key) costs one pass per link, each pass
//! bounded per step: never unbounded atomic work. **Sweeping** first removes every entry whose
//! key died (after the weak table), before any block is freed.
//!
//! Without a weak map there is no table: marking pays one comparison each time the gray stack
//! runs dry, the sweep one per step.

use super::Phase;
use super::trace::OBJECT_WORK;
use crate::error::Error;
use crate::memory::Memory;
use crate::object::HEADER_SIZE;
use crate::runtime::Runtime;

/// Bytes of one entry: map, key, value, padding.
const ENTRY: u32 = 16;
/// The key word of a deleted entry.
const TOMBSTONE: u32 = 1;
/// Work units per live entry a pass or the sweep visits (three header reads at random places:
/// measured, about three objects' marking); an empty or deleted slot costs 1.
const ENTRY_WORK: u32 = 8 * OBJECT_WORK;
/// The largest table.
pub const MAX_EPHEMERONS: u32 = 1 << 22;

/// The ephemeron table's bookkeeping.
#[derive(Debug, Default)]
pub struct EphemeronTable {
    /// Ref of the table's Internal block, 0 before the first entry.
    pub(crate) table: u32,
    /// Entries; a power of two, or 0.
    pub(crate) capacity: u32,
    /// Live entries.
    pub(crate) len: u32,
    /// Tombstones.
    pub(crate) dead: u32,
    /// The marking pass's (or the sweep's) next entry.
    pub(crate) cursor: u32,
    /// Something was traced since the marking pass started: it must run again.
    pub(crate) dirty: bool,
    /// The marking fixpoint is reached (until something is traced).
    pub(crate) done: bool,
}

impl EphemeronTable {
    /// No table.
    pub const fn new() -> Self {
        EphemeronTable {
            table: 0,
            capacity: 0,
            len: 0,
            dead: 0,
            cursor: 0,
            dirty: false,
            done: false,
        }
    }

    /// Address of entry `i` (its map word; key at +4, value at +8).
    #[inline(always)]
    pub(crate) fn at(&self, i: u32) -> u32 {
        self.table + ENTRY * i
    }

    /// The home slot of `(map, key)`.
    fn home(&self, map: u32, key: u32) -> u32 {
        ((key >> 4).wrapping_mul(0x9E37_79B1) ^ map.wrapping_mul(0x85EB_CA77)) & (self.capacity - 1)
    }

    /// A new marking pass from the first entry.
    pub(crate) fn restart(&mut self) {
        self.cursor = 0;
        self.dirty = false;
        self.done = false;
    }
}

/// Where a probe for `(map, key)` ended.
enum Probe {
    /// The entry holding it.
    Found(u32),
    /// Not there; the first empty or deleted slot on its probe run (or none in a full table).
    Missing(Option<u32>),
}

impl<M: Memory> Runtime<M> {
    /// Entry `i`'s map, key and value words.
    pub(crate) fn eph(&self, i: u32) -> (u32, u32, u32) {
        debug_assert!(i < self.eph.capacity);
        let a = self.eph.at(i);
        // SAFETY: `i < capacity`: an entry inside the table's block.
        unsafe { (self.load(a), self.load(a + 4), self.load(a + 8)) }
    }

    /// Writes entry `i`.
    fn set_eph(&mut self, i: u32, map: u32, key: u32, value: u32) {
        debug_assert!(i < self.eph.capacity);
        let a = self.eph.at(i);
        // SAFETY: `i < capacity`: an entry of the runtime's own Internal block.
        unsafe {
            self.store(a, map);
            self.store(a + 4, key);
            self.store(a + 8, value);
        }
    }

    /// Probes for `(map, key)`. Time: O(1) expected.
    fn eph_probe(&self, map: u32, key: u32) -> Probe {
        let cap = self.eph.capacity;
        if cap == 0 {
            return Probe::Missing(None);
        }
        let (mut i, mut free) = (self.eph.home(map, key), None);
        for _ in 0..cap {
            let (m, k, _) = self.eph(i);
            if k == 0 {
                return Probe::Missing(free.or(Some(i)));
            }
            if k == TOMBSTONE {
                free = free.or(Some(i));
            } else if k == key && m == map {
                return Probe::Found(i);
            }
            i = (i + 1) & (cap - 1);
        }
        Probe::Missing(free)
    }

    /// Whether the object `r` is marked in the cycle in progress: static, or a heap object
    /// that is not of the current white. Only meaningful while marking.
    fn is_marked(&self, r: u32) -> bool {
        // SAFETY: `r` is a live managed object (validated, or an entry's key).
        r < self.heap.start() || !unsafe { self.gc_info(r - HEADER_SIZE) }.is_white(self.gc.white)
    }

    /// Makes room for one more entry: a table twice as large (entries rehashed, tombstones
    /// dropped) when live entries and tombstones would fill more than half of it. On error
    /// nothing has changed.
    fn eph_reserve(&mut self) -> Result<(), Error> {
        let e = &self.eph;
        if 2 * (e.len + e.dead + 1) <= e.capacity {
            return Ok(());
        }
        let cap = if 4 * (e.len + 1) <= e.capacity { e.capacity } else { (e.capacity * 2).max(16) };
        if cap > MAX_EPHEMERONS {
            return Err(Error::WeakTableFull);
        }
        let table = self.heap.alloc_table(cap * ENTRY)?;
        let old = core::mem::replace(
            &mut self.eph,
            EphemeronTable { table, capacity: cap, ..EphemeronTable::new() },
        );
        for i in 0..old.capacity {
            let a = old.at(i);
            // SAFETY: `i < old.capacity`: an entry of the old table, not yet freed.
            let (m, k, v) = unsafe { (self.load(a), self.load(a + 4), self.load(a + 8)) };
            if k > TOMBSTONE
                && let Probe::Missing(Some(j)) = self.eph_probe(m, k)
            {
                self.set_eph(j, m, k, v);
                self.eph.len += 1;
            }
        }
        if old.table != 0 {
            // SAFETY: the old table is an Internal block nobody else refers to.
            unsafe { self.heap.release_block(old.table - HEADER_SIZE) };
        }
        // Entries moved: a marking pass starts over (at most once per rehash, and rehashing
        // needs as many insertions as the table is large); the sweep's walk too (harmless).
        Ok(())
    }

    /// `__weakmap_new`: a new, empty weak map; returns its handle. Time: O(1) amortized.
    pub fn weakmap_new(&mut self) -> Result<u32, Error> {
        self.weak_insert(0, super::WeakState::Map)
    }

    /// The weak-table index of the map `map`, or an error.
    fn weakmap_index(&self, map: u32) -> Result<u32, Error> {
        self.lookup(map, &[super::WeakState::Map]).ok_or(Error::BadWeakMap)
    }

    /// `__weakmap_set`: maps `key` (an object) to `value` (0 or an object) in `map`. While
    /// marking, the value of a marked key is shaded (the barrier of an ephemeron). Time: O(1)
    /// expected.
    pub fn weakmap_set(&mut self, map: u32, key: u32, value: u32) -> Result<(), Error> {
        self.weakmap_index(map)?;
        self.validate_object(key)?;
        if value != 0 {
            self.validate_object(value)?;
        }
        if self.is_dead(value) {
            return Err(Error::DeadObject);
        }
        if self.is_dead(key) {
            // Found unreachable by the cycle being swept: the entry could never be read.
            return Ok(());
        }
        let slot = match self.eph_probe(map, key) {
            Probe::Found(i) => i,
            Probe::Missing(_) => {
                if let Err(e) = self.eph_reserve() {
                    if e != Error::OutOfMemory {
                        return Err(e);
                    }
                    self.collect_keeping(&[key, value])?;
                    self.eph_reserve()?;
                }
                self.eph_insert_slot(map, key)?
            }
        };
        self.set_eph(slot, map, key, value);
        if self.gc.phase == Phase::Mark && self.is_marked(key) {
            self.shade(value);
        }
        Ok(())
    }

    /// The slot a missing `(map, key)` goes to after [`Runtime::eph_reserve`] (counted in).
    /// A reserved table has room, so the error cannot occur; it stands for a panic, whose
    /// message would link the formatter.
    fn eph_insert_slot(&mut self, map: u32, key: u32) -> Result<u32, Error> {
        let Probe::Missing(Some(i)) = self.eph_probe(map, key) else {
            return Err(Error::OutOfMemory);
        };
        if self.eph(i).1 == TOMBSTONE {
            self.eph.dead -= 1;
        }
        self.eph.len += 1;
        Ok(i)
    }

    /// The entry of `key` in `map` if it holds one whose key is not dead.
    fn weakmap_find(&self, map: u32, key: u32) -> Result<Option<u32>, Error> {
        self.weakmap_index(map)?;
        if key == 0 || !key.is_multiple_of(16) {
            return Ok(None);
        }
        Ok(match self.eph_probe(map, key) {
            Probe::Found(i) if !self.is_dead(key) => Some(i),
            _ => None,
        })
    }

    /// `__weakmap_get`: the value of `key` in `map`, or 0. A value handed out while marking is
    /// shaded. Time: O(1) expected.
    pub fn weakmap_get(&mut self, map: u32, key: u32) -> Result<u32, Error> {
        let Some(i) = self.weakmap_find(map, key)? else {
            return Ok(0);
        };
        let value = self.eph(i).2;
        if self.gc.phase == Phase::Mark {
            self.shade(value);
        }
        Ok(value)
    }

    /// `__weakmap_has`: whether `map` holds `key`. Time: O(1) expected.
    pub fn weakmap_has(&self, map: u32, key: u32) -> Result<bool, Error> {
        Ok(self.weakmap_find(map, key)?.is_some())
    }

    /// `__weakmap_delete`: removes `key` from `map`; whether it was there. Time: O(1) expected.
    pub fn weakmap_delete(&mut self, map: u32, key: u32) -> Result<bool, Error> {
        let Some(i) = self.weakmap_find(map, key)? else {
            return Ok(false);
        };
        self.eph_remove(i);
        Ok(true)
    }

    /// Turns entry `i` into a tombstone.
    fn eph_remove(&mut self, i: u32) {
        self.set_eph(i, 0, TOMBSTONE, 0);
        self.eph.len -= 1;
        self.eph.dead += 1;
    }

    /// `__weakmap_free`: removes every entry of `map` and releases its handle. Time:
    /// O(ephemeron table).
    pub fn weakmap_free(&mut self, map: u32) -> Result<(), Error> {
        let index = self.weakmap_index(map)?;
        for i in 0..self.eph.capacity {
            let (m, k, _) = self.eph(i);
            if k > TOMBSTONE && m == map {
                self.eph_remove(i);
            }
        }
        self.weak_release(index);
        Ok(())
    }

    /// Whether marking still has ephemeron work: a table whose fixpoint is not reached.
    #[inline(always)]
    pub(crate) fn eph_pending(&self) -> bool {
        self.eph.capacity != 0 && !self.eph.done
    }

    /// Tells the ephemeron pass that objects were traced since it last looked.
    #[inline]
    pub(crate) fn eph_traced(&mut self) {
        if self.eph.done {
            self.eph.restart();
        } else {
            self.eph.dirty = true;
        }
    }

    /// One slice of the marking pass within `budget`: shades the value of each entry whose key
    /// is marked. Returns the work done; stops early once something turned gray.
    pub(crate) fn eph_mark_step(&mut self, budget: u32) -> u32 {
        let mut work = 0;
        while work < budget && self.gc.gray == 0 {
            if self.eph.cursor >= self.eph.capacity {
                if self.eph.dirty {
                    self.eph.restart();
                } else {
                    self.eph.done = true;
                }
                return work.max(ENTRY_WORK);
            }
            let (_, key, value) = self.eph(self.eph.cursor);
            self.eph.cursor += 1;
            if key <= TOMBSTONE {
                work += 1;
                continue;
            }
            work += ENTRY_WORK;
            if self.is_marked(key) && value != 0 && !self.is_marked(value) {
                self.shade(value);
                self.eph.dirty = true;
            }
        }
        work
    }

    /// The sweep's ephemeron part, after the weak table's: removes entries whose key died,
    /// within `budget`. Returns the work done; done when the cursor reaches the capacity.
    pub(crate) fn eph_settle_step(&mut self, budget: u32) -> u32 {
        let mut work = 0;
        while self.eph.cursor < self.eph.capacity && work < budget {
            let (_, key, _) = self.eph(self.eph.cursor);
            if key > TOMBSTONE && self.is_dead(key) {
                self.eph_remove(self.eph.cursor);
            }
            self.eph.cursor += 1;
            work += if key > TOMBSTONE { OBJECT_WORK } else { 1 };
        }
        work
    }

    /// Live weak-map entries (every map's).
    pub fn weakmap_entries(&self) -> u32 {
        self.eph.len
    }

    /// Bytes of the ephemeron table's block (0 before the first entry).
    pub fn weakmap_table_bytes(&self) -> u32 {
        if self.eph.capacity == 0 {
            0
        } else {
            crate::object::block_size(self.eph.capacity * ENTRY)
        }
    }
}

#[cfg(all(test, feature = "std"))]
mod tests {
    use crate::gc::Phase;
    use crate::host::HostConfig;
    use crate::rtti;
    use crate::runtime::Runtime;

    /// The window `weakmap_set`'s barrier exists for: the ephemeron pass is done and the gray
    /// stack is empty, so the next step ends marking without looking at the table again. A
    /// white value stored then under a marked key must be shaded by the store itself (without
    /// it the value is freed while its key lives).
    #[test]
    fn a_value_stored_under_a_marked_key_after_the_last_pass_is_kept() {
        let mut rt = Runtime::host(HostConfig::default());
        let m = rt.weakmap_new().unwrap();
        let k = rt.new_object(8, rtti::ID_STRING).unwrap();
        let v = rt.new_object(8, rtti::ID_STRING).unwrap();
        let other = rt.new_object(8, rtti::ID_STRING).unwrap();
        rt.weakmap_set(m, k, other).unwrap();
        let slots = rt.static_slots();
        // SAFETY: the first static slot of the host layout.
        unsafe { rt.store(slots, k) };
        rt.start_cycle();
        loop {
            rt.mark_step(1);
            assert_eq!(rt.gc.phase, Phase::Mark, "marking ended before the window");
            if rt.gc.gray == 0 && rt.eph.done && rt.is_marked(k) && rt.is_marked(other) {
                break;
            }
        }
        assert!(!rt.is_marked(v), "v is white");
        rt.weakmap_set(m, k, v).unwrap();
        while rt.try_gc_step().unwrap() != Phase::Idle {}
        assert!(rt.validate_managed(v).is_ok(), "the value survived the cycle");
        assert_eq!(rt.weakmap_get(m, k).unwrap(), v);
        assert_eq!(rt.check(), 0);
    }
}
