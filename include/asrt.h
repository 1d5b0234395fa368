/*
 * asrt.h: the asrt runtime for C and other LLVM languages (docs/ABI.md §9).
 *
 * One wasm32 module: your program and asrt (libasrt.a) linked by wasm-ld with the arguments in
 * asrt.ldflags. `scripts/c-sdk.sh DEST [--layout FILE] [--import-memory]` writes this header,
 * asrt_layout.h (generated from the layout: ASRT_ID_<Name>, ASRT_SIZE_<Name>, ref offsets,
 * statics), libasrt.a and asrt.ldflags into DEST:
 *
 *   clang-19 --target=wasm32-unknown-unknown -O2 -I DEST -c prog.c
 *   wasm-ld-19 @DEST/asrt.ldflags prog.o DEST/libasrt.a -o prog.wasm
 *
 * The module exports the whole runtime ABI (docs/ABI.md §5) beside the program's own functions
 * and loads with js/loader.mjs like the runtime's own module.
 *
 * Rules for C code (docs/ABI.md §9.3):
 * - Managed objects come from __new (or the string exports); their payload starts zeroed. Any
 *   call that allocates may run a GC step. A ref in a C local or a C global is NOT a root:
 *   keep what you still need on the shadow stack (asrt_push / asrt_root), in a layout static
 *   such as `slots`, reachable from a rooted object, or pinned (__pin). Objects never move, so a
 *   rooted ref stays valid.
 * - After storing a ref into an object or a static, run the barrier: asrt_link(parent, child)
 *   (or use ASRT_STORE / asrt_store_ref, which do both). It costs one load and a branch while
 *   the collector is not marking.
 * - The collector finds references by type: only the ref-field offsets the layout declares for
 *   a class are traced. Check your structs against asrt_layout.h with ASRT_CHECK_CLASS and
 *   ASRT_CHECK_REF.
 * - Do not bring another allocator over asrt's heap (malloc from a libc would grow the same
 *   memory): use __alloc/__realloc/__free for unmanaged memory. Use __builtin_trap(), not an
 *   `abort` import, to stop. memcpy/memset come from libasrt.a (weak: yours win).
 * - An invalid argument makes the runtime call the host's env.abort, which throws with the
 *   loader's default. The host then restores the C stack pointer and the shadow-stack top
 *   (js/loader.mjs does it for every function a C module exports, docs/ABI.md §9.5).
 */
#ifndef ASRT_H
#define ASRT_H

#if !defined(__wasm32__)
#error "asrt.h is for wasm32 (clang --target=wasm32-unknown-unknown)"
#endif

#include <stddef.h>
#include <stdint.h>

#include "asrt_layout.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------------------------
 * The runtime's exports (docs/ABI.md §5), under their ABI names. Refs are `void *` (a wasm32
 * pointer is the i32 the ABI passes); 0 / NULL is the null reference.
 */

/* Unmanaged blocks: never collected, never traced; 16-aligned, same 16-byte header. */
void *__alloc(size_t size);
void *__realloc(void *ptr, size_t size);
void __free(void *ptr);

/* A managed object of type `id` (ASRT_ID_<Name>) with a zeroed payload of `size` bytes. */
void *__new(size_t size, uint32_t id);
/* Resizes a managed object, keeping its contents (the grown tail is zeroed); may move. */
void *__renew(void *ref, size_t size);
/* The checked write barrier, after storing `child` into `parent` (asrt_link calls it only while
 * marking). expect_multiple != 0 re-grays the parent instead of shading the child. */
void __link(void *parent, void *child, int32_t expect_multiple);
/* Counted pins: an object stays a root until unpinned as often as pinned. */
void *__pin(void *ref);
void __unpin(void *ref);
/* Finishes the cycle in progress, then runs one full collection. */
void __collect(void);
/* Shades `ref` while marking (for code that traces its own roots); `cookie` is ignored. */
void __visit(void *ref, uint32_t cookie);
/* Pacing: a cycle starts once allocation reaches pause_percent of what survived the last one
 * (10..1000, default 100); step_work is the work of one step (0 keeps it, else >= 1024). */
