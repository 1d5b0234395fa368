#![cfg(not(target_arch = "wasm32"))]
//! The allocation paths against a hostile host and a buggy compiler: validation against a
//! reference model of docs/ABI.md §6.1's table (on a busy heap, through a cycle, with forged
//! sizes, with pages another user grew), sizes at and past `MAX_PAYLOAD`, out of memory at the
//! memory's maximum, resizes that must collect first in every phase, list removal, shrinking in
//! place. Written by an independent review of the change that made validation's refused half and
//! the allocation paths' cold helpers return in a register.

mod model;

use std::cell::Cell;
use std::rc::Rc;

use asrt::Error;
use asrt::gc::Phase;
use asrt::heap::Heap;
use asrt::host::HostConfig;
use asrt::memory::{HostMemory, Memory, PAGE_SIZE};
use asrt::object::{
    HEADER_SIZE, Kind, MAX_PAYLOAD, MIN_BLOCK, MM_INFO, MmInfo, NO_TYPE, RT_SIZE, block_size,
};
use model::*;

fn host_with(max_pages: u32) -> Rt {
    Rt::host(HostConfig { initial_pages: 2, max_pages, ..HostConfig::default() })
}

/// A reference model of `Heap::validate`: docs/ABI.md §6.1's checks in table order over the
/// public API, bounded by the memory's size. In a sound heap the last region ends at the
/// memory's end (or foreign pages follow it, where no start bit is set), so it answers as
/// `validate` does, which bounds by the last region's sentinel.
fn reference_validate<M: Memory>(heap: &Heap<M>, ptr: u32) -> Result<u32, Error> {
    let mem = heap.memory();
    if ptr == 0 {
        return Err(Error::NullRef);
    }
    if !ptr.is_multiple_of(16) {
        return Err(Error::Unaligned);
    }
    let end = mem.size();
    if ptr < heap.start() + HEADER_SIZE || ptr > end - MIN_BLOCK {
        return Err(Error::OutsideHeap);
    }
    let block = ptr - HEADER_SIZE;
    // SAFETY: block + 16 <= end - 16.
    let info = MmInfo(unsafe { mem.load(block + MM_INFO) });
    if !heap.is_block_start(block) {
        return Err(if info.is_free() { Error::AlreadyFree } else { Error::NotABlock });
    }
    // SAFETY: as above.
    let size = unsafe { mem.load(block + RT_SIZE) };
    let bsize = info.size();
    if size > MAX_PAYLOAD || bsize != block_size(size) || bsize > end - MIN_BLOCK - block {
        return Err(Error::NotABlock);
    }
    Ok(block)
}

/// Every 16-aligned address of the memory and past it, some unaligned ones and the wrapping
/// ends of the address space.
fn probes(end: u32) -> Vec<u32> {
    let mut v: Vec<u32> = (0..=end / 16 + 4).map(|i| i * 16).collect();
    v.extend((0..end / 16).step_by(7).flat_map(|i| [i * 16 + 4, i * 16 + 8, i * 16 + 12]));
    v.extend([1, 8, 15, u32::MAX, u32::MAX - 15, 0xFFFF_FFF0, 0xFFFF_FFE0, 0x8000_0000]);
    v
}

/// `validate` agrees with the reference at every probe; returns the probes it compared.
#[track_caller]
fn validators_agree<M: Memory>(heap: &Heap<M>, what: &str) -> usize {
    let ps = probes(heap.memory().size());
    for &p in &ps {
        assert_eq!(heap.validate(p), reference_validate(heap, p), "{what}: ref {p:#x}");
    }
    ps.len()
}

/// Steps the collector until it is idle again.
fn finish_cycle(rt: &mut Rt) {
    for _ in 0..1_000_000 {
        if rt.gc_step() == Phase::Idle {
            return;
        }
    }
    panic!("the cycle did not end");
}

