//! Marking: shading, the intrusive gray stack, and tracing by type (docs/ABI.md §3).
//!
//! ```text
//! ╒══════════ gcInfo of a gray object ══════════╕
//! │ next gray block (bits 4..31) │ M │ P │ 1 0   │   gray = head ──▶ block ──▶ block ──▶ 0
//! ╘═════════════════════════════════════════════╛
//! ```
//!
//! Where the references of an object are, by its type's flags:
//! - POINTERFREE: none;
//! - ARRAYBUFFERVIEW / ARRAY: `buffer` at 0, and with VALUE_MANAGED every element, i.e. the u32
//!   slots from `dataStart` (@4): `length` (@12) of them for an Array, `byteLength / 4` (@8) for
//!   a view; slots outside the buffer are never read;
//! - STATICARRAY with VALUE_MANAGED: every u32 slot of the payload;
//! - anything else: the class's declared ref-field offsets inside rtSize.
//!
//! Element runs longer than one step's budget are scanned in chunks ([`super::Partial`]).

use super::{PINS_DONE, Partial, Phase};
use crate::heap::starts::StartMap;
use crate::memory::Memory;
use crate::object::{ALIGN, Color, GcInfo, HEADER_SIZE, MM_INFO, MmInfo, RT_ID, RT_SIZE};
use crate::rtti::{self, flags};
use crate::runtime::Runtime;

/// Where an object's references are.
pub(crate) enum Refs {
    /// None.
    None,
    /// A buffer ref (0 for none) and a run of u32 slots `[start, end)`.
    Slots { buffer: u32, start: u32, end: u32 },
    /// The fields at `offsets` inside the `size`-byte payload of `r`.
    Fields { r: u32, size: u32, offsets: &'static [u32] },
    /// The words of `r`'s `size`-byte payload whose bits are set in `mask` (bit i: word i): a
    /// hosted program's class, as learned from its visitor.
    #[cfg(feature = "assemblyscript")]
    Mask { r: u32, size: u32, mask: u32 },
    /// A hosted program's `Map` or `Set` `r`: its two buffers (@0, @8) and, when they hold
    /// references, its live entries.
    #[cfg(feature = "assemblyscript")]
    Entries { r: u32, scan: Option<crate::asc::plan::EntryScan> },
}

/// What shading needs of the start map and the collector, read once per run of slots.
pub(crate) struct MarkView {
    /// The heap's start (offset 0 of the map).
    start: u32,
    /// The start map, copied.
    map: StartMap,
    /// The current white.
    white: u32,
    /// A hosted program's static objects (asc/mod.rs): refs in `[lo, lo + len)`, 16-aligned.
    #[cfg(feature = "assemblyscript")]
    static_lo: u32,
    #[cfg(feature = "assemblyscript")]
    static_len: u32,
}

impl MarkView {
    /// Address of start-map word `w` (granules `32 w ..`).
    #[inline(always)]
    pub(crate) fn map_word(&self, w: u32) -> u32 {
        self.map.words + 4 * w
    }

    /// The block address of granule `g` (its start-map bit).
    #[inline(always)]
    pub(crate) fn granule(&self, g: u32) -> u32 {
        self.start + ALIGN * g
    }
}

/// Work units charged per object popped or block visited.
pub(crate) const OBJECT_WORK: u32 = 16;

impl<M: Memory> Runtime<M> {
    /// Shades `r`: a white managed heap object becomes gray (pushed on the gray stack). Null,
    /// static objects and anything that is not exactly a managed heap object (junk in a slot, a
    /// stale ref, an address inside a payload) are left alone: the collector never writes
    /// through them (docs/ABI.md §6). Time: O(1).
    #[inline]
    pub(crate) fn shade(&mut self, r: u32) {
        let view = self.mark_view();
        self.shade_in(&view, r);
    }

    /// [`Runtime::shade`] with the start map's fields and the current white read once by the
    /// caller for a whole run of slots (the runtime's own fields live in linear memory, so the
    /// compiler reloads them after every store the marking does).
    #[inline(always)]
    pub(crate) fn shade_in(&mut self, view: &MarkView, r: u32) {
        let block = r.wrapping_sub(HEADER_SIZE);
        let offset = block.wrapping_sub(view.start);
        if !offset.is_multiple_of(16) || !view.map.is_set(&self.heap.mem, offset) {
            // A static object of a hosted program is traced when reached (once per cycle).
            #[cfg(feature = "assemblyscript")]
            if r.wrapping_sub(view.static_lo) < view.static_len && r.is_multiple_of(16) {
                self.asc_shade(r);
            }
            return;
        }
        // SAFETY: the start map says a used heap block starts at `block`.
        unsafe { self.shade_block(view, block, self.gc_info(block)) };
    }

