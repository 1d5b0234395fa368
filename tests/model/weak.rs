//! The GC model's weak references and finalizer registrations (docs/ABI.md §10), checked
//! against the model's reachability after every operation:
//!
//! - a weak reference to an object the model reaches reads exactly that object;
//! - one to an object the model no longer reaches reads that object (still a live block, and no
//!   reachable object lives there) or 0, and once 0 it stays 0; after a full collection it is 0;
//! - every token `finalizer_next` hands out was registered, not unregistered, not handed out
//!   before, and its object is one the model no longer reaches; after a full collection every
//!   registration of an unreachable object has been handed out;
//! - a weak map's entry whose key the model reaches reads its value, and the value is reached
//!   through it (the model's reachability follows ephemerons: `GcModel::reachable`); after a
//!   full collection the runtime holds exactly the entries whose keys the model reaches;
//! - forged, released and delivered handles are rejected with memory unchanged.
//!
//! A child module of `gc`, so it reads the model's fields.

use std::collections::{BTreeMap, BTreeSet};
use std::vec::Vec;

use asrt::Error;

use super::{GcModel, snapshot};

/// One weak reference of the model.
#[derive(Clone, Copy, Debug)]
pub struct WeakM {
    /// Its handle.
    h: u32,
    /// The target's object id.
    id: usize,
    /// The target's ref when the reference was made (a moved object is another object).
    r: u32,
    /// Read as 0 once: it must stay 0.
    cleared: bool,
}

/// One weak map of the model.
#[derive(Clone, Debug)]
pub struct MapM {
    /// Its handle.
    h: u32,
    /// Key id → (the key's ref, the value's id).
    entries: BTreeMap<usize, (u32, Option<usize>)>,
}

/// The model's weak references, registrations and weak maps.
#[derive(Default)]
pub struct Weaks {
    maps: Vec<MapM>,
    refs: Vec<WeakM>,
    /// Pending registrations: token → (object id, ref).
    regs: BTreeMap<u32, (usize, u32)>,
    /// Tokens handed out or unregistered: never valid again.
    done: BTreeSet<u32>,
    /// Released weak handles (the latest few): never valid again.
    freed: Vec<u32>,
}

/// A number that is no handle: its index is past the largest table.
fn forged(salt: u32) -> u32 {
    (salt << 22) | ((1 << 22) - 1)
}

impl GcModel {
    /// Whether the object `id` at `r` is one the model still reaches.
    fn reached(&self, id: usize, r: u32) -> bool {
        self.objs.get(id).and_then(|o| o.as_ref()).is_some_and(|o| o.r == r)
    }

    /// [`super::WeakOp`] on the model.
    pub(super) fn apply_weak(&mut self, op: super::WeakOp) {
        use super::WeakOp;
        match op {
            WeakOp::New { object } => {
                if let Some(id) = self.pick_child(Some(object)) {
                    let r = self.obj(id).r;
                    let h = self.rt.weakref_new(r).expect("weakref_new");
                    self.weaks.refs.push(WeakM { h, id, r, cleared: false });
                    self.count("weakref new");
                }
            }
            WeakOp::Get { weak } => self.weak_get(weak),
            WeakOp::Free { weak } => {
                if !self.weaks.refs.is_empty() {
                    let w = self.weaks.refs.swap_remove(weak as usize % self.weaks.refs.len());
                    self.rt.weakref_free(w.h).expect("weakref_free");
                    self.weaks.freed.push(w.h);
                    if self.weaks.freed.len() > 16 {
                        self.weaks.freed.remove(0);
                    }
                    self.count("weakref free");
                }
            }
            WeakOp::Register { object } => {
                if let Some(id) = self.pick_child(Some(object)) {
                    let r = self.obj(id).r;
                    let t = self.rt.finalizer_register(r).expect("finalizer_register");
                    assert!(self.weaks.regs.insert(t, (id, r)).is_none(), "token {t:#x} reused");
                    self.count("finalizer register");
                }
            }
            WeakOp::Unregister { reg } => {
                let tokens: Vec<u32> = self.weaks.regs.keys().copied().collect();
                if !tokens.is_empty() {
                    let t = tokens[reg as usize % tokens.len()];
                    self.rt.finalizer_unregister(t).expect("finalizer_unregister");
                    self.weaks.regs.remove(&t);
                    self.weaks.done.insert(t);
                    self.count("finalizer unregister");
                }
            }
            WeakOp::Hostile { which, salt } => self.weak_hostile(which, salt),
            WeakOp::MapSet { map, key, value } => self.map_set(map, key, value),
            WeakOp::MapDelete { map, entry } => {
                let Some(m) = self.pick_map(map) else { return };
                let keys: Vec<usize> = self.weaks.maps[m].entries.keys().copied().collect();
                if let Some(&k) = keys.get(entry as usize % keys.len().max(1)) {
                    let (r, _) = self.weaks.maps[m].entries.remove(&k).unwrap();
                    assert_eq!(self.rt.weakmap_delete(self.weaks.maps[m].h, r), Ok(true));
                    assert_eq!(self.rt.weakmap_has(self.weaks.maps[m].h, r), Ok(false));
                    self.count("weakmap delete");
                }
            }
            WeakOp::MapNewOrFree { map, free } => {
                if free && let Some(m) = self.pick_map(map) {
                    let gone = self.weaks.maps.swap_remove(m);
                    self.rt.weakmap_free(gone.h).expect("weakmap_free");
                    self.count("weakmap free");
                } else if self.weaks.maps.len() < 4 {
                    let h = self.rt.weakmap_new().expect("weakmap_new");
                    self.weaks.maps.push(MapM { h, entries: BTreeMap::new() });
                    self.count("weakmap new");
                }
            }
        }
    }

