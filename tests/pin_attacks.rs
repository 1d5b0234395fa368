#![cfg(not(target_arch = "wasm32"))]
//! Attacks on counted pins (the PINNED bit is the first pin, the table the rest; marking walks
//! the block-start map for PINNED objects): pins, unpins and renews around the walk's cursor,
//! heap growth and start-map moves during the walk, pins taken during the sweep, a pin table
//! that must grow while memory is full, static objects, counts near 2^32.

mod model;

use asrt::Error;
use asrt::gc::Phase;
use asrt::host::HostConfig;
use model::*;

fn host_with(initial_pages: u32, max_pages: u32) -> Rt {
    Rt::host(HostConfig { initial_pages, max_pages, ..HostConfig::default() })
}

/// A host for tests that forge headers: no step runs the checker, which reports a forged
/// PINNED bit (`PinnedNotFlagged`).
fn forging_host() -> Rt {
    let mut rt = host_with(2, 64);
    rt.set_step_checks(0);
    rt
}

/// What buggy compiled code does: sets PINNED in the gcInfo word of the object `r`'s header.
fn forge_pinned(rt: &Rt, r: u32) {
    st(rt, r - 12, ld(rt, r - 12) | asrt::object::PINNED);
}

/// A host-side object the test keeps pinned: its ref, payload bytes, pins and content seed.
#[derive(Clone, Copy, Debug)]
struct Held {
    r: u32,
    size: u32,
    pins: u32,
    seed: u64,
}

fn fill(rt: &Rt, h: &Held) {
    let data: Vec<u8> = (0..h.size).map(|i| content_byte(h.seed, i)).collect();
    write(rt, h.r, &data);
}

fn intact(rt: &Rt, h: &Held, what: &str) {
    assert!(rt.validate_object(h.r).is_ok(), "{what}: pinned object {:#x} was freed", h.r);
    assert_eq!(rt.pin_count(h.r), h.pins, "{what}: pin count of {:#x}", h.r);
    let want: Vec<u8> = (0..h.size).map(|i| content_byte(h.seed, i)).collect();
    assert_eq!(bytes(rt, h.r, h.size), &want[..], "{what}: contents of {:#x}", h.r);
}

/// Operations per seed of the random test (each GC step is fully checked: keep it short).
const STEPS: u32 = 400;

