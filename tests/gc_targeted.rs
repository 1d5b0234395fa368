#![cfg(not(target_arch = "wasm32"))]
//! Targeted collector tests: cycles, a million-node list, objects made during mark and sweep,
//! counted pins, the AssemblyScript 0.28.20 pin-while-black hang, static objects, chunked array
//! scans with the barrier, `renew`, the `__link` invariant check, and bounded steps.

mod model;

use asrt::Error;
use asrt::gc::Phase;
use asrt::host::HostConfig;
use asrt::object::block_size;
use model::*;

fn host() -> Rt {
    Rt::host(HostConfig::default())
}

/// Stores `child` at `parent + off` with the barrier.
fn store(rt: &mut Rt, parent: u32, off: u32, child: u32, multiple: bool) {
    st(rt, parent + off, child);
    rt.link(parent, child, multiple).unwrap();
}

/// A String of `units` code units whose contents derive from `tag`.
fn string(rt: &mut Rt, units: u32, tag: u32) -> u32 {
    let r = new(rt, 2 * units, ids().string);
    for i in 0..units {
        let v = (tag.wrapping_mul(31).wrapping_add(i) & 0xFFFF) as u16;
        write(rt, r + 2 * i, &v.to_le_bytes());
    }
    r
}

fn string_ok(rt: &Rt, r: u32, units: u32, tag: u32) -> bool {
    rt.validate_managed(r).is_ok()
        && rt.rt_size(r) == 2 * units
        && (0..units).all(|i| {
            let b = bytes(rt, r + 2 * i, 2);
            u16::from_le_bytes([b[0], b[1]])
                == (tag.wrapping_mul(31).wrapping_add(i) & 0xFFFF) as u16
        })
}

/// Steps until the phase is `want`, at most `max` steps.
fn step_until(rt: &mut Rt, want: Phase, max: u32) -> u32 {
    for n in 0..max {
        if rt.phase() == want {
            return n;
        }
        rt.gc_step();
    }
    assert_eq!(rt.phase(), want, "phase {want:?} not reached in {max} steps");
    max
}

/// Finishes the cycle in progress with bounded steps; returns the steps taken.
fn finish_cycle(rt: &mut Rt, max: u32) -> u32 {
    let mut n = 0;
    while rt.phase() != Phase::Idle {
        rt.gc_step();
        n += 1;
        assert!(n <= max, "the cycle did not finish in {max} steps (phase {:?})", rt.phase());
    }
    n
}

/// Starts a cycle with one step (after a little garbage, so the cycle has something to free).
fn begin_cycle(rt: &mut Rt) {
    assert_eq!(rt.phase(), Phase::Idle);
    new(rt, 0, ids().abuf);
    rt.gc_step();
    assert_eq!(rt.phase(), Phase::Mark, "one step of a big heap does not finish marking");
}

fn is_live(rt: &Rt, r: u32) -> bool {
    rt.validate_managed(r).is_ok()
}

/// Blocks of every color among managed heap objects: [white0, white1, gray, black].
fn colors(rt: &Rt) -> [u64; 4] {
    let mut c = [0u64; 4];
    let heap = rt.heap();
    let mut b = heap.first_block();
    while b != 0 {
        let info = ld(rt, b);
        if info & 1 == 0 {
            let gc = ld(rt, b + 4);
            if gc & 8 != 0 {
                c[(gc & 3) as usize] += 1;
            }
        }
        // SAFETY: `b` is a block start from the walk.
        b = unsafe { heap.next_block(b) };
    }
    c
}

#[test]
fn cycles_are_collected() {
    let mut rt = host();
    let t = ids().tree;
    let base = rt.stats().used_bytes;
    let a = new(&mut rt, 8, t);
    let b = new(&mut rt, 8, t);
    let c = new(&mut rt, 8, t);
    store(&mut rt, a, 0, b, false);
    store(&mut rt, b, 0, c, false);
    store(&mut rt, c, 0, a, false); // a -> b -> c -> a
    store(&mut rt, b, 4, b, true); // self loop
    root(&mut rt, 0, a);
    rt.collect();
    assert_eq!(rt.stats().live_objects, 3);
    assert!(is_live(&rt, a) && is_live(&rt, b) && is_live(&rt, c));
    assert_eq!(ld(&rt, c), a);
    root(&mut rt, 0, 0);
    rt.collect();
    assert_eq!(rt.check(), 0);
    assert_eq!(rt.stats().live_objects, 0, "an unrooted cycle is garbage");
    assert_eq!(rt.stats().used_bytes, base);
}

