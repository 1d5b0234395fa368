#![cfg(not(target_arch = "wasm32"))]
//! The heap checker names what broke and where: each test corrupts memory on purpose the way a
//! bug would, and asserts the `(Invariant, address)` list that `check_report` gives (and that
//! `__heap_check`'s count is its length). Plus `__heap_check_list`'s buffer rules, the per-step
//! checker of the `check-steps` feature, and the invariant table in the docs.

mod model;

use asrt::host::HostConfig;
use asrt::memory::Memory;
use asrt::object::{Kind, LEFTFREE, LINK_MASK, MANAGED, MM_INFO, PINNED, RT_SIZE, block_size};
use asrt::{Error, Invariant, Violation};
use model::*;

use Invariant::*;

fn host() -> Rt {
    let mut rt = Rt::host(HostConfig { initial_pages: 4, max_pages: 64, ..HostConfig::default() });
    // Corruption is the point here: no step may run the per-step checker on it.
    rt.set_step_checks(0);
    rt
}

/// The report as `(invariant, address)` pairs; checks that the count export agrees.
fn report(rt: &Rt) -> Vec<(Invariant, u32)> {
    let list: Vec<(Invariant, u32)> =
        rt.check_report().iter().map(|v| (v.invariant, v.address)).collect();
    assert_eq!(rt.check() as usize, list.len(), "__heap_check counts what the list lists");
    list
}

/// Asserts the report is exactly `want` (in any order).
#[track_caller]
fn expect(rt: &Rt, want: &[(Invariant, u32)]) {
    let mut got = report(rt);
    let mut want = want.to_vec();
    got.sort();
    want.sort();
    assert_eq!(got, want);
}

/// Three used unmanaged blocks `a`, `b`, `c` in a row (refs), then a fourth so `c` is not
/// next to the bump block.
fn row(rt: &mut Rt, size: u32) -> [u32; 4] {
    let r = [0; 4].map(|_| rt.alloc(size).unwrap());
    for w in r.windows(2) {
        assert_eq!(w[1] - w[0], block_size(size), "allocated in a row");
    }
    r
}

/// The block-start map's payload (the one Internal block before any pin) and the heap start.
fn start_map(rt: &Rt) -> u32 {
    let heap = rt.heap();
    let mut b = heap.first_block();
    while b != 0 {
        if ld(rt, b) & 1 == 0 && ld(rt, b + 4) == Kind::Internal as u32 {
            return b + 16;
        }
        // SAFETY: `b` is a block start of this heap (the chain is intact here).
        b = unsafe { heap.next_block(b) };
    }
    panic!("no block-start map");
}

/// Flips the map bit of the granule at `addr`.
fn flip_start_bit(rt: &Rt, addr: u32) {
    let g = (addr - rt.heap().start()) / 16;
    let word = start_map(rt) + 4 * (g / 32);
    st(rt, word, ld(rt, word) ^ (1 << (g % 32)));
}

/// The sentinel that ends the (only) region of a host heap.
fn sentinel(rt: &Rt) -> u32 {
    rt.memory().size() - 16
}

#[test]
fn a_sound_heap_reports_nothing() {
    let mut rt = host();
    let ids = ids();
    row(&mut rt, 48);
    let t = new(&mut rt, 8, ids.tree);
    rt.pin(t).unwrap();
    rt.collect();
    expect(&rt, &[]);
}

// ----- the block chain -----

#[test]
fn block_size_not_a_multiple_of_16() {
    let mut rt = host();
    let [_, b, ..] = row(&mut rt, 48);
    st(&rt, b - 16 + MM_INFO, block_size(48) - 4 + 8);
    // The walk cannot go on: nothing after `b` is checked.
    assert_eq!(report(&rt), [(BlockSizeBad, b - 16)]);
}

