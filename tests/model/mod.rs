//! Shared model code for the heap and GC property tests, used on the host (driven by proptest)
//! and on wasm32 (driven by the [`Rng`] below, so no proptest is needed there).
//!
//! - [`HeapModel`]: a shadow model of unmanaged blocks (`alloc/realloc/free`): every live block's
//!   ref, requested size and fill pattern; after every step the blocks must not overlap, must lie
//!   in the heap, keep their contents, and the heap's figures must add up.
//! - [`GcModel`]: a model of a mutator's object graph (objects of every kind, roots: counted
//!   pins, shadow stack, static slots); only objects reachable in the model are kept and
//!   verified, because the collector may free any other object at any step.
//!
//! Operations come as raw triples ([`RawOp`]) that the models interpret against their current
//! state, so proptest can generate and shrink them and the wasm tests can draw them from [`Rng`].
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::vec::Vec;

use asrt::gc::Phase;
use asrt::heap::tlsf;
use asrt::host::HostConfig;
use asrt::memory::{HostMemory, Memory};
use asrt::object::{MAX_PAYLOAD, block_size};
use asrt::rtti::{self, flags};
use asrt::{Error, Runtime};

/// The runtime the models drive.
pub type Rt = Runtime<HostMemory>;

/// One operation: a selector and two operands that the model interprets.
pub type RawOp = (u8, u32, u32);

// ---------------------------------------------------------------------------------------------
// PRNG (splitmix64)
// ---------------------------------------------------------------------------------------------

/// splitmix64's finaliser.
pub fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A small deterministic PRNG (splitmix64), the same on every target.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Self {
        Rng(mix(seed ^ 0x5DEE_CE66_D1CE_4E5B))
    }
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.0)
    }
    /// The next 32 random bits.
    pub fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }
    /// Uniform in `0..n` (0 when `n == 0`).
    pub fn below(&mut self, n: u32) -> u32 {
        if n == 0 { 0 } else { (self.next_u64() % n as u64) as u32 }
    }
    /// A raw operation.
    pub fn op(&mut self) -> RawOp {
        let w = self.next_u64();
        (w as u8, (w >> 32) as u32, self.next_u32())
    }
    /// `n` raw operations.
    pub fn ops(&mut self, n: usize) -> Vec<RawOp> {
        (0..n).map(|_| self.op()).collect()
    }
}

/// The deterministic payload byte `i` of content `seed`.
pub fn content_byte(seed: u64, i: u32) -> u8 {
    (mix(seed.wrapping_add((i / 8) as u64)) >> (8 * (i % 8))) as u8
}

// ---------------------------------------------------------------------------------------------
// Memory access
// ---------------------------------------------------------------------------------------------

/// The u32 at `a`.
pub fn ld(rt: &Rt, a: u32) -> u32 {
    assert!(a.is_multiple_of(4) && a as u64 + 4 <= rt.memory().size() as u64, "load at {a:#x}");
    // SAFETY: aligned and in bounds (checked above).
    unsafe { rt.memory().load(a) }
}

/// Writes the u32 at `a`.
pub fn st(rt: &Rt, a: u32, v: u32) {
    assert!(a.is_multiple_of(4) && a as u64 + 4 <= rt.memory().size() as u64, "store at {a:#x}");
    // SAFETY: aligned and in bounds (checked above).
    unsafe { rt.memory().store(a, v) }
}

/// The `n` bytes at `a`.
pub fn bytes(rt: &Rt, a: u32, n: u32) -> &[u8] {
    &rt.memory().bytes()[a as usize..a as usize + n as usize]
}

/// Writes `data` at `a`.
pub fn write(rt: &Rt, a: u32, data: &[u8]) {
    assert!(a as u64 + data.len() as u64 <= rt.memory().size() as u64);
    // SAFETY: in bounds (checked above); `data` is a separate Vec/slice, not the memory.
    unsafe { core::ptr::copy_nonoverlapping(data.as_ptr(), rt.memory().ptr(a), data.len()) }
}

/// Sets `n` bytes at `a` to `byte`.
pub fn set(rt: &Rt, a: u32, byte: u8, n: u32) {
    assert!(a as u64 + n as u64 <= rt.memory().size() as u64);
    // SAFETY: in bounds (checked above).
    unsafe { core::ptr::write_bytes(rt.memory().ptr(a), byte, n as usize) }
}

/// The broken invariants as `Name at 0x...` items (at most 16, then how many more).
pub fn report(rt: &Rt) -> std::string::String {
    let list = rt.check_report();
    let mut out: Vec<std::string::String> =
        list.iter().take(16).map(|v| std::format!("{v}")).collect();
    if list.len() > 16 {
        out.push(std::format!("... {} more", list.len() - 16));
    }
    out.join(", ")
}

/// Panics, saying which invariants broke and where, unless `__heap_check` is 0.
#[track_caller]
pub fn assert_sound(rt: &Rt, what: impl core::fmt::Display) {
    let errors = rt.check();
    if errors != 0 {
        panic!("__heap_check = {errors} {what}: {}", report(rt));
    }
}

/// The whole memory, for "nothing changed" comparisons.
pub fn snapshot(rt: &Rt) -> Vec<u8> {
    rt.memory().bytes().to_vec()
}

/// The block extent `[ref-16, ref-16 + 4 + (mmInfo & !3))` of a ref.
pub fn extent(rt: &Rt, r: u32) -> (u32, u32) {
    let info = ld(rt, r - 16);
    (r - 16, r - 16 + 4 + (info & !3))
}

/// The gcInfo color bits of a heap object (3 = black, 2 = gray, 0/1 = white).
pub fn color(rt: &Rt, r: u32) -> u32 {
    ld(rt, r - 12) & 3
}

/// A new managed object (the test fails if it cannot be made).
pub fn new(rt: &mut Rt, size: u32, id: u32) -> u32 {
    rt.new_object(size, id).expect("new_object")
}

/// Stores `child` into the static root slot `i` with the barrier.
pub fn root(rt: &mut Rt, i: u32, child: u32) {
    let s = rt.static_slots();
    st(rt, s + 4 * i, child);
    rt.link(s, child, false).unwrap();
}

/// Bytes of the heap that are neither used nor free: the start map's block and one sentinel
/// (the host tests' heaps are one region).
pub fn overhead(rt: &Rt) -> u64 {
    16 + rt.heap().map_block_bytes() as u64
}

/// The size of the largest free block, found by walking the heap (the start map, once moved
/// to a larger block, leaves a free hole where it was, so an empty heap can hold two).
pub fn largest_free_block(rt: &Rt) -> u32 {
    let heap = rt.heap();
    let (mut b, mut best) = (heap.first_block(), 0);
    while b != 0 {
        if ld(rt, b) & 1 != 0 {
            best = best.max((ld(rt, b) & !3) + 4);
        }
        // SAFETY: `b` is a block start of the walk.
        b = unsafe { heap.next_block(b) };
    }
    best
}

/// The largest payload `largest_free` reports for a heap whose only free block has `size` bytes.
pub fn largest_free_for_block(size: u32) -> u64 {
    let (fl, sl) = tlsf::mapping(size);
    (tlsf::class_start(fl, sl).max(16) - 16).min(MAX_PAYLOAD) as u64
}

// ---------------------------------------------------------------------------------------------
// Type ids, looked up by flags (the layout may be regenerated with other ids)
// ---------------------------------------------------------------------------------------------

/// The ids of the types the models use.
#[derive(Clone, Copy, Debug)]
pub struct Ids {
    /// ArrayBuffer.
    pub abuf: u32,
    /// String.
    pub string: u32,
    /// Array<string> (an Array with managed 4-byte elements).
    pub arr_str: u32,
    /// Array<i32>.
    pub arr_i32: u32,
    /// StaticArray<string>.
    pub sarr_str: u32,
    /// TreeNode (a plain class with ref fields at 0 and 4).
    pub tree: u32,
}

fn find_type(what: &str, pred: impl Fn(&rtti::TypeDesc) -> bool) -> u32 {
    rtti::TYPES
        .iter()
        .position(pred)
        .unwrap_or_else(|| panic!("the layout declares no {what} type")) as u32
}

/// Looks the ids up in `rtti::TYPES`.
pub fn ids() -> Ids {
    let a2 = |f: u32| rtti::value_align_log2(f) == 2;
    let shape = flags::ARRAYBUFFERVIEW | flags::ARRAY | flags::STATICARRAY | flags::POINTERFREE;
    Ids {
        abuf: rtti::ID_ARRAYBUFFER,
        string: rtti::ID_STRING,
        arr_str: find_type("Array<string>", |t| {
            t.flags & flags::ARRAY != 0 && t.flags & flags::VALUE_MANAGED != 0 && a2(t.flags)
        }),
        arr_i32: find_type("Array<i32>", |t| {
            t.flags & flags::ARRAY != 0
                && t.flags & (flags::VALUE_MANAGED | flags::VALUE_FLOAT) == 0
                && a2(t.flags)
        }),
        sarr_str: find_type("StaticArray<string>", |t| {
            t.flags & flags::STATICARRAY != 0 && t.flags & flags::VALUE_MANAGED != 0 && a2(t.flags)
        }),
        tree: find_type("TreeNode", |t| t.flags & shape == 0 && t.refs == [0, 4]),
    }
}