/// Random pins, unpins (down to 0 and past it), renews that move or stay, garbage, `__alloc`
/// blocks, static pins, GC steps of the smallest budget and growth through many start-map
/// moves: every pinned object stays live and intact with its exact count, and the heap check
/// (run after every step by `check-steps`) stays clean.
#[test]
fn random_pins_around_an_incremental_walk_with_growth() {
    for seed in 0..4u64 {
        let mut rng = Rng::new(0x9e37_0000 + seed);
        let mut rt = host_with(1, 128);
        rt.configure(100, 1024).unwrap();
        rt.set_threshold(if seed % 2 == 0 { 2048 } else { 64 << 10 }).unwrap();
        let abuf = ids().abuf;
        let statics = rt.static_slots();
        let mut static_pins = 0u32;
        let mut held: Vec<Held> = Vec::new();
        let mut raw: Vec<u32> = Vec::new();
        let mut next_seed = seed << 32;
        for step in 0..STEPS {
            let what = format!("seed {seed} step {step} ({:?})", rt.phase());
            let op = rng.below(16);
            match op {
                // A new object, pinned once or several times.
                0..=2 => {
                    let size = [0, 8, 24, 100, 600, 3000, 20000][rng.below(7) as usize];
                    let r = new(&mut rt, size, abuf);
                    next_seed += 1;
                    let pins = 1 + rng.below(3) * rng.below(2);
                    for _ in 0..pins {
                        assert_eq!(rt.pin(r), Ok(r), "{what}");
                    }
                    let h = Held { r, size, pins, seed: next_seed };
                    fill(&rt, &h);
                    held.push(h);
                }
                // Garbage (grows the heap, moves the start map while the walk runs).
                3..=4 => {
                    for _ in 0..1 + rng.below(8) {
                        let size = [16, 64, 256, 4096, 40000][rng.below(5) as usize];
                        new(&mut rt, size, abuf);
                    }
                }
                // One more pin on a held object.
                5 if !held.is_empty() => {
                    let i = rng.below(held.len() as u32) as usize;
                    assert_eq!(rt.pin(held[i].r), Ok(held[i].r), "{what}");
                    held[i].pins += 1;
                }
                // One pin less; the last one lets the object go.
                6..=7 if !held.is_empty() => {
                    let i = rng.below(held.len() as u32) as usize;
                    assert_eq!(rt.unpin(held[i].r), Ok(()), "{what}");
                    held[i].pins -= 1;
                    if held[i].pins == 0 {
                        let gone = held.swap_remove(i);
                        // Not pinned any more: a further unpin is refused while it lives.
                        if rt.validate_object(gone.r).is_ok() {
                            assert_eq!(rt.unpin(gone.r), Err(Error::NotPinned), "{what}");
                        }
                    }
                }
                // Renew a pinned object: in place its pins stay; moved, the old block keeps
                // them and the copy has none (the host moves its pins over, or not).
                8 if !held.is_empty() => {
                    let i = rng.below(held.len() as u32) as usize;
                    let h = held[i];
                    let size = [0, 8, 40, 500, 5000, 30000][rng.below(6) as usize];
                    let n = rt.renew(h.r, size).expect("renew");
                    // The kept prefix is intact, in place or in the copy.
                    let kept = Held { r: n, size: h.size.min(size), pins: rt.pin_count(n), ..h };
                    intact(&rt, &kept, &what);
                    if n != h.r {
                        intact(&rt, &h, &what);
                    }
                    if n == h.r {
                        assert_eq!(rt.pin_count(n), h.pins, "{what}: renewed in place");
                        next_seed += 1;
                        held[i] = Held { r: n, size, pins: h.pins, seed: next_seed };
                        fill(&rt, &held[i]);
                    } else {
                        assert_eq!(rt.pin_count(n), 0, "{what}: a moved copy has no pin");
                        assert_eq!(rt.unpin(n), Err(Error::NotPinned), "{what}");
                        if rng.below(2) == 0 {
                            for _ in 0..h.pins {
                                rt.pin(n).unwrap();
                            }
                            for _ in 0..h.pins {
                                rt.unpin(h.r).unwrap();
                            }
                            next_seed += 1;
                            held[i] = Held { r: n, size, pins: h.pins, seed: next_seed };
                            fill(&rt, &held[i]);
                        }
                    }
                }
                // `__alloc` blocks come and go (frees merge blocks during the walk).
                9 => {
                    if raw.len() > 8 || (rng.below(2) == 0 && !raw.is_empty()) {
                        let i = rng.below(raw.len() as u32) as usize;
                        rt.free(raw.swap_remove(i)).unwrap();
                    } else {
                        raw.push(rt.alloc([16, 200, 9000][rng.below(3) as usize]).unwrap());
                    }
                }
                // A static object: counted in the table from its first pin.
                10 => {
                    if static_pins > 0 && rng.below(2) == 0 {
                        rt.unpin(statics).unwrap();
                        static_pins -= 1;
                    } else {
                        rt.pin(statics).unwrap();
                        static_pins += 1;
                    }
                    assert_eq!(rt.pin_count(statics), static_pins, "{what}");
                    if static_pins == 0 {
                        assert_eq!(rt.unpin(statics), Err(Error::NotPinned), "{what}");
                    }
                }
                11 if rng.below(8) == 0 => rt.collect(),
                _ => {
                    for _ in 0..1 + rng.below(6) {
                        rt.gc_step();
                    }
                }
            }
            for h in &held {
                intact(&rt, h, &what);
            }
            let distinct = held.iter().filter(|h| h.pins > 0).count();
            // While marking, the flag may be clear with the pinned objects ahead of the walk
            // (the checker run after every step tells which, `PinnedNotFlagged`).
            let marking = rt.phase() == Phase::Mark;
            assert!(distinct == 0 || marking || rt.may_have_pins(), "{what}: pinned, no flag");
        }
        rt.collect();
        assert_sound(&rt, format!("seed {seed} end"));
        for h in &held {
            intact(&rt, h, "end");
        }
        // Unpin everything.
        for h in held.drain(..) {
            for _ in 0..h.pins {
                rt.unpin(h.r).unwrap();
            }
        }
        for _ in 0..static_pins {
            rt.unpin(statics).unwrap();
        }
        rt.collect();
        assert_sound(&rt, format!("seed {seed} after unpinning"));
        // Nothing is left pinned (each move either moved every pin or kept the original in
        // `held`): that collection's walk found nothing, so the next one is skipped.
        assert!(!rt.may_have_pins(), "seed {seed}");
    }
}

