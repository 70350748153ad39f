//! The logical page table of a process: for each present page, the frame of
//! the server's pool that backs it. It is the authority; the kernel's page
//! table is filled from it on faults and emptied by unmap.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

/// A frame of the server's memory pool (index, not address).
pub type Frame = u32;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Pte {
    pub frame: Frame,
    /// The page may be written through this mapping (false while it is
    /// shared copy-on-write).
    pub writable: bool,
}

#[derive(Clone, Default, Debug)]
pub struct PageTable {
    map: BTreeMap<u64, Pte>,
}

impl PageTable {
    pub fn new() -> PageTable {
        PageTable { map: BTreeMap::new() }
    }
    pub fn get(&self, page: u64) -> Option<Pte> {
        self.map.get(&page).copied()
    }
    pub fn set(&mut self, page: u64, pte: Pte) -> Option<Pte> {
        self.map.insert(page, pte)
    }
    pub fn get_mut(&mut self, page: u64) -> Option<&mut Pte> {
        self.map.get_mut(&page)
    }
    /// Remove and return the present pages of `[start, end)`.
    pub fn take_range(&mut self, start: u64, end: u64) -> Vec<(u64, Pte)> {
        let pages: Vec<(u64, Pte)> = self.map.range(start..end).map(|(&a, &p)| (a, p)).collect();
        for (a, _) in &pages {
            self.map.remove(a);
        }
        pages
    }
    /// The present pages of `[start, end)`.
    pub fn range(&self, start: u64, end: u64) -> impl Iterator<Item = (u64, Pte)> + '_ {
        self.map.range(start..end).map(|(&a, &p)| (a, p))
    }
    pub fn len(&self) -> usize {
        self.map.len()
    }
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
    pub fn iter(&self) -> impl Iterator<Item = (u64, Pte)> + '_ {
        self.map.iter().map(|(&a, &p)| (a, p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn take_range_removes_only_the_range() {
        let mut pt = PageTable::new();
        for i in 0..10u64 {
            pt.set(i * 4096, Pte { frame: i as u32, writable: true });
        }
        let taken = pt.take_range(3 * 4096, 6 * 4096);
        assert_eq!(taken.iter().map(|(_, p)| p.frame).collect::<Vec<_>>(), vec![3, 4, 5]);
        assert_eq!(pt.len(), 7);
        assert!(pt.get(4 * 4096).is_none());
        assert!(pt.get(6 * 4096).is_some());
    }
}
