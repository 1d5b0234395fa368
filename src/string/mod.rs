//! UTF-16 strings (AssemblyScript's `String`, docs/ABI.md §2) and the algorithms behind the string
//! exports (docs/ABI.md §5).
//!
//! The pure algorithms work on slices and never allocate:
//! - [`utf8`]: UTF-8 ⇄ UTF-16 transcoding with the exact semantics of WHATWG `TextDecoder`
//!   (`ignoreBOM: true`, maximal-subpart replacement) and `TextEncoder` (lone surrogates become
//!   U+FFFD), each in two passes (exact length first, then write).
//! - [`ops`]: JavaScript ordering, equality, `String.prototype.slice` index arithmetic, and the
//!   string hash (XXH32 of the UTF-16LE bytes).

pub mod ops;
// The exports' side: only the `strings` feature exports them.
#[cfg(feature = "strings")]
mod rt;
pub mod utf8;

pub use ops::{compare_utf16, equals_utf16, hash_utf16, slice_range, xxh32};
pub use utf8::{
    REPLACEMENT, decode_utf8_into, encode_utf8_into, utf8_len_of_utf16, utf16_len_of_utf8,
};
