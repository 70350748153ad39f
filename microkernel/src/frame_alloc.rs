//! The kernel's physical frame allocator.
//!
//! It manages the kernel memory pool (page tables, UTCBs, the heap): a few
//! physical ranges handed out first by bumping a pointer, then recycled through
//! a free list threaded through the free frames themselves. Allocation and
//! release are O(1) and need no memory of their own, so the allocator works
//! before the heap exists. Frames come out zeroed.

use crate::phys::{PhysMem, FRAME_SIZE};

const MAX_RANGES: usize = 16;

pub struct FrameAllocator {
    ranges: [(u64, u64); MAX_RANGES],
    range_count: usize,
    /// Index of the range being bumped and the next frame in it.
    bump_range: usize,
    bump_next: u64,
    /// Head of the list of freed frames (0 = empty); each free frame's first
    /// word holds the next one.
    free_head: u64,
    free_listed: u64,
    total: u64,
    allocated: u64,
}

impl FrameAllocator {
    pub const fn new() -> FrameAllocator {
        FrameAllocator {
            ranges: [(0, 0); MAX_RANGES],
            range_count: 0,
            bump_range: 0,
            bump_next: 0,
            free_head: 0,
            free_listed: 0,
            total: 0,
            allocated: 0,
        }
    }

    /// Add the frames of `[start, end)` (rounded inwards to whole frames).
    /// Frame 0 is never handed out (0 marks the end of the free list).
    pub fn add_range(&mut self, start: u64, end: u64) {
        let start = start.max(FRAME_SIZE).next_multiple_of(FRAME_SIZE);
        let end = end & !(FRAME_SIZE - 1);
        if start >= end || self.range_count == MAX_RANGES {
            return;
        }
        self.ranges[self.range_count] = (start, end);
        if self.range_count == self.bump_range && self.bump_next == 0 {
            self.bump_next = start;
        }
        self.range_count += 1;
        self.total += (end - start) / FRAME_SIZE;
    }

    /// A zeroed frame, or `None` when the pool is exhausted.
    pub fn alloc(&mut self, mem: &mut impl PhysMem) -> Option<u64> {
        let pa = if self.free_head != 0 {
            let pa = self.free_head;
            self.free_head = mem.read_u64(pa);
            self.free_listed -= 1;
            pa
        } else {
            loop {
                if self.bump_range >= self.range_count {
                    return None;
                }
                let (_, end) = self.ranges[self.bump_range];
                if self.bump_next < end {
                    let pa = self.bump_next;
                    self.bump_next += FRAME_SIZE;
                    break pa;
                }
                self.bump_range += 1;
                if self.bump_range < self.range_count {
                    self.bump_next = self.ranges[self.bump_range].0;
                }
            }
        };
        mem.zero(pa, FRAME_SIZE as usize);
        self.allocated += 1;
        Some(pa)
    }

    /// Return a frame obtained from [`FrameAllocator::alloc`].
    pub fn free(&mut self, mem: &mut impl PhysMem, pa: u64) {
        debug_assert!(self.owns(pa), "freeing foreign frame {pa:#x}");
        mem.write_u64(pa, self.free_head);
        self.free_head = pa;
        self.free_listed += 1;
        self.allocated -= 1;
    }

    pub fn owns(&self, pa: u64) -> bool {
        pa & (FRAME_SIZE - 1) == 0 && self.ranges[..self.range_count].iter().any(|&(s, e)| pa >= s && pa < e)
    }

    pub fn total_frames(&self) -> u64 {
        self.total
    }
    pub fn free_frames(&self) -> u64 {
        self.total - self.allocated
    }
}

impl Default for FrameAllocator {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::phys::emulated::EmulatedMem;
    use std::collections::HashSet;

    #[test]
    fn hands_out_each_frame_once_then_runs_dry() {
        let mut mem = EmulatedMem::default();
        mem.add_range(0x10000, 0x14000);
        mem.add_range(0x20000, 0x22000);
        let mut a = FrameAllocator::new();
        a.add_range(0x10000, 0x14000);
        a.add_range(0x20800, 0x22000); // rounded up to 0x21000
        assert_eq!(a.total_frames(), 5);
        let mut seen = HashSet::new();
        while let Some(pa) = a.alloc(&mut mem) {
            assert!(a.owns(pa));
            assert!(seen.insert(pa), "frame {pa:#x} handed out twice");
        }
        assert_eq!(seen.len(), 5);
        assert_eq!(a.free_frames(), 0);
    }

    #[test]
    fn freed_frames_are_reused_and_zeroed() {
        let mut mem = EmulatedMem::default();
        mem.add_range(0x10000, 0x12000);
        let mut a = FrameAllocator::new();
        a.add_range(0x10000, 0x12000);
        let f1 = a.alloc(&mut mem).unwrap();
        let f2 = a.alloc(&mut mem).unwrap();
        assert!(a.alloc(&mut mem).is_none());
        mem.write_u64(f1 + 8, 0xdead);
        a.free(&mut mem, f1);
        assert_eq!(a.free_frames(), 1);
        let f3 = a.alloc(&mut mem).unwrap();
        assert_eq!(f3, f1);
        assert_eq!(mem.read_u64(f3), 0, "free-list link must be cleared");
        assert_eq!(mem.read_u64(f3 + 8), 0, "frames come out zeroed");
        a.free(&mut mem, f2);
        a.free(&mut mem, f3);
        assert_eq!(a.free_frames(), 2);
    }

    #[test]
    fn frame_zero_is_never_used() {
        let mut mem = EmulatedMem::default();
        mem.add_range(0, 0x3000);
        let mut a = FrameAllocator::new();
        a.add_range(0, 0x3000);
        assert_eq!(a.total_frames(), 2);
        assert_ne!(a.alloc(&mut mem), Some(0));
    }
}
