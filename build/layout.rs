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

/// The phases of [`load`], in the order their problems are reported.
fn load_inner(path: &str, text: &str, profile_override: Option<&str>) -> R<Layout> {
    let doc = Doc::parse(text)?;
    let root = doc.root();
    check_keys(
        root,
        &["profile", "shadow_stack_slots", "memory", "type", "static"],
        "the layout file",
    )?;
    let profile = read_profile(root, profile_override)?;
    let shadow_stack_slots = get_int(root, "shadow_stack_slots", "the layout", 1, 1 << 24)?
        .map(|(v, _)| v as u32)
        .unwrap_or(16384);
    let (initial_pages, max_pages) = read_memory(root)?;
    let mut types = fixed_types(profile);
    let decls = declare_types(root, profile, &mut types)?;
    let classes = resolve_types(&decls, profile, &mut types)?;
    inherit_class_fields(&decls, &classes, &mut types)?;
    let statics = read_statics(root, &types)?;
    let layout = Layout {
        path: path.to_string(),
        profile,
        types,
        statics,
        shadow_stack_slots,
        initial_pages: initial_pages.map(|(v, _)| v as u32),
        max_pages: max_pages.map(|(v, _)| v as u32),
    };
    check_memory_fits(&layout, initial_pages, max_pages)?;
    Ok(layout)
}

/// The profile: `ASRT_PROFILE` if set, else the file's `profile`, else Classic. The file's value
/// is checked even when it is overridden.
fn read_profile(root: Tab, profile_override: Option<&str>) -> R<Profile> {
    let file_profile = match get_str(root, "profile", "the layout")? {
        Some((s, line)) => Some(Profile::parse(s).ok_or((
            line,
            format!("unknown profile `{s}` (expected \"classic\" or \"modern\")"),
        ))?),
        None => None,
    };
    match profile_override {
        Some(p) => Profile::parse(p)
            .ok_or((0, format!("ASRT_PROFILE is `{p}` (expected `classic` or `modern`)"))),
        None => Ok(file_profile.unwrap_or(Profile::Classic)),
    }
}

/// A page count and the line that sets it.
type Pages = Option<(i64, usize)>;

/// `[memory]`: the initial and the most pages, each optional; initial ≤ most.
fn read_memory(root: Tab) -> R<(Pages, Pages)> {
    let Some(item) = root.get("memory") else { return Ok((None, None)) };
    let Some(m) = item.table() else {
        return fail(item.line, format!("`memory` must be a table, found {}", item.type_name()));
    };
    check_keys(m, &["initial_pages", "max_pages"], "[memory]")?;
    let initial = get_int(m, "initial_pages", "[memory]", 1, 65536)?;
    let max = get_int(m, "max_pages", "[memory]", 1, 65536)?;
    if let (Some((i, line)), Some((m, _))) = (initial, max)
        && i > m
    {
        return fail(line, format!("initial_pages ({i}) is larger than max_pages ({m})"));
    }
    Ok((initial, max))
}

/// The profile's fixed types, in id order (declared types follow them).
fn fixed_types(profile: Profile) -> Vec<TypeDef> {
    let fixed = profile.fixed().iter().enumerate().map(|(id, (name, kind))| {
        let (flags, refs) = match kind {
            // AssemblyScript marks Object, ArrayBuffer and String POINTERFREE; ArrayBufferView
            // (flags 0) holds `buffer` at offset 0, which the collector follows as a class field.
            FixedKind::View => (0, vec![0]),
            _ => (flags::POINTERFREE, vec![]),
        };
        TypeDef {
            name: name.to_string(),
            id: id as u32,
            kind: TypeKind::Fixed(*kind),
            export: false,
            flags,
            base: 0,
            refs,
            line: 0,
        }
    });
    fixed.collect()
}

/// A `[[type]]` table and the index in `types` of the type it declares.
struct Decl<'a> {
    t: Tab<'a>,
    idx: usize,
}

