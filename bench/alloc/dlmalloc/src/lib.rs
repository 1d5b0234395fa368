//! Allocator benchmark module: dlmalloc (the allocator of Rust std on wasm32-unknown-unknown).
#![no_std]

#[global_allocator]
static ALLOCATOR: dlmalloc::GlobalDlmalloc = dlmalloc::GlobalDlmalloc;

include!("../../global_alloc.rs");

#[cfg(not(feature = "minimal"))]
include!("../../driver.rs");
