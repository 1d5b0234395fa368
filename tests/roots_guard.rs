#![cfg(not(target_arch = "wasm32"))]
//! The runtime's contract with hosts and compiled code (docs/ABI.md §5, §6):
//! - the shadow-stack descriptor `{ top, base, limit }` must describe the runtime's own slot
//!   array, or the export that uses it fails and changes nothing;
//! - `__gc_stats(out)` writes only into the native stack region or a live block's payload;
//! - `__gc_step` from idle always starts a cycle, and the phase can be read without work.

mod model;

use asrt::Error;
use asrt::gc::Phase;
use asrt::host::{HOST_STACK_BYTES, HostConfig};
use asrt::memory::Memory;
use asrt::object::Kind;
use model::*;

fn host() -> Rt {
    Rt::host(HostConfig::default())
}

/// The descriptor's `(top, base, limit)`.
fn descriptor(rt: &Rt) -> (u32, u32, u32) {
    let h = rt.shadow_stack();
    (ld(rt, h), ld(rt, h + 4), ld(rt, h + 8))
}

fn set_descriptor(rt: &Rt, (top, base, limit): (u32, u32, u32)) {
    let h = rt.shadow_stack();
    st(rt, h, top);
    st(rt, h + 4, base);
    st(rt, h + 8, limit);
}