    /// Shades the used heap block `block` whose gcInfo is `gc`: gray if it is of the current
    /// white. Time: O(1).
    ///
    /// # Safety
    /// `block` is a used heap block (one the start map has) and `gc` its gcInfo.
    #[inline(always)]
    pub(crate) unsafe fn shade_block(&mut self, view: &MarkView, block: u32, gc: GcInfo) {
        if gc.is_white(view.white) {
            // The block's own size (mmInfo), not one derived from rtSize, which compiled code
            // could have overwritten.
            // SAFETY: the caller's; a white block is a managed one (unmanaged blocks have no
            // color).
            unsafe {
                self.gc.marked_bytes += MmInfo(self.load_at(block, MM_INFO)).size() as u64;
                self.push_gray(block, gc);
            }
        }
    }

    /// The fields [`Runtime::shade_in`] needs, read once.
    #[inline(always)]
    pub(crate) fn mark_view(&self) -> MarkView {
        #[cfg(feature = "assemblyscript")]
        let (static_lo, static_len) = match self.asc {
            Some(p) => {
                let lo = p.static_start + HEADER_SIZE;
                (lo, p.static_end.saturating_sub(lo))
            }
            None => (0, 0),
        };
        MarkView {
            start: self.heap.start(),
            map: self.heap.start_map(),
            white: self.gc.white,
            #[cfg(feature = "assemblyscript")]
            static_lo,
            #[cfg(feature = "assemblyscript")]
            static_len,
        }
    }

    /// Pushes a non-gray managed `block` with gcInfo `gc` on the gray stack.
    ///
    /// # Safety
    /// `block` is a live managed heap block.
    #[inline(always)]
    unsafe fn push_gray(&mut self, block: u32, gc: GcInfo) {
        // SAFETY: the caller's.
        unsafe { self.set_gc_info(block, gc.grayed(self.gc.gray)) };
        self.gc.gray = block;
        #[cfg(feature = "rtrace")]
        crate::rtrace::visit(block);
    }

    /// Makes a black object gray again so it is rescanned (the `expect_multiple` barrier).
    ///
    /// # Safety
    /// `block` is a live managed heap block.
    #[inline]
    pub(crate) unsafe fn regray(&mut self, block: u32) {
        // SAFETY: the caller's.
        unsafe {
            let gc = self.gc_info(block);
            if gc.is_black() {
                self.push_gray(block, gc);
            }
        }
    }

    /// Scans gray objects until the budget is spent. When the gray stack runs dry, rescans the
    /// shadow stack; if that finds nothing, marking is over.
    pub(crate) fn mark_step(&mut self, budget: u32) {
        let mut work = 0u32;
        // The map and the white stay put during a step (the map moves only when an allocation
        // grows the heap), so they are read once.
        let view = self.mark_view();
        // Whether objects were traced since the ephemeron pass last looked (gc/ephemeron.rs).
        let mut traced = false;
        while work < budget {
            if let Some(p) = self.gc.partial {
                work += self.scan_slots(&view, p, budget - work);
                traced = true;
                continue;
            }
            let block = self.gc.gray;
            if block == 0 {
                // Pins are roots like the others; they are shaded when the gray stack first runs
                // dry, a step's budget at a time (a cycle's start does not pause for them).
                if self.gc.pin_cursor != PINS_DONE {
                    work += self.shade_pins_step(budget - work);
                    continue;
                }
                if core::mem::take(&mut traced) && self.eph.capacity != 0 {
                    self.eph_traced();
                }
                if self.eph_pending() {
                    work += self.eph_mark_step(budget - work);
                    continue;
                }
                self.shade_shadow_stack();
                #[cfg(feature = "assemblyscript")]
                self.asc_roots();
                if self.gc.gray == 0 {
                    self.finish_mark();
                    return;
                }
                continue;
            }
            // SAFETY: the gray stack holds live managed heap blocks only.
            unsafe {
                let gc = self.gc_info(block);
                self.gc.gray = gc.gray_link();
                self.set_gc_info(block, gc.recolored(Color::Black as u32));
                work += OBJECT_WORK + self.trace(&view, block + HEADER_SIZE);
            }
            traced = true;
        }
        if traced && self.eph.capacity != 0 {
            self.eph_traced();
        }
    }