/// A heap with every kind of ref: live, freed, merged into a neighbour, moved by realloc,
/// shrunk (remainder freed), grown in place, renewed away, forged inside a payload.
fn busy_heap(rt: &mut Rt) -> Vec<u32> {
    let ids = ids();
    let mut refs = Vec::new();
    let a: Vec<u32> = (0..24).map(|i| rt.alloc(16 + 48 * (i % 5)).unwrap()).collect();
    let m: Vec<u32> = (0..24).map(|i| new(rt, 8 + 40 * (i % 4), ids.abuf)).collect();
    refs.extend(&a);
    refs.extend(&m);
    // Freed alone, and freed so that the left neighbour swallows the header.
    rt.free(a[3]).unwrap();
    rt.free(a[7]).unwrap();
    rt.free(a[6]).unwrap();
    rt.free(a[8]).unwrap();
    // Moved by realloc (old block freed), shrunk in place, grown in place.
    let moved = rt.realloc(a[10], 4000).unwrap();
    refs.push(moved);
    assert_eq!(rt.realloc(a[12], 16).unwrap(), a[12]);
    rt.free(a[14]).unwrap();
    assert_eq!(rt.realloc(a[13], 64).unwrap(), a[13]);
    // Renewed away (the old block is left to the collector) and shrunk in place.
    let r = rt.renew(m[5], 9000).unwrap();
    refs.push(r);
    assert_eq!(rt.renew(m[9], 8).unwrap(), m[9]);
    // A header forged inside a payload: consistent sizes, no start bit.
    let big = rt.alloc(512).unwrap();
    refs.push(big);
    st(rt, big + 64, MmInfo::used(block_size(32)).0);
    st(rt, big + 64 + 4, Kind::Unmanaged as u32);
    st(rt, big + 64 + 8, NO_TYPE);
    st(rt, big + 64 + 12, 32);
    refs.push(big + 80);
    refs
}

#[test]
fn validation_matches_the_reference_on_a_busy_heap() {
    let mut rt = host_with(64);
    let refs = busy_heap(&mut rt);
    let n = validators_agree(rt.heap(), "busy heap");
    assert!(n > 8000);
    for r in refs {
        assert_eq!(rt.heap().validate(r), reference_validate(rt.heap(), r));
    }
    assert_sound(&rt, "");
}

#[test]
fn validation_matches_the_reference_through_a_whole_cycle() {
    let mut rt = host_with(64);
    busy_heap(&mut rt);
    rt.configure(100, 1024).unwrap();
    let mut steps = 0;
    loop {
        validators_agree(rt.heap(), &format!("step {steps} ({:?})", rt.phase()));
        let p = rt.gc_step();
        steps += 1;
        if p == Phase::Idle && steps > 1 {
            break;
        }
    }
    validators_agree(rt.heap(), "after the cycle");
}

/// Compiled code overwrites both size words of live blocks: to a size ending exactly at the
/// last sentinel (check 5 allows it: §6.8), one block past it, past the memory's end, and to
/// rtSize = MAX_PAYLOAD + 1 / u32::MAX. In the host memory the last sentinel is the memory's
/// last 16 bytes, so the two bounds coincide and the answers must too.
#[test]
fn overwritten_sizes_are_classified_as_the_reference_does() {
    let mut rt = host_with(64);
    rt.set_step_checks(0);
    let a = rt.alloc(64).unwrap();
    let b = rt.alloc(64).unwrap();
    let end = rt.memory().size();
    let tail = end - MIN_BLOCK;
    let block = a - HEADER_SIZE;
    let (old_mm, old_rt) = (ld(&rt, block + MM_INFO), ld(&rt, block + RT_SIZE));
    let tags = old_mm & 3;
    for (bsize, rtsize) in [
        (tail - block, tail - block - 16),
        (tail - block + 16, tail - block),
        (end - block + 64, end - block + 48),
        (block_size(MAX_PAYLOAD) + 16, MAX_PAYLOAD + 1),
        (64 + 16, u32::MAX),
        (64 + 16, 64), // rtSize agrees, mmInfo too small by one granule
        (64 + 32, 64), // mmInfo one granule too large
    ] {
        st(&rt, block + MM_INFO, MmInfo(bsize - 4).0 | tags);
        st(&rt, block + RT_SIZE, rtsize);
        let what = format!("sizes {bsize:#x}/{rtsize:#x}");
        assert_eq!(rt.heap().validate(a), reference_validate(rt.heap(), a), "{what}");
        assert_eq!(rt.heap().validate(b), reference_validate(rt.heap(), b), "{what}");
    }
    // Exactly to the sentinel: accepted (documented, §6.8).
    st(&rt, block + MM_INFO, MmInfo(tail - block - 4).0 | tags);
    st(&rt, block + RT_SIZE, tail - block - 16);
    assert_eq!(rt.heap().validate(a), Ok(block));
    // One granule past: refused, and refused calls write nothing.
    st(&rt, block + MM_INFO, MmInfo(tail - block + 16 - 4).0 | tags);
    st(&rt, block + RT_SIZE, tail - block);
    assert_eq!(rt.heap().validate(a), Err(Error::NotABlock));
    let snap = snapshot(&rt);
    assert_eq!(rt.free(a), Err(Error::NotABlock));
    assert_eq!(rt.realloc(a, 16), Err(Error::NotABlock));
    assert_eq!(rt.realloc(a, MAX_PAYLOAD + 1), Err(Error::NotABlock));
    assert!(snapshot(&rt) == snap, "a refused call wrote");
    st(&rt, block + MM_INFO, old_mm);
    st(&rt, block + RT_SIZE, old_rt);
    rt.free(a).unwrap();
    rt.free(b).unwrap();
    assert_sound(&rt, "");
}

