#![cfg(not(target_arch = "wasm32"))]
//! The free-byte accounting (the merging paths count the net change once): every path that
//! lists or unlists free blocks, driven at random on a runtime whose memory another user grows (foreign pages:
//! several regions), with a tiny maximum (exact fit, out of memory, failed map moves), mixing
//! unmanaged blocks (realloc in place up and down, moves), managed objects (fast path first),
//! renew, pins, steps and collections. After every operation: `check() == 0`, and the stats'
//! free and used bytes against an independent walk of every region.

mod model;

use std::cell::Cell;
use std::rc::Rc;

use asrt::memory::{HostMemory, Memory, PAGE_SIZE};
use asrt::object::{GC_INFO, Kind, MIN_BLOCK, RT_ID};
use asrt::rtti;
use asrt::{Error, Roots, Runtime};
use model::{Rng, SharedMemory};

type R = Runtime<SharedMemory>;

fn ld(rt: &R, a: u32) -> u32 {
    // SAFETY: test addresses inside memory.
    unsafe { rt.memory().load(a) }
}

/// Free bytes and used bytes (non-sentinel used blocks, the start map's block excluded) by a
/// walk of every region, and the number of regions.
fn walk(rt: &R) -> (u64, u64, u32) {
    let heap = rt.heap();
    let (mut free, mut used, mut regions) = (0u64, 0u64, 0u32);
    let mut b = heap.first_block();
    while b != 0 {
        let info = ld(rt, b);
        let size = (info & !3) + 4;
        if info & 1 != 0 {
            free += size as u64;
        } else if ld(rt, b + GC_INFO) == Kind::Sentinel as u32
            && size == MIN_BLOCK
            && ld(rt, b + RT_ID) == u32::MAX
        {
            regions += 1;
        } else {
            used += size as u64;
        }
        // SAFETY: `b` is a block start of the walk.
        b = unsafe { heap.next_block(b) };
    }
    (free, used - heap.map_block_bytes() as u64, regions)
}

