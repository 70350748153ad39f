//! The physical memory pool: one bit per 4 KiB frame, handing out naturally
//! aligned blocks of 2^k frames (a 2 MiB block is 512 frames aligned to
//! 2 MiB), so every block can travel as a single flexpage.

use alloc::vec;
use alloc::vec::Vec;

pub const FRAME: u64 = 4096;

pub struct Pool {
    /// Bit set = frame free.
    free: Vec<u64>,
    /// Bit set = frame belongs to the pool (was added): only those can be
    /// released, so a client cannot slip foreign memory into the pool.
    managed: Vec<u64>,
    free_frames: u64,
    total_frames: u64,
    /// Where the last search for each order ended (next-fit).
    hint: [usize; 10],
}

impl Pool {
    /// A pool covering physical addresses `0..end`, all frames in use.
    pub fn new(end: u64) -> Pool {
        let frames = end.div_ceil(FRAME) as usize;
        let words = frames.div_ceil(64);
        Pool { free: vec![0; words], managed: vec![0; words], free_frames: 0, total_frames: 0, hint: [0; 10] }
    }

    fn frames(&self) -> usize {
        self.free.len() * 64
    }

    fn is_free(&self, f: usize) -> bool {
        self.free[f / 64] & (1 << (f % 64)) != 0
    }

    fn is_managed(&self, f: usize) -> bool {
        self.managed[f / 64] & (1 << (f % 64)) != 0
    }

    fn set(&mut self, f: usize, free: bool) {
        if free {
            self.free[f / 64] |= 1 << (f % 64);
        } else {
            self.free[f / 64] &= !(1 << (f % 64));
        }
    }

    /// Add the frames of `[start, end)` (rounded inwards) as free.
    pub fn add(&mut self, start: u64, end: u64) {
        let (s, e) = (start.div_ceil(FRAME) as usize, ((end / FRAME) as usize).min(self.frames()));
        for f in s..e {
            if !self.is_managed(f) {
                self.managed[f / 64] |= 1 << (f % 64);
                self.set(f, true);
                self.free_frames += 1;
                self.total_frames += 1;
            }
        }
    }

    /// A free block of 2^`order` frames, aligned to its size; its address.
    pub fn alloc(&mut self, order: u32) -> Option<u64> {
        if order > 9 {
            return None;
        }
        let n = 1usize << order;
        let slots = self.frames() / n;
        if slots == 0 {
            return None;
        }
        let start = self.hint[order as usize] % slots;
        for i in 0..slots {
            let slot = (start + i) % slots;
            let base = slot * n;
            if (base..base + n).all(|f| self.is_free(f)) {
                for f in base..base + n {
                    self.set(f, false);
                }
                self.free_frames -= n as u64;
                self.hint[order as usize] = slot + 1;
                return Some(base as u64 * FRAME);
            }
        }
        None
    }

    /// Return a block from [`Pool::alloc`]. Frames that are already free, or
    /// not the pool's, are left alone (a double release changes nothing).
    pub fn release(&mut self, addr: u64, order: u32) {
        let base = (addr / FRAME) as usize;
        for f in base..(base + (1usize << order)).min(self.frames()) {
            if self.is_managed(f) && !self.is_free(f) {
                self.set(f, true);
                self.free_frames += 1;
            }
        }
    }

    /// Is every frame of the block in use (so it may be released)?
    pub fn is_allocated(&self, addr: u64, order: u32) -> bool {
        let base = (addr / FRAME) as usize;
        let end = base + (1usize << order);
        end <= self.frames() && (base..end).all(|f| self.is_managed(f) && !self.is_free(f))
    }

    pub fn free_frames(&self) -> u64 {
        self.free_frames
    }
    pub fn total_frames(&self) -> u64 {
        self.total_frames
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligned_blocks_no_double_handout() {
        let mut p = Pool::new(8 << 20);
        p.add(0x10_0000, 8 << 20);
        let total = p.free_frames();
        let big = p.alloc(9).unwrap();
        assert_eq!(big % (2 << 20), 0, "2 MiB block aligned");
        let mut seen = std::collections::HashSet::new();
        for f in 0..512 {
            seen.insert(big + f * FRAME);
        }
        while let Some(a) = p.alloc(0) {
            assert!(seen.insert(a), "frame {a:#x} handed out twice");
        }
        assert_eq!(seen.len() as u64, total);
        assert_eq!(p.free_frames(), 0);
        p.release(big, 9);
        assert_eq!(p.free_frames(), 512);
        p.release(big, 9);
        assert_eq!(p.free_frames(), 512, "double release changes nothing");
    }

    #[test]
    fn unusable_ranges_are_never_handed_out() {
        let mut p = Pool::new(4 << 20);
        p.add(0x20_0000, 0x20_4000);
        assert!(p.alloc(3).is_none(), "no aligned 8-frame run");
        let a = p.alloc(2).unwrap();
        assert_eq!(a, 0x20_0000);
        assert!(p.is_allocated(a, 2));
        assert!(!p.is_allocated(0x30_0000, 0), "never part of the pool");
        p.release(0x30_0000, 0);
        assert_eq!(p.free_frames(), 0, "foreign memory cannot be slipped in");
        assert!(p.alloc(0).is_none());
    }
}