#[test]
fn left_free_bit_on_a_block_whose_left_neighbour_is_used() {
    let mut rt = host();
    let [_, b, ..] = row(&mut rt, 48);
    st(&rt, b - 16, ld(&rt, b - 16) | LEFTFREE);
    expect(&rt, &[(LeftFreeBitWrong, b - 16)]);
}

#[test]
fn used_block_size_differs_from_its_rt_size() {
    let mut rt = host();
    let [_, b, ..] = row(&mut rt, 48);
    st(&rt, b - 16 + RT_SIZE, 100);
    expect(&rt, &[(UsedSizeMismatch, b - 16)]);
}

#[test]
fn unmanaged_block_of_an_unknown_kind() {
    let mut rt = host();
    let [_, b, ..] = row(&mut rt, 48);
    st(&rt, b - 12, 5);
    expect(&rt, &[(BadKind, b - 16)]);
}

#[test]
fn free_block_with_a_wrong_back_pointer_is_seen_by_walk_and_list() {
    let mut rt = host();
    let [_, b, ..] = row(&mut rt, 48);
    rt.free(b).unwrap();
    st(&rt, b - 16 + block_size(48) - 4, 0x1230);
    expect(&rt, &[(FreeBackPointer, b - 16), (FreeBackPointer, b - 16)]);
}

#[test]
fn sentinel_pointing_at_a_misaligned_next_region() {
    let rt = host();
    let s = sentinel(&rt);
    st(&rt, s + RT_SIZE, 0x2008);
    assert_eq!(report(&rt), [(BlockMisaligned, 0x2008)]);
}

#[test]
fn sentinel_pointing_below_the_heap() {
    let rt = host();
    let s = sentinel(&rt);
    st(&rt, s + RT_SIZE, 16);
    assert_eq!(report(&rt), [(BlockOutsideHeap, 16)]);
}

#[test]
fn sentinel_pointing_back_to_the_heap_start_is_a_cycle() {
    let rt = host();
    let s = sentinel(&rt);
    let start = rt.heap().start();
    st(&rt, s + RT_SIZE, start);
    let list = report(&rt);
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0].0, ChainCycle);
}

// ----- the block-start map -----

#[test]
fn used_block_missing_from_the_start_map() {
    let mut rt = host();
    let [_, b, ..] = row(&mut rt, 48);
    flip_start_bit(&rt, b - 16);
    let map = start_map(&rt);
    // The count differs too, by that missing bit only: reported at the map.
    expect(&rt, &[(StartMapBitMissing, b - 16), (StartMapStrayBits, map)]);
}

#[test]
fn stray_start_bit_inside_a_payload() {
    let mut rt = host();
    let [_, b, ..] = row(&mut rt, 48);
    flip_start_bit(&rt, b + 16);
    expect(&rt, &[(StartMapStrayBits, b + 16)]);
}

#[test]
fn free_block_with_a_start_bit() {
    let mut rt = host();
    let [_, b, ..] = row(&mut rt, 48);
    rt.free(b).unwrap();
    flip_start_bit(&rt, b - 16);
    expect(&rt, &[(StartMapBitOnFree, b - 16), (StartMapStrayBits, b - 16)]);
}

#[test]
fn sentinel_with_a_start_bit() {
    let rt = host();
    let s = sentinel(&rt);
    flip_start_bit(&rt, s);
    expect(&rt, &[(StartMapBitOnSentinel, s), (StartMapStrayBits, s)]);
}

// ----- the free lists -----

/// A free block alone in its size class (2000 payload bytes), between used blocks.
fn lone_free_block(rt: &mut Rt) -> u32 {
    let [_, b, ..] = row(rt, 2000);
    rt.free(b).unwrap();
    b - 16
}

#[test]
fn free_list_leading_to_a_used_block() {
    let mut rt = host();
    let f = lone_free_block(&mut rt);
    let [_, u, ..] = row(&mut rt, 48);
    st(&rt, f + 8, u - 16);
    expect(&rt, &[(ListedNotFree, u - 16)]);
}

