//! Physical memory as the kernel's logic sees it.
//!
//! Kernel logic never dereferences a physical or user address itself: it asks a
//! [`PhysMem`] to read or write physical memory. In the kernel that is the
//! direct map of all RAM; in host tests it is an emulated memory, so page-table
//! code, the mapping database and IPC copying can be tested without hardware.

pub const FRAME_SIZE: u64 = 4096;

pub trait PhysMem {
    fn read_u64(&self, pa: u64) -> u64;
    fn write_u64(&mut self, pa: u64, value: u64);
    fn read_bytes(&self, pa: u64, buf: &mut [u8]);
    fn write_bytes(&mut self, pa: u64, data: &[u8]);
    /// Copy `len` bytes; the ranges do not overlap and neither crosses a frame.
    fn copy(&mut self, dst: u64, src: u64, len: usize);
    fn zero(&mut self, pa: u64, len: usize);
}

/// An emulated physical memory for host tests: a sparse set of frames.
#[cfg(test)]
pub mod emulated {
    use super::*;
    use std::collections::HashMap;

    #[derive(Default)]
    pub struct EmulatedMem {
        pub frames: HashMap<u64, Box<[u8; 4096]>>,
    }

    impl EmulatedMem {
        fn frame(&self, pa: u64) -> &[u8; 4096] {
            self.frames.get(&(pa & !0xfff)).unwrap_or_else(|| panic!("access to unbacked frame {pa:#x}"))
        }
        fn frame_mut(&mut self, pa: u64) -> &mut [u8; 4096] {
            self.frames.entry(pa & !0xfff).or_insert_with(|| Box::new([0; 4096]))
        }
        /// Back the frames of `[start, end)` with zeroed memory.
        pub fn add_range(&mut self, start: u64, end: u64) {
            let mut pa = start;
            while pa < end {
                self.frames.entry(pa).or_insert_with(|| Box::new([0; 4096]));
                pa += 4096;
            }
        }
    }

    impl PhysMem for EmulatedMem {
        fn read_u64(&self, pa: u64) -> u64 {
            let o = (pa & 0xfff) as usize;
            u64::from_le_bytes(self.frame(pa)[o..o + 8].try_into().unwrap())
        }
        fn write_u64(&mut self, pa: u64, value: u64) {
            let o = (pa & 0xfff) as usize;
            self.frame_mut(pa)[o..o + 8].copy_from_slice(&value.to_le_bytes());
        }
        fn read_bytes(&self, pa: u64, buf: &mut [u8]) {
            let o = (pa & 0xfff) as usize;
            buf.copy_from_slice(&self.frame(pa)[o..o + buf.len()]);
        }
        fn write_bytes(&mut self, pa: u64, data: &[u8]) {
            let o = (pa & 0xfff) as usize;
            self.frame_mut(pa)[o..o + data.len()].copy_from_slice(data);
        }
        fn copy(&mut self, dst: u64, src: u64, len: usize) {
            let mut tmp = vec![0u8; len];
            self.read_bytes(src, &mut tmp);
            self.write_bytes(dst, &tmp);
        }
        fn zero(&mut self, pa: u64, len: usize) {
            let o = (pa & 0xfff) as usize;
            self.frame_mut(pa)[o..o + len].fill(0);
        }
    }
}
