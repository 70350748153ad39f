//! The microkernel's logic, independent of the machine it runs on.
//!
//! Everything here is plain Rust over plain data: page tables are edited
//! through a [`phys::PhysMem`], user registers are fields of a thread control
//! block, time is a number passed in. That keeps `unsafe` out of this crate and
//! lets its unit tests run on the host (`cargo test -p microkernel --lib`). The
//! binary in `machine/` supplies the machine: boot, the entry and exit paths,
//! interrupts, and the direct map of physical memory.

#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod check;
pub mod fastpath;
pub mod frame_alloc;
pub mod ipc;
pub mod irq;
pub mod kernel;
pub mod list;
pub mod mapdb;
pub mod memory;
pub mod multiboot;
pub mod paging;
pub mod phys;
pub mod ranges;
pub mod sched;
pub mod space;
pub mod syscalls;
pub mod table;
pub mod thread;
pub mod threads;
pub mod timeouts;
pub mod tlb;
pub mod window;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod window_tests;