// ----- a memory another user grows (foreign pages), heap-level -----

/// Two heap regions with foreign pages between them and after the last one. Without forged
/// headers `validate` agrees with the reference everywhere, foreign pages included. A block
/// whose two size words reach from the last region into the foreign pages after it is refused
/// (check 5 is bounded by the last region's sentinel, §6.1 row 5), though the memory's bound
/// alone would let it through.
#[test]
fn foreign_pages_between_and_after_regions() {
    let max = 64;
    let pages = Rc::new(Cell::new(2));
    let mem = SharedMemory { inner: HostMemory::new(max, max), pages: pages.clone(), max };
    let mut heap = Heap::new(mem, 4096, max).unwrap();
    let managed = asrt::object::GcInfo::managed(0).0;
    let mut first = Vec::new();
    for i in 0..40 {
        first.push(heap.alloc_object(16 + 16 * (i % 9), managed, 0).unwrap());
    }
    let gap = foreign_grow(&pages, 2);
    fill(&heap, gap, 2 * PAGE_SIZE, 0xFFFF_FFFF); // reads as FREE everywhere
    assert!(heap.reserve(3 * PAGE_SIZE), "a second region after the foreign pages");
    let second = heap.alloc_object(3 * PAGE_SIZE, managed, 0).unwrap();
    assert!(second > gap + 2 * PAGE_SIZE, "the big block lies in the second region");
    let after = foreign_grow(&pages, 1);
    fill(&heap, after, PAGE_SIZE, 0x0000_0010); // reads as used
    assert_eq!(heap.check(), 0);
    validators_agree(&heap, "two regions, foreign pages");
    // Stray refs into the foreign pages.
    assert_eq!(heap.validate(gap + 32), Err(Error::AlreadyFree));
    assert_eq!(heap.validate(after + 32), Err(Error::NotABlock));
    assert_eq!(heap.validate(after + PAGE_SIZE - 16), Err(Error::NotABlock));
    assert_eq!(heap.validate(after + PAGE_SIZE), Err(Error::OutsideHeap));

    let mem = heap.memory();
    // The big block of the second region, sizes forged into the pages after the last region.
    let b = second - HEADER_SIZE;
    // SAFETY: a live header.
    let (mm, rt) = unsafe { (mem.load(b), mem.load(b + RT_SIZE)) };
    let claim = after + PAGE_SIZE / 2 - b;
    // SAFETY: as above.
    unsafe {
        mem.store(b, MmInfo(claim - 4).0 | (mm & 3));
        mem.store(b + RT_SIZE, claim - 16);
    }
    assert_eq!(heap.validate(second), Err(Error::NotABlock), "refused: check 5 at the tail");
    assert_eq!(reference_validate(&heap, second), Ok(b), "the memory's bound alone accepts it");
    // SAFETY: restore.
    unsafe {
        mem.store(b, mm);
        mem.store(b + RT_SIZE, rt);
    }
    validators_agree(&heap, "restored");
    assert_eq!(heap.check(), 0);
}

fn fill<M: Memory>(heap: &Heap<M>, at: u32, bytes: u32, v: u32) {
    for i in 0..bytes / 4 {
        // SAFETY: foreign pages inside the memory.
        unsafe { heap.memory().store(at + 4 * i, v) };
    }
}

// ----- sizes at and around MAX_PAYLOAD -----

