//! A typed Rust API over [`Runtime`] for Rust programs that link asrt as a crate.
//!
//! - [`Ref<T>`]: a `Copy` u32 ref to a managed object of class `T`, non-null (`Option<Ref<T>>` is
//!   the nullable form and is still 4 bytes).
//! - [`Class`]: ties a Rust marker type to a type id of the layout (its rtId and payload size).
//! - [`Field<C, V>`]: a field of class `C` holding a `V` at a byte offset, checked at compile time
//!   against the layout (in bounds, aligned, and a reference field exactly where the collector
//!   traces one).
//! - [`Mutator<M>`]: the runtime seen through these types: [`Mutator::alloc`], [`Mutator::get`] /
//!   [`Mutator::set`] (every store of a ref goes through the write barrier), shadow-stack roots
//!   ([`Mutator::scope`], [`Mutator::root`], [`Mutator::slot`]) and GC triggers
//!   ([`Mutator::step`], [`Mutator::collect`]). It is a `#[repr(transparent)]` wrapper, so
//!   [`Mutator::from_runtime`] views any `&mut Runtime<M>` as one for free, and it derefs to the
//!   runtime for everything else.
//! - [`Weak<T>`], [`Finalizer<T>`] and [`WeakMap<K, V>`]: weak references, finalizer
//!   registrations and ephemeron maps ([`Mutator::weak`], [`Mutator::register_finalizer`],
//!   [`Mutator::weak_map`], docs/ABI.md §10).
//! - On wasm32, `asrt::api::with` lends the module's own global runtime (the one the exports use).
//!
//! # Rooting
//!
//! The collector runs *during allocation*: any `alloc` may do a bounded GC step, and a step may
//! free every object that is not reachable from a root. A `Ref` held in a Rust local is **not** a
//! root. Before allocating, put each ref you still need on the shadow stack with
//! [`Mutator::root`] (or keep it reachable from a rooted object). Roots pushed inside
//! [`Mutator::scope`] are popped when the closure returns. The collector never moves objects, so
//! a rooted `Ref` stays valid as it is.
//!
//! # Checked and unchecked access
//!
//! A `Ref` that was not kept alive dangles. The safe accessors ([`Mutator::get`],
//! [`Mutator::set`], [`Mutator::root`]) validate the object first (a live managed block of the
//! field's class, large enough) and panic otherwise; validation is O(1) but reads the header and
//! the neighbour's. The `*_unchecked` variants skip it and are `unsafe`: the caller promises the
//! refs are live. Those are what a hot loop uses.
//!
//! # Example
//!
//! ```
//! use asrt::api::{Class, Field, Mutator, Ref};
//! use asrt::host::HostConfig;
//! use asrt::{rtti, Runtime};
//!
//! /// `class TreeNode { left: TreeNode | null; right: TreeNode | null }`
//! struct TreeNode;
//! // SAFETY: the layout's TreeNode is a plain class of 8 bytes with refs at 0 and 4.
//! unsafe impl Class for TreeNode {
//!     const ID: u32 = rtti::ID_TREENODE;
//!     const SIZE: u32 = 8;
//! }
//! const LEFT: Field<TreeNode, Option<Ref<TreeNode>>> = Field::new(0);
//! const RIGHT: Field<TreeNode, Option<Ref<TreeNode>>> = Field::new(4);
//!
//! fn build(m: &mut Mutator<asrt::memory::HostMemory>, depth: u32) -> Ref<TreeNode> {
//!     m.scope(|m| {
//!         let node = m.alloc_rooted::<TreeNode>();
//!         if depth > 0 {
//!             let l = build(m, depth - 1);
//!             m.set(node, LEFT, Some(l));
//!             let r = build(m, depth - 1);
//!             m.set(node, RIGHT, Some(r));
//!         }
//!         node
//!     })
//! }
//!
//! let mut m = Mutator::new(Runtime::host(HostConfig::default()));
//! m.scope(|m| {
//!     let tree = build(m, 10);
//!     m.root(tree);
//!     build(m, 8); // garbage
//!     m.collect();
//!     assert_eq!(m.stats().live_objects, 2047);
//!     assert!(m.get(tree, LEFT).is_some());
//! });
//! m.collect();
//! assert_eq!(m.stats().live_objects, 0);
//! ```

use crate::error::Error;
use crate::gc::Phase;
use crate::memory::Memory;
use crate::object::{HEADER_SIZE, RT_ID, RT_SIZE};
use crate::rtti::{self, flags};
use crate::runtime::{Runtime, Stats};
use core::fmt;
use core::marker::PhantomData;
use core::num::NonZeroU32;
use core::ops::{Deref, DerefMut};

// ----- classes -----

/// A managed class of the layout: a Rust (marker) type standing for one type id.
///
/// # Safety
/// `ID` must be the id of a plain class in the generated layout (not an array, view, set or map;
/// that much is checked at compile time where it is used), and `SIZE` its payload size: the
/// reference fields the layout lists for `ID` are exactly the ones declared as
/// `Field<Self, Option<Ref<_>>>`, all inside `SIZE` (also checked at compile time).
///
/// # Example
/// ```
/// use asrt::api::Class;
/// struct TreeNode;
/// // SAFETY: the layout's TreeNode is a plain class of 8 bytes with refs at 0 and 4.
/// unsafe impl Class for TreeNode {
///     const ID: u32 = asrt::rtti::ID_TREENODE;
///     const SIZE: u32 = 8;
/// }
/// ```
pub unsafe trait Class: 'static {
    /// The runtime type id (rtId).
    const ID: u32;
    /// The payload size in bytes (rtSize of a new object).
    const SIZE: u32;
}

