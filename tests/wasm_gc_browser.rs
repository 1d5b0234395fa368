#![cfg(target_arch = "wasm32")]
//! The same gc model tests as tests/wasm_gc.rs, in a browser (Chromium via chromedriver).

#[macro_use]
mod model;

use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

wasm_gc_tests!();