    /// Where the references of the object `r` (heap or static) are: every address in the
    /// answer is a word inside `r`'s payload or inside the payload of the object its buffer
    /// field names. Time: O(1).
    ///
    /// # Safety
    /// `r` is an object: a live managed heap object or a static object (its header and the
    /// payload its block size spans lie in memory).
    #[inline(always)]
    pub(crate) unsafe fn refs_of(&self, r: u32) -> Refs {
        // SAFETY: `r`'s header is in memory (the caller's).
        let (id, info, rt_size) = unsafe {
            (
                self.load(r - HEADER_SIZE + RT_ID),
                MmInfo(self.load(r - HEADER_SIZE + MM_INFO)),
                self.load(r - HEADER_SIZE + RT_SIZE),
            )
        };
        // Never past the block's own extent, whatever compiled code wrote into rtSize.
        let size = rt_size.min(info.payload_room());
        let Some(desc) = rtti::type_desc(id) else {
            return Refs::None;
        };
        // Nor past the last region's sentinel, whatever compiled code wrote into mmInfo as well.
        // `r` is at or below the sentinel, whose 16 bytes are memory: a plain class's fields
        // need the bound only if a layout puts one past the first 16 bytes (a constant test).
        let f = desc.flags;
        let containers =
            flags::POINTERFREE | flags::ARRAYBUFFERVIEW | flags::ARRAY | flags::STATICARRAY;
        if f & containers == 0 {
            let size =
                if rtti::MAX_FIELD_END > HEADER_SIZE { self.within_heap(r, size) } else { size };
            return Refs::Fields { r, size, offsets: desc.refs };
        }
        // SAFETY: the caller's; `size` is inside the block and the heap's last region.
        unsafe { self.refs_by_flags(r, f, self.within_heap(r, size)) }
    }

    /// `size` payload bytes of the object `r`, but never past the last region's sentinel: below
    /// it is memory, whatever compiled code wrote into `r`'s header. Time: O(1).
    #[inline(always)]
    pub(crate) fn within_heap(&self, r: u32, size: u32) -> u32 {
        size.min(self.heap.tail().saturating_sub(r))
    }

    /// The payload bytes of the object `r` a scan may read: its rtSize, but never past its
    /// block (a heap object, or a static object of this build, whose header `is_static`
    /// checked) or past a hosted program's static data, whatever compiled code wrote into
    /// rtSize; and never past the last region's sentinel, whatever it wrote into mmInfo as
    /// well (below the sentinel is memory). Time: O(1).
    ///
    /// # Safety
    /// `r` is an object ([`Runtime::is_object`]): its header lies in memory.
    #[inline(always)]
    pub(crate) unsafe fn readable_payload(&self, r: u32) -> u32 {
        #[cfg(feature = "assemblyscript")]
        if let Some(p) = self.asc {
            // SAFETY: the caller's.
            return unsafe { self.asc_payload(&p, r) };
        }
        // SAFETY: the caller's.
        let (info, rt_size) = unsafe {
            (MmInfo(self.load(r - HEADER_SIZE + MM_INFO)), self.load(r - HEADER_SIZE + RT_SIZE))
        };
        self.within_heap(r, rt_size.min(info.payload_room()))
    }

