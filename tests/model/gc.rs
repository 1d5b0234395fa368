//! The GC model: a mutator's object graph (objects of every kind, roots: counted pins, shadow
//! stack, static slots). Only objects reachable in the model are kept and verified, because the
//! collector may free any other object at any step.

use std::collections::BTreeMap;
use std::vec::Vec;

use asrt::gc::Phase;
use asrt::host::HostConfig;
use asrt::memory::Memory;
use asrt::object::block_size;
use asrt::rtti::{self, flags};
use asrt::{Error, Runtime};

use super::*;

#[path = "weak.rs"]
mod weak;

/// The kinds of objects the GC model makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum K {
    /// String with checksummed UTF-16 payload.
    Str,
    /// ArrayBuffer with checksummed bytes.
    Buf,
    /// Array<string>.
    ArrStr,
    /// Array<i32>.
    ArrI32,
    /// StaticArray<string>.
    SArr,
    /// TreeNode.
    Tree,
    /// The ArrayBuffer behind an array (its contents are checked through the array).
    Backing,
}

/// One object of the model.
#[derive(Clone, Debug)]
pub struct Obj {
    /// Its current ref.
    pub r: u32,
    /// Kind.
    pub k: K,
    /// rtSize.
    pub size: u32,
    /// Content seed (Str, Buf).
    pub seed: u64,
    /// Bytes below this come from `seed`; the rest of the payload is zero (renew's grown tail).
    pub valid: u32,
    /// Reference slots: TreeNode fields, StaticArray slots, Array<string> elements (0..length).
    pub slots: Vec<Option<usize>>,
    /// Array<i32> elements (0..length).
    pub ints: Vec<u32>,
    /// Array capacity in elements.
    pub cap: u32,
    /// The array's backing buffer (an object id).
    pub buffer: usize,
}

/// Where the single reference to an object is (for `renew`).
#[derive(Clone, Copy, Debug)]
enum Holder {
    Slot(usize, usize),
    Static(usize),
    Stack(usize),
}

/// The GC model.
pub struct GcModel {
    /// The runtime under test.
    pub rt: Rt,
    ids: Ids,
    objs: Vec<Option<Obj>>,
    /// Reachable object ids (after the last prune), ascending.
    tracked: Vec<usize>,
    stack: Vec<Option<usize>>,
    pins: BTreeMap<usize, u32>,
    statics: Vec<Option<usize>>,
    /// The most objects pinned twice or more at once (the pin table's entries).
    max_distinct_pins: usize,
    rng: Rng,
    /// Operations applied.
    pub steps: u64,
    baseline_used: u64,
    stack_limit: usize,
    /// Counts of what happened, for the test's own coverage report.
    pub counts: BTreeMap<&'static str, u64>,
    /// Weak references and finalizer registrations (tests/model/weak.rs).
    weaks: weak::Weaks,
}

fn slot_count(k: K) -> bool {
    matches!(k, K::Tree | K::SArr | K::ArrStr)
}

impl GcModel {
    /// A model over a fresh host runtime.
    pub fn new(max_pages: u32, seed: u64) -> Self {
        let rt = Runtime::host(HostConfig {
            initial_pages: 2,
            max_pages,
            stack_slots: 256,
            static_slots: 8,
        });
        let baseline_used = rt.stats().used_bytes;
        let n = (rt.rt_size(rt.static_slots()) / 4) as usize;
        GcModel {
            rt,
            ids: ids(),
            objs: Vec::new(),
            tracked: Vec::new(),
            stack: Vec::new(),
            pins: BTreeMap::new(),
            statics: std::vec![None; n],
            max_distinct_pins: 0,
            rng: Rng::new(seed),
            steps: 0,
            baseline_used,
            stack_limit: 200,
            counts: BTreeMap::new(),
            weaks: weak::Weaks::default(),
        }
    }

    fn count(&mut self, what: &'static str) {
        *self.counts.entry(what).or_insert(0) += 1;
    }

    fn obj(&self, id: usize) -> &Obj {
        self.objs[id].as_ref().expect("tracked object")
    }

    fn obj_mut(&mut self, id: usize) -> &mut Obj {
        self.objs[id].as_mut().expect("tracked object")
    }

    fn id_of(&self, k: K) -> u32 {
        match k {
            K::Str => self.ids.string,
            K::Buf | K::Backing => self.ids.abuf,
            K::ArrStr => self.ids.arr_str,
            K::ArrI32 => self.ids.arr_i32,
            K::SArr => self.ids.sarr_str,
            K::Tree => self.ids.tree,
        }
    }

