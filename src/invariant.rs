//! The invariants `__heap_check` verifies, written once, in the style of Lua's `lgc` checker:
//! each has a name that says what broke and a number that is part of the ABI
//! (`__heap_check_list` writes it). The checkers ([`Heap::check_into`], [`Runtime::check_each`])
//! report every violation as an `(Invariant, address)` pair to a [`Violations`] sink;
//! `__heap_check` is the number of pairs.
//!
//! ```text
//!   heap/tlsf.rs  Bins::check ──┐
//!   heap/check.rs Heap::check_into ──┼──▶ Violations::report(invariant, address) ──▶ count
//!   gc/check.rs   Runtime::check_each ┘                                    └──▶ the caller's sink
//! ```
//!
//! **Address** is the place the invariant is about: a block address (the header, `ref - 16`)
//! for block and object invariants, a shadow-stack slot's address for root slots, a list class
//! (`fl * 16 + sl`) for the free-list bitmaps, and 0 for totals that belong to no one place.
//! Some breaks are reported twice from two sides (a listed free block with a wrong back pointer
//! is seen by the block walk and by the list walk), exactly as the count has always counted them.
//! A break that makes the block chain unwalkable ends the walk: what lies beyond is not checked.
//!
//! [`Heap::check_into`]: crate::heap::Heap::check_into
//! [`Runtime::check_each`]: crate::Runtime::check_each

use core::fmt;