    /// The index of the model's weak map `map`, if there is one.
    fn pick_map(&self, map: u32) -> Option<usize> {
        let n = self.weaks.maps.len();
        (n > 0).then(|| map as usize % n)
    }

    /// [`super::WeakOp::MapSet`].
    fn map_set(&mut self, map: u32, key: u32, value: Option<u32>) {
        if self.weaks.maps.is_empty() {
            let h = self.rt.weakmap_new().expect("weakmap_new");
            self.weaks.maps.push(MapM { h, entries: BTreeMap::new() });
        }
        let m = map as usize % self.weaks.maps.len();
        let Some(k) = self.pick_child(Some(key)) else { return };
        let v = self.pick_child(value);
        let (kr, vr) = (self.obj(k).r, self.r_of(v));
        self.rt.weakmap_set(self.weaks.maps[m].h, kr, vr).expect("weakmap_set");
        self.weaks.maps[m].entries.insert(k, (kr, v));
        self.count(if v.is_some() { "weakmap set" } else { "weakmap set null" });
    }

    /// Whether the object `id` is a key or a value of a weak map (`renew` leaves it alone: the
    /// entry names the old block).
    pub(super) fn in_weak_map(&self, id: usize) -> bool {
        self.weaks
            .maps
            .iter()
            .any(|m| m.entries.contains_key(&id) || m.entries.values().any(|&(_, v)| v == Some(id)))
    }

    /// The values of weak-map entries whose keys are `seen` and that are not seen yet.
    pub(super) fn ephemeron_values(&self, seen: &[bool]) -> Vec<usize> {
        let mut out = Vec::new();
        for m in &self.weaks.maps {
            for (&k, &(kr, v)) in &m.entries {
                let key_now = seen[k] && self.objs[k].as_ref().is_some_and(|o| o.r == kr);
                if let Some(v) = v
                    && key_now
                    && !seen[v]
                {
                    out.push(v);
                }
            }
        }
        out
    }

    /// Forgets entries whose keys the model no longer reaches and checks the others; after a
    /// full collection, the runtime holds exactly those.
    fn check_maps(&mut self, collected: bool) {
        let mut total = 0;
        for m in 0..self.weaks.maps.len() {
            let mut map = std::mem::take(&mut self.weaks.maps[m].entries);
            map.retain(|&k, &mut (kr, _)| self.reached(k, kr));
            for (&k, &(kr, v)) in &map {
                let h = self.weaks.maps[m].h;
                let got = self.rt.weakmap_get(h, kr).expect("weakmap_get");
                assert_eq!(got, self.r_of(v), "weak map {h:#x}: the value of reached key #{k}");
                assert_eq!(self.rt.weakmap_has(h, kr), Ok(true));
            }
            total += map.len() as u32;
            self.weaks.maps[m].entries = map;
        }
        if collected {
            assert_eq!(
                self.rt.weakmap_entries(),
                total,
                "after collect(): entries of reached keys"
            );
        }
    }

