//! The layout file: its schema, the checks, and the resolved model the code generator works from.
//!
//! Pure functions over text (no file system, no environment), so that the host tests can include
//! this module with `#[path]` and call [`load`] directly.

/// The TOML reader (toml-span, with lines).
#[path = "toml_doc.rs"]
pub mod toml_doc;
use toml_doc::{Doc, Item, Tab, V};

/// AssemblyScript's RTTI flag bits (docs/ABI.md §3), the runtime's own definitions.
#[allow(dead_code)]
#[path = "../src/rtti_flags.rs"]
pub mod flags;

/// The block-size formula (docs/ABI.md §2): the runtime's own definition.
#[allow(dead_code)]
#[path = "../src/block.rs"]
mod block;

/// The ABI profile (docs/ABI.md §3): the runtime's own definition.
#[path = "../src/profile.rs"]
mod profile;
pub use profile::Profile;

impl Profile {
    /// The fixed types, in id order: (name, kind).
    pub fn fixed(self) -> &'static [(&'static str, FixedKind)] {
        match self {
            Profile::Classic => &[
                ("ArrayBuffer", FixedKind::Buffer),
                ("String", FixedKind::String),
                ("ArrayBufferView", FixedKind::View),
            ],
            Profile::Modern => &[
                ("Object", FixedKind::Object),
                ("ArrayBuffer", FixedKind::Buffer),
                ("String", FixedKind::String),
                ("ArrayBufferView", FixedKind::View),
            ],
        }
    }
}

/// The kinds of the fixed types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FixedKind {
    Object,
    Buffer,
    String,
    View,
}

impl FixedKind {
    fn keyword(self) -> &'static str {
        match self {
            FixedKind::Object => "object",
            FixedKind::Buffer => "buffer",
            FixedKind::String => "string",
            FixedKind::View => "view",
        }
    }
}

/// The element type of an array-like type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Elem {
    /// A number: name (`i32`...), log2 of the size, signed, float.
    Prim { name: &'static str, log2: u32, signed: bool, float: bool },
    /// A reference to an object of type `id` (`String`, `ArrayBuffer`, a declared type).
    Ref { id: u32, nullable: bool },
}

impl Elem {
    pub fn log2(&self) -> u32 {
        match self {
            Elem::Prim { log2, .. } => *log2,
            Elem::Ref { .. } => 2,
        }
    }

    /// AssemblyScript's VALUE_* flags for this element type.
    pub fn flags(&self) -> u32 {
        match self {
            Elem::Prim { log2, signed, float, .. } => {
                (flags::VALUE_ALIGN_0 << log2)
                    | if *signed { flags::VALUE_SIGNED } else { 0 }
                    | if *float { flags::VALUE_FLOAT } else { 0 }
            }
            Elem::Ref { nullable, .. } => {
                (flags::VALUE_ALIGN_0 << 2)
                    | flags::VALUE_MANAGED
                    | if *nullable { flags::VALUE_NULLABLE } else { 0 }
            }
        }
    }
}

const PRIMS: &[(&str, u32, bool, bool)] = &[
    ("bool", 0, false, false),
    ("i8", 0, true, false),
    ("u8", 0, false, false),
    ("i16", 1, true, false),
    ("u16", 1, false, false),
    ("i32", 2, true, false),
    ("u32", 2, false, false),
    ("isize", 2, true, false),
    ("usize", 2, false, false),
    ("f32", 2, true, true),
    ("i64", 3, true, false),
    ("u64", 3, false, false),
    ("f64", 3, true, true),
];

/// What a type is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TypeKind {
    Fixed(FixedKind),
    /// A typed array (an `ArrayBufferView` subclass).
    TypedArray(Elem),
    Array(Elem),
    StaticArray(Elem),
    /// A plain class: payload size in bytes, own ref-field offsets (inherited ones are in `TypeDef::refs`).
    Class {
        size: u32,
    },
}

/// One resolved type id.
#[derive(Debug, Clone)]
pub struct TypeDef {
    pub name: String,
    pub id: u32,
    pub kind: TypeKind,
    /// Export `__id_<name>`.
    pub export: bool,
    /// AssemblyScript's RTTI flags: written to the memory table and to `TYPES`.
    pub flags: u32,
    /// Base class id, 0 for none.
    pub base: u32,
    /// All ref-field offsets the collector follows for a plain class (inherited first), sorted.
    pub refs: Vec<u32>,
    pub line: usize,
}

/// One slot of a static array of references.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Slot {
    Null,
    /// Index into `Layout::statics`.
    Static(usize),
}

/// The payload of a static object.
#[derive(Debug, Clone, PartialEq)]
pub enum Payload {
    /// Raw bytes (Strings as UTF-16LE, numbers little-endian, zeroed class instances).
    Bytes(Vec<u8>),
    /// 32-bit references (a StaticArray's elements or the buffer of an Array of references).
    Refs(Vec<Slot>),
    /// An ArrayBufferView (`length: None`) or an Array (`length: Some`): the buffer is a static.
    View { buffer: usize, byte_length: u32, length: Option<u32> },
}

