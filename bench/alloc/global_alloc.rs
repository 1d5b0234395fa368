// Shared glue for the bench crates whose allocator is a `core::alloc::GlobalAlloc`, included with
// `include!` after the crate has defined `static ALLOCATOR`. Every request asks for 16-byte
// alignment (asrt's block alignment), the same for every allocator.

use core::alloc::{GlobalAlloc, Layout};

const BENCH_ALIGN: usize = 16;

#[unsafe(no_mangle)]
pub unsafe extern "C" fn bench_alloc(size: usize) -> *mut u8 {
    unsafe { ALLOCATOR.alloc(Layout::from_size_align_unchecked(size, BENCH_ALIGN)) }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn bench_free(ptr: *mut u8, size: usize) {
    unsafe { ALLOCATOR.dealloc(ptr, Layout::from_size_align_unchecked(size, BENCH_ALIGN)) }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn bench_realloc(ptr: *mut u8, old_size: usize, new_size: usize) -> *mut u8 {
    unsafe {
        ALLOCATOR.realloc(ptr, Layout::from_size_align_unchecked(old_size, BENCH_ALIGN), new_size)
    }
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}