#[test]
fn million_node_list_is_traced_iteratively() {
    let mut rt = Rt::host(HostConfig { max_pages: 2048, ..HostConfig::default() });
    let t = ids().tree;
    const N: u32 = 1_000_000;
    let mut head = 0;
    for _ in 0..N {
        let n = new(&mut rt, 8, t);
        store(&mut rt, n, 0, head, false);
        root(&mut rt, 0, n);
        head = n;
    }
    // Marking the list is a loop over the intrusive gray stack, not a recursion: this runs on
    // the test thread's ordinary stack.
    rt.collect();
    assert_eq!(rt.check(), 0);
    assert_eq!(rt.stats().live_objects, N as u64);
    let mut count = 0;
    let mut at = head;
    while at != 0 {
        assert!(is_live(&rt, at));
        count += 1;
        at = ld(&rt, at);
    }
    assert_eq!(count, N);
    root(&mut rt, 0, 0);
    rt.collect();
    assert_eq!(rt.stats().live_objects, 0);
    assert_eq!(rt.stats().used_bytes, 0);
    assert_eq!(rt.check(), 0);
}

/// A rooted chain of `n` TreeNodes in static slot `slot`, so cycles take many small steps.
fn ballast(rt: &mut Rt, slot: u32, n: u32) -> u32 {
    let t = ids().tree;
    let mut head = 0;
    for _ in 0..n {
        // Allocation may run GC steps: the list stays rooted and every store is barriered.
        let x = new(rt, 8, t);
        store(rt, x, 0, head, false);
        root(rt, slot, x);
        head = x;
    }
    head
}

#[test]
fn objects_allocated_during_mark_and_sweep_survive() {
    let mut rt = host();
    let ids = ids();
    ballast(&mut rt, 0, 20_000);
    let parent = new(&mut rt, 8, ids.tree);
    root(&mut rt, 1, parent);
    rt.configure(100, 1024).unwrap();
    // Mark: step until the parent is black, then hang new objects off it and off nothing.
    rt.gc_step();
    assert_eq!(rt.phase(), Phase::Mark);
    let mut n = 0;
    while color(&rt, parent) != 3 {
        rt.gc_step();
        n += 1;
        assert!(n < 10_000);
    }
    assert_eq!(rt.phase(), Phase::Mark);
    let m1 = string(&mut rt, 50, 1);
    store(&mut rt, parent, 0, m1, false);
    let m2 = string(&mut rt, 50, 2); // unrooted: allocated black, survives this cycle
    assert_eq!(color(&rt, m2), 3, "allocated black while marking");
    assert_eq!(rt.check(), 0);
    step_until(&mut rt, Phase::Sweep, 100_000);
    // Sweep: allocate more, rooted and unrooted.
    rt.gc_step();
    assert_eq!(rt.phase(), Phase::Sweep, "the sweep takes several steps");
    let s1 = string(&mut rt, 60, 3);
    store(&mut rt, parent, 4, s1, false);
    let s2 = string(&mut rt, 60, 4);
    assert_eq!(rt.check(), 0);
    finish_cycle(&mut rt, 100_000);
    assert_eq!(rt.check(), 0);
    for (r, tag, units) in [(m1, 1, 50), (m2, 2, 50), (s1, 3, 60), (s2, 4, 60)] {
        assert!(string_ok(&rt, r, units, tag), "object {tag} survives the cycle it was made in");
    }
    // The next full cycle keeps the rooted ones only.
    rt.collect();
    assert!(string_ok(&rt, m1, 50, 1) && string_ok(&rt, s1, 60, 3));
    assert!(!is_live(&rt, m2) && !is_live(&rt, s2), "unrooted objects go in the next cycle");
    assert_eq!(rt.check(), 0);
}

#[test]
fn pins_are_counted() {
    let mut rt = host();
    let s = string(&mut rt, 10, 7);
    assert_eq!(rt.pin(s), Ok(s));
    assert_eq!(rt.pin(s), Ok(s));
    assert_eq!(rt.pin_count(s), 2);
    rt.unpin(s).unwrap();
    rt.collect();
    assert!(string_ok(&rt, s, 10, 7), "still pinned once");
    assert_eq!(rt.pin_count(s), 1);
    rt.unpin(s).unwrap();
    assert_eq!(rt.pin_count(s), 0);
    rt.collect();
    assert!(!is_live(&rt, s));
    assert_eq!(rt.stats().live_objects, 0);
    assert_eq!(rt.pin(0), Ok(0));
    assert_eq!(rt.unpin(0), Ok(()));
    assert_eq!(rt.check(), 0);
}

