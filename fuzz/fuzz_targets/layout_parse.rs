//! The build-time layout reader (toml-span through build/toml_doc.rs, and build/layout.rs) and
//! the code generator (build/codegen.rs) on arbitrary text: they may reject it, with a message
//! that names a line of the file, but never panic, and never try to allocate without bound.
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

use layout::toml_doc::{Doc, Tab, V};
use libfuzzer_sys::fuzz_target;

const ERRORS_TXT: &str = include_str!("../../src/errors.txt");

/// Layouts that declare statics of more than this many elements (or classes of more than this
/// many bytes) are skipped: loading one really builds its payload (a 2^28-slot StaticArray is
/// a 4 GiB Vec), which is the build's job, not a parser bug. Payloads past the ABI's largest
/// payload are rejected before anything is built (tests/fuzz_regressions.rs).
const BIG: i64 = 1 << 20;

fn too_big(root: Tab) -> bool {
    let big =
        |t: &Tab, key: &str| matches!(t.get(key).map(|i| i.value), Some(V::Integer(v)) if *v > BIG);
    let tables = |key: &str| -> Vec<Tab> {
        let items = root.get(key).and_then(|i| i.array()).unwrap_or_default();
        items.iter().filter_map(|i| i.table()).collect()
    };
    tables("static").iter().any(|t| big(t, "length"))
        || tables("type").iter().any(|t| big(t, "size"))
}

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else { return };
    let Ok(text) = std::str::from_utf8(rest) else { return };
    let profile = match sel % 4 {
        0 => Some("classic"),
        1 => Some("modern"),
        2 => Some("bogus"),
        _ => None,
    };
    match Doc::parse(text) {
        Err((line, msg)) => {
            assert!(line >= 1 && line <= text.lines().count().max(1) + 1, "line {line}: {msg}");
            assert!(!msg.is_empty());
        }
        Ok(doc) if too_big(doc.root()) => return,
        Ok(_) => {}
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
