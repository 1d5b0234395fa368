#![cfg(not(target_arch = "wasm32"))]
//! `__new`'s fast path against the full path under a hostile mutator: two runtimes run the same
//! operations, one allocating through `new_small` first (as the `__new` export does) and one
//! through `new_object` only. Every result, every counter and every byte of memory must agree,
//! whatever the pacing (`configure`, fixed thresholds as small as 16 bytes, the smallest
//! `step_work`), with payloads dirtied before they are freed (so zeroing shows), objects linked
//! into a graph through static roots and tree fields, unmanaged blocks that move the bump block,
//! `renew`, pins, explicit steps and collections.

mod model;

use asrt::host::HostConfig;
use asrt::object::block_size;
use model::*;

struct Xs(u64);

impl Xs {
    fn next(&mut self) -> u32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 16) as u32
    }
    fn below(&mut self, n: u32) -> u32 {
        self.next() % n
    }
}

/// Allocates through the fast path first, as the export does; counts its hits.
fn new_fast(rt: &mut Rt, size: u32, id: u32, hits: &mut u32) -> Result<u32, asrt::Error> {
    match rt.new_small(size, id) {
        Some(p) => {
            *hits += 1;
            Ok(p)
        }
        None => rt.new_object(size, id),
    }
}

fn run(seed: u64, ops: u32, config: HostConfig) -> u32 {
    let ids = ids();
    let known = [ids.abuf, ids.string, ids.tree, ids.arr_i32, ids.tree, ids.tree];
    let mut fast = Rt::host(config);
    let mut full = Rt::host(config);
    let mut g = Xs(seed | 1);
    let mut hits = 0u32;
    // Objects made so far (refs; some are dead by now: only those we can prove live are used).
    let mut pinned: Vec<u32> = Vec::new();
    let mut trees: Vec<u32> = Vec::new();
    let mut blocks: Vec<u32> = Vec::new();
    for i in 0..ops {
        let op = g.below(100);
        let what = match op {
            0..=59 => {
                let size = match g.below(8) {
                    0 => g.below(200),
                    1 => 0,
                    _ => g.below(SMALL + 1),
                };
                let id = if g.below(64) == 0 { 9_999 } else { known[g.below(6) as usize] };
                let a = new_fast(&mut fast, size, id, &mut hits);
                let b = full.new_object(size, id);
                assert_eq!(a, b, "op {i}: new({size}, {id})");
                if let Ok(p) = a {
                    // Dirty the payload (as compiled code would) so a later reuse must zero it.
                    for off in (0..size).step_by(4) {
                        if off + 4 <= size {
                            // Only pointer-free payloads: a garbage word in a ref field
                            // would be a dangling child.
                            let v =
                                if id == ids.abuf || id == ids.string { g.next() | 1 } else { 0 };
                            st(&fast, p + off, v);
                            st(&full, p + off, v);
                        }
                    }
                    // Keep some: in a static slot, in a pinned tree, or pinned.
                    match g.below(10) {
                        0 => {
                            let slot = g.below(config.static_slots);
                            root(&mut fast, slot, p);
                            root(&mut full, slot, p);
                        }
                        1 | 2 if !trees.is_empty() => {
                            let t = trees[g.below(trees.len() as u32) as usize];
                            let off = 4 * g.below(2);
                            st(&fast, t + off, p);
                            st(&full, t + off, p);
                            assert_eq!(fast.link(t, p, false), full.link(t, p, false));
                        }
                        3 => {
                            assert_eq!(fast.pin(p), full.pin(p));
                            if id == ids.tree && size >= 8 {
                                trees.push(p);
                            } else {
                                pinned.push(p);
                            }
                        }
                        _ => {}
                    }
                }
                "new"
            }
            60..=67 => {
                if let Some(k) = (!pinned.is_empty()).then(|| g.below(pinned.len() as u32)) {
                    let p = pinned.swap_remove(k as usize);
                    assert_eq!(fast.unpin(p), full.unpin(p), "op {i}: unpin");
                } else if !trees.is_empty() && g.below(2) == 0 {
                    let p = trees.swap_remove(g.below(trees.len() as u32) as usize);
                    assert_eq!(fast.unpin(p), full.unpin(p), "op {i}: unpin tree");
                }
                "unpin"
            }
            68..=77 => {
                assert_eq!(fast.gc_step(), full.gc_step(), "op {i}: step");
                "step"
            }
            78 => {
                fast.collect();
                full.collect();
                "collect"
            }
            79..=81 => {
                let pause = 10 + g.below(991);
                let work = if g.below(2) == 0 { 1024 } else { 1024 + g.below(64 * 1024) };
                assert_eq!(fast.configure(pause, work), full.configure(pause, work));
                "configure"
            }
            82..=84 => {
                let t = match g.below(4) {
                    0 => 0,
                    1 => 16,
                    2 => 16 + g.below(256),
                    _ => 16 + g.below(64 * 1024),
                };
                assert_eq!(fast.set_threshold(t), full.set_threshold(t));
                "threshold"
            }
            85..=91 => {
                if blocks.is_empty() || g.below(2) == 0 {
                    let n = g.below(300);
                    let (a, b) = (fast.alloc(n), full.alloc(n));
                    assert_eq!(a, b, "op {i}: alloc({n})");
                    if let Ok(p) = a {
                        set(&fast, p, 0xA5, n);
                        set(&full, p, 0xA5, n);
                        blocks.push(p);
                    }
                } else {
                    let p = blocks.swap_remove(g.below(blocks.len() as u32) as usize);
                    assert_eq!(fast.free(p), full.free(p), "op {i}: free");
                }
                "alloc/free"
            }
            _ => {
                if !pinned.is_empty() {
                    let k = g.below(pinned.len() as u32) as usize;
                    let p = pinned[k];
                    let n = g.below(80);
                    let (a, b) = (fast.renew(p, n), full.renew(p, n));
                    assert_eq!(a, b, "op {i}: renew({p}, {n})");
                    if let Ok(q) = a
                        && q != p
                    {
                        assert_eq!(fast.pin(q), full.pin(q));
                        assert_eq!(fast.unpin(p), full.unpin(p));
                        pinned[k] = q;
                    }
                }
                "renew"
            }
        };
        assert_eq!(fast.stats(), full.stats(), "op {i} ({what}): stats");
        assert_eq!(fast.phase(), full.phase(), "op {i} ({what}): phase");
        if i % 2048 == 0 {
            assert!(fast.memory().bytes() == full.memory().bytes(), "op {i}: memory differs");
            assert_eq!(fast.check(), 0, "op {i}: heap check");
        }
    }
    assert!(fast.memory().bytes() == full.memory().bytes(), "memory differs at the end");
    assert_eq!(fast.check(), 0);
    assert_eq!(full.check(), 0);
    assert!(fast.stats().collections > 0, "seed {seed}: the run spans cycles");
    hits
}

