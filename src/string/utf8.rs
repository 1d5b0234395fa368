//! UTF-8 ⇄ UTF-16 transcoding, with the exact semantics of the WHATWG Encoding Standard.
//!
//! Both directions run in two passes over the input so that the caller can allocate the output
//! with its exact size first: a *length* pass ([`utf16_len_of_utf8`], [`utf8_len_of_utf16`]) and a
//! *write* pass ([`decode_utf8_into`], [`encode_utf8_into`]). Neither allocates.
//!
//! Decoding follows `new TextDecoder('utf-8', { ignoreBOM: true })`: every ill-formed sequence is
//! replaced using Unicode's "substitution of maximal subparts" (one U+FFFD per maximal subpart),
//! and a leading byte order mark is decoded like any other U+FEFF. Encoding follows
//! `TextEncoder`: a lone surrogate becomes U+FFFD (`EF BF BD`).
//!
//! ASCII runs are processed 8 bytes (or 4 code units) at a time.
//!
//! No index here can panic: reads past the input see a byte that ends any sequence (0) or a word
//! that is not ASCII, writes past the output are dropped. So no bounds-check panic links
//! `core::fmt` into the module (about 2.5 KB), and the hot loops carry no panic branches.

/// U+FFFD REPLACEMENT CHARACTER as a UTF-16 code unit.
pub const REPLACEMENT: u16 = 0xFFFD;

/// Marker returned by [`decode_seq`] for an ill-formed (sub)sequence.
const INVALID: u32 = u32::MAX;

/// Mask of the high bits of 8 bytes packed into a u64.
const HI8: u64 = 0x8080_8080_8080_8080;

/// Reads 8 bytes at `i` as a little-endian u64; [`HI8`] (not ASCII) when fewer are left.
#[inline(always)]
fn load8(b: &[u8], i: usize) -> u64 {
    match b.get(i..).and_then(<[u8]>::first_chunk::<8>) {
        Some(w) => u64::from_le_bytes(*w),
        None => HI8,
    }
}

/// The byte at `i`, or 0 past the end: 0 is neither a continuation byte nor a lead byte, so a
/// sequence cut off by the end of the input is ill-formed exactly where it is cut.
#[inline(always)]
fn byte_at(b: &[u8], i: usize) -> u8 {
    b.get(i).copied().unwrap_or(0)
}

/// Writes `seq` at `out[*at..]` when it fits and moves `*at` past it either way (callers size
/// `out` exactly, so nothing is ever dropped; the check replaces a bounds check that would panic).
#[inline(always)]
fn emit<T: Copy>(out: &mut [T], at: &mut usize, seq: &[T]) {
    if let Some(dst) = out.get_mut(*at..*at + seq.len()) {
        dst.copy_from_slice(seq);
    }
    *at += seq.len();
}

#[inline(always)]
fn is_cont(b: u8) -> bool {
    (b as i8) < -64 // 0x80..=0xBF
}

/// Decodes the sequence that starts with the non-ASCII byte `b[i]`.
///
/// Returns `(scalar, consumed)`; `scalar == INVALID` when `b[i..i + consumed]` is a maximal
/// subpart of an ill-formed sequence (to be replaced by one U+FFFD). The byte that made the
/// sequence ill-formed is *not* consumed: it starts the next sequence. These are the rules of
/// the WHATWG UTF-8 decoder (Unicode Table 3-7, well-formed byte sequences):
///
/// | lead    | 2nd byte | 3rd byte | 4th byte |
/// | ------- | -------- | -------- | -------- |
/// | C2..DF  | 80..BF   |          |          |
/// | E0      | A0..BF   | 80..BF   |          |
/// | E1..EC  | 80..BF   | 80..BF   |          |
/// | ED      | 80..9F   | 80..BF   |          |
/// | EE..EF  | 80..BF   | 80..BF   |          |
/// | F0      | 90..BF   | 80..BF   | 80..BF   |
/// | F1..F3  | 80..BF   | 80..BF   | 80..BF   |
/// | F4      | 80..8F   | 80..BF   | 80..BF   |
///
/// Any other lead byte (80..C1, F5..FF) is a maximal subpart of length 1.
#[inline(always)]
fn decode_seq(b: &[u8], i: usize) -> (u32, usize) {
    let at = |k: usize| byte_at(b, i + k);
    let b0 = at(0);
    match b0 {
        0xC2..=0xDF => {
            if is_cont(at(1)) {
                (((b0 as u32 & 0x1F) << 6) | (at(1) as u32 & 0x3F), 2)
            } else {
                (INVALID, 1)
            }
        }
        0xE0..=0xEF => {
            let (lo, hi) = match b0 {
                0xE0 => (0xA0, 0xBF),
                0xED => (0x80, 0x9F),
                _ => (0x80, 0xBF),
            };
            if !(lo..=hi).contains(&at(1)) {
                return (INVALID, 1);
            }
            if !is_cont(at(2)) {
                return (INVALID, 2);
            }
            let cp =
                ((b0 as u32 & 0x0F) << 12) | ((at(1) as u32 & 0x3F) << 6) | (at(2) as u32 & 0x3F);
            (cp, 3)
        }
        0xF0..=0xF4 => {
            let (lo, hi) = match b0 {
                0xF0 => (0x90, 0xBF),
                0xF4 => (0x80, 0x8F),
                _ => (0x80, 0xBF),
            };
            if !(lo..=hi).contains(&at(1)) {
                return (INVALID, 1);
            }
            if !is_cont(at(2)) {
                return (INVALID, 2);
            }
            if !is_cont(at(3)) {
                return (INVALID, 3);
            }
            let cp = ((b0 as u32 & 0x07) << 18)
                | ((at(1) as u32 & 0x3F) << 12)
                | ((at(2) as u32 & 0x3F) << 6)
                | (at(3) as u32 & 0x3F);
            (cp, 4)
        }
        _ => (INVALID, 1),
    }
}

