#![cfg(not(target_arch = "wasm32"))]
//! Host tests of the string algorithms (src/string): hand-written cases for every class of
//! ill-formed UTF-8, and properties against std as the oracle.

use asrt::string::*;
use proptest::prelude::*;
use std::collections::HashSet;

const R: u16 = 0xFFFD;

fn decode(bytes: &[u8]) -> Vec<u16> {
    let n = utf16_len_of_utf8(bytes, true).expect("replace never fails");
    let mut out = vec![0xAAAAu16; n];
    assert_eq!(decode_utf8_into(bytes, &mut out), n, "length pass and write pass agree");
    out
}

fn lossy(bytes: &[u8]) -> Vec<u16> {
    String::from_utf8_lossy(bytes).encode_utf16().collect()
}

fn encode(units: &[u16]) -> Vec<u8> {
    let n = utf8_len_of_utf16(units);
    let mut out = vec![0xAAu8; n];
    assert_eq!(encode_utf8_into(units, &mut out), n);
    out
}

fn encode_oracle(units: &[u16]) -> Vec<u8> {
    char::decode_utf16(units.iter().copied())
        .map(|r| r.unwrap_or('\u{FFFD}'))
        .collect::<String>()
        .into_bytes()
}

fn u16s(s: &str) -> Vec<u16> {
    s.encode_utf16().collect()
}

/// Each case: input, expected UTF-16 (from the WHATWG/Unicode maximal-subpart rule, worked out by
/// hand), and the error offset for `replace = false` (`None` when valid).
fn cases() -> Vec<(&'static [u8], Vec<u16>, Option<usize>)> {
    vec![
        // Valid, every length class and the boundaries of Table 3-7.
        (b"", vec![], None),
        (b"A", vec![0x41], None),
        (b"\x00\x7F", vec![0, 0x7F], None),
        (b"\xC2\x80", vec![0x80], None),
        (b"\xDF\xBF", vec![0x7FF], None),
        (b"\xE0\xA0\x80", vec![0x800], None),
        (b"\xEC\xBF\xBF", vec![0xCFFF], None),
        (b"\xED\x80\x80", vec![0xD000], None),
        (b"\xED\x9F\xBF", vec![0xD7FF], None),
        (b"\xEE\x80\x80", vec![0xE000], None),
        (b"\xEF\xBF\xBF", vec![0xFFFF], None),
        (b"\xF0\x90\x80\x80", vec![0xD800, 0xDC00], None),
        (b"\xF3\xBF\xBF\xBF", vec![0xDBBF, 0xDFFF], None),
        (b"\xF4\x8F\xBF\xBF", vec![0xDBFF, 0xDFFF], None),
        // A leading BOM is kept (ignoreBOM: true).
        (b"\xEF\xBB\xBFx", vec![0xFEFF, 0x78], None),
        (b"\xEF\xBB\xBF\xEF\xBB\xBF", vec![0xFEFF, 0xFEFF], None),
        // Lone continuation bytes: one U+FFFD each.
        (b"\x80", vec![R], Some(0)),
        (b"\xBF\x80", vec![R, R], Some(0)),
        (b"a\x80b", vec![0x61, R, 0x62], Some(1)),
        // Overlong leads C0, C1: invalid lead, the continuation is separately invalid.
        (b"\xC0\x80", vec![R, R], Some(0)),
        (b"\xC1\xBF", vec![R, R], Some(0)),
        (b"\xC0", vec![R], Some(0)),
        // Overlong 3- and 4-byte forms: E0 80..9F and F0 80..8F are not valid second bytes.
        (b"\xE0\x80\x80", vec![R, R, R], Some(0)),
        (b"\xE0\x9F\xBF", vec![R, R, R], Some(0)),
        (b"\xF0\x80\x80\x80", vec![R, R, R, R], Some(0)),
        (b"\xF0\x8F\xBF\xBF", vec![R, R, R, R], Some(0)),
        (b"\xF0\x80", vec![R, R], Some(0)),
        // Surrogates encoded in UTF-8 (ED A0..BF): invalid second byte.
        (b"\xED\xA0\x80", vec![R, R, R], Some(0)),
        (b"\xED\xBF\xBF", vec![R, R, R], Some(0)),
        (b"\xED\xA0\x80\xED\xB0\x80", vec![R; 6], Some(0)),
        // Above U+10FFFF: F4 90.. and leads F5..FF.
        (b"\xF4\x90\x80\x80", vec![R, R, R, R], Some(0)),
        (b"\xF5\x80\x80\x80", vec![R, R, R, R], Some(0)),
        (b"\xF7\xBF\xBF\xBF", vec![R, R, R, R], Some(0)),
        (b"\xF8\x88\x80\x80\x80", vec![R; 5], Some(0)),
        (b"\xFC\x84\x80\x80\x80\x80", vec![R; 6], Some(0)),
        (b"\xFE\xFF", vec![R, R], Some(0)),
        // Truncated sequences at the end: one U+FFFD for the whole maximal subpart.
        (b"\xC2", vec![R], Some(0)),
        (b"\xE0", vec![R], Some(0)),
        (b"\xE0\xA0", vec![R], Some(0)),
        (b"\xE1\x80", vec![R], Some(0)),
        (b"\xED\x9F", vec![R], Some(0)),
        (b"\xF0\x90", vec![R], Some(0)),
        (b"\xF0\x90\x80", vec![R], Some(0)),
        (b"\xF4\x8F\xBF", vec![R], Some(0)),
        (b"ab\xF1\x80\x80", vec![0x61, 0x62, R], Some(2)),
        // Truncated in the middle: the breaking byte starts the next sequence.
        (b"\xC2A", vec![R, 0x41], Some(0)),
        (b"\xE0\xA0A", vec![R, 0x41], Some(0)),
        (b"\xF0\x90\x80A", vec![R, 0x41], Some(0)),
        (b"\xE1\x80\xE2\x82\xAC", vec![R, 0x20AC], Some(0)),
        (b"\xF1\x80\x80\xF0\x9F\x98\x80", vec![R, 0xD83D, 0xDE00], Some(0)),
        (b"\xC2\xC2\x80", vec![R, 0x80], Some(0)),
        // The Unicode standard's own example (§3.9, U+FFFD substitution of maximal subparts):
        // 61 F1 80 80 E1 80 C2 62 80 63 80 BF 64 → a R R R b R c R R d.
        (
            b"\x61\xF1\x80\x80\xE1\x80\xC2\x62\x80\x63\x80\xBF\x64",
            vec![0x61, R, R, R, 0x62, R, 0x63, R, R, 0x64],
            Some(1),
        ),
        // An error after an 8-byte ASCII run (exercises the word fast path).
        (b"abcdefgh\x80", vec![0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, R], Some(8)),
        (b"abcdefghijklmnop\xC3\xA9", u16s("abcdefghijklmnopé"), None),
    ]
}