/// Compile-time checks of a [`Class`] against the layout; evaluated once per class by
/// [`class_ok`].
const fn check_class(id: u32, size: u32) {
    assert!((id as usize) < rtti::TYPES.len(), "Class::ID is not a type of the layout");
    let desc = &rtti::TYPES[id as usize];
    let bad = flags::ARRAYBUFFERVIEW | flags::ARRAY | flags::STATICARRAY | flags::SET | flags::MAP;
    assert!(desc.flags & bad == 0, "Class::ID must be a plain class");
    assert!(size <= crate::object::MAX_PAYLOAD, "Class::SIZE too large");
    let mut i = 0;
    while i < desc.refs.len() {
        assert!(
            desc.refs[i] + 4 <= size,
            "a reference field of the layout lies beyond Class::SIZE"
        );
        i += 1;
    }
}

/// Whether the layout traces a reference at `offset` of type `id`.
const fn is_ref_offset(id: u32, offset: u32) -> bool {
    let refs = rtti::TYPES[id as usize].refs;
    let mut i = 0;
    while i < refs.len() {
        if refs[i] == offset {
            return true;
        }
        i += 1;
    }
    false
}

/// Whether a field of `bytes` at `offset` overlaps a reference slot of type `id`.
const fn overlaps_ref(id: u32, offset: u32, bytes: u32) -> bool {
    let refs = rtti::TYPES[id as usize].refs;
    let mut i = 0;
    while i < refs.len() {
        if refs[i] < offset + bytes && offset < refs[i] + 4 {
            return true;
        }
        i += 1;
    }
    false
}

struct ClassOk<C>(PhantomData<C>);
impl<C: Class> ClassOk<C> {
    const OK: () = check_class(C::ID, C::SIZE);
}

/// Forces the compile-time check of `C`.
#[inline(always)]
const fn class_ok<C: Class>() {
    let () = ClassOk::<C>::OK;
}

// ----- refs -----

/// A reference to a managed object of class `T`: the object's address (its ref, docs/ABI.md §2), never
/// 0. `Copy`, 4 bytes; `Option<Ref<T>>` is the nullable ref, also 4 bytes.
///
/// A `Ref` does not keep its object alive; see the [module docs](self) on rooting.
pub struct Ref<T> {
    raw: NonZeroU32,
    _class: PhantomData<fn() -> T>,
}

impl<T> Ref<T> {
    /// The ref `raw` (an address), or `None` for 0. Nothing is checked here: the accessors that
    /// take a `Ref` validate it (or, unchecked, trust it).
    #[inline(always)]
    pub const fn from_raw(raw: u32) -> Option<Self> {
        match NonZeroU32::new(raw) {
            Some(raw) => Some(Ref { raw, _class: PhantomData }),
            None => None,
        }
    }

    /// The address, as the ABI exports take it.
    #[inline(always)]
    pub const fn raw(self) -> u32 {
        self.raw.get()
    }

    /// The same object seen as another class (for casts along a class hierarchy); the checked
    /// accessors still validate the object's type.
    #[inline(always)]
    pub const fn cast<U>(self) -> Ref<U> {
        Ref { raw: self.raw, _class: PhantomData }
    }
}

/// The raw address of a nullable ref (0 for `None`).
#[inline(always)]
pub fn raw<T>(r: Option<Ref<T>>) -> u32 {
    match r {
        Some(r) => r.raw(),
        None => 0,
    }
}

impl<T> Clone for Ref<T> {
    #[inline(always)]
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Ref<T> {}
impl<T> PartialEq for Ref<T> {
    #[inline(always)]
    fn eq(&self, other: &Self) -> bool {
        self.raw == other.raw
    }
}
impl<T> Eq for Ref<T> {}
impl<T> core::hash::Hash for Ref<T> {
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        self.raw.hash(state)
    }
}
impl<T> fmt::Debug for Ref<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Ref({:#x})", self.raw.get())
    }
}

// ----- field values -----

mod sealed {
    pub trait Sealed {}
}

/// A type a [`Field`] can hold: the plain numbers (stored as they are, no barrier) and
/// `Option<Ref<T>>` (stored with the write barrier). Sealed.
pub trait Value: Copy + sealed::Sealed {
    /// Bytes the value takes (also its alignment).
    const BYTES: u32;
    /// Whether it is a managed reference the collector traces.
    const IS_REF: bool;
    /// Reads the value at `addr`.
    ///
    /// # Safety
    /// `addr` is aligned to `BYTES` and `[addr, addr + BYTES)` lies in `mem`.
    unsafe fn read<M: Memory>(mem: &M, addr: u32) -> Self;
    /// The value as the u32 written for a reference (0 for null); unused for plain values.
    fn as_ref_bits(self) -> u32;
    /// Writes the value at `addr`.
    ///
    /// # Safety
    /// As for `read`.
    unsafe fn write<M: Memory>(self, mem: &M, addr: u32);
}