impl Payload {
    /// rtSize: the payload size in bytes.
    pub fn size(&self) -> u32 {
        match self {
            Payload::Bytes(b) => b.len() as u32,
            Payload::Refs(r) => 4 * r.len() as u32,
            Payload::View { length: None, .. } => 12,
            Payload::View { length: Some(_), .. } => 16,
        }
    }
}

/// A static object.
#[derive(Debug, Clone)]
pub struct StaticObj {
    /// The declared name (exported as `__static_<name>`), or a generated one for anonymous parts.
    pub name: String,
    /// Declared in the file (vs. created for an element or a buffer).
    pub named: bool,
    pub export: bool,
    pub type_id: u32,
    pub payload: Payload,
    /// What it is, for a comment in the generated code.
    pub describe: String,
}

/// The checked layout.
#[derive(Debug, Clone)]
pub struct Layout {
    pub path: String,
    pub profile: Profile,
    pub types: Vec<TypeDef>,
    pub statics: Vec<StaticObj>,
    pub shadow_stack_slots: u32,
    pub initial_pages: Option<u32>,
    pub max_pages: Option<u32>,
}

/// The stack wasm-ld reserves below the static data on wasm32-unknown-unknown (`--stack-first`).
pub const STACK_BYTES: u64 = 1 << 20;
pub const PAGE: u64 = 65536;
/// The largest payload of any object, static or not (docs/ABI.md §1): 2^30 - 16 bytes.
pub const MAX_PAYLOAD: u64 = (1 << 30) - 16;

impl Layout {
    pub fn id_of(&self, name: &str) -> Option<u32> {
        self.types.iter().find(|t| t.name == name).map(|t| t.id)
    }

    pub fn fixed_id(&self, kind: FixedKind) -> Option<u32> {
        self.types.iter().find(|t| t.kind == TypeKind::Fixed(kind)).map(|t| t.id)
    }

    /// Block size of a static object (header included): the runtime's formula, widened so that
    /// the sums over all statics cannot overflow.
    pub fn block_size(payload: u32) -> u64 {
        block::block_size(payload) as u64
    }

    /// Bytes of static data this layout adds (objects, RTTI table, shadow stack), without
    /// whatever else the program puts in its data section.
    pub fn static_bytes(&self, extra_objects: u64) -> u64 {
        let objects: u64 = self.statics.iter().map(|s| Self::block_size(s.payload.size())).sum();
        let rtti = 16 + 8 * self.types.len() as u64;
        objects + extra_objects + rtti + 4 * self.shadow_stack_slots as u64 + 4096
    }
}

/// A layout problem: `path:line: message`.
fn fail<T>(line: usize, msg: impl Into<String>) -> Result<T, (usize, String)> {
    Err((line, msg.into()))
}

type R<T> = Result<T, (usize, String)>;

fn is_ident(s: &str) -> bool {
    let mut c = s.chars();
    matches!(c.next(), Some(f) if f.is_ascii_alphabetic() || f == '_')
        && c.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn check_keys(t: Tab, allowed: &[&str], what: &str) -> R<()> {
    match t.keys().into_iter().find(|(k, _)| !allowed.contains(k)) {
        Some((k, line)) => fail(
            line,
            format!("unknown key `{k}` in {what} (expected one of: {})", allowed.join(", ")),
        ),
        None => Ok(()),
    }
}

fn get_str<'a>(t: Tab<'a>, key: &str, what: &str) -> R<Option<(&'a str, usize)>> {
    match t.get(key) {
        None => Ok(None),
        Some(Item { value: V::String(s), line, .. }) => Ok(Some((s, line))),
        Some(i) => {
            fail(i.line, format!("`{key}` of {what} must be a string, found {}", i.type_name()))
        }
    }
}

fn get_bool(t: Tab, key: &str, what: &str) -> R<Option<bool>> {
    match t.get(key) {
        None => Ok(None),
        Some(Item { value: V::Boolean(b), .. }) => Ok(Some(*b)),
        Some(i) => fail(
            i.line,
            format!("`{key}` of {what} must be true or false, found {}", i.type_name()),
        ),
    }
}

fn get_int(t: Tab, key: &str, what: &str, min: i64, max: i64) -> R<Option<(i64, usize)>> {
    match t.get(key) {
        None => Ok(None),
        Some(Item { value: V::Integer(v), line, .. }) => {
            if *v < min || *v > max {
                fail(line, format!("`{key}` of {what} must be between {min} and {max}, found {v}"))
            } else {
                Ok(Some((*v, line)))
            }
        }
        Some(i) => {
            fail(i.line, format!("`{key}` of {what} must be an integer, found {}", i.type_name()))
        }
    }
}