    /// [`Runtime::refs_of`] for a type whose flags `f` name a pointer-free type, an Array, a view
    /// or a `StaticArray` (a hosted program's `Map` and `Set`, asc/plan.rs, too); `size` payload
    /// bytes of `r` are readable.
    ///
    /// # Safety
    /// `r` is an object whose first `size` payload bytes lie in memory.
    #[inline(always)]
    pub(crate) unsafe fn refs_by_flags(&self, r: u32, f: u32, size: u32) -> Refs {
        if f & flags::POINTERFREE != 0 {
            return Refs::None;
        }
        #[cfg(feature = "assemblyscript")]
        if f & (flags::MAP | flags::SET) != 0 {
            if size < 24 {
                return Refs::None;
            }
            // SAFETY: `size >= 24` (the caller's).
            return Refs::Entries { r, scan: unsafe { self.asc_entries(r, f) } };
        }
        let managed = f & flags::VALUE_MANAGED != 0 && rtti::value_align_log2(f) == 2;
        if f & (flags::ARRAYBUFFERVIEW | flags::ARRAY) != 0 {
            if size < 12 {
                return Refs::None;
            }
            // SAFETY: `size >= 12`: the first three words lie inside the payload.
            let buffer = unsafe { self.load(r) };
            let no_slots = Refs::Slots { buffer, start: 0, end: 0 };
            // The buffer field is compiled code's to write: slots are read only inside a real
            // object's payload.
            if !managed || !self.is_object(buffer) {
                return no_slots;
            }
            // SAFETY: words 1 and 2 (and 3 when `size >= 16`) lie inside the payload; `buffer`
            // is an object (`is_object`), so its header is in memory.
            let (data, bytes, buf_size) = unsafe {
                let bytes = if f & flags::ARRAY != 0 && size >= 16 {
                    self.load_at(r, 12).saturating_mul(4)
                } else {
                    self.load_at(r, 8)
                };
                (self.load_at(r, 4), bytes, self.readable_payload(buffer))
            };
            // Only slots inside the buffer's payload are read.
            let buf_end = buffer as u64 + buf_size as u64;
            if data < buffer || !data.is_multiple_of(4) || data as u64 + bytes as u64 > buf_end {
                return no_slots;
            }
            return Refs::Slots { buffer, start: data, end: data + bytes };
        }
        if f & flags::STATICARRAY != 0 && managed {
            return Refs::Slots { buffer: 0, start: r, end: r + (size & !3) };
        }
        Refs::None
    }

    /// Shades the children of the object `r` (heap or static), or sets up a chunked scan of its
    /// element slots. Returns the work done.
    ///
    /// # Safety
    /// `r` is an object: a live managed heap object or a static object (its header and the
    /// payload its block size spans lie in memory).
    #[inline(always)]
    unsafe fn trace(&mut self, view: &MarkView, r: u32) -> u32 {
        #[cfg(feature = "assemblyscript")]
        let refs = match self.asc {
            // SAFETY: the caller's.
            Some(p) => match unsafe { self.asc_refs(&p, r) } {
                Some(refs) => refs,
                None => return self.asc_trace(p, r),
            },
            // SAFETY: the caller's.
            None => unsafe { self.refs_of(r) },
        };
        // SAFETY: the caller's.
        #[cfg(not(feature = "assemblyscript"))]
        let refs = unsafe { self.refs_of(r) };
        match refs {
            Refs::Slots { buffer, start, end } => {
                self.shade_in(view, buffer);
                if start < end {
                    self.gc.partial = Some(Partial {
                        block: r - HEADER_SIZE,
                        next: start,
                        end,
                        #[cfg(feature = "assemblyscript")]
                        entries: None,
                    });
                }
                4
            }
            // A Map's or Set's entries are scanned in chunks too.
            #[cfg(feature = "assemblyscript")]
            Refs::Entries { r, scan } => {
                // SAFETY: a Map's or Set's payload holds at least 24 bytes (`refs_by_flags`).
                let (buckets, entries) = unsafe { (self.load(r), self.load_at(r, 8)) };
                self.shade_in(view, buckets);
                self.shade_in(view, entries);
                if let Some(e) = scan.filter(|e| e.start < e.end) {
                    let (next, end) = (e.start, e.end);
                    let block = r - HEADER_SIZE;
                    self.gc.partial = Some(Partial { block, next, end, entries: Some(e) });
                }
                8
            }
            other => {
                let mut work = 0;
                // SAFETY: `other` came from `refs_of` / `asc_refs` for the object `r`.
                unsafe {
                    self.each_ref(other, |rt, child| {
                        rt.shade_in(view, child);
                        work += 4;
                    })
                };
                work
            }
        }
    }

