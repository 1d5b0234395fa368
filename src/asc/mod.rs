//! Hosting a program compiled by AssemblyScript's `asc` (docs/ABI.md §8, feature
//! `assemblyscript`): the program's static objects (known by address range), its type count, and
//! its generated visitors, reached through two functions the build supplies.

mod finalize;
pub(crate) mod plan;

use crate::error::Error;
use crate::gc::Phase;
use crate::memory::Memory;
use crate::object::{HEADER_SIZE, RT_ID, RT_SIZE};
use crate::runtime::Runtime;

/// Calls `f` with every reference the program's `__visit_members` passes for the object `r`.
pub type MembersFn = fn(u32, &mut dyn FnMut(u32));
/// Calls `f` with every root of the program: its globals and its live shadow-stack slots.
pub type RootsFn = fn(&mut dyn FnMut(u32));

/// What the collector knows of the hosted program.
#[derive(Debug, Clone, Copy)]
pub struct AscProgram {
    /// The first byte of the program's static data (its memory base).
    pub static_start: u32,
    /// One past its static data and shadow stack (its `__heap_base`), below the heap start.
    pub static_end: u32,
    /// The number of type ids in its RTTI table.
    pub type_count: u32,
    /// Its objects' references.
    pub members: MembersFn,
    /// Its roots.
    pub roots: RootsFn,
    /// The plan table (asc/plan.rs), made by [`Runtime::attach_assemblyscript`].
    pub plans: u32,
    /// The program's `__finalize(ref)` hook, when it defines one (asc/finalize.rs).
    pub finalize: Option<fn(u32)>,
}

/// The word of a static object's header the collector uses to remember the cycle that traced
/// it: AssemblyScript's `gcInfo2` (`ref - 12`), which compiled code never reads.
const STATIC_EPOCH: u32 = 12;

impl<M: Memory> Runtime<M> {
    /// Makes the runtime host `program`, whose RTTI table is at `rtti_base`: type ids, static
    /// objects and tracing follow it from now on. Time: O(type count).
    ///
    /// # Safety
    /// `[static_start, static_end)` lies in memory below the heap start and holds only the
    /// program's static data and shadow stack; every 16-aligned address in it that the program
    /// or its visitors pass as a reference is a static object with AssemblyScript's header; the
    /// RTTI table (`type_count` words of flags after its count) lies in that range; the
    /// two functions call back only with references and never touch the runtime.
    pub unsafe fn attach_assemblyscript(
        &mut self,
        mut program: AscProgram,
        rtti_base: u32,
    ) -> Result<(), Error> {
        // SAFETY: the table lies in memory (the caller's).
        program.plans = unsafe { self.asc_make_plans(rtti_base, program.type_count)? };
        self.asc = Some(program);
        Ok(())
    }

    /// Whether `r` is a static object of the hosted program (by address). Time: O(1).
    #[inline]
    pub(crate) fn asc_static(&self, r: u32) -> bool {
        self.asc.is_some_and(|p| {
            r.is_multiple_of(16) && r >= p.static_start + HEADER_SIZE && r < p.static_end
        })
    }

    /// Whether `id` is one of the hosted program's type ids.
    #[inline]
    pub(crate) fn asc_known_type(&self, id: u32) -> Option<bool> {
        self.asc.map(|p| id < p.type_count)
    }

    /// Shades `r`: a static object of the program is traced now (once per cycle), anything else
    /// is shaded as usual. Time: O(1) amortized, a static object's children once per cycle.
    pub(crate) fn asc_shade(&mut self, r: u32) {
        if r == 0 {
            return;
        }
        if !self.asc_static(r) {
            self.shade(r);
            return;
        }
        let epoch = (self.gc.collections % 0x7fff_ffff) as u32 + 1;
        // SAFETY: `r` is a static object of the program (`asc_static`, the contract of
        // `attach_assemblyscript`): its header lies in memory.
        unsafe {
            if self.load(r - STATIC_EPOCH) == epoch {
                return;
            }
            self.store(r - STATIC_EPOCH, epoch);
        }
        if let Some(p) = self.asc {
            // SAFETY: `r` is a static object of the program.
            match unsafe { self.asc_refs(&p, r) } {
                // SAFETY: `refs` was just found for `r`, which lives as long as the program.
                Some(refs) => unsafe { self.each_ref(refs, |rt, c| rt.asc_shade(c)) },
                None => {
                    self.asc_trace(p, r);
                }
            }
        }
    }

    /// Shades every child the program's visitor names for `r`. Returns the work done.
    pub(crate) fn asc_trace(&mut self, p: AscProgram, r: u32) -> u32 {
        let mut work = 0;
        (p.members)(r, &mut |c| {
            work += 4;
            self.asc_shade(c);
        });
        work
    }

    /// Shades the program's roots (globals and shadow stack), when one is hosted.
    pub(crate) fn asc_roots(&mut self) {
        if let Some(p) = self.asc {
            (p.roots)(&mut |c| self.asc_shade(c));
        }
    }

    /// `__renew` of a static object (a global array literal's buffer growing): a new heap object
    /// of the same id with the static payload copied, traced right away while marking (it may
    /// be black and holds references no barrier saw). Time: O(size).
    pub(crate) fn asc_renew_static(&mut self, ptr: u32, size: u32) -> Result<u32, Error> {
        let Some(p) = self.asc else {
            return Err(Error::OutsideHeap);
        };
        // SAFETY: `ptr` is a static object of the program (the caller checked `asc_static`):
        // its header lies in memory.
        let (id, old) = unsafe {
            (self.load(ptr - HEADER_SIZE + RT_ID), self.load(ptr - HEADER_SIZE + RT_SIZE))
        };
        let new = self.new_object(size, id)?;
        // Never past the program's static data, whatever rtSize says.
        let len = old.min(size).min(p.static_end - ptr);
        // SAFETY: `new` has `size >= len` payload bytes; `[ptr, ptr + len)` is static data.
        unsafe { self.heap.mem.copy(new, ptr, len) };
        if self.gc.phase == Phase::Mark {
            self.asc_trace(p, new);
        }
        Ok(new)
    }
}