    fn r_of(&self, id: Option<usize>) -> u32 {
        id.map_or(0, |i| self.obj(i).r)
    }

    /// Candidate `child` of the tracked objects that may be stored anywhere (not an array's
    /// backing buffer); null for `None` or when there is none.
    fn pick_child(&self, child: Option<u32>) -> Option<usize> {
        let i = child?;
        let cands: Vec<usize> =
            self.tracked.iter().copied().filter(|&i| self.obj(i).k != K::Backing).collect();
        if cands.is_empty() { None } else { Some(cands[i as usize % cands.len()]) }
    }

    /// A random tracked object of one of `kinds` satisfying `ok`.
    fn pick(&self, salt: u32, ok: impl Fn(&Obj) -> bool) -> Option<usize> {
        let cands: Vec<usize> = self.tracked.iter().copied().filter(|&i| ok(self.obj(i))).collect();
        if cands.is_empty() { None } else { Some(cands[salt as usize % cands.len()]) }
    }

    /// The address of reference slot `i` of container `c`.
    fn slot_addr(&self, c: usize, i: usize) -> u32 {
        let o = self.obj(c);
        match o.k {
            K::Tree | K::SArr => o.r + 4 * i as u32,
            K::ArrStr => self.obj(o.buffer).r + 4 * i as u32,
            _ => unreachable!(),
        }
    }

    fn slot_len(o: &Obj) -> usize {
        if slot_count(o.k) { o.slots.len() } else { 0 }
    }

    /// Stores `child` into slot `i` of container `c` and calls the barrier.
    fn store_slot(&mut self, c: usize, i: usize, child: Option<usize>, multiple: bool) {
        let addr = self.slot_addr(c, i);
        let cr = self.r_of(child);
        st(&self.rt, addr, cr);
        let pr = self.obj(c).r;
        self.rt.link(pr, cr, multiple).expect("link");
        self.obj_mut(c).slots[i] = child;
        self.count(if multiple { "link multiple" } else { "link single" });
    }

    fn store_static(&mut self, i: usize, child: Option<usize>, multiple: bool) {
        let s = self.rt.static_slots();
        let cr = self.r_of(child);
        st(&self.rt, s + 4 * i as u32, cr);
        self.rt.link(s, cr, multiple).expect("link static");
        self.statics[i] = child;
        self.count("static store");
    }

    fn fill_content(&self, o: &Obj) {
        let data: Vec<u8> = (0..o.size).map(|i| content_byte(o.seed, i)).collect();
        write(&self.rt, o.r, &data);
    }

    fn new_raw(&mut self, size: u32, k: K, keep: &[u32]) -> u32 {
        let id = self.id_of(k);
        let r = self.rt.new_object_keeping(size, id, keep).unwrap_or_else(|e| {
            panic!("new_object({size}, {id}) failed: {e:?} stats {:?}", self.rt.stats())
        });
        assert_eq!(r % 16, 0);
        assert_eq!(self.rt.rt_size(r), size);
        assert_eq!(self.rt.rt_id(r), id);
        assert!(bytes(&self.rt, r, size).iter().all(|&b| b == 0), "new payload is zeroed");
        r
    }

    fn push_obj(&mut self, o: Obj) -> usize {
        self.objs.push(Some(o));
        let id = self.objs.len() - 1;
        // Tracked until the next prune decides.
        self.tracked.push(id);
        id
    }

