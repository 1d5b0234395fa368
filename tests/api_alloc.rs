#![cfg(not(target_arch = "wasm32"))]
//! The Rust API's allocation: `Mutator::try_alloc` (fast path first) against
//! `Runtime::new_object` alone, side by side through cycles, fixed thresholds and configure,
//! with class sizes 0 (declined by `is_small`), 1, 8, 16, 17, 32 (the fast path) and 33, 64
//! (the full path). Results, stats, phase and every byte of memory must agree.

mod model;

use asrt::api::{Class, Mutator};
use asrt::host::HostConfig;
use asrt::rtti::ID_TREENODE;
use model::*;

macro_rules! class {
    ($name:ident, $size:expr) => {
        struct $name;
        // SAFETY: TreeNode's refs are at 0 and 4, inside every size >= 8 used here.
        unsafe impl Class for $name {
            const ID: u32 = ID_TREENODE;
            const SIZE: u32 = $size;
        }
    };
}
class!(S8, 8);
class!(S16, 16);
class!(S17, 17);
class!(S32, 32);
class!(S33, 33);
class!(S64, 64);

fn api(m: &mut Mutator<asrt::memory::HostMemory>, k: u32) -> Result<u32, asrt::Error> {
    Ok(match k {
        0 => m.try_alloc::<S8>()?.raw(),
        1 => m.try_alloc::<S16>()?.raw(),
        2 => m.try_alloc::<S17>()?.raw(),
        3 => m.try_alloc::<S32>()?.raw(),
        4 => m.try_alloc::<S33>()?.raw(),
        _ => m.try_alloc::<S64>()?.raw(),
    })
}
const SIZES: [u32; 6] = [8, 16, 17, 32, 33, 64];

#[test]
fn try_alloc_matches_new_object() {
    for seed in 1..=4u64 {
        let config =
            HostConfig { initial_pages: 1, max_pages: 3 + seed as u32 * 4, ..Default::default() };
        let mut m = Mutator::new(Rt::host(config));
        let mut full = Rt::host(config);
        let mut g = Rng::new(seed);
        let mut pinned = Vec::new();
        for i in 0..20_000 {
            match g.below(100) {
                0..=79 => {
                    let k = g.below(6);
                    let a = api(&mut m, k);
                    let b = full.new_object(SIZES[k as usize], ID_TREENODE);
                    assert_eq!(a, b, "seed {seed} op {i}");
                    if let Ok(p) = a {
                        // Dirty the non-ref bytes past the two ref fields.
                        for off in (8..SIZES[k as usize]).step_by(4) {
                            if off + 4 <= SIZES[k as usize] {
                                st(&m, p + off, 0xDEAD_BEEF);
                                st(&full, p + off, 0xDEAD_BEEF);
                            }
                        }
                        if g.below(8) == 0 {
                            assert_eq!(m.pin(p), full.pin(p));
                            pinned.push(p);
                        }
                    }
                }
                80..=85 if !pinned.is_empty() => {
                    let p = pinned.swap_remove(g.below(pinned.len() as u32) as usize);
                    assert_eq!(m.unpin(p), full.unpin(p));
                }
                86..=93 => assert_eq!(m.gc_step(), full.gc_step()),
                94..=96 => {
                    let t = [0, 16, 100, 4096][g.below(4) as usize];
                    assert_eq!(m.set_threshold(t), full.set_threshold(t));
                }
                _ => {
                    let (p, w) = (10 + g.below(300), [0, 1024, 5000][g.below(3) as usize]);
                    assert_eq!(m.configure(p, w), full.configure(p, w));
                }
            }
            assert_eq!(m.stats(), full.stats(), "seed {seed} op {i}");
            assert_eq!(m.phase(), full.phase());
            if i % 101 == 0 {
                assert!(m.memory().bytes() == full.memory().bytes(), "seed {seed} op {i}: memory");
                assert_eq!(m.check(), 0);
            }
        }
        assert!(m.memory().bytes() == full.memory().bytes());
        assert!(m.stats().collections > 0);
    }
}