// ---------------------------------------------------------------------------------------------
// Heap model
// ---------------------------------------------------------------------------------------------

/// Sizes the heap tests like: 0..=1 MiB, biased towards small ones and class edges.
pub fn heap_size(sel: u32, raw: u32) -> u32 {
    const EDGES: [u32; 24] = [
        0,
        1,
        4,
        11,
        12,
        13,
        15,
        16,
        17,
        31,
        32,
        33,
        224,
        225,
        240,
        241,
        256,
        496,
        4080,
        4096,
        65520,
        65536,
        1 << 19,
        1 << 20,
    ];
    match sel % 10 {
        0..=2 => raw % 65,
        3..=4 => raw % 1025,
        5..=6 => raw % 16385,
        7 => raw % 262_145,
        8 => raw % ((1 << 20) + 1),
        _ => EDGES[(raw % EDGES.len() as u32) as usize],
    }
}

/// One live unmanaged block of the model.
#[derive(Clone, Debug)]
pub struct HeapBlock {
    /// Its ref.
    pub r: u32,
    /// The requested size.
    pub size: u32,
    /// The fill byte of payload bytes 4.. (bytes 0..4 hold `tag`).
    pub fill: u8,
    /// A serial number written at the start of the payload.
    pub tag: u32,
}

impl HeapBlock {
    fn byte(&self, i: u32) -> u8 {
        if i < 4 { self.tag.to_le_bytes()[i as usize] } else { self.fill }
    }
}

/// The heap's shadow model.
pub struct HeapModel {
    /// The runtime under test.
    pub rt: Rt,
    /// The live blocks.
    pub live: Vec<HeapBlock>,
    serial: u32,
    live_bytes: u64,
    /// Live payload bytes the model keeps at most (bounds memory use and verification time).
    cap: u64,
    /// Operations applied.
    pub steps: u64,
}

impl HeapModel {
    /// A model over a fresh host runtime of at most `max_pages` pages.
    pub fn new(max_pages: u32, cap: u64) -> Self {
        let rt = Runtime::host(HostConfig {
            initial_pages: 2,
            max_pages,
            stack_slots: 16,
            static_slots: 8,
        });
        let s = rt.stats();
        assert_eq!(s.used_bytes, 0, "a fresh heap has no used block");
        assert_eq!(
            s.free_bytes + overhead(&rt),
            s.heap_bytes,
            "one free block, the map and the sentinel"
        );
        HeapModel { rt, live: Vec::new(), serial: 0, live_bytes: 0, cap, steps: 0 }
    }

    fn write_pattern(&self, b: &HeapBlock, from: u32) {
        for i in from..b.size.min(4) {
            set(&self.rt, b.r + i, b.byte(i), 1);
        }
        let start = from.max(4);
        if b.size > start {
            set(&self.rt, b.r + start, b.fill, b.size - start);
        }
    }

    fn check_contents(&self, b: &HeapBlock) {
        let data = bytes(&self.rt, b.r, b.size);
        for i in 0..b.size.min(4) {
            assert_eq!(
                data[i as usize],
                b.byte(i),
                "tag byte {i} of block {:#x} (serial {})",
                b.r,
                b.tag
            );
        }
        if b.size > 4 {
            let pat = [b.fill; 4096];
            for (n, chunk) in data[4..].chunks(4096).enumerate() {
                if chunk != &pat[..chunk.len()] {
                    let at = chunk.iter().position(|&x| x != b.fill).unwrap();
                    panic!(
                        "block {:#x} (size {}, serial {}) corrupted at payload byte {}: {:#x} != fill {:#x}",
                        b.r,
                        b.size,
                        b.tag,
                        4 + n * 4096 + at,
                        chunk[at],
                        b.fill
                    );
                }
            }
        }
    }

    /// Checks the block returned for a request of `size`.
    fn check_new(&self, r: u32, size: u32) {
        assert_eq!(r % 16, 0, "refs are 16-aligned");
        assert_eq!(self.rt.rt_size(r), size, "rtSize is the requested size");
        self.rt.validate_unmanaged(r).expect("a live unmanaged block");
    }

    /// Applies one raw operation, then verifies everything.
    pub fn apply(&mut self, (k, a, b): RawOp) {
        self.steps += 1;
        let n = self.live.len() as u32;
        match k % 10 {
            0..=4 => {
                let size = heap_size(a, b);
                if self.live_bytes + size as u64 > self.cap && n > 0 {
                    self.free_at((a % n) as usize);
                } else {
                    self.alloc(size, b);
                }
            }
            5..=6 if n > 0 => self.free_at((a % n) as usize),
            7..=9 if n > 0 => {
                let i = (a % n) as usize;
                let mut size = heap_size(b, b >> 4 ^ a);
                let old = self.live[i].size as u64;
                if self.live_bytes - old + size as u64 > self.cap {
                    size = self.live[i].size / 2;
                }
                self.realloc_at(i, size);
            }
            _ => {
                self.alloc(heap_size(a, b), b);
            }
        }
        self.verify();
    }

    /// Allocates a block of `size` bytes and fills it.
    pub fn alloc(&mut self, size: u32, salt: u32) -> u32 {
        let r = self.rt.alloc(size).unwrap_or_else(|e| {
            panic!(
                "alloc({size}) failed: {e:?} with {} live bytes, stats {:?}",
                self.live_bytes,
                self.rt.stats()
            )
        });
        self.check_new(r, size);
        self.serial += 1;
        let b = HeapBlock {
            r,
            size,
            fill: (mix(salt as u64 ^ self.serial as u64) as u8) | 1,
            tag: self.serial,
        };
        self.write_pattern(&b, 0);
        self.live.push(b);
        self.live_bytes += size as u64;
        r
    }

    /// Frees the `i`th live block.
    pub fn free_at(&mut self, i: usize) {
        let b = self.live.swap_remove(i);
        self.check_contents(&b);
        self.rt.free(b.r).expect("free of a live block");
        self.live_bytes -= b.size as u64;
    }

    /// Reallocates the `i`th live block to `size` bytes.
    pub fn realloc_at(&mut self, i: usize, size: u32) -> u32 {
        let old = self.live[i].clone();
        let r = self.rt.realloc(old.r, size).unwrap_or_else(|e| {
            panic!("realloc({:#x}, {size}) failed: {e:?}, stats {:?}", old.r, self.rt.stats())
        });
        self.check_new(r, size);
        let b = HeapBlock { r, size, ..old.clone() };
        // The kept prefix must have survived the move; the model writes the grown tail.
        let keep = old.size.min(size);
        let kept = HeapBlock { size: keep, ..b.clone() };
        self.check_contents(&kept);
        if size > old.size {
            self.write_pattern(&b, old.size);
        }
        self.live_bytes = self.live_bytes - old.size as u64 + size as u64;
        self.live[i] = b;
        r
    }

    /// Verifies every invariant the model knows of.
    pub fn verify(&self) {
        let rt = &self.rt;
        let heap_start = rt.heap().start();
        let mem_end = rt.memory().size();
        let mut extents: Vec<(u32, u32, u32)> = Vec::with_capacity(self.live.len());
        let mut sum = 0u64;
        for b in &self.live {
            assert_eq!(b.r % 16, 0);
            assert_eq!(rt.rt_size(b.r), b.size, "rtSize of {:#x}", b.r);
            let info = ld(rt, b.r - 16);
            assert_eq!(info & 1, 0, "live block {:#x} marked FREE", b.r);
            let (s, e) = extent(rt, b.r);
            assert!(
                s >= heap_start && e <= mem_end - 16,
                "block {:#x}..{:#x} outside heap {:#x}..{:#x}",
                s,
                e,
                heap_start,
                mem_end
            );
            assert_eq!(e - s, block_size(b.size), "a used block is exactly block_size(rtSize)");
            extents.push((s, e, b.tag));
            sum += (e - s) as u64;
            self.check_contents(b);
        }
        extents.sort_unstable();
        for w in extents.windows(2) {
            assert!(w[0].1 <= w[1].0, "blocks overlap: {:x?} and {:x?}", w[0], w[1]);
        }
        assert_sound(rt, format_args!("after step {}", self.steps));
        let s = rt.stats();
        assert_eq!(s.heap_bytes, (mem_end - heap_start) as u64);
        assert_eq!(s.used_bytes, sum, "used bytes are the live blocks' extents");
        // One region (host memory grows contiguously): its sentinel is the only other block.
        assert_eq!(
            s.used_bytes + s.free_bytes + overhead(&self.rt),
            s.heap_bytes,
            "used + free + overhead = heap"
        );
        assert!(
            s.largest_free + 16 <= s.free_bytes.max(16),
            "largest_free {} vs free {}",
            s.largest_free,
            s.free_bytes
        );
        assert_eq!(s.live_objects, 0, "unmanaged blocks are not objects");
    }

