//! Virtual memory areas: which address ranges of a process are mapped, with
//! what protection, and what backs them (zeros, or a file). Linux semantics:
//! `munmap` and `mprotect` may cut areas in pieces; `mmap` without a fixed
//! address takes the highest free range below the mmap base.

use super::{page_down, PAGE};
use alloc::collections::BTreeMap;
use alloc::vec::Vec;

#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Prot {
    pub read: bool,
    pub write: bool,
    pub exec: bool,
}

impl Prot {
    pub const NONE: Prot = Prot { read: false, write: false, exec: false };
    pub const RW: Prot = Prot { read: true, write: true, exec: false };
    pub const ALL: Prot = Prot { read: true, write: true, exec: true };
    pub fn contains(self, o: Prot) -> bool {
        (self.read || !o.read) && (self.write || !o.write) && (self.exec || !o.exec)
    }
    pub fn from_linux(p: u64) -> Prot {
        Prot { read: p & 1 != 0, write: p & 2 != 0, exec: p & 4 != 0 }
    }
    pub fn to_linux(self) -> u64 {
        self.read as u64 | (self.write as u64) << 1 | (self.exec as u64) << 2
    }
}

/// `data_end` of an mmap'd file (see [`Backing::File`]).
pub const FILE_END: u64 = u64::MAX;

/// What backs an area.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Backing {
    /// Zero-filled memory.
    Anon,
    /// A file (by inode number): page `va` holds the file's bytes at
    /// `offset + (va - start)`, up to `data_end` (an address); beyond it zeros
    /// (an ELF segment's bss). [`FILE_END`] as `data_end` means an mmap'd
    /// file: its bytes up to the file's size at the time of the fault, and a
    /// page wholly past the end is SIGBUS, as on Linux.
    File { ino: u64, offset: u64, data_end: u64 },
    /// Shared anonymous memory (MAP_SHARED|MAP_ANONYMOUS): page `va` is page
    /// `(offset + va - start) / PAGE` of shared object `id`, the same frame in
    /// every process mapping it — before and after fork.
    Shm { id: u64, offset: u64 },
    /// The signal trampoline page: one read-only frame in every process.
    Signal,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Vma {
    pub start: u64,
    pub end: u64,
    pub prot: Prot,
    pub backing: Backing,
    /// MAP_SHARED: writes are seen by every process sharing it.
    pub shared: bool,
    /// The stack (grows down; shown as [stack]).
    pub stack: bool,
    /// The most `mprotect` may grant (a shared mapping of a file opened
    /// read-only can never become writable: Linux's VM_MAYWRITE).
    pub max_prot: Prot,
}

impl Vma {
    pub fn len(&self) -> u64 {
        self.end - self.start
    }
    pub fn is_empty(&self) -> bool {
        self.end == self.start
    }
    pub fn contains(&self, a: u64) -> bool {
        a >= self.start && a < self.end
    }
    /// The piece `[s, e)` of this area (offsets adjusted for file backing).
    fn piece(&self, s: u64, e: u64) -> Vma {
        let mut v = *self;
        v.start = s;
        v.end = e;
        match self.backing {
            Backing::File { ino, offset, data_end } => {
                v.backing = Backing::File { ino, offset: offset + (s - self.start), data_end };
            }
            Backing::Shm { id, offset } => v.backing = Backing::Shm { id, offset: offset + (s - self.start) },
            Backing::Anon | Backing::Signal => {}
        }
        v
    }
}

/// Why `protect` refused.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ProtectError {
    /// Part of the range is not mapped (ENOMEM).
    Unmapped,
    /// An area may not get that protection (EACCES).
    NotAllowed,
}

#[derive(Clone, Default, Debug)]
pub struct VmaSet {
    map: BTreeMap<u64, Vma>,
}

impl VmaSet {
    pub fn new() -> VmaSet {
        VmaSet { map: BTreeMap::new() }
    }

    pub fn find(&self, addr: u64) -> Option<&Vma> {
        self.map.range(..=addr).next_back().map(|(_, v)| v).filter(|v| v.contains(addr))
    }

    pub fn iter(&self) -> impl Iterator<Item = &Vma> {
        self.map.values()
    }

    /// No area overlaps `[start, end)`.
    pub fn is_free(&self, start: u64, end: u64) -> bool {
        if let Some((_, v)) = self.map.range(..end).next_back() {
            if v.end > start {
                return false;
            }
        }
        true
    }

