//! binary-trees (the Benchmarks Game workload) in Rust on asrt's typed API ([`asrt::api`]),
//! structured like `bench/as/binarytrees.ts`: a stretch tree of depth n+1, one long-lived tree of
//! depth n kept for the whole run, and for depths 4, 6, .., n, `1 << (n - d + 4)` short-lived
//! trees built and counted. `run(n)` returns the sum of all node counts (the host checks it
//! against the closed form); `lineValue(i)` / `lineTotal()` give the per-phase counts.
//!
//! Nodes are the layout's `TreeNode` (8 bytes, refs at 0 and 4). The collector runs during
//! allocation, so `build` keeps the left subtree on the shadow stack while it builds the right
//! one, and the long-lived tree is rooted for the whole run. The hot path uses the unchecked
//! accessors: every ref it touches is one it just allocated and rooted.
#![no_std]

use asrt::api::{self, Class, Field, Mutator, Ref};
use asrt::memory::WasmMemory;

/// `class TreeNode { left: TreeNode | null; right: TreeNode | null }`
struct TreeNode;

// SAFETY: the layout's TreeNode is a plain class of 8 bytes with refs at 0 and 4.
unsafe impl Class for TreeNode {
    const ID: u32 = asrt::rtti::ID_TREENODE;
    const SIZE: u32 = 8;
}

const LEFT: Field<TreeNode, Option<Ref<TreeNode>>> = Field::new(0);
const RIGHT: Field<TreeNode, Option<Ref<TreeNode>>> = Field::new(4);

type M = Mutator<WasmMemory>;

/// A full tree of `depth`: the children first, then the node (as the AS version does).
fn build(m: &mut M, depth: i32) -> Ref<TreeNode> {
    if depth <= 0 {
        return m.alloc::<TreeNode>();
    }
    m.scope(|m| {
        let l = build(m, depth - 1);
        // SAFETY: `l` was just allocated; nothing ran since.
        unsafe { m.root_unchecked(l) };
        let r = build(m, depth - 1);
        unsafe { m.root_unchecked(r) };
        let node = m.alloc::<TreeNode>();
        // SAFETY: all three are live: `l` and `r` rooted, `node` just allocated.
        unsafe {
            m.set_unchecked(node, LEFT, Some(l));
            m.set_unchecked(node, RIGHT, Some(r));
        }
        node
    })
}

/// Nodes in the tree at `node` (allocates nothing, so nothing needs rooting).
fn count(m: &M, node: Ref<TreeNode>) -> i32 {
    // SAFETY: callers pass a tree that is live for the duration (rooted or freshly built), and
    // its nodes are reachable from it.
    let (l, r) = unsafe { (m.get_unchecked(node, LEFT), m.get_unchecked(node, RIGHT)) };
    match (l, r) {
        (Some(l), Some(r)) => 1 + count(m, l) + count(m, r),
        _ => 1,
    }
}

const MIN_DEPTH: i32 = 4;

/// Per-phase node counts of the last run: [stretch, d=4, d=6, ..., longLived].
static mut LINES: [i32; 32] = [0; 32];
static mut LINE_COUNT: i32 = 0;

fn push_line(v: i32) {
    // SAFETY: wasm32 is single-threaded and no reference to LINES is kept.
    unsafe {
        let i = LINE_COUNT as usize;
        if i < 32 {
            (*core::ptr::addr_of_mut!(LINES))[i] = v;
            LINE_COUNT += 1;
        }
    }
}

/// The benchmark: returns the sum of all node counts.
#[unsafe(no_mangle)]
pub extern "C" fn run(n: i32) -> i32 {
    let max_depth = n.max(MIN_DEPTH + 2);
    // SAFETY: single-threaded.
    unsafe { LINE_COUNT = 0 };
    api::with(|m| {
        m.scope(|m| {
            let stretch = build(m, max_depth + 1);
            let stretch = count(m, stretch);
            push_line(stretch);
            let mut checksum = stretch;

            let long_lived = build(m, max_depth);
            // SAFETY: just built; rooted until the scope ends.
            unsafe { m.root_unchecked(long_lived) };

            let mut d = MIN_DEPTH;
            while d <= max_depth {
                let iterations = 1 << (max_depth - d + MIN_DEPTH);
                let mut c = 0i32;
                for _ in 0..iterations {
                    let t = build(m, d);
                    c = c.wrapping_add(count(m, t));
                }
                push_line(c);
                checksum = checksum.wrapping_add(c);
                d += 2;
            }

            let ll = count(m, long_lived);
            push_line(ll);
            checksum.wrapping_add(ll)
        })
    })
}

/// Node count of phase `i` of the last run, or -1.
#[unsafe(no_mangle)]
pub extern "C" fn lineValue(i: i32) -> i32 {
    // SAFETY: single-threaded reads.
    unsafe {
        if i >= 0 && i < LINE_COUNT {
            (*core::ptr::addr_of!(LINES))[i as usize]
        } else {
            -1
        }
    }
}

/// Phases recorded by the last run.
#[unsafe(no_mangle)]
pub extern "C" fn lineTotal() -> i32 {
    // SAFETY: single-threaded read.
    unsafe { LINE_COUNT }
}