#[test]
fn free_list_leading_to_a_block_of_another_class() {
    let mut rt = host();
    let f = lone_free_block(&mut rt);
    let [_, g, ..] = row(&mut rt, 48);
    rt.free(g).unwrap();
    st(&rt, f + 8, g - 16);
    expect(&rt, &[(ListedWrongClass, g - 16)]);
}

#[test]
fn free_list_leading_outside_memory() {
    let mut rt = host();
    let f = lone_free_block(&mut rt);
    let end = rt.memory().size();
    st(&rt, f + 8, end);
    expect(&rt, &[(ListedOutOfRange, end)]);
}

#[test]
fn free_list_with_wrong_prev_links() {
    let mut rt = host();
    let [_, a, _, b] = row(&mut rt, 48);
    let [_, _, ..] = row(&mut rt, 48);
    rt.free(a).unwrap();
    rt.free(b).unwrap();
    // Both are in the list of 64-byte blocks; neither prev link is right now.
    st(&rt, a - 16 + 4, 0x40);
    st(&rt, b - 16 + 4, 0x40);
    expect(&rt, &[(ListPrevLink, a - 16), (ListPrevLink, b - 16)]);
}

#[test]
fn free_list_cycle() {
    let mut rt = host();
    let f = lone_free_block(&mut rt);
    st(&rt, f + 8, f);
    let list = report(&rt);
    assert!(list.contains(&(ListCycle, f)), "{:?}", &list[list.len() - 3..]);
}

// ----- the collector -----

#[test]
fn pinned_bit_without_a_pin() {
    let mut rt = host();
    let t = new(&mut rt, 8, ids().tree);
    // No pin was ever taken: the next marking would not walk the heap for it.
    st(&rt, t - 12, ld(&rt, t - 12) | PINNED);
    expect(&rt, &[(PinnedNotFlagged, t - 16)]);
}

#[test]
fn pin_entry_of_an_object_without_the_bit() {
    let mut rt = host();
    let t = new(&mut rt, 8, ids().tree);
    rt.pin(t).unwrap();
    rt.pin(t).unwrap();
    expect(&rt, &[]);
    st(&rt, t - 12, ld(&rt, t - 12) & !PINNED);
    expect(&rt, &[(PinEntryBad, t)]);
}

#[test]
fn pinned_white_object_the_walk_has_passed() {
    let mut rt = host();
    let white = marking_with_a_white_object(&mut rt, ids().tree);
    // Nothing was pinned at the cycle's start: the walk is over, and a pin now would shade.
    st(&rt, white - 12, ld(&rt, white - 12) | PINNED);
    expect(&rt, &[(PinnedNotShaded, white - 16), (PinnedNotFlagged, white - 16)]);
}

#[test]
fn gray_object_while_idle() {
    let mut rt = host();
    let t = new(&mut rt, 8, ids().tree);
    st(&rt, t - 12, MANAGED | 2);
    // It is not on the (empty) gray stack either.
    expect(&rt, &[(GrayOutsideMark, t - 16), (GrayNotOnStack, 0)]);
}

#[test]
fn gray_link_on_a_white_object() {
    let mut rt = host();
    let t = new(&mut rt, 8, ids().tree);
    st(&rt, t - 12, ld(&rt, t - 12) | (0x1230 & LINK_MASK));
    expect(&rt, &[(LinkOnNonGray, t - 16)]);
}

#[test]
fn black_object_while_idle() {
    let mut rt = host();
    let t = new(&mut rt, 8, ids().tree);
    st(&rt, t - 12, MANAGED | 3);
    expect(&rt, &[(BlackWhenIdle, t - 16)]);
}

#[test]
fn reference_to_something_that_is_not_an_object() {
    let mut rt = host();
    let ids = ids();
    let parent = new(&mut rt, 8, ids.tree);
    let buf = new(&mut rt, 64, ids.abuf);
    st(&rt, parent + 4, buf + 16);
    expect(&rt, &[(DanglingChild, parent - 16)]);
}

