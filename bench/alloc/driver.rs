// Shared allocator workload, compiled into every bench module with `include!`.
//
// The including crate must define, with these exact signatures (as `unsafe extern "C" fn`):
//   bench_alloc(size: usize) -> *mut u8
//   bench_free(ptr: *mut u8, size: usize)
//   bench_realloc(ptr: *mut u8, old_size: usize, new_size: usize) -> *mut u8
// (all of them request 16-byte alignment, the alignment of asrt's blocks).
//
// Exports:
//   run(seed, actions, full) -> errors
//       `actions` random actions (alloc / free / realloc), sizes 1..=MAX_SIZE, never fewer than
//       MIN_LIVE live blocks once the pool has filled up, then frees every block still live.
//       Every block carries a byte pattern derived from a per-block tag; it is checked before
//       every free and realloc (and the preserved prefix after every realloc). With `full` != 0
//       every byte of every block is written and checked (slow; used for an untimed
//       verification pass); otherwise only the first 8 bytes, the middle byte and the last byte
//       are, so the timed runs measure the allocator rather than memset.
//       Returns the number of errors: pattern mismatches, misaligned or null blocks.
//   stat(i) -> u32
//       counters of the last `run` (see the STAT_* constants), plus i = STAT_PAGES: the memory
//       size in 64 KiB pages now.
//
// The action sequence depends only on the seed and on the number of live blocks, never on
// addresses, so every allocator gets exactly the same sequence of requests for a given seed.

const MIN_LIVE: usize = 50;
const MAX_LIVE: usize = 4096;
const MAX_SIZE: u32 = 10_000;
const ALIGN: usize = 16;

const STAT_ALLOCS: usize = 0;
const STAT_FREES: usize = 1;
const STAT_REALLOCS: usize = 2;
const STAT_NULLS: usize = 3;
const STAT_MISALIGNED: usize = 4;
const STAT_MISMATCHES: usize = 5;
const STAT_PEAK_LIVE: usize = 6;
const STAT_PEAK_BYTES: usize = 7;
const STAT_PAGES: usize = 8;
const STAT_COUNT: usize = 8;

#[derive(Clone, Copy)]
struct Block {
    ptr: *mut u8,
    size: usize,
    tag: u32,
}

const EMPTY: Block = Block { ptr: core::ptr::null_mut(), size: 0, tag: 0 };

static mut BLOCKS: [Block; MAX_LIVE] = [EMPTY; MAX_LIVE];
static mut STATS: [u32; STAT_COUNT] = [0; STAT_COUNT];

/// xorshift64 (13, 7, 17) with the seed scrambled first, so small seeds give unrelated streams.
struct Rng(u64);

impl Rng {
    fn new(seed: u32) -> Rng {
        let mut z = (seed as u64).wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        Rng(if z == 0 { 1 } else { z })
    }

    fn next(&mut self) -> u32 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        (x >> 32) as u32
    }

    /// Uniform-ish in 0..n (multiply-shift; the bias is irrelevant here).
    fn below(&mut self, n: u32) -> u32 {
        ((self.next() as u64 * n as u64) >> 32) as u32
    }
}

#[inline(always)]
fn pattern_byte(tag: u32, offset: usize) -> u8 {
    (tag.wrapping_mul(0x9E37_79B1) ^ (offset as u32).wrapping_mul(0x0100_0193)).rotate_right(13)
        as u8
}

/// Calls `f(offset)` for every offset of the pattern of a block of `size` bytes.
#[inline(always)]
fn for_each_offset(size: usize, full: bool, mut f: impl FnMut(usize)) {
    if full {
        for off in 0..size {
            f(off);
        }
    } else {
        let head = if size < 8 { size } else { 8 };
        for off in 0..head {
            f(off);
        }
        if size / 2 >= head {
            f(size / 2);
        }
        if size - 1 > size / 2 && size - 1 >= head {
            f(size - 1);
        }
    }
}

unsafe fn write_pattern(b: Block, full: bool) {
    for_each_offset(b.size, full, |off| unsafe {
        core::ptr::write_volatile(b.ptr.add(off), pattern_byte(b.tag, off));
    });
}