macro_rules! plain_value {
    ($($t:ty),*) => {$(
        impl sealed::Sealed for $t {}
        impl Value for $t {
            const BYTES: u32 = core::mem::size_of::<$t>() as u32;
            const IS_REF: bool = false;
            #[inline(always)]
            unsafe fn read<M: Memory>(mem: &M, addr: u32) -> Self {
                // SAFETY: the caller keeps `addr` aligned and in bounds.
                unsafe { (mem.ptr(addr) as *const $t).read() }
            }
            #[inline(always)]
            fn as_ref_bits(self) -> u32 {
                0
            }
            #[inline(always)]
            unsafe fn write<M: Memory>(self, mem: &M, addr: u32) {
                // SAFETY: as for `read`.
                unsafe { (mem.ptr(addr) as *mut $t).write(self) }
            }
        }
    )*};
}
plain_value!(u8, i8, u16, i16, u32, i32, u64, i64, f32, f64);

impl<T> sealed::Sealed for Option<Ref<T>> {}
impl<T> Value for Option<Ref<T>> {
    const BYTES: u32 = 4;
    const IS_REF: bool = true;
    #[inline(always)]
    unsafe fn read<M: Memory>(mem: &M, addr: u32) -> Self {
        // SAFETY: the caller keeps `addr` aligned and in bounds.
        Ref::from_raw(unsafe { mem.load(addr) })
    }
    #[inline(always)]
    fn as_ref_bits(self) -> u32 {
        raw(self)
    }
    #[inline(always)]
    unsafe fn write<M: Memory>(self, mem: &M, addr: u32) {
        // SAFETY: as for `read`.
        unsafe { mem.store(addr, raw(self)) }
    }
}

// ----- fields -----

/// A field of class `C` holding a `V` at a byte offset of the payload.
///
/// Made by [`Field::new`] in a `const`, which checks at compile time that the field is aligned,
/// inside `C::SIZE`, and that a reference field sits at an offset the layout traces while a plain
/// field overlaps none.
///
/// ```
/// # use asrt::api::{Class, Field, Ref};
/// # struct TreeNode;
/// # unsafe impl Class for TreeNode { const ID: u32 = asrt::rtti::ID_TREENODE; const SIZE: u32 = 8; }
/// const LEFT: Field<TreeNode, Option<Ref<TreeNode>>> = Field::new(0);
/// ```
/// These do not compile (a plain value over a traced slot; a ref where none is traced):
/// ```compile_fail
/// # use asrt::api::{Class, Field, Ref};
/// # struct TreeNode;
/// # unsafe impl Class for TreeNode { const ID: u32 = asrt::rtti::ID_TREENODE; const SIZE: u32 = 8; }
/// const BAD: Field<TreeNode, u32> = Field::new(4);
/// let _ = BAD;
/// ```
/// ```compile_fail
/// # use asrt::api::{Class, Field, Ref};
/// # struct TreeNode;
/// # unsafe impl Class for TreeNode { const ID: u32 = asrt::rtti::ID_TREENODE; const SIZE: u32 = 12; }
/// const BAD: Field<TreeNode, Option<Ref<TreeNode>>> = Field::new(8);
/// let _ = BAD;
/// ```
pub struct Field<C, V> {
    offset: u32,
    _field: PhantomData<fn() -> (C, V)>,
}

impl<C, V> Clone for Field<C, V> {
    #[inline(always)]
    fn clone(&self) -> Self {
        *self
    }
}
impl<C, V> Copy for Field<C, V> {}
impl<C, V> fmt::Debug for Field<C, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Field(+{})", self.offset)
    }
}

impl<C: Class, V: Value> Field<C, V> {
    /// The field at byte `offset`. Panics (at compile time, in a `const`) if it is misaligned,
    /// outside `C::SIZE`, a reference where the layout traces none, or a plain value overlapping
    /// a traced reference.
    pub const fn new(offset: u32) -> Self {
        check_class(C::ID, C::SIZE);
        assert!(offset.is_multiple_of(V::BYTES), "misaligned field");
        assert!(offset + V::BYTES <= C::SIZE, "field outside Class::SIZE");
        if V::IS_REF {
            assert!(is_ref_offset(C::ID, offset), "the layout traces no reference at this offset");
        } else {
            assert!(!overlaps_ref(C::ID, offset, V::BYTES), "plain field over a traced reference");
        }
        Field { offset, _field: PhantomData }
    }

    /// The byte offset in the payload.
    #[inline(always)]
    pub const fn offset(self) -> u32 {
        self.offset
    }
}

// ----- the mutator -----

/// The runtime seen through typed refs: allocation, field access with the write barrier,
/// shadow-stack roots and GC triggers. Generic over the memory, so the same code runs on wasm32
/// (`asrt::api::with`) and on the host (`Mutator::new(Runtime::host(..))`).
///
/// Derefs to [`Runtime`] for the untyped (validating) API.
#[repr(transparent)]
pub struct Mutator<M: Memory> {
    rt: Runtime<M>,
}

impl<M: Memory> fmt::Debug for Mutator<M>
where
    Runtime<M>: fmt::Debug,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.rt.fmt(f)
    }
}

impl<M: Memory> Deref for Mutator<M> {
    type Target = Runtime<M>;
    #[inline(always)]
    fn deref(&self) -> &Runtime<M> {
        &self.rt
    }
}

impl<M: Memory> DerefMut for Mutator<M> {
    #[inline(always)]
    fn deref_mut(&mut self) -> &mut Runtime<M> {
        &mut self.rt
    }
}

