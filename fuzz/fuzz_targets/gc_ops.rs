//! GC mutator sequences against the reachability model of tests/model (GcModel): objects of
//! every kind of the layout, stores + `__link` in both modes, shadow-stack push/pop, counted
//! pins, static slots, array pushes that renew buffers, renew of strings/buffers/static arrays,
//! GC steps, collections and pacing changes, in any order and so in the middle of cycles. After
//! every action every object the model can reach is live and intact, and `__heap_check` is 0; at
//! the end every root is dropped and the heap returns to its baseline.
//!
//! Hostile classes (switch with ASRT_FUZZ_HOSTILE, see fuzz/common/mod.rs):
//! - `forged_ref`: pin/unpin/link/push/visit/renew/free/realloc of values that are not valid
//!   for the export (interior, misaligned, block address, stale, below heap, past the end,
//!   a managed ref to free): rejected, memory byte-identical;
//! - `fake_header`: the same with a ref behind a plausible header forged inside a live
//!   payload (issue 8 item 6);
//! - `junk_stack_slot` / `junk_static_slot`: a non-ref (interior pointer, stale ref, raw
//!   value) in a live shadow-stack slot or a static slot while the collector runs: it must be
//!   skipped, never written through (item 5);
//! - `bad_descriptor`: a garbage shadow-stack `{ top, base, limit }`: `__gc_push`/`__gc_pop`
//!   reject it and write nothing (item 4); `bad_descriptor_gc`: GC steps and collections with
//!   it must not write outside the slot array either;
//! - `shrink_scan`: a StaticArray<string> or an Array<string>'s buffer, scanned in chunks, is
//!   shrunk by `__renew` in the middle of the scan and the freed tail is reused (item 1);
//! - `oom_collect`: `__new` may fail with OutOfMemory only if a full collection would not
//!   make the same request succeed (item 2).
#![no_main]

#[path = "../common/mod.rs"]
mod common;
#[allow(dead_code, unused_imports, unused_macros)]
#[path = "../../tests/model/mod.rs"]
mod model;

use arbitrary::Arbitrary;
use asrt::Error;
use asrt::gc::Phase;
use asrt::object::MANAGED;
use asrt::rtti;
use common::*;
use libfuzzer_sys::fuzz_target;
use model::GcModel;

const ALL: &[&str] = &[
    "forged_ref",
    "fake_header",
    "junk_stack_slot",
    "junk_static_slot",
    "bad_descriptor",
    "bad_descriptor_gc",
    "shrink_scan",
    "oom_collect",
];
/// What the current runtime withstands: every class, since the fixes of issue 8.
const SAFE: &[&str] = ALL;

/// Memory cap: 512 pages (32 MiB).
const MAX_PAGES: u32 = 512;
const MAX_ACTIONS: usize = 300;

/// The model's operations (tests/model `GcOp`), each with its raw operands (decoded by
/// `GcOp::decode`).
#[derive(Arbitrary, Debug, Clone, Copy)]
enum Op {
    /// A new object of kind `a % 6` (String, ArrayBuffer, Array<string>, Array<i32>,
    /// StaticArray<string>, TreeNode), `big` for the large sizes, rooted on the stack, pinned,
    /// stored in a static slot or a container, or left as garbage.
    New {
        a: u32,
        b: u32,
        big: bool,
    },
    Store {
        a: u32,
        b: u32,
    },
    ArrayPush {
        a: u32,
        b: u32,
    },
    Push {
        a: u32,
    },
    Pop {
        a: u32,
    },
    Pin {
        a: u32,
    },
    Unpin {
        a: u32,
        b: u32,
    },
    Steps {
        a: u8,
    },
    Collect,
    Step,
    Renew {
        a: u32,
        b: u32,
    },
    StaticStore {
        a: u32,
        b: u32,
    },
    Configure {
        a: u8,
    },
    Clear {
        a: u32,
        b: u32,
    },
}

impl Op {
    fn raw(self) -> model::RawOp {
        match self {
            Op::New { a, b, big } => {
                let a = if big {
                    let x = a >> 3;
                    (a & 7) | ((x - x % 29) << 3)
                } else {
                    a
                };
                (0, a, b)
            }
            Op::Store { a, b } => (5, a, b),
            Op::ArrayPush { a, b } => (8, a, b),
            Op::Push { a } => (9, a, 0),
            Op::Pop { a } => (10, a, 0),
            Op::Pin { a } => (11, a, 0),
            Op::Unpin { a, b } => (12, a, b),
            Op::Steps { a } => (13, a as u32, 0),
            Op::Collect => (15, 0, 0),
            Op::Step => (15, 1, 0),
            Op::Renew { a, b } => (16, a, b),
            Op::StaticStore { a, b } => (17, a, b),
            Op::Configure { a } => (18, a as u32, 0),
            Op::Clear { a, b } => (19, a, b),
        }
    }
}