/// The number of UTF-16 code units that decoding `bytes` as UTF-8 produces.
///
/// Semantics: those of `new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes).length`
/// when `replace` is true: each maximal subpart of an ill-formed sequence (see the table on
/// [`decode_utf8_into`]) counts as one U+FFFD, a truncated sequence at the end counts as one
/// U+FFFD, and a leading BOM counts as the code unit U+FEFF it is.
///
/// When `replace` is false, ill-formed input is an error: `Err(offset)` gives the byte offset of
/// the first ill-formed sequence, i.e. the length of the longest valid prefix (the same number
/// as Rust's `Utf8Error::valid_up_to`).
///
/// The result is at most `bytes.len()`.
///
/// Time: O(n) in `bytes.len()`, 8 bytes per step over ASCII runs. No allocation.
pub fn utf16_len_of_utf8(bytes: &[u8], replace: bool) -> Result<usize, usize> {
    let n = bytes.len();
    let mut i = 0;
    let mut units = 0;
    while i < n {
        if byte_at(bytes, i) < 0x80 {
            // ASCII: skip whole 8-byte words while they are all ASCII.
            while load8(bytes, i) & HI8 == 0 {
                i += 8;
                units += 8;
            }
            while i < n && byte_at(bytes, i) < 0x80 {
                i += 1;
                units += 1;
            }
            continue;
        }
        let (cp, len) = decode_seq(bytes, i);
        if cp == INVALID {
            if !replace {
                return Err(i);
            }
            units += 1;
        } else {
            units += if cp >= 0x10000 { 2 } else { 1 };
        }
        i += len;
    }
    Ok(units)
}

/// Decodes `bytes` as UTF-8 into `out` as UTF-16, replacing ill-formed input; returns the number
/// of code units written.
///
/// Semantics: exactly `new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes)` (WHATWG
/// Encoding Standard, "UTF-8 decoder", replacement error mode): well-formed sequences follow
/// Unicode Table 3-7; every *maximal subpart* of an ill-formed sequence becomes one U+FFFD and the
/// byte that broke the sequence starts the next one. So `F0 80` gives two U+FFFD (80 cannot
/// follow F0), a truncated `E0 A0` at the end gives one, `ED A0 80` (a surrogate) gives three,
/// overlong leads C0/C1 and leads F5..FF give one each, and `F4 90 ..` (> U+10FFFF) gives one per
/// byte. A leading BOM (`EF BB BF`) is kept as U+FEFF. Scalars above U+FFFF become surrogate
/// pairs.
///
/// To size `out` exactly, call [`utf16_len_of_utf8`]`(bytes, true)` first; for input already
/// validated with `replace = false` the result is the same.
///
/// If `out` is shorter than that, what does not fit is not written (the count is the same).
///
/// Time: O(n) in `bytes.len()`, 8 bytes per step over ASCII runs. No allocation.
pub fn decode_utf8_into(bytes: &[u8], out: &mut [u16]) -> usize {
    let n = bytes.len();
    let mut i = 0;
    let mut o = 0;
    while i < n {
        if byte_at(bytes, i) < 0x80 {
            loop {
                let w = load8(bytes, i);
                if w & HI8 != 0 {
                    break;
                }
                emit(out, &mut o, &w.to_le_bytes().map(u16::from));
                i += 8;
            }
            while i < n && byte_at(bytes, i) < 0x80 {
                emit(out, &mut o, &[byte_at(bytes, i) as u16]);
                i += 1;
            }
            continue;
        }
        let (cp, len) = decode_seq(bytes, i);
        i += len;
        if cp == INVALID {
            emit(out, &mut o, &[REPLACEMENT]);
        } else if cp < 0x10000 {
            emit(out, &mut o, &[cp as u16]);
        } else {
            let c = cp - 0x10000;
            emit(out, &mut o, &[0xD800 | (c >> 10) as u16, 0xDC00 | (c & 0x3FF) as u16]);
        }
    }
    o
}