#[test]
fn utf8_error_classes() {
    for (input, expected, err) in cases() {
        assert_eq!(decode(input), expected, "decode {input:02X?}");
        let strict = utf16_len_of_utf8(input, false);
        match err {
            None => assert_eq!(strict, Ok(expected.len()), "strict {input:02X?}"),
            Some(at) => assert_eq!(strict, Err(at), "strict {input:02X?}"),
        }
    }
}

/// The claim that `String::from_utf8_lossy` substitutes maximal subparts exactly like WHATWG,
/// checked on the hand-worked cases above, so it is a sound oracle for the properties below.
#[test]
fn from_utf8_lossy_is_a_maximal_subpart_oracle() {
    for (input, expected, err) in cases() {
        assert_eq!(lossy(input), expected, "lossy {input:02X?}");
        let std_err = std::str::from_utf8(input).err().map(|e| e.valid_up_to());
        assert_eq!(std_err, err, "valid_up_to {input:02X?}");
    }
}

#[test]
fn every_two_and_three_byte_prefix_matches_std() {
    // All 2-byte inputs, and all 3-byte inputs whose first byte is non-ASCII and the others
    // are drawn from a set of interesting bytes.
    for a in 0..=255u8 {
        for b in 0..=255u8 {
            let v = [a, b];
            assert_eq!(decode(&v), lossy(&v), "{v:02X?}");
        }
    }
    let interesting = [
        0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xE1,
        0xEC, 0xED, 0xEE, 0xEF, 0xF0, 0xF1, 0xF3, 0xF4, 0xF5, 0xF8, 0xFF,
    ];
    for a in 0x80..=255u8 {
        for &b in &interesting {
            for &c in &interesting {
                for &d in &[0x41u8, 0x80, 0xBF, 0xC2] {
                    let v = [a, b, c, d];
                    assert_eq!(decode(&v), lossy(&v), "{v:02X?}");
                    assert_eq!(
                        utf16_len_of_utf8(&v, false).err(),
                        std::str::from_utf8(&v).err().map(|e| e.valid_up_to())
                    );
                }
            }
        }
    }
}

#[test]
fn encode_cases() {
    assert_eq!(encode(&[]), b"");
    assert_eq!(encode(&u16s("héllo €")), "héllo €".as_bytes());
    assert_eq!(encode(&[0xD83D, 0xDE00]), "😀".as_bytes());
    // Lone surrogates: high at end, high followed by non-low, low alone, reversed pair.
    assert_eq!(encode(&[0xD800]), b"\xEF\xBF\xBD");
    assert_eq!(encode(&[0xD800, 0x41]), b"\xEF\xBF\xBDA");
    assert_eq!(encode(&[0xDC00]), b"\xEF\xBF\xBD");
    assert_eq!(encode(&[0xDC00, 0xD800]), b"\xEF\xBF\xBD\xEF\xBF\xBD");
    assert_eq!(encode(&[0xD800, 0xD800, 0xDC00]), "\u{FFFD}\u{10000}".as_bytes());
    assert_eq!(
        encode(&[0x7F, 0x80, 0x7FF, 0x800, 0xFFFF]),
        "\u{7F}\u{80}\u{7FF}\u{800}\u{FFFF}".as_bytes()
    );
    // ASCII runs of every length around the 4-unit fast path, followed by a non-ASCII unit.
    for n in 0..20 {
        let mut s: String = "abcdefghijklmnopqrstuvwxyz"[..n].into();
        s.push('ß');
        assert_eq!(encode(&u16s(&s)), s.as_bytes());
    }
}

