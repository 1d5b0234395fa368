#![cfg(not(target_arch = "wasm32"))]
//! The runtime's contract with hosts and compiled code (ABI.md §5, §6):
//! - `__gc_step` from idle always starts a cycle, and the phase can be read without work.

mod model;

use asrt::gc::Phase;
use asrt::host::HostConfig;
use model::*;

fn host() -> Rt {
    Rt::host(HostConfig::default())
}

// ----- __gc_step and __gc_phase -----

#[test]
fn gc_step_from_idle_starts_a_cycle_even_without_allocation() {
    let mut rt = host();
    let a = rt.new_object(8, ids().tree).unwrap();
    rt.pin(a).unwrap();
    rt.collect();
    assert_eq!(rt.stats().live_objects, 1);
    // Nothing allocated since that cycle: unpinning alone made garbage.
    rt.unpin(a).unwrap();
    assert_eq!(rt.phase(), Phase::Idle);
    let mut steps = 0;
    let mut phases = Vec::new();
    loop {
        let p = rt.gc_step();
        phases.push(p);
        steps += 1;
        if p == Phase::Idle || steps > 100 {
            break;
        }
    }
    assert!(phases.len() > 1, "the first step from idle started a cycle: {phases:?}");
    assert_eq!(phases.last(), Some(&Phase::Idle));
    assert_eq!(rt.stats().live_objects, 0, "the unpinned object was collected");
    assert_eq!(rt.stats().collections, 2);
    assert_eq!(rt.check(), 0);
}

#[test]
fn phase_reads_without_work() {
    let mut rt = host();
    rt.configure(100, 1024).unwrap();
    let keep = rt.new_object(8, ids().tree).unwrap();
    rt.pin(keep).unwrap();
    let mut prev = keep;
    for _ in 0..500 {
        let n = rt.new_object(8, ids().tree).unwrap();
        st(&rt, n, prev);
        rt.link(n, prev, false).unwrap();
        rt.unpin(prev).unwrap();
        rt.pin(n).unwrap();
        prev = n;
    }
    assert_eq!(rt.phase(), Phase::Idle);
    let steps = rt.stats().steps;
    assert_eq!(rt.phase(), Phase::Idle, "reading the phase starts nothing");
    assert_eq!(rt.stats().steps, steps);
    assert_eq!(rt.gc_step(), Phase::Mark, "a 500-object chain takes more than one small step");
    let (bytes, stats) = (snapshot(&rt), rt.stats());
    for _ in 0..10 {
        assert_eq!(rt.phase(), Phase::Mark);
    }
    assert!(snapshot(&rt) == bytes && rt.stats() == stats, "phase() did no work");
    while rt.gc_step() != Phase::Idle {}
    assert_eq!(rt.stats().live_objects, 501);
    assert_eq!(rt.check(), 0);
}