    /// Calls `f` with every reference `refs` names (the slots of a run all at once). Time:
    /// O(refs).
    ///
    /// # Safety
    /// `refs` came from [`Runtime::refs_of`] (or `asc_refs`) for an object that is still live and
    /// unchanged since; `f` does not free it.
    #[inline(always)]
    pub(crate) unsafe fn each_ref(&mut self, refs: Refs, mut f: impl FnMut(&mut Self, u32)) {
        match refs {
            Refs::None => {}
            Refs::Slots { buffer, start, end } => {
                f(self, buffer);
                let mut at = start;
                while at < end {
                    // SAFETY: a slot of the run found inside a payload (the caller's).
                    let child = unsafe { self.load(at) };
                    f(self, child);
                    at += 4;
                }
            }
            Refs::Fields { r, size, offsets } => {
                for &off in offsets {
                    if off + 4 <= size {
                        // SAFETY: `off + 4 <= size`: a field inside the payload.
                        let child = unsafe { self.load(r + off) };
                        f(self, child);
                    }
                }
            }
            #[cfg(feature = "assemblyscript")]
            Refs::Mask { r, size, mask } => {
                let mut bits = mask;
                while bits != 0 {
                    let off = 4 * bits.trailing_zeros();
                    bits &= bits - 1;
                    if off + 4 <= size {
                        // SAFETY: `off + 4 <= size`: a word inside the payload.
                        let child = unsafe { self.load(r + off) };
                        f(self, child);
                    }
                }
            }
            #[cfg(feature = "assemblyscript")]
            Refs::Entries { r, scan } => {
                // SAFETY: a Map's or Set's payload holds at least 24 bytes (`refs_by_flags`).
                let (buckets, entries) = unsafe { (self.load(r), self.load_at(r, 8)) };
                f(self, buckets);
                f(self, entries);
                let Some(s) = scan else { return };
                let mut at = s.start;
                while at < s.end {
                    // SAFETY: a whole entry inside the entries buffer's payload (`asc_entries`).
                    if unsafe { self.load(at + s.next) } & 1 == 0 {
                        if let Some(k) = s.key {
                            // SAFETY: as above.
                            let child = unsafe { self.load(at + k) };
                            f(self, child);
                        }
                        if let Some(v) = s.value {
                            // SAFETY: as above.
                            let child = unsafe { self.load(at + v) };
                            f(self, child);
                        }
                    }
                    at += s.stride;
                }
            }
        }
    }

    /// Calls `f` with every reference the object `r` holds (for the checker). Time: O(refs).
    ///
    /// # Safety
    /// `r` is an object: a live managed heap object or a static object (its header and the
    /// payload its block size spans lie in memory).
    #[allow(unused_mut)] // mutable only when a hosted program's visitor takes it
    pub(crate) unsafe fn for_each_child(&self, r: u32, mut f: impl FnMut(u32)) {
        #[cfg(feature = "assemblyscript")]
        if let Some(p) = self.asc {
            (p.members)(r, &mut f);
            return;
        }
        // SAFETY: the caller's.
        unsafe { self.refs_each(self.refs_of(r), f) }
    }

    /// [`Runtime::each_ref`] for readers (the checkers). Time: O(refs).
    ///
    /// # Safety
    /// As for [`Runtime::each_ref`].
    pub(crate) unsafe fn refs_each(&self, refs: Refs, mut f: impl FnMut(u32)) {
        let word = |at: u32| {
            // SAFETY: a slot, field or entry `refs` found inside a payload (the caller's).
            unsafe { self.load(at) }
        };
        match refs {
            Refs::None => {}
            Refs::Slots { buffer, start, end } => {
                f(buffer);
                (start..end).step_by(4).for_each(|at| f(word(at)));
            }
            Refs::Fields { r, size, offsets } => {
                offsets.iter().filter(|&&o| o + 4 <= size).for_each(|&o| f(word(r + o)));
            }
            #[cfg(feature = "assemblyscript")]
            Refs::Mask { r, size, mask } => {
                let words = (0..32u32).filter(|i| mask & (1 << i) != 0 && 4 * i + 4 <= size);
                words.for_each(|i| f(word(r + 4 * i)));
            }
            #[cfg(feature = "assemblyscript")]
            Refs::Entries { r, scan } => {
                f(word(r));
                f(word(r + 8));
                let Some(s) = scan else { return };
                for at in (s.start..s.end).step_by(s.stride as usize) {
                    if word(at + s.next) & 1 == 0 {
                        [s.key, s.value].into_iter().flatten().for_each(|o| f(word(at + o)));
                    }
                }
            }
        }
    }

