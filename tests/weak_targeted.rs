#![cfg(not(target_arch = "wasm32"))]
//! Targeted tests of weak references and finalizers (docs/ABI.md §10): clearing after a full
//! collection, a read during marking that keeps its target, a read during the sweep before the
//! table is settled, registrations of objects the sweep is about to free, exactly-once tokens,
//! unregistering in every state, forged and stale handles (rejected with memory unchanged),
//! static targets, and a table that grows. Weak maps (ephemerons, docs/ABI.md §10.6): values
//! live exactly as long as their keys, long chains through several maps in small incremental
//! steps, cycles through a value, stores and reads while marking, the sweep's stale-reference
//! rule, and forged map handles.

mod model;

use asrt::Error;
use asrt::gc::Phase;
use asrt::host::HostConfig;
use asrt::memory::Memory;
use model::*;

fn host() -> Rt {
    let mut rt = Rt::host(HostConfig::default());
    rt.configure(100, 1024).unwrap();
    rt
}

/// A TreeNode, unrooted.
fn node(rt: &mut Rt) -> u32 {
    new(rt, 8, ids().tree)
}

/// Asserts that `f` fails with `want` and leaves memory and the table's count unchanged.
fn rejected(rt: &mut Rt, want: Error, f: impl FnOnce(&mut Rt) -> Result<u32, Error>) {
    let (before, entries) = (snapshot(rt), rt.weak_entries());
    assert_eq!(f(rt), Err(want));
    assert!(snapshot(rt) == before, "a rejected call changed memory");
    assert_eq!(rt.weak_entries(), entries);
}

/// Every token waiting, sorted.
fn drain(rt: &mut Rt) -> Vec<u32> {
    sorted(std::iter::from_fn(|| Some(rt.finalizer_next()).filter(|&t| t != 0)).collect())
}

fn sorted(mut v: Vec<u32>) -> Vec<u32> {
    v.sort();
    v
}

#[test]
fn weak_ref_clears_once_unreachable() {
    let mut rt = host();
    let a = node(&mut rt);
    root(&mut rt, 0, a);
    let w = rt.weakref_new(a).unwrap();
    rt.collect();
    assert_eq!(rt.weakref_get(w).unwrap(), a);
    root(&mut rt, 0, 0);
    rt.collect();
    assert_eq!(rt.weakref_get(w).unwrap(), 0);
    assert!(rt.validate_managed(a).is_err(), "the target was freed");
    // A new object may take the block: the cleared reference stays null.
    let b = node(&mut rt);
    root(&mut rt, 0, b);
    rt.collect();
    assert_eq!(rt.weakref_get(w).unwrap(), 0);
    assert_sound(&rt, "after clearing");
    rt.weakref_free(w).unwrap();
    assert_eq!(rt.weak_entries(), 0);
}

#[test]
fn read_while_marking_keeps_the_target() {
    let mut rt = host();
    // A long chain, so that marking takes many steps; `a` hangs off its end.
    let head = node(&mut rt);
    root(&mut rt, 0, head);
    let mut last = head;
    for _ in 0..2000 {
        let n = node(&mut rt);
        st(&rt, last, n);
        rt.link(last, n, false).unwrap();
        last = n;
    }
    let a = node(&mut rt);
    st(&rt, last + 4, a);
    rt.link(last, a, false).unwrap();
    let w = rt.weakref_new(a).unwrap();
    assert_eq!(rt.gc_step(), Phase::Mark);
    assert!(color(&rt, a) < 2, "not reached yet");
    st(&rt, last + 4, 0); // unreachable now, but not yet found so
    // The read hands `a` out (to a host variable, say): it must survive this cycle.
    assert_eq!(rt.weakref_get(w).unwrap(), a);
    while rt.gc_step() != Phase::Idle {}
    assert!(rt.validate_managed(a).is_ok(), "a target handed out while marking survives");
    assert_eq!(rt.weakref_get(w).unwrap(), a);
    assert_sound(&rt, "after the cycle");
    // Nobody kept it: the next cycle clears it.
    rt.collect();
    assert_eq!(rt.weakref_get(w).unwrap(), 0);
    assert!(rt.validate_managed(a).is_err());
}

