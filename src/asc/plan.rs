//! How the collector finds the references of a hosted program's objects without calling its
//! visitors (docs/ABI.md §8.4): one plan per type id, made at attach from the program's RTTI
//! flags, and for a plain class learned the first time one of its objects is traced, by running
//! the class's visitor once on a probe object whose every word holds its own address.
//!
//! ```text
//! plan table: an Internal heap block, 8 bytes per program type id
//! ┌─────────────────────────────────────────┬─────────────────────────────────┐
//! │ kind (bits 28..31) │ RTTI flags (0..27) │ field mask: bit i = word i a ref │ id 0
//! ├─────────────────────────────────────────┼─────────────────────────────────┤
//! │ ...                                     │ ...                             │ id 1, ...
//! └─────────────────────────────────────────┴─────────────────────────────────┘
//! ```
//!
//! The flags are copied at attach: what compiled code later writes into its RTTI table does not
//! change what the collector follows (as for asrt's own layout, docs/ABI.md §3.3).

use super::AscProgram;
use crate::error::Error;
use crate::gc::trace::Refs;
use crate::memory::Memory;
use crate::object::{HEADER_SIZE, MM_INFO, MmInfo, RT_ID, RT_SIZE};
use crate::rtti::flags;
use crate::runtime::Runtime;

/// Bytes per type id in the plan table.
const ENTRY: u32 = 8;
/// The largest class payload whose fields a mask can describe (32 words).
const MASK_BYTES: u32 = 128;

/// How the references of one type are found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// None: pointer-free, or an id the program does not have.
    None = 0,
    /// By the RTTI flags: an Array, a typed array (view), a `StaticArray`, a `Map` or a `Set`
    /// of the standard library's own size.
    Flags = 1,
    /// A plain class whose fields are not learned yet.
    Unlearned = 2,
    /// A plain class: the words the mask names.
    Fields = 3,
    /// Only the program's visitor knows (a class larger than a mask covers, a container subclass
    /// with fields of its own, or a visitor that did not behave like a field visitor).
    Visitor = 4,
}

impl Kind {
    fn from_bits(bits: u32) -> Kind {
        match bits {
            1 => Kind::Flags,
            2 => Kind::Unlearned,
            3 => Kind::Fields,
            4 => Kind::Visitor,
            _ => Kind::None,
        }
    }
}

/// The plan of one type: its kind, its RTTI flags and (for [`Kind::Fields`]) its field mask.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Plan {
    pub kind: Kind,
    pub flags: u32,
    pub mask: u32,
}

/// Where a `Map`'s or `Set`'s live entries hold references (the standard library's layout:
/// `buckets` @0, `entries` @8, `entriesOffset` @16; an entry is the key, the value, then
/// `taggedNext`, whose bit 0 marks a deleted entry).
#[derive(Debug, Clone, Copy)]
pub(crate) struct EntryScan {
    /// The first entry.
    pub start: u32,
    /// One past the last entry in use.
    pub end: u32,
    /// Bytes per entry.
    pub stride: u32,
    /// Offset of `taggedNext` in an entry.
    pub next: u32,
    /// Offset of the key, when keys are references.
    pub key: Option<u32>,
    /// Offset of the value, when values are references.
    pub value: Option<u32>,
}

/// The first plan of a type with `flags` (before any of its objects is seen).
fn first_kind(flags_: u32) -> Kind {
    if flags_ & flags::POINTERFREE != 0 {
        return Kind::None;
    }
    let containers =
        flags::ARRAYBUFFERVIEW | flags::ARRAY | flags::STATICARRAY | flags::SET | flags::MAP;
    if flags_ & containers != 0 { Kind::Flags } else { Kind::Unlearned }
}

/// The payload size of the standard container `flags_` names, which a subclass with fields of
/// its own exceeds (`None`: any size, a `StaticArray`).
fn container_size(flags_: u32) -> Option<u32> {
    if flags_ & flags::STATICARRAY != 0 {
        None
    } else if flags_ & (flags::MAP | flags::SET) != 0 {
        Some(24)
    } else if flags_ & flags::ARRAY != 0 {
        Some(16)
    } else {
        Some(12)
    }
}

