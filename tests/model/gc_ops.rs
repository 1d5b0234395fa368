//! The GC model's operations: [`GcOp::decode`] turns a [`RawOp`] into a [`GcOp`] once, so that
//! a failing case prints operations a person can read; [`GcModel::apply`](super::GcModel::apply)
//! applies them.
//!
//! Objects, containers and children are named by numbers that the model takes modulo the
//! candidates it has when the operation is applied, so any sequence applies to any state.

use std::vec::Vec;

use super::{K, RawOp, Rng};

/// An object for the GC model to make, with its sizes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NewObj {
    /// A String of `bytes` bytes of checksummed content.
    Str {
        /// Its rtSize.
        bytes: u32,
    },
    /// An ArrayBuffer of `bytes` bytes of checksummed content.
    Buf {
        /// Its rtSize.
        bytes: u32,
    },
    /// An Array<string> with room for `cap` elements, the first `len` of them null.
    ArrStr {
        /// Capacity in elements.
        cap: u32,
        /// Length.
        len: u32,
    },
    /// An Array<i32> with room for `cap` elements, the first `len` of them random.
    ArrI32 {
        /// Capacity in elements.
        cap: u32,
        /// Length.
        len: u32,
    },
    /// A StaticArray<string> of `slots` null slots.
    SArr {
        /// Its length.
        slots: u32,
    },
    /// A TreeNode, both fields null.
    Tree,
}

impl NewObj {
    /// Decodes the object of kind `kind % 6` (String, ArrayBuffer, Array<string>, Array<i32>,
    /// StaticArray<string>, TreeNode), with the large sizes for `big` and the sizes from `y`.
    pub fn decode(kind: u32, big: bool, y: u32) -> Self {
        match kind % 6 {
            0 => NewObj::Str { bytes: if big { 2 * (y % 3000) } else { 2 * (y % 200) } },
            1 => NewObj::Buf { bytes: if big { y % 20_000 } else { y % 500 } },
            2 | 3 => {
                let cap = if big { 300 + y % 1700 } else { y % 17 };
                let len = if cap == 0 { 0 } else { (y >> 12) % (cap + 1) };
                if kind % 6 == 2 {
                    NewObj::ArrStr { cap, len }
                } else {
                    NewObj::ArrI32 { cap, len }
                }
            }
            4 => NewObj::SArr { slots: if big { 300 + y % 900 } else { y % 9 } },
            _ => NewObj::Tree,
        }
    }

    /// The model's kind of the object.
    pub fn kind(self) -> K {
        match self {
            NewObj::Str { .. } => K::Str,
            NewObj::Buf { .. } => K::Buf,
            NewObj::ArrStr { .. } => K::ArrStr,
            NewObj::ArrI32 { .. } => K::ArrI32,
            NewObj::SArr { .. } => K::SArr,
            NewObj::Tree => K::Tree,
        }
    }
}

/// Where a new object goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    /// Pushed on the shadow stack (garbage when the model's stack is full).
    Stack,
    /// Pinned.
    Pin,
    /// Stored in static slot `slot` with the barrier.
    Static {
        /// The static slot.
        slot: u32,
        /// The barrier's mode.
        multiple: bool,
    },
    /// Stored in slot `slot` of the tracked container `container` (an object with reference
    /// slots) with the barrier; with no such container, in static slot `container`.
    Field {
        /// The container.
        container: u32,
        /// The slot in it.
        slot: u32,
        /// The barrier's mode.
        multiple: bool,
    },
    /// Nowhere: garbage at once.
    Garbage,
}

impl Place {
    /// Decodes a destination `dest % 6`, with `salt` for its slot and the barrier's mode.
    pub fn decode(dest: u32, salt: u32) -> Self {
        let multiple = salt & 1 == 1;
        match dest % 6 {
            0 => Place::Stack,
            1 => Place::Pin,
            2 => Place::Static { slot: salt, multiple },
            3 | 4 => Place::Field { container: salt, slot: salt >> 8, multiple },
            _ => Place::Garbage,
        }
    }
}