#[test]
fn unmanaged_block_turned_managed_breaks_the_live_count() {
    let mut rt = host();
    let [_, b, ..] = row(&mut rt, 48);
    st(&rt, b - 12, MANAGED);
    st(&rt, b - 8, ids().abuf);
    expect(&rt, &[(LiveCountMismatch, 0)]);
}

#[test]
fn black_object_pointing_to_a_white_one_while_marking() {
    let mut rt = host();
    let ids = ids();
    let white = marking_with_a_white_object(&mut rt, ids.tree);
    let black = new(&mut rt, 8, ids.tree); // allocated black while marking
    assert_eq!(color(&rt, black), 3);
    assert!(color(&rt, white) < 2);
    st(&rt, black, white); // a store without the barrier
    expect(&rt, &[(BlackPointsToWhite, black - 16)]);
    rt.link(black, white, false).unwrap();
    expect(&rt, &[]);
}

#[test]
fn gray_object_not_on_the_gray_stack() {
    let mut rt = host();
    let white = marking_with_a_white_object(&mut rt, ids().tree);
    st(&rt, white - 12, MANAGED | 2);
    let list = report(&rt);
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0].0, GrayNotOnStack);
    assert_eq!(color(&rt, list[0].1 + 16), 2, "the address is the gray stack's head");
}

#[test]
fn junk_in_a_shadow_stack_slot() {
    let mut rt = host();
    let buf = new(&mut rt, 64, ids().abuf);
    rt.push(0).unwrap();
    let slot = ld(&rt, rt.shadow_stack()) - 4;
    st(&rt, slot, buf + 32);
    expect(&rt, &[(JunkRootSlot, slot)]);
}

#[test]
fn junk_in_a_static_slot() {
    let mut rt = host();
    let buf = new(&mut rt, 64, ids().abuf);
    let slots = rt.static_slots();
    st(&rt, slots + 4, buf + 32);
    expect(&rt, &[(JunkStaticSlot, slots - 16)]);
}

// ----- __heap_check_list -----

#[test]
fn check_list_writes_pairs_and_returns_the_total() {
    let mut rt = host();
    let ids = ids();
    let out = rt.alloc(16).unwrap(); // room for two pairs
    let a = new(&mut rt, 8, ids.tree);
    let b = new(&mut rt, 8, ids.tree);
    let c = new(&mut rt, 8, ids.tree);
    for t in [a, b, c] {
        st(&rt, t - 12, MANAGED | 3);
    }
    let want = rt.check_report();
    assert_eq!(want.len(), 3);
    set(&rt, out, 0xee, 16);
    assert_eq!(rt.write_check_list(out, 2), Ok(3), "the total, though only two fit");
    for (i, v) in want.iter().take(2).enumerate() {
        let at = out + 8 * i as u32;
        assert_eq!(
            (ld(&rt, at), ld(&rt, at + 4)),
            (v.invariant as u32, v.address),
            "pair {i} is {v}"
        );
    }
    // Capacity 0 only counts, and needs no buffer.
    assert_eq!(rt.write_check_list(0, 0), Ok(3));
    // The stack region is allowed, as for __gc_stats.
    assert_eq!(rt.write_check_list(64, 3), Ok(3));
    assert_eq!(ld(&rt, 64 + 16), BlackWhenIdle as u32);
}