#[test]
fn slice_examples() {
    // String.prototype.slice on "hello" (len 5).
    let l = 5;
    assert_eq!(slice_range(l, 0, 5), (0, 5));
    assert_eq!(slice_range(l, 1, 3), (1, 3));
    assert_eq!(slice_range(l, -3, -1), (2, 4));
    assert_eq!(slice_range(l, -100, 100), (0, 5));
    assert_eq!(slice_range(l, 3, 1).1 - slice_range(l, 3, 1).0, 0);
    assert_eq!(slice_range(l, 5, 5), (5, 5));
    assert_eq!(slice_range(l, 7, 9), (5, 5));
    assert_eq!(slice_range(l, i32::MIN, i32::MAX), (0, 5));
    assert_eq!(slice_range(l, i32::MAX, i32::MIN).1, slice_range(l, i32::MAX, i32::MIN).0);
    assert_eq!(slice_range(0, -1, 1), (0, 0));
}

#[test]
fn compare_examples() {
    let c = |a: &str, b: &str| compare_utf16(&u16s(a), &u16s(b));
    assert_eq!(c("", ""), 0);
    assert_eq!(c("", "a"), -1);
    assert_eq!(c("a", ""), 1);
    assert_eq!(c("abc", "abd"), -1);
    assert_eq!(c("abcdefgh1", "abcdefgh"), 1);
    // By code unit, not code point: U+FFFF > U+10000 (D800 DC00) in JavaScript.
    assert_eq!(c("\u{FFFF}", "\u{10000}"), 1);
    assert!(equals_utf16(&u16s("same"), &u16s("same")));
    assert!(!equals_utf16(&u16s("same"), &u16s("sane")));
}

#[test]
fn hash_equal_contents_equal_hash() {
    assert_eq!(hash_utf16(&u16s("hello, asrt")), hash_utf16(&u16s("hello, asrt")));
    // Reference value: XXH32 of the UTF-16LE bytes, seed 0.
    let bytes: Vec<u8> = u16s("abc").iter().flat_map(|u| u.to_le_bytes()).collect();
    assert_eq!(hash_utf16(&u16s("abc")), xxh32(&bytes, 0));
    assert_eq!(hash_utf16(&[]), 0x02CC_5D05);
}

/// 100 000 distinct short strings: at most a handful of 32-bit collisions (about 1.2 expected
/// for a random function), and the low and high 10 bits spread evenly over 1024 buckets.
#[test]
fn hash_distribution() {
    let mut strings: Vec<Vec<u16>> = Vec::new();
    // Sequential keys (the classic weak spot): "key0".."key49999".
    for i in 0..50_000 {
        strings.push(u16s(&format!("key{i}")));
    }
    // All strings of 1..=3 code units over a 37-letter alphabet (1 + 37 + 1369 + 50653 = 52059,
    // minus the empty one), truncated to 50 000.
    let alpha: Vec<u16> = u16s("abcdefghijklmnopqrstuvwxyz0123456789_");
    'outer: for len in 1..=3usize {
        let total = alpha.len().pow(len as u32);
        for mut k in 0..total {
            let mut s = Vec::with_capacity(len);
            for _ in 0..len {
                s.push(alpha[k % alpha.len()]);
                k /= alpha.len();
            }
            strings.push(s);
            if strings.len() == 100_000 {
                break 'outer;
            }
        }
    }
    let distinct: HashSet<&Vec<u16>> = strings.iter().collect();
    assert_eq!(distinct.len(), 100_000);
    let hashes: Vec<u32> = strings.iter().map(|s| hash_utf16(s)).collect();
    let unique: HashSet<u32> = hashes.iter().copied().collect();
    let collisions = hashes.len() - unique.len();
    assert!(collisions <= 5, "{collisions} collisions");

    for shift in [0u32, 22] {
        let mut buckets = [0u32; 1024];
        for h in &hashes {
            buckets[((h >> shift) & 1023) as usize] += 1;
        }
        let expected = hashes.len() as f64 / 1024.0;
        let chi2: f64 = buckets.iter().map(|&b| (b as f64 - expected).powi(2) / expected).sum();
        // 1023 degrees of freedom: mean 1023, sd ~45; 1250 is a 5-sigma bound.
        assert!(chi2 < 1250.0, "chi2 {chi2} for shift {shift}");
    }
}

