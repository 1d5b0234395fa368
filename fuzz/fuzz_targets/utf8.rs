//! The UTF-8 ⇄ UTF-16 transcoders of src/string/utf8.rs against std, on arbitrary input.
//!
//! - decoding (`utf16_len_of_utf8`, `decode_utf8_into`) is `TextDecoder('utf-8', { ignoreBOM:
//!   true })`: one U+FFFD per maximal subpart of an ill-formed sequence, a BOM kept, which is
//!   exactly `String::from_utf8_lossy` (std substitutes maximal subparts too);
//! - strict decoding fails exactly where `str::from_utf8` does (`valid_up_to`);
//! - encoding (`utf8_len_of_utf16`, `encode_utf8_into`) is `TextEncoder`: each lone surrogate
//!   becomes U+FFFD, which is `String::from_utf16_lossy`;
//! - the length passes agree with the write passes, the writes touch nothing past their
//!   length, and both round trips hold.
#![no_main]

use arbitrary::Arbitrary;
use asrt::string::{
    REPLACEMENT, decode_utf8_into, encode_utf8_into, utf8_len_of_utf16, utf16_len_of_utf8,
};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
enum Input {
    /// Raw bytes to decode.
    Bytes(Vec<u8>),
    /// Raw code units to encode.
    Units(Vec<u16>),
    /// Valid text with ill-formed bytes spliced in at chosen places.
    Spliced { text: String, junk: Vec<(u16, u8)> },
}

const CANARY: u16 = 0xA5A5;

fn decode(bytes: &[u8]) -> Vec<u16> {
    let n = utf16_len_of_utf8(bytes, true).expect("replace mode never fails");
    assert!(n <= bytes.len(), "at most one code unit per byte");
    let mut out = vec![CANARY; n + 4];
    let w = decode_utf8_into(bytes, &mut out[..n]);
    assert_eq!(w, n, "decode writes what the length pass counted");
    assert!(out[n..].iter().all(|&u| u == CANARY));
    out.truncate(n);
    out
}

fn encode(units: &[u16]) -> Vec<u8> {
    let n = utf8_len_of_utf16(units);
    assert!(n <= 3 * units.len(), "at most 3 bytes per code unit");
    let mut out = vec![0xA5u8; n + 4];
    let w = encode_utf8_into(units, &mut out[..n]);
    assert_eq!(w, n, "encode writes what the length pass counted");
    assert!(out[n..].iter().all(|&b| b == 0xA5));
    out.truncate(n);
    out
}

fn check_bytes(bytes: &[u8]) {
    let got = decode(bytes);
    let lossy = String::from_utf8_lossy(bytes);
    let want: Vec<u16> = lossy.encode_utf16().collect();
    assert_eq!(got, want, "decode({bytes:x?}) differs from from_utf8_lossy");
    match std::str::from_utf8(bytes) {
        Ok(s) => {
            assert_eq!(utf16_len_of_utf8(bytes, false), Ok(s.encode_utf16().count()));
            // Valid input round-trips byte for byte (a BOM included).
            assert_eq!(encode(&got), bytes, "valid UTF-8 round trip");
        }
        Err(e) => {
            assert_eq!(utf16_len_of_utf8(bytes, false), Err(e.valid_up_to()), "strict offset");
            // Decoded text is well-formed: it encodes to the lossy string's bytes.
            assert_eq!(encode(&got), lossy.as_bytes(), "lossy round trip");
        }
    }
}

fn check_units(units: &[u16]) {
    let got = encode(units);
    let lossy = String::from_utf16_lossy(units);
    assert_eq!(got, lossy.as_bytes(), "encode({units:x?}) differs from from_utf16_lossy");
    let back = decode(&got);
    let want: Vec<u16> = lossy.encode_utf16().collect();
    assert_eq!(back, want, "UTF-16 round trip");
    if String::from_utf16(units).is_ok() {
        assert_eq!(back, units, "well-formed UTF-16 round-trips exactly");
    } else {
        assert!(back.contains(&REPLACEMENT));
    }
}

fuzz_target!(|input: Input| {
    match input {
        Input::Bytes(b) => check_bytes(&b),
        Input::Units(u) => check_units(&u),
        Input::Spliced { text, junk } => {
            let mut b = text.into_bytes();
            for (at, byte) in junk.into_iter().take(16) {
                let at = at as usize % (b.len() + 1);
                b.insert(at, byte);
            }
            check_bytes(&b);
        }
    }
});
