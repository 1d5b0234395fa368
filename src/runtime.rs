//! The runtime: the heap, the collector and the roots behind one value, with every argument
//! check of the exports (docs/ABI.md §6) in front of the operations that change anything.

use crate::error::Error;
use crate::gc::{Collector, EphemeronTable, Phase, PinTable, WeakTable};
use crate::heap::Heap;
use crate::memory::Memory;
use crate::object::{
    GC_INFO, GcInfo, HEADER_SIZE, Kind, MAX_PAYLOAD, MM_INFO, MmInfo, NO_TYPE, RT_ID, RT_SIZE,
    STATIC_GC_INFO, block_size,
};
use crate::rtti;

/// Where the roots outside the heap are, and the static memory the runtime trusts. Every
/// address here comes from the build (the linker or the host layout), never from memory that
/// compiled code can write.
#[derive(Debug, Clone, Copy, Default)]
pub struct Roots {
    /// Address of the shadow stack's `{ top, base, limit }` header; 0 for none.
    pub shadow_stack: u32,
    /// The first slot of the shadow stack as laid out at build time: the header's `base` must
    /// equal it (docs/ABI.md §6).
    pub shadow_base: u32,
    /// One past the last slot of the shadow stack as laid out at build time: the header's
    /// `limit` must equal it.
    pub shadow_limit: u32,
    /// Start of the native (Rust or C) stack region below static data, the one static region
    /// where `__gc_stats` may write (docs/ABI.md §5); `stack_low == stack_high` for none.
    pub stack_low: u32,
    /// End of the native stack region (exclusive).
    pub stack_high: u32,
    /// Address of an array of `static_count` u32 refs: the static objects that can hold
    /// references, scanned as roots.
    pub statics: u32,
    /// Number of entries at `statics`.
    pub static_count: u32,
    /// Address of an array of `object_count` u32 refs in ascending order: every static object.
    /// A ref below the heap is a static object only if it is listed here (exact validation,
    /// docs/ABI.md §6).
    pub objects: u32,
    /// Number of entries at `objects`.
    pub object_count: u32,
    /// Address of a u32 the collector keeps at 1 while marking and 0 otherwise
    /// (`__gc_marking`, docs/ABI.md §9: compiled code's inline store barrier reads it and calls
    /// `__link` only while it is 1); 0 for none.
    pub marking: u32,
}

/// The figures of `__gc_stats`, in its order (docs/ABI.md §5).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Bytes from the heap start to the end of memory.
    pub heap_bytes: u64,
    /// Bytes in used blocks, headers included.
    pub used_bytes: u64,
    /// Bytes in free blocks.
    pub free_bytes: u64,
    /// The largest payload an allocation gets without growing memory.
    pub largest_free: u64,
    /// Managed heap objects not yet freed.
    pub live_objects: u64,
    /// Completed collections.
    pub collections: u64,
    /// GC steps done.
    pub steps: u64,
    /// Payload bytes requested from `__new`, `__renew` and `__alloc` since start.
    pub total_allocated: u64,
}

impl Stats {
    /// The eight words in ABI order.
    pub fn words(&self) -> [u64; 8] {
        [
            self.heap_bytes,
            self.used_bytes,
            self.free_bytes,
            self.largest_free,
            self.live_objects,
            self.collections,
            self.steps,
            self.total_allocated,
        ]
    }
}

/// A managed-memory runtime over a linear memory.
#[derive(Debug)]
pub struct Runtime<M: Memory> {
    /// The TLSF heap.
    pub(crate) heap: Heap<M>,
    /// Collector state.
    pub(crate) gc: Collector,
    /// Counted pins.
    pub(crate) pins: PinTable,
    /// Weak references and finalizer registrations.
    pub(crate) weak: WeakTable,
    /// Weak-map entries.
    pub(crate) eph: EphemeronTable,
    /// Roots outside the heap.
    pub(crate) roots: Roots,
    /// Managed heap objects allocated and not yet freed.
    pub(crate) live_objects: u64,
    /// Payload bytes requested so far.
    pub(crate) total_allocated: u64,
    /// Steps after which the full checker still runs (feature `check-steps`; see
    /// [`Runtime::set_step_checks`]).
    #[cfg(feature = "check-steps")]
    pub(crate) step_checks: u64,
    /// Step budget since the last check after a step, times the ratio (feature `check-steps`).
    #[cfg(feature = "check-steps")]
    pub(crate) step_check_credit: u64,
    /// The hosted AssemblyScript program (docs/ABI.md §8), once attached.
    #[cfg(feature = "assemblyscript")]
    pub(crate) asc: Option<crate::asc::AscProgram>,
}

