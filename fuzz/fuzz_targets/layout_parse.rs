//! The build-time layout parser (build/toml_lite.rs + build/layout.rs) and the code generator
//! (build/codegen.rs) on arbitrary text: they may reject it, with a message that names a line
//! of the file, but never panic, and never try to allocate without bound.
#![no_main]

#[allow(dead_code)]
#[path = "../../build/codegen.rs"]
mod codegen;
#[allow(dead_code)]
#[path = "../../build/errors.rs"]
mod errors;
#[allow(dead_code)]
#[path = "../../build/layout.rs"]
mod layout;
#[allow(dead_code)]
#[path = "../../build/toml_lite.rs"]
mod toml_lite;

use libfuzzer_sys::fuzz_target;

const ERRORS_TXT: &str = include_str!("../../src/errors.txt");

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else { return };
    let Ok(text) = std::str::from_utf8(rest) else { return };
    let profile = match sel % 4 {
        0 => Some("classic"),
        1 => Some("modern"),
        2 => Some("bogus"),
        _ => None,
    };
    if let Err((line, msg)) = toml_lite::parse(text) {
        assert!(line >= 1 && line <= text.lines().count().max(1) + 1, "line {line}: {msg}");
        assert!(!msg.is_empty());
    }
    match layout::load("fuzz.toml", text, profile) {
        Ok(l) => {
            let list = errors::parse(ERRORS_TXT);
            let _ = codegen::layout_rs(&l);
            let _ = codegen::statics_rs(&l, &list);
            let _ = codegen::exports_static_rs(&l);
            let _ = codegen::link_args(&l, sel & 4 != 0);
        }
        Err(msg) => {
            assert!(msg.starts_with("fuzz.toml"), "{msg}");
        }
    }
});
