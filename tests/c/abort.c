/*
 * Aborts inside C code (tests/c/checks.mjs): failDeep(depth) recurses `depth` levels, each
 * with 1 KiB on the C stack and one shadow-stack slot, then makes a call the runtime rejects
 * (__unpin of an object that is not pinned). env.abort throws through every C frame: without
 * the host's entry guard (js/loader.mjs, docs/ABI.md §9.5) the C stack pointer and the
 * shadow-stack top would stay where the deepest frame left them.
 */
#include "asrt.h"

#define EXPORT(name) __attribute__((export_name(#name)))

static int32_t dive(int32_t depth, void *obj) {
  volatile char frame[1024];
  frame[0] = (char)depth;
  asrt_push(obj);
  int32_t r;
  if (depth == 0) {
    __unpin(obj); /* never pinned: aborts */
    r = 0;
  } else {
    r = dive(depth - 1, obj);
  }
  asrt_pop(1);
  return r + frame[0];
}

EXPORT(failDeep) int32_t fail_deep(int32_t depth) { return dive(depth, ASRT_NEW(TreeNode)); }

/* Works normally: a tree of 3 nodes built on the shadow stack; returns its node count. */
EXPORT(works) int32_t works(void) {
  asrt_frame_t f = asrt_frame();
  void **root = asrt_root(ASRT_NEW(TreeNode));
  void *l = ASRT_NEW(TreeNode);
  asrt_store_ref(*root, ASRT_REF_TreeNode_0, l);
  void *r = ASRT_NEW(TreeNode);
  asrt_store_ref(*root, ASRT_REF_TreeNode_1, r);
  __collect();
  int32_t n = 1 + (((void **)*root)[0] == l) + (((void **)*root)[1] == r);
  asrt_unwind(f);
  return n;
}