/// An export that takes a ref.
#[derive(Arbitrary, Debug, Clone, Copy)]
enum Call {
    Pin,
    Unpin,
    /// `__link(v, 0, m)`... with the forged value as parent and a live child.
    LinkParent {
        child: u16,
        multiple: bool,
    },
    /// `__link(p, v, m)`: a live parent, the forged value as child.
    LinkChild {
        parent: u16,
        multiple: bool,
    },
    Push,
    Visit,
    Renew {
        size: u16,
    },
    Free,
    Realloc {
        size: u16,
    },
}

/// One word of a forged shadow-stack descriptor.
#[derive(Arbitrary, Debug, Clone, Copy)]
enum Word {
    Same,
    Plus(i16),
    Raw(u32),
    /// The block address of a live heap block plus 4 * k.
    InHeap {
        pick: u16,
        k: u8,
    },
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum DescUse {
    Push { pick: u16 },
    Pop { n: u8 },
    Steps { n: u8 },
    Collect,
}

#[derive(Arbitrary, Debug)]
enum Action {
    Model(Op),
    /// `forged_ref`: an export called with a forged value.
    Forged {
        forge: Forge,
        call: Call,
    },
    /// `fake_header`: an export called with the ref behind a header forged in a live payload.
    FakeHeader {
        pick: u16,
        k: u16,
        size: u16,
        id: u8,
        color: u8,
        call: Call,
    },
    /// `junk_stack_slot` / `junk_static_slot`: junk in a root slot while GC work runs.
    JunkSlot {
        value: Forge,
        in_static: bool,
        slot: u8,
        steps: u8,
        collect: bool,
    },
    /// `bad_descriptor` / `bad_descriptor_gc`.
    BadDescriptor {
        top: Word,
        base: Word,
        limit: Word,
        then: DescUse,
    },
    /// `shrink_scan`.
    ShrinkDuringScan {
        array: bool,
        len: u16,
        children: u16,
        steps_before: u8,
        new_len: u8,
        filler: Vec<u32>,
        filler_refs: bool,
        steps_after: u8,
    },
    /// `oom_collect`: a large `__new` (garbage at once), up to the whole memory.
    BigNew {
        kib: u16,
    },
}

struct Fuzz {
    m: GcModel,
    history: History,
    ids: model::Ids,
}

impl Fuzz {
    fn rt(&mut self) -> &mut Rt {
        &mut self.m.rt
    }

    /// Live managed objects (the walk) and the stale refs.
    fn scan(&mut self) -> (Vec<Block>, Vec<u32>) {
        let (used, _) = walk(&self.m.rt);
        let managed: Vec<Block> = used.into_iter().filter(|b| b.managed()).collect();
        self.history.record(&managed);
        let stale = self.history.stale(&managed);
        (managed, stale)
    }

    fn is_object(&self, live: &[Block], v: u32) -> bool {
        live.iter().any(|b| b.r == v) || self.m.rt.is_static(v)
    }

    /// Calls `call` with `v`, which is invalid for it: rejected, nothing changed.
    fn call_rejected(&mut self, live: &[Block], v: u32, call: Call, what: &str) {
        let pick = |p: u16| if live.is_empty() { 0 } else { live[p as usize % live.len()].r };
        let what = format!("{call:?}({v:#x}) with {what}");
        match call {
            Call::Pin => expect_rejected(self.rt(), &what, |rt| rt.pin(v)),
            Call::Unpin => expect_rejected(self.rt(), &what, |rt| rt.unpin(v)),
            Call::LinkParent { child, multiple } => {
                // Storing null needs no barrier: `__link(parent, 0, m)` does nothing at all
                // (ABI §1), so a bad parent is only rejected beside a real child.
                let c = if live.is_empty() { self.m.rt.static_slots() } else { pick(child) };
                expect_rejected(self.rt(), &what, |rt| rt.link(v, c, multiple))
            }
            Call::LinkChild { parent, multiple } => {
                let p = if live.is_empty() { self.m.rt.static_slots() } else { pick(parent) };
                expect_rejected(self.rt(), &what, |rt| rt.link(p, v, multiple))
            }
            Call::Push => expect_rejected(self.rt(), &what, |rt| rt.push(v)),
            Call::Visit => expect_rejected(self.rt(), &what, |rt| rt.visit(v)),
            Call::Renew { size } => {
                expect_rejected(self.rt(), &what, |rt| rt.renew(v, size as u32))
            }
            Call::Free => expect_rejected(self.rt(), &what, |rt| rt.free(v)),
            Call::Realloc { size } => {
                expect_rejected(self.rt(), &what, |rt| rt.realloc(v, size as u32))
            }
        }
    }