    /// Creates `new`; returns its id (not yet rooted).
    fn create(&mut self, new: NewObj) -> usize {
        let k = new.kind();
        self.count(match k {
            K::Str => "new String",
            K::Buf => "new ArrayBuffer",
            K::ArrStr => "new Array<string>",
            K::ArrI32 => "new Array<i32>",
            K::SArr => "new StaticArray<string>",
            K::Tree => "new TreeNode",
            K::Backing => unreachable!(),
        });
        let base = Obj {
            r: 0,
            k,
            size: 0,
            seed: 0,
            valid: 0,
            slots: Vec::new(),
            ints: Vec::new(),
            cap: 0,
            buffer: usize::MAX,
        };
        match new {
            NewObj::Str { bytes: size } | NewObj::Buf { bytes: size } => {
                let r = self.new_raw(size, k, &[]);
                let o = Obj { r, size, seed: self.rng.next_u64(), valid: size, ..base };
                self.fill_content(&o);
                self.push_obj(o)
            }
            NewObj::Tree => {
                let r = self.new_raw(8, k, &[]);
                self.push_obj(Obj { r, size: 8, slots: std::vec![None; 2], ..base })
            }
            NewObj::SArr { slots: n } => {
                let r = self.new_raw(4 * n, k, &[]);
                self.push_obj(Obj { r, size: 4 * n, slots: std::vec![None; n as usize], ..base })
            }
            NewObj::ArrStr { cap, len } | NewObj::ArrI32 { cap, len } => {
                let buf = self.new_raw(4 * cap, K::Backing, &[]);
                let arr = self.new_raw(16, k, &[buf]);
                let mut ints = Vec::new();
                if k == K::ArrI32 {
                    for i in 0..len {
                        let v = self.rng.next_u32();
                        st(&self.rt, buf + 4 * i, v);
                        ints.push(v);
                    }
                }
                st(&self.rt, arr, buf);
                st(&self.rt, arr + 4, buf);
                st(&self.rt, arr + 8, 4 * cap);
                st(&self.rt, arr + 12, len);
                self.rt.link(arr, buf, false).expect("link buffer");
                let b = self.push_obj(Obj { r: buf, k: K::Backing, size: 4 * cap, ..base.clone() });
                let slots = if k == K::ArrStr { std::vec![None; len as usize] } else { Vec::new() };
                self.push_obj(Obj { r: arr, size: 16, slots, ints, cap, buffer: b, ..base })
            }
        }
    }

    /// Roots or stores a fresh object at `place`.
    fn place(&mut self, id: usize, place: Place) {
        match place {
            Place::Stack if self.stack.len() < self.stack_limit => {
                let r = self.obj(id).r;
                assert_eq!(self.rt.push(r).expect("push"), r);
                self.stack.push(Some(id));
                self.count("push");
            }
            Place::Pin => self.pin(id),
            Place::Static { slot, multiple } => {
                let i = slot as usize % self.statics.len();
                self.store_static(i, Some(id), multiple);
            }
            Place::Field { container, slot, multiple } => {
                let c =
                    self.pick(container, |o| slot_count(o.k) && !o.slots.is_empty() && o.r != 0);
                match c {
                    Some(c) if c != id => {
                        let i = slot as usize % Self::slot_len(self.obj(c));
                        self.store_slot(c, i, Some(id), multiple);
                    }
                    _ => {
                        let i = container as usize % self.statics.len();
                        self.store_static(i, Some(id), multiple);
                    }
                }
            }
            Place::Stack | Place::Garbage => self.count("garbage"),
        }
    }

    fn pin(&mut self, id: usize) {
        let r = self.obj(id).r;
        assert_eq!(self.rt.pin(r).expect("pin"), r);
        *self.pins.entry(id).or_insert(0) += 1;
        // The first pin of an object is its PINNED bit; the table holds those pinned twice or more.
        let entries = self.pins.values().filter(|&&n| n >= 2).count();
        self.max_distinct_pins = self.max_distinct_pins.max(entries);
        self.count("pin");
    }

    /// Objects reachable from the model's roots.
    fn reachable(&self) -> Vec<bool> {
        let mut seen = std::vec![false; self.objs.len()];
        let mut work: Vec<usize> = Vec::new();
        let roots = self
            .stack
            .iter()
            .flatten()
            .chain(self.statics.iter().flatten())
            .chain(self.pins.keys());
        for &r in roots {
            if !seen[r] {
                seen[r] = true;
                work.push(r);
            }
        }
        loop {
            while let Some(i) = work.pop() {
                let o = self.obj(i);
                let mut visit = |c: usize| {
                    if !seen[c] {
                        seen[c] = true;
                        work.push(c);
                    }
                };
                for &c in o.slots.iter().flatten() {
                    visit(c);
                }
                if matches!(o.k, K::ArrStr | K::ArrI32) {
                    visit(o.buffer);
                }
            }
            // Ephemerons: the value of a reached key is reached; repeat until nothing changes.
            work = self.ephemeron_values(&seen);
            if work.is_empty() {
                return seen;
            }
            for &v in &work {
                seen[v] = true;
            }
        }
    }

    /// Forgets every object the model cannot reach: the collector may free it from now on.
    pub fn prune(&mut self) {
        let seen = self.reachable();
        let mut tracked = Vec::new();
        for (i, o) in self.objs.iter_mut().enumerate() {
            if o.is_some() {
                if seen[i] {
                    tracked.push(i);
                } else {
                    *o = None;
                }
            }
        }
        self.tracked = tracked;
    }