/// Declares [`Invariant`] once: numbers, names and their meaning (the doc comment, also
/// returned by [`Invariant::meaning`]).
macro_rules! invariants {
    ($($(#[doc = $doc:literal])+ $name:ident = $n:literal,)+) => {
        /// A heap or collector invariant (see the module documentation). The numbers are the
        /// ABI of `__heap_check_list`; 0 is never used.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[repr(u32)]
        pub enum Invariant {
            $($(#[doc = $doc])+ $name = $n,)+
        }

        impl Invariant {
            /// Every invariant, in number order.
            pub const ALL: &'static [Invariant] = &[$(Invariant::$name,)+];

            /// The invariant's name, as the loader's `heapCheck()` reports it.
            pub const fn name(self) -> &'static str {
                match self {
                    $(Invariant::$name => stringify!($name),)+
                }
            }

            /// What the invariant says (its documentation, one line).
            pub const fn meaning(self) -> &'static str {
                match self {
                    $(Invariant::$name => concat!($($doc),+).trim_ascii_start(),)+
                }
            }

            /// The invariant numbered `n`, if any.
            pub const fn from_u32(n: u32) -> Option<Invariant> {
                match n {
                    $($n => Some(Invariant::$name),)+
                    _ => None,
                }
            }
        }
    };
}

invariants! {
    // ----- the block chain (heap/check.rs) -----
    /// Every block in the chain is 16-aligned (address: the block; ends the walk).
    BlockMisaligned = 1,
    /// Every block lies inside the heap: at or above its start and a whole block below the end
    /// of memory (address: the block; ends the walk).
    BlockOutsideHeap = 2,
    /// The chain of blocks ends: the walk visits at most one block per 16 bytes of memory
    /// (address: the block reached; ends the walk).
    ChainCycle = 3,
    /// A block's size is a multiple of 16, at least 16, and ends inside memory (address: the
    /// block; ends the walk).
    BlockSizeBad = 4,
    /// A block's LEFTFREE bit is set exactly when its left neighbour is free (address: the
    /// block).
    LeftFreeBitWrong = 5,
    /// No two free blocks are adjacent: they would have been merged (address: the right one).
    AdjacentFree = 6,
    /// A free block's last word holds its own address (address: the block; a listed block is
    /// reported by the walk and again by its list).
    FreeBackPointer = 7,
    /// Every free block but the bump block is on the free list of its size class (the class's
    /// bitmap bit is set; address: the block).
    FreeNotListed = 8,
    /// A region's sentinel with no next region is the last region's (address: the sentinel).
    SentinelChain = 9,
    /// A used block is exactly `block_size(rtSize)` bytes and rtSize at most 2^30 - 16
    /// (address: the block).
    UsedSizeMismatch = 10,
    /// An unmanaged block's gcInfo is a known kind (Unmanaged, Internal, Sentinel) (address:
    /// the block).
    BadKind = 11,
    /// The bump block (the split remainder allocation carves from) is a free block that the
    /// walk reaches and that the block-start map covers whole, so allocation from it sets a bit
    /// without a bounds test (address: the bump block; ends the check).
    BumpBlockBad = 12,
    /// The free blocks walked are those listed (as many, as many bytes) and add up to the heap's
    /// free-byte counter (address: 0).
    FreeBytesMismatch = 13,
    /// The walk finds as many regions (sentinels) as the heap counts (address: 0).
    RegionCount = 14,
    // ----- the block-start map (heap/starts.rs) -----
    /// A free block has no bit in the block-start map (address: the block).
    StartMapBitOnFree = 15,
    /// A sentinel has no bit in the block-start map: no ref may name it (address: the
    /// sentinel).
    StartMapBitOnSentinel = 16,
    /// Every used, non-sentinel block has its bit in the block-start map, or validation would
    /// reject its refs (address: the block).
    StartMapBitMissing = 17,
    /// The map has no set bit but those of used blocks (address: the first stray bit's granule,
    /// or the map's payload when the count differs only by missing bits, already reported).
    StartMapStrayBits = 18,
    /// The map lives in a used block that has its own bit (address: the map's block).
    StartMapBlock = 19,
    // ----- the free lists (heap/tlsf.rs) -----
    /// A size class's first-level bit is set exactly when its second-level bitmap is non-zero
    /// (address: the class `fl * 16`).
    FlBitmapMismatch = 20,
    /// A class's second-level bit is set exactly when its list is non-empty (address: the class
    /// `fl * 16 + sl`).
    SlBitmapMismatch = 21,
    /// A listed block is 16-aligned and inside memory (address: the block; ends that list).
    ListedOutOfRange = 22,
    /// A listed block is free (address: the block; ends that list).
    ListedNotFree = 23,
    /// A listed free block has a sane size and is on the list of its own size class (address:
    /// the block; ends that list).
    ListedWrongClass = 24,
    /// A listed block's prev link is the block before it in the list (address: the block).
    ListPrevLink = 25,
    /// A free list ends: it holds at most one block per 16 bytes of memory (address: the block
    /// reached; ends that list).
    ListCycle = 26,
    // ----- the collector (gc/check.rs) -----
    /// A PINNED object is ahead of a running pin walk, or the runtime knows that an object may
    /// be pinned (else the next marking would skip the walk; address: the block).
    PinnedNotFlagged = 27,
    /// Nothing is gray outside the mark phase (address: the block).
    GrayOutsideMark = 28,
    /// Only gray objects carry a gray-stack link in gcInfo (address: the block).
    LinkOnNonGray = 29,
    /// Nothing is black while the collector is idle (the sweep whitens survivors; address: the
    /// block).
    BlackWhenIdle = 30,
    /// Every reference a live object holds is 0 or a live object: nothing reachable was freed
    /// (address: the holding object's block).
    DanglingChild = 31,
    /// While marking, no black object and no static root points to a white object (the strong
    /// tri-color invariant; address: the black object's block).
    BlackPointsToWhite = 32,
    /// Every gray-stack entry is gray (address: the entry's block; ends the stack walk).
    GrayStackNotGray = 33,
    /// The gray stack holds exactly the gray objects (as many entries as gray objects; address:
    /// the stack's head block, 0 when empty).
    GrayNotOnStack = 34,
    /// The runtime's live-object count is the number of managed heap blocks (address: 0).
    LiveCountMismatch = 35,
    /// Every shadow-stack slot below `top` holds 0 or an object. Junk here is the compiled
    /// code's fault, tolerated and skipped by the collector (ABI §6), but counted (address: the
    /// slot).
    JunkRootSlot = 36,
    /// Every reference a static object holds is 0 or an object. Junk is skipped by the
    /// collector and counted, as for shadow-stack slots (address: the static object's block).
    JunkStaticSlot = 37,
    // ----- the weak table (gc/weak.rs) -----
    /// The weak table, when there is one, is a live Internal heap block of `8 x capacity`
    /// payload bytes (address: the table's block; ends the table's checks).
    WeakTableBlock = 38,
    /// Every weak reference names 0 or a live object, every registration a live object, and
    /// every entry's state is known: nothing freed is reachable through the table (address:
    /// the entry's address).
    WeakTargetDangling = 39,
    /// The free list and the ready list hold exactly the free and the queued entries, and the
    /// table's count is that of the entries in use (address: the table's block).
    WeakListBroken = 40,
    /// The ephemeron table, when there is one, is a live Internal heap block of `16 x capacity`
    /// payload bytes whose live entries and tombstones are as many as counted (address: the
    /// table's block; ends the table's checks).
    EphemeronTableBad = 41,
    /// Every weak-map entry belongs to a live weak map and names a live object as its key and
    /// 0 or a live object as its value: nothing freed is reachable through a weak map
    /// (address: the entry's address).
    EphemeronDangling = 42,
    // ----- a hosted AssemblyScript program (asc/) -----
    /// The references the collector reads natively from a hosted program's object (its
    /// type's plan: RTTI flags or learned fields) are those its compiled visitor passes, as a
    /// multiset, nulls aside (address: the object's block).
    AscPlanMismatch = 43,
    // ----- pins (gc/pins.rs) -----
    /// The pin table is a live Internal block, and each entry names a static object (count at
    /// least 1) or a live PINNED heap object (count at least 2: the first pin is the bit), each
    /// reachable from its home slot and entered once, as many entries as counted (address: the
    /// entry's ref, or the table's block).
    PinEntryBad = 44,
    /// While marking, a PINNED heap object the pin walk has passed is not white (address: the
    /// block).
    PinnedNotShaded = 45,
}

impl Invariant {
    /// Whether this invariant is about what compiled code wrote into its root slots, which the
    /// runtime tolerates and skips (ABI §6) rather than a break of the runtime's own structures.
    pub const fn is_junk_root(self) -> bool {
        matches!(self, Invariant::JunkRootSlot | Invariant::JunkStaticSlot)
    }
}

impl fmt::Display for Invariant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One broken invariant and where.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Violation {
    /// What broke.
    pub invariant: Invariant,
    /// Where (see the module documentation for what the address means per invariant).
    pub address: u32,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at {:#x}", self.invariant, self.address)
    }
}

/// Where the checkers report: counts every violation and hands it to the caller's sink.
pub struct Violations<'a> {
    count: u32,
    sink: &'a mut dyn FnMut(Invariant, u32),
}

impl<'a> Violations<'a> {
    /// A report that passes each violation to `sink`.
    pub fn new(sink: &'a mut dyn FnMut(Invariant, u32)) -> Self {
        Violations { count: 0, sink }
    }

    /// Records that `invariant` is broken at `address`.
    #[cold]
    #[inline(never)]
    pub fn report(&mut self, invariant: Invariant, address: u32) {
        self.count += 1;
        (self.sink)(invariant, address);
    }

    /// Violations reported so far.
    pub fn count(&self) -> u32 {
        self.count
    }
}

impl fmt::Debug for Violations<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Violations").field("count", &self.count).finish()
    }
}
