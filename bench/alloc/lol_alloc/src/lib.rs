//! Allocator benchmark module: lol_alloc (AssumeSingleThreaded<FreeListAllocator>).
#![no_std]

// SAFETY: wasm32-unknown-unknown without atomics is single-threaded.
#[global_allocator]
static ALLOCATOR: lol_alloc::AssumeSingleThreaded<lol_alloc::FreeListAllocator> =
    unsafe { lol_alloc::AssumeSingleThreaded::new(lol_alloc::FreeListAllocator::new()) };

include!("../../global_alloc.rs");

#[cfg(not(feature = "minimal"))]
include!("../../driver.rs");