    /// Frees every block and checks that the heap is one free block again.
    pub fn finish(mut self) {
        while !self.live.is_empty() {
            let i = (mix(self.live.len() as u64) % self.live.len() as u64) as usize;
            self.free_at(i);
            if self.live.len().is_multiple_of(8) {
                self.verify();
            }
        }
        self.verify();
        let s = self.rt.stats();
        assert_eq!(s.used_bytes, 0, "everything freed");
        assert_eq!(s.free_bytes, s.heap_bytes - overhead(&self.rt), "all but the overhead is free");
        assert_eq!(
            s.largest_free,
            largest_free_for_block(largest_free_block(&self.rt)),
            "largest_free of the coalesced heap"
        );
        // That payload really is allocatable without growing memory.
        let pages = self.rt.memory().pages();
        let r = self.rt.alloc(s.largest_free as u32).expect("largest_free is allocatable");
        assert_eq!(self.rt.memory().pages(), pages, "no growth for largest_free");
        self.rt.free(r).unwrap();
        assert_sound(&self.rt, "");
    }
}

/// Runs a heap model over `ops`, then frees everything.
pub fn run_heap_model(ops: &[RawOp], max_pages: u32, cap: u64) {
    let mut m = HeapModel::new(max_pages, cap);
    for &op in ops {
        m.apply(op);
    }
    m.finish();
}

// ---------------------------------------------------------------------------------------------
// Heap unit tests (shared by host and wasm)
// ---------------------------------------------------------------------------------------------

fn small_rt(initial: u32, max: u32) -> Rt {
    Runtime::host(HostConfig {
        initial_pages: initial,
        max_pages: max,
        stack_slots: 16,
        static_slots: 8,
    })
}

/// Asserts that `f` fails with `want` and leaves memory and stats exactly as they were.
pub fn expect_unchanged<T: core::fmt::Debug>(
    rt: &mut Rt,
    want: Error,
    f: impl FnOnce(&mut Rt) -> Result<T, Error>,
) {
    let before = snapshot(rt);
    let stats = rt.stats();
    let got = f(rt);
    match got {
        Err(e) => assert_eq!(e, want, "wrong error"),
        Ok(v) => panic!("expected {want:?}, got Ok({v:?})"),
    }
    assert_eq!(rt.stats(), stats, "stats changed by a failing call");
    assert!(snapshot(rt) == before, "memory changed by a failing call ({want:?})");
    assert_sound(rt, "");
}

/// Out of memory for a request that could fit an emptier heap: reported only after a full
/// collection (docs/ABI.md §6), which counts and recolors but, with no garbage, frees nothing.
pub fn expect_oom<T: core::fmt::Debug>(rt: &mut Rt, f: impl FnOnce(&mut Rt) -> Result<T, Error>) {
    let before = rt.stats();
    match f(rt) {
        Err(e) => assert_eq!(e, Error::OutOfMemory, "wrong error"),
        Ok(v) => panic!("expected OutOfMemory, got Ok({v:?})"),
    }
    let after = rt.stats();
    assert!(after.collections > before.collections, "out of memory without a collection");
    let same = |s: asrt::Stats| (s.heap_bytes, s.used_bytes, s.free_bytes, s.live_objects);
    assert_eq!(same(after), same(before), "a failed allocation changed the heap");
    assert_sound(rt, "");
}

/// Every rejected call leaves the heap unchanged.
pub fn heap_errors_leave_heap_unchanged() {
    let ids = ids();
    let mut rt = small_rt(2, 64);
    let a = rt.alloc(100).unwrap();
    let b = rt.alloc(40).unwrap();
    let c = rt.alloc(10).unwrap();
    rt.free(a).unwrap();
    // Double free: `a` starts a free block.
    expect_unchanged(&mut rt, Error::AlreadyFree, |rt| rt.free(a));
    expect_unchanged(&mut rt, Error::AlreadyFree, |rt| rt.realloc(a, 10));
    expect_unchanged(&mut rt, Error::Unaligned, |rt| rt.free(b + 4));
    expect_unchanged(&mut rt, Error::Unaligned, |rt| rt.realloc(b + 8, 4));
    let end = rt.memory().size();
    expect_unchanged(&mut rt, Error::OutsideHeap, |rt| rt.free(end));
    // The sentinel's own "ref" position and beyond are outside; just below is not a block.
    expect_unchanged(&mut rt, Error::NotABlock, |rt| rt.free(end - 16));
    expect_unchanged(&mut rt, Error::OutsideHeap, |rt| rt.free(rt.heap().start()));
    expect_unchanged(&mut rt, Error::OutsideHeap, |rt| rt.realloc(16, 4));
    // A managed object is not an __alloc block.
    let obj = rt.new_object(8, ids.tree).unwrap();
    expect_unchanged(&mut rt, Error::ManagedBlock, |rt| rt.free(obj));
    expect_unchanged(&mut rt, Error::ManagedBlock, |rt| rt.realloc(obj, 64));
    // Static objects neither.
    let slots = rt.static_slots();
    expect_unchanged(&mut rt, Error::ManagedBlock, |rt| rt.free(slots));
    expect_unchanged(&mut rt, Error::ManagedBlock, |rt| rt.realloc(slots, 64));
    // Interior of a live block (16-aligned but not a block start).
    let big = rt.alloc(256).unwrap();
    let err = {
        let before = snapshot(&rt);
        let e = rt.free(big + 64).unwrap_err();
        assert!(snapshot(&rt) == before);
        e
    };
    assert!(matches!(err, Error::NotABlock | Error::AlreadyFree | Error::OutsideHeap), "{err:?}");
    // Sizes.
    expect_unchanged(&mut rt, Error::SizeTooLarge, |rt| rt.alloc(MAX_PAYLOAD + 1));
    expect_unchanged(&mut rt, Error::SizeTooLarge, |rt| rt.alloc(u32::MAX));
    expect_unchanged(&mut rt, Error::SizeTooLarge, |rt| rt.realloc(b, MAX_PAYLOAD + 1));
    expect_unchanged(&mut rt, Error::SizeTooLarge, |rt| rt.new_object(MAX_PAYLOAD + 1, ids.abuf));
    // Out of memory within the 64-page cap (the largest payload is allowed but does not fit).
    expect_unchanged(&mut rt, Error::OutOfMemory, |rt| rt.alloc(MAX_PAYLOAD));
    expect_unchanged(&mut rt, Error::OutOfMemory, |rt| rt.alloc(64 * 65536));
    expect_unchanged(&mut rt, Error::OutOfMemory, |rt| rt.realloc(b, 64 * 65536));
    // free(0) is a no-op.
    let before = snapshot(&rt);
    rt.free(0).unwrap();
    assert!(snapshot(&rt) == before);
    // Everything still works.
    let d = rt.alloc(1000).unwrap();
    rt.free(d).unwrap();
    rt.free(b).unwrap();
    rt.free(c).unwrap();
    rt.free(big).unwrap();
    assert_sound(&rt, "");
}

/// Out of memory with a small cap: the heap passes its check and still allocates.
pub fn heap_oom_then_recovers() {
    let mut rt = small_rt(2, 8);
    let mut blocks = Vec::new();
    loop {
        match rt.alloc(40_000) {
            Ok(r) => blocks.push(r),
            Err(e) => {
                assert_eq!(e, Error::OutOfMemory);
                break;
            }
        }
        assert!(blocks.len() < 100, "the 8-page cap never hit");
    }
    assert!(blocks.len() >= 10, "8 pages hold at least 10 blocks of 40000 bytes: {}", blocks.len());
    assert_eq!(rt.memory().pages(), 8);
    assert_sound(&rt, "");
    // Failing again changes nothing.
    expect_oom(&mut rt, |rt| rt.alloc(40_000));
    // Small allocations still fit in the remainder, and a freed block is reused.
    let small = rt.alloc(16).unwrap();
    let freed = blocks.pop().unwrap();
    rt.free(freed).unwrap();
    // Good fit rounds a request up to the next class start, so the freed 40016-byte block
    // serves requests up to its class start (38912 bytes), not a second 40000 (documented
    // TLSF behaviour, like AssemblyScript's).
    let again = rt.alloc(38_000).expect("freed room is reused");
    assert!(again <= freed, "the freed block (or its merge) is reused");
    assert_sound(&rt, "");
    rt.free(again).unwrap();
    rt.free(small).unwrap();
    for b in blocks {
        rt.free(b).unwrap();
    }
    let s = rt.stats();
    assert_eq!(s.used_bytes, 0);
    assert_eq!(s.free_bytes, s.heap_bytes - overhead(&rt));
    assert_sound(&rt, "");
}

