//! Build script: generates the error list and (for now) a fixed default layout.
//! The full layout-file generator replaces the `layout` part.
use std::env;
use std::fmt::Write as _;
use std::fs;
use std::path::Path;

fn main() {
    let out = env::var("OUT_DIR").unwrap();
    println!("cargo:rerun-if-changed=src/errors.txt");
    println!("cargo:rerun-if-changed=build.rs");
    let errors = fs::read_to_string("src/errors.txt").unwrap();
    let mut code = String::new();
    let list: Vec<(&str, &str)> = errors
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| l.split_once(' ').expect("Variant message"))
        .collect();
    code.push_str("/// An error an export reports through `env.abort`.\n#[derive(Debug, Clone, Copy, PartialEq, Eq)]\n#[repr(u32)]\npub enum Error {\n");
    for (v, m) in &list {
        writeln!(code, "    /// {m}\n    {v},").unwrap();
    }
    code.push_str("}\n\nimpl Error {\n    /// Every error, in declaration order.\n    pub const ALL: &'static [Error] = &[");
    for (v, _) in &list {
        write!(code, "Error::{v}, ").unwrap();
    }
    code.push_str("];\n    /// The message `env.abort` receives.\n    pub const fn message(self) -> &'static str {\n        match self {\n");
    for (v, m) in &list {
        writeln!(code, "            Error::{v} => {m:?},").unwrap();
    }
    code.push_str("        }\n    }\n}\n");
    fs::write(Path::new(&out).join("errors.rs"), code).unwrap();

    let layout = r#"
/// The build profile.
pub const PROFILE: Profile = Profile::Classic;
/// Fixed ids.
pub const ID_ARRAYBUFFER: u32 = 0;
/// Fixed ids.
pub const ID_STRING: u32 = 1;
/// Fixed ids.
pub const ID_ARRAYBUFFERVIEW: u32 = 2;
/// Types by id.
pub static TYPES: [TypeDesc; 11] = [
    TypeDesc { flags: flags::POINTERFREE, base: 0, refs: &[] },
    TypeDesc { flags: flags::POINTERFREE, base: 0, refs: &[] },
    TypeDesc { flags: flags::ARRAYBUFFERVIEW, base: 0, refs: &[] },
    TypeDesc { flags: flags::ARRAY | flags::VALUE_ALIGN_2 | flags::VALUE_NULLABLE | flags::VALUE_MANAGED, base: 0, refs: &[] },
    TypeDesc { flags: flags::ARRAY | flags::VALUE_ALIGN_2 | flags::VALUE_SIGNED, base: 0, refs: &[] },
    TypeDesc { flags: flags::ARRAY | flags::VALUE_ALIGN_3 | flags::VALUE_FLOAT, base: 0, refs: &[] },
    TypeDesc { flags: flags::STATICARRAY | flags::VALUE_ALIGN_2 | flags::VALUE_NULLABLE | flags::VALUE_MANAGED, base: 0, refs: &[] },
    TypeDesc { flags: flags::ARRAYBUFFERVIEW | flags::VALUE_ALIGN_2 | flags::VALUE_SIGNED, base: 2, refs: &[] },
    TypeDesc { flags: flags::ARRAYBUFFERVIEW | flags::VALUE_ALIGN_3 | flags::VALUE_FLOAT, base: 2, refs: &[] },
    TypeDesc { flags: flags::ARRAYBUFFERVIEW | flags::VALUE_ALIGN_0, base: 2, refs: &[] },
    TypeDesc { flags: 0, base: 0, refs: &[0, 4] },
];
/// Shadow stack slots.
pub const SHADOW_STACK_SLOTS: u32 = 16384;
/// Memory cap in pages.
pub const MAX_MEMORY_PAGES: u32 = 65535;
"#;
    fs::write(Path::new(&out).join("layout.rs"), layout).unwrap();
}