    /// The places holding a reference to `id` (slots of tracked containers, statics, stack).
    fn holders(&self, id: usize) -> Vec<Holder> {
        let mut h = Vec::new();
        for &c in &self.tracked {
            let o = self.obj(c);
            for (i, s) in o.slots.iter().enumerate() {
                if *s == Some(id) {
                    h.push(Holder::Slot(c, i));
                }
            }
        }
        for (i, s) in self.statics.iter().enumerate() {
            if *s == Some(id) {
                h.push(Holder::Static(i));
            }
        }
        for (i, s) in self.stack.iter().enumerate() {
            if *s == Some(id) {
                h.push(Holder::Stack(i));
            }
        }
        h
    }

    fn stack_base(&self) -> u32 {
        ld(&self.rt, self.rt.shadow_stack() + 4)
    }

    /// Applies one operation, prunes, and verifies everything.
    pub fn apply(&mut self, op: GcOp) {
        self.steps += 1;
        let trace = std::env::var("GC_MODEL_TRACE").is_ok();
        let before =
            if trace { std::format!("{:?}", self.counts) } else { std::string::String::new() };
        match op {
            GcOp::New { obj, place } => {
                let id = self.create(obj);
                self.place(id, place);
            }
            GcOp::Store { container, slot, child, multiple, or_tree } => {
                let c = self.pick(container, |o| slot_count(o.k) && !o.slots.is_empty());
                if let Some(c) = c {
                    let i = slot as usize % Self::slot_len(self.obj(c));
                    let child = self.pick_child(child);
                    self.store_slot(c, i, child, multiple);
                } else {
                    let id = self.create(NewObj::Tree);
                    self.place(id, or_tree);
                }
            }
            GcOp::ArrayPush { array, big, element, multiple } => {
                if let Some(c) = self.pick(array, |o| matches!(o.k, K::ArrStr | K::ArrI32)) {
                    self.array_push(c, big, element, multiple);
                }
            }
            GcOp::Push { child } => {
                let child = self.pick_child(child);
                if self.stack.len() < self.stack_limit {
                    let r = self.r_of(child);
                    assert_eq!(self.rt.push(r).expect("push"), r);
                    self.stack.push(child);
                    self.count("push");
                }
            }
            GcOp::Pop { n } => {
                let n = n.min(self.stack.len() as u32);
                if n > 0 {
                    self.rt.pop(n).expect("pop");
                    for _ in 0..n {
                        self.stack.pop();
                    }
                    self.count("pop");
                } else {
                    let before = snapshot(&self.rt);
                    let depth = self.stack.len() as u32;
                    assert_eq!(self.rt.pop(depth + 1), Err(Error::StackUnderflow));
                    assert!(snapshot(&self.rt) == before);
                }
            }
            GcOp::Pin { object } => {
                if let Some(id) = self.pick_child(Some(object)) {
                    self.pin(id);
                }
            }
            GcOp::Unpin { object, unpinned } => {
                let pinned: Vec<usize> = self.pins.keys().copied().collect();
                if !pinned.is_empty() && !unpinned {
                    let id = pinned[object as usize % pinned.len()];
                    self.rt.unpin(self.obj(id).r).expect("unpin");
                    let n = self.pins.get_mut(&id).unwrap();
                    *n -= 1;
                    if *n == 0 {
                        self.pins.remove(&id);
                    }
                    self.count("unpin");
                } else if let Some(id) = self.pick(object, |_| true)
                    && !self.pins.contains_key(&id)
                {
                    let before = snapshot(&self.rt);
                    assert_eq!(self.rt.unpin(self.obj(id).r), Err(Error::NotPinned));
                    assert!(snapshot(&self.rt) == before, "a failed unpin changed memory");
                    self.count("unpin unpinned");
                }
            }
            GcOp::Steps { n } => {
                for _ in 0..n {
                    self.rt.gc_step();
                }
                self.count("gc_step");
            }
            GcOp::Collect => {
                self.rt.collect();
                assert_eq!(self.rt.phase(), Phase::Idle);
                // Everything unreachable before the full cycle is gone.
                if self.rt.stats().live_objects != self.tracked.len() as u64 {
                    panic!(
                        "after collect(), exactly the reachable objects are live: {} live, {} reachable; extra: {}",
                        self.rt.stats().live_objects,
                        self.tracked.len(),
                        self.describe_extra()
                    );
                }
                self.count("collect");
            }
            GcOp::Step => {
                self.rt.gc_step();
            }
            GcOp::Renew { object, size, multiple } => self.renew_one(object, size, multiple),
            GcOp::StoreStatic { slot, child, multiple } => {
                let i = slot as usize % self.statics.len();
                let child = self.pick_child(child);
                self.store_static(i, child, multiple);
            }
            GcOp::Configure { pause, work } => {
                self.rt.configure(pause, work).expect("configure");
                self.count("configure");
            }
            GcOp::Clear { container, len } => self.clear_one(container, len),
            GcOp::Weak(w) => self.apply_weak(w),
        }
        if trace {
            let after = std::format!("{:?}", self.counts);
            let statics: Vec<std::string::String> = self
                .statics
                .iter()
                .map(|s| match s {
                    Some(i) => std::format!(
                        "#{i}:{:?}@{:#x}/{:#x}",
                        self.obj(*i).k,
                        self.obj(*i).r,
                        ld(&self.rt, self.obj(*i).r - 12)
                    ),
                    None => "-".into(),
                })
                .collect();
            std::eprintln!(
                "step {} {:?} phase {:?} check {} statics {:?} {}",
                self.steps,
                op,
                self.rt.phase(),
                self.rt.check(),
                statics,
                if before != after { after } else { std::string::String::new() }
            );
        }
        self.prune();
        self.verify();
        self.check_weak(op == GcOp::Collect);
    }

