//! A table of kernel objects addressed by slot number and version.
//!
//! Thread IDs and space references are `(slot, version)` pairs. A slot is
//! reused only after its version has been bumped, so a stale reference never
//! reaches the slot's new occupant: lookups compare versions. Objects are boxed
//! so their addresses are stable (the entry code saves registers straight into
//! a thread's control block).

use alloc::boxed::Box;
use alloc::vec::Vec;

struct Slot<T> {
    version: u32,
    obj: Option<Box<T>>,
}

pub struct Table<T> {
    slots: Vec<Slot<T>>,
    free: Vec<u32>,
    limit: u32,
    live: u32,
}

impl<T> Table<T> {
    pub const fn new(limit: u32) -> Table<T> {
        Table { slots: Vec::new(), free: Vec::new(), limit, live: 0 }
    }

    /// Insert an object built from its `(slot, version)`; `None` when full.
    pub fn insert_with(&mut self, make: impl FnOnce(u32, u32) -> T) -> Option<(u32, u32)> {
        let slot = match self.free.pop() {
            Some(s) => s,
            None => {
                if self.slots.len() as u32 >= self.limit {
                    return None;
                }
                self.slots.push(Slot { version: 0, obj: None });
                self.slots.len() as u32 - 1
            }
        };
        let s = &mut self.slots[slot as usize];
        s.version = s.version.wrapping_add(1).max(1);
        // Versions 0 and 1 are never issued for slot reuse beyond the first:
        // version 0 is reserved, and wrapping skips it.
        let version = s.version;
        s.obj = Some(Box::new(make(slot, version)));
        self.live += 1;
        Some((slot, version))
    }

    pub fn remove(&mut self, slot: u32) -> Option<Box<T>> {
        let s = self.slots.get_mut(slot as usize)?;
        let obj = s.obj.take()?;
        self.free.push(slot);
        self.live -= 1;
        Some(obj)
    }

    /// The object in `slot` if it is live and has `version`.
    pub fn get_versioned(&self, slot: u32, version: u32) -> Option<&T> {
        let s = self.slots.get(slot as usize)?;
        if s.version != version {
            return None;
        }
        s.obj.as_deref()
    }

    pub fn is_live(&self, slot: u32, version: u32) -> bool {
        self.get_versioned(slot, version).is_some()
    }

    pub fn get(&self, slot: u32) -> Option<&T> {
        self.slots.get(slot as usize)?.obj.as_deref()
    }
    pub fn get_mut(&mut self, slot: u32) -> Option<&mut T> {
        self.slots.get_mut(slot as usize)?.obj.as_deref_mut()
    }

    pub fn version(&self, slot: u32) -> u32 {
        self.slots.get(slot as usize).map_or(0, |s| s.version)
    }

    /// Two distinct live objects at once.
    pub fn pair_mut(&mut self, a: u32, b: u32) -> Option<(&mut T, &mut T)> {
        if a == b {
            return None;
        }
        let (lo, hi) = if a < b { (a, b) } else { (b, a) };
        let (left, right) = self.slots.split_at_mut(hi as usize);
        let lo_obj = left.get_mut(lo as usize)?.obj.as_deref_mut()?;
        let hi_obj = right.first_mut()?.obj.as_deref_mut()?;
        Some(if a < b { (lo_obj, hi_obj) } else { (hi_obj, lo_obj) })
    }

    pub fn live(&self) -> u32 {
        self.live
    }

    /// Slots of all live objects.
    pub fn slots(&self) -> impl Iterator<Item = u32> + '_ {
        self.slots.iter().enumerate().filter(|(_, s)| s.obj.is_some()).map(|(i, _)| i as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_versions_are_rejected() {
        let mut t: Table<&str> = Table::new(4);
        let (s, v) = t.insert_with(|_, _| "a").unwrap();
        assert_eq!(t.get_versioned(s, v), Some(&"a"));
        t.remove(s).unwrap();
        assert_eq!(t.get_versioned(s, v), None);
        let (s2, v2) = t.insert_with(|_, _| "b").unwrap();
        assert_eq!(s2, s, "slot reused");
        assert_ne!(v2, v, "with a new version");
        assert_eq!(t.get_versioned(s, v), None, "old ID must not reach new occupant");
        assert_eq!(t.get_versioned(s2, v2), Some(&"b"));
        assert_eq!(t.get_versioned(s2, 0), None, "version 0 is never valid");
    }

    #[test]
    fn limit_and_reuse() {
        let mut t: Table<u32> = Table::new(2);
        let a = t.insert_with(|s, _| s).unwrap();
        let _b = t.insert_with(|s, _| s).unwrap();
        assert!(t.insert_with(|s, _| s).is_none());
        t.remove(a.0);
        assert!(t.insert_with(|s, _| s).is_some());
        assert_eq!(t.live(), 2);
    }

    #[test]
    fn versions_never_zero_even_after_wrap() {
        let mut t: Table<u8> = Table::new(1);
        for _ in 0..5 {
            let (s, v) = t.insert_with(|_, _| 0).unwrap();
            assert_ne!(v, 0);
            t.remove(s);
        }
        t.slots[0].version = u32::MAX;
        let (_, v) = t.insert_with(|_, _| 0).unwrap();
        assert_eq!(v, 1);
    }

    #[test]
    fn pair_mut_gives_both() {
        let mut t: Table<u32> = Table::new(4);
        t.insert_with(|_, _| 10).unwrap();
        t.insert_with(|_, _| 20).unwrap();
        let (a, b) = t.pair_mut(1, 0).unwrap();
        assert_eq!((*a, *b), (20, 10));
        assert!(t.pair_mut(1, 1).is_none());
    }
}
