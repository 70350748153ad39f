//! Ready queues: one FIFO per priority (0..=255, higher runs first) and a
//! bitmap of non-empty queues, so picking the next thread is a few word scans.
//! Round-robin within a priority comes from re-queueing at the back when a
//! timeslice ends.

use crate::list::{LinkStore, List};

pub const PRIORITIES: usize = 256;

pub struct ReadyQueues {
    queues: [List; PRIORITIES],
    bitmap: [u64; PRIORITIES / 64],
}

impl ReadyQueues {
    pub const fn new() -> ReadyQueues {
        ReadyQueues { queues: [List::EMPTY; PRIORITIES], bitmap: [0; PRIORITIES / 64] }
    }

    pub fn enqueue(&mut self, store: &mut impl LinkStore, slot: u32, prio: u8) {
        self.queues[prio as usize].push_back(store, slot);
        self.bitmap[prio as usize / 64] |= 1 << (prio % 64);
    }

    /// Queue at the front: for a thread preempted before its timeslice ended.
    pub fn enqueue_front(&mut self, store: &mut impl LinkStore, slot: u32, prio: u8) {
        self.queues[prio as usize].push_front(store, slot);
        self.bitmap[prio as usize / 64] |= 1 << (prio % 64);
    }

    pub fn remove(&mut self, store: &mut impl LinkStore, slot: u32, prio: u8) {
        let q = &mut self.queues[prio as usize];
        q.remove(store, slot);
        if q.is_empty() {
            self.bitmap[prio as usize / 64] &= !(1 << (prio % 64));
        }
    }

    pub fn highest_priority(&self) -> Option<u8> {
        for (i, &w) in self.bitmap.iter().enumerate().rev() {
            if w != 0 {
                return Some((i * 64 + 63 - w.leading_zeros() as usize) as u8);
            }
        }
        None
    }

    /// Whether a thread of priority above `prio` is ready (the fastpath's
    /// check: a few word tests, no scan for the highest).
    #[inline]
    pub fn any_above(&self, prio: u8) -> bool {
        let w = prio as usize / 64;
        // The bits above `prio` in its word (shifted twice: a shift by 64
        // would overflow), then every word above.
        let mut above = self.bitmap[w] & ((!0u64 << (prio % 64)) << 1);
        for &x in &self.bitmap[w + 1..] {
            above |= x;
        }
        above != 0
    }

    /// Take the first thread of the highest non-empty priority.
    pub fn dequeue_highest(&mut self, store: &mut impl LinkStore) -> Option<u32> {
        let p = self.highest_priority()?;
        let slot = self.queues[p as usize].head?;
        self.remove(store, slot, p);
        Some(slot)
    }

    pub fn len(&self) -> usize {
        self.queues.iter().map(|q| q.len as usize).sum()
    }
    pub fn is_empty(&self) -> bool {
        self.highest_priority().is_none()
    }
}

impl Default for ReadyQueues {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::list::tests::VecStore;
    use crate::list::Link;

    #[test]
    fn highest_priority_first_fifo_within() {
        let mut s = VecStore(vec![Link::default(); 16]);
        let mut q = ReadyQueues::new();
        q.enqueue(&mut s, 1, 10);
        q.enqueue(&mut s, 2, 200);
        q.enqueue(&mut s, 3, 10);
        q.enqueue(&mut s, 4, 255);
        q.enqueue(&mut s, 5, 0);
        q.enqueue_front(&mut s, 6, 10);
        assert_eq!(q.highest_priority(), Some(255));
        let order: Vec<u32> = std::iter::from_fn(|| q.dequeue_highest(&mut s)).collect();
        assert_eq!(order, vec![4, 2, 6, 1, 3, 5]);
        assert!(q.is_empty());
    }

    #[test]
    fn any_above_sees_only_higher_priorities() {
        let mut store = VecStore(vec![Link::default(); 16]);
        let mut q = ReadyQueues::new();
        assert!(!q.any_above(0));
        q.enqueue(&mut store, 1, 100);
        assert!(q.any_above(99) && q.any_above(0) && q.any_above(63));
        assert!(!q.any_above(100) && !q.any_above(150) && !q.any_above(255));
        q.enqueue(&mut store, 2, 255);
        assert!(q.any_above(254) && q.any_above(200) && !q.any_above(255));
        q.enqueue(&mut store, 3, 64);
        assert!(q.any_above(63));
    }

    #[test]
    fn remove_clears_bitmap() {
        let mut s = VecStore(vec![Link::default(); 4]);
        let mut q = ReadyQueues::new();
        q.enqueue(&mut s, 1, 64);
        q.enqueue(&mut s, 2, 63);
        q.remove(&mut s, 1, 64);
        assert_eq!(q.highest_priority(), Some(63));
        q.remove(&mut s, 2, 63);
        assert_eq!(q.highest_priority(), None);
        assert_eq!(q.len(), 0);
    }

    #[test]
    fn round_robin_by_requeue() {
        let mut s = VecStore(vec![Link::default(); 4]);
        let mut q = ReadyQueues::new();
        for t in 1..=3 {
            q.enqueue(&mut s, t, 5);
        }
        let mut order = vec![];
        for _ in 0..6 {
            let t = q.dequeue_highest(&mut s).unwrap();
            order.push(t);
            q.enqueue(&mut s, t, 5); // timeslice over: back of the queue
        }
        assert_eq!(order, vec![1, 2, 3, 1, 2, 3]);
    }
}