/// Reports an error of an API call that has no `Result` (allocation failure, a dangling ref, a
/// shadow-stack overflow).
#[cold]
#[inline(never)]
#[track_caller]
fn fail(e: Error) -> ! {
    panic!("asrt: {}", e.message())
}

impl<M: Memory> Mutator<M> {
    /// Takes ownership of a runtime.
    ///
    /// ```
    /// use asrt::{api::Mutator, host::HostConfig, Runtime};
    /// let m = Mutator::new(Runtime::host(HostConfig::default()));
    /// assert_eq!(m.stats().live_objects, 0);
    /// ```
    #[inline]
    pub fn new(rt: Runtime<M>) -> Self {
        Mutator { rt }
    }

    /// Views a borrowed runtime as a mutator (no cost: the same value).
    #[inline(always)]
    pub fn from_runtime(rt: &mut Runtime<M>) -> &mut Self {
        // SAFETY: `Mutator<M>` is a `repr(transparent)` wrapper of `Runtime<M>`.
        unsafe { &mut *(rt as *mut Runtime<M> as *mut Self) }
    }

    /// Gives the runtime back.
    #[inline]
    pub fn into_runtime(self) -> Runtime<M> {
        self.rt
    }

    // ----- allocation -----

    /// A new zeroed object of class `T` (all ref fields null). May run one bounded GC step first,
    /// which may free anything not rooted. Time: O(T::SIZE) plus one step.
    ///
    /// # Panics
    /// When memory is exhausted (see [`Mutator::try_alloc`]).
    ///
    /// ```
    /// # use asrt::api::{Class, Mutator};
    /// # struct TreeNode;
    /// # unsafe impl Class for TreeNode { const ID: u32 = asrt::rtti::ID_TREENODE; const SIZE: u32 = 8; }
    /// let mut m = Mutator::new(asrt::Runtime::host(Default::default()));
    /// let node = m.alloc::<TreeNode>();
    /// assert_eq!(m.rt_id(node.raw()), TreeNode::ID);
    /// assert_eq!(m.stats().live_objects, 1);
    /// ```
    #[inline(always)]
    #[track_caller]
    pub fn alloc<T: Class>(&mut self) -> Ref<T> {
        match self.try_alloc::<T>() {
            Ok(r) => r,
            Err(e) => fail(e),
        }
    }

    /// [`Mutator::alloc`] and [`Mutator::root`] in one: the new object stays alive until the
    /// enclosing [`Mutator::scope`] ends.
    ///
    /// # Panics
    /// When memory is exhausted or the shadow stack is full.
    #[inline(always)]
    #[track_caller]
    pub fn alloc_rooted<T: Class>(&mut self) -> Ref<T> {
        let r = self.alloc::<T>();
        self.push_raw(r.raw());
        r
    }

    /// Like [`Mutator::alloc`], but reports failure (`Error::OutOfMemory`).
    #[inline(always)]
    pub fn try_alloc<T: Class>(&mut self) -> Result<Ref<T>, Error> {
        class_ok::<T>();
        if let Some(r) = self.rt.new_small(T::SIZE, T::ID) {
            // `new_small` never returns 0.
            return Ref::from_raw(r).ok_or(Error::OutOfMemory);
        }
        let r = self.rt.new_object(T::SIZE, T::ID)?;
        // `new_object` never returns 0 on success.
        Ref::from_raw(r).ok_or(Error::OutOfMemory)
    }

    // ----- fields -----

    /// Checks that `obj` is a live object of class `C` (or a subclass) whose payload holds
    /// `end` bytes.
    #[inline]
    #[track_caller]
    fn check<C: Class>(&self, obj: u32, end: u32) {
        if let Err(e) = self.rt.validate_object(obj) {
            fail(e);
        }
        // SAFETY: `obj` was validated: an object, whose header is in memory.
        let (id, size) = unsafe {
            (self.rt.load(obj - HEADER_SIZE + RT_ID), self.rt.load(obj - HEADER_SIZE + RT_SIZE))
        };
        if id != C::ID && !rtti::is_subtype(id, C::ID) {
            fail(Error::UnknownType);
        }
        if size < end {
            fail(Error::OutOfBounds);
        }
    }

    /// Reads field `f` of `obj`, after validating `obj`. Time: O(1).
    ///
    /// # Panics
    /// If `obj` is not a live object of class `C`.
    #[inline]
    #[track_caller]
    pub fn get<C: Class, V: Value>(&self, obj: Ref<C>, f: Field<C, V>) -> V {
        self.check::<C>(obj.raw(), f.offset + V::BYTES);
        // SAFETY: just validated.
        unsafe { self.get_unchecked(obj, f) }
    }