/// Checks the pattern `b` was written with, at the offsets below `limit` only; returns the
/// number of wrong bytes.
unsafe fn check_pattern(b: Block, limit: usize, full: bool) -> u32 {
    let mut bad = 0;
    for_each_offset(b.size, full, |off| unsafe {
        if off < limit && core::ptr::read_volatile(b.ptr.add(off)) != pattern_byte(b.tag, off) {
            bad += 1;
        }
    });
    bad
}

#[unsafe(no_mangle)]
pub extern "C" fn stat(i: u32) -> u32 {
    let i = i as usize;
    if i == STAT_PAGES {
        return core::arch::wasm32::memory_size::<0>() as u32;
    }
    if i < STAT_COUNT { unsafe { (*core::ptr::addr_of!(STATS))[i] } } else { 0 }
}

#[unsafe(no_mangle)]
pub extern "C" fn run(seed: u32, actions: u32, full: u32) -> u32 {
    let full = full != 0;
    let blocks = unsafe { &mut *core::ptr::addr_of_mut!(BLOCKS) };
    let mut stats = [0u32; STAT_COUNT];
    let mut rng = Rng::new(seed);
    let mut live = 0usize;
    let mut live_bytes = 0usize;
    let mut next_tag = seed.wrapping_mul(0x0001_0001);

    for _ in 0..actions {
        let choice = rng.below(3);
        let action = if live < MIN_LIVE {
            0
        } else if live == MAX_LIVE && choice == 0 {
            1
        } else {
            choice
        };
        match action {
            0 => {
                let size = (1 + rng.below(MAX_SIZE)) as usize;
                let ptr = unsafe { bench_alloc(size) };
                stats[STAT_ALLOCS] += 1;
                if ptr.is_null() {
                    stats[STAT_NULLS] += 1;
                    continue;
                }
                if (ptr as usize) % ALIGN != 0 {
                    stats[STAT_MISALIGNED] += 1;
                }
                next_tag = next_tag.wrapping_add(1);
                let b = Block { ptr, size, tag: next_tag };
                unsafe { write_pattern(b, full) };
                blocks[live] = b;
                live += 1;
                live_bytes += size;
            }
            1 => {
                let i = rng.below(live as u32) as usize;
                let b = blocks[i];
                stats[STAT_MISMATCHES] += unsafe { check_pattern(b, b.size, full) };
                unsafe { bench_free(b.ptr, b.size) };
                stats[STAT_FREES] += 1;
                live -= 1;
                live_bytes -= b.size;
                blocks[i] = blocks[live];
            }
            _ => {
                let i = rng.below(live as u32) as usize;
                let new_size = (1 + rng.below(MAX_SIZE)) as usize;
                let old = blocks[i];
                stats[STAT_MISMATCHES] += unsafe { check_pattern(old, old.size, full) };
                let ptr = unsafe { bench_realloc(old.ptr, old.size, new_size) };
                stats[STAT_REALLOCS] += 1;
                if ptr.is_null() {
                    // The old block stays valid and keeps its pattern.
                    stats[STAT_NULLS] += 1;
                    continue;
                }
                if (ptr as usize) % ALIGN != 0 {
                    stats[STAT_MISALIGNED] += 1;
                }
                let moved = Block { ptr, ..old };
                let keep = if new_size < old.size { new_size } else { old.size };
                stats[STAT_MISMATCHES] += unsafe { check_pattern(moved, keep, full) };
                let b = Block { ptr, size: new_size, tag: old.tag };
                unsafe { write_pattern(b, full) };
                blocks[i] = b;
                live_bytes = live_bytes - old.size + new_size;
            }
        }
        if live as u32 > stats[STAT_PEAK_LIVE] {
            stats[STAT_PEAK_LIVE] = live as u32;
        }
        if live_bytes as u32 > stats[STAT_PEAK_BYTES] {
            stats[STAT_PEAK_BYTES] = live_bytes as u32;
        }
    }

    // Tear down, so that every run starts from an empty heap (memory already grown stays).
    while live > 0 {
        live -= 1;
        let b = blocks[live];
        stats[STAT_MISMATCHES] += unsafe { check_pattern(b, b.size, full) };
        unsafe { bench_free(b.ptr, b.size) };
        stats[STAT_FREES] += 1;
    }

    unsafe { *core::ptr::addr_of_mut!(STATS) = stats };
    stats[STAT_NULLS] + stats[STAT_MISALIGNED] + stats[STAT_MISMATCHES]
}
