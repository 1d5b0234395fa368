//! Allocator benchmark module: asrt's unmanaged blocks (`__alloc` / `__realloc` / `__free`,
//! docs/ABI.md §5), reached through the runtime's own `#[no_mangle]` exports, which resolve at link
//! time inside this module. asrt's blocks are always 16-byte aligned and carry the common 16-byte
//! header; `__free` and `__realloc` take no old size, so the sizes the driver passes are dropped.
//! asrt brings its own panic handler and memory, so this crate defines neither.
#![no_std]

// Link the runtime (its exports, panic handler and memory come with it).
use asrt as _;

unsafe extern "C" {
    fn __alloc(size: usize) -> *mut u8;
    fn __realloc(ptr: *mut u8, size: usize) -> *mut u8;
    fn __free(ptr: *mut u8);
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn bench_alloc(size: usize) -> *mut u8 {
    unsafe { __alloc(size) }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn bench_free(ptr: *mut u8, _size: usize) {
    unsafe { __free(ptr) }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn bench_realloc(ptr: *mut u8, _old_size: usize, new_size: usize) -> *mut u8 {
    unsafe { __realloc(ptr, new_size) }
}

#[cfg(not(feature = "minimal"))]
include!("../../driver.rs");