/// Pins asked during the sweep for objects the marking found dead are refused (`DeadObject`,
/// nothing changed); the sweep frees them, and a new object later made at the same address
/// starts unpinned.
#[test]
fn a_reused_address_does_not_inherit_a_dead_objects_pins() {
    let mut rt = host_with(2, 64);
    rt.configure(100, 1024).unwrap();
    let abuf = ids().abuf;
    let keep = new(&mut rt, 16, abuf);
    rt.pin(keep).unwrap();
    let dead: Vec<u32> = (0..300).map(|_| new(&mut rt, 48, abuf)).collect();
    rt.collect();
    // Start a cycle and mark to the end (the dead objects are garbage from before it).
    while rt.phase() != Phase::Idle {
        rt.gc_step();
    }
    let dead: Vec<u32> = dead.into_iter().filter(|&r| rt.validate_object(r).is_ok()).collect();
    assert!(dead.is_empty(), "the collection freed them");
    let dead: Vec<u32> = (0..300).map(|_| new(&mut rt, 48, abuf)).collect();
    assert_eq!(rt.gc_step(), Phase::Mark);
    while rt.phase() == Phase::Mark {
        rt.gc_step();
    }
    // Sweeping: try to pin the not-yet-swept dead ones once, twice, many times.
    let mut pinned = Vec::new();
    for (k, &r) in dead.iter().enumerate().rev().step_by(7) {
        if rt.validate_object(r).is_err() {
            continue;
        }
        for _ in 0..1 + k % 4 {
            assert_eq!(rt.pin(r), Err(Error::DeadObject));
        }
        assert_eq!(rt.pin_count(r), 0);
        pinned.push(r);
    }
    assert!(!pinned.is_empty(), "some dead objects were not swept yet");
    while rt.phase() != Phase::Idle {
        rt.gc_step();
    }
    assert_eq!(rt.pin_count(keep), 1);
    for &r in &pinned {
        assert!(rt.validate_object(r).is_err(), "a dead object survived its sweep");
        assert_eq!(rt.pin_count(r), 0);
    }
    // Reuse the addresses.
    let fresh: Vec<u32> = (0..600).map(|_| new(&mut rt, 48, abuf)).collect();
    let reused: Vec<u32> = fresh.iter().copied().filter(|r| pinned.contains(r)).collect();
    assert!(!reused.is_empty(), "some address was reused");
    for &r in &reused {
        assert_eq!(rt.pin_count(r), 0, "{r:#x} inherited pins");
        assert_eq!(rt.unpin(r), Err(Error::NotPinned));
    }
    assert_sound(&rt, "after reuse");
    rt.collect();
    for &r in &fresh {
        assert!(rt.validate_object(r).is_err(), "nothing pins the fresh objects");
    }
    assert!(rt.validate_object(keep).is_ok());
}