/// Bytes biased towards the interesting parts of UTF-8: lead bytes of every class, boundary
/// continuation bytes, ASCII runs and valid characters.
fn utf8ish() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        3 => any::<u8>().prop_map(|b| vec![b]),
        2 => prop::sample::select(vec![
            0x80u8, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xE1, 0xEC, 0xED,
            0xEE, 0xEF, 0xF0, 0xF1, 0xF3, 0xF4, 0xF5, 0xFF,
        ])
        .prop_map(|b| vec![b]),
        2 => any::<char>().prop_map(|c| c.to_string().into_bytes()),
        1 => "[a-z]{0,20}".prop_map(String::into_bytes),
    ];
    prop::collection::vec(piece, 0..40).prop_map(|v| v.concat())
}

fn js_slice_model(len: usize, start: i32, end: i32) -> (usize, usize) {
    // ECMA-262 with mathematical integers.
    let len = len as i64;
    let rel = |x: i32| {
        let x = x as i64;
        if x < 0 { (len + x).max(0) } else { x.min(len) }
    };
    let (from, to) = (rel(start), rel(end));
    let span = (to - from).max(0);
    (from as usize, (from + span) as usize)
}

fn units_strategy() -> impl Strategy<Value = Vec<u16>> {
    let unit = prop_oneof![
        4 => 0x20u16..0x7F,
        1 => 0x80u16..0x800,
        1 => any::<u16>(),
        2 => 0xD800u16..0xE000,
        1 => prop::sample::select(vec![0u16, 0xFFFD, 0xFEFF, 0xFFFF, 0xD800, 0xDBFF, 0xDC00, 0xDFFF]),
    ];
    prop::collection::vec(unit, 0..48)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4096, ..ProptestConfig::default() })]

    #[test]
    fn valid_utf8_decodes_like_std(s in any::<String>()) {
        let expected: Vec<u16> = s.encode_utf16().collect();
        prop_assert_eq!(utf16_len_of_utf8(s.as_bytes(), false), Ok(expected.len()));
        prop_assert_eq!(decode(s.as_bytes()), expected);
    }

    #[test]
    fn any_bytes_decode_like_from_utf8_lossy(bytes in utf8ish()) {
        prop_assert_eq!(decode(&bytes), lossy(&bytes));
        let std_err = std::str::from_utf8(&bytes).err().map(|e| e.valid_up_to());
        prop_assert_eq!(utf16_len_of_utf8(&bytes, false).err(), std_err);
    }

    #[test]
    fn random_bytes_decode_like_from_utf8_lossy(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        prop_assert_eq!(decode(&bytes), lossy(&bytes));
    }

    /// An output shorter than the length pass says gets a prefix of the result (the words and
    /// sequences that fit whole: at most 7 code units or 3 bytes short), the rest untouched; the
    /// count stays the full length, and nothing panics (the transcoders have no panicking index).
    #[test]
    fn a_short_output_gets_a_prefix_of_the_result(bytes in utf8ish(), units in units_strategy(), cut in 0usize..64) {
        let full = lossy(&bytes);
        let mut out = vec![0xAAAAu16; full.len().saturating_sub(cut)];
        prop_assert_eq!(decode_utf8_into(&bytes, &mut out), full.len());
        let kept = out.iter().zip(&full).take_while(|(a, b)| a == b).count();
        prop_assert!(kept + 7 >= out.len() && out[kept..].iter().all(|&u| u == 0xAAAA));
        let full = encode_oracle(&units);
        let mut out = vec![0xAAu8; full.len().saturating_sub(cut)];
        prop_assert_eq!(encode_utf8_into(&units, &mut out), full.len());
        let kept = out.iter().zip(&full).take_while(|(a, b)| a == b).count();
        prop_assert!(kept + 3 >= out.len() && out[kept..].iter().all(|&b| b == 0xAA));
    }

    #[test]
    fn encode_like_std(units in units_strategy()) {
        prop_assert_eq!(encode(&units), encode_oracle(&units));
    }

    #[test]
    fn encode_then_decode_round_trips_valid_utf16(s in any::<String>()) {
        let units = u16s(&s);
        let bytes = encode(&units);
        prop_assert_eq!(&bytes[..], s.as_bytes());
        prop_assert_eq!(decode(&bytes), units);
    }

    #[test]
    fn compare_like_vec_ord(a in units_strategy(), b in units_strategy(), share in 0usize..48) {
        // Give the two strings a common prefix often, so the tail comparison is exercised.
        let mut b2 = a[..share.min(a.len())].to_vec();
        b2.extend_from_slice(&b);
        for (x, y) in [(&a, &b), (&a, &b2), (&b2, &a), (&a, &a)] {
            let expected = x.cmp(y) as i32;
            prop_assert_eq!(compare_utf16(x, y), expected);
            prop_assert_eq!(equals_utf16(x, y), x == y);
        }
    }

    #[test]
    fn slice_like_js(len in 0usize..40, start in -50i32..50, end in -50i32..50) {
        prop_assert_eq!(slice_range(len, start, end), js_slice_model(len, start, end));
    }

    #[test]
    fn slice_like_js_extremes(len in 0usize..(1 << 29), start in any::<i32>(), end in any::<i32>()) {
        prop_assert_eq!(slice_range(len, start, end), js_slice_model(len, start, end));
    }

    #[test]
    fn hash_depends_only_on_content(units in units_strategy()) {
        let copy = units.clone();
        prop_assert_eq!(hash_utf16(&units), hash_utf16(&copy));
        let bytes: Vec<u8> = units.iter().flat_map(|u| u.to_le_bytes()).collect();
        prop_assert_eq!(hash_utf16(&units), xxh32(&bytes, 0));
    }
}

