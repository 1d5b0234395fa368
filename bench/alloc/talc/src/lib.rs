//! Allocator benchmark module: talc (WasmDynamicTalc: WasmGrowAndExtend source, WasmBinning).
#![no_std]

#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

include!("../../global_alloc.rs");

#[cfg(not(feature = "minimal"))]
include!("../../driver.rs");
