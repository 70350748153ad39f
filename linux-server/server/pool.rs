//! The server's memory pool: every page a Linux process has is a frame of
//! this pool. The server gets 2 MiB blocks from the root pager, mapped into
//! its own window slot, and maps single frames on into processes. Because the
//! server has every frame mapped, it copies data in and out of processes
//! through its own mappings ("physical copy in/out") — this module is where
//! that memory becomes byte slices, and the server's only `unsafe` code.

use abi::ThreadId;
use alloc::collections::BinaryHeap;
use alloc::vec::Vec;
use core::cmp::Reverse;
use linux_server::mm::pages::Frame;

/// Where the pool's blocks are mapped in the server (the upper half of its slot).
pub const POOL_BASE: u64 = abi::window::SERVER_SLOT + abi::window::SLOT_SIZE / 2;
const BLOCK_LOG2: u32 = 21;
const FRAMES_PER_BLOCK: u32 = 512;
pub const FRAME_SIZE: usize = 4096;
/// Pages of the root pager's pool the server never takes for processes (16 MiB).
pub const RESERVE_PAGES: u64 = 4096;

/// The heap's backing check (`rt::Heap::set_backing`): may the heap take
/// `pages` pages it never used before (for an allocation of `size` bytes)?
/// The heap's pages come from the same root pager as the pool's blocks; a
/// heap page the pager cannot give would leave the server waiting for its
/// own page fault forever (the syscall fuzzer got there: a large file on top
/// of a pool grown by memory-hungry processes). Refusing makes the
/// allocation fail instead — a clean panic for the server's own small
/// allocations, which [`RESERVE_PAGES`] is kept for; files ask first
/// ([`file_memory`]) and never take the reserve.
pub fn heap_may_grow(pages: u64, size: usize) -> bool {
    let Ok(s) = rt::pager::stats(rt::kip::kip().root_pager) else { return true };
    if s.free_pages >= pages {
        return true;
    }
    rt::println!(
        "linux-server: heap allocation of {size} bytes refused: it needs {pages} new pages, the root pager has {}",
        s.free_pages
    );
    false
}

/// The VFS's memory check (`Vfs::set_memory_check`): file contents may
/// take a new allocation of `bytes` only if the root pager keeps
/// [`RESERVE_PAGES`] free beyond it (else the write is ENOSPC, as on a full
/// tmpfs).
pub fn file_memory(bytes: u64) -> bool {
    let pages = bytes.div_ceil(FRAME_SIZE as u64);
    let Ok(s) = rt::pager::stats(rt::kip::kip().root_pager) else { return true };
    if s.free_pages >= pages + RESERVE_PAGES {
        return true;
    }
    rt::println!(
        "linux-server: file contents may not grow by {bytes} bytes: the root pager has {} pages free, \
         {RESERVE_PAGES} stay for the server",
        s.free_pages
    );
    false
}

pub struct Pool {
    pager: ThreadId,
    blocks: u32,
    /// Most blocks the pool may hold (its share of the address-space slot).
    max_blocks: u32,
    /// Each block's physical address (to give it back: `shrink`).
    block_pa: Vec<u64>,
    /// Free frames, lowest first: allocation fills the low blocks, so the
    /// highest ones empty out and can go back to the root pager.
    free: BinaryHeap<Reverse<Frame>>,
    /// References to each frame (processes sharing it copy-on-write, the page
    /// cache of a file...). 0 = free.
    refs: Vec<u16>,
}

impl Pool {
    pub fn new(pager: ThreadId) -> Pool {
        let max_blocks = (abi::window::SLOT_SIZE / 2 >> BLOCK_LOG2) as u32;
        Pool { pager, blocks: 0, max_blocks, block_pa: Vec::new(), free: BinaryHeap::new(), refs: Vec::new() }
    }

    /// Get another block from the root pager — unless that would leave the
    /// root pager less than [`RESERVE_PAGES`]: the server's own page faults
    /// (its heap, its stack) are served from there too, and a process that
    /// eats all memory must run out before the server does.
    fn grow(&mut self) -> bool {
        if self.blocks == self.max_blocks {
            return false;
        }
        match rt::pager::stats(self.pager) {
            Ok(s) if s.free_pages >= RESERVE_PAGES + FRAMES_PER_BLOCK as u64 => {}
            _ => return false,
        }
        let va = POOL_BASE + ((self.blocks as u64) << BLOCK_LOG2);
        let Ok(pa) = rt::pager::alloc(self.pager, BLOCK_LOG2, va) else { return false };
        let first = self.blocks * FRAMES_PER_BLOCK;
        self.blocks += 1;
        self.block_pa.push(pa);
        self.refs.resize((self.blocks * FRAMES_PER_BLOCK) as usize, 0);
        self.free.extend((first..first + FRAMES_PER_BLOCK).map(Reverse));
        true
    }

