//! Shared by the allocator and GC fuzz targets: the switches for hostile action classes, an
//! exact oracle of live blocks (a walk of the heap, trusted because `__heap_check` is 0 before
//! every action), forged refs, headers forged inside live payloads, and "rejected and nothing
//! changed" checks.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::sync::OnceLock;

use arbitrary::Arbitrary;
use asrt::Runtime;
use asrt::memory::{HostMemory, Memory};
use asrt::object::{FREE, GC_INFO, HEADER_SIZE, MANAGED, MM_INFO, RT_ID, RT_SIZE, block_size};

pub type Rt = Runtime<HostMemory>;

// ---------------------------------------------------------------------------------------------
// Hostile action classes
// ---------------------------------------------------------------------------------------------

/// Which hostile action classes run. `ASRT_FUZZ_HOSTILE` is read once per process:
/// - unset or `safe`: the classes the current runtime is known to withstand (`safe` below);
/// - `all` / `none`;
/// - a comma list of class names and keywords, applied left to right, where `-name` removes a
///   class: `all,-fake_header` or `safe,junk_stack_slot`.
///
/// Every target prints its classes once at start-up (stderr).
pub struct Classes {
    on: BTreeSet<String>,
}

impl Classes {
    pub fn enabled(&self, class: &str) -> bool {
        self.on.contains(class)
    }
}

/// The classes of one target: every class it knows, and the `safe` default.
pub fn classes(target: &str, all: &[&str], safe: &[&str]) -> &'static Classes {
    static C: OnceLock<Classes> = OnceLock::new();
    C.get_or_init(|| {
        let spec = std::env::var("ASRT_FUZZ_HOSTILE").unwrap_or_else(|_| "safe".into());
        let mut on = BTreeSet::new();
        for word in spec.split(',').map(str::trim).filter(|w| !w.is_empty()) {
            let (remove, name) = match word.strip_prefix('-') {
                Some(n) => (true, n),
                None => (false, word),
            };
            let names: Vec<&str> = match name {
                "all" => all.to_vec(),
                "safe" => safe.to_vec(),
                "none" => Vec::new(),
                n if all.contains(&n) => vec![n],
                // A class of another target: not an error (one variable serves every target).
                _ => Vec::new(),
            };
            for n in names {
                if remove {
                    on.remove(n);
                } else {
                    on.insert(n.to_string());
                }
            }
        }
        eprintln!(
            "[{target}] hostile classes on: {:?} (ASRT_FUZZ_HOSTILE={spec:?}; all: {all:?})",
            on
        );
        Classes { on }
    })
}

// ---------------------------------------------------------------------------------------------
// Memory access and the heap walk
// ---------------------------------------------------------------------------------------------

pub fn ld(rt: &Rt, a: u32) -> u32 {
    assert!(a % 4 == 0 && a as u64 + 4 <= rt.memory().size() as u64, "load at {a:#x}");
    // SAFETY: aligned and in bounds.
    unsafe { rt.memory().load(a) }
}

pub fn st(rt: &Rt, a: u32, v: u32) {
    assert!(a % 4 == 0 && a as u64 + 4 <= rt.memory().size() as u64, "store at {a:#x}");
    // SAFETY: aligned and in bounds.
    unsafe { rt.memory().store(a, v) }
}

pub fn bytes(rt: &Rt, a: u32, n: u32) -> &[u8] {
    &rt.memory().bytes()[a as usize..(a + n) as usize]
}

pub fn write(rt: &Rt, a: u32, data: &[u8]) {
    assert!(a as u64 + data.len() as u64 <= rt.memory().size() as u64);
    // SAFETY: in bounds; `data` does not alias the memory.
    unsafe { core::ptr::copy_nonoverlapping(data.as_ptr(), rt.memory().ptr(a), data.len()) }
}

