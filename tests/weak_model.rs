#![cfg(not(target_arch = "wasm32"))]
//! The GC model (tests/model) with weak references and finalizer registrations mixed into the
//! mutator (`GcOp::decode_weak`): after every operation, weak references and tokens are checked
//! against the model's reachability (tests/model/weak.rs) and `__heap_check` covers the weak
//! table; the collector checks the heap after every step (`check-steps`).

mod model;

use model::*;
use proptest::prelude::*;

const MAX_PAGES: u32 = 1024;

fn op() -> impl Strategy<Value = GcOp> {
    (any::<u8>(), any::<u32>(), any::<u32>()).prop_map(GcOp::decode_weak)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn weak_refs_and_finalizers_match_the_model(ops in prop::collection::vec(op(), 1..400), seed in any::<u64>(), small in any::<bool>()) {
        run_gc_model(&ops, MAX_PAGES, seed, small);
    }
}

#[test]
fn weak_model_long_prng_runs() {
    let mut total = std::collections::BTreeMap::new();
    for seed in 0..4u64 {
        let ops = model::Rng::new(seed).weak_ops(3000);
        let counts = run_gc_model(&ops, MAX_PAGES, seed, seed % 2 == 0);
        for (k, v) in counts {
            *total.entry(k).or_insert(0) += v;
        }
    }
    eprintln!("operation coverage: {total:?}");
    for k in [
        "weakref new",
        "weakref free",
        "weakref get (reachable)",
        "weakref get (cleared)",
        "finalizer register",
        "finalizer unregister",
        "finalizer token",
        "weak hostile",
        "collect",
        "renew moved",
    ] {
        assert!(total.get(k).copied().unwrap_or(0) > 0, "never exercised: {k}");
    }
}