    /// Whether `v` is a valid argument for `call` (then a "forged" value is not forged).
    fn valid_for(&self, live: &[Block], call: Call, v: u32) -> bool {
        match call {
            // No unmanaged blocks here: nothing is valid for free/realloc but free(0).
            Call::Free => v == 0,
            Call::Realloc { .. } => false,
            Call::Renew { .. } => live.iter().any(|b| b.r == v),
            Call::Pin | Call::Unpin | Call::Push | Call::Visit | Call::LinkChild { .. } => {
                v == 0 || self.is_object(live, v)
            }
            Call::LinkParent { .. } => self.is_object(live, v),
        }
    }

    fn forged(&mut self, forge: Forge, call: Call) {
        let (live, stale) = self.scan();
        let rt = &self.m.rt;
        let Some(v) = forge.resolve(rt, &live, &stale, &|v| self.valid_for(&live, call, v)) else {
            return;
        };
        // Unpin of a live, unpinned object is NotPinned; it is rejected like the rest.
        self.call_rejected(&live, v, call, &format!("{forge:?}"));
    }

    fn fake_header(&mut self, pick: u16, k: u16, size: u16, id: u8, color: u8, call: Call) {
        let (live, _) = self.scan();
        let (s, b) = (self.ids.string, self.ids.abuf);
        let hosts: Vec<&Block> =
            live.iter().filter(|x| (x.id == s || x.id == b) && x.rt_size >= 48).collect();
        if hosts.is_empty() {
            return;
        }
        let host = *hosts[pick as usize % hosts.len()];
        let id = id as u32 % rtti::TYPES.len() as u32;
        let gc = MANAGED | (color as u32 & 3);
        let Some(fake) = FakeHeader::write(&self.m.rt, &host, k as u32, size as u32, gc, id, None)
        else {
            return;
        };
        let v = fake.r;
        if !self.valid_for(&live, call, v) {
            self.call_rejected(&live, v, call, "a forged header inside a live payload");
        }
        fake.restore(&self.m.rt);
    }

    fn junk_slot(&mut self, value: Forge, in_static: bool, slot: u8, steps: u8, collect: bool) {
        let (live, stale) = self.scan();
        let rt = &self.m.rt;
        let Some(v) = value.resolve(rt, &live, &stale, &|v| v == 0 || self.is_object(&live, v))
        else {
            return;
        };
        // Where the junk goes: above the model's stack top (pushed as compiled code would), or
        // an empty static slot.
        let (at, undo): (u32, Box<dyn Fn(&Rt)>) = if in_static {
            let s = rt.static_slots();
            let n = rt.rt_size(s) / 4;
            let i = slot as u32 % n;
            if ld(rt, s + 4 * i) != 0 {
                return;
            }
            (s + 4 * i, Box::new(move |rt: &Rt| st(rt, s + 4 * i, 0)))
        } else {
            let h = rt.shadow_stack();
            let top = ld(rt, h);
            if top + 4 > ld(rt, h + 8) {
                return;
            }
            st(rt, h, top + 4);
            (
                top,
                Box::new(move |rt: &Rt| {
                    st(rt, top, 0);
                    st(rt, h, top);
                }),
            )
        };
        st(rt, at, v);
        let rt = &mut self.m.rt;
        if collect {
            rt.collect();
        } else {
            for _ in 0..=steps % 16 {
                rt.gc_step();
            }
        }
        undo(rt);
    }