#[test]
fn sizes_past_max_payload_are_size_too_large_and_change_nothing() {
    let mut rt = host_with(64);
    let ids = ids();
    let p = rt.alloc(64).unwrap();
    let o = new(&mut rt, 64, ids.abuf);
    for size in [MAX_PAYLOAD + 1, MAX_PAYLOAD + 16, 1 << 30, u32::MAX - 15, u32::MAX] {
        expect_unchanged(&mut rt, Error::SizeTooLarge, |rt| rt.alloc(size));
        expect_unchanged(&mut rt, Error::SizeTooLarge, |rt| rt.realloc(p, size));
        expect_unchanged(&mut rt, Error::SizeTooLarge, |rt| rt.renew(o, size));
        expect_unchanged(&mut rt, Error::SizeTooLarge, |rt| rt.new_object(size, ids.abuf));
        // A bad ref is reported before the size.
        expect_unchanged(&mut rt, Error::NullRef, |rt| rt.realloc(0, size));
        expect_unchanged(&mut rt, Error::Unaligned, |rt| rt.realloc(p + 4, size));
        expect_unchanged(&mut rt, Error::ManagedBlock, |rt| rt.realloc(o, size));
        expect_unchanged(&mut rt, Error::UnmanagedBlock, |rt| rt.renew(p, size));
        expect_unchanged(&mut rt, Error::NotABlock, |rt| rt.realloc(p + 16, size));
        expect_unchanged(&mut rt, Error::OutsideHeap, |rt| rt.realloc(16, size));
        let map = rt.heap().start() + HEADER_SIZE; // the start map's own Internal block
        expect_unchanged(&mut rt, Error::NotABlock, |rt| rt.realloc(map, size));
    }
    let q = rt.alloc(32).unwrap();
    rt.free(q).unwrap();
    expect_unchanged(&mut rt, Error::AlreadyFree, |rt| rt.realloc(q, MAX_PAYLOAD + 1));
    expect_unchanged(&mut rt, Error::AlreadyFree, |rt| rt.free(q));
    assert_eq!(rt.stats().collections, 0);
}

/// MAX_PAYLOAD itself in a memory whose maximum can never hold it: out of memory at once, no
/// collection, nothing changed (could_ever_fit is false).
#[test]
fn max_payload_that_could_never_fit_fails_without_collecting() {
    let mut rt = host_with(64);
    let ids = ids();
    let p = rt.alloc(64).unwrap();
    let o = new(&mut rt, 64, ids.abuf);
    for size in [MAX_PAYLOAD, MAX_PAYLOAD - 15, 64 * PAGE_SIZE] {
        expect_unchanged(&mut rt, Error::OutOfMemory, |rt| rt.alloc(size));
        expect_unchanged(&mut rt, Error::OutOfMemory, |rt| rt.realloc(p, size));
        // (Both may pay a regular GC step first, §6.4, which may end a cycle.)
        assert_eq!(rt.renew(o, size), Err(Error::OutOfMemory));
        assert_eq!(rt.new_object(size, ids.abuf), Err(Error::OutOfMemory));
    }
    assert_eq!(rt.heap().validate(p), Ok(p - 16));
    assert_eq!(rt.heap().validate(o), Ok(o - 16));
    assert_sound(&rt, "");
}

/// MAX_PAYLOAD in a memory that can hold it: realloc to it (moves), back down (in place),
/// and MAX_PAYLOAD + 1 still refused.
#[test]
fn max_payload_that_fits_reallocs_up_and_down() {
    // Room for the block and for the start map that covers twice the memory (16 MiB).
    let pages = (block_size(MAX_PAYLOAD) + 4 * PAGE_SIZE) / PAGE_SIZE + 600;
    let mut rt = host_with(pages);
    let p = rt.alloc(64).unwrap();
    st(&rt, p, 0xABCD_0123);
    let big = rt.realloc(p, MAX_PAYLOAD).unwrap();
    assert_eq!(ld(&rt, big), 0xABCD_0123);
    assert_eq!(rt.heap().validate(big), Ok(big - 16));
    assert_eq!(rt.heap().validate(p), Err(Error::AlreadyFree));
    expect_unchanged(&mut rt, Error::SizeTooLarge, |rt| rt.realloc(big, MAX_PAYLOAD + 1));
    assert_eq!(rt.realloc(big, MAX_PAYLOAD).unwrap(), big, "same size stays");
    let small = rt.realloc(big, 16).unwrap();
    assert_eq!(small, big, "shrinking stays in place");
    assert_eq!(ld(&rt, small), 0xABCD_0123);
    assert_eq!(rt.heap().validate(small + 32), Err(Error::AlreadyFree), "the freed remainder");
    assert_sound(&rt, "");
    rt.free(small).unwrap();
    assert_sound(&rt, "");
}