/// `largest_free` is allocatable without growing memory, on a fresh and a fragmented heap.
pub fn heap_largest_free_fits() {
    let mut rt = small_rt(3, 64);
    let mut rng = Rng::new(7);
    let mut live = Vec::new();
    for round in 0..200 {
        let s = rt.stats();
        let lf = s.largest_free as u32;
        let pages = rt.memory().pages();
        let r = rt
            .alloc(lf)
            .unwrap_or_else(|e| panic!("round {round}: alloc(largest_free = {lf}) failed: {e:?}"));
        assert_eq!(rt.memory().pages(), pages, "round {round}: alloc(largest_free) grew memory");
        rt.free(r).unwrap();
        // Fragment a little.
        if rng.below(3) == 0 && !live.is_empty() {
            let i = rng.below(live.len() as u32) as usize;
            rt.free(live.swap_remove(i)).unwrap();
        } else {
            live.push(rt.alloc(rng.below(5000)).unwrap());
        }
        assert_sound(&rt, "");
    }
}

/// Growth asks for the current size (doubling), capped by the room left under the maximum and
/// by `heap::GROW_STEP_CAP` pages per step; a growth that would pass the maximum fails cleanly.
pub fn heap_growth_doubles_then_falls_back() {
    let mut rt = small_rt(4, 40);
    assert_eq!(rt.memory().pages(), 4);
    // Needs one more page; the heap asks for the current size: 4 -> 8.
    let a = rt.alloc(300_000).unwrap();
    assert_eq!(rt.memory().pages(), 8, "doubling from 4 pages");
    let b = rt.alloc(300_000).unwrap();
    assert_eq!(rt.memory().pages(), 16, "doubling from 8 pages");
    let c = rt.alloc(700_000).unwrap();
    assert_eq!(rt.memory().pages(), 32, "doubling from 16 pages");
    // Doubling again would pass the cap of 40: it takes only the room that is left, which is
    // more than the 4 pages needed.
    let free_tail = rt.stats().free_bytes;
    let want = tlsf::round_up(block_size(1_000_000)).unwrap() as u64;
    let need = (want - free_tail.min(want)).div_ceil(65536) as u32;
    assert!(need < 8);
    let d = rt.alloc(1_000_000).unwrap();
    assert_eq!(rt.memory().pages(), 40, "growth capped at the maximum");
    assert_sound(&rt, "");
    // Beyond the cap: out of memory, nothing changed.
    expect_oom(&mut rt, |rt| rt.alloc(1_000_000));
    for r in [a, b, c, d] {
        rt.free(r).unwrap();
    }
    let s = rt.stats();
    assert_eq!(s.used_bytes, 0);
    assert_eq!(s.largest_free, largest_free_for_block(largest_free_block(&rt)));
    assert_sound(&rt, "");

    // A large memory grows by at most GROW_STEP_CAP pages at a time, and by exactly what is
    // needed when that is more.
    let cap = asrt::heap::GROW_STEP_CAP;
    let start = cap + 44;
    let mut rt = small_rt(start, start + 3 * cap + 200);
    let free = rt.stats().free_bytes as u32;
    let r = rt.alloc(free).unwrap();
    let p1 = start + cap;
    assert_eq!(rt.memory().pages(), p1, "one capped doubling step");
    let tail = rt.stats().free_bytes as u32;
    let big = tail + (cap + 32) * 65536;
    let want = tlsf::round_up(block_size(big)).unwrap();
    let need = (want - tail).div_ceil(65536);
    assert!(need > cap);
    let r2 = rt.alloc(big).unwrap();
    // Exactly what was needed, plus the block the start map moves to (it covers twice the
    // grown memory, 1 bit per 16 bytes).
    let map_pages = ((p1 + need) * 65536 * 2 / 128).div_ceil(65536);
    let pages = rt.memory().pages();
    assert!(
        pages >= p1 + need && pages <= p1 + need + map_pages,
        "grew {pages} pages, need {} and at most {map_pages} for the map",
        p1 + need
    );
    rt.free(r).unwrap();
    rt.free(r2).unwrap();
    assert_eq!(rt.stats().used_bytes, 0);
    assert_sound(&rt, "");
}

/// realloc grows in place into a free right neighbour, and shrinks in place.
pub fn heap_realloc_in_place() {
    let mut rt = small_rt(4, 64);
    let a = rt.alloc(100).unwrap();
    let b = rt.alloc(500).unwrap();
    let c = rt.alloc(100).unwrap();
    set(&rt, a, 0xAB, 100);
    rt.free(b).unwrap();
    let used = rt.stats().used_bytes;
    // Grows into the freed neighbour: same ref, contents kept.
    let a2 = rt.realloc(a, 400).unwrap();
    assert_eq!(a2, a, "grown in place");
    assert!(bytes(&rt, a, 100).iter().all(|&x| x == 0xAB));
    assert_eq!(rt.rt_size(a), 400);
    assert_eq!(rt.stats().used_bytes, used + (block_size(400) - block_size(100)) as u64);
    assert_sound(&rt, "");
    // Exactly the whole gap.
    let gap = c - 16 - (a - 16);
    let a3 = rt.realloc(a, gap - 16).unwrap();
    assert_eq!(a3, a, "grown to the whole gap in place");
    assert_eq!(extent(&rt, a).1, c - 16);
    assert_sound(&rt, "");
    // One more byte does not fit: moves.
    let a4 = rt.realloc(a, gap - 15).unwrap();
    assert_ne!(a4, a);
    assert!(bytes(&rt, a4, 100).iter().all(|&x| x == 0xAB), "contents moved");
    assert_sound(&rt, "");
    // Shrinks in place.
    let a5 = rt.realloc(a4, 50).unwrap();
    assert_eq!(a5, a4, "shrunk in place");
    assert_eq!(rt.rt_size(a5), 50);
    assert_eq!(extent(&rt, a5).1 - extent(&rt, a5).0, block_size(50));
    assert!(bytes(&rt, a5, 50).iter().all(|&x| x == 0xAB));
    let a6 = rt.realloc(a5, 0).unwrap();
    assert_eq!(a6, a5);
    assert_sound(&rt, "");
    // Same size class: in place.
    let a7 = rt.realloc(a6, 1).unwrap();
    assert_eq!(a7, a6);
    rt.free(a7).unwrap();
    rt.free(c).unwrap();
    let s = rt.stats();
    assert_eq!(s.used_bytes, 0);
    assert_sound(&rt, "");
}

// ---------------------------------------------------------------------------------------------
// GC model
// ---------------------------------------------------------------------------------------------

/// The kinds of objects the GC model makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum K {
    /// String with checksummed UTF-16 payload.
    Str,
    /// ArrayBuffer with checksummed bytes.
    Buf,
    /// Array<string>.
    ArrStr,
    /// Array<i32>.
    ArrI32,
    /// StaticArray<string>.
    SArr,
    /// TreeNode.
    Tree,
    /// The ArrayBuffer behind an array (its contents are checked through the array).
    Backing,
}

/// One object of the model.
#[derive(Clone, Debug)]
pub struct Obj {
    /// Its current ref.
    pub r: u32,
    /// Kind.
    pub k: K,
    /// rtSize.
    pub size: u32,
    /// Content seed (Str, Buf).
    pub seed: u64,
    /// Bytes below this come from `seed`; the rest of the payload is zero (renew's grown tail).
    pub valid: u32,
    /// Reference slots: TreeNode fields, StaticArray slots, Array<string> elements (0..length).
    pub slots: Vec<Option<usize>>,
    /// Array<i32> elements (0..length).
    pub ints: Vec<u32>,
    /// Array capacity in elements.
    pub cap: u32,
    /// The array's backing buffer (an object id).
    pub buffer: usize,
}

/// Where the single reference to an object is (for `renew`).
#[derive(Clone, Copy, Debug)]
enum Holder {
    Slot(usize, usize),
    Static(usize),
    Stack(usize),
}

/// The GC model.
pub struct GcModel {
    /// The runtime under test.
    pub rt: Rt,
    ids: Ids,
    objs: Vec<Option<Obj>>,
    /// Reachable object ids (after the last prune), ascending.
    tracked: Vec<usize>,
    stack: Vec<Option<usize>>,
    pins: BTreeMap<usize, u32>,
    statics: Vec<Option<usize>>,
    max_distinct_pins: usize,
    rng: Rng,
    /// Operations applied.
    pub steps: u64,
    baseline_used: u64,
    stack_limit: usize,
    /// Counts of what happened, for the test's own coverage report.
    pub counts: BTreeMap<&'static str, u64>,
}

