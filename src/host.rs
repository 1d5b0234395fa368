//! A runtime over a simulated memory for host tests and tools, with the static data a wasm build
//! gets from its layout laid out by hand at the bottom of the memory.
//!
//! ```text
//! ╒═══════════════════ Host memory ════════════════════╕
//! │ stand-in for the native stack region (0..1024)     │ __gc_stats may write here
//! │ shadow stack header { top, base, limit, marking }  │ 1024 (marking: `Roots::marking`)
//! │ shadow stack slots                                 │ 1040 .. limit
//! │ static StaticArray<string> "slots" (header+slots)  │ 16-aligned
//! │ static root list: [ref of slots]                   │
//! │ list of all static objects: [ref of slots]         │
//! │ heap ...                                           │ heap base (16-aligned)
//! ╘════════════════════════════════════════════════════╛
//! ```

use crate::memory::{HostMemory, Memory, PAGE_SIZE};
use crate::object::{GC_INFO, HEADER_SIZE, MM_INFO, RT_ID, RT_SIZE, STATIC_GC_INFO, block_size};
use crate::rtti::{self, flags};
use crate::runtime::{Roots, Runtime};

/// Bytes at the bottom of a host memory that stand in for the native stack region of a wasm
/// build (wasm-ld's `--stack-first`): the static area where `__gc_stats` may write.
pub const HOST_STACK_BYTES: u32 = 1024;

/// Sizes of a host runtime.
#[derive(Debug, Clone, Copy)]
pub struct HostConfig {
    /// Initial memory pages.
    pub initial_pages: u32,
    /// Maximum memory pages.
    pub max_pages: u32,
    /// Shadow-stack slots.
    pub stack_slots: u32,
    /// Slots of the static `StaticArray<string>` root.
    pub static_slots: u32,
}

impl Default for HostConfig {
    fn default() -> Self {
        HostConfig { initial_pages: 2, max_pages: 4096, stack_slots: 1024, static_slots: 8 }
    }
}

/// The id of the first StaticArray type with managed elements (`StaticArray<string>`).
pub fn static_array_id() -> u32 {
    let want = flags::STATICARRAY | flags::VALUE_MANAGED;
    rtti::TYPES.iter().position(|t| t.flags & want == want).expect("a StaticArray<ref> type") as u32
}

impl Runtime<HostMemory> {
    /// A host runtime laid out as described at the top of this file.
    ///
    /// # Panics
    /// If the configuration does not fit its memory.
    pub fn host(config: HostConfig) -> Self {
        let mem = HostMemory::new(config.initial_pages, config.max_pages);
        let header = HOST_STACK_BYTES;
        let base = header + 16;
        let limit = base + 4 * config.stack_slots;
        let slots_block = (limit + 15) & !15;
        let payload = 4 * config.static_slots;
        let slots = slots_block + HEADER_SIZE;
        let list = slots_block + block_size(payload);
        // The sorted list of every static object: just the slots array.
        let objects = list + 4;
        let heap_base = (objects + 4 + 15) & !15;
        assert!(heap_base + 64 <= config.initial_pages * PAGE_SIZE, "static area too large");
        // SAFETY: all these addresses lie below `heap_base`, inside the initial pages.
        unsafe {
            mem.store(header, base);
            mem.store(header + 4, base);
            mem.store(header + 8, limit);
            mem.store(slots_block + MM_INFO, block_size(payload) - 4);
            mem.store(slots_block + GC_INFO, STATIC_GC_INFO);
            mem.store(slots_block + RT_ID, static_array_id());
            mem.store(slots_block + RT_SIZE, payload);
            mem.store(list, slots);
            mem.store(objects, slots);
        }
        let roots = Roots {
            shadow_stack: header,
            shadow_base: base,
            shadow_limit: limit,
            stack_low: 0,
            stack_high: HOST_STACK_BYTES,
            statics: list,
            static_count: 1,
            objects,
            object_count: 1,
            marking: header + 12,
        };
        // SAFETY: the layout above: every array and the static object lie in the initial pages
        // below `heap_base`, above the stack stand-in `[0, HOST_STACK_BYTES)`.
        unsafe { Runtime::new(mem, heap_base, config.max_pages, roots) }.expect("host runtime")
    }

    /// The ref of the static `StaticArray<string>` root.
    pub fn static_slots(&self) -> u32 {
        // SAFETY: the root list laid out by `Runtime::host`, inside memory.
        unsafe { self.load(self.roots.statics) }
    }

    /// Address of the shadow stack's `{ top, base, limit }` header.
    pub fn shadow_stack(&self) -> u32 {
        self.roots.shadow_stack
    }
}