    /// Scans the slots of a chunked run, at most `budget` bytes of them. Returns the work done.
    fn scan_slots(&mut self, view: &MarkView, p: Partial, budget: u32) -> u32 {
        let budget = budget.max(64);
        #[cfg(feature = "assemblyscript")]
        if let Some(e) = p.entries {
            return self.scan_entries(view, p, e, budget);
        }
        // Never past the run's end: a chunk is at most `budget` bytes of slots.
        let stop = if p.end - p.next <= budget { p.end } else { p.next + (budget & !3) };
        let mut at = p.next;
        while at < stop {
            // SAFETY: `[p.next, p.end)` is a run of slots `refs_of` found inside a payload,
            // kept live while it is scanned (a collection does not free a gray or black block).
            let child = unsafe { self.load(at) };
            self.shade_in(view, child);
            at += 4;
        }
        self.gc.partial = if stop >= p.end { None } else { Some(Partial { next: stop, ..p }) };
        (stop - p.next).max(4)
    }

    /// [`Runtime::scan_slots`] for a run of `Map` or `Set` entries: at least one entry, about
    /// `budget` bytes of them. Returns the work done.
    #[cfg(feature = "assemblyscript")]
    fn scan_entries(
        &mut self,
        view: &MarkView,
        p: Partial,
        e: crate::asc::plan::EntryScan,
        budget: u32,
    ) -> u32 {
        let count = (budget / e.stride).max(1);
        let stop =
            if (p.end - p.next) / e.stride <= count { p.end } else { p.next + count * e.stride };
        let mut at = p.next;
        while at < stop {
            // SAFETY: `[p.next, p.end)` is a run of whole entries `asc_entries` found inside the
            // entries buffer's payload (clamped when it shrinks), kept live while scanned.
            unsafe {
                if self.load(at + e.next) & 1 == 0 {
                    if let Some(k) = e.key {
                        self.shade_in(view, self.load(at + k));
                    }
                    if let Some(v) = e.value {
                        self.shade_in(view, self.load(at + v));
                    }
                }
            }
            at += e.stride;
        }
        self.gc.partial = if stop >= p.end { None } else { Some(Partial { next: stop, ..p }) };
        (stop - p.next).max(4)
    }

    /// Scans the children of an object right away (for roots that are never gray: statics).
    ///
    /// # Safety
    /// `r` is an object: a live managed heap object or a static object (its header and the
    /// payload its block size spans lie in memory).
    pub(crate) unsafe fn trace_now(&mut self, r: u32) {
        debug_assert!(self.gc.partial.is_none());
        let view = self.mark_view();
        // SAFETY: the caller's.
        unsafe { self.trace(&view, r) };
        while let Some(p) = self.gc.partial {
            self.scan_slots(&view, p, u32::MAX);
        }
    }

    /// `__visit`: shades `r` if a cycle is marking.
    pub fn visit(&mut self, r: u32) -> Result<(), crate::Error> {
        if r == 0 {
            return Ok(());
        }
        self.validate_object(r)?;
        if self.gc.phase == Phase::Mark {
            self.shade(r);
        }
        Ok(())
    }
}

#[cfg(all(test, any(not(target_arch = "wasm32"), feature = "std")))]
mod tests {
    use super::*;
    use crate::host::HostConfig;
    use crate::object::block_size;
    use crate::rtti::ID_ARRAYBUFFER;

    /// A scan reads an object's rtSize bytes, but never past its block when compiled code wrote
    /// a larger rtSize.
    #[test]
    fn the_readable_payload_stops_at_the_block() {
        let mut rt = Runtime::host(HostConfig::default());
        let r = rt.new_object(40, ID_ARRAYBUFFER).unwrap();
        // SAFETY: `r` is a live managed heap object.
        assert_eq!(unsafe { rt.readable_payload(r) }, 40);
        for forged in [48, 1 << 20, u32::MAX] {
            // SAFETY: the rtSize word of `r`'s header.
            unsafe { rt.store(r - HEADER_SIZE + RT_SIZE, forged) };
            // SAFETY: as above.
            assert_eq!(unsafe { rt.readable_payload(r) }, block_size(40) - HEADER_SIZE);
        }
    }
}
