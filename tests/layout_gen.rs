#![cfg(not(target_arch = "wasm32"))]
//! Host tests of the layout generator (build.rs and build/): the TOML reader (toml-span with lines), the checks (every
//! fixture in tests/bad_layouts must fail with its message at its line), AssemblyScript's RTTI
//! flags for each kind of type, the static objects' headers and payloads, and the generated code.
//! One test runs a real `cargo build` with `ASRT_LAYOUT` pointing at a bad layout.

#![cfg(not(target_arch = "wasm32"))]

#[path = "../build/codegen.rs"]
#[allow(dead_code)]
mod codegen;
#[path = "../build/errors.rs"]
#[allow(dead_code)]
mod errors;
#[path = "../build/layout.rs"]
#[allow(dead_code)]
mod layout;

use layout::{Layout, Payload, Profile, Slot, TypeKind};
use std::fs;
use std::path::Path;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn default_layout(profile: Option<&str>) -> Layout {
    let text = fs::read_to_string(Path::new(ROOT).join("layout.toml")).unwrap();
    layout::load("layout.toml", &text, profile).unwrap_or_else(|e| panic!("{e}"))
}

fn flags_of(l: &Layout, name: &str) -> (u32, u32) {
    let t = l.types.iter().find(|t| t.name == name).unwrap_or_else(|| panic!("no type {name}"));
    (t.flags, t.base)
}

// The flags below were read from the RTTI tables that asc 0.22.0 (classic) and 0.28.20 (modern)
// emit for the same AssemblyScript types; they are the same in both versions.
const AS_ARRAY_STRING: u32 = 0x4102; // ARRAY | VALUE_ALIGN_2 | VALUE_MANAGED
const AS_ARRAY_I32: u32 = 0x0902; // ARRAY | VALUE_ALIGN_2 | VALUE_SIGNED
const AS_ARRAY_F64: u32 = 0x1a02; // ARRAY | VALUE_ALIGN_3 | VALUE_SIGNED | VALUE_FLOAT
const AS_STATICARRAY_STRING: u32 = 0x4104; // STATICARRAY | VALUE_ALIGN_2 | VALUE_MANAGED
const AS_INT32ARRAY: u32 = 0x0901; // ARRAYBUFFERVIEW | VALUE_ALIGN_2 | VALUE_SIGNED
const AS_FLOAT64ARRAY: u32 = 0x1a01;
const AS_UINT8ARRAY: u32 = 0x0041;
const POINTERFREE: u32 = 0x20;

#[test]
fn default_layout_classic_matches_assemblyscript() {
    let l = default_layout(None);
    assert_eq!(l.profile, Profile::Classic);
    let names: Vec<&str> = l.types.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "ArrayBuffer",
            "String",
            "ArrayBufferView",
            "ArrayString",
            "ArrayI32",
            "ArrayF64",
            "StaticArrayString",
            "Int32Array",
            "Float64Array",
            "Uint8Array",
            "TreeNode"
        ]
    );
    for (i, t) in l.types.iter().enumerate() {
        assert_eq!(t.id as usize, i);
    }
    assert_eq!(flags_of(&l, "ArrayBuffer"), (POINTERFREE, 0));
    assert_eq!(flags_of(&l, "String"), (POINTERFREE, 0));
    assert_eq!(flags_of(&l, "ArrayBufferView"), (0, 0));
    assert_eq!(flags_of(&l, "ArrayString"), (AS_ARRAY_STRING, 0));
    assert_eq!(flags_of(&l, "ArrayI32"), (AS_ARRAY_I32, 0));
    assert_eq!(flags_of(&l, "ArrayF64"), (AS_ARRAY_F64, 0));
    assert_eq!(flags_of(&l, "StaticArrayString"), (AS_STATICARRAY_STRING, 0));
    // asc 0.22 gives typed arrays the base ArrayBufferView (id 2).
    assert_eq!(flags_of(&l, "Int32Array"), (AS_INT32ARRAY, 2));
    assert_eq!(flags_of(&l, "Float64Array"), (AS_FLOAT64ARRAY, 2));
    assert_eq!(flags_of(&l, "Uint8Array"), (AS_UINT8ARRAY, 2));
    assert_eq!(flags_of(&l, "TreeNode"), (0, 0));
    let tn = l.types.iter().find(|t| t.name == "TreeNode").unwrap();
    assert_eq!(tn.refs, [0, 4]);
    assert_eq!(tn.kind, TypeKind::Class { size: 8 });
    // The collector follows ArrayBufferView's `buffer` as a class field (its flags are 0).
    assert_eq!(l.types[2].refs, [0]);
    let exported: Vec<&str> =
        l.types.iter().filter(|t| t.export).map(|t| t.name.as_str()).collect();
    for want in ["TreeNode", "ArrayString", "ArrayI32", "StaticArrayString"] {
        assert!(exported.contains(&want), "{want} not exported");
    }
    // RTTI table in memory: count, then {flags, base}.
    let w = codegen::rtti_words(&l);
    assert_eq!(w.len(), 1 + 2 * 11);
    assert_eq!(w[0], 11);
    assert_eq!(&w[1 + 2 * 7..1 + 2 * 8], &[AS_INT32ARRAY, 2]);
    assert_eq!(l.shadow_stack_slots, 16384);
    assert_eq!(l.initial_pages, Some(32));
    assert_eq!(l.max_pages, None);
}