#[test]
fn unpinning_an_unpinned_object_fails_and_changes_nothing() {
    let mut rt = host();
    let s = string(&mut rt, 10, 1);
    root(&mut rt, 0, s);
    expect_unchanged(&mut rt, Error::NotPinned, |rt| rt.unpin(s));
    rt.pin(s).unwrap();
    rt.unpin(s).unwrap();
    expect_unchanged(&mut rt, Error::NotPinned, |rt| rt.unpin(s));
    let slots = rt.static_slots();
    expect_unchanged(&mut rt, Error::NotPinned, |rt| rt.unpin(slots));
    // While marking too.
    ballast(&mut rt, 1, 5000);
    rt.configure(100, 1024).unwrap();
    rt.gc_step();
    assert_eq!(rt.phase(), Phase::Mark);
    expect_unchanged(&mut rt, Error::NotPinned, |rt| rt.unpin(s));
    finish_cycle(&mut rt, 100_000);
    assert!(string_ok(&rt, s, 10, 1));
}

#[test]
fn an_object_pinned_after_the_pin_scan_is_shaded_by_the_pin() {
    // A first pin (the PINNED bit) must shade a white object while marking: once the pin walk
    // has passed the object's block (or was skipped), nothing else would, and the cycle would
    // free a pinned object.
    let mut rt = host();
    let t = ids().tree;
    // A long list reachable only from a pinned head: the pin scan (when the gray stack first
    // runs dry) is over long before marking has traced the list.
    let head = new(&mut rt, 8, t);
    rt.pin(head).unwrap();
    let mut tail = head;
    for _ in 0..30_000 {
        let x = new(&mut rt, 8, t);
        store(&mut rt, tail, 0, x, false);
        tail = x;
    }
    let target = string(&mut rt, 20, 9);
    finish_cycle(&mut rt, 100_000);
    rt.configure(100, 1024).unwrap();
    rt.gc_step();
    for _ in 0..10 {
        rt.gc_step();
    }
    assert_eq!(rt.phase(), Phase::Mark, "the list is still being traced");
    assert_eq!(color(&rt, head), 3, "the pinned head was shaded and scanned");
    assert!(color(&rt, target) < 2, "the target is white");
    rt.pin(target).unwrap();
    finish_cycle(&mut rt, 100_000);
    assert!(string_ok(&rt, target, 20, 9), "the pinned object was freed");
    assert_eq!(rt.check(), 0);
}

#[test]
fn pinning_a_black_object_while_marking_terminates() {
    // AssemblyScript 0.28.20's incremental GC hangs when the host pins an object that marking
    // has already blackened. Here the cycle must finish in a bounded number of steps.
    let mut rt = host();
    ballast(&mut rt, 0, 30_000);
    let target = string(&mut rt, 20, 9);
    let holder = new(&mut rt, 8, ids().tree);
    store(&mut rt, holder, 0, target, false);
    root(&mut rt, 1, holder);
    rt.configure(100, 1024).unwrap();
    rt.gc_step();
    assert_eq!(rt.phase(), Phase::Mark);
    let mut n = 0;
    while color(&rt, target) != 3 {
        rt.gc_step();
        n += 1;
        assert!(n < 100_000, "target never blackened");
        assert_eq!(rt.phase(), Phase::Mark, "marking ended before the target was black");
    }
    rt.pin(target).unwrap();
    assert_eq!(rt.check(), 0);
    // Unroot it from the heap: only the pin keeps it.
    store(&mut rt, holder, 0, 0, false);
    let steps = finish_cycle(&mut rt, 20_000);
    assert!(steps > 0);
    rt.collect();
    assert!(string_ok(&rt, target, 20, 9), "the pinned object is kept");
    assert_eq!(rt.check(), 0);
    rt.unpin(target).unwrap();
    rt.collect();
    assert!(!is_live(&rt, target));
}