// ---------------------------------------------------------------------------------------------
// The runtime wrappers (src/string/rt.rs) on a host Runtime.

mod runtime {
    use super::*;
    use asrt::Error;
    use asrt::memory::{HostMemory, Memory};
    use asrt::object::{HEADER_SIZE, STATIC_GC_INFO, block_size};
    use asrt::rtti::{ID_ARRAYBUFFER, ID_STRING};
    use asrt::runtime::{Roots, Runtime};

    const HEAP_BASE: u32 = 8192;
    /// Where `rt()` puts a static String "hello, asrt" (below the heap).
    const STATIC_HELLO: u32 = 1024 + HEADER_SIZE;
    /// Where the (one-entry) list of static objects lives.
    const STATIC_LIST: u32 = 1000;

    pub(super) fn rt_with(max_pages: u32) -> Runtime<HostMemory> {
        let mem = HostMemory::new(1, max_pages);
        // A static String, laid out as build.rs lays them out.
        let units = u16s("hello, asrt");
        let size = units.len() as u32 * 2;
        let block = STATIC_HELLO - HEADER_SIZE;
        // SAFETY: all in the first page of a fresh memory.
        unsafe {
            mem.store(block, block_size(size) - 4);
            mem.store(block + 4, STATIC_GC_INFO);
            mem.store(block + 8, ID_STRING);
            mem.store(block + 12, size);
            for (i, u) in units.iter().enumerate() {
                (mem.ptr(STATIC_HELLO + 2 * i as u32) as *mut u16).write(*u);
            }
            // The list of static objects validation knows: just this String.
            mem.store(STATIC_LIST, STATIC_HELLO);
        }
        let roots = Roots { objects: STATIC_LIST, object_count: 1, ..Roots::default() };
        // SAFETY: no shadow stack or static roots; the list and the String lie in the first
        // page, below `HEAP_BASE`.
        unsafe { Runtime::new(mem, HEAP_BASE, max_pages, roots) }.unwrap()
    }

    pub(super) fn rt() -> Runtime<HostMemory> {
        rt_with(256)
    }

    pub(super) fn read_units(rt: &Runtime<HostMemory>, r: u32) -> Vec<u16> {
        assert_eq!(rt.rt_id(r), ID_STRING);
        let n = rt.rt_size(r) as usize / 2;
        let b = rt.memory().bytes();
        (0..n)
            .map(|i| u16::from_le_bytes([b[r as usize + 2 * i], b[r as usize + 2 * i + 1]]))
            .collect()
    }

    fn read_buffer(rt: &Runtime<HostMemory>, r: u32) -> Vec<u8> {
        assert_eq!(rt.rt_id(r), ID_ARRAYBUFFER);
        let n = rt.rt_size(r) as usize;
        rt.memory().bytes()[r as usize..r as usize + n].to_vec()
    }

    /// A new heap String with the given code units.
    pub(super) fn new_string(rt: &mut Runtime<HostMemory>, units: &[u16]) -> u32 {
        let r = rt.new_object(units.len() as u32 * 2, ID_STRING).unwrap();
        write_bytes(rt, r, &units.iter().flat_map(|u| u.to_le_bytes()).collect::<Vec<_>>());
        r
    }

    fn write_bytes(rt: &Runtime<HostMemory>, at: u32, bytes: &[u8]) {
        assert!(at as usize + bytes.len() <= rt.memory().size() as usize);
        // SAFETY: in bounds (checked).
        unsafe { core::ptr::copy_nonoverlapping(bytes.as_ptr(), rt.memory().ptr(at), bytes.len()) }
    }

    /// Unmanaged scratch bytes, like a host's `__alloc` + copy.
    fn put_bytes(rt: &mut Runtime<HostMemory>, bytes: &[u8]) -> u32 {
        let p = rt.alloc(bytes.len() as u32).unwrap();
        write_bytes(rt, p, bytes);
        p
    }