    fn bad_descriptor(&mut self, top: Word, base: Word, limit: Word, then: DescUse) {
        let (live, _) = self.scan();
        let rt = &self.m.rt;
        let h = rt.shadow_stack();
        let real = [ld(rt, h), ld(rt, h + 4), ld(rt, h + 8)];
        let word = |w: Word, same: u32| -> u32 {
            match w {
                Word::Same => same,
                Word::Plus(d) => same.wrapping_add((d as i32 * 4) as u32),
                Word::Raw(v) => v,
                Word::InHeap { pick, k } => {
                    if live.is_empty() {
                        same
                    } else {
                        live[pick as usize % live.len()].r - 16 + 4 * k as u32
                    }
                }
            }
        };
        let d = [word(top, real[0]), word(base, real[1]), word(limit, real[2])];
        // A descriptor of the runtime's own slot array is valid, wherever top is in it.
        if d[1] == real[1] && d[2] == real[2] && d[0] >= d[1] && d[0] <= d[2] && d[0] % 4 == 0 {
            return;
        }
        st(rt, h, d[0]);
        st(rt, h + 4, d[1]);
        st(rt, h + 8, d[2]);
        let what = format!("shadow-stack descriptor {d:#x?} (real {real:#x?})");
        match then {
            DescUse::Push { pick } => {
                let r = if live.is_empty() { 0 } else { live[pick as usize % live.len()].r };
                expect_rejected(self.rt(), &format!("__gc_push with {what}"), |rt| rt.push(r));
            }
            DescUse::Pop { n } => {
                expect_rejected(self.rt(), &format!("__gc_pop with {what}"), |rt| {
                    rt.pop(n as u32 % 4)
                });
            }
            DescUse::Steps { n } => {
                for _ in 0..=n % 8 {
                    expect_rejected(self.rt(), &format!("__gc_step with {what}"), |rt| {
                        rt.try_gc_step()
                    });
                }
            }
            DescUse::Collect => {
                expect_rejected(self.rt(), &format!("__collect with {what}"), |rt| rt.try_collect())
            }
        }
        let rt = &self.m.rt;
        st(rt, h, real[0]);
        st(rt, h + 4, real[1]);
        st(rt, h + 8, real[2]);
    }

    #[allow(clippy::too_many_arguments)]
    fn shrink_during_scan(
        &mut self,
        array: bool,
        len: u16,
        children: u16,
        steps_before: u8,
        new_len: u8,
        filler: &[u32],
        filler_refs: bool,
        steps_after: u8,
    ) {
        let ids = self.ids;
        let rt = &mut self.m.rt;
        rt.configure(100, 1024).unwrap();
        let n = 300 + len as u32 % 1500;
        let (container, slots_ref) = if array {
            let buf = rt.new_object(4 * n, ids.abuf).unwrap();
            let arr = rt.new_object_keeping(16, ids.arr_str, &[buf]).unwrap();
            st(rt, arr, buf);
            st(rt, arr + 4, buf);
            st(rt, arr + 8, 4 * n);
            st(rt, arr + 12, n);
            rt.link(arr, buf, false).unwrap();
            (arr, buf)
        } else {
            let s = rt.new_object(4 * n, ids.sarr_str).unwrap();
            (s, s)
        };
        rt.push(container).unwrap();
        // Children: Strings with a known payload, in every slot up to `children`.
        let kids = (children as u32 % (n + 1)).min(400);
        let mut kid_refs = Vec::new();
        for i in 0..kids {
            let c = rt.new_object(8, ids.string).unwrap();
            st(rt, c, i);
            st(rt, c + 4, !i);
            let slots = if array { ld(rt, container) } else { container };
            let _ = slots_ref;
            st(rt, slots + 4 * i, c);
            rt.link(container, c, false).unwrap();
            kid_refs.push(c);
        }
        // Into a marking cycle, some way through it.
        if rt.phase() != Phase::Mark {
            while rt.phase() != Phase::Idle {
                rt.gc_step();
            }
            rt.gc_step();
        }
        for _ in 0..steps_before % 24 {
            if rt.phase() != Phase::Mark {
                break;
            }
            rt.gc_step();
        }
        // Shrink the slots in place.
        let keep = (new_len as u32) % n;
        if array {
            st(rt, container + 12, keep.min(n));
            let buf = ld(rt, container);
            let nb = rt.renew(buf, 4 * keep).unwrap();
            st(rt, container, nb);
            st(rt, container + 4, nb);
            st(rt, container + 8, 4 * keep);
            rt.link(container, nb, false).unwrap();
        } else {
            let nr = rt.renew(container, 4 * keep).unwrap();
            assert_eq!(nr, container, "shrinking stays in place");
        }
        // Reuse the freed tail: a pointer-free buffer whose words look like refs. The bump
        // block is used up first, so that the buffer comes from the free lists.
        let live: Vec<Block> = walk(rt).0.into_iter().filter(|b| b.managed()).collect();
        let bump = rt.heap().bump_free();
        let spent = if bump > 0 && bump < 8 << 20 { rt.alloc(bump).ok() } else { None };
        let words: Vec<u32> = if filler.is_empty() { vec![0xFFFF_FFF0] } else { filler.to_vec() };
        let fsize = 4 * (words.len() as u32).clamp(1, 1024) * 4;
        let f = rt.new_object(fsize, ids.abuf).unwrap();
        if let Some(b) = spent {
            rt.free(b).unwrap();
        }
        for i in 0..fsize / 4 {
            let w = words[i as usize % words.len()];
            let v = match (filler_refs, i % 4) {
                // Groups of 16 bytes: a "ref" to the next group, whose second word reads as
                // the gcInfo of a white object.
                (true, 0) => f + 4 * i + 32,
                (true, 1) => MANAGED | (w & 1),
                (false, _) if !live.is_empty() && w & 1 == 1 => {
                    live[(w >> 1) as usize % live.len()].r.wrapping_add(16 * (w >> 28))
                }
                _ => w,
            };
            st(rt, f + 4 * i, v);
        }
        let fcopy: Vec<u8> = bytes(rt, f, fsize).to_vec();
        rt.push(f).unwrap();
        for _ in 0..steps_after % 24 {
            rt.gc_step();
        }
        // The filler is pointer-free: nothing may have written into it.
        assert!(
            bytes(rt, f, fsize) == &fcopy[..],
            "the collector wrote into a pointer-free buffer"
        );
        rt.collect();
        assert!(
            bytes(rt, f, fsize) == &fcopy[..],
            "the collector wrote into a pointer-free buffer"
        );
        // The kept children are live and intact.
        let slots = if array { ld(rt, container) } else { container };
        for (i, &c) in kid_refs.iter().enumerate().take(keep as usize) {
            assert_eq!(ld(rt, slots + 4 * i as u32), c);
            assert!(rt.validate_managed(c).is_ok(), "kept child {i} ({c:#x}) was freed");
            assert_eq!((ld(rt, c), ld(rt, c + 4)), (i as u32, !(i as u32)), "child {i} contents");
        }
        assert_eq!(rt.check(), 0, "__heap_check after shrinking during a scan");
        rt.pop(2).unwrap();
    }