#[test]
fn default_layout_modern_matches_assemblyscript() {
    let l = default_layout(Some("modern"));
    assert_eq!(l.profile, Profile::Modern);
    let names: Vec<&str> = l.types.iter().take(5).map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["Object", "ArrayBuffer", "String", "ArrayBufferView", "ArrayString"]);
    assert_eq!(flags_of(&l, "Object"), (POINTERFREE, 0));
    assert_eq!(flags_of(&l, "ArrayString").0, AS_ARRAY_STRING);
    assert_eq!(flags_of(&l, "Int32Array"), (AS_INT32ARRAY, 3));
    assert_eq!(l.id_of("TreeNode"), Some(11));
    // Modern table: count, then {flags} only.
    let w = codegen::rtti_words(&l);
    assert_eq!(w.len(), 1 + 12);
    assert_eq!(w[1..5], [POINTERFREE, POINTERFREE, POINTERFREE, 0]);
    assert_eq!(w[12], 0); // TreeNode
}

#[test]
fn flags_for_every_kind_match_assemblyscript() {
    // Each expected value is what asc (0.22.0 and 0.28.20) emits for the type in the comment.
    let text = r#"
[[type]]
name = "TreeNode"
kind = "class"
size = 8
refs = [0, 4]
[[type]]
name = "Plain"          # class Plain { a: i32; b: f64 }
kind = "class"
size = 16
[[type]]
name = "Sub"            # class Sub extends TreeNode { c: i32 }
kind = "class"
size = 12
base = "TreeNode"
[[type]]
name = "StaticArrayI32"
kind = "staticarray"
element = "i32"
[[type]]
name = "ArrayNullableString"
kind = "array"
element = "string"
nullable = true
[[type]]
name = "StaticArrayNullableString"
kind = "staticarray"
element = "string"
nullable = true
[[type]]
name = "ArrayTreeNode"
kind = "array"
element = "TreeNode"
[[type]]
name = "Uint16Array"
kind = "view"
element = "u16"
[[type]]
name = "Int8Array"
kind = "view"
element = "i8"
[[type]]
name = "Float32Array"
kind = "view"
element = "f32"
[[type]]
name = "ArrayU8"
kind = "array"
element = "u8"
[[type]]
name = "ArrayBool"
kind = "array"
element = "bool"
[[type]]
name = "Int64Array"
kind = "view"
element = "i64"
[[type]]
name = "Uint64Array"
kind = "view"
element = "u64"
[[type]]
name = "DataViewLike"   # DataView: buffer @0, flags 0, no base
kind = "class"
size = 12
refs = [0]
"#;
    let l = layout::load("inline.toml", text, None).unwrap_or_else(|e| panic!("{e}"));
    let tn = l.id_of("TreeNode").unwrap();
    let expect: &[(&str, u32, u32)] = &[
        ("TreeNode", 0, 0),
        ("Plain", 0x20, 0),
        ("Sub", 0, tn),
        ("StaticArrayI32", 0x924, 0),
        ("ArrayNullableString", 0x6102, 0),
        ("StaticArrayNullableString", 0x6104, 0),
        ("ArrayTreeNode", 0x4102, 0),
        ("Uint16Array", 0x81, 2),
        ("Int8Array", 0x841, 2),
        ("Float32Array", 0x1901, 2),
        ("ArrayU8", 0x42, 0),
        ("ArrayBool", 0x42, 0),
        ("Int64Array", 0xa01, 2),
        ("Uint64Array", 0x201, 2),
        ("DataViewLike", 0, 0),
    ];
    for &(name, flags, base) in expect {
        assert_eq!(flags_of(&l, name), (flags, base), "{name}");
    }
    // Sub inherits TreeNode's ref fields.
    assert_eq!(l.types[l.id_of("Sub").unwrap() as usize].refs, [0, 4]);
}

