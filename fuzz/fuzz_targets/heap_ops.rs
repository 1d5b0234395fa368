//! Allocator operation sequences (`__alloc` / `__realloc` / `__free` through the Runtime's
//! unmanaged API) against a shadow model, with hostile inputs mixed in.
//!
//! After every action: live blocks are exactly the model's, 16-aligned, inside the heap, never
//! overlapping, with their requested rtSize and their contents intact (across moves too), the
//! used-byte figure adds up, and `__heap_check` is 0.
//!
//! Hostile classes (switch with ASRT_FUZZ_HOSTILE, see fuzz/common/mod.rs):
//! - `forged_ref`: free/realloc of interior, misaligned, block-address, stale (double free),
//!   below-heap and past-the-end values: rejected, memory byte-identical;
//! - `fake_header`: free/realloc of a ref behind a plausible header written inside a live
//!   payload: rejected, memory byte-identical (needs exact validation, issue 8 item 6);
//! - `fake_leftfree`: the same with a forged LEFTFREE bit and a "left block" word;
//! - `oom_exact`: an allocation may fail with OutOfMemory only if no free block can hold it and
//!   growing memory to its maximum cannot either (ABI §6; issue 8 item 2).
#![no_main]

#[path = "../common/mod.rs"]
mod common;

use arbitrary::Arbitrary;
use asrt::host::HostConfig;
use asrt::memory::Memory;
use asrt::object::{MAX_PAYLOAD, NO_TYPE, block_size};
use asrt::{Error, Runtime};
use common::*;
use libfuzzer_sys::fuzz_target;

const ALL: &[&str] = &["forged_ref", "fake_header", "fake_leftfree", "oom_exact"];
/// What the current runtime withstands: every class, since the fixes of issue 8.
const SAFE: &[&str] = ALL;

/// Memory cap: 64 pages (4 MiB), so out of memory is reachable.
const MAX_PAGES: u32 = 64;
/// The model keeps at most this many live payload bytes.
const LIVE_CAP: u64 = 3 << 20;
const MAX_ACTIONS: usize = 400;

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Size {
    Tiny(u8),
    Small(u16),
    Medium(u32),
    Edge(u8),
    Huge(u32),
}

impl Size {
    fn get(self) -> u32 {
        const EDGES: [u32; 20] = [
            0,
            1,
            12,
            13,
            16,
            17,
            32,
            224,
            240,
            241,
            256,
            496,
            4080,
            4096,
            65520,
            65536,
            131_056,
            262_128,
            1 << 20,
            (1 << 20) - 16,
        ];
        match self {
            Size::Tiny(n) => n as u32 % 65,
            Size::Small(n) => n as u32 % 4097,
            Size::Medium(n) => n % ((1 << 20) + 1),
            Size::Edge(n) => EDGES[n as usize % EDGES.len()],
            Size::Huge(n) => n,
        }
    }
}

#[derive(Arbitrary, Debug)]
enum Action {
    Alloc {
        size: Size,
        fill: u8,
    },
    Free {
        pick: u16,
    },
    Realloc {
        pick: u16,
        size: Size,
    },
    /// Rewrites a live block's contents.
    Rewrite {
        pick: u16,
        fill: u8,
    },
    /// `forged_ref`: free of a value that is not a live block.
    ForgedFree {
        forge: Forge,
    },
    /// `forged_ref`: realloc of a value that is not a live block.
    ForgedRealloc {
        forge: Forge,
        size: Size,
    },
    /// `forged_ref`: free a block, then free (or realloc) the same ref again.
    DoubleFree {
        pick: u16,
        realloc: bool,
    },
    /// `fake_header` / `fake_leftfree`: a header forged inside a live payload, then free or
    /// realloc of the ref behind it.
    FakeHeader {
        pick: u16,
        k: u16,
        size: u16,
        leftfree: Option<u16>,
        realloc: Option<Size>,
    },
}

struct Live {
    r: u32,
    size: u32,
    fill: u8,
}

struct Model {
    rt: Rt,
    live: Vec<Live>,
    live_bytes: u64,
    history: History,
    steps: usize,
}

impl Model {
    fn check_contents(&self, b: &Live, n: u32) {
        let data = bytes(&self.rt, b.r, n);
        if let Some(i) = data.iter().position(|&x| x != b.fill) {
            panic!(
                "block {:#x} (size {}) corrupted at byte {i}: {:#x} != {:#x} (step {})",
                b.r, b.size, data[i], b.fill, self.steps
            );
        }
    }