/// First pass over `[[type]]`: names and ids, so that element types and bases can refer to any
/// type. A listed fixed type is checked against the profile; a new one is appended to `types`.
fn declare_types<'a>(
    root: Tab<'a>,
    profile: Profile,
    types: &mut Vec<TypeDef>,
) -> R<Vec<Decl<'a>>> {
    let fixed_count = types.len();
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
        let kind =
            get_str(t, "kind", &what)?.ok_or((t.line, format!("type `{name}` has no `kind`")))?;
        let export = get_bool(t, "export", &what)?.unwrap_or(false);
        if let Some(fixed) = types[..fixed_count].iter_mut().find(|f| f.name == name) {
            relist_fixed(t, fixed, nline, kind, export, profile)?;
            continue;
        }
        check_new_type(profile, types, t, (name, nline), kind)?;
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
        let kind = TypeKind::Class { size: 0 };
        let (flags, base, refs, line) = (0, 0, vec![], t.line);
        types.push(TypeDef { name: name.to_string(), id, kind, export, flags, base, refs, line });
        decls.push(Decl { t, idx: types.len() - 1 });
    }
    Ok(decls)
}

/// A fixed type listed in the file (e.g. to export its id, named on line `nline`): its kind and
/// `id` must match the profile, and it may set nothing else.
fn relist_fixed(
    t: Tab,
    fixed: &mut TypeDef,
    nline: usize,
    (kind, kline): (&str, usize),
    export: bool,
    profile: Profile,
) -> R<()> {
    let name = &fixed.name;
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
    if let Some((id, line)) = get_int(t, "id", &format!("type `{name}`"), 0, u32::MAX as i64)?
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
    Ok(())
}

/// A new type may not take a fixed type's kind, a fixed type's name (ignoring case), an earlier
/// type's name (ignoring case) or a primitive's name.
fn check_new_type(
    profile: Profile,
    types: &[TypeDef],
    t: Tab,
    (name, nline): (&str, usize),
    (kind, kline): (&str, usize),
) -> R<()> {
    if let Some(f) = profile.fixed().iter().find(|(_, k)| k.keyword() == kind) {
        let hint =
            if kind == "view" { " (a typed array is kind \"view\" with an `element`)" } else { "" };
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
        let at =
            if prev.line > 0 { format!(" (line {})", prev.line) } else { " (a fixed type)".into() };
        return fail(nline, format!("{how} `{}`{at}", prev.name));
    }
    if PRIMS.iter().any(|p| p.0 == name) {
        return fail(nline, format!("type name `{name}` is a primitive type"));
    }
    Ok(())
}

/// What the second pass learns about a declared class, for the third: its own ref offsets and
/// its base (id, line of `base`).
#[derive(Debug, Clone, Default)]
struct ClassDecl {
    own_refs: Vec<u32>,
    base: Option<(u32, usize)>,
}

