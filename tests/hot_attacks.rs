#![cfg(not(target_arch = "wasm32"))]
//! Attacks on the hot validation of `__link`, `__pin` and `__unpin` (commit 57f8845: the start
//! bit, MANAGED and a known rtId, not the header's size): a live object whose rtSize and mmInfo
//! compiled code overwrote is accepted, and what the collector then does with it.

mod model;

use asrt::Error;
use asrt::gc::Phase;
use asrt::host::HostConfig;
use asrt::memory::Memory;
use asrt::object::{MM_INFO, RT_SIZE, block_size};
use model::*;

/// A host whose memory can grow well past its first 2 pages (the reservation holds them), with
/// no per-step checker: the overwritten header is a broken invariant until it is restored.
fn host() -> Rt {
    let mut rt = Rt::host(HostConfig { initial_pages: 2, max_pages: 64, ..HostConfig::default() });
    rt.set_step_checks(0);
    rt
}

/// Writes `v` at `a` even past the memory's current size (inside the host's reservation, which
/// is allocated and zeroed): what a wasm memory does not have, so a load there is a trap.
fn plant_past_memory(rt: &Rt, a: u32, v: u32) {
    assert!(a >= rt.memory().size());
    // SAFETY: below `max_pages` pages: inside the host memory's reservation.
    unsafe { (rt.memory().ptr(a) as *mut u32).write(v) };
}

/// A marking that lasts (a long list in a static slot, small steps), with `garbage` (unreachable)
/// and `x` (a `StaticArray<string>` of 16 bytes only the host holds) made before it started.
/// Returns `(garbage, x)`.
fn marking_with_host_held(rt: &mut Rt) -> (u32, u32) {
    let ids = ids();
    let slots = rt.static_slots();
    let mut head = 0;
    for _ in 0..4000 {
        let n = new(rt, 8, ids.tree);
        st(rt, n, head);
        st(rt, slots, n);
        rt.link(slots, n, false).unwrap();
        head = n;
    }
    rt.collect();
    let garbage = new(rt, 8, ids.tree);
    let x = new(rt, 16, ids.sarr_str);
    rt.configure(100, 1024).unwrap();
    assert_eq!(rt.gc_step(), Phase::Mark);
    assert_eq!(rt.gc_step(), Phase::Mark);
    (garbage, x)
}

/// Compiled code overwrites `x`'s rtSize and mmInfo with one consistent size whose extent runs
/// past the end of memory, over the word 64 bytes past it (where `garbage`'s ref is planted).
/// Returns the two original words.
fn overwrite_extent_past_memory(rt: &Rt, x: u32, garbage: u32) -> (u32, u32) {
    let past = rt.memory().size() + 64;
    let old = (ld(rt, x - 16 + MM_INFO), ld(rt, x - 16 + RT_SIZE));
    plant_past_memory(rt, past, garbage);
    let claim = past + 16 - x;
    st(rt, x - 16 + RT_SIZE, claim);
    st(rt, x - 16 + MM_INFO, (block_size(claim) - 4) | (old.0 & 3));
    // The full validation (check 5: the block must end inside the heap) refuses it.
    assert_eq!(rt.validate_object(x), Err(Error::NotABlock));
    old
}

/// Steps through the marking (the header stays overwritten), restores `x`'s header before the
/// sweep, then finishes the cycle.
fn mark_restore_sweep(rt: &mut Rt, x: u32, old: (u32, u32)) {
    for _ in 0..1_000_000 {
        if rt.gc_step() != Phase::Mark {
            break;
        }
    }
    assert_eq!(rt.phase(), Phase::Sweep, "the marking ended; nothing was swept yet");
    st(rt, x - 16 + MM_INFO, old.0);
    st(rt, x - 16 + RT_SIZE, old.1);
    for _ in 0..1_000_000 {
        if rt.gc_step() == Phase::Idle {
            break;
        }
    }
    assert_eq!(rt.phase(), Phase::Idle);
}

/// Ends the cycle as `mark_restore_sweep` does, then expects a sound heap and `garbage` freed:
/// kept alive, it was read through the word planted past the memory's end.
fn restore_and_expect_no_scan_past_memory(rt: &mut Rt, x: u32, old: (u32, u32), garbage: u32) {
    mark_restore_sweep(rt, x, old);
    assert_eq!(rt.check(), 0);
    assert!(
        rt.validate_object(garbage).is_err(),
        "the marking read the word past the memory's end (a trap on wasm32)"
    );
}

/// `__pin` accepts an object whose overwritten header claims an extent past the end of memory
/// (the full validation refuses it: its block does not end inside the heap), shades it, and the
/// marking then scans it by `min(rtSize, block size - 16)`: every word from the object to past
/// the memory's end. On wasm the first load past the end is a trap inside a GC step; here the
/// word planted past the end (a ref to `garbage`) is read and keeps `garbage` alive.
#[test]
fn a_pin_of_an_object_whose_extent_runs_past_memory_does_not_scan_past_memory() {
    let mut rt = host();
    let (garbage, x) = marking_with_host_held(&mut rt);
    let old = overwrite_extent_past_memory(&rt, x, garbage);
    // Accepted since 57f8845 (refused with NotABlock before it).
    assert_eq!(rt.pin(x), Ok(x));
    restore_and_expect_no_scan_past_memory(&mut rt, x, old, garbage);
}

/// The same through `__link`: a white object stored into a black (static) parent is shaded by
/// the barrier, then scanned past the memory's end.
#[test]
fn a_link_of_an_object_whose_extent_runs_past_memory_does_not_scan_past_memory() {
    let mut rt = host();
    let (garbage, x) = marking_with_host_held(&mut rt);
    let old = overwrite_extent_past_memory(&rt, x, garbage);
    let slots = rt.static_slots();
    // Slot 1 of the static array (black forever): the barrier shades the white child.
    st(&rt, slots + 4, x);
    // Accepted since 57f8845 (refused with NotABlock before it).
    assert_eq!(rt.link(slots, x, false), Ok(()));
    restore_and_expect_no_scan_past_memory(&mut rt, x, old, garbage);
}

/// Not new with 57f8845: an object that is reachable anyway (a static slot) gets the same scan
/// when its header is overwritten after it was stored, with no export refusing anything: the
/// tracer's bound, the block size in mmInfo, is a word compiled code can overwrite too.
#[test]
fn a_reachable_object_whose_extent_runs_past_memory_does_not_scan_past_memory() {
    let mut rt = host();
    let (garbage, x) = marking_with_host_held(&mut rt);
    let slots = rt.static_slots();
    st(&rt, slots + 4, x);
    rt.link(slots, x, false).unwrap();
    let old = overwrite_extent_past_memory(&rt, x, garbage);
    restore_and_expect_no_scan_past_memory(&mut rt, x, old, garbage);
}