fn static_named<'a>(l: &'a Layout, name: &str) -> &'a layout::StaticObj {
    l.statics
        .iter()
        .find(|s| s.named && s.name == name)
        .unwrap_or_else(|| panic!("no static {name}"))
}

fn utf16(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(|u| u.to_le_bytes()).collect()
}

#[test]
fn default_statics() {
    let l = default_layout(None);
    let g = static_named(&l, "greeting");
    assert_eq!(g.type_id, 1);
    assert_eq!(g.payload, Payload::Bytes(utf16("hello, asrt")));
    assert_eq!(g.payload.size(), 22);
    assert_eq!(Layout::block_size(22), 48);
    let slots = static_named(&l, "slots");
    assert_eq!(slots.type_id, l.id_of("StaticArrayString").unwrap());
    assert_eq!(slots.payload, Payload::Refs(vec![Slot::Null; 8]));
    let words = static_named(&l, "words");
    let Payload::Refs(w) = &words.payload else { panic!() };
    let texts: Vec<Vec<u8>> = w
        .iter()
        .map(|s| match s {
            Slot::Static(i) => {
                assert_eq!(l.statics[*i].type_id, 1);
                let Payload::Bytes(b) = &l.statics[*i].payload else { panic!() };
                b.clone()
            }
            Slot::Null => panic!(),
        })
        .collect();
    assert_eq!(texts, [utf16("alpha"), utf16("βeta"), utf16("gamma 🙂")]);
    let primes = static_named(&l, "primes");
    let Payload::View { buffer, byte_length, length: None } = primes.payload else { panic!() };
    assert_eq!(byte_length, 32);
    let want: Vec<u8> =
        [2i32, 3, 5, 7, 11, 13, 17, 19].iter().flat_map(|v| v.to_le_bytes()).collect();
    assert_eq!(l.statics[buffer].payload, Payload::Bytes(want));
    assert_eq!(l.statics[buffer].type_id, 0);
    let names = static_named(&l, "names");
    let Payload::View { buffer, length: Some(3), .. } = names.payload else { panic!() };
    let Payload::Refs(r) = &l.statics[buffer].payload else { panic!() };
    assert_eq!(r[0], Slot::Static(l.statics.iter().position(|s| s.name == "greeting").unwrap()));
    assert_eq!(r[2], Slot::Null);
    let halves = static_named(&l, "halves");
    let Payload::View { buffer, .. } = halves.payload else { panic!() };
    let want: Vec<u8> = [0.5f64, 1.5, -2.25].iter().flat_map(|v| v.to_le_bytes()).collect();
    assert_eq!(l.statics[buffer].payload, Payload::Bytes(want));
    assert_eq!(
        static_named(&l, "bytes").payload,
        Payload::Bytes(vec![0x61, 0x73, 0x72, 0x74, 0, 255])
    );
}

