#![cfg(not(target_arch = "wasm32"))]
//! What the fuzz targets (fuzz/) found in their hostile classes, each reduced to a test. Every
//! one failed before the issue 8 fix it names; the class of fuzz/ that found it is in its doc.

use asrt::gc::Phase;
use asrt::host::HostConfig;
use asrt::memory::{HostMemory, Memory};
use asrt::object::{MANAGED, NO_TYPE};
use asrt::rtti;
use asrt::{Error, Runtime};

type Rt = Runtime<HostMemory>;

fn rt(max_pages: u32) -> Rt {
    Runtime::host(HostConfig { initial_pages: 2, max_pages, stack_slots: 16, static_slots: 8 })
}

fn ld(rt: &Rt, a: u32) -> u32 {
    // SAFETY: the tests pass aligned addresses inside the memory.
    unsafe { rt.memory().load(a) }
}

fn st(rt: &Rt, a: u32, v: u32) {
    // SAFETY: as for `ld`.
    unsafe { rt.memory().store(a, v) }
}

fn snapshot(rt: &Rt) -> Vec<u8> {
    rt.memory().bytes().to_vec()
}

/// `f` must fail and leave every byte of memory as it was.
fn rejected<T: std::fmt::Debug>(rt: &mut Rt, f: impl FnOnce(&mut Rt) -> Result<T, Error>) {
    let before = snapshot(rt);
    let res = f(rt);
    assert!(res.is_err(), "accepted: {res:?}");
    assert!(snapshot(rt) == before, "a rejected call changed memory");
}

/// A plausible used-block header at `at` inside a live payload (rtSize `bsize - 16`, a right
/// neighbour whose mmInfo has no LEFTFREE).
fn forge(rt: &Rt, at: u32, bsize: u32, tags: u32, gc: u32, id: u32) -> u32 {
    st(rt, at, (bsize - 4) | tags);
    st(rt, at + 4, gc);
    st(rt, at + 8, id);
    st(rt, at + 12, bsize - 16);
    st(rt, at + bsize, 0);
    at + 16
}

/// heap_ops `fake_header` (item 6).
#[test]
fn free_of_a_header_forged_in_a_live_payload_is_rejected() {
    let mut rt = rt(64);
    let host = rt.alloc(256).unwrap();
    let fake = forge(&rt, host + 32, 64, 0, 0, NO_TYPE);
    rejected(&mut rt, |rt| rt.free(fake));
    rejected(&mut rt, |rt| rt.realloc(fake, 200));
    assert_eq!(rt.check(), 0);
}

/// heap_ops `fake_leftfree`: the merge would trust the word before the header (a write
/// anywhere).
#[test]
fn free_with_a_forged_leftfree_bit_is_rejected() {
    let mut rt = rt(64);
    let other = rt.alloc(64).unwrap();
    let host = rt.alloc(256).unwrap();
    st(&rt, host + 28, other - 16);
    let fake = forge(&rt, host + 32, 64, 2, 0, NO_TYPE);
    rejected(&mut rt, |rt| rt.free(fake));
    assert_eq!(rt.check(), 0);
}

/// gc_ops `fake_header` (item 6).
#[test]
fn pin_of_a_header_forged_in_a_string_is_rejected() {
    let mut rt = rt(64);
    let s = rt.new_object(128, rtti::ID_STRING).unwrap();
    rt.pin(s).unwrap();
    let fake = forge(&rt, s + 32, 48, 0, MANAGED, rtti::ID_STRING);
    rejected(&mut rt, |rt| rt.pin(fake));
    rejected(&mut rt, |rt| rt.push(fake));
    rejected(&mut rt, |rt| rt.link(s, fake, false));
    rejected(&mut rt, |rt| rt.renew(fake, 8));
    assert_eq!(rt.check(), 0);
}

/// A pinned ArrayBuffer whose payload word at +20 reads like the gcInfo of a white object at
/// +32.
fn bait(rt: &mut Rt) -> (u32, u32, Vec<u8>) {
    let buf = rt.new_object(64, rtti::ID_ARRAYBUFFER).unwrap();
    rt.pin(buf).unwrap();
    st(rt, buf + 20, MANAGED);
    let bytes = rt.memory().bytes()[buf as usize..buf as usize + 64].to_vec();
    (buf, buf + 32, bytes)
}

/// gc_ops `junk_stack_slot` (item 5).
#[test]
fn collector_never_writes_through_a_junk_stack_slot() {
    let mut rt = rt(64);
    let (buf, junk, bytes) = bait(&mut rt);
    let h = rt.shadow_stack();
    let top = ld(&rt, h);
    st(&rt, top, junk);
    st(&rt, h, top + 4);
    rt.collect();
    st(&rt, h, top);
    assert_eq!(&rt.memory().bytes()[buf as usize..buf as usize + 64], &bytes[..]);
    assert_eq!(rt.check(), 0);
}

/// gc_ops `junk_static_slot` (item 5).
#[test]
fn collector_never_writes_through_a_junk_static_slot() {
    let mut rt = rt(64);
    let (buf, junk, bytes) = bait(&mut rt);
    let slots = rt.static_slots();
    st(&rt, slots, junk);
    rt.collect();
    st(&rt, slots, 0);
    assert_eq!(&rt.memory().bytes()[buf as usize..buf as usize + 64], &bytes[..]);
    assert_eq!(rt.check(), 0);
}

