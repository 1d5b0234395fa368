#![cfg(not(target_arch = "wasm32"))]
//! A quick end-to-end check of the host runtime: a rooted chain survives, the rest is collected.
use asrt::Runtime;
use asrt::host::HostConfig;
#[test]
fn smoke() {
    let mut rt = Runtime::host(HostConfig::default());
    let slots = rt.static_slots();
    let mut prev = 0;
    for i in 0..100_000u32 {
        let n = rt.new_object(8, 10).unwrap();
        if i % 100 == 0 {
            // SAFETY: the test's addresses are aligned words inside its memory.
            unsafe { asrt::memory::Memory::store(rt.memory(), n, prev) };
            rt.link(n, prev, false).unwrap();
            // SAFETY: the test's addresses are aligned words inside its memory.
            unsafe { asrt::memory::Memory::store(rt.memory(), slots, n) };
            rt.link(slots, n, false).unwrap();
            prev = n;
        }
        if i % 997 == 0 {
            assert_eq!(rt.check(), 0, "at {i}");
        }
    }
    rt.collect();
    rt.collect();
    assert_eq!(rt.check(), 0);
    assert_eq!(rt.stats().live_objects, 1000);
}