fn slot_count(k: K) -> bool {
    matches!(k, K::Tree | K::SArr | K::ArrStr)
}

impl GcModel {
    /// A model over a fresh host runtime.
    pub fn new(max_pages: u32, seed: u64) -> Self {
        let rt = Runtime::host(HostConfig {
            initial_pages: 2,
            max_pages,
            stack_slots: 256,
            static_slots: 8,
        });
        let baseline_used = rt.stats().used_bytes;
        let n = (rt.rt_size(rt.static_slots()) / 4) as usize;
        GcModel {
            rt,
            ids: ids(),
            objs: Vec::new(),
            tracked: Vec::new(),
            stack: Vec::new(),
            pins: BTreeMap::new(),
            statics: std::vec![None; n],
            max_distinct_pins: 0,
            rng: Rng::new(seed),
            steps: 0,
            baseline_used,
            stack_limit: 200,
            counts: BTreeMap::new(),
        }
    }

    fn count(&mut self, what: &'static str) {
        *self.counts.entry(what).or_insert(0) += 1;
    }

    fn obj(&self, id: usize) -> &Obj {
        self.objs[id].as_ref().expect("tracked object")
    }

    fn obj_mut(&mut self, id: usize) -> &mut Obj {
        self.objs[id].as_mut().expect("tracked object")
    }

    fn id_of(&self, k: K) -> u32 {
        match k {
            K::Str => self.ids.string,
            K::Buf | K::Backing => self.ids.abuf,
            K::ArrStr => self.ids.arr_str,
            K::ArrI32 => self.ids.arr_i32,
            K::SArr => self.ids.sarr_str,
            K::Tree => self.ids.tree,
        }
    }

    fn r_of(&self, id: Option<usize>) -> u32 {
        id.map_or(0, |i| self.obj(i).r)
    }

    /// A random tracked object that may be stored anywhere (not an array's backing buffer).
    fn pick_child(&mut self, salt: u32) -> Option<usize> {
        let cands: Vec<usize> =
            self.tracked.iter().copied().filter(|&i| self.obj(i).k != K::Backing).collect();
        if cands.is_empty() || salt.is_multiple_of(6) {
            None
        } else {
            Some(cands[(salt / 6) as usize % cands.len()])
        }
    }

    /// A random tracked object of one of `kinds` satisfying `ok`.
    fn pick(&self, salt: u32, ok: impl Fn(&Obj) -> bool) -> Option<usize> {
        let cands: Vec<usize> = self.tracked.iter().copied().filter(|&i| ok(self.obj(i))).collect();
        if cands.is_empty() { None } else { Some(cands[salt as usize % cands.len()]) }
    }

    /// The address of reference slot `i` of container `c`.
    fn slot_addr(&self, c: usize, i: usize) -> u32 {
        let o = self.obj(c);
        match o.k {
            K::Tree | K::SArr => o.r + 4 * i as u32,
            K::ArrStr => self.obj(o.buffer).r + 4 * i as u32,
            _ => unreachable!(),
        }
    }

    fn slot_len(o: &Obj) -> usize {
        if slot_count(o.k) { o.slots.len() } else { 0 }
    }

    /// Stores `child` into slot `i` of container `c` and calls the barrier.
    fn store_slot(&mut self, c: usize, i: usize, child: Option<usize>, multiple: bool) {
        let addr = self.slot_addr(c, i);
        let cr = self.r_of(child);
        st(&self.rt, addr, cr);
        let pr = self.obj(c).r;
        self.rt.link(pr, cr, multiple).expect("link");
        self.obj_mut(c).slots[i] = child;
        self.count(if multiple { "link multiple" } else { "link single" });
    }

    fn store_static(&mut self, i: usize, child: Option<usize>, multiple: bool) {
        let s = self.rt.static_slots();
        let cr = self.r_of(child);
        st(&self.rt, s + 4 * i as u32, cr);
        self.rt.link(s, cr, multiple).expect("link static");
        self.statics[i] = child;
        self.count("static store");
    }

    fn fill_content(&self, o: &Obj) {
        let data: Vec<u8> = (0..o.size).map(|i| content_byte(o.seed, i)).collect();
        write(&self.rt, o.r, &data);
    }

    fn new_raw(&mut self, size: u32, k: K, keep: &[u32]) -> u32 {
        let id = self.id_of(k);
        let r = self.rt.new_object_keeping(size, id, keep).unwrap_or_else(|e| {
            panic!("new_object({size}, {id}) failed: {e:?} stats {:?}", self.rt.stats())
        });
        assert_eq!(r % 16, 0);
        assert_eq!(self.rt.rt_size(r), size);
        assert_eq!(self.rt.rt_id(r), id);
        assert!(bytes(&self.rt, r, size).iter().all(|&b| b == 0), "new payload is zeroed");
        r
    }

    fn push_obj(&mut self, o: Obj) -> usize {
        self.objs.push(Some(o));
        let id = self.objs.len() - 1;
        // Tracked until the next prune decides.
        self.tracked.push(id);
        id
    }

    /// Creates an object of kind `k`; returns its id (not yet rooted).
    fn create(&mut self, k: K, x: u32, y: u32) -> usize {
        self.count(match k {
            K::Str => "new String",
            K::Buf => "new ArrayBuffer",
            K::ArrStr => "new Array<string>",
            K::ArrI32 => "new Array<i32>",
            K::SArr => "new StaticArray<string>",
            K::Tree => "new TreeNode",
            K::Backing => unreachable!(),
        });
        let big = x.is_multiple_of(29);
        let base = Obj {
            r: 0,
            k,
            size: 0,
            seed: 0,
            valid: 0,
            slots: Vec::new(),
            ints: Vec::new(),
            cap: 0,
            buffer: usize::MAX,
        };
        match k {
            K::Str | K::Buf => {
                let size = match (k, big) {
                    (K::Str, false) => 2 * (y % 200),
                    (K::Str, true) => 2 * (y % 3000),
                    (_, false) => y % 500,
                    _ => y % 20_000,
                };
                let r = self.new_raw(size, k, &[]);
                let o = Obj { r, size, seed: self.rng.next_u64(), valid: size, ..base };
                self.fill_content(&o);
                self.push_obj(o)
            }
            K::Tree => {
                let r = self.new_raw(8, k, &[]);
                self.push_obj(Obj { r, size: 8, slots: std::vec![None; 2], ..base })
            }
            K::SArr => {
                let n = if big { 300 + y % 900 } else { y % 9 };
                let r = self.new_raw(4 * n, k, &[]);
                self.push_obj(Obj { r, size: 4 * n, slots: std::vec![None; n as usize], ..base })
            }
            K::ArrStr | K::ArrI32 => {
                let cap = if big { 300 + y % 1700 } else { y % 17 };
                let len = if cap == 0 { 0 } else { (y >> 12) % (cap + 1) };
                let buf = self.new_raw(4 * cap, K::Backing, &[]);
                let arr = self.new_raw(16, k, &[buf]);
                let mut ints = Vec::new();
                if k == K::ArrI32 {
                    for i in 0..len {
                        let v = self.rng.next_u32();
                        st(&self.rt, buf + 4 * i, v);
                        ints.push(v);
                    }
                }
                st(&self.rt, arr, buf);
                st(&self.rt, arr + 4, buf);
                st(&self.rt, arr + 8, 4 * cap);
                st(&self.rt, arr + 12, len);
                self.rt.link(arr, buf, false).expect("link buffer");
                let b = self.push_obj(Obj { r: buf, k: K::Backing, size: 4 * cap, ..base.clone() });
                let slots = if k == K::ArrStr { std::vec![None; len as usize] } else { Vec::new() };
                self.push_obj(Obj { r: arr, size: 16, slots, ints, cap, buffer: b, ..base })
            }
            K::Backing => unreachable!(),
        }
    }

    /// Roots or stores a fresh object according to `dest`.
    fn place(&mut self, id: usize, dest: u32, salt: u32) {
        let multiple = salt & 1 == 1;
        match dest % 6 {
            0 if self.stack.len() < self.stack_limit => {
                let r = self.obj(id).r;
                assert_eq!(self.rt.push(r).expect("push"), r);
                self.stack.push(Some(id));
                self.count("push");
            }
            1 => self.pin(id),
            2 => {
                let i = salt as usize % self.statics.len();
                self.store_static(i, Some(id), multiple);
            }
            3 | 4 => {
                let c = self.pick(salt, |o| slot_count(o.k) && !o.slots.is_empty() && o.r != 0);
                match c {
                    Some(c) if c != id => {
                        let i = (salt >> 8) as usize % Self::slot_len(self.obj(c));
                        self.store_slot(c, i, Some(id), multiple);
                    }
                    _ => {
                        let i = salt as usize % self.statics.len();
                        self.store_static(i, Some(id), multiple);
                    }
                }
            }
            _ => self.count("garbage"),
        }
    }