// ----- out of memory at the memory's maximum -----

/// Fills the memory (at most `max` pages) with unmanaged blocks of `payload` bytes until
/// allocation fails; returns them.
fn fill_unmanaged(rt: &mut Rt, payload: u32) -> Vec<u32> {
    let mut v = Vec::new();
    loop {
        match rt.alloc(payload) {
            Ok(p) => v.push(p),
            Err(e) => {
                assert_eq!(e, Error::OutOfMemory);
                return v;
            }
        }
    }
}

/// At the maximum, a request whose only fitting block is in its own class (which the good-fit
/// search skips) takes it (`find_exact`), without a collection: alloc, realloc (moving), and
/// the same for a managed object.
#[test]
fn exact_fit_at_the_maximum_needs_no_collection() {
    let mut rt = host_with(4);
    let blocks = fill_unmanaged(&mut rt, 1008);
    let c = rt.stats().collections;
    assert!(blocks.len() > 100);
    // Whatever else is free is smaller than a 1024-byte block.
    assert!(largest_free_block(&rt) < 1024, "{}", largest_free_block(&rt));
    rt.free(blocks[10]).unwrap();
    assert_eq!(rt.alloc(1008).unwrap(), blocks[10], "the exact-fit block");
    assert_eq!(rt.stats().collections, c);
    rt.free(blocks[20]).unwrap();
    let small = blocks[30];
    rt.free(blocks[31]).unwrap();
    rt.free(blocks[32]).unwrap();
    // blocks[30] grows in place over its two free right neighbours (3 blocks of 1024).
    let r = rt.realloc(small, 1008 + 2 * 1024).unwrap();
    assert_eq!(r, small, "in place over two free neighbours");
    assert_eq!(rt.stats().collections, c);
    // A managed object of the exact class.
    let o = rt.new_object(1008, ids().abuf).unwrap();
    assert_eq!(o, blocks[20]);
    root(&mut rt, 0, o); // not garbage for the collections below
    assert_eq!(rt.stats().collections, c);
    assert_sound(&rt, "");
    // Nothing left of that class: out of memory, after a collection, heap unchanged.
    expect_oom(&mut rt, |rt| rt.alloc(1008));
    expect_oom(&mut rt, |rt| rt.realloc(blocks[40], 1008 + 1024));
}

/// At the maximum with the memory full of garbage: realloc and renew must collect and then
/// succeed, in every phase (idle, marking, sweeping), keeping the resized object's contents.
#[test]
fn resizes_that_must_collect_first_in_every_phase() {
    for phase in [Phase::Idle, Phase::Mark, Phase::Sweep] {
        let mut rt = host_with(8);
        let ids = ids();
        let p = rt.alloc(64).unwrap();
        st(&rt, p, 0x1111_2222);
        let o = new(&mut rt, 64, ids.abuf);
        st(&rt, o, 0x3333_4444);
        root(&mut rt, 0, o);
        // A long rooted list so that a cycle lasts, then garbage to the maximum.
        let slots = rt.static_slots();
        let mut head = 0;
        for _ in 0..400 {
            let n = new(&mut rt, 8, ids.tree);
            st(&rt, n, head);
            st(&rt, slots + 4, n);
            rt.link(slots, n, false).unwrap();
            head = n;
        }
        finish_cycle(&mut rt);
        rt.configure(100, 1024).unwrap();
        // Garbage: unrooted buffers until the memory is at its maximum and full.
        let mut n = 0;
        while rt.memory().pages() < 8 || rt.heap().largest_free() > 4096 {
            let _ = new(&mut rt, 2000, ids.abuf);
            n += 1;
            assert!(n < 10_000);
        }
        finish_cycle(&mut rt);
        while rt.heap().largest_free() > 4096 {
            let _ = new(&mut rt, 2000, ids.abuf);
        }
        if phase != Phase::Idle {
            assert_eq!(rt.gc_step(), Phase::Mark);
            if phase == Phase::Sweep {
                while rt.gc_step() == Phase::Mark {}
            }
        }
        assert_eq!(rt.phase(), phase);
        let c = rt.stats().collections;
        let big = 16 * 1024;
        let q = rt.realloc(p, big).unwrap_or_else(|e| panic!("{phase:?}: realloc {e:?}"));
        assert!(rt.stats().collections > c, "{phase:?}: collected first");
        assert_eq!(ld(&rt, q), 0x1111_2222);
        assert_eq!(rt.heap().validate(q), Ok(q - 16));
        assert_sound(&rt, format!("{phase:?} after realloc"));
        // Fill again, then renew must collect.
        while rt.heap().largest_free() > 4096 {
            let _ = new(&mut rt, 2000, ids.abuf);
        }
        let c = rt.stats().collections;
        let r = rt.renew(o, big).unwrap_or_else(|e| panic!("{phase:?}: renew {e:?}"));
        assert!(rt.stats().collections > c, "{phase:?}: renew collected first");
        assert_eq!(ld(&rt, r), 0x3333_4444);
        assert!(bytes(&rt, r + 64, big - 64).iter().all(|&b| b == 0), "grown tail zeroed");
        assert_sound(&rt, format!("{phase:?} after renew"));
        root(&mut rt, 0, r);
        finish_cycle(&mut rt);
        assert!(rt.validate_managed(r).is_ok());
        assert_sound(&rt, "");
    }
}

