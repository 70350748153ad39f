//! Intrusive doubly-linked lists of thread slots.
//!
//! A thread is in at most one queue at a time — a ready queue when runnable,
//! the send queue of its partner when blocked sending — so one [`Link`] per
//! thread serves all queues. Lists hold slot numbers, not pointers; the links
//! live in whatever [`LinkStore`] owns the threads. All operations are O(1)
//! and allocate nothing, which the kernel's hot paths rely on.

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Link {
    pub prev: Option<u32>,
    pub next: Option<u32>,
    /// Whether the element is in some list (guards against double insertion).
    pub linked: bool,
}

pub trait LinkStore {
    fn link(&mut self, slot: u32) -> &mut Link;
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct List {
    pub head: Option<u32>,
    pub tail: Option<u32>,
    pub len: u32,
}

impl List {
    pub const EMPTY: List = List { head: None, tail: None, len: 0 };

    pub fn is_empty(&self) -> bool {
        self.head.is_none()
    }

    pub fn push_back(&mut self, store: &mut impl LinkStore, slot: u32) {
        debug_assert!(!store.link(slot).linked, "slot {slot} already queued");
        *store.link(slot) = Link { prev: self.tail, next: None, linked: true };
        match self.tail {
            Some(t) => store.link(t).next = Some(slot),
            None => self.head = Some(slot),
        }
        self.tail = Some(slot);
        self.len += 1;
    }

    pub fn push_front(&mut self, store: &mut impl LinkStore, slot: u32) {
        debug_assert!(!store.link(slot).linked, "slot {slot} already queued");
        *store.link(slot) = Link { prev: None, next: self.head, linked: true };
        match self.head {
            Some(h) => store.link(h).prev = Some(slot),
            None => self.tail = Some(slot),
        }
        self.head = Some(slot);
        self.len += 1;
    }

    pub fn pop_front(&mut self, store: &mut impl LinkStore) -> Option<u32> {
        let h = self.head?;
        self.remove(store, h);
        Some(h)
    }

    /// Unlink `slot`, which must be in this list.
    pub fn remove(&mut self, store: &mut impl LinkStore, slot: u32) {
        let Link { prev, next, linked } = *store.link(slot);
        debug_assert!(linked, "slot {slot} not queued");
        match prev {
            Some(p) => store.link(p).next = next,
            None => self.head = next,
        }
        match next {
            Some(n) => store.link(n).prev = prev,
            None => self.tail = prev,
        }
        *store.link(slot) = Link::default();
        self.len -= 1;
    }

    /// Iterate without modifying (the store must not change meanwhile).
    pub fn iter<'a, S: LinkStore>(&self, store: &'a mut S) -> ListIter<'a, S> {
        ListIter { store, next: self.head }
    }
}

pub struct ListIter<'a, S: LinkStore> {
    store: &'a mut S,
    next: Option<u32>,
}

impl<S: LinkStore> Iterator for ListIter<'_, S> {
    type Item = u32;
    fn next(&mut self) -> Option<u32> {
        let cur = self.next?;
        self.next = self.store.link(cur).next;
        Some(cur)
    }
}

#[cfg(test)]
pub mod tests {
    use super::*;

    pub struct VecStore(pub Vec<Link>);
    impl LinkStore for VecStore {
        fn link(&mut self, slot: u32) -> &mut Link {
            &mut self.0[slot as usize]
        }
    }

    fn contents(l: &List, s: &mut VecStore) -> Vec<u32> {
        l.iter(s).collect()
    }

    #[test]
    fn push_pop_remove() {
        let mut s = VecStore(vec![Link::default(); 8]);
        let mut l = List::EMPTY;
        l.push_back(&mut s, 1);
        l.push_back(&mut s, 2);
        l.push_front(&mut s, 0);
        l.push_back(&mut s, 3);
        assert_eq!(contents(&l, &mut s), vec![0, 1, 2, 3]);
        l.remove(&mut s, 2);
        assert_eq!(contents(&l, &mut s), vec![0, 1, 3]);
        l.remove(&mut s, 0);
        l.remove(&mut s, 3);
        assert_eq!(contents(&l, &mut s), vec![1]);
        assert_eq!(l.head, l.tail);
        assert_eq!(l.pop_front(&mut s), Some(1));
        assert!(l.is_empty());
        assert_eq!(l.len, 0);
        assert!(s.0.iter().all(|k| !k.linked));
    }
}