    fn pin(&mut self, id: usize) {
        let r = self.obj(id).r;
        assert_eq!(self.rt.pin(r).expect("pin"), r);
        *self.pins.entry(id).or_insert(0) += 1;
        self.max_distinct_pins = self.max_distinct_pins.max(self.pins.len());
        self.count("pin");
    }

    /// Objects reachable from the model's roots.
    fn reachable(&self) -> Vec<bool> {
        let mut seen = std::vec![false; self.objs.len()];
        let mut work: Vec<usize> = Vec::new();
        let roots = self
            .stack
            .iter()
            .flatten()
            .chain(self.statics.iter().flatten())
            .chain(self.pins.keys());
        for &r in roots {
            if !seen[r] {
                seen[r] = true;
                work.push(r);
            }
        }
        while let Some(i) = work.pop() {
            let o = self.obj(i);
            let mut visit = |c: usize| {
                if !seen[c] {
                    seen[c] = true;
                    work.push(c);
                }
            };
            for &c in o.slots.iter().flatten() {
                visit(c);
            }
            if matches!(o.k, K::ArrStr | K::ArrI32) {
                visit(o.buffer);
            }
        }
        seen
    }

    /// Forgets every object the model cannot reach: the collector may free it from now on.
    pub fn prune(&mut self) {
        let seen = self.reachable();
        let mut tracked = Vec::new();
        for (i, o) in self.objs.iter_mut().enumerate() {
            if o.is_some() {
                if seen[i] {
                    tracked.push(i);
                } else {
                    *o = None;
                }
            }
        }
        self.tracked = tracked;
    }

    /// The places holding a reference to `id` (slots of tracked containers, statics, stack).
    fn holders(&self, id: usize) -> Vec<Holder> {
        let mut h = Vec::new();
        for &c in &self.tracked {
            let o = self.obj(c);
            for (i, s) in o.slots.iter().enumerate() {
                if *s == Some(id) {
                    h.push(Holder::Slot(c, i));
                }
            }
        }
        for (i, s) in self.statics.iter().enumerate() {
            if *s == Some(id) {
                h.push(Holder::Static(i));
            }
        }
        for (i, s) in self.stack.iter().enumerate() {
            if *s == Some(id) {
                h.push(Holder::Stack(i));
            }
        }
        h
    }

    fn stack_base(&self) -> u32 {
        ld(&self.rt, self.rt.shadow_stack() + 4)
    }

    /// Applies one raw operation, prunes, and verifies everything.
    pub fn apply(&mut self, (k, a, b): RawOp) {
        self.steps += 1;
        let multiple = b & 0x8000_0000 != 0;
        let trace = std::env::var("GC_MODEL_TRACE").is_ok();
        let before =
            if trace { std::format!("{:?}", self.counts) } else { std::string::String::new() };
        match k % 20 {
            // new_object of every kind, rooted somewhere (or garbage)
            0..=4 => {
                let kind =
                    [K::Str, K::Buf, K::ArrStr, K::ArrI32, K::SArr, K::Tree][(a % 6) as usize];
                // Pick the destination container before allocating: it stays reachable.
                let id = self.create(kind, a >> 3, b);
                self.place(id, a >> 16, b.rotate_left(7));
            }
            // field / element stores + link
            5..=7 => {
                let c = self.pick(a, |o| slot_count(o.k) && !o.slots.is_empty());
                if let Some(c) = c {
                    let i = (b as usize >> 3) % Self::slot_len(self.obj(c));
                    let child = self.pick_child(b.rotate_right(11));
                    self.store_slot(c, i, child, multiple);
                } else {
                    let id = self.create(K::Tree, a, b);
                    self.place(id, 2, b);
                }
            }
            // array push (renews the buffer when full)
            8 => {
                if let Some(c) = self.pick(a, |o| matches!(o.k, K::ArrStr | K::ArrI32)) {
                    self.array_push(c, b, multiple);
                }
            }
            9 => {
                let child = self.pick_child(a);
                if self.stack.len() < self.stack_limit {
                    let r = self.r_of(child);
                    assert_eq!(self.rt.push(r).expect("push"), r);
                    self.stack.push(child);
                    self.count("push");
                }
            }
            10 => {
                let n = (a % 4).min(self.stack.len() as u32);
                if n > 0 {
                    self.rt.pop(n).expect("pop");
                    for _ in 0..n {
                        self.stack.pop();
                    }
                    self.count("pop");
                } else {
                    let before = snapshot(&self.rt);
                    let depth = self.stack.len() as u32;
                    assert_eq!(self.rt.pop(depth + 1), Err(Error::StackUnderflow));
                    assert!(snapshot(&self.rt) == before);
                }
            }
            11 => {
                if let Some(id) = self.pick_child(a | 1) {
                    self.pin(id);
                }
            }
            12 => {
                let pinned: Vec<usize> = self.pins.keys().copied().collect();
                if !pinned.is_empty() && a % 5 != 0 {
                    let id = pinned[b as usize % pinned.len()];
                    self.rt.unpin(self.obj(id).r).expect("unpin");
                    let n = self.pins.get_mut(&id).unwrap();
                    *n -= 1;
                    if *n == 0 {
                        self.pins.remove(&id);
                    }
                    self.count("unpin");
                } else if let Some(id) = self.pick(b, |_| true)
                    && !self.pins.contains_key(&id)
                {
                    let before = snapshot(&self.rt);
                    assert_eq!(self.rt.unpin(self.obj(id).r), Err(Error::NotPinned));
                    assert!(snapshot(&self.rt) == before, "a failed unpin changed memory");
                    self.count("unpin unpinned");
                }
            }
            13 | 14 => {
                for _ in 0..=(a % 8) {
                    self.rt.gc_step();
                }
                self.count("gc_step");
            }
            15 => {
                if a % 4 == 0 {
                    self.rt.collect();
                    assert_eq!(self.rt.phase(), Phase::Idle);
                    // Everything unreachable before the full cycle is gone.
                    if self.rt.stats().live_objects != self.tracked.len() as u64 {
                        panic!(
                            "after collect(), exactly the reachable objects are live: {} live, {} reachable; extra: {}",
                            self.rt.stats().live_objects,
                            self.tracked.len(),
                            self.describe_extra()
                        );
                    }
                    self.count("collect");
                } else {
                    self.rt.gc_step();
                }
            }
            16 => self.renew_one(a, b, multiple),
            17 => {
                let i = a as usize % self.statics.len();
                let child = self.pick_child(b);
                self.store_static(i, child, multiple);
            }
            18 => {
                let small = a % 3 != 0;
                let (pause, work) = match a % 5 {
                    0 => (10, 1024),
                    1 | 2 => (100, 1024),
                    3 => (100, 4096),
                    _ => (100, 64 * 1024),
                };
                let _ = small;
                self.rt.configure(pause, work).expect("configure");
                self.count("configure");
            }
            _ => self.clear_one(a, b),
        }
        if trace {
            let after = std::format!("{:?}", self.counts);
            let statics: Vec<std::string::String> = self
                .statics
                .iter()
                .map(|s| match s {
                    Some(i) => std::format!(
                        "#{i}:{:?}@{:#x}/{:#x}",
                        self.obj(*i).k,
                        self.obj(*i).r,
                        ld(&self.rt, self.obj(*i).r - 12)
                    ),
                    None => "-".into(),
                })
                .collect();
            std::eprintln!(
                "step {} op {} phase {:?} check {} statics {:?} {}",
                self.steps,
                k % 20,
                self.rt.phase(),
                self.rt.check(),
                statics,
                if before != after { after } else { std::string::String::new() }
            );
        }
        self.prune();
        self.verify();
    }

    fn array_push(&mut self, c: usize, b: u32, multiple: bool) {
        let (len, cap, buf, kind) = {
            let o = self.obj(c);
            let len = if o.k == K::ArrStr { o.slots.len() } else { o.ints.len() } as u32;
            (len, o.cap, o.buffer, o.k)
        };
        if len == cap {
            let new_cap = if b.is_multiple_of(17) { cap * 2 + 300 } else { cap * 2 + 1 };
            let old = self.obj(buf).r;
            let arr = self.obj(c).r;
            let nb = self.rt.renew(old, 4 * new_cap).expect("renew buffer");
            assert_eq!(self.rt.rt_size(nb), 4 * new_cap);
            // The grown tail is zeroed.
            assert!(
                bytes(&self.rt, nb + 4 * cap, 4 * (new_cap - cap)).iter().all(|&x| x == 0),
                "grown tail zeroed"
            );
            st(&self.rt, arr, nb);
            st(&self.rt, arr + 4, nb);
            st(&self.rt, arr + 8, 4 * new_cap);
            self.rt.link(arr, nb, false).expect("link buffer");
            {
                let bo = self.obj_mut(buf);
                bo.r = nb;
                bo.size = 4 * new_cap;
            }
            self.obj_mut(c).cap = new_cap;
            self.count(if nb == old { "buffer renewed in place" } else { "buffer renewed moved" });
        }
        let arr = self.obj(c).r;
        let slot = self.obj(buf).r + 4 * len;
        if kind == K::ArrStr {
            let child = self.pick_child(b >> 1);
            let cr = self.r_of(child);
            st(&self.rt, slot, cr);
            st(&self.rt, arr + 12, len + 1);
            self.rt.link(arr, cr, multiple).expect("link element");
            self.obj_mut(c).slots.push(child);
        } else {
            let v = self.rng.next_u32();
            st(&self.rt, slot, v);
            st(&self.rt, arr + 12, len + 1);
            self.obj_mut(c).ints.push(v);
        }
        self.count("array push");
    }