/// A corrupt shadow-stack descriptor met by the out-of-memory collection: the error that comes
/// back through `PackedResult` (alloc, new) and the `Option` paths (realloc, renew) is the
/// descriptor's, not "out of memory", and nothing changed.
#[test]
fn oom_collection_with_a_bad_descriptor_reports_the_descriptor() {
    let mut rt = host_with(4);
    let ids = ids();
    let o = new(&mut rt, 64, ids.abuf);
    root(&mut rt, 0, o);
    let blocks = fill_unmanaged(&mut rt, 1008);
    assert!(largest_free_block(&rt) < 1024);
    rt.collect();
    let h = rt.shadow_stack();
    let sound = (ld(&rt, h), ld(&rt, h + 4), ld(&rt, h + 8));
    st(&rt, h + 4, sound.1 + 4); // base is not the slot array's
    expect_unchanged(&mut rt, Error::BadShadowStack, |rt| rt.alloc(1008));
    expect_unchanged(&mut rt, Error::BadShadowStack, |rt| rt.realloc(blocks[3], 4000));
    let (snap, stats) = (snapshot(&rt), rt.stats());
    assert_eq!(rt.new_object(4000, ids.abuf), Err(Error::BadShadowStack));
    assert_eq!(rt.renew(o, 4000), Err(Error::BadShadowStack));
    assert!(snapshot(&rt) == snap, "memory changed");
    assert_eq!(rt.stats(), stats);
    st(&rt, h + 4, sound.1);
    expect_oom(&mut rt, |rt| rt.alloc(1008));
    expect_oom(&mut rt, |rt| rt.realloc(blocks[3], 4000));
}

// ----- the free lists (Bins::remove) and shrinking in place -----

/// Free blocks of one class are removed from the head, the middle and the end of their list
/// (by merges and by allocation); the lists and bitmaps stay exact.
#[test]
fn removal_from_every_position_of_a_list() {
    let mut rt = host_with(64);
    // 6 blocks of one class, each followed by a spacer.
    let mut v = Vec::new();
    for _ in 0..6 {
        let b = rt.alloc(96).unwrap();
        let s = rt.alloc(16).unwrap();
        v.push((b, s));
    }
    let _guard = rt.alloc(16).unwrap();
    for &(b, _) in &v {
        rt.free(b).unwrap(); // list: v5 -> v4 -> ... -> v0
    }
    assert_sound(&rt, "six in one list");
    // Middle: free the spacer after v2 (merges v2 and v3: v2 and v3 both leave the list).
    rt.free(v[2].1).unwrap();
    assert_sound(&rt, "middle");
    // End: the spacer after v0 merges v0 with v1.
    rt.free(v[0].1).unwrap();
    assert_sound(&rt, "end");
    // Head: allocate the class (takes the head, v5), and the spacer after v4 merges v4/v5.
    let x = rt.alloc(96).unwrap();
    assert_sound(&rt, "head taken");
    rt.free(x).unwrap();
    rt.free(v[4].1).unwrap();
    assert_sound(&rt, "head merged");
    for r in [v[0].0, v[1].0, v[2].0, v[3].0, v[4].0, v[5].0] {
        assert!(rt.heap().validate(r).is_err());
    }
    validators_agree(rt.heap(), "after the list removals");
}