    /// [`GcOp::ArrayPush`] onto the array `c`.
    fn array_push(&mut self, c: usize, big: bool, element: Option<u32>, multiple: bool) {
        let (len, cap, buf, kind) = {
            let o = self.obj(c);
            let len = if o.k == K::ArrStr { o.slots.len() } else { o.ints.len() } as u32;
            (len, o.cap, o.buffer, o.k)
        };
        if len == cap {
            let new_cap = if big { cap * 2 + 300 } else { cap * 2 + 1 };
            let old = self.obj(buf).r;
            let arr = self.obj(c).r;
            let nb = self.rt.renew(old, 4 * new_cap).expect("renew buffer");
            assert_eq!(self.rt.rt_size(nb), 4 * new_cap);
            // The grown tail is zeroed.
            assert!(
                bytes(&self.rt, nb + 4 * cap, 4 * (new_cap - cap)).iter().all(|&x| x == 0),
                "grown tail zeroed"
            );
            st(&self.rt, arr, nb);
            st(&self.rt, arr + 4, nb);
            st(&self.rt, arr + 8, 4 * new_cap);
            self.rt.link(arr, nb, false).expect("link buffer");
            {
                let bo = self.obj_mut(buf);
                bo.r = nb;
                bo.size = 4 * new_cap;
            }
            self.obj_mut(c).cap = new_cap;
            self.count(if nb == old { "buffer renewed in place" } else { "buffer renewed moved" });
        }
        let arr = self.obj(c).r;
        let slot = self.obj(buf).r + 4 * len;
        if kind == K::ArrStr {
            let child = self.pick_child(element);
            let cr = self.r_of(child);
            st(&self.rt, slot, cr);
            st(&self.rt, arr + 12, len + 1);
            self.rt.link(arr, cr, multiple).expect("link element");
            self.obj_mut(c).slots.push(child);
        } else {
            let v = self.rng.next_u32();
            st(&self.rt, slot, v);
            st(&self.rt, arr + 12, len + 1);
            self.obj_mut(c).ints.push(v);
        }
        self.count("array push");
    }

    /// [`GcOp::Renew`].
    fn renew_one(&mut self, object: u32, raw_size: u32, multiple: bool) {
        let cands: Vec<usize> = self
            .tracked
            .iter()
            .copied()
            .filter(|&i| {
                matches!(self.obj(i).k, K::Str | K::Buf | K::SArr)
                    && !self.pins.contains_key(&i)
                    && !self.in_weak_map(i)
            })
            .collect();
        if cands.is_empty() {
            return;
        }
        let start = object as usize % cands.len();
        for j in 0..cands.len() {
            let id = cands[(start + j) % cands.len()];
            let h = self.holders(id);
            if h.len() != 1 {
                continue;
            }
            let o = self.obj(id).clone();
            let size = match o.k {
                K::Str => 2 * (raw_size % 400),
                K::Buf => raw_size % 900,
                _ => 4 * (raw_size % 14),
            };
            let new = self.rt.renew(o.r, size).unwrap_or_else(|e| panic!("renew failed: {e:?}"));
            assert_eq!(self.rt.rt_size(new), size);
            if size > o.size {
                assert!(
                    bytes(&self.rt, new + o.size, size - o.size).iter().all(|&x| x == 0),
                    "renew zeroes the grown tail"
                );
            }
            {
                let no = self.obj_mut(id);
                no.r = new;
                no.size = size;
                no.valid = no.valid.min(size);
                if no.k == K::SArr {
                    no.slots.resize((size / 4) as usize, None);
                }
            }
            self.count(if new == o.r { "renew in place" } else { "renew moved" });
            match h[0] {
                Holder::Slot(c, i) => {
                    if i < Self::slot_len(self.obj(c)) {
                        self.store_slot(c, i, Some(id), multiple);
                    }
                }
                Holder::Static(i) => self.store_static(i, Some(id), multiple),
                Holder::Stack(i) => {
                    let base = self.stack_base();
                    st(&self.rt, base + 4 * i as u32, new);
                }
            }
            // A renewed StaticArray holding itself is impossible (one holder), but a shrunk one
            // may have dropped slots: nothing more to do, the model already forgot them.
            return;
        }
    }