/// Second pass over `[[type]]`: each type's kind, element type and flags. Returns what it read
/// of each class (indexed by type id), which needs every class resolved before it is used.
fn resolve_types(decls: &[Decl], profile: Profile, types: &mut [TypeDef]) -> R<Vec<ClassDecl>> {
    let mut classes = vec![ClassDecl::default(); types.len()];
    for d in decls {
        let t = d.t;
        let what = format!("type `{}`", types[d.idx].name);
        let (kind, kline) = get_str(t, "kind", &what)?.unwrap();
        let elem = read_element(t, &what, types)?;
        match kind {
            "view" | "array" | "staticarray" => {
                let why = format!("a \"{kind}\" has no declared fields");
                forbid(t, &["size", "refs", "base"], &what, &why)?;
                let elem = elem.ok_or_else(|| {
                    (t.line, format!("{what} of kind \"{kind}\" needs an `element` type"))
                })?;
                resolve_array_type(&mut types[d.idx], kind, elem, profile)?;
            }
            "class" => {
                let why = "a class has fields, not elements (use `size` and `refs`)";
                forbid(t, &["element", "nullable"], &what, why)?;
                classes[d.idx] = resolve_class(t, &what, d.idx, types)?;
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
    Ok(classes)
}

/// `element` and `nullable` of a type, with the line of `element`.
fn read_element(t: Tab, what: &str, types: &[TypeDef]) -> R<Option<(Elem, usize)>> {
    let Some((e, eline)) = get_str(t, "element", what)? else { return Ok(None) };
    let mut el = lookup_elem(types, e).ok_or_else(|| {
        (eline, format!("unknown element type `{e}` (a number type such as i32 or f64, `string`, or a declared type name)"))
    })?;
    if let Some(n) = get_bool(t, "nullable", what)? {
        match &mut el {
            Elem::Ref { nullable, .. } => *nullable = n,
            Elem::Prim { .. } => {
                return fail(
                    t.get("nullable").unwrap().line,
                    format!("`nullable` needs a reference element type, `{e}` is a number"),
                );
            }
        }
    }
    Ok(Some((el, eline)))
}

/// An element type by name: a number type, `string`, or any type (a reference).
fn lookup_elem(types: &[TypeDef], name: &str) -> Option<Elem> {
    if let Some(p) = PRIMS.iter().find(|p| p.0 == name) {
        return Some(Elem::Prim { name: p.0, log2: p.1, signed: p.2, float: p.3 });
    }
    let name = if name == "string" { "String" } else { name };
    types.iter().find(|t| t.name == name).map(|t| Elem::Ref { id: t.id, nullable: false })
}

/// The kind and flags of a typed array, Array or StaticArray (`kind` is its keyword).
fn resolve_array_type(
    ty: &mut TypeDef,
    kind: &str,
    (el, eline): (Elem, usize),
    profile: Profile,
) -> R<()> {
    ty.flags = el.flags();
    match kind {
        "view" => {
            if let Elem::Ref { .. } = el {
                return fail(eline, "a typed array (kind \"view\") holds numbers, not references");
            }
            ty.flags |= flags::ARRAYBUFFERVIEW;
            ty.base = profile.fixed().iter().position(|f| f.1 == FixedKind::View).unwrap() as u32;
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
    Ok(())
}

/// A class's `size` (set on `types[idx]`), its own `refs` and its `base`, which must be a class
/// declared earlier.
fn resolve_class(t: Tab, what: &str, idx: usize, types: &mut [TypeDef]) -> R<ClassDecl> {
    let (size, _) = get_int(t, "size", what, 0, (1 << 30) - 16)?.ok_or_else(|| {
        (t.line, format!("{what} of kind \"class\" needs a `size` (payload bytes)"))
    })?;
    types[idx].kind = TypeKind::Class { size: size as u32 };
    let own_refs = read_refs(t, what, size)?;
    let Some((b, bline)) = get_str(t, "base", what)? else {
        return Ok(ClassDecl { own_refs, base: None });
    };
    let Some(base) = types.iter().find(|x| x.name == b) else {
        return fail(bline, format!("unknown base class `{b}`"));
    };
    if !matches!(base.kind, TypeKind::Class { .. }) || base.id as usize >= idx {
        let why = if base.id as usize >= idx {
            "must be a class declared earlier"
        } else {
            "is not a class"
        };
        return fail(bline, format!("base `{b}` of {what} {why}"));
    }
    Ok(ClassDecl { own_refs, base: Some((base.id, bline)) })
}

/// A class's `refs`: distinct 4-aligned byte offsets of reference fields inside its `size`.
fn read_refs(t: Tab, what: &str, size: i64) -> R<Vec<u32>> {
    let Some(item) = t.get("refs") else { return Ok(Vec::new()) };
    let Some(items) = item.array() else {
        return fail(
            item.line,
            format!("`refs` of {what} must be an array of offsets, found {}", item.type_name()),
        );
    };
    let mut refs = Vec::new();
    for i in items {
        let &V::Integer(off) = i.value else {
            return fail(
                i.line,
                format!(
                    "`refs` of {what} must hold byte offsets (integers), found {}",
                    i.type_name()
                ),
            );
        };
        let problem = if off < 0 || off % 4 != 0 {
            "is not a non-negative multiple of 4".to_string()
        } else if off + 4 > size {
            format!("is outside its size of {size} bytes")
        } else if refs.contains(&(off as u32)) {
            "is listed twice".to_string()
        } else {
            refs.push(off as u32);
            continue;
        };
        return fail(i.line, format!("ref offset {off} of {what} {problem}"));
    }
    Ok(refs)
}

/// Third pass: each class's ref fields, its base's first, and its flags. Bases are declared
/// earlier, so one pass in id order sees every base complete.
fn inherit_class_fields(decls: &[Decl], classes: &[ClassDecl], types: &mut [TypeDef]) -> R<()> {
    for d in decls {
        let TypeKind::Class { size } = types[d.idx].kind else {
            continue;
        };
        let class = &classes[d.idx];
        let mut refs = Vec::new();
        if let Some((b, bline)) = class.base {
            let base = &types[b as usize];
            let TypeKind::Class { size: bsize } = base.kind else { unreachable!() };
            let name = &types[d.idx].name;
            if size < bsize {
                return fail(
                    bline,
                    format!(
                        "class `{name}` ({size} bytes) is smaller than its base `{}` ({bsize} bytes)",
                        base.name
                    ),
                );
            }
            if let Some(&off) = class.own_refs.iter().find(|&&o| o < bsize) {
                let line =
                    d.t.get("refs")
                        .and_then(|r| r.array())
                        .and_then(|items| {
                            items
                                .iter()
                                .find(|i| matches!(i.value, V::Integer(v) if *v as u32 == off))
                                .map(|i| i.line)
                        })
                        .unwrap_or(bline);
                return fail(
                    line,
                    format!(
                        "ref offset {off} of class `{name}` lies inside its base `{}` ({bsize} bytes): list only the fields the class adds",
                        base.name
                    ),
                );
            }
            refs.extend_from_slice(&base.refs);
            types[d.idx].base = b;
        }
        refs.extend_from_slice(&class.own_refs);
        refs.sort();
        types[d.idx].flags = if refs.is_empty() { flags::POINTERFREE } else { 0 };
        types[d.idx].refs = refs;
    }
    Ok(())
}

/// `keys` may not be set in `t` (`what`, e.g. a type of some kind), because `why`.
fn forbid(t: Tab, keys: &[&str], what: &str, why: &str) -> R<()> {
    match keys.iter().find_map(|k| t.get(k).map(|i| (k, i.line))) {
        Some((k, line)) => fail(line, format!("`{k}` is not allowed for {what}: {why}")),
        None => Ok(()),
    }
}

/// UTF-16LE, the payload of a String.
pub fn utf16_bytes(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(|u| u.to_le_bytes()).collect()
}

/// `[[static]]`: names first (so that arrays can refer to any named static), then types, then
/// payloads. The named statics get indices 0.. in file order; anonymous parts (element Strings,
/// the buffers of arrays) follow.
fn read_statics(root: Tab, types: &[TypeDef]) -> R<Vec<StaticObj>> {
    let tabs = tables(root, "static")?;
    let names = static_names(&tabs)?;
    let objs = names
        .iter()
        .map(|(name, _)| StaticObj {
            name: name.clone(),
            named: true,
            export: true,
            type_id: 0,
            payload: Payload::Bytes(vec![]),
            describe: String::new(),
        })
        .collect();
    let fixed = |kind| types.iter().find(|t| t.kind == TypeKind::Fixed(kind)).unwrap().id;
    let (string_id, buffer_id) = (fixed(FixedKind::String), fixed(FixedKind::Buffer));
    let mut st = Statics { types, names, objs, string_id, buffer_id };
    for (si, &t) in tabs.iter().enumerate() {
        st.read_type(si, t)?;
    }
    for (si, &t) in tabs.iter().enumerate() {
        let (payload, describe) = st.payload(si, t)?;
        st.objs[si].payload = payload;
        st.objs[si].describe = describe;
    }
    Ok(st.objs)
}

/// The names of the statics with their lines: identifiers, unique ignoring case.
fn static_names(tabs: &[Tab]) -> R<Vec<(String, usize)>> {
    let mut names: Vec<(String, usize)> = Vec::new();
    for &t in tabs {
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
    Ok(names)
}

/// The statics while their payloads are built.
struct Statics<'a> {
    types: &'a [TypeDef],
    /// The named statics' names and the lines of their `name`, by index.
    names: Vec<(String, usize)>,
    objs: Vec<StaticObj>,
    string_id: u32,
    buffer_id: u32,
}

/// One `[[static]]` and what its payload is built from.
struct StaticDecl<'a> {
    t: Tab<'a>,
    name: String,
    /// `static `name``, for messages.
    what: String,
    length: Option<(i64, usize)>,
    /// The elements and the line of `values`.
    values: Option<(Vec<Item<'a>>, usize)>,
    value: Option<(&'a str, usize)>,
}

impl<'a> StaticDecl<'a> {
    fn read(t: Tab<'a>, name: String) -> R<StaticDecl<'a>> {
        let what = format!("static `{name}`");
        let length = get_int(t, "length", &what, 0, (1 << 28) as i64)?;
        let values = match t.get("values") {
            None => None,
            Some(i) => match i.array() {
                Some(v) => Some((v, i.line)),
                None => {
                    return fail(
                        i.line,
                        format!("`values` of {what} must be an array, found {}", i.type_name()),
                    );
                }
            },
        };
        let value = get_str(t, "value", &what)?;
        Ok(StaticDecl { t, name, what, length, values, value })
    }

    fn forbid(&self, keys: &[&str], why: &str) -> R<()> {
        forbid(self.t, keys, &self.what, why)
    }

    fn vals(&self) -> &[Item<'a>] {
        self.values.as_ref().map(|v| v.0.as_slice()).unwrap_or(&[])
    }

    /// The number of elements: `length`, which must cover the values, or else the values'.
    fn count(&self) -> R<u32> {
        let n = self.vals().len();
        match self.length {
            Some((l, line)) if (l as usize) < n => {
                fail(line, format!("`length` {l} of {} is less than its {n} values", self.what))
            }
            Some((l, _)) => Ok(l as u32),
            None => Ok(n as u32),
        }
    }

    /// The ABI's largest payload (§1), checked before any payload is built.
    fn fits(&self, bytes: u64) -> R<()> {
        if bytes <= MAX_PAYLOAD {
            return Ok(());
        }
        let line = self.length.map(|(_, l)| l).or(self.values.as_ref().map(|v| v.1));
        fail(
            line.unwrap_or(self.t.line),
            format!(
                "{} needs {bytes} bytes, more than the largest payload ({MAX_PAYLOAD} bytes)",
                self.what
            ),
        )
    }
}

impl Statics<'_> {
    /// The `type` and `export` of static `si`.
    fn read_type(&mut self, si: usize, t: Tab) -> R<()> {
        let what = format!("static `{}`", self.names[si].0);
        let (tname, tline) =
            get_str(t, "type", &what)?.ok_or((t.line, format!("{what} has no `type`")))?;
        let tname_n = if tname == "string" { "String" } else { tname };
        let ty = self
            .types
            .iter()
            .find(|x| x.name == tname_n)
            .ok_or((tline, format!("unknown type `{tname}` for {what}")))?;
        self.objs[si].type_id = ty.id;
        self.objs[si].export = get_bool(t, "export", &what)?.unwrap_or(true);
        Ok(())
    }

    /// The payload of static `si` (whose type is read) and a description of it.
    fn payload(&mut self, si: usize, t: Tab) -> R<(Payload, String)> {
        let s = StaticDecl::read(t, self.names[si].0.clone())?;
        let types = self.types;
        let ty = &types[self.objs[si].type_id as usize];
        match &ty.kind {
            TypeKind::Fixed(FixedKind::String) => {
                s.forbid(&["values", "length"], "a String takes a `value`")?;
                let (text, _) = s.value.ok_or_else(|| {
                    (t.line, format!("{} of type String needs a `value`", s.what))
                })?;
                Ok((Payload::Bytes(utf16_bytes(text)), format!("String {text:?}")))
            }
            TypeKind::Fixed(FixedKind::Buffer) => {
                s.forbid(&["value"], "an ArrayBuffer takes byte `values` and/or a `length`")?;
                let elem = Elem::Prim { name: "u8", log2: 0, signed: false, float: false };
                let n = s.count()?;
                s.fits(n as u64)?;
                let bytes = encode_numbers(&elem, s.vals(), n, &s.what)?;
                Ok((Payload::Bytes(bytes), format!("ArrayBuffer of {n} bytes")))
            }
            TypeKind::Fixed(FixedKind::Object) => {
                s.forbid(&["value", "values", "length"], "an Object has no payload")?;
                Ok((Payload::Bytes(vec![]), "Object".into()))
            }
            TypeKind::Fixed(FixedKind::View) => fail(
                t.get("type").unwrap().line,
                format!(
                    "{}: a plain ArrayBufferView cannot be a static; declare a typed array type (kind \"view\" with an `element`)",
                    s.what
                ),
            ),
            TypeKind::Class { size } => {
                s.forbid(&["value", "values", "length"], "class statics are zero-initialized")?;
                Ok((Payload::Bytes(vec![0; *size as usize]), format!("{} (zeroed)", ty.name)))
            }
            TypeKind::TypedArray(el) | TypeKind::Array(el) | TypeKind::StaticArray(el) => {
                self.array_payload(&s, ty, el)
            }
        }
    }

    /// A typed array, Array or StaticArray of `el`: a StaticArray holds its elements, the others
    /// are views of a static ArrayBuffer of their own that does.
    fn array_payload(&mut self, s: &StaticDecl, ty: &TypeDef, el: &Elem) -> R<(Payload, String)> {
        s.forbid(&["value"], "an array takes `values` and/or a `length`")?;
        let n = s.count()?;
        s.fits((n as u64) << el.log2())?;
        let inner = match el {
            Elem::Prim { .. } => Payload::Bytes(encode_numbers(el, s.vals(), n, &s.what)?),
            Elem::Ref { id, .. } => Payload::Refs(self.ref_slots(s, *id, n)?),
        };
        let desc = format!("{} of {n} elements", ty.name);
        if let TypeKind::StaticArray(_) = ty.kind {
            return Ok((inner, desc));
        }
        let byte_length = inner.size();
        let describe = format!("ArrayBuffer of {byte_length} bytes (the buffer of `{}`)", s.name);
        let buffer = self.push_anon(format!("{}_buffer", s.name), self.buffer_id, inner, describe);
        let length = if matches!(ty.kind, TypeKind::Array(_)) { Some(n) } else { None };
        Ok((Payload::View { buffer, byte_length, length }, desc))
    }

    /// Appends an anonymous static (an element String or a buffer); returns its index.
    fn push_anon(
        &mut self,
        name: String,
        type_id: u32,
        payload: Payload,
        describe: String,
    ) -> usize {
        self.objs.push(StaticObj { name, named: false, export: false, type_id, payload, describe });
        self.objs.len() - 1
    }

    /// The `n` slots of an array of references to `want`: the values', then nulls.
    fn ref_slots(&mut self, s: &StaticDecl, want: u32, n: u32) -> R<Vec<Slot>> {
        let mut slots = Vec::new();
        for (k, v) in s.vals().iter().enumerate() {
            let slot = match v.value {
                V::String(text) => self.string_element(s, k, v.line, text, want)?,
                V::Table(_) => self.ref_element(s, k, v.table().unwrap(), want)?,
                _ => {
                    return fail(
                        v.line,
                        format!(
                            "element {k} of {} is {}, but the elements are references (`{}`): write a string, `{{ ref = \"name\" }}` or `{{ null = true }}`",
                            s.what,
                            v.type_name(),
                            self.types[want as usize].name
                        ),
                    );
                }
            };
            slots.push(slot);
        }
        slots.resize(n as usize, Slot::Null);
        Ok(slots)
    }

    /// Element `k` written as a string: a new anonymous String static, if the elements are Strings.
    fn string_element(
        &mut self,
        s: &StaticDecl,
        k: usize,
        line: usize,
        text: &str,
        want: u32,
    ) -> R<Slot> {
        if want != self.string_id {
            return fail(
                line,
                format!(
                    "element {k} of {} is a string, but the elements are `{}`",
                    s.what, self.types[want as usize].name
                ),
            );
        }
        let describe = format!("String {text:?} (element {k} of `{}`)", s.name);
        let payload = Payload::Bytes(utf16_bytes(text));
        Ok(Slot::Static(self.push_anon(
            format!("{}_{k}", s.name),
            self.string_id,
            payload,
            describe,
        )))
    }

    /// Element `k` written as a table: `{ ref = "name" }`, a named static of type `want` or of a
    /// class derived from it, or `{ null = true }`.
    fn ref_element(&self, s: &StaticDecl, k: usize, tb: Tab, want: u32) -> R<Slot> {
        let what = format!("element {k} of {}", s.what);
        check_keys(tb, &["ref", "null"], &what)?;
        match (tb.get("ref"), tb.get("null")) {
            (Some(Item { value: V::String(r), line, .. }), None) => {
                let Some(ri) = self.names.iter().position(|(n, _)| n == r) else {
                    return fail(line, format!("{what} refers to the unknown static `{r}`"));
                };
                let found = self.objs[ri].type_id;
                if !is_a(self.types, found, want) {
                    return fail(
                        line,
                        format!(
                            "{what} refers to `{r}` of type `{}`, but the elements are `{}`",
                            self.types[found as usize].name, self.types[want as usize].name
                        ),
                    );
                }
                Ok(Slot::Static(ri))
            }
            (None, Some(Item { value: V::Boolean(true), .. })) => Ok(Slot::Null),
            _ => fail(
                tb.line,
                format!("{what}: write a string, `{{ ref = \"name\" }}` or `{{ null = true }}`"),
            ),
        }
    }
}

/// Is type `id` the type `want`, or a class derived from it?
fn is_a(types: &[TypeDef], mut id: u32, want: u32) -> bool {
    loop {
        if id == want {
            return true;
        }
        let t = &types[id as usize];
        if t.base == 0 || !matches!(t.kind, TypeKind::Class { .. }) {
            return false;
        }
        id = t.base;
    }
}

/// The 1 MiB stack and the static data must fit in the memory's maximum (4 GiB without a cap)
/// and in the initial memory.
fn check_memory_fits(layout: &Layout, initial: Pages, max: Pages) -> R<()> {
    let need = STACK_BYTES + layout.static_bytes(0);
    let data_kib = (need - STACK_BYTES).div_ceil(1024);
    let (cap, cap_line) = max.map_or((65536, 0), |(m, line)| (m as u64, line));
    if need > cap * PAGE {
        return fail(
            cap_line,
            format!(
                "the 1 MiB stack and this layout's {data_kib} KiB of static data do not fit in {cap} pages of memory"
            ),
        );
    }
    if let Some((i, line)) = initial
        && (i as u64) * PAGE < need
    {
        return fail(
            line,
            format!(
                "initial_pages = {i} ({} KiB) cannot hold the 1 MiB stack and this layout's {data_kib} KiB of static data: use at least {}",
                i as u64 * PAGE / 1024,
                need.div_ceil(PAGE) + 1
            ),
        );
    }
    Ok(())
}

/// Encodes `n` numbers (values then zeros) little-endian.
fn encode_numbers(el: &Elem, vals: &[Item], n: u32, what: &str) -> R<Vec<u8>> {
    let size = 1usize << el.log2();
    let mut out = Vec::with_capacity(size * n as usize);
    for (k, v) in vals.iter().enumerate() {
        let bits = number_bits(el, v, k, what)?;
        out.extend_from_slice(&bits.to_le_bytes()[..size]);
    }
    out.resize(size * n as usize, 0);
    Ok(out)
}

/// The bits of element `k` of `what`, a number of type `el`: integers range-checked, floats
/// from integers only where exact.
fn number_bits(el: &Elem, v: &Item, k: usize, what: &str) -> R<u64> {
    let Elem::Prim { name, log2, signed, float } = *el else { unreachable!() };
    let size = 1usize << log2;
    match (v.value, float) {
        (&V::Integer(i), false) if name == "bool" => {
            if i != 0 && i != 1 {
                return fail(v.line, format!("element {k} of {what} is {i}, but a bool is 0 or 1"));
            }
            Ok(i as u64)
        }
        (&V::Integer(i), false) => {
            let bits = 8 * size as u32;
            let (min, max): (i128, i128) = if signed {
                (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1)
            } else {
                (0, (1i128 << bits) - 1)
            };
            if (i as i128) < min || (i as i128) > max {
                return fail(
                    v.line,
                    format!(
                        "element {k} of {what} is {i}, outside the range of {name} ({min} to {max})"
                    ),
                );
            }
            Ok(i as u64)
        }
        (&V::Boolean(b), false) if name == "bool" => Ok(b as u64),
        (&V::Integer(i), true) => {
            if (i as f64) as i64 != i {
                return fail(
                    v.line,
                    format!("element {k} of {what} is {i}, not exactly representable as {name}"),
                );
            }
            Ok(if size == 4 { (i as f32).to_bits() as u64 } else { (i as f64).to_bits() })
        }
        (&V::Float(f), true) => {
            Ok(if size == 4 { (f as f32).to_bits() as u64 } else { f.to_bits() })
        }
        _ => fail(
            v.line,
            format!("element {k} of {what} is {}, but the elements are {name}", v.type_name()),
        ),
    }
}