    /// Writes field `f` of `obj`, after validating `obj` (and, for a ref, the stored object);
    /// a ref goes through the write barrier. Time: O(1).
    ///
    /// # Panics
    /// If `obj` is not a live object of class `C`, or a stored ref is not a live object.
    ///
    /// ```
    /// # use asrt::api::{Class, Field, Mutator, Ref};
    /// # struct TreeNode;
    /// # unsafe impl Class for TreeNode { const ID: u32 = asrt::rtti::ID_TREENODE; const SIZE: u32 = 8; }
    /// const LEFT: Field<TreeNode, Option<Ref<TreeNode>>> = Field::new(0);
    /// let mut m = Mutator::new(asrt::Runtime::host(Default::default()));
    /// m.scope(|m| {
    ///     let parent = m.alloc_rooted::<TreeNode>();
    ///     let child = m.alloc::<TreeNode>();
    ///     m.set(parent, LEFT, Some(child));
    ///     m.collect(); // child survives: parent is rooted and points to it
    ///     assert_eq!(m.get(parent, LEFT), Some(child));
    ///     assert_eq!(m.stats().live_objects, 2);
    /// });
    /// ```
    #[inline]
    #[track_caller]
    pub fn set<C: Class, V: Value>(&mut self, obj: Ref<C>, f: Field<C, V>, value: V) {
        self.check::<C>(obj.raw(), f.offset + V::BYTES);
        if V::IS_REF {
            let child = value.as_ref_bits();
            if child != 0
                && let Err(e) = self.rt.validate_object(child)
            {
                fail(e);
            }
        }
        // SAFETY: both validated.
        unsafe { self.set_unchecked(obj, f, value) }
    }

    /// Reads field `f` of `obj` without validation: one load.
    ///
    /// # Safety
    /// `obj` is a live object of class `C` (allocated as one and kept alive by a root or a path
    /// from one since).
    #[inline(always)]
    pub unsafe fn get_unchecked<C: Class, V: Value>(&self, obj: Ref<C>, f: Field<C, V>) -> V {
        // SAFETY: a live `C` has `C::SIZE` payload bytes; `f` lies inside them, aligned.
        unsafe { V::read(self.rt.memory(), obj.raw() + f.offset) }
    }

    /// Writes field `f` of `obj` without validation: a store, and for a ref the write barrier
    /// ([`Runtime::link_unchecked`]: one phase test outside marking).
    ///
    /// # Safety
    /// `obj` is a live object of class `C`; a stored ref is a live managed object.
    #[inline(always)]
    pub unsafe fn set_unchecked<C: Class, V: Value>(
        &mut self,
        obj: Ref<C>,
        f: Field<C, V>,
        value: V,
    ) {
        // SAFETY: as for `get_unchecked`.
        unsafe { value.write(self.rt.memory(), obj.raw() + f.offset) };
        if V::IS_REF {
            // SAFETY: the caller guarantees `obj` is live and `value` a live object or null
            // (this function's own contract).
            unsafe { self.rt.link_unchecked(obj.raw(), value.as_ref_bits(), false) };
        }
    }

    // ----- roots -----

    /// Runs `f`, then pops every shadow-stack slot pushed meanwhile ([`Mutator::root`],
    /// [`Mutator::slot`]). What `f` returns is no longer rooted by those slots: root it again
    /// before the next allocation if it must live. Time: O(1) besides `f`.
    ///
    /// (If `f` unwinds, the slots stay pushed: a leak of stack slots, never a dangling root.)
    ///
    /// ```
    /// # use asrt::api::{Class, Mutator};
    /// # struct TreeNode;
    /// # unsafe impl Class for TreeNode { const ID: u32 = asrt::rtti::ID_TREENODE; const SIZE: u32 = 8; }
    /// let mut m = Mutator::new(asrt::Runtime::host(Default::default()));
    /// let kept = m.scope(|m| {
    ///     let a = m.alloc_rooted::<TreeNode>();
    ///     m.collect();
    ///     assert_eq!(m.stats().live_objects, 1); // rooted
    ///     a
    /// });
    /// m.collect();
    /// assert_eq!(m.stats().live_objects, 0); // the scope's root is gone
    /// # let _ = kept;
    /// ```
    #[inline(always)]
    pub fn scope<R>(&mut self, f: impl FnOnce(&mut Self) -> R) -> R {
        let (header, top) = self.rt.shadow_mark();
        let result = f(self);
        self.rt.shadow_reset(header, top);
        result
    }

    /// Pushes `r` on the shadow stack (a root until the enclosing [`Mutator::scope`] ends, or
    /// until popped); returns it. Validates `r`. Time: O(1).
    ///
    /// # Panics
    /// If `r` is not a live object, or the shadow stack is full.
    #[inline]
    #[track_caller]
    pub fn root<T>(&mut self, r: Ref<T>) -> Ref<T> {
        if let Err(e) = self.rt.push(r.raw()) {
            fail(e);
        }
        r
    }

    /// Like [`Mutator::root`] without validating `r`: two loads, two stores and a bounds test.
    ///
    /// # Panics
    /// If the shadow stack is full.
    ///
    /// # Safety
    /// `r` is a live managed object.
    #[inline(always)]
    #[track_caller]
    pub unsafe fn root_unchecked<T>(&mut self, r: Ref<T>) -> Ref<T> {
        self.push_raw(r.raw());
        r
    }

    /// Pushes `raw` (0 or a live object), checking only the stack bounds.
    #[inline(always)]
    #[track_caller]
    fn push_raw(&mut self, raw: u32) -> u32 {
        match self.rt.shadow_push_raw(raw) {
            Some(slot) => slot,
            None => fail(Error::StackOverflow),
        }
    }

