//! Type ids, looked up by flags (the layout may be regenerated with other ids).

use asrt::rtti::{self, flags};

/// The ids of the types the models use.
#[derive(Clone, Copy, Debug)]
pub struct Ids {
    /// ArrayBuffer.
    pub abuf: u32,
    /// String.
    pub string: u32,
    /// Array<string> (an Array with managed 4-byte elements).
    pub arr_str: u32,
    /// Array<i32>.
    pub arr_i32: u32,
    /// StaticArray<string>.
    pub sarr_str: u32,
    /// TreeNode (a plain class with ref fields at 0 and 4).
    pub tree: u32,
}

fn find_type(what: &str, pred: impl Fn(&rtti::TypeDesc) -> bool) -> u32 {
    rtti::TYPES
        .iter()
        .position(pred)
        .unwrap_or_else(|| panic!("the layout declares no {what} type")) as u32
}

/// Looks the ids up in `rtti::TYPES`.
pub fn ids() -> Ids {
    let a2 = |f: u32| rtti::value_align_log2(f) == 2;
    let shape = flags::ARRAYBUFFERVIEW | flags::ARRAY | flags::STATICARRAY | flags::POINTERFREE;
    Ids {
        abuf: rtti::ID_ARRAYBUFFER,
        string: rtti::ID_STRING,
        arr_str: find_type("Array<string>", |t| {
            t.flags & flags::ARRAY != 0 && t.flags & flags::VALUE_MANAGED != 0 && a2(t.flags)
        }),
        arr_i32: find_type("Array<i32>", |t| {
            t.flags & flags::ARRAY != 0
                && t.flags & (flags::VALUE_MANAGED | flags::VALUE_FLOAT) == 0
                && a2(t.flags)
        }),
        sarr_str: find_type("StaticArray<string>", |t| {
            t.flags & flags::STATICARRAY != 0 && t.flags & flags::VALUE_MANAGED != 0 && a2(t.flags)
        }),
        tree: find_type("TreeNode", |t| t.flags & shape == 0 && t.refs == [0, 4]),
    }
}