/// Runs `f`, expecting `err`, with memory, statistics and phase exactly as they were.
fn rejected<T: std::fmt::Debug>(
    rt: &mut Rt,
    what: &str,
    err: Error,
    f: impl FnOnce(&mut Rt) -> Result<T, Error>,
) {
    let (bytes, stats, phase) = (snapshot(rt), rt.stats(), rt.phase());
    let r = f(rt);
    assert_eq!(r.err(), Some(err), "{what}: expected {err:?}");
    assert_eq!(rt.phase(), phase, "{what}: phase changed");
    assert_eq!(rt.stats(), stats, "{what}: statistics changed");
    if let Some(i) = snapshot(rt).iter().zip(&bytes).position(|(a, b)| a != b) {
        panic!("{what}: byte {i:#x} changed");
    }
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

// ----- the shadow-stack descriptor -----

#[test]
fn the_descriptor_must_describe_the_slot_array() {
    let mut rt = host();
    let sound = descriptor(&rt);
    let (top, base, limit) = sound;
    assert_eq!((base, limit), (rt.roots().shadow_base, rt.roots().shadow_limit));
    assert_eq!(top, base);
    let bad = [
        ("top misaligned", (base + 2, base, limit)),
        ("top below base", (base - 4, base, limit)),
        ("top past limit", (limit + 4, base, limit)),
        ("base moved up", (base + 8, base + 4, limit)),
        ("base moved down", (base, base - 4, limit)),
        ("limit shortened", (base, base, limit - 4)),
        ("limit extended", (base, base, limit + 4)),
        ("all zero", (0, 0, 0)),
        ("past memory", (0xFFFF_FF00, 0xFFFF_FF00, 0xFFFF_FFF0)),
    ];
    for (what, d) in bad {
        set_descriptor(&rt, d);
        assert_eq!(rt.check_roots(), Err(Error::BadShadowStack), "{what}");
        rejected(&mut rt, what, Error::BadShadowStack, |rt| rt.push(0));
        rejected(&mut rt, what, Error::BadShadowStack, |rt| rt.pop(0));
        rejected(&mut rt, what, Error::BadShadowStack, |rt| rt.try_gc_step());
        rejected(&mut rt, what, Error::BadShadowStack, |rt| rt.try_collect());
    }
    // A full stack is sound; pushing onto it is an overflow, not a corrupt descriptor.
    set_descriptor(&rt, (limit, base, limit));
    assert_eq!(rt.check_roots(), Ok(()));
    rejected(&mut rt, "full", Error::StackOverflow, |rt| rt.push(0));
    set_descriptor(&rt, sound);
    rejected(&mut rt, "empty", Error::StackUnderflow, |rt| rt.pop(1));
}

#[test]
fn a_garbage_descriptor_never_writes_over_a_live_header() {
    let mut rt = host();
    let sound = descriptor(&rt);
    let a = rt.new_object(64, ids().abuf).unwrap();
    rt.push(a).unwrap();
    let header = a - 16;
    // A self-consistent descriptor over the block's header: the old push wrote 0 there.
    set_descriptor(&rt, (header, header, header + 64));
    rejected(&mut rt, "push over a header", Error::BadShadowStack, |rt| rt.push(0));
    rejected(&mut rt, "pop over a header", Error::BadShadowStack, |rt| rt.pop(1));
    rejected(&mut rt, "collect", Error::BadShadowStack, |rt| rt.try_collect());
    assert_eq!(rt.check(), 0);
    // Restored, everything works and `a` (on the stack) survives.
    set_descriptor(&rt, (sound.0 + 4, sound.1, sound.2));
    rt.try_collect().unwrap();
    assert!(rt.validate_managed(a).is_ok());
    rt.pop(1).unwrap();
    rt.try_collect().unwrap();
    assert!(rt.validate_managed(a).is_err(), "popped, then collected");
    assert_eq!(rt.check(), 0);
}

#[test]
fn a_descriptor_past_memory_fails_cleanly_in_every_phase() {
    let mut rt = host();
    rt.configure(100, 1024).unwrap();
    let sound = descriptor(&rt);
    let head = rt.new_object(8, ids().tree).unwrap();
    rt.push(head).unwrap();
    let mut prev = head;
    for _ in 0..2000 {
        let n = rt.new_object(8, ids().tree).unwrap();
        st(&rt, prev, n);
        rt.link(prev, n, false).unwrap();
        prev = n;
    }
    rt.collect();
    let past = (0xFFFF_FFF0, 0xFFFF_FFF0, 0xFFFF_FFFC);
    let pushed = (sound.0 + 4, sound.1, sound.2);
    for want in [Phase::Idle, Phase::Mark, Phase::Sweep] {
        set_descriptor(&rt, pushed);
        while rt.phase() != want {
            rt.gc_step();
        }
        set_descriptor(&rt, past);
        let w = format!("{want:?}");
        rejected(&mut rt, &w, Error::BadShadowStack, |rt| rt.push(head));
        rejected(&mut rt, &w, Error::BadShadowStack, |rt| rt.pop(1));
        rejected(&mut rt, &w, Error::BadShadowStack, |rt| rt.try_collect());
        rejected(&mut rt, &w, Error::BadShadowStack, |rt| rt.try_gc_step());
        set_descriptor(&rt, pushed);
        assert_eq!(rt.check(), 0, "{w}");
    }
    rt.try_collect().unwrap();
    assert_eq!(rt.stats().live_objects, 2001, "the chain on the shadow stack survived");
    rt.pop(1).unwrap();
    rt.try_collect().unwrap();
    assert_eq!(rt.stats().live_objects, 0);
}

#[test]
fn allocation_that_pays_for_gc_work_checks_the_descriptor_first() {
    let mut rt = host();
    rt.configure(100, 1024).unwrap();
    let sound = descriptor(&rt);
    let keep = rt.new_object(8, ids().tree).unwrap();
    rt.pin(keep).unwrap();
    // Start a cycle that lasts: a long chain and small steps.
    let mut prev = keep;
    for _ in 0..2000 {
        let n = rt.new_object(8, ids().tree).unwrap();
        st(&rt, prev, n);
        rt.link(prev, n, false).unwrap();
        prev = n;
    }
    while rt.phase() == Phase::Idle {
        rt.gc_step();
    }
    assert_eq!(rt.phase(), Phase::Mark);
    set_descriptor(&rt, (0xFFFF_FFF0, 0xFFFF_FFF0, 0xFFFF_FFFC));
    // 1024 units of work are due after 1024 / 16 - 16 = 48 payload bytes.
    rejected(&mut rt, "__new", Error::BadShadowStack, |rt| rt.new_object(100, ids().abuf));
    rejected(&mut rt, "__renew", Error::BadShadowStack, |rt| rt.renew(keep, 200));
    rejected(&mut rt, "string", Error::BadShadowStack, |rt| rt.string_from_utf16(16, 200));
    set_descriptor(&rt, sound);
    let n = rt.new_object(100, ids().abuf).unwrap();
    assert!(rt.validate_managed(n).is_ok());
    while rt.gc_step() != Phase::Idle {}
    assert_eq!(rt.stats().live_objects, 2002);
    assert_eq!(rt.check(), 0);
}

// ----- where __gc_stats may write -----

#[test]
fn gc_stats_writes_only_into_the_stack_region_or_a_live_payload() {
    let mut rt = host();
    let r = *rt.roots();
    assert_eq!((r.stack_low, r.stack_high), (0, HOST_STACK_BYTES));
    let ids = ids();
    // Live blocks of every kind, a freed one, a pinned object (so the pin table exists), a
    // pushed slot and a stored static slot.
    let un64 = rt.alloc(64).unwrap();
    let un32 = rt.alloc(32).unwrap();
    let big = rt.new_object(100, ids.abuf).unwrap();
    let small = rt.new_object(48, ids.abuf).unwrap();
    let freed = rt.alloc(64).unwrap();
    let fence = rt.alloc(16).unwrap();
    rt.free(freed).unwrap();
    // Twice: a first pin is the PINNED bit alone, the second makes the pin table.
    rt.pin(big).unwrap();
    rt.pin(big).unwrap();
    rt.push(small).unwrap();
    let slots = rt.static_slots();
    st(&rt, slots, big);
    rt.link(slots, big, false).unwrap();
    let start = rt.heap().start();

    let ok = [
        ("address 0, the stack region's first byte", 0),
        ("stack region start", 8),
        ("stack region", 256),
        ("stack region end", HOST_STACK_BYTES - 64),
        ("__alloc(64) block", un64),
        ("managed 100-byte object", big),
        ("inside a payload", big + 32),
    ];
    for (what, out) in ok {
        rt.write_stats(out).unwrap_or_else(|e| panic!("{what}: {e:?}"));
        let v = u64::from_le_bytes(bytes(&rt, out + 32, 8).try_into().unwrap());
        assert_eq!(v, rt.stats().live_objects, "{what}: live objects written");
    }
    let tops = descriptor(&rt);
    let internal = {
        // The Internal blocks: the block-start map and the pin table.
        let heap = rt.heap();
        let mut b = heap.first_block();
        let mut found = Vec::new();
        while b != 0 {
            if ld(&rt, b) & 1 == 0 && ld(&rt, b + 4) == Kind::Internal as u32 {
                found.push(b + 16);
            }
            // SAFETY: `b` is a block start from the walk.
            b = unsafe { heap.next_block(b) };
        }
        found
    };
    assert_eq!(internal.len(), 2, "the start map and the pin table exist");
    let bad = [
        ("unaligned in the stack region", 260, Error::BadStatsBuffer),
        ("4-aligned in the stack region", 252, Error::BadStatsBuffer),
        ("across the stack region's end", HOST_STACK_BYTES - 56, Error::BadStatsBuffer),
        ("shadow-stack descriptor", rt.shadow_stack(), Error::BadStatsBuffer),
        ("live shadow-stack slot", tops.1, Error::BadStatsBuffer),
        ("free shadow-stack slots", tops.0 + 64, Error::BadStatsBuffer),
        ("static object header", slots - 16, Error::BadStatsBuffer),
        ("static object payload", slots, Error::BadStatsBuffer),
        ("static root list", r.statics & !7, Error::BadStatsBuffer),
        ("heap start", start, Error::BadStatsBuffer),
        ("block header", un64 - 16, Error::BadStatsBuffer),
        ("across a payload's end", big + 40, Error::BadStatsBuffer),
        ("32-byte block", un32, Error::BadStatsBuffer),
        ("48-byte object", small, Error::BadStatsBuffer),
        ("freed block", freed, Error::BadStatsBuffer),
        ("start map", internal[0], Error::BadStatsBuffer),
        ("pin table", internal[1], Error::BadStatsBuffer),
        ("inside the pin table", internal[1] + 16, Error::BadStatsBuffer),
        ("past the end", rt.memory().size() - 32, Error::OutOfBounds),
        ("far past the end", u32::MAX - 7, Error::OutOfBounds),
    ];
    for (what, out, err) in bad {
        rejected(&mut rt, what, err, |rt| rt.write_stats(out));
    }
    rt.free(fence).unwrap();
    assert_eq!(rt.check(), 0);
}

#[test]
fn payload_containing_recognises_refs_of_live_blocks_only() {
    let mut rt = host();
    let ids = ids();
    let a = rt.alloc(80).unwrap();
    let o = rt.new_object(64, ids.string).unwrap();
    assert_eq!(rt.payload_containing(a, 80), Some(a));
    assert_eq!(rt.payload_containing(a, 81), None);
    assert_eq!(rt.payload_containing(a + 16, 64), Some(a), "inside a payload");
    assert_eq!(rt.payload_containing(a + 17, 63), Some(a), "at any byte of it");
    assert_eq!(rt.payload_containing(a + 16, 65), None, "across its end");
    assert_eq!(rt.payload_containing(o, 64), Some(o));
    assert_eq!(rt.payload_containing(o - 16, 16), None, "a header is not a payload");
    assert_eq!(rt.payload_containing(rt.static_slots(), 4), None, "static objects are not");
    rt.free(a).unwrap();
    assert_eq!(rt.payload_containing(a, 16), None, "freed");
}