#[test]
fn static_objects_are_never_freed_or_written() {
    let mut rt = host();
    let slots = rt.static_slots();
    let n = rt.rt_size(slots) / 4;
    let a = string(&mut rt, 30, 1);
    let b = new(&mut rt, 8, ids().tree);
    store(&mut rt, b, 0, a, false);
    root(&mut rt, 0, b);
    root(&mut rt, n - 1, a);
    let top = rt.shadow_stack();
    rt.push(b).unwrap();
    // The static area minus the slot contents (which the mutator writes) and the shadow stack
    // slots and top (ditto).
    let start = rt.heap().start();
    let masked = |rt: &Rt| {
        let mut v = bytes(rt, 0, start).to_vec();
        v[slots as usize..(slots + 4 * n) as usize].fill(0);
        v[top as usize..top as usize + 4].fill(0);
        let base = ld(rt, top + 4) as usize;
        v[base..base + 64].fill(0);
        v
    };
    let before = masked(&rt);
    rt.collect();
    rt.configure(100, 1024).unwrap();
    for _ in 0..3 {
        ballast(&mut rt, 1, 3000);
        step_until(&mut rt, Phase::Mark, 10);
        finish_cycle(&mut rt, 100_000);
    }
    rt.pop(1).unwrap();
    root(&mut rt, 0, 0);
    root(&mut rt, 1, 0);
    rt.collect();
    rt.collect();
    assert!(masked(&rt) == before, "the collector wrote into static data");
    assert!(rt.is_static(slots));
    assert!(string_ok(&rt, a, 30, 1), "kept by the last static slot");
    assert_eq!(rt.stats().live_objects, 1);
    assert_eq!(rt.pin(slots), Ok(slots), "static objects can be pinned");
    rt.unpin(slots).unwrap();
    assert_eq!(rt.check(), 0);
}

/// An Array<string> of `len` Strings (each of 4 units tagged with its index) in static slot 0.
fn big_array(rt: &mut Rt, len: u32, tag: u32) -> (u32, u32) {
    let ids = ids();
    let buf = new(rt, 4 * len, ids.abuf);
    rt.push(buf).unwrap();
    let arr = new(rt, 16, ids.arr_str);
    rt.pop(1).unwrap();
    st(rt, arr, buf);
    st(rt, arr + 4, buf);
    st(rt, arr + 8, 4 * len);
    st(rt, arr + 12, len);
    rt.link(arr, buf, false).unwrap();
    root(rt, 0, arr);
    for i in 0..len {
        let s = string(rt, 4, tag + i);
        let buf = ld(rt, arr + 4);
        store_elem(rt, arr, buf, i, s, i % 2 == 0);
    }
    (arr, buf)
}

fn store_elem(rt: &mut Rt, arr: u32, buf: u32, i: u32, child: u32, multiple: bool) {
    st(rt, buf + 4 * i, child);
    rt.link(arr, child, multiple).unwrap();
}

#[test]
fn chunked_scan_of_a_big_array_with_barrier_stores() {
    let mut rt = host();
    const N: u32 = 100_000;
    let (arr, buf) = big_array(&mut rt, N, 0);
    // A pool of Strings held only by a second array that is scanned after the big one.
    let ids = ids();
    let pool_n = 2000;
    let pbuf = new(&mut rt, 4 * pool_n, ids.abuf);
    rt.push(pbuf).unwrap();
    let pool = new(&mut rt, 16, ids.arr_str);
    rt.pop(1).unwrap();
    for (o, v) in [(0, pbuf), (4, pbuf), (8, 4 * pool_n), (12, pool_n)] {
        st(&rt, pool + o, v);
    }
    rt.link(pool, pbuf, false).unwrap();
    root(&mut rt, 1, pool);
    for i in 0..pool_n {
        let s = string(&mut rt, 4, 1_000_000 + i);
        store_elem(&mut rt, pool, pbuf, i, s, false);
    }
    rt.collect();
    rt.configure(100, 1024).unwrap();
    begin_cycle(&mut rt);
    // Move pool strings into already-scanned slots (low indices) and clear them from the pool,
    // while the big array's chunked scan is still going.
    let mut moved = Vec::new();
    let mut steps = 0;
    let mut k = 0u32;
    while rt.phase() == Phase::Mark && k < pool_n {
        for _ in 0..5 {
            if k == pool_n {
                break;
            }
            let s = ld(&rt, pbuf + 4 * k);
            let slot = k % 50;
            store_elem(&mut rt, arr, buf, slot, s, k % 2 == 1);
            st(&rt, pbuf + 4 * k, 0);
            moved.push((slot, s, 1_000_000 + k));
            k += 1;
        }
        if k.is_multiple_of(100) {
            assert_eq!(rt.check(), 0, "invariant during the chunked scan");
        }
        rt.gc_step();
        steps += 1;
    }
    assert!(steps > 20, "the 100k-element array is scanned across many steps ({steps})");
    finish_cycle(&mut rt, 1_000_000);
    rt.collect();
    assert_eq!(rt.check(), 0);
    // The last string moved into each low slot is there; every other element is intact.
    let mut last = std::collections::BTreeMap::new();
    for (slot, s, tag) in moved {
        last.insert(slot, (s, tag));
    }
    for i in 0..N {
        let s = ld(&rt, buf + 4 * i);
        let tag = last.get(&i).map_or(i, |&(_, t)| t);
        assert!(string_ok(&rt, s, 4, tag), "element {i} lost");
    }
}

