#![cfg(target_arch = "wasm32")]
//! The gc model tests of tests/model on wasm32 (node; tests/wasm_gc_browser.rs runs the
//! same bodies in Chromium), with the runtime over HostMemory in the test's own allocator.

#[macro_use]
mod model;

use wasm_bindgen_test::*;

wasm_gc_tests!();