#[test]
fn read_during_sweep_before_settling_is_null() {
    let mut rt = host();
    let mut keep = Vec::new();
    // Enough registrations that the sweep's first step cannot settle them all.
    for _ in 0..2000 {
        let r = node(&mut rt);
        keep.push(rt.weakref_new(r).unwrap());
    }
    let a = node(&mut rt);
    let w = rt.weakref_new(a).unwrap();
    let f = rt.finalizer_register(a).unwrap();
    while rt.phase() != Phase::Sweep {
        rt.gc_step();
    }
    assert!(rt.validate_managed(a).is_ok(), "not yet freed");
    assert_eq!(rt.weakref_peek(w).unwrap(), 0);
    assert_eq!(rt.weakref_get(w).unwrap(), 0);
    // Registering the doomed object now: the weak ref reads null, the token is queued at once.
    let w2 = rt.weakref_new(a).unwrap();
    assert_eq!(rt.weakref_get(w2).unwrap(), 0);
    let f2 = rt.finalizer_register(a).unwrap();
    while rt.phase() != Phase::Idle {
        rt.gc_step();
    }
    assert_eq!(drain(&mut rt), sorted(vec![f, f2]));
    for h in keep {
        assert_eq!(rt.weakref_get(h).unwrap(), 0);
    }
    assert_sound(&rt, "after the sweep");
}

#[test]
fn tokens_come_back_exactly_once() {
    let mut rt = host();
    let a = node(&mut rt);
    root(&mut rt, 0, a);
    let t = rt.finalizer_register(a).unwrap();
    let t2 = rt.finalizer_register(a).unwrap();
    assert_ne!(t, t2, "a second registration is another token");
    rt.collect();
    assert_eq!(rt.finalizer_next(), 0, "reachable: nothing delivered");
    root(&mut rt, 0, 0);
    rt.collect();
    assert_eq!(drain(&mut rt), sorted(vec![t, t2]));
    rt.collect();
    assert_eq!(rt.finalizer_next(), 0, "never twice");
    rejected(&mut rt, Error::BadFinalizerToken, |rt| rt.finalizer_unregister(t).map(|_| 0));
    assert_eq!(rt.weak_entries(), 0);
}

#[test]
fn unregister_before_and_after_death() {
    let mut rt = host();
    let (a, b) = (node(&mut rt), node(&mut rt));
    let ta = rt.finalizer_register(a).unwrap();
    let tb = rt.finalizer_register(b).unwrap();
    rt.finalizer_unregister(ta).unwrap(); // before its object died
    rt.collect();
    rt.finalizer_unregister(tb).unwrap(); // queued, not handed out yet
    assert_eq!(rt.finalizer_next(), 0);
    assert_eq!(rt.weak_entries(), 0);
    rejected(&mut rt, Error::BadFinalizerToken, |rt| rt.finalizer_unregister(ta).map(|_| 0));
    rejected(&mut rt, Error::BadFinalizerToken, |rt| rt.finalizer_unregister(tb).map(|_| 0));
    assert_sound(&rt, "after unregistering");
}

#[test]
fn forged_and_stale_handles_are_rejected() {
    let mut rt = host();
    let a = node(&mut rt);
    root(&mut rt, 0, a);
    let w = rt.weakref_new(a).unwrap();
    let t = rt.finalizer_register(a).unwrap();
    for h in [0, 1 << 21, 12345, u32::MAX, w + 1, w ^ (1 << 22), t] {
        if h == w {
            continue;
        }
        rejected(&mut rt, Error::BadWeakHandle, |rt| rt.weakref_get(h));
        rejected(&mut rt, Error::BadWeakHandle, |rt| rt.weakref_free(h).map(|_| 0));
    }
    for h in [0, 7, u32::MAX, t ^ (1 << 22), w] {
        rejected(&mut rt, Error::BadFinalizerToken, |rt| rt.finalizer_unregister(h).map(|_| 0));
    }
    // Forged targets: inside a payload, unaligned, an __alloc block, null.
    let raw = rt.alloc(32).unwrap();
    for (r, e) in [
        (a + 16, Error::NotABlock),
        (a + 4, Error::Unaligned),
        (raw, Error::UnmanagedBlock),
        (0, Error::NullRef),
    ] {
        rejected(&mut rt, e, |rt| rt.weakref_new(r));
        rejected(&mut rt, e, |rt| rt.finalizer_register(r));
    }
    rt.weakref_free(w).unwrap();
    rejected(&mut rt, Error::BadWeakHandle, |rt| rt.weakref_free(w).map(|_| 0));
    rejected(&mut rt, Error::BadWeakHandle, |rt| rt.weakref_get(w));
    // The slot is reused with another generation: the stale handle stays invalid.
    let w2 = rt.weakref_new(a).unwrap();
    assert_ne!(w2, w);
    rejected(&mut rt, Error::BadWeakHandle, |rt| rt.weakref_get(w));
    assert_eq!(rt.weakref_get(w2).unwrap(), a);
    assert_sound(&rt, "after hostile calls");
}