/// The `[[key]]` tables of the root, in file order.
fn tables<'a>(root: Tab<'a>, key: &str) -> R<Vec<Tab<'a>>> {
    let Some(item) = root.get(key) else { return Ok(Vec::new()) };
    let Some(items) = item.array() else {
        return fail(
            item.line,
            format!("`{key}` must be written as `[[{key}]]` tables, found {}", item.type_name()),
        );
    };
    items
        .iter()
        .map(|i| {
            i.table().ok_or_else(|| {
                (item.line, format!("`{key}` must be written as `[[{key}]]` tables"))
            })
        })
        .collect()
}

/// Reads and checks a layout. `path` is only used in messages; `profile_override` is the value of
/// `ASRT_PROFILE`, if set. An error is a message `path:line: problem`.
pub fn load(path: &str, text: &str, profile_override: Option<&str>) -> Result<Layout, String> {
    load_inner(path, text, profile_override).map_err(|(line, msg)| {
        if line == 0 { format!("{path}: {msg}") } else { format!("{path}:{line}: {msg}") }
    })
}

fn load_inner(path: &str, text: &str, profile_override: Option<&str>) -> R<Layout> {
    let doc = Doc::parse(text)?;
    let root = doc.root();
    check_keys(
        root,
        &["profile", "shadow_stack_slots", "memory", "type", "static"],
        "the layout file",
    )?;

    // Profile.
    let file_profile = match get_str(root, "profile", "the layout")? {
        Some((s, line)) => Some(Profile::parse(s).ok_or((
            line,
            format!("unknown profile `{s}` (expected \"classic\" or \"modern\")"),
        ))?),
        None => None,
    };
    let profile = match profile_override {
        Some(p) => Profile::parse(p)
            .ok_or((0, format!("ASRT_PROFILE is `{p}` (expected `classic` or `modern`)")))?,
        None => file_profile.unwrap_or(Profile::Classic),
    };

    // Shadow stack and memory.
    let shadow_stack_slots = get_int(root, "shadow_stack_slots", "the layout", 1, 1 << 24)?
        .map(|(v, _)| v as u32)
        .unwrap_or(16384);
    let (mut initial_pages, mut max_pages) = (None, None);
    match root.get("memory") {
        None => {}
        Some(i) if i.table().is_some() => {
            let m = i.table().unwrap();
            check_keys(m, &["initial_pages", "max_pages"], "[memory]")?;
            initial_pages = get_int(m, "initial_pages", "[memory]", 1, 65536)?;
            max_pages = get_int(m, "max_pages", "[memory]", 1, 65536)?;
        }
        Some(i) => {
            return fail(i.line, format!("`memory` must be a table, found {}", i.type_name()));
        }
    }
    if let (Some((i, line)), Some((m, _))) = (initial_pages, max_pages)
        && i > m
    {
        return fail(line, format!("initial_pages ({i}) is larger than max_pages ({m})"));
    }

    // Types: the fixed ones first.
    let mut types: Vec<TypeDef> = Vec::new();
    for (id, (name, kind)) in profile.fixed().iter().enumerate() {
        let (flags, refs) = match kind {
            // AssemblyScript marks Object, ArrayBuffer and String POINTERFREE; ArrayBufferView
            // (flags 0) holds `buffer` at offset 0, which the collector follows as a class field.
            FixedKind::View => (0, vec![0]),
            _ => (flags::POINTERFREE, vec![]),
        };
        types.push(TypeDef {
            name: name.to_string(),
            id: id as u32,
            kind: TypeKind::Fixed(*kind),
            export: false,
            flags,
            base: 0,
            refs,
            line: 0,
        });
    }
    let fixed_count = types.len();

    // First pass: names and ids, so that element types and bases can refer to any type.
    struct Decl<'a> {
        t: Tab<'a>,
        idx: usize,
    }
    let mut decls = Vec::new();
    for t in tables(root, "type")? {
        let what = "a [[type]]";
        check_keys(
            t,
            &["name", "kind", "element", "nullable", "size", "refs", "base", "export", "id"],
            what,
        )?;
        let (name, nline) =
            get_str(t, "name", what)?.ok_or((t.line, "[[type]] without a `name`".to_string()))?;
        let what = format!("type `{name}`");
        if !is_ident(name) {
            return fail(
                nline,
                format!("type name `{name}` is not an identifier (letters, digits, `_`)"),
            );
        }
        let (kind, kline) =
            get_str(t, "kind", &what)?.ok_or((t.line, format!("type `{name}` has no `kind`")))?;
        let export = get_bool(t, "export", &what)?.unwrap_or(false);
        if let Some(fixed) = types[..fixed_count].iter_mut().find(|f| f.name == name) {
            // A fixed type may be listed (e.g. to export its id) but must match the profile.
            let TypeKind::Fixed(fk) = fixed.kind else { unreachable!() };
            if kind != fk.keyword() {
                return fail(
                    kline,
                    format!(
                        "`{name}` is a fixed type of kind \"{}\", declared as \"{kind}\"",
                        fk.keyword()
                    ),
                );
            }
            if let Some((id, line)) = get_int(t, "id", &what, 0, u32::MAX as i64)?
                && id as u32 != fixed.id
            {
                return fail(
                    line,
                    format!(
                        "`{name}` has the fixed id {} in the {:?} profile, declared as {id}",
                        fixed.id, profile
                    ),
                );
            }
            for k in ["element", "nullable", "size", "refs", "base"] {
                if let Some(i) = t.get(k) {
                    return fail(i.line, format!("`{k}` cannot be set on the fixed type `{name}`"));
                }
            }
            if fixed.export && export {
                return fail(nline, format!("duplicate type name `{name}`"));
            }
            fixed.export |= export;
            continue;
        }
        if let Some(f) = profile.fixed().iter().find(|(_, k)| k.keyword() == kind) {
            let hint = if *kind == *"view" {
                " (a typed array is kind \"view\" with an `element`)"
            } else {
                ""
            };
            if kind != "view" || t.get("element").is_none() {
                return fail(
                    kline,
                    format!("kind \"{kind}\" is reserved for the fixed type `{}`{hint}", f.0),
                );
            }
        }
        if ["Object", "ArrayBuffer", "String", "ArrayBufferView"]
            .iter()
            .any(|f| f.eq_ignore_ascii_case(name))
        {
            let what = if profile.fixed().iter().any(|f| f.0 == name) {
                "is a fixed type"
            } else if name == "Object" {
                "is not a type of the Classic profile"
            } else {
                "is reserved (a fixed type name, ignoring case)"
            };
            return fail(nline, format!("`{name}` {what}"));
        }
        if let Some(prev) = types.iter().find(|p| p.name.eq_ignore_ascii_case(name)) {
            let how = if prev.name == name {
                "duplicate type name"
            } else {
                "type name clashes (ignoring case) with"
            };
            let at = if prev.line > 0 {
                format!(" (line {})", prev.line)
            } else {
                " (a fixed type)".into()
            };
            return fail(nline, format!("{how} `{}`{at}", prev.name));
        }
        if PRIMS.iter().any(|p| p.0 == name) {
            return fail(nline, format!("type name `{name}` is a primitive type"));
        }
        let id = types.len() as u32;
        if let Some((want, line)) = get_int(t, "id", &what, 0, u32::MAX as i64)?
            && want as u32 != id
        {
            return fail(
                line,
                format!(
                    "type `{name}` gets id {id} (ids follow declaration order after the fixed ids), declared as {want}"
                ),
            );
        }
        types.push(TypeDef {
            name: name.to_string(),
            id,
            kind: TypeKind::Class { size: 0 },
            export,
            flags: 0,
            base: 0,
            refs: vec![],
            line: t.line,
        });
        decls.push(Decl { t, idx: types.len() - 1 });
    }

    // Second pass: kinds, elements, flags.
    let lookup_elem = |types: &Vec<TypeDef>, name: &str| -> Option<Elem> {
        if let Some(p) = PRIMS.iter().find(|p| p.0 == name) {
            return Some(Elem::Prim { name: p.0, log2: p.1, signed: p.2, float: p.3 });
        }
        let name = if name == "string" { "String" } else { name };
        types.iter().find(|t| t.name == name).map(|t| Elem::Ref { id: t.id, nullable: false })
    };
    let mut own_refs: Vec<Vec<u32>> = vec![vec![]; types.len()];
    let mut bases: Vec<Option<(u32, usize)>> = vec![None; types.len()];
    for d in &decls {
        let t = d.t;
        let name = types[d.idx].name.clone();
        let what = format!("type `{name}`");
        let (kind, kline) = get_str(t, "kind", &what)?.unwrap();
        let elem = match get_str(t, "element", &what)? {
            None => None,
            Some((e, eline)) => {
                let mut el = lookup_elem(&types, e).ok_or_else(|| {
                    (eline, format!("unknown element type `{e}` (a number type such as i32 or f64, `string`, or a declared type name)"))
                })?;
                if let Some(n) = get_bool(t, "nullable", &what)? {
                    match &mut el {
                        Elem::Ref { nullable, .. } => *nullable = n,
                        Elem::Prim { .. } => {
                            return fail(
                                t.get("nullable").unwrap().line,
                                format!(
                                    "`nullable` needs a reference element type, `{e}` is a number"
                                ),
                            );
                        }
                    }
                }
                Some((el, eline))
            }
        };
        let forbid = |keys: &[&str], why: &str| -> R<()> {
            for k in keys {
                if let Some(i) = t.get(k) {
                    return fail(i.line, format!("`{k}` is not allowed for {what}: {why}"));
                }
            }
            Ok(())
        };
        let need_elem = || {
            elem.clone()
                .ok_or((t.line, format!("{what} of kind \"{kind}\" needs an `element` type")))
        };
        let ty = &mut types[d.idx];
        match kind {
            "view" | "array" | "staticarray" => {
                forbid(&["size", "refs", "base"], &format!("a \"{kind}\" has no declared fields"))?;
                let (el, eline) = need_elem()?;
                ty.flags = el.flags();
                match kind {
                    "view" => {
                        if let Elem::Ref { .. } = el {
                            return fail(
                                eline,
                                "a typed array (kind \"view\") holds numbers, not references",
                            );
                        }
                        ty.flags |= flags::ARRAYBUFFERVIEW;
                        ty.base =
                            profile.fixed().iter().position(|f| f.1 == FixedKind::View).unwrap()
                                as u32;
                        ty.kind = TypeKind::TypedArray(el);
                    }
                    "array" => {
                        ty.flags |= flags::ARRAY;
                        ty.kind = TypeKind::Array(el);
                    }
                    _ => {
                        ty.flags |= flags::STATICARRAY;
                        if let Elem::Prim { .. } = el {
                            ty.flags |= flags::POINTERFREE;
                        }
                        ty.kind = TypeKind::StaticArray(el);
                    }
                }
            }
            "class" => {
                forbid(
                    &["element", "nullable"],
                    "a class has fields, not elements (use `size` and `refs`)",
                )?;
                let (size, _) = get_int(t, "size", &what, 0, (1 << 30) - 16)?.ok_or((
                    t.line,
                    format!("{what} of kind \"class\" needs a `size` (payload bytes)"),
                ))?;
                ty.kind = TypeKind::Class { size: size as u32 };
                let mut refs = Vec::new();
                match t.get("refs") {
                    None => {}
                    Some(r) if r.array().is_some() => {
                        for i in r.array().unwrap() {
                            let &V::Integer(off) = i.value else {
                                return fail(
                                    i.line,
                                    format!(
                                        "`refs` of {what} must hold byte offsets (integers), found {}",
                                        i.type_name()
                                    ),
                                );
                            };
                            if off < 0 || off % 4 != 0 {
                                return fail(
                                    i.line,
                                    format!(
                                        "ref offset {off} of {what} is not a non-negative multiple of 4"
                                    ),
                                );
                            }
                            if off + 4 > size {
                                return fail(
                                    i.line,
                                    format!(
                                        "ref offset {off} of {what} is outside its size of {size} bytes"
                                    ),
                                );
                            }
                            if refs.contains(&(off as u32)) {
                                return fail(
                                    i.line,
                                    format!("ref offset {off} of {what} is listed twice"),
                                );
                            }
                            refs.push(off as u32);
                        }
                    }
                    Some(i) => {
                        return fail(
                            i.line,
                            format!(
                                "`refs` of {what} must be an array of offsets, found {}",
                                i.type_name()
                            ),
                        );
                    }
                }
                own_refs[d.idx] = refs;
                if let Some((b, bline)) = get_str(t, "base", &what)? {
                    let Some(base) = types.iter().find(|x| x.name == b) else {
                        return fail(bline, format!("unknown base class `{b}`"));
                    };
                    if !matches!(base.kind, TypeKind::Class { .. }) || base.id as usize >= d.idx {
                        let why = if base.id as usize >= d.idx {
                            "must be a class declared earlier"
                        } else {
                            "is not a class"
                        };
                        return fail(bline, format!("base `{b}` of {what} {why}"));
                    }
                    bases[d.idx] = Some((base.id, bline));
                }
            }
            other => {
                return fail(
                    kline,
                    format!(
                        "unknown kind \"{other}\" (expected \"view\", \"array\", \"staticarray\" or \"class\")"
                    ),
                );
            }
        }
    }
    // Classes: inherited refs and sizes (bases are declared earlier, so one pass in id order works).
    for d in &decls {
        let TypeKind::Class { size } = types[d.idx].kind else {
            continue;
        };
        let mut refs = Vec::new();
        if let Some((b, bline)) = bases[d.idx] {
            let base = &types[b as usize];
            let TypeKind::Class { size: bsize } = base.kind else { unreachable!() };
            if size < bsize {
                return fail(
                    bline,
                    format!(
                        "class `{}` ({size} bytes) is smaller than its base `{}` ({bsize} bytes)",
                        types[d.idx].name, base.name
                    ),
                );
            }
            if let Some(&off) = own_refs[d.idx].iter().find(|&&o| o < bsize) {
                let line = match d.t.get("refs").and_then(|r| r.array()) {
                    Some(items) => items
                        .iter()
                        .find(|i| matches!(i.value, V::Integer(v) if *v as u32 == off))
                        .map(|i| i.line)
                        .unwrap_or(bline),
                    _ => bline,
                };
                return fail(
                    line,
                    format!(
                        "ref offset {off} of class `{}` lies inside its base `{}` ({bsize} bytes): list only the fields the class adds",
                        types[d.idx].name, base.name
                    ),
                );
            }
            refs.extend_from_slice(&base.refs);
            types[d.idx].base = b;
        }
        refs.extend_from_slice(&own_refs[d.idx]);
        refs.sort();
        types[d.idx].flags = if refs.is_empty() { flags::POINTERFREE } else { 0 };
        types[d.idx].refs = refs;
    }

    // Statics.
    let mut statics: Vec<StaticObj> = Vec::new();
    let static_tables = tables(root, "static")?;
    // Names first, so arrays can refer to any named static.
    let mut names: Vec<(String, usize)> = Vec::new();
    for &t in &static_tables {
        let what = "a [[static]]";
        check_keys(t, &["name", "type", "value", "values", "length", "export"], what)?;
        let (name, nline) =
            get_str(t, "name", what)?.ok_or((t.line, "[[static]] without a `name`".to_string()))?;
        if !is_ident(name) {
            return fail(
                nline,
                format!("static name `{name}` is not an identifier (letters, digits, `_`)"),
            );
        }
        if let Some((prev, pline)) = names.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)) {
            let how = if prev == name {
                "duplicate static name"
            } else {
                "static name clashes (ignoring case) with"
            };
            return fail(nline, format!("{how} `{prev}` (line {pline})"));
        }
        names.push((name.to_string(), nline));
    }
    let n_named = names.len();
    // Reserve the named ones at indices 0..n_named; anonymous parts are appended.
    for (name, _) in &names {
        statics.push(StaticObj {
            name: name.clone(),
            named: true,
            export: true,
            type_id: 0,
            payload: Payload::Bytes(vec![]),
            describe: String::new(),
        });
    }
    let string_id = types.iter().find(|t| t.kind == TypeKind::Fixed(FixedKind::String)).unwrap().id;
    let buffer_id = types.iter().find(|t| t.kind == TypeKind::Fixed(FixedKind::Buffer)).unwrap().id;
    // Is `id` the type `want` or derived from it?
    let is_a = |types: &Vec<TypeDef>, mut id: u32, want: u32| loop {
        if id == want {
            return true;
        }
        let t = &types[id as usize];
        if t.base == 0 || !matches!(t.kind, TypeKind::Class { .. }) {
            return false;
        }
        id = t.base;
    };
    let mut pending_types: Vec<u32> = vec![0; n_named];
    for (si, t) in static_tables.iter().copied().enumerate() {
        let name = names[si].0.clone();
        let what = format!("static `{name}`");
        let (tname, tline) =
            get_str(t, "type", &what)?.ok_or((t.line, format!("{what} has no `type`")))?;
        let tname_n = if tname == "string" { "String" } else { tname };
        let ty = types
            .iter()
            .find(|x| x.name == tname_n)
            .ok_or((tline, format!("unknown type `{tname}` for {what}")))?
            .clone();
        pending_types[si] = ty.id;
        statics[si].type_id = ty.id;
        statics[si].export = get_bool(t, "export", &what)?.unwrap_or(true);
    }
    for (si, t) in static_tables.iter().copied().enumerate() {
        let name = names[si].0.clone();
        let what = format!("static `{name}`");
        let ty = types[pending_types[si] as usize].clone();
        let length = get_int(t, "length", &what, 0, (1 << 28) as i64)?;
        let values: Option<(Vec<Item>, usize)> = match t.get("values") {
            None => None,
            Some(i) if i.array().is_some() => Some((i.array().unwrap(), i.line)),
            Some(i) => {
                return fail(
                    i.line,
                    format!("`values` of {what} must be an array, found {}", i.type_name()),
                );
            }
        };
        let value = get_str(t, "value", &what)?;
        let forbid = |keys: &[&str], why: &str| -> R<()> {
            for k in keys {
                if let Some(i) = t.get(k) {
                    return fail(i.line, format!("`{k}` is not allowed for {what}: {why}"));
                }
            }
            Ok(())
        };
        // Checked before any payload is built: the ABI's largest payload (§1).
        let fits = |bytes: u64| -> R<()> {
            if bytes > MAX_PAYLOAD {
                let line =
                    length.map(|(_, l)| l).or(values.as_ref().map(|(_, l)| *l)).unwrap_or(t.line);
                return fail(
                    line,
                    format!(
                        "{what} needs {bytes} bytes, more than the largest payload ({MAX_PAYLOAD} bytes)"
                    ),
                );
            }
            Ok(())
        };
        let count_line = |n: usize| -> R<u32> {
            match length {
                Some((l, line)) if (l as usize) < n => {
                    fail(line, format!("`length` {l} of {what} is less than its {n} values"))
                }
                Some((l, _)) => Ok(l as u32),
                None => Ok(n as u32),
            }
        };
        let (payload, describe) = match &ty.kind {
            TypeKind::Fixed(FixedKind::String) => {
                forbid(&["values", "length"], "a String takes a `value`")?;
                let (s, _) =
                    value.ok_or((t.line, format!("{what} of type String needs a `value`")))?;
                let bytes: Vec<u8> = s.encode_utf16().flat_map(|u| u.to_le_bytes()).collect();
                (Payload::Bytes(bytes), format!("String {s:?}"))
            }
            TypeKind::Fixed(FixedKind::Buffer) => {
                forbid(&["value"], "an ArrayBuffer takes byte `values` and/or a `length`")?;
                let elem = Elem::Prim { name: "u8", log2: 0, signed: false, float: false };
                let vals = values.as_ref().map(|v| v.0.as_slice()).unwrap_or(&[]);
                let n = count_line(vals.len())?;
                fits(n as u64)?;
                let bytes = encode_numbers(&elem, vals, n, &what)?;
                (Payload::Bytes(bytes), format!("ArrayBuffer of {n} bytes"))
            }
            TypeKind::Fixed(FixedKind::Object) => {
                forbid(&["value", "values", "length"], "an Object has no payload")?;
                (Payload::Bytes(vec![]), "Object".into())
            }
            TypeKind::Fixed(FixedKind::View) => {
                return fail(
                    t.get("type").unwrap().line,
                    format!(
                        "{what}: a plain ArrayBufferView cannot be a static; declare a typed array type (kind \"view\" with an `element`)"
                    ),
                );
            }
            TypeKind::Class { size } => {
                forbid(&["value", "values", "length"], "class statics are zero-initialized")?;
                (Payload::Bytes(vec![0; *size as usize]), format!("{} (zeroed)", ty.name))
            }
            TypeKind::TypedArray(el) | TypeKind::Array(el) | TypeKind::StaticArray(el) => {
                forbid(&["value"], "an array takes `values` and/or a `length`")?;
                let vals = values.as_ref().map(|v| v.0.as_slice()).unwrap_or(&[]);
                let n = count_line(vals.len())?;
                fits((n as u64) << el.log2())?;
                let inner = match el {
                    Elem::Prim { .. } => Payload::Bytes(encode_numbers(el, vals, n, &what)?),
                    Elem::Ref { id: want, .. } => {
                        let mut slots = Vec::new();
                        for (k, v) in vals.iter().enumerate() {
                            let slot = match &v.value {
                                V::String(s) => {
                                    if *want != string_id {
                                        return fail(
                                            v.line,
                                            format!(
                                                "element {k} of {what} is a string, but the elements are `{}`",
                                                types[*want as usize].name
                                            ),
                                        );
                                    }
                                    let bytes: Vec<u8> =
                                        s.encode_utf16().flat_map(|u| u.to_le_bytes()).collect();
                                    statics.push(StaticObj {
                                        name: format!("{name}_{k}"),
                                        named: false,
                                        export: false,
                                        type_id: string_id,
                                        payload: Payload::Bytes(bytes),
                                        describe: format!("String {s:?} (element {k} of `{name}`)"),
                                    });
                                    Slot::Static(statics.len() - 1)
                                }
                                V::Table(_) => {
                                    let tb = v.table().unwrap();
                                    check_keys(
                                        tb,
                                        &["ref", "null"],
                                        &format!("element {k} of {what}"),
                                    )?;
                                    match (tb.get("ref"), tb.get("null")) {
                                        (Some(Item { value: V::String(r), line, .. }), None) => {
                                            let Some(ri) = names.iter().position(|(n, _)| n == r)
                                            else {
                                                return fail(
                                                    line,
                                                    format!(
                                                        "element {k} of {what} refers to the unknown static `{r}`"
                                                    ),
                                                );
                                            };
                                            if !is_a(&types, pending_types[ri], *want) {
                                                return fail(
                                                    line,
                                                    format!(
                                                        "element {k} of {what} refers to `{r}` of type `{}`, but the elements are `{}`",
                                                        types[pending_types[ri] as usize].name,
                                                        types[*want as usize].name
                                                    ),
                                                );
                                            }
                                            Slot::Static(ri)
                                        }
                                        (None, Some(Item { value: V::Boolean(true), .. })) => {
                                            Slot::Null
                                        }
                                        _ => {
                                            return fail(
                                                v.line,
                                                format!(
                                                    "element {k} of {what}: write a string, `{{ ref = \"name\" }}` or `{{ null = true }}`"
                                                ),
                                            );
                                        }
                                    }
                                }
                                _ => {
                                    return fail(
                                        v.line,
                                        format!(
                                            "element {k} of {what} is {}, but the elements are references (`{}`): write a string, `{{ ref = \"name\" }}` or `{{ null = true }}`",
                                            v.type_name(),
                                            types[*want as usize].name
                                        ),
                                    );
                                }
                            };
                            slots.push(slot);
                        }
                        slots.resize(n as usize, Slot::Null);
                        Payload::Refs(slots)
                    }
                };
                let count = n;
                let desc = format!("{} of {count} elements", ty.name);
                match ty.kind {
                    TypeKind::StaticArray(_) => (inner, desc),
                    _ => {
                        // The elements live in a static ArrayBuffer of their own.
                        let byte_length = inner.size();
                        statics.push(StaticObj {
                            name: format!("{name}_buffer"),
                            named: false,
                            export: false,
                            type_id: buffer_id,
                            payload: inner,
                            describe: format!(
                                "ArrayBuffer of {byte_length} bytes (the buffer of `{name}`)"
                            ),
                        });
                        let length =
                            if matches!(ty.kind, TypeKind::Array(_)) { Some(count) } else { None };
                        (Payload::View { buffer: statics.len() - 1, byte_length, length }, desc)
                    }
                }
            }
        };
        statics[si].payload = payload;
        statics[si].describe = describe;
    }

    let layout = Layout {
        path: path.to_string(),
        profile,
        types,
        statics,
        shadow_stack_slots,
        initial_pages: initial_pages.map(|(v, _)| v as u32),
        max_pages: max_pages.map(|(v, _)| v as u32),
    };
    // The stack and the static data must fit in the memory's maximum (4 GiB without a cap).
    let need = STACK_BYTES + layout.static_bytes(0);
    let (cap, cap_line) = max_pages.map_or((65536, 0), |(m, line)| (m as u64, line));
    if need > cap * PAGE {
        return fail(
            cap_line,
            format!(
                "the 1 MiB stack and this layout's {} KiB of static data do not fit in {cap} pages of memory",
                (need - STACK_BYTES).div_ceil(1024)
            ),
        );
    }
    if let Some((i, line)) = initial_pages {
        // The stack (1 MiB) and the static data must fit in the initial memory.
        let need = STACK_BYTES + layout.static_bytes(0);
        if (i as u64) * PAGE < need {
            return fail(
                line,
                format!(
                    "initial_pages = {i} ({} KiB) cannot hold the 1 MiB stack and this layout's {} KiB of static data: use at least {}",
                    i as u64 * PAGE / 1024,
                    (need - STACK_BYTES).div_ceil(1024),
                    need.div_ceil(PAGE) + 1
                ),
            );
        }
    }
    Ok(layout)
}