#[test]
fn renew_keeps_contents_zeroes_tail_and_leaves_the_old_block_to_the_collector() {
    // Runtime::renew: "when it moves, the old block is left to the collector, which reclaims it
    // safely once nothing refers to it"; in place when the heap allows (shrinking always does).
    let mut rt = host();
    let ids = ids();
    let a = string(&mut rt, 10, 5);
    let blocker = new(&mut rt, 8, ids.tree);
    root(&mut rt, 0, a);
    root(&mut rt, 1, blocker);
    let s0 = rt.stats();
    // Moves (the blocker sits right behind it).
    let b = rt.renew(a, 400).unwrap();
    assert_ne!(b, a);
    root(&mut rt, 0, b);
    let kept = (0..10u32).all(|i| {
        let x = bytes(&rt, b + 2 * i, 2);
        u16::from_le_bytes([x[0], x[1]]) == (5u32 * 31 + i) as u16
    });
    assert!(kept, "contents kept");
    assert_eq!(rt.rt_size(b), 400);
    assert!(bytes(&rt, b + 20, 380).iter().all(|&x| x == 0), "grown tail zeroed");
    let s1 = rt.stats();
    assert_eq!(s1.live_objects, s0.live_objects + 1, "the old block is still an object");
    assert_eq!(s1.used_bytes, s0.used_bytes + block_size(400) as u64);
    assert!(string_ok(&rt, a, 10, 5), "old block untouched until collected");
    assert_eq!(rt.check(), 0);
    rt.collect();
    let s2 = rt.stats();
    assert_eq!(s2.live_objects, s0.live_objects, "the old block is collected");
    assert_eq!(s2.used_bytes, s0.used_bytes - block_size(20) as u64 + block_size(400) as u64);
    assert!(!is_live(&rt, a));
    // Shrinks in place.
    let c = rt.renew(b, 6).unwrap();
    assert_eq!(c, b);
    assert_eq!(rt.rt_size(c), 6);
    assert_eq!(rt.stats().used_bytes, s0.used_bytes - block_size(20) as u64 + block_size(6) as u64);
    // Grows in place into the free right neighbour left by the shrink.
    let d = rt.renew(c, 100).unwrap();
    assert_eq!(d, c, "grows in place into a free right neighbour");
    assert!(bytes(&rt, d + 6, 94).iter().all(|&x| x == 0), "tail zeroed in place too");
    assert_eq!(rt.check(), 0);

    // Pinned: the old block keeps its pin (and lives), the copy is not pinned.
    let p = string(&mut rt, 8, 6);
    let blocker2 = new(&mut rt, 8, ids.tree);
    rt.push(blocker2).unwrap();
    rt.pin(p).unwrap();
    let q = rt.renew(p, 500).unwrap();
    assert_ne!(q, p);
    rt.push(q).unwrap();
    rt.collect();
    assert!(string_ok(&rt, p, 8, 6), "pinned old block kept");
    assert_eq!(rt.pin_count(q), 0);
    assert_eq!(rt.pin_count(p), 1);
    rt.unpin(p).unwrap();
    rt.collect();
    assert!(!is_live(&rt, p));
    assert!(is_live(&rt, q));
    // On the shadow stack: the old block lives while the slot holds it.
    let u = string(&mut rt, 8, 7);
    let blocker3 = new(&mut rt, 8, ids.tree);
    rt.push(blocker3).unwrap();
    rt.push(u).unwrap();
    let v = rt.renew(u, 600).unwrap();
    assert_ne!(v, u);
    rt.collect();
    assert!(string_ok(&rt, u, 8, 7), "old block on the shadow stack kept");
    assert!(!is_live(&rt, v), "the unreferenced copy is garbage");
    assert_eq!(rt.check(), 0);
    rt.pop(4).unwrap();
    root(&mut rt, 0, 0);
    root(&mut rt, 1, 0);
    rt.collect();
    assert_eq!(rt.stats().live_objects, 0);
    assert_eq!(rt.check(), 0);
}