#[test]
fn static_targets_never_die() {
    let mut rt = host();
    let s = rt.static_slots();
    let w = rt.weakref_new(s).unwrap();
    let t = rt.finalizer_register(s).unwrap();
    rt.collect();
    rt.collect();
    assert_eq!(rt.weakref_get(w).unwrap(), s);
    assert_eq!(rt.finalizer_next(), 0);
    rt.finalizer_unregister(t).unwrap();
}

#[test]
fn the_table_grows_and_keeps_every_entry() {
    let mut rt = host();
    let list = new(&mut rt, 4 * 3000, ids().sarr_str);
    root(&mut rt, 0, list);
    let mut hs = Vec::new();
    for i in 0..3000u32 {
        let r = node(&mut rt);
        if i % 2 == 0 {
            st(&rt, list + 4 * i, r);
            rt.link(list, r, false).unwrap();
        }
        hs.push((rt.weakref_new(r).unwrap(), r, rt.finalizer_register(r).unwrap()));
    }
    assert_eq!(rt.weak_entries(), 6000);
    rt.collect();
    let got = drain(&mut rt);
    let tokens: std::collections::BTreeSet<u32> = got.iter().copied().collect();
    assert_eq!(tokens.len(), got.len(), "a token twice");
    for (i, &(w, r, t)) in hs.iter().enumerate() {
        let alive = i % 2 == 0;
        assert_eq!(rt.weakref_get(w).unwrap(), if alive { r } else { 0 }, "entry {i}");
        assert_eq!(tokens.contains(&t), !alive, "token of entry {i}");
    }
    assert_sound(&rt, "after growth");
}

#[test]
fn checker_sees_a_dangling_weak_target() {
    let mut rt = host();
    let a = node(&mut rt);
    let w = rt.weakref_new(a).unwrap();
    assert_eq!(rt.check(), 0);
    // Corrupt the entry: point it into the middle of the payload.
    let _ = w;
    let report = |rt: &Rt| rt.check_report().iter().map(|v| v.invariant).collect::<Vec<_>>();
    let at = find_word(&rt, a);
    st(&rt, at, a + 16);
    assert_eq!(report(&rt), vec![asrt::Invariant::WeakTargetDangling]);
    st(&rt, at, a);
    let meta = ld(&rt, at + 4);
    st(&rt, at + 4, 7); // an unknown state
    assert_eq!(report(&rt), vec![asrt::Invariant::WeakTargetDangling]);
    st(&rt, at + 4, meta & !7); // free, but on no free list
    assert_eq!(report(&rt), vec![asrt::Invariant::WeakListBroken]);
    st(&rt, at + 4, meta);
    assert_eq!(rt.check(), 0);
}

/// The address of the first word in the heap that holds `v` outside `v`'s own block.
fn find_word(rt: &Rt, v: u32) -> u32 {
    let start = rt.heap().first_block();
    let end = rt.memory().size();
    (start..end).step_by(4).find(|&a| ld(rt, a) == v && !(v - 16..v + 16).contains(&a)).unwrap()
}

// ----- weak maps -----

/// Runs a whole cycle in bounded steps; returns how many.
fn cycle(rt: &mut Rt) -> u32 {
    let mut n = 1;
    while rt.gc_step() != Phase::Idle {
        n += 1;
    }
    n
}

#[test]
fn values_live_exactly_as_long_as_their_keys() {
    let mut rt = host();
    let m = rt.weakmap_new().unwrap();
    let (k, v) = (node(&mut rt), node(&mut rt));
    root(&mut rt, 0, k);
    rt.weakmap_set(m, k, v).unwrap();
    rt.collect();
    assert!(rt.validate_managed(v).is_ok(), "the value of a live key lives");
    assert_eq!(rt.weakmap_get(m, k).unwrap(), v);
    assert!(rt.weakmap_has(m, k).unwrap());
    root(&mut rt, 0, 0);
    rt.collect();
    assert!(rt.validate_managed(k).is_err() && rt.validate_managed(v).is_err());
    assert_eq!(rt.weakmap_entries(), 0, "the entry went with its key");
    assert!(!rt.weakmap_has(m, k).unwrap());
    assert_eq!(rt.weakmap_get(m, k).unwrap(), 0);
    assert_sound(&rt, "after");
    rt.weakmap_free(m).unwrap();
}