#[test]
fn generated_code_names_everything() {
    let l = default_layout(None);
    let rs = codegen::layout_rs(&l);
    for line in [
        "pub const PROFILE: Profile = Profile::Classic;",
        "pub const ID_ARRAYBUFFER: u32 = 0;",
        "pub const ID_STRING: u32 = 1;",
        "pub const ID_ARRAYBUFFERVIEW: u32 = 2;",
        "pub const ID_OBJECT: u32 = u32::MAX;",
        "pub const ID_ARRAYSTRING: u32 = 3;",
        "pub const ID_TREENODE: u32 = 10;",
        "pub static TYPES: [TypeDesc; 11] = [",
        "TypeDesc { flags: 0, base: 0, refs: &[0, 4] },",
        "pub const MAX_FIELD_END: u32 = 8;",
        "pub const SHADOW_STACK_SLOTS: u32 = 16384;",
        "pub const MAX_MEMORY_PAGES: u32 = 65535;",
    ] {
        assert!(rs.contains(line), "layout.rs lacks {line}\n{rs}");
    }
    let modern = codegen::layout_rs(&default_layout(Some("modern")));
    assert!(modern.contains("pub const ID_OBJECT: u32 = 0;"));
    assert!(modern.contains("pub const ID_STRING: u32 = 2;"));

    let errs = errors::parse(&fs::read_to_string(Path::new(ROOT).join("src/errors.txt")).unwrap());
    let st = codegen::statics_rs(&l, &errs);
    assert!(st.contains("pub static __rtti_base: RttiTable<22>"));
    assert!(st.contains("pub static __gc_stack: GcStack"));
    assert!(st.contains(&format!("pub(crate) static ERROR_MESSAGES: [StaticRef; {}]", errs.len())));
    // slots, words, names, primes, squares, halves can hold references; greeting and bytes cannot.
    assert!(st.contains("pub(crate) static ROOTS: [StaticRef; 6]"));
    // greeting: block 48 → mmInfo 44; gcInfo; rtId 1; rtSize 22.
    assert!(st.contains("header: [44, crate::object::STATIC_GC_INFO, 1, 22]"));
    let ex = codegen::exports_static_rs(&l);
    for name in [
        "__id_TreeNode",
        "__id_ArrayString",
        "__id_ArrayI32",
        "__id_StaticArrayString",
        "__static_greeting",
        "__static_slots",
    ] {
        assert!(ex.contains(&format!("pub static {name}:")), "exports_static.rs lacks {name}");
    }
    assert!(!ex.contains("__rtti_base"));
}

#[test]
fn link_args() {
    let mut l = default_layout(None);
    assert_eq!(codegen::link_args(&l, false), ["--initial-memory=2097152"]);
    l.max_pages = Some(256);
    assert_eq!(
        codegen::link_args(&l, true),
        ["--initial-memory=2097152", "--max-memory=16777216", "--import-memory", "--export-memory"]
    );
    assert!(codegen::layout_rs(&l).contains("pub const MAX_MEMORY_PAGES: u32 = 256;"));
}

#[test]
fn errors_rs_is_unchanged() {
    let errs = vec![
        ("NullRef".to_string(), "null reference".to_string()),
        ("Oom".to_string(), "out \"of\" memory".to_string()),
    ];
    let rs = errors::errors_rs(&errs);
    assert!(rs.contains("pub enum Error {\n    /// null reference\n    NullRef,\n"));
    assert!(rs.contains("pub const ALL: &'static [Error] = &[Error::NullRef, Error::Oom, ];"));
    assert!(rs.contains("Error::Oom => \"out \\\"of\\\" memory\","));
}