    fn renew_one(&mut self, a: u32, b: u32, multiple: bool) {
        let cands: Vec<usize> = self
            .tracked
            .iter()
            .copied()
            .filter(|&i| {
                matches!(self.obj(i).k, K::Str | K::Buf | K::SArr) && !self.pins.contains_key(&i)
            })
            .collect();
        if cands.is_empty() {
            return;
        }
        let start = a as usize % cands.len();
        for j in 0..cands.len() {
            let id = cands[(start + j) % cands.len()];
            let h = self.holders(id);
            if h.len() != 1 {
                continue;
            }
            let o = self.obj(id).clone();
            let size = match o.k {
                K::Str => 2 * (b % 400),
                K::Buf => b % 900,
                _ => 4 * (b % 14),
            };
            let new = self.rt.renew(o.r, size).unwrap_or_else(|e| panic!("renew failed: {e:?}"));
            assert_eq!(self.rt.rt_size(new), size);
            if size > o.size {
                assert!(
                    bytes(&self.rt, new + o.size, size - o.size).iter().all(|&x| x == 0),
                    "renew zeroes the grown tail"
                );
            }
            {
                let no = self.obj_mut(id);
                no.r = new;
                no.size = size;
                no.valid = no.valid.min(size);
                if no.k == K::SArr {
                    no.slots.resize((size / 4) as usize, None);
                }
            }
            self.count(if new == o.r { "renew in place" } else { "renew moved" });
            match h[0] {
                Holder::Slot(c, i) => {
                    if i < Self::slot_len(self.obj(c)) {
                        self.store_slot(c, i, Some(id), multiple);
                    }
                }
                Holder::Static(i) => self.store_static(i, Some(id), multiple),
                Holder::Stack(i) => {
                    let base = self.stack_base();
                    st(&self.rt, base + 4 * i as u32, new);
                }
            }
            // A renewed StaticArray holding itself is impossible (one holder), but a shrunk one
            // may have dropped slots: nothing more to do, the model already forgot them.
            return;
        }
    }

    fn clear_one(&mut self, a: u32, b: u32) {
        let Some(c) = self.pick(a, |o| matches!(o.k, K::Tree | K::SArr | K::ArrStr | K::ArrI32))
        else {
            return;
        };
        let o = self.obj(c).clone();
        match o.k {
            K::Tree | K::SArr => {
                for i in 0..o.slots.len() {
                    st(&self.rt, o.r + 4 * i as u32, 0);
                }
                self.obj_mut(c).slots.iter_mut().for_each(|s| *s = None);
            }
            _ => {
                // Truncate: the stale slots beyond the new length stay in the buffer.
                let len = if o.k == K::ArrStr { o.slots.len() } else { o.ints.len() } as u32;
                let nl = b % (len + 1);
                st(&self.rt, o.r + 12, nl);
                let m = self.obj_mut(c);
                m.slots.truncate(nl as usize);
                m.ints.truncate(nl as usize);
            }
        }
        self.count("clear");
    }

    /// Describes live heap objects the model does not track (for failure messages).
    fn describe_extra(&self) -> std::string::String {
        let rt = &self.rt;
        let known: std::collections::BTreeSet<u32> =
            self.tracked.iter().map(|&i| self.obj(i).r).collect();
        let mut out = std::string::String::new();
        let heap = rt.heap();
        let mut b = heap.first_block();
        while b != 0 {
            let info = ld(rt, b);
            if info & 1 == 0 && ld(rt, b + 4) & 8 != 0 && !known.contains(&(b + 16)) {
                let r = b + 16;
                let mut holders = std::vec::Vec::new();
                let mut c = heap.first_block();
                while c != 0 {
                    let ci = ld(rt, c);
                    if ci & 1 == 0 && ld(rt, c + 4) & 8 != 0 {
                        let n = (ci & !3) + 4 - 16;
                        for off in (0..n.min(rt.rt_size(c + 16) + 3) & !3).step_by(4) {
                            if off + 4 <= n && ld(rt, c + 16 + off) == r {
                                holders.push((c + 16, off, known.contains(&(c + 16))));
                            }
                        }
                    }
                    // SAFETY: a block start from the walk.
                    c = unsafe { heap.next_block(c) };
                }
                out += &std::format!(
                    "\n  {r:#x} id {} size {} gc {:#x} pins {} holders {:x?}",
                    rt.rt_id(r),
                    rt.rt_size(r),
                    ld(rt, b + 4),
                    rt.pin_count(r),
                    holders
                );
            }
            // SAFETY: a block start from the walk.
            b = unsafe { heap.next_block(b) };
        }
        out
    }

    /// Describes objects holding references that are not live objects (for failure messages).
    fn describe_dangling(&self) -> std::string::String {
        let rt = &self.rt;
        let known: BTreeMap<u32, usize> =
            self.tracked.iter().map(|&i| (self.obj(i).r, i)).collect();
        let mut out = std::string::String::new();
        let heap = rt.heap();
        let mut b = heap.first_block();
        while b != 0 {
            let info = ld(rt, b);
            let gc = ld(rt, b + 4);
            if info & 1 == 0 && gc & 8 != 0 {
                let r = b + 16;
                let id = rt.rt_id(r);
                let desc = rtti::TYPES[id as usize];
                let mut kids = Vec::new();
                if desc.flags & flags::ARRAY != 0 {
                    kids.push(ld(rt, r));
                    if desc.flags & flags::VALUE_MANAGED != 0 {
                        let data = ld(rt, r + 4);
                        for i in 0..ld(rt, r + 12) {
                            kids.push(ld(rt, data + 4 * i));
                        }
                    }
                } else if desc.flags & flags::STATICARRAY != 0 {
                    for i in 0..rt.rt_size(r) / 4 {
                        kids.push(ld(rt, r + 4 * i));
                    }
                } else if desc.flags & flags::POINTERFREE == 0 {
                    for &o in desc.refs {
                        kids.push(ld(rt, r + o));
                    }
                }
                if gc & 4 != 0 && rt.pin_count(r) == 0 {
                    out += &std::format!("\n  {r:#x} PINNED bit without pins (gc {gc:#x})");
                }
                if gc & 3 == 2 {
                    let nx = gc & !15;
                    out += &std::format!(
                        "\n  {r:#x} gray (gc {gc:#x}, id {id}, model {:?}) next block {nx:#x}: {:x?}",
                        known.get(&r),
                        if nx != 0 {
                            [ld(rt, nx), ld(rt, nx + 4), ld(rt, nx + 8), ld(rt, nx + 12)]
                        } else {
                            [0; 4]
                        }
                    );
                    if nx != 0 && ld(rt, nx + 4) & 3 == 2 {
                        let t = nx + 16;
                        let words: Vec<u32> = (0..rt.memory().size() / 4)
                            .map(|i| i * 4)
                            .filter(|&a| ld(rt, a) == t)
                            .collect();
                        out += &std::format!("\n    words holding {t:#x}: {words:x?}");
                    }
                }
                for &c in &kids {
                    if gc & 3 == 3
                        && c >= heap.start()
                        && rt.validate_object(c).is_ok()
                        && ld(rt, c - 12) & 3 < 2
                    {
                        out += &std::format!(
                            "\n  black {r:#x} (id {id}, model {:?}) -> white {c:#x} (model {:?})",
                            known.get(&r),
                            known.get(&c)
                        );
                    }
                }
                for c in kids {
                    if c != 0 && rt.validate_object(c).is_err() {
                        out += &std::format!(
                            "\n  {r:#x} (id {id}, gc {gc:#x}, model {:?}) -> {c:#x}: {:?}",
                            known.get(&r),
                            rt.validate_object(c)
                        );
                    }
                }
            }
            // SAFETY: a block start from the walk.
            b = unsafe { heap.next_block(b) };
        }
        out
    }