/// Shrinking in place frees the remainder without touching the start map (it had no bit): the
/// remainder merges with a free right neighbour or the bump block, stays separate before a used
/// one, and in the middle of a sweep the cursor never points into a merged block.
#[test]
fn shrinking_in_place_next_to_every_kind_of_neighbour() {
    let mut rt = host_with(64);
    let ids = ids();
    // Before a used block.
    let a = rt.alloc(1000).unwrap();
    let _b = rt.alloc(16).unwrap();
    assert_eq!(rt.realloc(a, 100).unwrap(), a);
    assert_eq!(rt.heap().validate(a + 128), Err(Error::AlreadyFree));
    assert_sound(&rt, "before a used block");
    // Before a free block.
    let c = rt.alloc(1000).unwrap();
    let d = rt.alloc(500).unwrap();
    let _e = rt.alloc(16).unwrap();
    rt.free(d).unwrap();
    assert_eq!(rt.realloc(c, 16).unwrap(), c);
    assert_eq!(rt.heap().validate(d), Err(Error::AlreadyFree), "swallowed header");
    assert_sound(&rt, "before a free block");
    // Before the bump block (the last allocation's remainder).
    let f = rt.alloc(1000).unwrap();
    assert_eq!(rt.realloc(f, 16).unwrap(), f);
    assert_sound(&rt, "before the bump block");
    // During a sweep, managed objects shrunk around the cursor.
    rt.configure(100, 1024).unwrap();
    finish_cycle(&mut rt);
    let objs: Vec<u32> = (0..200).map(|_| new(&mut rt, 480, ids.abuf)).collect();
    for (i, &o) in objs.iter().enumerate() {
        if i % 3 == 0 {
            root(&mut rt, (i / 3 % 8) as u32, o);
        }
    }
    let keep: Vec<u32> = objs.iter().copied().step_by(2).collect();
    for &o in &keep {
        rt.pin(o).unwrap();
    }
    assert_eq!(rt.gc_step(), Phase::Mark);
    while rt.gc_step() == Phase::Mark {}
    let mut k = 0;
    while rt.phase() == Phase::Sweep {
        let o = keep[k % keep.len()];
        k += 1;
        if rt.validate_managed(o).is_ok() {
            let size = ld(&rt, o - 4);
            if size > 16 {
                assert_eq!(rt.renew(o, size - 16 - 16 * (k as u32 % 3)).unwrap(), o);
            }
        }
        assert_sound(&rt, format!("sweep step {k}"));
        validators_agree(rt.heap(), "sweep");
        rt.gc_step();
    }
    for &o in &keep {
        rt.unpin(o).unwrap();
    }
    finish_cycle(&mut rt);
    assert_sound(&rt, "");
}

/// Compiled code makes `a`'s two size words claim `a` and its live right neighbour `b`, then
/// shrinks `a` back in place with `__realloc`: the freed remainder starts exactly at `b`. Freeing
/// the remainder clears any start bit there, so `b`'s ref reads "already free" instead of
/// validating while its block is listed free (a later `__free(b)` would list it twice). The
/// rest of what such a forged header does is §6.8's.
#[test]
fn shrinking_a_forged_block_onto_a_live_neighbour() {
    let mut rt = host_with(64);
    rt.set_step_checks(0);
    let a = rt.alloc(64).unwrap();
    let b = rt.alloc(64).unwrap();
    let _c = rt.alloc(64).unwrap();
    let block = a - HEADER_SIZE;
    assert_eq!(b - HEADER_SIZE, block + block_size(64));
    let claim = 2 * block_size(64);
    st(&rt, block + MM_INFO, MmInfo(claim - 4).0 | (ld(&rt, block) & 3));
    st(&rt, block + RT_SIZE, claim - HEADER_SIZE);
    assert_eq!(rt.realloc(a, 64).unwrap(), a, "shrunk in place: the remainder starts at b");
    assert_eq!(rt.heap().validate(b), Err(Error::AlreadyFree), "b's block is free now");
}