/// One operation of the GC model. A `child` is a tracked object that may be stored anywhere
/// (`Some(i)`: candidate `i`, null when there is none) or null (`None`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GcOp {
    /// Makes `obj` and puts it at `place`.
    New {
        /// The object.
        obj: NewObj,
        /// Where it goes.
        place: Place,
    },
    /// Stores `child` in slot `slot` of the tracked container `container` with the barrier;
    /// with no container, makes a TreeNode and puts it at `or_tree`.
    Store {
        /// The container.
        container: u32,
        /// The slot in it.
        slot: u32,
        /// What is stored.
        child: Option<u32>,
        /// The barrier's mode.
        multiple: bool,
        /// Where the TreeNode goes when there is no container.
        or_tree: Place,
    },
    /// Pushes `element` (`child`) onto the tracked array `array` (a random number onto an
    /// Array<i32>); a full array's buffer is renewed to twice its capacity plus 1, or plus 300
    /// with `big`.
    ArrayPush {
        /// The array.
        array: u32,
        /// The larger growth.
        big: bool,
        /// The element of an Array<string>.
        element: Option<u32>,
        /// The barrier's mode.
        multiple: bool,
    },
    /// Pushes `child` on the shadow stack (nothing when the model's stack is full).
    Push {
        /// What is pushed.
        child: Option<u32>,
    },
    /// Pops `n` slots, at most as many as there are; with none to pop, a pop of one more slot
    /// than there are must fail with StackUnderflow and change nothing.
    Pop {
        /// How many (0..4).
        n: u32,
    },
    /// Pins the object `object` (a child candidate) once more.
    Pin {
        /// The object.
        object: u32,
    },
    /// Unpins the pinned object `object` once; with `unpinned` or nothing pinned, unpins the
    /// tracked object `object` instead if it is not pinned, which must fail with NotPinned and
    /// change nothing.
    Unpin {
        /// The object.
        object: u32,
        /// Try an object that is not pinned.
        unpinned: bool,
    },
    /// `n` GC steps (1..=8).
    Steps {
        /// How many.
        n: u32,
    },
    /// A full collection, after which exactly the reachable objects are live.
    Collect,
    /// One GC step (the collection selector's other three quarters; counted apart from
    /// [`GcOp::Steps`]).
    Step,
    /// Renews the tracked String, ArrayBuffer or StaticArray `object` (the first from there on
    /// that is not pinned and has a single holder) to `2 * (size % 400)` bytes,
    /// `size % 900` bytes or `size % 14` slots, and stores the new ref in its holder.
    Renew {
        /// The object.
        object: u32,
        /// The new size, by kind.
        size: u32,
        /// The barrier's mode for the store.
        multiple: bool,
    },
    /// Stores `child` in static slot `slot` with the barrier.
    StoreStatic {
        /// The static slot.
        slot: u32,
        /// What is stored.
        child: Option<u32>,
        /// The barrier's mode.
        multiple: bool,
    },
    /// Sets the collector's pacing.
    Configure {
        /// The pause (percent).
        pause: u32,
        /// The work per step.
        work: u32,
    },
    /// Clears the tracked container `container`: nulls every slot of a TreeNode or a
    /// StaticArray, truncates an array to `len % (length + 1)` elements.
    Clear {
        /// The container.
        container: u32,
        /// The new length of an array.
        len: u32,
    },
    /// A weak-reference or finalizer operation.
    Weak(WeakOp),
}

/// A weak-reference or finalizer operation of the GC model (tests/model/weak.rs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WeakOp {
    /// A weak reference to the tracked object `object`.
    New {
        /// The object (a child candidate).
        object: u32,
    },
    /// Reads the weak reference `weak` (through the read barrier).
    Get {
        /// Which of the model's weak references.
        weak: u32,
    },
    /// Releases the weak reference `weak`.
    Free {
        /// Which of the model's weak references.
        weak: u32,
    },
    /// Registers the tracked object `object` for finalization.
    Register {
        /// The object (a child candidate).
        object: u32,
    },
    /// Unregisters the pending registration `reg`.
    Unregister {
        /// Which of the pending registrations.
        reg: u32,
    },
    /// Maps the tracked object `key` to `value` in the weak map `map` (a new map when there
    /// is none).
    MapSet {
        /// Which of the model's weak maps.
        map: u32,
        /// The key (a child candidate).
        key: u32,
        /// The value (a child candidate or null).
        value: Option<u32>,
    },
    /// Deletes the entry `entry` of the weak map `map`.
    MapDelete {
        /// Which of the model's weak maps.
        map: u32,
        /// Which of its entries.
        entry: u32,
    },
    /// A new weak map (at most four at once), or with `free` releases the map `map`.
    MapNewOrFree {
        /// Which of the model's weak maps.
        map: u32,
        /// Release it instead.
        free: bool,
    },
    /// A forged (`which % 4 == 0`), released (1) or delivered (2) handle, or a forged weak-map
    /// handle (3), which must be rejected with memory unchanged.
    Hostile {
        /// Which kind of bad handle.
        which: u32,
        /// Picks one.
        salt: u32,
    },
}