    /// Pushes a null shadow-stack slot whose content can be replaced ([`Mutator::set_slot`]): a
    /// root for a variable that changes in a loop, without pushing once per iteration.
    ///
    /// ```
    /// # use asrt::api::{Class, Mutator};
    /// # struct TreeNode;
    /// # unsafe impl Class for TreeNode { const ID: u32 = asrt::rtti::ID_TREENODE; const SIZE: u32 = 8; }
    /// let mut m = Mutator::new(asrt::Runtime::host(Default::default()));
    /// m.scope(|m| {
    ///     let current = m.slot::<TreeNode>();
    ///     for _ in 0..100 {
    ///         let n = m.alloc::<TreeNode>();
    ///         m.set_slot(current, Some(n));
    ///     }
    ///     m.collect();
    ///     assert_eq!(m.stats().live_objects, 1);
    ///     assert!(m.get_slot(current).is_some());
    /// });
    /// ```
    ///
    /// # Panics
    /// If the shadow stack is full.
    #[inline]
    #[track_caller]
    pub fn slot<T>(&mut self) -> Slot<T> {
        Slot { addr: self.push_raw(0), _class: PhantomData }
    }

    /// Replaces the content of `slot` (validating a non-null ref). A slot whose scope has ended
    /// is a stale stack address: writing it roots nothing.
    ///
    /// # Panics
    /// If `value` is not a live object.
    #[inline]
    #[track_caller]
    pub fn set_slot<T>(&mut self, slot: Slot<T>, value: Option<Ref<T>>) {
        let v = raw(value);
        if v != 0
            && let Err(e) = self.rt.validate_object(v)
        {
            fail(e);
        }
        // SAFETY: validated.
        unsafe { self.set_slot_unchecked(slot, value) }
    }

    /// Like [`Mutator::set_slot`] without validation: one store.
    ///
    /// # Safety
    /// `value` is null or a live managed object.
    #[inline(always)]
    pub unsafe fn set_slot_unchecked<T>(&mut self, slot: Slot<T>, value: Option<Ref<T>>) {
        // A slot address only ever comes from `slot`, so it lies in the slot array; the test
        // keeps a forged one from writing outside the stack.
        if self.rt.is_shadow_slot(slot.addr) {
            // SAFETY: a slot of the build's array: `[base, limit)`, 4-aligned like every
            // address `push_raw` returns (a `Slot`'s address is private to this module).
            unsafe { self.rt.store(slot.addr, raw(value)) };
        }
    }

    /// The content of `slot`.
    #[inline]
    pub fn get_slot<T>(&self, slot: Slot<T>) -> Option<Ref<T>> {
        if self.rt.is_shadow_slot(slot.addr) {
            // SAFETY: as in `set_slot_unchecked`.
            Ref::from_raw(unsafe { self.rt.load(slot.addr) })
        } else {
            None
        }
    }

    /// Shadow-stack slots in use.
    #[inline]
    pub fn stack_depth(&self) -> u32 {
        self.rt.shadow_top().saturating_sub(self.rt.roots.shadow_base) / 4
    }

    // ----- the collector -----

    /// One bounded increment of GC work now (`__gc_step`); returns the phase after it. Time:
    /// bounded by the configured step work.
    ///
    /// ```
    /// # use asrt::api::{Class, Mutator};
    /// # use asrt::gc::Phase;
    /// # struct TreeNode;
    /// # unsafe impl Class for TreeNode { const ID: u32 = asrt::rtti::ID_TREENODE; const SIZE: u32 = 8; }
    /// let mut m = Mutator::new(asrt::Runtime::host(Default::default()));
    /// for _ in 0..1000 { m.alloc::<TreeNode>(); }
    /// while m.step() != Phase::Idle {}
    /// assert_eq!(m.stats().live_objects, 0);
    /// ```
    ///
    /// # Panics
    /// If the shadow-stack descriptor is corrupt ([`Runtime::check_roots`]).
    #[inline]
    pub fn step(&mut self) -> Phase {
        match self.rt.try_gc_step() {
            Ok(p) => p,
            Err(e) => fail(e),
        }
    }

    /// Finishes the cycle in progress and runs a full one (`__collect`): everything not
    /// reachable from a root is freed.
    ///
    /// # Panics
    /// If the shadow-stack descriptor is corrupt ([`Runtime::check_roots`]).
    #[inline]
    pub fn collect(&mut self) {
        if let Err(e) = self.rt.try_collect() {
            fail(e);
        }
    }

    /// The figures of `__gc_stats`.
    #[inline]
    pub fn stats(&self) -> Stats {
        self.rt.stats()
    }

    /// Whether `r` currently is a live managed object of class `T` (or a subclass).
    #[inline]
    pub fn is_live<T: Class>(&self, r: Ref<T>) -> bool {
        self.rt.validate_object(r.raw()).is_ok() && {
            let id = self.rt.rt_id(r.raw());
            id == T::ID || rtti::is_subtype(id, T::ID)
        }
    }
}

/// A shadow-stack slot made by [`Mutator::slot`]: a root whose content can change.
pub struct Slot<T> {
    addr: u32,
    _class: PhantomData<fn() -> T>,
}