/// A second pin that needs the pin table to grow while memory is full: the call runs a full
/// collection and fails with out of memory, changing nothing; the instance keeps working, and
/// once memory is freed the same pin succeeds.
#[test]
fn a_pin_table_that_cannot_grow_fails_cleanly() {
    let mut rt = host_with(2, 2);
    let abuf = ids().abuf;
    // Eight objects pinned twice fill a 16-entry table (at most half full).
    let mut twice = Vec::new();
    for _ in 0..8 {
        let r = new(&mut rt, 8, abuf);
        rt.pin(r).unwrap();
        rt.pin(r).unwrap();
        twice.push(r);
    }
    // Fill memory with pinned objects (first pins: the bit alone, no table room needed).
    let mut filler = Vec::new();
    for size in [512, 0] {
        loop {
            match rt.new_object(size, abuf) {
                Ok(r) => {
                    rt.pin(r).unwrap();
                    filler.push(r);
                }
                Err(Error::OutOfMemory) => break,
                Err(e) => panic!("{e:?}"),
            }
        }
    }
    let victim = filler[filler.len() / 2];
    assert_eq!(rt.pin(victim), Err(Error::OutOfMemory), "the table cannot grow");
    assert_eq!(rt.pin_count(victim), 1, "the failed pin changed nothing");
    assert_sound(&rt, "after the failed pin");
    // Static objects need the table from their first pin.
    let s = rt.static_slots();
    assert_eq!(rt.pin(s), Err(Error::OutOfMemory));
    assert_eq!(rt.pin_count(s), 0);
    assert_eq!(rt.unpin(s), Err(Error::NotPinned));
    // The rest still works: unpins, first pins, a collection.
    rt.unpin(twice[0]).unwrap();
    rt.unpin(twice[0]).unwrap();
    assert_eq!(rt.pin(victim), Ok(victim), "room after an entry went");
    assert_eq!(rt.pin_count(victim), 2);
    for &r in &filler[..filler.len() / 2] {
        rt.unpin(r).unwrap();
    }
    rt.collect();
    assert_eq!(rt.pin(s), Ok(s));
    assert_eq!(rt.pin(filler[filler.len() - 1]), Ok(filler[filler.len() - 1]));
    for &r in &filler[filler.len() / 2..] {
        assert!(rt.validate_object(r).is_ok());
    }
    for &r in &twice[1..] {
        assert_eq!(rt.pin_count(r), 2);
    }
    assert_sound(&rt, "end");
}

/// Buggy compiled code sets PINNED in the gcInfo of a garbage object (the threat model of
/// `validate_object_hot`'s test: compiled code overwrites header words, MANAGED included). No
/// heap object is pinned at the cycle's start, so the walk is skipped and the garbage dies; the
/// host's next pin and the cycle after work as if nothing happened. (With a count of PINNED
/// objects in place of the flag, the sweep took 1 off a count of 0 here: the next pin overflowed.)
#[test]
fn a_forged_pinned_bit_on_garbage_does_not_break_the_next_pin() {
    let mut rt = forging_host();
    let abuf = ids().abuf;
    let garbage = new(&mut rt, 8, abuf);
    forge_pinned(&rt, garbage);
    rt.collect();
    assert!(rt.validate_object(garbage).is_err(), "the garbage was freed");
    let host_pinned = new(&mut rt, 8, abuf);
    rt.pin(host_pinned).unwrap();
    rt.collect();
    assert!(rt.validate_object(host_pinned).is_ok(), "a pinned object was freed");
}

/// The same stray bit with a genuine pin in place: the sweep frees the forged garbage, and the
/// next cycle still walks and keeps the object the host pinned. (With a count, the count reached
/// 0 here and the next cycle skipped the walk and freed it.)
#[test]
fn a_forged_pinned_bit_on_garbage_does_not_unpin_another_object() {
    let mut rt = forging_host();
    rt.configure(100, 1024).unwrap();
    let abuf = ids().abuf;
    let host_pinned = new(&mut rt, 8, abuf);
    rt.pin(host_pinned).unwrap();
    let garbage: Vec<u32> = (0..200).map(|_| new(&mut rt, 64, abuf)).collect();
    // Mark (the walk shades `host_pinned`); the garbage stays white.
    while rt.phase() == Phase::Idle {
        rt.gc_step();
    }
    while rt.phase() == Phase::Mark {
        rt.gc_step();
    }
    // Sweeping: compiled code writes PINNED into a dead object the sweep has not reached.
    let last = *garbage.last().unwrap();
    assert!(rt.validate_object(last).is_ok(), "not swept yet");
    forge_pinned(&rt, last);
    while rt.phase() != Phase::Idle {
        rt.gc_step();
    }
    assert_eq!(rt.pin_count(host_pinned), 1, "the host's pin is still there");
    rt.collect();
    assert!(rt.validate_object(host_pinned).is_ok(), "a pinned object was freed");
}