    /// Checks every tracked object, the roots and the heap.
    pub fn verify(&self) {
        let rt = &self.rt;
        for &i in &self.tracked {
            let o = self.obj(i);
            let what =
                || std::format!("object #{i} {:?} at {:#x} after step {}", o.k, o.r, self.steps);
            rt.validate_managed(o.r)
                .unwrap_or_else(|e| panic!("{}: not a live object: {e:?}", what()));
            assert_eq!(rt.rt_id(o.r), self.id_of(o.k), "{}: rtId", what());
            assert_eq!(rt.rt_size(o.r), o.size, "{}: rtSize", what());
            match o.k {
                K::Str | K::Buf => {
                    let data = bytes(rt, o.r, o.size);
                    for (j, &x) in data.iter().enumerate() {
                        let want =
                            if (j as u32) < o.valid { content_byte(o.seed, j as u32) } else { 0 };
                        if x != want {
                            panic!("{}: payload byte {j} is {x:#x}, want {want:#x}", what());
                        }
                    }
                }
                K::Tree | K::SArr => {
                    for (j, s) in o.slots.iter().enumerate() {
                        assert_eq!(
                            ld(rt, o.r + 4 * j as u32),
                            self.r_of(*s),
                            "{}: slot {j}",
                            what()
                        );
                    }
                }
                K::ArrStr | K::ArrI32 => {
                    let buf = self.obj(o.buffer);
                    assert_eq!(ld(rt, o.r), buf.r, "{}: buffer", what());
                    assert_eq!(ld(rt, o.r + 4), buf.r, "{}: dataStart", what());
                    assert_eq!(ld(rt, o.r + 8), 4 * o.cap, "{}: byteLength", what());
                    assert_eq!(buf.size, 4 * o.cap);
                    if o.k == K::ArrStr {
                        assert_eq!(ld(rt, o.r + 12), o.slots.len() as u32, "{}: length", what());
                        for (j, s) in o.slots.iter().enumerate() {
                            assert_eq!(
                                ld(rt, buf.r + 4 * j as u32),
                                self.r_of(*s),
                                "{}: element {j}",
                                what()
                            );
                        }
                    } else {
                        assert_eq!(ld(rt, o.r + 12), o.ints.len() as u32, "{}: length", what());
                        for (j, &v) in o.ints.iter().enumerate() {
                            assert_eq!(ld(rt, buf.r + 4 * j as u32), v, "{}: element {j}", what());
                        }
                    }
                }
                K::Backing => {}
            }
        }
        let s = rt.static_slots();
        for (i, c) in self.statics.iter().enumerate() {
            assert_eq!(ld(rt, s + 4 * i as u32), self.r_of(*c), "static slot {i}");
        }
        let h = rt.shadow_stack();
        let base = ld(rt, h + 4);
        assert_eq!(ld(rt, h), base + 4 * self.stack.len() as u32, "shadow stack top");
        for (i, c) in self.stack.iter().enumerate() {
            assert_eq!(ld(rt, base + 4 * i as u32), self.r_of(*c), "shadow stack slot {i}");
        }
        for (&id, &n) in &self.pins {
            assert_eq!(rt.pin_count(self.obj(id).r), n, "pin count of #{id}");
        }
        let errors = rt.check();
        if errors != 0 {
            let walk = {
                let heap = rt.heap();
                let mut b = heap.first_block();
                let mut n = 0u64;
                while b != 0 {
                    if ld(rt, b) & 1 == 0 && ld(rt, b + 4) & 8 != 0 {
                        n += 1;
                    }
                    // SAFETY: `b` is a block start of the walk.
                    b = unsafe { heap.next_block(b) };
                }
                n
            };
            panic!(
                "__heap_check = {errors} after step {} (phase {:?}): {}; heap-only check {}; managed blocks {walk} vs live_objects {}{}",
                self.steps,
                rt.phase(),
                report(rt),
                rt.heap().check(),
                rt.stats().live_objects,
                self.describe_dangling()
            );
        }
        let st = rt.stats();
        assert!(
            st.live_objects >= self.tracked.len() as u64,
            "fewer live objects than reachable ones"
        );
        assert_eq!(st.used_bytes + st.free_bytes + overhead(rt), st.heap_bytes);
    }

    /// Bytes of the pin table: it is allocated on the first pin and never freed; its capacity
    /// is a power of two, at least 16, with at least twice as many entries as pins at once.
    pub fn pin_table_bytes(&self) -> u64 {
        if self.max_distinct_pins == 0 {
            return 0;
        }
        let cap = (2 * self.max_distinct_pins).next_power_of_two().max(16) as u32;
        block_size(cap * 8) as u64
    }

    /// Drops every root, collects twice, and checks that the heap is back to its baseline.
    pub fn finish(mut self) {
        let depth = self.stack.len() as u32;
        self.rt.pop(depth).unwrap();
        self.stack.clear();
        let pins: Vec<(usize, u32)> = self.pins.iter().map(|(&a, &b)| (a, b)).collect();
        for (id, n) in pins {
            for _ in 0..n {
                self.rt.unpin(self.obj(id).r).unwrap();
            }
        }
        self.pins.clear();
        for i in 0..self.statics.len() {
            self.store_static(i, None, false);
        }
        self.prune();
        assert!(self.tracked.is_empty());
        self.rt.collect();
        assert_sound(&self.rt, "");
        self.rt.collect();
        assert_sound(&self.rt, "");
        let s = self.rt.stats();
        assert_eq!(s.live_objects, 0, "every object collected");
        assert_eq!(
            s.used_bytes,
            self.baseline_used + self.pin_table_bytes(),
            "used bytes back to the baseline (+ the pin table for {} pins at most)",
            self.max_distinct_pins
        );
        assert_eq!(self.rt.phase(), Phase::Idle);
    }
}

/// Runs a GC model over `ops` (with `small` starting with `configure(100, 1024)`), then drops
/// every root and checks the heap is back to its baseline.
pub fn run_gc_model(
    ops: &[RawOp],
    max_pages: u32,
    seed: u64,
    small: bool,
) -> BTreeMap<&'static str, u64> {
    let mut m = GcModel::new(max_pages, seed);
    if small {
        m.rt.configure(100, 1024).unwrap();
    }
    for &op in ops {
        m.apply(op);
    }
    let counts = m.counts.clone();
    m.finish();
    counts
}

// ---------------------------------------------------------------------------------------------
// wasm test bodies, shared by tests/wasm_*.rs (node) and tests/wasm_*_browser.rs (Chromium)
// ---------------------------------------------------------------------------------------------

/// The heap tests for wasm: the shadow model driven by [`Rng`], and the unit tests.
#[allow(unused_macros)]
macro_rules! wasm_heap_tests {
    () => {
        #[wasm_bindgen_test]
        fn heap_model_prng() {
            for seed in 0..4u64 {
                let ops = model::Rng::new(seed).ops(300);
                // 32 MiB reservation (HostMemory reserves its maximum up front), 4 MiB live.
                model::run_heap_model(&ops, 512, 4 << 20);
            }
        }
        #[wasm_bindgen_test]
        fn heap_model_small_blocks_prng() {
            let mut rng = model::Rng::new(99);
            let ops: Vec<model::RawOp> = (0..800)
                .map(|_| {
                    let (k, a, b) = rng.op();
                    (k, a, b % 2000)
                })
                .collect();
            model::run_heap_model(&ops, 256, 4 << 20);
        }
        #[wasm_bindgen_test]
        fn heap_errors_leave_the_heap_unchanged() {
            model::heap_errors_leave_heap_unchanged();
        }
        #[wasm_bindgen_test]
        fn heap_out_of_memory_then_recovers() {
            model::heap_oom_then_recovers();
        }
        #[wasm_bindgen_test]
        fn heap_largest_free_is_allocatable_without_growth() {
            model::heap_largest_free_fits();
        }
        #[wasm_bindgen_test]
        fn heap_growth_doubles_then_falls_back() {
            model::heap_growth_doubles_then_falls_back();
        }
        #[wasm_bindgen_test]
        fn heap_realloc_grows_and_shrinks_in_place() {
            model::heap_realloc_in_place();
        }
    };
}

/// The GC model tests for wasm, driven by [`Rng`].
#[allow(unused_macros)]
macro_rules! wasm_gc_tests {
    () => {
        #[wasm_bindgen_test]
        fn gc_model_prng_small_steps() {
            for seed in 0..3u64 {
                let ops = model::Rng::new(seed).ops(1500);
                model::run_gc_model(&ops, 256, seed, true);
            }
        }
        #[wasm_bindgen_test]
        fn gc_model_prng_default_steps() {
            for seed in 10..13u64 {
                let ops = model::Rng::new(seed).ops(1500);
                model::run_gc_model(&ops, 256, seed, false);
            }
        }
        #[wasm_bindgen_test]
        fn gc_model_many_short_runs() {
            let mut rng = model::Rng::new(1234);
            for case in 0..40u64 {
                let n = 1 + rng.below(300) as usize;
                let ops = rng.ops(n);
                model::run_gc_model(&ops, 128, case, case % 2 == 0);
            }
        }
    };
}