/// log2 of the byte size in a 5-bit one-hot alignment field.
fn align_log2(bits: u32) -> u32 {
    if bits == 0 { 0 } else { bits.trailing_zeros() }
}

/// Rounds `x` up to a multiple of the power of two `to`.
fn round_up(x: u32, to: u32) -> u32 {
    (x + to - 1) & !(to - 1)
}

/// Offsets and size of an entry of a `Map` (`key` and `value` sizes) or a `Set` (`value` None):
/// fields are aligned to their size, the entry to its largest field and at least 4.
fn entry_layout(key: u32, value: Option<u32>) -> (u32, u32, u32) {
    let (value_off, end) = match value {
        Some(v) => {
            let off = round_up(key, v);
            (off, off + v)
        }
        None => (0, key),
    };
    let next = round_up(end, 4);
    let align = key.max(value.unwrap_or(0)).max(4);
    (value_off, next, round_up(next + 4, align))
}

impl<M: Memory> Runtime<M> {
    /// Makes the plan table for the `count` type ids of the RTTI table at `rtti_base`; returns
    /// its address. Time: O(count).
    ///
    /// # Safety
    /// `[rtti_base, rtti_base + 4 + 4 * count)` lies in memory.
    pub(crate) unsafe fn asc_make_plans(
        &mut self,
        rtti_base: u32,
        count: u32,
    ) -> Result<u32, Error> {
        let bytes = count.checked_mul(ENTRY).ok_or(Error::SizeTooLarge)?;
        let table = self.heap.alloc_table(bytes.max(4))?;
        for id in 0..count {
            // SAFETY: the flags word of `id` lies in the RTTI table (the caller's).
            let f = unsafe { self.load(rtti_base + 4 + 4 * id) } & 0x0fff_ffff;
            // SAFETY: `id < count`: an entry inside the table just allocated.
            unsafe { self.store(table + ENTRY * id, ((first_kind(f) as u32) << 28) | f) };
        }
        Ok(table)
    }

    /// The plan of type `id` (kind None for an id the program does not have). Time: O(1).
    #[inline(always)]
    pub(crate) fn asc_plan(&self, p: &AscProgram, id: u32) -> Plan {
        if id >= p.type_count {
            return Plan { kind: Kind::None, flags: 0, mask: 0 };
        }
        // SAFETY: `id < type_count`: an entry inside the plan table (made at attach, never
        // freed).
        let (word, mask) =
            unsafe { (self.load(p.plans + ENTRY * id), self.load(p.plans + ENTRY * id + 4)) };
        Plan { kind: Kind::from_bits(word >> 28), flags: word & 0x0fff_ffff, mask }
    }

    /// `Some` when a program is hosted: the RTTI flags of its type `id` as copied at attach
    /// (`None` inside for an id it does not have). Time: O(1).
    pub fn asc_type_flags(&self, id: u32) -> Option<Option<u32>> {
        let p = self.asc?;
        Some((id < p.type_count).then(|| self.asc_plan(&p, id).flags))
    }

    fn asc_set_plan(&mut self, p: &AscProgram, id: u32, plan: Plan) {
        // SAFETY: `id < type_count` (the caller had its plan): an entry inside the plan table.
        unsafe {
            self.store(p.plans + ENTRY * id, ((plan.kind as u32) << 28) | plan.flags);
            self.store(p.plans + ENTRY * id + 4, plan.mask);
        }
    }

    /// The payload bytes of the object `r` the collector may read: rtSize, never past the
    /// block (heap) or the program's static data (static). Time: O(1).
    ///
    /// # Safety
    /// `r` is a live managed heap object or a static object of the program.
    pub(crate) unsafe fn asc_payload(&self, p: &AscProgram, r: u32) -> u32 {
        // SAFETY: `r`'s header is in memory (the caller's).
        let rt_size = unsafe { self.load(r - HEADER_SIZE + RT_SIZE) };
        if self.asc_static(r) {
            return rt_size.min(p.static_end - r);
        }
        // SAFETY: as above; a heap object's mmInfo is the block's.
        let info = MmInfo(unsafe { self.load(r - HEADER_SIZE + MM_INFO) });
        // Nor past the last region's sentinel, whatever compiled code wrote into mmInfo.
        self.within_heap(r, rt_size.min(info.payload_room()))
    }

