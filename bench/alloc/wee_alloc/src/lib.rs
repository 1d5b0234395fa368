//! Allocator benchmark module: wee_alloc (unmaintained, RUSTSEC-2022-0054).
#![no_std]

#[global_allocator]
static ALLOCATOR: wee_alloc::WeeAlloc = wee_alloc::WeeAlloc::INIT;

include!("../../global_alloc.rs");

#[cfg(not(feature = "minimal"))]
include!("../../driver.rs");