    /// [`GcOp::Clear`].
    fn clear_one(&mut self, container: u32, new_len: u32) {
        let Some(c) =
            self.pick(container, |o| matches!(o.k, K::Tree | K::SArr | K::ArrStr | K::ArrI32))
        else {
            return;
        };
        let o = self.obj(c).clone();
        match o.k {
            K::Tree | K::SArr => {
                for i in 0..o.slots.len() {
                    st(&self.rt, o.r + 4 * i as u32, 0);
                }
                self.obj_mut(c).slots.iter_mut().for_each(|s| *s = None);
            }
            _ => {
                // Truncate: the stale slots beyond the new length stay in the buffer.
                let len = if o.k == K::ArrStr { o.slots.len() } else { o.ints.len() } as u32;
                let nl = new_len % (len + 1);
                st(&self.rt, o.r + 12, nl);
                let m = self.obj_mut(c);
                m.slots.truncate(nl as usize);
                m.ints.truncate(nl as usize);
            }
        }
        self.count("clear");
    }

    /// Describes live heap objects the model does not track (for failure messages).
    fn describe_extra(&self) -> std::string::String {
        let rt = &self.rt;
        let known: std::collections::BTreeSet<u32> =
            self.tracked.iter().map(|&i| self.obj(i).r).collect();
        let mut out = std::string::String::new();
        let heap = rt.heap();
        let mut b = heap.first_block();
        while b != 0 {
            let info = ld(rt, b);
            if info & 1 == 0 && ld(rt, b + 4) & 8 != 0 && !known.contains(&(b + 16)) {
                let r = b + 16;
                let mut holders = std::vec::Vec::new();
                let mut c = heap.first_block();
                while c != 0 {
                    let ci = ld(rt, c);
                    if ci & 1 == 0 && ld(rt, c + 4) & 8 != 0 {
                        let n = (ci & !3) + 4 - 16;
                        for off in (0..n.min(rt.rt_size(c + 16) + 3) & !3).step_by(4) {
                            if off + 4 <= n && ld(rt, c + 16 + off) == r {
                                holders.push((c + 16, off, known.contains(&(c + 16))));
                            }
                        }
                    }
                    // SAFETY: a block start from the walk.
                    c = unsafe { heap.next_block(c) };
                }
                out += &std::format!(
                    "\n  {r:#x} id {} size {} gc {:#x} pins {} holders {:x?}",
                    rt.rt_id(r),
                    rt.rt_size(r),
                    ld(rt, b + 4),
                    rt.pin_count(r),
                    holders
                );
            }
            // SAFETY: a block start from the walk.
            b = unsafe { heap.next_block(b) };
        }
        out
    }

