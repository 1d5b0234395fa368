/*
 * binary-trees (the Benchmarks Game workload) in C on asrt, structured like bench/gc/rust and
 * bench/as/binarytrees.ts: a stretch tree of depth n+1, one long-lived tree of depth n kept for
 * the whole run, and for depths 4, 6, .., n, `1 << (n - d + 4)` short-lived trees built and
 * counted. run(n) returns the sum of all node counts; lineValue(i) / lineTotal() give the
 * per-phase counts.
 *
 * Nodes are the layout's TreeNode (examples/c/layout.toml). Any __new may run a GC step, so
 * build() keeps the left subtree on the shadow stack while it builds the right one, and the
 * long-lived tree stays rooted for the whole run.
 */
#include "asrt.h"

typedef struct TreeNode {
  struct TreeNode *left;
  struct TreeNode *right;
} TreeNode;

ASRT_CHECK_CLASS(TreeNode, TreeNode);
ASRT_CHECK_REF(TreeNode, 0, TreeNode, left);
ASRT_CHECK_REF(TreeNode, 1, TreeNode, right);

#define EXPORT(name) __attribute__((export_name(#name)))

/* A full tree of `depth`: the children first, then the node. */
static TreeNode *build(int depth) {
  if (depth <= 0) return ASRT_NEW(TreeNode);
  TreeNode *l = asrt_push(build(depth - 1));
  TreeNode *r = asrt_push(build(depth - 1));
  TreeNode *node = ASRT_NEW(TreeNode);
  ASRT_STORE(node, left, l);
  ASRT_STORE(node, right, r);
  asrt_pop(2);
  return node;
}

/* Nodes in the tree (allocates nothing, so nothing needs rooting). */
static int count(const TreeNode *node) {
  if (node->left && node->right) return 1 + count(node->left) + count(node->right);
  return 1;
}

#define MIN_DEPTH 4
static int lines[32];
static int line_count;

static void push_line(int v) {
  if (line_count < 32) lines[line_count++] = v;
}

EXPORT(run) int run(int n) {
  int max_depth = n > MIN_DEPTH + 2 ? n : MIN_DEPTH + 2;
  line_count = 0;
  asrt_frame_t frame = asrt_frame();

  int stretch = count(build(max_depth + 1));
  push_line(stretch);
  unsigned checksum = (unsigned)stretch;

  TreeNode *long_lived = asrt_push(build(max_depth));
  for (int d = MIN_DEPTH; d <= max_depth; d += 2) {
    int iterations = 1 << (max_depth - d + MIN_DEPTH);
    unsigned c = 0;
    for (int i = 0; i < iterations; i++) c += (unsigned)count(build(d));
    push_line((int)c);
    checksum += c;
  }
  int ll = count(long_lived);
  push_line(ll);
  asrt_unwind(frame);
  return (int)(checksum + (unsigned)ll);
}

EXPORT(lineValue) int line_value(int i) { return i >= 0 && i < line_count ? lines[i] : -1; }

EXPORT(lineTotal) int line_total(void) { return line_count; }