    /// Runs `f`, which must fail with `err`, and checks the heap did not change.
    fn fails_cleanly<T: std::fmt::Debug>(
        rt: &mut Runtime<HostMemory>,
        err: Error,
        f: impl FnOnce(&mut Runtime<HostMemory>) -> Result<T, Error>,
    ) {
        let before = rt.stats();
        assert_eq!(f(rt).unwrap_err(), err);
        assert_eq!(rt.stats(), before, "an error must leave the heap unchanged");
        assert_eq!(rt.check(), 0);
    }

    #[test]
    fn from_utf16_copies_units_as_they_are() {
        let mut rt = rt();
        let units = [0x41, 0xD800, 0xDC00, 0xDFFF, 0x0, 0xFFFF];
        let bytes: Vec<u8> = units.iter().flat_map(|u: &u16| u.to_le_bytes()).collect();
        let p = put_bytes(&mut rt, &[&[0u8][..], &bytes].concat());
        // Unaligned source (p + 1) is fine.
        let s = rt.string_from_utf16(p + 1, units.len() as u32).unwrap();
        assert_eq!(read_units(&rt, s), units);
        let e = rt.string_from_utf16(p, 0).unwrap();
        assert_eq!(rt.rt_size(e), 0);
        // A range ending exactly at the end of memory is fine; one byte further is not.
        let end = rt.memory().size();
        rt.string_from_utf16(end - 4, 2).unwrap();
        fails_cleanly(&mut rt, Error::OutOfBounds, |rt| rt.string_from_utf16(end - 3, 2));
        fails_cleanly(&mut rt, Error::OutOfBounds, |rt| rt.string_from_utf16(u32::MAX, 1));
        fails_cleanly(&mut rt, Error::OutOfBounds, |rt| rt.string_from_utf16(0, u32::MAX));
        assert_eq!(rt.check(), 0);
    }

    #[test]
    fn from_utf8_replace_and_reject() {
        let mut rt = rt();
        for (input, expected, err) in cases() {
            let p = put_bytes(&mut rt, input);
            let s = rt.string_from_utf8(p, input.len() as u32, true).unwrap();
            assert_eq!(read_units(&rt, s), expected, "{input:02X?}");
            if err.is_some() {
                fails_cleanly(&mut rt, Error::InvalidUtf8, |rt| {
                    rt.string_from_utf8(p, input.len() as u32, false)
                });
            } else {
                let s = rt.string_from_utf8(p, input.len() as u32, false).unwrap();
                assert_eq!(read_units(&rt, s), expected);
            }
            rt.free(p).unwrap();
        }
        let end = rt.memory().size();
        fails_cleanly(&mut rt, Error::OutOfBounds, |rt| rt.string_from_utf8(end, 1, true));
        // The source may be a managed ArrayBuffer's payload.
        let ab = rt.new_object(5, ID_ARRAYBUFFER).unwrap();
        write_bytes(&rt, ab, "héllo".as_bytes()[..5].as_ref());
        let s = rt.string_from_utf8(ab, 5, true).unwrap();
        assert_eq!(read_units(&rt, s), u16s("héll"));
        assert_eq!(rt.check(), 0);
    }

    #[test]
    fn to_utf8_and_length() {
        let mut rt = rt();
        let units = [0x61, 0xD83D, 0xDE00, 0xD800, 0xE9];
        let s = new_string(&mut rt, &units);
        let expected = encode_oracle(&units);
        assert_eq!(rt.string_utf8_length(s), Ok(expected.len() as u32));
        let b = rt.string_to_utf8(s, false).unwrap();
        assert_eq!(read_buffer(&rt, b), expected);
        let z = rt.string_to_utf8(s, true).unwrap();
        assert_eq!(read_buffer(&rt, z), [&expected[..], &[0]].concat());
        // Static strings are readable.
        let h = rt.string_to_utf8(STATIC_HELLO, false).unwrap();
        assert_eq!(read_buffer(&rt, h), b"hello, asrt");
        assert_eq!(rt.string_utf8_length(STATIC_HELLO), Ok(11));
        let empty = new_string(&mut rt, &[]);
        let e = rt.string_to_utf8(empty, true).unwrap();
        assert_eq!(read_buffer(&rt, e), [0]);
        assert_eq!(rt.check(), 0);
    }