impl<M: Memory> Runtime<M> {
    /// A runtime whose heap starts at `heap_base` in `mem` and may grow the memory to
    /// `max_pages`. Time: O(1).
    ///
    /// # Safety
    /// `roots` describes static memory as the build laid it out (the runtime reads and writes
    /// there without further bounds checks): every address and array in it (the shadow-stack
    /// header and `[shadow_base, shadow_limit)`, 4-aligned; the native stack region; the
    /// `statics` and `objects` arrays) lies inside `mem` below `heap_base`; every `statics`
    /// entry is 0 or the ref of a static object whose header (with its block size) and payload
    /// lie in memory below `heap_base`; the native stack region, where `__gc_stats` may write, overlaps
    /// none of the rest nor a static object; `marking`, when not 0, is a 4-aligned word below
    /// `heap_base` that overlaps none of the rest; and nothing but the runtime writes the arrays,
    /// the marking word and the static objects' headers while it lives.
    pub unsafe fn new(mem: M, heap_base: u32, max_pages: u32, roots: Roots) -> Result<Self, Error> {
        let heap = Heap::new(mem, heap_base, max_pages)?;
        #[cfg(feature = "rtrace")] // rtrace hook
        crate::rtrace::init(heap.start());
        Ok(Runtime {
            heap,
            gc: Collector::new(),
            pins: PinTable::new(),
            weak: WeakTable::new(),
            eph: EphemeronTable::new(),
            roots,
            live_objects: 0,
            total_allocated: 0,
            #[cfg(feature = "check-steps")]
            step_checks: u64::MAX,
            #[cfg(feature = "check-steps")]
            step_check_credit: 0,
            #[cfg(feature = "assemblyscript")]
            asc: None,
        })
    }

    /// The linear memory.
    pub fn memory(&self) -> &M {
        self.heap.memory()
    }

    /// The heap.
    pub fn heap(&self) -> &Heap<M> {
        &self.heap
    }

    /// The collector's phase (`__gc_phase`), without doing any work. Time: O(1).
    pub fn phase(&self) -> Phase {
        self.gc.phase
    }

    /// Reads the u32 at `addr`. Unchecked in release builds (the marking and allocation paths
    /// read through it).
    ///
    /// # Safety
    /// `addr` is 4-aligned and `addr + 4` at most the memory's size: in practice a header word
    /// or field of a validated block, a slot of the pin table, or an address of [`Roots`].
    #[inline(always)]
    pub(crate) unsafe fn load(&self, addr: u32) -> u32 {
        debug_assert!(addr.is_multiple_of(4) && addr <= self.heap.mem.size() - 4);
        // SAFETY: the caller keeps `addr` aligned and in bounds.
        unsafe { self.heap.mem.load(addr) }
    }

    /// Writes the u32 at `addr`. Unchecked in release builds.
    ///
    /// # Safety
    /// As for [`Runtime::load`], and the word is the runtime's to write: a header word or field
    /// of a live block the caller is changing, the pin table, or a shadow-stack word.
    #[inline(always)]
    pub(crate) unsafe fn store(&self, addr: u32, value: u32) {
        debug_assert!(addr.is_multiple_of(4) && addr <= self.heap.mem.size() - 4);
        // SAFETY: the caller keeps `addr` aligned, in bounds and ours to write.
        unsafe { self.heap.mem.store(addr, value) }
    }