    fn verify(&mut self) {
        let rt = &self.rt;
        assert_eq!(rt.check(), 0, "__heap_check after step {}", self.steps);
        let (used, _) = walk(rt);
        assert_eq!(used.len(), self.live.len(), "the heap holds exactly the model's blocks");
        let mut ext: Vec<(u32, u32)> = Vec::new();
        let mut sum = 0u64;
        for b in &self.live {
            assert_eq!(b.r % 16, 0);
            assert_eq!(rt.validate_unmanaged(b.r), Ok(b.r - 16), "live block {:#x}", b.r);
            assert_eq!(rt.rt_size(b.r), b.size, "rtSize of {:#x}", b.r);
            let bs = block_size(b.size);
            assert!(b.r - 16 >= rt.heap().start() && b.r - 16 + bs <= rt.memory().size() - 16);
            ext.push((b.r - 16, b.r - 16 + bs));
            sum += bs as u64;
            self.check_contents(b, b.size);
        }
        ext.sort_unstable();
        for w in ext.windows(2) {
            assert!(w[0].1 <= w[1].0, "blocks overlap: {:x?} {:x?}", w[0], w[1]);
        }
        assert_eq!(rt.stats().used_bytes, sum, "used bytes are the live blocks");
        self.history.record(&used);
    }

    fn pick(&self, p: u16) -> Option<usize> {
        if self.live.is_empty() { None } else { Some(p as usize % self.live.len()) }
    }

    /// Whether a request for `size` bytes could be met: a free block holds it, or growing
    /// memory to its maximum (merging the free block before the sentinel) would.
    fn satisfiable(&self, size: u32) -> bool {
        if size > MAX_PAYLOAD {
            return false;
        }
        let need = block_size(size) as u64;
        let rt = &self.rt;
        let (_, free) = walk(rt);
        if free.iter().any(|&(_, s)| s as u64 >= need) {
            return true;
        }
        let end = rt.memory().size();
        let tail_free = free.iter().find(|&&(b, s)| b + s == end - 16).map_or(0, |&(_, s)| s);
        let room = (MAX_PAGES - rt.memory().pages()) as u64 * 65536;
        tail_free as u64 + room >= need
    }

    fn alloc(&mut self, size: u32, fill_byte: u8, classes: &Classes) {
        if self.live_bytes + size as u64 > LIVE_CAP {
            return;
        }
        match self.rt.alloc(size) {
            Ok(r) => {
                assert_eq!(r % 16, 0);
                assert_eq!(self.rt.rt_size(r), size);
                fill(&self.rt, r, fill_byte, size);
                self.live.push(Live { r, size, fill: fill_byte });
                self.live_bytes += size as u64;
            }
            Err(Error::SizeTooLarge) => assert!(size > MAX_PAYLOAD, "alloc({size}): SizeTooLarge"),
            Err(Error::OutOfMemory) => {
                if classes.enabled("oom_exact") {
                    assert!(
                        !self.satisfiable(size),
                        "alloc({size}) failed with OutOfMemory but a free block or growth could hold it"
                    );
                }
            }
            Err(e) => panic!("alloc({size}): unexpected {e:?}"),
        }
    }

    fn realloc(&mut self, i: usize, size: u32, classes: &Classes) {
        let (r, old, f) = (self.live[i].r, self.live[i].size, self.live[i].fill);
        if self.live_bytes - old as u64 + size as u64 > LIVE_CAP {
            return;
        }
        match self.rt.realloc(r, size) {
            Ok(n) => {
                assert_eq!(n % 16, 0);
                assert_eq!(self.rt.rt_size(n), size);
                let keep = old.min(size);
                self.live[i].r = n;
                self.live[i].size = size;
                self.check_contents(&self.live[i], keep);
                if size > old {
                    fill(&self.rt, n + old, f, size - old);
                }
                self.live_bytes = self.live_bytes - old as u64 + size as u64;
            }
            Err(Error::SizeTooLarge) => assert!(size > MAX_PAYLOAD),
            Err(Error::OutOfMemory) => {
                // The block stays as it was (verify checks it).
                if classes.enabled("oom_exact") {
                    assert!(
                        !self.satisfiable(size),
                        "realloc(.., {size}) failed with OutOfMemory but a free block or growth could hold it"
                    );
                }
            }
            Err(e) => panic!("realloc({r:#x}, {size}): unexpected {e:?}"),
        }
    }

    fn free(&mut self, i: usize) {
        let b = self.live.swap_remove(i);
        self.rt.free(b.r).expect("free of a live block");
        self.live_bytes -= b.size as u64;
    }
}