    #[test]
    fn bad_refs_are_rejected_before_anything_changes() {
        let mut rt = rt();
        let raw = rt.alloc(8).unwrap();
        let s = new_string(&mut rt, &u16s("abc"));
        let ab = rt.new_object(8, ID_ARRAYBUFFER).unwrap();
        for (bad, err) in
            [(0, Error::NullRef), (ab, Error::NotAString), (raw, Error::UnmanagedBlock)]
        {
            fails_cleanly(&mut rt, err, |rt| rt.string_concat(s, bad));
            fails_cleanly(&mut rt, err, |rt| rt.string_concat(bad, s));
            fails_cleanly(&mut rt, err, |rt| rt.string_slice(bad, 0, 1));
            fails_cleanly(&mut rt, err, |rt| rt.string_to_utf8(bad, true));
            fails_cleanly(&mut rt, err, |rt| rt.string_utf8_length(bad));
            fails_cleanly(&mut rt, err, |rt| rt.string_equals(s, bad));
            fails_cleanly(&mut rt, err, |rt| rt.string_compare(bad, s));
            fails_cleanly(&mut rt, err, |rt| rt.string_hash(bad));
        }
        // Pointers that are not objects at all: misaligned, outside the heap, inside a payload.
        for bad in [s + 4, s + 16, rt.memory().size() + 16, 17, STATIC_HELLO + 16] {
            let before = rt.stats();
            assert!(rt.string_concat(s, bad).is_err(), "{bad}");
            assert!(rt.string_slice(bad, 0, 1).is_err(), "{bad}");
            assert!(rt.string_hash(bad).is_err(), "{bad}");
            assert_eq!(rt.stats(), before);
        }
        assert_eq!(rt.check(), 0);
    }

    #[test]
    fn out_of_memory_is_an_error_not_a_corruption() {
        let mut rt = rt_with(2);
        let big = vec![0x41u16; 36_000];
        let s = new_string(&mut rt, &big); // 72 KB of 128 KiB
        rt.pin(s).unwrap();
        let used = rt.stats().used_bytes;
        assert_eq!(rt.string_concat(s, s).unwrap_err(), Error::OutOfMemory);
        assert_eq!(rt.string_to_utf8(s, false).map(|_| ()), Ok(()), "36 000 bytes still fit");
        assert!(rt.stats().used_bytes > used);
        assert_eq!(rt.check(), 0);
    }

    #[test]
    fn concat_equals_compare_hash_slice() {
        let mut rt = rt();
        let a = new_string(&mut rt, &u16s("hello, "));
        let b = new_string(&mut rt, &u16s("asrt"));
        let e = new_string(&mut rt, &[]);
        for r in [a, b, e] {
            rt.pin(r).unwrap();
        }
        let ab = rt.string_concat(a, b).unwrap();
        assert_eq!(read_units(&rt, ab), u16s("hello, asrt"));
        assert_eq!(rt.string_concat(a, e), Ok(a));
        assert_eq!(rt.string_concat(e, b), Ok(b));
        assert_eq!(rt.string_concat(e, e), Ok(e));
        // A heap string and the static one with the same content.
        assert_eq!(rt.string_equals(ab, STATIC_HELLO), Ok(true));
        assert_eq!(rt.string_compare(ab, STATIC_HELLO), Ok(0));
        assert_eq!(rt.string_hash(ab), rt.string_hash(STATIC_HELLO));
        assert_eq!(rt.string_hash(ab), Ok(hash_utf16(&u16s("hello, asrt"))));
        assert_eq!(rt.string_equals(a, b), Ok(false));
        assert_eq!(rt.string_compare(a, b), Ok(1));
        assert_eq!(rt.string_compare(e, a), Ok(-1));
        let sl = rt.string_slice(STATIC_HELLO, -4, 100).unwrap();
        assert_eq!(read_units(&rt, sl), u16s("asrt"));
        assert_eq!(rt.string_slice(b, 0, 4), Ok(b));
        assert_eq!(rt.string_slice(b, -100, i32::MAX), Ok(b));
        let empty = rt.string_slice(b, 3, 1).unwrap();
        assert_eq!(rt.rt_size(empty), 0);
        let concat_static = rt.string_concat(STATIC_HELLO, STATIC_HELLO).unwrap();
        assert_eq!(read_units(&rt, concat_static), u16s("hello, asrthello, asrt"));
        assert_eq!(rt.check(), 0);
    }

    /// With the most aggressive pacing, the GC steps inside nearly every allocation. Each result
    /// is fed into the next call while nothing but that call's `keep` protects it: if an input
    /// could be swept by the step its own allocation pays for, contents would be corrupted.
    #[test]
    fn inputs_survive_the_gc_step_their_allocation_pays_for() {
        let mut rt = rt();
        rt.configure(10, 1024).unwrap();
        let piece = new_string(&mut rt, &u16s("0123456789abcdef"));
        rt.pin(piece).unwrap();
        let mut model: Vec<u16> = Vec::new();
        let mut cur = new_string(&mut rt, &[]);
        let start_collections = rt.stats().collections;
        for i in 0..8000u32 {
            match i % 5 {
                0 | 1 => {
                    cur = rt.string_concat(cur, piece).unwrap();
                    model.extend(u16s("0123456789abcdef"));
                }
                2 => {
                    cur = rt.string_concat(piece, cur).unwrap();
                    model.splice(0..0, u16s("0123456789abcdef"));
                }
                3 => {
                    let (f, t) = slice_range(model.len(), 1, -1);
                    cur = rt.string_slice(cur, 1, -1).unwrap();
                    model = model[f..t].to_vec();
                }
                _ => {
                    let buf = rt.string_to_utf8(cur, false).unwrap();
                    assert_eq!(read_buffer(&rt, buf), encode_oracle(&model));
                    cur = rt.string_from_utf8(buf, rt.rt_size(buf), false).unwrap();
                }
            }
            if model.len() > 2000 {
                cur = rt.string_slice(cur, -100, i32::MAX).unwrap();
                model = model[model.len() - 100..].to_vec();
            }
            assert_eq!(read_units(&rt, cur), model, "step {i}");
            if i % 97 == 0 {
                assert_eq!(rt.check(), 0, "step {i}");
            }
        }
        let st = rt.stats();
        assert!(st.collections > start_collections + 10, "the GC must have run: {st:?}");
        assert_eq!(rt.check(), 0);
    }