    /// Reads the u32 at `base + offset` ([`Memory::load_at`]: a constant `offset` costs nothing
    /// on wasm32). Unchecked in release builds.
    ///
    /// # Safety
    /// As for [`Runtime::load`] at `base + offset`.
    #[inline(always)]
    pub(crate) unsafe fn load_at(&self, base: u32, offset: u32) -> u32 {
        debug_assert!(base.checked_add(offset).is_some_and(|a| a <= self.heap.mem.size() - 4));
        // SAFETY: the caller keeps `base + offset` aligned and in bounds.
        unsafe { self.heap.mem.load_at(base, offset) }
    }

    /// Writes the u32 at `base + offset`. Unchecked in release builds.
    ///
    /// # Safety
    /// As for [`Runtime::store`] at `base + offset`.
    #[inline(always)]
    pub(crate) unsafe fn store_at(&self, base: u32, offset: u32, value: u32) {
        debug_assert!(base.checked_add(offset).is_some_and(|a| a <= self.heap.mem.size() - 4));
        // SAFETY: the caller keeps `base + offset` aligned, in bounds and ours to write.
        unsafe { self.heap.mem.store_at(base, offset, value) }
    }

    /// The gcInfo word of the used block `block`.
    ///
    /// # Safety
    /// `block` is the start of a used block (its header lies in memory).
    #[inline(always)]
    pub(crate) unsafe fn gc_info(&self, block: u32) -> GcInfo {
        // SAFETY: the caller guarantees the header is in memory.
        GcInfo(unsafe { self.load_at(block, GC_INFO) })
    }

    /// Writes the gcInfo word of the used block `block`.
    ///
    /// # Safety
    /// `block` is the start of a live managed block (heap or static) whose color or pin bit the
    /// caller is changing.
    #[inline(always)]
    pub(crate) unsafe fn set_gc_info(&self, block: u32, info: GcInfo) {
        // SAFETY: the caller guarantees the header is a live block's.
        unsafe { self.store_at(block, GC_INFO, info.0) }
    }

    // ----- unmanaged blocks -----

    /// `__alloc`: an unmanaged block of `size` bytes. Time: O(1) plus growth.
    pub fn alloc(&mut self, size: u32) -> Result<u32, Error> {
        let ptr = match self.heap.alloc_object(size, Kind::Unmanaged as u32, NO_TYPE) {
            Ok(p) => p,
            Err(e) => self.alloc_after_oom(size, None, &[], e).get()?,
        };
        self.total_allocated += size as u64;
        #[cfg(feature = "rtrace")]
        crate::rtrace::alloc(ptr - HEADER_SIZE, size);
        Ok(ptr)
    }

    /// `__realloc`: resizes an unmanaged block, in place when possible. Time: O(1) plus the copy.
    pub fn realloc(&mut self, ptr: u32, size: u32) -> Result<u32, Error> {
        self.validate_unmanaged(ptr)?;
        if size > MAX_PAYLOAD {
            return Err(Error::SizeTooLarge);
        }
        // SAFETY: `ptr` was validated; a collection never frees an unmanaged block.
        unsafe { self.resize_collecting(ptr, size, false, &[]) }
    }

    /// [`Heap::resize_object`] for `__realloc` and `__renew`: out of memory is final only after
    /// a full collection that keeps `keep`. Time: O(size), plus that collection.
    ///
    /// # Safety
    /// `ptr` passed validation and stays a live block through a collection keeping `keep`;
    /// `size <= MAX_PAYLOAD`.
    #[inline(always)]
    pub(crate) unsafe fn resize_collecting(
        &mut self,
        ptr: u32,
        size: u32,
        keep_old: bool,
        keep: &[u32],
    ) -> Result<u32, Error> {
        // SAFETY: the caller's.
        if let Some(new) = unsafe { self.heap.resize_object(ptr, size, keep_old) } {
            return Ok(new.get());
        }
        if !self.heap.could_ever_fit(size) {
            return Err(Error::OutOfMemory);
        }
        self.collect_keeping(keep)?;
        // SAFETY: the caller's: `ptr` survived the collection.
        let new = unsafe { self.heap.resize_object(ptr, size, keep_old) };
        Ok(new.ok_or(Error::OutOfMemory)?.get())
    }