void __gc_configure(uint32_t pause_percent, uint32_t step_work);
/* One bounded step (starting a cycle when idle); returns the phase after it. */
uint32_t __gc_step(void);
/* The current phase without doing any work: ASRT_PHASE_IDLE, _MARK or _SWEEP. */
uint32_t __gc_phase(void);
/* Checked shadow-stack push and pop (asrt_push / asrt_pop are the inline forms). */
void *__gc_push(void *ref);
void __gc_pop(uint32_t count);
/* Eight u64 at `out` (8-aligned, on the C stack or in a live block): see asrt_get_stats(). */
void __gc_stats(uint64_t *out);
/* The number of broken heap invariants; 0 when the heap is sound. */
uint32_t __heap_check(void);
/* The first `capacity` (invariant, address) pairs at `out`; returns the total count. From C,
 * `out` is an __alloc block: a buffer on the caller's own stack is refused, since the checker's
 * frames lie just below it (docs/ABI.md §5.8). */
uint32_t __heap_check_list(uint32_t *out, uint32_t capacity);
/* RTTI: the flags of `id`; whether `ref`'s type is `id` or derives from it. */
uint32_t __typeinfo(uint32_t id);
int32_t __instanceof(void *ref, uint32_t id);

/* Strings (UTF-16 objects of type ASRT_ID_String). */
void *__string_from_utf16(const uint16_t *ptr, uint32_t units);
void *__string_from_utf8(const char *ptr, uint32_t bytes, int32_t replace);
uint32_t __string_utf8_length(void *str);
void *__string_to_utf8(void *str, int32_t null_terminated); /* an ArrayBuffer */
void *__string_concat(void *a, void *b);
int32_t __string_equals(void *a, void *b);
int32_t __string_compare(void *a, void *b);
uint32_t __string_hash(void *str);
void *__string_slice(void *str, int32_t start, int32_t end);

/* Data symbols the runtime defines (each is also an exported global holding its address). */
/* The shadow-stack descriptor: slots [base, top) are roots; top moves by one slot per push. */
typedef struct asrt_gc_stack {
  void **top;
  void **base;
  void **limit;
} asrt_gc_stack;
extern asrt_gc_stack __gc_stack;
/* 1 while the collector marks, else 0: the inline barrier's fast-path test. Only the runtime
 * writes it. */
extern uint32_t __gc_marking;

/* The collector's phases, as __gc_step and __gc_phase return them. */
#define ASRT_PHASE_IDLE 0u
#define ASRT_PHASE_MARK 1u
#define ASRT_PHASE_SWEEP 2u

/* ---------------------------------------------------------------------------------------------
 * Object header (docs/ABI.md §2): 16 bytes right before every ref.
 */
#define ASRT_HEADER_SIZE 16u

/* mmInfo: bit 0 FREE, bit 1 LEFTFREE, the rest the block size minus 4. */
static inline uint32_t asrt_mm_info(const void *ref) { return ((const uint32_t *)ref)[-4]; }
/* The runtime type id (ASRT_ID_<Name>). */
static inline uint32_t asrt_rt_id(const void *ref) { return ((const uint32_t *)ref)[-2]; }
/* The payload size in bytes, as requested. */
static inline uint32_t asrt_rt_size(const void *ref) { return ((const uint32_t *)ref)[-1]; }
/* The whole block's size, header included. */
static inline uint32_t asrt_block_size(const void *ref) {
  return (asrt_mm_info(ref) & ~3u) + 4u;
}
/* A String's length in UTF-16 code units, and its units. */
static inline uint32_t asrt_string_length(const void *str) { return asrt_rt_size(str) >> 1; }
static inline const uint16_t *asrt_string_units(const void *str) {
  return (const uint16_t *)str;
}

/* A new object of a layout class: ASRT_NEW(TreeNode) is __new(ASRT_SIZE_TreeNode, ASRT_ID_TreeNode). */
#define ASRT_NEW(Name) __new(ASRT_SIZE_##Name, ASRT_ID_##Name)

/* Compile-time checks of a C struct against the layout: its size, and that field `field` is
 * the class's k-th traced ref (ASRT_REF_<Name>_<k>). */