pub fn fill(rt: &Rt, a: u32, byte: u8, n: u32) {
    assert!(a as u64 + n as u64 <= rt.memory().size() as u64);
    // SAFETY: in bounds.
    unsafe { core::ptr::write_bytes(rt.memory().ptr(a), byte, n as usize) }
}

/// One used block of the heap.
#[derive(Clone, Copy, Debug)]
pub struct Block {
    pub r: u32,
    pub size: u32,
    pub gc: u32,
    pub id: u32,
    pub rt_size: u32,
}

impl Block {
    pub fn managed(&self) -> bool {
        self.gc & MANAGED != 0
    }
}

/// Every used, non-sentinel block, in address order, and every free block `(start, size)`.
/// Exact as long as the heap is sound (the targets check `__heap_check` after every action).
/// gcInfo of the runtime's own blocks (the pin table, the block-start map): not the model's.
const INTERNAL: u32 = asrt::object::Kind::Internal as u32;

/// Used blocks (the runtime's own excepted) and free blocks `(address, size)`, in address order.
pub fn walk(rt: &Rt) -> (Vec<Block>, Vec<(u32, u32)>) {
    let heap = rt.heap();
    let (mut used, mut free) = (Vec::new(), Vec::new());
    let mut b = heap.first_block();
    while b != 0 {
        let info = ld(rt, b + MM_INFO);
        let size = (info & !3) + 4;
        if info & FREE != 0 {
            free.push((b, size));
        } else if !unsafe { heap.is_sentinel(b) } && ld(rt, b + GC_INFO) != INTERNAL {
            used.push(Block {
                r: b + HEADER_SIZE,
                size,
                gc: ld(rt, b + GC_INFO),
                id: ld(rt, b + RT_ID),
                rt_size: ld(rt, b + RT_SIZE),
            });
        }
        // SAFETY: `b` is a block start of a sound heap.
        b = unsafe { heap.next_block(b) };
    }
    (used, free)
}

// ---------------------------------------------------------------------------------------------
// Forged refs
// ---------------------------------------------------------------------------------------------

/// A value that is not the ref of a live block of the kind an export needs.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum Forge {
    /// A live block's own ref (valid for some exports, not for others: free of a managed
    /// object, pin of an unmanaged block).
    Live { pick: u16 },
    /// Inside a live payload, 16-aligned (`ref + 16 * k`, still inside the block).
    Interior { pick: u16, k: u16 },
    /// A live ref plus 1..15.
    Misaligned { pick: u16, off: u8 },
    /// The block address (`ref - 16`) of a live block.
    BlockAddr { pick: u16 },
    /// A ref that was live earlier and is not now (freed, merged, moved, collected).
    Stale { pick: u16 },
    /// The ref behind the region's sentinel.
    Sentinel,
    /// 16-aligned, below the heap (static data, shadow stack, null page).
    BelowHeap { k: u16 },
    /// At or past the end of memory, or near 2^32.
    PastEnd { k: u32 },
    /// Anything.
    Raw(u32),
}

impl Forge {
    /// The forged value; `None` when it happens to be a valid ref (`valid`), so the action is
    /// skipped.
    pub fn resolve(
        self,
        rt: &Rt,
        live: &[Block],
        stale: &[u32],
        valid: &dyn Fn(u32) -> bool,
    ) -> Option<u32> {
        let pick = |p: u16| -> Option<&Block> {
            if live.is_empty() { None } else { Some(&live[p as usize % live.len()]) }
        };
        let v = match self {
            Forge::Live { pick: p } => pick(p)?.r,
            Forge::Interior { pick: p, k } => {
                let b = pick(p)?;
                let n = (b.size - HEADER_SIZE) / 16; // 16-byte steps inside the payload
                if n == 0 {
                    return None;
                }
                b.r + 16 * (1 + k as u32 % n)
            }
            Forge::Misaligned { pick: p, off } => pick(p)?.r + 1 + off as u32 % 15,
            Forge::BlockAddr { pick: p } => pick(p)?.r - HEADER_SIZE,
            Forge::Stale { pick: p } => {
                if stale.is_empty() {
                    return None;
                }
                stale[p as usize % stale.len()]
            }
            Forge::Sentinel => rt.memory().size(),
            Forge::BelowHeap { k } => {
                let start = rt.heap().start();
                start.saturating_sub(16 * (k as u32 % (start / 16 + 1)))
            }
            Forge::PastEnd { k } => {
                let end = rt.memory().size();
                match k % 4 {
                    0 => end,
                    1 => end.wrapping_add((k >> 2).wrapping_mul(16)),
                    2 => 0u32.wrapping_sub(16 * (1 + (k >> 2) % 64)),
                    _ => end - 16 + 16 * ((k >> 2) % 2),
                }
            }
            Forge::Raw(v) => v,
        };
        if valid(v) { None } else { Some(v) }
    }
}