/// Compiled code sets PINNED in a live object's header and the host then unpins that object
/// (accepted: it has the bit). The object the host really pinned must survive: a count of PINNED
/// objects would have dropped to 0 and the next cycle would have skipped the walk.
#[test]
fn unpinning_a_forged_pin_does_not_unpin_another_object() {
    let mut rt = forging_host();
    let abuf = ids().abuf;
    let host_pinned = new(&mut rt, 8, abuf);
    rt.pin(host_pinned).unwrap();
    let forged = new(&mut rt, 8, abuf);
    forge_pinned(&rt, forged);
    rt.unpin(forged).unwrap();
    for _ in 0..3 {
        rt.collect();
        assert!(rt.validate_object(host_pinned).is_ok(), "a pinned object was freed");
    }
    assert!(rt.validate_object(forged).is_err(), "the forged object was garbage");
    assert_sound(&rt, "end");
}

/// Compiled code sets PINNED in a live object's header while no heap object is pinned, and the
/// host then pins that object: by its header a second pin, counted in the table. The host's pin
/// is real: the object must survive. (If the counted pin does not set the may-have-pins flag,
/// the next cycle skips the walk and frees it, leaving its table entry behind.)
#[test]
fn a_host_pin_over_a_forged_bit_while_idle_keeps_the_object() {
    let mut rt = forging_host();
    let abuf = ids().abuf;
    let r = new(&mut rt, 8, abuf);
    forge_pinned(&rt, r);
    assert_eq!(rt.pin(r), Ok(r));
    rt.collect();
    assert!(rt.validate_object(r).is_ok(), "an object the host pinned was freed");
    assert_eq!(rt.pin_count(r), 2);
}

/// The same while marking, with the walk behind the object (here skipped: nothing was pinned at
/// the cycle's start): the host's pin must shade it, as a first pin does.
#[test]
fn a_host_pin_over_a_forged_bit_while_marking_keeps_the_object() {
    let mut rt = forging_host();
    let r = marking_with_a_white_object(&mut rt, ids().abuf);
    assert!(color(&rt, r) < 2, "white");
    forge_pinned(&rt, r);
    assert_eq!(rt.pin(r), Ok(r));
    while rt.phase() != Phase::Idle {
        rt.gc_step();
    }
    assert!(rt.validate_object(r).is_ok(), "an object the host pinned was freed");
    assert_eq!(rt.pin_count(r), 2);
}

/// During the sweep, a pin of an object the marking found dead is refused whether or not its
/// header says PINNED: compiled code forged the bit on garbage, and a host pin on top of it must
/// not leave a table entry for a block the sweep frees (nor resurrect it through the
/// out-of-memory path's protection).
#[test]
fn a_pin_over_a_forged_bit_on_a_dead_object_is_refused_during_the_sweep() {
    let mut rt = forging_host();
    let r = marking_with_a_white_object(&mut rt, ids().abuf);
    while rt.phase() == Phase::Mark {
        rt.gc_step();
    }
    assert!(rt.validate_object(r).is_ok(), "not swept yet");
    forge_pinned(&rt, r);
    let before = snapshot(&rt);
    assert_eq!(rt.pin(r), Err(Error::DeadObject));
    assert!(snapshot(&rt) == before, "the refused pin changed memory");
    while rt.phase() != Phase::Idle {
        rt.gc_step();
    }
    assert!(rt.validate_object(r).is_err(), "the garbage was freed");
    assert_eq!(rt.pin_count(r), 0, "no entry left for the freed block");
}
