//! AssemblyScript's RTTI flag bits (docs/ABI.md §3). Shared with build.rs through `#[path]`.

/// Typed array or other ArrayBufferView.
pub const ARRAYBUFFERVIEW: u32 = 1 << 0;
/// `Array<T>`.
pub const ARRAY: u32 = 1 << 1;
/// `StaticArray<T>`.
pub const STATICARRAY: u32 = 1 << 2;
/// `Set<T>`.
pub const SET: u32 = 1 << 3;
/// `Map<K, V>`.
pub const MAP: u32 = 1 << 4;
/// Holds no references.
pub const POINTERFREE: u32 = 1 << 5;
/// Value alignment log2 = 0.
pub const VALUE_ALIGN_0: u32 = 1 << 6;
/// Value alignment log2 = 1.
pub const VALUE_ALIGN_1: u32 = 1 << 7;
/// Value alignment log2 = 2.
pub const VALUE_ALIGN_2: u32 = 1 << 8;
/// Value alignment log2 = 3.
pub const VALUE_ALIGN_3: u32 = 1 << 9;
/// Value alignment log2 = 4.
pub const VALUE_ALIGN_4: u32 = 1 << 10;
/// Values are signed.
pub const VALUE_SIGNED: u32 = 1 << 11;
/// Values are floats.
pub const VALUE_FLOAT: u32 = 1 << 12;
/// Values are nullable.
pub const VALUE_NULLABLE: u32 = 1 << 13;
/// Values are managed references.
pub const VALUE_MANAGED: u32 = 1 << 14;
/// Key alignment log2 = 0.
pub const KEY_ALIGN_0: u32 = 1 << 15;
/// Key alignment log2 = 1.
pub const KEY_ALIGN_1: u32 = 1 << 16;
/// Key alignment log2 = 2.
pub const KEY_ALIGN_2: u32 = 1 << 17;
/// Key alignment log2 = 3.
pub const KEY_ALIGN_3: u32 = 1 << 18;
/// Key alignment log2 = 4.
pub const KEY_ALIGN_4: u32 = 1 << 19;
/// Keys are signed.
pub const KEY_SIGNED: u32 = 1 << 20;
/// Keys are floats.
pub const KEY_FLOAT: u32 = 1 << 21;
/// Keys are nullable.
pub const KEY_NULLABLE: u32 = 1 << 22;
/// Keys are managed references.
pub const KEY_MANAGED: u32 = 1 << 23;