    /// Add an area; the range must be free.
    pub fn insert(&mut self, v: Vma) {
        debug_assert!(v.start % PAGE == 0 && v.end % PAGE == 0 && v.start < v.end);
        debug_assert!(self.is_free(v.start, v.end), "overlapping area {v:?}");
        self.map.insert(v.start, v);
    }

    /// Remove `[start, end)` from every area it touches; returns the removed pieces.
    pub fn remove(&mut self, start: u64, end: u64) -> Vec<Vma> {
        let touched: Vec<u64> =
            self.map.range(..end).rev().take_while(|(_, v)| v.end > start).map(|(&s, _)| s).collect();
        let mut removed = Vec::new();
        for s in touched {
            let v = self.map.remove(&s).expect("listed above");
            let (lo, hi) = (v.start.max(start), v.end.min(end));
            if v.start < lo {
                self.map.insert(v.start, v.piece(v.start, lo));
            }
            if hi < v.end {
                self.map.insert(hi, v.piece(hi, v.end));
            }
            removed.push(v.piece(lo, hi));
        }
        removed.sort_by_key(|v| v.start);
        removed
    }

    /// Is all of `[start, end)` covered by areas (no holes)?
    pub fn covered(&self, start: u64, end: u64) -> bool {
        let mut at = start;
        for (_, v) in self.map.range(..end) {
            if v.end <= at {
                continue;
            }
            if v.start > at {
                return false;
            }
            at = v.end;
            if at >= end {
                return true;
            }
        }
        at >= end
    }

    /// Change the protection of `[start, end)`; it must be fully covered
    /// (Linux: ENOMEM otherwise, with nothing changed).
    pub fn protect(&mut self, start: u64, end: u64, prot: Prot) -> Result<(), ProtectError> {
        if !self.covered(start, end) {
            return Err(ProtectError::Unmapped);
        }
        if self.map.range(..end).rev().take_while(|(_, v)| v.end > start).any(|(_, v)| !v.max_prot.contains(prot)) {
            return Err(ProtectError::NotAllowed);
        }
        for mut v in self.remove(start, end) {
            v.prot = prot;
            self.map.insert(v.start, v);
        }
        self.merge_around(start, end);
        Ok(())
    }

    /// Join neighbours that became identical (as Linux merges areas), so
    /// repeated mprotect calls do not fragment the set without bound.
    fn merge_around(&mut self, start: u64, end: u64) {
        let keys: Vec<u64> =
            self.map.range(..=end).rev().take_while(|(_, v)| v.end + PAGE > start).map(|(&k, _)| k).collect();
        for k in keys.into_iter().rev() {
            while let Some(&v) = self.map.get(&k) {
                let Some(&next) = self.map.get(&v.end) else { break };
                let same_backing = match (v.backing, next.backing) {
                    (Backing::Anon, Backing::Anon) => true,
                    (
                        Backing::File { ino: a, offset: oa, data_end: da },
                        Backing::File { ino: b, offset: ob, data_end: db },
                    ) => a == b && da == db && oa + v.len() == ob,
                    (Backing::Shm { id: a, offset: oa }, Backing::Shm { id: b, offset: ob }) => {
                        a == b && oa + v.len() == ob
                    }
                    _ => false,
                };
                if !(same_backing
                    && v.prot == next.prot
                    && v.shared == next.shared
                    && v.stack == next.stack
                    && v.max_prot == next.max_prot)
                {
                    break;
                }
                self.map.remove(&next.start);
                self.map.get_mut(&k).expect("present").end = next.end;
            }
        }
    }

