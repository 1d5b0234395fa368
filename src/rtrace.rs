//! Tracing hooks for `@assemblyscript/rtrace` (docs/ABI.md §7), compiled with the cargo feature
//! `rtrace` only.
//!
//! The runtime reports every block it hands out or takes back, by block address (`ref - 16`,
//! where mmInfo is), so the published sanitizer can shadow the heap and check it:
//!
//! | hook | import | when |
//! | --- | --- | --- |
//! | [`init`] | `rtrace.oninit(heapBase)` | the runtime is created |
//! | [`alloc`] | `rtrace.onalloc(block)` | a block of `__alloc`, `__new`, or the new copy of a moving `__realloc`/`__renew` exists (header written) |
//! | [`resize`] | `rtrace.onresize(block, oldSize)` | a block changed size in place; `oldSize` is the old extent `4 + (mmInfo & ~3)` |
//! | [`moved`] | `rtrace.onmove(old, new)` | a resize moved: after `alloc(new)`, before `free(old)` |
//! | [`free`] | `rtrace.onfree(block)` | right **before** a reported block is freed (rtrace re-reads its mmInfo) |
//! | [`visit`] | `rtrace.onvisit(block)` | the collector shades a heap object |
//! | [`collected`] | `rtrace.oncollect(total)` | a collection completed |
//! | [`interrupt`] / [`yielded`] | `rtrace.oninterrupt(total)` / `rtrace.onyield(total)` | around each GC step |
//!
//! `total` is the sum of the extents of the reported blocks that are live, tracked here from the
//! mmInfo words the hooks see. The runtime's internal blocks (the pin table) and region
//! sentinels are never reported: rtrace only checks the blocks it was told about.
//!
//! On targets other than wasm32 every hook is a no-op, so host builds with the feature compile.

#[cfg(target_arch = "wasm32")]
mod imp {
    use core::cell::UnsafeCell;

    #[link(wasm_import_module = "rtrace")]
    unsafe extern "C" {
        fn oninit(heap_base: u32);
        fn onalloc(block: u32);
        fn onresize(block: u32, old_size: u32);
        fn onmove(old_block: u32, new_block: u32);
        fn onfree(block: u32);
        fn onvisit(block: u32) -> i32;
        fn oncollect(total: u32);
        fn oninterrupt(total: u32);
        fn onyield(total: u32);
    }

    /// Bytes in live reported blocks (extents, headers included).
    struct Total(UnsafeCell<u32>);
    // SAFETY: wasm32 has one thread.
    unsafe impl Sync for Total {}
    static TOTAL: Total = Total(UnsafeCell::new(0));

    /// The extent of the block at `block`, from its mmInfo: `4 + (mmInfo & !3)`.
    #[inline(always)]
    fn extent(block: u32) -> u32 {
        // SAFETY: the hooks are only called with the address of a block header in memory.
        let info = unsafe { (block as usize as *const u32).read() };
        4 + (info & !3)
    }

    #[inline(always)]
    fn add(delta: i64) {
        // SAFETY: single-threaded; no reference to the cell escapes.
        unsafe {
            let t = TOTAL.0.get();
            *t = (*t as i64 + delta).clamp(0, u32::MAX as i64) as u32;
        }
    }

    #[inline(always)]
    fn total() -> u32 {
        // SAFETY: single-threaded read.
        unsafe { *TOTAL.0.get() }
    }

    pub fn init(heap_base: u32) {
        // SAFETY: a host import taking a plain number.
        unsafe { oninit(heap_base) }
    }

    pub fn alloc(block: u32, _size: u32) {
        add(extent(block) as i64);
        // SAFETY: as above.
        unsafe { onalloc(block) }
    }

    pub fn resize(block: u32, old_size: u32) {
        add(extent(block) as i64 - old_size as i64);
        // SAFETY: as above.
        unsafe { onresize(block, old_size) }
    }

    pub fn moved(old: u32, new: u32) {
        // SAFETY: as above.
        unsafe { onmove(old, new) }
    }

    pub fn free(block: u32) {
        add(-(extent(block) as i64));
        // SAFETY: as above.
        unsafe { onfree(block) }
    }

    pub fn visit(block: u32) {
        // SAFETY: as above. rtrace's verdict is reported through its onerror; nothing to do here.
        let _ = unsafe { onvisit(block) };
    }

    pub fn collected() {
        // SAFETY: as above.
        unsafe { oncollect(total()) }
    }

    pub fn interrupt() {
        // SAFETY: as above.
        unsafe { oninterrupt(total()) }
    }

    pub fn yielded() {
        // SAFETY: as above.
        unsafe { onyield(total()) }
    }
}

#[cfg(not(target_arch = "wasm32"))]
#[allow(missing_docs)]
mod imp {
    #[inline(always)]
    pub fn init(_heap_base: u32) {}
    #[inline(always)]
    pub fn alloc(_block: u32, _size: u32) {}
    #[inline(always)]
    pub fn resize(_block: u32, _old_size: u32) {}
    #[inline(always)]
    pub fn moved(_old: u32, _new: u32) {}
    #[inline(always)]
    pub fn free(_block: u32) {}
    #[inline(always)]
    pub fn visit(_block: u32) {}
    #[inline(always)]
    pub fn collected() {}
    #[inline(always)]
    pub fn interrupt() {}
    #[inline(always)]
    pub fn yielded() {}
}

/// `rtrace.oninit(heapBase)`: the heap's first block address.
#[inline(always)]
pub(crate) fn init(heap_base: u32) {
    imp::init(heap_base)
}

/// `rtrace.onalloc(block)`: a new used block whose header is written. `size` is the payload
/// (unused by rtrace, which reads mmInfo).
#[inline(always)]
pub(crate) fn alloc(block: u32, size: u32) {
    imp::alloc(block, size)
}

/// `rtrace.onresize(block, oldSize)`: the block changed size in place; `old_size` is its old
/// extent (`4 + (mmInfo & !3)` before the change). Call only when the extent changed.
#[inline(always)]
pub(crate) fn resize(block: u32, old_size: u32) {
    imp::resize(block, old_size)
}

/// `rtrace.onmove(old, new)`: a resize moved `old` to `new` (after `alloc(new)`, before
/// `free(old)`).
#[inline(always)]
pub(crate) fn moved(old: u32, new: u32) {
    imp::moved(old, new)
}

/// `rtrace.onfree(block)`: called right before the reported block is freed.
#[inline(always)]
pub(crate) fn free(block: u32) {
    imp::free(block)
}

/// `rtrace.onvisit(block)`: the collector shaded this heap object.
#[inline(always)]
pub(crate) fn visit(block: u32) {
    imp::visit(block)
}

/// `rtrace.oncollect(total)`: a collection completed.
#[inline(always)]
pub(crate) fn collected() {
    imp::collected()
}

/// `rtrace.oninterrupt(total)`: a GC step starts.
#[inline(always)]
pub(crate) fn interrupt() {
    imp::interrupt()
}

/// `rtrace.onyield(total)`: a GC step ended.
#[inline(always)]
pub(crate) fn yielded() {
    imp::yielded()
}