/// Refs that were live once and are not now: the last `cap` of them.
#[derive(Default)]
pub struct History {
    seen: BTreeSet<u32>,
    pub order: Vec<u32>,
}

impl History {
    pub fn record(&mut self, live: &[Block]) {
        for b in live {
            if self.seen.insert(b.r) {
                self.order.push(b.r);
            }
        }
        if self.order.len() > 256 {
            let drop: Vec<u32> = self.order.drain(..128).collect();
            for r in drop {
                self.seen.remove(&r);
            }
        }
    }

    /// The recorded refs that are not live now.
    pub fn stale(&self, live: &[Block]) -> Vec<u32> {
        let now: BTreeSet<u32> = live.iter().map(|b| b.r).collect();
        self.order.iter().copied().filter(|r| !now.contains(r)).collect()
    }
}

// ---------------------------------------------------------------------------------------------
// Headers forged inside live payloads
// ---------------------------------------------------------------------------------------------

/// A header written inside the payload of a live block, with the bytes it replaced.
pub struct FakeHeader {
    pub r: u32,
    at: u32,
    saved: Vec<u8>,
}

impl FakeHeader {
    /// Writes, inside the payload of `host`, a block header at `host.r + 16 * k` that passes
    /// every O(1) plausibility check: mmInfo of a used block of `block_size(size)` bytes (with
    /// LEFTFREE if `leftfree`, the word before it then pointing at `left`), gcInfo `gc`, rtId `id`,
    /// rtSize `size`, and a clear LEFTFREE bit in the word where its right neighbour's mmInfo
    /// would be. `None` if it does not fit.
    pub fn write(
        rt: &Rt,
        host: &Block,
        k: u32,
        size: u32,
        gc: u32,
        id: u32,
        leftfree: Option<u32>,
    ) -> Option<FakeHeader> {
        let payload = host.size - HEADER_SIZE;
        let slots = payload / 16;
        if slots == 0 {
            return None;
        }
        let k = if leftfree.is_some() { 1 + k % slots } else { k % slots };
        let at = host.r + 16 * k;
        let size = size % payload.max(1);
        let bsize = block_size(size);
        // The fake block, its right neighbour's mmInfo word, and (LEFTFREE) the word before it
        // all lie inside the host's payload.
        if at + bsize + 4 > host.r + payload || (leftfree.is_some() && at - 4 < host.r) {
            return None;
        }
        let from = if leftfree.is_some() { at - 4 } else { at };
        let to = at + bsize + 4;
        let saved = bytes(rt, from, to - from).to_vec();
        st(rt, at + MM_INFO, (bsize - 4) | if leftfree.is_some() { 2 } else { 0 });
        st(rt, at + GC_INFO, gc);
        st(rt, at + RT_ID, id);
        st(rt, at + RT_SIZE, size);
        st(rt, at + bsize, 0);
        if let Some(left) = leftfree {
            st(rt, at - 4, left);
        }
        Some(FakeHeader { r: at + HEADER_SIZE, at: from, saved })
    }