    /// Describes objects holding references that are not live objects (for failure messages).
    fn describe_dangling(&self) -> std::string::String {
        let rt = &self.rt;
        let known: BTreeMap<u32, usize> =
            self.tracked.iter().map(|&i| (self.obj(i).r, i)).collect();
        let mut out = std::string::String::new();
        let heap = rt.heap();
        let mut b = heap.first_block();
        while b != 0 {
            let info = ld(rt, b);
            let gc = ld(rt, b + 4);
            if info & 1 == 0 && gc & 8 != 0 {
                let r = b + 16;
                let id = rt.rt_id(r);
                let desc = rtti::TYPES[id as usize];
                let mut kids = Vec::new();
                if desc.flags & flags::ARRAY != 0 {
                    kids.push(ld(rt, r));
                    if desc.flags & flags::VALUE_MANAGED != 0 {
                        let data = ld(rt, r + 4);
                        for i in 0..ld(rt, r + 12) {
                            kids.push(ld(rt, data + 4 * i));
                        }
                    }
                } else if desc.flags & flags::STATICARRAY != 0 {
                    for i in 0..rt.rt_size(r) / 4 {
                        kids.push(ld(rt, r + 4 * i));
                    }
                } else if desc.flags & flags::POINTERFREE == 0 {
                    for &o in desc.refs {
                        kids.push(ld(rt, r + o));
                    }
                }
                if gc & 4 != 0 && rt.pin_count(r) == 0 {
                    out += &std::format!("\n  {r:#x} PINNED bit without pins (gc {gc:#x})");
                }
                if gc & 3 == 2 {
                    let nx = gc & !15;
                    out += &std::format!(
                        "\n  {r:#x} gray (gc {gc:#x}, id {id}, model {:?}) next block {nx:#x}: {:x?}",
                        known.get(&r),
                        if nx != 0 {
                            [ld(rt, nx), ld(rt, nx + 4), ld(rt, nx + 8), ld(rt, nx + 12)]
                        } else {
                            [0; 4]
                        }
                    );
                    if nx != 0 && ld(rt, nx + 4) & 3 == 2 {
                        let t = nx + 16;
                        let words: Vec<u32> = (0..rt.memory().size() / 4)
                            .map(|i| i * 4)
                            .filter(|&a| ld(rt, a) == t)
                            .collect();
                        out += &std::format!("\n    words holding {t:#x}: {words:x?}");
                    }
                }
                for &c in &kids {
                    if gc & 3 == 3
                        && c >= heap.start()
                        && rt.validate_object(c).is_ok()
                        && ld(rt, c - 12) & 3 < 2
                    {
                        out += &std::format!(
                            "\n  black {r:#x} (id {id}, model {:?}) -> white {c:#x} (model {:?})",
                            known.get(&r),
                            known.get(&c)
                        );
                    }
                }
                for c in kids {
                    if c != 0 && rt.validate_object(c).is_err() {
                        out += &std::format!(
                            "\n  {r:#x} (id {id}, gc {gc:#x}, model {:?}) -> {c:#x}: {:?}",
                            known.get(&r),
                            rt.validate_object(c)
                        );
                    }
                }
            }
            // SAFETY: a block start from the walk.
            b = unsafe { heap.next_block(b) };
        }
        out
    }

    /// Checks every tracked object, the roots and the heap.
    pub fn verify(&self) {
        let rt = &self.rt;
        for &i in &self.tracked {
            let o = self.obj(i);
            let what =
                || std::format!("object #{i} {:?} at {:#x} after step {}", o.k, o.r, self.steps);
            rt.validate_managed(o.r)
                .unwrap_or_else(|e| panic!("{}: not a live object: {e:?}", what()));
            assert_eq!(rt.rt_id(o.r), self.id_of(o.k), "{}: rtId", what());
            assert_eq!(rt.rt_size(o.r), o.size, "{}: rtSize", what());
            match o.k {
                K::Str | K::Buf => {
                    let data = bytes(rt, o.r, o.size);
                    for (j, &x) in data.iter().enumerate() {
                        let want =
                            if (j as u32) < o.valid { content_byte(o.seed, j as u32) } else { 0 };
                        if x != want {
                            panic!("{}: payload byte {j} is {x:#x}, want {want:#x}", what());
                        }
                    }
                }
                K::Tree | K::SArr => {
                    for (j, s) in o.slots.iter().enumerate() {
                        assert_eq!(
                            ld(rt, o.r + 4 * j as u32),
                            self.r_of(*s),
                            "{}: slot {j}",
                            what()
                        );
                    }
                }
                K::ArrStr | K::ArrI32 => {
                    let buf = self.obj(o.buffer);
                    assert_eq!(ld(rt, o.r), buf.r, "{}: buffer", what());
                    assert_eq!(ld(rt, o.r + 4), buf.r, "{}: dataStart", what());
                    assert_eq!(ld(rt, o.r + 8), 4 * o.cap, "{}: byteLength", what());
                    assert_eq!(buf.size, 4 * o.cap);
                    if o.k == K::ArrStr {
                        assert_eq!(ld(rt, o.r + 12), o.slots.len() as u32, "{}: length", what());
                        for (j, s) in o.slots.iter().enumerate() {
                            assert_eq!(
                                ld(rt, buf.r + 4 * j as u32),
                                self.r_of(*s),
                                "{}: element {j}",
                                what()
                            );
                        }
                    } else {
                        assert_eq!(ld(rt, o.r + 12), o.ints.len() as u32, "{}: length", what());
                        for (j, &v) in o.ints.iter().enumerate() {
                            assert_eq!(ld(rt, buf.r + 4 * j as u32), v, "{}: element {j}", what());
                        }
                    }
                }
                K::Backing => {}
            }
        }
        let s = rt.static_slots();
        for (i, c) in self.statics.iter().enumerate() {
            assert_eq!(ld(rt, s + 4 * i as u32), self.r_of(*c), "static slot {i}");
        }
        let h = rt.shadow_stack();
        let base = ld(rt, h + 4);
        assert_eq!(ld(rt, h), base + 4 * self.stack.len() as u32, "shadow stack top");
        for (i, c) in self.stack.iter().enumerate() {
            assert_eq!(ld(rt, base + 4 * i as u32), self.r_of(*c), "shadow stack slot {i}");
        }
        for (&id, &n) in &self.pins {
            assert_eq!(rt.pin_count(self.obj(id).r), n, "pin count of #{id}");
        }
        let errors = rt.check();
        if errors != 0 {
            let walk = {
                let heap = rt.heap();
                let mut b = heap.first_block();
                let mut n = 0u64;
                while b != 0 {
                    if ld(rt, b) & 1 == 0 && ld(rt, b + 4) & 8 != 0 {
                        n += 1;
                    }
                    // SAFETY: `b` is a block start of the walk.
                    b = unsafe { heap.next_block(b) };
                }
                n
            };
            panic!(
                "__heap_check = {errors} after step {} (phase {:?}): {}; heap-only check {}; managed blocks {walk} vs live_objects {}{}",
                self.steps,
                rt.phase(),
                report(rt),
                rt.heap().check(),
                rt.stats().live_objects,
                self.describe_dangling()
            );
        }
        let st = rt.stats();
        assert!(
            st.live_objects >= self.tracked.len() as u64,
            "fewer live objects than reachable ones"
        );
        assert_eq!(st.used_bytes + st.free_bytes + overhead(rt), st.heap_bytes);
    }

