//! The common 16-byte object header (ABI.md §2) and the encoding of its `gcInfo` word.
//!
//! ```text
//! ╒═════════════ Common block layout (32-bit words) ══════════════╕
//! │ mmInfo: block size - 4 (bits 2..31) │ LEFTFREE b1 │ FREE b0    │ block+0   ref-16
//! ├───────────────────────────────────────────────────────────────┤
//! │ gcInfo: gray-stack link (bits 4..31) │ MANAGED b3 │ PINNED b2 │ block+4   ref-12
//! │                                      │ color b0..1 / kind    │
//! ├───────────────────────────────────────────────────────────────┤
//! │ rtId: runtime type id (RTTI index)                            │ block+8   ref-8
//! ├───────────────────────────────────────────────────────────────┤
//! │ rtSize: payload size in bytes, as requested                   │ block+12  ref-4
//! ╞═══════════════════════════════════════════════════════════════╡
//! │ payload ...                                                   │ ref (16-aligned)
//! ```
//!
//! A block spans `[ref - 16, ref - 16 + 4 + (mmInfo & !3))`; its size is a multiple of 16 and at
//! least 16, so every block start and every ref is 16-aligned. A used block is always exactly
//! [`block_size`]`(rtSize)` bytes: the heap splits off every remainder, which lets validation of a
//! ref check the header's consistency in O(1).
//!
//! `gcInfo` of a managed object: color in bits 0..1, PINNED in bit 2, MANAGED in bit 3, and while
//! the object is gray, the address of the next gray object in bits 4..31 (refs are 16-aligned).
//! `gcInfo` of a non-managed used block has MANAGED clear and a [`Kind`] in bits 0..1.

use static_assertions::const_assert_eq;

/// Size of the header in bytes.
pub const HEADER_SIZE: u32 = 16;
/// Alignment of blocks and refs.
pub const ALIGN: u32 = 16;
/// Smallest block: just a header (also big enough for a free block's links and back pointer).
pub const MIN_BLOCK: u32 = 16;
/// The largest payload any export accepts (ABI.md §1).
pub const MAX_PAYLOAD: u32 = (1 << 30) - 16;

/// Header offsets from the block start.
pub const MM_INFO: u32 = 0;
/// gcInfo offset from the block start.
pub const GC_INFO: u32 = 4;
/// rtId offset from the block start.
pub const RT_ID: u32 = 8;
/// rtSize offset from the block start.
pub const RT_SIZE: u32 = 12;

/// mmInfo bit: this block is free.
pub const FREE: u32 = 1;
/// mmInfo bit: the block to the left is free (its start is in its last word).
pub const LEFTFREE: u32 = 2;
/// mmInfo tag bits.
pub const TAGS: u32 = FREE | LEFTFREE;

/// gcInfo: mask of the color bits of a managed object.
pub const COLOR_MASK: u32 = 3;
/// gcInfo: pinned at least once (the count lives in the pin table).
pub const PINNED: u32 = 4;
/// gcInfo: the block is a managed object (from `__new`).
pub const MANAGED: u32 = 8;
/// gcInfo: the gray-stack link bits.
pub const LINK_MASK: u32 = !15;

/// The gcInfo that static objects carry: managed and black, never changed by the collector.
pub const STATIC_GC_INFO: u32 = MANAGED | Color::Black as u32;

/// The rtId written into non-managed blocks (they have no type).
pub const NO_TYPE: u32 = u32::MAX;

const_assert_eq!(HEADER_SIZE, 4 * 4);
const_assert_eq!(MM_INFO + 4, GC_INFO);
const_assert_eq!(GC_INFO + 4, RT_ID);
const_assert_eq!(RT_ID + 4, RT_SIZE);
const_assert_eq!(RT_SIZE + 4, HEADER_SIZE);
const_assert_eq!(ALIGN, HEADER_SIZE);
const_assert_eq!(LINK_MASK & (ALIGN - 1), 0);
const_assert_eq!(MAX_PAYLOAD % ALIGN, 0);
// A free block needs mmInfo, two links and a back pointer.
const_assert_eq!(MIN_BLOCK, 4 * 4);

/// Tri-color marking state of a managed object.
///
/// Two whites alternate between cycles: at the end of marking the meaning of "current white"
/// flips, so every object still carrying the old white is garbage and the sweep frees it, while
/// objects allocated during the sweep get the new white and are not touched by it.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Color {
    /// White while `white == 0`.
    White0 = 0,
    /// White while `white == 1`.
    White1 = 1,
    /// On the gray stack: reachable, children not yet scanned.
    Gray = 2,
    /// Reachable and scanned.
    Black = 3,
}

/// What a non-managed used block is (gcInfo bits 0..1 when MANAGED is clear).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A block from `__alloc`: never traced, never collected.
    Unmanaged = 0,
    /// The runtime's own bookkeeping (the pin table).
    Internal = 1,
    /// The 16-byte block that ends a heap region; its rtSize holds the next region's start.
    Sentinel = 2,
}

/// The size of the block that holds `payload` bytes. Time: O(1).
#[inline(always)]
pub const fn block_size(payload: u32) -> u32 {
    (payload + HEADER_SIZE + (ALIGN - 1)) & !(ALIGN - 1)
}

/// The color bits of a gcInfo word as a [`Color`]. Time: O(1).
#[inline(always)]
pub const fn color_of(gc_info: u32) -> Color {
    match gc_info & COLOR_MASK {
        0 => Color::White0,
        1 => Color::White1,
        2 => Color::Gray,
        _ => Color::Black,
    }
}
