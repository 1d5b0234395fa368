#![cfg(not(target_arch = "wasm32"))]
//! Heap properties against a shadow model (tests/model): random `alloc/realloc/free` sequences
//! with sizes from 0 to 1 MiB; after every step no overlap, contents intact, `__heap_check` 0,
//! alignment, rtSize, consistent stats; after freeing everything one coalesced free block.
//! Plus unit tests of the error paths, out of memory, growth and in-place realloc.

mod model;

use model::*;
use proptest::prelude::*;

/// Live payload bytes the model keeps at most, and the memory cap (pages of 64 KiB).
const CAP: u64 = 6 << 20;
const MAX_PAGES: u32 = 1024;

fn op() -> impl Strategy<Value = HeapOp> {
    (any::<u8>(), any::<u32>(), any::<u32>()).prop_map(HeapOp::decode)
}

/// Operations whose size operand is below 2000: mostly small blocks.
fn small_op() -> impl Strategy<Value = HeapOp> {
    (any::<u8>(), any::<u32>(), 0u32..2000).prop_map(HeapOp::decode)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn heap_matches_shadow_model(ops in prop::collection::vec(op(), 1..300)) {
        run_heap_model(&ops, MAX_PAGES, CAP);
    }

    #[test]
    fn heap_small_blocks_model(ops in prop::collection::vec(small_op(), 1..600)) {
        // Many small blocks: long free lists and lots of coalescing.
        run_heap_model(&ops, MAX_PAGES, CAP);
    }
}

#[test]
fn heap_model_long_prng_runs() {
    for seed in 0..4 {
        let ops = model::Rng::new(seed).heap_ops(1500);
        run_heap_model(&ops, MAX_PAGES, CAP);
    }
}

#[test]
fn heap_errors_leave_the_heap_unchanged() {
    heap_errors_leave_heap_unchanged();
}

#[test]
fn heap_out_of_memory_then_recovers() {
    heap_oom_then_recovers();
}

#[test]
fn heap_largest_free_is_allocatable_without_growth() {
    heap_largest_free_fits();
}

#[test]
fn heap_growth_adds_a_fraction_then_falls_back() {
    model::heap_growth_adds_a_fraction_then_falls_back();
}

#[test]
fn heap_growth_stops_at_the_peak_goal() {
    model::heap_growth_stops_at_the_peak_goal();
}

#[test]
fn heap_realloc_grows_and_shrinks_in_place() {
    heap_realloc_in_place();
}
