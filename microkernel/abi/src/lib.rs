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

pub mod window;
