/*
 * The inline store barrier while the collector marks (tests/c/checks.mjs). Built twice: as is,
 * and with -DASRT_NO_BARRIER (asrt_link does nothing), which must fail: that proves the test
 * sees a missing barrier.
 *
 * chain(n) keeps a chain of n Boxes in static slot 0. moveWhileMarking() starts a cycle with
 * small steps (the chain's head is gray, its tail still white), allocates a holder (black:
 * objects made while marking are), stores the chain's last Box into it through the barrier and
 * cuts it from the chain, so the holder is its only referrer. Without the barrier the white Box
 * sits in a black object and the cycle frees it.
 */
#include "asrt.h"

typedef struct Box {
  struct Box *item;
  int32_t value;
} Box;

ASRT_CHECK_CLASS(Box, Box);
ASRT_CHECK_REF(Box, 0, Box, item);

#define EXPORT(name) __attribute__((export_name(#name)))

static Box **slots(void) { return (Box **)ASRT_STATIC_slots; }

EXPORT(chain) void chain(int32_t n) {
  void **head = asrt_root(NULL);
  for (int32_t i = n - 1; i >= 0; i--) {
    Box *b = ASRT_NEW(Box);
    b->value = i;
    ASRT_STORE(b, item, (Box *)*head);
    *head = b;
  }
  slots()[0] = *head;
  asrt_link(slots(), *head);
  asrt_pop(1);
}

/* Bits of the result: 1 the heap checker saw a broken invariant right after the store (a black
 * object pointing to a white one), 2 the moved Box was lost after the cycle, 4 the collector was
 * not marking around the store (the test itself would prove nothing). */
EXPORT(moveWhileMarking) int32_t move_while_marking(void) {
  int32_t result = 0;
  __collect();
  __gc_configure(100, 1024);
  __gc_step(); /* starts a cycle: roots shaded, a few objects scanned */
  if (__gc_phase() != ASRT_PHASE_MARK) result |= 4;
  Box *holder = asrt_push(ASRT_NEW(Box));
  Box *prev = slots()[0];
  while (prev->item->item) prev = prev->item;
  Box *moved = prev->item;
  int32_t value = moved->value;
  ASRT_STORE(holder, item, moved);
  prev->item = NULL; /* storing null needs no barrier */
  if (__gc_phase() != ASRT_PHASE_MARK) result |= 4;
  if (__heap_check() != 0) result |= 1;
  __collect();
  if (__heap_check() != 0 || holder->item != moved || asrt_rt_id(moved) != ASRT_ID_Box ||
      moved->value != value || moved->item != NULL)
    result |= 2;
  asrt_pop(1);
  __gc_configure(100, 16384);
  return result;
}
