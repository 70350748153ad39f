//! The wakeup queue: threads blocked in IPC with a finite timeout, ordered by
//! deadline. The timer tick pops everything that is due.

use alloc::collections::BTreeSet;

#[derive(Default)]
pub struct TimeoutQueue {
    entries: BTreeSet<(u64, u32)>,
}

impl TimeoutQueue {
    pub const fn new() -> TimeoutQueue {
        TimeoutQueue { entries: BTreeSet::new() }
    }
    pub fn insert(&mut self, deadline: u64, slot: u32) {
        self.entries.insert((deadline, slot));
    }
    pub fn remove(&mut self, deadline: u64, slot: u32) {
        self.entries.remove(&(deadline, slot));
    }
    /// Remove and return one thread whose deadline is at or before `now`.
    pub fn pop_due(&mut self, now: u64) -> Option<u32> {
        let &(d, slot) = self.entries.first()?;
        if d > now {
            return None;
        }
        self.entries.pop_first();
        Some(slot)
    }
    pub fn next_deadline(&self) -> Option<u64> {
        self.entries.first().map(|&(d, _)| d)
    }
    pub fn len(&self) -> usize {
        self.entries.len()
    }
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pops_in_deadline_order_only_when_due() {
        let mut q = TimeoutQueue::new();
        q.insert(300, 1);
        q.insert(100, 2);
        q.insert(200, 3);
        q.insert(100, 4);
        assert_eq!(q.pop_due(50), None);
        assert_eq!(q.pop_due(150), Some(2));
        assert_eq!(q.pop_due(150), Some(4));
        assert_eq!(q.pop_due(150), None);
        q.remove(200, 3);
        assert_eq!(q.next_deadline(), Some(300));
        assert_eq!(q.pop_due(1000), Some(1));
        assert!(q.is_empty());
    }
}
