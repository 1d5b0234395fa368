//! `src/errors.txt` → `errors.rs` (the `Error` enum, `Error::ALL`, `Error::message`).

use std::fmt::Write as _;

/// `(Variant, message)` per non-empty, non-comment line, in order.
pub fn parse(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (v, m) = l.split_once(' ').expect("src/errors.txt: each line is `Variant message`");
            (v.to_string(), m.to_string())
        })
        .collect()
}

/// The source of `errors.rs`.
pub fn errors_rs(list: &[(String, String)]) -> String {
    let mut code = String::new();
    code.push_str("/// An error an export reports through `env.abort`.\n#[derive(Debug, Clone, Copy, PartialEq, Eq)]\n#[repr(u32)]\npub enum Error {\n");
    for (v, m) in list {
        writeln!(code, "    /// {m}\n    {v},").unwrap();
    }
    code.push_str("}\n\nimpl Error {\n    /// Every error, in declaration order.\n    pub const ALL: &'static [Error] = &[");
    for (v, _) in list {
        write!(code, "Error::{v}, ").unwrap();
    }
    code.push_str("];\n    /// The message `env.abort` receives.\n    pub const fn message(self) -> &'static str {\n        match self {\n");
    for (v, m) in list {
        writeln!(code, "            Error::{v} => {m:?},").unwrap();
    }
    code.push_str("        }\n    }\n}\n");
    code
}