#[inline(always)]
fn is_high(u: u16) -> bool {
    u & 0xFC00 == 0xD800
}

#[inline(always)]
fn is_low(u: u16) -> bool {
    u & 0xFC00 == 0xDC00
}

/// The 4 code units at `i` when there are 4 and all are ASCII.
#[inline(always)]
fn ascii4(u: &[u16], i: usize) -> Option<[u16; 4]> {
    let w = *u.get(i..)?.first_chunk::<4>()?;
    ((w[0] | w[1] | w[2] | w[3]) < 0x80).then_some(w)
}

/// The code unit at `i`, or 0 past the end (0 is no surrogate).
#[inline(always)]
fn unit_at(u: &[u16], i: usize) -> u16 {
    u.get(i).copied().unwrap_or(0)
}

/// The number of bytes that encoding the UTF-16 code units `units` as UTF-8 produces.
///
/// Semantics: `new TextEncoder().encode(string).length` for the JavaScript string whose code
/// units are `units`: U+0000..U+007F take 1 byte, up to U+07FF 2 bytes, other BMP code units 3
/// bytes, a high surrogate immediately followed by a low surrogate 4 bytes for the pair, and a
/// lone (unpaired) surrogate 3 bytes (it is encoded as U+FFFD).
///
/// Time: O(n) in `units.len()`, 4 code units per step over ASCII runs. No allocation. The result
/// is at most `3 * units.len()`.
pub fn utf8_len_of_utf16(units: &[u16]) -> usize {
    let n = units.len();
    let mut i = 0;
    let mut bytes = 0;
    while i < n {
        let u = unit_at(units, i);
        if u < 0x80 {
            i += 1;
            bytes += 1;
            while ascii4(units, i).is_some() {
                i += 4;
                bytes += 4;
            }
        } else if u < 0x800 {
            i += 1;
            bytes += 2;
        } else if is_high(u) && is_low(unit_at(units, i + 1)) {
            i += 2;
            bytes += 4;
        } else {
            // Other BMP code units and lone surrogates (U+FFFD) both take 3 bytes.
            i += 1;
            bytes += 3;
        }
    }
    bytes
}

/// Encodes the UTF-16 code units `units` into `out` as UTF-8; returns the number of bytes
/// written.
///
/// Semantics: exactly `new TextEncoder().encode(string)` for the JavaScript string whose code
/// units are `units` (WHATWG "UTF-8 encoder" over the string's code points): a surrogate pair
/// becomes the 4-byte encoding of its supplementary scalar, and every lone surrogate (a high
/// surrogate not followed by a low one, or a low surrogate not preceded by a high one) becomes
/// U+FFFD, `EF BF BD`. No BOM is added.
///
/// Size `out` with [`utf8_len_of_utf16`].
///
/// If `out` is shorter than that, what does not fit is not written (the count is the same).
///
/// Time: O(n) in `units.len()`, 4 code units per step over ASCII runs. No allocation.
pub fn encode_utf8_into(units: &[u16], out: &mut [u8]) -> usize {
    let n = units.len();
    let mut i = 0;
    let mut o = 0;
    while i < n {
        let u = unit_at(units, i);
        if u < 0x80 {
            emit(out, &mut o, &[u as u8]);
            i += 1;
            while let Some(w) = ascii4(units, i) {
                emit(out, &mut o, &w.map(|u| u as u8));
                i += 4;
            }
        } else if u < 0x800 {
            emit(out, &mut o, &[0xC0 | (u >> 6) as u8, 0x80 | (u & 0x3F) as u8]);
            i += 1;
        } else if is_high(u) && is_low(unit_at(units, i + 1)) {
            let low = unit_at(units, i + 1) as u32;
            let cp = 0x10000 + (((u as u32) & 0x3FF) << 10) + (low & 0x3FF);
            emit(
                out,
                &mut o,
                &[
                    0xF0 | (cp >> 18) as u8,
                    0x80 | ((cp >> 12) & 0x3F) as u8,
                    0x80 | ((cp >> 6) & 0x3F) as u8,
                    0x80 | (cp & 0x3F) as u8,
                ],
            );
            i += 2;
        } else {
            // A lone surrogate is encoded as U+FFFD.
            let c = if is_high(u) || is_low(u) { REPLACEMENT } else { u };
            emit(
                out,
                &mut o,
                &[0xE0 | (c >> 12) as u8, 0x80 | ((c >> 6) & 0x3F) as u8, 0x80 | (c & 0x3F) as u8],
            );
            i += 1;
        }
    }
    o
}