const SMALL: u32 = asrt::heap::SMALL_PAYLOAD;

#[test]
fn fast_path_matches_full_path_under_hostile_pacing() {
    let mut hits = 0;
    for seed in 1..=12u64 {
        hits += run(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15), 20_000, HostConfig::default());
    }
    assert!(hits > 20_000, "the fast path served many calls ({hits})");
}

/// A memory of one page and a small maximum: the bump block is often exactly as large as the
/// request or 16 bytes more, and growth (by an eighth) and out of memory come often.
#[test]
fn fast_path_matches_full_path_in_a_tight_memory() {
    let config = HostConfig { initial_pages: 1, max_pages: 6, ..HostConfig::default() };
    let mut hits = 0;
    for seed in 100..=110u64 {
        hits += run(seed.wrapping_mul(0xD1B5_4A32_D192_ED03), 15_000, config);
    }
    assert!(hits > 10_000, "the fast path served many calls ({hits})");
}

/// The fast path's zeroing stores 16 bytes at a time past `size` up to the next multiple of 16:
/// for every small size, the neighbours' headers and a dirty block's stale bytes come out as the
/// full path leaves them (objects packed end to end, each size between two dirtied neighbours).
/// Payload 0 has no room to zero: the fast path declines it, and the full path serves it.
#[test]
fn small_zeroing_never_reaches_a_neighbour() {
    let ids = ids();
    for size in 1..=SMALL {
        let mut rt = Rt::host(HostConfig::default());
        // Fill the bump block's memory with garbage first: allocate, dirty, free.
        let junk = rt.alloc(4096).unwrap();
        set(&rt, junk, 0xEE, 4096);
        rt.free(junk).unwrap();
        // Freeing next to the bump block merges the two into the lists (no bump block): the
        // full path splits one off again.
        assert_eq!(rt.new_small(size, ids.abuf), None, "no bump block after the merge");
        let first = rt.new_object(size, ids.abuf).unwrap();
        let a = rt.new_small(size, ids.abuf).expect("fast path");
        assert_eq!(a - first, block_size(size), "size {size}: packed");
        let b = rt.new_small(size, ids.abuf).expect("fast path");
        let c = rt.new_small(size, ids.abuf).expect("fast path");
        assert_eq!(b - a, block_size(size), "size {size}: packed");
        assert_eq!(c - b, block_size(size), "size {size}: packed");
        for &p in &[first, a, b, c] {
            assert_eq!(rt.rt_size(p), size);
            assert_eq!(rt.rt_id(p), ids.abuf);
            assert!(bytes(&rt, p, size).iter().all(|&x| x == 0), "size {size}: zeroed");
            rt.validate_managed(p).unwrap();
        }
        assert_eq!(rt.check(), 0, "size {size}");
        let before = rt.stats();
        assert_eq!(rt.new_small(0, ids.abuf), None, "payload 0 takes the full path");
        assert_eq!(rt.stats(), before, "declining changed nothing");
        let empty = rt.new_object(0, ids.abuf).unwrap();
        assert_eq!(empty - c, block_size(size), "size {size}: the empty object follows");
        assert_eq!(rt.check(), 0, "size {size}");
    }
}
