//! The server's memory pool: every page a Linux process has is a frame of
//! this pool. The server gets 2 MiB blocks from the root pager, mapped into
//! its own window slot, and maps single frames on into processes. Because the
//! server has every frame mapped, it copies data in and out of processes
//! through its own mappings ("physical copy in/out") — this module is where
//! that memory becomes byte slices, and the server's only `unsafe` code.

use abi::ThreadId;
use alloc::vec::Vec;
use linux_server::mm::pages::Frame;

/// Where the pool's blocks are mapped in the server (the upper half of its slot).
pub const POOL_BASE: u64 = abi::window::SERVER_SLOT + abi::window::SLOT_SIZE / 2;
const BLOCK_LOG2: u32 = 21;
const FRAMES_PER_BLOCK: u32 = 512;
pub const FRAME_SIZE: usize = 4096;
/// Pages of the root pager's pool the server never takes for processes (16 MiB).
pub const RESERVE_PAGES: u64 = 4096;

pub struct Pool {
    pager: ThreadId,
    blocks: u32,
    /// Most blocks the pool may hold (its share of the address-space slot).
    max_blocks: u32,
    free: Vec<Frame>,
    /// References to each frame (processes sharing it copy-on-write, the page
    /// cache of a file...). 0 = free.
    refs: Vec<u16>,
}

impl Pool {
    pub fn new(pager: ThreadId) -> Pool {
        let max_blocks = (abi::window::SLOT_SIZE / 2 >> BLOCK_LOG2) as u32;
        Pool { pager, blocks: 0, max_blocks, free: Vec::new(), refs: Vec::new() }
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
        if rt::pager::alloc(self.pager, BLOCK_LOG2, va).is_err() {
            return false;
        }
        let first = self.blocks * FRAMES_PER_BLOCK;
        self.blocks += 1;
        self.refs.resize((self.blocks * FRAMES_PER_BLOCK) as usize, 0);
        // Hand out low frames first.
        self.free.extend((first..first + FRAMES_PER_BLOCK).rev());
        true
    }

    /// A zero-filled frame with one reference, or `None` when memory is out.
    pub fn alloc(&mut self) -> Option<Frame> {
        if self.free.is_empty() && !self.grow() {
            return None;
        }
        let f = self.free.pop()?;
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
            self.free.push(f);
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