    /// `__free`: frees an unmanaged block; `free(0)` does nothing. Time: O(1).
    pub fn free(&mut self, ptr: u32) -> Result<(), Error> {
        if ptr == 0 {
            return Ok(());
        }
        let block = self.validate_unmanaged(ptr)?;
        #[cfg(feature = "rtrace")] // rtrace hook
        crate::rtrace::free(block);
        // SAFETY: validated as a live unmanaged block.
        unsafe { self.heap.free_block(block) };
        Ok(())
    }

    /// Checks that `ptr` is a live `__alloc` block; returns its block. Time: O(1).
    #[inline(always)]
    pub fn validate_unmanaged(&self, ptr: u32) -> Result<u32, Error> {
        if ptr != 0 && ptr < self.heap.start() + HEADER_SIZE && self.is_static(ptr) {
            return Err(Error::ManagedBlock);
        }
        let block = self.heap.validate(ptr)?;
        // SAFETY: `block` was validated: a used heap block.
        let gc = unsafe { self.gc_info(block) };
        if gc.is_managed() {
            return Err(Error::ManagedBlock);
        }
        if gc.kind() != Some(Kind::Unmanaged) {
            return Err(Error::NotABlock);
        }
        Ok(block)
    }

    // ----- validation of managed refs -----

    /// Checks that `ptr` is a live managed heap object of a known type; returns its block.
    /// Time: O(1).
    #[inline]
    pub fn validate_managed(&self, ptr: u32) -> Result<u32, Error> {
        if ptr != 0 && ptr < self.heap.start() + HEADER_SIZE && self.is_static(ptr) {
            return Err(Error::OutsideHeap);
        }
        let block = self.heap.validate(ptr)?;
        // SAFETY: `block` was validated: a used heap block, whose header is in memory.
        let (gc, id) = unsafe { (self.gc_info(block), self.load_at(block, RT_ID)) };
        if !gc.is_managed() {
            return Err(Error::UnmanagedBlock);
        }
        if !self.known_type(id) {
            return Err(Error::UnknownType);
        }
        Ok(block)
    }

    /// Whether `id` is a type id of this runtime (or of the hosted program). Time: O(1).
    #[inline]
    pub(crate) fn known_type(&self, id: u32) -> bool {
        #[cfg(feature = "assemblyscript")]
        if let Some(known) = self.asc_known_type(id) {
            return known;
        }
        rtti::type_desc(id).is_some()
    }

    /// Checks that `ptr` is a managed object, on the heap or static; returns its block.
    /// Time: O(1).
    #[inline]
    pub fn validate_object(&self, ptr: u32) -> Result<u32, Error> {
        if ptr != 0 && ptr < self.heap.start() + HEADER_SIZE && self.is_static(ptr) {
            return Ok(ptr - HEADER_SIZE);
        }
        self.validate_managed(ptr)
    }

    /// [`Runtime::validate_object`] for the exports called once per object from JavaScript
    /// (`__link`, `__pin`, `__unpin`): a managed heap object passes the same checks inline,
    /// with no error value to build or return through memory; a static object and every error
    /// go to the out-of-line call, which says which check failed. Accepts what
    /// `validate_object` accepts, and also a managed heap object whose header's size compiled
    /// code overwrote ([`Heap::block_start`]: these exports never read the block's extent; the
    /// exports that do refuse it). Time: O(1).
    ///
    /// [`Heap::block_start`]: crate::heap::Heap::block_start
    #[inline(always)]
    pub(crate) fn validate_object_hot(&self, ptr: u32) -> Result<u32, Error> {
        match self.heap_object(ptr) {
            Some(block) => Ok(block),
            None => {
                self.validate_object_cold(ptr)?;
                // Every object's block, static or on the heap, is its ref less the header.
                Ok(ptr - HEADER_SIZE)
            }
        }
    }

    /// The block of `ptr` if it is a managed heap object of a known type: `validate_managed`'s
    /// checks of the ref and its kind (not of the block's size), with the errors folded into
    /// one `None`.
    #[inline(always)]
    fn heap_object(&self, ptr: u32) -> Option<u32> {
        // `Heap::block_start` refuses everything below the heap, static objects included.
        let block = self.heap.block_start(ptr)?;
        // SAFETY: a used heap block starts at `block`: its header is in memory.
        let (gc, id) = unsafe { (self.gc_info(block), self.load_at(block, RT_ID)) };
        (gc.is_managed() && self.known_type(id)).then_some(block)
    }