    /// Bytes of the pin table: it is allocated on the first pin and never freed; its capacity
    /// is a power of two, at least 16, with at least twice as many entries as pins at once.
    pub fn pin_table_bytes(&self) -> u64 {
        if self.max_distinct_pins == 0 {
            return 0;
        }
        let cap = (2 * self.max_distinct_pins).next_power_of_two().max(16) as u32;
        block_size(cap * 8) as u64
    }

    /// Drops every root, collects twice, and checks that the heap is back to its baseline.
    pub fn finish(mut self) {
        let depth = self.stack.len() as u32;
        self.rt.pop(depth).unwrap();
        self.stack.clear();
        let pins: Vec<(usize, u32)> = self.pins.iter().map(|(&a, &b)| (a, b)).collect();
        for (id, n) in pins {
            for _ in 0..n {
                self.rt.unpin(self.obj(id).r).unwrap();
            }
        }
        self.pins.clear();
        for i in 0..self.statics.len() {
            self.store_static(i, None, false);
        }
        self.prune();
        assert!(self.tracked.is_empty());
        self.rt.collect();
        assert_sound(&self.rt, "");
        self.rt.collect();
        assert_sound(&self.rt, "");
        self.check_weak(true);
        assert_eq!(self.rt.weakmap_entries(), 0, "every weak-map entry went with its key");
        let s = self.rt.stats();
        assert_eq!(s.live_objects, 0, "every object collected");
        assert_eq!(
            s.used_bytes,
            self.baseline_used
                + self.pin_table_bytes()
                + self.rt.weak_table_bytes() as u64
                + self.rt.weakmap_table_bytes() as u64,
            "used bytes back to the baseline (+ the pin table for {} objects pinned twice at most, + the weak table)",
            self.max_distinct_pins
        );
        assert_eq!(self.rt.phase(), Phase::Idle);
    }
}

/// Runs a GC model over `ops` (with `small` starting with `configure(100, 1024)`), then drops
/// every root and checks the heap is back to its baseline.
pub fn run_gc_model(
    ops: &[GcOp],
    max_pages: u32,
    seed: u64,
    small: bool,
) -> BTreeMap<&'static str, u64> {
    let mut m = GcModel::new(max_pages, seed);
    if small {
        m.rt.configure(100, 1024).unwrap();
    }
    for &op in ops {
        m.apply(op);
    }
    let counts = m.counts.clone();
    m.finish();
    counts
}
