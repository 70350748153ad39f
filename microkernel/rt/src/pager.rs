//! The root pager's protocol, as seen by its clients (see `pager/README.md`).
//!
//! Memory comes in naturally aligned blocks of 2^k bytes (k = 12..=21) that
//! the pager maps into the client's receive window at the requested address.
//! The reply's MR1 is the block's physical address, which also names the
//! block when it is released.

use crate::ipc::{self, Message};
use crate::utcb::Utcb;
use abi::{Fpage, Rights, ThreadId};

/// Request a block: MR1 = log2 size, MR2 = where to map it in the caller.
pub const ALLOC: u64 = 0x100;
/// Request specific physical memory (a boot module): MR1 = physical address,
/// MR2 = log2 size, MR3 = where to map it. Mapped read-only.
pub const FRAME: u64 = 0x101;
/// Give a block back: MR1 = physical address, MR2 = log2 size. The pager
/// revokes it from every space it reached.
pub const RELEASE: u64 = 0x102;
/// Ask for the pool's state: reply MR1 = free pages, MR2 = total pages,
/// MR3 = pages holding the second initial server's image.
pub const STATS: u64 = 0x103;

/// Reply labels.
pub const OK: u64 = 0;
pub const ERROR: u64 = 1;

/// Smallest and largest block.
pub const MIN_LOG2: u32 = 12;
pub const MAX_LOG2: u32 = 21;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PagerError {
    /// The pager has no block of that size left.
    OutOfMemory,
    /// Bad size, address or request.
    Invalid,
    /// The IPC itself failed.
    Ipc,
}

fn error_of(code: u64) -> PagerError {
    if code == 1 {
        PagerError::OutOfMemory
    } else {
        PagerError::Invalid
    }
}

fn request(pager: ThreadId, m: &Message, window: Fpage) -> Result<u64, PagerError> {
    let u = Utcb::current();
    u.set_acceptor(window);
    let r = ipc::call(pager, m);
    u.set_acceptor(Fpage::NIL);
    r.ok().map_err(|_| PagerError::Ipc)?;
    match r.msg.tag.label() {
        OK => Ok(r.msg.mr[0]),
        _ => Err(error_of(r.msg.mr[0])),
    }
}

/// Get a 2^`log2`-byte block mapped read-write at `dest` (aligned to its
/// size); returns its physical address.
pub fn alloc(pager: ThreadId, log2: u32, dest: u64) -> Result<u64, PagerError> {
    request(pager, &Message::with(ALLOC, &[log2 as u64, dest]), Fpage::new(dest, log2, Rights::RWX))
}

/// Map physical memory `phys` (2^`log2` bytes, a boot module) read-only at `dest`.
pub fn frame(pager: ThreadId, phys: u64, log2: u32, dest: u64) -> Result<(), PagerError> {
    request(pager, &Message::with(FRAME, &[phys, log2 as u64, dest]), Fpage::new(dest, log2, Rights::RWX)).map(|_| ())
}

/// Return a block obtained with [`alloc`].
pub fn release(pager: ThreadId, phys: u64, log2: u32) -> Result<(), PagerError> {
    request(pager, &Message::with(RELEASE, &[phys, log2 as u64]), Fpage::NIL).map(|_| ())
}

/// The state of the pager's pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stats {
    pub free_pages: u64,
    pub total_pages: u64,
    /// Pages holding the second initial server's image (loaded on its faults).
    pub image_pages: u64,
}

pub fn stats(pager: ThreadId) -> Result<Stats, PagerError> {
    let r = ipc::call(pager, &Message::new(STATS));
    r.ok().map_err(|_| PagerError::Ipc)?;
    Ok(Stats { free_pages: r.msg.mr[0], total_pages: r.msg.mr[1], image_pages: r.msg.mr[2] })
}