#[test]
fn check_list_refuses_bad_buffers_and_writes_nothing() {
    let mut rt = host();
    let ids = ids();
    let small = rt.alloc(8).unwrap();
    let big = rt.alloc(64).unwrap();
    let managed = new(&mut rt, 64, ids.abuf);
    let t = new(&mut rt, 8, ids.tree);
    st(&rt, t - 12, MANAGED | 3); // one violation to write
    let end = rt.memory().size();
    let cases = [
        ("null", 0, 1, Error::NullRef),
        ("past memory", end - 8, 2, Error::OutOfBounds),
        ("unaligned", big + 4, 1, Error::BadCheckBuffer),
        ("too small a block", small, 2, Error::BadCheckBuffer),
        ("inside a block", big + 16, 1, Error::BadCheckBuffer),
        ("a managed object", managed, 1, Error::BadCheckBuffer),
        ("a block header", big - 16, 1, Error::BadCheckBuffer),
        ("static data", rt.shadow_stack(), 1, Error::BadCheckBuffer),
        ("a huge capacity", big, u32::MAX, Error::OutOfBounds),
    ];
    for (what, out, cap, err) in cases {
        let before = snapshot(&rt);
        assert_eq!(rt.write_check_list(out, cap), Err(err), "{what}");
        assert!(snapshot(&rt) == before, "{what}: memory changed");
    }
    assert_eq!(rt.write_check_list(big, 8), Ok(1));
}

// ----- the per-step checker (feature check-steps, on in the host test runs) -----

#[test]
#[should_panic(expected = "FreeBackPointer at 0x")]
fn a_gc_step_after_corruption_panics_naming_the_invariant() {
    let mut rt = host();
    rt.set_step_checks(u64::MAX);
    let [_, b, ..] = row(&mut rt, 48);
    rt.free(b).unwrap();
    st(&rt, b - 16 + block_size(48) - 4, 0x1230);
    rt.gc_step();
}

#[test]
fn the_per_step_checker_tolerates_junk_in_root_slots() {
    let mut rt = host();
    rt.set_step_checks(u64::MAX);
    let buf = new(&mut rt, 64, ids().abuf);
    rt.push(0).unwrap();
    let slot = ld(&rt, rt.shadow_stack()) - 4;
    st(&rt, slot, buf + 32);
    rt.collect(); // ABI §6: skipped by the collector, counted by __heap_check
    expect(&rt, &[(JunkRootSlot, slot)]);
    st(&rt, slot, 0);
    rt.pop(1).unwrap();
}

// ----- the table -----

#[test]
fn invariants_are_numbered_from_1_without_gaps() {
    for (i, &inv) in Invariant::ALL.iter().enumerate() {
        assert_eq!(inv as u32, i as u32 + 1, "{inv}");
        assert_eq!(Invariant::from_u32(inv as u32), Some(inv));
        assert!(!inv.meaning().is_empty() && !inv.meaning().starts_with(' '));
    }
    assert_eq!(Invariant::from_u32(0), None);
    let v = Violation { invariant: AdjacentFree, address: 0x40 };
    assert_eq!(v.to_string(), "AdjacentFree at 0x40");
}

#[test]
fn the_readme_table_and_the_loader_list_every_invariant_in_order() {
    let root = env!("CARGO_MANIFEST_DIR");
    let readme = std::fs::read_to_string(format!("{root}/README.md")).unwrap();
    let rows: Vec<(u32, String)> = readme
        .lines()
        .filter_map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            let n = cells.get(1)?.parse().ok()?;
            let name = cells.get(2)?.trim_matches('`').to_string();
            Invariant::ALL.iter().any(|i| i.name() == name).then_some((n, name))
        })
        .collect();
    let want: Vec<(u32, String)> =
        Invariant::ALL.iter().map(|&i| (i as u32, i.name().to_string())).collect();
    assert_eq!(rows, want, "README.md's invariant table");
    let loader = std::fs::read_to_string(format!("{root}/js/loader.mjs")).unwrap();
    let start = loader.find("const INVARIANTS = [").expect("INVARIANTS in js/loader.mjs");
    let end = start + loader[start..].find("];").unwrap();
    let names: Vec<&str> = loader[start..end].split('"').skip(1).step_by(2).collect();
    let want: Vec<&str> = Invariant::ALL.iter().map(|i| i.name()).collect();
    assert_eq!(names[1..], want[..], "js/loader.mjs INVARIANTS (index = number)");
    assert_eq!(names[0], "", "number 0 is no invariant");
}
