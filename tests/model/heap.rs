//! The heap's shadow model: every live unmanaged block's ref, requested size and fill pattern;
//! after every step the blocks must not overlap, must lie in the heap, keep their contents, and
//! the heap's figures must add up.

use std::vec::Vec;

use asrt::Runtime;
use asrt::host::HostConfig;
use asrt::memory::Memory;
use asrt::object::block_size;

use super::*;

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

/// A block for the heap model to allocate: `size` bytes, the fill byte drawn from `salt`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NewBlock {
    /// The requested size.
    pub size: u32,
    /// Mixed into the fill byte.
    pub salt: u32,
}

/// One operation of the heap model, decoded from a [`RawOp`] by [`HeapOp::decode`]. A live
/// block is named by an index taken modulo the number of live blocks when the operation is
/// applied, so any sequence of operations applies to any state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeapOp {
    /// Allocates `block`; when that would pass the model's live-byte cap and a block is live,
    /// frees the live block `victim` instead.
    Alloc {
        /// What to allocate.
        block: NewBlock,
        /// The block to free instead.
        victim: u32,
    },
    /// Frees the live block `index`; with no live block, allocates `or_alloc`.
    Free {
        /// The block to free.
        index: u32,
        /// What to allocate when no block is live.
        or_alloc: NewBlock,
    },
    /// Reallocates the live block `index` to `size` bytes (to half its size when `size` would
    /// pass the cap); with no live block, allocates `or_alloc`.
    Realloc {
        /// The block to reallocate.
        index: u32,
        /// Its new size.
        size: u32,
        /// What to allocate when no block is live.
        or_alloc: NewBlock,
    },
}

impl HeapOp {
    /// Decodes a raw operation: half of them allocate, a fifth free, the rest reallocate, with
    /// sizes from [`heap_size`].
    pub fn decode((k, a, b): RawOp) -> Self {
        let block = NewBlock { size: heap_size(a, b), salt: b };
        match k % 10 {
            0..=4 => HeapOp::Alloc { block, victim: a },
            5..=6 => HeapOp::Free { index: a, or_alloc: block },
            _ => HeapOp::Realloc { index: a, size: heap_size(b, b >> 4 ^ a), or_alloc: block },
        }
    }
}

impl Rng {
    /// `n` heap model operations.
    pub fn heap_ops(&mut self, n: usize) -> Vec<HeapOp> {
        self.ops(n).into_iter().map(HeapOp::decode).collect()
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

    /// Applies one operation, then verifies everything.
    pub fn apply(&mut self, op: HeapOp) {
        self.steps += 1;
        let n = self.live.len() as u32;
        match op {
            HeapOp::Alloc { block, victim } => {
                if self.live_bytes + block.size as u64 > self.cap && n > 0 {
                    self.free_at((victim % n) as usize);
                } else {
                    self.alloc(block.size, block.salt);
                }
            }
            HeapOp::Free { index, .. } if n > 0 => self.free_at((index % n) as usize),
            HeapOp::Realloc { index, mut size, .. } if n > 0 => {
                let i = (index % n) as usize;
                let old = self.live[i].size as u64;
                if self.live_bytes - old + size as u64 > self.cap {
                    size = self.live[i].size / 2;
                }
                self.realloc_at(i, size);
            }
            HeapOp::Free { or_alloc, .. } | HeapOp::Realloc { or_alloc, .. } => {
                self.alloc(or_alloc.size, or_alloc.salt);
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
pub fn run_heap_model(ops: &[HeapOp], max_pages: u32, cap: u64) {
    let mut m = HeapModel::new(max_pages, cap);
    for &op in ops {
        m.apply(op);
    }
    m.finish();
}
