//! A small fixed-capacity set of address ranges, for dividing physical memory
//! at boot (before there is a heap): RAM minus the kernel image, the boot
//! modules and the firmware areas, then carved into the kernel pool and the
//! root pager's memory.

pub const CAPACITY: usize = 64;

#[derive(Clone, Copy)]
pub struct RangeSet {
    r: [(u64, u64); CAPACITY],
    n: usize,
}

impl Default for RangeSet {
    fn default() -> Self {
        Self::new()
    }
}

impl RangeSet {
    pub const fn new() -> RangeSet {
        RangeSet { r: [(0, 0); CAPACITY], n: 0 }
    }

    pub fn ranges(&self) -> &[(u64, u64)] {
        &self.r[..self.n]
    }

    pub fn total(&self) -> u64 {
        self.ranges().iter().map(|(s, e)| e - s).sum()
    }

    /// Add `[start, end)`, merging with neighbours; ranges stay sorted.
    /// Ranges beyond the capacity are dropped (boot memory maps are small).
    pub fn add(&mut self, start: u64, end: u64) {
        if start >= end {
            return;
        }
        let (mut s, mut e) = (start, end);
        let mut out = [(0u64, 0u64); CAPACITY];
        let mut m = 0;
        let mut placed = false;
        for &(a, b) in self.ranges() {
            if b < s {
                out[m] = (a, b);
                m += 1;
            } else if a > e {
                if !placed {
                    if m < CAPACITY {
                        out[m] = (s, e);
                        m += 1;
                    }
                    placed = true;
                }
                if m < CAPACITY {
                    out[m] = (a, b);
                    m += 1;
                }
            } else {
                s = s.min(a);
                e = e.max(b);
            }
        }
        if !placed && m < CAPACITY {
            out[m] = (s, e);
            m += 1;
        }
        self.r = out;
        self.n = m;
    }

    /// Remove `[start, end)` from the set.
    pub fn remove(&mut self, start: u64, end: u64) {
        if start >= end {
            return;
        }
        let mut out = [(0u64, 0u64); CAPACITY];
        let mut m = 0;
        for &(a, b) in self.ranges() {
            for piece in [(a, b.min(start)), (a.max(end), b)] {
                if piece.0 < piece.1 && m < CAPACITY {
                    out[m] = piece;
                    m += 1;
                }
            }
        }
        self.r = out;
        self.n = m;
    }

    /// Shrink every range inwards to multiples of `align`.
    pub fn align_inwards(&mut self, align: u64) {
        let mut out = RangeSet::new();
        for &(a, b) in self.ranges() {
            out.add(a.next_multiple_of(align), b & !(align - 1));
        }
        *self = out;
    }

    /// Take the lowest contiguous `size` bytes that fit in one range,
    /// aligned to `align`; they leave the set.
    pub fn take_contiguous(&mut self, size: u64, align: u64) -> Option<(u64, u64)> {
        let found = self.ranges().iter().find_map(|&(a, b)| {
            let s = a.next_multiple_of(align);
            (s.checked_add(size)? <= b).then_some(s)
        })?;
        self.remove(found, found + size);
        Some((found, found + size))
    }

    /// Take up to `size` bytes from the lowest ranges (maybe several pieces),
    /// returned as a new set.
    pub fn take_lowest(&mut self, size: u64) -> RangeSet {
        let mut taken = RangeSet::new();
        let mut want = size;
        let snapshot = *self;
        for &(a, b) in snapshot.ranges() {
            if want == 0 {
                break;
            }
            let n = (b - a).min(want);
            taken.add(a, a + n);
            want -= n;
        }
        for &(a, b) in taken.ranges() {
            self.remove(a, b);
        }
        taken
    }

    pub fn contains(&self, addr: u64) -> bool {
        self.ranges().iter().any(|&(a, b)| addr >= a && addr < b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_merges_and_sorts() {
        let mut s = RangeSet::new();
        s.add(100, 200);
        s.add(0, 50);
        s.add(300, 400);
        s.add(150, 320);
        assert_eq!(s.ranges(), &[(0, 50), (100, 400)]);
        s.add(50, 100);
        assert_eq!(s.ranges(), &[(0, 400)]);
    }

    #[test]
    fn remove_splits() {
        let mut s = RangeSet::new();
        s.add(0, 1000);
        s.remove(100, 200);
        s.remove(900, 2000);
        s.remove(0, 10);
        assert_eq!(s.ranges(), &[(10, 100), (200, 900)]);
        assert_eq!(s.total(), 790);
        assert!(s.contains(50) && !s.contains(150));
    }

    #[test]
    fn take_contiguous_and_lowest() {
        let mut s = RangeSet::new();
        s.add(0x1000, 0x3000);
        s.add(0x10000, 0x20000);
        assert_eq!(s.take_contiguous(0x4000, 0x1000), Some((0x10000, 0x14000)));
        let t = s.take_lowest(0x3000);
        assert_eq!(t.ranges(), &[(0x1000, 0x3000), (0x14000, 0x15000)]);
        assert_eq!(s.ranges(), &[(0x15000, 0x20000)]);
        assert_eq!(s.take_contiguous(0x100000, 0x1000), None);
    }

    #[test]
    fn align_inwards_drops_slivers() {
        let mut s = RangeSet::new();
        s.add(0x1100, 0x3f00);
        s.add(0x5100, 0x5f00);
        s.align_inwards(0x1000);
        assert_eq!(s.ranges(), &[(0x2000, 0x3000)]);
    }
}