    /// The highest free range of `len` bytes ending at or below `below` and
    /// starting at or above `above`.
    pub fn find_free_topdown(&self, len: u64, above: u64, below: u64) -> Option<u64> {
        let mut hole_end = page_down(below);
        for (_, v) in self.map.range(..below).rev() {
            if v.end <= hole_end && hole_end - v.end >= len && hole_end - len >= above {
                return Some(hole_end - len);
            }
            hole_end = hole_end.min(v.start);
            if hole_end < above {
                return None;
            }
        }
        (hole_end >= above.saturating_add(len)).then(|| hole_end - len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn anon(s: u64, e: u64, prot: Prot) -> Vma {
        Vma { start: s, end: e, prot, backing: Backing::Anon, shared: false, stack: false, max_prot: Prot::ALL }
    }

    #[test]
    fn find_and_free() {
        let mut s = VmaSet::new();
        s.insert(anon(0x1000, 0x3000, Prot::RW));
        s.insert(anon(0x5000, 0x6000, Prot::RW));
        assert!(s.find(0x2fff).is_some());
        assert!(s.find(0x3000).is_none());
        assert!(s.is_free(0x3000, 0x5000));
        assert!(!s.is_free(0x2000, 0x4000));
        assert!(s.covered(0x1000, 0x3000));
        assert!(!s.covered(0x1000, 0x5001));
    }

    #[test]
    fn remove_splits_file_areas_with_offsets() {
        let mut s = VmaSet::new();
        let file = Vma {
            start: 0x10000,
            end: 0x20000,
            prot: Prot::RW,
            backing: Backing::File { ino: 7, offset: 0x3000, data_end: 0x18000 },
            shared: false,
            stack: false,
            max_prot: Prot::ALL,
        };
        s.insert(file);
        let removed = s.remove(0x12000, 0x14000);
        assert_eq!(removed.len(), 1);
        assert_eq!(removed[0].backing, Backing::File { ino: 7, offset: 0x5000, data_end: 0x18000 });
        let hi = s.find(0x14000).unwrap();
        assert_eq!(hi.backing, Backing::File { ino: 7, offset: 0x7000, data_end: 0x18000 });
        assert_eq!((hi.start, hi.end), (0x14000, 0x20000));
        assert_eq!(s.find(0x11000).unwrap().end, 0x12000);
        assert!(s.find(0x13000).is_none());
    }

    #[test]
    fn shared_memory_pieces_keep_their_offsets_and_merge_back() {
        let mut s = VmaSet::new();
        let shm = Vma { backing: Backing::Shm { id: 3, offset: 0 }, shared: true, ..anon(0x10000, 0x20000, Prot::RW) };
        s.insert(shm);
        s.protect(0x14000, 0x16000, Prot::NONE).unwrap();
        assert_eq!(s.find(0x15000).unwrap().backing, Backing::Shm { id: 3, offset: 0x4000 });
        assert_eq!(s.find(0x17000).unwrap().backing, Backing::Shm { id: 3, offset: 0x6000 });
        s.protect(0x14000, 0x16000, Prot::RW).unwrap();
        assert_eq!(s.iter().count(), 1, "pieces of one object in order merge again");
        let other = Vma { backing: Backing::Shm { id: 4, offset: 0x10000 }, ..shm };
        s.insert(Vma { start: 0x20000, end: 0x21000, ..other });
        s.protect(0x10000, 0x21000, Prot::RW).unwrap();
        assert_eq!(s.iter().count(), 2, "different objects never merge");
    }

    #[test]
    fn protect_splits_and_merges_back() {
        let mut s = VmaSet::new();
        s.insert(anon(0x1000, 0x9000, Prot::RW));
        s.protect(0x3000, 0x4000, Prot::NONE).unwrap();
        assert_eq!(s.iter().count(), 3);
        assert_eq!(s.find(0x3000).unwrap().prot, Prot::NONE);
        s.protect(0x3000, 0x4000, Prot::RW).unwrap();
        assert_eq!(s.iter().count(), 1, "identical neighbours merge");
        assert_eq!(s.protect(0x8000, 0xa000, Prot::NONE), Err(ProtectError::Unmapped), "hole at 0x9000");
        let mut ro = anon(0x20000, 0x21000, Prot { read: true, write: false, exec: false });
        ro.max_prot = Prot { read: true, write: false, exec: true };
        s.insert(ro);
        assert_eq!(s.protect(0x20000, 0x21000, Prot::RW), Err(ProtectError::NotAllowed));
        assert!(s.protect(0x20000, 0x21000, Prot { read: true, write: false, exec: true }).is_ok());
        assert_eq!(s.find(0x8000).unwrap().prot, Prot::RW, "a failed mprotect changes nothing");
    }

    #[test]
    fn topdown_placement() {
        let mut s = VmaSet::new();
        s.insert(anon(0x9000, 0xa000, Prot::RW));
        s.insert(anon(0x6000, 0x8000, Prot::RW));
        assert_eq!(s.find_free_topdown(0x1000, 0x1000, 0xa000), Some(0x8000));
        assert_eq!(s.find_free_topdown(0x2000, 0x1000, 0xa000), Some(0x4000));
        assert_eq!(s.find_free_topdown(0x6000, 0x1000, 0xa000), None);
        assert_eq!(s.find_free_topdown(0x1000, 0x1000, 0x10000), Some(0xf000));
    }
}
