//! Comparison, equality, `slice` index arithmetic and hashing of UTF-16 strings, as slices of
//! code units. Nothing here allocates.

use core::cmp::Ordering;

/// Orders two strings as JavaScript's `<` does: lexicographically by UTF-16 code unit (not by
/// code point, so U+FFFF sorts after the surrogate pairs of U+10000..), a proper prefix before
/// the longer string. Returns -1, 0 or 1.
///
/// Time: O(min(a.len(), b.len())), comparing 4 code units per step while they are equal.
pub fn compare_utf16(a: &[u16], b: &[u16]) -> i32 {
    let n = a.len().min(b.len());
    let mut i = 0;
    // Skip equal 4-unit chunks quickly.
    while i + 4 <= n && a[i..i + 4] == b[i..i + 4] {
        i += 4;
    }
    while i < n {
        if a[i] != b[i] {
            return if a[i] < b[i] { -1 } else { 1 };
        }
        i += 1;
    }
    match a.len().cmp(&b.len()) {
        Ordering::Less => -1,
        Ordering::Equal => 0,
        Ordering::Greater => 1,
    }
}

/// Whether two strings have the same code units (JavaScript's `===` on strings).
///
/// Time: O(n); O(1) when the lengths differ.
#[inline]
pub fn equals_utf16(a: &[u16], b: &[u16]) -> bool {
    a == b
}

/// The code-unit range `[from, to)` that `String.prototype.slice(start, end)` selects from a
/// string of `len` code units, with `start` and `end` as i32 (ECMA-262 §22.1.3.22): a negative
/// index counts from the end (`len + index`, clamped at 0), a non-negative one is clamped at
/// `len`, and when the resolved end is not after the resolved start the result is empty
/// (`from == to`). Always `from <= to <= len`.
///
/// Time: O(1).
pub fn slice_range(len: usize, start: i32, end: i32) -> (usize, usize) {
    let resolve = |i: i32| -> usize {
        if i < 0 { len.saturating_sub(i.unsigned_abs() as usize) } else { (i as usize).min(len) }
    };
    let from = resolve(start);
    let to = resolve(end);
    if to <= from { (from, from) } else { (from, to) }
}

const P1: u32 = 0x9E37_79B1;
const P2: u32 = 0x85EB_CA77;
const P3: u32 = 0xC2B2_AE3D;
const P4: u32 = 0x27D4_EB2F;
const P5: u32 = 0x1656_67B1;

#[inline(always)]
fn round(acc: u32, input: u32) -> u32 {
    acc.wrapping_add(input.wrapping_mul(P2)).rotate_left(13).wrapping_mul(P1)
}

#[inline(always)]
fn avalanche(mut h: u32) -> u32 {
    h ^= h >> 15;
    h = h.wrapping_mul(P2);
    h ^= h >> 13;
    h = h.wrapping_mul(P3);
    h ^ (h >> 16)
}

/// XXH32 (xxHash, 32-bit variant, as specified by its reference implementation) of `bytes` with
/// `seed`. Exposed so that [`hash_utf16`] can be checked against the published test vectors.
///
/// Time: O(n), 16 bytes per step.
pub fn xxh32(bytes: &[u8], seed: u32) -> u32 {
    let rd = |i: usize| u32::from_le_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
    let n = bytes.len();
    let mut i = 0;
    let mut h = if n >= 16 {
        let mut v = [
            seed.wrapping_add(P1).wrapping_add(P2),
            seed.wrapping_add(P2),
            seed,
            seed.wrapping_sub(P1),
        ];
        while i + 16 <= n {
            for (k, lane) in v.iter_mut().enumerate() {
                *lane = round(*lane, rd(i + 4 * k));
            }
            i += 16;
        }
        v[0].rotate_left(1)
            .wrapping_add(v[1].rotate_left(7))
            .wrapping_add(v[2].rotate_left(12))
            .wrapping_add(v[3].rotate_left(18))
    } else {
        seed.wrapping_add(P5)
    };
    h = h.wrapping_add(n as u32);
    while i + 4 <= n {
        h = h.wrapping_add(rd(i).wrapping_mul(P3)).rotate_left(17).wrapping_mul(P4);
        i += 4;
    }
    while i < n {
        h = h.wrapping_add((bytes[i] as u32).wrapping_mul(P5)).rotate_left(11).wrapping_mul(P1);
        i += 1;
    }
    avalanche(h)
}

/// The hash of a string: [`xxh32`] with seed 0 over the string's UTF-16LE bytes (2 bytes per
/// code unit, low byte first), computed directly from the code units.
///
/// It depends only on the code units, so equal contents always give equal hashes (whatever the
/// objects, static or heap). XXH32 passes SMHasher's distribution and avalanche tests; it is not
/// a keyed hash and offers no protection against chosen-collision (HashDoS) inputs.
///
/// Time: O(n), 8 code units per step.
pub fn hash_utf16(units: &[u16]) -> u32 {
    let w = |p: &[u16; 2]| p[0] as u32 | (p[1] as u32) << 16;
    let n = units.len();
    let (stripes, rest) = units.as_chunks::<8>();
    let mut h = if n >= 8 {
        let mut v = [P1.wrapping_add(P2), P2, 0, 0u32.wrapping_sub(P1)];
        for stripe in stripes {
            for (lane, p) in v.iter_mut().zip(stripe.as_chunks::<2>().0) {
                *lane = round(*lane, w(p));
            }
        }
        v[0].rotate_left(1)
            .wrapping_add(v[1].rotate_left(7))
            .wrapping_add(v[2].rotate_left(12))
            .wrapping_add(v[3].rotate_left(18))
    } else {
        P5
    };
    // The byte length; XXH32 adds it modulo 2^32.
    h = h.wrapping_add((n as u32).wrapping_mul(2));
    let (pairs, last) = rest.as_chunks::<2>();
    for p in pairs {
        h = h.wrapping_add(w(p).wrapping_mul(P3)).rotate_left(17).wrapping_mul(P4);
    }
    if let Some(&u) = last.first() {
        for byte in [u & 0xFF, u >> 8] {
            h = h.wrapping_add((byte as u32).wrapping_mul(P5)).rotate_left(11).wrapping_mul(P1);
        }
    }
    avalanche(h)
}

#[cfg(test)]
mod tests {
    use super::*;
    extern crate std;
    use std::vec::Vec;

    #[test]
    fn xxh32_reference_vectors() {
        assert_eq!(xxh32(b"", 0), 0x02CC_5D05);
        assert_eq!(xxh32(b"a", 0), 0x550D_7456);
        assert_eq!(xxh32(b"abc", 0), 0x32D1_53FF);
    }

    #[test]
    fn hash_is_xxh32_of_le_bytes() {
        let mut units = Vec::new();
        for n in 0..70u16 {
            let bytes: Vec<u8> = units.iter().flat_map(|u: &u16| u.to_le_bytes()).collect();
            assert_eq!(hash_utf16(&units), xxh32(&bytes, 0), "n={n}");
            units.push(n.wrapping_mul(40503) ^ 0xA5C3);
        }
    }
}
