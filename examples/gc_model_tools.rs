//! Debugging tools for the GC model test (tests/gc_model.rs), kept out of the test suite.
//!
//! `cargo run --example gc_model_tools -- minimize` shrinks a failing PRNG sequence
//! (`SEED`, `NOPS`) and prints it as raw triples (for `replay`) and as decoded `GcOp`s;
//! `cargo run --example gc_model_tools -- replay` replays `OPS_FILE` (raw triples).

#[path = "../tests/model/mod.rs"]
mod model;

use model::*;

const MAX_PAGES: u32 = 1024;

fn main() {
    match std::env::args().nth(1).as_deref() {
        Some("minimize") => minimize(),
        Some("replay") => replay(),
        _ => eprintln!("usage: gc_model_tools minimize|replay"),
    }
}

/// Debug aid: shrinks a failing PRNG sequence (run with `--ignored minimize`).
fn minimize() {
    let seed: u64 = std::env::var("SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0);
    let n: usize = std::env::var("NOPS").ok().and_then(|s| s.parse().ok()).unwrap_or(3000);
    let small = seed.is_multiple_of(2);
    let fails = |ops: &[RawOp]| {
        std::panic::catch_unwind(|| {
            run_gc_model(&decode(ops), MAX_PAGES, seed, small);
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
    eprintln!("decoded: {:#?}", decode(&ops));
    let _ = std::panic::catch_unwind(|| run_gc_model(&decode(&ops), MAX_PAGES, seed, small));
}

/// Debug aid: replays OPS_FILE (a Rust-debug list of triples).
fn replay() {
    let text = std::fs::read_to_string(std::env::var("OPS_FILE").unwrap()).unwrap();
    let nums: Vec<u64> = text
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().unwrap())
        .collect();
    let ops: Vec<RawOp> = nums.chunks(3).map(|c| (c[0] as u8, c[1] as u32, c[2] as u32)).collect();
    let seed: u64 = std::env::var("SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0);
    run_gc_model(&decode(&ops), MAX_PAGES, seed, seed.is_multiple_of(2));
}

/// The model's operations for raw triples.
fn decode(ops: &[RawOp]) -> Vec<GcOp> {
    ops.iter().copied().map(GcOp::decode).collect()
}
