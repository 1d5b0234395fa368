//! The block-size formula (docs/ABI.md §2): one definition, used by the runtime (`object.rs`) and
//! by `build.rs` (`build/layout.rs` includes this file with `#[path]` to size the static objects).

/// Size of the header in bytes.
pub const HEADER_SIZE: u32 = 16;
/// Alignment of blocks and refs.
pub const ALIGN: u32 = 16;

/// The size of the block that holds `payload` bytes. Time: O(1).
#[inline(always)]
pub const fn block_size(payload: u32) -> u32 {
    (payload + HEADER_SIZE + (ALIGN - 1)) & !(ALIGN - 1)
}