#[test]
fn renew_during_sweep_of_an_unswept_black_object() {
    // Sweep in progress, the cursor past a freed hole but not yet at X (black, survives).
    // renew(X) moves it into the hole behind the cursor: the copy must not stay black.
    let mut rt = host();
    let ids = ids();
    let hole = string(&mut rt, 500, 1); // garbage at the heap start
    let _ = hole;
    ballast(&mut rt, 0, 2000);
    let child = string(&mut rt, 8, 2);
    let x = new(&mut rt, 8, ids.sarr_str); // StaticArray<string> of 2 slots
    store(&mut rt, x, 0, child, false);
    root(&mut rt, 1, x);
    let blocker = new(&mut rt, 8, ids.tree);
    root(&mut rt, 2, blocker);
    rt.configure(100, 1024).unwrap();
    step_until(&mut rt, Phase::Sweep, 100_000);
    rt.gc_step(); // sweeps the hole and some of the ballast
    assert_eq!(rt.phase(), Phase::Sweep);
    assert!(!is_live(&rt, hole), "the hole was swept");
    assert_eq!(color(&rt, x), 3, "x is black, not swept yet");
    // Use up the allocator's bump block (the heap's tail), so the copy has to take the hole.
    let bump = rt.heap().bump_free();
    if bump > 0 {
        rt.alloc(bump).unwrap();
    }
    let y = rt.renew(x, 800).unwrap();
    assert_ne!(y, x);
    root(&mut rt, 1, y);
    assert!(y < x, "moved into the hole behind the cursor");
    finish_cycle(&mut rt, 100_000);
    assert_eq!(rt.check(), 0, "no black object after the sweep");
    rt.collect();
    assert_eq!(rt.check(), 0);
    assert_eq!(ld(&rt, y), child);
    assert!(string_ok(&rt, child, 8, 2), "the moved object's child survives the next cycle");
}

#[test]
fn link_invariant_is_checked_and_kept() {
    for multiple in [false, true] {
        let mut rt = host();
        let ids = ids();
        // White children at the far end of a long list, so they stay white for a while.
        let tail = new(&mut rt, 8, ids.tree);
        let c1 = string(&mut rt, 4, 1);
        let c2 = string(&mut rt, 4, 2);
        store(&mut rt, tail, 0, c1, false);
        store(&mut rt, tail, 4, c2, false);
        root(&mut rt, 0, tail);
        let mut head = tail;
        for _ in 0..20_000 {
            let x = new(&mut rt, 8, ids.tree);
            store(&mut rt, x, 0, head, false);
            root(&mut rt, 0, x);
            head = x;
        }
        let parent = new(&mut rt, 8, ids.tree);
        root(&mut rt, 1, parent);
        rt.collect();
        rt.configure(100, 1024).unwrap();
        begin_cycle(&mut rt);
        let mut n = 0;
        while color(&rt, parent) != 3 {
            rt.gc_step();
            n += 1;
            assert!(
                n < 10_000 && rt.phase() == Phase::Mark,
                "parent never blackened while marking"
            );
        }
        assert_eq!(rt.phase(), Phase::Mark);
        assert!(color(&rt, c1) < 2 && color(&rt, c2) < 2, "children still white");
        assert_eq!(rt.check(), 0);
        // A store without the barrier breaks the invariant, and the checker sees it.
        st(&rt, parent, c1);
        assert!(rt.check() > 0, "black -> white without link must be reported");
        rt.link(parent, c1, multiple).unwrap();
        assert_eq!(rt.check(), 0, "link restores the invariant (multiple = {multiple})");
        // The other child with the barrier right away.
        store(&mut rt, parent, 4, c2, multiple);
        assert_eq!(rt.check(), 0);
        // Unlink them from the list: only the parent keeps them now.
        st(&rt, tail, 0);
        st(&rt, tail + 4, 0);
        finish_cycle(&mut rt, 100_000);
        rt.collect();
        assert!(string_ok(&rt, c1, 4, 1) && string_ok(&rt, c2, 4, 2));
        assert_eq!(rt.check(), 0);
    }
}