fn run(seed: u64, ops: u32, initial: u32, max: u32) -> (u32, u32, u32) {
    let pages = Rc::new(Cell::new(initial));
    let mem = SharedMemory { inner: HostMemory::new(max, max), pages: pages.clone(), max };
    let roots = Roots {
        shadow_stack: 0,
        shadow_base: 0,
        shadow_limit: 0,
        stack_low: 0,
        stack_high: 1024,
        statics: 0,
        static_count: 0,
        objects: 0,
        object_count: 0,
        marking: 0,
    };
    // SAFETY: no statics; the stack stand-in is [0, 1024), below the heap.
    let mut rt = unsafe { R::new(mem, 4096, max, roots) }.unwrap();
    let mut g = Rng::new(seed);
    let tree = (0..rtti::TYPES.len() as u32)
        .find(|&i| rtti::type_desc(i).is_some_and(|t| t.flags & rtti::flags::POINTERFREE != 0))
        .unwrap();
    let abuf = rtti::ID_ARRAYBUFFER;
    let mut blocks: Vec<u32> = Vec::new();
    let mut objs: Vec<u32> = Vec::new(); // pinned
    let (mut ooms, mut foreign, mut most) = (0u32, 0u32, 0u32);
    let sizes = |g: &mut Rng| match g.below(10) {
        0 => 0,
        1..=4 => g.below(48),
        5..=6 => g.below(600),
        7 => g.below(8 * 1024),
        8 => g.below(3 * PAGE_SIZE),
        _ => PAGE_SIZE * (1 + g.below(4)) - 16 * g.below(3),
    };
    for i in 0..ops {
        let what;
        match g.below(100) {
            0..=24 => {
                what = "alloc";
                let n = sizes(&mut g);
                if let Some(p) = or_oom(rt.alloc(n), &mut ooms, what) {
                    blocks.push(p);
                }
            }
            25..=39 if !blocks.is_empty() => {
                what = "free";
                let p = blocks.swap_remove(g.below(blocks.len() as u32) as usize);
                rt.free(p).unwrap();
            }
            40..=54 if !blocks.is_empty() => {
                what = "realloc";
                let k = g.below(blocks.len() as u32) as usize;
                let old = rt.rt_size(blocks[k]);
                let n = match g.below(4) {
                    0 => old + 16 * g.below(4),
                    1 => old.saturating_sub(16 * g.below(8)),
                    2 => old + 1 + g.below(64),
                    _ => sizes(&mut g),
                };
                if let Some(q) = or_oom(rt.realloc(blocks[k], n), &mut ooms, what) {
                    blocks[k] = q;
                }
            }
            55..=79 => {
                what = "new";
                let n = if g.below(3) == 0 { sizes(&mut g) } else { g.below(40) };
                let id = if g.below(2) == 0 { tree } else { abuf };
                let r = match rt.new_small(n, id) {
                    Some(p) => Ok(p),
                    None => rt.new_object(n, id),
                };
                if let Some(p) = or_oom(r, &mut ooms, what)
                    && g.below(3) == 0
                {
                    rt.pin(p).unwrap();
                    objs.push(p);
                }
            }
            80..=84 if !objs.is_empty() => {
                what = "unpin";
                let p = objs.swap_remove(g.below(objs.len() as u32) as usize);
                rt.unpin(p).unwrap();
            }
            85..=88 if !objs.is_empty() => {
                what = "renew";
                let k = g.below(objs.len() as u32) as usize;
                let n = sizes(&mut g);
                if let Some(q) = or_oom(rt.renew(objs[k], n), &mut ooms, what)
                    && q != objs[k]
                {
                    rt.pin(q).unwrap();
                    rt.unpin(objs[k]).unwrap();
                    objs[k] = q;
                }
            }
            89..=93 => {
                what = "step";
                rt.gc_step();
            }
            94 => {
                what = "collect";
                rt.collect();
            }
            95..=96 if pages.get() < max => {
                // Another user of the memory takes a page or two: the next growth opens a
                // new region after them.
                what = "foreign";
                let n = (1 + g.below(2)).min(max - pages.get());
                pages.set(pages.get() + n);
                foreign += 1;
            }
            _ => what = "nothing",
        }
        let errs = rt.check();
        assert_eq!(errs, 0, "seed {seed} op {i} ({what}): {:?}", rt.check_report());
        let (free, used, regions) = walk(&rt);
        most = most.max(regions);
        let s = rt.stats();
        assert_eq!(s.free_bytes, free, "seed {seed} op {i} ({what}): free bytes");
        assert_eq!(s.used_bytes, used, "seed {seed} op {i} ({what}): used bytes");
    }
    (ooms, foreign, most)
}

/// `Some(value)`; `None` for out of memory, which it counts; any other error fails the test.
fn or_oom<T>(r: Result<T, Error>, ooms: &mut u32, what: &str) -> Option<T> {
    match r {
        Ok(v) => Some(v),
        Err(Error::OutOfMemory) => {
            *ooms += 1;
            None
        }
        Err(e) => panic!("{what}: {e:?}"),
    }
}

#[test]
fn free_bytes_match_a_walk_on_every_path() {
    let (mut ooms, mut foreign, mut regions) = (0, 0, 0);
    for seed in 1..=16u64 {
        let (initial, max) = match seed % 4 {
            0 => (1, 3),
            1 => (1, 6),
            2 => (2, 12),
            _ => (1, 200),
        };
        let (o, f, r) = run(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15), 6000, initial, max);
        ooms += o;
        foreign += f;
        regions = regions.max(r);
    }
    assert!(ooms > 100, "out of memory reached ({ooms})");
    assert!(foreign > 50 && regions >= 4, "foreign pages taken ({foreign}), regions ({regions})");
    eprintln!("ooms {ooms}, foreign {foreign}, most regions {regions}");
}
