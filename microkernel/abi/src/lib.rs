//! The microkernel's binary interface, shared by the kernel and every user-level
//! crate: syscall numbers, thread IDs, message tags, timeouts, flexpages, error
//! codes, the exception-message layout, the KIP and the counters. It holds no
//! policy. `doc/syscalls.md` is the prose version of this crate.
//!
//! The user-side syscall stubs live in [`syscall`]; they are the only `unsafe`
//! code here (inline `syscall` instructions).

#![cfg_attr(not(test), no_std)]

pub mod counters;
pub mod error;
pub mod exception;
pub mod fpage;
pub mod kip;
pub mod msg;
pub mod sysno;
pub mod thread_id;
pub mod timeout;
pub mod utcb;

#[cfg(target_arch = "x86_64")]
pub mod syscall;

pub use error::Error;
pub use fpage::{Fpage, Rights};
pub use msg::{MsgTag, TypedItem};
pub use thread_id::ThreadId;
pub use timeout::{Timeout, Timeouts};

/// Size of a page, the unit of mapping.
pub const PAGE_SIZE: u64 = 4096;

/// Lowest address of the reserved window in every user address space (the top
/// PML4 slot of the lower half, 512 GiB). Initial servers are linked here, the
/// KIP and UTCBs live here, and the linux-server never places Linux-process
/// memory here, so the window can later be shared by small address spaces.
pub const WINDOW_BASE: u64 = 0x0000_7f80_0000_0000;
/// End (exclusive) of the user half of the address space.
pub const USER_END: u64 = 0x0000_8000_0000_0000;
/// Fixed address of the read-only kernel interface page in every space.
pub const KIP_ADDR: u64 = USER_END - PAGE_SIZE;

/// Layout of the window: 64 GiB slots, one per initial server. Servers are
/// linked at the start of their slot (+1 MiB), so they can run as small spaces.
pub mod window {
    pub const SLOT_SIZE: u64 = 64 << 30;
    /// The root pager's slot; its view of physical memory (RAM frame `p` at
    /// `PAGER_PHYS_BASE + p`) fills the upper half of the slot.
    pub const PAGER_SLOT: u64 = super::WINDOW_BASE;
    pub const PAGER_PHYS_BASE: u64 = PAGER_SLOT + SLOT_SIZE / 2;
    /// The second initial server's slot (linux-server, or a kernel test task).
    pub const SERVER_SLOT: u64 = super::WINDOW_BASE + SLOT_SIZE;
    /// Number of slots; the last one holds the KIP and is no space's.
    pub const SLOTS: u32 = 8;
    /// Slots a privileged creator may give a new small space
    /// (`create::small_slot`); 0 and 1 are the initial servers'.
    pub const FREE_SLOTS: core::ops::Range<u32> = 2..7;

    /// The window slot `va` lies in, if it lies in the window.
    pub const fn slot_of(va: u64) -> Option<u32> {
        if va >= super::WINDOW_BASE && va < super::USER_END {
            Some(((va - super::WINDOW_BASE) / SLOT_SIZE) as u32)
        } else {
            None
        }
    }

    /// Start of slot `n`.
    pub const fn slot_base(n: u32) -> u64 {
        super::WINDOW_BASE + n as u64 * SLOT_SIZE
    }

    /// The protection key of the small space in slot `n` (`tlb=small`):
    /// keys 1..=7. Large spaces' pages carry key 0.
    pub const fn pkey_of_slot(n: u32) -> u8 {
        n as u8 + 1
    }

    /// The protection key of the KIP, readable by every space.
    pub const KIP_PKEY: u8 = 15;
}