    /// The sharp case: an input made while the GC is idle (so it is white), then the host
    /// advances the collector with `__gc_step` (the input is still readable: not yet swept),
    /// then a string op whose allocation pays for a step that may finish marking and sweep.
    /// Only the op's `keep` protects its input through that step.
    #[test]
    fn white_inputs_survive_when_the_op_steps_the_collector() {
        let mut rt = rt();
        rt.configure(10, 1024).unwrap();
        let piece = new_string(&mut rt, &u16s("<piece>"));
        rt.pin(piece).unwrap();
        let mut checked = 0;
        for round in 0..400usize {
            rt.collect();
            let units: Vec<u16> =
                (0..(40 + round % 50) as u16).map(|i| 0x41 + (i + round as u16) % 26).collect();
            let x = new_string(&mut rt, &units);
            // Also an ArrayBuffer holding UTF-8, as the source of string_from_utf8.
            let bytes = encode_oracle(&units);
            let ab = rt.new_object(bytes.len() as u32, ID_ARRAYBUFFER).unwrap();
            write_bytes(&rt, ab, &bytes);
            for _ in 0..round % 7 {
                rt.gc_step();
            }
            // Still readable? (A host that stepped the GC with x unpinned may already have lost
            // it; this test only uses inputs that are still intact.)
            if rt.validate_string(x).is_err() || rt.validate_object(ab).is_err() {
                continue;
            }
            checked += 1;
            match round % 4 {
                0 => {
                    let r = rt.string_concat(x, piece).unwrap();
                    assert_eq!(
                        read_units(&rt, r),
                        [&units[..], &u16s("<piece>")].concat(),
                        "round {round}"
                    );
                }
                1 => {
                    let r = rt.string_slice(x, 1, i32::MAX).unwrap();
                    assert_eq!(read_units(&rt, r), units[1..].to_vec(), "round {round}");
                }
                2 => {
                    let r = rt.string_to_utf8(x, true).unwrap();
                    assert_eq!(read_buffer(&rt, r), [&bytes[..], &[0]].concat(), "round {round}");
                }
                _ => {
                    let r = rt.string_from_utf8(ab, bytes.len() as u32, false).unwrap();
                    assert_eq!(read_units(&rt, r), units, "round {round}");
                }
            }
            assert_eq!(rt.check(), 0, "round {round}");
        }
        assert!(checked > 100, "{checked}");
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        #[test]
        fn wrappers_agree_with_the_pure_functions(
            a in units_strategy(), b in units_strategy(), bytes in utf8ish(),
            start in -60i32..60, end in -60i32..60,
        ) {
            let mut rt = rt();
            let ra = new_string(&mut rt, &a);
            let rb = new_string(&mut rt, &b);
            rt.pin(ra).unwrap();
            rt.pin(rb).unwrap();
            let c = rt.string_concat(ra, rb).unwrap();
            prop_assert_eq!(read_units(&rt, c), [&a[..], &b[..]].concat());
            prop_assert_eq!(rt.string_equals(ra, rb).unwrap(), a == b);
            prop_assert_eq!(rt.string_compare(ra, rb).unwrap(), a.cmp(&b) as i32);
            prop_assert_eq!(rt.string_hash(ra).unwrap(), hash_utf16(&a));
            let s = rt.string_slice(ra, start, end).unwrap();
            let (f, t) = js_slice_model(a.len(), start, end);
            prop_assert_eq!(read_units(&rt, s), a[f..t].to_vec());
            prop_assert_eq!(rt.string_utf8_length(ra).unwrap() as usize, encode_oracle(&a).len());
            let p = put_bytes(&mut rt, &bytes);
            let d = rt.string_from_utf8(p, bytes.len() as u32, true).unwrap();
            prop_assert_eq!(read_units(&rt, d), lossy(&bytes));
            let strict = rt.string_from_utf8(p, bytes.len() as u32, false);
            prop_assert_eq!(strict.is_ok(), std::str::from_utf8(&bytes).is_ok());
            prop_assert_eq!(rt.check(), 0);
        }
    }
}