    /// Where the references of the object `r` are, learning its class's fields first if they are
    /// not known yet. `None`: only the program's visitor knows. Time: O(1), the first object of a
    /// class O(its size) plus one visitor call.
    ///
    /// # Safety
    /// `r` is a live managed heap object or a static object of the program.
    pub(crate) unsafe fn asc_refs(&mut self, p: &AscProgram, r: u32) -> Option<Refs> {
        // SAFETY: the caller's.
        let (id, size) = unsafe { (self.load(r - HEADER_SIZE + RT_ID), self.asc_payload(p, r)) };
        let mut plan = self.asc_plan(p, id);
        if plan.kind == Kind::Unlearned {
            plan = self.asc_learn(p, id, size);
        }
        // SAFETY: the caller's.
        unsafe { self.refs_by_plan(plan, r, size) }
    }

    /// [`Runtime::asc_refs`] without learning: `None` also for a class not learned yet.
    ///
    /// # Safety
    /// As for [`Runtime::asc_refs`].
    pub(crate) unsafe fn asc_known_refs(&self, p: &AscProgram, r: u32) -> Option<Refs> {
        // SAFETY: the caller's.
        let (id, size) = unsafe { (self.load(r - HEADER_SIZE + RT_ID), self.asc_payload(p, r)) };
        // SAFETY: the caller's.
        unsafe { self.refs_by_plan(self.asc_plan(p, id), r, size) }
    }

    /// Where `plan` says the references of the object `r` with `size` readable payload bytes
    /// are; `None`: only the program's visitor knows.
    ///
    /// # Safety
    /// As for [`Runtime::asc_refs`], `size` from [`Runtime::asc_payload`].
    unsafe fn refs_by_plan(&self, plan: Plan, r: u32, size: u32) -> Option<Refs> {
        match plan.kind {
            Kind::None => Some(Refs::None),
            Kind::Visitor | Kind::Unlearned => None,
            Kind::Fields => Some(Refs::Mask { r, size, mask: plan.mask }),
            // A subclass of a container with fields of its own is left to its visitor.
            Kind::Flags if container_size(plan.flags).is_some_and(|s| s != size) => None,
            // SAFETY: `r` is an object with `size` readable payload bytes (the caller's).
            Kind::Flags => Some(unsafe { self.refs_by_flags(r, plan.flags, size) }),
        }
    }

    /// Learns the fields of class `id` from its visitor: a probe object of `size` bytes whose
    /// word `i` holds its own address is visited; a visitor that passes each of some of those
    /// addresses once and nothing else is a field visitor, and the words it passed are the
    /// class's references. Anything else, a class larger than [`MASK_BYTES`] included, stays
    /// with the visitor. Out of memory leaves the class unlearned (the visitor serves this
    /// object). Time: O(size) plus one visitor call.
    fn asc_learn(&mut self, p: &AscProgram, id: u32, size: u32) -> Plan {
        let mut plan = self.asc_plan(p, id);
        if size > MASK_BYTES {
            plan.kind = Kind::Visitor;
            self.asc_set_plan(p, id, plan);
            return plan;
        }
        let Ok(probe) = self.heap.alloc_table(size.max(4)) else {
            return plan;
        };
        let words = size.div_ceil(4);
        // SAFETY: `probe` is a fresh Internal block with `size` payload bytes (rounded up to 4
        // inside its 16-byte-rounded room); its header's rtId is borrowed for the visitor's
        // switch and restored below.
        let saved_id = unsafe {
            for i in 0..words {
                self.store(probe + 4 * i, probe + 4 * i);
            }
            let saved = self.load(probe - HEADER_SIZE + RT_ID);
            self.store(probe - HEADER_SIZE + RT_ID, id);
            saved
        };
        let (mut mask, mut field_visitor) = (0u32, true);
        (p.members)(probe, &mut |v| {
            let off = v.wrapping_sub(probe);
            let bit = 1u32.checked_shl(off / 4).unwrap_or(0);
            if off.is_multiple_of(4) && off < 4 * words && mask & bit == 0 {
                mask |= bit;
            } else if v != 0 {
                field_visitor = false;
            }
        });
        // SAFETY: the probe block is still the fresh Internal block; nothing else refers to it.
        unsafe {
            self.store(probe - HEADER_SIZE + RT_ID, saved_id);
            self.heap.free_block(probe - HEADER_SIZE);
        }
        plan.kind = if field_visitor { Kind::Fields } else { Kind::Visitor };
        plan.mask = if field_visitor { mask } else { 0 };
        self.asc_set_plan(p, id, plan);
        plan
    }