    fn big_new(&mut self, kib: u16, check: bool) {
        // Without the check this only fills memory with garbage, which the model's own
        // allocations then trip over: run it only with the class on.
        let size = (kib as u32 % 32768) * 1024;
        let id = self.ids.abuf;
        let rt = &mut self.m.rt;
        match rt.new_object(size, id) {
            Ok(_) => {}
            Err(Error::OutOfMemory) => {
                if check {
                    rt.collect();
                    let again = rt.new_object(size, id);
                    assert!(
                        again.is_err(),
                        "__new({size}) failed with OutOfMemory, but succeeded after __collect"
                    );
                }
            }
            Err(e) => panic!("__new({size}): {e:?}"),
        }
    }
}

fuzz_target!(|input: (u64, bool, Vec<Action>)| {
    let classes = common::classes("gc_ops", ALL, SAFE);
    let (seed, small, actions) = input;
    let mut m = GcModel::new(MAX_PAGES, seed);
    if small {
        m.rt.configure(100, 1024).unwrap();
    }
    let mut f = Fuzz { m, history: History::default(), ids: model::ids() };
    for a in actions.into_iter().take(MAX_ACTIONS) {
        let ran = match a {
            Action::Model(op) => {
                // apply() verifies the model and the heap itself.
                f.m.apply(model::GcOp::decode(op.raw()));
                continue;
            }
            Action::Forged { forge, call } if classes.enabled("forged_ref") => {
                f.forged(forge, call);
                true
            }
            Action::FakeHeader { pick, k, size, id, color, call }
                if classes.enabled("fake_header") =>
            {
                f.fake_header(pick, k, size, id, color, call);
                true
            }
            Action::JunkSlot { value, in_static, slot, steps, collect }
                if classes.enabled(if in_static {
                    "junk_static_slot"
                } else {
                    "junk_stack_slot"
                }) =>
            {
                f.junk_slot(value, in_static, slot, steps, collect);
                true
            }
            Action::BadDescriptor { top, base, limit, then }
                if classes.enabled(match then {
                    DescUse::Push { .. } | DescUse::Pop { .. } => "bad_descriptor",
                    _ => "bad_descriptor_gc",
                }) =>
            {
                f.bad_descriptor(top, base, limit, then);
                true
            }
            Action::ShrinkDuringScan {
                array,
                len,
                children,
                steps_before,
                new_len,
                filler,
                filler_refs,
                steps_after,
            } if classes.enabled("shrink_scan") => {
                f.shrink_during_scan(
                    array,
                    len,
                    children,
                    steps_before,
                    new_len,
                    &filler,
                    filler_refs,
                    steps_after,
                );
                true
            }
            Action::BigNew { kib } if classes.enabled("oom_collect") => {
                f.big_new(kib, true);
                true
            }
            _ => false,
        };
        if ran {
            f.m.prune();
            f.m.verify();
        }
    }
    f.m.finish();
});
