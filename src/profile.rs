//! The two ABI profiles (docs/ABI.md §3): one definition, used by the runtime (`rtti.rs`) and by
//! `build.rs` (`build/layout.rs` includes this file with `#[path]`).

/// An ABI profile: which fixed type ids and which RTTI entry shape a build has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// ArrayBuffer 0, String 1, ArrayBufferView 2; RTTI entries `{ flags, base }`.
    Classic,
    /// Object 0, ArrayBuffer 1, String 2, ArrayBufferView 3; RTTI entries `{ flags }`.
    Modern,
}

impl Profile {
    /// The profile a layout file or `ASRT_PROFILE` names (`classic` or `modern`).
    pub fn parse(s: &str) -> Option<Profile> {
        match s {
            "classic" => Some(Profile::Classic),
            "modern" => Some(Profile::Modern),
            _ => None,
        }
    }
}
