//! PLACEHOLDER until the layout generator lands: a bare shadow stack, no static roots.
#![allow(missing_docs)]
#[cfg(target_arch = "wasm32")]
mod imp {
    use core::cell::UnsafeCell;
    pub struct Stack(UnsafeCell<[u32; 1027]>);
    unsafe impl Sync for Stack {}
    static STACK: Stack = Stack(UnsafeCell::new([0; 1027]));
    pub fn shadow_stack() -> u32 {
        let h = STACK.0.get() as usize as u32;
        unsafe {
            let p = STACK.0.get() as *mut u32;
            if *p == 0 {
                *p = h + 12;
                *p.add(1) = h + 12;
                *p.add(2) = h + 12 + 4096;
            }
        }
        h
    }
    pub fn static_roots() -> &'static [u32] {
        &[]
    }
    pub fn error_message(_e: crate::Error) -> u32 {
        0
    }
    pub fn abort_file() -> u32 {
        0
    }
    pub fn rtti_base() -> u32 {
        0
    }
}
#[cfg(target_arch = "wasm32")]
pub use imp::*;
