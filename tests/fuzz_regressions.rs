#![cfg(not(target_arch = "wasm32"))]
//! Regression tests for what the fuzz targets (fuzz/, scripts/fuzz.sh) found, each reduced to
//! a minimal reproduction, plus representative hostile cases of the classes the runtime already
//! withstands (`forged_ref`), so that they stay covered by `cargo test` without a fuzzer.

#[path = "../build/layout.rs"]
#[allow(dead_code)]
mod layout;

use asrt::host::HostConfig;
use asrt::memory::{HostMemory, Memory};
use asrt::{Error, Runtime};

type Rt = Runtime<HostMemory>;

fn rt() -> Rt {
    Runtime::host(HostConfig { initial_pages: 2, max_pages: 64, stack_slots: 16, static_slots: 8 })
}

/// Runs `f`, which must fail with `want` and leave every byte of memory as it was.
fn rejected<T: std::fmt::Debug>(
    rt: &mut Rt,
    want: Error,
    f: impl FnOnce(&mut Rt) -> Result<T, Error>,
) {
    let before = rt.memory().bytes().to_vec();
    assert_eq!(f(rt).map(|_| ()), Err(want));
    assert!(rt.memory().bytes() == &before[..], "a rejected call changed memory");
    assert_eq!(rt.check(), 0);
}

// ----- layout_parse ---------------------------------------------------------------------------

/// layout_parse: a static whose payload is larger than the ABI's largest payload (2^30 - 16
/// bytes) was accepted, and loading it built the payload first (a 2 GiB Vec for 2^28 f64s;
/// libFuzzer: "out-of-memory (malloc(2147483648))"). It is rejected before anything is built,
/// with the line of its `length`.
#[test]
fn layout_static_larger_than_the_largest_payload_is_rejected() {
    let text = "[[type]]\nname = \"A\"\nkind = \"staticarray\"\nelement = \"f64\"\n\
                [[static]]\nname = \"s\"\ntype = \"A\"\nlength = 268435456\n";
    let e = layout::load("t.toml", text, None).unwrap_err();
    assert!(e.starts_with("t.toml:8: ") && e.contains("largest payload"), "{e}");
    // The elements of an Array live in a static ArrayBuffer, which has the same limit.
    let text = "[[type]]\nname = \"A\"\nkind = \"array\"\nelement = \"i64\"\n\
                [[static]]\nname = \"s\"\ntype = \"A\"\nlength = 134217728\n";
    let e = layout::load("t.toml", text, None).unwrap_err();
    assert!(e.starts_with("t.toml:8: ") && e.contains("largest payload"), "{e}");
    // At the limit it still loads (a payload of 2^30 - 16 bytes)... checked on a small one.
    let text = "[[static]]\nname = \"b\"\ntype = \"ArrayBuffer\"\nlength = 4096\n";
    assert!(layout::load("t.toml", text, None).is_ok());
}

/// layout_parse: static data that cannot fit in the memory's maximum is rejected (naming the
/// `max_pages` line), instead of failing at link time.
#[test]
fn layout_static_data_must_fit_in_max_pages() {
    let text = "[memory]\nmax_pages = 17\n\
                [[static]]\nname = \"b\"\ntype = \"ArrayBuffer\"\nlength = 200000\n";
    let e = layout::load("t.toml", text, None).unwrap_err();
    assert!(e.starts_with("t.toml:2: ") && e.contains("do not fit in 17 pages"), "{e}");
    let ok = "[memory]\nmax_pages = 32\n\
              [[static]]\nname = \"b\"\ntype = \"ArrayBuffer\"\nlength = 200000\n";
    assert!(layout::load("t.toml", ok, None).is_ok());
}

// ----- heap_ops, class forged_ref (withstood) -----------------------------------------------

#[test]
fn heap_double_free_and_realloc_after_free_are_rejected() {
    let mut rt = rt();
    let a = rt.alloc(100).unwrap();
    let b = rt.alloc(100).unwrap();
    rt.free(a).unwrap();
    rejected(&mut rt, Error::AlreadyFree, |rt| rt.free(a));
    rejected(&mut rt, Error::AlreadyFree, |rt| rt.realloc(a, 8));
    // Merged into its free left neighbour: the swallowed header reads as free too.
    rt.free(b).unwrap();
    rejected(&mut rt, Error::AlreadyFree, |rt| rt.free(b));
}

#[test]
fn heap_interior_misaligned_and_out_of_range_refs_are_rejected() {
    let mut rt = rt();
    let a = rt.alloc(256).unwrap();
    for v in [a + 16, a + 32, a + 240] {
        assert!(rt.free(v).is_err());
    }
    rejected(&mut rt, Error::Unaligned, |rt| rt.free(a + 4));
    rejected(&mut rt, Error::Unaligned, |rt| rt.realloc(a + 8, 16));
    let end = rt.memory().size();
    rejected(&mut rt, Error::OutsideHeap, |rt| rt.free(end));
    rejected(&mut rt, Error::OutsideHeap, |rt| rt.free(0u32.wrapping_sub(16)));
    rejected(&mut rt, Error::OutsideHeap, |rt| rt.free(16));
    rejected(&mut rt, Error::NullRef, |rt| rt.realloc(0, 16));
    assert_eq!(rt.free(0), Ok(()));
}
