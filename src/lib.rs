//! asrt: a managed-memory runtime for WebAssembly.
//!
//! A TLSF heap ([`heap`]) and an incremental tri-color mark-and-sweep collector ([`gc`]) over
//! one linear memory ([`memory`]), with AssemblyScript's 16-byte object header ([`object`]), type
//! ids and RTTI ([`rtti`]) and UTF-16 strings. `exports` is the wasm ABI (docs/ABI.md §5).
#![no_std]
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

// The host (tests, tools) always has std; on wasm32 only the `std` feature links it.
#[cfg(any(feature = "std", not(target_arch = "wasm32")))]
extern crate std;

pub mod api;
#[cfg(feature = "assemblyscript")]
pub mod asc;
pub mod error;
#[cfg(target_arch = "wasm32")]
mod exports;
pub mod gc;
pub mod heap;
#[cfg(any(feature = "std", not(target_arch = "wasm32")))]
pub mod host;
pub mod invariant;
pub mod memory;
pub mod object;
pub mod out_buffer;
#[cfg(feature = "rtrace")]
mod rtrace;
pub mod rtti;
pub mod runtime;
pub mod statics;
pub mod string;

pub use error::Error;
pub use invariant::{Invariant, Violation};
pub use runtime::{Roots, Runtime, Stats};

#[cfg(all(target_arch = "wasm32", not(feature = "std")))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    core::arch::wasm32::unreachable()
}