#[test]
fn toml_reader() {
    use layout::toml_doc::{Doc, V};
    let doc = Doc::parse(
        "a = 1_000 # c\nb = 'lit\\'\nc = \"e\\u00e9\\t\"\nd = [\n  0x10, -3, # x\n  1.5e2, inf,\n]\n[t]\nk = { x = true, y = [] }\n[[arr]]\nn = 1\n[[arr]]\nn = 2\n",
    )
    .unwrap();
    let t = doc.root();
    let get = |k: &str| t.get(k).unwrap().value;
    assert!(matches!(get("a"), V::Integer(1000)));
    assert!(matches!(get("b"), V::String(s) if s == "lit\\"));
    assert!(matches!(get("c"), V::String(s) if s == "eé\t"));
    let d = t.get("d").unwrap().array().unwrap();
    assert!(matches!(d[0].value, V::Integer(16)));
    assert!(matches!(d[1].value, V::Integer(-3)));
    assert!(matches!(d[2].value, V::Float(v) if *v == 150.0));
    assert!(matches!(d[3].value, V::Float(v) if v.is_infinite()));
    assert_eq!(d[2].line, 6);
    let arr = t.get("arr").unwrap().array().unwrap();
    assert_eq!(arr.len(), 2);
    assert_eq!(arr[1].line, 12);
    assert_eq!(arr[1].table().unwrap().line, 12);
    let keys: Vec<&str> = t.keys().iter().map(|(k, _)| *k).collect();
    assert_eq!(keys, ["a", "b", "c", "d", "t", "arr"], "file order");
    // Syntax errors come from toml-span, with the line of their span; duplicates and unterminated
    // strings in the checker's own words.
    for (bad, line, msg) in [
        ("a = 1\na = 2\n", 2, "duplicate key `a` (first defined on line 1)"),
        ("a = 1 2\n", 1, "expected"),
        ("a = 012\n", 1, "invalid number"),
        ("a = [1,\n2\n", 3, "expected"),
        ("[t]\n[t]\n", 2, "table `[t]` is defined twice (first on line 1)"),
        ("a = 99999999999999999999\n", 1, "invalid number"),
        ("x = \"\\q\"\n", 1, "invalid escape"),
        ("x = \"ab\ny = 1\n", 1, "unterminated string"),
        ("\nx = 'ab", 2, "unterminated string"),
    ] {
        let Err((l, m)) = Doc::parse(bad) else { panic!("{bad:?} was accepted") };
        assert!(m.contains(msg), "{bad:?}: {m}");
        assert_eq!(l, line, "{bad:?}: {m}");
    }
}

#[test]
fn bad_profile_override() {
    let e = layout::load("layout.toml", "", Some("retro")).unwrap_err();
    assert!(e.contains("ASRT_PROFILE is `retro`"), "{e}");
}

/// Every fixture fails with the message its first line gives (`# expect: ...`), naming the file and
/// the line marked `# <-`.
#[test]
fn bad_layouts_fail_with_file_line_and_problem() {
    let dir = Path::new(ROOT).join("tests/bad_layouts");
    let mut n = 0;
    let mut entries: Vec<_> = fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    entries.sort();
    for path in entries.iter().filter(|p| p.extension().is_some_and(|e| e == "toml")) {
        let text = fs::read_to_string(path).unwrap();
        let expect = text
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("# expect: "))
            .unwrap_or_else(|| panic!("{path:?}: no `# expect:` line"));
        let line = text
            .lines()
            .position(|l| l.contains("# <-"))
            .unwrap_or_else(|| panic!("{path:?}: no `# <-` marker"))
            + 1;
        let shown = format!("tests/bad_layouts/{}", path.file_name().unwrap().to_str().unwrap());
        let err = match layout::load(&shown, &text, None) {
            Ok(_) => panic!("{shown} was accepted"),
            Err(e) => e,
        };
        let prefix = format!("{shown}:{line}: ");
        assert!(
            err.starts_with(&prefix),
            "{shown}: expected the message to start with {prefix:?}, got {err:?}"
        );
        assert!(err.contains(expect), "{shown}: expected {expect:?} in {err:?}");
        n += 1;
    }
    assert!(n >= 20, "only {n} fixtures");
}

