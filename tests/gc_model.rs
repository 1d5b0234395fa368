#![cfg(not(target_arch = "wasm32"))]
//! A model-based random mutator against the incremental collector (tests/model): objects of
//! every kind, stores + `link` in both modes, clears, shadow stack, counted pins, static slots,
//! `renew`, `gc_step`, `collect`, pacing changes. After every operation each object the model
//! can reach is intact and `__heap_check` is 0; at the end the heap returns to its baseline.

mod model;

use model::*;
use proptest::prelude::*;

const MAX_PAGES: u32 = 1024;

fn op() -> impl Strategy<Value = RawOp> {
    (any::<u8>(), any::<u32>(), any::<u32>())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn gc_matches_model(ops in prop::collection::vec(op(), 1..400), seed in any::<u64>(), small in any::<bool>()) {
        run_gc_model(&ops, MAX_PAGES, seed, small);
    }
}

#[test]
fn gc_model_long_prng_runs() {
    let mut total = std::collections::BTreeMap::new();
    for seed in 0..6u64 {
        let ops = model::Rng::new(seed).ops(3000);
        let counts = run_gc_model(&ops, MAX_PAGES, seed, seed % 2 == 0);
        for (k, v) in counts {
            *total.entry(k).or_insert(0) += v;
        }
    }
    eprintln!("operation coverage: {total:?}");
    for k in [
        "renew moved",
        "buffer renewed moved",
        "link multiple",
        "link single",
        "collect",
        "unpin",
        "pop",
    ] {
        assert!(total.get(k).copied().unwrap_or(0) > 0, "never exercised: {k}");
    }
}

/// Debug aid: shrinks a failing PRNG sequence (run with `--ignored minimize`).
#[test]
#[ignore]
fn minimize() {
    let seed: u64 = std::env::var("SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0);
    let n: usize = std::env::var("NOPS").ok().and_then(|s| s.parse().ok()).unwrap_or(3000);
    let small = seed.is_multiple_of(2);
    let fails = |ops: &[RawOp]| {
        std::panic::catch_unwind(|| {
            run_gc_model(ops, MAX_PAGES, seed, small);
        })
        .is_err()
    };
    let mut ops = model::Rng::new(seed).ops(n);
    assert!(fails(&ops), "does not fail");
    std::panic::set_hook(Box::new(|_| {}));
    let mut chunk = ops.len() / 2;
    while chunk >= 1 {
        let mut i = 0;
        while i < ops.len() {
            let mut cand = ops.clone();
            cand.drain(i..(i + chunk).min(ops.len()));
            if fails(&cand) {
                ops = cand;
            } else {
                i += chunk;
            }
        }
        chunk /= 2;
    }
    let _ = std::panic::take_hook();
    eprintln!("minimal ({}): {:?}", ops.len(), ops);
    let _ = std::panic::catch_unwind(|| run_gc_model(&ops, MAX_PAGES, seed, small));
}

/// Debug aid: replays OPS_FILE (a Rust-debug list of triples).
#[test]
#[ignore]
fn replay() {
    let text = std::fs::read_to_string(std::env::var("OPS_FILE").unwrap()).unwrap();
    let nums: Vec<u64> = text
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().unwrap())
        .collect();
    let ops: Vec<RawOp> = nums.chunks(3).map(|c| (c[0] as u8, c[1] as u32, c[2] as u32)).collect();
    let seed: u64 = std::env::var("SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0);
    run_gc_model(&ops, MAX_PAGES, seed, seed.is_multiple_of(2));
}