    /// Puts the replaced bytes back.
    pub fn restore(self, rt: &Rt) {
        write(rt, self.at, &self.saved);
    }
}

// ---------------------------------------------------------------------------------------------
// "Rejected, and nothing changed"
// ---------------------------------------------------------------------------------------------

/// Runs `f`, which must fail and leave every byte of memory (and the heap's figures) as it was.
pub fn expect_rejected<T: std::fmt::Debug, E: std::fmt::Debug>(
    rt: &mut Rt,
    what: &str,
    f: impl FnOnce(&mut Rt) -> Result<T, E>,
) {
    let before = rt.memory().bytes().to_vec();
    let stats = rt.stats();
    let res = f(rt);
    assert!(res.is_err(), "{what}: accepted (returned {res:?}), must be rejected");
    let after = rt.memory().bytes();
    if after != &before[..] {
        let n = before.len().min(after.len());
        let at = (0..n).find(|&i| before[i] != after[i]).unwrap_or(n);
        panic!(
            "{what}: rejected with {res:?} but memory changed at {at:#x} (memory {} -> {} bytes)",
            before.len(),
            after.len()
        );
    }
    assert_eq!(rt.stats(), stats, "{what}: rejected but the heap's figures changed");
}

// ---------------------------------------------------------------------------------------------
// Zeroed reservations straight from mmap
// ---------------------------------------------------------------------------------------------

/// `HostMemory` reserves its maximum up front with `alloc_zeroed` at 64 KiB alignment, which
/// std serves with an aligned allocation plus a memset of the whole reservation: most of a
/// run's time at 16-32 MiB. Large zeroed allocations come from mmap instead (zero pages are
/// free until touched); everything else goes to the system allocator (and ASan).
struct MmapZeroed;

const MMAP_MIN: usize = 1 << 20;

unsafe impl std::alloc::GlobalAlloc for MmapZeroed {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        unsafe { std::alloc::System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: std::alloc::Layout) -> *mut u8 {
        if layout.size() < MMAP_MIN {
            return unsafe { std::alloc::System.alloc_zeroed(layout) };
        }
        let align = layout.align().max(4096);
        let size = layout.size().next_multiple_of(4096);
        let len = size + align;
        // SAFETY: an anonymous private mapping; the parts outside the aligned range are unmapped.
        unsafe {
            let p = libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            );
            if p == libc::MAP_FAILED {
                return std::ptr::null_mut();
            }
            let start = p as usize;
            let aligned = start.next_multiple_of(align);
            if aligned > start {
                libc::munmap(p, aligned - start);
            }
            let end = aligned + size;
            if start + len > end {
                libc::munmap(end as *mut libc::c_void, start + len - end);
            }
            // Recorded without allocating through this allocator (the Vec's own buffer is
            // small and comes from `alloc`).
            MAPPED.with(|m| m.borrow_mut().push(aligned));
            aligned as *mut u8
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        if layout.size() >= MMAP_MIN && is_mapped(ptr, layout) {
            // SAFETY: the exact range mapped by `alloc_zeroed`.
            unsafe { libc::munmap(ptr as *mut libc::c_void, layout.size().next_multiple_of(4096)) };
        } else {
            unsafe { std::alloc::System.dealloc(ptr, layout) }
        }
    }
}

thread_local! {
    static MAPPED: std::cell::RefCell<Vec<usize>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Whether `ptr` came from the mmap path (large `alloc` calls go to the system allocator).
fn is_mapped(ptr: *mut u8, _layout: std::alloc::Layout) -> bool {
    MAPPED.with(|m| {
        let mut m = m.borrow_mut();
        match m.iter().position(|&p| p == ptr as usize) {
            Some(i) => {
                m.swap_remove(i);
                true
            }
            None => false,
        }
    })
}

#[global_allocator]
static GLOBAL: MmapZeroed = MmapZeroed;
