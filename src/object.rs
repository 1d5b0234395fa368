//! The common 16-byte object header (docs/ABI.md §2) and the encoding of its `gcInfo` word.
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

// The build sizes the static objects with the same formula, so it lives in a file both include.
#[path = "block.rs"]
mod block;
pub use block::{ALIGN, HEADER_SIZE, block_size};

/// Smallest block: just a header (also big enough for a free block's links and back pointer).
pub const MIN_BLOCK: u32 = 16;
/// The largest payload any export accepts (docs/ABI.md §1).
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
/// gcInfo: pinned at least once (pins beyond the first are counted in the pin table).
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

/// A block's mmInfo word: its size and the FREE and LEFTFREE tags, behind named methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(transparent)]
pub struct MmInfo(pub u32);

impl MmInfo {
    /// A used block of `size` bytes (a multiple of 16, at least 16), no tags.
    #[inline(always)]
    pub const fn used(size: u32) -> Self {
        MmInfo(size - 4)
    }

    /// A free block of `size` bytes. Free blocks never have LEFTFREE: neighbours merge.
    #[inline(always)]
    pub const fn free(size: u32) -> Self {
        MmInfo((size - 4) | FREE)
    }

    /// The whole block's size in bytes, header included.
    #[inline(always)]
    pub const fn size(self) -> u32 {
        (self.0 & !TAGS) + 4
    }

    /// The payload bytes the block size leaves room for (0 for a size below a header): what a
    /// scan may read of an object whatever its rtSize says.
    #[inline(always)]
    pub const fn payload_room(self) -> u32 {
        self.size().saturating_sub(HEADER_SIZE)
    }

    /// Whether the block is free.
    #[inline(always)]
    pub const fn is_free(self) -> bool {
        self.0 & FREE != 0
    }

    /// Whether the block to the left is free (its start is then in this block's previous word).
    #[inline(always)]
    pub const fn is_left_free(self) -> bool {
        self.0 & LEFTFREE != 0
    }

    /// The same block with LEFTFREE set or cleared.
    #[inline(always)]
    pub const fn with_left_free(self, on: bool) -> Self {
        if on { MmInfo(self.0 | LEFTFREE) } else { MmInfo(self.0 & !LEFTFREE) }
    }

    /// The same tags on a block of `size` bytes.
    #[inline(always)]
    pub const fn with_size(self, size: u32) -> Self {
        MmInfo((size - 4) | (self.0 & TAGS))
    }

    /// The same word with FREE set (a header swallowed by a merge reads as free).
    #[inline(always)]
    pub const fn with_free(self) -> Self {
        MmInfo(self.0 | FREE)
    }
}

/// A used block's gcInfo word, behind named methods: for a managed object its color, PINNED,
/// MANAGED and (while gray) the gray-stack link; for any other block its [`Kind`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(transparent)]
pub struct GcInfo(pub u32);

impl GcInfo {
    /// A managed object of color `color` (0, 1: the whites; 3: black), unpinned, unlinked.
    #[inline(always)]
    pub const fn managed(color: u32) -> Self {
        GcInfo(MANAGED | color)
    }

    /// A non-managed block of kind `kind`.
    #[inline(always)]
    pub const fn of_kind(kind: Kind) -> Self {
        GcInfo(kind as u32)
    }

    /// Whether the block is a managed object (from `__new`).
    #[inline(always)]
    pub const fn is_managed(self) -> bool {
        self.0 & MANAGED != 0
    }

    /// Whether the object is pinned at least once.
    #[inline(always)]
    pub const fn is_pinned(self) -> bool {
        self.0 & PINNED != 0
    }

    /// The color bits (a [`Color`] as u32).
    #[inline(always)]
    pub const fn color(self) -> u32 {
        self.0 & COLOR_MASK
    }

    /// Whether this is a managed object of the white `white` (0 or 1).
    #[inline(always)]
    pub const fn is_white(self, white: u32) -> bool {
        self.is_managed() && self.color() == white
    }

    /// Whether the color is gray (on the gray stack).
    #[inline(always)]
    pub const fn is_gray(self) -> bool {
        self.color() == Color::Gray as u32
    }

    /// Whether the color is black (scanned).
    #[inline(always)]
    pub const fn is_black(self) -> bool {
        self.color() == Color::Black as u32
    }

    /// The next gray block, while gray.
    #[inline(always)]
    pub const fn gray_link(self) -> u32 {
        self.0 & LINK_MASK
    }

    /// The same object (pin and managed bits kept, no link) in color `color`.
    #[inline(always)]
    pub const fn recolored(self, color: u32) -> Self {
        GcInfo((self.0 & (PINNED | MANAGED)) | color)
    }

    /// The same object, gray, linked to the next gray block `next`.
    #[inline(always)]
    pub const fn grayed(self, next: u32) -> Self {
        GcInfo(next | (self.0 & (PINNED | MANAGED)) | Color::Gray as u32)
    }

    /// The same word with PINNED set or cleared.
    #[inline(always)]
    pub const fn with_pinned(self, on: bool) -> Self {
        if on { GcInfo(self.0 | PINNED) } else { GcInfo(self.0 & !PINNED) }
    }

    /// The kind of a non-managed block, if the word names one.
    #[inline(always)]
    pub const fn kind(self) -> Option<Kind> {
        match self.0 {
            0 => Some(Kind::Unmanaged),
            1 => Some(Kind::Internal),
            2 => Some(Kind::Sentinel),
            _ => None,
        }
    }
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