#[test]
fn steps_are_bounded() {
    let mut rt = host();
    const N: u32 = 100_000;
    ballast(&mut rt, 0, N);
    rt.collect();
    rt.configure(100, 4096).unwrap();
    let s0 = rt.stats().steps;
    let mut mark_steps = 0u64;
    let mut sweep_steps = 0u64;
    begin_cycle(&mut rt);
    loop {
        match rt.phase() {
            Phase::Mark => mark_steps += 1,
            Phase::Sweep => sweep_steps += 1,
            Phase::Idle => break,
        }
        rt.gc_step();
        assert!(mark_steps + sweep_steps < 1_000_000);
    }
    let steps = rt.stats().steps - s0;
    // Each object costs 16 units to mark and 16 to sweep: >= N*16/4096 steps per phase.
    let min = (N as u64 * 16) / 4096;
    assert!(mark_steps >= min * 8 / 10, "marking 100k objects took only {mark_steps} steps");
    assert!(sweep_steps >= min * 8 / 10, "sweeping 100k objects took only {sweep_steps} steps");
    assert!(steps >= mark_steps + sweep_steps);
    // Per step: no step blackens (mark) or whitens (sweep) more than its budget allows.
    let mut rt = host();
    ballast(&mut rt, 0, 20_000);
    rt.collect();
    rt.configure(100, 4096).unwrap();
    let per_step = 4096 / 16 + 2;
    let mut prev = colors(&rt);
    begin_cycle(&mut rt);
    while rt.phase() != Phase::Idle {
        let now = colors(&rt);
        match rt.phase() {
            Phase::Mark => assert!(
                now[3].saturating_sub(prev[3]) <= per_step,
                "one mark step blackened {} objects",
                now[3] - prev[3]
            ),
            _ => assert!(
                prev[3].saturating_sub(now[3]) <= per_step,
                "one sweep step visited {} objects",
                prev[3] - now[3]
            ),
        }
        prev = now;
        rt.gc_step();
    }
    assert_eq!(rt.check(), 0);
}

#[test]
fn an_idle_time_step_grows_memory_ahead_of_the_next_cycle() {
    // A big pause makes the pacing expect much more allocation than the heap has room for:
    // the idle-time step that ends a cycle grows memory for it (up to 16 MiB), so that later
    // `new_object` calls do not pay for `memory.grow`.
    let mut rt = host();
    rt.configure(1000, 0).unwrap();
    ballast(&mut rt, 0, 100_000);
    rt.collect();
    let before = rt.heap().largest_free();
    assert!(before < 16 << 20, "the heap is still small: {before}");
    begin_cycle(&mut rt);
    finish_cycle(&mut rt, 1_000_000);
    assert_eq!(rt.phase(), Phase::Idle);
    assert!(rt.heap().largest_free() >= 16 << 20, "grown ahead: {}", rt.heap().largest_free());
    assert_eq!(rt.check(), 0);
}

/// The marking word (`Roots::marking`, `__gc_marking` in wasm builds) is 1 exactly while the
/// collector marks: the C SDK's inline barrier trusts it to call `__link` whenever it matters.
#[test]
fn marking_word_follows_the_phase() {
    let mut rt = host();
    let word = rt.roots().marking;
    assert_ne!(word, 0, "the host runtime lays out a marking word");
    let marking = |rt: &Rt| ld(rt, word);
    rt.configure(100, 1024).unwrap(); // small steps: marking 400 objects takes several
    for _ in 0..400 {
        let r = new(&mut rt, 64, ids().abuf);
        rt.push(r).unwrap();
    }
    assert_eq!(marking(&rt), 0);
    let mut seen = [false; 3];
    for _ in 0..3 {
        loop {
            let phase = rt.gc_step();
            seen[phase as usize] = true;
            assert_eq!(marking(&rt), (phase == Phase::Mark) as u32, "in phase {phase:?}");
            if phase == Phase::Idle {
                break;
            }
        }
    }
    assert!(seen[Phase::Mark as usize] && seen[Phase::Sweep as usize]);
    // A full collection passes through marking and leaves the word at 0.
    begin_cycle(&mut rt);
    assert_eq!(marking(&rt), 1);
    rt.collect();
    assert_eq!(marking(&rt), 0);
}

// ----- pins shaded incrementally -----

/// `n` pinned Strings (String `i` with tag `i`) on a runtime with a small step budget.
fn pinned_strings(n: u32) -> (Rt, Vec<u32>) {
    let mut rt = host();
    rt.configure(100, 1024).unwrap();
    let rs: Vec<u32> = (0..n).map(|i| string(&mut rt, 4, i)).collect();
    for &r in &rs {
        rt.pin(r).unwrap();
    }
    (rt, rs)
}

/// Runs steps until the collector is idle, checking the heap after each.
fn finish_checked(rt: &mut Rt) {
    while rt.gc_step() != Phase::Idle {
        assert_eq!(rt.check(), 0, "{}", report(rt));
    }
}

