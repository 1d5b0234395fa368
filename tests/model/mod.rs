//! Shared model code for the heap and GC property tests, used on the host (driven by proptest)
//! and on wasm32 (driven by [`Rng`], so no proptest is needed there). Also compiled by
//! examples/gc_model_tools.rs and the `gc_ops` fuzz target (fuzz/fuzz_targets/gc_ops.rs).
//!
//! - [`prng`]: [`Rng`] (splitmix64) and the deterministic content bytes;
//! - [`memory`]: loads and stores, soundness checks, block extents, the heap's figures;
//! - [`ids`]: the type ids the models use, looked up in the layout by flags;
//! - [`heap`]: [`HeapModel`], a shadow model of unmanaged blocks (`alloc/realloc/free`), and its
//!   operations, [`HeapOp`];
//! - [`gc`]: [`GcModel`], a model of a mutator's object graph and its roots;
//! - [`gc_ops`]: the GC model's operations, [`GcOp`];
//! - [`scenarios`]: the heap's unit scenarios and the wasm test bodies (macros).
//!
//! Everything is re-exported here, so a test says `mod model; use model::*;`.
//!
//! Operations are drawn as raw triples ([`RawOp`]): proptest generates and shrinks them, the wasm
//! tests draw them from [`Rng`]. Each is decoded once into a [`HeapOp`] or a [`GcOp`], which
//! prints as a readable operation when a case fails; the model applies it to its current state
//! (an index picks among what there is then).
#![allow(dead_code)]

mod gc;
mod gc_ops;
mod heap;
mod ids;
mod memory;
mod prng;
#[macro_use]
mod scenarios;

// Each test uses only part of the model: unused re-exports are expected.
#[allow(unused_imports)]
pub use gc::*;
#[allow(unused_imports)]
pub use gc_ops::*;
#[allow(unused_imports)]
pub use heap::*;
#[allow(unused_imports)]
pub use ids::*;
#[allow(unused_imports)]
pub use memory::*;
#[allow(unused_imports)]
pub use prng::*;
#[allow(unused_imports)]
pub use scenarios::*;

use asrt::Runtime;
use asrt::memory::HostMemory;

/// The runtime the models drive.
pub type Rt = Runtime<HostMemory>;

/// One operation: a selector and two operands that the model interprets.
pub type RawOp = (u8, u32, u32);
