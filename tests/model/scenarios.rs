//! Scenarios shared by the host and the wasm tests: the heap's unit scenarios (error paths, out
//! of memory, growth, in-place realloc) and the wasm test bodies, shared by tests/wasm_*.rs
//! (node) and tests/wasm_*_browser.rs (Chromium).

use std::vec::Vec;

use asrt::heap::tlsf;
use asrt::host::HostConfig;
use asrt::memory::Memory;
use asrt::object::{MAX_PAYLOAD, block_size};
use asrt::{Error, Runtime};

use super::*;

fn small_rt(initial: u32, max: u32) -> Rt {
    Runtime::host(HostConfig {
        initial_pages: initial,
        max_pages: max,
        stack_slots: 16,
        static_slots: 8,
    })
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

/// Pages an allocation of `payload` bytes needs beyond the free block at the end of memory.
fn pages_needed(rt: &Rt, payload: u32) -> u32 {
    let tail = rt.stats().free_bytes as u32;
    let want = tlsf::round_up(block_size(payload)).unwrap();
    (want - tail.min(want)).div_ceil(65536)
}

/// Growth takes what an allocation needs plus `pages >> GROW_FRACTION_SHIFT`, at most
/// `GROW_STEP_CAP` pages unless the need alone is more, never past the maximum; at the maximum,
/// out of memory with nothing changed.
pub fn heap_growth_adds_a_fraction_then_falls_back() {
    let shift = asrt::heap::GROW_FRACTION_SHIFT;
    let cap = asrt::heap::GROW_STEP_CAP;
    // A memory of 200 pages grows by what is needed plus 200 >> shift.
    let mut rt = small_rt(200, 1000);
    let free = rt.stats().free_bytes as u32;
    let need = pages_needed(&rt, free + 1000);
    assert!(need >= 1);
    let a = rt.alloc(free + 1000).unwrap();
    assert_eq!(rt.memory().pages(), 200 + need + (200 >> shift), "need plus a fraction");
    // A small memory: the fraction of 4 pages rounds down to none, so exactly what is needed.
    let mut small = small_rt(4, 40);
    let free = small.stats().free_bytes as u32;
    let need = pages_needed(&small, free + 300_000);
    let s1 = small.alloc(free + 300_000).unwrap();
    assert_eq!(small.memory().pages(), 4 + need, "a fraction of 4 pages is none");
    // Near the maximum: only the room that is left, which is more than what is needed.
    let start = 2 << shift;
    let probe = small_rt(start, 1000);
    let request = probe.stats().free_bytes as u32 + 1000;
    let need = pages_needed(&probe, request);
    let max = start + need + 1;
    assert!(start >> shift > 1, "the fraction alone passes the maximum");
    let mut near = small_rt(start, max);
    let n1 = near.alloc(request).unwrap();
    assert_eq!(near.memory().pages(), max, "need plus a fraction, capped at the maximum");
    assert_sound(&near, "");
    // Beyond the maximum: out of memory, nothing changed.
    expect_oom(&mut near, |rt| rt.alloc(1_000_000));
    near.free(n1).unwrap();
    small.free(s1).unwrap();
    for r in [&near, &small] {
        let s = r.stats();
        assert_eq!(s.used_bytes, 0);
        assert_eq!(s.largest_free, largest_free_for_block(largest_free_block(r)));
        assert_sound(r, "");
    }

    // A large memory grows by at most GROW_STEP_CAP pages at a time, and by exactly what is
    // needed when that is more.
    let start = (cap << shift) + 64;
    let mut big_rt = small_rt(start, start + 3 * cap + 200);
    let free = big_rt.stats().free_bytes as u32;
    let r = big_rt.alloc(free).unwrap();
    let p1 = start + cap;
    assert_eq!(big_rt.memory().pages(), p1, "one capped step");
    let tail = big_rt.stats().free_bytes as u32;
    let big = tail + (cap + 32) * 65536;
    let need = pages_needed(&big_rt, big);
    assert!(need > cap);
    let r2 = big_rt.alloc(big).unwrap();
    // Exactly what was needed, plus the block the start map moves to (it covers twice the
    // grown memory, 1 bit per 16 bytes).
    let map_pages = ((p1 + need) * 65536 * 2 / 128).div_ceil(65536);
    let pages = big_rt.memory().pages();
    assert!(
        pages >= p1 + need && pages <= p1 + need + map_pages,
        "grew {pages} pages, need {} and at most {map_pages} for the map",
        p1 + need
    );
    big_rt.free(r).unwrap();
    big_rt.free(r2).unwrap();
    rt.free(a).unwrap();
    assert_eq!(big_rt.stats().used_bytes, 0);
    assert_sound(&big_rt, "");
    assert_sound(&rt, "");
}

/// Once a cycle has ended, growth stops at the collector's peak goal: the memory that holds the
/// used bytes expected when the next marking ends. Each growth is what is needed plus an eighth
/// of the memory, but no further than the goal or a 32nd past the need, whichever is larger.
pub fn heap_growth_stops_at_the_peak_goal() {
    let (eighth, past) = (asrt::heap::GROW_FRACTION_SHIFT, asrt::heap::GOAL_SLACK_SHIFT);
    let mut rt = small_rt(16, 4000);
    assert_eq!(rt.heap().peak_goal(), 0, "no goal before a cycle");
    // About 6 MiB live, pinned, then a full cycle: the goal is set when its sweep ends.
    let live: Vec<u32> = (0..100)
        .map(|_| {
            let r = rt.new_object(60_000, ids().abuf).unwrap();
            rt.pin(r).unwrap()
        })
        .collect();
    rt.collect();
    let used = rt.stats().used_bytes;
    let goal = rt.heap().peak_goal();
    assert!(
        goal as u64 > used + used / 2,
        "the goal holds the live bytes and the next cycle's allocation"
    );
    let goal_pages = goal.div_ceil(65536);
    let mut crossings = 0;
    let mut blocks = Vec::new();
    let payload = 100_000;
    // At most what the block takes, plus a page for a moved start map; free space elsewhere
    // may make the need smaller.
    let most = block_size(payload).div_ceil(65536) + 1;
    while rt.memory().pages() < goal_pages + 40 {
        let before = rt.memory().pages();
        blocks.push(rt.alloc(payload).unwrap());
        let after = rt.memory().pages();
        if after == before {
            continue;
        }
        let what = format!("growth from {before} to {after} pages (goal {goal_pages})");
        assert!(after <= before + most + (before >> eighth), "at most an eighth: {what}");
        assert!(
            after <= goal_pages.max(before + most + (before >> past)),
            "the goal or a 32nd: {what}"
        );
        if before < goal_pages {
            assert!(
                after >= goal_pages.min(before + (before >> eighth)),
                "an eighth below the goal: {what}"
            );
        }
        crossings += (before < goal_pages && after >= goal_pages) as u32;
        assert_eq!(rt.heap().peak_goal(), goal, "no cycle ran: the goal is unchanged");
    }
    assert_eq!(
        crossings, 1,
        "one growth reached the goal, and went no further than the goal or a 32nd"
    );
    for b in blocks {
        rt.free(b).unwrap();
    }
    for r in live {
        rt.unpin(r).unwrap();
    }
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

/// The heap tests for wasm: the shadow model driven by [`Rng`], and the unit tests.
#[allow(unused_macros)]
macro_rules! wasm_heap_tests {
    () => {
        #[wasm_bindgen_test]
        fn heap_model_prng() {
            for seed in 0..4u64 {
                let ops = model::Rng::new(seed).heap_ops(300);
                // 32 MiB reservation (HostMemory reserves its maximum up front), 4 MiB live.
                model::run_heap_model(&ops, 512, 4 << 20);
            }
        }
        #[wasm_bindgen_test]
        fn heap_model_small_blocks_prng() {
            let mut rng = model::Rng::new(99);
            let ops: Vec<model::HeapOp> = (0..800)
                .map(|_| {
                    let (k, a, b) = rng.op();
                    model::HeapOp::decode((k, a, b % 2000))
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
        fn heap_growth_adds_a_fraction_then_falls_back() {
            model::heap_growth_adds_a_fraction_then_falls_back();
        }
        #[wasm_bindgen_test]
        fn heap_growth_stops_at_the_peak_goal() {
            model::heap_growth_stops_at_the_peak_goal();
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
                let ops = model::Rng::new(seed).gc_ops(1500);
                model::run_gc_model(&ops, 256, seed, true);
            }
        }
        #[wasm_bindgen_test]
        fn gc_model_prng_default_steps() {
            for seed in 10..13u64 {
                let ops = model::Rng::new(seed).gc_ops(1500);
                model::run_gc_model(&ops, 256, seed, false);
            }
        }
        #[wasm_bindgen_test]
        fn gc_weak_model_prng() {
            for seed in 20..22u64 {
                let ops = model::Rng::new(seed).weak_ops(1500);
                model::run_gc_model(&ops, 256, seed, seed % 2 == 0);
            }
        }
        #[wasm_bindgen_test]
        fn gc_model_many_short_runs() {
            let mut rng = model::Rng::new(1234);
            for case in 0..40u64 {
                let n = 1 + rng.below(300) as usize;
                let ops = rng.gc_ops(n);
                model::run_gc_model(&ops, 128, case, case % 2 == 0);
            }
        }
    };
}

/// A cycle in the mark phase with a long list held by a static slot still to scan, and no heap
/// object pinned at its start (the pin walk is skipped); returns an unreachable object of type
/// `id` made before the cycle started (white: marking never reaches it).
pub fn marking_with_a_white_object(rt: &mut Rt, id: u32) -> u32 {
    let tree = ids().tree;
    let slots = rt.static_slots();
    let mut head = 0;
    for _ in 0..4000 {
        let x = new(rt, 8, tree);
        st(rt, x, head);
        st(rt, slots, x);
        rt.link(slots, x, false).unwrap();
        head = x;
    }
    rt.collect();
    let white = new(rt, 8, id);
    rt.configure(100, 1024).unwrap();
    assert_eq!(rt.gc_step(), asrt::gc::Phase::Mark);
    assert_eq!(rt.gc_step(), asrt::gc::Phase::Mark);
    white
}