impl<T> Clone for Slot<T> {
    #[inline(always)]
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Slot<T> {}
impl<T> fmt::Debug for Slot<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Slot({:#x})", self.addr)
    }
}

// ----- weak references and finalizers (docs/ABI.md §10) -----

/// A weak reference to an object of class `T` ([`Mutator::weak`]): it does not keep the object
/// alive, and [`Mutator::deref_weak`] reads `None` once the collector found the object
/// unreachable. A handle into the runtime's weak table: `Copy`, released by
/// [`Mutator::drop_weak`] (a released handle is rejected, never reused by accident: handles
/// carry a generation).
pub struct Weak<T> {
    handle: NonZeroU32,
    _class: PhantomData<fn() -> T>,
}

/// A finalizer registration for an object of class `T` ([`Mutator::register_finalizer`]): its
/// token comes back from [`Mutator::next_finalized`] exactly once after the object became
/// unreachable, unless it was unregistered first.
pub struct Finalizer<T> {
    token: NonZeroU32,
    _class: PhantomData<fn() -> T>,
}

/// A weak map from objects of class `K` to objects of class `V` ([`Mutator::weak_map`]): like
/// JavaScript's `WeakMap`, a value stays alive only while its key does (an ephemeron), and an
/// entry goes away with its key. A handle, released by [`Mutator::drop_weak_map`].
pub struct WeakMap<K, V> {
    handle: NonZeroU32,
    _class: PhantomData<fn() -> (K, V)>,
}

impl<K, V> WeakMap<K, V> {
    /// The raw handle, as the ABI exports take it.
    #[inline(always)]
    pub const fn raw(self) -> u32 {
        self.handle.get()
    }
}

impl<K, V> Clone for WeakMap<K, V> {
    #[inline(always)]
    fn clone(&self) -> Self {
        *self
    }
}
impl<K, V> Copy for WeakMap<K, V> {}
impl<K, V> fmt::Debug for WeakMap<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WeakMap({:#x})", self.handle)
    }
}

macro_rules! handle_type {
    ($name:ident, $field:ident) => {
        impl<T> $name<T> {
            /// The raw handle or token, as the ABI exports take it.
            #[inline(always)]
            pub const fn raw(self) -> u32 {
                self.$field.get()
            }

            /// The handle or token `raw`, or `None` for 0 (nothing is checked here; the
            /// mutator's methods validate it).
            #[inline(always)]
            pub const fn from_raw(raw: u32) -> Option<Self> {
                match NonZeroU32::new(raw) {
                    Some($field) => Some($name { $field, _class: PhantomData }),
                    None => None,
                }
            }
        }
        impl<T> Clone for $name<T> {
            #[inline(always)]
            fn clone(&self) -> Self {
                *self
            }
        }
        impl<T> Copy for $name<T> {}
        impl<T> PartialEq for $name<T> {
            fn eq(&self, other: &Self) -> bool {
                self.$field == other.$field
            }
        }
        impl<T> Eq for $name<T> {}
        impl<T> fmt::Debug for $name<T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({:#x})"), self.$field)
            }
        }
    };
}
handle_type!(Weak, handle);
handle_type!(Finalizer, token);

/// A handle the runtime just made (never 0).
#[inline(always)]
fn nonzero(raw: u32) -> NonZeroU32 {
    NonZeroU32::new(raw).unwrap_or_else(|| fail(Error::BadWeakHandle))
}

impl<M: Memory> Mutator<M> {
    /// A weak reference to `r` (`__weakref_new`).
    ///
    /// ```
    /// # use asrt::api::{Class, Mutator};
    /// # struct TreeNode;
    /// # unsafe impl Class for TreeNode { const ID: u32 = asrt::rtti::ID_TREENODE; const SIZE: u32 = 8; }
    /// let mut m = Mutator::new(asrt::Runtime::host(Default::default()));
    /// let (w, f) = m.scope(|m| {
    ///     let node = m.alloc_rooted::<TreeNode>();
    ///     let (w, f) = (m.weak(node), m.register_finalizer(node));
    ///     m.collect();
    ///     assert_eq!(m.deref_weak(w), Some(node)); // rooted: alive
    ///     (w, f)
    /// });
    /// m.collect(); // the root is gone
    /// assert_eq!(m.deref_weak(w), None);
    /// assert_eq!(m.next_finalized::<TreeNode>(), Some(f));
    /// assert_eq!(m.next_finalized::<TreeNode>(), None); // exactly once
    /// m.drop_weak(w);
    /// ```
    ///
    /// # Panics
    /// If `r` is not a live object, or out of memory.
    pub fn weak<T: Class>(&mut self, r: Ref<T>) -> Weak<T> {
        match self.rt.weakref_new(r.raw()) {
            Ok(h) => Weak { handle: nonzero(h), _class: PhantomData },
            Err(e) => fail(e),
        }
    }

    /// The weak reference's target, or `None` once it was found unreachable (`__weakref_get`).
    /// A target handed out while the collector marks survives the cycle; root it to keep it.
    ///
    /// # Panics
    /// If `w` was released.
    pub fn deref_weak<T: Class>(&mut self, w: Weak<T>) -> Option<Ref<T>> {
        match self.rt.weakref_get(w.raw()) {
            Ok(r) => Ref::from_raw(r),
            Err(e) => fail(e),
        }
    }

    /// Releases the weak reference (`__weakref_free`).
    ///
    /// # Panics
    /// If `w` was released already.
    pub fn drop_weak<T: Class>(&mut self, w: Weak<T>) {
        if let Err(e) = self.rt.weakref_free(w.raw()) {
            fail(e);
        }
    }

    /// Registers `r` for finalization (`__finalizer_register`).
    ///
    /// # Panics
    /// If `r` is not a live object, or out of memory.
    pub fn register_finalizer<T: Class>(&mut self, r: Ref<T>) -> Finalizer<T> {
        match self.rt.finalizer_register(r.raw()) {
            Ok(t) => Finalizer { token: nonzero(t), _class: PhantomData },
            Err(e) => fail(e),
        }
    }