#[test]
fn a_cycle_start_does_not_shade_every_pin_at_once() {
    let (mut rt, rs) = pinned_strings(4000);
    assert_eq!(rt.gc_step(), Phase::Mark);
    let white = rs.iter().filter(|&&r| color(&rt, r) < 2).count();
    assert!(white > 0, "every pin was shaded by the step that started the cycle");
    finish_checked(&mut rt);
    for (i, &r) in rs.iter().enumerate() {
        assert!(string_ok(&rt, r, 4, i as u32), "pinned object {i} was lost");
    }
}

#[test]
fn unpinning_during_the_pin_scan_keeps_the_pins_left() {
    let (mut rt, rs) = pinned_strings(4000);
    assert_eq!(rt.gc_step(), Phase::Mark);
    // Removing entries shifts later entries of their probe runs back, across the cursor.
    for &r in rs.iter().step_by(2) {
        rt.unpin(r).unwrap();
    }
    finish_checked(&mut rt);
    rt.collect();
    for (i, &r) in rs.iter().enumerate().skip(1).step_by(2) {
        assert!(string_ok(&rt, r, 4, i as u32), "pinned object {i} was lost");
    }
    assert_eq!(rt.stats().live_objects, 2000, "the unpinned half is reclaimed");
    assert_eq!(rt.check(), 0, "{}", report(&rt));
}

#[test]
fn a_pin_table_that_grows_during_the_scan_is_rescanned() {
    let (mut rt, mut rs) = pinned_strings(1000);
    // The strings to pin later are made before the cycle (so no step runs while the table
    // grows below), under a pacing that starts no cycle while they are made.
    rt.configure(1000, 1024).unwrap();
    rt.collect();
    let more: Vec<u32> = (1000..5000).map(|i| string(&mut rt, 4, i)).collect();
    assert_eq!(rt.phase(), Phase::Idle);
    assert_eq!(rt.gc_step(), Phase::Mark);
    // The later pins move the table (twice) while its old entries are being shaded: an old
    // entry can land behind the cursor, so the scan must start over.
    for &r in &more {
        rt.pin(r).unwrap();
    }
    rs.extend(more);
    finish_checked(&mut rt);
    rt.collect();
    for (i, &r) in rs.iter().enumerate() {
        assert!(string_ok(&rt, r, 4, i as u32), "pinned object {i} was lost");
    }
}

/// `__new`'s fast path (`new_small`, taken first, with `new_object` when it declines) leaves
/// exactly the heap, counters and results that `new_object` alone does, through cycles: the
/// same refs, the same errors, the same bytes of memory. Sizes on both sides of the small
/// limit, unknown ids, pins that come and go, and explicit steps in every phase.
#[test]
fn new_small_matches_new_object() {
    let ids = ids();
    let known = [ids.abuf, ids.string, ids.tree, ids.arr_i32];
    let mut fast = host();
    let mut full = host();
    let (mut hits, mut declined_in) = (0u32, [0u32; 3]);
    let mut pinned: Vec<u32> = Vec::new();
    let mut x: u32 = 0x9E37_79B9;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        x
    };
    for i in 0..60_000u32 {
        let r = next();
        let size = r % 49;
        let id =
            if r >> 8 & 63 == 0 { 10_000 + (r >> 16 & 7) } else { known[(r >> 14 & 3) as usize] };
        let phase = fast.phase() as usize;
        let a = match fast.new_small(size, id) {
            Some(p) => {
                hits += 1;
                Ok(p)
            }
            None => {
                declined_in[phase] += 1;
                fast.new_object(size, id)
            }
        };
        let b = full.new_object(size, id);
        assert_eq!(a, b, "call {i}: new({size}, {id})");
        if let Ok(p) = a
            && r >> 20 & 7 == 0
        {
            assert_eq!(fast.pin(p), full.pin(p));
            pinned.push(p);
        }
        if r >> 24 & 15 == 0 && !pinned.is_empty() {
            let p = pinned.swap_remove((r >> 4) as usize % pinned.len());
            assert_eq!(fast.unpin(p), full.unpin(p));
        }
        if r >> 28 == 0 {
            assert_eq!(fast.gc_step(), full.gc_step());
        }
    }
    assert_eq!(fast.stats(), full.stats());
    assert_eq!(fast.phase(), full.phase());
    assert!(fast.memory().bytes() == full.memory().bytes(), "memory differs");
    assert_eq!(fast.check(), 0);
    assert!(fast.stats().collections >= 3, "the run spans cycles");
    assert!(hits > 5_000, "the fast path served many calls ({hits})");
    assert!(declined_in.iter().all(|&n| n > 0), "declined in every phase: {declined_in:?}");
}