    /// [`super::WeakOp::Get`]: reads a weak reference through the read barrier.
    fn weak_get(&mut self, weak: u32) {
        if self.weaks.refs.is_empty() {
            return;
        }
        let i = weak as usize % self.weaks.refs.len();
        let w = self.weaks.refs[i];
        let got = self.rt.weakref_get(w.h).expect("weakref_get");
        if self.reached(w.id, w.r) {
            assert_eq!(got, w.r, "a weak reference to a reachable object reads it");
            self.count("weakref get (reachable)");
        } else {
            // An unreachable target read while marking survives the cycle as floating
            // garbage; the model does not take it back.
            assert!(got == 0 || (got == w.r && !w.cleared), "weak read {got:#x} of {w:?}");
            self.weaks.refs[i].cleared = got == 0;
            self.count(if got == 0 { "weakref get (cleared)" } else { "weakref get (unreached)" });
        }
    }

    /// [`super::WeakOp::Hostile`]: a forged, released or delivered handle, rejected cleanly.
    fn weak_hostile(&mut self, which: u32, salt: u32) {
        let pick = |v: &[u32]| (!v.is_empty()).then(|| v[salt as usize % v.len()]);
        let done: Vec<u32> = self.weaks.done.iter().copied().collect();
        let (h, is_weak) = match which % 4 {
            0 => (forged(salt), salt & 1 == 0),
            1 => (pick(&self.weaks.freed).unwrap_or(forged(salt)), true),
            2 => (pick(&done).unwrap_or(forged(salt)), false),
            _ => {
                let before = snapshot(&self.rt);
                let h = forged(salt);
                assert_eq!(self.rt.weakmap_get(h, 16), Err(Error::BadWeakMap));
                assert_eq!(self.rt.weakmap_free(h), Err(Error::BadWeakMap));
                assert!(snapshot(&self.rt) == before, "a rejected weak-map call changed memory");
                return;
            }
        };
        let before = snapshot(&self.rt);
        if is_weak {
            assert_eq!(self.rt.weakref_get(h), Err(Error::BadWeakHandle), "get {h:#x}");
            assert_eq!(self.rt.weakref_free(h), Err(Error::BadWeakHandle), "free {h:#x}");
        } else {
            assert_eq!(self.rt.finalizer_unregister(h), Err(Error::BadFinalizerToken));
        }
        assert!(snapshot(&self.rt) == before, "a rejected weak call changed memory");
        self.count("weak hostile");
    }

    /// After every operation: takes every token waiting and checks every weak reference;
    /// `collected` after a full collection.
    pub(super) fn check_weak(&mut self, collected: bool) {
        while let Some(t) = Some(self.rt.finalizer_next()).filter(|&t| t != 0) {
            let (id, r) = self.weaks.regs.remove(&t).unwrap_or_else(|| {
                panic!("token {t:#x} was not pending (handed out twice or never registered)")
            });
            assert!(!self.reached(id, r), "token {t:#x} of a reachable object #{id}");
            self.weaks.done.insert(t);
            self.count("finalizer token");
        }
        if collected {
            for (&t, &(id, r)) in &self.weaks.regs {
                assert!(self.reached(id, r), "token {t:#x} of unreachable #{id} not delivered");
            }
        }
        for i in 0..self.weaks.refs.len() {
            self.check_weak_ref(i, collected);
        }
        self.check_maps(collected);
    }

    /// Checks the weak reference `i` with a read that neither shades nor clears.
    fn check_weak_ref(&mut self, i: usize, collected: bool) {
        let w = self.weaks.refs[i];
        let got = self.rt.weakref_peek(w.h).expect("weakref_peek");
        if self.reached(w.id, w.r) {
            assert_eq!(got, w.r, "weak reference {w:?} to a reachable object");
            return;
        }
        if got == 0 {
            self.weaks.refs[i].cleared = true;
            return;
        }
        assert!(!collected, "weak reference {w:?} not cleared by a full collection");
        assert!(!w.cleared && got == w.r, "weak reference {w:?} reads {got:#x}");
        assert!(self.rt.validate_managed(got).is_ok(), "weak reference {w:?} reads a freed block");
        assert!(
            self.tracked.iter().all(|&t| self.obj(t).r != got),
            "weak reference {w:?} reads a reused block"
        );
    }
}