    /// [`Runtime::validate_object`] out of line, for the cold cases of `validate_object_hot`.
    /// Returns no block, so that the result fits a register: a caller that reserved a frame on
    /// the native stack for it would pay for that on every call, hot or not.
    #[inline(never)]
    #[cold]
    fn validate_object_cold(&self, ptr: u32) -> Result<(), Error> {
        self.validate_object(ptr).map(|_| ())
    }

    /// Whether `r` is exactly a managed object: a static object or a managed heap block.
    /// Time: O(1).
    #[inline]
    pub fn is_object(&self, r: u32) -> bool {
        let block = r.wrapping_sub(HEADER_SIZE);
        if self.heap.is_block_start(block) {
            // SAFETY: the start map says a used block starts at `block`.
            unsafe { self.gc_info(block) }.is_managed()
        } else {
            r < self.heap.start() && self.is_static(r)
        }
    }

    /// Whether `ptr` (below the heap) is the ref of a well-formed static object: aligned, its
    /// header a used block with the static gcInfo, a known type, and the object ending below the
    /// heap. Time: O(1).
    pub fn is_static(&self, ptr: u32) -> bool {
        #[cfg(feature = "assemblyscript")]
        if self.asc.is_some() {
            return self.asc_static(ptr);
        }
        if !ptr.is_multiple_of(16) || ptr < HEADER_SIZE || ptr >= self.heap.start() {
            return false;
        }
        if !self.is_listed_static(ptr) {
            return false;
        }
        let block = ptr - HEADER_SIZE;
        // SAFETY: `block` is 16-aligned and below the heap start (checked above), so its header
        // lies in memory.
        let (info, gc, id, size) = unsafe {
            (
                MmInfo(self.load_at(block, MM_INFO)),
                self.load_at(block, GC_INFO),
                self.load_at(block, RT_ID),
                self.load_at(block, RT_SIZE),
            )
        };
        !info.is_free()
            && !info.is_left_free()
            && gc == STATIC_GC_INFO
            && rtti::type_desc(id).is_some()
            && size <= MAX_PAYLOAD
            && info.size() == block_size(size)
            && ptr as u64 + size as u64 <= self.heap.start() as u64
    }

    /// Whether `ptr` is in the sorted list of static objects. Time: O(log statics).
    fn is_listed_static(&self, ptr: u32) -> bool {
        let (list, mut lo, mut hi) = (self.roots.objects, 0u32, self.roots.object_count);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            // SAFETY: `mid < object_count`: an entry of the `objects` array, which lies in
            // memory (the contract of `Runtime::new`).
            let r = unsafe { self.load(list + 4 * mid) };
            if r == ptr {
                return true;
            }
            if r < ptr {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        false
    }

    /// rtId of a validated object.
    #[inline]
    ///
    /// For any other `ptr` the answer is meaningless but the read stays inside the memory (the
    /// header's address is bounds-checked: one compare), so this safe function cannot read
    /// outside it.
    pub fn rt_id(&self, ptr: u32) -> u32 {
        // SAFETY: `header_word` returns an aligned address inside memory.
        unsafe { self.load(self.header_word(ptr, RT_ID)) }
    }

    /// rtSize of a validated object.
    #[inline]
    ///
    /// Bounds-checked like [`Runtime::rt_id`].
    pub fn rt_size(&self, ptr: u32) -> u32 {
        // SAFETY: as in `rt_id`.
        unsafe { self.load(self.header_word(ptr, RT_SIZE)) }
    }

    /// The address of the header word at `field` of the object `ptr`, or 0 (a readable word)
    /// when that address would not lie inside the memory or is not 4-aligned.
    #[inline(always)]
    fn header_word(&self, ptr: u32, field: u32) -> u32 {
        let at = ptr.wrapping_sub(HEADER_SIZE).wrapping_add(field);
        if at.is_multiple_of(4) && at <= self.heap.mem.size() - 4 { at } else { 0 }
    }

    // ----- statistics and checks -----

    /// `__gc_stats`. Time: O(1).
    pub fn stats(&self) -> Stats {
        Stats {
            heap_bytes: self.heap.heap_bytes() as u64,
            used_bytes: self.heap.used_bytes() as u64,
            free_bytes: self.heap.free_bytes() as u64,
            largest_free: self.heap.largest_free() as u64,
            live_objects: self.live_objects,
            collections: self.gc.collections,
            steps: self.gc.steps,
            total_allocated: self.total_allocated,
        }
    }
}

#[cfg(all(test, any(not(target_arch = "wasm32"), feature = "std")))]
mod tests {
    use super::*;
    use crate::host::HostConfig;
    use crate::object::{GC_INFO, MM_INFO};
    use crate::rtti::ID_STRING;

