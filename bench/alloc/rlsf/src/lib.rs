//! Allocator benchmark module: rlsf (GlobalTlsf with default options: in-place realloc, pool coalescing).
#![no_std]

#[global_allocator]
static ALLOCATOR: rlsf::GlobalTlsf = rlsf::GlobalTlsf::new();

include!("../../global_alloc.rs");

#[cfg(not(feature = "minimal"))]
include!("../../driver.rs");