fuzz_target!(|actions: Vec<Action>| {
    let classes = common::classes("heap_ops", ALL, SAFE);
    let rt = Runtime::host(HostConfig {
        initial_pages: 2,
        max_pages: MAX_PAGES,
        stack_slots: 16,
        static_slots: 8,
    });
    let mut m =
        Model { rt, live: Vec::new(), live_bytes: 0, history: History::default(), steps: 0 };
    for a in actions.into_iter().take(MAX_ACTIONS) {
        m.steps += 1;
        match a {
            Action::Alloc { size, fill } => m.alloc(size.get(), fill, classes),
            Action::Free { pick } => {
                if let Some(i) = m.pick(pick) {
                    m.free(i);
                }
            }
            Action::Realloc { pick, size } => {
                if let Some(i) = m.pick(pick) {
                    m.realloc(i, size.get(), classes);
                }
            }
            Action::Rewrite { pick, fill: f } => {
                if let Some(i) = m.pick(pick) {
                    m.live[i].fill = f;
                    fill(&m.rt, m.live[i].r, f, m.live[i].size);
                }
            }
            Action::ForgedFree { forge } | Action::ForgedRealloc { forge, .. }
                if classes.enabled("forged_ref") =>
            {
                let (used, _) = walk(&m.rt);
                let stale = m.history.stale(&used);
                let live: std::collections::BTreeSet<u32> = used.iter().map(|b| b.r).collect();
                let Some(v) = forge.resolve(&m.rt, &used, &stale, &|v| live.contains(&v)) else {
                    continue;
                };
                if v == 0 {
                    // free(0) is a no-op by the ABI; realloc(0) is rejected.
                    assert_eq!(m.rt.free(0), Ok(()));
                    expect_rejected(&mut m.rt, "realloc(0)", |rt| rt.realloc(0, 16));
                } else if let Action::ForgedRealloc { size, .. } = a {
                    let what = format!("realloc({v:#x}) ({forge:?})");
                    expect_rejected(&mut m.rt, &what, |rt| rt.realloc(v, size.get()));
                } else {
                    expect_rejected(&mut m.rt, &format!("free({v:#x}) ({forge:?})"), |rt| {
                        rt.free(v)
                    });
                }
            }
            Action::DoubleFree { pick, realloc } if classes.enabled("forged_ref") => {
                if let Some(i) = m.pick(pick) {
                    let r = m.live[i].r;
                    m.free(i);
                    // The ref may already be live again only if a later alloc reused it: none.
                    if realloc {
                        expect_rejected(&mut m.rt, "realloc after free", |rt| rt.realloc(r, 8));
                    } else {
                        expect_rejected(&mut m.rt, "double free", |rt| rt.free(r));
                    }
                }
            }
            Action::FakeHeader { pick, k, size, leftfree, realloc } => {
                let class = if leftfree.is_some() { "fake_leftfree" } else { "fake_header" };
                if !classes.enabled(class) {
                    continue;
                }
                let Some(i) = m.pick(pick) else { continue };
                let (used, _) = walk(&m.rt);
                let host = *used.iter().find(|b| b.r == m.live[i].r).unwrap();
                // A "left block" pointer: another live block's start, or a raw value.
                let left = leftfree
                    .map(|l| used.get(l as usize % used.len()).map_or(l as u32 * 16, |b| b.r - 16));
                let Some(fake) =
                    FakeHeader::write(&m.rt, &host, k as u32, size as u32, 0, NO_TYPE, left)
                else {
                    continue;
                };
                let v = fake.r;
                match realloc {
                    Some(s) => expect_rejected(
                        &mut m.rt,
                        &format!("realloc of a ref behind a forged {class} at {v:#x}"),
                        |rt| rt.realloc(v, s.get()),
                    ),
                    None => expect_rejected(
                        &mut m.rt,
                        &format!("free of a ref behind a forged {class} at {v:#x}"),
                        |rt| rt.free(v),
                    ),
                }
                fake.restore(&m.rt);
            }
            _ => {}
        }
        m.verify();
    }
    // Free everything: all free again but the start map's block (and the hole a moved map left).
    while let Some(i) = m.pick(0) {
        m.free(i);
    }
    m.verify();
    let s = m.rt.stats();
    assert_eq!(s.used_bytes, 0);
    let map = m.rt.heap().map_block_bytes() as u64;
    assert_eq!(s.free_bytes + map + 16, s.heap_bytes, "free except the start map and the sentinel");
});