impl WeakOp {
    /// Decodes `k % 12`: two twelfths each make weak references, registrations and weak-map
    /// entries; one each reads, releases, unregisters, deletes an entry, makes or frees a map,
    /// and tries a bad handle.
    pub fn decode((k, a, b): RawOp) -> Self {
        match k % 12 {
            0 | 1 => WeakOp::New { object: a },
            2 => WeakOp::Get { weak: a },
            3 => WeakOp::Free { weak: a },
            4 | 5 => WeakOp::Register { object: a },
            6 => WeakOp::Unregister { reg: a },
            7 => WeakOp::Hostile { which: a, salt: b },
            8 | 9 => WeakOp::MapSet { map: b >> 16, key: a, value: child(b & 0xFFFF) },
            10 => WeakOp::MapDelete { map: b, entry: a },
            _ => WeakOp::MapNewOrFree { map: a, free: b.is_multiple_of(4) },
        }
    }
}

/// A child operand: null for a sixth of the values, else a candidate.
fn child(salt: u32) -> Option<u32> {
    (!salt.is_multiple_of(6)).then_some(salt / 6)
}

impl GcOp {
    /// Decodes a raw operation (selector `k % 20`): 5/20 make objects, 3/20 store into
    /// containers, 2/20 run GC steps, and 1/20 each push onto an array, push, pop, pin, unpin,
    /// collect (a quarter of the time, else one step), renew, store a static, configure, clear.
    pub fn decode((k, a, b): RawOp) -> Self {
        let multiple = b & 0x8000_0000 != 0;
        match k % 20 {
            0..=4 => GcOp::New {
                obj: NewObj::decode(a, (a >> 3).is_multiple_of(29), b),
                place: Place::decode(a >> 16, b.rotate_left(7)),
            },
            5..=7 => GcOp::Store {
                container: a,
                slot: b >> 3,
                child: child(b.rotate_right(11)),
                multiple,
                or_tree: Place::decode(2, b),
            },
            8 => GcOp::ArrayPush {
                array: a,
                big: b.is_multiple_of(17),
                element: child(b >> 1),
                multiple,
            },
            9 => GcOp::Push { child: child(a) },
            10 => GcOp::Pop { n: a % 4 },
            11 => GcOp::Pin { object: (a | 1) / 6 },
            12 => GcOp::Unpin { object: b, unpinned: a.is_multiple_of(5) },
            13 | 14 => GcOp::Steps { n: a % 8 + 1 },
            15 if a.is_multiple_of(4) => GcOp::Collect,
            15 => GcOp::Step,
            16 => GcOp::Renew { object: a, size: b, multiple },
            17 => GcOp::StoreStatic { slot: a, child: child(b), multiple },
            18 => {
                let (pause, work) = match a % 5 {
                    0 => (10, 1024),
                    1 | 2 => (100, 1024),
                    3 => (100, 4096),
                    _ => (100, 64 * 1024),
                };
                GcOp::Configure { pause, work }
            }
            _ => GcOp::Clear { container: a, len: b },
        }
    }
}

impl GcOp {
    /// Decodes a raw operation of the weak mix (selector `k % 28`): eight in 28 are weak
    /// operations ([`WeakOp::decode`] of `k / 28` and `a`), the rest the mix of
    /// [`GcOp::decode`].
    pub fn decode_weak((k, a, b): RawOp) -> Self {
        match k % 28 {
            s @ 0..=19 => GcOp::decode((s, a, b)),
            _ => GcOp::Weak(WeakOp::decode(((k / 28) ^ (a >> 24) as u8, a & 0xFF_FFFF, b))),
        }
    }
}

impl Rng {
    /// `n` GC model operations of the weak mix ([`GcOp::decode_weak`]).
    pub fn weak_ops(&mut self, n: usize) -> Vec<GcOp> {
        self.ops(n).into_iter().map(GcOp::decode_weak).collect()
    }

    /// `n` GC model operations.
    pub fn gc_ops(&mut self, n: usize) -> Vec<GcOp> {
        self.ops(n).into_iter().map(GcOp::decode).collect()
    }
}