#ifdef __cplusplus
#define ASRT_STATIC_ASSERT static_assert
#else
#define ASRT_STATIC_ASSERT _Static_assert
#endif
#define ASRT_CHECK_CLASS(Name, type)                                                          \
  ASRT_STATIC_ASSERT(sizeof(type) == ASRT_SIZE_##Name,                                        \
                     #type " does not match the layout's " #Name)
#define ASRT_CHECK_REF(Name, k, type, field)                                                  \
  ASRT_STATIC_ASSERT(offsetof(type, field) == ASRT_REF_##Name##_##k,                          \
                     #type "." #field " is not ref " #k " of the layout's " #Name)

/* ---------------------------------------------------------------------------------------------
 * The shadow stack (roots of compiled code), inline. A push that would pass `limit` hands off
 * to __gc_push, which aborts with "shadow stack overflow"; a pop of more than was pushed hands
 * off to __gc_pop, which aborts with "shadow stack underflow".
 */

/* Pushes `ref` (or NULL) and returns it. */
static inline void *asrt_push(void *ref) {
  void **top = __gc_stack.top;
  if (__builtin_expect(top >= __gc_stack.limit, 0)) return __gc_push(ref);
  *top = ref;
  __gc_stack.top = top + 1;
  return ref;
}

/* Pushes `ref` and returns its slot: write the slot to change what it roots. */
static inline void **asrt_root(void *ref) {
  asrt_push(ref);
  return __gc_stack.top - 1;
}

/* Pops `count` slots. */
static inline void asrt_pop(uint32_t count) {
  void **top = __gc_stack.top;
  if (__builtin_expect((uint32_t)(top - __gc_stack.base) < count, 0)) {
    __gc_pop(count);
    return;
  }
  __gc_stack.top = top - count;
}

/* A mark of the shadow stack's depth: asrt_frame() at a function's start, asrt_unwind(f)
 * before it returns pops every slot pushed since. */
typedef void **asrt_frame_t;
static inline asrt_frame_t asrt_frame(void) { return __gc_stack.top; }
static inline void asrt_unwind(asrt_frame_t frame) {
  asrt_pop((uint32_t)(__gc_stack.top - frame));
}

/* ---------------------------------------------------------------------------------------------
 * The store barrier, inline: after storing `child` into `parent` (a managed object or a
 * layout static), call asrt_link(parent, child). Outside marking it is one load and a branch;
 * while marking it calls the checked __link. Storing NULL needs no barrier.
 */
static inline void asrt_link(void *parent, void *child) {
#ifndef ASRT_NO_BARRIER /* for the test that proves the barrier matters; never define it */
  if (__builtin_expect(__gc_marking != 0, 0) && child) __link(parent, child, 0);
#else
  (void)parent;
  (void)child;
#endif
}

/* Stores `child` at byte `offset` of `parent` and runs the barrier. */
static inline void asrt_store_ref(void *parent, uint32_t offset, void *child) {
  *(void **)((char *)parent + offset) = child;
  asrt_link(parent, child);
}

/* `obj->field = value` with the barrier; `obj` and `value` are evaluated once. */
#define ASRT_STORE(obj, field, value)                                                         \
  do {                                                                                        \
    __typeof__(obj) asrt_obj_ = (obj);                                                        \
    __typeof__(asrt_obj_->field) asrt_val_ = (value);                                         \
    asrt_obj_->field = asrt_val_;                                                             \
    asrt_link(asrt_obj_, asrt_val_);                                                          \
  } while (0)

/* ---------------------------------------------------------------------------------------------
 * Statistics (__gc_stats), read into a struct on the C stack.
 */
typedef struct asrt_stats {
  uint64_t heap_bytes;      /* from __heap_base to the end of memory */
  uint64_t used_bytes;      /* used blocks, headers included */
  uint64_t free_bytes;      /* free blocks */
  uint64_t largest_free;    /* the largest payload __alloc could return without growing */
  uint64_t live_objects;    /* managed heap objects not yet freed */
  uint64_t collections;     /* completed cycles */
  uint64_t steps;           /* GC steps */
  uint64_t total_allocated; /* payload bytes requested from __new, __renew and __alloc */
} asrt_stats;

static inline asrt_stats asrt_get_stats(void) {
  asrt_stats s;
  __gc_stats(&s.heap_bytes);
  return s;
}

#ifdef __cplusplus
}
#endif

#endif /* ASRT_H */