#[test]
fn delete_and_overwrite() {
    let mut rt = host();
    let m = rt.weakmap_new().unwrap();
    let (k, v1, v2) = (node(&mut rt), node(&mut rt), node(&mut rt));
    root(&mut rt, 0, k);
    rt.weakmap_set(m, k, v1).unwrap();
    rt.weakmap_set(m, k, v2).unwrap();
    assert_eq!(rt.weakmap_entries(), 1);
    rt.collect();
    assert!(rt.validate_managed(v1).is_err(), "an overwritten value is not kept");
    assert_eq!(rt.weakmap_get(m, k).unwrap(), v2);
    assert!(rt.weakmap_delete(m, k).unwrap());
    assert!(!rt.weakmap_delete(m, k).unwrap());
    rt.collect();
    assert!(rt.validate_managed(v2).is_err(), "a deleted value is not kept");
    // Many keys in two maps: the table grows, rehashes and reuses deleted slots.
    let m2 = rt.weakmap_new().unwrap();
    let list = new(&mut rt, 4 * 2000, ids().sarr_str);
    root(&mut rt, 1, list);
    for i in 0..2000 {
        let key = node(&mut rt);
        st(&rt, list + 4 * i, key);
        rt.link(list, key, false).unwrap();
        rt.weakmap_set(m, key, key).unwrap();
        rt.weakmap_set(m2, key, 0).unwrap();
        if i % 3 == 0 {
            assert!(rt.weakmap_delete(m, key).unwrap());
        }
    }
    rt.collect();
    for i in 0..2000 {
        let key = ld(&rt, list + 4 * i);
        assert_eq!(rt.weakmap_get(m, key).unwrap(), if i % 3 == 0 { 0 } else { key });
        assert!(rt.weakmap_has(m2, key).unwrap());
    }
    rt.weakmap_free(m2).unwrap();
    assert_eq!(rt.weakmap_entries(), 2000 - 667);
    assert_sound(&rt, "after");
}

/// A chain through `maps` weak maps: key i maps to key i + 1 (in map i % maps), inserted from
/// the end so that one pass in table order finds one link at a time at worst.
fn chain(rt: &mut Rt, maps: &[u32], n: u32) -> Vec<u32> {
    let keep = new(rt, 4 * n, ids().sarr_str);
    root(rt, 2, keep);
    let keys: Vec<u32> = (0..n)
        .map(|i| {
            let k = node(rt);
            st(rt, keep + 4 * i, k);
            rt.link(keep, k, false).unwrap();
            k
        })
        .collect();
    for i in (0..n - 1).rev() {
        let m = maps[i as usize % maps.len()];
        rt.weakmap_set(m, keys[i as usize], keys[i as usize + 1]).unwrap();
    }
    root(rt, 2, 0);
    keys
}

#[test]
fn a_long_chain_is_marked_in_bounded_steps() {
    let mut rt = host();
    let maps = [rt.weakmap_new().unwrap(), rt.weakmap_new().unwrap(), rt.weakmap_new().unwrap()];
    let keys = chain(&mut rt, &maps, 300);
    root(&mut rt, 0, keys[0]);
    let steps = cycle(&mut rt); // checked after every step (check-steps)
    assert!(steps > 10, "the chain took {steps} steps, not one atomic pass");
    for &k in &keys {
        assert!(rt.validate_managed(k).is_ok(), "every link of the chain lives");
    }
    root(&mut rt, 0, keys[150]);
    rt.collect();
    for (i, &k) in keys.iter().enumerate() {
        assert_eq!(rt.validate_managed(k).is_ok(), i >= 150, "key {i}");
    }
    assert_eq!(rt.weakmap_entries(), 149);
    root(&mut rt, 0, 0);
    cycle(&mut rt);
    assert_eq!(rt.weakmap_entries(), 0);
    assert_eq!(rt.stats().live_objects, 0);
}

#[test]
fn a_value_that_holds_its_key_is_collected() {
    let mut rt = host();
    let m = rt.weakmap_new().unwrap();
    let (k, v) = (node(&mut rt), node(&mut rt));
    st(&rt, v, k); // v.left = k
    rt.weakmap_set(m, k, v).unwrap();
    rt.collect();
    assert_eq!(rt.stats().live_objects, 0, "an ephemeron is not a strong cycle");
    assert_eq!(rt.weakmap_entries(), 0);
}

#[test]
fn stores_and_reads_while_marking() {
    let mut rt = host();
    let m = rt.weakmap_new().unwrap();
    let keys = chain(&mut rt, &[m], 400); // keeps marking busy for many steps
    root(&mut rt, 0, keys[0]);
    assert_eq!(rt.gc_step(), Phase::Mark);
    let k = node(&mut rt); // allocated black while marking
    root(&mut rt, 1, k);
    let v = node(&mut rt);
    rt.weakmap_set(m, k, v).unwrap(); // the value of a marked key is shaded at once
    let v2 = node(&mut rt);
    let k2 = node(&mut rt);
    rt.weakmap_set(m, k2, v2).unwrap();
    assert_eq!(rt.weakmap_get(m, k2).unwrap(), v2); // handed out: survives this cycle
    cycle(&mut rt);
    assert!(rt.validate_managed(v).is_ok());
    assert!(rt.validate_managed(v2).is_ok());
    rt.collect();
    assert!(rt.validate_managed(v).is_ok(), "its key is rooted");
    assert!(rt.validate_managed(v2).is_err(), "its key was not");
}