    /// The live entries of the `Map` or `Set` `r` with RTTI flags `f` and `size >= 24` payload
    /// bytes, when its `entries` buffer is an object that holds them all; `None` when there is
    /// nothing to read there (no managed keys or values, or fields compiled code broke).
    ///
    /// # Safety
    /// `r` is an object with `size >= 24` readable payload bytes.
    pub(crate) unsafe fn asc_entries(&self, r: u32, f: u32) -> Option<EntryScan> {
        let key_managed = f & flags::KEY_MANAGED != 0;
        let value_managed = f & flags::VALUE_MANAGED != 0;
        let value = 1 << align_log2((f >> 6) & 0x1f);
        let (key, value, key_managed, value_managed) = if f & flags::MAP != 0 {
            (1 << align_log2((f >> 15) & 0x1f), Some(value), key_managed, value_managed)
        } else {
            // A Set's element is described by the VALUE bits and sits where a Map's key does.
            (value, None, value_managed, false)
        };
        if !key_managed && !value_managed {
            return None;
        }
        let (value_off, next, stride) = entry_layout(key, value);
        // SAFETY: words 2 and 4 lie inside the 24-byte payload (the caller's).
        let (entries, used) = unsafe { (self.load(r + 8), self.load(r + 16)) };
        if !self.is_object(entries) {
            return None;
        }
        // SAFETY: `entries` is an object: its header is in memory.
        let room = unsafe { self.readable_payload(entries) };
        let bytes = (used as u64) * stride as u64;
        if bytes > room as u64 || !entries.is_multiple_of(4) {
            return None;
        }
        Some(EntryScan {
            start: entries,
            end: entries + bytes as u32,
            stride,
            next,
            key: key_managed.then_some(0),
            value: if value_managed { Some(value_off) } else { None },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_layouts_follow_the_standard_library() {
        // Map<string, string>: key 0, value 4, taggedNext 8, 12 bytes.
        assert_eq!(entry_layout(4, Some(4)), (4, 8, 12));
        // Map<string, f64>: value aligned to 8, taggedNext 16, entry 24 (8-aligned).
        assert_eq!(entry_layout(4, Some(8)), (8, 16, 24));
        // Map<u8, string>: value at 4.
        assert_eq!(entry_layout(1, Some(4)), (4, 8, 12));
        // Map<i64, string>: value at 8, taggedNext 12, 16 bytes.
        assert_eq!(entry_layout(8, Some(4)), (8, 12, 16));
        // Set<string>: taggedNext 4, 8 bytes; Set<f64>: 16 bytes.
        assert_eq!(entry_layout(4, None), (0, 4, 8));
        assert_eq!(entry_layout(8, None), (0, 8, 16));
    }

    #[test]
    fn plans_start_from_the_flags() {
        assert_eq!(first_kind(flags::POINTERFREE), Kind::None);
        assert_eq!(first_kind(flags::ARRAY | flags::VALUE_MANAGED), Kind::Flags);
        assert_eq!(first_kind(flags::MAP), Kind::Flags);
        assert_eq!(first_kind(0), Kind::Unlearned);
        assert_eq!(container_size(flags::ARRAY), Some(16));
        assert_eq!(container_size(flags::SET), Some(24));
        assert_eq!(container_size(flags::ARRAYBUFFERVIEW), Some(12));
        assert_eq!(container_size(flags::STATICARRAY), None);
    }
}