    /// Cancels a registration whose token was not handed out yet (`__finalizer_unregister`).
    pub fn unregister_finalizer<T: Class>(&mut self, f: Finalizer<T>) -> Result<(), Error> {
        self.rt.finalizer_unregister(f.raw())
    }

    /// The next registration whose object was found unreachable (`__finalizer_next`). The
    /// class is the caller's word: tokens of every class share one queue.
    pub fn next_finalized<T: Class>(&mut self) -> Option<Finalizer<T>> {
        Finalizer::from_raw(self.rt.finalizer_next())
    }

    /// A new, empty weak map (`__weakmap_new`).
    ///
    /// ```
    /// # use asrt::api::{Class, Mutator};
    /// # struct TreeNode;
    /// # unsafe impl Class for TreeNode { const ID: u32 = asrt::rtti::ID_TREENODE; const SIZE: u32 = 8; }
    /// let mut m = Mutator::new(asrt::Runtime::host(Default::default()));
    /// let map = m.weak_map::<TreeNode, TreeNode>();
    /// m.scope(|m| {
    ///     let key = m.alloc_rooted::<TreeNode>();
    ///     let value = m.alloc::<TreeNode>(); // kept alive by the map, while `key` lives
    ///     m.weak_map_set(map, key, Some(value));
    ///     m.collect();
    ///     assert_eq!(m.weak_map_get(map, key), Some(value));
    /// });
    /// m.collect(); // the key is gone, and its value with it
    /// assert_eq!(m.stats().live_objects, 0);
    /// m.drop_weak_map(map);
    /// ```
    ///
    /// # Panics
    /// Out of memory (the handle table).
    pub fn weak_map<K: Class, V: Class>(&mut self) -> WeakMap<K, V> {
        match self.rt.weakmap_new() {
            Ok(h) => WeakMap { handle: nonzero(h), _class: PhantomData },
            Err(e) => fail(e),
        }
    }

    /// Maps `key` to `value` (`__weakmap_set`).
    ///
    /// # Panics
    /// If the map was released, `key` or `value` is not a live object, or out of memory.
    pub fn weak_map_set<K: Class, V: Class>(
        &mut self,
        map: WeakMap<K, V>,
        key: Ref<K>,
        value: Option<Ref<V>>,
    ) {
        if let Err(e) = self.rt.weakmap_set(map.raw(), key.raw(), raw(value)) {
            fail(e);
        }
    }

    /// The value of `key`, or `None` (`__weakmap_get`); a value handed out while marking
    /// survives the cycle.
    ///
    /// # Panics
    /// If the map was released.
    pub fn weak_map_get<K: Class, V: Class>(
        &mut self,
        map: WeakMap<K, V>,
        key: Ref<K>,
    ) -> Option<Ref<V>> {
        match self.rt.weakmap_get(map.raw(), key.raw()) {
            Ok(v) => Ref::from_raw(v),
            Err(e) => fail(e),
        }
    }

    /// Removes `key`'s entry; whether there was one (`__weakmap_delete`).
    ///
    /// # Panics
    /// If the map was released.
    pub fn weak_map_delete<K: Class, V: Class>(&mut self, map: WeakMap<K, V>, key: Ref<K>) -> bool {
        self.rt.weakmap_delete(map.raw(), key.raw()).unwrap_or_else(|e| fail(e))
    }

    /// Releases the map and its entries (`__weakmap_free`).
    ///
    /// # Panics
    /// If the map was released already.
    pub fn drop_weak_map<K: Class, V: Class>(&mut self, map: WeakMap<K, V>) {
        if let Err(e) = self.rt.weakmap_free(map.raw()) {
            fail(e);
        }
    }
}

// ----- the wasm module's own runtime -----

#[cfg(target_arch = "wasm32")]
mod global {
    use super::Mutator;
    use crate::memory::WasmMemory;
    use core::sync::atomic::{AtomicBool, Ordering};

    static BUSY: AtomicBool = AtomicBool::new(false);

    /// Runs `f` with the module's global runtime (the one behind the ABI exports), created on
    /// first use.
    ///
    /// # Panics
    /// If called again from inside `f` (that would alias the runtime). Calling an ABI export
    /// (`__new`, ...) from inside `f` would alias it too; that takes `unsafe` code.
    #[inline]
    pub fn with<R>(f: impl FnOnce(&mut Mutator<WasmMemory>) -> R) -> R {
        if BUSY.swap(true, Ordering::Relaxed) {
            panic!("asrt::api::with re-entered");
        }
        // SAFETY: `BUSY` makes this the only live reference from `with`. An export could take
        // the same runtime only if `f` called it, and Rust reaches an export only through an
        // `unsafe` extern declaration, whose caller answers for not doing that inside `f`.
        let rt = unsafe { crate::exports::runtime() };
        let r = f(Mutator::from_runtime(rt));
        BUSY.store(false, Ordering::Relaxed);
        r
    }

    /// The module's global runtime as a mutator.
    ///
    /// # Safety
    /// No other reference to the global runtime may be live while the result is used: not one
    /// from [`with`], not another call of `global`, and no ABI export may run (the exports take
    /// the same runtime).
    #[inline(always)]
    pub unsafe fn global() -> &'static mut Mutator<WasmMemory> {
        // SAFETY: the caller guarantees no other reference to the runtime is live.
        Mutator::from_runtime(unsafe { crate::exports::runtime() })
    }
}

#[cfg(target_arch = "wasm32")]
pub use global::{global, with};