#[test]
fn stale_values_are_refused_during_the_sweep() {
    let mut rt = host();
    let m = rt.weakmap_new().unwrap();
    let live = node(&mut rt);
    root(&mut rt, 0, live);
    let mut keep = Vec::new();
    for _ in 0..3000 {
        let k = node(&mut rt);
        rt.weakmap_set(m, k, 0).unwrap();
        keep.push(k);
    }
    let doomed = node(&mut rt);
    while rt.phase() != Phase::Sweep {
        rt.gc_step();
    }
    assert!(rt.validate_managed(doomed).is_ok(), "not yet freed");
    let before = snapshot(&rt);
    assert_eq!(rt.weakmap_set(m, live, doomed), Err(Error::DeadObject));
    assert!(snapshot(&rt) == before);
    rt.weakmap_set(m, doomed, live).unwrap(); // a dead key: nothing stored
    assert!(!rt.weakmap_has(m, doomed).unwrap());
    cycle(&mut rt);
    assert_eq!(rt.weakmap_entries(), 0);
    assert_sound(&rt, "after the sweep");
}

#[test]
fn forged_map_handles_are_rejected() {
    let mut rt = host();
    let m = rt.weakmap_new().unwrap();
    let w = rt.weakref_new(rt.static_slots()).unwrap();
    let k = node(&mut rt);
    root(&mut rt, 0, k);
    let check = |rt: &mut Rt, want: Error, f: &dyn Fn(&mut Rt) -> Result<u32, Error>| {
        let before = snapshot(rt);
        assert_eq!(f(rt), Err(want));
        assert!(snapshot(rt) == before, "a rejected call changed memory");
    };
    for h in [0, w, m + 1, m ^ (1 << 22), u32::MAX] {
        check(&mut rt, Error::BadWeakMap, &|rt| rt.weakmap_set(h, k, 0).map(|_| 0));
        check(&mut rt, Error::BadWeakMap, &|rt| rt.weakmap_get(h, k));
        check(&mut rt, Error::BadWeakMap, &|rt| rt.weakmap_delete(h, k).map(|b| b as u32));
        check(&mut rt, Error::BadWeakMap, &|rt| rt.weakmap_free(h).map(|_| 0));
    }
    check(&mut rt, Error::BadWeakHandle, &|rt| rt.weakref_get(m));
    check(&mut rt, Error::NotABlock, &|rt| rt.weakmap_set(m, k + 16, 0).map(|_| 0));
    check(&mut rt, Error::Unaligned, &|rt| rt.weakmap_set(m, k, k + 4).map(|_| 0));
    check(&mut rt, Error::NullRef, &|rt| rt.weakmap_set(m, 0, k).map(|_| 0));
    assert_eq!(rt.weakmap_get(m, k + 4).unwrap(), 0, "any number may be looked up");
    rt.weakmap_set(m, k, k).unwrap();
    rt.weakmap_free(m).unwrap();
    check(&mut rt, Error::BadWeakMap, &|rt| rt.weakmap_get(m, k));
    assert_eq!(rt.weakmap_entries(), 0);
    assert_sound(&rt, "after hostile calls");
}

#[test]
fn an_entry_whose_generations_are_used_up_is_retired_not_wrapped() {
    let mut rt = host();
    let a = node(&mut rt);
    root(&mut rt, 0, a);
    // The free list hands the same entry back each time, one generation later, until its
    // generations run out: a wrapped generation would hand out an old handle again.
    let handles: Vec<u32> = (0..1100)
        .map(|_| {
            let w = rt.weakref_new(a).unwrap();
            rt.weakref_free(w).unwrap();
            w
        })
        .collect();
    let distinct: std::collections::BTreeSet<u32> = handles.iter().copied().collect();
    assert_eq!(distinct.len(), handles.len(), "a handle was handed out twice");
    let live = rt.weakref_new(a).unwrap();
    for &w in &handles {
        rejected(&mut rt, Error::BadWeakHandle, |rt| rt.weakref_get(w));
    }
    assert_eq!(rt.weakref_get(live).unwrap(), a);
    assert_eq!(rt.check(), 0, "{}", report(&rt));
}