/// Encodes `n` numbers (values then zeros) little-endian.
fn encode_numbers(el: &Elem, vals: &[Item], n: u32, what: &str) -> R<Vec<u8>> {
    let Elem::Prim { name, log2, signed, float } = *el else { unreachable!() };
    let size = 1usize << log2;
    let mut out = Vec::with_capacity(size * n as usize);
    for (k, v) in vals.iter().enumerate() {
        let bits: u64 = match (&v.value, float) {
            (V::Integer(i), false) => {
                let i = *i;
                if name == "bool" {
                    if i != 0 && i != 1 {
                        return fail(
                            v.line,
                            format!("element {k} of {what} is {i}, but a bool is 0 or 1"),
                        );
                    }
                    i as u64
                } else {
                    let bitsn = 8 * size as u32;
                    let (min, max): (i128, i128) = if signed {
                        (-(1i128 << (bitsn - 1)), (1i128 << (bitsn - 1)) - 1)
                    } else {
                        (0, (1i128 << bitsn) - 1)
                    };
                    if (i as i128) < min || (i as i128) > max {
                        return fail(
                            v.line,
                            format!(
                                "element {k} of {what} is {i}, outside the range of {name} ({min} to {max})"
                            ),
                        );
                    }
                    i as u64
                }
            }
            (V::Boolean(b), false) if name == "bool" => *b as u64,
            (V::Integer(i), true) => {
                if (*i as f64) as i64 != *i {
                    return fail(
                        v.line,
                        format!(
                            "element {k} of {what} is {i}, not exactly representable as {name}"
                        ),
                    );
                }
                if size == 4 { (*i as f32).to_bits() as u64 } else { (*i as f64).to_bits() }
            }
            (V::Float(f), true) => {
                if size == 4 {
                    (*f as f32).to_bits() as u64
                } else {
                    f.to_bits()
                }
            }
            _ => {
                return fail(
                    v.line,
                    format!(
                        "element {k} of {what} is {}, but the elements are {name}",
                        v.type_name()
                    ),
                );
            }
        };
        out.extend_from_slice(&bits.to_le_bytes()[..size]);
    }
    out.resize(size * n as usize, 0);
    Ok(out)
}
