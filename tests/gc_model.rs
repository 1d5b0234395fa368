#![cfg(not(target_arch = "wasm32"))]
//! A model-based random mutator against the incremental collector (tests/model): objects of
//! every kind, stores + `link` in both modes, clears, shadow stack, counted pins, static slots,
//! `renew`, `gc_step`, `collect`, pacing changes. After every operation each object the model
//! can reach is intact and `__heap_check` is 0; at the end the heap returns to its baseline.

mod model;

use model::*;
use proptest::prelude::*;

const MAX_PAGES: u32 = 1024;

fn op() -> impl Strategy<Value = GcOp> {
    (any::<u8>(), any::<u32>(), any::<u32>()).prop_map(GcOp::decode)
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
        let ops = model::Rng::new(seed).gc_ops(3000);
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
