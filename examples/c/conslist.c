/*
 * Cons lists in C on asrt: a list kept in the layout's static `slots` (a GC root) across calls,
 * lists built on the shadow stack, and garbage made on purpose. Driven by examples/c/run.mjs and
 * tests/c/.
 *
 * struct Cons is the layout's Cons class (examples/c/layout.toml): an i32 head at 0 and the tail
 * ref at 4, the one field the collector traces.
 */
#include "asrt.h"

typedef struct Cons {
  int32_t head;
  struct Cons *tail;
} Cons;

ASRT_CHECK_CLASS(Cons, Cons);
ASRT_CHECK_REF(Cons, 0, Cons, tail);

#define EXPORT(name) __attribute__((export_name(#name)))

/* The static StaticArray<string> `slots`: 8 reference slots the collector scans as roots. */
static void **static_slots(void) { return (void **)ASRT_STATIC_slots; }

static void set_slot(int i, void *ref) {
  void **slots = static_slots();
  slots[i] = ref;
  asrt_link(slots, ref);
}

/* A new cell: `tail` must be rooted or reachable by the caller (the __new may collect). */
static Cons *cons(int32_t head, Cons *tail) {
  asrt_push(tail);
  Cons *c = ASRT_NEW(Cons);
  c->head = head;
  ASRT_STORE(c, tail, tail);
  asrt_pop(1);
  return c;
}

/* The list [from, from + 1, ..., from + n - 1], built from its end. */
static Cons *range(int32_t from, int32_t n) {
  void **acc = asrt_root(NULL);
  for (int32_t i = n - 1; i >= 0; i--) *acc = cons(from + i, (Cons *)*acc);
  Cons *list = (Cons *)*acc;
  asrt_pop(1);
  return list;
}

/* Keeps range(0, n) in static slot `slot`; returns its ref. */
EXPORT(keep) void *keep(int32_t slot, int32_t n) {
  Cons *list = range(0, n);
  set_slot(slot, list);
  return list;
}

/* Drops what static slot `slot` keeps. */
EXPORT(drop) void drop(int32_t slot) { set_slot(slot, NULL); }

/* The list in static slot `slot`. */
static Cons *kept(int32_t slot) { return (Cons *)static_slots()[slot]; }

EXPORT(length) int32_t length(int32_t slot) {
  int32_t n = 0;
  for (Cons *c = kept(slot); c; c = c->tail) n++;
  return n;
}

EXPORT(sum) int64_t sum(int32_t slot) {
  int64_t s = 0;
  for (Cons *c = kept(slot); c; c = c->tail) s += c->head;
  return s;
}

/* Replaces the list in `slot` by its mapped copy (x * 3 + 1), built while the old one is
 * rooted only by the slot. */
EXPORT(map) void map(int32_t slot) {
  void **acc = asrt_root(NULL);
  for (Cons *c = kept(slot); c; c = c->tail) *acc = cons(c->head * 3 + 1, (Cons *)*acc);
  /* *acc is reversed: reverse it into a second rooted list. */
  void **out = asrt_root(NULL);
  for (Cons *c = (Cons *)*acc; c; c = c->tail) *out = cons(c->head, (Cons *)*out);
  set_slot(slot, *out);
  asrt_pop(2);
}

/* Garbage: `lists` lists of `n` cells each, dropped at once. Returns the last list's sum. */
EXPORT(churn) int64_t churn(int32_t lists, int32_t n) {
  int64_t s = 0;
  for (int32_t k = 0; k < lists; k++) {
    s = 0;
    for (Cons *c = range(k, n); c; c = c->tail) s += c->head;
  }
  return s;
}

/* A list rooted only by the shadow stack, `depth` nested calls deep, each allocating garbage
 * before it looks at its list again. Returns the sum of every level's list, or -1 if a list
 * changed under a collection. */
EXPORT(nested) int64_t nested(int32_t depth, int32_t n) {
  if (depth == 0) return 0;
  void **mine = asrt_root(range(depth, n));
  int64_t below = nested(depth - 1, n);
  churn(4, 1000);
  int64_t s = 0;
  int32_t i = 0;
  for (Cons *c = (Cons *)*mine; c; c = c->tail, i++) {
    if (c->head != depth + i || asrt_rt_id(c) != ASRT_ID_Cons) return -1;
    s += c->head;
  }
  asrt_pop(1);
  return below < 0 || i != n ? -1 : below + s;
}