    /// `validate_object_hot` (the inline checks of `__link`, `__pin` and `__unpin`) must answer
    /// as `validate_object` does, ref or error, at every address: live and freed objects, an
    /// `__alloc` block, a header forged inside a payload, and headers whose rtId or MANAGED bit
    /// compiled code overwrote. A fast path that skipped one of the ref's checks would accept a
    /// ref that `validate_object` refuses. The one difference by design: a live object whose
    /// header's size compiled code overwrote passes the hot checks (those exports never read the
    /// block's extent) and is refused by `validate_object`.
    #[test]
    fn the_hot_validation_answers_as_validate_object_at_every_address() {
        let mut rt = Runtime::host(HostConfig::default());
        let mut keep = std::vec::Vec::new();
        for size in [8, 40, 8, 24, 64, 8, 8, 8, 8] {
            let r = rt.new_object(size, ID_STRING).unwrap();
            keep.push(rt.pin(r).unwrap());
        }
        let freed = rt.new_object(24, ID_STRING).unwrap();
        let raw = rt.alloc(32).unwrap();
        rt.collect();
        assert_eq!(rt.validate_object(freed), Err(Error::AlreadyFree));
        // SAFETY: every address written is a header word or payload of a live block above.
        unsafe {
            // A header imitation inside the 64-byte payload: no start bit there.
            let forged = keep[4] + 16;
            rt.store(forged - 16 + MM_INFO, rt.load(keep[0] - 16 + MM_INFO));
            rt.store(forged - 16 + GC_INFO, rt.load(keep[0] - 16 + GC_INFO));
            rt.store(forged - 16 + RT_ID, ID_STRING);
            rt.store(forged - 16 + RT_SIZE, 8);
            rt.store(keep[1] - 16 + RT_SIZE, 24); // a size that disagrees with the block's
            rt.store(keep[2] - 16 + RT_SIZE, MAX_PAYLOAD + 16); // above the largest payload
            rt.store(keep[8] - 16 + RT_SIZE, u32::MAX - 15); // its block size would overflow
            rt.store(keep[3] - 16 + RT_ID, 0xFFFF); // unknown type
            rt.store(keep[5] - 16 + GC_INFO, 0); // MANAGED cleared
            // A size that agrees with rtSize but runs past the heap's end.
            rt.store(keep[6] - 16 + RT_SIZE, 1 << 24);
            rt.store(keep[6] - 16 + MM_INFO, block_size(1 << 24) - 4);
        }
        let end = rt.heap.mem.size();
        let odd = [u32::MAX, u32::MAX - 15, end, end - 16, end + 16, raw, raw - 16];
        // The four objects whose rtSize (and for keep[6] mmInfo) was overwritten above.
        let resized = [keep[1], keep[2], keep[8], keep[6]];
        for ptr in (0..end + 64).step_by(4).chain(odd) {
            let want = match rt.validate_object(ptr) {
                Err(Error::NotABlock) if resized.contains(&ptr) => Ok(ptr - 16),
                other => other,
            };
            assert_eq!(rt.validate_object_hot(ptr), want, "ref {ptr:#x}");
        }
        for r in resized {
            assert_eq!(rt.validate_object(r), Err(Error::NotABlock), "ref {r:#x}");
        }
        // The checks above were not all refusals.
        assert!(rt.validate_object_hot(keep[7]).is_ok());
        assert!(rt.validate_object_hot(keep[0]).is_ok());
    }
}