    /// Give free blocks at the top back to the root pager while more than
    /// two blocks' worth of frames are free. Without this the pool keeps
    /// what a memory-hungry process once made it grow to, and the server's
    /// own heap (files) finds the root pager empty for good.
    pub fn shrink(&mut self) {
        let blocks = self.blocks;
        self.release_free_blocks();
        if self.blocks < blocks {
            // The bookkeeping grew with the pool: 6 bytes a frame, 780 KB of
            // heap kept after one process had taken all memory (the 1M-call
            // fuzz run's heap check).
            self.free.shrink_to_fit();
            self.refs.shrink_to_fit();
            self.block_pa.shrink_to_fit();
        }
    }

    fn release_free_blocks(&mut self) {
        while self.free.len() > 2 * FRAMES_PER_BLOCK as usize && self.blocks > 1 {
            let first = ((self.blocks - 1) * FRAMES_PER_BLOCK) as usize;
            if self.refs[first..].iter().any(|&r| r != 0) {
                return;
            }
            let pa = self.block_pa[self.blocks as usize - 1];
            // The pager revokes the block from every space it reached (the
            // server's own mapping, and no process holds a free frame).
            if rt::pager::release(self.pager, pa, BLOCK_LOG2).is_err() {
                rt::println!("linux-server: the root pager did not take back pool block {pa:#x}");
                return;
            }
            self.free.retain(|&Reverse(f)| (f as usize) < first);
            self.refs.truncate(first);
            self.block_pa.pop();
            self.blocks -= 1;
        }
    }

    /// Free frames (for deciding when to `shrink`).
    pub fn free_frames(&self) -> usize {
        self.free.len()
    }

    /// A zero-filled frame with one reference, or `None` when memory is out.
    pub fn alloc(&mut self) -> Option<Frame> {
        if self.free.is_empty() && !self.grow() {
            return None;
        }
        let Reverse(f) = self.free.pop()?;
        self.refs[f as usize] = 1;
        self.frame_mut(f).fill(0);
        Some(f)
    }

    /// Take another reference to a frame (a second mapping of it).
    pub fn get(&mut self, f: Frame) {
        self.refs[f as usize] += 1;
    }

    /// Drop a reference; the frame returns to the pool with the last one.
    pub fn put(&mut self, f: Frame) {
        let r = &mut self.refs[f as usize];
        debug_assert!(*r > 0, "frame {f} freed twice");
        *r -= 1;
        if *r == 0 {
            self.free.push(Reverse(f));
        }
    }

    pub fn refs(&self, f: Frame) -> u16 {
        self.refs[f as usize]
    }

    /// The server's address of a frame.
    pub fn addr(f: Frame) -> u64 {
        POOL_BASE + f as u64 * FRAME_SIZE as u64
    }

    pub fn frame(&self, f: Frame) -> &[u8; FRAME_SIZE] {
        assert!((f as usize) < self.refs.len() && self.refs[f as usize] > 0, "access to free frame {f}");
        // SAFETY: the frame lies in a block the root pager mapped read-write
        // at POOL_BASE (checked: it was handed out and not freed); the pool
        // is the frame's only user inside the server, and `&self` ties the
        // borrow to it.
        unsafe { &*(Pool::addr(f) as *const [u8; FRAME_SIZE]) }
    }

    pub fn frame_mut(&mut self, f: Frame) -> &mut [u8; FRAME_SIZE] {
        assert!((f as usize) < self.refs.len() && self.refs[f as usize] > 0, "access to free frame {f}");
        // SAFETY: as for `frame`; `&mut self` makes the borrow exclusive.
        unsafe { &mut *(Pool::addr(f) as *mut [u8; FRAME_SIZE]) }
    }

    /// Pages in use and total (for /proc/meminfo and leak checks).
    pub fn usage(&self) -> (u64, u64) {
        let total = self.blocks as u64 * FRAMES_PER_BLOCK as u64;
        (total - self.free.len() as u64, total)
    }
}

/// The initrd, mapped read-only into the server by the root pager.
pub fn initrd_bytes(addr: u64, len: usize) -> &'static [u8] {
    // SAFETY: the root pager mapped the boot module there (read-only) for the
    // server's whole life; nobody writes it.
    unsafe { core::slice::from_raw_parts(addr as *const u8, len) }
}