/// The real build fails on a bad layout, naming the file, the line and the problem.
#[test]
fn cargo_build_rejects_a_bad_layout() {
    let target = std::env::temp_dir().join(format!("asrt-layout-gen-{}", std::process::id()));
    let out = std::process::Command::new(env!("CARGO"))
        .args(["build", "--lib", "--quiet"])
        .current_dir(ROOT)
        .env("CARGO_TARGET_DIR", &target)
        .env("ASRT_LAYOUT", "tests/bad_layouts/ref_outside.toml")
        .env_remove("ASRT_PROFILE")
        .output()
        .unwrap();
    let _ = fs::remove_dir_all(&target);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the build succeeded:\n{stderr}");
    assert!(
        stderr.contains("invalid asrt layout: tests/bad_layouts/ref_outside.toml:6: ref offset 8 of type `TreeNode` is outside its size of 8 bytes"),
        "{stderr}"
    );
}

/// The C SDK's generated header (docs/ABI.md §9.2) says what the runtime's tables say: every
/// type's id and flags, class sizes and ref offsets, the exported statics; and its linker
/// arguments carry the cdylib's memory layout.
#[test]
fn c_layout_header_and_ldflags() {
    let l = default_layout(None);
    let h = codegen::c_layout_h(&l);
    assert!(h.starts_with("/* @generated"), "{h}");
    assert!(h.contains("#define ASRT_PROFILE_CLASSIC 1\n"));
    assert!(h.contains(&format!("#define ASRT_SHADOW_STACK_SLOTS {}u\n", l.shadow_stack_slots)));
    for t in &l.types {
        assert!(h.contains(&format!("#define ASRT_ID_{} {}u\n", t.name, t.id)), "{}", t.name);
        assert!(h.contains(&format!("#define ASRT_FLAGS_{} 0x{:x}u\n", t.name, t.flags)));
        if let TypeKind::Class { size } = t.kind {
            assert!(h.contains(&format!("#define ASRT_SIZE_{} {size}u\n", t.name)));
            assert!(h.contains(&format!("#define ASRT_REFS_{} {}u\n", t.name, t.refs.len())));
            for (k, off) in t.refs.iter().enumerate() {
                assert!(h.contains(&format!("#define ASRT_REF_{}_{k} {off}u\n", t.name)));
            }
        }
    }
    assert!(h.contains("#define ASRT_SIZE_TreeNode 8u\n#define ASRT_REFS_TreeNode 2u\n#define ASRT_REF_TreeNode_0 0u\n#define ASRT_REF_TreeNode_1 4u\n"));
    assert!(h.contains("#define ASRT_SIZE_ArrayString 16u\n"));
    assert!(h.contains("#define ASRT_ELEMENT_SIZE_StaticArrayString 4u\n"));
    for o in l.statics.iter().filter(|o| o.named && o.export) {
        assert!(h.contains(&format!("extern const uint32_t __static_{};\n", o.name)));
        assert!(h.contains(&format!("#define ASRT_STATIC_ID_{} {}u\n", o.name, o.type_id)));
    }
    assert!(h.trim_end().ends_with("#endif /* ASRT_LAYOUT_H */"));

    let plain = codegen::c_ldflags(&l, false);
    for want in ["--no-entry", "--stack-first", "stack-size=1048576", "--export=__stack_pointer"] {
        assert!(plain.iter().any(|a| a == want), "{want} in {plain:?}");
    }
    assert!(plain.contains(&format!("--initial-memory={}", l.initial_pages.unwrap() * 65536)));
    assert!(!plain.iter().any(|a| a == "--import-memory"));
    let import = codegen::c_ldflags(&l, true);
    assert!(
        import.iter().any(|a| a == "--import-memory")
            && import.iter().any(|a| a == "--export-memory")
    );
}