/// gc_ops `bad_descriptor` (item 4).
#[test]
fn gc_push_rejects_a_garbage_descriptor() {
    let mut rt = rt(64);
    let victim = rt.alloc(32).unwrap();
    let h = rt.shadow_stack();
    let real = [ld(&rt, h), ld(&rt, h + 4), ld(&rt, h + 8)];
    st(&rt, h, victim - 16);
    st(&rt, h + 4, victim - 16);
    st(&rt, h + 8, victim + 16);
    rejected(&mut rt, |rt| rt.push(0));
    rejected(&mut rt, |rt| rt.pop(0));
    let end = rt.memory().size();
    st(&rt, h, end + 64);
    st(&rt, h + 4, end);
    st(&rt, h + 8, end + 4096);
    rejected(&mut rt, |rt| rt.push(0));
    rejected(&mut rt, |rt| rt.try_collect());
    rejected(&mut rt, |rt| rt.try_gc_step());
    st(&rt, h, real[0]);
    st(&rt, h + 4, real[1]);
    st(&rt, h + 8, real[2]);
    assert_eq!(rt.check(), 0);
}

/// gc_ops `bad_descriptor_gc`: the export aborts and nothing is written; the object held only
/// by the shadow stack survives.
#[test]
fn collect_with_a_garbage_descriptor_frees_nothing() {
    let mut rt = rt(64);
    let s = rt.new_object(16, rtti::ID_STRING).unwrap();
    rt.push(s).unwrap();
    let h = rt.shadow_stack();
    let real = [ld(&rt, h), ld(&rt, h + 4), ld(&rt, h + 8)];
    st(&rt, h, real[2]);
    st(&rt, h + 4, real[2]);
    assert_eq!(rt.try_collect(), Err(Error::BadShadowStack));
    assert_eq!(rt.phase(), Phase::Idle, "no half-started cycle");
    st(&rt, h, real[0]);
    st(&rt, h + 4, real[1]);
    rt.collect();
    assert!(rt.validate_managed(s).is_ok(), "an object held by the shadow stack was freed");
    assert_eq!(rt.check(), 0);
}

/// gc_ops `oom_collect` (item 2).
#[test]
fn new_collects_before_reporting_out_of_memory() {
    let mut rt = rt(64);
    let size = 5 << 19;
    rt.new_object(size, rtti::ID_ARRAYBUFFER).unwrap();
    let again = rt.new_object(size, rtti::ID_ARRAYBUFFER);
    assert!(again.is_ok(), "out of memory while memory is garbage: {again:?}");
    assert_eq!(rt.check(), 0);
}

/// gc_ops `shrink_scan` (item 1): the chunked scan must stop at the shrunk end, not read a
/// pointer-free buffer allocated in the freed tail as refs.
#[test]
fn shrinking_a_static_array_during_its_chunked_scan() {
    let mut rt = rt(64);
    rt.configure(100, 1024).unwrap();
    let id = asrt::host::static_array_id();
    let n = 2000;
    let arr = rt.new_object(4 * n, id).unwrap();
    rt.push(arr).unwrap();
    for i in 0..n {
        let c = rt.new_object(8, rtti::ID_STRING).unwrap();
        st(&rt, arr + 4 * i, c);
        rt.link(arr, c, false).unwrap();
    }
    rt.collect();
    while rt.gc_step() == Phase::Mark {
        let black = ld(&rt, arr - 12) & 3 == 3;
        let last_white = ld(&rt, ld(&rt, arr + 4 * (n - 1)) - 12) & 3 < 2;
        if black && last_white {
            break;
        }
    }
    assert_eq!(rt.phase(), Phase::Mark);
    for i in 8..n {
        st(&rt, arr + 4 * i, 0);
    }
    assert_eq!(rt.renew(arr, 32).unwrap(), arr);
    let victims: Vec<u32> = (0..8).map(|i| ld(&rt, arr + 4 * i)).collect();
    let bump = rt.heap().bump_free();
    if bump > 0 {
        rt.alloc(bump).unwrap();
    }
    let buf = rt.new_object(4 * 1024, rtti::ID_ARRAYBUFFER).unwrap();
    assert!(buf > arr && buf < arr + 4 * n, "the buffer reuses the freed tail");
    rt.push(buf).unwrap();
    for j in 0..256 {
        st(&rt, buf + 16 * j, buf + 16 * (j + 1) + 16);
        st(&rt, buf + 16 * j + 4, MANAGED | (j & 1));
    }
    let before = rt.memory().bytes()[buf as usize..(buf + 4096) as usize].to_vec();
    rt.collect();
    assert!(
        rt.memory().bytes()[buf as usize..(buf + 4096) as usize] == before[..],
        "the collector wrote into a pointer-free buffer in the freed tail"
    );
    for v in victims {
        assert!(rt.validate_managed(v).is_ok());
    }
    assert_eq!(rt.check(), 0);
}
